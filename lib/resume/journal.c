/* lib/resume/journal.c - the journal's format and its durable appends
 * (journal.h). zlib's crc32 checks each line. */
#include "resume/journal.h"
#include "util/durable.h"
#include "util/strbuf.h"

#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct sl__journal {
    int fd;
    char *path;
};

static void put_ranges(sl__strbuf *b, const char *name, const sl__row_range *r, size_t n)
{
    sl__strbuf_printf(b, " %s=", name);
    if (n == 0)
        sl__strbuf_printf(b, "-");
    for (size_t i = 0; i < n; i++)
        sl__strbuf_printf(b, "%s%" PRIu64 "-%" PRIu64, i ? "," : "", r[i].lo, r[i].hi);
}

/* Free text (a stage name, an error) as hex: it may hold any separator. */
static void put_hex(sl__strbuf *b, const char *s)
{
    if (!s || !*s) {
        sl__strbuf_printf(b, "-");
        return;
    }
    for (; *s; s++)
        sl__strbuf_printf(b, "%02x", (unsigned char)*s);
}

/* A name or key may not hold what separates fields and values. */
static bool plain(const char *s)
{
    for (; *s; s++)
        if (*s == ' ' || *s == '\n' || *s == ',' || *s == ':' || *s == '=' ||
            (unsigned char)*s < 0x20)
            return false;
    return true;
}

static bool parse_line(char *line, sl__jrec *r);
static void rec_free(sl__jrec *r);

/* Bytes of the journal's intact records: a torn tail (a crash during an
 * append) is cut off before anything is appended, or the next record would
 * be glued to it and lost with it. */
