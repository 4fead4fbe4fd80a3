/* Announcing: per-peer known filters, tx inv batches with fan-out, block
 * announcements (headers or inv), and serving getdata. */
#include "p2p/core.h"
#include "p2p/cmpct.h"

#include <stdlib.h>
#include <string.h>

/* A peer's tx queue and getdata queue start at these many entries and
 * double with use (to their limits), and are given back once emptied: a
 * simulator runs thousands of cores, and most queues are empty most of
 * the time or hold a few entries. */
#define TXQ_INITIAL_ENTRIES 16u
#define GD_INITIAL_ENTRIES  4u
_Static_assert(TXQ_INITIAL_ENTRIES <= P2P_TX_QUEUE_MAX_ENTRIES, "initial within the limit");
_Static_assert(GD_INITIAL_ENTRIES <= P2P_GETDATA_QUEUE_MAX_ENTRIES, "initial within the limit");

/* ---- announcement window: what the peer may still track from us ---- */

static void window_take(struct peer *pe, size_t n)
{
    while (n > 0 && pe->inv_slot_n > 0) {
        size_t *k = &pe->inv_slot[pe->inv_slot_first].n;
        size_t d = n < *k ? n : *k;
        *k -= d;
        n -= d;
        pe->inv_out -= d;
        if (*k == 0) {
            pe->inv_slot_first = (pe->inv_slot_first + 1) % P2P_INV_WINDOW_SLOTS;
            pe->inv_slot_n--;
        }
    }
}

/* Batches older than P2P_INV_WINDOW_MS leave the window. */
static void window_expire(struct p2p *p, struct peer *pe)
{
    while (pe->inv_slot_n > 0
           && p->now - pe->inv_slot[pe->inv_slot_first].ms >= P2P_INV_WINDOW_MS)
        window_take(pe, pe->inv_slot[pe->inv_slot_first].n);
}

static void window_add(struct p2p *p, struct peer *pe, size_t n)
{
    if (pe->inv_slot_n == P2P_INV_WINDOW_SLOTS) {
        /* Full: the newest batch absorbs it, and leaves later. */
        size_t last = (pe->inv_slot_first + pe->inv_slot_n - 1) % P2P_INV_WINDOW_SLOTS;
        pe->inv_slot[last].ms = p->now;
        pe->inv_slot[last].n += n;
    } else {
        size_t at = (pe->inv_slot_first + pe->inv_slot_n++) % P2P_INV_WINDOW_SLOTS;
        pe->inv_slot[at].ms = p->now;
        pe->inv_slot[at].n = n;
    }
    pe->inv_out += n;
}

void p2p__inv_window_credit(struct p2p *p, struct peer *pe, size_t n)
{
    bool was_full = pe->inv_out >= P2P_INV_WINDOW_ENTRIES;
    window_take(pe, n);
    /* Room again: the queue goes out with the next batch. */
    if (was_full && pe->txq_n && pe->inv_out < P2P_INV_WINDOW_ENTRIES)
        pe->txq_due_ms = p->now + p->tx_batch_ms;
}

/* Sends the queue's head, as much as the window has room for; the rest
 * waits, in order, for requests or for the window's oldest batch to go. */
void p2p__flush_txq(struct p2p *p, struct peer *pe)
{
    if (pe->txq_n == 0 || pe->dead)
        return;
    window_expire(p, pe);
    size_t room = pe->inv_out < P2P_INV_WINDOW_ENTRIES ? P2P_INV_WINDOW_ENTRIES - pe->inv_out : 0;
    size_t k = pe->txq_n < room ? pe->txq_n : room;
    if (k > 0) {
        p2p__send_inv(p, pe, P2P_CMD_INV, P2P_INV_TX, (const uint8_t (*)[32])pe->txq, k);
        window_add(p, pe, k);
    }
    pe->txq_n -= k;
    if (pe->txq_n == 0) {
        /* Given back until the next batch: most peers' queues are empty
         * most of the time (and a simulator runs thousands of cores). */
        free(pe->txq);
        pe->txq = NULL;
        pe->txq_cap = 0;
        return;
    }
    memmove(pe->txq, pe->txq + k, pe->txq_n * 32);
    /* Full: due when the oldest batch leaves (a request may free room
     * sooner: p2p__inv_window_credit). */
    pe->txq_due_ms = pe->inv_slot[pe->inv_slot_first].ms + P2P_INV_WINDOW_MS;
}

