#include "chain/mempool.h"

#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/err.h"
#include "chain/validate.h"

int mempool_init(struct mempool *mp, const struct chain_params *p, size_t max_bytes,
                 uint64_t expiry_ms, uint64_t salt)
{
    memset(mp, 0, sizeof *mp);
    mp->params = p;
    hmap_init(&mp->txs, salt);
    hmap_init(&mp->senders, salt);
    hmap_init(&mp->orphans, salt);
    hmap_init(&mp->waiters, salt);
    mp->max_bytes = max_bytes;
    mp->expiry_ms = expiry_ms;
    return sigcache_init(&mp->sigs, 0, salt);
}

static void entry_free(struct mp_entry *e)
{
    chain_tx_release(e->tx);
    free(e);
}

static void free_entries(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (hmap_live(m, i))
            entry_free(m->slots[i].val);
    hmap_free(m);
}

void mempool_free(struct mempool *mp)
{
    free_entries(&mp->txs);
    free_entries(&mp->orphans);
    for (size_t i = 0; i < mp->waiters.cap; i++)
        if (hmap_live(&mp->waiters, i)) {
            struct mp_waiter *w = mp->waiters.slots[i].val;
            free(w->e);
            free(w);
        }
    hmap_free(&mp->waiters);
    for (size_t i = 0; i < mp->senders.cap; i++)
        if (hmap_live(&mp->senders, i)) {
            struct mp_sender *s = mp->senders.slots[i].val;
            free(s->e);
            free(s);
        }
    hmap_free(&mp->senders);
    sigcache_free(&mp->sigs);
}

const struct mp_entry *mempool_find(const struct mempool *mp, const uint8_t txid[32])
{
    return hmap_get(&mp->txs, txid);
}

size_t mempool_pending_of(const struct mempool *mp, const uint8_t pk[32])
{
    const struct mp_sender *s = hmap_get(&mp->senders, pk);
    return s ? s->n : 0;
}

static struct mp_entry *entry_new(struct mempool *mp, const struct chain_tx *tx,
                                  const uint8_t txid[32], uint64_t origin, uint64_t now_ms)
{
    struct mp_entry *e = malloc(sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->txid, txid, 32);
    e->tx = chain_tx_hold(tx);
    if (!e->tx) {
        free(e);
        return NULL;
    }
    e->size = chain_tx_size(tx);
    e->feerate = chain_tx_feerate(tx);
    e->time_ms = now_ms;
    e->seq = mp->seq++;
    e->origin = origin;
    return e;
}

