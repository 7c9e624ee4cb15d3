"""Names for what the trace holds as numbers: function symbols from ELF files (parsed here, so
aarch64 files work on an x86_64 host), system call names from Linux's unistd headers (as
tools/gen-syscalls.py reads them), errno names.

A Symbolizer holds the kernel image and the application's images; the application's change
with app.start/app.exec records (each gives the program's and its interpreter's load bias), so
a lookup takes the time of the record it is for.
"""
import bisect
import errno
import os
import shutil
import struct
import subprocess

from .tracefile import TraceError

ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
SHT_SYMTAB = 2
SHT_DYNSYM = 11
SHF_EXECINSTR = 0x4
STT_NOTYPE, STT_FUNC = 0, 2
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
PT_INTERP = 3

# Linux's unistd headers on this machine (Debian's linux-libc-dev and linux-libc-dev-arm64-cross),
# first that exists wins.
UNISTD_HEADERS = {
    "x86_64": ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
    "aarch64": ["/usr/aarch64-linux-gnu/include/asm-generic/unistd.h", "/usr/include/asm-generic/unistd.h"],
}


class ElfImage:
    """The function symbols of one ELF file, at a load bias."""

    def __init__(self, path, bias=0, label=None, demangle=True):
        self.path = path
        self.bias = bias
        self.label = label or os.path.basename(path)
        self.kernel = False
        self.machine, self.interp, self.ranges, syms = _read_elf(path)
        if demangle:
            syms = _demangle(syms)
        syms.sort()
        self.starts = [s[0] for s in syms]
        self.syms = syms                   # [(address, size, name)] unbiased
        self.ranges = [(lo + bias, hi + bias) for lo, hi in self.ranges]

    def contains(self, address):
        return any(lo <= address < hi for lo, hi in self.ranges)

    def lookup(self, address):
        """(name, offset) of the function holding the (biased) address, or None."""
        a = address - self.bias
        i = bisect.bisect_right(self.starts, a) - 1
        while i >= 0:
            start, size, name = self.syms[i]
            if size and a < start + size:
                return name, a - start
            if not size:
                nxt = self.starts[i + 1] if i + 1 < len(self.starts) else None
                if nxt is None or a < nxt:
                    return name, a - start
            # A sized symbol that ends before `a`: an earlier, larger one may still hold it.
            if i > 0 and self.starts[i - 1] == start:
                i -= 1
                continue
            return None
        return None


