/* lib/pipeline/run.c - one run from start to published output.
 *
 * Order matters for durability: the batches run (executor.c), then every
 * instance's finish() (results published, the sink writes its attributes and
 * closes the file), and only then the output is renamed into place. Any
 * failure before the rename removes the temporary file, so the user's path
 * holds either the previous file or a complete new one. */
#include <stdio.h>
#include <stdlib.h>
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
    snprintf(buf, sizeof buf, "%d", p->nranks);
    SL_TRY(sl__pipeline_meta_set(p, "ranks", buf, err));
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

sl_status sl__run_finish(sl_pipeline *p, size_t from, size_t to, sl_error *err)
{
    for (size_t i = from; i < to && i < p->nstages; i++) {
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

sl_status sl__run_begin(sl_pipeline *p, int rank, int nranks, const char *sink_path,
                        bool record_rows, sl_error *err)
{
    SL_TRY(check_runnable(p, err));
    SL_CHECK(nranks >= 1 && rank >= 0 && rank < nranks, SL_EINVAL, "rank %d of %d", rank, nranks);
    p->ran = true;
    p->rank = rank;
    p->nranks = nranks;
    p->record_rows = record_rows;
    free(p->sink_path);
    p->sink_path = NULL;
    if (sink_path && p->output) {
        p->sink_path = strdup(sink_path);
        SL_CHECK(p->sink_path, SL_ENOMEM, "out of memory");
    }
    SL_TRY(sl_batch_pool_create(&p->pool, p->batch_bound ? p->batch_bound : 64, err));
    return set_start_meta(p, err);
}

sl_status sl__run_batches(sl_pipeline *p, const sl__feed *feed, sl_error *err)
{
    p->feed = feed;
    p->t0 = sl__now();
    sl_status s = sl__executor_run(p, err);
    p->wall = sl__now() - p->t0;
    p->feed = NULL;
    if (s == SL_OK)
        s = sl__run_set_wall(p, p->wall, err);
    return s;
}

sl_status sl__run_set_wall(sl_pipeline *p, double wall, sl_error *err)
{
    char buf[64];
    p->wall = wall;
    snprintf(buf, sizeof buf, "%.6f", wall);
    return sl__pipeline_meta_set(p, "wall_seconds", buf, err);
}

sl_status sl__run_commit(sl_pipeline *p, sl_error *err) { return sl__output_commit(p, err); }

void sl__run_discard(sl_pipeline *p)
{
    sl__output_discard(p);
    if (p->sink_path)
        unlink(p->sink_path);
}

sl_status sl_pipeline_run(sl_pipeline *p, sl_error *err)
{
    SL_TRY(check_runnable(p, err)); /* before anything is touched */
    sl_status s = sl__run_begin(p, 0, 1, NULL, false, err);
    if (s == SL_OK)
        s = sl__run_batches(p, NULL, err);
    if (s == SL_OK)
        s = sl__run_finish(p, 0, p->nstages, err);
    if (s == SL_OK)
        s = sl__output_commit(p, err);
    if (s != SL_OK) {
        sl__run_discard(p);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    return SL_OK;
}
