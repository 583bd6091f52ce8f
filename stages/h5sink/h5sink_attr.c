/* stages/h5sink/h5sink_attr.c - root attributes and HDF5 errors as one line.
 *
 * Attributes record the run (metadata as variable-length UTF-8 strings, so a
 * whole job file fits) and its results (u64 or f64 scalars), on the root
 * group where `h5dump -A` shows them first.
 *
 * HDF5 reports a failure as a stack of frames, outermost (the API call) to
 * innermost (what actually went wrong, e.g. "errno = 13, error message =
 * 'Permission denied'"). Its default handler prints the whole stack to
 * stderr; we turn that off and keep only the innermost description. The
 * stack must be read before any other HDF5 call, since each one clears it. */
#include <stdio.h>
#include <string.h>

#include "h5/h5_reason.h"
#include "h5sink_impl.h"

void sl__h5w_quiet(void) { sl__h5_quiet(); }

sl_status sl__h5w_fail(const sl_h5w *w, const char *dset, const char *what, sl_error *err,
                       const char *file, int line, const char *func)
{
    char buf[256];
    const char *why = sl__h5_reason(buf, sizeof buf);
    if (dset)
        return sl_error_set(err, SL_EIO, file, line, func, "%s: dataset '%s': %s: %s", w->path,
                            dset, what, why);
    return sl_error_set(err, SL_EIO, file, line, func, "%s: %s: %s", w->path, what, why);
}

/* Writes one scalar root attribute stored as ftype from buf (of type mtype),
 * replacing any old one of that name. */
static sl_status put_attr(sl_h5w *w, const char *key, hid_t ftype, hid_t mtype, const void *buf,
                          sl_error *err)
{
    SL_CHECK(w->file >= 0, SL_EINVAL, "%s: attribute '%s' set with no file open", w->path, key);
    sl__h5w_quiet();
    if (H5Aexists(w->file, key) > 0 && H5Adelete(w->file, key) < 0)
        return H5W_FAIL(w, NULL, "cannot replace attribute");
    hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    if (sp >= 0)
        a = H5Acreate2(w->file, key, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = a >= 0 && H5Awrite(a, mtype, buf) >= 0;
    char what[128];
    snprintf(what, sizeof what, "cannot write attribute '%s'", key);
    sl_status s = ok ? SL_OK : H5W_FAIL(w, NULL, what);
    H5Aclose(a);
    H5Sclose(sp);
    return s;
}

sl_status sl_h5w_attr_str(sl_h5w *w, const char *key, const char *value, sl_error *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        sl_status s = H5W_FAIL(w, NULL, "cannot make a string type");
        H5Tclose(t);
        return s;
    }
    const char *v = value ? value : "";
    sl_status s = put_attr(w, key, t, t, &v, err);
    H5Tclose(t);
    return s;
}

sl_status sl_h5w_attr_u64(sl_h5w *w, const char *key, uint64_t v, sl_error *err)
{
    return put_attr(w, key, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v, err);
}

sl_status sl_h5w_attr_f64(sl_h5w *w, const char *key, double v, sl_error *err)
{
    return put_attr(w, key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, err);
}

sl_status sl__h5w_put_1d(sl_h5w *w, hid_t g, const char *group, const char *name, hid_t ftype,
                         hid_t mtype, hsize_t n, const void *buf, const char *what,
                         sl_error *err)
{
    hid_t sp = H5Screate_simple(1, &n, NULL), d = H5I_INVALID_HID;
    if (sp >= 0)
        d = H5Dcreate2(g, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = d >= 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    char dset[128];
    snprintf(dset, sizeof dset, "%s/%s", group, name);
    sl_status s = ok ? SL_OK : H5W_FAIL(w, dset, what);
    H5Dclose(d);
    H5Sclose(sp);
    return s;
}
