/* tests/unit/test_schema.c - columns known before the run (sluice/schema.h):
 * the schema's own operations, and the check the pipeline makes when a stage
 * is added: a missing column, a wrong type or shape fails sl_pipeline_add
 * with one line naming the column and where it comes from; a stage without
 * the callback leaves the columns unknown, and nothing after it is checked. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

static sl_error E;

Test(schema, describe_says_shape_type_and_origin)
{
    char buf[512];
    const uint64_t dims[2] = {3, 4};
    sl_schema_col c = {.name = "a", .type = SL_TYPE_F64, .ndims = 2, .dims = dims,
                       .origin = "in.h5:/a"};
    cr_assert_str_eq(sl_schema_describe(&c, buf, sizeof buf), "3 x 4 f64, from in.h5:/a");
    c.ndims = 0;
    c.origin = "";
    cr_assert_str_eq(sl_schema_describe(&c, buf, sizeof buf), "f64");
}

/* --- stages with columns callbacks ------------------------------------------------------- */

static int g_src_ncols = 2;     /* the source declares u64 'n' and, with 2, f64 'x' */
static bool g_mid_declares = true;

static sl_status src_plan(void *s, sl_source_plan *p, sl_error *err)
{
    p->batches = 4;
    p->rows = 4;
    return SL_OK;
}
static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    sl_batch_set_rows(out, seq, 1);
    void *d;
    SL_TRY(sl_batch_add(out, "n", SL_TYPE_U64, 0, NULL, &d, err));
    *(uint64_t *)d = seq;
    return SL_OK;
}
static sl_status src_columns(void *s, const sl_schema *in, sl_schema *out, sl_ctx *c,
                             sl_error *err)
{
    cr_assert_null(in, "a source sees no columns before it");
    cr_assert_eq(sl_schema_count(out), 0);
    SL_TRY(sl_schema_set(out, "n", SL_TYPE_U64, 0, NULL, "src.h5:/n", err));
    if (g_src_ncols > 1) {
        const uint64_t d[1] = {8};
        SL_TRY(sl_schema_set(out, "x", SL_TYPE_F64, 1, d, "src.h5:/x", err));
    }
    return SL_OK;
}
static sl_status pass(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

/* Needs u64 'n' and f64 vectors 'x'; replaces 'n' by 'm', drops 'x'. */
static sl_status mid_columns(void *s, const sl_schema *in, sl_schema *out, sl_ctx *c,
                             sl_error *err)
{
    sl_schema_col x;
    SL_TRY(sl_schema_need(in, "n", SL_TYPE_U64, 0, NULL, err));
    SL_TRY(sl_schema_need(in, "x", SL_TYPE_F64, 1, &x, err));
    cr_assert_eq(x.dims[0], 8);
    cr_assert_str_eq(x.origin, "src.h5:/x");
    cr_assert_eq(sl_schema_count(out), 2, "out starts as a copy of in");
    sl_schema_drop(out, "n");
    sl_schema_drop(out, "x");
    SL_TRY(sl_schema_set(out, "m", SL_TYPE_I32, 0, NULL, "stage 'mid'", err));
    return SL_OK;
}
static sl_status mid_or_none(void *s, const sl_schema *in, sl_schema *out, sl_ctx *c,
                             sl_error *err)
{
    return mid_columns(s, in, out, c, err);
}

static int g_sink_calls;
static char g_sink_seen[256];
static sl_status sink_columns(void *s, const sl_schema *in, sl_schema *out, sl_ctx *c,
                              sl_error *err)
{
    g_sink_calls++;
    g_sink_seen[0] = '\0';
    for (size_t i = 0; i < sl_schema_count(in); i++) {
        sl_schema_col col;
        cr_assert(sl_schema_at(in, i, &col));
        strncat(g_sink_seen, col.name, sizeof g_sink_seen - strlen(g_sink_seen) - 2);
        strcat(g_sink_seen, ",");
    }
    return sl_schema_need(in, "m", SL_TYPE_I32, 0, NULL, err);
}

static sl_status make(void **st, const sl_params *p, sl_ctx *c, sl_error *err)
{
    static char x;
    *st = &x;
    return SL_OK;
}

#define DESC(var, nm, knd, ...)                                                            \
    static sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc),        \
                                .name = nm, .summary = "t", .version = "0", .kind = knd,   \
                                .mode = SL_MODE_PARALLEL, .create = make, __VA_ARGS__}
DESC(src_d, "src", SL_KIND_SOURCE, .plan = src_plan, .produce = src_produce,
     .columns = src_columns);
