/* Compact blocks (p2p/cmpct.c) and their codecs: round trips and caps,
 * scripted peers against one core (reconstruction, getblocktxn, the
 * full-block fallbacks, high-bandwidth discouragement), and the in-memory
 * network (a 2,001-tx block crosses as short ids, peers that never
 * negotiate still get every block, pushes never echo nor repeat). */
#include "p2p_fake.h"

#include <stdio.h>

#include "chain/chain.h"
#include "p2p/simnet.h"
#include "chain_helpers.h"

/* ---- codecs ---- */

/* A block of the dev key's txs on our genesis: coinbase + n. */
static void dev_block(struct chain *c, size_t n, struct chain_tx *txs, struct chain_block *b)
{
    struct tkey dev;
    uint8_t g[32], to[32] = { 7 };
    tdev(&dev);
    chain_tip(c, g);
    for (size_t i = 0; i < n; i++) {
        txs[i] = tmk_tx(&dev, to, COIN + i, chain_params(c)->min_fee, i);
        memcpy(txs[i].from, dev.pk, 32);
        chain_tx_sign(&txs[i], dev.sk);
    }
    tmk_block(c, g, txs, n, 1, b);
}

static void put_cmpct(struct wr *w, const struct chain_block *b, uint64_t nonce,
                      const bool *prefill)
{
    wr_init(w, P2P_MAX_CMPCTBLOCK_BYTES);
    assert_true(p2p_put_cmpctblock(w, b, nonce, prefill));
}

/* Every strict prefix and one byte more fail. */
static void assert_prefixes_fail(int (*dec)(const uint8_t *, size_t, void *), const uint8_t *buf,
                                 size_t len, void *out)
{
    assert_int_equal(dec(buf, len, out), 0);
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, buf, n);
        assert_true(dec(t, n, out) < 0);
        free(t);
    }
    uint8_t *t = malloc(len + 1);
    memcpy(t, buf, len);
    t[len] = 0;
    assert_int_equal(dec(t, len + 1, out), P2P_ERR_TRAILING);
    free(t);
    assert_int_equal(dec(buf, len, out), 0);
}

static int dec_cb(const uint8_t *b, size_t l, void *o) { return p2p_dec_cmpctblock(b, l, o); }
static int dec_gt(const uint8_t *b, size_t l, void *o) { return p2p_dec_getblocktxn(b, l, o); }
static int dec_bt(const uint8_t *b, size_t l, void *o) { return p2p_dec_blocktxn(b, l, o); }
static int dec_sc(const uint8_t *b, size_t l, void *o) { return p2p_dec_sendcmpct(b, l, o); }

static void test_codec_round_trips(void **state)
{
    (void)state;
    struct chain *c = topen(&chain_params_regtest, NULL);
    struct chain_tx txs[3];
    struct chain_block b;
    dev_block(c, 3, txs, &b);

    struct wr w;
    wr_init(&w, 64);
    assert_true(p2p_put_sendcmpct(&w, true, P2P_CMPCT_VERSION));
    struct p2p_sendcmpct sc;
    assert_prefixes_fail(dec_sc, w.buf, w.len, &sc);
    assert_true(sc.hb);
    assert_int_equal(sc.version, P2P_CMPCT_VERSION);
    w.buf[0] = 2;
    assert_int_equal(p2p_dec_sendcmpct(w.buf, w.len, &sc), P2P_ERR_NONCANONICAL);
    wr_free(&w);

    /* Coinbase and tx 2 prefilled, txs 1 and 3 as short ids. */
    bool pre[4] = { true, false, true, false };
    put_cmpct(&w, &b, 0x1122334455667788ull, pre);
    struct p2p_cmpctblock cb;
    assert_prefixes_fail(dec_cb, w.buf, w.len, &cb);
    assert_int_equal(cb.n_tx, 4);
    assert_int_equal(cb.n_sid, 2);
    assert_int_equal(cb.n_pre, 2);
    assert_int_equal(cb.nonce, 0x1122334455667788ull);
    assert_memory_equal(cb.hdr.merkle_root, b.hdr.merkle_root, 32);
    uint8_t key[16];
    p2p_cmpct_key(&b.hdr, cb.nonce, key);
    assert_int_equal(p2p_cmpct_sid_at(&cb, 0), p2p_cmpct_shortid(key, b.txs[1].txid));
    assert_int_equal(p2p_cmpct_sid_at(&cb, 1), p2p_cmpct_shortid(key, b.txs[3].txid));
    assert_true(p2p_cmpct_shortid(key, b.txs[1].txid) < (1ull << 48));
    /* Another nonce, other short ids. */
    uint8_t key2[16];
    p2p_cmpct_key(&b.hdr, cb.nonce + 1, key2);
    assert_true(p2p_cmpct_shortid(key2, b.txs[1].txid) != p2p_cmpct_shortid(key, b.txs[1].txid));
    struct p2p_prefilled_iter it;
    uint32_t index;
    struct chain_tx tx;
    p2p_prefilled_iter_init(&it, &cb);
    assert_true(p2p_prefilled_next(&it, &index, &tx));
    assert_int_equal(index, 0);
    assert_memory_equal(tx.txid, b.txs[0].txid, 32);
    assert_true(p2p_prefilled_next(&it, &index, &tx));
    assert_int_equal(index, 2);
    assert_memory_equal(tx.txid, b.txs[2].txid, 32);
    assert_false(p2p_prefilled_next(&it, &index, &tx));
    wr_free(&w);

    uint32_t idx[3] = { 1, 2, 300 }, got[3];
    wr_init(&w, P2P_MAX_GETBLOCKTXN_BYTES);
    assert_true(p2p_put_getblocktxn(&w, b.hdr.prev, idx, 3));
    struct p2p_getblocktxn g;
    assert_prefixes_fail(dec_gt, w.buf, w.len, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.last, 300);
    p2p_getblocktxn_indexes(&g, got);
    assert_memory_equal(got, idx, sizeof(idx));
    wr_free(&w);

    const struct chain_tx *some[2] = { &b.txs[1], &b.txs[3] };
    wr_init(&w, P2P_MAX_BLOCKTXN_BYTES);
    assert_true(p2p_put_blocktxn(&w, b.hdr.prev, some, 2));
    struct p2p_blocktxn bt;
    assert_prefixes_fail(dec_bt, w.buf, w.len, &bt);
    assert_int_equal(bt.n, 2);
    struct p2p_blocktxn_iter bi;
    p2p_blocktxn_iter_init(&bi, &bt);
    assert_true(p2p_blocktxn_next(&bi, &tx));
    assert_memory_equal(tx.txid, b.txs[1].txid, 32);
    assert_true(p2p_blocktxn_next(&bi, &tx));
    assert_memory_equal(tx.txid, b.txs[3].txid, 32);
    assert_false(p2p_blocktxn_next(&bi, &tx));
    wr_free(&w);

    chain_block_free(&b);
    chain_close(c);
}

