-- The lua module's default program: a little of the language, a file in /tmp, and a command
-- run through /bin/sh (the busybox module) with io.popen.
print(string.format("Hello from %s on Mica", _VERSION))
local squares = {}
for i = 1, 10 do squares[#squares + 1] = i * i end
print("squares: " .. table.concat(squares, " "))
local path = "/tmp/lua-module.txt"
local f = assert(io.open(path, "w"))
f:write("written by lua\n")
f:close()
print("read back: " .. assert(io.open(path)):read("l"))
local p = assert(io.popen("echo piped through sh | tr a-z A-Z"))
print("popen: " .. p:read("l"))
print("popen status: " .. tostring(p:close()))
os.exit(0)
