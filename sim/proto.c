#include "sim/proto.h"

#include <assert.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/params.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "p2p/msg.h"
#include "p2p/simnet.h"
#include "p2p/wire.h"
#include "sim/geo.h"
#include "sim/graph.h"
#include "sim/memstore.h"
#include "sim/rng.h"

#define NO_PEER UINT32_MAX
/* Amount each tx sender is funded with, and each tx sends. */
#define SIM_FUND_AMOUNT (10 * COIN)
#define SIM_TX_AMOUNT COIN
/* Page size of the simulated nodes' in-memory stores. */
#define SIM_SQLITE_PAGE_BYTES "512"

void sim_proto_config_init(struct sim_proto_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nodes = 100;
    cfg->degree = 8;
    cfg->seed = 1;
    cfg->txs = 1;
    cfg->blocks = 1;
    cfg->latency_ms = SIM_PROTO_LATENCY_MS_DEFAULT;
    cfg->jitter_ms = SIM_PROTO_JITTER_MS_DEFAULT;
}

/* What the observer knows about the items being measured: one at a time
 * (each settles before the next), or a burst of txs in flight together.
 * Per (item, node) arrays are indexed item * n + node. */
struct titem {
    uint8_t hash[32];
    uint64_t t0;
    size_t origin;
    size_t reached;
    uint64_t last_first_ms;     /* since t0 */
    unsigned violations;
    bool active;
};

struct tracker {
    struct simnet *sn;
    uint32_t magic;
    size_t n;                   /* nodes */
    size_t cap;                 /* items in the run */
    size_t n_items;
    struct titem *it;
    uint32_t *first_ms;         /* since the item's t0; UINT32_MAX: not yet */
    uint32_t *from;             /* node that sent the first body; NO_PEER: none */
    uint32_t *hops, *bodies, *invs, *cmpcts;
    uint32_t *map;              /* hash -> item index + 1 (0: empty) */
    size_t map_mask;
    size_t n_active;
    size_t n_pending;           /* active items not yet at every counted node */
    const bool *counted;        /* nodes in the coverage; NULL: all */
    size_t n_counted;
    /* The current window (all active items share it). */
    uint64_t bytes, relay_bytes, ann_frames;
    uint64_t block_bytes, getblocktxns;
};

#define FIRST_NEVER UINT32_MAX

static int tracker_init(struct tracker *t, struct simnet *sn, size_t n, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->sn = sn;
    t->magic = chain_params_regtest.magic;
    t->n = n;
    t->n_counted = n;
    t->cap = cap ? cap : 1;
    size_t cells = t->cap * n;
    size_t mcap = 16;
    while (mcap < 2 * t->cap)
        mcap *= 2;
    t->map_mask = mcap - 1;
    t->it = calloc(t->cap, sizeof(*t->it));
    t->first_ms = malloc(cells * sizeof(*t->first_ms));
    t->from = malloc(cells * sizeof(*t->from));
    t->hops = calloc(cells, sizeof(*t->hops));
    t->bodies = calloc(cells, sizeof(*t->bodies));
    t->invs = calloc(cells, sizeof(*t->invs));
    t->cmpcts = calloc(cells, sizeof(*t->cmpcts));
    t->map = calloc(mcap, sizeof(*t->map));
    if (!t->it || !t->first_ms || !t->from || !t->hops || !t->bodies || !t->invs || !t->cmpcts
        || !t->map)
        return -1;
    for (size_t i = 0; i < cells; i++) {
        t->first_ms[i] = FIRST_NEVER;
        t->from[i] = NO_PEER;
    }
    return 0;
}

static void tracker_free(struct tracker *t)
{
    free(t->it);
    free(t->first_ms);
    free(t->from);
    free(t->hops);
    free(t->bodies);
    free(t->invs);
    free(t->cmpcts);
    free(t->map);
    memset(t, 0, sizeof(*t));
}

static size_t hash_slot(const struct tracker *t, const uint8_t hash[32])
{
    uint64_t k;
    memcpy(&k, hash, 8);   /* hashes are uniform: their first bytes will do */
    return (size_t)(k ^ (k >> 29)) & t->map_mask;
}

/* Index of the active item with this hash, or -1. */
static long tracker_find(const struct tracker *t, const uint8_t hash[32])
{
    for (size_t i = hash_slot(t, hash);; i = (i + 1) & t->map_mask) {
        uint32_t v = t->map[i];
        if (v == 0)
            return -1;
        const struct titem *it = &t->it[v - 1];
        if (memcmp(it->hash, hash, 32) == 0)
            return it->active ? (long)(v - 1) : -1;
    }
}

/* Frames that carry a block's content (compact blocks among them). */
static bool block_cmd(enum p2p_cmd c)
{
    return c == P2P_CMD_BLOCK || c == P2P_CMD_CMPCTBLOCK || c == P2P_CMD_GETBLOCKTXN
           || c == P2P_CMD_BLOCKTXN;
}

/* The compact-block frames are only sent with cfg.cmpct on: tables
 * without it keep their bytes. */
static bool relay_cmd(enum p2p_cmd c)
{
    return c == P2P_CMD_INV || c == P2P_CMD_GETDATA || c == P2P_CMD_NOTFOUND
           || c == P2P_CMD_TX || c == P2P_CMD_HEADERS || block_cmd(c);
}

/* What a frame says of an item: an announcement (inv entry, header), its
 * full body (tx, block) or a cmpctblock of it. */
enum mention { MENTION_ANN, MENTION_BODY, MENTION_CMPCT };

/* Calls fn for every mention of an active item in the frame. Returns the
 * command. */
typedef void (*mention_fn)(struct tracker *t, size_t item, enum mention m, size_t from,
                           size_t to);

