#include "crypto/hex.h"

#include <string.h>

static const char DIGITS[] = "0123456789abcdef";

void hex_encode(char *out, const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = DIGITS[in[i] >> 4];
        out[2 * i + 1] = DIGITS[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int decode_n(uint8_t *out, size_t n, const char *str)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(str[2 * i]), lo = nibble(str[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int hex_decode(uint8_t *out, size_t out_len, const char *str)
{
    if (!str || strlen(str) != 2 * out_len) return -1;
    return decode_n(out, out_len, str);
}

long hex_decode_var(uint8_t *out, size_t cap, const char *str)
{
    if (!str) return -1;
    size_t n = strlen(str);
    if (n % 2 != 0 || n / 2 > cap) return -1;
    if (decode_n(out, n / 2, str) < 0) return -1;
    return (long)(n / 2);
}

void hex_encode_hash(char out[65], const uint8_t hash[32])
{
    uint8_t rev[32];
    for (int i = 0; i < 32; i++) rev[i] = hash[31 - i];
    hex_encode(out, rev, 32);
}

int hex_decode_hash(uint8_t hash[32], const char *str)
{
    uint8_t rev[32];
    if (hex_decode(rev, 32, str) < 0) return -1;
    for (int i = 0; i < 32; i++) hash[i] = rev[31 - i];
    return 0;
}
