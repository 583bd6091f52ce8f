/* tests/e2e/test_chain.c - jobs that chain through files: h5sink's output is
 * h5source's input, with names, types, shapes and row order kept, and a
 * matmul over stored matrices gives the products of the one-pipeline job.
 * A damaged link of the chain (a chunk index, a chunk's bytes, rows left as
 * holes by dead letters) stops the next job with one line saying so. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "e2e_util.h"

static char errbuf[4096];

static void run_ok(const char *args)
{
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 0, "sluice %s -> exit %d: %s", args, rc, errbuf);
}

/* The shipped chain, at a small size: stored then multiplied equals made and
 * multiplied in one pipeline, and both equal a naive product. */
Test(chain, matmul_file_equals_matmul_in_one_pipeline, .timeout = 300)
{
    const char *t = e2e_tmpdir();
    char m[512], p[512], q[512], args[2048];
    snprintf(m, sizeof m, "%s/matrices.h5", t);
    snprintf(p, sizeof p, "%s/products.h5", t);
    snprintf(q, sizeof q, "%s/direct.h5", t);
    snprintf(args, sizeof args, "run jobs/matgen-store.yaml -t 2 -o %s matgen.n=20 matgen.count=9",
             m);
    run_ok(args);
    snprintf(args, sizeof args,
             "run jobs/matmul-file.yaml -t 2 -o %s h5source.file=%s h5source.batch=2 "
             "matmul.store=full",
             p, m);
    run_ok(args);
    snprintf(args, sizeof args,
             "run jobs/matmul.yaml -t 2 -o %s matgen.n=20 matgen.count=9 matmul.store=full", q);
    run_ok(args);
    char why[512];
    cr_assert(e2e_same_datasets(p, q, why, sizeof why), "%s", why);
    /* Totals of floats are added in whatever order instances finish: equal
     * up to rounding, where the datasets above are equal bit for bit. */
    double st1 = e2e_attr_f64(p, "sum_trace"), st2 = e2e_attr_f64(q, "sum_trace");
    cr_assert(fabs(st1 - st2) <= 1e-12 * (1 + fabs(st2)), "sum_trace %.17g vs %.17g", st1, st2);

    /* Independent check of the stored inputs against the products. */
    const size_t N = 20, COUNT = 9;
    size_t na, nb, nc;
    double *a = e2e_read_f64(m, "a", &na), *b = e2e_read_f64(m, "b", &nb);
    double *c = e2e_read_f64(p, "c", &nc);
    cr_assert_eq(na, COUNT * N * N);
    cr_assert_eq(nb, na);
    cr_assert_eq(nc, na);
    for (size_t k = 0; k < COUNT; k++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                double s = 0;
                for (size_t l = 0; l < N; l++)
                    s += a[k * N * N + i * N + l] * b[k * N * N + l * N + j];
                double got = c[k * N * N + i * N + j];
                cr_assert(fabs(s - got) <= 1e-12 * (1 + fabs(s)), "C[%zu][%zu][%zu]: %g vs %g",
                          k, i, j, s, got);
            }
    free(a);
    free(b);
    free(c);
}

/* Every column type h5sink writes comes back from h5source unchanged: the
 * fib job's u64 n, u64 digits and mod, and variable-length decimal values. */
Test(chain, h5sink_to_h5source_round_trip_keeps_everything)
{
    const char *t = e2e_tmpdir();
    char f1[512], f2[512], job[512], args[2048];
    snprintf(f1, sizeof f1, "%s/fib.h5", t);
    snprintf(f2, sizeof f2, "%s/copy.h5", t);
    snprintf(args, sizeof args,
             "run jobs/fib.yaml -t 2 -o %s range.stop=1500 range.batch=64 fib.store=full", f1);
    run_ok(args);
    snprintf(job, sizeof job, "%s/copy.yaml", t);
    FILE *j = fopen(job, "w");
    cr_assert(j);
    fprintf(j, "job: copy\nstages:\n  - stage: h5source\n    params: {file: %s, batch: 100}\n"
               "  - stage: h5sink\n",
            f1);
    fclose(j);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, f2);
    run_ok(args);
    char why[512];
    cr_assert(e2e_same_datasets(f1, f2, why, sizeof why), "%s", why);
    char *v = e2e_read_bytes_row(f2, "value", 100);
    cr_assert_str_eq(v, "354224848179261915075"); /* F(100) */
    free(v);
}