/* Hand-built payloads that lie about counts or indexes. */
static void test_codec_lies(void **state)
{
    (void)state;
    struct chain *c = topen(&chain_params_regtest, NULL);
    struct chain_tx txs[1];
    struct chain_block b;
    dev_block(c, 1, txs, &b);
    struct p2p_cmpctblock cb;
    struct wr w;

    /* More short ids than a block may hold: refused on the count. */
    wr_init(&w, 4096);
    chain_header_encode(&w, &b.hdr);
    wr_u64(&w, 1);
    wr_varint(&w, P2P_MAX_CMPCT_TXS + 1);
    assert_int_equal(p2p_dec_cmpctblock(w.buf, w.len, &cb), P2P_ERR_OVERSIZE);
    wr_free(&w);
    /* 1,000 short ids claimed, two present. */
    wr_init(&w, 4096);
    chain_header_encode(&w, &b.hdr);
    wr_u64(&w, 1);
    wr_varint(&w, 1000);
    wr_bytes(&w, "abcdefghijkl", 12);
    assert_int_equal(p2p_dec_cmpctblock(w.buf, w.len, &cb), P2P_ERR_TRUNCATED);
    wr_free(&w);
    /* No prefilled coinbase; a first prefilled index other than 0; an
     * index outside the block; more prefilled than the bytes hold. */
    const uint64_t bad[][3] = { { 1, 0, 0 }, { 1, 1, 1 }, { 0, 1, 1 }, { 1, 50, 0 } };
    const int want[] = { P2P_ERR_MALFORMED, P2P_ERR_MALFORMED, P2P_ERR_MALFORMED,
                         P2P_ERR_TRUNCATED };
    for (size_t k = 0; k < 4; k++) {
        wr_init(&w, 4096);
        chain_header_encode(&w, &b.hdr);
        wr_u64(&w, 1);
        wr_varint(&w, bad[k][0]);
        for (uint64_t i = 0; i < bad[k][0]; i++)
            wr_bytes(&w, "abcdef", 6);
        wr_varint(&w, bad[k][1]);
        if (bad[k][1]) {
            wr_varint(&w, bad[k][2]);
            chain_tx_encode(&w, &b.txs[0]);
        }
        if (k == 2) {   /* a second prefilled entry at index 1 of a 1-tx block */
            wr_free(&w);
            wr_init(&w, 4096);
            chain_header_encode(&w, &b.hdr);
            wr_u64(&w, 1);
            wr_varint(&w, 0);
            wr_varint(&w, 2);
            wr_varint(&w, 0);
            chain_tx_encode(&w, &b.txs[0]);
            wr_varint(&w, 5);
            chain_tx_encode(&w, &b.txs[1]);
        }
        assert_int_equal(p2p_dec_cmpctblock(w.buf, w.len, &cb), want[k]);
        wr_free(&w);
    }

    struct p2p_getblocktxn g;
    /* Empty request; an index past the cap; a count the bytes do not hold. */
    wr_init(&w, 4096);
    wr_bytes(&w, b.hdr.prev, 32);
    wr_varint(&w, 0);
    assert_int_equal(p2p_dec_getblocktxn(w.buf, w.len, &g), P2P_ERR_MALFORMED);
    wr_free(&w);
    wr_init(&w, 4096);
    wr_bytes(&w, b.hdr.prev, 32);
    wr_varint(&w, 2);
    wr_varint(&w, P2P_MAX_CMPCT_TXS - 1);
    wr_varint(&w, 0);   /* the next index is P2P_MAX_CMPCT_TXS */
    assert_int_equal(p2p_dec_getblocktxn(w.buf, w.len, &g), P2P_ERR_MALFORMED);
    wr_free(&w);
    wr_init(&w, 4096);
    wr_bytes(&w, b.hdr.prev, 32);
    wr_varint(&w, 20000);
    wr_u8(&w, 0);
    assert_int_equal(p2p_dec_getblocktxn(w.buf, w.len, &g), P2P_ERR_TRUNCATED);
    wr_free(&w);

    struct p2p_blocktxn bt;
    wr_init(&w, 4096);
    wr_bytes(&w, b.hdr.prev, 32);
    wr_varint(&w, 3);
    chain_tx_encode(&w, &b.txs[1]);
    assert_int_equal(p2p_dec_blocktxn(w.buf, w.len, &bt), P2P_ERR_TRUNCATED);
    wr_free(&w);

    /* Random bytes never crash the decoders (ASan watches). */
    uint8_t junk[512];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[i] = (uint8_t)x;
        }
        size_t len = (size_t)(x % sizeof(junk));
        if (round % 2) {
            /* A real header and small counts make the deeper paths run. */
            uint8_t hdr[HEADER_SIZE];
            chain_header_serialize(&b.hdr, hdr);
            memcpy(junk, hdr, HEADER_SIZE);
            junk[HEADER_SIZE + 8] = (uint8_t)(x >> 8) % 4;
        }
        p2p_dec_cmpctblock(junk, len, &cb);
        p2p_dec_getblocktxn(junk, len, &g);
        p2p_dec_blocktxn(junk, len, &bt);
    }
    chain_block_free(&b);
    chain_close(c);
}

/* ---- one core, scripted peers ---- */

static void send_sendcmpct(struct fake *f, uint64_t peer, bool hb, uint64_t now)
{
    struct wr w;
    wr_init(&w, 16);
    p2p_put_sendcmpct(&w, hb, P2P_CMPCT_VERSION);
    frame(f, peer, P2P_CMD_SENDCMPCT, w.buf, w.len, now);
    wr_free(&w);
}

static void send_cmpct(struct fake *f, uint64_t peer, const struct chain_block *b,
                       const bool *prefill, uint64_t now)
{
    struct wr w;
    put_cmpct(&w, b, 42, prefill);
    frame(f, peer, P2P_CMD_CMPCTBLOCK, w.buf, w.len, now);
    wr_free(&w);
}

/* A blocktxn of one tx. */
static void send_blocktxn1(struct fake *f, uint64_t peer, const uint8_t hash[32],
                           const struct chain_tx *tx, uint64_t now)
{
    const struct chain_tx *one[1] = { tx };
    struct wr w;
    wr_init(&w, 4096);
    p2p_put_blocktxn(&w, hash, one, 1);
    frame(f, peer, P2P_CMD_BLOCKTXN, w.buf, w.len, now);
    wr_free(&w);
}

/* The core (cmpct on) with one scripted peer that negotiated, our dev
 * block's txs made; want[i]: tx i is in the core's mempool. */
static struct fake *setup_on(struct fake *f, size_t n, struct chain_tx *txs,
                             struct chain_block *b, const bool *in_mempool)
{
    dev_block(f->chain, n, txs, b);
    for (size_t i = 0; i < n; i++)
        if (in_mempool[i])
            assert_true(chain_mempool_accept(f->chain, &txs[i], 0, T0) > 0);
    handshake_in(f, 1, "10.1.0.1", T0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_SENDCMPCT, NULL, NULL), 1);
    send_sendcmpct(f, 1, false, T0);
    reset_out(f);
    return f;
}

static struct fake *setup(size_t n, struct chain_tx *txs, struct chain_block *b,
                          const bool *in_mempool)
{
    return setup_on(fake_new_cmpct(8), n, txs, b, in_mempool);
}

/* setup, and a second peer (2) that asked us to push (sendcmpct hb=1). */
static struct fake *setup_hb(size_t n, struct chain_tx *txs, struct chain_block *b,
                             const bool *in_mempool)
{
    struct fake *f = setup(n, txs, b, in_mempool);
    handshake_in(f, 2, "10.2.0.1", T0);
    send_sendcmpct(f, 2, true, T0);
    reset_out(f);
    return f;
}

