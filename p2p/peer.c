/* One peer's connection: the handshake (version/verack), liveness (ping,
 * idle and handshake timeouts), the send path and flow control, and the
 * peer table (find, drop, sweep). */
#include "p2p/core.h"
#include "p2p/cmpct.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/hmap.h"

void p2p__emit_msg(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, size_t bytes, bool sent)
{
    if (sent) {
        p->stats.msgs_sent[cmd]++;
        p->stats.bytes_sent[cmd] += bytes;
        pe->msgs_sent_cmd[cmd]++;
        pe->bytes_sent_cmd[cmd] += bytes;
        pe->bytes_sent += bytes;
        if (p->ev.msg_sent)
            p->ev.msg_sent(p->ev.ctx, pe->id, p2p_cmd_name(cmd), bytes);
    } else {
        p->stats.msgs_recv[cmd]++;
        p->stats.bytes_recv[cmd] += bytes;
        pe->msgs_recv_cmd[cmd]++;
        pe->bytes_recv_cmd[cmd] += bytes;
        if (p->ev.msg_recv)
            p->ev.msg_recv(p->ev.ctx, pe->id, p2p_cmd_name(cmd), bytes);
    }
}

struct peer *p2p__peer_find(const struct p2p *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peer_ids[i] == id && !p->peers[i]->dead)
            return p->peers[i];
    return NULL;
}

void p2p__send_bytes(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, const uint8_t *buf,
                     size_t len)
{
    if (pe->dead || len == 0)
        return;
    if (p->io.send(p->io.ctx, pe->id, buf, len) < 0) {
        p2p__drop(p, pe, "send-failed");
        return;
    }
    if (cmd < P2P_CMD_COUNT)
        p2p__emit_msg(p, pe, cmd, len, true);
    else
        pe->bytes_sent += len;          /* transport bytes: no message */
    pe->last_send_ms = p->now;
    if (pe->send_pending == 0)
        pe->send_acked_ms = p->now;    /* the stall clock starts at the first unsent byte */
    pe->send_pending += len;
    p->send_total += len;
    if (pe->send_pending > P2P_SEND_QUEUE_MAX_BYTES) {
        p2p__drop(p, pe, "send-queue-full");
    } else if (!pe->paused && pe->send_pending > P2P_SEND_QUEUE_PAUSE_BYTES) {
        pe->paused = true;
        if (p->io.pause_read && !pe->hdr_paused)
            p->io.pause_read(p->io.ctx, pe->id, true);
    }
}

/* Hands a finished frame (in w, from offset 0) to the driver. */
static void send_frame(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, struct wr *w)
{
    if (!w->err)
        p2p__send_bytes(p, pe, cmd, w->buf, w->len);
}

void p2p__frame_send(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, struct wr *w)
{
    if (p2p_frame_end(w, 0, p->magic, cmd) == 0) {
        if (pe->framer.transport == P2P_TRANSPORT_V1) {
            send_frame(p, pe, cmd, w);
        } else if (pe->framer.v2_ready) {
            struct wr sealed;
            wr_init(&sealed, P2P_V2_OVERHEAD_BYTES + P2P_COMMAND_BYTES + w->len);
            if (p2p_framer_seal(&pe->framer, w->buf, w->len, &sealed) == 0)
                send_frame(p, pe, cmd, &sealed);
            wr_free(&sealed);
        }
        /* else: a v2 connection before its handshake sends nothing but the
         * handshake (version waits for p2p__transport_ready). */
    }
    wr_free(w);
}

void p2p__send_empty(struct p2p *p, struct peer *pe, enum p2p_cmd cmd)
{
    struct wr w;
    FRAME_START(w);
    p2p__frame_send(p, pe, cmd, &w);
}

void p2p__send_nonce(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint64_t nonce)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_nonce(&w, nonce);
    p2p__frame_send(p, pe, cmd, &w);
}

void p2p__send_inv(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint32_t type,
                   const uint8_t (*hashes)[32], size_t n)
{
    while (n > 0 && !pe->dead) {
        size_t k = n < P2P_MAX_INV_ENTRIES ? n : P2P_MAX_INV_ENTRIES;
        struct wr w;
        FRAME_START(w);
        p2p_put_inv(&w, type, hashes, k);
        p2p__frame_send(p, pe, cmd, &w);
        hashes += k;
        n -= k;
    }
}

