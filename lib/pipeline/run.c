/* lib/pipeline/run.c - one run from start to published output.
 *
 * Order matters for durability: the batches run (executor.c), then every
 * instance's finish() (results published, the sink writes its attributes and
 * closes the file), and only then the output is renamed into place. Any
 * failure before the rename removes the temporary file, so the user's path
 * holds either the previous file or a complete new one. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/pipeline_impl.h"

static sl_status set_start_meta(sl_pipeline *p, sl_error *err)
{
    char buf[64];
    SL_TRY(sl__pipeline_meta_set(p, "job_name", p->job_name, err));
    SL_TRY(sl__pipeline_meta_set(p, "job_yaml", p->job_text, err));
    SL_TRY(sl__pipeline_meta_set(p, "sluice_version", SL_VERSION_STRING, err));
    snprintf(buf, sizeof buf, "%d", p->threads);
    SL_TRY(sl__pipeline_meta_set(p, "threads", buf, err));
    SL_TRY(sl__pipeline_meta_set(p, "ranks", "1", err));
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    SL_TRY(sl__pipeline_meta_set(p, "started_utc", buf, err));
    if (gethostname(buf, sizeof buf) != 0)
        snprintf(buf, sizeof buf, "unknown");
    buf[sizeof buf - 1] = '\0';
    SL_TRY(sl__pipeline_meta_set(p, "host", buf, err));
    return SL_OK;
}

static sl_status finish_all(sl_pipeline *p, sl_error *err)
{
    for (size_t i = 0; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        if (!st->desc->finish)
            continue;
        for (int k = 0; k < st->ninst_created; k++) {
            sl_status s = st->desc->finish(st->inst[k], &st->ctx, err);
            if (s != SL_OK) {
                sl_error_prefix(err, "stage '%s' (finish)", st->name);
                return sl_error_push(err, s, __FILE__, __LINE__, __func__);
            }
        }
    }
    return SL_OK;
}

static sl_status check_runnable(const sl_pipeline *p, sl_error *err)
{
    SL_CHECK(!p->ran, SL_EINVAL, "the pipeline has run already");
    SL_CHECK(!p->validate_only, SL_EINVAL, "the pipeline was built to be validated, not run");
    SL_CHECK(p->nstages > 0, SL_EINVAL, "the pipeline has no stages");
    const pl_stage *last = &p->stages[p->nstages - 1];
    SL_CHECK(!(last->desc->flags & SL_STAGE_WRITES_FILE) || p->output, SL_EINVAL,
             "stage '%s' writes a file but no output is named (use -o PATH or 'output:' in "
             "the job file)",
             last->name);
    return SL_OK;
}

sl_status sl_pipeline_run(sl_pipeline *p, sl_error *err)
{
    SL_TRY(check_runnable(p, err));
    p->ran = true;
    sl_status s = sl_batch_pool_create(&p->pool, p->batch_bound ? p->batch_bound : 64, err);
    if (s == SL_OK)
        s = set_start_meta(p, err);
    if (s == SL_OK) {
        p->t0 = sl__now();
        s = sl__executor_run(p, err);
        p->wall = sl__now() - p->t0;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f", p->wall);
    if (s == SL_OK)
        s = sl__pipeline_meta_set(p, "wall_seconds", buf, err);
    if (s == SL_OK)
        s = finish_all(p, err);
    if (s == SL_OK)
        s = sl__output_commit(p, err);
    if (s != SL_OK) {
        sl__output_discard(p);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    return SL_OK;
}
