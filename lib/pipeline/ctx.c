/* lib/pipeline/ctx.c - what a stage may ask of the run: names, sizes, the stop
 * flag, run metadata for sinks and the named results stages publish.
 *
 * Metadata is written before the run starts and once more (the wall time)
 * before finish() callbacks; results are added only from finish(), which runs
 * single-threaded. Neither needs a lock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_impl.h"
#include "util/ticks.h"

double sl__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *sl_ctx_stage_name(const sl_ctx *c) { return c->p->stages[c->stage].name; }
const char *sl_ctx_job_name(const sl_ctx *c) { return c->p->job_name; }
const char *sl_ctx_output_path(const sl_ctx *c)
{
    return c->p->sink_path ? c->p->sink_path : c->p->output_tmp;
}

int sl_ctx_threads(const sl_ctx *c) { return c->p->threads; }
int sl_ctx_rank(const sl_ctx *c) { return c->p->rank; }
int sl_ctx_nranks(const sl_ctx *c) { return c->p->nranks > 0 ? c->p->nranks : 1; }
double sl_ctx_elapsed(const sl_ctx *c) { return c->p->t0 > 0 ? sl__now() - c->p->t0 : 0.0; }
uint64_t sl_ctx_total_batches(const sl_ctx *c) { return c->p->total_batches; }
uint64_t sl_ctx_total_rows(const sl_ctx *c) { return c->p->total_rows; }

_Thread_local uint64_t sl__tl_deadline_ns;

bool sl_ctx_should_stop(const sl_ctx *c)
{
    /* Relaxed: a late answer only delays the stop by one piece of work. */
    if (atomic_load_explicit(&c->p->failed, memory_order_relaxed) ||
        atomic_load_explicit(&c->p->stop, memory_order_relaxed))
        return true;
    uint64_t d = sl__tl_deadline_ns;
    if (!d)
        return false;
    return sl__mono_ns() >= d;
}

size_t sl_ctx_meta_count(const sl_ctx *c) { return c->p->nmeta; }

size_t sl_ctx_deadletter_count(const sl_ctx *c) { return c->p->ndead; }

void sl_ctx_deadletter_get(const sl_ctx *c, size_t i, uint64_t *seq, const char **stage,
                           unsigned *attempts, const char **error)
{
    const pl_dead *d = &c->p->dead[i];
    if (seq)
        *seq = d->seq;
    if (stage)
        *stage = d->stage;
    if (attempts)
        *attempts = d->attempts;
    if (error)
        *error = d->error;
}

