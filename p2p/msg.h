/* Message payload codecs. Layouts (docs/PROTOCOL.md "## Messages"):
 *
 *   version     version i32 | services u64 | timestamp i64 | addr_recv netaddr |
 *               addr_from netaddr | nonce u64 | user_agent varstr (<= 256) |
 *               start_height i32 | relay u8 (0/1)
 *   verack, getaddr, sendheaders, mempool: empty
 *   ping, pong  nonce u64
 *   addr        varint n (<= 1000) | n x (time u32 | netaddr)
 *   inv, getdata, notfound   varint n (<= 50000) | n x (type u32 | hash[32])
 *   tx          one transaction (chain/tx.h)
 *   block       one block (chain/block.h)
 *   getheaders  version u32 | varint n (<= 101) | n x hash[32] | stop[32]
 *   headers     varint n (<= 2000) | n x (header[88] | varint 0)
 *   recon       varint n (<= 4096) | n x node, with
 *               node = kind u8 | depth u8 | prefix u32 | count varint (<= 2^32) |
 *                      kind 0 (summary): xor u64
 *                      kind 1 (listing): count x txid[32]
 *               at most 4096 txids listed per message (see p2p/recon.h).
 *   sendcmpct   hb u8 (0/1) | version u64
 *   cmpctblock  header[88] | nonce u64 | varint n (<= P2P_MAX_CMPCT_TXS) | n x sid[6] |
 *               varint m (1..) | m x (varint index delta | tx); the first prefilled
 *               index is 0 (the coinbase), n + m <= P2P_MAX_CMPCT_TXS
 *   getblocktxn hash[32] | varint n (1..P2P_MAX_CMPCT_TXS) | n x varint index delta
 *   blocktxn    hash[32] | varint n (<= P2P_MAX_CMPCT_TXS) | n x tx
 *   Index deltas: each index is the previous one + 1 + delta (the first: delta),
 *   so indexes strictly increase and stay below P2P_MAX_CMPCT_TXS.
 *   pushreq     graft u32 | prune u32: bucket bitmaps (bits < P2P_PUSH_BUCKETS,
 *               no bit in both; p2p/push.h)
 *
 * Decoders borrow the payload (lists stay as raw bytes, read with the *_at
 * accessors, which cannot fail once the decoder has accepted the payload),
 * check every count against its cap before using it, accept only canonical
 * encodings and reject trailing bytes. They return 0 or a P2P_ERR_*. */
#ifndef GOSSIPD_P2P_MSG_H
#define GOSSIPD_P2P_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/codec.h"
#include "chain/tx.h"
#include "p2p/p2p.h"

struct p2p_version {
    int32_t version;
    uint64_t services;
    int64_t timestamp;           /* seconds */
    uint64_t recv_services;
    struct p2p_addr addr_recv;
    uint64_t from_services;
    struct p2p_addr addr_from;
    uint64_t nonce;
    char user_agent[P2P_MAX_USER_AGENT_BYTES + 1];
    int32_t start_height;
    bool relay;
};

/* A borrowed list of fixed-size entries (inv, addr, headers, locator). */
struct p2p_list {
    size_t n;
    const uint8_t *raw;
};

struct p2p_getheaders {
    uint32_t version;
    struct p2p_list locator;     /* n x hash[32] */
    uint8_t stop[32];
};

struct p2p_addr_entry {
    uint32_t time;               /* seconds */
    uint64_t services;
    struct p2p_addr addr;
};

/* One node of a recon message. */
#define P2P_RECON_SUMMARY 0
#define P2P_RECON_LISTING 1
struct p2p_recon_node {
    uint8_t kind;
    uint8_t depth;
    uint32_t prefix;
    uint32_t count;
    uint64_t xor;                /* summary only */
    const uint8_t *ids;          /* listing only: count x txid[32], borrowed */
};

struct p2p_recon_msg {
    size_t n;                    /* nodes */
    const uint8_t *raw;          /* the nodes, validated */
    size_t raw_len;
};

