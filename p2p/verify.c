/* Signature checks on the driver's workers (p2p_io.verify_tx).
 *
 * A tx, or a block with at least P2P_VERIFY_BLOCK_MIN_SIGS signatures the
 * chain's cache does not hold, is parked here on arrival, after the checks
 * every body gets (decoding, duplicates, unsolicited). Each uncached
 * signature becomes one job with a sequence number; the driver checks it on
 * another thread and reports it in any order. A good answer goes straight
 * into the chain's verified cache. Parked items are then handled strictly
 * in arrival order, by the same code as an inline one (p2p__accept_tx,
 * p2p__accept_block): every good signature is a cache hit by then, and a
 * bad one is checked once more inline and refused by the chain as before.
 * So what happens never depends on the threads; only when it happens does.
 *
 * Jobs live in a ring of P2P_VERIFY_MAX_JOBS slots indexed by sequence
 * number; a block takes one slot per uncached signature. When the ring (or
 * the parked-block count) is full, items are handled inline: the driver is
 * behind, and the core's own thread does the work instead. */
#include "p2p/core.h"

#include <stdlib.h>
#include <string.h>

struct p2p_vjob {
    bool is_block;
    unsigned flags;                /* block: chain_accept_block_ex's */
    uint64_t from;
    uint64_t first;             /* its first job id */
    uint32_t slots, left;       /* job ids taken; not yet reported */
    uint8_t key[32];            /* txid or block hash (the parked map's key) */
    struct chain_tx tx;         /* !is_block */
    struct chain_block block;   /* is_block (owned) */
};

struct p2p_vslot {
    struct p2p_vjob *job;
    uint32_t idx;               /* the signature's tx in the block (0 for a tx) */
    bool reported;
};

#define SLOT(v, id) (&(v)->slots[(id) & (P2P_VERIFY_MAX_JOBS - 1)])

static bool ready(struct p2p *p)
{
    struct p2p_verify_state *v = &p->verify;
    if (!p->io.verify_tx)
        return false;
    if (!v->slots) {
        v->slots = p2p__calloc(P2P_VERIFY_MAX_JOBS, sizeof *v->slots);
        if (!v->slots)
            return false;
        hmap_init(&v->parked, p->salt);
        v->head = v->next = 1;
    }
    return true;
}

static size_t free_slots(const struct p2p_verify_state *v)
{
    return P2P_VERIFY_MAX_JOBS - (size_t)(v->next - v->head);
}

/* Hands out the job for signature idx of j. False if the driver refused. */
static bool hand_out(struct p2p *p, struct p2p_vjob *j, const struct chain_tx *tx, uint32_t idx)
{
    struct p2p_verify_state *v = &p->verify;
    uint64_t id = v->next;
    if (p->io.verify_tx(p->io.ctx, id, tx) != 0)
        return false;
    *SLOT(v, id) = (struct p2p_vslot){ .job = j, .idx = idx, .reported = false };
    v->next++;
    j->slots++;
    j->left++;
    p->stats.sigs_offloaded++;
    return true;
}

static void job_free(struct p2p_vjob *j)
{
    if (j->is_block)
        chain_block_free(&j->block);
    free(j);
}

/* Makes a job with signatures out findable by p2p__verify_parked. Out of
 * memory only hides it from that lookup (a copy may then be fetched
 * again, and found a duplicate); it is still drained in order. */
static void park(struct p2p *p, struct p2p_vjob *j)
{
    (void)hmap_put(&p->verify.parked, j->key, j);
}

bool p2p__verify_park_tx(struct p2p *p, uint64_t from, const struct chain_tx *tx)
{
    if (!ready(p) || free_slots(&p->verify) < 1 || chain_tx_is_coinbase(tx)
        || chain_sig_cached(p->chain, tx->txid))
        return false;
    struct p2p_vjob *j = p2p__calloc(1, sizeof *j);
    if (!j)
        return false;
    j->from = from;
    j->first = p->verify.next;
    j->tx = *tx;
    memcpy(j->key, tx->txid, 32);
    if (!hand_out(p, j, &j->tx, 0)) {
        free(j);
        return false;
    }
    park(p, j);
    return true;
}

