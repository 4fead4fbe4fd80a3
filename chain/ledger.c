#include "chain/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "chain/codec.h"
#include "chain/err.h"
#include "crypto/hash.h"

void ledger_init(struct ledger *l, uint64_t salt) { hmap_init(&l->accounts, salt); }

void ledger_free(struct ledger *l)
{
    for (size_t i = 0; i < l->accounts.cap; i++)
        if (hmap_live(&l->accounts, i))
            free(l->accounts.slots[i].val);
    hmap_free(&l->accounts);
}

const struct ledger_account *ledger_get(const struct ledger *l, const uint8_t pk[32])
{
    return hmap_get(&l->accounts, pk);
}

size_t ledger_count(const struct ledger *l) { return l->accounts.count; }

/* Stores a new account for pk, known absent from the map (callers have
 * looked it up already); a 0/0 account is not stored. */
static int account_new(struct ledger *l, const uint8_t pk[32], uint64_t balance, uint64_t nonce)
{
    if (balance == 0 && nonce == 0)
        return 0;
    struct ledger_account *a = malloc(sizeof *a);
    if (!a)
        return CHAIN_ERR_NOMEM;
    memcpy(a->pk, pk, 32);
    a->balance = balance;
    a->nonce = nonce;
    if (hmap_put(&l->accounts, pk, a) != 0) {
        free(a);
        return CHAIN_ERR_NOMEM;
    }
    return 0;
}

int ledger_set(struct ledger *l, const uint8_t pk[32], uint64_t balance, uint64_t nonce)
{
    struct ledger_account *a = hmap_get(&l->accounts, pk);
    if (balance == 0 && nonce == 0) {
        if (a) {
            hmap_del(&l->accounts, pk);
            free(a);
        }
        return 0;
    }
    if (!a)
        return account_new(l, pk, balance, nonce);
    a->balance = balance;
    a->nonce = nonce;
    return 0;
}

void ledger_undo_init(struct ledger_undo *u) { memset(u, 0, sizeof *u); }

void ledger_undo_free(struct ledger_undo *u)
{
    free(u->e);
    memset(u, 0, sizeof *u);
}

static int undo_push(struct ledger_undo *u, const uint8_t pk[32], const struct ledger_account *a)
{
    if (u->n == u->cap) {
        size_t ncap = u->cap ? u->cap * 2 : 16;
        struct ledger_undo_ent *ne = realloc(u->e, ncap * sizeof *ne);
        if (!ne)
            return CHAIN_ERR_NOMEM;
        u->e = ne;
        u->cap = ncap;
    }
    struct ledger_undo_ent *e = &u->e[u->n++];
    memcpy(e->pk, pk, 32);
    e->balance = a ? a->balance : 0;
    e->nonce = a ? a->nonce : 0;
    return 0;
}

void ledger_undo_block(struct ledger *l, const struct ledger_undo *undo)
{
    /* Entries are first touches, so order does not matter; reverse anyway. */
    for (size_t i = undo->n; i-- > 0;) {
        const struct ledger_undo_ent *e = &undo->e[i];
        /* Restoring a value that existed before cannot need memory unless
         * the entry was deleted meanwhile, which apply never does. */
        int err = ledger_set(l, e->pk, e->balance, e->nonce);
        (void)err;
    }
}

/* pk's account (*out, NULL if none), recording its first touch in this
 * block so undo restores it. The account is looked up once here and
 * updated in place by the caller: an account's struct never moves. */
static int touch(struct ledger *l, struct hmap *seen, struct ledger_undo *u, const uint8_t pk[32],
                 struct ledger_account **out)
{
    void *found;
    *out = hmap_get(&l->accounts, pk);
    /* The map only needs a non-NULL marker. */
    int err = hmap_add(seen, pk, seen, &found);
    if (err || found)
        return err;
    return undo_push(u, pk, *out);
}

/* Add amount to pk's account a (NULL: pk has none). An existing account
 * is never 0/0, so adding to it never has to delete it. */
static int credit(struct ledger *l, const uint8_t pk[32], struct ledger_account *a,
                  uint64_t amount)
{
    if (!a)
        return account_new(l, pk, amount, 0);
    if (UINT64_MAX - a->balance < amount)
        return CHAIN_ERR_TX_OVERFLOW;
    a->balance += amount;
    return 0;
}

int ledger_apply_block(struct ledger *l, const struct chain_block *b,
                       struct ledger_undo *undo, size_t *bad_tx)
{
    struct hmap seen;
    int err = 0;
    size_t i = 0;

