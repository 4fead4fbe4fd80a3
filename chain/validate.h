/* Chain rules that need no ledger: tx form and signature, header checks
 * (proof of work, expected bits, time bounds) and block body checks (size,
 * coinbase, merkle root, every tx's form and signature). Each rejection is
 * a distinct CHAIN_ERR_*. Ledger-dependent checks (nonce, balance) live in
 * ledger.c. Genesis is exempt from all of this: it comes from params. */
#ifndef GOSSIPD_CHAIN_VALIDATE_H
#define GOSSIPD_CHAIN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/params.h"
#include "chain/sigcache.h"
#include "chain/tx.h"

/* Non-coinbase tx form: version, memo size, not a coinbase, no self-send,
 * non-zero amount, fee >= params->min_fee, amount + fee fits in u64. */
int chain_validate_tx_form(const struct chain_params *p, const struct chain_tx *tx);
/* Form, then the signature unless txid is in cache (cache may be NULL).
 * A verified signature is added to the cache. */
int chain_validate_tx(const struct chain_params *p, const struct chain_tx *tx,
                      const uint8_t txid[32], struct sigcache *cache);

/* Header alone: version and proof of work against its own bits, which must
 * not be easier than the network limit (BLK_VERSION, BLK_POW). */
int chain_validate_header_pow(const struct chain_params *p, const struct chain_header *h,
                              const uint8_t hash[32]);
/* Header in context: bits == expected_bits, time_ms > mtp_ms and
 * time_ms <= now_ms + max_future_ms (BLK_BAD_BITS, BLK_TIME_OLD,
 * BLK_TIME_FUTURE). */
int chain_validate_header_ctx(const struct chain_params *p, const struct chain_header *h,
                              uint32_t expected_bits, uint64_t mtp_ms, uint64_t now_ms);

/* Body checks that need neither height nor ledger: merkle root and
 * mutation, then size. txids (n_tx entries) receives each tx's id. */
int chain_validate_block_shape(const struct chain_params *p, const struct chain_block *b,
                               uint8_t (*txids)[32]);
/* Everything else about a body at height: exactly one coinbase, first,
 * well formed (fee 0, zero signature), nonce == height, paying at most
 * reward + fees; every other tx's form and signature (skipping cached
 * ones). On BLK_BAD_TX *bad_tx / *tx_err say which tx and why. */
int chain_validate_block_txs(const struct chain_params *p, const struct chain_block *b,
                             const uint8_t (*txids)[32], uint32_t height,
                             struct sigcache *cache, size_t *bad_tx, int *tx_err);

/* Median of up to n times (sorted copy; n <= 64). */
uint64_t chain_median_time(const uint64_t *times, size_t n);

#endif
