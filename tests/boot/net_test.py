#!/usr/bin/python3
"""Network boot tests: a Mica kernel with a virtio NIC on QEMU user networking (restrict=on,
so nothing leaves QEMU but the forwarded ports on 127.0.0.1), driven from the host.

  net_test.py --run tools/run --build-dir DIR --machine M --scenario S [--smp N]
              [--run-arg ARG ...] [--kernel-arg ARG ...] [--timeout SECONDS]

Scenarios (each checks the console, the guest's exit status and, where the host takes part,
the bytes):
  ping      the DHCP lease line (address, gateway, name server, MAC) and --test-ping of the
            gateway (four sizes, one fragmented both ways)
  echo      --test-net-echo through --forward: several connections at once, a transfer of
            several MiB both ways at once, a peer that resets in the middle of a transfer,
            the service still answering after it, then the control port's summary, whose
            counts must match what the host did
  connect   --test-net-connect: the guest connects to a host echo server through
            --guest-forward and checks several MiB coming back
  connect-reset
            the same against a host server that resets the connection mid-transfer: the
            guest reports it (status 1) and does not hang
  tap-ping  tools/run --net tap with its own namespace: the --ip line and a ping of the host
            side (root only, else skipped with status 77)
  tap-echo  the echo workout over a tap device in a network namespace the test creates (root
            only, else skipped with status 77): real resets, checksum offload both ways, 1 MiB
            from the source port, TSO frames sent (none with --kernel-arg=--virtio-net-tso=off);
            --jumbo adds MTU 9000 (frames spanning several mergeable buffers)
  link      the echo service while QEMU's monitor takes the link down and up: the guest
            reports both changes and still serves
Exit status 0 when every check passed; the whole console output is printed either way.
"""
import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from net_guest import Failure, Guest, recv_exact, start_forwarded

GATEWAY = "192.0.2.2"
HOST_SERVICES = "192.0.2.4"  # tools/run --guest-forward
ECHO_PORT, CONTROL_PORT, SOURCE_PORT, STATUS_PORT, GUEST_SERVICE_PORT = 7, 8, 10, 11, 7000
SETTLE_TIMEOUT = 60  # seconds for the guest to see every connection end
MIB = 1 << 20


def open_echo(port, host="127.0.0.1"):
    """A connection to the echo service, known to reach the guest: one byte has gone round.
    (QEMU's user network accepts forwarded connections with a listen backlog of 1, so
    connections opened all at once can overflow the host's accept queue; opened this way,
    one after the other, they cannot.)"""
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(b"\x5a")
    expect(recv_exact(s, 1) == b"\x5a", "the first byte did not come back")
    return s


def echo_transfer(port, data, chunk=1 << 16, host="127.0.0.1", s=None):
    """Sends `data` while reading the echo in another thread; checks it and the end of stream."""
    s = s or socket.create_connection((host, port), timeout=60)
    got = bytearray()
    problem = []

    def reader():
        try:
            while True:
                b = s.recv(1 << 16)
                if not b:
                    break
                got.extend(b)
        except OSError as e:
            problem.append(str(e))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    for i in range(0, len(data), chunk):
        s.sendall(data[i:i + chunk])
    s.shutdown(socket.SHUT_WR)
    t.join(120)
    s.close()
    if t.is_alive():
        raise Failure(f"the echo of {len(data)} bytes did not end within 120 s ({len(got)} back)")
    if problem:
        raise Failure(f"reading the echo failed: {problem[0]}")
    if bytes(got) != data:
        first = next((i for i in range(min(len(got), len(data))) if got[i] != data[i]), min(len(got), len(data)))
        raise Failure(f"the echo differs: {len(got)} bytes back for {len(data)}, first difference at {first}")