static enum p2p_cmd frame_scan(struct tracker *t, const uint8_t *f, size_t len, size_t from,
                               size_t to, mention_fn fn)
{
    struct p2p_frame_hdr h;
    if (len < P2P_HEADER_BYTES || p2p_frame_parse(f, t->magic, &h) != 0
        || len - P2P_HEADER_BYTES < h.len)
        return P2P_CMD_UNKNOWN;
    if (t->n_active == 0)
        return h.cmd;
    const uint8_t *pl = f + P2P_HEADER_BYTES;
    uint8_t hash[32];
    struct p2p_list l;
    long idx;
    switch (h.cmd) {
    case P2P_CMD_INV:
        if (p2p_dec_inv(pl, h.len, &l) != 0)
            break;
        for (size_t i = 0; i < l.n; i++) {
            uint32_t type;
            const uint8_t *hp;
            p2p_inv_at(&l, i, &type, &hp);
            if ((idx = tracker_find(t, hp)) >= 0)
                fn(t, (size_t)idx, MENTION_ANN, from, to);
        }
        break;
    case P2P_CMD_HEADERS:
        if (p2p_dec_headers(pl, h.len, &l) != 0)
            break;
        for (size_t i = 0; i < l.n; i++) {
            struct chain_header hd;
            p2p_header_at(&l, i, &hd);
            chain_header_hash(&hd, hash);
            if ((idx = tracker_find(t, hash)) >= 0)
                fn(t, (size_t)idx, MENTION_ANN, from, to);
        }
        break;
    case P2P_CMD_TX:
        /* txid = SHA256d of the whole serialization, which is the payload. */
        hash_sha256d(hash, pl, h.len);
        if ((idx = tracker_find(t, hash)) >= 0)
            fn(t, (size_t)idx, MENTION_BODY, from, to);
        break;
    case P2P_CMD_BLOCK:
        if (h.len < HEADER_SIZE)
            break;
        hash_sha256d(hash, pl, HEADER_SIZE);
        if ((idx = tracker_find(t, hash)) >= 0)
            fn(t, (size_t)idx, MENTION_BODY, from, to);
        break;
    case P2P_CMD_CMPCTBLOCK: {
        struct p2p_cmpctblock c;
        if (p2p_dec_cmpctblock(pl, h.len, &c) != 0)
            break;
        chain_header_hash(&c.hdr, hash);
        if ((idx = tracker_find(t, hash)) >= 0)
            fn(t, (size_t)idx, MENTION_CMPCT, from, to);
        break;
    }
    default:
        break;
    }
    return h.cmd;
}

static void sent_mention(struct tracker *t, size_t item, enum mention m, size_t from, size_t to)
{
    (void)m;
    /* Never announce or send an item back to the peer it came from. */
    if (t->from[item * t->n + from] == to)
        t->it[item].violations++;
}

/* The first body or cmpctblock of an item at a node that lacks it: its
 * sender is the node's source (the echo check, and hops along the
 * first-seen chain). A cmpctblock makes a source before the block is
 * rebuilt: it is pushed on (high-bandwidth mode) before that. */
static void tracker_source(struct tracker *t, size_t item, size_t from, size_t to)
{
    size_t c = item * t->n + to;
    if (t->first_ms[c] != FIRST_NEVER || t->from[c] != NO_PEER)
        return;
    t->from[c] = (uint32_t)from;
    t->hops[c] = t->hops[item * t->n + from] + 1;
}

/* The node has the item now: its arrival. */
static void tracker_arrive(struct tracker *t, size_t item, size_t from, size_t to)
{
    size_t c = item * t->n + to;
    if (t->first_ms[c] != FIRST_NEVER)
        return;
    tracker_source(t, item, from, to);
    bool counts = !t->counted || t->counted[to];
    struct titem *it = &t->it[item];
    uint64_t at = simnet_now(t->sn) - it->t0;
    t->first_ms[c] = (uint32_t)at;
    if (!counts)
        return;
    it->reached++;
    it->last_first_ms = at;
    /* The last one: the run can stop here (no 20 ms polling). */
    if (it->reached == t->n_counted && --t->n_pending == 0)
        simnet_stop(t->sn);
}

static void delivered_mention(struct tracker *t, size_t item, enum mention m, size_t from,
                              size_t to)
{
    size_t c = item * t->n + to;
    switch (m) {
    case MENTION_ANN:
        t->invs[c]++;
        break;
    case MENTION_BODY:
        t->bodies[c]++;
        tracker_arrive(t, item, from, to);
        break;
    case MENTION_CMPCT:
        /* Arrives once rebuilt: on_handled. */
        t->cmpcts[c]++;
        tracker_source(t, item, from, to);
        break;
    }
}

static void on_send(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct tracker *t = ctx;
    enum p2p_cmd cmd = frame_scan(t, f, len, from, to, sent_mention);
    t->bytes += len;
    if (relay_cmd(cmd))
        t->relay_bytes += len;
    if (block_cmd(cmd))
        t->block_bytes += len;
    if (cmd == P2P_CMD_GETBLOCKTXN)
        t->getblocktxns++;
    if (cmd == P2P_CMD_INV || cmd == P2P_CMD_HEADERS)
        t->ann_frames++;
}

static void on_deliver(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    frame_scan(ctx, f, len, from, to, delivered_mention);
}

/* A cmpctblock (all its txs known) or a blocktxn (the missing ones) can
 * complete a block: it arrived if the node's chain has it now. */
static void on_handled(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct tracker *t = ctx;
    struct p2p_frame_hdr h;
    if (t->n_active == 0 || len < P2P_HEADER_BYTES || p2p_frame_parse(f, t->magic, &h) != 0
        || len - P2P_HEADER_BYTES < h.len
        || (h.cmd != P2P_CMD_CMPCTBLOCK && h.cmd != P2P_CMD_BLOCKTXN))
        return;
    const uint8_t *pl = f + P2P_HEADER_BYTES;
    uint8_t hash[32];
    if (h.cmd == P2P_CMD_CMPCTBLOCK) {
        struct p2p_cmpctblock c;
        if (p2p_dec_cmpctblock(pl, h.len, &c) != 0)
            return;
        chain_header_hash(&c.hdr, hash);
    } else {
        struct p2p_blocktxn b;
        if (p2p_dec_blocktxn(pl, h.len, &b) != 0)
            return;
        memcpy(hash, b.hash, 32);
    }
    long idx = tracker_find(t, hash);
    if (idx >= 0 && t->first_ms[(size_t)idx * t->n + to] == FIRST_NEVER
        && simnet_p2p(t->sn, to) && chain_have_block(simnet_chain(t->sn, to), hash))
        tracker_arrive(t, (size_t)idx, from, to);
}

/* Starts tracking an item (before it is submitted: a block's inv leaves
 * inside p2p_submit_block). Returns its index. */
static size_t tracker_add(struct tracker *t, const uint8_t hash[32], size_t origin)
{
    assert(t->n_items < t->cap);
    size_t idx = t->n_items++;
    struct titem *it = &t->it[idx];
    memcpy(it->hash, hash, 32);
    it->t0 = simnet_now(t->sn);
    it->origin = origin;
    it->reached = 1;
    it->active = true;
    t->first_ms[idx * t->n + origin] = 0;
    size_t i = hash_slot(t, hash);
    while (t->map[i] != 0)
        i = (i + 1) & t->map_mask;
    t->map[i] = (uint32_t)idx + 1;
    t->n_active++;
    t->n_pending++;
    return idx;
}

