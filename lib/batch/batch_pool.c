/* lib/batch/batch_pool.c - a lock-free cache of reset batches, shared by all threads.
 *
 * The cache is an sl_queue of free batches. Because the queue rounds its
 * capacity up to a power of two, a separate atomic count of cached (or being
 * cached) batches enforces max_cached exactly: put reserves a place in the count
 * before pushing, get releases it after popping, so the count is never below
 * the queue's contents and a reserved push finds room except in the brief
 * window where a consumer has claimed a slot but not yet released it. put then
 * frees the batch instead of waiting, which only costs a later allocation.
 *
 * alive and peak are statistics (sluice's end-of-run table reports the peak as
 * the memory high-water mark in batches); they order nothing, so they are
 * relaxed everywhere. */
#include <stdatomic.h>
#include <stdlib.h>

#include <sluice/queue.h>

#include "batch/batch_impl.h"

struct sl_batch_pool {
    sl_queue *cache;
    size_t max_cached;
    _Atomic size_t ncached;
    _Atomic size_t alive;
    _Atomic size_t peak;
};

sl_status sl_batch_pool_create(sl_batch_pool **out, size_t max_cached, sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "batch pool: output pointer is NULL");
    *out = NULL;
    sl_batch_pool *p = calloc(1, sizeof *p);
    SL_CHECK(p, SL_ENOMEM, "batch pool: cannot allocate %zu bytes", sizeof *p);
    /* A queue needs capacity >= 1; max_cached == 0 is then enforced by ncached. */
    sl_status s = sl_queue_create(&p->cache, max_cached ? max_cached : 1, err);
    if (s != SL_OK) {
        free(p);
        sl_error_prefix(err, "batch pool of %zu", max_cached);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    p->max_cached = max_cached;
    atomic_init(&p->ncached, 0);
    atomic_init(&p->alive, 0);
    atomic_init(&p->peak, 0);
    *out = p;
    return SL_OK;
}

static void note_alive(sl_batch_pool *p)
{
    /* Relaxed: statistics only (see the file comment). */
    size_t now = atomic_fetch_add_explicit(&p->alive, 1, memory_order_relaxed) + 1;
    size_t peak = atomic_load_explicit(&p->peak, memory_order_relaxed);
    /* CAS loop: another thread may raise peak between our load and store; on
     * failure peak is reloaded and we retry only while ours is still higher. */
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &p->peak, &peak, now, memory_order_relaxed, memory_order_relaxed))
        ;
}

sl_status sl_batch_pool_get(sl_batch_pool *p, sl_batch **out, sl_error *err)
{
    SL_CHECK(p && out, SL_EINVAL, "batch pool: pool or output pointer is NULL");
    void *item = NULL;
    if (sl_queue_try_pop_mpmc(p->cache, &item)) {
        /* Relaxed: the queue's acquire already made the batch's contents visible;
         * the count only bounds the cache size. */
        atomic_fetch_sub_explicit(&p->ncached, 1, memory_order_relaxed);
        *out = item;
    } else {
        SL_TRY(sl_batch_create(out, err));
    }
    note_alive(p);
    return SL_OK;
}

void sl_batch_pool_put(sl_batch_pool *p, sl_batch *b)
{
    if (!b)
        return;
    /* Relaxed: statistics only. */
    atomic_fetch_sub_explicit(&p->alive, 1, memory_order_relaxed);
    sl_batch_reset(b);
    /* Relaxed: the reservation only needs atomicity; the batch itself is
     * published by the queue's release. */
    size_t n = atomic_fetch_add_explicit(&p->ncached, 1, memory_order_relaxed);
    if (n < p->max_cached && sl_queue_try_push_mpmc(p->cache, b))
        return;
    atomic_fetch_sub_explicit(&p->ncached, 1, memory_order_relaxed); /* undo, as above */
    sl_batch_destroy(&b);
}

size_t sl_batch_pool_alive(const sl_batch_pool *p)
{
    return atomic_load_explicit(&p->alive, memory_order_relaxed); /* a statistic */
}

size_t sl_batch_pool_peak(const sl_batch_pool *p)
{
    return atomic_load_explicit(&p->peak, memory_order_relaxed); /* a statistic */
}

void sl_batch_pool_destroy(sl_batch_pool **p)
{
    if (!p || !*p)
        return;
    void *item = NULL;
    while (sl_queue_try_pop_mpmc((*p)->cache, &item)) {
        sl_batch *b = item;
        sl_batch_destroy(&b);
    }
    sl_queue_destroy(&(*p)->cache);
    free(*p);
    *p = NULL;
}
