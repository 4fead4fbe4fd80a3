/* gossipd wiring: chain, p2p core, transport, RPC, logs and miner on one
 * loop. The p2p and chain events become log lines (schema in
 * docs/LOGGING.md) and propagation records (getpropagation). */
#include "node/node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hex.h"
#include "crypto/sec.h"
#include "crypto/sig.h"
#include "node/keyfile.h"
#include "node/net.h"
#include "node/verify.h"
#include "node/proc.h"

uint64_t node_now_ms(void)
{
    return node_net_now_ms();   /* one clock for chain, core and logs */
}

static const char *inv_type_name(uint32_t type)
{
    return type == P2P_INV_BLOCK ? "block" : "tx";
}

static void peer_fields(struct node *n, uint64_t peer, char addr[P2P_ADDR_STRLEN],
                        const char **name)
{
    const struct p2p_addr *a = peer ? p2p_peer_addr(n->p2p, peer) : NULL;
    if (a)
        p2p_addr_format(a, addr);
    else
        addr[0] = '\0';
    *name = peer ? p2p_peer_name(n->p2p, peer) : "";
}

/* ------------------------------------------------------------ p2p events */

static void ev_peer_connected(void *ctx, const struct p2p_peer_info *pi)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    p2p_addr_format(&pi->addr, addr);
    if (pi->v2)
        n->handshakes_v2++;
    else
        n->handshakes_v1++;
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "peer_connected", LF_UINT("peer", pi->id),
             LF_STR("addr", addr), LF_BOOL("inbound", pi->inbound), LF_STR("peer_name", pi->name),
             LF_STR("user_agent", pi->user_agent), LF_INT("start_height", pi->start_height),
             LF_STR("transport", pi->v2 ? "v2" : "v1"));
}

static void ev_peer_disconnected(void *ctx, const struct p2p_peer_info *pi, const char *reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    p2p_addr_format(&pi->addr, addr);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "peer_disconnected",
             LF_UINT("peer", pi->id), LF_STR("addr", addr), LF_STR("peer_name", pi->name),
             LF_STR("reason", reason), LF_BOOL("inbound", pi->inbound));
}

static void ev_inv_received(void *ctx, uint64_t peer, uint32_t type, const uint8_t hash[32],
                            bool known)
{
    struct node *n = ctx;
    struct node_prop_rec *r = node_prop_get_or_add(&n->prop, hash, type, NULL);
    if (r) {
        r->invs_received++;
        if (!r->first_inv_ms)
            r->first_inv_ms = node_now_ms();
    }
    if (node_log_enabled(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_P2P)) {
        char addr[P2P_ADDR_STRLEN];
        const char *name;
        peer_fields(n, peer, addr, &name);
        NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_P2P, "inv_received",
                 LF_STR("type", inv_type_name(type)), LF_HASH("hash", hash), LF_UINT("peer", peer),
                 LF_STR("peer_name", name), LF_BOOL("known", known));
    }
}

static void ev_tx_accepted(void *ctx, const uint8_t txid[32], enum p2p_source src,
                           uint64_t peer, size_t size, bool first_seen)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    const char *name;
    peer_fields(n, peer, addr, &name);
    struct node_prop_rec *r = node_prop_get_or_add(&n->prop, txid, P2P_INV_TX, NULL);
    if (r && !r->first_seen_ms) {
        r->first_seen_ms = node_now_ms();
        /* From the first inv to the body: what pulling costs. A local
         * submission, or a tx pushed without an inv, counts as 0. */
        node_obs_tx_seen(&n->obs, src == P2P_SRC_PEER ? NODE_SEEN_PEER
                                  : src == P2P_SRC_RPC ? NODE_SEEN_RPC : NODE_SEEN_REORG,
                         r->first_inv_ms ? (int64_t)(r->first_seen_ms - r->first_inv_ms) : 0);
        snprintf(r->source, sizeof r->source, "%s", p2p_source_name(src));
        r->peer = peer;
        snprintf(r->peer_name, sizeof r->peer_name, "%s", name);
        snprintf(r->peer_addr, sizeof r->peer_addr, "%s", addr);
    }
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "tx_accepted", LF_HASH("txid", txid),
             LF_STR("source", p2p_source_name(src)), LF_UINT("peer", peer),
             LF_STR("peer_name", name), LF_UINT("size", size), LF_BOOL("first_seen", first_seen));
}

static void ev_tx_rejected(void *ctx, const uint8_t txid[32], enum p2p_source src,
                           uint64_t peer, int reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    const char *name;
    peer_fields(n, peer, addr, &name);
    node_obs_reject(&n->obs, false, reason);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "tx_rejected", LF_HASH("txid", txid),
             LF_STR("source", p2p_source_name(src)), LF_UINT("peer", peer), LF_STR("peer_name", name),
             LF_STR("reason", p2p_strerror(reason)));
}

static void ev_tx_duplicate(void *ctx, const uint8_t txid[32], uint64_t peer)
{
    struct node *n = ctx;
    struct node_prop_rec *r = node_prop_find(&n->prop, txid);
    if (r)
        r->dup_bodies++;
    /* Info level: pulling makes duplicate bodies rare, and the propagation
     * report counts them as redundancy. */
    char addr[P2P_ADDR_STRLEN];
    const char *name;
    peer_fields(n, peer, addr, &name);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "tx_duplicate", LF_HASH("txid", txid),
             LF_UINT("peer", peer), LF_STR("peer_name", name));
}

static void ev_block_received(void *ctx, const uint8_t hash[32], uint32_t height, uint64_t peer,
                              size_t size, size_t txs, uint64_t time_ms, bool first_seen)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    const char *name;
    peer_fields(n, peer, addr, &name);
    uint64_t now = node_now_ms();
    int64_t delay = (int64_t)now - (int64_t)time_ms;
    if (height == 0 && first_seen)
        n->orphan_blocks++;   /* parent unknown when it arrived */
    struct node_prop_rec *r = node_prop_get_or_add(&n->prop, hash, P2P_INV_BLOCK, NULL);
    if (r) {
        if (!r->first_seen_ms) {
            r->first_seen_ms = now;
            snprintf(r->source, sizeof r->source, "peer");
            r->peer = peer;
            snprintf(r->peer_name, sizeof r->peer_name, "%s", name);
            snprintf(r->peer_addr, sizeof r->peer_addr, "%s", addr);
            r->delay_ms = delay;
            r->height = height;
            node_obs_block_seen(&n->obs, NODE_SEEN_PEER, delay);
        } else if (!first_seen) {
            r->dup_bodies++;
        }
        if (height)
            r->height = height;
    }
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "block_received", LF_HASH("hash", hash),
             LF_UINT("height", height), LF_UINT("peer", peer), LF_STR("peer_name", name),
             LF_UINT("size", size), LF_UINT("txs", txs), LF_INT("delay_ms", delay),
             LF_BOOL("first_seen", first_seen));
}

