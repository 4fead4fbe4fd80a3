/* gossip-sim: measures the gossip ideas (GOSSIP.md) with our own code.
 *
 *   gossip-sim protocol --nodes N --degree D --fanout K --batch-ms B --loss PPM
 *                       --seed S --txs T --blocks M [--recon-ms R] [--residue]
 *                       [--burst-ms B: a tx every B ms, all in flight together]
 *                       [--latency-ms L --jitter-ms J] [--items] [--csv]
 *                       [--senders K: K repeat sender keys, each at one node]
 *                       [--warmup-txs W: the first W txs reported apart, "txw"]
 *                       [--link-fixed: a link's jitter drawn once, not per frame]
 *   gossip-sim model --scheme direct|push|pull|pushpull|rumor --nodes N --k K
 *                    --runs R --seed S [--degree D] [--variant coin|counter|blind]
 *                    [--loss PPM] [--csv]
 *   gossip-sim latency --relay flood|pull|tree --nodes N --degree D --seed S
 *                      --runs R [--latency-ms L --jitter-ms J] [--batch-ms B]
 *                      [--per-message] [--csv]
 *   gossip-sim sweep [model|latency|protocol|all] [--seed S] [--max-nodes N] [--csv]
 *
 * Results go to stdout and depend only on the arguments: one seed prints
 * the same bytes. Wall time and memory go to stderr. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sig.h"
#include "p2p/limits.h"
#include "sim/model.h"
#include "sim/plots.h"
#include "sim/proto.h"
#include "sim/report.h"

static void usage(FILE *f)
{
    fputs("usage:\n"
          "  gossip-sim protocol [--nodes N] [--degree D] [--fanout K] [--batch-ms B]\n"
          "                      [--loss PPM] [--seed S] [--txs T] [--blocks M]\n"
          "                      [--recon-ms R] [--latency-ms L] [--jitter-ms J]\n"
          "                      [--timeout-ms T] [--burst-ms B] [--residue] [--items]\n"
          "                      [--relay pull|push] [--senders K [--warmup-txs W]]\n"
          "                      [--link-fixed] [--cmpct] [--block-private N] [--csv]\n"
          "  gossip-sim model --scheme direct|push|pull|pushpull|rumor [--nodes N] [--k K]\n"
          "                   [--runs R] [--seed S] [--degree D] [--variant coin|counter|blind]\n"
          "                   [--loss PPM] [--csv]\n"
          "  gossip-sim latency --relay flood|pull|tree [--nodes N] [--degree D] [--seed S]\n"
          "                     [--runs R] [--latency-ms L] [--jitter-ms J] [--batch-ms B]\n"
          "                     [--per-message] [--body-bytes B] [--uplink-bps B]\n"
          "                     [--uplink-max-bps B] [--verify-ms V] [--geo] [--csv]\n"
          "  gossip-sim sweep [model|latency|protocol|all] [--seed S] [--max-nodes N] [--csv]\n"
          "  gossip-sim plot coverage|redundancy|stale|rounds [--seed S] [--csv]  (SVG on stdout)\n"
          "protocol realism: [--link-bps B] [--uplink-bps B [--uplink-max-bps B]] [--geo]\n"
          "  [--cpu | --cpu-tx-us U --cpu-block-us U --cpu-block-ns-per-byte N] [--block-bytes B]\n"
          "  [--churn-pct P --churn-down-ms D] [--late-pct P] [--partition-ms D]\n"
          "  [--silent-pct P] [--withhold-pct P] [--sybils S]\n"
          "  [--mine-interval-ms T --mine-blocks M] [--seeds A..B] [--warmup-addr]\n"
          "  [--sqlite-store]\n"
          "K = 0 means all peers; degree 0 (model) means a complete graph.\n",
          f);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '-' || *s == '\0')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads "--name value" at argv[*i] into *out; false (and a message) if the
 * value is missing or bad. */
static bool opt_u64(int argc, char **argv, int *i, const char *name, uint64_t max, uint64_t *out)
{
    if (strcmp(argv[*i], name) != 0)
        return false;
    if (*i + 1 >= argc || !parse_u64(argv[*i + 1], max, out)) {
        fprintf(stderr, "gossip-sim: %s needs a number <= %" PRIu64 "\n", name, max);
        exit(2);
    }
    (*i)++;
    return true;
}

/* Decker & Wattenhofer's estimate of the stale (fork) rate from the
 * propagation curve, for uniform hash power: a block goes stale when
 * another is found while it is still unknown somewhere; with nodes
 * uninformed for mean_ms on average, P = 1 - exp(-mean / interval). */