static bool tip_is(struct fake *f, const struct chain_block *b)
{
    uint8_t tip[32], h[32];
    chain_tip(f->chain, tip);
    chain_header_hash(&b->hdr, h);
    return memcmp(tip, h, 32) == 0;
}

static void test_rebuilt_from_mempool(void **state)
{
    (void)state;
    struct chain_tx txs[3];
    struct chain_block b;
    bool mp[3] = { true, true, true };
    struct fake *f = setup(3, txs, &b, mp);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_true(tip_is(f, &b));
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL), 0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.cmpct_blocks, 1);
    assert_int_equal(st.cmpct_fallbacks, 0);
    assert_int_equal(f->misbehaviour_ev, 0);
    chain_block_free(&b);
    fake_free(f);
}

static void test_missing_tx_fetched_with_getblocktxn(void **state)
{
    (void)state;
    struct chain_tx txs[3];
    struct chain_block b;
    bool mp[3] = { true, false, false };   /* tx 2 waits: its nonce 1 is missing */
    struct fake *f = setup(3, txs, &b, mp);
    /* tx 3 (nonce 2) sits in the waiting area: used too. */
    assert_int_equal(chain_mempool_accept(f->chain, &txs[2], 0, T0), CHAIN_TX_WAITING);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_false(tip_is(f, &b));
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, &pl, &len), 1);
    struct p2p_getblocktxn g;
    assert_int_equal(p2p_dec_getblocktxn(pl, len, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.last, 2);   /* block index 2: txs[1] */
    /* The answer completes the block. */
    send_blocktxn1(f, 1, g.hash, &b.txs[2], T0 + 20);
    assert_true(tip_is(f, &b));
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);
    assert_int_equal(f->misbehaviour_ev, 0);
    chain_block_free(&b);
    fake_free(f);
}

static void test_blocktxn_lies(void **state)
{
    (void)state;
    struct chain_tx txs[2];
    struct chain_block b;
    bool mp[2] = { false, false };
    struct fake *f = setup(2, txs, &b, mp);
    uint8_t h[32];
    chain_header_hash(&b.hdr, h);
    /* Unasked blocktxn: unsolicited. */
    const struct chain_tx *two[2] = { &b.txs[1], &b.txs[2] };
    struct wr w;
    wr_init(&w, 4096);
    p2p_put_blocktxn(&w, h, two, 2);
    frame(f, 1, P2P_CMD_BLOCKTXN, w.buf, w.len, T0 + 5);
    assert_int_equal(f->misbehaviour_ev, 1);
    assert_int_equal(f->last_score, P2P_SCORE_UNSOLICITED);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL), 1);
    /* One tx where two were asked for: malformed. */
    wr_free(&w);
    wr_init(&w, 4096);
    p2p_put_blocktxn(&w, h, two, 1);
    frame(f, 1, P2P_CMD_BLOCKTXN, w.buf, w.len, T0 + 20);
    wr_free(&w);
    assert_int_equal(f->discouraged_ev, 1);
    assert_false(tip_is(f, &b));
    chain_block_free(&b);
    fake_free(f);
}

/* A getblocktxn asking for an index past the block is malformed; a good
 * one is answered with exactly the txs. */
static void test_serving_getblocktxn(void **state)
{
    (void)state;
    struct chain_tx txs[2];
    struct chain_block b;
    bool mp[2] = { true, true };
    struct fake *f = setup(2, txs, &b, mp);
    struct chain_result res;
    assert_int_equal(chain_accept_block(f->chain, &b, T0, &res), 0);
    uint8_t h[32];
    chain_header_hash(&b.hdr, h);
    uint32_t idx[2] = { 0, 2 };
    struct wr w;
    wr_init(&w, 4096);
    p2p_put_getblocktxn(&w, h, idx, 2);
    frame(f, 1, P2P_CMD_GETBLOCKTXN, w.buf, w.len, T0 + 5);
    wr_free(&w);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_BLOCKTXN, &pl, &len), 1);
    struct p2p_blocktxn bt;
    assert_int_equal(p2p_dec_blocktxn(pl, len, &bt), 0);
    assert_int_equal(bt.n, 2);
    /* getdata cmpct: a cmpctblock; peer 1 is not known to have either tx
     * (they came to our mempool from no peer), so both go prefilled with
     * the coinbase. */
    uint8_t one[1][32];
    memcpy(one[0], h, 32);
    wr_init(&w, 4096);
    p2p_put_inv(&w, P2P_INV_CMPCT, (const uint8_t (*)[32])one, 1);
    frame(f, 1, P2P_CMD_GETDATA, w.buf, w.len, T0 + 6);
    wr_free(&w);
    assert_int_equal(sent_to(f, 1, P2P_CMD_CMPCTBLOCK, &pl, &len), 1);
    struct p2p_cmpctblock cb;
    assert_int_equal(p2p_dec_cmpctblock(pl, len, &cb), 0);
    assert_int_equal(cb.n_tx, 3);
    assert_int_equal(cb.n_pre, 3);
    idx[1] = 3;
    wr_init(&w, 4096);
    p2p_put_getblocktxn(&w, h, idx, 2);
    frame(f, 1, P2P_CMD_GETBLOCKTXN, w.buf, w.len, T0 + 7);
    wr_free(&w);
    assert_int_equal(f->discouraged_ev, 1);
    chain_block_free(&b);
    fake_free(f);
}

/* The getdata for the full block, and the block it brings. */
static void assert_falls_back(struct fake *f, const struct chain_block *b, uint64_t now)
{
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, &pl, &len), 1);
    struct p2p_list l;
    assert_int_equal(p2p_dec_getdata(pl, len, &l), 0);
    uint32_t type;
    const uint8_t *hash;
    p2p_inv_at(&l, 0, &type, &hash);
    assert_int_equal(type, P2P_INV_BLOCK);
    assert_false(tip_is(f, b));
    fake_send_block(f, 1, b, now);
    assert_true(tip_is(f, b));
    assert_int_equal(f->misbehaviour_ev, 0);   /* the fallback block was asked for */
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.cmpct_fallbacks, 1);
}

/* The same short id twice in one cmpctblock: no reconstruction can tell
 * the txs apart, so the full block is fetched. */
static void test_collision_falls_back(void **state)
{
    (void)state;
    struct chain_tx txs[2];
    struct chain_block b;
    bool mp[2] = { true, true };
    struct fake *f = setup(2, txs, &b, mp);
    struct wr w;
    put_cmpct(&w, &b, 42, NULL);
    /* Copy short id 0 over short id 1 (they follow header, nonce, count). */
    uint8_t *sids = w.buf + HEADER_SIZE + 8 + 1;
    memcpy(sids + P2P_CMPCT_SHORTID_BYTES, sids, P2P_CMPCT_SHORTID_BYTES);
    frame(f, 1, P2P_CMD_CMPCTBLOCK, w.buf, w.len, T0 + 10);
    wr_free(&w);
    assert_falls_back(f, &b, T0 + 20);
    chain_block_free(&b);
    fake_free(f);
}