static void ev_block_rejected(void *ctx, const uint8_t hash[32], uint64_t peer, int reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    const char *name;
    peer_fields(n, peer, addr, &name);
    node_obs_reject(&n->obs, true, reason);
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "block_rejected", LF_HASH("hash", hash),
             LF_UINT("peer", peer), LF_STR("peer_name", name),
             LF_STR("reason", p2p_strerror(reason)));
}

static void ev_announced(void *ctx, uint32_t type, const uint8_t hash[32], size_t peers)
{
    struct node *n = ctx;
    struct node_prop_rec *r = node_prop_get_or_add(&n->prop, hash, type, NULL);
    if (r) {
        r->announced_peers += (uint32_t)peers;
        if (!r->announced_ms)
            r->announced_ms = node_now_ms();
    }
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "announced",
             LF_STR("type", inv_type_name(type)), LF_HASH("hash", hash), LF_UINT("peers", peers));
}

static void ev_misbehaviour(void *ctx, uint64_t peer, const struct p2p_addr *a, int score,
                            const char *reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN] = "";
    if (a)
        p2p_addr_format(a, addr);
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "misbehaviour", LF_UINT("peer", peer),
             LF_STR("addr", addr), LF_STR("peer_name", p2p_peer_name(n->p2p, peer)),
             LF_INT("score", score), LF_STR("reason", reason));
}

static void ev_ban(void *ctx, const struct p2p_addr *a, uint64_t duration_ms, const char *reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    p2p_addr_format_ip(a, addr);
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "ban", LF_STR("addr", addr),
             LF_UINT("duration_ms", duration_ms), LF_STR("reason", reason));
}

static void ev_discouraged(void *ctx, uint64_t peer, const struct p2p_addr *a,
                           const char *reason)
{
    struct node *n = ctx;
    char addr[P2P_ADDR_STRLEN];
    p2p_addr_format_ip(a, addr);
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "discouraged", LF_UINT("peer", peer),
             LF_STR("addr", addr), LF_STR("reason", reason));
}

static void ev_local_error(void *ctx, uint64_t peer, int err)
{
    struct node *n = ctx;
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "local_error", LF_UINT("peer", peer),
             LF_STR("error", p2p_strerror(err)));
}

uint64_t node_now_us(void)
{
    return uv_hrtime() / 1000;
}

static struct node_ping *ping_slot(struct node *n, uint64_t peer)
{
    struct node_ping *s = &n->pings[peer & (NODE_PING_SLOTS - 1)];
    if (s->peer != peer)
        *s = (struct node_ping){ .peer = peer, .last_us = -1, .min_us = -1 };
    return s;
}

const struct node_ping *node_ping_of(const struct node *n, uint64_t peer)
{
    const struct node_ping *s = &n->pings[peer & (NODE_PING_SLOTS - 1)];
    return s->peer == peer ? s : NULL;
}

static void ping_event(struct node *n, uint64_t peer, const char *cmd, bool sent)
{
    if (cmd[0] != 'p' || cmd[1] != 'i' + (sent ? 0 : 'o' - 'i'))
        return;   /* fast path: neither ping nor pong */
    if (sent && strcmp(cmd, "ping") == 0) {
        ping_slot(n, peer)->sent_us = node_now_us();
    } else if (!sent && strcmp(cmd, "pong") == 0) {
        struct node_ping *s = ping_slot(n, peer);
        if (!s->sent_us)
            return;
        s->last_us = (int64_t)(node_now_us() - s->sent_us);
        if (s->min_us < 0 || s->last_us < s->min_us)
            s->min_us = s->last_us;
        s->sent_us = 0;
    }
}

static void ev_ping_sent(void *ctx, uint64_t peer, const char *cmd, size_t bytes)
{
    ping_event(ctx, peer, cmd, true);
}

static void ev_ping_recv(void *ctx, uint64_t peer, const char *cmd, size_t bytes)
{
    ping_event(ctx, peer, cmd, false);
}

static void ev_msg_sent(void *ctx, uint64_t peer, const char *cmd, size_t bytes)
{
    struct node *n = ctx;
    ping_event(n, peer, cmd, true);
    NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_NET, "msg_sent", LF_UINT("peer", peer),
             LF_STR("peer_name", p2p_peer_name(n->p2p, peer)), LF_STR("cmd", cmd),
             LF_UINT("bytes", bytes));
}

static void ev_msg_recv(void *ctx, uint64_t peer, const char *cmd, size_t bytes)
{
    struct node *n = ctx;
    ping_event(n, peer, cmd, false);
    NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_NET, "msg_recv", LF_UINT("peer", peer),
             LF_STR("peer_name", p2p_peer_name(n->p2p, peer)), LF_STR("cmd", cmd),
             LF_UINT("bytes", bytes));
}

/* ------------------------------------------------------------ chain events */

static void ev_block_connected(void *ctx, const uint8_t hash[32], uint32_t height,
                               const struct chain_block *b)
{
    struct node *n = ctx;
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "block_connected", LF_HASH("hash", hash),
             LF_UINT("height", height), LF_UINT("txs", b ? b->n_tx : 0));
    node_miner_tip_changed(n);
    node_waits_tip_changed(n);
    node_notify_block_connected(n->notify, hash, b);
}

static void ev_tx_added(void *ctx, const uint8_t txid[32], const struct chain_tx *tx,
                        uint64_t origin_tag)
{
    (void)origin_tag;
    struct node *n = ctx;
    node_notify_tx_added(n->notify, txid, tx);
}

static void ev_tx_removed(void *ctx, const uint8_t txid[32], const struct chain_tx *tx,
                          int reason)
{
    (void)tx;
    struct node *n = ctx;
    NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_MEMPOOL, "tx_removed", LF_HASH("txid", txid),
             LF_STR("reason", chain_tx_removal_name(reason)));
    node_notify_tx_removed(n->notify, txid);
}