#define SIM_STALE_PRED_INTERVAL_MS 600000.0

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss / 1024;
}

static int run_protocol(const struct sim_proto_config *cfg, bool csv, bool items, bool header)
{
    struct sim_proto_result *res = malloc(sizeof(*res));
    if (!res)
        return 1;
    double t0 = wall_s();
    int err = sim_proto_run(cfg, res);
    double dt = wall_s() - t0;
    if (err) {
        fprintf(stderr, "gossip-sim: protocol run failed (bad arguments or setup)\n");
        free(res);
        return 1;
    }
    if (header)
        sim_report_proto_header(stdout, csv);
    sim_report_proto_rows(stdout, csv, cfg, res);
    if (items)
        sim_report_proto_items(stdout, csv, res);
    sim_report_proto_extra(stdout, csv, cfg, res);
    if (!res->established)
        fprintf(stdout, "%swarning: not every edge finished its handshake in the warm-up\n",
                csv ? "# " : "");
    fflush(stdout);
    fprintf(stderr, "[protocol N=%zu edges=%zu k=%" PRIu32 " batch=%" PRIu32 " loss=%" PRIu32
                    ": %.1f s wall, peak RSS %ld MiB, %" PRIu64 " frames]\n",
            res->nodes, res->edges, cfg->fanout, cfg->batch_ms, cfg->loss_ppm, dt,
            peak_rss_mib(), res->frames);
    free(res);
    return 0;
}

/* Student's t, two-sided 95 %, for 1..30 degrees of freedom (beyond: 1.96). */
static double t95(unsigned df)
{
    static const double t[31] = { 0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                  2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                  2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                  2.060, 2.056, 2.052, 2.048, 2.045, 2.042 };
    return df == 0 ? 0 : df <= 30 ? t[df] : 1.96;
}

