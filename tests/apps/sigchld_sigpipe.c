/* SIGCHLD and SIGPIPE. SIGCHLD: the handler runs when a forked child exits or is killed, with
 * si_code CLD_EXITED/CLD_KILLED, si_status and si_pid; SIG_IGN and SA_NOCLDWAIT make children
 * reap themselves (wait ends with ECHILD). SIGPIPE: writing to a pipe or stream socket whose
 * reader is gone kills by default (in a forked child: the parent sees WTERMSIG 13), gives EPIPE
 * with SIG_IGN, runs the handler then gives EPIPE with one, and MSG_NOSIGNAL gives EPIPE only.
 * No child runs alongside its parent: each one ends before the parent needs anything from it
 * (the parent only waits), so Mica's fork, which runs the child first, gives the same output. */
#define _GNU_SOURCE
#include "app_test.h"
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_count;
static volatile int chld_code, chld_status, chld_pid, chld_signo;

static void chld_handler(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    chld_signo = sig;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
    chld_count++;
}

static const char* cld_name(int code) {
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    }
    return "other";
}

static void set_action(int sig, void (*action)(int, siginfo_t*, void*), void (*handler)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (action) {
        sa.sa_sigaction = action;
        sa.sa_flags = SA_SIGINFO | flags;
    } else {
        sa.sa_handler = handler;
        sa.sa_flags = flags;
    }
    sigemptyset(&sa.sa_mask);
    APP_REQUIRE(sigaction(sig, &sa, NULL) == 0);
}

/* Waits (SIGCHLD blocked around the check) until the handler has run n times. */
static void wait_chld(int n) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    while (chld_count < n)
        sigsuspend(&wait_mask);
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void test_sigchld(void) {
    printf("-- SIGCHLD\n");
    set_action(SIGCHLD, chld_handler, NULL, 0);
    pid_t pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(7);
    wait_chld(1);
    printf("child exited: handler ran %s, SIGCHLD %s, %s, si_status %d, si_pid is the child %s\n",
           yes_no(chld_count == 1), yes_no(chld_signo == SIGCHLD), cld_name(chld_code), chld_status,
           yes_no(chld_pid == pid));
    int status;
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("waitpid after the handler: exited %s, status %d\n", yes_no(WIFEXITED(status)), WEXITSTATUS(status));

    /* Killed by a signal that does not dump core: CLD_KILLED. */
    chld_count = 0;
    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
        _exit(99);
    }
    wait_chld(1);
    printf("child killed: %s, si_status %s, si_pid is the child %s\n", cld_name(chld_code),
           chld_status == SIGTERM ? "SIGTERM" : "other", yes_no(chld_pid == pid));
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("waitpid: signaled %s, WTERMSIG %d\n", yes_no(WIFSIGNALED(status)), WTERMSIG(status));

    /* waitid with the same information, after the handler. */
    chld_count = 0;
    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(3);
    wait_chld(1);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, pid, &si, WEXITED) == 0) {
        printf("waitid: SIGCHLD %s, %s, si_status %d, si_pid is the child %s\n", yes_no(si.si_signo == SIGCHLD),
               cld_name(si.si_code), si.si_status, yes_no(si.si_pid == pid));
    } else {
        printf("waitid: %s\n", errno_name(errno));
        waitpid(pid, &status, 0);  /* the rest goes on without a zombie */
    }

    /* SIGCHLD blocked: one pending signal for two children (standard signals merge), and
     * both are there to reap. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    chld_count = 0;
    pid_t a = fork();
    if (a == 0)
        _exit(1);
    pid_t b = fork();
    if (b == 0)
        _exit(2);
    APP_REQUIRE(waitpid(a, &status, 0) == a);
    int sa_status = WEXITSTATUS(status);
    APP_REQUIRE(waitpid(b, &status, 0) == b);
    printf("two children with SIGCHLD blocked: statuses %d %d, handler ran before unblock %s\n", sa_status,
           WEXITSTATUS(status), yes_no(chld_count != 0));
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("after unblock: one SIGCHLD delivered %s\n", yes_no(chld_count == 1));

    /* SA_NOCLDWAIT: the handler still runs, but the child leaves no zombie to wait for. */
    set_action(SIGCHLD, chld_handler, NULL, SA_NOCLDWAIT);
    chld_count = 0;
    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(5);
    wait_chld(1);
    errno = 0;
    printf("SA_NOCLDWAIT: handler ran %s, %s; waitpid: %s\n", yes_no(chld_count == 1), cld_name(chld_code),
           errno_name(waitpid(pid, &status, 0) == -1 ? errno : 0));

    /* SIG_IGN: no signal, and wait finds no child once it has ended. */
    set_action(SIGCHLD, NULL, SIG_IGN, 0);
    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(6);
    errno = 0;
    printf("SIGCHLD ignored: waitpid: %s\n", errno_name(waitpid(pid, &status, 0) == -1 ? errno : 0));
    set_action(SIGCHLD, NULL, SIG_DFL, 0);
    pid = fork();
    if (pid == 0)
        _exit(8);
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("SIG_DFL again: waitpid gets the status %d\n", WEXITSTATUS(status));
}

