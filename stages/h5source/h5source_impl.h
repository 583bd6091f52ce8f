/* stages/h5source/h5source_impl.h - the reader's state, shared by its files.
 *
 * h5source_read.c owns the file and the datasets and reads batches;
 * h5source_type.c judges each dataset's type and shape; h5source_check.c
 * refuses a file with holes and walks each chunk index; h5source_spec.c
 * parses `columns`, lists the root's datasets, sizes the chunk cache and
 * turns HDF5's error stack into one line. Identifiers are H5I_INVALID_HID
 * when not open, so cleanup can always run. */
#ifndef SLUICE_H5SOURCE_IMPL_H
#define SLUICE_H5SOURCE_IMPL_H

#include <stdbool.h>

#include <hdf5.h>

#include "h5source.h"

/* How a dataset's rows become a column. */
typedef enum {
    H5R_FIXED = 1, /* numbers or fixed-shape arrays, read as native */
    H5R_VLEN,      /* variable-length sequences of 1-byte integers */
    H5R_VSTRING,   /* variable-length strings */
    H5R_FSTRING    /* fixed-length strings */
} h5r_kind;

typedef struct h5r_col {
    char name[SL_COLUMN_NAME_MAX];
    char *path;      /* owned */
    h5r_kind kind;
    sl_type type;    /* SL_TYPE_BYTES for every kind but H5R_FIXED */
    int ndims;       /* of one row */
    uint64_t dims[SL_MAX_DIMS];
    uint64_t rows;   /* dim 0 */
    size_t str_size; /* H5R_FSTRING: bytes per row */
    bool space_pad;  /* H5R_FSTRING: padded with spaces, not NULs */
    bool chunked;    /* so it has a chunk index */
    hid_t dset;
    hid_t memtype;   /* what H5Dread converts into */
    bool own_memtype;
} h5r_col;

struct sl_h5r {
    char *path;
    uint64_t batch, rows;
    hid_t file;
    int ncols;
    h5r_col cols[SL_BATCH_MAX_COLUMNS];
    void *scratch;   /* one batch of hvl_t, char * or fixed strings, reused */
    size_t scratch_cap;
};

/* Sets err to "<file>: [dataset '<dset>': ]<what>: <innermost HDF5 reason>"
 * and clears the HDF5 error stack; dset may be NULL. Returns SL_EIO. Must
 * run before any other HDF5 call, since each one resets the stack. */
sl_status sl__h5r_fail(const char *file, const char *dset, const char *what, sl_error *err,
                       const char *src, int line, const char *func);
#define H5R_FAIL(file, dset, what) \
    sl__h5r_fail((file), (dset), (what), err, __FILE__, __LINE__, __func__)

/* Turns off HDF5's printing of its error stack. */
void sl__h5r_quiet(void);

/* Fills spec with every dataset linked at the root of file, in name order
 * (groups, named types and dangling links are skipped). Fails when there is
 * none or more than fit in a batch. */
sl_status sl__h5r_list_root(hid_t file, const char *path, sl_h5r_spec *spec, sl_error *err);

/* Judges col->dset's type and dataspace and fills kind, type, ndims, dims,
 * rows, memtype (and the string fields). One-line error naming the dataset. */
sl_status sl__h5r_classify(const char *file, h5r_col *col, sl_error *err);

/* Refuses file when its group /deadletters (h5sink's list of batches given
 * up) is not empty: one line naming the file, the count and the way out. */
sl_status sl__h5r_check_holes(hid_t file, const char *path, sl_error *err);

/* Walks col's chunk index once, so a damaged one fails at open, naming the
 * dataset; col must be chunked. Reads index metadata only, no chunk. */
sl_status sl__h5r_check_index(const char *file, const h5r_col *col, sl_error *err);

#endif
