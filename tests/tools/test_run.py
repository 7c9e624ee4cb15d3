#!/usr/bin/python3
"""tools/run's exit status cannot lie, and QEMU never outlives it.

  test_run.py [--x86_64 BUILD_DIR] [--aarch64 BUILD_DIR] [unittest options] [TEST...]

FakeQemu: a stand-in `qemu-system-x86_64`/`qemu-system-aarch64` first in PATH prints what a
test asks for and exits with the status it asks for (or sleeps until killed), so every
combination of QEMU status and guest announcement is checked without booting anything.
RealQemu: the kernels in the given build directories (skipped without them): QEMU failing
to start (an unknown machine, more memory than the host can give), guest statuses, and
QEMU ending with tools/run when tools/run is killed.
"""
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "..", "..", "tools", "run")
BUILD_DIRS = {}
QEMU_FAILED = 125

FAKE_QEMU = r'''#!/usr/bin/python3
import json, os, sys, time
spec = json.loads(os.environ["FAKE_QEMU"])
if "pidfile" in spec:
    with open(spec["pidfile"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(spec["pidfile"] + ".tmp", spec["pidfile"])
sys.stdout.write(spec.get("stdout", ""))
sys.stdout.flush()
sys.stderr.write(spec.get("stderr", ""))
sys.stderr.flush()
if spec.get("sleep"):
    time.sleep(spec["sleep"])
if "signal" in spec:
    os.kill(os.getpid(), spec["signal"])
sys.exit(spec.get("exit", 0))
'''


def process_gone(pid):
    """True when `pid` has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_until(condition, what, limit=60):
    """Polls `condition`; the limit only turns a hang into a failure with a message."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {limit} s waiting for {what}")
        time.sleep(0.05)


