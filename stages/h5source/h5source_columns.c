/* stages/h5source/h5source_columns.c - what the reader tells the pipeline
 * before the run: the columns it makes (so the stages after it can check
 * them at validation, naming the file and dataset), and the file's identity
 * (so a resume does not continue over a file that changed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "h5source_impl.h"

sl_status sl_h5r_columns(const sl_h5r *r, sl_schema *out, sl_error *err)
{
    for (int i = 0; i < r->ncols; i++) {
        const h5r_col *c = &r->cols[i];
        char origin[SL_SCHEMA_ORIGIN_MAX];
        snprintf(origin, sizeof origin, "%s:%s", r->path, c->path);
        SL_TRY(sl_schema_set(out, c->name, c->type, c->type == SL_TYPE_BYTES ? 0 : c->ndims,
                             c->dims, origin, err));
    }
    return SL_OK;
}

sl_status sl_h5r_identity(const sl_h5r *r, char *buf, size_t cap, sl_error *err)
{
    struct stat sb;
    SL_CHECK(stat(r->path, &sb) == 0, SL_EIO, "%s: cannot stat: %s", r->path, strerror(errno));
    struct tm tm;
    char when[64] = "?";
    if (gmtime_r(&sb.st_mtim.tv_sec, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, cap, "size %lld bytes, modified %s.%09ld UTC", (long long)sb.st_size, when,
             (long)sb.st_mtim.tv_nsec);
    return SL_OK;
}