static void tracker_window_start(struct tracker *t)
{
    t->bytes = t->relay_bytes = t->ann_frames = 0;
    t->block_bytes = t->getblocktxns = 0;
}

static bool tracker_all_reached(const struct tracker *t)
{
    for (size_t i = 0; i < t->n_items; i++)
        if (t->it[i].active && t->it[i].reached < t->n_counted)
            return false;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Time by which ceil(pct% of n) nodes had the item. sorted: n times. */
static uint64_t pct_time(const uint64_t *sorted, size_t n, unsigned pct)
{
    size_t need = (n * pct + 99) / 100;
    if (need == 0)
        need = 1;
    return sorted[need - 1];
}

/* Results of one item; the window's bytes are shared by `sharing` items. */
static void tracker_result(struct tracker *t, size_t item, size_t sharing,
                           struct sim_item_result *r, uint64_t *scratch)
{
    size_t n = t->n, m = 0;
    const struct titem *it = &t->it[item];
    const uint32_t *first = t->first_ms + item * n;
    const uint32_t *hops = t->hops + item * n;
    const uint32_t *bodies = t->bodies + item * n;
    const uint32_t *invs = t->invs + item * n;
    const uint32_t *cmpcts = t->cmpcts + item * n;
    for (size_t i = 0; i < n; i++)
        if (!t->counted || t->counted[i])
            scratch[m++] = first[i] == FIRST_NEVER ? SIM_NEVER : first[i];
    qsort(scratch, m, sizeof(*scratch), cmp_u64);
    r->origin = it->origin;
    r->t50_ms = pct_time(scratch, m, 50);
    r->t90_ms = pct_time(scratch, m, 90);
    r->t99_ms = pct_time(scratch, m, 99);
    r->t100_ms = scratch[m - 1];
    r->reached = it->reached;
    r->lost = m - it->reached;
    for (unsigned q = 0; q < SIM_COVER_POINTS; q++)
        r->cover_ms[q] = q == 0 ? 0 : pct_time(scratch, m, q * 100 / (SIM_COVER_POINTS - 1));
    double sum = 0;
    for (size_t i = 0; i < it->reached; i++)
        sum += (double)scratch[i];
    r->mean_ms = it->reached ? sum / (double)it->reached : 0;
    r->victim_ms = first[0] == FIRST_NEVER ? SIM_NEVER : first[0];
    uint64_t h = 0, b = 0, v = 0, cb = 0;
    size_t counted = 0;
    r->hops_max = 0;
    r->bodies_max = 0;
    for (size_t i = 0; i < n; i++) {
        if (t->counted && !t->counted[i])
            continue;
        b += bodies[i];
        v += invs[i];
        cb += cmpcts[i];
        if (bodies[i] > r->bodies_max)
            r->bodies_max = bodies[i];
        if (i != it->origin && first[i] != FIRST_NEVER) {
            h += hops[i];
            counted++;
            if (hops[i] > r->hops_max)
                r->hops_max = hops[i];
        }
    }
    double share = (double)n * (double)sharing;
    r->hops_mean = counted ? (double)h / (double)counted : 0;
    r->bodies_per_node = (double)b / (double)(m - 1);
    r->invs_per_node = (double)v / (double)m;
    r->bytes_per_node = (double)t->bytes / share;
    r->relay_bytes_per_node = (double)t->relay_bytes / share;
    r->ann_frames_per_node = (double)t->ann_frames / share;
    r->cmpct_per_node = (double)cb / (double)(m - 1);
    r->getblocktxn_per_node = (double)t->getblocktxns / share;
    r->block_bytes_per_node = (double)t->block_bytes / share;
    r->violations = it->violations;
}

static void tracker_close_all(struct tracker *t)
{
    for (size_t i = 0; i < t->n_items; i++)
        t->it[i].active = false;
    t->n_active = 0;
    t->n_pending = 0;
}

/* Sums over the up nodes' p2p_stats: bodies they already had
 * (dup_tx_bodies + dup_block_bodies), or compact blocks that fell back
 * to the full block. */
static uint64_t core_stat(struct simnet *sn, bool fallbacks)
{
    uint64_t n = 0;
    for (size_t i = 0; i < simnet_node_count(sn); i++) {
        if (!simnet_is_up(sn, i))
            continue;
        const struct p2p_stats *st = p2p_counters(simnet_p2p(sn, i));
        n += fallbacks ? st->cmpct_fallbacks : st->dup_tx_bodies + st->dup_block_bodies;
    }
    return n;
}

enum action_kind { ACT_HEAL, ACT_CRASH, ACT_RESTART };

/* Something the simulator does to the network at a given time (churn,
 * partitions), kept sorted by time. */
struct action {
    uint64_t at;
    enum action_kind kind;
    uint32_t node;
};

struct world {
    struct simnet *sn;
    struct sim_graph g;
    struct tracker t;
    uint64_t *scratch;
    uint8_t (*send_pk)[32];
    uint8_t (*send_sk)[64];
    size_t *send_origin;        /* cfg.senders: each sender's node */
    const struct sim_proto_config *cfg;
    size_t n_all;               /* graph nodes + sybils */
    bool *counted;              /* honest nodes: the coverage is over these */
    bool *late;                 /* down in the warm-up, join in the first window */
    size_t isolated;            /* honest nodes with adversaries all around */
    bool joined;                /* the late nodes' joins are scheduled */
    struct sim_rng xr;          /* realism's own draws: old runs keep their bytes */
    uint64_t fallbacks0;        /* core_stat(fallbacks) at the window's start */
    struct action *act;
    size_t n_act, cap_act;
};

static void act_add(struct world *w, uint64_t at, enum action_kind kind, size_t node)
{
    if (w->n_act == w->cap_act) {
        size_t cap = w->cap_act ? 2 * w->cap_act : 64;
        struct action *na = realloc(w->act, cap * sizeof(*na));
        assert(na);   /* simulator: out of memory is fatal */
        w->act = na;
        w->cap_act = cap;
    }
    size_t i = w->n_act++;
    while (i > 0 && w->act[i - 1].at > at) {   /* stable: equal times keep their order */
        w->act[i] = w->act[i - 1];
        i--;
    }
    w->act[i] = (struct action){ .at = at, .kind = kind, .node = (uint32_t)node };
}

/* Node u dials its outbound graph edges (after a restart or a late join). */
static void dial_edges(struct world *w, size_t u)
{
    for (size_t i = w->g.off[u]; i < w->g.off[u + 1]; i++) {
        const struct sim_edge *e = &w->g.edges[w->g.adj_edge[i]];
        if (e->a == u)   /* a peer that is down: retried with backoff */
            simnet_connect(w->sn, e->a, e->b);
    }
}

static void act_run(struct world *w, uint64_t upto)
{
    size_t k = 0;
    while (k < w->n_act && w->act[k].at <= upto) {
        const struct action *a = &w->act[k++];
        switch (a->kind) {
        case ACT_HEAL:
            simnet_heal(w->sn);
            break;
        case ACT_CRASH:
            simnet_crash(w->sn, a->node);
            break;
        case ACT_RESTART:
            if (simnet_restart(w->sn, a->node) == 0)
                dial_edges(w, a->node);
            break;
        }
    }
    memmove(w->act, w->act + k, (w->n_act - k) * sizeof(*w->act));
    w->n_act -= k;
}

/* Runs the network until every active item is everywhere, or nothing new
 * arrived for quiet_ms (0: no such stop), or the clock passes end_ms; then
 * settle_ms more so late announcements are counted. */
static void run_window(struct world *w, uint64_t end_ms, uint64_t quiet_ms, uint64_t settle_ms)
{
    struct simnet *sn = w->sn;
    struct tracker *t = &w->t;
    uint64_t start = simnet_now(sn);
    if (w->n_act) {
        /* Churn or a partition: run to each action in turn. */
        while (simnet_now(sn) < end_ms && !tracker_all_reached(t)) {
            uint64_t next = end_ms;
            if (w->n_act && w->act[0].at < next)
                next = w->act[0].at;
            simnet_run_until(sn, next);
            act_run(w, simnet_now(sn));
        }
        /* Nobody stays down or cut off past the window. */
        while (w->n_act) {
            simnet_run_until(sn, w->act[0].at);
            act_run(w, simnet_now(sn));
        }
        simnet_run_for(sn, settle_ms);
        return;
    }
    if (!quiet_ms) {
        /* The observer stops the run when the last node gets the last
         * item; the window then ends on the next SIM_PROTO_STEP_MS
         * boundary, as when the coverage was polled every step. */
        if (!tracker_all_reached(t)) {
            simnet_run_until(sn, end_ms);
            uint64_t el = simnet_now(sn) - start;
            uint64_t b = start + (el + SIM_PROTO_STEP_MS - 1) / SIM_PROTO_STEP_MS
                                     * SIM_PROTO_STEP_MS;
            simnet_run_until(sn, b < end_ms ? b : end_ms);
        }
        simnet_run_for(sn, settle_ms);
        return;
    }
    while (simnet_now(sn) < end_ms && !tracker_all_reached(t)) {
        simnet_run_for(sn, SIM_PROTO_STEP_MS);
        uint64_t last = 0;
        for (size_t i = 0; i < t->n_items; i++) {
            const struct titem *it = &t->it[i];
            if (it->active && it->t0 + it->last_first_ms > last)
                last = it->t0 + it->last_first_ms;
        }
        if (simnet_now(sn) >= last + quiet_ms)
            break;
    }
    simnet_run_for(sn, settle_ms);
}


static void world_free(struct world *w)
{
    free(w->counted);
    free(w->late);
    free(w->act);
    simnet_destroy(w->sn);
    sim_graph_free(&w->g);
    tracker_free(&w->t);
    free(w->scratch);
    free(w->send_pk);
    free(w->send_sk);
    free(w->send_origin);
}

static void mine_block(struct chain_block *b)
{
    uint64_t start = 0;
    while (!chain_mine(&b->hdr, start, 1000))
        start += 1000;
}

/* Funds one account per tx with blocks handed to every chain directly:
 * the setup sends nothing over the network. */
static int fund_senders(struct world *w, unsigned txs, uint64_t amount, struct sim_rng *rng)
{
    size_t n = simnet_node_count(w->sn);
    struct chain *c0 = simnet_chain(w->sn, 0);
    uint64_t now = simnet_now(w->sn);
    uint8_t dev_pk[32], dev_sk[64], miner[32] = { 0x51, 0x4d };
    chain_dev_key(dev_pk, dev_sk);
    for (unsigned i = 0; i < txs; i++) {
        uint8_t seed[32];
        for (int j = 0; j < 4; j++) {
            uint64_t x = sim_rng_next(rng);
            memcpy(seed + 8 * j, &x, 8);
        }
        sig_keypair_from_seed(w->send_pk[i], w->send_sk[i], seed);
        struct chain_tx tx;
        memset(&tx, 0, sizeof(tx));
        tx.version = TX_VERSION;
        memcpy(tx.from, dev_pk, 32);
        memcpy(tx.to, w->send_pk[i], 32);
        tx.amount = amount;
        tx.fee = chain_params(c0)->min_fee;
        tx.nonce = chain_account_next_nonce(c0, dev_pk);
        chain_tx_sign(&tx, dev_sk);
        int r = chain_mempool_accept(c0, &tx, CHAIN_ORIGIN_NONE, now);
        if (r != CHAIN_TX_ACCEPTED) {
            fprintf(stderr, "sim: funding tx %u refused: %d\n", i, r);
            return -1;
        }
    }
    while (chain_mempool_count(c0) > 0) {
        struct chain_block b;
        if (chain_block_template(c0, miner, now, &b) != 0)
            return -1;
        mine_block(&b);
        for (size_t i = 0; i < n; i++) {
            /* Through the core (no peers yet: nothing is sent), so it
             * knows its tip: compact blocks rebuild only on it. */
            int r = p2p_submit_block(simnet_p2p(w->sn, i), &b, now);
            if (r != CHAIN_ST_NEW_TIP) {
                fprintf(stderr, "sim: funding block refused by node %zu: %d\n", i, r);
                chain_block_free(&b);
                return -1;
            }
        }
        chain_block_free(&b);
    }
    return 0;
}

/* Bandwidth, regions, CPU and block size (all off unless asked). */
static int world_realism(struct world *w, const struct sim_proto_config *cfg)
{
    struct simnet *sn = w->sn;
    if (cfg->link_bps)
        simnet_set_link_rate(sn, cfg->link_bps);
    if (cfg->uplink_bps) {
        double lo = log((double)cfg->uplink_bps);
        double hi = cfg->uplink_max_bps > cfg->uplink_bps ? log((double)cfg->uplink_max_bps) : lo;
        for (size_t i = 0; i < w->n_all; i++) {
            double u = sim_rng_unit(&w->xr);
            simnet_set_uplink(sn, i, (uint64_t)exp(lo + u * (hi - lo)));
        }
    }
    if (cfg->geo) {
        if (simnet_set_regions(sn, SIM_GEO_REGIONS, sim_geo_oneway_ms) != 0)
            return -1;
        simnet_set_latency(sn, 1, SIM_GEO_JITTER_MS);   /* the base is unused with regions */
        for (size_t i = 0; i < w->n_all; i++) {
            unsigned r = sim_geo_draw(&w->xr);
            simnet_set_region(sn, i, r);
        }
    }
    struct simnet_cpu cpu = { .tx_us = cfg->cpu_tx_us, .block_us = cfg->cpu_block_us,
                              .block_ns_per_byte = cfg->cpu_block_ns_per_byte };
    simnet_set_cpu(sn, &cpu);
    simnet_set_block_bytes(sn, cfg->block_bytes);
    return 0;
}

/* Who is honest, who is late; the adversaries' behaviours. */
static int world_roles(struct world *w, const struct sim_proto_config *cfg, bool residue_run)
{
    size_t n = cfg->nodes;
    w->counted = malloc(w->n_all * sizeof(*w->counted));
    w->late = calloc(w->n_all, sizeof(*w->late));
    if (!w->counted || !w->late)
        return -1;
    size_t honest = 0;
    for (size_t i = 0; i < w->n_all; i++) {
        enum simnet_behaviour b = SIMNET_HONEST;
        if (i >= n)
            b = SIMNET_WITHHOLD;   /* sybil */
        else if (i > 0 && (cfg->silent_pct || cfg->withhold_pct)) {
            uint64_t x = sim_rng_below(&w->xr, 100);
            if (x < cfg->silent_pct)
                b = SIMNET_SILENT;
            else if (x < (uint64_t)cfg->silent_pct + cfg->withhold_pct)
                b = SIMNET_WITHHOLD;
        }
        if (b != SIMNET_HONEST)
            simnet_set_behaviour(w->sn, i, b);
        w->counted[i] = b == SIMNET_HONEST;
        honest += w->counted[i];
        if (w->counted[i] && i > 0 && !residue_run && cfg->late_pct
            && sim_rng_below(&w->xr, 100) < cfg->late_pct)
            w->late[i] = true;
    }
    /* Honest nodes whose every path to the rest runs through adversaries
     * can never get anything: they are isolated, reported and not counted. */
    if (cfg->silent_pct || cfg->withhold_pct) {
        bool *seen = calloc(n, sizeof(*seen));
        uint32_t *stack = malloc(n * sizeof(*stack));
        if (!seen || !stack) {
            free(seen);
            free(stack);
            return -1;
        }
        size_t top = 0;
        stack[top++] = 0;
        seen[0] = true;
        while (top) {
            uint32_t u = stack[--top];
            for (size_t j = w->g.off[u]; j < w->g.off[u + 1]; j++) {
                uint32_t v = w->g.adj[j];
                if (!seen[v] && w->counted[v]) {
                    seen[v] = true;
                    stack[top++] = v;
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (w->counted[i] && !seen[i]) {
                w->counted[i] = false;
                w->isolated++;
                honest--;
            }
        }
        free(seen);
        free(stack);
    }
    if (honest < 2)
        return -1;
    w->t.counted = w->counted;
    w->t.n_counted = honest;
    return 0;
}

static int world_build(struct world *w, const struct sim_proto_config *cfg, bool recon_off)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    size_t n = cfg->nodes;
    w->n_all = n + cfg->sybils;
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed);
    sim_rng_seed(&w->xr, cfg->seed ^ 0x7ea115e5ull);
    if (sim_graph_random(&w->g, n, cfg->degree, &rng) != 0)
        return -1;
    struct simnet_config sc = {
        .seed = cfg->seed,
        .latency_ms = cfg->latency_ms ? cfg->latency_ms : SIM_PROTO_LATENCY_MS_DEFAULT,
        .jitter_ms = cfg->latency_ms ? cfg->jitter_ms : SIM_PROTO_JITTER_MS_DEFAULT,
        .link_fixed = cfg->link_fixed,
    };
    w->scratch = malloc(w->n_all * sizeof(*w->scratch));
    /* Repeat senders: K keys, each funded for its share of the txs. */
    unsigned keys = cfg->senders ? cfg->senders : cfg->txs;
    uint64_t fund = SIM_FUND_AMOUNT;
    if (cfg->senders)
        fund *= (cfg->txs + cfg->senders - 1) / cfg->senders;
    w->send_pk = malloc((keys ? keys : 1) * sizeof(*w->send_pk));
    w->send_sk = malloc((keys ? keys : 1) * sizeof(*w->send_sk));
    w->send_origin = calloc(keys ? keys : 1, sizeof(*w->send_origin));
    if (!w->scratch || !w->send_pk || !w->send_sk || !w->send_origin
        || simnet_create(&w->sn, &sc) != 0
        || tracker_init(&w->t, w->sn, w->n_all, (size_t)cfg->txs + cfg->blocks) != 0)
        return -1;
    struct p2p_config tmpl;
    p2p_config_init(&tmpl);
    tmpl.outbound_target = 0;          /* the graph is the topology */
    tmpl.fanout = cfg->fanout;
    tmpl.tx_batch_ms = cfg->batch_ms;
    tmpl.relay_mode = cfg->relay_push ? P2P_RELAY_PUSH : P2P_RELAY_PULL;
    tmpl.cmpct = cfg->cmpct;
    tmpl.recon_interval_ms = recon_off ? SIM_PROTO_RECON_OFF_MS : cfg->recon_ms;
    for (size_t i = 0; i < w->n_all; i++) {
        char name[24];
        snprintf(name, sizeof(name), i < n ? "n%zu" : "sybil%zu", i < n ? i : i - n);
        if (simnet_add_node(w->sn, name, &tmpl) != (int)i) {
            fprintf(stderr, "sim: cannot add node %zu (out of memory?)\n", i);
            return -1;
        }
    }
    if (fund_senders(w, keys, fund, &rng) != 0 || world_realism(w, cfg) != 0
        || world_roles(w, cfg, recon_off) != 0)
        return -1;
    /* Each repeat sender sends from one node, drawn from its own stream
     * (old runs keep their bytes) among the honest nodes up from the start. */
    struct sim_rng orng;
    sim_rng_seed(&orng, cfg->seed ^ 0x5e4de25ull);
    for (unsigned s = 0; s < cfg->senders; s++) {
        size_t o = (size_t)sim_rng_below(&orng, n);
        while (!w->counted[o] || w->late[o])
            o = (size_t)sim_rng_below(&orng, n);
        w->send_origin[s] = o;
    }
    struct simnet_observer obs = { .ctx = &w->t, .on_send = on_send, .on_deliver = on_deliver,
                                   .on_handled = on_handled };
    simnet_set_observer(w->sn, &obs);
    /* Cheap warm-up: addr gossip (each node announcing itself, getaddr
     * answers) is dropped in transit, so no address flood runs before the
     * items. The graph is the topology (outbound_target 0): the books are
     * never used to dial. */
    if (!cfg->warmup_addr)
        simnet_set_drop_cmds(w->sn, 1u << P2P_CMD_ADDR);
    for (size_t i = 0; i < w->n_all; i++)
        if (w->late[i])
            simnet_crash(w->sn, i);
    for (size_t i = 0; i < w->g.n_edges; i++)
        if (!w->late[w->g.edges[i].a]
            && simnet_connect(w->sn, w->g.edges[i].a, w->g.edges[i].b) != 0)
            return -1;
    /* Eclipse: each sybil dials the victim (node 0) and a few honest
     * nodes, so it hears items early and announces them to the victim. */
    for (size_t s = n; s < w->n_all; s++) {
        /* Best effort: a node drawn twice is refused as a duplicate. */
        (void)simnet_connect(w->sn, s, 0);
        for (unsigned k = 0; k < SIM_PROTO_SYBIL_DEGREE; k++)
            (void)simnet_connect(w->sn, s, 1 + (size_t)sim_rng_below(&w->xr, n - 1));
    }
    simnet_run_for(w->sn, SIM_PROTO_WARMUP_MS);
    simnet_set_drop_cmds(w->sn, 0);
    /* From here on only the nodes the simulator calls into (submissions)
     * need their deadlines rechecked. */
    simnet_set_touch_only(w->sn, true);
    simnet_set_loss(w->sn, cfg->loss_ppm);
    return 0;
}

static bool all_established(struct world *w)
{
    struct p2p_peer_info *info = malloc(P2P_MAX_PEERS * sizeof(*info));
    bool ok = info != NULL;
    for (size_t i = 0; ok && i < w->g.n; i++) {
        if (w->late[i])
            continue;
        size_t m = p2p_get_peers(simnet_p2p(w->sn, i), info, P2P_MAX_PEERS);
        size_t est = 0, want = 0;
        for (size_t j = 0; j < m; j++)
            est += info[j].established;
        for (size_t j = w->g.off[i]; j < w->g.off[i + 1]; j++)
            want += !w->late[w->g.adj[j]];
        ok = est >= want;   /* sybils add connections */
    }
    free(info);
    return ok;
}

/* Appends n txs from the dev key that no mempool has (the miner's own,
 * never relayed: a compact block of b needs a getblocktxn at every hop)
 * and fixes the merkle root. */
static int add_private_txs(struct chain *c, struct chain_block *b, unsigned n, struct sim_rng *rng)
{
    uint8_t dev_pk[32], dev_sk[64];
    chain_dev_key(dev_pk, dev_sk);
    struct chain_tx *txs = realloc(b->txs, (b->n_tx + n) * sizeof(*txs));
    if (!txs)
        return -1;
    b->txs = txs;
    uint64_t nonce = chain_account_next_nonce(c, dev_pk);
    for (unsigned k = 0; k < n; k++) {
        struct chain_tx *tx = &b->txs[b->n_tx++];
        memset(tx, 0, sizeof(*tx));
        tx->version = TX_VERSION;
        memcpy(tx->from, dev_pk, 32);
        for (int j = 0; j < 4; j++) {
            uint64_t x = sim_rng_next(rng);
            memcpy(tx->to + 8 * j, &x, 8);
        }
        tx->amount = SIM_TX_AMOUNT;
        tx->fee = chain_params(c)->min_fee;
        tx->nonce = nonce + k;
        chain_tx_sign(tx, dev_sk);
    }
    bool mutated = false;
    return chain_block_merkle(b, b->hdr.merkle_root, &mutated) == 0 && !mutated ? 0 : -1;
}

/* Builds item i (a tx from sender i, or a block) at a random node,
 * starts tracking it and submits it. The item rng is seeded apart from the
 * graph's so both runs (with and without anti-entropy) pick the same
 * origins and build the same txs. Returns the tracker index or -1. */
static long submit_item(struct world *w, unsigned i, bool is_tx, struct sim_rng *rng)
{
    size_t n = w->g.n;
    unsigned key = i;
    size_t origin;
    if (is_tx && w->cfg->senders) {
        key = i % w->cfg->senders;
        origin = w->send_origin[key];
        if (!simnet_is_up(w->sn, origin))
            return -1;   /* window_faults never crashes a sender's node */
    } else {
        origin = (size_t)sim_rng_below(rng, n);
        while (!w->counted[origin] || !simnet_is_up(w->sn, origin))
            origin = (size_t)sim_rng_below(rng, n);
    }
    uint8_t to[32];
    for (int j = 0; j < 4; j++) {
        uint64_t x = sim_rng_next(rng);
        memcpy(to + 8 * j, &x, 8);
    }
    struct chain *c = simnet_chain(w->sn, origin);
    struct p2p *p = simnet_p2p(w->sn, origin);
    uint64_t now = simnet_now(w->sn);
    size_t idx;
    int st;
    if (is_tx) {
        struct chain_tx tx;
        uint8_t txid[32];
        memset(&tx, 0, sizeof(tx));
        tx.version = TX_VERSION;
        memcpy(tx.from, w->send_pk[key], 32);
        memcpy(tx.to, to, 32);
        tx.amount = SIM_TX_AMOUNT;
        tx.fee = chain_params(c)->min_fee;
        tx.nonce = chain_account_next_nonce(c, w->send_pk[key]);
        chain_tx_sign(&tx, w->send_sk[key]);
        chain_tx_txid(&tx, txid);
        idx = tracker_add(&w->t, txid, origin);
        st = p2p_submit_tx(p, &tx, now);
        simnet_touch(w->sn, origin);
        if (st != CHAIN_TX_ACCEPTED) {
            fprintf(stderr, "sim: tx %u refused at node %zu: %s\n", i, origin,
                    p2p_strerror(st));
            return -1;
        }
    } else {
        struct chain_block b;
        uint8_t hash[32];
        if (chain_block_template(c, to, now, &b) != 0
            || (w->cfg->block_private && add_private_txs(c, &b, w->cfg->block_private, rng) != 0))
            return -1;
        mine_block(&b);
        chain_header_hash(&b.hdr, hash);
        idx = tracker_add(&w->t, hash, origin);
        st = p2p_submit_block(p, &b, now);
        simnet_touch(w->sn, origin);
        chain_block_free(&b);
        if (st != CHAIN_ST_NEW_TIP) {
            fprintf(stderr, "sim: block %u refused at node %zu: %s\n", i, origin,
                    p2p_strerror(st));
            return -1;
        }
    }
    return (long)idx;
}

static bool sends_txs(const struct world *w, size_t node)
{
    for (unsigned s = 0; s < w->cfg->senders; s++)
        if (w->send_origin[s] == node)
            return true;
    return false;
}

/* Faults of one window, from its start: late nodes join (first window),
 * a random half is cut off and healed, some nodes crash and restart
 * (never a repeat sender's node). */
static void window_faults(struct world *w, size_t origin, bool residue_run)
{
    const struct sim_proto_config *cfg = w->cfg;
    uint64_t now = simnet_now(w->sn);
    size_t n = w->g.n;
    if (residue_run)
        return;
    if (!w->joined) {
        w->joined = true;
        for (size_t i = 0; i < n; i++)
            if (w->late[i])
                act_add(w, now + sim_rng_below(&w->xr, SIM_PROTO_LATE_JOIN_MS), ACT_RESTART, i);
    }
    if (cfg->partition_ms) {
        for (size_t i = 0; i < n; i++)
            simnet_set_group(w->sn, i, i == origin ? 0 : (int)sim_rng_below(&w->xr, 2));
        act_add(w, now + cfg->partition_ms, ACT_HEAL, 0);
    }
    if (cfg->churn_pct && cfg->churn_down_ms) {
        for (size_t i = 0; i < n; i++) {
            if (i == origin || !w->counted[i] || !simnet_is_up(w->sn, i)
                || sim_rng_below(&w->xr, 100) >= cfg->churn_pct || sends_txs(w, i))
                continue;
            uint64_t at = now + sim_rng_below(&w->xr, cfg->churn_down_ms);
            act_add(w, at, ACT_CRASH, i);
            act_add(w, at + cfg->churn_down_ms, ACT_RESTART, i);
        }
    }
}

/* Ends the window of items [first, last): results (main run) or residue
 * (residue run). */
static void end_window(struct world *w, bool residue_run, size_t first, size_t last,
                       uint64_t dups, struct sim_proto_result *res)
{
    size_t n = w->g.n;
    for (size_t k = first; k < last; k++) {
        struct sim_item_result *r = &res->items[k];
        const struct titem *it = &w->t.it[k];
        if (residue_run) {
            r->residue = 1.0 - (double)it->reached / (double)n;
            r->rumour_end_ms = it->last_first_ms;
        } else {
            tracker_result(&w->t, k, last - first, r, w->scratch);
            r->core_dup_bodies = dups;
            uint64_t fb = core_stat(w->sn, true);   /* churn: a crash drops stats */
            r->core_cmpct_fallbacks = fb > w->fallbacks0 ? fb - w->fallbacks0 : 0;
        }
    }
    tracker_close_all(&w->t);
}

/* Submits and measures the items: txs one at a time, or every burst_ms
 * together in one window; then blocks one at a time. */
static int run_items(struct world *w, const struct sim_proto_config *cfg, bool residue_run,
                     struct sim_proto_result *res)
{
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed ^ 0x5eed17e5ull);
    uint32_t batch = cfg->batch_ms ? cfg->batch_ms : P2P_TX_BATCH_MS_DEFAULT;
    uint64_t settle = 2ull * batch + 1000;
    uint64_t timeout = cfg->item_timeout_ms ? cfg->item_timeout_ms
                                            : SIM_PROTO_ITEM_TIMEOUT_MS_DEFAULT;
    uint64_t quiet = residue_run ? SIM_PROTO_QUIET_MS : 0;
    unsigned total = cfg->txs + (residue_run ? 0 : cfg->blocks);
    unsigned i = 0;
    if (cfg->burst_ms && cfg->txs > 0) {
        uint64_t dups = residue_run ? 0 : core_stat(w->sn, false);
        w->fallbacks0 = core_stat(w->sn, true);
        tracker_window_start(&w->t);
        uint64_t t_start = simnet_now(w->sn);
        for (; i < cfg->txs; i++) {
            simnet_run_until(w->sn, t_start + (uint64_t)i * cfg->burst_ms);
            res->items[i].kind = i < cfg->warmup_txs ? SIM_ITEM_TX_WARM : SIM_ITEM_TX;
            long it = submit_item(w, i, true, &rng);
            if (it < 0)
                return -1;
            if (i == 0)
                window_faults(w, w->t.it[it].origin, residue_run);
        }
        run_window(w, simnet_now(w->sn) + timeout, quiet, settle);
        end_window(w, residue_run, 0, i, residue_run ? 0 : core_stat(w->sn, false) - dups, res);
    }
    for (; i < total; i++) {
        uint64_t dups = residue_run ? 0 : core_stat(w->sn, false);
        w->fallbacks0 = core_stat(w->sn, true);
        tracker_window_start(&w->t);
        bool is_tx = i < cfg->txs;
        res->items[i].kind = !is_tx ? SIM_ITEM_BLOCK
                             : i < cfg->warmup_txs ? SIM_ITEM_TX_WARM : SIM_ITEM_TX;
        long it = submit_item(w, i, is_tx, &rng);
        if (it < 0)
            return -1;
        window_faults(w, w->t.it[it].origin, residue_run);
        run_window(w, simnet_now(w->sn) + timeout, quiet, settle);
        end_window(w, residue_run, i, i + 1, residue_run ? 0 : core_stat(w->sn, false) - dups,
                   res);
    }
    if (!residue_run)
        res->n_items = total;
    return 0;
}

