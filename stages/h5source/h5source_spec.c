/* stages/h5source/h5source_spec.c - which datasets to read, and the helpers around them.
 *
 * `columns` is text because parameters are text: "NAME=/path" entries joined
 * by ',' (a job file's list or mapping becomes exactly that). Without it the
 * source reads every dataset at the root in name order, which is what
 * h5sink wrote. The chunk cache is sized here from the chunk shape alone, so
 * the arithmetic is tested without a file.
 *
 * HDF5 reports a failure as a stack of frames, outermost (the API call) to
 * innermost (what actually went wrong, e.g. "truncated file: eof = ...").
 * Its default handler prints the whole stack to stderr; we turn that off and
 * keep only the innermost description (lib/h5/h5_reason.c, shared with
 * h5sink and the multi-rank merge), reworded where HDF5's text shows its
 * internals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5/h5_reason.h"
#include "h5source_impl.h"

/* --- errors ------------------------------------------------------------- */

void sl__h5r_quiet(void) { sl__h5_quiet(); }

/* Two of HDF5's reasons in the reader's words: its truncation message shows
 * its internals ("truncated file: eof = 5000, sblock->base_addr = 0,
 * stored_eof = 14144"), and its checksum one does not say what it means. */
static const char *plain_reason(const char *file, const char *why, char *buf, size_t cap)
{
    if (strncmp(why, "truncated file", 14) == 0) {
        struct stat st;
        unsigned long long eof, base, stored;
        long long size = stat(file, &st) == 0 ? (long long)st.st_size : -1;
        int got = sscanf(why, "truncated file: eof = %llu, sblock->base_addr = %llu, "
                              "stored_eof = %llu", &eof, &base, &stored);
        if (size >= 0 && got == 3)
            snprintf(buf, cap, "truncated: the file is %lld bytes, its superblock says %llu",
                     size, stored);
        else if (size >= 0)
            snprintf(buf, cap, "truncated (the file is %lld bytes, shorter than HDF5 expects)",
                     size);
        else
            snprintf(buf, cap, "truncated (shorter than HDF5 expects)");
        return buf;
    }
    if (strstr(why, "Fletcher32")) {
        snprintf(buf, cap, "checksum mismatch (Fletcher32): the chunk on disk is not what "
                           "was written");
        return buf;
    }
    return why;
}

sl_status sl__h5r_fail(const char *file, const char *dset, const char *what, sl_error *err,
                       const char *src, int line, const char *func)
{
    char buf[256], plain[160];
    const char *why = plain_reason(file, sl__h5_reason(buf, sizeof buf), plain, sizeof plain);
    if (dset)
        return sl_error_set(err, SL_EIO, src, line, func, "%s: dataset '%s': %s: %s", file, dset,
                            what, why);
    return sl_error_set(err, SL_EIO, src, line, func, "%s: %s: %s", file, what, why);
}

/* --- the columns parameter ---------------------------------------------- */

void sl_h5r_spec_free(sl_h5r_spec *s)
{
    for (int i = 0; s && i < s->n; i++) {
        free(s->col[i].path);
        s->col[i].path = NULL;
    }
    if (s)
        s->n = 0;
}

