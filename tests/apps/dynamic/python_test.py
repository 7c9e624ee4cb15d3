# Debian's python3 on Mica (tests/apps/dynamic.cmake): the interpreter through ld.so, its
# standard library from the archive, extension modules through dlopen (_json, _sha2 or
# _hashlib with libcrypto, _sqlite3 with libsqlite3), compared with the host's run.
import hashlib
import json
import os
import re
import sqlite3
import sys

data = {"name": "mica", "values": [1, 2.5, None, True], "nested": {"k": "v"}}
text = json.dumps(data, sort_keys=True)
print("json:", text, json.loads(text) == data)

print("re:", re.sub(r"(\w+)@(\w+)", r"\2 at \1", "user@example and root@host"))
print("re findall:", re.findall(r"\d+", "a1 b22 c333"))

print("sha256:", hashlib.sha256(b"mica").hexdigest())
print("md5:", hashlib.md5(b"mica").hexdigest())
print("blake2b:", hashlib.blake2b(b"mica", digest_size=16).hexdigest())

db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, word TEXT, n REAL)")
db.executemany("INSERT INTO t (word, n) VALUES (?, ?)", [("alpha", 1.5), ("beta", 2.5), ("gamma", 3.0)])
print("sqlite:", db.execute("SELECT count(*), sum(n), group_concat(word, '+') FROM t").fetchone())
print("sqlite version ok:", sqlite3.sqlite_version_info >= (3, 0, 0))

path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "python_test.txt")
with open(path, "w") as f:
    f.write("line one\nline two\n")
with open(path) as f:
    print("file:", [line.strip() for line in f])
os.unlink(path)
print("big int:", 2 ** 200 % 1000007)
sys.exit(3)
