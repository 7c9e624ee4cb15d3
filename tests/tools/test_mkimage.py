#!/usr/bin/python3
"""tools/mkimage: modules, manifests and the images it writes (docs/modules.md).

  test_mkimage.py [--x86_64 BUILD_DIR] [--aarch64 BUILD_DIR] [--work DIR] [unittest options] [TEST...]

Manifest: the manifest parser (files, directories, links, globs, cmdline:, sysroot:, comments)
and its errors, each naming file:line.
Dependencies: modules' Kconfig `depends on`/`select` resolved transitively, dependencies first;
a cycle, a missing module, '||', a misnamed symbol.
Conflicts: two modules putting different things at one path (an error naming both lines), the
same file twice (fine), a path under another module's file or link.
Image: tools/mkimage run on made-up modules, the image listed with `unsquashfs -lls` and read
with `unsquashfs -cat`: modes, links, globs, mount points, /etc/mica/cmdline and how it is
chosen (--cmdline, CONFIG_IMAGE_CMDLINE, the top module's), modules from a .config, the
libraries of a dynamically linked program, byte-identical rebuilds, errors with status 1.
BootArchive (with build directories): `make O=WORK/<arch> image` of the busybox and lua
modules (a build directory configured like the given one, its modules built, not its kernel),
the image's files booted as the boot archive with the image's default command line.
RootBoot (with build directories whose kernels mount a squashfs root, CONFIG_FS_SQUASHFS and
CONFIG_DRIVER_VIRTIO_BLK, and a tools/run with --root): the same image booted from disk with
`tools/run --root mica.img`, with and without a command line.
"""
import importlib.machinery
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(SOURCE, "tools")
MKIMAGE = os.path.join(TOOLS, "mkimage")
RUN = os.path.join(TOOLS, "run")
PYTHON = "/usr/bin/python3"
BUILD_DIRS = {}
WORK = {"dir": None}
BOOT_TIMEOUT = 120  # seconds for one TCG boot; the test only waits, it asserts nothing about time


