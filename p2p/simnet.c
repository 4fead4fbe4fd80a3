#include "p2p/simnet.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/util.h"

enum ev_kind { EV_DELIVER, EV_CONNECTED, EV_CONNECT_FAILED, EV_CLOSED, EV_TICK };

struct sim_event {
    uint64_t at_ms;
    uint64_t seq;               /* ties broken by creation order */
    enum ev_kind kind;
    size_t conn;
    int side;                   /* receiving end: 0 = dialer, 1 = listener */
    size_t node;                /* CONNECT_FAILED, TICK */
    struct p2p_addr addr;       /* CONNECT_FAILED */
    uint8_t *buf;
    size_t len;
};

struct sim_conn {
    size_t node[2];             /* dialer, listener */
    uint64_t peer[2];           /* peer id at each end */
    bool open[2];
    uint64_t last_at[2];        /* last scheduled delivery to each end: keeps order */
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
    struct p2p *p2p;
    struct p2p_io io;
    uint64_t next_peer_id;
    struct peer_slot *by_peer;  /* [peer id] */
    size_t cap_by_peer;
    uint64_t tick_at;           /* time of the live EV_TICK, UINT64_MAX: none */
    int group;
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
    struct sim_event *heap;
    size_t n_heap, cap_heap;
    uint64_t frames, bytes;
};

/* ---- event heap ---- */

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
    ev.seq = sn->seq++;
    size_t i = sn->n_heap++;
    sn->heap[i] = ev;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_less(&sn->heap[i], &sn->heap[parent]))
            break;
        struct sim_event t = sn->heap[i];
        sn->heap[i] = sn->heap[parent];
        sn->heap[parent] = t;
        i = parent;
    }
}

