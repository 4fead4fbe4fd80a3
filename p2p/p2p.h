/* The p2p gossip core: a sans-I/O state machine.
 *
 * The driver (node/net.c over libuv TCP, or the in-memory simnet) owns the
 * sockets and the clock. It tells the core what happened (connected, bytes,
 * disconnected, tick) with the current time as an argument; the core answers
 * through struct p2p_io callbacks (send bytes, open or close a connection,
 * pause reading) and says when it next wants a tick (p2p_next_deadline).
 * The core never reads a clock, never blocks, never owns a socket or thread;
 * its randomness comes from a PRNG seeded through the config, so a run is
 * replayable from its seed.
 *
 * Peer ids are chosen by the driver: unique, non-zero, below UINT64_MAX
 * (the core uses it as its RPC origin tag), never reused.
 *
 * Callbacks (io, events) are called synchronously from inside p2p_* calls.
 * They must not call back into the core, except the p2p_peer_* / p2p_get_*
 * getters, which are safe from inside an event callback.
 *
 * Return convention: 0 (or a non-negative count/status) on success, a
 * negative P2P_ERR_* or CHAIN_ERR_* otherwise; p2p_strerror() names both. */
#ifndef GOSSIPD_P2P_P2P_H
#define GOSSIPD_P2P_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "p2p/err.h"
#include "p2p/limits.h"

struct p2p;

/* ---- Addresses ---- */
/* IPv6, with IPv4 as ::ffff:a.b.c.d (as Bitcoin's addr does). */
struct p2p_addr {
    uint8_t ip[16];
    uint16_t port;      /* host order */
};

#define P2P_ADDR_STRLEN 56  /* "[ffff:...:ffff]:65535" + NUL, with room */

/* Parses "1.2.3.4:8333", "[::1]:8333", "::1" / "1.2.3.4" (port = default_port).
 * Returns 0 or P2P_ERR_INVALID_ARG. Numeric only, no DNS. */
int p2p_addr_parse(struct p2p_addr *a, const char *s, uint16_t default_port);
/* "1.2.3.4:8333" or "[::1]:8333". */
void p2p_addr_format(const struct p2p_addr *a, char out[P2P_ADDR_STRLEN]);
/* Same without the port ("1.2.3.4", "::1"). */
void p2p_addr_format_ip(const struct p2p_addr *a, char out[P2P_ADDR_STRLEN]);
bool p2p_addr_is_ipv4(const struct p2p_addr *a);
void p2p_addr_from_ipv4(struct p2p_addr *a, const uint8_t ip4[4], uint16_t port);
bool p2p_addr_equal(const struct p2p_addr *a, const struct p2p_addr *b);
bool p2p_addr_same_ip(const struct p2p_addr *a, const struct p2p_addr *b);
/* Loopback (127.0.0.0/8, ::1). */
bool p2p_addr_is_local(const struct p2p_addr *a);
/* Network group: IPv4 /16, IPv6 /32, all loopback one group (what one
 * operator can cheaply hold many addresses in). */
uint64_t p2p_addr_netgroup(const struct p2p_addr *a);

/* ---- Inventory types (Bitcoin's numbers) ---- */
#define P2P_INV_TX    1u
#define P2P_INV_BLOCK 2u
/* getdata only: answer with a cmpctblock (a peer that sent sendcmpct). */
#define P2P_INV_CMPCT 4u

