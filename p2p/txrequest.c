#include "p2p/txrequest.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/err.h"
#include "p2p/limits.h"
#include "p2p/p2p.h"
#include "p2p/util.h"

/* A tracker holds thousands of entries under load and a simulator runs
 * thousands of trackers, so an entry is packed: an announcer's two flags
 * are bits of the entry's bitmaps (192 bytes an entry, not 264). */
struct ann {
    uint64_t peer;
    uint64_t reqtime_ms;
};

struct entry {
    uint8_t hash[32];
    uint64_t seq;               /* first announcement order */
    uint64_t inflight_peer;     /* 0: none */
    uint64_t expiry_ms;
    uint8_t type;               /* P2P_INV_TX or P2P_INV_BLOCK */
    bool stalled;               /* a block request to it timed out or its peer left */
    uint8_t n_ann;
    uint8_t preferred;          /* bit a: ann[a] is from a preferred (outbound) peer */
    uint8_t tried;              /* bit a: ann[a] was asked, or answered notfound */
    struct ann ann[P2P_TXREQ_MAX_ANNOUNCERS];
};

_Static_assert(P2P_TXREQ_MAX_ANNOUNCERS <= 8, "an entry's announcer bitmaps are a u8");
_Static_assert(P2P_INV_TX <= UINT8_MAX && P2P_INV_BLOCK <= UINT8_MAX, "a type fits a u8");

/* Entries (and poll's scratch) start at this many and double with use:
 * a node between bursts tracks a few hashes. A table at most a quarter
 * full is halved, down to this. */
#define TXREQ_INITIAL_ENTRIES 16u

static bool ann_tried(const struct entry *e, size_t a)
{
    return (e->tried >> a) & 1u;
}

static bool ann_preferred(const struct entry *e, size_t a)
{
    return (e->preferred >> a) & 1u;
}

static void ann_set_tried(struct entry *e, size_t a)
{
    e->tried = (uint8_t)(e->tried | (1u << a));
}

static void ann_append(struct entry *e, uint64_t peer, uint64_t reqtime_ms, bool preferred)
{
    size_t a = e->n_ann++;
    e->ann[a] = (struct ann){ .peer = peer, .reqtime_ms = reqtime_ms };
    e->tried = (uint8_t)(e->tried & ~(1u << a));
    e->preferred = (uint8_t)((e->preferred & ~(1u << a)) | ((unsigned)preferred << a));
}

/* Removes ann[a]: the last one takes its place, flags and all. */
static void ann_remove(struct entry *e, size_t a)
{
    size_t last = --e->n_ann;
    e->ann[a] = e->ann[last];
    unsigned bit = 1u << a, lbit = 1u << last;
    e->tried = (uint8_t)((e->tried & ~bit) | ((e->tried & lbit) ? bit : 0u));
    e->preferred = (uint8_t)((e->preferred & ~bit) | ((e->preferred & lbit) ? bit : 0u));
    e->tried = (uint8_t)(e->tried & ~lbit);
    e->preferred = (uint8_t)(e->preferred & ~lbit);
}

struct peer_slot {
    uint64_t peer;
    size_t n_ann;               /* announcements tracked */
    size_t in_flight[2];        /* tx, block */
};

struct p2p_txreq {
    struct entry *e;
    size_t n, cap;
    struct p2p_hmap index;      /* hash -> entry index */
    struct peer_slot *peers;
    size_t n_peers, cap_peers;
    uint64_t next_seq;
    /* poll's scratch: entries to request, sorted into announcement order. */
    struct order { uint64_t seq; uint32_t idx; } *order;
    size_t cap_order;
    uint64_t nomem;             /* poll scratch allocations that failed */
    /* Nothing changed since the last poll (no announcement, answer or
     * peer gone; it asked for all it could) and, until wake_ms (its
     * earliest timeout or future reqtime), time changes nothing either:
     * poll, the stallers and the next deadline are then known without a
     * scan. Thousands of announcements a hostile peer left cost a scan
     * per change, not per event of the node. */
    bool settled;
    uint64_t wake_ms;
    uint64_t scanned;           /* entries examined by scans (stats, tests) */
};

static int tidx(uint32_t type)
{
    return type == P2P_INV_BLOCK ? 1 : 0;
}

static const size_t max_in_flight[2] = { P2P_MAX_TX_IN_FLIGHT, P2P_MAX_BLOCKS_IN_FLIGHT };
static const uint64_t timeout_ms[2] = { P2P_TX_REQUEST_TIMEOUT_MS, P2P_BLOCK_REQUEST_TIMEOUT_MS };

