/* The chain facade: block tree + best chain + ledger + mempool + store,
 * as one object that p2p/ and node/ drive. No network I/O, no clock reads:
 * every call that depends on time takes now_ms. The store (SQLite) is the
 * only file I/O; pass db_path = NULL for an in-memory chain (tests, sim).
 *
 * Return convention: 0 (or a non-negative count) on success, a negative
 * CHAIN_ERR_* on rejection (the reason) or local failure (STORE, NOMEM,
 * INTERNAL). Hashes are 32-byte internal-order arrays. */
#ifndef GOSSIPD_CHAIN_CHAIN_H
#define GOSSIPD_CHAIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/err.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "chain/tx.h"

struct chain;

/* Defaults; every one is a named limit. */
#define CHAIN_MEMPOOL_MAX_BYTES_DEFAULT (32u * 1024 * 1024)
#define CHAIN_MEMPOOL_EXPIRY_MS_DEFAULT (2ull * 3600 * 1000)

struct chain_config {
    const struct chain_params *params;
    const char *db_path;          /* SQLite file, or NULL: memory only */
    /* true: commits not fsynced (synchronous=NORMAL): a block is durable
     * across a process crash, not a power loss; own txs still are. */
    bool db_no_fsync;
    size_t mempool_max_bytes;     /* 0: default */
    uint64_t mempool_expiry_ms;   /* 0: default */
    /* Secret salt for the slot choice of every hash map (block index,
     * ledger, mempool, signature cache), so peers cannot grind keys that
     * collide. A node passes a random value; 0 means HMAP_SALT_DEFAULT, a
     * fixed public salt that keeps tests and the simulator deterministic. */
    uint64_t salt;
    /* Headers anti-DoS: a peer's headers are stored only once their chain
     * has at least max(min_chain_work, the tip's work) (see
     * chain_headers_min_work). Zero (the default, both networks): the
     * tip's work alone. */
    struct chain_u256 min_chain_work;
};

/* Origin tag of a tx nobody submitted just now (returned by a reorg). */
#define CHAIN_ORIGIN_NONE 0u
/* Listeners a chain calls, chain_set_events's slot included. */
#define CHAIN_LISTENERS_MAX 4u

/* What happened to the chain, for logs and relay. Any member may be NULL.
 * Called synchronously from inside chain_* calls, every listener in turn
 * (chain_set_events's first, then chain_add_listener's in the order
 * added); a listener must not call back into the chain. */
struct chain_events {
    void *ctx;
    void (*block_connected)(void *ctx, const uint8_t hash[32], uint32_t height,
                            const struct chain_block *b);
    void (*block_disconnected)(void *ctx, const uint8_t hash[32], uint32_t height);
    /* A reorg switched the tip; depth = blocks disconnected. */
    void (*reorg)(void *ctx, const uint8_t old_tip[32], const uint8_t new_tip[32],
                  uint32_t depth);
    /* A tx entered the mempool: from chain_mempool_accept itself (before it
     * returns), when a waiting tx's nonce gap fills, or when a reorg returns
     * it. origin_tag is the tag given to the chain_mempool_accept call that
     * brought the tx in (kept while it waited), or CHAIN_ORIGIN_NONE for a
     * tx a reorg returned or sent back to the waiting area. */
    void (*tx_added)(void *ctx, const uint8_t txid[32], const struct chain_tx *tx,
                     uint64_t origin_tag);
    /* A tx that had tx_added left the pending set for a reason other than a
     * block including it (enum chain_tx_removal; chain_tx_removal_name).
     * Called before the tx is freed. A waiting (future-nonce) tx never had
     * tx_added and gets none; a tx sent back to the waiting area does (it
     * has tx_added again when its gap fills). */
    void (*tx_removed)(void *ctx, const uint8_t txid[32], const struct chain_tx *tx,
                       int reason);
};
/* Why a tx left the mempool (bitcoind's MemPoolRemovalReason, less BLOCK). */
enum chain_tx_removal {
    CHAIN_TX_RM_EXPIRY = 1,   /* older than the mempool expiry (or its sender's earlier tx was) */
    CHAIN_TX_RM_SIZELIMIT,    /* evicted to keep the mempool under its byte cap */
    CHAIN_TX_RM_REPLACED,     /* same sender + nonce with a higher fee took its place */
    CHAIN_TX_RM_CONFLICT,     /* a connected block spent its nonce or balance with other txs */
    CHAIN_TX_RM_REORG,        /* no longer valid after blocks were disconnected */
};
/* "expiry", "sizelimit", "replaced", "conflict", "reorg"; "unknown" otherwise. */
const char *chain_tx_removal_name(int reason);

