// The console's line discipline: Linux's N_TTY input side, host-testable (tests/unit/
// test_tty_ldisc.cc). Bytes from the serial driver's interrupt handler go in through
// receive(); read() takes them out as a terminal reader sees them. What it does, with
// Linux's flags (termios(3)):
//   input  ISTRIP, INLCR, IGNCR, ICRNL (QEMU's serial sends \r for Enter), IXON (^S/^Q
//          are swallowed; output is never actually stopped)
//   local  ICANON: a line at a time, edited with VERASE (DEL or ^H), VKILL (^U) and, with
//          IEXTEN, VWERASE (^W) and VLNEXT (^V); VEOF (^D) ends a read without a newline
//          (at the start of a line: end of file); VEOL/VEOL2 end lines too.
//          ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL (control characters as ^X).
//          ISIG: VINTR/VQUIT/VSUSP raise SIGINT/SIGQUIT/SIGTSTP through the Host, flushing
//          the input unless NOFLSH.
//          Without ICANON, VMIN/VTIME decide when a read may return (min_ready, timeout).
// Output post-processing is the console's (\n is always sent as \r\n): echoes are written
// as the application would write them.
//
// Not thread-safe: the kernel's terminal (tty.cc) serialises every call with a spinlock
// taken with interrupts off, since receive() runs in interrupt context. receive() therefore
// never sleeps; it echoes and signals through the Host, which must not sleep either.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi::tty {

// Linux's struct termios as ioctl(TCGETS) passes it (asm-generic/termbits.h; the same on
// x86_64 and aarch64).
inline constexpr int nccs = 19;
struct Termios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[nccs];
};
static_assert(sizeof(Termios) == 36);

// c_iflag
inline constexpr uint32_t ignbrk = 0x1, brkint = 0x2, ignpar = 0x4, istrip = 0x20, inlcr = 0x40, igncr = 0x80,
                          icrnl = 0x100, iuclc = 0x200, ixon = 0x400, ixany = 0x800, ixoff = 0x1000,
                          imaxbel = 0x2000, iutf8 = 0x4000;
// c_oflag
inline constexpr uint32_t opost = 0x1, onlcr = 0x4;
// c_cflag
inline constexpr uint32_t b38400 = 0xf, cs8 = 0x30, cread = 0x80, hupcl = 0x400;
// c_lflag
inline constexpr uint32_t isig = 0x1, icanon = 0x2, echo = 0x8, echoe = 0x10, echok = 0x20, echonl = 0x40,
                          noflsh = 0x80, tostop = 0x100, echoctl = 0x200, echoprt = 0x400, echoke = 0x800,
                          iexten = 0x8000;
// c_cc indices
inline constexpr int vintr = 0, vquit = 1, verase = 2, vkill = 3, veof = 4, vtime = 5, vmin = 6, vswtc = 7,
                     vstart = 8, vstop = 9, vsusp = 10, veol = 11, vreprint = 12, vdiscard = 13, vwerase = 14,
                     vlnext = 15, veol2 = 16;
inline constexpr uint8_t disabled_char = 0;  // _POSIX_VDISABLE

// A fresh Linux tty ("stty sane"): 38400 baud, 8 bits, canonical with echo, ICRNL, IXON,
// OPOST|ONLCR, ^C ^\ DEL ^U ^D, VMIN 1, VTIME 0, ^Q ^S ^Z ^R ^O ^W ^V.
Termios sane_termios();

// Linux's N_TTY_BUF_SIZE: input beyond it is dropped.
inline constexpr size_t buffer_size = 4096;

// Signal numbers the discipline raises (Linux's, the same on both architectures).
inline constexpr int signal_int = 2, signal_quit = 3, signal_tstp = 20;

// What the discipline calls while receiving (in interrupt context in the kernel).
class Host {
public:
    virtual void echo(const char* text, size_t length) = 0;
    virtual void signal(int signal) = 0;

protected:
    ~Host() = default;
};

class LineDiscipline {
public:
    LineDiscipline() : termios_(sane_termios()) {}

    const Termios& termios() const { return termios_; }
    // TCSETS*: switching ICANON off makes a partial line readable; switching it on makes
    // what is buffered one line. (TCSETSF's flush is flush_input(), called first.)
    void set_termios(const Termios& t);

    // Input from the device. Each byte is processed as Linux's n_tty does.
    void receive(const uint8_t* bytes, size_t length, Host& host);
    void receive(uint8_t byte, Host& host) { receive(&byte, 1, host); }

    // Whether a read would return now: canonical, a whole line (or an end-of-file mark) is
    // there; otherwise at least min(VMIN, wanted) bytes (any number when VMIN is 0).
    bool read_ready(size_t wanted) const;
    // poll's POLLIN: as read_ready, with VMIN counted only when VTIME is 0 (Linux).
    bool poll_ready() const;
    // How long a blocked non-canonical read waits before returning what it has (VTIME,
    // tenths of a second, in nanoseconds): 0 means no limit. With VMIN > 0 the timer runs
    // only once a byte has arrived (`have_bytes`), as an inter-byte timer.
    uint64_t read_timeout_ns(bool have_bytes) const;

    // Takes up to `length` readable bytes. Canonical: at most to the end of the current
    // line; the line's end (newline, VEOL, VEOL2) is copied, VEOF is consumed but not
    // copied, and `line_done` says the line ended, so the reader stops there.
    size_t read(char* out, size_t length, bool& line_done);
    // Bytes a read could take now (FIONREAD): canonical, whole lines only.
    size_t readable() const;
    // Bytes held, complete or not.
    size_t buffered() const { return head_ - tail_; }
    // Throws away all input (TCSETSF, TCFLSH, signal characters).
    void flush_input();
    // Bytes dropped because the buffer was full.
    uint64_t dropped() const { return dropped_; }

private:
    enum Mark : uint8_t { plain, line_end, end_of_file };  // what a stored byte is (canonical)
    bool store(uint8_t c, Mark mark);
    void receive_one(uint8_t c, Host& host);
    void reprint(Host& host);
    void echo_char(uint8_t c, Host& host);
    void erase(uint8_t c, Host& host);  // VERASE, VKILL or VWERASE
    void signal_char(uint8_t c, int signal, Host& host);
    uint8_t at(size_t position) const { return buffer_[position % buffer_size]; }
    Mark mark(size_t position) const { return static_cast<Mark>(marks_[position % buffer_size]); }
    size_t column_before(size_t position) const;  // echo column of a byte of the current line
    bool canonical() const { return termios_.c_lflag & icanon; }
    bool lflag(uint32_t f) const { return termios_.c_lflag & f; }
    bool iflag(uint32_t f) const { return termios_.c_iflag & f; }

    Termios termios_;
    uint8_t buffer_[buffer_size] = {};
    uint8_t marks_[buffer_size] = {};  // a Mark per byte
    // Positions count bytes ever stored (they only grow): tail_ is the next to read, line_
    // the start of the line being edited (canonical; everything before it is readable), and
    // head_ the next free one.
    size_t tail_ = 0, line_ = 0, head_ = 0;
    bool literal_next_ = false;  // VLNEXT seen: the next byte is taken as it is
    uint64_t dropped_ = 0;
};

}  // namespace mica::abi::tty
