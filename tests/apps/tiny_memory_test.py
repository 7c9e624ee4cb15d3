#!/usr/bin/python3
"""Issue 13's memory target: Debian's busybox-static runs a script from a squashfs root disk in a
4 MiB machine.

  tiny_memory_test.py --run tools/run --build-dir DIR --machine M --busybox BUSYBOX
                      [--memory 4M] [--timeout S]

Builds a tree as a user would (/bin/busybox with applet links, /dev /proc /tmp, a script),
makes a squashfs image of it with mksquashfs' defaults (128 KiB blocks, fragments) and boots it
as the root with `-m 4M`, one CPU, running `/bin/busybox sh /script.sh`. The script is
tools/bench/disk's: a command substitution around a pipeline (`ls /bin | wc -l`: the shell, a
subshell and two children, one of them exec'ing busybox again) and `head | md5sum`, so four
processes are alive at once. Then it reads a 3 MiB file twice, more than the machine has
free: the page cache must give back the pages it read (it once counted every cached page as
mapped by an application and never evicted one). Its lines must equal the ones computed
here, with status 0. A kernel that needs more memory fails here with the out-of-memory
message it prints.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

SCRIPT = """\
set -e
links=$(ls /bin | wc -l)
sum=$(head -c 65536 /bin/busybox | md5sum)
echo "script: $links entries in /bin, md5 of the first 65536 bytes of busybox ${sum%% *}"
big=$(cat /data/big /data/big | md5sum)
echo "script: md5 of the 3 MiB file twice ${big%% *}"
echo "script: $(echo done | tr a-z A-Z)"
"""
BIG_BYTES = 3 * 1024 * 1024 + 77
APPLETS = ["sh", "ls", "wc", "head", "md5sum", "echo", "tr", "cat", "true"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="tools/run")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--busybox", required=True, help="busybox-static for the guest's architecture")
    ap.add_argument("--memory", default="4M")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    if not os.path.isfile(args.busybox):
        print(f"skipped: no {args.busybox}")
        return 0
    with open(args.busybox, "rb") as f:
        busybox = f.read()
    with tempfile.TemporaryDirectory(prefix="mica-tiny-") as work:
        tree = os.path.join(work, "tree")
        for d in ("bin", "data", "dev", "proc", "tmp"):
            os.makedirs(os.path.join(tree, d))
        with open(os.path.join(tree, "bin", "busybox"), "wb") as f:
            f.write(busybox)
        os.chmod(os.path.join(tree, "bin", "busybox"), 0o755)
        for applet in APPLETS:
            os.symlink("busybox", os.path.join(tree, "bin", applet))
        with open(os.path.join(tree, "script.sh"), "w") as f:
            f.write(SCRIPT)
        big = hashlib.shake_256(b"mica tiny_memory_test").digest(BIG_BYTES)  # incompressible
        with open(os.path.join(tree, "data", "big"), "wb") as f:
            f.write(big)
        image = os.path.join(work, "root.img")
        subprocess.run(["mksquashfs", tree, image, "-noappend", "-all-root", "-quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        want = [f"script: {len(APPLETS) + 1} entries in /bin, md5 of the first 65536 bytes of busybox "
                f"{hashlib.md5(busybox[:65536]).hexdigest()}",
                f"script: md5 of the 3 MiB file twice {hashlib.md5(big + big).hexdigest()}", "script: DONE"]
        cmd = [sys.executable, args.run, "-O", args.build_dir, "--machine", args.machine, "--accel", "tcg",
               "-m", args.memory, "--timeout", str(args.timeout), "--root", image,
               "--", "/bin/busybox", "sh", "/script.sh"]
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=args.timeout + 60)
        print(p.stdout + p.stderr)
        lines = [l.rstrip("\r") for l in p.stdout.splitlines()]
        problems = []
        if p.returncode != 0:
            problems.append(f"exit status {p.returncode}, not 0")
        for line in want:
            if line not in lines:
                problems.append(f"missing line: {line!r}")
        if problems:
            print(f"FAILED at -m {args.memory}:\n  " + "\n  ".join(problems))
            return 1
        print(f"ok: busybox ran the script from the disk with -m {args.memory}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
