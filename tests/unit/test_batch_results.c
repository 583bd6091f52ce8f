/* tests/unit/test_batch_results.c - result contributions carried by batches
 * (sl_batch_result_add_*): adding, types, limits, copies and resets; and in
 * a run, totals count exactly the batches that left the last stage, not one
 * a later stage gave up, with or without a rebatch in between. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

Test(batch_results, add_get_copy_reset)
{
    sl_error err;
    sl_batch *b, *c;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    cr_assert_eq(sl_batch_create(&c, &err), SL_OK);
    cr_assert_eq(sl_batch_result_add_u64(b, "n", 5, &err), SL_OK);
    cr_assert_eq(sl_batch_result_add_u64(b, "n", UINT64_MAX, &err), SL_OK); /* mod 2^64 */
    cr_assert_eq(sl_batch_result_add_f64(b, "x", 0.5, &err), SL_OK);
    cr_assert_eq(sl_batch_result_add_f64(b, "n", 1.0, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "result 'n' was added as u64 and now as f64"), "%s", err.msg);
    cr_assert_eq(sl_batch_result_count(b), 2);
    const char *key;
    sl_type t;
    uint64_t u;
    double f;
    sl_batch_result_get(b, 0, &key, &t, &u, &f);
    cr_assert_str_eq(key, "n");
    cr_assert_eq(t, SL_TYPE_U64);
    cr_assert_eq(u, 4);
    cr_assert_eq(sl_batch_copy(c, b, &err), SL_OK);
    cr_assert_eq(sl_batch_result_count(c), 2);
    sl_batch_result_get(c, 1, &key, &t, &u, &f);
    cr_assert(t == SL_TYPE_F64 && f == 0.5);
    cr_assert_eq(sl_batch_results_move(c, b, &err), SL_OK);
    cr_assert_eq(sl_batch_result_count(b), 0);
    sl_batch_result_get(c, 0, NULL, NULL, &u, NULL);
    cr_assert_eq(u, 8);
    sl_batch_reset(c);
    cr_assert_eq(sl_batch_result_count(c), 0);
    for (int i = 0; i < SL_BATCH_MAX_RESULTS; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        cr_assert_eq(sl_batch_result_add_u64(c, k, 1, &err), SL_OK);
    }
    cr_assert_eq(sl_batch_result_add_u64(c, "one_more", 1, &err), SL_ERANGE);
    cr_assert_eq(sl_batch_result_add_u64(c, "", 1, &err), SL_EINVAL);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}

/* A run: src (batch seq has seq+1 rows) -> count (adds its rows to
 * "rows_seen") -> picky (gives up seq 7) [-> rebatch] -> sink. */
static sl_status st_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}
static sl_status plan(void *s, sl_source_plan *p, sl_error *err)
{
    p->batches = 40;
    p->rows = 40 * 41 / 2;
    return SL_OK;
}
static sl_status produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    sl_batch_set_rows(out, seq * (seq + 1) / 2, seq + 1);
    void *d;
    return sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err);
}
static sl_status count(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    return sl_batch_result_add_u64(b, "rows_seen", sl_batch_nrows(b), err);
}
static sl_status picky(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_CHECK(sl_batch_seq(b) != 7, SL_EKERNEL, "picky drops batch 7");
    return SL_OK;
}
static sl_status sink(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

#define DESC(var, nm, knd, md, ...)                                                      \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "t", .version = "0",         \
                                      .kind = knd, .mode = md, .create = st_create,       \
                                      __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = plan, .produce = produce);
DESC(count_desc, "count", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = count);
DESC(picky_desc, "picky", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = picky);
DESC(sink_desc, "sink", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink);
static const sl_param_spec rb_params[] = {SL_PARAM_UINT("rows", 16, 1, 1000, "rows"),
                                          SL_PARAM_END};
DESC(rb_desc, "rebatch", SL_KIND_TRANSFORM, SL_MODE_ORDERED, .process = sink,
     .params = rb_params, .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_REBATCH);

static uint64_t total(int threads, bool with_rebatch)
{
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    const sl_stage_desc *chain[] = {&src_desc, &count_desc, &picky_desc, &rb_desc, &sink_desc};
    sl_stage_policy skip = SL_STAGE_POLICY_DEFAULT;
    skip.on_error = SL_ON_ERROR_SKIP;
    for (int i = 0; i < 5; i++) {
        if (i == 3 && !with_rebatch)
            continue;
        sl_params *pa;
        cr_assert_eq(sl_params_create(&pa, chain[i]->params, chain[i]->name, &err), SL_OK);
        sl_stage_opts so = {0, 0, 0, i == 2 ? &skip : NULL};
        cr_assert_eq(sl_pipeline_add(p, chain[i], chain[i]->name, pa, &so, &err), SL_OK, "%s",
                     err.msg);
    }
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    const sl_ctx *c = sl_pipeline_ctx(p);
    uint64_t u = 0;
    for (size_t i = 0; i < sl_ctx_result_count(c); i++) {
        const char *key;
        uint64_t v;
        sl_ctx_result_get(c, i, &key, NULL, &v, NULL);
        if (strcmp(key, "rows_seen") == 0)
            u = v;
    }
    sl_pipeline_destroy(&p);
    return u;
}

Test(batch_results, totals_count_only_the_batches_that_went_through)
{
    /* 820 rows in all; batch 7 (8 rows) is given up after `count` saw it. */
    for (int threads = 1; threads <= 4; threads *= 2) {
        cr_assert_eq(total(threads, false), 812, "%d threads", threads);
        cr_assert_eq(total(threads, true), 812, "%d threads, with a rebatch", threads);
    }
}