/* ---- What the driver provides ---- */
struct p2p_io {
    void *ctx;
    /* Queue len bytes (one or more whole frames) for the peer; the buffer is
     * borrowed for the call only. The driver reports them written with
     * p2p_on_sent. Returns 0, or negative if the peer is already gone (the
     * core then treats it as disconnected). */
    int (*send)(void *ctx, uint64_t peer, const uint8_t *buf, size_t len);
    /* Open an outbound connection. The driver later calls p2p_on_connected
     * (inbound = false, same addr) or p2p_on_connect_failed. */
    void (*connect)(void *ctx, const struct p2p_addr *addr);
    /* Close the connection. The core has already forgotten the peer; the
     * driver need not (but may) call p2p_on_disconnected for it. */
    void (*disconnect)(void *ctx, uint64_t peer, const char *reason);
    /* Stop (paused = true) or resume reading from the peer: flow control
     * when a peer requests faster than it reads. May be NULL. */
    void (*pause_read)(void *ctx, uint64_t peer, bool paused);
    /* Check a tx's signature off the core's thread: chain_tx_verify_sig on
     * a copy of *tx (borrowed for the call), reported once, in any order,
     * with p2p_on_verified(job, ok). Returns 0, or negative to have the
     * core check it inline (the driver's queue is full). May be NULL:
     * every check is inline (tests, the simulator: deterministic). */
    int (*verify_tx)(void *ctx, uint64_t job, const struct chain_tx *tx);
};

/* ---- Events for logs and metrics (any member may be NULL) ---- */
enum p2p_source {
    P2P_SRC_RPC = 0,    /* p2p_submit_tx / p2p_submit_block */
    P2P_SRC_PEER,       /* a peer sent it */
    P2P_SRC_REORG,      /* chain put it (back) in the mempool: reorg, orphan tx unblocked */
};
const char *p2p_source_name(enum p2p_source s);   /* "rpc", "peer", "reorg" */

struct p2p_peer_info;

struct p2p_events {
    void *ctx;
    /* Handshake completed. */
    void (*peer_connected)(void *ctx, const struct p2p_peer_info *pi);
    /* Connection closed after or during the handshake. reason: stable name. */
    void (*peer_disconnected)(void *ctx, const struct p2p_peer_info *pi, const char *reason);
    /* An inv entry or a header (a block announced with headers) arrived;
     * known = we already had the item. */
    void (*inv_received)(void *ctx, uint64_t peer, uint32_t type, const uint8_t hash[32],
                         bool known);
    /* A tx entered our mempool. peer = 0 unless src == P2P_SRC_PEER. */
    void (*tx_accepted)(void *ctx, const uint8_t txid[32], enum p2p_source src,
                        uint64_t peer, size_t size, bool first_seen);
    /* reason: CHAIN_ERR_* (p2p_strerror names it). */
    void (*tx_rejected)(void *ctx, const uint8_t txid[32], enum p2p_source src,
                        uint64_t peer, int reason);
    /* A tx body arrived that we already had. */
    void (*tx_duplicate)(void *ctx, const uint8_t txid[32], uint64_t peer);
    /* A block body arrived (first_seen false: duplicate body). height is
     * 0 if unknown (orphan); time_ms is the header time, for delay_ms. */
    void (*block_received)(void *ctx, const uint8_t hash[32], uint32_t height, uint64_t peer,
                           size_t size, size_t txs, uint64_t time_ms, bool first_seen);
    void (*block_rejected)(void *ctx, const uint8_t hash[32], uint64_t peer, int reason);
    /* We announced an item (inv or headers) to `peers` peers. */
    void (*announced)(void *ctx, uint32_t type, const uint8_t hash[32], size_t peers);
    /* score = the peer's total after this offence. */
    void (*misbehaviour)(void *ctx, uint64_t peer, const struct p2p_addr *addr, int score,
                         const char *reason);
    void (*ban)(void *ctx, const struct p2p_addr *addr, uint64_t duration_ms,
                const char *reason);
    /* Misbehaviour reached P2P_BAN_SCORE: the peer was disconnected and
     * its IP discouraged (not for local or noban peers). */
    void (*discouraged)(void *ctx, uint64_t peer, const struct p2p_addr *addr,
                        const char *reason);
    /* A local failure (out of memory, chain/store error) while serving
     * peer (0: none): counted in p2p_stats.local_errors, never blamed on
     * the peer. err: P2P_ERR_* or CHAIN_ERR_* (p2p_strerror names it). */
    void (*local_error)(void *ctx, uint64_t peer, int err);
    /* Every message (for --debug=net). bytes = frame size with header. */
    void (*msg_sent)(void *ctx, uint64_t peer, const char *cmd, size_t bytes);
    void (*msg_recv)(void *ctx, uint64_t peer, const char *cmd, size_t bytes);
};

