/* lib/job/dist.c - the `distribution:` settings: schedule, chunk, weights, route.
 *
 * The YAML reader (job.c) and the command line (--schedule, --chunk,
 * --weights) set every value through sl__job_dist_set, so a value is judged,
 * and its error worded, the same way wherever it came from; only the words
 * before the quoted value differ ("t.yaml:3:13: distribution: chunk" or
 * "--chunk:"). A value replaces the old one only once it has parsed, so a
 * failed setting leaves the job as it was.
 *
 * Settings that contradict each other are refused rather than ignored,
 * because a job that silently drops its weights runs, just slowly, and
 * nobody finds out why. The one exception is the command line overriding the
 * file: a --schedule or --chunk that makes the file's weights meaningless
 * drops them, so trying another schedule does not mean editing the file. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>
#include <sluice/placement.h>

#include "job/job_impl.h"

static const char *const schedule_names[] = {"static", "dynamic", "guided"};
static const char *const route_names[] = {"round_robin", "least_outstanding", "weighted"};
#define NSCHEDULES (sizeof schedule_names / sizeof schedule_names[0])
#define NROUTES (sizeof route_names / sizeof route_names[0])

#define CMDLINE "command line"

/* The words before a quoted value: "<origin>: distribution: KEY" for the
 * file, "--KEY:" for the command line. */
static void label(char *buf, size_t cap, const char *key, const char *origin)
{
    if (origin)
        snprintf(buf, cap, "%s: distribution: %s", origin, key);
    else
        snprintf(buf, cap, "--%s:", key);
}

/* How a conflict message names a value: "t.yaml:5:12: distribution: weights"
 * or "--weights" (the subject), or "t.yaml:5:12" / "--weights" / "the
 * default" (a reference in parentheses). */
static void subject(char *buf, size_t cap, const char *key, const char *origin)
{
    if (!origin || strcmp(origin, CMDLINE) == 0)
        snprintf(buf, cap, "--%s", key);
    else
        snprintf(buf, cap, "%s: distribution: %s", origin, key);
}

static void reference(char *buf, size_t cap, const char *key, const char *origin)
{
    if (!origin)
        snprintf(buf, cap, "the default");
    else if (strcmp(origin, CMDLINE) == 0)
        snprintf(buf, cap, "--%s", key);
    else
        snprintf(buf, cap, "%s", origin);
}

static sl_status enum_value(const char *lab, const char *text, const char *const *names,
                            size_t n, const char *choices, int *out, sl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return SL_OK;
        }
    }
    const char *near = sl_nearest(text, names, n);
    char hint[64] = "";
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return SL_FAIL(SL_EINVAL, "%s '%s' is not %s%s", lab, text, choices, hint);
}

static sl_status chunk_value(const char *lab, const char *text, uint64_t *out, sl_error *err)
{
    sl_error scratch; /* sl_parse_uint's own words would repeat the label */
    uint64_t v = 0;
    sl_status s = sl_parse_uint(text, NULL, &v, &scratch);
    SL_CHECK(s != SL_EINVAL, SL_EINVAL, "%s '%s' is not an integer", lab, text);
    SL_CHECK(s == SL_OK || text[0] == '-', SL_ERANGE, "%s '%s' exceeds maximum %" PRIu64, lab,
             text, UINT64_MAX);
    SL_CHECK(s == SL_OK && v >= 1, SL_ERANGE, "%s '%s' is below minimum 1", lab, text);
    *out = v;
    return SL_OK;
}

/* Item `index` (1-based) of a weight list. */
static sl_status weight_value(const char *lab, size_t index, const char *text, double *out,
                              sl_error *err)
{
    sl_error scratch;
    double v = 0;
    sl_status s = sl_parse_float(text, NULL, &v, &scratch);
    SL_CHECK(s != SL_EINVAL, SL_EINVAL, "%s item %zu '%s' is not a number", lab, index, text);
    SL_CHECK(s == SL_OK, SL_ERANGE, "%s item %zu '%s' is not a finite number", lab, index, text);
    SL_CHECK(v > 0, SL_ERANGE, "%s item %zu '%s' is not positive", lab, index, text);
    *out = v;
    return SL_OK;
}

/* Replaces *slot with a copy of s (NULL clears it); false when out of memory. */
static bool set_text(char **slot, const char *s)
{
    char *d = s ? sl__job_strdup(s) : NULL;
    if (s && !d)
        return false;
    free(*slot);
    *slot = d;
    return true;
}

static bool is_list_key(const char *key)
{
    return strcmp(key, "weights") == 0 || strcmp(key, "route_weights") == 0;
}