/* [*b, *e) without leading and trailing spaces and tabs. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Appends column `name` (len bytes) reading `path` (plen bytes) to s. */
static sl_status add_col(sl_h5r_spec *s, const char *name, size_t len, const char *path,
                         size_t plen, sl_error *err)
{
    SL_CHECK(plen > 0, SL_EINVAL, "parameter 'columns': column '%.*s' has no dataset path",
             (int)len, name);
    SL_CHECK(len > 0, SL_EINVAL, "parameter 'columns': entry '%.*s' has no column name",
             (int)plen, path);
    SL_CHECK(len < SL_COLUMN_NAME_MAX, SL_EINVAL,
             "parameter 'columns': column name '%.*s' is longer than %d bytes", (int)len, name,
             SL_COLUMN_NAME_MAX - 1);
    SL_CHECK(!memchr(name, '/', len), SL_EINVAL,
             "parameter 'columns': column name '%.*s' may not contain '/'", (int)len, name);
    for (int i = 0; i < s->n; i++)
        SL_CHECK(strlen(s->col[i].name) != len || memcmp(s->col[i].name, name, len) != 0,
                 SL_EEXIST,
                 "parameter 'columns': column '%.*s' is given twice (%s and %.*s); rename one "
                 "with NAME=/path",
                 (int)len, name, s->col[i].path, (int)plen, path);
    SL_CHECK(s->n < SL_BATCH_MAX_COLUMNS, SL_ERANGE,
             "parameter 'columns': more than %d columns", SL_BATCH_MAX_COLUMNS);
    sl_h5r_colspec *c = &s->col[s->n];
    c->path = strndup(path, plen);
    SL_CHECK(c->path, SL_ENOMEM, "out of memory");
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    s->n++;
    return SL_OK;
}

/* One entry [b, e): "NAME=/path" or "/path" (named after its last component). */
static sl_status parse_entry(sl_h5r_spec *s, const char *b, const char *e, sl_error *err)
{
    trim(&b, &e);
    SL_CHECK(b < e, SL_EINVAL, "parameter 'columns': empty entry (two commas in a row, or one "
                               "at an end)");
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (eq) {
        const char *nb = b, *ne = eq, *pb = eq + 1, *pe = e;
        trim(&nb, &ne);
        trim(&pb, &pe);
        return add_col(s, nb, (size_t)(ne - nb), pb, (size_t)(pe - pb), err);
    }
    const char *last = e;
    while (last > b && last[-1] == '/')
        last--; /* "/a/b/" names column b */
    const char *nb = last;
    while (nb > b && nb[-1] != '/')
        nb--;
    SL_CHECK(nb < last, SL_EINVAL, "parameter 'columns': '%.*s' names no dataset", (int)(e - b),
             b);
    return add_col(s, nb, (size_t)(last - nb), b, (size_t)(e - b), err);
}

sl_status sl_h5r_spec_parse(sl_h5r_spec *out, const char *text, sl_error *err)
{
    memset(out, 0, sizeof *out);
    const char *b = text ? text : "", *e = b + strlen(b);
    trim(&b, &e);
    if (b == e)
        return SL_OK; /* every dataset at the root */
    for (const char *p = b;;) {
        const char *comma = memchr(p, ',', (size_t)(e - p));
        const char *end = comma ? comma : e;
        SL_TRY(parse_entry(out, p, end, err));
        if (!comma)
            return SL_OK;
        p = comma + 1;
    }
}

/* --- every dataset at the root ------------------------------------------ */

typedef struct root_list {
    int n, found;     /* kept, and datasets seen */
    sl_h5r_spec *spec;
    const char *file; /* for the message */
    sl_error *err;    /* set when the walk stops on an error */
    sl_status status;
} root_list;

/* A hard link's object must open: a corrupted header is an error, not a
 * dataset quietly left out. A soft or external link that leads nowhere is
 * skipped. */
static herr_t visit_root(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    root_list *l = data;
    sl_error *err = l->err;
    hid_t o = H5Oopen(group, name, H5P_DEFAULT);
    if (o < 0 && info->type == H5L_TYPE_HARD) {
        char what[SL_COLUMN_NAME_MAX + 64];
        snprintf(what, sizeof what, "cannot open object '/%.*s'", SL_COLUMN_NAME_MAX, name);
        l->status = H5R_FAIL(l->file, NULL, what);
        return 1;
    }
    bool dataset = o >= 0 && H5Iget_type(o) == H5I_DATASET;
    if (o >= 0)
        H5Oclose(o);
    H5Eclear2(H5E_DEFAULT);
    if (!dataset)
        return 0;
    l->found++;
    size_t len = strlen(name);
    if (l->n >= SL_BATCH_MAX_COLUMNS || len >= SL_COLUMN_NAME_MAX)
        return 0; /* counted; the caller says what is wrong */
    sl_h5r_colspec *c = &l->spec->col[l->n];
    c->path = malloc(len + 2);
    if (!c->path) {
        l->status = SL_FAIL(SL_ENOMEM, "out of memory");
        return 1;
    }
    c->path[0] = '/';
    memcpy(c->path + 1, name, len + 1);
    memcpy(c->name, name, len + 1);
    l->spec->n = ++l->n;
    return 0;
}

