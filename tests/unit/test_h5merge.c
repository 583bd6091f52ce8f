/* tests/unit/test_h5merge.c - merging per-rank part files into one.
 *
 * Part files are written here with plain HDF5 calls, shaped like h5sink's: at
 * the root, fixed-size chunked datasets u (u64), m (f64, rows x 3 x 3) and b
 * (vlen u8, tagged sluice_type="bytes"), and z (u32, deflate, extendible, as
 * long as the rank's last batch); all but b with a Fletcher32 checksum, which
 * the merged file must keep. 85 rows in batches of 10 are dealt to the
 * ranks; a rank writes only its batches' rows and leaves fill values
 * elsewhere. After the merge every row of every dataset is read back and
 * compared with the value its row number fixes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <hdf5.h>

#include "dist/h5merge.h"

#define NROWS 85
#define BATCH 10
#define NBATCH ((NROWS + BATCH - 1) / BATCH)
#define MAX_PARTS 4
#define ALL_BATCHES ((1u << NBATCH) - 1)

static char part[MAX_PARTS][256], dest[256];
static sl__row_range range_buf[MAX_PARTS][NBATCH + 1];
static const sl__row_range *ranges[MAX_PARTS];
static size_t nranges[MAX_PARTS];
static sl_error err;

static void setup(void)
{
    for (int k = 0; k < MAX_PARTS; k++) {
        snprintf(part[k], sizeof part[k], "%s/h5merge_%d_part%d.h5", SL_TEST_BINARY_DIR,
                 (int)getpid(), k);
        ranges[k] = range_buf[k];
        nranges[k] = 0;
    }
    snprintf(dest, sizeof dest, "%s/h5merge_%d_out.h5", SL_TEST_BINARY_DIR, (int)getpid());
    sl_error_clear(&err);
}

static void teardown(void)
{
    for (int k = 0; k < MAX_PARTS; k++)
        unlink(part[k]);
    unlink(dest);
}

/* HDF5's error printing stays on, so a merge that failed to silence it shows. */
static void setup_capture(void)
{
    setup();
    cr_redirect_stderr();
}

TestSuite(h5merge, .init = setup, .fini = teardown);

static uint64_t batch_lo(int i) { return (uint64_t)i * BATCH; }
static uint64_t batch_hi(int i) { return i * BATCH + BATCH < NROWS ? batch_lo(i + 1) : NROWS; }
static bool row_in(uint32_t batches, uint64_t r) { return (batches >> (r / BATCH)) & 1u; }

/* Batches dealt round robin to n ranks: the ones rank k gets. */
static uint32_t dealt(int k, int n)
{
    uint32_t m = 0;
    for (int i = k; i < NBATCH; i += n)
        m |= 1u << i;
    return m;
}

static uint64_t u_at(uint64_t r) { return r * 7 + 1; }
static double m_at(uint64_t r, int e) { return (double)r + (e / 3) * 0.1 + (e % 3) * 0.01 + 0.5; }
static size_t b_len(uint64_t r) { return r % 5; }
static uint8_t b_at(uint64_t r, size_t j) { return (uint8_t)(r * 13 + j); }
static uint32_t z_at(uint64_t r) { return (uint32_t)(r * 3 + 2); }

/* Rank k's ranges, from its batches, highest first: the merge must sort them. */
static void set_ranges(int k, uint32_t batches)
{
    size_t n = 0;
    for (int i = NBATCH - 1; i >= 0; i--)
        if ((batches >> i) & 1u)
            range_buf[k][n++] = (sl__row_range){batch_lo(i), batch_hi(i)};
    nranges[k] = n;
}

typedef struct part_opts {
    uint32_t batches; /* bit i: the rank ran batch i; none makes a file without datasets */
    uint64_t rows;    /* extent of the fixed-size datasets (0 = NROWS) */
    hid_t u_type;     /* file type of u (0 = u64) */
    hsize_t m_cols;   /* m's rows are 3 x m_cols (0 = 3) */
    bool attrs;       /* rank 0's job metadata */
    bool strays;      /* a root attribute, a group, a scalar dataset: all ignored */
} part_opts;

