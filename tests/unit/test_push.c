/* p2p/push.c, learned eager push of txs, one core in push mode against
 * scripted peers: a body that came first by pull grafts that link, and a
 * peer that grafted us gets the next tx of that bucket as a body at once,
 * no inv; a duplicate eager body prunes; only a peer that asked is pushed
 * to (a peer without pushreq sees invs only); no echo to the sender; a
 * malformed or oversized pushreq, or a body nobody asked for, is scored. */
#include <stdio.h>

#include "p2p/limits.h"
#include "p2p/util.h"
#include "p2p_fake.h"

static uint8_t dev_pk[32], dev_sk[64];

/* The dev key's next tx, nonce offset k past the chain's. */
static void make_tx(struct chain *c, unsigned k, struct chain_tx *tx, uint8_t txid[32])
{
    memset(tx, 0, sizeof(*tx));
    tx->version = TX_VERSION;
    memcpy(tx->from, dev_pk, 32);
    memset(tx->to, 0x22, 32);
    tx->amount = COIN;
    tx->fee = chain_params_regtest.min_fee;
    tx->nonce = chain_account_next_nonce(c, dev_pk) + k;
    chain_tx_sign(tx, dev_sk);
    chain_tx_txid(tx, txid);
}

static void make_txs(struct fake *f, struct chain_tx *tx0, uint8_t id0[32], struct chain_tx *tx1,
                     uint8_t id1[32], struct chain_tx *tx2, uint8_t id2[32])
{
    make_tx(f->chain, 0, tx0, id0);
    make_tx(f->chain, 1, tx1, id1);
    make_tx(f->chain, 2, tx2, id2);
}

static uint32_t dev_bit(void)
{
    return 1u << (p2p_shortid(P2P_PUSH_BUCKET_SALT, dev_pk) % P2P_PUSH_BUCKETS);
}

static void send_pushreq(struct fake *f, uint64_t peer, uint32_t graft, uint32_t prune,
                         uint64_t now)
{
    struct wr w;
    wr_init(&w, 16);
    p2p_put_pushreq(&w, graft, prune);
    frame(f, peer, P2P_CMD_PUSHREQ, w.buf, w.len, now);
    wr_free(&w);
}

/* The last pushreq sent to peer (false if none). */
static bool last_pushreq(struct fake *f, uint64_t peer, uint32_t *graft, uint32_t *prune)
{
    const uint8_t *pl = NULL;
    size_t len = 0;
    if (sent_to(f, peer, P2P_CMD_PUSHREQ, &pl, &len) == 0)
        return false;
    assert_int_equal(p2p_dec_pushreq(pl, len, graft, prune), 0);
    return true;
}

/* Whether a tx body for txid went to peer since the last reset. */
static int bodies_to(struct fake *f, uint64_t peer, const uint8_t txid[32])
{
    int n = 0;
    for (size_t i = 0; i < f->n_sends; i++) {
        struct p2p_frame_hdr h;
        if (f->sends[i].peer != peer)
            continue;
        assert_int_equal(p2p_frame_parse(f->out + f->sends[i].off, f->magic, &h), 0);
        struct chain_tx tx;
        uint8_t id[32];
        if (h.cmd != P2P_CMD_TX
            || p2p_dec_tx(f->out + f->sends[i].off + P2P_HEADER_BYTES, h.len, &tx) != 0)
            continue;
        chain_tx_txid(&tx, id);
        n += memcmp(id, txid, 32) == 0;
    }
    return n;
}

static struct fake *push_core(unsigned peers)
{
    fake_relay_mode = P2P_RELAY_PUSH;
    struct fake *f = fake_new(0);
    fake_relay_mode = P2P_RELAY_PULL;
    for (uint64_t p = 1; p <= peers; p++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.2.0.%u", (unsigned)p);
        handshake_in(f, p, ip, T0);
    }
    reset_out(f);
    return f;
}

/* Peer 1 delivers tx0 first, by pull: the core grafts that link (asks it
 * to push the bucket). Peer 1 answers with its own graft; the next tx of
 * the bucket goes to peer 1 as a body at once, without an inv and
 * without waiting for the batch, while peer 3 gets the batched inv. */
