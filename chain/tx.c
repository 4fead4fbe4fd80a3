#include "chain/tx.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

_Static_assert(TX_MEMO_MAX <= 0xffff, "memo length must fit memo_len");

/* The bytes the signature covers: everything before sig. */
static bool encode_unsigned(struct wr *w, const struct chain_tx *tx)
{
    return wr_u8(w, tx->version) && wr_bytes(w, tx->from, 32) && wr_bytes(w, tx->to, 32) &&
           wr_u64(w, tx->amount) && wr_u64(w, tx->fee) && wr_u64(w, tx->nonce) &&
           wr_varbytes(w, tx->memo, tx->memo_len);
}

bool chain_tx_encode(struct wr *w, const struct chain_tx *tx)
{
    return encode_unsigned(w, tx) && wr_bytes(w, tx->sig, 64);
}

size_t chain_tx_size(const struct chain_tx *tx)
{
    return TX_FIXED_SIZE + varint_size(tx->memo_len) + tx->memo_len;
}

int chain_tx_decode(struct rd *r, struct chain_tx *tx)
{
    size_t start = r->pos;
    size_t memo_len = 0;
    if (!rd_u8(r, &tx->version)) goto fail;
    if (tx->version != TX_VERSION) {
        r->pos = start;
        if (!r->err) r->err = CHAIN_ERR_TX_VERSION;
        return CHAIN_ERR_TX_VERSION;
    }
    if (!rd_bytes(r, tx->from, 32) || !rd_bytes(r, tx->to, 32) || !rd_u64(r, &tx->amount) ||
        !rd_u64(r, &tx->fee) || !rd_u64(r, &tx->nonce))
        goto fail;
    if (!rd_varbytes(r, tx->memo, &memo_len, TX_MEMO_MAX)) {
        /* An over-long memo is the tx's own fault, not the codec's. */
        if (r->err == CHAIN_ERR_TOO_LARGE) r->err = CHAIN_ERR_TX_MEMO_SIZE;
        goto fail;
    }
    tx->memo_len = (uint16_t)memo_len;
    if (!rd_bytes(r, tx->sig, 64)) goto fail;
    /* The bytes just read are the serialization: hash them in place. */
    hash_sha256d(tx->txid, r->p + start, r->pos - start);
    return 0;
fail:
    r->pos = start;
    return r->err;
}

int chain_tx_parse(struct chain_tx *tx, const void *buf, size_t len)
{
    struct rd r;
    rd_init(&r, buf, len);
    int err = chain_tx_decode(&r, tx);
    if (err) return err;
    return rd_done(&r) ? 0 : r.err;
}

static void compute_txid(const struct chain_tx *tx, uint8_t txid[32])
{
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, buf, sizeof buf);
    chain_tx_encode(&w, tx);
    hash_sha256d(txid, buf, w.len);
}

void chain_tx_txid(const struct chain_tx *tx, uint8_t txid[32])
{
    memcpy(txid, tx->txid, 32);
}

void chain_tx_seal(struct chain_tx *tx)
{
    /* An over-long memo would make the encoder read past memo[]; such a tx
     * fails its form check anyway, so it gets no id. */
    if (tx->memo_len > TX_MEMO_MAX)
        memset(tx->txid, 0, 32);
    else
        compute_txid(tx, tx->txid);
}

bool chain_tx_id_ok(const struct chain_tx *tx)
{
    uint8_t id[32];
    if (tx->memo_len > TX_MEMO_MAX)
        return false;
    compute_txid(tx, id);
    return memcmp(id, tx->txid, 32) == 0;
}

bool chain_tx_is_coinbase(const struct chain_tx *tx)
{
    static const uint8_t zero[32];
    return memcmp(tx->from, zero, 32) == 0;
}

void chain_tx_sign(struct chain_tx *tx, const uint8_t sk[64])
{
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    memcpy(tx->from, sk + 32, 32);   /* libsodium: sk = seed || pk */
    wr_init_fixed(&w, buf, sizeof buf);
    encode_unsigned(&w, tx);
    sig_sign(tx->sig, buf, w.len, sk);
    chain_tx_seal(tx);
}

bool chain_tx_verify_sig(const struct chain_tx *tx)
{
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, buf, sizeof buf);
    if (!encode_unsigned(&w, tx)) return false;
    return sig_verify(tx->sig, buf, w.len, tx->from);
}

uint64_t chain_tx_feerate(const struct chain_tx *tx)
{
    size_t size = chain_tx_size(tx);
    /* fee <= 2^64-1; dividing first keeps the product from overflowing. */
    return tx->fee / size * 1000 + tx->fee % size * 1000 / size;
}

struct chain_tx *chain_tx_hold(const struct chain_tx *tx)
{
    struct chain_tx *copy = malloc(sizeof *copy);
    if (copy)
        *copy = *tx;
    return copy;
}

void chain_tx_release(struct chain_tx *tx)
{
    free(tx);
}