static hid_t make_dset(hid_t f, const char *name, hid_t type, int nd, const hsize_t *dims,
                       const hsize_t *max, bool deflate)
{
    hsize_t chunk[3] = {8, dims[1 % nd], dims[2 % nd]};
    hid_t sp = H5Screate_simple(nd, dims, max), pl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(H5Pset_chunk(pl, nd, chunk) >= 0);
    if (deflate)
        cr_assert(H5Pset_deflate(pl, 6) >= 0);
    if (H5Tget_class(type) != H5T_VLEN)
        cr_assert(H5Pset_fletcher32(pl) >= 0);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    cr_assert(d >= 0, "cannot create %s", name);
    H5Pclose(pl);
    H5Sclose(sp);
    return d;
}

/* Writes rows [lo, hi) of d from buf (rows of row_elems elements of mt). */
static void put_rows(hid_t d, hid_t mt, uint64_t lo, uint64_t hi, const void *buf)
{
    hid_t fs = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t start[3] = {lo, 0, 0}, count[3];
    H5Sget_simple_extent_dims(fs, count, NULL);
    count[0] = hi - lo;
    hid_t ms = H5Screate_simple(nd, count, NULL);
    cr_assert(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
    cr_assert(H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, buf) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
}

static void put_attr(hid_t loc, const char *key, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(loc, key, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(a >= 0 && H5Awrite(a, type, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_str_attr(hid_t loc, const char *key, const char *v, bool variable)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, variable ? H5T_VARIABLE : strlen(v));
    put_attr(loc, key, t, variable ? (const void *)&v : v);
    H5Tclose(t);
}

static void write_batch(hid_t *d, hid_t vl, hsize_t mc, int i)
{
    uint64_t lo = batch_lo(i), hi = batch_hi(i), u[BATCH];
    double m[BATCH * 3 * 4];
    uint8_t bytes[BATCH][5];
    hvl_t b[BATCH];
    uint32_t z[BATCH];
    for (uint64_t r = lo; r < hi; r++) {
        u[r - lo] = u_at(r);
        for (int e = 0; e < (int)(3 * mc); e++)
            m[(r - lo) * 3 * mc + (uint64_t)e] = m_at(r, e);
        for (size_t j = 0; j < b_len(r); j++)
            bytes[r - lo][j] = b_at(r, j);
        b[r - lo] = (hvl_t){.len = b_len(r), .p = bytes[r - lo]};
        z[r - lo] = z_at(r);
    }
    put_rows(d[0], H5T_NATIVE_UINT64, lo, hi, u);
    put_rows(d[1], H5T_NATIVE_DOUBLE, lo, hi, m);
    put_rows(d[2], vl, lo, hi, b);
    put_rows(d[3], H5T_NATIVE_UINT32, lo, hi, z);
}

static void write_part(const char *path, const part_opts *o)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot create %s", path);
    if (o->attrs) {
        uint64_t count = NROWS;
        put_str_attr(f, "job", "demo job", true);
        put_attr(f, "count", H5T_NATIVE_UINT64, &count);
    }
    if (o->strays) {
        put_str_attr(f, "stray", "from another rank", false);
        hid_t g = H5Gcreate2(f, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(f, "scalar", H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(g >= 0 && sp >= 0 && d >= 0);
        H5Dclose(d);
        H5Sclose(sp);
        H5Gclose(g);
    }
    if (o->batches) {
        hsize_t rows = o->rows ? o->rows : NROWS, mc = o->m_cols ? o->m_cols : 3, zrows = 0;
        for (int i = 0; i < NBATCH; i++)
            if ((o->batches >> i) & 1u)
                zrows = batch_hi(i);
        hsize_t d1[1] = {rows}, m3[3] = {rows, 3, mc}, z1[1] = {zrows}, unl[1] = {H5S_UNLIMITED};
        hid_t fvl = H5Tvlen_create(H5T_STD_U8LE), mvl = H5Tvlen_create(H5T_NATIVE_UINT8);
        hid_t d[4] = {make_dset(f, "u", o->u_type ? o->u_type : H5T_STD_U64LE, 1, d1, d1, false),
                      make_dset(f, "m", H5T_IEEE_F64LE, 3, m3, m3, false),
                      make_dset(f, "b", fvl, 1, d1, d1, false),
                      make_dset(f, "z", H5T_STD_U32LE, 1, z1, unl, true)};
        put_str_attr(d[2], "sluice_type", "bytes", false);
        for (int i = 0; i < NBATCH; i++)
            if ((o->batches >> i) & 1u)
                write_batch(d, mvl, mc, i);
        for (int i = 0; i < 4; i++)
            H5Dclose(d[i]);
        H5Tclose(fvl);
        H5Tclose(mvl);
    }
    cr_assert(H5Fclose(f) >= 0);
}

/* Reads a whole dataset; dims gets its extent and maxdims[0] goes to *max0. */
static void *read_all(hid_t f, const char *name, hid_t mt, size_t elem, hsize_t *dims,
                      hsize_t *max0)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), s = H5Dget_space(d);
    cr_assert(d >= 0 && s >= 0, "no dataset %s", name);
    hsize_t max[3];
    int nd = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, max);
    *max0 = max[0];
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    void *buf = calloc(n + 1, elem);
    cr_assert(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "cannot read %s", name);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

static void check_b(hid_t f, uint32_t present)
{
    hid_t mt = H5Tvlen_create(H5T_NATIVE_UINT8);
    hsize_t dims[1], max0;
    hvl_t *b = read_all(f, "b", mt, sizeof(hvl_t), dims, &max0);
    cr_assert_eq(dims[0], NROWS);
    for (uint64_t r = 0; r < NROWS; r++) {
        size_t want = row_in(present, r) ? b_len(r) : 0;
        cr_assert_eq(b[r].len, want, "b[%llu] has %zu bytes", (unsigned long long)r, b[r].len);
        for (size_t j = 0; j < want; j++)
            cr_assert_eq(((uint8_t *)b[r].p)[j], b_at(r, j), "b[%llu][%zu]",
                         (unsigned long long)r, j);
    }
    hid_t s = H5Screate_simple(1, dims, NULL);
    H5Dvlen_reclaim(mt, s, H5P_DEFAULT, b);
    H5Sclose(s);
    H5Tclose(mt);
    free(b);
}

/* Dataset name of f ends its filters with Fletcher32, as h5sink made it. */
static void check_checksummed(hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), pl = H5Dget_create_plist(d);
    int n = H5Pget_nfilters(pl);
    unsigned flags, conf[4];
    size_t nconf = 4;
    cr_assert_gt(n, 0, "%s has no filter", name);
    cr_assert_eq(H5Pget_filter2(pl, (unsigned)n - 1, &flags, &nconf, conf, 0, NULL, NULL),
                 H5Z_FILTER_FLETCHER32, "%s lost its checksum", name);
    H5Pclose(pl);
    H5Dclose(d);
}

/* Every row of the merged file: its value where a present batch wrote it, the
 * fill value (0, or no bytes) elsewhere. z must have z_rows rows. */
static void check_merged(uint32_t present, hsize_t z_rows)
{
    hid_t f = H5Fopen(dest, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "no merged file %s", dest);
    check_checksummed(f, "u");
    check_checksummed(f, "m");
    check_checksummed(f, "z");
    hsize_t dims[3], max0;
    uint64_t *u = read_all(f, "u", H5T_NATIVE_UINT64, 8, dims, &max0);
    cr_assert(dims[0] == NROWS && max0 == NROWS);
    double *m = read_all(f, "m", H5T_NATIVE_DOUBLE, 8, dims, &max0);
    cr_assert(dims[0] == NROWS && dims[1] == 3 && dims[2] == 3);
    uint32_t *z = read_all(f, "z", H5T_NATIVE_UINT32, 4, dims, &max0);
    cr_assert_eq(dims[0], z_rows);
    cr_assert_eq(max0, H5S_UNLIMITED);
    for (uint64_t r = 0; r < NROWS; r++) {
        bool in = row_in(present, r);
        cr_assert_eq(u[r], in ? u_at(r) : 0, "u[%llu]", (unsigned long long)r);
        for (int e = 0; e < 9; e++)
            cr_assert_eq(m[r * 9 + (uint64_t)e], in ? m_at(r, e) : 0.0, "m[%llu][%d]",
                         (unsigned long long)r, e);
        if (r < z_rows)
            cr_assert_eq(z[r], in ? z_at(r) : 0, "z[%llu]", (unsigned long long)r);
    }
    check_b(f, present);
    free(u);
    free(m);
    free(z);
    H5Fclose(f);
}

/* The root attributes are rank 0's, and only those; nothing but row datasets
 * came from the other parts. */
static void check_root_attrs(void)
{
    hid_t f = H5Fopen(dest, H5F_ACC_RDONLY, H5P_DEFAULT);
    uint64_t count = 0;
    char *job = NULL;
    hid_t a = H5Aopen(f, "count", H5P_DEFAULT);
    cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_UINT64, &count) >= 0);
    H5Aclose(a);
    a = H5Aopen(f, "job", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    cr_assert(a >= 0 && H5Aread(a, t, &job) >= 0);
    cr_assert_eq(count, NROWS);
    cr_assert_str_eq(job, "demo job");
    cr_assert_eq(H5Aexists(f, "stray"), 0, "another rank's root attribute leaked in");
    cr_assert_eq(H5Lexists(f, "group", H5P_DEFAULT), 0, "another rank's group leaked in");
    cr_assert_eq(H5Lexists(f, "scalar", H5P_DEFAULT), 0, "a scalar dataset is not a row dataset");
    H5free_memory(job);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    char *buf = malloc(*len + 1);
    cr_assert_eq(fread(buf, 1, *len, fp), *len);
    fclose(fp);
    return buf;
}

