#include "p2p/recon.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/err.h"
#include "p2p/util.h"

uint64_t p2p_recon_sid(const uint8_t txid[32])
{
    return le64_get(txid);
}

static int cmp_item(const void *a, const void *b)
{
    const struct p2p_recon_item *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return memcmp(x->txid, y->txid, 32);
}

int p2p_recon_set_build(struct p2p_recon_set *s, const uint8_t (*txids)[32], size_t n)
{
    s->n = 0;
    s->items = p2p__malloc((n ? n : 1) * sizeof(*s->items));
    s->xacc = p2p__malloc((n + 1) * sizeof(*s->xacc));
    if (!s->items || !s->xacc) {
        p2p_recon_set_free(s);
        return P2P_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->items[i].sid = p2p_recon_sid(txids[i]);
        memcpy(s->items[i].txid, txids[i], 32);
    }
    s->n = n;
    qsort(s->items, n, sizeof(*s->items), cmp_item);
    /* Prefix XORs: a bucket's checksum is two loads, not a walk over it. */
    s->xacc[0] = 0;
    for (size_t i = 0; i < n; i++)
        s->xacc[i + 1] = s->xacc[i] ^ s->items[i].sid;
    return 0;
}

void p2p_recon_set_free(struct p2p_recon_set *s)
{
    free(s->items);
    free(s->xacc);
    s->items = NULL;
    s->xacc = NULL;
    s->n = 0;
}

/* First index with sid >= v. */
static size_t lower(const struct p2p_recon_set *s, uint64_t v)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->items[mid].sid < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void p2p_recon_bucket(const struct p2p_recon_set *s, unsigned depth, uint32_t prefix,
                      size_t *lo, size_t *hi, uint64_t *xor)
{
    if (depth == 0) {
        *lo = 0;
        *hi = s->n;
    } else {
        unsigned shift = 64 - depth * P2P_RECON_FANOUT_BITS;
        uint64_t start = (uint64_t)prefix << shift;
        uint64_t last = start | ((shift == 64) ? UINT64_MAX : ((1ull << shift) - 1));
        *lo = lower(s, start);
        *hi = last == UINT64_MAX ? s->n : lower(s, last + 1);
    }
    *xor = s->xacc[*hi] ^ s->xacc[*lo];
}

void p2p_recon_out_init(struct p2p_recon_out *o)
{
    memset(o, 0, sizeof(*o));
    wr_init(&o->body, P2P_MAX_RECON_BYTES);
}

void p2p_recon_out_free(struct p2p_recon_out *o)
{
    wr_free(&o->body);
    free(o->want);
    free(o->give);
    memset(o, 0, sizeof(*o));
}

static int push(uint8_t (**arr)[32], size_t *n, size_t *cap, const uint8_t id[32])
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        uint8_t (*na)[32] = p2p__realloc(*arr, nc * 32);
        if (!na)
            return P2P_ERR_NOMEM;
        *arr = na;
        *cap = nc;
    }
    memcpy((*arr)[(*n)++], id, 32);
    return 0;
}

int p2p_recon_start(const struct p2p_recon_set *mine, struct p2p_recon_out *out)
{
    size_t lo, hi;
    uint64_t x;
    p2p_recon_bucket(mine, 0, 0, &lo, &hi, &x);
    p2p_put_recon_summary(&out->body, 0, 0, (uint32_t)(hi - lo), x);
    out->n_nodes = 1;
    return out->body.err ? P2P_ERR_NOMEM : 0;
}

static bool room(const struct p2p_recon_out *o, size_t nodes, size_t ids)
{
    return P2P_MAX_RECON_NODES - o->n_nodes >= nodes && P2P_MAX_RECON_IDS - o->n_ids >= ids;
}

static void put_listing(struct p2p_recon_out *o, const struct p2p_recon_set *mine,
                        unsigned depth, uint32_t prefix, size_t lo, size_t hi)
{
    size_t n = hi - lo;
    if (n > P2P_MAX_RECON_IDS - o->n_ids)
        n = P2P_MAX_RECON_IDS - o->n_ids;   /* only at max depth: unreachable in practice */
    wr_u8(&o->body, P2P_RECON_LISTING);
    wr_u8(&o->body, (uint8_t)depth);
    wr_u32(&o->body, prefix);
    wr_varint(&o->body, n);
    for (size_t i = 0; i < n; i++)
        wr_bytes(&o->body, mine->items[lo + i].txid, 32);
    o->n_nodes++;
    o->n_ids += n;
}

