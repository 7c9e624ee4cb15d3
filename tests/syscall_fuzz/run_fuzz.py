#!/usr/bin/python3
"""Runs the system-call fuzzer (syscall_fuzz.c) on Mica, for one seed or a range of seeds.

  run_fuzz.py --binary BIN [--build-dir DIR] [--kernel K] [--run tools/run] [--machine M]
              [--smp N] [--calls N] [--threads N] [--seeds 1-20 | --seed S] [--timeout S]

Each seed boots the kernel with the fuzzer as its application (tools/run --app BIN --
CALLS SEED THREADS). A seed passes when the guest exits 0 and the fuzzer printed
"fuzz done: CALLS calls": every call returned, the kernel did not panic (status 70, a
PANIC line) or hang (tools/run's timeout, status 124), and the fuzzer was not killed. One
line per seed; on a failure, the end of the console (the panic, or the fuzzer's report of
a call that did not return). Exit status 0 when every seed passed, 1 otherwise.
"""
import argparse
import os
import re
import subprocess
import sys
import time

DONE = re.compile(r"^fuzz done: (\d+) calls.*$", re.M)


def seeds_of(a):
    if a.seeds:
        first, sep, last = a.seeds.partition("-")
        return list(range(int(first), int(last or first) + 1))
    return [a.seed]


def run_seed(a, seed):
    cmd = [sys.executable, a.run, "-O", a.build_dir, "--accel", "tcg", "--timeout", str(a.timeout),
           "--smp", str(a.smp)]
    if a.kernel:
        cmd += ["--kernel", a.kernel]
    if a.machine:
        cmd += ["--machine", a.machine]
    cmd += ["--app", a.binary, "--app-path", "/bin/syscall-fuzz", "--", str(a.calls), str(seed), str(a.threads)]
    start = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    console = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    done = DONE.search(console)
    problems = []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}")
    if "PANIC" in console:
        problems.append("kernel panic")
    if not done:
        problems.append("no 'fuzz done' line")
    elif int(done.group(1)) != a.calls:
        problems.append(f"{done.group(1)} calls made, {a.calls} asked for")
    summary = done.group(0) if done else ""
    return problems, seconds, summary, console


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--binary", required=True, help="the fuzzer, built static for the kernel's architecture")
    ap.add_argument("--build-dir", default="build", help="the kernel's build directory (tools/run -O)")
    ap.add_argument("--kernel", help="the kernel to boot (default: tools/run's choice in --build-dir)")
    ap.add_argument("--run", default=os.path.join(here, "..", "..", "tools", "run"))
    ap.add_argument("--machine", help="QEMU machine (default: the configuration's)")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", help="a range such as 1-20 (instead of --seed)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per seed before tools/run stops QEMU")
    a = ap.parse_args()
    failed = 0
    for seed in seeds_of(a):
        problems, seconds, summary, console = run_seed(a, seed)
        if problems:
            failed += 1
            print(f"seed {seed}: FAILED ({', '.join(problems)}) after {seconds:.1f} s")
            tail = [l for l in console.split("\n") if not l.startswith("mica: unsupported system call")]
            print("\n".join("  | " + l for l in tail[-60:]))
        else:
            print(f"seed {seed}: ok in {seconds:.1f} s: {summary}")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
