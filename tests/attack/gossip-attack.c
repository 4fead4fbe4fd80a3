/* gossip-attack: a hostile peer for the issue-15 resource-bound tests
 * (tests/attack/test_attacks.py). It speaks the v1 transport to a gossipd
 * on 127.0.0.1:PORT (an inbound v2 listener accepts v1 unless -v2only),
 * does the version/verack handshake with the project's own encoders and
 * runs one attack, bounded by --seconds:
 *
 *   headers-lowwork --count N [--fork-len L]
 *       one connection sends headers messages of 2,000 (real regtest proof
 *       of work) as fast as the node reads them: forks of L headers off
 *       genesis, each with less work than the node's tip when its height
 *       is above L. Stops after N headers or --seconds.
 *   getdata-noread --conns 24 --block HASH --repeat 20
 *       each connection (receive buffer shrunk before connect) sends
 *       `getdata` for the same block --repeat times, then never reads;
 *       the sockets stay open for --seconds. A dropped one reconnects and
 *       asks again.
 *   recon-flood --conns 8
 *       each connection sends, paced inside the per-peer message budget
 *       (P2P_RECON_BUDGET_MSGS per P2P_RECON_BUDGET_MS, less a margin), the
 *       costliest `recon` message the caps allow: root listings of fresh
 *       random txids (a search each and a request to track, claiming none
 *       of the node's, so it gives its pool) then root summaries that never
 *       match (children while there is room, a search each after). It reads
 *       and discards what the node sends, answering pings.
 *
 * Helpers for the test's setup:
 *   mktxs --count N [--memo BYTES] --out FILE
 *       N txs from the development key, nonces 0..N-1, one hex a line
 *       (the DATADIR/mempool.dat format, loaded at start).
 *   mine-empty --prev HASH --height H
 *       a regtest block with only a coinbase on top of HASH: prints its
 *       hash then its hex (for submitblock).
 *
 * Every attack prints one line `result mode=... key=value ...` and exits 0
 * (1 on a setup failure: no connection, no handshake). A test program,
 * built by meson and not installed. */
/* POLLRDHUP (Linux): a closed connection is seen without reading it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "chain/block.h"
#include "chain/codec.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "chain/tx.h"
#include "crypto/hex.h"
#include "p2p/limits.h"
#include "p2p/msg.h"
#include "p2p/wire.h"

#define ATTACK_CONNS_MAX 64u
#define ATTACK_HANDSHAKE_TIMEOUT_MS 10000u
#define ATTACK_RECONNECT_DELAY_MS 200u
/* Receive buffer of a getdata-noread connection (the kernel doubles it). */
#define ATTACK_NOREAD_RCVBUF_BYTES 4096
/* recon-flood sends this many messages per budget period, a margin under
 * P2P_RECON_BUDGET_MSGS so clock skew never makes one a flood. */
#define ATTACK_RECON_MSGS_PER_PERIOD (P2P_RECON_BUDGET_MSGS - 4u)
#define ATTACK_RECON_LISTINGS 8u
#define ATTACK_READ_CHUNK_BYTES 65536u
_Static_assert(ATTACK_RECON_MSGS_PER_PERIOD > 0 && ATTACK_RECON_MSGS_PER_PERIOD
               < P2P_RECON_BUDGET_MSGS, "paced inside the budget");
_Static_assert(P2P_MAX_RECON_IDS % ATTACK_RECON_LISTINGS == 0, "listings split the ids");

static const struct chain_params *params = &chain_params_regtest;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64*: fresh-looking txids, no cryptographic claim. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next();
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &v, k);
    }
}

/* ---- options ---- */

struct opts {
    const char *mode;
    uint16_t port;
    unsigned seconds;
    unsigned conns;
    unsigned repeat;
    unsigned long count;
    unsigned fork_len;
    unsigned memo;
    unsigned long height;
    bool have_block, have_prev;
    uint8_t block[32], prev[32];
    const char *out;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: gossip-attack MODE [options]\n"
            "  headers-lowwork --port P [--count N] [--fork-len L] [--seconds S]\n"
            "  getdata-noread  --port P --block HASH [--conns C] [--repeat R] [--seconds S]\n"
            "  recon-flood     --port P [--conns C] [--seconds S]\n"
            "  mktxs --count N [--memo BYTES] --out FILE\n"
            "  mine-empty --prev HASH --height H\n");
    exit(2);
}