/* Competing miners: blocks found as a Poisson process of the given mean
 * interval, each at a uniformly drawn honest node on its own tip (uniform
 * hash power); then the network settles. A block is stale when it is not
 * on the final best chain: stale = mined - (height gained). */
static int run_mining(struct world *w, const struct sim_proto_config *cfg,
                      struct sim_proto_result *res)
{
    struct simnet *sn = w->sn;
    size_t n = w->g.n;
    uint32_t h0 = chain_height(simnet_chain(sn, 0));
    uint64_t t = simnet_now(sn);
    for (unsigned b = 0; b < cfg->mine_blocks; b++) {
        double u = ((double)(sim_rng_next(&w->xr) >> 11) + 1.0) / 9007199254740993.0;
        t += (uint64_t)(-log(u) * (double)cfg->mine_interval_ms) + 1;
        simnet_run_until(sn, t);
        size_t m = (size_t)sim_rng_below(&w->xr, n);
        while (!w->counted[m] || !simnet_is_up(sn, m))
            m = (size_t)sim_rng_below(&w->xr, n);
        struct chain *c = simnet_chain(sn, m);
        struct chain_block blk;
        uint8_t to[32];
        for (int j = 0; j < 4; j++) {
            uint64_t x = sim_rng_next(&w->xr);
            memcpy(to + 8 * j, &x, 8);
        }
        if (chain_block_template(c, to, simnet_now(sn), &blk) != 0)
            return -1;
        mine_block(&blk);
        int st = p2p_submit_block(simnet_p2p(sn, m), &blk, simnet_now(sn));
        chain_block_free(&blk);
        simnet_touch(sn, m);
        if (st != CHAIN_ST_NEW_TIP) {
            fprintf(stderr, "sim: mined block refused at node %zu: %s\n", m, p2p_strerror(st));
            return -1;
        }
        res->mined++;
    }
    simnet_run_for(sn, SIM_PROTO_MINE_SETTLE_MS);
    /* Equal-work tips may stay split until the next block (each node keeps
     * the one it saw first): agreement is on the height (the work). */
    uint32_t h = chain_height(simnet_chain(sn, 0));
    res->tips_agree = true;
    for (size_t i = 0; i < n; i++)
        if (w->counted[i] && simnet_is_up(sn, i) && chain_height(simnet_chain(sn, i)) != h)
            res->tips_agree = false;
    uint32_t gained = chain_height(simnet_chain(sn, 0)) - h0;
    res->stale = res->mined > gained ? res->mined - gained : 0;
    return 0;
}

