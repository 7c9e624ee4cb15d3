/* Signal delivery in one thread: SA_SIGINFO (si_signo, si_code, si_pid, si_uid, si_value),
 * masks and pending signals, the order of delivery at unblock, nested handlers (SA_NODEFER,
 * sa_mask), SA_RESETHAND, sigaltstack and recovery from real faults (SIGSEGV on a PROT_NONE
 * page and on a thread's stack overflow, SIGFPE) through siglongjmp, sigsuspend,
 * sigwaitinfo/sigtimedwait, rt_sigqueueinfo, ignored and default-ignored signals.
 * Handlers only record what they see (no stdio inside a handler); main prints afterwards.
 * Not covered (not portable between architectures and C libraries): a handler that edits the
 * ucontext it is given. */
#define _GNU_SOURCE
#include "app_test.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

/* --- the last siginfo a handler saw --- */
static volatile sig_atomic_t info_count;
static volatile int info_signo, info_code, info_value, info_pid_is_me, info_uid_is_mine;

static void info_handler(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    info_count++;
    info_signo = sig == si->si_signo ? si->si_signo : -1;
    info_code = si->si_code;
    info_pid_is_me = si->si_pid == getpid();
    info_uid_is_mine = si->si_uid == getuid();
    info_value = si->si_value.sival_int;
}

static const char* code_name(int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case SI_KERNEL: return "SI_KERNEL";
    default: {
        static char text[24];
        snprintf(text, sizeof text, "code %d", code);
        return text;
    }
    }
}

static void install(int sig, void (*action)(int, siginfo_t*, void*), int flags, const sigset_t* mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    APP_REQUIRE(sigaction(sig, &sa, NULL) == 0);
}

static void print_info(const char* how) {
    printf("%s: delivered %d, signo ok %s, %s, si_pid is me %s, si_uid mine %s\n", how, (int)info_count,
           yes_no(info_signo > 0), code_name(info_code), yes_no(info_pid_is_me), yes_no(info_uid_is_mine));
    info_count = 0;
}

static void test_siginfo(void) {
    printf("-- SA_SIGINFO\n");
    install(SIGUSR1, info_handler, 0, NULL);
    APP_REQUIRE(kill(getpid(), SIGUSR1) == 0);
    print_info("kill");
    APP_REQUIRE(raise(SIGUSR1) == 0);
    printf("raise: delivered %d, %s\n", (int)info_count, code_name(info_code));
    info_count = 0;
    APP_REQUIRE(syscall(SYS_tgkill, getpid(), my_tid(), SIGUSR1) == 0);
    print_info("tgkill");
    APP_REQUIRE(syscall(SYS_tkill, my_tid(), SIGUSR1) == 0);
    print_info("tkill");
    union sigval v = {.sival_int = 1234};
    APP_REQUIRE(sigqueue(getpid(), SIGUSR1, v) == 0);
    print_info("sigqueue");
    printf("sigqueue: si_value %d\n", info_value);

    /* rt_sigqueueinfo with a siginfo of our own (a negative si_code: allowed from anyone). */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 77;
    APP_REQUIRE(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si) == 0);
    print_info("rt_sigqueueinfo");
    printf("rt_sigqueueinfo: si_value %d\n", info_value);
    errno = 0;
    printf("rt_sigqueueinfo with a bad pointer: %s\n",
           errno_name(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, (void*)8) == -1 ? errno : 0));

    /* Signal 0 checks that the process exists; invalid numbers and uncatchable signals. */
    printf("kill(self, 0): %d\n", kill(getpid(), 0));
    errno = 0;
    printf("kill(self, 65): %s\n", errno_name(kill(getpid(), 65) == -1 ? errno : 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    errno = 0;
    printf("sigaction(SIGKILL): %s\n", errno_name(sigaction(SIGKILL, &sa, NULL) == -1 ? errno : 0));
    errno = 0;
    printf("sigaction(SIGSTOP): %s\n", errno_name(sigaction(SIGSTOP, &sa, NULL) == -1 ? errno : 0));
    errno = 0;
    printf("sigaction(0): %s\n", errno_name(sigaction(0, &sa, NULL) == -1 ? errno : 0));
    /* The old action comes back as it was set. */
    struct sigaction old;
    APP_REQUIRE(sigaction(SIGUSR1, NULL, &old) == 0);
    printf("old action: handler kept %s, SA_SIGINFO %s\n", yes_no(old.sa_sigaction == info_handler),
           yes_no((old.sa_flags & SA_SIGINFO) != 0));
}

/* --- delivery order --- */
static volatile int order[16];
static volatile sig_atomic_t order_count;
static volatile int order_value[16];

static void order_handler(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    if (order_count < 16) {
        order_value[order_count] = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
        order[order_count++] = sig;
    }
}

static const char* sig_name(int sig) {
    static char text[24];
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGCHLD: return "SIGCHLD";
    case SIGURG: return "SIGURG";
    case SIGWINCH: return "SIGWINCH";
    case SIGSEGV: return "SIGSEGV";
    case SIGFPE: return "SIGFPE";
    }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        snprintf(text, sizeof text, "SIGRTMIN+%d", sig - SIGRTMIN);  /* 34 or 35 by C library */
        return text;
    }
    snprintf(text, sizeof text, "signal %d", sig);
    return text;
}

