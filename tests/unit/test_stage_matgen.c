/* test_stage_matgen.c - the counter-based generator of the `matgen` source. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "matgen_kernel.h"

Test(stage_matgen, same_key_gives_same_values)
{
    double a[100], b[100];
    sl_matgen_fill(7, 3, 1, 100, a);
    sl_matgen_fill(7, 3, 1, 100, b);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(a[i], b[i]);
        cr_assert_eq(a[i], sl_matgen_value(7, 3, 1, (uint64_t)i));
    }
    /* Order independence: element 57 alone equals element 57 of the fill. */
    cr_assert_eq(sl_matgen_value(7, 3, 1, 57), a[57]);
}

Test(stage_matgen, different_seeds_pairs_and_matrices_differ)
{
    enum { N = 64 };
    double base[N], other[N];
    sl_matgen_fill(1, 0, 0, N, base);
    const struct { uint64_t seed, pair; unsigned which; } keys[] = {{2, 0, 0}, {1, 1, 0}, {1, 0, 1}, {0, 0, 0}};
    for (size_t k = 0; k < 4; k++) {
        sl_matgen_fill(keys[k].seed, keys[k].pair, keys[k].which, N, other);
        int same = 0;
        for (int i = 0; i < N; i++)
            same += base[i] == other[i];
        cr_assert_eq(same, 0, "key %zu shares %d of %d values", k, same, N);
    }
}

Test(stage_matgen, values_in_range_with_mean_near_zero)
{
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    sl_matgen_fill(12345, 6, 0, N, v);
    double sum = 0, sq = 0, mn = 1, mx = -1;
    for (int i = 0; i < N; i++) {
        cr_assert(v[i] >= -1.0 && v[i] < 1.0, "v[%d] = %g", i, v[i]);
        sum += v[i];
        sq += v[i] * v[i];
        mn = v[i] < mn ? v[i] : mn;
        mx = v[i] > mx ? v[i] : mx;
    }
    /* Uniform on [-1, 1): mean 0 (sd of the mean 0.0018), variance 1/3. */
    cr_assert_lt(fabs(sum / N), 0.01);
    cr_assert_lt(fabs(sq / N - 1.0 / 3.0), 0.01);
    cr_assert_lt(mn, -0.999);
    cr_assert_gt(mx, 0.999);
    free(v);
}
