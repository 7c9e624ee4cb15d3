#!/usr/bin/python3
"""Kconfig front end for Mica: the Linux-style configuration actions on top of Debian's
kconfiglib, plus `genconfig`, which turns a .config into the files the build reads.

Usage: tools/kconfig.py [--kconfig FILE] --config .config ACTION [ARGS]
  defconfig FILE [FRAGMENT...]   write .config from a defconfig, merging fragments in order
  olddefconfig                   update .config: new options get their defaults
  alldefconfig                   .config with every option at its default
  savedefconfig OUT              write a minimal defconfig (only what differs from defaults)
  listnewconfig                  list options the .config does not set yet
  menuconfig                     interactive editor (terminal)
  doc OUT.md                     write the configuration reference (every option and its help)
  genconfig OUTDIR               write OUTDIR/config.cmake, OUTDIR/mica/config.h and
                                 OUTDIR/mica/driver-config.h (each only if its content changed)
Exits non-zero with a message naming the problem on a malformed .config, unknown options in a
defconfig, or assignments that Kconfig cannot honour.
"""
import argparse
import os
import sys

import kconfiglib

DRIVER_PREFIX = "DRIVER_"


def fail(msg):
    sys.stderr.write(f"kconfig: error: {msg}\n")
    sys.exit(1)


