/* A system call number no kernel knows returns -1 with errno ENOSYS. */
#include "app_test.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    app_test_init();
    errno = 0;
    long r = syscall(1234, 1, 2, 3);
    int e = errno;
    printf("syscall(1234) = %ld\n", r);
    printf("errno is ENOSYS: %s\n", yes_no(e == ENOSYS));
    /* The program carries on normally afterwards. */
    printf("getpid() > 0: %s\n", yes_no(getpid() > 0));
    return 0;
}