/* A short id that matches the wrong mempool tx: the rebuilt block's
 * merkle root is wrong, so the full block is fetched. */
static void test_bad_reconstruction_falls_back(void **state)
{
    (void)state;
    struct chain_tx txs[2];
    struct chain_block b;
    bool mp[2] = { true, true };
    struct fake *f = setup(2, txs, &b, mp);
    /* The short ids of txs 1 and 2 in swapped places: every tx is found,
     * the rebuilt block's merkle root is not the header's. */
    struct chain_block lie = b;
    struct chain_tx swapped[3] = { b.txs[0], b.txs[2], b.txs[1] };
    lie.txs = swapped;
    struct wr w;
    put_cmpct(&w, &lie, 42, NULL);
    frame(f, 1, P2P_CMD_CMPCTBLOCK, w.buf, w.len, T0 + 10);
    wr_free(&w);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL), 0);
    assert_falls_back(f, &b, T0 + 20);
    chain_block_free(&b);
    fake_free(f);
}

static void test_timeout_falls_back(void **state)
{
    (void)state;
    struct chain_tx txs[1];
    struct chain_block b;
    bool mp[1] = { false };
    struct fake *f = setup(1, txs, &b, mp);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);
    assert_true(p2p_next_deadline(f->p) <= T0 + 10 + P2P_CMPCT_TXN_TIMEOUT_MS);
    p2p_on_tick(f->p, T0 + 10 + P2P_CMPCT_TXN_TIMEOUT_MS);
    assert_falls_back(f, &b, T0 + 20 + P2P_CMPCT_TXN_TIMEOUT_MS);
    chain_block_free(&b);
    fake_free(f);
}

/* HB mode: the peer that gave us a new block first is asked to push; its
 * push is forwarded (header checked) to a peer that asked us, before
 * validation. The block is invalid: since we asked for pushes before
 * validation, the pusher may be an honest relay, so it is not scored but
 * no longer asked to push (sendcmpct hb=0). The same invalid block from a
 * peer we never asked to push is its own fault: discouraged. */
static void test_hb_invalid_push_demotes_not_discourages(void **state)
{
    (void)state;
    struct chain_tx txs[1];
    struct chain_block b;
    bool mp[1] = { true };
    struct fake *f = setup_hb(1, txs, &b, mp);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_true(tip_is(f, &b));
    /* Peer 1 gave us a new tip first: asked to push (hb=1). */
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_SENDCMPCT, &pl, &len), 1);
    struct p2p_sendcmpct sc;
    assert_int_equal(p2p_dec_sendcmpct(pl, len, &sc), 0);
    assert_true(sc.hb);
    /* Peer 2 got the block pushed as a cmpctblock, once; never peer 1. */
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_CMPCTBLOCK, NULL, NULL), 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_HEADERS, NULL, NULL), 0);
    reset_out(f);

    /* Next: a block whose header is fine and whose coinbase pays too much. */
    uint8_t tip[32];
    chain_tip(f->chain, tip);
    struct chain_block bad;
    tmk_block(f->chain, tip, NULL, 0, 2, &bad);
    bad.txs[0].amount += 1;
    tremine(&bad);
    send_cmpct(f, 1, &bad, NULL, T0 + 20);
    assert_false(tip_is(f, &bad));
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);   /* before validation */
    assert_int_equal(f->discouraged_ev, 0);
    assert_int_equal(f->n_disc, 0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_SENDCMPCT, &pl, &len), 1);
    assert_int_equal(p2p_dec_sendcmpct(pl, len, &sc), 0);
    assert_false(sc.hb);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.cmpct_hb_invalid, 1);
    /* Another invalid block, from peer 3, which was never asked to push. */
    handshake_in(f, 3, "10.2.0.3", T0 + 30);
    struct chain_block bad2;
    tmk_block(f->chain, tip, NULL, 0, 3, &bad2);
    bad2.txs[0].amount += 1;
    tremine(&bad2);
    send_cmpct(f, 3, &bad2, NULL, T0 + 40);
    assert_false(tip_is(f, &bad2));
    assert_int_equal(f->discouraged_ev, 1);
    assert_int_equal(f->n_disc, 1);
    assert_int_equal(f->disconnected[0], 3);
    chain_block_free(&bad2);
    chain_block_free(&bad);
    chain_block_free(&b);
    fake_free(f);
}

/* HB mode with txs missing: the cmpctblock is not pushed on while we
 * lack txs (a peer we pushed to would ask us for them with getblocktxn,
 * and we could not answer: it would wait P2P_CMPCT_TXN_TIMEOUT_MS and
 * fetch the full block). Once the blocktxn completes the block, the peer
 * that asked for pushes gets one cmpctblock, and its getblocktxn is
 * answered. */
static void test_hb_push_waits_for_missing_txs(void **state)
{
    (void)state;
    struct chain_tx txs[2];
    struct chain_block b;
    bool mp[2] = { true, false };
    struct fake *f = setup_hb(2, txs, &b, mp);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_false(tip_is(f, &b));
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, &pl, &len), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 0);
    struct p2p_getblocktxn g;
    assert_int_equal(p2p_dec_getblocktxn(pl, len, &g), 0);
    send_blocktxn1(f, 1, g.hash, &b.txs[2], T0 + 20);
    assert_true(tip_is(f, &b));
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_CMPCTBLOCK, NULL, NULL), 0);
    reset_out(f);
    /* Peer 2 lacks the same tx: we answer it now. */
    uint32_t idx[1] = { 2 };
    struct wr w;
    wr_init(&w, 64);
    p2p_put_getblocktxn(&w, g.hash, idx, 1);
    frame(f, 2, P2P_CMD_GETBLOCKTXN, w.buf, w.len, T0 + 30);
    wr_free(&w);
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCKTXN, NULL, NULL), 1);
    assert_int_equal(f->misbehaviour_ev, 0);
    chain_block_free(&b);
    fake_free(f);
}

/* A signature driver that holds every job until the test reports it. */
static struct { uint64_t job; struct chain_tx tx; } held[64];
static size_t n_held;

static int hold_verify(void *ctx, uint64_t job, const struct chain_tx *tx)
{
    (void)ctx;
    if (n_held == sizeof(held) / sizeof(held[0]))
        return -1;
    held[n_held].job = job;
    held[n_held].tx = *tx;
    n_held++;
    return 0;
}

static void report_held(struct fake *f, uint64_t now)
{
    for (size_t i = 0; i < n_held; i++)
        p2p_on_verified(f->p, held[i].job, chain_tx_verify_sig(&held[i].tx), now);
}

static void send_getblocktxn(struct fake *f, uint64_t peer, const uint8_t hash[32],
                             const uint32_t *idx, size_t n, uint64_t now)
{
    struct wr w;
    wr_init(&w, 64 + 3 * n);
    p2p_put_getblocktxn(&w, hash, idx, n);
    frame(f, peer, P2P_CMD_GETBLOCKTXN, w.buf, w.len, now);
    wr_free(&w);
}

/* A block parked for its signature checks (p2p_io.verify_tx) was pushed on
 * to the peer that asked for pushes before the checks: when that peer asks
 * for the txs it lacks, it gets them from the parked block at once, not
 * after the checks (nor never: it would time out and fetch the block
 * whole). An index past the parked block is malformed, as for a stored
 * one. */
