/* The gossip core: entry points, frame dispatch, and the composition of
 * the modules' ticks and deadlines. See p2p.h for the contract, core.h for
 * the module map, and docs/PROTOCOL.md ("## Relay rules") for the policy
 * in prose. */
#include "p2p/core.h"
#include "p2p/cmpct.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

/* Decodes one complete frame and runs its handler: 0 or a negative result
 * (decoding error or the handler's), for p2p__result. */
static int process_frame(struct p2p *p, struct peer *pe, const struct p2p_frame_hdr *h,
                         const uint8_t *payload)
{
    size_t len = h->len;
    p2p__emit_msg(p, pe, h->cmd, P2P_HEADER_BYTES + len, false);
    if (!h->sealed && !p2p_frame_checksum_ok(h, payload, len))
        return P2P_ERR_BAD_CHECKSUM;
    if (h->cmd == P2P_CMD_UNKNOWN)
        return 0;   /* ignored, as Bitcoin does, for forward compatibility */
    /* Before the handshake the framer lets only version/verack through. */
    assert(pe->established || h->cmd == P2P_CMD_VERSION || h->cmd == P2P_CMD_VERACK);
    struct p2p_list l;
    int err;
    switch (h->cmd) {
    case P2P_CMD_VERSION:
        return p2p__handle_version(p, pe, payload, len);
    case P2P_CMD_VERACK:
        return (err = p2p_dec_empty(payload, len)) ? err : p2p__handle_verack(p, pe);
    case P2P_CMD_PING: {
        uint64_t nonce;
        return (err = p2p_dec_nonce(payload, len, &nonce)) ? err
                                                           : p2p__handle_ping(p, pe, nonce);
    }
    case P2P_CMD_PONG: {
        uint64_t nonce;
        return (err = p2p_dec_nonce(payload, len, &nonce)) ? err
                                                           : p2p__handle_pong(p, pe, nonce);
    }
    case P2P_CMD_ADDR:
        return (err = p2p_dec_addr(payload, len, &l)) ? err : p2p__handle_addr(p, pe, &l);
    case P2P_CMD_GETADDR:
        return (err = p2p_dec_empty(payload, len)) ? err : p2p__handle_getaddr(p, pe);
    case P2P_CMD_INV:
        return (err = p2p_dec_inv(payload, len, &l)) ? err : p2p__handle_inv(p, pe, &l);
    case P2P_CMD_GETDATA:
        return (err = p2p_dec_getdata(payload, len, &l)) ? err : p2p__handle_getdata(p, pe, &l);
    case P2P_CMD_NOTFOUND:
        return (err = p2p_dec_inv(payload, len, &l)) ? err : p2p__handle_notfound(p, pe, &l);
    case P2P_CMD_TX:
        return p2p__handle_tx(p, pe, payload, len);
    case P2P_CMD_BLOCK:
        return p2p__handle_block(p, pe, payload, len);
    case P2P_CMD_GETHEADERS: {
        struct p2p_getheaders g;
        return (err = p2p_dec_getheaders(payload, len, &g)) ? err
                                                             : p2p__handle_getheaders(p, pe, &g);
    }
    case P2P_CMD_HEADERS:
        return (err = p2p_dec_headers(payload, len, &l)) ? err : p2p__handle_headers(p, pe, &l);
    case P2P_CMD_SENDHEADERS:
        if ((err = p2p_dec_empty(payload, len)) == 0)
            pe->sendheaders = true;
        return err;
    case P2P_CMD_MEMPOOL:
        return (err = p2p_dec_empty(payload, len)) ? err : p2p__handle_mempool(p, pe);
    case P2P_CMD_RECON: {
        struct p2p_recon_msg m;
        return (err = p2p_dec_recon(payload, len, &m)) ? err : p2p__handle_recon(p, pe, &m);
    }
    case P2P_CMD_SENDCMPCT:
        return p2p__handle_sendcmpct(p, pe, payload, len);
    case P2P_CMD_CMPCTBLOCK:
        return p2p__handle_cmpctblock(p, pe, payload, len);
    case P2P_CMD_GETBLOCKTXN:
        return p2p__handle_getblocktxn(p, pe, payload, len);
    case P2P_CMD_BLOCKTXN:
        return p2p__handle_blocktxn(p, pe, payload, len);
    case P2P_CMD_PUSHREQ: {
        uint32_t graft, prune;
        return (err = p2p_dec_pushreq(payload, len, &graft, &prune))
                   ? err : p2p__handle_pushreq(p, pe, graft, prune);
    }
    default:
        return 0;
    }
}

