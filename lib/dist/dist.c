/* lib/dist/dist.c - starting MPI, and ranks agreeing on what went wrong.
 *
 * MPI is started only when a launcher started us (mpirun, srun): a plain
 * `sluice run` must not pay MPI's start-up nor need a launcher, and Open MPI's
 * singleton start spawns helper processes. The thread level asked for is
 * FUNNELED: while batches run, only the main thread calls MPI (the team runs
 * on a thread of its own), and before and after them the main thread is the
 * only thread. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist_impl.h"

/* Variables the launchers we know set in every rank's environment. */
static bool launched_by_mpi(void)
{
    const char *force = getenv("SLUICE_MPI");
    if (force && *force)
        return strcmp(force, "0") != 0;
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return true;
    return false;
}

static const char *level_name(int level)
{
    switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    }
    return "an unknown thread level";
}

sl_status sl_dist_init(sl_dist **out, int *argc, char ***argv, sl_error *err)
{
    *out = NULL;
    sl_dist *d = calloc(1, sizeof *d);
    SL_CHECK(d, SL_ENOMEM, "out of memory");
    d->size = 1;
    d->comm = MPI_COMM_NULL;
    if (!launched_by_mpi()) {
        *out = d;
        return SL_OK;
    }
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(d);
        return SL_FAIL(SL_EMPI, "MPI_Init_thread failed");
    }
    d->mpi = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    /* Errors come back as codes: a failing call must end in our one-line
     * message and a clean exit on every rank, not in an abort. */
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    if (provided < MPI_THREAD_FUNNELED) {
        sl_dist_finalize(&d);
        return SL_FAIL(SL_EMPI,
                       "the MPI library offers only %s; sluice needs MPI_THREAD_FUNNELED "
                       "(rebuild or pick an MPI with thread support)",
                       level_name(provided));
    }
    *out = d;
    return SL_OK;
}

int sl_dist_rank(const sl_dist *d) { return d ? d->rank : 0; }
int sl_dist_size(const sl_dist *d) { return d ? d->size : 1; }
bool sl_dist_uses_mpi(const sl_dist *d) { return d && d->mpi; }

static sl_status agree(sl_dist *d, sl_status s, sl_error *err, bool name_rank, bool induced)
{
    if (!d || !d->mpi || d->size == 1)
        return s;
    /* The key orders failures: original ones by rank, then induced ones. */
    int mine = s == SL_OK ? INT_MAX : induced ? d->size + d->rank : d->rank, first = INT_MAX;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, d->comm) != MPI_SUCCESS)
        return SL_FAIL(SL_EMPI, "rank %d: MPI_Allreduce failed while ranks compared their status",
                       d->rank);
    if (first == INT_MAX)
        return SL_OK;
    int root = first % d->size;
    /* One broadcast carries the code and the message of the first failing
     * rank, so every rank reports the same line and exits the same way. */
    char buf[sizeof(int) + SL_ERROR_MSG_MAX];
    memset(buf, 0, sizeof buf);
    if (d->rank == root) {
        int code = (int)s;
        memcpy(buf, &code, sizeof code);
        snprintf(buf + sizeof(int), SL_ERROR_MSG_MAX, "%s", err->msg[0] ? err->msg : sl_status_str(s));
    }
    if (MPI_Bcast(buf, (int)sizeof buf, MPI_BYTE, root, d->comm) != MPI_SUCCESS)
        return SL_FAIL(SL_EMPI, "rank %d: MPI_Bcast failed while ranks shared an error", d->rank);
    int code;
    memcpy(&code, buf, sizeof code);
    buf[sizeof buf - 1] = '\0';
    if (d->rank != root)
        sl_error_set(err, (sl_status)code, __FILE__, __LINE__, __func__, "%s", buf + sizeof(int));
    if (name_rank)
        sl_error_prefix(err, "rank %d", root);
    return (sl_status)code;
}

sl_status sl_dist_agree(sl_dist *d, sl_status s, sl_error *err, bool name_rank)
{
    return agree(d, s, err, name_rank, false);
}

sl_status sl__dist_agree_cause(sl_dist *d, sl_status s, sl_error *err, bool induced)
{
    return agree(d, s, err, true, induced);
}

void sl_dist_abort(sl_dist *d, int code)
{
    if (d && d->mpi)
        MPI_Abort(MPI_COMM_WORLD, code);
    _Exit(code);
}

void sl_dist_finalize(sl_dist **dp)
{
    sl_dist *d = *dp;
    if (!d)
        return;
    if (d->mpi) {
        if (d->comm != MPI_COMM_NULL)
            MPI_Comm_free(&d->comm);
        MPI_Finalize();
    }
    free(d);
    *dp = NULL;
}