uint64_t p2p_txreq_take_nomem(struct p2p_txreq *r)
{
    uint64_t n = r->nomem;
    r->nomem = 0;
    return n;
}

int p2p_txreq_create(struct p2p_txreq **out, uint64_t salt)
{
    struct p2p_txreq *r = p2p__calloc(1, sizeof(*r));
    if (!r)
        return P2P_ERR_NOMEM;
    p2p_hmap_init(&r->index, salt);
    *out = r;
    return 0;
}

void p2p_txreq_destroy(struct p2p_txreq *r)
{
    if (!r)
        return;
    free(r->e);
    free(r->peers);
    free(r->order);
    p2p_hmap_free(&r->index);
    free(r);
}

static struct peer_slot *peer_find(const struct p2p_txreq *r, uint64_t peer)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i].peer == peer)
            return &r->peers[i];
    return NULL;
}

static struct peer_slot *peer_get(struct p2p_txreq *r, uint64_t peer)
{
    struct peer_slot *s = peer_find(r, peer);
    if (s)
        return s;
    if (r->n_peers == r->cap_peers) {
        size_t cap = r->cap_peers ? 2 * r->cap_peers : 16;
        struct peer_slot *np = p2p__realloc(r->peers, cap * sizeof(*np));
        if (!np)
            return NULL;
        r->peers = np;
        r->cap_peers = cap;
    }
    s = &r->peers[r->n_peers++];
    memset(s, 0, sizeof(*s));
    s->peer = peer;
    return s;
}

static void peer_release(struct p2p_txreq *r, struct peer_slot *s)
{
    if (s->n_ann == 0 && s->in_flight[0] == 0 && s->in_flight[1] == 0)
        *s = r->peers[--r->n_peers];
}

/* An empty tracker gives its tables back (they grow again with the next
 * announcement), and a sparse one halves its entries: a node between
 * bursts holds little, and a simulator runs thousands of trackers. The
 * caller holds no pointer into them (indices stay valid). */
static void release_if_empty(struct p2p_txreq *r)
{
    if (r->n != 0) {
        /* A quarter full: halved (a burst's table is not kept). Without
         * memory for the smaller copy, the larger one stays. */
        if (r->cap > TXREQ_INITIAL_ENTRIES && r->n <= r->cap / 4) {
            struct entry *ne = p2p__realloc(r->e, r->cap / 2 * sizeof(*ne));
            if (ne) {
                r->e = ne;
                r->cap /= 2;
            }
        }
        return;
    }
    free(r->e);
    r->e = NULL;
    r->cap = 0;
    free(r->order);
    r->order = NULL;
    r->cap_order = 0;
    p2p_hmap_free(&r->index);
}

/* Removes entry i (swap with the last), releasing its peers' counts. */
static void entry_remove(struct p2p_txreq *r, size_t i)
{
    struct entry *e = &r->e[i];
    for (size_t a = 0; a < e->n_ann; a++) {
        struct peer_slot *s = peer_find(r, e->ann[a].peer);
        assert(s && s->n_ann > 0);
        s->n_ann--;
        if (e->inflight_peer == e->ann[a].peer) {
            assert(s->in_flight[tidx(e->type)] > 0);
            s->in_flight[tidx(e->type)]--;
        }
        peer_release(r, s);
    }
    p2p_hmap_del(&r->index, e->hash);
    if (i != r->n - 1) {
        r->e[i] = r->e[r->n - 1];
        p2p_hmap_put(&r->index, r->e[i].hash, (uint32_t)i);  /* key exists: no alloc */
    }
    r->n--;
    release_if_empty(r);
}

static struct entry *entry_find(const struct p2p_txreq *r, const uint8_t hash[32], size_t *idx)
{
    uint32_t v;
    if (!p2p_hmap_get(&r->index, hash, &v))
        return NULL;
    if (idx)
        *idx = v;
    return &r->e[v];
}

/* A full hash makes room for a newcomer: a spent (tried, not in flight)
 * announcer gives way to anyone, and an untried non-preferred one to a
 * preferred newcomer. So eight inbound peers that announce first and
 * never serve cannot keep out the outbound peer that would. Returns true
 * if a slot was freed. */
