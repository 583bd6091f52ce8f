/* lib/job/override.c - changing a loaded job: STAGE.KEY=VALUE, -o and -t.
 *
 * The YAML reader sets the fixed stage keys, the failure-policy keys
 * (policy.c) and parameters through the same setters, so "concurrency: 0" in
 * a file and "primes.concurrency=0" on the command line fail with the same
 * words. Parameter values stay text here; they are checked against the
 * stage's table when the pipeline is built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>
#include <sluice/stage.h>

#include "job/job_impl.h"

static const char *const mode_names[] = {"parallel", "serial", "ordered"};
static const int mode_values[] = {SL_MODE_PARALLEL, SL_MODE_SERIAL, SL_MODE_ORDERED};
#define NMODES (sizeof mode_names / sizeof mode_names[0])

char *sl__job_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool sl__job_is_field(const char *key)
{
    return strcmp(key, "concurrency") == 0 || strcmp(key, "queue") == 0 ||
           strcmp(key, "mode") == 0 || strcmp(key, "ranks") == 0;
}

/* Parses text as an integer in lo .. hi; `what` starts every message. */
static sl_status int_in(const char *text, const char *what, int64_t lo, int64_t hi, int *out,
                        sl_error *err)
{
    int64_t v = 0;
    SL_TRY(sl_parse_int(text, what, &v, err));
    SL_CHECK(v >= lo, SL_ERANGE, "%s=%s is below minimum %lld", what, text, (long long)lo);
    SL_CHECK(v <= hi, SL_ERANGE, "%s=%s exceeds maximum %lld", what, text, (long long)hi);
    *out = (int)v;
    return SL_OK;
}

static sl_status parse_mode(const char *text, const char *what, int *out, sl_error *err)
{
    for (size_t i = 0; i < NMODES; i++) {
        if (strcmp(text, mode_names[i]) == 0) {
            *out = mode_values[i];
            return SL_OK;
        }
    }
    const char *near = sl_nearest(text, mode_names, NMODES);
    char hint[64] = "";
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return SL_FAIL(SL_EINVAL, "%s='%s' is not one of parallel|serial|ordered%s", what, text,
                   hint);
}

/* Replaces *slot with a copy of s; false (and *slot unchanged) when out of memory. */
static bool replace(char **slot, const char *s)
{
    char *d = sl__job_strdup(s);
    if (!d)
        return false;
    free(*slot);
    *slot = d;
    return true;
}

/* Keeps the text as written: the rank count that gives it meaning is known
 * only at run time (placement.c). Parsing now finds a malformed list while
 * the job is validated instead of after MPI has started. */
static sl_status set_ranks(sl_job_stage *st, const char *text, const char *origin,
                           sl_error *err)
{
    char what[192];
    snprintf(what, sizeof what, "stage '%s'", st->name);
    sl__ranks r;
    SL_TRY(sl__ranks_parse(&r, text, what, err));
    sl__ranks_clear(&r);
    char *t = sl__job_strdup(text), *o = sl__job_strdup(origin ? origin : "command line");
    if (!t || !o) {
        free(t);
        free(o);
        return SL_FAIL(SL_ENOMEM, "out of memory setting the ranks of stage '%s'", st->name);
    }
    free(st->ranks);
    free(st->ranks_origin);
    st->ranks = t;
    st->ranks_origin = o;
    return SL_OK;
}

sl_status sl__job_stage_field(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err)
{
    char what[256];
    snprintf(what, sizeof what, "stage '%s': %s", st->name, key);
    sl_status s;
    if (strcmp(key, "ranks") == 0)
        s = set_ranks(st, text, origin, err);
    else if (strcmp(key, "concurrency") == 0)
        s = int_in(text, what, 1, SL_JOB_CONCURRENCY_MAX, &st->concurrency, err);
    else if (strcmp(key, "queue") == 0)
        s = int_in(text, what, 1, SL_JOB_QUEUE_MAX, &st->queue, err);
    else if (strcmp(key, "mode") == 0)
        s = parse_mode(text, what, &st->mode, err);
    else
        s = SL_FAIL(SL_EINVAL, "stage '%s': '%s' is not a stage setting", st->name, key);
    if (s != SL_OK && origin)
        sl_error_prefix(err, "%s", origin);
    return s;
}

