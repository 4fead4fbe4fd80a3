/* Fetching (Bitcoin's TxDownloadManager analog): owns the request
 * scheduler (txrequest), the recent/rejected filters, orphan-block holds,
 * block download planning, getdata grouping, and the bookkeeping of what
 * became of a tx or block body a peer sent. */
#include "p2p/core.h"
#include "p2p/cmpct.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

/* A peer that let a block request time out while someone else could
 * serve it holds the download window back: drop it, and its blocks go to
 * the next announcers at once (p2p_txreq_peer_gone). Not a fault (it may
 * just be slow), so not discouraged. */
static void drop_block_stallers(struct p2p *p)
{
    uint64_t st[P2P_MAX_PEERS];
    size_t n = p2p_txreq_block_stallers(p->req, p->now, st, P2P_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        struct peer *pe = p2p__peer_find(p, st[i]);
        if (pe && !pe->noban) {
            p->stats.block_stalls++;
            p2p__drop(p, pe, "block-stall");
        }
    }
}

void p2p__send_requests(struct p2p *p)
{
    drop_block_stallers(p);
    struct p2p_txreq_req reqs[P2P_POLL_BATCH_ENTRIES];
    size_t n;
    do {
        n = p2p_txreq_poll(p->req, p->now, reqs, P2P_POLL_BATCH_ENTRIES);
        /* Group per peer into getdata messages. */
        bool done[P2P_POLL_BATCH_ENTRIES] = { false };
        for (size_t i = 0; i < n; i++) {
            if (done[i])
                continue;
            uint32_t types[P2P_POLL_BATCH_ENTRIES];
            uint8_t hashes[P2P_POLL_BATCH_ENTRIES][32];
            size_t k = 0;
            for (size_t j = i; j < n; j++) {
                if (done[j] || reqs[j].peer != reqs[i].peer)
                    continue;
                done[j] = true;
                types[k] = reqs[j].type;
                if (types[k] == P2P_INV_BLOCK) {
                    const struct peer *to = p2p__peer_find(p, reqs[j].peer);
                    if (to)
                        types[k] = p2p__cmpct_request_type(p, to, reqs[j].hash);
                }
                memcpy(hashes[k++], reqs[j].hash, 32);
            }
            struct peer *pe = p2p__peer_find(p, reqs[i].peer);
            if (!pe)
                continue;
            struct wr w;
            FRAME_START(w);
            p2p_put_inv_mixed(&w, types, (const uint8_t (*)[32])hashes, k);
            p2p__frame_send(p, pe, P2P_CMD_GETDATA, &w);
        }
    } while (n == P2P_POLL_BATCH_ENTRIES);
    for (uint64_t k = p2p_txreq_take_nomem(p->req); k > 0; k--)
        p2p__local_error(p, NULL, P2P_ERR_NOMEM);
}

/* A block refused for low work while its header was unknown, and whose
 * header is still unknown: not fetched again on an inv. */
static bool refused_unvetted(const struct p2p *p, const uint8_t hash[32])
{
    size_t n = p->refused_next < P2P_REFUSED_BLOCK_ENTRIES ? p->refused_next
                                                           : P2P_REFUSED_BLOCK_ENTRIES;
    for (size_t i = 0; p->refused && i < n; i++)
        if (memcmp(p->refused[i], hash, 32) == 0)
            return !chain_get_header(p->chain, hash, NULL, NULL);
    return false;
}

static void refused_add(struct p2p *p, const uint8_t hash[32])
{
    if (!p->refused
        && !(p->refused = p2p__calloc(P2P_REFUSED_BLOCK_ENTRIES, sizeof(*p->refused)))) {
        p2p__local_error(p, NULL, P2P_ERR_NOMEM);
        return;
    }
    memcpy(p->refused[p->refused_next++ % P2P_REFUSED_BLOCK_ENTRIES], hash, 32);
}

static bool orphan_held(struct p2p *p, const uint8_t hash[32])
{
    for (size_t i = 0; p->orphans && i < P2P_ORPHAN_HOLD_ENTRIES; i++)
        if (p->orphans[i].until_ms > p->now && memcmp(p->orphans[i].hash, hash, 32) == 0)
            return true;
    return false;
}

