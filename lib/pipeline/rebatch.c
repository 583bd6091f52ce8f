/* lib/pipeline/rebatch.c - joining and splitting batches (rebatch.h).
 *
 * Only the stage's one job at a time touches st->acc and st->held (the
 * rebatch stage has a single instance, taken when a job is fired and given
 * back when it ends), so none of this needs a lock. An emitted batch is
 * numbered by its first row: unique and the same for any thread or rank
 * count, unlike a count of what this rank emitted. The inputs' result
 * contributions (sl_batch_result_add_*) go with the first batch emitted
 * after them. */
#include "pipeline/rebatch.h"

#include "pipeline/pipeline_impl.h"

static uint64_t end_row(const sl_batch *b) { return sl_batch_row0(b) + sl_batch_nrows(b); }

sl_status sl__rebatch_step(sl_pipeline *p, pl_stage *st, sl_batch *in, sl_batch **out,
                           sl_error *err)
{
    *out = NULL;
    sl_status s = SL_OK;
    if (!st->acc && (s = sl_batch_pool_get(p->pool, &st->acc, err)) != SL_OK) {
        if (in)
            sl_batch_pool_put(p->pool, in);
        return s;
    }
    sl_batch *acc = st->acc;
    size_t take = 0;
    if (in && sl_batch_nrows(acc) > 0 && end_row(acc) != sl_batch_row0(in)) {
        st->held = in; /* not contiguous: out with what is gathered first */
        take = sl_batch_nrows(acc);
    } else if (in) {
        bool empty = sl_batch_nrows(acc) == 0;
        if (empty)
            sl_batch_reset(acc); /* a new run of rows: its own columns */
        s = sl_batch_append_rows(acc, in, 0, sl_batch_nrows(in), err);
        /* Contributions wait in acc for the next batch out, unless there are
         * no rows to send them with: a batch's worth of rows always takes
         * them (below), so an acc without rows holds none. */
        if (s == SL_OK && empty && sl_batch_nrows(in) == 0)
            s = sl__run_fold_results(p, in, err);
        else if (s == SL_OK)
            s = sl_batch_results_move(acc, in, err);
        uint64_t seq = sl_batch_seq(in);
        sl_batch_pool_put(p->pool, in);
        if (s != SL_OK) {
            sl_error_prefix(err, "rebatch of batch %llu", (unsigned long long)seq);
            return s;
        }
        atomic_fetch_add_explicit(&p->absorbed, 1, memory_order_acq_rel);
        take = sl_batch_nrows(acc) >= st->rebatch_rows ? st->rebatch_rows : 0;
    } else {
        take = sl_batch_nrows(acc) < st->rebatch_rows ? sl_batch_nrows(acc) : st->rebatch_rows;
    }
    if (take == 0)
        return SL_OK;
    SL_TRY(sl_batch_pool_get(p->pool, out, err));
    s = sl_batch_append_rows(*out, acc, 0, take, err);
    if (s != SL_OK)
        return s; /* the executor returns *out to the pool */
    sl_batch_drop_front(acc, take);
    /* Contributions go with the first batch out that holds any of the rows. */
    SL_TRY(sl_batch_results_move(*out, acc, err));
    uint64_t n = atomic_fetch_add_explicit(&p->emitted, 1, memory_order_acq_rel);
    sl_batch_set_seq(*out, sl_batch_row0(*out), n);
    return SL_OK;
}

bool sl__rebatch_upstream_done(const sl_pipeline *p)
{
    /* Acquire on feed_end first: its release follows next_lidx's last store. */
    if (!atomic_load_explicit(&p->feed_end, memory_order_acquire))
        return false;
    const pl_stage *st = &p->stages[p->rebatch];
    uint64_t gone = atomic_load_explicit(&st->taken, memory_order_acquire);
    for (size_t k = 0; k < p->rebatch; k++)
        gone += atomic_load_explicit(&p->stages[k].dropped, memory_order_acquire);
    return gone == atomic_load_explicit(&p->next_lidx, memory_order_acquire);
}

bool sl__rebatch_empty(const sl_pipeline *p)
{
    const pl_stage *st = &p->stages[p->rebatch];
    return !st->held && (!st->acc || sl_batch_nrows(st->acc) == 0);
}

bool sl__rebatch_pending(const sl_pipeline *p)
{
    return !sl__rebatch_empty(p) && sl__rebatch_upstream_done(p);
}

void sl__rebatch_drain(sl_pipeline *p, pl_stage *st)
{
    if (st->acc)
        sl_batch_pool_put(p->pool, st->acc);
    if (st->held)
        sl_batch_pool_put(p->pool, st->held);
    st->acc = st->held = NULL;
}
