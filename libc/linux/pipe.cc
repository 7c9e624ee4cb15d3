// Pipes: a ring of up to 64 KiB (pipe_buffer.h: it starts at a page and grows as writers
// need room) shared by a read-end and a write-end vnode. Readers
// block until data arrives or every writer is gone (then EOF), writers block while the ring
// is full and get -EPIPE once no reader is left (and SIGPIPE: file_syscalls.cc). Writes of at most PIPE_BUF
// bytes are atomic. Each pipe has its own mutex, taken after the VFS lock when at all (an
// end's destructor runs under the VFS lock); data is copied between the ring and the
// application's memory directly, under the pipe's mutex. Both ends share one PollHead,
// notified after every change with what it made possible (data: POLLIN; room: POLLOUT; a
// closed end: POLLHUP or POLLERR); each end's poll_events says which apply to it.
#include <mica/linux/pipe_buffer.h>
#include <mica/linux/process.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_internal.h"

namespace mica::abi::files {
namespace {

// Pipe vnodes belong to this filesystem, which is never mounted (Linux's pipefs).
class PipeFs final : public fs::FileSystem {
public:
    PipeFs() : FileSystem(nullptr) {}
    fs::Vnode* root() override { return nullptr; }
};
PipeFs pipe_fs;  // owns nothing; pipe vnodes only point at it

struct Pipe {
    fs::PollHead head;  // destroyed last (declared first): the ends' waiters are gone by then
    sched::Mutex mutex;
    sched::CondVar readable;  // data arrived or the write end closed
    sched::CondVar writable;  // space freed or the read end closed
    PipeBuffer ring;
    bool reader_open = true, writer_open = true;
    int ends = 2;  // vnodes referring to this pipe; the last frees it (under the VFS lock)
    explicit Pipe(uint8_t* storage) : ring(storage, pipe_first_storage) {}
    ~Pipe() { free(ring.storage()); }
    // Room for `needed` more bytes in the ring, growing its storage (doubling, up to the
    // pipe's capacity) when the pipe has room but the ring not; false when the pipe is full
    // or memory short (then the writer waits for a reader, as for a full pipe). Under mutex.
    bool make_room(size_t needed) {
        if (ring.space() >= needed) return true;
        if (pipe_capacity - ring.size() < needed) return false;
        size_t grown = ring.capacity();
        while (grown - ring.size() < needed) grown *= 2;
        if (grown > pipe_capacity) grown = pipe_capacity;
        auto* storage = static_cast<uint8_t*>(malloc(grown));
        if (!storage) return false;
        uint8_t* old = ring.storage();
        ring.relocate(storage, grown);
        free(old);
        return true;
    }
    size_t space() const { return pipe_capacity - ring.size(); }
};

class PipeEnd final : public fs::Vnode {
public:
    PipeEnd(Pipe* pipe, bool read_end, uint64_t ino)
        : Vnode(&pipe_fs, fs::s_ififo | 0600), pipe_(pipe), read_end_(read_end) {
        this->ino = ino;
        atime = mtime = ctime = fs::Timespec{static_cast<int64_t>(now_ns() / 1000000000),
                                             static_cast<int64_t>(now_ns() % 1000000000)};
    }
    ~PipeEnd() override {
        {
            sched::LockGuard<sched::Mutex> guard(pipe_->mutex);
            (read_end_ ? pipe_->reader_open : pipe_->writer_open) = false;
            pipe_->readable.broadcast();
            pipe_->writable.broadcast();
        }
        // The other end hears of it: a reader sees POLLHUP, a writer POLLERR.
        pipe_->head.notify(read_end_ ? pollerr : pollhup | pollin);
        if (--pipe_->ends == 0) {
            pipe_->~Pipe();
            free(pipe_);
        }
    }
    bool seekable() const override { return false; }
    bool is_stream() const override { return true; }
    int64_t read_stream(fs::IoVector& data, bool nonblock) override;
    int64_t write_stream(fs::IoVector& data, bool nonblock) override;
    uint32_t poll_events() override;
    fs::PollHead* poll_head() override { return &pipe_->head; }
    Pipe* pipe() const { return pipe_; }
    bool read_end() const { return read_end_; }

private:
    Pipe* pipe_;
    bool read_end_;
};

PipeEnd* end_of(fs::Vnode* node) { return static_cast<PipeEnd*>(node); }

uint64_t next_pipe_ino = 1;  // under the VFS lock (pipe_create's caller holds it)

}  // namespace

int pipe_create(int flags, fs::OpenFile** read_end, fs::OpenFile** write_end) {
    void* memory = malloc(sizeof(Pipe));
    auto* storage = static_cast<uint8_t*>(malloc(pipe_first_storage));
    if (!memory || !storage) {  // Linux's pipe(2) says ENFILE when out of pipes
        free(memory);
        free(storage);
        return -fs::errno_nfile;
    }
    Pipe* pipe = new (memory) Pipe(storage);
    uint64_t ino = next_pipe_ino++;
    auto* reader = fs::make_object<PipeEnd>(pipe, true, ino);
    auto* writer = reader ? fs::make_object<PipeEnd>(pipe, false, ino) : nullptr;
    if (!writer) {
        if (reader) {
            pipe->ends = 1;  // the reader's destructor frees the pipe
            reader->unref();
        } else {
            pipe->~Pipe();
            free(pipe);
        }
        return -fs::errno_nomem;
    }
    int status = flags & fs::o_nonblock;
    int result = fs::OpenFile::open(reader, fs::o_rdonly | status, read_end);
    if (result == 0) {
        result = fs::OpenFile::open(writer, fs::o_wronly | status, write_end);
        if (result < 0) (*read_end)->unref();
    }
    reader->unref();  // the open files hold the ends now (or nothing does)
    writer->unref();
    return result;
}

int64_t PipeEnd::read_stream(fs::IoVector& data, bool nonblock) {
    if (!read_end_) return -fs::errno_badf;
    if (data.remaining() == 0) return 0;
    Pipe* p = pipe_;
    size_t done = 0;
    {
        sched::LockGuard<sched::Mutex> guard(p->mutex);
        while (p->ring.empty()) {
            if (!p->writer_open) return 0;  // EOF
            if (nonblock) return -errno_again;
            sched::InterruptibleScope scope;
            if (!p->readable.wait(p->mutex) && sched::interrupted()) return -fs::errno_restart;
        }
        while (data.remaining() > 0) {
            PipeBuffer::Span span = p->ring.readable();
            if (span.length == 0) break;
            int64_t n = data.put(span.data, span.length);
            if (n <= 0) {
                if (done == 0) return n < 0 ? n : -errno_fault;
                break;
            }
            p->ring.consume(static_cast<size_t>(n));
            done += static_cast<size_t>(n);
            if (static_cast<size_t>(n) < span.length && data.remaining() > 0) break;  // a fault
        }
        p->writable.broadcast();
    }
    p->head.notify(pollout | pollwrnorm);
    return static_cast<int64_t>(done);
}

int64_t PipeEnd::write_stream(fs::IoVector& data, bool nonblock) {
    if (read_end_) return -fs::errno_badf;
    size_t length = data.remaining();
    if (length == 0) return 0;
    Pipe* p = pipe_;
    size_t done = 0;
    int64_t error = 0;
    {
        sched::LockGuard<sched::Mutex> guard(p->mutex);
        // Up to PIPE_BUF bytes go in one piece, so they wait for that much room.
        bool atomic = length <= pipe_buf;
        while (done < length) {
            if (!p->reader_open) {
                error = -errno_pipe;
                break;
            }
            // Room in the ring for the whole rest when it can grow to it (and the pipe has
            // room), else for what must go in one piece.
            size_t needed = atomic ? length : 1, rest = length - done;
            size_t want = rest < p->space() ? rest : p->space();
            if (want < needed || !(p->make_room(want) || p->make_room(needed))) {
                if (nonblock) {
                    error = -errno_again;
                    break;
                }
                sched::InterruptibleScope scope;
                if (!p->writable.wait(p->mutex) && sched::interrupted()) {
                    error = -fs::errno_restart;
                    break;
                }
                continue;
            }
            size_t before = done;
            while (done < length) {
                PipeBuffer::Span span = p->ring.writable();
                if (span.length == 0) break;
                int64_t n = data.get(span.data, span.length);
                if (n <= 0) {
                    error = n < 0 ? n : -errno_fault;
                    break;
                }
                p->ring.commit(static_cast<size_t>(n));
                done += static_cast<size_t>(n);
                if (static_cast<size_t>(n) < span.length && data.remaining() > 0) {
                    error = -errno_fault;  // a fault part way through the vector
                    break;
                }
            }
            if (done > before) p->readable.broadcast();
            if (error) break;
        }
    }
    if (done > 0) p->head.notify(pollin | pollrdnorm);
    return done > 0 ? static_cast<int64_t>(done) : error;
}

uint32_t PipeEnd::poll_events() {
    Pipe* p = pipe_;
    sched::LockGuard<sched::Mutex> guard(p->mutex);
    unsigned mask = 0;
    if (read_end_) {
        if (!p->ring.empty()) mask |= pollin | pollrdnorm;
        if (!p->writer_open) mask |= pollhup;
    } else {
        if (p->space() >= pipe_buf) mask |= pollout | pollwrnorm;
        if (!p->reader_open) mask |= pollerr;
    }
    return mask;
}

size_t pipe_available(fs::Vnode* node) {
    Pipe* p = end_of(node)->pipe();
    sched::LockGuard<sched::Mutex> guard(p->mutex);
    return p->ring.size();
}

}  // namespace mica::abi::files
