/* tests/unit/test_stage_h5sink.c - the h5sink writer, driven without an executor.
 *
 * Batches are built by hand and handed to the writer in awkward orders; the
 * file is then read back with plain HDF5 calls: rows must sit at row0 whatever
 * the order, shapes and types must be the columns', and every failure must be
 * one line naming the file and dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hdf5.h>

#include "h5sink.h"

static char path[256];
static sl_error err;

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/sl_h5sink_test_%d.h5", (int)getpid());
    sl_error_clear(&err);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(h5sink, .init = setup, .fini = teardown);

/* A batch of rows [row0, row0 + n): column u (u64) = row index * 10, and
 * optionally m (f32, 2 x 3 per row) = row index + element / 10. */
static sl_batch *make_batch(uint64_t seq, uint64_t row0, size_t n, bool with_m)
{
    sl_batch *b = NULL;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK, "%s", err.msg);
    sl_batch_set_seq(b, seq, seq);
    sl_batch_set_rows(b, row0, n);
    void *data;
    cr_assert_eq(sl_batch_add(b, "u", SL_TYPE_U64, 0, NULL, &data, &err), SL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        ((uint64_t *)data)[i] = (row0 + i) * 10;
    if (with_m) {
        const uint64_t dims[2] = {2, 3};
        cr_assert_eq(sl_batch_add(b, "m", SL_TYPE_F32, 2, dims, &data, &err), SL_OK, "%s", err.msg);
        for (size_t i = 0; i < n * 6; i++)
            ((float *)data)[i] = (float)(row0 + i / 6) + (float)(i % 6) / 10.0f;
    }
    return b;
}

static sl_h5w *open_writer(uint64_t chunk_rows, unsigned compression)
{
    sl_h5w *w = NULL;
    sl_h5w_opts o = {.path = path, .chunk_rows = chunk_rows, .compression = compression};
    cr_assert_eq(sl_h5w_create(&w, &o, &err), SL_OK, "%s", err.msg);
    return w;
}

