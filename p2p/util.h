/* Small building blocks of the core: a seeded PRNG, salted short ids,
 * a bounded "recently seen" filter and a hash map from 32-byte keys. */
#ifndef GOSSIPD_P2P_UTIL_H
#define GOSSIPD_P2P_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- Allocation: p2p/ allocates through these. The production library
 * gets libc itself (inline, nothing added). The test library built with
 * P2P_ALLOC_INJECT (tests/unit/test_alloc_fail.c) counts allocations and
 * fails the Nth, so the out-of-memory paths run in tests. ---- */
#ifdef P2P_ALLOC_INJECT
void *p2p__malloc(size_t n);
void *p2p__calloc(size_t n, size_t size);
void *p2p__realloc(void *q, size_t n);
/* The nth allocation from now fails (1: the next one); 0: none fails. */
void p2p__alloc_fail_nth(uint64_t n);
/* Allocations made, and made to fail, since the process started. */
uint64_t p2p__alloc_count(void);
uint64_t p2p__alloc_failed(void);
#else
static inline void *p2p__malloc(size_t n) { return malloc(n); }
static inline void *p2p__calloc(size_t n, size_t size) { return calloc(n, size); }
static inline void *p2p__realloc(void *q, size_t n) { return realloc(q, n); }
#endif

/* ---- PRNG: xoshiro256**, seeded with splitmix64. Not cryptographic: it
 * picks peers and nonces, and must replay from a seed in tests. ---- */
struct p2p_rng {
    uint64_t s[4];
};
void p2p_rng_seed(struct p2p_rng *r, uint64_t seed);
uint64_t p2p_rng_next(struct p2p_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t p2p_rng_below(struct p2p_rng *r, uint64_t n);

/* Salted 64-bit id of a hash, never 0. The salt is secret per node, so a
 * peer cannot grind items that collide in our tables. */
uint64_t p2p_shortid(uint64_t salt, const uint8_t hash[32]);

/* ---- Set of non-zero u64, at most max entries, no deletion. Memory
 * grows with use (to about 16 * max bytes). ---- */
struct p2p_idset {
    uint64_t *slots;    /* NULL until the first add */
    size_t cap;         /* slots (0 until the first add); load <= 3/4 */
    size_t count;
    size_t max;
};
int p2p_idset_init(struct p2p_idset *s, size_t max);   /* 0 (allocates lazily) */
void p2p_idset_free(struct p2p_idset *s);
void p2p_idset_clear(struct p2p_idset *s);
bool p2p_idset_has(const struct p2p_idset *s, uint64_t id);
/* Adds id; false if the set is full (count == max) and id is absent, or
 * out of memory. */
bool p2p_idset_add(struct p2p_idset *s, uint64_t id);

/* ---- Bounded filter of recently seen ids: two generations of gen_max.
 * An id added is remembered for at least gen_max further additions. Exact
 * (no false positives), unlike a rolling Bloom filter. ---- */
struct p2p_filter {
    struct p2p_idset gen[2];
    int cur;
};
int p2p_filter_init(struct p2p_filter *f, size_t gen_max);
void p2p_filter_free(struct p2p_filter *f);
bool p2p_filter_has(const struct p2p_filter *f, uint64_t id);
/* 0, or P2P_ERR_NOMEM: the id is not remembered. */
int p2p_filter_add(struct p2p_filter *f, uint64_t id);

/* ---- Map from 32-byte keys to u32 values, with deletion (linear probing,
 * backward-shift delete: no tombstones). ---- */
struct p2p_hmap_slot {
    uint8_t key[32];
    uint32_t val;
    bool used;
};
struct p2p_hmap {
    struct p2p_hmap_slot *slots;
    size_t mask;
    size_t count;
    uint64_t salt;
};
void p2p_hmap_init(struct p2p_hmap *m, uint64_t salt);
void p2p_hmap_free(struct p2p_hmap *m);
bool p2p_hmap_get(const struct p2p_hmap *m, const uint8_t key[32], uint32_t *val);
/* Insert or replace. 0 or P2P_ERR_NOMEM. */
int p2p_hmap_put(struct p2p_hmap *m, const uint8_t key[32], uint32_t val);
bool p2p_hmap_del(struct p2p_hmap *m, const uint8_t key[32]);

#endif
