/* The gossip core. See p2p.h for the contract and docs/PROTOCOL.md
 * ("## Relay rules") for the policy in prose.
 *
 * Peers that misbehave or time out are marked dead and the driver is told
 * at once; their memory is freed by sweep() at the end of the public entry
 * point, so no handler ever holds a freed peer. */
#include "p2p/p2p.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "p2p/msg.h"
#include "p2p/recon.h"
#include "p2p/txrequest.h"
#include "p2p/util.h"
#include "p2p/wire.h"

#define P2P_VERSION_STRING "0.1.0"
#define ORPHAN_HOLD_MS      P2P_ORPHAN_HOLD_MS
#define ORPHAN_HOLD_ENTRIES P2P_ORPHAN_HOLD_ENTRIES
#define POLL_BATCH          P2P_POLL_BATCH_ENTRIES

struct peer {
    uint64_t id;
    struct p2p_addr addr;
    bool inbound;
    bool dead;
    bool got_version, got_verack, established;
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
    uint64_t connected_ms, last_recv_ms, last_send_ms;
    uint64_t ping_nonce, ping_sent_ms, next_ping_ms;
    int64_t ping_ms;
    int score;
    /* receive: one frame at a time */
    uint8_t *rbuf;
    size_t rlen, rcap;
    struct p2p_frame_hdr hdr;
    bool have_hdr;
    /* send accounting and flow control */
    size_t send_pending;
    bool paused;
    /* relay */
    struct p2p_filter known;
    uint8_t (*txq)[32];
    size_t txq_n, txq_cap;
    uint64_t txq_due_ms;
    /* sync */
    uint64_t getheaders_ms;     /* 0: none in flight */
    uint64_t recon_ms;          /* 0: no round in flight */
    uint32_t recon_budget;      /* recon messages it may still send us */
    uint64_t recon_refill_ms;
    /* stats */
    uint64_t bytes_sent, bytes_recv;
    uint64_t bytes_sent_cmd[P2P_CMD_COUNT], bytes_recv_cmd[P2P_CMD_COUNT];
    uint64_t msgs_sent_cmd[P2P_CMD_COUNT], msgs_recv_cmd[P2P_CMD_COUNT];
};

struct added {
    struct p2p_addr addr;
    bool persistent;
    bool connecting;
    uint64_t peer;              /* connected peer id, 0 if none */
    uint64_t connect_ms;        /* when connecting started */
    uint64_t next_ms;           /* next attempt */
    uint64_t backoff_ms;
};

struct book_entry {
    struct p2p_addr addr;
    uint64_t seen_ms;
    uint64_t next_try_ms;
};

struct orphan_hold {
    uint8_t hash[32];
    uint64_t until_ms;
};

/* A tx chain/ holds for a nonce gap, and who gave it to us. */
struct waiting_src {
    uint8_t txid[32];
    enum p2p_source src;
    uint64_t peer;
    bool used;
};

struct p2p {
    struct chain *chain;
    struct p2p_io io;
    struct p2p_events ev;
    struct chain_events fwd;
    struct chain_events mine;
    uint32_t magic;
    char ua[P2P_MAX_USER_AGENT_BYTES + 1];
    struct p2p_rng rng;
    uint64_t salt;
    uint64_t nonce;             /* our version nonce: self-connection check */
    uint16_t listen_port;
    uint32_t tx_batch_ms, fanout, outbound_target, inbound_max, recon_interval_ms;
    uint64_t ban_ms;

    struct peer **peers;
    size_t n_peers, cap_peers;
    struct p2p_txreq *req;
    struct p2p_filter recent;   /* bodies received or confirmed */
    struct p2p_filter rejected; /* txs refused for policy; cleared on a new tip */

    struct added added[P2P_MAX_ADDED_PEERS];
    size_t n_added;
    struct book_entry *book;
    size_t n_book, cap_book;
    /* Index of the book: open addressing (linear probing, load <= 1/2)
     * over 2 * cap_book cells, each a book slot + 1 (0: empty), homed by
     * a hash of the address salted with p->salt so that a peer cannot
     * grind addresses that pile up in one run. */
    uint16_t *book_idx;
    size_t book_idx_mask;
    struct p2p_ban_entry *bans;
    size_t n_bans, cap_bans;
    struct orphan_hold orphans[ORPHAN_HOLD_ENTRIES];
    size_t orphan_next;
    struct waiting_src waiting[P2P_WAITING_SOURCES_MAX];
    size_t waiting_next, waiting_used;

    struct p2p_stats stats;
    uint64_t now;
    uint64_t next_recon_ms, next_headers_ms, next_fetch_ms, next_chain_tick_ms;
    uint8_t last_tip[32];
    bool fetch_dirty;
    const uint8_t *accepting;   /* txid being accepted by us right now */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void emit_msg(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, size_t bytes, bool sent)
{
    if (sent) {
        p->stats.msgs_sent[cmd]++;
        p->stats.bytes_sent[cmd] += bytes;
        pe->msgs_sent_cmd[cmd]++;
        pe->bytes_sent_cmd[cmd] += bytes;
        pe->bytes_sent += bytes;
        if (p->ev.msg_sent)
            p->ev.msg_sent(p->ev.ctx, pe->id, p2p_cmd_name(cmd), bytes);
    } else {
        p->stats.msgs_recv[cmd]++;
        p->stats.bytes_recv[cmd] += bytes;
        pe->msgs_recv_cmd[cmd]++;
        pe->bytes_recv_cmd[cmd] += bytes;
        if (p->ev.msg_recv)
            p->ev.msg_recv(p->ev.ctx, pe->id, p2p_cmd_name(cmd), bytes);
    }
}

static uint64_t sid(const struct p2p *p, const uint8_t hash[32])
{
    return p2p_shortid(p->salt, hash);
}

static void known_add(struct p2p *p, struct peer *pe, const uint8_t hash[32])
{
    p2p_filter_add(&pe->known, sid(p, hash));
}

static bool known_has(const struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    return p2p_filter_has(&pe->known, sid(p, hash));
}

static struct peer *peer_find(const struct p2p *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->id == id && !p->peers[i]->dead)
            return p->peers[i];
    return NULL;
}

static bool live(const struct peer *pe)
{
    return pe->established && !pe->dead;
}

static void drop_peer(struct p2p *p, struct peer *pe, const char *reason);

/* Hands a finished frame (in w, from offset 0) to the driver. */
static void send_frame(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, struct wr *w)
{
    if (pe->dead || w->err || w->len == 0)
        return;
    size_t len = w->len;
    if (p->io.send(p->io.ctx, pe->id, w->buf, len) < 0) {
        drop_peer(p, pe, "send-failed");
        return;
    }
    emit_msg(p, pe, cmd, len, true);
    pe->last_send_ms = p->now;
    pe->send_pending += len;
    if (pe->send_pending > P2P_SEND_QUEUE_MAX_BYTES) {
        drop_peer(p, pe, "send-queue-full");
    } else if (!pe->paused && pe->send_pending > P2P_SEND_QUEUE_PAUSE_BYTES) {
        pe->paused = true;
        if (p->io.pause_read)
            p->io.pause_read(p->io.ctx, pe->id, true);
    }
}

/* Frames and sends: the payload is written by the caller between. */
#define FRAME_START(w) do { wr_init(&(w), P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES); \
                            p2p_frame_begin(&(w)); } while (0)

static void frame_send(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, struct wr *w)
{
    if (p2p_frame_end(w, 0, p->magic, cmd) == 0)
        send_frame(p, pe, cmd, w);
    wr_free(w);
}

static void send_empty(struct p2p *p, struct peer *pe, enum p2p_cmd cmd)
{
    struct wr w;
    FRAME_START(w);
    frame_send(p, pe, cmd, &w);
}

static void send_nonce(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint64_t nonce)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_nonce(&w, nonce);
    frame_send(p, pe, cmd, &w);
}

static void send_inv(struct p2p *p, struct peer *pe, enum p2p_cmd cmd, uint32_t type,
                     const uint8_t (*hashes)[32], size_t n)
{
    while (n > 0 && !pe->dead) {
        size_t k = n < P2P_MAX_INV_ENTRIES ? n : P2P_MAX_INV_ENTRIES;
        struct wr w;
        FRAME_START(w);
        p2p_put_inv(&w, type, hashes, k);
        frame_send(p, pe, cmd, &w);
        hashes += k;
        n -= k;
    }
}

static void send_getheaders(struct p2p *p, struct peer *pe, const uint8_t *first)
{
    uint8_t loc[P2P_MAX_LOCATOR_ENTRIES][32];
    size_t n = 0;
    if (first)
        memcpy(loc[n++], first, 32);
    n += chain_locator(p->chain, loc + n, P2P_MAX_LOCATOR_ENTRIES - n);
    static const uint8_t zero[32];
    struct wr w;
    FRAME_START(w);
    p2p_put_getheaders(&w, (const uint8_t (*)[32])loc, n, zero);
    frame_send(p, pe, P2P_CMD_GETHEADERS, &w);
    pe->getheaders_ms = p->now ? p->now : 1;
}

static void send_version(struct p2p *p, struct peer *pe)
{
    struct p2p_version v;
    memset(&v, 0, sizeof(v));
    v.version = P2P_PROTOCOL_VERSION;
    v.services = P2P_SERVICES;
    v.timestamp = (int64_t)(p->now / 1000);
    v.addr_recv = pe->addr;
    v.addr_from.port = p->listen_port;
    v.nonce = p->nonce;
    memcpy(v.user_agent, p->ua, sizeof(v.user_agent));
    v.start_height = (int32_t)chain_height(p->chain);
    v.relay = true;
    struct wr w;
    FRAME_START(w);
    p2p_put_version(&w, &v);
    frame_send(p, pe, P2P_CMD_VERSION, &w);
}

/* ------------------------------------------------------------------ */
/* Bans, misbehaviour, connection bookkeeping                          */

static struct p2p_ban_entry *ban_find(const struct p2p *p, const struct p2p_addr *a,
                                      uint64_t now_ms)
{
    for (size_t i = 0; i < p->n_bans; i++)
        if (p2p_addr_same_ip(&p->bans[i].addr, a) && p->bans[i].until_ms > now_ms)
            return &p->bans[i];
    return NULL;
}