static void test_graft_after_first_delivery_pushes_next(void **state)
{
    (void)state;
    struct fake *f = push_core(3);
    struct chain_tx tx0, tx1;
    uint8_t id0[32], id1[32];
    make_tx(f->chain, 0, &tx0, id0);
    make_tx(f->chain, 1, &tx1, id1);
    uint64_t t = T0 + 1000;
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_TX, id0, t);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);   /* lazy wait */
    p2p_on_tick(f->p, t + P2P_PUSH_LAZY_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    t += P2P_PUSH_LAZY_DELAY_MS + 5;
    fake_send_tx(f, 1, &tx0, t);
    assert_true(chain_mempool_has(f->chain, id0));
    uint32_t graft = 0, prune = 0;
    assert_true(last_pushreq(f, 1, &graft, &prune));
    assert_int_equal(graft, dev_bit());
    assert_int_equal(prune, 0);
    assert_false(last_pushreq(f, 2, &graft, &prune));   /* only the link that delivered */
    /* Peer 1's answer: it asks us too. Nothing more is sent for it. */
    reset_out(f);
    send_pushreq(f, 1, dev_bit(), 0, t + 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_PUSHREQ, NULL, NULL), 0);
    /* tx1 from peer 2 (pulled): pushed to peer 1 in the same call. */
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, id1, t + 10);
    p2p_on_tick(f->p, t + 10 + P2P_PUSH_LAZY_DELAY_MS);
    reset_out(f);
    fake_send_tx(f, 2, &tx1, t + 20 + P2P_PUSH_LAZY_DELAY_MS);
    assert_true(chain_mempool_has(f->chain, id1));
    assert_int_equal(bodies_to(f, 1, id1), 1);
    assert_int_equal(bodies_to(f, 2, id1), 0);          /* never back to the sender */
    assert_int_equal(sent_to(f, 3, P2P_CMD_TX, NULL, NULL), 0);
    p2p_on_tick(f->p, t + 1000);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);   /* a body, no inv */
    assert_int_equal(sent_to(f, 3, P2P_CMD_INV, NULL, NULL), 1);   /* lazy link */
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 0);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.tx_pushed, 1);
    assert_int_equal(f->misbehaviour_ev, 0);
    fake_free(f);
}

/* Peers 1 and 2 both push the bucket to us (they grafted; we answered).
 * Peer 1's body comes first; peer 2's copy is a duplicate eager body:
 * that link is pruned, both ways (we tell peer 2 and push no more to it).
 * A body peer 2 still had in flight is not unsolicited. */
static void test_duplicate_eager_body_prunes(void **state)
{
    (void)state;
    struct fake *f = push_core(3);
    struct chain_tx tx0, tx1, tx2;
    uint8_t id0[32], id1[32], id2[32];
    make_txs(f, &tx0, id0, &tx1, id1, &tx2, id2);
    uint64_t t = T0 + 1000;
    uint32_t graft = 0, prune = 0;
    for (uint64_t p = 1; p <= 2; p++) {
        send_pushreq(f, p, dev_bit(), 0, t);
        assert_true(last_pushreq(f, p, &graft, &prune));   /* answered */
        assert_int_equal(graft, dev_bit());
    }
    reset_out(f);
    fake_send_tx(f, 1, &tx0, t + 10);        /* eager, expected: not scored */
    assert_true(chain_mempool_has(f->chain, id0));
    assert_int_equal(bodies_to(f, 2, id0), 1);           /* pushed on at once */
    assert_int_equal(bodies_to(f, 1, id0), 0);
    fake_send_tx(f, 2, &tx0, t + 11);        /* its copy crossed ours: a duplicate */
    assert_true(last_pushreq(f, 2, &graft, &prune));
    assert_int_equal(graft, 0);
    assert_int_equal(prune, dev_bit());
    assert_false(last_pushreq(f, 1, &graft, &prune));
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.push_prunes, 1);
    assert_int_equal(st.dup_tx_bodies, 1);
    /* In flight from peer 2 before it got the prune: used, not scored. */
    fake_send_tx(f, 2, &tx1, t + 12);
    assert_true(chain_mempool_has(f->chain, id1));
    assert_int_equal(f->misbehaviour_ev, 0);
    /* Peer 2 is lazy now: tx2 goes to peer 1 as a body, to 2 as an inv. */
    reset_out(f);
    assert_true(p2p_submit_tx(f->p, &tx2, t + 20) > 0);
    assert_int_equal(bodies_to(f, 1, id2), 1);
    assert_int_equal(bodies_to(f, 2, id2), 0);
    p2p_on_tick(f->p, t + 1000);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 0);
    fake_free(f);
}

/* Interop: a peer that never sent pushreq (an older node ignores it) is
 * never pushed to, and a body it sends unasked is still unsolicited;
 * once a prune's grace is over, so is one from a pruned peer. */
