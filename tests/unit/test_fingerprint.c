/* tests/unit/test_fingerprint.c - what a resume compares (sluice/resume.h):
 * the same job gives the same fingerprint whatever the threads, concurrency
 * and queues; a changed parameter, mode, failure outcome, plan or stage list
 * is one line each, naming the stage, the setting and both values. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/resume.h>
#include <sluice/sluice.h>

static sl_status st_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *state = (void *)p;
    return SL_OK;
}

static sl_status src_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = sl_params_uint(s, "count");
    plan->rows = plan->batches;
    return SL_OK;
}

static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    return SL_OK;
}

static sl_status pass(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

static const sl_param_spec src_params[] = {
    SL_PARAM_UINT("count", 10, 0, 1000, "batches"),
    SL_PARAM_FLOAT("scale", 1.5, 0, 10, "a float"),
    SL_PARAM_END,
};
static const sl_stage_desc src_desc = {
    .abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), .name = "src", .summary = "t",
    .version = "1.2.0", .kind = SL_KIND_SOURCE, .mode = SL_MODE_PARALLEL, .params = src_params,
    .create = st_create, .plan = src_plan, .produce = src_produce};
static const sl_stage_desc pass_desc = {
    .abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), .name = "pass", .summary = "t",
    .version = "0.1", .kind = SL_KIND_TRANSFORM, .mode = SL_MODE_PARALLEL,
    .create = st_create, .process = pass};

typedef struct spec {
    int threads, conc, queue, mode;
    const char *count, *scale;
    sl_on_error on_error;
    double rate;
    bool extra;
} spec;

static char *fingerprint(spec s)
{
    sl_pipeline_opts o = {.threads = s.threads ? s.threads : 1};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    sl_params *sp;
    cr_assert_eq(sl_params_create(&sp, src_params, "src", &err), SL_OK);
    if (s.count)
        cr_assert_eq(sl_params_set(sp, "count", s.count, "t", &err), SL_OK, "%s", err.msg);
    if (s.scale)
        cr_assert_eq(sl_params_set(sp, "scale", s.scale, "t", &err), SL_OK, "%s", err.msg);
    sl_stage_opts so = {0, 0, 0, NULL};
    cr_assert_eq(sl_pipeline_add(p, &src_desc, "src", sp, &so, &err), SL_OK, "%s", err.msg);
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.on_error = s.on_error;
    q.rate = s.rate;
    sl_stage_opts po = {s.conc, s.queue, s.mode, &q};
    sl_params *pp;
    cr_assert_eq(sl_params_create(&pp, NULL, "work", &err), SL_OK);
    cr_assert_eq(sl_pipeline_add(p, &pass_desc, "work", pp, &po, &err), SL_OK, "%s", err.msg);
    if (s.extra) {
        cr_assert_eq(sl_params_create(&pp, NULL, "more", &err), SL_OK);
        cr_assert_eq(sl_pipeline_add(p, &pass_desc, "more", pp, &so, &err), SL_OK, "%s", err.msg);
    }
    char *fp;
    cr_assert_eq(sl_pipeline_fingerprint(p, &fp, &err), SL_OK, "%s", err.msg);
    sl_pipeline_destroy(&p);
    return fp;
}

static size_t diff(spec a, spec b, char *buf, size_t cap)
{
    char *fa = fingerprint(a), *fb = fingerprint(b);
    size_t n = sl_fingerprint_diff(fa, fb, buf, cap);
    free(fa);
    free(fb);
    return n;
}

Test(fingerprint, how_fast_is_not_what)
{
    char buf[1024];
    spec a = {.threads = 1};
    spec b = {.threads = 4, .conc = 3, .queue = 9, .rate = 50, .count = "10", .scale = "1.50"};
    char *fa = fingerprint(a), *fb = fingerprint(b);
    cr_assert_str_eq(fa, fb, "threads, concurrency, queues, rate or spelling changed it");
    cr_assert_eq(sl_fingerprint_diff(fa, fb, buf, sizeof buf), 0, "%s", buf);
    cr_assert(strstr(fa, "stage src\tparam count\t10\n"), "%s", fa);
    cr_assert(strstr(fa, "stage src\tversion\t1.2.0\n"), "%s", fa);
    free(fa);
    free(fb);
}

Test(fingerprint, a_parameter_and_the_plan)
{
    char buf[1024];
    spec a = {0}, b = {.count = "20"};
    cr_assert_eq(diff(a, b, buf, sizeof buf), 3, "%s", buf);
    cr_assert(strstr(buf, "the source's plan (batches) was 10, is now 20\n"), "%s", buf);
    cr_assert(strstr(buf, "the source's plan (rows) was 10, is now 20\n"), "%s", buf);
    cr_assert(strstr(buf, "stage 'src' parameter 'count' was 10, is now 20\n"), "%s", buf);
}

Test(fingerprint, mode_and_failure_outcome)
{
    char buf[1024];
    spec a = {0}, b = {.mode = SL_MODE_ORDERED, .on_error = SL_ON_ERROR_DEADLETTER};
    cr_assert_eq(diff(a, b, buf, sizeof buf), 2, "%s", buf);
    cr_assert(strstr(buf, "stage 'work' mode was parallel, is now ordered\n"), "%s", buf);
    cr_assert(strstr(buf, "stage 'work' on_error was abort, is now deadletter\n"), "%s", buf);
}

Test(fingerprint, stages_added_or_gone)
{
    char buf[1024];
    spec a = {0}, b = {.extra = true};
    cr_assert_gt(diff(a, b, buf, sizeof buf), 0);
    cr_assert(strstr(buf, "the stage list was src,work, is now src,work,more\n"), "%s", buf);
    cr_assert(strstr(buf, "stage 'more' is new\n"), "%s", buf);
    cr_assert_gt(diff(b, a, buf, sizeof buf), 0);
    cr_assert(strstr(buf, "stage 'more' was in the job, is not any more\n"), "%s", buf);
}

Test(fingerprint, a_small_buffer_cuts_at_a_line_end)
{
    char buf[60];
    spec a = {0}, b = {.count = "20", .scale = "2"};
    size_t n = diff(a, b, buf, sizeof buf);
    cr_assert_eq(n, 4, "batches, rows, count and scale, whatever fits");
    size_t len = strlen(buf);
    cr_assert(len == 0 || buf[len - 1] == '\n', "cut mid-line: <%s>", buf);
}
