#include "p2p/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/codec.h"
#include "p2p/err.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void p2p_rng_seed(struct p2p_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t p2p_rng_next(struct p2p_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

uint64_t p2p_rng_below(struct p2p_rng *r, uint64_t n)
{
    assert(n > 0);
    /* Rejection sampling: no modulo bias. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = p2p_rng_next(r);
    while (v >= lim);
    return v % n;
}

uint64_t p2p_shortid(uint64_t salt, const uint8_t hash[32])
{
    uint64_t x = salt;
    for (int i = 0; i < 4; i++) {
        x ^= le64_get(hash + 8 * i);
        x = splitmix64(&x);
    }
    return x ? x : 1;
}

/* ---- idset ---- */

/* Slots start small and grow by half as the set fills, keeping the load
 * at most IDSET_LOAD_NUM / IDSET_LOAD_DEN: a core with few peers or items
 * uses little memory, which matters when a simulator runs thousands of
 * cores. Growing by half at a load of 3/4 leaves a set between 1/2 and
 * 3/4 full (8 / 0.62 ~ 13 bytes an id on average) where doubling at 1/2
 * left it between 1/4 and 1/2 (~21 bytes an id). The slot count is then
 * not a power of two: an id's home slot is 32 bits of its Fibonacci hash
 * scaled to the count. Linear probing at 3/4 examines ~2.5 slots for an
 * id held and ~8.5 for one absent: a few adjacent cache lines. */
#define IDSET_MIN_SLOTS 64u
#define IDSET_LOAD_NUM  3u
#define IDSET_LOAD_DEN  4u
/* idset_home scales 32 bits by the count. A set stops growing at its
 * max: at most 1.5 * 4/3 * max + IDSET_MIN_SLOTS slots. */
#define IDSET_SLOTS_MAX ((size_t)UINT32_MAX)

static size_t idset_home(uint64_t id, size_t cap)
{
    /* Fibonacci hashing first: a caller's ids need not be uniform. */
    uint64_t x = (id * 0x9e3779b97f4a7c15ull) >> 32;
    return (size_t)((x * (uint64_t)cap) >> 32);
}

int p2p_idset_init(struct p2p_idset *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->max = max;
    return 0;
}

void p2p_idset_free(struct p2p_idset *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

void p2p_idset_clear(struct p2p_idset *s)
{
    if (s->slots)
        memset(s->slots, 0, s->cap * sizeof(uint64_t));
    s->count = 0;
}

bool p2p_idset_has(const struct p2p_idset *s, uint64_t id)
{
    assert(id != 0);
    if (!s->slots)
        return false;
    size_t cap = s->cap;
    for (size_t i = idset_home(id, cap);;) {
        if (s->slots[i] == id)
            return true;
        if (s->slots[i] == 0)
            return false;
        if (++i == cap)
            i = 0;
    }
}

static void idset_place(uint64_t *slots, size_t cap, uint64_t id)
{
    size_t i = idset_home(id, cap);
    while (slots[i])
        if (++i == cap)
            i = 0;
    slots[i] = id;
}

static bool idset_grow(struct p2p_idset *s)
{
    size_t old = s->cap;
    size_t cap = old ? old + old / 2 : IDSET_MIN_SLOTS;
    if (cap > IDSET_SLOTS_MAX)
        return false;
    uint64_t *ns = p2p__calloc(cap, sizeof(uint64_t));
    if (!ns)
        return false;
    for (size_t i = 0; i < old; i++)
        if (s->slots[i])
            idset_place(ns, cap, s->slots[i]);
    free(s->slots);
    s->slots = ns;
    s->cap = cap;
    return true;
}

bool p2p_idset_add(struct p2p_idset *s, uint64_t id)
{
    assert(id != 0);
    if (p2p_idset_has(s, id))
        return true;
    if (s->count >= s->max)
        return false;
    if ((s->count + 1) * IDSET_LOAD_DEN > s->cap * IDSET_LOAD_NUM) {
        if (!idset_grow(s))
            return false;   /* out of memory: the item is simply not remembered */
    }
    idset_place(s->slots, s->cap, id);
    s->count++;
    return true;
}

/* ---- filter ---- */

int p2p_filter_init(struct p2p_filter *f, size_t gen_max)
{
    memset(f, 0, sizeof(*f));
    if (p2p_idset_init(&f->gen[0], gen_max) || p2p_idset_init(&f->gen[1], gen_max)) {
        p2p_filter_free(f);
        return P2P_ERR_NOMEM;
    }
    return 0;
}

void p2p_filter_free(struct p2p_filter *f)
{
    p2p_idset_free(&f->gen[0]);
    p2p_idset_free(&f->gen[1]);
}

bool p2p_filter_has(const struct p2p_filter *f, uint64_t id)
{
    return p2p_idset_has(&f->gen[0], id) || p2p_idset_has(&f->gen[1], id);
}

int p2p_filter_add(struct p2p_filter *f, uint64_t id)
{
    if (p2p_filter_has(f, id))
        return 0;
    struct p2p_idset *g = &f->gen[f->cur];
    if (g->count < g->max)
        return p2p_idset_add(g, id) ? 0 : P2P_ERR_NOMEM;
    /* Current generation full: the older one is forgotten. */
    f->cur ^= 1;
    p2p_idset_clear(&f->gen[f->cur]);
    return p2p_idset_add(&f->gen[f->cur], id) ? 0 : P2P_ERR_NOMEM;
}

/* ---- hmap ---- */

void p2p_hmap_init(struct p2p_hmap *m, uint64_t salt)
{
    memset(m, 0, sizeof(*m));
    m->salt = salt;
}

void p2p_hmap_free(struct p2p_hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

static size_t home(const struct p2p_hmap *m, const uint8_t key[32])
{
    return (size_t)p2p_shortid(m->salt, key) & m->mask;
}

static bool find(const struct p2p_hmap *m, const uint8_t key[32], size_t *at)
{
    if (!m->slots)
        return false;
    for (size_t i = home(m, key);; i = (i + 1) & m->mask) {
        if (!m->slots[i].used) {
            *at = i;
            return false;
        }
        if (memcmp(m->slots[i].key, key, 32) == 0) {
            *at = i;
            return true;
        }
    }
}

bool p2p_hmap_get(const struct p2p_hmap *m, const uint8_t key[32], uint32_t *val)
{
    size_t i;
    if (!find(m, key, &i))
        return false;
    *val = m->slots[i].val;
    return true;
}

static int grow(struct p2p_hmap *m)
{
    size_t cap = m->slots ? 2 * (m->mask + 1) : 64;
    struct p2p_hmap_slot *old = m->slots;
    size_t old_cap = m->slots ? m->mask + 1 : 0;
    struct p2p_hmap_slot *ns = p2p__calloc(cap, sizeof(*ns));
    if (!ns)
        return P2P_ERR_NOMEM;
    m->slots = ns;
    m->mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].used)
            continue;
        size_t j = home(m, old[i].key);
        while (ns[j].used)
            j = (j + 1) & m->mask;
        ns[j] = old[i];
    }
    free(old);
    return 0;
}

