/* p2p/p2p.c relay policy, one core against scripted peers: announce-then-
 * pull, never back to the origin nor twice, tx batching and fan-out,
 * blocks at once as inv or headers, invalid items never relayed, notfound,
 * orphan blocks fetching their parent. */
#include <stdio.h>

#include "p2p_fake.h"

static void make_tx(struct chain *c, uint64_t amount, struct chain_tx *tx, uint8_t txid[32])
{
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    memset(tx, 0, sizeof(*tx));
    tx->version = TX_VERSION;
    memcpy(tx->from, pk, 32);
    memset(tx->to, 0x22, 32);
    tx->amount = amount;
    tx->fee = chain_params_regtest.min_fee;
    tx->nonce = chain_account_next_nonce(c, pk);
    chain_tx_sign(tx, sk);
    chain_tx_txid(tx, txid);
}

/* True iff the last inv/getdata/headers payload lists exactly hash. */
static bool lists(const uint8_t *pl, size_t len, const uint8_t hash[32])
{
    struct p2p_list l;
    uint32_t type;
    const uint8_t *h;
    if (p2p_dec_inv(pl, len, &l) != 0 || l.n != 1)
        return false;
    p2p_inv_at(&l, 0, &type, &h);
    return memcmp(h, hash, 32) == 0;
}

static void mine_on(struct chain *c, uint64_t now, struct chain_block *b)
{
    uint8_t pk[32] = { 0x99 };
    assert_int_equal(chain_block_template(c, pk, now, b), 0);
    uint64_t start = 0;
    while (!chain_mine(&b->hdr, start, 1000))
        start += 1000;
}

static void test_tx_pull_and_relay_never_back(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    for (uint64_t p = 1; p <= 3; p++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.1.0.%u", (unsigned)p);
        handshake_in(f, p, ip, T0);
    }
    struct chain_tx tx;
    uint8_t txid[32];
    make_tx(f->chain, COIN, &tx, txid);
    reset_out(f);
    uint64_t t = T0 + 1000;
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_TX, txid, t);
    /* Inbound announcer: asked after the non-preferred delay. */
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, txid, t + 10);
    p2p_on_tick(f->p, t + P2P_NONPREFERRED_DELAY_MS);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, &pl, &len), 1);
    assert_true(lists(pl, len, txid));
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);   /* one at a time */
    /* The body arrives; the tx is accepted and announced after the batch
     * period to peer 3 only: 1 sent it, 2 announced it. */
    reset_out(f);
    t += P2P_NONPREFERRED_DELAY_MS + 5;
    fake_send_tx(f, 1, &tx, t);
    assert_true(chain_mempool_has(f->chain, txid));
    assert_int_equal(sent_to(f, 3, P2P_CMD_INV, NULL, NULL), 0);   /* batched */
    p2p_on_tick(f->p, t + P2P_TX_BATCH_MS_DEFAULT);
    assert_int_equal(sent_to(f, 3, P2P_CMD_INV, &pl, &len), 1);
    assert_true(lists(pl, len, txid));
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 0);
    /* Never twice: more ticks and announcements change nothing. */
    fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, txid, t + 200);
    p2p_on_tick(f->p, t + 1000);
    assert_int_equal(sent_to(f, 3, P2P_CMD_INV, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);
    /* A peer asking gets the body. */
    fake_send_inv1(f, 3, P2P_CMD_GETDATA, P2P_INV_TX, txid, t + 1001);
    assert_int_equal(sent_to(f, 3, P2P_CMD_TX, NULL, NULL), 1);
    /* A duplicate body is counted, not relayed. */
    fake_send_tx(f, 2, &tx, t + 1002);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.dup_tx_bodies, 1);
    assert_int_equal(st.txs_accepted, 1);
    fake_free(f);
}

/* A tx that arrives before its sender's previous nonce waits in chain/;
 * when the gap closes it is reported as first seen from the peer that
 * sent it (not as a reorg), and announced. */
