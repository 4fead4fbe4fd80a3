/* The ledger (account model): balance and next nonce per public key, with
 * per-block undo data so any block can be disconnected again.
 *
 * An account with balance 0 and nonce 0 is the same as no account: undo
 * removes such entries so the ledger after undo equals the ledger before. */
#ifndef GOSSIPD_CHAIN_LEDGER_H
#define GOSSIPD_CHAIN_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/hmap.h"

struct ledger_account {
    uint8_t pk[32];
    uint64_t balance;
    uint64_t nonce;     /* next nonce the account must use */
};

struct ledger {
    struct hmap accounts;   /* pk -> struct ledger_account (owned) */
};

/* One account's state before a block touched it (first touch only). */
struct ledger_undo_ent {
    uint8_t pk[32];
    uint64_t balance;
    uint64_t nonce;
};

struct ledger_undo {
    size_t n, cap;
    struct ledger_undo_ent *e;   /* owned */
};

/* Serialized undo entry: pk | balance u64 | nonce u64. */
#define LEDGER_UNDO_ENT_SIZE (32 + 8 + 8)
/* A block touches at most two accounts per tx. */
#define LEDGER_UNDO_MAX_ENTS (2 * (size_t)BLOCK_TX_MAX)

/* Empty ledger; its account map picks slots under salt (hmap_init). */
void ledger_init(struct ledger *l, uint64_t salt);
void ledger_free(struct ledger *l);
/* Borrowed account or NULL (zero balance and nonce). */
const struct ledger_account *ledger_get(const struct ledger *l, const uint8_t pk[32]);
/* Set an account (used when loading from the store). Returns 0 or NOMEM. */
int ledger_set(struct ledger *l, const uint8_t pk[32], uint64_t balance, uint64_t nonce);
size_t ledger_count(const struct ledger *l);

/* Apply a block's txs in order at height: the coinbase credits its
 * recipient, each other tx must carry the sender's nonce and be covered by
 * its balance (TX_BAD_NONCE, TX_INSUFFICIENT, TX_OVERFLOW). Form,
 * signatures and the coinbase amount are checked before (validate.h). On
 * success fills undo (reset first) and returns 0; on failure the ledger is
 * unchanged, *bad_tx (may be NULL) is the failing tx's index, and the error
 * is returned. */
int ledger_apply_block(struct ledger *l, const struct chain_block *b,
                       struct ledger_undo *undo, size_t *bad_tx);
/* Restore the accounts recorded in undo (the block's effect disappears). */
void ledger_undo_block(struct ledger *l, const struct ledger_undo *undo);

void ledger_undo_init(struct ledger_undo *u);
void ledger_undo_free(struct ledger_undo *u);
/* Serialize (heap buffer, caller frees) / parse undo data. */
int ledger_undo_encode(const struct ledger_undo *u, uint8_t **buf, size_t *len);
int ledger_undo_decode(struct ledger_undo *u, const uint8_t *buf, size_t len);

/* Order-independent digest of every account (for consistency checks). */
void ledger_digest(const struct ledger *l, uint8_t out[32]);
/* Sum of all balances (saturating), for checks. */
uint64_t ledger_total(const struct ledger *l);

#endif
