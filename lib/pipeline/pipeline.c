/* lib/pipeline/pipeline.c - building a pipeline stage by stage, its figures,
 * and tearing it down.
 *
 * sl_pipeline_add resolves each stage's mode, concurrency and queue capacity
 * and creates its instances at once, so every configuration error surfaces
 * before the run. The run itself is in executor.c. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics.h"
#include "pipeline/pipeline_impl.h"
#include "schema/schema_impl.h"

#define PL_MAX_CONCURRENCY 4096
#define PL_MAX_QUEUE (1 << 20)
#define PL_MAX_RETRIES 1000

sl_status sl_pipeline_create(sl_pipeline **out, const sl_pipeline_opts *opts, sl_error *err)
{
    *out = NULL;
    SL_CHECK(opts, SL_EINVAL, "pipeline options missing");
    SL_CHECK(opts->threads >= 0 && opts->threads <= PL_MAX_CONCURRENCY, SL_EINVAL,
             "thread count %d is outside 1 .. %d", opts->threads, PL_MAX_CONCURRENCY);
    sl_pipeline *p = calloc(1, sizeof *p);
    SL_CHECK(p, SL_ENOMEM, "out of memory");
    p->threads = opts->threads > 0 ? opts->threads : omp_get_max_threads();
    p->nranks = 1;
    pthread_mutex_init(&p->rows_lock, NULL);
    pthread_mutex_init(&p->fail_lock, NULL);
    pthread_mutex_init(&p->fold_lock, NULL);
    p->rebatch = SIZE_MAX;
    p->ckpt_stage = SIZE_MAX;
    p->force = opts->force;
    p->resume = opts->resume;
    p->retry_dead = opts->retry_deadletters;
    p->no_state = opts->no_state;
    p->checkpoint_s = opts->checkpoint_s == 0 ? 60.0 : opts->checkpoint_s;
    p->validate_only = opts->validate_only;
    p->job_name = strdup(opts->job_name ? opts->job_name : "pipeline");
    p->job_text = strdup(opts->job_text ? opts->job_text : "");
    sl_status s = (p->job_name && p->job_text) ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK && opts->output && !opts->validate_only)
        /* A resume may replace the output: its state says the user asked
         * for this output to be written. */
        s = sl__output_prepare(p, opts->output, opts->force || opts->resume, err);
    else if (s == SL_OK && opts->output)
        p->output = strdup(opts->output);
    if (s != SL_OK) {
        sl_pipeline_destroy(&p);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    *out = p;
    return SL_OK;
}

static sl_status check_place(const sl_pipeline *p, const sl_stage_desc *d, const char *name,
                             sl_error *err)
{
    for (size_t i = 0; i < p->nstages; i++)
        SL_CHECK(strcmp(p->stages[i].name, name) != 0, SL_EINVAL,
                 "stage name '%s' is used twice", name);
    if (p->nstages == 0)
        SL_CHECK(d->kind == SL_KIND_SOURCE, SL_EINVAL,
                 "stage '%s' (%s) is not a source: a pipeline starts with a source", name,
                 d->name);
    else {
        const pl_stage *last = &p->stages[p->nstages - 1];
        SL_CHECK(d->kind != SL_KIND_SOURCE, SL_EINVAL,
                 "stage '%s' (%s) is a source but is not first: a source starts the pipeline",
                 name, d->name);
        SL_CHECK(last->desc->kind != SL_KIND_SINK, SL_EINVAL,
                 "stage '%s' comes after the sink '%s': a sink must be the last stage", name,
                 last->name);
    }
    return SL_OK;
}

/* The job loader checks the values with their file:line:col; this is for
 * callers of the C API. */
