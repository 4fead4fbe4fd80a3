#include "p2p/simnet.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/util.h"
#include "p2p/wire.h"

enum ev_kind {
    EV_DELIVER, EV_CONNECTED, EV_CONNECT_FAILED, EV_CLOSED, EV_TICK,
    EV_CPU,     /* a node's validation of its queue head is done */
    EV_ACK,     /* a dropped frame has "left" its sender: p2p_on_sent */
};

/* 40 bytes: a 10,000-node run holds millions of these at once. */
struct sim_event {
    uint64_t at_ms;
    uint64_t seq;               /* ties broken by creation order */
    uint8_t *buf;               /* DELIVER: the frame; CONNECT_FAILED: the p2p_addr */
    uint32_t len;
    uint32_t id;                /* conn (DELIVER, CONNECTED, CLOSED, ACK) or node */
    uint8_t kind;
    uint8_t side;               /* receiving end: 0 = dialer, 1 = listener (ACK: sender) */
};

struct sim_conn {
    size_t node[2];             /* dialer, listener */
    uint64_t peer[2];           /* peer id at each end */
    bool open[2];
    uint64_t last_at[2];        /* last scheduled delivery to each end: keeps order */
    uint64_t free_us[2];        /* bandwidth: the direction towards each end is busy until */
};

/* Where a node's peer id leads: peer ids are 1, 2, 3 ... per node, so a
 * plain array indexed by id finds the connection in O(1). */
struct peer_slot {
    size_t conn;
    int side;
};

struct sim_node {
    struct simnet *sn;
    size_t index;
    struct chain *chain;
    struct p2p *p2p;            /* NULL: down */
    struct p2p_io io;
    struct p2p_config tmpl;     /* for restarts */
    char name[32];
    unsigned restarts;
    uint64_t next_peer_id;
    struct peer_slot *by_peer;  /* [peer id] */
    size_t cap_by_peer;
    uint64_t tick_at;           /* time of the live EV_TICK, UINT64_MAX: none */
    bool touched;
    int group;
    unsigned region;
    enum simnet_behaviour behaviour;
    uint64_t up_rate;           /* bytes/s, 0: unlimited */
    uint64_t up_free_us;
    /* CPU: frames waiting for the core, the head being validated. */
    struct sim_event *q;
    size_t q_head, q_n, q_cap;
    uint64_t busy_us;           /* validation done at */
    uint64_t cpu_at;            /* time of the live EV_CPU, UINT64_MAX: none */
};

struct simnet {
    struct simnet_config cfg;
    struct simnet_observer obs;
    struct p2p_rng rng;
    uint64_t now;
    uint64_t seq;
    struct sim_node **nodes;
    size_t n_nodes;
    struct sim_conn *conns;
    size_t n_conns, cap_conns;
    /* The event queue: a calendar of SIMNET_CAL_SLOTS one-ms buckets for
     * [cal_at, cal_at + SIMNET_CAL_SLOTS), each a FIFO list of pooled
     * events, and a heap for later ones (and for any scheduled before
     * cal_at), moved into the calendar as it comes into the window. */
    struct cal_bucket *cal;
    struct cal_slot *pool;
    uint32_t pool_free, cap_pool;
    uint64_t cal_at;            /* no calendar event is before this */
    size_t n_cal;
    struct sim_event *heap;
    size_t n_heap, cap_heap, n_events, peak_events;
    uint64_t frames, bytes;
    bool stop;
    bool touch_only;
    size_t *touched;
    size_t n_touched, cap_touched;
    /* realism */
    uint64_t link_rate;
    unsigned n_regions;
    uint32_t region_ms[SIMNET_MAX_REGIONS * SIMNET_MAX_REGIONS];
    struct simnet_cpu cpu;
    bool cpu_on;
    uint32_t block_bytes;
    uint32_t drop_mask;
    bool any_behaviour;
};

/* Commands a silent node still sends: it stays connected, relays nothing. */
#define SILENT_KEEP ((1u << P2P_CMD_VERSION) | (1u << P2P_CMD_VERACK) | (1u << P2P_CMD_PING) \
                     | (1u << P2P_CMD_PONG) | (1u << P2P_CMD_SENDHEADERS))
#define WITHHOLD_DROP ((1u << P2P_CMD_TX) | (1u << P2P_CMD_BLOCK) | (1u << P2P_CMD_NOTFOUND))

/* ---- event queue ---- */

/* Events are popped in (time, creation) order. Most are due within a few
 * seconds, at whole milliseconds, so a calendar of one-ms buckets holds
 * them: push and pop are O(1), where a binary heap of millions of events
 * took a cache miss per level (8 % of a 10,000-node run). A bucket is
 * FIFO; an event reaches it either pushed directly (its time was already
 * in the window, so it is newer than every event moved in from the heap
 * for that time) or moved from the heap in heap order as the window
 * advances: FIFO order is creation order. */