static void test_only_a_peer_that_asked_is_pushed_to(void **state)
{
    (void)state;
    struct fake *f = push_core(2);
    struct chain_tx tx0, tx1, tx2;
    uint8_t id0[32], id1[32], id2[32];
    make_txs(f, &tx0, id0, &tx1, id1, &tx2, id2);
    uint64_t t = T0 + 1000;
    assert_true(p2p_submit_tx(f->p, &tx0, t) > 0);
    p2p_on_tick(f->p, t + 1000);
    assert_int_equal(sent_count(f, P2P_CMD_TX), 0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 1);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 1);
    fake_send_tx(f, 1, &tx1, t + 1001);      /* unasked */
    assert_int_equal(f->misbehaviour_ev, 1);
    assert_int_equal(f->last_score, P2P_SCORE_UNSOLICITED);
    /* Peer 2 grafts then prunes; after the grace its bodies are unasked. */
    send_pushreq(f, 2, dev_bit(), 0, t + 1002);
    send_pushreq(f, 2, 0, dev_bit(), t + 1003);
    fake_send_tx(f, 2, &tx2, t + 1003 + P2P_PUSH_PRUNE_GRACE_MS);
    assert_int_equal(f->misbehaviour_ev, 2);
    fake_free(f);
}

/* A pull-mode core is the older node: it answers no graft and pushes
 * nothing, whatever the peer asks. */
static void test_pull_mode_ignores_pushreq(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.2.1.1", T0);
    reset_out(f);
    struct chain_tx tx0;
    uint8_t id0[32];
    make_tx(f->chain, 0, &tx0, id0);
    send_pushreq(f, 1, dev_bit(), 0, T0 + 10);
    assert_int_equal(sent_count(f, P2P_CMD_PUSHREQ), 0);
    assert_true(p2p_submit_tx(f->p, &tx0, T0 + 20) > 0);
    p2p_on_tick(f->p, T0 + 1000);
    assert_int_equal(sent_count(f, P2P_CMD_TX), 0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_INV, NULL, NULL), 1);
    assert_int_equal(f->misbehaviour_ev, 0);
    fake_free(f);
}

static void raw_frame(struct fake *f, uint64_t peer, const uint8_t *pl, size_t len, uint64_t now)
{
    frame(f, peer, P2P_CMD_PUSHREQ, pl, len, now);
}

/* A pushreq header declaring len payload bytes (refused on the header). */
static void big_header(struct fake *f, uint64_t peer, uint32_t len, uint64_t now)
{
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, f->magic);
    memcpy(hdr + 4, "pushreq", 7);
    le32_put(hdr + 16, len);
    p2p_on_bytes(f->p, peer, hdr, sizeof(hdr), now);
}

/* Malformed and oversized pushreqs: each peer is scored as malformed and
 * disconnected; the core keeps working. */
static void test_bad_pushreq_scored(void **state)
{
    (void)state;
    struct fake *f = push_core(6);
    uint8_t buf[16] = { 0 };
    struct wr w;
    /* 1: truncated; 2: one byte above the cap; 3: a bucket past the
     * last (with 32 buckets: the top one grafted and pruned); 4: one
     * bucket grafted and pruned; 5: 64 KiB declared. */
    raw_frame(f, 1, buf, P2P_MAX_PUSHREQ_BYTES - 1, T0 + 10);
    big_header(f, 2, P2P_MAX_PUSHREQ_BYTES + 1, T0 + 10);
    wr_init(&w, 16);
    /* (every bit a bucket: the top one grafted and pruned instead) */
    wr_u32(&w, P2P_PUSH_BUCKETS < 32 ? 1u << (P2P_PUSH_BUCKETS % 32) : 1u << 31);
    wr_u32(&w, P2P_PUSH_BUCKETS < 32 ? 0 : 1u << 31);
    raw_frame(f, 3, w.buf, w.len, T0 + 10);
    wr_free(&w);
    wr_init(&w, 16);
    wr_u32(&w, 1);
    wr_u32(&w, 1);
    raw_frame(f, 4, w.buf, w.len, T0 + 10);
    wr_free(&w);
    big_header(f, 5, 64 * 1024, T0 + 10);
    assert_int_equal(f->misbehaviour_ev, 5);
    assert_int_equal(f->last_score, P2P_SCORE_MALFORMED);
    assert_int_equal(f->n_disc, 5);
    assert_int_equal(sent_count(f, P2P_CMD_PUSHREQ), 0);   /* none answered */
    /* Peer 6 is fine and still served. */
    send_pushreq(f, 6, dev_bit(), 0, T0 + 20);
    assert_int_equal(sent_to(f, 6, P2P_CMD_PUSHREQ, NULL, NULL), 1);
    fake_free(f);
}

/* Peer 1 is our eager parent for the bucket (it grafted, we answered). */
static struct fake *push_core_parent(unsigned peers, uint64_t t)
{
    struct fake *f = push_core(peers);
    send_pushreq(f, 1, dev_bit(), 0, t);
    reset_out(f);
    return f;
}