static bool make_room(struct p2p_txreq *r, struct entry *e, bool preferred)
{
    int victim = -1;
    for (size_t a = 0; a < e->n_ann && victim < 0; a++)
        if (ann_tried(e, a) && e->ann[a].peer != e->inflight_peer)
            victim = (int)a;
    for (size_t a = e->n_ann; preferred && victim < 0 && a-- > 0;)
        if (!ann_preferred(e, a) && e->ann[a].peer != e->inflight_peer)
            victim = (int)a;
    if (victim < 0)
        return false;
    struct peer_slot *s = peer_find(r, e->ann[victim].peer);
    assert(s && s->n_ann > 0);
    s->n_ann--;
    peer_release(r, s);
    ann_remove(e, (size_t)victim);
    return true;
}

int p2p_txreq_announce(struct p2p_txreq *r, uint64_t peer, uint32_t type,
                       const uint8_t hash[32], bool preferred, uint64_t reqtime_ms)
{
    if ((type != P2P_INV_TX && type != P2P_INV_BLOCK) || peer == 0)
        return P2P_ERR_INVALID_ARG;
    r->settled = false;
    struct peer_slot *s = peer_find(r, peer);
    size_t held = s ? s->n_ann : 0;
    if (held >= P2P_TXREQ_MAX_PER_PEER)
        return P2P_ERR_FULL;
    struct entry *e = entry_find(r, hash, NULL);
    if (e) {
        for (size_t a = 0; a < e->n_ann; a++)
            if (e->ann[a].peer == peer)
                return 1;
        if (e->n_ann >= P2P_TXREQ_MAX_ANNOUNCERS && !make_room(r, e, preferred))
            return 1;
    } else {
        /* The last P2P_TXREQ_RESERVED_ENTRIES are only for peers that hold
         * fewer than P2P_TXREQ_FAIR_PER_PEER: however many peers fill the
         * tracker with junk, every peer can still have that many tracked. */
        if (r->n >= P2P_TXREQ_MAX_ENTRIES
            || (held >= P2P_TXREQ_FAIR_PER_PEER
                && r->n >= P2P_TXREQ_MAX_ENTRIES - P2P_TXREQ_RESERVED_ENTRIES))
            return P2P_ERR_FULL;
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : TXREQ_INITIAL_ENTRIES;
            struct entry *ne = p2p__realloc(r->e, cap * sizeof(*ne));
            if (!ne)
                return P2P_ERR_NOMEM;
            r->e = ne;
            r->cap = cap;
        }
        if (p2p_hmap_put(&r->index, hash, (uint32_t)r->n))
            return P2P_ERR_NOMEM;
        e = &r->e[r->n++];
        memset(e, 0, sizeof(*e));
        memcpy(e->hash, hash, 32);
        e->type = (uint8_t)type;
        e->seq = r->next_seq++;
    }
    s = peer_get(r, peer);
    if (!s) {
        if (e->n_ann == 0)
            entry_remove(r, (size_t)(e - r->e));
        return P2P_ERR_NOMEM;
    }
    s->n_ann++;
    ann_append(e, peer, reqtime_ms, preferred);
    return 0;
}

void p2p_txreq_forget(struct p2p_txreq *r, const uint8_t hash[32])
{
    size_t i;
    if (entry_find(r, hash, &i)) {
        entry_remove(r, i);
        r->settled = false;
    }
}

static void clear_inflight(struct p2p_txreq *r, struct entry *e)
{
    struct peer_slot *s = peer_find(r, e->inflight_peer);
    assert(s && s->in_flight[tidx(e->type)] > 0);
    s->in_flight[tidx(e->type)]--;
    for (size_t a = 0; a < e->n_ann; a++)
        if (e->ann[a].peer == e->inflight_peer)
            ann_set_tried(e, a);
    e->inflight_peer = 0;
}

void p2p_txreq_notfound(struct p2p_txreq *r, uint64_t peer, const uint8_t hash[32])
{
    struct entry *e = entry_find(r, hash, NULL);
    if (!e)
        return;
    r->settled = false;
    if (e->inflight_peer == peer) {
        clear_inflight(r, e);
        return;
    }
    for (size_t a = 0; a < e->n_ann; a++)
        if (e->ann[a].peer == peer)
            ann_set_tried(e, a);
}

void p2p_txreq_peer_gone(struct p2p_txreq *r, uint64_t peer)
{
    r->settled = false;
    for (size_t i = 0; i < r->n;) {
        struct entry *e = &r->e[i];
        bool found = false;
        for (size_t a = 0; a < e->n_ann; a++) {
            if (e->ann[a].peer != peer)
                continue;
            if (e->inflight_peer == peer) {
                clear_inflight(r, e);
                e->stalled = e->type == P2P_INV_BLOCK;
            }
            struct peer_slot *s = peer_find(r, peer);
            s->n_ann--;
            ann_remove(e, a);
            found = true;
            break;
        }
        if (found && e->n_ann == 0) {
            p2p_hmap_del(&r->index, e->hash);
            if (i != r->n - 1) {
                r->e[i] = r->e[r->n - 1];
                p2p_hmap_put(&r->index, r->e[i].hash, (uint32_t)i);
            }
            r->n--;
            release_if_empty(r);
            continue;
        }
        i++;
    }
    struct peer_slot *s = peer_find(r, peer);
    if (s) {
        assert(s->n_ann == 0 && s->in_flight[0] == 0 && s->in_flight[1] == 0);
        peer_release(r, s);
    }
}

