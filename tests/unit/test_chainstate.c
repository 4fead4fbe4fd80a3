/* Block tree, best chain, reorgs, orphans, invalid blocks, sync helpers. */
#include "tests/unit/chain_helpers.h"

#include <malloc.h>

#include "chain/chainstate.h"

static const struct chain_params *P = &chain_params_regtest;

struct evcount {
    unsigned connected, disconnected, reorgs, tx_added;
    uint32_t last_depth;
};

static void ev_conn(void *ctx, const uint8_t h[32], uint32_t height, const struct chain_block *b)
{
    (void)h; (void)height; (void)b;
    ((struct evcount *)ctx)->connected++;
}
static void ev_disc(void *ctx, const uint8_t h[32], uint32_t height)
{
    (void)h; (void)height;
    ((struct evcount *)ctx)->disconnected++;
}
static void ev_reorg(void *ctx, const uint8_t a[32], const uint8_t b[32], uint32_t depth)
{
    (void)a; (void)b;
    ((struct evcount *)ctx)->reorgs++;
    ((struct evcount *)ctx)->last_depth = depth;
}
static void ev_tx(void *ctx, const uint8_t id[32], const struct chain_tx *tx, uint64_t tag)
{
    (void)id; (void)tx; (void)tag;
    ((struct evcount *)ctx)->tx_added++;
}

static void set_events(struct chain *c, struct evcount *e)
{
    struct chain_events ev = { .ctx = e, .block_connected = ev_conn,
                               .block_disconnected = ev_disc, .reorg = ev_reorg,
                               .tx_added = ev_tx };
    memset(e, 0, sizeof *e);
    chain_set_events(c, &ev);
}