class FakeQemu(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="mica-run-test-")
        self.addCleanup(self.dir.cleanup)
        d = self.dir.name
        for arch in ("x86_64", "aarch64"):
            path = os.path.join(d, f"qemu-system-{arch}")
            with open(path, "w") as f:
                f.write(FAKE_QEMU)
            os.chmod(path, stat.S_IRWXU)
            build = os.path.join(d, arch)
            os.makedirs(build)
            with open(os.path.join(build, ".config"), "w") as f:
                f.write(f'CONFIG_ARCH="{arch}"\n')
            kernel = "kernel.bin" if arch == "aarch64" else "kernel-stripped.elf"
            open(os.path.join(build, kernel), "w").close()
        self.env = dict(os.environ, PATH=d + os.pathsep + os.environ["PATH"])

    def start(self, spec, arch="x86_64", extra=()):
        env = dict(self.env, FAKE_QEMU=json.dumps(spec))
        return subprocess.Popen([sys.executable, RUN, "-O", os.path.join(self.dir.name, arch), "--accel", "tcg",
                                 "--timeout", "60", *extra], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run_fake(self, spec, arch="x86_64", extra=()):
        p = self.start(spec, arch, extra)
        out, err = p.communicate(timeout=120)
        return p.returncode, out.decode(), err.decode()

    def test_disks_and_root_on_each_transport(self):
        d = self.dir.name
        paths = {}
        for name in ("root.img", "a.img", "b,c.img"):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(b"\0" * 4096)
        for machine, model in (("pc", "virtio-blk-pci"), ("microvm", "virtio-blk-device")):
            rc, out, err = self.run_fake({}, extra=("--dry-run", "--machine", machine, "--root", paths["root.img"],
                                                    "--disk", paths["a.img"], "--disk", paths["b,c.img"] + ",rw",
                                                    "-e", "--verbose"))
            self.assertEqual(rc, 0, err)
            text = out + err
            self.assertIn(f"-drive file={paths['root.img']},if=none,format=raw,id=disk0,readonly=on "
                          f"-device {model},drive=disk0", text)
            self.assertIn(f"-drive file={paths['a.img']},if=none,format=raw,id=disk1,readonly=on "
                          f"-device {model},drive=disk1", text)
            # A comma in the path is doubled for QEMU; ,rw drops readonly=on.
            escaped = paths["b,c.img"].replace(",", ",,")
            self.assertIn(f"-drive file={escaped},if=none,format=raw,id=disk2 -device {model},drive=disk2", text)
            self.assertIn("-append '--root=vda --verbose'", text)

    def test_missing_or_unreadable_disk_is_refused_before_qemu(self):
        d = self.dir.name
        for option in ("--disk", "--root"):
            rc, out, err = self.run_fake({"stdout": "QEMU RAN\n"}, extra=(option, os.path.join(d, "missing.img")))
            self.assertNotEqual(rc, 0)
            self.assertNotIn("QEMU RAN", out)
            self.assertIn(f"tools/run: {option} {os.path.join(d, 'missing.img')}: no such file", err)
        rc, out, err = self.run_fake({"stdout": "QEMU RAN\n"}, extra=("--disk", d))
        self.assertIn("not a regular file or block device", err)
        self.assertNotIn("QEMU RAN", out)

    def test_qemu_failing_to_start_is_not_success(self):
        # QEMU's own failure status 1 equals isa-debug-exit's encoding of the guest's 0.
        message = "qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory\n"
        rc, out, err = self.run_fake({"stderr": message, "exit": 1})
        self.assertEqual(rc, QEMU_FAILED, err)
        self.assertIn("QEMU failed (exit status 1) before the guest announced its exit status", err)
        self.assertIn("cannot set up guest memory 'pc.ram'", err.splitlines()[-1])

    def test_aarch64_qemu_failure_is_not_the_guest_status_1(self):
        rc, out, err = self.run_fake({"stderr": "qemu-system-aarch64: bad\n", "exit": 1}, arch="aarch64")
        self.assertEqual(rc, QEMU_FAILED, err)

    def test_announced_status_agreeing_with_isa_debug_exit(self):
        for status in (0, 1, 42, 64, 70, 127):
            rc, out, err = self.run_fake({"stdout": f"hello\nmica: exit status {status}\n",
                                          "exit": (status << 1) | 1})
            self.assertEqual(rc, status, err)
            self.assertEqual(out, "hello\n")  # the announcement is not passed on

    def test_statuses_above_127_come_from_the_announcement(self):
        rc, out, err = self.run_fake({"stdout": "mica: exit status 139\n", "exit": ((139 & 127) << 1) | 1})
        self.assertEqual(rc, 139, err)

    def test_announcement_disagreeing_with_qemu(self):
        rc, out, err = self.run_fake({"stdout": "mica: exit status 3\n", "exit": 1})
        self.assertEqual(rc, QEMU_FAILED)
        self.assertIn("does not match the guest's exit status 3", err)

    def test_semihosting_status(self):
        for status in (0, 1, 70, 139):
            rc, out, err = self.run_fake({"stdout": f"mica: exit status {status}\r\n", "exit": status}, arch="aarch64")
            self.assertEqual(rc, status, err)

    def test_reset_or_power_off_carries_the_announced_status(self):
        for arch in ("x86_64", "aarch64"):
            rc, out, err = self.run_fake({"stdout": "PANIC: x\nmica: exit status 70\n", "exit": 0}, arch=arch)
            self.assertEqual(rc, 70, err)

    def test_stop_without_announcement_is_a_failure(self):
        rc, out, err = self.run_fake({"stdout": "booting...\n", "exit": 0})
        self.assertEqual(rc, QEMU_FAILED)
        self.assertIn("without announcing an exit status", err)

    def test_qemu_killed_by_a_signal(self):
        rc, out, err = self.run_fake({"stdout": "mica: exit status 0\n", "signal": signal.SIGSEGV})
        self.assertEqual(rc, QEMU_FAILED)
        self.assertIn("QEMU was killed by signal", err)

    def test_output_is_passed_through_exactly(self):
        text = "line one\r\nno newline at the end"
        rc, out, err = self.run_fake({"stdout": text + "\nmica: exit status 0\n", "exit": 1})
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, text + "\n")
        # Text that only looks like the announcement stays.
        rc, out, err = self.run_fake({"stdout": "say mica: exit status 5 twice\nmica: exit status 0\n", "exit": 1})
        self.assertEqual(out, "say mica: exit status 5 twice\n")
        # The application may print the line too; the kernel's comes last and wins.
        rc, out, err = self.run_fake({"stdout": "mica: exit status 9\nmica: exit status 0\n", "exit": 1})
        self.assertEqual(rc, 0, err)

    def test_timeout_kills_qemu(self):
        pidfile = os.path.join(self.dir.name, "qemu.pid")
        p = self.start({"sleep": 1000, "pidfile": pidfile}, extra=["--timeout", "2"])
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 124)
        self.assertIn("timeout: guest still running after 2 s; killed", err.decode())
        if os.path.exists(pidfile):  # (a loaded host may not even have started it by then)
            with open(pidfile) as f:
                qemu = int(f.read())
            wait_until(lambda: process_gone(qemu), "QEMU to end")

    def check_signal_ends_qemu(self, signum):
        pidfile = os.path.join(self.dir.name, "qemu.pid")
        p = self.start({"stdout": "running\n", "sleep": 1000, "pidfile": pidfile})
        wait_until(lambda: os.path.exists(pidfile), "QEMU to start")
        with open(pidfile) as f:
            qemu = int(f.read())
        p.send_signal(signum)
        p.communicate(timeout=120)
        self.assertEqual(p.returncode, -signal.SIGKILL if signum == signal.SIGKILL else 128 + signum)
        wait_until(lambda: process_gone(qemu), f"QEMU to end after tools/run got {signal.Signals(signum).name}")

    def test_sigterm_ends_qemu(self):
        self.check_signal_ends_qemu(signal.SIGTERM)

    def test_sigint_ends_qemu(self):
        self.check_signal_ends_qemu(signal.SIGINT)

    def test_sighup_ends_qemu(self):
        self.check_signal_ends_qemu(signal.SIGHUP)

    def test_sigkill_ends_qemu(self):
        self.check_signal_ends_qemu(signal.SIGKILL)


