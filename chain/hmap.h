/* A hash map from 32-byte keys (hashes, public keys) to borrowed pointers.
 * Open addressing with linear probing and tombstones.
 *
 * Keys come from peers: an Ed25519 public key costs nothing to grind, and
 * neither does a tx whose txid lands where the attacker wants. So the slot
 * is chosen by a keyed hash (SipHash-1-3 over the whole key) under a
 * per-map salt that a node draws at random: keys that collide under one
 * salt say nothing about another, and probe chains stay short.
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

/* Salt used when 0 is passed: fixed, so tests and the simulator lay out
 * their maps the same way on every run. Not secret; a node passes its own. */
#define HMAP_SALT_DEFAULT 0x9e3779b97f4a7c15ull

struct hmap {
    uint64_t salt;      /* never 0 (0 at init means HMAP_SALT_DEFAULT) */
    struct hmap_slot *slots;
    size_t cap;         /* power of two, or 0 before the first insert */
    size_t count;       /* live entries */
    size_t used;        /* live + tombstones */
};

/* An empty map whose slots are chosen under salt (0: HMAP_SALT_DEFAULT).
 * Allocates nothing. */
void hmap_init(struct hmap *m, uint64_t salt);
/* Frees the slot array; the map stays usable (empty, same salt). */
void hmap_free(struct hmap *m);
/* The keyed hash the slot is taken from (low bits), under salt (0:
 * HMAP_SALT_DEFAULT). Exposed for tests. */
uint64_t hmap_hash(uint64_t salt, const uint8_t key[32]);
/* The value for key, or NULL. */
void *hmap_get(const struct hmap *m, const uint8_t key[32]);
/* Insert or replace (val must not be NULL). Returns 0 or CHAIN_ERR_NOMEM. */
int hmap_put(struct hmap *m, const uint8_t key[32], void *val);
/* Insert key with val (not NULL) unless key is present: then *found is
 * its value and the map is unchanged; otherwise *found is NULL. One hash
 * of the key where get + put take two. Returns 0 or CHAIN_ERR_NOMEM. */
int hmap_add(struct hmap *m, const uint8_t key[32], void *val, void **found);
/* Make room for n live entries, so that inserting up to n does not grow
 * the table (each growth rehashes every key). Changes the slot layout, so
 * iteration order: only for maps that are not iterated, or whose order
 * does not matter. Returns 0 or CHAIN_ERR_NOMEM (the map is unchanged). */
int hmap_reserve(struct hmap *m, size_t n);
/* Remove key; returns its value or NULL if absent. */
void *hmap_del(struct hmap *m, const uint8_t key[32]);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (hmap_live(m, i)) ... */
bool hmap_live(const struct hmap *m, size_t i);

#endif
