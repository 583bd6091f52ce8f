/* sluice/queue.h - bounded multi-producer multi-consumer ring of pointers.
 *
 * Each slot carries a sequence number (C11 atomics) that says whether it is
 * ready to be written or read in the current lap, so producers and consumers
 * claim positions with one CAS and never wait on each other. Only try_push and
 * try_pop exist: a full or empty queue is reported, never waited on. FIFO per
 * producer; lock-free, not wait-free (a preempted thread between claim and
 * publish delays the readers of that one slot). */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_queue sl_queue;

/* Creates a ring holding at least `capacity` items (rounded up to a power of
 * two; sl_queue_capacity tells). capacity >= 1. Owned by caller: *out. */
sl_status sl_queue_create(sl_queue **out, size_t capacity, sl_error *err);

/* false when full. item may be any pointer, NULL included. Thread-safe. */
bool sl_queue_try_push_mpmc(sl_queue *q, void *item);
/* false when empty. Thread-safe. */
bool sl_queue_try_pop_mpmc(sl_queue *q, void **item);

size_t sl_queue_capacity(const sl_queue *q);
/* Items in the queue at some recent instant; exact when no one else runs. */
size_t sl_queue_size_approx(const sl_queue *q);

/* Accepts NULL and *q == NULL; sets *q = NULL. Items still queued are not freed. */
void sl_queue_destroy(sl_queue **q);

#ifdef __cplusplus
}
#endif
#endif
