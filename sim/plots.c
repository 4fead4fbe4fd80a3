/* gossip-sim plot: the data behind docs/SIMULATION.md's figures, measured
 * by the simulator and written as SVG (sim/plot.h) or CSV. */
#include "sim/plots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/latency.h"
#include "sim/model.h"
#include "sim/plot.h"
#include "sim/proto.h"

#define MAXP 32u   /* points per series */
/* Byte costs for the timed model's redundancy axis: the reference's
 * 300-byte tx body, an inv or getdata entry of 36 bytes. */
#define PLOT_BODY_BYTES 300.0
#define PLOT_ENTRY_BYTES 36.0

struct series_buf {
    char name[64];
    double x[MAXP], y[MAXP];
    size_t n;
    bool dashed;
};

static int emit(FILE *f, bool csv, const struct sim_plot *p, struct series_buf *b, size_t nb)
{
    if (csv) {
        fprintf(f, "series,x,y\n");
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < b[i].n; j++)
                fprintf(f, "\"%s\",%.6g,%.6g\n", b[i].name, b[i].x[j], b[i].y[j]);
        return 0;
    }
    struct sim_plot_series s[SIM_PLOT_MAX_SERIES];
    for (size_t i = 0; i < nb; i++)
        s[i] = (struct sim_plot_series){ b[i].name, b[i].n, b[i].x, b[i].y, b[i].dashed };
    return sim_plot_svg(f, p, s, nb);
}

static void add(struct series_buf *b, double x, double y)
{
    if (b->n < MAXP) {
        b->x[b->n] = x;
        b->y[b->n] = y;
        b->n++;
    }
}

/* Block coverage against time, protocol layer, for several N. */
static int plot_coverage(FILE *f, bool csv, uint64_t seed)
{
    static const size_t sizes[] = { 100, 500, 2000 };
    struct series_buf b[3];
    memset(b, 0, sizeof(b));
    struct sim_proto_result *res = malloc(sizeof(*res));
    if (!res)
        return -1;
    for (size_t k = 0; k < 3; k++) {
        struct sim_proto_config c;
        sim_proto_config_init(&c);
        c.nodes = sizes[k];
        c.txs = 0;
        c.blocks = 3;
        c.seed = seed;
        if (sim_proto_run(&c, res) != 0) {
            free(res);
            return -1;
        }
        snprintf(b[k].name, sizeof(b[k].name), "N = %zu (3 blocks, mean)", sizes[k]);
        for (unsigned q = 0; q < SIM_COVER_POINTS; q++) {
            double t = 0;
            for (unsigned i = 0; i < res->n_items; i++)
                t += (double)res->items[i].cover_ms[q];
            add(&b[k], t / res->n_items, 100.0 * q / (SIM_COVER_POINTS - 1));
        }
    }
    free(res);
    struct sim_plot p = { "Block coverage against time (real relay, degree 8, 5-110 ms links)",
                          "ms after the block is mined", "% of nodes with the block", false,
                          true };
    return emit(f, csv, &p, b, 3);
}

/* p99 against messages per node: the timed model's relays over degree,
 * and the real tx relay over fan-out. */
static int plot_redundancy(FILE *f, bool csv, uint64_t seed)
{
    static const unsigned degrees[] = { 4, 6, 8, 12, 16 };
    struct series_buf b[4];
    memset(b, 0, sizeof(b));
    for (int r = 0; r < SIM_RELAY_COUNT; r++) {
        snprintf(b[r].name, sizeof(b[r].name), "timed model: %s (degree 4-16)",
                 sim_relay_name((enum sim_relay)r));
        for (size_t k = 0; k < sizeof(degrees) / sizeof(degrees[0]); k++) {
            struct sim_latency_config c = { .relay = (enum sim_relay)r, .nodes = 2000,
                                            .degree = degrees[k],
                                            .latency_ms = SIM_PROTO_LATENCY_MS_DEFAULT,
                                            .jitter_ms = SIM_PROTO_JITTER_MS_DEFAULT,
                                            .seed = seed, .runs = 5 };
            struct sim_latency_summary s;
            if (sim_latency_run(&c, &s) != 0)
                return -1;
            /* pull: every inv is one entry, each node sends one getdata */
            double req = r == SIM_RELAY_PULL ? 1.0 : 0.0;
            add(&b[r], PLOT_BODY_BYTES * s.bodies_per_node
                           + PLOT_ENTRY_BYTES * (s.invs_per_node + req), s.t99_ms);
        }
    }
    snprintf(b[3].name, sizeof(b[3].name), "gossipd tx relay, 500 nodes (fan-out 2, 3, all)");
    struct sim_proto_result *res = malloc(sizeof(*res));
    if (!res)
        return -1;
    static const uint32_t fan[] = { 2, 3, 0 };
    for (size_t k = 0; k < 3; k++) {
        struct sim_proto_config c;
        sim_proto_config_init(&c);
        c.nodes = 500;
        c.txs = 3;
        c.blocks = 0;
        c.fanout = fan[k];
        c.seed = seed;
        struct sim_proto_agg a;
        if (sim_proto_run(&c, res) != 0) {
            free(res);
            return -1;
        }
        sim_proto_aggregate(res, SIM_ITEM_TX, &a);
        add(&b[3], a.relay_bytes_per_node, a.t99_ms);
    }
    free(res);
    struct sim_plot p = { "Delay against redundancy (degree 4-16 / fan-out, 5-110 ms links)",
                          "relay bytes per node (model: 300 B body, 36 B per inv or getdata)",
                          "p99 ms", true, true };
    return emit(f, csv, &p, b, 4);
}