def reset_mid_transfer(port, total, host="127.0.0.1"):
    """Sends `total` bytes while reading the echo; once some echo came back (the transfer is
    under way), resets the connection (RST: SO_LINGER 0). The echo keeps being drained until
    then: QEMU's user network passes a reset on to the guest only while it reads from the
    host socket, which it stops doing when the data for the host backs up (then the guest
    sees an ordinary end of stream). Returns the bytes sent."""
    s = socket.create_connection((host, port), timeout=60)
    data = os.urandom(total)
    sent = [0]
    stop = threading.Event()

    def writer():
        try:
            for i in range(0, total, 1 << 14):
                if stop.is_set():
                    break
                s.sendall(data[i:i + (1 << 14)])
                sent[0] = i + len(data[i:i + (1 << 14)])
        except OSError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = 0
    while got < total // 4:
        b = s.recv(1 << 16)
        if not b:
            raise Failure("the echo ended before the reset")
        got += len(b)
    stop.set()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST: unread echo and unsent data are thrown away
    t.join(30)
    return total


def summary(port, host="127.0.0.1"):
    """The control port's line (closing the connection then stops the guest), or the status
    port's (the service goes on)."""
    s = socket.create_connection((host, port), timeout=60)
    text = b""
    while not text.endswith(b"\n"):
        b = s.recv(4096)
        if not b:
            break
        text += b
    s.close()
    m = re.match(r"echo: (\d+) connections, (\d+) closed, (\d+) reset by the peer, (\d+) aborted, (\d+) refused, "
                 r"(\d+) bytes received, (\d+) echoed, (\d+) datagrams echoed", text.decode(errors="replace"))
    if not m:
        raise Failure(f"unexpected summary from the control port: {text!r}")
    keys = ["connections", "closed", "reset", "aborted", "refused", "received", "echoed", "datagrams"]
    return dict(zip(keys, map(int, m.groups())))


def expect(condition, what):
    if not condition:
        raise Failure(what)


def check_stats(guest):
    line = guest.wait_for(r"eth0 stats: ", 30)
    expect("FAILED" not in line, f"the driver failed: {line}")
    return line


def scenario_ping(a):
    g = Guest(a, ["--verbose", f"--test-ping={GATEWAY}"], [])
    try:
        g.wait_for(r"eth0: 192\.0\.2\.15/24 \(DHCP\), gateway 192\.0\.2\.2 \(--defaultgw\), "
                   r"name server 192\.0\.2\.3 \(--nameserver\), MAC 52:54:00:12:34:56, MTU 1500", 60)
        g.wait_for(r"ping 192\.0\.2\.2: 4 of 4 replies \(\d+ requests\): ok", 90)
        check_stats(g)
        status = g.finish(60)
        expect(status == 0, f"exit status {status}, expected 0")
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
        print(g.output())


def start_echo(a, extra=(), run_args=()):
    """The echo service behind forwarded ports: the guest, then the host's echo, control and
    status ports."""
    def start(ports):
        echo_host, control_host, status_host = ports
        return Guest(a, ["--verbose", f"--test-net-echo={ECHO_PORT}"] + list(extra),
                     [f"--forward={echo_host}:{ECHO_PORT}", f"--forward={control_host}:{CONTROL_PORT}",
                      f"--forward={status_host}:{STATUS_PORT}"] + list(run_args))

    def ready(g, ports):
        g.wait_for(r"test-net-echo: serving TCP and UDP echo on port 7", 90)

    g, (echo_host, control_host, status_host), _ = start_forwarded(3, start, ready)
    return g, echo_host, control_host, status_host


def settle(host, status, made):
    """Waits (bounded) until the guest has seen all `made` connections end: a reset the host
    sent may take a moment (the guest answers an in-window RST with a challenge ACK, RFC 5961,
    and takes the exact one that comes back)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        s = summary(status, host=host)
        if s["closed"] + s["reset"] + s["aborted"] >= made or time.monotonic() > deadline:
            return s
        time.sleep(0.2)


def udp_echo(host, port, sizes):
    """Datagrams of each size to the UDP echo, each answered with the same bytes (resent a few
    times: UDP may drop, though nothing here should)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        for size in sizes:
            data = os.urandom(size)
            for attempt in range(5):
                s.sendto(data, (host, port))
                try:
                    back, _ = s.recvfrom(65536)
                except socket.timeout:
                    continue
                expect(back == data, f"the UDP echo of {size} bytes differs ({len(back)} bytes back)")
                break
            else:
                raise Failure(f"no UDP echo of {size} bytes")
    finally:
        s.close()
    return len(sizes)


