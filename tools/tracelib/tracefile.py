"""The trace file that `tools/run --trace-out FILE` writes (format: docs/trace-tool.md and
the contract in docs/tracing.md), read and checked.

Every way a file can be damaged (wrong magic or version, a truncated header or section, a
record whose size overruns its section or is not a multiple of 8, an unknown tracepoint id, a
string offset outside its table, a CRC mismatch) raises TraceError with a message naming the
problem and where it is; nothing else escapes `read()` for a damaged file.
"""
import struct
import zlib

MAGIC = b"MICATRC1"
VERSION = 1
CPU_TAG = 0x00555043   # "CPU\0" little-endian
END_TAG = 0x00444E45   # "END\0" little-endian
FLAG_BACKTRACES = 1 << 0
FLAG_PROFILE = 1 << 1

# Field types of the contract.
FIELD_U64 = 1
FIELD_S64 = 2
FIELD_HEX = 3
FIELD_STRING = 4
FIELD_ERRNO = 5
FIELD_TYPE_NAMES = {FIELD_U64: "u64", FIELD_S64: "s64", FIELD_HEX: "hex", FIELD_STRING: "string",
                    FIELD_ERRNO: "errno"}

HEADER = struct.Struct("<8sIIQQQ16sQII")   # magic .. reserved
RECORD_HEAD = struct.Struct("<QHHI")       # timestamp, id, size, thread
RECORD_ALIGN = 8
# Application threads carry their Linux tid; the kernel's own threads number from here.
KERNEL_THREAD_BASE = 1_000_000
# Profile samples carry a backtrace whether or not the file's flags say records do.
PROFILE_SAMPLE = "profile.sample"


class TraceError(Exception):
    """A damaged or unreadable trace file; the message names the problem."""


class Tracepoint:
    __slots__ = ("id", "name", "fields", "index")

    def __init__(self, tp_id, name, fields):
        self.id = tp_id
        self.name = name
        self.fields = fields            # [(type, name)] in declaration order
        self.index = {name: i for i, (_, name) in enumerate(fields)}


class Record:
    """One record: `values` holds the fields in declaration order (ints; strings for string
    fields; signed ints for s64 and errno fields), `backtrace` the return addresses
    (innermost first) or None when the record has none."""
    __slots__ = ("ts", "cpu", "tp", "thread", "values", "backtrace", "seq")

    def __init__(self, ts, cpu, tp, thread, values, backtrace, seq=0):
        self.ts = ts
        self.cpu = cpu
        self.tp = tp
        self.thread = thread
        self.values = values
        self.backtrace = backtrace
        self.seq = seq

    @property
    def name(self):
        return self.tp.name

    def __getitem__(self, field):
        return self.values[self.tp.index[field]]

    def get(self, field, default=None):
        i = self.tp.index.get(field)
        return default if i is None else self.values[i]

    def __repr__(self):
        return f"Record({self.ts}, cpu {self.cpu}, {self.name}, thread {self.thread}, {self.values})"


class CpuSection:
    __slots__ = ("cpu", "records_lost", "record_count")

    def __init__(self, cpu, records_lost, record_count):
        self.cpu = cpu
        self.records_lost = records_lost
        self.record_count = record_count


class Trace:
    def __init__(self):
        self.path = None
        self.version = VERSION
        self.cpu_count = 0
        self.ns_per_tick = (1, 1)
        self.boot_wall_ns = 0
        self.arch = ""
        self.kernel_load_bias = 0
        self.flags = 0
        self.tracepoints = {}          # id -> Tracepoint
        self.cpus = []                 # CpuSection in file order
        self.records = []              # every record, by timestamp (ties: CPU, then file order)

    def tracepoint(self, name):
        for tp in self.tracepoints.values():
            if tp.name == name:
                return tp
        return None

    @property
    def start_ns(self):
        return self.records[0].ts if self.records else 0

    @property
    def end_ns(self):
        return self.records[-1].ts if self.records else 0


def _s64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


class _Reader:
    """Bounds-checked little-endian reads; running past the end is a TraceError naming
    what was being read and where."""

    def __init__(self, data, end):
        self.data = data
        self.pos = 0
        self.end = end

    def need(self, n, what):
        if n < 0 or self.pos + n > self.end:
            raise TraceError(f"truncated: {what} at offset {self.pos} needs {n} bytes, "
                             f"{max(0, self.end - self.pos)} left")

    def unpack(self, fmt, what):
        size = struct.calcsize(fmt)
        self.need(size, what)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def u16(self, what):
        return self.unpack("<H", what)[0]

    def u32(self, what):
        return self.unpack("<I", what)[0]

    def u64(self, what):
        return self.unpack("<Q", what)[0]

    def bytes(self, n, what):
        self.need(n, what)
        b = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return b

    def string(self, what):
        n = self.u16(f"{what}'s length")
        return self.bytes(n, what).decode("utf-8", "replace")


def _table_string(table, offset, where):
    if offset >= len(table):
        raise TraceError(f"{where}: string offset {offset} is outside the CPU section's "
                         f"{len(table)}-byte string table")
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")


