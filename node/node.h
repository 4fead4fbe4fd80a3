/* The gossipd node: chain + p2p core + TCP transport + JSON-RPC + logs +
 * miner, all on one libuv loop (the miner hashes on libuv's worker pool).
 *
 * Life cycle: node_init (lock-free part of start: log, ZMQ, the RPC server
 * and its cookie, signals) -> uv_run, during which the chain loads on
 * libuv's worker pool (the warm-up: every RPC but stop/help/uptime answers
 * -28 with the step) and then, back on the loop, the key, p2p and the rest
 * start -> node_request_stop (SIGINT/SIGTERM or the `stop` RPC) closes every
 * handle so uv_run returns -> node_free. */
#ifndef GOSSIPD_NODE_NODE_H
#define GOSSIPD_NODE_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "chain/chain.h"
#include "node/config.h"
#include "node/log.h"
#include "node/prop.h"
#include "node/rpc_http.h"
#include "p2p/p2p.h"

#define NODE_VERSION_STRING "0.1.0"
#define NODE_VERSION_NUMBER 100          /* 0.1.0 as bitcoind numbers it */
/* Blocks generate/generatetoaddress may make per call. */
#define NODE_GENERATE_MAX 1000
/* Nonces per chain_mine call on the RPC (regtest) path and per slice on the
 * worker; the worker checks for a new tip between slices. */
#define NODE_MINE_SLICE_NONCES (1u << 16)
/* A worker job ends after this long so the template picks up new txs. */
#define NODE_MINE_JOB_MS 2000
/* --connect names that do not resolve yet (containers starting) are
 * retried this often. */
#define NODE_RESOLVE_RETRY_MS 2000
/* Addresses connected per --connect name (a name may list many: tasks.SERVICE). */
#define NODE_SEED_ADDRS_MAX 32
/* getrawtransaction without a blockhash looks back this many blocks. */
#define NODE_TX_LOOKBACK_BLOCKS 1000
/* This often the mempool is written to mempool.dat (also at a clean stop)
 * and the node's own unconfirmed txs missing from the mempool (expired,
 * evicted, rejected at start) are submitted again. */
#define NODE_SAVE_INTERVAL_MS (60u * 1000)
/* The store's failure count is checked this often (and after every RPC tx
 * and mined block); in safe mode a write probe runs every
 * NODE_STORE_PROBE_MS until one succeeds. */
#define NODE_STORE_CHECK_MS 1000u
#define NODE_STORE_PROBE_MS 5000u
#define NODE_SAFE_REASON_MAX 256
/* An RPC password shorter than this is weak (an RPC port off loopback
 * without a password of this length logs a warning at start). */
#define NODE_RPC_PASSWORD_MIN_LEN 16

struct node_net;
struct node_miner;
struct node_waiter;
struct node;

/* Ping round trips timed in µs (the core's clock is in ms, which reads 0 on
 * a LAN): our `ping` to a peer as it is queued, its `pong` as it is
 * processed, on uv_hrtime. One slot per peer id modulo NODE_PING_SLOTS. */
#define NODE_PING_SLOTS 1024
struct node_ping {
    uint64_t peer;
    uint64_t sent_us;            /* 0: none outstanding */
    int64_t last_us, min_us;     /* -1: none yet */
};
/* The slot of peer, or NULL when another peer holds it. */
const struct node_ping *node_ping_of(const struct node *n, uint64_t peer);
uint64_t node_now_us(void);
struct node_notify;

/* ---- /metrics observations (node/metrics.c) ---- */
/* Where a block or tx was first seen, the label of the delay histograms. */
enum node_seen_src { NODE_SEEN_PEER, NODE_SEEN_RPC, NODE_SEEN_MINED, NODE_SEEN_REORG,
                     NODE_SEEN_COUNT };
#define NODE_HIST_BUCKETS_MAX 16
/* Distinct (kind, reason) reject counters kept; more share reason="other". */
#define NODE_REJECT_REASONS_MAX 48
struct node_hist {
    uint64_t bucket[NODE_HIST_BUCKETS_MAX];   /* non-cumulative; exposition sums them */
    uint64_t count;
    double sum;
};
struct node_reject {
    bool block;
    int reason;                  /* CHAIN_ERR_* / P2P_ERR_*; 0: other */
    uint64_t count;
};
struct node_obs {
    struct node_hist block_delay[NODE_SEEN_COUNT];   /* seconds from header time */
    struct node_hist tx_delay[NODE_SEEN_COUNT];      /* seconds from first inv */
    struct node_hist reorg_depth;                    /* blocks disconnected */
    uint64_t reorgs;
    struct node_reject rejects[NODE_REJECT_REASONS_MAX];
    size_t n_rejects;
};
void node_obs_block_seen(struct node_obs *o, enum node_seen_src src, int64_t delay_ms);
void node_obs_tx_seen(struct node_obs *o, enum node_seen_src src, int64_t delay_ms);
void node_obs_reorg(struct node_obs *o, uint32_t depth);
void node_obs_reject(struct node_obs *o, bool block, int reason);