/* ---- Configuration ---- */
struct p2p_config {
    struct chain *chain;              /* borrowed; must outlive the core */
    const struct p2p_io *io;          /* copied */
    const struct p2p_events *events;  /* copied; may be NULL */
    const char *name;                 /* node name, in the user agent; may be NULL */
    uint64_t seed;                    /* PRNG seed (nonces, fan-out, peer choice) */
    uint16_t listen_port;             /* advertised in version (0: not listening) */
    uint32_t tx_batch_ms;             /* 0: P2P_TX_BATCH_MS_DEFAULT */
    uint32_t fanout;                  /* tx announcements to k peers; 0: all */
    uint32_t outbound_target;         /* connections opened from the address book;
                                         P2P_OUTBOUND_UNSET: default; 0: none */
    uint32_t inbound_max;             /* 0: P2P_INBOUND_MAX_DEFAULT */
    uint64_t ban_ms;                  /* 0: P2P_BAN_MS_DEFAULT */
    uint32_t recon_interval_ms;       /* 0: P2P_RECON_INTERVAL_MS_DEFAULT */
    /* Tx relay: PULL (inv, getdata, tx on every link) or PUSH: learned
     * eager push per origin bucket, the other links lazy (docs/PROTOCOL.md
     * "Learned eager push"). */
    enum p2p_relay_mode { P2P_RELAY_PULL = 0, P2P_RELAY_PUSH } relay_mode;
    /* Encrypted transport (docs/PROTOCOL.md "v2 transport"). OFF: v1
     * only (the default of p2p_config_init, for scripted v1 test peers
     * and the simulator; the node turns it on). ON: v2 to and from peers
     * that speak it, v1 otherwise (an outbound v2 attempt that is hung up
     * on is retried as v1 and remembered). ONLY: v1 refused. */
    enum p2p_v2_mode { P2P_V2_OFF = 0, P2P_V2_ON, P2P_V2_ONLY } v2_mode;
    const uint8_t *node_sk;           /* 64-byte Ed25519 node key signing our v2
                                         hello; NULL: anonymous. Copied. */
    /* Allowlist of peer node keys (32 bytes each, at most
     * P2P_MAX_ALLOWED_KEYS): when non-empty, only v2 peers whose hello is
     * signed by one of them are kept (implies ONLY). Copied. */
    const uint8_t (*allowed_keys)[32];
    size_t n_allowed_keys;
    /* Compact blocks and high-bandwidth push (docs/PROTOCOL.md "Compact
     * blocks"). Off in p2p_config_init's defaults (scripted test peers,
     * the simulator's fixed-seed tables); the node turns it on. Off, the
     * core sends no sendcmpct and ignores the four messages. */
    bool cmpct;
};
#define P2P_OUTBOUND_UNSET UINT32_MAX

/* Fills cfg with defaults (outbound_target = P2P_OUTBOUND_UNSET, ...);
 * the caller then sets chain, io and anything else. */
void p2p_config_init(struct p2p_config *cfg);

/* Creates the core. Returns 0 and *out, or P2P_ERR_NOMEM /
 * P2P_ERR_INVALID_ARG. now_ms: the driver's clock at start. */
int p2p_create(struct p2p **out, const struct p2p_config *cfg, uint64_t now_ms);
/* Frees the core (no callbacks are made). Removes its chain events. */
void p2p_destroy(struct p2p *p);

/* ---- Driver -> core ---- */
/* A connection is up. Outbound: after io->connect(addr). The core sends
 * `version` at once on outbound connections. It may refuse the peer
 * (banned, inbound cap) by calling io->disconnect from inside this call. */
