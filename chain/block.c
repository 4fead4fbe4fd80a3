#include "chain/block.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "chain/merkle.h"
#include "crypto/hash.h"

void chain_header_serialize(const struct chain_header *h, uint8_t out[HEADER_SIZE])
{
    le32_put(out, h->version);
    memcpy(out + 4, h->prev, 32);
    memcpy(out + 36, h->merkle_root, 32);
    le64_put(out + 68, h->time_ms);
    le32_put(out + 76, h->bits);
    le64_put(out + 80, h->nonce);
}

bool chain_header_encode(struct wr *w, const struct chain_header *h)
{
    uint8_t buf[HEADER_SIZE];
    chain_header_serialize(h, buf);
    return wr_bytes(w, buf, sizeof buf);
}

int chain_header_decode(struct rd *r, struct chain_header *h)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, HEADER_SIZE)) return r->err;
    h->version = le32_get(p);
    memcpy(h->prev, p + 4, 32);
    memcpy(h->merkle_root, p + 36, 32);
    h->time_ms = le64_get(p + 68);
    h->bits = le32_get(p + 76);
    h->nonce = le64_get(p + 80);
    return 0;
}

void chain_header_hash(const struct chain_header *h, uint8_t hash[32])
{
    uint8_t buf[HEADER_SIZE];
    chain_header_serialize(h, buf);
    hash_sha256d(hash, buf, sizeof buf);
}

int chain_block_decode(struct rd *r, struct chain_block *b, size_t max_size)
{
    size_t start = r->pos;
    uint64_t n;
    memset(b, 0, sizeof *b);
    if (max_size > BLOCK_SIZE_LIMIT) max_size = BLOCK_SIZE_LIMIT;
    if (max_size < HEADER_SIZE + 1) max_size = HEADER_SIZE + 1;
    if (chain_header_decode(r, &b->hdr) != 0) goto fail;
    /* Cap the declared count by what max_size bytes can possibly hold
     * before allocating for it. */
    if (!rd_varint(r, &n, (max_size - (HEADER_SIZE + 1)) / TX_SIZE_MIN)) goto fail;
    if (n > 0) {
        b->txs = calloc((size_t)n, sizeof *b->txs);
        if (!b->txs) {
            r->pos = start;
            if (!r->err) r->err = CHAIN_ERR_NOMEM;
            return CHAIN_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (chain_tx_decode(r, &b->txs[i]) != 0) goto fail;
    }
    b->n_tx = (size_t)n;
    if (r->pos - start > max_size) {
        if (!r->err) r->err = CHAIN_ERR_TOO_LARGE;
        goto fail;
    }
    return 0;
fail:
    free(b->txs);
    memset(b, 0, sizeof *b);
    r->pos = start;
    return r->err ? r->err : CHAIN_ERR_INTERNAL;
}

int chain_block_parse(struct chain_block *b, const void *buf, size_t len, size_t max_size)
{
    struct rd r;
    rd_init(&r, buf, len);
    int err = chain_block_decode(&r, b, max_size);
    if (err) return err;
    if (!rd_done(&r)) {
        chain_block_free(b);
        return r.err;
    }
    return 0;
}

bool chain_block_encode(struct wr *w, const struct chain_block *b)
{
    if (!chain_header_encode(w, &b->hdr) || !wr_varint(w, b->n_tx)) return false;
    for (size_t i = 0; i < b->n_tx; i++)
        if (!chain_tx_encode(w, &b->txs[i])) return false;
    return true;
}

size_t chain_block_size(const struct chain_block *b)
{
    size_t s = HEADER_SIZE + varint_size(b->n_tx);
    for (size_t i = 0; i < b->n_tx; i++) s += chain_tx_size(&b->txs[i]);
    return s;
}

void chain_block_free(struct chain_block *b)
{
    free(b->txs);
    b->txs = NULL;
    b->n_tx = 0;
}

int chain_block_copy(struct chain_block *dst, const struct chain_block *src)
{
    dst->hdr = src->hdr;
    dst->n_tx = 0;
    dst->txs = NULL;
    if (src->n_tx == 0) return 0;
    dst->txs = malloc(src->n_tx * sizeof *dst->txs);
    if (!dst->txs) return CHAIN_ERR_NOMEM;
    memcpy(dst->txs, src->txs, src->n_tx * sizeof *dst->txs);
    dst->n_tx = src->n_tx;
    return 0;
}

int chain_block_merkle(const struct chain_block *b, uint8_t root[32], bool *mutated)
{
    if (b->n_tx == 0) {
        memset(root, 0, 32);
        if (mutated) *mutated = false;
        return 0;
    }
    uint8_t (*ids)[32] = malloc(b->n_tx * sizeof *ids);
    if (!ids) return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < b->n_tx; i++) chain_tx_txid(&b->txs[i], ids[i]);
    int err = chain_merkle_root((const uint8_t (*)[32])ids, b->n_tx, root, mutated);
    free(ids);
    return err;
}
