// The console's line discipline (libc/linux/tty_ldisc.h): editing, echo, signals, end of
// file, VMIN/VTIME and a full buffer, as Linux's N_TTY does them.
#include <gtest/gtest.h>
#include <mica/linux/tty_ldisc.h>
#include <string>
#include <vector>

using namespace mica::abi::tty;

namespace {

struct Recorder final : Host {
    std::string echoed;
    std::vector<int> signals;
    void echo(const char* text, size_t length) override { echoed.append(text, length); }
    void signal(int s) override { signals.push_back(s); }
};

struct Tty {
    LineDiscipline ld;
    Recorder host;
    void type(const std::string& s) { ld.receive(reinterpret_cast<const uint8_t*>(s.data()), s.size(), host); }
    // One read of up to `n` bytes (what read(2) would return now).
    std::string read(size_t n = 4096) {
        std::string out(n, '\0');
        bool done;
        out.resize(ld.read(out.data(), n, done));
        return out;
    }
    void set_lflag(uint32_t on, uint32_t off) {
        Termios t = ld.termios();
        t.c_lflag = (t.c_lflag | on) & ~off;
        ld.set_termios(t);
    }
    void raw(uint8_t min, uint8_t time) {
        Termios t = ld.termios();
        t.c_lflag &= ~(icanon | echo | isig);
        t.c_iflag &= ~icrnl;
        t.c_cc[vmin] = min;
        t.c_cc[vtime] = time;
        ld.set_termios(t);
    }
};

}  // namespace

TEST(TtyLdisc, SaneDefaultsAreLinuxs) {
    Termios t = sane_termios();
    EXPECT_EQ(t.c_iflag, 0x0500u);
    EXPECT_EQ(t.c_oflag, 0x0005u);
    EXPECT_EQ(t.c_cflag, 0x04bfu);  // B38400 | CS8 | CREAD | HUPCL
    EXPECT_EQ(t.c_lflag, 0x8a3bu);
    EXPECT_EQ(t.c_cc[vintr], 3);
    EXPECT_EQ(t.c_cc[verase], 0x7f);
    EXPECT_EQ(t.c_cc[vmin], 1);
}

TEST(TtyLdisc, CanonicalLinesWithCarriageReturn) {
    Tty t;
    t.type("echo hi");
    EXPECT_FALSE(t.ld.read_ready(100));
    EXPECT_FALSE(t.ld.poll_ready());
    EXPECT_EQ(t.ld.readable(), 0u);
    t.type("\rnext\r");  // QEMU's Enter is \r: ICRNL makes it \n
    EXPECT_TRUE(t.ld.read_ready(100));
    EXPECT_EQ(t.ld.readable(), 13u);
    EXPECT_EQ(t.read(), "echo hi\n");  // one line per read
    EXPECT_EQ(t.read(), "next\n");
    EXPECT_FALSE(t.ld.read_ready(100));
    EXPECT_EQ(t.host.echoed, "echo hi\nnext\n");
}

TEST(TtyLdisc, ShortReadsTakeTheRestOfTheLineLater) {
    Tty t;
    t.type("abcdef\n");
    EXPECT_EQ(t.read(4), "abcd");
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_EQ(t.read(), "ef\n");
}

TEST(TtyLdisc, EraseAndKill) {
    Tty t;
    t.type("helo\x7fl\bo");  // DEL erases; ^H is stored as is (VERASE is DEL)
    t.type("\x7f\x7f");       // the o, then the ^H (two columns)
    EXPECT_EQ(t.host.echoed, "helo\b \bl^Ho\b \b\b \b\b \b");
    t.type("o world\n");
    EXPECT_EQ(t.read(), "hello world\n");
    t.host.echoed.clear();
    t.type("garbage\x15" "fine\n");  // ^U with ECHOKE: erased character by character
    EXPECT_EQ(t.read(), "fine\n");
    std::string erased;
    for (int i = 0; i < 7; ++i) erased += "\b \b";
    EXPECT_EQ(t.host.echoed, "garbage" + erased + "fine\n");
}

TEST(TtyLdisc, BackspaceAsEraseCharacter) {
    Tty t;
    Termios s = t.ld.termios();
    s.c_cc[verase] = '\b';
    t.ld.set_termios(s);
    t.type("ab\bc\n");
    EXPECT_EQ(t.read(), "ac\n");
    EXPECT_EQ(t.host.echoed, "ab\b \bc\n");
}

TEST(TtyLdisc, EraseStopsAtTheLineStart) {
    Tty t;
    t.type("one\n\x7f\x7fx\n");
    EXPECT_EQ(t.read(), "one\n");
    EXPECT_EQ(t.read(), "x\n");
}

