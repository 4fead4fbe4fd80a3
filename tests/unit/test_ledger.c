/* Ledger: apply and undo blocks, undo data encoding, failures leave the
 * ledger unchanged. */
#include "tests/unit/chain_helpers.h"

#include "chain/ledger.h"

static struct chain_block mkblock(struct chain_tx *txs, size_t n)
{
    struct chain_block b;
    memset(&b, 0, sizeof b);
    b.txs = txs;
    b.n_tx = n;
    return b;
}

static struct chain_tx coinbase(const uint8_t to[32], uint64_t amount, uint64_t height)
{
    struct chain_tx cb;
    memset(&cb, 0, sizeof cb);
    cb.version = TX_VERSION;
    memcpy(cb.to, to, 32);
    cb.amount = amount;
    cb.nonce = height;
    return cb;
}

static void test_apply_undo(void **state)
{
    (void)state;
    struct ledger l;
    struct ledger_undo u0, u1;
    struct tkey a, b, m;
    uint8_t d0[32], d1[32], d2[32];
    tkey(&a, 1);
    tkey(&b, 2);
    tkey(&m, 3);
    ledger_init(&l, 0);
    ledger_undo_init(&u0);
    ledger_undo_init(&u1);
    ledger_digest(&l, d0);

    struct chain_tx t0[1] = { coinbase(a.pk, 1000000, 0) };
    struct chain_block b0 = mkblock(t0, 1);
    assert_int_equal(ledger_apply_block(&l, &b0, &u0, NULL), 0);
    assert_true(ledger_get(&l, a.pk)->balance == 1000000);
    ledger_digest(&l, d1);

    struct chain_tx t1[3] = {
        coinbase(m.pk, 5000, 1),
        tmk_tx(&a, b.pk, 300000, 2000, 0),
        tmk_tx(&b, a.pk, 100000, 3000, 0),
    };
    struct chain_block b1 = mkblock(t1, 3);
    assert_int_equal(ledger_apply_block(&l, &b1, &u1, NULL), 0);
    assert_true(ledger_get(&l, a.pk)->balance == 1000000 - 302000 + 100000);
    assert_true(ledger_get(&l, a.pk)->nonce == 1);
    assert_true(ledger_get(&l, b.pk)->balance == 300000 - 103000);
    assert_true(ledger_get(&l, b.pk)->nonce == 1);
    assert_true(ledger_get(&l, m.pk)->balance == 5000);
    assert_int_equal(u1.n, 3);   /* first touches only */
    assert_int_equal(ledger_count(&l), 3);

    /* Undo data survives encoding. */
    uint8_t *buf = NULL;
    size_t len = 0;
    struct ledger_undo u1b;
    ledger_undo_init(&u1b);
    assert_int_equal(ledger_undo_encode(&u1, &buf, &len), 0);
    assert_int_equal(ledger_undo_decode(&u1b, buf, len), 0);
    assert_int_equal(u1b.n, u1.n);
    assert_memory_equal(u1b.e, u1.e, u1.n * sizeof *u1.e);
    assert_int_not_equal(ledger_undo_decode(&u1b, buf, len - 1), 0);
    buf[0] = 0xfd;   /* a count far above what the bytes hold */
    assert_int_not_equal(ledger_undo_decode(&u1b, buf, len), 0);
    free(buf);
    /* A failed decode leaves the record empty, never half filled. */
    assert_int_equal(u1b.n, 0);

    ledger_undo_block(&l, &u1);
    ledger_digest(&l, d2);
    assert_memory_equal(d1, d2, 32);
    assert_null(ledger_get(&l, b.pk));    /* back to "no account" */
    ledger_undo_block(&l, &u0);
    ledger_digest(&l, d2);
    assert_memory_equal(d0, d2, 32);
    assert_int_equal(ledger_count(&l), 0);

    ledger_undo_free(&u0);
    ledger_undo_free(&u1);
    ledger_undo_free(&u1b);
    ledger_free(&l);
}