static void test_waiting_tx_keeps_its_source(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.1.0.1", T0);
    handshake_in(f, 2, "10.1.0.2", T0);
    handshake_in(f, 3, "10.1.0.3", T0);
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    struct chain_tx tx0, tx1;
    uint8_t id0[32], id1[32];
    make_tx(f->chain, COIN, &tx0, id0);
    tx1 = tx0;
    tx1.nonce = tx0.nonce + 1;
    chain_tx_sign(&tx1, sk);
    chain_tx_txid(&tx1, id1);
    uint64_t t = T0 + 1000;
    fake_send_tx(f, 2, &tx1, t);                 /* nonce gap: waits */
    assert_false(chain_mempool_has(f->chain, id1));
    assert_int_equal(f->n_acc, 0);
    fake_send_tx(f, 1, &tx0, t + 1);             /* closes the gap */
    assert_true(chain_mempool_has(f->chain, id0));
    assert_true(chain_mempool_has(f->chain, id1));
    assert_int_equal(f->n_acc, 2);
    bool saw0 = false, saw1 = false;
    for (size_t i = 0; i < f->n_acc; i++) {
        assert_int_equal(f->acc[i].src, P2P_SRC_PEER);
        assert_true(f->acc[i].first);
        if (memcmp(f->acc[i].txid, id0, 32) == 0) {
            saw0 = true;
            assert_int_equal(f->acc[i].peer, 1);
        } else if (memcmp(f->acc[i].txid, id1, 32) == 0) {
            saw1 = true;
            assert_int_equal(f->acc[i].peer, 2);
        }
    }
    assert_true(saw0 && saw1);
    /* Both are announced to peer 3, and neither back to its sender. */
    reset_out(f);
    p2p_on_tick(f->p, t + 1 + P2P_TX_BATCH_MS_DEFAULT);
    assert_int_equal(sent_to(f, 3, P2P_CMD_INV, NULL, NULL), 1);
    const uint8_t *pl = NULL;
    size_t len = 0;
    if (sent_to(f, 2, P2P_CMD_INV, &pl, &len) == 1)
        assert_false(lists(pl, len, id1));
    if (sent_to(f, 1, P2P_CMD_INV, &pl, &len) == 1)
        assert_false(lists(pl, len, id0));
    fake_free(f);
}

static void test_fanout_and_submit(void **state)
{
    (void)state;
    struct fake *f = fake_new_cfg(0, 2);
    for (uint64_t p = 1; p <= 5; p++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.2.0.%u", (unsigned)p);
        handshake_in(f, p, ip, T0);
    }
    struct chain_tx tx;
    uint8_t txid[32];
    make_tx(f->chain, COIN, &tx, txid);
    reset_out(f);
    assert_int_equal(p2p_submit_tx(f->p, &tx, T0 + 10), CHAIN_TX_ACCEPTED);
    p2p_on_tick(f->p, T0 + 10 + P2P_TX_BATCH_MS_DEFAULT);
    int n = 0;
    for (uint64_t p = 1; p <= 5; p++)
        n += sent_to(f, p, P2P_CMD_INV, NULL, NULL);
    assert_int_equal(n, 2);   /* the fan-out */
    /* Rejected submissions are not announced. */
    tx.amount += 1;   /* breaks the signature */
    chain_tx_seal(&tx);
    assert_true(p2p_submit_tx(f->p, &tx, T0 + 100) < 0);
    fake_free(f);
}

