"""A small reader of Mica trace files (docs/tracing.md "The trace file") for the tests: the full
tool is tools/trace. Checks everything it reads (magic, version, tags, sizes, CRC) and raises
ValueError naming what is wrong."""
import struct
import zlib

CPU_TAG, END_TAG = 0x00555043, 0x00444E45
STRING, BACKTRACES, PROFILE = 4, 1, 2


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        if self.at + size > len(self.data):
            raise ValueError(f"trace file cut short at byte {self.at}")
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += size
        return values if len(values) > 1 else values[0]

    def raw(self, n):
        if self.at + n > len(self.data):
            raise ValueError(f"trace file cut short at byte {self.at}")
        b = self.data[self.at:self.at + n]
        self.at += n
        return b

    def str(self):
        return self.raw(self.take("H")).decode()


def parse(data):
    """{'cpus', 'arch', 'flags', 'points': {id: (name, [(type, field)])}, 'records': [dict]}."""
    r = Reader(data)
    if r.raw(8) != b"MICATRC1":
        raise ValueError("no MICATRC1 magic")
    version, cpus, num, den, wall = r.take("IIQQQ")
    if version != 1 or (num, den) != (1, 1):
        raise ValueError(f"version {version}, ns_per_tick {num}/{den}")
    arch = r.raw(16).rstrip(b"\0").decode()
    bias, flags, reserved = r.take("QII")
    points = {}
    for _ in range(r.take("I")):
        pid, count, _reserved = r.take("HBB")
        name = r.str()
        points[pid] = (name, [(r.take("B"), r.str()) for _ in range(count)])
    records = []
    lost = {}
    while True:
        tag = r.take("I")
        if tag == END_TAG:
            crc = r.take("I")
            if zlib.crc32(data[:r.at - 8]) & 0xFFFFFFFF != crc:
                raise ValueError("CRC mismatch")
            if r.at != len(data):
                raise ValueError("bytes after the END tag")
            break
        if tag != CPU_TAG:
            raise ValueError(f"bad section tag {tag:#x} at byte {r.at - 4}")
        cpu, lost[len(lost)] = r.take("IQ")
        strings = r.raw(r.take("Q"))
        end = r.take("Q") + r.at
        while r.at < end:
            start = r.at
            ts, pid, size, thread = r.take("QHHI")
            name, fields = points[pid]
            rec = {"cpu": cpu, "ts": ts, "point": name, "tid": thread}  # fields may be named "thread"
            for ftype, fname in fields:
                v = r.take("Q")
                if ftype == STRING:
                    v = strings[v:strings.index(b"\0", v)].decode(errors="replace")
                elif ftype in (2, 5):
                    v = v - (1 << 64) if v >> 63 else v
                rec[fname] = v
            if flags & BACKTRACES or name == "profile.sample":
                rec["backtrace"] = [r.take("Q") for _ in range(r.take("Q"))]
            if r.at - start != size:
                raise ValueError(f"record {name} size {size}, read {r.at - start}")
            records.append(rec)
        if r.at != end:
            raise ValueError("records overrun their section")
    return {"cpus": cpus, "arch": arch, "flags": flags, "points": points, "records": records, "lost": lost,
            "boot_wall_ns": wall}
