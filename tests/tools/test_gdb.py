#!/usr/bin/python3
"""tools/gdb and tools/gdb-mica.py against a stopped guest (label "tools").

  test_gdb.py [--x86_64 BUILD_DIR] [--aarch64 BUILD_DIR] [unittest options] [TEST...]

Each architecture whose build directory is given boots gdb_blocked.c (built here as a
static PIE, so the kernel loads it at a bias) on two CPUs; tools/gdb attaches once the
program prints "gdb-test: ready" (its main thread then blocks reading a pipe, its second
thread "gdb-sleeper" sleeps) and runs a gdb -batch script: mica threads -bt, bt, mica thread
(the main thread's stack), mica runqueues, mica vmas, mica processes, mica trace, and a bad
thread number last. The output must name the application's threads in their states, both
CPUs' idle threads, backtraces through kernel functions (and on x86_64 on into the
application's own functions, whose symbols must have been loaded at the kernel's bias), the
program's areas, and the bad number's error. Every step has a timeout: tools/gdb's own
(which ends GDB and QEMU) and this script's around it.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
TOOLS_GDB = os.path.join(SOURCE_DIR, "tools", "gdb")
PROGRAM = os.path.join(HERE, "gdb_blocked.c")
BUILD_DIRS = {}
SESSION_TIMEOUT = 400          # tools/gdb --timeout: the guest and GDB together
BACKSTOP = SESSION_TIMEOUT + 60  # this script's, should tools/gdb itself hang
COMPILERS = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc"}
NO_SUCH_THREAD = 987654

# "gdb-test: ready" comes before the main thread reaches its read and perhaps before the
# sleeper has named itself and gone to sleep: GDB may stop the guest in between (a loaded
# host can hold the vCPUs back while GDB starts). So the script first lets the guest run on
# until both are where the checks expect them and off their CPUs: a breakpoint where a CPU
# has just switched to its idle thread (IDLE_LINE: idle_loop's line after its schedule(),
# past the switch), which stops the guest only once that holds. (Not in wait_for_interrupt:
# an aarch64 CPU parked on its wfi would be single-stepped there, alone, and never wake.)
IDLE_SOURCE = os.path.join("kernel", "sched", "scheduler.cc")
IDLE_MARK = "schedule(c);  // local work, else stolen work, else back here"


def idle_line():
    with open(os.path.join(SOURCE_DIR, IDLE_SOURCE)) as f:
        for number, line in enumerate(f, 1):
            if IDLE_MARK in line:
                return number + 1
    raise AssertionError(f"{IDLE_SOURCE} has no line {IDLE_MARK!r} (test_gdb.py's breakpoint goes after it)")


SETTLE = """\
python
def _settled():
    named = {t.name: t for t in all_threads()}
    main, sleeper = named.get("main"), named.get("gdb-sleeper")
    return bool(main and sleeper and main.state == "blocked" and sleeper.state == "sleeping"
                and not int(main.value["on_cpu"]) and not int(sleeper.value["on_cpu"]))
class _Settled(gdb.Breakpoint):
    def stop(self):
        return _settled()
if not _settled():
    print("test_gdb: the threads are not settled yet: running on until they are")
    settled = _Settled("scheduler.cc:IDLE_LINE", internal=True)
    gdb.execute("continue")
    settled.delete()
