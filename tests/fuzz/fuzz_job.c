/* tests/fuzz/fuzz_job.c - libFuzzer harness for job files and what a run does with them next.
 *
 * The input is the text of a job file. It goes through sl_job_parse; a job
 * that parses then goes through what `sluice run` does before anything
 * starts: the distribution check and stage placement for 1..4 ranks, then
 * command-line overrides (STAGE.KEY=VALUE on its first and last stage) and
 * the --schedule/--chunk/--weights setters, each followed by the checks
 * again. Besides crashes and sanitizer reports, the harness aborts when a
 * promise of sluice/job.h or sluice/placement.h is broken:
 *  - every failure returns the code it recorded, with a non-empty one-line
 *    message (fuzz_util.h); *out is NULL after a failed parse or resolve;
 *  - a failed --schedule/--chunk/--weights leaves the distribution as it was;
 *  - a placement puts every stage in a group of ascending ranks below the
 *    rank count, groups are disjoint, segments cut the pipeline into maximal
 *    runs of one group, and the idle-rank warning (one line) appears exactly
 *    when some rank runs no stage. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/job.h>
#include <sluice/placement.h>

#include "fuzz_util.h"

#define MAX_RANKS 4

static void check_groups(const sl_placement *pl, int nranks, bool *busy)
{
    size_t ng = sl_placement_ngroups(pl);
    int owner[MAX_RANKS];
    for (int q = 0; q < nranks; q++)
        owner[q] = -1;
    for (size_t g = 0; g < ng; g++) {
        size_t n = 0;
        const int *r = sl_placement_ranks(pl, g, &n);
        FUZZ_ASSERT(r && n > 0, "group %zu is empty", g);
        for (size_t k = 0; k < n; k++) {
            FUZZ_ASSERT(r[k] >= 0 && r[k] < nranks, "group %zu names rank %d of %d", g, r[k],
                        nranks);
            FUZZ_ASSERT(k == 0 || r[k] > r[k - 1], "group %zu is not ascending", g);
            FUZZ_ASSERT(owner[r[k]] < 0, "rank %d is in groups %d and %zu", r[k], owner[r[k]], g);
            owner[r[k]] = (int)g;
            busy[r[k]] = true;
        }
    }
    size_t n = 7;
    FUZZ_ASSERT(sl_placement_ranks(pl, ng, &n) == NULL && n == 0, "group %zu exists", ng);
}

static void check_segments(const sl_placement *pl, size_t nstages)
{
    size_t ng = sl_placement_ngroups(pl), nseg = sl_placement_nsegments(pl), next = 0;
    int prev = -1;
    for (size_t k = 0; k < nseg; k++) {
        size_t first = 0, last = 0;
        int group = -1;
        sl_placement_segment(pl, k, &first, &last, &group);
        FUZZ_ASSERT(first == next && last >= first && last < nstages,
                    "segment %zu is stages %zu..%zu, expected to start at %zu of %zu", k, first,
                    last, next, nstages);
        FUZZ_ASSERT(group >= 0 && (size_t)group < ng && group != prev,
                    "segment %zu has group %d (previous %d, %zu groups)", k, group, prev, ng);
        for (size_t i = first; i <= last; i++)
            FUZZ_ASSERT(sl_placement_group_of(pl, i) == group, "stage %zu is outside its segment",
                        i);
        next = last + 1;
        prev = group;
    }
    FUZZ_ASSERT(next == nstages, "segments cover %zu of %zu stages", next, nstages);
    FUZZ_ASSERT(sl_placement_group_of(pl, nstages) == -1, "stage %zu has a group", nstages);
}

/* What `sluice run` checks once it knows the rank count. */
static void check_ranks(const sl_job *job, int nranks)
{
    sl_error err;
    sl_error_clear(&err);
    fuzz_check_error(sl_job_dist_check(job, nranks, &err), &err, "sl_job_dist_check");

    sl_error_clear(&err);
    sl_placement *pl = (sl_placement *)&err; /* must become NULL on failure */
    sl_status s = sl_placement_resolve(&pl, job, nranks, &err);
    fuzz_check_error(s, &err, "sl_placement_resolve");
    if (s != SL_OK) {
        FUZZ_ASSERT(pl == NULL, "a failed sl_placement_resolve left *out set");
        return;
    }
    bool busy[MAX_RANKS] = {false};
    check_groups(pl, nranks, busy);
    check_segments(pl, sl_job_nstages(job));
    bool idle = false;
    for (int q = 0; q < nranks; q++)
        idle |= !busy[q];
    const char *w = sl_placement_warning(pl);
    FUZZ_ASSERT(idle == (w != NULL), "idle ranks: %d, warning: %s", idle, w ? w : "(none)");
    FUZZ_ASSERT(!w || (*w && !strchr(w, '\n')), "warning is empty or several lines: [%s]", w);
    sl_placement_destroy(&pl);
    FUZZ_ASSERT(pl == NULL, "sl_placement_destroy left the pointer set");
}

