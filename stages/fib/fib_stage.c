/* fib_stage.c - the `fib` transform: F(n) for each row's n.
 *
 * Reads n (u64); adds digits (u64, decimal digits of F(n)) and mod (u64,
 * F(n) mod 2^64); with store=full also value (bytes, decimal text, no NUL).
 * Each instance owns one sl_fib (GMP scratch reused across rows); the maths
 * is in fib_kernel.c. Printing costs ~4x computing (FIELD-NOTES), so the text
 * is made only with store=full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/stage.h>

#include "fib_kernel.h"

typedef struct fib_state {
    bool full;
    sl_fib fib;
} fib_state;

static const sl_param_spec fib_params[] = {
    SL_PARAM_ENUM("store", "digits", "digits|full",
                  "digits: digit count and F(n) mod 2^64; full: also the decimal value"),
    SL_PARAM_END,
};

static sl_status fib_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    fib_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "fib: out of memory");
    s->full = strcmp(sl_params_str(p, "store"), "full") == 0;
    sl_fib_init(&s->fib);
    *state = s;
    return SL_OK;
}

static sl_status fib_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    fib_state *s = state;
    size_t nrows = sl_batch_nrows(b);
    const void *n_v = NULL;
    void *dig_v = NULL, *mod_v = NULL;
    int val_col = -1;
    SL_TRY(sl_batch_get(b, "n", SL_TYPE_U64, &n_v, err));
    const uint64_t *n = n_v;
    for (size_t i = 0; i < nrows; i++)
        SL_CHECK(n[i] <= SL_FIB_MAX_N, SL_ERANGE, "column 'n' row %zu: n=%llu is above maximum %llu",
                 i, (unsigned long long)n[i], (unsigned long long)SL_FIB_MAX_N);
    SL_TRY(sl_batch_add(b, "digits", SL_TYPE_U64, 0, NULL, &dig_v, err));
    SL_TRY(sl_batch_add(b, "mod", SL_TYPE_U64, 0, NULL, &mod_v, err));
    if (s->full)
        SL_TRY(sl_batch_add_bytes(b, "value", &val_col, err));
    uint64_t *dig = dig_v, *mod = mod_v;
    for (size_t i = 0; i < nrows; i++) {
        sl_fib_compute(&s->fib, n[i]);
        dig[i] = sl_fib_digits(&s->fib, n[i]);
        mod[i] = sl_fib_low64(&s->fib);
        if (!s->full)
            continue;
        size_t len = 0;
        const char *txt = sl_fib_text(&s->fib, &len);
        SL_CHECK(txt, SL_ENOMEM, "out of memory printing F(%llu)", (unsigned long long)n[i]);
        SL_TRY(sl_batch_append_bytes(b, val_col, txt, len, err));
    }
    return SL_OK;
}

static void fib_destroy(void *state)
{
    fib_state *s = state;
    if (!s)
        return;
    sl_fib_clear(&s->fib);
    free(s);
}

static sl_status fib_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                             sl_error *err)
{
    const fib_state *s = state;
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    SL_TRY(sl_schema_need(in, "n", SL_TYPE_U64, 0, NULL, err));
    SL_TRY(sl_schema_set(out, "digits", SL_TYPE_U64, 0, NULL, me, err));
    SL_TRY(sl_schema_set(out, "mod", SL_TYPE_U64, 0, NULL, me, err));
    if (s->full)
        SL_TRY(sl_schema_set(out, "value", SL_TYPE_BYTES, 0, NULL, me, err));
    return SL_OK;
}

static const sl_stage_desc fib_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "fib",
    .summary = "Fibonacci F(n) of column n: digit count, F(n) mod 2^64, optionally the value",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = fib_params,
    .create = fib_create,
    .process = fib_process,
    .destroy = fib_destroy,
    .columns = fib_columns,
};

SL_STAGE_EXPORT(fib_desc)
