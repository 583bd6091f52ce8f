/* lib/pipeline/trace.c - the run as a Chrome trace (JSON object format, which
 * Perfetto and chrome://tracing open).
 *
 * One complete event ("ph": "X") per attempt of a stage on a batch: name =
 * the stage, pid = the rank, tid = the OpenMP thread (plus 1000 x the segment
 * in a stage-mode run, whose segments have teams of their own), args = the
 * batch's seq and, for a failed attempt, "ok": false. Metadata events name
 * the processes ("rank K") and threads. Times are microseconds of the wall
 * clock (CLOCK_REALTIME at the run's start plus CLOCK_MONOTONIC since), so
 * the ranks of one job line up as well as their clocks agree.
 *
 * Without MPI the file is written at the end of the batches. Under MPI each
 * rank writes PATH.r<K>.json (PATH.r<K>.s<k>.json per segment in stage mode),
 * and rank 0 joins the parts into PATH after gathering the figures and
 * removes them. Every file, part or whole, is a complete JSON document:
 * the first line opens traceEvents, each event is one line (the first
 * without, the others with a leading comma), and the line "]," closes the
 * list; the join copies the lines in between. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"

#define TRACE_HEAD "{\"traceEvents\":[\n"
#define TRACE_LINE_MAX 4096

static void put_us(FILE *f, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    fprintf(f, "%" PRId64 ".%03d", ns / 1000, (int)(ns % 1000));
}

static void tail(FILE *f, const char *job, int ranks, uint64_t spans, uint64_t dropped)
{
    fputs("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"schema\":\"sluice-trace/1\",\"job\":", f);
    sl__json_str(f, job);
    fprintf(f, ",\"ranks\":%d,\"spans\":%" PRIu64 ",\"dropped_spans\":%" PRIu64 "}}\n", ranks,
            spans, dropped);
}

static void events(FILE *f, const struct sl_pipeline *p, const struct sl__metrics *m)
{
    int pid = p->rank, base = m->segment >= 0 ? 1000 * m->segment : 0;
    fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
               "\"args\":{\"name\":\"rank %d\"}}",
            pid, pid);
    for (int k = 0; k <= m->nslots; k++) {
        const met_thread *t = &m->slots[k];
        if (t->nspans == 0)
            continue;
        int tid = base + (t->tid >= 0 ? t->tid : 999);
        fprintf(f, "\n,{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
                   "\"args\":{\"name\":\"",
                pid, tid);
        if (m->segment >= 0)
            fprintf(f, "segment %d ", m->segment);
        fprintf(f, t->tid >= 0 ? "thread %d\"}}" : "other threads\"}}", t->tid);
        for (size_t e = 0; e < t->nspans; e++) {
            const met_span *s = &t->spans[e];
            fputs("\n,{\"name\":", f);
            sl__json_str(f, p->stages[s->stage].name);
            fputs(",\"cat\":\"stage\",\"ph\":\"X\",\"ts\":", f);
            put_us(f, m->real0_ns + (int64_t)(s->t0 - m->t0_ns));
            fputs(",\"dur\":", f);
            put_us(f, (int64_t)(s->t1 - s->t0));
            fprintf(f, ",\"pid\":%d,\"tid\":%d,\"args\":{\"seq\":%" PRIu64 "%s}}", pid, tid,
                    s->seq, s->ok ? "" : ",\"ok\":false");
        }
    }
}

static char *part_name(const char *path, int rank, int segment)
{
    size_t n = strlen(path) + 48;
    char *s = malloc(n);
    if (s && segment >= 0)
        snprintf(s, n, "%s.r%d.s%d.json", path, rank, segment);
    else if (s)
        snprintf(s, n, "%s.r%d.json", path, rank);
    return s;
}

void sl__trace_write(struct sl_pipeline *p)
{
    struct sl__metrics *m = p->metrics;
    bool part = p->nranks > 1 || m->segment >= 0;
    char *name = part ? part_name(m->trace_path, p->rank, m->segment) : NULL;
    const char *path = part ? name : m->trace_path;
    uint64_t spans = 0, dropped = 0;
    for (int k = 0; k <= m->nslots; k++)
        spans += m->slots[k].nspans;
    for (size_t i = 0; i < m->nstages; i++)
        dropped += m->local[i].spans_dropped;
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fputs(TRACE_HEAD, f);
        events(f, p, m);
        tail(f, p->job_name, 1, spans, dropped);
    }
    if (!f || fclose(f) != 0)
        fprintf(stderr, "sluice: rank %d: cannot write the trace '%s': %s\n", p->rank,
                path ? path : m->trace_path, strerror(errno));
    else if (part)
        m->trace_parts |= m->segment >= 0 ? UINT64_C(1) << m->segment : UINT64_C(1) << 63;
    if (dropped)
        fprintf(stderr, "sluice: rank %d: the trace kept %" PRIu64 " spans and dropped %" PRIu64
                        " (at most %zu per thread)\n",
                p->rank, spans, dropped, m->trace_cap);
    free(name);
}

/* Copies the events of the part file `name` into out (with a leading comma
 * unless first); adds its span counts. */
