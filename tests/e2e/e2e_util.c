/* tests/e2e/e2e_util.c - see e2e_util.h. */
#include "e2e_util.h"

#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *e2e_tmpdir(void)
{
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/sluice-e2e-XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp failed");
    return dir;
}

int e2e_sluice(const char *env, const char *args, char *errbuf, size_t errcap)
{
    char errfile[] = "/tmp/sluice-e2e-err-XXXXXX";
    int fd = mkstemp(errfile);
    cr_assert(fd >= 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s/bin/sluice' %s >/dev/null 2>'%s'",
             SL_TEST_SOURCE_DIR, env ? env : "", SL_TEST_BINARY_DIR, args, errfile);
    int rc = system(cmd);
    if (errbuf && errcap) {
        errbuf[0] = '\0';
        FILE *f = fopen(errfile, "r");
        if (f) {
            size_t n = fread(errbuf, 1, errcap - 1, f);
            errbuf[n] = '\0';
            fclose(f);
        }
    }
    unlink(errfile);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void *read_all(const char *file, const char *dset, hid_t mtype, size_t esize, size_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", file);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    cr_assert(d >= 0, "%s has no dataset %s", file, dset);
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    void *buf = calloc((size_t)np + 1, esize);
    cr_assert(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "read %s", dset);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    *n = (size_t)np;
    return buf;
}

uint64_t *e2e_read_u64(const char *file, const char *dset, size_t *n)
{
    return read_all(file, dset, H5T_NATIVE_UINT64, sizeof(uint64_t), n);
}

double *e2e_read_f64(const char *file, const char *dset, size_t *n)
{
    return read_all(file, dset, H5T_NATIVE_DOUBLE, sizeof(double), n);
}

static void read_attr(const char *file, const char *name, hid_t mtype, void *out)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", file);
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    cr_assert(a >= 0, "%s has no attribute %s", file, name);
    cr_assert(H5Aread(a, mtype, out) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

uint64_t e2e_attr_u64(const char *file, const char *name)
{
    uint64_t v = 0;
    read_attr(file, name, H5T_NATIVE_UINT64, &v);
    return v;
}

double e2e_attr_f64(const char *file, const char *name)
{
    double v = 0;
    read_attr(file, name, H5T_NATIVE_DOUBLE, &v);
    return v;
}

char *e2e_read_bytes_row(const char *file, const char *dset, size_t row)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    cr_assert(d >= 0, "no dataset %s", dset);
    hid_t sp = H5Dget_space(d);
    hsize_t start = row, count = 1;
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &count, NULL);
    hid_t ms = H5Screate_simple(1, &count, NULL);
    hid_t vt = H5Tvlen_create(H5T_NATIVE_UINT8);
    hvl_t v;
    cr_assert(H5Dread(d, vt, ms, sp, H5P_DEFAULT, &v) >= 0);
    char *s = malloc(v.len + 1);
    memcpy(s, v.p, v.len);
    s[v.len] = '\0';
    H5Dvlen_reclaim(vt, ms, H5P_DEFAULT, &v);
    H5Tclose(vt);
    H5Sclose(ms);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return s;
}

typedef struct {
    hid_t other;
    int same;
    char *why;
    size_t whycap;
    int count;
} cmp_ctx;

static int compare_one(hid_t d1, hid_t d2, const char *name, cmp_ctx *c)
{
    hid_t t1 = H5Dget_type(d1), t2 = H5Dget_type(d2);
    hid_t s1 = H5Dget_space(d1), s2 = H5Dget_space(d2);
    int ok = H5Tequal(t1, t2) > 0 && H5Sextent_equal(s1, s2) > 0;
    if (ok && H5Tis_variable_str(t1) > 0) { /* the strings, not their pointers */
        size_t n = (size_t)H5Sget_simple_extent_npoints(s1);
        char **r1 = calloc(n + 1, sizeof *r1), **r2 = calloc(n + 1, sizeof *r2);
        H5Dread(d1, t1, H5S_ALL, H5S_ALL, H5P_DEFAULT, r1);
        H5Dread(d2, t2, H5S_ALL, H5S_ALL, H5P_DEFAULT, r2);
        for (size_t i = 0; ok && i < n; i++)
            ok = r1[i] && r2[i] && strcmp(r1[i], r2[i]) == 0;
        H5Dvlen_reclaim(t1, s1, H5P_DEFAULT, r1);
        H5Dvlen_reclaim(t2, s2, H5P_DEFAULT, r2);
        free(r1);
        free(r2);
    } else if (ok && H5Tget_class(t1) != H5T_VLEN) {
        size_t bytes = (size_t)H5Sget_simple_extent_npoints(s1) * H5Tget_size(t1);
        char *b1 = malloc(bytes + 1), *b2 = malloc(bytes + 1);
        H5Dread(d1, t1, H5S_ALL, H5S_ALL, H5P_DEFAULT, b1);
        H5Dread(d2, t2, H5S_ALL, H5S_ALL, H5P_DEFAULT, b2);
        ok = memcmp(b1, b2, bytes) == 0;
        free(b1);
        free(b2);
    }
    if (!ok)
        snprintf(c->why, c->whycap, "dataset %s differs", name);
    H5Tclose(t1);
    H5Tclose(t2);
    H5Sclose(s1);
    H5Sclose(s2);
    return ok;
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    cmp_ctx *c = op;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    bool group = o >= 0 && H5Iget_type(o) == H5I_GROUP;
    if (o >= 0)
        H5Oclose(o);
    if (group && strcmp(name, "stats") == 0)
        return 0; /* /stats: timings, which differ from run to run (docs/stats.md) */
    if (group) { /* e.g. /deadletters: compare what it holds */
        hid_t g2 = H5Lexists(c->other, name, H5P_DEFAULT) > 0
                       ? H5Gopen2(c->other, name, H5P_DEFAULT)
                       : -1;
        if (g2 < 0) {
            snprintf(c->why, c->whycap, "group %s missing in the second file", name);
            c->same = 0;
            return 0;
        }
        hid_t g1 = H5Gopen2(g, name, H5P_DEFAULT), outer = c->other;
        c->other = g2;
        H5Literate(g1, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, c);
        c->other = outer;
        H5Gclose(g1);
        H5Gclose(g2);
        return 0;
    }
    hid_t d1 = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t d2 = H5Lexists(c->other, name, H5P_DEFAULT) > 0 ? H5Dopen2(c->other, name, H5P_DEFAULT) : -1;
    if (d2 < 0) {
        snprintf(c->why, c->whycap, "dataset %s missing in the second file", name);
        c->same = 0;
    } else if (!compare_one(d1, d2, name, c))
        c->same = 0;
    c->count++;
    H5Dclose(d1);
    if (d2 >= 0)
        H5Dclose(d2);
    return 0;
}

static hsize_t count_links(hid_t f)
{
    H5G_info_t gi;
    H5Gget_info(f, &gi);
    return gi.nlinks - (H5Lexists(f, "stats", H5P_DEFAULT) > 0); /* /stats is not compared */
}

int e2e_same_datasets(const char *a, const char *b, char *why, size_t whycap)
{
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(fa >= 0 && fb >= 0, "cannot open %s or %s", a, b);
    cmp_ctx c = {fb, 1, why, whycap, 0};
    H5Literate(fa, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &c);
    if (c.same && count_links(fa) != count_links(fb)) {
        snprintf(why, whycap, "the files hold different numbers of datasets");
        c.same = 0;
    }
    H5Fclose(fa);
    H5Fclose(fb);
    return c.same && c.count > 0;
}

int e2e_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
