#include <mica/fs/abi.h>
#include <mica/fs/io.h>
#include <mica/mm/vm.h>
#include <string.h>

namespace mica::fs {
namespace {
constexpr int64_t errno_fault = 14;
}

IoVector::IoVector(const IoSegment* segments, size_t count, bool app) : segments_(segments), count_(count), app_(app) {
    for (size_t i = 0; i < count; ++i) total_ += segments[i].length;
    settle();
}

IoVector::IoVector(void* data, size_t length, bool app)
    : segments_(&single_), count_(1), app_(app), total_(length),
      single_{reinterpret_cast<uint64_t>(data), length} {
    settle();
}

void IoVector::settle() {
    while (segment_ < count_ && offset_ == segments_[segment_].length) {
        ++segment_;
        offset_ = 0;
    }
}

int64_t IoVector::transfer(void* kernel, size_t length, bool to_vector) {
    size_t moved = 0;
    auto* bytes = static_cast<char*>(kernel);
    while (moved < length && segment_ < count_) {
        const IoSegment& s = segments_[segment_];
        size_t n = s.length - offset_;
        if (n > length - moved) n = length - moved;
        auto* where = reinterpret_cast<char*>(s.base) + offset_;
        int r = 0;
        if (!app_) {
            if (to_vector) memcpy(where, bytes + moved, n);
            else memcpy(bytes + moved, where, n);
        } else {
            r = to_vector ? mm::vm::copy_to_app(where, bytes + moved, n) : mm::vm::copy_from_app(bytes + moved, where, n);
        }
        if (r < 0) return moved > 0 ? static_cast<int64_t>(moved) : -errno_fault;
        moved += n;
        offset_ += n;
        done_ += n;
        settle();
    }
    return static_cast<int64_t>(moved);
}

int64_t IoVector::put(const void* source, size_t length) {
    return transfer(const_cast<void*>(source), length, true);
}

int64_t IoVector::get(void* target, size_t length) { return transfer(target, length, false); }

int64_t IoVector::put_zeros(size_t length) {
    static const char zeros[4096] = {};
    size_t moved = 0;
    while (moved < length && segment_ < count_) {
        const IoSegment& s = segments_[segment_];
        size_t n = s.length - offset_;
        if (n > length - moved) n = length - moved;
        auto* where = reinterpret_cast<char*>(s.base) + offset_;
        if (!app_) {
            memset(where, 0, n);
        } else {
            size_t k = 0;
            while (k < n) {
                size_t piece = n - k < sizeof zeros ? n - k : sizeof zeros;
                if (mm::vm::copy_to_app(where + k, zeros, piece) < 0) break;
                k += piece;
            }
            if (k < n) {
                offset_ += k;
                done_ += k;
                moved += k;
                settle();
                return moved > 0 ? static_cast<int64_t>(moved) : -errno_fault;
            }
        }
        moved += n;
        offset_ += n;
        done_ += n;
        settle();
    }
    return static_cast<int64_t>(moved);
}

void IoVector::skip(size_t length) {
    while (length > 0 && segment_ < count_) {
        size_t n = segments_[segment_].length - offset_;
        if (n > length) n = length;
        offset_ += n;
        done_ += n;
        length -= n;
        settle();
    }
}

IoVector::Piece IoVector::piece(size_t max) const {
    if (segment_ >= count_) return Piece{0, 0};
    const IoSegment& s = segments_[segment_];
    size_t n = s.length - offset_;
    return Piece{s.base + offset_, n < max ? n : max};
}

}  // namespace mica::fs
