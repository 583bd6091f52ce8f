/* stages/h5sink/h5sink_stage.c - the h5sink stage: descriptor, parameters, glue.
 *
 * The sink writes the one file the run asks for (sl_ctx_output_path: the core
 * picks a temporary name, renames it on success and deletes it on failure, so
 * this stage never renames). It keeps a single serial instance because an
 * HDF5 file handle is not shared between writers. The HDF5 build here is not
 * thread-safe and other stages (h5source) call it too: SL_STAGE_EXCLUSIVE_LIBRARY
 * makes the executor run one such job at a time, so no task waits, and every
 * HDF5 call sequence still holds sl_library_lock("hdf5") for another pipeline
 * of the same process (stage mode). The writer is made at the
 * first batch rather than in create(), because only then is the source's plan
 * (the total row count) known, and because validating a job must not need an
 * output path. */
#include <stdlib.h>

#include <sluice/stage.h>

#include "h5sink.h"

typedef struct h5sink_state {
    sl_h5w *w;
    uint64_t chunk_rows;
    unsigned compression;
} h5sink_state;

static const sl_param_spec h5sink_params[] = {
    SL_PARAM_UINT("compression", 0, 0, 9, "gzip level for every dataset (0: none)"),
    SL_PARAM_UINT("chunk_rows", 0, 0, UINT64_C(1) << 30,
                  "Rows per HDF5 chunk (0: about 1 MiB per chunk)"),
    SL_PARAM_END,
};

static sl_status h5sink_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    h5sink_state *st = calloc(1, sizeof *st);
    SL_CHECK(st, SL_ENOMEM, "out of memory");
    st->compression = (unsigned)sl_params_uint(p, "compression");
    st->chunk_rows = sl_params_uint(p, "chunk_rows");
    *state = st;
    return SL_OK;
}

/* Makes the writer and the file on first use; first may be NULL (no batch came). */
static sl_status ensure_started(h5sink_state *st, const sl_batch *first, sl_ctx *ctx, sl_error *err)
{
    if (!st->w) {
        const char *path = sl_ctx_output_path(ctx);
        SL_CHECK(path && *path, SL_EINVAL,
                 "no output file: set 'output:' in the job file or pass -o PATH");
        sl_h5w_opts o = {.path = path, .chunk_rows = st->chunk_rows,
                         .compression = st->compression};
        SL_TRY(sl_h5w_create(&st->w, &o, err));
    }
    if (!sl_h5w_started(st->w))
        SL_TRY(sl_h5w_begin(st->w, first, sl_ctx_total_rows(ctx), err));
    return SL_OK;
}

static sl_status h5sink_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    h5sink_state *st = state;
    sl_library_lock("hdf5");
    sl_status s = ensure_started(st, b, ctx, err);
    if (s == SL_OK)
        s = sl_h5w_write(st->w, b, err);
    sl_library_unlock("hdf5");
    SL_TRY(s);
    return SL_OK;
}

static sl_status write_run_attrs(h5sink_state *st, const sl_ctx *ctx, sl_error *err)
{
    for (size_t i = 0; i < sl_ctx_meta_count(ctx); i++) {
        const char *key, *value;
        sl_ctx_meta_get(ctx, i, &key, &value);
        SL_TRY(sl_h5w_attr_str(st->w, key, value, err));
    }
    for (size_t i = 0; i < sl_ctx_result_count(ctx); i++) {
        const char *key;
        sl_type type;
        uint64_t u = 0;
        double f = 0;
        sl_ctx_result_get(ctx, i, &key, &type, &u, &f);
        if (type == SL_TYPE_F64)
            SL_TRY(sl_h5w_attr_f64(st->w, key, f, err));
        else
            SL_TRY(sl_h5w_attr_u64(st->w, key, u, err));
    }
    return SL_OK;
}

static sl_status h5sink_finish(void *state, sl_ctx *ctx, sl_error *err)
{
    h5sink_state *st = state;
    sl_library_lock("hdf5");
    sl_status s = ensure_started(st, NULL, ctx, err);
    if (s == SL_OK)
        s = write_run_attrs(st, ctx, err);
    if (s == SL_OK)
        s = sl_h5w_deadletters(st->w, ctx, err);
    if (s == SL_OK)
        s = sl_h5w_stats(st->w, ctx, err);
    if (s == SL_OK)
        s = sl_h5w_close(st->w, err);
    sl_library_unlock("hdf5");
    SL_TRY(s);
    return SL_OK;
}

/* The file is closed (every byte HDF5 held is written); the next batch
 * opens the file sl_ctx_output_path names then, a new segment. */
static sl_status h5sink_checkpoint(void *state, sl_ctx *ctx, sl_error *err)
{
    (void)ctx;
    h5sink_state *st = state;
    if (!st->w)
        return SL_OK;
    sl_library_lock("hdf5");
    sl_status s = sl_h5w_started(st->w) ? sl_h5w_close(st->w, err) : SL_OK;
    sl_h5w_destroy(&st->w);
    sl_library_unlock("hdf5");
    SL_TRY(s);
    return SL_OK;
}

static void h5sink_destroy(void *state)
{
    h5sink_state *st = state;
    if (!st)
        return;
    sl_library_lock("hdf5");
    sl_h5w_destroy(&st->w);
    sl_library_unlock("hdf5");
    free(st);
}

static const sl_stage_desc h5sink_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "h5sink",
    .summary = "Write every column to an HDF5 dataset, rows placed by batch",
    .version = "1.0.0",
    .kind = SL_KIND_SINK,
    .mode = SL_MODE_SERIAL,
    .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_WRITES_FILE | SL_STAGE_EXCLUSIVE_LIBRARY,
    .params = h5sink_params,
    .create = h5sink_create,
    .process = h5sink_process,
    .finish = h5sink_finish,
    .destroy = h5sink_destroy,
    .checkpoint = h5sink_checkpoint,
};

SL_STAGE_EXPORT(h5sink_desc)
