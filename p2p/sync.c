/* Anti-entropy: headers sync (getheaders/headers), mempool requests and
 * mempool reconciliation rounds. */
#include "p2p/core.h"
#include "p2p/cmpct.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void p2p__send_getheaders(struct p2p *p, struct peer *pe, const uint8_t *first)
{
    uint8_t loc[P2P_MAX_LOCATOR_ENTRIES][32];
    size_t n = 0;
    if (first)
        memcpy(loc[n++], first, 32);
    n += chain_locator(p->chain, loc + n, P2P_MAX_LOCATOR_ENTRIES - n);
    static const uint8_t zero[32];
    struct wr w;
    FRAME_START(w);
    p2p_put_getheaders(&w, (const uint8_t (*)[32])loc, n, zero);
    p2p__frame_send(p, pe, P2P_CMD_GETHEADERS, &w);
    pe->getheaders_ms = p->now ? p->now : 1;
}

/* The snapshot of our mempool's txids recon works from, rebuilt only when
 * the mempool has changed since. *cost gets the entries a rebuild sorted
 * (0 if reused), for the caller's budget. NULL on out of memory. */
static const struct p2p_recon_set *recon_snapshot(struct p2p *p, size_t *cost)
{
    uint64_t changes = chain_mempool_changes(p->chain);
    *cost = 0;
    if (p->recon_snap_ok && changes == p->recon_snap_changes)
        return &p->recon_snap;
    size_t cnt = chain_mempool_count(p->chain);
    uint8_t (*ids)[32] = p2p__malloc((cnt ? cnt : 1) * 32);
    if (!ids)
        return NULL;
    cnt = chain_mempool_txids(p->chain, ids, cnt);
    p2p_recon_set_free(&p->recon_snap);
    int err = p2p_recon_set_build(&p->recon_snap, (const uint8_t (*)[32])ids, cnt);
    free(ids);
    p->recon_snap_ok = err == 0;
    if (err)
        return NULL;
    p->recon_snap_changes = changes;
    p->stats.recon_snapshots++;
    *cost = cnt;
    return &p->recon_snap;
}

void p2p__recon_free(struct p2p *p)
{
    p2p_recon_set_free(&p->recon_snap);
    p->recon_snap_ok = false;
}

static void send_recon(struct p2p *p, struct peer *pe, const struct p2p_recon_out *out)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_recon_count(&w, out->n_nodes);
    wr_bytes(&w, out->body.buf, out->body.len);
    p2p__frame_send(p, pe, P2P_CMD_RECON, &w);
    pe->recon_ms = p->now ? p->now : 1;
}

void p2p__start_recon(struct p2p *p, struct peer *pe)
{
    size_t cost;
    const struct p2p_recon_set *set = recon_snapshot(p, &cost);
    struct p2p_recon_out out;
    p2p_recon_out_init(&out);
    if (!set || p2p_recon_start(set, &out)) {
        p2p__local_error(p, pe, P2P_ERR_NOMEM);   /* a later round repairs */
        goto done;
    }
    send_recon(p, pe, &out);
    p->stats.recon_rounds++;
done:
    p2p_recon_out_free(&out);
}

/* A getheaders is answered the way getdata bodies are (relay.c): once the
 * peer's unsent bytes are below P2P_SEND_SERVE_BELOW_BYTES and the node's
 * send budget has room, else as the sockets drain. One request waits per
 * peer; a newer one replaces it (an honest peer asks again only after the
 * answer or its timeout). */
int p2p__handle_getheaders(struct p2p *p, struct peer *pe, const struct p2p_getheaders *g)
{
    if (!pe->gh_wait && !(pe->gh_wait = p2p__malloc(sizeof(*pe->gh_wait))))
        return P2P_ERR_NOMEM;
    struct p2p_headers_wait *gw = pe->gh_wait;
    /* A copy: the chain API takes an array of hashes, the payload is bytes. */
    gw->n = g->locator.n;
    for (size_t i = 0; i < g->locator.n; i++)
        memcpy(gw->loc[i], p2p_hash_at(&g->locator, i), 32);
    memcpy(gw->stop, g->stop, 32);
    gw->frame_bytes = 0;
    p2p__serve_peer(p, pe);
    return 0;
}

int p2p__headers_frame(struct p2p *p, const struct p2p_headers_wait *gw, struct wr *w,
                       uint8_t (**hashes)[32], size_t *n_out)
{
    int err = P2P_ERR_NOMEM;
    struct chain_header *hs = p2p__malloc(P2P_MAX_HEADERS_ENTRIES * sizeof(*hs));
    uint8_t (*hh)[32] = p2p__malloc(P2P_MAX_HEADERS_ENTRIES * 32);
    if (!hs || !hh)
        goto out;
    size_t n = chain_headers_after(p->chain, (const uint8_t (*)[32])gw->loc, gw->n, gw->stop,
                                   hs, P2P_MAX_HEADERS_ENTRIES);
    for (size_t i = 0; i < n; i++)
        chain_header_hash(&hs[i], hh[i]);
    FRAME_START(*w);
    p2p_put_headers(w, hs, n);
    *hashes = hh;
    *n_out = n;
    hh = NULL;
    err = 0;
out:
    free(hh);
    free(hs);
    return err;
}