static void test_block_at_once_inv_or_headers(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.3.0.1", T0);
    handshake_in(f, 2, "10.3.0.2", T0);
    frame(f, 1, P2P_CMD_SENDHEADERS, NULL, 0, T0);
    reset_out(f);
    struct chain_block b;
    uint8_t hash[32];
    mine_on(f->chain, T0 + 5, &b);
    chain_header_hash(&b.hdr, hash);
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 5), CHAIN_ST_NEW_TIP);
    /* No tick needed: blocks go out at once. */
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_HEADERS, &pl, &len), 1);
    struct p2p_list l;
    assert_int_equal(p2p_dec_headers(pl, len, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, &pl, &len), 1);
    assert_true(lists(pl, len, hash));
    /* Peer 2 pulls it. */
    fake_send_inv1(f, 2, P2P_CMD_GETDATA, P2P_INV_BLOCK, hash, T0 + 6);
    assert_int_equal(sent_to(f, 2, P2P_CMD_BLOCK, &pl, &len), 1);
    assert_int_equal(len, chain_block_size(&b));
    chain_block_free(&b);
    fake_free(f);
}

/* A block announced with `headers` (sendheaders) is an announcement like an
 * inv entry: one for a block we already have is a duplicate (dup_invs), one
 * for a block we lack is not. */
static void test_headers_announcements_counted(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.3.1.1", T0);
    struct chain_block b, c;
    mine_on(f->chain, T0 + 5, &b);
    assert_int_equal(p2p_submit_block(f->p, &b, T0 + 5), CHAIN_ST_NEW_TIP);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    uint64_t before = st.dup_invs;
    struct wr w;
    wr_init(&w, P2P_MAX_PAYLOAD_BYTES);
    assert_true(p2p_put_headers(&w, &b.hdr, 1));
    frame(f, 1, P2P_CMD_HEADERS, w.buf, w.len, T0 + 6);
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.dup_invs, before + 1);
    /* A header of a block we do not have yet: new, not a duplicate. */
    mine_on(f->chain, T0 + 7, &c);
    wr_free(&w);
    wr_init(&w, P2P_MAX_PAYLOAD_BYTES);
    assert_true(p2p_put_headers(&w, &c.hdr, 1));
    frame(f, 1, P2P_CMD_HEADERS, w.buf, w.len, T0 + 8);
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.dup_invs, before + 1);
    wr_free(&w);
    chain_block_free(&b);
    chain_block_free(&c);
    fake_free(f);
}

static void test_block_from_peer_relayed_not_back(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    /* A second chain plays the remote miner. */
    struct chain *other;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&other, &cc, T0), 0);
    handshake_in(f, 1, "10.4.0.1", T0);
    handshake_in(f, 2, "10.4.0.2", T0);
    struct chain_block b1, b2;
    uint8_t h1[32], h2[32];
    mine_on(other, T0 + 10, &b1);
    chain_header_hash(&b1.hdr, h1);
    struct chain_result res;
    assert_int_equal(chain_accept_block(other, &b1, T0 + 10, &res), 0);
    mine_on(other, T0 + 20, &b2);
    chain_header_hash(&b2.hdr, h2);
    /* Peer 1 answers our handshake getheaders: it has nothing yet. */
    static const uint8_t no_headers[1] = { 0 };
    frame(f, 1, P2P_CMD_HEADERS, no_headers, 1, T0 + 25);
    /* Block 2 first: an orphan. We ask its sender for the parent and for
     * headers. */
    reset_out(f);
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, h2, T0 + 30);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, &pl, &len), 1);
    assert_true(lists(pl, len, h2));
    fake_send_block(f, 1, &b2, T0 + 31);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, &pl, &len), 2);
    assert_true(lists(pl, len, h1));
    assert_true(sent_to(f, 1, P2P_CMD_GETHEADERS, NULL, NULL) >= 1);
    /* The parent arrives: both connect; the new tip is announced to
     * peer 2, never to peer 1 which sent it. */
    fake_send_block(f, 1, &b1, T0 + 32);
    assert_int_equal(chain_height(f->chain), 2);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, &pl, &len), 1);
    assert_true(lists(pl, len, h2));
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.dup_block_bodies, 0);
    chain_block_free(&b1);
    chain_block_free(&b2);
    chain_close(other);
    fake_free(f);
}

