"""The text reports of tools/trace: list, summary, syscalls, sched, hist, profile. Each has a
function computing its figures (plain dicts and lists, what --json prints and the tests check)
and one rendering them as text."""
import collections

from .analysis import (FieldFormatter, duration_stats, ms, pair_role, pairs, thread_label, us)  # noqa: F401

SCHED_RUNNING, SCHED_BLOCKED, SCHED_SLEEPING, SCHED_EXITED = 0, 1, 2, 3
HIST_BAR_WIDTH = 40


# ---- list -------------------------------------------------------------------------------------

def render_list(records, names, formatter, out, stacks=False):
    """A line per record; a backtrace ends the line (`bt: leaf+0x4 <- caller+0x10`), or with
    `stacks` follows it, a frame a line with its address."""
    for r in records:
        line = f"{ms(r.ts):>16} [{r.cpu:>2}] {thread_label(r.thread, names):<24} {r.name:<18} {formatter.fields(r)}"
        if r.backtrace and not stacks:
            line += " bt: " + " <- ".join(formatter.backtrace_names(r))
        out.write(line.rstrip() + "\n")
        if stacks:
            for frame in formatter.backtrace(r):
                out.write(f"{'':>22}<- {frame}\n")


# ---- summary ----------------------------------------------------------------------------------

def summary(trace, records):
    counts = collections.Counter(r.name for r in records)
    durations = collections.defaultdict(list)
    for base, entry, exit_ in pairs(records):
        durations[base].append(exit_.ts - entry.ts)
    return {
        "records": len(records),
        "span_ns": (records[-1].ts - records[0].ts) if records else 0,
        "lost": {c.cpu: c.records_lost for c in trace.cpus},
        "counts": dict(sorted(counts.items())),
        "pairs": {b: duration_stats(d) for b, d in sorted(durations.items())},
    }


def render_summary(s, out):
    out.write(f"{s['records']} records over {ms(s['span_ns'])} ms\n")
    lost = {c: n for c, n in s["lost"].items() if n}
    for cpu, n in sorted(lost.items()):
        out.write(f"CPU {cpu}: {n} records lost (the ring wrapped)\n")
    out.write(f"\n{'tracepoint':<28} {'count':>10}\n")
    for name, n in s["counts"].items():
        out.write(f"{name:<28} {n:>10}\n")
    if s["pairs"]:
        out.write(f"\n{'pair (durations in us)':<24} {'count':>8} {'total':>12} {'min':>10} {'avg':>10} "
                  f"{'p50':>10} {'p95':>10} {'p99':>10} {'max':>10}\n")
        for base, d in s["pairs"].items():
            out.write(f"{base:<24} {d['count']:>8} {us(d['total']):>12} {us(d['min']):>10} {us(d['avg']):>10} "
                      f"{us(d['p50']):>10} {us(d['p95']):>10} {us(d['p99']):>10} {us(d['max']):>10}\n")


# ---- syscalls ---------------------------------------------------------------------------------

def syscalls(records, syscall_names):
    """Per system call: calls (entries seen), errors (exits with -errno), and the latency of
    each entry/exit pair of the same thread."""
    calls = collections.Counter()
    errors = collections.Counter()
    latencies = collections.defaultdict(list)
    for r in records:
        if r.name == "syscall.entry":
            calls[r["number"]] += 1
        elif r.name == "syscall.exit":
            res = r.get("result", 0)
            if -4096 < res < 0:
                errors[r["number"]] += 1
    for _, entry, exit_ in pairs(records, "syscall"):
        latencies[entry["number"]].append(exit_.ts - entry.ts)
    total_all = sum(sum(v) for v in latencies.values())
    rows = []
    for nr in set(calls) | set(errors) | set(latencies):
        st = duration_stats(latencies.get(nr, []))
        rows.append({"number": nr, "name": syscall_names(nr), "calls": calls.get(nr, 0),
                     "errors": errors.get(nr, 0), "timed": st["count"], "total": st["total"],
                     "avg": st["avg"], "p50": st["p50"], "p95": st["p95"], "p99": st["p99"], "max": st["max"],
                     "percent": 100.0 * st["total"] / total_all if total_all else 0.0})
    rows.sort(key=lambda r: (-r["total"], -r["calls"], r["name"]))
    return rows


def render_syscalls(rows, out):
    out.write(f"{'% time':>6} {'total(us)':>12} {'avg(us)':>10} {'p50(us)':>10} {'p95(us)':>10} "
              f"{'p99(us)':>10} {'calls':>8} {'errors':>7} syscall\n")
    out.write("-" * 6 + " " + "-" * 12 + (" " + "-" * 10) * 4 + " " + "-" * 8 + " " + "-" * 7 + " " + "-" * 16 + "\n")
    for r in rows:
        out.write(f"{r['percent']:>6.2f} {us(r['total']):>12} {us(r['avg']):>10} {us(r['p50']):>10} "
                  f"{us(r['p95']):>10} {us(r['p99']):>10} {r['calls']:>8} {r['errors'] or '':>7} {r['name']}\n")
    out.write("-" * 6 + " " + "-" * 12 + (" " + "-" * 10) * 4 + " " + "-" * 8 + " " + "-" * 7 + " " + "-" * 16 + "\n")
    total = sum(r["total"] for r in rows)
    out.write(f"{100 if total else 0:>6.2f} {us(total):>12} {'':>10} {'':>10} {'':>10} {'':>10} "
              f"{sum(r['calls'] for r in rows):>8} {sum(r['errors'] for r in rows) or '':>7} total\n")