/* Walks a decoded recon message. */
struct p2p_recon_iter {
    struct rd r;
    size_t left;
};

/* ---- Compact blocks (docs/PROTOCOL.md "Compact blocks") ---- */
struct p2p_sendcmpct {
    bool hb;                     /* push cmpctblock to me unsolicited */
    uint64_t version;
};

struct p2p_cmpctblock {
    struct chain_header hdr;
    uint64_t nonce;              /* keys the short ids with the header */
    size_t n_sid;
    const uint8_t *sids;         /* n_sid x P2P_CMPCT_SHORTID_BYTES, borrowed */
    size_t n_pre;                /* >= 1: the coinbase at least */
    const uint8_t *pre;          /* the validated prefilled list, borrowed */
    size_t pre_len;
    size_t n_tx;                 /* n_sid + n_pre: the block's tx count */
};

/* Walks a decoded cmpctblock's prefilled txs (absolute indexes). */
struct p2p_prefilled_iter {
    struct rd r;
    size_t left;
    uint64_t next;               /* lowest index the next entry may have */
};

struct p2p_getblocktxn {
    uint8_t hash[32];
    size_t n;                    /* >= 1 */
    const uint8_t *raw;          /* n index deltas, validated */
    size_t raw_len;
    uint32_t last;               /* the highest index asked for */
};

struct p2p_blocktxn {
    uint8_t hash[32];
    size_t n;
    const uint8_t *raw;          /* n txs, validated */
    size_t raw_len;
};

/* Walks a decoded blocktxn's txs. */
struct p2p_blocktxn_iter {
    struct rd r;
    size_t left;
};

int p2p_dec_version(const uint8_t *buf, size_t len, struct p2p_version *v);
int p2p_dec_nonce(const uint8_t *buf, size_t len, uint64_t *nonce);      /* ping, pong */
int p2p_dec_empty(const uint8_t *buf, size_t len);
int p2p_dec_addr(const uint8_t *buf, size_t len, struct p2p_list *l);
int p2p_dec_inv(const uint8_t *buf, size_t len, struct p2p_list *l);     /* + getdata, notfound */
/* getdata: as inv, and P2P_INV_CMPCT entries may be asked for too. */
int p2p_dec_getdata(const uint8_t *buf, size_t len, struct p2p_list *l);
int p2p_dec_tx(const uint8_t *buf, size_t len, struct chain_tx *tx);
/* Decodes into b (owned: chain_block_free), max size P2P_MAX_BLOCK_BYTES. */
int p2p_dec_block(const uint8_t *buf, size_t len, struct chain_block *b);
int p2p_dec_getheaders(const uint8_t *buf, size_t len, struct p2p_getheaders *g);
int p2p_dec_headers(const uint8_t *buf, size_t len, struct p2p_list *l);
int p2p_dec_recon(const uint8_t *buf, size_t len, struct p2p_recon_msg *m);
int p2p_dec_pushreq(const uint8_t *buf, size_t len, uint32_t *graft, uint32_t *prune);

int p2p_dec_sendcmpct(const uint8_t *buf, size_t len, struct p2p_sendcmpct *s);
/* The counts are capped and checked against the bytes present; the
 * prefilled txs are decoded once (and again by the iterator). Nothing is
 * allocated. */
int p2p_dec_cmpctblock(const uint8_t *buf, size_t len, struct p2p_cmpctblock *c);
int p2p_dec_getblocktxn(const uint8_t *buf, size_t len, struct p2p_getblocktxn *g);
int p2p_dec_blocktxn(const uint8_t *buf, size_t len, struct p2p_blocktxn *b);

