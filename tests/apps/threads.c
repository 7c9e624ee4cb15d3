/* Four pthreads with a mutex and condition variables: a shared counter, then strict
 * round-robin turns handed over through a condvar, so the order is deterministic. */
#include "app_test.h"
#include <pthread.h>
#include <string.h>

#define THREADS 4
#define INCREMENTS 20000
#define ROUNDS 5

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static char order[THREADS * ROUNDS + 1];
static int order_len;

static void* worker(void* arg) {
    long id = (long)arg;
    for (int i = 0; i < INCREMENTS; ++i) {
        pthread_mutex_lock(&lock);
        ++counter;
        pthread_mutex_unlock(&lock);
    }
    for (int round = 0; round < ROUNDS; ++round) {
        pthread_mutex_lock(&lock);
        while (turn % THREADS != id) pthread_cond_wait(&turn_changed, &lock);
        order[order_len++] = (char)('A' + id);
        ++turn;
        pthread_cond_broadcast(&turn_changed);
        pthread_mutex_unlock(&lock);
    }
    return (void*)(id * 10);
}

int main(void) {
    app_test_init();
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; ++i) APP_REQUIRE(pthread_create(&t[i], NULL, worker, (void*)i) == 0);
    long joined = 0;
    for (int i = 0; i < THREADS; ++i) {
        void* r;
        APP_REQUIRE(pthread_join(t[i], &r) == 0);
        joined += (long)r;
    }
    printf("counter = %ld (expected %d)\n", counter, THREADS * INCREMENTS);
    printf("turn order = %s\n", order);
    printf("sum of thread results = %ld\n", joined);
    printf("pthread_equal(self, self): %s\n", yes_no(pthread_equal(pthread_self(), pthread_self())));
    return 0;
}
