// File system calls in the guest: the sys_* handlers called directly with kernel buffers
// (one address space: copy_from_app accepts kernel addresses), on ramfs, devfs, procfs and
// pipes shared between kernel threads.
#include <mica/bootchart.h>
#include <mica/fs/abi.h>
#include <mica/ktest.h>
#include <mica/linux/files.h>
#include <mica/sched/sched.h>
#include <stdlib.h>
#include <string.h>

#define FILE_SYSCALLS(X)                                                                          \
    X(read) X(write) X(readv) X(writev) X(pread64) X(pwrite64) X(open) X(openat) X(close) X(lseek) \
    X(fstat) X(stat) X(lstat) X(newfstatat) X(statx) X(getdents64) X(mkdir) X(unlink) X(unlinkat)  \
    X(rename) X(renameat2) X(rmdir) X(symlink) X(readlink) X(link) X(access) X(getcwd) X(chdir)    \
    X(ftruncate) X(ioctl) X(pipe2) X(dup) X(dup2) X(dup3) X(fcntl) X(poll) X(ppoll) X(sendfile)
#define DECLARE(name) int64_t sys_##name(const uint64_t* args);
FILE_SYSCALLS(DECLARE)
#undef DECLARE

using namespace mica;

namespace {

// Calls handler `h` with up to six arguments of any integer or pointer type.
template <typename... Args>
int64_t call(int64_t (*h)(const uint64_t*), Args... values) {
    uint64_t args[6] = {(uint64_t)(values)...};
    return h(args);
}
#define SYS(name, ...) call(sys_##name, __VA_ARGS__)

// The file layer for one test: set up when the boot did not (no application), and torn down
// again at the end so that the test leaves the heap as it found it.
class Files {
public:
    Files() {
        if (abi::files_ready()) return;
        char error[128] = "";
        owned_ = true;
        ok_ = abi::files_init(nullptr, 0, error, sizeof(error)) == 0;
    }
    ~Files() {
        if (owned_) abi::files_shutdown();
    }
    bool ok() const { return ok_; }

private:
    bool owned_ = false;
    bool ok_ = true;
};

constexpr int o_rdonly = fs::o_rdonly, o_wronly = fs::o_wronly, o_rdwr = fs::o_rdwr, o_creat = fs::o_creat;
constexpr short pollin = 1, pollout = 4, pollhup = 0x10, pollnval = 0x20;
constexpr int64_t efault = -14, enoent = -fs::errno_noent, ebadf = -fs::errno_badf, eagain = -11,
                  epipe = -32, enotty = -25, espipe = -fs::errno_spipe, einval = -fs::errno_inval;
void* const bad_pointer = reinterpret_cast<void*>(8);

struct PollFd {
    int32_t fd;
    int16_t events, revents;
};

// Reads a whole small file into `buffer` (NUL-terminated); bytes or -errno.
int64_t slurp(const char* path, char* buffer, size_t size) {
    int64_t fd = SYS(open, path, o_rdonly, 0);
    if (fd < 0) return fd;
    size_t done = 0;
    for (;;) {
        int64_t n = SYS(read, fd, buffer + done, size - 1 - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    buffer[done] = '\0';
    SYS(close, fd);
    return static_cast<int64_t>(done);
}

const char* find(const char* text, const char* needle) {
    size_t n = strlen(needle);
    for (; *text; ++text) {
        if (strncmp(text, needle, n) == 0) return text;
    }
    return nullptr;
}

bool dir_contains(const char* path, const char* name) {
    int64_t fd = SYS(open, path, o_rdonly | fs::o_directory, 0);
    if (fd < 0) return false;
    alignas(8) char records[1024];
    bool found = false;
    for (;;) {
        int64_t n = SYS(getdents64, fd, records, sizeof(records));
        if (n <= 0) break;
        for (int64_t at = 0; at < n;) {
            auto* d = reinterpret_cast<fs::LinuxDirent64*>(records + at);
            if (strcmp(d->d_name, name) == 0) found = true;
            at += d->d_reclen;
        }
    }
    SYS(close, fd);
    return found;
}

}  // namespace

KTEST(linux_files, ramfs_write_read_seek_stat) {
    Files files;
    KASSERT(files.ok());
    KEXPECT_EQ(SYS(mkdir, "/tmp/ft", 0755), 0);
    int64_t fd = SYS(open, "/tmp/ft/a", o_creat | o_rdwr | fs::o_trunc, 0644);
    KASSERT(fd >= 3);
    KEXPECT_EQ(SYS(write, fd, "hello, world", 12), 12);
    KEXPECT_EQ(SYS(lseek, fd, 7, fs::seek_set), 7);
    char text[32] = {};
    KEXPECT_EQ(SYS(read, fd, text, sizeof(text)), 5);
    KEXPECT(memcmp(text, "world", 5) == 0);
    KEXPECT_EQ(SYS(read, fd, text, sizeof(text)), 0);  // end of file
    KEXPECT_EQ(SYS(pread64, fd, text, 5, 0), 5);
    KEXPECT(memcmp(text, "hello", 5) == 0);
    KEXPECT_EQ(SYS(pwrite64, fd, "J", 1, 0), 1);
    KEXPECT_EQ(SYS(lseek, fd, 0, fs::seek_cur), 12);  // pread/pwrite leave the offset
    fs::LinuxStat st;
    KEXPECT_EQ(SYS(fstat, fd, &st), 0);
    KEXPECT_EQ(st.st_size, 12);
    KEXPECT(fs::is_reg(st.st_mode));
    KEXPECT_EQ(st.st_mode & 0777, 0644u & ~022u);
    KEXPECT_EQ(SYS(ftruncate, fd, 4), 0);
    KEXPECT_EQ(SYS(stat, "/tmp/ft/a", &st), 0);
    KEXPECT_EQ(st.st_size, 4);
    KEXPECT_EQ(SYS(newfstatat, fs::at_fdcwd, "/tmp/ft", &st, 0), 0);
    KEXPECT(fs::is_dir(st.st_mode));
    KEXPECT_EQ(SYS(newfstatat, fd, "", &st, fs::at_empty_path), 0);
    KEXPECT_EQ(st.st_size, 4);
    alignas(8) char sx[256];
    KEXPECT_EQ(SYS(statx, fs::at_fdcwd, "/tmp/ft/a", 0, 0x7ff, sx), 0);
    uint64_t statx_size;
    memcpy(&statx_size, sx + 40, sizeof(statx_size));
    KEXPECT_EQ(statx_size, 4u);
    KEXPECT_EQ(SYS(close, fd), 0);
    KEXPECT_EQ(SYS(close, fd), ebadf);
    KEXPECT(dir_contains("/tmp/ft", "a"));
    KEXPECT(dir_contains("/", "dev"));
    KEXPECT_EQ(SYS(unlink, "/tmp/ft/a"), 0);
    KEXPECT_EQ(SYS(stat, "/tmp/ft/a", &st), enoent);
    KEXPECT(!dir_contains("/tmp/ft", "a"));
    KEXPECT_EQ(SYS(rmdir, "/tmp/ft"), 0);
}

KTEST(linux_files, names_links_and_directories) {
    Files files;
    KASSERT(files.ok());
    KEXPECT_EQ(SYS(mkdir, "/tmp/fn", 0755), 0);
    int64_t fd = SYS(open, "/tmp/fn/one", o_creat | o_wronly, 0600);
    KASSERT(fd >= 0);
    KEXPECT_EQ(SYS(write, fd, "data", 4), 4);
    SYS(close, fd);
    KEXPECT_EQ(SYS(rename, "/tmp/fn/one", "/tmp/fn/two"), 0);
    KEXPECT_EQ(SYS(access, "/tmp/fn/one", 0), enoent);
    KEXPECT_EQ(SYS(access, "/tmp/fn/two", 4), 0);
    KEXPECT_EQ(SYS(access, "/tmp/fn/two", 1), -int64_t{fs::errno_acces});  // no execute bit
    KEXPECT_EQ(SYS(symlink, "two", "/tmp/fn/link"), 0);
    char target[16] = {};
    KEXPECT_EQ(SYS(readlink, "/tmp/fn/link", target, sizeof(target)), 3);
    KEXPECT(memcmp(target, "two", 3) == 0);
    fs::LinuxStat st;
    KEXPECT_EQ(SYS(lstat, "/tmp/fn/link", &st), 0);
    KEXPECT(fs::is_lnk(st.st_mode));
    KEXPECT_EQ(SYS(stat, "/tmp/fn/link", &st), 0);
    KEXPECT_EQ(st.st_size, 4);
    KEXPECT_EQ(SYS(link, "/tmp/fn/two", "/tmp/fn/three"), 0);
    KEXPECT_EQ(SYS(stat, "/tmp/fn/three", &st), 0);
    KEXPECT_EQ(st.st_nlink, 2u);
    KEXPECT_EQ(SYS(renameat2, fs::at_fdcwd, "/tmp/fn/two", fs::at_fdcwd, "/tmp/fn/three", 1), -int64_t{fs::errno_exist});
    KEXPECT_EQ(SYS(rmdir, "/tmp/fn"), -int64_t{fs::errno_notempty});
    // Working directory and relative paths.
    KEXPECT_EQ(SYS(chdir, "/tmp/fn"), 0);
    char cwd[64];
    KEXPECT_EQ(SYS(getcwd, cwd, sizeof(cwd)), 8);
    KEXPECT(strcmp(cwd, "/tmp/fn") == 0);
    KEXPECT_EQ(SYS(getcwd, cwd, 4), -int64_t{fs::errno_range});
    KEXPECT_EQ(SYS(stat, "three", &st), 0);
    KEXPECT_EQ(SYS(chdir, "/proc/self"), 0);  // across a mount
    KEXPECT_EQ(SYS(getcwd, cwd, sizeof(cwd)), 11);
    KEXPECT(strcmp(cwd, "/proc/self") == 0);
    KEXPECT_EQ(SYS(chdir, "/tmp/fn/three"), -int64_t{fs::errno_notdir});
    KEXPECT_EQ(SYS(chdir, "/"), 0);
    KEXPECT_EQ(SYS(getcwd, cwd, sizeof(cwd)), 2);
    KEXPECT(strcmp(cwd, "/") == 0);
    const char* names[] = {"/tmp/fn/link", "/tmp/fn/two", "/tmp/fn/three"};
    for (const char* name : names) KEXPECT_EQ(SYS(unlink, name), 0);
    KEXPECT_EQ(SYS(unlinkat, fs::at_fdcwd, "/tmp/fn", fs::at_removedir), 0);
}

KTEST(linux_files, bad_pointers_are_efault) {
    Files files;
    KASSERT(files.ok());
    KEXPECT_EQ(SYS(open, bad_pointer, o_rdonly, 0), efault);
    KEXPECT_EQ(SYS(stat, "/dev/null", bad_pointer), efault);
    KEXPECT_EQ(SYS(stat, bad_pointer, bad_pointer), efault);
    int64_t fd = SYS(open, "/tmp/fault", o_creat | o_rdwr, 0600);
    KASSERT(fd >= 0);
    KEXPECT_EQ(SYS(write, fd, bad_pointer, 4), efault);
    KEXPECT_EQ(SYS(write, fd, "abcd", 4), 4);
    KEXPECT_EQ(SYS(lseek, fd, 0, fs::seek_set), 0);
    KEXPECT_EQ(SYS(read, fd, bad_pointer, 4), efault);
    KEXPECT_EQ(SYS(readv, fd, bad_pointer, 2), efault);
    KEXPECT_EQ(SYS(getdents64, fd, bad_pointer, 100), -int64_t{fs::errno_notdir});
    KEXPECT_EQ(SYS(ioctl, 1, 0x5413, bad_pointer), efault);
    KEXPECT_EQ(SYS(pipe2, bad_pointer, 0), efault);
    KEXPECT_EQ(SYS(poll, bad_pointer, 1, 0), efault);
    KEXPECT_EQ(SYS(close, fd), 0);
    KEXPECT_EQ(SYS(unlink, "/tmp/fault"), 0);
    KEXPECT_EQ(SYS(read, 12345, nullptr, 0), ebadf);
    KEXPECT_EQ(SYS(write, -1, "x", 1), ebadf);
}

KTEST(linux_files, readv_writev_dup_fcntl) {
    Files files;
    KASSERT(files.ok());
    int64_t fd = SYS(open, "/tmp/vec", o_creat | o_rdwr | fs::o_trunc, 0600);
    KASSERT(fd >= 0);
    struct IoVec {
        const void* base;
        size_t length;
    };
    IoVec out[3] = {{"abc", 3}, {"", 0}, {"defg", 4}};
    KEXPECT_EQ(SYS(writev, fd, out, 3), 7);
    char a[2], b[10] = {};
    IoVec in[2] = {{a, 2}, {b, 10}};
    KEXPECT_EQ(SYS(lseek, fd, 0, fs::seek_set), 0);
    KEXPECT_EQ(SYS(readv, fd, in, 2), 7);
    KEXPECT(memcmp(a, "ab", 2) == 0 && memcmp(b, "cdefg", 5) == 0);
    KEXPECT_EQ(SYS(writev, fd, out, 1025), einval);
    // Duplicates share the offset; flags.
    int64_t copy = SYS(dup, fd);
    KASSERT(copy > fd);
    KEXPECT_EQ(SYS(lseek, copy, 1, fs::seek_set), 1);
    KEXPECT_EQ(SYS(lseek, fd, 0, fs::seek_cur), 1);
    KEXPECT_EQ(SYS(fcntl, copy, 1 /* F_GETFD */, 0), 0);
    int64_t high = SYS(fcntl, fd, 1030 /* F_DUPFD_CLOEXEC */, 100);
    KEXPECT(high >= 100);
    KEXPECT_EQ(SYS(fcntl, high, 1, 0), 1);
    KEXPECT_EQ(SYS(fcntl, fd, 3 /* F_GETFL */, 0) & fs::o_accmode, o_rdwr);
    KEXPECT_EQ(SYS(fcntl, fd, 4 /* F_SETFL */, fs::o_append), 0);
    KEXPECT((SYS(fcntl, copy, 3, 0) & fs::o_append) != 0);  // status flags are shared
    KEXPECT_EQ(SYS(dup3, fd, fd, 0), einval);
    KEXPECT_EQ(SYS(dup3, fd, 200, fs::o_cloexec), 200);
    KEXPECT_EQ(SYS(fcntl, 200, 1, 0), 1);
    KEXPECT_EQ(SYS(dup2, fd, fd), fd);
    KEXPECT_EQ(SYS(fcntl, 12345, 1, 0), ebadf);
    KEXPECT_EQ(SYS(ioctl, fd, 0x5401, b), enotty);  // TCGETS on a regular file
    const int64_t opened[] = {fd, copy, high, 200};
    for (int64_t f : opened) KEXPECT_EQ(SYS(close, f), 0);
    KEXPECT_EQ(SYS(unlink, "/tmp/vec"), 0);
}

KTEST(linux_files, devices) {
    Files files;
    KASSERT(files.ok());
    int64_t null = SYS(open, "/dev/null", o_rdwr, 0);
    KASSERT(null >= 0);
    char buffer[64];
    KEXPECT_EQ(SYS(write, null, "discarded", 9), 9);
    KEXPECT_EQ(SYS(read, null, buffer, sizeof(buffer)), 0);
    SYS(close, null);
    int64_t zero = SYS(open, "/dev/zero", o_rdonly, 0);
    KASSERT(zero >= 0);
    memset(buffer, 0x55, sizeof(buffer));
    KEXPECT_EQ(SYS(read, zero, buffer, sizeof(buffer)), 64);
    bool all_zero = true;
    for (char c : buffer) all_zero &= c == 0;
    KEXPECT(all_zero);
    KEXPECT_EQ(SYS(write, zero, buffer, 4), -int64_t{fs::errno_badf});  // opened read-only
    SYS(close, zero);
    int64_t random = SYS(open, "/dev/urandom", o_rdonly, 0);
    KASSERT(random >= 0);
    char r1[32], r2[32];
    KEXPECT_EQ(SYS(read, random, r1, sizeof(r1)), 32);
    KEXPECT_EQ(SYS(read, random, r2, sizeof(r2)), 32);
    KEXPECT(memcmp(r1, r2, sizeof(r1)) != 0);
    SYS(close, random);
    fs::LinuxStat st;
    KEXPECT_EQ(SYS(stat, "/dev/null", &st), 0);
    KEXPECT(fs::is_chr(st.st_mode));
    KEXPECT_EQ(st.st_rdev, (1u << 8) | 3u);
    KEXPECT_EQ(SYS(stat, "/dev/tty", &st), 0);
    KEXPECT_EQ(SYS(stat, "/dev/random", &st), 0);
    // The console: standard output is a terminal of 80x24.
    KEXPECT_EQ(SYS(write, 1, "", 0), 0);
    alignas(4) char termios[36];
    KEXPECT_EQ(SYS(ioctl, 1, 0x5401, termios), 0);
    uint16_t winsize[4] = {};
    KEXPECT_EQ(SYS(ioctl, 1, 0x5413, winsize), 0);
    KEXPECT_EQ(winsize[0], 24);
    KEXPECT_EQ(winsize[1], 80);
    KEXPECT_EQ(SYS(ioctl, 1, 0x1234, winsize), enotty);
    // (Reading the console blocks until a line is typed: the apps tests type into it.)
    KEXPECT(dir_contains("/dev", "urandom"));
}

KTEST(linux_files, procfs) {
    Files files;
    KASSERT(files.ok());
    char* text = static_cast<char*>(malloc(16384));
    KASSERT(text);
    KEXPECT(slurp("/proc/meminfo", text, 16384) > 0);
    KEXPECT(strncmp(text, "MemTotal:", 9) == 0);
    const char* free_line = find(text, "\nMemFree:");
    KEXPECT(free_line != nullptr);
    KEXPECT(find(text, " kB\n") != nullptr);
    KEXPECT(find(text, "\nMemAvailable:") != nullptr);
    KEXPECT(slurp("/proc/cpuinfo", text, 16384) > 0);
    KEXPECT(strncmp(text, "processor\t: 0\n", 14) == 0);
    KEXPECT(find(text, "model name\t: ") != nullptr);
    unsigned blocks = 0;
    for (const char* p = text; (p = find(p, "processor\t:")) != nullptr; ++p) ++blocks;
    KEXPECT_EQ(blocks, sched::online_cpus());
    KEXPECT(slurp("/proc/self/maps", text, 16384) >= 0);
    abi::set_executable_path("/bin/app");
    char target[32] = {};
    KEXPECT_EQ(SYS(readlink, "/proc/self/exe", target, sizeof(target)), 8);
    KEXPECT(strcmp(target, "/bin/app") == 0);
    KEXPECT(dir_contains("/proc", "self"));
    KEXPECT(dir_contains("/proc/self", "maps"));
    int64_t fd = SYS(open, "/proc/meminfo", o_wronly, 0);
    KASSERT(fd >= 0);
    KEXPECT_EQ(SYS(write, fd, "x", 1), -int64_t{fs::errno_acces});
    KEXPECT_EQ(SYS(close, fd), 0);
    fd = SYS(open, "/proc/meminfo", o_rdonly, 0);
    KEXPECT_EQ(SYS(lseek, fd, 4, fs::seek_set), 4);
    char part[5] = {};
    KEXPECT_EQ(SYS(read, fd, part, 4), 4);
    KEXPECT(memcmp(part, "otal", 4) == 0);
    SYS(close, fd);
    free(text);
}

namespace {
constexpr size_t pipe_transfer = 300 * 1024;  // several times the 64 KiB ring

struct PipeWriter {
    int64_t fd;
    int64_t result;
    uint64_t delay_ns;
};

void writer_thread(void* arg) {
    auto* w = static_cast<PipeWriter*>(arg);
    if (w->delay_ns) sched::sleep_ns(w->delay_ns);
    char chunk[1000];
    size_t sent = 0;
    w->result = 0;
    while (sent < pipe_transfer) {
        size_t n = pipe_transfer - sent < sizeof(chunk) ? pipe_transfer - sent : sizeof(chunk);
        for (size_t i = 0; i < n; ++i) chunk[i] = static_cast<char>((sent + i) * 7);
        int64_t written = SYS(write, w->fd, chunk, n);
        if (written <= 0) {
            w->result = written;
            break;
        }
        sent += static_cast<size_t>(written);
    }
    if (w->result == 0) w->result = static_cast<int64_t>(sent);
    SYS(close, w->fd);
}
}  // namespace

KTEST(linux_files, pipe_between_threads) {
    Files files;
    KASSERT(files.ok());
    int32_t fds[2];
    KASSERT(SYS(pipe2, fds, fs::o_cloexec) == 0);
    KEXPECT_EQ(SYS(fcntl, fds[0], 1, 0), 1);
    fs::LinuxStat st;
    KEXPECT_EQ(SYS(fstat, fds[0], &st), 0);
    KEXPECT_EQ(st.st_mode & fs::s_ifmt, fs::s_ififo);
    KEXPECT_EQ(SYS(lseek, fds[0], 0, fs::seek_cur), espipe);
    KEXPECT_EQ(SYS(ioctl, fds[0], 0x5401, &st), enotty);
    PipeWriter w{fds[1], 0, 0};
    sched::Thread* t = sched::create("pipe-writer", writer_thread, &w);
    KASSERT(t);
    sched::start(t);
    char* buffer = static_cast<char*>(malloc(8192));
    KASSERT(buffer);
    size_t received = 0;
    bool intact = true;
    for (;;) {
        int64_t n = SYS(read, fds[0], buffer, 8192);
        if (n <= 0) {
            KEXPECT_EQ(n, 0);  // EOF once the writer closed
            break;
        }
        for (int64_t i = 0; i < n; ++i) intact &= buffer[i] == static_cast<char>((received + i) * 7);
        received += static_cast<size_t>(n);
    }
    sched::join(t);
    KEXPECT_EQ(w.result, static_cast<int64_t>(pipe_transfer));
    KEXPECT_EQ(received, pipe_transfer);
    KEXPECT(intact);
    KEXPECT_EQ(SYS(close, fds[0]), 0);
    free(buffer);
}

KTEST(linux_files, pipe_nonblock_and_epipe) {
    Files files;
    KASSERT(files.ok());
    int32_t fds[2];
    KASSERT(SYS(pipe2, fds, fs::o_nonblock) == 0);
    char byte;
    KEXPECT_EQ(SYS(read, fds[0], &byte, 1), eagain);
    KEXPECT_EQ(SYS(pipe2, fds, 0x1), einval);  // unknown flag
    // Fill it: 64 KiB fit, then -EAGAIN.
    char* chunk = static_cast<char*>(calloc(1, 4096));
    KASSERT(chunk);
    int64_t total = 0;
    for (int i = 0; i < 32; ++i) {
        int64_t n = SYS(write, fds[1], chunk, 4096);
        if (n < 0) {
            KEXPECT_EQ(n, eagain);
            break;
        }
        total += n;
    }
    KEXPECT_EQ(total, 64 * 1024);
    int32_t available = 0;
    KEXPECT_EQ(SYS(ioctl, fds[0], 0x541b /* FIONREAD */, &available), 0);
    KEXPECT_EQ(available, 64 * 1024);
    KEXPECT_EQ(SYS(fcntl, fds[1], 1032 /* F_GETPIPE_SZ */, 0), 64 * 1024);
    KEXPECT_EQ(SYS(close, fds[0]), 0);
    KEXPECT_EQ(SYS(write, fds[1], "x", 1), epipe);
    KEXPECT_EQ(SYS(close, fds[1]), 0);
    // A closed writer: EOF after the data.
    KASSERT(SYS(pipe2, fds, 0) == 0);
    KEXPECT_EQ(SYS(write, fds[1], "ab", 2), 2);
    KEXPECT_EQ(SYS(close, fds[1]), 0);
    char two[4];
    KEXPECT_EQ(SYS(read, fds[0], two, sizeof(two)), 2);
    KEXPECT_EQ(SYS(read, fds[0], two, sizeof(two)), 0);
    KEXPECT_EQ(SYS(close, fds[0]), 0);
    free(chunk);
}

KTEST(linux_files, poll_and_timeouts) {
    Files files;
    KASSERT(files.ok());
    int32_t fds[2];
    KASSERT(SYS(pipe2, fds, 0) == 0);
    PollFd p[3] = {{fds[0], pollin, 0}, {fds[1], pollout, 0}, {999, pollin, 0}};
    KEXPECT_EQ(SYS(poll, p, 3, 0), 2);  // writable, and an invalid fd
    KEXPECT_EQ(p[0].revents, 0);
    KEXPECT_EQ(p[1].revents, pollout);
    KEXPECT_EQ(p[2].revents, pollnval);
    // Nothing to read: the timeout passes.
    uint64_t start = bootchart::ns_since_entry();
    KEXPECT_EQ(SYS(poll, p, 1, 50), 0);
    uint64_t elapsed = bootchart::ns_since_entry() - start;
    KEXPECT(elapsed >= 45000000);
    struct {
        int64_t sec, nsec;
    } ts{0, 20000000};
    KEXPECT_EQ(SYS(ppoll, p, 1, &ts, nullptr, 8), 0);
    // A writer on another thread wakes an infinite poll.
    PipeWriter w{fds[1], 0, 20000000};
    sched::Thread* t = sched::create("poll-writer", writer_thread, &w);
    KASSERT(t);
    sched::start(t);
    KEXPECT_EQ(SYS(poll, p, 1, -1), 1);
    KEXPECT((p[0].revents & pollin) != 0);
    char* sink = static_cast<char*>(malloc(8192));
    KASSERT(sink);
    while (SYS(read, fds[0], sink, 8192) > 0) {
    }
    sched::join(t);
    KEXPECT_EQ(SYS(poll, p, 1, 0), 1);  // the write end closed: POLLHUP
    KEXPECT((p[0].revents & pollhup) != 0);
    free(sink);
    KEXPECT_EQ(SYS(close, fds[0]), 0);
    // The console is always writable (and reads give end of file).
    PollFd out{1, pollout, 0};
    KEXPECT_EQ(SYS(poll, &out, 1, 0), 1);
    KEXPECT_EQ(out.revents, pollout);
}

KTEST(linux_files, sendfile_copies) {
    Files files;
    KASSERT(files.ok());
    int64_t in = SYS(open, "/tmp/sf-in", o_creat | o_rdwr, 0600);
    int64_t out = SYS(open, "/tmp/sf-out", o_creat | o_rdwr, 0600);
    KASSERT(in >= 0 && out >= 0);
    KEXPECT_EQ(SYS(write, in, "0123456789", 10), 10);
    int64_t offset = 2;
    KEXPECT_EQ(SYS(sendfile, out, in, &offset, 5), 5);
    KEXPECT_EQ(offset, 7);
    char text[8] = {};
    KEXPECT_EQ(SYS(pread64, out, text, 8, 0), 5);
    KEXPECT(memcmp(text, "23456", 5) == 0);
    SYS(close, in);
    SYS(close, out);
    SYS(unlink, "/tmp/sf-in");
    SYS(unlink, "/tmp/sf-out");
    void* data = nullptr;
    size_t size = 0;
    KEXPECT_EQ(abi::files_read_whole("/proc/cpuinfo", &data, &size), 0);  // st_size 0, yet read whole
    KEXPECT(size > 14 && strncmp(static_cast<char*>(data), "processor", 9) == 0);
    free(data);
    KEXPECT_EQ(abi::files_read_whole("/dev", &data, &size), -int64_t{fs::errno_acces});
    KEXPECT_EQ(abi::files_read_whole("/nonexistent", &data, &size), enoent);
}
