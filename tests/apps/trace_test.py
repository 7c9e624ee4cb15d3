#!/usr/bin/python3
"""The traced run of tests/apps/trace_calls.c (docs/tracing.md), one ctest entry per configuration:

  1. the program untraced, then traced (--trace '*' --profile=500, two CPUs) through tools/run
     --trace-out: the same output and status both times;
  2. the trace file decoded (trace_file.py): the program's exact getpid and write(1) counts per
     thread, matching syscall.exit records and results, vfs.write records, sched.switch records
     with the main thread sleeping, app.start/app.exit, the worker's name from prctl, profile
     samples, every CPU's section;
  3. block requests of a disk the program reads and frames of the network's DHCP (--disk,
     --net user); a 4 KiB ring that wraps (lost records counted, the newest kept); a panic's
     trace; --trace-list lists every tracepoint; a pattern that matches nothing is an error
     naming it (the kernel's usage status, 64); --trace-out without a trace is tools/run's error
     (status 3).
"""
import argparse
import collections
import os
import json
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trace_file  # noqa: E402

# Linux's system-call numbers for the calls trace_calls.c counts.
SYSCALLS = {"x86_64": {"getpid": 39, "write": 1}, "aarch64": {"getpid": 172, "write": 64}}
MAIN_GETPIDS, MAIN_WRITES, WORKER_GETPIDS = 7, 5, 3
USAGE_STATUS, TRACE_MISSING_STATUS, PANIC_STATUS = 64, 3, 70
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}")


def run(a, *extra):
    cmd = [sys.executable, a.run, "--build-dir", a.build_dir, "--kernel", a.kernel, "--timeout", str(a.timeout),
           *extra]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=a.timeout + 60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def console_tail(output, lines=60):
    """The end of a run's console, for the message of a check that failed."""
    return "\n".join("  | " + line for line in output.splitlines()[-lines:])


def app_lines(output):
    return [line for line in output.splitlines() if line.startswith("trace_calls:")]


