/* tests/stress/stress_queue.c - the MPMC ring under 2 producers and 2
 * consumers, without Criterion so that ThreadSanitizer can run it (Criterion's
 * sandbox does not start under TSan: Snaipe/Criterion#274). Every item must
 * arrive exactly once; exit status 1 otherwise. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sluice/queue.h>

#define PRODUCERS 2
#define CONSUMERS 2
#define PER_PRODUCER 100000u

static sl_queue *q;
static atomic_uint seen[PRODUCERS * PER_PRODUCER];
static atomic_uint consumed;

static void *produce(void *arg)
{
    uintptr_t base = (uintptr_t)arg * PER_PRODUCER;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++)
        while (!sl_queue_try_push_mpmc(q, (void *)(base + i + 1)))
            ; /* a test driver may spin; pipeline tasks never do */
    return NULL;
}

static void *consume(void *arg)
{
    (void)arg;
    while (atomic_load(&consumed) < PRODUCERS * PER_PRODUCER) {
        void *item;
        if (!sl_queue_try_pop_mpmc(q, &item))
            continue;
        atomic_fetch_add(&seen[(uintptr_t)item - 1], 1);
        atomic_fetch_add(&consumed, 1);
    }
    return NULL;
}

int main(void)
{
    sl_error err;
    if (sl_queue_create(&q, 64, &err) != SL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    pthread_t t[PRODUCERS + CONSUMERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, produce, (void *)i);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&t[PRODUCERS + i], NULL, consume, NULL);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
    sl_queue_destroy(&q);
    for (size_t i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        if (atomic_load(&seen[i]) != 1) {
            fprintf(stderr, "item %zu arrived %u times\n", i, atomic_load(&seen[i]));
            return 1;
        }
    printf("stress_queue: %u items, each exactly once\n", PRODUCERS * PER_PRODUCER);
    return 0;
}
