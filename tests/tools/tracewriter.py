"""Writes trace files of the format `tools/run --trace-out` produces (docs/trace-tool.md), from
Python values, so tools/trace's tests need no kernel. Independent of tools/tracelib: it is
written from the format's description, not from the reader.

    w = TraceWriter(arch="x86_64", cpu_count=2)
    w.add(0, 1000, "syscall.entry", 5, number=0, a0=3)
    w.add(0, 3000, "syscall.exit", 5, number=0, result=-11)
    w.write(path)          # or w.encode() -> bytes; encode(damage...) for broken files
"""
import struct
import zlib

U64, S64, HEX, STRING, ERRNO = 1, 2, 3, 4, 5
A6 = [(HEX, f"a{i}") for i in range(6)]

# The contract's tracepoints and fields (docs/tracing.md), in declaration order.
STANDARD = [
    ("sched.switch", [(U64, "prev_thread"), (U64, "prev_state"), (U64, "next_thread")]),
    ("sched.wake", [(U64, "thread"), (U64, "target_cpu")]),
    ("sched.migrate", [(U64, "thread"), (U64, "from_cpu"), (U64, "to_cpu")]),
    ("sched.idle_enter", []),
    ("sched.idle_exit", []),
    ("sched.thread_name", [(U64, "thread"), (STRING, "name")]),
    ("irq.entry", [(U64, "vector")]),
    ("irq.exit", [(U64, "vector")]),
    ("irq.ipi_send", [(U64, "target_cpu"), (U64, "kind")]),
    ("mm.fault", [(HEX, "address"), (HEX, "pc"), (U64, "access"), (U64, "result")]),
    ("mm.malloc", [(U64, "size"), (HEX, "address")]),
    ("mm.free", [(HEX, "address")]),
    ("syscall.entry", [(U64, "number")] + A6),
    ("syscall.exit", [(U64, "number"), (ERRNO, "result")]),
    ("vfs.open", [(STRING, "path"), (HEX, "flags"), (ERRNO, "result")]),
    ("futex.wait", [(HEX, "address"), (ERRNO, "result")]),
    ("futex.wake", [(HEX, "address"), (U64, "woken")]),
    ("app.start", [(U64, "pid"), (STRING, "path"), (HEX, "load_bias"), (HEX, "interp_bias")]),
    ("app.exit", [(U64, "pid"), (S64, "status")]),
    ("app.exec", [(U64, "pid"), (STRING, "path"), (HEX, "load_bias"), (HEX, "interp_bias")]),
    ("profile.sample", [(HEX, "pc"), (U64, "kernel")]),
]


def _str(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


class TraceWriter:
    def __init__(self, arch="x86_64", cpu_count=2, flags=0, kernel_load_bias=0, boot_wall_ns=0,
                 tracepoints=STANDARD, first_id=1):
        self.arch = arch
        self.cpu_count = cpu_count
        self.flags = flags
        self.kernel_load_bias = kernel_load_bias
        self.boot_wall_ns = boot_wall_ns
        self.tracepoints = [(first_id + i, name, fields) for i, (name, fields) in enumerate(tracepoints)]
        self.by_name = {name: (i, fields) for i, name, fields in self.tracepoints}
        self.records = {c: [] for c in range(cpu_count)}     # cpu -> [bytes]
        self.strings = {c: bytearray() for c in range(cpu_count)}
        self.lost = {c: 0 for c in range(cpu_count)}

    def add(self, cpu, ts, name, thread, /, backtrace=None, raw_size=None, raw_id=None, **fields):
        """A record on `cpu` (appended: records of a CPU go oldest first). Fields missing from
        `fields` are 0; strings go into the CPU's string table. `raw_size` overrides the record's
        size field and `raw_id` its tracepoint id (damaged files)."""
        ident, decl = self.by_name[name]
        unknown = set(fields) - {f for _, f in decl}
        if unknown:
            raise ValueError(f"{name} has no fields {unknown}")
        words = []
        for ftype, fname in decl:
            v = fields.get(fname, "" if ftype == STRING else 0)
            if ftype == STRING:
                offset = len(self.strings[cpu])
                self.strings[cpu] += v.encode() + b"\0"
                v = offset
            words.append(v & 0xFFFFFFFFFFFFFFFF)
        if backtrace is not None:
            words += [len(backtrace)] + list(backtrace)
        body = struct.pack(f"<{len(words)}Q", *words)
        real = 16 + len(body)
        head = struct.pack("<QHHI", ts, ident if raw_id is None else raw_id, real if raw_size is None else raw_size, thread)
        self.records[cpu].append(head + body)

    def header(self, magic=b"MICATRC1", version=1):
        return struct.pack("<8sIIQQQ16sQII", magic, version, self.cpu_count, 1, 1, self.boot_wall_ns,
                           self.arch.encode(), self.kernel_load_bias, self.flags, 0)

    def encode(self, magic=b"MICATRC1", version=1, crc=None):
        out = bytearray(self.header(magic, version))
        out += struct.pack("<I", len(self.tracepoints))
        for ident, name, fields in self.tracepoints:
            out += struct.pack("<HBB", ident, len(fields), 0) + _str(name)
            for ftype, fname in fields:
                out += struct.pack("<B", ftype) + _str(fname)
        for cpu in range(self.cpu_count):
            recs = b"".join(self.records[cpu])
            out += struct.pack("<IIQ", 0x00555043, cpu, self.lost[cpu])
            out += struct.pack("<Q", len(self.strings[cpu])) + bytes(self.strings[cpu])
            out += struct.pack("<Q", len(recs)) + recs
        value = zlib.crc32(bytes(out)) & 0xFFFFFFFF if crc is None else crc
        out += struct.pack("<II", 0x00444E45, value)
        return bytes(out)

    def write(self, path, **damage):
        with open(path, "wb") as f:
            f.write(self.encode(**damage))
        return path