static off_t intact_length(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t good = 0;
    while ((len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        line[len - 1] = '\0';
        sl__jrec r;
        if (!parse_line(line, &r))
            break;
        rec_free(&r);
        good += len;
    }
    free(line);
    fclose(f);
    return good;
}

sl_status sl__journal_open(sl__journal **out, const char *path, sl_error *err)
{
    *out = NULL;
    bool existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    SL_CHECK(fd >= 0, SL_EIO, "%s: cannot open the journal: %s", path, strerror(errno));
    struct stat sb;
    off_t good = existed ? intact_length(path) : 0;
    if (existed && good >= 0 && fstat(fd, &sb) == 0 && sb.st_size > good &&
        (ftruncate(fd, good) != 0 || fsync(fd) != 0)) {
        int e = errno;
        close(fd);
        return SL_FAIL(SL_EIO, "%s: cannot cut off the damaged tail: %s", path, strerror(e));
    }
    sl__journal *j = calloc(1, sizeof *j);
    char *p = strdup(path);
    if (!j || !p) {
        close(fd);
        free(j);
        free(p);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    j->fd = fd;
    j->path = p;
    if (!existed) {
        sl_status s = sl__fsync_parent(path, err);
        if (s != SL_OK) {
            sl__journal_close(&j);
            return s;
        }
    }
    *out = j;
    return SL_OK;
}

sl_status sl__journal_append(sl__journal *j, const sl__jrec *r, sl_error *err)
{
    SL_CHECK(plain(r->segment) && *r->segment, SL_EINVAL,
             "journal %s: segment name '%s' is empty or holds a separator", j->path, r->segment);
    sl__strbuf b = {0};
    sl__strbuf_printf(&b, "seg=%s", r->segment);
    put_ranges(&b, "seqs", r->seqs, r->nseqs);
    put_ranges(&b, "rows", r->rows, r->nrows);
    sl__strbuf_printf(&b, " res=");
    if (r->nres == 0)
        sl__strbuf_printf(&b, "-");
    for (size_t i = 0; i < r->nres; i++) {
        const sl__jresult *x = &r->res[i];
        if (!plain(x->key) || !*x->key) {
            free(b.s);
            return SL_FAIL(SL_EINVAL, "journal %s: result name '%s' holds a separator", j->path,
                           x->key);
        }
        if (x->type == SL_TYPE_F64)
            sl__strbuf_printf(&b, "%s%s:f:%a", i ? "," : "", x->key, x->f);
        else
            sl__strbuf_printf(&b, "%s%s:u:%" PRIu64, i ? "," : "", x->key, x->u);
    }
    if (r->ndead) {
        sl__strbuf_printf(&b, " dead=");
        for (size_t i = 0; i < r->ndead; i++) {
            const sl__jdead *d = &r->dead[i];
            sl__strbuf_printf(&b, "%s%" PRIu64 ":%u:", i ? "," : "", d->seq, d->attempts);
            put_hex(&b, d->stage);
            sl__strbuf_printf(&b, ":");
            put_hex(&b, d->error);
        }
    }
    if (b.oom) {
        free(b.s);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    uLong crc = crc32(0L, (const Bytef *)b.s, (uInt)b.len);
    sl__strbuf line = {0};
    sl__strbuf_printf(&line, "J1 %08lx %s\n", (unsigned long)crc, b.s);
    free(b.s);
    if (line.oom) {
        free(line.s);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    /* One write of the whole line: the journal is append-only, so a crash
     * cuts at most this line short, and its checksum then fails. A failed
     * write is cut off again, so that later records stay readable. */
    struct stat sb;
    off_t before = fstat(j->fd, &sb) == 0 ? sb.st_size : -1;
    size_t done = 0;
    while (done < line.len) {
        ssize_t w = write(j->fd, line.s + done, line.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            free(line.s);
            if (before >= 0 && ftruncate(j->fd, before) == 0)
                fsync(j->fd);
            return SL_FAIL(SL_EIO, "journal %s: write failed: %s", j->path, strerror(e));
        }
        done += (size_t)w;
    }
    free(line.s);
    SL_CHECK(fsync(j->fd) == 0, SL_EIO, "journal %s: fsync failed: %s", j->path,
             strerror(errno));
    return SL_OK;
}

void sl__journal_close(sl__journal **jp)
{
    if (!jp || !*jp)
        return;
    close((*jp)->fd);
    free((*jp)->path);
    free(*jp);
    *jp = NULL;
}

static bool parse_ranges(const char *v, sl__row_range **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (strcmp(v, "-") == 0)
        return true;
    size_t cap = 1;
    for (const char *c = v; *c; c++)
        cap += *c == ',';
    sl__row_range *r = calloc(cap, sizeof *r);
    if (!r)
        return false;
    const char *p = v;
    for (size_t i = 0; i < cap; i++) {
        char *end;
        errno = 0;
        uint64_t lo = strtoull(p, &end, 10);
        if (end == p || *end != '-' || errno)
            goto bad;
        p = end + 1;
        uint64_t hi = strtoull(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || errno || hi < lo)
            goto bad;
        r[i] = (sl__row_range){lo, hi};
        p = end + 1;
    }
    *out = r;
    *n = cap;
    return true;
bad:
    free(r);
    return false;
}

static bool parse_results(const char *v, sl__jresult **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (strcmp(v, "-") == 0)
        return true;
    size_t cap = 1;
    for (const char *c = v; *c; c++)
        cap += *c == ',';
    sl__jresult *r = calloc(cap, sizeof *r);
    char *copy = strdup(v);
    if (!r || !copy)
        goto bad;
    char *save = NULL, *item = strtok_r(copy, ",", &save);
    for (size_t i = 0; i < cap; i++, item = strtok_r(NULL, ",", &save)) {
        char *c1 = item ? strchr(item, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || (size_t)(c1 - item) >= SL__JOURNAL_KEY_MAX || c2 != c1 + 2)
            goto bad;
        memcpy(r[i].key, item, (size_t)(c1 - item));
        char *end;
        errno = 0;
        if (c1[1] == 'u') {
            r[i].type = SL_TYPE_U64;
            r[i].u = strtoull(c2 + 1, &end, 10);
        } else if (c1[1] == 'f') {
            r[i].type = SL_TYPE_F64;
            r[i].f = strtod(c2 + 1, &end);
        } else {
            goto bad;
        }
        if (end == c2 + 1 || *end || errno)
            goto bad;
    }
    free(copy);
    *out = r;
    *n = cap;
    return true;
bad:
    free(copy);
    free(r);
    return false;
}

static char *parse_hex(const char *s, size_t n)
{
    if (n == 1 && s[0] == '-')
        return strdup("");
    if (n % 2)
        return NULL;
    char *out = malloc(n / 2 + 1);
    for (size_t i = 0; out && i < n / 2; i++) {
        unsigned v;
        char two[3] = {s[2 * i], s[2 * i + 1], 0};
        if (!isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]) ||
            sscanf(two, "%2x", &v) != 1 || v == 0) {
            free(out);
            return NULL;
        }
        out[i] = (char)v;
    }
    if (out)
        out[n / 2] = '\0';
    return out;
}

static void dead_free(sl__jdead *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].stage);
        free(d[i].error);
    }
    free(d);
}

