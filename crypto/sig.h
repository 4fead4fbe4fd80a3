/* Ed25519 keys, signatures and verification (libsodium). */
#ifndef GOSSIPD_CRYPTO_SIG_H
#define GOSSIPD_CRYPTO_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_PUBKEY_SIZE 32
#define SIG_SECKEY_SIZE 64   /* seed || public key, libsodium's layout */
#define SIG_SEED_SIZE   32
#define SIG_SIZE        64

/* Must be called once before any other sig_/sec_ function. Returns 0, or
 * -1 if libsodium cannot initialise. Safe to call more than once. */
int sig_init(void);

/* Derive a keypair from a 32-byte seed (RFC 8032). Deterministic. */
void sig_keypair_from_seed(uint8_t pk[SIG_PUBKEY_SIZE], uint8_t sk[SIG_SECKEY_SIZE],
                           const uint8_t seed[SIG_SEED_SIZE]);
/* Fresh keypair from the system's secure random source. */
void sig_keypair_random(uint8_t pk[SIG_PUBKEY_SIZE], uint8_t sk[SIG_SECKEY_SIZE]);

/* Detached signature over msg. */
void sig_sign(uint8_t sig[SIG_SIZE], const void *msg, size_t len,
              const uint8_t sk[SIG_SECKEY_SIZE]);
/* True iff sig is a valid signature of msg by pk. Rejects non-canonical
 * signatures and small-order keys (libsodium's strict rules). */
bool sig_verify(const uint8_t sig[SIG_SIZE], const void *msg, size_t len,
                const uint8_t pk[SIG_PUBKEY_SIZE]);

#endif
