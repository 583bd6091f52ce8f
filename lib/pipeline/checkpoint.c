/* lib/pipeline/checkpoint.c - a run's checkpoints: segments, the journal,
 * the seqs a resumed run skips (docs/resume.md).
 *
 * The sink writes the current segment, OUT.sluice/rR-N.h5.tmp. A checkpoint
 * runs as a job of the writer stage, holding the writer's only instance, so
 * no batch is being written and every batch the writer finished has recorded
 * its seq and rows (execute does that before it gives the instance back).
 * In this order: the sink closes the file, the file is synced and renamed to
 * rR-N.h5, the directory is synced, and only then the journal gets the
 * record naming its batches: a record never names rows that are not on disk.
 * A crash before the record leaves a segment no record names, which the next
 * resume deletes; its batches are made again.
 *
 * A record's totals are what the writer folded since the previous record
 * (the fold is the writer's, so the figures cannot move meanwhile).
 * Dead letters go in the record of the checkpoint that follows them; their
 * seqs are among the record's finished seqs, under the same two locks, so
 * a resume never counts a dead letter's batch finished without its entry. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/resume.h>

#include "pipeline/pipeline_impl.h"
#include "resume/journal.h"
#include "resume/seqset.h"
#include "resume/state.h"
#include "util/durable.h"
#include "util/ranges.h"
#include "util/ticks.h"

typedef struct sl__ckpt {
    sl__state st;
    sl__journal *journal;
    int rank;
    unsigned seg;          /* the number of the segment being written */
    uint64_t interval_ns;  /* 0: only the last checkpoint */
    bool restore;          /* this rank adds the earlier runs' totals and dead letters */
    uint64_t prev[PL_MAX_FOLDS]; /* fold values at the previous record */
    sl__seqset todo;
    struct {
        sl__feed feed;
        const sl__feed *inner;
        sl__seqset *set;
        uint64_t next;
    } f;
} sl__ckpt;

/* The segment name of a finished run's published output (sl__ckpt_keep). */
#define CKPT_OUTPUT "@output"

const char *sl__ckpt_unsupported(const sl_pipeline *p)
{
    if (!p->output || p->nstages == 0)
        return "the job writes no output";
    const pl_stage *last = &p->stages[p->nstages - 1];
    if (!(last->desc->flags & SL_STAGE_WRITES_FILE))
        return "the job writes no output";
    if (last->desc->size < offsetof(sl_stage_desc, checkpoint) + sizeof last->desc->checkpoint ||
        !last->desc->checkpoint)
        return "its sink cannot close a segment (no checkpoint callback)";
    if (!(last->desc->flags & SL_STAGE_SINGLE_INSTANCE) || last->conc != 1)
        return "its sink runs more than one instance";
    if (p->rebatch != SIZE_MAX)
        return "a rebatch stage makes new batches out of old ones";
    return NULL;
}

static char *seg_name(int rank, unsigned n, bool tmp)
{
    char buf[64];
    snprintf(buf, sizeof buf, "r%d-%u.h5%s", rank, n, tmp ? ".tmp" : "");
    return strdup(buf);
}

/* The segment number after every one this rank's records name. */
static unsigned first_free_seg(const sl__state *st, int rank)
{
    unsigned next = 0;
    for (size_t i = 0; i < st->nrecs; i++) {
        int r;
        unsigned n;
        if (sscanf(st->recs[i].segment, "r%d-%u.h5", &r, &n) == 2 && r == rank && n >= next)
            next = n + 1;
    }
    return next;
}

static sl_status point_sink(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    char *name = seg_name(c->rank, c->seg, true);
    char *path = name ? sl__state_path(&c->st, name) : NULL;
    free(name);
    SL_CHECK(path, SL_ENOMEM, "out of memory");
    free(p->sink_path);
    p->sink_path = path;
    return SL_OK;
}

/* A journalled dead letter still stands unless a record lists its seq as
 * finished without a dead letter for it (a retry made the batch). */