static struct added *added_find(struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->n_added; i++)
        if (p2p_addr_equal(&p->added[i].addr, a))
            return &p->added[i];
    return NULL;
}

static void added_remove(struct p2p *p, struct added *e)
{
    *e = p->added[--p->n_added];
}

static void fill_info(const struct p2p *p, const struct peer *pe, struct p2p_peer_info *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->id = pe->id;
    pi->addr = pe->addr;
    pi->inbound = pe->inbound;
    pi->established = pe->established;
    memcpy(pi->user_agent, pe->ua, sizeof(pi->user_agent));
    memcpy(pi->name, pe->name, sizeof(pi->name));
    pi->version = pe->version;
    pi->start_height = pe->start_height;
    pi->best_height = pe->best_height;
    pi->sendheaders = pe->sendheaders;
    pi->connected_ms = pe->connected_ms;
    pi->last_send_ms = pe->last_send_ms;
    pi->last_recv_ms = pe->last_recv_ms;
    pi->ping_ms = pe->ping_ms;
    pi->ban_score = pe->score;
    pi->in_flight = p2p_txreq_in_flight(p->req, pe->id);
    pi->send_queue_bytes = pe->send_pending;
    pi->bytes_sent = pe->bytes_sent;
    pi->bytes_recv = pe->bytes_recv;
    memcpy(pi->bytes_sent_per_cmd, pe->bytes_sent_cmd, sizeof(pi->bytes_sent_per_cmd));
    memcpy(pi->bytes_recv_per_cmd, pe->bytes_recv_cmd, sizeof(pi->bytes_recv_per_cmd));
    memcpy(pi->msgs_sent_per_cmd, pe->msgs_sent_cmd, sizeof(pi->msgs_sent_per_cmd));
    memcpy(pi->msgs_recv_per_cmd, pe->msgs_recv_cmd, sizeof(pi->msgs_recv_per_cmd));
}

/* The connection is over: tell the driver (if we close it), forget the
 * peer's requests, schedule a reconnect. Memory goes in sweep(). */
static void peer_gone(struct p2p *p, struct peer *pe, const char *reason, bool tell_driver)
{
    if (pe->dead)
        return;
    pe->dead = true;
    if (tell_driver)
        p->io.disconnect(p->io.ctx, pe->id, reason);
    p2p_txreq_peer_gone(p->req, pe->id);
    for (size_t i = 0; i < p->n_added; i++) {
        struct added *a = &p->added[i];
        if (a->peer != pe->id)
            continue;
        a->peer = 0;
        if (!a->persistent) {
            added_remove(p, a);
        } else {
            a->next_ms = p->now + a->backoff_ms;
            a->backoff_ms = a->backoff_ms * 2 > P2P_RECONNECT_MAX_MS ? P2P_RECONNECT_MAX_MS
                                                                     : a->backoff_ms * 2;
        }
        break;
    }
    if (p->ev.peer_disconnected) {
        struct p2p_peer_info pi;
        fill_info(p, pe, &pi);
        p->ev.peer_disconnected(p->ev.ctx, &pi, reason);
    }
    p->fetch_dirty = true;
}

static void drop_peer(struct p2p *p, struct peer *pe, const char *reason)
{
    peer_gone(p, pe, reason, true);
}

static void peer_free(struct peer *pe)
{
    free(pe->rbuf);
    free(pe->txq);
    p2p_filter_free(&pe->known);
    free(pe);
}

static void sweep(struct p2p *p)
{
    size_t j = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (p->peers[i]->dead)
            peer_free(p->peers[i]);
        else
            p->peers[j++] = p->peers[i];
    }
    p->n_peers = j;
}

static int add_ban(struct p2p *p, const struct p2p_addr *a, uint64_t duration_ms,
                   const char *reason)
{
    struct p2p_ban_entry *b = ban_find(p, a, p->now);
    if (!b) {
        /* Reuse an expired slot first. */
        for (size_t i = 0; i < p->n_bans && !b; i++)
            if (p->bans[i].until_ms <= p->now)
                b = &p->bans[i];
        if (!b) {
            if (p->n_bans >= P2P_MAX_BANS)
                return P2P_ERR_FULL;
            if (p->n_bans == p->cap_bans) {
                size_t cap = p->cap_bans ? 2 * p->cap_bans : 8;
                struct p2p_ban_entry *nb = realloc(p->bans, cap * sizeof(*nb));
                if (!nb)
                    return P2P_ERR_NOMEM;
                p->bans = nb;
                p->cap_bans = cap;
            }
            b = &p->bans[p->n_bans++];
        }
    }
    memset(b, 0, sizeof(*b));
    memcpy(b->addr.ip, a->ip, 16);
    b->created_ms = p->now;
    b->until_ms = p->now + (duration_ms ? duration_ms : p->ban_ms);
    snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "manual");
    p->stats.bans++;
    if (p->ev.ban)
        p->ev.ban(p->ev.ctx, &b->addr, b->until_ms - b->created_ms, b->reason);
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p2p_addr_same_ip(&p->peers[i]->addr, a))
            drop_peer(p, p->peers[i], "banned");
    return 0;
}

/* Adds to the peer's score; at P2P_BAN_SCORE it is dropped and its IP
 * banned. Returns true if the peer is gone. */
static bool misbehave(struct p2p *p, struct peer *pe, int score, const char *reason)
{
    if (pe->dead)
        return true;
    pe->score += score;
    p->stats.misbehaviours++;
    if (p->ev.misbehaviour)
        p->ev.misbehaviour(p->ev.ctx, pe->id, &pe->addr, pe->score, reason);
    if (pe->score >= P2P_BAN_SCORE) {
        struct p2p_addr a = pe->addr;
        drop_peer(p, pe, reason);
        add_ban(p, &a, 0, reason);
        return true;
    }
    return false;
}

/* ---- address book index ---- */

_Static_assert(P2P_ADDRBOOK_MAX_ENTRIES < UINT16_MAX, "book slot + 1 fits a u16 index cell");

static size_t book_home(const struct p2p *p, const struct p2p_addr *a)
{
    uint8_t key[32] = { 0 };
    memcpy(key, a->ip, 16);
    key[16] = (uint8_t)(a->port >> 8);
    key[17] = (uint8_t)a->port;
    return (size_t)p2p_shortid(p->salt, key) & p->book_idx_mask;
}

/* Looks a up in the index: true with *cell the cell naming its slot, or
 * false with *cell the empty cell that ends its probe run. */
static bool book_idx_find(const struct p2p *p, const struct p2p_addr *a, size_t *cell)
{
    for (size_t i = book_home(p, a);; i = (i + 1) & p->book_idx_mask) {
        uint16_t v = p->book_idx[i];
        *cell = i;
        if (v == 0)
            return false;
        if (p2p_addr_equal(&p->book[v - 1].addr, a))
            return true;
    }
}

/* The book slot holding a, or SIZE_MAX. */
static size_t book_find(const struct p2p *p, const struct p2p_addr *a)
{
    size_t cell;
    if (!p->book_idx || !book_idx_find(p, a, &cell))
        return SIZE_MAX;
    return (size_t)p->book_idx[cell] - 1;
}

/* Indexes book slot `slot`, whose address is not indexed yet. */
static void book_idx_insert(struct p2p *p, size_t slot)
{
    size_t cell;
    bool found = book_idx_find(p, &p->book[slot].addr, &cell);
    assert(!found);
    (void)found;
    p->book_idx[cell] = (uint16_t)(slot + 1);
}

/* Unindexes book slot `slot` (its address still in place). Backward shift:
 * later cells of the run move into the hole unless their home lies
 * cyclically in (hole, cell], so no tombstones are needed. */
static void book_idx_remove(struct p2p *p, size_t slot)
{
    size_t i;
    bool found = book_idx_find(p, &p->book[slot].addr, &i);
    assert(found && p->book_idx[i] == slot + 1);
    (void)found;
    p->book_idx[i] = 0;
    for (size_t j = (i + 1) & p->book_idx_mask; p->book_idx[j]; j = (j + 1) & p->book_idx_mask) {
        size_t k = book_home(p, &p->book[p->book_idx[j] - 1].addr);
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        p->book_idx[i] = p->book_idx[j];
        p->book_idx[j] = 0;
        i = j;
    }
}

/* Grows the book to cap entries and rebuilds the index for it. On out
 * of memory nothing changes (the book keeps its capacity and evicts). */
static void book_grow(struct p2p *p, size_t cap)
{
    uint16_t *idx = calloc(2 * cap, sizeof(*idx));
    if (!idx)
        return;
    struct book_entry *nb = realloc(p->book, cap * sizeof(*nb));
    if (!nb) {
        free(idx);
        return;
    }
    p->book = nb;
    p->cap_book = cap;
    free(p->book_idx);
    p->book_idx = idx;
    p->book_idx_mask = 2 * cap - 1;
    for (size_t i = 0; i < p->n_book; i++)
        book_idx_insert(p, i);
}

enum book_result {
    BOOK_KNOWN,         /* held already (refreshed), or not storable */
    BOOK_ADDED,         /* new, stored in a free slot */
    BOOK_REPLACED,      /* stored in place of a random one (book full) */
};

/* Adds or refreshes an address. Only BOOK_ADDED means "new to us" for
 * relay: a full book cannot tell a new address from one it evicted, and
 * forwarding those would keep the flood alive for ever once the network
 * has more nodes than the book has room (each forward evicts another
 * address, which is then "new" again when it comes back). */
static enum book_result book_add(struct p2p *p, const struct p2p_addr *a)
{
    if (a->port == 0)
        return BOOK_KNOWN;
    size_t at = book_find(p, a);
    if (at != SIZE_MAX) {
        p->book[at].seen_ms = p->now;
        return BOOK_KNOWN;
    }
    if (p->n_book == p->cap_book && p->cap_book < P2P_ADDRBOOK_MAX_ENTRIES) {
        /* Grows with use: a simulator runs thousands of cores. */
        size_t cap = p->cap_book ? 2 * p->cap_book : 16;
        if (cap > P2P_ADDRBOOK_MAX_ENTRIES)
            cap = P2P_ADDRBOOK_MAX_ENTRIES;
        book_grow(p, cap);
    }
    enum book_result r;
    if (p->n_book < p->cap_book) {
        at = p->n_book++;
        r = BOOK_ADDED;
    } else if (p->n_book == 0) {
        return BOOK_KNOWN;
    } else {
        at = (size_t)p2p_rng_below(&p->rng, p->n_book);   /* evict a random one */
        book_idx_remove(p, at);
        r = BOOK_REPLACED;
    }
    p->book[at].addr = *a;
    p->book[at].seen_ms = p->now;
    p->book[at].next_try_ms = 0;
    book_idx_insert(p, at);
    return r;
}

