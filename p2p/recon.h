/* Mempool reconciliation by recursively narrowed bucket checksums.
 *
 * Each side keys its txids by a 64-bit short id: the txid's first 8 bytes
 * read little-endian (txids are SHA256d outputs, so uniform; both sides
 * must agree, so it is not salted; grinding txids only skews buckets and
 * costs extra rounds, it cannot hide a tx). A bucket (depth d, prefix p)
 * holds the ids whose top 4*d bits are p; its summary is (count, XOR of
 * short ids).
 *
 * A round: the initiator sends the root summary (d = 0). A side receiving
 * a summary compares it with its own bucket:
 *   - equal: done with that bucket;
 *   - own count <= P2P_RECON_LEAF_ENTRIES, or d = P2P_RECON_MAX_DEPTH:
 *     it lists its txids of the bucket (a "listing" node);
 *   - else if the other side's count <= LEAF: it sends its own summary of
 *     the same bucket back, so the other side lists;
 *   - else it sends the 16 child summaries (d + 1).
 * A side receiving a listing knows the whole difference for that bucket:
 * it requests (getdata, through the pull scheduler) the listed txids it
 * lacks and announces (inv) those it has that are not listed. Both sides
 * end with the union.
 *
 * Cost: 1 summary = 19 bytes. In sync, a round is one 22-byte message.
 * With n txs and one isolated difference, about log16(n / 8) levels of 16
 * summaries (304 bytes each) plus one listing of <= 8 txids (<= 267 bytes):
 * for n = 10,000 about 3 levels, ~1.2 KB per difference, against 360 KB
 * for an inv of the whole pool. Differences spread over many buckets cost
 * less each, since levels are shared near the root. */
#ifndef GOSSIPD_P2P_RECON_H
#define GOSSIPD_P2P_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/codec.h"
#include "p2p/msg.h"

struct p2p_recon_item {
    uint64_t sid;
    uint8_t txid[32];
};

/* A sorted snapshot of one side's txids, with prefix XORs of the short ids
 * (xacc[i] = XOR of items [0, i)) so a bucket's checksum costs two binary
 * searches, whatever its size. */
struct p2p_recon_set {
    struct p2p_recon_item *items;
    uint64_t *xacc;              /* n + 1 entries */
    size_t n;
};

/* Copies and sorts txids. 0 or P2P_ERR_NOMEM. */
int p2p_recon_set_build(struct p2p_recon_set *s, const uint8_t (*txids)[32], size_t n);
void p2p_recon_set_free(struct p2p_recon_set *s);
uint64_t p2p_recon_sid(const uint8_t txid[32]);
/* Items [*lo, *hi) of bucket (depth, prefix), and their XOR. */
void p2p_recon_bucket(const struct p2p_recon_set *s, unsigned depth, uint32_t prefix,
                      size_t *lo, size_t *hi, uint64_t *xor);

/* What processing a recon message produced. */
struct p2p_recon_out {
    struct wr body;              /* reply nodes (without the count) */
    size_t n_nodes, n_ids;
    uint8_t (*want)[32];         /* listed by the peer, missing here */
    size_t n_want, cap_want;
    uint8_t (*give)[32];         /* here, missing at the peer */
    size_t n_give, cap_give;
    /* Work done, in entries examined: 1 per node (a bucket's bounds and
     * checksum: two binary searches), 16 more for children summarised,
     * and per listing its ids plus the bucket entries compared. What a
     * peer may make us spend is budgeted in these. */
    size_t work;
    bool cut;                    /* stopped at work_max: nodes left unread */
};
void p2p_recon_out_init(struct p2p_recon_out *o);
void p2p_recon_out_free(struct p2p_recon_out *o);

/* The opening message of a round: the root summary. 0 or P2P_ERR_NOMEM. */
int p2p_recon_start(const struct p2p_recon_set *mine, struct p2p_recon_out *out);
/* Answers a received message (see the rules above). Replies beyond the
 * per-message caps are dropped, and so are the nodes left once out->work
 * reaches work_max (out->cut): the next round repairs both.
 * 0 or P2P_ERR_NOMEM. */
int p2p_recon_process(const struct p2p_recon_set *mine, const struct p2p_recon_msg *m,
                      size_t work_max, struct p2p_recon_out *out);

#endif
