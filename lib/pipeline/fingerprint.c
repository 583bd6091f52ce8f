/* lib/pipeline/fingerprint.c - the settings a resume must find unchanged
 * (sluice/resume.h), and the differences when it does not. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/resume.h>

#include "pipeline/pipeline_impl.h"
#include "util/strbuf.h"

static const char *mode_name(sl_stage_mode m)
{
    return m == SL_MODE_ORDERED ? "ordered" : m == SL_MODE_SERIAL ? "serial" : "parallel";
}

/* A name or identity as one fingerprint field: no tab or line break. */
static const char *one_line(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        buf[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
    buf[n] = '\0';
    return buf;
}

sl_status sl_pipeline_fingerprint(const sl_pipeline *p, char **out, sl_error *err)
{
    *out = NULL;
    sl__strbuf b = {0};
    sl__strbuf_printf(&b, "sluice\tfingerprint\t1\n");
    sl__strbuf_printf(&b, "plan\tbatches\t%llu\n", (unsigned long long)p->total_batches);
    sl__strbuf_printf(&b, "plan\trows\t%llu\n", (unsigned long long)p->total_rows);
    sl__strbuf_printf(&b, "pipeline\tstages\t");
    for (size_t i = 0; i < p->nstages; i++)
        sl__strbuf_printf(&b, "%s%s", i ? "," : "", p->stages[i].name);
    sl__strbuf_printf(&b, "\n");
    for (size_t i = 0; i < p->nstages; i++) {
        const pl_stage *st = &p->stages[i];
        sl__strbuf_printf(&b, "stage %s\tplugin\t%s\n", st->name, st->desc->name);
        sl__strbuf_printf(&b, "stage %s\tversion\t%s\n", st->name, st->desc->version ? st->desc->version : "");
        sl__strbuf_printf(&b, "stage %s\tmode\t%s\n", st->name, mode_name(st->mode));
        sl__strbuf_printf(&b, "stage %s\ton_error\t%s\n", st->name, sl_on_error_name(st->pol.on_error));
        sl__strbuf_printf(&b, "stage %s\tretries\t%u\n", st->name, st->pol.retries);
        sl__strbuf_printf(&b, "stage %s\ttimeout\t%.17g\n", st->name, st->pol.timeout_s);
        size_t n = sl_params_format(st->params, NULL, 0);
        char *lines = malloc(n + 1);
        if (!lines) {
            free(b.s);
            return SL_FAIL(SL_ENOMEM, "out of memory");
        }
        sl_params_format(st->params, lines, n + 1);
        for (char *l = lines, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            if (!nl)
                break;
            *nl = '\0';
            char *eq = strchr(l, '=');
            if (eq) {
                *eq = '\0';
                sl__strbuf_printf(&b, "stage %s\tparam %s\t%s\n", st->name, l, eq + 1);
            }
        }
        free(lines);
        for (size_t k = 0; k < st->ninputs; k++) {
            char name[1024], id[1024];
            sl__strbuf_printf(&b, "stage %s\tinput %s\t%s\n", st->name,
                              one_line(st->inputs[k].key, name, sizeof name),
                              one_line(st->inputs[k].value, id, sizeof id));
        }
    }
    if (b.oom || !b.s) {
        free(b.s);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    *out = b.s;
    return SL_OK;
}

/* One fingerprint line split in place: scope, key, value. */
typedef struct fp_line {
    char *scope, *key, *value;
} fp_line;

static size_t split(char *text, fp_line **out)
{
    size_t n = 0, cap = 0;
    fp_line *v = NULL;
    for (char *l = text; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        char *t1 = strchr(l, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                fp_line *nv = realloc(v, cap * sizeof *nv);
                if (!nv)
                    break;
                v = nv;
            }
            *t1 = *t2 = '\0';
            v[n++] = (fp_line){l, t1 + 1, t2 + 1};
        }
        l = nl ? nl + 1 : NULL;
    }
    *out = v;
    return n;
}

static const fp_line *find(const fp_line *v, size_t n, const fp_line *x)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].scope, x->scope) == 0 && strcmp(v[i].key, x->key) == 0)
            return &v[i];
    return NULL;
}

static bool has_scope(const fp_line *v, size_t n, const char *scope)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].scope, scope) == 0)
            return true;
    return false;
}

/* "stage 'x' parameter 'stop'" or "the source's plan: batches" ... */
static void what(const fp_line *l, char *buf, size_t cap)
{
    if (strncmp(l->scope, "stage ", 6) == 0) {
        const char *k = l->key;
        if (strncmp(k, "param ", 6) == 0)
            snprintf(buf, cap, "stage '%s' parameter '%s'", l->scope + 6, k + 6);
        else if (strncmp(k, "input ", 6) == 0)
            snprintf(buf, cap, "stage '%s' input '%s'", l->scope + 6, k + 6);
        else
            snprintf(buf, cap, "stage '%s' %s", l->scope + 6, k);
    } else if (strcmp(l->scope, "plan") == 0) {
        snprintf(buf, cap, "the source's plan (%s)", l->key);
    } else if (strcmp(l->scope, "pipeline") == 0) {
        snprintf(buf, cap, "the stage list");
    } else {
        snprintf(buf, cap, "%s %s", l->scope, l->key);
    }
}

typedef struct out_buf {
    char *buf;
    size_t cap, len;
    bool full;
} out_buf;

static void say(out_buf *o, const char *fmt, ...)
{
    if (o->full || !o->buf || o->cap == 0)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (o->len + n + 2 > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, line, n);
    o->len += n;
    o->buf[o->len++] = '\n';
    o->buf[o->len] = '\0';
}

size_t sl_fingerprint_diff(const char *was, const char *now, char *buf, size_t cap)
{
    if (buf && cap)
        buf[0] = '\0';
    char *a = strdup(was ? was : ""), *b = strdup(now ? now : "");
    fp_line *va = NULL, *vb = NULL;
    size_t na = a ? split(a, &va) : 0, nb = b ? split(b, &vb) : 0, diffs = 0;
    out_buf o = {buf, cap, 0, false};
    char w[512];
    for (size_t i = 0; i < na; i++) {
        const fp_line *x = &va[i], *y = find(vb, nb, x);
        bool stage = strncmp(x->scope, "stage ", 6) == 0;
        if (y && strcmp(x->value, y->value) == 0)
            continue;
        diffs++;
        if (!y && stage && !has_scope(vb, nb, x->scope)) {
            /* A stage that is gone: said once, for its first line. */
            if (i == 0 || strcmp(va[i - 1].scope, x->scope) != 0)
                say(&o, "stage '%s' was in the job, is not any more", x->scope + 6);
            continue;
        }
        what(x, w, sizeof w);
        if (y)
            say(&o, "%s was %s, is now %s", w, x->value, y->value);
        else
            say(&o, "%s was %s, is not set any more", w, x->value);
    }
    for (size_t i = 0; i < nb; i++) {
        const fp_line *y = &vb[i];
        if (find(va, na, y))
            continue;
        diffs++;
        if (strncmp(y->scope, "stage ", 6) == 0 && !has_scope(va, na, y->scope)) {
            if (i == 0 || strcmp(vb[i - 1].scope, y->scope) != 0)
                say(&o, "stage '%s' is new", y->scope + 6);
            continue;
        }
        what(y, w, sizeof w);
        say(&o, "%s is new: %s", w, y->value);
    }
    free(va);
    free(vb);
    free(a);
    free(b);
    return diffs;
}
