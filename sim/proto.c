#include "sim/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/params.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "p2p/msg.h"
#include "p2p/simnet.h"
#include "p2p/wire.h"
#include "sim/graph.h"
#include "sim/rng.h"

#define NO_PEER UINT32_MAX
/* Amount each tx sender is funded with, and each tx sends. */
#define SIM_FUND_AMOUNT (10 * COIN)
#define SIM_TX_AMOUNT COIN

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

/* What the observer knows about the item being measured. One item at a
 * time: the run waits for each to settle before the next. */
struct tracker {
    struct simnet *sn;
    uint32_t magic;
    size_t n;
    bool active;
    uint8_t hash[32];
    uint64_t t0;
    uint64_t *first_ms;     /* since t0; SIM_NEVER: not yet */
    uint32_t *from;         /* node that sent the first body; NO_PEER: none */
    uint32_t *hops;
    uint32_t *bodies;
    uint32_t *invs;
    size_t reached;
    uint64_t last_first_ms;
    unsigned violations;
    uint64_t bytes, relay_bytes;
};

static bool relay_cmd(enum p2p_cmd c)
{
    return c == P2P_CMD_INV || c == P2P_CMD_GETDATA || c == P2P_CMD_NOTFOUND
           || c == P2P_CMD_TX || c == P2P_CMD_BLOCK || c == P2P_CMD_HEADERS;
}

/* How many times the frame names the tracked item as an announcement (inv
 * entry, header) and whether it carries its body. */
static unsigned frame_mentions(const struct tracker *t, const uint8_t *f, size_t len,
                               bool *body, enum p2p_cmd *cmd)
{
    struct p2p_frame_hdr h;
    *body = false;
    *cmd = P2P_CMD_UNKNOWN;
    if (len < P2P_HEADER_BYTES || p2p_frame_parse(f, t->magic, &h) != 0
        || len - P2P_HEADER_BYTES < h.len)
        return 0;
    *cmd = h.cmd;
    if (!t->active)
        return 0;
    const uint8_t *pl = f + P2P_HEADER_BYTES;
    uint8_t hash[32];
    unsigned n = 0;
    struct p2p_list l;
    switch (h.cmd) {
    case P2P_CMD_INV:
        if (p2p_dec_inv(pl, h.len, &l) != 0)
            return 0;
        for (size_t i = 0; i < l.n; i++) {
            uint32_t type;
            const uint8_t *hp;
            p2p_inv_at(&l, i, &type, &hp);
            n += memcmp(hp, t->hash, 32) == 0;
        }
        return n;
    case P2P_CMD_HEADERS:
        if (p2p_dec_headers(pl, h.len, &l) != 0)
            return 0;
        for (size_t i = 0; i < l.n; i++) {
            struct chain_header hd;
            p2p_header_at(&l, i, &hd);
            chain_header_hash(&hd, hash);
            n += memcmp(hash, t->hash, 32) == 0;
        }
        return n;
    case P2P_CMD_TX:
        /* txid = SHA256d of the whole serialization, which is the payload. */
        hash_sha256d(hash, pl, h.len);
        *body = memcmp(hash, t->hash, 32) == 0;
        return *body;
    case P2P_CMD_BLOCK:
        if (h.len < HEADER_SIZE)
            return 0;
        hash_sha256d(hash, pl, HEADER_SIZE);
        *body = memcmp(hash, t->hash, 32) == 0;
        return *body;
    default:
        return 0;
    }
}

static void on_send(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct tracker *t = ctx;
    bool body;
    enum p2p_cmd cmd;
    unsigned n = frame_mentions(t, f, len, &body, &cmd);
    t->bytes += len;
    if (relay_cmd(cmd))
        t->relay_bytes += len;
    /* Never announce or send an item back to the peer it came from. */
    if (n > 0 && t->from[from] == to)
        t->violations++;
}

static void on_deliver(void *ctx, size_t from, size_t to, const uint8_t *f, size_t len)
{
    struct tracker *t = ctx;
    bool body;
    enum p2p_cmd cmd;
    unsigned n = frame_mentions(t, f, len, &body, &cmd);
    if (n == 0)
        return;
    if (!body) {
        t->invs[to] += n;
        return;
    }
    t->bodies[to]++;
    if (t->first_ms[to] == SIM_NEVER) {
        uint64_t at = simnet_now(t->sn) - t->t0;
        t->first_ms[to] = at;
        t->from[to] = (uint32_t)from;
        t->hops[to] = t->hops[from] + 1;
        t->reached++;
        t->last_first_ms = at;
    }
}

