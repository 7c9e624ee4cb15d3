"""The console frames a Mica kernel writes its trace rings in (docs/tracing.md "Console frames"),
recognised in the console stream, stripped from what tools/run prints and decoded into the
trace file. Used by tools/run --trace-out; tested by tests/tools/test_trace_frames.py.

    \\x1e MICA-TRACE BEGIN <reason>
    \\x1e MICA-TRACE <base64 of up to 57 bytes of the trace file>     (as many as needed)
    \\x1e MICA-TRACE END <file bytes> <crc32 of the file, 8 hex digits>

A frame line may follow other text on its console line (an application's output without a
newline): the text before the marker is console output.
"""
import base64
import binascii
import re
import struct
import zlib

MARKER = b"\x1e MICA-TRACE "
BEGIN = re.compile(rb"BEGIN (\S+)\r?$")
END = re.compile(rb"END (\d+) ([0-9a-f]{8})\r?$")
DATA = re.compile(rb"([A-Za-z0-9+/]+={0,2})\r?$")
FILE_MAGIC = b"MICATRC1"
END_TAG = 0x00444E45


class TraceError(Exception):
    pass


def check_file(data):
    """Raises TraceError unless `data` is a whole trace file (magic, version, end tag, CRC)."""
    if len(data) < 16 or data[:8] != FILE_MAGIC:
        raise TraceError("not a Mica trace file (no MICATRC1 magic)")
    tag, crc = struct.unpack_from("<II", data, len(data) - 8)
    if tag != END_TAG:
        raise TraceError("the trace file has no END tag (cut short)")
    if zlib.crc32(data[:-8]) & 0xFFFFFFFF != crc:
        raise TraceError("the trace file's CRC does not match its contents (damaged)")


class Collector:
    """Feed it console lines (bytes, without the newline); it returns what to print of each
    (None: nothing) and gathers the frames. After the run, result() is the trace file."""

    def __init__(self):
        self.state = "idle"  # idle, inside, done
        self.chunks = []
        self.reason = None
        self.problem = None  # the first thing found wrong
        self.files = []      # (reason, bytes) of every complete frame set

    def _problem(self, message):
        if self.problem is None:
            self.problem = message

    def line(self, line):
        at = line.find(MARKER)
        if at < 0:
            if self.state == "inside" and line.strip(b"\r"):
                # A kernel line between frames is normal (other CPUs print); keep going.
                pass
            return line
        before, body = line[:at], line[at + len(MARKER):]
        self._frame(body)
        return before if before.strip(b"\r") else None

    def _frame(self, body):
        m = BEGIN.match(body)
        if m:
            if self.state == "inside":
                self._problem("a trace frame began before the previous one ended (cut short)")
            self.state, self.chunks, self.reason = "inside", [], m.group(1).decode()
            return
        m = END.match(body)
        if m:
            if self.state != "inside":
                self._problem("a trace END frame without its BEGIN")
                return
            self.state = "done"
            data = b"".join(self.chunks)
            size, crc = int(m.group(1)), int(m.group(2), 16)
            if len(data) != size:
                self._problem(f"the trace is {len(data)} bytes, its END frame says {size} (lines lost)")
            elif zlib.crc32(data) & 0xFFFFFFFF != crc:
                self._problem("the trace's CRC does not match its END frame (damaged on the console)")
            else:
                try:
                    check_file(data)
                    self.files.append((self.reason, data))
                except TraceError as e:
                    self._problem(str(e))
            return
        m = DATA.match(body)
        if not m or self.state != "inside":
            self._problem("a damaged trace frame line" if m is None else "a trace data line outside BEGIN/END")
            return
        try:
            self.chunks.append(base64.b64decode(m.group(1), validate=True))
        except binascii.Error:
            self._problem("a trace frame line that is not base64 (damaged)")

    def result(self):
        """(trace file bytes, None) or (None, a message saying what is wrong)."""
        if self.files:
            return self.files[-1][1], None
        if self.problem:
            return None, self.problem
        if self.state == "inside":
            return None, "the trace was cut short (no END frame: the guest stopped while writing it)"
        return None, ("the guest wrote no trace (was the kernel built with CONFIG_TRACING and given "
                      "--trace=PATTERN or --profile=HZ?)")