static unsigned long num_arg(const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max)
        usage();
    return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->seconds = 30;
    o->conns = 1;
    o->repeat = 20;
    o->count = 1000000;
    o->fork_len = P2P_MAX_HEADERS_ENTRIES;
    if (argc < 2)
        usage();
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (!strcmp(k, "--port"))
            o->port = (uint16_t)num_arg(v, 65535);
        else if (!strcmp(k, "--seconds"))
            o->seconds = (unsigned)num_arg(v, 3600);
        else if (!strcmp(k, "--conns"))
            o->conns = (unsigned)num_arg(v, ATTACK_CONNS_MAX);
        else if (!strcmp(k, "--repeat"))
            o->repeat = (unsigned)num_arg(v, 10000);
        else if (!strcmp(k, "--count"))
            o->count = num_arg(v, 100000000ul);
        else if (!strcmp(k, "--fork-len"))
            o->fork_len = (unsigned)num_arg(v, 1000000);
        else if (!strcmp(k, "--memo"))
            o->memo = (unsigned)num_arg(v, TX_MEMO_MAX);
        else if (!strcmp(k, "--height"))
            o->height = num_arg(v, 0xffffffffu);
        else if (!strcmp(k, "--out"))
            o->out = v;
        else if (!strcmp(k, "--block") && hex_decode_hash(o->block, v) == 0)
            o->have_block = true;
        else if (!strcmp(k, "--prev") && hex_decode_hash(o->prev, v) == 0)
            o->have_prev = true;
        else
            usage();
    }
    if (o->conns == 0 || o->fork_len == 0)
        usage();
}

/* ---- connections ---- */

struct conn {
    int fd;                      /* -1: not connected */
    struct p2p_framer fr;
    uint8_t *out;                /* bytes queued, out_off of them sent */
    size_t out_len, out_off, out_cap;
    bool reading;                /* false: never read again (noread) */
    uint64_t down_ms;            /* when it was found closed */
    uint64_t next_ms;            /* recon-flood: next message due */
};

struct stats {
    unsigned long msgs, items, drops, reconnects, bytes;
};

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    p2p_framer_free(&c->fr);
    c->out_len = c->out_off = 0;
}

/* Appends one frame (cmd, payload in w after p2p_frame_begin) to c's queue. */
static int queue_frame(struct conn *c, enum p2p_cmd cmd, struct wr *w)
{
    int err = p2p_frame_end(w, 0, params->magic, cmd);
    if (!err && c->out_cap - c->out_len < w->len) {
        size_t nc = c->out_len + w->len;
        uint8_t *n = realloc(c->out, nc);
        if (!n)
            err = -1;
        else {
            c->out = n;
            c->out_cap = nc;
        }
    }
    if (!err) {
        memcpy(c->out + c->out_len, w->buf, w->len);
        c->out_len += w->len;
    }
    wr_free(w);
    return err;
}

static void frame_start(struct wr *w)
{
    wr_init(w, P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES);
    p2p_frame_begin(w);
}

/* What a non-blocking send/recv result n means. */
enum io { IO_DONE, IO_AGAIN, IO_MORE, IO_GONE };
static enum io io_of(ssize_t n)
{
    if (n > 0)
        return IO_MORE;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return IO_DONE;
    return n < 0 && errno == EINTR ? IO_AGAIN : IO_GONE;
}

/* Writes what the socket takes now. false: the connection is gone. */
static bool flush_some(struct conn *c, struct stats *st)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        enum io r = io_of(n);
        if (r != IO_MORE) {
            if (r == IO_AGAIN)
                continue;
            return r == IO_DONE;
        }
        c->out_off += (size_t)n;
        st->bytes += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return true;
}

static void handle_frame(struct conn *c, const struct p2p_frame *f, bool *got_version,
                         bool *got_verack)
{
    if (f->kind != P2P_FRAME_MSG)
        return;
    if (f->hdr.cmd == P2P_CMD_VERSION)
        *got_version = true;
    else if (f->hdr.cmd == P2P_CMD_VERACK)
        *got_verack = true;
    else if (f->hdr.cmd == P2P_CMD_PING) {
        uint64_t nonce;
        if (p2p_dec_nonce(f->payload, f->hdr.len, &nonce) == 0) {
            struct wr w;
            frame_start(&w);
            p2p_put_nonce(&w, nonce);
            queue_frame(c, P2P_CMD_PONG, &w);
        }
    }
}

