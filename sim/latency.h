/* Timed model: the relay strategies that GOSSIP.md's reference figures
 * come from, as an event simulation on a seeded random graph whose links
 * have latencies (no chain, no wire format, no bandwidth, no timers other
 * than an optional per-hop announcement delay).
 *
 *   flood  every node sends the body to every neighbour but the one it
 *          got it from, as soon as it has it.
 *   pull   announce-then-pull: a node that gets the body sends an inv to
 *          every neighbour but its source (after batch_ms); a node that
 *          lacks the body asks the first announcer (getdata) and receives
 *          the body from it: three link crossings per hop, one body per
 *          node.
 *   tree   an eager tree per origin (the body pushed along the first-
 *          arrival tree, lazy invs on the other links): the flood's
 *          arrival times with one body per node. Computed from the flood
 *          run; its inv count is that of the lazy links.
 *
 * Link latency: latency_ms + uniform [0, jitter_ms], drawn once per link
 * (per_message false: a link is a fixed path) or for every message
 * (per_message true: what p2p/simnet does, which also keeps each stream
 * in order). */
#ifndef GOSSIPD_SIM_LATENCY_H
#define GOSSIPD_SIM_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_relay { SIM_RELAY_FLOOD = 0, SIM_RELAY_PULL, SIM_RELAY_TREE, SIM_RELAY_COUNT };
const char *sim_relay_name(enum sim_relay r);
int sim_relay_parse(const char *s);

struct sim_latency_config {
    enum sim_relay relay;
    size_t nodes;
    unsigned degree;
    uint64_t latency_ms, jitter_ms;
    bool per_message;
    uint32_t batch_ms;      /* pull: delay before each node's inv */
    uint64_t seed;
    unsigned runs;          /* each run: new graph, latencies and origin */
    /* Realism (0 / false: off), as the protocol layer's flags: */
    uint32_t body_bytes;    /* the body's size on the wire */
    uint64_t uplink_bps;    /* each node's uplink (bytes/s), bodies queue on it ... */
    uint64_t uplink_max_bps;/* ... log-uniform per node up to this */
    uint32_t verify_ms;     /* a node validates a body this long before passing it on */
    bool geo;               /* regions (sim/geo.h): a link's latency from the matrix */
};

struct sim_latency_summary {
    unsigned runs;
    double t50_ms, t90_ms, t99_ms, t100_ms;   /* means over runs */
    double bodies_per_node;                   /* received / (nodes - 1) */
    double invs_per_node;                     /* received / nodes */
    double hops_mean;
    double t95_ms, mean_ms;                   /* means over runs; mean over nodes */
};

/* Returns 0, or -1 on bad arguments / out of memory. */
int sim_latency_run(const struct sim_latency_config *cfg, struct sim_latency_summary *out);

#endif
