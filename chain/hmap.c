#include "chain/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

/* A distinct address marks a deleted slot so probing continues past it. */
static char hmap_tomb_mark;
#define HMAP_TOMB ((void *)&hmap_tomb_mark)

/* Initial slot count; the table doubles when more than 3/4 used. */
#define HMAP_INITIAL_SLOTS 16

/* SipHash-1-3 (Aumasson and Bernstein; one compression round per word,
 * three finalization rounds, as in Rust's default hasher) over the 32-byte
 * key. The 128-bit SipHash key is (salt, a splitmix64 step of salt): the
 * secret is the 64-bit salt. A multiply-xorshift of key words XOR salt
 * would be cheaper, but it is a public bijection with the salt merely
 * XORed in, so how key differences spread can be studied offline and keys
 * built to collide may keep colliding whatever the salt. SipHash is a PRF
 * keyed by the salt: without the salt, a collision cannot be ground.
 * Words are read little-endian so layouts match across hosts. */
#define SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on four locals: a macro, not a function over an array,
 * so the state stays in registers (the function form cost 3x the time). */
#define SIP_ROUND(v0, v1, v2, v3)                                              \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = SIP_ROTL(v1, 13);                                                 \
        v1 ^= v0;                                                              \
        v0 = SIP_ROTL(v0, 32);                                                 \
        v2 += v3;                                                              \
        v3 = SIP_ROTL(v3, 16);                                                 \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = SIP_ROTL(v3, 21);                                                 \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = SIP_ROTL(v1, 17);                                                 \
        v1 ^= v2;                                                              \
        v2 = SIP_ROTL(v2, 32);                                                 \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

uint64_t hmap_hash(uint64_t salt, const uint8_t key[32])
{
    uint64_t k0 = salt ? salt : HMAP_SALT_DEFAULT;
    uint64_t k1 = k0 + 0x9e3779b97f4a7c15ull;
    k1 = (k1 ^ (k1 >> 30)) * 0xbf58476d1ce4e5b9ull;
    k1 = (k1 ^ (k1 >> 27)) * 0x94d049bb133111ebull;
    k1 ^= k1 >> 31;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    for (size_t i = 0; i < 32; i += 8) {
        uint64_t w = load_le64(key + i);
        v3 ^= w;
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= w;
    }
    /* Last block: the length (32) in the top byte, no tail bytes. */
    uint64_t last = (uint64_t)32 << 56;
    v3 ^= last;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

static size_t slot_of(uint64_t h, size_t cap) { return (size_t)h & (cap - 1); }

void hmap_init(struct hmap *m, uint64_t salt)
{
    memset(m, 0, sizeof *m);
    m->salt = salt ? salt : HMAP_SALT_DEFAULT;
}

void hmap_free(struct hmap *m)
{
    free(m->slots);
    hmap_init(m, m->salt);
}

bool hmap_live(const struct hmap *m, size_t i)
{
    return m->slots[i].val != NULL && m->slots[i].val != HMAP_TOMB;
}

/* The slot holding key, whose hash is h, or NULL. */
static struct hmap_slot *find(const struct hmap *m, const uint8_t key[32], uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t i = slot_of(h, m->cap);
    for (;;) {
        struct hmap_slot *s = &m->slots[i];
        if (s->val == NULL)
            return NULL;
        if (s->val != HMAP_TOMB && memcmp(s->key, key, 32) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *hmap_get(const struct hmap *m, const uint8_t key[32])
{
    if (m->cap == 0)
        return NULL;
    struct hmap_slot *s = find(m, key, hmap_hash(m->salt, key));
    return s ? s->val : NULL;
}

/* Rehash into ncap slots (a power of two holding every live entry). */
static int rehash(struct hmap *m, size_t ncap)
{
    struct hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!hmap_live(m, i))
            continue;
        size_t j = slot_of(hmap_hash(m->salt, m->slots[i].key), ncap);
        while (ns[j].val != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    return 0;
}

static int grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap : HMAP_INITIAL_SLOTS;
    /* Only double when live entries need it; otherwise rehash in place
     * size to clear tombstones. */
    if (m->count + 1 > ncap / 2)
        ncap *= 2;
    return rehash(m, ncap);
}

int hmap_reserve(struct hmap *m, size_t n)
{
    size_t ncap = m->cap ? m->cap : HMAP_INITIAL_SLOTS;
    /* Tombstones count against the load until a rehash clears them. */
    if (n > SIZE_MAX - (m->used - m->count))
        return CHAIN_ERR_NOMEM;
    n += m->used - m->count;
    /* The load insert() keeps: used * 4 <= cap * 3 after each insert. */
    while (n > ncap / 4 * 3) {
        if (ncap > SIZE_MAX / 2)
            return CHAIN_ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap == m->cap)
        return 0;
    return rehash(m, ncap);
}

/* Insert key (hash h, known absent) with val, growing first if needed. */
static int insert(struct hmap *m, const uint8_t key[32], uint64_t h, void *val)
{
    if (m->cap == 0 || (m->used + 1) * 4 > m->cap * 3) {
        int err = grow(m);
        if (err)
            return err;
    }
    size_t i = slot_of(h, m->cap);
    while (m->slots[i].val != NULL && m->slots[i].val != HMAP_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].val == NULL)
        m->used++;
    memcpy(m->slots[i].key, key, 32);
    m->slots[i].val = val;
    m->count++;
    return 0;
}

int hmap_put(struct hmap *m, const uint8_t key[32], void *val)
{
    uint64_t h = hmap_hash(m->salt, key);
    struct hmap_slot *s = find(m, key, h);
    if (s) {
        s->val = val;
        return 0;
    }
    return insert(m, key, h, val);
}

int hmap_add(struct hmap *m, const uint8_t key[32], void *val, void **found)
{
    uint64_t h = hmap_hash(m->salt, key);
    struct hmap_slot *s = find(m, key, h);
    if (s) {
        *found = s->val;
        return 0;
    }
    *found = NULL;
    return insert(m, key, h, val);
}

void *hmap_del(struct hmap *m, const uint8_t key[32])
{
    if (m->cap == 0)
        return NULL;
    struct hmap_slot *s = find(m, key, hmap_hash(m->salt, key));
    if (!s)
        return NULL;
    void *v = s->val;
    s->val = HMAP_TOMB;
    m->count--;
    return v;
}
