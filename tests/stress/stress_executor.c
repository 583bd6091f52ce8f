/* tests/stress/stress_executor.c - the executor on 4 threads in every mode
 * and queue size, without Criterion so ThreadSanitizer (with LLVM's OpenMP
 * runtime) can watch it. Checks that every batch arrives exactly once and
 * ordered stages see seq in order; exit status 1 otherwise. The same again
 * with a failure policy on the first transform: retried batches (parked,
 * input restored) arrive once, dead-lettered ones never, and the ordered
 * stage moves past them. And with a rebatch to 3 rows in place of the
 * ordered stage: every row once. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#define BATCHES 2000u

static atomic_uint seen[BATCHES];
static atomic_uint order_errors;
static atomic_uint attempts[BATCHES];
static int with_policy;

/* With the policy: every 7th batch fails its first attempt, every 50th (from
 * 3) fails always and is dead-lettered. */
static int dropped(uint64_t seq) { return with_policy == 1 && seq % 50 == 3; }

static sl_status plan(void *s, sl_source_plan *p, sl_error *err)
{
    p->batches = BATCHES;
    p->rows = BATCHES;
    return SL_OK;
}

static sl_status produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    void *d;
    sl_batch_set_rows(out, seq, 1);
    SL_TRY(sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err));
    *(uint64_t *)d = seq * 3;
    return SL_OK;
}

/* Row r of every batch holds 3 x its row number (one row per batch from the
 * source; after a rebatch, several). */
static sl_status touch(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    const void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, &d, err));
    for (size_t r = 0; r < sl_batch_nrows(b); r++)
        SL_CHECK(((const uint64_t *)d)[r] == (sl_batch_row0(b) + r) * 3, SL_EINVAL,
                 "corrupt batch");
    return SL_OK;
}

static sl_status ordered(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    uint64_t *next = s; /* instance state: written by one task at a time */
    while (dropped(*next))
        ++*next;
    if (sl_batch_seq(b) != *next)
        atomic_fetch_add(&order_errors, 1);
    *next = sl_batch_seq(b) + 1;
    return touch(s, b, c, err);
}

/* Changes the batch in place, then fails: a retry must see it as it came. */
static sl_status flaky(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_TRY(touch(s, b, c, err));
    uint64_t seq = sl_batch_seq(b);
    void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, (const void **)&d, err));
    *(uint64_t *)d += 1;
    unsigned a = atomic_fetch_add(&attempts[seq], 1);
    SL_CHECK(!dropped(seq) && !(seq % 7 == 0 && a == 0), SL_EKERNEL, "flaky");
    *(uint64_t *)d -= 1;
    return SL_OK;
}

static sl_status sink(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    for (size_t r = 0; r < sl_batch_nrows(b); r++)
        atomic_fetch_add(&seen[sl_batch_row0(b) + r], 1);
    return touch(s, b, c, err);
}

static sl_status create(void **st, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *st = calloc(1, sizeof(uint64_t));
    return *st ? SL_OK : SL_ENOMEM;
}

#define STAGE(nm, knd, md, ...)                                                             \
    {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), .name = nm, .summary = "stress", \
     .version = "0", .kind = knd, .mode = md, .create = create, .destroy = free, __VA_ARGS__}
static const sl_stage_desc d_src = STAGE("src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = plan, .produce = produce);
static const sl_stage_desc d_par = STAGE("par", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = touch);
static const sl_stage_desc d_ord = STAGE("ord", SL_KIND_TRANSFORM, SL_MODE_ORDERED, .process = ordered);
static const sl_stage_desc d_snk = STAGE("snk", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink);
static const sl_stage_desc d_flk = STAGE("flk", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = flaky);
static const sl_param_spec rb_params[] = {SL_PARAM_UINT("rows", 3, 1, 100, "rows"), SL_PARAM_END};
static const sl_stage_desc d_rb = STAGE("rb", SL_KIND_TRANSFORM, SL_MODE_ORDERED, .process = touch,
                                        .params = rb_params,
                                        .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_REBATCH);

static int run(int threads, int queue, int mode)
{
    sl_error err;
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p;
    const sl_stage_desc *chain[] = {&d_src, with_policy == 1 ? &d_flk : &d_par,
                                    with_policy == 2 ? &d_rb : &d_ord, &d_par, &d_snk};
    const char *names[] = {"src", "a", "ord", "b", "snk"};
    sl_stage_policy pol = SL_STAGE_POLICY_DEFAULT;
    pol.retries = 1;
    pol.backoff_s = 0.0005;
    pol.on_error = SL_ON_ERROR_DEADLETTER;
    int rc = 1;
    memset(seen, 0, sizeof seen);
    memset(attempts, 0, sizeof attempts);
    atomic_store(&order_errors, 0);
    if (sl_pipeline_create(&p, &o, &err) != SL_OK)
        goto out;
    for (int i = 0; i < 5; i++) {
        sl_params *params;
        sl_stage_opts so = {0, queue, i == 1 ? mode : 0, i == 1 && with_policy == 1 ? &pol : NULL};
        if (sl_params_create(&params, chain[i]->params, names[i], &err) != SL_OK ||
            sl_pipeline_add(p, chain[i], names[i], params, &so, &err) != SL_OK)
            goto out;
    }
    if (sl_pipeline_run(p, &err) != SL_OK)
        goto out;
    rc = atomic_load(&order_errors) != 0;
    for (unsigned i = 0; i < BATCHES; i++)
        if (atomic_load(&seen[i]) != (dropped(i) ? 0u : 1u))
            rc = 1;
    if (with_policy == 1 && sl_ctx_deadletter_count(sl_pipeline_ctx(p)) != BATCHES / 50)
        rc = 1;
    if (rc)
        snprintf(err.msg, sizeof err.msg, "lost, doubled or misordered batches");
out:
    if (rc)
        fprintf(stderr, "threads %d queue %d mode %d%s: %s\n", threads, queue, mode,
                with_policy == 1 ? " with retries and dead letters"
                : with_policy == 2 ? " with a rebatch" : "",
                err.msg);
    sl_pipeline_destroy(&p);
    return rc;
}

int main(void)
{
    int fails = 0;
    for (with_policy = 0; with_policy <= 2; with_policy++)
        for (int q = 1; q <= 4; q += 3)
            for (int m = SL_MODE_PARALLEL; m <= SL_MODE_ORDERED; m++)
                fails += run(4, q, m);
    printf("stress_executor: %s\n", fails ? "FAILED" : "every batch once, in order where ordered");
    return fails != 0;
}
