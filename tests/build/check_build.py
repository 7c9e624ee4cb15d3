#!/usr/bin/python3
"""Checks that configuration switches change the kernel that is built (tests/build).

  check_build.py hide-symbols HIDDEN_BUILD VISIBLE_BUILD
  check_build.py lto LTO_BUILD PLAIN_BUILD
  check_build.py driver-profile BUILD_WITHOUT BUILD_WITH DRIVER
  check_build.py size-report BUILD
Each BUILD is a kernel build directory. Exits 1 with the reasons when a check fails."""
import os
import re
import subprocess
import sys

problems = []


def check(cond, message):
    if not cond:
        problems.append(message)


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


# GNU binutils read both architectures' ELF files, so the host's tools do for every build.


def exported(build):
    out = run("readelf", "--dyn-syms", "-W", os.path.join(build, "kernel.elf"))
    names = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].endswith(":") and f[6] != "UND" and f[4] in ("GLOBAL", "WEAK"):
            names.add(f[7])
    return names


def symbols(build):
    return run("nm", "-C", os.path.join(build, "kernel.elf"))


def hide_symbols(hidden, visible):
    h, v = exported(hidden), exported(visible)
    abi = {"malloc", "free", "calloc", "realloc", "memcpy", "memset", "strlen", "snprintf"}
    check(abi <= h, f"hidden build lacks ABI symbols: {sorted(abi - h)}")
    check(abi <= v, f"visible build lacks ABI symbols: {sorted(abi - v)}")
    check(len(h) < len(v), f"hiding did not shrink the export table ({len(h)} vs {len(v)})")
    internal = [n for n in h if n.startswith("_ZN4mica")]
    check(not internal, f"hidden build exports kernel internals: {internal[:5]}")
    check(any(n.startswith("_ZN4mica") for n in v), "visible build should export kernel internals")
    with open(os.path.join(hidden, "exports.map")) as f:
        listed = set(re.findall(r"^\s+([A-Za-z_][\w.]*);", f.read(), re.M))
    check(listed == h, f"export table differs from exports.map: {sorted(listed ^ h)[:10]}")
    print(f"exported symbols: {len(h)} with CONFIG_HIDE_SYMBOLS, {len(v)} without")


def lto(lto_build, plain_build):
    def has_lto_ir(build):
        lib = os.path.join(build, "kernel", "libmica_core.a")
        return ".gnu.lto_" in run("objdump", "-h", lib)
    check(has_lto_ir(lto_build), "CONFIG_LTO build has no LTO objects")
    check(not has_lto_ir(plain_build), "build without CONFIG_LTO has LTO objects")
    # LTO inlines across subsystem libraries: the descriptor table's close-on-exec sweep (fs)
    # disappears into execve's caller (libc/linux), its one call site.
    probe = "mica::fs::FdTable::close_all_on_exec"
    check(probe not in symbols(lto_build), "LTO did not inline across libraries")
    check(probe in symbols(plain_build), f"plain build lost {probe}")
    print("LTO objects and cross-library inlining present only with CONFIG_LTO")


def driver_profile(without, with_, driver):
    def header(build):
        with open(os.path.join(build, "generated", "mica", "driver-config.h")) as f:
            return f.read()
    check(f"#define CONF_drivers_{driver} 0" in header(without), f"{without} enables {driver}")
    check(f"#define CONF_drivers_{driver} 1" in header(with_), f"{with_} lacks {driver}")
    symbol = f"mica::drivers::{driver}_driver"
    check(symbol not in symbols(without), f"{without} links the {driver} driver")
    check(symbol in symbols(with_), f"{with_} lacks the {driver} driver")
    print(f"driver profile changes driver-config.h and whether {driver} is linked")


def size_report(build):
    path = os.path.join(build, "size-report.txt")
    check(os.path.exists(path), f"{path} missing")
    if problems:
        return
    with open(path) as f:
        text = f.read()
    check(re.search(r"^\s+\.text\s+\d+$", text, re.M), "size report lacks .text")
    rows = text.split("Largest symbols")[1].strip().splitlines()[1:]
    check(len(rows) == 20, f"size report lists {len(rows)} symbols, not 20")
    print(text)


def main():
    checks = {"hide-symbols": hide_symbols, "lto": lto, "driver-profile": driver_profile,
              "size-report": size_report}
    checks[sys.argv[1]](*sys.argv[2:])
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