#define SIMNET_CAL_SLOTS 65536u       /* window: 65.5 s, 512 KiB of buckets */
#define SIMNET_CAL_NONE UINT32_MAX

struct cal_bucket {
    uint32_t head, tail;
};

struct cal_slot {
    struct sim_event ev;
    uint32_t next;
};

static bool ev_less(const struct sim_event *a, const struct sim_event *b)
{
    return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

static void heap_push(struct simnet *sn, struct sim_event ev)
{
    if (sn->n_heap == sn->cap_heap) {
        size_t cap = sn->cap_heap ? 2 * sn->cap_heap : 256;
        struct sim_event *nh = realloc(sn->heap, cap * sizeof(*nh));
        assert(nh);   /* test harness: out of memory is fatal */
        sn->heap = nh;
        sn->cap_heap = cap;
    }
    size_t i = sn->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_less(&ev, &sn->heap[parent]))
            break;
        sn->heap[i] = sn->heap[parent];
        i = parent;
    }
    sn->heap[i] = ev;
}

static struct sim_event heap_pop(struct simnet *sn)
{
    struct sim_event top = sn->heap[0];
    struct sim_event last = sn->heap[--sn->n_heap];
    size_t n = sn->n_heap, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= n)
            break;
        if (r < n && ev_less(&sn->heap[r], &sn->heap[l]))
            m = r;
        if (!ev_less(&sn->heap[m], &last))
            break;
        sn->heap[i] = sn->heap[m];
        i = m;
    }
    if (n)
        sn->heap[i] = last;
    return top;
}

static void cal_append(struct simnet *sn, const struct sim_event *ev)
{
    if (sn->pool_free == SIMNET_CAL_NONE) {
        uint32_t cap = sn->cap_pool ? 2 * sn->cap_pool : 1024;
        assert(cap > sn->cap_pool && cap < SIMNET_CAL_NONE);
        struct cal_slot *np = realloc(sn->pool, (size_t)cap * sizeof(*np));
        assert(np);   /* test harness: out of memory is fatal */
        for (uint32_t i = sn->cap_pool; i < cap; i++)
            np[i].next = i + 1 < cap ? i + 1 : SIMNET_CAL_NONE;
        sn->pool = np;
        sn->pool_free = sn->cap_pool;
        sn->cap_pool = cap;
    }
    uint32_t k = sn->pool_free;
    sn->pool_free = sn->pool[k].next;
    sn->pool[k].ev = *ev;
    sn->pool[k].next = SIMNET_CAL_NONE;
    struct cal_bucket *b = &sn->cal[ev->at_ms % SIMNET_CAL_SLOTS];
    if (b->head == SIMNET_CAL_NONE)
        b->head = k;
    else
        sn->pool[b->tail].next = k;
    b->tail = k;
    sn->n_cal++;
}

static void queue_push(struct simnet *sn, struct sim_event ev)
{
    ev.seq = sn->seq++;
    if (++sn->n_events > sn->peak_events)
        sn->peak_events = sn->n_events;
    if (ev.at_ms >= sn->cal_at && ev.at_ms - sn->cal_at < SIMNET_CAL_SLOTS)
        cal_append(sn, &ev);
    else
        heap_push(sn, ev);
}

/* Moves the window's start to t (no calendar event is before t) and the
 * heap's events that came into the window into their buckets. */
static void cal_advance(struct simnet *sn, uint64_t t)
{
    sn->cal_at = t;
    while (sn->n_heap && sn->heap[0].at_ms >= t && sn->heap[0].at_ms - t < SIMNET_CAL_SLOTS) {
        struct sim_event ev = heap_pop(sn);
        cal_append(sn, &ev);
    }
}

/* The next event due at or before until_ms, removed from the queue; false
 * if there is none. Never moves the window past until_ms, so events
 * pushed afterwards (at or after the simulated now) still fit. */
static bool queue_pop(struct simnet *sn, uint64_t until_ms, struct sim_event *out)
{
    /* Heap events before the window (scheduled in the past) come first. */
    if (sn->n_heap && sn->heap[0].at_ms < sn->cal_at) {
        if (sn->heap[0].at_ms > until_ms)
            return false;
        *out = heap_pop(sn);
        sn->n_events--;
        return true;
    }
    while (sn->cal_at <= until_ms) {
        struct cal_bucket *b = &sn->cal[sn->cal_at % SIMNET_CAL_SLOTS];
        if (b->head != SIMNET_CAL_NONE) {
            uint32_t k = b->head;
            *out = sn->pool[k].ev;
            b->head = sn->pool[k].next;
            sn->pool[k].next = sn->pool_free;
            sn->pool_free = k;
            sn->n_cal--;
            sn->n_events--;
            return true;
        }
        if (sn->cal_at == until_ms)
            break;
        if (sn->n_cal == 0) {
            /* Nothing in the window: jump to the heap's first event. */
            uint64_t t = sn->n_heap && sn->heap[0].at_ms < until_ms ? sn->heap[0].at_ms : until_ms;
            cal_advance(sn, t);
        } else {
            cal_advance(sn, sn->cal_at + 1);
        }
    }
    return false;
}

