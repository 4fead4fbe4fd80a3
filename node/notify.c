/* Notifications: ZeroMQ publishing with bitcoind's topics and framing, and
 * --blocknotify.
 *
 * ZMQ: one PUB socket per distinct endpoint (topics naming the same
 * endpoint share it, as bitcoind does). Every message is three frames:
 * topic, body, and the topic's own message counter as 4 bytes little
 * endian. Bodies: hashblock/hashtx 32 bytes in display order (reversed),
 * rawblock/rawtx the serialization, sequence hash(32, display order) + one
 * label byte: 'C' block connected, 'D' disconnected, 'A' tx entered the
 * mempool and 'R' tx left it other than into a block (expiry, eviction,
 * replacement, a conflicting block, a reorg), both followed by the mempool
 * sequence as 8 bytes little endian (one counter for A and R). As
 * bitcoind, hashtx/rawtx fire both when a tx enters the mempool and for
 * every tx (coinbase too) of a connected block.
 *
 * Nothing here blocks the loop: PUB sockets only send, every send is
 * ZMQ_DONTWAIT, and libzmq's own I/O thread does the socket work; a slow
 * subscriber makes the socket drop at its high-water mark (counted), never
 * waits. So the loop needs no ZMQ fd to poll.
 *
 * --blocknotify: for each new tip, CMD with every %s replaced by the hash
 * runs as `sh -c CMD` through uv_spawn; at most NODE_NOTIFY_RUNNING_MAX at
 * once, the next NODE_NOTIFY_QUEUE_MAX wait, more are dropped (logged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "crypto/hex.h"
#include "node/node.h"

#define NODE_NOTIFY_RUNNING_MAX 8     /* --blocknotify processes at once */
#define NODE_NOTIFY_QUEUE_MAX   64    /* tips waiting for a free process slot */
#define NODE_ZMQ_SNDHWM         1000  /* messages queued per subscriber (libzmq's default) */
#define NODE_NOTIFY_CMD_MAX     (NODE_CONFIG_PATH_MAX + 64 * 8)   /* bytes, after %s */

struct zsock {
    char endpoint[NODE_CONFIG_STR_MAX];
    void *sock;
};

struct notify_proc {
    uv_process_t proc;
    struct node_notify *nt;
    struct notify_proc *next;
    char hash[65];
};

struct node_notify {
    struct node *node;
    void *ctx;                                   /* zmq context, NULL if no topic */
    struct zsock socks[NODE_ZMQ_TOPICS];
    size_t n_socks;
    void *topic_sock[NODE_ZMQ_TOPICS];           /* NULL: topic off */
    uint32_t topic_seq[NODE_ZMQ_TOPICS];
    uint64_t mempool_seq;
    uint64_t sent, dropped;

    uv_timer_t kick;                             /* starts queued --blocknotify runs */
    bool kick_up;
    char queue[NODE_NOTIFY_QUEUE_MAX][65];
    size_t q_head, q_len;
    struct notify_proc *running;
    size_t n_running;
    uint64_t notify_dropped;
    bool closing;
};

/* ------------------------------------------------------------ ZMQ */

static void publish(struct node_notify *nt, enum node_zmq_topic t, const void *body, size_t len)
{
    void *s = nt->topic_sock[t];
    if (!s)
        return;
    const char *name = node_zmq_topic_names[t];
    uint8_t seq[4];
    uint32_t v = nt->topic_seq[t];
    for (int i = 0; i < 4; i++)
        seq[i] = (uint8_t)(v >> (8 * i));
    /* A PUB socket queues all three frames or none (atomic multipart). */
    if (zmq_send(s, name, strlen(name), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, body, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, seq, sizeof seq, ZMQ_DONTWAIT) < 0) {
        nt->dropped++;
        return;
    }
    nt->topic_seq[t]++;
    nt->sent++;
}

