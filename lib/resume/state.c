/* lib/resume/state.c - the state directory of a run (state.h). */
#include "resume/state.h"
#include "util/durable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/resume.h>

#define FP_NAME "fingerprint"

char *sl__state_path(const sl__state *st, const char *name)
{
    size_t n = strlen(st->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", st->dir, name);
    return p;
}

/* Writes text to dir/name durably: a temporary, fsync, rename, fsync dir. */
static sl_status write_file(const sl__state *st, const char *name, const char *text,
                            sl_error *err)
{
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", name);
    char *tmp = sl__state_path(st, tmpname), *path = sl__state_path(st, name);
    sl_status s = tmp && path ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    int fd = s == SL_OK ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (s == SL_OK && fd < 0)
        s = SL_FAIL(SL_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    size_t len = text ? strlen(text) : 0, done = 0;
    while (s == SL_OK && done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            s = SL_FAIL(SL_EIO, "%s: write failed: %s", tmp, strerror(errno));
        else
            done += (size_t)w;
    }
    if (s == SL_OK && fsync(fd) != 0)
        s = SL_FAIL(SL_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (s == SL_OK && rename(tmp, path) != 0)
        s = SL_FAIL(SL_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (s == SL_OK)
        s = sl__fsync_path(st->dir, true, err);
    if (s != SL_OK && tmp)
        unlink(tmp);
    free(tmp);
    free(path);
    return s;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* s starts with at least one digit: returns what follows them, else NULL. */
static const char *digits(const char *s)
{
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9')
        s++;
    return s;
}

/* What a state directory may hold: the fingerprint, journals (journal.rR),
 * segments (rR-N.h5) and their temporaries. Nothing else is ever removed. */
static bool ours(const char *name)
{
    if (strcmp(name, FP_NAME) == 0 || strcmp(name, FP_NAME ".tmp") == 0)
        return true;
    const char *t;
    if (strncmp(name, "journal.r", 9) == 0)
        return (t = digits(name + 9)) && *t == '\0';
    if (name[0] != 'r' || !(t = digits(name + 1)) || *t != '-' || !(t = digits(t + 1)))
        return false;
    return strcmp(t, ".h5") == 0 || strcmp(t, ".h5.tmp") == 0;
}

static bool named_by_a_record(const sl__state *st, const char *name)
{
    for (size_t i = 0; i < st->nrecs; i++)
        if (strcmp(st->recs[i].segment, name) == 0)
            return true;
    return false;
}

static sl_status remove_all(const char *dir, sl_error *err)
{
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT)
        return SL_OK;
    SL_CHECK(d, SL_EIO, "%s: cannot read: %s", dir, strerror(errno));
    sl_status s = SL_OK;
    for (struct dirent *e; s == SL_OK && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!ours(e->d_name)) {
            s = SL_FAIL(SL_EINVAL,
                        "%s holds '%s', which no run put there: not removing it (move it out "
                        "and try again)",
                        dir, e->d_name);
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT)
            s = SL_FAIL(SL_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    closedir(d);
    if (s == SL_OK && rmdir(dir) != 0 && errno != ENOENT)
        s = SL_FAIL(SL_EIO, "%s: cannot remove: %s", dir, strerror(errno));
    return s;
}

/* OUT.sluice.old: what a crash left of a state being removed. */
static sl_status remove_old(const char *dir, sl_error *err)
{
    size_t n = strlen(dir) + sizeof ".old";
    char *old = malloc(n);
    SL_CHECK(old, SL_ENOMEM, "out of memory");
    snprintf(old, n, "%s.old", dir);
    sl_status s = remove_all(old, err);
    free(old);
    return s;
}

static int journal_rank(const char *name)
{
    unsigned r;
    char tail[2];
    return sscanf(name, "journal.r%u%1s", &r, tail) == 1 ? (int)r : -1;
}

static int by_rank(const void *a, const void *b)
{
    int x = journal_rank(*(char *const *)a), y = journal_rank(*(char *const *)b);
    return (x > y) - (x < y);
}

/* Reads every journal, rank by rank, into st->recs. */
static sl_status read_journals(sl__state *st, sl_error *err)
{
    DIR *d = opendir(st->dir);
    SL_CHECK(d, SL_EIO, "%s: cannot read: %s", st->dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    sl_status s = SL_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (journal_rank(e->d_name) < 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                s = SL_FAIL(SL_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            s = SL_FAIL(SL_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_rank);
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        char *path = sl__state_path(st, names[i]);
        sl__jrec *r = NULL;
        size_t nr = 0;
        bool torn = false;
        s = path ? sl__journal_read(path, &r, &nr, &torn, err) : SL_FAIL(SL_ENOMEM, "oom");
        free(path);
        st->torn |= torn;
        if (s == SL_OK && nr) {
            sl__jrec *all = realloc(st->recs, (st->nrecs + nr) * sizeof *all);
            if (!all) {
                sl__jrecs_free(r, nr);
                s = SL_FAIL(SL_ENOMEM, "out of memory");
                break;
            }
            memcpy(all + st->nrecs, r, nr * sizeof *r);
            free(r); /* the records' arrays now belong to st->recs */
            st->recs = all;
            st->nrecs += nr;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

/* Removes temporaries and segments that no record names. */
static sl_status remove_orphans(sl__state *st, sl_error *err)
{
    DIR *d = opendir(st->dir);
    SL_CHECK(d, SL_EIO, "%s: cannot read: %s", st->dir, strerror(errno));
    sl_status s = SL_OK;
    for (struct dirent *e; s == SL_OK && (e = readdir(d));) {
        const char *nm = e->d_name;
        bool tmp = strlen(nm) > 4 && strcmp(nm + strlen(nm) - 4, ".tmp") == 0;
        bool seg = ours(nm) && nm[0] == 'r' && !tmp;
        if (!(tmp && ours(nm)) && !(seg && !named_by_a_record(st, nm)))
            continue;
        char *path = sl__state_path(st, nm);
        if (path && unlink(path) == 0)
            st->removed++;
        else if (path && errno != ENOENT)
            s = SL_FAIL(SL_EIO, "%s: cannot remove: %s", path, strerror(errno));
        free(path);
    }
    closedir(d);
    return s;
}

/* True when dir is a state without one intact record: nothing in it to
 * resume (a run killed before its first checkpoint), so a new run may
 * take it over. */
static bool holds_nothing(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool foreign = false;
    for (struct dirent *e; !foreign && (e = readdir(d));)
        foreign = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && !ours(e->d_name);
    closedir(d);
    if (foreign)
        return false; /* not ours to take over: the refusal says so */
    sl__state tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.dir = (char *)dir;
    sl_error e;
    sl_error_clear(&e);
    bool empty = read_journals(&tmp, &e) == SL_OK && tmp.nrecs == 0;
    sl__jrecs_free(tmp.recs, tmp.nrecs);
    return empty;
}

/* Removes dir durably and without a halfway state that looks resumable:
 * renamed aside first, then emptied. */
static sl_status remove_aside(const char *dir, sl_error *err)
{
    /* Refused before anything moves: a foreign file stays where it was. */
    DIR *d = opendir(dir);
    SL_CHECK(d, SL_EIO, "%s: cannot read: %s", dir, strerror(errno));
    sl_status fs = SL_OK;
    for (struct dirent *e; fs == SL_OK && (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && !ours(e->d_name))
            fs = SL_FAIL(SL_EINVAL,
                         "%s holds '%s', which no run put there: not removing it (move it out "
                         "and try again)",
                         dir, e->d_name);
    closedir(d);
    SL_TRY(fs);
    size_t n = strlen(dir) + sizeof ".old";
    char *old = malloc(n);
    SL_CHECK(old, SL_ENOMEM, "out of memory");
    snprintf(old, n, "%s.old", dir);
    sl_status s = remove_all(old, err);
    if (s == SL_OK && rename(dir, old) != 0 && errno != ENOENT)
        s = SL_FAIL(SL_EIO, "%s: cannot rename to %s: %s", dir, old, strerror(errno));
    if (s == SL_OK)
        s = sl__fsync_parent(dir, err);
    if (s == SL_OK)
        s = remove_all(old, err);
    free(old);
    return s;
}

static sl_status compare(const char *output, const char *was, const char *fp, sl_error *err)
{
    char diff[SL_ERROR_MSG_MAX - 100];
    size_t nd = sl_fingerprint_diff(was, fp, diff, sizeof diff);
    if (nd == 0)
        return SL_OK;
    /* One line: the differences joined with "; ". */
    for (char *c = diff; *c; c++)
        if (*c == '\n')
            *c = c[1] ? ';' : '\0';
    return SL_FAIL(SL_EINVAL, "cannot resume %s: the job changed: %s", output, diff);
}

sl_status sl__state_check(const char *output, const char *fp, bool resume, bool force,
                          sl_error *err)
{
    size_t n = strlen(output) + sizeof ".sluice";
    char *dir = malloc(n);
    SL_CHECK(dir, SL_ENOMEM, "out of memory");
    snprintf(dir, n, "%s.sluice", output);
    struct stat sb;
    sl_status s = SL_OK;
    if (lstat(dir, &sb) != 0 || force) {
        free(dir);
        return SL_OK;
    }
    if (!S_ISDIR(sb.st_mode)) {
        s = SL_FAIL(SL_EINVAL, "%s is not a directory", dir);
    } else if (!resume && holds_nothing(dir)) {
        s = SL_OK;
    } else if (!resume) {
        s = SL_FAIL(SL_EEXIST,
                    "%s exists: an interrupted run left it; resume with --resume, or start "
                    "over with --force",
                    dir);
    } else {
        size_t m = n + sizeof "/" FP_NAME;
        char *path = malloc(m);
        if (path)
            snprintf(path, m, "%s/%s", dir, FP_NAME);
        char *was = path ? read_file(path) : NULL;
        free(path);
        if (!was)
            s = SL_FAIL(SL_EIO, "%s: no readable fingerprint: cannot tell what job it was", dir);
        else
            s = compare(output, was, fp, err);
        free(was);
    }
    free(dir);
    return s;
}

sl_status sl__state_open(sl__state *st, const char *output, const char *fp, sl__state_mode mode,
                         sl_error *err)
{
    memset(st, 0, sizeof *st);
    size_t n = strlen(output) + sizeof ".sluice";
    st->dir = malloc(n);
    SL_CHECK(st->dir, SL_ENOMEM, "out of memory");
    snprintf(st->dir, n, "%s.sluice", output);
    struct stat sb;
    bool exists = lstat(st->dir, &sb) == 0;
    sl_status s = SL_OK;
    if (exists && !S_ISDIR(sb.st_mode))
        s = SL_FAIL(SL_EINVAL, "%s is not a directory", st->dir);
    else if (mode == SL__STATE_RESUME && !exists)
        s = SL_FAIL(SL_ENOTFOUND, "%s: nothing to resume (no %s: the run finished, or never "
                                  "started)", output, st->dir);
    else if (mode == SL__STATE_FRESH && exists && S_ISDIR(sb.st_mode) && holds_nothing(st->dir))
        s = remove_aside(st->dir, err);
    else if (mode == SL__STATE_FRESH && exists)
        s = SL_FAIL(SL_EEXIST,
                    "%s exists: an interrupted run left it; resume with --resume, or start "
                    "over with --force",
                    st->dir);
    else if (mode == SL__STATE_REPLACE && exists)
        s = remove_aside(st->dir, err);
    if (s == SL_OK && mode != SL__STATE_JOIN)
        s = remove_old(st->dir, err);
    if (s == SL_OK && mode == SL__STATE_JOIN) {
        if (!exists)
            s = SL_FAIL(SL_ENOTFOUND, "%s: missing (another rank should have made it: is the "
                                      "directory on a file system every rank sees?)",
                        st->dir);
        else
            s = read_journals(st, err);
    } else if (s == SL_OK && mode != SL__STATE_RESUME) {
        if (mkdir(st->dir, 0755) != 0)
            s = SL_FAIL(SL_EIO, "%s: cannot create: %s", st->dir, strerror(errno));
        else
            s = sl__fsync_parent(st->dir, err);
        if (s == SL_OK)
            s = write_file(st, FP_NAME, fp, err);
    } else if (s == SL_OK) {
        char *path = sl__state_path(st, FP_NAME);
        char *was = path ? read_file(path) : NULL;
        free(path);
        if (!was) {
            s = SL_FAIL(SL_EIO, "%s: no readable fingerprint: cannot tell what job it was",
                        st->dir);
        } else {
            s = compare(output, was, fp, err);
            free(was);
        }
        if (s == SL_OK)
            s = read_journals(st, err);
        if (s == SL_OK)
            s = remove_orphans(st, err);
    }
    if (s != SL_OK)
        sl__state_close(st);
    return s;
}

void sl__state_close(sl__state *st)
{
    sl__jrecs_free(st->recs, st->nrecs);
    free(st->dir);
    memset(st, 0, sizeof *st);
}

sl_status sl__state_reload(sl__state *st, sl_error *err)
{
    sl__jrecs_free(st->recs, st->nrecs);
    st->recs = NULL;
    st->nrecs = 0;
    return read_journals(st, err);
}

sl_status sl__state_remove(sl__state *st, sl_error *err) { return remove_aside(st->dir, err); }