/* Stores a parsed list (takes ownership of v) and its origin. */
static sl_status store_list(sl_job_dist *d, const char *key, double *v, size_t n,
                            const char *origin, sl_error *err)
{
    bool route = strcmp(key, "route_weights") == 0;
    if (!set_text(route ? &d->route_weights_origin : &d->weights_origin, origin)) {
        free(v);
        return SL_FAIL(SL_ENOMEM, "out of memory setting distribution %s", key);
    }
    free(route ? d->route_weights : d->weights);
    *(route ? &d->route_weights : &d->weights) = v;
    *(route ? &d->nroute_weights : &d->nweights) = n;
    return SL_OK;
}

sl_status sl__job_dist_set_list(sl_job *job, const char *key, const char *const *items,
                                const char *const *item_origins, size_t n, const char *origin,
                                sl_error *err)
{
    char lab[SL_ERROR_MSG_MAX / 2];
    if (n == 0) {
        label(lab, sizeof lab, key, origin);
        return SL_FAIL(SL_EINVAL, "%s is an empty list; leave it out for equal shares", lab);
    }
    double *v = malloc(n * sizeof *v);
    SL_CHECK(v, SL_ENOMEM, "out of memory setting distribution %s", key);
    for (size_t i = 0; i < n; i++) {
        label(lab, sizeof lab, key, item_origins ? item_origins[i] : origin);
        sl_status s = weight_value(lab, i + 1, items[i], &v[i], err);
        if (s != SL_OK) {
            free(v);
            return s;
        }
    }
    return store_list(&job->dist, key, v, n, origin ? origin : CMDLINE, err);
}

/* Splits "1,1, 2" at commas (spaces allowed after each) and sets the list. */
static sl_status set_list_text(sl_job *job, const char *key, const char *text,
                               const char *origin, sl_error *err)
{
    char lab[SL_ERROR_MSG_MAX / 2];
    label(lab, sizeof lab, key, origin);
    SL_CHECK(*text, SL_EINVAL, "%s '' lists no weights; leave it out for equal shares", lab);
    char *copy = sl__job_strdup(text);
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    const char **items = malloc(n * sizeof *items);
    if (!copy || !items) {
        free(copy);
        free(items);
        return SL_FAIL(SL_ENOMEM, "out of memory setting distribution %s", key);
    }
    char *p = copy;
    for (size_t i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        items[i] = p;
        if (comma)
            for (p = comma + 1; *p == ' '; p++)
                ;
    }
    sl_status s = sl__job_dist_set_list(job, key, items, NULL, n, origin, err);
    free(items);
    free(copy);
    return s;
}

sl_status sl__job_dist_set(sl_job *job, const char *key, const char *text, const char *origin,
                           sl_error *err)
{
    if (is_list_key(key))
        return set_list_text(job, key, text, origin, err);
    sl_job_dist *d = &job->dist;
    char lab[SL_ERROR_MSG_MAX / 2];
    label(lab, sizeof lab, key, origin);
    char **slot;
    int e = 0;
    uint64_t chunk = 0;
    if (strcmp(key, "schedule") == 0) {
        SL_TRY(enum_value(lab, text, schedule_names, NSCHEDULES, "static, dynamic or guided", &e,
                          err));
        slot = &d->schedule_origin;
    } else if (strcmp(key, "route") == 0) {
        SL_TRY(enum_value(lab, text, route_names, NROUTES,
                          "round_robin, least_outstanding or weighted", &e, err));
        slot = &d->route_origin;
    } else if (strcmp(key, "chunk") == 0) {
        SL_TRY(chunk_value(lab, text, &chunk, err));
        slot = &d->chunk_origin;
    } else {
        return SL_FAIL(SL_EINVAL, "%s is not a distribution setting", lab);
    }
    SL_CHECK(set_text(slot, origin ? origin : CMDLINE), SL_ENOMEM,
             "out of memory setting distribution %s", key);
    if (slot == &d->schedule_origin)
        d->schedule = (sl_schedule)e;
    else if (slot == &d->route_origin)
        d->route = (sl_route)e;
    else
        d->chunk = chunk;
    return SL_OK;
}

sl_status sl__job_dist_origin(sl_job *job, const char *origin, sl_error *err)
{
    SL_CHECK(set_text(&job->dist.origin, origin), SL_ENOMEM, "out of memory");
    return SL_OK;
}

