#!/usr/bin/python3
"""tools/elfdeps.py finds what ld.so finds, and tools/run packs it (no guest is booted).

  test_elfdeps.py [--x86_64 BUILD_DIR] [--aarch64 BUILD_DIR] [unittest options] [TEST...]

HostPrograms: Debian's /usr/bin/sqlite3, /bin/ls, python3.11 and its extension modules, and a
musl program, against ldd (glibc) and `ld-musl --list` (musl), which run the host's own dynamic
linkers as the oracle.
SearchOrder: small shared objects built here (gcc -shared) with DT_RPATH, DT_RUNPATH, $ORIGIN,
$LIB and $PLATFORM, libraries of the wrong architecture on the path, a missing library, a file
reached under two names, an ld.so.conf of a sysroot; checked against ldd where it can run them.
Archives: `tools/run --dry-run --archive` and `cpio -itv`: where the interpreter and libraries go.
Aarch64: a sysroot made here with aarch64-linux-gnu-gcc (no network), the cross compiler's
glibc, and, when tools/arm64-sysroot can fetch them, Debian's arm64 sqlite3, lua5.4 and gawk.
Boot: with the build directories given (kernels with CONFIG_LOADER_DYNAMIC), the same programs
booted with tools/run, their output compared with the host's or known values.
"""
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "tools"))
RUN = os.path.join(TOOLS, "run")
SYSROOT_HELPER = os.path.join(TOOLS, "arm64-sysroot")
sys.path.insert(0, TOOLS)
import elfdeps  # noqa: E402

X86_64 = platform.machine() == "x86_64"
BUILD_DIRS = {}
MUSL_LD = "/lib/ld-musl-x86_64.so.1"
PYTHON_EXCLUDES = ["--exclude", "test/", "--exclude", "idlelib", "--exclude", "tkinter",
                   "--exclude", "ensurepip", "--exclude", "__pycache__", "--exclude", "lib2to3"]


def have(program):
    return shutil.which(program) is not None