static void test_invalid_tx_not_relayed_and_discouraged(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.5.0.1", T0);
    handshake_in(f, 2, "10.5.0.2", T0);
    struct chain_tx tx;
    uint8_t txid[32];
    make_tx(f->chain, COIN, &tx, txid);
    tx.sig[0] ^= 1;
    chain_tx_seal(&tx);
    chain_tx_txid(&tx, txid);
    reset_out(f);
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_TX, txid, T0 + 1);
    p2p_on_tick(f->p, T0 + 1 + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    fake_send_tx(f, 1, &tx, T0 + 200);
    p2p_on_tick(f->p, T0 + 1000);
    assert_false(chain_mempool_has(f->chain, txid));
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 0);
    assert_int_equal(f->discouraged_ev, 1);   /* discouraged, not banned */
    assert_int_equal(f->ban_ev, 0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.5.0.1", 1);
    assert_true(p2p_is_discouraged(f->p, &a));
    assert_int_equal(p2p_peer_count(f->p), 1);
    fake_free(f);
}

static void test_notfound_asks_next(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.6.0.1", T0);
    handshake_in(f, 2, "10.6.0.2", T0);
    uint8_t h[32];
    memset(h, 0x33, 32);
    reset_out(f);
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, h, T0 + 1);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_BLOCK, h, T0 + 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);
    fake_send_inv1(f, 1, P2P_CMD_NOTFOUND, P2P_INV_BLOCK, h, T0 + 2);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 1);
    struct p2p_peer_info pi;
    p2p_get_peer(f->p, 2, &pi);
    assert_int_equal(pi.in_flight, 1);
    /* Our own notfound for things we lack. */
    fake_send_inv1(f, 2, P2P_CMD_GETDATA, P2P_INV_TX, h, T0 + 3);
    assert_int_equal(sent_to(f, 2, P2P_CMD_NOTFOUND, NULL, NULL), 1);
    fake_free(f);
}

static void test_mempool_and_getaddr(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.7.0.1", T0);
    handshake_in(f, 2, "10.7.0.2", T0);
    struct chain_tx tx;
    uint8_t txid[32];
    make_tx(f->chain, COIN, &tx, txid);
    assert_int_equal(chain_mempool_accept(f->chain, &tx, 0, T0), CHAIN_TX_ACCEPTED);
    reset_out(f);
    frame(f, 1, P2P_CMD_MEMPOOL, NULL, 0, T0 + 1);
    p2p_on_tick(f->p, T0 + 1 + P2P_TX_BATCH_MS_DEFAULT);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, &pl, &len), 1);
    assert_true(lists(pl, len, txid));
    /* getaddr: peer 2's listening address (its IP, the port from its
     * version) is in the book; answered once. */
    frame(f, 1, P2P_CMD_GETADDR, NULL, 0, T0 + 2);
    frame(f, 1, P2P_CMD_GETADDR, NULL, 0, T0 + 3);
    assert_int_equal(sent_to(f, 1, P2P_CMD_ADDR, &pl, &len), 1);
    struct p2p_list l;
    assert_int_equal(p2p_dec_addr(pl, len, &l), 0);
    assert_true(l.n >= 1);
    fake_free(f);
}

/* Issue 9: 8 peers claiming start height 2^31-1 (and relaying the honest
 * headers), never sending a block, froze the block download for > 45 s:
 * each block was asked of one liar after another. The claim is not
 * trusted, and a peer that lets a block request time out while another
 * could serve it is dropped and its blocks re-requested at once. The
 * honest tip is reached within 30 s of fake time. */