static void tracker_begin(struct tracker *t, const uint8_t hash[32], size_t origin)
{
    for (size_t i = 0; i < t->n; i++) {
        t->first_ms[i] = SIM_NEVER;
        t->from[i] = NO_PEER;
        t->hops[i] = 0;
        t->bodies[i] = 0;
        t->invs[i] = 0;
    }
    memcpy(t->hash, hash, 32);
    t->t0 = simnet_now(t->sn);
    t->first_ms[origin] = 0;
    t->reached = 1;
    t->last_first_ms = 0;
    t->violations = 0;
    t->bytes = t->relay_bytes = 0;
    t->active = true;
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

static void tracker_end(struct tracker *t, struct sim_item_result *r, uint64_t *scratch)
{
    size_t n = t->n;
    t->active = false;
    memcpy(scratch, t->first_ms, n * sizeof(*scratch));
    qsort(scratch, n, sizeof(*scratch), cmp_u64);
    r->t50_ms = pct_time(scratch, n, 50);
    r->t90_ms = pct_time(scratch, n, 90);
    r->t99_ms = pct_time(scratch, n, 99);
    r->t100_ms = scratch[n - 1];
    r->reached = t->reached;
    uint64_t hops = 0, bodies = 0, invs = 0;
    size_t counted = 0;
    r->hops_max = 0;
    r->bodies_max = 0;
    for (size_t i = 0; i < n; i++) {
        bodies += t->bodies[i];
        invs += t->invs[i];
        if (t->bodies[i] > r->bodies_max)
            r->bodies_max = t->bodies[i];
        if (i != r->origin && t->first_ms[i] != SIM_NEVER) {
            hops += t->hops[i];
            counted++;
            if (t->hops[i] > r->hops_max)
                r->hops_max = t->hops[i];
        }
    }
    r->hops_mean = counted ? (double)hops / (double)counted : 0;
    r->bodies_per_node = (double)bodies / (double)(n - 1);
    r->invs_per_node = (double)invs / (double)n;
    r->bytes_per_node = (double)t->bytes / (double)n;
    r->relay_bytes_per_node = (double)t->relay_bytes / (double)n;
    r->violations = t->violations;
}

static uint64_t core_dup_bodies(struct simnet *sn)
{
    uint64_t n = 0;
    for (size_t i = 0; i < simnet_node_count(sn); i++) {
        struct p2p_stats st;
        p2p_get_stats(simnet_p2p(sn, i), &st);
        n += st.dup_tx_bodies + st.dup_block_bodies;
    }
    return n;
}

/* Runs the network until the item is everywhere, or quiet for
 * quiet_ms (0: no such stop), or timeout_ms; then settle_ms more so late
 * announcements are counted. */
static void run_item(struct simnet *sn, struct tracker *t, uint64_t timeout_ms,
                     uint64_t quiet_ms, uint64_t settle_ms)
{
    uint64_t end = t->t0 + timeout_ms;
    while (simnet_now(sn) < end && t->reached < t->n) {
        simnet_run_for(sn, SIM_PROTO_STEP_MS);
        if (quiet_ms && simnet_now(sn) - t->t0 >= t->last_first_ms + quiet_ms)
            break;
    }
    simnet_run_for(sn, settle_ms);
}

struct world {
    struct simnet *sn;
    struct sim_graph g;
    struct tracker t;
    uint64_t *scratch;
    uint8_t (*send_pk)[32];
    uint8_t (*send_sk)[64];
};

static void world_free(struct world *w)
{
    simnet_destroy(w->sn);
    sim_graph_free(&w->g);
    free(w->t.first_ms);
    free(w->t.from);
    free(w->t.hops);
    free(w->t.bodies);
    free(w->t.invs);
    free(w->scratch);
    free(w->send_pk);
    free(w->send_sk);
}

static void mine_block(struct chain_block *b)
{
    uint64_t start = 0;
    while (!chain_mine(&b->hdr, start, 1000))
        start += 1000;
}

/* Funds one account per tx with blocks handed to every chain directly:
 * the setup sends nothing over the network. */
static int fund_senders(struct world *w, unsigned txs, struct sim_rng *rng)
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
        tx.amount = SIM_FUND_AMOUNT;
        tx.fee = chain_params(c0)->min_fee;
        tx.nonce = chain_account_next_nonce(c0, dev_pk);
        chain_tx_sign(&tx, dev_sk);
        int r = chain_mempool_accept(c0, &tx, now);
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
            struct chain_result res;
            int r = chain_accept_block(simnet_chain(w->sn, i), &b, now, &res);
            if (r < 0 || res.status != CHAIN_ST_NEW_TIP) {
                fprintf(stderr, "sim: funding block refused by node %zu: %d\n", i, r);
                chain_block_free(&b);
                return -1;
            }
        }
        chain_block_free(&b);
    }
    return 0;
}

