// lwIP's operating-system layer on Mica (lwIP's sys_arch contract, lwip/sys.h): semaphores,
// mutexes, mailboxes and threads over the scheduler's objects, the millisecond clock,
// SYS_ARCH_PROTECT, and the platform functions arch/cc.h declares (diagnostics, assertions,
// random numbers). The core lock itself is in net/core_lock.cc.
#include <arch/arch.h>
#include <mica/clock.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/random.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <new>
#include <stdlib.h>

#include "lwip/err.h"
#include "lwip/sys.h"

namespace mica::net {
namespace {

constexpr uint64_t ns_per_ms = 1000000;
constexpr size_t min_mailbox_slots = 64;  // lwIP passes 0 for "the default size"

template <typename T, typename... Args>
T* make(Args... args) {
    void* memory = malloc(sizeof(T));
    return memory ? new (memory) T(args...) : nullptr;
}

template <typename T>
void destroy(T* object) {
    if (!object) return;
    object->~T();
    free(object);
}

// A bounded queue of messages between threads (lwIP's mailbox): tcpip_thread's input.
class Mailbox {
public:
    static Mailbox* create(size_t capacity) {
        if (capacity < min_mailbox_slots) capacity = min_mailbox_slots;
        void* memory = malloc(sizeof(Mailbox) + capacity * sizeof(void*));
        return memory ? new (memory) Mailbox(capacity) : nullptr;
    }

    // Queues `message`; when full, waits for room or (without `wait`) fails.
    bool post(void* message, bool wait) {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        while (count_ == capacity_) {
            if (!wait) return false;
            not_full_.wait(mutex_);
        }
        slots()[(head_ + count_) % capacity_] = message;
        ++count_;
        not_empty_.signal();
        return true;
    }

    // Takes the oldest message, waiting up to `timeout_ns` (0: for ever) or, without `wait`,
    // not at all. Returns false when none came.
    bool fetch(void** message, uint64_t timeout_ns, bool wait) {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        uint64_t deadline = timeout_ns ? clock::monotonic_ns() + timeout_ns : 0;
        while (count_ == 0) {
            if (!wait) return false;
            if (!deadline) {
                not_empty_.wait(mutex_);
                continue;
            }
            uint64_t now = clock::monotonic_ns();
            if (now >= deadline) return false;
            not_empty_.wait(mutex_, deadline - now);
        }
        void* m = slots()[head_];
        head_ = (head_ + 1) % capacity_;
        --count_;
        not_full_.signal();
        if (message) *message = m;
        return true;
    }

    size_t pending() {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        return count_;
    }

private:
    explicit Mailbox(size_t capacity) : capacity_(capacity) {}
    void** slots() { return reinterpret_cast<void**>(this + 1); }

    sched::Mutex mutex_;
    sched::CondVar not_empty_, not_full_;
    size_t capacity_;
    size_t head_ = 0;
    size_t count_ = 0;
};

sched::Semaphore* semaphore(sys_sem_t* sem) { return static_cast<sched::Semaphore*>(sem->object); }
sched::Mutex* mutex(sys_mutex_t* m) { return static_cast<sched::Mutex*>(m->object); }
Mailbox* mailbox(sys_mbox_t* m) { return static_cast<Mailbox*>(m->object); }

// SYS_ARCH_PROTECT: one lock for the whole stack, held for a few instructions at a time (a
// pbuf reference count, a pool counter), with interrupts off. lwIP may nest it, so the CPU
// holding it may take it again. Owned by sys_arch_protect/unprotect.
constexpr unsigned no_cpu = ~0u;
sched::Spinlock protect_lock;
unsigned protect_owner = no_cpu;
unsigned protect_depth = 0;

}  // namespace
}  // namespace mica::net

using namespace mica;
using mica::net::Mailbox;

