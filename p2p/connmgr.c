/* Connection management: configured (--connect/addnode) connections with
 * reconnect backoff, one-shot connects, and discovery that fills the
 * outbound target from the address manager (tried or new table with even
 * odds, p2p__book_pick), skipping addresses dialled within
 * P2P_RECONNECT_MAX_MS, connected, banned or discouraged. */
#include "p2p/core.h"

#include <string.h>

#include "p2p/evict.h"

struct added *p2p__added_find(struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->n_added; i++)
        if (p2p_addr_equal(&p->added[i].addr, a))
            return &p->added[i];
    return NULL;
}

void p2p__added_remove(struct p2p *p, struct added *e)
{
    *e = p->added[--p->n_added];
}

/* A zeroed entry at the end of the configured connections; NULL at
 * P2P_MAX_ADDED_PEERS or when the table cannot grow (*nomem set). Moves
 * the table: no pointer into it is held across a call. */
static struct added *added_new(struct p2p *p, bool *nomem)
{
    *nomem = false;
    if (p->n_added >= P2P_MAX_ADDED_PEERS)
        return NULL;
    if (p->n_added == p->cap_added) {
        size_t cap = p->cap_added ? 2 * p->cap_added : P2P_ADDED_INITIAL_ENTRIES;
        if (cap > P2P_MAX_ADDED_PEERS)
            cap = P2P_MAX_ADDED_PEERS;
        struct added *na = p2p__realloc(p->added, cap * sizeof(*na));
        if (!na) {
            *nomem = true;
            return NULL;
        }
        p->added = na;
        p->cap_added = cap;
    }
    struct added *a = &p->added[p->n_added++];
    memset(a, 0, sizeof(*a));
    return a;
}

static void start_connect(struct p2p *p, struct added *a)
{
    a->connecting = true;
    a->connect_ms = p->now;
    p->io.connect(p->io.ctx, &a->addr);
}

static bool addr_connected(const struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p2p_addr_equal(&p->peers[i]->addr, a))
            return true;
    for (size_t i = 0; i < p->n_added; i++)
        if (p2p_addr_equal(&p->added[i].addr, a) && (p->added[i].peer || p->added[i].connecting))
            return true;
    return false;
}

void p2p__connmgr_tick(struct p2p *p)
{
    for (size_t i = 0; i < p->n_added; i++) {
        struct added *a = &p->added[i];
        if (a->connecting && p->now - a->connect_ms >= P2P_CONNECT_TIMEOUT_MS) {
            a->connecting = false;   /* the driver never answered */
            a->next_ms = p->now + a->backoff_ms;
            p2p__book_failed(p, &a->addr);
        }
        if (a->peer || a->connecting || p->now < a->next_ms)
            continue;
        if (p2p_banlist_find(&p->bans, &a->addr, p->now))
            a->next_ms = p->now + P2P_RECONNECT_MAX_MS;   /* not before the ban is looked at again */
        else
            start_connect(p, a);
    }
    /* Discovery: fill up to the outbound target from the address book. */
    size_t outbound = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        outbound += !p->peers[i]->dead && !p->peers[i]->inbound;
    for (size_t i = 0; i < p->n_added; i++)
        outbound += p->added[i].connecting;
    for (int tries = 0; outbound < p->outbound_target && p->n_book > 0 && tries < 8; tries++) {
        struct book_entry *b = &p->book[p2p__book_pick(p)];
        if (b->next_try_ms > p->now || addr_connected(p, &b->addr)
            || p2p_banlist_find(&p->bans, &b->addr, p->now)
            || p2p_banlist_is_discouraged(&p->bans, &b->addr)
            || p->n_added >= P2P_MAX_ADDED_PEERS)
            continue;
        bool nomem;
        struct added *a = added_new(p, &nomem);
        if (!a) {
            p2p__local_error(p, NULL, P2P_ERR_NOMEM);
            break;
        }
        b->next_try_ms = p->now + P2P_RECONNECT_MAX_MS;
        a->addr = b->addr;
        a->backoff_ms = P2P_RECONNECT_MIN_MS;
        start_connect(p, a);
        outbound++;
    }
}

void p2p_on_connect_failed(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct added *a = p2p__added_find(p, addr);
    if (!a || !a->connecting)
        return;
    a->connecting = false;
    p2p__book_failed(p, addr);
    if (!a->persistent) {
        p2p__added_remove(p, a);
        return;
    }
    a->next_ms = p->now + a->backoff_ms;
    a->backoff_ms = a->backoff_ms * 2 > P2P_RECONNECT_MAX_MS ? P2P_RECONNECT_MAX_MS
                                                             : a->backoff_ms * 2;
}

