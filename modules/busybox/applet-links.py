#!/usr/bin/python3
"""applet-links.py BUSYBOX APPLETS ROOT: lays out ROOT afresh for the busybox module:
ROOT/bin/busybox (a copy of BUSYBOX, mode 0755) and, for every other path APPLETS lists (the
output of `busybox --list-full`: bin/sh, usr/bin/awk, usr/bin/[, ...), a symbolic link to
/bin/busybox."""
import os
import re
import shutil
import sys

MIN_APPLETS = 10  # fewer means APPLETS is not busybox --list-full's output


def main(busybox, applets, root):
    with open(applets) as f:
        paths = [line.strip() for line in f if line.strip()]
    if len(paths) < MIN_APPLETS:
        sys.exit(f"applet-links.py: {applets}: only {len(paths)} applets (expected busybox --list-full's list)")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "bin"))
    shutil.copyfile(busybox, os.path.join(root, "bin", "busybox"))
    os.chmod(os.path.join(root, "bin", "busybox"), 0o755)
    for path in paths:
        if path == "bin/busybox":
            continue
        if path.startswith("/") or ".." in path.split("/") or not re.fullmatch(r"[\w./+\[\]-]+", path):
            sys.exit(f"applet-links.py: {applets}: unexpected applet path {path!r}")
        link = os.path.join(root, path)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
