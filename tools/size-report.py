#!/usr/bin/python3
"""Write size-report.txt for a kernel ELF: loaded sections and the 20 largest symbols.
Usage: size-report.py READELF NM KERNEL_ELF OUT"""
import subprocess
import sys


def main():
    readelf, nm, elf, out = sys.argv[1:]
    sections = subprocess.run([readelf, "-SW", elf], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in sections.splitlines():
        line = line.replace("[ ", "[")
        f = line.split()
        if len(f) >= 7 and f[0].startswith("[") and f[0] != "[Nr]" and f[1] and not f[1].startswith(".debug"):
            if f[1] in ("NULL",) or f[2] == "NULL":
                continue
            flags = f[7] if len(f) > 7 else ""
            if "A" in flags:  # allocated: part of the loaded image
                rows.append((f[1], int(f[5], 16)))
    total = sum(s for _, s in rows)
    syms = subprocess.run([nm, "--size-sort", "-r", "-S", "-C", elf], check=True, capture_output=True,
                          text=True).stdout.splitlines()[:20]
    with open(out, "w") as f:
        f.write(f"Size report for {elf}\n\nLoaded sections:\n")
        for name, size in rows:
            f.write(f"  {name:<20} {size:>10}\n")
        f.write(f"  {'total':<20} {total:>10}\n\nLargest symbols (size, type, name):\n")
        for line in syms:
            parts = line.split(" ", 3)
            if len(parts) == 4:
                f.write(f"  {int(parts[1], 16):>10} {parts[2]} {parts[3]}\n")


if __name__ == "__main__":
    main()
