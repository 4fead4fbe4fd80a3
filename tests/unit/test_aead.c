/* crypto/aead against published vectors: X25519 (RFC 7748 6.1), HMAC-SHA256
 * (RFC 4231 case 2), HKDF-SHA256 (RFC 5869 case 1), ChaCha20 (RFC 8439
 * A.1 #1) and ChaCha20-Poly1305 (RFC 8439 2.8.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/aead.h"
#include "crypto/hex.h"
#include "crypto/sig.h"

static void unhex(uint8_t *out, size_t n, const char *h)
{
    assert_int_equal(hex_decode(out, n, h), 0);
}

static void test_x25519_rfc7748(void **state)
{
    (void)state;
    uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], want[32], pk[32], s1[32], s2[32];
    unhex(a_sk, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    unhex(a_pk, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    unhex(b_sk, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    unhex(b_pk, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    unhex(want, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    x25519_public(pk, a_sk);
    assert_memory_equal(pk, a_pk, 32);
    x25519_public(pk, b_sk);
    assert_memory_equal(pk, b_pk, 32);
    assert_int_equal(x25519_shared(s1, a_sk, b_pk), 0);
    assert_int_equal(x25519_shared(s2, b_sk, a_pk), 0);
    assert_memory_equal(s1, want, 32);
    assert_memory_equal(s2, want, 32);
}

static void test_x25519_rejects_small_order(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], zero[32] = {0}, s[32];
    x25519_keypair(pk, sk);
    assert_int_equal(x25519_shared(s, sk, zero), -1);   /* the identity point */
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t out[32], want[32];
    unhex(want, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const char *data = "what do ya want for nothing?";
    hmac_sha256(out, "Jefe", 4, data, strlen(data));
    assert_memory_equal(out, want, 32);
}

static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    unhex(want, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                    "34007208d5b887185865");
    hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm, info, sizeof info);
    assert_memory_equal(okm, want, 42);
}

static void test_chacha20_rfc8439(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, nonce[12] = {0}, buf[64] = {0}, want[64];
    unhex(want, 64, "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
                    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
    chacha20_xor(buf, sizeof buf, key, nonce);
    assert_memory_equal(buf, want, 64);
}

static void test_aead_rfc8439(void **state)
{
    (void)state;
    const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                     "one tip for the future, sunscreen would be it.";
    size_t n = strlen(pt);
    uint8_t key[32], nonce[12], ad[12], ct[256], back[256], tag[16], head[16];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x80 + i);
    unhex(nonce, 12, "070000004041424344454647");
    unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
    unhex(tag, 16, "1ae10b594f09e26a7e902ecbd0600691");
    unhex(head, 16, "d31a8d34648e60db7b86afbc53ef7ec2");
    aead_seal(ct, (const uint8_t *)pt, n, ad, sizeof ad, nonce, key);
    assert_memory_equal(ct, head, 16);
    assert_memory_equal(ct + n, tag, 16);
    assert_int_equal(aead_open(back, ct, n + 16, ad, sizeof ad, nonce, key), 0);
    assert_memory_equal(back, pt, n);
    /* Any flipped bit of ciphertext, tag or associated data is refused. */
    ct[5] ^= 1;
    assert_int_equal(aead_open(back, ct, n + 16, ad, sizeof ad, nonce, key), -1);
    ct[5] ^= 1;
    ct[n + 3] ^= 0x80;
    assert_int_equal(aead_open(back, ct, n + 16, ad, sizeof ad, nonce, key), -1);
    ct[n + 3] ^= 0x80;
    ad[0] ^= 1;
    assert_int_equal(aead_open(back, ct, n + 16, ad, sizeof ad, nonce, key), -1);
    assert_int_equal(aead_open(back, ct, 15, ad, sizeof ad, nonce, key), -1);
}

int main(void)
{
    assert_int_equal(sig_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_rfc7748),
        cmocka_unit_test(test_x25519_rejects_small_order),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_chacha20_rfc8439),
        cmocka_unit_test(test_aead_rfc8439),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
