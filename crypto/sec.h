/* Secure random bytes, constant-time comparison, wiping secrets. */
#ifndef GOSSIPD_CRYPTO_SEC_H
#define GOSSIPD_CRYPTO_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fill buf with bytes from the OS's secure random source (sig_init first). */
void sec_random(void *buf, size_t len);
uint64_t sec_random_u64(void);
/* Compare without leaking where the first difference is. */
bool sec_equal(const void *a, const void *b, size_t len);
/* Zero memory in a way the compiler may not remove. */
void sec_wipe(void *buf, size_t len);

#endif
