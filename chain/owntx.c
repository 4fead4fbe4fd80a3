/* The node's own txs: every tx its operator submitted (RPC), kept in the
 * store's own_tx table from before its txid is answered until it is buried
 * CHAIN_OWN_TX_KEEP_DEPTH blocks deep. A row holds the tx and the height of
 * the best-chain block that confirmed it (0: unconfirmed). The heights move
 * in the same store transaction as the blocks that connect or disconnect,
 * so after a crash the table agrees with the stored tip; the in-memory map
 * follows after each commit (chain__own_apply), never before, so a rolled
 * back transaction leaves nothing to undo. */
#include <stdlib.h>
#include <string.h>

#include "chain/chainstate.h"
#include "chain/codec.h"

struct own_tx {
    uint8_t txid[32];
    struct chain_tx tx;
    uint64_t seq;        /* order added */
    uint32_t height;     /* best-chain block holding it; 0: unconfirmed */
};

static int own_insert(struct chain *c, const uint8_t txid[32], const struct chain_tx *tx,
                      uint64_t seq, uint32_t height)
{
    struct own_tx *o = malloc(sizeof *o);
    if (!o)
        return CHAIN_ERR_NOMEM;
    memcpy(o->txid, txid, 32);
    o->tx = *tx;
    o->seq = seq;
    o->height = height;
    if (hmap_put(&c->own, txid, o) != 0) {
        free(o);
        return CHAIN_ERR_NOMEM;
    }
    if (seq >= c->own_seq)
        c->own_seq = seq + 1;
    c->own_unconf += height == 0;
    return 0;
}

static int load_own_row(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                        size_t len, uint32_t height)
{
    struct chain *c = ctx;
    struct chain_tx tx;
    uint8_t id[32];
    if (chain_tx_parse(&tx, data, len) != 0)
        return CHAIN_ERR_STORE;
    chain_tx_txid(&tx, id);
    if (memcmp(id, txid, 32) != 0 || height > chain__tip(c)->height)
        return CHAIN_ERR_STORE;
    return own_insert(c, txid, &tx, seq, height);
}

int chain__own_load(struct chain *c)
{
    return store_own_load(c->st, load_own_row, c);
}

void chain__own_free(struct chain *c)
{
    for (size_t i = 0; i < c->own.cap; i++)
        if (hmap_live(&c->own, i))
            free(c->own.slots[i].val);
    hmap_free(&c->own);
}

int chain__own_block(struct chain *c, const struct chain_block *b, uint32_t height, bool connect,
                     bool write)
{
    if (c->own.count == 0)
        return 0;
    for (size_t i = 0; i < b->n_tx; i++) {
        if (chain_tx_is_coinbase(&b->txs[i]))
            continue;
        uint8_t txid[32];
        chain_tx_txid(&b->txs[i], txid);
        struct own_tx *o = hmap_get(&c->own, txid);
        if (!o || (!connect && o->height != height))
            continue;
        uint32_t h = connect ? height : 0;
        if (!write) {
            c->own_unconf += (h == 0) - (o->height == 0);
            o->height = h;
            continue;
        }
        int err = store_own_height(c->st, txid, h);
        if (err)
            return err;
    }
    return 0;
}

int chain__own_prune(struct chain *c, uint32_t tip_height, bool write)
{
    /* Confirmations = tip_height - height + 1. In the store transaction
     * memory does not show yet what it confirmed: always ask SQLite. */
    if (c->own.count == 0 || tip_height + 1 < CHAIN_OWN_TX_KEEP_DEPTH)
        return 0;
    uint32_t max = tip_height + 1 - CHAIN_OWN_TX_KEEP_DEPTH;
    if (write)
        return store_own_prune(c->st, max);
    if (c->own.count == c->own_unconf)
        return 0;
    for (size_t i = 0; i < c->own.cap; i++) {
        if (!hmap_live(&c->own, i))
            continue;
        struct own_tx *o = c->own.slots[i].val;
        if (o->height > 0 && o->height <= max) {
            hmap_del(&c->own, o->txid);   /* tombstone only: the scan goes on */
            free(o);
        }
    }
    return 0;
}

/* ---- facade ---- */