/* Every connection the simulator opens starts with 512-byte pages: an
 * in-memory chain keeps all its pages, and a dozen b-trees of 4 KiB pages
 * each, mostly empty, were half of a node's SQLite memory (106 -> 57 KiB
 * a chain). Runs before the chain's schema exists, so it takes effect. */
static int sqlite_small_pages(sqlite3 *db, const char **err, const void *api)
{
    (void)err;
    (void)api;
    sqlite3_exec(db, "PRAGMA page_size=" SIM_SQLITE_PAGE_BYTES, NULL, NULL, NULL);
    return SQLITE_OK;
}

/* Thousands of in-memory chains, one SQLite connection each: no
 * lookaside pool and no bulk page-cache allocation per connection, and
 * small pages. Process-wide; once, before any connection. */
static void sqlite_lean(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    sqlite3_shutdown();
    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
    sqlite3_initialize();
    sqlite3_auto_extension((void (*)(void))sqlite_small_pages);
}

int sim_proto_run(const struct sim_proto_config *cfg, struct sim_proto_result *res)
{
    sqlite_lean();
    sim_memstore_use(!cfg->sqlite_store);
    memset(res, 0, sizeof(*res));
    if (cfg->nodes < 2 || cfg->nodes > SIM_PROTO_MAX_NODES || cfg->degree < 1
        || cfg->degree >= cfg->nodes || cfg->degree > SIM_GRAPH_MAX_DEGREE
        || (size_t)cfg->txs + cfg->blocks > SIM_PROTO_MAX_ITEMS
        || cfg->senders > SIM_PROTO_MAX_ITEMS || cfg->warmup_txs > cfg->txs
        || cfg->loss_ppm > 1000000 || cfg->sybils > SIM_PROTO_MAX_SYBILS
        || cfg->churn_pct > 100 || cfg->late_pct > 100
        || cfg->silent_pct + cfg->withhold_pct > 90
        || (cfg->mine_blocks && !cfg->mine_interval_ms))
        return -1;
    struct world w;
    int err = -1;
    if (world_build(&w, cfg, false) != 0)
        goto out;
    res->nodes = cfg->nodes;
    res->edges = w.g.n_edges;
    res->established = all_established(&w);
    res->counted = w.t.n_counted;
    res->isolated = w.isolated;
    if (run_items(&w, cfg, false, res) != 0)
        goto out;
    if (cfg->mine_blocks && run_mining(&w, cfg, res) != 0)
        goto out;
    res->frames = simnet_frames(w.sn);
    res->bytes = simnet_bytes(w.sn);
    if (cfg->residue && cfg->txs > 0) {
        world_free(&w);
        if (world_build(&w, cfg, true) != 0 || run_items(&w, cfg, true, res) != 0)
            goto out;
        res->residue = true;
    }
    err = 0;
out:
    world_free(&w);
    return err;
}