void p2p_on_connected(struct p2p *p, uint64_t peer, const struct p2p_addr *addr, bool inbound,
                      uint64_t now_ms);
/* An outbound connect to addr failed (refused, timeout). */
void p2p_on_connect_failed(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);
/* Bytes arrived from the peer (borrowed for the call). */
void p2p_on_bytes(struct p2p *p, uint64_t peer, const uint8_t *buf, size_t len,
                  uint64_t now_ms);
/* n bytes previously passed to io->send were written to the socket. */
void p2p_on_sent(struct p2p *p, uint64_t peer, size_t n, uint64_t now_ms);
/* The connection closed (by the remote, or an error). */
void p2p_on_disconnected(struct p2p *p, uint64_t peer, const char *reason, uint64_t now_ms);
/* A verify_tx job finished: ok is chain_tx_verify_sig's answer. Unknown
 * jobs are ignored. */
void p2p_on_verified(struct p2p *p, uint64_t job, bool ok, uint64_t now_ms);
/* Timers: handshake/ping/idle timeouts, tx batches, request timeouts,
 * anti-entropy, reconnects; also chain_tick (mempool expiry) at most once
 * per P2P_TICK_MAX_MS. Call it at p2p_next_deadline() (earlier is
 * harmless). */
void p2p_on_tick(struct p2p *p, uint64_t now_ms);
/* Absolute time (ms, the driver's clock) of the next thing the core must
 * do; never more than P2P_TICK_MAX_MS after the last call. Any call into
 * the core (a submission too) may move it earlier: the driver re-reads it
 * after each call. */
uint64_t p2p_next_deadline(const struct p2p *p);

/* ---- Local submissions (node/: RPC, miner) ---- */
/* Validate tx via chain_mempool_accept and announce it (all peers, or the
 * fan-out). Returns the CHAIN_TX_* status (> 0) or a CHAIN_ERR_* reason. */
int p2p_submit_tx(struct p2p *p, const struct chain_tx *tx, uint64_t now_ms);
/* A block this node made: if it extends our tip and its header and merkle
 * root check out, pushed first as a cmpctblock to the peers that asked for
 * high-bandwidth pushes (an `announced` event for them); then
 * chain_accept_block, and the other peers are announced to at once if it
 * became the tip. Returns the chain_status (> 0) or a CHAIN_ERR_* (after
 * the push, if any: nothing more is announced). */
int p2p_submit_block(struct p2p *p, const struct chain_block *b, uint64_t now_ms);

/* ---- Peer management (node/: --connect, addnode, disconnectnode, bans) ---- */
/* Keep a connection to addr (persistent: reconnected with backoff
 * P2P_RECONNECT_MIN_MS doubling to P2P_RECONNECT_MAX_MS). Returns 0,
 * P2P_ERR_EXISTS or P2P_ERR_FULL. The connect happens on the next tick. */
int p2p_connect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);
/* Like p2p_connect_addr, and the connection is kept only if the peer
 * proves this node key in a v2 handshake (--connect=PUBKEY@host:port). */
int p2p_connect_addr_key(struct p2p *p, const struct p2p_addr *addr, const uint8_t key[32],
                         uint64_t now_ms);
/* Forget an added address (does not disconnect). 0 or P2P_ERR_NOT_FOUND. */
int p2p_remove_addr(struct p2p *p, const struct p2p_addr *addr);
/* One-shot connect (addnode onetry). */
void p2p_connect_once(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);
/* Add an address to the address book (discovery candidates). */
void p2p_addrbook_add(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);
/* Copies up to max addresses of the book (RPC getnodeaddresses); returns
 * the count written. */
size_t p2p_addrbook_get(const struct p2p *p, struct p2p_addr *out, size_t max);

/* ---- Persistence: node/ saves these and gives them back after a restart ----
 * The core does no I/O; these are plain copies in and out. */