static void test_getblocktxn_served_while_parked(void **state)
{
    (void)state;
    enum { N = 12 };
    struct chain_tx txs[N];
    struct chain_block b;
    bool mp[N] = { true, true };   /* we hold txs 0 and 1; peer 1 prefills the rest */
    struct chain_config cc = { .params = &chain_params_regtest };
    n_held = 0;
    struct fake *f = setup_on(fake_new_full(&cc, 8, 0, hold_verify, true), N, txs, &b, mp);
    handshake_in(f, 2, "10.2.0.1", T0);
    send_sendcmpct(f, 2, true, T0);
    reset_out(f);
    bool pre[N + 1];
    for (size_t i = 0; i <= N; i++)
        pre[i] = i == 0 || i > 2;
    send_cmpct(f, 1, &b, pre, T0 + 10);
    /* Parked: its N - 2 cold signatures are out, the chain has not got it. */
    assert_int_equal(n_held, N - 2);
    assert_false(tip_is(f, &b));
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL), 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    /* Peer 2 lacks txs 0 and 1 (block indexes 1 and 2). */
    uint8_t h[32];
    chain_header_hash(&b.hdr, h);
    uint32_t idx[2] = { 1, 2 };
    send_getblocktxn(f, 2, h, idx, 2, T0 + 20);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCKTXN, &pl, &len), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCK, NULL, NULL), 0);
    struct p2p_blocktxn bt;
    assert_int_equal(p2p_dec_blocktxn(pl, len, &bt), 0);
    assert_memory_equal(bt.hash, h, 32);
    assert_int_equal(bt.n, 2);
    struct p2p_blocktxn_iter it;
    struct chain_tx tx;
    p2p_blocktxn_iter_init(&it, &bt);
    for (size_t i = 0; i < 2; i++) {
        assert_true(p2p_blocktxn_next(&it, &tx));
        assert_memory_equal(tx.txid, b.txs[idx[i]].txid, 32);
    }
    assert_false(p2p_blocktxn_next(&it, &tx));
    assert_false(tip_is(f, &b));   /* still parked */
    assert_int_equal(f->misbehaviour_ev, 0);
    /* Peer 3 asks for an index past the parked block. */
    handshake_in(f, 3, "10.2.0.3", T0 + 30);
    uint32_t past[1] = { N + 1 };
    send_getblocktxn(f, 3, h, past, 1, T0 + 31);
    assert_int_equal(f->discouraged_ev, 1);
    /* The checks come back: the block connects. */
    report_held(f, T0 + 40);
    assert_true(tip_is(f, &b));
    chain_block_free(&b);
    fake_free(f);
}

/* The last cmpctblock sent to peer, decoded (its payload stays in f). */
static void sent_cmpct(struct fake *f, uint64_t peer, struct p2p_cmpctblock *cb)
{
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_true(sent_to(f, peer, P2P_CMD_CMPCTBLOCK, &pl, &len) >= 1);
    assert_int_equal(p2p_dec_cmpctblock(pl, len, cb), 0);
}

/* Whether block index i of b went prefilled in cb; and the prefilled
 * bytes beyond the coinbase. */
static bool prefilled(const struct p2p_cmpctblock *cb, uint32_t i, size_t *bytes)
{
    struct p2p_prefilled_iter it;
    uint32_t index;
    struct chain_tx tx;
    bool found = false;
    *bytes = 0;
    p2p_prefilled_iter_init(&it, cb);
    while (p2p_prefilled_next(&it, &index, &tx)) {
        found |= index == i;
        if (index)
            *bytes += chain_tx_size(&tx);
    }
    return found;
}

/* A fresh core (compact blocks on) gets the cmpctblock from its peer 1,
 * holding only the txs with have[i]: true if it rebuilt the block without
 * a getblocktxn. */
static bool rebuilds_alone(const uint8_t *pl, size_t len, const struct chain_tx *txs, size_t n,
                           const bool *have, const struct chain_block *b)
{
    struct chain_tx mine[4];
    struct chain_block other;
    assert_true(n <= 4);
    struct fake *g = setup(n, mine, &other, have);   /* the same dev txs */
    chain_block_free(&other);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(mine[i].txid, txs[i].txid, 32);
    frame(g, 1, P2P_CMD_CMPCTBLOCK, pl, len, T0 + 100);
    bool ok = tip_is(g, b) && sent_to(g, 1, P2P_CMD_GETBLOCKTXN, NULL, NULL) == 0
              && sent_to(g, 1, P2P_CMD_GETDATA, NULL, NULL) == 0;
    fake_free(g);
    return ok;
}

/* Our own block, pushed to peer 2 (it asked for pushes): tx 0, which
 * peer 2 announced to us, goes as a short id; txs 1 and 2, which it was
 * never announced, go prefilled, and a core holding only tx 0 rebuilds
 * the block from that cmpctblock with no getblocktxn. */
static void test_own_block_prefills_what_the_peer_lacks(void **state)
{
    (void)state;
    struct chain_tx txs[3];
    struct chain_block b;
    bool mp[3] = { true, true, true };
    struct fake *f = setup_hb(3, txs, &b, mp);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, txs[0].txid, T0 + 5);
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 10), CHAIN_ST_NEW_TIP);
    struct p2p_cmpctblock cb;
    sent_cmpct(f, 2, &cb);
    size_t bytes;
    assert_int_equal(cb.n_tx, 4);
    assert_int_equal(cb.n_pre, 3);
    assert_int_equal(cb.n_sid, 1);
    assert_false(prefilled(&cb, 1, &bytes));
    assert_true(prefilled(&cb, 2, &bytes) && prefilled(&cb, 3, &bytes));
    uint8_t key[16];
    p2p_cmpct_key(&cb.hdr, cb.nonce, key);
    assert_int_equal(p2p_cmpct_sid_at(&cb, 0), p2p_cmpct_shortid(key, txs[0].txid));
    const uint8_t *pl = NULL;
    size_t len = 0;
    sent_to(f, 2, P2P_CMD_CMPCTBLOCK, &pl, &len);
    bool only_first[3] = { true, false, false };
    assert_true(rebuilds_alone(pl, len, txs, 3, only_first, &b));
    chain_block_free(&b);
    fake_free(f);
}

/* A relayed block (peer 1's cmpctblock, every tx in our mempool), pushed
 * to peers 2 and 3: peer 3 announced all three txs to us and gets the
 * very bytes peer 1 sent; peer 2 announced only tx 0 and gets our own
 * framing with txs 1 and 2 prefilled, from which it rebuilds alone. The
 * same goes for a getdata cmpct after the block connected. */
