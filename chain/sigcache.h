/* Verified-signature cache: txids whose Ed25519 signature has been checked.
 * A txid is SHA256d of the whole tx including the signature, so a hit means
 * the very same bytes were verified before. Bounded; the oldest entries are
 * forgotten first. */
#ifndef GOSSIPD_CHAIN_SIGCACHE_H
#define GOSSIPD_CHAIN_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/hmap.h"

/* Entries kept (32-byte txids, about 80 bytes each with the index):
 * comfortably more than a full default mempool's tx count. */
#define SIGCACHE_MAX_ENTRIES 200000u

struct sigcache {
    struct hmap set;          /* txid -> marker */
    uint8_t (*ring)[32];      /* insertion order, for FIFO eviction */
    size_t max, head, n;
};

/* max 0 means SIGCACHE_MAX_ENTRIES; salt as for hmap_init. Returns 0 or
 * CHAIN_ERR_NOMEM. */
int sigcache_init(struct sigcache *sc, size_t max, uint64_t salt);
void sigcache_free(struct sigcache *sc);
bool sigcache_has(const struct sigcache *sc, const uint8_t txid[32]);
/* Remember txid (no-op if present); evicts the oldest when full. */
void sigcache_add(struct sigcache *sc, const uint8_t txid[32]);

#endif