static void ev_block_disconnected(void *ctx, const uint8_t hash[32], uint32_t height)
{
    struct node *n = ctx;
    node_notify_block_disconnected(n->notify, hash);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "block_disconnected",
             LF_HASH("hash", hash), LF_UINT("height", height));
}

static void ev_reorg(void *ctx, const uint8_t old_tip[32], const uint8_t new_tip[32],
                     uint32_t depth)
{
    struct node *n = ctx;
    node_obs_reorg(&n->obs, depth);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "reorg", LF_HASH("old_tip", old_tip),
             LF_HASH("new_tip", new_tip), LF_UINT("depth", depth));
    node_miner_tip_changed(n);
    node_waits_tip_changed(n);
}

/* ------------------------------------------------------------ seeds */

static int seed_connect(struct node *n, const struct node_seed *s, const struct p2p_addr *a)
{
    return s->has_key ? p2p_connect_addr_key(n->p2p, a, s->key, node_now_ms())
                      : p2p_connect_addr(n->p2p, a, node_now_ms());
}

/* "[PUBKEY@]HOST:PORT" into s. 0 or -1. */
static int seed_parse(struct node_seed *s, const char *entry)
{
    const char *hp = node_config_connect_split(entry, s->key, &s->has_key);
    if (!hp || node_config_split_hostport(hp, s->host, sizeof s->host, &s->port) != 0)
        return -1;
    return 0;
}

static void seed_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct node_seed *s = req->data;
    struct node *n = s->node;
    s->resolving = false;
    if (status != 0 || !res || n->stopping) {
        if (res)
            uv_freeaddrinfo(res);
        if (status != 0 && status != UV_ECANCELED && !n->stopping) {
            /* Warn once per name (a typo shows at the default level); the
             * retries every NODE_RESOLVE_RETRY_MS are debug lines. */
            NODE_LOG(&n->log, s->warned ? NODE_LOG_DEBUG : NODE_LOG_WARN, NODE_LOG_CAT_P2P,
                     "resolve_failed", LF_STR("host", s->host),
                     LF_STR("reason", uv_strerror(status)));
            s->warned = true;
        }
        return;
    }
    /* Every address of the name, so that a name for several nodes (a swarm
     * service's tasks.NAME, a DNS seed) gives a connection to each. IPv4
     * only when the name has any: "localhost" and container names often
     * list both families for one host. */
    bool v4 = false;
    for (const struct addrinfo *r = res; r; r = r->ai_next)
        v4 |= r->ai_family == AF_INET;
    size_t added = 0;
    for (const struct addrinfo *r = res; r && added < NODE_SEED_ADDRS_MAX; r = r->ai_next) {
        char ip[64] = "";
        if (r->ai_family == AF_INET)
            uv_ip4_name((const struct sockaddr_in *)r->ai_addr, ip, sizeof ip);
        else if (r->ai_family == AF_INET6 && !v4)
            uv_ip6_name((const struct sockaddr_in6 *)r->ai_addr, ip, sizeof ip);
        else
            continue;
        char hp[96];
        snprintf(hp, sizeof hp, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, (unsigned)s->port);
        struct p2p_addr a;
        if (p2p_addr_parse(&a, hp, s->port) != 0)
            continue;
        int rc = seed_connect(n, s, &a);
        if (rc == 0 || rc == P2P_ERR_EXISTS)
            s->resolved = true;
        added++;
        NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_P2P, "seed_added",
                 LF_STR("host", s->host), LF_STR("addr", hp), LF_INT("rc", rc));
    }
    uv_freeaddrinfo(res);
}

static void resolve_seeds(struct node *n)
{
    bool pending = false;
    for (size_t i = 0; i < n->n_seeds; i++) {
        struct node_seed *s = &n->seeds[i];
        if (s->resolved || s->resolving)
            continue;
        pending = true;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        s->req.data = s;
        if (uv_getaddrinfo(n->loop, &s->req, seed_resolved, s->host, NULL, &hints) == 0)
            s->resolving = true;
    }
    if (!pending)
        uv_timer_stop(&n->resolve_timer);
}

static void on_resolve_timer(uv_timer_t *t)
{
    resolve_seeds(t->data);
}

int node_add_seed(struct node *n, const char *hostport)
{
    if (n->n_seeds >= NODE_CONFIG_CONNECT_MAX)
        return -1;
    struct node_seed *s = &n->seeds[n->n_seeds];
    memset(s, 0, sizeof *s);
    if (seed_parse(s, hostport) != 0)
        return -1;
    for (size_t i = 0; i < n->n_seeds; i++)
        if (strcmp(n->seeds[i].host, s->host) == 0 && n->seeds[i].port == s->port)
            return 1;
    s->node = n;
    n->n_seeds++;
    resolve_seeds(n);
    if (!uv_is_active((uv_handle_t *)&n->resolve_timer))
        uv_timer_start(&n->resolve_timer, on_resolve_timer, NODE_RESOLVE_RETRY_MS,
                       NODE_RESOLVE_RETRY_MS);
    return 0;
}

/* ------------------------------------------------------------ kick */

/* Before each poll, let the transport re-arm its timer from the core's
 * deadline: RPC calls (submit, addnode, bans, generate) and the miner call
 * into the core from outside the transport and may move it earlier. */
static void on_kick(uv_prepare_t *h)
{
    struct node *n = h->data;
    if (n->net && !n->stopping)
        node_net_kick(n->net);
}

/* ------------------------------------------------------------ stop */

static void on_signal(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "signal",
             LF_STR("signal", signum == SIGINT ? "SIGINT" : "SIGTERM"));
    node_request_stop(n);
}

static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct node *n = t->data;
    /* Deferred by a loop turn so the `stop` RPC's answer is written first. */
    node_miner_stop(n);
    if (n->started && n->p2p)
        node_peers_save(n, true);   /* before the transport closes: anchors are live peers */
    if (n->rpc)
        node_rpc_close(n->rpc, NULL, NULL);
    if (n->net)
        node_net_close(n->net);
    close_handle((uv_handle_t *)&n->sig_int);
    close_handle((uv_handle_t *)&n->sig_term);
    close_handle((uv_handle_t *)&n->resolve_timer);
    close_handle((uv_handle_t *)&n->stop_timer);
    close_handle((uv_handle_t *)&n->save_timer);
    close_handle((uv_handle_t *)&n->store_timer);
    node_waits_close(n);
    node_notify_stop(n->notify);
    /* A name lookup still queued must not hold the loop (slow DNS). */
    for (size_t i = 0; i < n->n_seeds; i++)
        if (n->seeds[i].resolving)
            uv_cancel((uv_req_t *)&n->seeds[i].req);
    close_handle((uv_handle_t *)&n->kick);
}