# ---- sched ------------------------------------------------------------------------------------

class _ThreadSched:
    __slots__ = ("state", "since", "cpu", "run", "wait", "sleep", "blocked", "switches", "preempted",
                 "migrations", "wakeups", "cpus")

    def __init__(self):
        self.state = None          # None (not seen yet), "running", "runnable", "blocked", "sleeping", "exited"
        self.since = 0
        self.cpu = None
        self.run = self.wait = self.sleep = self.blocked = 0
        self.switches = self.preempted = self.migrations = self.wakeups = 0
        self.cpus = set()

    def close(self, ts):
        d = ts - self.since
        if self.state == "running":
            self.run += d
        elif self.state == "runnable":
            self.wait += d
        elif self.state == "blocked":
            self.blocked += d
        elif self.state == "sleeping":
            self.sleep += d


def sched(records, end_ns=None):
    """Per thread, from sched.switch, sched.wake and sched.migrate (records in time order):
    run time (switched in to switched out), wait time (runnable but not running: from a wake-up,
    or a preemption, to the next switch in), sleep and blocked time (switched out sleeping or
    blocked, to the wake-up), switches out (and how many were preemptions), migrations (runs
    on another CPU than the run before: what the thread saw, whether or not the kernel wrote
    a sched.migrate record for the move), wake-ups. A thread's state is learnt from its first event; what is open at the end is
    closed at `end_ns` (default: the last record)."""
    threads = collections.defaultdict(_ThreadSched)
    for r in records:
        n = r.name
        if n == "sched.switch":
            prev, nxt, state = r["prev_thread"], r["next_thread"], r["prev_state"]
            p = threads[prev]
            if p.state == "running":
                p.close(r.ts)
            p.switches += 1
            p.cpus.add(r.cpu)
            if p.cpu is None:
                p.cpu = r.cpu
            if state == SCHED_RUNNING:
                p.preempted += 1
            p.state = {SCHED_RUNNING: "runnable", SCHED_BLOCKED: "blocked", SCHED_SLEEPING: "sleeping",
                       SCHED_EXITED: "exited"}.get(state, "blocked")
            p.since = r.ts
            q = threads[nxt]
            if q.state is not None:
                q.close(r.ts)
            if q.cpu is not None and q.cpu != r.cpu:
                q.migrations += 1
            q.state, q.since, q.cpu = "running", r.ts, r.cpu
            q.cpus.add(r.cpu)
        elif n == "sched.wake":
            t = threads[r["thread"]]
            t.wakeups += 1
            if t.state in (None, "blocked", "sleeping"):
                if t.state is not None:
                    t.close(r.ts)
                t.state, t.since = "runnable", r.ts
    end = end_ns if end_ns is not None else (records[-1].ts if records else 0)
    rows = {}
    for tid, t in threads.items():
        if t.state not in (None, "exited"):
            t.close(end)
        rows[tid] = {"run": t.run, "wait": t.wait, "sleep": t.sleep, "blocked": t.blocked,
                     "switches": t.switches, "preempted": t.preempted, "migrations": t.migrations,
                     "wakeups": t.wakeups, "cpus": sorted(t.cpus)}
    return rows


def render_sched(rows, names, out, keep=lambda tid: True):
    out.write(f"{'thread':<28} {'run(ms)':>12} {'wait(ms)':>12} {'sleep(ms)':>12} {'blocked(ms)':>12} "
              f"{'switches':>9} {'preempted':>9} {'migrations':>10} {'wakeups':>8} cpus\n")
    for tid, r in sorted(rows.items(), key=lambda kv: (-kv[1]["run"], kv[0])):
        if not keep(tid):
            continue
        out.write(f"{thread_label(tid, names):<28} {ms(r['run']):>12} {ms(r['wait']):>12} {ms(r['sleep']):>12} "
                  f"{ms(r['blocked']):>12} {r['switches']:>9} {r['preempted']:>9} {r['migrations']:>10} "
                  f"{r['wakeups']:>8} {','.join(map(str, r['cpus']))}\n")


# ---- hist -------------------------------------------------------------------------------------

def resolve_pair_name(name):
    """The base of a pair from what the user typed: `syscall`, `syscall.entry`, `irq`..."""
    role = pair_role(name)
    return role[0] if role else name


