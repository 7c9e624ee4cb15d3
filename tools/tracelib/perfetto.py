"""The Chrome/Perfetto JSON trace (the Trace Event Format: a {"traceEvents": [...]} object,
timestamps in microseconds) that ui.perfetto.dev and chrome://tracing open.

Tracks (pid, tid):
- a "CPUs" process with a track per CPU: what ran there, one complete ("X") event per stretch
  of a thread between two sched.switch records (the idle threads included, so a wake-up from an
  interrupt in idle has a slice to start from);
- the application's process (its app.start pid and program name: every application thread is
  put there, the trace does not say which process a thread belongs to) and a "kernel" process
  for the kernel's threads, with a track per thread: each matched entry/exit pair (system calls
  by name, interrupts...) is a complete event, page faults are zero-length complete events,
  other records instants ("i", thread scope);
- wake-ups are flows ("s" at the sched.wake on the waker's CPU track, "f" with bp "e" at the
  woken thread's next switch-in on the CPU track it runs on);
- names come as metadata ("M": process_name, thread_name, process_sort_index,
  thread_sort_index).
Events are sorted by time (metadata first), enclosing slices before the ones they hold.
"""
import bisect
import collections

from .analysis import is_kernel_thread, pair_role, pairs
from .tracefile import FIELD_ERRNO, FIELD_HEX, FIELD_STRING
from .symbols import errno_name

CPU_TRACKS_PID = 2_100_000_000        # above any thread id the kernel hands out
KERNEL_PID = 2_099_999_999
NS_PER_US = 1000.0
SCHED_ONLY = ("sched.switch", "sched.wake", "sched.migrate", "sched.thread_name", "profile.sample")


def _us(ns):
    return round(ns / NS_PER_US, 3)


def _dur(start, end):
    return round(_us(end) - _us(start), 3)


def _args(r, syscall_names, symbolizer, prefix=""):
    a = {}
    for (ftype, fname), v in zip(r.tp.fields, r.values):
        if ftype == FIELD_HEX:
            text = f"{v:#x}"
            where = symbolizer.describe(v, r.ts) if symbolizer and fname in ("pc", "ip") else ""
            a[prefix + fname] = f"{text} {where}" if where else text
        elif ftype == FIELD_ERRNO:
            a[prefix + fname] = errno_name(v)
        elif ftype == FIELD_STRING:
            a[prefix + fname] = v
        else:
            a[prefix + fname] = v
    if r.name.startswith("syscall.") and "number" in r.tp.index:
        a["syscall"] = syscall_names(r["number"])
    return a


