/* The send budget (issue 15): peers that ask for the same ~1 MiB block
 * many times and never read. The scripted driver acknowledges (p2p_on_sent)
 * only the honest peer's bytes, so whatever the core hands it for the
 * attackers stays "in the socket", as with real peers that do not read.
 * The core must serve bodies as each socket drains, keep all peers' unsent
 * bytes under the node's budget and each attacker's under its share, still
 * serve the honest peer a new block and a tx at once, and drop the
 * attackers once they have not read for the stall timeout. */
#include <stdio.h>

#include "p2p_fake.h"
#include "chain_helpers.h"

#define HONEST 200u
#define MAX_ID 256u
#define REQS_PER_GETDATA 20u

struct net {
    struct { uint64_t peer; enum p2p_cmd cmd; size_t entries; } log[64];
    size_t n_log;               /* bodies and notfounds, in order */
    size_t unacked[MAX_ID];     /* handed to the driver, not acknowledged */
    size_t total, max_total, max_attacker;
    int blocks_to[MAX_ID], txs_to[MAX_ID], headers_to[MAX_ID];
    size_t last_block_len[MAX_ID];
    char why[MAX_ID][32];       /* disconnect reason ("" while connected) */
    uint64_t n_attackers;
};

static void on_send(struct fake *f, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct net *n = f->user;
    struct p2p_frame_hdr h;
    assert_true(peer < MAX_ID);
    assert_int_equal(p2p_frame_parse(buf, f->magic, &h), 0);
    if (h.cmd == P2P_CMD_BLOCK) {
        n->blocks_to[peer]++;
        n->last_block_len[peer] = h.len;
    }
    if (h.cmd == P2P_CMD_TX)
        n->txs_to[peer]++;
    if (h.cmd == P2P_CMD_HEADERS)
        n->headers_to[peer]++;
    if ((h.cmd == P2P_CMD_TX || h.cmd == P2P_CMD_BLOCK || h.cmd == P2P_CMD_NOTFOUND)
        && n->n_log < sizeof n->log / sizeof n->log[0]) {
        struct p2p_list l = { 0 };
        if (h.cmd == P2P_CMD_NOTFOUND)
            assert_int_equal(p2p_dec_inv(buf + P2P_HEADER_BYTES, h.len, &l), 0);
        n->log[n->n_log].peer = peer;
        n->log[n->n_log].cmd = h.cmd;
        n->log[n->n_log].entries = l.n;
        n->n_log++;
    }
    n->unacked[peer] += len;
    n->total += len;
    if (n->total > n->max_total)
        n->max_total = n->total;
    if (peer != HONEST && n->unacked[peer] > n->max_attacker)
        n->max_attacker = n->unacked[peer];
}

static void on_disconnect(struct fake *f, uint64_t peer, const char *reason)
{
    struct net *n = f->user;
    assert_true(peer < MAX_ID);
    snprintf(n->why[peer], sizeof n->why[peer], "%s", reason);
    n->total -= n->unacked[peer];   /* the socket and what it held are gone */
    n->unacked[peer] = 0;
}

/* A core whose driver is the scripted net above (f->user, freed by the
 * caller). */
static struct fake *net_new(uint32_t max_id)
{
    struct fake *f = fake_new(max_id);
    struct net *n = calloc(1, sizeof *n);
    assert_non_null(n);
    f->user = n;
    f->on_send = on_send;
    f->on_disconnect = on_disconnect;
    return f;
}

/* The honest peer reads everything: acknowledge until nothing is left. */
static void drain_honest(struct fake *f, uint64_t now)
{
    struct net *n = f->user;
    while (n->unacked[HONEST] > 0) {
        size_t k = n->unacked[HONEST];
        n->unacked[HONEST] = 0;
        n->total -= k;
        p2p_on_sent(f->p, HONEST, k, now);
    }
}

