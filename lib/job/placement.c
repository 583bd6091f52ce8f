/* lib/job/placement.c - resolving the stages' `ranks:` into groups and segments.
 *
 * The rules are stated once, in sluice/placement.h. Resolution goes in four
 * passes over the stages, because `rest` depends on every list in the job:
 * (1) parse each list and bound it by the rank count, marking the ranks the
 * lists name; (2) give every stage its set of ranks; (3) fold equal sets into
 * groups, refusing partial overlaps, and check that `rest` stages are
 * consecutive; (4) cut the pipeline into segments and name idle ranks. Sets
 * are sorted int arrays: every one is bounded by the rank count, and sorted
 * arrays make equality and overlap one merge walk. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/placement.h>

#include "job/job_impl.h"

typedef struct pl_set {
    int *r;
    size_t n;
} pl_set;

typedef struct pl_segment {
    size_t first, last;
    int group;
} pl_segment;

struct sl_placement {
    size_t nstages;
    int *group_of; /* per stage */
    size_t ngroups;
    pl_set *groups;
    size_t *group_stage; /* the stage whose `ranks:` defined each group */
    size_t nsegments;
    pl_segment *segments;
    char *warning; /* NULL when no rank is idle */
};

/* Scratch for one resolution: the parsed lists and each stage's set. */
typedef struct pl_build {
    const sl_job *job;
    int nranks;
    sl__ranks *parsed; /* per stage; kind LIST with n == 0 when not given */
    pl_set *sets;      /* per stage; sets[i].r == NULL: inherits stage i-1 */
    char *named;       /* per rank: a list (or the first stage's default) names it */
    sl_error *err;
} pl_build;

bool sl_job_stage_mode(const sl_job *job)
{
    for (size_t i = 0; job && i < job->nstages; i++)
        if (job->stages[i].ranks)
            return true;
    return false;
}

/* "1 rank (0)" or "4 ranks (0-3)". */
static void rank_count(char *buf, size_t cap, int nranks)
{
    if (nranks == 1)
        snprintf(buf, cap, "1 rank (0)");
    else
        snprintf(buf, cap, "%d ranks (0-%d)", nranks, nranks - 1);
}

