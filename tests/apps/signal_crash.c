/* Bad inputs around signals, each case in a forked child whose end the parent reports: a crash
 * inside a handler (SIGSEGV while handling SIGUSR1, with SIGSEGV blocked by the handler's
 * sa_mask, and SIGSEGV inside the SIGSEGV handler) ends the process by SIGSEGV; a handler at a
 * bad address; an alternate stack that is not writable; rt_sigreturn with garbage where the
 * signal frame should be (Linux kills with SIGSEGV: it must not hang or run on). Then bad
 * arguments to the signal calls, and a signal storm: a thread sends 100000 SIGUSR1 to the main
 * thread while it computes; the computation must come out right (every register, FP/SIMD
 * included, saved and restored around each handler). */
#define _GNU_SOURCE
#include "app_test.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* how_ended(int status) {
    static char text[64];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by %s", WTERMSIG(status) == SIGSEGV ? "SIGSEGV"
                                                    : WTERMSIG(status) == SIGBUS ? "SIGBUS"
                                                    : WTERMSIG(status) == SIGILL ? "SIGILL"
                                                                                 : "another signal");
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
}

static void run_case(const char* what, void (*body)(void)) {
    pid_t pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        body();
        _exit(0);  /* survived: a failure */
    }
    int status;
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("%s: %s\n", what, how_ended(status));
}

static void install(int sig, void (*handler)(int), int flags, int block_sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (block_sig)
        sigaddset(&sa.sa_mask, block_sig);
    APP_REQUIRE(sigaction(sig, &sa, NULL) == 0);
}

static volatile int* volatile null_pointer;

static void segv_in_handler(int sig) {
    (void)sig;
    *null_pointer = 1;
}

static void crash_in_usr1_handler(void) {
    install(SIGUSR1, segv_in_handler, 0, 0);
    raise(SIGUSR1);
}

static volatile sig_atomic_t segv_handled;
static void segv_handler(int sig) {
    (void)sig;
    segv_handled = 1;
    _exit(3);  /* must not be reached: SIGSEGV is blocked where the fault happens */
}

/* SIGSEGV has a handler but is blocked (the SIGUSR1 handler's sa_mask): a fault cannot be
 * held pending, so the process dies of it. */
static void crash_with_segv_blocked(void) {
    install(SIGSEGV, segv_handler, 0, 0);
    install(SIGUSR1, segv_in_handler, 0, SIGSEGV);
    raise(SIGUSR1);
}

/* A fault inside the SIGSEGV handler itself (SIGSEGV blocked while it runs). */
static void crash_in_segv_handler(void) {
    install(SIGSEGV, segv_in_handler, 0, 0);
    *null_pointer = 2;
}

/* The same with SA_NODEFER would recurse until the stack runs out: not tested. */

/* A handler at an address where nothing is mapped. */
static void handler_at_bad_address(void) {
    install(SIGUSR1, (void (*)(int))(uintptr_t)0x1000, 0, 0);
    raise(SIGUSR1);
}

/* The alternate stack is not writable: the frame cannot be written, SIGSEGV kills. */
static void unwritable_altstack(void) {
    size_t size = 64 * 1024;
    void* stack = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(stack != MAP_FAILED);
    stack_t ss = {.ss_sp = stack, .ss_size = size, .ss_flags = 0};
    APP_REQUIRE(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR1, segv_handler, SA_ONSTACK, 0);
    raise(SIGUSR1);
}

/* rt_sigreturn with no signal frame: the stack holds 0xa5 bytes (on x86_64 the frame's
 * fpstate pointer is not canonical; on aarch64 the frame's magic numbers are wrong). */
static unsigned char garbage[16384] __attribute__((aligned(64)));

static void bad_sigreturn(void) {
    memset(garbage, 0xa5, sizeof garbage);
    void* sp = garbage + sizeof garbage / 2;
#if defined(__x86_64__)
    __asm__ volatile("mov %0, %%rsp\n\tmov %1, %%eax\n\tsyscall\n\tud2" : : "r"(sp), "i"(SYS_rt_sigreturn) : "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov sp, %0\n\tmov x8, %1\n\tsvc #0\n\tbrk #0" : : "r"(sp), "i"(SYS_rt_sigreturn) : "x8", "memory");
#else
#error "architecture"
#endif
}

/* The same from a handler that calls rt_sigreturn after scribbling over its own frame. */
static void scribble_handler(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si;
    memset(uc, 0xa5, 512);  /* the start of the ucontext: flags, link, stack, registers */
    memset(garbage, 0xa5, sizeof garbage);
}