static void queue_free(struct simnet *sn)
{
    for (uint32_t i = 0; sn->cal && i < SIMNET_CAL_SLOTS; i++)
        for (uint32_t k = sn->cal[i].head; k != SIMNET_CAL_NONE; k = sn->pool[k].next)
            free(sn->pool[k].ev.buf);
    for (size_t i = 0; i < sn->n_heap; i++)
        free(sn->heap[i].buf);
    free(sn->cal);
    free(sn->pool);
    free(sn->heap);
}

/* ---- helpers ---- */

static uint64_t delay(struct simnet *sn, size_t from, size_t to)
{
    uint64_t d = sn->cfg.latency_ms;
    if (sn->n_regions && from != SIZE_MAX && to != SIZE_MAX)
        d = sn->region_ms[sn->nodes[from]->region * sn->n_regions + sn->nodes[to]->region];
    if (sn->cfg.jitter_ms && sn->cfg.link_fixed && from != SIZE_MAX && to != SIZE_MAX) {
        /* A fixed path per link, the same both ways: no state, no draw. */
        uint64_t lo = from < to ? from : to, hi = from < to ? to : from;
        uint64_t x = sn->cfg.seed ^ (lo << 32 | hi) ^ 0x1f1ced1a7e11ull;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        d += x % (sn->cfg.jitter_ms + 1);
    } else if (sn->cfg.jitter_ms) {
        d += p2p_rng_below(&sn->rng, sn->cfg.jitter_ms + 1);
    }
    return d;
}

static bool lost(struct simnet *sn)
{
    return sn->cfg.loss_ppm && p2p_rng_below(&sn->rng, 1000000) < sn->cfg.loss_ppm;
}

static bool reachable(const struct simnet *sn, size_t a, size_t b)
{
    return sn->nodes[a]->group == sn->nodes[b]->group;
}

static bool find_conn(const struct simnet *sn, size_t node, uint64_t peer, size_t *c, int *side)
{
    const struct sim_node *nd = sn->nodes[node];
    if (peer == 0 || peer >= nd->cap_by_peer || nd->by_peer[peer].side < 0)
        return false;
    *c = nd->by_peer[peer].conn;
    *side = nd->by_peer[peer].side;
    return true;
}

static uint64_t new_peer_id(struct sim_node *nd, size_t conn, int side)
{
    uint64_t id = ++nd->next_peer_id;
    if (id >= nd->cap_by_peer) {
        size_t cap = nd->cap_by_peer ? 2 * nd->cap_by_peer : 16;
        while (cap <= id)
            cap *= 2;
        struct peer_slot *nb = realloc(nd->by_peer, cap * sizeof(*nb));
        assert(nb);   /* test harness: out of memory is fatal */
        for (size_t i = nd->cap_by_peer; i < cap; i++)
            nb[i].side = -1;
        nd->by_peer = nb;
        nd->cap_by_peer = cap;
    }
    nd->by_peer[id].conn = conn;
    nd->by_peer[id].side = side;
    return id;
}

/* Keeps one live EV_TICK per node at the core's next deadline; older
 * ones in the heap are recognised as stale when popped. */
static void schedule_tick(struct simnet *sn, struct sim_node *nd)
{
    if (!nd->p2p)
        return;
    uint64_t d = p2p_next_deadline(nd->p2p);
    if (d < sn->now)
        d = sn->now;
    if (d == nd->tick_at)
        return;
    nd->tick_at = d;
    queue_push(sn, (struct sim_event){ .at_ms = d, .kind = EV_TICK, .id = (uint32_t)nd->index });
}

/* The frame's command, or P2P_CMD_UNKNOWN. */
static enum p2p_cmd frame_cmd(const uint8_t *buf, size_t len)
{
    if (len < P2P_HEADER_BYTES)
        return P2P_CMD_UNKNOWN;
    int c = p2p_cmd_parse(buf + 4);
    return c < 0 ? P2P_CMD_UNKNOWN : (enum p2p_cmd)c;
}

/* Size that counts for bandwidth and CPU. */
static uint64_t virtual_len(const struct simnet *sn, enum p2p_cmd cmd, size_t len)
{
    if (cmd == P2P_CMD_BLOCK && len < sn->block_bytes)
        return sn->block_bytes;
    return len;
}

static uint64_t cpu_cost_us(const struct simnet *sn, const uint8_t *buf, size_t len)
{
    if (!sn->cpu_on)
        return 0;
    enum p2p_cmd cmd = frame_cmd(buf, len);
    if (cmd == P2P_CMD_TX)
        return sn->cpu.tx_us;
    if (cmd == P2P_CMD_BLOCK)
        return sn->cpu.block_us
               + virtual_len(sn, cmd, len) * sn->cpu.block_ns_per_byte / 1000;
    return 0;
}

/* ---- io callbacks ---- */

