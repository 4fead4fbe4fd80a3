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

/* ---- Better-path probe ----
 * A tree built from first pulls is not the fastest: the link that
 * delivered the first tx of a bucket stays its parent while another
 * neighbour may have each tx sooner. An announcer's inv leaves it one
 * batch (P2P tx_batch_ms, taken to be ours) after it had the tx, so an
 * inv that arrives before our eager body, or less than a batch after it,
 * says that neighbour had the tx before our parent's push reached us: it
 * is grafted too (a probe). The next tx of the bucket then comes on both
 * links, and the duplicate prunes the slower one, so the tree moves to
 * the faster path at the cost of one body. Once per tx, the first such
 * announcer only. */
enum { PUSH_SEEN_EMPTY = 0, PUSH_SEEN_INV, PUSH_SEEN_BODY, PUSH_SEEN_DONE };

static struct p2p_push_seen *seen_slot(struct p2p *p, uint64_t sid)
{
    return &p->push_seen[sid & (P2P_PUSH_SEEN_SLOTS - 1)];
}

/* pe had a tx of bucket b before our parent's push reached us: grafted
 * once it was so c->need times in a row for this bucket. Each probe costs
 * a body (whichever link loses is pruned by its duplicate), so need
 * doubles with every probe, up to P2P_PUSH_PROBE_STREAK_MAX, and halves
 * after P2P_PUSH_PROBE_QUIET txs of the bucket with no candidate: on fixed
 * paths the tree settles after a few probes and need falls back to 1;
 * under per-frame jitter a candidate shows up nearly every tx (noise) and
 * need stays at the cap, one probe per that many txs. */
static void probe(struct p2p *p, struct peer *pe, unsigned b)
{
    uint32_t bit = bit_of(b);
    if (!pe || !p2p__live(pe) || (pe->push_from & bit))
        return;
    struct p2p_push_cand *c = &p->push_cand[b];
    c->quiet = 0;
    if (c->peer != pe->id) {
        c->peer = pe->id;
        c->streak = 0;
    }
    unsigned need = c->need ? c->need : 1u;
    if (++c->streak < need)
        return;
    c->peer = 0;
    c->need = (uint8_t)(need < P2P_PUSH_PROBE_STREAK_MAX ? 2 * need : P2P_PUSH_PROBE_STREAK_MAX);
    p->stats.push_probes++;
    graft(p, pe, bit);
}

/* An eager tx of bucket b with no candidate (so far). */
static void probe_quiet(struct p2p *p, unsigned b)
{
    struct p2p_push_cand *c = &p->push_cand[b];
    if (++c->quiet < P2P_PUSH_PROBE_QUIET)
        return;
    c->quiet = 0;
    c->need = (uint8_t)(c->need > 1 ? c->need / 2 : 1);
}

void p2p__push_on_inv(struct p2p *p, struct peer *pe, const uint8_t txid[32], bool have)
{
    if (p->relay_mode != P2P_RELAY_PUSH)
        return;
    uint64_t sid = p2p__sid(p, txid);
    struct p2p_push_seen *s = seen_slot(p, sid);
    if (!have) {
        if (s->kind == PUSH_SEEN_EMPTY || s->sid != sid)
            *s = (struct p2p_push_seen){ .sid = sid, .peer = pe->id, .at_ms = p->now,
                                         .kind = PUSH_SEEN_INV };
        return;
    }
    if (s->sid != sid || s->kind != PUSH_SEEN_BODY || s->peer == pe->id
        || p->now - s->at_ms >= p->tx_batch_ms)
        return;
    s->kind = PUSH_SEEN_DONE;
    probe(p, pe, s->bucket);
}

/* An eager body from pe, new to us. */
static void seen_eager_body(struct p2p *p, struct peer *pe, const struct chain_tx *tx,
                            unsigned bucket)
{
    uint64_t sid = p2p__sid(p, tx->txid);
    struct p2p_push_seen *s = seen_slot(p, sid);
    if (s->sid == sid && s->kind == PUSH_SEEN_INV && s->peer != pe->id) {
        s->kind = PUSH_SEEN_DONE;   /* announced before our parent's push came */
        probe(p, p2p__peer_find(p, s->peer), bucket);
        return;
    }
    probe_quiet(p, bucket);
    *s = (struct p2p_push_seen){ .sid = sid, .peer = pe->id, .at_ms = p->now,
                                 .bucket = (uint8_t)bucket, .kind = PUSH_SEEN_BODY };
}

uint64_t p2p__push_inv_delay(const struct p2p *p, const struct peer *pe)
{
    uint64_t pull = pe->inbound ? P2P_NONPREFERRED_DELAY_MS : 0;
    if (p->relay_mode != P2P_RELAY_PUSH)
        return pull;
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->push_from && p2p__live(p->peers[i]))
            return P2P_PUSH_LAZY_DELAY_MS;
    return pull;   /* no eager link: nothing to wait for */
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
    unsigned bucket = p2p__push_bucket(tx);
    uint32_t bit = bit_of(bucket);
    bool eager = !requested && (pe->push_from & bit);
    if (dup) {
        unqueue(pe, tx->txid);
        if (eager)
            prune(p, pe, bit);      /* another link was first: one is enough */
    } else if (requested) {
        graft(p, pe, bit);          /* first by pull: no eager link covered it */
    } else if (eager) {
        seen_eager_body(p, pe, tx, bucket);
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