end
"""

SCRIPT = SETTLE + f"""\
mica threads -bt
echo ==bt==\\n
bt
echo ==processes==\\n
mica processes
echo ==thread-main==\\n
python gdb.execute("mica thread %d" % next(t.id for t in all_threads() if t.name == "main"))
bt
mica thread restore
echo ==runqueues==\\n
mica runqueues
echo ==vmas==\\n
mica vmas
echo ==trace==\\n
mica trace TRACE_FILE
echo ==bad==\\n
mica thread {NO_SUCH_THREAD}
"""


def section(output, name):
    """The text after the "==name==" marker up to the next marker."""
    m = re.search(rf"^=={name}==\n(.*?)(?=^==[a-z-]+==$|\Z)", output, re.S | re.M)
    return m.group(1) if m else ""


class GdbSession(unittest.TestCase):
    def session(self, arch):
        if arch not in BUILD_DIRS:
            self.skipTest(f"no {arch} build directory given (--{arch})")
        build = BUILD_DIRS[arch]
        if not os.path.isfile(os.path.join(build, "kernel.elf")):
            self.skipTest(f"{build} has no kernel.elf")
        gdb = "gdb" if os.uname().machine == arch else "gdb-multiarch"
        if not shutil.which(gdb):
            self.fail(f"{gdb} is missing: tools/install-deps installs it")
        compiler = COMPILERS[arch]
        if not shutil.which(compiler):
            self.skipTest(f"no {compiler}")
        work = tempfile.mkdtemp(prefix="mica-test-gdb-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        program = os.path.join(work, "gdb_blocked")
        subprocess.run([compiler, "-static-pie", "-g", "-O1", "-fno-omit-frame-pointer", "-pthread",
                        "-o", program, PROGRAM], check=True)
        script = os.path.join(work, "session.gdb")
        trace = os.path.join(work, "rings.trace")
        with open(script, "w") as f:
            f.write(SCRIPT.replace("TRACE_FILE", trace).replace("IDLE_LINE", str(idle_line())))
        self.trace_file = trace
        cmd = [sys.executable, TOOLS_GDB, "-O", build, "--app", program, "--smp", "2", "-k", "--trace=sched.*,syscall.*",
               "--attach-when", "gdb-test: ready", "--batch", script, "--timeout", str(SESSION_TIMEOUT)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=BACKSTOP, stdin=subprocess.DEVNULL)
        output = r.stdout + r.stderr
        print(output)
        return r.returncode, output

    def check(self, arch):
        status, out = self.session(arch)
        self.assertIn("gdb-test: ready", out, "the program never got going")
        # The last command fails (no such thread): GDB's batch status says so.
        self.assertEqual(status, 1, "gdb -batch should fail on the bad thread number, and only there")
        self.assertIn(f"no thread {NO_SUCH_THREAD}", section(out, "bad"))
        threads = out.split("==bt==")[0]
        lines = [l for l in threads.splitlines() if re.match(r"^\s+\d+\s+\S", l)]
        def line_of(name):
            found = [l for l in lines if re.match(rf"^\s+\d+\s+{re.escape(name)}\s", l)]
            self.assertTrue(found, f"mica threads lists no thread {name!r}:\n{threads}")
            return found
        main = line_of("main")[0]
        self.assertRegex(main, r"\bblocked\b.*\bapp\b.*\btid 1 pid 1\b")
        self.assertRegex(line_of("gdb-sleeper")[0], r"\bsleeping\b.*\bapp\b.*\btid 2 pid 1\b")
        idle = line_of("idle")
        self.assertEqual(len(idle), 2, "one idle thread per CPU (--smp 2)")
        self.assertTrue(any("running" in l for l in idle))
        self.assertRegex(threads, r"\n\d+ threads\n")
        # Backtraces with kernel function names: the blocked main thread is in read(2).
        main_bt = threads.split(main, 1)[1].split("\n    ", 1)[0]
        for frame in ("mica::sched::WaitQueue::wait", "sys_read", "mica::abi::dispatch"):
            self.assertIn(frame, main_bt, f"main's backtrace lacks {frame}")
        self.assertIn("mica::sched::sleep_ns", threads)
        self.assertIn("idle_loop", threads)
        self.assertRegex(section(out, "bt"), r"#0\s+\S")
        # Application symbols at the kernel's load bias (a static PIE: never 0).
        processes = section(out, "processes")
        m = re.search(r"pid 1 ppid 0 /bin/gdb_blocked: load bias (0x[0-9a-f]+)", processes)
        self.assertTrue(m, processes)
        self.assertNotEqual(int(m.group(1), 16), 0)
        self.assertIn(f"loaded at bias {m.group(1)}", out)
        thread_main = section(out, "thread-main")
        self.assertRegex(thread_main, r"\[thread \d+ main, blocked\]")
        self.assertIn("sys_read", thread_main)
        if arch == "x86_64":
            # Through the system-call frame into the application (tools/gdb-mica.py's unwinder).
            self.assertIn("wait_on_pipe", thread_main)
            self.assertRegex(thread_main, r"in main \(\) at .*gdb_blocked\.c")
            self.assertIn("wait_on_pipe", main_bt)
        self.assertIn("registers restored", out)
        runqueues = section(out, "runqueues")
        self.assertRegex(runqueues, r"cpu 0: current \d+ ")
        self.assertRegex(runqueues, r"cpu 1: current \d+ ")
        self.assertRegex(runqueues, r"sleeping: \d+ gdb-sleeper")
        vmas = section(out, "vmas")
        self.assertRegex(vmas, r"pid 1 /bin/gdb_blocked: \d+ areas")
        bias = int(m.group(1), 16)
        self.assertRegex(vmas, rf"{bias:#018x}-0x[0-9a-f]+ r[w-][x-]p .* image")  # the program's first segment
        self.assertRegex(vmas, r"r-xp .* image")
        self.assertRegex(vmas, r"rw-p .* stack")
        # The rings of the stopped guest as a trace file, which tools/trace reads: the
        # program's system calls and the scheduler's switches are in it.
        self.assertRegex(section(out, "trace"), r"mica trace: \d+ records from 2 CPUs")
        r = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "tools", "trace"), "summary", self.trace_file,
                            "-O", BUILD_DIRS[arch]], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        for point in ("sched.switch", "syscall.entry", "sched.thread_name"):
            self.assertRegex(r.stdout, rf"\n{re.escape(point)}\s+[1-9]", f"tools/trace summary:\n{r.stdout}")

    def test_x86_64(self):
        self.check("x86_64")

    def test_aarch64(self):
        self.check("aarch64")


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
