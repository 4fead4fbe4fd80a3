/* The p2p core's internal view, shared by its modules (as chain/chainstate.h
 * is for chain/): struct p2p, struct peer and the p2p__ helpers each module
 * offers the others. Nothing outside p2p/ includes it; the public contract
 * is p2p.h.
 *
 * Module map (docs/P2P.md has the prose):
 *   p2p.c      entry points, frame dispatch, tick/deadline composition
 *   result.c   the one error contract: handler result -> score or local error
 *   peer.c     handshake, liveness (ping/idle), send path, flow control
 *   banlist.c  misbehaviour scores, bans
 *   addrbook.c address book, its index, addr gossip
 *   connmgr.c  configured/outbound connections, backoff, discovery
 *   relay.c    known filters, tx batches, fan-out, block announce, serving getdata
 *   push.c     learned eager push of txs per origin bucket (relay_mode push)
 *   fetch.c    request tracker owner, recent/rejected filters, orphan holds,
 *              block download planning, tx/block outcome bookkeeping
 *   sync.c     getheaders/headers (low-work headers not stored), mempool,
 *              reconciliation
 *   presync.c  headers presync state per peer (pure, presync.h)
 *   cmpct.c    compact blocks, high-bandwidth push (cmpct.h)
 *   info.c     peer info, stats, p2p_check
 *
 * Each module with timers has a per-peer and/or node-wide tick and a
 * deadline; p2p_on_tick and p2p_next_deadline call them in a fixed order
 * (the order is part of the deterministic replay of a seed).
 *
 * Peers that misbehave or time out are marked dead and the driver is told
 * at once; their memory is freed by p2p__sweep() at the end of the public
 * entry point, so no handler ever holds a freed peer. */
#ifndef GOSSIPD_P2P_CORE_H
#define GOSSIPD_P2P_CORE_H

#include "p2p/p2p.h"

#include "chain/codec.h"
#include "chain/hmap.h"
#include "p2p/banlist.h"
#include "p2p/msg.h"
#include "p2p/presync.h"
#include "p2p/push.h"
#include "p2p/recon.h"
#include "p2p/txrequest.h"
#include "p2p/util.h"
#include "p2p/wire.h"

#define P2P_VERSION_STRING "0.1.0"


/* A getheaders waiting for its answer (sync.c, served by relay.c). */
struct p2p_headers_wait {
    size_t n;                                   /* locator hashes */
    uint8_t loc[P2P_MAX_LOCATOR_ENTRIES][32];
    uint8_t stop[32];
    uint32_t frame_bytes;                       /* the answer's, once framed (0: not yet) */
};

