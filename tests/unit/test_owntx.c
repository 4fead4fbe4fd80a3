/* The node's own txs (chain/owntx.c): kept across reopen while
 * unconfirmed, marked confirmed with the block that holds them (in the
 * block's transaction), unconfirmed again when a reorg disconnects that
 * block, dropped once buried CHAIN_OWN_TX_KEEP_DEPTH deep. And store
 * failures: a block on the tip whose connect fails is not stored either,
 * so it never connects after a reopen; the error is reported. */
#define _GNU_SOURCE 1
#include "tests/unit/chain_helpers.h"

#include <sqlite3.h>

#include <unistd.h>

static const struct chain_params *P = &chain_params_regtest;

static void test_kept_across_reopen(void **state)
{
    (void)state;
    struct tdir d;
    struct tkey dev, k;
    tdir_make(&d);
    tdev(&dev);
    tkey(&k, 1);
    struct chain *c = topen(P, d.db);
    struct chain_tx t0 = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    struct chain_tx t1 = tmk_tx(&dev, k.pk, COIN, 1000, 1);
    uint8_t id0[32];
    chain_tx_txid(&t0, id0);
    assert_int_equal(chain_own_tx_add(c, &t1), 0);
    assert_int_equal(chain_own_tx_add(c, &t0), 0);
    assert_int_equal(chain_own_tx_add(c, &t0), 1);   /* already one */
    assert_int_equal(chain_own_next_nonce(c, dev.pk), 2);
    assert_int_equal(chain_own_next_nonce(c, k.pk), 0);
    chain_close(c);   /* as a crash would: nothing of the mempool is kept */

    c = topen(P, d.db);
    assert_int_equal(chain_mempool_count(c), 0);
    assert_int_equal(chain_own_tx_count(c), 2);
    assert_true(chain_own_tx_has(c, id0));
    struct chain_tx out[4];
    assert_int_equal(chain_own_txs(c, out, 4), 2);
    assert_int_equal(out[0].nonce, 0);   /* nonce order, not the order added */
    assert_int_equal(out[1].nonce, 1);
    assert_int_equal(chain_own_next_nonce(c, dev.pk), 2);
    assert_int_equal(chain_own_tx_del(c, id0), 0);
    assert_int_equal(chain_own_tx_del(c, id0), CHAIN_ERR_NOT_FOUND);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
    c = topen(P, d.db);
    assert_int_equal(chain_own_tx_count(c), 1);
    assert_false(chain_own_tx_has(c, id0));
    chain_close(c);
    tdir_remove(&d);
}

static void test_confirm_reorg_prune(void **state)
{
    (void)state;
    struct tdir d;
    struct tkey dev, k;
    uint8_t g[32], a1[32], tip[32], b_tip[32], id[32];
    struct chain_block b;
    struct chain_result r;
    tdir_make(&d);
    tdev(&dev);
    tkey(&k, 2);
    chain_genesis_hash(P, g);
    struct chain *c = topen(P, d.db);
    struct chain_tx pay = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    chain_tx_txid(&pay, id);
    assert_int_equal(chain_own_tx_add(c, &pay), 0);
    assert_true(chain_mempool_accept(c, &pay, 0, T_NOW(P)) > 0);

    /* Branch a confirms it at height 1. */
    tmk_block(c, g, &pay, 1, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    tblock_hash(&b, a1);
    chain_block_free(&b);
    assert_int_equal(chain_own_tx_count(c), 0);
    assert_true(chain_own_tx_has(c, id));
    assert_int_equal(chain_own_next_nonce(c, dev.pk), 0);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);

    /* Confirmed in the store too; then branch b (without it) wins. */
    c = topen(P, d.db);
    assert_int_equal(chain_own_tx_count(c), 0);
    assert_int_equal(chain_check(c), 0);
    textend(c, g, 2, 2, b_tip);
    chain_tip(c, tip);
    assert_memory_equal(tip, b_tip, 32);
    assert_int_equal(chain_own_tx_count(c), 1);   /* unconfirmed again */
    assert_true(chain_mempool_has(c, id));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);

    c = topen(P, d.db);
    assert_int_equal(chain_own_tx_count(c), 1);
    assert_int_equal(chain_check(c), 0);
    /* Back on branch a (longer now), then buried: dropped at the depth. */
    textend(c, a1, 2, 3, tip);
    assert_int_equal(chain_own_tx_count(c), 0);
    assert_true(chain_own_tx_has(c, id));
    textend(c, tip, CHAIN_OWN_TX_KEEP_DEPTH - 4, 3, tip);
    assert_true(chain_own_tx_has(c, id));   /* height 1, tip 99 */
    textend(c, tip, 1, 3, tip);
    assert_false(chain_own_tx_has(c, id));  /* tip 100: 100 blocks deep */
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
    c = topen(P, d.db);
    assert_false(chain_own_tx_has(c, id));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
    tdir_remove(&d);
}

