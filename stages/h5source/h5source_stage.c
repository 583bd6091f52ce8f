/* stages/h5source/h5source_stage.c - the h5source stage: descriptor, parameters, glue.
 *
 * Reads datasets of an existing HDF5 file as the columns of its batches;
 * batch seq is rows [seq*batch, (seq+1)*batch), so the source is addressable
 * and ranks read disjoint hyperslabs without coordinating. The reader
 * (h5source_read.c and friends) opens and checks the file and every dataset
 * in create(), so a bad input fails before the run writes anything.
 *
 * The HDF5 build here is not thread-safe and h5sink calls it from another
 * task: SL_STAGE_EXCLUSIVE_LIBRARY makes the executor never run the two at
 * once (no task waits), and every HDF5 call sequence (create, produce,
 * destroy) also holds sl_library_lock("hdf5") for other pipelines of the
 * process; plan() only reports what create() learnt.
 *
 * One instance: the descriptor sets SL_STAGE_SINGLE_INSTANCE, which resolve()
 * in lib/pipeline/pipeline.c accepts for a source like for any stage (it
 * gives the stage concurrency 1 and refuses a job's concurrency above 1). More
 * instances would only queue on the HDF5 lock, each with its own file handle
 * and chunk caches; one instance reads batches mostly in seq order, so the
 * chunk cache carries a chunk shared by two batches from one to the next. The
 * mode says the same for `sluice inspect` (serial, like h5sink); the executor
 * never consults a source's own mode, the flag is what enforces it. Ranks
 * still read in parallel: each has its own instance and file handle. */
#include <stdlib.h>

#include <sluice/stage.h>

#include "h5source.h"

static const sl_param_spec h5source_params[] = {
    SL_PARAM_STRING("file", "", "HDF5 file to read (required)"),
    SL_PARAM_STRING("columns", "",
                    "NAME=/path or /path entries, comma-separated (empty: every dataset at the "
                    "root)"),
    SL_PARAM_UINT("batch", 65536, 1, (uint64_t)1 << 28, "Rows per batch"),
    SL_PARAM_BOOL("allow_holes", false,
                  "Read a file whose /deadletters lists batches (their rows hold fill values)"),
    SL_PARAM_END,
};

static sl_status h5source_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    const char *file = sl_params_str(p, "file");
    SL_CHECK(file && *file, SL_EINVAL, "parameter 'file' is empty: name the HDF5 file to read");
    sl_h5r_opts o = {.path = file,
                     .columns = sl_params_str(p, "columns"),
                     .batch = sl_params_uint(p, "batch"),
                     .allow_holes = sl_params_bool(p, "allow_holes")};
    sl_h5r *r = NULL;
    sl_library_lock("hdf5");
    sl_status s = sl_h5r_open(&r, &o, err);
    sl_library_unlock("hdf5");
    SL_TRY(s);
    /* The batches a resume keeps came from this file as it is now. */
    char id[256];
    s = sl_h5r_identity(r, id, sizeof id, err);
    if (s == SL_OK)
        s = sl_ctx_input(ctx, file, id, err);
    if (s != SL_OK) {
        sl_library_lock("hdf5");
        sl_h5r_destroy(&r);
        sl_library_unlock("hdf5");
        return s;
    }
    *state = r;
    return SL_OK;
}

static sl_status h5source_columns(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                                  sl_error *err)
{
    return sl_h5r_columns(state, out, err); /* no HDF5 call: create() read the types */
}

static sl_status h5source_plan(void *state, sl_source_plan *plan, sl_error *err)
{
    const sl_h5r *r = state; /* no HDF5 call: create() read the lengths */
    plan->batches = sl_h5r_batches(r);
    plan->rows = sl_h5r_rows(r);
    return SL_OK;
}

static sl_status h5source_produce(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx,
                                  sl_error *err)
{
    sl_library_lock("hdf5");
    sl_status s = sl_h5r_read(state, seq, out, err);
    sl_library_unlock("hdf5");
    SL_TRY(s);
    return SL_OK;
}

static void h5source_destroy(void *state)
{
    sl_h5r *r = state;
    sl_library_lock("hdf5");
    sl_h5r_destroy(&r);
    sl_library_unlock("hdf5");
}

static const sl_stage_desc h5source_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "h5source",
    .summary = "Source reading datasets of an HDF5 file as columns, rows split into batches",
    .version = "1.0.0",
    .kind = SL_KIND_SOURCE,
    .mode = SL_MODE_SERIAL,
    .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_EXCLUSIVE_LIBRARY,
    .params = h5source_params,
    .create = h5source_create,
    .plan = h5source_plan,
    .produce = h5source_produce,
    .destroy = h5source_destroy,
    .columns = h5source_columns,
};

SL_STAGE_EXPORT(h5source_desc)