static void test_relayed_block_prefills_per_peer(void **state)
{
    (void)state;
    struct chain_tx txs[3];
    struct chain_block b;
    bool mp[3] = { true, true, true };
    struct fake *f = setup_hb(3, txs, &b, mp);
    handshake_in(f, 3, "10.3.0.1", T0);
    send_sendcmpct(f, 3, true, T0);
    handshake_in(f, 4, "10.4.0.1", T0);
    send_sendcmpct(f, 4, false, T0);
    for (size_t i = 0; i < 3; i++)
        fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, txs[i].txid, T0 + 5);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, txs[0].txid, T0 + 5);
    reset_out(f);
    struct wr in;
    put_cmpct(&in, &b, 42, NULL);
    frame(f, 1, P2P_CMD_CMPCTBLOCK, in.buf, in.len, T0 + 10);
    assert_true(tip_is(f, &b));
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 3, P2P_CMD_CMPCTBLOCK, &pl, &len), 1);
    assert_int_equal(len, in.len);
    assert_memory_equal(pl, in.buf, len);
    /* Those bytes would have cost peer 2 a getblocktxn. */
    bool only_first[3] = { true, false, false };
    assert_false(rebuilds_alone(in.buf, in.len, txs, 3, only_first, &b));
    wr_free(&in);
    struct p2p_cmpctblock cb;
    size_t bytes;
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, &pl, &len), 1);
    sent_cmpct(f, 2, &cb);
    assert_int_equal(cb.n_pre, 3);
    assert_false(prefilled(&cb, 1, &bytes));
    assert_true(rebuilds_alone(pl, len, txs, 3, only_first, &b));
    /* Peer 4 (no pushes) asks for it after the announcement: it never
     * saw any of the txs. */
    uint8_t h[32];
    chain_header_hash(&b.hdr, h);
    fake_send_inv1(f, 4, P2P_CMD_GETDATA, P2P_INV_CMPCT, h, T0 + 20);
    sent_cmpct(f, 4, &cb);
    assert_int_equal(cb.n_pre, 4);
    assert_int_equal(cb.n_sid, 0);
    chain_block_free(&b);
    fake_free(f);
}

/* A block of 100 txs the peer never saw: only the first that fit
 * P2P_CMPCT_PREFILL_MAX_BYTES go prefilled (block order), the rest as
 * short ids; it is a cmpctblock, not the block. */
static void test_prefill_cap(void **state)
{
    (void)state;
    enum { N = 100 };
    struct chain_tx txs[N];
    struct chain_block b;
    bool mp[N];
    for (size_t i = 0; i < N; i++)
        mp[i] = true;
    struct fake *f = setup_hb(N, txs, &b, mp);
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 10), CHAIN_ST_NEW_TIP);
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCK, NULL, NULL), 0);
    struct p2p_cmpctblock cb;
    sent_cmpct(f, 2, &cb);
    size_t bytes, fit = P2P_CMPCT_PREFILL_MAX_BYTES / chain_tx_size(&txs[0]);
    assert_true(fit > 0 && fit < N);
    assert_int_equal(cb.n_pre, 1 + fit);
    assert_int_equal(cb.n_sid, N - fit);
    assert_true(prefilled(&cb, (uint32_t)fit, &bytes));
    assert_false(prefilled(&cb, (uint32_t)fit + 1, &bytes));
    assert_true(bytes <= P2P_CMPCT_PREFILL_MAX_BYTES);
    assert_true(bytes + chain_tx_size(&txs[0]) > P2P_CMPCT_PREFILL_MAX_BYTES);
    chain_block_free(&b);
    fake_free(f);
}

/* HB selection: the peer that announced the block first (here an inv,
 * while its body was still to be fetched) is asked to push, not the peer
 * whose cmpctblock rebuilt it: the first announcement marks the fastest
 * path, a body from a peer that does not push to us comes a round trip
 * late. */
static void test_hb_peer_is_first_announcer(void **state)
{
    (void)state;
    struct chain_tx txs[1];
    struct chain_block b;
    bool mp[1] = { true };
    struct fake *f = setup(1, txs, &b, mp);
    handshake_in(f, 2, "10.2.0.1", T0);
    send_sendcmpct(f, 2, false, T0);
    reset_out(f);
    uint8_t h[32];
    chain_header_hash(&b.hdr, h);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_BLOCK, h, T0 + 5);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_true(tip_is(f, &b));
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 2, P2P_CMD_SENDCMPCT, &pl, &len), 1);
    struct p2p_sendcmpct sc;
    assert_int_equal(p2p_dec_sendcmpct(pl, len, &sc), 0);
    assert_true(sc.hb);
    assert_int_equal(sent_to(f, 1, P2P_CMD_SENDCMPCT, NULL, NULL), 0);
    chain_block_free(&b);
    fake_free(f);
}

/* What peers 1 (compact, no pushes) and 2 (asked for pushes) had been
 * sent when our block connected. */
struct own_watch {
    struct fake *f;
    int connected;
    int cmpct_to_2, announce_to_1;
};

static void own_connected(void *ctx, const uint8_t hash[32], uint32_t height,
                          const struct chain_block *b)
{
    struct own_watch *w = ctx;
    (void)hash;
    (void)height;
    (void)b;
    w->connected++;
    w->cmpct_to_2 = sent_to(w->f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL);
    w->announce_to_1 = sent_to(w->f, 1, P2P_CMD_HEADERS, NULL, NULL)
                       + sent_to(w->f, 1, P2P_CMD_INV, NULL, NULL)
                       + sent_to(w->f, 1, P2P_CMD_CMPCTBLOCK, NULL, NULL);
}

/* Our own block (p2p_submit_block: the miner, submitblock) goes to the
 * peer that asked for pushes before chain/ connects it (and commits it,
 * an fsync by default): that peer has its cmpctblock when block_connected
 * fires, the other peer nothing yet. After the connect the normal
 * announcement reaches peer 1 and skips peer 2, which never gets the block
 * twice, nor again when the block is submitted again or asked for. */
static void test_own_block_pushed_before_connect(void **state)
{
    (void)state;
    struct chain_tx txs[1];
    struct chain_block b;
    bool mp[1] = { true };
    struct fake *f = setup_hb(1, txs, &b, mp);
    struct own_watch w = { .f = f };
    struct chain_events ce = { .ctx = &w, .block_connected = own_connected };
    int h = chain_add_listener(f->chain, &ce);
    assert_true(h > 0);
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 10), CHAIN_ST_NEW_TIP);
    assert_true(tip_is(f, &b));
    assert_int_equal(w.connected, 1);
    assert_int_equal(w.cmpct_to_2, 1);      /* out before the connect */
    assert_int_equal(w.announce_to_1, 0);   /* the others wait for it */
    /* The payload is the block: peer 2 can rebuild it. */
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, &pl, &len), 1);
    struct p2p_cmpctblock cb;
    assert_int_equal(p2p_dec_cmpctblock(pl, len, &cb), 0);
    assert_memory_equal(&cb.hdr, &b.hdr, sizeof(cb.hdr));
    assert_int_equal(cb.n_tx, 2);
    /* After the connect: peer 1 got its announcement, peer 2 nothing more. */
    assert_int_equal(sent_to(f, 1, P2P_CMD_HEADERS, NULL, NULL)
                     + sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_HEADERS, NULL, NULL)
                     + sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 0);
    /* Submitted again, or asked for as cmpct: not sent again. */
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 20), CHAIN_ST_DUPLICATE);
    uint8_t one[1][32];
    chain_header_hash(&b.hdr, one[0]);
    fake_send_inv1(f, 2, P2P_CMD_GETDATA, P2P_INV_CMPCT, one[0], T0 + 30);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCK, NULL, NULL), 0);
    chain_remove_listener(f->chain, h);
    chain_block_free(&b);
    fake_free(f);
}