/* Best announcer to ask now, or -1. *any_left: some announcer is untried. */
static int pick(const struct p2p_txreq *r, const struct entry *e, uint64_t now_ms,
                bool *any_left)
{
    int best = -1;
    *any_left = false;
    for (size_t a = 0; a < e->n_ann; a++) {
        const struct ann *x = &e->ann[a];
        if (ann_tried(e, a))
            continue;
        *any_left = true;
        if (x->reqtime_ms > now_ms)
            continue;
        const struct peer_slot *s = peer_find(r, x->peer);
        if (s->in_flight[tidx(e->type)] >= max_in_flight[tidx(e->type)])
            continue;
        if (best < 0) {
            best = (int)a;
            continue;
        }
        const struct ann *b = &e->ann[best];
        bool x_pref = ann_preferred(e, a), b_pref = ann_preferred(e, (size_t)best);
        /* Preferred (outbound) announcers first, then the earliest. Once a
         * block's request has stalled, the earliest announcer whatever its
         * direction: else each fresh outbound withholder (a reconnect) would
         * jump ahead of an inbound peer that announced long before, for good. */
        bool x_first = e->stalled ? x->reqtime_ms < b->reqtime_ms
                                  : (x_pref && !b_pref) ||
                                    (x_pref == b_pref && x->reqtime_ms < b->reqtime_ms);
        if (x_first)
            best = (int)a;
    }
    return best;
}

/* The earliest reqtime after now_ms of e's untried announcers, or t. */
static uint64_t next_reqtime(const struct entry *e, uint64_t now_ms, uint64_t t)
{
    for (size_t a = 0; a < e->n_ann; a++)
        if (!ann_tried(e, a) && e->ann[a].reqtime_ms > now_ms && e->ann[a].reqtime_ms < t)
            t = e->ann[a].reqtime_ms;
    return t;
}

