/* Protocol simulation: the real gossipd relay (N p2p cores, each with an
 * in-memory regtest chain) on p2p/simnet's in-memory network and virtual
 * clock, over a seeded random topology (sim/graph.h).
 *
 * A run: build the graph; fund one sender account per tx with a block
 * given to every chain directly (no traffic); connect the edges and let
 * the handshakes finish; then, one item at a time, submit a tx at a random
 * node (p2p_submit_tx) or mine a block at a random node
 * (chain_block_template + chain_mine, p2p_submit_block) and run the
 * network until every node has it (or the item's time limit), plus a
 * settle period so the last announcements are counted. With burst_ms, the
 * txs instead go out one every burst_ms and share one window (a load), so
 * batching can show what it saves; the window's bytes and frames are then
 * shared equally among its txs.
 *
 * Counted per item from the frames simnet carries (its observer hooks):
 * when each node first received the body (coverage times), through whom
 * (hops along the first-seen chain), bodies received per node (1.0 means
 * announce-then-pull fetched it exactly once), announcements received per
 * node (inv entries, and headers for blocks), bytes sent per node during
 * the item's window, and violations: an inv or a body for the item sent
 * back to the peer the sender first got it from.
 *
 * With residue on, the txs are sent again in a second run of the same
 * seed with anti-entropy (mempool reconciliation) switched off, which
 * shows what the rumour alone leaves behind. */
#ifndef GOSSIPD_SIM_PROTO_H
#define GOSSIPD_SIM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: what fits the machine (docs/SIMULATION.md: about 180 KiB per node). */
#define SIM_PROTO_MAX_NODES 20000u
#define SIM_PROTO_MAX_ITEMS 1000u
/* Defaults, as the reference model: 5-110 ms one-way links. */
#define SIM_PROTO_LATENCY_MS_DEFAULT 5u
#define SIM_PROTO_JITTER_MS_DEFAULT 105u
/* Handshakes and first syncs before any item. */
#define SIM_PROTO_WARMUP_MS 5000u
/* An item not everywhere by then is reported incomplete. */
#define SIM_PROTO_ITEM_TIMEOUT_MS_DEFAULT 60000u
/* Rumour-only run: the rumour is over once nobody got it for this long. */
#define SIM_PROTO_QUIET_MS 5000u
/* Step of the virtual clock between coverage checks. */
#define SIM_PROTO_STEP_MS 20u
/* Anti-entropy switched off (residue run): one round a day. */
#define SIM_PROTO_RECON_OFF_MS (24u * 3600 * 1000)

/* SIM_ITEM_TX_WARM: a tx of the warm-up (cfg.warmup_txs), reported apart. */
enum sim_item_kind { SIM_ITEM_TX = 0, SIM_ITEM_BLOCK, SIM_ITEM_TX_WARM };

