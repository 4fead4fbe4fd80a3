/* SHA-256 and double SHA-256 (OpenSSL libcrypto), with a midstate for
 * hashing many 88-byte block headers that share their first 64 bytes. */
#ifndef GOSSIPD_CRYPTO_HASH_H
#define GOSSIPD_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SIZE 32

/* out = SHA256(data). */
void hash_sha256(uint8_t out[HASH_SIZE], const void *data, size_t len);
/* out = SHA256(SHA256(data)): txids, block hashes, merkle nodes, checksums. */
void hash_sha256d(uint8_t out[HASH_SIZE], const void *data, size_t len);

/* Incremental SHA-256. Holds OpenSSL's SHA256_CTX by value (so callers
 * need not include OpenSSL headers); it is plain memory, so a copy by
 * assignment is a valid copy of the state: that is what makes a midstate
 * cheap. hash.c checks the size. */
#define HASH_CTX_SIZE 128
struct hash_ctx {
    _Alignas(8) unsigned char opaque[HASH_CTX_SIZE];
};

void hash_init(struct hash_ctx *ctx);
void hash_update(struct hash_ctx *ctx, const void *data, size_t len);
/* Finish SHA-256 into out; ctx is left undefined. */
void hash_final(struct hash_ctx *ctx, uint8_t out[HASH_SIZE]);

/* Midstate for an 88-byte header: absorb the first 64 bytes once, then
 * hash_header_finish() only compresses the last 24 bytes (+ the outer
 * hash). Gives the same result as hash_sha256d(header, 88). */
struct hash_midstate {
    struct hash_ctx ctx;
};

void hash_midstate_init(struct hash_midstate *ms, const uint8_t first64[64]);
void hash_midstate_finish(const struct hash_midstate *ms, const uint8_t tail[24],
                          uint8_t out[HASH_SIZE]);

/* SipHash-2-4 of data under a 16-byte key (libsodium's crypto_shorthash):
 * compact blocks' short txids. */
#define HASH_SIPHASH_KEY_SIZE 16
uint64_t hash_siphash24(const uint8_t key[HASH_SIPHASH_KEY_SIZE], const void *data, size_t len);

#endif
