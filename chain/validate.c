#include "chain/validate.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "chain/merkle.h"
#include "chain/pow.h"

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int chain_validate_tx_form(const struct chain_params *p, const struct chain_tx *tx)
{
    if (tx->version != TX_VERSION)
        return CHAIN_ERR_TX_VERSION;
    if (tx->memo_len > TX_MEMO_MAX)
        return CHAIN_ERR_TX_MEMO_SIZE;
    if (chain_tx_is_coinbase(tx))
        return CHAIN_ERR_TX_COINBASE;
    if (memcmp(tx->from, tx->to, 32) == 0)
        return CHAIN_ERR_TX_SELF_SEND;
    if (tx->amount == 0)
        return CHAIN_ERR_TX_ZERO_AMOUNT;
    if (tx->fee < p->min_fee)
        return CHAIN_ERR_TX_FEE_TOO_LOW;
    if (UINT64_MAX - tx->amount < tx->fee)
        return CHAIN_ERR_TX_OVERFLOW;
    return 0;
}

int chain_validate_tx(const struct chain_params *p, const struct chain_tx *tx,
                      const uint8_t txid[32], struct sigcache *cache)
{
    int err = chain_validate_tx_form(p, tx);
    if (err)
        return err;
    if (cache && sigcache_has(cache, txid))
        return 0;
    if (!chain_tx_verify_sig(tx))
        return CHAIN_ERR_TX_BAD_SIG;
    if (cache)
        sigcache_add(cache, txid);
    return 0;
}

int chain_validate_header_pow(const struct chain_params *p, const struct chain_header *h,
                              const uint8_t hash[32])
{
    if (h->version != BLOCK_VERSION)
        return CHAIN_ERR_BLK_VERSION;
    if (!chain_pow_check(hash, h->bits, p->pow_limit_bits))
        return CHAIN_ERR_BLK_POW;
    return 0;
}

int chain_validate_header_ctx(const struct chain_params *p, const struct chain_header *h,
                              uint32_t expected_bits, uint64_t mtp_ms, uint64_t now_ms)
{
    if (h->bits != expected_bits)
        return CHAIN_ERR_BLK_BAD_BITS;
    if (h->time_ms <= mtp_ms)
        return CHAIN_ERR_BLK_TIME_OLD;
    if (h->time_ms > now_ms && h->time_ms - now_ms > p->max_future_ms)
        return CHAIN_ERR_BLK_TIME_FUTURE;
    return 0;
}

int chain_validate_block_shape(const struct chain_params *p, const struct chain_block *b,
                               uint8_t (*txids)[32])
{
    uint8_t root[32];
    bool mutated = false;
    int err;

    if (b->n_tx == 0)
        return CHAIN_ERR_BLK_EMPTY;
    /* A decoded block never has an oversized memo; a hand-built one must
     * not make serialization read past the memo array. */
    for (size_t i = 0; i < b->n_tx; i++)
        if (b->txs[i].memo_len > TX_MEMO_MAX)
            return CHAIN_ERR_TX_MEMO_SIZE;
    /* The merkle root first: only a body the header commits to can make
     * the header invalid (a padded copy of a good block must not). */
    for (size_t i = 0; i < b->n_tx; i++)
        chain_tx_txid(&b->txs[i], txids[i]);
    if ((err = chain_merkle_root((const uint8_t (*)[32])txids, b->n_tx, root, &mutated)) != 0)
        return err;
    if (memcmp(root, b->hdr.merkle_root, 32) != 0)
        return CHAIN_ERR_BLK_MERKLE;
    if (mutated)
        return CHAIN_ERR_BLK_MUTATED;
    if (chain_block_size(b) > p->max_block_size)
        return CHAIN_ERR_BLK_SIZE;
    return 0;
}

int chain_validate_block_txs(const struct chain_params *p, const struct chain_block *b,
                             const uint8_t (*txids)[32], uint32_t height,
                             struct sigcache *cache, size_t *bad_tx, int *tx_err)
{
    const struct chain_tx *cb = &b->txs[0];
    uint64_t fees = 0;

    if (!chain_tx_is_coinbase(cb))
        return CHAIN_ERR_BLK_NO_COINBASE;
    for (size_t i = 1; i < b->n_tx; i++)
        if (chain_tx_is_coinbase(&b->txs[i]))
            return CHAIN_ERR_BLK_MULTI_COINBASE;
    if (cb->version != TX_VERSION || cb->fee != 0 || !all_zero(cb->sig, sizeof cb->sig) ||
        cb->memo_len > TX_MEMO_MAX)
        return CHAIN_ERR_BLK_CB_FORM;
    if (cb->nonce != height)
        return CHAIN_ERR_BLK_CB_HEIGHT;
    for (size_t i = 1; i < b->n_tx; i++) {
        const struct chain_tx *tx = &b->txs[i];
        int err = chain_validate_tx(p, tx, txids[i], cache);
        if (err) {
            if (bad_tx)
                *bad_tx = i;
            if (tx_err)
                *tx_err = err;
            return CHAIN_ERR_BLK_BAD_TX;
        }
        /* Each fee is below 2^64 - amount; the sum can still overflow. */
        if (UINT64_MAX - fees < tx->fee)
            return CHAIN_ERR_BLK_CB_AMOUNT;
        fees += tx->fee;
    }
    if (UINT64_MAX - fees < p->reward || cb->amount > p->reward + fees)
        return CHAIN_ERR_BLK_CB_AMOUNT;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t chain_median_time(const uint64_t *times, size_t n)
{
    uint64_t s[64];
    if (n == 0)
        return 0;
    if (n > 64)
        n = 64;
    memcpy(s, times, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u64);
    return s[n / 2];
}
