/* Propagation records: for each tx or block hash this node has seen, when
 * it first saw it, from whom, and how far it passed it on. Fed by the p2p
 * events; read by getpropagation. Bounded: the oldest records are dropped
 * first (NODE_PROP_MAX). */
#ifndef GOSSIPD_NODE_PROP_H
#define GOSSIPD_NODE_PROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_PROP_MAX      16384u            /* records kept */
#define NODE_PROP_INDEX    (2u * NODE_PROP_MAX)  /* index slots: load <= 1/2 */
_Static_assert((NODE_PROP_INDEX & (NODE_PROP_INDEX - 1)) == 0, "index size is a power of two");

struct node_prop_rec {
    uint8_t hash[32];
    uint32_t type;              /* P2P_INV_TX or P2P_INV_BLOCK */
    uint64_t first_seen_ms;     /* wall clock; 0 = only announced to us so far */
    char source[8];             /* "rpc", "peer", "reorg", "mined" */
    uint64_t peer;              /* source peer id (0 if not a peer) */
    char peer_name[65];
    char peer_addr[56];
    uint64_t first_inv_ms;      /* first announcement received (0: none) */
    uint32_t invs_received;     /* announcements received */
    uint32_t dup_bodies;        /* bodies received again after the first */
    uint32_t announced_peers;   /* peers we announced it to (sum over announcements) */
    uint64_t announced_ms;      /* first time we announced it (0: never) */
    uint32_t height;            /* blocks: height when known */
    int64_t delay_ms;           /* blocks: first_seen - header time */
};

struct node_prop {
    struct node_prop_rec *recs;     /* ring of NODE_PROP_MAX */
    uint32_t *index;                /* ring position + 1; 0 empty; UINT32_MAX tombstone */
    size_t head;                    /* next ring slot to fill */
    size_t count;
    size_t tombs;
};

int node_prop_init(struct node_prop *p);
void node_prop_free(struct node_prop *p);
/* The record for hash, or NULL. Borrowed until the next node_prop_get_or_add. */
struct node_prop_rec *node_prop_find(struct node_prop *p, const uint8_t hash[32]);
/* The record for hash, created (zeroed, hash and type set) if absent,
 * evicting the oldest record when full. Never NULL after a successful init. */
struct node_prop_rec *node_prop_get_or_add(struct node_prop *p, const uint8_t hash[32],
                                           uint32_t type, bool *created);

#endif
