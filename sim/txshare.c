/* One copy of each tx for all the simulated mempools: a mempool entry
 * holds its tx through chain_tx_hold/chain_tx_release (chain/tx.h), and
 * with thousands of chains in one process each tx was copied into every
 * mempool (~470 bytes each: 470 MB at 10,000 nodes with 100 txs). Linked
 * with -Wl,--wrap=chain_tx_hold,--wrap=chain_tx_release (sim/meson.build):
 * a tx is shared by txid (the SHA256d of every field on the wire, so two
 * txs with one txid are the same tx) and freed with its last holder.
 * Nothing a chain decides changes: a held tx is never modified. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/tx.h"

struct chain_tx *__wrap_chain_tx_hold(const struct chain_tx *tx);
void __wrap_chain_tx_release(struct chain_tx *tx);

/* Hash buckets of the shared copies (a few thousand live at a time). */
#define TXSHARE_BUCKETS 16384u

struct shared {
    struct shared *next;
    uint64_t refs;
    struct chain_tx tx;
};

static struct shared *bucket[TXSHARE_BUCKETS];

static struct shared **head_of(const uint8_t txid[32])
{
    uint32_t k;
    memcpy(&k, txid, sizeof k);   /* a txid's bytes are uniform */
    return &bucket[k % TXSHARE_BUCKETS];
}

struct chain_tx *__wrap_chain_tx_hold(const struct chain_tx *tx)
{
    struct shared **head = head_of(tx->txid);
    for (struct shared *s = *head; s; s = s->next)
        if (memcmp(s->tx.txid, tx->txid, 32) == 0) {
            s->refs++;
            return &s->tx;
        }
    struct shared *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->tx = *tx;
    s->refs = 1;
    s->next = *head;
    *head = s;
    return &s->tx;
}

void __wrap_chain_tx_release(struct chain_tx *tx)
{
    if (!tx)
        return;
    struct shared *s = (struct shared *)((char *)tx - offsetof(struct shared, tx));
    if (--s->refs > 0)
        return;
    for (struct shared **pp = head_of(tx->txid); *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s);
}