/* Opens (creating if needed) the chain. Returns 0 and *out, or an error. */
int chain_open(struct chain **out, const struct chain_config *cfg, uint64_t now_ms);
void chain_close(struct chain *c);
/* Sets (copies) or, with NULL, clears the first listener; the others stay. */
void chain_set_events(struct chain *c, const struct chain_events *ev);
/* Adds (copies) one more listener. Returns its handle (> 0) for
 * chain_remove_listener, or CHAIN_ERR_INTERNAL when CHAIN_LISTENERS_MAX are
 * in use. Not from inside an event. */
int chain_add_listener(struct chain *c, const struct chain_events *ev);
/* Removes the listener chain_add_listener returned; unknown handles are
 * ignored. Not from inside an event. */
void chain_remove_listener(struct chain *c, int handle);
const struct chain_params *chain_params(const struct chain *c);

/* ---- Tip and lookups ---- */
uint32_t chain_height(const struct chain *c);
void chain_tip(const struct chain *c, uint8_t hash[32]);
/* Cumulative work of the best chain / of a known header. */
void chain_tip_work(const struct chain *c, struct chain_u256 *work);
bool chain_header_work(const struct chain *c, const uint8_t hash[32], struct chain_u256 *work);
/* Median time past of the tip (ms). */
uint64_t chain_tip_mtp(const struct chain *c);
/* Bits the next block on the tip must carry. */
uint32_t chain_next_bits(const struct chain *c);

bool chain_have_header(const struct chain *c, const uint8_t hash[32]);
/* Body stored (whatever branch). */
bool chain_have_block(const struct chain *c, const uint8_t hash[32]);
bool chain_is_invalid(const struct chain *c, const uint8_t hash[32]);
bool chain_in_best(const struct chain *c, const uint8_t hash[32]);
/* Header and height of a known block; false if unknown. */
bool chain_get_header(const struct chain *c, const uint8_t hash[32],
                      struct chain_header *h, uint32_t *height);
/* Hash of the best-chain block at height; false if above the tip. */
bool chain_hash_at(const struct chain *c, uint32_t height, uint8_t hash[32]);
/* Serialized block (heap, caller frees) or decoded block; CHAIN_ERR_BLK_UNKNOWN
 * if the body is not stored. */
int chain_get_block_raw(struct chain *c, const uint8_t hash[32], uint8_t **buf, size_t *len);
int chain_get_block(struct chain *c, const uint8_t hash[32], struct chain_block *b);

/* ---- Accepting data ---- */
enum chain_status {
    CHAIN_ST_NEW_TIP = 1,   /* connected; the tip moved (maybe by a reorg) */
    CHAIN_ST_SIDE,          /* valid so far, stored on a side branch */
    CHAIN_ST_ORPHAN,        /* parent unknown: held; see missing_parent */
    CHAIN_ST_DUPLICATE,     /* already had it */
    CHAIN_ST_HEADER_ONLY,   /* (headers) header accepted, body still needed */
    CHAIN_ST_NOT_STORED,    /* unrequested and cannot lead to more work: dropped */
};

struct chain_result {
    enum chain_status status;
    uint32_t height;             /* height of the block, if known */
    uint8_t missing_parent[32];  /* ORPHAN: the block to fetch */
    uint32_t reorg_depth;        /* NEW_TIP: blocks disconnected (0: none) */
    /* BLK_BAD_TX: which tx (index in the block) and its CHAIN_ERR_TX_* reason. */
    uint32_t bad_tx;
    int tx_err;
};

/* Validate a header alone (PoW, bits, time) and add it to the block tree.
 * For headers-first sync. */