static struct peer *random_live_peer(struct p2p *p, bool need_no_recon);

/* Forwards an address new to us to a few random peers (not its source),
 * so a node that joins is learnt beyond the peers it connected to. Only
 * addresses stored without an eviction (BOOK_ADDED) are forwarded, so a
 * node forwards each address at most once and none once its book is
 * full: the flood dies out at any network size. */
static void relay_addr(struct p2p *p, const struct peer *from, const struct p2p_addr *a)
{
    struct p2p_addr_entry e = { .time = (uint32_t)(p->now / 1000), .services = P2P_SERVICES,
                                .addr = *a };
    for (unsigned k = 0; k < P2P_ADDR_RELAY_FANOUT; k++) {
        struct peer *pe = random_live_peer(p, false);
        if (!pe || pe == from || p2p_addr_equal(&pe->addr, a))
            continue;
        struct wr w;
        FRAME_START(w);
        p2p_put_addr(&w, &e, 1);
        frame_send(p, pe, P2P_CMD_ADDR, &w);
    }
}

/* ------------------------------------------------------------------ */
/* Relay                                                               */

static void flush_txq(struct p2p *p, struct peer *pe)
{
    if (pe->txq_n == 0 || pe->dead)
        return;
    send_inv(p, pe, P2P_CMD_INV, P2P_INV_TX, (const uint8_t (*)[32])pe->txq, pe->txq_n);
    pe->txq_n = 0;
}

/* Queues txid for the peer's next inv batch unless it is known to have
 * it. Returns true if queued. */
static bool queue_tx(struct p2p *p, struct peer *pe, const uint8_t txid[32])
{
    if (!live(pe) || !pe->relay || known_has(p, pe, txid))
        return false;
    if (pe->txq_n == pe->txq_cap) {
        if (pe->txq_cap >= P2P_TX_QUEUE_MAX_ENTRIES)
            return false;
        size_t cap = pe->txq_cap ? 2 * pe->txq_cap : 64;
        if (cap > P2P_TX_QUEUE_MAX_ENTRIES)
            cap = P2P_TX_QUEUE_MAX_ENTRIES;
        uint8_t (*nq)[32] = realloc(pe->txq, cap * 32);
        if (!nq)
            return false;
        pe->txq = nq;
        pe->txq_cap = cap;
    }
    known_add(p, pe, txid);
    if (pe->txq_n == 0)
        pe->txq_due_ms = p->now + p->tx_batch_ms;
    memcpy(pe->txq[pe->txq_n++], txid, 32);
    return true;
}

/* Announces a tx to every peer that does not know it, or to a random
 * `fanout` of them. */
static void announce_tx(struct p2p *p, const uint8_t txid[32])
{
    struct peer *cand[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        struct peer *pe = p->peers[i];
        if (live(pe) && pe->relay && !known_has(p, pe, txid))
            cand[n++] = pe;
    }
    size_t k = n;
    if (p->fanout && p->fanout < n) {
        k = p->fanout;
        for (size_t i = 0; i < k; i++) {   /* partial Fisher-Yates */
            size_t j = i + (size_t)p2p_rng_below(&p->rng, n - i);
            struct peer *t = cand[i];
            cand[i] = cand[j];
            cand[j] = t;
        }
    }
    size_t sent = 0;
    for (size_t i = 0; i < k; i++)
        sent += queue_tx(p, cand[i], txid);
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_TX, txid, sent);
}

/* Announces the block at once: headers to peers that asked for them
 * (sendheaders), inv to the others. */
static void announce_block(struct p2p *p, const uint8_t hash[32])
{
    struct chain_header h;
    uint32_t height;
    if (!chain_get_header(p->chain, hash, &h, &height))
        return;
    size_t sent = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (!live(pe) || known_has(p, pe, hash))
            continue;
        known_add(p, pe, hash);
        if (pe->sendheaders) {
            struct wr w;
            FRAME_START(w);
            p2p_put_headers(&w, &h, 1);
            frame_send(p, pe, P2P_CMD_HEADERS, &w);
        } else {
            uint8_t one[1][32];
            memcpy(one[0], hash, 32);
            send_inv(p, pe, P2P_CMD_INV, P2P_INV_BLOCK, (const uint8_t (*)[32])one, 1);
        }
        sent++;
    }
    if (p->ev.announced)
        p->ev.announced(p->ev.ctx, P2P_INV_BLOCK, hash, sent);
}

/* After anything that may move the tip: announce the new tip. */
static void tip_changed(struct p2p *p)
{
    uint8_t tip[32];
    chain_tip(p->chain, tip);
    if (memcmp(tip, p->last_tip, 32) == 0)
        return;
    memcpy(p->last_tip, tip, 32);
    p2p_idset_clear(&p->rejected.gen[0]);
    p2p_idset_clear(&p->rejected.gen[1]);
    announce_block(p, tip);
    p->fetch_dirty = true;
}

/* ------------------------------------------------------------------ */
/* Pull                                                                */

static void send_requests(struct p2p *p)
{
    struct p2p_txreq_req reqs[POLL_BATCH];
    size_t n;
    do {
        n = p2p_txreq_poll(p->req, p->now, reqs, POLL_BATCH);
        /* Group per peer into getdata messages. */
        bool done[POLL_BATCH] = { false };
        for (size_t i = 0; i < n; i++) {
            if (done[i])
                continue;
            uint32_t types[POLL_BATCH];
            uint8_t hashes[POLL_BATCH][32];
            size_t k = 0;
            for (size_t j = i; j < n; j++) {
                if (done[j] || reqs[j].peer != reqs[i].peer)
                    continue;
                done[j] = true;
                types[k] = reqs[j].type;
                memcpy(hashes[k++], reqs[j].hash, 32);
            }
            struct peer *pe = peer_find(p, reqs[i].peer);
            if (!pe)
                continue;
            struct wr w;
            FRAME_START(w);
            p2p_put_inv_mixed(&w, types, (const uint8_t (*)[32])hashes, k);
            frame_send(p, pe, P2P_CMD_GETDATA, &w);
        }
    } while (n == POLL_BATCH);
}

static bool orphan_held(struct p2p *p, const uint8_t hash[32])
{
    for (size_t i = 0; i < ORPHAN_HOLD_ENTRIES; i++)
        if (p->orphans[i].until_ms > p->now && memcmp(p->orphans[i].hash, hash, 32) == 0)
            return true;
    return false;
}

static void orphan_hold(struct p2p *p, const uint8_t hash[32])
{
    struct orphan_hold *o = &p->orphans[p->orphan_next++ % ORPHAN_HOLD_ENTRIES];
    memcpy(o->hash, hash, 32);
    o->until_ms = p->now + ORPHAN_HOLD_MS;
}

/* Plans block downloads: every block on the best header chain whose body
 * we lack, from every peer that claims to be at least that high. The
 * scheduler spreads them over peers within each peer's window. */
static void plan_fetch(struct p2p *p)
{
    uint8_t (*hashes)[32] = malloc(P2P_BLOCK_FETCH_LOOKAHEAD * 32);
    if (!hashes)
        return;
    size_t n = chain_blocks_to_fetch(p->chain, hashes, P2P_BLOCK_FETCH_LOOKAHEAD);
    for (size_t i = 0; i < n; i++) {
        struct chain_header h;
        uint32_t height = 0;
        if (orphan_held(p, hashes[i]) || chain_have_block(p->chain, hashes[i]))
            continue;
        chain_get_header(p->chain, hashes[i], &h, &height);
        for (size_t k = 0; k < p->n_peers; k++) {
            struct peer *pe = p->peers[k];
            if (live(pe) && pe->best_height >= height)
                p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, hashes[i], !pe->inbound,
                                   p->now);
        }
    }
    free(hashes);
    p->fetch_dirty = false;
    p->next_fetch_ms = p->now + P2P_BLOCK_FETCH_INTERVAL_MS;
}

/* ------------------------------------------------------------------ */
/* Chain events                                                        */

static void on_block_connected(void *ctx, const uint8_t hash[32], uint32_t height,
                               const struct chain_block *b)
{
    struct p2p *p = ctx;
    /* Confirmed txs left the mempool: never download them again. */
    for (size_t i = 0; b && i < b->n_tx; i++) {
        uint8_t txid[32];
        chain_tx_txid(&b->txs[i], txid);
        p2p_filter_add(&p->recent, sid(p, txid));
        p2p_txreq_forget(p->req, txid);
    }
    p2p_filter_add(&p->recent, sid(p, hash));
    if (p->fwd.block_connected)
        p->fwd.block_connected(p->fwd.ctx, hash, height, b);
}

static void on_block_disconnected(void *ctx, const uint8_t hash[32], uint32_t height)
{
    struct p2p *p = ctx;
    if (p->fwd.block_disconnected)
        p->fwd.block_disconnected(p->fwd.ctx, hash, height);
}

static void on_reorg(void *ctx, const uint8_t old_tip[32], const uint8_t new_tip[32],
                     uint32_t depth)
{
    struct p2p *p = ctx;
    if (p->fwd.reorg)
        p->fwd.reorg(p->fwd.ctx, old_tip, new_tip, depth);
}

static void waiting_remember(struct p2p *p, const uint8_t txid[32], enum p2p_source src,
                             uint64_t peer)
{
    struct waiting_src *w = &p->waiting[p->waiting_next];
    p->waiting_next = (p->waiting_next + 1) % P2P_WAITING_SOURCES_MAX;
    if (!w->used)
        p->waiting_used++;
    memcpy(w->txid, txid, 32);
    w->src = src;
    w->peer = peer;
    w->used = true;
}