static void check_all_ranks(const sl_job *job)
{
    for (int n = 1; n <= MAX_RANKS; n++)
        check_ranks(job, n);
}

/* The accessors' promises for a job that parsed. */
static void check_job(const sl_job *job)
{
    FUZZ_ASSERT(sl_job_name(job) && sl_job_path(job) && sl_job_text(job), "NULL accessor");
    FUZZ_ASSERT(sl_job_threads(job) >= 0, "threads %d", sl_job_threads(job));
    size_t n = sl_job_nstages(job);
    FUZZ_ASSERT(n > 0, "a job without stages parsed");
    for (size_t i = 0; i < n; i++) {
        const sl_job_stage *st = sl_job_stage_at(job, i);
        FUZZ_ASSERT(st && st->name && *st->name && st->plugin && *st->plugin && st->origin,
                    "stage %zu lacks a name, plugin or origin", i);
        FUZZ_ASSERT(!strpbrk(st->name, ".="), "stage name '%s' holds '.' or '='", st->name);
        FUZZ_ASSERT(!st->ranks == !st->ranks_origin, "stage %zu: ranks without origin", i);
        for (size_t k = 0; k < st->nparams; k++)
            FUZZ_ASSERT(st->params[k].key && st->params[k].value && st->params[k].origin,
                        "stage %zu: parameter %zu incomplete", i, k);
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(strcmp(sl_job_stage_at(job, j)->name, st->name) != 0,
                        "stage name '%s' twice", st->name);
    }
    FUZZ_ASSERT(sl_job_stage_at(job, n) == NULL, "stage %zu exists", n);
    FUZZ_ASSERT(sl_job_distribution(job) != NULL, "no distribution");
}

/* A copy of the distribution's values, to see that a failed setter changed nothing. */
typedef struct dist_values {
    sl_schedule schedule;
    uint64_t chunk;
    size_t nweights, nroute;
    double w[8], rw[8];
    sl_route route;
} dist_values;

static dist_values dist_snapshot(const sl_job *job)
{
    const sl_job_dist *d = sl_job_distribution(job);
    dist_values v = {d->schedule, d->chunk, d->nweights, d->nroute_weights, {0}, {0}, d->route};
    for (size_t i = 0; d->weights && i < d->nweights && i < 8; i++)
        v.w[i] = d->weights[i];
    for (size_t i = 0; d->route_weights && i < d->nroute_weights && i < 8; i++)
        v.rw[i] = d->route_weights[i];
    return v;
}

static bool dist_same(const dist_values *a, const dist_values *b)
{
    bool same = a->schedule == b->schedule && a->chunk == b->chunk &&
                a->nweights == b->nweights && a->nroute == b->nroute && a->route == b->route;
    for (size_t i = 0; i < 8; i++)
        same = same && a->w[i] == b->w[i] && a->rw[i] == b->rw[i];
    return same;
}