/* Mean and the half-width of its 95 % interval over n samples. */
static void mean_ci(const double *x, unsigned n, double *mean, double *half)
{
    double m = 0, v = 0;
    for (unsigned i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (unsigned i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *half = n > 1 ? t95(n - 1) * sqrt(v / (n - 1)) / sqrt((double)n) : 0;
}

enum { SF_T50, SF_T90, SF_T95, SF_T99, SF_T100, SF_MEAN, SF_BODIES, SF_INVS, SF_RELAYB,
       SF_STALE600, SF_CMPCT, SF_GETBLOCKTXN, SF_BLOCKB, SF_WARM_T50, SF_WARM_T90, SF_WARM_T99,
       SF_WARM_T100, SF_COUNT };
/* From SF_CMPCT on: blocks, with --cmpct or --block-private only (the
 * warm figures: blocks after the first, with --blocks 2 or more). */
static const char *const sf_names[SF_COUNT] = { "t50_ms", "t90_ms", "t95_ms", "t99_ms",
                                                "t100_ms", "mean_ms", "bodies_per_node",
                                                "invs_per_node", "relay_bytes_per_node",
                                                "stale_pred_600s", "cmpct_per_node",
                                                "getblocktxn_per_node", "block_bytes_per_node",
                                                "warm_t50_ms", "warm_t90_ms", "warm_t99_ms",
                                                "warm_t100_ms" };


/* The same run over seeds lo..hi: mean and 95 % interval of each figure
 * per item kind, and of the stale rate when miners compete. */
static int run_seeds(const struct sim_proto_config *base, uint64_t lo, uint64_t hi, bool csv)
{
    unsigned n = (unsigned)(hi - lo + 1);
    struct sim_proto_result *res = malloc(sizeof(*res));
    double *x = malloc((size_t)n * (2 * SF_COUNT + 1) * sizeof(*x));
    if (!res || !x) {
        free(res);
        free(x);
        return 1;
    }
    double t0 = wall_s();
    unsigned got[2] = { 0, 0 };
    for (unsigned k = 0; k < n; k++) {
        struct sim_proto_config c = *base;
        c.seed = lo + k;
        if (sim_proto_run(&c, res) != 0) {
            fprintf(stderr, "gossip-sim: protocol run failed at seed %" PRIu64 "\n", c.seed);
            free(res);
            free(x);
            return 1;
        }
        for (int kind = 0; kind < 2; kind++) {
            struct sim_proto_agg a, w;
            sim_proto_aggregate(res, (enum sim_item_kind)kind, &a);
            sim_proto_aggregate_from(res, (enum sim_item_kind)kind, 1, &w);
            if (!a.complete)
                continue;
            double *row = x + (size_t)kind * SF_COUNT * n;
            double v[SF_COUNT] = { a.t50_ms, a.t90_ms, a.t95_ms, a.t99_ms, a.t100_ms, a.mean_ms,
                                   a.bodies_per_node, a.invs_per_node, a.relay_bytes_per_node,
                                   1.0 - exp(-a.mean_ms / SIM_STALE_PRED_INTERVAL_MS),
                                   a.cmpct_per_node, a.getblocktxn_per_node,
                                   a.block_bytes_per_node, w.t50_ms, w.t90_ms, w.t99_ms,
                                   w.t100_ms };
            for (int f = 0; f < SF_COUNT; f++)
                row[(size_t)f * n + got[kind]] = v[f];
            got[kind]++;
        }
        x[(size_t)2 * SF_COUNT * n + k] = res->mined ? (double)res->stale / res->mined : 0;
        malloc_trim(0);   /* the next run starts from a compact heap (peak RSS) */
    }
    if (csv)
        printf("item,figure,seeds,mean,ci95_half\n");
    else
        printf("item   figure                 seeds          mean    +- 95%% CI\n");
    for (int kind = 0; kind < 2; kind++) {
        if (!got[kind])
            continue;
        for (int f = 0; f < SF_COUNT; f++) {
            double m, h;
            if (f == SF_STALE600 && kind != SIM_ITEM_BLOCK)
                continue;
            if (f >= SF_CMPCT && (kind != SIM_ITEM_BLOCK || !(base->cmpct || base->block_private)
                                  || (f >= SF_WARM_T50 && base->blocks < 2)))
                continue;
            mean_ci(x + (size_t)kind * SF_COUNT * n + (size_t)f * n, got[kind], &m, &h);
            printf(f == SF_STALE600 ? (csv ? "%s,%s,%u,%.5f,%.5f\n" : "%-6s %-22s %5u %13.5f %11.5f\n")
                   : (csv ? "%s,%s,%u,%.3f,%.3f\n" : "%-6s %-22s %5u %13.3f %11.3f\n"),
                   kind ? "block" : "tx", sf_names[f], got[kind], m, h);
        }
    }
    if (base->mine_blocks) {
        double m, h;
        mean_ci(x + (size_t)2 * SF_COUNT * n, n, &m, &h);
        printf(csv ? "%s,%s,%u,%.5f,%.5f\n" : "%-6s %-22s %5u %13.5f %11.5f\n", "mining",
               "stale_rate", n, m, h);
    }
    fflush(stdout);
    fprintf(stderr, "[protocol seeds %" PRIu64 "..%" PRIu64 ": %.1f s wall, peak RSS %ld MiB]\n",
            lo, hi, wall_s() - t0, peak_rss_mib());
    free(res);
    free(x);
    return 0;
}

static int run_model(const struct sim_model_config *cfg, bool csv, bool header)
{
    struct sim_model_summary s;
    if (sim_model_run(cfg, &s, NULL) != 0) {
        fprintf(stderr, "gossip-sim: model run failed (bad arguments)\n");
        return 1;
    }
    if (header)
        sim_report_model_header(stdout, csv);
    sim_report_model_row(stdout, csv, cfg, &s);
    fflush(stdout);
    return 0;
}

static int cmd_protocol(int argc, char **argv)
{
    struct sim_proto_config cfg;
    sim_proto_config_init(&cfg);
    bool csv = false, items = false;
    uint64_t seed_lo = 0, seed_hi = 0;
    for (int i = 2; i < argc; i++) {
        uint64_t v;
        if (opt_u64(argc, argv, &i, "--nodes", SIM_PROTO_MAX_NODES, &v))
            cfg.nodes = v;
        else if (opt_u64(argc, argv, &i, "--degree", SIM_GRAPH_MAX_DEGREE, &v))
            cfg.degree = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--fanout", P2P_MAX_PEERS, &v))
            cfg.fanout = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--batch-ms", 600000, &v))
            cfg.batch_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--loss", 1000000, &v))
            cfg.loss_ppm = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--recon-ms", 3600000, &v))
            cfg.recon_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--latency-ms", 60000, &v))
            cfg.latency_ms = v;
        else if (opt_u64(argc, argv, &i, "--jitter-ms", 60000, &v))
            cfg.jitter_ms = v;
        else if (opt_u64(argc, argv, &i, "--timeout-ms", 3600000, &v))
            cfg.item_timeout_ms = v;
        else if (opt_u64(argc, argv, &i, "--seed", UINT64_MAX, &v))
            cfg.seed = v;
        else if (opt_u64(argc, argv, &i, "--txs", SIM_PROTO_MAX_ITEMS, &v))
            cfg.txs = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--blocks", SIM_PROTO_MAX_ITEMS, &v))
            cfg.blocks = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--senders", SIM_PROTO_MAX_ITEMS, &v))
            cfg.senders = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--warmup-txs", SIM_PROTO_MAX_ITEMS, &v))
            cfg.warmup_txs = (unsigned)v;
        else if (strcmp(argv[i], "--link-fixed") == 0)
            cfg.link_fixed = true;
        else if (opt_u64(argc, argv, &i, "--burst-ms", 600000, &v))
            cfg.burst_ms = (uint32_t)v;
        else if (strcmp(argv[i], "--residue") == 0)
            cfg.residue = true;
        else if (strcmp(argv[i], "--relay") == 0 && i + 1 < argc
                 && (strcmp(argv[i + 1], "pull") == 0 || strcmp(argv[i + 1], "push") == 0))
            cfg.relay_push = strcmp(argv[++i], "push") == 0;
        else if (strcmp(argv[i], "--cmpct") == 0)
            cfg.cmpct = true;
        else if (opt_u64(argc, argv, &i, "--block-private", SIM_PROTO_MAX_PRIVATE_TXS, &v))
            cfg.block_private = (unsigned)v;
        else if (strcmp(argv[i], "--warmup-addr") == 0)
            cfg.warmup_addr = true;
        else if (strcmp(argv[i], "--sqlite-store") == 0)
            cfg.sqlite_store = true;
        else if (opt_u64(argc, argv, &i, "--link-bps", UINT32_MAX, &v))
            cfg.link_bps = v;
        else if (opt_u64(argc, argv, &i, "--uplink-bps", UINT32_MAX, &v))
            cfg.uplink_bps = v;
        else if (opt_u64(argc, argv, &i, "--uplink-max-bps", UINT32_MAX, &v))
            cfg.uplink_max_bps = v;
        else if (strcmp(argv[i], "--geo") == 0)
            cfg.geo = true;
        else if (strcmp(argv[i], "--cpu") == 0) {
            cfg.cpu_tx_us = SIM_CPU_TX_US;
            cfg.cpu_block_us = SIM_CPU_BLOCK_US;
            cfg.cpu_block_ns_per_byte = SIM_CPU_BLOCK_NS_PER_BYTE;
        } else if (opt_u64(argc, argv, &i, "--cpu-tx-us", 10000000, &v))
            cfg.cpu_tx_us = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--cpu-block-us", 100000000, &v))
            cfg.cpu_block_us = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--cpu-block-ns-per-byte", 1000000, &v))
            cfg.cpu_block_ns_per_byte = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--block-bytes", 32u << 20, &v))
            cfg.block_bytes = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--churn-pct", 100, &v))
            cfg.churn_pct = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--churn-down-ms", 3600000, &v))
            cfg.churn_down_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--late-pct", 100, &v))
            cfg.late_pct = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--partition-ms", 3600000, &v))
            cfg.partition_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--silent-pct", 90, &v))
            cfg.silent_pct = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--withhold-pct", 90, &v))
            cfg.withhold_pct = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--sybils", SIM_PROTO_MAX_SYBILS, &v))
            cfg.sybils = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--mine-interval-ms", 3600000, &v))
            cfg.mine_interval_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--mine-blocks", 10000, &v))
            cfg.mine_blocks = (unsigned)v;
        else if (strcmp(argv[i], "--seeds") == 0) {
            if (i + 1 >= argc || sscanf(argv[i + 1], "%" SCNu64 "..%" SCNu64, &seed_lo, &seed_hi) != 2
                || seed_hi < seed_lo || seed_hi - seed_lo >= SIM_MAX_SEEDS) {
                fprintf(stderr, "gossip-sim: --seeds needs A..B (at most %u seeds)\n",
                        SIM_MAX_SEEDS);
                return 2;
            }
            i++;
        }
        else if (strcmp(argv[i], "--items") == 0)
            items = true;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = true;
        else {
            fprintf(stderr, "gossip-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (seed_hi)
        return run_seeds(&cfg, seed_lo, seed_hi, csv);
    return run_protocol(&cfg, csv, items, true);
}

static int cmd_model(int argc, char **argv)
{
    struct sim_model_config cfg = { .scheme = SIM_SCHEME_PUSH, .nodes = 1000, .k = 1,
                                    .runs = 100, .seed = 1 };
    bool csv = false;
    for (int i = 2; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--scheme") == 0 || strcmp(argv[i], "--variant") == 0) {
            bool scheme = argv[i][2] == 's';
            int x = i + 1 < argc ? (scheme ? sim_scheme_parse(argv[i + 1])
                                           : sim_rumor_variant_parse(argv[i + 1]))
                                 : -1;
            if (x < 0) {
                fprintf(stderr, "gossip-sim: bad %s\n", argv[i]);
                return 2;
            }
            if (scheme)
                cfg.scheme = (enum sim_scheme)x;
            else
                cfg.variant = (enum sim_rumor_variant)x;
            i++;
        } else if (opt_u64(argc, argv, &i, "--nodes", SIM_MODEL_MAX_NODES, &v))
            cfg.nodes = v;
        else if (opt_u64(argc, argv, &i, "--k", 1000, &v))
            cfg.k = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--runs", SIM_MODEL_MAX_RUNS, &v))
            cfg.runs = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--seed", UINT64_MAX, &v))
            cfg.seed = v;
        else if (opt_u64(argc, argv, &i, "--degree", SIM_GRAPH_MAX_DEGREE, &v))
            cfg.degree = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--loss", 1000000, &v))
            cfg.loss_ppm = (uint32_t)v;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = true;
        else {
            fprintf(stderr, "gossip-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return run_model(&cfg, csv, true);
}

static int run_latency(const struct sim_latency_config *cfg, bool csv, bool header)
{
    struct sim_latency_summary s;
    if (sim_latency_run(cfg, &s) != 0) {
        fprintf(stderr, "gossip-sim: latency run failed (bad arguments)\n");
        return 1;
    }
    if (header)
        sim_report_latency_header(stdout, csv);
    sim_report_latency_row(stdout, csv, cfg, &s);
    if (cfg->body_bytes || cfg->uplink_bps || cfg->verify_ms || cfg->geo)
        printf("%st95 %.0f ms, mean %.0f ms; stale rate at 10-minute blocks, "
               "1 - exp(-mean / 600 s): %.2f %%\n", csv ? "# " : "", s.t95_ms, s.mean_ms,
               100 * (1 - exp(-s.mean_ms / SIM_STALE_PRED_INTERVAL_MS)));
    fflush(stdout);
    return 0;
}

static int cmd_latency(int argc, char **argv)
{
    struct sim_latency_config cfg = { .relay = SIM_RELAY_PULL, .nodes = 2000, .degree = 8,
                                      .latency_ms = SIM_PROTO_LATENCY_MS_DEFAULT,
                                      .jitter_ms = SIM_PROTO_JITTER_MS_DEFAULT, .seed = 1,
                                      .runs = 20 };
    bool csv = false;
    for (int i = 2; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--relay") == 0) {
            int x = i + 1 < argc ? sim_relay_parse(argv[i + 1]) : -1;
            if (x < 0) {
                fprintf(stderr, "gossip-sim: bad --relay\n");
                return 2;
            }
            cfg.relay = (enum sim_relay)x;
            i++;
        } else if (opt_u64(argc, argv, &i, "--nodes", SIM_GRAPH_MAX_NODES, &v))
            cfg.nodes = v;
        else if (opt_u64(argc, argv, &i, "--degree", SIM_GRAPH_MAX_DEGREE, &v))
            cfg.degree = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--latency-ms", 60000, &v))
            cfg.latency_ms = v;
        else if (opt_u64(argc, argv, &i, "--jitter-ms", 60000, &v))
            cfg.jitter_ms = v;
        else if (opt_u64(argc, argv, &i, "--batch-ms", 600000, &v))
            cfg.batch_ms = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--runs", SIM_MODEL_MAX_RUNS, &v))
            cfg.runs = (unsigned)v;
        else if (opt_u64(argc, argv, &i, "--seed", UINT64_MAX, &v))
            cfg.seed = v;
        else if (strcmp(argv[i], "--per-message") == 0)
            cfg.per_message = true;
        else if (opt_u64(argc, argv, &i, "--body-bytes", 32u << 20, &v))
            cfg.body_bytes = (uint32_t)v;
        else if (opt_u64(argc, argv, &i, "--uplink-bps", UINT32_MAX, &v))
            cfg.uplink_bps = v;
        else if (opt_u64(argc, argv, &i, "--uplink-max-bps", UINT32_MAX, &v))
            cfg.uplink_max_bps = v;
        else if (opt_u64(argc, argv, &i, "--verify-ms", 600000, &v))
            cfg.verify_ms = (uint32_t)v;
        else if (strcmp(argv[i], "--geo") == 0)
            cfg.geo = true;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = true;
        else {
            fprintf(stderr, "gossip-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return run_latency(&cfg, csv, true);
}

/* ---- sweep: the standard tables of docs/SIMULATION.md ---- */

static void title(bool csv, const char *t)
{
    printf(csv ? "# %s\n" : "\n== %s ==\n", t);
}

static int sweep_model(uint64_t seed, bool csv)
{
    static const size_t sizes[] = { 256, 1024, 4096, 16384, 65536 };
    int err = 0;
    title(csv, "M1. anti-entropy rounds to full coverage, complete graph, 50 runs "
               "(vs log2 N + ln N)");
    sim_report_model_header(stdout, csv);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int s = SIM_SCHEME_PUSH; s <= SIM_SCHEME_PUSHPULL; s++) {
            struct sim_model_config c = { .scheme = (enum sim_scheme)s, .nodes = sizes[i],
                                          .runs = 50, .seed = seed };
            err |= run_model(&c, csv, false);
        }
    }
    title(csv, "M2. the same on a random graph of average degree 8, 50 runs");
    sim_report_model_header(stdout, csv);
    for (size_t i = 0; i < 4; i++) {
        for (int s = SIM_SCHEME_PUSH; s <= SIM_SCHEME_PUSHPULL; s++) {
            struct sim_model_config c = { .scheme = (enum sim_scheme)s, .nodes = sizes[i],
                                          .degree = 8, .runs = 50, .seed = seed };
            err |= run_model(&c, csv, false);
        }
    }
    title(csv, "M3. rumour mongering (push, SIR), N = 1000, 200 runs: residue vs "
               "Demers et al. (coin: s = exp(-(k+1)(1-s)))");
    sim_report_model_header(stdout, csv);
    for (int v = SIM_RUMOR_COIN; v < SIM_RUMOR_VARIANT_COUNT; v++) {
        for (unsigned k = 1; k <= 5; k++) {
            struct sim_model_config c = { .scheme = SIM_SCHEME_RUMOR, .nodes = 1000, .k = k,
                                          .variant = (enum sim_rumor_variant)v, .runs = 200,
                                          .seed = seed };
            err |= run_model(&c, csv, false);
        }
    }
    title(csv, "M4. rumour mongering (coin) on a random graph of average degree 8, "
               "N = 1000, 200 runs");
    sim_report_model_header(stdout, csv);
    for (unsigned k = 1; k <= 3; k++) {
        struct sim_model_config c = { .scheme = SIM_SCHEME_RUMOR, .nodes = 1000, .k = k,
                                      .degree = 8, .runs = 200, .seed = seed };
        err |= run_model(&c, csv, false);
    }
    title(csv, "M5. direct mail baseline and 1 % message loss, N = 1000, 100 runs");
    sim_report_model_header(stdout, csv);
    for (int s = SIM_SCHEME_DIRECT; s < SIM_SCHEME_COUNT; s++) {
        for (uint32_t loss = 0; loss <= 10000; loss += 10000) {
            struct sim_model_config c = { .scheme = (enum sim_scheme)s, .nodes = 1000, .k = 2,
                                          .runs = 100, .seed = seed, .loss_ppm = loss };
            err |= run_model(&c, csv, false);
        }
    }
    return err;
}

static int sweep_latency(uint64_t seed, bool csv)
{
    int err = 0;
    title(csv, "L1. timed model of the reference: 2,000 nodes, degree 8, 5-110 ms links, "
               "20 runs (GOSSIP.md: flood p99 285 ms at ~7 bodies/node; announce-then-pull "
               "885 ms at 1.0; eager tree 286 ms at 1.0)");
    sim_report_latency_header(stdout, csv);
    for (int per_msg = 0; per_msg <= 1; per_msg++) {
        for (int r = 0; r < SIM_RELAY_COUNT; r++) {
            struct sim_latency_config c = { .relay = (enum sim_relay)r, .nodes = 2000,
                                            .degree = 8, .latency_ms = 5, .jitter_ms = 105,
                                            .per_message = per_msg, .seed = seed, .runs = 20 };
            err |= run_latency(&c, csv, false);
        }
    }
    title(csv, "L2. announce-then-pull with a per-hop announcement delay (tx batching), "
               "2,000 nodes, per-link latency");
    sim_report_latency_header(stdout, csv);
    static const uint32_t batches[] = { 10, 50, 100, 250 };
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        struct sim_latency_config c = { .relay = SIM_RELAY_PULL, .nodes = 2000, .degree = 8,
                                        .latency_ms = 5, .jitter_ms = 105,
                                        .batch_ms = batches[i], .seed = seed, .runs = 20 };
        err |= run_latency(&c, csv, false);
    }
    title(csv, "L3. announce-then-pull vs N (degree 8, per-link latency, 20 runs)");
    sim_report_latency_header(stdout, csv);
    static const size_t sizes[] = { 100, 500, 2000, 10000, 50000 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct sim_latency_config c = { .relay = SIM_RELAY_PULL, .nodes = sizes[i],
                                        .degree = 8, .latency_ms = 5, .jitter_ms = 105,
                                        .seed = seed, .runs = 20 };
        err |= run_latency(&c, csv, false);
    }
    return err;
}

static int sweep_protocol(uint64_t seed, size_t max_nodes, bool csv)
{
    int err = 0;
    struct sim_proto_config c;
    size_t big = max_nodes < 2000 ? max_nodes : 2000;
    size_t mid = max_nodes < 500 ? max_nodes : 500;
    title(csv, "P1. reference: degree 8, 5-110 ms links, fan-out all, default batch "
               "(GOSSIP.md: announce-then-pull p99 885 ms at 1.0 body/node, 2,000 nodes)");
    sim_report_proto_header(stdout, csv);
    sim_proto_config_init(&c);
    c.seed = seed;
    c.nodes = big;
    c.txs = 5;
    c.blocks = 3;
    err |= run_protocol(&c, csv, false, false);

    title(csv, "P2. network size: fan-out all, default batch, degree 8");
    sim_report_proto_header(stdout, csv);
    static const size_t sizes[] = { 100, 250, 500, 1000, 2000, 5000, 10000 };
    /* Above 2,000 nodes only when asked (--max-nodes): see docs/SIMULATION.md. */
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= max_nodes; i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = sizes[i];
        c.txs = 5;
        c.blocks = 3;
        err |= run_protocol(&c, csv, false, false);
    }

    title(csv, "P3. fan-out k for txs: residue the rumour leaves (anti-entropy off) and "
               "time to 100 % with reconciliation every 5 s (default)");
    sim_report_proto_header(stdout, csv);
    static const uint32_t ks[] = { 1, 2, 3, 0 };
    for (size_t i = 0; i < 4; i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = big;
        c.fanout = ks[i];
        c.txs = 10;
        c.blocks = 0;
        c.residue = true;
        err |= run_protocol(&c, csv, false, false);
    }

    title(csv, "P3b. repair time vs reconciliation period (fan-out 2)");
    sim_report_proto_header(stdout, csv);
    static const uint32_t recons[] = { 1000, 2000, 5000, 10000 };
    for (size_t i = 0; i < sizeof(recons) / sizeof(recons[0]); i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = mid;
        c.fanout = 2;
        c.recon_ms = recons[i];
        c.txs = 10;
        c.blocks = 0;
        err |= run_protocol(&c, csv, false, false);
    }

    title(csv, "P4. tx batch interval (fan-out all)");
    sim_report_proto_header(stdout, csv);
    static const uint32_t batches[] = { 1, 10, 50, 100, 250, 1000 };
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = mid;
        c.batch_ms = batches[i];
        c.txs = 10;
        c.blocks = 0;
        err |= run_protocol(&c, csv, false, false);
    }

    title(csv, "P4b. tx batch interval under load: 50 txs, one every 20 ms, in flight together "
               "(fan-out all)");
    sim_report_proto_header(stdout, csv);
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = mid;
        c.batch_ms = batches[i];
        c.txs = 50;
        c.blocks = 0;
        c.burst_ms = 20;
        err |= run_protocol(&c, csv, false, false);
    }

    title(csv, "P5. frame loss (fan-out all and 2)");
    sim_report_proto_header(stdout, csv);
    static const uint32_t losses[] = { 10000, 50000 };
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 2; j++) {
            sim_proto_config_init(&c);
            c.seed = seed;
            c.nodes = mid;
            c.fanout = j ? 2 : 0;
            c.loss_ppm = losses[i];
            c.txs = 5;
            c.blocks = 2;
            err |= run_protocol(&c, csv, false, false);
        }
    }
    title(csv, "P6. degree (fan-out all, default batch)");
    sim_report_proto_header(stdout, csv);
    static const unsigned degrees[] = { 4, 8, 16 };
    for (size_t i = 0; i < sizeof(degrees) / sizeof(degrees[0]); i++) {
        sim_proto_config_init(&c);
        c.seed = seed;
        c.nodes = big;
        c.degree = degrees[i];
        c.txs = 5;
        c.blocks = 2;
        err |= run_protocol(&c, csv, false, false);
    }
    return err;
}

static int cmd_sweep(int argc, char **argv)
{
    uint64_t seed = 1, max_nodes = 2000;
    bool csv = false, model = true, latency = true, protocol = true, picked = false;
    for (int i = 2; i < argc; i++) {
        bool m = strcmp(argv[i], "model") == 0, l = strcmp(argv[i], "latency") == 0;
        bool p = strcmp(argv[i], "protocol") == 0;
        if (m || l || p) {
            if (!picked)
                model = latency = protocol = false;
            picked = true;
            model |= m;
            latency |= l;
            protocol |= p;
        } else if (strcmp(argv[i], "all") == 0)
            model = latency = protocol = true;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = true;
        else if (opt_u64(argc, argv, &i, "--seed", UINT64_MAX, &seed))
            ;
        else if (opt_u64(argc, argv, &i, "--max-nodes", SIM_PROTO_MAX_NODES, &max_nodes))
            ;
        else {
            fprintf(stderr, "gossip-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (max_nodes < 10) {
        fprintf(stderr, "gossip-sim: --max-nodes must be >= 10\n");
        return 2;
    }
    int err = 0;
    if (model)
        err |= sweep_model(seed, csv);
    if (latency)
        err |= sweep_latency(seed, csv);
    if (protocol)
        err |= sweep_protocol(seed, (size_t)max_nodes, csv);
    return err ? 1 : 0;
}

static int cmd_plot(int argc, char **argv)
{
    uint64_t seed = 1;
    bool csv = false;
    const char *which = argc > 2 ? argv[2] : "";
    for (int i = 3; i < argc; i++) {
        if (opt_u64(argc, argv, &i, "--seed", UINT64_MAX, &seed))
            continue;
        if (strcmp(argv[i], "--csv") == 0) {
            csv = true;
            continue;
        }
        fprintf(stderr, "gossip-sim: unknown option %s\n", argv[i]);
        return 2;
    }
    double t0 = wall_s();
    if (sim_plots_run(stdout, which, seed, csv) != 0) {
        fprintf(stderr, "gossip-sim: plot coverage|redundancy|stale|rounds [--seed S] [--csv]\n");
        return 2;
    }
    fprintf(stderr, "[plot %s: %.1f s wall, peak RSS %ld MiB]\n", which, wall_s() - t0,
            peak_rss_mib());
    return 0;
}

/* A protocol run at 10,000 nodes keeps ~1.7 GiB of small allocations and
 * touches them in no order (each event wakes another node), so much of
 * its time is TLB misses on 4 KiB pages. glibc's malloc backs its heap
 * with transparent huge pages when the tunable glibc.malloc.hugetlb=1 is
 * set at process start (where THP is "madvise", Debian's default): the
 * simulator re-executes itself once with it. Same bytes out; 10,000
 * nodes 102 -> 78 s here (docs/SIMULATION.md). Skipped when the caller
 * set any tunable, when GOSSIP_SIM_HUGEPAGES=0, and under valgrind. */
#define SIM_TUNABLE_HUGEPAGES "glibc.malloc.hugetlb=1"

static void reexec_with_hugepages(char **argv)
{
    const char *opt = getenv("GOSSIP_SIM_HUGEPAGES");
    const char *pre = getenv("LD_PRELOAD");
    if (getenv("GLIBC_TUNABLES") || (opt && strcmp(opt, "0") == 0)
        || (pre && strstr(pre, "vgpreload")))
        return;
    if (setenv("GLIBC_TUNABLES", SIM_TUNABLE_HUGEPAGES, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("GLIBC_TUNABLES");   /* no exec: run on as we are */
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    reexec_with_hugepages(argv);
    if (sig_init() != 0) {
        fprintf(stderr, "gossip-sim: libsodium init failed\n");
        return 1;
    }
    if (strcmp(argv[1], "protocol") == 0)
        return cmd_protocol(argc, argv);
    if (strcmp(argv[1], "model") == 0)
        return cmd_model(argc, argv);
    if (strcmp(argv[1], "latency") == 0)
        return cmd_latency(argc, argv);
    if (strcmp(argv[1], "sweep") == 0)
        return cmd_sweep(argc, argv);
    if (strcmp(argv[1], "plot") == 0)
        return cmd_plot(argc, argv);
    fprintf(stderr, "gossip-sim: unknown command %s\n", argv[1]);
    usage(stderr);
    return 2;
}