void node_request_stop(struct node *n)
{
    if (n->stopping)
        return;
    n->stopping = true;
    node_miner_stop(n);
    if (n->handles_up)
        uv_timer_start(&n->stop_timer, on_stop_timer, 10, 0);
}

/* ------------------------------------------------------------ mempool file */

/* The mempool survives a restart: every NODE_SAVE_INTERVAL_MS and at a
 * clean stop the node writes every tx (hex, a line each, nonces ascending
 * so a sender's txs reload in order) to DATADIR/mempool.dat (a temporary
 * file, fsync, rename, fsync of the directory: a crash leaves the old file
 * or the new one), and node_init loads them back before the p2p core
 * exists (so nothing is announced or logged as new; anti-entropy spreads
 * them once peers connect). A tx no longer valid is dropped. The node's
 * own txs do not depend on this file: they are in the store (own_tx). */
#define NODE_MEMPOOL_FILE "mempool.dat"

static int cmp_nonce(const void *a, const void *b)
{
    const struct chain_tx *x = *(const struct chain_tx *const *)a;
    const struct chain_tx *y = *(const struct chain_tx *const *)b;
    return x->nonce < y->nonce ? -1 : x->nonce > y->nonce;
}

struct mempool_lines {
    const struct chain_tx **txs;
    size_t n;
};

static bool emit_mempool(FILE *f, void *ctx)
{
    const struct mempool_lines *m = ctx;
    bool ok = true;
    for (size_t i = 0; i < m->n && ok; i++) {
        uint8_t buf[TX_SIZE_MAX];
        char hex[2 * TX_SIZE_MAX + 1];
        struct wr w;
        wr_init_fixed(&w, buf, sizeof buf);
        if (!chain_tx_encode(&w, m->txs[i]))
            continue;
        hex_encode(hex, buf, w.len);
        ok = fprintf(f, "%s\n", hex) > 0;
    }
    return ok;
}

/* Logged at info at a clean stop, at debug when periodic. */
static void mempool_save(struct node *n, bool at_stop)
{
    size_t count = chain_mempool_count(n->chain);
    uint8_t (*ids)[32] = malloc((count ? count : 1) * sizeof *ids);
    const struct chain_tx **txs = malloc((count ? count : 1) * sizeof *txs);
    if (!ids || !txs) {
        free(ids);
        free(txs);
        return;
    }
    count = chain_mempool_txids(n->chain, ids, count);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        const struct chain_tx *tx = chain_mempool_get(n->chain, ids[i]);
        if (tx)
            txs[k++] = tx;
    }
    qsort(txs, k, sizeof *txs, cmp_nonce);
    struct mempool_lines m = { txs, k };
    if (node_file_write_atomic(n, NODE_MEMPOOL_FILE, emit_mempool, &m) == 0)
        NODE_LOG(&n->log, at_stop ? NODE_LOG_INFO : NODE_LOG_DEBUG, NODE_LOG_CAT_NONE,
                 "mempool_saved", LF_UINT("txs", k));
    free(ids);
    free(txs);
}

/* On the warm-up's worker: counts in n->load, logged by load_done. */
static void mempool_load(struct node *n)
{
    char path[NODE_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, NODE_MEMPOOL_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[2 * TX_SIZE_MAX + 8];
    size_t loaded = 0, dropped = 0;
    uint64_t now = node_now_ms();
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        uint8_t buf[TX_SIZE_MAX];
        long len = hex_decode_var(buf, sizeof buf, line);
        struct chain_tx tx;
        if (len > 0 && chain_tx_parse(&tx, buf, (size_t)len) == 0 &&
            chain_mempool_accept(n->chain, &tx, CHAIN_ORIGIN_NONE, now) > 0)
            loaded++;
        else
            dropped++;
    }
    fclose(f);
    n->load.mp_loaded = loaded;
    n->load.mp_dropped = dropped;
}

/* ------------------------------------------------------------ own txs */

int node_submit_own_tx(struct node *n, const struct chain_tx *tx)
{
    uint8_t txid[32];
    chain_tx_txid(tx, txid);
    int added = chain_own_tx_add(n->chain, tx);
    if (added < 0) {
        NODE_LOG(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "own_tx_store_failed",
                 LF_HASH("txid", txid), LF_STR("reason", chain_strerror(added)));
        node_store_check(n);
        return added;
    }
    int rc = p2p_submit_tx(n->p2p, tx, node_now_ms());
    /* A rejected tx was never acknowledged: forget it (if the delete fails
     * the row is dropped at the next start, when its nonce is taken). */
    if (rc < 0 && rc != CHAIN_ERR_TX_DUPLICATE && added == 0)
        chain_own_tx_del(n->chain, txid);
    return rc;
}

uint64_t node_own_next_nonce(const struct node *n)
{
    uint64_t pool = chain_account_next_nonce(n->chain, n->key_pk);
    uint64_t own = chain_own_next_nonce(n->chain, n->key_pk);
    return own > pool ? own : pool;
}

/* Submit (and so announce) every unconfirmed own tx the mempool lacks:
 * at start (the mempool may have been lost with a crash) and every
 * NODE_SAVE_INTERVAL_MS (expired or evicted ones). One whose nonce another
 * confirmed tx took can never confirm and is dropped. */
static void own_txs_resubmit(struct node *n, bool at_start)
{
    size_t count = chain_own_tx_count(n->chain);
    if (count == 0)
        return;
    struct chain_tx *txs = malloc(count * sizeof *txs);
    if (!txs)
        return;
    count = chain_own_txs(n->chain, txs, count);
    size_t back = 0, dropped = 0, kept = 0;
    uint64_t now = node_now_ms();
    for (size_t i = 0; i < count; i++) {
        uint8_t txid[32];
        chain_tx_txid(&txs[i], txid);
        if (!at_start && chain_mempool_has(n->chain, txid))
            continue;
        int rc = p2p_submit_tx(n->p2p, &txs[i], now);
        if (rc > 0 || rc == CHAIN_ERR_TX_DUPLICATE) {
            back++;
        } else if (rc == CHAIN_ERR_TX_NONCE_TOO_OLD && chain_own_tx_del(n->chain, txid) == 0) {
            dropped++;
        } else {
            kept++;
        }
    }
    free(txs);
    if (at_start || dropped || kept || back)
        NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "own_txs_resubmitted",
                 LF_BOOL("at_start", at_start), LF_UINT("submitted", back),
                 LF_UINT("dropped", dropped), LF_UINT("kept", kept));
}