struct peer {
    uint64_t id;
    /* What the per-event scans read (p2p__peer_find, p2p_next_deadline,
     * p2p_on_tick, p2p__sweep) first, in two cache lines: a simulator
     * runs these over thousands of cores whose state is not in cache. */
    bool inbound;
    bool dead;
    bool got_version, got_verack, established;
    bool hdr_paused;
    uint64_t connected_ms, last_recv_ms, last_send_ms;
    uint64_t ping_nonce, ping_sent_ms, next_ping_ms;
    size_t send_pending;
    uint64_t send_acked_ms;     /* last write the driver reported (or first unsent byte) */
    uint64_t hdr_resume_ms;
    size_t txq_n;
    uint64_t txq_due_ms;
    struct p2p_addr addr;
    bool sent_version;
    uint64_t version_nonce;     /* ours on this connection (p2p__send_version) */
    bool answered_getaddr;
    uint16_t listen_port;       /* inbound: the port its version says it listens on */
    bool relay_own_addr;        /* its listening address is new: forward it */
    int32_t version;
    uint64_t services;
    char ua[P2P_MAX_USER_AGENT_BYTES + 1];
    char name[P2P_MAX_NAME_BYTES + 1];
    int32_t start_height;
    bool relay;
    bool sendheaders;
    uint32_t best_height;
    int64_t ping_ms;
    int score;
    bool noban;                 /* in a noban subnet: never discouraged */
    bool discouraged;           /* its IP was discouraged when it connected */
    uint64_t last_tx_ms, last_block_ms;   /* last new tx / block it gave us (eviction) */
    uint64_t addr_tokens, addr_refill_ms; /* addr token bucket */
    bool peer_key_known;        /* v2: its hello was signed by peer_key */
    uint8_t peer_key[32];
    /* receive: one frame at a time */
    struct p2p_framer framer;
    /* send accounting and flow control */
    bool paused;
    /* low-work headers read (P2P_LOWWORK_HEADERS_PER_S): tokens may go
     * negative; reading is paused until they are back */
    int64_t hdr_tokens;
    uint64_t hdr_refill_ms;     /* (hdr_paused, hdr_resume_ms: at the top) */
    /* getdata items not served yet, in order: gd[gd_head..gd_n) (relay.c) */
    struct p2p_getdata_item *gd;
    size_t gd_head, gd_n, gd_cap;
    /* a getheaders not answered yet (held back by the send budget; a newer
     * one replaces it); NULL when none */
    struct p2p_headers_wait *gh_wait;
    /* relay */
    struct p2p_filter known;
    /* learned eager push (push.c): bucket bitmaps */
    uint32_t push_to;           /* it asked us to push these (its graft) */
    uint32_t push_from;         /* we asked it to push these (our graft) */
    uint64_t push_pruned_ms;    /* last prune either way (in-flight bodies) */
    uint8_t (*txq)[32];         /* txq_n, txq_due_ms: at the top */
    size_t txq_cap;
    /* announcement window (relay.c): batches sent, oldest first */
    size_t inv_out;             /* sum of the slots' n */
    struct { uint64_t ms; size_t n; } inv_slot[P2P_INV_WINDOW_SLOTS];
    size_t inv_slot_first, inv_slot_n;
    /* sync */
    uint64_t getheaders_ms;     /* 0: none in flight */
    struct p2p_presync *presync;   /* its low-work chain being checked (NULL: none) */
    uint64_t recon_ms;          /* 0: no round in flight */
    uint32_t recon_budget;      /* recon messages it may still send us */
    size_t recon_work_left;     /* entries it may still make us examine */
    uint64_t recon_refill_ms;
    /* compact blocks (cmpct.c) */
    bool cmpct_ok;              /* it sent sendcmpct of our version */
    bool cmpct_hb_to;           /* it asked us to push cmpctblock unsolicited */
    bool cmpct_hb_from;         /* we asked it to (one of our HB peers) */
    /* stats */
    uint64_t bytes_sent, bytes_recv;
    uint64_t bytes_sent_cmd[P2P_CMD_COUNT], bytes_recv_cmd[P2P_CMD_COUNT];
    uint64_t msgs_sent_cmd[P2P_CMD_COUNT], msgs_recv_cmd[P2P_CMD_COUNT];
};

struct p2p_getdata_item {
    uint32_t type;
    uint32_t frame_bytes;       /* its answer's size once framed (0: not yet) */
    uint8_t hash[32];
};

struct added {
    struct p2p_addr addr;
    bool persistent;
    bool connecting;
    uint64_t peer;              /* connected peer id, 0 if none */
    uint64_t connect_ms;        /* when connecting started */
    uint64_t next_ms;           /* next attempt */
    uint64_t backoff_ms;
    bool expect_key;            /* keep only a v2 peer proving key */
    uint8_t key[32];
};

/* The v2 transport's node-wide state (transport.c). */
struct p2p_v2_state {
    enum p2p_v2_mode mode;
    bool have_node_sk;
    uint8_t node_sk[64];
    /* Allocated when there is one to hold (a simulator runs thousands of
     * cores): allowed at p2p_create (n_allowed keys), v1_only whole
     * (P2P_V1_ONLY_MAX_ENTRIES) at the first address that needs it. */
    uint8_t (*allowed)[32];
    size_t n_allowed;
    struct p2p_addr *v1_only;
    size_t v1_only_n, v1_only_next;
};