static void getdata(struct fake *f, uint64_t peer, uint32_t type, const uint8_t hash[32],
                    size_t times, uint64_t now)
{
    uint8_t (*hs)[32] = calloc(times, 32);
    assert_non_null(hs);
    for (size_t i = 0; i < times; i++)
        memcpy(hs[i], hash, 32);
    struct wr w;
    wr_init(&w, P2P_MAX_INV_BYTES);
    p2p_put_inv(&w, type, (const uint8_t (*)[32])hs, times);
    frame(f, peer, P2P_CMD_GETDATA, w.buf, w.len, now);
    wr_free(&w);
    free(hs);
}

/* A valid block on parent of nearly max_block_size: dev-key txs with full
 * memos. */
static void big_block(struct chain *c, const uint8_t parent[32], struct chain_block *b)
{
    const struct chain_params *cp = chain_params(c);
    struct tkey dev;
    tdev(&dev);
    uint8_t to[32];
    memset(to, 0x22, 32);
    size_t n = (cp->max_block_size - 4096) / (TX_FIXED_SIZE + 3 + TX_MEMO_MAX);
    struct chain_tx *txs = calloc(n, sizeof *txs);
    assert_non_null(txs);
    for (size_t i = 0; i < n; i++) {
        memset(&txs[i], 0, sizeof txs[i]);
        txs[i].version = TX_VERSION;
        memcpy(txs[i].to, to, 32);
        txs[i].amount = 1000;
        txs[i].fee = cp->min_fee;
        txs[i].nonce = i;
        txs[i].memo_len = TX_MEMO_MAX;
        memset(txs[i].memo, (int)(i & 0xff), TX_MEMO_MAX);
        chain_tx_sign(&txs[i], dev.sk);
    }
    tmk_block(c, parent, txs, n, 1, b);
    free(txs);
    assert_true(chain_block_size(b) <= cp->max_block_size);
    assert_true(chain_block_size(b) > cp->max_block_size - 8192);
}

/* The honest peer and attackers 1..n_att, handshaken. */
static void connect_all(struct fake *f, uint64_t n_att, uint64_t now)
{
    handshake_in(f, HONEST, "192.168.7.1", now);
    drain_honest(f, now);
    for (uint64_t a = 1; a <= n_att; a++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.%u.%u.1", (unsigned)(a / 200), (unsigned)(a % 200));
        handshake_in(f, a, ip, now);
    }
}

/* Attackers 1..n_att never read: dropped once the stall timeout after
 * since_ms passes, not scored; the honest peer stays, nothing is left unsent. */
static void expect_stalled_out(struct fake *f, uint64_t n_att, uint64_t since_ms, uint64_t now)
{
    struct net *n = f->user;
    uint64_t end = since_ms + P2P_SEND_STALL_MS + 1000;
    while (now < end) {
        now += 500;
        p2p_on_tick(f->p, now);
        drain_honest(f, now);
    }
    for (uint64_t a = 1; a <= n_att; a++)
        assert_string_equal(n->why[a], "send-stalled");
    assert_string_equal(n->why[HONEST], "");
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.send_stalls, n_att);
    assert_int_equal(st.misbehaviours, 0);
    assert_int_equal(st.peers, 1);
    assert_int_equal(st.send_queue_bytes, 0);
    assert_int_equal(n->total, 0);
}

/* The share the limits give each peer (p2p/limits.h), for n established. */
static size_t share_of(const struct chain *c, size_t n)
{
    size_t share = P2P_SEND_NODE_BUDGET_BYTES / n;
    size_t one = P2P_SEND_SERVE_BELOW_BYTES + P2P_HEADER_BYTES + P2P_V2_OVERHEAD_BYTES
                 + P2P_COMMAND_BYTES + chain_params(c)->max_block_size;
    return share > one ? share : one;
}

/* n_att attackers each ask for the big block REQS_PER_GETDATA times in one
 * getdata and never read; then the honest peer is given a new block and a
 * tx; then the clock runs past the stall timeout. */
