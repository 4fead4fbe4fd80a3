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
    uint32_t loss_ppm;                  /* frames lost per million */
    uint64_t start_ms;                  /* 0: genesis time + 1 s */
};

/* Called for every frame a node hands to the network (before loss), and
 * again when it is delivered. from/to are node indexes. */
struct simnet_observer {
    void *ctx;
    void (*on_send)(void *ctx, size_t from, size_t to, const uint8_t *frame, size_t len);
    void (*on_deliver)(void *ctx, size_t from, size_t to, const uint8_t *frame, size_t len);
};

int simnet_create(struct simnet **out, const struct simnet_config *cfg);
void simnet_destroy(struct simnet *sn);
void simnet_set_observer(struct simnet *sn, const struct simnet_observer *obs);

/* Adds a node with a fresh in-memory chain. tmpl: p2p settings (chain, io,
 * seed and listen_port are filled in by the simnet; NULL: defaults with
 * outbound_target 0). Returns the node index or a negative error. */
int simnet_add_node(struct simnet *sn, const char *name, const struct p2p_config *tmpl);
size_t simnet_node_count(const struct simnet *sn);
struct p2p *simnet_p2p(struct simnet *sn, size_t node);
struct chain *simnet_chain(struct simnet *sn, size_t node);
void simnet_node_addr(const struct simnet *sn, size_t node, struct p2p_addr *out);

/* Node `from` keeps a connection to node `to` (p2p_connect_addr). */
int simnet_connect(struct simnet *sn, size_t from, size_t to);

uint64_t simnet_now(const struct simnet *sn);
/* Runs events and ticks until the clock reaches until_ms. */
void simnet_run_until(struct simnet *sn, uint64_t until_ms);
void simnet_run_for(struct simnet *sn, uint64_t ms);

void simnet_set_loss(struct simnet *sn, uint32_t loss_ppm);
void simnet_set_latency(struct simnet *sn, uint64_t latency_ms, uint64_t jitter_ms);
/* Partition group of a node (all start in group 0). */
void simnet_set_group(struct simnet *sn, size_t node, int group);
void simnet_heal(struct simnet *sn);

/* Frames and bytes carried so far. */
uint64_t simnet_frames(const struct simnet *sn);
uint64_t simnet_bytes(const struct simnet *sn);

#endif
