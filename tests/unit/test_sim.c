/* The gossip simulator (sim/): determinism, properties of the classic
 * schemes that follow from the theory (not hard-coded results), and the
 * protocol layer's promises on a small network: every node gets each tx
 * and block, exactly one body per node at loss 0, nothing sent back to
 * the peer it came from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/chain.h"
#include "chain/err.h"
#include "chain/store.h"
#include "crypto/sig.h"
#include "sim/graph.h"
#include "sim/latency.h"
#include "sim/memstore.h"
#include "sim/model.h"
#include "sim/proto.h"
#include "sim/report.h"

static double mean_rounds(enum sim_scheme s, size_t n, unsigned runs, uint64_t seed)
{
    struct sim_model_config c = { .scheme = s, .nodes = n, .runs = runs, .seed = seed };
    struct sim_model_summary sum;
    assert_int_equal(sim_model_run(&c, &sum, NULL), 0);
    assert_int_equal(sum.complete_runs, runs);
    return sum.rounds_mean;
}

static void test_graph_random_connected(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct sim_rng rng;
        struct sim_graph g;
        sim_rng_seed(&rng, seed);
        size_t n = 50 + 37 * seed;
        unsigned deg = 2 + (unsigned)(seed % 9);
        assert_int_equal(sim_graph_random(&g, n, deg, &rng), 0);
        assert_true(sim_graph_connected(&g));
        assert_int_equal(g.n_edges, n * deg / 2 < n ? n : n * deg / 2);
        for (size_t u = 0; u < n; u++) {
            assert_true(sim_graph_degree(&g, u) >= 2);
            for (size_t i = g.off[u]; i < g.off[u + 1]; i++) {
                assert_true(g.adj[i] != u);                  /* no self loop */
                for (size_t j = i + 1; j < g.off[u + 1]; j++)
                    assert_true(g.adj[i] != g.adj[j]);       /* no duplicate */
            }
        }
        sim_graph_free(&g);
    }
    struct sim_rng rng;
    struct sim_graph g;
    sim_rng_seed(&rng, 1);
    assert_int_equal(sim_graph_random(&g, 10, 10, &rng), -1);   /* degree >= n */
    assert_int_equal(sim_graph_random(&g, 1, 0, &rng), -1);
}

static void test_model_deterministic(void **state)
{
    (void)state;
    for (int s = 0; s < SIM_SCHEME_COUNT; s++) {
        struct sim_model_config c = { .scheme = (enum sim_scheme)s, .nodes = 500, .k = 2,
                                      .degree = s % 2 ? 6 : 0, .runs = 10, .seed = 42,
                                      .loss_ppm = 5000 };
        struct sim_model_run a[10], b[10];
        struct sim_model_summary sa, sb;
        memset(a, 0, sizeof(a));
        memset(b, 0, sizeof(b));
        assert_int_equal(sim_model_run(&c, &sa, a), 0);
        assert_int_equal(sim_model_run(&c, &sb, b), 0);
        assert_memory_equal(a, b, sizeof(a));
        assert_true(sa.rounds_mean == sb.rounds_mean && sa.residue_mean == sb.residue_mean);
        /* Another seed gives another run (the totals of 10 runs differ). */
        c.seed = 43;
        assert_int_equal(sim_model_run(&c, &sb, b), 0);
        if (s != SIM_SCHEME_DIRECT)
            assert_memory_not_equal(a, b, sizeof(a));
    }
}

/* Push-pull: the last uninfected nodes ask for it themselves, so it
 * finishes in fewer rounds than push (GOSSIP.md), on average over seeds. */
static void test_pushpull_faster_than_push(void **state)
{
    (void)state;
    double push = 0, pushpull = 0, pull = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        push += mean_rounds(SIM_SCHEME_PUSH, 1024, 1, seed);
        pushpull += mean_rounds(SIM_SCHEME_PUSHPULL, 1024, 1, seed);
        pull += mean_rounds(SIM_SCHEME_PULL, 1024, 1, seed);
    }
    assert_true(pushpull < push);
    assert_true(pull < push);
    assert_true(pushpull < pull);
}

/* Push grows like log N: 16x the nodes adds a constant number of rounds,
 * in the ratio of log2 N + ln N (about 1.5 from 256 to 4096), far from
 * linear growth (16x). */