static void attack(size_t n_att, bool expect_ceiling)
{
    struct fake *f = net_new(MAX_ID);
    struct net *n = f->user;
    uint64_t now = T0;

    uint8_t g[32], h1[32], h2[32];
    struct chain_block b1, b2;
    chain_genesis_hash(chain_params(f->chain), g);
    big_block(f->chain, g, &b1);
    tblock_hash(&b1, h1);
    assert_int_equal(p2p_submit_block(f->p, &b1, now), CHAIN_ST_NEW_TIP);
    size_t body = chain_block_size(&b1);

    connect_all(f, n_att, now);
    now += 1000;
    for (uint64_t a = 1; a <= n_att; a++) {
        getdata(f, a, P2P_INV_BLOCK, h1, REQS_PER_GETDATA, now);
        drain_honest(f, now);
    }
    for (int i = 0; i < 10; i++) {      /* ticks and the honest peer's acks: no more */
        now += 100;
        p2p_on_tick(f->p, now);
        drain_honest(f, now);
    }
    size_t served = 0, held_back = 0;
    for (uint64_t a = 1; a <= n_att; a++) {
        served += (size_t)n->blocks_to[a];
        held_back += n->blocks_to[a] == 0;
    }
    size_t share = share_of(f->chain, n_att + 1);
    print_message("%zu attackers x %u requests of a %zu-byte block: %zu blocks handed to the "
                  "driver (%zu asked), max unsent %zu bytes (all peers), %zu (one attacker); "
                  "budget %u, ceiling %u, share %zu; %zu attackers waiting\n",
                  n_att, REQS_PER_GETDATA, body, served, n_att * REQS_PER_GETDATA,
                  n->max_total, n->max_attacker, P2P_SEND_NODE_BUDGET_BYTES,
                  P2P_SEND_NODE_MAX_BYTES, share, held_back);
    /* Each attacker holds at most its share; all together under the
     * ceiling (far under the ~20 MiB each that answering at once queued). */
    assert_true(n->max_attacker <= share);
    assert_true(n->max_total <= P2P_SEND_NODE_MAX_BYTES);
    assert_true(n->max_total <= 64u * 1024 * 1024);
    if (expect_ceiling) {
        assert_true(n->max_total > P2P_SEND_NODE_BUDGET_BYTES);
        assert_true(held_back > 0);
    } else {
        assert_true(n->max_total <= P2P_SEND_NODE_BUDGET_BYTES);
    }

    /* The honest peer: a new block, asked for at once, comes at once. */
    tmk_block(f->chain, h1, NULL, 0, 2, &b2);
    tblock_hash(&b2, h2);
    assert_int_equal(p2p_submit_block(f->p, &b2, now), CHAIN_ST_NEW_TIP);
    drain_honest(f, now);
    getdata(f, HONEST, P2P_INV_BLOCK, h2, 1, now);
    assert_int_equal(n->blocks_to[HONEST], 1);
    assert_int_equal(n->last_block_len[HONEST], chain_block_size(&b2));
    drain_honest(f, now);
    /* ... and a tx: announced after its batch period, served when asked. */
    struct tkey dev;
    tdev(&dev);
    uint8_t to[32], txid[32];
    memset(to, 0x33, 32);
    struct chain_tx tx = tmk_tx(&dev, to, 5000, chain_params(f->chain)->min_fee,
                                chain_account_next_nonce(f->chain, dev.pk));
    chain_tx_txid(&tx, txid);
    assert_true(p2p_submit_tx(f->p, &tx, now) >= 0);
    now += P2P_TX_BATCH_MS_DEFAULT;
    p2p_on_tick(f->p, now);
    drain_honest(f, now);
    getdata(f, HONEST, P2P_INV_TX, txid, 1, now);
    assert_int_equal(n->txs_to[HONEST], 1);
    drain_honest(f, now);

    expect_stalled_out(f, n_att, T0, now);

    chain_block_free(&b1);
    chain_block_free(&b2);
    free(n);
    fake_free(f);
}

/* The attack of issue 15 as filed: 24 connections. */
static void test_never_readers_bounded(void **state)
{
    (void)state;
    attack(24, false);
}

/* More attackers than the budget holds blocks for: the share and the
 * ceiling hold, and the honest peer is served at once all the same. */
static void test_budget_ceiling(void **state)
{
    (void)state;
    attack(60, true);
}