static void on_save_timer(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->stopping)
        return;
    mempool_save(n, false);
    node_peers_save(n, false);
    own_txs_resubmit(n, false);
}

/* ------------------------------------------------------------ safe mode */

/* A store write that fails (ENOSPC, EIO, ...) puts the node in safe mode:
 * the miner stops, generate and the tx RPCs answer RPC_DATABASE_ERROR with
 * the reason, getblockchaininfo `warnings` and /metrics show it. Reads,
 * peers and relay go on. Every NODE_STORE_PROBE_MS a write probe
 * (chain_store_probe) runs; when one succeeds the node leaves safe mode. */
bool node_store_check(struct node *n)
{
    const struct chain_store_error *e = chain_store_error(n->chain);
    if (e->count == n->store_errors_seen)
        return n->safe_mode;
    n->store_errors_seen = e->count;
    const char *why = e->sys_errno ? strerror(e->sys_errno) : "no OS error";
    NODE_LOG(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "store_error",
             LF_STR("reason", why), LF_INT("errno", e->sys_errno), LF_INT("sqlite_code", e->code),
             LF_STR("sqlite_msg", e->msg), LF_UINT("errors", e->count),
             LF_BOOL("safe_mode", true));
    if (!n->safe_mode) {
        snprintf(n->safe_reason, sizeof n->safe_reason,
                 "safe mode: a chain store write failed (%s: %s); no mining and no new txs "
                 "until the store takes writes again", why, e->msg);
        n->safe_mode = true;
        n->last_probe_ms = node_now_ms();
        node_miner_stop(n);
    }
    return true;
}

static void on_store_timer(uv_timer_t *t)
{
    struct node *n = t->data;
    if (n->stopping || !node_store_check(n))
        return;
    uint64_t now = node_now_ms();
    if (now - n->last_probe_ms < NODE_STORE_PROBE_MS)
        return;
    n->last_probe_ms = now;
    if (chain_store_probe(n->chain) != 0) {
        n->store_errors_seen = chain_store_error(n->chain)->count;   /* the probe's own */
        NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_NONE, "store_probe_failed",
                 LF_STR("sqlite_msg", chain_store_error(n->chain)->msg));
        return;
    }
    n->safe_mode = false;
    n->safe_reason[0] = '\0';
    NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "safe_mode_off",
             LF_STR("reason", "a probe write succeeded"));
    if (n->cfg.mine)
        node_miner_start(n);
}

/* ------------------------------------------------------------ RPC exposure */

static bool is_loopback(const char *bind)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    if (strcmp(bind, "localhost") == 0)
        return true;
    if (uv_ip4_addr(bind, 0, &a4) == 0)
        return (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
    if (uv_ip6_addr(bind, 0, &a6) != 0)
        return false;
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const uint8_t *b = a6.sin6_addr.s6_addr;
    if (memcmp(b, v4mapped, 12) == 0)
        return b[12] == 127;
    return memcmp(b, &in6addr_loopback, 16) == 0;
}

const char *node_rpc_exposure(const char *bind, const char *user, const char *password)
{
    if (is_loopback(bind))
        return NULL;
    if (!user[0] || !password[0])
        return "no --rpc-user/--rpc-password: the cookie file is the only credential";
    if (strlen(password) < NODE_RPC_PASSWORD_MIN_LEN)
        return "--rpc-password is shorter than 16 characters";
    if (strcmp(user, password) == 0)
        return "--rpc-password equals --rpc-user";
    return NULL;
}

/* ------------------------------------------------------------ init */

/* The node key (made by load_work on the first start). */
static int load_node_key(struct node *n)
{
    int rc = chain_store_key_get(n->chain, n->key_sk);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "node key: %s", chain_strerror(rc));
        return -1;
    }
    memcpy(n->key_pk, n->key_sk + 32, 32);
    memcpy(n->mine_pk, n->key_pk, 32);
    const char *mk = n->cfg.mine_key;
    if (!mk[0])
        return 0;
    if (strlen(mk) == 64 && hex_decode(n->mine_pk, 32, mk) == 0)
        return 0;
    uint8_t seed[32], pk[32], sk[64];
    rc = node_keyfile_read(mk, seed);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "--mine-key %s: neither an address (64 hex) nor a readable key file (%s)",
                     mk, strerror(-rc));
        return -1;
    }
    sig_keypair_from_seed(pk, sk, seed);
    memcpy(n->mine_pk, pk, 32);
    sec_wipe(seed, sizeof seed);
    sec_wipe(sk, sizeof sk);
    return 0;
}

/* The v2 node key (DATADIR/p2p.key, made on first start) and the
 * --peerkeys allowlist. Without v2 neither is needed. */
static int load_p2p_key(struct node *n)
{
    const struct node_config *cfg = &n->cfg;
    if (!cfg->v2transport)
        return 0;
    char path[NODE_CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", cfg->datadir, NODE_P2P_KEY_FILE);
    uint8_t seed[32];
    int created = 0;
    int rc = node_keyfile_load_or_create(path, seed, &created);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "p2p key %s: %s", path, strerror(-rc));
        return -1;
    }
    sig_keypair_from_seed(n->p2p_pk, n->p2p_sk, seed);
    sec_wipe(seed, sizeof seed);
    n->have_p2p_key = true;
    size_t len = strlen(cfg->peerkeys);
    size_t cap = len / 64 + 1;
    n->peerkeys = calloc(cap, 32);
    if (!n->peerkeys)
        return -1;
    for (const char *c = cfg->peerkeys; *c;) {
        while (*c == ',' || *c == ' ')
            c++;
        if (!*c)
            break;
        size_t k = strcspn(c, ", ");
        char hex[65] = "";
        if (k == 64)
            memcpy(hex, c, 64);
        hex[64] = '\0';
        if (k != 64 || n->n_peerkeys >= P2P_MAX_ALLOWED_KEYS ||
            hex_decode(n->peerkeys[n->n_peerkeys], 32, hex) != 0) {
            node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                         "--peerkeys: expected up to %u keys of 64 hex digits, got '%.*s'",
                         (unsigned)P2P_MAX_ALLOWED_KEYS, (int)k, c);
            return -1;
        }
        n->n_peerkeys++;
        c += k;
    }
    char pk[65];
    hex_encode(pk, n->p2p_pk, 32);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_P2P, "p2p_key", LF_STR("key", pk),
             LF_BOOL("created", created), LF_UINT("allowed_keys", n->n_peerkeys));
    return 0;
}