int p2p_connect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct added *a = p2p__added_find(p, addr);
    if (a) {
        if (a->persistent)
            return P2P_ERR_EXISTS;
        a->persistent = true;
        return 0;
    }
    bool nomem;
    if (!(a = added_new(p, &nomem)))
        return nomem ? P2P_ERR_NOMEM : P2P_ERR_FULL;
    a->addr = *addr;
    a->persistent = true;
    a->backoff_ms = P2P_RECONNECT_MIN_MS;
    a->next_ms = p->now;
    return 0;
}

int p2p_connect_addr_key(struct p2p *p, const struct p2p_addr *addr, const uint8_t key[32],
                         uint64_t now_ms)
{
    int err = p2p_connect_addr(p, addr, now_ms);
    if (err)
        return err;
    struct added *a = p2p__added_find(p, addr);
    a->expect_key = true;
    memcpy(a->key, key, sizeof(a->key));
    return 0;
}

int p2p_remove_addr(struct p2p *p, const struct p2p_addr *addr)
{
    struct added *a = p2p__added_find(p, addr);
    if (!a)
        return P2P_ERR_NOT_FOUND;
    if (a->peer || a->connecting)
        a->persistent = false;   /* removed when that connection ends */
    else
        p2p__added_remove(p, a);
    return 0;
}

void p2p_connect_once(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    bool nomem;
    struct added *a = p2p__added_find(p, addr) ? NULL : added_new(p, &nomem);
    if (!a) {
        if (nomem)
            p2p__local_error(p, NULL, P2P_ERR_NOMEM);
        return;
    }
    a->addr = *addr;
    a->backoff_ms = P2P_RECONNECT_MIN_MS;
    a->next_ms = p->now;
}

int p2p_disconnect_peer(struct p2p *p, uint64_t peer, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    struct peer *pe = p2p__peer_find(p, peer);
    if (!pe)
        return P2P_ERR_UNKNOWN_PEER;
    p2p__drop(p, pe, "disconnect-requested");
    p2p__sweep(p);
    return 0;
}

int p2p_disconnect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    int n = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (!p->peers[i]->dead && p2p_addr_equal(&p->peers[i]->addr, addr)) {
            p2p__drop(p, p->peers[i], "disconnect-requested");
            n++;
        }
    }
    p2p__sweep(p);
    return n;
}

uint64_t p2p__connmgr_next_deadline(const struct p2p *p)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < p->n_added; i++) {
        const struct added *a = &p->added[i];
        uint64_t v = t;
        if (a->connecting)
            v = a->connect_ms + P2P_CONNECT_TIMEOUT_MS;
        else if (!a->peer)
            v = a->next_ms;
        if (v < t)
            t = v;
    }
    return t;
}

struct peer *p2p__evict_victim(struct p2p *p, const struct peer *self)
{
    struct p2p_evict_cand c[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        const struct peer *pe = p->peers[i];
        if (pe->dead || !pe->inbound || !pe->established || pe == self || pe->noban)
            continue;
        c[n++] = (struct p2p_evict_cand){
            .id = pe->id, .netgroup = p2p_addr_netgroup(&pe->addr), .ping_ms = pe->ping_ms,
            .connected_ms = pe->connected_ms, .last_tx_ms = pe->last_tx_ms,
            .last_block_ms = pe->last_block_ms, .discouraged = pe->discouraged,
        };
    }
    size_t k = p2p_evict_select(c, n, p->salt);
    return k == SIZE_MAX ? NULL : p2p__peer_find(p, c[k].id);
}

size_t p2p_anchors_get(const struct p2p *p, struct p2p_addr *out, size_t max)
{
    if (max > P2P_MAX_ANCHORS)
        max = P2P_MAX_ANCHORS;
    size_t n = 0;
    uint64_t after = 0;
    uint64_t after_id = 0;
    /* Oldest first, by (connected_ms, id): a selection without sorting. */
    while (n < max) {
        const struct peer *best = NULL;
        for (size_t i = 0; i < p->n_peers; i++) {
            const struct peer *pe = p->peers[i];
            if (pe->dead || pe->inbound || !pe->established)
                continue;
            if (n > 0 && (pe->connected_ms < after
                          || (pe->connected_ms == after && pe->id <= after_id)))
                continue;
            if (!best || pe->connected_ms < best->connected_ms
                || (pe->connected_ms == best->connected_ms && pe->id < best->id))
                best = pe;
        }
        if (!best)
            break;
        out[n++] = best->addr;
        after = best->connected_ms;
        after_id = best->id;
    }
    return n;
}

size_t p2p_anchors_set(struct p2p *p, const struct p2p_addr *in, size_t n, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    size_t taken = 0;
    for (size_t i = 0; i < n && taken < P2P_MAX_ANCHORS; i++) {
        if (in[i].port == 0)
            continue;
        p2p__book_add(p, &in[i]);
        p2p_connect_once(p, &in[i], now_ms);
        taken++;
    }
    return taken;
}