static void test_push_rounds_grow_log(void **state)
{
    (void)state;
    double small = mean_rounds(SIM_SCHEME_PUSH, 256, 40, 7);
    double big = mean_rounds(SIM_SCHEME_PUSH, 4096, 40, 7);
    double theory = sim_model_push_rounds_theory(4096) / sim_model_push_rounds_theory(256);
    double ratio = big / small;
    assert_true(ratio > 1.0);
    assert_true(ratio > theory * 0.8 && ratio < theory * 1.25);
    /* And each is near log2 N + ln N itself. */
    assert_true(small > 0.75 * sim_model_push_rounds_theory(256)
                && small < 1.35 * sim_model_push_rounds_theory(256));
    assert_true(big > 0.75 * sim_model_push_rounds_theory(4096)
                && big < 1.35 * sim_model_push_rounds_theory(4096));
}

/* Redundancy: pull and push-pull move each body once per node; push keeps
 * sending to nodes that have it. */
static void test_redundancy(void **state)
{
    (void)state;
    struct sim_model_summary s;
    struct sim_model_config c = { .nodes = 2000, .runs = 5, .seed = 3 };
    c.scheme = SIM_SCHEME_PULL;
    assert_int_equal(sim_model_run(&c, &s, NULL), 0);
    assert_true(s.messages_per_node < 1.0);                 /* (N-1)/N */
    assert_true(s.contacts_per_node >= s.rounds_min);       /* everyone polls */
    c.scheme = SIM_SCHEME_PUSHPULL;
    assert_int_equal(sim_model_run(&c, &s, NULL), 0);
    assert_true(s.messages_per_node < 1.0);
    c.scheme = SIM_SCHEME_PUSH;
    assert_int_equal(sim_model_run(&c, &s, NULL), 0);
    assert_true(s.messages_per_node > 2.0);
    c.scheme = SIM_SCHEME_DIRECT;
    assert_int_equal(sim_model_run(&c, &s, NULL), 0);
    assert_int_equal(s.rounds_max, 1);
    assert_true(s.messages_per_node < 1.0);
}

/* Rumour mongering leaves a residue that shrinks as k grows, and costs
 * more messages; the coin variant sits near Demers' s = e^-(k+1)(1-s). */
static void test_rumor_residue_decreases_with_k(void **state)
{
    (void)state;
    for (int v = 0; v < SIM_RUMOR_VARIANT_COUNT; v++) {
        double prev_res = 2, prev_msg = 0;
        for (unsigned k = 1; k <= 3; k++) {
            struct sim_model_config c = { .scheme = SIM_SCHEME_RUMOR, .nodes = 1000, .k = k,
                                          .variant = (enum sim_rumor_variant)v, .runs = 60,
                                          .seed = 11 };
            struct sim_model_summary s;
            assert_int_equal(sim_model_run(&c, &s, NULL), 0);
            assert_true(s.residue_mean < prev_res);
            assert_true(s.messages_per_node > prev_msg);
            if (v == SIM_RUMOR_COIN) {
                double th = sim_model_rumor_residue_theory(k);
                assert_true(s.residue_mean > 0.6 * th && s.residue_mean < 1.4 * th);
            }
            prev_res = s.residue_mean;
            prev_msg = s.messages_per_node;
        }
    }
    /* The theory itself: 20 %, 6 %, 2 %. */
    assert_true(sim_model_rumor_residue_theory(1) > 0.19
                && sim_model_rumor_residue_theory(1) < 0.21);
    assert_true(sim_model_rumor_residue_theory(3) > 0.015
                && sim_model_rumor_residue_theory(3) < 0.025);
}

/* Timed model: announce-then-pull costs three link crossings per hop where
 * flooding costs one, and buys one body per node instead of degree - 1;
 * the eager tree has the flood's times with one body. */