void p2p_config_init(struct p2p_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->outbound_target = P2P_OUTBOUND_UNSET;
}

const char *p2p_source_name(enum p2p_source s)
{
    switch (s) {
    case P2P_SRC_RPC:   return "rpc";
    case P2P_SRC_PEER:  return "peer";
    case P2P_SRC_REORG: return "reorg";
    }
    return "?";
}

int p2p_create(struct p2p **out, const struct p2p_config *cfg, uint64_t now_ms)
{
    if (!cfg || !cfg->chain || !cfg->io || !cfg->io->send || !cfg->io->connect
        || !cfg->io->disconnect)
        return P2P_ERR_INVALID_ARG;
    struct p2p *p = p2p__calloc(1, sizeof(*p));
    if (!p)
        return P2P_ERR_NOMEM;
    p->chain = cfg->chain;
    p->io = *cfg->io;
    if (cfg->events)
        p->ev = *cfg->events;
    p->magic = chain_params(p->chain)->magic;
    p2p_rng_seed(&p->rng, cfg->seed);
    p->salt = p2p_rng_next(&p->rng);
    p->nonce = p2p_rng_next(&p->rng);
    p->listen_port = cfg->listen_port;
    p->tx_batch_ms = cfg->tx_batch_ms ? cfg->tx_batch_ms : P2P_TX_BATCH_MS_DEFAULT;
    p->fanout = cfg->fanout;
    p->relay_mode = cfg->relay_mode;
    p->outbound_target = cfg->outbound_target == P2P_OUTBOUND_UNSET
                             ? P2P_OUTBOUND_TARGET_DEFAULT : cfg->outbound_target;
    p->inbound_max = cfg->inbound_max ? cfg->inbound_max : P2P_INBOUND_MAX_DEFAULT;
    p->ban_ms = cfg->ban_ms ? cfg->ban_ms : P2P_BAN_MS_DEFAULT;
    p->recon_interval_ms = cfg->recon_interval_ms ? cfg->recon_interval_ms
                                                  : P2P_RECON_INTERVAL_MS_DEFAULT;
    int err = p2p__transport_config(p, cfg);
    p->cmpct_on = cfg->cmpct;
    /* "/gossipd:0.1.0(NAME)/" with the name reduced to safe characters. */
    char name[P2P_MAX_NAME_BYTES + 1] = "";
    size_t k = 0;
    for (const char *c = cfg->name; c && *c && k < P2P_MAX_NAME_BYTES; c++)
        if (*c > 0x20 && *c < 0x7f && *c != '(' && *c != ')' && *c != '/')
            name[k++] = *c;
    name[k] = '\0';
    snprintf(p->ua, sizeof(p->ua), "/gossipd:%s(%s)/", P2P_VERSION_STRING, name);
    p->now = now_ms;
    p->next_recon_ms = now_ms + p->recon_interval_ms;
    p->next_headers_ms = now_ms + P2P_HEADERS_SYNC_INTERVAL_MS;
    p->next_fetch_ms = now_ms;
    chain_tip(p->chain, p->last_tip);
    if (!err && !(p->added = p2p__calloc(P2P_ADDED_INITIAL_ENTRIES, sizeof(*p->added))))
        err = P2P_ERR_NOMEM;
    p->cap_added = P2P_ADDED_INITIAL_ENTRIES;
    if (!err)
        err = p2p_txreq_create(&p->req, p2p_rng_next(&p->rng));
    if (!err)
        err = p2p_filter_init(&p->recent, P2P_RECENT_GEN_ENTRIES);
    if (!err)
        err = p2p_filter_init(&p->rejected, P2P_REJECTED_GEN_ENTRIES);
    if (!err)
        err = p2p_banlist_init(&p->bans, p->salt);
    if (!err)
        err = p2p__cmpct_init(p);
    if (err) {
        p2p_destroy(p);
        return err;
    }
    struct chain_events ce = p2p__fetch_chain_events(p);
    int h = chain_add_listener(p->chain, &ce);
    if (h <= 0) {
        p2p_destroy(p);
        return P2P_ERR_FULL;
    }
    p->chain_listener = h;
    *out = p;
    return 0;
}