static void test_genesis(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct tkey dev;
    uint8_t tip[32], g[32];
    uint64_t bal, nonce;
    tdev(&dev);
    chain_tip(c, tip);
    chain_genesis_hash(P, g);
    assert_memory_equal(tip, g, 32);
    assert_int_equal(chain_height(c), 0);
    chain_account(c, dev.pk, &bal, &nonce);
    assert_true(bal == CHAIN_GENESIS_ALLOC);
    assert_true(nonce == 0);
    assert_true(chain_have_block(c, g));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_extend_and_lookups(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct evcount e;
    uint8_t g[32], tip[32], h3[32];
    set_events(c, &e);
    chain_genesis_hash(P, g);
    textend(c, g, 5, 1, tip);
    assert_int_equal(chain_height(c), 5);
    assert_int_equal(e.connected, 5);
    assert_int_equal(e.reorgs, 0);
    assert_true(chain_hash_at(c, 3, h3));
    assert_true(chain_in_best(c, h3));
    assert_false(chain_hash_at(c, 6, h3));
    uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(chain_get_block_raw(c, tip, &raw, &len), 0);
    struct chain_block b;
    assert_int_equal(chain_block_parse(&b, raw, len, BLOCK_SIZE_LIMIT), 0);
    uint8_t bh[32];
    tblock_hash(&b, bh);
    assert_memory_equal(bh, tip, 32);
    chain_block_free(&b);
    free(raw);
    uint8_t unknown[32] = { 1 };
    assert_int_equal(chain_get_block(c, unknown, &b), CHAIN_ERR_BLK_UNKNOWN);
    /* Re-sending a connected block is a duplicate. */
    struct chain_result r;
    assert_int_equal(chain_get_block(c, h3, &b), 0);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_DUPLICATE);
    chain_block_free(&b);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* A branch of depth d+1 from genesis overtakes a chain of d blocks. */
static void reorg_depth(unsigned d)
{
    struct chain *c = topen(P, NULL);
    struct evcount e;
    uint8_t g[32], a_tip[32], cur[32];
    chain_genesis_hash(P, g);
    textend(c, g, d, 1, a_tip);
    set_events(c, &e);
    memcpy(cur, g, 32);
    for (unsigned i = 0; i < d + 1; i++) {
        struct chain_block b;
        struct chain_result r;
        tmk_block(c, cur, NULL, 0, 2, &b);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
        tblock_hash(&b, cur);
        chain_block_free(&b);
        if (i + 1 < d) {
            assert_int_equal(r.status, CHAIN_ST_SIDE);
        } else if (i + 1 == d) {
            /* Equal work: the first seen chain stays. */
            assert_int_equal(r.status, CHAIN_ST_SIDE);
            uint8_t tip[32];
            chain_tip(c, tip);
            assert_memory_equal(tip, a_tip, 32);
        } else {
            assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
            assert_int_equal(r.reorg_depth, d);
        }
    }
    uint8_t tip[32];
    chain_tip(c, tip);
    assert_memory_equal(tip, cur, 32);
    assert_int_equal(chain_height(c), d + 1);
    assert_false(chain_in_best(c, a_tip));
    assert_true(chain_have_block(c, a_tip));
    assert_int_equal(e.disconnected, d);
    assert_int_equal(e.connected, d + 1);
    assert_int_equal(e.reorgs, 1);
    assert_int_equal(e.last_depth, d);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_reorg_1(void **state) { (void)state; reorg_depth(1); }
static void test_reorg_3(void **state) { (void)state; reorg_depth(3); }
static void test_reorg_10(void **state) { (void)state; reorg_depth(10); }

static void test_equal_work_first_seen(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    uint8_t g[32], a[32], b[32], tip[32];
    chain_genesis_hash(P, g);
    textend(c, g, 2, 1, a);
    textend(c, g, 2, 2, b);
    chain_tip(c, tip);
    assert_memory_equal(tip, a, 32);
    assert_true(chain_have_block(c, b));
    assert_false(chain_in_best(c, b));
    /* One more on b's branch wins. */
    textend(c, b, 1, 2, b);
    chain_tip(c, tip);
    assert_memory_equal(tip, b, 32);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* A spends on branch A, a conflicting spend on branch B wins: the losing
 * tx leaves the mempool instead of being applied twice; a tx of the
 * losing block that does not conflict comes back to the mempool. */
static void test_double_spend_two_branches(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct evcount e;
    struct tkey dev, k1, k2;
    uint8_t g[32], txid1[32], txid1b[32], txid2[32], cur[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k1, 1);
    tkey(&k2, 2);
    chain_genesis_hash(P, g);
    set_events(c, &e);

    struct chain_tx tx1 = tmk_tx(&dev, k1.pk, 5 * COIN, 2000, 0);
    struct chain_tx tx1b = tmk_tx(&dev, k1.pk, 1 * COIN, 2000, 1);
    struct chain_tx tx2 = tmk_tx(&dev, k2.pk, 7 * COIN, 2000, 0);
    chain_tx_txid(&tx1, txid1);
    chain_tx_txid(&tx1b, txid1b);
    chain_tx_txid(&tx2, txid2);
    assert_int_equal(chain_mempool_accept(c, &tx1, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &tx1b, 0, T_NOW(P)), CHAIN_TX_ACCEPTED);
    assert_int_equal(chain_mempool_accept(c, &tx2, 0, T_NOW(P)), CHAIN_ERR_TX_REPLACE_FEE);

    struct chain_tx a_txs[2] = { tx1, tx1b };
    tmk_block(c, g, a_txs, 2, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
    assert_int_equal(chain_mempool_count(c), 0);

    tmk_block(c, g, &tx2, 1, 2, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_SIDE);
    tblock_hash(&b, cur);
    chain_block_free(&b);
    tmk_block(c, cur, NULL, 0, 2, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    assert_int_equal(r.reorg_depth, 1);
    chain_block_free(&b);

    uint64_t bal, nonce;
    chain_account(c, k1.pk, &bal, &nonce);
    assert_true(bal == 0);
    chain_account(c, k2.pk, &bal, &nonce);
    assert_true(bal == 7 * COIN);
    chain_account(c, dev.pk, &bal, &nonce);
    assert_true(nonce == 1);
    assert_true(bal == CHAIN_GENESIS_ALLOC - 7 * COIN - 2000);
    assert_false(chain_mempool_has(c, txid1));
    /* tx1b (nonce 1) is valid on the new branch: back in the mempool. */
    assert_true(chain_mempool_has(c, txid1b));
    assert_int_equal(chain_mempool_count(c), 1);
    assert_true(e.tx_added >= 3);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* A 5-block chain delivered in each of the 120 orders. */
static void next_perm(unsigned *a, unsigned n)
{
    int i = (int)n - 2;
    while (i >= 0 && a[i] > a[i + 1])
        i--;
    if (i < 0)
        return;
    int j = (int)n - 1;
    while (a[j] < a[i])
        j--;
    unsigned t = a[i]; a[i] = a[j]; a[j] = t;
    for (unsigned l = (unsigned)i + 1, r = n - 1; l < r; l++, r--) {
        t = a[l]; a[l] = a[r]; a[r] = t;
    }
}

static void test_orphans_every_order(void **state)
{
    (void)state;
    struct chain *src = topen(P, NULL);
    struct chain_block blocks[5];
    uint8_t hashes[6][32];
    chain_genesis_hash(P, hashes[0]);
    for (unsigned i = 0; i < 5; i++) {
        struct chain_result r;
        tmk_block(src, hashes[i], NULL, 0, 7, &blocks[i]);
        assert_int_equal(chain_accept_block(src, &blocks[i], T_NOW(P), &r), 0);
        tblock_hash(&blocks[i], hashes[i + 1]);
    }
    chain_close(src);

    unsigned perm[5] = { 0, 1, 2, 3, 4 };
    for (unsigned k = 0; k < 120; k++, next_perm(perm, 5)) {
        struct chain *c = topen(P, NULL);
        bool got[5] = { false };
        for (unsigned s = 0; s < 5; s++) {
            unsigned i = perm[s];
            struct chain_result r;
            uint32_t h = chain_height(c);
            assert_int_equal(chain_accept_block(c, &blocks[i], T_NOW(P), &r), 0);
            got[i] = true;
            if (i == h) {   /* parent is the tip */
                assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
            } else {
                assert_int_equal(r.status, CHAIN_ST_ORPHAN);
                /* The first missing ancestor: below the run of held blocks. */
                unsigned j = i;
                while (j > 0 && got[j - 1])
                    j--;
                assert_memory_equal(r.missing_parent, hashes[j], 32);
                assert_false(chain_have_header(c, r.missing_parent));
            }
            /* Connected up to the first gap. */
            unsigned expect = 0;
            while (expect < 5 && got[expect])
                expect++;
            assert_int_equal(chain_height(c), expect);
        }
        uint8_t tip[32];
        chain_tip(c, tip);
        assert_memory_equal(tip, hashes[5], 32);
        assert_int_equal(c->n_orph, 0);
        chain_close(c);
    }
    for (unsigned i = 0; i < 5; i++)
        chain_block_free(&blocks[i]);
}

static void test_orphan_pool_bounded(void **state)
{
    (void)state;
    struct chain *src = topen(P, NULL);
    struct chain *c = topen(P, NULL);
    uint8_t g[32], cur[32];
    chain_genesis_hash(P, g);
    memcpy(cur, g, 32);
    /* A long chain fed from its top down: every block is an orphan. */
    const unsigned n = CHAIN_ORPHAN_BLOCKS_MAX_COUNT + 10;
    struct chain_block *bl = calloc(n, sizeof *bl);
    assert_non_null(bl);
    for (unsigned i = 0; i < n; i++) {
        struct chain_result r;
        tmk_block(src, cur, NULL, 0, 3, &bl[i]);
        assert_int_equal(chain_accept_block(src, &bl[i], T_NOW(P), &r), 0);
        tblock_hash(&bl[i], cur);
    }
    for (unsigned i = n; i-- > 1;) {
        struct chain_result r;
        assert_int_equal(chain_accept_block(c, &bl[i], T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_ORPHAN);
        assert_true(c->n_orph <= CHAIN_ORPHAN_BLOCKS_MAX_COUNT);
    }
    assert_int_equal(chain_orphan_blocks(c), CHAIN_ORPHAN_BLOCKS_MAX_COUNT);
    /* The oldest (highest) were evicted; the parent connects what is left. */
    struct chain_result r;
    assert_int_equal(chain_accept_block(c, &bl[0], T_NOW(P), &r), 0);
    assert_int_equal(chain_height(c), CHAIN_ORPHAN_BLOCKS_MAX_COUNT + 1);
    assert_int_equal(chain_orphan_blocks(c), 0);
    /* Expiry empties the pool. */
    assert_int_equal(chain_accept_block(c, &bl[n - 1], T_NOW(P), &r), 0);
    assert_int_equal(c->n_orph, 1);
    chain_tick(c, T_NOW(P) + CHAIN_ORPHAN_BLOCK_EXPIRY_MS);
    assert_int_equal(c->n_orph, 0);
    for (unsigned i = 0; i < n; i++)
        chain_block_free(&bl[i]);
    free(bl);
    chain_close(src);
    chain_close(c);
}

/* An orphan of n_tx unsigned txs (orphans are held before signatures are
 * checked) with memo_len-byte memos, its parent made of i and tag. */
static void big_orphan(struct chain_block *b, size_t n_tx, uint16_t memo_len, unsigned i,
                       uint8_t tag)
{
    memset(b, 0, sizeof *b);
    b->n_tx = n_tx;
    b->txs = calloc(n_tx, sizeof *b->txs);
    assert_non_null(b->txs);
    for (size_t j = 0; j < n_tx; j++) {
        b->txs[j].version = TX_VERSION;
        b->txs[j].from[0] = 1;
        b->txs[j].nonce = j;
        b->txs[j].memo_len = memo_len;
    }
    memset(b->txs[0].from, 0, 32);
    b->hdr.version = BLOCK_VERSION;
    b->hdr.prev[0] = (uint8_t)(i + 1);
    b->hdr.prev[1] = tag;
    b->hdr.time_ms = T_NOW(P);
    b->hdr.bits = P->pow_limit_bits;
    tremine(b);
}

/* Big orphans: the byte bound evicts before the count bound. Orphans are
 * held before their txs' signatures are checked, so unsigned txs do. */
static void test_orphan_pool_bytes(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    const size_t per_tx = TX_FIXED_SIZE + 3 + TX_MEMO_MAX;
    const size_t n_tx = (P->max_block_size - 1000) / per_tx;
    const unsigned n_blocks = CHAIN_ORPHAN_BLOCKS_MAX_BYTES / P->max_block_size + 8;
    assert_true(n_blocks < CHAIN_ORPHAN_BLOCKS_MAX_COUNT);
    for (unsigned i = 0; i < n_blocks; i++) {
        struct chain_block b;
        struct chain_result r;
        big_orphan(&b, n_tx, TX_MEMO_MAX, i, 0xee);
        assert_true(chain_block_size(&b) <= P->max_block_size);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_ORPHAN);
        assert_memory_equal(r.missing_parent, b.hdr.prev, 32);
        assert_true(c->orph_bytes <= CHAIN_ORPHAN_BLOCKS_MAX_BYTES);
        chain_block_free(&b);
    }
    assert_true(c->n_orph < n_blocks);
    /* The oldest went first: the newest is still held. */
    assert_int_equal(c->orph[c->n_orph - 1]->hdr.prev[0], n_blocks);
    assert_true(c->orph[0]->hdr.prev[0] > 1);
    chain_close(c);
}

/* Heap bytes in use (glibc); 0 under ASan, whose allocator glibc does not
 * see. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 0;
#endif
#endif
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* What the orphan attack may pin at most: the pool's 8 MiB (issue 9) plus
 * slack for the block index, maps and malloc's own overhead. Absolute, so
 * raising the pool's limit fails the test. */
#define ORPHAN_ATTACK_HEAP_MAX_BYTES (10u * 1024 * 1024)

/* Attack: ~1 MiB orphan blocks of the smallest txs (decoded, such a block
 * takes about 3x its size). The pool holds them serialized within
 * CHAIN_ORPHAN_BLOCKS_MAX_BYTES, so the heap they pin stays under it too. */
static void test_orphan_pool_memory(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    const size_t n_tx = (P->max_block_size - 1000) / TX_SIZE_MIN;
    const unsigned n_blocks = 40;
    size_t before = heap_in_use();
    for (unsigned i = 0; i < n_blocks; i++) {
        struct chain_block b;
        struct chain_result r;
        big_orphan(&b, n_tx, 0, i, 0xef);
        assert_true(chain_block_size(&b) <= P->max_block_size);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_ORPHAN);
        chain_block_free(&b);
    }
    size_t after = heap_in_use();
    assert_true(chain_orphan_blocks(c) >= 2);
    assert_true(chain_orphan_block_bytes(c) <= CHAIN_ORPHAN_BLOCKS_MAX_BYTES);
    if (before && after) {
        size_t held = after > before ? after - before : 0;
        print_message("orphan pool: %u blocks of ~1 MiB sent, %zu held, %zu bytes counted, "
                      "heap +%zu bytes\n", n_blocks, chain_orphan_blocks(c),
                      chain_orphan_block_bytes(c), held);
        assert_true(held <= ORPHAN_ATTACK_HEAP_MAX_BYTES);
    }
    chain_close(c);
}

/* Attack: side branches off genesis and orphans pushed by a peer, none
 * asked for, each with less work than the tip. None is stored (not even
 * its header), in memory or on disk; asked-for copies still are. An
 * unrequested block with at least the tip's work is stored. */
static void test_unrequested_low_work_not_stored(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    uint8_t g[32], tip[32], fork[32];
    struct chain_block b;
    struct chain_result r;
    chain_genesis_hash(P, g);
    textend(c, g, 6, 1, tip);
    size_t headers_before = c->index.count;

    /* Six side-branch blocks off genesis, a chain of them. */
    memcpy(fork, g, 32);
    struct chain_block side[6];
    for (unsigned i = 0; i < 6; i++) {
        tmk_block(c, g, NULL, 0, (uint8_t)(40 + i), &side[i]);
        memcpy(side[i].hdr.prev, fork, 32);
        side[i].hdr.time_ms = P->genesis_time_ms + 500 * (i + 1);
        tremine(&side[i]);
        uint8_t h[32];
        tblock_hash(&side[i], h);
        assert_int_equal(chain_accept_block_ex(c, &side[i], CHAIN_BLOCK_UNREQUESTED, T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_NOT_STORED);
        assert_false(chain_have_header(c, h));
        assert_false(chain_have_block(c, h));
        memcpy(fork, h, 32);   /* the next one's parent is unknown: an orphan */
    }
    assert_int_equal(c->index.count, headers_before);
    assert_int_equal(chain_orphan_blocks(c), 0);

    /* The same first block, asked for, is stored as a side branch. */
    assert_int_equal(chain_accept_block_ex(c, &side[0], 0, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_SIDE);
    /* Unrequested and as much work as the tip: a sibling of the tip. */
    uint8_t parent[32];
    chain_hash_at(c, chain_height(c) - 1, parent);
    tmk_block(c, parent, NULL, 0, 77, &b);
    assert_int_equal(chain_accept_block_ex(c, &b, CHAIN_BLOCK_UNREQUESTED, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_SIDE);
    chain_block_free(&b);
    /* Unrequested and more work: extends the tip. */
    tmk_block(c, tip, NULL, 0, 78, &b);
    assert_int_equal(chain_accept_block_ex(c, &b, CHAIN_BLOCK_UNREQUESTED, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
    for (unsigned i = 0; i < 6; i++)
        chain_block_free(&side[i]);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* Attack: many invalid blocks, each asked for. Every one is remembered
 * (there is no table that, once full, stops remembering), and a copy sent
 * again is rejected from memory with its first reason. */
static void test_invalid_memory_has_no_ceiling(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    uint8_t g[32], tip[32], first[32];
    struct chain_block b, keep;
    struct chain_result r;
    chain_genesis_hash(P, g);
    textend(c, g, 1, 1, tip);
    const unsigned n = 3000;
    for (unsigned i = 0; i < n; i++) {
        tmk_block(c, tip, NULL, 0, (uint8_t)i, &b);
        b.txs[0].nonce = 1000 + i;   /* wrong coinbase height */
        b.hdr.time_ms += i;
        tremine(&b);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_BLK_CB_HEIGHT);
        if (i == 0) {
            tblock_hash(&b, first);
            assert_int_equal(chain_block_copy(&keep, &b), 0);
        }
        chain_block_free(&b);
    }
    assert_true(chain_is_invalid(c, first));
    assert_int_equal(chain_accept_block(c, &keep, T_NOW(P), &r), CHAIN_ERR_BLK_CB_HEIGHT);
    chain_block_free(&keep);
    assert_int_equal(chain_height(c), 1);
    chain_close(c);
}

/* A block whose tx fails the ledger (bad nonce) is remembered as invalid,
 * and so is its child; the chain stays on the valid branch. */
static void test_invalid_remembered(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct tkey dev, k1;
    uint8_t g[32], bad[32], tip[32];
    struct chain_block b, child;
    struct chain_result r;
    tdev(&dev);
    tkey(&k1, 1);
    chain_genesis_hash(P, g);
    struct chain_tx tx = tmk_tx(&dev, k1.pk, COIN, 2000, 5);
    tmk_block(c, g, &tx, 1, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_BLK_BAD_TX);
    assert_int_equal(r.tx_err, CHAIN_ERR_TX_BAD_NONCE);
    assert_int_equal(r.bad_tx, 1);
    tblock_hash(&b, bad);
    assert_true(chain_is_invalid(c, bad));
    chain_tip(c, tip);
    assert_memory_equal(tip, g, 32);
    /* Again: remembered, same answer. */
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_BLK_BAD_TX);

    /* The child is built by hand: its parent is invalid. */
    child = b;
    child.txs = calloc(1, sizeof *child.txs);
    child.n_tx = 1;
    child.txs[0] = b.txs[0];
    child.txs[0].nonce = 2;
    memcpy(child.hdr.prev, bad, 32);
    child.hdr.time_ms += 1000;
    tremine(&child);
    assert_int_equal(chain_accept_block(c, &child, T_NOW(P), &r), CHAIN_ERR_BLK_INVALID_PARENT);
    uint8_t ch[32];
    tblock_hash(&child, ch);
    assert_true(chain_is_invalid(c, ch));
    chain_block_free(&child);
    chain_block_free(&b);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

/* A branch with more work whose middle block is invalid: the reorg rolls
 * back and the chain keeps the valid part with the most work. */
static void test_reorg_to_invalid_branch(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct tkey dev, k1;
    uint8_t g[32], a_tip[32], b1[32], b2[32], tip[32];
    struct chain_block b;
    struct chain_result r;
    tdev(&dev);
    tkey(&k1, 1);
    chain_genesis_hash(P, g);
    textend(c, g, 2, 1, a_tip);
    /* Branch B: b1 valid, b2 spends with a wrong nonce, b3 and b4 on top,
     * all delivered as headers first so they connect in one go. */
    textend(c, g, 1, 2, b1);
    struct chain_tx tx = tmk_tx(&dev, k1.pk, COIN, 2000, 9);
    tmk_block(c, b1, &tx, 1, 2, &b);
    tblock_hash(&b, b2);
    struct chain_block b3b, b4b;
    assert_int_equal(chain_accept_header(c, &b.hdr, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_HEADER_ONLY);
    tmk_block(c, b2, NULL, 0, 2, &b3b);
    uint8_t b3[32];
    tblock_hash(&b3b, b3);
    assert_int_equal(chain_accept_header(c, &b3b.hdr, T_NOW(P), &r), 0);
    tmk_block(c, b3, NULL, 0, 2, &b4b);
    assert_int_equal(chain_accept_block(c, &b4b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_SIDE);
    assert_int_equal(chain_accept_block(c, &b3b, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_SIDE);
    uint8_t fetch[8][32];
    assert_int_equal(chain_blocks_to_fetch(c, fetch, 8), 1);
    assert_memory_equal(fetch[0], b2, 32);
    /* b2 arrives: the switch fails at b2 and rolls back to A. */
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), CHAIN_ERR_BLK_BAD_TX);
    assert_true(chain_is_invalid(c, b2));
    assert_true(chain_is_invalid(c, b3));
    chain_tip(c, tip);
    assert_memory_equal(tip, a_tip, 32);
    assert_int_equal(chain_blocks_to_fetch(c, fetch, 8), 0);
    chain_block_free(&b);
    chain_block_free(&b3b);
    chain_block_free(&b4b);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

static void test_headers_first_and_sync(void **state)
{
    (void)state;
    struct chain *src = topen(P, NULL);
    struct chain *c = topen(P, NULL);
    uint8_t g[32], tip[32];
    chain_genesis_hash(P, g);
    textend(src, g, 30, 4, tip);

    /* Headers from src's locator-less request: all 30 after genesis. */
    struct chain_header hs[40];
    uint8_t loc[32][32];
    size_t nl = chain_locator(c, loc, 32);
    assert_int_equal(nl, 1);
    size_t nh = chain_headers_after(src, (const uint8_t (*)[32])loc, nl, NULL, hs, 40);
    assert_int_equal(nh, 30);
    for (size_t i = 0; i < nh; i++) {
        struct chain_result r;
        assert_int_equal(chain_accept_header(c, &hs[i], T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_HEADER_ONLY);
        assert_int_equal(r.height, i + 1);
    }
    struct chain_result r;
    assert_int_equal(chain_accept_header(c, &hs[3], T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_DUPLICATE);
    uint8_t want[64][32];
    assert_int_equal(chain_blocks_to_fetch(c, want, 64), 30);
    assert_int_equal(chain_blocks_to_fetch(c, want, 5), 5);
    uint8_t h1[32];
    chain_hash_at(src, 1, h1);
    assert_memory_equal(want[0], h1, 32);
    for (size_t i = 0; i < 30; i++) {
        struct chain_block b;
        assert_int_equal(chain_get_block(src, want[0], &b), 0);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
        chain_block_free(&b);
        chain_blocks_to_fetch(c, want, 64);
    }
    assert_int_equal(chain_height(c), 30);

    /* Locator: tip first, genesis last, exponentially spaced. */
    nl = chain_locator(c, loc, 32);
    assert_memory_equal(loc[0], tip, 32);
    assert_memory_equal(loc[nl - 1], g, 32);
    assert_true(nl < 20);
    /* headers_after from height 10 with a stop at 12. */
    uint8_t from[1][32], stop[32];
    chain_hash_at(c, 10, from[0]);
    chain_hash_at(c, 12, stop);
    assert_int_equal(chain_headers_after(c, (const uint8_t (*)[32])from, 1, stop, hs, 40), 2);
    assert_int_equal(chain_headers_after(c, (const uint8_t (*)[32])from, 1, NULL, hs, 40), 20);
    assert_int_equal(chain_headers_after(c, (const uint8_t (*)[32])from, 1, NULL, hs, 3), 3);
    chain_close(src);
    chain_close(c);
}

/* A locator whose first known hash is on a side branch: headers start
 * after the fork point, not after the next locator entry (genesis here). */
static void test_headers_after_side_locator(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    uint8_t g[32], tip[32], fork[32], side[32], got[32];
    struct chain_header hs[16];
    chain_genesis_hash(P, g);
    textend(c, g, 6, 1, tip);
    chain_hash_at(c, 3, fork);
    textend(c, fork, 2, 2, side);
    assert_false(chain_in_best(c, side));

    uint8_t loc[3][32];
    memset(loc[0], 0xee, 32);          /* unknown: skipped */
    memcpy(loc[1], side, 32);
    memcpy(loc[2], g, 32);
    assert_int_equal(chain_headers_after(c, (const uint8_t (*)[32])loc, 3, NULL, hs, 16), 3);
    chain_header_hash(&hs[0], got);
    uint8_t want[32];
    chain_hash_at(c, 4, want);
    assert_memory_equal(got, want, 32);

    /* A header past our tip: the fork point is the tip, nothing to send. */
    struct chain_block b;
    struct chain_result r;
    tmk_block(c, tip, NULL, 0, 3, &b);
    assert_int_equal(chain_accept_header(c, &b.hdr, T_NOW(P), &r), 0);
    assert_int_equal(r.status, CHAIN_ST_HEADER_ONLY);
    tblock_hash(&b, loc[1]);
    chain_block_free(&b);
    assert_int_equal(chain_headers_after(c, (const uint8_t (*)[32])loc, 3, NULL, hs, 16), 0);
    chain_close(c);
}

/* Several listeners: chain_set_events's slot and added ones all hear
 * every event; removing one leaves the others; the table is bounded. */
static void test_several_listeners(void **state)
{
    (void)state;
    struct chain *c = topen(P, NULL);
    struct evcount a, b, x;
    uint8_t g[32], tip[32];
    chain_genesis_hash(P, g);
    set_events(c, &a);
    memset(&b, 0, sizeof b);
    memset(&x, 0, sizeof x);
    struct chain_events evb = { .ctx = &b, .block_connected = ev_conn, .tx_added = ev_tx };
    struct chain_events evx = { .ctx = &x, .block_connected = ev_conn };
    int hb = chain_add_listener(c, &evb);
    assert_true(hb > 0);
    textend(c, g, 2, 1, tip);
    assert_int_equal(a.connected, 2);
    assert_int_equal(b.connected, 2);

    /* The single-listener call replaces only its own slot. */
    chain_set_events(c, NULL);
    textend(c, tip, 1, 1, tip);
    assert_int_equal(a.connected, 2);
    assert_int_equal(b.connected, 3);

    /* Bounded: CHAIN_LISTENERS_MAX slots, the first one chain_set_events's. */
    int h[CHAIN_LISTENERS_MAX];
    size_t n = 0;
    for (int r; (r = chain_add_listener(c, &evx)) > 0;)
        h[n++] = r;
    assert_int_equal(n, CHAIN_LISTENERS_MAX - 2);
    assert_int_equal(chain_add_listener(c, &evx), CHAIN_ERR_INTERNAL);
    struct chain_events none = { .ctx = &x };
    chain_remove_listener(c, h[0]);
    assert_int_equal(chain_add_listener(c, &none), CHAIN_ERR_INTERNAL);

    chain_remove_listener(c, hb);
    chain_remove_listener(c, 99);   /* unknown: ignored */
    textend(c, tip, 1, 1, tip);
    assert_int_equal(b.connected, 3);
    assert_int_equal(x.connected, CHAIN_LISTENERS_MAX - 3);
    chain_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_extend_and_lookups),
        cmocka_unit_test(test_reorg_1),
        cmocka_unit_test(test_reorg_3),
        cmocka_unit_test(test_reorg_10),
        cmocka_unit_test(test_equal_work_first_seen),
        cmocka_unit_test(test_double_spend_two_branches),
        cmocka_unit_test(test_orphans_every_order),
        cmocka_unit_test(test_orphan_pool_bounded),
        cmocka_unit_test(test_orphan_pool_bytes),
        cmocka_unit_test(test_orphan_pool_memory),
        cmocka_unit_test(test_unrequested_low_work_not_stored),
        cmocka_unit_test(test_invalid_memory_has_no_ceiling),
        cmocka_unit_test(test_invalid_remembered),
        cmocka_unit_test(test_reorg_to_invalid_branch),
        cmocka_unit_test(test_headers_first_and_sync),
        cmocka_unit_test(test_headers_after_side_locator),
        cmocka_unit_test(test_several_listeners),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