static int on_summary(const struct p2p_recon_set *mine, const struct p2p_recon_node *nd,
                      struct p2p_recon_out *o)
{
    size_t lo, hi;
    uint64_t x;
    p2p_recon_bucket(mine, nd->depth, nd->prefix, &lo, &hi, &x);
    o->work++;
    size_t cnt = hi - lo;
    if (cnt == nd->count && x == nd->xor)
        return 0;
    if (cnt <= P2P_RECON_LEAF_ENTRIES || nd->depth == P2P_RECON_MAX_DEPTH) {
        if (room(o, 1, cnt <= P2P_RECON_LEAF_ENTRIES ? cnt : 1)) {
            put_listing(o, mine, nd->depth, nd->prefix, lo, hi);
            o->work += hi - lo;
        }
        return 0;
    }
    if (nd->count <= P2P_RECON_LEAF_ENTRIES) {
        /* Let the smaller side list. */
        if (room(o, 1, 0)) {
            p2p_put_recon_summary(&o->body, nd->depth, nd->prefix, (uint32_t)cnt, x);
            o->n_nodes++;
        }
        return 0;
    }
    if (!room(o, P2P_RECON_CHILDREN, 0))
        return 0;
    unsigned d = nd->depth + 1u;
    for (uint32_t c = 0; c < P2P_RECON_CHILDREN; c++) {
        uint32_t pre = (nd->prefix << P2P_RECON_FANOUT_BITS) | c;
        size_t clo, chi;
        uint64_t cx;
        p2p_recon_bucket(mine, d, pre, &clo, &chi, &cx);
        p2p_put_recon_summary(&o->body, (uint8_t)d, pre, (uint32_t)(chi - clo), cx);
        o->n_nodes++;
    }
    o->work += P2P_RECON_CHILDREN;
    return 0;
}

static bool have(const struct p2p_recon_set *mine, const uint8_t id[32])
{
    uint64_t sid = p2p_recon_sid(id);
    for (size_t i = lower(mine, sid); i < mine->n && mine->items[i].sid == sid; i++)
        if (memcmp(mine->items[i].txid, id, 32) == 0)
            return true;
    return false;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A listing: the peer's whole bucket. What it lists and we lack, we want;
 * what we have in the bucket and it did not list, we give (at most
 * P2P_MAX_RECON_IDS per message: the next round gives the rest). Cost:
 * O((listed + bucket) log listed), counted in o->work. */
static int on_listing(const struct p2p_recon_set *mine, const struct p2p_recon_node *nd,
                      struct p2p_recon_out *o)
{
    int err = 0;
    uint64_t *listed = p2p__malloc((nd->count ? nd->count : 1) * sizeof(*listed));
    if (!listed)
        return P2P_ERR_NOMEM;
    for (uint32_t i = 0; i < nd->count && !err; i++) {
        const uint8_t *id = nd->ids + 32 * (size_t)i;   /* each: a binary search */
        listed[i] = p2p_recon_sid(id);
        if (!have(mine, id))
            err = push(&o->want, &o->n_want, &o->cap_want, id);
    }
    qsort(listed, nd->count, sizeof(*listed), cmp_u64);
    size_t lo, hi;
    uint64_t x;
    p2p_recon_bucket(mine, nd->depth, nd->prefix, &lo, &hi, &x);
    size_t k = lo;
    for (; k < hi && !err && o->n_give < P2P_MAX_RECON_IDS; k++) {
        /* By short id: a listed id with our sid but another txid is a
         * collision the next round's summaries catch. */
        uint64_t sid = mine->items[k].sid;
        if (!bsearch(&sid, listed, nd->count, sizeof(*listed), cmp_u64))
            err = push(&o->give, &o->n_give, &o->cap_give, mine->items[k].txid);
    }
    o->work += 1 + nd->count + (k - lo);
    free(listed);
    return err;
}

int p2p_recon_process(const struct p2p_recon_set *mine, const struct p2p_recon_msg *m,
                      size_t work_max, struct p2p_recon_out *out)
{
    struct p2p_recon_iter it;
    struct p2p_recon_node nd;
    int err = 0;
    p2p_recon_iter_init(&it, m);
    while (!err && p2p_recon_next(&it, &nd)) {
        if (out->work >= work_max) {
            out->cut = true;    /* the rest waits for a later round */
            break;
        }
        if (nd.kind == P2P_RECON_SUMMARY)
            err = on_summary(mine, &nd, out);
        else
            err = on_listing(mine, &nd, out);
    }
    if (!err && out->body.err)
        err = P2P_ERR_NOMEM;
    return err;
}
