/* matgen_stage.c - the `matgen` source: pairs of random n x n matrices.
 *
 * Batch seq holds pairs [seq*batch, (seq+1)*batch) as columns a and b (f64,
 * dims {n, n}). Values come from matgen_kernel.c, keyed by (seed, global pair
 * index, matrix, element), so every batch is reproducible anywhere. */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/stage.h>

#include "matgen_kernel.h"

typedef struct matgen_state {
    uint64_t n, count, batch, seed;
} matgen_state;

static const sl_param_spec matgen_params[] = {
    SL_PARAM_UINT("n", 256, 1, 4096, "Matrix size (n x n)"),
    SL_PARAM_UINT("count", 64, 0, UINT64_MAX / 2, "Number of (A, B) pairs"),
    SL_PARAM_UINT("batch", 1, 1, 4096, "Pairs per batch"),
    SL_PARAM_UINT("seed", 42, 0, UINT64_MAX, "Seed of the counter-based generator"),
    SL_PARAM_END,
};

static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static sl_status matgen_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    matgen_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "matgen: out of memory");
    s->n = sl_params_uint(p, "n");
    s->count = sl_params_uint(p, "count");
    s->batch = sl_params_uint(p, "batch");
    s->seed = sl_params_uint(p, "seed");
    if (s->n == 0 || s->batch == 0) {
        free(s);
        return SL_FAIL(SL_EINVAL, "parameters 'n' and 'batch' must be at least 1");
    }
    *state = s;
    return SL_OK;
}

static sl_status matgen_plan(void *state, sl_source_plan *plan, sl_error *err)
{
    const matgen_state *s = state;
    plan->batches = ceil_div(s->count, s->batch);
    plan->rows = s->count;
    return SL_OK;
}

static sl_status matgen_produce(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx,
                                sl_error *err)
{
    const matgen_state *s = state;
    uint64_t batches = ceil_div(s->count, s->batch);
    SL_CHECK(seq < batches, SL_ERANGE, "batch %llu is past the last batch %llu",
             (unsigned long long)seq, (unsigned long long)batches);
    uint64_t first = seq * s->batch;
    size_t rows = (size_t)(s->count - first < s->batch ? s->count - first : s->batch);
    size_t elems = (size_t)(s->n * s->n);
    const uint64_t dims[2] = {s->n, s->n};
    void *a = NULL, *b = NULL;
    sl_batch_set_rows(out, first, rows);
    SL_TRY(sl_batch_add(out, "a", SL_TYPE_F64, 2, dims, &a, err));
    SL_TRY(sl_batch_add(out, "b", SL_TYPE_F64, 2, dims, &b, err));
    for (size_t r = 0; r < rows; r++) {
        sl_matgen_fill(s->seed, first + r, 0, elems, (double *)a + r * elems);
        sl_matgen_fill(s->seed, first + r, 1, elems, (double *)b + r * elems);
    }
    return SL_OK;
}

static void matgen_destroy(void *state) { free(state); }

static sl_status matgen_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                                sl_error *err)
{
    const matgen_state *s = state;
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    const uint64_t dims[2] = {s->n, s->n};
    SL_TRY(sl_schema_set(out, "a", SL_TYPE_F64, 2, dims, me, err));
    return sl_schema_set(out, "b", SL_TYPE_F64, 2, dims, me, err);
}

static const sl_stage_desc matgen_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "matgen",
    .summary = "Source of reproducible random n x n matrix pairs a, b (f64, values in [-1, 1))",
    .version = "1.0.0",
    .kind = SL_KIND_SOURCE,
    .mode = SL_MODE_PARALLEL,
    .params = matgen_params,
    .create = matgen_create,
    .plan = matgen_plan,
    .produce = matgen_produce,
    .destroy = matgen_destroy,
    .columns = matgen_columns,
};

SL_STAGE_EXPORT(matgen_desc)
