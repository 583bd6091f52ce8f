/* lib/pipeline/stats_json.c - the run's figures as JSON, schema
 * "sluice-stats/1" (every field is described in docs/stats.md).
 *
 * Written with stdio into a memory stream, so the same text goes to a file
 * (--stats), to a stage (sl_ctx_stats_json, which h5sink stores) and to
 * tests. Numbers that are not finite are written as 0: JSON has no NaN. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"

#define SAMPLE_PERIOD_S 0.01

void sl__json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

void sl__json_num(FILE *f, double v) { fprintf(f, "%.9g", isfinite(v) ? v : 0.0); }

static void key_num(FILE *f, const char *key, double v)
{
    fprintf(f, ",\"%s\":", key);
    sl__json_num(f, v);
}

static void key_u64(FILE *f, const char *key, uint64_t v)
{
    fprintf(f, ",\"%s\":%" PRIu64, key, v);
}

/* The figures a stage has for the job and per rank (after "{" and a first
 * field). */
static void figures(FILE *f, const sl_stage_metrics *s)
{
    key_u64(f, "batches_in", s->batches_in);
    key_u64(f, "batches_out", s->batches_out);
    key_u64(f, "rows_in", s->rows_in);
    key_u64(f, "rows_out", s->rows_out);
    key_u64(f, "attempts", s->attempts);
    key_u64(f, "failed_attempts", s->failed);
    key_u64(f, "retries", s->retries);
    key_u64(f, "timeouts", s->timeouts);
    key_u64(f, "dropped", s->dropped);
    key_num(f, "busy_s", s->busy_s);
    key_num(f, "utilisation", s->utilisation);
    key_num(f, "busy_frac", s->busy_frac);
    key_num(f, "starved_frac", s->starved_frac);
    key_num(f, "blocked_frac", s->blocked_frac);
    key_num(f, "queue_mean", s->queue_mean);
    key_num(f, "queue_full_frac", s->queue_full_frac);
    key_u64(f, "samples", s->samples);
    fputs(",\"latency_ms\":{\"p50\":", f);
    sl__json_num(f, s->p50_ms);
    key_num(f, "p90", s->p90_ms);
    key_num(f, "p99", s->p99_ms);
    key_num(f, "max", s->max_ms);
    fputc('}', f);
}

static const char *mode_name(int m)
{
    return m == SL_MODE_ORDERED ? "ordered" : m == SL_MODE_SERIAL ? "serial" : "parallel";
}