int chain_accept_header(struct chain *c, const struct chain_header *h, uint64_t now_ms,
                        struct chain_result *res);
/* Header rows written between begin and end (a headers message of up to
 * 2,000) are one store commit, one fsync with synchronous=FULL, instead
 * of one each. end commits; so does anything else that writes the store
 * (a block, chain_close) if end was not called. begin when a batch is
 * already open is a no-op. Both return 0 or CHAIN_ERR_STORE; on a failed
 * commit the headers stay in the block tree but not in the store (peers
 * send them again after a restart). */
int chain_headers_begin(struct chain *c);
int chain_headers_end(struct chain *c);
/* Validate and store a full block, connecting it (and any orphans it
 * unblocks) if it leads to the most-work chain. Borrowed b. */
int chain_accept_block(struct chain *c, const struct chain_block *b, uint64_t now_ms,
                       struct chain_result *res);
/* chain_accept_block_ex flags. */
#define CHAIN_BLOCK_UNREQUESTED 1u   /* nobody asked for it (a peer pushed it) */
#define CHAIN_BLOCK_HEADER_UNKNOWN 2u /* asked for on an inv alone: its header was
                                       * not in our tree when it arrived */
/* chain_accept_block with flags. An unrequested block is stored only if its
 * chain has at least the tip's work (its parent known); otherwise nothing
 * about it is kept (not even the header) and the status is
 * CHAIN_ST_NOT_STORED, so a peer cannot fill memory and disk with cheap
 * side branches or orphans. A CHAIN_BLOCK_HEADER_UNKNOWN block (we asked,
 * but only because a peer named it) is stored only if its chain has the
 * work chain_headers_min_work requires, as its header would have needed;
 * otherwise CHAIN_ST_NOT_STORED. With its parent unknown it is held as an
 * orphan, and the rule applies when the parent comes. chain_accept_block
 * is flags == 0: the caller (RPC, miner, a block whose header we hold)
 * vouches for it. */
int chain_accept_block_ex(struct chain *c, const struct chain_block *b, unsigned flags,
                          uint64_t now_ms, struct chain_result *res);

/* ---- Sync helpers ---- */
/* Block locator for the best chain: tip, then back 1, 2, 4, ... to genesis.
 * Returns the count written (<= max). */
size_t chain_locator(const struct chain *c, uint8_t (*out)[32], size_t max);
/* Headers of the best chain after the first locator hash we know (genesis
 * if none), up to stop (inclusive; all-zero = no stop) and max. A known
 * hash off the best chain counts as the block where its branch meets the
 * best chain (the fork point; our tip if it descends from the tip). */
size_t chain_headers_after(const struct chain *c, const uint8_t (*locator)[32], size_t n,
                           const uint8_t stop[32], struct chain_header *out, size_t max);
/* Blocks whose header is on the most-work header chain (abandoned
 * branches excepted) but whose body we lack, lowest height first. Returns
 * the count written. */
size_t chain_blocks_to_fetch(const struct chain *c, uint8_t (*out)[32], size_t max);

/* ---- Headers anti-DoS (p2p/presync.c drives these) ----
 * Headers whose chain cannot reach chain_headers_min_work are not stored:
 * p2p checks a peer's chain in a cheap form first (a cursor: the last
 * header's hash, height and cumulative work, and the times and bits the
 * next header's checks need), stores nothing while it does, and stores the
 * headers (chain_accept_header) only once their work is proven. */
/* Headers of context a cursor keeps: >= mtp_window and retarget_window + 1
 * of every network (chain_hdr_cursor_at refuses params beyond it). */
#define CHAIN_HDR_CURSOR_DEPTH 64u
struct chain_hdr_cursor {
    uint8_t hash[32];                /* the last header checked */
    uint32_t height;
    struct chain_u256 work;          /* cumulative, genesis included */
    /* time and bits of the header at height h, at [h % DEPTH], for the
     * last DEPTH heights */
    uint64_t time_ms[CHAIN_HDR_CURSOR_DEPTH];
    uint32_t bits[CHAIN_HDR_CURSOR_DEPTH];
};
/* A cursor at a known, valid header. 0, CHAIN_ERR_BLK_UNKNOWN, the error
 * of an invalid one, or CHAIN_ERR_INTERNAL (params beyond the depth). */