def load_mkimage():
    loader = importlib.machinery.SourceFileLoader("mkimage", MKIMAGE)
    spec = importlib.util.spec_from_loader("mkimage", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


mkimage = load_mkimage()


def write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    if mode is not None:
        os.chmod(path, mode)


def have(program):
    return shutil.which(program) is not None


class Fixture(unittest.TestCase):
    """A temporary source tree (modules/) and build directory (build/modules/<name>/)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mica-mkimage-test-")
        self.modules = os.path.join(self.tmp, "modules")
        self.build = os.path.join(self.tmp, "build")
        os.makedirs(self.modules)
        os.makedirs(self.build)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def module(self, name, manifest="", kconfig_lines="", files=None):
        """modules/<name>/{Kconfig,manifest} and build/modules/<name>/<files>."""
        symbol = mkimage.symbol_of(name)
        write(os.path.join(self.modules, name, "Kconfig"),
              f"config {symbol}\n\tbool \"{name}\"\n" + textwrap.dedent(kconfig_lines) +
              "\thelp\n\t  The test module {name}. It depends on MODULE_NOTHING only in words.\n")
        write(os.path.join(self.modules, name, "manifest"), manifest)
        base = os.path.join(self.build, "modules", name)
        os.makedirs(base, exist_ok=True)
        for path, (content, mode) in (files or {}).items():
            write(os.path.join(base, path), content, mode)
        return base

    def mkimage(self, *args, check=True):
        r = subprocess.run([PYTHON, MKIMAGE, "-O", self.build, "--modules-dir", self.modules, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if check and r.returncode != 0:
            self.fail(f"tools/mkimage {' '.join(args)} failed ({r.returncode}):\n{r.stdout}")
        return r

    def error(self, *args):
        """tools/mkimage's message when it fails (it must, with status 1)."""
        r = self.mkimage(*args, check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stdout.startswith("mkimage: "), r.stdout)
        return r.stdout


class Manifest(Fixture):
    def parse(self, text, name="m"):
        path = os.path.join(self.tmp, name)
        write(path, text)
        return mkimage.parse_manifest(path, name)

    def parse_error(self, text):
        with self.assertRaises(mkimage.Error) as e:
            self.parse(text)
        return str(e.exception)

    def test_lines(self):
        lines = self.parse("""\
            # a comment, then a blank line

            /bin/prog: out/prog
              /etc/empty/:
            /bin/sh -> busybox
            /bin/old: -> /bin/busybox
            /usr/lib/lua/**: pkg/usr/lib/lua/**
            /share/*.txt: data/*.txt
            /srv/file: host dir/file name
            cmdline: /bin/prog -x 'a b'
            sysroot: pkg
            /**: root/**
            """)
        got = [(l.kind, l.origin, l.guest, l.host, l.target, l.text) for l in lines]
        self.assertEqual(got, [
            ("file", "m:3", "bin/prog", "out/prog", None, None),
            ("dir", "m:4", "etc/empty", None, None, None),
            ("link", "m:5", "bin/sh", None, "busybox", None),
            ("link", "m:6", "bin/old", None, "/bin/busybox", None),
            ("glob", "m:7", "usr/lib/lua", "pkg/usr/lib/lua", "**", None),
            ("glob", "m:8", "share", "data", "*.txt", None),
            ("file", "m:9", "srv/file", "host dir/file name", None, None),
            ("cmdline", "m:10", None, None, None, "/bin/prog -x 'a b'"),
            ("sysroot", "m:11", None, None, None, "pkg"),
            ("glob", "m:12", "", "root", "**", None),
        ])

    def test_errors_name_file_and_line(self):
        cases = [
            ("bin/prog: prog\n", "m:1: unknown directive 'bin/prog'"),
            ("# ok\n/bin/../etc: x\n", "m:2: guest path '/bin/../etc' contains '..'"),
            ("/bin/prog\n", "m:1: expected '/guest/path: host/path'"),
            ("/a -> \n", "m:1: symbolic link /a has no target"),
            ("/bin/sh ->\n", "m:1: symbolic link /bin/sh has no target"),
            ("cmdline: a\ncmdline: b\n", "m:2: a second 'cmdline:' line (the first is m:1)"),
            ("sysroot:\n", "m:1: 'sysroot:' needs a value"),
            ("/lib/**: pkg/lib/*\n", "m:1: the wildcard parts of the guest and host paths must be the same"),
            ("/lib/*.so: pkg/lib/x.so\n", "m:1: the wildcard parts"),
            ("/lib/x**: pkg/lib/x**\n", "m:1: '**' must be a whole path component"),
            ("/bin/*: \n", "m:1: /bin/* has wildcards but no host path"),
            ("/bin/* -> x\n", "m:1: a symbolic link's path cannot have wildcards"),
            ("\n\n/srv/a b: c\n", "m:3: guest path '/srv/a b' contains white space"),
            ("foo: bar\n", "m:1: unknown directive 'foo'"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertIn(expected, self.parse_error(text))

    def test_missing_file(self):
        with self.assertRaises(mkimage.Error) as e:
            mkimage.parse_manifest(os.path.join(self.tmp, "absent"))
        self.assertIn("absent: No such file", str(e.exception))


class Dependencies(Fixture):
    def resolve(self, *names):
        available = mkimage.discover(self.modules)
        return [m.name for m in mkimage.resolve(available, [(mkimage.symbol_of(n), f"--module {n}") for n in names])]

    def resolve_error(self, *names):
        with self.assertRaises(mkimage.Error) as e:
            self.resolve(*names)
        return str(e.exception)

    def test_transitive_dependencies_first(self):
        self.module("app", kconfig_lines="\tdepends on MODULE_LIB && LOADER_DYNAMIC\n\tselect MODULE_SHELL\n")
        self.module("lib", kconfig_lines="\tselect MODULE_BASE if MODULE_SHELL\n")
        self.module("shell", kconfig_lines="\tdepends on MODULE_BASE\n")
        self.module("base")
        self.module("unrelated")
        self.assertEqual(self.resolve("app"), ["base", "lib", "shell", "app"])
        self.assertEqual(self.resolve("shell", "app"), ["base", "shell", "lib", "app"])
        self.assertEqual(self.resolve("unrelated"), ["unrelated"])

    def test_cycle(self):
        self.module("a", kconfig_lines="\tselect MODULE_B\n")
        self.module("b", kconfig_lines="\tdepends on MODULE_C\n")
        self.module("c", kconfig_lines="\tselect MODULE_A\n")
        message = self.resolve_error("a")
        self.assertIn("module dependency cycle: a -> b -> c -> a", message)
        for line in ("a/Kconfig:3", "b/Kconfig:3", "c/Kconfig:3"):
            self.assertIn(line, message)
        self.module("self", kconfig_lines="\tselect MODULE_SELF\n")
        self.assertIn("cycle: self -> self", self.resolve_error("self"))

    def test_missing_module(self):
        self.module("a", kconfig_lines="\tselect MODULE_B\n")
        self.module("b", kconfig_lines="\n\tdepends on MODULE_NOPE\n")
        message = self.resolve_error("a")
        self.assertRegex(message, r"b/Kconfig:4: module 'b' needs MODULE_NOPE, but there is no module nope")
        self.assertIn("--module zzz: no module MODULE_ZZZ (modules: a, b)", self.resolve_error("zzz"))

    def test_unresolvable_expressions_and_names(self):
        self.module("a", kconfig_lines="\tdepends on MODULE_B || MODULE_C\n")
        self.assertIn("a/Kconfig:3: 'MODULE_B || MODULE_C'", self.resolve_error("a"))
        shutil.rmtree(os.path.join(self.modules, "a"))
        write(os.path.join(self.modules, "x", "Kconfig"), "config MODULE_Y\n\tbool \"y\"\n")
        self.assertIn("x/Kconfig:1: config MODULE_Y in module 'x': its symbol is MODULE_X", self.resolve_error("x"))
        write(os.path.join(self.modules, "x", "Kconfig"), "config OTHER\n\tbool \"y\"\n")
        self.assertIn("x/Kconfig: no 'config MODULE_X' entry", self.resolve_error("x"))

    def test_shipped_modules(self):
        available = mkimage.discover(os.path.join(SOURCE, "modules"))
        order = [m.name for m in mkimage.resolve(available, [("MODULE_LUA", "test")])]
        self.assertEqual(order, ["busybox", "lua"])
        for module in available.values():
            self.assertTrue(os.path.isfile(module.manifest), module.name)
            mkimage.parse_manifest(module.manifest)


class Conflicts(Fixture):
    def test_same_path_two_modules(self):
        self.module("a", "\n/bin/tool: tool\n", files={"tool": ("#!/bin/sh\necho a\n", 0o755)})
        self.module("b", "/bin/tool: other\n", files={"other": ("#!/bin/sh\necho b\n", 0o755)})
        message = self.error("--module", "a", "--module", "b")
        self.assertRegex(message, r"/bin/tool: \S*b/manifest:1 puts the file \S*/other there, but "
                                  r"\S*a/manifest:2 puts the file \S*/tool")

    def test_link_against_file(self):
        self.module("a", "/bin/sh: sh\n", files={"sh": ("x", 0o755)})
        self.module("b", "/bin/sh -> busybox\n")
        self.assertRegex(self.error("--module", "a", "--module", "b"),
                         r"/bin/sh: \S*b/manifest:1 puts a symbolic link to busybox there, but \S*a/manifest:1")

    def test_identical_is_fine(self):
        self.module("a", "/etc/motd: motd\n/bin/sh -> busybox\n/var/:\n", files={"motd": ("hello\n", 0o644)})
        self.module("b", "/etc/motd: motd\n/bin/sh -> busybox\n/var/:\n", files={"motd": ("hello\n", 0o644)})
        self.mkimage("--module", "a", "--module", "b", "--cmdline", "/bin/sh")

    def test_same_content_other_mode(self):
        self.module("a", "/etc/motd: motd\n", files={"motd": ("hello\n", 0o644)})
        self.module("b", "/etc/motd: motd\n", files={"motd": ("hello\n", 0o600)})
        self.assertIn("/etc/motd: ", self.error("--module", "a", "--module", "b"))

    def test_path_under_a_file(self):
        self.module("a", "/etc: file\n", files={"file": ("x", 0o644)})
        self.module("b", "/etc/passwd: passwd\n", files={"passwd": ("root:x:0:0::/:/bin/sh\n", 0o644)})
        self.assertRegex(self.error("--module", "a", "--module", "b"),
                         r"b/manifest:1: /etc/passwd needs /etc to be a directory, but \S*a/manifest:1 makes it the file")

    def test_module_cannot_write_the_cmdline_file(self):
        self.module("a", "/etc/mica/cmdline: c\ncmdline: /bin/x\n", files={"c": ("/bin/y\n", 0o644)})
        self.assertIn("/etc/mica/cmdline: tools/mkimage: the default command line puts generated content there",
                      self.error("--module", "a"))


def lls(image):
    """{path: (mode string, owner, size, link target)} of `unsquashfs -lls`."""
    out = subprocess.run(["unsquashfs", "-lls", "-d", "", image], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=True).stdout
    entries = {}
    for line in out.splitlines():
        m = re.match(r"([dlrwxstST-]{10}) (\S+)\s+(\d+) \S+ \S+ (.*)$", line)
        if not m:
            continue
        path, _, target = m.group(4).partition(" -> ")
        entries[path or "/"] = (m.group(1), m.group(2), int(m.group(3)), target or None)
    return entries


def cat(image, path):
    return subprocess.run(["unsquashfs", "-cat", image, path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True).stdout


@unittest.skipUnless(have("mksquashfs") and have("unsquashfs"), "squashfs-tools is not installed")
class Image(Fixture):
    def setUp(self):
        super().setUp()
        self.module("tools", """\
            # tools: a program, a script, data with its own mode, links, and a tree by glob
            /bin/prog: out/prog
            /bin/run.sh: run.sh
            /etc/secret: secret
            /bin/alias -> prog
            /usr/bin/prog -> /bin/prog
            /var/empty/:
            /usr/share/tools/**: share/**
            /etc/tools/*.conf: conf/*.conf
            cmdline: /bin/prog --flag 'two words'
            """, kconfig_lines="\tselect MODULE_BASE\n", files={
            "out/prog": ("#!/bin/sh\necho prog\n", 0o755),
            "run.sh": ("#!/bin/sh\n", 0o750),
            "secret": ("s3cret\n", 0o600),
            "share/a.txt": ("a\n", 0o644),
            "share/sub/b.txt": ("bb\n", 0o640),
            "share/.hidden": ("h\n", 0o644),
            "conf/one.conf": ("1\n", 0o644),
            "conf/two.conf": ("2\n", 0o644),
            "conf/skip.txt": ("no\n", 0o644),
        })
        os.symlink("a.txt", os.path.join(self.build, "modules", "tools", "share", "link-to-a"))
        self.module("base", "/etc/base: base\ncmdline: /bin/base\n", files={"base": ("base\n", 0o644)})

    def test_listing_is_what_the_manifests_say(self):
        self.mkimage("--module", "tools")
        image = os.path.join(self.build, "mica.img")
        entries = lls(image)
        expected = {
            "/": ("drwxr-xr-x", None, None),
            "/bin/prog": ("-rwxr-xr-x", 20, None),
            "/bin/run.sh": ("-rwxr-x---", 10, None),
            "/etc/secret": ("-rw-------", 7, None),
            "/etc/base": ("-rw-r--r--", 5, None),
            "/bin/alias": ("lrwxrwxrwx", 4, "prog"),
            "/usr/bin/prog": ("lrwxrwxrwx", 9, "/bin/prog"),
            "/var/empty": ("drwxr-xr-x", None, None),
            "/usr/share/tools/a.txt": ("-rw-r--r--", 2, None),
            "/usr/share/tools/sub/b.txt": ("-rw-r-----", 3, None),
            "/usr/share/tools/.hidden": ("-rw-r--r--", 2, None),
            "/usr/share/tools/link-to-a": ("lrwxrwxrwx", 5, "a.txt"),
            "/etc/tools/one.conf": ("-rw-r--r--", 2, None),
            "/etc/tools/two.conf": ("-rw-r--r--", 2, None),
            "/dev": ("drwxr-xr-x", None, None),
            "/proc": ("drwxr-xr-x", None, None),
            "/tmp": ("drwxrwxrwt", None, None),
            "/etc/mica/cmdline": ("-rw-r--r--", None, None),
        }
        for path, (mode, size, target) in expected.items():
            with self.subTest(path=path):
                self.assertIn(path, entries)
                self.assertEqual(entries[path][0], mode)
                self.assertEqual(entries[path][1], "root/root")
                if size is not None:
                    self.assertEqual(entries[path][2], size)
                self.assertEqual(entries[path][3], target)
        self.assertNotIn("/etc/tools/skip.txt", entries)
        implied = {"/bin", "/etc", "/etc/mica", "/etc/tools", "/usr", "/usr/bin", "/usr/share",
                   "/usr/share/tools", "/usr/share/tools/sub", "/var"}
        self.assertEqual(set(entries), set(expected) | implied)
        self.assertEqual(cat(image, "/etc/mica/cmdline"), b"/bin/prog --flag 'two words'\n")
        self.assertEqual(cat(image, "/usr/share/tools/sub/b.txt"), b"bb\n")
        # The listing beside the image says the same, with where each entry came from.
        with open(image + ".list") as f:
            listing = f.read()
        self.assertRegex(listing, r"-rw------- +7 /etc/secret  \[\S*tools/manifest:4\]")
        self.assertRegex(listing, r"lrwxrwxrwx +4 /bin/alias -> prog  \[\S*tools/manifest:5\]")

    def test_reproducible(self):
        self.mkimage("--module", "tools", "-o", os.path.join(self.tmp, "one.img"))
        for path in ("out/prog", "share/a.txt"):  # new times, same content
            os.utime(os.path.join(self.build, "modules", "tools", path), (1e9, 1e9))
        self.mkimage("--module", "tools", "-o", os.path.join(self.tmp, "two.img"))
        with open(os.path.join(self.tmp, "one.img"), "rb") as a, open(os.path.join(self.tmp, "two.img"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_command_line_choice(self):
        image = os.path.join(self.build, "mica.img")
        self.mkimage("--module", "base")
        self.assertEqual(cat(image, "/etc/mica/cmdline"), b"/bin/base\n")
        self.mkimage("--module", "tools", "--cmdline", "/bin/sh -c 'echo hi'")
        self.assertEqual(cat(image, "/etc/mica/cmdline"), b"/bin/sh -c 'echo hi'\n")
        # From the build's .config: its modules and CONFIG_IMAGE_CMDLINE.
        write(os.path.join(self.build, ".config"), 'CONFIG_ARCH="x86_64"\nCONFIG_MODULE_TOOLS=y\n'
              '# CONFIG_MODULE_BASE is not set\nCONFIG_IMAGE_CMDLINE="/bin/prog \\"quoted\\""\n')
        self.mkimage()
        self.assertEqual(cat(image, "/etc/mica/cmdline"), b'/bin/prog "quoted"\n')
        self.assertIn("/etc/base", lls(image))  # the dependency .config did not name
        # Two top modules with a command line each: ambiguous (without CONFIG_IMAGE_CMDLINE).
        os.remove(os.path.join(self.build, ".config"))
        self.module("other", "cmdline: /bin/other\n")
        message = self.error("--module", "tools", "--module", "other")
        self.assertRegex(message, r"modules 'tools' \(\S*tools/manifest:10\), 'other' \(\S*other/manifest:1\) "
                                  r"each give a default command line: choose one with CONFIG_IMAGE_CMDLINE")
        # No command line at all: no /etc/mica/cmdline, and a warning.
        self.module("data", "/etc/data: d\n", files={"d": ("d", 0o644)})
        r = self.mkimage("--module", "data")
        self.assertIn("warning: no module gives a default command line", r.stdout)
        self.assertNotIn("/etc/mica/cmdline", lls(image))

    def test_errors(self):
        self.assertIn("no module MODULE_NOPE", self.error("--module", "nope"))
        self.assertIn("no " + os.path.join(self.build, ".config"), self.error())
        self.module("broken", "/bin/x: missing-file\n")
        self.assertRegex(self.error("--module", "broken"), r"broken/manifest:1: no such host file \S*/missing-file")
        self.module("dir", "/srv: share\n", files={"share/x": ("x", 0o644)})
        self.assertIn("is a directory: add what it holds with '/srv/**: share/**'", self.error("--module", "dir"))
        self.module("empty", "/srv/**: nothing/**\n", files={"nothing/.keep": ("", 0o644)})
        os.remove(os.path.join(self.build, "modules", "empty", "nothing", ".keep"))
        self.assertIn("empty/manifest:1: ", self.error("--module", "empty"))
        self.assertIn("matches nothing", self.error("--module", "empty"))
        shutil.rmtree(os.path.join(self.build, "modules", "base"))
        self.assertIn("module 'base' is not built", self.error("--module", "base"))

    @unittest.skipUnless(platform.machine() == "x86_64" and os.path.exists("/usr/bin/sqlite3"),
                         "needs Debian's x86_64 sqlite3")
    def test_libraries_of_dynamic_programs(self):
        self.module("sqlite", "/usr/bin/sqlite3: /usr/bin/sqlite3\ncmdline: /usr/bin/sqlite3 -version\n")
        self.mkimage("--module", "sqlite", "--arch", "x86_64")
        entries = lls(os.path.join(self.build, "mica.img"))
        self.assertIn("/lib64/ld-linux-x86-64.so.2", entries)
        libs = {os.path.basename(p) for p in entries if p.startswith("/lib/x86_64-linux-gnu/")}
        self.assertTrue({"libc.so.6", "libsqlite3.so.0"} <= libs, libs)
        # A foreign program needs a sysroot: line.
        self.assertIn("is a program for x86_64; the image is for aarch64",
                      self.error("--module", "sqlite", "--arch", "aarch64"))


# -- booting images of the shipped modules ----------------------------------------------------
def module_build_dir(arch):
    """WORK/<arch>: a build directory configured like BUILD_DIRS[arch] with the busybox and lua
    modules instead of hello, where `make image` builds the modules and the image."""
    base = BUILD_DIRS[arch]
    work = os.path.join(WORK["dir"] or tempfile.gettempdir(), f"mkimage-{arch}")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(base, ".config")) as f:
        lines = [l for l in f if not re.match(r"(# )?CONFIG_(MODULE_\w+|IMAGE_CMDLINE)[= ]", l)]
    lines += ["CONFIG_MODULE_BUSYBOX=y\n", "CONFIG_MODULE_LUA=y\n", "# CONFIG_MODULE_HELLO is not set\n"]
    fragment = os.path.join(work, "modules.config")
    with open(fragment, "w") as f:
        f.writelines(lines)
    sh = lambda *cmd: subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=SOURCE, timeout=1800)
    r = sh(PYTHON, os.path.join(TOOLS, "kconfig.py"), "--config", os.path.join(work, ".config"), "defconfig", fragment)
    if r.returncode != 0:
        raise AssertionError(f"kconfig defconfig failed:\n{r.stdout}")
    r = sh("make", f"O={work}", "image")
    if r.returncode != 0:
        raise AssertionError(f"make O={work} image failed:\n{r.stdout[-4000:]}")
    return work


def boot(arch, *args, **kw):
    cmd = [PYTHON, RUN, "-O", BUILD_DIRS[arch], "--timeout", str(BOOT_TIMEOUT), *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=BOOT_TIMEOUT + 60, **kw)
    return r.returncode, r.stdout


LUA_OUTPUT = ["Hello from Lua 5.4 on Mica", "squares: 1 4 9 16 25 36 49 64 81 100",
              "read back: written by lua", "popen: PIPED THROUGH SH", "popen status: true"]
SHELL_COMMAND = "cd /; ls -1d bin dev etc proc tmp usr; cat /etc/mica/cmdline; readlink /bin/sh; echo sum $((6 * 7)); exit 3"
SHELL_OUTPUT = ["bin", "dev", "etc", "proc", "tmp", "usr", "/usr/bin/lua5.4 /usr/share/mica/lua/hello.lua",
                "/bin/busybox", "sum 42"]


def application_lines(output):
    """The console lines after the boot banner (the kernel's own lines start with 'Mica ')."""
    lines = [l.rstrip("\r") for l in output.splitlines()]
    return [l for l in lines if l and not l.startswith("Mica ") and not l.startswith("mica:")
            and not l.startswith("tools/run")]


class ModuleImages(unittest.TestCase):
    arch = None

    @classmethod
    def setUpClass(cls):
        cls.work = {arch: module_build_dir(arch) for arch in BUILD_DIRS}

    def check(self, arch, args, expected, status):
        rc, out = boot(arch, *args)
        self.assertEqual(rc, status, out)
        self.assertEqual(application_lines(out), expected, out)


@unittest.skipUnless(have("mksquashfs"), "squashfs-tools is not installed")
class BootArchive(ModuleImages):
    """The busybox and lua modules' image as the boot archive (what make run does until the
    kernel mounts the image)."""

    def test_default_command_line(self):
        for arch, work in self.work.items():
            with self.subTest(arch=arch):
                archive = os.path.join(work, "mica.cpio")
                subprocess.run([PYTHON, MKIMAGE, "-O", work, "--boot-archive", archive], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                with open(os.path.join(work, "mica.img.list")) as f:
                    self.assertIn("/etc/mica/cmdline", f.read())
                cmdline = cat(os.path.join(work, "mica.img"), "/etc/mica/cmdline").decode().strip()
                self.assertEqual(cmdline, "/usr/bin/lua5.4 /usr/share/mica/lua/hello.lua")
                self.check(arch, ["--initrd", archive, "-e", cmdline], LUA_OUTPUT, 0)
                self.check(arch, ["--initrd", archive, "-e", f"/bin/sh -c '{SHELL_COMMAND}'"], SHELL_OUTPUT, 3)


def root_mount_ready(arch):
    cfg = mkimage.read_config(BUILD_DIRS[arch])
    return cfg.get("CONFIG_FS_SQUASHFS") == "y" and cfg.get("CONFIG_DRIVER_VIRTIO_BLK") == "y" and mkimage.run_supports_root()


class RootBoot(ModuleImages):
    """The same image from disk: tools/run --root mica.img (CONFIG_FS_SQUASHFS, CONFIG_DRIVER_VIRTIO_BLK)."""

    def test_root_from_disk(self):
        for arch, work in self.work.items():
            with self.subTest(arch=arch):
                # Registered (tests/tools/CMakeLists.txt) only for kernels with both options.
                self.assertTrue(root_mount_ready(arch), f"{BUILD_DIRS[arch]}: no CONFIG_FS_SQUASHFS + "
                                "CONFIG_DRIVER_VIRTIO_BLK, or tools/run has no --root")
                image = os.path.join(work, "mica.img")
                self.check(arch, ["--root", image], LUA_OUTPUT, 0)  # /etc/mica/cmdline
                self.check(arch, ["--root", image, "--", "/bin/sh", "-c", SHELL_COMMAND], SHELL_OUTPUT, 3)
                self.check(arch, ["--root", image, "--", "/bin/busybox", "cat", "/nonexistent"],
                           ["cat: can't open '/nonexistent': No such file or directory"], 1)


def main():
    argv = sys.argv[1:]
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--x86_64", "--aarch64") and i + 1 < len(argv):
            BUILD_DIRS[argv[i][2:]] = os.path.abspath(argv[i + 1])
            i += 2
        elif argv[i] == "--work" and i + 1 < len(argv):
            WORK["dir"] = os.path.abspath(argv[i + 1])
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if not BUILD_DIRS and any(t.startswith(("BootArchive", "RootBoot")) for t in rest):
        sys.exit("test_mkimage.py: BootArchive and RootBoot need --x86_64 and/or --aarch64 BUILD_DIR")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
