/* lib/dist/channel.c - batches between rank groups, with credits (see
 * channel.h for the protocol).
 *
 * Messages, on tags of their own per channel so channels never mix:
 *   META  sender -> receiver  a batch's header and column sizes (sl_batch_pack_meta)
 *   DATA  sender -> receiver  right after its META: the columns' bytes, sent
 *                             from and received into the batches' own storage
 *                             (an hindexed datatype over the columns), so a
 *                             batch is copied once, by MPI
 *   END   sender -> receiver  uint64: how many batches it sent to that receiver
 *   CTRL  receiver -> sender  int64: n >= 0 credits given back, or -1: "got
 *                             everything you sent, no more credits will come"
 * CTRL messages of one pair keep their order (same tag, same communicator),
 * so the -1 is the last a sender hears from that receiver.
 *
 * Threads: the send stage (one instance, serial) produces packed batches into
 * the outbox; the receiving pipeline's source firer consumes the inbox and
 * produces credit returns; the rank's main thread is the other end of all
 * three rings, and the only one that calls MPI. Each ring has one producer
 * and one consumer at a time, so acquire/release on its indices suffices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/channel.h"
#include "dist/dist_impl.h"

enum { TAG_BASE = 1000, TAG_PER_CHAN = 4, T_META = 0, T_END = 1, T_CTRL = 2, T_DATA = 3 };

typedef struct packed {
    int to;     /* receiver index */
    void *meta; /* the batch's meta message */
    size_t len;
    sl_batch *b; /* owned until its data are sent */
} packed;

typedef struct inbound {
    sl_batch *b;
    int from; /* sender index */
} inbound;

/* A single-producer single-consumer ring of fixed-size items. */
typedef struct ring {
    char *items;
    size_t size, cap;
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
} ring;

static bool ring_init(ring *r, size_t cap, size_t size)
{
    r->items = calloc(cap, size);
    r->cap = cap;
    r->size = size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return r->items != NULL;
}

static bool ring_push(ring *r, const void *item)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&r->head, memory_order_acquire) == r->cap)
        return false;
    memcpy(r->items + (t % r->cap) * r->size, item, r->size);
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

static bool ring_pop(ring *r, void *item)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&r->tail, memory_order_acquire))
        return false;
    memcpy(item, r->items + (h % r->cap) * r->size, r->size);
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return true;
}

typedef struct pending {
    MPI_Request req;
    void *buf;    /* freed once sent */
    sl_batch *b;  /* back to the sender's pool once sent */
} pending;

struct sl__chan {
    MPI_Comm comm;
    int me, tag;
    char name[96];
    int *senders, nsend, *receivers, nrecv;
    int capacity;
    int my_send, my_recv; /* my index among senders / receivers, or -1 */

    pending *pend;
    size_t npend, cap_pend;

    /* sender */
    atomic_long tail_credits;
    atomic_long *credit;      /* per receiver */
    atomic_long *outstanding; /* per receiver: sent, not yet credited back */
    atomic_long in_flight;
    atomic_ulong peak;
    uint64_t granted;
    uint64_t *sent_to;        /* written by the send stage only */
    sl_route route;
    double *weights, *wrr;
    int cursor;
    ring outbox;
    atomic_bool sender_done;
    bool end_sent;
    int acks;

    sl_batch_pool *send_pool; /* the sending pipeline's */
    void (*wake)(void *);     /* wakes the main thread: work for it */
    void *wake_self;

    /* receiver */
    sl__feed feed;
    sl_batch_pool *pool;
    ring inbox, returns;
    atomic_ullong *received; /* per sender */
    atomic_llong *end_count; /* per sender, -1 until its END came */
    bool *acked;
    char *rbuf;
    size_t rbuf_cap;
    bool drain; /* the run is failing: drop what comes, send nothing new */
};

static int index_of(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return i;
    return -1;
}

static int share(int capacity, int nsend, int i)
{
    return capacity / nsend + (i < capacity % nsend);
}

/* --- the send stage -------------------------------------------------------- */

/* Picks a receiver that has a credit for us; there is one, since the stage
 * fired only with a credit taken from the total. */