def convert(trace, records, names, syscall_names, symbolizer=None):
    """The JSON object (a dict) for `records` (in time order)."""
    events = []
    meta = []
    app_pids = []
    programs = {}
    for r in trace.records:
        if r.name in ("app.start", "app.exec"):
            if r["pid"] not in app_pids:
                app_pids.append(r["pid"])
            programs[r["pid"]] = r.get("path", "").rsplit("/", 1)[-1]
    main_pid = app_pids[0] if app_pids else 1

    def pid_of(tid):
        if is_kernel_thread(tid):
            return KERNEL_PID
        return tid if tid in app_pids else main_pid

    threads_seen = set()

    def thread_track(tid):
        threads_seen.add(tid)
        return pid_of(tid), tid

    # CPU tracks: who ran when.
    running = {}                  # cpu -> (tid, start)
    first_ts = {}
    for r in records:
        first_ts.setdefault(r.cpu, r.ts)
    switch_ins = collections.defaultdict(list)    # tid -> [(ts, cpu)]
    for r in records:
        if r.name != "sched.switch":
            continue
        prev, nxt = r["prev_thread"], r["next_thread"]
        tid, start = running.get(r.cpu, (prev, first_ts[r.cpu]))
        if r.ts > start:
            _run_slice(events, r.cpu, tid, start, r.ts, names)
        running[r.cpu] = (nxt, r.ts)
        switch_ins[nxt].append((r.ts, r.cpu))
        threads_seen.update((prev, nxt))
    end = records[-1].ts if records else 0
    for cpu, (tid, start) in running.items():
        if end > start:
            _run_slice(events, cpu, tid, start, end, names)

    # Wake-ups as flows, from the waker's CPU to the woken thread's next switch-in.
    flow_id = 0
    for r in records:
        if r.name != "sched.wake":
            continue
        target = r["thread"]
        ins = switch_ins.get(target, [])
        i = bisect.bisect_left(ins, (r.ts, -1))
        nxt = ins[i] if i < len(ins) else None
        if nxt is None or r.cpu not in running:
            continue     # no switch-in to end at, or no run slice on the waker's CPU to start in
        flow_id += 1
        common = {"name": "wakeup", "cat": "sched", "id": flow_id}
        events.append(dict(common, ph="s", ts=_us(r.ts), pid=CPU_TRACKS_PID, tid=CPU_TRACKS_PID + r.cpu,
                           args={"waker": r.thread, "woken": target}))
        events.append(dict(common, ph="f", bp="e", ts=_us(nxt[0]), pid=CPU_TRACKS_PID, tid=CPU_TRACKS_PID + nxt[1]))

    # Thread tracks: pairs as slices, faults, the other records as instants.
    paired = set()
    for base, entry, exit_ in pairs(records):
        paired.add(id(entry))
        paired.add(id(exit_))
        name = syscall_names(entry["number"]) if base == "syscall" and "number" in entry.tp.index else base
        args = _args(entry, syscall_names, symbolizer)
        args.update(_args(exit_, syscall_names, symbolizer, prefix="exit."))
        pid, tid = thread_track(entry.thread)
        events.append({"ph": "X", "name": name, "cat": base, "ts": _us(entry.ts),
                       "dur": _dur(entry.ts, exit_.ts), "pid": pid, "tid": tid, "args": args})
    pair_bases = {pair_role(tp.name)[0] for tp in trace.tracepoints.values()
                  if pair_role(tp.name) and pair_role(tp.name)[1] == "entry"}
    for r in records:
        if r.name in SCHED_ONLY or id(r) in paired:
            continue
        role = pair_role(r.name)
        if role and role[0] in pair_bases:
            continue     # half of a pair whose other half is not in the trace
        pid, tid = thread_track(r.thread)
        ev = {"name": r.name, "cat": r.name.split(".", 1)[0], "ts": _us(r.ts), "pid": pid, "tid": tid,
              "args": _args(r, syscall_names, symbolizer)}
        if r.name == "mm.fault":
            ev.update(ph="X", dur=0, name="page fault")
        else:
            ev.update(ph="i", s="t")
        events.append(ev)

    # Metadata.
    meta.append(_m("process_name", CPU_TRACKS_PID, CPU_TRACKS_PID, name="CPUs"))
    meta.append(_m("process_sort_index", CPU_TRACKS_PID, CPU_TRACKS_PID, sort_index=0))
    for cpu in sorted({r.cpu for r in records} | {c.cpu for c in trace.cpus}):
        meta.append(_m("thread_name", CPU_TRACKS_PID, CPU_TRACKS_PID + cpu, name=f"CPU {cpu}"))
        meta.append(_m("thread_sort_index", CPU_TRACKS_PID, CPU_TRACKS_PID + cpu, sort_index=cpu))
    pids = {pid_of(t) for t in threads_seen}
    for pid in sorted(pids):
        if pid == KERNEL_PID:
            pname = "kernel"
        else:
            pname = programs.get(pid) or names.get(pid, "application")
        meta.append(_m("process_name", pid, pid, name=pname))
        meta.append(_m("process_sort_index", pid, pid, sort_index=1 if pid != KERNEL_PID else 2))
    for tid in sorted(threads_seen):
        meta.append(_m("thread_name", pid_of(tid), tid, name=names.get(tid, f"thread {tid}")))

    events.sort(key=lambda e: (e["ts"], -e.get("dur", 0), 0 if e["ph"] == "X" else 1))
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"arch": trace.arch, "cpu_count": trace.cpu_count,
                          "boot_wall_ns": trace.boot_wall_ns, "tool": "Mica tools/trace"}}


def _m(what, pid, tid, **args):
    """A metadata event; process ones carry tid = pid (Perfetto makes a thread of every
    (pid, tid) it sees, and that one is the process's main thread or its first track)."""
    return {"ph": "M", "name": what, "pid": pid, "tid": tid, "args": args}


def _run_slice(events, cpu, tid, start, end, names):
    name = names.get(tid, f"thread {tid}")
    events.append({"ph": "X", "name": name, "cat": "sched", "ts": _us(start), "dur": _dur(start, end),
                   "pid": CPU_TRACKS_PID, "tid": CPU_TRACKS_PID + cpu, "args": {"thread": tid}})