int chain_hdr_cursor_at(const struct chain *c, const uint8_t hash[32],
                        struct chain_hdr_cursor *cur);
/* Checks h as the successor of the cursor without storing anything: it
 * links (h->prev is the cursor's hash), version, proof of work, expected
 * bits, time after the median time past and not too far ahead of now_ms
 * (the rules of chain_accept_header). Returns 0 (cursor advanced to h), 1
 * if h does not link, or the CHAIN_ERR_* it breaks (cursor unchanged). */
int chain_hdr_cursor_next(const struct chain *c, struct chain_hdr_cursor *cur,
                          const struct chain_header *h, uint64_t now_ms);
/* The work a chain of headers must have for them to be stored:
 * max(chain_config.min_chain_work, the tip's work). A header's own work
 * is chain_work_from_bits (pow.h). */
void chain_headers_min_work(const struct chain *c, struct chain_u256 *work);
/* Entries in the block index (headers, with or without body), genesis
 * included: what peers made us keep. */
size_t chain_header_count(const struct chain *c);
/* Abandons the bodiless block hash and every descendant: they are no
 * longer the best header (chain_blocks_to_fetch plans another chain) until
 * a new header extends them or a body of one of them arrives (both clear
 * the mark on the whole abandoned branch). In memory only: after a
 * restart such a branch is tried again. 0, CHAIN_ERR_BLK_UNKNOWN, or
 * CHAIN_ERR_INTERNAL if the block has its body. */
int chain_headers_abandon(struct chain *c, const uint8_t hash[32]);
bool chain_headers_abandoned(const struct chain *c, const uint8_t hash[32]);

/* ---- Mempool ---- */
enum chain_tx_status {
    CHAIN_TX_ACCEPTED = 1,   /* in the mempool, relay it */
    CHAIN_TX_WAITING,        /* future nonce: held in the orphan area */
    CHAIN_TX_REPLACED,       /* accepted, replacing same sender+nonce */
};
/* Returns a CHAIN_TX_* status (> 0) or a CHAIN_ERR_* rejection. The chain
 * trusts tx->txid (chain_tx.h). origin_tag is opaque to the chain (a peer
 * id, say): it stays with the tx while it waits for a nonce gap and comes
 * back in the tx_added event when the tx enters the pending set, so the
 * caller needs no table of its own. */
int chain_mempool_accept(struct chain *c, const struct chain_tx *tx, uint64_t origin_tag,
                         uint64_t now_ms);
bool chain_mempool_has(const struct chain *c, const uint8_t txid[32]);
/* Signatures checked off the chain's thread (node/'s worker pool): whether
 * txid's signature is in the verified cache, and recording one the caller
 * checked with chain_tx_verify_sig on that very tx (a txid commits to the
 * signature, so a wrong record can only be the caller's bug). */
bool chain_sig_cached(const struct chain *c, const uint8_t txid[32]);
void chain_sig_verified(struct chain *c, const uint8_t txid[32]);
/* Borrowed pointer, valid until the next call that changes the mempool. */
const struct chain_tx *chain_mempool_get(const struct chain *c, const uint8_t txid[32]);
size_t chain_mempool_count(const struct chain *c);
/* A counter that moves whenever the mempool's set of txs changes (to tell
 * whether a snapshot of it is still exact). */
uint64_t chain_mempool_changes(const struct chain *c);
size_t chain_mempool_bytes(const struct chain *c);
size_t chain_mempool_orphans(const struct chain *c);
/* Blocks held in the orphan pool (parent unknown) right now, and their
 * serialized bytes (the memory they hold). */
size_t chain_orphan_blocks(const struct chain *c);
size_t chain_orphan_block_bytes(const struct chain *c);
/* Txids in the mempool (any order); returns the count written. */
size_t chain_mempool_txids(const struct chain *c, uint8_t (*out)[32], size_t max);
/* Calls fn for every pending tx (waiting false) or every tx of the
 * waiting area (future nonces; waiting true), in no particular order, and
 * returns how many. tx is borrowed for the call; fn must not call into
 * the chain. (Compact-block reconstruction.) */
