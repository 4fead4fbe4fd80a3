#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/hex.h"

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t in[4] = { 0x00, 0xab, 0x7f, 0xff }, out[4];
    char s[9];
    hex_encode(s, in, 4);
    assert_string_equal(s, "00ab7fff");
    assert_int_equal(hex_decode(out, 4, "00AB7fFF"), 0);
    assert_memory_equal(in, out, 4);
}

static void test_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(hex_decode(out, 4, "00ab7ff"), -1);      /* odd length */
    assert_int_equal(hex_decode(out, 4, "00ab7fff00"), -1);   /* too long */
    assert_int_equal(hex_decode(out, 4, "00ab7fgf"), -1);     /* not hex */
    assert_int_equal(hex_decode(out, 4, " 0ab7fff"), -1);     /* space */
    assert_int_equal(hex_decode(out, 4, NULL), -1);
    assert_int_equal(hex_decode_var(out, 4, "abc"), -1);
    assert_int_equal(hex_decode_var(out, 2, "aabbcc"), -1);   /* over cap */
    assert_int_equal(hex_decode_var(out, 4, "aabb"), 2);
    assert_int_equal(hex_decode_var(out, 4, ""), 0);
}

static void test_hash_display_order(void **state)
{
    (void)state;
    uint8_t h[32] = { 0 }, back[32];
    h[0] = 0x01;
    h[31] = 0xf0;
    char s[65];
    hex_encode_hash(s, h);
    assert_string_equal(s, "f000000000000000000000000000000000000000000000000000000000000001");
    assert_int_equal(hex_decode_hash(back, s), 0);
    assert_memory_equal(back, h, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_hash_display_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
