#!/usr/bin/python3
"""The interpreter and shared libraries a dynamically linked ELF program loads, found the way its
dynamic linker finds them, by reading files (nothing is run).

  tools/elfdeps.py [--sysroot DIR ...] [--guest-path /GUEST/PATH] ELF_FILE

prints one line per object the program loads, "GUEST_PATH => HOST_FILE" (the interpreter first,
then the libraries in the order ld.so loads them), like ldd without running anything, and exits
1 with the reason when a library cannot be found. tools/run packs these files into the boot
archive (see its --help). Python 3.11 standard library only; tools/run imports this module.

What is read: the ELF header (EI_CLASS, EI_DATA, e_machine, e_type), PT_INTERP, and from
PT_DYNAMIC: DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_FLAGS_1 (DF_1_NODEFLIB).

glibc's order (elf/dl-load.c, _dl_map_object), for a name needed by object L:
  0. an object already loaded under that name or with that DT_SONAME (ld.so itself is loaded
     under its PT_INTERP path and its SONAME, so libc's DT_NEEDED ld-linux-x86-64.so.2 is it);
     a name with a '/' is a path and is not searched;
  1. only when L has no DT_RUNPATH: the DT_RPATH of L, of the object that loaded L, and so on
     up to the program, then the program's own DT_RPATH (an object with a DT_RUNPATH has no
     DT_RPATH: glibc ignores it);
  2. (LD_LIBRARY_PATH: not used)
  3. the DT_RUNPATH of L itself;
  4. ld.so.cache, i.e. the directories of /etc/ld.so.conf (its `include` globs followed);
  5. the default directories /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib (not with
     DF_1_NODEFLIB), triplet x86_64-linux-gnu or aarch64-linux-gnu.
A candidate that is an ELF file of another class or machine is skipped, as ld.so skips it;
another file that is not a shared object stops the search with an error, as in ld.so. $ORIGIN
(${ORIGIN}) is the directory of the object as it was opened, $LIB is lib/<triplet> (Debian's
value) and $PLATFORM is x86_64 or aarch64; an element with $ORIGIN of an object whose origin is
unknown is dropped, and relative directories are relative to / (the guest's working directory).
The glibc-hwcaps/ and legacy hwcap subdirectories ld.so also tries are not searched: which one
it takes depends on the guest's CPU, and the plain directory is always the fallback.

musl's order (ldso/dynlink.c, load_library): "libc.so", "libc", "libm.so", "libpthread.so.0"
(lib + c, pthread, rt, m, dl, util or xnet + '.') and the PT_INTERP path are the dynamic linker
itself (musl's libc); an object already loaded with that file name is reused; then the
DT_RUNPATH (or, without one, the DT_RPATH) of the needing object and of each object up the
chain that loaded it (a path with a $ other than $ORIGIN is ignored), then the directories of
<prefix>/etc/ld-musl-<arch>.path (newline or colon separated; <prefix> is the interpreter's
path without its last two components) or /lib:/usr/local/lib:/usr/lib. musl opens the first
file that exists and fails when it is not a loadable object of its machine: so does this.

Roots: paths are looked up under a list of host directories (`/`, or --sysroot DIRs, searched
in order as if laid one over the other) and reported at their path without the root, which is
where the guest's ld.so will look. Symbolic links under a root are followed inside it (an
absolute link in a sysroot stays in the sysroot). A `view` callable given by tools/run answers
first for the guest paths the archive already defines (the user's --add files).
"""
import argparse
import glob
import os
import struct
import sys

PT_INTERP, PT_LOAD, PT_DYNAMIC = 3, 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
DT_FLAGS_1, DF_1_NODEFLIB = 0x6ffffffb, 0x800
ET_EXEC, ET_DYN = 2, 3
EM_X86_64, EM_AARCH64 = 62, 183
MACHINE_NAMES = {3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390", 40: "ARM (32-bit)",
                 62: "x86_64", 183: "aarch64", 243: "RISC-V", 258: "LoongArch"}