def hist(records, base, syscall=None, syscall_names=None):
    """Log2 buckets of the durations of `base`'s pairs: [(low_ns, high_ns, count)] from the
    lowest to the highest bucket used (empty ones between included); bucket k holds durations
    in [2^k, 2^(k+1)) ns (k = 0 also holds 0)."""
    durations = []
    for _, entry, exit_ in pairs(records, base):
        if syscall is not None and entry.get("number") != syscall:
            continue
        durations.append(exit_.ts - entry.ts)
    if not durations:
        return [], durations
    buckets = collections.Counter(max(0, d.bit_length() - 1) for d in durations)
    lo, hi = min(buckets), max(buckets)
    rows = [(0 if k == 0 else 1 << k, 1 << (k + 1), buckets.get(k, 0)) for k in range(lo, hi + 1)]
    return rows, durations


def _bucket_label(ns):
    """bpftrace's style: powers of two of ns with K, M, G (1024s)."""
    for shift, suffix in ((30, "G"), (20, "M"), (10, "K")):
        if ns >= 1 << shift and ns % (1 << shift) == 0:
            return f"{ns >> shift}{suffix}"
    return str(ns)


def _unit(ns):
    for div, suffix in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")):
        if ns >= div:
            v = ns / div
            return (f"{v:.0f}" if v == int(v) else f"{v:g}") + suffix
    return f"{ns}ns"


def render_hist(title, rows, durations, out):
    if not rows:
        out.write(f"{title}: no pairs\n")
        return
    st = duration_stats(durations)
    out.write(f"{title}: {st['count']} pairs, min {_unit(st['min'])}, avg {_unit(round(st['avg']))}, "
              f"p50 {_unit(st['p50'])}, p95 {_unit(st['p95'])}, p99 {_unit(st['p99'])}, max {_unit(st['max'])}\n")
    out.write(f"{'ns':>18} {'count':>8}\n")
    top = max(c for _, _, c in rows)
    for lo, hi, c in rows:
        bar = "#" * (round(HIST_BAR_WIDTH * c / top) if c else 0)
        if c and not bar:
            bar = "#"
        out.write(f"{'[' + _bucket_label(lo) + ', ' + _bucket_label(hi) + ')':>18} {c:>8} |{bar:<{HIST_BAR_WIDTH}}|\n")


# ---- profile ----------------------------------------------------------------------------------

def sample_stacks(records, symbolizer):
    """[(thread, [frame names root first], kernel?)] of the profile.sample records. The pc is
    the leaf; the backtrace's return addresses are its callers (a first entry equal to the pc
    is not repeated). Kernel frames end in `_[k]` (flamegraph.pl's colouring)."""
    out = []
    for r in records:
        if r.name != "profile.sample":
            continue
        pc = r["pc"]
        addrs = [(pc, False)] + [(a, True) for i, a in enumerate(r.backtrace or []) if not (i == 0 and a == pc)]
        frames = []
        in_kernel = bool(r.get("kernel", 0))
        for a, ret in addrs:
            res = symbolizer.resolve(a, r.ts, ret, kernel=in_kernel) if symbolizer else None
            if res and res[1]:
                name, kernel = res[1], res[0].kernel
            elif res:
                name, kernel = f"[{res[0].label}+{res[2]:#x}]", res[0].kernel
            else:
                name, kernel = f"{a:#x}", in_kernel
            frames.append(name.replace(";", ":") + ("_[k]" if kernel else ""))
        frames.reverse()
        out.append((r.thread, frames, bool(r.get("kernel", 0))))
    return out


def profile(stacks):
    """The flat profile: per function, self samples (the leaf) and total samples (anywhere in
    the stack, once per sample)."""
    self_ = collections.Counter()
    total = collections.Counter()
    for _, frames, _ in stacks:
        self_[frames[-1]] += 1
        for f in set(frames):
            total[f] += 1
    rows = [{"function": f, "self": self_.get(f, 0), "total": total[f]} for f in total]
    rows.sort(key=lambda r: (-r["self"], -r["total"], r["function"]))
    return {"samples": len(stacks), "kernel_samples": sum(1 for s in stacks if s[2]), "functions": rows}


def folded(stacks, names, with_thread=True):
    """Brendan Gregg's folded stacks: `root;...;leaf count`, sorted."""
    counts = collections.Counter()
    for tid, frames, _ in stacks:
        head = [names.get(tid, str(tid)).replace(";", ":").replace(" ", "_")] if with_thread else []
        counts[";".join(head + frames)] += 1
    return [f"{stack} {n}" for stack, n in sorted(counts.items())]


def render_profile(p, out, limit=None):
    n = p["samples"]
    out.write(f"{n} samples ({p['kernel_samples']} in the kernel)\n")
    out.write(f"{'self':>8} {'self%':>7} {'total':>8} {'total%':>7}  function\n")
    for r in p["functions"][:limit]:
        out.write(f"{r['self']:>8} {100 * r['self'] / n:>6.2f}% {r['total']:>8} {100 * r['total'] / n:>6.2f}%  "
                  f"{r['function']}\n")


def formatter(symbolizer, syscall_names, names):
    return FieldFormatter(symbolizer, syscall_names, names)