/* Each header announces its block (sendheaders): counted and reported
 * like an inv entry, so duplicate announcements are seen. */
static void headers_seen(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct chain_header h;
        uint8_t hash[32];
        p2p_header_at(l, i, &h);
        chain_header_hash(&h, hash);
        p2p__known_add(p, pe, hash);
        bool have = chain_have_block(p->chain, hash) || chain_is_invalid(p->chain, hash);
        if (have)
            p->stats.dup_invs++;
        else
            p2p__cmpct_announced(p, pe, hash);
        if (p->ev.inv_received)
            p->ev.inv_received(p->ev.ctx, pe->id, P2P_INV_BLOCK, hash, have);
    }
}

/* Ends the peer's presync. Returns the handler's result for why: a
 * header that broke a rule (the peer's fault, scored as it would have been
 * when stored) or our own failure; 0 for the rest. */
static int presync_end(struct peer *pe, int r)
{
    p2p_presync_free(pe->presync);
    pe->presync = NULL;
    if (r < 0 && (p2p__block_reject_is_fault(r) || p2p__is_local_error(r)))
        return r;
    return 0;
}

static void last_hash(const struct p2p_list *l, uint8_t hash[32])
{
    struct chain_header h;
    p2p_header_at(l, l->n - 1, &h);
    chain_header_hash(&h, hash);
}

/* Feeds a message that continues the peer's presync. Returns the index
 * from which the rest of l is stored as usual (the work was proven and
 * the chain stored; l->n if that was its last header), or SIZE_MAX when
 * the message is dealt with (*ret: the handler's result). */
static size_t presync_feed(struct p2p *p, struct peer *pe, const struct p2p_list *l,
                           bool *stored, int *ret)
{
    struct p2p_presync *ps = pe->presync;
    for (size_t i = 0; i < l->n; i++) {
        struct chain_header h;
        p2p_header_at(l, i, &h);
        if (!p2p_presync_redownloading(ps)) {
            int r = p2p_presync_add(ps, p->chain, &h, p->now);
            if (r) {
                *ret = presync_end(pe, r);
                return SIZE_MAX;
            }
            if (p2p_presync_proven(ps)) {
                /* Enough work: now the same chain again, to store it. */
                p2p_presync_redownload(ps);
                p2p__send_getheaders(p, pe, p2p_presync_start_hash(ps));
                return SIZE_MAX;
            }
            continue;
        }
        int r = p2p_presync_redownload_add(ps, p->chain, &h, p->now);
        if (r) {
            *ret = presync_end(pe, r);
            return SIZE_MAX;
        }
        struct chain_header out;
        struct chain_result res;
        while (p2p_presync_pop(ps, &out)) {
            int e = chain_accept_header(p->chain, &out, p->now, &res);
            if (e < 0 && e != CHAIN_ERR_BLK_DUPLICATE) {
                *ret = presync_end(pe, e);
                return SIZE_MAX;
            }
            if (res.height > pe->best_height)
                pe->best_height = res.height;
            *stored = true;
        }
        if (p2p_presync_proven(ps)) {
            presync_end(pe, 0);
            return i + 1;
        }
    }
    if (l->n == P2P_MAX_HEADERS_ENTRIES) {
        uint8_t last[32];
        last_hash(l, last);
        p2p__send_getheaders(p, pe, last);
    } else {
        /* Its chain ends short of the work: nothing to store. */
        presync_end(pe, 0);
    }
    return SIZE_MAX;
}

enum headers_verdict { HV_STORE, HV_DONE };

/* A message whose first header's parent we know: do its headers reach the
 * work headers must have to be stored? Checked with a cursor, nothing
 * stored. Not enough in a full message: the peer may have more of that
 * chain, so its presync starts (and more is asked for). HV_DONE: nothing
 * to store (*ret: the handler's result). */
