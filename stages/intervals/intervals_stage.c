/* intervals_stage.c - the `intervals` source: columns lo, hi (u64).
 *
 * [start, stop) cut into intervals of `width`; batch seq holds intervals
 * [seq*batch, (seq+1)*batch). Typically feeds `primes`. The arithmetic lives
 * in intervals_kernel.c. */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/stage.h>

#include "intervals_kernel.h"

typedef struct intervals_state {
    uint64_t start, stop, width, batch;
} intervals_state;

static const sl_param_spec intervals_params[] = {
    SL_PARAM_UINT("start", 0, 0, UINT64_MAX, "Start of the first interval (inclusive)"),
    SL_PARAM_UINT("stop", 1000000000, 0, UINT64_MAX, "End of the last interval (exclusive)"),
    SL_PARAM_UINT("width", 10000000, 1, UINT64_MAX, "Width of each interval (the last may be shorter)"),
    SL_PARAM_UINT("batch", 1, 1, (uint64_t)1 << 24, "Intervals per batch"),
    SL_PARAM_END,
};

static sl_status intervals_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    intervals_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "intervals: out of memory");
    s->start = sl_params_uint(p, "start");
    s->stop = sl_params_uint(p, "stop");
    s->width = sl_params_uint(p, "width");
    s->batch = sl_params_uint(p, "batch");
    if (s->width == 0 || s->batch == 0) {
        free(s);
        return SL_FAIL(SL_EINVAL, "parameters 'width' and 'batch' must be at least 1");
    }
    *state = s;
    return SL_OK;
}

static sl_status intervals_plan(void *state, sl_source_plan *plan, sl_error *err)
{
    const intervals_state *s = state;
    plan->batches = sl_intervals_batches(s->start, s->stop, s->width, s->batch);
    plan->rows = sl_intervals_count(s->start, s->stop, s->width);
    return SL_OK;
}

static sl_status intervals_produce(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx,
                                   sl_error *err)
{
    const intervals_state *s = state;
    uint64_t first = 0;
    uint64_t n = sl_intervals_batch_rows(s->start, s->stop, s->width, s->batch, seq, &first);
    SL_CHECK(n > 0, SL_ERANGE, "batch %llu is past the last batch %llu",
             (unsigned long long)seq,
             (unsigned long long)sl_intervals_batches(s->start, s->stop, s->width, s->batch));
    void *lo = NULL, *hi = NULL;
    sl_batch_set_rows(out, first, (size_t)n);
    SL_TRY(sl_batch_add(out, "lo", SL_TYPE_U64, 0, NULL, &lo, err));
    SL_TRY(sl_batch_add(out, "hi", SL_TYPE_U64, 0, NULL, &hi, err));
    sl_intervals_fill(s->start, s->stop, s->width, first, (size_t)n, lo, hi);
    return SL_OK;
}

static void intervals_destroy(void *state) { free(state); }

static sl_status intervals_columns(void *state, const sl_schema *in, sl_schema *out,
                                   sl_ctx *ctx, sl_error *err)
{
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    SL_TRY(sl_schema_set(out, "lo", SL_TYPE_U64, 0, NULL, me, err));
    return sl_schema_set(out, "hi", SL_TYPE_U64, 0, NULL, me, err);
}

static const sl_stage_desc intervals_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "intervals",
    .summary = "Source of the intervals [lo, hi) covering [start, stop) in steps of width",
    .version = "1.0.0",
    .kind = SL_KIND_SOURCE,
    .mode = SL_MODE_PARALLEL,
    .params = intervals_params,
    .create = intervals_create,
    .plan = intervals_plan,
    .produce = intervals_produce,
    .destroy = intervals_destroy,
    .columns = intervals_columns,
};

SL_STAGE_EXPORT(intervals_desc)