static void expect_log(const struct net *n, size_t at, enum p2p_cmd cmd, size_t entries)
{
    assert_true(at < n->n_log);
    assert_int_equal(n->log[at].cmd, cmd);
    assert_int_equal(n->log[at].entries, entries);
}

/* One getdata of txs, blocks and items we lack, from a peer that reads
 * slowly: answered in the items' order, each run of missing items as one
 * notfound before the next body, the next body only once the peer's
 * unsent bytes drain; items beyond the queue are answered notfound at
 * once. */
static void test_answers_in_order(void **state)
{
    (void)state;
    struct fake *f = net_new(8);
    struct net *n = f->user;
    uint64_t now = T0;
    uint8_t g[32], h1[32], h2[32], txa[32], txc[32], missing[32];
    struct chain_block b1, b2;
    chain_genesis_hash(chain_params(f->chain), g);
    big_block(f->chain, g, &b1);
    tblock_hash(&b1, h1);
    assert_int_equal(p2p_submit_block(f->p, &b1, now), CHAIN_ST_NEW_TIP);
    tmk_block(f->chain, h1, NULL, 0, 2, &b2);
    tblock_hash(&b2, h2);
    assert_int_equal(p2p_submit_block(f->p, &b2, now), CHAIN_ST_NEW_TIP);
    struct tkey dev;
    tdev(&dev);
    uint8_t to[32];
    memset(to, 0x44, 32);
    memset(missing, 0xee, 32);
    uint64_t nonce = chain_account_next_nonce(f->chain, dev.pk);
    struct chain_tx ta = tmk_tx(&dev, to, 5000, chain_params(f->chain)->min_fee, nonce);
    struct chain_tx tc = tmk_tx(&dev, to, 5000, chain_params(f->chain)->min_fee, nonce + 1);
    chain_tx_txid(&ta, txa);
    chain_tx_txid(&tc, txc);
    assert_true(p2p_submit_tx(f->p, &ta, now) >= 0);
    assert_true(p2p_submit_tx(f->p, &tc, now) >= 0);

    const uint64_t peer = 1;
    handshake_in(f, peer, "10.1.0.1", now);
    const uint32_t types[6] = { P2P_INV_TX, P2P_INV_TX, P2P_INV_BLOCK, P2P_INV_TX,
                                P2P_INV_BLOCK, P2P_INV_BLOCK };
    uint8_t hashes[6][32];
    memcpy(hashes[0], txa, 32);
    memcpy(hashes[1], missing, 32);
    memcpy(hashes[2], h1, 32);
    memcpy(hashes[3], txc, 32);
    memcpy(hashes[4], missing, 32);
    memcpy(hashes[5], h2, 32);
    struct wr w;
    wr_init(&w, P2P_MAX_INV_BYTES);
    p2p_put_inv_mixed(&w, types, (const uint8_t (*)[32])hashes, 6);
    frame(f, peer, P2P_CMD_GETDATA, w.buf, w.len, now);
    wr_free(&w);
    /* tx a, notfound [x], block 1; then its ~1 MiB must drain first. */
    assert_int_equal(n->n_log, 3);
    expect_log(n, 0, P2P_CMD_TX, 0);
    expect_log(n, 1, P2P_CMD_NOTFOUND, 1);
    expect_log(n, 2, P2P_CMD_BLOCK, 0);
    /* A getdata beyond the queue: the excess is answered at once. */
    size_t many = P2P_GETDATA_QUEUE_MAX_ENTRIES + 10;
    getdata(f, peer, P2P_INV_TX, missing, many, now);
    assert_int_equal(n->n_log, 4);
    expect_log(n, 3, P2P_CMD_NOTFOUND, many - (P2P_GETDATA_QUEUE_MAX_ENTRIES - 3));
    /* The peer reads: the rest, in order. */
    size_t k = n->unacked[peer];
    n->unacked[peer] = 0;
    n->total -= k;
    p2p_on_sent(f->p, peer, k, now + 10);
    assert_int_equal(n->n_log, 8);
    expect_log(n, 4, P2P_CMD_TX, 0);
    expect_log(n, 5, P2P_CMD_NOTFOUND, 1);
    expect_log(n, 6, P2P_CMD_BLOCK, 0);
    expect_log(n, 7, P2P_CMD_NOTFOUND, P2P_GETDATA_QUEUE_MAX_ENTRIES - 3);
    assert_int_equal(n->last_block_len[peer], chain_block_size(&b2));
    assert_string_equal(n->why[peer], "");
    chain_block_free(&b1);
    chain_block_free(&b2);
    free(n);
    fake_free(f);
}