void p2p__send_version(struct p2p *p, struct peer *pe)
{
    struct p2p_version v;
    memset(&v, 0, sizeof(v));
    v.version = P2P_PROTOCOL_VERSION;
    v.services = P2P_SERVICES;
    v.timestamp = (int64_t)(p->now / 1000);
    v.addr_recv = pe->addr;
    v.addr_from.port = p->listen_port;
    /* Fresh per connection, so a peer cannot link our connections by it:
     * SipHash of the peer id under the core's secret p->nonce (the PRNG's
     * stream is left as it was). */
    uint8_t key[32] = { 0 };
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(pe->id >> (8 * i));
    pe->version_nonce = hmap_hash(p->nonce, key);
    pe->sent_version = true;
    v.nonce = pe->version_nonce;
    memcpy(v.user_agent, p->ua, sizeof(v.user_agent));
    v.start_height = (int32_t)chain_height(p->chain);
    v.relay = true;
    struct wr w;
    FRAME_START(w);
    p2p_put_version(&w, &v);
    p2p__frame_send(p, pe, P2P_CMD_VERSION, &w);
}

/* The connection is over: tell the driver (if we close it), forget the
 * peer's requests, schedule a reconnect. Memory goes in p2p__sweep(). */
void p2p__peer_gone(struct p2p *p, struct peer *pe, const char *reason, bool tell_driver)
{
    if (pe->dead)
        return;
    pe->dead = true;
    p->n_dead++;
    p->send_total -= pe->send_pending;   /* the driver drops what it held */
    if (tell_driver)
        p->io.disconnect(p->io.ctx, pe->id, reason);
    p2p_txreq_peer_gone(p->req, pe->id);
    p2p__cmpct_peer_gone(p, pe);
    bool retry_v1 = p2p__transport_gone(p, pe);
    for (size_t i = 0; i < p->n_added; i++) {
        struct added *a = &p->added[i];
        if (a->peer != pe->id)
            continue;
        a->peer = 0;
        if (retry_v1) {
            a->next_ms = p->now;    /* at once, as v1 */
        } else if (!a->persistent) {
            p2p__added_remove(p, a);
        } else {
            a->next_ms = p->now + a->backoff_ms;
            a->backoff_ms = a->backoff_ms * 2 > P2P_RECONNECT_MAX_MS ? P2P_RECONNECT_MAX_MS
                                                                     : a->backoff_ms * 2;
        }
        break;
    }
    if (p->ev.peer_disconnected) {
        struct p2p_peer_info pi;
        p2p__fill_info(p, pe, &pi);
        p->ev.peer_disconnected(p->ev.ctx, &pi, reason);
    }
    p->fetch_dirty = true;
}

void p2p__drop(struct p2p *p, struct peer *pe, const char *reason)
{
    p2p__peer_gone(p, pe, reason, true);
}

void p2p__peer_free(struct peer *pe)
{
    p2p_framer_free(&pe->framer);
    p2p_presync_free(pe->presync);
    free(pe->txq);
    free(pe->gd);
    free(pe->gh_wait);
    p2p_filter_free(&pe->known);
    free(pe);
}

void p2p__sweep(struct p2p *p)
{
    if (!p->n_dead)
        return;   /* nothing to free: no need to read every peer */
    p->n_dead = 0;
    size_t j = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (p->peers[i]->dead)
            p2p__peer_free(p->peers[i]);
        else {
            p->peer_ids[j] = p->peer_ids[i];
            p->peers[j++] = p->peers[i];
        }
    }
    p->n_peers = j;
}

struct peer *p2p__random_live_peer(struct p2p *p, bool need_no_recon)
{
    struct peer *cand[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        struct peer *pe = p->peers[i];
        if (p2p__live(pe) && (!need_no_recon || !pe->recon_ms))
            cand[n++] = pe;
    }
    return n ? cand[p2p_rng_below(&p->rng, n)] : NULL;
}

static void parse_name(const char *ua, char name[P2P_MAX_NAME_BYTES + 1])
{
    name[0] = '\0';
    const char *open = strchr(ua, '(');
    if (!open)
        return;
    const char *close = strchr(open, ')');
    if (!close)
        return;
    size_t n = (size_t)(close - open - 1);
    if (n > P2P_MAX_NAME_BYTES)
        n = P2P_MAX_NAME_BYTES;
    memcpy(name, open + 1, n);
    name[n] = '\0';
}