static void check_unchanged(const char *path, const char *before, size_t len)
{
    size_t now_len;
    char *now = slurp(path, &now_len);
    cr_assert(now_len == len && memcmp(now, before, len) == 0, "%s changed", path);
    free(now);
}

static sl_status merge(int nparts)
{
    const char *p[MAX_PARTS] = {part[0], part[1], part[2], part[3]};
    return sl__h5merge(dest, p, nparts, ranges, nranges, &err);
}

Test(h5merge, interleaved_ranks_give_every_row_and_keep_rank0_attributes)
{
    for (int k = 0; k < 3; k++) {
        write_part(part[k], &(part_opts){.batches = dealt(k, 3), .attrs = k == 0,
                                         .strays = k == 1});
        set_ranges(k, dealt(k, 3));
    }
    size_t len1, len2;
    char *before1 = slurp(part[1], &len1), *before2 = slurp(part[2], &len2);
    cr_assert_eq(merge(3), SL_OK, "%s", err.msg);
    /* z of rank 0 ended with batch 6 at row 70; rank 2's batch 8 grows it to 85. */
    check_merged(ALL_BATCHES, NROWS);
    check_root_attrs();
    cr_assert_neq(access(part[0], F_OK), 0, "rank 0's part was renamed, not copied");
    check_unchanged(part[1], before1, len1);
    check_unchanged(part[2], before2, len2);
    free(before1);
    free(before2);
}