static void test_failure_leaves_ledger(void **state)
{
    (void)state;
    struct ledger l;
    struct ledger_undo u;
    struct tkey a, b;
    uint8_t d0[32], d1[32];
    size_t bad = 99;
    tkey(&a, 1);
    tkey(&b, 2);
    ledger_init(&l, 0);
    ledger_undo_init(&u);
    assert_int_equal(ledger_set(&l, a.pk, 10000, 0), 0);
    ledger_digest(&l, d0);

    struct chain_tx t[3] = {
        coinbase(b.pk, 50, 1),
        tmk_tx(&a, b.pk, 1000, 1000, 0),
        tmk_tx(&a, b.pk, 1000, 1000, 0),      /* nonce reused */
    };
    struct chain_block blk = mkblock(t, 3);
    assert_int_equal(ledger_apply_block(&l, &blk, &u, &bad), CHAIN_ERR_TX_BAD_NONCE);
    assert_int_equal(bad, 2);
    ledger_digest(&l, d1);
    assert_memory_equal(d0, d1, 32);

    t[2] = tmk_tx(&a, b.pk, 8001, 1000, 1);   /* 2000 + 9001 > 10000 */
    assert_int_equal(ledger_apply_block(&l, &blk, &u, &bad), CHAIN_ERR_TX_INSUFFICIENT);
    ledger_digest(&l, d1);
    assert_memory_equal(d0, d1, 32);

    /* A credit that would overflow. */
    assert_int_equal(ledger_set(&l, b.pk, UINT64_MAX - 10, 0), 0);
    ledger_digest(&l, d0);
    t[2] = tmk_tx(&a, b.pk, 100, 1000, 1);
    assert_int_equal(ledger_apply_block(&l, &blk, &u, &bad), CHAIN_ERR_TX_OVERFLOW);
    ledger_digest(&l, d1);
    assert_memory_equal(d0, d1, 32);

    ledger_undo_free(&u);
    ledger_free(&l);
}

/* What validation refuses but apply still computes the plain way (apply
 * updates accounts in place, so one account on both sides of a tx must
 * see its own update): a self-send costs the fee; a free tx from an
 * empty account creates it and pays itself; a zero coinbase to a new key
 * creates nothing; and undo returns the ledger to where it was. */
static void test_same_account_both_sides(void **state)
{
    (void)state;
    struct ledger l;
    struct ledger_undo u;
    struct tkey a, z, m;
    uint8_t d0[32], d1[32];
    tkey(&a, 1);
    tkey(&z, 2);
    tkey(&m, 3);
    ledger_init(&l, 0);
    ledger_undo_init(&u);
    assert_int_equal(ledger_set(&l, a.pk, 10000, 4), 0);
    ledger_digest(&l, d0);

    struct chain_tx t[3] = {
        coinbase(m.pk, 0, 1),
        tmk_tx(&a, a.pk, 3000, 100, 4),
        tmk_tx(&z, z.pk, 0, 0, 0),
    };
    struct chain_block blk = mkblock(t, 3);
    assert_int_equal(ledger_apply_block(&l, &blk, &u, NULL), 0);
    assert_null(ledger_get(&l, m.pk));
    assert_true(ledger_get(&l, a.pk)->balance == 10000 - 100);
    assert_true(ledger_get(&l, a.pk)->nonce == 5);
    assert_non_null(ledger_get(&l, z.pk));
    assert_true(ledger_get(&l, z.pk)->balance == 0);
    assert_true(ledger_get(&l, z.pk)->nonce == 1);
    assert_int_equal(u.n, 3);
    assert_int_equal(ledger_count(&l), 2);
    ledger_undo_block(&l, &u);
    ledger_digest(&l, d1);
    assert_memory_equal(d0, d1, 32);
    assert_int_equal(ledger_count(&l), 1);

    ledger_undo_free(&u);
    ledger_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_undo),
        cmocka_unit_test(test_failure_leaves_ledger),
        cmocka_unit_test(test_same_account_both_sides),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