static struct mp_sender *sender_get(struct mempool *mp, const uint8_t pk[32], bool create)
{
    struct mp_sender *s = hmap_get(&mp->senders, pk);
    if (s || !create)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    memcpy(s->pk, pk, 32);
    if (hmap_put(&mp->senders, pk, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void sender_drop_if_empty(struct mempool *mp, struct mp_sender *s)
{
    if (s->n != 0)
        return;
    hmap_del(&mp->senders, s->pk);
    free(s->e);
    free(s);
}

static int sender_reserve(struct mp_sender *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t ncap = s->cap ? s->cap : 4;
    while (ncap < n)
        ncap *= 2;
    struct mp_entry **ne = realloc(s->e, ncap * sizeof *ne);
    if (!ne)
        return CHAIN_ERR_NOMEM;
    s->e = ne;
    s->cap = ncap;
    return 0;
}

static uint64_t cost(const struct chain_tx *tx) { return tx->amount + tx->fee; }

/* Append e (already in no map) as the sender's next pending tx. */
static int pending_append(struct mempool *mp, struct mp_sender *s, struct mp_entry *e)
{
    int err = sender_reserve(s, s->n + 1);
    if (err)
        return err;
    if ((err = hmap_put(&mp->txs, e->txid, e)) != 0)
        return err;
    s->e[s->n++] = e;
    s->spent += cost(e->tx);
    mp->bytes += e->size;
    mp->changes++;
    return 0;
}

/* e leaves the pending set for reason (a CHAIN_TX_RM_*; 0: it never had
 * on_added, say nothing). */
static void removed(struct mempool *mp, const struct mp_entry *e, int reason)
{
    if (reason && mp->on_removed)
        mp->on_removed(mp->ctx, e, reason);
}

/* Remove and free the sender's pending txs from index i on (reason as
 * removed()). */
static void pending_truncate(struct mempool *mp, struct mp_sender *s, size_t i, int reason)
{
    while (s->n > i) {
        struct mp_entry *e = s->e[--s->n];
        removed(mp, e, reason);
        hmap_del(&mp->txs, e->txid);
        s->spent -= cost(e->tx);
        mp->bytes -= e->size;
        mp->changes++;
        entry_free(e);
    }
}

static void notify(struct mempool *mp, const struct mp_entry *e)
{
    if (mp->on_added)
        mp->on_added(mp->ctx, e);
}

/* ---- the waiting area: txid map + per-sender index + arrival FIFO ---- */

/* Index in w->e of the first entry with nonce >= nonce. */
static size_t waiter_lower(const struct mp_waiter *w, uint64_t nonce)
{
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->e[mid]->tx->nonce < nonce)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t orphans_of(const struct mempool *mp, const uint8_t pk[32])
{
    const struct mp_waiter *w = hmap_get(&mp->waiters, pk);
    return w ? w->n : 0;
}

static struct mp_entry *orphan_find(const struct mempool *mp, const uint8_t pk[32], uint64_t nonce)
{
    const struct mp_waiter *w = hmap_get(&mp->waiters, pk);
    if (!w)
        return NULL;
    size_t i = waiter_lower(w, nonce);
    return i < w->n && w->e[i]->tx->nonce == nonce ? w->e[i] : NULL;
}

/* Put e (in no map, no other waiting tx with its sender and nonce) in the
 * waiting area. Returns 0 or NOMEM (e not taken). */
static int orphan_insert(struct mempool *mp, struct mp_entry *e)
{
    struct mp_waiter *w = hmap_get(&mp->waiters, e->tx->from);
    bool fresh = false;
    if (!w) {
        if (!(w = calloc(1, sizeof *w)))
            return CHAIN_ERR_NOMEM;
        memcpy(w->pk, e->tx->from, 32);
        if (hmap_put(&mp->waiters, w->pk, w) != 0) {
            free(w);
            return CHAIN_ERR_NOMEM;
        }
        fresh = true;
    }
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 4;
        struct mp_entry **ne = realloc(w->e, ncap * sizeof *ne);
        if (!ne)
            goto nomem;
        w->e = ne;
        w->cap = ncap;
    }
    if (hmap_put(&mp->orphans, e->txid, e) != 0)
        goto nomem;
    size_t at = waiter_lower(w, e->tx->nonce);
    memmove(&w->e[at + 1], &w->e[at], (w->n - at) * sizeof *w->e);
    w->e[at] = e;
    w->n++;
    e->wnext = NULL;
    e->wprev = mp->wtail;
    if (mp->wtail)
        mp->wtail->wnext = e;
    else
        mp->whead = e;
    mp->wtail = e;
    mp->orphan_bytes += MEMPOOL_ORPHAN_ENTRY_BYTES;
    return 0;
nomem:
    if (fresh) {
        hmap_del(&mp->waiters, w->pk);
        free(w->e);
        free(w);
    }
    return CHAIN_ERR_NOMEM;
}

/* Take e out of the waiting area (not freed). */
static void orphan_unlink(struct mempool *mp, struct mp_entry *e)
{
    struct mp_waiter *w = hmap_get(&mp->waiters, e->tx->from);
    hmap_del(&mp->orphans, e->txid);
    if (w) {
        size_t at = waiter_lower(w, e->tx->nonce);
        if (at < w->n && w->e[at] == e) {
            memmove(&w->e[at], &w->e[at + 1], (w->n - at - 1) * sizeof *w->e);
            w->n--;
        }
        if (w->n == 0) {
            hmap_del(&mp->waiters, w->pk);
            free(w->e);
            free(w);
        }
    }
    if (e->wprev)
        e->wprev->wnext = e->wnext;
    else
        mp->whead = e->wnext;
    if (e->wnext)
        e->wnext->wprev = e->wprev;
    else
        mp->wtail = e->wprev;
    e->wprev = e->wnext = NULL;
    mp->orphan_bytes -= MEMPOOL_ORPHAN_ENTRY_BYTES;
}

static void orphan_drop(struct mempool *mp, struct mp_entry *e)
{
    orphan_unlink(mp, e);
    entry_free(e);
}

/* Make room for one more waiting tx: the oldest go first. */
static void orphan_make_room(struct mempool *mp)
{
    while (mp->whead && MEMPOOL_ORPHAN_MAX_BYTES - mp->orphan_bytes < MEMPOOL_ORPHAN_ENTRY_BYTES)
        orphan_drop(mp, mp->whead);
}

/* Move waiting txs that now continue the sender's sequence into the pool. */
static void promote_orphans(struct mempool *mp, const struct ledger *l, const uint8_t pk[32])
{
    if (!hmap_get(&mp->waiters, pk))
        return;
    const struct ledger_account *a = ledger_get(l, pk);
    uint64_t base = a ? a->nonce : 0, bal = a ? a->balance : 0;
    for (;;) {
        struct mp_sender *s = sender_get(mp, pk, false);
        size_t n = s ? s->n : 0;
        uint64_t spent = s ? s->spent : 0;
        struct mp_entry *e = orphan_find(mp, pk, base + n);
        if (!e)
            break;
        orphan_unlink(mp, e);
        if (bal - spent < cost(e->tx) || !(s = sender_get(mp, pk, true)) ||
            pending_append(mp, s, e) != 0) {
            entry_free(e);
            if (s)
                sender_drop_if_empty(mp, s);
            break;
        }
        notify(mp, e);
    }
    /* Waiting txs at or below the sequence can never be used now; they
     * sort first. */
    uint64_t next = base + mempool_pending_of(mp, pk);
    struct mp_waiter *w;
    while ((w = hmap_get(&mp->waiters, pk)) != NULL && w->e[0]->tx->nonce < next)
        orphan_drop(mp, w->e[0]);
}

/* Evict until the byte cap holds; returns true if `watch` was evicted. */
static bool evict_to_cap(struct mempool *mp, const struct mp_entry *watch)
{
    bool hit = false;
    while (mp->bytes > mp->max_bytes) {
        struct mp_sender *worst = NULL;
        for (size_t i = 0; i < mp->senders.cap; i++) {
            if (!hmap_live(&mp->senders, i))
                continue;
            struct mp_sender *s = mp->senders.slots[i].val;
            const struct mp_entry *last = s->e[s->n - 1];
            if (!worst || last->feerate < worst->e[worst->n - 1]->feerate ||
                (last->feerate == worst->e[worst->n - 1]->feerate &&
                 last->seq > worst->e[worst->n - 1]->seq))
                worst = s;
        }
        if (!worst)
            break;
        /* watch has had no on_added yet: its caller reports it rejected. */
        bool is_watch = worst->e[worst->n - 1] == watch;
        hit = hit || is_watch;
        pending_truncate(mp, worst, worst->n - 1, is_watch ? 0 : CHAIN_TX_RM_SIZELIMIT);
        sender_drop_if_empty(mp, worst);
    }
    return hit;
}

static int check_sig(struct mempool *mp, const struct chain_tx *tx, const uint8_t txid[32])
{
    return chain_validate_tx(mp->params, tx, txid, &mp->sigs);
}

static int accept_orphan(struct mempool *mp, const struct chain_tx *tx, const uint8_t txid[32],
                         uint64_t next, uint64_t origin, uint64_t now_ms)
{
    int err;
    if (tx->nonce - next > MEMPOOL_ORPHAN_NONCE_GAP_MAX)
        return CHAIN_ERR_TX_BAD_NONCE;
    struct mp_entry *old = orphan_find(mp, tx->from, tx->nonce);
    if (old && tx->fee <= old->tx->fee)
        return CHAIN_ERR_TX_REPLACE_FEE;
    if (!old && orphans_of(mp, tx->from) >= MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX)
        return CHAIN_ERR_TX_ORPHAN_FULL;
    if ((err = check_sig(mp, tx, txid)) != 0)
        return err;
    if (old)
        orphan_drop(mp, old);
    else
        orphan_make_room(mp);
    struct mp_entry *e = entry_new(mp, tx, txid, origin, now_ms);
    if (!e)
        return CHAIN_ERR_NOMEM;
    if ((err = orphan_insert(mp, e)) != 0) {
        entry_free(e);
        return err;
    }
    return CHAIN_TX_WAITING;
}

static int accept_replace(struct mempool *mp, const struct ledger_account *a,
                          struct mp_sender *s, const struct chain_tx *tx,
                          const uint8_t txid[32], uint64_t origin, uint64_t now_ms)
{
    int err;
    size_t idx = (size_t)(tx->nonce - a->nonce);
    struct mp_entry *old = s->e[idx];
    if (tx->fee <= old->tx->fee)
        return CHAIN_ERR_TX_REPLACE_FEE;
    /* The whole sequence must stay covered with the new tx in it. */
    uint64_t spent = s->spent - cost(old->tx);
    if (UINT64_MAX - spent < cost(tx) || a->balance < spent + cost(tx))
        return CHAIN_ERR_TX_INSUFFICIENT;
    if ((err = check_sig(mp, tx, txid)) != 0)
        return err;
    struct mp_entry *e = entry_new(mp, tx, txid, origin, now_ms);
    if (!e)
        return CHAIN_ERR_NOMEM;
    if (hmap_put(&mp->txs, e->txid, e) != 0) {
        entry_free(e);
        return CHAIN_ERR_NOMEM;
    }
    hmap_del(&mp->txs, old->txid);
    mp->changes++;
    s->e[idx] = e;
    s->spent = spent + cost(tx);
    mp->bytes = mp->bytes - old->size + e->size;
    removed(mp, old, CHAIN_TX_RM_REPLACED);
    entry_free(old);
    if (evict_to_cap(mp, e))
        return CHAIN_ERR_MEMPOOL_FULL;
    notify(mp, e);
    return CHAIN_TX_REPLACED;
}

int mempool_accept(struct mempool *mp, const struct ledger *l, const struct chain_tx *tx,
                   uint64_t origin, uint64_t now_ms)
{
    uint8_t txid[32];
    int err;

    /* Form first: it bounds memo_len before the tx is serialized. */
    if ((err = chain_validate_tx_form(mp->params, tx)) != 0)
        return err;
    chain_tx_txid(tx, txid);
    if (hmap_get(&mp->txs, txid) || hmap_get(&mp->orphans, txid))
        return CHAIN_ERR_TX_DUPLICATE;

    static const struct ledger_account none;
    const struct ledger_account *a = ledger_get(l, tx->from);
    if (!a)
        a = &none;
    struct mp_sender *s = sender_get(mp, tx->from, false);
    uint64_t n = s ? s->n : 0, next = a->nonce + n;

    if (tx->nonce < a->nonce)
        return CHAIN_ERR_TX_NONCE_TOO_OLD;
    if (tx->nonce < next)
        return accept_replace(mp, a, s, tx, txid, origin, now_ms);
    if (tx->nonce > next)
        return accept_orphan(mp, tx, txid, next, origin, now_ms);

    uint64_t spent = s ? s->spent : 0;
    if (a->balance - spent < cost(tx))
        return CHAIN_ERR_TX_INSUFFICIENT;
    if ((err = check_sig(mp, tx, txid)) != 0)
        return err;
    struct mp_entry *e = entry_new(mp, tx, txid, origin, now_ms);
    if (!e || !(s = sender_get(mp, tx->from, true))) {
        entry_free(e);
        return CHAIN_ERR_NOMEM;
    }
    if ((err = pending_append(mp, s, e)) != 0) {
        entry_free(e);
        sender_drop_if_empty(mp, s);
        return err;
    }
    if (evict_to_cap(mp, e))
        return CHAIN_ERR_MEMPOOL_FULL;
    notify(mp, e);
    promote_orphans(mp, l, tx->from);
    evict_to_cap(mp, NULL);
    return CHAIN_TX_ACCEPTED;
}

struct cand {
    struct mp_entry *e;
    bool returned;   /* came back from a disconnected block */
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->e->tx->nonce != y->e->tx->nonce)
        return x->e->tx->nonce < y->e->tx->nonce ? -1 : 1;
    /* Same nonce: keep the tx that was already pending. */
    return (int)x->returned - (int)y->returned;
}

/* Keep e, which sits past a nonce gap in its sender's rebuilt sequence
 * (next is the nonce the sequence needs), in the waiting area, under the
 * same bounds as a tx that arrives that way. Takes e; frees it if it cannot
 * stay. An existing waiting tx for the same sender and nonce stays: it was
 * accepted under the replacement rule, the candidate was not. */
static void orphan_keep(struct mempool *mp, struct mp_entry *e, uint64_t next)
{
    if (e->tx->nonce - next > MEMPOOL_ORPHAN_NONCE_GAP_MAX ||
        orphan_find(mp, e->tx->from, e->tx->nonce) ||
        orphans_of(mp, e->tx->from) >= MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX) {
        entry_free(e);
        return;
    }
    orphan_make_room(mp);
    if (orphan_insert(mp, e) != 0)
        entry_free(e);
}

/* Why a pending tx the rebuild does not keep left (0: a connected block
 * included it; no event). base is the sender's ledger nonce. */
static int rebuild_reason(const struct mp_entry *e, const struct hmap *confirmed,
                          uint64_t base, bool reorg)
{
    if (hmap_get(confirmed, e->txid))
        return 0;
    return e->tx->nonce < base || !reorg ? CHAIN_TX_RM_CONFLICT : CHAIN_TX_RM_REORG;
}

/* Re-check one sender's sequence against the ledger, merging in txs
 * returned from disconnected blocks. A candidate past a gap (an earlier
 * nonce no longer affordable, or missing) waits in the orphan area, so the
 * sender's sequence resumes when the gap is filled. confirmed holds the
 * txids of the connected blocks; reorg: blocks were disconnected. */
static int sender_rebuild(struct mempool *mp, const struct ledger *l, const uint8_t pk[32],
                          const struct chain_tx *const *ret, size_t n_ret,
                          const struct hmap *confirmed, bool reorg, uint64_t now_ms)
{
    struct mp_sender *s = sender_get(mp, pk, false);
    size_t n_old = s ? s->n : 0, n = 0;
    struct cand *c = NULL;
    int err = 0;

    if (n_old + n_ret == 0)
        return 0;
    c = malloc((n_old + n_ret) * sizeof *c);
    if (!c)
        return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < n_old; i++) {
        c[n].e = s->e[i];
        c[n++].returned = false;
        hmap_del(&mp->txs, s->e[i]->txid);
        mp->bytes -= s->e[i]->size;
        mp->changes++;
    }
    if (s) {
        s->n = 0;
        s->spent = 0;
    }
    for (size_t i = 0; i < n_ret; i++) {
        uint8_t txid[32];
        chain_tx_txid(ret[i], txid);
        struct mp_entry *e = entry_new(mp, ret[i], txid, CHAIN_ORIGIN_NONE, now_ms);
        if (!e) {
            err = CHAIN_ERR_NOMEM;
            continue;
        }
        /* A returned tx also waiting as an orphan: drop the orphan copy. */
        struct mp_entry *o = hmap_get(&mp->orphans, txid);
        if (o)
            orphan_drop(mp, o);
        c[n].e = e;
        c[n++].returned = true;
    }
    /* Pending txs are kept in nonce order (consecutive nonces), so only
     * returned txs can put the candidates out of cmp_cand's order. */
    if (n_ret)
        qsort(c, n, sizeof *c, cmp_cand);