Test(h5merge, rank0_without_datasets_takes_them_whole_from_the_others)
{
    write_part(part[0], &(part_opts){.attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(0, 2), .strays = true});
    write_part(part[2], &(part_opts){.batches = dealt(1, 2)});
    set_ranges(1, dealt(0, 2));
    set_ranges(2, dealt(1, 2));
    cr_assert_eq(merge(3), SL_OK, "%s", err.msg);
    check_merged(ALL_BATCHES, NROWS);
    check_root_attrs();
    hid_t f = H5Fopen(dest, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t b = H5Dopen2(f, "b", H5P_DEFAULT), a = H5Aopen(b, "sluice_type", H5P_DEFAULT);
    char tag[8] = "";
    hid_t at = H5Aget_type(a);
    cr_assert(H5Aread(a, at, tag) >= 0);
    cr_assert_str_eq(tag, "bytes", "the copy keeps the dataset's attributes");
    hid_t z = H5Dopen2(f, "z", H5P_DEFAULT), pl = H5Dget_create_plist(z);
    unsigned flags, conf[4];
    size_t nconf = 4;
    cr_assert_eq(H5Pget_nfilters(pl), 2);
    cr_assert_eq(H5Pget_filter2(pl, 0, &flags, &nconf, conf, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
    H5Pclose(pl);
    H5Dclose(z);
    H5Tclose(at);
    H5Aclose(a);
    H5Dclose(b);
    H5Fclose(f);
}

Test(h5merge, missing_parts_are_skipped)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 3), .attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(1, 3)});
    set_ranges(1, dealt(1, 3));
    set_ranges(3, dealt(2, 3)); /* ranges for a file that is not there */
    const char *p[4] = {part[0], part[1], NULL, "/nonexistent/dir/part3.h5"};
    cr_assert_eq(sl__h5merge(dest, p, 4, ranges, nranges, &err), SL_OK, "%s", err.msg);
    /* Rank 1's batch 7 ends at 80: z is as long as the present rows. */
    check_merged(dealt(0, 3) | dealt(1, 3), 80);
    check_root_attrs();
}