static void stage(FILE *f, const struct sl_pipeline *p, const struct sl__metrics *m, size_t i)
{
    sl_stage_metrics s;
    sl_pipeline_stage_metrics(p, i, SL_STATS_JOB, &s);
    fputs("{\"name\":", f);
    sl__json_str(f, s.name);
    fputs(",\"plugin\":", f);
    sl__json_str(f, s.plugin);
    fprintf(f, ",\"mode\":\"%s\",\"concurrency\":%d,\"queue\":%d,\"ranks\":%d", mode_name(s.mode),
            s.concurrency, s.queue, s.ranks);
    figures(f, &s);
    fputs(",\"per_rank\":[", f);
    for (int r = 0; r < m->nranks; r++) {
        sl_stage_metrics rs;
        sl_pipeline_stage_metrics(p, i, r, &rs);
        fprintf(f, "%s{\"rank\":%d,\"hosted\":%s", r ? "," : "", r, rs.ranks ? "true" : "false");
        key_num(f, "wall_s", m->rank_wall ? m->rank_wall[r] : m->wall_s);
        figures(f, &rs);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void bottleneck(FILE *f, const struct sl_pipeline *p)
{
    sl_bottleneck b;
    sl_pipeline_bottleneck(p, &b);
    fputs(",\n\"bottleneck\":{\"stage\":", f);
    if (b.stage >= 0)
        sl__json_str(f, p->stages[b.stage].name);
    else
        fputs("null", f);
    fprintf(f, ",\"index\":%d", b.stage);
    key_num(f, "utilisation", b.utilisation);
    fputs(",\"reason\":", f);
    sl__json_str(f, b.reason);
    fputs(",\"suggestion\":", f);
    sl__json_str(f, b.suggestion);
    fputc('}', f);
}

static void column(FILE *f, const char *key, const met_series *s, size_t st, int c)
{
    fprintf(f, "\"%s\":[", key);
    for (size_t k = 0; k < s->n; k++) {
        if (k)
            fputc(',', f);
        sl__json_num(f, MET_V(s, st, c, k));
    }
    fputc(']', f);
}

static void series(FILE *f, const struct sl_pipeline *p, const met_series *s)
{
    fputs(",\n\"series\":{\"interval_s\":", f);
    sl__json_num(f, s->interval);
    fputs(",\"t_s\":[", f);
    for (size_t k = 0; k < s->n; k++)
        fprintf(f, "%s%.4f", k ? "," : "", s->t[k]);
    fputs("],\"stages\":{", f);
    for (size_t i = 0; i < p->nstages && i < s->nst; i++) {
        fputs(i ? ",\n" : "\n", f);
        sl__json_str(f, p->stages[i].name);
        fputs(":{", f);
        column(f, "batches_done", s, i, 0);
        fputc(',', f);
        column(f, "queue", s, i, 1);
        fputc(',', f);
        column(f, "busy", s, i, 2);
        fputc('}', f);
    }
    fputs("}}", f);
}

static void overhead(FILE *f, const struct sl__metrics *m)
{
    uint64_t attempts = 0, dropped = 0, busy = 0;
    for (size_t i = 0; i < m->nstages; i++) {
        attempts += m->job[i].attempts;
        dropped += m->job[i].spans_dropped;
        busy += m->job[i].busy_ns;
    }
    double est = 1e-9 * m->per_attempt_ns * (double)attempts;
    fputs(",\n\"overhead\":{\"per_attempt_ns\":", f);
    sl__json_num(f, m->per_attempt_ns);
    key_u64(f, "attempts", attempts);
    key_num(f, "estimated_s", est);
    key_num(f, "fraction_of_busy", busy ? est / (1e-9 * (double)busy) : 0);
    key_num(f, "sampler_period_s", SAMPLE_PERIOD_S);
    key_u64(f, "trace_spans", m->trace_path ? attempts - dropped : 0);
    key_u64(f, "trace_dropped", dropped);
    fputc('}', f);
}

char *sl_pipeline_stats_json(const sl_pipeline *pp)
{
    const struct sl_pipeline *p = sl__stats_source(pp);
    if (sl_pipeline_stats_ranks(p) == 0)
        return NULL;
    const struct sl__metrics *m = p->metrics;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    sl_stage_metrics src;
    sl_pipeline_stage_metrics(p, 0, SL_STATS_JOB, &src);
    fputs("{\"schema\":\"sluice-stats/1\",\"job\":", f);
    sl__json_str(f, p->job_name);
    fprintf(f, ",\"ranks\":%d,\"threads\":%d", m->nranks > 1 ? m->nranks : p->nranks, p->threads);
    key_num(f, "wall_s", p->wall);
    fputs(",\"started_utc\":", f);
    sl__json_str(f, m->started_utc);
    fputs(",\"host\":", f);
    sl__json_str(f, m->host);
    key_u64(f, "batches", src.batches_out);
    key_u64(f, "rows", src.rows_out);
    fputs(",\n\"stages\":[", f);
    for (size_t i = 0; i < p->nstages; i++) {
        fputs(i ? ",\n" : "\n", f);
        stage(f, p, m, i);
    }
    fputs("]", f);
    bottleneck(f, p);
    series(f, p, &m->series);
    overhead(f, m);
    fputs("}\n", f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

sl_status sl_pipeline_write_stats_json(const sl_pipeline *p, const char *path, sl_error *err)
{
    SL_CHECK(p && path && *path, SL_EINVAL, "no pipeline or no path for the stats file");
    char *text = sl_pipeline_stats_json(p);
    SL_CHECK(text, SL_EINVAL, "no figures to write to '%s' (metrics off, or no run)", path);
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f)
        ok &= fclose(f) == 0;
    free(text);
    SL_CHECK(ok, SL_EIO, "cannot write the stats file '%s': %s", path, strerror(errno));
    return SL_OK;
}
