#include "sim/graph.h"

#include <stdlib.h>
#include <string.h>

/* Open-addressing set of undirected edges (key: min << 32 | max), to
 * reject duplicates in O(1). */
struct edge_set {
    uint64_t *slots;        /* 0 = empty; keys are never 0 since min < max */
    size_t mask;
};

static uint64_t edge_key(uint32_t a, uint32_t b)
{
    return a < b ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
}

static size_t edge_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k;
}

/* Adds the key; false if it was already there. */
static bool edge_set_add(struct edge_set *s, uint64_t k)
{
    for (size_t i = edge_hash(k) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slots[i] == k)
            return false;
        if (s->slots[i] == 0) {
            s->slots[i] = k;
            return true;
        }
    }
}

int sim_graph_random(struct sim_graph *g, size_t n, unsigned degree, struct sim_rng *rng)
{
    memset(g, 0, sizeof(*g));
    if (n < 2 || n > SIM_GRAPH_MAX_NODES || degree > SIM_GRAPH_MAX_DEGREE || degree >= n)
        return -1;
    size_t want = n * degree / 2;
    size_t ring = n == 2 ? 1 : n;
    if (want < ring)
        want = ring;
    int err = -1;
    struct edge_set set = { 0 };
    uint32_t *perm = malloc(n * sizeof(*perm));
    size_t cap = 16;
    while (cap < 2 * want)
        cap *= 2;
    set.slots = calloc(cap, sizeof(*set.slots));
    set.mask = cap - 1;
    g->edges = malloc(want * sizeof(*g->edges));
    g->off = calloc(n + 1, sizeof(*g->off));
    g->adj = malloc(2 * want * sizeof(*g->adj));
    g->adj_edge = malloc(2 * want * sizeof(*g->adj_edge));
    if (!perm || !set.slots || !g->edges || !g->off || !g->adj || !g->adj_edge)
        goto out;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {   /* Fisher-Yates */
        size_t j = (size_t)sim_rng_below(rng, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < ring; i++) {
        uint32_t a = perm[i], b = perm[(i + 1) % n];
        edge_set_add(&set, edge_key(a, b));
        g->edges[g->n_edges++] = (struct sim_edge){ a, b };
    }
    /* degree < n keeps want <= n(n-1)/2, so this terminates. */
    while (g->n_edges < want) {
        uint32_t a = (uint32_t)sim_rng_below(rng, n);
        uint32_t b = (uint32_t)sim_rng_below(rng, n);
        if (a == b || !edge_set_add(&set, edge_key(a, b)))
            continue;
        g->edges[g->n_edges++] = (struct sim_edge){ a, b };
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        g->off[g->edges[i].a + 1]++;
        g->off[g->edges[i].b + 1]++;
    }
    for (size_t u = 0; u < n; u++)
        g->off[u + 1] += g->off[u];
    /* perm is free now: reuse it as the fill cursor. */
    for (size_t u = 0; u < n; u++)
        perm[u] = 0;
    for (size_t i = 0; i < g->n_edges; i++) {
        uint32_t a = g->edges[i].a, b = g->edges[i].b;
        g->adj_edge[g->off[a] + perm[a]] = (uint32_t)i;
        g->adj[g->off[a] + perm[a]++] = b;
        g->adj_edge[g->off[b] + perm[b]] = (uint32_t)i;
        g->adj[g->off[b] + perm[b]++] = a;
    }
    err = 0;
out:
    free(perm);
    free(set.slots);
    if (err)
        sim_graph_free(g);
    return err;
}

void sim_graph_free(struct sim_graph *g)
{
    free(g->edges);
    free(g->off);
    free(g->adj);
    free(g->adj_edge);
    memset(g, 0, sizeof(*g));
}

bool sim_graph_connected(const struct sim_graph *g)
{
    if (g->n == 0)
        return true;
    uint32_t *stack = malloc(g->n * sizeof(*stack));
    bool *seen = calloc(g->n, sizeof(*seen));
    size_t top = 0, count = 0;
    bool ok = false;
    if (!stack || !seen)
        goto out;
    stack[top++] = 0;
    seen[0] = true;
    while (top > 0) {
        uint32_t u = stack[--top];
        count++;
        for (size_t i = g->off[u]; i < g->off[u + 1]; i++) {
            uint32_t v = g->adj[i];
            if (!seen[v]) {
                seen[v] = true;
                stack[top++] = v;
            }
        }
    }
    ok = count == g->n;
out:
    free(stack);
    free(seen);
    return ok;
}