static int pick(sl__chan *c)
{
    int best = -1;
    switch (c->route) {
    case SL_ROUTE_LEAST_OUTSTANDING: {
        long lo = 0;
        for (int k = 0; k < c->nrecv; k++) {
            int r = (c->cursor + k) % c->nrecv;
            long o = atomic_load(&c->outstanding[r]);
            if (atomic_load(&c->credit[r]) > 0 && (best < 0 || o < lo))
                best = r, lo = o;
        }
        break;
    }
    case SL_ROUTE_WEIGHTED: {
        /* Smooth weighted round robin over the receivers that have credit. */
        double sum = 0;
        for (int r = 0; r < c->nrecv; r++) {
            if (atomic_load(&c->credit[r]) <= 0)
                continue;
            c->wrr[r] += c->weights[r];
            sum += c->weights[r];
            if (best < 0 || c->wrr[r] > c->wrr[best])
                best = r;
        }
        if (best >= 0)
            c->wrr[best] -= sum;
        break;
    }
    case SL_ROUTE_ROUND_ROBIN:
    default:
        for (int k = 0; k < c->nrecv && best < 0; k++) {
            int r = (c->cursor + k) % c->nrecv;
            if (atomic_load(&c->credit[r]) > 0)
                best = r;
        }
        break;
    }
    if (best >= 0)
        c->cursor = (best + 1) % c->nrecv;
    return best;
}

static sl_status send_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    *state = NULL; /* the runner puts the channel here */
    return SL_OK;
}

static sl_status send_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    sl__chan *c = state;
    SL_CHECK(c, SL_EINVAL, "channel send stage without a channel");
    int r = pick(c);
    SL_CHECK(r >= 0, SL_EINVAL, "channel %s: fired without a credit (internal error)", c->name);
    size_t len = sl_batch_meta_size(b), used = 0;
    void *meta = malloc(len);
    SL_CHECK(meta, SL_ENOMEM, "channel %s: out of memory", c->name);
    sl_status s = sl_batch_pack_meta(b, meta, len, &used, err);
    if (s != SL_OK) {
        free(meta);
        return s;
    }
    atomic_fetch_sub(&c->credit[r], 1);
    atomic_fetch_add(&c->outstanding[r], 1);
    unsigned long f = (unsigned long)atomic_fetch_add(&c->in_flight, 1) + 1;
    unsigned long pk = atomic_load(&c->peak);
    while (f > pk && !atomic_compare_exchange_weak(&c->peak, &pk, f))
        ;
    c->sent_to[r]++;
    /* The batch itself goes: its storage is the send buffer (the pipeline
     * was told the last stage keeps its batches). */
    packed m = {r, meta, used, b};
    /* The outbox holds every credit this sender was granted: never full. */
    if (!ring_push(&c->outbox, &m)) {
        free(meta);
        return SL_FAIL(SL_EINVAL, "channel %s: outbox overflow (internal error)", c->name);
    }
    /* Wake the main thread only when the outbox was empty: otherwise it has
     * not emptied it yet and will see this batch too. Each wake-up is a
     * context switch, which on a small node costs as much as the copy. */
    if (c->wake && atomic_load(&c->outbox.tail) - atomic_load(&c->outbox.head) == 1)
        c->wake(c->wake_self);
    return SL_OK;
}

const sl_stage_desc sl__chan_send_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "send",
    .summary = "Built-in: passes batches to the next rank group",
    .version = "1.0.0",
    .kind = SL_KIND_SINK,
    .mode = SL_MODE_SERIAL,
    .flags = SL_STAGE_SINGLE_INSTANCE,
    .create = send_create,
    .process = send_process,
};

/* --- the receiving head ------------------------------------------------------ */

static sl_status recv_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}

static sl_status recv_plan(void *state, sl_source_plan *plan, sl_error *err)
{
    plan->batches = 0; /* the runner sets the job's plan */
    plan->rows = 0;
    return SL_OK;
}

static sl_status recv_produce(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx, sl_error *err)
{
    return SL_FAIL(SL_EINVAL, "the channel head makes no batches (internal error)");
}

const sl_stage_desc sl__chan_recv_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "receive",
    .summary = "Built-in: batches from the previous rank group",
    .version = "1.0.0",
    .kind = SL_KIND_SOURCE,
    .mode = SL_MODE_SERIAL,
    .flags = SL_STAGE_SINGLE_INSTANCE,
    .create = recv_create,
    .plan = recv_plan,
    .produce = recv_produce,
};