/* ------------------------------------------------------------ store checks */

/* What a corrupt store's startup error tells the operator to do. */
#define NODE_RECOVERY_HINT \
    "restart with --reindex to rebuild the index and ledger from the stored blocks " \
    "(blocks lost to the damage are fetched again from peers), or move %s away to " \
    "resync from peers"

/* Into n->load.msg: the startup_failed text for a corrupt store. */
static void store_corrupt(struct node *n, const char *db, const char *what)
{
    char hint[NODE_CONFIG_PATH_MAX + 256];
    snprintf(hint, sizeof hint, NODE_RECOVERY_HINT, db);
    snprintf(n->load.msg, sizeof n->load.msg, "the block store %s is corrupt: %s. To recover: %s",
             db, what, hint);
}

/* The warm-up's steps, as bitcoind words its -28 messages. */
#define NODE_STEP_STARTING  "Starting..."
#define NODE_STEP_VERIFY_DB "Verifying the block store..."
#define NODE_STEP_REINDEX   "Reindexing blocks..."
#define NODE_STEP_INDEX     "Loading block index..."
#define NODE_STEP_BLOCKS    "Verifying blocks..."
#define NODE_STEP_MEMPOOL   "Loading mempool..."
#define NODE_STEP_P2P       "Starting network threads..."

static void load_step(struct node *n, const char *step)
{
    atomic_store(&n->load.step, step);
}

const char *node_warmup_status(struct node *n)
{
    return n->loading ? atomic_load(&n->load.step) : NULL;
}

/* On the first start: the node key (it signs our txs and is paid the
 * coinbase of the blocks we mine) is made and stored; chain_store_key_put
 * syncs it even without -dbfsync, since it must never be lost once a block
 * paying it may have left the node. 0, or -1 with the reason in msg (the
 * chain closed, n->chain NULL). */
static int make_node_key(struct node *n, char *msg, size_t cap)
{
    uint8_t sk[64], pk[32];
    int rc = chain_store_key_get(n->chain, sk);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        sig_keypair_random(pk, sk);
        rc = chain_store_key_put(n->chain, sk);
    }
    sec_wipe(sk, sizeof sk);
    if (rc == 0)
        return 0;
    snprintf(msg, cap, "%s", chain_strerror(rc));
    chain_close(n->chain);
    n->chain = NULL;
    return -1;
}

/* On libuv's worker pool (the loop thread touches no chain meanwhile):
 * --reindex, or SQLite's quick check; then open, the tip's data present,
 * --checkblocks, and mempool.dat. Refuses a store that fails any of them.
 * Logs nothing: load_done reports from the loop. */
static void load_work(uv_work_t *req)
{
    struct node *n = req->data;
    struct node_load *ld = &n->load;
    const char *db = ld->cc.db_path;
    char msg[512] = "";
    uint64_t t0 = node_now_ms();
    bool exists = access(db, F_OK) == 0;
    ld->rc = -1;
    if (n->cfg.reindex && exists) {
        load_step(n, NODE_STEP_REINDEX);
        int rc = chain_reindex(&ld->cc, db, node_now_ms(), &ld->st);
        if (rc != 0) {
            snprintf(ld->msg, sizeof ld->msg, "--reindex of %s failed: %s (the old file is "
                     "unchanged); move it away to resync from peers", db, chain_strerror(rc));
            return;
        }
        ld->reindexed = true;
    } else if (exists) {
        load_step(n, NODE_STEP_VERIFY_DB);
        if (chain_verify_db(db, msg, sizeof msg) != 0) {
            store_corrupt(n, db, msg[0] ? msg : "SQLite's quick_check failed");
            return;
        }
    }
    load_step(n, NODE_STEP_INDEX);
    int rc = chain_open(&n->chain, &ld->cc, node_now_ms());
    if (rc != 0) {
        n->chain = NULL;
        snprintf(msg, sizeof msg, "cannot load it (%s)", chain_strerror(rc));
        store_corrupt(n, db, msg);
        return;
    }
    load_step(n, NODE_STEP_BLOCKS);
    if (chain_check_tip_data(n->chain, msg, sizeof msg) != 0 ||
        chain_check_blocks(n->chain, (uint32_t)n->cfg.checkblocks, &ld->checked, msg,
                           sizeof msg) != 0) {
        chain_close(n->chain);
        n->chain = NULL;
        store_corrupt(n, db, msg);
        return;
    }
    if (make_node_key(n, msg, sizeof msg) != 0) {
        snprintf(ld->msg, sizeof ld->msg, "node key in %s: %s", db, msg);
        return;
    }
    ld->store_ms = node_now_ms() - t0;
    load_step(n, NODE_STEP_MEMPOOL);
    mempool_load(n);
    load_step(n, NODE_STEP_P2P);
    ld->rc = 0;
}

/* A start step after node_init failed (already logged): stop, exit 1. */
static void start_failed(struct node *n)
{
    n->failed = true;
    node_request_stop(n);
}

static int start_network(struct node *n);

/* Back on the loop: report the load, then start everything that needs the
 * chain, unless a stop came first. */
static void load_done(uv_work_t *req, int status)
{
    struct node *n = req->data;
    struct node_load *ld = &n->load;
    if (ld->reindexed)
        NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "reindex_done",
                 LF_UINT("bodies", ld->st.bodies), LF_UINT("connected", ld->st.connected),
                 LF_UINT("unreadable", ld->st.unreadable), LF_UINT("invalid", ld->st.invalid),
                 LF_UINT("height", ld->st.height), LF_UINT("ms", ld->store_ms));
    if (status != 0 || ld->rc != 0) {
        n->loading = false;
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed", "%s",
                     status != 0 ? uv_strerror(status) : ld->msg);
        start_failed(n);
        return;
    }
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "store_checked",
             LF_UINT("height", chain_height(n->chain)), LF_UINT("checkblocks", ld->checked),
             LF_UINT("ms", ld->store_ms));
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "mempool_loaded",
             LF_UINT("txs", ld->mp_loaded), LF_UINT("dropped", ld->mp_dropped));
    if (n->stopping) {
        n->loading = false;   /* node_free logs node_stop (during: warm-up) */
        return;
    }
    if (start_network(n) != 0) {
        n->loading = false;
        start_failed(n);
        return;
    }
    n->loading = false;
    if (n->on_ready)
        n->on_ready(n->ready_arg);
}

