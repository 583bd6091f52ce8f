/* lib/dist/reduce.c - the job's totals from the ranks' parts, on rank 0.
 *
 * Results are few (the totals of `sum`), so each rank packs its list into one
 * buffer and rank 0 gathers them all with one MPI_Gatherv and adds them up in
 * rank order: integer totals are exact whatever the rank count; floating
 * ones are sums in a fixed order for a given rank count (a different rank
 * count adds in a different order, which can change the last bits).
 *
 * Record of one result: key, '\0', one type byte, 8 value bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist_impl.h"

static sl_status gather_bytes(sl_dist *d, const void *mine, int n, char **all, int **counts,
                              int **displs, sl_error *err)
{
    *all = NULL;
    *counts = *displs = NULL;
    int *c = d->rank == 0 ? calloc((size_t)d->size, sizeof *c) : NULL;
    int *o = d->rank == 0 ? calloc((size_t)d->size, sizeof *o) : NULL;
    SL_CHECK(d->rank != 0 || (c && o), SL_ENOMEM, "out of memory");
    int rc = MPI_Gather(&n, 1, MPI_INT, c, 1, MPI_INT, 0, d->comm);
    size_t total = 0;
    for (int k = 0; d->rank == 0 && k < d->size; k++) {
        o[k] = (int)total;
        total += (size_t)c[k];
    }
    char *buf = d->rank == 0 ? malloc(total ? total : 1) : NULL;
    if (rc == MPI_SUCCESS)
        rc = MPI_Gatherv(mine, n, MPI_BYTE, buf, c, o, MPI_BYTE, 0, d->comm);
    if (rc != MPI_SUCCESS || (d->rank == 0 && !buf)) {
        free(c);
        free(o);
        free(buf);
        return SL_FAIL(rc != MPI_SUCCESS ? SL_EMPI : SL_ENOMEM,
                       "rank %d: gathering the ranks' results failed", d->rank);
    }
    *all = buf;
    *counts = c;
    *displs = o;
    return SL_OK;
}

/* Packs p's results as records (see the top of the file) into buf, or only
 * counts their bytes when buf is NULL; returns the length. */
static size_t pack_results(const sl_pipeline *p, char *buf)
{
    size_t len = 0;
    for (size_t i = 0; i < sl__run_nresults(p); i++) {
        const char *key;
        sl_type t;
        uint64_t u;
        double f;
        sl__run_result(p, i, &key, &t, &u, &f);
        size_t kl = strlen(key) + 1;
        if (buf) {
            memcpy(buf + len, key, kl);
            buf[len + kl] = (char)t;
            memcpy(buf + len + kl + 1, t == SL_TYPE_F64 ? (const void *)&f : (const void *)&u, 8);
        }
        len += kl + 1 + 8;
    }
    return len;
}

sl_status sl__reduce_results(sl_dist *d, sl_pipeline *p, sl_error *err)
{
    size_t len = pack_results(p, NULL);
    char *mine = malloc(len ? len : 1);
    SL_CHECK(mine, SL_ENOMEM, "out of memory");
    pack_results(p, mine);
    char *all;
    int *counts, *displs;
    sl_status s = gather_bytes(d, mine, (int)len, &all, &counts, &displs, err);
    free(mine);
    SL_TRY(s);
    if (d->rank != 0)
        return SL_OK;
    sl__run_clear_results(p);
    for (int k = 0; k < d->size && s == SL_OK; k++) {
        const char *r = all + displs[k], *end = r + counts[k];
        while (r < end && s == SL_OK) {
            const char *key = r;
            r += strlen(key) + 1;
            sl_type t = (sl_type)(unsigned char)*r++;
            uint64_t u = 0;
            double f = 0;
            if (t == SL_TYPE_F64)
                memcpy(&f, r, 8);
            else
                memcpy(&u, r, 8);
            r += 8;
            s = sl__run_result_add(p, key, t, u, f, err);
            if (s != SL_OK)
                sl_error_prefix(err, "rank %d", k);
        }
    }
    free(all);
    free(counts);
    free(displs);
    return s;
}

/* Record of one dead letter: seq (8 bytes), attempts (4), stage '\0',
 * error '\0'. Packs those of srcs into buf, or only counts when buf is NULL. */
static size_t pack_dead(sl_pipeline *const *srcs, size_t nsrcs, char *buf, size_t budget,
                        size_t *left_out)
{
    size_t len = 0;
    *left_out = 0;
    for (size_t k = 0; k < nsrcs; k++) {
        const sl_ctx *c = sl_pipeline_ctx(srcs[k]);
        for (size_t i = 0; i < sl_ctx_deadletter_count(c); i++) {
            uint64_t seq;
            unsigned att;
            const char *stage, *error;
            sl_ctx_deadletter_get(c, i, &seq, &stage, &att, &error);
            uint32_t a = att;
            size_t sl = strlen(stage) + 1, el = strlen(error) + 1;
            if (len + 12 + sl + el > budget) {
                ++*left_out;
                continue;
            }
            if (buf) {
                memcpy(buf + len, &seq, 8);
                memcpy(buf + len + 8, &a, 4);
                memcpy(buf + len + 12, stage, sl);
                memcpy(buf + len + 12 + sl, error, el);
            }
            len += 12 + sl + el;
        }
    }
    return len;
}

