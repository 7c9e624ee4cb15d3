"""What the reports share: filters, thread names, entry/exit pairing, percentiles, and the
text form of a record's fields."""
import fnmatch
import math

from .tracefile import (FIELD_ERRNO, FIELD_HEX, FIELD_S64, FIELD_STRING, KERNEL_THREAD_BASE)
from .symbols import errno_name

NS_PER_MS = 1_000_000
NS_PER_US = 1_000
ENTRY_SUFFIXES = (".entry", ".enter", "_entry", "_enter")
EXIT_SUFFIXES = (".exit", "_exit")
# Fields whose hex values are code addresses, shown with the function that holds them.
CODE_ADDRESS_FIELDS = ("pc", "ip", "function", "caller", "return_address")


class Filters:
    """--cpu, --thread, --since/--until (ms since kernel entry), --tracepoint GLOB."""

    def __init__(self, cpus=None, threads=None, since_ms=None, until_ms=None, tracepoints=None):
        self.cpus = set(cpus) if cpus else None
        self.threads = threads or None          # tids (ints) and name globs (strings)
        self.since = None if since_ms is None else int(since_ms * NS_PER_MS)
        self.until = None if until_ms is None else int(until_ms * NS_PER_MS)
        self.tracepoints = tracepoints or None

    def thread_matches(self, tid, names):
        if self.threads is None:
            return True
        for t in self.threads:
            if isinstance(t, int):
                if t == tid:
                    return True
            elif fnmatch.fnmatchcase(names.get(tid, ""), t):
                return True
        return False

    def time_matches(self, ts):
        return (self.since is None or ts >= self.since) and (self.until is None or ts <= self.until)

    def tracepoint_matches(self, name):
        return self.tracepoints is None or any(fnmatch.fnmatchcase(name, g) for g in self.tracepoints)

    def apply(self, records, names, threads=True, tracepoints=True):
        out = []
        for r in records:
            if self.cpus is not None and r.cpu not in self.cpus:
                continue
            if not self.time_matches(r.ts):
                continue
            if tracepoints and not self.tracepoint_matches(r.name):
                continue
            if threads and not self.thread_matches(r.thread, names):
                continue
            out.append(r)
        return out


def resolve_thread_filter(text):
    """--thread's comma-separated tids (ints) and thread name globs (strings)."""
    return [int(t) if t.isdigit() else t for t in text.split(",") if t]


def thread_names(trace):
    """{tid: name}: the last sched.thread_name of each thread; an application's main thread
    without one is named after its program (app.start/app.exec path)."""
    names = {}
    programs = {}
    for r in trace.records:
        if r.name == "sched.thread_name":
            names[r["thread"]] = r["name"]
        elif r.name in ("app.start", "app.exec"):
            path = r.get("path") or ""
            programs[r["pid"]] = path.rsplit("/", 1)[-1]
    for pid, prog in programs.items():
        names.setdefault(pid, prog)
    return names


def thread_label(tid, names):
    name = names.get(tid)
    return f"{name}({tid})" if name else str(tid)


def is_kernel_thread(tid):
    return tid >= KERNEL_THREAD_BASE


def pair_role(name):
    """(base, 'entry' | 'exit') for a paired tracepoint's name, else None."""
    for s in ENTRY_SUFFIXES:
        if name.endswith(s):
            return name[:-len(s)], "entry"
    for s in EXIT_SUFFIXES:
        if name.endswith(s):
            return name[:-len(s)], "exit"
    return None


def pairs(records, base=None):
    """[(base, entry, exit)] of matched entry/exit records, per thread (a stack per thread and
    base, so nested pairs match inside out). Exits without an entry and entries never exited
    are left out. For syscalls the numbers must match too."""
    open_ = {}
    out = []
    for r in records:
        role = pair_role(r.name)
        if not role or (base is not None and role[0] != base):
            continue
        key = (r.thread, role[0])
        if role[1] == "entry":
            open_.setdefault(key, []).append(r)
            continue
        stack = open_.get(key)
        if not stack:
            continue
        entry = stack.pop()
        if role[0] == "syscall" and entry.get("number") != r.get("number"):
            continue
        out.append((role[0], entry, r))
    out.sort(key=lambda p: (p[1].ts, p[1].seq))
    return out


def percentile(sorted_values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or
    below it."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def duration_stats(durations):
    d = sorted(durations)
    n = len(d)
    total = sum(d)
    return {"count": n, "total": total, "min": d[0] if d else 0, "max": d[-1] if d else 0,
            "avg": total / n if n else 0, "p50": percentile(d, 50), "p95": percentile(d, 95),
            "p99": percentile(d, 99)}


def us(ns):
    """ns as microseconds with three decimals."""
    return f"{ns / NS_PER_US:.3f}"


def ms(ns):
    return f"{ns / NS_PER_MS:.6f}"


class FieldFormatter:
    def __init__(self, symbolizer, syscall_names, names):
        self.sym = symbolizer
        self.syscall_names = syscall_names
        self.names = names

    def address(self, value, ts, return_address=False):
        where = self.sym.describe(value, ts, return_address) if self.sym else ""
        return f"{value:#x} {where}" if where else f"{value:#x}"

    def fields(self, r):
        parts = []
        for (ftype, fname), v in zip(r.tp.fields, r.values):
            if ftype == FIELD_STRING:
                text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            elif ftype == FIELD_ERRNO:
                text = errno_name(v)
            elif ftype == FIELD_HEX:
                if fname in CODE_ADDRESS_FIELDS and self.sym:
                    where = self.sym.describe(v, r.ts)
                    text = f"{v:#x}" + (f"({where})" if where else "")
                else:
                    text = f"{v:#x}"
            elif ftype == FIELD_S64:
                text = str(v)
            else:
                text = str(v)
                if fname == "number" and r.name.startswith("syscall."):
                    text += f"({self.syscall_names(v)})"
                elif fname in ("thread", "prev_thread", "next_thread") and r.name.startswith("sched."):
                    n = self.names.get(v)
                    if n:
                        text += f"({n})"
            parts.append(f"{fname}={text}")
        return " ".join(parts)

    def backtrace(self, r):
        return [self.address(a, r.ts, return_address=True) for a in (r.backtrace or [])]

    def backtrace_names(self, r):
        """Each frame as its function (`f+0x12`), or its address when nothing holds it."""
        return [(self.sym.describe(a, r.ts, True) if self.sym else "") or f"{a:#x}" for a in (r.backtrace or [])]