int node_init(struct node *n, uv_loop_t *loop, const struct node_config *cfg)
{
    memset(n, 0, sizeof *n);
    n->loop = loop;
    n->cfg = *cfg;
    n->start_ms = node_now_ms();
    /* Before anything uses libuv's pool (the chain loads on it): -par sizes it. */
    n->verify_threads = node_verify_pool_size((unsigned)cfg->par);
    node_log_init(&n->log, cfg->name);
    n->log.json = cfg->log_json;
    n->log.level = (enum node_log_level)cfg->log_level;
    n->log.cats = cfg->debug_cats;
    int lrc = node_log_open(&n->log, cfg->debuglogfile, cfg->printtoconsole);
    if (lrc != 0)
        fprintf(stderr, "gossipd: log file %s: %s (logging to stderr)\n", cfg->debuglogfile,
                strerror(-lrc));

    uv_timer_init(loop, &n->stop_timer);
    uv_timer_init(loop, &n->resolve_timer);
    uv_timer_init(loop, &n->save_timer);
    uv_timer_init(loop, &n->store_timer);
    n->store_timer.data = n;
    n->save_timer.data = n;
    uv_signal_init(loop, &n->sig_int);
    uv_signal_init(loop, &n->sig_term);
    uv_prepare_init(loop, &n->kick);
    node_waits_init(n);
    n->stop_timer.data = n->resolve_timer.data = n->sig_int.data = n->sig_term.data = n;
    n->kick.data = n;
    n->handles_up = true;

    if (sig_init() != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "libsodium init failed");
        return -1;
    }
    if (node_prop_init(&n->prop) != 0)
        return -1;
    int rc = node_mkdir_p(cfg->datadir);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "datadir %s: %s", cfg->datadir, strerror(-rc));
        return -1;
    }
    if (cfg->mine && strcmp(cfg->params->name, "testnet") != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "--mine needs --network testnet (on regtest use the generate RPC)");
        return -1;
    }
    char nerr[512];
    if (node_notify_open(&n->notify, n, nerr, sizeof nerr) != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed", "%s", nerr);
        return -1;
    }

    /* RPC first (as bitcoind): a caller gets -28 and the step while the
     * chain loads, not a refused connection; the cookie is there for it. */
    char cookie[NODE_CONFIG_PATH_MAX + 16];
    snprintf(cookie, sizeof cookie, "%s/.cookie", cfg->datadir);
    struct node_rpc_config rc_cfg = {
        .bind = cfg->rpc_bind,
        .port = cfg->rpc_port,
        .user = cfg->rpc_user[0] ? cfg->rpc_user : NULL,
        .password = cfg->rpc_user[0] ? cfg->rpc_password : NULL,
        .cookie_path = cookie,
        .methods = node_rpc_methods,
        .n_methods = node_rpc_methods_count,
        .ctx = n,
        .metrics = node_metrics,
        .warmup = node_rpc_warmup,
        .log = &n->log,
    };
    rc = node_rpc_server_new(&n->rpc, &rc_cfg);
    const char *what = "rpc";
    if (rc == 0)
        rc = node_rpc_listen(n->rpc, loop, &what);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "%s %s:%u: %s", what, cfg->rpc_bind, (unsigned)cfg->rpc_port,
                     rc == -EINVAL ? "invalid" : uv_strerror(rc));
        return -1;
    }
    const char *exposed = node_rpc_exposure(cfg->rpc_bind, cfg->rpc_user, cfg->rpc_password);
    if (exposed)
        NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "rpc_exposed",
                 LF_STR("bind", cfg->rpc_bind), LF_UINT("port", node_rpc_port(n->rpc)),
                 LF_STR("reason", exposed),
                 LF_STR("unauthenticated", "GET /metrics (counters, heights, peer counts)"));
    uv_signal_start(&n->sig_int, on_signal, SIGINT);
    uv_signal_start(&n->sig_term, on_signal, SIGTERM);

    struct node_load *ld = &n->load;
    snprintf(ld->db, sizeof ld->db, "%s/chain.db", cfg->datadir);
    ld->cc = (struct chain_config){ .params = cfg->params, .db_path = ld->db,
                                    .db_no_fsync = !cfg->dbfsync, .salt = sec_random_u64() };
    if (cfg->reindex && access(ld->db, F_OK) == 0)
        NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "reindex_start", LF_STR("db", ld->db));
    load_step(n, NODE_STEP_STARTING);
    n->loading = true;
    ld->req.data = n;
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "warmup_start",
             LF_UINT("rpc_port", node_rpc_port(n->rpc)), LF_STR("db", ld->db),
             LF_BOOL("reindex", cfg->reindex), LF_INT("checkblocks", cfg->checkblocks));
    rc = uv_queue_work(loop, &ld->req, load_work, load_done);
    if (rc != 0) {
        n->loading = false;
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "chain load: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* After the load, on the loop: the node key, the p2p core and its
 * transport, timers, --connect; then the node is up. Returns 0, or -1 after
 * logging why. */
static int start_network(struct node *n)
{
    const struct node_config *cfg = &n->cfg;
    uv_loop_t *loop = n->loop;
    int rc;
    if (load_node_key(n) != 0)
        return -1;
    static const struct p2p_events pev = {
        .peer_connected = ev_peer_connected,
        .peer_disconnected = ev_peer_disconnected,
        .inv_received = ev_inv_received,
        .tx_accepted = ev_tx_accepted,
        .tx_rejected = ev_tx_rejected,
        .tx_duplicate = ev_tx_duplicate,
        .block_received = ev_block_received,
        .block_rejected = ev_block_rejected,
        .announced = ev_announced,
        .misbehaviour = ev_misbehaviour,
        .ban = ev_ban,
        .discouraged = ev_discouraged,
        .local_error = ev_local_error,
        .msg_sent = ev_msg_sent,
        .msg_recv = ev_msg_recv,
    };
    struct p2p_events events = pev;
    events.ctx = n;
    if (!(cfg->debug_cats & NODE_LOG_CAT_NET)) {
        events.msg_sent = ev_ping_sent;   /* no log line: only the ping timing */
        events.msg_recv = ev_ping_recv;
    }
    struct chain_events cev = {
        .ctx = n,
        .block_connected = ev_block_connected,
        .block_disconnected = ev_block_disconnected,
        .reorg = ev_reorg,
        .tx_added = ev_tx_added,
        .tx_removed = ev_tx_removed,
    };

    chain_set_events(n->chain, &cev);   /* node/'s own listener, beside the core's */

    rc = node_net_create(&n->net, loop);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "transport: %d", rc);
        return -1;
    }
    /* Signature checks on libuv's pool (-par), unless one thread is all. */
    if (n->verify_threads > 1 && node_net_verify_threads(n->net, n->verify_threads) != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "verify threads: out of memory");
        return -1;
    }
    struct p2p_config pc;
    p2p_config_init(&pc);
    pc.chain = n->chain;
    pc.io = node_net_io(n->net);
    pc.events = &events;
    pc.name = n->cfg.name;   /* ours: lives as long as the core */
    pc.seed = sec_random_u64();
    pc.listen_port = cfg->port;
    pc.tx_batch_ms = (uint32_t)cfg->tx_batch_ms;
    pc.fanout = (uint32_t)cfg->fanout;
    pc.relay_mode = cfg->relay_push ? P2P_RELAY_PUSH : P2P_RELAY_PULL;
    pc.inbound_max = (uint32_t)cfg->max_peers;
    /* As bitcoind's -connect: the --connect peers only (a testnet's topology
     * is chosen), or none with --connect=0. */
    if (cfg->n_connect > 0 || cfg->no_auto_connect)
        pc.outbound_target = 0;
    if (load_p2p_key(n) != 0)
        return -1;
    pc.cmpct = cfg->cmpct;
    pc.v2_mode = !cfg->v2transport ? P2P_V2_OFF : cfg->v2only ? P2P_V2_ONLY : P2P_V2_ON;
    pc.node_sk = n->have_p2p_key ? n->p2p_sk : NULL;
    pc.allowed_keys = (const uint8_t (*)[32])n->peerkeys;
    pc.n_allowed_keys = n->n_peerkeys;
    rc = p2p_create(&n->p2p, &pc, node_now_ms());
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed", "p2p: %s",
                     p2p_strerror(rc));
        return -1;
    }
    node_net_attach(n->net, n->p2p);
    uv_prepare_start(&n->kick, on_kick);
    own_txs_resubmit(n, true);   /* before RPC answers: sendtoaddress sees their nonces */
    node_peers_load(n);
    uv_timer_start(&n->save_timer, on_save_timer, NODE_SAVE_INTERVAL_MS, NODE_SAVE_INTERVAL_MS);
    n->store_errors_seen = chain_store_error(n->chain)->count;
    uv_timer_start(&n->store_timer, on_store_timer, NODE_STORE_CHECK_MS, NODE_STORE_CHECK_MS);
    rc = node_net_listen(n->net, cfg->bind, cfg->port);
    if (rc != 0) {
        node_log_msg(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "startup_failed",
                     "p2p listen %s:%u: %s", cfg->bind, (unsigned)cfg->port, uv_strerror(rc));
        return -1;
    }
    n->p2p_port = node_net_bound_port(n->net, 0);

    for (size_t i = 0; i < cfg->n_connect; i++) {
        struct node_seed *s = &n->seeds[n->n_seeds];
        if (seed_parse(s, cfg->connect[i]) != 0)
            continue;
        s->node = n;
        struct p2p_addr a;
        bool dummy;
        uint8_t k[32];
        const char *hp = node_config_connect_split(cfg->connect[i], k, &dummy);
        if (p2p_addr_parse(&a, hp, s->port) == 0) {
            seed_connect(n, s, &a);
            s->resolved = true;
        }
        n->n_seeds++;
    }
    resolve_seeds(n);
    uv_timer_start(&n->resolve_timer, on_resolve_timer, NODE_RESOLVE_RETRY_MS,
                   NODE_RESOLVE_RETRY_MS);

    uint8_t tip[32];
    chain_tip(n->chain, tip);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "node_start",
             LF_STR("network", cfg->params->name), LF_UINT("p2p_port", n->p2p_port),
             LF_UINT("rpc_port", node_rpc_port(n->rpc)), LF_UINT("height", chain_height(n->chain)),
             LF_HASH("tip", tip), LF_STR("datadir", cfg->datadir),
             LF_HEX32("address", n->key_pk), LF_STR("version", NODE_VERSION_STRING));
    n->started = true;
    if (cfg->mine && node_miner_start(n) != 0)
        return -1;
    return 0;
}

