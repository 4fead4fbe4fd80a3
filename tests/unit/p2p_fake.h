/* A p2p core driven by a scripted remote, for the peer and relay suites:
 * a fake driver that records what the core sent, connected and closed,
 * and helpers that feed it frames. Header-only (static) test helper. */
#ifndef GOSSIPD_TESTS_P2P_FAKE_H
#define GOSSIPD_TESTS_P2P_FAKE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/params.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "p2p/msg.h"
#include "p2p/p2p.h"
#include "p2p/wire.h"

#define T0 (1800000000000ull)

struct fake {
    struct chain *chain;
    struct p2p *p;
    struct p2p_io io;
    struct p2p_events ev;
    uint32_t magic;
    /* what the core did */
    uint8_t out[1 << 16];
    size_t out_len;
    uint64_t last_send_peer;
    struct { uint64_t peer; size_t off, len; } sends[4096];
    size_t n_sends;
    uint64_t disconnected[16];
    char reasons[16][48];
    size_t n_disc;
    struct p2p_addr connects[16];
    size_t n_connects;
    int paused;
    /* events */
    int connected_ev, disconnected_ev, misbehaviour_ev, ban_ev, discouraged_ev, msgs_recv;
    int last_score;
    /* tx_accepted events, in order */
    struct { uint8_t txid[32]; enum p2p_source src; uint64_t peer; bool first; } acc[16];
    size_t n_acc;
    /* optional, for suites with their own bookkeeping: every send and
     * disconnect, after the above is recorded */
    void (*on_send)(struct fake *f, uint64_t peer, const uint8_t *buf, size_t len);
    void (*on_disconnect)(struct fake *f, uint64_t peer, const char *reason);
    void *user;
};

static inline int f_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct fake *f = ctx;
    f->last_send_peer = peer;
    if (sizeof(f->out) - f->out_len >= len) {
        if (f->n_sends < 4096) {
            f->sends[f->n_sends].peer = peer;
            f->sends[f->n_sends].off = f->out_len;
            f->sends[f->n_sends].len = len;
            f->n_sends++;
        }
        memcpy(f->out + f->out_len, buf, len);
        f->out_len += len;
    }
    if (f->on_send)
        f->on_send(f, peer, buf, len);
    return 0;
}

static inline void f_connect(void *ctx, const struct p2p_addr *a)
{
    struct fake *f = ctx;
    if (f->n_connects < 16)
        f->connects[f->n_connects++] = *a;
}

static inline void f_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    struct fake *f = ctx;
    if (f->n_disc < 16) {
        f->disconnected[f->n_disc] = peer;
        strncpy(f->reasons[f->n_disc], reason, 47);
        f->n_disc++;
    }
    if (f->on_disconnect)
        f->on_disconnect(f, peer, reason);
}

static inline void f_pause(void *ctx, uint64_t peer, bool paused)
{
    struct fake *f = ctx;
    (void)peer;
    f->paused += paused ? 1 : -1;
}

static inline void e_connected(void *ctx, const struct p2p_peer_info *pi)
{
    ((struct fake *)ctx)->connected_ev++;
    (void)pi;
}

static inline void e_disconnected(void *ctx, const struct p2p_peer_info *pi, const char *r)
{
    ((struct fake *)ctx)->disconnected_ev++;
    (void)pi;
    (void)r;
}

static inline void e_misb(void *ctx, uint64_t peer, const struct p2p_addr *a, int score, const char *r)
{
    struct fake *f = ctx;
    f->misbehaviour_ev++;
    f->last_score = score;
    (void)peer;
    (void)a;
    (void)r;
}

static inline void e_ban(void *ctx, const struct p2p_addr *a, uint64_t d, const char *r)
{
    ((struct fake *)ctx)->ban_ev++;
    (void)a;
    (void)d;
    (void)r;
}

static inline void e_discouraged(void *ctx, uint64_t peer, const struct p2p_addr *a,
                                 const char *r)
{
    ((struct fake *)ctx)->discouraged_ev++;
    (void)peer;
    (void)a;
    (void)r;
}

static inline void e_recv(void *ctx, uint64_t peer, const char *cmd, size_t bytes)
{
    ((struct fake *)ctx)->msgs_recv++;
    (void)peer;
    (void)cmd;
    (void)bytes;
}

