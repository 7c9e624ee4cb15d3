#!/usr/bin/python3
"""Network applications on Mica, driven from the host through tools/run --net user --forward
(QEMU user networking with restrict=on: nothing leaves QEMU but the forwarded ports, bound to
127.0.0.1).

  net_app_test.py --run tools/run --build-dir DIR --machine M --scenario S --binary BIN
                  [--smp N] [--timeout SECONDS]

Scenarios:
  httpd        BIN is Debian's busybox: `httpd -f -p 80 -h /www` serves a tree the test wrote
               (a 612-byte page, 1 MiB of random bytes, a nested file); each is fetched and
               compared byte for byte, a missing one is a 404; the same host port is used
               again at once (the guest holds the old connection in TIME_WAIT); a client that
               vanishes in the middle of its request and one that resets in the middle of a
               download leave the server answering. The server never ends by itself: the
               test ends tools/run and checks the console for kernel errors.
  echo-server  BIN is tests/apps/net_echo_server.c: 16 connections echo 256 KiB each at
               once (bytes compared), a peer resets mid-transfer, another sends and vanishes
               without reading, 6 connections arrive while the server is not accepting (its
               backlog of 2 overflows; the stack drops the extra SYNs and the host's retries
               get through), then the server's counts are checked and `quit` ends it with
               status 0.
Exit status 0 when every check passed; the whole console is printed either way.
"""
import argparse
import errno
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "boot"))
from net_guest import Failure, Guest, free_ports, recv_exact, start_forwarded  # noqa: E402

GUEST_HTTP_PORT, GUEST_ECHO_PORT = 80, 7000
CONNECT_TIMEOUT = 60  # seconds: a SYN the guest dropped is retried by QEMU after 1, 3, 7 ... s
START = time.monotonic()
guests = []  # the scenario's guest, whose console main() prints


def expect(condition, what):
    if not condition:
        raise Failure(what)
    print(f"net_app_test: [{time.monotonic() - START:6.2f} s] {what}: yes")


