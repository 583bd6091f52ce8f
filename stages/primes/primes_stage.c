/* primes_stage.c - the `primes` transform: counts primes in each [lo, hi).
 *
 * Reads lo, hi (u64); adds count (u64) and, with twins=true, twins (u64).
 * Each instance owns one cursor (a primesieve_iterator reused across rows,
 * continued when a row starts where the last ended); the
 * counting is in primes_kernel.c. libprimesieve runs single-threaded: the
 * parallelism comes from batches in flight. */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/stage.h>

#include "primes_kernel.h"

typedef struct primes_state {
    bool twins;
    sl_primes_cursor cur;
} primes_state;

static const sl_param_spec primes_params[] = {
    SL_PARAM_BOOL("twins", false, "Also count twins: p in [lo, hi) with p and p+2 prime"),
    SL_PARAM_END,
};

static sl_status primes_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    primes_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "primes: out of memory");
    s->twins = sl_params_bool(p, "twins");
    /* libprimesieve's own threads would oversubscribe the executor's. */
    primesieve_set_num_threads(1);
    sl_primes_cursor_init(&s->cur);
    *state = s;
    return SL_OK;
}

static sl_status primes_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    primes_state *s = state;
    size_t n = sl_batch_nrows(b);
    const void *lo_v = NULL, *hi_v = NULL;
    void *cnt_v = NULL, *tw_v = NULL;
    SL_TRY(sl_batch_get(b, "lo", SL_TYPE_U64, &lo_v, err));
    SL_TRY(sl_batch_get(b, "hi", SL_TYPE_U64, &hi_v, err));
    SL_TRY(sl_batch_add(b, "count", SL_TYPE_U64, 0, NULL, &cnt_v, err));
    if (s->twins)
        SL_TRY(sl_batch_add(b, "twins", SL_TYPE_U64, 0, NULL, &tw_v, err));
    const uint64_t *lo = lo_v, *hi = hi_v;
    uint64_t *cnt = cnt_v, *tw = tw_v;
    for (size_t i = 0; i < n; i++) {
        /* One row can be seconds of sieving: check between rows. */
        SL_CHECK(!sl_ctx_should_stop(ctx), SL_ECANCELED, "stopped at row %zu of %zu", i, n);
        if (!s->twins) {
            cnt[i] = sl_primes_count(lo[i], hi[i]);
            continue;
        }
        SL_CHECK(sl_primes_count_twins(&s->cur, lo[i], hi[i], &cnt[i], &tw[i]) == 0, SL_EKERNEL,
                 "libprimesieve failed on [%llu, %llu)", (unsigned long long)lo[i],
                 (unsigned long long)hi[i]);
    }
    return SL_OK;
}

static void primes_destroy(void *state)
{
    primes_state *s = state;
    if (!s)
        return;
    sl_primes_cursor_free(&s->cur);
    free(s);
}

static sl_status primes_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                                sl_error *err)
{
    const primes_state *s = state;
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    SL_TRY(sl_schema_need(in, "lo", SL_TYPE_U64, 0, NULL, err));
    SL_TRY(sl_schema_need(in, "hi", SL_TYPE_U64, 0, NULL, err));
    SL_TRY(sl_schema_set(out, "count", SL_TYPE_U64, 0, NULL, me, err));
    if (s->twins)
        SL_TRY(sl_schema_set(out, "twins", SL_TYPE_U64, 0, NULL, me, err));
    return SL_OK;
}

static const sl_stage_desc primes_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "primes",
    .summary = "Counts the primes (and optionally twin primes) in each interval [lo, hi)",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = primes_params,
    .create = primes_create,
    .process = primes_process,
    .destroy = primes_destroy,
    .columns = primes_columns,
};

SL_STAGE_EXPORT(primes_desc)