static inline void e_tx_accepted(void *ctx, const uint8_t txid[32], enum p2p_source src,
                                 uint64_t peer, size_t size, bool first_seen)
{
    struct fake *f = ctx;
    (void)size;
    if (f->n_acc == sizeof f->acc / sizeof f->acc[0])
        return;
    memcpy(f->acc[f->n_acc].txid, txid, 32);
    f->acc[f->n_acc].src = src;
    f->acc[f->n_acc].peer = peer;
    f->acc[f->n_acc].first = first_seen;
    f->n_acc++;
}

/* Relay mode of the next core fake_new_* makes (test_push sets it). */
static enum p2p_relay_mode fake_relay_mode = P2P_RELAY_PULL;

/* A core on a chain opened with cc (a store to reopen, say); verify_tx:
 * the driver's signature-check callback (NULL: inline); cmpct: compact
 * blocks on. */
static inline struct fake *fake_new_full(const struct chain_config *cc, uint32_t inbound_max,
                                         uint32_t fanout,
                                         int (*verify_tx)(void *, uint64_t,
                                                          const struct chain_tx *),
                                         bool cmpct)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(chain_open(&f->chain, cc, T0), 0);
    f->magic = chain_params_regtest.magic;
    f->io = (struct p2p_io){ .ctx = f, .send = f_send, .connect = f_connect,
                             .disconnect = f_disconnect, .pause_read = f_pause,
                             .verify_tx = verify_tx };
    f->ev = (struct p2p_events){ .ctx = f, .peer_connected = e_connected,
                                 .peer_disconnected = e_disconnected,
                                 .misbehaviour = e_misb, .ban = e_ban,
                                 .discouraged = e_discouraged, .msg_recv = e_recv,
                                 .tx_accepted = e_tx_accepted };
    struct p2p_config cfg;
    p2p_config_init(&cfg);
    cfg.chain = f->chain;
    cfg.io = &f->io;
    cfg.events = &f->ev;
    cfg.name = "me";
    cfg.seed = 1;
    cfg.outbound_target = 0;
    cfg.inbound_max = inbound_max;
    cfg.ban_ms = 60000;
    cfg.fanout = fanout;
    cfg.cmpct = cmpct;
    cfg.relay_mode = fake_relay_mode;
    assert_int_equal(p2p_create(&f->p, &cfg, T0), 0);
    return f;
}

static inline struct fake *fake_new_on(const struct chain_config *cc, uint32_t inbound_max,
                                       uint32_t fanout)
{
    return fake_new_full(cc, inbound_max, fanout, NULL, false);
}

static inline struct fake *fake_new_verify(uint32_t inbound_max, uint32_t fanout,
                                           int (*verify_tx)(void *, uint64_t,
                                                            const struct chain_tx *))
{
    struct chain_config cc = { .params = &chain_params_regtest };
    return fake_new_full(&cc, inbound_max, fanout, verify_tx, false);
}

static inline struct fake *fake_new_cfg(uint32_t inbound_max, uint32_t fanout)
{
    struct chain_config cc = { .params = &chain_params_regtest };
    return fake_new_full(&cc, inbound_max, fanout, NULL, false);
}

/* A core with compact blocks on. */
static inline struct fake *fake_new_cmpct(uint32_t inbound_max)
{
    struct chain_config cc = { .params = &chain_params_regtest };
    return fake_new_full(&cc, inbound_max, 0, NULL, true);
}

static inline void fake_free(struct fake *f)
{
    p2p_check(f->p);
    p2p_destroy(f->p);
    chain_close(f->chain);
    free(f);
}

/* Counts frames of cmd in what the core sent since the last reset. */
static inline int sent_count(struct fake *f, enum p2p_cmd cmd)
{
    int n = 0;
    for (size_t at = 0; at + P2P_HEADER_BYTES <= f->out_len;) {
        struct p2p_frame_hdr h;
        assert_int_equal(p2p_frame_parse(f->out + at, f->magic, &h), 0);
        if (h.cmd == cmd)
            n++;
        at += P2P_HEADER_BYTES + h.len;
    }
    return n;
}

/* Forget what was sent so far. */
static inline void reset_out(struct fake *f)
{
    f->out_len = 0;
    f->n_sends = 0;
}

/* Frames of cmd sent to peer; payload and len get the last one (may be NULL). */
static inline int sent_to(struct fake *f, uint64_t peer, enum p2p_cmd cmd,
                          const uint8_t **payload, size_t *len)
{
    int n = 0;
    for (size_t i = 0; i < f->n_sends; i++) {
        struct p2p_frame_hdr h;
        if (f->sends[i].peer != peer)
            continue;
        assert_int_equal(p2p_frame_parse(f->out + f->sends[i].off, f->magic, &h), 0);
        if (h.cmd != cmd)
            continue;
        n++;
        if (payload)
            *payload = f->out + f->sends[i].off + P2P_HEADER_BYTES;
        if (len)
            *len = h.len;
    }
    return n;
}