struct sim_proto_config {
    size_t nodes;             /* >= 2 */
    unsigned degree;          /* average degree of the random graph */
    uint32_t fanout;          /* tx announcements to k peers; 0: all */
    uint32_t batch_ms;        /* tx inv batching period; 0: p2p default */
    bool relay_push;          /* --relay push: learned eager push of txs */
    bool cmpct;               /* --cmpct: compact blocks and high-bandwidth push
                                 (p2p_config.cmpct) in every core */
    unsigned block_private;   /* --block-private N: each block also carries N txs
                                 only its miner knows (getblocktxn at every hop) */
    uint32_t loss_ppm;        /* frames lost per million, after warm-up */
    uint32_t recon_ms;        /* mempool reconciliation period; 0: p2p default */
    uint64_t latency_ms;      /* one way, plus uniform [0, jitter]; 0: defaults */
    uint64_t jitter_ms;
    uint64_t seed;
    unsigned txs, blocks;     /* items, in that order */
    unsigned senders;         /* 0: each tx from a new sender key at a random node;
                                 K: K sender keys, each bound to one origin node
                                 (drawn once), tx i from sender i mod K */
    unsigned warmup_txs;      /* the first this many txs are the warm-up: reported
                                 apart (SIM_ITEM_TX_WARM, row "txw") */
    bool link_fixed;          /* link jitter drawn once per link, not per frame */
    uint32_t burst_ms;        /* 0: one item at a time; else a tx every burst_ms,
                                 all in flight together (load), then the blocks */
    uint64_t item_timeout_ms; /* 0: SIM_PROTO_ITEM_TIMEOUT_MS_DEFAULT */
    bool residue;             /* also run the txs with anti-entropy off */
    bool warmup_addr;         /* let addr gossip run in the warm-up (the old,
                                 slow warm-up: ~3,500 frames per node) */
    bool sqlite_store;        /* each chain in its own in-memory SQLite database
                                 (the old store) instead of sim/memstore.c */
    /* Realism (docs/SIMULATION.md, "Realism"); 0 / false: off. */
    uint64_t link_bps;        /* bytes/s of each connection, per direction */
    uint64_t uplink_bps;      /* each node's uplink, bytes/s, shared by its links */
    uint64_t uplink_max_bps;  /* > uplink_bps: per node, log-uniform between the two */
    bool geo;                 /* nodes in regions, one-way latency from the matrix */
    uint32_t cpu_tx_us;       /* validation time per tx body */
    uint32_t cpu_block_us;    /* per block body, plus: */
    uint32_t cpu_block_ns_per_byte;
    uint32_t block_bytes;     /* block bodies count as this size (bandwidth, CPU) */
    unsigned churn_pct;       /* % of nodes that crash in each item's window ... */
    uint32_t churn_down_ms;   /* ... at a uniform time in [0, this), restarting this long after */
    unsigned late_pct;        /* % of nodes down in the warm-up, joining in the first window */
    uint32_t partition_ms;    /* each item: a random half cut off for this long, then healed */
    unsigned silent_pct;      /* % of nodes that relay nothing (not counted in coverage) */
    unsigned withhold_pct;    /* % of nodes that announce and never serve */
    unsigned sybils;          /* eclipse: this many withholding nodes that dial node 0 and
                                 SIM_PROTO_SYBIL_DEGREE random honest nodes */
    uint32_t mine_interval_ms;/* competing miners: mean block interval ... */
    unsigned mine_blocks;     /* ... and blocks mined (Poisson, uniform hash power) */
};
/* --cpu: validation times from docs/PERFORMANCE.md (2026-11-23): mempool
 * accept 22,750 tx/s (44 us a tx); a block whose txs were gossiped
 * connects at 8.2 ms per 2,000 txs of ~180 bytes (4.1 us a tx, ~23 ns a
 * byte), plus a fixed 250 us for the header, the merkle root and the
 * store. */
#define SIM_CPU_TX_US 44u
#define SIM_CPU_BLOCK_US 250u
#define SIM_CPU_BLOCK_NS_PER_BYTE 23u
#define SIM_MAX_SEEDS 100u
#define SIM_PROTO_MAX_PRIVATE_TXS 1000u   /* --block-private */
#define SIM_PROTO_SYBIL_DEGREE 8u
/* Late nodes join at a uniform time in the first window's first this many ms. */
#define SIM_PROTO_LATE_JOIN_MS 2000u
#define SIM_PROTO_MAX_SYBILS 1000u
/* Competing miners: after the last block, the network settles this long. */
#define SIM_PROTO_MINE_SETTLE_MS 30000u
/* Fills in the defaults (N 100, degree 8, fan-out all, p2p batch, 1 tx,
 * 1 block, seed 1, 5 + 105 ms links). */
void sim_proto_config_init(struct sim_proto_config *cfg);

#define SIM_NEVER UINT64_MAX
#define SIM_COVER_POINTS 21u   /* 0, 5, ..., 100 % */

