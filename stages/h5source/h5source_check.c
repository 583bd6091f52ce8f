/* stages/h5source/h5source_check.c - damage and holes found at open, not mid-run.
 *
 * Two things HDF5 would only notice when a batch is read, so the run would
 * fail (or worse, go on) after output exists: a file that h5sink wrote with
 * dead letters, whose given-up batches left rows of fill values that read as
 * data; and a damaged chunk index, which HDF5 loads lazily on the first read.
 * Both are checked while the stage is created. */
#include "h5source_impl.h"

/* h5sink writes the group only when a batch was given up; a dataset of that
 * name is someone else's and read like any other. */
sl_status sl__h5r_check_holes(hid_t file, const char *path, sl_error *err)
{
    htri_t has = H5Lexists(file, "deadletters", H5P_DEFAULT);
    if (has < 0)
        return H5R_FAIL(path, NULL, "cannot look for /deadletters");
    if (has == 0)
        return SL_OK;
    hid_t o = H5Oopen(file, "deadletters", H5P_DEFAULT);
    if (o < 0)
        return H5R_FAIL(path, NULL, "cannot open /deadletters");
    bool group = H5Iget_type(o) == H5I_GROUP;
    H5Oclose(o);
    if (!group)
        return SL_OK;
    hid_t d = H5Dopen2(file, "deadletters/seq", H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t n = 0;
    bool ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
              H5Sget_simple_extent_dims(sp, &n, NULL) == 1;
    sl_status s = ok ? SL_OK : H5R_FAIL(path, "/deadletters/seq", "cannot count the dead letters");
    H5Sclose(sp);
    H5Dclose(d);
    SL_TRY(s);
    SL_CHECK(n == 0, SL_EINVAL,
             "%s: %llu %s of the job that wrote it %s dead-lettered (listed in /deadletters), so "
             "%s rows hold fill values, not results; rerun that job with `sluice run JOB "
             "--resume --retry-deadletters` (docs/failures.md), or set allow_holes: true to read "
             "it anyway",
             path, (unsigned long long)n, n == 1 ? "batch" : "batches", n == 1 ? "was" : "were",
             n == 1 ? "its" : "their");
    return SL_OK;
}

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
