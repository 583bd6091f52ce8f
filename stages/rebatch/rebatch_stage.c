/* stages/rebatch/rebatch_stage.c - joins and splits batches to a row count.
 *
 * Only a declaration: a stage that emits more or fewer batches than it takes
 * needs the executor's bookkeeping (credits for each batch it emits, the end
 * of the stream by count), so the executor does the work for stages flagged
 * SL_STAGE_REBATCH (lib/pipeline/rebatch.c). This plugin gives the stage its
 * name, its parameter and its place in `sluice stages`. */
#include <sluice/stage.h>

static sl_status rebatch_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}

static sl_status rebatch_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    return SL_FAIL(SL_EINVAL, "rebatch: this sluice's executor does not know SL_STAGE_REBATCH");
}

static const sl_param_spec rebatch_params[] = {
    SL_PARAM_UINT("rows", 1024, 1, (uint64_t)1 << 32,
                  "Rows per batch after this stage (the last batch of a run of contiguous "
                  "rows may have fewer)"),
    SL_PARAM_END,
};

static const sl_stage_desc rebatch_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "rebatch",
    .summary = "Join or split batches into batches of `rows` rows; output unchanged",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_ORDERED,
    .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_REBATCH,
    .params = rebatch_params,
    .create = rebatch_create,
    .process = rebatch_process,
};

SL_STAGE_EXPORT(rebatch_desc)