void p2p_destroy(struct p2p *p)
{
    if (!p)
        return;
    if (p->chain_listener > 0)
        chain_remove_listener(p->chain, p->chain_listener);
    for (size_t i = 0; i < p->n_peers; i++)
        p2p__peer_free(p->peers[i]);
    free(p->peers);
    free(p->peer_ids);
    p2p_txreq_destroy(p->req);
    p2p__recon_free(p);
    p2p__verify_free(p);
    p2p__cmpct_free(p);
    p2p_filter_free(&p->recent);
    p2p_filter_free(&p->rejected);
    free(p->book);
    free(p->added);
    free(p->orphans);
    free(p->refused);
    free(p->v2.allowed);
    free(p->v2.v1_only);
    free(p->book_idx);
    p2p_banlist_free(&p->bans);
    free(p);
}

const char *p2p_user_agent(const struct p2p *p)
{
    return p->ua;
}

/* Makes room among the handshaking inbound connections: the oldest
 * handshake of the network group with the most of them gives way. */
static void free_handshake_slot(struct p2p *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        n += !p->peers[i]->dead && p->peers[i]->inbound && !p->peers[i]->established;
    if (n < P2P_MAX_HANDSHAKING_INBOUND)
        return;
    struct peer *victim = NULL;
    size_t victim_count = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *a = p->peers[i];
        if (a->dead || !a->inbound || a->established)
            continue;
        size_t count = 0;
        struct peer *oldest = a;
        uint64_t g = p2p_addr_netgroup(&a->addr);
        for (size_t j = 0; j < p->n_peers; j++) {
            struct peer *b = p->peers[j];
            if (b->dead || !b->inbound || b->established || p2p_addr_netgroup(&b->addr) != g)
                continue;
            count++;
            if (b->connected_ms < oldest->connected_ms)
                oldest = b;
        }
        if (count > victim_count) {
            victim = oldest;
            victim_count = count;
        }
    }
    if (victim)
        p2p__drop(p, victim, "handshake-slots-full");
}

const char *p2p__admit_inbound(struct p2p *p, const struct p2p_addr *addr,
                               const struct peer *self)
{
    size_t n_in = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *pe = p->peers[i];
        n_in += !pe->dead && pe->inbound && pe->established && pe != self;
    }
    bool disc = !p2p__is_noban(p, addr) && p2p_banlist_is_discouraged(&p->bans, addr);
    if (disc)
        return n_in + 1 >= p->inbound_max ? "discouraged" : NULL;
    if (n_in < p->inbound_max)
        return NULL;
    struct peer *victim = p2p__evict_victim(p, self);
    if (!victim)
        return "inbound-full";
    p2p__drop(p, victim, victim->discouraged ? "evicted-discouraged" : "evicted");
    return NULL;
}