typedef void (*chain_tx_visit_fn)(void *ctx, const struct chain_tx *tx);
size_t chain_mempool_visit(const struct chain *c, bool waiting, chain_tx_visit_fn fn, void *ctx);
/* Time the tx entered the mempool (ms), 0 if absent. */
uint64_t chain_mempool_time(const struct chain *c, const uint8_t txid[32]);

/* ---- Ledger ---- */
/* Confirmed balance and next nonce of an account (zero for unknown). */
void chain_account(const struct chain *c, const uint8_t pk[32], uint64_t *balance,
                   uint64_t *nonce);
/* Next nonce counting the sender's pending mempool txs. */
uint64_t chain_account_next_nonce(const struct chain *c, const uint8_t pk[32]);

/* ---- Time ---- */
/* Expire old mempool entries and orphans. */
void chain_tick(struct chain *c, uint64_t now_ms);

/* ---- Mining ---- */
/* Build a block template on the tip: coinbase to pk, mempool txs by fee
 * rate respecting nonce order, within the size cap, merkle root set, nonce
 * 0, time max(now_ms, mtp+1). Caller frees with chain_block_free. */
int chain_block_template(struct chain *c, const uint8_t pk[32], uint64_t now_ms,
                         struct chain_block *out);
/* Search nonces [start, start+count) on b's header with the midstate. On
 * success sets b->hdr.nonce and returns true. Pure: safe on a worker thread
 * with its own block. */
bool chain_mine(struct chain_header *h, uint64_t start, uint64_t count);

/* ---- Node key ---- */
/* The node's own 64-byte secret key (seed || pubkey), kept in the store
 * so node/ need not manage another file. get returns 0,
 * CHAIN_ERR_NOT_FOUND if none was put, or CHAIN_ERR_STORE. put returns 0
 * or CHAIN_ERR_STORE (replacing any earlier key); once put returns 0 the
 * key survives a power loss even with db_no_fsync (the store is synced).
 * With db_path NULL the key lives only as long as the chain. */
int chain_store_key_get(struct chain *c, uint8_t sk[64]);
int chain_store_key_put(struct chain *c, const uint8_t sk[64]);

/* ---- The node's own txs ----
 * Txs the operator submitted (RPC) are kept in the store, from before the
 * txid is answered until the block holding them is CHAIN_OWN_TX_KEEP_DEPTH
 * deep, so a crash loses none: the node puts the unconfirmed ones back in
 * its mempool at start. A row records the best-chain height that confirmed
 * it, in the same transaction as the block (a reorg that disconnects the
 * block makes it unconfirmed again). */
#define CHAIN_OWN_TXS_MAX 16384u        /* unconfirmed own txs; more: OWN_FULL */
#define CHAIN_OWN_TX_KEEP_DEPTH 100u    /* confirmations before a row is dropped */
/* Store tx as an own tx (committed and synced on return). Returns 0, 1 if
 * it already was one, CHAIN_ERR_OWN_FULL, or CHAIN_ERR_STORE. */
int chain_own_tx_add(struct chain *c, const struct chain_tx *tx);
/* Forget an own tx. 0, CHAIN_ERR_NOT_FOUND or CHAIN_ERR_STORE. */
int chain_own_tx_del(struct chain *c, const uint8_t txid[32]);
bool chain_own_tx_has(const struct chain *c, const uint8_t txid[32]);
/* Unconfirmed own txs: the count, and up to max copied in nonce order
 * (then the order added), so each sender's txs resubmit in sequence. */
size_t chain_own_tx_count(const struct chain *c);
size_t chain_own_txs(const struct chain *c, struct chain_tx *out, size_t max);
/* One past the highest nonce of pk's unconfirmed own txs (0 if none). */
uint64_t chain_own_next_nonce(const struct chain *c, const uint8_t pk[32]);

