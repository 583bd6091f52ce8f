/* stages/h5sink/h5sink_dead.c - the run's dead letters as a group of the file.
 *
 * Batches a stage gave up (on_error: deadletter) have no rows in the
 * datasets: their rows keep the fill value. So that a reader can tell a hole
 * from a zero, the group /deadletters lists them, one row per batch in seq
 * order: seq (u64), stage (string), attempts (u32), error (string). The group
 * exists only when there is at least one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5sink_impl.h"

/* One 1-D dataset of n rows in the group (w, g and err from the caller). */
#define PUT(name, ftype, mtype, n, buf)                                                   \
    sl__h5w_put_1d(w, g, "deadletters", name, ftype, mtype, n, buf,                          \
                   "cannot write the dead letters", err)

sl_status sl_h5w_deadletters(sl_h5w *w, const sl_ctx *ctx, sl_error *err)
{
    size_t n = sl_ctx_deadletter_count(ctx);
    if (n == 0)
        return SL_OK;
    SL_CHECK(w->file >= 0, SL_EINVAL, "%s: dead letters written with no file open", w->path);
    uint64_t *seq = malloc(n * sizeof *seq);
    uint32_t *att = malloc(n * sizeof *att);
    const char **stage = malloc(n * sizeof *stage), **error = malloc(n * sizeof *error);
    sl_status s = seq && att && stage && error ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        unsigned a;
        sl_ctx_deadletter_get(ctx, i, &seq[i], &stage[i], &a, &error[i]);
        att[i] = a;
    }
    sl__h5w_quiet();
    hid_t str = H5Tcopy(H5T_C_S1), g = H5I_INVALID_HID;
    if (s == SL_OK) {
        if (str < 0 || H5Tset_size(str, H5T_VARIABLE) < 0 || H5Tset_cset(str, H5T_CSET_UTF8) < 0)
            s = H5W_FAIL(w, NULL, "cannot make the string type of the dead letters");
        else if ((g = H5Gcreate2(w->file, "deadletters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) <
                 0)
            s = H5W_FAIL(w, NULL, "cannot create the group 'deadletters'");
    }
    if (s == SL_OK)
        s = PUT("seq", H5T_STD_U64LE, H5T_NATIVE_UINT64, n, seq);
    if (s == SL_OK)
        s = PUT("stage", str, str, n, stage);
    if (s == SL_OK)
        s = PUT("attempts", H5T_STD_U32LE, H5T_NATIVE_UINT32, n, att);
    if (s == SL_OK)
        s = PUT("error", str, str, n, error);
    if (g >= 0)
        H5Gclose(g);
    if (str >= 0)
        H5Tclose(str);
    free(seq);
    free(att);
    free(stage);
    free(error);
    return s;
}