/* Reads what is there and feeds the framer. false: closed or garbled. */
static bool read_some(struct conn *c, bool *got_version, bool *got_verack)
{
    static uint8_t buf[ATTACK_READ_CHUNK_BYTES];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        enum io r = io_of(n);
        if (r != IO_MORE) {
            if (r == IO_AGAIN)
                continue;
            return r == IO_DONE;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            struct p2p_frame f;
            ssize_t k = p2p_framer_feed(&c->fr, buf + off, (size_t)n - off, &f);
            if (k < 0)
                return false;
            if (k == 0)
                break;
            handle_frame(c, &f, got_version, got_verack);
            off += (size_t)k;
        }
    }
}

static void queue_version(struct conn *c, uint16_t port)
{
    struct p2p_version v;
    memset(&v, 0, sizeof v);
    v.version = P2P_PROTOCOL_VERSION;
    v.services = P2P_SERVICES;
    v.timestamp = (int64_t)(wall_ms() / 1000);
    const uint8_t lo[4] = { 127, 0, 0, 1 };
    p2p_addr_from_ipv4(&v.addr_recv, lo, port);
    v.nonce = rng_next();
    snprintf(v.user_agent, sizeof v.user_agent, "/gossip-attack:0.1.0(attacker)/");
    v.relay = true;
    struct wr w;
    frame_start(&w);
    p2p_put_version(&w, &v);
    queue_frame(c, P2P_CMD_VERSION, &w);
}

/* Connects and completes the v1 handshake (blocking, bounded), then leaves
 * the socket non-blocking. rcvbuf > 0 shrinks the receive buffer first. */
static bool conn_open(struct conn *c, uint16_t port, int rcvbuf, struct stats *st)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    p2p_framer_init(&c->fr, params->magic);
    c->out_len = c->out_off = 0;
    c->reading = true;
    if (c->fd < 0)
        return false;
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    queue_version(c, port);
    bool got_version = false, got_verack = false;
    uint64_t deadline = now_ms() + ATTACK_HANDSHAKE_TIMEOUT_MS;
    while (!(got_version && got_verack)) {
        if (now_ms() >= deadline || !flush_some(c, st))
            goto fail;
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        if (poll(&pfd, 1, 50) > 0 && !read_some(c, &got_version, &got_verack))
            goto fail;
        if (got_version && !c->fr.established) {
            struct wr w;
            frame_start(&w);
            queue_frame(c, P2P_CMD_VERACK, &w);
            p2p_framer_set_established(&c->fr);
        }
    }
    return flush_some(c, st);
fail:
    conn_close(c);
    return false;
}

/* One round of I/O over every open connection, waiting at most wait_ms.
 * Closed ones are counted as drops and left with fd -1. */
static void pump(struct conn *cs, unsigned n, int wait_ms, struct stats *st)
{
    struct pollfd pfd[ATTACK_CONNS_MAX];
    for (unsigned i = 0; i < n; i++) {
        pfd[i].fd = cs[i].fd;
        pfd[i].events = (short)((cs[i].reading ? POLLIN : 0) | POLLRDHUP |
                                (cs[i].out_off < cs[i].out_len ? POLLOUT : 0));
        pfd[i].revents = 0;
    }
    if (poll(pfd, n, wait_ms) <= 0)
        return;
    for (unsigned i = 0; i < n; i++) {
        struct conn *c = &cs[i];
        if (c->fd < 0 || !pfd[i].revents)
            continue;
        bool ok = true, v = false, va = false;
        if (pfd[i].revents & (POLLERR | POLLHUP))
            ok = false;
        else if (!c->reading && (pfd[i].revents & POLLRDHUP))
            ok = false;   /* the node closed it; its bytes stay unread */
        if (ok && (pfd[i].revents & (POLLIN | POLLRDHUP)) && c->reading)
            ok = read_some(c, &v, &va);
        if (ok && (pfd[i].revents & POLLOUT))
            ok = flush_some(c, st);
        if (!ok) {
            conn_close(c);
            c->down_ms = now_ms();
            st->drops++;
        }
    }
}

