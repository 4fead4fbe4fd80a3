/* Mempool: nonce sequences, future-nonce orphans, replacement, byte cap
 * eviction, expiry, confirmation, and the verified-signature cache. */
#include "tests/unit/chain_helpers.h"

#include "chain/chainstate.h"

static const struct chain_params *P = &chain_params_regtest;

static struct chain *open_cfg(size_t max_bytes, uint64_t expiry_ms)
{
    struct chain *c = NULL;
    struct chain_config cfg = { .params = P, .mempool_max_bytes = max_bytes,
                                .mempool_expiry_ms = expiry_ms };
    assert_int_equal(chain_open(&c, &cfg, T_NOW(P)), 0);
    return c;
}

/* Fund keys 1..n with 100 coins each in one block. */
static void fund(struct chain *c, unsigned n)
{
    struct tkey dev, k;
    struct chain_tx txs[16];
    uint8_t tip[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    uint64_t nonce = chain_account_next_nonce(c, dev.pk);
    for (unsigned i = 0; i < n; i++) {
        tkey(&k, i + 1);
        txs[i] = tmk_tx(&dev, k.pk, 100 * COIN, 1000, nonce + i);
    }
    chain_tip(c, tip);
    tmk_block(c, tip, txs, n, 9, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
}

static void test_sequence_and_orphans(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    uint8_t id[4][32];
    tdev(&dev);
    tkey(&k, 1);
    struct chain_tx t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = tmk_tx(&dev, k.pk, COIN, 1000, (uint64_t)i);
        chain_tx_txid(&t[i], id[i]);
    }
    assert_int_equal(chain_mempool_accept(c, &t[0], 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &t[0], 0, T_NOW(P)), CHAIN_ERR_TX_DUPLICATE);
    assert_int_equal(chain_mempool_accept(c, &t[3], 0, T_NOW(P)), CHAIN_TX_WAITING);
    assert_int_equal(chain_mempool_accept(c, &t[2], 0, T_NOW(P)), CHAIN_TX_WAITING);
    assert_int_equal(chain_mempool_accept(c, &t[2], 0, T_NOW(P)), CHAIN_ERR_TX_DUPLICATE);
    assert_int_equal(chain_mempool_orphans(c), 2);
    assert_int_equal(chain_mempool_count(c), 1);
    assert_true(chain_account_next_nonce(c, dev.pk) == 1);
    /* Filling the gap pulls both waiting txs in. */
    assert_int_equal(chain_mempool_accept(c, &t[1], 0, T_NOW(P) + 5), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_orphans(c), 0);
    assert_int_equal(chain_mempool_count(c), 4);
    assert_true(chain_account_next_nonce(c, dev.pk) == 4);
    assert_true(chain_mempool_has(c, id[3]));
    assert_true(chain_mempool_time(c, id[1]) == T_NOW(P) + 5);
    assert_non_null(chain_mempool_get(c, id[2]));
    uint8_t ids[8][32];
    assert_int_equal(chain_mempool_txids(c, ids, 8), 4);
    assert_int_equal(chain_mempool_bytes(c), 4 * chain_tx_size(&t[0]));

    /* A block confirming the first two leaves the other two. */
    uint8_t g[32];
    struct chain_block b;
    struct chain_result r;
    chain_genesis_hash(P, g);
    tmk_block(c, g, t, 2, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    chain_block_free(&b);
    assert_int_equal(chain_mempool_count(c), 2);
    assert_false(chain_mempool_has(c, id[0]));
    assert_true(chain_mempool_has(c, id[2]));
    assert_int_equal(chain_mempool_accept(c, &t[1], 0, T_NOW(P)), CHAIN_ERR_TX_NONCE_TOO_OLD);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_orphan_limits(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    tdev(&dev);
    tkey(&k, 1);
    struct chain_tx far = tmk_tx(&dev, k.pk, COIN, 1000, MEMPOOL_ORPHAN_NONCE_GAP_MAX + 1);
    assert_int_equal(chain_mempool_accept(c, &far, 0, T_NOW(P)), CHAIN_ERR_TX_BAD_NONCE);
    for (unsigned i = 0; i < MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX; i++) {
        struct chain_tx t = tmk_tx(&dev, k.pk, COIN, 1000, 2 + i);
        assert_int_equal(chain_mempool_accept(c, &t, 0, T_NOW(P)), CHAIN_TX_WAITING);
    }
    struct chain_tx more = tmk_tx(&dev, k.pk, COIN, 1000, 2 + MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX);
    assert_int_equal(chain_mempool_accept(c, &more, 0, T_NOW(P)), CHAIN_ERR_TX_ORPHAN_FULL);
    /* Replacing a waiting tx needs a higher fee too. */
    struct chain_tx same = tmk_tx(&dev, k.pk, 2 * COIN, 1000, 2);
    assert_int_equal(chain_mempool_accept(c, &same, 0, T_NOW(P)), CHAIN_ERR_TX_REPLACE_FEE);
    same.fee = 5000;
    chain_tx_sign(&same, dev.sk);
    assert_int_equal(chain_mempool_accept(c, &same, 0, T_NOW(P)), CHAIN_TX_WAITING);
    assert_int_equal(chain_mempool_orphans(c), MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX);
    /* Waiting txs expire. */
    chain_tick(c, T_NOW(P) + MEMPOOL_ORPHAN_TX_EXPIRY_MS - 1);
    assert_int_equal(chain_mempool_orphans(c), MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX);
    chain_tick(c, T_NOW(P) + MEMPOOL_ORPHAN_TX_EXPIRY_MS);
    assert_int_equal(chain_mempool_orphans(c), 0);
    chain_close(c);
}

/* Fund keys first..first+n-1 with 10 coins each, 50 per block. */
static void fund_many(struct chain *c, unsigned first, unsigned n)
{
    struct tkey dev, k;
    struct chain_tx txs[50];
    tdev(&dev);
    for (unsigned done = 0; done < n;) {
        unsigned m = n - done < 50 ? n - done : 50;
        uint64_t nonce = chain_account_next_nonce(c, dev.pk);
        for (unsigned i = 0; i < m; i++) {
            tkey(&k, first + done + i);
            txs[i] = tmk_tx(&dev, k.pk, 10 * COIN, 1000, nonce + i);
        }
        uint8_t tip[32];
        struct chain_block b;
        struct chain_result r;
        chain_tip(c, tip);
        tmk_block(c, tip, txs, m, 9, &b);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
        chain_block_free(&b);
        done += m;
    }
}

/* Sender chains relayed out of order: 100 senders x 200 nonces arrive
 * last nonce first, so all but each sender's first wait; the firsts then
 * bring every chain in. Also one sender's chain of 250. */
static void test_sender_chains_wait(void **state)
{
    (void)state;
    enum { SENDERS = 100, NONCES = 200, LONG = 250 };
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    tdev(&dev);
    fund_many(c, 1, SENDERS + 1);
    struct chain_tx *first = calloc(SENDERS + 1, sizeof *first);
    assert_non_null(first);
    for (unsigned s = 0; s <= SENDERS; s++) {
        unsigned n = s < SENDERS ? NONCES : LONG;
        tkey(&k, 1 + s);
        for (unsigned i = n; i-- > 1;) {
            struct chain_tx t = tmk_tx(&k, dev.pk, 1000, 1000, i);
            assert_int_equal(chain_mempool_accept(c, &t, s, T_NOW(P)), CHAIN_TX_WAITING);
        }
        first[s] = tmk_tx(&k, dev.pk, 1000, 1000, 0);
    }
    assert_int_equal(chain_mempool_orphans(c), SENDERS * (NONCES - 1) + LONG - 1);
    assert_int_equal(chain_check(c), 0);
    for (unsigned s = 0; s <= SENDERS; s++)
        assert_int_equal(chain_mempool_accept(c, &first[s], s, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_orphans(c), 0);
    assert_int_equal(chain_mempool_count(c), SENDERS * NONCES + LONG);
    assert_int_equal(chain_check(c), 0);
    free(first);
    chain_close(c);
}

/* A flood of waiting txs from many senders: the area stays within
 * MEMPOOL_ORPHAN_MAX_BYTES, the oldest going first. */
static void test_waiting_area_bytes(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    tdev(&dev);
    const size_t fit = MEMPOOL_ORPHAN_MAX_BYTES / MEMPOOL_ORPHAN_ENTRY_BYTES;
    const unsigned senders = (unsigned)(fit / MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX + 2);
    size_t sent = 0;
    uint8_t oldest[32], newest[32];
    for (unsigned s = 0; s < senders; s++) {
        tkey(&k, 1000 + s);
        for (unsigned i = 0; i < MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX; i++) {
            struct chain_tx t = tmk_tx(&k, dev.pk, 1000, 1000, 1 + i);
            assert_int_equal(chain_mempool_accept(c, &t, 0, T_NOW(P)), CHAIN_TX_WAITING);
            if (sent++ == 0)
                chain_tx_txid(&t, oldest);
            chain_tx_txid(&t, newest);
        }
    }
    assert_true(sent > fit);
    assert_int_equal(chain_mempool_orphans(c), fit);
    assert_true(c->mp.orphan_bytes <= MEMPOOL_ORPHAN_MAX_BYTES);
    assert_null(hmap_get(&c->mp.orphans, oldest));
    assert_non_null(hmap_get(&c->mp.orphans, newest));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_replacement(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    uint8_t id_a[32], id_b[32];
    tdev(&dev);
    tkey(&k, 1);
    struct chain_tx a = tmk_tx(&dev, k.pk, COIN, 2000, 0);
    struct chain_tx a2 = tmk_tx(&dev, k.pk, COIN, 1000, 1);
    struct chain_tx same_fee = tmk_tx(&dev, k.pk, 3 * COIN, 2000, 0);
    struct chain_tx b = tmk_tx(&dev, k.pk, 2 * COIN, 3000, 0);
    struct chain_tx greedy = tmk_tx(&dev, k.pk, CHAIN_GENESIS_ALLOC - 1000, 4000, 0);
    chain_tx_txid(&a, id_a);
    chain_tx_txid(&b, id_b);
    assert_int_equal(chain_mempool_accept(c, &a, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &a2, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &same_fee, 0, T_NOW(P)), CHAIN_ERR_TX_REPLACE_FEE);
    /* Higher fee, but then a2 would no longer be covered. */
    assert_int_equal(chain_mempool_accept(c, &greedy, 0, T_NOW(P)), CHAIN_ERR_TX_INSUFFICIENT);
    assert_int_equal(chain_mempool_accept(c, &b, 0, T_NOW(P)), CHAIN_TX_REPLACED);
    assert_false(chain_mempool_has(c, id_a));
    assert_true(chain_mempool_has(c, id_b));
    assert_int_equal(chain_mempool_count(c), 2);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_eviction_by_feerate(void **state)
{
    (void)state;
    size_t txsz = TX_FIXED_SIZE + 1;
    struct chain *c = open_cfg(3 * txsz, 0);
    struct tkey k[4];
    uint8_t id[4][32], tip[32];
    fund(c, 4);
    chain_tip(c, tip);
    for (unsigned i = 0; i < 4; i++)
        tkey(&k[i], i + 1);
    /* Three senders fill the pool: fees 3000, 1000, 2000. */
    uint64_t fees[4] = { 3000, 1000, 2000, 4000 };
    struct chain_tx t[4];
    for (unsigned i = 0; i < 4; i++) {
        t[i] = tmk_tx(&k[i], k[(i + 1) % 4].pk, COIN, fees[i], 0);
        chain_tx_txid(&t[i], id[i]);
    }
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(chain_mempool_accept(c, &t[i], 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_bytes(c), 3 * txsz);
    /* A better tx pushes out the lowest fee rate. */
    assert_int_equal(chain_mempool_accept(c, &t[3], 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_false(chain_mempool_has(c, id[1]));
    assert_true(chain_mempool_has(c, id[0]));
    assert_true(chain_mempool_has(c, id[2]));
    assert_true(chain_mempool_has(c, id[3]));
    /* A worse one does not get in. */
    struct chain_tx low = tmk_tx(&k[1], k[0].pk, COIN, 1000, 0);
    assert_int_equal(chain_mempool_accept(c, &low, 0, T_NOW(P)), CHAIN_ERR_MEMPOOL_FULL);
    assert_int_equal(chain_mempool_count(c), 3);
    /* A sender's second tx competes as that sender's last tx: it beats
     * k2's (fee 2000) but not its own sender's first. */
    struct chain_tx k0b = tmk_tx(&k[0], k[1].pk, COIN, 2500, 1);
    assert_int_equal(chain_mempool_accept(c, &k0b, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_false(chain_mempool_has(c, id[2]));
    assert_true(chain_mempool_has(c, id[0]));
    assert_true(chain_mempool_bytes(c) <= 3 * txsz);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_expiry(void **state)
{
    (void)state;
    const uint64_t exp = 60000;
    struct chain *c = open_cfg(0, exp);
    struct tkey dev, k;
    tdev(&dev);
    tkey(&k, 1);
    struct chain_tx t0 = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    struct chain_tx t1 = tmk_tx(&dev, k.pk, COIN, 1000, 1);
    struct chain_tx u0 = tmk_tx(&k, dev.pk, COIN, 1000, 0);
    fund(c, 1);
    struct chain_tx t2 = tmk_tx(&dev, k.pk, COIN, 1000, 2);
    /* dev's nonce 0 went into the funding block. */
    assert_int_equal(chain_mempool_accept(c, &t0, 0, T_NOW(P)), CHAIN_ERR_TX_NONCE_TOO_OLD);
    assert_int_equal(chain_mempool_accept(c, &t1, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &t2, 0, T_NOW(P) + 30000), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &u0, 0, T_NOW(P) + 30000), CHAIN_TX_ACCEPTED);
    chain_tick(c, T_NOW(P) + exp - 1);
    assert_int_equal(chain_mempool_count(c), 3);
    /* t1 expires, and t2 behind it cannot be mined without it. */
    chain_tick(c, T_NOW(P) + exp);
    assert_int_equal(chain_mempool_count(c), 1);
    assert_true(chain_account_next_nonce(c, dev.pk) == 1);
    chain_tick(c, T_NOW(P) + 30000 + exp);
    assert_int_equal(chain_mempool_count(c), 0);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* A block whose txs passed the mempool does not verify them again: a tx
 * whose id is in the cache is accepted even with a broken signature
 * (which proves the skip; a real txid commits to its signature). */
/* A reorg leaves a sender's returned tx past a nonce gap: the tx before it
 * spent funds the new branch no longer gives. It waits, and enters when a
 * tx fills the gap. */
static void test_reorg_gap_waits(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    uint8_t fork[32], cur[32], id_in[32], id_big[32], id_next[32], id_fill[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k, 1);
    fund(c, 1);
    chain_tip(c, fork);

    /* Branch A: dev pays k 50, k spends 120 (nonce 0) and 1 (nonce 1). */
    struct chain_tx txs[3];
    txs[0] = tmk_tx(&dev, k.pk, 50 * COIN, 1000, chain_account_next_nonce(c, dev.pk));
    txs[1] = tmk_tx(&k, dev.pk, 120 * COIN, 1000, 0);
    txs[2] = tmk_tx(&k, dev.pk, 1 * COIN, 1000, 1);
    chain_tx_txid(&txs[0], id_in);
    chain_tx_txid(&txs[1], id_big);
    chain_tx_txid(&txs[2], id_next);
    tmk_block(c, fork, txs, 3, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);

    /* Branch B, one block longer, without any of them. */
    textend(c, fork, 2, 2, cur);
    chain_tip(c, fork);
    assert_memory_equal(fork, cur, 32);
    /* k has 100 again: nonce 0 (120) cannot return, nonce 1 waits. */
    assert_true(chain_mempool_has(c, id_in));
    assert_false(chain_mempool_has(c, id_big));
    assert_false(chain_mempool_has(c, id_next));
    assert_int_equal(chain_mempool_orphans(c), 1);
    assert_true(chain_account_next_nonce(c, k.pk) == 0);
    assert_int_equal(chain_check(c), 0);

    /* Filling nonce 0 brings nonce 1 back. */
    struct chain_tx fill = tmk_tx(&k, dev.pk, 2 * COIN, 1000, 0);
    chain_tx_txid(&fill, id_fill);
    assert_int_equal(chain_mempool_accept(c, &fill, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_true(chain_mempool_has(c, id_fill));
    assert_true(chain_mempool_has(c, id_next));
    assert_int_equal(chain_mempool_orphans(c), 0);
    assert_true(chain_account_next_nonce(c, k.pk) == 2);
    assert_int_equal(chain_mempool_count(c), 3);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

struct tagged {
    size_t n;
    uint8_t id[8][32];
    uint64_t tag[8];
};

static void on_tagged(void *ctx, const uint8_t txid[32], const struct chain_tx *tx, uint64_t tag)
{
    struct tagged *t = ctx;
    assert_memory_equal(txid, tx->txid, 32);
    assert_true(t->n < 8);
    memcpy(t->id[t->n], txid, 32);
    t->tag[t->n++] = tag;
}

/* The caller's origin tag comes back in tx_added: at once for a tx that
 * enters, after the wait for one held past a nonce gap, and
 * CHAIN_ORIGIN_NONE for txs a reorg returns. */
static void test_origin_tags(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey k, dev;
    struct tagged seen = { 0 };
    uint8_t id[3][32], fork[32], tip[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k, 1);
    fund(c, 1);
    chain_tip(c, fork);
    struct chain_events ev = { .ctx = &seen, .tx_added = on_tagged };
    assert_true(chain_add_listener(c, &ev) > 0);
    struct chain_tx t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = tmk_tx(&k, dev.pk, COIN, 1000, (uint64_t)i);
        chain_tx_txid(&t[i], id[i]);
    }
    assert_int_equal(chain_mempool_accept(c, &t[0], 70, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(seen.n, 1);
    assert_memory_equal(seen.id[0], id[0], 32);
    assert_true(seen.tag[0] == 70);
    assert_int_equal(chain_mempool_accept(c, &t[2], 72, T_NOW(P)), CHAIN_TX_WAITING);
    assert_int_equal(seen.n, 1);
    assert_int_equal(chain_mempool_accept(c, &t[1], 71, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(seen.n, 3);
    assert_memory_equal(seen.id[1], id[1], 32);
    assert_true(seen.tag[1] == 71);
    assert_memory_equal(seen.id[2], id[2], 32);
    assert_true(seen.tag[2] == 72);

    /* Mined, then reorged away: back with no origin. */
    tmk_block(c, fork, t, 3, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    chain_block_free(&b);
    assert_int_equal(chain_mempool_count(c), 0);
    seen.n = 0;
    textend(c, fork, 2, 2, tip);
    assert_int_equal(chain_mempool_count(c), 3);
    assert_int_equal(seen.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(seen.tag[i] == CHAIN_ORIGIN_NONE);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* The mempool keys a tx by its cached txid and never hashes it again:
 * a tx whose cached id was overwritten is found under that id. */
static void test_cached_txid_is_used(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    uint8_t real[32], fake[32];
    tdev(&dev);
    tkey(&k, 1);
    struct chain_tx t = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    chain_tx_txid(&t, real);
    memset(fake, 0x5c, sizeof fake);
    memcpy(t.txid, fake, 32);
    assert_int_equal(chain_mempool_accept(c, &t, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_true(chain_mempool_has(c, fake));
    assert_false(chain_mempool_has(c, real));
    /* chain_check re-hashes and catches the lie. */
    assert_int_equal(chain_check(c), CHAIN_ERR_INTERNAL);
    chain_close(c);
}

static void test_sigcache_skips_verification(void **state)
{
    (void)state;
    struct chain *c = open_cfg(0, 0);
    struct tkey dev, k;
    uint8_t g[32], id[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k, 1);
    chain_genesis_hash(P, g);
    struct chain_tx t = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    t.sig[5] ^= 1;
    chain_tx_seal(&t);
    chain_tx_txid(&t, id);
    tmk_block(c, g, &t, 1, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_BLK_BAD_TX);
    assert_int_equal(r.tx_err, CHAIN_ERR_TX_BAD_SIG);
    chain_block_free(&b);

    /* A valid tx goes through the mempool, then its block connects. */
    struct chain_tx ok = tmk_tx(&dev, k.pk, COIN, 1000, 0);
    assert_int_equal(chain_mempool_accept(c, &ok, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    chain_tx_txid(&ok, id);
    assert_true(sigcache_has(&c->mp.sigs, id));
    /* Forge the cache entry for the broken tx: the block now passes. */
    chain_tx_txid(&t, id);
    sigcache_add(&c->mp.sigs, id);
    tmk_block(c, g, &t, 1, 2, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
    chain_close(c);
}

static void test_sigcache_bounded(void **state)
{
    (void)state;
    struct sigcache sc;
    uint8_t id[32] = { 0 };
    assert_int_equal(sigcache_init(&sc, 4, 0), 0);
    for (uint8_t i = 0; i < 6; i++) {
        id[0] = i;
        sigcache_add(&sc, id);
    }
    id[0] = 0;
    assert_false(sigcache_has(&sc, id));
    id[0] = 1;
    assert_false(sigcache_has(&sc, id));
    for (uint8_t i = 2; i < 6; i++) {
        id[0] = i;
        assert_true(sigcache_has(&sc, id));
    }
    sigcache_free(&sc);
}

/* ---- removal events (tx_removed: ZMQ sequence 'R') ---- */

struct removals {
    size_t n;
    uint8_t txid[16][32];
    int reason[16];
};

static void on_removed(void *ctx, const uint8_t txid[32], const struct chain_tx *tx, int reason)
{
    struct removals *r = ctx;
    assert_memory_equal(txid, tx->txid, 32);
    assert_true(r->n < 16);
    memcpy(r->txid[r->n], txid, 32);
    r->reason[r->n++] = reason;
}

static void listen_removals(struct chain *c, struct removals *r)
{
    memset(r, 0, sizeof *r);
    struct chain_events ev = { .ctx = r, .tx_removed = on_removed };
    assert_true(chain_add_listener(c, &ev) > 0);
}

static void assert_removed(const struct removals *r, size_t i, const struct chain_tx *tx,
                           int reason)
{
    assert_true(i < r->n);
    assert_memory_equal(r->txid[i], tx->txid, 32);
    assert_int_equal(r->reason[i], reason);
}

/* Every way a tx that entered the pending set leaves it, other than a block
 * including it, reports the reason; confirmed txs, txs that only waited and
 * a tx refused at once for the byte cap report nothing. */
static void test_removal_events(void **state)
{
    (void)state;
    size_t txsz = TX_FIXED_SIZE + 1;
    const uint64_t exp = 60000;
    struct chain *c = open_cfg(3 * txsz, exp);
    struct removals r;
    struct tkey k[5];
    fund(c, 5);
    listen_removals(c, &r);
    for (unsigned i = 0; i < 5; i++)
        tkey(&k[i], i + 1);

    /* replaced: same sender and nonce, higher fee */
    struct chain_tx a0 = tmk_tx(&k[0], k[1].pk, COIN, 1000, 0);
    struct chain_tx a0b = tmk_tx(&k[0], k[1].pk, COIN, 3000, 0);
    assert_int_equal(chain_mempool_accept(c, &a0, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &a0b, 0, T_NOW(P)), CHAIN_TX_REPLACED);
    assert_int_equal(r.n, 1);
    assert_removed(&r, 0, &a0, CHAIN_TX_RM_REPLACED);

    /* sizelimit: the pool holds three; the lowest fee rate goes, and a tx
     * too poor to get in is refused without an event */
    struct chain_tx b0 = tmk_tx(&k[1], k[0].pk, COIN, 1500, 0);
    struct chain_tx c0 = tmk_tx(&k[2], k[0].pk, COIN, 2000, 0);
    struct chain_tx d0 = tmk_tx(&k[3], k[0].pk, COIN, 4000, 0);
    struct chain_tx e0 = tmk_tx(&k[4], k[0].pk, COIN, 1000, 0);
    assert_int_equal(chain_mempool_accept(c, &b0, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &c0, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &d0, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(r.n, 2);
    assert_removed(&r, 1, &b0, CHAIN_TX_RM_SIZELIMIT);
    assert_int_equal(chain_mempool_accept(c, &e0, 0, T_NOW(P)), CHAIN_ERR_MEMPOOL_FULL);
    assert_int_equal(r.n, 2);

    /* A block confirms a0b as is and takes c0's nonce with another tx:
     * conflict for c0 only (a0b confirmed: no event). */
    struct chain_tx c0x = tmk_tx(&k[2], k[1].pk, 2 * COIN, 1000, 0);
    struct chain_tx wait = tmk_tx(&k[4], k[0].pk, COIN, 1000, 3);
    assert_int_equal(chain_mempool_accept(c, &wait, 0, T_NOW(P)), CHAIN_TX_WAITING);
    struct chain_tx in_block[2] = { a0b, c0x };
    uint8_t tip[32];
    struct chain_block blk;
    struct chain_result res;
    chain_tip(c, tip);
    tmk_block(c, tip, in_block, 2, 21, &blk);
    assert_int_equal(chain_accept_block(c, &blk, T_NOW(P), &res), 0);
    assert_int_equal(res.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&blk);
    assert_int_equal(r.n, 3);
    assert_removed(&r, 2, &c0, CHAIN_TX_RM_CONFLICT);
    assert_true(chain_mempool_has(c, d0.txid));

    /* expiry: d0 was pending longest; the waiting tx expires silently */
    chain_tick(c, T_NOW(P) + MEMPOOL_ORPHAN_TX_EXPIRY_MS);
    assert_int_equal(r.n, 4);
    assert_removed(&r, 3, &d0, CHAIN_TX_RM_EXPIRY);
    assert_int_equal(chain_mempool_count(c), 0);
    assert_int_equal(chain_mempool_orphans(c), 0);
    assert_string_equal(chain_tx_removal_name(CHAIN_TX_RM_CONFLICT), "conflict");
    assert_string_equal(chain_tx_removal_name(0), "unknown");
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_and_orphans),
        cmocka_unit_test(test_orphan_limits),
        cmocka_unit_test(test_sender_chains_wait),
        cmocka_unit_test(test_waiting_area_bytes),
        cmocka_unit_test(test_replacement),
        cmocka_unit_test(test_eviction_by_feerate),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_reorg_gap_waits),
        cmocka_unit_test(test_origin_tags),
        cmocka_unit_test(test_cached_txid_is_used),
        cmocka_unit_test(test_sigcache_skips_verification),
        cmocka_unit_test(test_sigcache_bounded),
        cmocka_unit_test(test_removal_events),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