/* Our own block whose header is fine but whose coinbase pays too much (a
 * bug in our miner): it was pushed before the connect found that out;
 * then nothing more is announced, and the rejection is counted as before.
 * A block whose txs do not hash to its merkle root, or that does not
 * extend our tip, is never pushed. */
static void test_own_block_invalid_after_push(void **state)
{
    (void)state;
    struct chain_tx txs[1];
    struct chain_block b;
    bool mp[1] = { true };
    struct fake *f = setup_hb(1, txs, &b, mp);
    chain_block_free(&b);
    uint8_t g[32];
    chain_tip(f->chain, g);
    struct chain_block bad;
    tmk_block(f->chain, g, NULL, 0, 2, &bad);
    bad.txs[0].amount += 1;
    tremine(&bad);
    assert_true(p2p_submit_block(f->p, &bad, T0 + 10) < 0);
    assert_false(tip_is(f, &bad));
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_HEADERS, NULL, NULL)
                     + sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.blocks_rejected, 1);
    /* Again: known invalid, not pushed again. */
    assert_true(p2p_submit_block(f->p, &bad, T0 + 20) < 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 1);
    reset_out(f);
    /* A merkle root that is not its txs': not pushed. */
    struct chain_block lie;
    tmk_block(f->chain, g, NULL, 0, 3, &lie);
    lie.hdr.merkle_root[0] ^= 1;
    assert_true(chain_mine(&lie.hdr, 0, 1000000));
    assert_true(p2p_submit_block(f->p, &lie, T0 + 30) < 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 0);
    /* A valid block on another parent (a side branch): not pushed. */
    struct chain_block tipb, side;
    tmk_block(f->chain, g, NULL, 0, 4, &tipb);
    assert_int_equal(p2p_submit_block(f->p, &tipb, T0 + 40), CHAIN_ST_NEW_TIP);
    reset_out(f);
    tmk_block(f->chain, g, NULL, 0, 5, &side);
    assert_int_equal(p2p_submit_block(f->p, &side, T0 + 50), CHAIN_ST_SIDE);
    assert_int_equal(sent_to(f, 2, P2P_CMD_CMPCTBLOCK, NULL, NULL), 0);
    chain_block_free(&side);
    chain_block_free(&tipb);
    chain_block_free(&lie);
    chain_block_free(&bad);
    fake_free(f);
}

/* A core without compact blocks ignores the messages and sends none. */
static void test_off_ignores(void **state)
{
    (void)state;
    struct fake *f = fake_new(8);
    struct chain_tx txs[1];
    struct chain_block b;
    dev_block(f->chain, 1, txs, &b);
    handshake_in(f, 1, "10.1.0.1", T0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_SENDCMPCT, NULL, NULL), 0);
    send_sendcmpct(f, 1, true, T0);
    send_cmpct(f, 1, &b, NULL, T0 + 10);
    assert_false(tip_is(f, &b));
    assert_int_equal(f->misbehaviour_ev, 0);
    chain_block_free(&b);
    fake_free(f);
}

/* ---- the in-memory network ---- */

/* Per (sender, receiver, block): cmpctblock/block frames sent; per
 * (node, block): the node it first got it from. */
#define NET_MAX 24
#define NET_BLOCKS 16
struct net_watch {
    uint32_t magic;
    uint8_t blocks[NET_BLOCKS][32];
    size_t n_blocks;
    unsigned sent[NET_BLOCKS][NET_MAX][NET_MAX];
    int origin[NET_BLOCKS][NET_MAX];       /* -1: none */
    unsigned echoes, repeats;
    uint64_t cmpct_bytes, block_bytes, cmpct_frames, block_frames, txn_frames;
    unsigned cmpct_to_legacy;              /* a cmpctblock sent to a node that is off */
    bool off[NET_MAX];
};

static size_t net_block(struct net_watch *w, const uint8_t h[32])
{
    for (size_t i = 0; i < w->n_blocks; i++)
        if (memcmp(w->blocks[i], h, 32) == 0)
            return i;
    assert_true(w->n_blocks < NET_BLOCKS);
    memcpy(w->blocks[w->n_blocks], h, 32);
    for (size_t k = 0; k < NET_MAX; k++)
        w->origin[w->n_blocks][k] = -1;
    return w->n_blocks++;
}

/* The block a cmpctblock or block frame carries, or SIZE_MAX. */
static size_t net_frame(struct net_watch *w, const uint8_t *f, size_t len, enum p2p_cmd *cmd)
{
    struct p2p_frame_hdr h;
    if (len < P2P_HEADER_BYTES || p2p_frame_parse(f, w->magic, &h) != 0)
        return SIZE_MAX;
    *cmd = h.cmd;
    if (h.cmd == P2P_CMD_GETBLOCKTXN)
        w->txn_frames++;
    if ((h.cmd != P2P_CMD_CMPCTBLOCK && h.cmd != P2P_CMD_BLOCK) || h.len < HEADER_SIZE)
        return SIZE_MAX;
    uint8_t hash[32];
    hash_sha256d(hash, f + P2P_HEADER_BYTES, HEADER_SIZE);
    return net_block(w, hash);
}

static void net_send(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct net_watch *w = ctx;
    enum p2p_cmd cmd = P2P_CMD_UNKNOWN;
    size_t b = net_frame(w, f, len, &cmd);
    if (b == SIZE_MAX)
        return;
    if (cmd == P2P_CMD_CMPCTBLOCK) {
        w->cmpct_bytes += len;
        w->cmpct_frames++;
        w->cmpct_to_legacy += w->off[to];
    } else {
        w->block_bytes += len;
        w->block_frames++;
    }
    if (w->origin[b][from] == (int)to) {
        fprintf(stderr, "ECHO: node %zu sent block %zu back to %zu (%s)\n", from, b, to,
                p2p_cmd_name(cmd));
        w->echoes++;
    }
    if (++w->sent[b][from][to] > 1) {
        fprintf(stderr, "REPEAT: node %zu sent block %zu to %zu again (%s)\n", from, b, to,
                p2p_cmd_name(cmd));
        w->repeats++;
    }
}

static void net_deliver(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct net_watch *w = ctx;
    enum p2p_cmd cmd = P2P_CMD_UNKNOWN;
    size_t b = net_frame(w, f, len, &cmd);
    if (b != SIZE_MAX && w->origin[b][to] < 0)
        w->origin[b][to] = (int)from;
}

struct net {
    struct simnet *sn;
    struct net_watch w;
    size_t n;
};

