/* Every tx and block rejection reason, each a distinct CHAIN_ERR_*. */
#include "tests/unit/chain_helpers.h"

#include "chain/chainstate.h"
#include "chain/validate.h"
#include "crypto/hash.h"

static const struct chain_params *P = &chain_params_regtest;

struct fx {
    struct chain *c;
    struct tkey dev, k;
    uint8_t g[32];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->c = topen(P, NULL);
    tdev(&f->dev);
    tkey(&f->k, 1);
    chain_genesis_hash(P, f->g);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    chain_close(f->c);
    free(f);
    return 0;
}

/* ---- txs (through the mempool) ---- */

static int accept(struct fx *f, struct chain_tx *tx, bool resign)
{
    if (resign)
        chain_tx_sign(tx, f->dev.sk);
    return chain_mempool_accept(f->c, tx, 0, T_NOW(P));
}

static void test_tx_rejections(void **state)
{
    struct fx *f = *state;
    struct chain_tx base = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 0), t;

    t = base; t.version = 2;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_VERSION);
    t = base; t.memo_len = TX_MEMO_MAX + 1;
    assert_int_equal(accept(f, &t, false), CHAIN_ERR_TX_MEMO_SIZE);
    t = base; t.sig[0] ^= 1;
    assert_int_equal(accept(f, &t, false), CHAIN_ERR_TX_BAD_SIG);
    t = base; t.amount++;               /* signed bytes changed */
    assert_int_equal(accept(f, &t, false), CHAIN_ERR_TX_BAD_SIG);
    t = base; t.nonce = 1 + MEMPOOL_ORPHAN_NONCE_GAP_MAX + 1;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_BAD_NONCE);
    t = base; t.amount = CHAIN_GENESIS_ALLOC;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_INSUFFICIENT);
    t = base; t.fee = P->min_fee - 1;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_FEE_TOO_LOW);
    t = base; t.amount = UINT64_MAX - 10;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_OVERFLOW);
    t = base; memset(t.from, 0, 32);
    assert_int_equal(accept(f, &t, false), CHAIN_ERR_TX_COINBASE);
    t = base; memcpy(t.to, f->dev.pk, 32);
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_SELF_SEND);
    t = base; t.amount = 0;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_ZERO_AMOUNT);
    /* Nothing so far got in. */
    assert_int_equal(chain_mempool_count(f->c), 0);
    t = base;
    assert_int_equal(accept(f, &t, false), CHAIN_TX_ACCEPTED);
    assert_int_equal(accept(f, &t, false), CHAIN_ERR_TX_DUPLICATE);
    t = base; t.memo_len = 1; t.memo[0] = 'x';
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_REPLACE_FEE);
    /* Confirm it, then the nonce is used. */
    struct chain_block b;
    struct chain_result r;
    tmk_block(f->c, f->g, &base, 1, 1, &b);
    assert_int_equal(chain_accept_block(f->c, &b, T_NOW(P), &r), 0);
    chain_block_free(&b);
    t = base; t.fee = 5000;
    assert_int_equal(accept(f, &t, true), CHAIN_ERR_TX_NONCE_TOO_OLD);
    /* MEMPOOL_FULL and TX_ORPHAN_FULL: see test_mempool. */
    assert_string_equal(chain_strerror(CHAIN_ERR_TX_BAD_SIG), "tx-bad-signature");
}

static void test_tx_decode_rejections(void **state)
{
    (void)state;
    struct chain_tx t;
    uint8_t buf[TX_SIZE_MAX + 8];
    memset(buf, 0, sizeof buf);
    buf[0] = TX_VERSION;
    /* memo length 257 (0xfd 0x01 0x01) */
    size_t off = 1 + 32 + 32 + 8 + 8 + 8;
    buf[off] = 0xfd; buf[off + 1] = 0x01; buf[off + 2] = 0x01;
    assert_int_equal(chain_tx_parse(&t, buf, off + 3 + 257 + 64), CHAIN_ERR_TX_MEMO_SIZE);
    /* Non-canonical memo length: 0xfd 0x05 0x00 for 5. */
    buf[off] = 0xfd; buf[off + 1] = 0x05; buf[off + 2] = 0x00;
    assert_int_equal(chain_tx_parse(&t, buf, off + 3 + 5 + 64), CHAIN_ERR_VARINT_NONCANONICAL);
}

/* ---- blocks ---- */

static int accept_block(struct fx *f, struct chain_block *b, struct chain_result *r)
{
    return chain_accept_block(f->c, b, T_NOW(P), r);
}

/* A block on genesis carrying one valid payment. */
static void good_block(struct fx *f, struct chain_block *b, uint8_t salt)
{
    struct chain_tx tx = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 0);
    tmk_block(f->c, f->g, &tx, 1, salt, b);
}