static sl__feed_status recv_claim(void *self, uint64_t *seq, sl_batch **b)
{
    sl__chan *c = self;
    inbound in;
    if (ring_pop(&c->inbox, &in)) {
        ring_push(&c->returns, &in.from); /* as big as the inbox: never full */
        /* As for the outbox: wake only on the first credit waiting to go. */
        if (c->wake && atomic_load(&c->returns.tail) - atomic_load(&c->returns.head) == 1)
            c->wake(c->wake_self);
        *b = in.b;
        *seq = sl_batch_seq(in.b);
        return SL__FEED_HAVE;
    }
    uint64_t want = 0, got = 0;
    for (int s = 0; s < c->nsend; s++) {
        long long e = atomic_load(&c->end_count[s]);
        if (e < 0)
            return SL__FEED_WAIT;
        want += (uint64_t)e;
        got += atomic_load(&c->received[s]);
    }
    if (got < want)
        return SL__FEED_WAIT;
    /* Everything came; look once more in case the last arrived meanwhile. */
    if (ring_pop(&c->inbox, &in)) {
        ring_push(&c->returns, &in.from);
        *b = in.b;
        *seq = sl_batch_seq(in.b);
        return SL__FEED_HAVE;
    }
    return SL__FEED_END;
}

static void recv_wait(void *self, const atomic_int *stop) { (void)self, (void)stop; }

/* --- lifecycle ---------------------------------------------------------------- */

sl_status sl__chan_create(sl__chan **out, const sl__chan_cfg *cfg, sl_error *err)
{
    *out = NULL;
    SL_CHECK(cfg->nsend > 0 && cfg->nrecv > 0, SL_EINVAL, "channel %s has no senders or receivers",
             cfg->name ? cfg->name : "?");
    sl__chan *c = calloc(1, sizeof *c);
    SL_CHECK(c, SL_ENOMEM, "out of memory");
    c->comm = cfg->comm;
    c->me = cfg->me;
    c->tag = TAG_BASE + TAG_PER_CHAN * cfg->index;
    snprintf(c->name, sizeof c->name, "%s", cfg->name ? cfg->name : "?");
    c->nsend = cfg->nsend;
    c->nrecv = cfg->nrecv;
    c->capacity = cfg->capacity < cfg->nsend ? cfg->nsend : cfg->capacity;
    size_t ns = (size_t)(unsigned)cfg->nsend, nr = (size_t)(unsigned)cfg->nrecv;
    c->senders = malloc(ns * sizeof *c->senders);
    c->receivers = malloc(nr * sizeof *c->receivers);
    c->route = cfg->route;
    bool ok = c->senders && c->receivers;
    if (ok) {
        memcpy(c->senders, cfg->senders, ns * sizeof *c->senders);
        memcpy(c->receivers, cfg->receivers, nr * sizeof *c->receivers);
    }
    c->my_send = ok ? index_of(c->senders, c->nsend, c->me) : -1;
    c->my_recv = ok ? index_of(c->receivers, c->nrecv, c->me) : -1;
    if (ok && c->my_send >= 0) {
        c->credit = calloc(nr, sizeof *c->credit);
        c->outstanding = calloc(nr, sizeof *c->outstanding);
        c->sent_to = calloc(nr, sizeof *c->sent_to);
        c->weights = calloc(nr, sizeof *c->weights);
        c->wrr = calloc(nr, sizeof *c->wrr);
        ok = c->credit && c->outstanding && c->sent_to && c->weights && c->wrr;
        for (int r = 0; ok && r < c->nrecv; r++) {
            long g = share(c->capacity, c->nsend, c->my_send);
            atomic_init(&c->credit[r], g);
            atomic_init(&c->outstanding[r], 0);
            c->granted += (uint64_t)g;
            c->weights[r] = cfg->weights ? cfg->weights[r] : 1.0;
        }
        atomic_init(&c->tail_credits, (long)c->granted);
        ok = ok && ring_init(&c->outbox, c->granted ? c->granted : 1, sizeof(packed));
    }
    if (ok && c->my_recv >= 0) {
        c->received = calloc(ns, sizeof *c->received);
        c->end_count = calloc(ns, sizeof *c->end_count);
        c->acked = calloc(ns, sizeof *c->acked);
        ok = c->received && c->end_count && c->acked &&
             ring_init(&c->inbox, (size_t)c->capacity, sizeof(inbound)) &&
             ring_init(&c->returns, (size_t)c->capacity, sizeof(int));
        for (int s = 0; ok && s < c->nsend; s++)
            atomic_init(&c->end_count[s], -1);
        c->feed = (sl__feed){.self = c, .claim = recv_claim, .wait = recv_wait};
    }
    if (!ok) {
        sl__chan_destroy(&c);
        return SL_FAIL(SL_ENOMEM, "out of memory creating channel %s", cfg->name);
    }
    *out = c;
    return SL_OK;
}