/* A bad input file stops the job before anything is written: one line
 * naming the file, exit 2, no output. */
Test(chain, missing_or_broken_input_file_is_refused_before_output)
{
    const char *t = e2e_tmpdir();
    char out[512], bad[512], args[2048];
    snprintf(out, sizeof out, "%s/never.h5", t);
    snprintf(args, sizeof args, "run jobs/matmul-file.yaml -o %s h5source.file=%s/nope.h5", out,
             t);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert(strstr(errbuf, "nope.h5"), "%s", errbuf);
    cr_assert(!e2e_file_exists(out));
    /* Not an HDF5 file at all. */
    snprintf(bad, sizeof bad, "%s/text.h5", t);
    FILE *f = fopen(bad, "w");
    cr_assert(f);
    fputs("these are not the matrices you are looking for\n", f);
    fclose(f);
    snprintf(args, sizeof args, "run jobs/matmul-file.yaml -o %s h5source.file=%s", out, bad);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert(strstr(errbuf, "text.h5"), "%s", errbuf);
    cr_assert(!e2e_file_exists(out));
    /* A dataset the file does not have. */
    char m[512];
    snprintf(m, sizeof m, "%s/m.h5", t);
    snprintf(args, sizeof args, "run jobs/matgen-store.yaml -o %s matgen.n=4 matgen.count=3", m);
    run_ok(args);
    snprintf(args, sizeof args,
             "run jobs/matmul-file.yaml -o %s h5source.file=%s h5source.columns=a=/a,b=/B", out,
             m);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert(strstr(errbuf, "/B"), "%s", errbuf);
    cr_assert(!e2e_file_exists(out));
}

/* Writes a little-endian f64 dataset called name of the given shape into
 * the open file f, values 0, 1, 2, ... */
static void put_f64(hid_t f, const char *name, int rank, const hsize_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < rank; k++)
        n *= (size_t)dims[k];
    double *v = malloc(n * sizeof *v);
    cr_assert(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)i;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    free(v);
}

/* Matrices the next stage cannot use (3x4, not square): the file is fine for
 * h5source, and matmul refuses the columns it would get before the run,
 * naming the column, its shape and its file and dataset; no output. */
