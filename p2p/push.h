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

#endif
