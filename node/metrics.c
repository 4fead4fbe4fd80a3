/* /metrics: Prometheus text exposition format (version 0.0.4). Counter
 * names end in _total; every family has HELP and TYPE lines. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "node/node.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    family(f, name, "gauge", help);
    fprintf(f, "%s %.17g\n", name, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    family(f, name, "counter", help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* Histogram bounds (upper, inclusive; +Inf implied). Delays in seconds:
 * propagation on a LAN is milliseconds, over the internet seconds, and a
 * block mined while this node was cut off arrives minutes late. */
static const double delay_bounds_s[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1, 2.5, 5, 10, 30, 60, 300 };
#define DELAY_BUCKETS (sizeof delay_bounds_s / sizeof delay_bounds_s[0])
static const double depth_bounds[] = { 1, 2, 3, 5, 10, 20, 50, 100 };
#define DEPTH_BUCKETS (sizeof depth_bounds / sizeof depth_bounds[0])
_Static_assert(DELAY_BUCKETS < NODE_HIST_BUCKETS_MAX && DEPTH_BUCKETS < NODE_HIST_BUCKETS_MAX,
               "bucket arrays hold every bound plus +Inf");

static const char *const seen_names[NODE_SEEN_COUNT] = { "peer", "rpc", "mined", "reorg" };

static void hist_add(struct node_hist *h, const double *bounds, size_t nb, double v)
{
    size_t i = 0;
    while (i < nb && v > bounds[i])
        i++;
    h->bucket[i]++;   /* i == nb: +Inf */
    h->count++;
    h->sum += v;
}

void node_obs_block_seen(struct node_obs *o, enum node_seen_src src, int64_t delay_ms)
{
    /* A header time ahead of our clock (allowed up to max_future_ms) is no delay. */
    hist_add(&o->block_delay[src], delay_bounds_s, DELAY_BUCKETS,
             delay_ms > 0 ? (double)delay_ms / 1000.0 : 0);
}

void node_obs_tx_seen(struct node_obs *o, enum node_seen_src src, int64_t delay_ms)
{
    hist_add(&o->tx_delay[src], delay_bounds_s, DELAY_BUCKETS,
             delay_ms > 0 ? (double)delay_ms / 1000.0 : 0);
}

void node_obs_reorg(struct node_obs *o, uint32_t depth)
{
    o->reorgs++;
    hist_add(&o->reorg_depth, depth_bounds, DEPTH_BUCKETS, depth);
}

void node_obs_reject(struct node_obs *o, bool block, int reason)
{
    size_t i;
    for (i = 0; i < o->n_rejects; i++)
        if (o->rejects[i].block == block && o->rejects[i].reason == reason)
            break;
    if (i == o->n_rejects) {
        if (o->n_rejects == NODE_REJECT_REASONS_MAX) {
            /* Full: count under "other" (reason 0) of the last slot's kind. */
            for (i = 0; i < o->n_rejects; i++)
                if (o->rejects[i].block == block && o->rejects[i].reason == 0)
                    break;
            if (i == o->n_rejects)
                i = o->n_rejects - 1;
        } else {
            o->rejects[i] = (struct node_reject){ .block = block, .reason = reason };
            o->n_rejects++;
        }
    }
    o->rejects[i].count++;
}

static void histogram(FILE *f, const char *name, const char *label, const char *value,
                      const struct node_hist *h, const double *bounds, size_t nb)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= nb; i++) {
        cum += h->bucket[i];
        if (i < nb)
            fprintf(f, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label, value, bounds[i],
                    (unsigned long long)cum);
        else
            fprintf(f, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value,
                    (unsigned long long)cum);
    }
    fprintf(f, "%s_sum{%s=\"%s\"} %.17g\n", name, label, value, h->sum);
    fprintf(f, "%s_count{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)h->count);
}