static void test_full(void **state)
{
    (void)state;
    struct tkey dev, k;
    tdev(&dev);
    tkey(&k, 3);
    struct chain *c = topen(P, NULL);
    for (unsigned i = 0; i < CHAIN_OWN_TXS_MAX; i++) {
        struct chain_tx tx = tmk_tx(&dev, k.pk, COIN, 1000, i);
        assert_int_equal(chain_own_tx_add(c, &tx), 0);
    }
    struct chain_tx tx = tmk_tx(&dev, k.pk, COIN, 1000, CHAIN_OWN_TXS_MAX);
    assert_int_equal(chain_own_tx_add(c, &tx), CHAIN_ERR_OWN_FULL);
    assert_int_equal(chain_own_next_nonce(c, dev.pk), CHAIN_OWN_TXS_MAX);
    chain_close(c);
}

/* Run sql on the database through a second connection (the chain's own
 * statements see the schema change on their next step). */
static void side_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 2000);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(h);
}

/* The connect of a block on the tip fails after its body was written (a
 * trigger refuses the new tip as a full disk would): the block is neither
 * the tip nor stored, now or after a reopen, and it connects when offered
 * again once the store takes writes. */
static void test_failed_connect_not_stored(void **state)
{
    (void)state;
    struct tdir d;
    struct tkey dev, k;
    uint8_t g[32], tip[32], h1[32], now_tip[32];
    struct chain_block b;
    struct chain_result r;
    tdir_make(&d);
    tdev(&dev);
    tkey(&k, 4);
    chain_genesis_hash(P, g);
    struct chain *c = topen(P, d.db);
    textend(c, g, 2, 1, tip);
    struct chain_tx pay = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    tmk_block(c, tip, &pay, 1, 1, &b);
    tblock_hash(&b, h1);
    uint64_t errors = chain_store_error(c)->count;
    side_exec(d.db, "CREATE TRIGGER full BEFORE INSERT ON meta WHEN NEW.key = 'tip' "
                    "BEGIN SELECT RAISE(ABORT, 'test: disk full'); END;");
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_STORE);
    assert_true(chain_store_error(c)->count > errors);
    assert_non_null(strstr(chain_store_error(c)->msg, "test: disk full"));
    chain_tip(c, now_tip);
    assert_memory_equal(now_tip, tip, 32);
    assert_false(chain_have_block(c, h1));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);

    c = topen(P, d.db);   /* the trigger still refuses: nothing to connect */
    chain_tip(c, now_tip);
    assert_memory_equal(now_tip, tip, 32);
    assert_false(chain_have_block(c, h1));
    chain_close(c);
    side_exec(d.db, "DROP TRIGGER full;");
    c = topen(P, d.db);
    chain_tip(c, now_tip);
    assert_memory_equal(now_tip, tip, 32);
    assert_int_equal(chain_store_probe(c), 0);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    assert_int_equal(chain_check(c), 0);
    chain_block_free(&b);
    chain_close(c);
    tdir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_across_reopen),
        cmocka_unit_test(test_confirm_reorg_prune),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_failed_connect_not_stored),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
