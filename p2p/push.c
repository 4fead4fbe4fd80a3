/* Learned eager push of txs per origin bucket (push.h has the rules). */
#include "p2p/core.h"

#include <string.h>

static uint32_t bit_of(unsigned b)
{
    return 1u << b;
}

unsigned p2p__push_bucket(const struct chain_tx *tx)
{
    return (unsigned)(p2p_shortid(P2P_PUSH_BUCKET_SALT, tx->from) % P2P_PUSH_BUCKETS);
}

static void send_pushreq(struct p2p *p, struct peer *pe, uint32_t graft, uint32_t prune)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_pushreq(&w, graft, prune);
    p2p__frame_send(p, pe, P2P_CMD_PUSHREQ, &w);
}

static void graft(struct p2p *p, struct peer *pe, uint32_t bits)
{
    bits &= ~pe->push_from;
    if (!bits)
        return;
    pe->push_from |= bits;
    p->stats.push_grafts++;
    send_pushreq(p, pe, bits, 0);
}

static void prune(struct p2p *p, struct peer *pe, uint32_t bits)
{
    pe->push_from &= ~bits;
    pe->push_to &= ~bits;
    pe->push_pruned_ms = p->now;
    p->stats.push_prunes++;
    send_pushreq(p, pe, 0, bits);
}

size_t p2p__push_tx(struct p2p *p, const uint8_t txid[32])
{
    if (p->relay_mode != P2P_RELAY_PUSH)
        return 0;
    const struct chain_tx *tx = chain_mempool_get(p->chain, txid);
    if (!tx)
        return 0;
    uint32_t bit = bit_of(p2p__push_bucket(tx));
    size_t sent = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (!(pe->push_to & bit) || !p2p__live(pe) || !pe->relay || p2p__known_has(p, pe, txid))
            continue;
        p2p__known_add(p, pe, txid);
        struct wr w;
        FRAME_START(w);
        chain_tx_encode(&w, tx);
        p2p__frame_send(p, pe, P2P_CMD_TX, &w);
        p->stats.tx_pushed++;
        sent++;
    }
    return sent;
}

/* An inv for txid waiting in pe's batch is dropped: pe sent us the body
 * meanwhile (an eager body crossing our batch), so the inv would go back
 * to where the tx came from. */
static void unqueue(struct peer *pe, const uint8_t txid[32])
{
    for (size_t i = 0; i < pe->txq_n; i++)
        if (memcmp(pe->txq[i], txid, 32) == 0) {
            memmove(pe->txq[i], pe->txq[i + 1], (pe->txq_n - i - 1) * 32);
            pe->txq_n--;
            return;
        }
}

bool p2p__push_on_body(struct p2p *p, struct peer *pe, const struct chain_tx *tx,
                       bool requested, bool dup)
{
    if (p->relay_mode != P2P_RELAY_PUSH)
        return false;
    uint32_t bit = bit_of(p2p__push_bucket(tx));
    bool eager = !requested && (pe->push_from & bit);
    if (dup) {
        unqueue(pe, tx->txid);
        if (eager)
            prune(p, pe, bit);      /* another link was first: one is enough */
    } else if (requested) {
        graft(p, pe, bit);          /* first by pull: no eager link covered it */
    }
    return eager || (pe->push_pruned_ms && p->now - pe->push_pruned_ms < P2P_PUSH_PRUNE_GRACE_MS);
}

int p2p__handle_pushreq(struct p2p *p, struct peer *pe, uint32_t graft_bits, uint32_t prune_bits)
{
    if (p->relay_mode != P2P_RELAY_PUSH)
        return 0;                   /* as a node without it: ignored */
    if (prune_bits) {
        pe->push_to &= ~prune_bits;
        pe->push_from &= ~prune_bits;
        pe->push_pruned_ms = p->now;
    }
    pe->push_to |= graft_bits;
    /* A graft is answered by ours (once: a bit we already asked for is
     * not asked again), so both ends push. */
    uint32_t answer = graft_bits & ~pe->push_from;
    if (answer) {
        pe->push_from |= answer;
        send_pushreq(p, pe, answer, 0);
    }
    return 0;
}
