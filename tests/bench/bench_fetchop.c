/* tests/bench/bench_fetchop.c - the raw cost of one chunk claim: the
 * MPI_Fetch_and_op + MPI_Win_flush pair that lib/dist/sched.c issues per
 * dynamic chunk, in a bare loop (the reference of the MPI scheduling row).
 *
 * usage: mpirun -np P bench_fetchop TOTAL
 *
 * Rank 0 hosts a uint64_t counter in an MPI window (MPI_Win_allocate,
 * MPI_Win_lock_all(MPI_MODE_NOCHECK), as the scheduler does); every rank
 * takes 1 from it with MPI_Fetch_and_op(MPI_SUM) + MPI_Win_flush until the
 * value it gets is >= TOTAL. Rank 0 takes too, as it does in a sluice run.
 * Timed between two barriers, after 10 untimed takes per rank on a warm-up
 * counter. Prints (rank 0):
 *   fetchop ranks P claims C seconds S us_per_claim U
 * where C = TOTAL (the claims that got work) and U = S * P / C: the time a
 * rank spends per claim it makes (ranks claim at the same time). */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Takes 1 from the counter until it reaches total; returns the claims made. */
static uint64_t claim_all(MPI_Win win, uint64_t total)
{
    uint64_t one = 1, old = 0, mine = 0;
    for (;;) {
        MPI_Fetch_and_op(&one, &old, MPI_UINT64_T, 0, 0, MPI_SUM, win);
        MPI_Win_flush(0, win);
        if (old >= total)
            return mine;
        mine++;
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    uint64_t total = argc == 2 ? strtoull(argv[1], NULL, 10) : 0;
    if (total == 0) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np P bench_fetchop TOTAL\n");
        MPI_Finalize();
        return 2;
    }
    uint64_t *counter = NULL;
    MPI_Win win;
    MPI_Win_allocate(rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0, (int)sizeof(uint64_t),
                     MPI_INFO_NULL, MPI_COMM_WORLD, &counter, &win);
    if (rank == 0)
        *counter = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
    claim_all(win, 10 * (uint64_t)size); /* warm-up */
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        uint64_t zero = 0, old;
        MPI_Fetch_and_op(&zero, &old, MPI_UINT64_T, 0, 0, MPI_REPLACE, win);
        MPI_Win_flush(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    uint64_t mine = claim_all(win, total);
    MPI_Barrier(MPI_COMM_WORLD);
    double secs = MPI_Wtime() - t0;
    uint64_t claims = 0;
    MPI_Reduce(&mine, &claims, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Win_unlock_all(win);
    MPI_Win_free(&win);
    int rc = 0;
    if (rank == 0) {
        if (claims != total) {
            fprintf(stderr, "bench_fetchop: %llu claims got work, expected %llu\n",
                    (unsigned long long)claims, (unsigned long long)total);
            rc = 1;
        } else
            printf("fetchop ranks %d claims %llu seconds %.6f us_per_claim %.3f\n", size,
                   (unsigned long long)claims, secs, secs * size / (double)claims * 1e6);
    }
    MPI_Finalize();
    return rc;
}
