/* lib/pipeline/phase.c - what the distribution layer reads and replaces
 * between the phases of a run (see phase.h). Called single-threaded, between
 * phases, never while batches run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_impl.h"

size_t sl__run_writer(const sl_pipeline *p)
{
    for (size_t i = 0; i < p->nstages; i++)
        if (p->stages[i].desc->flags & SL_STAGE_WRITES_FILE)
            return i;
    return p->nstages;
}

const char *sl__run_sink_path(const sl_pipeline *p)
{
    return p->sink_path ? p->sink_path : p->output_tmp;
}

const char *sl__run_output_tmp(const sl_pipeline *p) { return p->output_tmp; }
const char *sl__run_output(const sl_pipeline *p) { return p->output; }

const sl__row_range *sl__run_rows(const sl_pipeline *p, size_t *n)
{
    *n = p->nrows_done;
    return p->rows_done;
}

void sl__run_set_stage_figures(sl_pipeline *p, size_t i, uint64_t batches, uint64_t rows,
                               double busy_s)
{
    if (i >= p->nstages)
        return;
    pl_stage *st = &p->stages[i];
    atomic_store(&st->completed, batches);
    atomic_store(&st->rows, rows);
    atomic_store(&st->busy_ns, (uint_fast64_t)(busy_s * 1e9 + 0.5));
    /* These replace the run's own counts (no run is going on). */
    sl__stage_counts_clear(p, i);
}

void sl__run_set_stage_failures(sl_pipeline *p, size_t i, uint64_t retries, uint64_t timeouts,
                                uint64_t dropped, uint64_t slow)
{
    if (i >= p->nstages)
        return;
    pl_stage *st = &p->stages[i];
    atomic_store(&st->retried, retries);
    atomic_store(&st->timeouts, timeouts);
    atomic_store(&st->dropped, dropped);
    atomic_store(&st->slow, slow);
    uint64_t total = 0;
    for (size_t k = 0; k < p->nstages; k++)
        total += atomic_load(&p->stages[k].dropped);
    atomic_store(&p->dropped, total);
}

void sl__run_clear_dead(sl_pipeline *p) { sl__pipeline_dead_free(p); }

sl_status sl__run_add_dead(sl_pipeline *p, uint64_t seq, const char *stage, unsigned attempts,
                           const char *error, sl_error *err)
{
    return sl__pipeline_dead_add(p, seq, stage, attempts, error, err);
}

void sl__run_sort_dead(sl_pipeline *p) { sl__pipeline_dead_sort(p); }

/* The slot for key, claiming one the first time (the only lock: once per
 * name and run). */
static struct pl_fold *fold_slot(sl_pipeline *p, const char *key, sl_type t, sl_error *err)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t n = atomic_load_explicit(&p->nfold, memory_order_acquire);
        for (size_t i = 0; i < n; i++)
            if (strcmp(p->fold[i].key, key) == 0) {
                if (p->fold[i].type != t) {
                    sl_error_set(err, SL_EINVAL, __FILE__, __LINE__, __func__,
                                 "result '%s' was added as %s and now as %s", key,
                                 sl_type_name(p->fold[i].type), sl_type_name(t));
                    return NULL;
                }
                return &p->fold[i];
            }
        if (pass == 1)
            break;
        pthread_mutex_lock(&p->fold_lock);
        n = atomic_load_explicit(&p->nfold, memory_order_relaxed);
        bool there = false;
        for (size_t i = 0; i < n && !there; i++)
            there = strcmp(p->fold[i].key, key) == 0;
        if (!there && n < PL_MAX_FOLDS) {
            struct pl_fold *f = &p->fold[n];
            snprintf(f->key, sizeof f->key, "%s", key);
            f->type = t;
            atomic_store_explicit(&f->v, 0, memory_order_relaxed);
            atomic_store_explicit(&p->nfold, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&p->fold_lock);
    }
    sl_error_set(err, SL_ERANGE, __FILE__, __LINE__, __func__,
                 "result '%s': batches contribute to more than %d results", key, PL_MAX_FOLDS);
    return NULL;
}

