/* p2p/verify.c: signature checks handed to the driver (p2p_io.verify_tx).
 * A scripted driver collects the jobs and answers them in an order the
 * test picks; the core must handle the parked items in arrival order, take
 * nothing into the mempool or the chain before its signatures are in, not
 * fetch a parked item again, blame the sender of a bad signature, and fall
 * back to inline checks when the driver refuses. */
#include <stdio.h>

#include "p2p_fake.h"

#define MAX_JOBS 256

static struct { uint64_t job; struct chain_tx tx; } jobs[MAX_JOBS];
static size_t n_jobs;
static bool refuse;

static int v_verify(void *ctx, uint64_t job, const struct chain_tx *tx)
{
    (void)ctx;
    if (refuse || n_jobs == MAX_JOBS)
        return -1;
    jobs[n_jobs].job = job;
    jobs[n_jobs].tx = *tx;
    n_jobs++;
    return 0;
}

/* Answers job i as a worker would. */
static void answer(struct fake *f, size_t i, uint64_t now)
{
    p2p_on_verified(f->p, jobs[i].job, chain_tx_verify_sig(&jobs[i].tx), now);
}

static struct fake *vfake(void)
{
    n_jobs = 0;
    refuse = false;
    return fake_new_verify(0, 0, v_verify);
}

/* A dev-key tx with the given nonce (funded by genesis on regtest). */
static struct chain_tx dev_tx(uint64_t nonce, uint8_t to)
{
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    struct chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.version = TX_VERSION;
    memset(tx.to, to, 32);
    tx.amount = COIN;
    tx.fee = chain_params_regtest.min_fee;
    tx.nonce = nonce;
    chain_tx_sign(&tx, sk);
    return tx;
}

static void send_item(struct fake *f, uint64_t peer, enum p2p_cmd cmd, uint32_t type,
                      const uint8_t (*hashes)[32], size_t n, uint64_t now)
{
    struct wr w;
    wr_init(&w, 16 + n * 36);
    p2p_put_inv(&w, type, hashes, n);
    frame(f, peer, cmd, w.buf, w.len, now);
    wr_free(&w);
}

/* Peer 1 (inbound) announces the txs and serves them when asked. */
static void deliver_txs(struct fake *f, const struct chain_tx *txs, size_t n, uint64_t t)
{
    uint8_t (*ids)[32] = calloc(n, 32);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++)
        chain_tx_txid(&txs[i], ids[i]);
    send_item(f, 1, P2P_CMD_INV, P2P_INV_TX, (const uint8_t (*)[32])ids, n, t);
    p2p_on_tick(f->p, t + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    for (size_t i = 0; i < n; i++)
        fake_send_tx(f, 1, &txs[i], t + P2P_NONPREFERRED_DELAY_MS + 1);
    free(ids);
}

static void test_txs_wait_for_their_checks_and_keep_arrival_order(void **state)
{
    (void)state;
    struct fake *f = vfake();
    handshake_in(f, 1, "10.7.0.1", T0);
    handshake_in(f, 2, "10.7.0.2", T0);
    enum { N = 6 };
    struct chain_tx txs[N];
    for (size_t i = 0; i < N; i++)
        txs[i] = dev_tx(i, (uint8_t)(0x30 + i));
    reset_out(f);
    uint64_t t = T0 + 1000;
    deliver_txs(f, txs, N, t);
    /* Every signature went to the driver; nothing is in the mempool yet. */
    assert_int_equal(n_jobs, N);
    assert_int_equal(chain_mempool_count(f->chain), 0);
    /* Peer 2 announces the first one meanwhile: parked, so not fetched. */
    reset_out(f);
    uint8_t id0[1][32];
    chain_tx_txid(&txs[0], id0[0]);
    send_item(f, 2, P2P_CMD_INV, P2P_INV_TX, (const uint8_t (*)[32])id0, 1, t + 200);
    p2p_on_tick(f->p, t + 200 + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);
    /* Answers come back last first: nothing moves until the first is in. */
    for (size_t i = N; i-- > 1;)
        answer(f, i, t + 400);
    assert_int_equal(chain_mempool_count(f->chain), 0);
    assert_int_equal(f->n_acc, 0);
    answer(f, 0, t + 401);
    /* Then all, in the order they arrived (nonce order here). */
    assert_int_equal(chain_mempool_count(f->chain), N);
    assert_int_equal(f->n_acc, N);
    for (size_t i = 0; i < N; i++) {
        uint8_t id[32];
        chain_tx_txid(&txs[i], id);
        assert_memory_equal(f->acc[i].txid, id, 32);
        assert_int_equal(f->acc[i].peer, 1);
    }
    /* A second answer for a job is ignored. */
    answer(f, 0, t + 402);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.sigs_offloaded, N);
    assert_int_equal(st.txs_accepted, N);
    /* Checked signatures are cached: the same tx again costs no job. */
    fake_free(f);
}