struct book_entry {
    struct p2p_addr addr;
    uint16_t cell;              /* its table cell (addrbook.c): new, then tried cells */
    uint8_t fails;              /* dials failed since the last success */
    uint64_t seen_ms;
    uint64_t next_try_ms;
    uint64_t src_group;         /* p2p_addrbook_group of who told us */
};

#define P2P_ADDED_INITIAL_ENTRIES 8u
_Static_assert(P2P_ADDED_INITIAL_ENTRIES <= P2P_MAX_ADDED_PEERS, "initial within the limit");

/* Signature checks handed to the driver (verify.c). */
struct p2p_vjob;
struct p2p_verify_state {
    struct p2p_vslot *slots;    /* P2P_VERIFY_MAX_JOBS, allocated on first use */
    uint64_t head, next;        /* job ids in [head, next) are out or parked */
    struct hmap parked;         /* txid or block hash -> struct p2p_vjob */
    size_t blocks;              /* parked blocks */
};

struct orphan_hold {
    uint8_t hash[32];
    uint64_t until_ms;
};

struct p2p {
    struct chain *chain;
    struct p2p_io io;
    struct p2p_events ev;
    int chain_listener;         /* chain_add_listener handle; 0: none */
    uint32_t magic;
    char ua[P2P_MAX_USER_AGENT_BYTES + 1];
    struct p2p_rng rng;
    uint64_t salt;
    uint64_t nonce;             /* secret behind each connection's version nonce */
    uint16_t listen_port;
    uint32_t tx_batch_ms, fanout, outbound_target, inbound_max, recon_interval_ms;
    enum p2p_relay_mode relay_mode;
    uint64_t ban_ms;

    struct peer **peers;
    uint64_t *peer_ids;         /* peer_ids[i] == peers[i]->id: p2p__peer_find scans one array */
    size_t n_peers, cap_peers;
    size_t n_dead;              /* peers marked dead since the last p2p__sweep */
    struct p2p_txreq *req;
    struct p2p_filter recent;   /* bodies received or confirmed */
    struct p2p_filter rejected; /* txs refused for policy; cleared on a new tip */

    /* Configured connections: P2P_ADDED_INITIAL_ENTRIES at p2p_create,
     * grown with use up to P2P_MAX_ADDED_PEERS (a simulator runs thousands
     * of cores with a few each). */
    struct added *added;
    size_t n_added, cap_added;
    /* The address manager (addrbook.c): tried entries in [0, n_tried),
     * new ones after. Two indexes (address -> slot, table cell -> slot)
     * in book_idx: open addressing (linear probing, load <= 1/2) over
     * 2 * cap_book cells each, a cell a book slot + 1 (0: empty), homed
     * by hashes salted with p->salt so that a peer cannot grind
     * addresses that pile up in one run. */
    struct book_entry *book;
    size_t n_book, cap_book, n_tried;
    uint16_t *book_idx;
    size_t book_idx_mask;
    struct p2p_banlist bans;
    struct p2p_subnet noban[P2P_MAX_NOBAN_SUBNETS];
    size_t n_noban;
    struct orphan_hold *orphans;    /* P2P_ORPHAN_HOLD_ENTRIES, at the first */
    size_t orphan_next;
    uint8_t (*refused)[32];         /* P2P_REFUSED_BLOCK_ENTRIES ring, at the first */
    size_t refused_next;