def echo_exercise(g, host, port, control, status, a, reset_reaches_guest, datagram_sizes=()):
    """The echo service's workout (scenarios echo and tap-echo); returns the driver's stats line."""
    datagrams = udp_echo(host, port, datagram_sizes)
    # Several connections at once.
    workers, errors = [], []
    pieces = [os.urandom(n) for n in (1, 1000, 65536, 300000, 700000, 1 * MIB)]

    def run(data, connection):
        try:
            echo_transfer(port, data, host=host, s=connection)
        except (Failure, OSError) as e:
            errors.append(str(e))

    connections = [open_echo(port, host) for _ in pieces]
    for data, connection in zip(pieces, connections):
        t = threading.Thread(target=run, args=(data, connection), daemon=True)
        t.start()
        workers.append(t)
    for t in workers:
        t.join(300)
    expect(not any(t.is_alive() for t in workers), "concurrent connections did not finish")
    expect(not errors, f"concurrent connections: {errors}")
    # A large transfer, both ways at once.
    big = os.urandom(a.bytes)
    start = time.monotonic()
    echo_transfer(port, big, host=host)
    print(f"net_test: {len(big)} bytes echoed in {time.monotonic() - start:.2f} s")
    # A peer that resets in the middle of a transfer, then the service still answers.
    reset_sent = reset_mid_transfer(port, 4 * MIB, host=host)
    after = os.urandom(100000)
    echo_transfer(port, after, host=host)
    complete = sum(map(len, pieces)) + len(big) + len(after)
    made = len(pieces) + 3
    settle(host, status, made)
    s = summary(control, host=host)
    print(f"net_test: summary {s}")
    expect(s["connections"] == made, f"{s['connections']} connections seen, {made} made")
    if reset_reaches_guest:
        expect(s["reset"] == 1, f"{s['reset']} reset by the peer, expected 1")
    else:
        # QEMU's user network ends the guest's side with a FIN when the host resets (and
        # answers the guest's further segments with RST): seen as a close, or as a reset.
        expect(s["reset"] <= 1, f"{s['reset']} reset by the peer, expected at most 1")
    expect(s["closed"] + s["reset"] == made, f"{s['closed']} closed and {s['reset']} reset of {made}")
    expect(s["aborted"] == 0 and s["refused"] == 0, "connections aborted or refused by the guest")
    complete += len(pieces)  # the first byte of each concurrent connection (open_echo)
    expect(complete < s["received"] <= complete + reset_sent,
           f"{s['received']} bytes received, expected {complete} plus part of {reset_sent}")
    expect(s["echoed"] >= complete, f"{s['echoed']} bytes echoed, expected at least {complete}")
    expect(s["datagrams"] >= datagrams, f"{s['datagrams']} datagrams echoed, expected {datagrams}")
    g.wait_for(r"test-net-echo: echo: ", 30)
    line = check_stats(g)
    status = g.finish(60)
    expect(status == 0, f"exit status {status}, expected 0")
    return line


def scenario_echo(a):
    g, port, control, status = start_echo(a, run_args=a.capture_args)
    try:
        line = echo_exercise(g, "127.0.0.1", port, control, status, a, reset_reaches_guest=False)
        if a.expect_merged:
            expect(re.search(r"rx \d+ frames \([1-9]\d* merged", line), f"no frame spanned several buffers: {line}")
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
        print(g.output())


