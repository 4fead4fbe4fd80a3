#include "chain/pow.h"

#include <string.h>

void chain_u256_from_le(struct chain_u256 *v, const uint8_t b[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0;
        for (int j = 7; j >= 0; j--) x = x << 8 | b[8 * i + j];
        v->w[i] = x;
    }
}

void chain_u256_to_le(const struct chain_u256 *v, uint8_t b[32])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) b[8 * i + j] = (uint8_t)(v->w[i] >> (8 * j));
}

int chain_u256_cmp(const struct chain_u256 *a, const struct chain_u256 *b)
{
    for (int i = 3; i >= 0; i--) {
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

/* Returns the carry out. */
static uint64_t u256_add_carry(struct chain_u256 *a, const struct chain_u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->w[i] + b->w[i];
        uint64_t c1 = s < a->w[i];
        uint64_t s2 = s + carry;
        uint64_t c2 = s2 < s;
        a->w[i] = s2;
        carry = c1 | c2;
    }
    return carry;
}

void chain_u256_add(struct chain_u256 *a, const struct chain_u256 *b)
{
    if (u256_add_carry(a, b)) memset(a->w, 0xff, sizeof a->w);
}

static void u256_sub(struct chain_u256 *a, const struct chain_u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = a->w[i] - b->w[i];
        uint64_t b1 = a->w[i] < b->w[i];
        uint64_t d2 = d - borrow;
        uint64_t b2 = d < borrow;
        a->w[i] = d2;
        borrow = b1 | b2;
    }
}

static bool u256_is_zero(const struct chain_u256 *a)
{
    return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

static unsigned u256_bits(const struct chain_u256 *a)
{
    for (int i = 3; i >= 0; i--) {
        if (a->w[i]) {
            unsigned n = 64;
            while (!(a->w[i] >> (n - 1))) n--;
            return 64 * (unsigned)i + n;
        }
    }
    return 0;
}

static void u256_shl(struct chain_u256 *a, unsigned n)
{
    struct chain_u256 r = { { 0 } };
    unsigned limbs = n / 64, bits = n % 64;
    for (int i = 3; i >= 0; i--) {
        int src = i - (int)limbs;
        if (src < 0) continue;
        r.w[i] = a->w[src] << bits;
        if (bits && src > 0) r.w[i] |= a->w[src - 1] >> (64 - bits);
    }
    *a = r;
}

static void u256_shr(struct chain_u256 *a, unsigned n)
{
    struct chain_u256 r = { { 0 } };
    unsigned limbs = n / 64, bits = n % 64;
    for (int i = 0; i < 4; i++) {
        unsigned src = (unsigned)i + limbs;
        if (src > 3) continue;
        r.w[i] = a->w[src] >> bits;
        if (bits && src < 3) r.w[i] |= a->w[src + 1] << (64 - bits);
    }
    *a = r;
}

/* q = num / den by shift-and-subtract (den != 0). */
static void u256_div(struct chain_u256 *q, const struct chain_u256 *num,
                     const struct chain_u256 *den)
{
    struct chain_u256 rem = { { 0 } };
    memset(q, 0, sizeof *q);
    for (int i = 255; i >= 0; i--) {
        u256_shl(&rem, 1);
        rem.w[0] |= num->w[i / 64] >> (i % 64) & 1;
        if (chain_u256_cmp(&rem, den) >= 0) {
            u256_sub(&rem, den);
            q->w[i / 64] |= 1ull << (i % 64);
        }
    }
}

double chain_u256_to_double(const struct chain_u256 *v)
{
    double d = 0, scale = 1;
    for (int i = 0; i < 4; i++) {
        d += (double)v->w[i] * scale;
        scale *= 18446744073709551616.0;
    }
    return d;
}

bool chain_bits_to_target(uint32_t bits, struct chain_u256 *target)
{
    unsigned size = bits >> 24;
    uint32_t mant = bits & 0x007fffff;
    memset(target, 0, sizeof *target);
    if (mant != 0 && (bits & 0x00800000)) return false;        /* negative */
    if (mant != 0 && (size > 34 || (mant > 0xff && size > 33) || (mant > 0xffff && size > 32)))
        return false;                                          /* overflow */
    if (size <= 3) {
        target->w[0] = mant >> (8 * (3 - size));
    } else {
        target->w[0] = mant;
        u256_shl(target, 8 * (size - 3));
    }
    return !u256_is_zero(target);
}

uint32_t chain_target_to_bits(const struct chain_u256 *target)
{
    unsigned size = (u256_bits(target) + 7) / 8;
    uint32_t compact;
    if (size <= 3) {
        compact = (uint32_t)(target->w[0] << (8 * (3 - size)));
    } else {
        struct chain_u256 t = *target;
        u256_shr(&t, 8 * (size - 3));
        compact = (uint32_t)t.w[0];
    }
    if (compact & 0x00800000) {   /* keep the sign bit clear */
        compact >>= 8;
        size++;
    }
    return compact | (uint32_t)size << 24;
}

bool chain_pow_check(const uint8_t hash[32], uint32_t bits, uint32_t limit_bits)
{
    struct chain_u256 target, limit, h;
    if (!chain_bits_to_target(bits, &target) || !chain_bits_to_target(limit_bits, &limit))
        return false;
    if (chain_u256_cmp(&target, &limit) > 0) return false;
    chain_u256_from_le(&h, hash);
    return chain_u256_cmp(&h, &target) <= 0;
}

bool chain_work_from_bits(uint32_t bits, struct chain_u256 *work)
{
    struct chain_u256 target;
    if (!chain_bits_to_target(bits, &target)) return false;
    /* 2^256 / (t+1) = (2^256 - 1 - t) / (t+1) + 1, computable in 256 bits. */
    struct chain_u256 num, den = target, one = { { 1, 0, 0, 0 } };
    for (int i = 0; i < 4; i++) num.w[i] = ~target.w[i];
    if (u256_add_carry(&den, &one)) {   /* t = 2^256-1: work is 1 */
        *work = one;
        return true;
    }
    u256_div(work, &num, &den);
    chain_u256_add(work, &one);
    return true;
}

uint32_t chain_retarget(uint32_t prev_bits, uint64_t actual_ms, uint64_t expected_ms,
                        uint32_t limit_bits)
{
    struct chain_u256 target, limit, scaled, div;
    if (expected_ms == 0 || !chain_bits_to_target(limit_bits, &limit)) return limit_bits;
    if (!chain_bits_to_target(prev_bits, &target)) return limit_bits;
    /* Clamp the ratio to [1/4, 4] so one odd window cannot swing too far. */
    if (actual_ms < expected_ms / 4) actual_ms = expected_ms / 4;
    if (actual_ms / 4 > expected_ms) actual_ms = expected_ms * 4;
    if (actual_ms == 0) actual_ms = 1;
    /* target * actual / expected; an overflowing product is above any limit. */
    struct chain_u256 act = { { actual_ms, 0, 0, 0 } }, exp = { { expected_ms, 0, 0, 0 } };
    if (u256_bits(&target) + u256_bits(&act) > 256) return limit_bits;
    memset(&scaled, 0, sizeof scaled);
    for (unsigned i = 0; i < 64; i++) {
        if (actual_ms >> i & 1) {
            struct chain_u256 t = target;
            u256_shl(&t, i);
            if (u256_add_carry(&scaled, &t)) return limit_bits;
        }
    }
    u256_div(&div, &scaled, &exp);
    if (chain_u256_cmp(&div, &limit) > 0) return limit_bits;
    if (u256_is_zero(&div)) div.w[0] = 1;   /* hardest possible target */
    return chain_target_to_bits(&div);
}