Test(chain, matrices_of_the_wrong_shape_fail_in_the_stage_that_needs_them)
{
    const char *t = e2e_tmpdir();
    char in[512], out[512], args[2048];
    snprintf(in, sizeof in, "%s/oblong.h5", t);
    snprintf(out, sizeof out, "%s/never.h5", t);
    hid_t f = H5Fcreate(in, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    const hsize_t dims[3] = {5, 3, 4};
    put_f64(f, "a", 3, dims);
    put_f64(f, "b", 3, dims);
    H5Fclose(f);
    /* Found before the run (and by validate): one line naming the stage
     * entry, the column, its shape and the file and dataset it comes from. */
    char want[1024];
    snprintf(want, sizeof want,
             "sluice: jobs/matmul-file.yaml:10:5: stage 'matmul': column 'a' holds 3 x 4 f64, "
             "from %s:/a: not square matrices\n",
             in);
    snprintf(args, sizeof args, "run jobs/matmul-file.yaml -o %s h5source.file=%s", out, in);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert_str_eq(errbuf, want);
    cr_assert(!e2e_file_exists(out));
    snprintf(args, sizeof args, "validate jobs/matmul-file.yaml h5source.file=%s", in);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert_str_eq(errbuf, want);
}

/* Square matrices of two sizes: the message names both columns, their
 * shapes and their datasets. */
Test(chain, matrices_of_two_sizes_are_refused_naming_both_datasets)
{
    const char *t = e2e_tmpdir();
    char in[512], out[512], args[2048], want[2048];
    snprintf(in, sizeof in, "%s/two-sizes.h5", t);
    snprintf(out, sizeof out, "%s/never.h5", t);
    hid_t f = H5Fcreate(in, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    const hsize_t da[3] = {2, 3, 3}, db[3] = {2, 4, 4};
    put_f64(f, "a", 3, da);
    put_f64(f, "b", 3, db);
    H5Fclose(f);
    snprintf(want, sizeof want,
             "sluice: jobs/matmul-file.yaml:10:5: stage 'matmul': columns 'a' (3 x 3 f64, from "
             "%s:/a) and 'b' (4 x 4 f64, from %s:/b) differ in shape\n",
             in, in);
    snprintf(args, sizeof args, "run jobs/matmul-file.yaml -o %s h5source.file=%s", out, in);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert_str_eq(errbuf, want);
    cr_assert(!e2e_file_exists(out));
}

/* A column of the wrong type reaching a stage that needs integers: named
 * with its dataset, before the run. */
Test(chain, a_float_column_into_fib_is_refused_before_the_run)
{
    const char *t = e2e_tmpdir();
    char in[512], out[512], job[512], args[2048], want[2048];
    snprintf(in, sizeof in, "%s/floats.h5", t);
    snprintf(out, sizeof out, "%s/never.h5", t);
    snprintf(job, sizeof job, "%s/fib-file.yaml", t);
    hid_t f = H5Fcreate(in, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    const hsize_t dims[1] = {4};
    put_f64(f, "n", 1, dims);
    H5Fclose(f);
    FILE *j = fopen(job, "w");
    cr_assert(j);
    fprintf(j, "job: fib-file\nstages:\n  - stage: h5source\n    params: {file: %s}\n"
               "  - stage: fib\n  - stage: h5sink\n",
            in);
    fclose(j);
    snprintf(want, sizeof want,
             "sluice: %s:5:5: stage 'fib': column 'n' is f64, from %s:/n, needs u64\n", job, in);
    snprintf(args, sizeof args, "run %s -o %s", job, out);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert_str_eq(errbuf, want);
    cr_assert(!e2e_file_exists(out));
}

/* Overwrites n bytes at off of file with 0xA5. */
static void scribble(const char *file, long off, size_t n)
{
    FILE *f = fopen(file, "r+b");
    cr_assert(f, "cannot open %s", file);
    cr_assert_eq(fseek(f, off, SEEK_SET), 0);
    for (size_t i = 0; i < n; i++)
        fputc(0xa5, f);
    fclose(f);
}

/* Offset of the first `sig` (4 bytes) in file, or -1. */
static long find_sig(const char *file, const char *sig)
{
    FILE *f = fopen(file, "rb");
    cr_assert(f, "cannot open %s", file);
    long at = -1, i = 0;
    char w[4] = {0};
    for (int c; at < 0 && (c = fgetc(f)) != EOF; i++) {
        memmove(w, w + 1, 3);
        w[3] = (char)c;
        if (i >= 3 && memcmp(w, sig, 4) == 0)
            at = i - 3;
    }
    fclose(f);
    return at;
}

/* The file offset of chunk idx of dataset name. */
static long chunk_offset(const char *file, const char *name, hsize_t idx)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), fs = H5Dget_space(d);
    hsize_t off[3], size;
    unsigned mask;
    haddr_t addr = HADDR_UNDEF;
    cr_assert(H5Dget_chunk_info(d, fs, idx, off, &mask, &addr, &size) >= 0, "%s: %s", file, name);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    return (long)addr;
}

/* Stored matrices whose chunk index is damaged: `sluice validate` already
 * refuses them, naming file and dataset. Whose chunk bytes are damaged: the
 * index is fine, so the batch that reads them fails, on h5sink's checksum. */
Test(chain, damaged_stored_matrices_are_refused_naming_file_and_dataset, .timeout = 120)
{
    const char *t = e2e_tmpdir();
    char idx[512], raw[512], out[512], args[2048];
    snprintf(idx, sizeof idx, "%s/idx.h5", t);
    snprintf(raw, sizeof raw, "%s/raw.h5", t);
    snprintf(out, sizeof out, "%s/never.h5", t);
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args,
                 "run jobs/matgen-store.yaml -o %s matgen.n=4 matgen.count=9 "
                 "h5sink.chunk_rows=2",
                 k ? raw : idx);
        run_ok(args);
    }
    long at = find_sig(idx, "FAHD"); /* a fixed array: 5 chunks of 2 pairs */
    cr_assert_gt(at, 0);
    scribble(idx, at + 8, 4);
    const char *cmds[2] = {"validate", "run -o"};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "%s%s%s jobs/matmul-file.yaml h5source.file=%s", cmds[k],
                 k ? " " : "", k ? out : "", idx);
        cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
        cr_assert(strstr(errbuf, "idx.h5: dataset '/"), "%s", errbuf);
        cr_assert(strstr(errbuf, "': cannot read the chunk index: incorrect metadata checksum"),
                  "%s", errbuf);
        cr_assert(!e2e_file_exists(out));
    }
    scribble(raw, chunk_offset(raw, "b", 1) + 100, 8); /* pairs 2 and 3 */
    snprintf(args, sizeof args, "run jobs/matmul-file.yaml -t 2 -o %s h5source.file=%s", out,
             raw);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 1, "%s", errbuf);
    cr_assert(strstr(errbuf, "stage 'h5source', batch "), "%s", errbuf);
    cr_assert(strstr(errbuf, "raw.h5: dataset '/b': cannot read rows "), "%s", errbuf);
    cr_assert(strstr(errbuf, ": checksum mismatch (Fletcher32): the chunk on disk is not what "
                             "was written"),
              "%s", errbuf);
    cr_assert(!e2e_file_exists(out));
}

