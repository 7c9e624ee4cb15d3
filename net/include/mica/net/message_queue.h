// The receive queue of an AF_UNIX socket: records (one per send, or per chunk of a stream
// send), each with its bytes, the descriptors it carries and its sender's credentials. No
// locking and no blocking (net/unix/ adds those), so it is host-tested
// (tests/unit/test_message_queue.cc).
//
// Streams read across records, consuming them partly, but a read stops after the first
// record that carries descriptors (Linux's rule, so descriptors arrive with the bytes sent
// alongside them). Datagrams and seqpacket read one whole record; the part that did not fit
// is dropped (the caller reports MSG_TRUNC). MSG_PEEK copies without consuming and gives no
// descriptors (Linux would duplicate them; Mica does not).
#pragma once

#include <mica/fs/io.h>
#include <mica/net/ancillary.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::net {

class MessageQueue {
public:
    struct Record {
        Record* next;
        size_t length;          // payload bytes
        size_t offset;          // payload bytes already read (streams)
        uint32_t source_length; // the sender's address (struct sockaddr_un), 0: unnamed
        Ancillary ancillary;
        uint8_t bytes[];        // the source address, then the payload
        uint8_t* data() { return bytes + source_length; }
    };
    // Drops a record's descriptors (the kernel: with the VFS lock held).
    using ReleaseFiles = void (*)(fs::OpenFile** files, int count);

    MessageQueue() = default;
    ~MessageQueue();  // frees what is left, descriptors unreleased: detach_all() first
    MessageQueue(const MessageQueue&) = delete;
    MessageQueue& operator=(const MessageQueue&) = delete;

    // Appends a record of `length` bytes read from `data` (fewer when a copy faults part way:
    // the record holds what arrived). `ancillary` (may be null) moves into the record, its
    // files with it, when something was queued. The bytes queued, -EFAULT (nothing could be
    // read) or -ENOMEM. A zero-length record is allowed (an empty datagram).
    // `source` (source_length bytes, may be 0) is the sender's address, given back to the
    // reader of the record.
    int64_t push(fs::IoVector& data, size_t length, const void* source, uint32_t source_length, Ancillary* ancillary);

    size_t bytes() const { return bytes_; }    // unread bytes in all records
    size_t count() const { return count_; }    // records
    bool empty() const { return count_ == 0; }
    // Unread bytes of the first record (a datagram socket's FIONREAD), 0 when empty.
    size_t front_length() const { return head_ ? head_->length - head_->offset : 0; }

    // Stream read into `out`: bytes copied (0 when empty), or -EFAULT when the first copy
    // failed. A consumed record's descriptors go to `ancillary` (never null; empty on entry)
    // and end the read; the first consumed record's credentials go there too.
    int64_t read_stream(fs::IoVector& out, bool peek, Ancillary* ancillary);
    // The first record's source address (nullptr and 0 when empty or unnamed).
    const uint8_t* front_source(uint32_t* length) const {
        *length = head_ ? head_->source_length : 0;
        return head_ ? head_->bytes : nullptr;
    }
    // Record read (only when !empty()): copies the first record's bytes into `out` (as many
    // as fit), sets *record_length to its full length, and consumes it whole unless peeking,
    // its descriptors and credentials going to `ancillary` (never null). -EFAULT, with the
    // record left in place, when nothing could be copied.
    int64_t read_record(fs::IoVector& out, bool peek, size_t* record_length, Ancillary* ancillary);

    // Takes every record out (for the owner to free outside its lock with free_records).
    Record* detach_all();
    static void free_records(Record* chain, ReleaseFiles release);

private:
    void pop_front();  // frees the first record (its ancillary already taken)
    static void take_ancillary(Record* r, Ancillary* out);

    Record* head_ = nullptr;
    Record* tail_ = nullptr;
    size_t bytes_ = 0;
    size_t count_ = 0;
};

}  // namespace mica::net
