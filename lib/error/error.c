/* lib/error/error.c - status names and the error context.
 *
 * sl_error is plain data owned by the caller, so errors cross threads (a task
 * copies its error into the pipeline) by value and never allocate. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/version.h>

const char *sl_status_name(sl_status s)
{
    switch (s) {
#define SL_X_(name, val, msg) \
    case name:                \
        return #name;
        SL_STATUS_MAP(SL_X_)
#undef SL_X_
    }
    return "SL_UNKNOWN";
}

const char *sl_status_str(sl_status s)
{
    switch (s) {
#define SL_X_(name, val, msg) \
    case name:                \
        return msg;
        SL_STATUS_MAP(SL_X_)
#undef SL_X_
    }
    return "unknown status";
}

void sl_error_clear(sl_error *e)
{
    if (!e)
        return;
    e->code = SL_OK;
    e->rank = -1;
    e->nframes = 0;
    e->msg[0] = '\0';
}

static void add_frame(sl_error *e, const char *file, int line, const char *func)
{
    if (e->nframes >= SL_ERROR_FRAMES)
        return;
    e->frames[e->nframes].file = file;
    e->frames[e->nframes].line = line;
    e->frames[e->nframes].func = func;
    e->nframes++;
}

/* Messages quote what people typed (YAML values, argv, names from batch
 * messages), and any of it may hold a line break; sluice's errors are one
 * line. So control characters become escapes ("\n", "\r", "\t", "\x1b")
 * as a message is made, cut where the escapes no longer fit. */
static void one_line(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        char esc[8] = {(char)*p, '\0'};
        if (*p == '\n' || *p == '\r' || *p == '\t')
            snprintf(esc, sizeof esc, "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", *p);
        size_t w = strlen(esc);
        if (n + w >= cap)
            break;
        memcpy(dst + n, esc, w);
        n += w;
    }
    dst[n] = '\0';
}

sl_status sl_error_set(sl_error *e, sl_status code, const char *file, int line, const char *func,
                       const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->nframes = 0;
    char raw[SL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    one_line(e->msg, sizeof e->msg, raw);
    add_frame(e, file, line, func);
    return code;
}

sl_status sl_error_push(sl_error *e, sl_status code, const char *file, int line, const char *func)
{
    if (!e)
        return code;
    if (e->code == SL_OK || e->msg[0] == '\0') {
        /* The callee returned a failure without saying why: keep the code. */
        e->code = code;
        e->nframes = 0;
        snprintf(e->msg, sizeof e->msg, "%s", sl_status_str(code));
    }
    add_frame(e, file, line, func);
    return code;
}

void sl_error_prefix(sl_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    char raw[SL_ERROR_MSG_MAX], head[SL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    one_line(head, sizeof head, raw);
    char body[SL_ERROR_MSG_MAX];
    memcpy(body, e->msg, sizeof body);
    snprintf(e->msg, sizeof e->msg, "%s: %s", head, body);
}

void sl_error_copy(sl_error *dst, const sl_error *src)
{
    memcpy(dst, src, sizeof *dst);
}

const char *sl_version_string(void)
{
    return SL_VERSION_STRING;
}
