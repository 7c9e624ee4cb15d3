-- Debian's lua5.4 on Mica (tests/apps/dynamic.cmake), compared with the host's run.
local squares = {}
for i = 1, 10 do squares[#squares + 1] = i * i end
print("squares", table.concat(squares, ","))
print("format", string.format("%5.2f|%-6s|%x", math.pi, "lua", 48879))
print("gsub", (string.gsub("hello world from lua", "(%w+)", "<%1>")))
local words = {}
for w in string.gmatch("the quick brown fox", "%a+") do words[#words + 1] = w:upper() end
table.sort(words)
print("sorted", table.concat(words, " "))
local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * 10) end end)
print("coroutine", co(), co(), co())
local path = (os.getenv("TMPDIR") or "/tmp") .. "/lua_test.txt"
local f = assert(io.open(path, "w"))
f:write("first\nsecond\n")
f:close()
for line in io.lines(path) do print("line", line) end
os.remove(path)
print("pcall", pcall(function() error("boom", 0) end))
os.exit(5)