sl_status sl__h5r_list_root(hid_t file, const char *path, sl_h5r_spec *spec, sl_error *err)
{
    root_list l = {.spec = spec, .file = path, .err = err, .status = SL_OK};
    hsize_t idx = 0;
    herr_t rc = H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_root, &l);
    if (l.status != SL_OK)
        return sl_error_push(err, l.status, __FILE__, __LINE__, __func__);
    if (rc < 0)
        return H5R_FAIL(path, NULL, "cannot list the datasets at the root");
    SL_CHECK(l.found > 0, SL_EINVAL,
             "%s: no datasets at the root of the file; name them with parameter 'columns'", path);
    SL_CHECK(l.found <= SL_BATCH_MAX_COLUMNS, SL_ERANGE,
             "%s: %d datasets at the root, more than the %d columns a batch holds; choose some "
             "with parameter 'columns'",
             path, l.found, SL_BATCH_MAX_COLUMNS);
    SL_CHECK(l.n == l.found, SL_EINVAL,
             "%s: a dataset at the root has a name longer than %d bytes; name it with "
             "parameter 'columns' (NAME=/path)",
             path, SL_COLUMN_NAME_MAX - 1);
    return SL_OK;
}

/* --- the chunk cache ---------------------------------------------------- */

#define H5R_CACHE_MIN ((size_t)1 << 20)   /* HDF5's default */
#define H5R_CACHE_MAX ((size_t)256 << 20)
#define H5R_SLOTS_MIN 521                 /* HDF5's default, a prime */
#define H5R_SLOTS_MAX 1000003             /* a prime */

static bool is_prime(size_t n)
{
    if (n < 2)
        return false;
    for (size_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}

sl_h5r_cache sl_h5r_cache_for(int rank, const uint64_t *dims, const uint64_t *chunk, size_t elem,
                              uint64_t batch)
{
    /* Along dim 0 a batch at any row0 touches at most batch/c0 + 2 chunks,
     * and never more than the dataset has; across the other dims, all. */
    uint64_t c0 = chunk[0] ? chunk[0] : 1;
    uint64_t along = batch / c0 + 2, have = dims[0] / c0 + (dims[0] % c0 != 0);
    double nchunks = (double)(along < have ? along : have), bytes = (double)elem;
    for (int d = 0; d < rank; d++)
        bytes *= (double)(chunk[d] ? chunk[d] : 1);
    for (int d = 1; d < rank; d++) {
        uint64_t c = chunk[d] ? chunk[d] : 1;
        nchunks *= (double)(dims[d] / c + (dims[d] % c != 0));
    }
    if (nchunks < 1)
        nchunks = 1;
    /* Doubles: the product may exceed 64 bits before the caps apply. */
    double total = nchunks * bytes;
    sl_h5r_cache out = {.nbytes = total < (double)H5R_CACHE_MIN   ? H5R_CACHE_MIN
                                  : total > (double)H5R_CACHE_MAX ? H5R_CACHE_MAX
                                                                  : (size_t)total};
    /* HDF5 asks for a prime at least 10 times the chunks that fit. */
    double fit = bytes > 0 ? (double)out.nbytes / bytes : nchunks;
    double want = 10 * (fit < nchunks ? fit : nchunks);
    size_t slots = want < H5R_SLOTS_MIN ? H5R_SLOTS_MIN
                   : want > H5R_SLOTS_MAX ? H5R_SLOTS_MAX
                                          : (size_t)want;
    while (!is_prime(slots))
        slots++;
    out.nslots = slots;
    return out;
}