class RealQemu(unittest.TestCase):
    def build(self, arch):
        if arch not in BUILD_DIRS:
            self.skipTest(f"no {arch} build directory given (--{arch})")
        return BUILD_DIRS[arch]

    def run_real(self, arch, *args):
        p = subprocess.run([sys.executable, RUN, "-O", self.build(arch), "--accel", "tcg", "--timeout", "120", *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def test_guest_statuses(self):
        for arch in ("x86_64", "aarch64"):
            if arch not in BUILD_DIRS:
                continue
            rc, out, err = self.run_real(arch)
            self.assertEqual(rc, 0, out + err)
            self.assertNotIn("mica: exit status", out)
            rc, out, err = self.run_real(arch, "-e", "--bogus")
            self.assertEqual(rc, 64, out + err)
        if not BUILD_DIRS:
            self.skipTest("no build directory given")

    def test_unknown_machine(self):
        for arch in ("x86_64", "aarch64"):
            if arch not in BUILD_DIRS:
                continue
            rc, out, err = self.run_real(arch, "--machine", "no-such-machine")
            self.assertEqual(rc, QEMU_FAILED, out + err)
            self.assertIn("unsupported machine type", err)
        if not BUILD_DIRS:
            self.skipTest("no build directory given")

    def test_more_memory_than_the_host_has(self):
        # The issue's `-m 100G`, made larger than any test machine: QEMU cannot allocate it.
        # (With vm.overcommit_memory=1 the host would promise it and QEMU would start.)
        with open("/proc/sys/vm/overcommit_memory") as f:
            if f.read().strip() == "1":
                self.skipTest("vm.overcommit_memory=1: the host promises any amount")
        for arch in ("x86_64", "aarch64"):
            if arch not in BUILD_DIRS:
                continue
            rc, out, err = self.run_real(arch, "-m", "64T")
            self.assertEqual(rc, QEMU_FAILED, out + err)
            self.assertIn("cannot set up guest memory", err.splitlines()[-1])
        if not BUILD_DIRS:
            self.skipTest("no build directory given")

    def test_killing_tools_run_ends_a_running_guest(self):
        build = self.build("x86_64")
        if not os.path.exists("/bin/busybox"):
            self.skipTest("no /bin/busybox (busybox-static)")
        for signum in (signal.SIGTERM, signal.SIGKILL):
            p = subprocess.Popen([sys.executable, RUN, "-O", build, "--accel", "tcg", "--timeout", "300",
                                  "--app", "/bin/busybox", "--", "sleep", "1000"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            banner = p.stdout.readline()  # the guest is up
            self.assertTrue(banner.startswith(b"Mica "), banner)
            children = []
            for task in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{task}/children") as f:
                    children += [int(c) for c in f.read().split()]
            self.assertEqual(len(children), 1, children)
            p.send_signal(signum)
            p.communicate(timeout=120)
            wait_until(lambda: process_gone(children[0]), f"QEMU to end after {signal.Signals(signum).name}")


def main():
    argv = [sys.argv[0]]
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--x86_64", "--aarch64"):
            BUILD_DIRS[arg[2:]] = next(args)
        else:
            argv.append(arg)
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
