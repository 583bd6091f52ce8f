/* lib/dist/channel.h - a bounded queue that spans ranks (stage mode).
 *
 * Between two consecutive segments of a placed pipeline, the ranks of the
 * upstream group (senders) pass batches to the ranks of the downstream group
 * (receivers). A receiver's channel holds `capacity` batches and grants each
 * sender a share of those slots as credits; a sender sends only with a
 * credit and gets it back when the receiver's pipeline took the batch out of
 * the channel. So a sender never has more batches in flight than it holds
 * credits, and a slow receiver stops its senders instead of filling memory.
 * End of stream is a count: each sender tells each receiver how many batches
 * it sent, and a receiver is done once it got them all.
 *
 * Who does what: the sender's last stage is a built-in `send` stage (its job
 * fires only with a credit, see sl__run_set_tail_credits), which packs the
 * batch and queues it; the receiver's first stage is a built-in head whose
 * feed hands over unpacked batches. Only the rank's main thread calls MPI
 * (sl__chan_progress), moving packed batches, credits and counts. */
#ifndef SLUICE_DIST_CHANNEL_H
#define SLUICE_DIST_CHANNEL_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/job.h>
#include <sluice/stage.h>

#include "pipeline/phase.h"

typedef struct sl__chan sl__chan;

typedef struct sl__chan_cfg {
    MPI_Comm comm;
    int me;                /* this rank in comm */
    int index;             /* which boundary of the pipeline: tags are per channel */
    const int *senders;    /* ranks in comm, ascending */
    int nsend;
    const int *receivers;
    int nrecv;
    int capacity;          /* slots per receiver; raised to nsend if below */
    sl_route route;
    const double *weights; /* per receiver (route weighted), else NULL */
    const char *name;      /* "primes -> sum", for messages */
} sl__chan_cfg;

sl_status sl__chan_create(sl__chan **out, const sl__chan_cfg *cfg, sl_error *err);
void sl__chan_destroy(sl__chan **c);

bool sl__chan_is_sender(const sl__chan *c);
bool sl__chan_is_receiver(const sl__chan *c);

/* Sender side: the credits the send stage fires on, and the stage itself
 * (its instance state must be set to the channel). */
atomic_long *sl__chan_credits(sl__chan *c);
extern const sl_stage_desc sl__chan_send_desc;
/* The sender's pipeline has ended: the channel may send its counts. */
void sl__chan_sender_done(sl__chan *c);

/* Receiver side: the head stage, and the feed of its pipeline (batches are
 * unpacked into pool, the receiving pipeline's). */
extern const sl_stage_desc sl__chan_recv_desc;
const sl__feed *sl__chan_feed(sl__chan *c);
void sl__chan_set_pool(sl__chan *c, sl_batch_pool *pool);
/* Sender side: the pool the sent batches go back to once MPI is done with
 * them (the sending pipeline's; its last stage keeps its batches). */
void sl__chan_set_send_pool(sl__chan *c, sl_batch_pool *pool);
/* Called (from pipeline threads) when the main thread has work: a batch to
 * send, a credit to give back. Set before the run. */
void sl__chan_set_wake(sl__chan *c, void (*wake)(void *), void *self);

/* One look at MPI on the main thread; *busy is set when something moved.
 * `wake` is signalled whenever a pipeline of this rank may fire again. */
sl_status sl__chan_progress(sl__chan *c, bool *busy, void (*wake)(void *), void *wake_self,
                            sl_error *err);
/* Both sides are through: every count sent and acknowledged. */
bool sl__chan_closed(const sl__chan *c);

/* The run is failing: drop what arrives and send nothing new, so that every
 * message in flight still finds its receive. */
void sl__chan_set_drain(sl__chan *c);

/* Credits this sender was granted in all, and the most batches it had sent
 * and not yet had credited back at once (<= the credits, always). */
void sl__chan_sender_figures(const sl__chan *c, uint64_t *credits, uint64_t *peak_in_flight);

#endif
