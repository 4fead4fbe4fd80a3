/* A hash map from 32-byte keys (hashes, public keys) to borrowed pointers.
 * Open addressing with linear probing and tombstones. Keys are hashes or
 * Ed25519 keys, so their first bytes are already well spread.
 *
 * The map stores a copy of each key and the value pointer; it owns neither
 * what the value points to nor any memory beyond its slot array. */
#ifndef GOSSIPD_CHAIN_HMAP_H
#define GOSSIPD_CHAIN_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
    uint8_t key[32];
    void *val;          /* NULL: empty; HMAP_TOMB: deleted */
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap;         /* power of two, or 0 before the first insert */
    size_t count;       /* live entries */
    size_t used;        /* live + tombstones */
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* The value for key, or NULL. */
void *hmap_get(const struct hmap *m, const uint8_t key[32]);
/* Insert or replace (val must not be NULL). Returns 0 or CHAIN_ERR_NOMEM. */
int hmap_put(struct hmap *m, const uint8_t key[32], void *val);
/* Remove key; returns its value or NULL if absent. */
void *hmap_del(struct hmap *m, const uint8_t key[32]);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (hmap_live(m, i)) ... */
bool hmap_live(const struct hmap *m, size_t i);

#endif
