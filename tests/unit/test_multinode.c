/* Several p2p cores in one process over the in-memory network (p2p/simnet)
 * on a virtual clock. Every frame the network carries is checked:
 *  - no node sends an inv, tx or block for X to the peer X came from;
 *  - each tx/block body crosses to each node at most once.
 * and the tests check that txs and blocks reach every node, a late joiner
 * catches up, and a healed partition converges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/params.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sig.h"
#include "p2p/msg.h"
#include "p2p/simnet.h"
#include "p2p/util.h"
#include "p2p/wire.h"


/* Per (node, hash): where the body first came from, and how many times a
 * body arrived. */
struct item {
    size_t node;
    uint8_t hash[32];
    size_t origin;        /* SIZE_MAX: none */
    unsigned bodies;
};

struct watch {
    struct item *items;
    size_t n, cap;
    struct p2p_hmap index;      /* (node, hash) -> items index */
    unsigned violations;
    unsigned dup_bodies;
    unsigned max_dup_bodies;    /* allowed (push mode's pruning); 0: none */
    uint32_t magic;
};

static struct item *item_get(struct watch *w, size_t node, const uint8_t hash[32])
{
    /* Key: the hash with the node index folded into its last bytes. */
    uint8_t key[32];
    uint32_t at;
    memcpy(key, hash, 32);
    key[31] ^= (uint8_t)node;
    key[30] ^= (uint8_t)(node >> 8);
    if (p2p_hmap_get(&w->index, key, &at))
        return &w->items[at];
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 1024;
        w->items = realloc(w->items, w->cap * sizeof(*w->items));
        assert_non_null(w->items);
    }
    assert_int_equal(p2p_hmap_put(&w->index, key, (uint32_t)w->n), 0);
    struct item *it = &w->items[w->n++];
    it->node = node;
    memcpy(it->hash, hash, 32);
    it->origin = SIZE_MAX;
    it->bodies = 0;
    return it;
}

/* Hashes a frame is about: inv entries, or the body's own hash. Returns
 * the count (at most max) and whether it is a body. */
static size_t frame_items(const struct watch *w, const uint8_t *f, size_t len,
                          uint8_t (*out)[32], size_t max, bool *body)
{
    struct p2p_frame_hdr h;
    *body = false;
    if (len < P2P_HEADER_BYTES || p2p_frame_parse(f, w->magic, &h) != 0)
        return 0;
    const uint8_t *pl = f + P2P_HEADER_BYTES;
    size_t n = 0;
    if (h.cmd == P2P_CMD_INV) {
        struct p2p_list l;
        if (p2p_dec_inv(pl, h.len, &l) != 0)
            return 0;
        for (size_t i = 0; i < l.n && n < max; i++) {
            uint32_t type;
            const uint8_t *hash;
            p2p_inv_at(&l, i, &type, &hash);
            memcpy(out[n++], hash, 32);
        }
    } else if (h.cmd == P2P_CMD_TX) {
        struct chain_tx tx;
        if (p2p_dec_tx(pl, h.len, &tx) != 0)
            return 0;
        chain_tx_txid(&tx, out[n++]);
        *body = true;
    } else if (h.cmd == P2P_CMD_BLOCK) {
        if (h.len < HEADER_SIZE)
            return 0;
        hash_sha256d(out[n++], pl, HEADER_SIZE);
        *body = true;
    }
    return n;
}

static void on_send(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct watch *w = ctx;
    static uint8_t hashes[P2P_MAX_INV_ENTRIES][32];
    bool body;
    size_t n = frame_items(w, f, len, hashes, P2P_MAX_INV_ENTRIES, &body);
    for (size_t i = 0; i < n; i++) {
        struct item *it = item_get(w, from, hashes[i]);
        if (it->origin == to) {
            char hex[65];
            hex_encode_hash(hex, hashes[i]);
            fprintf(stderr, "VIOLATION: node %zu sent %s for %s back to its origin %zu\n",
                    from, body ? "body" : "inv", hex, to);
            w->violations++;
        }
    }
}

