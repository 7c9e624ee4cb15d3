/* Job control: SIGSTOP and SIGTSTP stop a child, SIGCONT continues it, SIGKILL ends it while
 * stopped; waitpid's WUNTRACED and WCONTINUED and the parent's SIGCHLD (CLD_STOPPED,
 * CLD_CONTINUED, CLD_EXITED) see each change. The child runs side by side with its parent,
 * blocked in a read until the parent lets it end: nothing depends on how long either takes
 * (a child that ended on its own after a sleep could be gone before the parent stopped it,
 * and its CLD_EXITED could merge with a CLD_CONTINUED still pending). */
#include "app_test.h"
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static volatile int chld_codes[8], nchld;
static void on_chld(int s, siginfo_t* si, void* u) { (void)s; (void)u; if (nchld < 8) chld_codes[nchld++] = si->si_code; }
/* Waits until the SIGCHLD handler has run n times (SIGCHLD blocked between check and wait):
 * a standard signal still pending when the next one comes would be merged with it. */
static void wait_chld(int n) {
    sigset_t block, old;
    sigemptyset(&block); sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    sigset_t wait_mask = old; sigdelset(&wait_mask, SIGCHLD);
    while (nchld < n) sigsuspend(&wait_mask);
    sigprocmask(SIG_SETMASK, &old, 0);
}
int main(void) {
    app_test_init();
    struct sigaction sa = {0}; sa.sa_sigaction = on_chld; sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);
    int fds[2], go[2]; pipe(fds); pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        write(fds[1], "a", 1);
        char g;
        while (read(go[0], &g, 1) < 0) {}  /* stopped and continued in here */
        _exit(4);
    }
    char c; read(fds[0], &c, 1);
    kill(pid, SIGSTOP);
    int st; pid_t w = waitpid(pid, &st, WUNTRACED);
    printf("stopped: %d sig %d\n", w == pid && WIFSTOPPED(st), WSTOPSIG(st));
    wait_chld(1);
    kill(pid, SIGCONT);
    w = waitpid(pid, &st, WCONTINUED);
    printf("continued: %d\n", w == pid && WIFCONTINUED(st));
    wait_chld(2);
    write(go[1], "g", 1);
    w = waitpid(pid, &st, 0);
    printf("exited: %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    printf("sigchld codes:");
    for (int i = 0; i < nchld; i++) printf(" %d", chld_codes[i]);
    printf("\n");
    pid = fork();
    if (pid == 0) { raise(SIGTSTP); _exit(6); }
    w = waitpid(pid, &st, WUNTRACED);
    printf("tstp: %d sig %d\n", WIFSTOPPED(st), WSTOPSIG(st));
    kill(pid, SIGKILL);
    w = waitpid(pid, &st, 0);
    printf("killed while stopped: %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
    return 0;
}
