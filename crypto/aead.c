#include "crypto/aead.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

void x25519_keypair(uint8_t pk[X25519_KEY_SIZE], uint8_t sk[X25519_KEY_SIZE])
{
    crypto_box_keypair(pk, sk);
}

void x25519_public(uint8_t pk[X25519_KEY_SIZE], const uint8_t sk[X25519_KEY_SIZE])
{
    crypto_scalarmult_curve25519_base(pk, sk);
}

int x25519_shared(uint8_t shared[X25519_KEY_SIZE], const uint8_t sk[X25519_KEY_SIZE],
                  const uint8_t peer_pk[X25519_KEY_SIZE])
{
    /* libsodium returns -1 for an all-zero result (small-order point). */
    return crypto_scalarmult_curve25519(shared, sk, peer_pk) == 0 ? 0 : -1;
}

void hmac_sha256(uint8_t out[HMAC_SHA256_SIZE], const void *key, size_t key_len,
                 const void *msg, size_t msg_len)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, msg_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void hkdf_sha256(uint8_t *out, size_t out_len, const void *salt, size_t salt_len,
                 const void *ikm, size_t ikm_len, const void *info, size_t info_len)
{
    assert(out_len <= 255 * HMAC_SHA256_SIZE);
    uint8_t prk[HMAC_SHA256_SIZE], t[HMAC_SHA256_SIZE];
    hmac_sha256(prk, salt, salt_len, ikm, ikm_len);
    size_t done = 0, tlen = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
        crypto_auth_hmacsha256_update(&st, t, tlen);
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t);
        tlen = sizeof t;
        size_t n = out_len - done < tlen ? out_len - done : tlen;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(t, sizeof t);
}

void chacha20_xor(uint8_t *buf, size_t len, const uint8_t key[AEAD_KEY_SIZE],
                  const uint8_t nonce[AEAD_NONCE_SIZE])
{
    crypto_stream_chacha20_ietf_xor(buf, buf, len, nonce, key);
}

void aead_seal(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, msg, len, ad, ad_len, NULL, nonce, key);
}

int aead_open(uint8_t *out, const uint8_t *ct, size_t len, const uint8_t *ad, size_t ad_len,
              const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
    if (len < AEAD_TAG_SIZE)
        return -1;
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, ad_len,
                                                     nonce, key) == 0 ? 0 : -1;
}
