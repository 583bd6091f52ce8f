/* lib/h5/h5_reason.c - see h5_reason.h. */
#include <hdf5.h>
#include <stdio.h>

#include "h5/h5_reason.h"

typedef struct reason {
    char *buf;
    size_t cap;
} reason;

void sl__h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* Walking upward, frame 0 is the innermost one: keep it, skip the rest. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    reason *r = data;
    if (n != 0)
        return 0;
    if (e->desc && *e->desc)
        snprintf(r->buf, r->cap, "%s", e->desc);
    else
        H5Eget_msg(e->min_num, NULL, r->buf, r->cap);
    return 0;
}

const char *sl__h5_reason(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "unknown HDF5 error";
    buf[0] = '\0';
    reason r = {buf, cap};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &r);
    H5Eclear2(H5E_DEFAULT);
    if (!buf[0])
        snprintf(buf, cap, "unknown HDF5 error");
    return buf;
}