static void on_deliver(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct watch *w = ctx;
    uint8_t hashes[1][32];
    bool body;
    size_t n = frame_items(w, f, len, hashes, 1, &body);
    if (n == 1 && body) {
        struct item *it = item_get(w, to, hashes[0]);
        if (it->origin == SIZE_MAX)
            it->origin = from;
        if (++it->bodies > 1) {
            char hex[65];
            hex_encode_hash(hex, hashes[0]);
            fprintf(stderr, "DUPLICATE BODY: %s to node %zu (from %zu)\n", hex, to, from);
            w->dup_bodies++;
        }
    }
}

static unsigned bodies_at(struct watch *w, size_t node, const uint8_t hash[32])
{
    return item_get(w, node, hash)->bodies;
}

struct fixture {
    struct simnet *sn;
    struct watch *w;
    uint8_t dev_pk[32], dev_sk[64];
};

static struct fixture *fx_new(uint64_t seed, size_t n, const struct p2p_config *tmpl)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->w = calloc(1, sizeof(*fx->w));
    assert_non_null(fx->w);
    fx->w->magic = chain_params_regtest.magic;
    p2p_hmap_init(&fx->w->index, 1);
    struct simnet_config sc = { .seed = seed, .latency_ms = 10, .jitter_ms = 5 };
    assert_int_equal(simnet_create(&fx->sn, &sc), 0);
    struct simnet_observer obs = { .ctx = fx->w, .on_send = on_send, .on_deliver = on_deliver };
    simnet_set_observer(fx->sn, &obs);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%zu", i);
        assert_int_equal(simnet_add_node(fx->sn, name, tmpl), (int)i);
    }
    chain_dev_key(fx->dev_pk, fx->dev_sk);
    return fx;
}

static void fx_free(struct fixture *fx)
{
    assert_int_equal(fx->w->violations, 0);
    assert_true(fx->w->dup_bodies <= fx->w->max_dup_bodies);
    for (size_t i = 0; i < simnet_node_count(fx->sn); i++)
        p2p_check(simnet_p2p(fx->sn, i));
    simnet_destroy(fx->sn);
    p2p_hmap_free(&fx->w->index);
    free(fx->w->items);
    free(fx->w);
    free(fx);
}

/* A ring plus chords: every node has 2-4 neighbours. */
static void wire_ring(struct fixture *fx, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(simnet_connect(fx->sn, first + i, first + (i + 1) % n), 0);
        if (n > 4 && i % 2 == 0)
            assert_int_equal(simnet_connect(fx->sn, first + i, first + (i + n / 2) % n), 0);
    }
}

static void make_tx(struct fixture *fx, size_t node, const uint8_t sk[64], const uint8_t from[32],
                    const uint8_t to[32], uint64_t amount, struct chain_tx *tx, uint8_t txid[32])
{
    memset(tx, 0, sizeof(*tx));
    tx->version = TX_VERSION;
    memcpy(tx->from, from, 32);
    memcpy(tx->to, to, 32);
    tx->amount = amount;
    tx->fee = chain_params_regtest.min_fee;
    tx->nonce = chain_account_next_nonce(simnet_chain(fx->sn, node), from);
    chain_tx_sign(tx, sk);
    chain_tx_txid(tx, txid);
}

static void submit_tx(struct fixture *fx, size_t node, const uint8_t sk[64],
                      const uint8_t from[32], const uint8_t to[32], uint64_t amount,
                      uint8_t txid[32])
{
    struct chain_tx tx;
    make_tx(fx, node, sk, from, to, amount, &tx, txid);
    int r = p2p_submit_tx(simnet_p2p(fx->sn, node), &tx, simnet_now(fx->sn));
    assert_int_equal(r, CHAIN_TX_ACCEPTED);
}

