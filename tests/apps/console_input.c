/* The console as a terminal, driven by console_test.py, which types into the guest's serial
 * port: isatty, termios, canonical lines with editing and ^D, then raw mode (VMIN/VTIME)
 * byte by byte, poll, FIONREAD and O_NONBLOCK. Each step prints a line the driver waits
 * for before it types the next input ("> step"), and what it read, in hex where the bytes
 * are control characters. (The host has no such console, so there is no host reference:
 * the driver checks the lines.) */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "app_test.h"

static volatile sig_atomic_t interrupts;
static void on_interrupt(int sig) {
    static const char said[] = "[SIGINT handler]\n";
    interrupts += sig == SIGINT;
    write(1, said, sizeof said - 1);
}

static void show_read(const char* what, int fd, size_t size) {
    char buffer[256];
    ssize_t n = read(fd, buffer, size < sizeof buffer ? size : sizeof buffer);
    if (n < 0) {
        printf("%s: read: %s\n", what, errno_name(errno));
        return;
    }
    printf("%s: %zd bytes:", what, n);
    for (ssize_t i = 0; i < n; ++i) printf(" %02x", (unsigned char)buffer[i]);
    printf("\n");
}

int main(void) {
    app_test_init();
    int pipes[2];
    APP_REQUIRE(pipe(pipes) == 0);
    int in = isatty(0), out = isatty(1);
    errno = 0;
    int piped = isatty(pipes[0]);
    int error = errno;
    printf("isatty: stdin %s, stdout %s, pipe %s (%s)\n", yes_no(in), yes_no(out), yes_no(piped), errno_name(error));
    int tty = open("/dev/tty", O_RDWR);
    printf("/dev/tty is a terminal: %s\n", yes_no(tty >= 0 && isatty(tty)));

    struct termios saved, t;
    APP_REQUIRE(tcgetattr(0, &saved) == 0);
    printf("canonical %s, echo %s, isig %s, icrnl %s, VMIN %d, VERASE %#x\n", yes_no(saved.c_lflag & ICANON),
           yes_no(saved.c_lflag & ECHO), yes_no(saved.c_lflag & ISIG), yes_no(saved.c_iflag & ICRNL),
           saved.c_cc[VMIN], saved.c_cc[VERASE]);
    struct winsize w;
    APP_REQUIRE(ioctl(0, TIOCGWINSZ, &w) == 0);
    printf("window %dx%d\n", w.ws_col, w.ws_row);
    pid_t group = tcgetpgrp(0);
    printf("foreground group is ours: %s\n", yes_no(group == getpid()));

    /* Canonical: the driver types "abx<DEL>c\r", then "^D", then "partial^D". */
    printf("> canonical\n");
    show_read("line", 0, 100);
    show_read("eof", 0, 100);
    show_read("partial", 0, 100);

    /* ^C (ISIG): SIGINT to the foreground group, which is us. Without SA_RESTART the read
     * fails with EINTR; with it the read goes on and returns the next line. The handler
     * says when it ran (the signal is sent asynchronously: the driver waits for that). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    printf("> sigint\n");
    show_read("interrupted", 0, 100);
    printf("handler ran: %s\n", yes_no(interrupts > 0));
    interrupts = 0;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    printf("> sigint restart\n");
    show_read("restarted", 0, 100);

    /* Raw: nothing typed yet, so VMIN 0 reads return at once with nothing. */
    t = saved;
    t.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
    t.c_iflag &= ~(ICRNL | IXON);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    APP_REQUIRE(tcsetattr(0, TCSAFLUSH, &t) == 0);
    show_read("VMIN 0 VTIME 0", 0, 10);
    t.c_cc[VTIME] = 2;
    APP_REQUIRE(tcsetattr(0, TCSANOW, &t) == 0);
    show_read("VMIN 0 VTIME 2", 0, 10);
    int flags = fcntl(0, F_GETFL);
    fcntl(0, F_SETFL, flags | O_NONBLOCK);
    show_read("O_NONBLOCK", 0, 10);
    fcntl(0, F_SETFL, flags);
    struct pollfd p = {0, POLLIN, 0};
    printf("poll with nothing typed: %d\n", poll(&p, 1, 0));

    /* VMIN 1: the driver types "x^C\r" and one read per byte returns it. */
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    APP_REQUIRE(tcsetattr(0, TCSANOW, &t) == 0);
    printf("> raw\n");
    for (int i = 0; i < 3; ++i) show_read("byte", 0, 1);

    /* poll: the driver types "pq" once told. */
    printf("> poll\n");
    p.revents = 0;
    int ready = poll(&p, 1, -1);
    printf("poll: %d, POLLIN %s\n", ready, yes_no(p.revents & POLLIN));
    /* The two bytes may arrive apart: wait for both before FIONREAD. */
    t.c_cc[VMIN] = 2;
    APP_REQUIRE(tcsetattr(0, TCSANOW, &t) == 0);
    p.revents = 0;
    poll(&p, 1, -1);
    int available = -1;
    ioctl(0, FIONREAD, &available);
    printf("FIONREAD: %d\n", available);
    show_read("VMIN 2", 0, 10);

    APP_REQUIRE(tcsetattr(0, TCSANOW, &saved) == 0);
    tcgetattr(0, &t);
    printf("restored: canonical %s, echo %s\n", yes_no(t.c_lflag & ICANON), yes_no(t.c_lflag & ECHO));
    printf("done\n");
    return 0;
}