static void print_order(const char* what) {
    printf("%s:", what);
    for (int i = 0; i < order_count; i++) {
        printf(" %s", sig_name(order[i]));
        if (order_value[i] >= 0)
            printf("(%d)", order_value[i]);
    }
    printf("\n");
    order_count = 0;
}

static void test_masks(void) {
    printf("-- masks and pending signals\n");
    /* Each handler blocks every other signal while it runs, so each runs to its end before
     * the next pending one is delivered: the order of the handlers is the order of delivery. */
    sigset_t all;
    sigfillset(&all);
    int sigs[] = {SIGHUP, SIGINT, SIGUSR1, SIGUSR2, SIGTERM, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        install(sigs[i], order_handler, 0, &all);
    sigset_t block, old, pending;
    sigemptyset(&block);
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&block, sigs[i]);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    /* Thread-directed (raise), then process-directed (kill): each set in signal-number order.
     * (Linux takes the thread's own pending signals before the process's: the two kinds are
     * not mixed here.) */
    for (int round = 0; round < 2; round++) {
        int (*send)(int) = round == 0 ? raise : NULL;
        int order_sent[] = {SIGTERM, SIGUSR2, SIGHUP, SIGALRM, SIGUSR1, SIGUSR1, SIGINT};
        for (unsigned i = 0; i < sizeof order_sent / sizeof order_sent[0]; i++) {
            if (send)
                send(order_sent[i]);
            else
                kill(getpid(), order_sent[i]);
        }
        /* SIGUSR1 twice: a standard signal is pending at most once */
        printf("%s: delivered while blocked: %d\n", send ? "raise" : "kill", (int)order_count);
        APP_REQUIRE(sigpending(&pending) == 0);
        printf("pending:");
        for (int s = 1; s < 32; s++)
            if (sigismember(&pending, s))
                printf(" %s", sig_name(s));
        printf("\n");
        APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
        print_order("delivered at unblock, in order");
        APP_REQUIRE(sigpending(&pending) == 0);
        printf("pending after: %s\n", yes_no(sigismember(&pending, SIGUSR1)));
        APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    }
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);

    /* Real-time signals queue (every one is delivered, in order, with its value); the lowest
     * number first. */
    int rt0 = SIGRTMIN, rt1 = SIGRTMIN + 1;
    install(rt0, order_handler, 0, &all);
    install(rt1, order_handler, 0, &all);
    sigemptyset(&block);
    sigaddset(&block, rt0);
    sigaddset(&block, rt1);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    for (int v = 1; v <= 3; v++)
        APP_REQUIRE(sigqueue(getpid(), rt1, (union sigval){.sival_int = v}) == 0);
    APP_REQUIRE(sigqueue(getpid(), rt0, (union sigval){.sival_int = 9}) == 0);
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    print_order("real-time signals at unblock");

    /* SIGKILL and SIGSTOP cannot be blocked: sigprocmask leaves them out silently. */
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &all, &old) == 0);
    sigset_t now;
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, &now) == 0);
    printf("blocking everything blocks SIGKILL %s, SIGSTOP %s, SIGTERM %s\n", yes_no(sigismember(&now, SIGKILL)),
           yes_no(sigismember(&now, SIGSTOP)), yes_no(sigismember(&now, SIGTERM)));
    errno = 0;
    printf("sigprocmask(99): %s\n", errno_name(sigprocmask(99, &block, NULL) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigprocmask with a wrong set size: %s\n",
           errno_name(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, NULL, 4) == -1 ? errno : 0));
    APP_REQUIRE(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    printf("mask restored: %s\n", yes_no(!sigismember(&now, SIGUSR1) && !sigismember(&now, rt0)));
}

/* --- nesting --- */
static char nest_log[256];
static volatile int depth;
static volatile int nest_mode;  /* what the SIGUSR1 handler does */