void p2p_on_connected(struct p2p *p, uint64_t peer, const struct p2p_addr *addr, bool inbound,
                      uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct added *a = inbound ? NULL : p2p__added_find(p, addr);
    if (a)
        a->connecting = false;
    const char *refuse = NULL;
    if (peer == 0 || p2p__peer_find(p, peer))
        refuse = "bad-peer-id";
    else if (p2p_banlist_find(&p->bans, addr, p->now))
        refuse = "banned";
    else if (inbound && !(refuse = p2p__admit_inbound(p, addr, NULL)))
        free_handshake_slot(p);
    else if (p->n_peers >= P2P_MAX_PEERS)
        refuse = "too-many-peers";
    struct peer *pe = NULL;
    if (!refuse) {
        if (p->n_peers == p->cap_peers) {
            size_t cap = p->cap_peers ? 2 * p->cap_peers : 16;
            struct peer **np = p2p__realloc(p->peers, cap * sizeof(*np));
            if (np)
                p->peers = np;
            uint64_t *ni = np ? p2p__realloc(p->peer_ids, cap * sizeof(*ni)) : NULL;
            if (ni) {
                p->peer_ids = ni;
                p->cap_peers = cap;
            }
        }
        pe = p->n_peers < p->cap_peers ? p2p__calloc(1, sizeof(*pe)) : NULL;
        if (pe && p2p_filter_init(&pe->known, P2P_KNOWN_INV_GEN_ENTRIES)) {
            free(pe);
            pe = NULL;
        }
        if (!pe) {
            refuse = "local-error";
            p2p__local_error(p, NULL, P2P_ERR_NOMEM);
        }
    }
    if (refuse) {
        p->io.disconnect(p->io.ctx, peer, refuse);
        if (a && !a->persistent)
            p2p__added_remove(p, a);
        else if (a)
            a->next_ms = p->now + a->backoff_ms;
        return;
    }
    pe->id = peer;
    pe->addr = *addr;
    pe->inbound = inbound;
    pe->connected_ms = pe->last_recv_ms = pe->last_send_ms = p->now;
    pe->ping_ms = -1;
    pe->addr_tokens = P2P_ADDR_TOKENS_START;
    pe->addr_refill_ms = p->now;
    pe->noban = p2p__is_noban(p, addr);
    pe->discouraged = !pe->noban && p2p_banlist_is_discouraged(&p->bans, addr);
    p2p_framer_init(&pe->framer, p->magic);
    p->peer_ids[p->n_peers] = peer;
    p->peers[p->n_peers++] = pe;
    if (a)
        a->peer = peer;
    p2p__transport_start(p, pe);
    p2p__sweep(p);
}

void p2p_on_bytes(struct p2p *p, uint64_t peer, const uint8_t *buf, size_t len,
                  uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct peer *pe = p2p__peer_find(p, peer);
    if (!pe)
        return;
    pe->last_recv_ms = p->now;
    pe->bytes_recv += len;
    while (len > 0 && !pe->dead) {
        struct p2p_frame fr;
        ssize_t used = p2p_framer_feed(&pe->framer, buf, len, &fr);
        p2p__transport_flush(p, pe);   /* v2 handshake bytes, if any */
        if (used == 0)
            break;   /* all taken, frame not complete */
        if (used < 0) {
            /* The stream is lost whatever the result says: after the
             * table has spoken (score, cut or local error), drop. */
            int r = (int)used;
            if (!p2p__result(p, pe, r))
                p2p__drop(p, pe, p2p__is_local_error(r) ? "local-error" : p2p_strerror(r));
            break;
        }
        buf += used;
        len -= (size_t)used;
        if (fr.kind == P2P_FRAME_V2_READY) {
            if (!p2p__transport_ready(p, pe, &fr))
                break;
            continue;
        }
        p2p__result(p, pe, process_frame(p, pe, &fr.hdr, fr.payload));
    }
    p2p__send_requests(p);
    if (p->fetch_dirty)
        p2p__plan_fetch(p), p2p__send_requests(p);
    p2p__sweep(p);
}

void p2p_on_sent(struct p2p *p, uint64_t peer, size_t n, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct peer *pe = p2p__peer_find(p, peer);
    if (!pe)
        return;
    size_t done = n > pe->send_pending ? pe->send_pending : n;
    pe->send_pending -= done;
    p->send_total -= done;
    if (done)
        pe->send_acked_ms = p->now;
    if (pe->paused && pe->send_pending < P2P_SEND_QUEUE_RESUME_BYTES) {
        pe->paused = false;
        p2p__resume_read(p, pe);
    }
    p2p__serve_getdata(p);   /* room for the next bodies, every peer in turn */
    p2p__sweep(p);
}

void p2p_on_disconnected(struct p2p *p, uint64_t peer, const char *reason, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct peer *pe = p2p__peer_find(p, peer);
    if (!pe)
        return;
    p2p__peer_gone(p, pe, reason ? reason : "closed", false);
    p2p__serve_getdata(p);   /* what it held is room for the others */
    p2p__sweep(p);
}

void p2p_on_tick(struct p2p *p, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    uint64_t now = p->now;
    /* Per peer, in this order: liveness (may drop it), its tx batch, its
     * sync timeouts. */
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (pe->dead)
            continue;
        p2p__peer_tick(p, pe);
        if (pe->dead)
            continue;
        p2p__relay_peer_tick(p, pe);
        p2p__sync_peer_tick(p, pe);
    }
    p2p__serve_getdata(p);
    p2p__sync_tick(p);
    if (now >= p->next_chain_tick_ms) {
        p->next_chain_tick_ms = now + P2P_TICK_MAX_MS;
        chain_tick(p->chain, now);
    }
    p2p__fetch_tick(p);
    p2p__connmgr_tick(p);
    p2p__sweep(p);
}