/* Reconnects closed connections after a pause; true if c is open. */
static bool revive(struct conn *c, uint16_t port, int rcvbuf, struct stats *st)
{
    if (c->fd >= 0)
        return true;
    if (now_ms() - c->down_ms < ATTACK_RECONNECT_DELAY_MS)
        return false;
    if (!conn_open(c, port, rcvbuf, st)) {
        c->down_ms = now_ms();
        return false;
    }
    st->reconnects++;
    return true;
}

/* ---- headers-lowwork ---- */

struct forker {
    unsigned fork_len;
    unsigned long fork;          /* forks started */
    unsigned pos;                /* headers of the current fork made */
    struct chain_header last;
    uint8_t last_hash[32];
};

static void forker_next(struct forker *fk, struct chain_header *h)
{
    if (fk->pos == fk->fork_len || fk->fork == 0) {
        fk->fork++;
        fk->pos = 0;
        chain_genesis_hash(params, fk->last_hash);
    }
    memset(h, 0, sizeof *h);
    h->version = BLOCK_VERSION;
    memcpy(h->prev, fk->last_hash, 32);
    /* Headers only: the root just makes each fork's hashes its own. */
    memset(h->merkle_root, 0xa7, 32);
    le64_put(h->merkle_root, fk->fork);
    h->time_ms = params->genesis_time_ms + 1u + fk->pos;
    h->bits = params->pow_limit_bits;
    uint64_t start = 0;
    while (!chain_mine(h, start, 1u << 16))
        start += 1u << 16;
    chain_header_hash(h, fk->last_hash);
    fk->pos++;
}

static int run_headers(const struct opts *o)
{
    struct conn c = { .fd = -1 };
    struct stats st = { 0 };
    struct forker fk = { .fork_len = o->fork_len };
    struct chain_header *hs = malloc(P2P_MAX_HEADERS_ENTRIES * sizeof *hs);
    if (!hs || !conn_open(&c, o->port, 0, &st)) {
        fprintf(stderr, "gossip-attack: cannot connect to 127.0.0.1:%u\n", o->port);
        free(hs);
        return 1;
    }
    uint64_t t0 = now_ms(), end = t0 + o->seconds * 1000ull;
    unsigned long in_flight = 0;
    while (now_ms() < end && (st.items < o->count || c.out_len)) {
        if (!revive(&c, o->port, 0, &st)) {
            usleep(10000);
            in_flight = 0;
            continue;
        }
        if (c.out_len == 0) {
            st.items += in_flight;
            in_flight = 0;
            if (st.items < o->count) {
                size_t n = 0;
                while (n < P2P_MAX_HEADERS_ENTRIES && st.items + n < o->count)
                    forker_next(&fk, &hs[n++]);
                struct wr w;
                frame_start(&w);
                p2p_put_headers(&w, hs, n);
                queue_frame(&c, P2P_CMD_HEADERS, &w);
                in_flight = n;
                st.msgs++;
            }
        }
        if (c.out_len)
            flush_some(&c, &st);
        pump(&c, 1, c.out_len ? 20 : 0, &st);
    }
    if (c.fd >= 0 && c.out_len == 0)
        st.items += in_flight;
    double secs = (double)(now_ms() - t0) / 1000.0;
    printf("result mode=headers-lowwork headers_written=%lu msgs=%lu forks=%lu fork_len=%u "
           "seconds=%.1f written_per_s=%.0f drops=%lu reconnects=%lu bytes=%lu\n",
           st.items, st.msgs, fk.fork, fk.fork_len, secs, secs > 0 ? st.items / secs : 0.0,
           st.drops, st.reconnects, st.bytes);
    conn_close(&c);
    free(c.out);
    free(hs);
    return 0;
}

/* ---- getdata-noread ---- */

static void queue_getdatas(struct conn *c, const uint8_t block[32], unsigned repeat,
                           struct stats *st)
{
    uint8_t h[1][32];
    memcpy(h[0], block, 32);
    for (unsigned k = 0; k < repeat; k++) {
        struct wr w;
        frame_start(&w);
        p2p_put_inv(&w, P2P_INV_BLOCK, (const uint8_t (*)[32])h, 1);
        queue_frame(c, P2P_CMD_GETDATA, &w);
        st->msgs++;
    }
}

