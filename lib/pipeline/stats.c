/* lib/pipeline/stats.c - the figures a run kept, as the public API gives them
 * (sluice/stats.h), and the bottleneck: which stage limits the run and what
 * to change.
 *
 * The bottleneck is the stage with the highest utilisation (busy time over
 * the time its instances had). Whether it is limited by its own concurrency,
 * by its mode, by room downstream or by nothing at all (no stage busy) comes
 * from the sampler's fractions; the suggestion names the setting to change
 * in the user's words (STAGE.concurrency, -t, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"

/* Below this utilisation no stage limits the run. */
#define BUSY_ENOUGH 0.5

const struct sl_pipeline *sl__stats_source(const struct sl_pipeline *p)
{
    const struct sl__metrics *m = p ? p->metrics : NULL;
    return m && m->speaker ? m->speaker : p;
}

static const struct sl__metrics *figures(const struct sl_pipeline *p)
{
    const struct sl__metrics *m = p ? p->metrics : NULL;
    return m && m->have && !m->silent && m->job && m->nstages == p->nstages ? m : NULL;
}

static double frac(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

void sl__stats_fill(const struct sl_pipeline *p, size_t i, const sl__stage_fig *f, double wall,
                    sl_stage_metrics *out)
{
    const pl_stage *st = &p->stages[i];
    memset(out, 0, sizeof *out);
    out->name = st->name;
    out->plugin = st->desc->name;
    out->mode = (int)st->mode;
    out->concurrency = st->conc;
    out->queue = st->qcap;
    out->ranks = (int)f->hosted;
    out->batches_in = f->batches_in;
    out->batches_out = f->batches_out;
    out->rows_in = f->rows_in;
    out->rows_out = f->rows_out;
    out->attempts = f->attempts;
    out->failed = f->failed;
    out->retries = f->retries;
    out->timeouts = f->timeouts;
    out->dropped = f->dropped;
    out->busy_s = 1e-9 * (double)f->busy_ns;
    double have = wall * (double)st->conc * (double)f->hosted;
    out->utilisation = have > 0 ? out->busy_s / have : 0;
    out->samples = f->samples;
    out->busy_frac = frac(f->running_sum, f->samples * (uint64_t)st->conc);
    out->starved_frac = frac(f->starved, f->samples);
    out->blocked_frac = frac(f->blocked, f->samples);
    out->queue_full_frac = frac(f->full, f->samples);
    out->queue_mean = frac(f->queue_sum, f->samples);
    out->p50_ms = 1e-6 * sl__fig_quantile_ns(f, 0.50);
    out->p90_ms = 1e-6 * sl__fig_quantile_ns(f, 0.90);
    out->p99_ms = 1e-6 * sl__fig_quantile_ns(f, 0.99);
    out->max_ms = 1e-6 * (double)f->max_ns;
}

int sl_pipeline_stats_ranks(const sl_pipeline *p)
{
    const struct sl_pipeline *q = sl__stats_source(p);
    const struct sl__metrics *m = figures(q);
    return m ? m->nranks : 0;
}

bool sl_pipeline_stage_metrics(const sl_pipeline *p, size_t i, int rank, sl_stage_metrics *out)
{
    const struct sl_pipeline *q = sl__stats_source(p);
    const struct sl__metrics *m = figures(q);
    if (!m || !out || i >= q->nstages || rank >= m->nranks)
        return false;
    if (rank < 0) {
        sl__stats_fill(q, i, &m->job[i], q->wall, out);
        return true;
    }
    double wall = m->rank_wall ? m->rank_wall[rank] : m->wall_s;
    sl__stats_fill(q, i, &m->rank_figs[(size_t)rank * m->nstages + i], wall, out);
    return true;
}

/* --- the bottleneck ------------------------------------------------------------ */

static const char *mode_word(int mode)
{
    return mode == SL_MODE_ORDERED ? "ordered" : mode == SL_MODE_SERIAL ? "serial" : "parallel";
}

static void suggest(const struct sl_pipeline *p, size_t b, const sl_stage_metrics *s,
                    sl_bottleneck *out)
{
    const pl_stage *st = &p->stages[b];
    const char *next = b + 1 < p->nstages ? p->stages[b + 1].name : NULL;
    bool single = st->mode != SL_MODE_PARALLEL || (st->desc->flags & SL_STAGE_SINGLE_INSTANCE);
    if (s->blocked_frac > 0.5 && next)
        snprintf(out->suggestion, sizeof out->suggestion,
                 "%s waits for room in %s's queue: raise %s.queue or %s.concurrency", s->name,
                 next, next, next);
    else if (single && st->mode != SL_MODE_PARALLEL)
        snprintf(out->suggestion, sizeof out->suggestion,
                 "%s runs one batch at a time (mode %s): make it parallel if its batches are "
                 "independent, or make each batch cheaper",
                 s->name, mode_word(s->mode));
    else if (single)
        snprintf(out->suggestion, sizeof out->suggestion,
                 "%s allows a single instance: make each batch cheaper, or split its work over "
                 "more stages",
                 s->name);
    else if (st->conc < p->threads)
        snprintf(out->suggestion, sizeof out->suggestion,
                 "raise %s.concurrency (now %d; the run has %d threads)", s->name, st->conc,
                 p->threads);
    else
        snprintf(out->suggestion, sizeof out->suggestion,
                 "%s already runs on every thread (concurrency %d, %d thread%s): add threads "
                 "(-t) or ranks, or make each batch cheaper",
                 s->name, st->conc, p->threads, p->threads == 1 ? "" : "s");
}

int sl_pipeline_bottleneck(const sl_pipeline *p, sl_bottleneck *out)
{
    memset(out, 0, sizeof *out);
    out->stage = -1;
    const struct sl_pipeline *q = sl__stats_source(p);
    if (!figures(q) || q->nstages == 0) {
        snprintf(out->reason, sizeof out->reason, "no figures (metrics off, or no run)");
        return -1;
    }
    size_t b = 0;
    sl_stage_metrics s, best;
    for (size_t i = 0; i < q->nstages; i++) {
        sl_pipeline_stage_metrics(q, i, SL_STATS_JOB, &s);
        if (i == 0 || s.utilisation > best.utilisation) {
            best = s;
            b = i;
        }
    }
    out->stage = (int)b;
    out->utilisation = best.utilisation;
    if (best.utilisation < BUSY_ENOUGH) {
        snprintf(out->reason, sizeof out->reason,
                 "no stage is busy half the time (the busiest, %s, %.0f%%)", best.name,
                 100 * best.utilisation);
        snprintf(out->suggestion, sizeof out->suggestion,
                 "the time goes between the stages: waiting for other ranks, retries, rate "
                 "limits, or per-batch overhead; fewer, larger batches may help");
        return out->stage;
    }
    int n = snprintf(out->reason, sizeof out->reason, "%s is busy %.0f%%", best.name,
                     100 * best.utilisation);
    if (best.queue > 0 && best.queue_full_frac >= 0.1 && n > 0 && (size_t)n < sizeof out->reason)
        n += snprintf(out->reason + n, sizeof out->reason - (size_t)n,
                      " and its input queue is full %.0f%% of the time",
                      100 * best.queue_full_frac);
    if (best.blocked_frac > 0.2 && n > 0 && (size_t)n < sizeof out->reason)
        snprintf(out->reason + n, sizeof out->reason - (size_t)n,
                 "; it has no room downstream %.0f%% of the time", 100 * best.blocked_frac);
    suggest(q, b, &best, out);
    return out->stage;
}

/* --- for stages ------------------------------------------------------------------ */

const char *sl_ctx_stats_json(const sl_ctx *c)
{
    struct sl__metrics *m = c->p->metrics;
    if (!m || !figures(sl__stats_source(c->p)) || m->silent)
        return NULL;
    char *text = sl_pipeline_stats_json(sl__stats_source(c->p));
    if (!text)
        return NULL;
    free(m->json);
    m->json = text;
    return text;
}

size_t sl_ctx_stats_nstages(const sl_ctx *c)
{
    const struct sl_pipeline *q = sl__stats_source(c->p);
    return c->p->metrics && !c->p->metrics->silent && figures(q) ? q->nstages : 0;
}

bool sl_ctx_stats_stage(const sl_ctx *c, size_t i, sl_stage_metrics *out)
{
    if (!sl_ctx_stats_nstages(c))
        return false;
    return sl_pipeline_stage_metrics(sl__stats_source(c->p), i, SL_STATS_JOB, out);
}