static int world_build(struct world *w, const struct sim_proto_config *cfg, bool recon_off)
{
    memset(w, 0, sizeof(*w));
    size_t n = cfg->nodes;
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed);
    if (sim_graph_random(&w->g, n, cfg->degree, &rng) != 0)
        return -1;
    struct simnet_config sc = {
        .seed = cfg->seed,
        .latency_ms = cfg->latency_ms ? cfg->latency_ms : SIM_PROTO_LATENCY_MS_DEFAULT,
        .jitter_ms = cfg->latency_ms ? cfg->jitter_ms : SIM_PROTO_JITTER_MS_DEFAULT,
    };
    w->t.first_ms = malloc(n * sizeof(*w->t.first_ms));
    w->t.from = malloc(n * sizeof(*w->t.from));
    w->t.hops = malloc(n * sizeof(*w->t.hops));
    w->t.bodies = malloc(n * sizeof(*w->t.bodies));
    w->t.invs = malloc(n * sizeof(*w->t.invs));
    w->scratch = malloc(n * sizeof(*w->scratch));
    w->send_pk = malloc((cfg->txs ? cfg->txs : 1) * sizeof(*w->send_pk));
    w->send_sk = malloc((cfg->txs ? cfg->txs : 1) * sizeof(*w->send_sk));
    if (!w->t.first_ms || !w->t.from || !w->t.hops || !w->t.bodies || !w->t.invs
        || !w->scratch || !w->send_pk || !w->send_sk || simnet_create(&w->sn, &sc) != 0)
        return -1;
    w->t.sn = w->sn;
    w->t.n = n;
    w->t.magic = chain_params_regtest.magic;
    struct p2p_config tmpl;
    p2p_config_init(&tmpl);
    tmpl.outbound_target = 0;          /* the graph is the topology */
    tmpl.fanout = cfg->fanout;
    tmpl.tx_batch_ms = cfg->batch_ms;
    tmpl.recon_interval_ms = recon_off ? SIM_PROTO_RECON_OFF_MS : cfg->recon_ms;
    for (size_t i = 0; i < n; i++) {
        char name[24];
        snprintf(name, sizeof(name), "n%zu", i);
        if (simnet_add_node(w->sn, name, &tmpl) != (int)i) {
            fprintf(stderr, "sim: cannot add node %zu (out of memory?)\n", i);
            return -1;
        }
    }
    if (fund_senders(w, cfg->txs, &rng) != 0)
        return -1;
    struct simnet_observer obs = { .ctx = &w->t, .on_send = on_send, .on_deliver = on_deliver };
    simnet_set_observer(w->sn, &obs);
    for (size_t i = 0; i < w->g.n_edges; i++)
        if (simnet_connect(w->sn, w->g.edges[i].a, w->g.edges[i].b) != 0)
            return -1;
    simnet_run_for(w->sn, SIM_PROTO_WARMUP_MS);
    simnet_set_loss(w->sn, cfg->loss_ppm);
    return 0;
}

static bool all_established(struct world *w)
{
    struct p2p_peer_info *info = malloc(P2P_MAX_PEERS * sizeof(*info));
    bool ok = info != NULL;
    for (size_t i = 0; ok && i < w->g.n; i++) {
        size_t m = p2p_get_peers(simnet_p2p(w->sn, i), info, P2P_MAX_PEERS);
        size_t est = 0;
        for (size_t j = 0; j < m; j++)
            est += info[j].established;
        ok = est == sim_graph_degree(&w->g, i);
    }
    free(info);
    return ok;
}

/* Submits and measures the items. The item rng is seeded apart from the
 * graph's so both runs (with and without anti-entropy) pick the same
 * origins and build the same txs. */