static void mine(struct fixture *fx, size_t node, uint8_t hash[32])
{
    struct chain_block b;
    uint8_t pk[32] = { 0x42, (uint8_t)node };
    struct chain *c = simnet_chain(fx->sn, node);
    assert_int_equal(chain_block_template(c, pk, simnet_now(fx->sn), &b), 0);
    uint64_t start = 0;
    while (!chain_mine(&b.hdr, start, 1000))
        start += 1000;
    chain_header_hash(&b.hdr, hash);
    int r = p2p_submit_block(simnet_p2p(fx->sn, node), &b, simnet_now(fx->sn));
    assert_int_equal(r, CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
}

static void assert_same_tip(struct fixture *fx, size_t first, size_t n)
{
    uint8_t tip0[32], tip[32];
    chain_tip(simnet_chain(fx->sn, first), tip0);
    for (size_t i = first; i < first + n; i++) {
        chain_tip(simnet_chain(fx->sn, i), tip);
        if (memcmp(tip, tip0, 32) != 0)
            fprintf(stderr, "node %zu height %u differs from node %zu height %u\n", i,
                    chain_height(simnet_chain(fx->sn, i)), first,
                    chain_height(simnet_chain(fx->sn, first)));
        assert_memory_equal(tip, tip0, 32);
    }
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void assert_same_mempool(struct fixture *fx, size_t first, size_t n)
{
    static uint8_t a[1024][32], b[1024][32];
    size_t na = chain_mempool_txids(simnet_chain(fx->sn, first), a, 1024);
    qsort(a, na, 32, cmp_hash);
    for (size_t i = first + 1; i < first + n; i++) {
        size_t nb = chain_mempool_txids(simnet_chain(fx->sn, i), b, 1024);
        qsort(b, nb, 32, cmp_hash);
        if (na != nb)
            fprintf(stderr, "mempool of node %zu: %zu txs, node %zu: %zu\n", first, na, i, nb);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * 32);
    }
}

static void assert_established(struct fixture *fx, size_t node, size_t min_peers)
{
    struct p2p_peer_info info[32];
    size_t n = p2p_get_peers(simnet_p2p(fx->sn, node), info, 32);
    size_t est = 0;
    for (size_t i = 0; i < n; i++)
        est += info[i].established;
    assert_true(est >= min_peers);
}

/* ---- tests ---- */

static void test_handshake_and_names(void **state)
{
    (void)state;
    struct fixture *fx = fx_new(1, 2, NULL);
    assert_int_equal(simnet_connect(fx->sn, 0, 1), 0);
    simnet_run_for(fx->sn, 1000);
    struct p2p_peer_info info[4];
    assert_int_equal(p2p_get_peers(simnet_p2p(fx->sn, 0), info, 4), 1);
    assert_true(info[0].established);
    assert_false(info[0].inbound);
    assert_string_equal(info[0].user_agent, "/gossipd:0.1.0(n1)/");
    assert_string_equal(info[0].name, "n1");
    assert_int_equal(p2p_get_peers(simnet_p2p(fx->sn, 1), info, 4), 1);
    assert_true(info[0].inbound);
    assert_string_equal(info[0].name, "n0");
    assert_string_equal(p2p_user_agent(simnet_p2p(fx->sn, 1)), "/gossipd:0.1.0(n1)/");
    /* Pings flow and keep the link up for a long idle period. */
    simnet_run_for(fx->sn, 120000);
    assert_int_equal(p2p_get_peers(simnet_p2p(fx->sn, 0), info, 4), 1);
    assert_true(info[0].ping_ms >= 0);
    assert_true(info[0].msgs_sent_per_cmd[P2P_CMD_PING] > 0);
    fx_free(fx);
}

static void test_self_connection(void **state)
{
    (void)state;
    struct fixture *fx = fx_new(2, 1, NULL);
    assert_int_equal(simnet_connect(fx->sn, 0, 0), 0);
    simnet_run_for(fx->sn, 500);
    /* Both ends of the loop are gone: the nonce gave it away. */
    assert_int_equal(p2p_peer_count(simnet_p2p(fx->sn, 0)), 0);
    fx_free(fx);
}

static void test_tx_reaches_every_node(void **state)
{
    (void)state;
    const size_t n = 8;
    struct fixture *fx = fx_new(3, n, NULL);
    wire_ring(fx, 0, n);
    simnet_run_for(fx->sn, 2000);
    for (size_t i = 0; i < n; i++)
        assert_established(fx, i, 2);
    uint8_t to[32] = { 7 }, txid[32];
    submit_tx(fx, 0, fx->dev_sk, fx->dev_pk, to, 5 * COIN, txid);
    simnet_run_for(fx->sn, 3000);
    for (size_t i = 0; i < n; i++) {
        assert_true(chain_mempool_has(simnet_chain(fx->sn, i), txid));
        /* Each node but the origin downloaded the body exactly once. */
        assert_int_equal(bodies_at(fx->w, i, txid), i == 0 ? 0 : 1);
    }
    struct p2p_stats st;
    p2p_get_stats(simnet_p2p(fx->sn, 0), &st);
    assert_int_equal(st.txs_accepted, 1);
    fx_free(fx);
}

static void test_block_reaches_every_node(void **state)
{
    (void)state;
    const size_t n = 8;
    struct fixture *fx = fx_new(4, n, NULL);
    wire_ring(fx, 0, n);
    simnet_run_for(fx->sn, 2000);
    uint8_t to[32] = { 9 }, txid[32], hash[32];
    submit_tx(fx, 2, fx->dev_sk, fx->dev_pk, to, 3 * COIN, txid);
    simnet_run_for(fx->sn, 2000);
    mine(fx, 3, hash);
    simnet_run_for(fx->sn, 3000);
    assert_same_tip(fx, 0, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(chain_height(simnet_chain(fx->sn, i)), 1);
        /* The mined tx left every mempool. */
        assert_false(chain_mempool_has(simnet_chain(fx->sn, i), txid));
        assert_int_equal(bodies_at(fx->w, i, hash), i == 3 ? 0 : 1);
    }
    /* A few more blocks from different miners. */
    for (size_t k = 0; k < 4; k++) {
        mine(fx, (k * 3) % n, hash);
        simnet_run_for(fx->sn, 2000);
    }
    assert_same_tip(fx, 0, n);
    assert_int_equal(chain_height(simnet_chain(fx->sn, 5)), 5);
    fx_free(fx);
}

static void test_late_joiner_catches_up(void **state)
{
    (void)state;
    struct fixture *fx = fx_new(5, 5, NULL);
    wire_ring(fx, 0, 5);
    simnet_run_for(fx->sn, 2000);
    uint8_t to[32] = { 1 }, txid[32], hash[32];
    for (int k = 0; k < 3; k++) {
        submit_tx(fx, (size_t)k, fx->dev_sk, fx->dev_pk, to, COIN, txid);
        simnet_run_for(fx->sn, 1000);
        mine(fx, (size_t)k + 1, hash);
        simnet_run_for(fx->sn, 1000);
    }
    /* Txs left pending in the mempool. */
    uint8_t pending[4][32];
    for (int k = 0; k < 4; k++) {
        to[1] = (uint8_t)k;
        submit_tx(fx, 4, fx->dev_sk, fx->dev_pk, to, COIN, pending[k]);
        simnet_run_for(fx->sn, 500);
    }
    simnet_run_for(fx->sn, 2000);
    assert_same_mempool(fx, 0, 5);
    /* Node 5 joins late, connected to one node. */
    assert_int_equal(simnet_add_node(fx->sn, "late", NULL), 5);
    assert_int_equal(simnet_connect(fx->sn, 5, 2), 0);
    simnet_run_for(fx->sn, 15000);
    assert_same_tip(fx, 0, 6);
    assert_int_equal(chain_height(simnet_chain(fx->sn, 5)), 3);
    assert_same_mempool(fx, 0, 6);
    for (int k = 0; k < 4; k++)
        assert_true(chain_mempool_has(simnet_chain(fx->sn, 5), pending[k]));
    fx_free(fx);
}

/* tmpl NULL: defaults (pull); max_dup: duplicate bodies allowed. */
static void partition_heals(const struct p2p_config *tmpl, unsigned max_dup)
{
    const size_t n = 6;
    struct fixture *fx = fx_new(6, n, tmpl);
    fx->w->max_dup_bodies = max_dup;
    /* Two triangles joined by two links. */
    simnet_connect(fx->sn, 0, 1);
    simnet_connect(fx->sn, 1, 2);
    simnet_connect(fx->sn, 2, 0);
    simnet_connect(fx->sn, 3, 4);
    simnet_connect(fx->sn, 4, 5);
    simnet_connect(fx->sn, 5, 3);
    simnet_connect(fx->sn, 0, 3);
    simnet_connect(fx->sn, 5, 2);
    simnet_run_for(fx->sn, 2000);
    /* Fund two accounts, one per side, and confirm. */
    uint8_t pk[2][32], sk[2][64], seed[32] = { 0 }, txid[32], hash[32];
    for (int k = 0; k < 2; k++) {
        seed[0] = (uint8_t)(k + 1);
        sig_keypair_from_seed(pk[k], sk[k], seed);
        submit_tx(fx, 0, fx->dev_sk, fx->dev_pk, pk[k], 100 * COIN, txid);
        simnet_run_for(fx->sn, 500);
    }
    mine(fx, 1, hash);
    simnet_run_for(fx->sn, 2000);
    assert_same_tip(fx, 0, n);
    /* Partition: {0,1,2} | {3,4,5}. Each side makes txs and mines. */
    for (size_t i = 3; i < n; i++)
        simnet_set_group(fx->sn, i, 1);
    uint8_t a_tx[32], b_tx[32], b_tx2[32], a_blk[32], b_blk[32];
    submit_tx(fx, 1, sk[0], pk[0], fx->dev_pk, COIN, a_tx);
    submit_tx(fx, 4, sk[1], pk[1], fx->dev_pk, COIN, b_tx);
    simnet_run_for(fx->sn, 1000);
    mine(fx, 2, a_blk);
    mine(fx, 4, b_blk);
    simnet_run_for(fx->sn, 1000);
    submit_tx(fx, 5, sk[1], pk[1], fx->dev_pk, 2 * COIN, b_tx2);
    simnet_run_for(fx->sn, 3000);
    assert_same_tip(fx, 0, 3);
    assert_same_tip(fx, 3, 3);
    assert_false(chain_mempool_has(simnet_chain(fx->sn, 0), b_tx2));
    /* Heal; side A gets ahead; everyone converges on its chain. */
    simnet_heal(fx->sn);
    simnet_run_for(fx->sn, 1000);
    mine(fx, 0, hash);
    simnet_run_for(fx->sn, 30000);
    assert_same_tip(fx, 0, n);
    assert_int_equal(chain_height(simnet_chain(fx->sn, 4)), 3);
    assert_true(chain_in_best(simnet_chain(fx->sn, 4), a_blk));
    assert_false(chain_in_best(simnet_chain(fx->sn, 4), b_blk));
    /* B's txs went back to B's mempools and spread to A: one mempool. */
    assert_same_mempool(fx, 0, n);
    assert_true(chain_mempool_has(simnet_chain(fx->sn, 0), b_tx));
    assert_true(chain_mempool_has(simnet_chain(fx->sn, 0), b_tx2));
    (void)b_tx;
    fx_free(fx);
}

static void test_partition_heals(void **state)
{
    (void)state;
    partition_heals(NULL, 0);
}

static void push_tmpl(struct p2p_config *tmpl)
{
    p2p_config_init(tmpl);
    tmpl->outbound_target = 0;
    tmpl->relay_mode = P2P_RELAY_PUSH;
}

/* Learned eager push: the same partition heals, with the few duplicate
 * bodies the pruning needs. */
static void test_partition_heals_push(void **state)
{
    (void)state;
    struct p2p_config tmpl;
    push_tmpl(&tmpl);
    partition_heals(&tmpl, 6);
}

/* Push mode on a ring with chords: every tx reaches every node, nothing
 * goes back to its origin (the watcher), bodies are pushed eagerly once
 * the links are learned, and duplicates stay few: at most one per node
 * and tx on average would be flood; learning and pruning cost far less. */
/* Half the nodes in pull mode (as a node without pushreq): txs reach
 * every node, nobody is scored (no body is pushed to a pull node), and
 * push nodes still push to each other. (10 nodes: wire_ring of 8 links
 * 0-4 and 2-6 twice, and an inv on the second link of a pair, crossing
 * an eager body on the first, looks like one back to the origin.) */
static void test_push_and_pull_nodes_interoperate(void **state)
{
    (void)state;
    const size_t n = 10;
    const unsigned txs = 8;
    struct p2p_config push, pull;
    push_tmpl(&push);
    pull = push;
    pull.relay_mode = P2P_RELAY_PULL;
    struct fixture *fx = fx_new(12, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%zu", i);
        assert_int_equal(simnet_add_node(fx->sn, name, i >= n / 2 ? &pull : &push), (int)i);
    }
    fx->w->max_dup_bodies = n * txs / 4;
    wire_ring(fx, 0, n);
    simnet_run_for(fx->sn, 2000);
    uint8_t to[32] = { 6 }, txid[8][32];
    for (unsigned k = 0; k < txs; k++) {
        submit_tx(fx, (k * 3) % n, fx->dev_sk, fx->dev_pk, to, COIN, txid[k]);
        simnet_run_for(fx->sn, 2000);
    }
    uint64_t pushed = 0;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < txs; k++)
            assert_true(chain_mempool_has(simnet_chain(fx->sn, i), txid[k]));
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(fx->sn, i), &st);
        assert_int_equal(st.misbehaviours, 0);
        if (i >= n / 2)
            assert_int_equal(st.tx_pushed, 0);
        pushed += st.tx_pushed;
    }
    assert_true(pushed > 0);
    fx_free(fx);
}