static int cmp_order(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Requests go out in announcement order (each hash's first announcement),
 * so a sender's chain of txs (nonces announced in order) reaches the next
 * hop in nonce order and does not pile up in its waiting area. The array
 * itself is not in that order (removal swaps), hence the sort of the
 * entries that can be asked for now. Without memory for the sort, array
 * order. */
size_t p2p_txreq_poll(struct p2p_txreq *r, uint64_t now_ms, struct p2p_txreq_req *out,
                      size_t max)
{
    size_t n_out = 0, n_order = 0;
    bool sorted = true;
    if (r->settled && now_ms < r->wake_ms)
        return 0;
    uint64_t wake = UINT64_MAX;
    r->scanned += r->n;
    for (size_t i = 0; i < r->n;) {
        struct entry *e = &r->e[i];
        if (e->inflight_peer && now_ms >= e->expiry_ms) {
            clear_inflight(r, e);
            e->stalled = e->type == P2P_INV_BLOCK;
        }
        if (e->inflight_peer) {
            wake = e->expiry_ms < wake ? e->expiry_ms : wake;
            i++;
            continue;
        }
        bool any_left;
        int a = pick(r, e, now_ms, &any_left);
        if (!any_left) {
            entry_remove(r, i);      /* everyone tried: give up */
            continue;
        }
        wake = next_reqtime(e, now_ms, wake);
        if (a >= 0 && sorted) {
            if (n_order == r->cap_order) {
                size_t cap = r->cap_order ? 2 * r->cap_order : TXREQ_INITIAL_ENTRIES;
                struct order *no = p2p__realloc(r->order, cap * sizeof(*no));
                if (no) {
                    r->order = no;
                    r->cap_order = cap;
                } else {
                    sorted = false;   /* served unsorted this once */
                    r->nomem++;
                }
            }
            if (sorted)
                r->order[n_order++] = (struct order){ e->seq, (uint32_t)i };
        }
        i++;
    }
    if (sorted && n_order > 1)
        qsort(r->order, n_order, sizeof(*r->order), cmp_order);
    size_t n_cand = sorted ? n_order : r->n;
    for (size_t k = 0; k < n_cand && n_out < max; k++) {
        struct entry *e = &r->e[sorted ? r->order[k].idx : k];
        if (e->inflight_peer)
            continue;
        bool any_left;
        int a = pick(r, e, now_ms, &any_left);   /* again: in-flight caps moved */
        if (a < 0)
            continue;
        struct peer_slot *s = peer_find(r, e->ann[a].peer);
        s->in_flight[tidx(e->type)]++;
        e->inflight_peer = e->ann[a].peer;
        e->expiry_ms = now_ms + timeout_ms[tidx(e->type)];
        out[n_out].peer = e->inflight_peer;
        out[n_out].type = e->type;
        memcpy(out[n_out].hash, e->hash, 32);
        n_out++;
        wake = e->expiry_ms < wake ? e->expiry_ms : wake;
    }
    /* What is left waits for a change or for wake (a full batch: the
     * caller polls again at once). */
    r->settled = n_out < max;
    r->wake_ms = wake;
    return n_out;
}

size_t p2p_txreq_block_stallers(const struct p2p_txreq *r, uint64_t now_ms, uint64_t *out,
                                size_t max)
{
    size_t n = 0;
    if (r->settled && now_ms < r->wake_ms)
        return 0;            /* no request has timed out: wake is before any */
    for (size_t i = 0; i < r->n && n < max; i++) {
        const struct entry *e = &r->e[i];
        if (e->type != P2P_INV_BLOCK || !e->inflight_peer || now_ms < e->expiry_ms)
            continue;
        bool other = false;
        for (size_t a = 0; a < e->n_ann && !other; a++)
            other = !ann_tried(e, a) && e->ann[a].peer != e->inflight_peer;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = out[k] == e->inflight_peer;
        if (other && !seen)
            out[n++] = e->inflight_peer;
    }
    return n;
}

bool p2p_txreq_has(const struct p2p_txreq *r, const uint8_t hash[32])
{
    return entry_find(r, hash, NULL) != NULL;
}

size_t p2p_txreq_in_flight(const struct p2p_txreq *r, uint64_t peer)
{
    const struct peer_slot *s = peer_find(r, peer);
    return s ? s->in_flight[0] + s->in_flight[1] : 0;
}

bool p2p_txreq_from_peer(const struct p2p_txreq *r, uint64_t peer, const uint8_t hash[32])
{
    const struct entry *e = entry_find(r, hash, NULL);
    if (!e)
        return false;
    for (size_t a = 0; a < e->n_ann; a++)
        if (e->ann[a].peer == peer)
            return true;
    return false;
}

size_t p2p_txreq_size(const struct p2p_txreq *r)
{
    return r->n;
}

uint64_t p2p_txreq_next_deadline(const struct p2p_txreq *r, uint64_t now_ms)
{
    if (r->settled)
        return r->wake_ms;   /* at or before now_ms: due, the next poll scans */
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < r->n; i++) {
        const struct entry *e = &r->e[i];
        if (e->inflight_peer) {
            if (e->expiry_ms < t)
                t = e->expiry_ms;
            continue;
        }
        t = next_reqtime(e, now_ms, t);
    }
    return t;
}

uint64_t p2p_txreq_scanned(const struct p2p_txreq *r)
{
    return r->scanned;
}

void p2p_txreq_check(const struct p2p_txreq *r)
{
    assert(r->index.count == r->n);
    for (size_t p = 0; p < r->n_peers; p++) {
        size_t n_ann = 0, fl[2] = { 0, 0 };
        for (size_t i = 0; i < r->n; i++) {
            const struct entry *e = &r->e[i];
            for (size_t a = 0; a < e->n_ann; a++)
                if (e->ann[a].peer == r->peers[p].peer)
                    n_ann++;
            if (e->inflight_peer == r->peers[p].peer)
                fl[tidx(e->type)]++;
        }
        assert(n_ann == r->peers[p].n_ann);
        assert(fl[0] == r->peers[p].in_flight[0] && fl[1] == r->peers[p].in_flight[1]);
        assert(fl[0] <= max_in_flight[0] && fl[1] <= max_in_flight[1]);
    }
    for (size_t i = 0; i < r->n; i++) {
        uint32_t v;
        assert(p2p_hmap_get(&r->index, r->e[i].hash, &v) && v == i);
        assert(r->e[i].n_ann > 0);
        if (r->e[i].inflight_peer) {
            bool ok = false;
            for (size_t a = 0; a < r->e[i].n_ann; a++)
                ok |= r->e[i].ann[a].peer == r->e[i].inflight_peer;
            assert(ok);
        }
    }
}