static void test_latency_relays(void **state)
{
    (void)state;
    struct sim_latency_config c = { .nodes = 1000, .degree = 8, .latency_ms = 5,
                                    .jitter_ms = 105, .seed = 4, .runs = 5 };
    struct sim_latency_summary flood, pull, tree, again;
    c.relay = SIM_RELAY_FLOOD;
    assert_int_equal(sim_latency_run(&c, &flood), 0);
    c.relay = SIM_RELAY_PULL;
    assert_int_equal(sim_latency_run(&c, &pull), 0);
    assert_int_equal(sim_latency_run(&c, &again), 0);
    assert_memory_equal(&pull, &again, sizeof(pull));
    c.relay = SIM_RELAY_TREE;
    assert_int_equal(sim_latency_run(&c, &tree), 0);
    /* Every node sends to all neighbours but its source: sum(deg - 1) + 1
     * bodies over n - 1 receivers, i.e. about degree - 1. */
    assert_true(flood.bodies_per_node > 6.9 && flood.bodies_per_node < 7.1);
    assert_true(pull.bodies_per_node == 1.0 && tree.bodies_per_node == 1.0);
    assert_true(pull.t99_ms > 2.0 * flood.t99_ms && pull.t99_ms < 4.0 * flood.t99_ms);
    assert_true(tree.t99_ms == flood.t99_ms && tree.t100_ms == flood.t100_ms);
    assert_true(flood.t50_ms <= flood.t90_ms && flood.t90_ms <= flood.t99_ms);
    /* A per-hop announcement delay adds about hops x delay. */
    c.relay = SIM_RELAY_PULL;
    c.batch_ms = 100;
    assert_int_equal(sim_latency_run(&c, &again), 0);
    assert_true(again.t50_ms > pull.t50_ms + 100 * (pull.hops_mean - 1.5));
}

