#!/usr/bin/python3
"""Runs a tests/apps program on the host (the reference) or on Mica, and compares.

  run_app_test.py reference --binary BIN --output REF.json [common options] [-- args]
      Runs BIN on the host as Mica would: argv[0] is the guest path, the environment holds
      only the --env variables, the working directory is a scratch "root" holding the --add
      files at their guest paths (so relative paths in the arguments mean the same thing on
      both sides), and with --tmpdir, TMPDIR points at a private scratch directory (on Mica
      it is /tmp). Writes the merged stdout+stderr and the exit status (128 + signal for a
      crash, as a shell reports it) to REF.json.

  run_app_test.py guest --run tools/run --build-dir DIR --binary BIN --expected REF.json
                  [--kernel K] [--timeout S] [--machine M] [--memory SIZE] [--run-arg ARG...]
                  [common options] [-- args]
      Boots BIN on the kernel in DIR through `tools/run --app` and compares the application's
      output and exit status with REF.json. --run-arg passes ARG to tools/run only (files the
      host run finds in place, such as Python's standard library).

  run_app_test.py same A.json B.json
      The two references agree (the program is deterministic across C libraries).

  run_app_test.py refused|console --run tools/run --build-dir DIR --binary BIN --command CMDLINE
                  --status N --expect REGEX... [--reject REGEX...] [--add HOST:GUEST] [--memory SIZE]
      One boot of the command line CMDLINE (BIN in the archive): the exit status, a console
      matching every --expect REGEX and no --reject REGEX (multi-line mode). Files the kernel
      must refuse, programs checked on Mica only (running out of memory, system calls the vDSO
      must have answered), what the kernel sets up before the application.

Common options: --guest-path P (default /bin/<name>), --env NAME=VALUE, --add HOST:GUEST,
--tmpdir.

Kernel lines: the console carries the kernel's own lines as well as the application's output.
Before comparing, lines are dropped when they start with "mica:" (every kernel message
while an application runs uses that prefix) or are the boot banner ("Mica <version> (config
..."), and "\\r\\n" becomes "\\n". When the reference crashed (killed by a signal), the rest of
the console is the kernel's crash report, so only the reference's output must be a prefix of
the application's output; the exit status must still match (139 for SIGSEGV, 134 for
SIGABRT).
"""
import argparse
import ctypes
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

BANNER = re.compile(r"^Mica [0-9][0-9.]* \(config ")
KERNEL_PREFIX = "mica:"


def die_with_parent():
    """preexec_fn for tools/run: SIGTERM when this driver dies (ctest's timeout kills it),
    which makes tools/run stop QEMU."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def kernel_line(line):
    return line.startswith(KERNEL_PREFIX) or BANNER.match(line) is not None


def application_output(console):
    """The console text without the kernel's lines (see the module documentation)."""
    text = console.replace("\r\n", "\n")
    kept = [line for line in text.split("\n") if not kernel_line(line)]
    return "\n".join(kept)


def exit_status(returncode):
    return 128 - returncode if returncode < 0 else returncode


def guest_path(a):
    return a.guest_path or "/bin/" + os.path.basename(a.binary)


def split_add(item):
    host, sep, guest = item.rpartition(":")
    if not sep or not host or not guest.startswith("/"):
        sys.exit(f"run_app_test: --add {item}: expected HOST:/GUEST")
    return host, guest


def reference(a):
    scratch = tempfile.mkdtemp(prefix="mica-app-ref-")
    try:
        root = os.path.join(scratch, "root")
        os.makedirs(root)
        for item in a.add:
            host, guest = split_add(item)
            target = os.path.join(root, guest.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(host):
                shutil.copytree(host, target)
            else:
                shutil.copy(host, target)
        env = dict(e.split("=", 1) for e in a.env)
        if a.applets:
            # The multi-call binary under each applet's name, first in PATH: the same busybox
            # runs every command on the host as on Mica.
            bindir = os.path.join(scratch, "applets")
            os.makedirs(bindir)
            for name in a.applets.split(","):
                os.symlink(os.path.abspath(a.binary), os.path.join(bindir, name))
            env["PATH"] = bindir
        if a.tmpdir:
            env["TMPDIR"] = os.path.join(scratch, "tmp")
            os.makedirs(env["TMPDIR"])
        p = subprocess.run([guest_path(a)] + a.args, executable=os.path.abspath(a.binary), cwd=root, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"output": p.stdout.decode(errors="replace"), "status": exit_status(p.returncode),
              "crashed": p.returncode < 0}
    if p.returncode < 0:
        result["signal"] = signal.Signals(-p.returncode).name
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.output)
    return 0


def load(path):
    with open(path) as f:
        return json.load(f)


def compare(expected, output, crashed):
    """Returns a list of problems (empty when the outputs agree)."""
    if crashed:
        if output.startswith(expected):
            return []
        got = output[:len(expected)]
        what = "the application's output before the crash differs from the host's"
    else:
        if output == expected:
            return []
        got = output
        what = "the application's output differs from the host's"
    diff = difflib.unified_diff(expected.splitlines(), got.splitlines(), "host (reference)", "Mica", lineterm="")
    return [what + ":\n" + "\n".join(diff)]


