#!/usr/bin/python3
"""One QEMU boot test: boot through tools/run (with a timeout), then check the exit status
and that the console output matches every --expect regex and no --reject regex.
On failure prints what was expected and the whole console output."""
import argparse
import ctypes
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile


def die_with_parent():
    """preexec_fn for tools/run: SIGTERM when this driver dies (ctest's timeout kills it),
    which makes tools/run stop QEMU."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def image_end(kernel):
    """The end of an x86_64 kernel's loaded image (the highest PT_LOAD's paddr + memsz)."""
    with open(kernel, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    end = 0
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        paddr, _, memsz = struct.unpack_from("<QQQ", data, phoff + i * phentsize + 24)
        if p_type == 1:
            end = max(end, paddr + memsz)
    return end


def make_archive(scratch, files, size, run):
    """A boot archive (tools/mkramfs) of `files` files of `size` zero bytes, /data/N."""
    data = os.path.join(scratch, "data")
    os.makedirs(data)
    for i in range(files):
        with open(os.path.join(data, str(i)), "wb") as f:
            f.truncate(size)
    archive = os.path.join(scratch, "archive.cpio")
    mkramfs = os.path.join(os.path.dirname(os.path.abspath(run)), "mkramfs")
    subprocess.run([sys.executable, mkramfs, "-o", archive, "--add", f"{data}:/data"], check=True)
    return archive


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="path to tools/run")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--status", type=int, required=True, help="expected guest exit status")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--cpu")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--memory", help="the machine's memory (tools/run -m)")
    ap.add_argument("--memory-above-image", type=int, metavar="KIB",
                    help="x86_64: -m so that KIB of RAM are left above the kernel image (and QEMU's "
                         "128 KiB of firmware tables): the image grows, the test must not move")
    ap.add_argument("--archive-files", type=int, default=0,
                    help="boot with an archive of this many files of --archive-file-bytes zeros")
    ap.add_argument("--archive-file-bytes", type=int, default=0)
    ap.add_argument("--skip-memory-check", type=int, default=0,
                    help="1: pass tools/run's --skip-memory-check (tests of the kernel's own checks)")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--run-arg", action="append", default=[],
                    help="passed to tools/run as it is (e.g. --rng=pci, --qemu=-device)")
    a = ap.parse_args()
    cmd = [sys.executable, a.run, "-O", a.build_dir, "--machine", a.machine, "--accel", "tcg",
           "--timeout", str(a.timeout), "--smp", str(a.smp)]
    if a.cpu:
        cmd.append("--cpu=" + a.cpu)
    cmd += a.run_arg
    if a.cmdline:
        cmd.append("--cmdline=" + a.cmdline)
    if a.memory:
        cmd += ["-m", a.memory]
    if a.memory_above_image is not None:
        end = image_end(os.path.join(a.build_dir, "kernel-stripped.elf"))
        cmd += ["-m", f"{(end + 128 * 1024 + a.memory_above_image * 1024 + 1023) // 1024}K"]
    if a.skip_memory_check:
        cmd.append("--skip-memory-check")
    with tempfile.TemporaryDirectory(prefix="mica-boot-test-") as scratch:
        if a.archive_files:
            cmd += ["--initrd", make_archive(scratch, a.archive_files, a.archive_file_bytes, a.run)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           preexec_fn=die_with_parent)
    out = p.stdout.decode(errors="replace").replace("\r\n", "\n")
    problems = []
    if p.returncode != a.status:
        problems.append(f"exit status {p.returncode}, expected {a.status}")
    for rx in a.expect:
        if not re.search(rx, out):
            problems.append(f"output lacks /{rx}/")
    for rx in a.reject:
        if re.search(rx, out):
            problems.append(f"output has /{rx}/")
    print("$ " + " ".join(cmd))
    print(out)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