/* Takes the remembered source of a waiting tx; false if none. A reorg
 * returns many txs at once and none of them waited, hence the count. */
static bool waiting_take(struct p2p *p, const uint8_t txid[32], struct waiting_src *out)
{
    for (size_t i = 0; i < P2P_WAITING_SOURCES_MAX && p->waiting_used > 0; i++) {
        struct waiting_src *w = &p->waiting[i];
        if (w->used && memcmp(w->txid, txid, 32) == 0) {
            *out = *w;
            w->used = false;
            p->waiting_used--;
            return true;
        }
    }
    return false;
}

static void on_tx_added(void *ctx, const uint8_t txid[32], const struct chain_tx *tx)
{
    struct p2p *p = ctx;
    if (p->fwd.tx_added)
        p->fwd.tx_added(p->fwd.ctx, txid, tx);
    if (p->accepting && memcmp(p->accepting, txid, 32) == 0)
        return;   /* our own accept call reports it */
    /* A tx that waited for a nonce gap is new to us: report it with the
     * peer (or RPC) it came from. Anything else is back in the mempool
     * after a reorg. Either way, announce it like a new one. */
    struct waiting_src w;
    bool waited = waiting_take(p, txid, &w);
    p->stats.txs_accepted++;
    if (p->ev.tx_accepted)
        p->ev.tx_accepted(p->ev.ctx, txid, waited ? w.src : P2P_SRC_REORG,
                          waited ? w.peer : 0, chain_tx_size(tx), waited);
    announce_tx(p, txid);
}

/* ------------------------------------------------------------------ */
/* Message handlers                                                    */

static void parse_name(const char *ua, char name[P2P_MAX_NAME_BYTES + 1])
{
    name[0] = '\0';
    const char *open = strchr(ua, '(');
    if (!open)
        return;
    const char *close = strchr(open, ')');
    if (!close)
        return;
    size_t n = (size_t)(close - open - 1);
    if (n > P2P_MAX_NAME_BYTES)
        n = P2P_MAX_NAME_BYTES;
    memcpy(name, open + 1, n);
    name[n] = '\0';
}

/* The reconciliation set of our mempool's txids. 0 or P2P_ERR_NOMEM. */
static int mempool_recon_set(struct p2p *p, struct p2p_recon_set *set)
{
    size_t cnt = chain_mempool_count(p->chain);
    uint8_t (*ids)[32] = malloc((cnt ? cnt : 1) * 32);
    if (!ids)
        return P2P_ERR_NOMEM;
    cnt = chain_mempool_txids(p->chain, ids, cnt);
    int err = p2p_recon_set_build(set, (const uint8_t (*)[32])ids, cnt);
    free(ids);
    return err;
}

static void send_recon(struct p2p *p, struct peer *pe, const struct p2p_recon_out *out)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_recon_count(&w, out->n_nodes);
    wr_bytes(&w, out->body.buf, out->body.len);
    frame_send(p, pe, P2P_CMD_RECON, &w);
    pe->recon_ms = p->now ? p->now : 1;
}

static void start_recon(struct p2p *p, struct peer *pe)
{
    struct p2p_recon_set set = { 0 };
    struct p2p_recon_out out;
    p2p_recon_out_init(&out);
    if (mempool_recon_set(p, &set) || p2p_recon_start(&set, &out))
        goto done;
    send_recon(p, pe, &out);
    p->stats.recon_rounds++;
done:
    p2p_recon_out_free(&out);
    p2p_recon_set_free(&set);
}

static void on_established(struct p2p *p, struct peer *pe)
{
    pe->established = true;
    pe->next_ping_ms = p->now + P2P_PING_INTERVAL_MS;
    for (size_t i = 0; i < p->n_added; i++)
        if (p->added[i].peer == pe->id)
            p->added[i].backoff_ms = P2P_RECONNECT_MIN_MS;
    if (p->ev.peer_connected) {
        struct p2p_peer_info pi;
        fill_info(p, pe, &pi);
        p->ev.peer_connected(p->ev.ctx, &pi);
    }
    send_empty(p, pe, P2P_CMD_SENDHEADERS);
    if (!pe->inbound)
        send_empty(p, pe, P2P_CMD_GETADDR);
    if (pe->relay_own_addr) {
        struct p2p_addr a = pe->addr;
        a.port = pe->listen_port;
        relay_addr(p, pe, &a);
    }
    /* Anti-entropy on connect: headers sync and a mempool round. */
    send_getheaders(p, pe, NULL);
    start_recon(p, pe);
    p->fetch_dirty = true;
}

static void handle_version(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_version v;
    int err = p2p_dec_version(buf, len, &v);
    if (err) {
        misbehave(p, pe, P2P_SCORE_MALFORMED, p2p_strerror(err));
        return;
    }
    if (pe->got_version) {
        misbehave(p, pe, P2P_SCORE_PROTOCOL, "duplicate-version");
        return;
    }
    if (v.nonce == p->nonce) {
        drop_peer(p, pe, "self-connection");
        return;
    }
    if (v.version < P2P_MIN_PROTOCOL_VERSION) {
        drop_peer(p, pe, "obsolete-version");
        return;
    }
    pe->got_version = true;
    pe->version = v.version;
    pe->services = v.services;
    memcpy(pe->ua, v.user_agent, sizeof(pe->ua));
    parse_name(pe->ua, pe->name);
    pe->start_height = v.start_height;
    pe->best_height = v.start_height > 0 ? (uint32_t)v.start_height : 0;
    pe->relay = v.relay;
    if (pe->inbound) {
        send_version(p, pe);
        /* Its listening address: the IP it came from, the port it says. */
        if (v.addr_from.port) {
            struct p2p_addr a = pe->addr;
            a.port = v.addr_from.port;
            pe->listen_port = a.port;
            if (book_add(p, &a) == BOOK_ADDED)
                pe->relay_own_addr = true;
        }
    }
    send_empty(p, pe, P2P_CMD_VERACK);
    if (pe->got_verack && !pe->dead)
        on_established(p, pe);
}

static void handle_verack(struct p2p *p, struct peer *pe)
{
    if (!pe->got_version || pe->got_verack) {
        misbehave(p, pe, P2P_SCORE_PROTOCOL, "unexpected-verack");
        return;
    }
    pe->got_verack = true;
    on_established(p, pe);
}

static void handle_addr(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    /* Small messages are gossip (a node announcing itself); large ones
     * answer our getaddr and are only stored. */
    bool relay = l->n <= P2P_ADDR_RELAY_MAX_ENTRIES;
    for (size_t i = 0; i < l->n; i++) {
        struct p2p_addr_entry e;
        p2p_addr_at(l, i, &e);
        if (book_add(p, &e.addr) == BOOK_ADDED && relay)
            relay_addr(p, pe, &e.addr);
    }
}

static void handle_getaddr(struct p2p *p, struct peer *pe)
{
    if (pe->answered_getaddr)
        return;   /* once per connection, so it cannot map our book */
    pe->answered_getaddr = true;
    struct p2p_addr_entry *e = malloc(P2P_ADDR_RESPONSE_ENTRIES * sizeof(*e));
    if (!e)
        return;
    size_t n = 0;
    size_t start = p->n_book ? (size_t)p2p_rng_below(&p->rng, p->n_book) : 0;
    for (size_t k = 0; k < p->n_book && n < P2P_ADDR_RESPONSE_ENTRIES; k++) {
        const struct book_entry *b = &p->book[(start + k) % p->n_book];
        if (p2p_addr_equal(&b->addr, &pe->addr))
            continue;
        e[n].time = (uint32_t)(b->seen_ms / 1000);
        e[n].services = P2P_SERVICES;
        e[n].addr = b->addr;
        n++;
    }
    struct wr w;
    FRAME_START(w);
    p2p_put_addr(&w, e, n);
    frame_send(p, pe, P2P_CMD_ADDR, &w);
    free(e);
}

static bool have_tx(const struct p2p *p, const uint8_t txid[32])
{
    uint64_t id = sid(p, txid);
    return chain_mempool_has(p->chain, txid) || p2p_filter_has(&p->recent, id)
           || p2p_filter_has(&p->rejected, id);
}

static void handle_inv(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    bool want_headers = false;
    for (size_t i = 0; i < l->n && !pe->dead; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        known_add(p, pe, hash);
        bool have;
        if (type == P2P_INV_TX) {
            have = have_tx(p, hash);
            if (!have)
                p2p_txreq_announce(p->req, pe->id, P2P_INV_TX, hash, !pe->inbound,
                                   p->now + (pe->inbound ? P2P_NONPREFERRED_DELAY_MS : 0));
        } else {
            have = chain_have_block(p->chain, hash) || chain_is_invalid(p->chain, hash);
            struct chain_header h;
            uint32_t height;
            if (chain_get_header(p->chain, hash, &h, &height)) {
                if (height > pe->best_height)
                    pe->best_height = height;
            } else {
                want_headers = true;
            }
            if (!have && !orphan_held(p, hash))
                p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, hash, !pe->inbound, p->now);
        }
        if (have)
            p->stats.dup_invs++;
        if (p->ev.inv_received)
            p->ev.inv_received(p->ev.ctx, pe->id, type, hash, have);
    }
    /* A block we have no header for: learn its chain (it may have more work). */
    if (want_headers && !pe->getheaders_ms && !pe->dead)
        send_getheaders(p, pe, NULL);
}

static void send_tx_body(struct p2p *p, struct peer *pe, const struct chain_tx *tx)
{
    struct wr w;
    FRAME_START(w);
    chain_tx_encode(&w, tx);
    frame_send(p, pe, P2P_CMD_TX, &w);
}

