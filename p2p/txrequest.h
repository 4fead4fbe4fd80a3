/* Pull scheduler: which announced item to request from which peer, and
 * when. A pure module in the spirit of Bitcoin Core's txrequest.h: no
 * clock (now_ms is passed in), no I/O, no randomness; the same calls give
 * the same requests.
 *
 * Rules, and why:
 *  - One request in flight per hash: each body is downloaded once per
 *    node, however many peers announce it.
 *  - A request times out (P2P_TX_REQUEST_TIMEOUT_MS / _BLOCK_) and the
 *    next announcer is asked: a slow or lying peer delays an item, it does
 *    not stop it.
 *  - notfound moves on at once: the peer said it cannot serve it.
 *  - Per-peer in-flight caps (P2P_MAX_TX_IN_FLIGHT, P2P_MAX_BLOCKS_IN_FLIGHT):
 *    one peer cannot hold all our requests; for blocks this is the
 *    parallel-download window.
 *  - Preferred (outbound) announcers are asked before others; the caller
 *    also gives non-preferred announcements a later reqtime, so an outbound
 *    peer that announces shortly after still wins. Outbound peers are ones
 *    we chose, so an attacker cannot easily be all of them.
 *  - Per-peer and total caps on tracked announcements bound memory
 *    (P2P_TXREQ_MAX_PER_PEER, P2P_TXREQ_MAX_ENTRIES,
 *    P2P_TXREQ_MAX_ANNOUNCERS per hash).
 *  - Fairness under junk: the last P2P_TXREQ_RESERVED_ENTRIES hashes are
 *    kept for peers holding fewer than P2P_TXREQ_FAIR_PER_PEER, so the
 *    total cannot be filled against anyone; a hash full of announcers
 *    drops a spent one for any newcomer, and an untried non-preferred one
 *    for a preferred newcomer, so junk inbound announcers cannot crowd out
 *    an outbound peer that would serve it.
 *  - When every announcer has been tried the hash is forgotten; a later
 *    announcement starts over.
 * Among equally good candidates the earliest reqtime, then the earliest
 * announcement wins (deterministic). */
#ifndef GOSSIPD_P2P_TXREQUEST_H
#define GOSSIPD_P2P_TXREQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p2p_txreq;

struct p2p_txreq_req {
    uint64_t peer;
    uint32_t type;          /* P2P_INV_TX or P2P_INV_BLOCK */
    uint8_t hash[32];
};

/* salt: for the hash table (keep it secret from peers). 0 or P2P_ERR_NOMEM. */
int p2p_txreq_create(struct p2p_txreq **out, uint64_t salt);
void p2p_txreq_destroy(struct p2p_txreq *r);

/* A peer announced hash (or can serve it). reqtime_ms: earliest time to
 * ask this peer. Returns 0 if recorded, 1 if that peer was already recorded
 * for the hash (or the hash is full of announcers), P2P_ERR_FULL if a cap is
 * reached, P2P_ERR_NOMEM, or P2P_ERR_INVALID_ARG for a bad type. A hash
 * already tracked keeps its first type. */
int p2p_txreq_announce(struct p2p_txreq *r, uint64_t peer, uint32_t type,
                       const uint8_t hash[32], bool preferred, uint64_t reqtime_ms);
/* The body arrived (from anyone) or is no longer wanted: forget the hash. */
void p2p_txreq_forget(struct p2p_txreq *r, const uint8_t hash[32]);
/* The peer answered notfound: its announcement is spent; the next
 * announcer can be asked at the next poll. */
void p2p_txreq_notfound(struct p2p_txreq *r, uint64_t peer, const uint8_t hash[32]);
/* The peer disconnected: drop its announcements and requests. */
void p2p_txreq_peer_gone(struct p2p_txreq *r, uint64_t peer);

/* Expires timed-out requests and chooses new ones. Writes up to max
 * requests to out (each now in flight until now + timeout); returns the
 * count. Call again if it returned max. */
size_t p2p_txreq_poll(struct p2p_txreq *r, uint64_t now_ms, struct p2p_txreq_req *out,
                      size_t max);

/* Block stallers: peers holding a block request past its timeout at now_ms
 * (the next poll would expire it) while another announcer that has not
 * been tried could serve it. Writes up to max distinct peer ids; returns
 * the count. Call before p2p_txreq_poll, which forgets the expiry. */
size_t p2p_txreq_block_stallers(const struct p2p_txreq *r, uint64_t now_ms, uint64_t *out,
                                size_t max);

bool p2p_txreq_has(const struct p2p_txreq *r, const uint8_t hash[32]);
/* Requests in flight to peer (all types). */
size_t p2p_txreq_in_flight(const struct p2p_txreq *r, uint64_t peer);
/* True iff peer announced hash or was asked for it (and it is still tracked). */
bool p2p_txreq_from_peer(const struct p2p_txreq *r, uint64_t peer, const uint8_t hash[32]);
/* Hashes tracked. */
size_t p2p_txreq_size(const struct p2p_txreq *r);
/* Earliest time after now_ms at which a poll could do something (a
 * timeout, or a reqtime not yet reached), or UINT64_MAX. Announcements
 * already due but held back by a full per-peer window are not deadlines:
 * they go out at the next poll after a request completes. A time at or
 * before now_ms means a poll is due. */
/* Allocations poll could not make since the last call (it then served
 * that poll unsorted); for the caller's local-error count. */
uint64_t p2p_txreq_take_nomem(struct p2p_txreq *r);
uint64_t p2p_txreq_next_deadline(const struct p2p_txreq *r, uint64_t now_ms);
/* Entries examined by polls' scans so far. A poll after nothing changed
 * (no announce, forget, notfound, peer gone, and no timeout or reqtime
 * reached) examines none, and neither do block_stallers and
 * next_deadline then. */
uint64_t p2p_txreq_scanned(const struct p2p_txreq *r);
/* Asserts internal consistency (tests). */
void p2p_txreq_check(const struct p2p_txreq *r);

#endif
