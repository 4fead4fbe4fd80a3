/* Block templates and the nonce search. */
#include <stdlib.h>
#include <string.h>

#include "chain/chainstate.h"
#include "crypto/hash.h"

/* Max-heap of each sender's next unpicked tx, by fee rate (earlier arrival
 * first on a tie). Only a sender's next nonce is ever in the heap, so the
 * template keeps every sender's nonce order. */
struct pick {
    const struct mp_sender *s;
    size_t idx;
};

static bool pick_before(const struct pick *a, const struct pick *b)
{
    const struct mp_entry *x = a->s->e[a->idx], *y = b->s->e[b->idx];
    if (x->feerate != y->feerate)
        return x->feerate > y->feerate;
    return x->seq < y->seq;
}

static void heap_push(struct pick *h, size_t *n, struct pick p)
{
    size_t i = (*n)++;
    h[i] = p;
    while (i > 0 && pick_before(&h[i], &h[(i - 1) / 2])) {
        struct pick t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static struct pick heap_pop(struct pick *h, size_t *n)
{
    struct pick top = h[0];
    h[0] = h[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && pick_before(&h[l], &h[m]))
            m = l;
        if (r < *n && pick_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        struct pick t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

int chain_block_template(struct chain *c, const uint8_t pk[32], uint64_t now_ms,
                         struct chain_block *out)
{
    const struct bnode *tip = chain__tip(c);
    const struct mempool *mp = &c->mp;
    size_t n_senders = mp->senders.count, n_heap = 0, n_tx = 1;
    struct pick *heap = NULL;
    struct chain_tx *txs = NULL;
    uint64_t fees = 0;
    int err = CHAIN_ERR_NOMEM;

    memset(out, 0, sizeof *out);
    if (!(txs = calloc(mp->txs.count + 1, sizeof *txs)))
        goto fail;
    if (n_senders && !(heap = malloc(n_senders * sizeof *heap)))
        goto fail;
    for (size_t i = 0; i < mp->senders.cap; i++)
        if (hmap_live(&mp->senders, i))
            heap_push(heap, &n_heap, (struct pick){ mp->senders.slots[i].val, 0 });

    struct chain_tx *cb = &txs[0];
    cb->version = TX_VERSION;
    memcpy(cb->to, pk, 32);
    cb->nonce = tip->height + 1;
    size_t size = HEADER_SIZE + varint_size(BLOCK_TX_MAX) + chain_tx_size(cb);
    size_t cap = c->p->max_block_size;
    while (n_heap > 0) {
        struct pick p = heap_pop(heap, &n_heap);
        const struct mp_entry *e = p.s->e[p.idx];
        /* A sender whose next tx does not fit is done: later nonces
         * cannot skip it. */
        if (cap - size < e->size || UINT64_MAX - fees < e->tx->fee)
            continue;
        txs[n_tx++] = *e->tx;
        size += e->size;
        fees += e->tx->fee;
        if (p.idx + 1 < p.s->n)
            heap_push(heap, &n_heap, (struct pick){ p.s, p.idx + 1 });
    }
    cb->amount = UINT64_MAX - fees < c->p->reward ? UINT64_MAX : c->p->reward + fees;
    chain_tx_seal(cb);

    out->hdr.version = BLOCK_VERSION;
    memcpy(out->hdr.prev, tip->hash, 32);
    uint64_t mtp = chain__mtp(c, tip);
    out->hdr.time_ms = now_ms > mtp ? now_ms : mtp + 1;
    out->hdr.bits = chain__next_bits(c, tip);
    out->hdr.nonce = 0;
    out->n_tx = n_tx;
    out->txs = txs;
    txs = NULL;
    bool mutated;
    if ((err = chain_block_merkle(out, out->hdr.merkle_root, &mutated)) != 0) {
        chain_block_free(out);
        goto fail;
    }
    err = 0;
fail:
    free(heap);
    free(txs);
    return err;
}

bool chain_mine(struct chain_header *h, uint64_t start, uint64_t count)
{
    uint8_t ser[HEADER_SIZE], tail[24], hash[32];
    struct hash_midstate ms;
    struct chain_u256 target, v;

    _Static_assert(HEADER_SIZE == 64 + 24, "midstate split assumes an 88-byte header");
    if (!chain_bits_to_target(h->bits, &target))
        return false;
    chain_header_serialize(h, ser);
    hash_midstate_init(&ms, ser);
    memcpy(tail, ser + 64, sizeof tail);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t nonce = start + i;      /* wraps modulo 2^64 by design */
        le64_put(tail + 16, nonce);      /* nonce is the header's last field */
        hash_midstate_finish(&ms, tail, hash);
        chain_u256_from_le(&v, hash);
        if (chain_u256_cmp(&v, &target) <= 0) {
            h->nonce = nonce;
            return true;
        }
    }
    return false;
}