static int dead_by_seq(const void *a, const void *b)
{
    const pl_dead *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void sl__pipeline_dead_sort(struct sl_pipeline *p)
{
    if (p->ndead > 1)
        qsort(p->dead, p->ndead, sizeof *p->dead, dead_by_seq);
}

sl_status sl__pipeline_dead_add(struct sl_pipeline *p, uint64_t seq, const char *stage,
                                unsigned attempts, const char *error, sl_error *err)
{
    if (p->ndead == p->cap_dead) {
        size_t cap = p->cap_dead ? 2 * p->cap_dead : 16;
        pl_dead *d = realloc(p->dead, cap * sizeof *d);
        SL_CHECK(d, SL_ENOMEM, "out of memory recording dead letter %llu",
                 (unsigned long long)seq);
        p->dead = d;
        p->cap_dead = cap;
    }
    char *s = strdup(stage), *e = strdup(error);
    if (!s || !e) {
        free(s);
        free(e);
        return SL_FAIL(SL_ENOMEM, "out of memory recording dead letter %llu",
                       (unsigned long long)seq);
    }
    p->dead[p->ndead++] = (pl_dead){seq, s, attempts, e, false};
    return SL_OK;
}

void sl__pipeline_dead_free(struct sl_pipeline *p)
{
    for (size_t i = 0; i < p->ndead; i++) {
        free(p->dead[i].stage);
        free(p->dead[i].error);
    }
    free(p->dead);
    p->dead = NULL;
    p->ndead = p->cap_dead = 0;
}

void sl_ctx_meta_get(const sl_ctx *c, size_t i, const char **key, const char **value)
{
    *key = i < c->p->nmeta ? c->p->meta[i].key : NULL;
    *value = i < c->p->nmeta ? c->p->meta[i].value : NULL;
}

sl_status sl__pipeline_meta_set(struct sl_pipeline *p, const char *key, const char *value,
                                sl_error *err)
{
    for (size_t i = 0; i < p->nmeta; i++) {
        if (strcmp(p->meta[i].key, key) == 0) {
            char *v = strdup(value);
            SL_CHECK(v, SL_ENOMEM, "out of memory storing run metadata '%s'", key);
            free(p->meta[i].value);
            p->meta[i].value = v;
            return SL_OK;
        }
    }
    if (p->nmeta == p->cap_meta) {
        size_t cap = p->cap_meta ? 2 * p->cap_meta : 16;
        pl_kv *m = realloc(p->meta, cap * sizeof *m);
        SL_CHECK(m, SL_ENOMEM, "out of memory storing run metadata '%s'", key);
        p->meta = m;
        p->cap_meta = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return SL_FAIL(SL_ENOMEM, "out of memory storing run metadata '%s'", key);
    }
    p->meta[p->nmeta++] = (pl_kv){k, v};
    return SL_OK;
}

void sl__pipeline_meta_free(struct sl_pipeline *p)
{
    for (size_t i = 0; i < p->nmeta; i++) {
        free(p->meta[i].key);
        free(p->meta[i].value);
    }
    free(p->meta);
    p->meta = NULL;
    p->nmeta = p->cap_meta = 0;
    for (size_t i = 0; i < p->nresults; i++)
        free(p->results[i].key);
    free(p->results);
    p->results = NULL;
    p->nresults = p->cap_results = 0;
}

static sl_status result_slot(struct sl_pipeline *p, const char *key, sl_type type, pl_result **out,
                             sl_error *err)
{
    for (size_t i = 0; i < p->nresults; i++) {
        if (strcmp(p->results[i].key, key) == 0) {
            SL_CHECK(p->results[i].type == type, SL_EINVAL,
                     "result '%s' was published as %s and now as %s", key,
                     sl_type_name(p->results[i].type), sl_type_name(type));
            *out = &p->results[i];
            return SL_OK;
        }
    }
    if (p->nresults == p->cap_results) {
        size_t cap = p->cap_results ? 2 * p->cap_results : 8;
        pl_result *r = realloc(p->results, cap * sizeof *r);
        SL_CHECK(r, SL_ENOMEM, "out of memory storing result '%s'", key);
        p->results = r;
        p->cap_results = cap;
    }
    char *k = strdup(key);
    SL_CHECK(k, SL_ENOMEM, "out of memory storing result '%s'", key);
    p->results[p->nresults] = (pl_result){.key = k, .type = type};
    *out = &p->results[p->nresults++];
    return SL_OK;
}

sl_status sl_ctx_result_add_u64(sl_ctx *c, const char *key, uint64_t v, sl_error *err)
{
    pl_result *r;
    SL_TRY(result_slot(c->p, key, SL_TYPE_U64, &r, err));
    r->u += v;
    return SL_OK;
}

sl_status sl_ctx_result_add_f64(sl_ctx *c, const char *key, double v, sl_error *err)
{
    pl_result *r;
    SL_TRY(result_slot(c->p, key, SL_TYPE_F64, &r, err));
    r->f += v;
    return SL_OK;
}

size_t sl_ctx_result_count(const sl_ctx *c) { return c->p->nresults; }

void sl_ctx_result_get(const sl_ctx *c, size_t i, const char **key, sl_type *type, uint64_t *u,
                       double *f)
{
    const pl_result *r = &c->p->results[i];
    if (key)
        *key = r->key;
    if (type)
        *type = r->type;
    if (u)
        *u = r->u;
    if (f)
        *f = r->f;
}

sl_status sl_ctx_input(sl_ctx *c, const char *name, const char *identity, sl_error *err)
{
    SL_CHECK(name && *name && identity, SL_EINVAL, "an input needs a name and an identity");
    if (!c) /* a stage driven outside a pipeline (its unit tests): no run to tell */
        return SL_OK;
    pl_stage *st = &c->p->stages[c->stage];
    char *v = strdup(identity);
    SL_CHECK(v, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->ninputs; i++)
        if (strcmp(st->inputs[i].key, name) == 0) {
            free(st->inputs[i].value);
            st->inputs[i].value = v;
            return SL_OK;
        }
    pl_kv *m = realloc(st->inputs, (st->ninputs + 1) * sizeof *m);
    char *k = strdup(name);
    if (m)
        st->inputs = m;
    if (!m || !k) {
        free(k);
        free(v);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    st->inputs[st->ninputs++] = (pl_kv){k, v};
    return SL_OK;
}