/* Fails with "<origin>: stage 'NAME': <message>" for stage i. */
static sl_status stage_fail(pl_build *b, size_t i, sl_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sl_status stage_fail(pl_build *b, size_t i, sl_status code, const char *fmt, ...)
{
    const sl_job_stage *st = &b->job->stages[i];
    char msg[SL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error_set(b->err, code, __FILE__, __LINE__, __func__, "%s: stage '%s': %s",
                        st->ranks_origin ? st->ranks_origin : st->origin, st->name, msg);
}

/* Pass 1: parse stage i's list, bound it, and mark the ranks it names. */
static sl_status parse_stage(pl_build *b, size_t i)
{
    const sl_job_stage *st = &b->job->stages[i];
    sl_error *err = b->err;
    if (!st->ranks) {
        if (i == 0)
            b->named[0] = 1; /* rule 2: the first stage's default is a named rank */
        return SL_OK;
    }
    char what[192];
    snprintf(what, sizeof what, "stage '%s'", st->name);
    sl_status s = sl__ranks_parse(&b->parsed[i], st->ranks, what, err);
    if (s != SL_OK) {
        sl_error_prefix(err, "%s", st->ranks_origin);
        return s;
    }
    const sl__ranks *r = &b->parsed[i];
    for (size_t k = 0; k < r->n; k++) {
        if (r->ranges[k].hi >= b->nranks) {
            char have[64];
            rank_count(have, sizeof have, b->nranks);
            int bad = r->ranges[k].lo >= b->nranks ? r->ranges[k].lo : b->nranks;
            return stage_fail(b, i, SL_ERANGE, "ranks '%s' names rank %d, but the job has only %s",
                              st->ranks, bad, have);
        }
        for (int q = r->ranges[k].lo; q <= r->ranges[k].hi; q++)
            b->named[q] = 1;
    }
    return SL_OK;
}

/* Pass 2: the set of stage i (left NULL when it inherits). */
static sl_status stage_set(pl_build *b, size_t i)
{
    const sl_job_stage *st = &b->job->stages[i];
    const sl__ranks *r = &b->parsed[i];
    pl_set *set = &b->sets[i];
    if (!st->ranks && i > 0)
        return SL_OK;
    set->r = malloc((size_t)b->nranks * sizeof *set->r);
    if (!set->r)
        return stage_fail(b, i, SL_ENOMEM, "out of memory placing the stage");
    if (!st->ranks) {
        set->r[set->n++] = 0;
    } else if (r->kind == SL__RANKS_LIST) {
        for (size_t k = 0; k < r->n; k++)
            for (int q = r->ranges[k].lo; q <= r->ranges[k].hi; q++)
                set->r[set->n++] = q;
    } else {
        for (int q = 0; q < b->nranks; q++)
            if (r->kind == SL__RANKS_ALL || !b->named[q])
                set->r[set->n++] = q;
    }
    if (set->n == 0) {
        char have[64];
        rank_count(have, sizeof have, b->nranks);
        return stage_fail(b, i, SL_EINVAL, "ranks 'rest' is empty: the other stages take all "
                                           "of the job's %s", have);
    }
    return SL_OK;
}

/* 1 when equal, 0 when disjoint, -1 on a partial overlap (*common: a shared rank). */
static int compare_sets(const pl_set *a, const pl_set *b, int *common)
{
    size_t i = 0, j = 0;
    bool shared = false;
    while (i < a->n && j < b->n) {
        if (a->r[i] == b->r[j]) {
            if (!shared)
                *common = a->r[i];
            shared = true;
            i++, j++;
        } else if (a->r[i] < b->r[j]) {
            i++;
        } else {
            j++;
        }
    }
    if (!shared)
        return 0;
    bool equal = a->n == b->n && memcmp(a->r, b->r, a->n * sizeof *a->r) == 0;
    return equal ? 1 : -1;
}

/* How a message names the ranks of stage i: "ranks 'rest' at t.yaml:7:12". */
static void describe(const pl_build *b, size_t i, char *buf, size_t cap)
{
    const sl_job_stage *st = &b->job->stages[i];
    if (st->ranks)
        snprintf(buf, cap, "ranks '%s' at %s", st->ranks, st->ranks_origin);
    else
        snprintf(buf, cap, "rank 0, the default for the first stage, at %s", st->origin);
}

/* Pass 3a: stage i joins an equal group or starts a new one. */
static sl_status join_group(pl_build *b, sl_placement *pl, size_t i)
{
    if (!b->sets[i].r) {
        pl->group_of[i] = pl->group_of[i - 1];
        return SL_OK;
    }
    for (size_t g = 0; g < pl->ngroups; g++) {
        int common = 0, c = compare_sets(&b->sets[i], &pl->groups[g], &common);
        if (c == 1) {
            pl->group_of[i] = (int)g;
            return SL_OK;
        }
        if (c == -1) {
            size_t other = pl->group_stage[g];
            char them[SL_ERROR_MSG_MAX / 2];
            describe(b, other, them, sizeof them);
            return stage_fail(b, i, SL_EINVAL,
                              "ranks '%s' share rank %d with stage '%s' (%s) but are not the "
                              "same ranks; groups must be identical or disjoint",
                              b->job->stages[i].ranks, common, b->job->stages[other].name, them);
        }
    }
    /* The group takes the set over; the build no longer frees it. */
    pl->groups[pl->ngroups] = b->sets[i];
    b->sets[i] = (pl_set){NULL, 0};
    pl->group_stage[pl->ngroups] = i;
    pl->group_of[i] = (int)pl->ngroups++;
    return SL_OK;
}

/* Pass 3b: every stage from the first `rest` stage to the last is in its group. */
static sl_status rest_consecutive(pl_build *b, const sl_placement *pl)
{
    size_t first = pl->nstages;
    for (size_t i = 0; i < pl->nstages; i++) {
        if (!b->job->stages[i].ranks || b->parsed[i].kind != SL__RANKS_REST)
            continue;
        if (first == pl->nstages) {
            first = i;
            continue;
        }
        for (size_t k = first + 1; k < i; k++) {
            if (pl->group_of[k] != pl->group_of[first]) {
                return stage_fail(b, i, SL_EINVAL,
                                  "ranks 'rest' again, but stage '%s' runs elsewhere since "
                                  "stage '%s' (at %s) took 'rest'; stages with 'rest' must be "
                                  "consecutive", b->job->stages[k].name,
                                  b->job->stages[first].name, b->job->stages[first].ranks_origin);
            }
        }
    }
    return SL_OK;
}

static sl_status make_segments(sl_placement *pl, sl_error *err)
{
    pl->segments = malloc(pl->nstages * sizeof *pl->segments);
    SL_CHECK(pl->segments, SL_ENOMEM, "out of memory placing stages");
    for (size_t i = 0; i < pl->nstages; i++) {
        if (i > 0 && pl->group_of[i] == pl->group_of[i - 1]) {
            pl->segments[pl->nsegments - 1].last = i;
            continue;
        }
        pl->segments[pl->nsegments++] = (pl_segment){i, i, pl->group_of[i]};
    }
    return SL_OK;
}

/* Appends "3-4" or ",7" to buf; marks a cut list with "...". */
static void append_range(char *buf, size_t cap, size_t *len, int lo, int hi)
{
    if (*len >= cap)
        return;
    int w = lo == hi ? snprintf(buf + *len, cap - *len, "%s%d", *len ? "," : "", lo)
                     : snprintf(buf + *len, cap - *len, "%s%d-%d", *len ? "," : "", lo, hi);
    *len += w > 0 ? (size_t)w : 0;
    if (*len >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

/* Pass 4b: the warning naming idle ranks, at the first `ranks:` of the job. */
static sl_status idle_warning(const pl_build *b, sl_placement *pl, sl_error *err)
{
    char *busy = calloc((size_t)b->nranks, 1);
    SL_CHECK(busy, SL_ENOMEM, "out of memory placing stages");
    for (size_t g = 0; g < pl->ngroups; g++)
        for (size_t k = 0; k < pl->groups[g].n; k++)
            busy[pl->groups[g].r[k]] = 1;
    char list[SL_ERROR_MSG_MAX / 2] = "";
    size_t len = 0;
    int nidle = 0;
    for (int q = 0; q < b->nranks; q++) {
        if (busy[q])
            continue;
        int hi = q;
        while (hi + 1 < b->nranks && !busy[hi + 1])
            hi++;
        append_range(list, sizeof list, &len, q, hi);
        nidle += hi - q + 1;
        q = hi;
    }
    free(busy);
    if (nidle == 0)
        return SL_OK;
    const char *where = b->job->stages[0].origin;
    for (size_t i = 0; i < b->job->nstages; i++) {
        if (b->job->stages[i].ranks) {
            where = b->job->stages[i].ranks_origin;
            break;
        }
    }
    char msg[SL_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s: rank%s %s of %d run%s no stage and stay%s idle", where,
             nidle == 1 ? "" : "s", list, b->nranks, nidle == 1 ? "s" : "", nidle == 1 ? "s" : "");
    pl->warning = sl__job_strdup(msg);
    SL_CHECK(pl->warning, SL_ENOMEM, "out of memory placing stages");
    return SL_OK;
}

/* Rule 7: route_weights against every receiving group of two or more ranks. */
static sl_status check_route_weights(const pl_build *b, const sl_placement *pl, sl_error *err)
{
    const sl_job_dist *d = &b->job->dist;
    if (d->route != SL_ROUTE_WEIGHTED || !d->route_weights)
        return SL_OK;
    for (size_t k = 1; k < pl->nsegments; k++) {
        const pl_set *g = &pl->groups[pl->segments[k].group];
        if (g->n < 2 || g->n == d->nroute_weights)
            continue;
        size_t first = pl->segments[k].first;
        return SL_FAIL(SL_EINVAL, "%s: distribution: route_weights has %zu entries, but stage "
                                  "'%s' receives batches on %zu ranks; give one per rank of a "
                                  "receiving group",
                       d->route_weights_origin, d->nroute_weights, b->job->stages[first].name,
                       g->n);
    }
    return SL_OK;
}

static sl_status resolve(pl_build *b, sl_placement *pl)
{
    sl_error *err = b->err;
    size_t n = b->job->nstages;
    for (size_t i = 0; i < n; i++)
        SL_TRY(parse_stage(b, i));
    for (size_t i = 0; i < n; i++)
        SL_TRY(stage_set(b, i));
    for (size_t i = 0; i < n; i++)
        SL_TRY(join_group(b, pl, i));
    SL_TRY(rest_consecutive(b, pl));
    SL_TRY(make_segments(pl, err));
    SL_TRY(idle_warning(b, pl, err));
    return check_route_weights(b, pl, err);
}

sl_status sl_placement_resolve(sl_placement **out, const sl_job *job, int nranks,
                               sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "sl_placement_resolve: out is NULL");
    *out = NULL;
    SL_CHECK(job && job->nstages > 0, SL_EINVAL, "sl_placement_resolve: no job or no stages");
    SL_CHECK(nranks >= 1, SL_EINVAL, "sl_placement_resolve: %d ranks", nranks);
    size_t n = job->nstages;
    sl_placement *pl = calloc(1, sizeof *pl);
    pl_build b = {.job = job, .nranks = nranks, .err = err};
    b.parsed = calloc(n, sizeof *b.parsed);
    b.sets = calloc(n, sizeof *b.sets);
    b.named = calloc((size_t)nranks, 1);
    if (pl) {
        pl->nstages = n;
        pl->group_of = calloc(n, sizeof *pl->group_of);
        pl->groups = calloc(n, sizeof *pl->groups);
        pl->group_stage = calloc(n, sizeof *pl->group_stage);
    }
    sl_status s;
    if (pl && pl->group_of && pl->groups && pl->group_stage && b.parsed && b.sets && b.named)
        s = resolve(&b, pl);
    else
        s = SL_FAIL(SL_ENOMEM, "out of memory placing stages");
    for (size_t i = 0; i < n && b.parsed && b.sets; i++) {
        sl__ranks_clear(&b.parsed[i]);
        free(b.sets[i].r);
    }
    free(b.parsed);
    free(b.sets);
    free(b.named);
    if (s != SL_OK) {
        sl_placement_destroy(&pl);
        sl_error_push(err, s, __FILE__, __LINE__, __func__);
        return s;
    }
    *out = pl;
    return SL_OK;
}

size_t sl_placement_ngroups(const sl_placement *pl)
{
    return pl ? pl->ngroups : 0;
}

int sl_placement_group_of(const sl_placement *pl, size_t stage)
{
    return pl && stage < pl->nstages ? pl->group_of[stage] : -1;
}

const int *sl_placement_ranks(const sl_placement *pl, size_t g, size_t *n)
{
    bool ok = pl && g < pl->ngroups;
    if (n)
        *n = ok ? pl->groups[g].n : 0;
    return ok ? pl->groups[g].r : NULL;
}

size_t sl_placement_nsegments(const sl_placement *pl)
{
    return pl ? pl->nsegments : 0;
}

void sl_placement_segment(const sl_placement *pl, size_t k, size_t *first, size_t *last,
                          int *group)
{
    bool ok = pl && k < pl->nsegments;
    if (first)
        *first = ok ? pl->segments[k].first : 0;
    if (last)
        *last = ok ? pl->segments[k].last : 0;
    if (group)
        *group = ok ? pl->segments[k].group : -1;
}

const char *sl_placement_warning(const sl_placement *pl)
{
    return pl ? pl->warning : NULL;
}

void sl_placement_destroy(sl_placement **pp)
{
    if (!pp || !*pp)
        return;
    sl_placement *pl = *pp;
    for (size_t g = 0; g < pl->ngroups; g++)
        free(pl->groups[g].r);
    free(pl->groups);
    free(pl->group_of);
    free(pl->group_stage);
    free(pl->segments);
    free(pl->warning);
    free(pl);
    *pp = NULL;
}