static void handle_getdata(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    uint32_t *nf_types = NULL;
    uint8_t (*nf)[32] = NULL;
    size_t n_nf = 0;
    for (size_t i = 0; i < l->n && !pe->dead; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        bool found = false;
        if (type == P2P_INV_TX) {
            const struct chain_tx *tx = chain_mempool_get(p->chain, hash);
            if (tx) {
                send_tx_body(p, pe, tx);
                found = true;
            }
        } else {
            uint8_t *raw = NULL;
            size_t len = 0;
            if (chain_get_block_raw(p->chain, hash, &raw, &len) == 0) {
                struct wr w;
                FRAME_START(w);
                wr_bytes(&w, raw, len);
                frame_send(p, pe, P2P_CMD_BLOCK, &w);
                free(raw);
                found = true;
            }
        }
        if (found) {
            known_add(p, pe, hash);
            continue;
        }
        if (!nf) {
            nf = malloc(l->n * 32);
            nf_types = malloc(l->n * sizeof(*nf_types));
            if (!nf || !nf_types)
                break;
        }
        nf_types[n_nf] = type;
        memcpy(nf[n_nf++], hash, 32);
    }
    if (n_nf && nf && nf_types && !pe->dead) {
        struct wr w;
        FRAME_START(w);
        p2p_put_inv_mixed(&w, nf_types, (const uint8_t (*)[32])nf, n_nf);
        frame_send(p, pe, P2P_CMD_NOTFOUND, &w);
    }
    free(nf);
    free(nf_types);
}

static void handle_notfound(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        uint32_t type;
        const uint8_t *hash;
        p2p_inv_at(l, i, &type, &hash);
        p2p_txreq_notfound(p->req, pe->id, hash);
    }
}

/* Rejections an honest peer (which validated before relaying) never causes. */
static bool tx_reject_is_fault(int r)
{
    switch (r) {
    case CHAIN_ERR_TX_VERSION: case CHAIN_ERR_TX_MEMO_SIZE: case CHAIN_ERR_TX_BAD_SIG:
    case CHAIN_ERR_TX_OVERFLOW: case CHAIN_ERR_TX_COINBASE: case CHAIN_ERR_TX_SELF_SEND:
    case CHAIN_ERR_TX_ZERO_AMOUNT:
        return true;
    default:
        return false;
    }
}

static bool block_reject_is_fault(int r)
{
    switch (r) {
    case CHAIN_ERR_NOMEM: case CHAIN_ERR_STORE: case CHAIN_ERR_INTERNAL:
    case CHAIN_ERR_BLK_TIME_FUTURE:     /* clocks differ */
    case CHAIN_ERR_BLK_ORPHAN_FULL: case CHAIN_ERR_BLK_DUPLICATE: case CHAIN_ERR_BLK_UNKNOWN:
        return false;
    default:
        return true;
    }
}

static void handle_tx(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct chain_tx tx;
    uint8_t txid[32];
    int err = p2p_dec_tx(buf, len, &tx);
    if (err) {
        misbehave(p, pe, P2P_SCORE_MALFORMED, p2p_strerror(err));
        return;
    }
    chain_tx_txid(&tx, txid);
    known_add(p, pe, txid);
    bool requested = p2p_txreq_from_peer(p->req, pe->id, txid);
    p2p_txreq_forget(p->req, txid);
    if (have_tx(p, txid)) {
        p->stats.dup_tx_bodies++;
        if (p->ev.tx_duplicate)
            p->ev.tx_duplicate(p->ev.ctx, txid, pe->id);
        return;
    }
    if (!requested && misbehave(p, pe, P2P_SCORE_UNSOLICITED, "unsolicited-tx"))
        return;
    p->accepting = txid;
    int r = chain_mempool_accept(p->chain, &tx, p->now);
    p->accepting = NULL;
    if (r == CHAIN_TX_ACCEPTED || r == CHAIN_TX_REPLACED) {
        p2p_filter_add(&p->recent, sid(p, txid));
        p->stats.txs_accepted++;
        if (p->ev.tx_accepted)
            p->ev.tx_accepted(p->ev.ctx, txid, P2P_SRC_PEER, pe->id, len, true);
        announce_tx(p, txid);
        return;
    }
    if (r == CHAIN_TX_WAITING) {
        /* Held by chain/ until its nonce gap closes; tx_added reports it then. */
        p2p_filter_add(&p->recent, sid(p, txid));
        waiting_remember(p, txid, P2P_SRC_PEER, pe->id);
        return;
    }
    if (r == CHAIN_ERR_TX_DUPLICATE) {
        p->stats.dup_tx_bodies++;
        if (p->ev.tx_duplicate)
            p->ev.tx_duplicate(p->ev.ctx, txid, pe->id);
        return;
    }
    p->stats.txs_rejected++;
    if (p->ev.tx_rejected)
        p->ev.tx_rejected(p->ev.ctx, txid, P2P_SRC_PEER, pe->id, r);
    if (tx_reject_is_fault(r)) {
        p2p_filter_add(&p->recent, sid(p, txid));
        misbehave(p, pe, P2P_SCORE_INVALID_TX, chain_strerror(r));
    } else {
        /* Nonce, fee or balance: it may become valid on another tip, so
         * it is only remembered until the tip moves. */
        p2p_filter_add(&p->rejected, sid(p, txid));
    }
}

static void handle_block(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct chain_block b;
    uint8_t hash[32];
    int err = p2p_dec_block(buf, len, &b);
    if (err) {
        misbehave(p, pe, P2P_SCORE_MALFORMED, p2p_strerror(err));
        return;
    }
    chain_header_hash(&b.hdr, hash);
    known_add(p, pe, hash);
    for (size_t i = 0; i < b.n_tx; i++) {
        uint8_t txid[32];
        chain_tx_txid(&b.txs[i], txid);
        known_add(p, pe, txid);
    }
    bool requested = p2p_txreq_from_peer(p->req, pe->id, hash);
    p2p_txreq_forget(p->req, hash);
    struct chain_header ph;
    uint32_t height = 0;
    if (chain_get_header(p->chain, b.hdr.prev, &ph, &height))
        height++;
    else
        height = 0;
    bool first = !chain_have_block(p->chain, hash) && !orphan_held(p, hash);
    if (p->ev.block_received)
        p->ev.block_received(p->ev.ctx, hash, height, pe->id, len, b.n_tx, b.hdr.time_ms, first);
    if (!first) {
        p->stats.dup_block_bodies++;
        goto out;
    }
    if (!requested && misbehave(p, pe, P2P_SCORE_UNSOLICITED, "unsolicited-block"))
        goto out;
    struct chain_result res;
    memset(&res, 0, sizeof(res));
    int r = chain_accept_block(p->chain, &b, p->now, &res);
    if (r < 0) {
        p->stats.blocks_rejected++;
        if (p->ev.block_rejected)
            p->ev.block_rejected(p->ev.ctx, hash, pe->id, r);
        if (block_reject_is_fault(r))
            misbehave(p, pe, P2P_SCORE_INVALID_BLOCK, chain_strerror(r));
        goto out;
    }
    if (res.height > pe->best_height)
        pe->best_height = res.height;
    switch (res.status) {
    case CHAIN_ST_NEW_TIP:
    case CHAIN_ST_SIDE:
        p->stats.blocks_accepted++;
        tip_changed(p);
        break;
    case CHAIN_ST_ORPHAN:
        /* Fetch the missing parent from this peer, and learn its chain. */
        orphan_hold(p, hash);
        if (!chain_have_block(p->chain, res.missing_parent))
            p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, res.missing_parent,
                               !pe->inbound, p->now);
        if (!pe->getheaders_ms)
            send_getheaders(p, pe, NULL);
        break;
    default:
        break;
    }
    p->fetch_dirty = true;
out:
    chain_block_free(&b);
}

static void handle_getheaders(struct p2p *p, struct peer *pe, const struct p2p_getheaders *g)
{
    struct chain_header *hs = malloc(P2P_MAX_HEADERS_ENTRIES * sizeof(*hs));
    if (!hs)
        return;
    /* A copy: the chain API takes an array of hashes, the payload is bytes. */
    uint8_t loc[P2P_MAX_LOCATOR_ENTRIES][32];
    for (size_t i = 0; i < g->locator.n; i++)
        memcpy(loc[i], p2p_hash_at(&g->locator, i), 32);
    size_t n = chain_headers_after(p->chain, (const uint8_t (*)[32])loc,
                                   g->locator.n, g->stop, hs, P2P_MAX_HEADERS_ENTRIES);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        chain_header_hash(&hs[i], h);
        known_add(p, pe, h);
    }
    struct wr w;
    FRAME_START(w);
    p2p_put_headers(&w, hs, n);
    frame_send(p, pe, P2P_CMD_HEADERS, &w);
    free(hs);
}

static void handle_headers(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    pe->getheaders_ms = 0;
    uint8_t last[32];
    size_t accepted = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct chain_header h;
        struct chain_result res;
        p2p_header_at(l, i, &h);
        chain_header_hash(&h, last);
        known_add(p, pe, last);
        /* A header announces its block (sendheaders): counted and reported
         * like an inv entry, so duplicate announcements are seen. */
        bool have = chain_have_block(p->chain, last) || chain_is_invalid(p->chain, last);
        if (have)
            p->stats.dup_invs++;
        if (p->ev.inv_received)
            p->ev.inv_received(p->ev.ctx, pe->id, P2P_INV_BLOCK, last, have);
        memset(&res, 0, sizeof(res));
        int r = chain_accept_header(p->chain, &h, p->now, &res);
        if (r < 0 && r != CHAIN_ERR_BLK_DUPLICATE) {
            if (block_reject_is_fault(r)) {
                misbehave(p, pe, P2P_SCORE_INVALID_HEADER, chain_strerror(r));
                return;
            }
            break;
        }
        if (r >= 0 && res.status == CHAIN_ST_ORPHAN) {
            /* Does not connect (an announcement after a reorg, say): sync
             * from our locator instead. */
            if (!pe->getheaders_ms)
                send_getheaders(p, pe, NULL);
            break;
        }
        if (res.height > pe->best_height)
            pe->best_height = res.height;
        accepted++;
    }
    /* A full message: there is more; continue from its last header. */
    if (l->n == P2P_MAX_HEADERS_ENTRIES && accepted == l->n && !pe->dead)
        send_getheaders(p, pe, last);
    if (accepted)
        plan_fetch(p);
}

static void handle_mempool(struct p2p *p, struct peer *pe)
{
    size_t cnt = chain_mempool_count(p->chain);
    if (cnt > P2P_MAX_INV_ENTRIES)
        cnt = P2P_MAX_INV_ENTRIES;
    uint8_t (*ids)[32] = malloc((cnt ? cnt : 1) * 32);
    if (!ids)
        return;
    cnt = chain_mempool_txids(p->chain, ids, cnt);
    for (size_t i = 0; i < cnt; i++)
        queue_tx(p, pe, ids[i]);
    free(ids);
}