ARCH_MACHINES = {"x86_64": EM_X86_64, "aarch64": EM_AARCH64}
TRIPLETS = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}
# glibc's PT_INTERP for each architecture (used for shared objects no program names).
GLIBC_INTERPRETERS = {"x86_64": "/lib64/ld-linux-x86-64.so.2", "aarch64": "/lib/ld-linux-aarch64.so.1"}
MUSL_DEFAULT_PATH = "/lib:/usr/local/lib:/usr/lib"
MUSL_RESERVED = ("c", "pthread", "rt", "m", "dl", "util", "xnet")
MAX_SYMLINKS = 40


class ElfError(Exception):
    """A file that is not an ELF file this module can read, or a truncated one."""


class ResolveError(Exception):
    """A library that cannot be found (the message names it, the chain and where it looked)."""


class ElfInfo:
    """What the dynamic linker reads from an ELF file."""

    def __init__(self, path):
        self.path = path
        self.elf_class = self.little = self.e_type = self.machine = None
        self.interp = self.soname = self.rpath = self.runpath = None
        self.needed = []
        self.dynamic = False
        self.nodeflib = False

    @property
    def arch(self):
        """x86_64 or aarch64 for a 64-bit little-endian object of those machines, else None."""
        if self.elf_class == 64 and self.little:
            for arch, machine in ARCH_MACHINES.items():
                if machine == self.machine:
                    return arch
        return None

    def describe(self):
        name = MACHINE_NAMES.get(self.machine, f"e_machine {self.machine}")
        order = "" if self.little else ", big-endian"
        return f"a {self.elf_class}-bit {name} ELF file{order}"


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def read_elf(path, headers_only=False):
    """An ElfInfo for `path`; ElfError when it is not an ELF file or is malformed."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise ElfError(f"{path} is a directory")
    except OSError as e:
        raise ElfError(f"cannot read {path}: {e.strerror}")
    info = ElfInfo(path)
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise ElfError(f"{path} is not an ELF file")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfError(f"{path}: unknown ELF class {data[4]} or data encoding {data[5]}")
    info.elf_class = 64 if data[4] == 2 else 32
    info.little = data[5] == 1
    end = "<" if info.little else ">"
    word = "Q" if info.elf_class == 64 else "I"

    def unpack(fmt, offset):
        fmt = end + fmt.replace("W", word)
        if offset < 0 or offset + struct.calcsize(fmt) > len(data):
            raise ElfError(f"{path} is truncated (a header at offset {offset} runs past its end)")
        return struct.unpack_from(fmt, data, offset)

    if info.elf_class == 64:
        info.e_type, info.machine = unpack("HH", 16)
        phoff, = unpack("Q", 32)
        phentsize, phnum = unpack("HH", 54)
    else:
        info.e_type, info.machine = unpack("HH", 16)
        phoff, = unpack("I", 28)
        phentsize, phnum = unpack("HH", 42)
    if headers_only:
        return info
    loads, dynamic = [], None
    for i in range(phnum):
        at = phoff + i * phentsize
        if info.elf_class == 64:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = unpack("IIQQQQQQ", at)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = unpack("IIIIIIII", at)
        if p_type == PT_INTERP:
            if p_offset + p_filesz > len(data):
                raise ElfError(f"{path} is truncated (PT_INTERP runs past its end)")
            info.interp = data[p_offset:p_offset + p_filesz].split(b"\0")[0].decode(errors="surrogateescape")
        elif p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return info
    info.dynamic = True
    entries = []
    size = 16 if info.elf_class == 64 else 8
    offset, filesz = dynamic
    for at in range(offset, offset + filesz - size + 1, size):
        tag, value = unpack("WW", at)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    strtab = [v for t, v in entries if t == DT_STRTAB]
    strsz = [v for t, v in entries if t == DT_STRSZ]
    if not strtab:
        return info

    def file_offset(vaddr):
        for p_vaddr, p_offset, p_filesz in loads:
            if p_vaddr <= vaddr < p_vaddr + p_filesz:
                return vaddr - p_vaddr + p_offset
        raise ElfError(f"{path}: DT_STRTAB {vaddr:#x} is in no PT_LOAD segment")

    table_at = file_offset(strtab[0])
    table_end = table_at + strsz[0] if strsz else len(data)
    table = data[table_at:min(table_end, len(data))]

    def string(value):
        if value >= len(table):
            raise ElfError(f"{path}: a dynamic string at {value} is past the string table")
        return table[value:table.index(b"\0", value) if b"\0" in table[value:] else len(table)] \
            .decode(errors="surrogateescape")

    for tag, value in entries:
        if tag == DT_NEEDED:
            info.needed.append(string(value))
        elif tag == DT_SONAME:
            info.soname = string(value)
        elif tag == DT_RPATH:
            info.rpath = string(value)
        elif tag == DT_RUNPATH:
            info.runpath = string(value)
        elif tag == DT_FLAGS_1:
            info.nodeflib = bool(value & DF_1_NODEFLIB)
    return info


def is_musl_interpreter(path):
    return os.path.basename(path or "").startswith("ld-musl-")


def normalize(path):
    """A guest path without '.', '..' or repeated slashes (the guest's / has no parent)."""
    parts = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
        else:
            parts.append(p)
    return "/" + "/".join(parts)


def resolve_in_root(root, path):
    """The host path of guest `path` under host directory `root`, following symbolic links
    inside the root (an absolute link target starts again at the root, '..' stops at it), or
    None when it does not exist. The result names the file itself, not a link."""
    root = os.path.abspath(root)
    pending = [p for p in path.split("/") if p not in ("", ".")]
    pending.reverse()
    done = []
    links = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, part)
        try:
            if os.path.islink(host):
                links += 1
                if links > MAX_SYMLINKS:
                    return None
                target = os.readlink(host)
                if target.startswith("/"):
                    done = []
                for p in reversed([p for p in target.split("/") if p not in ("", ".")]):
                    pending.append(p)
                continue
            if not os.path.lexists(host):
                return None
        except OSError:
            return None
        done.append(part)
    return os.path.join(root, *done)


