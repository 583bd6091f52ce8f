/* tests/unit/test_stage_h5source.c - the h5source reader, driven without an executor.
 *
 * Input files come from the h5sink writer (a round trip of every column type)
 * or from plain HDF5 calls (strings, big-endian data, chunking, bad files).
 * Batches are read back and compared row by row; every bad input must fail
 * when the reader opens, in one line naming the file and the dataset. The
 * last tests load the built plugins and run them, source and sink together. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hdf5.h>

#include <sluice/pipeline.h>
#include <sluice/plugin.h>

#include "h5sink.h"
#include "h5source.h"

/* HDF5 1.10.8 itself leaks 456 bytes when an object header fails its
 * checksum (plain H5Fopen + H5Dopen2 + H5Fclose show it too), so LeakSanitizer
 * looks away from exactly those calls. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Emptying HDF5's free lists first: the block it loses must be new, since
 * LeakSanitizer blames the allocation, wherever it happened. */
#define LSAN_OFF() (H5garbage_collect(), __lsan_disable())
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

static char path[256], out_path[256];
static sl_error err;

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/sl_h5source_test_%d.h5", (int)getpid());
    snprintf(out_path, sizeof out_path, "/tmp/sl_h5source_test_%d_out.h5", (int)getpid());
    sl_error_clear(&err);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    unlink(path);
    unlink(out_path);
}

TestSuite(h5source, .init = setup, .fini = teardown);

/* --- helpers -------------------------------------------------------------- */

