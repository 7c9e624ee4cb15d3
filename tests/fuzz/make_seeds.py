#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets into tests/fuzz/corpus/<target>/seed-*.

  tests/fuzz/make_seeds.py

Seeds are small, made here from nothing but this script (no third-party bytes): ELF files
of each kind the reader accepts, boot archives of each member kind, command lines, and a few
fixed pseudo-random operation programs for the targets that read operations. The device-tree
target also starts from the QEMU blobs in tests/unit/fixtures (run_fuzzers.py adds them).
Inputs that found bugs live next to the seeds as regression-<name> and are kept.
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

EM_X86_64, EM_AARCH64 = 62, 183
PT_LOAD, PT_INTERP, PT_PHDR, PT_TLS, PT_GNU_STACK = 1, 3, 6, 7, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4


def elf(machine, e_type, phdrs, code=b"\x90" * 16, interp=None):
    """An ELF64 file: header, program headers, then `code` (and the interpreter path).
    `phdrs` entries are (type, flags, offset, vaddr, filesz, memsz, align); offsets may name
    "start", "phdr", "code" or "interp", sizes may be "all" (the whole file)."""
    phoff = 64
    data_off = phoff + 56 * len(phdrs)
    code_off = data_off
    interp_off = code_off + len(code)
    blob = code + (interp + b"\0" if interp else b"")
    places = {"code": code_off, "interp": interp_off, "phdr": phoff, "start": 0}
    total = data_off + len(blob)
    table = b""
    for p_type, flags, offset, vaddr, filesz, memsz, align in phdrs:
        off = places[offset] if isinstance(offset, str) else offset
        filesz = total if filesz == "all" else filesz
        memsz = total if memsz == "all" else memsz
        table += struct.pack("<IIQQQQQQ", p_type, flags, off, vaddr + off, vaddr + off, filesz, memsz, align)
    entry = 0x400000 + code_off
    header = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7, e_type, machine, 1,
                         entry, phoff, 0, 0, 64, 56, len(phdrs), 64, 0, 0)
    return header + table + blob


def elf_seeds():
    size = "all"  # the PT_LOAD holds the whole file
    return {
        "static-x86_64": elf(EM_X86_64, 2, [(PT_LOAD, PF_R | PF_X, "start", 0x400000, size, size, 0x1000)]),
        "static-aarch64": elf(EM_AARCH64, 2, [(PT_LOAD, PF_R | PF_X, "start", 0x400000, size, size, 0x1000)]),
        "static-pie-phdr-tls-stack": elf(EM_X86_64, 3, [
            (PT_PHDR, PF_R, "phdr", 0x400000, 56 * 4, 56 * 4, 8),
            (PT_LOAD, PF_R | PF_X, "start", 0x400000, size, size, 0x1000),
            (PT_TLS, PF_R, "code", 0x400000, 8, 64, 16),
            (PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16)]),
        "dynamic": elf(EM_X86_64, 3, [
            (PT_LOAD, PF_R | PF_X, "start", 0x400000, size, size, 0x1000),
            (PT_INTERP, PF_R, "interp", 0, len(b"/lib/ld.so") + 1, len(b"/lib/ld.so") + 1, 1)],
            interp=b"/lib/ld.so"),
    }


def newc(name, mode, data=b"", ino=1, nlink=1, magic=b"070701", check=0, target=None):
    body = target.encode() if target is not None else data
    fields = [ino, mode, 0, 0, nlink, 0, len(body), 0, 0, 0, 0, len(name) + 1, check]
    header = magic + b"".join(b"%08x" % f for f in fields)
    out = header + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    out += body + b"\0" * (-len(body) % 4)
    return out


def cpio_seeds():
    trailer = newc("TRAILER!!!", 0, ino=0)
    plain = (newc("dir", 0o40755, ino=1) + newc("dir/file", 0o100644, b"hello\n", ino=2) +
             newc("dir/link", 0o120777, target="file", ino=3) + newc("dev", 0o20644, ino=4) + trailer)
    data = b"checked"
    checked = newc("sum", 0o100600, data, magic=b"070702", check=sum(data)) + newc("TRAILER!!!", 0, ino=0, magic=b"070702")
    hardlinks = newc("a", 0o100644, b"", ino=7, nlink=2) + newc("b", 0o100644, b"shared", ino=7, nlink=2) + trailer
    return {"tree": plain, "checksum": checked, "hardlinks": hardlinks}


def cmdline_seeds():
    return {
        "options-and-args": b"--verbose --env=HOME=/ --env='A=b c' /bin/prog 'one two' \"three\" four\\ five",
        "double-dash": b"--test-fault=panic -- --not-an-option x",
        "errors": b"--bogus --env --test-fault=nope 'unterminated",
        "hypervisor-words": b"--verbose /bin/prog arg virtio_mmio.device=512@0xfeb00e00:12 last",
    }


def net_option_seeds():
    """Option words as net_options reads them: a kind byte (0 --ip, 1 --defaultgw,
    2 --nameserver), a length byte, the value."""
    def words(*items):
        out = b""
        for kind, value in items:
            out += bytes([kind, len(value)]) + value
        return out
    return {"static": words((0, b"eth0,192.0.2.15,255.255.255.0"), (1, b"192.0.2.2"), (2, b"192.0.2.3")),
            "errors": words((0, b"eth0,192.0.2.015,255.255.0.255"), (1, b"300.1.1.1"), (2, b""), (0, b"eth0"))}


def tso_seeds():
    """Two consecutive TCP segments as tso reads them: a length (8 bytes), the frame, how
    many bytes are contiguous (8 bytes)."""
    def segment(seq, payload, flags=0x10):
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0,
                         bytes([192, 0, 2, 15]), bytes([192, 0, 2, 2]))
        tcp = struct.pack(">HHIIBBHHH", 80, 40000, seq, 777, 5 << 4, flags, 8000, 0, 0)
        frame = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + tcp + payload
        return struct.pack("<Q", len(frame)) + frame + struct.pack("<Q", 54)
    return {"two-segments": segment(1000, b"a" * 100) + segment(1100, b"b" * 60, 0x18)}


def random_programs(seed, count=3, length=256):
    rng = random.Random(seed)
    return {f"random-{i}": bytes(rng.randrange(256) for _ in range(length)) for i in range(count)}


def main():
    seeds = {
        "elf": elf_seeds(),
        "cpio": cpio_seeds(),
        "cmdline": cmdline_seeds(),
        "initial_stack": random_programs(1),
        "path_lookup": random_programs(2, length=512),
        "page_table": random_programs(3, length=512),
        "vma": random_programs(4, length=512),
        "fdt": {},  # tests/unit/fixtures/*.dtb
        "net_options": net_option_seeds(),
        "dsdt": {},  # tests/unit/fixtures/acpi/qemu-microvm-dsdt.aml
        "virtio_rings": random_programs(5, length=512),
        "tso": tso_seeds(),
    }
    for target, files in seeds.items():
        directory = os.path.join(CORPUS, target)
        os.makedirs(directory, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(directory, "seed-" + name), "wb") as f:
                f.write(data)
        if not os.listdir(directory):
            open(os.path.join(directory, ".keep"), "w").close()


if __name__ == "__main__":
    main()