static void log_event(const char* text) {
    size_t n = strlen(nest_log);
    if (n + strlen(text) + 2 < sizeof nest_log) {
        if (n)
            nest_log[n++] = ' ';
        strcpy(nest_log + n, text);
    }
}

static void nest_usr2(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si, (void)uc;
    depth++;
    log_event(depth == 2 ? "usr2@2" : depth == 1 ? "usr2@1" : "usr2@?");
    depth--;
}

static volatile int usr1_entries;

static void nest_usr1(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si, (void)uc;
    depth++;
    usr1_entries++;
    char text[16];
    snprintf(text, sizeof text, "usr1@%d{", depth);
    log_event(text);
    if (usr1_entries == 1) {
        if (nest_mode == 0)
            raise(SIGUSR2);   /* not blocked: runs nested, right away */
        raise(SIGUSR1);       /* itself: deferred unless SA_NODEFER */
        log_event("raised");
    }
    log_event("}");
    depth--;
}

static void test_nesting(void) {
    printf("-- nested handlers\n");
    install(SIGUSR2, nest_usr2, 0, NULL);
    install(SIGUSR1, nest_usr1, 0, NULL);
    nest_mode = 0, usr1_entries = 0, nest_log[0] = 0;
    raise(SIGUSR1);
    printf("default: %s\n", nest_log);

    install(SIGUSR1, nest_usr1, SA_NODEFER, NULL);
    nest_mode = 0, usr1_entries = 0, nest_log[0] = 0;
    raise(SIGUSR1);
    printf("SA_NODEFER: %s\n", nest_log);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    install(SIGUSR1, nest_usr1, 0, &mask);
    nest_mode = 0, usr1_entries = 0, nest_log[0] = 0;
    raise(SIGUSR1);
    printf("sa_mask holding SIGUSR2: %s\n", nest_log);
    printf("depth back to %d\n", depth);

    /* SA_RESETHAND: one delivery, then the default action again. */
    install(SIGUSR2, info_handler, SA_RESETHAND, NULL);
    info_count = 0;
    raise(SIGUSR2);
    struct sigaction now;
    APP_REQUIRE(sigaction(SIGUSR2, NULL, &now) == 0);
    printf("SA_RESETHAND: delivered %d, now SIG_DFL %s\n", (int)info_count, yes_no(now.sa_handler == SIG_DFL));
}

/* --- faults --- */
static sigjmp_buf fault_jump;
static volatile void* fault_addr;
static volatile int fault_code, fault_on_altstack, fault_signo;
static char* altstack_base;
static size_t altstack_size;

static void fault_handler(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    char here;
    fault_signo = sig;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    stack_t ss;
    fault_on_altstack = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) && &here >= altstack_base &&
                        &here < altstack_base + altstack_size;
    siglongjmp(fault_jump, 1);
}

