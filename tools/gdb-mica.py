# GDB helpers for Mica kernels (GDB's Python API). tools/gdb loads this file (it cannot be
# tools/gdb/mica.py: tools/gdb is the script); by hand:
#   (gdb) file build/kernel.elf
#   (gdb) source tools/gdb-mica.py
#   (gdb) target remote | localhost:1234       (tools/run --debug)
# Commands (docs/debugging.md has a worked example of each):
#   mica threads [-bt]       every thread: id, name, state, CPU (and its backtrace)
#   mica thread N            look at thread N's stack (`bt`, `frame`, `info locals`...);
#   mica thread restore      put the CPU's registers back (done before continue/step too)
#   mica runqueues           each CPU's current, idle and queued threads and its sleepers
#   mica vmas [PID]          the application's memory areas (every process's without PID)
#   mica processes           the processes, their executables and load biases
#   mica app-symbols [HOST_ELF [SYSROOT]]
#                            the application's symbols (and its interpreter's) at their
#                            load addresses; tools/gdb --app sets HOST_ELF, and they are
#                            loaded again whenever the guest stops after an exec
#   mica trace [FILE]        the trace rings as a trace file for tools/trace
#
# What it reads (kernel side, keep in step): sched::(anon)::all_threads (every Thread, by
# Thread::all_link) and cpus[] (Cpu: current, idle, run_queue, sleepers) in
# kernel/sched/scheduler.cc; a switched-out thread's registers as arch/*/switch.S saved them
# at Thread::saved_sp; abi::all_processes (libc/linux/processes.h: exe, program_load, space)
# and each mm::vm::Space's Boost.Intrusive rbtree of Vma (kernel/mm/vm_internal.h, vma.h).
import gdb
from gdb.unwinder import Unwinder, register_unwinder

try:
    from gdb.unwinder import FrameId
except ImportError:  # GDB before 14: any object with sp and pc attributes (gdb.Values)
    class FrameId:
        def __init__(self, sp, pc):
            self.sp, self.pc = sp, pc

SCHED = "mica::sched::(anonymous namespace)::"
THREAD_TYPE = "mica::sched::Thread"
VMA_TYPE = "mica::mm::Vma"
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4  # mm/vma.h
PRIORITY_IDLE = 0                           # sched/policy.h
PRIORITY_LEVELS = 32                        # sched/run_queue.h

# Where arch/*/switch.S leaves a switched-out thread's registers: byte offsets from
# Thread::saved_sp, the frame's size (the stack pointer after the switch returns) and the
# register that holds the return address (the thread resumes there).
SWITCH_FRAMES = {
    "x86_64": {
        "regs": {"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbx": 32, "rbp": 40},
        "pc": 48, "size": 56, "sp": "rsp", "pcreg": "rip",
    },
    "aarch64": {
        "regs": {"x19": 0, "x20": 8, "x21": 16, "x22": 24, "x23": 32, "x24": 40, "x25": 48,
                 "x26": 56, "x27": 64, "x28": 72, "x29": 80, "x30": 88},
        "pc": 88, "size": 112, "sp": "sp", "pcreg": "pc",
    },
}


class MicaError(gdb.GdbError):
    pass


def arch():
    name = gdb.selected_frame().architecture().name() if gdb.selected_thread() else ""
    if "aarch64" in name:
        return "aarch64"
    if "x86-64" in name or "i386" in name:
        return "x86_64"
    raise MicaError(f"mica: unknown architecture {name!r} (connect to the guest first)")


def lookup(expression):
    # C++ names: where the guest stopped may be code without debug information (firmware,
    # the application), where GDB's language would be C.
    language = gdb.parameter("language")
    try:
        gdb.execute("set language c++", to_string=True)
        return gdb.parse_and_eval(f"'{expression}'" if "(anonymous" in expression else expression)
    except gdb.error as e:
        raise MicaError(f"mica: cannot read {expression} ({e}): is this a Mica kernel.elf with symbols?")
    finally:
        gdb.execute(f"set language {language}", to_string=True)


def u64(address):
    data = gdb.selected_inferior().read_memory(address, 8)
    return int.from_bytes(bytes(data), "little")