TEST(TtyLdisc, WordErase) {
    Tty t;
    t.type("ls -l  foo_bar  \x17" "baz\n");
    EXPECT_EQ(t.read(), "ls -l  baz\n");
    t.type("a b\x17\x17\x17" "c\n");
    EXPECT_EQ(t.read(), "c\n");
}

TEST(TtyLdisc, KillWithoutEchoke) {
    Tty t;
    t.set_lflag(0, echoke);
    t.type("abc\x15" "d\n");
    EXPECT_EQ(t.read(), "d\n");
    EXPECT_EQ(t.host.echoed, "abc^U\nd\n");
}

TEST(TtyLdisc, EraseWithoutEchoeEchoesTheEraseCharacter) {
    Tty t;
    t.set_lflag(0, echoe);
    t.type("ab\x7f\n");
    EXPECT_EQ(t.host.echoed, "ab^?\n");
    EXPECT_EQ(t.read(), "a\n");
}

TEST(TtyLdisc, ErasingControlCharactersAndTabs) {
    Tty t;
    t.type("\x01\x7f");  // ^A shown as two columns
    EXPECT_EQ(t.host.echoed, "^A\b \b\b \b");
    t.host.echoed.clear();
    t.type("ab\t\x7f");
    EXPECT_EQ(t.host.echoed, "ab\t\b\b\b\b\b\b");  // from column 2 to 8
}

TEST(TtyLdisc, Utf8ErasesWholeCharacters) {
    Tty t;
    Termios s = t.ld.termios();
    s.c_iflag |= iutf8;
    t.ld.set_termios(s);
    t.type("x\xc3\xa9\x7f\n");
    EXPECT_EQ(t.read(), "x\n");
}

TEST(TtyLdisc, EchoOffAndEchonl) {
    Tty t;
    t.set_lflag(echonl, echo);
    t.type("secret\n");
    EXPECT_EQ(t.host.echoed, "\n");  // ECHONL: the newline only
    EXPECT_EQ(t.read(), "secret\n");
    t.set_lflag(0, echonl);
    t.type("x\n");
    EXPECT_EQ(t.host.echoed, "\n");
}

TEST(TtyLdisc, EchoctlShowsControlCharacters) {
    Tty t;
    t.type("a\x1b[A\n");
    EXPECT_EQ(t.host.echoed, "a^[[A\n");
    t.set_lflag(0, echoctl);
    t.host.echoed.clear();
    t.type("\x1b\n");
    EXPECT_EQ(t.host.echoed, "\x1b\n");
}

TEST(TtyLdisc, InterruptAndQuitSignalAndFlush) {
    Tty t;
    t.type("half a line\x03");
    EXPECT_EQ(t.host.signals, std::vector<int>{signal_int});
    EXPECT_EQ(t.host.echoed, "half a line^C");
    EXPECT_EQ(t.ld.buffered(), 0u);  // flushed
    t.type("done\n\x1c");
    EXPECT_EQ(t.host.signals, (std::vector<int>{signal_int, signal_quit}));
    EXPECT_EQ(t.ld.buffered(), 0u);  // the quit flushed the finished line too
    t.set_lflag(noflsh, 0);
    t.type("kept\n\x03");
    EXPECT_EQ(t.read(), "kept\n");
    t.type("\x1a");
    EXPECT_EQ(t.host.signals.back(), signal_tstp);
}

TEST(TtyLdisc, NoSignalsWithoutIsig) {
    Tty t;
    t.set_lflag(0, isig);
    t.type("\x03\n");
    EXPECT_TRUE(t.host.signals.empty());
    EXPECT_EQ(t.read(), "\x03\n");
}

TEST(TtyLdisc, EndOfFile) {
    Tty t;
    t.type("\x04");  // at the start of a line: a read returns 0 bytes (end of file)
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_EQ(t.ld.readable(), 0u);
    bool done = false;
    char out[16];
    EXPECT_EQ(t.ld.read(out, sizeof out, done), 0u);
    EXPECT_TRUE(done);
    EXPECT_FALSE(t.ld.read_ready(10));
    t.type("abc\x04");  // after text: the text, without a newline; ^D is not echoed
    EXPECT_EQ(t.read(), "abc");
    EXPECT_FALSE(t.ld.read_ready(10));
    EXPECT_EQ(t.host.echoed, "abc");
}

TEST(TtyLdisc, LiteralNext) {
    Tty t;
    t.type("\x16\x03\x16\x7f\n");
    EXPECT_TRUE(t.host.signals.empty());
    EXPECT_EQ(t.read(), "\x03\x7f\n");
}