static int io_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct sim_node *nd = ctx;
    struct simnet *sn = nd->sn;
    size_t c;
    int side;
    if (!find_conn(sn, nd->index, peer, &c, &side) || !sn->conns[c].open[side])
        return -1;
    struct sim_conn *cn = &sn->conns[c];
    int other = 1 - side;
    size_t to = cn->node[other];
    enum p2p_cmd cmd = P2P_CMD_UNKNOWN;
    if (sn->drop_mask || sn->any_behaviour || sn->block_bytes)
        cmd = frame_cmd(buf, len);
    uint32_t bit = 1u << cmd;
    if ((sn->drop_mask & bit) || (nd->behaviour == SIMNET_SILENT && !(SILENT_KEEP & bit))
        || (nd->behaviour == SIMNET_WITHHOLD && (WITHHOLD_DROP & bit))) {
        /* Never leaves the node, but its core sees its queue drain. */
        queue_push(sn, (struct sim_event){ .at_ms = sn->now, .kind = EV_ACK, .id = (uint32_t)c,
                                          .side = (uint8_t)side, .len = (uint32_t)len });
        return 0;
    }
    sn->frames++;
    sn->bytes += len;
    if (sn->obs.on_send)
        sn->obs.on_send(sn->obs.ctx, nd->index, to, buf, len);
    uint64_t sent_us = sn->now * 1000;
    if (sn->link_rate || nd->up_rate) {
        uint64_t vlen = virtual_len(sn, cmd, len);
        uint64_t start = sent_us, dur = 0;
        if (sn->link_rate) {
            if (cn->free_us[other] > start)
                start = cn->free_us[other];
            dur = vlen * 1000000 / sn->link_rate;
        }
        if (nd->up_rate) {
            if (nd->up_free_us > start)
                start = nd->up_free_us;
            uint64_t d = vlen * 1000000 / nd->up_rate;
            if (d > dur)
                dur = d;
        }
        sent_us = start + dur;
        if (sn->link_rate)
            cn->free_us[other] = sent_us;
        if (nd->up_rate)
            nd->up_free_us = sent_us;
    }
    if (!reachable(sn, nd->index, to) || lost(sn))
        return 0;
    uint64_t at = (sent_us + 999) / 1000 + delay(sn, nd->index, to);
    if (at < cn->last_at[other])
        at = cn->last_at[other];   /* a stream never reorders */
    cn->last_at[other] = at;
    struct sim_event ev = { .at_ms = at, .kind = EV_DELIVER, .id = (uint32_t)c,
                            .side = (uint8_t)other, .len = (uint32_t)len };
    ev.buf = malloc(len);
    assert(ev.buf);
    memcpy(ev.buf, buf, len);
    queue_push(sn, ev);
    return 0;
}

static void io_connect(void *ctx, const struct p2p_addr *addr)
{
    struct sim_node *nd = ctx;
    struct simnet *sn = nd->sn;
    size_t target = SIZE_MAX;
    uint8_t ip4[4] = { 0, 0, 0, 0 };
    if (p2p_addr_is_ipv4(addr))
        memcpy(ip4, addr->ip + 12, 4);
    size_t idx = (size_t)ip4[1] << 16 | (size_t)ip4[2] << 8 | ip4[3];
    if (ip4[0] == 10 && idx >= 1 && idx <= sn->n_nodes
        && addr->port == sn->cfg.params->p2p_port)
        target = idx - 1;
    if (target == SIZE_MAX || !reachable(sn, nd->index, target)) {
        struct sim_event ev = { .at_ms = sn->now + 2 * delay(sn, nd->index, target),
                                .kind = EV_CONNECT_FAILED, .id = (uint32_t)nd->index,
                                .len = sizeof(*addr) };
        ev.buf = malloc(sizeof(*addr));
        assert(ev.buf);
        memcpy(ev.buf, addr, sizeof(*addr));
        queue_push(sn, ev);
        return;
    }
    if (sn->n_conns == sn->cap_conns) {
        size_t cap = sn->cap_conns ? 2 * sn->cap_conns : 64;
        struct sim_conn *nc = realloc(sn->conns, cap * sizeof(*nc));
        assert(nc);
        sn->conns = nc;
        sn->cap_conns = cap;
    }
    struct sim_conn *cn = &sn->conns[sn->n_conns];
    memset(cn, 0, sizeof(*cn));
    cn->node[0] = nd->index;
    cn->node[1] = target;
    cn->peer[0] = new_peer_id(nd, sn->n_conns, 0);
    cn->peer[1] = new_peer_id(sn->nodes[target], sn->n_conns, 1);
    struct sim_event ev = { .at_ms = sn->now + delay(sn, nd->index, target),
                            .kind = EV_CONNECTED, .id = (uint32_t)sn->n_conns };
    sn->n_conns++;
    queue_push(sn, ev);
}