sl_status sl__reduce_deadletters(sl_dist *d, sl_pipeline *const *srcs, size_t nsrcs,
                                 sl_pipeline *dst, sl_error *err)
{
    /* Every rank takes part in the gather whatever happens here (an early
     * return would leave the others waiting in it): a rank sends at most
     * its share of what an int can count, and nothing when out of memory,
     * and says so after. */
    size_t budget = (size_t)INT32_MAX / (size_t)d->size, left = 0;
    size_t len = pack_dead(srcs, nsrcs, NULL, budget, &left);
    char *mine = calloc(len ? len : 1, 1);
    bool oom = !mine;
    if (mine)
        pack_dead(srcs, nsrcs, mine, budget, &left);
    else
        len = 0;
    if (left)
        fprintf(stderr, "sluice: rank %d: %zu dead letters are counted but not listed (too many "
                        "to gather)\n", d->rank, left);
    char *all;
    int *counts, *displs;
    sl_status s = gather_bytes(d, mine ? mine : "", (int)len, &all, &counts, &displs, err);
    free(mine);
    SL_TRY(s);
    if (oom) {
        free(all);
        free(counts);
        free(displs);
        return SL_FAIL(SL_ENOMEM, "rank %d: out of memory gathering the dead letters", d->rank);
    }
    for (size_t k = 0; k < nsrcs; k++)
        sl__run_clear_dead(srcs[k]);
    if (dst)
        sl__run_clear_dead(dst);
    if (d->rank != 0)
        return SL_OK;
    for (int k = 0; k < d->size && s == SL_OK && dst; k++) {
        const char *r = all + displs[k], *end = r + counts[k];
        while (r < end && s == SL_OK) {
            uint64_t seq;
            uint32_t a;
            memcpy(&seq, r, 8);
            memcpy(&a, r + 8, 4);
            const char *stage = r + 12, *error = stage + strlen(stage) + 1;
            r = error + strlen(error) + 1;
            s = sl__run_add_dead(dst, seq, stage, a, error, err);
        }
    }
    if (dst)
        sl__run_sort_dead(dst);
    free(all);
    free(counts);
    free(displs);
    return s;
}

sl_status sl__reduce_figures(sl_dist *d, sl_pipeline *p, sl_error *err)
{
    size_t n = sl_pipeline_nstages(p);
    /* Per stage: batches, rows, retries, timeouts, dropped, slow. */
    uint64_t *u = calloc(6 * n, sizeof *u), *ut = calloc(6 * n, sizeof *ut);
    double *b = calloc(n + 1, sizeof *b), *bt = calloc(n + 1, sizeof *bt);
    sl_status s = (u && ut && b && bt) ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        u[6 * i] = st.batches;
        u[6 * i + 1] = st.rows;
        u[6 * i + 2] = st.retries;
        u[6 * i + 3] = st.timeouts;
        u[6 * i + 4] = st.dropped;
        u[6 * i + 5] = st.slow;
        b[i] = st.busy_s;
    }
    double wall = sl_pipeline_wall(p), wmax = 0;
    if (s == SL_OK &&
        (MPI_Reduce(u, ut, (int)(6 * n), MPI_UINT64_T, MPI_SUM, 0, d->comm) != MPI_SUCCESS ||
         MPI_Reduce(b, bt, (int)n, MPI_DOUBLE, MPI_SUM, 0, d->comm) != MPI_SUCCESS ||
         MPI_Reduce(&wall, &wmax, 1, MPI_DOUBLE, MPI_MAX, 0, d->comm) != MPI_SUCCESS))
        s = SL_FAIL(SL_EMPI, "rank %d: reducing the run's figures failed", d->rank);
    if (s == SL_OK && d->rank == 0) {
        for (size_t i = 0; i < n; i++) {
            sl__run_set_stage_figures(p, i, ut[6 * i], ut[6 * i + 1], bt[i]);
            sl__run_set_stage_failures(p, i, ut[6 * i + 2], ut[6 * i + 3], ut[6 * i + 4],
                                       ut[6 * i + 5]);
        }
        s = sl__run_set_wall(p, wmax, err);
    }
    free(u);
    free(ut);
    free(b);
    free(bt);
    return s;
}

sl_status sl__reduce_rows(sl_dist *d, sl_pipeline *p, sl__row_range ***ranges, size_t **nranges,
                          sl_error *err)
{
    *ranges = NULL;
    *nranges = NULL;
    size_t n;
    const sl__row_range *r = sl__run_rows(p, &n);
    SL_CHECK(n * sizeof *r <= (size_t)1 << 30, SL_ERANGE,
             "rank %d: %zu separate row ranges are too many to gather", d->rank, n);
    char *all;
    int *counts, *displs;
    SL_TRY(gather_bytes(d, r, (int)(n * sizeof *r), &all, &counts, &displs, err));
    if (d->rank != 0)
        return SL_OK;
    sl__row_range **rs = calloc((size_t)d->size, sizeof *rs);
    size_t *ns = calloc((size_t)d->size, sizeof *ns);
    sl_status s = rs && ns ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    for (int k = 0; s == SL_OK && k < d->size; k++) {
        ns[k] = (size_t)counts[k] / sizeof(sl__row_range);
        rs[k] = malloc(ns[k] ? (size_t)counts[k] : 1);
        if (!rs[k]) {
            s = SL_FAIL(SL_ENOMEM, "out of memory");
            break;
        }
        memcpy(rs[k], all + displs[k], (size_t)counts[k]);
    }
    free(all);
    free(counts);
    free(displs);
    *ranges = rs;
    *nranges = ns;
    if (s != SL_OK)
        sl__reduce_rows_free(d, rs, ns), *ranges = NULL, *nranges = NULL;
    return s;
}

void sl__reduce_rows_free(sl_dist *d, sl__row_range **ranges, size_t *nranges)
{
    for (int k = 0; ranges && k < d->size; k++)
        free(ranges[k]);
    free(ranges);
    free(nranges);
}
