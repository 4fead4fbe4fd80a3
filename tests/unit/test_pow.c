/* Compact bits, targets, the PoW check, work and retargeting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chain/pow.h"

static void test_bits_roundtrip(void **state)
{
    (void)state;
    const uint32_t bits[] = { 0x1d00ffff, 0x207fffff, 0x1f00ffff, 0x1e0fffff, 0x1b0404cb,
                              0x03123456, 0x04123456, 0x05009234 };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        struct chain_u256 t;
        assert_true(chain_bits_to_target(bits[i], &t));
        assert_int_equal(chain_target_to_bits(&t), bits[i]);
    }
    /* Bitcoin's genesis target: 0x00000000ffff0000...0. */
    struct chain_u256 t;
    assert_true(chain_bits_to_target(0x1d00ffff, &t));
    assert_true(t.w[3] == 0x00000000ffff0000ull && t.w[2] == 0 && t.w[1] == 0 && t.w[0] == 0);
    /* Small exponent shifts the mantissa down. */
    assert_true(chain_bits_to_target(0x02123400, &t));
    assert_true(t.w[0] == 0x1234);
}

static void test_bits_rejects(void **state)
{
    (void)state;
    struct chain_u256 t;
    assert_false(chain_bits_to_target(0x04923456, &t));   /* negative */
    assert_false(chain_bits_to_target(0x23000001, &t));   /* 35-byte number */
    assert_false(chain_bits_to_target(0x22000100, &t));   /* overflows 256 bits */
    assert_false(chain_bits_to_target(0x21010000, &t));
    assert_false(chain_bits_to_target(0x1d000000, &t));   /* zero */
    assert_false(chain_bits_to_target(0x01003456, &t));   /* rounds to zero */
}

static void test_pow_check(void **state)
{
    (void)state;
    uint8_t h[32];
    struct chain_u256 t;
    assert_true(chain_bits_to_target(0x1f00ffff, &t));
    chain_u256_to_le(&t, h);
    assert_true(chain_pow_check(h, 0x1f00ffff, 0x207fffff));   /* hash == target */
    h[0]++;                                                    /* target + 1 */
    assert_false(chain_pow_check(h, 0x1f00ffff, 0x207fffff));
    memset(h, 0, 32);
    assert_true(chain_pow_check(h, 0x1f00ffff, 0x1f00ffff));
    /* bits easier than the limit: rejected whatever the hash. */
    assert_false(chain_pow_check(h, 0x207fffff, 0x1f00ffff));
    assert_false(chain_pow_check(h, 0x04923456, 0x207fffff));
}

static void test_work(void **state)
{
    (void)state;
    struct chain_u256 w;
    /* target 0x7fffff << 232 = 2^255 - 2^232: work is 2. */
    assert_true(chain_work_from_bits(0x207fffff, &w));
    assert_true(w.w[0] == 2 && w.w[1] == 0 && w.w[2] == 0 && w.w[3] == 0);
    /* Bitcoin's genesis: 0x0100010001. */
    assert_true(chain_work_from_bits(0x1d00ffff, &w));
    assert_true(w.w[0] == 0x0100010001ull && w.w[1] == 0);
    /* Harder bits mean more work; sums compare. */
    struct chain_u256 a, b;
    assert_true(chain_work_from_bits(0x1e0fffff, &a));
    assert_true(chain_work_from_bits(0x1f00ffff, &b));
    assert_int_equal(chain_u256_cmp(&a, &b), 1);
    chain_u256_add(&b, &b);
    chain_u256_add(&b, &b);
    chain_u256_add(&b, &b);
    chain_u256_add(&b, &b);   /* 16 x 2^16 = 2^20 */
    assert_true(chain_u256_cmp(&a, &b) <= 0);
    assert_false(chain_work_from_bits(0x04923456, &w));
    assert_true(chain_u256_to_double(&a) > 1.0e6 && chain_u256_to_double(&a) < 1.1e6);
}

static void test_retarget(void **state)
{
    (void)state;
    const uint32_t limit = 0x1f00ffff, start = 0x1e0fffff;
    struct chain_u256 t0, t1;
    assert_true(chain_bits_to_target(start, &t0));
    /* On time: unchanged. */
    assert_int_equal(chain_retarget(start, 100000, 100000, limit), start);
    /* Twice too slow: target doubles (easier). */
    uint32_t slow = chain_retarget(start, 200000, 100000, limit);
    assert_true(chain_bits_to_target(slow, &t1));
    assert_int_equal(chain_u256_cmp(&t1, &t0), 1);
    assert_int_equal(slow, 0x1e1ffffe);
    /* Far too fast: clamped to a quarter. */
    uint32_t fast = chain_retarget(start, 1, 100000, limit);
    assert_int_equal(fast, chain_retarget(start, 25000, 100000, limit));
    assert_int_equal(fast, 0x1e03ffff);
    /* Never easier than the limit. */
    assert_int_equal(chain_retarget(limit, 1000000, 100000, limit), limit);
    assert_int_equal(chain_retarget(0x04923456, 100, 100, limit), limit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bits_roundtrip),
        cmocka_unit_test(test_bits_rejects),
        cmocka_unit_test(test_pow_check),
        cmocka_unit_test(test_work),
        cmocka_unit_test(test_retarget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
