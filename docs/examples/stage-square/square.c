/* square.c - the `square` transform, a complete out-of-tree stage plugin.
 *
 * Reads the u64 column `n` and adds the u64 column `square` = n*n + offset
 * (modulo 2^64, like every u64 sum in sluice). It keeps no state between
 * batches, so it runs in parallel mode: many batches at once, on as many
 * instances as the job gives it. Build it with find_package(Sluice) and
 * sluice_add_plugin (CMakeLists.txt here) or with pkg-config (README.md);
 * docs/writing-a-stage.md walks through every line. */
#include <stdlib.h>

#include <sluice/stage.h>

/* One instance's settings, read once from the parameters in create(). */
typedef struct square_state {
    uint64_t offset;
} square_state;

static const sl_param_spec square_params[] = {
    SL_PARAM_UINT("offset", 0, 0, UINT64_MAX, "Added to every square"),
    SL_PARAM_END,
};

/* The kernel: pure, sequential, no sluice types, testable on its own. */
static void square_kernel(const uint64_t *restrict n, size_t rows, uint64_t offset,
                          uint64_t *restrict out)
{
    for (size_t i = 0; i < rows; i++)
        out[i] = n[i] * n[i] + offset;
}

static sl_status square_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    (void)ctx; /* unused here; a stage could read sl_ctx_rank(ctx), say */
    square_state *s = malloc(sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "square: out of memory");
    s->offset = sl_params_uint(p, "offset");
    *state = s;
    return SL_OK;
}

/* Borrows b until it returns: reads `n`, adds `square` in place. */
static sl_status square_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    (void)ctx;
    const square_state *s = state;
    const void *n = NULL;
    void *out = NULL;
    /* Fails, naming the column, when `n` is missing or not u64. */
    SL_TRY(sl_batch_get(b, "n", SL_TYPE_U64, &n, err));
    /* Room for one u64 per row; fails if the batch already has `square`. */
    SL_TRY(sl_batch_add(b, "square", SL_TYPE_U64, 0, NULL, &out, err));
    square_kernel(n, sl_batch_nrows(b), s->offset, out);
    return SL_OK;
}

static void square_destroy(void *state) { free(state); }

static const sl_stage_desc square_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "square", /* must match the file name, square.so */
    .summary = "Adds column square = n*n + offset (u64) from column n (u64)",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = square_params,
    .create = square_create,
    .process = square_process,
    .destroy = square_destroy,
};

SL_STAGE_EXPORT(square_desc)
