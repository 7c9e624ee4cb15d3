/* stdio, argc/argv/envp. */
#include "app_test.h"

int main(int argc, char** argv, char** envp) {
    app_test_init();
    printf("Hello from a static Linux program!\n");
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; ++i) printf("argv[%d] = \"%s\"\n", i, argv[i]);
    int n = 0;
    for (char** e = envp; *e; ++e) printf("envp[%d] = \"%s\"\n", n++, *e);
    printf("%d environment variables\n", n);
    fprintf(stderr, "this line went to stderr\n");
    return 0;
}