static void orphan_hold(struct p2p *p, const uint8_t hash[32])
{
    if (!p->orphans
        && !(p->orphans = p2p__calloc(P2P_ORPHAN_HOLD_ENTRIES, sizeof(*p->orphans)))) {
        p2p__local_error(p, NULL, P2P_ERR_NOMEM);
        return;
    }
    struct orphan_hold *o = &p->orphans[p->orphan_next++ % P2P_ORPHAN_HOLD_ENTRIES];
    memcpy(o->hash, hash, 32);
    o->until_ms = p->now + P2P_ORPHAN_HOLD_MS;
}

/* first is the first body missing on the best header chain. When it has
 * stayed the first missing for P2P_HEADERS_ABANDON_MS while peers were
 * connected, nobody serves that branch (headers with more work whose
 * bodies never come): abandon it, so the next best chain is planned.
 * Returns true if it did. */
static bool abandon_if_stuck(struct p2p *p, const uint8_t first[32])
{
    bool peers = false;
    for (size_t k = 0; k < p->n_peers && !peers; k++)
        peers = p2p__live(p->peers[k]);
    if (!peers || memcmp(first, p->want_hash, 32) != 0) {
        memcpy(p->want_hash, first, 32);
        p->want_since_ms = p->now;
        return false;
    }
    if (p->now - p->want_since_ms < P2P_HEADERS_ABANDON_MS ||
        chain_headers_abandon(p->chain, first) != 0)
        return false;
    p->stats.headers_abandoned++;
    memset(p->want_hash, 0, 32);
    return true;
}

/* Plans block downloads: every block on the best header chain whose body
 * we lack, from every peer that claims to be at least that high. The
 * scheduler spreads them over peers within each peer's window. */
void p2p__plan_fetch(struct p2p *p)
{
    uint8_t (*hashes)[32] = p2p__malloc(P2P_BLOCK_FETCH_LOOKAHEAD * 32);
    if (!hashes) {
        p2p__local_error(p, NULL, P2P_ERR_NOMEM);   /* fetch_dirty stays: planned again */
        return;
    }
    size_t n = chain_blocks_to_fetch(p->chain, hashes, P2P_BLOCK_FETCH_LOOKAHEAD);
    if (n > 0 && abandon_if_stuck(p, hashes[0])) {
        n = chain_blocks_to_fetch(p->chain, hashes, P2P_BLOCK_FETCH_LOOKAHEAD);
        if (n > 0)
            abandon_if_stuck(p, hashes[0]);   /* starts the next branch's clock */
    }
    for (size_t i = 0; i < n; i++) {
        struct chain_header h;
        uint32_t height = 0;
        if (orphan_held(p, hashes[i]) || chain_have_block(p->chain, hashes[i])
            || p2p__cmpct_busy(p, hashes[i]))
            continue;
        chain_get_header(p->chain, hashes[i], &h, &height);
        for (size_t k = 0; k < p->n_peers; k++) {
            struct peer *pe = p->peers[k];
            if (p2p__live(pe) && pe->best_height >= height)
                p2p__nomem(p, pe, p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, hashes[i],
                                                     !pe->inbound, p->now));
        }
    }
    free(hashes);
    p->fetch_dirty = false;
    p->next_fetch_ms = p->now + P2P_BLOCK_FETCH_INTERVAL_MS;
}

/* Chain listener: confirmed txs left the mempool, never download them
 * again. */
static void on_block_connected(void *ctx, const uint8_t hash[32], uint32_t height,
                               const struct chain_block *b)
{
    struct p2p *p = ctx;
    (void)height;
    for (size_t i = 0; b && i < b->n_tx; i++) {
        uint8_t txid[32];
        chain_tx_txid(&b->txs[i], txid);
        p2p__remember(p, &p->recent, txid);
        p2p_txreq_forget(p->req, txid);
    }
    p2p__remember(p, &p->recent, hash);
}

uint64_t p2p__origin_of(enum p2p_source src, uint64_t peer)
{
    return src == P2P_SRC_PEER ? peer : P2P__ORIGIN_RPC;
}

