// The console terminal behind /dev/console and /dev/tty: the console driver's received bytes
// go through the line discipline (mica/linux/tty_ldisc.h) in its interrupt handler; reads
// take them out, blocking as a Linux tty read does; the ioctls are Linux's termios ones.
//
// Locking: `lock` (a spinlock, interrupts off) guards the discipline and is taken by the
// interrupt handler, so nothing under it sleeps; echoes go to console::write under it (the
// console's output lock nests inside). Readers sleep on the terminal's PollHead, which every
// input notifies. Signals typed (^C, ^\, ^Z) are sent from the interrupt handler: sending
// takes only spinlocks (process_lock, signal_lock), which keep interrupts off.
#include <mica/console.h>
#include <mica/fs/poll_wait.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/linux/tty_ldisc.h>
#include <mica/mm/vm.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include "files_internal.h"

namespace mica::abi::files {
namespace {

inline constexpr unsigned long tcgets = 0x5401, tcsets = 0x5402, tcsetsw = 0x5403, tcsetsf = 0x5404,
                               tcsbrk = 0x5409, tcxonc = 0x540a, tcflsh = 0x540b, tiocsctty = 0x540e,
                               tiocgpgrp = 0x540f, tiocspgrp = 0x5410, tiocoutq = 0x5411, tiocgwinsz = 0x5413,
                               tiocswinsz = 0x5414, tiocnotty = 0x5422, tcsbrkp = 0x5425, tiocgsid = 0x5429;
inline constexpr uint64_t tciflush = 0, tcoflush = 1, tcioflush = 2;
inline constexpr uint16_t default_rows = 24, default_cols = 80;
inline constexpr int first_process = 1;       // the application's pid and session
inline constexpr int no_group = 0;            // TIOCSPGRP never called
inline constexpr size_t chunk = 256;          // bytes per copy through a stack buffer

struct WinSize {
    uint16_t rows, cols, xpixel, ypixel;
};

// Collects what the discipline asks for while the lock is held.
class Collector final : public tty::Host {
public:
    void echo(const char* text, size_t length) override { console::write(text, length); }
    void signal(int s) override { signals |= 1u << s; }
    uint32_t signals = 0;
};

// The one terminal. Owned by this file; created with the kernel (static storage), started
// by tty_start.
struct Terminal {
    sched::Spinlock lock;
    tty::LineDiscipline ldisc;          // under lock
    fs::PollHead head;                  // POLLIN when input becomes readable
    int foreground = no_group;          // TIOCSPGRP; atomic
    WinSize size{default_rows, default_cols, 0, 0};  // under lock
    bool started = false;
} terminal;

// The foreground process group. Until a job-control shell sets one (TIOCSPGRP), it is the
// first process's group (1), the session's: without job control every process stays in the
// group it inherited, as on Linux.
int foreground_group() {
    constexpr int first_group = 1;
    int group = __atomic_load_n(&terminal.foreground, __ATOMIC_RELAXED);
    return group == no_group ? first_group : group;
}

// The console's input handler: interrupt context.
void receive(const char* bytes, size_t length) {
    Collector host;
    {
        sched::SpinGuard guard(terminal.lock);
        terminal.ldisc.receive(reinterpret_cast<const uint8_t*>(bytes), length, host);
    }
    terminal.head.notify(pollin | pollrdnorm);
    // Sending a signal takes only spinlocks, so it is done here, in the interrupt.
    if (host.signals) {
        int group = foreground_group();
        for (int s = 1; s < 32; ++s) {
            if (host.signals & (1u << s)) signal_process_group(group, s);
        }
    }
}

bool has_input() { return console::input_driver() != nullptr; }

// Moves what the discipline lets a read take into `data`: bytes, or -EFAULT.
int64_t take(fs::IoVector& data) {
    size_t done = 0;
    while (data.remaining() > 0) {
        char bytes[chunk];
        size_t want = data.remaining() < chunk ? data.remaining() : chunk;
        bool line_done;
        size_t n;
        {
            sched::SpinGuard guard(terminal.lock);
            n = terminal.ldisc.read(bytes, want, line_done);
        }
        if (n > 0) {
            int64_t put = data.put(bytes, n);
            if (put <= 0) return done ? static_cast<int64_t>(done) : (put < 0 ? put : -errno_fault);
            done += static_cast<size_t>(put);
        }
        if (line_done || n < want) break;
    }
    return static_cast<int64_t>(done);
}

}  // namespace

void tty_start() {
    if (terminal.started) return;  // devfs is mounted once per boot (and again by tests)
    terminal.started = true;
    console::set_input_handler(receive);
}

int64_t tty_read(fs::IoVector& data, bool nonblock) {
    size_t wanted = data.remaining();
    if (wanted == 0) return 0;
    if (!has_input()) return 0;  // nothing can ever arrive: end of file, as before input existed
    fs::PollSleeper sleeper;
    fs::SleeperWaiter waiter(&sleeper, pollin | pollrdnorm);
    bool waiting = false;
    bool timed_out = false;
    sched::InterruptibleScope interruptible;
    for (;;) {
        bool ready, canonical, have;
        uint64_t timeout;
        {
            sched::SpinGuard guard(terminal.lock);
            ready = terminal.ldisc.read_ready(wanted);
            canonical = terminal.ldisc.termios().c_lflag & tty::icanon;
            have = terminal.ldisc.buffered() > 0;
            timeout = terminal.ldisc.read_timeout_ns(have);
        }
        // A timer that ran out returns what there is (VTIME); O_NONBLOCK takes any bytes
        // outside canonical mode, as Linux does, and otherwise fails.
        if (ready || timed_out || (nonblock && !canonical && have)) return take(data);
        if (nonblock) return -errno_again;
        if (!waiting) {
            // Add the waiter, then look again: input between the look and the sleep wakes it.
            terminal.head.add(&waiter);
            waiting = true;
            continue;
        }
        bool woken = sleeper.sleep_until(timeout ? fs::deadline_after(static_cast<int64_t>(timeout)) : fs::no_deadline);
        if (sched::interrupted()) return -e_restart;
        timed_out = !woken;
    }
}

uint32_t tty_poll_events() {
    if (!has_input()) return fs::poll_always_ready;
    sched::SpinGuard guard(terminal.lock);
    return pollout | pollwrnorm | (terminal.ldisc.poll_ready() ? pollin | pollrdnorm : 0);
}

fs::PollHead* tty_poll_head() { return &terminal.head; }

size_t tty_available() {
    sched::SpinGuard guard(terminal.lock);
    return terminal.ldisc.readable();
}

int64_t tty_ioctl(unsigned long request, uint64_t arg) {
    void* app = reinterpret_cast<void*>(arg);
    switch (request) {
    case tcgets: {
        tty::Termios t;
        {
            sched::SpinGuard guard(terminal.lock);
            t = terminal.ldisc.termios();
        }
        return mm::vm::copy_to_app(app, &t, sizeof(t));
    }
    case tcsets:
    case tcsetsw:    // output is written synchronously: nothing to drain
    case tcsetsf: {  // ... and input to flush first
        tty::Termios t;
        if (mm::vm::copy_from_app(&t, app, sizeof(t)) < 0) return -errno_fault;
        {
            sched::SpinGuard guard(terminal.lock);
            if (request == tcsetsf) terminal.ldisc.flush_input();
            terminal.ldisc.set_termios(t);
        }
        terminal.head.notify(pollin | pollrdnorm);  // a mode change can make input readable
        return 0;
    }
    case tcflsh:
        if (arg > tcioflush) return -fs::errno_inval;
        if (arg != tcoflush) {
            sched::SpinGuard guard(terminal.lock);
            terminal.ldisc.flush_input();
        }
        return 0;
    case tcsbrk:
    case tcsbrkp:
    case tcxonc:
        return 0;  // tcdrain, tcsendbreak, tcflow: output is never held back
    case tiocoutq: {
        int32_t queued = 0;
        return mm::vm::copy_to_app(app, &queued, sizeof(queued));
    }
    case tiocgwinsz: {
        WinSize w;
        {
            sched::SpinGuard guard(terminal.lock);
            w = terminal.size;
        }
        return mm::vm::copy_to_app(app, &w, sizeof(w));
    }
    case tiocswinsz: {
        WinSize w;
        if (mm::vm::copy_from_app(&w, app, sizeof(w)) < 0) return -errno_fault;
        bool changed;
        {
            sched::SpinGuard guard(terminal.lock);
            changed = w.rows != terminal.size.rows || w.cols != terminal.size.cols;
            terminal.size = w;
        }
        if (changed) signal_process_group(foreground_group(), sigwinch);
        return 0;
    }
    case tiocgpgrp: {
        int32_t group = foreground_group();
        return mm::vm::copy_to_app(app, &group, sizeof(group));
    }
    case tiocspgrp: {
        int32_t group;
        if (mm::vm::copy_from_app(&group, app, sizeof(group)) < 0) return -errno_fault;
        if (group <= 0) return -fs::errno_inval;
        __atomic_store_n(&terminal.foreground, group, __ATOMIC_RELAXED);
        return 0;
    }
    case tiocgsid: {
        int32_t session = first_process;
        return mm::vm::copy_to_app(app, &session, sizeof(session));
    }
    case tiocsctty:  // the console is everyone's controlling terminal already
    case tiocnotty:
        return 0;
    default: return -errno_notty;
    }
}

}  // namespace mica::abi::files
