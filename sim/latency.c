#include "sim/latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/geo.h"
#include "sim/graph.h"
#include "sim/model.h"
#include "sim/rng.h"

#define NEVER UINT64_MAX

static const char *const relay_names[SIM_RELAY_COUNT] = { "flood", "pull", "tree" };

const char *sim_relay_name(enum sim_relay r)
{
    return (unsigned)r < SIM_RELAY_COUNT ? relay_names[r] : "?";
}

int sim_relay_parse(const char *s)
{
    for (int i = 0; i < SIM_RELAY_COUNT; i++)
        if (strcmp(s, relay_names[i]) == 0)
            return i;
    return -1;
}

enum msg_kind { M_BODY, M_INV, M_GETDATA };

struct msg {
    uint64_t at;
    uint64_t seq;           /* ties: creation order */
    uint32_t to, from;
    uint32_t edge;
    enum msg_kind kind;
};

struct heap {
    struct msg *m;
    size_t n, cap;
    uint64_t seq;
};

static bool msg_less(const struct msg *a, const struct msg *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static int heap_push(struct heap *h, struct msg m)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        struct msg *nm = realloc(h->m, cap * sizeof(*nm));
        if (!nm)
            return -1;
        h->m = nm;
        h->cap = cap;
    }
    m.seq = h->seq++;
    size_t i = h->n++;
    h->m[i] = m;
    while (i > 0 && msg_less(&h->m[i], &h->m[(i - 1) / 2])) {
        struct msg t = h->m[i];
        h->m[i] = h->m[(i - 1) / 2];
        h->m[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static struct msg heap_pop(struct heap *h)
{
    struct msg top = h->m[0];
    h->m[0] = h->m[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < h->n && msg_less(&h->m[l], &h->m[s]))
            s = l;
        if (r < h->n && msg_less(&h->m[r], &h->m[s]))
            s = r;
        if (s == i)
            break;
        struct msg t = h->m[i];
        h->m[i] = h->m[s];
        h->m[s] = t;
        i = s;
    }
    return top;
}

struct run_state {
    const struct sim_latency_config *cfg;
    const struct sim_graph *g;
    struct sim_rng *rng;
    uint64_t *link_ms;      /* per edge (fixed latency) */
    uint64_t *last_at;      /* per edge direction: keeps a stream in order */
    uint64_t *have_ms;      /* body since */
    uint32_t *src;          /* who the body came from */
    uint32_t *hops;
    bool *asked;            /* getdata in flight (pull) */
    uint64_t *up_bps;       /* per node, 0: unlimited */
    uint64_t *up_free_us;   /* the uplink is busy until */
    uint8_t *region;
    uint64_t bodies, invs;
    struct heap h;
};

static uint64_t draw(const struct sim_latency_config *cfg, struct sim_rng *rng)
{
    return cfg->latency_ms + (cfg->jitter_ms ? sim_rng_below(rng, cfg->jitter_ms + 1) : 0);
}

static int send_msg(struct run_state *s, uint64_t now, uint32_t from, uint32_t to, uint32_t edge,
                    enum msg_kind kind)
{
    uint64_t at;
    if (kind == M_BODY && s->up_bps[from]) {
        /* The body queues on the sender's uplink, then takes the latency. */
        uint64_t start = now * 1000;
        if (s->up_free_us[from] > start)
            start = s->up_free_us[from];
        s->up_free_us[from] = start + (uint64_t)s->cfg->body_bytes * 1000000 / s->up_bps[from];
        now = (s->up_free_us[from] + 999) / 1000;
    }
    if (s->cfg->per_message) {
        /* As simnet: a fresh delay per frame, never overtaking the
         * previous frame of the same direction. */
        size_t dir = 2 * (size_t)edge + (s->g->edges[edge].a == from);
        at = now + draw(s->cfg, s->rng);
        if (at < s->last_at[dir])
            at = s->last_at[dir];
        s->last_at[dir] = at;
    } else {
        at = now + s->link_ms[edge];
    }
    return heap_push(&s->h, (struct msg){ .at = at, .to = to, .from = from, .edge = edge,
                                          .kind = kind });
}

/* The node got the body at `now`: pass it on (flood) or announce it. */
static int got_body(struct run_state *s, uint32_t u, uint64_t now)
{
    const struct sim_graph *g = s->g;
    bool flood = s->cfg->relay != SIM_RELAY_PULL;
    uint64_t at = flood ? now : now + s->cfg->batch_ms;
    for (size_t i = g->off[u]; i < g->off[u + 1]; i++) {
        uint32_t v = g->adj[i];
        if (v == s->src[u])
            continue;
        if (send_msg(s, at, u, v, g->adj_edge[i], flood ? M_BODY : M_INV) != 0)
            return -1;
    }
    return 0;
}

static int one_run(struct run_state *s, uint64_t *sorted)
{
    const struct sim_graph *g = s->g;
    size_t n = g->n;
    const struct sim_latency_config *cfg = s->cfg;
    if (cfg->geo)
        for (size_t u = 0; u < n; u++)
            s->region[u] = (uint8_t)sim_geo_draw(s->rng);
    for (size_t u = 0; u < n; u++) {
        s->up_bps[u] = 0;
        s->up_free_us[u] = 0;
        if (cfg->uplink_bps && cfg->body_bytes) {
            double lo = log((double)cfg->uplink_bps);
            double hi = cfg->uplink_max_bps > cfg->uplink_bps ? log((double)cfg->uplink_max_bps)
                                                              : lo;
            s->up_bps[u] = (uint64_t)exp(lo + sim_rng_unit(s->rng) * (hi - lo));
        }
    }
    for (size_t e = 0; e < g->n_edges; e++) {
        if (cfg->geo)
            s->link_ms[e] = sim_geo_oneway_ms[s->region[g->edges[e].a] * SIM_GEO_REGIONS
                                              + s->region[g->edges[e].b]]
                            + sim_rng_below(s->rng, SIM_GEO_JITTER_MS + 1);
        else
            s->link_ms[e] = draw(s->cfg, s->rng);
    }
    for (size_t i = 0; i < 2 * g->n_edges; i++)
        s->last_at[i] = 0;
    for (size_t u = 0; u < n; u++) {
        s->have_ms[u] = NEVER;
        s->src[u] = UINT32_MAX;
        s->hops[u] = 0;
        s->asked[u] = false;
    }
    s->bodies = s->invs = 0;
    s->h.n = 0;
    uint32_t origin = (uint32_t)sim_rng_below(s->rng, n);
    s->have_ms[origin] = 0;
    if (got_body(s, origin, 0) != 0)
        return -1;
    while (s->h.n > 0) {
        struct msg m = heap_pop(&s->h);
        switch (m.kind) {
        case M_BODY:
            s->bodies++;
            if (s->have_ms[m.to] != NEVER)
                break;
            /* Has it (and passes it on) once it is validated. */
            s->have_ms[m.to] = m.at + cfg->verify_ms;
            s->src[m.to] = m.from;
            s->hops[m.to] = s->hops[m.from] + 1;
            if (got_body(s, m.to, m.at + cfg->verify_ms) != 0)
                return -1;
            break;
        case M_INV:
            s->invs++;
            if (s->have_ms[m.to] != NEVER || s->asked[m.to])
                break;
            s->asked[m.to] = true;
            if (send_msg(s, m.at, m.to, m.from, m.edge, M_GETDATA) != 0)
                return -1;
            break;
        case M_GETDATA:
            if (send_msg(s, m.at, m.to, m.from, m.edge, M_BODY) != 0)
                return -1;
            break;
        }
    }
    memcpy(sorted, s->have_ms, n * sizeof(*sorted));
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *sorted, size_t n, unsigned p)
{
    size_t need = (n * p + 99) / 100;
    return sorted[need ? need - 1 : 0];
}

int sim_latency_run(const struct sim_latency_config *cfg, struct sim_latency_summary *out)
{
    memset(out, 0, sizeof(*out));
    if (cfg->nodes < 2 || cfg->runs < 1 || cfg->runs > SIM_MODEL_MAX_RUNS || cfg->degree < 1
        || (unsigned)cfg->relay >= SIM_RELAY_COUNT)
        return -1;
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed);
    size_t n = cfg->nodes;
    int err = -1;
    struct run_state s = { .cfg = cfg, .rng = &rng };
    s.have_ms = malloc(n * sizeof(*s.have_ms));
    s.src = malloc(n * sizeof(*s.src));
    s.hops = malloc(n * sizeof(*s.hops));
    s.asked = malloc(n * sizeof(*s.asked));
    s.up_bps = malloc(n * sizeof(*s.up_bps));
    s.up_free_us = malloc(n * sizeof(*s.up_free_us));
    s.region = malloc(n * sizeof(*s.region));
    uint64_t *sorted = malloc(n * sizeof(*sorted));
    if (!s.have_ms || !s.src || !s.hops || !s.asked || !s.up_bps || !s.up_free_us || !s.region
        || !sorted)
        goto out;
    for (unsigned r = 0; r < cfg->runs; r++) {
        struct sim_graph g;
        if (sim_graph_random(&g, n, cfg->degree, &rng) != 0)
            goto out;
        s.g = &g;
        free(s.link_ms);
        free(s.last_at);
        s.link_ms = malloc(g.n_edges * sizeof(*s.link_ms));
        s.last_at = malloc(2 * g.n_edges * sizeof(*s.last_at));
        int e = (!s.link_ms || !s.last_at) ? -1 : one_run(&s, sorted);
        if (e == 0) {
            uint64_t hops = 0;
            for (size_t u = 0; u < n; u++)
                hops += s.hops[u];
            out->hops_mean += (double)hops / (double)(n - 1);
            if (cfg->relay == SIM_RELAY_TREE) {
                /* Bodies only along the tree; invs on every other link
                 * direction a flood would have used. */
                out->invs_per_node += (double)(s.bodies - (n - 1)) / (double)n;
                out->bodies_per_node += 1.0;
            } else {
                out->invs_per_node += (double)s.invs / (double)n;
                out->bodies_per_node += (double)s.bodies / (double)(n - 1);
            }
            qsort(sorted, n, sizeof(*sorted), cmp_u64);
            out->t50_ms += (double)pct(sorted, n, 50);
            out->t90_ms += (double)pct(sorted, n, 90);
            out->t99_ms += (double)pct(sorted, n, 99);
            out->t95_ms += (double)pct(sorted, n, 95);
            double sum = 0;
            for (size_t u = 0; u < n; u++)
                sum += (double)sorted[u];
            out->mean_ms += sum / (double)n;
            out->t100_ms += (double)sorted[n - 1];
        }
        sim_graph_free(&g);
        s.g = NULL;
        if (e != 0)
            goto out;
    }
    double k = cfg->runs;
    out->runs = cfg->runs;
    out->t50_ms /= k;
    out->t90_ms /= k;
    out->t99_ms /= k;
    out->t95_ms /= k;
    out->mean_ms /= k;
    out->t100_ms /= k;
    out->bodies_per_node /= k;
    out->invs_per_node /= k;
    out->hops_mean /= k;
    err = 0;
out:
    free(s.have_ms);
    free(s.src);
    free(s.hops);
    free(s.asked);
    free(s.up_bps);
    free(s.up_free_us);
    free(s.region);
    free(s.link_ms);
    free(s.last_at);
    free(s.h.m);
    free(sorted);
    return err;
}
