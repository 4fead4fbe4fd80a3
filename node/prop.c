#include "node/prop.h"

#include <stdlib.h>
#include <string.h>

#define TOMB UINT32_MAX

static size_t slot_of(const uint8_t hash[32])
{
    /* Hashes are uniformly distributed already. */
    uint32_t v;
    memcpy(&v, hash, sizeof v);
    return v & (NODE_PROP_INDEX - 1);
}

int node_prop_init(struct node_prop *p)
{
    memset(p, 0, sizeof *p);
    p->recs = calloc(NODE_PROP_MAX, sizeof *p->recs);
    p->index = calloc(NODE_PROP_INDEX, sizeof *p->index);
    if (!p->recs || !p->index) {
        node_prop_free(p);
        return -1;
    }
    return 0;
}

void node_prop_free(struct node_prop *p)
{
    free(p->recs);
    free(p->index);
    memset(p, 0, sizeof *p);
}

/* Index slot holding hash, or the slot where it would go (*found false). */
static size_t probe(const struct node_prop *p, const uint8_t hash[32], bool *found)
{
    size_t i = slot_of(hash);
    size_t first_tomb = SIZE_MAX;
    for (size_t n = 0; n < NODE_PROP_INDEX; n++, i = (i + 1) & (NODE_PROP_INDEX - 1)) {
        uint32_t v = p->index[i];
        if (v == 0) {
            *found = false;
            return first_tomb != SIZE_MAX ? first_tomb : i;
        }
        if (v == TOMB) {
            if (first_tomb == SIZE_MAX)
                first_tomb = i;
            continue;
        }
        if (memcmp(p->recs[v - 1].hash, hash, 32) == 0) {
            *found = true;
            return i;
        }
    }
    *found = false;
    return first_tomb;   /* never SIZE_MAX: load stays <= 1/2 plus tombstones, rebuilt */
}

struct node_prop_rec *node_prop_find(struct node_prop *p, const uint8_t hash[32])
{
    bool found;
    size_t i = probe(p, hash, &found);
    return found ? &p->recs[p->index[i] - 1] : NULL;
}

static void rebuild(struct node_prop *p)
{
    memset(p->index, 0, NODE_PROP_INDEX * sizeof *p->index);
    p->tombs = 0;
    for (size_t k = 0; k < NODE_PROP_MAX; k++) {
        if (k >= p->count && p->count < NODE_PROP_MAX)
            break;
        bool found;
        size_t i = probe(p, p->recs[k].hash, &found);
        p->index[i] = (uint32_t)k + 1;
    }
}

struct node_prop_rec *node_prop_get_or_add(struct node_prop *p, const uint8_t hash[32],
                                           uint32_t type, bool *created)
{
    bool found;
    size_t i = probe(p, hash, &found);
    if (found) {
        if (created)
            *created = false;
        return &p->recs[p->index[i] - 1];
    }
    size_t pos = p->head;
    if (p->count == NODE_PROP_MAX) {
        /* Evict the oldest (the slot being reused). */
        bool f2;
        size_t j = probe(p, p->recs[pos].hash, &f2);
        if (f2) {
            p->index[j] = TOMB;
            p->tombs++;
        }
    } else {
        p->count++;
    }
    struct node_prop_rec *r = &p->recs[pos];
    memset(r, 0, sizeof *r);
    memcpy(r->hash, hash, 32);
    r->type = type;
    p->head = (pos + 1) % NODE_PROP_MAX;
    if (p->tombs > NODE_PROP_MAX / 2) {
        rebuild(p);
    } else {
        i = probe(p, hash, &found);
        if (p->index[i] == TOMB)
            p->tombs--;
        p->index[i] = (uint32_t)pos + 1;
    }
    if (created)
        *created = true;
    return r;
}
