/* Merkle roots: the odd-duplication rule and the CVE-2012-2459 mutation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chain/merkle.h"
#include "crypto/hash.h"

static void node(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    uint8_t pair[64];
    memcpy(pair, a, 32);
    memcpy(pair + 32, b, 32);
    hash_sha256d(out, pair, 64);
}

static void test_small_trees(void **state)
{
    (void)state;
    uint8_t leaves[3][32], root[32], ab[32], cc[32], want[32];
    for (int i = 0; i < 3; i++) memset(leaves[i], i + 1, 32);
    bool mut = true;

    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])leaves, 1, root, &mut), 0);
    assert_memory_equal(root, leaves[0], 32);       /* one leaf is its own root */
    assert_false(mut);

    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])leaves, 2, root, &mut), 0);
    node(want, leaves[0], leaves[1]);
    assert_memory_equal(root, want, 32);

    /* Three leaves: the third pairs with itself. */
    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])leaves, 3, root, &mut), 0);
    node(ab, leaves[0], leaves[1]);
    node(cc, leaves[2], leaves[2]);
    node(want, ab, cc);
    assert_memory_equal(root, want, 32);
    assert_false(mut);

    assert_int_equal(chain_merkle_root(NULL, 0, root, &mut), 0);
    static const uint8_t zero[32];
    assert_memory_equal(root, zero, 32);
}

static void test_mutation_detected(void **state)
{
    (void)state;
    /* [a b c] and [a b c c] have the same root; only the second is flagged. */
    uint8_t leaves[4][32], r3[32], r4[32];
    for (int i = 0; i < 3; i++) memset(leaves[i], 0x10 + i, 32);
    memcpy(leaves[3], leaves[2], 32);
    bool mut3, mut4;
    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])leaves, 3, r3, &mut3), 0);
    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])leaves, 4, r4, &mut4), 0);
    assert_memory_equal(r3, r4, 32);
    assert_false(mut3);
    assert_true(mut4);

    /* Deeper: 6 leaves vs the same with the last pair duplicated (8). */
    uint8_t l8[8][32], r6[32], r8[32];
    for (int i = 0; i < 6; i++) memset(l8[i], 0x40 + i, 32);
    memcpy(l8[6], l8[4], 32);
    memcpy(l8[7], l8[5], 32);
    bool m6, m8;
    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])l8, 6, r6, &m6), 0);
    assert_int_equal(chain_merkle_root((const uint8_t (*)[32])l8, 8, r8, &m8), 0);
    assert_memory_equal(r6, r8, 32);
    assert_false(m6);
    assert_true(m8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_trees),
        cmocka_unit_test(test_mutation_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