static sl_status resolve_policy(pl_stage *st, const sl_stage_policy *pol, sl_error *err)
{
    st->pol = pol ? *pol : SL_STAGE_POLICY_DEFAULT;
    const sl_stage_policy *q = &st->pol;
    SL_CHECK(q->retries <= PL_MAX_RETRIES, SL_EINVAL, "stage '%s': retries %u is above %d",
             st->name, q->retries, PL_MAX_RETRIES);
    SL_CHECK(q->backoff_s >= 0 && q->backoff_s <= 86400 && q->backoff_cap_s >= 0 &&
                 q->backoff_cap_s <= 86400 && q->backoff_factor >= 1 && q->backoff_factor <= 100,
             SL_EINVAL,
             "stage '%s': backoff initial %g s, factor %g, cap %g s: want 0 .. 86400 s and a "
             "factor of 1 .. 100",
             st->name, q->backoff_s, q->backoff_factor, q->backoff_cap_s);
    SL_CHECK((int)q->on_error >= SL_ON_ERROR_ABORT && q->on_error <= SL_ON_ERROR_DEADLETTER,
             SL_EINVAL, "stage '%s': on_error %d is not abort, skip or deadletter", st->name,
             (int)q->on_error);
    SL_CHECK(q->timeout_s >= 0 && q->timeout_s <= 1e7, SL_EINVAL,
             "stage '%s': timeout %g s is outside 0 .. 1e7", st->name, q->timeout_s);
    SL_CHECK(q->rate >= 0 && q->rate <= 1e9, SL_EINVAL,
             "stage '%s': rate %g batches/s is outside 0 .. 1e9", st->name, q->rate);
    SL_CHECK(q->priority >= 0 && q->priority <= 1000, SL_EINVAL,
             "stage '%s': priority %d is outside 0 .. 1000", st->name, q->priority);
    SL_CHECK(q->warn_slow_s >= 0 && q->warn_slow_s <= 1e7, SL_EINVAL,
             "stage '%s': warn_slow %g s is outside 0 .. 1e7", st->name, q->warn_slow_s);
    st->timeout_ns = (uint64_t)(q->timeout_s * 1e9);
    st->warn_slow_ns = (uint64_t)(q->warn_slow_s * 1e9);
    return SL_OK;
}

static sl_status resolve(sl_pipeline *p, pl_stage *st, const sl_stage_opts *so, sl_error *err)
{
    int mode = so && so->mode ? so->mode : (int)st->desc->mode;
    SL_CHECK(mode >= SL_MODE_PARALLEL && mode <= SL_MODE_ORDERED, SL_EINVAL,
             "stage '%s': mode %d is not parallel, serial or ordered", st->name, mode);
    st->mode = (sl_stage_mode)mode;
    bool single = (st->desc->flags & SL_STAGE_SINGLE_INSTANCE) || st->mode != SL_MODE_PARALLEL;
    int conc = so ? so->concurrency : 0;
    SL_CHECK(conc >= 0 && conc <= PL_MAX_CONCURRENCY, SL_EINVAL,
             "stage '%s': concurrency %d is outside 1 .. %d", st->name, conc, PL_MAX_CONCURRENCY);
    if (single && conc > 1)
        return SL_FAIL(SL_EINVAL, "stage '%s': concurrency %d needs mode parallel%s", st->name,
                       conc,
                       (st->desc->flags & SL_STAGE_SINGLE_INSTANCE)
                           ? " and a stage that allows several instances"
                           : "");
    st->conc = conc ? conc : (single ? 1 : p->threads);
    int q = so ? so->queue : 0;
    SL_CHECK(q >= 0 && q <= PL_MAX_QUEUE, SL_EINVAL, "stage '%s': queue %d is outside 1 .. %d",
             st->name, q, PL_MAX_QUEUE);
    if (st->ctx.stage == 0)
        st->qcap = 0; /* the source has no input */
    else
        st->qcap = q ? q : (2 * p->threads > 2 ? 2 * p->threads : 2);
    return resolve_policy(st, so && so->policy ? so->policy : NULL, err);
}

/* A rebatch numbers the batches it emits by their first row, not by the
 * source's order, so no ordered stage may follow it (their windows count
 * the source's batches); and one per pipeline keeps the end-of-stream count
 * simple. */
static sl_status check_rebatch(sl_pipeline *p, pl_stage *st, sl_error *err)
{
    size_t i = (size_t)st->ctx.stage;
    if (st->desc->flags & SL_STAGE_REBATCH) {
        SL_CHECK(st->desc->kind == SL_KIND_TRANSFORM &&
                     !(st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY),
                 SL_EINVAL, "stage '%s': a rebatch stage is a transform that calls no library",
                 st->name);
        /* It runs no plugin code, so it cannot fail a batch: a policy for
         * failures would be silently ignored, so it is refused. */
        const sl_stage_policy d = SL_STAGE_POLICY_DEFAULT;
        SL_CHECK(st->pol.retries == d.retries && st->pol.on_error == d.on_error &&
                     st->pol.timeout_s == d.timeout_s,
                 SL_EINVAL,
                 "stage '%s': retries, on_error and timeout do not apply to a rebatch stage",
                 st->name);
        SL_CHECK(p->rebatch == SIZE_MAX, SL_EINVAL,
                 "stage '%s': the pipeline has a rebatch stage already ('%s'); use one",
                 st->name, p->stages[p->rebatch].name);
        SL_CHECK(st->mode == SL_MODE_ORDERED, SL_EINVAL,
                 "stage '%s': a rebatch stage is ordered (it joins rows in order), not %s",
                 st->name, st->mode == SL_MODE_SERIAL ? "serial" : "parallel");
        st->rebatch_rows = sl_params_uint(st->params, "rows");
        SL_CHECK(st->rebatch_rows > 0, SL_EINVAL, "stage '%s': rows must be at least 1",
                 st->name);
        p->rebatch = i;
        p->batch_bound += 2; /* the rows gathered and an input held back */
        return SL_OK;
    }
    SL_CHECK(p->rebatch == SIZE_MAX || st->mode != SL_MODE_ORDERED, SL_EINVAL,
             "stage '%s' is ordered but comes after the rebatch stage '%s': batches after a "
             "rebatch have no source order (make it serial, or move it before '%s')",
             st->name, p->stages[p->rebatch].name, p->stages[p->rebatch].name);
    return SL_OK;
}

