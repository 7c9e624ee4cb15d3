#include <mica/format.h>
#include <stdint.h>

namespace mica::fmt {
namespace {

enum class Length { none, hh, h, l, ll, z, j, t };

struct Spec {
    bool left = false, plus = false, space = false, alt = false, zero = false;
    int width = 0;
    int precision = -1;  // -1: not given
    Length length = Length::none;
};

// Buffers output so the sink sees a few large pieces rather than one call per character.
class Writer {
public:
    Writer(Sink sink, void* context) : sink_(sink), context_(context) {}
    ~Writer() { flush(); }
    void put(char c) {
        if (used_ == sizeof(buffer_)) flush();
        buffer_[used_++] = c;
        ++count_;
    }
    void put(const char* s, size_t n) { for (size_t i = 0; i < n; ++i) put(s[i]); }
    void pad(char c, int n) { for (int i = 0; i < n; ++i) put(c); }
    void flush() {
        if (used_) sink_(context_, buffer_, used_);
        used_ = 0;
    }
    int count() const { return count_; }

private:
    Sink sink_;
    void* context_;
    char buffer_[128];
    size_t used_ = 0;
    int count_ = 0;
};

uintmax_t fetch_unsigned(Length length, va_list& args) {
    switch (length) {
    case Length::hh: return static_cast<unsigned char>(va_arg(args, unsigned));
    case Length::h: return static_cast<unsigned short>(va_arg(args, unsigned));
    case Length::l: return va_arg(args, unsigned long);
    case Length::ll: return va_arg(args, unsigned long long);
    case Length::z: return va_arg(args, size_t);
    case Length::j: return va_arg(args, uintmax_t);
    case Length::t: return static_cast<uintmax_t>(va_arg(args, ptrdiff_t));
    case Length::none: break;
    }
    return va_arg(args, unsigned);
}

intmax_t fetch_signed(Length length, va_list& args) {
    switch (length) {
    case Length::hh: return static_cast<signed char>(va_arg(args, int));
    case Length::h: return static_cast<short>(va_arg(args, int));
    case Length::l: return va_arg(args, long);
    case Length::ll: return va_arg(args, long long);
    case Length::z: return static_cast<intmax_t>(va_arg(args, size_t));
    case Length::j: return va_arg(args, intmax_t);
    case Length::t: return va_arg(args, ptrdiff_t);
    case Length::none: break;
    }
    return va_arg(args, int);
}

// Writes one integer conversion with C's padding and precision rules.
void write_integer(Writer& out, const Spec& spec, uintmax_t value, bool negative, unsigned base,
                   bool upper, const char* prefix) {
    char digits[32];
    int n = 0;
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    while (value) {
        digits[n++] = alphabet[value % base];
        value /= base;
    }
    int precision = spec.precision < 0 ? 1 : spec.precision;
    int zeros = precision > n ? precision - n : 0;
    // "%#o" forces a leading zero, which extra precision zeros already provide.
    if (base == 8 && spec.alt && zeros == 0 && (n == 0 || digits[n - 1] != '0')) zeros = 1;
    char sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : 0;
    int prefix_len = 0;
    while (prefix && prefix[prefix_len]) ++prefix_len;
    int body = n + zeros + (sign ? 1 : 0) + prefix_len;
    int fill = spec.width > body ? spec.width - body : 0;
    bool zero_pad = spec.zero && !spec.left && spec.precision < 0;
    if (!spec.left && !zero_pad) out.pad(' ', fill);
    if (sign) out.put(sign);
    if (prefix_len) out.put(prefix, prefix_len);
    if (zero_pad) out.pad('0', fill);
    out.pad('0', zeros);
    while (n) out.put(digits[--n]);
    if (spec.left) out.pad(' ', fill);
}

void write_text(Writer& out, const Spec& spec, const char* s, size_t n) {
    int fill = spec.width > static_cast<int>(n) ? spec.width - static_cast<int>(n) : 0;
    if (!spec.left) out.pad(' ', fill);
    out.put(s, n);
    if (spec.left) out.pad(' ', fill);
}

}  // namespace

int vformat(Sink sink, void* context, const char* f, va_list ap) {
    Writer out(sink, context);
    va_list args;
    va_copy(args, ap);
    while (*f) {
        if (*f != '%') {
            out.put(*f++);
            continue;
        }
        const char* start = f++;
        Spec spec;
        for (;; ++f) {
            if (*f == '-') spec.left = true;
            else if (*f == '+') spec.plus = true;
            else if (*f == ' ') spec.space = true;
            else if (*f == '#') spec.alt = true;
            else if (*f == '0') spec.zero = true;
            else break;
        }
        if (*f == '*') {
            spec.width = va_arg(args, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            ++f;
        } else {
            while (*f >= '0' && *f <= '9') spec.width = spec.width * 10 + (*f++ - '0');
        }
        if (*f == '.') {
            ++f;
            spec.precision = 0;
            if (*f == '*') {
                spec.precision = va_arg(args, int);
                if (spec.precision < 0) spec.precision = -1;
                ++f;
            } else {
                while (*f >= '0' && *f <= '9') spec.precision = spec.precision * 10 + (*f++ - '0');
            }
        }
        switch (*f) {
        case 'h': spec.length = (f[1] == 'h') ? (++f, Length::hh) : Length::h; ++f; break;
        case 'l': spec.length = (f[1] == 'l') ? (++f, Length::ll) : Length::l; ++f; break;
        case 'z': spec.length = Length::z; ++f; break;
        case 'j': spec.length = Length::j; ++f; break;
        case 't': spec.length = Length::t; ++f; break;
        default: break;
        }
        char conv = *f;
        if (conv) ++f;
        switch (conv) {
        case 'd':
        case 'i': {
            intmax_t v = fetch_signed(spec.length, args);
            uintmax_t mag = v < 0 ? 0 - static_cast<uintmax_t>(v) : static_cast<uintmax_t>(v);
            write_integer(out, spec, mag, v < 0, 10, false, nullptr);
            break;
        }
        case 'u': write_integer(out, spec, fetch_unsigned(spec.length, args), false, 10, false, nullptr); break;
        case 'o': write_integer(out, spec, fetch_unsigned(spec.length, args), false, 8, false, nullptr); break;
        case 'x':
        case 'X': {
            uintmax_t v = fetch_unsigned(spec.length, args);
            const char* prefix = (spec.alt && v) ? (conv == 'x' ? "0x" : "0X") : nullptr;
            write_integer(out, spec, v, false, 16, conv == 'X', prefix);
            break;
        }
        case 'p': {
            auto v = reinterpret_cast<uintptr_t>(va_arg(args, void*));
            if (!v) {
                write_text(out, spec, "(nil)", 5);  // glibc's spelling, so host tests agree
            } else {
                write_integer(out, spec, v, false, 16, false, "0x");
            }
            break;
        }
        case 'c': {
            char c = static_cast<char>(va_arg(args, int));
            write_text(out, spec, &c, 1);
            break;
        }
        case 's': {
            const char* s = va_arg(args, const char*);
            if (!s) s = "(null)";
            size_t n = 0;
            while (s[n] && (spec.precision < 0 || n < static_cast<size_t>(spec.precision))) ++n;
            write_text(out, spec, s, n);
            break;
        }
        case '%': out.put('%'); break;
        default:
            // Unknown conversion: print it verbatim so the mistake is visible, never skip args.
            out.put(start, static_cast<size_t>(f - start));
            break;
        }
    }
    va_end(args);
    out.flush();
    return out.count();
}

namespace {
struct BufferSink {
    char* buffer;
    size_t size;
    size_t used;
};
void buffer_sink(void* context, const char* text, size_t length) {
    auto* b = static_cast<BufferSink*>(context);
    for (size_t i = 0; i < length; ++i, ++b->used) {
        if (b->used + 1 < b->size) b->buffer[b->used] = text[i];
    }
}
}  // namespace

int vsnprintf(char* buffer, size_t size, const char* format, va_list args) {
    BufferSink b{buffer, size, 0};
    int n = vformat(buffer_sink, &b, format, args);
    if (size) buffer[b.used < size ? b.used : size - 1] = '\0';
    return n;
}

int snprintf(char* buffer, size_t size, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buffer, size, format, args);
    va_end(args);
    return n;
}

}  // namespace mica::fmt
