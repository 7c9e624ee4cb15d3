// Mutex, condition variable, semaphore, reader-writer lock and futex, in the guest.
#include <arch/arch.h>
#include <mica/ktest.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>

using namespace mica;
using namespace mica::sched;

KTEST(sync, mutex_contention) {
    // Four threads add to a shared counter under a mutex, yielding inside the critical
    // section so the others pile up on the lock. Lost updates would show in the total.
    static Mutex mutex;
    static long counter;
    counter = 0;
    constexpr int threads = 4, iterations = 500;
    auto worker = [](void*) {
        for (int i = 0; i < iterations; ++i) {
            LockGuard<Mutex> lock(mutex);
            long v = counter;
            if (i % 7 == 0) yield();
            counter = v + 1;
        }
    };
    Thread* t[threads];
    for (auto& th : t) {
        th = create("adder", worker, nullptr);
        KASSERT(th != nullptr);
        start(th);
    }
    for (auto* th : t) join(th);
    KEXPECT_EQ(counter, long{threads * iterations});
    KEXPECT(mutex.try_lock());
    KEXPECT(!mutex.try_lock());
    mutex.unlock();
}

KTEST(sync, condvar_producer_consumer) {
    static Mutex mutex;
    static CondVar not_empty, not_full;
    static int buffer[4];
    static int count, head, sum;
    count = head = sum = 0;
    constexpr int items = 300;
    Thread* producer = create("producer", [](void*) {
        for (int i = 1; i <= items; ++i) {
            LockGuard<Mutex> lock(mutex);
            while (count == 4) not_full.wait(mutex);
            buffer[(head + count++) % 4] = i;
            not_empty.signal();
        }
    }, nullptr);
    Thread* consumer = create("consumer", [](void*) {
        for (int i = 1; i <= items; ++i) {
            LockGuard<Mutex> lock(mutex);
            while (count == 0) not_empty.wait(mutex);
            sum += buffer[head];
            head = (head + 1) % 4;
            --count;
            not_full.signal();
        }
    }, nullptr);
    KASSERT(producer && consumer);
    start(consumer);
    start(producer);
    join(producer);
    join(consumer);
    KEXPECT_EQ(sum, items * (items + 1) / 2);
}

KTEST(sync, semaphore_and_timeouts) {
    Semaphore sem(2);
    KEXPECT(sem.wait());
    KEXPECT(sem.wait());
    uint64_t began = arch::cycles();
    KEXPECT(!sem.wait(10000000));  // 10 ms, nobody posts
    uint64_t waited_us = (arch::cycles() - began) * 1000000 / arch::cycles_per_second();
    KEXPECT(waited_us >= 10000);
    static Semaphore* shared;
    shared = &sem;
    Thread* poster = create("poster", [](void*) {
        sleep_ns(2000000);
        shared->post();
    }, nullptr);
    KASSERT(poster != nullptr);
    start(poster);
    // A timed wait that is posted returns true. The timeout is an hour, not a second: the
    // poster may be held back by a loaded host for any time; a lost post hangs the test
    // and the boot test's timeout names it.
    KEXPECT(sem.wait(3600 * uint64_t{1000000000}));
    join(poster);
    KEXPECT_EQ(sem.count(), 0u);
}

KTEST(sync, rwlock_readers_share_writers_exclude) {
    static RwLock lock;
    static int readers_inside;
    static volatile int max_readers_inside, writer_inside;
    static volatile bool violation;
    readers_inside = 0;
    max_readers_inside = 0;
    writer_inside = 0;
    violation = false;
    auto reader = [](void*) {
        for (int i = 0; i < 50; ++i) {
            lock.lock_shared();
            int inside = __atomic_add_fetch(&readers_inside, 1, __ATOMIC_SEQ_CST);
            if (inside > max_readers_inside) max_readers_inside = inside;
            if (writer_inside) violation = true;
            if (i % 10 == 0) sleep_ns(1000000);  // long enough for other readers to join
            else yield();
            __atomic_fetch_sub(&readers_inside, 1, __ATOMIC_SEQ_CST);
            lock.unlock_shared();
            yield();
        }
    };
    auto writer = [](void*) {
        for (int i = 0; i < 20; ++i) {
            lock.lock();
            writer_inside = 1;
            if (readers_inside) violation = true;
            yield();
            writer_inside = 0;
            lock.unlock();
            yield();
        }
    };
    Thread* t[4] = {create("r1", reader, nullptr), create("r2", reader, nullptr), create("r3", reader, nullptr),
                    create("w", writer, nullptr)};
    for (auto* th : t) {
        KASSERT(th != nullptr);
        start(th);
    }
    for (auto* th : t) join(th);
    KEXPECT(!violation);
    KEXPECT(max_readers_inside >= 2);
}

KTEST(sync, futex_wait_wake_timeout) {
    static uint32_t word;
    word = 0;
    KEXPECT_EQ(futex_wait(&word, 1), -11);         // value differs: EAGAIN
    KEXPECT_EQ(futex_wait(&word, 0, 5000000), -110);  // nobody wakes: ETIMEDOUT
    KEXPECT_EQ(futex_wake(&word, 1), 0);
    static volatile int woken;
    woken = 0;
    auto waiter = [](void*) {
        if (futex_wait(&word, 0) == 0) __atomic_fetch_add(&woken, 1, __ATOMIC_RELAXED);
    };
    Thread* a = create("fw1", waiter, nullptr);
    Thread* b = create("fw2", waiter, nullptr);
    KASSERT(a && b);
    start(a);
    start(b);
    while (true) {  // let both reach the wait
        yield();
        IrqGuard guard;
        if (a->state == Thread::State::blocked && b->state == Thread::State::blocked) break;
    }
    word = 1;
    KEXPECT_EQ(futex_wake(&word, 1), 1);
    KEXPECT_EQ(futex_wake(&word, 10), 1);
    join(a);
    join(b);
    KEXPECT_EQ(woken, 2);
}
