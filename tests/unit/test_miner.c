/* Miner: template order and limits, the nonce search, the retarget rule. */
#include "tests/unit/chain_helpers.h"

#include "chain/chainstate.h"
#include "chain/pow.h"

static const struct chain_params *P = &chain_params_regtest;

static void test_template_order(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct tkey dev, a, k;
    uint8_t g[32], tip[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&a, 1);
    tkey(&k, 9);
    chain_genesis_hash(P, g);
    struct chain_tx fund = tmk_tx(&dev, a.pk, 100 * COIN, 1000, 0);
    tmk_block(c, g, &fund, 1, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    chain_block_free(&b);

    /* dev: nonce 1 cheap, nonce 2 rich; a: one mid-fee tx. */
    struct chain_tx d1 = tmk_tx(&dev, k.pk, COIN, 1000, 1);
    struct chain_tx d2 = tmk_tx(&dev, k.pk, COIN, 9000, 2);
    struct chain_tx a0 = tmk_tx(&a, k.pk, COIN, 5000, 0);
    assert_int_equal(chain_mempool_accept(c, &d2, 0, T_NOW(P)), CHAIN_TX_WAITING);
    assert_int_equal(chain_mempool_accept(c, &d1, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &a0, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_count(c), 3);

    uint64_t now = T_NOW(P);
    assert_int_equal(chain_block_template(c, k.pk, now, &b), 0);
    assert_int_equal(b.n_tx, 4);
    assert_true(chain_tx_is_coinbase(&b.txs[0]));
    assert_memory_equal(b.txs[0].to, k.pk, 32);
    assert_true(b.txs[0].nonce == 2);
    assert_true(b.txs[0].amount == P->reward + 15000);
    /* a0 (5000) beats d1 (1000); d2 must follow d1. */
    assert_true(b.txs[1].fee == 5000);
    assert_true(b.txs[2].nonce == 1 && b.txs[2].fee == 1000);
    assert_true(b.txs[3].nonce == 2 && b.txs[3].fee == 9000);
    chain_tip(c, tip);
    assert_memory_equal(b.hdr.prev, tip, 32);
    assert_true(b.hdr.time_ms == now);
    assert_true(b.hdr.bits == chain_next_bits(c));
    assert_true(chain_mine(&b.hdr, 0, 1000000));
    assert_int_equal(chain_accept_block(c, &b, now, &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
    assert_int_equal(chain_mempool_count(c), 0);

    /* A clock behind the median time past still gives a valid time. */
    assert_int_equal(chain_block_template(c, k.pk, 5, &b), 0);
    assert_true(b.hdr.time_ms == chain_tip_mtp(c) + 1);
    chain_block_free(&b);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_template_size_cap(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct tkey dev, k;
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k, 2);
    size_t txsz = TX_FIXED_SIZE + 3 + TX_MEMO_MAX;
    size_t n = P->max_block_size / txsz + 20;
    for (size_t i = 0; i < n; i++) {
        struct chain_tx t;
        memset(&t, 0, sizeof t);
        t.version = TX_VERSION;
        memcpy(t.to, k.pk, 32);
        t.amount = 1;
        t.fee = 1000;
        t.nonce = i;
        t.memo_len = TX_MEMO_MAX;
        memset(t.memo, 'm', TX_MEMO_MAX);
        chain_tx_sign(&t, dev.sk);
        assert_int_equal(chain_mempool_accept(c, &t, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    }
    assert_int_equal(chain_block_template(c, k.pk, T_NOW(P), &b), 0);
    assert_true(chain_block_size(&b) <= P->max_block_size);
    assert_true(b.n_tx > 1);
    assert_true(b.n_tx - 1 < n);
    for (size_t i = 1; i < b.n_tx; i++)
        assert_true(b.txs[i].nonce == i - 1);
    assert_true(chain_mine(&b.hdr, 0, 1000000));
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    assert_int_equal(chain_mempool_count(c), n - (b.n_tx - 1));
    chain_block_free(&b);
    chain_close(c);
}

static void test_mine_range(void **state)
{
    (void)state;
    struct chain_header h;
    struct chain_u256 target, v;
    uint8_t hash[32];
    memset(&h, 0, sizeof h);
    h.version = BLOCK_VERSION;
    h.time_ms = 12345;
    h.bits = 0x2000ffff;       /* about 1 in 256 */
    assert_true(chain_mine(&h, 1000, 100000));
    assert_true(h.nonce >= 1000 && h.nonce < 101000);
    chain_header_hash(&h, hash);
    chain_u256_from_le(&v, hash);
    assert_true(chain_bits_to_target(h.bits, &target));
    assert_true(chain_u256_cmp(&v, &target) <= 0);
    /* Every nonce before the found one fails: the search is in order. */
    uint64_t found = h.nonce;
    for (uint64_t n = 1000; n < found; n++) {
        h.nonce = n;
        chain_header_hash(&h, hash);
        chain_u256_from_le(&v, hash);
        assert_true(chain_u256_cmp(&v, &target) > 0);
    }
    /* An empty range finds nothing; wrapping around 2^64 is fine. */
    h.nonce = 7;
    assert_false(chain_mine(&h, 0, 0));
    assert_true(h.nonce == 7);
    assert_true(chain_mine(&h, UINT64_MAX - 10, 100000));
}

/* Testnet retarget on hand-made nodes (no proof of work needed). */
static void test_retarget_rule(void **state)
{
    (void)state;
    const struct chain_params *T = &chain_params_testnet;
    struct chain c;
    enum { N = 64 };
    struct bnode nodes[N];
    memset(&c, 0, sizeof c);
    memset(nodes, 0, sizeof nodes);
    c.p = T;
    const uint32_t W = T->retarget_window;
    assert_true(W + 2 < N);
    for (uint32_t i = 0; i < N; i++) {
        nodes[i].height = i;
        nodes[i].prev = i ? &nodes[i - 1] : NULL;
        nodes[i].hdr.bits = T->pow_limit_bits;
        nodes[i].hdr.time_ms = 1000000 + (uint64_t)i * T->target_interval_ms;
    }
    /* Until a full window of mined blocks: the limit. */
    assert_true(chain__next_bits(&c, &nodes[W]) == T->pow_limit_bits);
    /* On schedule: unchanged. */
    assert_true(chain__next_bits(&c, &nodes[W + 1]) == T->pow_limit_bits);
    /* Twice too fast: the target halves (never easier than the limit). */
    for (uint32_t i = 0; i < N; i++)
        nodes[i].hdr.time_ms = 1000000 + (uint64_t)i * T->target_interval_ms / 2;
    uint32_t bits = chain__next_bits(&c, &nodes[W + 1]);
    struct chain_u256 lim, got, twice;
    chain_bits_to_target(T->pow_limit_bits, &lim);
    chain_bits_to_target(bits, &got);
    twice = got;
    chain_u256_add(&twice, &got);
    assert_true(chain_u256_cmp(&got, &lim) < 0);
    /* 2 * new target is the old one, up to compact rounding. */
    uint32_t twice_bits = chain_target_to_bits(&twice);
    assert_true(twice_bits == T->pow_limit_bits || twice_bits + 1 == T->pow_limit_bits ||
                twice_bits == T->pow_limit_bits + 1);
    /* Too slow: stays at the limit. */
    for (uint32_t i = 0; i < N; i++)
        nodes[i].hdr.time_ms = 1000000 + (uint64_t)i * T->target_interval_ms * 3;
    assert_true(chain__next_bits(&c, &nodes[W + 5]) == T->pow_limit_bits);
    /* Regtest never retargets. */
    c.p = P;
    assert_true(chain__next_bits(&c, &nodes[W + 5]) == P->pow_limit_bits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_order),
        cmocka_unit_test(test_template_size_cap),
        cmocka_unit_test(test_mine_range),
        cmocka_unit_test(test_retarget_rule),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
