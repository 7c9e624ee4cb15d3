// Spinlocks for data shared between CPUs. A ticket lock: waiters are served in arrival
// order, so no CPU starves. SpinGuard also keeps interrupts off while it is held (an
// interrupt handler on the same CPU taking the lock would otherwise deadlock).
#pragma once

#include <arch/arch.h>
#include <mica/config.h>
#include <stdint.h>

namespace mica::sched {

class Spinlock {
public:
    void lock() {
        uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) arch::cpu_relax();
    }
    bool try_lock() {
        uint32_t serving = __atomic_load_n(&serving_, __ATOMIC_ACQUIRE);
        uint32_t expected = serving;
        // Take a ticket only if it would be served at once.
        return __atomic_compare_exchange_n(&next_, &expected, serving + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    }
    void unlock() { __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE); }
    bool is_locked() const { return __atomic_load_n(&serving_, __ATOMIC_RELAXED) != __atomic_load_n(&next_, __ATOMIC_RELAXED); }

private:
    uint32_t next_ = 0;
    uint32_t serving_ = 0;
};

class SpinGuard {
public:
    explicit SpinGuard(Spinlock& lock) : lock_(lock), irqs_were_on_(arch::interrupts_enabled()) {
        prefault_stack();
        arch::interrupts_disable();
        lock_.lock();
    }
    ~SpinGuard() {
        lock_.unlock();
        if (irqs_were_on_) arch::interrupts_enable();
    }
    SpinGuard(const SpinGuard&) = delete;
    SpinGuard& operator=(const SpinGuard&) = delete;

    // CONFIG_LAZY_STACK: code holding a spinlock must not need a new stack page (the fault
    // handler may need the same lock), so make sure the next page of stack is there first.
    static void prefault_stack() {
        if constexpr (CONFIG_LAZY_STACK) {
            constexpr uintptr_t reserve = 4096;
            auto below = reinterpret_cast<volatile const char*>(__builtin_frame_address(0)) - reserve;
            (void)*below;
        }
    }

private:
    Spinlock& lock_;
    bool irqs_were_on_;
};

}  // namespace mica::sched
