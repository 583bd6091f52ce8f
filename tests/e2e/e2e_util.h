/* tests/e2e/e2e_util.h - running the sluice command and reading its HDF5 output
 * back, for the end-to-end tests. */
#ifndef SL_E2E_UTIL_H
#define SL_E2E_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh directory for one test (removed by the OS's tmp cleaning only). */
const char *e2e_tmpdir(void);

/* Runs `sluice ARGS` (ARGS is a shell-quoted string) with the working
 * directory set to the source tree; stderr goes to *errbuf (first line kept).
 * Returns the exit status. env may be NULL or "VAR=value" prefix text. */
int e2e_sluice(const char *env, const char *args, char *errbuf, size_t errcap);

/* Reads a whole 1-D numeric dataset converted to the given native type.
 * Returns a malloc'd array, *n elements; aborts the test on error. */
uint64_t *e2e_read_u64(const char *file, const char *dset, size_t *n);
double *e2e_read_f64(const char *file, const char *dset, size_t *n);
/* Reads a root attribute. */
uint64_t e2e_attr_u64(const char *file, const char *name);
double e2e_attr_f64(const char *file, const char *name);
/* Reads the vlen-bytes dataset row `row` as a NUL-terminated malloc'd string. */
char *e2e_read_bytes_row(const char *file, const char *dset, size_t row);
/* True when every dataset of a equals the same dataset of b, byte for byte
 * (values and shapes), and both have the same dataset names. */
int e2e_same_datasets(const char *a, const char *b, char *why, size_t whycap);
int e2e_file_exists(const char *path);

#endif