/* ---- Store health ----
 * Why the store's last statement failed (a full disk: code SQLITE_FULL,
 * sys_errno ENOSPC; an I/O error: SQLITE_IOERR_*, EIO) and how many have
 * failed since open; the node turns a rising count into its safe mode. A
 * block whose body was stored in the same transaction as its connect (a
 * block on the tip: every mined block) is gone from memory and store when
 * that transaction fails, so it can never connect later. */
struct chain_store_error {
    uint64_t count;          /* failed statements since open */
    int code;                /* SQLite extended result code of the last */
    int sys_errno;           /* errno of the OS call behind it, 0 if none */
    char msg[128];           /* SQLite's message */
};
const struct chain_store_error *chain_store_error(const struct chain *c);
/* Store commits since open (each one fsync with synchronous=FULL). */
uint64_t chain_store_commits(const struct chain *c);
/* Bytes chain_store_probe commits (and deletes again): room for a block. */
#define CHAIN_STORE_PROBE_BYTES (256u * 1024)
/* 0 if a write of CHAIN_STORE_PROBE_BYTES committed (space is back), else
 * CHAIN_ERR_STORE (and chain_store_error says why). */
int chain_store_probe(struct chain *c);

/* ---- Checks ---- */
/* Full consistency check (expensive; tests): best chain links, stored tip,
 * ledger == replay of the best chain from genesis == stored accounts,
 * mempool invariants. Returns 0 or CHAIN_ERR_INTERNAL. */
int chain_check(struct chain *c);

/* ---- Tips and store integrity (chain/integrity.c) ---- */
/* Height of the most-work valid header (>= chain_height: bodies may lag). */
uint32_t chain_header_height(const struct chain *c);
enum chain_tip_status {
    CHAIN_TIP_ACTIVE,        /* the best chain's tip */
    CHAIN_TIP_VALID_FORK,    /* a side branch whose bodies are all stored and checked */
    CHAIN_TIP_HEADERS_ONLY,  /* a branch with bodies missing */
    CHAIN_TIP_INVALID,       /* it or an ancestor broke a rule */
};
const char *chain_tip_status_name(enum chain_tip_status s);   /* bitcoind's words */
struct chain_tip_info {
    uint8_t hash[32];
    uint32_t height;
    uint32_t branchlen;      /* blocks from the fork point with the best chain */
    enum chain_tip_status status;
};
/* The active tip first, then every block without children. Returns the
 * count written (<= max). */
size_t chain_get_tips(const struct chain *c, struct chain_tip_info *out, size_t max);
/* SQLite's quick check of the file at db_path (before chain_open). 0, or
 * CHAIN_ERR_STORE with SQLite's findings in msg. */
int chain_verify_db(const char *db_path, char *msg, size_t msg_len);
/* The tip's body and undo data are in the store: 0, or CHAIN_ERR_STORE
 * with what is missing in msg. */
int chain_check_tip_data(struct chain *c, char *msg, size_t msg_len);
/* Re-verify the last nblocks of the best chain: each body against its
 * index hash and the rules, undone with its stored undo data and replayed
 * onto the ledger, which must come back identical. Returns 0 (*checked
 * blocks verified) or an error with msg; after an error the chain's memory
 * is not trustworthy: close it. Writes nothing. */
int chain_check_blocks(struct chain *c, uint32_t nblocks, uint32_t *checked, char *msg,
                       size_t msg_len);
struct chain_reindex_stats {
    size_t bodies;           /* readable block bodies found */
    size_t connected;        /* accepted again (genesis not counted) */
    size_t unreadable;       /* rows lost to corruption */
    size_t invalid;          /* rejected on re-validation */
    uint32_t height;         /* tip height after the rebuild */
};
/* Rebuild cfg->db_path from the block bodies readable in from_path (may be
 * the same file): a fresh store (index, ledger, undo) is built beside it
 * from genesis, block by block with full validation, then renamed over
 * cfg->db_path. The node key is carried over if readable. Blocks whose
 * body was lost, and their descendants, are not restored (peers resend
 * them). Returns 0 or an error (the old file is then left as it was). */
int chain_reindex(const struct chain_config *cfg, const char *from_path, uint64_t now_ms,
                  struct chain_reindex_stats *st);

#endif
