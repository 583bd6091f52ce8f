/* sum_stage.c - the `sum` transform: totals of numeric columns.
 *
 * Passes batches through unchanged. Each batch carries its own sums
 * (integers as u64 modulo 2^64, floats as f64) as contributions to the
 * results "sum_<column>" (sl_batch_result_add_*); the core adds them up as
 * batches leave the pipeline, and across ranks. So a total counts exactly the
 * batches in the output: not one a later stage gave up (on_error), nor, with
 * resume, one counted before. Instances only remember each column's kind,
 * to refuse a column that changes between batches. columns="" sums every
 * numeric scalar column it sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/stage.h>

#include "sum_kernel.h"

typedef struct sum_acc {
    char name[SL_COLUMN_NAME_MAX];
    bool is_float;
} sum_acc;

typedef struct sum_state {
    bool all;        /* columns="" */
    int nacc;        /* named columns first, in order; others appended as seen */
    int nnamed;
    bool typed[SL_BATCH_MAX_COLUMNS]; /* acc[i].is_float is known */
    sum_acc acc[SL_BATCH_MAX_COLUMNS];
} sum_state;

static const sl_param_spec sum_params[] = {
    SL_PARAM_STRING("columns", "", "Comma-separated columns to sum; empty: every numeric scalar column"),
    SL_PARAM_END,
};

/* Splits the comma-separated list into s->acc (blanks around names ignored). */
static sl_status parse_columns(sum_state *s, const char *list, sl_error *err)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t len = (size_t)(e - p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0) {
            SL_CHECK(len < SL_COLUMN_NAME_MAX, SL_EINVAL,
                     "parameter 'columns': name '%.*s' is longer than %d characters", (int)len, p,
                     SL_COLUMN_NAME_MAX - 1);
            SL_CHECK(s->nacc < SL_BATCH_MAX_COLUMNS, SL_EINVAL,
                     "parameter 'columns': more than %d names", SL_BATCH_MAX_COLUMNS);
            memcpy(s->acc[s->nacc].name, p, len);
            s->acc[s->nacc].name[len] = '\0';
            s->nacc++;
        }
        p = e;
    }
    s->nnamed = s->nacc;
    s->all = s->nacc == 0;
    return SL_OK;
}

static sl_status sum_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    sum_state *s = calloc(1, sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "sum: out of memory");
    sl_status st = parse_columns(s, sl_params_str(p, "columns"), err);
    if (st != SL_OK) {
        free(s);
        return st;
    }
    *state = s;
    return SL_OK;
}

static bool is_numeric_scalar(const sl_column *c) { return c->type != SL_TYPE_BYTES && c->ndims == 0; }

/* Adds column c's sum (numeric scalar, nrows rows) to batch b's contributions. */
static sl_status accumulate(sum_state *s, int k, const sl_column *c, size_t nrows, sl_batch *b,
                            sl_error *err)
{
    sum_acc *a = &s->acc[k];
    bool is_float = c->type == SL_TYPE_F32 || c->type == SL_TYPE_F64;
    if (!s->typed[k]) {
        a->is_float = is_float;
        s->typed[k] = true;
    }
    SL_CHECK(a->is_float == is_float, SL_EINVAL, "column '%s' changed from %s to %s between batches",
             a->name, a->is_float ? "float" : "integer", sl_type_name(c->type));
    uint64_t u = 0;
    double f = 0;
    switch (c->type) {
    case SL_TYPE_U64: u = sl_sum_u64(c->data, nrows); break;
    case SL_TYPE_I64: u = sl_sum_i64(c->data, nrows); break;
    case SL_TYPE_U32: u = sl_sum_u32(c->data, nrows); break;
    case SL_TYPE_I32: u = sl_sum_i32(c->data, nrows); break;
    case SL_TYPE_F64: f = sl_sum_f64(c->data, nrows); break;
    case SL_TYPE_F32: f = sl_sum_f32(c->data, nrows); break;
    default: break;
    }
    char key[SL_COLUMN_NAME_MAX + 8];
    snprintf(key, sizeof key, "sum_%s", a->name);
    return is_float ? sl_batch_result_add_f64(b, key, f, err) : sl_batch_result_add_u64(b, key, u, err);
}

/* Index of the accumulator for name, appending one when sum runs over all. */
static int acc_index(sum_state *s, const char *name)
{
    for (int k = 0; k < s->nacc; k++)
        if (strcmp(s->acc[k].name, name) == 0)
            return k;
    if (s->nacc == SL_BATCH_MAX_COLUMNS)
        return -1;
    snprintf(s->acc[s->nacc].name, SL_COLUMN_NAME_MAX, "%s", name);
    return s->nacc++;
}

static sl_status sum_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    sum_state *s = state;
    size_t nrows = sl_batch_nrows(b);
    if (!s->all) {
        for (int k = 0; k < s->nnamed; k++) {
            int i = sl_batch_find(b, s->acc[k].name);
            SL_CHECK(i >= 0, SL_ENOTFOUND, "column '%s' is missing", s->acc[k].name);
            const sl_column *c = sl_batch_col(b, i);
            SL_CHECK(is_numeric_scalar(c), SL_EINVAL,
                     "column '%s' is %s with %d dims, not a numeric scalar", c->name,
                     sl_type_name(c->type), c->ndims);
            SL_TRY(accumulate(s, k, c, nrows, b, err));
        }
        return SL_OK;
    }
    for (int i = 0; i < sl_batch_ncols(b); i++) {
        const sl_column *c = sl_batch_col(b, i);
        if (!is_numeric_scalar(c))
            continue;
        int k = acc_index(s, c->name);
        SL_CHECK(k >= 0, SL_EINVAL, "more than %d columns to sum", SL_BATCH_MAX_COLUMNS);
        SL_TRY(accumulate(s, k, c, nrows, b, err));
    }
    return SL_OK;
}

static void sum_destroy(void *state) { free(state); }

/* The named columns are numeric scalars; batches pass through unchanged. */
static sl_status sum_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                             sl_error *err)
{
    const sum_state *s = state;
    char d[SL_SCHEMA_ORIGIN_MAX + 64];
    for (int k = 0; k < s->nnamed; k++) {
        sl_schema_col c;
        if (!sl_schema_find(in, s->acc[k].name, &c)) /* any numeric type will do: */
            return sl_schema_need(in, s->acc[k].name, SL_TYPE_U64, 0, NULL, err); /* "missing" */
        SL_CHECK(c.type != SL_TYPE_BYTES && c.ndims == 0, SL_EINVAL,
                 "column '%s' is %s: not a numeric scalar, cannot be summed", c.name,
                 sl_schema_describe(&c, d, sizeof d));
    }
    return SL_OK;
}

static const sl_stage_desc sum_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "sum",
    .summary = "Totals of numeric columns as run results sum_<column>; batches pass unchanged",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = sum_params,
    .create = sum_create,
    .process = sum_process,
    .destroy = sum_destroy,
    .columns = sum_columns,
};

SL_STAGE_EXPORT(sum_desc)
