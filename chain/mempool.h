/* The mempool: txs valid against the best chain's ledger plus the sender's
 * earlier pending txs. Per sender, pending txs carry consecutive nonces
 * starting at the ledger nonce, so any prefix of them can be mined. A tx
 * whose nonce is ahead of that sequence waits in a bounded orphan area
 * until the gap fills. Same sender + nonce with a strictly higher fee
 * replaces. The pending set is capped in bytes; when over, the tx with the
 * lowest fee rate among each sender's last pending tx is evicted (only a
 * last tx can go without invalidating its successors). */
#ifndef GOSSIPD_CHAIN_MEMPOOL_H
#define GOSSIPD_CHAIN_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/hmap.h"
#include "chain/ledger.h"
#include "chain/params.h"
#include "chain/sigcache.h"

/* Orphan (future-nonce, "waiting") area limits. A sender's chain of 250
 * txs relayed out of order must fit (issue 9: 100 senders x 200 nonces),
 * so the per-sender bounds are generous and the area as a whole is bounded
 * by the memory its entries take; the oldest entry goes first. */
#define MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX 256u    /* txs per sender; more rejected */
#define MEMPOOL_ORPHAN_NONCE_GAP_MAX 512u         /* nonces ahead of the next expected */
#define MEMPOOL_ORPHAN_MAX_BYTES (16u * 1024 * 1024)   /* entry memory, all senders */
#define MEMPOOL_ORPHAN_TX_EXPIRY_MS (20ull * 60 * 1000)
/* Memory one waiting tx is counted for: its entry and its slot in its
 * sender's index (the txid map adds a few words more). */
#define MEMPOOL_ORPHAN_ENTRY_BYTES (sizeof(struct mp_entry) + sizeof(struct mp_entry *))
_Static_assert(MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX >= 250u, "a sender's 250-tx chain must wait");
_Static_assert(MEMPOOL_ORPHAN_NONCE_GAP_MAX >= MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX,
               "a sender's whole waiting chain must be within the gap");

struct mp_entry {
    uint8_t txid[32];
    struct chain_tx *tx;          /* chain_tx_hold's: shared, never modified */
    size_t size;          /* serialized bytes */
    uint64_t feerate;     /* chain_tx_feerate() */
    uint64_t time_ms;     /* when it entered */
    uint64_t seq;         /* arrival order */
    /* The caller's opaque tag (chain_mempool_accept), handed back when the
     * tx enters the pending set; CHAIN_ORIGIN_NONE for a tx a reorg returned
     * or pushed back to the waiting area. */
    uint64_t origin;
    struct mp_entry *wprev, *wnext;   /* waiting area only: arrival order */
};

/* One sender's waiting txs, sorted by nonce (nonces distinct). */
struct mp_waiter {
    uint8_t pk[32];
    size_t n, cap;
    struct mp_entry **e;
};

struct mp_sender {
    uint8_t pk[32];
    size_t n, cap;
    struct mp_entry **e;  /* e[i]->tx.nonce == ledger nonce + i */
    uint64_t spent;       /* sum of amount + fee over e[] */
};

struct mempool {
    const struct chain_params *params;
    struct hmap txs;      /* txid -> struct mp_entry (pending, owned) */
    struct hmap senders;  /* pk -> struct mp_sender (owned) */
    struct hmap orphans;  /* txid -> struct mp_entry (owned), the waiting area */
    struct hmap waiters;  /* pk -> struct mp_waiter (owned): waiting txs by sender */
    struct mp_entry *whead, *wtail;   /* waiting txs, oldest first */
    size_t orphan_bytes;  /* MEMPOOL_ORPHAN_ENTRY_BYTES per waiting tx */
    size_t bytes, max_bytes;
    uint64_t expiry_ms;
    uint64_t seq;
    uint64_t changes;     /* bumped whenever the pending set changes */
    struct sigcache sigs;
    /* Called for every tx that enters the pending set. */
    void (*on_added)(void *ctx, const struct mp_entry *e);
    /* Called for a tx on_added announced that leaves the pending set other
     * than confirmed by a block; reason is a CHAIN_TX_RM_*. */
    void (*on_removed)(void *ctx, const struct mp_entry *e, int reason);
    void *ctx;
};

/* salt keys every map of the mempool (hmap_init). */
int mempool_init(struct mempool *mp, const struct chain_params *p, size_t max_bytes,
                 uint64_t expiry_ms, uint64_t salt);
void mempool_free(struct mempool *mp);

/* Returns CHAIN_TX_ACCEPTED / WAITING / REPLACED (chain.h) or an error. */
int mempool_accept(struct mempool *mp, const struct ledger *l, const struct chain_tx *tx,
                   uint64_t origin, uint64_t now_ms);
/* After the best chain changed (ledger already updated): drop confirmed and
 * conflicting txs, return the txs of disconnected blocks, re-check the
 * senders whose balance or nonce changed. Returns 0 or NOMEM. */
int mempool_update(struct mempool *mp, const struct ledger *l,
                   const struct chain_block *const *disc, size_t n_disc,
                   const struct chain_block *const *conn, size_t n_conn, uint64_t now_ms);
/* Drop pending txs older than expiry_ms (and their sender's later txs),
 * and orphans older than MEMPOOL_ORPHAN_TX_EXPIRY_MS. */
void mempool_expire(struct mempool *mp, uint64_t now_ms);

const struct mp_entry *mempool_find(const struct mempool *mp, const uint8_t txid[32]);
size_t mempool_pending_of(const struct mempool *mp, const uint8_t pk[32]);
/* Invariants against the ledger: nonce sequences, balances, byte count. */
bool mempool_check(const struct mempool *mp, const struct ledger *l);

#endif