static void test_block_stallers_dropped(void **state)
{
    (void)state;
    enum { NB = 20, NA = 8 };
    struct fake *f = fake_new(0);
    struct chain *other;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&other, &cc, T0), 0);
    static struct chain_block b[NB];
    static struct chain_header hs[NB];
    uint8_t hh[NB][32];
    for (int i = 0; i < NB; i++) {
        struct chain_result res;
        mine_on(other, T0 + 10 + (uint64_t)i, &b[i]);
        assert_int_equal(chain_accept_block(other, &b[i], T0 + 10 + (uint64_t)i, &res), 0);
        hs[i] = b[i].hdr;
        chain_header_hash(&b[i].hdr, hh[i]);
    }
    struct wr hw;
    wr_init(&hw, P2P_MAX_HEADERS_BYTES);
    p2p_put_headers(&hw, hs, NB);
    uint64_t t = T0 + 100;
    /* The liars are outbound (preferred: asked first). */
    for (uint64_t a = 1; a <= NA; a++) {
        struct p2p_addr ad;
        char ip[32];
        snprintf(ip, sizeof(ip), "10.90.%u.1:19444", (unsigned)a);
        p2p_addr_parse(&ad, ip, 0);
        p2p_on_connected(f->p, a, &ad, false, t);
        struct p2p_version v;
        memset(&v, 0, sizeof(v));
        v.version = P2P_PROTOCOL_VERSION;
        v.nonce = 7000 + a;
        strcpy(v.user_agent, "/liar/");
        v.start_height = INT32_MAX;
        v.relay = true;
        struct wr w;
        wr_init(&w, P2P_MAX_VERSION_BYTES);
        p2p_put_version(&w, &v);
        frame(f, a, P2P_CMD_VERSION, w.buf, w.len, t);
        wr_free(&w);
        frame(f, a, P2P_CMD_VERACK, NULL, 0, t);
        frame(f, a, P2P_CMD_HEADERS, hw.buf, hw.len, t);
    }
    const uint64_t honest = 100;
    handshake_in(f, honest, "10.91.0.1", t + 1);
    frame(f, honest, P2P_CMD_HEADERS, hw.buf, hw.len, t + 1);
    wr_free(&hw);
    uint64_t reached = 0;
    for (uint64_t now = t + 1; now <= t + 30000 && !reached; now += 50) {
        /* The honest peer serves whatever it was asked (liars answer pings only). */
        for (size_t i = 0; i < f->n_sends; i++) {
            struct p2p_frame_hdr h;
            assert_int_equal(p2p_frame_parse(f->out + f->sends[i].off, f->magic, &h), 0);
            const uint8_t *pl = f->out + f->sends[i].off + P2P_HEADER_BYTES;
            if (h.cmd == P2P_CMD_PING && f->sends[i].peer <= NA) {
                frame(f, f->sends[i].peer, P2P_CMD_PONG, pl, 8, now);
                continue;
            }
            if (h.cmd != P2P_CMD_GETDATA || f->sends[i].peer != honest)
                continue;
            struct p2p_list l;
            assert_int_equal(p2p_dec_inv(pl, h.len, &l), 0);
            for (size_t k = 0; k < l.n; k++) {
                uint32_t type;
                const uint8_t *hash;
                p2p_inv_at(&l, k, &type, &hash);
                for (int j = 0; j < NB; j++)
                    if (type == P2P_INV_BLOCK && memcmp(hash, hh[j], 32) == 0)
                        fake_send_block(f, honest, &b[j], now);
            }
        }
        reset_out(f);
        p2p_on_tick(f->p, now);
        if (chain_height(f->chain) == NB)
            reached = now;
    }
    assert_true(reached != 0);
    assert_true(reached - t <= 30000);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.block_stalls > 0);
    for (int i = 0; i < NB; i++)
        chain_block_free(&b[i]);
    chain_close(other);
    fake_free(f);
}

/* A burst larger than a peer tracks from one announcer
 * (P2P_TXREQ_MAX_PER_PEER) is announced in windows: at most
 * P2P_INV_WINDOW_ENTRIES outstanding, one more per tx the peer asks for,
 * the rest when the window's batch is P2P_INV_WINDOW_MS old; in
 * submission order, none lost. */
