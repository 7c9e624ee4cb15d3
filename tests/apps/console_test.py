#!/usr/bin/python3
"""Console input: types into the guest's serial port (tools/run --stdin: QEMU's -serial
stdio reads a pipe this test writes) and checks what comes back.

  console_test.py --run tools/run --build-dir DIR --kernel K --binary BIN --scenario S
                  [--timeout SECONDS]

Scenarios:
  shell      BIN is Debian's busybox: an interactive `sh` (with job control: it takes the
             terminal with setpgid and TIOCSPGRP); waits for the prompt, types `echo hello $((6*7))` and
             Enter (\\r, as QEMU sends it), expects `hello 42`; types a line corrected with
             a backspace (DEL) and expects the corrected output; `exit 3` ends it with 3.
  shell-eof  the same shell; ^D at the prompt ends it with status 0.
  raw        BIN is tests/apps/console_input.c: isatty, termios, canonical lines with
             editing and ^D, ^C interrupting a read (EINTR, and restarted with SA_RESTART),
             raw mode byte by byte (VMIN/VTIME), poll, FIONREAD.
Every wait has a time limit; none is an assertion on speed. Exit status 0 when every check
passed; the console output is printed either way.
"""
import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time

START = time.monotonic()


class Failure(Exception):
    pass


class Guest:
    """tools/run with a pipe for the console's input; its output kept as one text."""

    def __init__(self, a, guest_path, args):
        cmd = [sys.executable, a.run, "-O", a.build_dir, "--kernel", a.kernel, "--accel", "tcg", "--stdin",
               "--timeout", str(a.timeout), "--app", a.binary, "--app-path", guest_path, "--"] + args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.text = ""
        self.seen = 0  # what wait_for has matched up to
        self.chunks = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            self.chunks.put(chunk.decode(errors="replace"))
        self.chunks.put(None)

    def wait_for(self, pattern, timeout):
        """Waits until the output after the last match matches `pattern`; returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text, self.seen)
            if m:
                self.seen = m.end()
                print(f"console_test: [{time.monotonic() - START:6.2f} s] seen /{pattern}/")
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"no output matching /{pattern}/ within {timeout:g} s")
            try:
                chunk = self.chunks.get(timeout=left)
            except queue.Empty:
                continue
            if chunk is None:
                raise Failure(f"the guest stopped before printing /{pattern}/")
            self.text += chunk

    def type(self, data):
        print(f"console_test: [{time.monotonic() - START:6.2f} s] typing {data!r}")
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self, timeout):
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"the guest did not stop within {timeout:g} s")
        while True:  # the rest of the output
            try:
                chunk = self.chunks.get(timeout=5)
            except queue.Empty:
                break
            if chunk is None:
                break
            self.text += chunk
        return status


def type_until(g, data, pattern, timeout, every=5):
    """Types `data` again every `every` seconds until the output matches `pattern`."""
    deadline = time.monotonic() + timeout
    while True:
        g.type(data)
        try:
            return g.wait_for(pattern, min(every, max(deadline - time.monotonic(), 0.1)))
        except Failure:
            if time.monotonic() >= deadline or g.proc.poll() is not None:
                raise


def expect_status(g, want, timeout):
    status = g.finish(timeout)
    if status != want:
        raise Failure(f"exit status {status}, expected {want}")
    print(f"console_test: exit status {status}: yes")


PROMPT = r"/ # "


def scenario_shell(a, g):
    g.wait_for(PROMPT, a.timeout)
    g.type(b"echo hello $((6*7))\r")
    g.wait_for(r"^hello 42\r?$", a.timeout)
    g.wait_for(PROMPT, a.timeout)
    # "echo abx", a backspace (DEL, what terminals send), "c": the shell sees "echo abc".
    g.type(b"echo abx\x7fc\r")
    m = g.wait_for(r"^(ab[c-x]+)\r?$", a.timeout)
    if m.group(1) != "abc":
        raise Failure(f"the corrected line printed {m.group(1)!r}, expected 'abc'")
    g.wait_for(PROMPT, a.timeout)
    g.type(b"exit 3\r")
    expect_status(g, 3, a.timeout)


def scenario_shell_eof(a, g):
    g.wait_for(PROMPT, a.timeout)
    g.type(b"\x04")
    expect_status(g, 0, a.timeout)


def scenario_raw(a, g):
    for line in (r"^isatty: stdin yes, stdout yes, pipe no \(ENOTTY\)",
                 r"^/dev/tty is a terminal: yes",
                 r"^canonical yes, echo yes, isig yes, icrnl yes, VMIN 1, VERASE 0x7f",
                 r"^window 80x24", r"^foreground group is ours: yes", r"^> canonical"):
        g.wait_for(line, a.timeout)
    # One line with a correction (echoed as the terminal shows it), end of file at the start
    # of a line, and a partial line ended by ^D (no newline).
    g.type(b"abx\x7fc\r")
    g.wait_for(r"abx\x08 \x08c\r?\n", a.timeout)
    g.wait_for(r"^line: 4 bytes: 61 62 63 0a", a.timeout)
    g.type(b"\x04")
    g.wait_for(r"^eof: 0 bytes:\s*$", a.timeout)
    g.type(b"partial\x04")
    g.wait_for(r"partial: 7 bytes: 70 61 72 74 69 61 6c\s*$", a.timeout)  # after the echo
    # ^C: SIGINT to the program, whose read fails with EINTR; then with SA_RESTART the read
    # goes on to the next line. (The input before ^C is flushed.)
    g.wait_for(r"^> sigint\r?$", a.timeout)
    # A ^C that arrives before the read starts only runs the handler; another one follows
    # until the read reports EINTR.
    type_until(g, b"lost\x03", r"interrupted: read: EINTR", a.timeout)
    g.wait_for(r"^handler ran: yes", a.timeout)
    g.wait_for(r"^> sigint restart", a.timeout)
    g.type(b"gone\x03")
    g.wait_for(r"\[SIGINT handler\]", a.timeout)
    g.type(b"kept\r")
    g.wait_for(r"restarted: 5 bytes: 6b 65 70 74 0a", a.timeout)
    for line in (r"^VMIN 0 VTIME 0: 0 bytes:\s*$", r"^VMIN 0 VTIME 2: 0 bytes:\s*$",
                 r"^O_NONBLOCK: read: EAGAIN", r"^poll with nothing typed: 0", r"^> raw"):
        g.wait_for(line, a.timeout)
    g.type(b"x\x03\r")  # no ISIG, no ICRNL, no echo: three bytes as they are
    g.wait_for(r"^byte: 1 bytes: 78\s*$", a.timeout)
    g.wait_for(r"^byte: 1 bytes: 03\s*$", a.timeout)
    g.wait_for(r"^byte: 1 bytes: 0d\s*$", a.timeout)
    g.wait_for(r"^> poll", a.timeout)
    g.type(b"pq")
    for line in (r"^poll: 1, POLLIN yes", r"^FIONREAD: 2", r"^VMIN 2: 2 bytes: 70 71",
                 r"^restored: canonical yes, echo yes", r"^done"):
        g.wait_for(line, a.timeout)
    expect_status(g, 0, a.timeout)
    if "pq" in g.text or "x\r" in g.text:
        raise Failure("raw-mode input was echoed")


SCENARIOS = {
    "shell": ("/bin/busybox", ["sh"], scenario_shell),
    "shell-eof": ("/bin/busybox", ["sh"], scenario_shell_eof),
    "raw": ("/bin/console_input", [], scenario_raw),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    guest_path, args, run = SCENARIOS[a.scenario]
    g = Guest(a, guest_path, args)
    try:
        run(a, g)
        ok = True
    except Failure as e:
        print(f"console_test: FAILED: {e}")
        ok = False
    finally:
        if g.proc.poll() is None:
            g.proc.kill()
            g.proc.wait()
    print("---- console ----")
    print(g.text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
