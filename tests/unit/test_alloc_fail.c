/* Local failures are never blamed on a peer (issue 9, "One error
 * contract"; docs/SECURITY.md). The p2p core is built with allocation-
 * failure injection (P2P_ALLOC_INJECT, p2p/util.h) and one realistic
 * scenario on the in-memory network (a hub handshaking with two peers,
 * addr answers, txs relayed, a block mined and relayed with headers,
 * reconciliation rounds) runs once per N = 1, 2, 3, ..., with the Nth
 * allocation made by p2p/ code failing, until a run makes fewer than N.
 * For every N: no peer was scored or discouraged, the failure was counted
 * as a local error, and afterwards the network still relays a tx end to
 * end. Under ASan the run is also free of crashes and leaks. */
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
#include "p2p/util.h"

#define NODES 3u            /* 0 and 2 are the hub's (1) two peers */
#define HUB 1u
#define SCENARIO_TXS 4u
#define RECON_MS 400u       /* rounds often enough to run in the scenario */
/* After the scenario: the time a tx has to cross the hub, enough for a
 * redial (P2P_RECONNECT_MIN_MS), a headers sync round and recon. */
#define RECOVER_MS 40000u
/* A bound on the scenario's allocations (the test fails if reached). */
#define MAX_N 20000u

struct counts {
    uint64_t local_ev;
};

static void ev_local(void *ctx, uint64_t peer, int err)
{
    (void)peer;
    (void)err;
    ((struct counts *)ctx)->local_ev++;
}

static void dev_tx(uint64_t nonce, struct chain_tx *tx)
{
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    memset(tx, 0, sizeof(*tx));
    tx->version = TX_VERSION;
    tx->to[0] = 0x77;
    tx->to[31] = (uint8_t)nonce;
    tx->amount = 1000 + nonce;
    tx->fee = chain_params_regtest.min_fee;
    tx->nonce = nonce;
    chain_tx_sign(tx, sk);
}

struct run {
    uint64_t allocs, failed, local_errors, local_ev, misbehaviours, discouraged;
    bool recovered;
    uint32_t height;    /* node 2's, after the scenario */
    uint32_t msgs;      /* commands the hub received (bit 1 << cmd) */
};