static void close_towards(struct simnet *sn, size_t c, int other)
{
    struct sim_conn *cn = &sn->conns[c];
    uint64_t at = sn->now + delay(sn, cn->node[1 - other], cn->node[other]);
    if (at < cn->last_at[other])
        at = cn->last_at[other];
    queue_push(sn, (struct sim_event){ .at_ms = at, .kind = EV_CLOSED, .id = (uint32_t)c,
                                      .side = (uint8_t)other });
}

static void io_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    struct sim_node *nd = ctx;
    struct simnet *sn = nd->sn;
    size_t c;
    int side;
    (void)reason;
    if (!find_conn(sn, nd->index, peer, &c, &side) || !sn->conns[c].open[side])
        return;
    sn->conns[c].open[side] = false;
    close_towards(sn, c, 1 - side);
}

/* ---- public ---- */

int simnet_create(struct simnet **out, const struct simnet_config *cfg)
{
    struct simnet *sn = calloc(1, sizeof(*sn));
    if (!sn)
        return P2P_ERR_NOMEM;
    sn->cfg = *cfg;
    if (!sn->cfg.params)
        sn->cfg.params = &chain_params_regtest;
    if (!sn->cfg.latency_ms)
        sn->cfg.latency_ms = 10;
    if (!sn->cfg.start_ms)
        sn->cfg.start_ms = sn->cfg.params->genesis_time_ms + 1000;
    sn->now = sn->cfg.start_ms;
    sn->cal = malloc(SIMNET_CAL_SLOTS * sizeof(*sn->cal));
    if (!sn->cal) {
        free(sn);
        return P2P_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < SIMNET_CAL_SLOTS; i++)
        sn->cal[i].head = sn->cal[i].tail = SIMNET_CAL_NONE;
    sn->pool_free = SIMNET_CAL_NONE;
    sn->cal_at = sn->now;
    p2p_rng_seed(&sn->rng, cfg->seed);
    *out = sn;
    return 0;
}

static void cpu_queue_clear(struct sim_node *nd)
{
    for (size_t i = 0; i < nd->q_n; i++)
        free(nd->q[(nd->q_head + i) % nd->q_cap].buf);
    nd->q_head = nd->q_n = 0;
    nd->cpu_at = UINT64_MAX;
}

void simnet_destroy(struct simnet *sn)
{
    if (!sn)
        return;
    for (size_t i = 0; i < sn->n_nodes; i++) {
        p2p_destroy(sn->nodes[i]->p2p);
        chain_close(sn->nodes[i]->chain);
        cpu_queue_clear(sn->nodes[i]);
        free(sn->nodes[i]->q);
        free(sn->nodes[i]->by_peer);
        free(sn->nodes[i]);
    }
    queue_free(sn);
    free(sn->nodes);
    free(sn->conns);
    free(sn->touched);
    free(sn);
}

void simnet_set_observer(struct simnet *sn, const struct simnet_observer *obs)
{
    sn->obs = *obs;
}

void simnet_node_addr(const struct simnet *sn, size_t node, struct p2p_addr *out)
{
    size_t idx = node + 1;   /* 10.0.0.1 is node 0; up to 2^24 - 1 nodes */
    uint8_t ip[4] = { 10, (uint8_t)(idx >> 16), (uint8_t)(idx >> 8), (uint8_t)idx };
    p2p_addr_from_ipv4(out, ip, sn->cfg.params->p2p_port);
}

static int start_core(struct simnet *sn, struct sim_node *nd)
{
    struct p2p_config pc = nd->tmpl;
    pc.chain = nd->chain;
    pc.io = &nd->io;
    pc.name = nd->name[0] ? nd->name : NULL;
    pc.seed = sn->cfg.seed * 1000003u + nd->index + 1 + 7919u * nd->restarts;
    pc.listen_port = sn->cfg.params->p2p_port;
    int err = p2p_create(&nd->p2p, &pc, sn->now);
    if (err) {
        nd->p2p = NULL;
        return err;
    }
    nd->tick_at = UINT64_MAX;
    schedule_tick(sn, nd);
    return 0;
}

int simnet_add_node(struct simnet *sn, const char *name, const struct p2p_config *tmpl)
{
    struct sim_node *nd = calloc(1, sizeof(*nd));
    struct sim_node **nn = realloc(sn->nodes, (sn->n_nodes + 1) * sizeof(*nn));
    if (!nd || !nn) {
        free(nd);
        if (nn)
            sn->nodes = nn;
        return P2P_ERR_NOMEM;
    }
    sn->nodes = nn;
    nd->sn = sn;
    nd->index = sn->n_nodes;
    nd->tick_at = UINT64_MAX;
    nd->cpu_at = UINT64_MAX;
    if (name)
        strncpy(nd->name, name, sizeof(nd->name) - 1);
    struct chain_config cc = { .params = sn->cfg.params };
    int err = chain_open(&nd->chain, &cc, sn->now);
    if (err) {
        free(nd);
        return err;
    }
    nd->io = (struct p2p_io){ .ctx = nd, .send = io_send, .connect = io_connect,
                              .disconnect = io_disconnect };
    if (tmpl) {
        nd->tmpl = *tmpl;
    } else {
        p2p_config_init(&nd->tmpl);
        nd->tmpl.outbound_target = 0;
    }
    if ((err = start_core(sn, nd)) != 0) {
        chain_close(nd->chain);
        free(nd);
        return err;
    }
    sn->nodes[sn->n_nodes++] = nd;
    return (int)nd->index;
}