static void handle_recon(struct p2p *p, struct peer *pe, const struct p2p_recon_msg *m)
{
    /* Each answer snapshots our mempool: a peer gets a bounded number per
     * period, enough for several honest rounds. */
    if (p->now - pe->recon_refill_ms >= P2P_RECON_BUDGET_MS) {
        pe->recon_refill_ms = p->now;
        pe->recon_budget = P2P_RECON_BUDGET_MSGS;
    }
    if (pe->recon_budget == 0) {
        misbehave(p, pe, P2P_SCORE_UNSOLICITED, "recon-flood");
        return;
    }
    pe->recon_budget--;
    struct p2p_recon_set set = { 0 };
    struct p2p_recon_out out;
    p2p_recon_out_init(&out);
    if (mempool_recon_set(p, &set) || p2p_recon_process(&set, m, &out))
        goto done;
    for (size_t i = 0; i < out.n_want; i++) {
        known_add(p, pe, out.want[i]);
        if (!have_tx(p, out.want[i])) {
            p2p_txreq_announce(p->req, pe->id, P2P_INV_TX, out.want[i], !pe->inbound, p->now);
            p->stats.recon_diffs++;
        }
    }
    for (size_t i = 0; i < out.n_give; i++)
        queue_tx(p, pe, out.give[i]);
    if (out.n_nodes > 0)
        send_recon(p, pe, &out);
    else
        pe->recon_ms = 0;   /* round over */
done:
    p2p_recon_out_free(&out);
    p2p_recon_set_free(&set);
}

/* Decodes and dispatches one complete frame. */
static void process_frame(struct p2p *p, struct peer *pe, const struct p2p_frame_hdr *h,
                          const uint8_t *payload)
{
    size_t len = h->len;
    emit_msg(p, pe, h->cmd, P2P_HEADER_BYTES + len, false);
    if (!p2p_frame_checksum_ok(h, payload, len)) {
        misbehave(p, pe, P2P_SCORE_MALFORMED, "bad-checksum");
        return;
    }
    if (h->cmd == P2P_CMD_UNKNOWN)
        return;   /* ignored, as Bitcoin does, for forward compatibility */
    if (!pe->established && h->cmd != P2P_CMD_VERSION && h->cmd != P2P_CMD_VERACK) {
        misbehave(p, pe, P2P_SCORE_PROTOCOL, "message-before-handshake");
        return;
    }
    struct p2p_list l;
    int err = 0;
    switch (h->cmd) {
    case P2P_CMD_VERSION:
        handle_version(p, pe, payload, len);
        return;
    case P2P_CMD_VERACK:
        if ((err = p2p_dec_empty(payload, len)) == 0)
            handle_verack(p, pe);
        break;
    case P2P_CMD_PING: {
        uint64_t nonce;
        if ((err = p2p_dec_nonce(payload, len, &nonce)) == 0)
            send_nonce(p, pe, P2P_CMD_PONG, nonce);
        break;
    }
    case P2P_CMD_PONG: {
        uint64_t nonce;
        if ((err = p2p_dec_nonce(payload, len, &nonce)) == 0 && pe->ping_nonce
            && nonce == pe->ping_nonce) {
            pe->ping_ms = (int64_t)(p->now - pe->ping_sent_ms);
            pe->ping_nonce = 0;
        }
        break;
    }
    case P2P_CMD_ADDR:
        if ((err = p2p_dec_addr(payload, len, &l)) == 0)
            handle_addr(p, pe, &l);
        break;
    case P2P_CMD_GETADDR:
        if ((err = p2p_dec_empty(payload, len)) == 0)
            handle_getaddr(p, pe);
        break;
    case P2P_CMD_INV:
        if ((err = p2p_dec_inv(payload, len, &l)) == 0)
            handle_inv(p, pe, &l);
        break;
    case P2P_CMD_GETDATA:
        if ((err = p2p_dec_inv(payload, len, &l)) == 0)
            handle_getdata(p, pe, &l);
        break;
    case P2P_CMD_NOTFOUND:
        if ((err = p2p_dec_inv(payload, len, &l)) == 0)
            handle_notfound(p, pe, &l);
        break;
    case P2P_CMD_TX:
        handle_tx(p, pe, payload, len);
        break;
    case P2P_CMD_BLOCK:
        handle_block(p, pe, payload, len);
        break;
    case P2P_CMD_GETHEADERS: {
        struct p2p_getheaders g;
        if ((err = p2p_dec_getheaders(payload, len, &g)) == 0)
            handle_getheaders(p, pe, &g);
        break;
    }
    case P2P_CMD_HEADERS:
        if ((err = p2p_dec_headers(payload, len, &l)) == 0)
            handle_headers(p, pe, &l);
        break;
    case P2P_CMD_SENDHEADERS:
        if ((err = p2p_dec_empty(payload, len)) == 0)
            pe->sendheaders = true;
        break;
    case P2P_CMD_MEMPOOL:
        if ((err = p2p_dec_empty(payload, len)) == 0)
            handle_mempool(p, pe);
        break;
    case P2P_CMD_RECON: {
        struct p2p_recon_msg m;
        if ((err = p2p_dec_recon(payload, len, &m)) == 0)
            handle_recon(p, pe, &m);
        break;
    }
    default:
        break;
    }
    if (err)
        misbehave(p, pe, P2P_SCORE_MALFORMED, p2p_strerror(err));
}

/* ------------------------------------------------------------------ */
/* Public: life cycle                                                  */

void p2p_config_init(struct p2p_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->outbound_target = P2P_OUTBOUND_UNSET;
}

const char *p2p_source_name(enum p2p_source s)
{
    switch (s) {
    case P2P_SRC_RPC:   return "rpc";
    case P2P_SRC_PEER:  return "peer";
    case P2P_SRC_REORG: return "reorg";
    }
    return "?";
}

int p2p_create(struct p2p **out, const struct p2p_config *cfg, uint64_t now_ms)
{
    if (!cfg || !cfg->chain || !cfg->io || !cfg->io->send || !cfg->io->connect
        || !cfg->io->disconnect)
        return P2P_ERR_INVALID_ARG;
    struct p2p *p = calloc(1, sizeof(*p));
    if (!p)
        return P2P_ERR_NOMEM;
    p->chain = cfg->chain;
    p->io = *cfg->io;
    if (cfg->events)
        p->ev = *cfg->events;
    if (cfg->chain_events)
        p->fwd = *cfg->chain_events;
    p->magic = chain_params(p->chain)->magic;
    p2p_rng_seed(&p->rng, cfg->seed);
    p->salt = p2p_rng_next(&p->rng);
    p->nonce = p2p_rng_next(&p->rng);
    p->listen_port = cfg->listen_port;
    p->tx_batch_ms = cfg->tx_batch_ms ? cfg->tx_batch_ms : P2P_TX_BATCH_MS_DEFAULT;
    p->fanout = cfg->fanout;
    p->outbound_target = cfg->outbound_target == P2P_OUTBOUND_UNSET
                             ? P2P_OUTBOUND_TARGET_DEFAULT : cfg->outbound_target;
    p->inbound_max = cfg->inbound_max ? cfg->inbound_max : P2P_INBOUND_MAX_DEFAULT;
    p->ban_ms = cfg->ban_ms ? cfg->ban_ms : P2P_BAN_MS_DEFAULT;
    p->recon_interval_ms = cfg->recon_interval_ms ? cfg->recon_interval_ms
                                                  : P2P_RECON_INTERVAL_MS_DEFAULT;
    /* "/gossipd:0.1.0(NAME)/" with the name reduced to safe characters. */
    char name[P2P_MAX_NAME_BYTES + 1] = "";
    size_t k = 0;
    for (const char *c = cfg->name; c && *c && k < P2P_MAX_NAME_BYTES; c++)
        if (*c > 0x20 && *c < 0x7f && *c != '(' && *c != ')' && *c != '/')
            name[k++] = *c;
    name[k] = '\0';
    snprintf(p->ua, sizeof(p->ua), "/gossipd:%s(%s)/", P2P_VERSION_STRING, name);
    p->now = now_ms;
    p->next_recon_ms = now_ms + p->recon_interval_ms;
    p->next_headers_ms = now_ms + P2P_HEADERS_SYNC_INTERVAL_MS;
    p->next_fetch_ms = now_ms;
    chain_tip(p->chain, p->last_tip);
    int err = p2p_txreq_create(&p->req, p2p_rng_next(&p->rng));
    if (!err)
        err = p2p_filter_init(&p->recent, P2P_RECENT_GEN_ENTRIES);
    if (!err)
        err = p2p_filter_init(&p->rejected, P2P_REJECTED_GEN_ENTRIES);
    if (err) {
        p2p_destroy(p);
        return err;
    }
    p->mine = (struct chain_events){
        .ctx = p,
        .block_connected = on_block_connected,
        .block_disconnected = on_block_disconnected,
        .reorg = on_reorg,
        .tx_added = on_tx_added,
    };
    chain_set_events(p->chain, &p->mine);
    *out = p;
    return 0;
}

void p2p_destroy(struct p2p *p)
{
    if (!p)
        return;
    if (p->mine.ctx)
        chain_set_events(p->chain, &p->fwd);   /* give the chain back to its owner */
    for (size_t i = 0; i < p->n_peers; i++)
        peer_free(p->peers[i]);
    free(p->peers);
    p2p_txreq_destroy(p->req);
    p2p_filter_free(&p->recent);
    p2p_filter_free(&p->rejected);
    free(p->book);
    free(p->book_idx);
    free(p->bans);
    free(p);
}

const char *p2p_user_agent(const struct p2p *p)
{
    return p->ua;
}

/* ------------------------------------------------------------------ */
/* Public: driver events                                               */

static void set_now(struct p2p *p, uint64_t now_ms)
{
    if (now_ms > p->now)
        p->now = now_ms;   /* never backwards */
}

static size_t count_dir(const struct p2p *p, bool inbound)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p->peers[i]->inbound == inbound)
            n++;
    return n;
}