def sh(*cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return r.stdout


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def ldd(path, env=None):
    """[(name, path or None)] of the libraries glibc's ldd lists (load order), and the
    interpreter; paths normalized."""
    r = subprocess.run(["ldd", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    libs, interp = [], None
    for line in r.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            name, where = [s.strip() for s in line.split("=>", 1)]
            libs.append((name, None if where.startswith("not found") else
                         elfdeps.normalize(where.rsplit(" (", 1)[0])))
        elif line.startswith("/"):
            interp = line.rsplit(" (", 1)[0]
    return libs, interp


def musl_list(path):
    """[paths] musl's dynamic linker loads for `path` (ld-musl --list), itself first."""
    r = subprocess.run([MUSL_LD, "--list", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in r.stdout.splitlines():
        line = line.strip()
        where = line.split("=>", 1)[1].strip() if "=>" in line else line
        where = where.rsplit(" (", 1)[0]
        if where.startswith("/") and elfdeps.normalize(where) not in out:
            out.append(elfdeps.normalize(where))
    return out, r.returncode


def resolve(path, roots=("/",), guest=None):
    """(interpreter, [library guest paths in load order], resolver) from elfdeps."""
    info = elfdeps.read_elf(path)
    r = elfdeps.Resolver(info.arch, roots)
    r.resolve_program(guest or os.path.realpath(path), path, info)
    found = [f.guest for f in r.found.values() if not f.guest.startswith("/etc/") and not f.alias_of]
    interp = found.pop(0) if info.interp else None
    return interp, found, r


def archive(args, env=None, check=True):
    """(status, {guest path: (kind, size, link target)} of a tools/run --dry-run archive, stderr)."""
    d = tempfile.mkdtemp(prefix="mica-elfdeps-")
    try:
        builds = {}
        for arch in ("x86_64", "aarch64"):
            builds[arch] = os.path.join(d, arch)
            write(os.path.join(builds[arch], ".config"), f'CONFIG_ARCH="{arch}"\n')
        out = os.path.join(d, "rootfs.cpio")
        arch = "aarch64" if "--aarch64" in args else "x86_64"
        args = [a for a in args if a != "--aarch64"]
        p = subprocess.run([sys.executable, RUN, "-O", builds[arch], "--dry-run", "--archive", out] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if p.returncode != 0:
            if check:
                raise AssertionError(f"tools/run failed ({p.returncode}):\n{p.stderr}")
            return p.returncode, {}, p.stderr, p.stdout
        with open(out, "rb") as f:
            listing = subprocess.run(["cpio", "-itv", "--quiet"], stdin=f, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, check=True).stdout
        entries = {}
        for line in listing.splitlines():
            fields = line.split(None, 8)
            name = fields[8]
            target = None
            if " -> " in name:
                name, target = name.split(" -> ", 1)
            entries["/" + name.lstrip("./") if name != "." else "/"] = (fields[0][0], int(fields[4]), target)
        return p.returncode, entries, p.stderr, p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(X86_64 and have("ldd"), "needs an x86_64 host with ldd")
class HostPrograms(unittest.TestCase):
    def check_against_ldd(self, path):
        interp, found, _ = resolve(path)
        libs, ldd_interp = ldd(path)
        self.assertEqual(interp, ldd_interp)
        self.assertEqual(found, [where for name, where in libs if name != "linux-vdso.so.1"])
        return found

    def test_sqlite3(self):
        if not os.path.exists("/usr/bin/sqlite3"):
            self.skipTest("no /usr/bin/sqlite3 (tools/install-deps installs sqlite3)")
        found = self.check_against_ldd("/usr/bin/sqlite3")
        for lib in ("libsqlite3.so.0", "libreadline.so.8", "libz.so.1", "libm.so.6", "libc.so.6"):
            self.assertIn(f"/lib/x86_64-linux-gnu/{lib}", found)

    def test_ls(self):
        self.check_against_ldd("/bin/ls")

    def test_python_and_its_extension_modules(self):
        python = "/usr/bin/python3.11"
        if not os.path.exists(python):
            self.skipTest("no python3.11")
        self.check_against_ldd(python)
        dynload = "/usr/lib/python3.11/lib-dynload"
        for name in sorted(os.listdir(dynload)):
            if not name.endswith(".so"):
                continue
            path = os.path.join(dynload, name)
            info = elfdeps.read_elf(path)
            r = elfdeps.Resolver("x86_64")
            ns = r.namespace_for_objects(False)
            r.resolve_objects(ns, [(path, path, info)], strict=True)
            libs, _ = ldd(path)
            self.assertEqual(set(f.guest for f in r.found.values()) - {elfdeps.GLIBC_INTERPRETERS["x86_64"]},
                             set(where for n, where in libs if n != "linux-vdso.so.1"), name)

    @unittest.skipUnless(have("musl-gcc") and os.path.exists(MUSL_LD), "needs musl-gcc (musl-tools)")
    def test_musl_program(self):
        with tempfile.TemporaryDirectory() as d:
            write(f"{d}/hello.c", '#include <stdio.h>\n#include <math.h>\n'
                                  'int main(int c, char **v) { printf("%f\\n", sqrt(c)); return 0; }\n')
            sh("musl-gcc", "-o", f"{d}/hello", f"{d}/hello.c", "-lm")
            info = elfdeps.read_elf(f"{d}/hello")
            self.assertEqual(info.interp, MUSL_LD)
            self.assertEqual(info.needed, ["libc.so"])
            interp, found, r = resolve(f"{d}/hello")
            self.assertEqual(interp, MUSL_LD)
            self.assertEqual(found, [])  # libc.so is musl's ld.so itself
            oracle, rc = musl_list(f"{d}/hello")
            self.assertEqual(rc, 0)
            self.assertEqual(oracle, [MUSL_LD])
            # musl's ld.so reads its search path in the guest: it goes along.
            if os.path.exists("/etc/ld-musl-x86_64.path"):
                self.assertIn("/etc/ld-musl-x86_64.path", r.found)


@unittest.skipUnless(X86_64 and have("gcc") and have("ldd"), "needs an x86_64 host with gcc and ldd")
class SearchOrder(unittest.TestCase):
    """Each layout is checked against the host's ld.so (ldd) and then against elfdeps."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mica-elfdeps-")
        self.addCleanup(self.tmp.cleanup)
        self.d = os.path.realpath(self.tmp.name)

    def lib(self, path, needs=(), soname=None, flags=(), cc="gcc", body=None):
        """A shared object at `path` defining a function named after its file."""
        fn = "f_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(path))
        src = path + ".c"
        calls = "".join(f"extern int {n}(void);" for n, _ in needs)
        write(src, body or f"{calls}\nint {fn}(void) {{ return 1 {''.join(f'+ {n}()' for n, _ in needs)}; }}\n")
        cmd = [cc, "-shared", "-fPIC", "-o", path, src]
        if soname:
            cmd.append(f"-Wl,-soname,{soname}")
        for _, lib in needs:
            cmd += [f"-L{os.path.dirname(lib)}", f"-l:{os.path.basename(lib)}"]
        sh(*cmd, *flags)
        return fn

    def prog(self, path, needs, flags=(), cc="gcc"):
        src = path + ".c"
        calls = "".join(f"extern int {n}(void);" for n, _ in needs)
        write(src, f"{calls}\nint main(void) {{ return 0 {''.join(f'+ {n}()' for n, _ in needs)}; }}\n")
        cmd = [cc, "-o", path, src]
        for _, lib in needs:
            cmd += [f"-L{os.path.dirname(lib)}", f"-l:{os.path.basename(lib)}"]
        sh(*cmd, *flags)
        return path

    def same_as_ldd(self, prog):
        interp, found, r = resolve(prog)
        libs, _ = ldd(prog)
        self.assertEqual(found, [w for n, w in libs if n != "linux-vdso.so.1"], ldd(prog))
        return found

    def test_runpath_with_origin(self):
        d = self.d
        a = self.lib(f"{d}/app/lib/liba.so")
        prog = self.prog(f"{d}/app/bin/prog", [(a, f"{d}/app/lib/liba.so")],
                         ["-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"])
        self.assertEqual(elfdeps.read_elf(prog).runpath, "$ORIGIN/../lib")
        self.assertIn(f"{d}/app/lib/liba.so", self.same_as_ldd(prog))
        # In the guest $ORIGIN is where the program is there: /opt/app/bin.
        _, entries, _, _ = archive(["--app", prog, "--app-path", "/opt/app/bin/prog"])
        self.assertEqual(entries["/opt/app/lib/liba.so"][0], "-")

    def test_lib_and_platform_tokens(self):
        d = self.d
        a = self.lib(f"{d}/app/lib/x86_64-linux-gnu/liba.so")
        b = self.lib(f"{d}/app/x86_64/libb.so")
        prog = self.prog(f"{d}/app/prog", [(a, f"{d}/app/lib/x86_64-linux-gnu/liba.so"),
                                           (b, f"{d}/app/x86_64/libb.so")],
                         ["-Wl,--enable-new-dtags,-rpath,$ORIGIN/$LIB:${ORIGIN}/${PLATFORM}"])
        found = self.same_as_ldd(prog)
        self.assertIn(f"{d}/app/lib/x86_64-linux-gnu/liba.so", found)
        self.assertIn(f"{d}/app/x86_64/libb.so", found)

    def test_rpath_is_inherited_and_runpath_is_not(self):
        d = self.d
        x = self.lib(f"{d}/A/libx.so")
        b = self.lib(f"{d}/L/libb.so", needs=[(x, f"{d}/A/libx.so")])
        # DT_RPATH of the program also serves libb's needs...
        rpath = self.prog(f"{d}/rpath", [(b, f"{d}/L/libb.so")], [f"-Wl,--disable-new-dtags,-rpath,{d}/L:{d}/A"])
        self.assertEqual(self.same_as_ldd(rpath), [f"{d}/L/libb.so", "/lib/x86_64-linux-gnu/libc.so.6",
                                                   f"{d}/A/libx.so"])
        # ... its DT_RUNPATH serves only its own.
        runpath = self.prog(f"{d}/runpath", [(b, f"{d}/L/libb.so")], [f"-Wl,--enable-new-dtags,-rpath,{d}/L:{d}/A"])
        self.assertIn(("libx.so", None), ldd(runpath)[0])
        with self.assertRaises(elfdeps.ResolveError) as e:
            resolve(runpath)
        message = str(e.exception)
        self.assertIn(f"libx.so not found: needed by {d}/L/libb.so <- {d}/runpath", message)
        self.assertIn("/usr/lib/x86_64-linux-gnu (/etc/ld.so.conf, default)", message)

    def test_runpath_of_the_needer_turns_off_the_rpath_of_its_loaders(self):
        d = self.d
        xa = self.lib(f"{d}/A/libx.so")
        self.lib(f"{d}/B/libx.so")
        c = self.lib(f"{d}/L/libc2.so", needs=[(xa, f"{d}/A/libx.so")], flags=[f"-Wl,--enable-new-dtags,-rpath,{d}/B"])
        prog = self.prog(f"{d}/prog", [(c, f"{d}/L/libc2.so")], [f"-Wl,--disable-new-dtags,-rpath,{d}/L:{d}/A"])
        self.assertIn(f"{d}/B/libx.so", self.same_as_ldd(prog))

    def test_own_rpath_comes_before_the_loaders(self):
        d = self.d
        xa = self.lib(f"{d}/A/libx.so")
        self.lib(f"{d}/B/libx.so")
        e = self.lib(f"{d}/L/libe.so", needs=[(xa, f"{d}/A/libx.so")], flags=[f"-Wl,--disable-new-dtags,-rpath,{d}/B"])
        prog = self.prog(f"{d}/prog", [(e, f"{d}/L/libe.so")], [f"-Wl,--disable-new-dtags,-rpath,{d}/L:{d}/A"])
        self.assertIn(f"{d}/B/libx.so", self.same_as_ldd(prog))

    def test_rpath_and_runpath_come_before_the_system_directories(self):
        d = self.d
        z = self.lib(f"{d}/A/libz.so.1", soname="libz.so.1")
        for dtags in ("--disable-new-dtags", "--enable-new-dtags"):
            prog = self.prog(f"{d}/prog{dtags}", [(z, f"{d}/A/libz.so.1")], [f"-Wl,{dtags},-rpath,{d}/A"])
            self.assertIn(f"{d}/A/libz.so.1", self.same_as_ldd(prog))

    @unittest.skipUnless(have("aarch64-linux-gnu-gcc"), "needs aarch64-linux-gnu-gcc")
    def test_a_library_of_another_architecture_is_skipped(self):
        d = self.d
        self.lib(f"{d}/W/libx.so", cc="aarch64-linux-gnu-gcc")
        x = self.lib(f"{d}/B/libx.so")
        prog = self.prog(f"{d}/prog", [(x, f"{d}/B/libx.so")], [f"-Wl,--enable-new-dtags,-rpath,{d}/W:{d}/B"])
        self.assertIn(f"{d}/B/libx.so", self.same_as_ldd(prog))
        alone = self.prog(f"{d}/alone", [(x, f"{d}/B/libx.so")], [f"-Wl,--enable-new-dtags,-rpath,{d}/W"])
        self.assertIn(("libx.so", None), ldd(alone)[0])
        rc, _, err, _ = archive(["--app", alone], check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("tools/run: libx.so not found: needed by /bin/alone", err)
        self.assertIn(f"{d}/W (RUNPATH of /bin/alone)", err)
        self.assertIn(f"skipped (wrong architecture):\n    {d}/W/libx.so", err)
        self.assertIn("64-bit aarch64 ELF file", err)

    def test_a_missing_library(self):
        d = self.d
        gone = self.lib(f"{d}/A/libgone.so.3", soname="libgone.so.3")
        b = self.lib(f"{d}/A/libb.so", needs=[(gone, f"{d}/A/libgone.so.3")])
        prog = self.prog(f"{d}/prog", [(b, f"{d}/A/libb.so")], [f"-Wl,--disable-new-dtags,-rpath,{d}/A"])
        os.remove(f"{d}/A/libgone.so.3")
        rc, _, err, _ = archive(["--app", prog], check=False)
        self.assertEqual(rc, 1, err)
        self.assertNotIn("Traceback", err)
        self.assertIn(f"tools/run: libgone.so.3 not found: needed by {d}/A/libb.so <- /bin/prog", err)
        self.assertIn(f"{d}/A (RPATH of /bin/prog)", err)
        self.assertIn("/lib/x86_64-linux-gnu (/etc/ld.so.conf, default)", err)
        # --no-libs packs nothing and so finds nothing missing.
        rc, entries, err, _ = archive(["--app", prog, "--no-libs"])
        self.assertEqual(sorted(entries), ["/", "/bin", "/bin/prog", "/tmp"])

    def test_one_file_under_two_names(self):
        d = self.d
        x = self.lib(f"{d}/A/libx.so.1.0")
        os.symlink("libx.so.1.0", f"{d}/A/libx.so.1")
        a = self.lib(f"{d}/A/liba.so", needs=[(x, f"{d}/A/libx.so.1")])
        b = self.lib(f"{d}/A/libb.so", needs=[(x, f"{d}/A/libx.so.1.0")])
        prog = self.prog(f"{d}/prog", [(a, f"{d}/A/liba.so"), (b, f"{d}/A/libb.so")],
                         [f"-Wl,--disable-new-dtags,-rpath,{d}/A"])
        self.assertEqual(elfdeps.read_elf(f"{d}/A/liba.so").needed[0], "libx.so.1")
        self.assertEqual(elfdeps.read_elf(f"{d}/A/libb.so").needed[0], "libx.so.1.0")
        # ld.so loads it once (same inode): ldd lists it once.
        self.assertEqual(self.same_as_ldd(prog).count(f"{d}/A/libx.so.1"), 1)
        # The archive has the file under the first name and a link under the second, so the
        # guest's ld.so too sees one file.
        _, entries, _, _ = archive(["--app", prog])
        self.assertEqual(entries[f"{d}/A/libx.so.1"][0], "-")
        self.assertEqual(entries[f"{d}/A/libx.so.1.0"], ("l", len("libx.so.1"), "libx.so.1"))

    def test_ld_so_conf_of_a_sysroot(self):
        d = self.d
        root = f"{d}/root"
        for path in ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"):
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            shutil.copy(path, root + path)
        write(f"{root}/etc/ld.so.conf", "# comment\ninclude /etc/ld.so.conf.d/*.conf\n")
        write(f"{root}/etc/ld.so.conf.d/custom.conf", "/opt/custom\n")
        x = self.lib(f"{root}/opt/custom/libx.so")
        prog = self.prog(f"{d}/prog", [(x, f"{root}/opt/custom/libx.so")])
        _, found, _ = resolve(prog, [root])
        self.assertEqual(found, ["/opt/custom/libx.so", "/lib/x86_64-linux-gnu/libc.so.6"])
        # The guest has no ld.so.cache: the directory comes through LD_LIBRARY_PATH.
        _, entries, err, out = archive(["--app", prog, "--sysroot", root])
        self.assertIn("/opt/custom/libx.so", entries)
        self.assertIn("/lib64/ld-linux-x86-64.so.2", entries)
        self.assertIn("--env=LD_LIBRARY_PATH=/opt/custom /bin/prog", out)
        self.assertIn("the guest has no ld.so.cache", err)

    @unittest.skipUnless(have("musl-gcc") and os.path.exists(MUSL_LD), "needs musl-gcc (musl-tools)")
    def test_musl_runpath_serves_the_whole_chain(self):
        d = self.d
        x = self.lib(f"{d}/A/libx.so", cc="musl-gcc")
        b = self.lib(f"{d}/L/libb.so", needs=[(x, f"{d}/A/libx.so")], cc="musl-gcc")
        prog = self.prog(f"{d}/prog", [(b, f"{d}/L/libb.so")], [f"-Wl,--enable-new-dtags,-rpath,{d}/L:{d}/A"],
                         cc="musl-gcc")
        interp, found, _ = resolve(prog)
        oracle, rc = musl_list(prog)
        self.assertEqual(rc, 0)
        self.assertEqual([interp] + found, oracle)
        self.assertEqual(found, [f"{d}/L/libb.so", f"{d}/A/libx.so"])

    @unittest.skipUnless(have("musl-gcc") and os.path.exists(MUSL_LD) and have("aarch64-linux-gnu-gcc"),
                         "needs musl-gcc (musl-tools) and aarch64-linux-gnu-gcc")
    def test_musl_stops_at_a_library_of_another_architecture(self):
        d = self.d
        self.lib(f"{d}/W/libx.so", cc="aarch64-linux-gnu-gcc")
        x = self.lib(f"{d}/B/libx.so", cc="musl-gcc")
        prog = self.prog(f"{d}/prog", [(x, f"{d}/B/libx.so")], [f"-Wl,--enable-new-dtags,-rpath,{d}/W:{d}/B"],
                         cc="musl-gcc")
        self.assertNotEqual(musl_list(prog)[1], 0)  # unlike glibc's, musl's ld.so does not skip it
        with self.assertRaises(elfdeps.ResolveError) as e:
            resolve(prog)
        self.assertIn(f"musl's ld.so would open {d}/W/libx.so", str(e.exception))


@unittest.skipUnless(X86_64, "needs an x86_64 host")
class Archives(unittest.TestCase):
    def test_sqlite3(self):
        if not os.path.exists("/usr/bin/sqlite3"):
            self.skipTest("no /usr/bin/sqlite3 (tools/install-deps installs sqlite3)")
        rc, entries, err, out = archive(["--app", "/usr/bin/sqlite3", "--", "-version"])
        expected = ["/lib64/ld-linux-x86-64.so.2"] + [
            f"/lib/x86_64-linux-gnu/{lib}" for lib in
            ("libsqlite3.so.0", "libreadline.so.8", "libz.so.1", "libc.so.6", "libm.so.6", "libtinfo.so.6")]
        for path in expected:
            # The file itself (ld.so opens the link name; the archive holds the file there).
            self.assertEqual(entries[path][:2], ("-", os.stat(path).st_size), path)
        self.assertEqual(sorted(p for p, e in entries.items() if e[0] == "-"), sorted(expected + ["/bin/sqlite3"]))
        self.assertIn("'/bin/sqlite3 -version'", out)
        self.assertIn("added 7 files for dynamically linked programs", err)

    def test_static_program_unchanged(self):
        if not os.path.exists("/bin/busybox"):
            self.skipTest("no /bin/busybox (busybox-static)")
        _, entries, err, _ = archive(["--app", "/bin/busybox"])
        self.assertEqual(sorted(entries), ["/", "/bin", "/bin/busybox", "/tmp"])
        self.assertNotIn("added", err)

    def test_user_add_of_the_same_path_wins(self):
        with tempfile.TemporaryDirectory() as d:
            mine = os.path.join(d, "libz.so.1")
            shutil.copy("/lib/x86_64-linux-gnu/libz.so.1", mine)
            with open(mine, "ab") as f:
                f.write(b"\0" * 1000)  # not the host's file
            _, entries, _, _ = archive(["--app", "/usr/bin/sqlite3", "--add", f"{mine}:/lib/x86_64-linux-gnu/libz.so.1"])
            self.assertEqual(entries["/lib/x86_64-linux-gnu/libz.so.1"][1], os.path.getsize(mine))
            self.assertIn("/lib/x86_64-linux-gnu/libsqlite3.so.0", entries)

    def test_dynamic_program_added_beside_a_static_one(self):
        if not os.path.exists("/bin/busybox"):
            self.skipTest("no /bin/busybox (busybox-static)")
        _, entries, _, _ = archive(["--app", "/bin/busybox", "--add", "/usr/bin/sqlite3:/usr/bin/sqlite3"])
        self.assertIn("/lib64/ld-linux-x86-64.so.2", entries)
        self.assertIn("/lib/x86_64-linux-gnu/libsqlite3.so.0", entries)

    def test_python_tree_brings_what_its_extension_modules_need(self):
        if not os.path.isdir("/usr/lib/python3.11/lib-dynload"):
            self.skipTest("no /usr/lib/python3.11")
        _, entries, _, _ = archive(["--app", "/usr/bin/python3.11", "--add", "/usr/lib/python3.11:/usr/lib/python3.11",
                                    *PYTHON_EXCLUDES, "--", "-c", "import sqlite3"])
        self.assertIn("/usr/lib/python3.11/os.py", entries)
        self.assertIn("/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so", entries)
        self.assertIn("/lib/x86_64-linux-gnu/libsqlite3.so.0", entries)  # for _sqlite3 (dlopen)
        self.assertIn("/lib/x86_64-linux-gnu/libcrypto.so.3", entries)   # for _hashlib and _ssl
        for gone in ("/usr/lib/python3.11/test", "/usr/lib/python3.11/idlelib", "/usr/lib/python3.11/ensurepip",
                     "/usr/lib/python3.11/unittest/test", "/usr/lib/python3.11/tkinter"):
            self.assertNotIn(gone, entries)
        self.assertFalse([p for p in entries if "__pycache__" in p])
        self.assertIn("/usr/lib/python3.11/unittest/case.py", entries)  # not excluded: no '/' match

    @unittest.skipUnless(have("musl-gcc") and os.path.exists(MUSL_LD), "needs musl-gcc (musl-tools)")
    def test_musl_program(self):
        with tempfile.TemporaryDirectory() as d:
            write(f"{d}/hello.c", '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
            sh("musl-gcc", "-o", f"{d}/hello", f"{d}/hello.c")
            _, entries, _, _ = archive(["--app", f"{d}/hello"])
            self.assertEqual(entries[MUSL_LD][:2], ("-", os.stat(MUSL_LD).st_size))
            if os.path.exists("/etc/ld-musl-x86_64.path"):
                self.assertEqual(entries["/etc/ld-musl-x86_64.path"][0], "-")


@unittest.skipUnless(have("aarch64-linux-gnu-gcc") and os.path.isdir("/usr/aarch64-linux-gnu/lib"),
                     "needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross")
class Aarch64(unittest.TestCase):
    CROSS = "/usr/aarch64-linux-gnu"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mica-elfdeps-")
        self.addCleanup(self.tmp.cleanup)
        self.d = os.path.realpath(self.tmp.name)

    def fake_sysroot(self, root):
        """Debian's arm64 layout: /lib/ld-linux-aarch64.so.1 an absolute link into
        /lib/aarch64-linux-gnu (which must stay inside the sysroot), glibc there, libfoo in
        /usr/lib/aarch64-linux-gnu, and an x86_64 libfoo earlier on the path."""
        multiarch = f"{root}/lib/aarch64-linux-gnu"
        os.makedirs(multiarch)
        for name in ("ld-linux-aarch64.so.1", "libc.so.6"):
            shutil.copy(f"{self.CROSS}/lib/{name}", f"{multiarch}/{name}")
        os.symlink("/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", f"{root}/lib/ld-linux-aarch64.so.1")
        write(f"{self.d}/foo.c", "int foo(void) { return 7; }\n")
        os.makedirs(f"{root}/usr/lib/aarch64-linux-gnu")
        sh("aarch64-linux-gnu-gcc", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o",
           f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1.2", f"{self.d}/foo.c")
        os.symlink("libfoo.so.1.2", f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1")
        if have("gcc"):
            sh("gcc", "-shared", "-fPIC", "-o", f"{multiarch}/libfoo.so.1", f"{self.d}/foo.c")

    def program(self, root):
        write(f"{self.d}/prog.c", "extern int foo(void);\nint main(void) { return foo(); }\n")
        shutil.copy(f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1.2", f"{self.d}/libfoo.so")
        sh("aarch64-linux-gnu-gcc", "-o", f"{self.d}/prog", f"{self.d}/prog.c", f"-L{self.d}", "-lfoo")
        return f"{self.d}/prog"

    def test_fake_sysroot(self):
        root = f"{self.d}/root"
        self.fake_sysroot(root)
        prog = self.program(root)
        interp, found, _ = resolve(prog, [root], guest="/bin/prog")
        self.assertEqual(interp, "/lib/ld-linux-aarch64.so.1")
        self.assertEqual(found, ["/usr/lib/aarch64-linux-gnu/libfoo.so.1", "/lib/aarch64-linux-gnu/libc.so.6"])
        _, entries, _, out = archive(["--aarch64", "--app", prog, "--sysroot", root])
        self.assertEqual(entries["/lib/ld-linux-aarch64.so.1"][:2],
                         ("-", os.path.getsize(f"{self.CROSS}/lib/ld-linux-aarch64.so.1")))
        self.assertEqual(entries["/usr/lib/aarch64-linux-gnu/libfoo.so.1"][:2],
                         ("-", os.path.getsize(f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1.2")))
        self.assertEqual(entries["/lib/aarch64-linux-gnu/libc.so.6"][0], "-")
        self.assertNotIn("/lib/aarch64-linux-gnu/libfoo.so.1", entries)  # the x86_64 one, skipped
        self.assertTrue(out.startswith("qemu-system-aarch64 "), out)

    def test_cross_compiler_glibc_as_sysroot(self):
        write(f"{self.d}/hello.c", '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
        sh("aarch64-linux-gnu-gcc", "-o", f"{self.d}/hello", f"{self.d}/hello.c")
        _, entries, _, _ = archive(["--aarch64", "--app", f"{self.d}/hello", "--sysroot", self.CROSS])
        self.assertEqual(entries["/lib/ld-linux-aarch64.so.1"][0], "-")
        self.assertEqual(entries["/lib/libc.so.6"][0], "-")

    def test_default_sysroot_names_the_helper(self):
        cache = f"{self.d}/cache"
        root = f"{cache}/sysroot-arm64"
        self.fake_sysroot(root)
        os.remove(f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1")  # not fetched yet
        write(f"{root}/.mica-packages", "libc6:arm64=2.36\n")  # the helper has nothing to fetch
        prog = self.program(root)
        env = dict(os.environ, MICA_CACHE=cache)
        rc, _, err, _ = archive(["--aarch64", "--app", prog], env=env, check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("tools/run: libfoo.so.1 not found: needed by /bin/prog", err)
        self.assertIn(f"under {root}", err)
        self.assertIn("tools/arm64-sysroot PACKAGE", err)
        os.symlink("libfoo.so.1.2", f"{root}/usr/lib/aarch64-linux-gnu/libfoo.so.1")
        _, entries, _, _ = archive(["--aarch64", "--app", prog], env=env)
        self.assertIn("/usr/lib/aarch64-linux-gnu/libfoo.so.1", entries)


@unittest.skipUnless(X86_64 and have("apt-get") and have("dpkg-deb"), "needs an x86_64 Debian host")
class DebianArm64(unittest.TestCase):
    """Debian's arm64 packages through tools/arm64-sysroot (the Debian mirrors the first time;
    skipped when they cannot be reached)."""

    @classmethod
    def setUpClass(cls):
        cls.root, why = arm64_sysroot()
        if cls.root is None:
            raise unittest.SkipTest(why)

    def test_programs(self):
        common = ["/lib/ld-linux-aarch64.so.1", "/lib/aarch64-linux-gnu/libc.so.6",
                  "/lib/aarch64-linux-gnu/libreadline.so.8", "/lib/aarch64-linux-gnu/libtinfo.so.6"]
        for program, libs in (("sqlite3", ["/usr/lib/aarch64-linux-gnu/libsqlite3.so.0", "/lib/aarch64-linux-gnu/libz.so.1"]),
                              ("lua5.4", ["/lib/aarch64-linux-gnu/libm.so.6"]),
                              ("gawk", ["/usr/lib/aarch64-linux-gnu/libmpfr.so.6", "/usr/lib/aarch64-linux-gnu/libgmp.so.10",
                                        "/usr/lib/aarch64-linux-gnu/libsigsegv.so.2"])):
            _, entries, _, _ = archive(["--aarch64", "--app", f"{self.root}/usr/bin/{program}"])
            self.assertEqual(elfdeps.read_elf(f"{self.root}/usr/bin/{program}").arch, "aarch64")
            for path in common + libs:
                self.assertEqual(entries[path][0], "-", f"{program}: {path}")


def arm64_sysroot():
    """tools/arm64-sysroot's directory with sqlite3, lua5.4 and gawk, or the reason it is not."""
    r = subprocess.run([sys.executable, SYSROOT_HELPER, "sqlite3", "lua5.4", "gawk"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return None, f"tools/arm64-sysroot could not fetch the packages: {r.stderr.strip()}"
    return r.stdout.strip().splitlines()[-1], None


class Boot(unittest.TestCase):
    """Dynamically linked programs booted on the kernels of the given build directories."""

    def build(self, arch):
        if arch not in BUILD_DIRS:
            self.skipTest(f"no {arch} build directory given (--{arch})")
        build = BUILD_DIRS[arch]
        with open(os.path.join(build, ".config")) as f:
            if "CONFIG_LOADER_DYNAMIC=y" not in f.read():
                self.skipTest(f"the kernel in {build} does not start PT_INTERP (CONFIG_LOADER_DYNAMIC)")
        return build

    def boot(self, arch, *args):
        p = subprocess.run([sys.executable, RUN, "-O", self.build(arch), "--accel", "tcg", "--timeout", "240",
                            "-m", "256M", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=400)
        return p.returncode, p.stdout

    def test_x86_64_sqlite3(self):
        self.build("x86_64")
        if not os.path.exists("/usr/bin/sqlite3"):
            self.skipTest("no /usr/bin/sqlite3 (tools/install-deps installs sqlite3)")
        host = sh("/usr/bin/sqlite3", "-version").strip()
        rc, out = self.boot("x86_64", "--app", "/usr/bin/sqlite3", "--", "-version")
        self.assertEqual(rc, 0, out)
        self.assertIn(host, out.splitlines())

    def test_x86_64_python_loads_extension_modules_and_their_libraries(self):
        self.build("x86_64")
        if not os.path.isdir("/usr/lib/python3.11/lib-dynload"):
            self.skipTest("no python3.11")
        code = ('import sqlite3, hashlib; print(sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0], '
                'hashlib.sha256(b"mica").hexdigest())')
        rc, out = self.boot("x86_64", "--app", "/usr/bin/python3.11", "--add", "/usr/lib/python3.11:/usr/lib/python3.11",
                            *PYTHON_EXCLUDES, "--", "-c", code)
        self.assertEqual(rc, 0, out)
        self.assertIn(sh("/usr/bin/python3.11", "-c", code).strip(), out.splitlines())

    @unittest.skipUnless(have("musl-gcc") and os.path.exists(MUSL_LD), "needs musl-gcc (musl-tools)")
    def test_x86_64_musl(self):
        self.build("x86_64")
        with tempfile.TemporaryDirectory() as d:
            write(f"{d}/hello.c", '#include <stdio.h>\nint main(int c, char **v) { printf("%s musl\\n", v[1]); return 3; }\n')
            sh("musl-gcc", "-o", f"{d}/hello", f"{d}/hello.c")
            rc, out = self.boot("x86_64", "--app", f"{d}/hello", "--", "dynamic")
            self.assertEqual(rc, 3, out)
            self.assertIn("dynamic musl", out.splitlines())

    def test_aarch64_debian_programs(self):
        self.build("aarch64")
        root, why = arm64_sysroot()
        if root is None:
            self.skipTest(why)
        for program, args, expected in (("sqlite3", ["-version"], "3."),
                                        ("lua5.4", ["-e", "print(6*7)"], "42"),
                                        ("gawk", ["BEGIN { print 2^64 }"], "18446744073709551616")):
            rc, out = self.boot("aarch64", "--app", f"{root}/usr/bin/{program}", "--", *args)
            self.assertEqual(rc, 0, out)
            self.assertTrue([line for line in out.splitlines() if line.startswith(expected)], out)


def main():
    argv = [sys.argv[0]]
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--x86_64", "--aarch64"):
            BUILD_DIRS[arg[2:]] = next(args)
        else:
            argv.append(arg)
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