def read_ld_so_conf(root, path="/etc/ld.so.conf", seen=None):
    """The directories of ld.so.conf under `root`, `include` globs followed (relative ones are
    relative to the including file's directory), in order, as ldconfig reads them."""
    seen = set() if seen is None else seen
    host = resolve_in_root(root, path)
    if host is None or host in seen or not os.path.isfile(host):
        return []
    seen.add(host)
    dirs = []
    try:
        with open(host, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include":
            for pattern in words[1:]:
                if not pattern.startswith("/"):
                    pattern = os.path.join(os.path.dirname(path), pattern)
                matches = glob.glob(os.path.join(os.path.abspath(root), pattern.lstrip("/")))
                for match in sorted(matches):
                    guest = "/" + os.path.relpath(match, os.path.abspath(root))
                    dirs += read_ld_so_conf(root, guest, seen)
        elif words[0] == "hwcap":
            continue
        else:
            for d in line.replace(",", " ").split():
                d = d.split("=", 1)[0]  # the old "dir=TYPE" form
                if d.startswith("/") and normalize(d) not in dirs:
                    dirs.append(normalize(d))
    return dirs


class Object:
    """An object loaded in one program's namespace."""

    def __init__(self, guest, host, info, loader, user, host_origin=None):
        self.guest = guest            # the path ld.so opens it by, in the guest
        self.host = host              # the host file holding its bytes
        self.info = info
        self.loader = loader          # the object whose DT_NEEDED loaded it (None: a root)
        self.user = user              # from the archive's own files (the program, --add): not packed
        self.host_origin = host_origin  # the host directory of $ORIGIN when not under a root
        self.names = set()

    def chain(self):
        """The objects from this one up to the program."""
        out, o = [], self
        while o is not None:
            out.append(o)
            o = o.loader
        return out


class Found:
    """A file the archive needs: `guest` holds `host` (or, when alias_of is set, is a symbolic
    link to that guest path: the same file reached under a second name)."""

    def __init__(self, guest, host, needed_by, alias_of=None):
        self.guest, self.host, self.needed_by, self.alias_of = guest, host, needed_by, alias_of


class Resolver:
    """Resolves programs and shared objects of one architecture against roots and a view.

    roots: host directories laid one over the other as the guest's / (first wins).
    view: callable(guest_path) -> host file, for the guest paths the archive already defines
          (returns None for others); or None.
    canonical: callable(guest_path) -> the path with the archive's own symbolic links resolved.
    """

    def __init__(self, arch, roots=("/",), view=None, canonical=None):
        if arch not in TRIPLETS:
            raise ValueError(f"unsupported architecture {arch}")
        self.arch = arch
        self.triplet = TRIPLETS[arch]
        self.roots = [os.path.abspath(r) for r in roots]
        self.view = view or (lambda guest: None)
        self.canonical = canonical or (lambda guest: guest)
        self.system_dirs = [f"/lib/{self.triplet}", f"/usr/lib/{self.triplet}", "/lib", "/usr/lib"]
        self._conf = None
        self.found = {}        # guest path -> Found (what the archive must get)
        self.identities = {}   # (st_dev, st_ino) of a packed host file -> guest path
        self.library_path = []  # directories only ld.so.cache would have searched (see below)
        self.warnings = []
        self.missing_hint = ""  # a line added to "not found" errors (tools/run: how to fetch it)

    # -- the guest's file system -------------------------------------------------------------
    def where(self):
        return " under " + ", ".join(self.roots) if self.roots != ["/"] else ""

    def lookup(self, guest, host_hint=None):
        """(host file, where it comes from) for a guest path: "view" (the archive already has
        it), "hint" (the host path beside a program or an added file, for $ORIGIN) or "root";
        (None, None) when there is no file there."""
        guest = self.canonical(normalize(guest))
        host = self.view(guest)
        if host is not None:  # "" for a guest path the archive holds that is not a file
            return (host, "view") if host and os.path.isfile(host) else (None, None)
        if host_hint is not None:
            return (host_hint, "hint") if os.path.isfile(host_hint) else (None, None)
        for root in self.roots:
            host = resolve_in_root(root, guest)
            if host is not None:
                return (host, "root") if os.path.isfile(host) else (None, None)
        return None, None

    def ld_so_conf(self):
        if self._conf is None:
            self._conf = []
            for root in self.roots:
                for d in read_ld_so_conf(root):
                    if d not in self._conf:
                        self._conf.append(d)
        return self._conf

    # -- dynamic string tokens ---------------------------------------------------------------
    def expand(self, obj, text, musl=False):
        """(guest path, host path or None) of `text` with $ORIGIN, $LIB and $PLATFORM
        replaced: $ORIGIN is the object's directory in the guest, and on the host the directory
        of an object that is not under a root (the program, an added file), else None. None
        for musl when it names another token (musl then ignores the whole path)."""
        origin_guest = os.path.dirname(obj.guest)
        out_guest, out_host, i = "", "", 0
        used_origin = False  # on the host
        while i < len(text):
            c = text[i]
            if c != "$":
                out_guest += c
                out_host += c
                i += 1
                continue
            rest = text[i + 1:]
            name, length = None, 0
            for token in ("ORIGIN", "LIB", "PLATFORM"):
                if rest.startswith("{" + token + "}"):
                    name, length = token, len(token) + 2
                elif rest.startswith(token) and (len(rest) == len(token) or rest[len(token)] == "/"):
                    name, length = token, len(token)
                if name:
                    break
            if musl and name != "ORIGIN":
                return None
            if name == "ORIGIN":
                out_guest += origin_guest
                out_host += "\0ORIGIN\0"
                used_origin = True
            elif name == "LIB":
                out_guest += f"lib/{self.triplet}"
                out_host += f"lib/{self.triplet}"
            elif name == "PLATFORM":
                out_guest += self.arch
                out_host += self.arch
            else:
                out_guest += "$"
                out_host += "$"
                length = 0
            i += 1 + length
        hint = None
        if used_origin and obj.host_origin is not None:
            hint = out_host.replace("\0ORIGIN\0", obj.host_origin)
        return out_guest, hint

    def path_list(self, obj, text, source, musl=False):
        """[(guest dir, host dir hint or None, source)] of an RPATH/RUNPATH string."""
        if musl and "$" in text and self.expand(obj, text, musl=True) is None:
            return []  # musl ignores the whole path
        out = []
        for element in text.split(":"):
            if musl and not element:
                continue
            expanded = self.expand(obj, element or ".", musl)
            if expanded is None:
                continue
            guest, hint = expanded
            if not guest.startswith("/"):
                guest = "/" + guest  # relative to the working directory, / in the guest
            out.append((normalize(guest), hint, source))
        return out

    # -- namespaces --------------------------------------------------------------------------
    def resolve_program(self, guest, host, info, strict=True):
        """Resolves a program: its interpreter, then its libraries breadth first, as ld.so
        loads them. Returns its Namespace. A missing file raises ResolveError (strict) or
        adds a warning."""
        ns = Namespace(self, info.interp, strict)
        # $ORIGIN of a program: the directory of its real path (/proc/self/exe).
        main = Object(guest, host, info, None, True, os.path.dirname(os.path.realpath(host)))
        ns.main = main
        ns.start(main)
        return ns

    def resolve_objects(self, ns, items, strict=False):
        """Resolves shared objects [(guest, host, info)] as if the namespace's program dlopened
        each (its DT_RPATH applies after theirs)."""
        ns.strict = strict
        for guest, host, info in items:
            obj = Object(guest, host, info, ns.main, True, os.path.dirname(os.path.abspath(host)))
            ns.add_root_object(obj)
        ns.run()

    def namespace_for_objects(self, musl):
        """A namespace for shared objects that no dynamic program of the archive loads: the
        default interpreter of their C library is loaded (and packed) as for a program."""
        interp = f"/lib/ld-musl-{self.arch}.so.1" if musl else GLIBC_INTERPRETERS[self.arch]
        ns = Namespace(self, interp, False)
        ns.start(None)
        return ns

    def record(self, obj, needed_by):
        """Adds a resolved object that is not the user's to the archive's list."""
        if obj.user:
            return
        guest = self.canonical(obj.guest)
        if guest in self.found:
            return
        try:
            st = os.stat(obj.host)
            identity = (st.st_dev, st.st_ino)
        except OSError:
            identity = None
        first = self.identities.get(identity) if identity else None
        if first is not None and first != guest:
            self.found[guest] = Found(guest, obj.host, needed_by, alias_of=first)
            return
        if identity:
            self.identities[identity] = guest
        self.found[guest] = Found(guest, obj.host, needed_by)


class Namespace:
    """The objects one process loads (glibc's link map list, musl's dso list)."""

    def __init__(self, resolver, interp, strict):
        self.r = resolver
        self.interp_path = interp
        self.musl = is_musl_interpreter(interp)
        self.strict = strict
        self.objects = []
        self.queue = []
        self.main = None
        self.interp = None
        self.by_identity = {}

    def fail(self, message):
        if self.strict:
            raise ResolveError(message)
        self.r.warnings.append(message)

    def identity(self, obj):
        if obj.user:
            return ("user", self.r.canonical(normalize(obj.guest)))
        try:
            st = os.stat(obj.host)
            return (st.st_dev, st.st_ino)
        except OSError:
            return ("path", obj.guest)

    def add(self, obj):
        self.objects.append(obj)
        self.by_identity.setdefault(self.identity(obj), obj)
        if obj.info.soname and not self.musl:
            obj.names.add(obj.info.soname)
        if self.musl:
            obj.names.add(os.path.basename(obj.guest))

    def start(self, main):
        if main is not None:
            self.add(main)
        if self.interp_path and not self.load_interpreter(main):
            return  # (not strict: warned) nothing to load the program's libraries
        if main is not None:
            self.queue.append(main)
        self.run()

    def add_root_object(self, obj):
        known = self.by_identity.get(self.identity(obj))
        if known is None:
            self.add(obj)
            self.queue.append(obj)

    def load_interpreter(self, main):
        r = self.r
        path = self.interp_path
        who = f"{main.guest} (host {main.host})" if main else "shared objects"
        host, source = r.lookup(path)
        user = source == "view"
        if host is None:
            self.fail(f"the interpreter {path} of {who} is not found{r.where()}"
                      + (f"\n  {r.missing_hint}" if r.missing_hint else ""))
            return False
        try:
            info = read_elf(host)
        except ElfError as e:
            self.fail(f"the interpreter {path} of {who}: {e}")
            return False
        if info.arch != r.arch:
            self.fail(f"the interpreter {path} of {who} is {info.describe()} ({host}), "
                      f"not a 64-bit {r.arch} one")
            return False
        obj = Object(path, host, info, None, user)
        obj.names.add(path)
        self.interp = obj
        self.add(obj)
        r.record(obj, [main] if main else [])
        if self.musl:
            self.pack_musl_path()
        self.queue.append(obj)
        return True

    def musl_path_file(self):
        prefix = ""
        if self.interp_path.startswith("/"):
            slashes = [i for i, c in enumerate(self.interp_path) if c == "/"]
            prefix = self.interp_path[:slashes[-2]] if len(slashes) >= 2 else ""
        return f"{prefix}/etc/ld-musl-{self.r.arch}.path"

    def pack_musl_path(self):
        """musl's ld.so reads its search path from the guest's file: the archive gets it."""
        path = self.musl_path_file()
        host, source = self.r.lookup(path)
        if host is not None and source != "view":
            guest = self.r.canonical(path)
            self.r.found.setdefault(guest, Found(guest, host, [self.interp]))

    def musl_system_path(self):
        host, _ = self.r.lookup(self.musl_path_file())
        if host is not None:
            try:
                with open(host, errors="replace") as f:
                    return f.read(), f"{self.musl_path_file()}"
            except OSError:
                pass
        return MUSL_DEFAULT_PATH, "musl's default path"

    def run(self):
        while self.queue:
            obj = self.queue.pop(0)
            for name in obj.info.needed:
                self.load(name, obj)

    def already(self, name):
        if self.musl:
            if "/" not in name:
                if name.startswith("lib"):
                    rest = name[3:]
                    if any(rest.startswith(word + ".") for word in MUSL_RESERVED):
                        return self.interp
                for o in self.objects:
                    if name in o.names:
                        return o
            if name == self.interp_path:
                return self.interp
            return None
        for o in self.objects:
            if name in o.names:
                return o
        return None

    def load(self, name, needer):
        known = self.already(name)
        if known is not None:
            return known
        candidates, looked, skipped = self.candidates(name, needer)
        for guest, hint, source in candidates:
            host, where = self.r.lookup(guest, hint)
            if host is None:
                continue
            user = where == "view"
            try:
                info = read_elf(host)
            except ElfError as e:
                self.fail(f"{name}, needed by {self.chain(needer)}: {guest} ({source}) is not a "
                          f"shared object: {e}")
                return None
            if info.arch == self.r.arch and info.e_type != ET_DYN:
                self.fail(f"{name}, needed by {self.chain(needer)}: {guest} ({source}) is not a "
                          f"shared object (ELF type {info.e_type})")
                return None
            if info.arch != self.r.arch:
                if self.musl:
                    self.fail(f"{name}, needed by {self.chain(needer)}: musl's ld.so would open "
                              f"{guest} ({source}{'' if user else self.r.where()}), which is "
                              f"{info.describe()}, not a 64-bit {self.r.arch} one")
                    return None
                skipped.append(f"{guest} ({host}): {info.describe()}")
                continue
            obj = Object(guest, host, info, needer, user,
                         os.path.dirname(host) if where != "root" else None)
            same = self.by_identity.get(self.identity(obj))
            if same is not None:
                same.names.add(name)
                if not same.user and not obj.user and same.guest != guest:
                    self.r.record(obj, needer.chain())  # the second name: a symbolic link
                return same
            obj.names.add(name)
            self.add(obj)
            self.r.record(obj, needer.chain())
            if source.startswith("/etc/ld.so.conf") and normalize(os.path.dirname(guest)) not in \
                    self.r.system_dirs:
                d = normalize(os.path.dirname(guest))
                if d not in self.r.library_path:
                    self.r.library_path.append(d)
            self.queue.append(obj)
            return obj
        lines = [f"{name} not found: needed by {self.chain(needer)}"]
        if looked:
            lines.append(f"  looked in ({'musl' if self.musl else 'glibc'}'s order{self.r.where()}):")
            lines += [f"    {d} ({source})" for d, source in looked]
        if skipped:
            lines.append("  skipped (wrong architecture):")
            lines += [f"    {s}" for s in skipped]
        if self.r.missing_hint:
            lines.append("  " + self.r.missing_hint)
        self.fail("\n".join(lines))
        return None

    def chain(self, needer):
        return " <- ".join(o.guest for o in needer.chain())

    def candidates(self, name, needer):
        """[(guest path, host hint, why)] in the dynamic linker's order, [(dir, why)] searched,
        and a list for the candidates skipped."""
        r = self.r
        if "/" in name:
            expanded = r.expand(needer, name, self.musl)
            if expanded is None:
                return [], [], []
            guest, hint = expanded
            if not guest.startswith("/"):
                guest = "/" + guest
            return [(normalize(guest), hint, "a path")], [(guest, "a path")], []
        dirs = []
        if self.musl:
            for o in needer.chain():
                text = o.info.runpath if o.info.runpath is not None else o.info.rpath
                if text is not None:
                    kind = "RUNPATH" if o.info.runpath is not None else "RPATH"
                    dirs += r.path_list(o, text, f"{kind} of {o.guest}", musl=True)
            text, source = self.musl_system_path()
            for d in text.replace("\n", ":").split(":"):
                if d.strip():
                    dirs.append((normalize(d.strip()), None, source))
        else:
            if needer.info.runpath is None:
                chain = needer.chain()
                for o in chain:
                    if o.info.rpath is not None and o.info.runpath is None:
                        dirs += r.path_list(o, o.info.rpath, f"RPATH of {o.guest}")
                main = self.main
                if main is not None and main not in chain and main.info.rpath is not None \
                        and main.info.runpath is None:
                    dirs += r.path_list(main, main.info.rpath, f"RPATH of {main.guest}")
            else:
                dirs += r.path_list(needer, needer.info.runpath, f"RUNPATH of {needer.guest}")
            nodeflib = needer.info.nodeflib
            for d in r.ld_so_conf():
                if not (nodeflib and d in r.system_dirs):
                    dirs.append((d, None, "/etc/ld.so.conf"))
            if not nodeflib:
                dirs += [(d, None, "default") for d in r.system_dirs]
        candidates, looked, seen = [], [], {}
        for d, hint, source in dirs:
            key = (d, hint)
            if key in seen:  # ld.so does not open the same directory twice
                i = seen[key]
                if source not in looked[i][1]:
                    looked[i] = (looked[i][0], f"{looked[i][1]}, {source}")
                continue
            seen[key] = len(looked)
            looked.append((d if hint is None else f"{d} (host {hint})", source))
            candidates.append((normalize(d + "/" + name), None if hint is None else os.path.join(hint, name),
                               source))
        return candidates, looked, []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("file", metavar="ELF_FILE")
    ap.add_argument("--sysroot", action="append", default=[], metavar="DIR",
                    help="look libraries up under DIR instead of / (repeatable: the first that has a path wins)")
    ap.add_argument("--guest-path", help="the program's path in the guest (default: its host path)")
    a = ap.parse_args()
    try:
        info = read_elf(a.file)
    except ElfError as e:
        sys.exit(f"elfdeps: {e}")
    if info.arch is None:
        sys.exit(f"elfdeps: {a.file} is {info.describe()}; x86_64 and aarch64 (64-bit) are supported")
    guest = a.guest_path or normalize(os.path.abspath(a.file))
    r = Resolver(info.arch, a.sysroot or ["/"])
    try:
        if info.e_type == ET_DYN and not info.interp:
            ns = r.namespace_for_objects(any(n == "libc.so" for n in info.needed))
            ns.strict = True
            r.resolve_objects(ns, [(guest, a.file, info)], strict=True)
        else:
            r.resolve_program(guest, a.file, info)
    except ResolveError as e:
        sys.exit(f"elfdeps: {e}")
    for f in r.found.values():
        print(f"{f.guest} -> {f.alias_of}" if f.alias_of else f"{f.guest} => {f.host}")
    for w in r.warnings:
        print(f"elfdeps: warning: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
