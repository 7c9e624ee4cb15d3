#!/usr/bin/python3
"""tools/trace against trace files written here (tests/tools/tracewriter.py, from the format's
description), with answers known in advance; no kernel is needed.

  test_trace.py [unittest options] [TEST...]

Reader: values of every field type, backtraces, the file's header.
Damaged: bad magic, another version, truncated files, CRC mismatches, records overrunning their
section, bad sizes, unknown tracepoints, strings outside their table: one clean error line and
exit status 1, never a traceback; every truncation and every flipped byte of a file is caught.
Reports: syscalls (counts, errors, totals, percentiles), sched (run, wait, sleep, blocked times,
switches, migrations), summary (counts, nested pairs), hist (log2 buckets), list, the filters.
Perfetto: valid JSON that a Trace Event Format validator (here) accepts, with the expected
tracks, slices, flows and names.
Symbols: programs built here with gcc/g++ (and aarch64-linux-gnu-gcc when present) resolved at
their load biases, checked against nm; the interpreter's symbols; the profile's flat profile
and folded stacks.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "tools"))
TRACE = os.path.join(TOOLS, "trace")
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
sys.path.insert(0, TOOLS)
from tracewriter import TraceWriter  # noqa: E402
from tracelib import tracefile  # noqa: E402
from tracelib.symbols import ElfImage  # noqa: E402

IDLE0, IDLE1 = 1_000_000, 1_000_001
APP_BIAS = 0x555555554000
KERNEL_BIAS = 0x1000000


def run_trace(*args, check=True):
    r = subprocess.run([sys.executable, TRACE] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"tools/trace {' '.join(map(str, args))}: status {r.returncode}\n{r.stderr}")
    return r


def trace_json(*args):
    return json.loads(run_trace(*args, "--json").stdout)


class TempDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mica-trace-test-")
        self.addCleanup(shutil.rmtree, self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)


# ---- scenarios --------------------------------------------------------------------------------

def syscall_trace(arch="x86_64"):
    """Threads 20 (worker) and 21 (helper) and 30 (pinger) making system calls with known
    durations; see SyscallReports for the answers."""
    nr = {"x86_64": {"read": 0, "write": 1, "openat": 257, "exit_group": 231, "getpid": 39},
          "aarch64": {"read": 63, "write": 64, "openat": 56, "exit_group": 94, "getpid": 172}}[arch]
    w = TraceWriter(arch=arch, cpu_count=2)
    w.add(0, 0, "sched.thread_name", 20, thread=20, name="worker")
    w.add(0, 0, "sched.thread_name", 20, thread=21, name="helper")
    w.add(0, 0, "sched.thread_name", 20, thread=30, name="pinger")

    def call(cpu, tid, name, start, end, result, exit_cpu=None):
        w.add(cpu, start, "syscall.entry", tid, number=nr[name], a0=3)
        if end is not None:
            w.add(cpu if exit_cpu is None else exit_cpu, end, "syscall.exit", tid, number=nr[name], result=result)
    # Thread 21 runs on CPU 1 and overlaps thread 20 in time (pairs are per thread).
    call(0, 20, "read", 1000, 2000, 10)
    call(1, 21, "read", 1500, 5500, -4)           # EINTR
    call(0, 20, "read", 3000, 5000, -11)          # EAGAIN
    call(0, 20, "read", 6000, 9000, 5)
    call(1, 21, "openat", 6000, 6500, -2)         # ENOENT
    call(1, 21, "write", 8000, 8700, 4, exit_cpu=0)  # ends on the other CPU
    call(0, 20, "write", 10000, 12000, 3)
    call(0, 20, "read", 13000, 23000, 0)
    # Nested interrupts on thread 20: 15100-15300 inside 15000-16000.
    w.add(0, 15000, "irq.entry", 20, vector=32)
    w.add(0, 15100, "irq.entry", 20, vector=33)
    w.add(0, 15300, "irq.exit", 20, vector=33)
    w.add(0, 16000, "irq.exit", 20, vector=32)
    call(0, 20, "exit_group", 30000, None, 0)     # never returns
    # Thread 30: getpid 20 times, durations 100, 200, ... 2000 ns.
    t = 100000
    for i in range(1, 21):
        call(1, 30, "getpid", t, t + 100 * i, 30)
        t += 100 * i + 50
    return w, nr


def sched_trace():
    """Two CPUs, threads A (10) and B (11) and the idle threads; the answers are in
    SchedReport.EXPECTED (worked out by hand in the comments)."""
    w = TraceWriter(cpu_count=2)
    for tid, name in ((10, "A"), (11, "B"), (IDLE0, "idle0"), (IDLE1, "idle1")):
        w.add(0, 0, "sched.thread_name", IDLE0, thread=tid, name=name)
    sw = lambda cpu, ts, prev, state, nxt: w.add(cpu, ts, "sched.switch", prev, prev_thread=prev,  # noqa: E731
                                                 prev_state=state, next_thread=nxt)
    wake = lambda cpu, ts, waker, tid: w.add(cpu, ts, "sched.wake", waker, thread=tid, target_cpu=cpu)  # noqa: E731
    sw(0, 100, IDLE0, 0, 10)      # A runs on CPU 0
    sw(1, 100, IDLE1, 0, 11)      # B runs on CPU 1
    sw(0, 1100, 10, 1, IDLE0)     # A blocks (ran 1000)
    wake(1, 1600, 11, 10)         # B wakes A (A blocked 500)
    sw(1, 2100, 11, 0, 10)        # B preempted (ran 2000), A runs on CPU 1 (waited 500, migrated)
    sw(0, 2600, IDLE0, 0, 11)     # B runs on CPU 0 (waited 500, migrated)
    sw(1, 3600, 10, 2, IDLE1)     # A sleeps (ran 1500)
    wake(1, 4600, IDLE1, 10)      # a timer in idle wakes A (slept 1000)
    sw(1, 4800, IDLE1, 0, 10)     # A runs (waited 200)
    sw(1, 5800, 10, 3, IDLE1)     # A exits (ran 1000)
    sw(0, 6000, 11, 1, IDLE0)     # B blocks (ran 3400)
    wake(0, 7000, IDLE0, 11)      # B woken at the end of the trace (blocked 1000)
    w.add(0, 7000, "sched.migrate", IDLE0, thread=11, from_cpu=0, to_cpu=1)
    return w


# ---- reader -----------------------------------------------------------------------------------

class Reader(TempDir):
    def test_fields_and_header(self):
        w = TraceWriter(arch="aarch64", cpu_count=3, flags=1, kernel_load_bias=0x40000000, boot_wall_ns=123456789)
        w.add(2, 500, "vfs.open", 7, path="/etc/passwd", flags=0x80000, result=-2, backtrace=[0x10, 0x20])
        w.add(2, 600, "app.exit", 7, pid=7, status=-1, backtrace=[])
        w.add(0, 550, "vfs.open", 7, path="/tmp/x", flags=0, result=3, backtrace=[0x30])
        w.lost[1] = 42
        t = tracefile.read(w.write(self.path("t")))
        self.assertEqual((t.arch, t.cpu_count, t.kernel_load_bias, t.boot_wall_ns, t.flags),
                         ("aarch64", 3, 0x40000000, 123456789, 1))
        self.assertEqual([(r.ts, r.cpu, r.name) for r in t.records],
                         [(500, 2, "vfs.open"), (550, 0, "vfs.open"), (600, 2, "app.exit")])
        a, c, b = t.records
        self.assertEqual((a["path"], a["flags"], a["result"], a.backtrace), ("/etc/passwd", 0x80000, -2, [0x10, 0x20]))
        self.assertEqual((b["status"], b.backtrace), (-1, []))
        self.assertEqual((c["path"], c["result"], c.backtrace), ("/tmp/x", 3, [0x30]))
        self.assertEqual({s.cpu: s.records_lost for s in t.cpus}, {0: 0, 1: 42, 2: 0})
        out = run_trace("summary", self.path("t")).stdout
        self.assertIn("CPU 1: 42 records lost", out)

    def test_profile_samples_always_carry_a_backtrace(self):
        w = TraceWriter(flags=2)
        w.add(0, 1, "profile.sample", 5, pc=0x1000, kernel=0, backtrace=[0x2000, 0x3000])
        w.add(0, 2, "mm.free", 5, address=0x55)
        t = tracefile.read(w.write(self.path("t")))
        self.assertEqual(t.records[0].backtrace, [0x2000, 0x3000])
        self.assertIsNone(t.records[1].backtrace)


# ---- damaged files ----------------------------------------------------------------------------

class Damaged(TempDir):
    def small(self):
        w = TraceWriter(cpu_count=2)
        w.add(0, 10, "vfs.open", 5, path="/a", result=3)
        w.add(1, 20, "mm.malloc", 5, size=64, address=0xDEADBEEF12345678)
        return w

    def assertBroken(self, data, *phrases):
        path = self.path("broken")
        with open(path, "wb") as f:
            f.write(data)
        for report in ("list", "summary", "perfetto"):
            r = run_trace(report, path, check=False)
            self.assertEqual(r.returncode, 1, f"{report}: {r.stdout}{r.stderr}")
            self.assertNotIn("Traceback", r.stderr)
            self.assertEqual(r.stdout, "")
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertTrue(lines[0].startswith(f"tools/trace: {path}: "), lines[0])
            for p in phrases:
                self.assertIn(p, lines[0])

    def test_bad_magic(self):
        self.assertBroken(self.small().encode(magic=b"NOTATRCE"), "bad magic")
        self.assertBroken(b"", "bad magic")

    def test_other_version(self):
        self.assertBroken(self.small().encode(version=2), "version 2")

    def test_truncated(self):
        data = self.small().encode()
        self.assertBroken(data[:30], "truncated", "header")
        self.assertBroken(data[:-8], "truncated", "section tag")
        self.assertBroken(data[:-30], "truncated")

    def test_crc_mismatch(self):
        data = self.small().encode()
        self.assertBroken(self.small().encode(crc=0x12345678), "CRC mismatch")
        at = data.index((0xDEADBEEF12345678).to_bytes(8, "little"))
        flipped = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
        self.assertBroken(flipped, "CRC mismatch")

    def test_record_size_overruns(self):
        w = self.small()
        w.add(1, 30, "mm.free", 5, address=1, raw_size=4096)
        self.assertBroken(w.encode(), "CPU 1 record 1", "size 4096 overruns")

    def test_bad_record_size(self):
        w = self.small()
        w.add(0, 30, "mm.free", 5, address=1, raw_size=20)
        self.assertBroken(w.encode(), "bad record size 20")
        w = self.small()
        w.add(0, 30, "mm.free", 5, address=1, raw_size=16)      # no room for its field
        self.assertBroken(w.encode(), "mm.free has 1 fields")

    def test_unknown_tracepoint(self):
        w = self.small()
        w.add(0, 30, "mm.free", 5, address=1, raw_id=999)
        self.assertBroken(w.encode(), "unknown tracepoint id 999")

    def test_string_outside_its_table(self):
        w = self.small()
        w.strings[0] = bytearray(b"x")      # the offset of "/a" stays 0: in; make it past the end
        w.add(0, 30, "vfs.open", 5, path="/b")
        w.strings[0] = bytearray(b"x")
        self.assertBroken(w.encode(), "string offset 1", "1-byte string table")

    def test_trailing_bytes_and_missing_file(self):
        self.assertBroken(self.small().encode() + b"\0" * 8, "8 bytes after the END tag")
        r = run_trace("list", self.path("nope"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read", r.stderr)

    def test_every_truncation_and_every_flipped_byte(self):
        data = self.small().encode()
        for n in range(len(data)):
            with self.assertRaises(tracefile.TraceError, msg=f"truncated to {n}"):
                tracefile.parse(data[:n])
        for i in range(len(data)):
            flipped = data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:]
            with self.assertRaises(tracefile.TraceError, msg=f"byte {i} flipped"):
                tracefile.parse(flipped)


# ---- reports ----------------------------------------------------------------------------------

class SyscallReports(TempDir):
    def test_syscalls(self):
        w, nr = syscall_trace()
        rows = {r["name"]: r for r in trace_json("syscalls", w.write(self.path("t")))}
        self.assertEqual(set(rows), {"read", "write", "openat", "exit_group", "getpid"})
        read = rows["read"]
        self.assertEqual((read["calls"], read["errors"], read["timed"], read["total"], read["avg"]),
                         (5, 2, 5, 20000, 4000))
        self.assertEqual((read["p50"], read["p95"], read["p99"], read["max"]), (3000, 10000, 10000, 10000))
        self.assertEqual((rows["write"]["calls"], rows["write"]["total"], rows["write"]["p50"], rows["write"]["p95"]),
                         (2, 2700, 700, 2000))
        self.assertEqual((rows["openat"]["calls"], rows["openat"]["errors"], rows["openat"]["total"]), (1, 1, 500))
        self.assertEqual((rows["exit_group"]["calls"], rows["exit_group"]["timed"]), (1, 0))
        g = rows["getpid"]
        self.assertEqual((g["calls"], g["total"], g["avg"], g["p50"], g["p95"], g["p99"]),
                         (20, 21000, 1050, 1000, 1900, 2000))
        self.assertAlmostEqual(read["percent"], 100 * 20000 / (20000 + 2700 + 500 + 21000))
        text = run_trace("syscalls", self.path("t")).stdout.splitlines()
        self.assertEqual(text[2].split(), ["47.51", "21.000", "1.050", "1.000", "1.900", "2.000", "20", "getpid"])
        self.assertEqual(text[3].split(), ["45.25", "20.000", "4.000", "3.000", "10.000", "10.000", "5", "2", "read"])
        self.assertEqual(text[-1].split(), ["100.00", "44.200", "29", "3", "total"])

    def test_aarch64_names(self):
        w, nr = syscall_trace("aarch64")
        rows = {r["name"]: r for r in trace_json("syscalls", w.write(self.path("t")))}
        self.assertEqual(rows["read"]["number"], 63)
        self.assertEqual(rows["openat"]["number"], 56)
        self.assertEqual(rows["read"]["total"], 20000)

    def test_summary(self):
        w, _ = syscall_trace()
        s = trace_json("summary", w.write(self.path("t")))
        self.assertEqual(s["counts"], {"irq.entry": 2, "irq.exit": 2, "sched.thread_name": 3,
                                       "syscall.entry": 29, "syscall.exit": 28})
        self.assertEqual(s["records"], 64)
        irq = s["pairs"]["irq"]
        self.assertEqual((irq["count"], irq["total"], irq["min"], irq["max"]), (2, 1200, 200, 1000))
        self.assertEqual(s["pairs"]["syscall"]["count"], 28)
        out = run_trace("summary", self.path("t")).stdout
        self.assertRegex(out, r"\nirq +2 +1\.200 +0\.200 +0\.600 ")

    def test_hist(self):
        w, _ = syscall_trace()
        path = w.write(self.path("t"))
        expected = [(64, 128, 1), (128, 256, 1), (256, 512, 3), (512, 1024, 5), (1024, 2048, 10)]
        for args in (("hist", "getpid"), ("hist", "syscall", "--syscall", "getpid"), ("hist", "syscall.entry", "--syscall", "39")):
            h = trace_json(*args, path)
            self.assertEqual([(b["low_ns"], b["high_ns"], b["count"]) for b in h["buckets"]], expected, args)
        text = run_trace("hist", "getpid", path).stdout.splitlines()
        self.assertIn("20 pairs", text[0])
        self.assertEqual(text[2].split()[:3], ["[64,", "128)", "1"])
        self.assertEqual(text[6], f"{'[1K, 2K)':>18} {10:>8} |{'#' * 40}|")
        self.assertEqual(text[5], f"{'[512, 1K)':>18} {5:>8} |{'#' * 20:<40}|")
        irq = trace_json("hist", "irq", path)["buckets"]
        self.assertEqual([(b["low_ns"], b["count"]) for b in irq], [(128, 1), (256, 0), (512, 1)])
        r = run_trace("hist", "nosuchpair", path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no paired tracepoint 'nosuchpair'", r.stderr)

    def test_list_and_filters(self):
        w, nr = syscall_trace()
        w.add(1, 200000, "vfs.open", 21, path='/etc/"x"', flags=0x2, result=-13)
        path = w.write(self.path("t"))
        t = tracefile.read(path)
        lines = run_trace("list", path).stdout.splitlines()
        self.assertEqual(len(lines), len(t.records))
        self.assertIn("number=0(read) a0=0x3", lines[3])
        self.assertRegex(lines[3], r"^ +0\.001000 \[ 0\] worker\(20\) +syscall\.entry ")
        self.assertIn('path="/etc/\\"x\\"" flags=0x2 result=-13 (EACCES)', lines[-1])
        self.assertIn("result=-11 (EAGAIN)", "\n".join(lines))

        def count(*args):
            return len(run_trace("list", path, *args).stdout.splitlines())
        self.assertEqual(count("--cpu", "1"), sum(1 for r in t.records if r.cpu == 1))
        self.assertEqual(count("--thread", "21"), sum(1 for r in t.records if r.thread == 21))
        self.assertEqual(count("--thread", "help*,30"), sum(1 for r in t.records if r.thread in (21, 30)))
        self.assertEqual(count("--since", "0.005", "--until", "0.009"),
                         sum(1 for r in t.records if 5000 <= r.ts <= 9000))
        self.assertEqual(count("--tracepoint", "irq.*", "--tracepoint", "vfs.open"), 5)
        rows = {r["name"]: r for r in trace_json("syscalls", path, "--thread", "20")}
        self.assertEqual(rows["read"]["calls"], 4)


class SchedReport(TempDir):
    EXPECTED = {
        10: dict(run=3500, wait=700, sleep=1000, blocked=500, switches=3, preempted=0, migrations=1, wakeups=2, cpus=[0, 1]),
        11: dict(run=5400, wait=500, sleep=0, blocked=1000, switches=2, preempted=1, migrations=1, wakeups=1, cpus=[0, 1]),
        IDLE0: dict(run=2500, wait=4400, sleep=0, blocked=0, switches=2, preempted=2, migrations=0, wakeups=0, cpus=[0]),
        IDLE1: dict(run=2400, wait=4500, sleep=0, blocked=0, switches=2, preempted=2, migrations=0, wakeups=0, cpus=[1]),
    }

    def test_sched(self):
        path = sched_trace().write(self.path("t"))
        rows = trace_json("sched", path)
        self.assertEqual({int(k): v for k, v in rows.items()}, self.EXPECTED)
        text = run_trace("sched", path).stdout.splitlines()
        self.assertEqual(text[1].split(), ["B(11)", "0.005400", "0.000500", "0.000000", "0.001000", "2", "1", "1", "1", "0,1"])
        only = run_trace("sched", path, "--thread", "A").stdout.splitlines()
        self.assertEqual(len(only), 2)
        self.assertTrue(only[1].startswith("A(10) "))


# ---- perfetto ---------------------------------------------------------------------------------

def validate_trace_events(doc):
    """Checks a Trace Event Format document (the JSON object form) as ui.perfetto.dev's JSON
    importer reads it; returns the problems found ([] if none)."""
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not an object with a traceEvents array"]
    needs = {"X": ("name", "ts", "dur", "pid", "tid"), "B": ("name", "ts", "pid", "tid"), "E": ("ts", "pid", "tid"),
             "i": ("name", "ts", "pid", "tid", "s"), "s": ("name", "cat", "id", "ts", "pid", "tid"),
             "f": ("name", "cat", "id", "ts", "pid", "tid"), "M": ("name", "pid", "args")}
    last_ts = {}
    open_b = collections.defaultdict(list)
    slices = collections.defaultdict(list)
    flows = collections.defaultdict(list)
    seen_data = False
    for i, e in enumerate(doc["traceEvents"]):
        ph = e.get("ph")
        if ph not in needs:
            problems.append(f"event {i}: unknown phase {ph!r}")
            continue
        missing = [k for k in needs[ph] if k not in e]
        if missing:
            problems.append(f"event {i} ({ph}): missing {missing}")
            continue
        if ph == "M":
            if seen_data:
                problems.append(f"event {i}: metadata after data events")
            if e["name"] in ("process_name", "thread_name") and not isinstance(e["args"].get("name"), str):
                problems.append(f"event {i}: {e['name']} without args.name")
            elif e["name"] in ("process_sort_index", "thread_sort_index") and not isinstance(e["args"].get("sort_index"), int):
                problems.append(f"event {i}: {e['name']} without args.sort_index")
            elif e["name"] not in ("process_name", "thread_name", "process_sort_index", "thread_sort_index"):
                problems.append(f"event {i}: unknown metadata {e['name']}")
            continue
        seen_data = True
        track = (e["pid"], e["tid"])
        if not isinstance(e["ts"], (int, float)) or not isinstance(e["pid"], int) or not isinstance(e["tid"], int):
            problems.append(f"event {i}: ts, pid and tid must be numbers")
            continue
        if e["ts"] < last_ts.get(track, float("-inf")):
            problems.append(f"event {i}: ts {e['ts']} goes back on track {track}")
        last_ts[track] = e["ts"]
        if ph == "X":
            if not isinstance(e["dur"], (int, float)) or e["dur"] < 0:
                problems.append(f"event {i}: bad dur {e['dur']!r}")
            slices[track].append((e["ts"], e["ts"] + e["dur"], i))
        elif ph == "B":
            open_b[track].append(i)
        elif ph == "E":
            if not open_b[track]:
                problems.append(f"event {i}: E without B on {track}")
            else:
                open_b[track].pop()
        elif ph == "i" and e["s"] not in ("g", "p", "t"):
            problems.append(f"event {i}: instant scope {e['s']!r}")
        elif ph in ("s", "f"):
            flows[e["id"]].append((ph, e["ts"], track, i))
    for track, left in open_b.items():
        if left:
            problems.append(f"B events never ended on {track}: {left}")
    for track, sl in slices.items():      # complete events nest on their track
        stack = []
        for start, end, i in sorted(sl, key=lambda s: (s[0], -s[1])):
            while stack and start >= stack[-1][1]:
                stack.pop()
            if stack and end > stack[-1][1] + 1e-9:
                problems.append(f"event {i}: slice [{start}, {end}] overlaps event {stack[-1][2]} on {track}")
            stack.append((start, end, i))
    for fid, ev in flows.items():
        phases = sorted(p for p, *_ in ev)
        if phases != ["f", "s"]:
            problems.append(f"flow {fid}: phases {phases} (want one s and one f)")
            continue
        s = next(x for x in ev if x[0] == "s")
        f = next(x for x in ev if x[0] == "f")
        if f[1] < s[1]:
            problems.append(f"flow {fid}: ends before it starts")
        for ph, ts, track, i in (s, f):      # a flow end binds to a slice enclosing it
            if not any(a <= ts <= b for a, b, _ in slices.get(track, [])):
                problems.append(f"flow {fid}: {ph} at {ts} has no slice on {track}")
    return problems


class Perfetto(TempDir):
    def convert(self, w):
        path = w.write(self.path("t"))
        out = self.path("t.json")
        run_trace("perfetto", path, "-o", out)
        with open(out) as f:
            doc = json.load(f)           # valid JSON
        self.assertEqual(validate_trace_events(doc), [])
        return doc

    def test_validator_catches_problems(self):
        bad = {"traceEvents": [
            {"ph": "X", "name": "a", "ts": 5, "dur": 10, "pid": 1, "tid": 1},
            {"ph": "X", "name": "b", "ts": 10, "dur": 10, "pid": 1, "tid": 1},       # overlaps a
            {"ph": "X", "name": "c", "ts": 4, "dur": 1, "pid": 1, "tid": 1},         # goes back
            {"ph": "s", "name": "w", "cat": "c", "id": 7, "ts": 1, "pid": 1, "tid": 1},
            {"ph": "B", "name": "d", "ts": 30, "pid": 2, "tid": 2},
            {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {}},
            {"ph": "i", "name": "e", "ts": 1, "pid": 3, "tid": 3}]}
        problems = "\n".join(validate_trace_events(bad))
        for p in ("overlaps", "goes back", "flow 7", "never ended", "metadata after", "missing ['s']"):
            self.assertIn(p, problems)

    def test_sched_tracks_and_flows(self):
        doc = self.convert(sched_trace())
        ev = doc["traceEvents"]
        meta = {(e["name"], e["pid"], e["tid"]): e["args"] for e in ev if e["ph"] == "M"}
        cpu_pid = next(p for (n, p, t), a in meta.items() if n == "process_name" and a["name"] == "CPUs")
        cpu_tracks = {a["name"]: t for (n, p, t), a in meta.items() if n == "thread_name" and p == cpu_pid}
        self.assertEqual(set(cpu_tracks), {"CPU 0", "CPU 1"})
        runs = collections.defaultdict(list)
        for e in ev:
            if e["ph"] == "X" and e["pid"] == cpu_pid:
                runs[e["tid"]].append((e["name"], round(e["ts"] * 1000), round((e["ts"] + e["dur"]) * 1000)))
        self.assertEqual(runs[cpu_tracks["CPU 0"]], [("idle0", 0, 100), ("A", 100, 1100), ("idle0", 1100, 2600),
                                                     ("B", 2600, 6000), ("idle0", 6000, 7000)])
        self.assertEqual(runs[cpu_tracks["CPU 1"]], [("B", 100, 2100), ("A", 2100, 3600), ("idle1", 3600, 4800),
                                                     ("A", 4800, 5800), ("idle1", 5800, 7000)])
        flows = sorted((e["ph"], round(e["ts"] * 1000), e["tid"]) for e in ev if e["ph"] in "sf")
        c1 = cpu_tracks["CPU 1"]
        self.assertEqual(flows, [("f", 2100, c1), ("f", 4800, c1), ("s", 1600, c1), ("s", 4600, c1)])
        thread_names = {a["name"] for (n, p, t), a in meta.items() if n == "thread_name" and p != cpu_pid}
        self.assertEqual(thread_names, {"A", "B", "idle0", "idle1"})

    def test_syscall_slices(self):
        w, nr = syscall_trace()
        w.add(0, 0, "app.start", 20, pid=20, path="/bin/worker", load_bias=APP_BIAS)
        w.add(1, 7000, "mm.fault", 21, address=0x1000, pc=0x2000, access=1, result=0)
        doc = self.convert(w)
        ev = doc["traceEvents"]
        procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
        self.assertEqual(procs[20], "worker")
        reads = [e for e in ev if e["ph"] == "X" and e["name"] == "read"]
        self.assertEqual(sorted((e["tid"], round(e["dur"] * 1000)) for e in reads),
                         [(20, 1000), (20, 2000), (20, 3000), (20, 10000), (21, 4000)])
        self.assertTrue(all(e["pid"] == 20 for e in reads))
        eintr = next(e for e in reads if e["tid"] == 21)
        self.assertEqual(eintr["args"]["exit.result"], "-4 (EINTR)")
        irqs = sorted(round(e["dur"] * 1000) for e in ev if e["ph"] == "X" and e["cat"] == "irq")
        self.assertEqual(irqs, [200, 1000])
        fault = [e for e in ev if e["name"] == "page fault"]
        self.assertEqual([(f["ph"], f["tid"], f["dur"], f["args"]["pc"]) for f in fault], [("X", 21, 0, "0x2000")])
        self.assertFalse([e for e in ev if e["name"] == "exit_group"])     # never returned: no slice
        self.assertEqual(len([e for e in ev if e["ph"] == "X" and e["cat"] == "syscall"]), 28)


# ---- symbols and the profile ------------------------------------------------------------------

APP_C = r"""
#include <stdio.h>
__attribute__((noinline)) int leaf(int x) { for (int i = 0; i < x; i++) __asm__ volatile(""); return x * 3 + 1; }
__attribute__((noinline)) int middle(int x) { return leaf(x) + leaf(x + 1) + 2; }
static __attribute__((noinline)) int helper(int x) { return middle(x) * 2; }
int main(int argc, char **argv) { printf("%d\n", helper(argc)); return 0; }
"""
KERNEL_CC = r"""
namespace sched { __attribute__((noinline)) int tick(int n) { for (int i = 0; i < n; i++) __asm__ volatile(""); return n + 1; } }
extern "C" __attribute__((noinline)) int kmain(int n) { return sched::tick(n) + sched::tick(n * 2); }
extern "C" void _start() { kmain(3); for (;;) {} }
"""


def nm_functions(nm, path, dynamic=False):
    """{name: (address, size)} of the text symbols nm lists (the oracle for the ELF parser)."""
    out = subprocess.run([nm, "-S", "--defined-only"] + (["-D"] if dynamic else []) + [path],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "Tt":
            syms[parts[3].split("@")[0]] = (int(parts[0], 16), int(parts[1], 16))
    return syms


class Symbols(TempDir):
    def build(self, cc, source, name, *flags, lang="c"):
        src = self.path(name + (".c" if lang == "c" else ".cc"))
        with open(src, "w") as f:
            f.write(source)
        out = self.path(name)
        subprocess.run([cc, "-O1", "-g", "-fno-omit-frame-pointer", "-o", out, src] + list(flags), check=True)
        return out

    def check_parser(self, elf, nm, bias):
        img = ElfImage(elf, bias)
        syms = nm_functions(nm, elf)
        for fn in ("leaf", "middle", "helper", "main"):
            addr, size = syms[fn]
            for off in (0, size // 2, size - 1):
                self.assertEqual(img.lookup(bias + addr + off), (fn, off), (fn, off))
        return img, syms

    def test_x86_64_program(self):
        elf = self.build("gcc", APP_C, "prog", "-pie", "-fPIE")
        img, _ = self.check_parser(elf, "nm", APP_BIAS)
        self.assertEqual(img.machine, "x86_64")

    @unittest.skipUnless(shutil.which("aarch64-linux-gnu-gcc"), "no aarch64-linux-gnu-gcc")
    def test_aarch64_program(self):
        elf = self.build("aarch64-linux-gnu-gcc", APP_C, "prog-a64")
        img, syms = self.check_parser(elf, "aarch64-linux-gnu-nm", 0x5500000000)
        self.assertEqual(img.machine, "aarch64")
        self.assertFalse([s for s in img.syms if s[2].startswith("$")])
        # Through tools/trace: an aarch64 trace, the program found under --sysroot.
        root = self.path("root")
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy(elf, os.path.join(root, "bin", "prog"))
        w = TraceWriter(arch="aarch64", cpu_count=1)
        w.add(0, 1, "app.start", 7, pid=7, path="/bin/prog", load_bias=0x5500000000)
        w.add(0, 2, "mm.fault", 7, address=0, pc=0x5500000000 + syms["middle"][0] + 4, access=0, result=3)
        out = run_trace("list", w.write(self.path("t")), "--sysroot", root).stdout
        self.assertIn("(middle+0x4)", out)

    def profile_trace(self, app_syms, kernel_syms, interp_syms=None, interp_bias=0):
        w = TraceWriter(cpu_count=2, flags=2, kernel_load_bias=KERNEL_BIAS)
        w.add(0, 0, "sched.thread_name", 20, thread=20, name="worker")
        w.add(0, 0, "sched.thread_name", IDLE0, thread=IDLE0, name="idle0")
        w.add(0, 10, "app.start", 20, pid=20, path="/bin/prog", load_bias=APP_BIAS, interp_bias=interp_bias)
        a = lambda fn, off: APP_BIAS + app_syms[fn][0] + off  # noqa: E731
        k = lambda fn, off: KERNEL_BIAS + kernel_syms[fn][0] + off  # noqa: E731
        for ts in (100, 200, 300):
            w.add(0, ts, "profile.sample", 20, pc=a("leaf", 2), kernel=0,
                  backtrace=[a("middle", 5), a("helper", 5), a("main", 9)])
        w.add(1, 150, "profile.sample", 20, pc=a("middle", 5), kernel=0, backtrace=[a("middle", 5), a("helper", 5), a("main", 9)])
        for ts in (120, 220):
            w.add(1, ts, "profile.sample", IDLE0, pc=k("_ZN5sched4tickEi", 2), kernel=1, backtrace=[k("kmain", 7)])
        w.add(0, 400, "profile.sample", 20, pc=0x1234, kernel=0, backtrace=[])
        w.add(0, 500, "mm.fault", 20, address=0, pc=a("leaf", 2), access=0, result=0)
        if interp_syms:
            fn, (addr, _) = next(iter(sorted(interp_syms.items())))
            w.add(0, 600, "mm.fault", 20, address=0, pc=interp_bias + addr + 3, access=0, result=0)
        return w

    def test_profile_and_kernel_symbols(self):
        app = self.build("gcc", APP_C, "prog", "-pie", "-fPIE")
        kernel = self.build("g++", KERNEL_CC, "kernel.elf", "-nostdlib", "-static", "-no-pie", lang="c++")
        app_syms, kernel_syms = nm_functions("nm", app), nm_functions("nm", kernel)
        interp = "/lib64/ld-linux-x86-64.so.2"
        interp_syms = nm_functions("nm", interp, dynamic=True) if os.path.exists(interp) else None
        w = self.profile_trace(app_syms, kernel_syms, interp_syms, 0x7F0000000000 if interp_syms else 0)
        path = w.write(self.path("t"))
        folded = self.path("out.folded")
        p = trace_json("profile", path, "--app", app, "-O", self.dir, "--folded", folded)
        self.assertEqual((p["samples"], p["kernel_samples"]), (7, 2))
        self.assertEqual([(f["function"], f["self"], f["total"]) for f in p["functions"]],
                         [("leaf", 3, 3), ("sched::tick(int)_[k]", 2, 2), ("middle", 1, 4), ("0x1234", 1, 1),
                          ("helper", 0, 4), ("main", 0, 4), ("kmain_[k]", 0, 2)])
        with open(folded) as f:
            self.assertEqual(f.read().splitlines(), [
                "idle0;kmain_[k];sched::tick(int)_[k] 2",
                "worker;0x1234 1",
                "worker;main;helper;middle 1",
                "worker;main;helper;middle;leaf 3"])
        text = run_trace("profile", path, "--app", app, "--kernel", kernel, "--limit", "2").stdout.splitlines()
        self.assertEqual(text[0], "7 samples (2 in the kernel)")
        self.assertEqual(text[2].split(), ["3", "42.86%", "3", "42.86%", "leaf"])
        self.assertEqual(len(text), 4)
        listing = run_trace("list", path, "--app", app, "--kernel", kernel).stdout
        self.assertIn("pc=%#x(leaf+0x2)" % (APP_BIAS + app_syms["leaf"][0] + 2), listing)
        self.assertIn(" bt: middle+0x5 <- helper+0x5 <- main+0x9\n", listing)
        self.assertIn(" bt: kmain+0x7\n", listing)
        self.assertEqual(len(listing.splitlines()), len(tracefile.read(path).records))
        stacks = run_trace("list", path, "--app", app, "--kernel", kernel, "--stacks").stdout
        self.assertIn("<- %#x middle+0x5\n" % (APP_BIAS + app_syms["middle"][0] + 5), stacks)
        self.assertIn("pc=%#x(sched::tick(int)+0x2)" % (KERNEL_BIAS + kernel_syms["_ZN5sched4tickEi"][0] + 2), listing)
        if interp_syms:
            fn = sorted(interp_syms)[0]
            self.assertIn(f"({fn}+0x3)", listing)
        # Without symbols the addresses stay numbers; --no-thread-frame drops the thread.
        run_trace("profile", path, "--folded", folded, "--no-thread-frame")
        with open(folded) as f:
            self.assertIn("%#x_[k];%#x_[k] 2" % (KERNEL_BIAS + kernel_syms["kmain"][0] + 7, KERNEL_BIAS + kernel_syms["_ZN5sched4tickEi"][0] + 2),
                          f.read())

    def test_kernel_or_application(self):
        """A sample says whether it interrupted the kernel: with the kernel and a static
        program at overlapping addresses, each resolves in its own image."""
        from tracelib.symbols import Symbolizer
        app = self.build("gcc", APP_C, "prog", "-no-pie", "-static")
        kernel = self.build("g++", KERNEL_CC, "kernel.elf", "-nostdlib", "-static", "-no-pie", lang="c++")
        sym = Symbolizer()
        sym.set_kernel(ElfImage(kernel))
        sym.add_app_images(0, [ElfImage(app)])
        kaddr = nm_functions("nm", kernel)["kmain"][0]
        app_img = sym.images_at(0)[1]
        self.assertTrue(app_img.contains(kaddr), "the test needs overlapping images")
        self.assertEqual(sym.resolve(kaddr, kernel=True)[1], "kmain")
        self.assertNotEqual(sym.resolve(kaddr, kernel=False)[1], "kmain")
        self.assertEqual(sym.resolve(kaddr, kernel=False)[0], app_img)

    def test_wrong_architecture_kernel(self):
        app = self.build("gcc", APP_C, "prog")
        w = TraceWriter(arch="aarch64", cpu_count=1)
        w.add(0, 1, "mm.free", 1, address=0)
        r = run_trace("list", w.write(self.path("t")), "--kernel", app, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is an x86_64 kernel but the trace is from aarch64", r.stderr)


if __name__ == "__main__":
    unittest.main()