struct p2p_ban_entry;
struct p2p_addr_record {
    struct p2p_addr addr;
    uint64_t seen_ms;          /* last heard of (the driver's clock) */
    bool tried;                /* in the tried table: we reached it outbound */
    uint64_t source_group;     /* p2p_addrbook_group of who told us; 0: unknown
                                * (placed as heard from itself) */
};
/* The group the address manager buckets a by (p2p_addr_netgroup, but a
 * loopback or RFC 1918 IPv4 address is a group of its own); never 0. */
uint64_t p2p_addrbook_group(const struct p2p_addr *a);
/* Copies up to max book entries (P2P_ADDRBOOK_MAX_ENTRIES at most), the
 * tried ones first; returns the count written. */
size_t p2p_addrbook_export(const struct p2p *p, struct p2p_addr_record *out, size_t max);
/* Adds saved entries to the book (tried ones to the tried table, the
 * others as heard from their source group), keeping seen_ms when it is
 * not in the future; entries are placed with this core's secret, so a
 * few may collide and be dropped. Returns how many were stored. */
size_t p2p_addrbook_import(struct p2p *p, const struct p2p_addr_record *in, size_t n,
                           uint64_t now_ms);
/* Restores saved bans (p2p_list_bans's entries): live ones are re-added
 * with their times and reason, expired ones skipped. Returns how many were
 * restored (stops at P2P_MAX_BANS). */
size_t p2p_bans_import(struct p2p *p, const struct p2p_ban_entry *in, size_t n,
                       uint64_t now_ms);
/* Anchors: the outbound peers we chose ourselves and kept longest, so a
 * restart dials them again first (Bitcoin Core's anchors.dat) and an
 * address flood while we were down cannot replace them. Copies up to
 * min(max, P2P_MAX_ANCHORS) addresses of established outbound peers,
 * oldest first; returns the count. */
size_t p2p_anchors_get(const struct p2p *p, struct p2p_addr *out, size_t max);
/* At start: dial these once each (ahead of discovery) and keep them in
 * the book. Takes at most P2P_MAX_ANCHORS; returns how many were taken. */
size_t p2p_anchors_set(struct p2p *p, const struct p2p_addr *in, size_t n, uint64_t now_ms);
/* Disconnect a peer. 0 or P2P_ERR_UNKNOWN_PEER. */
int p2p_disconnect_peer(struct p2p *p, uint64_t peer, uint64_t now_ms);
/* Disconnect every peer at addr (ip and port). Returns how many. */
int p2p_disconnect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);

/* A subnet: the first `bits` bits of ip (IPv4 as ::ffff:a.b.c.d, so an
 * IPv4 /24 is bits = 96 + 24). bits = 128 is one address. */
struct p2p_subnet {
    uint8_t ip[16];
    uint8_t bits;
};
/* Parses "1.2.3.4", "1.2.3.0/24", "2001:db8::/32", "[::1]" (a port, if
 * any, is ignored). Bits past the prefix are cleared. 0 or
 * P2P_ERR_INVALID_ARG. */
int p2p_subnet_parse(struct p2p_subnet *s, const char *str);
/* "1.2.3.4", "1.2.3.0/24", "2001:db8::/32". */
void p2p_subnet_format(const struct p2p_subnet *s, char out[P2P_ADDR_STRLEN]);
bool p2p_subnet_has(const struct p2p_subnet *s, const struct p2p_addr *a);

/* Bans (operator decisions, setban) are by IP or subnet (port ignored):
 * refused inbound and outbound until they expire. duration_ms 0 = the
 * configured ban time. Banning disconnects every peer in it. 0,
 * P2P_ERR_FULL or P2P_ERR_NOMEM. Misbehaviour does not ban: it
 * discourages (see p2p/banlist.h). */
int p2p_ban(struct p2p *p, const struct p2p_addr *addr, uint64_t duration_ms,
            const char *reason, uint64_t now_ms);
int p2p_ban_subnet(struct p2p *p, const struct p2p_subnet *s, uint64_t duration_ms,
                   const char *reason, uint64_t now_ms);