def load(kconfig_path, strict_warnings=True):
    try:
        kconf = kconfiglib.Kconfig(kconfig_path, warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        fail(str(e))
    # Assigning a symbol that no Kconfig defines is almost always a typo: make it visible.
    kconf.warn_assign_undef = True
    if strict_warnings and kconf.warnings:
        fail("Kconfig tree has problems:\n  " + "\n  ".join(kconf.warnings))
    return kconf


def load_config_strict(kconf, path, replace=True):
    """Load a .config/defconfig; any warning (malformed line, unknown symbol, value out of
    range, an assignment a dependency overrides) is an error naming the file and line."""
    if not os.path.exists(path):
        fail(f"{path}: no such file (run 'make defconfig' or 'make <name>_defconfig' first)")
    before = len(kconf.warnings)
    kconf.load_config(path, replace=replace)
    new = kconf.warnings[before:]
    if new:
        fail(f"{path} is not a valid configuration:\n  " + "\n  ".join(new))


def check_honoured(kconf, path):
    """Every symbol a defconfig assigns must end up with that value; otherwise a dependency
    or a choice overrode it and the user would silently get something else."""
    bad = []
    for sym in kconf.unique_defined_syms:
        if sym.user_value is None or sym.choice:
            continue
        want = sym.user_value
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            want = kconfiglib.TRI_TO_STR[want]
        if str(want) != sym.str_value:
            bad.append(f"CONFIG_{sym.name}={want} was requested but is {sym.str_value or 'n'} "
                       f"(depends on: {kconfiglib.expr_str(sym.direct_dep)})")
    for choice in kconf.unique_choices:
        if choice.user_selection is not None and choice.selection is not choice.user_selection:
            bad.append(f"CONFIG_{choice.user_selection.name}=y was requested but cannot be chosen")
    if bad:
        fail(f"{path}: assignments that cannot be honoured:\n  " + "\n  ".join(bad))


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def c_value(sym):
    """Bools are always defined, 0 or 1, so C++ can use `if constexpr (CONFIG_X)` and
    -Wundef catches misspelt names; strings are quoted, ints/hex as written."""
    v = sym.str_value
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return "1" if v in ("y", "m") else "0"
    if sym.orig_type == kconfiglib.STRING:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v or "0"


def genconfig(kconf, outdir):
    syms = sorted((s for s in kconf.unique_defined_syms if s.orig_type), key=lambda s: s.name)
    header = "/* Generated from .config by tools/kconfig.py; do not edit. */\n"
    h = [header, "#pragma once\n"]
    cm = ["# Generated from .config by tools/kconfig.py; do not edit.\n"]
    drv = [header, "#pragma once\n",
           "/* One switch per driver: 1 when the driver is built into the kernel. */\n"]
    for s in syms:
        h.append(f"#define CONFIG_{s.name} {c_value(s)}\n")
        v = s.str_value
        if s.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            cm.append(f"set(CONFIG_{s.name} {'ON' if v in ('y', 'm') else 'OFF'})\n")
        else:
            esc = v.replace("\\", "\\\\").replace('"', '\\"')
            cm.append(f'set(CONFIG_{s.name} "{esc}")\n')
        if s.name.startswith(DRIVER_PREFIX) and s.orig_type == kconfiglib.BOOL:
            name = s.name[len(DRIVER_PREFIX):].lower()
            drv.append(f"#define CONF_drivers_{name} {c_value(s)}\n")
    changed = []
    for rel, text in (("config.cmake", "".join(cm)), ("mica/config.h", "".join(h)),
                      ("mica/driver-config.h", "".join(drv))):
        if write_if_changed(os.path.join(outdir, rel), text):
            changed.append(rel)
    # The list of Kconfig files lets CMake re-run configuration when any of them changes.
    write_if_changed(os.path.join(outdir, "kconfig-files.txt"),
                     "".join(sorted(os.path.abspath(p) + "\n" for p in kconf.kconfig_filenames)))
    return changed


def write_reference(kconf, out):
    """docs/configuration.md: every visible option with its type, default and help, by menu."""
    lines = ["# Configuration reference", "",
             "Generated from the Kconfig files by `tools/kconfig.py doc docs/configuration.md`;",
             "`make check` fails when it is out of date. Bool options are always defined in",
             "`mica/config.h` as 0 or 1 (use `#if CONFIG_X` / `if constexpr`); drivers also appear",
             "in `mica/driver-config.h` as `CONF_drivers_<name>`.", ""]

    def walk(node, depth):
        while node:
            item = node.item
            if item == kconfiglib.MENU:
                lines.extend(["#" * min(depth + 2, 4) + " " + node.prompt[0], ""])
            elif item == kconfiglib.COMMENT:
                lines.extend([f"_{node.prompt[0]}_", ""])
            elif isinstance(item, (kconfiglib.Symbol, kconfiglib.Choice)) and node.prompt:
                name = f"CONFIG_{item.name}" if item.name else "(choice)"
                kind = kconfiglib.TYPE_TO_STR[item.orig_type]
                if isinstance(item, kconfiglib.Choice):
                    default = item.selection.name if item.selection else "-"
                    lines.append(f"- **{node.prompt[0]}** (choice `{name}`, default `CONFIG_{default}`)")
                else:
                    lines.append(f"- `{name}` ({kind}, default `{item.str_value or 'n'}`): {node.prompt[0]}")
                help_text = " ".join((node.help or "").split())
                if help_text:
                    lines.append(f"  {help_text}")
                lines.append("")
            if node.list:
                walk(node.list, depth + (1 if item == kconfiglib.MENU else 0))
            node = node.next

    kconf.load_config(os.devnull)  # defaults only
    walk(kconf.top_node.list, 0)
    with open(out, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kconfig", default=os.path.join(os.path.dirname(here), "Kconfig"))
    ap.add_argument("--config", default=os.environ.get("KCONFIG_CONFIG", ".config"))
    ap.add_argument("action", choices=["defconfig", "olddefconfig", "alldefconfig",
                                       "savedefconfig", "listnewconfig", "menuconfig",
                                       "genconfig", "doc"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()

    # kconfiglib resolves `rsource` relative to the including file; chdir keeps
    # file names in messages short and stable.
    kconfig = os.path.abspath(a.kconfig)
    config = os.path.abspath(a.config)
    os.environ["KCONFIG_CONFIG"] = config
    os.makedirs(os.path.dirname(config), exist_ok=True)

    if a.action == "menuconfig":
        import menuconfig
        kconf = load(kconfig)
        if os.path.exists(config):
            load_config_strict(kconf, config)
        menuconfig.menuconfig(kconf)
        return 0

    kconf = load(kconfig)
    if a.action == "defconfig":
        if not a.args:
            fail("defconfig needs a file")
        load_config_strict(kconf, a.args[0])
        for frag in a.args[1:]:
            load_config_strict(kconf, frag, replace=False)
        check_honoured(kconf, " + ".join(a.args))
        kconf.write_config(config, save_old=False)
    elif a.action == "alldefconfig":
        kconf.write_config(config, save_old=False)
    elif a.action == "olddefconfig":
        load_config_strict(kconf, config)
        kconf.write_config(config, save_old=False)
    elif a.action == "savedefconfig":
        if not a.args:
            fail("savedefconfig needs an output file")
        load_config_strict(kconf, config)
        kconf.write_min_config(a.args[0])
        print(f"kconfig: minimal configuration written to {a.args[0]}")
    elif a.action == "listnewconfig":
        if os.path.exists(config):
            load_config_strict(kconf, config)
        for s in kconf.unique_defined_syms:
            if s.user_value is None and s.visibility and s.orig_type:
                print(f"CONFIG_{s.name}={s.str_value}")
    elif a.action == "doc":
        if not a.args:
            fail("doc needs an output file")
        write_reference(kconf, a.args[0])
    elif a.action == "genconfig":
        if not a.args:
            fail("genconfig needs an output directory")
        load_config_strict(kconf, config)
        genconfig(kconf, a.args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