void sl__chan_destroy(sl__chan **cp)
{
    sl__chan *c = *cp;
    if (!c)
        return;
    packed m;
    while (c->outbox.items && ring_pop(&c->outbox, &m)) {
        free(m.meta);
        if (c->send_pool)
            sl_batch_pool_put(c->send_pool, m.b);
    }
    inbound in;
    while (c->inbox.items && ring_pop(&c->inbox, &in))
        if (c->pool)
            sl_batch_pool_put(c->pool, in.b);
    for (size_t i = 0; i < c->npend; i++) {
        /* Only after a failed run: the peer may never receive it. */
        MPI_Request_free(&c->pend[i].req);
        free(c->pend[i].buf);
        /* A batch whose send never completed stays allocated: MPI may
         * still read it. */
    }
    free(c->pend);
    free(c->senders);
    free(c->receivers);
    free(c->credit);
    free(c->outstanding);
    free(c->sent_to);
    free(c->weights);
    free(c->wrr);
    free(c->outbox.items);
    free(c->received);
    free(c->end_count);
    free(c->acked);
    free(c->inbox.items);
    free(c->returns.items);
    free(c->rbuf);
    free(c);
    *cp = NULL;
}

bool sl__chan_is_sender(const sl__chan *c) { return c->my_send >= 0; }
bool sl__chan_is_receiver(const sl__chan *c) { return c->my_recv >= 0; }
atomic_long *sl__chan_credits(sl__chan *c) { return &c->tail_credits; }
void sl__chan_sender_done(sl__chan *c) { atomic_store(&c->sender_done, true); }
const sl__feed *sl__chan_feed(sl__chan *c) { return &c->feed; }
void sl__chan_set_pool(sl__chan *c, sl_batch_pool *pool) { c->pool = pool; }
void sl__chan_set_send_pool(sl__chan *c, sl_batch_pool *pool) { c->send_pool = pool; }

void sl__chan_set_wake(sl__chan *c, void (*wake)(void *), void *self)
{
    c->wake = wake;
    c->wake_self = self;
}

void sl__chan_sender_figures(const sl__chan *c, uint64_t *credits, uint64_t *peak)
{
    *credits = c->my_send >= 0 ? c->granted : 0;
    *peak = c->my_send >= 0 ? atomic_load(&c->peak) : 0;
}

void sl__chan_set_drain(sl__chan *c) { c->drain = true; }

/* --- the main thread's side ---------------------------------------------------- */

static pending *new_pending(sl__chan *c)
{
    if (c->npend == c->cap_pend) {
        size_t cap = c->cap_pend ? 2 * c->cap_pend : 16;
        pending *p = realloc(c->pend, cap * sizeof *p);
        if (!p)
            return NULL;
        c->pend = p;
        c->cap_pend = cap;
    }
    pending *p = &c->pend[c->npend];
    *p = (pending){.req = MPI_REQUEST_NULL};
    return p;
}