/* Short id i (48 bits) of a decoded cmpctblock. */
uint64_t p2p_cmpct_sid_at(const struct p2p_cmpctblock *c, size_t i);
void p2p_prefilled_iter_init(struct p2p_prefilled_iter *it, const struct p2p_cmpctblock *c);
/* False when done; *index is absolute. */
bool p2p_prefilled_next(struct p2p_prefilled_iter *it, uint32_t *index, struct chain_tx *tx);
/* The g->n absolute indexes, ascending, into out (room for g->n). */
void p2p_getblocktxn_indexes(const struct p2p_getblocktxn *g, uint32_t *out);
void p2p_blocktxn_iter_init(struct p2p_blocktxn_iter *it, const struct p2p_blocktxn *b);
bool p2p_blocktxn_next(struct p2p_blocktxn_iter *it, struct chain_tx *tx);

/* The SipHash key of a compact block: the first 16 bytes of
 * SHA256(header[88] | nonce u64 LE). */
void p2p_cmpct_key(const struct chain_header *h, uint64_t nonce, uint8_t key[16]);
/* A txid's short id under key: SipHash-2-4(key, txid), low 48 bits. */
uint64_t p2p_cmpct_shortid(const uint8_t key[16], const uint8_t txid[32]);

void p2p_inv_at(const struct p2p_list *l, size_t i, uint32_t *type, const uint8_t **hash);
void p2p_addr_at(const struct p2p_list *l, size_t i, struct p2p_addr_entry *e);
void p2p_header_at(const struct p2p_list *l, size_t i, struct chain_header *h);
const uint8_t *p2p_hash_at(const struct p2p_list *l, size_t i);   /* locator */
void p2p_recon_iter_init(struct p2p_recon_iter *it, const struct p2p_recon_msg *m);
/* False when done. */
bool p2p_recon_next(struct p2p_recon_iter *it, struct p2p_recon_node *node);

/* Payload writers (between p2p_frame_begin and p2p_frame_end). They return
 * false if the writer failed (w->err says why); counts above the caps are
 * a programmer error (asserted). */
bool p2p_put_version(struct wr *w, const struct p2p_version *v);
bool p2p_put_nonce(struct wr *w, uint64_t nonce);
bool p2p_put_addr(struct wr *w, const struct p2p_addr_entry *e, size_t n);
/* inv-like list with one type for every hash. */
bool p2p_put_inv(struct wr *w, uint32_t type, const uint8_t (*hashes)[32], size_t n);
/* inv-like list with per-entry types. */
bool p2p_put_inv_mixed(struct wr *w, const uint32_t *types, const uint8_t (*hashes)[32],
                       size_t n);
bool p2p_put_getheaders(struct wr *w, const uint8_t (*locator)[32], size_t n,
                        const uint8_t stop[32]);
bool p2p_put_headers(struct wr *w, const struct chain_header *h, size_t n);
/* recon: p2p_put_recon_count first, then exactly that many nodes. */
bool p2p_put_recon_count(struct wr *w, size_t n);
bool p2p_put_pushreq(struct wr *w, uint32_t graft, uint32_t prune);
bool p2p_put_recon_summary(struct wr *w, uint8_t depth, uint32_t prefix, uint32_t count,
                           uint64_t xor);
bool p2p_put_recon_listing(struct wr *w, uint8_t depth, uint32_t prefix,
                           const uint8_t (*ids)[32], uint32_t n);

bool p2p_put_sendcmpct(struct wr *w, bool hb, uint64_t version);
/* A cmpctblock of b under nonce: the txs with prefill[i] set (prefill[0]
 * must be; NULL: the coinbase only) go whole, the others as short ids. */
bool p2p_put_cmpctblock(struct wr *w, const struct chain_block *b, uint64_t nonce,
                        const bool *prefill);
/* idx: n ascending indexes (n >= 1). */
bool p2p_put_getblocktxn(struct wr *w, const uint8_t hash[32], const uint32_t *idx, size_t n);
bool p2p_put_blocktxn(struct wr *w, const uint8_t hash[32], const struct chain_tx *const *txs,
                      size_t n);

/* Whole frames in one call (a heap buffer in w, cleared first). Return 0
 * or a P2P_ERR_*. */
int p2p_build_empty(struct wr *w, uint32_t magic, enum p2p_cmd cmd);

#endif