static void on_established(struct p2p *p, struct peer *pe)
{
    /* Handshakes do not hold inbound slots; a finished one needs one now. */
    const char *refuse = pe->inbound ? p2p__admit_inbound(p, &pe->addr, pe) : NULL;
    if (refuse) {
        p2p__drop(p, pe, refuse);
        return;
    }
    pe->established = true;
    p2p_framer_set_established(&pe->framer);
    pe->next_ping_ms = p->now + P2P_PING_INTERVAL_MS;
    for (size_t i = 0; i < p->n_added; i++)
        if (p->added[i].peer == pe->id)
            p->added[i].backoff_ms = P2P_RECONNECT_MIN_MS;
    if (p->ev.peer_connected) {
        struct p2p_peer_info pi;
        p2p__fill_info(p, pe, &pi);
        p->ev.peer_connected(p->ev.ctx, &pi);
    }
    p2p__send_empty(p, pe, P2P_CMD_SENDHEADERS);
    p2p__cmpct_peer_ready(p, pe);
    if (!pe->inbound) {
        p2p__book_good(p, &pe->addr);   /* reached: into the tried table */
        p2p__send_empty(p, pe, P2P_CMD_GETADDR);
        p2p__addr_tokens_grant(p, pe, P2P_ADDR_GETADDR_TOKENS);
    }
    if (pe->relay_own_addr) {
        struct p2p_addr a = pe->addr;
        a.port = pe->listen_port;
        p2p__relay_addr(p, pe, &a);
    }
    /* Anti-entropy on connect: headers sync and a mempool round. */
    p2p__send_getheaders(p, pe, NULL);
    p2p__start_recon(p, pe);
    p->fetch_dirty = true;
}

int p2p__handle_version(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_version v;
    int err = p2p_dec_version(buf, len, &v);
    if (err)
        return err;
    if (pe->got_version)
        return P2P_ERR_DUP_VERSION;
    /* Our own version coming back: a nonce we sent on any connection. */
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *q = p->peers[i];
        if (q->sent_version && !q->dead && q->version_nonce == v.nonce) {
            p2p__drop(p, pe, "self-connection");
            return 0;
        }
    }
    if (v.version < P2P_MIN_PROTOCOL_VERSION) {
        p2p__drop(p, pe, "obsolete-version");
        return 0;
    }
    pe->got_version = true;
    pe->version = v.version;
    pe->services = v.services;
    memcpy(pe->ua, v.user_agent, sizeof(pe->ua));
    parse_name(pe->ua, pe->name);
    pe->start_height = v.start_height;
    /* Not trusted: a claimed height costs nothing. Blocks are asked of a
     * peer only for heights its headers, invs or blocks showed. */
    pe->best_height = 0;
    pe->relay = v.relay;
    if (pe->inbound) {
        p2p__send_version(p, pe);
        /* Its listening address: the IP it came from, the port it says. */
        if (v.addr_from.port) {
            struct p2p_addr a = pe->addr;
            a.port = v.addr_from.port;
            pe->listen_port = a.port;
            if (p2p__book_add(p, &a) == BOOK_ADDED)
                pe->relay_own_addr = true;
        }
    }
    p2p__send_empty(p, pe, P2P_CMD_VERACK);
    if (pe->got_verack && !pe->dead)
        on_established(p, pe);
    return 0;
}

int p2p__handle_verack(struct p2p *p, struct peer *pe)
{
    if (!pe->got_version || pe->got_verack)
        return P2P_ERR_BAD_VERACK;
    pe->got_verack = true;
    on_established(p, pe);
    return 0;
}

int p2p__handle_ping(struct p2p *p, struct peer *pe, uint64_t nonce)
{
    p2p__send_nonce(p, pe, P2P_CMD_PONG, nonce);
    return 0;
}

int p2p__handle_pong(struct p2p *p, struct peer *pe, uint64_t nonce)
{
    if (pe->ping_nonce && nonce == pe->ping_nonce) {
        pe->ping_ms = (int64_t)(p->now - pe->ping_sent_ms);
        pe->ping_nonce = 0;
    }
    return 0;
}

/* When a peer holding at least P2P_SEND_SERVE_BELOW_BYTES unsent, with
 * nothing reported written since send_acked_ms, is dropped: sooner while
 * bodies wait for the node's budget. */
