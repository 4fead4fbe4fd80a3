/* Key exchange, key derivation and authenticated encryption for the v2
 * transport (libsodium and OpenSSL stay behind this header):
 *
 *   X25519 (RFC 7748)            ephemeral Diffie-Hellman
 *   HMAC-SHA256 / HKDF (RFC 5869) session keys from the shared secret
 *   ChaCha20 (RFC 8439, IETF)    the length stream
 *   ChaCha20-Poly1305 (RFC 8439) the contents
 *
 * Sizes are in the prototypes; every function that can fail returns 0 or -1. */
#ifndef GOSSIPD_CRYPTO_AEAD_H
#define GOSSIPD_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define X25519_KEY_SIZE   32
#define AEAD_KEY_SIZE     32
#define AEAD_NONCE_SIZE   12
#define AEAD_TAG_SIZE     16
#define HMAC_SHA256_SIZE  32

/* Fresh ephemeral keypair from the secure random source. */
void x25519_keypair(uint8_t pk[X25519_KEY_SIZE], uint8_t sk[X25519_KEY_SIZE]);
/* Public key of a secret key (clamped as RFC 7748 says). */
void x25519_public(uint8_t pk[X25519_KEY_SIZE], const uint8_t sk[X25519_KEY_SIZE]);
/* shared = X25519(sk, peer_pk). Returns -1 when the result is all zeros (a
 * small-order peer key), which a handshake must refuse. */
int x25519_shared(uint8_t shared[X25519_KEY_SIZE], const uint8_t sk[X25519_KEY_SIZE],
                  const uint8_t peer_pk[X25519_KEY_SIZE]);

void hmac_sha256(uint8_t out[HMAC_SHA256_SIZE], const void *key, size_t key_len,
                 const void *msg, size_t msg_len);
/* HKDF-SHA256: prk = HMAC(salt, ikm) (extract), then out = T(1) | T(2) ...
 * with T(i) = HMAC(prk, T(i-1) | info | i) (expand). out_len <= 255 * 32. */
void hkdf_sha256(uint8_t *out, size_t out_len, const void *salt, size_t salt_len,
                 const void *ikm, size_t ikm_len, const void *info, size_t info_len);

/* XOR len bytes of buf with the ChaCha20 (IETF) keystream of key and nonce,
 * starting at block 0. */
void chacha20_xor(uint8_t *buf, size_t len, const uint8_t key[AEAD_KEY_SIZE],
                  const uint8_t nonce[AEAD_NONCE_SIZE]);

/* ChaCha20-Poly1305 (IETF). seal writes len + AEAD_TAG_SIZE bytes to out
 * (out may equal msg). open writes len - AEAD_TAG_SIZE bytes and returns -1,
 * writing nothing usable, when the tag does not verify. */
void aead_seal(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);
int aead_open(uint8_t *out, const uint8_t *ct, size_t len, const uint8_t *ad, size_t ad_len,
              const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);

#endif