static void expect_block(struct fx *f, struct chain_block *b, int err, bool invalid)
{
    struct chain_result r;
    uint8_t h[32];
    tblock_hash(b, h);
    assert_int_equal(accept_block(f, b, &r), err);
    assert_int_equal(chain_is_invalid(f->c, h), invalid);
    assert_false(chain_have_block(f->c, h));
    assert_int_equal(chain_height(f->c), 0);
    chain_block_free(b);
}

static void test_block_header_rejections(void **state)
{
    struct fx *f = *state;
    struct chain_block b;
    uint8_t h[32];

    good_block(f, &b, 1);
    b.hdr.version = 2;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_VERSION, false);

    good_block(f, &b, 2);
    for (b.hdr.nonce = 0;; b.hdr.nonce++) {
        chain_header_hash(&b.hdr, h);
        if (!chain_pow_check(h, b.hdr.bits, P->pow_limit_bits))
            break;
    }
    expect_block(f, &b, CHAIN_ERR_BLK_POW, false);

    good_block(f, &b, 3);
    b.hdr.bits = 0x2000ffff;            /* harder than expected: still wrong */
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_BAD_BITS, true);

    good_block(f, &b, 4);
    b.hdr.time_ms = P->genesis_time_ms; /* not above the median time past */
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_TIME_OLD, true);

    good_block(f, &b, 5);
    b.hdr.time_ms = T_NOW(P) + P->max_future_ms + 1;
    tremine(&b);
    /* Too new may become fine later: not remembered. */
    expect_block(f, &b, CHAIN_ERR_BLK_TIME_FUTURE, false);

    /* The same checks through accept_header. */
    struct chain_result r;
    good_block(f, &b, 6);
    b.hdr.time_ms = P->genesis_time_ms;
    tremine(&b);
    assert_int_equal(chain_accept_header(f->c, &b.hdr, T_NOW(P), &r), CHAIN_ERR_BLK_TIME_OLD);
    chain_block_free(&b);
}

static void test_block_body_rejections(void **state)
{
    struct fx *f = *state;
    struct chain_block b, good;
    struct chain_result r;

    /* Wrong merkle root: says nothing about the header's real body, so
     * the real block is still accepted afterwards. */
    good_block(f, &good, 1);
    assert_int_equal(chain_block_copy(&b, &good), 0);
    b.txs[1].amount++;
    chain_tx_seal(&b.txs[1]);   /* as a peer's copy would be decoded */
    assert_int_equal(accept_block(f, &b, &r), CHAIN_ERR_BLK_MERKLE);
    chain_block_free(&b);

    /* CVE-2012-2459: duplicating the last tx keeps the root. */
    assert_int_equal(chain_block_copy(&b, &good), 0);
    {
        struct chain_tx t2 = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 1);
        struct chain_tx *nt = realloc(b.txs, 4 * sizeof *nt);
        assert_non_null(nt);
        b.txs = nt;
        b.txs[2] = t2;
        b.n_tx = 3;
        tremine(&b);
        b.txs[3] = t2;
        b.n_tx = 4;
        uint8_t root[32];
        bool mutated = false;
        assert_int_equal(chain_block_merkle(&b, root, &mutated), 0);
        assert_true(mutated);
        assert_memory_equal(root, b.hdr.merkle_root, 32);
    }
    expect_block(f, &b, CHAIN_ERR_BLK_MUTATED, false);

    assert_int_equal(accept_block(f, &good, &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&good);
    assert_int_equal(chain_height(f->c), 1);
    chain_close(f->c);
    f->c = topen(P, NULL);

    /* Empty. */
    good_block(f, &b, 2);
    chain_block_free(&b);
    good_block(f, &b, 2);
    free(b.txs);
    b.txs = NULL;
    b.n_tx = 0;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_EMPTY, false);

    /* Too big: distinct txs with full memos past max_block_size. */
    {
        size_t n = P->max_block_size / (TX_FIXED_SIZE + 3 + TX_MEMO_MAX) + 2;
        struct chain_tx *txs = calloc(n, sizeof *txs);
        assert_non_null(txs);
        for (size_t i = 0; i < n; i++) {
            txs[i] = tmk_tx(&f->dev, f->k.pk, COIN, 1000, i);
            txs[i].memo_len = TX_MEMO_MAX;   /* signature left stale: size comes first */
        }
        tmk_block(f->c, f->g, txs, n, 3, &b);
        free(txs);
        assert_true(chain_block_size(&b) > P->max_block_size);
        expect_block(f, &b, CHAIN_ERR_BLK_SIZE, true);
    }

    good_block(f, &b, 4);
    b.txs[0] = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 5);
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_NO_COINBASE, true);

    good_block(f, &b, 5);
    b.txs[1] = b.txs[0];
    b.txs[1].memo[0] = 99;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_MULTI_COINBASE, true);

    good_block(f, &b, 6);
    b.txs[0].fee = 1;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_CB_FORM, true);

    good_block(f, &b, 7);
    b.txs[0].sig[3] = 1;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_CB_FORM, true);

    good_block(f, &b, 8);
    b.txs[0].nonce = 2;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_CB_HEIGHT, true);

    good_block(f, &b, 9);
    b.txs[0].amount = P->reward + 1000 + 1;
    tremine(&b);
    expect_block(f, &b, CHAIN_ERR_BLK_CB_AMOUNT, true);

    /* Paying less than allowed is fine. */
    good_block(f, &b, 10);
    b.txs[0].amount = 1;
    tremine(&b);
    assert_int_equal(accept_block(f, &b, &r), 0);
    chain_block_free(&b);
    chain_close(f->c);
    f->c = topen(P, NULL);
}