static bool dead_stands(const sl__state *st, uint64_t seq)
{
    for (size_t i = 0; i < st->nrecs; i++) {
        const sl__jrec *r = &st->recs[i];
        bool in = false, dead = false;
        for (size_t k = 0; k < r->nseqs && !in; k++)
            in = seq >= r->seqs[k].lo && seq < r->seqs[k].hi;
        for (size_t k = 0; in && k < r->ndead && !dead; k++)
            dead = r->dead[k].seq == seq;
        if (in && !dead)
            return false;
    }
    return true;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Seqs to make: the plan less every record's finished seqs (less the dead
 * letters' when they are to be tried again). */
static sl_status build_todo(sl_pipeline *p, bool retry_dead, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    size_t n = 0;
    for (size_t i = 0; i < c->st.nrecs; i++)
        n += c->st.recs[i].nseqs;
    sl__row_range *all = malloc((n ? n : 1) * sizeof *all);
    SL_CHECK(all, SL_ENOMEM, "out of memory");
    n = 0;
    for (size_t i = 0; i < c->st.nrecs; i++) {
        const sl__jrec *r = &c->st.recs[i];
        if (r->nseqs)
            memcpy(all + n, r->seqs, r->nseqs * sizeof *all);
        n += r->nseqs;
    }
    sl_status s = sl__seqset_build(&c->todo, p->total_batches, all, n, err);
    free(all);
    SL_TRY(s);
    if (!retry_dead)
        return SL_OK;
    /* The dead letters' seqs are finished in the records; take them out:
     * each cuts the finished range holding it in two. */
    size_t nd = 0;
    for (size_t i = 0; i < c->st.nrecs; i++)
        nd += c->st.recs[i].ndead;
    if (nd == 0)
        return SL_OK;
    uint64_t *dead = malloc(nd * sizeof *dead);
    sl__row_range *done = malloc((c->todo.ndone + nd) * sizeof *done);
    if (!dead || !done) {
        free(dead);
        free(done);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    nd = 0;
    for (size_t i = 0; i < c->st.nrecs; i++)
        for (size_t q = 0; q < c->st.recs[i].ndead; q++)
            if (dead_stands(&c->st, c->st.recs[i].dead[q].seq))
                dead[nd++] = c->st.recs[i].dead[q].seq;
    qsort(dead, nd, sizeof *dead, u64_cmp);
    size_t m = 0, d = 0;
    for (size_t k = 0; k < c->todo.ndone; k++) {
        uint64_t cur = c->todo.done[k].lo, hi = c->todo.done[k].hi;
        while (d < nd && dead[d] < cur)
            d++;
        for (; d < nd && dead[d] < hi; d++) {
            if (dead[d] > cur)
                done[m++] = (sl__row_range){cur, dead[d]};
            cur = dead[d] + 1;
        }
        if (cur < hi)
            done[m++] = (sl__row_range){cur, hi};
    }
    free(dead);
    sl__seqset_free(&c->todo);
    s = sl__seqset_build(&c->todo, p->total_batches, done, m, err);
    free(done);
    return s;
}

sl_status sl__ckpt_open(sl_pipeline *p, sl__ckpt_mode mode, const sl__ckpt_opts *o, sl_error *err)
{
    const char *why = sl__ckpt_unsupported(p);
    SL_CHECK(!why, SL_EINVAL, "cannot keep a resumable state for '%s': %s", p->output, why);
    char *fp = NULL;
    SL_TRY(sl_pipeline_fingerprint(p, &fp, err));
    sl__ckpt *c = calloc(1, sizeof *c);
    if (!c) {
        free(fp);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    sl__state_mode sm = mode == SL__CKPT_FRESH     ? SL__STATE_FRESH
                        : mode == SL__CKPT_REPLACE ? SL__STATE_REPLACE
                        : mode == SL__CKPT_RESUME  ? SL__STATE_RESUME
                                                   : SL__STATE_JOIN;
    sl_status s = sl__state_open(&c->st, p->output, fp, sm, err);
    free(fp);
    if (s != SL_OK) {
        free(c);
        return s;
    }
    p->ckpt = c;
    c->rank = p->rank;
    c->restore = o->restore;
    c->interval_ns = o->interval_s > 0 ? (uint64_t)(o->interval_s * 1e9) : 0;
    c->seg = first_free_seg(&c->st, c->rank);
    char jname[32];
    snprintf(jname, sizeof jname, "journal.r%d", c->rank);
    char *jpath = sl__state_path(&c->st, jname);
    s = jpath ? sl__journal_open(&c->journal, jpath, err) : SL_FAIL(SL_ENOMEM, "out of memory");
    free(jpath);
    if (s == SL_OK)
        s = build_todo(p, o->retry_deadletters, err);
    if (s == SL_OK)
        s = point_sink(p, err);
    if (s != SL_OK) {
        sl__ckpt_close(p);
        return s;
    }
    p->record_rows = true;
    p->ckpt_capable = true;
    p->ckpt_stage = p->nstages - 1;
    p->ckpt_keep_last = o->keep_last;
    atomic_store(&p->ckpt_due_ns, c->interval_ns ? sl__mono_ns() + c->interval_ns : UINT64_MAX);
    return SL_OK;
}

uint64_t sl__ckpt_todo(const sl_pipeline *p) { return p->ckpt ? p->ckpt->todo.ntodo : p->total_batches; }
uint64_t sl__ckpt_finished(const sl_pipeline *p)
{
    return p->ckpt ? p->total_batches - p->ckpt->todo.ntodo : 0;
}
const char *sl__ckpt_dir(const sl_pipeline *p) { return p->ckpt ? p->ckpt->st.dir : NULL; }

static sl__feed_status todo_claim(void *self, uint64_t *seq, sl_batch **b)
{
    sl__ckpt *c = self;
    uint64_t k;
    if (c->f.inner) {
        sl__feed_status fs = c->f.inner->claim(c->f.inner->self, &k, b);
        if (fs != SL__FEED_HAVE)
            return fs;
    } else {
        if (c->f.next >= c->todo.ntodo)
            return SL__FEED_END;
        k = c->f.next++;
    }
    *seq = sl__seqset_todo(&c->todo, k);
    return SL__FEED_HAVE;
}

static void todo_wait(void *self, const atomic_int *stop)
{
    sl__ckpt *c = self;
    if (c->f.inner && c->f.inner->wait)
        c->f.inner->wait(c->f.inner->self, stop);
}

const sl__feed *sl__ckpt_feed(sl_pipeline *p, const sl__feed *inner)
{
    sl__ckpt *c = p->ckpt;
    if (!c)
        return inner;
    c->f.inner = inner;
    c->f.next = 0;
    /* Without an inner feed the seqs are all there: nothing to wait for. */
    c->f.feed = (sl__feed){.self = c, .claim = todo_claim,
                           .wait = inner && inner->wait ? todo_wait : NULL};
    return &c->f.feed;
}

/* What finished since the last record: the writer's seqs and rows (its
 * instance is held, so nothing appends), the seqs given up and the dead
 * letters not yet journalled (under fail_lock, where drop() adds both). */
static sl_status take_finished(sl_pipeline *p, sl__jrec *r, sl_error *err)
{
    r->rows = p->rows_done;
    r->nrows = p->nrows_done;
    p->rows_done = NULL;
    p->nrows_done = p->cap_rows_done = 0;
    pthread_mutex_lock(&p->fail_lock);
    size_t n = p->nseqs_done + p->nseqs_dropped, nd = 0;
    sl_status s = SL_OK;
    r->seqs = malloc((n ? n : 1) * sizeof *r->seqs);
    for (size_t i = 0; i < p->ndead; i++)
        nd += !p->dead[i].journaled;
    if (!r->seqs || (nd && !(r->dead = calloc(nd, sizeof *r->dead))))
        s = SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK) {
        /* The lists are NULL until something is added: memcpy wants a pointer. */
        if (p->nseqs_done)
            memcpy(r->seqs, p->seqs_done, p->nseqs_done * sizeof *r->seqs);
        if (p->nseqs_dropped)
            memcpy(r->seqs + p->nseqs_done, p->seqs_dropped,
                   p->nseqs_dropped * sizeof *r->seqs);
        r->nseqs = n;
        p->nseqs_done = p->nseqs_dropped = 0;
    }
    for (size_t i = 0; s == SL_OK && i < p->ndead; i++) {
        pl_dead *d = &p->dead[i];
        if (d->journaled)
            continue;
        sl__jdead *j = &r->dead[r->ndead++];
        j->seq = d->seq;
        j->attempts = d->attempts;
        j->stage = strdup(d->stage);
        j->error = strdup(d->error);
        if (!j->stage || !j->error)
            s = SL_FAIL(SL_ENOMEM, "out of memory");
        d->journaled = true;
    }
    pthread_mutex_unlock(&p->fail_lock);
    return s;
}

/* The totals folded since the previous record. */
static sl_status take_results(sl_pipeline *p, sl__jrec *r, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    size_t n = atomic_load(&p->nfold);
    if (n == 0)
        return SL_OK;
    r->res = calloc(n, sizeof *r->res);
    SL_CHECK(r->res, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint64_t v = atomic_load(&p->fold[i].v), was = c->prev[i];
        sl__jresult *x = &r->res[r->nres++];
        snprintf(x->key, sizeof x->key, "%s", p->fold[i].key);
        x->type = p->fold[i].type;
        if (x->type == SL_TYPE_F64) {
            double now, before;
            memcpy(&now, &v, sizeof now);
            memcpy(&before, &was, sizeof before);
            x->f = now - before;
        } else {
            x->u = v - was;
        }
        c->prev[i] = v;
    }
    return SL_OK;
}

static void rec_release(sl__jrec *r)
{
    free(r->seqs);
    free(r->rows);
    free(r->res);
    for (size_t i = 0; i < r->ndead; i++) {
        free(r->dead[i].stage);
        free(r->dead[i].error);
    }
    free(r->dead);
}

sl_status sl__ckpt_write(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    if (c->interval_ns)
        atomic_store(&p->ckpt_due_ns, sl__mono_ns() + c->interval_ns);
    sl__jrec r;
    memset(&r, 0, sizeof r);
    sl_status s = take_finished(p, &r, err);
    if (s == SL_OK && r.nseqs == 0 && r.ndead == 0) {
        rec_release(&r);
        return SL_OK; /* nothing finished since the last record */
    }
    if (s == SL_OK)
        s = take_results(p, &r, err);
    r.nseqs = sl__row_ranges_coalesce(r.seqs, r.nseqs);
    r.nrows = sl__row_ranges_coalesce(r.rows, r.nrows);
    struct stat sb;
    const char *tmp = p->sink_path;
    bool file = s == SL_OK && stat(tmp, &sb) == 0;
    char *name = NULL, *path = NULL;
    if (file) {
        pl_stage *w = &p->stages[p->ckpt_stage];
        s = w->desc->checkpoint(w->inst[0], &w->ctx, err);
        if (s != SL_OK)
            sl_error_prefix(err, "stage '%s' (checkpoint)", w->name);
        if (s == SL_OK)
            s = sl__fsync_path(tmp, false, err);
        name = seg_name(c->rank, c->seg, false);
        path = name ? sl__state_path(&c->st, name) : NULL;
        if (s == SL_OK && !path)
            s = SL_FAIL(SL_ENOMEM, "out of memory");
        if (s == SL_OK && rename(tmp, path) != 0)
            s = SL_FAIL(SL_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        if (s == SL_OK)
            s = sl__fsync_path(c->st.dir, true, err);
        if (s == SL_OK)
            snprintf(r.segment, sizeof r.segment, "%s", name);
    } else if (s == SL_OK) {
        snprintf(r.segment, sizeof r.segment, "-"); /* only batches given up */
    }
    if (s == SL_OK)
        s = sl__journal_append(c->journal, &r, err);
    if (s == SL_OK && file) {
        c->seg++;
        s = point_sink(p, err);
    }
    free(name);
    free(path);
    rec_release(&r);
    return s;
}

static bool has_dead(const sl_pipeline *p, uint64_t seq)
{
    for (size_t i = 0; i < p->ndead; i++)
        if (p->dead[i].seq == seq)
            return true;
    return false;
}

sl_status sl__ckpt_restore(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    if (!c || !c->restore)
        return SL_OK;
    for (size_t i = 0; i < c->st.nrecs; i++) {
        const sl__jrec *r = &c->st.recs[i];
        for (size_t k = 0; k < r->nres; k++)
            SL_TRY(sl__run_result_add(p, r->res[k].key, r->res[k].type, r->res[k].u, r->res[k].f,
                                      err));
    }
    if (c->todo.ntodo < c->todo.total || c->st.nrecs) {
        /* Dead letters of earlier runs, unless their batches ran again. */
        for (size_t i = 0; i < c->st.nrecs; i++) {
            const sl__jrec *r = &c->st.recs[i];
            for (size_t k = 0; k < r->ndead; k++) {
                if (!sl__seqset_done(&c->todo, r->dead[k].seq) ||
                    !dead_stands(&c->st, r->dead[k].seq) || has_dead(p, r->dead[k].seq))
                    continue;
                SL_TRY(sl__pipeline_dead_add(p, r->dead[k].seq, r->dead[k].stage,
                                             r->dead[k].attempts, r->dead[k].error, err));
                p->dead[p->ndead - 1].journaled = true;
            }
        }
        sl__pipeline_dead_sort(p);
    }
    return SL_OK;
}

sl_status sl__ckpt_segments(sl_pipeline *p, sl__ckpt_seg **out, size_t *n, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    *out = NULL;
    *n = 0;
    SL_TRY(sl__state_reload(&c->st, err));
    sl__ckpt_seg *v = calloc(c->st.nrecs ? c->st.nrecs : 1, sizeof *v);
    SL_CHECK(v, SL_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < c->st.nrecs; i++) {
        const sl__jrec *r = &c->st.recs[i];
        if (strcmp(r->segment, "-") == 0)
            continue;
        /* A finished run's output, kept for --retry-deadletters. */
        v[m].path = strcmp(r->segment, CKPT_OUTPUT) == 0 ? strdup(p->output)
                                                         : sl__state_path(&c->st, r->segment);
        v[m].rows = r->rows;
        v[m].nrows = r->nrows;
        if (!v[m].path) {
            sl__ckpt_segments_free(v, m);
            return SL_FAIL(SL_ENOMEM, "out of memory");
        }
        if (access(v[m].path, R_OK) != 0) {
            sl_status s = SL_FAIL(SL_EIO, "%s: a journal names it but it cannot be read (%s): "
                                          "the state is damaged; start over with --force",
                                  v[m].path, strerror(errno));
            sl__ckpt_segments_free(v, m + 1);
            return s;
        }
        m++;
    }
    *out = v;
    *n = m;
    return SL_OK;
}

void sl__ckpt_segments_free(sl__ckpt_seg *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

sl_status sl__ckpt_remove(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    if (!c)
        return SL_OK;
    sl__journal_close(&c->journal);
    return sl__state_remove(&c->st, err);
}


void sl__ckpt_close(sl_pipeline *p)
{
    sl__ckpt *c = p->ckpt;
    if (!c)
        return;
    sl__journal_close(&c->journal);
    sl__seqset_free(&c->todo);
    sl__state_close(&c->st);
    free(c);
    p->ckpt = NULL;
    p->ckpt_stage = SIZE_MAX;
}

void sl_pipeline_request_drain(sl_pipeline *p) { sl__run_request_drain(p); }
bool sl_pipeline_resumable(const sl_pipeline *p) { return p && p->ckpt_capable; }
const char *sl_pipeline_state_dir(const sl_pipeline *p) { return p ? sl__ckpt_dir(p) : NULL; }
uint64_t sl_pipeline_batches_resumed(const sl_pipeline *p) { return p ? sl__ckpt_finished(p) : 0; }

sl_status sl_pipeline_check_state(const sl_pipeline *p, sl_error *err)
{
    if (!p->output || p->no_state)
        return SL_OK;
    const char *why = sl__ckpt_unsupported(p);
    SL_CHECK(!p->resume || !why, SL_EINVAL, "cannot resume '%s': %s (docs/resume.md)", p->output,
             why);
    if (why)
        return SL_OK;
    char *fp = NULL;
    SL_TRY(sl_pipeline_fingerprint(p, &fp, err));
    sl_status s = sl__state_check(p->output, fp, p->resume, p->force, err);
    free(fp);
    return s;
}

sl_status sl__ckpt_drop_if_empty(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    if (!c)
        return SL_OK;
    SL_TRY(sl__state_reload(&c->st, err));
    if (c->st.nrecs > 0)
        return SL_OK;
    sl_status s = sl__ckpt_remove(p, err);
    sl__ckpt_close(p);
    return s;
}

sl_status sl__ckpt_keep(sl_pipeline *p, sl_error *err)
{
    sl__ckpt *c = p->ckpt;
    SL_CHECK(c, SL_EINVAL, "no state to keep");
    /* Rows in the output: every record's, and the base segment's. */
    sl__jrec r;
    memset(&r, 0, sizeof r);
    snprintf(r.segment, sizeof r.segment, "%s", CKPT_OUTPUT);
    size_t nrows = p->nrows_done;
    for (size_t i = 0; i < c->st.nrecs; i++)
        nrows += c->st.recs[i].nrows;
    r.rows = malloc((nrows ? nrows : 1) * sizeof *r.rows);
    r.seqs = malloc((p->ndead + 1) * sizeof *r.seqs);
    r.res = calloc(p->nresults ? p->nresults : 1, sizeof *r.res);
    r.dead = calloc(p->ndead ? p->ndead : 1, sizeof *r.dead);
    sl_status s = r.rows && r.seqs && r.res && r.dead ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK) {
        if (p->nrows_done)
            memcpy(r.rows, p->rows_done, p->nrows_done * sizeof *r.rows);
        r.nrows = p->nrows_done;
        for (size_t i = 0; i < c->st.nrecs; i++) {
            if (c->st.recs[i].nrows)
                memcpy(r.rows + r.nrows, c->st.recs[i].rows,
                       c->st.recs[i].nrows * sizeof *r.rows);
            r.nrows += c->st.recs[i].nrows;
        }
        r.nrows = sl__row_ranges_coalesce(r.rows, r.nrows);
        /* Every seq is finished but the dead letters' (sorted by seq). */
        uint64_t lo = 0;
        for (size_t i = 0; i < p->ndead; i++) {
            if (p->dead[i].seq > lo)
                r.seqs[r.nseqs++] = (sl__row_range){lo, p->dead[i].seq};
            lo = p->dead[i].seq + 1;
        }
        if (lo < p->total_batches)
            r.seqs[r.nseqs++] = (sl__row_range){lo, p->total_batches};
        for (size_t i = 0; i < p->nresults; i++) {
            sl__jresult *x = &r.res[r.nres++];
            snprintf(x->key, sizeof x->key, "%s", p->results[i].key);
            x->type = p->results[i].type;
            x->u = p->results[i].u;
            x->f = p->results[i].f;
        }
        for (size_t i = 0; i < p->ndead; i++) {
            r.dead[r.ndead].seq = p->dead[i].seq;
            r.dead[r.ndead].attempts = p->dead[i].attempts;
            r.dead[r.ndead].stage = p->dead[i].stage;
            r.dead[r.ndead].error = p->dead[i].error;
            r.ndead++;
        }
    }
    /* A new state with this one record: the old one goes first. */
    char *fp = NULL;
    if (s == SL_OK)
        s = sl_pipeline_fingerprint(p, &fp, err);
    if (s == SL_OK)
        s = sl__ckpt_remove(p, err);
    sl__state st;
    if (s == SL_OK)
        s = sl__state_open(&st, p->output, fp, SL__STATE_REPLACE, err);
    if (s == SL_OK) {
        char *jp = sl__state_path(&st, "journal.r0");
        sl__journal *j = NULL;
        s = jp ? sl__journal_open(&j, jp, err) : SL_FAIL(SL_ENOMEM, "out of memory");
        if (s == SL_OK)
            s = sl__journal_append(j, &r, err);
        sl__journal_close(&j);
        free(jp);
        sl__state_close(&st);
    }
    free(fp);
    free(r.rows);
    free(r.seqs);
    free(r.res);
    free(r.dead); /* the texts are the dead letters' own */
    return s;
}
