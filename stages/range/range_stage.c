/* range_stage.c - the `range` source: column n (u64) over [start, stop).
 *
 * Batch seq holds n in [start + seq*batch, min(start + (seq+1)*batch, stop)),
 * so any instance can build any batch and the output is the same for every
 * thread and rank count. The arithmetic lives in range_kernel.c. */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/stage.h>

#include "range_kernel.h"

typedef struct range_state {
    uint64_t start, stop, batch;
} range_state;

static const sl_param_spec range_params[] = {
    SL_PARAM_UINT("start", 0, 0, UINT64_MAX, "First value of n (inclusive)"),
    SL_PARAM_UINT("stop", 1000000, 0, UINT64_MAX, "End of the range (exclusive)"),
    SL_PARAM_UINT("batch", 65536, 1, (uint64_t)1 << 28, "Rows per batch"),
    SL_PARAM_END,
};

static sl_status range_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    range_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "range: out of memory");
    s->start = sl_params_uint(p, "start");
    s->stop = sl_params_uint(p, "stop");
    s->batch = sl_params_uint(p, "batch");
    if (s->batch == 0) {
        free(s);
        return SL_FAIL(SL_EINVAL, "parameter 'batch'=0 is below minimum 1");
    }
    *state = s;
    return SL_OK;
}

static sl_status range_plan(void *state, sl_source_plan *plan, sl_error *err)
{
    const range_state *s = state;
    plan->batches = sl_range_batches(s->start, s->stop, s->batch);
    plan->rows = s->stop > s->start ? s->stop - s->start : 0;
    return SL_OK;
}

static sl_status range_produce(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx,
                               sl_error *err)
{
    const range_state *s = state;
    uint64_t first = 0;
    uint64_t nrows = sl_range_batch_rows(s->start, s->stop, s->batch, seq, &first);
    SL_CHECK(nrows > 0, SL_ERANGE, "batch %llu is past the last batch %llu",
             (unsigned long long)seq,
             (unsigned long long)sl_range_batches(s->start, s->stop, s->batch));
    void *data = NULL;
    sl_batch_set_rows(out, seq * s->batch, (size_t)nrows);
    SL_TRY(sl_batch_add(out, "n", SL_TYPE_U64, 0, NULL, &data, err));
    sl_range_fill(first, (size_t)nrows, data);
    return SL_OK;
}

static void range_destroy(void *state) { free(state); }

static sl_status range_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                               sl_error *err)
{
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    return sl_schema_set(out, "n", SL_TYPE_U64, 0, NULL, me, err);
}

static const sl_stage_desc range_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "range",
    .summary = "Source of the integers n in [start, stop), column n (u64)",
    .version = "1.0.0",
    .kind = SL_KIND_SOURCE,
    .mode = SL_MODE_PARALLEL,
    .params = range_params,
    .create = range_create,
    .plan = range_plan,
    .produce = range_produce,
    .destroy = range_destroy,
    .columns = range_columns,
};

SL_STAGE_EXPORT(range_desc)