static uint64_t send_stall_deadline(const struct p2p *p, const struct peer *pe)
{
    if (pe->send_pending < P2P_SEND_SERVE_BELOW_BYTES)
        return UINT64_MAX;
    uint64_t t = pe->send_acked_ms + P2P_SEND_STALL_MS;
    if (p->send_contended_ms) {
        uint64_t from = pe->send_acked_ms > p->send_contended_ms ? pe->send_acked_ms
                                                                 : p->send_contended_ms;
        if (from + P2P_SEND_STALL_CONTENDED_MS < t)
            t = from + P2P_SEND_STALL_CONTENDED_MS;
    }
    return t;
}

void p2p__resume_read(struct p2p *p, struct peer *pe)
{
    if (!pe->paused && !pe->hdr_paused && p->io.pause_read)
        p->io.pause_read(p->io.ctx, pe->id, false);
}

static void hdr_refill(struct p2p *p, struct peer *pe)
{
    uint64_t add = (p->now - pe->hdr_refill_ms) * P2P_LOWWORK_HEADERS_PER_S / 1000;
    pe->hdr_refill_ms = p->now;
    pe->hdr_tokens = add >= P2P_LOWWORK_HEADERS_BURST ? (int64_t)P2P_LOWWORK_HEADERS_BURST
                     : pe->hdr_tokens + (int64_t)add;
    if (pe->hdr_tokens > (int64_t)P2P_LOWWORK_HEADERS_BURST)
        pe->hdr_tokens = P2P_LOWWORK_HEADERS_BURST;
}

void p2p__lowwork_headers(struct p2p *p, struct peer *pe, size_t n)
{
    hdr_refill(p, pe);
    pe->hdr_tokens -= (int64_t)n;
    if (pe->hdr_tokens >= 0 || pe->hdr_paused)
        return;
    pe->hdr_paused = true;
    pe->hdr_resume_ms = p->now + (uint64_t)(-pe->hdr_tokens) * 1000 / P2P_LOWWORK_HEADERS_PER_S + 1;
    p->stats.headers_paused++;
    if (p->io.pause_read && !pe->paused)
        p->io.pause_read(p->io.ctx, pe->id, true);
}

void p2p__peer_tick(struct p2p *p, struct peer *pe)
{
    uint64_t now = p->now;
    if (!pe->established && now - pe->connected_ms >= P2P_HANDSHAKE_TIMEOUT_MS) {
        p2p__drop(p, pe, "handshake-timeout");
        return;
    }
    if (now - pe->last_recv_ms >= P2P_IDLE_TIMEOUT_MS) {
        p2p__drop(p, pe, "idle-timeout");
        return;
    }
    if (pe->ping_nonce && now - pe->ping_sent_ms >= P2P_PING_TIMEOUT_MS) {
        p2p__drop(p, pe, "ping-timeout");
        return;
    }
    if (now >= send_stall_deadline(p, pe)) {
        p->stats.send_stalls++;
        p2p__drop(p, pe, "send-stalled");   /* it does not read: not a fault */
        return;
    }
    if (pe->hdr_paused && now >= pe->hdr_resume_ms) {
        hdr_refill(p, pe);
        pe->hdr_paused = false;
        p2p__resume_read(p, pe);
    }
    if (pe->established && !pe->ping_nonce && now >= pe->next_ping_ms) {
        pe->ping_nonce = p2p_rng_next(&p->rng) | 1;
        pe->ping_sent_ms = now;
        pe->next_ping_ms = now + P2P_PING_INTERVAL_MS;
        p2p__send_nonce(p, pe, P2P_CMD_PING, pe->ping_nonce);
    }
}

uint64_t p2p__peer_next_deadline(const struct p2p *p, const struct peer *pe)
{
    uint64_t t = pe->last_recv_ms + P2P_IDLE_TIMEOUT_MS;
    if (!pe->established && pe->connected_ms + P2P_HANDSHAKE_TIMEOUT_MS < t)
        t = pe->connected_ms + P2P_HANDSHAKE_TIMEOUT_MS;
    if (pe->ping_nonce) {
        if (pe->ping_sent_ms + P2P_PING_TIMEOUT_MS < t)
            t = pe->ping_sent_ms + P2P_PING_TIMEOUT_MS;
    } else if (pe->established && pe->next_ping_ms < t) {
        t = pe->next_ping_ms;
    }
    uint64_t stall = send_stall_deadline(p, pe);
    if (stall < t)
        t = stall;
    if (pe->hdr_paused && pe->hdr_resume_ms < t)
        t = pe->hdr_resume_ms;
    return t;
}
