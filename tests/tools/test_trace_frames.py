#!/usr/bin/python3
"""tools/trace_frames.py: the trace's console frames (docs/tracing.md "Console frames") found in
a console stream, kept out of what is printed, checked and decoded; damaged, cut-short and
missing traces reported."""
import base64
import os
import struct
import sys
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import trace_frames  # noqa: E402

MARK = b"\x1e MICA-TRACE "


def trace_file(payload=b"x" * 150):
    """A minimal file the checks accept: magic, anything, END tag and CRC."""
    body = b"MICATRC1" + payload
    return body + struct.pack("<II", 0x00444E45, zlib.crc32(body) & 0xFFFFFFFF)


def frames(data, reason=b"shutdown", line_bytes=57):
    lines = [MARK + b"BEGIN " + reason]
    for i in range(0, len(data), line_bytes):
        lines.append(MARK + base64.b64encode(data[i:i + line_bytes]))
    lines.append(MARK + b"END %d %08x" % (len(data), zlib.crc32(data) & 0xFFFFFFFF))
    return lines


def feed(lines):
    c = trace_frames.Collector()
    printed = [p for p in (c.line(line) for line in lines) if p is not None]
    return c, printed


class Frames(unittest.TestCase):
    def test_decodes_and_strips(self):
        data = trace_file()
        lines = [b"Mica booting", b"app output"] + frames(data) + [b"mica: trace: 3 records"]
        c, printed = feed([line + b"\r" if i % 2 else line for i, line in enumerate(lines)])
        self.assertEqual(c.result(), (data, None))
        self.assertEqual([p.rstrip(b"\r") for p in printed], [b"Mica booting", b"app output", b"mica: trace: 3 records"])

    def test_text_before_the_marker_is_output(self):
        data = trace_file()
        lines = frames(data)
        lines[0] = b"no newline at the end" + lines[0]
        c, printed = feed(lines)
        self.assertEqual(printed, [b"no newline at the end"])
        self.assertEqual(c.result()[0], data)

    def test_kernel_lines_between_frames(self):
        data = trace_file()
        lines = frames(data)
        lines.insert(2, b"mica: warning: something else on another CPU")
        c, printed = feed(lines)
        self.assertEqual(c.result()[0], data)
        self.assertEqual(printed, [b"mica: warning: something else on another CPU"])

    def test_lost_line(self):
        lines = frames(trace_file())
        del lines[2]
        data, problem = feed(lines)[0].result()
        self.assertIsNone(data)
        self.assertIn("lines lost", problem)

    def test_damaged_byte(self):
        lines = frames(trace_file())
        damaged = bytearray(lines[1])
        damaged[-5] = ord("A") if damaged[-5] != ord("A") else ord("B")
        lines[1] = bytes(damaged)
        data, problem = feed(lines)[0].result()
        self.assertIsNone(data)
        self.assertIn("CRC", problem)

    def test_garbage_line(self):
        lines = frames(trace_file())
        lines[1] = MARK + b"not base64 at all!"
        data, problem = feed(lines)[0].result()
        self.assertIsNone(data)
        self.assertIn("damaged", problem)

    def test_cut_short(self):
        lines = frames(trace_file())[:-2]
        data, problem = feed(lines)[0].result()
        self.assertIsNone(data)
        self.assertIn("cut short", problem)

    def test_missing(self):
        data, problem = feed([b"Mica", b"mica: exit status 0"])[0].result()
        self.assertIsNone(data)
        self.assertIn("no trace", problem)

    def test_file_checks(self):
        good = trace_file()
        trace_frames.check_file(good)
        bad_crc = good[:-1] + bytes([good[-1] ^ 1])
        with self.assertRaisesRegex(trace_frames.TraceError, "CRC"):
            trace_frames.check_file(bad_crc)
        with self.assertRaisesRegex(trace_frames.TraceError, "magic"):
            trace_frames.check_file(b"ELF" + good[3:])
        with self.assertRaisesRegex(trace_frames.TraceError, "END"):
            trace_frames.check_file(good[:-8] + b"\0" * 8)
        # Frames whose own CRC is right around a file that is not a trace.
        data, problem = feed(frames(b"not a trace file at all"))[0].result()
        self.assertIsNone(data)
        self.assertIn("magic", problem)


if __name__ == "__main__":
    unittest.main()