DESC(mid_d, "mid", SL_KIND_TRANSFORM, .process = pass, .columns = mid_or_none);
DESC(sink_d, "sink", SL_KIND_SINK, .process = pass, .columns = sink_columns);

static sl_params *none(const char *owner)
{
    sl_params *p = NULL;
    cr_assert_eq(sl_params_create(&p, NULL, owner, &E), SL_OK, "%s", E.msg);
    return p;
}

/* src -> mid -> sink; returns the status of the first add that fails. */
static sl_status build(sl_pipeline **out)
{
    sl_pipeline_opts o = {.threads = 2};
    cr_assert_eq(sl_pipeline_create(out, &o, &E), SL_OK, "%s", E.msg);
    mid_d.columns = g_mid_declares ? mid_or_none : NULL;
    sl_status s = sl_pipeline_add(*out, &src_d, "src", none("src"), NULL, &E);
    if (s == SL_OK)
        s = sl_pipeline_add(*out, &mid_d, "mid", none("mid"), NULL, &E);
    return s == SL_OK ? sl_pipeline_add(*out, &sink_d, "sink", none("sink"), NULL, &E) : s;
}

Test(schema, columns_flow_from_the_source_through_each_stage)
{
    g_src_ncols = 2;
    g_mid_declares = true;
    g_sink_calls = 0;
    sl_pipeline *p = NULL;
    cr_assert_eq(build(&p), SL_OK, "%s", E.msg);
    cr_assert_eq(g_sink_calls, 1);
    cr_assert_str_eq(g_sink_seen, "m,");
    cr_assert_eq(sl_pipeline_run(p, &E), SL_OK, "%s", E.msg);
    sl_pipeline_destroy(&p);
}

Test(schema, a_missing_column_fails_the_add_naming_what_there_is)
{
    g_src_ncols = 1;
    g_mid_declares = true;
    sl_pipeline *p = NULL;
    cr_assert_eq(build(&p), SL_ENOTFOUND);
    cr_assert_str_eq(E.msg, "stage 'mid': needs column 'x', which no stage before it makes "
                              "(the columns are: n)");
    sl_pipeline_destroy(&p);
}

/* A transform that needs column 'x' as g_need_type with g_need_ndims. */
static sl_type g_need_type;
static int g_need_ndims;
static sl_status need_x(void *s, const sl_schema *in, sl_schema *out, sl_ctx *c, sl_error *err)
{
    return sl_schema_need(in, "x", g_need_type, g_need_ndims, NULL, err);
}
DESC(need_d, "need", SL_KIND_TRANSFORM, .process = pass, .columns = need_x);

static sl_status add_need(sl_type t, int ndims)
{
    g_src_ncols = 2;
    g_need_type = t;
    g_need_ndims = ndims;
    sl_pipeline *p = NULL;
    sl_pipeline_opts o = {.threads = 1};
    cr_assert_eq(sl_pipeline_create(&p, &o, &E), SL_OK, "%s", E.msg);
    cr_assert_eq(sl_pipeline_add(p, &src_d, "src", none("src"), NULL, &E), SL_OK, "%s",
                 E.msg);
    sl_status s = sl_pipeline_add(p, &need_d, "need", none("need"), NULL, &E);
    sl_pipeline_destroy(&p);
    return s;
}

Test(schema, a_wrong_type_or_shape_names_the_origin)
{
    cr_assert_eq(add_need(SL_TYPE_U64, 1), SL_EINVAL);
    cr_assert_str_eq(E.msg, "stage 'need': column 'x' is 8 f64, from src.h5:/x, needs u64");
    cr_assert_eq(add_need(SL_TYPE_F64, 0), SL_EINVAL);
    cr_assert_str_eq(E.msg, "stage 'need': column 'x' is 8 f64, from src.h5:/x, needs one "
                              "value per row");
    cr_assert_eq(add_need(SL_TYPE_F64, 1), SL_OK, "%s", E.msg);
    cr_assert_eq(add_need(SL_TYPE_F64, -1), SL_OK, "%s", E.msg);
}

Test(schema, after_a_stage_without_the_callback_nothing_is_checked)
{
    g_src_ncols = 1; /* mid would refuse: it needs 'x' */
    g_mid_declares = false;
    g_sink_calls = 0;
    sl_pipeline *p = NULL;
    cr_assert_eq(build(&p), SL_OK, "%s", E.msg);
    cr_assert_eq(g_sink_calls, 0, "the sink was checked against unknown columns");
    sl_pipeline_destroy(&p);
}