static sl_status copy_part(FILE *out, const char *name, bool *first, uint64_t *spans,
                           uint64_t *dropped, sl_error *err)
{
    FILE *in = fopen(name, "r");
    SL_CHECK(in, SL_EIO, "cannot read the trace part '%s': %s", name, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool inside = false;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (!inside) {
            inside = strcmp(line, TRACE_HEAD) == 0;
            const char *o = inside ? NULL : strstr(line, "\"spans\":");
            const char *d = inside ? NULL : strstr(line, "\"dropped_spans\":");
            unsigned long long a = 0, b = 0;
            if (o && sscanf(o, "\"spans\":%llu", &a) == 1)
                *spans += a;
            if (d && sscanf(d, "\"dropped_spans\":%llu", &b) == 1)
                *dropped += b;
            continue;
        }
        if (strncmp(line, "],", 2) == 0) {
            inside = false;
            continue;
        }
        if (line[0] == '\n')
            continue;
        if (*first && line[0] == ',')
            fputs(line + 1, out);
        else if (!*first && line[0] != ',')
            fprintf(out, ",%s", line);
        else
            fputs(line, out);
        if (line[len - 1] != '\n')
            fputc('\n', out);
        *first = false;
    }
    free(line);
    fclose(in);
    return SL_OK;
}

sl_status sl__trace_join(const struct sl_pipeline *p, int nranks, const uint64_t *parts,
                         sl_error *err)
{
    const struct sl__metrics *m = p->metrics;
    FILE *out = fopen(m->trace_path, "w");
    SL_CHECK(out, SL_EIO, "cannot write the trace '%s': %s", m->trace_path, strerror(errno));
    fputs(TRACE_HEAD, out);
    bool first = true;
    uint64_t spans = 0, dropped = 0;
    sl_status s = SL_OK;
    for (int r = 0; r < nranks && s == SL_OK; r++)
        for (int k = -1; k < 63 && s == SL_OK; k++) {
            if (!(parts[r] & (UINT64_C(1) << (k < 0 ? 63 : k))))
                continue;
            char *name = part_name(m->trace_path, r, k);
            s = name ? copy_part(out, name, &first, &spans, &dropped, err)
                     : SL_FAIL(SL_ENOMEM, "out of memory");
            if (s == SL_OK)
                unlink(name);
            free(name);
        }
    /* The joined file ends with a newline after the last event: drop it so
     * that tail's own newline closes the list cleanly. */
    fflush(out);
    long pos = ftell(out);
    if (!first && pos > 0)
        fseek(out, pos - 1, SEEK_SET);
    tail(out, p->job_name, nranks, spans, dropped);
    if (fclose(out) != 0 && s == SL_OK)
        s = SL_FAIL(SL_EIO, "cannot write the trace '%s': %s", m->trace_path, strerror(errno));
    return s;
}