def guest(a):
    ref = load(a.expected)
    cmd = [sys.executable, a.run, "-O", a.build_dir, "--accel", a.accel, "--timeout", str(a.timeout),
           "--app", a.binary, "--app-path", guest_path(a)]
    if a.kernel:
        cmd += ["--kernel", a.kernel]
    if a.machine:
        cmd += ["--machine", a.machine]
    if a.memory:
        cmd += ["-m", a.memory]
    for e in a.env:
        cmd.append("--env=" + e)
    if a.tmpdir:
        cmd.append("--env=TMPDIR=/tmp")
    for item in a.add:
        cmd += ["--add", item]
    cmd += a.run_arg
    manifest = None
    if a.applets:
        # /bin/<applet> -> the binary, as `busybox --install -s` would make them.
        fd, manifest = tempfile.mkstemp(prefix="mica-applets-", suffix=".manifest")
        with os.fdopen(fd, "w") as f:
            for name in a.applets.split(","):
                f.write(f"/bin/{name}: -> {os.path.basename(guest_path(a))}\n")
        cmd += ["--manifest", manifest, "--env=PATH=/bin"]
    cmd += ["--"] + a.args
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           preexec_fn=die_with_parent)
    finally:
        if manifest:
            os.unlink(manifest)
    console = p.stdout.decode(errors="replace")
    output = application_output(console)
    problems = []
    want_status = ref["status"] if a.status is None else a.status
    if p.returncode != want_status:
        problems.append(f"exit status {p.returncode}, expected {want_status}"
                        + (f" (the host run died of {ref['signal']})" if ref.get("crashed") else ""))
    problems += compare(ref["output"], output, ref.get("crashed", False))
    print("$ " + shlex.join(cmd))
    print(console)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("ok")
    return 0


def same(a):
    first, second = load(a.first), load(a.second)
    problems = []
    if first["status"] != second["status"]:
        problems.append(f"exit status {first['status']} vs {second['status']}")
    if first["output"] != second["output"]:
        diff = difflib.unified_diff(first["output"].splitlines(), second["output"].splitlines(), a.first, a.second,
                                    lineterm="")
        problems.append("outputs differ:\n" + "\n".join(diff))
    if problems:
        print("FAILED: the host runs disagree:\n  " + "\n  ".join(problems))
        return 1
    print("ok: both host runs printed the same output and exited with", first["status"])
    return 0


def refused(a):
    """One boot with the command line --command: the status and a line matching each --expect.
    For files the kernel must refuse to run ("refused"), programs checked on Mica only (running
    out of memory), and what the kernel sets up before the application ("console")."""
    cmd = [sys.executable, a.run, "-O", a.build_dir, "--accel", "tcg", "--timeout", str(a.timeout),
           "--app", a.binary]
    if a.memory:
        cmd += ["-m", a.memory]
    if a.kernel:
        cmd += ["--kernel", a.kernel]
    for item in a.add:
        cmd += ["--add", item]
    cmd += a.run_arg
    cmd += ["-e", a.command]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       preexec_fn=die_with_parent)
    console = p.stdout.decode(errors="replace")
    print("$ " + shlex.join(cmd))
    print(console)
    problems = []
    if p.returncode != a.status:
        problems.append(f"exit status {p.returncode}, expected {a.status}")
    for rx in a.expect:
        if not re.search(rx, console, re.M):
            problems.append(f"no line matching {rx!r}")
    for rx in a.reject:
        found = re.findall(rx, console, re.M)
        if found:
            problems.append(f"{len(found)} line(s) matching {rx!r}, expected none")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("ok")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--binary", required=True)
    common.add_argument("--guest-path")
    common.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    common.add_argument("--add", action="append", default=[], metavar="HOST:GUEST")
    common.add_argument("--tmpdir", action="store_true", help="give the program a private TMPDIR")
    common.add_argument("--applets", metavar="NAME,...",
                        help="a multi-call binary (busybox): link it under these names in PATH")
    common.add_argument("args", nargs="*")
    r = sub.add_parser("reference", parents=[common])
    r.add_argument("--output", required=True)
    g = sub.add_parser("guest", parents=[common])
    g.add_argument("--run", required=True, help="path to tools/run")
    g.add_argument("--build-dir", required=True)
    g.add_argument("--kernel")
    g.add_argument("--machine")
    g.add_argument("--accel", default="tcg")
    g.add_argument("--timeout", type=float, default=60)
    g.add_argument("--expected", required=True, help="reference JSON written by the reference mode")
    g.add_argument("--status", type=int, help="expected exit status (default: the reference's)")
    g.add_argument("--memory", help="the machine's memory (tools/run -m)")
    g.add_argument("--run-arg", action="append", default=[],
                   help="passed to tools/run only, not to the host run (e.g. --add of a tree the host has in place)")
    for mode in ("refused", "console"):
        x = sub.add_parser(mode)
        x.add_argument("--binary", required=True, help="any runnable program (the archive carries it)")
        x.add_argument("--add", action="append", default=[], metavar="HOST:GUEST")
        x.add_argument("--run", required=True)
        x.add_argument("--build-dir", required=True)
        x.add_argument("--kernel")
        x.add_argument("--timeout", type=float, default=60)
        x.add_argument("--command", required=True, help="the kernel command line")
        x.add_argument("--status", type=int, required=True)
        x.add_argument("--expect", action="append", required=True,
                       help="regular expression the console must match (repeatable)")
        x.add_argument("--reject", action="append", default=[], metavar="REGEX",
                       help="a console line matching this must not appear (repeatable)")
        x.add_argument("--memory", help="the machine's memory (tools/run -m)")
        x.add_argument("--run-arg", action="append", default=[], help="passed to tools/run (e.g. --net=user)")
    s = sub.add_parser("same")
    s.add_argument("first")
    s.add_argument("second")
    a = ap.parse_args(argv)
    for e in getattr(a, "env", []):
        if "=" not in e:
            sys.exit(f"run_app_test: --env {e}: expected NAME=VALUE")
    return {"reference": reference, "guest": guest, "same": same, "refused": refused, "console": refused}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
