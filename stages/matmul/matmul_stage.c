/* matmul_stage.c - the `matmul` transform: C = A*B per row, with summaries.
 *
 * Reads a, b (f64, n x n, same n); adds trace and frobenius (f64) and, with
 * store=full, c (f64 n x n). With keep_inputs=false (default) drops a and b
 * afterwards, since they dominate the batch's size. Each instance keeps a C
 * scratch for store=summary. BLAS runs with `threads` threads (default 1:
 * the executor already runs a task per core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/stage.h>

#include <cblas.h>

#include "matmul_kernel.h"

typedef struct matmul_state {
    bool full, keep_inputs;
    double *scratch;
    size_t scratch_elems;
} matmul_state;

static const sl_param_spec matmul_params[] = {
    SL_PARAM_UINT("threads", 1, 1, 1024, "BLAS threads per instance (1 inside pipeline tasks)"),
    SL_PARAM_ENUM("store", "summary", "summary|full", "summary: trace and frobenius; full: also c"),
    SL_PARAM_BOOL("keep_inputs", false, "Keep columns a and b after multiplying"),
    SL_PARAM_END,
};

static sl_status matmul_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    matmul_state *s = calloc(1, sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "matmul: out of memory");
    s->full = strcmp(sl_params_str(p, "store"), "full") == 0;
    s->keep_inputs = sl_params_bool(p, "keep_inputs");
    openblas_set_num_threads((int)sl_params_uint(p, "threads"));
    *state = s;
    return SL_OK;
}

/* Checks that column name is f64 n x n and returns n and its data. */
static sl_status square_f64(const sl_batch *b, const char *name, uint64_t *n, const double **data,
                            sl_error *err)
{
    int i = sl_batch_find(b, name);
    SL_CHECK(i >= 0, SL_ENOTFOUND, "column '%s' is missing", name);
    const sl_column *c = sl_batch_col(b, i);
    SL_CHECK(c->type == SL_TYPE_F64, SL_EINVAL, "column '%s' is %s, expected f64", name,
             sl_type_name(c->type));
    SL_CHECK(c->ndims == 2 && c->dims[0] == c->dims[1], SL_EINVAL,
             "column '%s' must hold square matrices, not ndims %d (%llu x %llu)", name, c->ndims,
             (unsigned long long)(c->ndims > 0 ? c->dims[0] : 1),
             (unsigned long long)(c->ndims > 1 ? c->dims[1] : 1));
    *n = c->dims[0];
    *data = c->data;
    return SL_OK;
}

/* Before any batch: a and b square f64 matrices of one size, wherever they
 * come from; the message names both columns' shapes and origins. */
static sl_status matmul_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                                sl_error *err)
{
    const matmul_state *s = state;
    char me[SL_SCHEMA_ORIGIN_MAX];
    snprintf(me, sizeof me, "stage '%s'", sl_ctx_stage_name(ctx));
    sl_schema_col a, b;
    char da[SL_SCHEMA_ORIGIN_MAX + 64], db[SL_SCHEMA_ORIGIN_MAX + 64];
    SL_TRY(sl_schema_need(in, "a", SL_TYPE_F64, 2, &a, err));
    SL_TRY(sl_schema_need(in, "b", SL_TYPE_F64, 2, &b, err));
    SL_CHECK(a.dims[0] == a.dims[1], SL_EINVAL, "column 'a' holds %s: not square matrices",
             sl_schema_describe(&a, da, sizeof da));
    SL_CHECK(b.dims[0] == b.dims[1], SL_EINVAL, "column 'b' holds %s: not square matrices",
             sl_schema_describe(&b, db, sizeof db));
    SL_CHECK(a.dims[0] == b.dims[0], SL_EINVAL, "columns 'a' (%s) and 'b' (%s) differ in shape",
             sl_schema_describe(&a, da, sizeof da), sl_schema_describe(&b, db, sizeof db));
    const uint64_t dims[2] = {a.dims[0], a.dims[0]};
    SL_TRY(sl_schema_set(out, "trace", SL_TYPE_F64, 0, NULL, me, err));
    SL_TRY(sl_schema_set(out, "frobenius", SL_TYPE_F64, 0, NULL, me, err));
    if (s->full)
        SL_TRY(sl_schema_set(out, "c", SL_TYPE_F64, 2, dims, me, err));
    if (!s->keep_inputs) {
        sl_schema_drop(out, "a");
        sl_schema_drop(out, "b");
    }
    return SL_OK;
}

static sl_status matmul_process(void *state, sl_batch *bt, sl_ctx *ctx, sl_error *err)
{
    matmul_state *s = state;
    size_t rows = sl_batch_nrows(bt);
    uint64_t na = 0, nb = 0;
    const double *a = NULL, *b = NULL;
    SL_TRY(square_f64(bt, "a", &na, &a, err));
    SL_TRY(square_f64(bt, "b", &nb, &b, err));
    SL_CHECK(na == nb, SL_EINVAL, "columns 'a' (%llu x %llu) and 'b' (%llu x %llu) differ in shape",
             (unsigned long long)na, (unsigned long long)na, (unsigned long long)nb,
             (unsigned long long)nb);
    size_t n = (size_t)na, elems = n * n;
    const uint64_t dims[2] = {na, na};
    void *tr_v = NULL, *fro_v = NULL, *c_v = NULL;
    SL_TRY(sl_batch_add(bt, "trace", SL_TYPE_F64, 0, NULL, &tr_v, err));
    SL_TRY(sl_batch_add(bt, "frobenius", SL_TYPE_F64, 0, NULL, &fro_v, err));
    if (s->full) {
        SL_TRY(sl_batch_add(bt, "c", SL_TYPE_F64, 2, dims, &c_v, err));
    } else if (s->scratch_elems < elems) {
        double *p = realloc(s->scratch, elems * sizeof *p);
        SL_CHECK(p, SL_ENOMEM, "out of memory for a %zu x %zu scratch matrix", n, n);
        s->scratch = p;
        s->scratch_elems = elems;
    }
    double *tr = tr_v, *fro = fro_v;
    for (size_t r = 0; r < rows; r++) {
        SL_CHECK(!sl_ctx_should_stop(ctx), SL_ECANCELED, "stopped at row %zu of %zu", r, rows);
        double *c = s->full ? (double *)c_v + r * elems : s->scratch;
        sl_matmul(n, a + r * elems, b + r * elems, c);
        tr[r] = sl_mat_trace(n, c);
        fro[r] = sl_mat_frobenius(n, c);
    }
    if (!s->keep_inputs) {
        sl_batch_drop(bt, "a");
        sl_batch_drop(bt, "b");
    }
    return SL_OK;
}

static void matmul_destroy(void *state)
{
    matmul_state *s = state;
    if (!s)
        return;
    free(s->scratch);
    free(s);
}

static const sl_stage_desc matmul_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "matmul",
    .summary = "C = A*B (dgemm) for matrix columns a, b; adds trace and Frobenius norm of C",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = matmul_params,
    .create = matmul_create,
    .process = matmul_process,
    .columns = matmul_columns,
    .destroy = matmul_destroy,
};

SL_STAGE_EXPORT(matmul_desc)
