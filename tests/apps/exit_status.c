/* The application's exit status becomes the status tools/run returns. */
#include "app_test.h"

int main(void) {
    app_test_init();
    printf("exiting with status 42\n");
    exit(42);
}