static void corrupted_frame(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = scribble_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    APP_REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
}

static void test_crashes(void) {
    printf("-- crashes\n");
    run_case("SIGSEGV in a SIGUSR1 handler", crash_in_usr1_handler);
    run_case("SIGSEGV in a handler that blocks SIGSEGV", crash_with_segv_blocked);
    run_case("SIGSEGV in the SIGSEGV handler", crash_in_segv_handler);
    run_case("handler at an unmapped address", handler_at_bad_address);
    run_case("read-only alternate stack", unwritable_altstack);
    run_case("rt_sigreturn with garbage on the stack", bad_sigreturn);
    run_case("handler that overwrites its ucontext", corrupted_frame);
}

static void test_bad_arguments(void) {
    printf("-- bad arguments\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    errno = 0;
    printf("sigaction(65): %s\n", errno_name(sigaction(65, &sa, NULL) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigaction with a bad pointer: %s\n",
           errno_name(syscall(SYS_rt_sigaction, SIGUSR1, (void*)8, NULL, 8) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigaction with a wrong set size: %s\n",
           errno_name(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigprocmask with a bad pointer: %s\n",
           errno_name(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void*)8, NULL, 8) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigpending with a bad pointer: %s\n", errno_name(syscall(SYS_rt_sigpending, (void*)8, 8) == -1 ? errno : 0));
    errno = 0;
    printf("sigaltstack with a bad pointer: %s\n", errno_name(syscall(SYS_sigaltstack, (void*)8, NULL) == -1 ? errno : 0));
    stack_t ss = {.ss_sp = NULL, .ss_size = 65536, .ss_flags = 0x7};
    errno = 0;
    printf("sigaltstack with bad flags: %s\n", errno_name(sigaltstack(&ss, NULL) == -1 ? errno : 0));
    errno = 0;
    printf("kill(self, -1 signal): %s\n", errno_name(kill(getpid(), -1) == -1 ? errno : 0));
    errno = 0;
    printf("tgkill(0, 0, SIGUSR1): %s\n", errno_name(syscall(SYS_tgkill, 0, 0, SIGUSR1) == -1 ? errno : 0));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    errno = 0;
    printf("rt_sigtimedwait with a bad timeout pointer: %s\n",
           errno_name(syscall(SYS_rt_sigtimedwait, &set, NULL, (void*)8, 8) == -1 ? errno : 0));
    errno = 0;
    printf("rt_sigsuspend with a wrong set size: %s\n", errno_name(syscall(SYS_rt_sigsuspend, &set, 4) == -1 ? errno : 0));
}

/* --- signal storm --- */
#define STORM 100000
static volatile long storm_handled;
static volatile int storm_done;
static pthread_t main_thread;

static void storm_handler(int sig) {
    (void)sig;
    /* Use the FP/SIMD registers too, so a missing save/restore shows in main's result. */
    volatile double x = 1.5;
    for (int i = 0; i < 4; i++)
        x = x * 3.25 + 0.125;
    storm_handled++;
}

static void* storm_sender(void* arg) {
    (void)arg;
    for (int i = 0; i < STORM; i++)
        pthread_kill(main_thread, SIGUSR1);
    __atomic_store_n(&storm_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_storm(void) {
    printf("-- signal storm\n");
    install(SIGUSR1, storm_handler, SA_RESTART, 0);
    main_thread = pthread_self();
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, storm_sender, NULL) == 0);
    /* Integer and floating-point work whose result is known, until the sender has finished. */
    long rounds = 0, wrong = 0;
    do {
        unsigned long h = 1469598103934665603ul;
        double f = 0.0;
        for (int i = 1; i <= 1000; i++) {
            h = (h ^ (unsigned long)i) * 1099511628211ul;
            f += 1.0 / (double)i;
        }
        static unsigned long want_h;
        static double want_f;
        if (rounds == 0) {
            want_h = h;
            want_f = f;
        } else if (h != want_h || f != want_f) {
            wrong++;
        }
        rounds++;
    } while (!__atomic_load_n(&storm_done, __ATOMIC_SEQ_CST) || rounds < 2);
    APP_REQUIRE(pthread_join(t, NULL) == 0);
    long handled = storm_handled;
    printf("survived the storm: yes; handled between 1 and %d: %s; computations right: %s\n", STORM,
           yes_no(handled >= 1 && handled <= STORM), yes_no(wrong == 0));
}

int main(void) {
    app_test_init();
    test_crashes();
    test_bad_arguments();
    test_storm();
    printf("done\n");
    return 0;
}