size_t simnet_node_count(const struct simnet *sn)
{
    return sn->n_nodes;
}

struct p2p *simnet_p2p(struct simnet *sn, size_t node)
{
    return sn->nodes[node]->p2p;
}

struct chain *simnet_chain(struct simnet *sn, size_t node)
{
    return sn->nodes[node]->chain;
}

int simnet_connect(struct simnet *sn, size_t from, size_t to)
{
    struct p2p_addr a;
    simnet_node_addr(sn, to, &a);
    if (!sn->nodes[from]->p2p)
        return P2P_ERR_NOT_FOUND;
    int err = p2p_connect_addr(sn->nodes[from]->p2p, &a, sn->now);
    schedule_tick(sn, sn->nodes[from]);
    return err;
}

uint64_t simnet_now(const struct simnet *sn)
{
    return sn->now;
}

/* Hands a frame to the receiving core. */
static void hand_over(struct simnet *sn, struct sim_event *ev)
{
    struct sim_conn *cn = &sn->conns[ev->id];
    int side = ev->side;
    size_t to = cn->node[side];
    size_t from = cn->node[1 - side];
    if (!cn->open[side] || !sn->nodes[to]->p2p)
        return;
    if (sn->obs.on_deliver)
        sn->obs.on_deliver(sn->obs.ctx, from, to, ev->buf, ev->len);
    p2p_on_bytes(sn->nodes[to]->p2p, cn->peer[side], ev->buf, ev->len, sn->now);
    if (sn->obs.on_handled)
        sn->obs.on_handled(sn->obs.ctx, from, to, ev->buf, ev->len);
    schedule_tick(sn, sn->nodes[to]);
}

static void cpu_push(struct sim_node *nd, const struct sim_event *ev)
{
    if (nd->q_n == nd->q_cap) {
        size_t cap = nd->q_cap ? 2 * nd->q_cap : 8;
        struct sim_event *nq = malloc(cap * sizeof(*nq));
        assert(nq);
        for (size_t i = 0; i < nd->q_n; i++)
            nq[i] = nd->q[(nd->q_head + i) % nd->q_cap];
        free(nd->q);
        nd->q = nq;
        nd->q_head = 0;
        nd->q_cap = cap;
    }
    nd->q[(nd->q_head + nd->q_n++) % nd->q_cap] = *ev;
}

/* Starts validating the queue head (cost > 0): done at EV_CPU. */
static void cpu_start(struct simnet *sn, struct sim_node *nd, uint64_t cost_us)
{
    uint64_t start = sn->now * 1000;
    if (nd->busy_us > start)
        start = nd->busy_us;
    nd->busy_us = start + cost_us;
    nd->cpu_at = (nd->busy_us + 999) / 1000;
    queue_push(sn, (struct sim_event){ .at_ms = nd->cpu_at, .kind = EV_CPU,
                                      .id = (uint32_t)nd->index });
}

/* Hands over queued frames in order: free ones now, the first costly one
 * after its validation time. head_paid: the head's cost is spent. */
static void cpu_drain(struct simnet *sn, struct sim_node *nd, bool head_paid)
{
    while (nd->q_n) {
        struct sim_event *ev = &nd->q[nd->q_head];
        if (!head_paid) {
            uint64_t cost = cpu_cost_us(sn, ev->buf, ev->len);
            if (cost) {
                cpu_start(sn, nd, cost);
                return;
            }
        }
        struct sim_event e = *ev;
        nd->q_head = (nd->q_head + 1) % nd->q_cap;
        nd->q_n--;
        head_paid = false;
        hand_over(sn, &e);
        free(e.buf);
        if (!nd->p2p)
            return;   /* cannot happen today: a core does not crash itself */
    }
}

