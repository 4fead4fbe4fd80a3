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

/* Slots start small and double as the set fills (load <= 1/2), up to
 * 2 * max: a core with few peers or items uses little memory, which
 * matters when a simulator runs thousands of cores. */
#define IDSET_MIN_SLOTS 64u

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
        memset(s->slots, 0, (s->mask + 1) * sizeof(uint64_t));
    s->count = 0;
}

bool p2p_idset_has(const struct p2p_idset *s, uint64_t id)
{
    assert(id != 0);
    if (!s->slots)
        return false;
    for (size_t i = (size_t)id & s->mask;; i = (i + 1) & s->mask) {
        if (s->slots[i] == id)
            return true;
        if (s->slots[i] == 0)
            return false;
    }
}

static bool idset_grow(struct p2p_idset *s)
{
    size_t cap = s->slots ? 2 * (s->mask + 1) : IDSET_MIN_SLOTS;
    uint64_t *ns = p2p__calloc(cap, sizeof(uint64_t));
    if (!ns)
        return false;
    for (size_t i = 0; s->slots && i <= s->mask; i++) {
        uint64_t id = s->slots[i];
        if (!id)
            continue;
        size_t j = (size_t)id & (cap - 1);
        while (ns[j])
            j = (j + 1) & (cap - 1);
        ns[j] = id;
    }
    free(s->slots);
    s->slots = ns;
    s->mask = cap - 1;
    return true;
}

bool p2p_idset_add(struct p2p_idset *s, uint64_t id)
{
    assert(id != 0);
    if (p2p_idset_has(s, id))
        return true;
    if (s->count >= s->max)
        return false;
    if (!s->slots || (s->count + 1) * 2 > s->mask + 1) {
        if (!idset_grow(s))
            return false;   /* out of memory: the item is simply not remembered */
    }
    size_t i = (size_t)id & s->mask;
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = id;
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
