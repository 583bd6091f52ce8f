/* stages/h5sink/h5sink_impl.h - the writer's state, shared by its two files.
 *
 * h5sink_write.c owns the file and the datasets; h5sink_attr.c adds root
 * attributes and turns HDF5's error stack into one line. Identifiers are
 * H5I_INVALID_HID when not open, so cleanup can always run. */
#ifndef SLUICE_H5SINK_IMPL_H
#define SLUICE_H5SINK_IMPL_H

#include <hdf5.h>

#include "h5sink.h"

typedef struct h5w_col {
    char name[SL_COLUMN_NAME_MAX];
    sl_type type;
    int ndims;
    uint64_t dims[SL_MAX_DIMS];
    hid_t dset;
    hid_t memtype;  /* native type, or our own vlen type for BYTES (closed by us) */
    hsize_t extent; /* rows the dataset has now */
} h5w_col;

struct sl_h5w {
    char *path;
    uint64_t chunk_rows;
    unsigned compression;
    bool started;
    bool fixed;  /* the datasets have the run's total length */
    hid_t file;
    int ncols;
    h5w_col cols[SL_BATCH_MAX_COLUMNS];
    hvl_t *vl;   /* BYTES rows of the batch being written, reused */
    size_t vl_cap;
};

/* Sets err to "<file>: [dataset '<dset>': ]<what>: <innermost HDF5 reason>"
 * and clears the HDF5 error stack. dset may be NULL. Returns SL_EIO. */
sl_status sl__h5w_fail(const sl_h5w *w, const char *dset, const char *what, sl_error *err,
                       const char *file, int line, const char *func);
/* Writes the 1-D dataset group/name of n elements from buf under g; on
 * failure err names "group/name" and `what` was being done. */
sl_status sl__h5w_put_1d(sl_h5w *w, hid_t g, const char *group, const char *name, hid_t ftype,
                         hid_t mtype, hsize_t n, const void *buf, const char *what,
                         sl_error *err);
#define H5W_FAIL(w, dset, what) sl__h5w_fail((w), (dset), (what), err, __FILE__, __LINE__, __func__)

/* Turns off HDF5's printing of its error stack (per thread in threadsafe builds). */
void sl__h5w_quiet(void);

#endif