    const struct ledger_account *a = ledger_get(l, pk);
    const uint64_t base = a ? a->nonce : 0;
    uint64_t next = base, bal = a ? a->balance : 0;
    for (size_t i = 0; i < n; i++) {
        struct mp_entry *e = c[i].e;
        bool keep = e->tx->nonce == next && bal >= cost(e->tx) && !hmap_get(&mp->txs, e->txid);
        if (keep && !s)
            s = sender_get(mp, pk, true);
        if (keep && s && pending_append(mp, s, e) == 0) {
            next++;
            bal -= cost(e->tx);
            if (c[i].returned)
                notify(mp, e);
        } else if (e->tx->nonce > next) {
            /* Its source relayed it long ago: when the gap fills it comes
             * back like a tx a reorg returned. */
            if (!c[i].returned)
                removed(mp, e, rebuild_reason(e, confirmed, base, reorg));
            e->origin = CHAIN_ORIGIN_NONE;
            orphan_keep(mp, e, next);
        } else {
            if (!c[i].returned)
                removed(mp, e, rebuild_reason(e, confirmed, base, reorg));
            entry_free(e);
        }
    }
    free(c);
    if (s)
        sender_drop_if_empty(mp, s);
    promote_orphans(mp, l, pk);
    return err;
}

static int cmp_from(const void *a, const void *b)
{
    const struct chain_tx *x = *(const struct chain_tx *const *)a;
    const struct chain_tx *y = *(const struct chain_tx *const *)b;
    return memcmp(x->from, y->from, 32);
}

