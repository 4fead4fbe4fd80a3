/* Transactions (account model).
 *
 * Wire form:
 *   version u8 (=1) | from[32] | to[32] | amount u64 | fee u64 | nonce u64 |
 *   memo varbytes (<= TX_MEMO_MAX) | sig[64]
 * sig is Ed25519 by `from` over every byte before it; txid = SHA256d of the
 * whole serialization. A coinbase has from = 32 zero bytes, nonce = block
 * height, fee = 0 and sig = 64 zero bytes. */
#ifndef GOSSIPD_CHAIN_TX_H
#define GOSSIPD_CHAIN_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/codec.h"

#define TX_VERSION   1
#define TX_MEMO_MAX  256                       /* bytes */
/* Serialized size bounds: fixed fields + memo length prefix + memo. */
#define TX_FIXED_SIZE (1 + 32 + 32 + 8 + 8 + 8 + 64)
#define TX_SIZE_MIN   (TX_FIXED_SIZE + 1)
#define TX_SIZE_MAX   (TX_FIXED_SIZE + 3 + TX_MEMO_MAX)

struct chain_tx {
    uint8_t  version;
    uint8_t  from[32];
    uint8_t  to[32];
    uint64_t amount;
    uint64_t fee;
    uint64_t nonce;
    uint16_t memo_len;
    uint8_t  memo[TX_MEMO_MAX];
    uint8_t  sig[64];
    /* Derived, not on the wire: SHA256d of the serialization, computed once
     * by chain_tx_decode/parse, chain_tx_sign and chain_tx_seal, so that
     * chain_tx_txid is a field read and no layer re-hashes the tx. Code that
     * edits a field after that (a hand-built coinbase, a test tampering
     * with a signed tx) must call chain_tx_seal again. */
    uint8_t  txid[32];
};

/* Read one tx and set its txid (hashing the bytes read). Returns 0 or a
 * CHAIN_ERR_* (TRUNCATED, VARINT_NONCANONICAL, TX_MEMO_SIZE, TX_VERSION).
 * Does not check the signature. */
int chain_tx_decode(struct rd *r, struct chain_tx *tx);
/* Decode a whole buffer that must hold exactly one tx (else TRAILING). */
int chain_tx_parse(struct chain_tx *tx, const void *buf, size_t len);
bool chain_tx_encode(struct wr *w, const struct chain_tx *tx);
/* Serialized size, from memo_len (arithmetic, no encoding). memo_len must
 * be <= TX_MEMO_MAX. */
size_t chain_tx_size(const struct chain_tx *tx);

/* The cached txid (a copy of tx->txid). */
void chain_tx_txid(const struct chain_tx *tx, uint8_t txid[32]);
/* Recompute tx->txid from the fields (memo_len <= TX_MEMO_MAX). */
void chain_tx_seal(struct chain_tx *tx);
/* True iff tx->txid matches the fields (checks, tests: it re-hashes). */
bool chain_tx_id_ok(const struct chain_tx *tx);

/* A heap copy of tx for a holder that keeps it (a mempool entry), or NULL
 * when out of memory; chain_tx_release gives it back (NULL is a no-op).
 * Separate functions so a driver that runs many chains in one process (the
 * simulator, sim/txshare.c) can wrap them and share one copy per txid:
 * a held tx is never modified. */
struct chain_tx *chain_tx_hold(const struct chain_tx *tx);
void chain_tx_release(struct chain_tx *tx);
bool chain_tx_is_coinbase(const struct chain_tx *tx);
/* Sign with the 64-byte secret key (seed || pubkey); also sets tx->from to
 * the key's public half so the two cannot disagree, and seals the txid. */
void chain_tx_sign(struct chain_tx *tx, const uint8_t sk[64]);
bool chain_tx_verify_sig(const struct chain_tx *tx);
/* Fee per byte times 1000, for ordering (no floating point). */
uint64_t chain_tx_feerate(const struct chain_tx *tx);

#endif