/* Chain listener: a tx entered the mempool, whether accepted by our own
 * chain_mempool_accept call just now, released from the waiting area
 * when its nonce gap closed (with the origin tag we gave it then), or
 * returned by a reorg (CHAIN_ORIGIN_NONE). One place reports and
 * announces all three, so no call needs to know which. */
static void on_tx_added(void *ctx, const uint8_t txid[32], const struct chain_tx *tx,
                        uint64_t tag)
{
    struct p2p *p = ctx;
    enum p2p_source src = P2P_SRC_REORG;
    uint64_t peer = 0;
    if (tag == P2P__ORIGIN_RPC) {
        src = P2P_SRC_RPC;
    } else if (tag != CHAIN_ORIGIN_NONE) {
        src = P2P_SRC_PEER;
        peer = tag;
    }
    if (src != P2P_SRC_REORG)
        p2p__remember(p, &p->recent, txid);
    struct peer *from = peer ? p2p__peer_find(p, peer) : NULL;
    if (from)
        from->last_tx_ms = p->now;
    p->stats.txs_accepted++;
    if (p->ev.tx_accepted)
        p->ev.tx_accepted(p->ev.ctx, txid, src, peer, chain_tx_size(tx), src != P2P_SRC_REORG);
    p2p__announce_tx(p, txid);
}

bool p2p__have_tx(const struct p2p *p, const uint8_t txid[32])
{
    uint64_t id = p2p__sid(p, txid);
    return chain_mempool_has(p->chain, txid) || p2p_filter_has(&p->recent, id)
           || p2p_filter_has(&p->rejected, id) || p2p__verify_parked(p, txid);
}

int p2p__handle_inv(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    bool want_headers = false;
    /* Push mode: an announcer waits P2P_PUSH_LAZY_DELAY_MS, the time an
     * eager body has to come first (the body pulled after it grafts that
     * link), unless the node has no eager link at all (push.h). */
    uint64_t tx_delay = p2p__push_inv_delay(p, pe);
    for (size_t i = 0; i < l->n && !pe->dead; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        p2p__known_add(p, pe, hash);
        bool have;
        if (type == P2P_INV_TX) {
            have = p2p__have_tx(p, hash);
            p2p__push_on_inv(p, pe, hash, have);
            if (!have)
                p2p__nomem(p, pe, p2p_txreq_announce(
                    p->req, pe->id, P2P_INV_TX, hash, !pe->inbound, p->now + tx_delay));
        } else {
            have = chain_have_block(p->chain, hash) || chain_is_invalid(p->chain, hash);
            struct chain_header h;
            uint32_t height;
            if (chain_get_header(p->chain, hash, &h, &height)) {
                if (height > pe->best_height)
                    pe->best_height = height;
            } else {
                want_headers = true;
            }
            if (!have)
                p2p__cmpct_announced(p, pe, hash);
            if (!have && !orphan_held(p, hash) && !refused_unvetted(p, hash))
                p2p__nomem(p, pe, p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, hash,
                                                     !pe->inbound, p->now));
        }
        if (have)
            p->stats.dup_invs++;
        if (p->ev.inv_received)
            p->ev.inv_received(p->ev.ctx, pe->id, type, hash, have);
    }
    /* A block we have no header for: learn its chain (it may have more work). */
    if (want_headers && !pe->getheaders_ms && !pe->dead)
        p2p__send_getheaders(p, pe, NULL);
    return 0;
}

int p2p__handle_notfound(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        p2p_txreq_notfound(p->req, pe->id, hash);
    }
    return 0;
}

/* Rejections an honest peer (which validated before relaying) never causes. */
static bool tx_reject_is_fault(int r)
{
    switch (r) {
    case CHAIN_ERR_TX_VERSION: case CHAIN_ERR_TX_MEMO_SIZE: case CHAIN_ERR_TX_BAD_SIG:
    case CHAIN_ERR_TX_OVERFLOW: case CHAIN_ERR_TX_COINBASE: case CHAIN_ERR_TX_SELF_SEND:
    case CHAIN_ERR_TX_ZERO_AMOUNT:
        return true;
    default:
        return false;
    }
}