sl_status sl__run_fold_results(sl_pipeline *p, const sl_batch *b, sl_error *err)
{
    for (size_t i = 0; i < sl_batch_result_count(b); i++) {
        const char *key;
        sl_type t;
        uint64_t u;
        double f;
        sl_batch_result_get(b, i, &key, &t, &u, &f);
        struct pl_fold *slot = fold_slot(p, key, t, err);
        if (!slot)
            return err->code;
        if (t != SL_TYPE_F64) {
            atomic_fetch_add_explicit(&slot->v, u, memory_order_relaxed);
            continue;
        }
        uint64_t old = atomic_load_explicit(&slot->v, memory_order_relaxed), nw;
        do {
            double sum;
            memcpy(&sum, &old, sizeof sum);
            sum += f;
            memcpy(&nw, &sum, sizeof nw);
        } while (!atomic_compare_exchange_weak_explicit(&slot->v, &old, nw, memory_order_relaxed,
                                                        memory_order_relaxed));
    }
    return SL_OK;
}

sl_status sl__run_fold_flush(sl_pipeline *p, sl_error *err)
{
    /* nfold stays: a checkpoint after the run reads the totals too. */
    size_t n = atomic_load(&p->nfold);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = atomic_load(&p->fold[i].v);
        double f = 0;
        memcpy(&f, &v, sizeof f);
        bool fl = p->fold[i].type == SL_TYPE_F64;
        SL_TRY(sl__run_result_add(p, p->fold[i].key, p->fold[i].type, fl ? 0 : v, fl ? f : 0,
                                  err));
    }
    return SL_OK;
}

size_t sl__run_nresults(const sl_pipeline *p) { return p->nresults; }

void sl__run_result(const sl_pipeline *p, size_t i, const char **key, sl_type *type, uint64_t *u,
                    double *f)
{
    const pl_result *r = &p->results[i];
    *key = r->key;
    *type = r->type;
    *u = r->u;
    *f = r->f;
}

void sl__run_clear_results(sl_pipeline *p)
{
    for (size_t i = 0; i < p->nresults; i++)
        free(p->results[i].key);
    p->nresults = 0;
}

sl_status sl__run_result_add(sl_pipeline *p, const char *key, sl_type type, uint64_t u, double f,
                             sl_error *err)
{
    SL_CHECK(p->nstages > 0, SL_EINVAL, "the pipeline has no stages");
    sl_ctx *c = &p->stages[0].ctx;
    if (type == SL_TYPE_F64)
        return sl_ctx_result_add_f64(c, key, f, err);
    return sl_ctx_result_add_u64(c, key, u, err);
}

bool sl__run_failed_or_stopping(const sl_pipeline *p)
{
    return atomic_load_explicit(&p->failed, memory_order_relaxed) ||
           atomic_load_explicit(&p->stop, memory_order_relaxed) ||
           atomic_load_explicit(&p->drain, memory_order_relaxed);
}

void sl__run_request_drain(sl_pipeline *p)
{
    /* Lock-free atomic store: async-signal-safe. */
    atomic_store_explicit(&p->drain, 1, memory_order_relaxed);
}

bool sl__run_resume_wanted(const sl_pipeline *p, bool *retry_dead, double *checkpoint_s,
                           bool *force)
{
    *retry_dead = p->retry_dead;
    *checkpoint_s = p->checkpoint_s;
    *force = p->force;
    return p->resume;
}

bool sl__run_no_state(const sl_pipeline *p) { return p->no_state; }

uint64_t sl__run_total_batches(const sl_pipeline *p) { return p->total_batches; }

void sl__run_set_tail_credits(sl_pipeline *p, atomic_long *credits) { p->tail_credits = credits; }

void sl__run_set_waiter(sl_pipeline *p, const sl__waiter *w)
{
    p->waiter = w ? *w : (sl__waiter){0};
}

void sl__run_set_plan(sl_pipeline *p, uint64_t batches, uint64_t rows)
{
    p->total_batches = batches;
    p->total_rows = rows;
}

sl_batch_pool *sl__run_pool(sl_pipeline *p) { return p->pool; }

void **sl__run_instance(sl_pipeline *p, size_t i, int k)
{
    return i < p->nstages && k >= 0 && k < p->stages[i].conc ? &p->stages[i].inst[k] : NULL;
}

sl_stage_mode sl__run_stage_mode(const sl_pipeline *p, size_t i) { return p->stages[i].mode; }
int sl__run_stage_queue(const sl_pipeline *p, size_t i) { return p->stages[i].qcap; }

void sl__run_set_tail_keeps(sl_pipeline *p, bool keeps) { p->tail_keeps = keeps; }
