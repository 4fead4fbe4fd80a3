/* Inbound eviction, a pure module: which inbound peer gives up its slot
 * when a new one needs it (Bitcoin Core's AttemptToEvictConnection, made
 * stricter where noted). The caller fills one candidate per established,
 * evictable inbound peer (not noban, not added by the operator).
 *
 * Rules, in order:
 * 1. A discouraged candidate goes first (the youngest of them).
 * 2. Protected, each from what is left: peers in the P2P_EVICT_PROTECT_
 *    NETGROUPS distinct network groups that rank highest by a keyed hash
 *    (an attacker cannot choose which groups win; Core protects 4 peers,
 *    which one group can take, we protect one per distinct group); the
 *    P2P_EVICT_PROTECT_PING lowest round trips; the P2P_EVICT_PROTECT_TX
 *    that most recently gave us a new tx and the P2P_EVICT_PROTECT_BLOCK
 *    that most recently gave us a new block; then the older half of the
 *    rest by connection age.
 * 3. Of the unprotected, the network group with the most of them loses its
 *    youngest connection. If every candidate is protected, nobody is
 *    evicted and the newcomer is refused.
 * One operator holding many addresses in few groups therefore cannot
 * keep honest newcomers out, and cannot push out the peers that are
 * useful, fast, diverse or long-standing. */
#ifndef GOSSIPD_P2P_EVICT_H
#define GOSSIPD_P2P_EVICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p2p_evict_cand {
    uint64_t id;
    uint64_t netgroup;          /* p2p_addr_netgroup */
    int64_t ping_ms;            /* -1: none measured yet */
    uint64_t connected_ms;
    uint64_t last_tx_ms;        /* 0: never gave a new tx */
    uint64_t last_block_ms;     /* 0: never gave a new block */
    bool discouraged;
    uint64_t rank;              /* set by p2p_evict_select: keyed netgroup */
};

/* Returns the index in c[0..n) of the candidate to evict, or SIZE_MAX if
 * none may be. Reorders c. salt keys the netgroup ranking. */
size_t p2p_evict_select(struct p2p_evict_cand *c, size_t n, uint64_t salt);

#endif