bool p2p__block_reject_is_fault(int r)
{
    switch (r) {
    case CHAIN_ERR_NOMEM: case CHAIN_ERR_STORE: case CHAIN_ERR_INTERNAL:
    case CHAIN_ERR_BLK_TIME_FUTURE:     /* clocks differ */
    case CHAIN_ERR_BLK_ORPHAN_FULL: case CHAIN_ERR_BLK_DUPLICATE: case CHAIN_ERR_BLK_UNKNOWN:
        return false;
    default:
        return true;
    }
}

int p2p__handle_tx(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct chain_tx tx;
    uint8_t txid[32];
    int err = p2p_dec_tx(buf, len, &tx);
    if (err)
        return err;
    chain_tx_txid(&tx, txid);
    p2p__known_add(p, pe, txid);
    bool requested = p2p_txreq_from_peer(p->req, pe->id, txid);
    p2p_txreq_forget(p->req, txid);
    if (p2p__have_tx(p, txid)) {
        p2p__push_on_body(p, pe, &tx, requested, true);
        p->stats.dup_tx_bodies++;
        if (p->ev.tx_duplicate)
            p->ev.tx_duplicate(p->ev.ctx, txid, pe->id);
        return 0;
    }
    /* Scored, and still used if the peer stays. */
    bool expected = p2p__push_on_body(p, pe, &tx, requested, false);
    if (!requested && !expected && p2p__result(p, pe, P2P_ERR_UNSOLICITED_TX))
        return 0;
    if (p2p__verify_park_tx(p, pe->id, &tx))
        return 0;
    return p2p__accept_tx(p, pe->id, &tx);
}

int p2p__accept_tx(struct p2p *p, uint64_t from, const struct chain_tx *tx)
{
    const uint8_t *txid = tx->txid;
    /* Accepted (now, or later when its nonce gap closes): on_tx_added
     * reports it, with this peer as its origin. */
    int r = chain_mempool_accept(p->chain, tx, p2p__origin_of(P2P_SRC_PEER, from), p->now);
    if (r == CHAIN_TX_ACCEPTED || r == CHAIN_TX_REPLACED)
        return 0;
    if (r == CHAIN_TX_WAITING) {
        p2p__remember(p, &p->recent, txid);
        return 0;
    }
    if (r == CHAIN_ERR_TX_DUPLICATE) {
        p->stats.dup_tx_bodies++;
        if (p->ev.tx_duplicate)
            p->ev.tx_duplicate(p->ev.ctx, txid, from);
        return 0;
    }
    p->stats.txs_rejected++;
    if (p->ev.tx_rejected)
        p->ev.tx_rejected(p->ev.ctx, txid, P2P_SRC_PEER, from, r);
    if (p2p__is_local_error(r))
        return r;   /* ours: not remembered, it may be fetched again */
    if (tx_reject_is_fault(r)) {
        p2p__remember(p, &p->recent, txid);
        return r;
    }
    /* Nonce, fee or balance: it may become valid on another tip, so it is
     * only remembered until the tip moves. */
    p2p__remember(p, &p->rejected, txid);
    return 0;
}

int p2p__handle_block(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct chain_block b;
    uint8_t hash[32];
    int err = p2p_dec_block(buf, len, &b);
    if (err)
        return err;
    chain_header_hash(&b.hdr, hash);
    err = p2p__block_from_peer(p, pe, &b, len, p2p__cmpct_expects_block(p, pe, hash), false);
    chain_block_free(&b);
    return err;
}