sl_status sl__job_dist_conflicts(const sl_job_dist *d, sl_error *err)
{
    char subj[SL_ERROR_MSG_MAX / 2], ref[SL_ERROR_MSG_MAX / 4];
    if (d->weights && d->schedule != SL_SCHED_STATIC) {
        subject(subj, sizeof subj, "weights", d->weights_origin);
        reference(ref, sizeof ref, "schedule", d->schedule_origin);
        return SL_FAIL(SL_EINVAL, "%s apply to schedule static only, but the schedule is %s (%s)",
                       subj, schedule_names[d->schedule], ref);
    }
    if (d->weights && d->chunk) {
        subject(subj, sizeof subj, "weights", d->weights_origin);
        reference(ref, sizeof ref, "chunk", d->chunk_origin);
        return SL_FAIL(SL_EINVAL,
                       "%s apply to static blocks, but chunk %" PRIu64 " (%s) makes static "
                       "deal out chunks round robin instead", subj, d->chunk, ref);
    }
    if (d->route_weights && d->route != SL_ROUTE_WEIGHTED) {
        subject(subj, sizeof subj, "route_weights", d->route_weights_origin);
        reference(ref, sizeof ref, "route", d->route_origin);
        return SL_FAIL(SL_EINVAL, "%s apply to route weighted only, but the route is %s (%s)",
                       subj, route_names[d->route], ref);
    }
    if (d->route == SL_ROUTE_WEIGHTED && !d->route_weights) {
        subject(subj, sizeof subj, "route", d->route_origin);
        return SL_FAIL(SL_EINVAL, "%s 'weighted' needs route_weights: one positive weight per "
                                  "rank of a receiving group", subj);
    }
    return SL_OK;
}

sl_status sl_job_dist_check(const sl_job *job, int nranks, sl_error *err)
{
    SL_CHECK(job, SL_EINVAL, "sl_job_dist_check: job is NULL");
    SL_CHECK(nranks >= 1, SL_EINVAL, "sl_job_dist_check: %d ranks", nranks);
    const sl_job_dist *d = &job->dist;
    SL_TRY(sl__job_dist_conflicts(d, err));
    if (d->weights && d->nweights != (size_t)nranks) {
        char subj[SL_ERROR_MSG_MAX / 2];
        subject(subj, sizeof subj, "weights", d->weights_origin);
        return SL_FAIL(SL_EINVAL, "%s has %zu entries, but the job runs on %d rank%s; give one "
                                  "per rank", subj, d->nweights, nranks, nranks == 1 ? "" : "s");
    }
    return SL_OK;
}

/* The command line overrides the file: weights the file gave for static
 * blocks mean nothing once the command line picks another way to deal. */
static void drop_file_weights(sl_job_dist *d)
{
    if (!d->weights || strcmp(d->weights_origin, CMDLINE) == 0)
        return;
    free(d->weights);
    free(d->weights_origin);
    d->weights = NULL;
    d->weights_origin = NULL;
    d->nweights = 0;
}

/* Runs one command-line setter and marks the settings as touched by it. */
static sl_status set_from_command_line(sl_job *job, const char *key, const char *text,
                                       sl_error *err)
{
    SL_CHECK(job && text, SL_EINVAL, "sl_job_set_%s: NULL argument", key);
    sl_status s = sl__job_dist_set(job, key, text, NULL, err);
    if (s != SL_OK) { /* the text is quoted as typed */
        sl_error_push(err, s, __FILE__, __LINE__, __func__);
        return s;
    }
    if (!job->dist.origin)
        SL_CHECK(set_text(&job->dist.origin, CMDLINE), SL_ENOMEM, "out of memory");
    return SL_OK;
}

sl_status sl_job_set_schedule(sl_job *job, const char *text, sl_error *err)
{
    SL_TRY(set_from_command_line(job, "schedule", text, err));
    if (job->dist.schedule != SL_SCHED_STATIC)
        drop_file_weights(&job->dist);
    return SL_OK;
}

sl_status sl_job_set_chunk(sl_job *job, const char *text, sl_error *err)
{
    SL_TRY(set_from_command_line(job, "chunk", text, err));
    drop_file_weights(&job->dist);
    return SL_OK;
}

sl_status sl_job_set_weights(sl_job *job, const char *text, sl_error *err)
{
    return set_from_command_line(job, "weights", text, err);
}

const sl_job_dist *sl_job_distribution(const sl_job *job)
{
    static const sl_job_dist defaults; /* for a NULL job: the API promises non-NULL */
    return job ? &job->dist : &defaults;
}

void sl__job_dist_clear(sl_job_dist *d)
{
    free(d->weights);
    free(d->route_weights);
    free(d->origin);
    free(d->schedule_origin);
    free(d->chunk_origin);
    free(d->weights_origin);
    free(d->route_origin);
    free(d->route_weights_origin);
    memset(d, 0, sizeof *d);
}