static inline void frame(struct fake *f, uint64_t peer, enum p2p_cmd cmd, const uint8_t *pl,
                  size_t len, uint64_t now)
{
    struct wr w;
    wr_init(&w, P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES);
    p2p_frame_begin(&w);
    wr_bytes(&w, pl, len);
    assert_int_equal(p2p_frame_end(&w, 0, f->magic, cmd), 0);
    p2p_on_bytes(f->p, peer, w.buf, w.len, now);
    wr_free(&w);
}

static inline void send_version(struct fake *f, uint64_t peer, uint64_t nonce, const char *ua,
                         uint64_t now)
{
    struct p2p_version v;
    memset(&v, 0, sizeof(v));
    v.version = P2P_PROTOCOL_VERSION;
    v.nonce = nonce;
    strcpy(v.user_agent, ua);
    v.relay = true;
    v.addr_from.port = 7777;
    struct wr w;
    wr_init(&w, P2P_MAX_VERSION_BYTES);
    p2p_put_version(&w, &v);
    frame(f, peer, P2P_CMD_VERSION, w.buf, w.len, now);
    wr_free(&w);
}

/* An inbound peer completes the handshake. */
static inline void handshake_in(struct fake *f, uint64_t peer, const char *ip, uint64_t now)
{
    struct p2p_addr a;
    p2p_addr_parse(&a, ip, 5000);
    p2p_on_connected(f->p, peer, &a, true, now);
    send_version(f, peer, 1000 + peer, "/gossipd:0.1.0(them)/", now);
    frame(f, peer, P2P_CMD_VERACK, NULL, 0, now);
}

/* An outbound connection to a (as peer id) completes the handshake. */
static inline void fake_handshake_out(struct fake *f, uint64_t id, const struct p2p_addr *a,
                                 uint64_t now)
{
    p2p_on_connected(f->p, id, a, false, now);
    send_version(f, id, 5000 + id, "/gossipd:0.1.0(out)/", now);
    frame(f, id, P2P_CMD_VERACK, NULL, 0, now);
}

/* One inv-like message of one hash; one block body; one tx body. */
static inline void fake_send_inv1(struct fake *f, uint64_t peer, enum p2p_cmd cmd, uint32_t type,
                      const uint8_t hash[32], uint64_t now)
{
    uint8_t one[1][32];
    struct wr w;
    memcpy(one[0], hash, 32);
    wr_init(&w, 64);
    p2p_put_inv(&w, type, (const uint8_t (*)[32])one, 1);
    frame(f, peer, cmd, w.buf, w.len, now);
    wr_free(&w);
}

static inline void fake_send_block(struct fake *f, uint64_t peer, const struct chain_block *b,
                                   uint64_t now)
{
    struct wr w;
    wr_init(&w, P2P_MAX_BLOCK_BYTES);
    chain_block_encode(&w, b);
    frame(f, peer, P2P_CMD_BLOCK, w.buf, w.len, now);
    wr_free(&w);
}

static inline void fake_send_tx(struct fake *f, uint64_t peer, const struct chain_tx *tx, uint64_t now)
{
    struct wr w;
    wr_init(&w, P2P_MAX_TX_BYTES);
    chain_tx_encode(&w, tx);
    frame(f, peer, P2P_CMD_TX, w.buf, w.len, now);
    wr_free(&w);
}

static inline struct fake *fake_new(uint32_t inbound_max)
{
    return fake_new_cfg(inbound_max, 0);
}

/* Replaces f's core by a new one (a restart: what it held is gone) with
 * discovery on (outbound_target) and, if connect is given, that connect
 * callback (f stays its ctx). */
static inline void fake_restart(struct fake *f, uint32_t outbound_target, uint64_t seed,
                                void (*connect)(void *ctx, const struct p2p_addr *a),
                                uint64_t now)
{
    p2p_destroy(f->p);
    if (connect)
        f->io.connect = connect;
    struct p2p_config cfg;
    p2p_config_init(&cfg);
    cfg.chain = f->chain;
    cfg.io = &f->io;
    cfg.events = &f->ev;
    cfg.name = "me";
    cfg.seed = seed;
    cfg.outbound_target = outbound_target;
    cfg.ban_ms = 60000;
    assert_int_equal(p2p_create(&f->p, &cfg, now), 0);
}

#endif