static sl_h5r *open_ok(const char *columns, uint64_t batch)
{
    sl_h5r *r = NULL;
    sl_h5r_opts o = {.path = path, .columns = columns, .batch = batch};
    cr_assert_eq(sl_h5r_open(&r, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_not_null(r);
    return r;
}

/* Opens expecting `code`; returns the message, checked to be one line that
 * starts with the file's name. */
static const char *open_fails(const char *file, const char *columns, sl_status code)
{
    sl_h5r *r = (sl_h5r *)&err; /* must stay untouched or become NULL */
    sl_h5r_opts o = {.path = file, .columns = columns, .batch = 4};
    sl_status s = sl_h5r_open(&r, &o, &err);
    cr_assert_eq(s, code, "status %d, expected %d: %s", s, code, err.msg);
    cr_assert_null(r);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    cr_assert_eq(strncmp(err.msg, file, strlen(file)), 0, "no file name: %s", err.msg);
    return err.msg;
}

static void expect_msg(const char *msg, const char *tail)
{
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", path, tail);
    cr_assert_str_eq(msg, want);
}

static sl_batch *read_ok(sl_h5r *r, uint64_t seq)
{
    sl_batch *b = NULL;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    sl_batch_set_seq(b, seq, seq);
    cr_assert_eq(sl_h5r_read(r, seq, b, &err), SL_OK, "%s", err.msg);
    return b;
}

static const sl_column *col_of(const sl_batch *b, const char *name, sl_type type)
{
    int i = sl_batch_find(b, name);
    cr_assert_geq(i, 0, "no column '%s'", name);
    const sl_column *c = sl_batch_col(b, i);
    cr_assert_eq(c->type, type, "column '%s' is %s", name, sl_type_name(c->type));
    return c;
}

static void expect_bytes(const sl_column *c, size_t row, const char *want)
{
    size_t len = (size_t)(c->offsets[row + 1] - c->offsets[row]);
    cr_assert_eq(len, strlen(want), "%s row %zu: %zu bytes, want '%s'", c->name, row, len, want);
    cr_assert_eq(memcmp((char *)c->data + c->offsets[row], want, len), 0, "%s row %zu", c->name,
                 row);
}

/* Writes the batches with the h5sink writer and frees them. */
static void sink_write_c(sl_batch **b, size_t n, uint64_t total, uint64_t chunk_rows,
                         unsigned compression)
{
    sl_h5w *w = NULL;
    sl_h5w_opts o = {.path = path, .chunk_rows = chunk_rows, .compression = compression};
    cr_assert_eq(sl_h5w_create(&w, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5w_begin(w, b[0], total, &err), SL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(sl_h5w_write(w, b[i], &err), SL_OK, "%s", err.msg);
        sl_batch_destroy(&b[i]);
    }
    cr_assert_eq(sl_h5w_close(w, &err), SL_OK, "%s", err.msg);
    sl_h5w_destroy(&w);
}

static void sink_write(sl_batch **b, size_t n, uint64_t total, uint64_t chunk_rows)
{
    sink_write_c(b, n, total, chunk_rows, 1);
}

static void *add(sl_batch *b, const char *name, sl_type t, int ndims, const uint64_t *dims)
{
    void *data = NULL;
    cr_assert_eq(sl_batch_add(b, name, t, ndims, dims, &data, &err), SL_OK, "%s", err.msg);
    return data;
}

/* The row formulas of the round trip; bytes row i is i % 4 letters (every
 * fourth row is empty). */
#define I32(i) ((int32_t)((uint32_t)(i) * 2654435761u))
#define I64(i) ((int64_t)((uint64_t)(i) * 0x9E3779B97F4A7C15u))
#define F64(i) ((double)(i) / 3.0 - 1e300)

/* Rows [row0, row0 + n) of every type h5sink writes. */
static sl_batch *every_type(uint64_t row0, size_t n)
{
    sl_batch *b = NULL;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    sl_batch_set_seq(b, row0, row0);
    sl_batch_set_rows(b, row0, n);
    const uint64_t m[2] = {3, 3}, t[3] = {2, 2, 2};
    int32_t *i32 = add(b, "i32", SL_TYPE_I32, 0, NULL);
    int64_t *i64 = add(b, "i64", SL_TYPE_I64, 0, NULL);
    uint32_t *u32 = add(b, "u32", SL_TYPE_U32, 0, NULL);
    uint64_t *u64 = add(b, "u64", SL_TYPE_U64, 0, NULL);
    float *f32 = add(b, "f32", SL_TYPE_F32, 0, NULL);
    double *f64 = add(b, "f64", SL_TYPE_F64, 0, NULL), *mat = add(b, "m", SL_TYPE_F64, 2, m);
    uint32_t *cube = add(b, "t", SL_TYPE_U32, 3, t);
    int bc;
    cr_assert_eq(sl_batch_add_bytes(b, "b", &bc, &err), SL_OK, "%s", err.msg);
    for (size_t k = 0; k < n; k++) {
        uint64_t i = row0 + k;
        i32[k] = I32(i);
        i64[k] = I64(i);
        u32[k] = UINT32_MAX - (uint32_t)i;
        u64[k] = UINT64_MAX - i;
        f32[k] = (float)i * 0.5f - 3.0f;
        f64[k] = F64(i);
        for (int e = 0; e < 9; e++)
            mat[k * 9 + (size_t)e] = (double)(i * 100 + (uint64_t)e);
        for (int e = 0; e < 8; e++)
            cube[k * 8 + (size_t)e] = (uint32_t)(i * 8 + (uint64_t)e);
        char row[32];
        memset(row, 'a' + (int)(i % 26), sizeof row);
        cr_assert_eq(sl_batch_append_bytes(b, bc, row, i % 4, &err), SL_OK, "%s", err.msg);
    }
    return b;
}

static void check_every_type(const sl_batch *b)
{
    const sl_column *m = col_of(b, "m", SL_TYPE_F64), *t = col_of(b, "t", SL_TYPE_U32);
    cr_assert(m->ndims == 2 && m->dims[0] == 3 && m->dims[1] == 3);
    cr_assert(t->ndims == 3 && t->dims[0] == 2 && t->dims[1] == 2 && t->dims[2] == 2);
    const sl_column *b_ = col_of(b, "b", SL_TYPE_BYTES);
    for (size_t k = 0; k < sl_batch_nrows(b); k++) {
        uint64_t i = sl_batch_row0(b) + k;
        cr_assert_eq(((int32_t *)col_of(b, "i32", SL_TYPE_I32)->data)[k], I32(i));
        cr_assert_eq(((int64_t *)col_of(b, "i64", SL_TYPE_I64)->data)[k], I64(i));
        cr_assert_eq(((uint32_t *)col_of(b, "u32", SL_TYPE_U32)->data)[k], UINT32_MAX - i);
        cr_assert_eq(((uint64_t *)col_of(b, "u64", SL_TYPE_U64)->data)[k], UINT64_MAX - i);
        cr_assert_eq(((float *)col_of(b, "f32", SL_TYPE_F32)->data)[k], (float)i * 0.5f - 3.0f);
        cr_assert_eq(((double *)col_of(b, "f64", SL_TYPE_F64)->data)[k], F64(i));
        for (int e = 0; e < 9; e++)
            cr_assert_eq(((double *)m->data)[k * 9 + (size_t)e], (double)(i * 100 + (uint64_t)e));
        for (int e = 0; e < 8; e++)
            cr_assert_eq(((uint32_t *)t->data)[k * 8 + (size_t)e], (uint32_t)(i * 8 + (uint64_t)e));
        char row[32] = "";
        memset(row, 'a' + (int)(i % 26), i % 4);
        expect_bytes(b_, k, row);
    }
}

/* A plain HDF5 dataset at `name` of file type ft holding `data` of type mt. */
static void raw_dataset(hid_t f, const char *name, hid_t ft, hid_t mt, int rank,
                        const hsize_t *dims, hid_t dcpl, const void *data)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(f, name, ft, sp, lcpl, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "cannot create %s", name);
    if (data)
        cr_assert_geq(H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(sp);
}

static hid_t raw_file(void)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    return f;
}

/* --- reading what h5sink wrote --------------------------------------------- */

Test(h5source, every_sink_type_round_trips_in_name_order)
{
    sl_batch *in[2] = {every_type(5, 5), every_type(0, 5)}; /* written out of order */
    sink_write(in, 2, 10, 3);
    sl_h5r *r = open_ok("", 4);
    cr_assert_eq(sl_h5r_rows(r), 10);
    cr_assert_eq(sl_h5r_batches(r), 3);
    const char *names[] = {"b", "f32", "f64", "i32", "i64", "m", "t", "u32", "u64"};
    cr_assert_eq(sl_h5r_ncols(r), 9);
    for (int i = 0; i < 9; i++)
        cr_assert_str_eq(sl_h5r_col_name(r, i), names[i]);
    for (uint64_t seq = 0; seq < 3; seq++) {
        sl_batch *b = read_ok(r, 2 - seq); /* any order */
        cr_assert_eq(sl_batch_row0(b), (2 - seq) * 4);
        cr_assert_eq(sl_batch_nrows(b), seq == 0 ? 2 : 4);
        cr_assert_eq(sl_batch_ncols(b), 9);
        cr_assert_str_eq(sl_batch_col(b, 0)->name, "b", "columns in the reader's order");
        check_every_type(b);
        sl_batch_destroy(&b);
    }
    sl_h5r_destroy(&r);
    cr_assert_null(r);
}

/* --- strings, byte order, small integers ------------------------------------ */

Test(h5source, strings_become_bytes_without_terminator_or_padding)
{
    hid_t f = raw_file();
    const hsize_t n = 3;
    const char *vs[3] = {"alpha", "", "\xce\xb3\xce\xb4"}; /* UTF-8 is just bytes */
    hid_t vt = H5Tcopy(H5T_C_S1);
    H5Tset_size(vt, H5T_VARIABLE);
    H5Tset_cset(vt, H5T_CSET_UTF8);
    raw_dataset(f, "vs", vt, vt, 1, &n, H5P_DEFAULT, vs);
    hid_t nt = H5Tcopy(H5T_C_S1), st = H5Tcopy(H5T_C_S1);
    H5Tset_size(nt, 6);
    H5Tset_strpad(nt, H5T_STR_NULLPAD);
    raw_dataset(f, "nul", nt, nt, 1, &n, H5P_DEFAULT, "abcdefab\0\0\0\0\0\0\0\0\0\0");
    H5Tset_size(st, 4);
    H5Tset_strpad(st, H5T_STR_SPACEPAD);
    raw_dataset(f, "spc", st, st, 1, &n, H5P_DEFAULT, "x   a b     ");
    H5Tclose(vt);
    H5Tclose(nt);
    H5Tclose(st);
    H5Fclose(f);
    sl_h5r *r = open_ok(NULL, 2);
    sl_batch *b[2] = {read_ok(r, 0), read_ok(r, 1)};
    const char *want_vs[3] = {"alpha", "", "\xce\xb3\xce\xb4"}, *want_nul[3] = {"abcdef", "ab", ""},
               *want_spc[3] = {"x", "a b", ""};
    for (size_t i = 0; i < 3; i++) {
        expect_bytes(col_of(b[i / 2], "vs", SL_TYPE_BYTES), i % 2, want_vs[i]);
        expect_bytes(col_of(b[i / 2], "nul", SL_TYPE_BYTES), i % 2, want_nul[i]);
        expect_bytes(col_of(b[i / 2], "spc", SL_TYPE_BYTES), i % 2, want_spc[i]);
    }
    sl_batch_destroy(&b[0]);
    sl_batch_destroy(&b[1]);
    sl_h5r_destroy(&r);
}

Test(h5source, big_endian_and_small_integers_read_as_native)
{
    hid_t f = raw_file();
    const hsize_t n = 4, md[3] = {4, 2, 2};
    const int32_t i32[4] = {-1, 2, INT32_MIN, INT32_MAX};
    const uint64_t u64[4] = {1, 0x0102030405060708u, UINT64_MAX, 0};
    const double f64[16] = {1.5, -2.25, 1e300, -0.0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const int16_t i16[4] = {-32768, -1, 0, 32767};
    const uint8_t u8[4] = {0, 1, 200, 255};
    raw_dataset(f, "i32", H5T_STD_I32BE, H5T_NATIVE_INT32, 1, &n, H5P_DEFAULT, i32);
    raw_dataset(f, "u64", H5T_STD_U64BE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, u64);
    raw_dataset(f, "m", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 3, md, H5P_DEFAULT, f64);
    raw_dataset(f, "i16", H5T_STD_I16BE, H5T_NATIVE_INT16, 1, &n, H5P_DEFAULT, i16);
    raw_dataset(f, "u8", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &n, H5P_DEFAULT, u8);
    H5Fclose(f);
    sl_h5r *r = open_ok("", 10);
    sl_batch *b = read_ok(r, 0);
    cr_assert_eq(memcmp(col_of(b, "i32", SL_TYPE_I32)->data, i32, sizeof i32), 0);
    cr_assert_eq(memcmp(col_of(b, "u64", SL_TYPE_U64)->data, u64, sizeof u64), 0);
    const sl_column *m = col_of(b, "m", SL_TYPE_F64);
    cr_assert(m->ndims == 2 && m->dims[0] == 2 && m->dims[1] == 2);
    cr_assert_eq(memcmp(m->data, f64, sizeof f64), 0);
    const int32_t *w16 = col_of(b, "i16", SL_TYPE_I32)->data;
    const uint32_t *w8 = col_of(b, "u8", SL_TYPE_U32)->data;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(w16[i], i16[i], "i16 widens with its sign");
        cr_assert_eq(w8[i], u8[i]);
    }
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
}

/* --- choosing and naming columns --------------------------------------------- */

static void groups_file(void)
{
    hid_t f = raw_file();
    const hsize_t n = 3;
    const uint64_t a[3] = {1, 2, 3}, bb[3] = {4, 5, 6}, c[3] = {7, 8, 9};
    raw_dataset(f, "/inputs/A", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, a);
    raw_dataset(f, "/inputs/B", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, bb);
    raw_dataset(f, "/c", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, c);
    H5Fclose(f);
}

Test(h5source, columns_are_picked_renamed_and_kept_in_order)
{
    groups_file();
    sl_h5r *r = open_ok(" x = /inputs/B , /inputs/A,a2=/inputs/A, inputs/B/ ", 2);
    const char *names[] = {"x", "A", "a2", "B"}, *paths[] = {"/inputs/B", "/inputs/A",
                                                             "/inputs/A", "inputs/B/"};
    cr_assert_eq(sl_h5r_ncols(r), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(sl_h5r_col_name(r, i), names[i]);
        cr_assert_str_eq(sl_h5r_col_path(r, i), paths[i]);
    }
    sl_batch *b = read_ok(r, 1);
    cr_assert_eq(((uint64_t *)col_of(b, "x", SL_TYPE_U64)->data)[0], 6);
    cr_assert_eq(((uint64_t *)col_of(b, "a2", SL_TYPE_U64)->data)[0], 3);
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
    r = open_ok("", 2); /* the root holds c and the group inputs: only c */
    cr_assert_eq(sl_h5r_ncols(r), 1);
    cr_assert_str_eq(sl_h5r_col_name(r, 0), "c");
    sl_h5r_destroy(&r);
}

Test(h5source, columns_text_errors_are_one_line)
{
    static const struct {
        const char *text, *msg;
        sl_status code;
    } cases[] = {
        {"/a,,/b", "parameter 'columns': empty entry (two commas in a row, or one at an end)",
         SL_EINVAL},
        {"/a,", "parameter 'columns': empty entry (two commas in a row, or one at an end)",
         SL_EINVAL},
        {"x=", "parameter 'columns': column 'x' has no dataset path", SL_EINVAL},
        {"=/a", "parameter 'columns': entry '/a' has no column name", SL_EINVAL},
        {"/", "parameter 'columns': '/' names no dataset", SL_EINVAL},
        {"a/b=/x", "parameter 'columns': column name 'a/b' may not contain '/'", SL_EINVAL},
        {"/g/x,/h/x", "parameter 'columns': column 'x' is given twice (/g/x and /h/x); rename one "
                      "with NAME=/path",
         SL_EEXIST},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_h5r_spec s;
        cr_assert_eq(sl_h5r_spec_parse(&s, cases[i].text, &err), cases[i].code, "%s",
                     cases[i].text);
        cr_assert_str_eq(err.msg, cases[i].msg);
        sl_h5r_spec_free(&s);
    }
    char many[1024] = "", longname[128];
    for (int i = 0; i <= SL_BATCH_MAX_COLUMNS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s/d%d", i ? "," : "", i);
    sl_h5r_spec s;
    cr_assert_eq(sl_h5r_spec_parse(&s, many, &err), SL_ERANGE);
    cr_assert_str_eq(err.msg, "parameter 'columns': more than 32 columns");
    sl_h5r_spec_free(&s);
    memset(longname, 'n', 64);
    strcpy(longname + 64, "=/x");
    cr_assert_eq(sl_h5r_spec_parse(&s, longname, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "is longer than 63 bytes"), "%s", err.msg);
    sl_h5r_spec_free(&s);
}

/* --- batch edges ------------------------------------------------------------- */

Test(h5source, batches_at_the_edges)
{
    groups_file(); /* 3 rows */
    sl_h5r *r = open_ok("/c", 2);
    cr_assert_eq(sl_h5r_batches(r), 2);
    sl_batch *b = read_ok(r, 1);
    cr_assert_eq(sl_batch_row0(b), 2);
    cr_assert_eq(sl_batch_nrows(b), 1, "the last batch is partial");
    cr_assert_eq(((uint64_t *)col_of(b, "c", SL_TYPE_U64)->data)[0], 9);
    sl_batch_reset(b);
    cr_assert_eq(sl_h5r_read(r, 2, b, &err), SL_ERANGE);
    expect_msg(err.msg, "batch 2 is past the last batch (2 batches)");
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
    r = open_ok("/c", 1000); /* a batch larger than the file */
    cr_assert_eq(sl_h5r_batches(r), 1);
    b = read_ok(r, 0);
    cr_assert_eq(sl_batch_nrows(b), 3);
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
}

Test(h5source, zero_rows_make_zero_batches)
{
    sl_batch *b = every_type(0, 0);
    sink_write(&b, 1, 0, 0); /* h5sink makes extendible datasets of length 0 */
    sl_h5r *r = open_ok("", 4);
    cr_assert_eq(sl_h5r_rows(r), 0);
    cr_assert_eq(sl_h5r_batches(r), 0);
    cr_assert_eq(sl_h5r_ncols(r), 9);
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    cr_assert_eq(sl_h5r_read(r, 0, b, &err), SL_ERANGE);
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
}

/* --- chunks -------------------------------------------------------------------- */

Test(h5source, chunked_compressed_rows_cross_batch_boundaries)
{
    hid_t f = raw_file();
    enum { N = 1000 };
    const hsize_t n = N, md[2] = {N, 3}, chunk[2] = {7, 3};
    static int64_t v[N], mv[N * 3];
    for (int i = 0; i < N * 3; i++)
        mv[i] = (i % 3 ? -1 : 1) * (int64_t)i * 1000003;
    for (int i = 0; i < N; i++)
        v[i] = mv[i * 3];
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 6);
    raw_dataset(f, "m", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, md, dcpl, mv);
    H5Pset_chunk(dcpl, 1, chunk);
    raw_dataset(f, "v", H5T_STD_I64BE, H5T_NATIVE_INT64, 1, &n, dcpl, v);
    H5Pclose(dcpl);
    H5Fclose(f);
    sl_h5r *r = open_ok("", 10); /* 10-row batches over 7-row chunks */
    cr_assert_eq(sl_h5r_batches(r), 100);
    for (uint64_t k = 0; k < 100; k++) {
        uint64_t seq = (k * 37) % 100; /* every batch once, out of order */
        sl_batch *b = read_ok(r, seq);
        const int64_t *got_m = col_of(b, "m", SL_TYPE_I64)->data,
                      *got_v = col_of(b, "v", SL_TYPE_I64)->data;
        cr_assert_eq(memcmp(got_m, mv + seq * 30, 30 * sizeof *mv), 0, "batch %llu",
                     (unsigned long long)seq);
        cr_assert_eq(memcmp(got_v, v + seq * 10, 10 * sizeof *v), 0, "batch %llu",
                     (unsigned long long)seq);
        sl_batch_destroy(&b);
    }
    sl_h5r_destroy(&r);
}

/* An identity filter that counts how often a chunk is decoded. */
#define COUNT_FILTER ((H5Z_filter_t)300) /* 256..511: reserved for testing */
static int decodes;

static size_t count_decodes(unsigned flags, size_t cd_nelmts, const unsigned cd_values[],
                            size_t nbytes, size_t *buf_size, void **buf)
{
    if (flags & H5Z_FLAG_REVERSE)
        decodes++;
    return nbytes;
}

static const H5Z_class2_t count_class = {H5Z_CLASS_T_VERS, COUNT_FILTER, 1, 1, "count decodes",
                                         NULL, NULL, count_decodes};

Test(h5source, chunk_shared_by_two_batches_is_decoded_once)
{
    cr_assert_geq(H5Zregister(&count_class), 0);
    /* 1.2 MB chunks: more than HDF5's default 1 MiB cache holds, so only a
     * cache sized for the batch keeps the chunk a batch shares with the next. */
    enum { N = 900000, CHUNK = 300000, BATCH = 200000 };
    int32_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = i ^ 0x5a5a;
    hid_t f = raw_file(), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t n = N, chunk = CHUNK;
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_filter(dcpl, COUNT_FILTER, H5Z_FLAG_MANDATORY, 0, NULL);
    raw_dataset(f, "v", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, dcpl, v);
    H5Pclose(dcpl);
    H5Fclose(f);
    decodes = 0;
    sl_h5r *r = open_ok("", BATCH);
    for (uint64_t seq = 0; seq < sl_h5r_batches(r); seq++) {
        sl_batch *b = read_ok(r, seq);
        const int32_t *got = col_of(b, "v", SL_TYPE_I32)->data;
        cr_assert_eq(memcmp(got, v + seq * BATCH, sl_batch_nrows(b) * sizeof *v), 0);
        sl_batch_destroy(&b);
    }
    cr_assert_eq(decodes, N / CHUNK, "%d decodes for %d chunks", decodes, N / CHUNK);
    sl_h5r_destroy(&r);
    free(v);
}

Test(h5source, cache_holds_the_chunks_one_batch_touches)
{
    /* 200k rows over 300k-row chunks of 4 bytes: at most 2 chunks of 1.2 MB. */
    sl_h5r_cache c = sl_h5r_cache_for(1, (const uint64_t[]){900000}, (const uint64_t[]){300000}, 4,
                                      200000);
    cr_assert_eq(c.nbytes, 2400000);
    cr_assert_eq(c.nslots, 521, "at least HDF5's default, a prime");
    /* Matrices chunked 10 rows x 4 x 8 of 64 x 64: 16 x 8 chunks across. */
    c = sl_h5r_cache_for(3, (const uint64_t[]){1000, 64, 64}, (const uint64_t[]){10, 4, 8}, 8,
                         100);
    cr_assert_eq(c.nbytes, 12 * 16 * 8 * (10 * 4 * 8 * 8));
    cr_assert_eq(c.nslots, 15361, "the first prime >= 10 x 1536 chunks");
    /* Never below HDF5's 1 MiB, never above 256 MiB. */
    c = sl_h5r_cache_for(1, (const uint64_t[]){100}, (const uint64_t[]){10}, 8, 10);
    cr_assert_eq(c.nbytes, 1u << 20);
    c = sl_h5r_cache_for(1, (const uint64_t[]){1u << 30}, (const uint64_t[]){1u << 26}, 8,
                         1u << 28);
    cr_assert_eq(c.nbytes, 256u << 20);
}

/* --- bad files: every one fails at open ------------------------------------------ */

Test(h5source, missing_file_directory_and_non_hdf5_file)
{
    const char *msg = open_fails("/nonexistent/x.h5", "", SL_EIO);
    cr_assert_str_eq(msg, "/nonexistent/x.h5: cannot open: No such file or directory");
    msg = open_fails("/tmp", "", SL_EINVAL);
    cr_assert_str_eq(msg, "/tmp: is a directory, not an HDF5 file");
    FILE *f = fopen(path, "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    msg = open_fails(path, "", SL_EINVAL);
    expect_msg(msg, "not an HDF5 file (no HDF5 signature found)");
}

/* A valid file of 4000 rows from h5sink; returns its size. */
static off_t valid_file(void)
{
    sl_batch *b = every_type(0, 4000);
    sink_write(&b, 1, 4000, 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

Test(h5source, truncated_file_fails_at_open_saying_both_sizes)
{
    off_t size = valid_file();
    cr_assert_eq(truncate(path, size / 2), 0);
    const char *msg = open_fails(path, "", SL_EIO);
    char want[512];
    snprintf(want, sizeof want, "cannot open: truncated: the file is %lld bytes, its superblock "
                                "says %lld",
             (long long)(size / 2), (long long)size);
    expect_msg(msg, want);
}

/* Overwrites n bytes at off with 0xA5. */
static void scribble(off_t off, size_t n)
{
    char junk[64];
    memset(junk, 0xa5, sizeof junk);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, junk, n, off), (ssize_t)n);
    close(fd);
}

/* Offset of the n-th (0-based) occurrence of `sig` in the file, or -1. */
static off_t find_sig(const char *sig, int nth)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    stat(path, &st);
    char *buf = malloc((size_t)st.st_size);
    cr_assert_eq(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    off_t at = -1;
    for (off_t i = 0; i + 4 <= st.st_size && at < 0; i++)
        if (memcmp(buf + i, sig, 4) == 0 && nth-- == 0)
            at = i;
    free(buf);
    return at;
}

Test(h5source, corrupted_superblock_fails_at_open)
{
    valid_file();
    scribble(12, 16); /* past the signature: the superblock's checksum no longer matches */
    const char *msg = open_fails(path, "", SL_EIO);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open: ", path);
    cr_assert_eq(strncmp(msg, want, strlen(want)), 0, "%s", msg);
    cr_assert(strstr(msg, "checksum"), "%s", msg);
}

Test(h5source, corrupted_dataset_header_fails_at_open)
{
    valid_file();
    /* The first object header is the root group's; the next is dataset
     * "i32" (h5sink creates datasets in the batch's column order). */
    off_t at = find_sig("OHDR", 1);
    cr_assert_gt(at, 0);
    scribble(at + 8, 8);
    LSAN_OFF();
    const char *msg = open_fails(path, "/b,/i32", SL_EIO);
    LSAN_ON();
    char want[512];
    snprintf(want, sizeof want, "%s: dataset '/i32': cannot open dataset: ", path);
    cr_assert_eq(strncmp(msg, want, strlen(want)), 0, "%s", msg);
    cr_assert(strstr(msg, "checksum"), "%s", msg);
    LSAN_OFF();
    msg = open_fails(path, "", SL_EIO); /* listing the root must not skip it */
    LSAN_ON();
    snprintf(want, sizeof want, "%s: cannot open object '/i32': ", path);
    cr_assert_eq(strncmp(msg, want, strlen(want)), 0, "%s", msg);
}

/* The file offset of chunk idx of dataset name; *size is its stored size. */
static haddr_t chunk_at(const char *name, hsize_t idx, hsize_t *row0, hsize_t *size)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), fs = H5Dget_space(d);
    hsize_t off[1 + SL_MAX_DIMS];
    unsigned mask;
    haddr_t addr = HADDR_UNDEF;
    cr_assert_geq(H5Dget_chunk_info(d, fs, idx, off, &mask, &addr, size), 0);
    *row0 = off[0];
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    return addr;
}

Test(h5source, damaged_raw_data_fails_its_batch_with_a_checksum_mismatch)
{
    /* Uncompressed: without h5sink's checksum the damage would read as numbers. */
    sl_batch *b = every_type(0, 4000);
    sink_write_c(&b, 1, 4000, 1000, 0);
    hsize_t row0, size;
    haddr_t at = chunk_at("f64", 2, &row0, &size);
    cr_assert_eq(row0, 2000);
    cr_assert_eq(size, 8000 + 4, "1000 rows of 8 bytes and the checksum");
    scribble((off_t)at + 4000, 8); /* row 2500 */
    sl_h5r *r = open_ok("", 1000); /* the chunk index is intact */
    b = read_ok(r, 1);
    sl_batch_destroy(&b);
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    cr_assert_eq(sl_h5r_read(r, 2, b, &err), SL_EIO);
    expect_msg(err.msg, "dataset '/f64': cannot read rows 2000..2999: checksum mismatch "
                        "(Fletcher32): the chunk on disk is not what was written");
    sl_batch_destroy(&b);
    b = read_ok(r, 3); /* the other chunks still read */
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
}

/* Dataset v of 1000 u64 in chunks of 10, in the format h5sink writes: a
 * fixed-size dataset gets a fixed array index (header FAHD, data block FADB),
 * an extendible one an extensible array (header EAHD, index block EAIB). */
static void indexed_file(bool extendible)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    cr_assert_geq(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    cr_assert_geq(f, 0);
    static uint64_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (uint64_t)i;
    const hsize_t n = 1000, max = extendible ? H5S_UNLIMITED : n, chunk = 10;
    hid_t sp = H5Screate_simple(1, &n, &max), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t d = H5Dcreate2(f, "v", H5T_STD_U64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Pclose(fapl);
    H5Fclose(f);
}

Test(h5source, damaged_chunk_index_fails_at_open_naming_the_dataset)
{
    static const struct {
        bool extendible;
        const char *sig;
    } cases[] = {{false, "FAHD"}, {false, "FADB"}, {true, "EAHD"}, {true, "EAIB"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        indexed_file(cases[i].extendible);
        sl_h5r *r = open_ok("", 100);
        sl_h5r_destroy(&r);
        off_t at = find_sig(cases[i].sig, 0);
        cr_assert_gt(at, 0, "no %s in the file", cases[i].sig);
        scribble(at + 8, 4); /* inside the block: its checksum no longer matches */
        const char *msg = open_fails(path, "", SL_EIO);
        expect_msg(msg, "dataset '/v': cannot read the chunk index: incorrect metadata "
                        "checksum after all read attempts");
    }
}

/* Column n (u64, 20 rows) and a /deadletters/seq of `dead` rows, as h5sink
 * writes them after batches were given up. */
static void holes_file(hsize_t dead)
{
    hid_t f = raw_file();
    const hsize_t n = 20;
    const uint64_t v[20] = {1, 2, 3}, seq[2] = {1, 3};
    raw_dataset(f, "n", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, v);
    raw_dataset(f, "/deadletters/seq", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &dead, H5P_DEFAULT,
                dead ? seq : NULL);
    H5Fclose(f);
}

Test(h5source, dead_letters_are_refused_unless_holes_are_allowed)
{
    holes_file(2);
    const char *tail = "of the job that wrote it %s dead-lettered (listed in /deadletters), so "
                       "%s rows hold fill values, not results; rerun that job with `sluice run "
                       "JOB --resume --retry-deadletters` (docs/failures.md), or set "
                       "allow_holes: true to read it anyway";
    char want[512], fmt[512];
    snprintf(fmt, sizeof fmt, "2 batches %s", tail);
    snprintf(want, sizeof want, fmt, "were", "their");
    expect_msg(open_fails(path, "", SL_EINVAL), want);
    expect_msg(open_fails(path, "/n", SL_EINVAL), want); /* whichever columns are read */
    sl_h5r *r = NULL;
    sl_h5r_opts o = {.path = path, .columns = "", .batch = 8, .allow_holes = true};
    cr_assert_eq(sl_h5r_open(&r, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_h5r_ncols(r), 1, "the group is not a column");
    sl_batch *b = read_ok(r, 0);
    cr_assert_eq(((uint64_t *)col_of(b, "n", SL_TYPE_U64)->data)[2], 3);
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
    holes_file(1);
    snprintf(fmt, sizeof fmt, "1 batch %s", tail);
    snprintf(want, sizeof want, fmt, "was", "its");
    expect_msg(open_fails(path, "", SL_EINVAL), want);
    holes_file(0); /* an empty list: no holes */
    r = open_ok("", 8);
    sl_h5r_destroy(&r);
    /* A dataset that happens to be called deadletters is just a column. */
    hid_t f = raw_file();
    const hsize_t n = 4;
    const uint64_t v[4] = {0};
    raw_dataset(f, "deadletters", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &n, H5P_DEFAULT, v);
    H5Fclose(f);
    r = open_ok("", 8);
    cr_assert_str_eq(sl_h5r_col_name(r, 0), "deadletters");
    sl_h5r_destroy(&r);
}

Test(h5source, missing_dataset_and_unequal_lengths_name_the_datasets)
{
    groups_file();
    const char *msg = open_fails(path, "/c,/inputs/nope", SL_EIO);
    char want[512];
    snprintf(want, sizeof want, "%s: dataset '/inputs/nope': cannot open dataset: ", path);
    cr_assert_eq(strncmp(msg, want, strlen(want)), 0, "%s", msg);
    cr_assert(strstr(msg, "doesn't exist"), "%s", msg);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t n = 5;
    const float x[5] = {0};
    raw_dataset(f, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n, H5P_DEFAULT, x);
    H5Fclose(f);
    msg = open_fails(path, "/c,/inputs/A,/x", SL_EINVAL);
    expect_msg(msg, "datasets '/c' (3 rows) and '/x' (5 rows) differ in length; every column "
                    "needs the same number of rows");
}

Test(h5source, unsupported_types_and_shapes_are_refused_with_the_reason)
{
    hid_t f = raw_file();
    const hsize_t n = 2, d5[5] = {2, 1, 1, 1, 1}, d2[2] = {2, 2};
    hid_t cmp = H5Tcreate(H5T_COMPOUND, 8), en = H5Tenum_create(H5T_NATIVE_INT);
    H5Tinsert(cmp, "a", 0, H5T_NATIVE_INT64);
    int one = 1;
    H5Tenum_insert(en, "ONE", &one);
    hid_t op = H5Tcreate(H5T_OPAQUE, 4), vi = H5Tvlen_create(H5T_NATIVE_INT32);
    hid_t vs = H5Tcopy(H5T_C_S1);
    H5Tset_size(vs, H5T_VARIABLE);
    raw_dataset(f, "cmp", cmp, cmp, 1, &n, H5P_DEFAULT, NULL);
    raw_dataset(f, "enum", en, en, 1, &n, H5P_DEFAULT, NULL);
    raw_dataset(f, "opaque", op, op, 1, &n, H5P_DEFAULT, NULL);
    raw_dataset(f, "ref", H5T_STD_REF_OBJ, H5T_STD_REF_OBJ, 1, &n, H5P_DEFAULT, NULL);
    raw_dataset(f, "vint", vi, vi, 1, &n, H5P_DEFAULT, NULL);
    raw_dataset(f, "five", H5T_NATIVE_INT, H5T_NATIVE_INT, 5, d5, H5P_DEFAULT, NULL);
    raw_dataset(f, "scalar", H5T_NATIVE_INT, H5T_NATIVE_INT, 0, NULL, H5P_DEFAULT, &one);
    raw_dataset(f, "str2d", vs, vs, 2, d2, H5P_DEFAULT, NULL);
    raw_dataset(f, "f16", H5T_NATIVE_LDOUBLE, H5T_NATIVE_LDOUBLE, 1, &n, H5P_DEFAULT, NULL);
    H5Tclose(cmp);
    H5Tclose(en);
    H5Tclose(op);
    H5Tclose(vi);
    H5Tclose(vs);
    H5Fclose(f);
    const char *sup = "is not supported (sluice reads integers, floats, variable-length bytes "
                      "and strings)";
    char want[512];
    static const struct {
        const char *col, *what;
    } types[] = {{"/cmp", "type compound"},
                 {"/enum", "type enum"},
                 {"/opaque", "type opaque"},
                 {"/ref", "type reference"},
                 {"/vint", "a variable-length sequence of other than bytes"},
                 {"/f16", "a 16-byte float"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(want, sizeof want, "dataset '%s': %s %s", types[i].col, types[i].what, sup);
        expect_msg(open_fails(path, types[i].col, SL_EINVAL), want);
    }
    expect_msg(open_fails(path, "/five", SL_EINVAL),
               "dataset '/five' has 5 dimensions; at most 4 are supported (rows and 3 per row)");
    expect_msg(open_fails(path, "/scalar", SL_EINVAL),
               "dataset '/scalar' is a single value, not a column of rows");
    expect_msg(open_fails(path, "/str2d", SL_EINVAL),
               "dataset '/str2d' holds variable-length or string data with shape 2x2; only 1-D "
               "is supported");
    snprintf(want, sizeof want, "dataset '/cmp': type compound %s", sup);
    expect_msg(open_fails(path, "", SL_EINVAL), want); /* every root dataset is checked */
}

Test(h5source, file_without_datasets_at_the_root)
{
    hid_t f = raw_file(), g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
    expect_msg(open_fails(path, "", SL_EINVAL),
               "no datasets at the root of the file; name them with parameter 'columns'");
}

/* --- the plugin, and a run through h5sink ------------------------------------------ */

static const sl_stage_desc *find_stage(sl_registry **reg, const char *name)
{
    const sl_stage_desc *d = NULL;
    const char *where = NULL;
    if (!*reg)
        cr_assert_eq(sl_registry_create(reg, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_registry_find(*reg, name, &d, &where, &err), SL_OK, "%s", err.msg);
    return d;
}

static sl_params *params(const sl_stage_desc *d, const char *file, const char *columns,
                         const char *batch)
{
    sl_params *p = NULL;
    cr_assert_eq(sl_params_create(&p, d->params, d->name, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "file", file, "test", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "columns", columns, "test", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "batch", batch, "test", &err), SL_OK, "%s", err.msg);
    return p;
}

Test(h5source, plugin_is_a_single_instance_source_and_wants_a_file)
{
    sl_registry *reg = NULL;
    const sl_stage_desc *d = find_stage(&reg, "h5source");
    cr_assert_eq(d->kind, SL_KIND_SOURCE);
    cr_assert(d->flags & SL_STAGE_SINGLE_INSTANCE);
    sl_params *p = params(d, "", "", "64K");
    void *st = NULL;
    cr_assert_eq(d->create(&st, p, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "parameter 'file' is empty: name the HDF5 file to read");
    sl_params_destroy(&p);
    groups_file();
    p = params(d, path, "a=/inputs/A", "2");
    cr_assert_eq(d->create(&st, p, NULL, &err), SL_OK, "%s", err.msg);
    sl_source_plan plan;
    cr_assert_eq(d->plan(st, &plan, &err), SL_OK);
    cr_assert(plan.batches == 2 && plan.rows == 3);
    sl_batch *b = NULL;
    sl_batch_create(&b, &err);
    cr_assert_eq(d->produce(st, 1, b, NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(((uint64_t *)col_of(b, "a", SL_TYPE_U64)->data)[0], 3);
    sl_batch_destroy(&b);
    d->destroy(st);
    sl_params_destroy(&p);
    sl_registry_destroy(&reg);
}

Test(h5source, plugin_parameter_allow_holes_reads_a_file_with_dead_letters)
{
    sl_registry *reg = NULL;
    const sl_stage_desc *d = find_stage(&reg, "h5source");
    holes_file(2);
    sl_params *p = params(d, path, "", "8");
    void *st = NULL;
    cr_assert_eq(d->create(&st, p, NULL, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "2 batches of the job that wrote it were dead-lettered"), "%s",
              err.msg);
    cr_assert_eq(sl_params_set(p, "allow_holes", "true", "test", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(d->create(&st, p, NULL, &err), SL_OK, "%s", err.msg);
    d->destroy(st);
    sl_params_destroy(&p);
    sl_registry_destroy(&reg);
}

/* Runs h5source -> h5sink on 2 threads; returns the run's status. */
static sl_status copy_run(sl_registry **reg, const char *batch)
{
    sl_pipeline *p = NULL;
    sl_pipeline_opts o = {.threads = 2, .output = out_path, .force = true};
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    const sl_stage_desc *src = find_stage(reg, "h5source"), *sink = find_stage(reg, "h5sink");
    sl_status s = sl_pipeline_add(p, src, "h5source", params(src, path, "", batch), NULL, &err);
    sl_params *sp = NULL;
    if (s == SL_OK && sl_params_create(&sp, sink->params, "h5sink", &err) == SL_OK)
        s = sl_pipeline_add(p, sink, "h5sink", sp, NULL, &err);
    if (s == SL_OK)
        s = sl_pipeline_run(p, &err);
    sl_pipeline_destroy(&p);
    return s;
}

Test(h5source, run_through_h5sink_copies_the_file, .timeout = 60)
{
    sl_batch *in = every_type(0, 5000);
    sink_write(&in, 1, 5000, 0);
    sl_registry *reg = NULL;
    cr_assert_eq(copy_run(&reg, "37"), SL_OK, "%s", err.msg); /* 136 batches, source and sink
                                                                  in concurrent tasks */
    sl_h5r_opts o = {.path = out_path, .columns = "", .batch = 5000};
    sl_h5r *r = NULL;
    cr_assert_eq(sl_h5r_open(&r, &o, &err), SL_OK, "%s", err.msg);
    sl_batch *b = NULL;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    cr_assert_eq(sl_h5r_read(r, 0, b, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_batch_nrows(b), 5000);
    check_every_type(b);
    sl_batch_destroy(&b);
    sl_h5r_destroy(&r);
    /* A bad input fails while the pipeline is built, before any output. */
    unlink(out_path);
    valid_file();
    cr_assert_eq(truncate(path, 1000), 0);
    cr_assert_eq(copy_run(&reg, "37"), SL_EIO);
    cr_assert(strstr(err.msg, "stage 'h5source': "), "%s", err.msg);
    cr_assert(strstr(err.msg, "truncated: the file is 1000 bytes"), "%s", err.msg);
    struct stat st;
    cr_assert_neq(stat(out_path, &st), 0, "no output file after a failed create");
    sl_registry_destroy(&reg);
}
