/* SHA-256 / SHA256d against the NIST FIPS 180 example vectors, and the
 * header midstate against the plain double hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hash.h"
#include "crypto/hex.h"

static void check_sha(const void *msg, size_t len, const char *hex)
{
    uint8_t want[32], got[32];
    assert_int_equal(hex_decode(want, 32, hex), 0);
    hash_sha256(got, msg, len);
    assert_memory_equal(got, want, 32);
}

static void test_nist_vectors(void **state)
{
    (void)state;
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(m448, strlen(m448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_sha(m896, strlen(m896),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    check_sha(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_incremental_matches_oneshot(void **state)
{
    (void)state;
    uint8_t data[300], a[32], b[32];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7);
    hash_sha256(a, data, sizeof data);
    struct hash_ctx ctx;
    hash_init(&ctx);
    hash_update(&ctx, data, 1);
    hash_update(&ctx, data + 1, 100);
    hash_update(&ctx, data + 101, sizeof data - 101);
    hash_final(&ctx, b);
    assert_memory_equal(a, b, 32);
}

static void test_sha256d(void **state)
{
    (void)state;
    uint8_t once[32], twice[32], got[32];
    hash_sha256(once, "abc", 3);
    hash_sha256(twice, once, 32);
    hash_sha256d(got, "abc", 3);
    assert_memory_equal(got, twice, 32);
    /* Known value: SHA256d("abc"). */
    uint8_t want[32];
    assert_int_equal(hex_decode(want, 32, "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"), 0);
    assert_memory_equal(got, want, 32);
}

static void test_midstate(void **state)
{
    (void)state;
    uint8_t hdr[88], want[32], got[32];
    for (size_t i = 0; i < sizeof hdr; i++) hdr[i] = (uint8_t)(i * 13 + 1);
    struct hash_midstate ms;
    hash_midstate_init(&ms, hdr);
    for (int n = 0; n < 50; n++) {
        hdr[87] = (uint8_t)n;   /* the nonce's top byte changes */
        hash_sha256d(want, hdr, sizeof hdr);
        hash_midstate_finish(&ms, hdr + 64, got);
        assert_memory_equal(got, want, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_vectors),
        cmocka_unit_test(test_incremental_matches_oneshot),
        cmocka_unit_test(test_sha256d),
        cmocka_unit_test(test_midstate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