int p2p__block_from_peer(struct p2p *p, struct peer *pe, struct chain_block *bp, size_t len,
                         bool requested, bool hb_push)
{
    struct chain_block *b = bp;
    uint8_t hash[32];
    chain_header_hash(&b->hdr, hash);
    p2p__known_add(p, pe, hash);
    for (size_t i = 0; i < b->n_tx; i++) {
        uint8_t txid[32];
        chain_tx_txid(&b->txs[i], txid);
        p2p__known_add(p, pe, txid);
    }
    p2p__cmpct_done(p, hash);
    requested = p2p_txreq_from_peer(p->req, pe->id, hash) || requested;
    p2p_txreq_forget(p->req, hash);
    struct chain_header ph;
    uint32_t height = 0;
    if (chain_get_header(p->chain, b->hdr.prev, &ph, &height))
        height++;
    else
        height = 0;
    bool first = !chain_have_block(p->chain, hash) && !orphan_held(p, hash);
    if (p->ev.block_received)
        p->ev.block_received(p->ev.ctx, hash, height, pe->id, len, b->n_tx, b->hdr.time_ms,
                             first);
    if (!first) {
        p->stats.dup_block_bodies++;
        return 0;
    }
    /* Scored, and still used if the peer stays. */
    if (!requested && p2p__result(p, pe, P2P_ERR_UNSOLICITED_BLOCK))
        return 0;
    /* Asked for on an inv alone (its header unknown, so not planned from
     * a header chain): it needs the work its header would have. Decided
     * now, on arrival, and carried through a parked signature check. */
    unsigned flags = !requested ? CHAIN_BLOCK_UNREQUESTED
                     : !chain_get_header(p->chain, hash, NULL, NULL) ? CHAIN_BLOCK_HEADER_UNKNOWN
                                                                      : 0;
    if (hb_push)
        flags |= P2P__BLOCK_HB_PUSH;
    if (!p2p__verify_park_block(p, pe->id, flags, b))
        return p2p__accept_block(p, pe->id, flags, b);
    return 0;
}

int p2p__accept_block(struct p2p *p, uint64_t from, unsigned flags, struct chain_block *b)
{
    uint8_t hash[32];
    chain_header_hash(&b->hdr, hash);
    struct chain_result res;
    memset(&res, 0, sizeof(res));
    int r = chain_accept_block_ex(p->chain, b, flags & ~P2P__BLOCK_HB_PUSH, p->now, &res);
    struct peer *pe = p2p__peer_find(p, from);
    if (r < 0) {
        p->stats.blocks_rejected++;
        if (p->ev.block_rejected)
            p->ev.block_rejected(p->ev.ctx, hash, from, r);
        if (p2p__is_local_error(r))
            return r;
        if (!p2p__block_reject_is_fault(r))
            return 0;
        /* Pushed before validation because we asked: an honest relay may
         * have passed it on (its header was checked on arrival). */
        if (flags & P2P__BLOCK_HB_PUSH) {
            if (pe)
                p2p__cmpct_hb_demote(p, pe);
            return 0;
        }
        return r;
    }
    if (pe && res.height > pe->best_height)
        pe->best_height = res.height;
    switch (res.status) {
    case CHAIN_ST_NEW_TIP:
    case CHAIN_ST_SIDE:
        if (pe)
            pe->last_block_ms = p->now;
        if (res.status == CHAIN_ST_NEW_TIP)
            p2p__cmpct_block_first(p, pe, hash);
        p->stats.blocks_accepted++;
        p2p__tip_changed(p);
        break;
    case CHAIN_ST_ORPHAN:
        /* Fetch the missing parent from this peer, and learn its chain. */
        orphan_hold(p, hash);
        if (!pe)
            break;
        if (!chain_have_block(p->chain, res.missing_parent)
            && !refused_unvetted(p, res.missing_parent))
            p2p__nomem(p, pe, p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK,
                                                 res.missing_parent, !pe->inbound, p->now));
        if (!pe->getheaders_ms)
            p2p__send_getheaders(p, pe, NULL);
        break;
    case CHAIN_ST_NOT_STORED:
        if (flags & CHAIN_BLOCK_HEADER_UNKNOWN)
            refused_add(p, hash);
        break;
    default:
        break;
    }
    p->fetch_dirty = true;
    return 0;
}

void p2p__block_hold(struct p2p *p, const uint8_t hash[32])
{
    orphan_hold(p, hash);
}

struct chain_events p2p__fetch_chain_events(struct p2p *p)
{
    return (struct chain_events){
        .ctx = p,
        .block_connected = on_block_connected,
        .tx_added = on_tx_added,
    };
}

void p2p__fetch_tick(struct p2p *p)
{
    p2p__cmpct_tick(p);
    if (p->fetch_dirty || p->now >= p->next_fetch_ms)
        p2p__plan_fetch(p);
    p2p__send_requests(p);
}

uint64_t p2p__fetch_next_deadline(const struct p2p *p)
{
    uint64_t t = p2p_txreq_next_deadline(p->req, p->now);
    uint64_t c = p2p__cmpct_next_deadline(p);
    return c < t ? c : t;
}