int chain_own_tx_add(struct chain *c, const struct chain_tx *tx)
{
    uint8_t txid[32];
    chain_tx_txid(tx, txid);
    if (hmap_get(&c->own, txid))
        return 1;
    if (c->own_unconf >= CHAIN_OWN_TXS_MAX)
        return CHAIN_ERR_OWN_FULL;
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, buf, sizeof buf);
    if (!chain_tx_encode(&w, tx))
        return CHAIN_ERR_TOO_LARGE;
    /* One autocommit statement: durable (synchronous=FULL) on return, so
     * outside any header batch. */
    int err = chain_headers_end(c);
    if (!err)
        err = store_own_put(c->st, txid, c->own_seq, buf, w.len);
    if (err)
        return err;
    err = own_insert(c, txid, tx, c->own_seq, 0);
    if (err)
        store_own_del(c->st, txid);
    return err;
}

int chain_own_tx_del(struct chain *c, const uint8_t txid[32])
{
    struct own_tx *o = hmap_get(&c->own, txid);
    if (!o)
        return CHAIN_ERR_NOT_FOUND;
    int err = store_own_del(c->st, txid);
    if (err)
        return err;
    hmap_del(&c->own, txid);
    c->own_unconf -= o->height == 0;
    free(o);
    return 0;
}

bool chain_own_tx_has(const struct chain *c, const uint8_t txid[32])
{
    return hmap_get(&c->own, txid) != NULL;
}

size_t chain_own_tx_count(const struct chain *c)
{
    return c->own_unconf;
}

static int cmp_own(const void *a, const void *b)
{
    const struct own_tx *x = *(const struct own_tx *const *)a;
    const struct own_tx *y = *(const struct own_tx *const *)b;
    if (x->tx.nonce != y->tx.nonce)
        return x->tx.nonce < y->tx.nonce ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t chain_own_txs(const struct chain *c, struct chain_tx *out, size_t max)
{
    size_t n = c->own_unconf, k = 0;
    const struct own_tx **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < c->own.cap && k < n; i++) {
        if (!hmap_live(&c->own, i))
            continue;
        const struct own_tx *o = c->own.slots[i].val;
        if (o->height == 0)
            v[k++] = o;
    }
    qsort(v, k, sizeof *v, cmp_own);
    if (k > max)
        k = max;
    for (size_t i = 0; i < k; i++)
        out[i] = v[i]->tx;
    free(v);
    return k;
}

uint64_t chain_own_next_nonce(const struct chain *c, const uint8_t pk[32])
{
    uint64_t next = 0;
    for (size_t i = 0; i < c->own.cap; i++) {
        if (!hmap_live(&c->own, i))
            continue;
        const struct own_tx *o = c->own.slots[i].val;
        if (o->height == 0 && memcmp(o->tx.from, pk, 32) == 0 && o->tx.nonce >= next)
            next = o->tx.nonce + 1;
    }
    return next;
}

/* Stored rows == memory, and each confirmed own tx is in the best-chain
 * block at its height (chain_check). */
struct own_check {
    struct chain *c;
    size_t rows;
};

static bool block_has(struct chain *c, uint32_t height, const uint8_t txid[32])
{
    struct chain_block b;
    bool found = false;
    if (height > chain__tip(c)->height || chain_get_block(c, c->best[height]->hash, &b) != 0)
        return false;
    for (size_t i = 0; i < b.n_tx && !found; i++) {
        uint8_t id[32];
        chain_tx_txid(&b.txs[i], id);
        found = memcmp(id, txid, 32) == 0;
    }
    chain_block_free(&b);
    return found;
}

static int check_row(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                     size_t len, uint32_t height)
{
    struct own_check *k = ctx;
    const struct own_tx *o = hmap_get(&k->c->own, txid);
    (void)data;
    (void)len;
    k->rows++;
    if (!o || o->seq != seq || o->height != height)
        return CHAIN_ERR_INTERNAL;
    if (height > 0 && !block_has(k->c, height, txid))
        return CHAIN_ERR_INTERNAL;
    return 0;
}

int chain__own_check(struct chain *c)
{
    struct own_check k = { .c = c };
    size_t unconf = 0;
    for (size_t i = 0; i < c->own.cap; i++)
        if (hmap_live(&c->own, i))
            unconf += ((const struct own_tx *)c->own.slots[i].val)->height == 0;
    if (store_own_load(c->st, check_row, &k) != 0 || k.rows != c->own.count ||
        unconf != c->own_unconf)
        return CHAIN_ERR_INTERNAL;
    return 0;
}