static sl_status isend(sl__chan *c, void *buf, int len, int dest, int tag, sl_error *err)
{
    pending *p = new_pending(c);
    if (!p) {
        free(buf);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    if (MPI_Isend(buf, len, MPI_BYTE, dest, tag, c->comm, &p->req) != MPI_SUCCESS) {
        free(buf);
        return SL_FAIL(SL_EMPI, "channel %s: MPI_Isend to rank %d failed", c->name, dest);
    }
    p->buf = buf;
    c->npend++;
    return SL_OK;
}

/* The columns' storage as one MPI datatype (absolute addresses): each
 * column's data, then for BYTES its offsets, in column order; blocks over
 * 1 GiB are cut, since block lengths are ints. */
#define BLOCK_MAX ((size_t)1 << 30)

static sl_status columns_type(sl__chan *c, const sl_batch *b, MPI_Datatype *t, void **one,
                              int *one_len, sl_error *err)
{
    *one = NULL;
    *one_len = 0;
    *t = MPI_DATATYPE_NULL;
    int cap = 16, n = 0;
    char *first = NULL;
    int *lens = malloc((size_t)cap * sizeof *lens);
    MPI_Aint *disp = malloc((size_t)cap * sizeof *disp);
    sl_status s = lens && disp ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    for (int i = 0; s == SL_OK && i < sl_batch_ncols(b); i++) {
        const sl_column *col = sl_batch_col(b, i);
        const char *part[2] = {col->data, (const char *)col->offsets};
        size_t size[2] = {col->nbytes, col->type == SL_TYPE_BYTES
                                           ? (sl_batch_nrows(b) + 1) * sizeof(uint64_t)
                                           : 0};
        for (int k = 0; k < 2 && s == SL_OK; k++)
            for (size_t off = 0; off < size[k] && s == SL_OK; off += BLOCK_MAX) {
                if (n == cap) {
                    cap *= 2;
                    int *nl = realloc(lens, (size_t)cap * sizeof *lens);
                    if (nl)
                        lens = nl;
                    MPI_Aint *nd = realloc(disp, (size_t)cap * sizeof *disp);
                    if (nd)
                        disp = nd;
                    if (!nl || !nd) {
                        s = SL_FAIL(SL_ENOMEM, "out of memory");
                        break;
                    }
                }
                size_t len = size[k] - off < BLOCK_MAX ? size[k] - off : BLOCK_MAX;
                MPI_Get_address(part[k] + off, &disp[n]);
                if (n == 0)
                    first = (char *)part[k] + off;
                lens[n++] = (int)len;
            }
    }
    /* One block (a batch of one column, the usual big case): plain bytes,
     * which MPI moves without its datatype engine. */
    if (s == SL_OK && n == 1) {
        *one = first;
        *one_len = lens[0];
        *t = MPI_DATATYPE_NULL;
    } else if (s == SL_OK &&
               (MPI_Type_create_hindexed(n, lens, disp, MPI_BYTE, t) != MPI_SUCCESS ||
                MPI_Type_commit(t) != MPI_SUCCESS)) {
        *t = MPI_DATATYPE_NULL;
        s = SL_FAIL(SL_EMPI, "channel %s: cannot describe batch %llu to MPI", c->name,
                    (unsigned long long)sl_batch_seq(b));
    }
    free(lens);
    free(disp);
    return s;
}

static sl_status send_batch(sl__chan *c, packed *m, sl_error *err)
{
    int dest = c->receivers[m->to];
    SL_TRY(isend(c, m->meta, (int)m->len, dest, c->tag + T_META, err));
    MPI_Datatype t = MPI_DATATYPE_NULL;
    void *one;
    int one_len;
    sl_status s = columns_type(c, m->b, &t, &one, &one_len, err);
    pending *p = s == SL_OK ? new_pending(c) : NULL;
    if (s == SL_OK && !p)
        s = SL_FAIL(SL_ENOMEM, "out of memory");
    int rc = MPI_SUCCESS;
    if (s == SL_OK)
        rc = t == MPI_DATATYPE_NULL
                 ? MPI_Isend(one, one_len, MPI_BYTE, dest, c->tag + T_DATA, c->comm, &p->req)
                 : MPI_Isend(MPI_BOTTOM, 1, t, dest, c->tag + T_DATA, c->comm, &p->req);
    if (s == SL_OK && rc != MPI_SUCCESS)
        s = SL_FAIL(SL_EMPI, "channel %s: MPI_Isend to rank %d failed", c->name, dest);
    if (t != MPI_DATATYPE_NULL)
        MPI_Type_free(&t); /* MPI keeps it until the send is done */
    if (s == SL_OK) {
        p->b = m->b;
        c->npend++;
    } else if (c->send_pool)
        sl_batch_pool_put(c->send_pool, m->b);
    return s;
}

static void *dup_bytes(const void *v, size_t n)
{
    void *p = malloc(n);
    if (p)
        memcpy(p, v, n);
    return p;
}

static sl_status ctrl(sl__chan *c, int s, int64_t v, sl_error *err)
{
    void *buf = dup_bytes(&v, sizeof v);
    SL_CHECK(buf, SL_ENOMEM, "out of memory");
    return isend(c, buf, (int)sizeof v, c->senders[s], c->tag + T_CTRL, err);
}

static void test_pending(sl__chan *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->npend; i++) {
        int done = 0;
        MPI_Test(&c->pend[i].req, &done, MPI_STATUS_IGNORE);
        if (done) {
            free(c->pend[i].buf);
            if (c->pend[i].b && c->send_pool)
                sl_batch_pool_put(c->send_pool, c->pend[i].b);
        } else
            c->pend[k++] = c->pend[i];
    }
    c->npend = k;
}

