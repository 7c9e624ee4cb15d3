/* Thread-local storage: initialized (.tdata), zeroed (.tbss) and over-aligned __thread
 * variables, each thread seeing its own copy. */
#include "app_test.h"
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define THREADS 4

static __thread int counter = 100;
static __thread char name[32];
static __thread long zeroed[16];
static __thread _Alignas(64) unsigned char aligned64[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static __thread int* self_pointer;

static int check_fresh(void) {
    int ok = counter == 100 && name[0] == 0 && aligned64[7] == 8;
    for (int i = 0; i < 16; ++i) ok &= zeroed[i] == 0;
    ok &= ((uintptr_t)aligned64 % 64) == 0;
    ok &= self_pointer == NULL;
    return ok;
}

static void* worker(void* arg) {
    long id = (long)arg;
    long ok = check_fresh();
    self_pointer = &counter;
    snprintf(name, sizeof name, "thread-%ld", id);
    for (int i = 0; i < 1000; ++i) counter += (int)id;
    zeroed[id] = id;
    aligned64[0] = (unsigned char)(10 + id);
    /* Other threads ran meanwhile; this thread's copies are untouched by them. */
    for (int i = 0; i < 100; ++i) sched_yield();
    ok &= counter == 100 + 1000 * (int)id;
    ok &= strcmp(name, "thread-") > 0 && name[7] == (char)('0' + id);
    ok &= zeroed[id] == id && aligned64[0] == 10 + id;
    ok &= self_pointer == &counter;
    return (void*)ok;
}

int main(void) {
    app_test_init();
    printf("main thread sees initial values: %s\n", yes_no(check_fresh()));
    counter = -1;
    strcpy(name, "main");
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; ++i) APP_REQUIRE(pthread_create(&t[i], NULL, worker, (void*)i) == 0);
    for (int i = 0; i < THREADS; ++i) {
        void* ok;
        APP_REQUIRE(pthread_join(t[i], &ok) == 0);
        printf("thread %d: own copies behaved: %s\n", i, yes_no(ok != NULL));
    }
    printf("main thread's copies untouched: %s\n", yes_no(counter == -1 && strcmp(name, "main") == 0));
    return 0;
}