Test(h5merge, mismatched_type_names_the_dataset_and_both_files, .init = setup_capture)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 2), .attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(1, 2), .u_type = H5T_STD_U32LE});
    set_ranges(1, dealt(1, 2));
    cr_assert_eq(merge(2), SL_EINVAL);
    char want[1024];
    snprintf(want, sizeof want, "dataset 'u': type u32 in '%s' does not match u64 in '%s'",
             part[1], dest);
    cr_assert_str_eq(err.msg, want);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(h5merge, mismatched_row_shape_names_the_dataset)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 2), .attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(1, 2), .m_cols = 4});
    set_ranges(1, dealt(1, 2));
    cr_assert_eq(merge(2), SL_EINVAL);
    char want[1024];
    snprintf(want, sizeof want,
             "dataset 'm': shape (rows, 3, 4) in '%s' does not match (rows, 3, 3) in '%s'", part[1],
             dest);
    cr_assert_str_eq(err.msg, want);
}

Test(h5merge, range_beyond_a_fixed_size_dataset_fails)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 2), .attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(1, 2), .rows = 100});
    set_ranges(1, dealt(1, 2));
    range_buf[1][nranges[1]++] = (sl__row_range){88, 95};
    cr_assert_eq(merge(2), SL_ERANGE);
    char want[1024];
    snprintf(want, sizeof want, "%s: dataset 'b' has a fixed 85 rows but '%s' has rows up to 95",
             dest, part[1]);
    cr_assert_str_eq(err.msg, want);
}

Test(h5merge, unreadable_part_is_one_line_and_prints_nothing, .init = setup_capture)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 2), .attrs = true});
    FILE *fp = fopen(part[1], "w");
    cr_assert(fp);
    fputs("not an HDF5 file\n", fp);
    fclose(fp);
    set_ranges(1, dealt(1, 2));
    cr_assert_eq(merge(2), SL_EIO);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open the part file: ", part[1]);
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_null(strstr(err.msg, "unknown HDF5 error"), "no HDF5 reason: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "%s", err.msg);
    H5E_auto2_t fn = NULL;
    void *data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    cr_assert_not_null(fn, "HDF5's error printing was not restored");
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(h5merge, existing_dest_is_refused_and_left_alone)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 1), .attrs = true});
    FILE *fp = fopen(dest, "w");
    cr_assert(fp);
    fputs("precious", fp);
    fclose(fp);
    cr_assert_eq(merge(1), SL_EEXIST);
    cr_assert(strstr(err.msg, dest), "%s", err.msg);
    cr_assert_eq(access(part[0], F_OK), 0, "rank 0's part must not move");
    check_unchanged(dest, "precious", 8);
}

Test(h5merge, missing_rank0_part_is_not_found)
{
    cr_assert_eq(merge(1), SL_ENOTFOUND);
    cr_assert(strstr(err.msg, part[0]), "%s", err.msg);
    cr_assert_neq(access(dest, F_OK), 0);
}

Test(h5merge, reversed_range_is_refused_before_anything_moves)
{
    write_part(part[0], &(part_opts){.batches = dealt(0, 2), .attrs = true});
    write_part(part[1], &(part_opts){.batches = dealt(1, 2)});
    range_buf[1][0] = (sl__row_range){30, 20};
    nranges[1] = 1;
    cr_assert_eq(merge(2), SL_EINVAL);
    cr_assert(strstr(err.msg, "rank 1: row range 0 is [30, 20)"), "%s", err.msg);
    cr_assert_eq(access(part[0], F_OK), 0);
    cr_assert_neq(access(dest, F_OK), 0);
}

/* Rows of 2 MiB: a block holds 8 of them, so rank 1's 18 rows take three. */
#define BIG_ROW ((size_t)2 << 20)
#define BIG_ROWS 24

static uint8_t big_at(uint64_t r, size_t i) { return (uint8_t)(r * 131 + i * 7 + (i >> 12)); }