    struct p2p_stats stats;
    uint64_t now;
    uint64_t next_recon_ms, next_headers_ms, next_fetch_ms, next_chain_tick_ms;
    uint8_t last_tip[32];
    bool fetch_dirty;
    /* The first body missing on the best header chain, wanted since. */
    uint8_t want_hash[32];
    uint64_t want_since_ms;
    struct p2p_v2_state v2;
    struct p2p_verify_state verify;
    /* Recon answers come from one mempool snapshot, rebuilt only when
     * the mempool changed (a rebuild counts against the budgets). */
    struct p2p_recon_set recon_snap;
    bool recon_snap_ok;
    uint64_t recon_snap_changes;
    size_t recon_work_left;     /* node-wide recon budget this period */
    uint64_t recon_work_refill_ms;
    /* Send budget: the live peers' send_pending summed; since when a body
     * has waited for the node's budget (0: none); where serving resumes. */
    size_t send_total;
    uint64_t send_contended_ms;
    size_t serve_next;
    bool cmpct_on;              /* compact blocks (p2p_config.cmpct) */
    struct p2p_cmpct *cmpct;    /* cmpct.c's state */
    /* Push mode (push.c): who first announced or pushed recent txs, a
     * direct-mapped table by short id, for the better-path probe. */
    struct p2p_push_seen push_seen[P2P_PUSH_SEEN_SLOTS];
    struct p2p_push_cand push_cand[P2P_PUSH_BUCKETS];
};

/* ---- result.c: the one error contract ---- */
/* Every p2p__handle_* returns 0 or a negative P2P_ERR_* / CHAIN_ERR_*;
 * the dispatcher hands it to p2p__result, which applies the one table
 * (result.c): a peer fault scores the peer (p2p__misbehave), a cut drops
 * it unscored, a local error is counted and never blamed. A handler that
 * must score and go on (an unsolicited body is still used) calls
 * p2p__result itself. Returns true if the peer is gone. */
bool p2p__result(struct p2p *p, struct peer *pe, int r);
/* r is ours (out of memory, chain/store failure), not the peer's. */
bool p2p__is_local_error(int r);
/* Counts and reports a local failure (pe may be NULL): for paths that are
 * not a handler's result (ticks, announcing, bookkeeping). */
void p2p__local_error(struct p2p *p, struct peer *pe, int r);
/* Counts r if it is P2P_ERR_NOMEM (a tracker or table that could not
 * grow); other results of those calls are normal outcomes. */
static inline void p2p__nomem(struct p2p *p, struct peer *pe, int r)
{
    if (r == P2P_ERR_NOMEM)
        p2p__local_error(p, pe, r);
}

/* ---- Shared helpers (inline: on every inv entry) ---- */

static inline uint64_t p2p__sid(const struct p2p *p, const uint8_t hash[32])
{
    return p2p_shortid(p->salt, hash);
}

static inline void p2p__known_add(struct p2p *p, struct peer *pe, const uint8_t hash[32])
{
    p2p__nomem(p, pe, p2p_filter_add(&pe->known, p2p__sid(p, hash)));
}

/* Adds to a node-wide filter (recent, rejected). */
static inline void p2p__remember(struct p2p *p, struct p2p_filter *f, const uint8_t hash[32])
{
    p2p__nomem(p, NULL, p2p_filter_add(f, p2p__sid(p, hash)));
}

static inline bool p2p__known_has(const struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    return p2p_filter_has(&pe->known, p2p__sid(p, hash));
}

static inline bool p2p__live(const struct peer *pe)
{
    return pe->established && !pe->dead;
}

/* Never backwards. */
static inline void p2p__set_now(struct p2p *p, uint64_t now_ms)
{
    if (now_ms > p->now)
        p->now = now_ms;
}

/* Frames and sends: the payload is written by the caller between
 * FRAME_START and p2p__frame_send (which frees the writer). */
#define FRAME_START(w) do { wr_init(&(w), P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES); \
                            p2p_frame_begin(&(w)); } while (0)

/* ---- p2p.c ---- */
/* NULL if an inbound peer from addr may hold an established slot (after
 * evicting another if they are full), else the reason to refuse. self:
 * the peer asking, not counted (NULL at connect time). */
const char *p2p__admit_inbound(struct p2p *p, const struct p2p_addr *addr,
                               const struct peer *self);

