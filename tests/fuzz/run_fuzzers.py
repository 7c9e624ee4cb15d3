#!/usr/bin/python3
"""Runs the libFuzzer targets built from tests/fuzz and reports executions and findings.

  run_fuzzers.py --build-dir DIR [--seconds N] [--work DIR] [--target NAME ...] [--fresh]

Each target first replays its corpus — the seeds and regression inputs in
tests/fuzz/corpus/<target> (make_seeds.py), the corpus earlier runs grew in
WORK/corpus/<target> (unless --fresh), for fdt and dsdt also the QEMU tables in tests/unit/fixtures —
then fuzzes for N seconds (default 60), adding what reaches new code to WORK/corpus. A
crash, a sanitizer report, a broken invariant (FUZZ_CHECK), a leak, a timeout or running
out of memory is a finding: the input goes to WORK/findings/<target>-*, the log to
WORK/logs/<target>.log, and the exit status is 1. Prints one line per target:

  elf            60 s   1834512 runs   30575/s   corpus 412   findings 0
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
TARGETS = ["elf", "initial_stack", "fdt", "cpio", "cmdline", "path_lookup", "page_table", "vma", "net_options", "dsdt",
           "virtio_rings", "tso"]
# Inputs larger than libFuzzer's default 4096 bytes matter for the file formats.
MAX_LEN = {"elf": 65536, "fdt": 65536, "cpio": 65536, "dsdt": 65536, "tso": 16384}
PER_INPUT_TIMEOUT = 20     # seconds: one input taking longer is a hang (a finding)
RSS_LIMIT_MB = 2048


def stat(log, name):
    m = re.findall(rf"stat::{name}:\s+(\d+)", log)
    return int(m[-1]) if m else 0


def run_target(a, target):
    binary = os.path.join(a.build_dir, f"fuzz_{target}")
    if not os.access(binary, os.X_OK):
        sys.exit(f"run_fuzzers: no {binary} (build tests/fuzz first: make fuzz)")
    corpus = os.path.join(a.work, "corpus", target)
    if a.fresh:
        shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus, exist_ok=True)
    findings = os.path.join(a.work, "findings")
    logs = os.path.join(a.work, "logs")
    os.makedirs(findings, exist_ok=True)
    os.makedirs(logs, exist_ok=True)
    seeds = [os.path.join(HERE, "corpus", target)]
    extra = None
    if target == "fdt":
        extra = tempfile.mkdtemp(prefix="mica-fuzz-fdt-")
        fixtures = os.path.join(SOURCE, "tests", "unit", "fixtures")
        for name in os.listdir(fixtures):
            if name.endswith(".dtb"):
                shutil.copy(os.path.join(fixtures, name), extra)
        seeds.append(extra)
    if target == "dsdt":  # QEMU microvm's table, after the byte that picks the _HID looked for
        extra = tempfile.mkdtemp(prefix="mica-fuzz-dsdt-")
        with open(os.path.join(SOURCE, "tests", "unit", "fixtures", "acpi", "qemu-microvm-dsdt.aml"), "rb") as f:
            aml = f.read()
        with open(os.path.join(extra, "qemu-microvm"), "wb") as f:
            f.write(b"\0" + aml)
        seeds.append(extra)
    cmd = [binary, f"-max_total_time={a.seconds}", "-print_final_stats=1", f"-timeout={PER_INPUT_TIMEOUT}",
           f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={findings}/{target}-",
           f"-max_len={MAX_LEN.get(target, 4096)}", corpus] + seeds
    log_path = os.path.join(logs, f"{target}.log")
    try:
        with open(log_path, "w") as log_file:
            r = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               timeout=a.seconds + 600)
        rc = r.returncode
    except subprocess.TimeoutExpired:
        rc = -1
    finally:
        if extra:
            shutil.rmtree(extra, ignore_errors=True)
    with open(log_path, errors="replace") as f:
        log = f.read()
    runs = stat(log, "number_of_executed_units")
    seconds = max(1, a.seconds)
    written = re.findall(r"Test unit written to (\S+)", log)
    found = rc != 0
    corpus_size = len(os.listdir(corpus))
    print(f"{target:<14} {a.seconds:>4} s {runs:>10} runs {runs // seconds:>8}/s   corpus {corpus_size:<6} "
          f"findings {len(written) if written else int(found)}", flush=True)
    if found:
        print(f"  FINDING: exit status {rc}; input: {', '.join(written) or '(none written)'}; log: {log_path}")
        for line in log.splitlines():
            if re.search(r"ERROR:|invariant broken|SUMMARY:|runtime error|==\d+==", line):
                print("    " + line)
    return found, runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", required=True, help="where tests/fuzz was built")
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time per target")
    ap.add_argument("--work", help="corpus, findings and logs (default: BUILD_DIR/work)")
    ap.add_argument("--target", action="append", choices=TARGETS, help="only these (repeatable)")
    ap.add_argument("--fresh", action="store_true", help="start from the seeds only, not from earlier runs")
    a = ap.parse_args()
    a.work = os.path.abspath(a.work or os.path.join(a.build_dir, "work"))
    total_runs, failed = 0, []
    for target in a.target or TARGETS:
        found, runs = run_target(a, target)
        total_runs += runs
        if found:
            failed.append(target)
    print(f"total: {total_runs} runs; findings in: {', '.join(failed) if failed else 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