def check_trace_tool(a, trace_path, tmp):
    """tools/trace on the recorded trace: its system-call counts agree with the program's,
    and its Perfetto export is JSON with the program's threads."""
    tool = os.path.join(os.path.dirname(os.path.abspath(a.run)), "trace")
    p = subprocess.run([sys.executable, tool, "syscalls", "--json", trace_path, "-O", a.build_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    check(p.returncode == 0, f"tools/trace syscalls: status {p.returncode}: {p.stderr.strip()}")
    if p.returncode == 0:
        rows = {r["name"]: r for r in json.loads(p.stdout)}
        getpid = rows.get("getpid", {}).get("calls")
        check(getpid == MAIN_GETPIDS + WORKER_GETPIDS,
              f"tools/trace syscalls: getpid {getpid}, expected {MAIN_GETPIDS + WORKER_GETPIDS}")
    out = os.path.join(tmp, "trace.json")
    p = subprocess.run([sys.executable, tool, "perfetto", trace_path, "-O", a.build_dir, "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    check(p.returncode == 0, f"tools/trace perfetto: status {p.returncode}: {p.stderr.strip()}")
    if p.returncode == 0:
        with open(out) as f:
            doc = json.load(f)
        events = doc["traceEvents"] if isinstance(doc, dict) else doc
        names = {e.get("args", {}).get("name") for e in events if e.get("ph") == "M"}
        check("trace-worker" in names, f"tools/trace perfetto: no track named trace-worker in {sorted(n for n in names if n)[:20]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--arch", required=True, choices=sorted(SYSCALLS))
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    numbers = SYSCALLS[a.arch]

    plain_status, plain_out, plain_err = run(a, "--app", a.binary)
    check(plain_status == 0, f"untraced run: status {plain_status}: {plain_err.strip()}\n{console_tail(plain_out)}")
    with tempfile.TemporaryDirectory(prefix="mica-trace-test-") as tmp:
        out_file = os.path.join(tmp, "trace.bin")
        status, out, err = run(a, "--smp", "2", "--trace", "*", "-k", "--profile=500", "--trace-out", out_file,
                               "--app", a.binary)
        check(status == 0, f"traced run: status {status}: {err.strip()}\n{console_tail(out)}")
        check("MICA-TRACE" not in out, "tools/run printed trace frames")
        check(app_lines(out) == app_lines(plain_out) and len(app_lines(out)) == 5,
              f"tracing changed the program's output:\n{app_lines(plain_out)}\nvs\n{app_lines(out)}")
        if not os.path.exists(out_file):
            check(False, "no trace file written")
            return finish()
        with open(out_file, "rb") as f:
            trace = trace_file.parse(f.read())
        check_trace_tool(a, out_file, tmp)

    records = trace["records"]
    check(trace["arch"] == a.arch, f"trace arch {trace['arch']}")
    check(trace["cpus"] == 2 and len(trace["lost"]) == 2, f"{trace['cpus']} CPUs, {len(trace['lost'])} sections")
    check(trace["flags"] & trace_file.PROFILE, "profile flag not set")
    names = {info[0] for info in trace["points"].values()}
    for expected in ("sched.switch", "syscall.entry", "mm.fault", "block.request", "net.rx", "profile.sample"):
        check(expected in names, f"tracepoint {expected} not in the file's table")
    by_point = collections.defaultdict(list)
    for r in records:
        by_point[r["point"]].append(r)
    timestamps = [r["ts"] for r in records]
    check(all(t > 0 for t in timestamps), "a record without a timestamp")

    entries = collections.Counter((r["tid"], r["number"]) for r in by_point["syscall.entry"])
    exits = collections.Counter((r["tid"], r["number"]) for r in by_point["syscall.exit"])
    check(entries[(1, numbers["getpid"])] == MAIN_GETPIDS,
          f"main thread getpid entries: {entries[(1, numbers['getpid'])]}, expected {MAIN_GETPIDS}")
    check(exits[(1, numbers["getpid"])] == MAIN_GETPIDS, f"main thread getpid exits: {exits[(1, numbers['getpid'])]}")
    getpid_results = {r["result"] for r in by_point["syscall.exit"] if r["number"] == numbers["getpid"]}
    check(getpid_results == {1}, f"getpid results {getpid_results}, expected the pid 1")
    stdout_writes = [r for r in by_point["syscall.entry"] if r["number"] == numbers["write"] and r["a0"] == 1]
    check(len(stdout_writes) == MAIN_WRITES and {r["tid"] for r in stdout_writes} == {1},
          f"write(1) calls: {[r['tid'] for r in stdout_writes]}, expected {MAIN_WRITES} by thread 1")
    vfs_writes = [r for r in by_point["vfs.write"] if r["fd"] == 1]
    check(len(vfs_writes) == MAIN_WRITES and all(r["result"] == r["bytes"] > 0 for r in vfs_writes),
          f"vfs.write records: {vfs_writes}")
    named = {}  # each thread's latest name (sections are per CPU: merge by time)
    for r in sorted(by_point["sched.thread_name"], key=lambda r: r["ts"]):
        named[r["thread"]] = r["name"]
    worker = [tid for tid, name in named.items() if name == "trace-worker"]
    check(len(worker) == 1, f"no thread named trace-worker: {named}")
    if worker:
        check(entries[(worker[0], numbers["getpid"])] == WORKER_GETPIDS,
              f"worker getpid entries: {entries[(worker[0], numbers['getpid'])]}, expected {WORKER_GETPIDS}")
    check(any(tid >= 1000000 for tid in named), f"no kernel thread named: {named}")

    switches = by_point["sched.switch"]
    check(len(switches) > 0, "no sched.switch records")
    check(any(r["prev_thread"] == 1 and r["prev_state"] in (1, 2) for r in switches),
          "no switch away from the main thread while it slept")
    check(any(r["next_thread"] == 1 for r in switches), "no switch to the main thread")
    starts, ends = by_point["app.start"], by_point["app.exit"]
    check(len(starts) == 1 and starts[0]["path"] == "/bin/" + os.path.basename(a.binary) and starts[0]["pid"] == 1,
          f"app.start records: {starts}")
    check(len(ends) == 1 and ends[0]["status"] == 0 and ends[0]["pid"] == 1, f"app.exit records: {ends}")
    if starts and ends:
        check(starts[0]["ts"] < ends[0]["ts"], "app.exit before app.start")
    samples = by_point["profile.sample"]
    check(len(samples) > 0, "no profile.sample records with --profile=500")
    check(all(r["backtrace"] and r["backtrace"][0] == r["pc"] for r in samples), "a sample without its pc first")
    check(len(by_point["mm.malloc"]) > 0 and len(by_point["irq.entry"]) > 0, "no malloc or interrupt records")

    # Block and network records: a disk read by the program, the network's DHCP at boot.
    with tempfile.TemporaryDirectory(prefix="mica-trace-test-") as tmp:
        disk, io_file = os.path.join(tmp, "disk.img"), os.path.join(tmp, "io.bin")
        with open(disk, "wb") as f:
            f.write(bytes(range(256)) * 1024)  # 256 KiB
        status, out, err = run(a, "--disk", disk, "--net", "user", "--trace", "block.*,net.*", "--trace-out", io_file,
                               "--app", a.binary, "--", "/dev/vda")
        check(status == 0 and "65536 bytes of /dev/vda, sum 8355840" in out, f"disk run: status {status}:\n{out}")
        if os.path.exists(io_file):
            with open(io_file, "rb") as f:
                io = collections.defaultdict(list)
                for r in trace_file.parse(f.read())["records"]:
                    io[r["point"]].append(r)
            reads = [r for r in io["block.request"] if r["device"] == 0 and r["write"] == 0]
            check(reads and any(r["sector"] == 0 for r in reads), f"no read of vda's sector 0: {io['block.request']}")
            check(len(io["block.complete"]) == len(io["block.request"]) and
                  all(r["status"] == 0 for r in io["block.complete"]), f"block completions: {io['block.complete']}")
            check(io["net.tx"] and io["net.rx"] and all(r["bytes"] >= 42 for r in io["net.tx"] + io["net.rx"]),
                  f"network frames: tx {io['net.tx']}, rx {io['net.rx']}")
        else:
            check(False, "no trace of the disk run")

    # A 4 KiB ring wraps many times: the oldest records go (counted), the newest stay.
    with tempfile.TemporaryDirectory(prefix="mica-trace-test-") as tmp:
        small_file = os.path.join(tmp, "small.bin")
        status, out, err = run(a, "--trace", "*", "-k", "--trace-buffer=4", "--trace-out", small_file,
                               "--app", a.binary)
        check(status == 0, f"small ring: status {status}: {err.strip()}\n{console_tail(out)}")
        if os.path.exists(small_file):
            with open(small_file, "rb") as f:
                small = trace_file.parse(f.read())
            check(sum(small["lost"].values()) > 0, f"a 4 KiB ring lost nothing: {small['lost']}")
            check(any(r["point"] == "app.exit" for r in small["records"]), "the newest records (app.exit) are gone")
            check(not any(r["point"] == "app.start" for r in small["records"]), "the oldest records were kept")
        else:
            check(False, "no trace of the small ring")

    # --trace-list, a bad pattern, a trace that never came.
    status, out, err = run(a, "-e", "--trace-list")
    check(status == 0 and all(n in out for n in names), f"--trace-list: status {status}, output:\n{out}")
    status, out, err = run(a, "-e", "--trace=sched.*,nosuch.*")
    check(status == USAGE_STATUS and "'nosuch.*' matches no tracepoint" in out,
          f"bad pattern: status {status}, output:\n{out}")
    with tempfile.TemporaryDirectory(prefix="mica-trace-test-") as tmp:
        # A panic writes the rings too (after its report).
        panic_file = os.path.join(tmp, "panic.bin")
        status, out, err = run(a, "--trace-out", panic_file, "-e", "--trace=sched.*,irq.* --test-fault=panic")
        check(status == PANIC_STATUS and "written to the console (panic)" in out and os.path.exists(panic_file),
              f"panic: status {status}, no trace: {err.strip()}")
        if os.path.exists(panic_file):
            with open(panic_file, "rb") as f:
                check(len(trace_file.parse(f.read())["records"]) > 0, "no records in the panic's trace")
        status, out, err = run(a, "--trace-out", os.path.join(tmp, "none.bin"), "-e", "--verbose")
        check(status == TRACE_MISSING_STATUS and "wrote no trace" in err,
              f"--trace-out without a trace: status {status}, stderr:\n{err}")
    return finish()


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("trace test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