TEST(TtyLdisc, InputTranslations) {
    Tty t;
    Termios s = t.ld.termios();
    s.c_iflag = igncr;
    t.ld.set_termios(s);
    t.type("a\rb\n");
    EXPECT_EQ(t.read(), "ab\n");
    s.c_iflag = istrip;
    t.ld.set_termios(s);
    t.type("\xe1\n");
    EXPECT_EQ(t.read(), "a\n");
    s.c_iflag = ixon;  // ^S and ^Q are flow control, never input
    t.ld.set_termios(s);
    t.type("x\x13\x11y\n");
    EXPECT_EQ(t.read(), "xy\n");
}

TEST(TtyLdisc, RawModeVmin1) {
    Tty t;
    t.raw(1, 0);
    EXPECT_FALSE(t.ld.read_ready(10));
    EXPECT_EQ(t.ld.read_timeout_ns(false), 0u);
    t.type("\r");
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_TRUE(t.ld.poll_ready());
    EXPECT_EQ(t.read(1), "\r");  // no ICRNL, no line wait
    t.type("\x03\x7fxy");         // no signals, no editing
    EXPECT_EQ(t.read(), "\x03\x7fxy");
    EXPECT_TRUE(t.host.echoed.empty());
    EXPECT_TRUE(t.host.signals.empty());
}

TEST(TtyLdisc, VminCountsAndVtimeTimers) {
    Tty t;
    t.raw(3, 0);
    t.type("ab");
    EXPECT_FALSE(t.ld.read_ready(10));
    EXPECT_TRUE(t.ld.read_ready(2));  // min(VMIN, asked)
    EXPECT_FALSE(t.ld.poll_ready());  // poll waits for VMIN when VTIME is 0
    t.type("c");
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_TRUE(t.ld.poll_ready());
    EXPECT_EQ(t.read(), "abc");

    t.raw(0, 0);  // polling read: never waits
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_EQ(t.read(), "");

    t.raw(0, 5);  // waits up to 0.5 s for a first byte
    EXPECT_FALSE(t.ld.read_ready(10));
    EXPECT_EQ(t.ld.read_timeout_ns(false), 500000000u);
    t.type("z");
    EXPECT_TRUE(t.ld.read_ready(10));

    t.raw(4, 2);  // inter-byte timer: runs only once a byte is there
    EXPECT_EQ(t.ld.read_timeout_ns(false), 0u);
    EXPECT_EQ(t.ld.read_timeout_ns(true), 200000000u);
    EXPECT_FALSE(t.ld.read_ready(10));  // "z" is one of four
    EXPECT_TRUE(t.ld.poll_ready());     // with VTIME, one byte is enough for poll
}

TEST(TtyLdisc, SwitchingModesKeepsInput) {
    Tty t;
    t.type("partial");
    t.raw(1, 0);  // a partial line becomes readable
    EXPECT_EQ(t.read(3), "par");
    t.set_lflag(icanon, 0);  // what is left becomes a line
    EXPECT_TRUE(t.ld.read_ready(10));
    EXPECT_EQ(t.read(), "tial");
}

TEST(TtyLdisc, RawEcho) {
    Tty t;
    t.raw(1, 0);
    t.set_lflag(echo, 0);
    t.type("a\x01\n");
    EXPECT_EQ(t.host.echoed, "a^A\n");
}

TEST(TtyLdisc, FullBufferDropsInputButKeepsRoomForTheLineEnd) {
    Tty t;
    std::string big(buffer_size + 100, 'x');
    t.type(big);
    EXPECT_EQ(t.ld.buffered(), buffer_size - 1);
    EXPECT_EQ(t.ld.dropped(), 101u);
    EXPECT_FALSE(t.ld.read_ready(1 << 16));
    t.type("\n");  // the line can still be finished
    std::string line = t.read(1 << 16);
    EXPECT_EQ(line.size(), buffer_size);
    EXPECT_EQ(line.back(), '\n');
    t.type("after\n");
    EXPECT_EQ(t.read(), "after\n");

    Tty r;
    r.raw(1, 0);
    r.type(big);
    EXPECT_EQ(r.ld.buffered(), buffer_size);
    EXPECT_EQ(r.ld.dropped(), 100u);
    EXPECT_EQ(r.read(1 << 16).size(), buffer_size);
}

TEST(TtyLdisc, WrapsAroundTheRing) {
    Tty t;
    for (int i = 0; i < 1000; ++i) {
        std::string line = "line " + std::to_string(i) + "\n";
        t.type(line);
        ASSERT_EQ(t.read(), line);
    }
}

TEST(TtyLdisc, FlushInput) {
    Tty t;
    t.type("one\ntwo");
    t.ld.flush_input();
    EXPECT_EQ(t.ld.buffered(), 0u);
    t.type("three\n");
    EXPECT_EQ(t.read(), "three\n");
}