/* Opens o->conns connections, one handshake at a time (the node's slots
 * for connections in the handshake stay free for others). false: none. */
static bool open_all(struct conn *cs, const struct opts *o, int rcvbuf, struct stats *st)
{
    unsigned open = 0;
    for (unsigned i = 0; i < o->conns; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].fd = -1;
        open += conn_open(&cs[i], o->port, rcvbuf, st);
    }
    if (!open)
        fprintf(stderr, "gossip-attack: cannot connect to 127.0.0.1:%u\n", o->port);
    return open > 0;
}

/* Closes them all; returns how many were still open. */
static unsigned close_all(struct conn *cs, unsigned n)
{
    unsigned still = 0;
    for (unsigned i = 0; i < n; i++) {
        still += cs[i].fd >= 0;
        conn_close(&cs[i]);
        free(cs[i].out);
    }
    return still;
}

static int run_getdata(const struct opts *o)
{
    if (!o->have_block)
        usage();
    struct conn cs[ATTACK_CONNS_MAX];
    struct stats st = { 0 };
    if (!open_all(cs, o, ATTACK_NOREAD_RCVBUF_BYTES, &st))
        return 1;
    for (unsigned i = 0; i < o->conns; i++)
        if (cs[i].fd >= 0) {
            queue_getdatas(&cs[i], o->block, o->repeat, &st);
            cs[i].reading = false;
        }
    uint64_t t0 = now_ms(), end = t0 + o->seconds * 1000ull;
    while (now_ms() < end) {
        for (unsigned i = 0; i < o->conns; i++) {
            bool was_open = cs[i].fd >= 0;
            if (!was_open && revive(&cs[i], o->port, ATTACK_NOREAD_RCVBUF_BYTES, &st)) {
                queue_getdatas(&cs[i], o->block, o->repeat, &st);
                cs[i].reading = false;
            }
            if (cs[i].fd >= 0 && cs[i].out_len)
                flush_some(&cs[i], &st);
        }
        pump(cs, o->conns, 50, &st);
    }
    unsigned still = close_all(cs, o->conns);
    printf("result mode=getdata-noread conns=%u open_at_end=%u getdata=%lu repeat=%u "
           "seconds=%.1f drops=%lu reconnects=%lu\n", o->conns, still, st.msgs, o->repeat,
           (double)(now_ms() - t0) / 1000.0, st.drops, st.reconnects);
    return 0;
}

/* ---- recon-flood ---- */

/* The costliest message the caps allow (see the top of the file). */
static void queue_recon(struct conn *c, struct stats *st)
{
    static uint8_t ids[P2P_MAX_RECON_IDS][32];
    rng_fill(&ids[0][0], sizeof ids);
    struct wr w;
    frame_start(&w);
    p2p_put_recon_count(&w, P2P_MAX_RECON_NODES);
    uint32_t per = P2P_MAX_RECON_IDS / ATTACK_RECON_LISTINGS;
    for (unsigned i = 0; i < ATTACK_RECON_LISTINGS; i++)
        p2p_put_recon_listing(&w, 0, 0, (const uint8_t (*)[32])ids + i * per, per);
    for (unsigned i = ATTACK_RECON_LISTINGS; i < P2P_MAX_RECON_NODES; i++)
        p2p_put_recon_summary(&w, 0, 0, 999999, rng_next());
    if (queue_frame(c, P2P_CMD_RECON, &w) == 0) {
        st->msgs++;
        st->items += P2P_MAX_RECON_IDS;
    }
}