void node_free(struct node *n)
{
    free(n->peerkeys);
    n->peerkeys = NULL;
    sec_wipe(n->p2p_sk, sizeof n->p2p_sk);
    if (n->handles_up) {
        /* Close whatever init opened if the loop never stopped them. */
        if (!n->stopping) {
            n->stopping = true;
            on_stop_timer(&n->stop_timer);
        }
        uv_run(n->loop, UV_RUN_DEFAULT);
        n->handles_up = false;
    }
    node_miner_free(n);
    if (n->p2p)
        p2p_destroy(n->p2p);
    n->p2p = NULL;
    if (n->net)
        node_net_free(n->net);
    n->net = NULL;
    if (n->rpc)
        node_rpc_server_free(n->rpc);
    n->rpc = NULL;
    if (n->chain) {
        uint8_t tip[32];
        chain_tip(n->chain, tip);
        if (n->started) {
            mempool_save(n, true);
            NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "node_stop",
                     LF_UINT("height", chain_height(n->chain)), LF_HASH("tip", tip));
        } else if (!n->failed) {
            /* Stopped during the warm-up: p2p never started, nothing to save. */
            NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "node_stop",
                     LF_UINT("height", chain_height(n->chain)), LF_HASH("tip", tip),
                     LF_STR("during", "warm-up"));
        }
        chain_close(n->chain);
        n->chain = NULL;
    }
    node_notify_close(n->notify);
    n->notify = NULL;
    node_prop_free(&n->prop);
    sec_wipe(n->key_sk, sizeof n->key_sk);
    node_log_close(&n->log);
}