/* Queues txid for the peer's next inv batch unless it is known to have
 * it. Returns true if queued. */
bool p2p__queue_tx(struct p2p *p, struct peer *pe, const uint8_t txid[32])
{
    if (!p2p__live(pe) || !pe->relay || p2p__known_has(p, pe, txid))
        return false;
    if (pe->txq_n == pe->txq_cap) {
        if (pe->txq_cap >= P2P_TX_QUEUE_MAX_ENTRIES)
            return false;
        size_t cap = pe->txq_cap ? 2 * pe->txq_cap : TXQ_INITIAL_ENTRIES;
        if (cap > P2P_TX_QUEUE_MAX_ENTRIES)
            cap = P2P_TX_QUEUE_MAX_ENTRIES;
        uint8_t (*nq)[32] = p2p__realloc(pe->txq, cap * 32);
        if (!nq) {
            p2p__local_error(p, pe, P2P_ERR_NOMEM);
            return false;
        }
        pe->txq = nq;
        pe->txq_cap = cap;
    }
    p2p__known_add(p, pe, txid);
    if (pe->txq_n == 0)
        pe->txq_due_ms = p->now + p->tx_batch_ms;
    memcpy(pe->txq[pe->txq_n++], txid, 32);
    return true;
}

/* Announces a tx to every peer that does not know it, or to a random
 * `fanout` of them. */
void p2p__announce_tx(struct p2p *p, const uint8_t txid[32])
{
    /* Push mode: bodies at once to the peers that asked for the tx's
     * bucket (then known: no inv for them). */
    size_t pushed = p2p__push_tx(p, txid);
    struct peer *cand[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        struct peer *pe = p->peers[i];
        if (p2p__live(pe) && pe->relay && !p2p__known_has(p, pe, txid))
            cand[n++] = pe;
    }
    size_t k = n;
    if (p->fanout && p->fanout < n) {
        k = p->fanout;
        for (size_t i = 0; i < k; i++) {   /* partial Fisher-Yates */
            size_t j = i + (size_t)p2p_rng_below(&p->rng, n - i);
            struct peer *t = cand[i];
            cand[i] = cand[j];
            cand[j] = t;
        }
    }
    size_t sent = pushed;
    for (size_t i = 0; i < k; i++)
        sent += p2p__queue_tx(p, cand[i], txid);
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_TX, txid, sent);
}

/* Announces the block at once: headers to peers that asked for them
 * (sendheaders), inv to the others. */
static void announce_block(struct p2p *p, const uint8_t hash[32])
{
    struct chain_header h;
    uint32_t height;
    if (!chain_get_header(p->chain, hash, &h, &height))
        return;
    size_t sent = 0;
    struct chain_block b;
    bool have_b = false;   /* loaded once, for the first high-bandwidth peer */
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (!p2p__live(pe) || p2p__known_has(p, pe, hash))
            continue;
        p2p__known_add(p, pe, hash);
        if (pe->cmpct_hb_to && !have_b)
            have_b = chain_get_block(p->chain, hash, &b) == 0;
        if (have_b && p2p__cmpct_announce(p, pe, &b, hash)) {
            /* pushed as a cmpctblock */
        } else if (pe->sendheaders) {
            struct wr w;
            FRAME_START(w);
            p2p_put_headers(&w, &h, 1);
            p2p__frame_send(p, pe, P2P_CMD_HEADERS, &w);
        } else {
            uint8_t one[1][32];
            memcpy(one[0], hash, 32);
            p2p__send_inv(p, pe, P2P_CMD_INV, P2P_INV_BLOCK, (const uint8_t (*)[32])one, 1);
        }
        sent++;
    }
    if (have_b)
        chain_block_free(&b);
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_BLOCK, hash, sent);
}