static void test_altstack_fault(void) {
    printf("-- sigaltstack and SIGSEGV\n");
    long page = sysconf(_SC_PAGESIZE);
    altstack_size = 64 * 1024;
    altstack_base = mmap(NULL, altstack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(altstack_base != MAP_FAILED);
    stack_t ss = {.ss_sp = altstack_base, .ss_size = altstack_size, .ss_flags = 0}, old;
    APP_REQUIRE(sigaltstack(&ss, &old) == 0);
    printf("no alternate stack before: %s\n", yes_no(old.ss_flags & SS_DISABLE));
    APP_REQUIRE(sigaltstack(NULL, &old) == 0);
    printf("alternate stack set: %s, not on it now: %s\n", yes_no(old.ss_sp == altstack_base && old.ss_size == altstack_size),
           yes_no(!(old.ss_flags & SS_ONSTACK)));
    stack_t tiny = {.ss_sp = altstack_base, .ss_size = 512, .ss_flags = 0};
    errno = 0;
    printf("sigaltstack of 512 bytes: %s\n", errno_name(sigaltstack(&tiny, NULL) == -1 ? errno : 0));
    install(SIGSEGV, fault_handler, SA_ONSTACK, NULL);
    install(SIGBUS, fault_handler, SA_ONSTACK, NULL);

    char* none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(none != MAP_FAILED);
    for (int round = 1; round <= 2; round++) {  /* twice: siglongjmp restored the mask */
        fault_addr = NULL;
        if (sigsetjmp(fault_jump, 1) == 0) {
            ((volatile char*)none)[100] = 1;
            printf("write to a PROT_NONE page: no fault\n");
        } else {
            printf("write to PROT_NONE, round %d: %s, si_addr exact %s, SEGV_ACCERR %s, on the alternate stack %s\n",
                   round, sig_name(fault_signo), yes_no(fault_addr == none + 100), yes_no(fault_code == SEGV_ACCERR),
                   yes_no(fault_on_altstack));
        }
    }
    /* An address with nothing mapped: SEGV_MAPERR. */
    munmap(none, page);
    if (sigsetjmp(fault_jump, 1) == 0) {
        (void)((volatile char*)none)[8];
        printf("read of an unmapped page: no fault\n");
    } else {
        printf("read of an unmapped page: %s, si_addr exact %s, SEGV_MAPERR %s\n", sig_name(fault_signo),
               yes_no(fault_addr == none + 8), yes_no(fault_code == SEGV_MAPERR));
    }
    sigset_t now;
    APP_REQUIRE(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    printf("SIGSEGV unblocked after siglongjmp: %s\n", yes_no(!sigismember(&now, SIGSEGV)));
    APP_REQUIRE(sigaltstack(NULL, &old) == 0);
    printf("off the alternate stack again: %s\n", yes_no(!(old.ss_flags & SS_ONSTACK)));
}

/* A thread overflows its stack into a guard region; its handler runs on its own alternate
 * stack (sigaltstack is per thread) and jumps back. */
#define GUARD_SIZE (64 * 1024)
#define THREAD_STACK (256 * 1024)
static char* guard;

static int recurse(int n) {
    volatile char frame[128];
    frame[0] = (char)n;
    if (n < 0)
        return 0;  /* never: keeps the compiler from calling the recursion infinite */
    return recurse(n + 1) + frame[0];
}

static void* overflow_thread(void* arg) {
    (void)arg;
    char* alt = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(alt != MAP_FAILED);
    stack_t ss = {.ss_sp = alt, .ss_size = 64 * 1024, .ss_flags = 0};
    APP_REQUIRE(sigaltstack(&ss, NULL) == 0);
    altstack_base = alt;
    altstack_size = 64 * 1024;
    if (sigsetjmp(fault_jump, 1) == 0) {
        recurse(0);
        printf("stack overflow: no fault\n");
    } else {
        printf("stack overflow: %s, si_addr in the guard %s, on the alternate stack %s\n", sig_name(fault_signo),
               yes_no((char*)fault_addr >= guard && (char*)fault_addr < guard + GUARD_SIZE), yes_no(fault_on_altstack));
    }
    return NULL;
}

static void test_stack_overflow(void) {
    guard = mmap(NULL, GUARD_SIZE + THREAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(guard != MAP_FAILED);
    APP_REQUIRE(mprotect(guard, GUARD_SIZE, PROT_NONE) == 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    APP_REQUIRE(pthread_attr_setstack(&attr, guard + GUARD_SIZE, THREAD_STACK) == 0);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, &attr, overflow_thread, NULL) == 0);
    APP_REQUIRE(pthread_join(t, NULL) == 0);
}

static volatile int divisor;

static void test_sigfpe(void) {
    printf("-- SIGFPE\n");
    install(SIGFPE, fault_handler, 0, NULL);
    /* x86_64 traps on integer division by zero (SIGFPE, FPE_INTDIV); aarch64 does not trap
     * and gives 0. Either way the same line. */
    divisor = 0;
    if (sigsetjmp(fault_jump, 1) == 0) {
        volatile int q = 100 / divisor;
#ifdef __x86_64__
        printf("integer division by zero: FAILED, no trap (%d)\n", q);
#else
        printf("integer division by zero: handled%s\n", q == 0 ? "" : " (FAILED: not 0)");
#endif
    } else {
        printf("integer division by zero: handled%s\n",
               fault_signo == SIGFPE && fault_code == FPE_INTDIV ? "" : " (FAILED: not SIGFPE/FPE_INTDIV)");
    }
    fault_code = 0;
    if (sigsetjmp(fault_jump, 1) == 0) {
        raise(SIGFPE);
        printf("raise(SIGFPE): not delivered\n");
    } else {
        printf("raise(SIGFPE): %s, %s\n", sig_name(fault_signo), code_name(fault_code));
    }
}

/* --- waiting for signals --- */
static void test_waiting(void) {
    printf("-- sigsuspend, sigwaitinfo, sigtimedwait\n");
    install(SIGUSR1, info_handler, 0, NULL);
    sigset_t block, old, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    info_count = 0;
    raise(SIGUSR1);
    printf("pending, not delivered: %s\n", yes_no(info_count == 0));
    wait_mask = old;
    errno = 0;
    int r = sigsuspend(&wait_mask);
    printf("sigsuspend: %d %s, handler ran %d\n", r, errno_name(errno), (int)info_count);
    sigset_t now;
    APP_REQUIRE(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    printf("mask back after sigsuspend: %s\n", yes_no(sigismember(&now, SIGUSR1)));

    sigset_t which;
    sigemptyset(&which);
    sigaddset(&which, SIGUSR2);
    APP_REQUIRE(syscall(SYS_tgkill, getpid(), my_tid(), SIGUSR2) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&which, &si);
    /* glibc's sigwaitinfo reports SI_TKILL as SI_USER; musl passes the kernel's code on. */
    printf("sigwaitinfo: %s, si_signo %s, SI_TKILL or SI_USER %s, si_pid is me %s\n", sig_name(r),
           sig_name(si.si_signo), yes_no(si.si_code == SI_TKILL || si.si_code == SI_USER), yes_no(si.si_pid == getpid()));
    APP_REQUIRE(sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = 555}) == 0);
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 0};
    memset(&si, 0, sizeof si);
    r = sigtimedwait(&which, &si, &ts);
    printf("sigtimedwait: %s, %s, si_value %d, si_pid is me %s\n", sig_name(r), code_name(si.si_code),
           si.si_value.sival_int, yes_no(si.si_pid == getpid()));
    ts.tv_sec = 0;
    ts.tv_nsec = 50 * 1000 * 1000;
    errno = 0;
    r = sigtimedwait(&which, &si, &ts);
    printf("sigtimedwait with nothing pending, 50 ms: %d %s\n", r, errno_name(errno));
    ts.tv_nsec = 0;
    errno = 0;
    r = sigtimedwait(&which, &si, &ts);
    printf("sigtimedwait with a zero timeout: %d %s\n", r, errno_name(errno));
    ts.tv_nsec = 2000000000L;
    errno = 0;
    r = sigtimedwait(&which, &si, &ts);
    printf("sigtimedwait with tv_nsec out of range: %d %s\n", r, errno_name(errno));
    /* sigwait takes a signal that is pending for the process, leaving others pending. */
    raise(SIGUSR2);
    raise(SIGUSR1);
    int got = 0;
    r = sigwait(&which, &got);
    APP_REQUIRE(sigpending(&now) == 0);
    printf("sigwait: %d %s, SIGUSR1 still pending %s, SIGUSR2 not %s\n", r, sig_name(got),
           yes_no(sigismember(&now, SIGUSR1)), yes_no(!sigismember(&now, SIGUSR2)));
    info_count = 0;
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("SIGUSR1 delivered at unblock: %d\n", (int)info_count);
}

