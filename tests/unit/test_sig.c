/* Ed25519 against RFC 8032 section 7.1 test vectors 1-3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hex.h"
#include "crypto/sec.h"
#include "crypto/sig.h"

struct vector {
    const char *seed, *pk, *msg, *sig;
};

static const struct vector RFC8032[] = {
    { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
    { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
    { "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void test_rfc8032(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof RFC8032 / sizeof RFC8032[0]; i++) {
        const struct vector *v = &RFC8032[i];
        uint8_t seed[32], pk_want[32], pk[32], sk[64], msg[8], sig_want[64], sig[64];
        assert_int_equal(hex_decode(seed, 32, v->seed), 0);
        assert_int_equal(hex_decode(pk_want, 32, v->pk), 0);
        assert_int_equal(hex_decode(sig_want, 64, v->sig), 0);
        long mlen = hex_decode_var(msg, sizeof msg, v->msg);
        assert_true(mlen >= 0);
        sig_keypair_from_seed(pk, sk, seed);
        assert_memory_equal(pk, pk_want, 32);
        sig_sign(sig, msg, (size_t)mlen, sk);
        assert_memory_equal(sig, sig_want, 64);
        assert_true(sig_verify(sig, msg, (size_t)mlen, pk));
        sec_wipe(sk, sizeof sk);
    }
}

static void test_verify_rejects_tampering(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64], sig[64], msg[20] = "gossip";
    sig_keypair_random(pk, sk);
    sig_sign(sig, msg, sizeof msg, sk);
    assert_true(sig_verify(sig, msg, sizeof msg, pk));
    msg[0] ^= 1;
    assert_false(sig_verify(sig, msg, sizeof msg, pk));
    msg[0] ^= 1;
    sig[10] ^= 0x40;
    assert_false(sig_verify(sig, msg, sizeof msg, pk));
    sig[10] ^= 0x40;
    pk[3] ^= 1;
    assert_false(sig_verify(sig, msg, sizeof msg, pk));
}

static void test_sec_helpers(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    sec_random(a, sizeof a);
    memcpy(b, a, sizeof a);
    assert_true(sec_equal(a, b, 32));
    b[31] ^= 1;
    assert_false(sec_equal(a, b, 32));
    sec_wipe(a, sizeof a);
    static const uint8_t zero[32];
    assert_memory_equal(a, zero, 32);
    /* Two draws of 64 random bits colliding would be a broken source. */
    assert_true(sec_random_u64() != sec_random_u64());
}

static int setup(void **state)
{
    (void)state;
    return sig_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8032),
        cmocka_unit_test(test_verify_rejects_tampering),
        cmocka_unit_test(test_sec_helpers),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