static bool parse_dead(const char *v, sl__jdead **out, size_t *n)
{
    size_t cap = 1;
    for (const char *c = v; *c; c++)
        cap += *c == ',';
    sl__jdead *d = calloc(cap, sizeof *d);
    if (!d)
        return false;
    const char *p = v;
    for (size_t i = 0; i < cap; i++) {
        char *end;
        errno = 0;
        d[i].seq = strtoull(p, &end, 10);
        if (end == p || *end != ':' || errno)
            goto bad;
        p = end + 1;
        unsigned long a = strtoul(p, &end, 10);
        if (end == p || *end != ':' || errno || a > 1000000000ul)
            goto bad;
        d[i].attempts = (unsigned)a;
        p = end + 1;
        const char *colon = strchr(p, ':');
        if (!colon || !(d[i].stage = parse_hex(p, (size_t)(colon - p))))
            goto bad;
        p = colon + 1;
        size_t len = strcspn(p, ",");
        if (!(d[i].error = parse_hex(p, len)))
            goto bad;
        p += len + (p[len] == ',');
    }
    *out = d;
    *n = cap;
    return true;
bad:
    dead_free(d, cap);
    return false;
}

static void rec_free(sl__jrec *r)
{
    free(r->seqs);
    free(r->rows);
    free(r->res);
    dead_free(r->dead, r->ndead);
    memset(r, 0, sizeof *r);
}

/* One line (without its '\n') into r; false when it is not an intact record. */
static bool parse_line(char *line, sl__jrec *r)
{
    memset(r, 0, sizeof *r);
    if (strncmp(line, "J1 ", 3) != 0 || strlen(line) < 12 || line[11] != ' ')
        return false;
    char hex[9];
    memcpy(hex, line + 3, 8);
    hex[8] = '\0';
    char *end;
    unsigned long want = strtoul(hex, &end, 16);
    if (*end)
        return false;
    char *body = line + 12;
    if (crc32(0L, (const Bytef *)body, (uInt)strlen(body)) != want)
        return false;
    bool ok = true, seg = false;
    char *save = NULL;
    for (char *f = strtok_r(body, " ", &save); f && ok; f = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(f, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(f, "seg") == 0) {
            ok = strlen(v) < SL__JOURNAL_NAME_MAX && *v;
            if (ok)
                strcpy(r->segment, v);
            seg = ok;
        } else if (strcmp(f, "seqs") == 0) {
            ok = parse_ranges(v, &r->seqs, &r->nseqs);
        } else if (strcmp(f, "rows") == 0) {
            ok = parse_ranges(v, &r->rows, &r->nrows);
        } else if (strcmp(f, "res") == 0) {
            ok = parse_results(v, &r->res, &r->nres);
        } else if (strcmp(f, "dead") == 0) {
            ok = parse_dead(v, &r->dead, &r->ndead);
        } /* else: a field of a later version */
    }
    if (!ok || !seg) {
        rec_free(r);
        return false;
    }
    return true;
}

sl_status sl__journal_read(const char *path, sl__jrec **recs, size_t *n, bool *torn,
                           sl_error *err)
{
    *recs = NULL;
    *n = 0;
    *torn = false;
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT)
        return SL_OK;
    SL_CHECK(f, SL_EIO, "%s: cannot read the journal: %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t len;
    sl_status s = SL_OK;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] != '\n') { /* the last line, cut short */
            *torn = true;
            break;
        }
        line[len - 1] = '\0';
        sl__jrec r;
        if (!parse_line(line, &r)) {
            *torn = true; /* nothing after a damaged record is trusted */
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            sl__jrec *nr = realloc(*recs, cap * sizeof *nr);
            if (!nr) {
                rec_free(&r);
                s = SL_FAIL(SL_ENOMEM, "out of memory reading %s", path);
                break;
            }
            *recs = nr;
        }
        (*recs)[(*n)++] = r;
    }
    free(line);
    fclose(f);
    if (s != SL_OK) {
        sl__jrecs_free(*recs, *n);
        *recs = NULL;
        *n = 0;
    }
    return s;
}

void sl__jrecs_free(sl__jrec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rec_free(&recs[i]);
    free(recs);
}
