/* fork, waitpid, pipes between parent and child, and execve (of this same program, through
 * /proc/self/exe), as a shell uses them. On Mica fork is emulated (the child runs first and
 * alone; the parent's memory comes back afterwards): the outputs must still match Linux's. */
#include "app_test.h"
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int global = 1;

int main(int argc, char** argv) {
    app_test_init();
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec'd child: argv[2] = %s, global = %d\n", argc > 2 ? argv[2] : "(none)", global);
        return 5;
    }
    printf("parent starts, global = %d\n", global);

    pid_t pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        global = 42;
        char* heap = malloc(100000);
        memset(heap, 7, 100000);
        printf("child: global = %d, parent is %s\n", global, getppid() > 0 ? "known" : "unknown");
        _exit(7);
    }
    int status = 0;
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("child exited: %s, status %d\n", yes_no(WIFEXITED(status)), WEXITSTATUS(status));
    printf("parent: global still %d\n", global);
    printf("waitpid again: %s\n", yes_no(waitpid(-1, &status, 0) == -1));

    int fds[2];
    APP_REQUIRE(pipe(fds) == 0);
    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const char msg[] = "through the pipe";
        APP_REQUIRE(write(fds[1], msg, sizeof msg) == sizeof msg);
        _exit(0);
    }
    close(fds[1]);
    char buffer[64] = "";
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    printf("parent read %zd bytes: %s\n", n, buffer);
    printf("then end of file: %s\n", yes_no(read(fds[0], buffer, sizeof buffer) == 0));
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);

    pid = fork();
    APP_REQUIRE(pid >= 0);
    if (pid == 0) {
        char* args[] = {argv[0], "exec-child", "hello", NULL};
        execv("/proc/self/exe", args);
        printf("execv failed\n");
        _exit(99);
    }
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("exec'd child exited with %d\n", WEXITSTATUS(status));

    pid = fork();
    if (pid == 0) {
        *(volatile int*)0 = 1;  /* killed by SIGSEGV */
        _exit(0);
    }
    APP_REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("crashing child: signaled %s, signal %d\n", yes_no(WIFSIGNALED(status)), WTERMSIG(status));
    printf("missing program: %s\n", yes_no(execl("/no/such/program", "x", (char*)NULL) == -1));
    return 0;
}
