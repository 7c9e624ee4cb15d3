#!/usr/bin/python3
"""The root file system from a disk: a squashfs image booted with tools/run --root, on one machine.

  disk_root_test.py --run tools/run --build-dir DIR --machine M --binary DISK_FILES [--timeout S]

Builds a tree from a seeded generator (files of 0 bytes to 3 MiB around the page and block
sizes, random and compressible, a sparse one, a 300-entry directory, deep directories,
symbolic links), puts the static program tests/apps/disk_files.c at /bin/disk_files, and makes
squashfs images of it with mksquashfs at three block sizes (4 KiB, 128 KiB with every file's
tail in fragments, 1 MiB without fragments). Each boots as the root (/dev, /proc, /tmp in the
image), on tools/run's default machine and on a small one (SMALL_MEMORY: below 64 MiB the
kernel reads the image without a decompressed data block cache, streaming each block into the
page cache, one page at a time since memory is short); the guest describes /data (every file's FNV-1a read with read() and through an mmap
paged in on demand, which must agree) and checks it is read-only; its lines must equal the ones
computed here from the tree. Then the bad images: random bytes, a truncated image and a
missing file each end with a message naming the problem and a non-zero status.
"""
import argparse
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile

MIB = 1 << 20
SIZES = [0, 1, 100, 4095, 4096, 4097, 65535, 65536, 65537, 131071, 131072, 131073, 1 * MIB + 3, 3 * MIB + 77]
FNV_BASIS, FNV_PRIME, MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1
IMAGES = [("4k", ["-b", "4096"]), ("128k-fragments", ["-b", "131072", "-always-use-fragments"]),
          ("1m-no-fragments", ["-b", "1048576", "-no-fragments"])]
# A machine on libc/linux/root_disk.cc's small-machine path (below 64 MiB): no data block cache,
# and files (1-5 MiB) larger than the page cache may keep, so reading them evicts. (At 16 MiB
# this failed until the page cache evicted at all: it took every cached page for mapped.)
SMALL_MEMORY = "16M"


def fnv1a(data):
    h = FNV_BASIS
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def build_tree(data, rng):
    os.makedirs(data)
    for i, size in enumerate(SIZES):
        random_bytes = rng.randbytes(size)
        with open(os.path.join(data, f"random-{i:02d}-{size}"), "wb") as f:
            f.write(random_bytes)
        line = b"compressible text %d\n" % i
        with open(os.path.join(data, f"text-{i:02d}-{size}"), "wb") as f:
            f.write((line * (size // len(line) + 1))[:size])
    with open(os.path.join(data, "sparse"), "wb") as f:  # holes: mksquashfs keeps sparse blocks
        f.truncate(5 * MIB)
        f.seek(2 * MIB + 5)
        f.write(b"in the middle")
    many = os.path.join(data, "many")
    os.makedirs(many)
    for i in range(300):
        with open(os.path.join(many, f"entry-{i:04d}"), "wb") as f:
            f.write(rng.randbytes(rng.randrange(0, 3000)))
    deep = data
    for level in range(12):
        deep = os.path.join(deep, f"level{level}")
        os.makedirs(deep)
    with open(os.path.join(deep, "bottom"), "wb") as f:
        f.write(b"the bottom\n")
    os.symlink("random-04-4097", os.path.join(data, "link-relative"))
    os.symlink("/data/many/entry-0007", os.path.join(data, "link-absolute"))
    os.symlink("missing", os.path.join(data, "link-dangling"))
    os.chmod(os.path.join(data, "many"), 0o750)


def expected_lines(root, rel=""):
    """What disk_files prints for `root` (the same walk: sorted by name, depth first)."""
    lines = []
    for name in sorted(os.listdir(root), key=os.fsencode):
        full = os.path.join(root, name)
        child = f"{rel}/{name}" if rel else name
        st = os.lstat(full)
        if stat.S_ISDIR(st.st_mode):
            lines.append(f"d {child} {stat.S_IMODE(st.st_mode):o}")
            lines += expected_lines(full, child)
        elif stat.S_ISLNK(st.st_mode):
            lines.append(f"l {child} -> {os.readlink(full)}")
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                data = f.read()
            lines.append(f"f {child} {len(data)} {fnv1a(data):016x}")
    return lines


def boot(args, image, guest_args, timeout, memory=None):
    cmd = [sys.executable, args.run, "-O", args.build_dir, "--machine", args.machine, "--timeout", str(timeout),
           "--root", image] + (["-m", memory] if memory else []) + ["--"] + guest_args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=timeout + 60)
    return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--binary", required=True, help="disk_files built for the guest")
    ap.add_argument("--timeout", type=float, default=240)
    args = ap.parse_args()
    mksquashfs = shutil.which("mksquashfs") or shutil.which("mksquashfs", path="/usr/sbin:/sbin")
    if not mksquashfs:
        sys.exit("disk_root_test: mksquashfs is missing (squashfs-tools): run tools/install-deps")
    failed = False
    with tempfile.TemporaryDirectory(prefix="mica-disk-root-") as work:
        tree = os.path.join(work, "tree")
        for d in ("bin", "dev", "proc", "tmp"):
            os.makedirs(os.path.join(tree, d))
        shutil.copy(args.binary, os.path.join(tree, "bin", "disk_files"))
        build_tree(os.path.join(tree, "data"), random.Random(1313))
        want = expected_lines(os.path.join(tree, "data")) + ["readonly checked"]
        for name, options in IMAGES:
            image = os.path.join(work, f"{name}.sqfs")
            subprocess.run([mksquashfs, tree, image, "-noappend", "-quiet", "-no-progress", "-all-root"] + options,
                           check=True, stdout=subprocess.DEVNULL)
            for memory in (None, SMALL_MEMORY):
                what = f"{name}" + (f" at -m {memory}" if memory else "")
                rc, out = boot(args, image, ["/bin/disk_files", "/data", "--readonly"], args.timeout, memory)
                got = [line for line in out.splitlines()
                       if line[:2] in ("d ", "l ", "f ") or line == "readonly checked" or line.startswith("FAIL")]
                if rc != 0 or got != want:
                    failed = True
                    print(f"FAIL {args.machine} {what}: exit status {rc}")
                    for line in [g for g in got if g not in want][:10]:
                        print(f"  unexpected: {line}")
                    for line in [w for w in want if w not in got][:10]:
                        print(f"  missing:    {line}")
                    print(out[-3000:])
                else:
                    print(f"ok {args.machine} {what}: {len(want)} lines")
        # Bad images: a clear message and a non-zero status, never a hang.
        junk = os.path.join(work, "junk.img")
        with open(junk, "wb") as f:
            f.write(random.Random(5).randbytes(64 * 1024))
        truncated = os.path.join(work, "truncated.img")
        with open(os.path.join(work, "4k.sqfs"), "rb") as f:
            whole = f.read()
        with open(truncated, "wb") as f:
            f.write(whole[: len(whole) // 3])
        cases = [("not squashfs", junk, "not a squashfs image"), ("truncated", truncated, "vda:"),
                 ("missing", os.path.join(work, "missing.img"), "missing.img")]
        for what, image, message in cases:
            rc, out = boot(args, image, ["/bin/disk_files", "/data"], 60)
            if rc == 0 or message not in out:
                failed = True
                print(f"FAIL {args.machine} {what} image: exit status {rc}, expected a message with {message!r}")
                print(out[-2000:])
            else:
                line = next((l for l in out.splitlines() if message in l), "")
                print(f"ok {args.machine} {what} image: status {rc}: {line.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