/* After anything that may move the tip: announce the new tip. */
void p2p__tip_changed(struct p2p *p)
{
    uint8_t tip[32];
    chain_tip(p->chain, tip);
    if (memcmp(tip, p->last_tip, 32) == 0)
        return;
    memcpy(p->last_tip, tip, 32);
    p2p_idset_clear(&p->rejected.gen[0]);
    p2p_idset_clear(&p->rejected.gen[1]);
    announce_block(p, tip);
    p->fetch_dirty = true;
}

/* ---- Serving getdata as the socket drains ----
 *
 * A getdata's items wait in the peer's queue (at most
 * P2P_GETDATA_QUEUE_MAX_ENTRIES; the excess is answered notfound at once).
 * The next body is serialized only while the peer's unsent bytes are below
 * P2P_SEND_SERVE_BELOW_BYTES and the node's send budget allows it; the rest
 * is served from p2p_on_sent and the tick as bytes drain. Answers keep the
 * items' order: a run of items we lack goes out as one notfound before the
 * next body. */

size_t p2p__send_share(const struct p2p *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        n += p2p__live(p->peers[i]);
    size_t share = P2P_SEND_NODE_BUDGET_BYTES / (n ? n : 1);
    size_t one = P2P_SEND_SERVE_BELOW_BYTES + P2P_HEADER_BYTES + P2P_V2_OVERHEAD_BYTES
                 + P2P_COMMAND_BYTES + (size_t)chain_params(p->chain)->max_block_size;
    return share > one ? share : one;
}

enum serve_verdict { SERVE_YES, SERVE_PEER_FULL, SERVE_NODE_FULL };

/* May pe be sent the answer to it now? Its size is known once framed;
 * before that only the peer's own unsent bytes are asked. */
static enum serve_verdict may_serve(const struct p2p *p, const struct peer *pe,
                                    const struct p2p_getdata_item *it, size_t share)
{
    if (pe->send_pending >= P2P_SEND_SERVE_BELOW_BYTES)
        return SERVE_PEER_FULL;
    size_t need = it->frame_bytes;
    if (need == 0 || p->send_total + need <= P2P_SEND_NODE_BUDGET_BYTES)
        return SERVE_YES;
    if (it->type == P2P_INV_TX && pe->send_pending < P2P_SEND_PEER_FLOOR_BYTES)
        return SERVE_YES;      /* small bodies: not held up by others' queues */
    /* Over the budget: a peer within its share still is, up to the ceiling. */
    if (pe->send_pending + need <= share && p->send_total + need <= P2P_SEND_NODE_MAX_BYTES)
        return SERVE_YES;
    return SERVE_NODE_FULL;
}

static void send_notfound(struct p2p *p, struct peer *pe, const struct p2p_getdata_item *it,
                          size_t n)
{
    while (n > 0 && !pe->dead) {
        size_t k = n < P2P_MAX_INV_ENTRIES ? n : P2P_MAX_INV_ENTRIES;
        struct wr w;
        FRAME_START(w);
        wr_varint(&w, k);
        for (size_t i = 0; i < k; i++) {
            wr_u32(&w, it[i].type);
            wr_bytes(&w, it[i].hash, 32);
        }
        p2p__frame_send(p, pe, P2P_CMD_NOTFOUND, &w);
        it += k;
        n -= k;
    }
}

/* Frames the body of it in w (to be sent or freed); false if we lack it. */
static bool frame_body(struct p2p *p, const struct p2p_getdata_item *it, struct wr *w,
                       enum p2p_cmd *cmd, const struct peer *pe)
{
    if (it->type == P2P_INV_CMPCT)
        return p2p__cmpct_frame(p, pe, it->hash, w, cmd);
    if (it->type == P2P_INV_TX) {
        const struct chain_tx *tx = chain_mempool_get(p->chain, it->hash);
        if (!tx)
            return false;
        FRAME_START(*w);
        chain_tx_encode(w, tx);
        *cmd = P2P_CMD_TX;
        return true;
    }
    uint8_t *raw = NULL;
    size_t len = 0;
    if (chain_get_block_raw(p->chain, it->hash, &raw, &len) != 0)
        return false;
    FRAME_START(*w);
    wr_bytes(w, raw, len);
    free(raw);
    *cmd = P2P_CMD_BLOCK;
    return true;
}