def scenario_tap_ping(a):
    """tools/run --net tap as it is: its own namespace and tap0 (192.0.2.1 on the host side),
    the guest configured with --ip and --defaultgw by tools/run; the guest pings the host's
    side, which the namespace's Linux answers (root only, else skipped)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("SKIPPED: needs root and iproute2 (a network namespace with a tap device)")
        return 77
    g = Guest(a, ["--verbose", "--test-ping=192.0.2.1"], [], net="tap")
    try:
        g.wait_for(r"eth0: 192\.0\.2\.15/24 \(--ip\), gateway 192\.0\.2\.1 \(--defaultgw\), name server none, "
                   r"MAC 52:54:00:12:34:56", 60)
        g.wait_for(r"ping 192\.0\.2\.1: 4 of 4 replies \(\d+ requests\): ok", 90)
        line = check_stats(g)
        status = g.finish(60)
        expect(status == 0, f"exit status {status}, expected 0")
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
        print(g.output())
    return 0


CLONE_NEWNET = 0x40000000
TAP_GUEST = "192.0.2.15"


def enter_namespace(name):
    """Moves this thread (and the threads and processes it starts later) into network
    namespace `name`."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise Failure(f"setns: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def scenario_tap_echo(a):
    """The echo workout over a tap device in a network namespace made for the test: the host
    kernel's TCP talks to the guest directly (a reset is a reset), and QEMU's tap backend has
    virtio-net's offloads, so checksum offload is used both ways. --jumbo: MTU 9000 on both
    sides, so received frames span several mergeable buffers."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("SKIPPED: needs root and iproute2 (a network namespace with a tap device)")
        return 77
    name = f"mica-net-test-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name]).returncode != 0:
        raise Failure("cannot create a network namespace")
    g = None
    try:
        enter_namespace(name)
        run_args = []
        if a.jumbo:
            device = "virtio-net-device" if "--nic=mmio" in a.run_arg or a.machine.startswith("microvm") else "virtio-net-pci"
            run_args = ["--qemu=-global", f"--qemu={device}.host_mtu=9000"]
        g = Guest(a, ["--verbose", f"--test-net-echo={ECHO_PORT}"], run_args, net=f"tap:{name}")
        g.wait_for(r"test-net-echo: serving TCP and UDP echo on port 7", 90)
        if a.jumbo:
            subprocess.run(["ip", "link", "set", "tap0", "mtu", "9000"], check=True)
            g.wait_for(r"eth0: .*virtio-net .* MTU 9000", 5)
        # 1 MiB from the source port: the service writes all it may at once, so its first
        # flights leave in runs of full segments (TSO frames where the device offers TSO;
        # the echo's own segments are merged only when timing batches them).
        with socket.create_connection((TAP_GUEST, SOURCE_PORT), timeout=60) as s:
            recv_exact(s, MIB)
        # Datagrams up to the largest the MTU carries whole, and some IP fragments both ways.
        sizes = [1, 1000, 1472, 4000, 8000] + ([8972] if a.jumbo else [])
        line = echo_exercise(g, TAP_GUEST, ECHO_PORT, CONTROL_PORT, STATUS_PORT, a, reset_reaches_guest=True,
                             datagram_sizes=sizes)
        expect(re.search(r"[1-9]\d* checksums verified", line), f"no received checksum was left to the device: {line}")
        expect(re.search(r"[1-9]\d* checksums offloaded", line), f"no sent checksum was left to the device: {line}")
        if "--virtio-net-tso=off" in a.kernel_arg:
            expect(re.search(r" 0 TSO frames", line), f"TSO was used though turned off: {line}")
        else:  # QEMU's tap backend offers HOST_TSO4: runs of segments went as one frame
            expect(re.search(r"[1-9]\d* TSO frames of \d+ segments", line), f"no TSO frame was sent: {line}")
        if a.jumbo:
            expect(re.search(r"rx \d+ frames \([1-9]\d* merged", line), f"no frame spanned several buffers: {line}")
    finally:
        if g and g.proc.poll() is None:
            g.proc.kill()
        subprocess.run(["ip", "netns", "del", name])
        if g:
            print(g.output())
    return 0


def echo_server(listener, reset_after=None):
    """Serves one connection on `listener` (a thread): echoes, or resets after some bytes."""
    def serve():
        try:
            c, _ = listener.accept()
        except OSError:
            return
        c.settimeout(120)
        seen = 0
        try:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                seen += len(b)
                c.sendall(b)
                if reset_after is not None and seen >= reset_after:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        except OSError:
            pass
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def scenario_connect(a, reset=False):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    host_port = listener.getsockname()[1]
    total = a.bytes
    server = echo_server(listener, reset_after=(total // 3 if reset else None))
    g = Guest(a, ["--verbose", f"--test-net-connect={HOST_SERVICES}:{GUEST_SERVICE_PORT},{total}"],
              [f"--guest-forward={GUEST_SERVICE_PORT}:{host_port}"])
    try:
        g.wait_for(rf"test-net-connect: connected to 192\.0\.2\.4:{GUEST_SERVICE_PORT}", 90)
        if reset:
            # QEMU's guestfwd passes neither the reset nor an end of stream on (its character
            # device just goes quiet): the guest must give up on its own, not hang.
            g.wait_for(r"test-net-connect: (connection reset by the peer|no progress for 30 s) after \d+ of \d+ bytes",
                       150)
            g.wait_for(r"test-net-connect: .* FAILED", 30)
        else:
            g.wait_for(rf"test-net-connect: {total} bytes sent, {total} received and checked: ok", 300)
        check_stats(g)
        status = g.finish(60)
        want = 1 if reset else 0
        expect(status == want, f"exit status {status}, expected {want}")
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
        listener.close()
        server.join(5)
        print(g.output())


MONITOR_PROMPT = b"(qemu) "


def monitor_command(path, command):
    """Runs an HMP command on QEMU's monitor socket: returns once the monitor has carried it
    out (its next prompt), not after a guess at how long that takes."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(path)

    def until_prompt(what):
        text = b""
        while not text.endswith(MONITOR_PROMPT):
            chunk = s.recv(4096)
            if not chunk:
                raise Failure(f"QEMU's monitor closed the connection {what}: {text!r}")
            text += chunk
        return text

    try:
        until_prompt("before its prompt")  # the banner and the first prompt
        s.sendall(command.encode() + b"\n")
        until_prompt(f"during '{command}'")  # (its line editor's echo, then the next prompt)
    finally:
        s.close()
    print(f"net_test: monitor: {command}: done")