extern "C" {

void sys_init(void) {}

u32_t sys_now(void) { return static_cast<u32_t>(clock::monotonic_ns() / net::ns_per_ms); }

err_t sys_sem_new(sys_sem_t* sem, u8_t count) {
    sem->object = net::make<sched::Semaphore>(static_cast<unsigned>(count));
    return sem->object ? ERR_OK : ERR_MEM;
}

void sys_sem_signal(sys_sem_t* sem) { net::semaphore(sem)->post(); }

u32_t sys_arch_sem_wait(sys_sem_t* sem, u32_t timeout_ms) {
    uint64_t start = clock::monotonic_ns();
    if (!net::semaphore(sem)->wait(uint64_t{timeout_ms} * net::ns_per_ms)) return SYS_ARCH_TIMEOUT;
    return static_cast<u32_t>((clock::monotonic_ns() - start) / net::ns_per_ms);
}

void sys_sem_free(sys_sem_t* sem) {
    net::destroy(net::semaphore(sem));
    sem->object = nullptr;
}

err_t sys_mutex_new(sys_mutex_t* m) {
    m->object = net::make<sched::Mutex>();
    return m->object ? ERR_OK : ERR_MEM;
}

void sys_mutex_lock(sys_mutex_t* m) { net::mutex(m)->lock(); }
void sys_mutex_unlock(sys_mutex_t* m) { net::mutex(m)->unlock(); }

void sys_mutex_free(sys_mutex_t* m) {
    net::destroy(net::mutex(m));
    m->object = nullptr;
}

err_t sys_mbox_new(sys_mbox_t* mbox, int size) {
    mbox->object = Mailbox::create(size > 0 ? static_cast<size_t>(size) : 0);
    return mbox->object ? ERR_OK : ERR_MEM;
}

void sys_mbox_post(sys_mbox_t* mbox, void* msg) { net::mailbox(mbox)->post(msg, true); }

err_t sys_mbox_trypost(sys_mbox_t* mbox, void* msg) {
    return net::mailbox(mbox)->post(msg, false) ? ERR_OK : ERR_MEM;
}

// Mica's drivers hand frames up from threads, never from interrupt handlers; this is the
// same as sys_mbox_trypost (which never blocks).
err_t sys_mbox_trypost_fromisr(sys_mbox_t* mbox, void* msg) { return sys_mbox_trypost(mbox, msg); }

u32_t sys_arch_mbox_fetch(sys_mbox_t* mbox, void** msg, u32_t timeout_ms) {
    uint64_t start = clock::monotonic_ns();
    if (!net::mailbox(mbox)->fetch(msg, uint64_t{timeout_ms} * net::ns_per_ms, true)) return SYS_ARCH_TIMEOUT;
    return static_cast<u32_t>((clock::monotonic_ns() - start) / net::ns_per_ms);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t* mbox, void** msg) {
    return net::mailbox(mbox)->fetch(msg, 0, false) ? 0 : SYS_MBOX_EMPTY;
}

void sys_mbox_free(sys_mbox_t* mbox) {
    Mailbox* m = net::mailbox(mbox);
    if (m && m->pending()) panic("lwIP: a mailbox freed with messages in it");
    net::destroy(m);
    mbox->object = nullptr;
}

sys_thread_t sys_thread_new(const char* name, lwip_thread_fn thread, void* arg, int stacksize, int prio) {
    sched::Thread* t = sched::create(name, thread, arg);
    if (!t) panic("lwIP: no memory for thread %s", name);
    sched::detach(t);
    sched::start(t);
    return t;
}

sys_prot_t sys_arch_protect(void) {
    sched::SpinGuard::prefault_stack();
    bool was_on = arch::interrupts_enabled();
    arch::interrupts_disable();
    unsigned cpu = sched::current_cpu();
    if (__atomic_load_n(&net::protect_owner, __ATOMIC_RELAXED) == cpu) {
        ++net::protect_depth;
    } else {
        net::protect_lock.lock();
        __atomic_store_n(&net::protect_owner, cpu, __ATOMIC_RELAXED);
        net::protect_depth = 1;
    }
    return was_on;
}

void sys_arch_unprotect(sys_prot_t was_on) {
    if (--net::protect_depth == 0) {
        __atomic_store_n(&net::protect_owner, net::no_cpu, __ATOMIC_RELAXED);
        net::protect_lock.unlock();
    }
    if (was_on) arch::interrupts_enable();
}

int mica_lwip_diag(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = fmt::vformat([](void*, const char* text, size_t length) { console::write(text, length); }, nullptr,
                         format, args);
    va_end(args);
    return n;
}

void mica_lwip_assert(const char* message, const char* file, int line) {
    panic("lwIP: assertion failed: %s (%s:%d)", message, file, line);
}

uint32_t mica_lwip_rand(void) {
    uint32_t value;
    mica::random::fill(&value, sizeof value);
    return value;
}

}  // extern "C"