static void test_push_txs_reach_every_node(void **state)
{
    (void)state;
    const size_t n = 10;
    const unsigned txs = 12;
    struct p2p_config tmpl;
    push_tmpl(&tmpl);
    struct fixture *fx = fx_new(11, n, &tmpl);
    fx->w->max_dup_bodies = n * txs / 4;
    wire_ring(fx, 0, n);
    simnet_run_for(fx->sn, 2000);
    uint8_t to[32] = { 5 }, txid[12][32];
    for (unsigned k = 0; k < txs; k++) {
        submit_tx(fx, (k * 7) % n, fx->dev_sk, fx->dev_pk, to, COIN, txid[k]);
        simnet_run_for(fx->sn, 2000);
    }
    uint64_t pushed = 0, grafts = 0;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < txs; k++)
            assert_true(chain_mempool_has(simnet_chain(fx->sn, i), txid[k]));
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(fx->sn, i), &st);
        pushed += st.tx_pushed;
        grafts += st.push_grafts;
        assert_int_equal(st.misbehaviours, 0);
    }
    print_message("push: %llu bodies pushed, %llu grafts, %u duplicate bodies, %zu nodes x %u txs\n",
                  (unsigned long long)pushed, (unsigned long long)grafts, fx->w->dup_bodies, n, txs);
    /* One sender, one bucket: after the first tx most bodies are pushed. */
    assert_true(pushed >= (n - 1) * (txs - 1) / 2);
    assert_true(grafts >= n - 1);
    fx_free(fx);
}

