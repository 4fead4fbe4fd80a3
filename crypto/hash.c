/* OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP. We use
 * them on purpose: EVP fetches the algorithm through the provider layer on
 * every one-shot call, and its contexts are heap objects that cannot be
 * copied by assignment, which is what the header midstate needs. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/hash.h"

#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(SHA256_CTX) <= HASH_CTX_SIZE, "HASH_CTX_SIZE too small");

static SHA256_CTX *raw(struct hash_ctx *ctx) { return (SHA256_CTX *)(void *)ctx->opaque; }

void hash_init(struct hash_ctx *ctx) { SHA256_Init(raw(ctx)); }

void hash_update(struct hash_ctx *ctx, const void *data, size_t len)
{
    SHA256_Update(raw(ctx), data, len);
}

void hash_final(struct hash_ctx *ctx, uint8_t out[HASH_SIZE])
{
    SHA256_Final(out, raw(ctx));
}

/* One-shot SHA256() would go through EVP_Q_digest, which fetches the
 * algorithm from the provider on every call (a lock and a lookup per
 * frame checksum); the context API does not. */
void hash_sha256(uint8_t out[HASH_SIZE], const void *data, size_t len)
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, len);
    SHA256_Final(out, &c);
}

void hash_sha256d(uint8_t out[HASH_SIZE], const void *data, size_t len)
{
    uint8_t first[HASH_SIZE];
    hash_sha256(first, data, len);
    hash_sha256(out, first, sizeof first);
}

void hash_midstate_init(struct hash_midstate *ms, const uint8_t first64[64])
{
    hash_init(&ms->ctx);
    hash_update(&ms->ctx, first64, 64);
}

void hash_midstate_finish(const struct hash_midstate *ms, const uint8_t tail[24],
                          uint8_t out[HASH_SIZE])
{
    struct hash_ctx ctx = ms->ctx;   /* copy of the absorbed first block */
    uint8_t first[HASH_SIZE];
    hash_update(&ctx, tail, 24);
    hash_final(&ctx, first);
    hash_sha256(out, first, sizeof first);
}

_Static_assert(crypto_shorthash_siphash24_KEYBYTES == HASH_SIPHASH_KEY_SIZE, "SipHash key size");
_Static_assert(crypto_shorthash_siphash24_BYTES == 8, "SipHash output size");

uint64_t hash_siphash24(const uint8_t key[HASH_SIPHASH_KEY_SIZE], const void *data, size_t len)
{
    uint8_t out[8];
    crypto_shorthash_siphash24(out, data, len, key);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | out[i];   /* little-endian, as the reference */
    return v;
}