/* Answers pe's waiting getheaders if allowed; as a block body would be
 * (it is up to ~174 KiB): its size is known once framed, kept while it
 * waits. */
static enum serve_verdict serve_headers(struct p2p *p, struct peer *pe, size_t share)
{
    struct p2p_headers_wait *gw = pe->gh_wait;
    struct p2p_getdata_item probe = { .type = P2P_INV_BLOCK, .frame_bytes = gw->frame_bytes };
    enum serve_verdict v = may_serve(p, pe, &probe, share);
    if (v != SERVE_YES)
        return v;
    struct wr w;
    uint8_t (*hashes)[32];
    size_t n;
    if (p2p__headers_frame(p, gw, &w, &hashes, &n) != 0) {
        p2p__local_error(p, pe, P2P_ERR_NOMEM);   /* it asks again after its timeout */
        goto done;
    }
    if (!gw->frame_bytes) {
        size_t need = w.len + P2P_V2_OVERHEAD_BYTES + P2P_COMMAND_BYTES;
        gw->frame_bytes = probe.frame_bytes = (uint32_t)need;   /* < 4 MiB */
        if ((v = may_serve(p, pe, &probe, share)) != SERVE_YES) {
            wr_free(&w);    /* framed again when there is room */
            free(hashes);
            return v;
        }
    }
    p2p__frame_send(p, pe, P2P_CMD_HEADERS, &w);
    for (size_t i = 0; i < n && !pe->dead; i++)
        p2p__known_add(p, pe, hashes[i]);
    free(hashes);
done:
    free(pe->gh_wait);
    pe->gh_wait = NULL;
    return SERVE_YES;
}

/* Serves pe's waiting getheaders, then its items in order, while allowed.
 * Returns true if it stopped at an answer held back by the node's budget. */
static bool serve_peer(struct p2p *p, struct peer *pe, size_t share)
{
    size_t run = pe->gd_head;   /* [run, gd_head): items we lack, not yet told */
    enum serve_verdict v = SERVE_YES;
    if (pe->gh_wait && (v = serve_headers(p, pe, share)) != SERVE_YES)
        return v == SERVE_NODE_FULL;
    while (pe->gd_head < pe->gd_n && !pe->dead) {
        struct p2p_getdata_item *it = &pe->gd[pe->gd_head];
        struct wr w;
        enum p2p_cmd cmd;
        if ((v = may_serve(p, pe, it, share)) != SERVE_YES)
            break;
        if (!frame_body(p, it, &w, &cmd, pe)) {
            pe->gd_head++;
            continue;
        }
        if (!it->frame_bytes) {
            size_t need = w.len + P2P_V2_OVERHEAD_BYTES + P2P_COMMAND_BYTES;
            it->frame_bytes = need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
            if ((v = may_serve(p, pe, it, share)) != SERVE_YES) {
                wr_free(&w);    /* framed again when there is room */
                break;
            }
        }
        if (run < pe->gd_head)
            send_notfound(p, pe, &pe->gd[run], pe->gd_head - run);
        p2p__frame_send(p, pe, cmd, &w);
        p2p__known_add(p, pe, it->hash);
        run = ++pe->gd_head;
    }
    if (run < pe->gd_head)
        send_notfound(p, pe, &pe->gd[run], pe->gd_head - run);
    if (pe->gd_head == pe->gd_n) {
        pe->gd_head = pe->gd_n = 0;
        free(pe->gd);              /* an emptied queue is not kept */
        pe->gd = NULL;
        pe->gd_cap = 0;
    }
    return v == SERVE_NODE_FULL;
}