def read(path):
    """The Trace in file `path`; TraceError for a file that cannot be read or is damaged."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TraceError(f"cannot read {path}: {e.strerror}") from None
    trace = parse(data)
    trace.path = path
    return trace


def parse(data):
    """The Trace encoded in `data` (bytes)."""
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        raise TraceError(f"not a Mica trace file: bad magic {bytes(data[:len(MAGIC)])!r} "
                         f"(expected {MAGIC!r})")
    r = _Reader(data, len(data))
    (_, version, cpu_count, num, den, boot_wall, arch, bias, flags, _reserved) = \
        r.unpack(HEADER.format, "the header")
    if version != VERSION:
        raise TraceError(f"unsupported trace file version {version} (this tool reads version {VERSION})")
    if den == 0 or num == 0:
        raise TraceError(f"bad header: ns_per_tick {num}/{den}")
    if cpu_count == 0:
        raise TraceError("bad header: cpu_count is 0")
    t = Trace()
    t.version, t.cpu_count, t.ns_per_tick = version, cpu_count, (num, den)
    t.boot_wall_ns, t.kernel_load_bias, t.flags = boot_wall, bias, flags
    t.arch = arch.split(b"\0", 1)[0].decode("ascii", "replace")

    count = r.u32("the tracepoint count")
    for i in range(count):
        where = f"tracepoint {i} of {count}"
        tp_id, field_count, _ = r.unpack("<HBB", where)
        name = r.string(f"{where}'s name")
        fields = []
        for j in range(field_count):
            ftype = r.unpack("<B", f"{where} ({name}) field {j}'s type")[0]
            fname = r.string(f"{where} ({name}) field {j}'s name")
            if ftype not in FIELD_TYPE_NAMES:
                raise TraceError(f"tracepoint {name}: field {fname} has unknown type {ftype}")
            fields.append((ftype, fname))
        if tp_id in t.tracepoints:
            raise TraceError(f"tracepoint id {tp_id} declared twice ({t.tracepoints[tp_id].name}, {name})")
        t.tracepoints[tp_id] = Tracepoint(tp_id, name, fields)

    seen_cpus = set()
    seq = 0
    while True:
        tag_at = r.pos
        tag = r.u32("a section tag (CPU or END)")
        if tag == END_TAG:
            crc = r.u32("the CRC")
            if r.pos != len(data):
                raise TraceError(f"{len(data) - r.pos} bytes after the END tag at offset {tag_at}")
            actual = zlib.crc32(bytes(data[:tag_at])) & 0xFFFFFFFF
            if actual != crc:
                raise TraceError(f"CRC mismatch: the file says {crc:#010x}, its contents give "
                                 f"{actual:#010x} (damaged file)")
            break
        if tag != CPU_TAG:
            raise TraceError(f"bad section tag {tag:#010x} at offset {tag_at} (expected CPU or END)")
        cpu, lost = r.unpack("<IQ", f"CPU section header at offset {tag_at}")
        if cpu >= cpu_count:
            raise TraceError(f"CPU section at offset {tag_at} is for CPU {cpu}, but the header says "
                             f"{cpu_count} CPUs")
        if cpu in seen_cpus:
            raise TraceError(f"two sections for CPU {cpu}")
        seen_cpus.add(cpu)
        nstr = r.u64(f"CPU {cpu}'s string_bytes")
        strings = r.bytes(nstr, f"CPU {cpu}'s string table ({nstr} bytes)")
        nrec = r.u64(f"CPU {cpu}'s record_bytes")
        r.need(nrec, f"CPU {cpu}'s records ({nrec} bytes)")
        if nrec % RECORD_ALIGN:
            raise TraceError(f"CPU {cpu}: record_bytes {nrec} is not a multiple of {RECORD_ALIGN}")
        seq, n = _parse_records(t, data, r.pos, r.pos + nrec, cpu, strings, seq)
        r.pos += nrec
        t.cpus.append(CpuSection(cpu, lost, n))
    t.records.sort(key=lambda rec: (rec.ts, rec.cpu, rec.seq))
    return t


def _parse_records(t, data, pos, end, cpu, strings, seq):
    always_bt = bool(t.flags & FLAG_BACKTRACES)
    num, den = t.ns_per_tick
    n = 0
    while pos < end:
        where = f"CPU {cpu} record {n} (offset {pos})"
        if pos + RECORD_HEAD.size > end:
            raise TraceError(f"{where}: record header overruns the section")
        ts, tp_id, size, thread = RECORD_HEAD.unpack_from(data, pos)
        if size < RECORD_HEAD.size or size % RECORD_ALIGN:
            raise TraceError(f"{where}: bad record size {size} (at least {RECORD_HEAD.size}, a multiple of 8)")
        if pos + size > end:
            raise TraceError(f"{where}: record size {size} overruns the section ({end - pos} bytes left)")
        tp = t.tracepoints.get(tp_id)
        if tp is None:
            raise TraceError(f"{where}: unknown tracepoint id {tp_id}")
        words = struct.unpack_from(f"<{(size - RECORD_HEAD.size) // 8}Q", data, pos + RECORD_HEAD.size)
        nf = len(tp.fields)
        if len(words) < nf:
            raise TraceError(f"{where}: {tp.name} has {nf} fields but the record size {size} holds {len(words)}")
        values = []
        for (ftype, fname), w in zip(tp.fields, words):
            if ftype in (FIELD_S64, FIELD_ERRNO):
                w = _s64(w)
            elif ftype == FIELD_STRING:
                w = _table_string(strings, w, f"{where} {tp.name}.{fname}")
            values.append(w)
        backtrace = None
        rest = words[nf:]
        if always_bt or tp.name == PROFILE_SAMPLE:
            if not rest:
                raise TraceError(f"{where}: {tp.name} has no room for its backtrace depth")
            depth = rest[0]
            if depth != len(rest) - 1:
                raise TraceError(f"{where}: {tp.name} backtrace depth {depth} does not match the "
                                 f"{len(rest) - 1} words left in the record")
            backtrace = list(rest[1:])
        elif rest:
            raise TraceError(f"{where}: {tp.name} record is {size} bytes, {8 * len(rest)} more than its fields")
        t.records.append(Record(ts * num // den, cpu, tp, thread, values, backtrace, seq))
        seq += 1
        n += 1
        pos += size
    return seq, n