static enum headers_verdict check_work(struct p2p *p, struct peer *pe, const struct p2p_list *l,
                                       const uint8_t parent[32], int *ret)
{
    struct chain_hdr_cursor cur;
    struct chain_u256 min;
    if (chain_hdr_cursor_at(p->chain, parent, &cur) != 0)
        return HV_STORE;   /* an invalid parent: chain_accept_header says why */
    chain_headers_min_work(p->chain, &min);
    for (size_t i = 0; i < l->n; i++) {
        struct chain_header h;
        p2p_header_at(l, i, &h);
        int r = chain_hdr_cursor_next(p->chain, &cur, &h, p->now);
        if (r < 0 && p2p__block_reject_is_fault(r)) {
            *ret = r;
            return HV_DONE;
        }
        if (r)
            break;   /* the prefix counts; storing stops where it stopped */
    }
    if (chain_u256_cmp(&cur.work, &min) >= 0)
        return HV_STORE;
    p->stats.headers_not_stored += l->n;
    if (l->n < P2P_MAX_HEADERS_ENTRIES)
        return HV_DONE;
    presync_end(pe, 0);
    int err = p2p_presync_start(&pe->presync, p->chain, parent, &min, p2p_rng_next(&p->rng));
    if (err) {
        *ret = p2p__is_local_error(err) ? err : 0;
        return HV_DONE;
    }
    p->stats.headers_presyncs++;
    bool stored = false;
    presync_feed(p, pe, l, &stored, ret);
    return HV_DONE;
}

static int handle_headers(struct p2p *p, struct peer *pe, const struct p2p_list *l);

/* Headers that stored nothing (low work, or a presync that has not proven
 * its work yet) are read at P2P_LOWWORK_HEADERS_PER_S per peer. The rows
 * a message stores are one store commit (chain_headers_begin): one fsync
 * a message with -dbfsync=1 rather than one a header. */
int p2p__handle_headers(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    uint64_t not_stored = p->stats.headers_not_stored;
    int r = chain_headers_begin(p->chain);
    if (r)
        return r;   /* the store failed: a local error, the peer is not at fault */
    r = handle_headers(p, pe, l);
    int e = chain_headers_end(p->chain);
    if (e && r == 0)
        r = e;
    if (!pe->dead && (pe->presync || p->stats.headers_not_stored != not_stored))
        p2p__lowwork_headers(p, pe, l->n);
    return r;
}

static int handle_headers(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    int ret = 0;
    pe->getheaders_ms = 0;
    headers_seen(p, pe, l);
    if (l->n == 0)
        return presync_end(pe, 0);   /* nothing more of its chain */
    struct chain_header h0;
    p2p_header_at(l, 0, &h0);
    size_t from = 0;
    bool stored = false;
    if (pe->presync && memcmp(h0.prev, p2p_presync_tip(pe->presync), 32) == 0) {
        from = presync_feed(p, pe, l, &stored, &ret);
        if (from == SIZE_MAX) {
            if (stored)
                p2p__plan_fetch(p);
            return ret;
        }
    } else if (!chain_have_header(p->chain, h0.prev)) {
        /* Does not connect (an announcement after a reorg, say): sync from
         * our locator instead, unless a presync with the peer runs (it
         * announced a block on the chain being checked). */
        if (!pe->presync)
            p2p__send_getheaders(p, pe, NULL);
        return 0;
    } else if (check_work(p, pe, l, h0.prev, &ret) != HV_STORE) {
        return ret;
    }
    uint8_t last[32];
    size_t accepted = 0;
    bool ok = true;
    uint8_t abandoned[32];
    bool any_abandoned = false;
    for (size_t i = from; i < l->n; i++) {
        struct chain_header h;
        struct chain_result res;
        p2p_header_at(l, i, &h);
        chain_header_hash(&h, last);
        memset(&res, 0, sizeof(res));
        int r = chain_accept_header(p->chain, &h, p->now, &res);
        if (r < 0 && r != CHAIN_ERR_BLK_DUPLICATE) {
            if (p2p__block_reject_is_fault(r))
                return r;
            if (p2p__is_local_error(r))
                ret = r;
            ok = false;
            break;
        }
        if (r >= 0 && res.status == CHAIN_ST_ORPHAN) {
            if (!pe->getheaders_ms)
                p2p__send_getheaders(p, pe, NULL);
            ok = false;
            break;
        }
        if (chain_headers_abandoned(p->chain, last)) {
            memcpy(abandoned, last, 32);
            any_abandoned = true;
        }
        if (res.height > pe->best_height)
            pe->best_height = res.height;
        accepted++;
    }
    /* A block of an abandoned branch announced again: ask the announcer for
     * it; its body brings the branch back (chain_headers_abandon). */
    if (any_abandoned && !chain_have_block(p->chain, abandoned))
        p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, abandoned, !pe->inbound, p->now);
    /* A full message: there is more; continue from its last header. */
    if (l->n == P2P_MAX_HEADERS_ENTRIES && ok && !pe->dead) {
        last_hash(l, last);
        p2p__send_getheaders(p, pe, last);
    }
    if (accepted || stored)
        p2p__plan_fetch(p);
    return ret;
}