static void write_big(const char *path, const sl__row_range *rows, int n)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {BIG_ROWS, BIG_ROW}, one[2] = {1, BIG_ROW};
    hid_t fs = H5Screate_simple(2, dims, NULL), ms = H5Screate_simple(2, one, NULL);
    hid_t d = H5Dcreate2(f, "big", H5T_STD_U8LE, fs, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0);
    uint8_t *buf = malloc(BIG_ROW);
    for (int k = 0; k < n; k++)
        for (uint64_t r = rows[k].lo; r < rows[k].hi; r++) {
            for (size_t i = 0; i < BIG_ROW; i++)
                buf[i] = big_at(r, i);
            hsize_t start[2] = {r, 0};
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
            cr_assert(H5Dwrite(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, buf) >= 0);
        }
    free(buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    cr_assert(H5Fclose(f) >= 0);
}

Test(h5merge, long_range_is_copied_in_several_blocks)
{
    const sl__row_range mine[2] = {{0, 3}, {21, BIG_ROWS}}, theirs[1] = {{3, 21}};
    write_big(part[0], mine, 2);
    write_big(part[1], theirs, 1);
    range_buf[1][0] = theirs[0];
    nranges[1] = 1;
    cr_assert_eq(merge(2), SL_OK, "%s", err.msg);
    hid_t f = H5Fopen(dest, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "big", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t one[2] = {1, BIG_ROW};
    hid_t ms = H5Screate_simple(2, one, NULL);
    uint8_t *buf = malloc(BIG_ROW);
    for (uint64_t r = 0; r < BIG_ROWS; r++) {
        hsize_t start[2] = {r, 0};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
        cr_assert(H5Dread(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, buf) >= 0);
        size_t bad = 0;
        while (bad < BIG_ROW && buf[bad] == big_at(r, bad))
            bad++;
        cr_assert_eq(bad, BIG_ROW, "row %llu differs at byte %zu", (unsigned long long)r, bad);
    }
    free(buf);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
}

static void check_ranges(const sl__row_range *got, size_t n, const sl__row_range *want, size_t nw)
{
    cr_assert_eq(n, nw, "%zu ranges, want %zu", n, nw);
    for (size_t i = 0; i < n; i++)
        cr_assert(got[i].lo == want[i].lo && got[i].hi == want[i].hi,
                  "range %zu is [%llu, %llu), want [%llu, %llu)", i, (unsigned long long)got[i].lo,
                  (unsigned long long)got[i].hi, (unsigned long long)want[i].lo,
                  (unsigned long long)want[i].hi);
}

Test(row_ranges, coalesce_sorts_and_joins_touching_and_overlapping)
{
    sl__row_range r[] = {{20, 30}, {0, 10}, {50, 60}, {10, 15}, {25, 40}, {60, 61}};
    const sl__row_range want[] = {{0, 15}, {20, 40}, {50, 61}};
    check_ranges(r, sl__row_ranges_coalesce(r, 6), want, 3);
}

Test(row_ranges, coalesce_swallows_contained_and_same_start_ranges)
{
    sl__row_range r[] = {{10, 20}, {0, 100}, {0, 5}, {99, 100}, {200, 300}, {200, 250}};
    const sl__row_range want[] = {{0, 100}, {200, 300}};
    check_ranges(r, sl__row_ranges_coalesce(r, 6), want, 2);
}

Test(row_ranges, coalesce_drops_empty_ranges)
{
    sl__row_range r[] = {{5, 5}, {3, 4}, {9, 2}, {4, 4}};
    const sl__row_range want[] = {{3, 4}};
    check_ranges(r, sl__row_ranges_coalesce(r, 4), want, 1);
    sl__row_range e[] = {{7, 7}};
    cr_assert_eq(sl__row_ranges_coalesce(e, 1), 0);
    cr_assert_eq(sl__row_ranges_coalesce(NULL, 0), 0);
}

Test(row_ranges, coalesce_keeps_disjoint_ranges_apart)
{
    sl__row_range r[] = {{30, 40}, {10, 20}, {21, 29}};
    const sl__row_range want[] = {{10, 20}, {21, 29}, {30, 40}};
    check_ranges(r, sl__row_ranges_coalesce(r, 3), want, 3);
}
