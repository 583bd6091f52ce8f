/* faulty_attempts.c - the shared seq -> attempts tables of the `faulty` stage
 * (see faulty_attempts.h for why they are process-wide).
 *
 * A table is an open-addressing hash map (linear probing, at most half full,
 * count 0 marking a free slot) under its own mutex; only seqs that hit a
 * failure are counted, so it stays small. The registry is a short linked
 * list under one mutex: a job has few `faulty` stages and instances look
 * their table up once, in create(). */
#include "faulty_attempts.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct slot {
    uint64_t seq;
    uint64_t count; /* 0: free */
} slot;

struct sl_faulty_attempts {
    pthread_mutex_t mu; /* guards slots, cap, used */
    slot *slots;
    size_t cap, used; /* cap is a power of two */
    const void *key;  /* registry fields, guarded by registry_mu */
    int refs;
    struct sl_faulty_attempts *next;
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_faulty_attempts *registry;

static size_t slot_of(uint64_t seq, size_t cap)
{
    /* Fibonacci hashing, high bits folded in: seqs far apart spread too. */
    uint64_t h = seq * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static slot *find(slot *slots, size_t cap, uint64_t seq)
{
    size_t i = slot_of(seq, cap);
    while (slots[i].count != 0 && slots[i].seq != seq)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static sl_status grow(sl_faulty_attempts *t, sl_error *err)
{
    size_t cap = t->cap ? 2 * t->cap : 64;
    slot *s = calloc(cap, sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "faulty: out of memory counting attempts");
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].count != 0)
            *find(s, cap, t->slots[i].seq) = t->slots[i];
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return SL_OK;
}

sl_status sl_faulty_attempts_next(sl_faulty_attempts *t, uint64_t seq, uint64_t *attempt,
                                  sl_error *err)
{
    sl_status s = SL_OK;
    pthread_mutex_lock(&t->mu);
    if (2 * (t->used + 1) > t->cap)
        s = grow(t, err);
    if (s == SL_OK) {
        slot *e = find(t->slots, t->cap, seq);
        if (e->count == 0) {
            e->seq = seq;
            t->used++;
        }
        *attempt = ++e->count;
    }
    pthread_mutex_unlock(&t->mu);
    return s;
}

sl_status sl_faulty_attempts_acquire(sl_faulty_attempts **out, const void *key, sl_error *err)
{
    pthread_mutex_lock(&registry_mu);
    sl_faulty_attempts *t = registry;
    while (t && t->key != key)
        t = t->next;
    if (!t && (t = calloc(1, sizeof *t)) != NULL) {
        pthread_mutex_init(&t->mu, NULL);
        t->key = key;
        t->next = registry;
        registry = t;
    }
    if (t)
        t->refs++;
    pthread_mutex_unlock(&registry_mu);
    SL_CHECK(t, SL_ENOMEM, "faulty: out of memory for the attempts table");
    *out = t;
    return SL_OK;
}

void sl_faulty_attempts_release(sl_faulty_attempts **tp)
{
    if (!tp || !*tp)
        return;
    sl_faulty_attempts *t = *tp;
    *tp = NULL;
    pthread_mutex_lock(&registry_mu);
    bool last = --t->refs == 0;
    if (last) {
        sl_faulty_attempts **pp = &registry;
        while (*pp != t)
            pp = &(*pp)->next;
        *pp = t->next;
    }
    pthread_mutex_unlock(&registry_mu);
    if (!last)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}
