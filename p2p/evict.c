/* Inbound eviction selection; the rules and their reasons are in evict.h. */
#include "p2p/evict.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/limits.h"
#include "p2p/util.h"

static uint64_t group_key(uint64_t salt, uint64_t netgroup)
{
    uint8_t k[32] = { 'g' };
    memcpy(k + 8, &netgroup, sizeof(netgroup));
    return p2p_shortid(salt, k);
}

/* Best first, for each protection: the first `keep` of the sorted tail are
 * protected. Ties broken by id so the choice is deterministic. */
static int by_group_key(const void *a, const void *b)
{
    const struct p2p_evict_cand *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_ping(const void *a, const void *b)
{
    const struct p2p_evict_cand *x = a, *y = b;
    uint64_t px = x->ping_ms < 0 ? UINT64_MAX : (uint64_t)x->ping_ms;
    uint64_t py = y->ping_ms < 0 ? UINT64_MAX : (uint64_t)y->ping_ms;
    if (px != py)
        return px < py ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_last_tx(const void *a, const void *b)
{
    const struct p2p_evict_cand *x = a, *y = b;
    if (x->last_tx_ms != y->last_tx_ms)
        return x->last_tx_ms > y->last_tx_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_last_block(const void *a, const void *b)
{
    const struct p2p_evict_cand *x = a, *y = b;
    if (x->last_block_ms != y->last_block_ms)
        return x->last_block_ms > y->last_block_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_age(const void *a, const void *b)
{
    const struct p2p_evict_cand *x = a, *y = b;
    if (x->connected_ms != y->connected_ms)
        return x->connected_ms < y->connected_ms ? -1 : 1;   /* oldest first */
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts c[lo..n) best first and moves the first `keep` that qualify
 * (useful: a non-zero time, if `need_nonzero`) to the protected prefix.
 * Returns the new lo. */
static size_t protect(struct p2p_evict_cand *c, size_t lo, size_t n, size_t keep,
                      int (*cmp)(const void *, const void *), int need)
{
    qsort(c + lo, n - lo, sizeof(*c), cmp);
    size_t k = 0;
    for (size_t i = lo; i < n && k < keep; i++) {
        const struct p2p_evict_cand *e = &c[i];
        if ((need == 1 && e->last_tx_ms == 0) || (need == 2 && e->last_block_ms == 0))
            break;   /* sorted: nobody after it qualifies either */
        k++;
    }
    return lo + k;
}

size_t p2p_evict_select(struct p2p_evict_cand *c, size_t n, uint64_t salt)
{
    if (n == 0)
        return SIZE_MAX;
    size_t disc = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (c[i].discouraged && (disc == SIZE_MAX || c[i].connected_ms >= c[disc].connected_ms))
            disc = i;
    if (disc != SIZE_MAX)
        return disc;
    for (size_t i = 0; i < n; i++)
        c[i].rank = group_key(salt, c[i].netgroup);
    /* One per distinct netgroup, the best-ranked groups. */
    qsort(c, n, sizeof(*c), by_group_key);
    size_t lo = 0;
    for (size_t i = 0; i < n && lo < P2P_EVICT_PROTECT_NETGROUPS; i++) {
        bool seen = false;
        for (size_t j = 0; j < lo && !seen; j++)
            seen = c[j].netgroup == c[i].netgroup;
        if (seen)
            continue;
        struct p2p_evict_cand t = c[lo];
        c[lo] = c[i];
        c[i] = t;
        lo++;
    }
    lo = protect(c, lo, n, P2P_EVICT_PROTECT_PING, by_ping, 0);
    lo = protect(c, lo, n, P2P_EVICT_PROTECT_TX, by_last_tx, 1);
    lo = protect(c, lo, n, P2P_EVICT_PROTECT_BLOCK, by_last_block, 2);
    lo = protect(c, lo, n, (n - lo) / 2, by_age, 0);
    if (lo >= n)
        return SIZE_MAX;
    /* The most crowded group among the rest loses its youngest. */
    size_t best = SIZE_MAX, best_count = 0;
    for (size_t i = lo; i < n; i++) {
        size_t count = 0, youngest = i;
        for (size_t j = lo; j < n; j++) {
            if (c[j].netgroup != c[i].netgroup)
                continue;
            count++;
            if (c[j].connected_ms > c[youngest].connected_ms
                || (c[j].connected_ms == c[youngest].connected_ms && c[j].id > c[youngest].id))
                youngest = j;
        }
        if (count > best_count
            || (count == best_count && c[youngest].connected_ms > c[best].connected_ms)) {
            best = youngest;
            best_count = count;
        }
    }
    return best;
}