static sl_status sender_progress(sl__chan *c, bool *busy, void (*wake)(void *), void *ws,
                                 sl_error *err)
{
    packed m;
    while (ring_pop(&c->outbox, &m)) {
        *busy = true;
        if (c->drain) {
            free(m.meta);
            if (c->send_pool)
                sl_batch_pool_put(c->send_pool, m.b);
            continue;
        }
        SL_TRY(send_batch(c, &m, err));
    }
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, c->tag + T_CTRL, c->comm, &flag, &st);
        if (!flag)
            break;
        int64_t v;
        MPI_Recv(&v, (int)sizeof v, MPI_BYTE, st.MPI_SOURCE, c->tag + T_CTRL, c->comm,
                 MPI_STATUS_IGNORE);
        *busy = true;
        int r = index_of(c->receivers, c->nrecv, st.MPI_SOURCE);
        SL_CHECK(r >= 0, SL_EMPI, "channel %s: a credit from rank %d, not a receiver", c->name,
                 st.MPI_SOURCE);
        if (v < 0) {
            c->acks++;
            continue;
        }
        atomic_fetch_sub(&c->outstanding[r], v);
        atomic_fetch_sub(&c->in_flight, v);
        atomic_fetch_add(&c->credit[r], v);
        atomic_fetch_add(&c->tail_credits, v);
        wake(ws);
    }
    if (atomic_load(&c->sender_done) && !c->end_sent &&
        atomic_load(&c->outbox.head) == atomic_load(&c->outbox.tail)) {
        for (int r = 0; r < c->nrecv; r++) {
            uint64_t n = c->sent_to[r];
            void *buf = dup_bytes(&n, sizeof n);
            SL_CHECK(buf, SL_ENOMEM, "out of memory");
            SL_TRY(isend(c, buf, (int)sizeof n, c->receivers[r], c->tag + T_END, err));
        }
        c->end_sent = true;
        *busy = true;
    }
    return SL_OK;
}

/* The DATA message that follows a META, when there is nowhere to put it. */
static void discard_data(sl__chan *c, int src)
{
    MPI_Status st;
    int len = 0;
    MPI_Probe(src, c->tag + T_DATA, c->comm, &st);
    MPI_Get_count(&st, MPI_BYTE, &len);
    void *tmp = malloc(len > 0 ? (size_t)len : 1);
    if (tmp)
        MPI_Recv(tmp, len, MPI_BYTE, src, c->tag + T_DATA, c->comm, MPI_STATUS_IGNORE);
    free(tmp);
}