static void process(struct simnet *sn, struct sim_event *ev)
{
    switch ((enum ev_kind)ev->kind) {
    case EV_DELIVER: {
        struct sim_conn *cn = &sn->conns[ev->id];
        int side = ev->side;
        size_t to = cn->node[side];
        size_t from = cn->node[1 - side];
        if (!cn->open[side] || !sn->nodes[to]->p2p)
            break;
        struct sim_node *nd = sn->nodes[to], *snd = sn->nodes[from];
        bool ack = cn->open[1 - side] && snd->p2p;
        if (sn->cpu_on && (nd->q_n || cpu_cost_us(sn, ev->buf, ev->len))) {
            /* The sender's bytes have left its queue; the frame waits
             * for the receiver's CPU. */
            if (ack) {
                p2p_on_sent(snd->p2p, cn->peer[1 - side], ev->len, sn->now);
                schedule_tick(sn, snd);
            }
            cpu_push(nd, ev);
            ev->buf = NULL;   /* owned by the queue */
            if (nd->q_n == 1)
                cpu_drain(sn, nd, false);
            break;
        }
        if (sn->obs.on_deliver)
            sn->obs.on_deliver(sn->obs.ctx, from, to, ev->buf, ev->len);
        if (ack)
            p2p_on_sent(snd->p2p, cn->peer[1 - side], ev->len, sn->now);
        p2p_on_bytes(nd->p2p, cn->peer[side], ev->buf, ev->len, sn->now);
        if (sn->obs.on_handled)
            sn->obs.on_handled(sn->obs.ctx, from, to, ev->buf, ev->len);
        schedule_tick(sn, nd);
        if (ack)
            schedule_tick(sn, snd);
        break;
    }
    case EV_CPU: {
        struct sim_node *nd = sn->nodes[ev->id];
        if (ev->at_ms != nd->cpu_at)
            break;   /* stale: the node crashed meanwhile */
        nd->cpu_at = UINT64_MAX;
        cpu_drain(sn, nd, true);
        break;
    }
    case EV_ACK: {
        struct sim_conn *cn = &sn->conns[ev->id];
        struct sim_node *nd = sn->nodes[cn->node[ev->side]];
        if (cn->open[ev->side] && nd->p2p) {
            p2p_on_sent(nd->p2p, cn->peer[ev->side], ev->len, sn->now);
            schedule_tick(sn, nd);
        }
        break;
    }
    case EV_CONNECTED: {
        struct sim_conn *cn = &sn->conns[ev->id];
        struct sim_node *dialer = sn->nodes[cn->node[0]], *listener = sn->nodes[cn->node[1]];
        struct p2p_addr dial_addr, listen_addr;
        simnet_node_addr(sn, cn->node[1], &listen_addr);
        simnet_node_addr(sn, cn->node[0], &dial_addr);
        dial_addr.port = (uint16_t)(40000 + ev->id % 20000);   /* ephemeral */
        if (!dialer->p2p)
            break;   /* crashed while dialling */
        if (!reachable(sn, cn->node[0], cn->node[1]) || !listener->p2p) {
            p2p_on_connect_failed(dialer->p2p, &listen_addr, sn->now);
            schedule_tick(sn, dialer);
            break;
        }
        cn->open[0] = cn->open[1] = true;
        p2p_on_connected(listener->p2p, cn->peer[1], &dial_addr, true, sn->now);
        if (cn->open[0])
            p2p_on_connected(dialer->p2p, cn->peer[0], &listen_addr, false, sn->now);
        schedule_tick(sn, dialer);
        schedule_tick(sn, listener);
        break;
    }
    case EV_CONNECT_FAILED: {
        struct sim_node *nd = sn->nodes[ev->id];
        if (nd->p2p) {
            p2p_on_connect_failed(nd->p2p, (const struct p2p_addr *)ev->buf, sn->now);
            schedule_tick(sn, nd);
        }
        break;
    }
    case EV_TICK: {
        struct sim_node *nd = sn->nodes[ev->id];
        if (ev->at_ms != nd->tick_at || !nd->p2p)
            break;   /* stale: the deadline moved */
        nd->tick_at = UINT64_MAX;
        p2p_on_tick(nd->p2p, sn->now);
        uint64_t d = p2p_next_deadline(nd->p2p);
        if (d <= sn->now)
            d = sn->now + 1;   /* progress: never tick twice at one instant */
        nd->tick_at = d;
        queue_push(sn, (struct sim_event){ .at_ms = d, .kind = EV_TICK, .id = ev->id });
        break;
    }
    case EV_CLOSED: {
        struct sim_conn *cn = &sn->conns[ev->id];
        if (!cn->open[ev->side])
            break;
        cn->open[ev->side] = false;
        struct sim_node *nd = sn->nodes[cn->node[ev->side]];
        if (nd->p2p) {
            p2p_on_disconnected(nd->p2p, cn->peer[ev->side], "closed", sn->now);
            schedule_tick(sn, nd);
        }
        break;
    }
    }
    free(ev->buf);
}

void simnet_touch(struct simnet *sn, size_t node)
{
    struct sim_node *nd = sn->nodes[node];
    if (nd->touched)
        return;
    if (sn->n_touched == sn->cap_touched) {
        size_t cap = sn->cap_touched ? 2 * sn->cap_touched : 64;
        size_t *nt = realloc(sn->touched, cap * sizeof(*nt));
        assert(nt);
        sn->touched = nt;
        sn->cap_touched = cap;
    }
    nd->touched = true;
    sn->touched[sn->n_touched++] = node;
}

void simnet_set_touch_only(struct simnet *sn, bool on)
{
    sn->touch_only = on;
}