struct sim_item_result {
    enum sim_item_kind kind;
    size_t origin;
    size_t reached;                 /* nodes with the body, origin included */
    /* ms after submission until 50/90/99/100 % of the nodes had it;
     * SIM_NEVER if not reached. */
    uint64_t t50_ms, t90_ms, t99_ms, t100_ms;
    double hops_mean;               /* over reached nodes but the origin */
    unsigned hops_max;
    double bodies_per_node;         /* bodies received / (nodes - 1) */
    unsigned bodies_max;            /* most bodies one node received */
    double invs_per_node;           /* announcements received / nodes */
    double bytes_per_node;          /* all bytes sent in the window / nodes */
    double relay_bytes_per_node;    /* inv, getdata, notfound, tx, block, headers */
    double ann_frames_per_node;     /* inv and headers frames sent in the window / nodes */
    /* Blocks (compact blocks, cfg.cmpct): cmpctblocks of the item received
     * / (nodes - 1) (bodies_per_node counts full block frames only),
     * getblocktxn frames sent / nodes, and bytes of block, cmpctblock,
     * getblocktxn and blocktxn frames sent in the window / nodes. */
    double cmpct_per_node, getblocktxn_per_node, block_bytes_per_node;
    uint64_t core_cmpct_fallbacks;  /* p2p_stats cmpct_fallbacks, every node, in the window */
    unsigned violations;            /* inv or body sent back to its origin */
    /* The cores' own count (p2p_stats dup_tx_bodies + dup_block_bodies over
     * every node) of bodies received that they already had, during the
     * item's window: a cross-check of bodies_per_node. */
    uint64_t core_dup_bodies;
    /* Coverage curve: cover_ms[q] = ms until q * 100 / (SIM_COVER_POINTS - 1)
     * % of the counted nodes had it (cover_ms[19]: 95 %); mean_ms over
     * the nodes that got it (the origin at 0). */
    uint64_t cover_ms[SIM_COVER_POINTS];
    double mean_ms;
    /* Eclipse (cfg.sybils): ms until node 0, the victim, had it. */
    uint64_t victim_ms;
    /* Counted nodes that never got it (churn: must be 0 for blocks). */
    size_t lost;
    /* Residue run (txs only, cfg.residue): */
    double residue;                 /* fraction the rumour alone missed */
    uint64_t rumour_end_ms;         /* last first-receipt of the rumour */
};

struct sim_proto_result {
    size_t nodes, edges;
    unsigned n_items;
    struct sim_item_result items[SIM_PROTO_MAX_ITEMS];
    bool established;               /* every edge finished its handshake */
    bool residue;                   /* the residue run was made (txs' residue set) */
    uint64_t frames, bytes;         /* carried over the whole run */
    size_t counted;                 /* nodes in the coverage (honest ones) */
    size_t isolated;                /* honest, but only adversaries around: not counted */
    /* Competing miners: */
    unsigned mined, stale;          /* blocks mined; not on the final best chain */
    bool tips_agree;                /* every up honest node ends at the same height */
};

/* Runs the simulation. Returns 0, or -1 on bad arguments or a setup
 * failure (message on stderr). res is the caller's (it is large: heap). */
int sim_proto_run(const struct sim_proto_config *cfg, struct sim_proto_result *res);

/* Means over the items of one kind. Coverage times average the items
 * that reached every node (complete); the residue figures, the txs of the
 * residue run. */
struct sim_proto_agg {
    unsigned items, complete;
    double t50_ms, t90_ms, t99_ms, t100_ms;   /* means over complete items */
    double t95_ms, mean_ms;                   /* the same: 95 % and mean over nodes */
    double hops_mean;
    unsigned hops_max;
    double bodies_per_node, invs_per_node, bytes_per_node, relay_bytes_per_node;
    double ann_frames_per_node;
    double cmpct_per_node, getblocktxn_per_node, block_bytes_per_node;
    uint64_t cmpct_fallbacks;                 /* sum over the items */
    unsigned bodies_max;
    unsigned violations;
    double residue, rumour_end_ms;            /* means (txs, residue run) */
    double reached_frac;                      /* mean reached / nodes */
};
void sim_proto_aggregate(const struct sim_proto_result *res, enum sim_item_kind kind,
                         struct sim_proto_agg *out);
/* The same without the first `skip` items of that kind (warm figures:
 * compact blocks' high-bandwidth peers are chosen by the blocks before). */
void sim_proto_aggregate_from(const struct sim_proto_result *res, enum sim_item_kind kind,
                              unsigned skip, struct sim_proto_agg *out);

#endif