static void test_bad_signature_blames_the_sender(void **state)
{
    (void)state;
    struct fake *f = vfake();
    handshake_in(f, 1, "10.7.1.1", T0);
    handshake_in(f, 2, "10.7.1.2", T0);
    struct chain_tx tx = dev_tx(0, 0x41);
    tx.sig[5] ^= 0x20;
    chain_tx_seal(&tx);
    reset_out(f);
    deliver_txs(f, &tx, 1, T0 + 1000);
    assert_int_equal(n_jobs, 1);
    assert_int_equal(f->discouraged_ev, 0);   /* not before the answer */
    answer(f, 0, T0 + 1200);
    assert_false(chain_mempool_has(f->chain, tx.txid));
    assert_int_equal(f->discouraged_ev, 1);
    assert_int_equal(p2p_peer_count(f->p), 1);
    p2p_on_tick(f->p, T0 + 2000);
    assert_int_equal(sent_to(f, 2, P2P_CMD_INV, NULL, NULL), 0);
    fake_free(f);
}

static void test_refused_jobs_are_checked_inline(void **state)
{
    (void)state;
    struct fake *f = vfake();
    refuse = true;
    handshake_in(f, 1, "10.7.2.1", T0);
    struct chain_tx tx = dev_tx(0, 0x42);
    reset_out(f);
    deliver_txs(f, &tx, 1, T0 + 1000);
    assert_int_equal(n_jobs, 0);
    assert_true(chain_mempool_has(f->chain, tx.txid));
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.sigs_offloaded, 0);
    fake_free(f);
}

/* A block whose txs we never saw: parked until every signature is in, a
 * second copy meanwhile is a duplicate (not fetched again, not connected
 * twice), then it connects and is announced to the other peer. */
static void test_cold_block_waits_for_its_checks(void **state)
{
    (void)state;
    struct fake *f = vfake();
    struct chain *other;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&other, &cc, T0), 0);
    enum { N = 12 };
    for (size_t i = 0; i < N; i++) {
        struct chain_tx tx = dev_tx(i, (uint8_t)(0x50 + i));
        assert_int_equal(chain_mempool_accept(other, &tx, CHAIN_ORIGIN_NONE, T0), CHAIN_TX_ACCEPTED);
    }
    struct chain_block b;
    uint8_t pk[32] = { 0x99 };
    assert_int_equal(chain_block_template(other, pk, T0 + 10, &b), 0);
    assert_int_equal(b.n_tx, N + 1);
    for (uint64_t start = 0; !chain_mine(&b.hdr, start, 1000); start += 1000)
        ;
    uint8_t h[1][32];
    chain_header_hash(&b.hdr, h[0]);
    handshake_in(f, 1, "10.7.3.1", T0);
    handshake_in(f, 2, "10.7.3.2", T0);
    static const uint8_t no_headers[1] = { 0 };
    frame(f, 1, P2P_CMD_HEADERS, no_headers, 1, T0 + 20);
    frame(f, 2, P2P_CMD_HEADERS, no_headers, 1, T0 + 20);
    reset_out(f);
    send_item(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, (const uint8_t (*)[32])h, 1, T0 + 30);
    assert_int_equal(sent_to(f, 1, P2P_CMD_GETDATA, NULL, NULL), 1);
    fake_send_block(f, 1, &b, T0 + 31);
    assert_int_equal(n_jobs, N);   /* the coinbase has no signature */
    assert_int_equal(chain_height(f->chain), 0);
    /* Peer 2 announces it too: not asked for it. */
    send_item(f, 2, P2P_CMD_INV, P2P_INV_BLOCK, (const uint8_t (*)[32])h, 1, T0 + 32);
    p2p_on_tick(f->p, T0 + 40);
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, NULL, NULL), 0);
    for (size_t i = 0; i < N; i++)
        answer(f, i, T0 + 50);
    assert_int_equal(chain_height(f->chain), 1);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.blocks_accepted, 1);
    assert_int_equal(st.sigs_offloaded, N);
    chain_block_free(&b);
    chain_close(other);
    fake_free(f);
}

/* Jobs still out when the core goes are freed with it (ASan checks). */
static void test_destroy_with_jobs_out(void **state)
{
    (void)state;
    struct fake *f = vfake();
    handshake_in(f, 1, "10.7.4.1", T0);
    struct chain_tx txs[3] = { dev_tx(0, 1), dev_tx(1, 2), dev_tx(2, 3) };
    deliver_txs(f, txs, 3, T0 + 1000);
    assert_int_equal(n_jobs, 3);
    answer(f, 1, T0 + 1100);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txs_wait_for_their_checks_and_keep_arrival_order),
        cmocka_unit_test(test_bad_signature_blames_the_sender),
        cmocka_unit_test(test_refused_jobs_are_checked_inline),
        cmocka_unit_test(test_cold_block_waits_for_its_checks),
        cmocka_unit_test(test_destroy_with_jobs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