def connect(port, source_port=0, timeout=CONNECT_TIMEOUT):
    s = socket.socket()
    if source_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", source_port))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def reset(s):
    """Closes with a reset (SO_LINGER with a zero timeout)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_all(s):
    chunks = []
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


# ---- httpd ------------------------------------------------------------------------------

def http_get(port, path, source_port=0, timeout=CONNECT_TIMEOUT):
    """(status, body) of one HTTP/1.0 request on its own connection."""
    with connect(port, source_port, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: mica\r\n\r\n".encode())
        answer = read_all(s)
    head, _, body = answer.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = first.split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise Failure(f"GET {path}: not an HTTP answer: {answer[:80]!r}")
    return int(parts[1]), body


def wait_for_http(port, g, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            # A short timeout: QEMU takes the connection before the guest listens, and a SYN
            # the guest dropped while starting would wait for QEMU's retry, 6 s later.
            return http_get(port, "/", timeout=0.5)
        except (OSError, Failure):
            if time.monotonic() > deadline or g.proc.poll() is not None:
                raise Failure(f"nothing answered on port {port} within {timeout:g} s")
            time.sleep(0.2)


def scenario_httpd(a):
    www = tempfile.mkdtemp(prefix="mica-www-")
    rng = random.Random(10)
    page = (b"<!DOCTYPE html>\n<html><head><title>Mica</title></head><body>\n"
            + b"<p>served by busybox httpd on Mica</p>\n" * 13 + b"</body></html>\n")
    page = page + b" " * (612 - len(page))
    files = {"/index.html": page, "/big.bin": rng.randbytes(1 << 20),
             "/sub/dir/page.txt": b"nested\n" * 100}
    for path, data in files.items():
        os.makedirs(os.path.dirname(www + path), exist_ok=True)
        with open(www + path, "wb") as f:
            f.write(data)
    def start(ports):
        guests.append(Guest(a, ["/bin/busybox", "httpd", "-f", "-p", str(GUEST_HTTP_PORT), "-h", "/www"],
                            ["--app", a.binary, "--app-path=/bin/busybox", f"--add={www}:/www",
                             f"--forward={ports[0]}:{GUEST_HTTP_PORT}"]))
        return guests[-1]

    g, (port,), (status, body) = start_forwarded(1, start, lambda g, ports: wait_for_http(ports[0], g, 90))
    try:
        expect(status == 200 and body == page, "GET / is index.html, 612 bytes")
        for path, data in files.items():
            status, body = http_get(port, path)
            expect(status == 200 and body == data, f"GET {path}: {len(data)} bytes, the same")
        status, _ = http_get(port, "/missing.html")
        expect(status == 404, "GET /missing.html: 404")
        # httpd closes first, so the guest keeps the connection in TIME_WAIT; QEMU connects to
        # the guest from the host client's own port, so the next connection reuses it.
        # Without Linux's TIME_WAIT rule the guest answers the SYN with an ACK, QEMU resets,
        # and the host's connection ends with ECONNRESET.
        for attempt in range(5):
            # (A source port free when picked may be taken by another process before the bind.)
            (source,) = free_ports(1)
            try:
                status, body = http_get(port, "/index.html", source_port=source)
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE or attempt == 4:
                    raise
        for _ in range(2):
            if status != 200 or body != page:
                break
            status, body = http_get(port, "/index.html", source_port=source)
        expect(status == 200 and body == page, "three requests in a row from the same host port")
        # A client that vanishes mid-request, one that resets mid-download.
        with connect(port) as s:
            s.sendall(b"GET /big.bin HT")
        s = connect(port)
        s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
        got = 0
        while got < 64 * 1024:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += len(chunk)
        reset(s)
        status, body = http_get(port, "/big.bin")
        expect(status == 200 and body == files["/big.bin"],
               "after a client vanished mid-request and one reset mid-download, GET /big.bin still the same")
    finally:
        g.proc.terminate()
        try:
            g.finish(30)
        except Failure:
            pass
    out = g.output()
    for bad in ("PANIC", "mica: error", "mica: warning", "killed by"):
        if bad in out:
            raise Failure(f"the console has '{bad}'")
    print("net_app_test: no kernel errors on the console: yes")
    return 0


# ---- echo-server -------------------------------------------------------------------------

def open_connection(port):
    """A connection QEMU has taken from its host socket: one byte has been echoed. (QEMU's user
    network listens on forwarded ports with a backlog of 1: connections opened all at once
    overflow it and wait for the host's SYN retries, 1, 3, 7 ... s.)"""
    s = connect(port)
    s.sendall(b"!")
    if recv_exact(s, 1) != b"!":
        raise Failure("the first byte did not come back")
    return s


def echo_check(s, data, results, index):
    """Sends `data` on `s` while reading the echo, half-closes, and records whether it all
    came back."""
    try:
        with s:
            def send():
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            sender = threading.Thread(target=send)
            sender.start()
            back = read_all(s)
            sender.join()
        results[index] = back == data or f"{len(back)} of {len(data)} bytes came back, the same: {back == data[:len(back)]}"
    except OSError as e:
        results[index] = repr(e)


def echo_all(sockets, payloads):
    """echo_check on every socket at once: the failures."""
    results = [None] * len(sockets)
    threads = [threading.Thread(target=echo_check, args=(s, p, results, i))
               for i, (s, p) in enumerate(zip(sockets, payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not True]


def control(port, line):
    with connect(port) as s:
        s.sendall(line.encode() + b"\n")
        if line == "quit":
            return ""
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(256)
            if not chunk:
                break
            answer += chunk
        return answer.decode().strip()


def stats(port):
    words = control(port, "stats").split()
    return dict(zip(words[::2], map(int, words[1::2])))


def scenario_echo_server(a):
    def start(ports):
        guests.append(Guest(a, ["/bin/net_echo_server", "-p", str(GUEST_ECHO_PORT), "-b", "2"],
                            ["--app", a.binary, f"--forward={ports[0]}:{GUEST_ECHO_PORT}",
                             f"--forward={ports[1]}:{GUEST_ECHO_PORT + 1}"]))
        return guests[-1]

    g, (echo, ctl), _ = start_forwarded(2, start, lambda g, ports: g.wait_for(r"net_echo_server: listening on port 7000", 90))
    made = 0
    try:
        rng = random.Random(7)
        payloads = [rng.randbytes(256 * 1024) for _ in range(16)]
        sockets = [open_connection(echo) for _ in payloads]
        made += len(payloads)
        bad = echo_all(sockets, payloads)
        expect(not bad, f"16 connections at once, 256 KiB each echoed byte for byte {bad[:2] if bad else ''}")
        # A reset in the middle of a transfer, and a peer that sends and vanishes.
        s = open_connection(echo)
        s.sendall(rng.randbytes(128 * 1024))
        recv_exact(s, 16 * 1024)
        reset(s)
        s = open_connection(echo)
        s.sendall(rng.randbytes(192 * 1024))
        s.close()
        made += 2
        bad = echo_all([open_connection(echo)], [b"still there"])
        made += 1
        expect(not bad, "after a reset and a vanished peer, a new connection is echoed")
        # The backlog (2) overflows while the server does not accept: the guest's stack drops
        # the extra SYNs, QEMU sends them again, and all get through once accepting resumes.
        expect(control(ctl, "pause 1000") == "paused 1000", "the server pauses accepting for 1 s")
        late = []
        for _ in range(6):
            late.append(connect(echo))
            time.sleep(0.05)  # one at a time into QEMU's host-side backlog of 1
        late_payloads = [f"late {i}".encode() * 100 for i in range(len(late))]
        made += len(late)
        bad = echo_all(late, late_payloads)
        expect(not bad, f"6 connections past a backlog of 2 all served once accepting resumes {bad[:2] if bad else ''}")
        s = stats(ctl)
        expect(s.get("accepted") == made, f"the server accepted every connection ({s.get('accepted')} of {made})")
        expected_bytes = sum(map(len, payloads)) + len(b"still there") + sum(map(len, late_payloads))
        expect(s.get("echoed", 0) >= expected_bytes, f"it echoed at least the {expected_bytes} bytes checked")
        control(ctl, "quit")
        status = g.finish(60)
    except BaseException:
        g.proc.terminate()
        try:
            g.finish(30)
        except Failure:
            pass
        raise
    expect(status == 0, f"the server ended with status 0 (got {status})")
    g.wait_for(rf"net_echo_server: accepted {made} echoed \d+ errors \d+", 1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="path to tools/run")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--scenario", required=True, choices=["httpd", "echo-server"])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=240, help="tools/run's timeout for the guest")
    a = ap.parse_args()
    ap_capture = os.environ.get("MICA_NET_CAPTURE")  # a pcap of the guest's traffic, for debugging
    a.run_arg = ["--qemu=-object", f"--qemu=filter-dump,id=capture,netdev=net0,file={ap_capture}"] if ap_capture else []
    a.kernel_arg = []
    run = {"httpd": scenario_httpd, "echo-server": scenario_echo_server}[a.scenario]
    try:
        status = run(a)
    except (Failure, OSError, subprocess.CalledProcessError) as e:
        print(f"FAILED: {e}")
        status = 1
    for g in guests:
        print("---- console ----")
        print(g.output())
    print("ok" if status == 0 else "FAILED")
    return status


if __name__ == "__main__":
    sys.exit(main())
