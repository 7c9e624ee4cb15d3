/* abort(): SIGABRT, status 134 (128 + 6). */
#include "app_test.h"

int main(void) {
    app_test_init();
    printf("calling abort()\n");
    abort();
}
