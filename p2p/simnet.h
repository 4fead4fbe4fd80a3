/* An in-memory network that drives several p2p cores in one process on a
 * virtual clock: the seed of the simulator. Deterministic: one seed (with
 * the same calls) replays the same run.
 *
 * Node i listens at 10.0.0.(i+1):port. A connection is a pair of peer ids,
 * one per end. Each io->send is one frame; it is delivered after the link
 * latency (plus jitter, never reordering a connection's stream), or lost
 * with probability `loss` (a whole frame: the stream stays parseable; it
 * models what the protocol must survive). Nodes in different partition
 * groups cannot exchange frames or connect.
 *
 * Optional realism, all off by default (docs/SIMULATION.md):
 *   - bandwidth: a frame occupies its connection (per direction) and its
 *     sender's uplink for size / rate before it starts its latency;
 *   - regions: a node's region picks the one-way latency from a matrix;
 *   - CPU: a node handles frames one at a time, and a tx or block frame
 *     keeps it busy for a modelled validation time before the core sees it
 *     (so it is relayed only after that time); other frames queue behind;
 *   - block size: block frames count as at least N bytes for bandwidth and
 *     CPU (a stand-in for full blocks without building them);
 *   - behaviours: a node may be silent (never relays anything: only the
 *     handshake and pings leave it) or withhold (announces, never serves a
 *     body); commands may be dropped network-wide (a cheap warm-up);
 *   - churn: a node crashes (its core is destroyed, its peers see the
 *     connections close) and restarts later with the same chain (store).
 *
 * Each node owns an in-memory chain (chain_open with db_path = NULL). */
#ifndef GOSSIPD_P2P_SIMNET_H
#define GOSSIPD_P2P_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/p2p.h"

struct simnet;

struct simnet_config {
    uint64_t seed;
    const struct chain_params *params;  /* NULL: regtest */
    uint64_t latency_ms;                /* one way; 0: 10 ms */
    uint64_t jitter_ms;                 /* added uniformly in [0, jitter] */
    bool link_fixed;                    /* jitter drawn once per node pair (a hash of
                                           the pair and the seed), not per frame */
    uint32_t loss_ppm;                  /* frames lost per million */
    uint64_t start_ms;                  /* 0: genesis time + 1 s */
};

/* Called for every frame a node hands to the network (before loss), and
 * again when the receiving core gets it (after its CPU time, if any).
 * from/to are node indexes. Frames a behaviour or the drop mask removes
 * are not reported. */
struct simnet_observer {
    void *ctx;
    void (*on_send)(void *ctx, size_t from, size_t to, const uint8_t *frame, size_t len);
    void (*on_deliver)(void *ctx, size_t from, size_t to, const uint8_t *frame, size_t len);
    /* Optional: after the receiving core handled it (what it did with the
     * frame is visible in its chain: a rebuilt compact block). */
    void (*on_handled)(void *ctx, size_t from, size_t to, const uint8_t *frame, size_t len);
};

int simnet_create(struct simnet **out, const struct simnet_config *cfg);
void simnet_destroy(struct simnet *sn);
void simnet_set_observer(struct simnet *sn, const struct simnet_observer *obs);

/* Adds a node with a fresh in-memory chain. tmpl: p2p settings (chain, io,
 * seed and listen_port are filled in by the simnet; NULL: defaults with
 * outbound_target 0). Returns the node index or a negative error. */
int simnet_add_node(struct simnet *sn, const char *name, const struct p2p_config *tmpl);
size_t simnet_node_count(const struct simnet *sn);
/* NULL while the node is down (simnet_crash). */
struct p2p *simnet_p2p(struct simnet *sn, size_t node);
struct chain *simnet_chain(struct simnet *sn, size_t node);
void simnet_node_addr(const struct simnet *sn, size_t node, struct p2p_addr *out);

/* Node `from` keeps a connection to node `to` (p2p_connect_addr). */
int simnet_connect(struct simnet *sn, size_t from, size_t to);

uint64_t simnet_now(const struct simnet *sn);
/* Runs events and ticks until the clock reaches until_ms, or until
 * simnet_stop is called (from an observer): then the clock stays at the
 * last event's time. */
void simnet_run_until(struct simnet *sn, uint64_t until_ms);
void simnet_run_for(struct simnet *sn, uint64_t ms);
void simnet_stop(struct simnet *sn);
/* The caller called into these nodes' cores (submissions): their
 * deadlines may have moved. simnet_run_until rechecks every node's
 * deadline unless simnet_set_touch_only(sn, true): then only touched ones
 * (a run of 10,000 nodes does not rescan them all at every call). */
void simnet_touch(struct simnet *sn, size_t node);
void simnet_set_touch_only(struct simnet *sn, bool on);

void simnet_set_loss(struct simnet *sn, uint32_t loss_ppm);
void simnet_set_latency(struct simnet *sn, uint64_t latency_ms, uint64_t jitter_ms);
/* Partition group of a node (all start in group 0). */
void simnet_set_group(struct simnet *sn, size_t node, int group);
void simnet_heal(struct simnet *sn);

/* ---- realism ---- */
#define SIMNET_MAX_REGIONS 16u

/* Rate of every connection, per direction (bytes/s; 0: unlimited). */
void simnet_set_link_rate(struct simnet *sn, uint64_t bytes_per_s);
/* A node's uplink, shared by all its connections (bytes/s; 0: unlimited). */
void simnet_set_uplink(struct simnet *sn, size_t node, uint64_t bytes_per_s);
/* One-way latency between regions: oneway_ms[a * n + b], n <= SIMNET_MAX_REGIONS
 * (copied). Once set, a frame takes matrix[region(from)][region(to)] plus
 * the jitter instead of the base latency. */
int simnet_set_regions(struct simnet *sn, unsigned n, const uint32_t *oneway_ms);
void simnet_set_region(struct simnet *sn, size_t node, unsigned region);
/* Validation time a node spends on a frame before its core sees it. */
struct simnet_cpu {
    uint32_t tx_us;                 /* per tx frame */
    uint32_t block_us;              /* per block frame */
    uint32_t block_ns_per_byte;     /* plus this per byte of block (virtual size) */
};
void simnet_set_cpu(struct simnet *sn, const struct simnet_cpu *cpu);
/* Block frames count as at least this many bytes for bandwidth and CPU. */
void simnet_set_block_bytes(struct simnet *sn, uint32_t bytes);

enum simnet_behaviour {
    SIMNET_HONEST = 0,
    SIMNET_SILENT = 1,      /* relays nothing: only handshake and ping/pong leave it */
    SIMNET_WITHHOLD = 2,    /* announces, never sends a tx or block body (nor notfound) */
};
void simnet_set_behaviour(struct simnet *sn, size_t node, enum simnet_behaviour b);
/* Frames of these commands (bit 1 << cmd) are dropped network-wide. */
void simnet_set_drop_cmds(struct simnet *sn, uint32_t mask);

/* Churn: the node's core is destroyed (its connections close: peers learn
 * it after the latency; frames in flight to it are lost); its chain stays.
 * simnet_restart gives it a new core on the same chain (the store
 * survives) with the settings it was added with; the caller redials. */
void simnet_crash(struct simnet *sn, size_t node);
int simnet_restart(struct simnet *sn, size_t node);
bool simnet_is_up(const struct simnet *sn, size_t node);

/* Frames and bytes carried so far (dropped ones not counted). */
uint64_t simnet_frames(const struct simnet *sn);
uint64_t simnet_bytes(const struct simnet *sn);
/* Events held now and the most held at once (memory of the queue). */
size_t simnet_events_peak(const struct simnet *sn);

#endif
