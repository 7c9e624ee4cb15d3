/* The application `make run` boots: an ordinary static Linux program. */
#include <stdio.h>

int main(int argc, char** argv) {
    printf("Hello, world! This is %s, a static Linux program", argv[0]);
    if (argc > 1) {
        printf(", with arguments:");
        for (int i = 1; i < argc; ++i) printf(" %s", argv[i]);
    }
    printf(".\n");
    return 0;
}
