/* Internal view of struct chain, shared by chainstate.c (block tree, best
 * chain, reorgs, orphan blocks) and miner.c (templates). Not for p2p/ or
 * node/: they use chain.h. */
#ifndef GOSSIPD_CHAIN_CHAINSTATE_H
#define GOSSIPD_CHAIN_CHAINSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "chain/hmap.h"
#include "chain/ledger.h"
#include "chain/mempool.h"
#include "chain/pow.h"
#include "chain/store.h"

/* Orphan blocks (parent unknown) held at most, by count and bytes; the
 * oldest is evicted first. An orphan is held serialized (decoded again
 * when its parent arrives), so the bytes counted are the memory held: a
 * decoded block of small txs takes about 3x its serialized size. */
#define CHAIN_ORPHAN_BLOCKS_MAX_COUNT 64u
#define CHAIN_ORPHAN_BLOCKS_MAX_BYTES (8u * 1024 * 1024)
/* An orphan block nobody completed within this time is dropped. */
#define CHAIN_ORPHAN_BLOCK_EXPIRY_MS (20ull * 60 * 1000)
/* Upper bound for params->mtp_window (times kept on the stack). */
#define CHAIN_MTP_WINDOW_MAX 64u
_Static_assert(CHAIN_HDR_CURSOR_DEPTH >= CHAIN_MTP_WINDOW_MAX,
               "a header cursor holds a full median-time-past window");
_Static_assert(CHAIN_ORPHAN_BLOCKS_MAX_BYTES >= BLOCK_SIZE_LIMIT,
               "a maximal block must fit in the orphan pool");

/* Block tree node status bits (BN_HAVE_DATA, BN_FAILED and
 * BN_FAILED_CHILD are persisted in block_index.status). */
#define BN_HAVE_DATA    1u   /* body stored and passed the body checks */
#define BN_FAILED       2u   /* this block broke a rule */
#define BN_FAILED_CHILD 4u   /* an ancestor broke a rule */
#define BN_CHAIN_DATA   8u   /* this body and every ancestor's are stored */
#define BN_ABANDONED    16u  /* bodies never came: not a best header (memory only) */
#define BN_PERSISTED_MASK (BN_HAVE_DATA | BN_FAILED | BN_FAILED_CHILD)

struct bnode {
    uint8_t hash[32];
    struct chain_header hdr;
    struct bnode *prev;
    struct bnode *child, *sibling;   /* children list, for marking descendants */
    uint32_t height;
    uint32_t status;
    int fail_err;                    /* why BN_FAILED (0 when loaded from disk) */
    int fail_tx_err;                 /* BLK_BAD_TX: the tx's reason */
    uint32_t fail_tx;                /* BLK_BAD_TX: the tx's index */
    uint64_t seq;                    /* first-seen order: ties go to the lower */
    struct chain_u256 work;          /* cumulative, genesis included */
};

struct orphan_blk {
    uint8_t hash[32];
    struct chain_header hdr;
    uint8_t *raw;                    /* serialized block (owned) */
    size_t size;                     /* bytes of raw */
    uint64_t time_ms;
    unsigned flags;                  /* chain_accept_block_ex's, applied when placed */
};

struct chain {
    const struct chain_params *p;
    uint64_t salt;                   /* every hash map's (chain_config) */
    struct chain_u256 min_chain_work;   /* chain_config: headers anti-DoS */
    struct store *st;
    struct hmap index;               /* hash -> struct bnode (owned) */
    struct bnode *genesis;
    struct bnode **best;             /* best[h] = best-chain block at height h */
    size_t best_len, best_cap;
    struct bnode *best_header;       /* most work, not failed nor abandoned, body or not */
    struct bnode *candidate;         /* most work with all bodies, not failed */
    struct ledger ledger;            /* at the tip */
    struct mempool mp;
    struct chain_events ev[CHAIN_LISTENERS_MAX];   /* [0]: chain_set_events */
    uint64_t seq;
    struct orphan_blk **orph;        /* oldest first */
    size_t n_orph, orph_bytes;
    /* A block body written in a transaction left open for its connect. */
    enum { BODY_NONE, BODY_OPEN, BODY_LOST } body_txn;
    /* A store transaction open for header rows (chain_headers_begin). */
    bool hdr_txn;
    /* The node's own txs (owntx.c): txid -> struct own_tx (owned). */
    struct hmap own;
    uint64_t own_seq;                /* next own_tx.seq */
    size_t own_unconf;               /* own txs with height 0 */
    /* The block being accepted, so connecting it needs no reload. */
    const struct bnode *hint_node;
    const struct chain_block *hint_block;
};

/* Call member m of every listener that has it: CHAIN_EMIT(c, reorg, a, b, d). */
#define CHAIN_EMIT(c, m, ...)                                          \
    do {                                                               \
        for (size_t emit_i_ = 0; emit_i_ < CHAIN_LISTENERS_MAX; emit_i_++) \
            if ((c)->ev[emit_i_].m)                                    \
                (c)->ev[emit_i_].m((c)->ev[emit_i_].ctx, __VA_ARGS__); \
    } while (0)

static inline struct bnode *chain__tip(const struct chain *c) { return c->best[c->best_len - 1]; }
uint64_t chain__mtp(const struct chain *c, const struct bnode *n);
uint32_t chain__next_bits(const struct chain *c, const struct bnode *parent);

/* Own txs (owntx.c). chain__own_block with write: set the own_tx heights
 * for block b at height (connect) or clear them (disconnect) in the open
 * store transaction; without write: the same in memory, after the commit.
 * chain__own_prune likewise forgets rows buried CHAIN_OWN_TX_KEEP_DEPTH
 * deep under tip_height. */
int chain__own_load(struct chain *c);
void chain__own_free(struct chain *c);
int chain__own_block(struct chain *c, const struct chain_block *b, uint32_t height, bool connect,
                     bool write);
int chain__own_prune(struct chain *c, uint32_t tip_height, bool write);
int chain__own_check(struct chain *c);

#endif