void p2p__serve_getdata(struct p2p *p)
{
    size_t n = p->n_peers;
    bool contended = false;
    if (n > 0) {
        size_t share = 0;   /* computed once someone waits */
        size_t start = p->serve_next % n;
        for (size_t k = 0; k < n; k++) {
            struct peer *pe = p->peers[(start + k) % n];
            if (pe->dead || (pe->gd_head == pe->gd_n && !pe->gh_wait))
                continue;
            if (!share)
                share = p2p__send_share(p);
            contended |= serve_peer(p, pe, share);
        }
        p->serve_next = start + 1;
    }
    if (!contended)
        p->send_contended_ms = 0;
    else if (!p->send_contended_ms)
        p->send_contended_ms = p->now;
}

void p2p__serve_peer(struct p2p *p, struct peer *pe)
{
    if (serve_peer(p, pe, p2p__send_share(p)) && !p->send_contended_ms)
        p->send_contended_ms = p->now;
}

/* Room for n more waiting items (compacting first); returns how many fit
 * (*nomem: fewer than the bound allows, the queue could not grow). */
static size_t gd_room(struct peer *pe, size_t n, bool *nomem)
{
    *nomem = false;
    size_t waiting = pe->gd_n - pe->gd_head;
    if (pe->gd_head > 0) {
        memmove(pe->gd, pe->gd + pe->gd_head, waiting * sizeof(*pe->gd));
        pe->gd_head = 0;
        pe->gd_n = waiting;
    }
    if (n > P2P_GETDATA_QUEUE_MAX_ENTRIES - waiting)
        n = P2P_GETDATA_QUEUE_MAX_ENTRIES - waiting;
    if (waiting + n > pe->gd_cap) {
        size_t cap = pe->gd_cap ? pe->gd_cap : GD_INITIAL_ENTRIES;
        while (cap < waiting + n)
            cap *= 2;
        if (cap > P2P_GETDATA_QUEUE_MAX_ENTRIES)
            cap = P2P_GETDATA_QUEUE_MAX_ENTRIES;
        struct p2p_getdata_item *q = p2p__realloc(pe->gd, cap * sizeof(*q));
        if (!q) {
            *nomem = true;
            return pe->gd_cap - waiting;
        }
        pe->gd = q;
        pe->gd_cap = cap;
    }
    return n;
}

int p2p__handle_getdata(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    size_t n_tx = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        n_tx += type == P2P_INV_TX;
    }
    p2p__inv_window_credit(p, pe, n_tx);
    bool nomem;
    size_t take = gd_room(pe, l->n, &nomem);
    for (size_t i = 0; i < take; i++) {
        const uint8_t *hash;
        struct p2p_getdata_item *it = &pe->gd[pe->gd_n++];
        p2p_inv_at(l, i, &it->type, &hash);
        it->frame_bytes = 0;
        memcpy(it->hash, hash, 32);
    }
    if (take > 0)
        p2p__serve_peer(p, pe);
    /* Beyond the queue (or what memory allowed): notfound at once, unscored,
     * so it asks elsewhere. */
    for (size_t i = take; i < l->n && !pe->dead;) {
        struct p2p_getdata_item batch[256];
        size_t k = 0;
        for (; i < l->n && k < 256; i++, k++) {
            const uint8_t *hash;
            p2p_inv_at(l, i, &batch[k].type, &hash);
            memcpy(batch[k].hash, hash, 32);
        }
        send_notfound(p, pe, batch, k);
    }
    return nomem ? P2P_ERR_NOMEM : 0;
}

void p2p__relay_peer_tick(struct p2p *p, struct peer *pe)
{
    if (pe->txq_n && p->now >= pe->txq_due_ms)
        p2p__flush_txq(p, pe);
}

uint64_t p2p__relay_peer_next_deadline(const struct p2p *p, const struct peer *pe)
{
    (void)p;
    return pe->txq_n ? pe->txq_due_ms : UINT64_MAX;
}