static volatile sig_atomic_t pipe_signals;
static void pipe_handler(int sig) {
    if (sig == SIGPIPE)
        pipe_signals++;
}

/* Runs write_to_broken in a forked child with SIGPIPE at its default and reports how the child
 * ended. */
static void killed_by_default(const char* what, int use_socket) {
    pid_t pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        int fds[2];
        if (use_socket)
            APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        else
            APP_REQUIRE(pipe(fds) == 0);
        close(fds[0]);
        (void)!write(fds[1], "x", 1);
        _exit(50);  /* not reached */
    }
    int status;
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("%s, SIGPIPE at default: killed %s, WTERMSIG %d\n", what, yes_no(WIFSIGNALED(status)),
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

static void test_sigpipe(void) {
    printf("-- SIGPIPE\n");
    killed_by_default("pipe", 0);
    killed_by_default("socketpair", 1);

    int fds[2];
    APP_REQUIRE(pipe(fds) == 0);
    close(fds[0]);
    set_action(SIGPIPE, NULL, SIG_IGN, 0);
    errno = 0;
    ssize_t n = write(fds[1], "x", 1);
    printf("pipe, SIGPIPE ignored: %zd %s\n", n, errno_name(errno));
    set_action(SIGPIPE, NULL, pipe_handler, 0);
    pipe_signals = 0;
    errno = 0;
    n = write(fds[1], "x", 1);
    printf("pipe, with a handler: %zd %s, handler ran %d\n", n, errno_name(errno), (int)pipe_signals);
    /* Blocked: the write still fails with EPIPE and the signal waits. */
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    pipe_signals = 0;
    errno = 0;
    n = write(fds[1], "x", 1);
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("pipe, SIGPIPE blocked: %zd %s, pending %s\n", n, errno_name(errno), yes_no(sigismember(&pending, SIGPIPE)));
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("delivered at unblock: %d\n", (int)pipe_signals);
    close(fds[1]);

    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    pipe_signals = 0;
    errno = 0;
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("socketpair, MSG_NOSIGNAL: %zd %s, handler ran %d\n", n, errno_name(errno), (int)pipe_signals);
    errno = 0;
    n = send(sv[0], "x", 1, 0);
    printf("socketpair, send: %zd %s, handler ran %d\n", n, errno_name(errno), (int)pipe_signals);
    pipe_signals = 0;
    errno = 0;
    n = write(sv[0], "x", 1);
    printf("socketpair, write: %zd %s, handler ran %d\n", n, errno_name(errno), (int)pipe_signals);
    close(sv[0]);
    /* Shut down for writing on our own side: EPIPE too. */
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    APP_REQUIRE(shutdown(sv[0], SHUT_WR) == 0);
    pipe_signals = 0;
    errno = 0;
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("socketpair after shutdown(SHUT_WR), MSG_NOSIGNAL: %zd %s, handler ran %d\n", n, errno_name(errno),
           (int)pipe_signals);
    close(sv[0]);
    close(sv[1]);

    /* A child killed by SIGPIPE, seen through SIGCHLD. */
    set_action(SIGCHLD, chld_handler, NULL, 0);
    chld_count = 0;
    pid_t pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        int p[2];
        APP_REQUIRE(pipe(p) == 0);
        close(p[0]);
        (void)!write(p[1], "x", 1);
        _exit(50);
    }
    wait_chld(1);
    printf("SIGCHLD for a child killed by SIGPIPE: %s, si_status %d\n", cld_name(chld_code), chld_status);
    int status;
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    set_action(SIGCHLD, NULL, SIG_DFL, 0);
}

int main(void) {
    app_test_init();
    test_sigchld();
    test_sigpipe();
    printf("done\n");
    return 0;
}