static void rev32(uint8_t out[32], const uint8_t in[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = in[31 - i];
}

static void publish_tx(struct node_notify *nt, const uint8_t txid[32], const struct chain_tx *tx)
{
    uint8_t r[32];
    rev32(r, txid);
    publish(nt, NODE_ZMQ_HASHTX, r, 32);
    if (nt->topic_sock[NODE_ZMQ_RAWTX]) {
        uint8_t buf[TX_SIZE_MAX];
        struct wr w;
        wr_init_fixed(&w, buf, sizeof buf);
        if (chain_tx_encode(&w, tx))
            publish(nt, NODE_ZMQ_RAWTX, buf, w.len);
    }
}

static void publish_seq(struct node_notify *nt, const uint8_t hash[32], char label,
                        const uint64_t *mseq)
{
    uint8_t body[32 + 1 + 8];
    size_t len = 33;
    rev32(body, hash);
    body[32] = (uint8_t)label;
    if (mseq) {
        for (int i = 0; i < 8; i++)
            body[33 + i] = (uint8_t)(*mseq >> (8 * i));
        len += 8;
    }
    publish(nt, NODE_ZMQ_SEQUENCE, body, len);
}

static int zmq_setup(struct node_notify *nt, const struct node_config *cfg, char *err,
                     size_t err_len)
{
    for (int t = 0; t < NODE_ZMQ_TOPICS; t++) {
        const char *ep = cfg->zmqpub[t];
        if (!ep[0])
            continue;
        if (!nt->ctx && !(nt->ctx = zmq_ctx_new())) {
            snprintf(err, err_len, "zmq: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
        size_t k;
        for (k = 0; k < nt->n_socks; k++)
            if (strcmp(nt->socks[k].endpoint, ep) == 0)
                break;
        if (k == nt->n_socks) {
            void *s = zmq_socket(nt->ctx, ZMQ_PUB);
            int hwm = NODE_ZMQ_SNDHWM, linger = 0;
            if (!s || zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
                zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
                zmq_bind(s, ep) != 0) {
                snprintf(err, err_len, "--zmqpub%s=%s: %s", node_zmq_topic_names[t], ep,
                         zmq_strerror(zmq_errno()));
                if (s)
                    zmq_close(s);
                return -1;
            }
            snprintf(nt->socks[k].endpoint, sizeof nt->socks[k].endpoint, "%s", ep);
            nt->socks[k].sock = s;
            nt->n_socks++;
        }
        nt->topic_sock[t] = nt->socks[k].sock;
    }
    return 0;
}

/* ------------------------------------------------------------ --blocknotify */

static void proc_closed(uv_handle_t *h)
{
    struct notify_proc *p = h->data;
    struct node_notify *nt = p->nt;
    for (struct notify_proc **pp = &nt->running; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    nt->n_running--;
    free(p);
}

static void on_kick(uv_timer_t *t);

static void proc_exited(uv_process_t *proc, int64_t status, int signal)
{
    struct notify_proc *p = proc->data;
    struct node *n = p->nt->node;
    if (status != 0 || signal != 0)
        NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "blocknotify_failed",
                 LF_STR("hash", p->hash), LF_INT("status", status), LF_INT("signal", signal));
    uv_close((uv_handle_t *)proc, proc_closed);
    if (!p->nt->closing)
        uv_timer_start(&p->nt->kick, on_kick, 0, 0);
}

/* cmd with every %s replaced by hash; false if too long. */
static bool expand(char *out, size_t cap, const char *cmd, const char *hash)
{
    size_t o = 0, hl = strlen(hash);
    for (const char *c = cmd; *c; c++) {
        if (c[0] == '%' && c[1] == 's') {
            if (cap - o <= hl)
                return false;
            memcpy(out + o, hash, hl);
            o += hl;
            c++;
            continue;
        }
        if (cap - o <= 1)
            return false;
        out[o++] = *c;
    }
    out[o] = '\0';
    return true;
}

static void start_one(struct node_notify *nt, const char *hash)
{
    struct node *n = nt->node;
    char cmd[NODE_NOTIFY_CMD_MAX];
    if (!expand(cmd, sizeof cmd, n->cfg.blocknotify, hash))
        return;
    struct notify_proc *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->nt = nt;
    snprintf(p->hash, sizeof p->hash, "%s", hash);
    char sh[] = "/bin/sh", dash_c[] = "-c";
    char *args[] = { sh, dash_c, cmd, NULL };
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_INHERIT_FD, .data.fd = 1 },
        { .flags = UV_INHERIT_FD, .data.fd = 2 },
    };
    uv_process_options_t opt = {
        .exit_cb = proc_exited,
        .file = "/bin/sh",
        .args = args,
        .stdio_count = 3,
        .stdio = stdio,
    };
    p->proc.data = p;
    int rc = uv_spawn(n->loop, &p->proc, &opt);
    if (rc != 0) {
        NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "blocknotify_failed",
                 LF_STR("hash", hash), LF_STR("reason", uv_strerror(rc)));
        /* A failed spawn still initialised the handle: close it. */
        p->next = nt->running;
        nt->running = p;
        nt->n_running++;
        uv_close((uv_handle_t *)&p->proc, proc_closed);
        return;
    }
    p->next = nt->running;
    nt->running = p;
    nt->n_running++;
}

