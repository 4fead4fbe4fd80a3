/* /metrics: Prometheus text exposition format (version 0.0.4). Counter
 * names end in _total; every family has HELP and TYPE lines. */
#include <stdio.h>
#include <stdlib.h>

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
    counter(f, "gossipd_recon_diffs_total", "Txids found missing by reconciliation.",
            st.recon_diffs);
    counter(f, "gossipd_misbehaviours_total", "Peer rule violations.", st.misbehaviours);
    counter(f, "gossipd_bans_total", "Bans imposed.", st.bans);
    gauge(f, "gossipd_banned", "Addresses banned now.", (double)nbans);
    node_store_check(n);
    gauge(f, "gossipd_safe_mode", "1 while a failed store write keeps the node in safe mode.",
          n->safe_mode ? 1 : 0);
    counter(f, "gossipd_store_errors_total", "Chain store statements that failed.",
            chain_store_error(n->chain)->count);
    gauge(f, "gossipd_mining_hashes_per_second", "Local hash rate (--mine).",
          node_miner_hashrate(n));
    gauge(f, "gossipd_rpc_connections", "Open JSON-RPC connections.",
          n->rpc ? (double)node_rpc_connections(n->rpc) : 0);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}