void sim_proto_aggregate(const struct sim_proto_result *res, enum sim_item_kind kind,
                         struct sim_proto_agg *a)
{
    sim_proto_aggregate_from(res, kind, 0, a);
}

void sim_proto_aggregate_from(const struct sim_proto_result *res, enum sim_item_kind kind,
                              unsigned skip, struct sim_proto_agg *a)
{
    memset(a, 0, sizeof(*a));
    unsigned seen = 0;
    for (unsigned i = 0; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        if (r->kind != kind || seen++ < skip)
            continue;
        a->items++;
        if (r->t100_ms != SIM_NEVER) {
            a->complete++;
            a->t50_ms += (double)r->t50_ms;
            a->t90_ms += (double)r->t90_ms;
            a->t99_ms += (double)r->t99_ms;
            a->t100_ms += (double)r->t100_ms;
            a->t95_ms += (double)r->cover_ms[19];
            a->mean_ms += r->mean_ms;
        }
        a->hops_mean += r->hops_mean;
        if (r->hops_max > a->hops_max)
            a->hops_max = r->hops_max;
        a->bodies_per_node += r->bodies_per_node;
        if (r->bodies_max > a->bodies_max)
            a->bodies_max = r->bodies_max;
        a->invs_per_node += r->invs_per_node;
        a->bytes_per_node += r->bytes_per_node;
        a->relay_bytes_per_node += r->relay_bytes_per_node;
        a->ann_frames_per_node += r->ann_frames_per_node;
        a->cmpct_per_node += r->cmpct_per_node;
        a->getblocktxn_per_node += r->getblocktxn_per_node;
        a->block_bytes_per_node += r->block_bytes_per_node;
        a->cmpct_fallbacks += r->core_cmpct_fallbacks;
        a->violations += r->violations;
        a->residue += r->residue;
        a->rumour_end_ms += (double)r->rumour_end_ms;
        a->reached_frac += (double)r->reached / (double)(res->counted ? res->counted : res->nodes);
    }
    if (a->complete) {
        a->t50_ms /= a->complete;
        a->t90_ms /= a->complete;
        a->t99_ms /= a->complete;
        a->t100_ms /= a->complete;
        a->t95_ms /= a->complete;
        a->mean_ms /= a->complete;
    }
    if (a->items) {
        double k = a->items;
        a->hops_mean /= k;
        a->bodies_per_node /= k;
        a->invs_per_node /= k;
        a->bytes_per_node /= k;
        a->relay_bytes_per_node /= k;
        a->ann_frames_per_node /= k;
        a->cmpct_per_node /= k;
        a->getblocktxn_per_node /= k;
        a->block_bytes_per_node /= k;
        a->residue /= k;
        a->rumour_end_ms /= k;
        a->reached_frac /= k;
    }
}
