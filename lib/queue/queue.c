/* lib/queue/queue.c - bounded MPMC ring of pointers (Vyukov's per-slot sequence scheme).
 *
 * Every slot carries a sequence number. For position pos (a counter that only
 * grows), the slot pos & mask is free to write when seq == 2*pos, holds a value
 * to read when seq == 2*pos + 1, and is still owned by another lap otherwise.
 * Vyukov's original uses pos and pos + 1; doubling keeps "full for pos" (2pos+1)
 * apart from "free for pos + cap" (2pos+2cap) even when the capacity is 1.
 * Producers claim a position by CAS on tail, consumers by CAS on head; the item
 * itself is published through the slot's sequence with release/acquire, so the
 * CAS on the shared counters needs no ordering of its own. Neither side ever
 * waits: a slot still owned by the other lap is reported as full or empty.
 *
 * Layout: the read-only fields, tail and head each own a 64-byte cache line
 * (explicit padding) so that producers and consumers do not invalidate each
 * other's lines. The slot array is 64-byte aligned and a slot is 16 bytes, so
 * no slot straddles two lines; slots are not padded to a line each, which would
 * quadruple the memory of the small queues the executor creates per stage. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/queue.h>

#define QUEUE_LINE 64

typedef struct queue_slot {
    _Atomic size_t seq;
    void *item;
} queue_slot;

struct sl_queue {
    /* Line 0: written once at creation, then only read by everyone. */
    alignas(QUEUE_LINE) queue_slot *slots;
    size_t mask;
    char pad0[QUEUE_LINE - sizeof(queue_slot *) - sizeof(size_t)];
    /* Line 1: producers' claim counter. */
    _Atomic size_t tail;
    char pad1[QUEUE_LINE - sizeof(_Atomic size_t)];
    /* Line 2: consumers' claim counter. */
    _Atomic size_t head;
    char pad2[QUEUE_LINE - sizeof(_Atomic size_t)];
};

_Static_assert(offsetof(struct sl_queue, tail) == QUEUE_LINE, "tail owns line 1");
_Static_assert(offsetof(struct sl_queue, head) == 2 * QUEUE_LINE, "head owns line 2");
_Static_assert(sizeof(struct sl_queue) == 3 * QUEUE_LINE, "queue is three lines");
_Static_assert(QUEUE_LINE % sizeof(queue_slot) == 0, "a slot never straddles a line");

/* Smallest power of two >= n, or 0 when it does not fit in size_t. */
static size_t round_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) {
        if (p > SIZE_MAX / 2)
            return 0;
        p <<= 1;
    }
    return p;
}

sl_status sl_queue_create(sl_queue **out, size_t capacity, sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "queue: output pointer is NULL");
    *out = NULL;
    SL_CHECK(capacity >= 1, SL_EINVAL, "queue capacity %zu is below minimum 1", capacity);
    size_t cap = round_pow2(capacity);
    SL_CHECK(cap != 0 && cap <= SIZE_MAX / sizeof(queue_slot), SL_ERANGE,
             "queue capacity %zu is too large", capacity);

    sl_queue *q = aligned_alloc(QUEUE_LINE, sizeof *q);
    SL_CHECK(q, SL_ENOMEM, "queue: cannot allocate %zu bytes", sizeof *q);
    memset(q, 0, sizeof *q);
    size_t bytes = cap * sizeof(queue_slot);
    /* aligned_alloc wants a multiple of the alignment. */
    size_t rounded = (bytes + QUEUE_LINE - 1) / QUEUE_LINE * QUEUE_LINE;
    q->slots = rounded >= bytes ? aligned_alloc(QUEUE_LINE, rounded) : NULL;
    if (!q->slots) {
        free(q);
        return SL_FAIL(SL_ENOMEM, "queue: cannot allocate %zu slots (%zu bytes)", cap, bytes);
    }
    q->mask = cap - 1;
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&q->slots[i].seq, 2 * i); /* slot i is free for position i of lap 0 */
        q->slots[i].item = NULL;
    }
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    *out = q;
    return SL_OK;
}

bool sl_queue_try_push_mpmc(sl_queue *q, void *item)
{
    /* Relaxed: pos is only a guess to start from; the slot's seq decides. */
    size_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    queue_slot *s;
    for (;;) {
        s = &q->slots[pos & q->mask];
        /* Acquire: pairs with the consumer's release of this slot, so its read
         * of the previous item happens before we overwrite it. */
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        ptrdiff_t dif = (ptrdiff_t)(seq - 2 * pos);
        if (dif == 0) {
            /* Relaxed on both paths: the CAS only has to make the claim unique;
             * publication of the item goes through s->seq below. On failure
             * pos is reloaded with the current tail and we retry. */
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return false; /* the slot still holds an item of the previous lap: full */
        } else {
            /* Another producer claimed pos already; relaxed, as above. */
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
    s->item = item;
    /* Release: the item write must be visible before a consumer sees seq == 2pos + 1. */
    atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
    return true;
}

bool sl_queue_try_pop_mpmc(sl_queue *q, void **item)
{
    /* Relaxed: a starting guess; the slot's seq decides. */
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    queue_slot *s;
    for (;;) {
        s = &q->slots[pos & q->mask];
        /* Acquire: pairs with the producer's release, so the item is visible. */
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        ptrdiff_t dif = (ptrdiff_t)(seq - (2 * pos + 1));
        if (dif == 0) {
            /* Relaxed: the claim only needs atomicity; the acquire above already
             * ordered the item read after the producer's write. */
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return false; /* nothing published at pos yet: empty */
        } else {
            /* Another consumer took pos; relaxed, as above. */
            pos = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
    *item = s->item;
    /* Release: our read of the item must happen before a producer of the next
     * lap (which acquires seq == 2(pos + cap)) overwrites it. */
    atomic_store_explicit(&s->seq, 2 * (pos + q->mask + 1), memory_order_release);
    return true;
}

size_t sl_queue_capacity(const sl_queue *q)
{
    return q->mask + 1;
}

size_t sl_queue_size_approx(const sl_queue *q)
{
    /* Relaxed: the answer is a snapshot by contract. Head is read first so that
     * a concurrent pop cannot make head overtake the tail we compare against,
     * except by a stale tail, which the clamp below handles. */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail <= head)
        return 0;
    size_t n = tail - head;
    return n > q->mask + 1 ? q->mask + 1 : n;
}

void sl_queue_destroy(sl_queue **q)
{
    if (!q || !*q)
        return;
    free((*q)->slots);
    free(*q);
    *q = NULL;
}
