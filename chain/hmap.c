#include "chain/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

/* A distinct address marks a deleted slot so probing continues past it. */
static char hmap_tomb_mark;
#define HMAP_TOMB ((void *)&hmap_tomb_mark)

/* Initial slot count; the table doubles when more than 3/4 used. */
#define HMAP_INITIAL_SLOTS 16

static size_t slot_of(const uint8_t key[32], size_t cap)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (size_t)h & (cap - 1);
}

void hmap_init(struct hmap *m) { memset(m, 0, sizeof *m); }

void hmap_free(struct hmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

bool hmap_live(const struct hmap *m, size_t i)
{
    return m->slots[i].val != NULL && m->slots[i].val != HMAP_TOMB;
}

static struct hmap_slot *find(const struct hmap *m, const uint8_t key[32])
{
    if (m->cap == 0)
        return NULL;
    size_t i = slot_of(key, m->cap);
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
    struct hmap_slot *s = find(m, key);
    return s ? s->val : NULL;
}

static int grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap : HMAP_INITIAL_SLOTS;
    /* Only double when live entries need it; otherwise rehash in place
     * size to clear tombstones. */
    if (m->count + 1 > ncap / 2)
        ncap *= 2;
    struct hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!hmap_live(m, i))
            continue;
        size_t j = slot_of(m->slots[i].key, ncap);
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

int hmap_put(struct hmap *m, const uint8_t key[32], void *val)
{
    struct hmap_slot *s = find(m, key);
    if (s) {
        s->val = val;
        return 0;
    }
    if (m->cap == 0 || (m->used + 1) * 4 > m->cap * 3) {
        int err = grow(m);
        if (err)
            return err;
    }
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].val != NULL && m->slots[i].val != HMAP_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].val == NULL)
        m->used++;
    memcpy(m->slots[i].key, key, 32);
    m->slots[i].val = val;
    m->count++;
    return 0;
}

void *hmap_del(struct hmap *m, const uint8_t key[32])
{
    struct hmap_slot *s = find(m, key);
    if (!s)
        return NULL;
    void *v = s->val;
    s->val = HMAP_TOMB;
    m->count--;
    return v;
}
