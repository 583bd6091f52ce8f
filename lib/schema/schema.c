/* lib/schema/schema.c - the columns of a pipeline's batches, as stages
 * describe them (sluice/schema.h). A fixed array: a schema is made once per
 * stage when the pipeline is built, never on the batch path. */
#include <stdio.h>
#include <string.h>

#include <sluice/schema.h>

#include "schema/schema_impl.h"

size_t sl_schema_count(const sl_schema *s) { return s ? s->n : 0; }

static void view(const sl__schema_entry *e, sl_schema_col *out)
{
    out->name = e->name;
    out->type = e->type;
    out->ndims = e->ndims;
    out->dims = e->dims;
    out->origin = e->origin;
}

bool sl_schema_at(const sl_schema *s, size_t i, sl_schema_col *out)
{
    if (!s || i >= s->n)
        return false;
    view(&s->col[i], out);
    return true;
}

static long find(const sl_schema *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->col[i].name, name) == 0)
            return (long)i;
    return -1;
}

bool sl_schema_find(const sl_schema *s, const char *name, sl_schema_col *out)
{
    long i = find(s, name);
    if (i < 0)
        return false;
    view(&s->col[i], out);
    return true;
}

sl_status sl_schema_set(sl_schema *s, const char *name, sl_type type, int ndims,
                        const uint64_t *dims, const char *origin, sl_error *err)
{
    SL_CHECK(name && *name && strlen(name) < SL_COLUMN_NAME_MAX, SL_EINVAL,
             "column name '%s' is empty or longer than %d bytes", name ? name : "",
             SL_COLUMN_NAME_MAX - 1);
    SL_CHECK(type >= SL_TYPE_I32 && type <= SL_TYPE_BYTES, SL_EINVAL,
             "column '%s': type %d is not a sluice type", name, (int)type);
    SL_CHECK(ndims >= 0 && ndims <= SL_MAX_DIMS && (ndims == 0 || dims), SL_EINVAL,
             "column '%s': %d dimensions (at most %d)", name, ndims, SL_MAX_DIMS);
    SL_CHECK(ndims == 0 || type != SL_TYPE_BYTES, SL_EINVAL,
             "column '%s': variable-length bytes have no shape", name);
    long i = find(s, name);
    if (i < 0) {
        SL_CHECK(s->n < SL_BATCH_MAX_COLUMNS, SL_EINVAL,
                 "column '%s': a batch holds at most %d columns", name, SL_BATCH_MAX_COLUMNS);
        i = (long)s->n++;
    }
    sl__schema_entry *e = &s->col[i];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->type = type;
    e->ndims = ndims;
    for (int d = 0; d < ndims; d++)
        e->dims[d] = dims[d];
    snprintf(e->origin, sizeof e->origin, "%s", origin ? origin : "");
    return SL_OK;
}

void sl_schema_drop(sl_schema *s, const char *name)
{
    long i = find(s, name);
    if (i < 0)
        return;
    memmove(&s->col[i], &s->col[i + 1], (s->n - (size_t)i - 1) * sizeof s->col[0]);
    s->n--;
}

const char *sl_schema_describe(const sl_schema_col *c, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int d = 0; d < c->ndims && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", d ? " x " : "",
                              (unsigned long long)c->dims[d]);
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", sl_type_name(c->type));
    if (n < cap && c->origin && *c->origin)
        snprintf(buf + n, cap - n, ", from %s", c->origin);
    return buf;
}

sl_status sl_schema_need(const sl_schema *s, const char *name, sl_type type, int ndims,
                         sl_schema_col *out, sl_error *err)
{
    sl_schema_col c;
    if (!sl_schema_find(s, name, &c)) {
        char have[512] = "";
        size_t n = 0;
        for (size_t i = 0; s && i < s->n && n < sizeof have; i++)
            n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", i ? ", " : "",
                                  s->col[i].name);
        return SL_FAIL(SL_ENOTFOUND, "needs column '%s', which no stage before it makes (%s%s)",
                       name, s && s->n ? "the columns are: " : "there are no columns",
                       have);
    }
    char d[SL_SCHEMA_ORIGIN_MAX + 64];
    SL_CHECK(c.type == type, SL_EINVAL, "column '%s' is %s, needs %s", name,
             sl_schema_describe(&c, d, sizeof d), sl_type_name(type));
    SL_CHECK(ndims < 0 || c.ndims == ndims, SL_EINVAL,
             "column '%s' is %s, needs %s", name, sl_schema_describe(&c, d, sizeof d),
             ndims == 0 ? "one value per row" : ndims == 1 ? "a vector per row"
                                                          : "a matrix per row");
    if (out)
        *out = c;
    return SL_OK;
}