/* Stale rate against block interval: competing miners on the real relay,
 * and Decker & Wattenhofer's estimate from the measured coverage. */
static int plot_stale(FILE *f, bool csv, uint64_t seed)
{
    static const uint32_t intervals[] = { 500, 1000, 2000, 5000, 10000, 30000 };
    struct series_buf b[2];
    memset(b, 0, sizeof(b));
    snprintf(b[0].name, sizeof(b[0].name), "measured: competing miners (40 blocks)");
    snprintf(b[1].name, sizeof(b[1].name), "estimate 1 - exp(-mean coverage time / interval)");
    b[1].dashed = true;
    struct sim_proto_result *res = malloc(sizeof(*res));
    if (!res)
        return -1;
    struct sim_proto_config c;
    sim_proto_config_init(&c);
    c.nodes = 200;
    c.txs = 0;
    c.blocks = 5;
    c.uplink_bps = 1000000;
    c.block_bytes = 100000;
    c.seed = seed;
    struct sim_proto_agg a;
    if (sim_proto_run(&c, res) != 0)
        goto fail;
    sim_proto_aggregate(res, SIM_ITEM_BLOCK, &a);
    c.blocks = 0;
    c.mine_blocks = 40;
    for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
        c.mine_interval_ms = intervals[k];
        if (sim_proto_run(&c, res) != 0)
            goto fail;
        add(&b[0], intervals[k] / 1000.0, 100.0 * res->stale / res->mined);
        add(&b[1], intervals[k] / 1000.0, 100.0 * (1 - exp(-a.mean_ms / intervals[k])));
    }
    free(res);
    struct sim_plot p = { "Stale blocks against block interval (200 nodes, 100 kB blocks, 1 MB/s uplinks)",
                          "mean block interval, s", "% of blocks stale", true, true };
    return emit(f, csv, &p, b, 2);
fail:
    free(res);
    return -1;
}

/* Anti-entropy rounds against log N (complete graph). */
static int plot_rounds(FILE *f, bool csv, uint64_t seed)
{
    static const size_t sizes[] = { 256, 1024, 4096, 16384, 65536 };
    struct series_buf b[4];
    memset(b, 0, sizeof(b));
    for (int s = SIM_SCHEME_PUSH; s <= SIM_SCHEME_PUSHPULL; s++) {
        struct series_buf *sb = &b[s - SIM_SCHEME_PUSH];
        snprintf(sb->name, sizeof(sb->name), "%s (20 runs)", sim_scheme_name((enum sim_scheme)s));
        for (size_t k = 0; k < 5; k++) {
            struct sim_model_config c = { .scheme = (enum sim_scheme)s, .nodes = sizes[k],
                                          .runs = 20, .seed = seed };
            struct sim_model_summary sum;
            if (sim_model_run(&c, &sum, NULL) != 0)
                return -1;
            add(sb, log2((double)sizes[k]), sum.rounds_mean);
        }
    }
    snprintf(b[3].name, sizeof(b[3].name), "log2 N + ln N (Demers et al.)");
    b[3].dashed = true;
    for (size_t k = 0; k < 5; k++)
        add(&b[3], log2((double)sizes[k]), sim_model_push_rounds_theory(sizes[k]));
    struct sim_plot p = { "Rounds to full coverage against log N (anti-entropy, complete graph)",
                          "log2 N", "rounds", false, true };
    return emit(f, csv, &p, b, 4);
}

int sim_plots_run(FILE *f, const char *which, uint64_t seed, bool csv)
{
    if (strcmp(which, "coverage") == 0)
        return plot_coverage(f, csv, seed);
    if (strcmp(which, "redundancy") == 0)
        return plot_redundancy(f, csv, seed);
    if (strcmp(which, "stale") == 0)
        return plot_stale(f, csv, seed);
    if (strcmp(which, "rounds") == 0)
        return plot_rounds(f, csv, seed);
    return -1;
}
