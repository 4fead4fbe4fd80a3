#include "crypto/sig.h"

#include <sodium.h>

_Static_assert(SIG_PUBKEY_SIZE == crypto_sign_PUBLICKEYBYTES, "pubkey size");
_Static_assert(SIG_SECKEY_SIZE == crypto_sign_SECRETKEYBYTES, "seckey size");
_Static_assert(SIG_SEED_SIZE == crypto_sign_SEEDBYTES, "seed size");
_Static_assert(SIG_SIZE == crypto_sign_BYTES, "sig size");

int sig_init(void)
{
    /* 0 on first success, 1 if already initialised, -1 on failure. */
    return sodium_init() < 0 ? -1 : 0;
}

void sig_keypair_from_seed(uint8_t pk[SIG_PUBKEY_SIZE], uint8_t sk[SIG_SECKEY_SIZE],
                           const uint8_t seed[SIG_SEED_SIZE])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

void sig_keypair_random(uint8_t pk[SIG_PUBKEY_SIZE], uint8_t sk[SIG_SECKEY_SIZE])
{
    crypto_sign_keypair(pk, sk);
}

void sig_sign(uint8_t sig[SIG_SIZE], const void *msg, size_t len,
              const uint8_t sk[SIG_SECKEY_SIZE])
{
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

bool sig_verify(const uint8_t sig[SIG_SIZE], const void *msg, size_t len,
                const uint8_t pk[SIG_PUBKEY_SIZE])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}
