// The console's line discipline (tty_ldisc.h), after Linux's drivers/tty/n_tty.c.
#include <mica/linux/tty_ldisc.h>

namespace mica::abi::tty {
namespace {
constexpr uint8_t del = 0x7f, ctrl_bit = 0x40;
constexpr unsigned tab_width = 8;
constexpr uint64_t ns_per_vtime = 100000000;  // VTIME counts tenths of a second

bool is_control(uint8_t c) { return c < 0x20 || c == del; }
bool is_word(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_utf8_continuation(uint8_t c) { return (c & 0xc0) == 0x80; }
}  // namespace

Termios sane_termios() {
    Termios t{};
    t.c_iflag = icrnl | ixon;
    t.c_oflag = opost | onlcr;
    t.c_cflag = b38400 | cs8 | cread | hupcl;
    t.c_lflag = isig | icanon | echo | echoe | echok | echoctl | echoke | iexten;
    t.c_cc[vintr] = 0x03;     // ^C
    t.c_cc[vquit] = 0x1c;     // ^backslash
    t.c_cc[verase] = del;
    t.c_cc[vkill] = 0x15;     // ^U
    t.c_cc[veof] = 0x04;      // ^D
    t.c_cc[vtime] = 0;
    t.c_cc[vmin] = 1;
    t.c_cc[vstart] = 0x11;    // ^Q
    t.c_cc[vstop] = 0x13;     // ^S
    t.c_cc[vsusp] = 0x1a;     // ^Z
    t.c_cc[vreprint] = 0x12;  // ^R
    t.c_cc[vdiscard] = 0x0f;  // ^O
    t.c_cc[vwerase] = 0x17;   // ^W
    t.c_cc[vlnext] = 0x16;    // ^V
    return t;
}

void LineDiscipline::set_termios(const Termios& t) {
    bool was_canonical = canonical();
    termios_ = t;
    if (was_canonical && !canonical()) {
        line_ = head_;  // a partial line becomes readable
    } else if (!was_canonical && canonical()) {
        // What is buffered becomes one line (Linux's n_tty_set_termios).
        if (head_ != tail_ && mark(head_ - 1) == plain) marks_[(head_ - 1) % buffer_size] = line_end;
        line_ = head_;
    }
}

bool LineDiscipline::store(uint8_t c, Mark m) {
    // Canonical input keeps one byte for a line's end, so a full buffer of one unfinished
    // line can still be finished (Linux lets the last byte be replaced for the same reason).
    size_t limit = canonical() && m == plain ? buffer_size - 1 : buffer_size;
    if (head_ - tail_ >= limit) {
        ++dropped_;
        return false;
    }
    buffer_[head_ % buffer_size] = c;
    marks_[head_ % buffer_size] = m;
    ++head_;
    if (!canonical() || m != plain) line_ = head_;
    return true;
}

void LineDiscipline::echo_char(uint8_t c, Host& host) {
    if (c == '\n' || c == '\t' || !is_control(c) || !lflag(echoctl)) {
        host.echo(reinterpret_cast<const char*>(&c), 1);
        return;
    }
    char pair[2] = {'^', static_cast<char>(c ^ ctrl_bit)};  // ^C, and ^? for DEL
    host.echo(pair, 2);
}

void LineDiscipline::signal_char(uint8_t c, int signal, Host& host) {
    if (!lflag(noflsh)) flush_input();
    if (lflag(echo)) echo_char(c, host);
    host.signal(signal);
}

// The column a byte of the line being edited starts at, counted from the line's start (the
// prompt before it is not known, so tabs after a prompt may be erased by a wrong width).
size_t LineDiscipline::column_before(size_t position) const {
    size_t column = 0;
    for (size_t p = line_; p < position; ++p) {
        uint8_t c = at(p);
        if (c == '\t') column = (column / tab_width + 1) * tab_width;
        else if (is_control(c)) column += lflag(echoctl) ? 2 : 0;
        else if (!(iflag(iutf8) && is_utf8_continuation(c))) ++column;
    }
    return column;
}

void LineDiscipline::erase(uint8_t c, Host& host) {
    if (head_ == line_) return;  // nothing on the line
    bool kill = c == termios_.c_cc[vkill];
    bool word = !kill && c == termios_.c_cc[vwerase] && lflag(iexten);
    if (kill) {
        if (!lflag(echo)) {
            head_ = line_;
            return;
        }
        if (!lflag(echok) || !lflag(echoke) || !lflag(echoe)) {
            head_ = line_;
            echo_char(c, host);
            if (lflag(echok)) host.echo("\n", 1);
            return;
        }
    }
    bool seen_word = false;
    while (head_ != line_) {
        size_t start = head_ - 1;
        uint8_t b = at(start);
        if (iflag(iutf8)) {
            while (start != line_ && is_utf8_continuation(at(start))) --start;
            b = at(start);
        }
        if (word) {
            if (is_word(b)) seen_word = true;
            else if (seen_word) break;
        }
        head_ = start;
        if (lflag(echo)) {
            if (!lflag(echoe)) {
                echo_char(termios_.c_cc[verase], host);
            } else if (b == '\t') {
                size_t from = column_before(start);
                size_t to = (from / tab_width + 1) * tab_width;
                for (size_t i = from; i < to; ++i) host.echo("\b", 1);
            } else {
                int columns = is_control(b) ? (lflag(echoctl) ? 2 : 0) : 1;
                for (int i = 0; i < columns; ++i) host.echo("\b \b", 3);
            }
        }
        if (!kill && !word) break;
    }
}

void LineDiscipline::reprint(Host& host) {
    echo_char(termios_.c_cc[vreprint], host);
    host.echo("\n", 1);
    for (size_t p = line_; p < head_; ++p) echo_char(at(p), host);
}

void LineDiscipline::receive(const uint8_t* bytes, size_t length, Host& host) {
    for (size_t i = 0; i < length; ++i) receive_one(bytes[i], host);
}

void LineDiscipline::receive_one(uint8_t c, Host& host) {
    if (iflag(istrip)) c &= 0x7f;
    const uint8_t* cc = termios_.c_cc;
    auto is = [&](int index) { return cc[index] != disabled_char && c == cc[index]; };
    if (literal_next_) {
        literal_next_ = false;
        if (lflag(echo) && lflag(echoctl)) host.echo("\b", 1);  // over the '^' shown for VLNEXT
        if (store(c, plain) && lflag(echo)) echo_char(c, host);
        return;
    }
    if (c == '\r') {
        if (iflag(igncr)) return;
        if (iflag(icrnl)) c = '\n';
    } else if (c == '\n' && iflag(inlcr)) {
        c = '\r';
    }
    if (iflag(ixon) && (is(vstart) || is(vstop))) return;  // flow control: output never stops here
    if (lflag(isig)) {
        if (is(vintr)) return signal_char(c, signal_int, host);
        if (is(vquit)) return signal_char(c, signal_quit, host);
        if (is(vsusp)) return signal_char(c, signal_tstp, host);
    }
    if (canonical()) {
        if (is(verase) || is(vkill) || (lflag(iexten) && is(vwerase))) return erase(c, host);
        if (lflag(iexten) && is(vlnext)) {
            literal_next_ = true;
            if (lflag(echo) && lflag(echoctl)) host.echo("^\b", 2);
            return;
        }
        if (lflag(iexten) && lflag(echo) && is(vreprint)) return reprint(host);
        if (c == '\n') {
            if (store(c, line_end) && (lflag(echo) || lflag(echonl))) host.echo("\n", 1);
            return;
        }
        if (is(veof)) {
            store(disabled_char, end_of_file);  // not echoed; read() drops it
            return;
        }
        if (is(veol) || (lflag(iexten) && is(veol2))) {
            if (store(c, line_end) && lflag(echo)) echo_char(c, host);
            return;
        }
    }
    if (store(c, plain) && lflag(echo)) echo_char(c, host);
}

bool LineDiscipline::read_ready(size_t wanted) const {
    if (canonical()) return tail_ != line_;
    uint8_t min = termios_.c_cc[vmin];
    size_t have = head_ - tail_;
    if (min == 0) return termios_.c_cc[vtime] == 0 || have > 0;
    size_t need = wanted < min ? wanted : min;
    return have >= (need ? need : 1);
}

bool LineDiscipline::poll_ready() const {
    if (canonical()) return tail_ != line_;
    uint8_t min = termios_.c_cc[vmin];
    size_t need = termios_.c_cc[vtime] == 0 && min > 1 ? min : 1;
    return head_ - tail_ >= need;
}

uint64_t LineDiscipline::read_timeout_ns(bool have_bytes) const {
    if (canonical() || termios_.c_cc[vtime] == 0) return 0;
    if (termios_.c_cc[vmin] > 0 && !have_bytes) return 0;
    return termios_.c_cc[vtime] * ns_per_vtime;
}

size_t LineDiscipline::read(char* out, size_t length, bool& line_done) {
    line_done = false;
    size_t n = 0;
    if (!canonical()) {
        while (n < length && tail_ != head_) out[n++] = static_cast<char>(at(tail_++));
        line_ = head_;
        return n;
    }
    while (n < length && tail_ != line_) {
        Mark m = mark(tail_);
        uint8_t c = at(tail_++);
        if (m == end_of_file) {
            line_done = true;
            break;
        }
        out[n++] = static_cast<char>(c);
        if (m == line_end) {
            line_done = true;
            break;
        }
    }
    return n;
}

size_t LineDiscipline::readable() const {
    if (!canonical()) return head_ - tail_;
    size_t n = 0;
    for (size_t p = tail_; p != line_; ++p) n += mark(p) != end_of_file;
    return n;
}

void LineDiscipline::flush_input() {
    tail_ = line_ = head_;
    literal_next_ = false;
}

}  // namespace mica::abi::tty