static int run_items(struct world *w, const struct sim_proto_config *cfg, bool residue_run,
                     struct sim_proto_result *res)
{
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed ^ 0x5eed17e5ull);
    size_t n = cfg->nodes;
    uint32_t batch = cfg->batch_ms ? cfg->batch_ms : P2P_TX_BATCH_MS_DEFAULT;
    uint64_t settle = 2ull * batch + 1000;
    uint64_t timeout = cfg->item_timeout_ms ? cfg->item_timeout_ms
                                            : SIM_PROTO_ITEM_TIMEOUT_MS_DEFAULT;
    unsigned total = cfg->txs + (residue_run ? 0 : cfg->blocks);
    for (unsigned i = 0; i < total; i++) {
        bool is_tx = i < cfg->txs;
        size_t origin = (size_t)sim_rng_below(&rng, n);
        uint8_t to[32];
        for (int j = 0; j < 4; j++) {
            uint64_t x = sim_rng_next(&rng);
            memcpy(to + 8 * j, &x, 8);
        }
        struct sim_item_result *r = &res->items[i];
        uint64_t dups_before = residue_run ? 0 : core_dup_bodies(w->sn);
        struct chain *c = simnet_chain(w->sn, origin);
        struct p2p *p = simnet_p2p(w->sn, origin);
        uint64_t now = simnet_now(w->sn);
        int st;
        if (is_tx) {
            struct chain_tx tx;
            uint8_t txid[32];
            memset(&tx, 0, sizeof(tx));
            tx.version = TX_VERSION;
            memcpy(tx.from, w->send_pk[i], 32);
            memcpy(tx.to, to, 32);
            tx.amount = SIM_TX_AMOUNT;
            tx.fee = chain_params(c)->min_fee;
            tx.nonce = chain_account_next_nonce(c, w->send_pk[i]);
            chain_tx_sign(&tx, w->send_sk[i]);
            chain_tx_txid(&tx, txid);
            tracker_begin(&w->t, txid, origin);
            st = p2p_submit_tx(p, &tx, now);
            if (st != CHAIN_TX_ACCEPTED) {
                fprintf(stderr, "sim: tx %u refused at node %zu: %s\n", i, origin,
                        p2p_strerror(st));
                return -1;
            }
        } else {
            struct chain_block b;
            uint8_t hash[32];
            if (chain_block_template(c, to, now, &b) != 0)
                return -1;
            mine_block(&b);
            chain_header_hash(&b.hdr, hash);
            tracker_begin(&w->t, hash, origin);
            st = p2p_submit_block(p, &b, now);
            chain_block_free(&b);
            if (st != CHAIN_ST_NEW_TIP) {
                fprintf(stderr, "sim: block %u refused at node %zu: %s\n", i, origin,
                        p2p_strerror(st));
                return -1;
            }
        }
        if (residue_run) {
            run_item(w->sn, &w->t, timeout, SIM_PROTO_QUIET_MS, settle);
            r->residue = 1.0 - (double)w->t.reached / (double)n;
            r->rumour_end_ms = w->t.last_first_ms;
            w->t.active = false;
        } else {
            r->kind = is_tx ? SIM_ITEM_TX : SIM_ITEM_BLOCK;
            r->origin = origin;
            run_item(w->sn, &w->t, timeout, 0, settle);
            tracker_end(&w->t, r, w->scratch);
            r->core_dup_bodies = core_dup_bodies(w->sn) - dups_before;
        }
    }
    if (!residue_run)
        res->n_items = total;
    return 0;
}

int sim_proto_run(const struct sim_proto_config *cfg, struct sim_proto_result *res)
{
    memset(res, 0, sizeof(*res));
    if (cfg->nodes < 2 || cfg->nodes > SIM_PROTO_MAX_NODES || cfg->degree < 1
        || cfg->degree >= cfg->nodes || cfg->degree > SIM_GRAPH_MAX_DEGREE
        || (size_t)cfg->txs + cfg->blocks > SIM_PROTO_MAX_ITEMS
        || cfg->loss_ppm > 1000000)
        return -1;
    struct world w;
    int err = -1;
    if (world_build(&w, cfg, false) != 0)
        goto out;
    res->nodes = cfg->nodes;
    res->edges = w.g.n_edges;
    res->established = all_established(&w);
    if (run_items(&w, cfg, false, res) != 0)
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
    memset(a, 0, sizeof(*a));
    for (unsigned i = 0; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        if (r->kind != kind)
            continue;
        a->items++;
        if (r->t100_ms != SIM_NEVER) {
            a->complete++;
            a->t50_ms += (double)r->t50_ms;
            a->t90_ms += (double)r->t90_ms;
            a->t99_ms += (double)r->t99_ms;
            a->t100_ms += (double)r->t100_ms;
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
        a->violations += r->violations;
        a->residue += r->residue;
        a->rumour_end_ms += (double)r->rumour_end_ms;
        a->reached_frac += (double)r->reached / (double)res->nodes;
    }
    if (a->complete) {
        a->t50_ms /= a->complete;
        a->t90_ms /= a->complete;
        a->t99_ms /= a->complete;
        a->t100_ms /= a->complete;
    }
    if (a->items) {
        double k = a->items;
        a->hops_mean /= k;
        a->bodies_per_node /= k;
        a->invs_per_node /= k;
        a->bytes_per_node /= k;
        a->relay_bytes_per_node /= k;
        a->residue /= k;
        a->rumour_end_ms /= k;
        a->reached_frac /= k;
    }
}