def c_string(pointer, limit=256):
    """A NUL-terminated string the kernel points at (read a byte at a time: no page past it
    is touched)."""
    address = int(pointer)
    if address == 0:
        return ""
    out = bytearray()
    memory = gdb.selected_inferior()
    try:
        while len(out) < limit:
            b = bytes(memory.read_memory(address + len(out), 1))
            if b == b"\0":
                break
            out += b
    except gdb.MemoryError:
        return "?"
    return out.decode(errors="replace")


def char_array(value):
    raw = bytes(int(value[i]) & 0xff for i in range(value.type.sizeof))
    return raw.split(b"\0")[0].decode(errors="replace")


def member_offset(type_name, member):
    """Byte offset of `member` in the type (looking through base classes too)."""
    def search(t, base):
        for f in t.fields():
            if f.name == member and not f.is_base_class:
                return base + f.bitpos // 8
            if f.is_base_class:
                found = search(f.type.strip_typedefs(), base + f.bitpos // 8)
                if found is not None:
                    return found
        return None
    found = search(gdb.lookup_type(type_name).strip_typedefs(), 0)
    if found is None:
        raise MicaError(f"mica: {type_name} has no member {member}")
    return found


def list_items(list_value, type_name, member):
    """The items of a sched::List<T, &T::member> (kernel/include/mica/sched/list.h)."""
    head = list_value["head_"]
    head_address = int(head.address)
    offset = member_offset(type_name, member)
    item_type = gdb.lookup_type(type_name).pointer()
    node = head["next"]
    seen = 0
    while int(node) != head_address and int(node) != 0:
        yield gdb.Value(int(node) - offset).cast(item_type).dereference()
        node = node["next"]
        seen += 1
        if seen > 1000000:
            raise MicaError("mica: a list does not end (corrupt, or the guest stopped mid-update)")


def state_name(value):
    return str(value).split("::")[-1]


# ---- threads --------------------------------------------------------------------------------

class ThreadInfo:
    def __init__(self, t):
        self.value = t
        self.address = int(t.address)
        self.id = int(t["id"])
        self.kernel_name = c_string(t["name"])
        self.state = state_name(t["state"])
        self.cpu = int(t["cpu"])
        self.priority = int(t["priority"])
        self.saved_sp = int(t["saved_sp"])
        self.tid = None
        self.app_name = ""
        self.pid = None
        app = int(t["app"])
        if app:
            a = gdb.Value(app).cast(gdb.lookup_type("mica::abi::AppThread").pointer()).dereference()
            self.tid = int(a["tid"])
            self.app_name = char_array(a["name"])
            process = int(a["process"])
            if process:
                p = gdb.Value(process).cast(gdb.lookup_type("mica::abi::Process").pointer()).dereference()
                self.pid = int(p["pid"])
                if not self.app_name:
                    self.app_name = char_array(p["name"])

    @property
    def name(self):
        return self.app_name or self.kernel_name

    def describe(self):
        where = f"cpu {self.cpu}" if self.state == "running" else f"(cpu {self.cpu})"
        linux = f" tid {self.tid} pid {self.pid}" if self.tid is not None else ""
        kind = "app" if self.tid is not None else ("idle" if self.priority == PRIORITY_IDLE else "kernel")
        return (f"{self.id:>5}  {self.name:<16} {self.state:<9} {where:<9} {kind:<6} prio {self.priority:<2}"
                f"{linux}  (Thread *) {self.address:#x}")


def all_threads():
    return [ThreadInfo(t) for t in list_items(lookup(SCHED + "all_threads"), THREAD_TYPE, "all_link")]


def find_thread(key):
    """A thread by its id, or by address (0x...)."""
    for t in all_threads():
        if t.id == key or t.address == key:
            return t
    raise MicaError(f"mica: no thread {key} (mica threads lists them)")


def vcpu_index(gdb_thread):
    """Mica's index of the CPU that GDB thread (a QEMU vCPU) is, read from the per-CPU
    register the kernel keeps it in (x86_64: the word at GS base; aarch64: TPIDR_EL1),
    else QEMU's numbering."""
    previous = gdb.selected_thread()
    try:
        gdb_thread.switch()
        try:
            if arch() == "x86_64":
                return u64(int(gdb.parse_and_eval("$gs_base")))
            return int(gdb.parse_and_eval("$TPIDR_EL1"))
        except (gdb.error, gdb.MemoryError):
            return gdb_thread.ptid[1] - 1
    finally:
        if previous:
            previous.switch()


def vcpus():
    """{Mica CPU index: GDB thread}."""
    return {vcpu_index(t): t for t in gdb.selected_inferior().threads()}


class SavedRegisters:
    """The selected vCPU's registers, put back by restore(): looking at a switched-out thread
    writes its saved registers into the vCPU (GDB unwinds from the registers), and the guest
    must not run on with them."""
    saved = None  # (gdb thread, {register: value}) while a thread's registers are loaded

    @classmethod
    def save(cls, names):
        if cls.saved is None:
            cls.saved = (gdb.selected_thread(), {n: int(gdb.parse_and_eval("$" + n)) for n in names})

    @classmethod
    def restore(cls):
        if cls.saved is None:
            return False
        thread, values = cls.saved
        cls.saved = None
        previous = gdb.selected_thread()
        thread.switch()
        for name, value in values.items():
            gdb.execute(f"set ${name} = {value:#x}", to_string=True)
        gdb.invalidate_cached_frames()
        if previous and previous != thread:
            previous.switch()
        return True


def show_thread(t):
    """Makes GDB's current frame thread t's innermost: its vCPU if it is running, else its
    switched-out registers loaded into the selected vCPU (SavedRegisters)."""
    if t.state == "running":
        SavedRegisters.restore()
        cpus = vcpus()
        if t.cpu not in cpus:
            raise MicaError(f"mica: thread {t.id} runs on CPU {t.cpu}, which GDB does not show")
        cpus[t.cpu].switch()
        return
    frame = SWITCH_FRAMES[arch()]
    if t.saved_sp == 0:
        raise MicaError(f"mica: thread {t.id} has no saved context")
    names = list(frame["regs"]) + [frame["sp"], frame["pcreg"]]
    SavedRegisters.save(names)
    values = {reg: u64(t.saved_sp + off) for reg, off in frame["regs"].items()}
    values[frame["sp"]] = t.saved_sp + frame["size"]
    values[frame["pcreg"]] = u64(t.saved_sp + frame["pc"])
    for reg, value in values.items():
        gdb.execute(f"set ${reg} = {value:#x}", to_string=True)
    gdb.invalidate_cached_frames()


def backtrace(t, limit=32):
    show_thread(t)
    try:
        return gdb.execute(f"bt {limit}", to_string=True)
    except gdb.error as e:
        return f"(no backtrace: {e})\n"


class Mica(gdb.Command):
    """Mica kernel helpers: mica threads [-bt], mica thread N|restore, mica runqueues,
mica vmas [PID], mica processes, mica app-symbols [HOST_ELF [SYSROOT]], mica trace."""

    def __init__(self):
        super().__init__("mica", gdb.COMMAND_USER, gdb.COMPLETE_COMMAND, True)


class MicaThreads(gdb.Command):
    """List every thread: id, name, state, CPU, kind (app/kernel/idle), priority, Linux tid.
With -bt, each thread's backtrace (running threads: their CPU's; others: from where they
switched out). Usage: mica threads [-bt]"""

    def __init__(self):
        super().__init__("mica threads", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if any(a not in ("-bt", "--bt") for a in args):
            raise MicaError("usage: mica threads [-bt]")
        with_bt = bool(args)
        threads = all_threads()
        gdb.write(f"{'id':>5}  {'name':<16} {'state':<9} {'cpu':<9} {'kind':<6} priority\n")
        selected = gdb.selected_thread()
        try:
            for t in threads:
                gdb.write(t.describe() + "\n")
                if with_bt:
                    gdb.write(backtrace(t))
        finally:
            if with_bt:
                SavedRegisters.restore()
                if selected:
                    selected.switch()
        gdb.write(f"{len(threads)} threads\n")


class MicaThread(gdb.Command):
    """Look at a thread's stack: mica thread N (N: its id from mica threads, or its Thread
address). A running thread selects its CPU's GDB thread; a switched-out one loads the
registers it switched out with into the current vCPU, so bt, frame and info locals show its
stack. mica thread restore puts the vCPU's own registers back; continue, step, next, stepi,
nexti, finish and until do that first."""

    def __init__(self):
        super().__init__("mica thread", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if len(args) != 1:
            raise MicaError("usage: mica thread N | mica thread restore")
        if args[0] == "restore":
            gdb.write("mica: registers restored\n" if SavedRegisters.restore() else "mica: nothing to restore\n")
            return
        try:
            key = int(args[0], 0)
        except ValueError:
            raise MicaError(f"mica thread: {args[0]!r} is not a thread id or address")
        t = find_thread(key)
        show_thread(t)
        gdb.write(f"[thread {t.id} {t.name}, {t.state}]\n")
        gdb.execute("frame", from_tty)


class MicaRunQueues(gdb.Command):
    """Each online CPU's scheduler state: its current and idle thread, the threads queued to
run on it by priority, and its sleepers (with their wake-up time in cycles)."""

    def __init__(self):
        super().__init__("mica runqueues", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        cpus = lookup(SCHED + "cpus")
        count = cpus.type.range()[1] + 1
        for i in range(count):
            c = cpus[i]
            if not bool(c["online"]):
                continue
            current = ThreadInfo(c["current"].dereference()) if int(c["current"]) else None
            idle = ThreadInfo(c["idle"].dereference()) if int(c["idle"]) else None
            gdb.write(f"cpu {i}: current {self.name(current)}, idle {self.name(idle)}, "
                      f"switches {int(c['switches'])}, need_resched {bool(c['need_resched'])}\n")
            rq = c["run_queue"]
            queued = 0
            for p in range(PRIORITY_LEVELS - 1, -1, -1):
                items = list(list_items(rq["queues_"][p], THREAD_TYPE, "run_link"))
                if items:
                    gdb.write(f"  priority {p}: " + ", ".join(self.name(ThreadInfo(t)) for t in items) + "\n")
                    queued += len(items)
            if not queued:
                gdb.write("  run queue empty\n")
            sleepers = [ThreadInfo(t) for t in list_items(c["sleepers"], THREAD_TYPE, "timer_link")]
            for s in sleepers:
                gdb.write(f"  sleeping: {self.name(s)} until cycle {int(s.value['wake_at'])}\n")

    @staticmethod
    def name(t):
        return f"{t.id} {t.name}" if t else "none"


# ---- processes and memory --------------------------------------------------------------------

def processes():
    result = []
    p = lookup("mica::abi::all_processes")
    while int(p):
        result.append(p.dereference())
        p = p.dereference()["next"]
    return result


def rbtree_in_order(header):
    """Nodes of a Boost.Intrusive red-black tree (optimize_size: the colour is the parent
    pointer's low bit) from its header node, whose parent is the root, in key order."""
    def untag(v):
        return int(v) & ~1
    root = untag(header["parent_"])
    node_type = header.type.pointer()
    stack, node, out = [], root, []
    while stack or node:
        while node:
            stack.append(node)
            node = untag(gdb.Value(node).cast(node_type).dereference()["left_"])
        node = stack.pop()
        out.append(node)
        node = untag(gdb.Value(node).cast(node_type).dereference()["right_"])
        if len(out) > 1000000:
            raise MicaError("mica: the area tree does not end (corrupt?)")
    return out


def is_tree_node(t):
    name = t.name or ""
    return name.startswith("boost::intrusive::compact_rbtree_node<") or name.startswith("boost::intrusive::rbtree_node<")


def find_header(value, depth=0):
    """The rbtree header node inside a boost::intrusive::set (its layout differs between Boost
    versions: search the members and bases for the node type)."""
    t = value.type.strip_typedefs()
    if is_tree_node(t):
        return value
    if depth > 16 or t.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return None
    for f in t.fields():
        if not hasattr(f, "bitpos") or (f.name is None and not f.is_base_class):
            continue  # static members have no position
        try:
            found = find_header(value[f], depth + 1)
        except gdb.error:
            continue
        if found is not None:
            return found
    return None


def space_areas(space):
    areas = space["areas"]["areas_"]
    header = find_header(areas)
    if header is None:
        raise MicaError("mica: cannot find the area tree's header in AddressSpace::areas_")
    vma = gdb.lookup_type(VMA_TYPE).pointer()
    # The hook is Vma's first base class: a node's address is its Vma's.
    return [gdb.Value(n).cast(vma).dereference() for n in rbtree_in_order(header)]


def prot_string(prot, shared):
    return ("r" if prot & PROT_READ else "-") + ("w" if prot & PROT_WRITE else "-") + \
        ("x" if prot & PROT_EXEC else "-") + ("s" if shared else "p")


class MicaVmas(gdb.Command):
    """The application's memory areas, as /proc/PID/maps: start-end, protection, size and kind
(anonymous, heap, stack, image, vdso, vvar, or file-paged); the kernel's reserved ranges are
left out unless -a. Usage: mica vmas [-a] [PID] (default: every process)."""

    def __init__(self):
        super().__init__("mica vmas", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        show_reserved = "-a" in args
        args = [a for a in args if a != "-a"]
        want = None
        if args:
            try:
                want = int(args[0])
            except ValueError:
                raise MicaError(f"usage: mica vmas [-a] [PID] ({args[0]!r} is not a pid)")
        shown = 0
        for p in processes():
            pid = int(p["pid"])
            if want is not None and pid != want:
                continue
            if not int(p["space"]):
                continue
            shown += 1
            space = p["space"].dereference()
            areas = space_areas(space)
            reserved = sum(1 for a in areas if state_name(a["kind"]) == "reserved")
            hidden = f", {reserved} reserved for the kernel not shown (-a)" if reserved and not show_reserved else ""
            gdb.write(f"pid {pid} {c_string(p['exe'])}: {len(areas) - reserved} areas{hidden} "
                      f"(space {int(p['space']):#x}, break {int(space['break_start']):#x}-{int(space['break_end']):#x})\n")
            for a in areas:
                kind = state_name(a["kind"])
                if kind == "reserved" and not show_reserved:
                    continue
                start, end = int(a["start"]), int(a["end"])
                pager = " file-paged" if int(a["pager"]) else ""
                gdb.write(f"  {start:#018x}-{end:#018x} {prot_string(int(a['prot']), bool(a['shared']))} "
                          f"{(end - start) // 1024:>9} KiB  {kind}{pager}\n")
        if want is not None and not shown:
            raise MicaError(f"mica vmas: no process {want}")
        if not shown:
            gdb.write("mica: no application process yet\n")


class MicaProcesses(gdb.Command):
    """The processes: pid, parent, executable, load bias of the program and its interpreter,
live threads, state."""

    def __init__(self):
        super().__init__("mica processes", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        if not processes():
            gdb.write("mica: no application process yet\n")
        for p in processes():
            load = p["program_load"]
            parent = int(p["parent"].dereference()["pid"]) if int(p["parent"]) else 0
            state = "zombie" if bool(p["zombie"]) else ("exiting" if bool(p["exiting"]) else "live")
            gdb.write(f"pid {int(p['pid'])} ppid {parent} {c_string(p['exe'])}: load bias "
                      f"{int(load['load_bias']):#x}, interpreter bias {int(load['interpreter_bias']):#x}, "
                      f"{int(p['threads'])} threads, {state}\n")


# ---- application symbols --------------------------------------------------------------------

class AppSymbols:
    host_program = None   # the application's ELF on the host (tools/gdb --app)
    sysroot = ""          # where its interpreter is on the host (aarch64 programs)
    loaded = {}           # host path -> bias it was loaded at


def elf_interpreter(path):
    """PT_INTERP of a 64-bit little-endian ELF file, or None."""
    import struct
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return None
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(56)
            kind, = struct.unpack_from("<I", ph, 0)
            if kind == 3:  # PT_INTERP
                offset, = struct.unpack_from("<Q", ph, 8)
                size, = struct.unpack_from("<Q", ph, 32)
                f.seek(offset)
                return f.read(size).split(b"\0")[0].decode()
    return None


def load_app_symbols(quiet=False):
    """add-symbol-file for the first process's program (and its interpreter) at the biases
    the kernel recorded; again after an exec moved them. Returns what it did."""
    import os
    host = AppSymbols.host_program
    if not host:
        raise MicaError("mica app-symbols: which ELF file? (mica app-symbols HOST_ELF; tools/gdb --app sets it)")
    procs = processes()
    first = [p for p in procs if int(p["pid"]) == 1] or procs
    if not first:
        if not quiet:
            gdb.write("mica: the application has not started yet; its symbols load when the guest stops after that\n")
        return []
    load = first[0]["program_load"]
    wanted = [(host, int(load["load_bias"]))]
    interp = elf_interpreter(host)
    if interp and int(load["interpreter_bias"]):
        path = os.path.join(AppSymbols.sysroot, interp.lstrip("/")) if AppSymbols.sysroot else interp
        if os.path.exists(path):
            wanted.append((os.path.realpath(path), int(load["interpreter_bias"])))
    done = []
    for path, bias in wanted:
        if AppSymbols.loaded.get(path) == bias:
            continue
        if path in AppSymbols.loaded:
            gdb.execute(f"remove-symbol-file {path}", to_string=True)
        gdb.execute(f"add-symbol-file {path} -o {bias:#x}", to_string=True)
        AppSymbols.loaded[path] = bias
        done.append((path, bias))
        gdb.write(f"mica: symbols of {path} loaded at bias {bias:#x}\n")
    return done


class MicaAppSymbols(gdb.Command):
    """Load the application's symbols where the kernel loaded it: mica app-symbols [HOST_ELF
[SYSROOT]]. HOST_ELF is the program's file on the host (the one tools/run --app put in the
guest); its interpreter (PT_INTERP) is found under SYSROOT (default /). The biases come from
the first process (libc/linux/processes.h Process::program_load). After this, symbols are
reloaded on every stop where the kernel's biases changed (an exec)."""

    def __init__(self):
        super().__init__("mica app-symbols", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if len(args) > 2:
            raise MicaError("usage: mica app-symbols [HOST_ELF [SYSROOT]]")
        if args:
            import os
            if not os.path.isfile(args[0]):
                raise MicaError(f"mica app-symbols: no file {args[0]}")
            AppSymbols.host_program = os.path.realpath(args[0])
            AppSymbols.loaded = {}
        if len(args) == 2:
            AppSymbols.sysroot = args[1]
        if not load_app_symbols() and AppSymbols.loaded:
            gdb.write("mica: application symbols already loaded at the kernel's biases\n")


def on_stop(event):
    if AppSymbols.host_program:
        try:
            load_app_symbols(quiet=True)
        except (gdb.error, MicaError, OSError):
            pass  # stopped before the kernel's structures exist, or mid-update


# The trace file of docs/tracing.md, from the rings of a stopped guest: the same bytes the
# kernel's dump writes at exit (kernel/trace/format.cc), so tools/trace reads either.
TRACE_MAGIC = b"MICATRC1"
TRACE_VERSION = 1
TRACE_CPU_TAG, TRACE_END_TAG = 0x00555043, 0x00444E45
TRACE_FLAG_BACKTRACES, TRACE_FLAG_PROFILE = 1, 2
TRACE_STRING_FIELD = 4
TRACE_MAX_STRING, TRACE_MAX_BACKTRACE = 255, 16
TRACE_HEADER_SIZE = 16


def read_bytes(address, size):
    return bytes(gdb.selected_inferior().read_memory(address, size)) if size else b""


def trace_descriptors():
    table = lookup("mica::trace::descriptors")
    count = table.type.range()[1] + 1
    points = []
    for i in range(count):
        d = table[i]
        fields = [(int(d["fields"][f]["type"]), c_string(d["fields"][f]["name"])) for f in range(int(d["field_count"]))]
        points.append((c_string(d["name"]), fields))
    return points


def ring_snapshot(ring):
    """The records of one ring, oldest first: [tail, head) of its buffer (stopped guest:
    nothing moves; a record being written is not published in head yet)."""
    data, capacity = int(ring["data_"]), int(ring["capacity_"])
    head, tail, lost = int(ring["head_"]), int(ring["tail_"]), int(ring["lost_"])
    if not data or not capacity or head < tail or head - tail > capacity:
        return b"", lost
    start, size = tail % capacity, head - tail
    first = min(size, capacity - start)
    return read_bytes(data + start, first) + read_bytes(data, size - first), lost


def pad8(n):
    return (n + 7) & ~7


def ring_records(raw, points, backtraces, sample_id):
    """(header fields, words, backtrace, strings) of each whole record, as
    format.cc's next_ring_record checks them; the first record that does not add up ends it."""
    offset = 0
    while offset + TRACE_HEADER_SIZE <= len(raw):
        ts = int.from_bytes(raw[offset:offset + 8], "little")
        pid = int.from_bytes(raw[offset + 8:offset + 10], "little")
        size = int.from_bytes(raw[offset + 10:offset + 12], "little")
        thread = int.from_bytes(raw[offset + 12:offset + 16], "little")
        if pid >= len(points) or size < TRACE_HEADER_SIZE or size % 8 or offset + size > len(raw):
            return
        fields = points[pid][1]
        words = [int.from_bytes(raw[offset + 16 + 8 * i:offset + 24 + 8 * i], "little") for i in range(len(fields))]
        need = TRACE_HEADER_SIZE + 8 * len(fields)
        backtrace = None
        if backtraces or pid == sample_id:
            if need + 8 > size:
                return
            depth = int.from_bytes(raw[offset + need:offset + need + 8], "little")
            if depth > TRACE_MAX_BACKTRACE or need + 8 * (1 + depth) > size:
                return
            backtrace = [int.from_bytes(raw[offset + need + 8 + 8 * i:offset + need + 16 + 8 * i], "little")
                         for i in range(depth)]
            need += 8 * (1 + depth)
        strings = []
        for (kind, _), word in zip(fields, words):
            if kind == TRACE_STRING_FIELD:
                n = min(word, TRACE_MAX_STRING)
                strings.append(raw[offset + need:offset + need + n])
                need += pad8(n)
        if need != size:
            return
        yield ts, pid, thread, words, backtrace, strings
        offset += size


def trace_file(points, sections, cpu_count, flags, arch_name, boot_wall_ns, origin, hz):
    import struct
    import zlib

    def ns(cycles):
        c = cycles - origin if cycles > origin else 0
        return c // hz * 1000000000 + c % hz * 1000000000 // hz if hz else 0

    def string(text):
        data = text.encode()[:0xFFFF]
        return struct.pack("<H", len(data)) + data

    out = bytearray(TRACE_MAGIC + struct.pack("<IIQQQ", TRACE_VERSION, cpu_count, 1, 1, boot_wall_ns))
    out += arch_name.encode()[:15].ljust(16, b"\0") + struct.pack("<QII", 0, flags, 0)
    out += struct.pack("<I", len(points))
    for i, (name, fields) in enumerate(points):
        out += struct.pack("<HBB", i, len(fields), 0) + string(name)
        for kind, field in fields:
            out += struct.pack("<B", kind) + string(field)
    for cpu, records, lost in sections:
        table, body = bytearray(), bytearray()
        for ts, pid, thread, words, backtrace, strings in records:
            size = TRACE_HEADER_SIZE + 8 * len(words) + (8 * (1 + len(backtrace)) if backtrace is not None else 0)
            body += struct.pack("<QHHI", ns(ts), pid, size, thread)
            pieces = iter(strings)
            for (kind, _), word in zip(points[pid][1], words):
                if kind == TRACE_STRING_FIELD:
                    body += struct.pack("<Q", len(table))
                    table += next(pieces) + b"\0"
                else:
                    body += struct.pack("<Q", word)
            if backtrace is not None:
                body += struct.pack("<Q", len(backtrace)) + b"".join(struct.pack("<Q", a) for a in backtrace)
        out += struct.pack("<IIQQ", TRACE_CPU_TAG, cpu, lost, len(table)) + table
        out += struct.pack("<Q", len(body)) + body
    out += struct.pack("<II", TRACE_END_TAG, zlib.crc32(bytes(out)))
    return bytes(out)


class MicaTrace(gdb.Command):
    """mica trace [FILE]: the trace rings of the stopped guest written as a trace file
(docs/tracing.md; default mica.trace) for tools/trace, as the kernel would write them at
exit. The guest keeps running afterwards with its rings as they were."""

    def __init__(self):
        super().__init__("mica trace", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        path = argument.strip() or "mica.trace"
        try:
            ring_count = int(lookup("mica::trace::internal::ring_count"))
        except MicaError:
            gdb.write("mica trace: tracing not in this kernel (CONFIG_TRACING=n: no trace rings)\n")
            return
        if ring_count == 0:
            gdb.write("mica trace: no rings yet (nothing enabled with --trace, or the kernel is still booting)\n")
            return
        points = trace_descriptors()
        sample_id = next((i for i, (name, _) in enumerate(points) if name == "profile.sample"), -1)
        options = lookup("mica::trace::internal::options")
        backtraces = bool(options["backtrace"])
        flags = (TRACE_FLAG_BACKTRACES if backtraces else 0) | (TRACE_FLAG_PROFILE if int(options["profile_hz"]) else 0)
        origin = int(lookup("mica::bootchart::(anonymous namespace)::origin"))
        hz = int(lookup("mica::arch::(anonymous namespace)::tsc_hz" if arch() == "x86_64" else "mica::arch::(anonymous namespace)::frequency"))
        rings = lookup("mica::trace::internal::rings")
        sections, total, lost_total = [], 0, 0
        for cpu in range(ring_count):
            raw, lost = ring_snapshot(rings[cpu]["ring"])
            records = list(ring_records(raw, points, backtraces, sample_id))
            sections.append((cpu, records, lost))
            total += len(records)
            lost_total += lost
        data = trace_file(points, sections, ring_count, flags, arch(), 0, origin, hz)
        with open(path, "wb") as f:
            f.write(data)
        gdb.write(f"mica trace: {total} records from {ring_count} CPUs ({lost_total} overwritten) "
                  f"written to {path}: tools/trace list {path}\n")


def before_resume():
    SavedRegisters.restore()


class RestoreBeforeResume(gdb.Command):
    """Internal: runs before continue/step/next... (hooks) to put back registers that
mica thread replaced."""

    def __init__(self):
        super().__init__("mica-restore-registers", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        before_resume()


# ---- unwinding from a system call into the application ---------------------------------------

# x86_64: arch/x86_64/syscall.S pushes a SyscallFrame and calls x86_64_syscall; the frame that
# returns to mica_syscall_exit has the frame at its stack pointer, holding the application's
# registers at these offsets. With them GDB goes on unwinding in the application's code.
X86_SYSCALL_FRAME = {"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "rip": 104, "rsp": 120}


class SyscallFrameUnwinder(Unwinder):
    def __init__(self):
        super().__init__("mica-syscall")
        self.exit_pc = None

    def __call__(self, pending):
        try:
            if self.exit_pc is None:
                self.exit_pc = int(gdb.parse_and_eval("&mica_syscall_exit").cast(gdb.lookup_type("long")))
            if "x86-64" not in pending.architecture().name():
                return None
            pc = int(pending.read_register("rip"))
            if pc != self.exit_pc:
                return None
            sp = int(pending.read_register("rsp"))
            info = pending.create_unwind_info(FrameId(pending.read_register("rsp"), pending.read_register("rip")))
            for reg, offset in X86_SYSCALL_FRAME.items():
                info.add_saved_register(reg, gdb.Value(u64(sp + offset)))
            return info
        except (gdb.error, gdb.MemoryError):
            return None


Mica()
MicaThreads()
MicaThread()
MicaRunQueues()
MicaVmas()
MicaProcesses()
MicaAppSymbols()
MicaTrace()
RestoreBeforeResume()
register_unwinder(None, SyscallFrameUnwinder(), replace=True)
gdb.events.stop.connect(on_stop)
for _command in ("continue", "step", "next", "stepi", "nexti", "finish", "until", "advance", "jump"):
    gdb.execute(f"define hook-{_command}\nmica-restore-registers\nend", to_string=True)