static int run_recon(const struct opts *o)
{
    struct conn cs[ATTACK_CONNS_MAX];
    struct stats st = { 0 };
    if (!open_all(cs, o, 0, &st))
        return 1;
    const uint64_t gap_ms = P2P_RECON_BUDGET_MS / ATTACK_RECON_MSGS_PER_PERIOD;
    uint64_t t0 = now_ms(), end = t0 + o->seconds * 1000ull;
    for (unsigned i = 0; i < o->conns; i++)
        cs[i].next_ms = t0 + i * gap_ms / o->conns;   /* spread over the gap */
    unsigned long skipped = 0;
    while (now_ms() < end) {
        uint64_t t = now_ms();
        for (unsigned i = 0; i < o->conns; i++) {
            struct conn *c = &cs[i];
            if (!revive(c, o->port, 0, &st))
                continue;
            if (t >= c->next_ms) {
                c->next_ms += gap_ms;
                if (c->next_ms < t)
                    c->next_ms = t + gap_ms;   /* after a reconnect */
                if (c->out_len == 0)
                    queue_recon(c, &st);
                else
                    skipped++;                 /* the node is not reading */
            }
            if (c->out_len)
                flush_some(c, &st);
        }
        pump(cs, o->conns, 5, &st);
    }
    close_all(cs, o->conns);
    double secs = (double)(now_ms() - t0) / 1000.0;
    printf("result mode=recon-flood conns=%u msgs=%lu ids=%lu skipped=%lu seconds=%.1f "
           "msgs_per_s=%.1f drops=%lu reconnects=%lu bytes=%lu\n", o->conns, st.msgs, st.items,
           skipped, secs, secs > 0 ? st.msgs / secs : 0.0, st.drops, st.reconnects, st.bytes);
    return 0;
}

/* ---- setup helpers ---- */

static int run_mktxs(const struct opts *o)
{
    if (!o->out)
        usage();
    FILE *f = fopen(o->out, "w");
    if (!f) {
        perror(o->out);
        return 1;
    }
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    for (unsigned long i = 0; i < o->count; i++) {
        struct chain_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.version = TX_VERSION;
        memset(tx.to, 0x11, 32);
        tx.amount = 1000;
        tx.fee = params->min_fee;
        tx.nonce = i;
        tx.memo_len = (uint16_t)o->memo;
        rng_fill(tx.memo, tx.memo_len);
        chain_tx_sign(&tx, sk);
        uint8_t buf[TX_SIZE_MAX];
        char hex[2 * TX_SIZE_MAX + 1];
        struct wr w;
        wr_init_fixed(&w, buf, sizeof buf);
        chain_tx_encode(&w, &tx);
        hex_encode(hex, buf, w.len);
        fprintf(f, "%s\n", hex);
    }
    return fclose(f) == 0 ? 0 : 1;
}

static int run_mine_empty(const struct opts *o)
{
    if (!o->have_prev || o->height == 0)
        usage();
    struct chain_tx cb;
    memset(&cb, 0, sizeof cb);
    cb.version = TX_VERSION;
    memset(cb.to, 0x22, 32);
    cb.amount = params->reward;
    cb.nonce = o->height;
    chain_tx_seal(&cb);
    struct chain_block b = { .n_tx = 1, .txs = &cb };
    b.hdr.version = BLOCK_VERSION;
    memcpy(b.hdr.prev, o->prev, 32);
    b.hdr.time_ms = wall_ms();
    b.hdr.bits = params->pow_limit_bits;
    bool mutated;
    if (chain_block_merkle(&b, b.hdr.merkle_root, &mutated) != 0)
        return 1;
    uint64_t start = 0;
    while (!chain_mine(&b.hdr, start, 1u << 16))
        start += 1u << 16;
    struct wr w;
    wr_init(&w, BLOCK_SIZE_LIMIT);
    if (!chain_block_encode(&w, &b)) {
        wr_free(&w);
        return 1;
    }
    char *hex = malloc(2 * w.len + 1);
    char hash_hex[65];
    uint8_t hash[32];
    if (!hex) {
        wr_free(&w);
        return 1;
    }
    hex_encode(hex, w.buf, w.len);
    chain_header_hash(&b.hdr, hash);
    hex_encode_hash(hash_hex, hash);
    printf("%s\n%s\n", hash_hex, hex);
    free(hex);
    wr_free(&w);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    rng_state = (wall_ms() ^ ((uint64_t)getpid() << 32)) | 1u;
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(o.mode, "mktxs"))
        return run_mktxs(&o);
    if (!strcmp(o.mode, "mine-empty"))
        return run_mine_empty(&o);
    if (o.port == 0)
        usage();
    int rc;
    if (!strcmp(o.mode, "headers-lowwork"))
        rc = run_headers(&o);
    else if (!strcmp(o.mode, "getdata-noread"))
        rc = run_getdata(&o);
    else if (!strcmp(o.mode, "recon-flood"))
        rc = run_recon(&o);
    else
        usage();
    fflush(stdout);
    return rc;
}