static void set_dist(sl_job *job, sl_status (*set)(sl_job *, const char *, sl_error *),
                     const char *what, const char *text)
{
    sl_error err;
    sl_error_clear(&err);
    dist_values before = dist_snapshot(job);
    sl_status s = set(job, text, &err);
    fuzz_check_error(s, &err, what);
    if (s != SL_OK) {
        dist_values after = dist_snapshot(job);
        FUZZ_ASSERT(dist_same(&before, &after),
                    "a failed %s('%s') changed the distribution", what, text);
    }
}

/* STAGE.KEY=VALUE for the stage called name. */
static void override(sl_job *job, const char *name, const char *kv)
{
    size_t len = strlen(name) + strlen(kv) + 2;
    char *a = malloc(len);
    FUZZ_ASSERT(a, "out of memory");
    snprintf(a, len, "%s.%s", name, kv);
    sl_error err;
    sl_error_clear(&err);
    fuzz_check_error(sl_job_override(job, a, &err), &err, "sl_job_override");
    free(a);
}

static void command_line(sl_job *job)
{
    /* Valid and invalid settings alike: the invalid ones check the messages. */
    static const char *const first[] = {"concurrency=3", "queue=0", "mode=ordered", "mode=seral",
                                        "ranks=0", "ranks=0,0", "factor=4", "ranks=1-"};
    static const char *const last[] = {"ranks=rest", "concurrency=4097", "queue=1M",
                                       "ranks=2-1", "ranks=all", "ranks=rest"};
    static const char *const bad[] = {"x", "a.b", ".k=v", "a.=v", "a.k=", "nosuch.k=v"};
    const char *name0 = sl_job_stage_at(job, 0)->name;
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        override(job, name0, first[i]);
    check_all_ranks(job);
    size_t n = sl_job_nstages(job);
    /* A copy: the stage is not renamed, but nothing says the pointer stays. */
    size_t len = strlen(sl_job_stage_at(job, n - 1)->name) + 1;
    char *name1 = malloc(len);
    FUZZ_ASSERT(name1, "out of memory");
    memcpy(name1, sl_job_stage_at(job, n - 1)->name, len);
    for (size_t i = 0; i < sizeof last / sizeof last[0]; i++)
        override(job, name1, last[i]);
    free(name1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_error err;
        sl_error_clear(&err);
        fuzz_check_error(sl_job_override(job, bad[i], &err), &err, "sl_job_override");
    }
    check_all_ranks(job);
}

static void dist_setters(sl_job *job)
{
    static const char *const schedules[] = {"dynamc", "guided", "static"};
    static const char *const chunks[] = {"0", "-1", "1e30", "1.5", "4K"};
    static const char *const weights[] = {"", "1,,2", "1, 0", "nan", "1,1,2", "1, 2e0,3,4"};
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        set_dist(job, sl_job_set_weights, "sl_job_set_weights", weights[i]);
        check_all_ranks(job);
    }
    for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++)
        set_dist(job, sl_job_set_schedule, "sl_job_set_schedule", schedules[i]);
    check_all_ranks(job);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        set_dist(job, sl_job_set_chunk, "sl_job_set_chunk", chunks[i]);
    check_all_ranks(job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_error err;
    sl_error_clear(&err);
    sl_job *job = (sl_job *)&err; /* must become NULL on failure */
    sl_status s = sl_job_parse(&job, (const char *)data, size, "fuzz.yaml", &err);
    fuzz_check_error(s, &err, "sl_job_parse");
    if (s != SL_OK) {
        FUZZ_ASSERT(job == NULL, "a failed sl_job_parse left *out set");
        return 0;
    }
    check_job(job);
    check_all_ranks(job);
    command_line(job);
    check_job(job);
    dist_setters(job);
    sl_error_clear(&err);
    fuzz_check_error(sl_job_set_output(job, "", &err), &err, "sl_job_set_output");
    sl_job_destroy(&job);
    FUZZ_ASSERT(job == NULL, "sl_job_destroy left the pointer set");
    return 0;
}
