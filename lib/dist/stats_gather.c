/* lib/dist/stats_gather.c - every rank's run figures to rank 0, so that its
 * summary, stats file and output file speak for the job (docs/stats.md).
 *
 * A rank's figures are a fixed number of words (the same on every rank: the
 * pipeline is the same everywhere), so one MPI_Gather brings them; its series
 * has a length of its own, so a gather of the lengths and an MPI_Gatherv of
 * the doubles bring those. Rank 0 then keeps each rank's figures, sums them
 * into the job's, adds the series up and joins the ranks' trace parts
 * (they were written before: every rank writes its part when its batches
 * end, and reaches this gather after that). Collective. */
#include <stdlib.h>

#include "dist/dist_impl.h"
#include "pipeline/metrics.h"

static sl_status gather_series(sl_dist *d, const sl_pipeline *p, double **all, int **displs,
                               sl_error *err)
{
    *all = NULL;
    *displs = NULL;
    size_t n = sl__metrics_series_pack(p, NULL);
    SL_CHECK(n <= INT32_MAX, SL_ERANGE, "rank %d: the series is too long to gather", d->rank);
    double *mine = malloc(n * sizeof *mine);
    int *counts = d->rank == 0 ? calloc((size_t)d->size, sizeof *counts) : NULL;
    int *offs = d->rank == 0 ? calloc((size_t)d->size, sizeof *offs) : NULL;
    sl_status s = mine && (d->rank != 0 || (counts && offs)) ? SL_OK
                                                             : SL_FAIL(SL_ENOMEM, "out of memory");
    int mpi = MPI_SUCCESS;
    if (s == SL_OK) {
        sl__metrics_series_pack(p, mine);
        int len = (int)n;
        mpi = MPI_Gather(&len, 1, MPI_INT, counts, 1, MPI_INT, 0, d->comm);
    }
    size_t total = 0;
    for (int k = 0; s == SL_OK && d->rank == 0 && k < d->size; k++) {
        offs[k] = (int)total;
        total += (size_t)counts[k];
    }
    double *buf = s == SL_OK && d->rank == 0 ? malloc((total ? total : 1) * sizeof *buf) : NULL;
    if (s == SL_OK && mpi == MPI_SUCCESS)
        mpi = MPI_Gatherv(mine, (int)n, MPI_DOUBLE, buf, counts, offs, MPI_DOUBLE, 0, d->comm);
    if (s == SL_OK && mpi != MPI_SUCCESS)
        s = SL_FAIL(SL_EMPI, "rank %d: gathering the ranks' series failed", d->rank);
    free(mine);
    free(counts);
    if (s != SL_OK) {
        free(offs);
        free(buf);
        return s;
    }
    *all = buf;
    *displs = offs;
    return SL_OK;
}

sl_status sl__stats_gather(sl_dist *d, sl_pipeline *p, sl_pipeline *writer, sl_error *err)
{
    size_t w = sl__metrics_words(p);
    SL_CHECK(w * (size_t)d->size <= INT32_MAX, SL_ERANGE, "too many figures to gather");
    uint64_t *mine = calloc(w, sizeof *mine);
    uint64_t *all = d->rank == 0 ? calloc(w * (size_t)d->size, sizeof *all) : NULL;
    if (!mine || (d->rank == 0 && !all)) {
        free(mine);
        free(all);
        return SL_FAIL(SL_ENOMEM, "rank %d: out of memory gathering the figures", d->rank);
    }
    sl__metrics_pack(p, mine);
    sl_status s = SL_OK;
    if (MPI_Gather(mine, (int)w, MPI_UINT64_T, all, (int)w, MPI_UINT64_T, 0, d->comm) !=
        MPI_SUCCESS)
        s = SL_FAIL(SL_EMPI, "rank %d: gathering the ranks' figures failed", d->rank);
    double *series = NULL;
    int *displs = NULL;
    sl_status gs = gather_series(d, p, &series, &displs, err);
    s = s == SL_OK ? gs : s;
    if (s == SL_OK && d->rank == 0) {
        const double **rs = malloc((size_t)d->size * sizeof *rs);
        s = rs ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
        for (int k = 0; rs && k < d->size; k++)
            rs[k] = series + displs[k];
        if (s == SL_OK)
            s = sl__metrics_take_ranks(p, writer, d->size, all, rs, err);
        free(rs);
    } else if (s == SL_OK) {
        sl__metrics_silence(p, writer);
    }
    free(series);
    free(displs);
    free(mine);
    free(all);
    return s;
}