/* The warm-up's load (node.c): what the worker thread does and reports.
 * The loop thread reads only `step` until the work's done callback runs;
 * the worker logs nothing (the done callback logs its results). */
struct node_load {
    uv_work_t req;
    struct chain_config cc;
    char db[NODE_CONFIG_PATH_MAX + 16];
    _Atomic(const char *) step;  /* a string literal: the -28 message */
    int rc;                      /* 0, or -1 with msg */
    char msg[NODE_CONFIG_PATH_MAX * 2 + 768];   /* startup_failed text */
    bool reindexed;
    struct chain_reindex_stats st;
    uint32_t checked;            /* blocks --checkblocks verified */
    uint64_t store_ms;           /* integrity check + open + checks */
    size_t mp_loaded, mp_dropped;
};

struct node_seed {               /* a --connect entry */
    char host[NODE_CONFIG_STR_MAX];
    uint16_t port;
    bool resolved;
    bool resolving;
    bool warned;                 /* resolve_failed logged at warn once */
    bool has_key;                /* PUBKEY@HOST:PORT: keep only that v2 node key */
    uint8_t key[32];
    uv_getaddrinfo_t req;
    struct node *node;
};

struct node {
    unsigned verify_threads;        /* -par: signature-check workers (<= 1: none) */
    uv_loop_t *loop;
    struct node_config cfg;
    struct node_log log;
    struct chain *chain;
    struct p2p *p2p;
    struct node_net *net;
    struct node_rpc_server *rpc;
    struct node_prop prop;
    struct node_miner *miner;

    uint8_t key_pk[32];          /* the node's own key (in the chain store) */
    uint8_t key_sk[64];
    bool have_p2p_key;           /* v2: the node key signing our hello (p2p.key) */
    uint8_t p2p_pk[32], p2p_sk[64];
    uint8_t (*peerkeys)[32];     /* --peerkeys, parsed */
    uint64_t handshakes_v1, handshakes_v2;   /* completed, per transport */
    size_t n_peerkeys;
    uint8_t mine_pk[32];         /* where mined coins go */

    uint64_t start_ms;           /* wall clock at start */
    uint16_t p2p_port;           /* actually bound */
    uint64_t blocks_mined;
    uint64_t orphan_blocks;      /* blocks received before their parent */
    struct node_obs obs;         /* histograms and counters for /metrics */
    struct node_ping pings[NODE_PING_SLOTS];   /* round trips in µs, by peer id */
    struct node_notify *notify;  /* ZMQ and --blocknotify (node/notify.c) */
    struct node_waiter *waiters; /* long polls (node/waits.c) */
    size_t n_waiters;
    uv_timer_t wait_timer;

    uv_signal_t sig_int, sig_term;
    uv_timer_t stop_timer;
    uv_timer_t resolve_timer;
    uv_prepare_t kick;
    uv_timer_t save_timer;       /* NODE_SAVE_INTERVAL_MS */
    uv_timer_t store_timer;      /* NODE_STORE_CHECK_MS */
    /* Safe mode: a store write failed (disk full, I/O error). No mining,
     * no RPC txs, until a probe write succeeds. */
    bool safe_mode;
    char safe_reason[NODE_SAFE_REASON_MAX];   /* "" when not in safe mode */
    uint64_t store_errors_seen;  /* chain_store_error count already handled */
    uint64_t last_probe_ms;
    struct node_seed seeds[NODE_CONFIG_CONNECT_MAX];
    size_t n_seeds;
    bool stopping;
    bool handles_up;
    bool started;                /* fully up (the mempool is saved at stop) */
    bool loading;                /* warm-up: the chain is loading, RPC answers -28 */
    bool failed;                 /* a start step after node_init failed: exit non-zero */
    struct node_load load;
    /* Set by the caller after node_init, before uv_run: called once, on the
     * loop, when the node is fully up (not if it fails or stops first). */
    void (*on_ready)(void *arg);
    void *ready_arg;
};

/* Wall clock in ms since the Unix epoch (the clock chain and p2p get). */
uint64_t node_now_ms(void);

/* Start what needs no chain (RPC first, so callers get -28 rather than a
 * refused connection) and queue the chain load; the rest starts on the
 * loop when it is done. Returns 0, or -1 after logging why. A later start
 * failure (a corrupt store, a port taken) is logged as startup_failed, sets
 * n->failed and stops the node (uv_run returns). Call node_free after
 * uv_run either way. */
int node_init(struct node *n, uv_loop_t *loop, const struct node_config *cfg);
/* Keep a connection to HOST:PORT whose host is a name: resolved in the
 * background (retried until it resolves), then added as p2p_connect_addr.
 * Returns 0, 1 if already added, -1 if malformed or too many. */