static sl_status make_instances(sl_pipeline *p, pl_stage *st, sl_error *err)
{
    st->inst = calloc((size_t)st->conc, sizeof *st->inst);
    SL_CHECK(st->inst, SL_ENOMEM, "out of memory");
    SL_TRY(sl_queue_create(&st->free_inst, (size_t)st->conc, err));
    for (int i = 0; i < st->conc; i++) {
        sl_status s = st->desc->create(&st->inst[i], st->params, &st->ctx, err);
        if (s != SL_OK) {
            sl_error_prefix(err, "stage '%s'", st->name);
            return sl_error_push(err, s, __FILE__, __LINE__, __func__);
        }
        st->ninst_created++;
        sl_queue_try_push_mpmc(st->free_inst, (void *)(uintptr_t)i);
    }
    if (st->qcap == 0)
        return SL_OK;
    if (st->mode == SL_MODE_ORDERED) {
        st->ring = calloc((size_t)st->qcap, sizeof *st->ring);
        SL_CHECK(st->ring, SL_ENOMEM, "out of memory");
        return SL_OK;
    }
    return sl_queue_create(&st->inq, (size_t)st->qcap, err);
}

/* The columns after the stage, from those before it, when both are known:
 * a job whose columns do not fit fails here, before any batch. A rebatch
 * (run by the executor) keeps the columns as they are. */