void p2p_on_connected(struct p2p *p, uint64_t peer, const struct p2p_addr *addr, bool inbound,
                      uint64_t now_ms)
{
    set_now(p, now_ms);
    struct added *a = inbound ? NULL : added_find(p, addr);
    if (a)
        a->connecting = false;
    const char *refuse = NULL;
    if (peer == 0 || peer_find(p, peer))
        refuse = "bad-peer-id";
    else if (ban_find(p, addr, p->now))
        refuse = "banned";
    else if (inbound && count_dir(p, true) >= p->inbound_max)
        refuse = "inbound-full";
    else if (p->n_peers >= P2P_MAX_PEERS)
        refuse = "too-many-peers";
    struct peer *pe = NULL;
    if (!refuse) {
        if (p->n_peers == p->cap_peers) {
            size_t cap = p->cap_peers ? 2 * p->cap_peers : 16;
            struct peer **np = realloc(p->peers, cap * sizeof(*np));
            if (np) {
                p->peers = np;
                p->cap_peers = cap;
            }
        }
        pe = p->n_peers < p->cap_peers ? calloc(1, sizeof(*pe)) : NULL;
        if (pe && p2p_filter_init(&pe->known, P2P_KNOWN_INV_GEN_ENTRIES)) {
            free(pe);
            pe = NULL;
        }
        if (!pe)
            refuse = "out-of-memory";
    }
    if (refuse) {
        p->io.disconnect(p->io.ctx, peer, refuse);
        if (a && !a->persistent)
            added_remove(p, a);
        else if (a)
            a->next_ms = p->now + a->backoff_ms;
        return;
    }
    pe->id = peer;
    pe->addr = *addr;
    pe->inbound = inbound;
    pe->connected_ms = pe->last_recv_ms = pe->last_send_ms = p->now;
    pe->ping_ms = -1;
    p->peers[p->n_peers++] = pe;
    if (a)
        a->peer = peer;
    if (!inbound)
        send_version(p, pe);
    sweep(p);
}

void p2p_on_connect_failed(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    set_now(p, now_ms);
    struct added *a = added_find(p, addr);
    if (!a || !a->connecting)
        return;
    a->connecting = false;
    if (!a->persistent) {
        added_remove(p, a);
        return;
    }
    a->next_ms = p->now + a->backoff_ms;
    a->backoff_ms = a->backoff_ms * 2 > P2P_RECONNECT_MAX_MS ? P2P_RECONNECT_MAX_MS
                                                             : a->backoff_ms * 2;
}

void p2p_on_bytes(struct p2p *p, uint64_t peer, const uint8_t *buf, size_t len,
                  uint64_t now_ms)
{
    set_now(p, now_ms);
    struct peer *pe = peer_find(p, peer);
    if (!pe)
        return;
    pe->last_recv_ms = p->now;
    pe->bytes_recv += len;
    while (len > 0 && !pe->dead) {
        size_t need = pe->have_hdr ? P2P_HEADER_BYTES + pe->hdr.len : P2P_HEADER_BYTES;
        if (pe->rcap < need) {
            /* need was checked against the command's cap (for a payload)
             * before we get here. */
            uint8_t *nb = realloc(pe->rbuf, need);
            if (!nb) {
                drop_peer(p, pe, "out-of-memory");
                break;
            }
            pe->rbuf = nb;
            pe->rcap = need;
        }
        size_t take = need - pe->rlen < len ? need - pe->rlen : len;
        memcpy(pe->rbuf + pe->rlen, buf, take);
        pe->rlen += take;
        buf += take;
        len -= take;
        if (pe->rlen < need)
            break;
        if (!pe->have_hdr) {
            int err = p2p_frame_parse(pe->rbuf, p->magic, &pe->hdr);
            if (err == P2P_ERR_BAD_MAGIC) {
                drop_peer(p, pe, "bad-magic");   /* another network: not a fault */
                break;
            }
            if (err) {
                misbehave(p, pe, P2P_SCORE_MALFORMED, p2p_strerror(err));
                drop_peer(p, pe, p2p_strerror(err));   /* framing is lost */
                break;
            }
            pe->have_hdr = true;
            if (pe->hdr.len > 0)
                continue;
        }
        struct p2p_frame_hdr h = pe->hdr;
        pe->have_hdr = false;
        pe->rlen = 0;
        process_frame(p, pe, &h, pe->rbuf + P2P_HEADER_BYTES);
        if (pe->rcap > P2P_RECV_BUFFER_KEEP_BYTES) {
            free(pe->rbuf);
            pe->rbuf = NULL;
            pe->rcap = 0;
        }
    }
    send_requests(p);
    if (p->fetch_dirty)
        plan_fetch(p), send_requests(p);
    sweep(p);
}

void p2p_on_sent(struct p2p *p, uint64_t peer, size_t n, uint64_t now_ms)
{
    set_now(p, now_ms);
    struct peer *pe = peer_find(p, peer);
    if (!pe)
        return;
    pe->send_pending = n > pe->send_pending ? 0 : pe->send_pending - n;
    if (pe->paused && pe->send_pending < P2P_SEND_QUEUE_RESUME_BYTES) {
        pe->paused = false;
        if (p->io.pause_read)
            p->io.pause_read(p->io.ctx, pe->id, false);
    }
}

void p2p_on_disconnected(struct p2p *p, uint64_t peer, const char *reason, uint64_t now_ms)
{
    set_now(p, now_ms);
    struct peer *pe = peer_find(p, peer);
    if (!pe)
        return;
    peer_gone(p, pe, reason ? reason : "closed", false);
    sweep(p);
}

static struct peer *random_live_peer(struct p2p *p, bool need_no_recon)
{
    struct peer *cand[P2P_MAX_PEERS];
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < P2P_MAX_PEERS; i++) {
        struct peer *pe = p->peers[i];
        if (live(pe) && (!need_no_recon || !pe->recon_ms))
            cand[n++] = pe;
    }
    return n ? cand[p2p_rng_below(&p->rng, n)] : NULL;
}

static void start_connect(struct p2p *p, struct added *a)
{
    a->connecting = true;
    a->connect_ms = p->now;
    p->io.connect(p->io.ctx, &a->addr);
}

static bool addr_connected(const struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p2p_addr_equal(&p->peers[i]->addr, a))
            return true;
    for (size_t i = 0; i < p->n_added; i++)
        if (p2p_addr_equal(&p->added[i].addr, a) && (p->added[i].peer || p->added[i].connecting))
            return true;
    return false;
}

static void manage_connections(struct p2p *p)
{
    for (size_t i = 0; i < p->n_added; i++) {
        struct added *a = &p->added[i];
        if (a->connecting && p->now - a->connect_ms >= P2P_CONNECT_TIMEOUT_MS) {
            a->connecting = false;   /* the driver never answered */
            a->next_ms = p->now + a->backoff_ms;
        }
        if (a->peer || a->connecting || p->now < a->next_ms)
            continue;
        if (ban_find(p, &a->addr, p->now))
            a->next_ms = p->now + P2P_RECONNECT_MAX_MS;   /* not before the ban is looked at again */
        else
            start_connect(p, a);
    }
    /* Discovery: fill up to the outbound target from the address book. */
    size_t outbound = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        outbound += !p->peers[i]->dead && !p->peers[i]->inbound;
    for (size_t i = 0; i < p->n_added; i++)
        outbound += p->added[i].connecting;
    for (int tries = 0; outbound < p->outbound_target && p->n_book > 0 && tries < 8; tries++) {
        struct book_entry *b = &p->book[p2p_rng_below(&p->rng, p->n_book)];
        if (b->next_try_ms > p->now || addr_connected(p, &b->addr)
            || ban_find(p, &b->addr, p->now) || p->n_added >= P2P_MAX_ADDED_PEERS)
            continue;
        b->next_try_ms = p->now + P2P_RECONNECT_MAX_MS;
        struct added *a = &p->added[p->n_added++];
        memset(a, 0, sizeof(*a));
        a->addr = b->addr;
        a->backoff_ms = P2P_RECONNECT_MIN_MS;
        start_connect(p, a);
        outbound++;
    }
}

void p2p_on_tick(struct p2p *p, uint64_t now_ms)
{
    set_now(p, now_ms);
    uint64_t now = p->now;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (pe->dead)
            continue;
        if (!pe->established && now - pe->connected_ms >= P2P_HANDSHAKE_TIMEOUT_MS) {
            drop_peer(p, pe, "handshake-timeout");
            continue;
        }
        if (now - pe->last_recv_ms >= P2P_IDLE_TIMEOUT_MS) {
            drop_peer(p, pe, "idle-timeout");
            continue;
        }
        if (pe->ping_nonce && now - pe->ping_sent_ms >= P2P_PING_TIMEOUT_MS) {
            drop_peer(p, pe, "ping-timeout");
            continue;
        }
        if (pe->established && !pe->ping_nonce && now >= pe->next_ping_ms) {
            pe->ping_nonce = p2p_rng_next(&p->rng) | 1;
            pe->ping_sent_ms = now;
            pe->next_ping_ms = now + P2P_PING_INTERVAL_MS;
            send_nonce(p, pe, P2P_CMD_PING, pe->ping_nonce);
        }
        if (pe->txq_n && now >= pe->txq_due_ms)
            flush_txq(p, pe);
        if (pe->getheaders_ms && now - pe->getheaders_ms >= P2P_GETHEADERS_TIMEOUT_MS)
            pe->getheaders_ms = 0;
        if (pe->recon_ms && now - pe->recon_ms >= P2P_RECON_TIMEOUT_MS)
            pe->recon_ms = 0;
    }
    if (now >= p->next_recon_ms) {
        p->next_recon_ms = now + p->recon_interval_ms;
        struct peer *pe = random_live_peer(p, true);
        if (pe)
            start_recon(p, pe);
    }
    if (now >= p->next_headers_ms) {
        p->next_headers_ms = now + P2P_HEADERS_SYNC_INTERVAL_MS;
        struct peer *pe = random_live_peer(p, false);
        if (pe && !pe->getheaders_ms)
            send_getheaders(p, pe, NULL);
    }
    if (now >= p->next_chain_tick_ms) {
        p->next_chain_tick_ms = now + P2P_TICK_MAX_MS;
        chain_tick(p->chain, now);
    }
    if (p->fetch_dirty || now >= p->next_fetch_ms)
        plan_fetch(p);
    send_requests(p);
    manage_connections(p);
    sweep(p);
}

