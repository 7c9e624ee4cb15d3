// The TCP/IP core lock (LWIP_TCPIP_CORE_LOCKING): lwIP's lock_tcpip_core, a kernel mutex
// created by tcpip_init(). Taking it through LOCK_TCPIP_CORE (lwipopts.h) or CoreLock is the
// same; releasing it first flushes the devices' transmit batches, so a device is notified
// once per lock section however many frames the section sent.
#include <arch/arch.h>
#include <mica/net/net.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>

#include "lwip/errno.h"
#include "lwip/tcpip.h"
#include "stack_internal.h"

namespace mica::net {

// Sections under the core lock are short (a send, a segment's processing): with other CPUs
// running, a taker spins this many times before it sleeps, which saves the holder a wake-up
// (an inter-processor interrupt) on release. A try every few spins keeps the lock's own
// spinlock from bouncing between the CPUs.
constexpr unsigned core_lock_spins = 2048;
constexpr unsigned core_lock_try_every = 8;

namespace {

// Set once tcpip_thread runs (LWIP_MARK_TCPIP_THREAD): from then on every lwIP call must hold
// the lock. lwip_init() runs before the lock exists, unlocked and alone.
bool checking = false;

sched::Mutex& core_mutex() {
    auto* m = static_cast<sched::Mutex*>(lock_tcpip_core.object);
    if (!m) panic("net: the core lock is used before net::init()");
    return *m;
}

}  // namespace

CoreLock::CoreLock() { mica_lwip_lock_core(); }
CoreLock::~CoreLock() { mica_lwip_unlock_core(); }

bool CoreLock::wait(sched::CondVar& cv, uint64_t timeout_ns) {
    flush_transmits();
    return cv.wait(core_mutex(), timeout_ns);
}

bool core_locked() { return lock_tcpip_core.object && core_mutex().held_by_current(); }

int defer(void (*fn)(void*), void* arg) {
    if (!initialized()) return -EAGAIN;
    // -ENOMEM: no memory for the message, or tcpip_thread's mailbox is full.
    return tcpip_try_callback(fn, arg) == ERR_OK ? 0 : -ENOMEM;
}

void tcpip_barrier() {
    sched::Semaphore done(0);
    err_t err = tcpip_callback([](void* arg) { static_cast<sched::Semaphore*>(arg)->post(); }, &done);
    if (err != ERR_OK) panic("net: cannot reach tcpip_thread (%d)", err);
    done.wait();
}

}  // namespace mica::net

extern "C" {

void mica_lwip_lock_core(void) {
    mica::sched::Mutex& m = mica::net::core_mutex();
    if (m.held_by_current()) {
        mica::panic("net: the core lock is taken again by the thread holding it (a raw API callback must not lock)");
    }
    if (m.try_lock()) return;
    if (mica::sched::online_cpus() > 1) {
        for (unsigned i = 0; i < mica::net::core_lock_spins; ++i) {
            mica::arch::cpu_relax();
            if (i % mica::net::core_lock_try_every == mica::net::core_lock_try_every - 1 && m.try_lock()) return;
        }
    }
    m.lock();
}

void mica_lwip_unlock_core(void) {
    mica::net::flush_transmits();
    mica::net::core_mutex().unlock();
}

void mica_lwip_assert_core_locked(void) {
    if (mica::net::checking && !mica::net::core_mutex().held_by_current()) {
        mica::panic("net: lwIP called without the core lock (take mica::net::CoreLock)");
    }
}

void mica_lwip_mark_tcpip_thread(void) { mica::net::checking = true; }

}  // extern "C"
