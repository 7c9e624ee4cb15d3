"""The guest of the network tests, driven from the host (net_test.py, tests/apps/net_app_test.py):
tools/run in the background with its console collected line by line, host ports for
--forward (picked again when another process takes one first), exact reads.
"""
import queue
import re
import socket
import subprocess
import sys
import threading
import time


class Failure(Exception):
    pass


def free_ports(count):
    """Ports the host has free now (bound and released: QEMU binds them a moment later, and
    another process may take one in between: start_forwarded handles that)."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# QEMU's message when a --forward port is taken by the time it binds it (it then exits at once).
FORWARD_PORT_TAKEN = "Could not set up host forwarding rule"
FORWARD_ATTEMPTS = 5


def start_forwarded(count, start, ready):
    """Starts a guest whose --forward ports are `count` free host ports: start(ports) returns
    the Guest, ready(guest, ports) waits until it serves and returns what it found. A port
    free when picked can be taken by another process (tests run in parallel) before QEMU binds
    it: QEMU then refuses to start, naming the rule, and the guest is started again on new
    ports. Any other failure is the test's. Returns (guest, ports, what ready returned)."""
    for attempt in range(1, FORWARD_ATTEMPTS + 1):
        ports = free_ports(count)
        g = start(ports)
        try:
            return g, ports, ready(g, ports)
        except (Failure, OSError):
            # A guest still running failed on its own; one that ended (its console may have
            # ended before the process was reaped) is reaped and its console read to the end.
            if g.proc.poll() is None and FORWARD_PORT_TAKEN not in g.output():
                g.proc.kill()
            g.finish(30)
            taken = FORWARD_PORT_TAKEN in g.output()
            if not taken or attempt == FORWARD_ATTEMPTS:
                print(g.output())
                raise
            print(f"net_test: a forwarded port of {ports} was taken before QEMU bound it: "
                  f"starting again on new ports ({attempt} of {FORWARD_ATTEMPTS})")


class Guest:
    """tools/run in the background; its console collected line by line."""

    def __init__(self, a, cmdline, run_args, net="user"):
        self.cmd = [sys.executable, a.run, "-O", a.build_dir, "--machine", a.machine, "--accel", "tcg",
                    "--timeout", str(a.timeout), "--smp", str(a.smp), "--net", net] + a.run_arg + run_args
        self.cmd.append("--cmdline=" + " ".join(a.kernel_arg + cmdline))
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.lines = []
        self.arrived = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.lines.append(line)
            self.arrived.put(line)
        self.arrived.put(None)

    def wait_for(self, pattern, timeout):
        """The first console line (seen so far or coming) matching `pattern`."""
        rx = re.compile(pattern)
        for line in list(self.lines):
            if rx.search(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"no console line matching /{pattern}/ within {timeout:g} s")
            try:
                line = self.arrived.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise Failure(f"the guest stopped before printing /{pattern}/")
            if rx.search(line):
                return line

    def finish(self, timeout):
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"the guest did not stop within {timeout:g} s")
        self.reader.join(5)
        return status

    def output(self):
        return "\n".join(self.lines)


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(1 << 16, n - len(out)))
        if not chunk:
            raise Failure(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)