/* Better-path probe, inv after the body: peer 1 pushes tx0; peer 2's inv
 * for it comes less than a batch later, so peer 2 had tx0 before peer 1's
 * push reached us: peer 2 is grafted for the bucket. An inv a full batch
 * after the body (peer 3 for tx1) says nothing and grafts nothing. */
static void test_probe_grafts_announcer_within_a_batch(void **state)
{
    (void)state;
    uint64_t t = T0 + 1000;
    struct fake *f = push_core_parent(3, t);
    struct chain_tx tx0, tx1, tx2;
    uint8_t id0[32], id1[32], id2[32];
    make_txs(f, &tx0, id0, &tx1, id1, &tx2, id2);
    fake_send_tx(f, 1, &tx0, t + 10);
    assert_true(chain_mempool_has(f->chain, id0));
    reset_out(f);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, id0, t + 10 + P2P_TX_BATCH_MS_DEFAULT - 1);
    uint32_t graft = 0, prune = 0;
    assert_true(last_pushreq(f, 2, &graft, &prune));
    assert_int_equal(graft, dev_bit());
    assert_int_equal(prune, 0);
    /* Once per tx: peer 3's inv for tx0 now grafts nothing. */
    fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, id0, t + 12);
    assert_false(last_pushreq(f, 3, &graft, &prune));
    fake_send_tx(f, 1, &tx1, t + 100);
    fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, id1, t + 100 + P2P_TX_BATCH_MS_DEFAULT);
    assert_false(last_pushreq(f, 3, &graft, &prune));
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.push_probes, 1);
    assert_int_equal(f->misbehaviour_ev, 0);
    fake_free(f);
}

/* Better-path probe, inv before the body: peer 2 announced tx0 before
 * peer 1's push came (a batch ahead at least): peer 2 is grafted. Then a
 * probe costs a body, so the next one for the bucket takes a candidate
 * twice in a row: peer 3 once grafts nothing, twice does. */
static void test_probe_inv_first_and_need_doubles(void **state)
{
    (void)state;
    uint64_t t = T0 + 1000;
    struct fake *f = push_core_parent(3, t);
    struct chain_tx tx0, tx1, tx2;
    uint8_t id0[32], id1[32], id2[32];
    make_txs(f, &tx0, id0, &tx1, id1, &tx2, id2);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_TX, id0, t + 10);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);   /* lazy wait */
    fake_send_tx(f, 1, &tx0, t + 20);
    uint32_t graft = 0, prune = 0;
    assert_true(last_pushreq(f, 2, &graft, &prune));
    assert_int_equal(graft, dev_bit());
    reset_out(f);
    fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, id1, t + 100);
    fake_send_tx(f, 1, &tx1, t + 110);
    assert_false(last_pushreq(f, 3, &graft, &prune));            /* once: not yet */
    fake_send_inv1(f, 3, P2P_CMD_INV, P2P_INV_TX, id2, t + 200);
    fake_send_tx(f, 1, &tx2, t + 210);
    assert_true(last_pushreq(f, 3, &graft, &prune));             /* twice in a row */
    assert_int_equal(graft, dev_bit());
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.push_probes, 2);
    fake_free(f);
}

/* A push-mode node with no eager link at all has nothing to wait for: an
 * inv is pulled with the pull delays (an inbound announcer after
 * P2P_NONPREFERRED_DELAY_MS), not after P2P_PUSH_LAZY_DELAY_MS; once a
 * link is eager, invs wait the lazy delay. */
static void test_no_eager_link_pulls_without_the_lazy_wait(void **state)
{
    (void)state;
    struct fake *f = push_core(2);
    struct chain_tx tx;
    uint8_t id0[32], id1[32];
    make_tx(f->chain, 0, &tx, id0);
    make_tx(f->chain, 1, &tx, id1);
    uint64_t t = T0 + 1000;
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_TX, id0, t);
    p2p_on_tick(f->p, t + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    send_pushreq(f, 2, dev_bit(), 0, t + 10);                    /* now eager with 2 */
    reset_out(f);
    t += 1000;
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_TX, id1, t);
    p2p_on_tick(f->p, t + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 0);
    p2p_on_tick(f->p, t + P2P_PUSH_LAZY_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    fake_free(f);
}

int main(void)
{
    chain_dev_key(dev_pk, dev_sk);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graft_after_first_delivery_pushes_next),
        cmocka_unit_test(test_duplicate_eager_body_prunes),
        cmocka_unit_test(test_only_a_peer_that_asked_is_pushed_to),
        cmocka_unit_test(test_pull_mode_ignores_pushreq),
        cmocka_unit_test(test_bad_pushreq_scored),
        cmocka_unit_test(test_probe_grafts_announcer_within_a_batch),
        cmocka_unit_test(test_probe_inv_first_and_need_doubles),
        cmocka_unit_test(test_no_eager_link_pulls_without_the_lazy_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