void simnet_stop(struct simnet *sn)
{
    sn->stop = true;
}

void simnet_run_until(struct simnet *sn, uint64_t until_ms)
{
    /* The caller may have called into the cores (submissions): their
     * deadlines may have moved. */
    if (!sn->touch_only)
        for (size_t i = 0; i < sn->n_nodes; i++)
            schedule_tick(sn, sn->nodes[i]);
    for (size_t i = 0; i < sn->n_touched; i++) {
        sn->nodes[sn->touched[i]]->touched = false;
        schedule_tick(sn, sn->nodes[sn->touched[i]]);
    }
    sn->n_touched = 0;
    sn->stop = false;
    struct sim_event ev;
    while (queue_pop(sn, until_ms, &ev)) {
        if (ev.at_ms > sn->now)
            sn->now = ev.at_ms;
        process(sn, &ev);
        if (sn->stop)
            return;
    }
    if (until_ms > sn->now)
        sn->now = until_ms;
}

void simnet_run_for(struct simnet *sn, uint64_t ms)
{
    simnet_run_until(sn, sn->now + ms);
}

void simnet_set_loss(struct simnet *sn, uint32_t loss_ppm)
{
    sn->cfg.loss_ppm = loss_ppm;
}

void simnet_set_latency(struct simnet *sn, uint64_t latency_ms, uint64_t jitter_ms)
{
    sn->cfg.latency_ms = latency_ms;
    sn->cfg.jitter_ms = jitter_ms;
}

void simnet_set_group(struct simnet *sn, size_t node, int group)
{
    sn->nodes[node]->group = group;
}

void simnet_heal(struct simnet *sn)
{
    for (size_t i = 0; i < sn->n_nodes; i++)
        sn->nodes[i]->group = 0;
}

void simnet_set_link_rate(struct simnet *sn, uint64_t bytes_per_s)
{
    sn->link_rate = bytes_per_s;
}

void simnet_set_uplink(struct simnet *sn, size_t node, uint64_t bytes_per_s)
{
    sn->nodes[node]->up_rate = bytes_per_s;
}

int simnet_set_regions(struct simnet *sn, unsigned n, const uint32_t *oneway_ms)
{
    if (n > SIMNET_MAX_REGIONS)
        return P2P_ERR_INVALID_ARG;
    sn->n_regions = n;
    if (n)
        memcpy(sn->region_ms, oneway_ms, (size_t)n * n * sizeof(*oneway_ms));
    for (size_t i = 0; i < sn->n_nodes; i++)
        if (sn->nodes[i]->region >= n)
            sn->nodes[i]->region = 0;
    return 0;
}

void simnet_set_region(struct simnet *sn, size_t node, unsigned region)
{
    sn->nodes[node]->region = region < sn->n_regions ? region : 0;
}

void simnet_set_cpu(struct simnet *sn, const struct simnet_cpu *cpu)
{
    sn->cpu = *cpu;
    sn->cpu_on = cpu->tx_us || cpu->block_us || cpu->block_ns_per_byte;
}

void simnet_set_block_bytes(struct simnet *sn, uint32_t bytes)
{
    sn->block_bytes = bytes;
}

void simnet_set_behaviour(struct simnet *sn, size_t node, enum simnet_behaviour b)
{
    sn->nodes[node]->behaviour = b;
    if (b != SIMNET_HONEST)
        sn->any_behaviour = true;
}

void simnet_set_drop_cmds(struct simnet *sn, uint32_t mask)
{
    sn->drop_mask = mask;
}

void simnet_crash(struct simnet *sn, size_t node)
{
    struct sim_node *nd = sn->nodes[node];
    if (!nd->p2p)
        return;
    for (uint64_t id = 1; id < nd->cap_by_peer && id <= nd->next_peer_id; id++) {
        if (nd->by_peer[id].side < 0)
            continue;
        size_t c = nd->by_peer[id].conn;
        int side = nd->by_peer[id].side;
        struct sim_conn *cn = &sn->conns[c];
        if (cn->open[side]) {
            cn->open[side] = false;
            close_towards(sn, c, 1 - side);
        }
        nd->by_peer[id].side = -1;
    }
    p2p_destroy(nd->p2p);
    nd->p2p = NULL;
    cpu_queue_clear(nd);
    nd->busy_us = 0;
    nd->tick_at = UINT64_MAX;
}

int simnet_restart(struct simnet *sn, size_t node)
{
    struct sim_node *nd = sn->nodes[node];
    if (nd->p2p)
        return 0;
    nd->restarts++;
    return start_core(sn, nd);
}

bool simnet_is_up(const struct simnet *sn, size_t node)
{
    return sn->nodes[node]->p2p != NULL;
}

uint64_t simnet_frames(const struct simnet *sn)
{
    return sn->frames;
}

uint64_t simnet_bytes(const struct simnet *sn)
{
    return sn->bytes;
}

size_t simnet_events_peak(const struct simnet *sn)
{
    return sn->peak_events;
}