/* One scenario with the nth allocation failing (0: none). */
static void run_once(uint64_t nth, struct run *out)
{
    struct simnet *sn = NULL;
    struct simnet_config sc = { .seed = 7, .latency_ms = 10, .jitter_ms = 3 };
    struct counts counts = { 0 };
    struct p2p_events ev = { .ctx = &counts, .local_error = ev_local };
    struct p2p_config tmpl;
    p2p_config_init(&tmpl);
    tmpl.outbound_target = 0;
    tmpl.recon_interval_ms = RECON_MS;
    tmpl.events = &ev;
    assert_int_equal(simnet_create(&sn, &sc), 0);
    for (size_t i = 0; i < NODES; i++) {
        char name[8];
        snprintf(name, sizeof(name), "n%zu", i);
        assert_int_equal(simnet_add_node(sn, name, &tmpl), (int)i);
    }
    /* Addresses for getaddr answers. */
    for (unsigned k = 0; k < 4; k++) {
        struct p2p_addr a;
        char ip[32];
        snprintf(ip, sizeof(ip), "10.9.0.%u", k + 1);
        assert_int_equal(p2p_addr_parse(&a, ip, 8333), 0);
        p2p_addrbook_add(simnet_p2p(sn, 0), &a, simnet_now(sn));
        p2p_addrbook_add(simnet_p2p(sn, 2), &a, simnet_now(sn));
    }

    uint64_t allocs0 = p2p__alloc_count(), failed0 = p2p__alloc_failed();
    p2p__alloc_fail_nth(nth);
    /* Handshakes: the hub dials both. */
    assert_int_equal(simnet_connect(sn, HUB, 0), 0);
    assert_int_equal(simnet_connect(sn, HUB, 2), 0);
    simnet_run_for(sn, 1500);
    /* Txs from node 0 cross the hub; one from node 2 is left for recon
     * to find (its inv is the same path, recon repairs a loss). */
    struct chain_tx tx;
    for (uint64_t k = 0; k < SCENARIO_TXS; k++) {
        dev_tx(k, &tx);
        p2p_submit_tx(simnet_p2p(sn, 0), &tx, simnet_now(sn));
        simnet_touch(sn, 0);
    }
    simnet_run_for(sn, 1500);
    /* A block with them, announced by headers, fetched across the hub. */
    sn_mine_at(sn, 0);
    simnet_touch(sn, 0);
    simnet_run_for(sn, 2 * RECON_MS + 1500);
    p2p__alloc_fail_nth(0);

    out->allocs = p2p__alloc_count() - allocs0;
    out->failed = p2p__alloc_failed() - failed0;
    out->local_errors = out->misbehaviours = out->discouraged = 0;
    for (size_t i = 0; i < NODES; i++) {
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(sn, i), &st);
        out->local_errors += st.local_errors;
        out->misbehaviours += st.misbehaviours;
        out->discouraged += st.discouraged;
    }
    out->local_ev = counts.local_ev;
    out->height = chain_height(simnet_chain(sn, 2));
    out->msgs = 0;
    struct p2p_stats hs;
    p2p_get_stats(simnet_p2p(sn, HUB), &hs);
    for (int c = 0; c < P2P_CMD_COUNT; c++)
        out->msgs |= hs.msgs_recv[c] ? 1u << c : 0;

    /* The core still works: a following tx from node 0 reaches node 2
     * (after the block, or with the scenario's txs if it was lost). */
    dev_tx(SCENARIO_TXS, &tx);
    uint8_t txid[32];
    chain_tx_txid(&tx, txid);
    p2p_submit_tx(simnet_p2p(sn, 0), &tx, simnet_now(sn));
    simnet_touch(sn, 0);
    uint64_t start = simnet_now(sn);
    while (!chain_mempool_has(simnet_chain(sn, 2), txid) && simnet_now(sn) - start < RECOVER_MS)
        simnet_run_for(sn, 500);
    out->recovered = chain_mempool_has(simnet_chain(sn, 2), txid);
    for (size_t i = 0; i < NODES; i++)
        p2p_check(simnet_p2p(sn, i));
    simnet_destroy(sn);
}

static void test_every_allocation_failure_is_local(void **state)
{
    (void)state;
    struct run base;
    run_once(0, &base);
    assert_int_equal(base.failed, 0);
    assert_int_equal(base.local_errors, 0);
    assert_int_equal(base.misbehaviours, 0);
    assert_true(base.recovered);
    assert_true(base.allocs > 0);
    /* The scenario is what it says: the block crossed the hub, and the
     * hub saw every kind of message it is meant to exercise. */
    assert_int_equal(base.height, 1);
    static const enum p2p_cmd used[] = {
        P2P_CMD_VERSION, P2P_CMD_VERACK, P2P_CMD_ADDR, P2P_CMD_INV, P2P_CMD_GETDATA,
        P2P_CMD_TX, P2P_CMD_HEADERS, P2P_CMD_GETHEADERS, P2P_CMD_BLOCK, P2P_CMD_RECON,
    };
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        if (!(base.msgs & (1u << used[i])))
            fail_msg("the hub received no %s", p2p_cmd_name(used[i]));
    print_message("%llu allocations by p2p/ in the scenario\n", (unsigned long long)base.allocs);
    uint64_t n = 1, failing = 0;
    for (; n < MAX_N; n++) {
        struct run r;
        run_once(n, &r);
        if (r.failed == 0)
            break;   /* the scenario made fewer than n allocations */
        failing++;
        if (r.misbehaviours || r.discouraged || r.local_errors == 0 || !r.recovered
            || r.local_ev != r.local_errors)
            fail_msg("allocation %llu failed: misbehaviours %llu, discouraged %llu, "
                     "local errors %llu (events %llu), recovered %d",
                     (unsigned long long)n, (unsigned long long)r.misbehaviours,
                     (unsigned long long)r.discouraged, (unsigned long long)r.local_errors,
                     (unsigned long long)r.local_ev, r.recovered);
    }
    assert_true(n < MAX_N);
    print_message("%llu allocations in the scenario; each failed once, all local\n",
                  (unsigned long long)failing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure_is_local),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