sl_status sl__job_stage_param(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err)
{
    for (size_t i = 0; i < st->nparams; i++) {
        if (strcmp(st->params[i].key, key) == 0) {
            SL_CHECK(replace(&st->params[i].value, text) &&
                         replace(&st->params[i].origin, origin),
                     SL_ENOMEM, "out of memory setting parameter '%s'", key);
            return SL_OK;
        }
    }
    sl_job_kv *grown = realloc(st->params, (st->nparams + 1) * sizeof *grown);
    SL_CHECK(grown, SL_ENOMEM, "out of memory adding parameter '%s'", key);
    st->params = grown;
    sl_job_kv kv = {sl__job_strdup(key), sl__job_strdup(text), sl__job_strdup(origin)};
    if (!kv.key || !kv.value || !kv.origin) {
        free(kv.key);
        free(kv.value);
        free(kv.origin);
        return SL_FAIL(SL_ENOMEM, "out of memory adding parameter '%s'", key);
    }
    st->params[st->nparams++] = kv;
    return SL_OK;
}

sl_status sl__job_set_threads(sl_job *job, const char *text, const char *origin, sl_error *err)
{
    sl_status s = int_in(text, "threads", 1, SL_JOB_THREADS_MAX, &job->threads, err);
    if (s != SL_OK && origin)
        sl_error_prefix(err, "%s", origin);
    return s;
}

void sl__job_stage_clear(sl_job_stage *st)
{
    for (size_t i = 0; i < st->nparams; i++) {
        free(st->params[i].key);
        free(st->params[i].value);
        free(st->params[i].origin);
    }
    free(st->params);
    free(st->name);
    free(st->plugin);
    free(st->origin);
    free(st->ranks);
    free(st->ranks_origin);
    memset(st, 0, sizeof *st);
}

/* "no stage 'x' in the job (did you mean 'y'?)" or the list of its stages. */
static sl_status unknown_stage(const sl_job *job, const char *name, const char *assignment,
                               sl_error *err)
{
    const char **names = calloc(job->nstages + 1, sizeof *names);
    SL_CHECK(names, SL_ENOMEM, "out of memory");
    char list[SL_ERROR_MSG_MAX / 2] = "";
    size_t len = 0;
    for (size_t i = 0; i < job->nstages; i++) {
        names[i] = job->stages[i].name;
        if (len < sizeof list) {
            int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    const char *near = sl_nearest(name, names, job->nstages);
    char hint[SL_ERROR_MSG_MAX / 2 + 16];
    if (near)
        snprintf(hint, sizeof hint, "did you mean '%s'?", near);
    else
        snprintf(hint, sizeof hint, "it has: %s", list);
    free(names);
    return SL_FAIL(SL_ENOTFOUND, "command line: no stage '%s' in the job for '%s' (%s)", name,
                   assignment, hint);
}

static sl_status override(sl_job *job, const char *assignment, sl_error *err)
{
    SL_CHECK(job && assignment, SL_EINVAL, "sl_job_override: NULL argument");
    const char *eq = strchr(assignment, '=');
    const char *dot = eq ? memchr(assignment, '.', (size_t)(eq - assignment)) : NULL;
    SL_CHECK(eq && dot && dot > assignment && dot + 1 < eq && eq[1], SL_EINVAL,
             "command line: '%s' is not STAGE.PARAM=VALUE", assignment);
    char *lhs = sl__job_strdup(assignment);
    SL_CHECK(lhs, SL_ENOMEM, "out of memory");
    char *name = lhs, *key = lhs + (dot - assignment) + 1;
    const char *value = eq + 1;
    lhs[dot - assignment] = '\0';
    lhs[eq - assignment] = '\0';
    sl_job_stage *st = NULL;
    for (size_t i = 0; i < job->nstages && !st; i++)
        if (strcmp(job->stages[i].name, name) == 0)
            st = &job->stages[i];
    sl_status s;
    if (!st)
        s = unknown_stage(job, name, assignment, err);
    else if (sl__job_is_field(key))
        s = sl__job_stage_field(st, key, value, "command line", err);
    else if (sl__job_is_policy(key))
        s = sl__job_stage_policy(st, key, value, "command line", err);
    else
        s = sl__job_stage_param(st, key, value, "command line", err);
    free(lhs);
    return s;
}

sl_status sl_job_override(sl_job *job, const char *assignment, sl_error *err)
{
    return override(job, assignment, err);
}

sl_status sl_job_set_output(sl_job *job, const char *path, sl_error *err)
{
    SL_CHECK(job, SL_EINVAL, "sl_job_set_output: job is NULL");
    SL_CHECK(path && *path, SL_EINVAL, "command line: the output path is empty");
    SL_CHECK(replace(&job->output, path), SL_ENOMEM, "out of memory setting the output path");
    return SL_OK;
}
