/* Sender chains across a network (issue 9): 100 senders x 200 nonces,
 * 20,000 txs submitted at one node of a 10-node in-memory network (p2p
 * simnet, virtual clock), must all reach every node's mempool. A hop sees
 * a sender's txs out of nonce order when they are requested or relayed out
 * of announcement order, and then needs room for the sender's chain in the
 * waiting area (chain/mempool.c) until the gap fills. Submitted paced, or
 * all at once: then the origin must not announce more to a neighbour than
 * it tracks per peer (relay.c's announcement window). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/params.h"
#include "crypto/sig.h"
#include "p2p/simnet.h"
#include "simnet_helpers.h"

#define NODES 10u
#define SENDERS 100u
#define NONCES 200u
#define TXS (SENDERS * NONCES)
/* Virtual time allowed for the 20,000 txs to reach every mempool, and the
 * step the test polls in. */
#define SPREAD_BUDGET_MS (10u * 60 * 1000)
#define POLL_STEP_MS 1000u
/* Paced submission at node 0: 1,000 tx/s of virtual time. */
#define SUBMIT_PER_STEP 100u
#define SUBMIT_STEP_MS 100u

static void sender_key(unsigned s, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32] = { 0 };
    seed[0] = (uint8_t)s;
    seed[1] = (uint8_t)(s >> 8);
    seed[31] = 0xc7;
    sig_keypair_from_seed(pk, sk, seed);
}

static size_t min_mempool(struct simnet *sn)
{
    size_t m = SIZE_MAX;
    for (size_t i = 0; i < NODES; i++) {
        size_t k = chain_mempool_count(simnet_chain(sn, i));
        m = k < m ? k : m;
    }
    return m;
}

/* paced: SUBMIT_PER_STEP per SUBMIT_STEP_MS; else all 20,000 at once, more
 * than a neighbour tracks per peer (P2P_TXREQ_MAX_PER_PEER): the sender
 * announces them as the neighbour can take them (P2P_INV_WINDOW_ENTRIES). */
static void sender_chains_reach_every_mempool(bool paced)
{
    struct simnet *sn = NULL;
    struct simnet_config sc = { .seed = 41, .latency_ms = 10, .jitter_ms = 5 };
    assert_int_equal(simnet_create(&sn, &sc), 0);
    for (size_t i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%zu", i);
        assert_int_equal(simnet_add_node(sn, name, NULL), (int)i);
    }
    /* A ring plus chords: 2-4 neighbours each, several hops end to end. */
    for (size_t i = 0; i < NODES; i++) {
        assert_int_equal(simnet_connect(sn, i, (i + 1) % NODES), 0);
        if (i % 2 == 0)
            assert_int_equal(simnet_connect(sn, i, (i + NODES / 2) % NODES), 0);
    }
    simnet_run_for(sn, 2000);

    /* Fund the senders in one block, known to every node. */
    uint8_t dev_pk[32], dev_sk[64];
    chain_dev_key(dev_pk, dev_sk);
    struct p2p *p0 = simnet_p2p(sn, 0);
    struct chain *c0 = simnet_chain(sn, 0);
    static uint8_t pk[SENDERS][32], sk[SENDERS][64];
    for (unsigned s = 0; s < SENDERS; s++) {
        struct chain_tx tx;
        sender_key(s, pk[s], sk[s]);
        memset(&tx, 0, sizeof tx);
        tx.version = TX_VERSION;
        memcpy(tx.to, pk[s], 32);
        tx.amount = 10 * COIN;
        tx.fee = chain_params_regtest.min_fee;
        tx.nonce = chain_account_next_nonce(c0, dev_pk);
        chain_tx_sign(&tx, dev_sk);
        assert_int_equal(p2p_submit_tx(p0, &tx, simnet_now(sn)), CHAIN_TX_ACCEPTED);
    }
    sn_mine_at(sn, 0);
    simnet_run_for(sn, 5000);
    for (size_t i = 0; i < NODES; i++) {
        assert_int_equal(chain_height(simnet_chain(sn, i)), 1);
        assert_int_equal(chain_mempool_count(simnet_chain(sn, i)), 0);
    }

    /* 100 senders x 200 nonces at node 0, sender by sender. */
    for (unsigned s = 0; s < SENDERS; s++)
        for (unsigned n = 0; n < NONCES; n++) {
            if (paced && (s * NONCES + n) % SUBMIT_PER_STEP == 0)
                simnet_run_for(sn, SUBMIT_STEP_MS);
            struct chain_tx tx;
            memset(&tx, 0, sizeof tx);
            tx.version = TX_VERSION;
            memcpy(tx.to, dev_pk, 32);
            tx.amount = 1000;
            tx.fee = chain_params_regtest.min_fee;
            tx.nonce = n;
            chain_tx_sign(&tx, sk[s]);
            assert_int_equal(p2p_submit_tx(p0, &tx, simnet_now(sn)), CHAIN_TX_ACCEPTED);
        }
    assert_int_equal(chain_mempool_count(c0), TXS);
    simnet_touch(sn, 0);

    uint64_t start = simnet_now(sn);
    while (min_mempool(sn) < TXS && simnet_now(sn) - start < SPREAD_BUDGET_MS)
        simnet_run_for(sn, POLL_STEP_MS);
    for (size_t i = 0; i < NODES; i++) {
        struct chain *c = simnet_chain(sn, i);
        if (chain_mempool_count(c) != TXS)
            fprintf(stderr, "node %zu: %zu of %u txs, %zu waiting\n", i,
                    chain_mempool_count(c), TXS, chain_mempool_orphans(c));
    }
    assert_int_equal(min_mempool(sn), TXS);
    print_message("%s: 20,000 txs at every node of %u after %llu ms of virtual time\n",
                  paced ? "paced" : "burst", NODES,
                  (unsigned long long)(simnet_now(sn) - start));
    for (size_t i = 0; i < NODES; i++) {
        assert_int_equal(chain_mempool_orphans(simnet_chain(sn, i)), 0);
        p2p_check(simnet_p2p(sn, i));
    }
    simnet_destroy(sn);
}

static void test_sender_chains_reach_every_mempool(void **state)
{
    (void)state;
    sender_chains_reach_every_mempool(true);
}

static void test_burst_reaches_every_mempool(void **state)
{
    (void)state;
    sender_chains_reach_every_mempool(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sender_chains_reach_every_mempool),
        cmocka_unit_test(test_burst_reaches_every_mempool),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