/* Linux's /proc, as the Prometheus client libraries read it. */
static void process_families(FILE *f, const struct node *n)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        fprintf(f, "# HELP process_cpu_seconds_total Total user and system CPU time spent "
                   "in seconds.\n# TYPE process_cpu_seconds_total counter\n"
                   "process_cpu_seconds_total %.6f\n", cpu);
    }
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long vsz = 0, rss = 0;
    FILE *sm = fopen("/proc/self/statm", "r");
    if (sm) {
        if (fscanf(sm, "%llu %llu", &vsz, &rss) == 2) {
            family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            fprintf(f, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
            family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            fprintf(f, "process_virtual_memory_bytes %llu\n", vsz * (unsigned long long)page);
        }
        fclose(sm);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        size_t fds = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (e->d_name[0] != '.')
                fds++;
        closedir(d);
        gauge(f, "process_open_fds", "Number of open file descriptors.", (double)(fds - 1));
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(f, "process_max_fds", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
    gauge(f, "process_start_time_seconds", "Start time of the process since unix epoch in "
          "seconds.", (double)n->start_ms / 1000.0);
}

static void build_info(FILE *f)
{
    family(f, "gossipd_build_info", "gauge", "Build: version, compiler and libuv version.");
    fprintf(f, "gossipd_build_info{version=\"%s\",compiler=\"%s\",libuv=\"%s\"} 1\n",
            NODE_VERSION_STRING,
#if defined(__clang__)
            "clang " __clang_version__,
#elif defined(__GNUC__)
            "gcc " __VERSION__,
#else
            "unknown",
#endif
            uv_version_string());
}

static void observation_families(FILE *f, struct node *n)
{
    const struct node_obs *o = &n->obs;
    family(f, "gossipd_block_first_seen_delay_seconds", "histogram",
           "Header time to first seen, per source of the first copy.");
    for (int s = 0; s < NODE_SEEN_COUNT; s++)
        if (s != NODE_SEEN_REORG)
            histogram(f, "gossipd_block_first_seen_delay_seconds", "source", seen_names[s],
                      &o->block_delay[s], delay_bounds_s, DELAY_BUCKETS);
    family(f, "gossipd_tx_first_seen_delay_seconds", "histogram",
           "First announcement to body accepted (0 for local submissions), per source.");
    for (int s = 0; s < NODE_SEEN_COUNT; s++)
        if (s != NODE_SEEN_MINED)
            histogram(f, "gossipd_tx_first_seen_delay_seconds", "source", seen_names[s],
                      &o->tx_delay[s], delay_bounds_s, DELAY_BUCKETS);
    counter(f, "gossipd_reorgs_total", "Reorganisations of the best chain.", o->reorgs);
    family(f, "gossipd_reorg_depth_blocks", "histogram", "Blocks disconnected per reorg.");
    uint64_t cum = 0;
    for (size_t i = 0; i <= DEPTH_BUCKETS; i++) {
        cum += o->reorg_depth.bucket[i];
        if (i < DEPTH_BUCKETS)
            fprintf(f, "gossipd_reorg_depth_blocks_bucket{le=\"%g\"} %llu\n", depth_bounds[i],
                    (unsigned long long)cum);
        else
            fprintf(f, "gossipd_reorg_depth_blocks_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cum);
    }
    fprintf(f, "gossipd_reorg_depth_blocks_sum %.17g\ngossipd_reorg_depth_blocks_count %llu\n",
            o->reorg_depth.sum, (unsigned long long)o->reorg_depth.count);
    family(f, "gossipd_rejects_total", "counter", "Blocks and transactions rejected, by reason.");
    for (size_t i = 0; i < o->n_rejects; i++)
        fprintf(f, "gossipd_rejects_total{kind=\"%s\",reason=\"%s\"} %llu\n",
                o->rejects[i].block ? "block" : "tx",
                o->rejects[i].reason ? p2p_strerror(o->rejects[i].reason) : "other",
                (unsigned long long)o->rejects[i].count);
    uint8_t tip[32];
    struct chain_header h;
    uint32_t height;
    chain_tip(n->chain, tip);
    if (chain_get_header(n->chain, tip, &h, &height)) {
        uint64_t now = node_now_ms();
        gauge(f, "gossipd_tip_age_seconds", "Now minus the tip's header time.",
              now > h.time_ms ? (double)(now - h.time_ms) / 1000.0 : 0);
    }
    gauge(f, "gossipd_header_height", "Height of the most-work valid header.",
          chain_header_height(n->chain));
    build_info(f);
}

static void per_cmd(FILE *f, const char *name, const char *help, const uint64_t in[],
                    const uint64_t out[])
{
    family(f, name, "counter", help);
    for (int c = 0; c < P2P_CMD_COUNT; c++) {
        const char *cmd = p2p_cmd_name((enum p2p_cmd)c);
        fprintf(f, "%s{direction=\"in\",command=\"%s\"} %llu\n", name, cmd,
                (unsigned long long)in[c]);
        fprintf(f, "%s{direction=\"out\",command=\"%s\"} %llu\n", name, cmd,
                (unsigned long long)out[c]);
    }
}

char *node_metrics(void *ctx, size_t *len)
{
    struct node *n = ctx;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    gauge(f, "gossipd_warmup", "1 while the chain loads at start (RPC answers -28).",
          n->loading ? 1 : 0);
    if (n->loading) {
        /* The loop thread must not touch the chain while the worker loads it. */
        gauge(f, "gossipd_uptime_seconds", "Seconds since start.",
              (double)(node_now_ms() - n->start_ms) / 1000.0);
        build_info(f);
        process_families(f, n);
        goto done;
    }
    struct p2p_stats st;
    p2p_get_stats(n->p2p, &st);
    enum { BAN_LIST_MAX = 4096 };
    static struct p2p_ban_entry bans[BAN_LIST_MAX];   /* loop thread only */
    size_t nbans = p2p_list_bans(n->p2p, bans, BAN_LIST_MAX, node_now_ms());

    gauge(f, "gossipd_height", "Height of the best chain.", chain_height(n->chain));
    gauge(f, "gossipd_uptime_seconds", "Seconds since start.",
          (double)(node_now_ms() - n->start_ms) / 1000.0);
    family(f, "gossipd_peers", "gauge", "Connected peers by direction.");
    fprintf(f, "gossipd_peers{direction=\"inbound\"} %zu\n", st.inbound);
    fprintf(f, "gossipd_peers{direction=\"outbound\"} %zu\n", st.outbound);
    family(f, "gossipd_handshakes_total", "counter",
           "Peer handshakes completed, by transport (v2: encrypted).");
    fprintf(f, "gossipd_handshakes_total{transport=\"v1\"} %llu\n",
            (unsigned long long)n->handshakes_v1);
    fprintf(f, "gossipd_handshakes_total{transport=\"v2\"} %llu\n",
            (unsigned long long)n->handshakes_v2);
    gauge(f, "gossipd_mempool_txs", "Transactions in the mempool.",
          (double)chain_mempool_count(n->chain));
    gauge(f, "gossipd_mempool_bytes", "Serialized size of the mempool.",
          (double)chain_mempool_bytes(n->chain));
    gauge(f, "gossipd_orphan_txs", "Future-nonce transactions held aside.",
          (double)chain_mempool_orphans(n->chain));
    gauge(f, "gossipd_orphan_blocks", "Blocks held until their parent arrives.",
          (double)chain_orphan_blocks(n->chain));
    counter(f, "gossipd_orphan_blocks_total", "Blocks received before their parent.",
            n->orphan_blocks);
    per_cmd(f, "gossipd_messages_total", "P2P messages by command and direction.",
            st.msgs_recv, st.msgs_sent);
    per_cmd(f, "gossipd_bytes_total", "P2P bytes (with frame headers) by command and direction.",
            st.bytes_recv, st.bytes_sent);
    family(f, "gossipd_duplicates_total", "counter",
           "Items received that this node already had.");
    fprintf(f, "gossipd_duplicates_total{kind=\"tx_body\"} %llu\n",
            (unsigned long long)st.dup_tx_bodies);
    fprintf(f, "gossipd_duplicates_total{kind=\"block_body\"} %llu\n",
            (unsigned long long)st.dup_block_bodies);
    fprintf(f, "gossipd_duplicates_total{kind=\"inv\"} %llu\n", (unsigned long long)st.dup_invs);
    counter(f, "gossipd_txs_accepted_total", "Transactions accepted to the mempool.",
            st.txs_accepted);
    counter(f, "gossipd_txs_rejected_total", "Transactions rejected.", st.txs_rejected);
    counter(f, "gossipd_blocks_accepted_total", "Blocks accepted.", st.blocks_accepted);
    counter(f, "gossipd_blocks_rejected_total", "Blocks rejected.", st.blocks_rejected);
    counter(f, "gossipd_blocks_mined_total", "Blocks this node mined.", n->blocks_mined);
    counter(f, "gossipd_recon_rounds_total", "Mempool reconciliation rounds started.",
            st.recon_rounds);
    counter(f, "gossipd_recon_work_total",
            "Entries examined answering reconciliation (budgeted per peer and node).",
            st.recon_work);
    counter(f, "gossipd_recon_throttled_total",
            "Reconciliation messages dropped or cut short by the work budget.",
            st.recon_throttled);
    counter(f, "gossipd_recon_diffs_total", "Txids found missing by reconciliation.",
            st.recon_diffs);
    counter(f, "gossipd_sigs_offloaded_total",
            "Tx signatures checked on the worker threads (-par).", st.sigs_offloaded);
    counter(f, "gossipd_tx_pushed_total",
            "Tx bodies pushed eagerly on learned links (--relay=push).", st.tx_pushed);
    counter(f, "gossipd_push_grafts_total", "Eager-push links grafted (asked to push).",
            st.push_grafts);
    counter(f, "gossipd_push_prunes_total", "Eager-push links pruned.", st.push_prunes);
    counter(f, "gossipd_send_stalls_total",
            "Peers dropped for not reading what we sent (send-stalled).", st.send_stalls);
    gauge(f, "gossipd_send_queue_bytes", "Bytes queued to all peers and not yet written.",
          (double)st.send_queue_bytes);
    counter(f, "gossipd_misbehaviours_total", "Peer rule violations.", st.misbehaviours);
    counter(f, "gossipd_local_errors_total",
            "Local failures (out of memory, chain/store) while serving peers; never scored.",
            st.local_errors);
    counter(f, "gossipd_bans_total", "Bans imposed.", st.bans);
    gauge(f, "gossipd_banned", "Addresses banned now.", (double)nbans);
    node_store_check(n);
    gauge(f, "gossipd_safe_mode", "1 while a failed store write keeps the node in safe mode.",
          n->safe_mode ? 1 : 0);
    counter(f, "gossipd_store_errors_total", "Chain store statements that failed.",
            chain_store_error(n->chain)->count);
    counter(f, "gossipd_store_commits_total",
            "Chain store commits (each one fsync of chain.db's WAL with -dbfsync=1).",
            chain_store_commits(n->chain));
    gauge(f, "gossipd_mining_hashes_per_second", "Local hash rate (--mine).",
          node_miner_hashrate(n));
    gauge(f, "gossipd_rpc_connections", "Open JSON-RPC connections.",
          n->rpc ? (double)node_rpc_connections(n->rpc) : 0);
    observation_families(f, n);
    process_families(f, n);
done:
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}