int node_add_seed(struct node *n, const char *hostport);
/* A tx from the operator (sendtoaddress, sendrawtransaction): stored as
 * an own tx (chain_own_tx_add) before it is validated and announced with
 * p2p_submit_tx, so a txid the caller gets back survives a crash. A
 * rejected tx is forgotten again. Returns p2p_submit_tx's status or a
 * CHAIN_ERR_* (STORE, OWN_FULL, or the rejection). */
int node_submit_own_tx(struct node *n, const struct chain_tx *tx);
/* The nonce sendtoaddress signs with: after the key's pending mempool txs
 * and after every unconfirmed own tx of the key. */
uint64_t node_own_next_nonce(const struct node *n);
/* Look at the store's failure count: a new failure logs `store_error`
 * (error level, with the errno text) and enters safe mode. Returns
 * n->safe_mode. */
bool node_store_check(struct node *n);
/* Why binding RPC to `bind` with these credentials exposes the node (NULL
 * if bind is loopback or the password is explicit and at least
 * NODE_RPC_PASSWORD_MIN_LEN long). user/password "" when not set. */
const char *node_rpc_exposure(const char *bind, const char *user, const char *password);
/* Write DATADIR/name through emit as a temporary file, fsync, rename,
 * fsync of the directory (a crash leaves the old file or the new one).
 * Returns 0 or -errno (logged as file_save_failed). */
int node_file_write_atomic(struct node *n, const char *name,
                           bool (*emit)(FILE *f, void *ctx), void *ctx);
/* Bans, address book and (at a clean stop) anchors to the datadir, and
 * back into the core at start (node/peerstore.c). */
void node_bans_save(struct node *n);
void node_peers_save(struct node *n, bool at_stop);
void node_peers_load(struct node *n);
/* The warm-up step ("Loading block index...") while the chain loads, or
 * NULL once the node is up. Loop thread. */
const char *node_warmup_status(struct node *n);
/* Begin a clean shutdown (idempotent). During the warm-up the current
 * load step finishes first (it cannot be interrupted), nothing else starts. */
void node_request_stop(struct node *n);
/* Release what node_init acquired. Call after uv_run returned. */
void node_free(struct node *n);

/* The RPC method table (node/rpc_methods.c); ctx is the struct node. */
extern const struct node_rpc_method node_rpc_methods[];
extern const size_t node_rpc_methods_count;
/* The RPC server's warm-up gate: while the chain loads, every method but
 * stop, help and uptime (which need no chain) gets -28 with the step. */
const char *node_rpc_warmup(void *ctx, const char *method);
/* Write the generated part of docs/RPC.md. */
void node_rpc_write_doc(FILE *out);
/* Prometheus text for /metrics (heap, caller frees). */
char *node_metrics(void *node, size_t *len);

/* Notifications (node/notify.c): ZMQ topics and --blocknotify. open binds
 * every --zmqpub endpoint; 0, or -1 with err (close it anyway). The event
 * calls take a NULL notifier. stop closes its handles (loop still running);
 * close frees it after uv_run returned. */
int node_notify_open(struct node_notify **out, struct node *n, char *err, size_t err_len);
void node_notify_block_connected(struct node_notify *nt, const uint8_t hash[32],
                                 const struct chain_block *b);
void node_notify_block_disconnected(struct node_notify *nt, const uint8_t hash[32]);
void node_notify_tx_added(struct node_notify *nt, const uint8_t txid[32],
                          const struct chain_tx *tx);
/* A tx that had node_notify_tx_added left the mempool, not into a block. */
void node_notify_tx_removed(struct node_notify *nt, const uint8_t txid[32]);
void node_notify_stats(const struct node_notify *nt, uint64_t *sent, uint64_t *dropped);
void node_notify_stop(struct node_notify *nt);
void node_notify_close(struct node_notify *nt);

/* Long polls (node/waits.c). */
#define NODE_OF(rq) ((struct node *)(rq)->ctx)
void node_waits_init(struct node *n);
/* The tip moved: answer the satisfied waiters from the next loop turn. */
void node_waits_tip_changed(struct node *n);
void node_waits_close(struct node *n);
json_t *node_rpc_waitfornewblock(struct node_rpc_req *rq);
json_t *node_rpc_waitforblock(struct node_rpc_req *rq);
json_t *node_rpc_waitforblockheight(struct node_rpc_req *rq);

/* Mining (node/miner.c). */
int node_miner_start(struct node *n);
void node_miner_stop(struct node *n);
/* The tip changed: restart the job on the new tip. */
void node_miner_tip_changed(struct node *n);
bool node_miner_running(const struct node *n);
/* After uv_run returned (no job left). */
void node_miner_free(struct node *n);
double node_miner_hashrate(const struct node *n);
/* Mine one block on the tip paying pk, synchronously (regtest generate).
 * Returns 0 and the hash, or a CHAIN_ERR_*. */
int node_mine_one(struct node *n, const uint8_t pk[32], uint64_t max_tries, uint8_t hash[32]);

#endif