static void test_fanout_with_loss_converges(void **state)
{
    (void)state;
    const size_t n = 10;
    struct p2p_config tmpl;
    p2p_config_init(&tmpl);
    tmpl.outbound_target = 0;
    tmpl.fanout = 1;
    tmpl.recon_interval_ms = 2000;
    struct fixture *fx = fx_new(7, n, &tmpl);
    wire_ring(fx, 0, n);
    simnet_run_for(fx->sn, 2000);
    simnet_set_loss(fx->sn, 20000);   /* 2% of frames */
    uint8_t to[32] = { 3 }, txids[6][32];
    for (int k = 0; k < 6; k++) {
        to[1] = (uint8_t)k;
        /* One sender, so from one node: nonces must not collide. */
        submit_tx(fx, 0, fx->dev_sk, fx->dev_pk, to, COIN, txids[k]);
        simnet_run_for(fx->sn, 300);
    }
    simnet_run_for(fx->sn, 10000);
    simnet_set_loss(fx->sn, 0);
    simnet_run_for(fx->sn, 20000);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 6; k++)
            assert_true(chain_mempool_has(simnet_chain(fx->sn, i), txids[k]));
    struct p2p_stats st;
    uint64_t rounds = 0;
    for (size_t i = 0; i < n; i++) {
        p2p_get_stats(simnet_p2p(fx->sn, i), &st);
        rounds += st.recon_rounds;
    }
    assert_true(rounds > 0);
    fx_free(fx);
}