/* n nodes on a ring with chords; off[i]: node i has compact blocks off. */
static struct net *net_new(uint64_t seed, size_t n, const bool *off)
{
    struct net *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    assert_true(n <= NET_MAX);
    t->n = n;
    t->w.magic = chain_params_regtest.magic;
    struct simnet_config sc = { .seed = seed, .latency_ms = 10, .jitter_ms = 3 };
    assert_int_equal(simnet_create(&t->sn, &sc), 0);
    struct simnet_observer obs = { .ctx = &t->w, .on_send = net_send, .on_deliver = net_deliver };
    simnet_set_observer(t->sn, &obs);
    for (size_t i = 0; i < n; i++) {
        struct p2p_config tmpl;
        p2p_config_init(&tmpl);
        tmpl.outbound_target = 0;
        tmpl.cmpct = !(off && off[i]);
        t->w.off[i] = !tmpl.cmpct;
        char name[16];
        snprintf(name, sizeof(name), "c%zu", i);
        assert_int_equal(simnet_add_node(t->sn, name, &tmpl), (int)i);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(simnet_connect(t->sn, i, (i + 1) % n), 0);
        if (n > 4 && i % 3 == 0 && i < n / 2)   /* one link per pair */
            assert_int_equal(simnet_connect(t->sn, i, (i + n / 2) % n), 0);
    }
    simnet_run_for(t->sn, 2000);
    return t;
}

static void net_free(struct net *t)
{
    assert_int_equal(t->w.echoes, 0);
    assert_int_equal(t->w.repeats, 0);
    for (size_t i = 0; i < t->n; i++)
        p2p_check(simnet_p2p(t->sn, i));
    simnet_destroy(t->sn);
    free(t);
}

static void net_mine(struct net *t, size_t node, uint8_t hash[32])
{
    struct chain_block b;
    uint8_t pk[32] = { 0x51, (uint8_t)node };
    assert_int_equal(chain_block_template(simnet_chain(t->sn, node), pk, simnet_now(t->sn), &b),
                     0);
    for (uint64_t at = 0; !chain_mine(&b.hdr, at, 4096); at += 4096)
        ;
    chain_header_hash(&b.hdr, hash);
    assert_int_equal(p2p_submit_block(simnet_p2p(t->sn, node), &b, simnet_now(t->sn)),
                     CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
    simnet_touch(t->sn, node);
}

static void net_assert_tip(struct net *t, const uint8_t hash[32])
{
    for (size_t i = 0; i < t->n; i++) {
        uint8_t tip[32];
        chain_tip(simnet_chain(t->sn, i), tip);
        if (memcmp(tip, hash, 32) != 0)
            fprintf(stderr, "node %zu is at height %u\n", i,
                    chain_height(simnet_chain(t->sn, i)));
        assert_memory_equal(tip, hash, 32);
    }
}

static uint64_t net_stat(struct net *t, bool fallbacks)
{
    uint64_t s = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(t->sn, i), &st);
        s += fallbacks ? st.cmpct_fallbacks : st.cmpct_blocks;
    }
    return s;
}

/* 2,000 txs every node has, then a block of them (2,001 with the
 * coinbase): it crosses every hop as a cmpctblock, no node asks for a
 * tx, and a hop costs a small fraction of the full block. */
static void test_net_big_block_all_known(void **state)
{
    (void)state;
    const size_t n = 6, ntx = 2000;
    struct net *t = net_new(11, n, NULL);
    struct tkey dev;
    tdev(&dev);
    uint8_t to[32] = { 0x77 };
    for (size_t i = 0; i < ntx; i++) {
        struct chain_tx tx = tmk_tx(&dev, to, 1000 + i, chain_params_regtest.min_fee, i);
        memcpy(tx.from, dev.pk, 32);
        chain_tx_sign(&tx, dev.sk);
        assert_int_equal(p2p_submit_tx(simnet_p2p(t->sn, 0), &tx, simnet_now(t->sn)),
                         CHAIN_TX_ACCEPTED);
    }
    simnet_touch(t->sn, 0);
    simnet_run_for(t->sn, 10000);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(chain_mempool_count(simnet_chain(t->sn, i)), ntx);
    uint8_t h[32];
    net_mine(t, 3, h);
    simnet_run_for(t->sn, 3000);
    net_assert_tip(t, h);
    struct chain_block b;
    assert_int_equal(chain_get_block(simnet_chain(t->sn, 0), h, &b), 0);
    assert_int_equal(b.n_tx, ntx + 1);
    size_t full = chain_block_size(&b);
    chain_block_free(&b);
    assert_int_equal(t->w.txn_frames, 0);
    assert_int_equal(t->w.block_frames, 0);
    assert_int_equal(net_stat(t, false), n - 1);
    assert_int_equal(net_stat(t, true), 0);
    assert_true(t->w.cmpct_frames >= n - 1);
    uint64_t per_hop = t->w.cmpct_bytes / t->w.cmpct_frames;
    fprintf(stderr, "full block %zu bytes, cmpctblock %llu bytes per hop (%llu hops)\n", full,
            (unsigned long long)per_hop, (unsigned long long)t->w.cmpct_frames);
    assert_true(per_hop * 20 < full);
    net_free(t);
}

/* Nodes with compact blocks off among nodes with it on: every block
 * reaches everyone, no cmpctblock is sent to a node that is off, and
 * pushes never echo nor repeat; later blocks go through HB peers. */
static void test_net_mixed_interop_and_hb(void **state)
{
    (void)state;
    const size_t n = 12;
    bool off[12] = { false };
    off[2] = off[7] = off[8] = true;
    struct net *t = net_new(12, n, off);
    uint8_t h[32];
    for (size_t k = 0; k < 8; k++) {
        net_mine(t, (k * 5) % n, h);
        simnet_run_for(t->sn, 2000);
        net_assert_tip(t, h);
    }
    assert_int_equal(t->w.cmpct_to_legacy, 0);
    assert_true(t->w.cmpct_frames > 0);
    assert_true(t->w.block_frames > 0);   /* the legacy nodes got bodies */
    /* Nodes picked HB peers: some cmpctblocks were pushed unasked. */
    size_t hb = 0;
    for (size_t i = 0; i < n; i++) {
        struct p2p_peer_info info[16];
        size_t np = p2p_get_peers(simnet_p2p(t->sn, i), info, 16);
        for (size_t k = 0; k < np; k++)
            hb += info[k].msgs_recv_per_cmd[P2P_CMD_SENDCMPCT] > 1;
    }
    assert_true(hb > 0);
    net_free(t);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_round_trips),
        cmocka_unit_test(test_codec_lies),
        cmocka_unit_test(test_rebuilt_from_mempool),
        cmocka_unit_test(test_missing_tx_fetched_with_getblocktxn),
        cmocka_unit_test(test_blocktxn_lies),
        cmocka_unit_test(test_serving_getblocktxn),
        cmocka_unit_test(test_collision_falls_back),
        cmocka_unit_test(test_bad_reconstruction_falls_back),
        cmocka_unit_test(test_timeout_falls_back),
        cmocka_unit_test(test_hb_invalid_push_demotes_not_discourages),
        cmocka_unit_test(test_hb_push_waits_for_missing_txs),
        cmocka_unit_test(test_getblocktxn_served_while_parked),
        cmocka_unit_test(test_own_block_prefills_what_the_peer_lacks),
        cmocka_unit_test(test_relayed_block_prefills_per_peer),
        cmocka_unit_test(test_prefill_cap),
        cmocka_unit_test(test_own_block_pushed_before_connect),
        cmocka_unit_test(test_own_block_invalid_after_push),
        cmocka_unit_test(test_hb_peer_is_first_announcer),
        cmocka_unit_test(test_off_ignores),
        cmocka_unit_test(test_net_big_block_all_known),
        cmocka_unit_test(test_net_mixed_interop_and_hb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