static int touch_add(struct hmap *t, const uint8_t pk[32])
{
    void *found;
    return hmap_add(t, pk, t, &found);
}

int mempool_update(struct mempool *mp, const struct ledger *l,
                   const struct chain_block *const *disc, size_t n_disc,
                   const struct chain_block *const *conn, size_t n_conn, uint64_t now_ms)
{
    struct hmap touched, confirmed;
    const struct chain_tx **ret = NULL;
    size_t n_ret = 0, cap_ret = 0;
    int err = 0;

    hmap_init(&touched, mp->txs.salt);
    hmap_init(&confirmed, mp->txs.salt);
    /* confirmed is only looked up, never iterated: sized at once (if that
     * fails, the puts grow it or report NOMEM). touched is iterated, so
     * its layout, and the order senders are rebuilt in, stay as grown. */
    if (mp->on_removed) {
        size_t n_conf = 0;
        for (size_t b = 0; b < n_conn; b++)
            n_conf += conn[b]->n_tx;
        (void)hmap_reserve(&confirmed, n_conf);
    }
    /* Senders of connected txs changed nonce and balance; on a disconnect
     * recipients also lose what they received. Their txids tell a pending
     * tx a block included (no removal event) from one it conflicts with. */
    for (size_t b = 0; b < n_conn && !err; b++)
        for (size_t i = 0; i < conn[b]->n_tx && !err; i++)
            if (!chain_tx_is_coinbase(&conn[b]->txs[i])) {
                err = touch_add(&touched, conn[b]->txs[i].from);
                if (!err && mp->on_removed)
                    err = touch_add(&confirmed, conn[b]->txs[i].txid);
            }
    for (size_t b = 0; b < n_disc; b++)
        cap_ret += disc[b]->n_tx;
    if (cap_ret && !(ret = malloc(cap_ret * sizeof *ret)))
        err = CHAIN_ERR_NOMEM;
    for (size_t b = 0; b < n_disc && !err; b++)
        for (size_t i = 0; i < disc[b]->n_tx && !err; i++) {
            const struct chain_tx *tx = &disc[b]->txs[i];
            err = touch_add(&touched, tx->to);
            if (!err && !chain_tx_is_coinbase(tx)) {
                err = touch_add(&touched, tx->from);
                ret[n_ret++] = tx;
            }
        }
    /* Returned txs grouped by sender, so each sender finds its own run. */
    if (n_ret)
        qsort(ret, n_ret, sizeof *ret, cmp_from);
    for (size_t i = 0; i < touched.cap && !err; i++) {
        if (!hmap_live(&touched, i))
            continue;
        const uint8_t *pk = touched.slots[i].key;
        size_t lo = 0, hi = n_ret;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (memcmp(ret[mid]->from, pk, 32) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t k = 0;
        while (lo + k < n_ret && memcmp(ret[lo + k]->from, pk, 32) == 0)
            k++;
        err = sender_rebuild(mp, l, pk, k ? &ret[lo] : NULL, k, &confirmed, n_disc > 0, now_ms);
    }
    free(ret);
    hmap_free(&touched);
    hmap_free(&confirmed);
    evict_to_cap(mp, NULL);
    return err;
}

void mempool_expire(struct mempool *mp, uint64_t now_ms)
{
    for (size_t i = 0; i < mp->senders.cap; i++) {
        if (!hmap_live(&mp->senders, i))
            continue;
        struct mp_sender *s = mp->senders.slots[i].val;
        for (size_t j = 0; j < s->n; j++)
            if (now_ms - s->e[j]->time_ms >= mp->expiry_ms && now_ms >= s->e[j]->time_ms) {
                pending_truncate(mp, s, j, CHAIN_TX_RM_EXPIRY);
                break;
            }
        /* Deleting from a map while scanning it is safe: slots only turn
         * into tombstones, nothing moves. */
        sender_drop_if_empty(mp, s);
    }
    for (struct mp_entry *e = mp->whead, *next; e; e = next) {
        next = e->wnext;
        if (now_ms >= e->time_ms && now_ms - e->time_ms >= MEMPOOL_ORPHAN_TX_EXPIRY_MS)
            orphan_drop(mp, e);
    }
}

bool mempool_check(const struct mempool *mp, const struct ledger *l)
{
    size_t bytes = 0, count = 0;
    for (size_t i = 0; i < mp->senders.cap; i++) {
        if (!hmap_live(&mp->senders, i))
            continue;
        const struct mp_sender *s = mp->senders.slots[i].val;
        const struct ledger_account *a = ledger_get(l, s->pk);
        uint64_t next = a ? a->nonce : 0, bal = a ? a->balance : 0, spent = 0;
        if (s->n == 0)
            return false;
        for (size_t j = 0; j < s->n; j++) {
            const struct mp_entry *e = s->e[j];
            if (e->tx->nonce != next + j || memcmp(e->tx->from, s->pk, 32) != 0)
                return false;
            if (hmap_get(&mp->txs, e->txid) != e || memcmp(e->txid, e->tx->txid, 32) != 0 ||
                !chain_tx_id_ok(e->tx))
                return false;
            spent += cost(e->tx);
            bytes += e->size;
            count++;
        }
        if (spent != s->spent || spent > bal)
            return false;
    }
    /* The waiting area: FIFO, txid map and per-sender index agree. */
    size_t waiting = 0, indexed = 0;
    for (const struct mp_entry *e = mp->whead; e; e = e->wnext) {
        if (hmap_get(&mp->orphans, e->txid) != e || orphan_find(mp, e->tx->from, e->tx->nonce) != e ||
            (e->wnext ? e->wnext->wprev : mp->wtail) != e)
            return false;
        waiting++;
    }
    for (size_t i = 0; i < mp->waiters.cap; i++) {
        if (!hmap_live(&mp->waiters, i))
            continue;
        const struct mp_waiter *w = mp->waiters.slots[i].val;
        if (w->n == 0 || w->n > MEMPOOL_ORPHAN_TXS_PER_SENDER_MAX)
            return false;
        for (size_t j = 1; j < w->n; j++)
            if (w->e[j - 1]->tx->nonce >= w->e[j]->tx->nonce)
                return false;
        indexed += w->n;
    }
    if (waiting != mp->orphans.count || indexed != waiting ||
        mp->orphan_bytes != waiting * MEMPOOL_ORPHAN_ENTRY_BYTES ||
        mp->orphan_bytes > MEMPOOL_ORPHAN_MAX_BYTES)
        return false;
    return bytes == mp->bytes && count == mp->txs.count && mp->bytes <= mp->max_bytes;
}

const char *chain_tx_removal_name(int reason)
{
    switch (reason) {
    case CHAIN_TX_RM_EXPIRY: return "expiry";
    case CHAIN_TX_RM_SIZELIMIT: return "sizelimit";
    case CHAIN_TX_RM_REPLACED: return "replaced";
    case CHAIN_TX_RM_CONFLICT: return "conflict";
    case CHAIN_TX_RM_REORG: return "reorg";
    default: return "unknown";
    }
}