/* A job that dead-lettered batch 3 leaves rows 30..39 as zeros; the next job
 * must not take them for data unless told to. */
Test(chain, output_with_dead_letters_is_refused_unless_holes_are_allowed, .timeout = 120)
{
    const char *t = e2e_tmpdir();
    char job[512], first[512], second[512], args[2048];
    snprintf(job, sizeof job, "%s/holes.yaml", t);
    snprintf(first, sizeof first, "%s/first.h5", t);
    snprintf(second, sizeof second, "%s/second.h5", t);
    FILE *j = fopen(job, "w");
    cr_assert(j);
    fprintf(j, "job: holes\nstages:\n"
               "  - stage: range\n    params: {stop: 100, batch: 10}\n"
               "  - stage: faulty\n    on_error: deadletter\n    params: {fail_seqs: 3}\n"
               "  - stage: h5sink\n");
    fclose(j);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, first);
    run_ok(args);
    char cjob[512];
    snprintf(cjob, sizeof cjob, "%s/copy.yaml", t);
    j = fopen(cjob, "w");
    cr_assert(j);
    fprintf(j, "job: copy\nstages:\n  - stage: h5source\n    params: {file: %s, batch: 10}\n"
               "  - stage: h5sink\n",
            first);
    fclose(j);
    snprintf(args, sizeof args, "run %s -o %s", cjob, second);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 2, "%s", errbuf);
    cr_assert(strstr(errbuf, "first.h5: 1 batch of the job that wrote it was dead-lettered "
                             "(listed in /deadletters)"),
              "%s", errbuf);
    cr_assert(strstr(errbuf, "--resume --retry-deadletters"), "%s", errbuf);
    cr_assert(!e2e_file_exists(second));
    snprintf(args, sizeof args, "run %s -o %s h5source.allow_holes=true", cjob, second);
    run_ok(args);
    size_t n = 0;
    uint64_t *v = e2e_read_u64(second, "n", &n);
    cr_assert_eq(n, 100);
    for (size_t r = 0; r < n; r++)
        cr_assert_eq(v[r], r / 10 == 3 ? 0 : r, "row %zu", r);
    free(v);
}