/* Removes the ban of exactly that IP (or subnet). 0 or P2P_ERR_NOT_FOUND. */
int p2p_unban(struct p2p *p, const struct p2p_addr *addr);
int p2p_unban_subnet(struct p2p *p, const struct p2p_subnet *s);
void p2p_clear_bans(struct p2p *p);
bool p2p_is_banned(const struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms);
/* Misbehaviour marked addr's IP discouraged (may connect while inbound
 * slots are free, evicted first, not dialled). */
bool p2p_is_discouraged(const struct p2p *p, const struct p2p_addr *addr);
/* Peers in subnet s are never discouraged nor disconnected for
 * misbehaviour (Bitcoin's whitelist "noban"). Up to P2P_MAX_NOBAN_SUBNETS:
 * 0, P2P_ERR_FULL or P2P_ERR_INVALID_ARG. */
int p2p_noban_add(struct p2p *p, const struct p2p_subnet *s);
struct p2p_ban_entry {
    struct p2p_addr addr;      /* port 0; the subnet's first address */
    uint8_t bits;              /* prefix length: 128 = one address */
    uint64_t created_ms;
    uint64_t until_ms;
    char reason[48];
};
/* Copies up to max live bans; returns the count written. */
size_t p2p_list_bans(const struct p2p *p, struct p2p_ban_entry *out, size_t max,
                     uint64_t now_ms);

/* ---- Observability ---- */
/* Commands, for per-type counters (index into the arrays below). */
enum p2p_cmd {
    P2P_CMD_VERSION = 0, P2P_CMD_VERACK, P2P_CMD_PING, P2P_CMD_PONG, P2P_CMD_ADDR,
    P2P_CMD_GETADDR, P2P_CMD_INV, P2P_CMD_GETDATA, P2P_CMD_NOTFOUND, P2P_CMD_TX,
    P2P_CMD_BLOCK, P2P_CMD_GETHEADERS, P2P_CMD_HEADERS, P2P_CMD_SENDHEADERS,
    P2P_CMD_MEMPOOL, P2P_CMD_RECON, P2P_CMD_SENDCMPCT, P2P_CMD_CMPCTBLOCK,
    P2P_CMD_GETBLOCKTXN, P2P_CMD_BLOCKTXN, P2P_CMD_PUSHREQ,
    P2P_CMD_UNKNOWN,           /* anything else (counted, then ignored) */
    P2P_CMD_COUNT
};
/* Wire name ("version", ...; "unknown" for P2P_CMD_UNKNOWN). */
const char *p2p_cmd_name(enum p2p_cmd c);

struct p2p_peer_info {
    uint64_t id;
    struct p2p_addr addr;
    bool inbound;
    bool established;               /* handshake done */
    char user_agent[P2P_MAX_USER_AGENT_BYTES + 1];
    char name[P2P_MAX_NAME_BYTES + 1];   /* from "/gossipd:V(NAME)/"; "" if none */
    int32_t version;
    int32_t start_height;
    uint32_t best_height;           /* best height we know it has */
    bool sendheaders;
    uint64_t connected_ms;
    uint64_t last_send_ms, last_recv_ms;
    int64_t ping_ms;                /* last round trip; -1 if none yet */
    int ban_score;
    size_t in_flight;               /* our requests outstanding to it */
    size_t send_queue_bytes;
    uint64_t bytes_sent, bytes_recv;
    uint64_t bytes_sent_per_cmd[P2P_CMD_COUNT];
    uint64_t bytes_recv_per_cmd[P2P_CMD_COUNT];
    uint64_t msgs_sent_per_cmd[P2P_CMD_COUNT];
    uint64_t msgs_recv_per_cmd[P2P_CMD_COUNT];
    bool v2;                        /* encrypted transport (v2) */
    uint8_t session_id[32];         /* v2: the same on both ends */
    bool peer_key_known;            /* v2: its hello was signed by... */
    uint8_t peer_key[32];           /* ...this node key */
};

