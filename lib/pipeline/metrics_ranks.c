/* lib/pipeline/metrics_ranks.c - a run's figures as the distribution layer
 * moves them: from the segments of a stage-mode run into the job's pipeline,
 * and from every rank to rank 0 (lib/dist/stats_gather.c does the MPI).
 *
 * A rank's figures travel as one array of words, the same length on every
 * rank: a header (whether it has figures, its wall time, the trace parts it
 * wrote, the per-attempt cost) and then MET_FIG_WORDS per stage. Its series
 * travels as doubles: interval, points, stages, the times, then each
 * stage's columns. Rank 0 keeps every rank's figures and sums them into the
 * job's, and adds the series up on one time axis (each rank's from its own
 * start; ranks start together within the agreement before the batches). */
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics.h"
#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"

#define HDR_WORDS 4

_Static_assert(sizeof(sl__stage_fig) % sizeof(uint64_t) == 0, "figures are whole words");

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

void sl__metrics_inherit(struct sl_pipeline *seg, struct sl_pipeline *full, int k)
{
    struct sl__metrics *f = full->metrics;
    if (!f || !f->trace_path || k < 0 || k > 62)
        return;
    struct sl__metrics *m = sl__metrics_get(seg);
    char *path = m ? strdup(f->trace_path) : NULL;
    if (!path)
        return; /* no trace for this segment; the run goes on */
    free(m->trace_path);
    m->trace_path = path;
    m->segment = k;
    f->trace_segs |= UINT64_C(1) << k;
}

void sl__metrics_copy_stage(struct sl_pipeline *full, size_t j, const struct sl_pipeline *seg,
                            size_t k)
{
    const struct sl__metrics *s = seg->metrics;
    struct sl__metrics *m = s && s->have ? sl__metrics_get(full) : NULL;
    if (!m || j >= full->nstages || k >= s->nstages)
        return;
    sl_error ignore;
    if (!m->local && sl__metrics_results_alloc(m, full->nstages, &ignore) != SL_OK)
        return;
    m->local[j] = s->local[k];
    sl__series_add(&m->series, j, &s->series, k, 1);
    m->wall_s = s->wall_s > m->wall_s ? s->wall_s : m->wall_s;
    if (!m->started_utc[0]) {
        memcpy(m->started_utc, s->started_utc, sizeof m->started_utc);
        memcpy(m->host, s->host, sizeof m->host);
        m->per_attempt_ns = s->per_attempt_ns;
    }
    memcpy(m->rank_figs, m->local, m->nstages * sizeof *m->local);
    memcpy(m->job, m->local, m->nstages * sizeof *m->local);
    m->nranks = 1;
    m->have = true;
}

size_t sl__metrics_words(const struct sl_pipeline *p)
{
    return HDR_WORDS + p->nstages * MET_FIG_WORDS;
}

void sl__metrics_pack(const struct sl_pipeline *p, uint64_t *out)
{
    memset(out, 0, sl__metrics_words(p) * sizeof *out);
    const struct sl__metrics *m = p->metrics;
    if (!m || !m->have || m->nstages != p->nstages)
        return;
    out[0] = 1;
    out[1] = dbits(m->wall_s);
    out[2] = m->trace_parts | m->trace_segs;
    out[3] = dbits(m->per_attempt_ns);
    memcpy(out + HDR_WORDS, m->local, p->nstages * sizeof *m->local);
}

size_t sl__metrics_series_pack(const struct sl_pipeline *p, double *out)
{
    const struct sl__metrics *m = p->metrics;
    const met_series *s = m && m->have && m->series.t ? &m->series : NULL;
    size_t n = s ? s->n : 0, nst = s ? s->nst : 0;
    if (out) {
        out[0] = s ? s->interval : 0;
        out[1] = (double)n;
        out[2] = (double)nst;
        for (size_t k = 0; k < n; k++)
            out[3 + k] = s->t[k];
        double *v = out + 3 + n;
        for (size_t st = 0; st < nst; st++)
            for (int c = 0; c < MET_SERIES_COLS; c++)
                for (size_t k = 0; k < n; k++)
                    *v++ = MET_V(s, st, c, k);
    }
    return 3 + n + nst * MET_SERIES_COLS * n;
}

/* Adds a rank's packed series (buf) into dst. */
static sl_status add_packed(met_series *dst, const double *buf)
{
    size_t n = (size_t)buf[1], nst = (size_t)buf[2];
    if (n == 0 || nst != dst->nst || n > MET_SERIES_MAX)
        return SL_OK;
    met_series s;
    if (sl__series_init(&s, nst) != SL_OK)
        return SL_ENOMEM;
    s.interval = buf[0];
    s.n = n;
    memcpy(s.t, buf + 3, n * sizeof *s.t);
    const double *v = buf + 3 + n;
    for (size_t st = 0; st < nst; st++)
        for (int c = 0; c < MET_SERIES_COLS; c++)
            for (size_t k = 0; k < n; k++)
                MET_V(&s, st, c, k) = *v++;
    sl_status r = sl__series_add(dst, 0, &s, 0, nst);
    sl__series_free(&s);
    return r;
}

sl_status sl__metrics_take_ranks(struct sl_pipeline *p, struct sl_pipeline *writer, int nranks,
                                 const uint64_t *words, const double *const *series,
                                 sl_error *err)
{
    struct sl__metrics *m = sl__metrics_get(p);
    SL_CHECK(m, SL_ENOMEM, "out of memory for the metrics");
    if (!m->local)
        SL_TRY(sl__metrics_results_alloc(m, p->nstages, err));
    size_t ns = p->nstages, w = sl__metrics_words(p);
    sl__stage_fig *figs = calloc((size_t)nranks * (ns ? ns : 1), sizeof *figs);
    double *walls = calloc((size_t)nranks, sizeof *walls);
    uint64_t *parts = calloc((size_t)nranks, sizeof *parts);
    if (!figs || !walls || !parts) {
        free(figs);
        free(walls);
        free(parts);
        return SL_FAIL(SL_ENOMEM, "out of memory for the figures of %d ranks", nranks);
    }
    bool any = false;
    for (int r = 0; r < nranks; r++) {
        const uint64_t *hdr = words + (size_t)r * w;
        any |= hdr[0] != 0;
        walls[r] = bitsd(hdr[1]);
        parts[r] = hdr[2];
        memcpy(&figs[(size_t)r * ns], hdr + HDR_WORDS, ns * sizeof *figs);
    }
    free(m->rank_figs);
    free(m->rank_wall);
    m->rank_figs = figs;
    m->rank_wall = walls;
    m->nranks = nranks;
    sl__metrics_sum_ranks(m);
    sl__series_free(&m->series);
    sl_status s = sl__series_init(&m->series, ns);
    for (int r = 0; r < nranks && s == SL_OK; r++)
        s = add_packed(&m->series, series[r]);
    if (s != SL_OK)
        s = SL_FAIL(s, "out of memory adding up the ranks' series");
    m->have = any;
    if (writer && writer != p) {
        struct sl__metrics *wm = sl__metrics_get(writer);
        if (wm)
            wm->speaker = p;
    }
    if (s == SL_OK && m->trace_path)
        s = sl__trace_join(p, nranks, parts, err);
    free(parts);
    return s;
}

void sl__metrics_silence(struct sl_pipeline *p, struct sl_pipeline *writer)
{
    struct sl__metrics *m = sl__metrics_get(p);
    if (m)
        m->silent = true;
    if (writer && (m = sl__metrics_get(writer)))
        m->silent = true;
}