/* A bad tx inside a block: BLK_BAD_TX with the tx's own reason. */
static void bad_tx_case(struct fx *f, struct chain_tx tx, bool resign, int tx_err, uint8_t salt)
{
    struct chain_block b;
    struct chain_result r;
    struct chain_tx ok = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 0);
    if (resign)
        chain_tx_sign(&tx, f->dev.sk);
    struct chain_tx txs[2] = { ok, tx };
    tmk_block(f->c, f->g, txs, 2, salt, &b);
    uint8_t h[32];
    tblock_hash(&b, h);
    assert_int_equal(accept_block(f, &b, &r), CHAIN_ERR_BLK_BAD_TX);
    assert_int_equal(r.tx_err, tx_err);
    assert_int_equal(r.bad_tx, 2);
    assert_true(chain_is_invalid(f->c, h));
    assert_int_equal(chain_height(f->c), 0);
    chain_block_free(&b);
}

static void test_block_bad_txs(void **state)
{
    struct fx *f = *state;
    struct chain_tx t = tmk_tx(&f->dev, f->k.pk, COIN, 1000, 1), x;
    x = t; x.sig[9] ^= 4;
    bad_tx_case(f, x, false, CHAIN_ERR_TX_BAD_SIG, 1);
    x = t; x.fee = 1;
    bad_tx_case(f, x, true, CHAIN_ERR_TX_FEE_TOO_LOW, 2);
    x = t; memcpy(x.to, f->dev.pk, 32);
    bad_tx_case(f, x, true, CHAIN_ERR_TX_SELF_SEND, 3);
    x = t; x.amount = 0;
    bad_tx_case(f, x, true, CHAIN_ERR_TX_ZERO_AMOUNT, 4);
    x = t; x.version = 7;
    bad_tx_case(f, x, true, CHAIN_ERR_TX_VERSION, 5);
    x = t; x.amount = UINT64_MAX - 1;
    bad_tx_case(f, x, true, CHAIN_ERR_TX_OVERFLOW, 6);
    /* Ledger rules, checked when the block connects. */
    x = t; x.nonce = 0;                 /* nonce 0 was just used by `ok` */
    bad_tx_case(f, x, true, CHAIN_ERR_TX_BAD_NONCE, 7);
    x = t; x.amount = CHAIN_GENESIS_ALLOC;
    bad_tx_case(f, x, true, CHAIN_ERR_TX_INSUFFICIENT, 8);
    /* Funds received earlier in the same block can be spent. */
    struct chain_block b;
    struct chain_result r;
    struct chain_tx pay = tmk_tx(&f->dev, f->k.pk, 3 * COIN, 1000, 0);
    struct chain_tx spend = tmk_tx(&f->k, f->dev.pk, 2 * COIN, 1000, 0);
    struct chain_tx txs[2] = { pay, spend };
    tmk_block(f->c, f->g, txs, 2, 9, &b);
    assert_int_equal(accept_block(f, &b, &r), 0);
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
}

static void test_header_validation_units(void **state)
{
    (void)state;
    struct chain_header h;
    memset(&h, 0, sizeof h);
    h.version = BLOCK_VERSION;
    h.bits = P->pow_limit_bits;
    h.time_ms = 1000;
    assert_int_equal(chain_validate_header_ctx(P, &h, P->pow_limit_bits, 999, 1000), 0);
    assert_int_equal(chain_validate_header_ctx(P, &h, P->pow_limit_bits, 1000, 1000),
                     CHAIN_ERR_BLK_TIME_OLD);
    h.time_ms = 1000 + P->max_future_ms;
    assert_int_equal(chain_validate_header_ctx(P, &h, P->pow_limit_bits, 0, 1000), 0);
    h.time_ms++;
    assert_int_equal(chain_validate_header_ctx(P, &h, P->pow_limit_bits, 0, 1000),
                     CHAIN_ERR_BLK_TIME_FUTURE);
    assert_int_equal(chain_validate_header_ctx(P, &h, 0x1d00ffff, 0, h.time_ms),
                     CHAIN_ERR_BLK_BAD_BITS);
    uint64_t times[5] = { 5, 1, 4, 2, 3 };
    assert_true(chain_median_time(times, 5) == 3);
    assert_true(chain_median_time(times, 1) == 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tx_rejections, setup, teardown),
        cmocka_unit_test(test_tx_decode_rejections),
        cmocka_unit_test_setup_teardown(test_block_header_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_body_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_bad_txs, setup, teardown),
        cmocka_unit_test(test_header_validation_units),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
