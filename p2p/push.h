/* Learned eager push of txs (relay_mode push; docs/PROTOCOL.md "Learned
 * eager push"). Internal to p2p/ (core.h includes it).
 *
 * Txs fall in P2P_PUSH_BUCKETS origin buckets by a hash of their sender
 * key. Per bucket and link a node keeps two bits: the peer asked us to
 * push (push_to) and we asked the peer (push_from). A link is eager for a
 * bucket once both ends grafted it (a graft is answered by a graft); the
 * eager links of a bucket form a tree (Plumtree's graft/prune):
 *   - a tx body that came first by pull (we requested it) grafts that link;
 *   - a duplicate eager body prunes that link, both ways;
 *   - a new tx is pushed as a body at once to every peer that asked for its
 *     bucket (not to the one it came from: the known filter), the other
 *     links get the batched inv as in pull mode.
 * Only a peer that sent a graft is pushed to, so a peer that does not know
 * pushreq (it ignores an unknown command) only ever sees invs. State is
 * the two bitmaps and a time per peer, nothing allocated. */
#ifndef GOSSIPD_P2P_PUSH_H
#define GOSSIPD_P2P_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/tx.h"

struct p2p;
struct peer;

/* A recent tx as the better-path probe saw it first (push.c). */
struct p2p_push_seen {
    uint64_t sid;               /* p2p__sid of the txid; 0: empty */
    uint64_t peer;              /* who announced (inv) or pushed (body) it first */
    uint64_t at_ms;
    uint8_t bucket;             /* body: its bucket */
    uint8_t kind;               /* PUSH_SEEN_INV, _BODY, or _DONE (probed once) */
};
/* Per bucket: the neighbour that last had its txs before our parent,
 * and the probe's adaptive streak (push.c). */
struct p2p_push_cand {
    uint64_t peer;              /* 0: none */
    uint8_t streak;             /* times in a row */
    uint8_t need;               /* streak that grafts (0 is 1) */
    uint8_t quiet;              /* eager txs since the last candidate */
};

/* The tx's origin bucket, < P2P_PUSH_BUCKETS. */
unsigned p2p__push_bucket(const struct chain_tx *tx);
/* Pushes the mempool tx txid to every live peer that asked for its bucket
 * and does not know it (marked known). Returns how many got it; 0 in pull
 * mode. */
size_t p2p__push_tx(struct p2p *p, const uint8_t txid[32]);
/* A tx body from pe: requested (we asked it), dup (we had it). Grafts or
 * prunes pe's link for the tx's bucket; returns true if an unrequested
 * body was expected (pe pushes that bucket to us, or a prune is recent),
 * i.e. not unsolicited. Pull mode: false, no state. */
bool p2p__push_on_body(struct p2p *p, struct peer *pe, const struct chain_tx *tx,
                       bool requested, bool dup);
int p2p__handle_pushreq(struct p2p *p, struct peer *pe, uint32_t graft, uint32_t prune);
/* An inv for txid from pe (have: we hold the tx). Feeds the better-path
 * probe; pull mode: nothing. */
void p2p__push_on_inv(struct p2p *p, struct peer *pe, const uint8_t txid[32], bool have);
/* How long an inv for a missing tx from pe waits before it is pulled:
 * pull mode, or a push-mode node with no eager link at all (nothing can
 * come eagerly), the pull delays (inbound announcers
 * P2P_NONPREFERRED_DELAY_MS); else P2P_PUSH_LAZY_DELAY_MS. */
uint64_t p2p__push_inv_delay(const struct p2p *p, const struct peer *pe);

#endif
