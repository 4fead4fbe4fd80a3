#include "crypto/sec.h"

#include <sodium.h>

void sec_random(void *buf, size_t len) { randombytes_buf(buf, len); }

uint64_t sec_random_u64(void)
{
    uint64_t v;
    randombytes_buf(&v, sizeof v);
    return v;
}

bool sec_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

void sec_wipe(void *buf, size_t len) { sodium_memzero(buf, len); }