int p2p_hmap_put(struct p2p_hmap *m, const uint8_t key[32], uint32_t val)
{
    size_t i = 0;   /* set by find() once there are slots (-O3 cannot see it) */
    if (find(m, key, &i)) {
        m->slots[i].val = val;
        return 0;
    }
    /* Keep the load at most 1/2. */
    if (!m->slots || (m->count + 1) * 2 > m->mask + 1) {
        int err = grow(m);
        if (err)
            return err;
        find(m, key, &i);
    }
    memcpy(m->slots[i].key, key, 32);
    m->slots[i].val = val;
    m->slots[i].used = true;
    m->count++;
    return 0;
}

bool p2p_hmap_del(struct p2p_hmap *m, const uint8_t key[32])
{
    size_t i;
    if (!find(m, key, &i))
        return false;
    m->slots[i].used = false;
    m->count--;
    /* Backward shift: move later entries of the run into the hole when
     * their home slot is not between the hole and their position. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (!m->slots[j].used)
            break;
        size_t k = home(m, m->slots[j].key);
        bool between = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (between)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j].used = false;
        i = j;
    }
    return true;
}

#ifdef P2P_ALLOC_INJECT
/* ---- allocation-failure injection (test library only) ---- */
static uint64_t alloc_countdown, alloc_count, alloc_failed;

static bool alloc_fails(void)
{
    alloc_count++;
    if (alloc_countdown == 0 || --alloc_countdown > 0)
        return false;
    alloc_failed++;
    return true;
}

void *p2p__malloc(size_t n)
{
    return alloc_fails() ? NULL : malloc(n);
}

void *p2p__calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : calloc(n, size);
}

void *p2p__realloc(void *q, size_t n)
{
    return alloc_fails() ? NULL : realloc(q, n);
}

void p2p__alloc_fail_nth(uint64_t n)
{
    alloc_countdown = n;
}

uint64_t p2p__alloc_count(void)
{
    return alloc_count;
}

uint64_t p2p__alloc_failed(void)
{
    return alloc_failed;
}
#endif