static void test_discovery_fills_outbound(void **state)
{
    (void)state;
    struct p2p_config tmpl;
    p2p_config_init(&tmpl);
    tmpl.outbound_target = 3;
    struct fixture *fx = fx_new(8, 6, &tmpl);
    /* Everyone knows only node 0; addr gossip does the rest. */
    for (size_t i = 1; i < 6; i++)
        simnet_connect(fx->sn, i, 0);
    simnet_run_for(fx->sn, 30000);
    for (size_t i = 1; i < 6; i++) {
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(fx->sn, i), &st);
        assert_true(st.outbound >= 2);
    }
    /* A node joining later, through node 0 only: node 0 gossips its
     * address on, so others learn it without asking. */
    struct p2p_config quiet;
    p2p_config_init(&quiet);
    quiet.outbound_target = 0;
    assert_int_equal(simnet_add_node(fx->sn, "late", &quiet), 6);
    simnet_connect(fx->sn, 6, 0);
    simnet_run_for(fx->sn, 2000);
    struct p2p_addr late, book[64];
    simnet_node_addr(fx->sn, 6, &late);
    size_t know = 0;
    for (size_t i = 1; i < 6; i++) {
        size_t n = p2p_addrbook_get(simnet_p2p(fx->sn, i), book, 64);
        for (size_t k = 0; k < n; k++)
            know += p2p_addr_equal(&book[k], &late);
    }
    assert_true(know >= 1);
    fx_free(fx);
}