/* ---- peer.c ---- */
struct peer *p2p__peer_find(const struct p2p *p, uint64_t id);
struct peer *p2p__random_live_peer(struct p2p *p, bool need_no_recon);
void p2p__emit_msg(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, size_t bytes, bool sent);
/* Hands len bytes to the driver with the send accounting and flow control:
 * a frame of cmd, or (cmd P2P_CMD_COUNT) transport bytes such as a v2
 * handshake, counted in the peer's totals only. */
void p2p__send_bytes(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, const uint8_t *buf,
                     size_t len);
void p2p__frame_send(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, struct wr *w);
void p2p__send_empty(struct p2p *p, struct peer *pe, enum p2p_cmd cmd);
void p2p__send_nonce(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint64_t nonce);
void p2p__send_inv(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint32_t type,
                   const uint8_t (*hashes)[32], size_t n);
void p2p__send_version(struct p2p *p, struct peer *pe);
/* The connection is over: tell the driver (if we close it), forget the
 * peer's requests, schedule a reconnect. Memory goes in p2p__sweep(). */
void p2p__peer_gone(struct p2p *p, struct peer *pe, const char *reason, bool tell_driver);
void p2p__drop(struct p2p *p, struct peer *pe, const char *reason);
void p2p__peer_free(struct peer *pe);
void p2p__sweep(struct p2p *p);
int p2p__handle_version(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
int p2p__handle_verack(struct p2p *p, struct peer *pe);
int p2p__handle_ping(struct p2p *p, struct peer *pe, uint64_t nonce);
int p2p__handle_pong(struct p2p *p, struct peer *pe, uint64_t nonce);
/* Reading from pe may resume: neither its send queue nor its low-work
 * headers hold it paused. */
void p2p__resume_read(struct p2p *p, struct peer *pe);
/* pe sent n headers that stored nothing: charged to its bucket. */
void p2p__lowwork_headers(struct p2p *p, struct peer *pe, size_t n);
/* Liveness of one peer (handshake, idle, ping timeouts; pings). */
void p2p__peer_tick(struct p2p *p, struct peer *pe);
uint64_t p2p__peer_next_deadline(const struct p2p *p, const struct peer *pe);

/* ---- transport.c: v1 or v2 per connection ---- */
int p2p__transport_config(struct p2p *p, const struct p2p_config *cfg);
/* A connection is up: pick its transport; an outbound v1 one sends version. */
void p2p__transport_start(struct p2p *p, struct peer *pe);
/* Sends the handshake bytes the framer queued. */
void p2p__transport_flush(struct p2p *p, struct peer *pe);
/* The v2 handshake finished (fr: the P2P_FRAME_V2_READY): check the peer's
 * key against the allowlist or the added address, then an outbound peer
 * sends version. Returns false if the peer was dropped. */
bool p2p__transport_ready(struct p2p *p, struct peer *pe, const struct p2p_frame *fr);
/* The connection ended: remember a v1-only address (see p2p_config). Returns
 * true if an added address should be retried at once (as v1). */
bool p2p__transport_gone(struct p2p *p, struct peer *pe);

/* ---- banlist.c ---- */
bool p2p__is_noban(const struct p2p *p, const struct p2p_addr *a);
/* Adds to the peer's score; at P2P_BAN_SCORE it is dropped and its IP
 * discouraged (unless noban: then it stays; or local: dropped only).
 * Returns true if the peer is gone. Called by p2p__result only. */
bool p2p__misbehave(struct p2p *p, struct peer *pe, int score, const char *reason);

/* ---- addrbook.c ---- */
enum book_result {
    BOOK_KNOWN,         /* held already (refreshed), or not storable */
    BOOK_ADDED,         /* new, stored in a free slot */
    BOOK_REPLACED,      /* stored in place of a terrible one in its cell */
    BOOK_COLLIDED,      /* not stored: its new-table cell is held */
};
/* Heard of a from a source of group src_group (p2p_addrbook_group). */
enum book_result p2p__book_add_from(struct p2p *p, const struct p2p_addr *a, uint64_t src_group);
/* As from a itself (operator, seed, a peer's own listening address). */
enum book_result p2p__book_add(struct p2p *p, const struct p2p_addr *a);
/* An outbound handshake with a finished: into the tried table. */
void p2p__book_good(struct p2p *p, const struct p2p_addr *a);
/* A dial to a failed (counts toward "terrible"). */
void p2p__book_failed(struct p2p *p, const struct p2p_addr *a);
/* The book slot to dial next (tried or new, even odds), SIZE_MAX if empty. */
size_t p2p__book_pick(struct p2p *p);
size_t p2p__book_find(const struct p2p *p, const struct p2p_addr *a);
void p2p__relay_addr(struct p2p *p, const struct peer *from, const struct p2p_addr *a);
int p2p__handle_addr(struct p2p *p, struct peer *pe, const struct p2p_list *l);
/* n more addresses the peer may send us (we asked: getaddr). */
void p2p__addr_tokens_grant(struct p2p *p, struct peer *pe, uint64_t n);
int p2p__handle_getaddr(struct p2p *p, struct peer *pe);
void p2p__addrbook_check(const struct p2p *p);

/* ---- connmgr.c ---- */
/* The inbound peer to evict for a newcomer (evict.h), never self; NULL if
 * all are protected. */
struct peer *p2p__evict_victim(struct p2p *p, const struct peer *self);
struct added *p2p__added_find(struct p2p *p, const struct p2p_addr *a);
void p2p__added_remove(struct p2p *p, struct added *e);
/* Configured connections (timeouts, reconnects) and discovery. */
void p2p__connmgr_tick(struct p2p *p);
uint64_t p2p__connmgr_next_deadline(const struct p2p *p);

/* ---- relay.c ---- */
void p2p__flush_txq(struct p2p *p, struct peer *pe);
bool p2p__queue_tx(struct p2p *p, struct peer *pe, const uint8_t txid[32]);
void p2p__announce_tx(struct p2p *p, const uint8_t txid[32]);
void p2p__tip_changed(struct p2p *p);
int p2p__handle_getdata(struct p2p *p, struct peer *pe, const struct p2p_list *l);
/* Serves waiting getdata items, every peer in turn from a rotating start,
 * as far as the peers' unsent bytes and the node's send budget allow. */
void p2p__serve_getdata(struct p2p *p);
/* Serves pe's waiting answers (a getheaders, then getdata items) as far
 * as its unsent bytes and the node's budget allow; notes contention. */
void p2p__serve_peer(struct p2p *p, struct peer *pe);
/* A peer's share of the send budget: P2P_SEND_NODE_BUDGET_BYTES over the
 * established peers, at least what serving lets one peer hold
 * (P2P_SEND_SERVE_BELOW_BYTES and one largest block frame). */
size_t p2p__send_share(const struct p2p *p);
/* The peer asked for n txs: as many announcements leave its window. */
void p2p__inv_window_credit(struct p2p *p, struct peer *pe, size_t n);
/* The peer's tx batch, when due. */
void p2p__relay_peer_tick(struct p2p *p, struct peer *pe);
uint64_t p2p__relay_peer_next_deadline(const struct p2p *p, const struct peer *pe);

/* ---- fetch.c ---- */
bool p2p__have_tx(const struct p2p *p, const uint8_t txid[32]);
void p2p__send_requests(struct p2p *p);
void p2p__plan_fetch(struct p2p *p);
bool p2p__block_reject_is_fault(int r);
/* The chain origin tag of a tx from src (peer ids are the tags; RPC has
 * its own). */
#define P2P__ORIGIN_RPC UINT64_MAX
uint64_t p2p__origin_of(enum p2p_source src, uint64_t peer);
/* The core's chain listener (chain_add_listener). */
struct chain_events p2p__fetch_chain_events(struct p2p *p);
int p2p__handle_inv(struct p2p *p, struct peer *pe, const struct p2p_list *l);
int p2p__handle_notfound(struct p2p *p, struct peer *pe, const struct p2p_list *l);
int p2p__handle_tx(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
int p2p__handle_block(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len);
/* A whole block body from pe (a block message, or a rebuilt compact
 * block: bytes on the wire): p2p__handle_block after decoding (b may be
 * emptied: moved to the verifier; the caller frees it). Returns its
 * result (0, or the fault to score). */
int p2p__block_from_peer(struct p2p *p, struct peer *pe, struct chain_block *b, size_t bytes,
                         bool requested, bool hb_push);
/* p2p's own bit among p2p__accept_block's flags (chain/ never sees it): a
 * high-bandwidth push, sent before validation (p2p__cmpct_hb_demote). */
#define P2P__BLOCK_HB_PUSH (1u << 31)
/* Re-plans block downloads when due, then sends what the scheduler says. */
void p2p__fetch_tick(struct p2p *p);
uint64_t p2p__fetch_next_deadline(const struct p2p *p);

/* Tail of tx/block handling, after the checks done on arrival; also run
 * for a parked item once its signatures are checked (the peer may be gone
 * by then: found by id). Return a handler's result for the sender. */
int p2p__accept_tx(struct p2p *p, uint64_t from, const struct chain_tx *tx);
/* flags: chain_accept_block_ex's, decided on arrival (p2p__handle_block),
 * and P2P__BLOCK_HB_PUSH. */
int p2p__accept_block(struct p2p *p, uint64_t from, unsigned flags, struct chain_block *b);
/* Whether an orphan or parked block is held (not to be fetched again). */
void p2p__block_hold(struct p2p *p, const uint8_t hash[32]);

/* ---- verify.c: signature checks on the driver's workers ---- */
/* Parks the tx (copied) or the block (moved: *b is emptied) if the driver
 * takes its uncached signatures; false: handle it inline now. */
bool p2p__verify_park_tx(struct p2p *p, uint64_t from, const struct chain_tx *tx);
bool p2p__verify_park_block(struct p2p *p, uint64_t from, unsigned flags, struct chain_block *b);
bool p2p__verify_parked(const struct p2p *p, const uint8_t hash[32]);
/* The parked block with this hash (its txs all present, their signatures
 * not all checked yet), or NULL. Borrowed: valid until the next
 * p2p_on_verified or p2p_destroy, which may connect and free it. */
const struct chain_block *p2p__verify_parked_block(const struct p2p *p, const uint8_t hash[32]);
void p2p__verify_free(struct p2p *p);

/* ---- sync.c ---- */
void p2p__send_getheaders(struct p2p *p, struct peer *pe, const uint8_t *first);
void p2p__start_recon(struct p2p *p, struct peer *pe);
/* Frees the recon snapshot (p2p_destroy). */
void p2p__recon_free(struct p2p *p);
/* Keeps the request in pe->gh_wait and serves it as the budget allows. */
int p2p__handle_getheaders(struct p2p *p, struct peer *pe, const struct p2p_getheaders *g);
/* Frames the answer to gw in *w (to be sent or freed) and gives its
 * headers' hashes in *hashes (n of them; the caller frees it). Returns 0, or
 * P2P_ERR_NOMEM (nothing to free). */
int p2p__headers_frame(struct p2p *p, const struct p2p_headers_wait *gw, struct wr *w,
                       uint8_t (**hashes)[32], size_t *n);
int p2p__handle_headers(struct p2p *p, struct peer *pe, const struct p2p_list *l);
int p2p__handle_mempool(struct p2p *p, struct peer *pe);
int p2p__handle_recon(struct p2p *p, struct peer *pe, const struct p2p_recon_msg *m);
/* Per peer: getheaders and recon round timeouts. */
void p2p__sync_peer_tick(struct p2p *p, struct peer *pe);
/* Node-wide: a recon round and a headers sync with random peers. */
void p2p__sync_tick(struct p2p *p);
uint64_t p2p__sync_next_deadline(const struct p2p *p);

/* ---- info.c ---- */
void p2p__fill_info(const struct p2p *p, const struct peer *pe, struct p2p_peer_info *pi);

#endif
