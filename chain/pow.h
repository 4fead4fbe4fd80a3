/* Proof of work: Bitcoin's compact target encoding, the hash-below-target
 * check, work per block, and the retarget rule. 256-bit numbers are
 * 32-byte little-endian arrays (hashes are compared that way). */
#ifndef GOSSIPD_CHAIN_POW_H
#define GOSSIPD_CHAIN_POW_H

#include <stdbool.h>
#include <stdint.h>

struct chain_u256 {
    uint64_t w[4];   /* w[0] least significant */
};

void chain_u256_from_le(struct chain_u256 *v, const uint8_t b[32]);
void chain_u256_to_le(const struct chain_u256 *v, uint8_t b[32]);
int  chain_u256_cmp(const struct chain_u256 *a, const struct chain_u256 *b);
/* a += b, saturating at 2^256-1. */
void chain_u256_add(struct chain_u256 *a, const struct chain_u256 *b);
/* Approximate value as a double (for logs and RPC "difficulty"). */
double chain_u256_to_double(const struct chain_u256 *v);

/* Decode compact bits. Returns false for a negative or overflowing
 * encoding, or a zero target. */
bool chain_bits_to_target(uint32_t bits, struct chain_u256 *target);
/* Encode a target as compact bits (rounding down, as Bitcoin does). */
uint32_t chain_target_to_bits(const struct chain_u256 *target);

/* True iff hash <= target(bits) and target(bits) <= target(limit_bits). */
bool chain_pow_check(const uint8_t hash[32], uint32_t bits, uint32_t limit_bits);

/* Expected number of hashes to find a block at bits: 2^256 / (target + 1).
 * Returns false for invalid bits. */
bool chain_work_from_bits(uint32_t bits, struct chain_u256 *work);

/* New bits after a window that took actual_ms instead of expected_ms:
 * target * actual / expected, the ratio clamped to [1/4, 4], and never
 * easier than limit_bits. */
uint32_t chain_retarget(uint32_t prev_bits, uint64_t actual_ms, uint64_t expected_ms,
                        uint32_t limit_bits);

#endif