def scenario_link(a):
    directory = tempfile.mkdtemp(prefix="mica-net-test-")
    path = os.path.join(directory, "monitor")
    g, port, control, _ = start_echo(a, run_args=["--qemu=-monitor", f"--qemu=unix:{path},server=on,wait=off"])
    try:
        echo_transfer(port, os.urandom(100000))
        monitor_command(path, "set_link nic0 off")
        g.wait_for(r"mica: eth0: link down", 60)
        monitor_command(path, "set_link nic0 on")
        g.wait_for(r"mica: eth0: link up", 60)
        echo_transfer(port, os.urandom(300000))
        s = summary(control)
        expect(s["closed"] == 2, f"{s['closed']} connections closed, expected 2")
        line = check_stats(g)
        expect(re.search(r"[1-9]\d* config interrupts, 2 link changes", line), f"link changes not counted: {line}")
        status = g.finish(60)
        expect(status == 0, f"exit status {status}, expected 0")
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
        shutil.rmtree(directory, ignore_errors=True)
        print(g.output())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="path to tools/run")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--scenario", required=True,
                    choices=["ping", "echo", "connect", "connect-reset", "link", "tap-echo", "tap-ping"])
    ap.add_argument("--jumbo", action="store_true", help="tap-echo: MTU 9000 on both sides")
    ap.add_argument("--expect-merged", action="store_true",
                    help="echo: some received frames must span several buffers (small --virtio-net-rx-buffer)")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=240, help="tools/run's timeout for the guest")
    ap.add_argument("--bytes", type=int, default=6 * MIB, help="the large transfer's size")
    ap.add_argument("--run-arg", action="append", default=[], help="passed to tools/run (e.g. --nic=mmio)")
    ap.add_argument("--kernel-arg", action="append", default=[], help="kernel option (e.g. --virtio-net-poll=off)")
    ap.add_argument("--capture", metavar="PCAP", help="record the guest's traffic (QEMU filter-dump) for debugging")
    a = ap.parse_args()
    a.capture_args = ["--qemu=-object", f"--qemu=filter-dump,id=capture,netdev=net0,file={a.capture}"] if a.capture else []
    run = {"ping": scenario_ping, "echo": scenario_echo, "connect": scenario_connect,
           "connect-reset": lambda a: scenario_connect(a, reset=True), "link": scenario_link,
           "tap-echo": scenario_tap_echo, "tap-ping": scenario_tap_ping}[a.scenario]
    try:
        if run(a) == 77:
            return 77
    except (Failure, OSError, subprocess.CalledProcessError) as e:
        print(f"FAILED: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
