/* Seeded random topologies shared by both layers of the simulator.
 *
 * sim_graph_random builds a connected graph of n nodes with average degree
 * `degree`: a ring over a random permutation of the nodes (so it is always
 * connected, every node has degree >= 2), then uniformly random extra edges
 * (no self loops, no duplicates) until n * degree / 2 edges exist. Each
 * edge is stored with a direction (a dials b), which the protocol layer
 * uses for outbound/inbound roles; neighbour lists are undirected. */
#ifndef GOSSIPD_SIM_GRAPH_H
#define GOSSIPD_SIM_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/rng.h"

#define SIM_GRAPH_MAX_NODES 1000000u
/* Largest average degree asked of a random graph (sim_graph_random). */
#define SIM_GRAPH_MAX_DEGREE 64u

struct sim_edge {
    uint32_t a, b;          /* a dials b */
};

struct sim_graph {
    size_t n;
    struct sim_edge *edges;
    size_t n_edges;
    /* CSR neighbour lists: neighbours of u are adj[off[u] .. off[u+1]). */
    size_t *off;
    uint32_t *adj;
    uint32_t *adj_edge;     /* index in edges[] of each adj entry */
};

/* Returns 0, or -1 on bad arguments (n < 2, n > SIM_GRAPH_MAX_NODES,
 * degree > SIM_GRAPH_MAX_DEGREE or degree >= n) or out of memory. The
 * graph is the caller's, freed with sim_graph_free. */
int sim_graph_random(struct sim_graph *g, size_t n, unsigned degree, struct sim_rng *rng);
void sim_graph_free(struct sim_graph *g);
static inline size_t sim_graph_degree(const struct sim_graph *g, size_t u)
{
    return g->off[u + 1] - g->off[u];
}
/* True if every node is reachable from node 0 (tests). */
bool sim_graph_connected(const struct sim_graph *g);

#endif
