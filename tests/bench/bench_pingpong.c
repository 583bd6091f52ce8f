/* tests/bench/bench_pingpong.c - the reference for the channel row of run.sh.
 *
 * usage: mpirun -np 2 bench_pingpong SIZE ITERS
 *
 * Ranks 0 and 1 exchange one SIZE-byte message ITERS times: rank 0 sends
 * (MPI_Send), rank 1 receives it (MPI_Recv) and sends it back, rank 0
 * receives it. Both buffers are written once beforehand (pages faulted in),
 * and 5 untimed round trips warm up the transport first. The timed loop runs
 * between two barriers, on rank 0's MPI_Wtime, so MPI_Init and the warm-up
 * are not included.
 *
 * Rank 0 prints one line:
 *   "pingpong bytes=SIZE iters=N seconds=S GBps=X"
 * with X = 2 * SIZE * ITERS / S / 1e9: the bytes moved, both ways, per
 * second. Exit status 0, or 2 on bad arguments, a rank count other than 2,
 * or out of memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#define WARMUP 5

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = v;
    return 0;
}

/* One round trip of n bytes in buf between ranks 0 and 1. */
static void round_trip(int rank, char *buf, int n)
{
    if (rank == 0) {
        MPI_Send(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, nranks = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    uint64_t size = 0, iters = 0, nbufs = 1;
    if ((argc != 3 && argc != 4) || parse_u64(argv[1], &size) || parse_u64(argv[2], &iters) ||
        (argc == 4 && (parse_u64(argv[3], &nbufs) || nbufs == 0 || nbufs > 1024)) || size == 0 ||
        size > INT32_MAX || iters == 0) {
        if (rank == 0)
            fprintf(stderr,
                    "usage: mpirun -np 2 bench_pingpong SIZE ITERS [BUFFERS] (SIZE in 1..%d, "
                    "BUFFERS 1..1024)\n",
                    INT32_MAX);
        MPI_Finalize();
        return 2;
    }
    if (nranks != 2) {
        if (rank == 0)
            fprintf(stderr, "bench_pingpong: needs exactly 2 ranks, got %d\n", nranks);
        MPI_Finalize();
        return 2;
    }
    /* BUFFERS > 1 cycles through that many buffers, one per round trip, as a
     * pipeline's batches do: the data are then no longer hot in the caches,
     * which a single reused buffer always is. */
    char *bufs = malloc((size_t)size * nbufs), *buf = bufs;
    if (!bufs) {
        fprintf(stderr, "bench_pingpong: rank %d: out of memory for %llu bytes\n", rank,
                (unsigned long long)size);
        MPI_Abort(MPI_COMM_WORLD, 2);
        return 2;
    }
    memset(bufs, rank + 1, (size_t)size * nbufs);

    int n = (int)size;
    for (int i = 0; i < WARMUP; i++)
        round_trip(rank, buf, n);

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (uint64_t i = 0; i < iters; i++)
        round_trip(rank, bufs + (size_t)size * (i % nbufs), n);
    MPI_Barrier(MPI_COMM_WORLD);
    double s = MPI_Wtime() - t0;

    if (rank == 0)
        printf("pingpong bytes=%llu iters=%llu buffers=%llu seconds=%.6f GBps=%.4f\n",
               (unsigned long long)size, (unsigned long long)iters, (unsigned long long)nbufs, s,
               s > 0 ? 2.0 * (double)size * (double)iters / s / 1e9 : 0.0);
    free(bufs);
    MPI_Finalize();
    return 0;
}
