/* lib/pipeline/build.c - from a job file to a pipeline ready to run.
 *
 * Each stage entry is resolved against the plugin registry and each parameter
 * text is checked against the stage's own table, so a mistake is reported
 * with the file:line:col of the text that caused it, before anything runs. */
#include <stdio.h>
#include <string.h>

#include "pipeline/limits.h"
#include "pipeline/pipeline_impl.h"

sl_status sl__run_add_job_stage(sl_pipeline *p, const sl_job_stage *js, sl_registry *reg,
                                sl_error *err)
{
    const sl_stage_desc *d;
    const char *path;
    sl_status s = sl_registry_find(reg, js->plugin, &d, &path, err);
    if (s != SL_OK) {
        sl_error_prefix(err, "%s", js->origin);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    sl_params *params;
    SL_TRY(sl_params_create(&params, d->params, js->name, err));
    for (size_t k = 0; k < js->nparams; k++) {
        s = sl_params_set(params, js->params[k].key, js->params[k].value, js->params[k].origin,
                          err);
        if (s != SL_OK) {
            sl_params_destroy(&params);
            return sl_error_push(err, s, __FILE__, __LINE__, __func__);
        }
    }
    sl_stage_opts so = {js->concurrency, js->queue, js->mode, &js->policy};
    s = sl_pipeline_add(p, d, js->name, params, &so, err);
    if (s != SL_OK) {
        if (strncmp(err->msg, js->origin, strlen(js->origin)) != 0)
            sl_error_prefix(err, "%s", js->origin);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    return SL_OK;
}

sl_status sl_pipeline_from_job(sl_pipeline **out, const sl_job *job, sl_registry *reg,
                               const sl_pipeline_opts *opts, sl_error *err)
{
    *out = NULL;
    sl_pipeline_opts o = opts ? *opts : (sl_pipeline_opts){0};
    /* The job's own string (the CLI passes it when -o is absent) came from
     * the file, which may be someone else's: it must stay under the current
     * directory. Any other string is the caller's, e.g. -o. */
    if (!o.output || o.output == sl_job_output(job)) {
        o.output = sl_job_output(job);
        if (o.output)
            SL_TRY(sl__limit_job_output(o.output, sl_job_path(job), err));
    }
    if (o.threads == 0)
        o.threads = sl_job_threads(job);
    if (!o.job_name)
        o.job_name = sl_job_name(job);
    if (!o.job_text)
        o.job_text = sl_job_text(job);
    SL_CHECK(sl_job_nstages(job) > 0, SL_EINVAL, "%s: the job has no stages", sl_job_path(job));
    sl_pipeline *p;
    SL_TRY(sl_pipeline_create(&p, &o, err));
    sl_status s = SL_OK;
    for (size_t i = 0; i < sl_job_nstages(job) && s == SL_OK; i++)
        s = sl__run_add_job_stage(p, sl_job_stage_at(job, i), reg, err);
    if (s == SL_OK)
        s = sl__limit_batches(sl__run_total_batches(p), p->stages[0].name,
                              sl_job_stage_at(job, 0)->origin, err);
    const pl_stage *last = s == SL_OK ? &p->stages[p->nstages - 1] : NULL;
    if (last && (last->desc->flags & SL_STAGE_WRITES_FILE) && !o.output)
        s = SL_FAIL(SL_EINVAL,
                    "%s: stage '%s' writes a file but no output is named (use -o PATH or "
                    "'output:' in the job file)",
                    sl_job_path(job), last->name);
    if (s != SL_OK) {
        sl_pipeline_destroy(&p);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    *out = p;
    return SL_OK;
}
