/* matmul_kernel.c - C = A*B through cblas_dgemm, trace and Frobenius norm. */
#include "matmul_kernel.h"

#include <math.h>

#include <cblas.h>

void sl_matmul(size_t n, const double *restrict a, const double *restrict b,
               double *restrict c)
{
    blasint m = (blasint)n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0, a, m, b, m, 0.0, c, m);
}

double sl_mat_trace(size_t n, const double *restrict c)
{
    double t = 0.0;
    for (size_t i = 0; i < n; i++)
        t += c[i * n + i];
    return t;
}

double sl_mat_frobenius(size_t n, const double *restrict c)
{
    /* Four partial sums: shorter dependency chains, slightly less rounding. */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t len = n * n, i = 0;
    for (; i + 4 <= len; i += 4) {
        s0 += c[i] * c[i];
        s1 += c[i + 1] * c[i + 1];
        s2 += c[i + 2] * c[i + 2];
        s3 += c[i + 3] * c[i + 3];
    }
    for (; i < len; i++)
        s0 += c[i] * c[i];
    return sqrt((s0 + s1) + (s2 + s3));
}
