/* Compact blocks and high-bandwidth push (docs/PROTOCOL.md "Compact
 * blocks"): a block crosses a link as its header, a nonce and a 6-byte
 * short id per tx; the receiver rebuilds it from its mempool, its waiting
 * area and its last blocks, asks for the txs it lacks (getblocktxn), and
 * falls back to the full block on a collision, a wrong merkle root or a
 * timeout. Peers that never send sendcmpct are served as before.
 *
 * Internal to p2p/ (core.h's sibling): the hooks the other modules call. */
#ifndef GOSSIPD_P2P_CMPCT_H
#define GOSSIPD_P2P_CMPCT_H

#include "p2p/core.h"

/* Node-wide state (p2p_create / p2p_destroy). 0 or P2P_ERR_NOMEM. */
int p2p__cmpct_init(struct p2p *p);
void p2p__cmpct_free(struct p2p *p);

/* The handshake finished: announce compact blocks (sendcmpct hb=0). */
void p2p__cmpct_peer_ready(struct p2p *p, struct peer *pe);
/* The peer is gone: its reconstructions and its HB slot are dropped. */
void p2p__cmpct_peer_gone(struct p2p *p, struct peer *pe);

/* Handlers: 0, or a P2P_ERR_* for a malformed payload (the dispatcher
 * scores it); other faults are scored inside. */
int p2p__handle_sendcmpct(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
int p2p__handle_cmpctblock(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
int p2p__handle_getblocktxn(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
int p2p__handle_blocktxn(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);

/* getdata P2P_INV_CMPCT: frames the stored block as a cmpctblock in w
 * (between FRAME_START and p2p__frame_send; *cmd says which command).
 * Returns false if we lack it, or a cmpctblock for it crossed this link
 * already (the crossing answered the request). */
bool p2p__cmpct_frame(struct p2p *p, const struct peer *pe, const uint8_t hash[32],
                      struct wr *w, enum p2p_cmd *cmd);
/* The inv type to ask pe for block hash with: P2P_INV_CMPCT if it speaks
 * compact blocks and the block extends our tip (its txs are likely in our
 * mempool) and no compact attempt for it failed; else P2P_INV_BLOCK. */
uint32_t p2p__cmpct_request_type(struct p2p *p, const struct peer *pe, const uint8_t hash[32]);
/* Announcing a new tip: pushes a cmpctblock to pe if it asked for
 * high-bandwidth mode (true: announced). */
bool p2p__cmpct_announce(struct p2p *p, struct peer *pe, const struct chain_block *b,
                         const uint8_t hash[32]);
/* Our own block (p2p_submit_block), its header checked against our tip
 * and its merkle root against its txs, before it is connected: pushed as
 * a cmpctblock to every peer that asked for pushes (hb=1) and is not
 * known to have it (with the txs that peer is not known to have
 * prefilled, up to P2P_CMPCT_PREFILL_MAX_BYTES), then marked known there,
 * so the announcement after the connect skips them. Returns the peers
 * pushed to. */
size_t p2p__cmpct_push_own(struct p2p *p, const struct chain_block *b, const uint8_t hash[32]);
/* A block being reconstructed (do not plan another download of it). */
bool p2p__cmpct_busy(const struct p2p *p, const uint8_t hash[32]);
/* We asked pe for this full block as a compact fallback. */
bool p2p__cmpct_expects_block(const struct p2p *p, const struct peer *pe,
                              const uint8_t hash[32]);
/* A body for hash arrived (any peer, any form): its reconstruction ends. */
void p2p__cmpct_done(struct p2p *p, const uint8_t hash[32]);
/* pe announced a block we lack (headers, inv, cmpctblock): remembered
 * if it is the first (P2P_CMPCT_FIRST_ANN_ENTRIES recent blocks). */
void p2p__cmpct_announced(struct p2p *p, const struct peer *pe, const uint8_t hash[32]);
/* Block hash became our new tip, its body from pe (NULL: not from a
 * peer): the peer that announced it first (else pe) becomes our first
 * high-bandwidth peer (sendcmpct hb=1), and the oldest of
 * P2P_CMPCT_HB_PEERS gives way. The first announcer, not the first body:
 * a peer that is not pushing to us announces as soon as it has the
 * block, so the first announcement marks the fastest path, while a body
 * from it would take the getdata round trip and never come first. */
void p2p__cmpct_block_first(struct p2p *p, struct peer *pe, const uint8_t hash[32]);

/* A block pe pushed to us in high-bandwidth mode failed validation. It
 * was sent before validation, as we asked, so an honest relay may have
 * passed it on: pe is not scored, but it stops being one of our
 * high-bandwidth peers (sendcmpct hb=0) until it gives us a new tip first
 * again. */
void p2p__cmpct_hb_demote(struct p2p *p, struct peer *pe);

/* Fallback timers. */
void p2p__cmpct_tick(struct p2p *p);
uint64_t p2p__cmpct_next_deadline(const struct p2p *p);

#endif
