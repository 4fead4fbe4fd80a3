/* Network parameters and the hard-coded genesis blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chain/params.h"
#include "chain/pow.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

static void check_genesis(const struct chain_params *p)
{
    struct chain_block g;
    uint8_t hash[32], hash2[32], root[32], pk[32], sk[64];
    assert_int_equal(chain_genesis_block(p, &g), 0);
    chain_header_hash(&g.hdr, hash);
    /* The hard-coded nonce meets the genesis target, within the limit. */
    assert_true(chain_pow_check(hash, g.hdr.bits, p->pow_limit_bits));
    /* One nonce lower does not (the nonce is the first that works). */
    if (g.hdr.nonce > 0) {
        g.hdr.nonce--;
        uint8_t h[32];
        chain_header_hash(&g.hdr, h);
        assert_false(chain_pow_check(h, g.hdr.bits, p->pow_limit_bits));
        g.hdr.nonce++;
    }
    /* Its merkle root commits to its single coinbase, paying the dev key. */
    assert_int_equal(g.n_tx, 1);
    assert_true(chain_tx_is_coinbase(&g.txs[0]));
    chain_dev_key(pk, sk);
    assert_memory_equal(g.txs[0].to, pk, 32);
    assert_true(g.txs[0].amount == CHAIN_GENESIS_ALLOC);
    assert_int_equal(chain_block_merkle(&g, root, NULL), 0);
    assert_memory_equal(root, g.hdr.merkle_root, 32);
    static const uint8_t zero[32];
    assert_memory_equal(g.hdr.prev, zero, 32);
    chain_genesis_hash(p, hash2);
    assert_memory_equal(hash, hash2, 32);
    chain_block_free(&g);
}

static void test_genesis(void **state)
{
    (void)state;
    check_genesis(&chain_params_regtest);
    check_genesis(&chain_params_testnet);
    uint8_t a[32], b[32];
    chain_genesis_hash(&chain_params_regtest, a);
    chain_genesis_hash(&chain_params_testnet, b);
    assert_memory_not_equal(a, b, 32);
}

static void test_dev_key_from_documented_seed(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sk[64], pk2[32], sk2[64];
    hash_sha256(seed, "gossipd development key", 23);
    sig_keypair_from_seed(pk, sk, seed);
    chain_dev_key(pk2, sk2);
    assert_memory_equal(pk, pk2, 32);
    assert_memory_equal(sk, sk2, 64);
}

static void test_lookup_and_sanity(void **state)
{
    (void)state;
    assert_ptr_equal(chain_params_by_name("regtest"), &chain_params_regtest);
    assert_ptr_equal(chain_params_by_name("testnet"), &chain_params_testnet);
    assert_null(chain_params_by_name("mainnet"));
    assert_null(chain_params_by_name(NULL));
    const struct chain_params *nets[] = { &chain_params_regtest, &chain_params_testnet };
    for (int i = 0; i < 2; i++) {
        const struct chain_params *p = nets[i];
        struct chain_u256 t, lim;
        assert_true(p->max_block_size <= BLOCK_SIZE_LIMIT);
        assert_true(chain_bits_to_target(p->pow_limit_bits, &lim));
        assert_true(chain_bits_to_target(p->genesis_bits, &t));
        assert_true(chain_u256_cmp(&t, &lim) <= 0);
        assert_true(p->p2p_port != p->rpc_port);
        assert_true(p->mtp_window % 2 == 1);
    }
    assert_true(chain_params_regtest.magic != chain_params_testnet.magic);
}

static int setup(void **state)
{
    (void)state;
    return sig_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_dev_key_from_documented_seed),
        cmocka_unit_test(test_lookup_and_sanity),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