static void test_burst_announced_within_the_window(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.1.0.1", T0);
    enum { EXTRA = 500, ASKED = 100 };
    const size_t total = P2P_INV_WINDOW_ENTRIES + EXTRA;
    uint8_t (*ids)[32] = malloc(total * 32);
    assert_non_null(ids);
    uint64_t t = T0 + 1000;
    for (size_t i = 0; i < total; i++) {
        struct chain_tx tx;
        make_tx(f->chain, 1000 + i, &tx, ids[i]);
        assert_int_equal(p2p_submit_tx(f->p, &tx, t), CHAIN_TX_ACCEPTED);
    }
    struct p2p_peer_info pi;
    reset_out(f);
    p2p_on_tick(f->p, t + P2P_TX_BATCH_MS_DEFAULT);
    assert_int_equal(p2p_get_peer(f->p, 1, &pi), 0);
    uint64_t inv_bytes = pi.bytes_sent_per_cmd[P2P_CMD_INV];
    /* One window's worth: header, 3-byte count, 36 bytes an entry. */
    assert_int_equal(inv_bytes, P2P_HEADER_BYTES + 3 + 36ull * P2P_INV_WINDOW_ENTRIES);
    /* Nothing more while the window is full. */
    p2p_on_tick(f->p, t + P2P_INV_WINDOW_MS / 2);
    assert_int_equal(p2p_get_peer(f->p, 1, &pi), 0);
    assert_int_equal(pi.bytes_sent_per_cmd[P2P_CMD_INV], inv_bytes);
    /* It asks for ASKED of them: as many more go with the next batch, the
     * next in submission order. */
    uint32_t types[ASKED];
    for (size_t i = 0; i < ASKED; i++)
        types[i] = P2P_INV_TX;
    struct wr w;
    wr_init(&w, P2P_MAX_INV_BYTES);
    p2p_put_inv_mixed(&w, types, (const uint8_t (*)[32])ids, ASKED);
    uint64_t t2 = t + P2P_INV_WINDOW_MS / 2 + 1;
    reset_out(f);
    frame(f, 1, P2P_CMD_GETDATA, w.buf, w.len, t2);
    wr_free(&w);
    assert_int_equal(sent_to(f, 1, P2P_CMD_TX, NULL, NULL), ASKED);
    p2p_on_tick(f->p, t2 + P2P_TX_BATCH_MS_DEFAULT);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, &pl, &len), 1);
    struct p2p_list l;
    assert_int_equal(p2p_dec_inv(pl, len, &l), 0);
    assert_int_equal(l.n, ASKED);
    for (size_t i = 0; i < l.n; i++) {
        uint32_t type;
        const uint8_t *h;
        p2p_inv_at(&l, i, &type, &h);
        assert_memory_equal(h, ids[P2P_INV_WINDOW_ENTRIES + i], 32);
    }
    /* The first batch ages out of the window: the rest goes, in order. */
    reset_out(f);
    p2p_on_tick(f->p, t + P2P_TX_BATCH_MS_DEFAULT + P2P_INV_WINDOW_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, &pl, &len), 1);
    assert_int_equal(p2p_dec_inv(pl, len, &l), 0);
    assert_int_equal(l.n, EXTRA - ASKED);
    for (size_t i = 0; i < l.n; i++) {
        uint32_t type;
        const uint8_t *h;
        p2p_inv_at(&l, i, &type, &h);
        assert_memory_equal(h, ids[P2P_INV_WINDOW_ENTRIES + ASKED + i], 32);
    }
    p2p_check(f->p);
    free(ids);
    fake_free(f);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_pull_and_relay_never_back),
        cmocka_unit_test(test_waiting_tx_keeps_its_source),
        cmocka_unit_test(test_fanout_and_submit),
        cmocka_unit_test(test_block_at_once_inv_or_headers),
        cmocka_unit_test(test_headers_announcements_counted),
        cmocka_unit_test(test_block_from_peer_relayed_not_back),
        cmocka_unit_test(test_block_stallers_dropped),
        cmocka_unit_test(test_invalid_tx_not_relayed_and_discouraged),
        cmocka_unit_test(test_notfound_asks_next),
        cmocka_unit_test(test_mempool_and_getaddr),
        cmocka_unit_test(test_burst_announced_within_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