static struct sim_event heap_pop(struct simnet *sn)
{
    struct sim_event top = sn->heap[0];
    sn->heap[0] = sn->heap[--sn->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < sn->n_heap && ev_less(&sn->heap[l], &sn->heap[m]))
            m = l;
        if (r < sn->n_heap && ev_less(&sn->heap[r], &sn->heap[m]))
            m = r;
        if (m == i)
            break;
        struct sim_event t = sn->heap[i];
        sn->heap[i] = sn->heap[m];
        sn->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- helpers ---- */

static uint64_t delay(struct simnet *sn)
{
    uint64_t d = sn->cfg.latency_ms;
    if (sn->cfg.jitter_ms)
        d += p2p_rng_below(&sn->rng, sn->cfg.jitter_ms + 1);
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
    uint64_t d = p2p_next_deadline(nd->p2p);
    if (d < sn->now)
        d = sn->now;
    if (d == nd->tick_at)
        return;
    nd->tick_at = d;
    heap_push(sn, (struct sim_event){ .at_ms = d, .kind = EV_TICK, .node = nd->index });
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
    sn->frames++;
    sn->bytes += len;
    if (sn->obs.on_send)
        sn->obs.on_send(sn->obs.ctx, nd->index, to, buf, len);
    if (!reachable(sn, nd->index, to) || lost(sn))
        return 0;
    uint64_t at = sn->now + delay(sn);
    if (at < cn->last_at[other])
        at = cn->last_at[other];   /* a stream never reorders */
    cn->last_at[other] = at;
    struct sim_event ev = { .at_ms = at, .kind = EV_DELIVER, .conn = c, .side = other };
    ev.buf = malloc(len);
    assert(ev.buf);
    memcpy(ev.buf, buf, len);
    ev.len = len;
    heap_push(sn, ev);
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
        struct sim_event ev = { .at_ms = sn->now + 2 * delay(sn), .kind = EV_CONNECT_FAILED,
                                .node = nd->index, .addr = *addr };
        heap_push(sn, ev);
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
    struct sim_event ev = { .at_ms = sn->now + delay(sn), .kind = EV_CONNECTED,
                            .conn = sn->n_conns };
    sn->n_conns++;
    heap_push(sn, ev);
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
    struct sim_conn *cn = &sn->conns[c];
    cn->open[side] = false;
    int other = 1 - side;
    uint64_t at = sn->now + delay(sn);
    if (at < cn->last_at[other])
        at = cn->last_at[other];
    heap_push(sn, (struct sim_event){ .at_ms = at, .kind = EV_CLOSED, .conn = c, .side = other });
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
    p2p_rng_seed(&sn->rng, cfg->seed);
    *out = sn;
    return 0;
}

void simnet_destroy(struct simnet *sn)
{
    if (!sn)
        return;
    for (size_t i = 0; i < sn->n_nodes; i++) {
        p2p_destroy(sn->nodes[i]->p2p);
        chain_close(sn->nodes[i]->chain);
        free(sn->nodes[i]->by_peer);
        free(sn->nodes[i]);
    }
    for (size_t i = 0; i < sn->n_heap; i++)
        free(sn->heap[i].buf);
    free(sn->heap);
    free(sn->nodes);
    free(sn->conns);
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
    struct chain_config cc = { .params = sn->cfg.params };
    int err = chain_open(&nd->chain, &cc, sn->now);
    if (err) {
        free(nd);
        return err;
    }
    nd->io = (struct p2p_io){ .ctx = nd, .send = io_send, .connect = io_connect,
                              .disconnect = io_disconnect };
    struct p2p_config pc;
    if (tmpl) {
        pc = *tmpl;
    } else {
        p2p_config_init(&pc);
        pc.outbound_target = 0;
    }
    pc.chain = nd->chain;
    pc.io = &nd->io;
    pc.name = name;
    pc.seed = sn->cfg.seed * 1000003u + nd->index + 1;
    pc.listen_port = sn->cfg.params->p2p_port;
    err = p2p_create(&nd->p2p, &pc, sn->now);
    if (err) {
        chain_close(nd->chain);
        free(nd);
        return err;
    }
    sn->nodes[sn->n_nodes++] = nd;
    schedule_tick(sn, nd);
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
    int err = p2p_connect_addr(sn->nodes[from]->p2p, &a, sn->now);
    schedule_tick(sn, sn->nodes[from]);
    return err;
}

uint64_t simnet_now(const struct simnet *sn)
{
    return sn->now;
}

static void process(struct simnet *sn, struct sim_event *ev)
{
    switch (ev->kind) {
    case EV_DELIVER: {
        struct sim_conn *cn = &sn->conns[ev->conn];
        int side = ev->side;
        size_t to = cn->node[side];
        size_t from = cn->node[1 - side];
        if (!cn->open[side])
            break;
        if (sn->obs.on_deliver)
            sn->obs.on_deliver(sn->obs.ctx, from, to, ev->buf, ev->len);
        /* The sender's bytes have left its queue. */
        if (cn->open[1 - side])
            p2p_on_sent(sn->nodes[from]->p2p, cn->peer[1 - side], ev->len, sn->now);
        p2p_on_bytes(sn->nodes[to]->p2p, cn->peer[side], ev->buf, ev->len, sn->now);
        schedule_tick(sn, sn->nodes[to]);
        schedule_tick(sn, sn->nodes[from]);
        break;
    }
    case EV_CONNECTED: {
        struct sim_conn *cn = &sn->conns[ev->conn];
        struct p2p_addr dial_addr, listen_addr;
        simnet_node_addr(sn, cn->node[1], &listen_addr);
        simnet_node_addr(sn, cn->node[0], &dial_addr);
        dial_addr.port = (uint16_t)(40000 + ev->conn % 20000);   /* ephemeral */
        if (!reachable(sn, cn->node[0], cn->node[1])) {
            p2p_on_connect_failed(sn->nodes[cn->node[0]]->p2p, &listen_addr, sn->now);
            schedule_tick(sn, sn->nodes[cn->node[0]]);
            break;
        }
        cn->open[0] = cn->open[1] = true;
        p2p_on_connected(sn->nodes[cn->node[1]]->p2p, cn->peer[1], &dial_addr, true, sn->now);
        if (cn->open[0])
            p2p_on_connected(sn->nodes[cn->node[0]]->p2p, cn->peer[0], &listen_addr, false,
                             sn->now);
        schedule_tick(sn, sn->nodes[cn->node[0]]);
        schedule_tick(sn, sn->nodes[cn->node[1]]);
        break;
    }
    case EV_CONNECT_FAILED:
        p2p_on_connect_failed(sn->nodes[ev->node]->p2p, &ev->addr, sn->now);
        schedule_tick(sn, sn->nodes[ev->node]);
        break;
    case EV_TICK: {
        struct sim_node *nd = sn->nodes[ev->node];
        if (ev->at_ms != nd->tick_at)
            break;   /* stale: the deadline moved */
        nd->tick_at = UINT64_MAX;
        p2p_on_tick(nd->p2p, sn->now);
        uint64_t d = p2p_next_deadline(nd->p2p);
        if (d <= sn->now)
            d = sn->now + 1;   /* progress: never tick twice at one instant */
        nd->tick_at = d;
        heap_push(sn, (struct sim_event){ .at_ms = d, .kind = EV_TICK, .node = nd->index });
        break;
    }
    case EV_CLOSED: {
        struct sim_conn *cn = &sn->conns[ev->conn];
        if (!cn->open[ev->side])
            break;
        cn->open[ev->side] = false;
        size_t to = cn->node[ev->side];
        p2p_on_disconnected(sn->nodes[to]->p2p, cn->peer[ev->side], "closed", sn->now);
        schedule_tick(sn, sn->nodes[to]);
        break;
    }
    }
    free(ev->buf);
}

void simnet_run_until(struct simnet *sn, uint64_t until_ms)
{
    /* The caller may have called into the cores (submissions): their
     * deadlines may have moved. */
    for (size_t i = 0; i < sn->n_nodes; i++)
        schedule_tick(sn, sn->nodes[i]);
    while (sn->n_heap && sn->heap[0].at_ms <= until_ms) {
        struct sim_event ev = heap_pop(sn);
        if (ev.at_ms > sn->now)
            sn->now = ev.at_ms;
        process(sn, &ev);
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

uint64_t simnet_frames(const struct simnet *sn)
{
    return sn->frames;
}

uint64_t simnet_bytes(const struct simnet *sn)
{
    return sn->bytes;
}
