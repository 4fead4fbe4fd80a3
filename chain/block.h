/* Block headers and blocks.
 *
 * Header (HEADER_SIZE = 88 bytes):
 *   version u32 | prev[32] | merkle_root[32] | time_ms u64 | bits u32 | nonce u64
 * Block: header | varint tx count | txs. The first tx is the coinbase.
 * Block hash = SHA256d(header), compared as a little-endian 256-bit number
 * against the target in `bits`. */
#ifndef GOSSIPD_CHAIN_BLOCK_H
#define GOSSIPD_CHAIN_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/codec.h"
#include "chain/tx.h"

#define HEADER_SIZE   88
#define BLOCK_VERSION 1
/* Hard cap on a block's serialized size whatever the network says; the
 * per-network cap (params) is at most this. */
#define BLOCK_SIZE_LIMIT (4u * 1024 * 1024)
#define BLOCK_TX_MAX (BLOCK_SIZE_LIMIT / TX_SIZE_MIN)

struct chain_header {
    uint32_t version;
    uint8_t  prev[32];
    uint8_t  merkle_root[32];
    uint64_t time_ms;
    uint32_t bits;
    uint64_t nonce;
};

struct chain_block {
    struct chain_header hdr;
    size_t n_tx;
    struct chain_tx *txs;   /* owned; chain_block_free releases */
};

void chain_header_serialize(const struct chain_header *h, uint8_t out[HEADER_SIZE]);
int chain_header_decode(struct rd *r, struct chain_header *h);
bool chain_header_encode(struct wr *w, const struct chain_header *h);
void chain_header_hash(const struct chain_header *h, uint8_t hash[32]);

/* Decode a block no larger than max_size bytes. The tx count is checked
 * against what max_size can hold before anything is allocated. On error
 * the block is left empty (nothing to free). */
int chain_block_decode(struct rd *r, struct chain_block *b, size_t max_size);
int chain_block_parse(struct chain_block *b, const void *buf, size_t len, size_t max_size);
bool chain_block_encode(struct wr *w, const struct chain_block *b);
size_t chain_block_size(const struct chain_block *b);
void chain_block_free(struct chain_block *b);
/* Deep copy; returns 0 or CHAIN_ERR_NOMEM. */
int chain_block_copy(struct chain_block *dst, const struct chain_block *src);

/* Merkle root of the block's txids. *mutated is set when the tree has two
 * identical sibling subtrees (CVE-2012-2459), which a valid block never has.
 * Returns 0 or CHAIN_ERR_NOMEM. */
int chain_block_merkle(const struct chain_block *b, uint8_t root[32], bool *mutated);

#endif