int p2p__handle_mempool(struct p2p *p, struct peer *pe)
{
    size_t cnt = chain_mempool_count(p->chain);
    if (cnt > P2P_MAX_INV_ENTRIES)
        cnt = P2P_MAX_INV_ENTRIES;
    uint8_t (*ids)[32] = p2p__malloc((cnt ? cnt : 1) * 32);
    if (!ids)
        return P2P_ERR_NOMEM;
    cnt = chain_mempool_txids(p->chain, ids, cnt);
    for (size_t i = 0; i < cnt; i++)
        p2p__queue_tx(p, pe, ids[i]);
    free(ids);
    return 0;
}

int p2p__handle_recon(struct p2p *p, struct peer *pe, const struct p2p_recon_msg *m)
{
    /* A peer gets a bounded number of answers per period, enough for
     * several honest rounds, and a bounded amount of work; so do all
     * peers together. */
    if (p->now - pe->recon_refill_ms >= P2P_RECON_BUDGET_MS || !pe->recon_refill_ms) {
        pe->recon_refill_ms = p->now ? p->now : 1;
        pe->recon_budget = P2P_RECON_BUDGET_MSGS;
        pe->recon_work_left = P2P_RECON_WORK_PEER_MAX;
    }
    if (p->now - p->recon_work_refill_ms >= P2P_RECON_BUDGET_MS || !p->recon_work_refill_ms) {
        p->recon_work_refill_ms = p->now ? p->now : 1;
        p->recon_work_left = P2P_RECON_WORK_NODE_MAX;
    }
    if (pe->recon_budget == 0)
        return P2P_ERR_RECON_FLOOD;
    pe->recon_budget--;
    size_t work_max = pe->recon_work_left < p->recon_work_left ? pe->recon_work_left
                                                               : p->recon_work_left;
    if (work_max == 0) {
        p->stats.recon_throttled++;
        pe->recon_ms = 0;   /* round over; a later one repairs */
        return 0;
    }
    /* A snapshot rebuilt for this message is part of its cost: a tx flood
     * plus recon messages cannot make every one of them sort the pool
     * beyond the budget. */
    size_t cost;
    const struct p2p_recon_set *set = recon_snapshot(p, &cost);
    struct p2p_recon_out out;
    p2p_recon_out_init(&out);
    out.work = cost;
    int ret = 0;
    if (!set || p2p_recon_process(set, m, work_max, &out)) {
        ret = P2P_ERR_NOMEM;
        pe->recon_ms = 0;   /* round over; a later one repairs */
        goto done;
    }
    size_t spent = out.work < work_max ? out.work : work_max;
    pe->recon_work_left -= spent;
    p->recon_work_left -= spent;
    p->stats.recon_work += out.work;
    p->stats.recon_throttled += out.cut;
    for (size_t i = 0; i < out.n_want; i++) {
        p2p__known_add(p, pe, out.want[i]);
        if (!p2p__have_tx(p, out.want[i])) {
            p2p__nomem(p, pe, p2p_txreq_announce(p->req, pe->id, P2P_INV_TX, out.want[i],
                                                 !pe->inbound, p->now));
            p->stats.recon_diffs++;
        }
    }
    for (size_t i = 0; i < out.n_give; i++)
        p2p__queue_tx(p, pe, out.give[i]);
    if (out.n_nodes > 0)
        send_recon(p, pe, &out);
    else
        pe->recon_ms = 0;   /* round over */
done:
    p2p_recon_out_free(&out);
    return ret;
}

void p2p__sync_peer_tick(struct p2p *p, struct peer *pe)
{
    if (pe->getheaders_ms && p->now - pe->getheaders_ms >= P2P_GETHEADERS_TIMEOUT_MS) {
        pe->getheaders_ms = 0;
        presync_end(pe, 0);   /* it stopped answering: forget its chain */
    }
    if (pe->recon_ms && p->now - pe->recon_ms >= P2P_RECON_TIMEOUT_MS)
        pe->recon_ms = 0;
}

void p2p__sync_tick(struct p2p *p)
{
    uint64_t now = p->now;
    if (now >= p->next_recon_ms) {
        p->next_recon_ms = now + p->recon_interval_ms;
        struct peer *pe = p2p__random_live_peer(p, true);
        if (pe)
            p2p__start_recon(p, pe);
    }
    if (now >= p->next_headers_ms) {
        p->next_headers_ms = now + P2P_HEADERS_SYNC_INTERVAL_MS;
        struct peer *pe = p2p__random_live_peer(p, false);
        if (pe && !pe->getheaders_ms)
            p2p__send_getheaders(p, pe, NULL);
    }
}

uint64_t p2p__sync_next_deadline(const struct p2p *p)
{
    return p->next_recon_ms < p->next_headers_ms ? p->next_recon_ms : p->next_headers_ms;
}