static sl_status receive_data(sl__chan *c, const MPI_Status *st, bool *busy, sl_error *err)
{
    int len = 0, src = st->MPI_SOURCE;
    MPI_Get_count(st, MPI_BYTE, &len);
    if ((size_t)len > c->rbuf_cap) {
        char *nb = realloc(c->rbuf, (size_t)len);
        SL_CHECK(nb, SL_ENOMEM, "channel %s: out of memory receiving %d bytes", c->name, len);
        c->rbuf = nb;
        c->rbuf_cap = (size_t)len;
    }
    SL_CHECK(MPI_Recv(c->rbuf, len, MPI_BYTE, src, c->tag + T_META, c->comm,
                      MPI_STATUS_IGNORE) == MPI_SUCCESS,
             SL_EMPI, "channel %s: MPI_Recv from rank %d failed", c->name, src);
    *busy = true;
    int s = index_of(c->senders, c->nsend, src);
    if (c->drain || s < 0 || !c->pool) {
        discard_data(c, src);
        SL_CHECK(c->drain, SL_EMPI, "channel %s: a batch from rank %d, not a sender", c->name,
                 src);
        return SL_OK;
    }
    sl_batch *b;
    sl_status rs = sl_batch_pool_get(c->pool, &b, err);
    if (rs != SL_OK) {
        discard_data(c, src);
        return rs;
    }
    rs = sl_batch_unpack_meta(b, c->rbuf, (size_t)len, err);
    MPI_Datatype t = MPI_DATATYPE_NULL;
    void *one = NULL;
    int one_len = 0;
    if (rs == SL_OK)
        rs = columns_type(c, b, &t, &one, &one_len, err);
    if (rs != SL_OK) {
        discard_data(c, src);
    } else {
        /* The DATA message was sent right after this META: it is on its way. */
        int rc = t == MPI_DATATYPE_NULL
                     ? MPI_Recv(one, one_len, MPI_BYTE, src, c->tag + T_DATA, c->comm,
                                MPI_STATUS_IGNORE)
                     : MPI_Recv(MPI_BOTTOM, 1, t, src, c->tag + T_DATA, c->comm,
                                MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            rs = SL_FAIL(SL_EMPI, "channel %s: MPI_Recv of batch %llu from rank %d failed",
                         c->name, (unsigned long long)sl_batch_seq(b), src);
        if (t != MPI_DATATYPE_NULL)
            MPI_Type_free(&t);
    }
    if (rs == SL_OK)
        rs = sl_batch_check_offsets(b, err);
    inbound in = {b, s};
    if (rs == SL_OK && !ring_push(&c->inbox, &in))
        rs = SL_FAIL(SL_EINVAL, "channel %s: rank %d sent more batches than it had credits",
                     c->name, src);
    if (rs != SL_OK) {
        sl_batch_pool_put(c->pool, b);
        sl_error_prefix(err, "channel %s", c->name);
        return rs;
    }
    atomic_fetch_add(&c->received[s], 1);
    return SL_OK;
}

static sl_status receiver_progress(sl__chan *c, bool *busy, void (*wake)(void *), void *ws,
                                   sl_error *err)
{
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, c->tag + T_META, c->comm, &flag, &st);
        if (!flag)
            break;
        SL_TRY(receive_data(c, &st, busy, err));
        wake(ws);
    }
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, c->tag + T_END, c->comm, &flag, &st);
        if (!flag)
            break;
        uint64_t n;
        MPI_Recv(&n, (int)sizeof n, MPI_BYTE, st.MPI_SOURCE, c->tag + T_END, c->comm,
                 MPI_STATUS_IGNORE);
        int s = index_of(c->senders, c->nsend, st.MPI_SOURCE);
        SL_CHECK(s >= 0, SL_EMPI, "channel %s: an end count from rank %d, not a sender", c->name,
                 st.MPI_SOURCE);
        atomic_store(&c->end_count[s], (long long)n);
        *busy = true;
        wake(ws);
    }
    /* Credits back, one message per sender for all its slots freed since. */
    int from;
    int64_t *back = NULL;
    while (ring_pop(&c->returns, &from)) {
        if (!back && !(back = calloc((size_t)c->nsend, sizeof *back)))
            return SL_FAIL(SL_ENOMEM, "out of memory");
        back[from]++;
    }
    for (int s = 0; back && s < c->nsend; s++)
        if (back[s] && !c->acked[s] && !c->drain) {
            sl_status r = ctrl(c, s, back[s], err);
            if (r != SL_OK) {
                free(back);
                return r;
            }
            *busy = true;
        }
    free(back);
    for (int s = 0; s < c->nsend; s++) {
        long long e = atomic_load(&c->end_count[s]);
        if (!c->acked[s] && e >= 0 && atomic_load(&c->received[s]) == (unsigned long long)e) {
            SL_TRY(ctrl(c, s, -1, err));
            c->acked[s] = true;
            *busy = true;
        }
    }
    return SL_OK;
}

sl_status sl__chan_progress(sl__chan *c, bool *busy, void (*wake)(void *), void *ws,
                            sl_error *err)
{
    if (c->my_send >= 0)
        SL_TRY(sender_progress(c, busy, wake, ws, err));
    if (c->my_recv >= 0)
        SL_TRY(receiver_progress(c, busy, wake, ws, err));
    test_pending(c);
    return SL_OK;
}

bool sl__chan_closed(const sl__chan *c)
{
    if (c->npend)
        return false;
    if (c->my_send >= 0 && !(c->end_sent && c->acks == c->nrecv))
        return false;
    for (int s = 0; c->my_recv >= 0 && s < c->nsend; s++)
        if (!c->acked[s])
            return false;
    return true;
}