uint64_t p2p_next_deadline(const struct p2p *p)
{
    uint64_t t = p->now + P2P_TICK_MAX_MS;
#define MIN_T(x) do { uint64_t v_ = (x); if (v_ < t) t = v_; } while (0)
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *pe = p->peers[i];
        if (pe->dead)
            continue;
        MIN_T(p2p__peer_next_deadline(p, pe));
        MIN_T(p2p__relay_peer_next_deadline(p, pe));
    }
    MIN_T(p2p__fetch_next_deadline(p));
    MIN_T(p2p__sync_next_deadline(p));
    MIN_T(p2p__connmgr_next_deadline(p));
#undef MIN_T
    return t < p->now ? p->now : t;
}

int p2p_submit_tx(struct p2p *p, const struct chain_tx *tx, uint64_t now_ms)
{
    uint8_t txid[32];
    p2p__set_now(p, now_ms);
    chain_tx_txid(tx, txid);
    /* Accepted now or once its nonce gap closes: on_tx_added reports it. */
    int r = chain_mempool_accept(p->chain, tx, p2p__origin_of(P2P_SRC_RPC, 0), p->now);
    if (r < 0) {
        p->stats.txs_rejected++;
        if (p->ev.tx_rejected)
            p->ev.tx_rejected(p->ev.ctx, txid, P2P_SRC_RPC, 0, r);
    }
    p2p__sweep(p);
    return r;
}

/* Our own block, before chain/ connects it: if it extends our tip, its
 * header passes the checks a header gets (PoW, bits, time, linkage) and
 * its txs hash to its merkle root, the peers that asked for pushes get it
 * now (p2p__cmpct_push_own), as a relay pushes a cmpctblock it received
 * before validating it. The connect (and its commit, an fsync by default)
 * then runs while the block crosses the links. The checks store nothing:
 * chain_accept_header would write the header row first, one more commit
 * ahead of the push. Returns the peers pushed to. */
static size_t push_own_block(struct p2p *p, const struct chain_block *b, const uint8_t hash[32])
{
    uint8_t tip[32], root[32];
    struct chain_hdr_cursor cur;
    bool mutated = false;
    chain_tip(p->chain, tip);
    if (!p->cmpct_on || memcmp(b->hdr.prev, tip, 32) != 0 || b->n_tx == 0
        || chain_have_block(p->chain, hash) || chain_is_invalid(p->chain, hash)
        || chain_hdr_cursor_at(p->chain, tip, &cur) != 0
        || chain_hdr_cursor_next(p->chain, &cur, &b->hdr, p->now) != 0
        || chain_block_merkle(b, root, &mutated) != 0 || mutated
        || memcmp(root, b->hdr.merkle_root, 32) != 0)
        return 0;
    return p2p__cmpct_push_own(p, b, hash);
}

int p2p_submit_block(struct p2p *p, const struct chain_block *b, uint64_t now_ms)
{
    struct chain_result res;
    uint8_t hash[32];
    p2p__set_now(p, now_ms);
    memset(&res, 0, sizeof(res));
    chain_header_hash(&b->hdr, hash);
    size_t pushed = push_own_block(p, b, hash);
    if (pushed && p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_BLOCK, hash, pushed);
    /* If it fails now (our miner's bug), the pushes stay the only
     * announcement: the tip does not move, nothing more goes out. */
    int r = chain_accept_block(p->chain, b, p->now, &res);
    if (r < 0) {
        p->stats.blocks_rejected++;
        if (p->ev.block_rejected)
            p->ev.block_rejected(p->ev.ctx, hash, 0, r);
        return r;
    }
    if (res.status == CHAIN_ST_NEW_TIP || res.status == CHAIN_ST_SIDE)
        p->stats.blocks_accepted++;
    p2p__tip_changed(p);
    p2p__send_requests(p);
    p2p__sweep(p);
    return (int)res.status;
}
