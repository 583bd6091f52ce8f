/* matmul_kernel.h - C = A*B for square row-major matrices, and C's summaries.
 *
 * Pure, sequential and reentrant as far as BLAS is: the caller keeps BLAS
 * single-threaded inside pipeline tasks (openblas_set_num_threads). */
#ifndef SL_MATMUL_KERNEL_H
#define SL_MATMUL_KERNEL_H

#include <stddef.h>

/* c = a * b, all n x n row-major (cblas_dgemm). c must not alias a or b. */
void sl_matmul(size_t n, const double *restrict a, const double *restrict b,
               double *restrict c);

/* Sum of the diagonal of the n x n matrix c. */
double sl_mat_trace(size_t n, const double *restrict c);

/* Frobenius norm sqrt(sum c_ij^2) of the n x n matrix c. */
double sl_mat_frobenius(size_t n, const double *restrict c);

#endif