static sl_status stage_columns(sl_pipeline *p, pl_stage *st, sl_error *err)
{
    size_t i = (size_t)st->ctx.stage;
    const sl_schema *in = i > 0 ? p->stages[i - 1].schema : NULL;
    bool rebatch = st->desc->flags & SL_STAGE_REBATCH;
    if ((i > 0 && !in) || (!rebatch && !st->desc->columns) ||
        (st->desc->kind != SL_KIND_SOURCE && !in))
        return SL_OK;
    st->schema = calloc(1, sizeof *st->schema);
    SL_CHECK(st->schema, SL_ENOMEM, "out of memory");
    if (in)
        *st->schema = *in;
    if (rebatch)
        return SL_OK;
    sl_status s = st->desc->columns(st->inst[0], in, st->schema, &st->ctx, err);
    if (s != SL_OK) {
        sl_error_prefix(err, "stage '%s'", st->name);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    return SL_OK;
}

static sl_status source_plan(sl_pipeline *p, pl_stage *st, sl_error *err)
{
    sl_source_plan plan = {0, SL_ROWS_UNKNOWN};
    sl_status s = st->desc->plan(st->inst[0], &plan, err);
    if (s != SL_OK) {
        sl_error_prefix(err, "stage '%s'", st->name);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    p->total_batches = plan.batches;
    p->total_rows = plan.rows;
    return SL_OK;
}

sl_status sl_pipeline_add(sl_pipeline *p, const sl_stage_desc *d, const char *name,
                          sl_params *params, const sl_stage_opts *so, sl_error *err)
{
    if (!name)
        name = d->name;
    sl_status s = check_place(p, d, name, err);
    if (s == SL_OK && p->nstages == p->cap_stages) {
        size_t cap = p->cap_stages ? 2 * p->cap_stages : 8;
        pl_stage *ns = realloc(p->stages, cap * sizeof *ns);
        if (!ns)
            s = SL_FAIL(SL_ENOMEM, "out of memory");
        else {
            p->stages = ns;
            p->cap_stages = cap;
        }
    }
    if (s != SL_OK) {
        sl_params_destroy(&params);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    pl_stage *st = &p->stages[p->nstages];
    memset(st, 0, sizeof *st);
    st->desc = d;
    st->params = params;
    st->name = strdup(name);
    st->ctx.p = p;
    st->ctx.stage = (int)p->nstages;
    p->nstages++; /* from here on sl_pipeline_destroy cleans the stage up */
    SL_CHECK(st->name, SL_ENOMEM, "out of memory");
    SL_TRY(resolve(p, st, so, err));
    SL_TRY(check_rebatch(p, st, err));
    SL_TRY(make_instances(p, st, err));
    SL_TRY(stage_columns(p, st, err));
    p->batch_bound += (size_t)st->conc + (size_t)st->qcap;
    if (st->pol.retries > 0 && st->ctx.stage > 0)
        p->batch_bound += (size_t)st->conc; /* each job's copy of its input */
    if (d->kind == SL_KIND_SOURCE)
        SL_TRY(source_plan(p, st, err));
    return SL_OK;
}

void sl_pipeline_request_stop(sl_pipeline *p)
{
    /* Lock-free atomic store: async-signal-safe. */
    atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
}

size_t sl_pipeline_nstages(const sl_pipeline *p) { return p->nstages; }
int sl_pipeline_threads(const sl_pipeline *p) { return p->threads; }
double sl_pipeline_wall(const sl_pipeline *p) { return p->wall; }
size_t sl_pipeline_peak_batches(const sl_pipeline *p) { return p->peak_batches; }
size_t sl_pipeline_batch_bound(const sl_pipeline *p) { return p->batch_bound; }
const sl_ctx *sl_pipeline_ctx(const sl_pipeline *p) { return &p->stages[0].ctx; }

uint64_t sl_pipeline_batches(const sl_pipeline *p)
{
    return p->nstages ? sl__stage_completed(p, 0) : 0;
}

uint64_t sl_pipeline_dropped(const sl_pipeline *p) { return atomic_load(&p->dropped); }

uint64_t sl_pipeline_rows(const sl_pipeline *p)
{
    return p->nstages ? sl__stage_rows(p, 0) : 0;
}

void sl_pipeline_stage_stats(const sl_pipeline *p, size_t i, sl_stage_stats *out)
{
    const pl_stage *st = &p->stages[i];
    out->name = st->name;
    out->batches = sl__stage_completed(p, i);
    out->rows = sl__stage_rows(p, i);
    out->busy_s = 1e-9 * (double)sl__stage_busy_ns(p, i);
    out->concurrency = st->conc;
    out->queue = st->qcap;
    out->mode = st->mode;
    out->retries = atomic_load(&st->retried);
    out->timeouts = atomic_load(&st->timeouts);
    out->dropped = atomic_load(&st->dropped);
    out->slow = atomic_load(&st->slow);
}

static void stage_free(pl_stage *st)
{
    if (st->desc && st->desc->destroy)
        for (int i = 0; i < st->ninst_created; i++)
            st->desc->destroy(st->inst[i]);
    st->ninst_created = 0;
    free(st->inst);
    free(st->schema);
    for (size_t k = 0; k < st->ninputs; k++) {
        free(st->inputs[k].key);
        free(st->inputs[k].value);
    }
    free(st->inputs);
    sl_queue_destroy(&st->free_inst);
    sl_queue_destroy(&st->inq);
    free(st->ring);
    sl_params_destroy(&st->params);
    free(st->name);
}

void sl_pipeline_destroy(sl_pipeline **pp)
{
    if (!pp || !*pp)
        return;
    sl_pipeline *p = *pp;
    for (size_t i = 0; i < p->nstages; i++)
        stage_free(&p->stages[i]);
    free(p->stages);
    if (p->output && !p->ran && !p->validate_only)
        sl__output_discard(p);
    sl_batch_pool_destroy(&p->pool);
    sl__pipeline_meta_free(p);
    free(p->output);
    free(p->output_tmp);
    free(p->sink_path);
    free(p->rows_done);
    free(atomic_load(&p->tc));
    free(p->jobslots);
    sl_queue_destroy(&p->pending);
    free(p->seqs_done);
    free(p->seqs_dropped);
    sl__ckpt_close(p);
    pthread_mutex_destroy(&p->rows_lock);
    sl__pipeline_dead_free(p);
    free(p->parked);
    pthread_mutex_destroy(&p->fail_lock);
    pthread_mutex_destroy(&p->fold_lock);
    sl__metrics_free(p);
    free(p->job_name);
    free(p->job_text);
    free(p);
    *pp = NULL;
}