static char *proto_output(const struct sim_proto_config *cfg, struct sim_proto_result *res)
{
    assert_int_equal(sim_proto_run(cfg, res), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sim_report_proto_header(f, true);
    sim_report_proto_rows(f, true, cfg, res);
    sim_report_proto_items(f, true, res);
    sim_report_proto_rows(f, false, cfg, res);
    sim_report_proto_extra(f, false, cfg, res);
    fclose(f);
    return buf;
}

/* Repeat senders: tx i comes from sender i mod K, always at that sender's
 * node; the warm-up's txs are kinds apart and printed as their own row;
 * in both relay modes every node gets every tx, nothing goes back to
 * where it came from, and one seed replays the same bytes (also with a
 * fixed latency per link, which changes the run). */
static void test_protocol_repeat_senders(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 40;
    cfg.degree = 4;
    cfg.txs = 12;
    cfg.blocks = 0;
    cfg.senders = 3;
    cfg.warmup_txs = 3;
    cfg.seed = 7;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    for (int push = 0; push <= 1; push++) {
        cfg.relay_push = push;
        cfg.link_fixed = false;
        char *a = proto_output(&cfg, res);
        assert_int_equal(res->n_items, 12);
        for (unsigned i = 0; i < 12; i++) {
            const struct sim_item_result *r = &res->items[i];
            assert_int_equal(r->kind, i < 3 ? SIM_ITEM_TX_WARM : SIM_ITEM_TX);
            assert_int_equal(r->origin, res->items[i % 3].origin);
            assert_int_equal(r->reached, 40);
            assert_int_equal(r->violations, 0);
        }
        assert_true(res->items[0].origin != res->items[1].origin
                    || res->items[1].origin != res->items[2].origin);
        assert_non_null(strstr(a, "\ntxw,"));
        assert_non_null(strstr(a, "\ntx,"));
        char *b = proto_output(&cfg, res);
        assert_string_equal(a, b);
        cfg.link_fixed = true;
        char *c = proto_output(&cfg, res);
        assert_string_not_equal(a, c);
        for (unsigned i = 0; i < 12; i++)
            assert_int_equal(res->items[i].reached, 40);
        free(a);
        free(b);
        free(c);
    }
    free(res);
}

/* The real relay at N = 30: every node gets each tx and block, each body
 * crosses to each node exactly once, nothing goes back to where it came
 * from, and one seed replays the same output. */
static void test_protocol_small(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 30;
    cfg.degree = 4;
    cfg.txs = 3;
    cfg.blocks = 2;
    cfg.seed = 5;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    char *out1 = proto_output(&cfg, res);
    assert_true(res->established);
    assert_int_equal(res->n_items, 5);
    for (unsigned i = 0; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        assert_int_equal(r->kind, i < 3 ? SIM_ITEM_TX : SIM_ITEM_BLOCK);
        assert_int_equal(r->reached, 30);
        assert_true(r->t100_ms != SIM_NEVER);
        assert_true(r->t50_ms <= r->t90_ms && r->t90_ms <= r->t99_ms
                    && r->t99_ms <= r->t100_ms);
        assert_int_equal(r->bodies_max, 1);
        assert_true(r->bodies_per_node == 1.0);
        assert_int_equal(r->violations, 0);
        assert_int_equal(r->core_dup_bodies, 0);   /* the cores agree */
        assert_true(r->hops_mean >= 1.0 && r->hops_max >= 2);
        assert_true(r->invs_per_node >= 1.0);
    }
    char *out2 = proto_output(&cfg, res);
    assert_string_equal(out1, out2);
    cfg.seed = 6;
    char *out3 = proto_output(&cfg, res);
    assert_string_not_equal(out1, out3);
    free(out1);
    free(out2);
    free(out3);
    free(res);
}

/* Compact blocks (cfg.cmpct): every node gets every block, none is sent
 * back to its source, no full body crosses a link when every tx is in the
 * mempools (the cmpctblock rebuilds it), nothing falls back; blocks with
 * txs only the miner has need one getblocktxn round trip per node and
 * still rebuild; warm blocks beat announce-then-pull; the same seed
 * prints the same bytes. */
static void test_protocol_cmpct(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 60;
    cfg.degree = 6;
    cfg.txs = 6;
    cfg.blocks = 4;
    cfg.seed = 7;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    struct sim_proto_agg pull, warm;
    char *base = proto_output(&cfg, res);
    sim_proto_aggregate_from(res, SIM_ITEM_BLOCK, 1, &pull);
    assert_true(pull.bodies_per_node == 1.0 && pull.cmpct_per_node == 0);
    cfg.cmpct = true;
    char *a = proto_output(&cfg, res);
    assert_string_not_equal(base, a);
    for (unsigned i = 0; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        assert_int_equal(r->violations, 0);
        assert_int_equal(r->reached, cfg.nodes);
        assert_true(r->t100_ms != SIM_NEVER);
        if (r->kind != SIM_ITEM_BLOCK)
            continue;
        assert_true(r->bodies_per_node == 0);   /* no full block */
        assert_true(r->cmpct_per_node >= 1.0);
        assert_true(r->getblocktxn_per_node == 0);
        assert_int_equal(r->core_cmpct_fallbacks, 0);
        assert_true(r->block_bytes_per_node > 0);
    }
    /* The first block of the run carries the txs (mined after them). */
    assert_int_equal(res->items[cfg.txs].kind, SIM_ITEM_BLOCK);
    sim_proto_aggregate_from(res, SIM_ITEM_BLOCK, 1, &warm);
    assert_true(warm.t99_ms < pull.t99_ms);
    char *b = proto_output(&cfg, res);
    assert_string_equal(a, b);
    cfg.block_private = 3;
    char *c = proto_output(&cfg, res);
    for (unsigned i = cfg.txs; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        assert_int_equal(r->violations, 0);
        assert_int_equal(r->reached, cfg.nodes);
        assert_true(r->bodies_per_node == 0);
        /* No peer is known to have the miner's txs: every cmpctblock
         * carries them prefilled, so no node asks for them. */
        assert_true(r->getblocktxn_per_node == 0);
        assert_int_equal(r->core_cmpct_fallbacks, 0);
    }
    char *d = proto_output(&cfg, res);
    assert_string_equal(c, d);
    free(base);
    free(a);
    free(b);
    free(c);
    free(d);
    free(res);
}

/* Fan-out 1: the rumour alone may stop short (its residue is measured
 * with anti-entropy off), but reconciliation repairs it: every node ends
 * up with every tx. With fan-out all the rumour alone covers everyone. */
static void test_protocol_fanout_repair(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 30;
    cfg.degree = 4;
    cfg.txs = 3;
    cfg.blocks = 0;
    cfg.seed = 9;
    cfg.residue = true;
    cfg.fanout = 1;
    cfg.recon_ms = 1000;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    for (unsigned i = 0; i < res->n_items; i++) {
        assert_int_equal(res->items[i].reached, 30);
        assert_int_equal(res->items[i].violations, 0);
        assert_true(res->items[i].residue >= 0 && res->items[i].residue < 1);
        assert_int_equal(res->items[i].bodies_max, 1);
    }
    cfg.fanout = 0;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    for (unsigned i = 0; i < res->n_items; i++) {
        assert_int_equal(res->items[i].reached, 30);
        assert_true(res->items[i].residue == 0);
    }
    free(res);
}

/* Under load (txs in flight together), a longer batch puts more txids in
 * each inv frame: fewer announcement frames per tx, and every node still
 * gets every tx body exactly once. */
static void test_protocol_burst_batching(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 30;
    cfg.degree = 4;
    cfg.txs = 20;
    cfg.blocks = 0;
    cfg.burst_ms = 5;
    cfg.seed = 12;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    double frames[2];
    for (int j = 0; j < 2; j++) {
        cfg.batch_ms = j ? 500 : 1;
        assert_int_equal(sim_proto_run(&cfg, res), 0);
        struct sim_proto_agg a;
        sim_proto_aggregate(res, SIM_ITEM_TX, &a);
        assert_int_equal(a.items, 20);
        assert_int_equal(a.complete, 20);
        assert_int_equal(a.bodies_max, 1);
        assert_int_equal(a.violations, 0);
        frames[j] = a.ann_frames_per_node;
    }
    assert_true(frames[1] < 0.5 * frames[0]);
    free(res);
}

/* Timed model realism: one seed replays the same figures; validation time
 * adds about hops x verify to the median; a big body on slow uplinks
 * slows everything, and announce-then-pull still moves one body a node. */
static void test_latency_realism(void **state)
{
    (void)state;
    struct sim_latency_config c = { .relay = SIM_RELAY_PULL, .nodes = 500, .degree = 8,
                                    .latency_ms = 5, .jitter_ms = 105, .seed = 3, .runs = 5 };
    struct sim_latency_summary base, a, b;
    assert_int_equal(sim_latency_run(&c, &base), 0);
    c.verify_ms = 100;
    assert_int_equal(sim_latency_run(&c, &a), 0);
    assert_true(a.t50_ms >= base.t50_ms + 100 * (a.hops_mean - 1));
    c.verify_ms = 0;
    c.body_bytes = 100000;
    c.uplink_bps = 50000;
    c.uplink_max_bps = 5000000;
    c.geo = true;
    assert_int_equal(sim_latency_run(&c, &a), 0);
    assert_int_equal(sim_latency_run(&c, &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_true(a.t50_ms > base.t50_ms + 500);
    assert_true(a.bodies_per_node == 1.0);
    assert_true(a.t95_ms >= a.t50_ms && a.t99_ms >= a.t95_ms && a.mean_ms > 0);
    c.seed = 4;
    assert_int_equal(sim_latency_run(&c, &b), 0);
    assert_true(a.t50_ms != b.t50_ms);
}

/* A small network with one realism option on (set by `set`). */
static void realism_cfg(struct sim_proto_config *cfg, uint64_t seed)
{
    sim_proto_config_init(cfg);
    cfg->nodes = 30;
    cfg->degree = 4;
    cfg->txs = 1;
    cfg->blocks = 1;
    cfg->seed = seed;
}

typedef void (*realism_set)(struct sim_proto_config *cfg);
static void set_bandwidth(struct sim_proto_config *c)
{
    c->link_bps = 1000000;
    c->uplink_bps = 20000;
    c->uplink_max_bps = 200000;
    c->block_bytes = 50000;
}
static void set_geo(struct sim_proto_config *c) { c->geo = true; }
static void set_cpu(struct sim_proto_config *c)
{
    c->cpu_tx_us = SIM_CPU_TX_US;
    c->cpu_block_us = 20000;
    c->cpu_block_ns_per_byte = SIM_CPU_BLOCK_NS_PER_BYTE;
}
static void set_churn(struct sim_proto_config *c)
{
    c->churn_pct = 20;
    c->churn_down_ms = 2000;
}
static void set_late(struct sim_proto_config *c) { c->late_pct = 20; }
static void set_partition(struct sim_proto_config *c) { c->partition_ms = 3000; }
static void set_silent(struct sim_proto_config *c) { c->silent_pct = 20; }
static void set_withhold(struct sim_proto_config *c) { c->withhold_pct = 20; }
static void set_sybils(struct sim_proto_config *c) { c->sybils = 10; }
static void set_mining(struct sim_proto_config *c)
{
    c->txs = 0;
    c->blocks = 0;
    c->mine_interval_ms = 1000;
    c->mine_blocks = 6;
}
static void set_loss(struct sim_proto_config *c) { c->loss_ppm = 20000; }

/* Every realism option: one seed replays the same bytes, another seed
 * gives others; and on every run the invariants hold: nothing sent back
 * to where it came from, each honest node gets each item (after the heal,
 * the restarts, the late joins), no body twice without loss, and when
 * miners compete every node ends on one tip. */
static void test_realism_deterministic_and_invariants(void **state)
{
    (void)state;
    static const realism_set sets[] = { set_bandwidth, set_geo, set_cpu, set_churn, set_late,
                                        set_partition, set_silent, set_withhold, set_sybils,
                                        set_mining, set_loss };
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
        struct sim_proto_config cfg;
        realism_cfg(&cfg, 21);
        sets[k](&cfg);
        char *a = proto_output(&cfg, res);
        for (unsigned i = 0; i < res->n_items; i++) {
            const struct sim_item_result *r = &res->items[i];
            assert_int_equal(r->violations, 0);
            assert_int_equal(r->lost, 0);
            assert_true(r->t100_ms != SIM_NEVER);
            assert_int_equal(r->reached, res->counted);
            if (!cfg.loss_ppm && !cfg.churn_pct && !cfg.late_pct && !cfg.partition_ms)
                assert_int_equal(r->bodies_max, 1);
        }
        if (cfg.mine_blocks) {
            assert_int_equal(res->mined, cfg.mine_blocks);
            assert_true(res->tips_agree);
            assert_true(res->stale < res->mined);
        }
        if (cfg.silent_pct || cfg.withhold_pct)
            assert_true(res->counted < cfg.nodes);
        char *b = proto_output(&cfg, res);
        assert_string_equal(a, b);
        cfg.seed = 22;
        char *c = proto_output(&cfg, res);
        assert_string_not_equal(a, c);
        free(a);
        free(b);
        free(c);
    }
    free(res);
}

/* The store behind every simulated chain (sim/memstore.c, linked in
 * place of chain/store.c's calls) answers as SQLite does: meta values,
 * bodies, undo and own txs read back, a rollback undoes the transaction,
 * a transaction inside another is refused; each distinct body is held
 * once across stores; what it drops (index, accounts) cannot be loaded
 * back as if it were complete. */
static int own_row(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                   size_t len, uint32_t height)
{
    uint64_t *seen = ctx;
    (void)data;
    (void)len;
    (void)height;
    *seen = *seen * 10 + seq;
    return txid[0] == 0xee ? -1 : 0;
}

static int account_row(void *ctx, const uint8_t pk[32], uint64_t balance, uint64_t nonce)
{
    (void)ctx;
    (void)pk;
    (void)balance;
    (void)nonce;
    return 0;
}

static void test_memstore(void **state)
{
    (void)state;
    sim_memstore_use(true);
    struct store *a = NULL, *b = NULL;
    assert_int_equal(store_open(&a, NULL, true), 0);
    assert_int_equal(store_open(&b, NULL, true), 0);
    size_t blobs0 = sim_memstore_stats()->blobs;
    uint8_t h1[32], h2[32], body[300], val[64], *got = NULL;
    size_t len = 0;
    memset(h1, 1, 32);
    memset(h2, 2, 32);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 7);
    assert_int_equal(store_meta_get(a, "tip", val, sizeof val, &len), CHAIN_ERR_BLK_UNKNOWN);
    assert_int_equal(store_meta_put(a, "tip", h1, 32), 0);
    assert_int_equal(store_meta_get(a, "tip", val, 16, &len), CHAIN_ERR_STORE);   /* too small */
    assert_int_equal(store_meta_get(a, "tip", val, sizeof val, &len), 0);
    assert_int_equal(len, 32);
    assert_memory_equal(val, h1, 32);

    /* One body in two stores: one copy. */
    assert_int_equal(store_body_put(a, h1, body, sizeof body), 0);
    assert_int_equal(store_body_put(b, h1, body, sizeof body), 0);
    assert_int_equal(sim_memstore_stats()->blobs, blobs0 + 2);   /* the meta value and the body */
    assert_int_equal(store_body_get(b, h1, &got, &len), 0);
    assert_int_equal(len, sizeof body);
    assert_memory_equal(got, body, sizeof body);
    free(got);

    /* A rollback undoes the puts and deletes of its transaction. */
    assert_int_equal(store_begin(a), 0);
    assert_int_equal(store_begin(a), CHAIN_ERR_STORE);
    assert_int_equal(store_last_error(a)->count, 1);
    assert_int_equal(store_body_put(a, h2, body, 10), 0);
    assert_int_equal(store_undo_put(a, h1, body, 20), 0);
    assert_int_equal(store_meta_put(a, "tip", h2, 32), 0);
    store_rollback(a);
    assert_int_equal(store_body_get(a, h2, &got, &len), CHAIN_ERR_BLK_UNKNOWN);
    assert_int_equal(store_undo_get(a, h1, &got, &len), CHAIN_ERR_BLK_UNKNOWN);
    assert_int_equal(store_meta_get(a, "tip", val, sizeof val, &len), 0);
    assert_memory_equal(val, h1, 32);
    assert_int_equal(store_commit(a), CHAIN_ERR_STORE);   /* none open */
    assert_int_equal(store_begin(a), 0);
    assert_int_equal(store_undo_put(a, h1, body, 20), 0);
    assert_int_equal(store_commit(a), 0);
    assert_int_equal(store_undo_get(a, h1, &got, &len), 0);
    assert_int_equal(len, 20);
    free(got);
    assert_int_equal(store_undo_del(a, h1), 0);
    assert_int_equal(store_undo_get(a, h1, &got, &len), CHAIN_ERR_BLK_UNKNOWN);

    /* Own txs: put ignores a txid already there, load goes in seq order,
     * prune drops the confirmed ones at or below the height. */
    uint8_t t1[32], t2[32], t3[32];
    memset(t1, 0x11, 32);
    memset(t2, 0x22, 32);
    memset(t3, 0x33, 32);
    assert_int_equal(store_own_put(a, t2, 2, body, 5), 0);
    assert_int_equal(store_own_put(a, t1, 1, body, 5), 0);
    assert_int_equal(store_own_put(a, t3, 3, body, 5), 0);
    assert_int_equal(store_own_put(a, t1, 9, body, 5), 0);   /* ignored */
    uint64_t seen = 0;
    assert_int_equal(store_own_load(a, own_row, &seen), 0);
    assert_int_equal(seen, 123);
    assert_int_equal(store_own_height(a, t1, 5), 0);
    assert_int_equal(store_own_height(a, t3, 7), 0);
    assert_int_equal(store_own_prune(a, 6), 0);
    seen = 0;
    assert_int_equal(store_own_load(a, own_row, &seen), 0);
    assert_int_equal(seen, 23);

    /* Dropped tables refuse to load once written. */
    assert_int_equal(store_account_load(a, account_row, NULL), 0);
    assert_int_equal(store_account_put(a, h1, 5, 1), 0);
    assert_int_equal(store_account_load(a, account_row, NULL), CHAIN_ERR_STORE);
    assert_int_equal(store_probe(a, CHAIN_STORE_PROBE_BYTES), 0);
    store_close(a);
    store_close(b);
    assert_int_equal(sim_memstore_stats()->blobs, blobs0);
}

/* The memory store and SQLite give the chains the same answers, so a run
 * prints the same bytes with either (mining forks and reorgs, restarts). */
static void test_protocol_same_with_sqlite_store(void **state)
{
    (void)state;
    static const realism_set sets[] = { set_mining, set_churn };
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
        struct sim_proto_config cfg;
        realism_cfg(&cfg, 23);
        cfg.txs = 3;
        sets[k](&cfg);
        char *a = proto_output(&cfg, res);
        cfg.sqlite_store = true;
        char *b = proto_output(&cfg, res);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    free(res);
}

/* The scale run scaled down (docs/SIMULATION.md, "Scale"): 300 nodes of
 * degree 8, a burst of 20 txs and a block. Every node gets every item
 * once, nothing echoes, and the block's body and undo are held once for
 * all the chains: the stores were served from an existing copy for at
 * least the other 299 nodes' share of the block. */
static void test_protocol_scale_smoke(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    cfg.nodes = 300;
    cfg.degree = 8;
    cfg.txs = 20;
    cfg.burst_ms = 10;
    cfg.blocks = 1;
    cfg.seed = 1;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    uint64_t shared0 = sim_memstore_stats()->shared_bytes;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    assert_int_equal(res->n_items, 21);
    for (unsigned i = 0; i < res->n_items; i++) {
        assert_int_equal(res->items[i].reached, 300);
        assert_int_equal(res->items[i].bodies_max, 1);
        assert_int_equal(res->items[i].violations, 0);
    }
    assert_true(sim_memstore_stats()->shared_bytes - shared0 >= 299u * 20 * 100);
    assert_int_equal(sim_memstore_stats()->stores, 0);   /* all closed */
    free(res);
}

/* The block of one item, and its coverage times. */
static const struct sim_item_result *block_of(const struct sim_proto_result *res)
{
    for (unsigned i = 0; i < res->n_items; i++)
        if (res->items[i].kind == SIM_ITEM_BLOCK)
            return &res->items[i];
    fail();
    return NULL;
}

/* Bandwidth: a 100 kB block over 100 kB/s uplinks takes at least a second
 * per hop; without the limit it crosses in link latency. CPU: 200 ms of
 * validation per block hop shows in the median. */
static void test_bandwidth_and_cpu_cost_time(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    realism_cfg(&cfg, 31);
    cfg.txs = 0;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    uint64_t t50 = block_of(res)->t50_ms, t100 = block_of(res)->t100_ms;
    double hops = block_of(res)->hops_mean;
    assert_true(t100 < 2000);
    cfg.uplink_bps = 100000;
    cfg.block_bytes = 100000;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    assert_true(block_of(res)->t50_ms >= 1000 * (uint64_t)hops);
    assert_true(block_of(res)->t100_ms > t100 + 1000);
    cfg.uplink_bps = 0;
    cfg.block_bytes = 0;
    cfg.cpu_block_us = 200000;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    assert_true(block_of(res)->t50_ms >= t50 + 200);
    free(res);
}

/* Competing miners: blocks found faster than they cross the network fork
 * more often than blocks found slowly. */
static void test_stale_rate_grows_with_speed(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    realism_cfg(&cfg, 41);
    cfg.txs = 0;
    cfg.blocks = 0;
    cfg.mine_blocks = 30;
    cfg.uplink_bps = 200000;
    cfg.block_bytes = 100000;
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    cfg.mine_interval_ms = 200;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    unsigned fast = res->stale;
    assert_true(res->tips_agree);
    cfg.mine_interval_ms = 20000;
    assert_int_equal(sim_proto_run(&cfg, res), 0);
    assert_true(res->tips_agree);
    assert_true(res->stale < fast);
    assert_true(fast > 0);
    free(res);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    struct sim_proto_result *res = malloc(sizeof(*res));
    assert_non_null(res);
    cfg.nodes = 1;
    assert_int_equal(sim_proto_run(&cfg, res), -1);
    cfg.nodes = 10;
    cfg.degree = 10;
    assert_int_equal(sim_proto_run(&cfg, res), -1);
    cfg.degree = 4;
    cfg.churn_pct = 101;
    assert_int_equal(sim_proto_run(&cfg, res), -1);
    cfg.churn_pct = 0;
    cfg.mine_blocks = 3;   /* without an interval */
    assert_int_equal(sim_proto_run(&cfg, res), -1);
    free(res);
    struct sim_model_config c = { .scheme = SIM_SCHEME_RUMOR, .nodes = 100, .k = 0, .runs = 1 };
    struct sim_model_summary s;
    assert_int_equal(sim_model_run(&c, &s, NULL), -1);
    c.k = 1;
    c.runs = 0;
    assert_int_equal(sim_model_run(&c, &s, NULL), -1);
    assert_int_equal(sim_scheme_parse("pushpull"), SIM_SCHEME_PUSHPULL);
    assert_int_equal(sim_scheme_parse("nope"), -1);
    assert_int_equal(sim_rumor_variant_parse("counter"), SIM_RUMOR_COUNTER);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_random_connected),
        cmocka_unit_test(test_model_deterministic),
        cmocka_unit_test(test_pushpull_faster_than_push),
        cmocka_unit_test(test_push_rounds_grow_log),
        cmocka_unit_test(test_redundancy),
        cmocka_unit_test(test_rumor_residue_decreases_with_k),
        cmocka_unit_test(test_latency_relays),
        cmocka_unit_test(test_protocol_small),
        cmocka_unit_test(test_protocol_repeat_senders),
        cmocka_unit_test(test_protocol_cmpct),
        cmocka_unit_test(test_protocol_fanout_repair),
        cmocka_unit_test(test_protocol_burst_batching),
        cmocka_unit_test(test_latency_realism),
        cmocka_unit_test(test_realism_deterministic_and_invariants),
        cmocka_unit_test(test_memstore),
        cmocka_unit_test(test_protocol_same_with_sqlite_store),
        cmocka_unit_test(test_protocol_scale_smoke),
        cmocka_unit_test(test_bandwidth_and_cpu_cost_time),
        cmocka_unit_test(test_stale_rate_grows_with_speed),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
