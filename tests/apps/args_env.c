/* argv and getenv/setenv/unsetenv. */
#include "app_test.h"
#include <string.h>

static void show(const char* name) {
    const char* v = getenv(name);
    printf("getenv(\"%s\") = %s%s%s\n", name, v ? "\"" : "", v ? v : "(unset)", v ? "\"" : "");
}

int main(int argc, char** argv) {
    app_test_init();
    printf("argc = %d\n", argc);
    size_t total = 0;
    for (int i = 1; i < argc; ++i) {
        printf("arg %d: \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
        total += strlen(argv[i]);
    }
    printf("argument bytes: %zu\n", total);
    APP_REQUIRE(argv[argc] == NULL);
    show("HOME");
    show("MICA_GREETING");
    show("MICA_EMPTY");
    show("MICA_NOT_SET");
    APP_REQUIRE(setenv("MICA_NEW", "added", 1) == 0);
    show("MICA_NEW");
    APP_REQUIRE(unsetenv("MICA_GREETING") == 0);
    show("MICA_GREETING");
    return 0;
}