/* Number of connected peers (established or not). */
size_t p2p_peer_count(const struct p2p *p);
/* Copies up to max peers' info (established or not), lowest id first;
 * returns the count written. */
size_t p2p_get_peers(const struct p2p *p, struct p2p_peer_info *out, size_t max);
/* One peer's info; 0 or P2P_ERR_UNKNOWN_PEER. */
int p2p_get_peer(const struct p2p *p, uint64_t peer, struct p2p_peer_info *out);
/* The peer's node name ("" if unknown peer or none). Borrowed: valid until
 * the peer is gone. */
const char *p2p_peer_name(const struct p2p *p, uint64_t peer);
/* The peer's address, or NULL. Same lifetime. */
const struct p2p_addr *p2p_peer_addr(const struct p2p *p, uint64_t peer);

struct p2p_stats {
    uint64_t msgs_sent[P2P_CMD_COUNT], msgs_recv[P2P_CMD_COUNT];
    uint64_t bytes_sent[P2P_CMD_COUNT], bytes_recv[P2P_CMD_COUNT];
    uint64_t dup_tx_bodies, dup_block_bodies;   /* bodies received we already had */
    uint64_t dup_invs;                          /* inv entries and headers for items we had */
    uint64_t txs_accepted, txs_rejected;
    uint64_t blocks_accepted, blocks_rejected;
    uint64_t recon_rounds, recon_diffs;         /* rounds started; txids found missing */
    uint64_t recon_work;                        /* entries examined answering recon */
    uint64_t recon_throttled;                   /* recon messages dropped or cut by budget */
    uint64_t recon_snapshots;                   /* mempool snapshots built for recon */
    uint64_t bans, misbehaviours;
    uint64_t discouraged;                       /* peers disconnected and discouraged */
    uint64_t block_stalls;                      /* peers dropped for stalling a block */
    uint64_t send_stalls;                       /* peers dropped for not reading (send-stalled) */
    size_t send_queue_bytes;                    /* unsent to all peers (the send budget's) */
    uint64_t addr_rate_limited;                 /* addr entries ignored: no tokens */
    uint64_t local_errors;                      /* our own failures (out of memory ...) */
    uint64_t headers_not_stored;                /* headers whose chain had too little work */
    uint64_t headers_presyncs;                  /* presyncs started (presync.h) */
    uint64_t headers_abandoned;                 /* bodiless branches abandoned */
    uint64_t headers_paused;                    /* reads paused: low-work headers over the rate */
    uint64_t sigs_offloaded;                    /* signature checks given to verify_tx */
    uint64_t cmpct_blocks;                      /* blocks rebuilt from a cmpctblock */
    uint64_t cmpct_fallbacks;                   /* ... that fell back to the full block */
    uint64_t cmpct_dups;                        /* cmpctblocks of blocks we had or were rebuilding */
    uint64_t cmpct_hb_invalid;                  /* invalid blocks pushed in HB mode (not scored) */
    uint64_t tx_pushed;                         /* tx bodies pushed eagerly (push mode) */
    uint64_t push_grafts, push_prunes;          /* bucket links we grafted, pruned */
    uint64_t push_probes;                       /* of the grafts: better-path probes */
    size_t peers, inbound, outbound;
    size_t recv_buffer_bytes;                   /* allocated for frames being received */
};
void p2p_get_stats(const struct p2p *p, struct p2p_stats *out);
/* The running counters alone, without copying or the per-peer sums
 * (peers, inbound, outbound, send_queue_bytes, recv_buffer_bytes are not
 * filled in): for a simulator reading thousands of cores. */
const struct p2p_stats *p2p_counters(const struct p2p *p);

/* Our own user agent ("/gossipd:0.1.0(NAME)/"). */
const char *p2p_user_agent(const struct p2p *p);

/* Internal-consistency check for tests; asserts on failure. */
void p2p_check(const struct p2p *p);

#endif