static void getheaders(struct fake *f, uint64_t peer, const uint8_t from[32], uint64_t now)
{
    static const uint8_t zero[32];
    uint8_t loc[1][32];
    memcpy(loc[0], from, 32);
    struct wr w;
    wr_init(&w, P2P_MAX_GETHEADERS_BYTES);
    p2p_put_getheaders(&w, (const uint8_t (*)[32])loc, 1, zero);
    frame(f, peer, P2P_CMD_GETHEADERS, w.buf, w.len, now);
    wr_free(&w);
}

#define GH_ATTACKERS 100u
#define GH_REQS 40u     /* per attacker: 40 x 178 KB = 7 MB, under the read pause */

/* Attackers ask for 2,000 headers (~178 KB) again and again and never
 * read: answered as bodies are (one past P2P_SEND_SERVE_BELOW_BYTES per
 * peer, inside the node's budget), not at once; the honest peer's answer
 * comes at once; the attackers are dropped send-stalled. Before, every
 * answer was handed to the driver at once: 100 x 40 x 178 KB = 712 MB. */
static void test_getheaders_never_readers_bounded(void **state)
{
    (void)state;
    struct fake *f = net_new(MAX_ID);
    struct net *n = f->user;
    uint64_t now = T0;
    uint8_t g[32], tip[32];
    chain_genesis_hash(chain_params(f->chain), g);
    textend(f->chain, g, P2P_MAX_HEADERS_ENTRIES + 10, 1, tip);

    connect_all(f, GH_ATTACKERS, now);
    now += 1000;
    for (unsigned r = 0; r < GH_REQS; r++)
        for (uint64_t a = 1; a <= GH_ATTACKERS; a++) {
            getheaders(f, a, g, now);
            drain_honest(f, now);
        }
    for (int i = 0; i < 10; i++) {
        now += 100;
        p2p_on_tick(f->p, now);
        drain_honest(f, now);
    }
    size_t answers = 0;
    for (uint64_t a = 1; a <= GH_ATTACKERS; a++)
        answers += (size_t)n->headers_to[a];
    size_t one = P2P_HEADER_BYTES + P2P_MAX_HEADERS_BYTES + P2P_V2_OVERHEAD_BYTES
                 + P2P_COMMAND_BYTES;
    print_message("%u attackers x %u getheaders of %u headers: %zu answers handed to the "
                  "driver, max unsent %zu bytes (all peers), %zu (one attacker); budget %u, "
                  "ceiling %u\n", GH_ATTACKERS, GH_REQS, P2P_MAX_HEADERS_ENTRIES, answers,
                  n->max_total, n->max_attacker, P2P_SEND_NODE_BUDGET_BYTES,
                  P2P_SEND_NODE_MAX_BYTES);
    assert_true(n->max_attacker <= P2P_SEND_SERVE_BELOW_BYTES + one);
    assert_true(n->max_total <= P2P_SEND_NODE_MAX_BYTES);
    assert_true(answers >= GH_ATTACKERS);     /* each was answered, at least once */
    assert_true(answers < GH_ATTACKERS * GH_REQS / 4);

    /* The honest peer asks and reads: answered at once. */
    getheaders(f, HONEST, g, now);
    assert_int_equal(n->headers_to[HONEST], 1);
    drain_honest(f, now);

    expect_stalled_out(f, GH_ATTACKERS, now, now);
    free(n);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_in_order),
        cmocka_unit_test(test_never_readers_bounded),
        cmocka_unit_test(test_budget_ceiling),
        cmocka_unit_test(test_getheaders_never_readers_bounded),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