/* Twenty nodes, txs and blocks interleaved, jittery links: everything
 * converges and the invariants hold on every frame. */
static void test_twenty_nodes_busy(void **state)
{
    (void)state;
    const size_t n = 20;
    struct fixture *fx = fx_new(9, n, NULL);
    wire_ring(fx, 0, n);
    for (size_t i = 0; i < n; i += 3)
        simnet_connect(fx->sn, i, (i * 7 + 5) % n);
    simnet_set_latency(fx->sn, 20, 30);
    simnet_run_for(fx->sn, 3000);
    uint8_t to[32] = { 5 }, txid[32], hash[32];
    for (int k = 0; k < 30; k++) {
        to[1] = (uint8_t)k;
        submit_tx(fx, 0, fx->dev_sk, fx->dev_pk, to, COIN, txid);
        simnet_run_for(fx->sn, 100);
        if (k % 10 == 9) {
            mine(fx, (size_t)(k * 3) % n, hash);
            simnet_run_for(fx->sn, 200);
        }
    }
    simnet_run_for(fx->sn, 15000);
    assert_same_tip(fx, 0, n);
    assert_same_mempool(fx, 0, n);
    assert_int_equal(chain_height(simnet_chain(fx->sn, 7)), 3);
    fx_free(fx);
}

/* A joiner far behind: more blocks than one headers message (2,000) and
 * than the download lookahead, fetched in windows. */
static void test_long_sync(void **state)
{
    (void)state;
    struct fixture *fx = fx_new(10, 2, NULL);
    uint8_t hash[32];
    const uint32_t blocks = P2P_MAX_HEADERS_ENTRIES + 150;
    for (uint32_t k = 0; k < blocks; k++) {
        mine(fx, 0, hash);
        simnet_run_for(fx->sn, 1);
    }
    assert_int_equal(chain_height(simnet_chain(fx->sn, 0)), blocks);
    assert_int_equal(simnet_connect(fx->sn, 1, 0), 0);
    simnet_run_for(fx->sn, 60000);
    assert_same_tip(fx, 0, 2);
    fx_free(fx);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_names),
        cmocka_unit_test(test_self_connection),
        cmocka_unit_test(test_tx_reaches_every_node),
        cmocka_unit_test(test_block_reaches_every_node),
        cmocka_unit_test(test_late_joiner_catches_up),
        cmocka_unit_test(test_partition_heals),
        cmocka_unit_test(test_partition_heals_push),
        cmocka_unit_test(test_push_txs_reach_every_node),
        cmocka_unit_test(test_push_and_pull_nodes_interoperate),
        cmocka_unit_test(test_fanout_with_loss_converges),
        cmocka_unit_test(test_discovery_fills_outbound),
        cmocka_unit_test(test_twenty_nodes_busy),
        cmocka_unit_test(test_long_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