static void on_kick(uv_timer_t *t)
{
    struct node_notify *nt = t->data;
    while (!nt->closing && nt->q_len && nt->n_running < NODE_NOTIFY_RUNNING_MAX) {
        char hash[65];
        memcpy(hash, nt->queue[nt->q_head], sizeof hash);
        nt->q_head = (nt->q_head + 1) % NODE_NOTIFY_QUEUE_MAX;
        nt->q_len--;
        start_one(nt, hash);
    }
}

/* ------------------------------------------------------------ API */

int node_notify_open(struct node_notify **out, struct node *n, char *err, size_t err_len)
{
    struct node_notify *nt = calloc(1, sizeof *nt);
    if (!nt) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    nt->node = n;
    uv_timer_init(n->loop, &nt->kick);
    nt->kick.data = nt;
    nt->kick_up = true;
    if (zmq_setup(nt, &n->cfg, err, err_len) != 0) {
        *out = nt;   /* node_notify_close releases what was opened */
        return -1;
    }
    *out = nt;
    return 0;
}

void node_notify_block_connected(struct node_notify *nt, const uint8_t hash[32],
                                 const struct chain_block *b)
{
    if (!nt)
        return;
    uint8_t r[32];
    rev32(r, hash);
    publish(nt, NODE_ZMQ_HASHBLOCK, r, 32);
    if (b && nt->topic_sock[NODE_ZMQ_RAWBLOCK]) {
        struct wr w;
        wr_init(&w, BLOCK_SIZE_LIMIT);
        if (chain_block_encode(&w, b) && !w.err)
            publish(nt, NODE_ZMQ_RAWBLOCK, w.buf, w.len);
        wr_free(&w);
    }
    publish_seq(nt, hash, 'C', NULL);
    if (b && (nt->topic_sock[NODE_ZMQ_HASHTX] || nt->topic_sock[NODE_ZMQ_RAWTX]))
        for (size_t i = 0; i < b->n_tx; i++) {
            uint8_t txid[32];
            chain_tx_txid(&b->txs[i], txid);
            publish_tx(nt, txid, &b->txs[i]);
        }
    if (!nt->node->cfg.blocknotify[0] || nt->closing)
        return;
    if (nt->q_len == NODE_NOTIFY_QUEUE_MAX) {
        nt->notify_dropped++;
        NODE_LOG(&nt->node->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "blocknotify_dropped",
                 LF_HASH("hash", hash), LF_UINT("queued", nt->q_len));
        return;
    }
    hex_encode_hash(nt->queue[(nt->q_head + nt->q_len) % NODE_NOTIFY_QUEUE_MAX], hash);
    nt->q_len++;
    /* Spawned from the loop, not from inside the chain event. */
    uv_timer_start(&nt->kick, on_kick, 0, 0);
}

void node_notify_block_disconnected(struct node_notify *nt, const uint8_t hash[32])
{
    if (nt)
        publish_seq(nt, hash, 'D', NULL);
}

void node_notify_tx_added(struct node_notify *nt, const uint8_t txid[32],
                          const struct chain_tx *tx)
{
    if (!nt)
        return;
    publish_tx(nt, txid, tx);
    uint64_t seq = ++nt->mempool_seq;
    publish_seq(nt, txid, 'A', &seq);
}

void node_notify_tx_removed(struct node_notify *nt, const uint8_t txid[32])
{
    if (!nt)
        return;
    uint64_t seq = ++nt->mempool_seq;
    publish_seq(nt, txid, 'R', &seq);
}

void node_notify_stats(const struct node_notify *nt, uint64_t *sent, uint64_t *dropped)
{
    *sent = nt ? nt->sent : 0;
    *dropped = nt ? nt->dropped : 0;
}

void node_notify_stop(struct node_notify *nt)
{
    if (!nt || nt->closing)
        return;
    nt->closing = true;
    if (nt->kick_up)
        uv_close((uv_handle_t *)&nt->kick, NULL);
    /* Running commands go on by themselves; their handles close now so the
     * loop can end (the exit callback is not needed any more). */
    for (struct notify_proc *p = nt->running; p; p = p->next)
        if (!uv_is_closing((uv_handle_t *)&p->proc))
            uv_close((uv_handle_t *)&p->proc, proc_closed);
}

void node_notify_close(struct node_notify *nt)
{
    if (!nt)
        return;
    for (size_t k = 0; k < nt->n_socks; k++)
        zmq_close(nt->socks[k].sock);
    if (nt->ctx)
        zmq_ctx_term(nt->ctx);
    free(nt);
}