def _read_elf(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TraceError(f"cannot read ELF file {path}: {e.strerror}") from None
    if data[:4] != b"\x7fELF":
        raise TraceError(f"{path} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise TraceError(f"{path} is not a 64-bit little-endian ELF file")
    try:
        (e_type, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum, e_shentsize,
         e_shnum, _) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
        machine = ELF_MACHINES.get(e_machine, f"e_machine {e_machine}")
        interp = None
        for i in range(e_phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, e_phoff + i * e_phentsize)
            if p_type == PT_INTERP:
                interp = data[p_offset:p_offset + p_filesz].split(b"\0", 1)[0].decode()
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
        ranges = [(s[3], s[3] + s[5]) for s in sections if s[2] & SHF_EXECINSTR and s[3]]
        symtabs = [s for s in sections if s[1] == SHT_SYMTAB] or [s for s in sections if s[1] == SHT_DYNSYM]
        syms = []
        for s in symtabs:
            _, _, _, _, off, size, link, _, _, entsize = s
            strtab = sections[link]
            str_off, str_size = strtab[4], strtab[5]
            strings = data[str_off:str_off + str_size]
            for j in range(size // entsize):
                st_name, st_info, _, st_shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", data, off + j * entsize)
                kind = st_info & 0xF
                if kind not in (STT_FUNC, STT_NOTYPE) or st_shndx == SHN_UNDEF or st_shndx >= SHN_LORESERVE:
                    continue
                if kind == STT_NOTYPE and not sections[st_shndx][2] & SHF_EXECINSTR:
                    continue
                end = strings.find(b"\0", st_name)
                name = strings[st_name:end].decode("utf-8", "replace")
                if not name or name.startswith("$"):   # aarch64 mapping symbols ($x, $d)
                    continue
                syms.append((st_value, st_size, name))
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: damaged ELF file ({e})") from None
    if e_type not in (2, 3):
        raise TraceError(f"{path}: not an executable or shared object (e_type {e_type})")
    return machine, interp, ranges, syms


def _demangle(syms):
    """C++ names demangled with c++filt when it is there (names stay as they are otherwise)."""
    mangled = [i for i, s in enumerate(syms) if s[2].startswith("_Z")]
    tool = shutil.which("c++filt")
    if not mangled or not tool:
        return syms
    text = "\n".join(syms[i][2] for i in mangled) + "\n"
    r = subprocess.run([tool], input=text, stdout=subprocess.PIPE, text=True)
    out = r.stdout.split("\n")
    if r.returncode != 0 or len(out) < len(mangled):
        return syms
    syms = list(syms)
    for i, name in zip(mangled, out):
        syms[i] = (syms[i][0], syms[i][1], name)
    return syms


class Symbolizer:
    """Resolves addresses against the kernel image and the application images in effect at
    a time."""

    def __init__(self):
        self.kernel = None
        self.app_timeline = []     # [(ts, [ElfImage])] by time

    def set_kernel(self, image):
        image.kernel = True
        self.kernel = image

    def add_app_images(self, ts, images):
        self.app_timeline.append((ts, images))
        self.app_timeline.sort(key=lambda e: e[0])

    def images_at(self, ts):
        images = [self.kernel] if self.kernel else []
        chosen = None
        for start, imgs in self.app_timeline:
            if start <= ts:
                chosen = imgs
            else:
                break
        if chosen is None and self.app_timeline:   # a record before the first app.start
            chosen = self.app_timeline[0][1]
        return images + (chosen or [])

    def resolve(self, address, ts=0, return_address=False, kernel=None):
        """(image, name or None, offset) for an address, or None if no image holds it.
        A return address is looked up one byte back (the call, which may be the last
        instruction of its function). `kernel` True or False limits the search to the kernel
        or to the application (a profile sample says which it interrupted: the kernel's and a
        static program's addresses can be close on x86_64, where the kernel runs at 1 MiB)."""
        a = address - 1 if return_address and address else address
        for image in self.images_at(ts):
            if kernel is not None and image.kernel != kernel:
                continue
            if image.contains(a):
                found = image.lookup(a)
                if found:
                    return image, found[0], found[1] + (1 if return_address and address else 0)
                return image, None, a - image.bias
        return None

    def name(self, address, ts=0, return_address=False):
        """The function's name, or None."""
        r = self.resolve(address, ts, return_address)
        return r[1] if r else None

    def describe(self, address, ts=0, return_address=False):
        """`func+0x12`, `[libc.so.6+0x1234]` or '' when nothing holds the address."""
        r = self.resolve(address, ts, return_address)
        if not r:
            return ""
        image, name, off = r
        if name is None:
            return f"[{image.label}+{off:#x}]"
        return f"{name}+{off:#x}" if off else name


def parse_unistd(path):
    """{number: name} of a Linux unistd header (tools/gen-syscalls.py's reading)."""
    import re
    numbers, generic = {}, {}
    with open(path) as f:
        for line in f:
            m = re.match(r"#define\s+__NR(3264)?_(\w+)\s+(\S+)", line)
            if not m:
                continue
            name, value = m.group(2), m.group(3)
            if m.group(1):
                generic[name] = int(value, 0)
            elif value.isdigit():
                numbers.setdefault(name, int(value))
            elif value.startswith("__NR3264_") and value[9:] in generic:
                numbers.setdefault(name, generic[value[9:]])
    numbers.pop("syscalls", None)
    by_number = {}
    for name, nr in sorted(numbers.items(), key=lambda kv: kv[1]):
        by_number.setdefault(nr, name)
    return by_number


class SyscallNames:
    def __init__(self, arch, header=None):
        self.arch = arch
        self.table = {}
        paths = [header] if header else UNISTD_HEADERS.get(arch, [])
        for p in paths:
            if p and os.path.exists(p):
                self.table = parse_unistd(p)
                break
        else:
            if header:
                raise TraceError(f"no such unistd header: {header}")

    def __call__(self, number):
        return self.table.get(number) or f"syscall_{number}"

    def number(self, name):
        for nr, n in self.table.items():
            if n == name:
                return nr
        return None


def errno_name(value):
    """'-2 (ENOENT)' style text for an errno-or-value field."""
    if -4096 < value < 0 and -value in errno.errorcode:
        return f"{value} ({errno.errorcode[-value]})"
    return str(value)