uint64_t p2p_next_deadline(const struct p2p *p)
{
    uint64_t t = p->now + P2P_TICK_MAX_MS;
#define MIN_T(x) do { uint64_t v_ = (x); if (v_ < t) t = v_; } while (0)
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *pe = p->peers[i];
        if (pe->dead)
            continue;
        if (!pe->established)
            MIN_T(pe->connected_ms + P2P_HANDSHAKE_TIMEOUT_MS);
        MIN_T(pe->last_recv_ms + P2P_IDLE_TIMEOUT_MS);
        if (pe->ping_nonce)
            MIN_T(pe->ping_sent_ms + P2P_PING_TIMEOUT_MS);
        else if (pe->established)
            MIN_T(pe->next_ping_ms);
        if (pe->txq_n)
            MIN_T(pe->txq_due_ms);
    }
    MIN_T(p2p_txreq_next_deadline(p->req, p->now));
    MIN_T(p->next_recon_ms);
    MIN_T(p->next_headers_ms);
    for (size_t i = 0; i < p->n_added; i++) {
        const struct added *a = &p->added[i];
        if (a->connecting)
            MIN_T(a->connect_ms + P2P_CONNECT_TIMEOUT_MS);
        else if (!a->peer)
            MIN_T(a->next_ms);
    }
#undef MIN_T
    return t < p->now ? p->now : t;
}

/* ------------------------------------------------------------------ */
/* Public: submissions                                                 */

int p2p_submit_tx(struct p2p *p, const struct chain_tx *tx, uint64_t now_ms)
{
    uint8_t txid[32];
    set_now(p, now_ms);
    chain_tx_txid(tx, txid);
    p->accepting = txid;
    int r = chain_mempool_accept(p->chain, tx, p->now);
    p->accepting = NULL;
    if (r == CHAIN_TX_ACCEPTED || r == CHAIN_TX_REPLACED) {
        p2p_filter_add(&p->recent, sid(p, txid));
        p->stats.txs_accepted++;
        if (p->ev.tx_accepted)
            p->ev.tx_accepted(p->ev.ctx, txid, P2P_SRC_RPC, 0, chain_tx_size(tx), true);
        announce_tx(p, txid);
    } else if (r == CHAIN_TX_WAITING) {
        waiting_remember(p, txid, P2P_SRC_RPC, 0);
    } else if (r < 0) {
        p->stats.txs_rejected++;
        if (p->ev.tx_rejected)
            p->ev.tx_rejected(p->ev.ctx, txid, P2P_SRC_RPC, 0, r);
    }
    sweep(p);
    return r;
}

int p2p_submit_block(struct p2p *p, const struct chain_block *b, uint64_t now_ms)
{
    struct chain_result res;
    uint8_t hash[32];
    set_now(p, now_ms);
    memset(&res, 0, sizeof(res));
    chain_header_hash(&b->hdr, hash);
    int r = chain_accept_block(p->chain, b, p->now, &res);
    if (r < 0) {
        p->stats.blocks_rejected++;
        if (p->ev.block_rejected)
            p->ev.block_rejected(p->ev.ctx, hash, 0, r);
        return r;
    }
    if (res.status == CHAIN_ST_NEW_TIP || res.status == CHAIN_ST_SIDE)
        p->stats.blocks_accepted++;
    tip_changed(p);
    send_requests(p);
    sweep(p);
    return (int)res.status;
}

/* ------------------------------------------------------------------ */
/* Public: peer management                                             */

int p2p_connect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    set_now(p, now_ms);
    struct added *a = added_find(p, addr);
    if (a) {
        if (a->persistent)
            return P2P_ERR_EXISTS;
        a->persistent = true;
        return 0;
    }
    if (p->n_added >= P2P_MAX_ADDED_PEERS)
        return P2P_ERR_FULL;
    a = &p->added[p->n_added++];
    memset(a, 0, sizeof(*a));
    a->addr = *addr;
    a->persistent = true;
    a->backoff_ms = P2P_RECONNECT_MIN_MS;
    a->next_ms = p->now;
    return 0;
}

int p2p_remove_addr(struct p2p *p, const struct p2p_addr *addr)
{
    struct added *a = added_find(p, addr);
    if (!a)
        return P2P_ERR_NOT_FOUND;
    if (a->peer || a->connecting)
        a->persistent = false;   /* removed when that connection ends */
    else
        added_remove(p, a);
    return 0;
}

void p2p_connect_once(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    set_now(p, now_ms);
    if (added_find(p, addr) || p->n_added >= P2P_MAX_ADDED_PEERS)
        return;
    struct added *a = &p->added[p->n_added++];
    memset(a, 0, sizeof(*a));
    a->addr = *addr;
    a->backoff_ms = P2P_RECONNECT_MIN_MS;
    a->next_ms = p->now;
}

void p2p_addrbook_add(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    set_now(p, now_ms);
    book_add(p, addr);
}

size_t p2p_addrbook_get(const struct p2p *p, struct p2p_addr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_book && n < max; i++)
        out[n++] = p->book[i].addr;
    return n;
}

int p2p_disconnect_peer(struct p2p *p, uint64_t peer, uint64_t now_ms)
{
    set_now(p, now_ms);
    struct peer *pe = peer_find(p, peer);
    if (!pe)
        return P2P_ERR_UNKNOWN_PEER;
    drop_peer(p, pe, "disconnect-requested");
    sweep(p);
    return 0;
}

int p2p_disconnect_addr(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    set_now(p, now_ms);
    int n = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (!p->peers[i]->dead && p2p_addr_equal(&p->peers[i]->addr, addr)) {
            drop_peer(p, p->peers[i], "disconnect-requested");
            n++;
        }
    }
    sweep(p);
    return n;
}

int p2p_ban(struct p2p *p, const struct p2p_addr *addr, uint64_t duration_ms,
            const char *reason, uint64_t now_ms)
{
    set_now(p, now_ms);
    int r = add_ban(p, addr, duration_ms, reason);
    sweep(p);
    return r;
}

int p2p_unban(struct p2p *p, const struct p2p_addr *addr)
{
    for (size_t i = 0; i < p->n_bans; i++) {
        if (p2p_addr_same_ip(&p->bans[i].addr, addr)) {
            p->bans[i] = p->bans[--p->n_bans];
            return 0;
        }
    }
    return P2P_ERR_NOT_FOUND;
}

void p2p_clear_bans(struct p2p *p)
{
    p->n_bans = 0;
}

bool p2p_is_banned(const struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    return ban_find(p, addr, now_ms) != NULL;
}

size_t p2p_list_bans(const struct p2p *p, struct p2p_ban_entry *out, size_t max,
                     uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_bans && n < max; i++)
        if (p->bans[i].until_ms > now_ms)
            out[n++] = p->bans[i];
    return n;
}

/* ------------------------------------------------------------------ */
/* Public: observability                                               */

size_t p2p_peer_count(const struct p2p *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        n += !p->peers[i]->dead;
    return n;
}

static int cmp_info(const void *a, const void *b)
{
    const struct p2p_peer_info *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

size_t p2p_get_peers(const struct p2p *p, struct p2p_peer_info *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < max; i++)
        if (!p->peers[i]->dead)
            fill_info(p, p->peers[i], &out[n++]);
    qsort(out, n, sizeof(*out), cmp_info);
    return n;
}

int p2p_get_peer(const struct p2p *p, uint64_t peer, struct p2p_peer_info *out)
{
    const struct peer *pe = peer_find(p, peer);
    if (!pe)
        return P2P_ERR_UNKNOWN_PEER;
    fill_info(p, pe, out);
    return 0;
}

const char *p2p_peer_name(const struct p2p *p, uint64_t peer)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->id == peer)
            return p->peers[i]->name;
    return "";
}

const struct p2p_addr *p2p_peer_addr(const struct p2p *p, uint64_t peer)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->id == peer)
            return &p->peers[i]->addr;
    return NULL;
}

void p2p_get_stats(const struct p2p *p, struct p2p_stats *out)
{
    *out = p->stats;
    out->peers = out->inbound = out->outbound = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (p->peers[i]->dead)
            continue;
        out->peers++;
        if (p->peers[i]->inbound)
            out->inbound++;
        else
            out->outbound++;
    }
}

void p2p_check(const struct p2p *p)
{
    assert(p->n_peers <= p->cap_peers || p->n_peers == 0);
    size_t waiting = 0;
    for (size_t i = 0; i < P2P_WAITING_SOURCES_MAX; i++)
        waiting += p->waiting[i].used;
    assert(waiting == p->waiting_used);
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *pe = p->peers[i];
        assert(pe->id != 0);
        assert(!pe->dead);   /* swept at the end of every entry point */
        for (size_t j = i + 1; j < p->n_peers; j++)
            assert(p->peers[j]->id != pe->id);
        assert(pe->txq_n <= pe->txq_cap);
        assert(pe->rlen <= pe->rcap);
        assert(pe->send_pending <= P2P_SEND_QUEUE_MAX_BYTES);
        assert(p2p_txreq_in_flight(p->req, pe->id)
               <= P2P_MAX_TX_IN_FLIGHT + P2P_MAX_BLOCKS_IN_FLIGHT);
    }
    assert(p->n_added <= P2P_MAX_ADDED_PEERS);
    assert(p->n_book <= p->cap_book && p->cap_book <= P2P_ADDRBOOK_MAX_ENTRIES);
    /* The index holds each book slot exactly once, where a lookup of its
     * address finds it; so book addresses are distinct too. */
    assert(p->cap_book == 0 || (p->book_idx && p->book_idx_mask + 1 == 2 * p->cap_book));
    size_t indexed = 0;
    for (size_t i = 0; p->book_idx && i <= p->book_idx_mask; i++) {
        if (p->book_idx[i] == 0)
            continue;
        assert(p->book_idx[i] <= p->n_book);
        indexed++;
    }
    assert(indexed == p->n_book);
    for (size_t i = 0; i < p->n_book; i++)
        assert(book_find(p, &p->book[i].addr) == i);
    assert(p->n_bans <= P2P_MAX_BANS);
    p2p_txreq_check(p->req);
}
