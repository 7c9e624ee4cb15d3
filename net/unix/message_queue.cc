#include <mica/net/message_queue.h>
#include <stdlib.h>
#include <string.h>

namespace mica::net {
namespace {
constexpr int64_t errno_nomem = 12;
}

MessageQueue::~MessageQueue() { free_records(detach_all(), nullptr); }

int64_t MessageQueue::push(fs::IoVector& data, size_t length, const void* source, uint32_t source_length,
                           Ancillary* ancillary) {
    auto* r = static_cast<Record*>(malloc(sizeof(Record) + source_length + (length ? length : 1)));
    if (!r) return -errno_nomem;
    r->source_length = source_length;
    if (source_length) memcpy(r->bytes, source, source_length);
    int64_t got = 0;
    if (length > 0) {
        got = data.get(r->data(), length);
        if (got <= 0) {
            free(r);
            return got < 0 ? got : -errno_fault;
        }
    }
    r->next = nullptr;
    r->length = static_cast<size_t>(got);
    r->offset = 0;
    r->ancillary = Ancillary{};
    if (ancillary) {
        r->ancillary = *ancillary;
        *ancillary = Ancillary{};  // the files moved into the record
    }
    if (tail_) tail_->next = r;
    else head_ = r;
    tail_ = r;
    bytes_ += r->length;
    ++count_;
    return got;
}

void MessageQueue::take_ancillary(Record* r, Ancillary* out) {
    *out = r->ancillary;
    r->ancillary = Ancillary{};
}

void MessageQueue::pop_front() {
    Record* r = head_;
    head_ = r->next;
    if (!head_) tail_ = nullptr;
    bytes_ -= r->length - r->offset;
    --count_;
    free(r);
}

int64_t MessageQueue::read_stream(fs::IoVector& out, bool peek, Ancillary* ancillary) {
    size_t copied = 0;
    Record* r = head_;
    size_t offset = r ? r->offset : 0;  // where a peek reads in r
    while (r && out.remaining() > 0) {
        size_t available = r->length - offset;
        int64_t n = available ? out.put(r->data() + offset, available) : 0;
        if (n < 0) return copied > 0 ? static_cast<int64_t>(copied) : n;
        copied += static_cast<size_t>(n);
        bool finished = static_cast<size_t>(n) == available;
        bool carries_files = r->ancillary.file_count > 0;
        if (peek) {
            if (!finished || carries_files) break;
            r = r->next;
            offset = 0;
            continue;
        }
        r->offset += static_cast<size_t>(n);
        bytes_ -= static_cast<size_t>(n);
        if (!finished) break;  // `out` is full, or a fault cut the copy short
        // A consumed record hands over what it carries (the first credentials seen);
        // descriptors end the read.
        if (r->ancillary.has_credentials && !ancillary->has_credentials) {
            ancillary->has_credentials = true;
            ancillary->credentials = r->ancillary.credentials;
        }
        if (carries_files) {
            ancillary->files = r->ancillary.files;
            ancillary->file_count = r->ancillary.file_count;
            r->ancillary.files = nullptr;
            r->ancillary.file_count = 0;
        }
        Record* next = r->next;
        pop_front();
        r = next;
        offset = 0;
        if (carries_files) break;
    }
    return static_cast<int64_t>(copied);
}

int64_t MessageQueue::read_record(fs::IoVector& out, bool peek, size_t* record_length, Ancillary* ancillary) {
    Record* r = head_;
    *record_length = r->length;
    size_t want = r->length < out.remaining() ? r->length : out.remaining();
    int64_t n = want ? out.put(r->data(), want) : 0;
    if (n < 0) return n;
    if (!peek) {
        take_ancillary(r, ancillary);
        pop_front();
    }
    return n;
}

MessageQueue::Record* MessageQueue::detach_all() {
    Record* chain = head_;
    head_ = tail_ = nullptr;
    bytes_ = 0;
    count_ = 0;
    return chain;
}

void MessageQueue::free_records(Record* chain, ReleaseFiles release) {
    while (chain) {
        Record* next = chain->next;
        if (chain->ancillary.file_count > 0 && release) release(chain->ancillary.files, chain->ancillary.file_count);
        free(chain->ancillary.files);
        free(chain);
        chain = next;
    }
}

}  // namespace mica::net
