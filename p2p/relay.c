/* Announcing: per-peer known filters, tx inv batches with fan-out, block
 * announcements (headers or inv), and serving getdata. */
#include "p2p/core.h"

#include <stdlib.h>
#include <string.h>

void p2p__flush_txq(struct p2p *p, struct peer *pe)
{
    if (pe->txq_n == 0 || pe->dead)
        return;
    p2p__send_inv(p, pe, P2P_CMD_INV, P2P_INV_TX, (const uint8_t (*)[32])pe->txq, pe->txq_n);
    pe->txq_n = 0;
}

/* Queues txid for the peer's next inv batch unless it is known to have
 * it. Returns true if queued. */
bool p2p__queue_tx(struct p2p *p, struct peer *pe, const uint8_t txid[32])
{
    if (!p2p__live(pe) || !pe->relay || p2p__known_has(p, pe, txid))
        return false;
    if (pe->txq_n == pe->txq_cap) {
        if (pe->txq_cap >= P2P_TX_QUEUE_MAX_ENTRIES)
            return false;
        size_t cap = pe->txq_cap ? 2 * pe->txq_cap : 64;
        if (cap > P2P_TX_QUEUE_MAX_ENTRIES)
            cap = P2P_TX_QUEUE_MAX_ENTRIES;
        uint8_t (*nq)[32] = p2p__realloc(pe->txq, cap * 32);
        if (!nq) {
            p2p__local_error(p, pe, P2P_ERR_NOMEM);
            return false;
        }
        pe->txq = nq;
        pe->txq_cap = cap;
    }
    p2p__known_add(p, pe, txid);
    if (pe->txq_n == 0)
        pe->txq_due_ms = p->now + p->tx_batch_ms;
    memcpy(pe->txq[pe->txq_n++], txid, 32);
    return true;
}

/* Announces a tx to every peer that does not know it, or to a random
 * `fanout` of them. */
void p2p__announce_tx(struct p2p *p, const uint8_t txid[32])
{
    struct peer *cand[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        struct peer *pe = p->peers[i];
        if (p2p__live(pe) && pe->relay && !p2p__known_has(p, pe, txid))
            cand[n++] = pe;
    }
    size_t k = n;
    if (p->fanout && p->fanout < n) {
        k = p->fanout;
        for (size_t i = 0; i < k; i++) {   /* partial Fisher-Yates */
            size_t j = i + (size_t)p2p_rng_below(&p->rng, n - i);
            struct peer *t = cand[i];
            cand[i] = cand[j];
            cand[j] = t;
        }
    }
    size_t sent = 0;
    for (size_t i = 0; i < k; i++)
        sent += p2p__queue_tx(p, cand[i], txid);
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_TX, txid, sent);
}

/* Announces the block at once: headers to peers that asked for them
 * (sendheaders), inv to the others. */
static void announce_block(struct p2p *p, const uint8_t hash[32])
{
    struct chain_header h;
    uint32_t height;
    if (!chain_get_header(p->chain, hash, &h, &height))
        return;
    size_t sent = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (!p2p__live(pe) || p2p__known_has(p, pe, hash))
            continue;
        p2p__known_add(p, pe, hash);
        if (pe->sendheaders) {
            struct wr w;
            FRAME_START(w);
            p2p_put_headers(&w, &h, 1);
            p2p__frame_send(p, pe, P2P_CMD_HEADERS, &w);
        } else {
            uint8_t one[1][32];
            memcpy(one[0], hash, 32);
            p2p__send_inv(p, pe, P2P_CMD_INV, P2P_INV_BLOCK, (const uint8_t (*)[32])one, 1);
        }
        sent++;
    }
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_BLOCK, hash, sent);
}

/* After anything that may move the tip: announce the new tip. */
void p2p__tip_changed(struct p2p *p)
{
    uint8_t tip[32];
    chain_tip(p->chain, tip);
    if (memcmp(tip, p->last_tip, 32) == 0)
        return;
    memcpy(p->last_tip, tip, 32);
    p2p_idset_clear(&p->rejected.gen[0]);
    p2p_idset_clear(&p->rejected.gen[1]);
    announce_block(p, tip);
    p->fetch_dirty = true;
}

static void send_tx_body(struct p2p *p, struct peer *pe, const struct chain_tx *tx)
{
    struct wr w;
    FRAME_START(w);
    chain_tx_encode(&w, tx);
    p2p__frame_send(p, pe, P2P_CMD_TX, &w);
}

int p2p__handle_getdata(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    uint32_t *nf_types = NULL;
    uint8_t (*nf)[32] = NULL;
    size_t n_nf = 0;
    int ret = 0;
    for (size_t i = 0; i < l->n && !pe->dead; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        bool found = false;
        if (type == P2P_INV_TX) {
            const struct chain_tx *tx = chain_mempool_get(p->chain, hash);
            if (tx) {
                send_tx_body(p, pe, tx);
                found = true;
            }
        } else {
            uint8_t *raw = NULL;
            size_t len = 0;
            if (chain_get_block_raw(p->chain, hash, &raw, &len) == 0) {
                struct wr w;
                FRAME_START(w);
                wr_bytes(&w, raw, len);
                p2p__frame_send(p, pe, P2P_CMD_BLOCK, &w);
                free(raw);
                found = true;
            }
        }
        if (found) {
            p2p__known_add(p, pe, hash);
            continue;
        }
        if (!nf) {
            nf = p2p__malloc(l->n * 32);
            nf_types = p2p__malloc(l->n * sizeof(*nf_types));
            if (!nf || !nf_types) {
                ret = P2P_ERR_NOMEM;   /* the rest is not served: it asks again */
                break;
            }
        }
        nf_types[n_nf] = type;
        memcpy(nf[n_nf++], hash, 32);
    }
    if (n_nf && nf && nf_types && !pe->dead) {
        struct wr w;
        FRAME_START(w);
        p2p_put_inv_mixed(&w, nf_types, (const uint8_t (*)[32])nf, n_nf);
        p2p__frame_send(p, pe, P2P_CMD_NOTFOUND, &w);
    }
    free(nf);
    free(nf_types);
    return ret;
}

void p2p__relay_peer_tick(struct p2p *p, struct peer *pe)
{
    if (pe->txq_n && p->now >= pe->txq_due_ms)
        p2p__flush_txq(p, pe);
}

uint64_t p2p__relay_peer_next_deadline(const struct p2p *p, const struct peer *pe)
{
    (void)p;
    return pe->txq_n ? pe->txq_due_ms : UINT64_MAX;
}