    /* Keys come from the block: same salt as the accounts. Never iterated,
     * so sized at once for two keys a tx (a failure here only means the
     * puts below grow it, and report NOMEM themselves). */
    hmap_init(&seen, l->accounts.salt);
    (void)hmap_reserve(&seen, 2 * b->n_tx);
    undo->n = 0;
    for (i = 0; i < b->n_tx; i++) {
        const struct chain_tx *tx = &b->txs[i];
        struct ledger_account *to, *from;
        if ((err = touch(l, &seen, undo, tx->to, &to)) != 0)
            goto fail;
        if (chain_tx_is_coinbase(tx)) {
            if ((err = credit(l, tx->to, to, tx->amount)) != 0)
                goto fail;
            continue;
        }
        if ((err = touch(l, &seen, undo, tx->from, &from)) != 0)
            goto fail;
        uint64_t bal = from ? from->balance : 0, nonce = from ? from->nonce : 0;
        if (tx->nonce != nonce) {
            err = CHAIN_ERR_TX_BAD_NONCE;
            goto fail;
        }
        if (UINT64_MAX - tx->amount < tx->fee || nonce == UINT64_MAX) {
            err = CHAIN_ERR_TX_OVERFLOW;
            goto fail;
        }
        if (bal < tx->amount + tx->fee) {
            err = CHAIN_ERR_TX_INSUFFICIENT;
            goto fail;
        }
        /* The new nonce is not 0, so the sender's account never goes. */
        if (from) {
            from->balance = bal - tx->amount - tx->fee;
            from->nonce = nonce + 1;
        } else {
            if ((err = account_new(l, tx->from, bal - tx->amount - tx->fee, nonce + 1)) != 0)
                goto fail;
            /* Only a free tx from an empty account gets here; validation
             * refuses from == to, but apply does not rely on it. */
            if (memcmp(tx->from, tx->to, 32) == 0)
                to = hmap_get(&l->accounts, tx->to);
        }
        if ((err = credit(l, tx->to, to, tx->amount)) != 0)
            goto fail;
    }
    hmap_free(&seen);
    return 0;
fail:
    ledger_undo_block(l, undo);
    undo->n = 0;
    hmap_free(&seen);
    if (bad_tx)
        *bad_tx = i;
    return err;
}

int ledger_undo_encode(const struct ledger_undo *u, uint8_t **buf, size_t *len)
{
    struct wr w;
    wr_init(&w, 9 + LEDGER_UNDO_MAX_ENTS * LEDGER_UNDO_ENT_SIZE);
    wr_varint(&w, u->n);
    for (size_t i = 0; i < u->n; i++) {
        wr_bytes(&w, u->e[i].pk, 32);
        wr_u64(&w, u->e[i].balance);
        wr_u64(&w, u->e[i].nonce);
    }
    if (w.err) {
        int err = w.err;
        wr_free(&w);
        return err;
    }
    *buf = wr_take(&w, len);
    return 0;
}

int ledger_undo_decode(struct ledger_undo *u, const uint8_t *buf, size_t len)
{
    struct rd r;
    uint64_t n;
    rd_init(&r, buf, len);
    u->n = 0;
    if (!rd_varint(&r, &n, LEDGER_UNDO_MAX_ENTS))
        return r.err;
    /* The count is capped and must fit in what is left before allocating. */
    if (n > rd_left(&r) / LEDGER_UNDO_ENT_SIZE)
        return CHAIN_ERR_TRUNCATED;
    if (n > u->cap) {
        struct ledger_undo_ent *ne = realloc(u->e, (size_t)n * sizeof *ne);
        if (!ne)
            return CHAIN_ERR_NOMEM;
        u->e = ne;
        u->cap = (size_t)n;
    }
    for (size_t i = 0; i < n; i++) {
        struct ledger_undo_ent *e = &u->e[i];
        if (!rd_bytes(&r, e->pk, 32) || !rd_u64(&r, &e->balance) || !rd_u64(&r, &e->nonce))
            return r.err;
    }
    if (!rd_done(&r))
        return r.err;
    u->n = (size_t)n;
    return 0;
}

static int cmp_pk(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

void ledger_digest(const struct ledger *l, uint8_t out[32])
{
    struct hash_ctx ctx;
    size_t n = 0;
    const uint8_t **keys = malloc((l->accounts.count + 1) * sizeof *keys);
    hash_init(&ctx);
    if (keys) {
        for (size_t i = 0; i < l->accounts.cap; i++)
            if (hmap_live(&l->accounts, i))
                keys[n++] = l->accounts.slots[i].key;
        qsort(keys, n, sizeof *keys, cmp_pk);
        for (size_t i = 0; i < n; i++) {
            const struct ledger_account *a = ledger_get(l, keys[i]);
            uint8_t rec[48];
            memcpy(rec, a->pk, 32);
            le64_put(rec + 32, a->balance);
            le64_put(rec + 40, a->nonce);
            hash_update(&ctx, rec, sizeof rec);
        }
        free(keys);
    }
    hash_final(&ctx, out);
}

uint64_t ledger_total(const struct ledger *l)
{
    uint64_t t = 0;
    for (size_t i = 0; i < l->accounts.cap; i++) {
        if (!hmap_live(&l->accounts, i))
            continue;
        const struct ledger_account *a = l->accounts.slots[i].val;
        t = UINT64_MAX - t < a->balance ? UINT64_MAX : t + a->balance;
    }
    return t;
}