/* Writes the batches in the given order and closes the file. */
static void write_all(sl_h5w *w, sl_batch **b, size_t n, uint64_t total)
{
    cr_assert_eq(sl_h5w_begin(w, b[0], total, &err), SL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(sl_h5w_write(w, b[i], &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_close(w, &err), SL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        sl_batch_destroy(&b[i]);
}

static uint64_t *read_u64(const char *dset, hsize_t *n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT), s = H5Dget_space(d);
    cr_assert(f >= 0 && d >= 0 && s >= 0);
    cr_assert_eq(H5Sget_simple_extent_ndims(s), 1);
    H5Sget_simple_extent_dims(s, n, NULL);
    uint64_t *v = malloc(*n * sizeof *v + 1);
    cr_assert(H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

Test(h5sink, rows_land_at_row0_whatever_the_order)
{
    sl_h5w *w = open_writer(0, 0);
    sl_batch *b[3] = {make_batch(2, 8, 2, false), make_batch(0, 0, 5, false),
                      make_batch(1, 5, 3, false)};
    write_all(w, b, 3, 10);
    sl_h5w_destroy(&w);
    hsize_t n;
    uint64_t *u = read_u64("u", &n);
    cr_assert_eq(n, 10);
    for (hsize_t i = 0; i < n; i++)
        cr_assert_eq(u[i], i * 10);
    free(u);
}

Test(h5sink, unknown_total_makes_extendible_datasets)
{
    sl_h5w *w = open_writer(4, 0);
    sl_batch *b[2] = {make_batch(1, 5, 3, false), make_batch(0, 0, 5, false)};
    write_all(w, b, 2, SL_ROWS_UNKNOWN);
    sl_h5w_destroy(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "u", H5P_DEFAULT), s = H5Dget_space(d), pl = H5Dget_create_plist(d);
    hsize_t cur, max, chunk;
    H5Sget_simple_extent_dims(s, &cur, &max);
    cr_assert_eq(cur, 8);
    cr_assert_eq(max, H5S_UNLIMITED);
    cr_assert_eq(H5Pget_chunk(pl, 1, &chunk), 1);
    cr_assert_eq(chunk, 4);
    H5Pclose(pl);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

Test(h5sink, shaped_column_keeps_its_dims_and_compression)
{
    sl_h5w *w = open_writer(0, 6);
    sl_batch *b[2] = {make_batch(1, 4, 3, true), make_batch(0, 0, 4, true)};
    write_all(w, b, 2, 7);
    sl_h5w_destroy(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "m", H5P_DEFAULT), s = H5Dget_space(d), pl = H5Dget_create_plist(d);
    hsize_t dims[3], chunk[3];
    cr_assert_eq(H5Sget_simple_extent_ndims(s), 3);
    H5Sget_simple_extent_dims(s, dims, NULL);
    cr_assert(dims[0] == 7 && dims[1] == 2 && dims[2] == 3);
    cr_assert_eq(H5Pget_chunk(pl, 3, chunk), 3);
    cr_assert_eq(chunk[0], 7, "auto chunk rows are capped by the total");
    cr_assert_eq(H5Pget_nfilters(pl), 2, "deflate, then the checksum");
    float v[7 * 6];
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    for (int i = 0; i < 7 * 6; i++)
        cr_assert_float_eq(v[i], (float)(i / 6) + (float)(i % 6) / 10.0f, 1e-6);
    hid_t t = H5Dget_type(d);
    cr_assert(H5Tequal(t, H5T_IEEE_F32LE) > 0);
    H5Tclose(t);
    H5Pclose(pl);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

/* The filters of dataset name in the file at path, in pipeline order. */
static int filters_of(const char *name, H5Z_filter_t *ids, int cap)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), pl = H5Dget_create_plist(d);
    cr_assert(f >= 0 && d >= 0 && pl >= 0);
    int n = H5Pget_nfilters(pl);
    for (int i = 0; i < n && i < cap; i++) {
        unsigned flags, conf[8];
        size_t nconf = 8;
        ids[i] = H5Pget_filter2(pl, (unsigned)i, &flags, &nconf, conf, 0, NULL, NULL);
    }
    H5Pclose(pl);
    H5Dclose(d);
    H5Fclose(f);
    return n;
}

Test(h5sink, every_dataset_has_a_fletcher32_checksum_after_compression)
{
    H5Z_filter_t ids[4];
    for (unsigned level = 0; level <= 6; level += 6) {
        sl_h5w *w = open_writer(2, level);
        sl_batch *b[2] = {make_batch(1, 4, 3, true), make_batch(0, 0, 4, true)};
        write_all(w, b, 2, level ? 7 : SL_ROWS_UNKNOWN);
        sl_h5w_destroy(&w);
        for (int k = 0; k < 2; k++) {
            const char *name = k ? "m" : "u";
            int n = filters_of(name, ids, 4);
            cr_assert_eq(n, level ? 2 : 1, "%s, compression %u: %d filters", name, level, n);
            if (level)
                cr_assert_eq(ids[0], H5Z_FILTER_DEFLATE, "%s", name);
            cr_assert_eq(ids[n - 1], H5Z_FILTER_FLETCHER32, "%s: the checksum comes last", name);
        }
        unlink(path);
    }
}

Test(h5sink, auto_chunk_is_about_one_mib)
{
    sl_h5w *w = open_writer(0, 0);
    sl_batch *b[1] = {make_batch(0, 0, 3, false)};
    write_all(w, b, 1, 1000000);
    sl_h5w_destroy(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "u", H5P_DEFAULT), pl = H5Dget_create_plist(d);
    hsize_t chunk;
    H5Pget_chunk(pl, 1, &chunk);
    cr_assert_eq(chunk, (1u << 20) / 8);
    H5Pclose(pl);
    H5Dclose(d);
    H5Fclose(f);
}

Test(h5sink, bytes_column_is_vlen_uint8_tagged_bytes)
{
    sl_batch *b = NULL;
    int col;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    sl_batch_set_rows(b, 0, 3);
    cr_assert_eq(sl_batch_add_bytes(b, "s", &col, &err), SL_OK, "%s", err.msg);
    const char *rows[3] = {"one", "", "three"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(sl_batch_append_bytes(b, col, rows[i], strlen(rows[i]), &err), SL_OK, "%s",
                     err.msg);
    sl_h5w *w = open_writer(0, 0);
    sl_batch *bs[1] = {b};
    write_all(w, bs, 1, 3);
    sl_h5w_destroy(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "s", H5P_DEFAULT), mt = H5Tvlen_create(H5T_NATIVE_UINT8);
    hid_t s = H5Dget_space(d);
    hvl_t v[3];
    cr_assert(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(v[i].len, strlen(rows[i]));
        if (v[i].len) /* HDF5 gives NULL for an empty row; memcmp must not see it */
            cr_assert_eq(memcmp(v[i].p, rows[i], v[i].len), 0);
    }
    H5Dvlen_reclaim(mt, s, H5P_DEFAULT, v);
    hid_t a = H5Aopen(d, "sluice_type", H5P_DEFAULT), at = H5Aget_type(a);
    char tag[16] = "";
    cr_assert(H5Aread(a, at, tag) >= 0);
    cr_assert_str_eq(tag, "bytes");
    H5Tclose(at);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(mt);
    H5Dclose(d);
    H5Fclose(f);
}

Test(h5sink, later_batch_with_other_columns_names_the_column)
{
    sl_h5w *w = open_writer(0, 0);
    sl_batch *first = make_batch(0, 0, 2, true), *missing = make_batch(1, 2, 2, false);
    cr_assert_eq(sl_h5w_begin(w, first, 4, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_write(w, first, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_write(w, missing, &err), SL_EINVAL);
    char want[512];
    snprintf(want, sizeof want, "%s: batch 1 has no column 'm' (the first batch had it)", path);
    cr_assert_str_eq(err.msg, want);
    sl_batch_reset(missing);
    sl_batch_set_seq(missing, 1, 1);
    sl_batch_set_rows(missing, 2, 2);
    void *data;
    const uint64_t dims[2] = {2, 3};
    sl_batch_add(missing, "u", SL_TYPE_U64, 0, NULL, &data, &err);
    sl_batch_add(missing, "m", SL_TYPE_F64, 2, dims, &data, &err);
    cr_assert_eq(sl_h5w_write(w, missing, &err), SL_EINVAL);
    snprintf(want, sizeof want, "%s: column 'm' is f64 in batch 1 but was f32 in the first batch",
             path);
    cr_assert_str_eq(err.msg, want);
    sl_h5w_destroy(&w); /* closes the file left open by the failure */
    sl_batch_destroy(&first);
    sl_batch_destroy(&missing);
}

Test(h5sink, rows_beyond_the_announced_total_fail)
{
    sl_h5w *w = open_writer(0, 0);
    sl_batch *b = make_batch(3, 8, 4, false);
    cr_assert_eq(sl_h5w_begin(w, b, 10, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_write(w, b, &err), SL_ERANGE);
    cr_assert(strstr(err.msg, "dataset 'u': batch 3 writes rows up to 12 but the source announced 10"),
              "%s", err.msg);
    sl_h5w_destroy(&w);
    sl_batch_destroy(&b);
}

Test(h5sink, hdf5_failure_is_one_line_with_file_and_reason)
{
    sl_h5w *w = NULL;
    sl_h5w_opts o = {.path = "/nonexistent/dir/x.h5"};
    cr_assert_eq(sl_h5w_create(&w, &o, &err), SL_OK);
    cr_assert_eq(sl_h5w_begin(w, NULL, SL_ROWS_UNKNOWN, &err), SL_EIO);
    const char *want = "/nonexistent/dir/x.h5: cannot create file: ";
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_null(strstr(err.msg, "unknown HDF5 error"), "no HDF5 reason: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "%s", err.msg);
    sl_h5w_destroy(&w);
    cr_assert_null(w);
}

Test(h5sink, run_attributes_and_empty_run)
{
    sl_h5w *w = open_writer(0, 0);
    cr_assert_eq(sl_h5w_begin(w, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_attr_str(w, "job_name", "tiny job", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_attr_u64(w, "sum_count", 455052511u, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_attr_f64(w, "sum_trace", 2.5, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_attr_u64(w, "sum_count", 7u, &err), SL_OK, "replacing: %s", err.msg);
    cr_assert_eq(sl_h5w_close(w, &err), SL_OK, "%s", err.msg);
    sl_h5w_destroy(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    uint64_t u = 0;
    double d = 0;
    char *s = NULL;
    hid_t a = H5Aopen(f, "sum_count", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT64, &u);
    H5Aclose(a);
    a = H5Aopen(f, "sum_trace", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &d);
    H5Aclose(a);
    a = H5Aopen(f, "job_name", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    cr_assert(H5Tis_variable_str(t) > 0);
    H5Aread(a, t, &s);
    cr_assert_eq(u, 7u);
    cr_assert_float_eq(d, 2.5, 0);
    cr_assert_str_eq(s, "tiny job");
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    H5G_info_t gi;
    H5Gget_info(f, &gi);
    cr_assert_eq(gi.nlinks, 0, "an empty run has no datasets");
    H5Fclose(f);
}