bool p2p__verify_park_block(struct p2p *p, uint64_t from, unsigned flags, struct chain_block *b)
{
    struct p2p_verify_state *v = &p->verify;
    if (!ready(p) || v->blocks >= P2P_VERIFY_MAX_BLOCKS)
        return false;
    size_t cold = 0;
    for (size_t i = 0; i < b->n_tx; i++)
        cold += !chain_tx_is_coinbase(&b->txs[i]) && !chain_sig_cached(p->chain, b->txs[i].txid);
    if (cold < P2P_VERIFY_BLOCK_MIN_SIGS || cold > free_slots(v))
        return false;
    struct p2p_vjob *j = p2p__calloc(1, sizeof *j);
    if (!j)
        return false;
    j->is_block = true;
    j->flags = flags;
    j->from = from;
    j->first = v->next;
    chain_header_hash(&b->hdr, j->key);
    j->block = *b;   /* moved: the caller's copy is emptied below */
    for (size_t i = 0; i < j->block.n_tx; i++) {
        const struct chain_tx *tx = &j->block.txs[i];
        if (chain_tx_is_coinbase(tx) || chain_sig_cached(p->chain, tx->txid))
            continue;
        if (!hand_out(p, j, tx, (uint32_t)i))
            break;   /* the rest are checked inline by the chain */
    }
    if (j->slots == 0) {
        free(j);   /* nothing handed out: *b is still the caller's */
        return false;
    }
    park(p, j);
    memset(b, 0, sizeof *b);
    v->blocks++;
    p2p__block_hold(p, j->key);
    return true;
}

bool p2p__verify_parked(const struct p2p *p, const uint8_t hash[32])
{
    return p->verify.slots && hmap_get(&p->verify.parked, hash) != NULL;
}

const struct chain_block *p2p__verify_parked_block(const struct p2p *p, const uint8_t hash[32])
{
    const struct p2p_vjob *j = p->verify.slots ? hmap_get(&p->verify.parked, hash) : NULL;
    return j && j->is_block ? &j->block : NULL;
}

/* Handles the parked items at the head whose signatures are all in. */
static void drain(struct p2p *p)
{
    struct p2p_verify_state *v = &p->verify;
    while (v->head != v->next) {
        struct p2p_vjob *j = SLOT(v, v->head)->job;
        if (j->left)
            break;
        v->head += j->slots;
        if (hmap_get(&v->parked, j->key) == j)
            hmap_del(&v->parked, j->key);
        int r;
        if (j->is_block) {
            v->blocks--;
            r = p2p__accept_block(p, j->from, j->flags, &j->block);
        } else {
            r = p2p__accept_tx(p, j->from, &j->tx);
        }
        /* The sender answers for it as if inline; gone, only ours count. */
        struct peer *pe = p2p__peer_find(p, j->from);
        if (pe)
            p2p__result(p, pe, r);
        else if (p2p__is_local_error(r))
            p2p__local_error(p, NULL, r);
        job_free(j);
    }
}

void p2p_on_verified(struct p2p *p, uint64_t job, bool ok, uint64_t now_ms)
{
    struct p2p_verify_state *v = &p->verify;
    p2p__set_now(p, now_ms);
    if (!v->slots || job < v->head || job >= v->next)
        return;
    struct p2p_vslot *s = SLOT(v, job);
    if (s->reported)
        return;
    s->reported = true;
    struct p2p_vjob *j = s->job;
    if (ok)
        chain_sig_verified(p->chain, j->is_block ? j->block.txs[s->idx].txid : j->tx.txid);
    j->left--;
    drain(p);
    p2p__send_requests(p);
    if (p->fetch_dirty)
        p2p__plan_fetch(p), p2p__send_requests(p);
    p2p__sweep(p);
}

void p2p__verify_free(struct p2p *p)
{
    struct p2p_verify_state *v = &p->verify;
    if (!v->slots)
        return;
    for (uint64_t id = v->head; id != v->next; id++) {
        struct p2p_vjob *j = SLOT(v, id)->job;
        if (id == j->first)
            job_free(j);
    }
    free(v->slots);
    hmap_free(&v->parked);
    memset(v, 0, sizeof *v);
}
