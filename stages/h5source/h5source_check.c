/* stages/h5source/h5source_check.c - damage found at open, not mid-run.
 *
 * HDF5 loads a chunked dataset's index lazily, on the first read, so a
 * damaged one would fail the run after output exists. It is checked while
 * the stage is created. */
#include "h5source_impl.h"

/* HDF5 1.10 has no H5Dchunk_iter, and H5Dget_chunk_info(i) walks the index
 * up to i on every call; H5Dget_num_chunks walks all of it once, loading
 * (and checksumming) every index block: the fixed or extensible array's
 * header and data blocks or the B-tree's nodes, never a chunk. That is a few
 * bytes per chunk, about 16 kB for a 1 GB dataset of 1 MiB chunks. */
sl_status sl__h5r_check_index(const char *file, const h5r_col *col, sl_error *err)
{
#if H5_VERSION_GE(1, 10, 5)
    hid_t fs = H5Dget_space(col->dset);
    hsize_t n = 0;
    bool ok = fs >= 0 && H5Dget_num_chunks(col->dset, fs, &n) >= 0;
    sl_status s = ok ? SL_OK : H5R_FAIL(file, col->path, "cannot read the chunk index");
    H5Sclose(fs);
    return s;
#else
    (void)file, (void)col, (void)err; /* older HDF5: found at the first read instead */
    return SL_OK;
#endif
}