/* --- ignored signals --- */
static void test_ignored(void) {
    printf("-- ignored signals\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    APP_REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("SIGUSR1 ignored: survived\n");
    /* A blocked signal stays pending even when ignored (the handler may change before it is
     * unblocked); setting SIG_IGN discards it. */
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    install(SIGUSR2, info_handler, 0, NULL);
    raise(SIGUSR2);
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("blocked SIGUSR2 pending: %s\n", yes_no(sigismember(&pending, SIGUSR2)));
    APP_REQUIRE(sigaction(SIGUSR2, &sa, NULL) == 0);
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("after SIG_IGN, still pending: %s\n", yes_no(sigismember(&pending, SIGUSR2)));
    install(SIGUSR2, info_handler, 0, NULL);
    info_count = 0;
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("delivered at unblock: %d\n", (int)info_count);

    /* SIGCHLD, SIGURG and SIGWINCH are ignored by default (SIG_DFL): nothing happens. */
    int dfl[] = {SIGCHLD, SIGURG, SIGWINCH};
    sa.sa_handler = SIG_DFL;
    for (unsigned i = 0; i < 3; i++) {
        APP_REQUIRE(sigaction(dfl[i], &sa, NULL) == 0);
        raise(dfl[i]);
        kill(getpid(), dfl[i]);
        printf("%s by default: survived\n", sig_name(dfl[i]));
    }
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    raise(SIGWINCH);
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("blocked SIGWINCH with SIG_DFL pending: %s\n", yes_no(sigismember(&pending, SIGWINCH)));
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("gone at unblock: %s\n", yes_no(!sigismember(&pending, SIGWINCH)));
}

int main(void) {
    app_test_init();
    test_siginfo();
    test_masks();
    test_nesting();
    test_altstack_fault();
    test_stack_overflow();
    test_sigfpe();
    test_waiting();
    test_ignored();
    printf("done\n");
    return 0;
}
