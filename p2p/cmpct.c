/* Compact blocks: negotiation, reconstruction, getblocktxn/blocktxn, the
 * full-block fallback, and high-bandwidth push. See cmpct.h. */
#include "p2p/cmpct.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

/* A block being rebuilt from a cmpctblock. */
struct cmpct_pending {
    bool used;
    bool full;                  /* fallback: the full block was asked for */
    uint64_t peer;
    uint8_t hash[32];
    uint64_t deadline_ms;
    size_t wire_bytes;          /* cmpctblock + blocktxn payloads */
    struct chain_block b;       /* header; txs[i] valid where have[i] */
    bool *have;
    size_t missing;
};

struct p2p_cmpct {
    struct cmpct_pending pend[P2P_CMPCT_PENDING_MAX];
    /* Our high-bandwidth peers, most recent giver of a new block first
     * (peer ids; 0: empty). */
    uint64_t hb[P2P_CMPCT_HB_PEERS];
    /* Blocks whose compact attempt failed: fetched whole from now on. */
    uint8_t failed[P2P_CMPCT_FAILED_ENTRIES][32];
    size_t failed_next;
    /* (block, peer) pairs a cmpctblock crossed, either way: a getdata
     * cmpct from that peer for that block is a request the crossing
     * already answered. */
    struct cmpct_seen { uint8_t hash[32]; uint64_t peer; } *seen;   /* first use */
    size_t seen_next;
    /* The first peer that announced each recent block we lacked. */
    struct { uint8_t hash[32]; uint64_t peer; } first_ann[P2P_CMPCT_FIRST_ANN_ENTRIES];
    size_t first_ann_next;
};

int p2p__cmpct_init(struct p2p *p)
{
    p->cmpct = p2p__calloc(1, sizeof(*p->cmpct));
    return p->cmpct ? 0 : P2P_ERR_NOMEM;
}

static void pending_clear(struct cmpct_pending *pd)
{
    chain_block_free(&pd->b);
    free(pd->have);
    memset(pd, 0, sizeof(*pd));
}

void p2p__cmpct_free(struct p2p *p)
{
    if (!p->cmpct)
        return;
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++)
        pending_clear(&p->cmpct->pend[i]);
    free(p->cmpct->seen);
    free(p->cmpct);
    p->cmpct = NULL;
}

static struct cmpct_pending *pending_find(const struct p2p *p, const uint8_t hash[32])
{
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++) {
        struct cmpct_pending *pd = &p->cmpct->pend[i];
        if (pd->used && memcmp(pd->hash, hash, 32) == 0)
            return pd;
    }
    return NULL;
}

static bool failed_has(const struct p2p *p, const uint8_t hash[32])
{
    for (size_t i = 0; i < P2P_CMPCT_FAILED_ENTRIES; i++)
        if (memcmp(p->cmpct->failed[i], hash, 32) == 0)
            return true;
    return false;
}

static void failed_add(struct p2p *p, const uint8_t hash[32])
{
    if (!failed_has(p, hash))
        memcpy(p->cmpct->failed[p->cmpct->failed_next++ % P2P_CMPCT_FAILED_ENTRIES], hash, 32);
}

static bool seen_has(const struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    if (!p->cmpct->seen)
        return false;
    for (size_t i = 0; i < P2P_CMPCT_SEEN_ENTRIES; i++)
        if (p->cmpct->seen[i].peer == pe->id && memcmp(p->cmpct->seen[i].hash, hash, 32) == 0)
            return true;
    return false;
}

static void seen_add(struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    if (seen_has(p, pe, hash))
        return;
    /* Allocated with use: a node that never relays a compact block (the
     * simulator's cores with --cmpct off) keeps 10 KiB less. */
    if (!p->cmpct->seen) {
        p->cmpct->seen = p2p__calloc(P2P_CMPCT_SEEN_ENTRIES, sizeof(*p->cmpct->seen));
        if (!p->cmpct->seen) {
            p2p__local_error(p, NULL, P2P_ERR_NOMEM);
            return;
        }
    }
    size_t i = p->cmpct->seen_next++ % P2P_CMPCT_SEEN_ENTRIES;
    memcpy(p->cmpct->seen[i].hash, hash, 32);
    p->cmpct->seen[i].peer = pe->id;
}

static void send_sendcmpct(struct p2p *p, struct peer *pe, bool hb)
{
    struct wr w;
    FRAME_START(w);
    p2p_put_sendcmpct(&w, hb, P2P_CMPCT_VERSION);
    p2p__frame_send(p, pe, P2P_CMD_SENDCMPCT, &w);
}

void p2p__cmpct_peer_ready(struct p2p *p, struct peer *pe)
{
    if (p->cmpct_on)
        send_sendcmpct(p, pe, false);
}

/* Takes pe out of our high-bandwidth list. */
static void hb_forget(struct p2p *p, const struct peer *pe)
{
    for (size_t i = 0; i < P2P_CMPCT_HB_PEERS; i++)
        if (p->cmpct->hb[i] == pe->id) {
            memmove(&p->cmpct->hb[i], &p->cmpct->hb[i + 1],
                    (P2P_CMPCT_HB_PEERS - 1 - i) * sizeof(p->cmpct->hb[0]));
            p->cmpct->hb[P2P_CMPCT_HB_PEERS - 1] = 0;
            break;
        }
}

void p2p__cmpct_peer_gone(struct p2p *p, struct peer *pe)
{
    if (!p->cmpct)
        return;
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++)
        if (p->cmpct->pend[i].used && p->cmpct->pend[i].peer == pe->id)
            pending_clear(&p->cmpct->pend[i]);
    hb_forget(p, pe);
}

void p2p__cmpct_hb_demote(struct p2p *p, struct peer *pe)
{
    p->stats.cmpct_hb_invalid++;
    if (!p->cmpct || !pe->cmpct_hb_from)
        return;
    hb_forget(p, pe);
    pe->cmpct_hb_from = false;
    send_sendcmpct(p, pe, false);
}

int p2p__handle_sendcmpct(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_sendcmpct s;
    int err = p2p_dec_sendcmpct(buf, len, &s);
    if (err)
        return err;
    /* Another version is a protocol we do not speak: ignored, as an
     * unknown command is. */
    if (!p->cmpct_on || s.version != P2P_CMPCT_VERSION)
        return 0;
    pe->cmpct_ok = true;
    pe->cmpct_hb_to = s.hb;
    return 0;
}

void p2p__cmpct_announced(struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    if (!p->cmpct_on)
        return;
    for (size_t i = 0; i < P2P_CMPCT_FIRST_ANN_ENTRIES; i++)
        if (p->cmpct->first_ann[i].peer && memcmp(p->cmpct->first_ann[i].hash, hash, 32) == 0)
            return;   /* someone was first */
    size_t i = p->cmpct->first_ann_next++ % P2P_CMPCT_FIRST_ANN_ENTRIES;
    memcpy(p->cmpct->first_ann[i].hash, hash, 32);
    p->cmpct->first_ann[i].peer = pe->id;
}

void p2p__cmpct_block_first(struct p2p *p, struct peer *pe, const uint8_t hash[32])
{
    if (!p->cmpct_on)
        return;
    for (size_t i = 0; i < P2P_CMPCT_FIRST_ANN_ENTRIES; i++)
        if (p->cmpct->first_ann[i].peer && memcmp(p->cmpct->first_ann[i].hash, hash, 32) == 0) {
            struct peer *ann = p2p__peer_find(p, p->cmpct->first_ann[i].peer);
            memset(&p->cmpct->first_ann[i], 0, sizeof(p->cmpct->first_ann[i]));
            if (ann && p2p__live(ann) && ann->cmpct_ok)
                pe = ann;
            break;
        }
    if (!pe || !pe->cmpct_ok || pe->dead)
        return;
    uint64_t *hb = p->cmpct->hb;
    size_t at = P2P_CMPCT_HB_PEERS - 1;   /* not in the list: the last gives way */
    for (size_t i = 0; i < P2P_CMPCT_HB_PEERS; i++)
        if (hb[i] == pe->id)
            at = i;
    if (hb[at] != pe->id && hb[at] != 0) {
        struct peer *old = p2p__peer_find(p, hb[at]);
        if (old && p2p__live(old)) {
            old->cmpct_hb_from = false;
            send_sendcmpct(p, old, false);
        }
    }
    memmove(&hb[1], &hb[0], at * sizeof(hb[0]));
    hb[0] = pe->id;
    if (!pe->cmpct_hb_from) {
        pe->cmpct_hb_from = true;
        send_sendcmpct(p, pe, true);
    }
}

/* ---- Sending ---- */

/* Which txs of b go whole to pe (pre: b->n_tx flags): the coinbase, and
 * each tx pe is not known to have (it never announced it to us, nor we to
 * it: our own block's txs we never relayed, a relayed block's txs that
 * took other links), in block order while their bytes fit
 * P2P_CMPCT_PREFILL_MAX_BYTES. The rest go as short ids; pe asks for those
 * it lacks. Returns the txs prefilled beyond the coinbase. */
static size_t prefill_pick(const struct p2p *p, const struct peer *pe,
                           const struct chain_block *b, bool *pre)
{
    size_t left = P2P_CMPCT_PREFILL_MAX_BYTES, n = 0;
    pre[0] = true;
    for (size_t i = 1; i < b->n_tx; i++) {
        size_t bytes = chain_tx_size(&b->txs[i]);
        pre[i] = bytes <= left && !p2p__known_has(p, pe, b->txs[i].txid);
        if (pre[i]) {
            left -= bytes;
            n++;
        }
    }
    return n;
}

/* Frames a cmpctblock of b for pe (prefill_pick; no memory for the flags:
 * the coinbase only) with a fresh nonce in w; if it would not fit a
 * frame, the block itself. */
static void frame_cmpct_of(struct p2p *p, const struct peer *pe, const struct chain_block *b,
                           struct wr *w, enum p2p_cmd *cmd)
{
    bool *pre = p2p__malloc(b->n_tx * sizeof(*pre));
    if (pre)
        prefill_pick(p, pe, b, pre);
    FRAME_START(*w);
    p2p_put_cmpctblock(w, b, p2p_rng_next(&p->rng), pre);
    free(pre);
    *cmd = P2P_CMD_CMPCTBLOCK;
    if (w->err == 0 && w->len - P2P_HEADER_BYTES <= P2P_MAX_CMPCTBLOCK_BYTES)
        return;
    wr_free(w);
    FRAME_START(*w);
    chain_block_encode(w, b);
    *cmd = P2P_CMD_BLOCK;
}

static void send_cmpct_of(struct p2p *p, struct peer *pe, const struct chain_block *b,
                          const uint8_t hash[32])
{
    struct wr w;
    enum p2p_cmd cmd;
    frame_cmpct_of(p, pe, b, &w, &cmd);
    seen_add(p, pe, hash);
    p2p__frame_send(p, pe, cmd, &w);
}

bool p2p__cmpct_frame(struct p2p *p, const struct peer *pe, const uint8_t hash[32],
                      struct wr *w, enum p2p_cmd *cmd)
{
    struct chain_block b;
    /* A cmpctblock for it crossed this link already (it sent it to us,
     * or we pushed it): the request is answered; nothing more goes. */
    if (seen_has(p, pe, hash) || chain_get_block(p->chain, hash, &b) != 0)
        return false;
    frame_cmpct_of(p, pe, &b, w, cmd);
    chain_block_free(&b);
    seen_add(p, pe, hash);
    return true;
}

bool p2p__cmpct_announce(struct p2p *p, struct peer *pe, const struct chain_block *b,
                         const uint8_t hash[32])
{
    if (!p->cmpct_on || !pe->cmpct_ok || !pe->cmpct_hb_to || !b)
        return false;
    send_cmpct_of(p, pe, b, hash);
    return true;
}

/* High-bandwidth push of b, its header checked, before it is validated:
 * to every peer that asked for pushes, except from and those known to
 * have it. fwd (NULL for our own block): the payload we got, sent on
 * unchanged to a peer that needs nothing prefilled beyond the coinbase
 * (its short ids do not depend on who sends it). Any other peer gets a
 * cmpctblock of ours with the txs it is not known to have prefilled;
 * peers in a row with the same prefills share one framing (one nonce), so
 * with none to add every peer gets the same bytes, as before prefills.
 * Returns the peers pushed to. */
static size_t hb_push(struct p2p *p, struct peer *from, const struct chain_block *b,
                      const uint8_t hash[32], const uint8_t *fwd, size_t fwd_len)
{
    size_t sent = 0;
    bool *pre = NULL, *framed_pre = NULL, tried_alloc = false, framed = false;
    struct wr own;
    for (size_t i = 0; i < p->n_peers; i++) {
        struct peer *pe = p->peers[i];
        if (pe == from || !p2p__live(pe) || !pe->cmpct_ok || !pe->cmpct_hb_to
            || p2p__known_has(p, pe, hash))
            continue;
        if (!tried_alloc) {
            /* No memory: the coinbase only, for every peer. */
            tried_alloc = true;
            pre = p2p__malloc(2 * b->n_tx * sizeof(*pre));
            framed_pre = pre ? pre + b->n_tx : NULL;
        }
        size_t extra = pre ? prefill_pick(p, pe, b, pre) : 0;
        const uint8_t *out = fwd;
        size_t out_len = fwd_len;
        if (extra || !fwd) {
            if (framed && pre && memcmp(pre, framed_pre, b->n_tx * sizeof(*pre)) != 0) {
                wr_free(&own);
                framed = false;
            }
            if (!framed) {
                /* Below the prefill cap it fits: only memory can fail. */
                wr_init(&own, P2P_MAX_CMPCTBLOCK_BYTES);
                framed = p2p_put_cmpctblock(&own, b, p2p_rng_next(&p->rng), pre)
                         && own.err == 0;
                if (!framed)
                    wr_free(&own);
                else if (pre)
                    memcpy(framed_pre, pre, b->n_tx * sizeof(*pre));
            }
            if (framed) {
                out = own.buf;
                out_len = own.len;
            } else if (!fwd) {
                continue;   /* our own: the announcement after the connect */
            }
        }
        p2p__known_add(p, pe, hash);
        seen_add(p, pe, hash);
        struct wr w;
        FRAME_START(w);
        wr_bytes(&w, out, out_len);
        p2p__frame_send(p, pe, P2P_CMD_CMPCTBLOCK, &w);
        sent++;
    }
    if (framed)
        wr_free(&own);
    free(pre);
    return sent;
}

size_t p2p__cmpct_push_own(struct p2p *p, const struct chain_block *b, const uint8_t hash[32])
{
    return p->cmpct_on ? hb_push(p, NULL, b, hash, NULL, 0) : 0;
}

uint32_t p2p__cmpct_request_type(struct p2p *p, const struct peer *pe, const uint8_t hash[32])
{
    struct chain_header h;
    uint32_t height;
    if (!p->cmpct_on || !pe->cmpct_ok || failed_has(p, hash)
        || !chain_get_header(p->chain, hash, &h, &height) || memcmp(h.prev, p->last_tip, 32))
        return P2P_INV_BLOCK;
    return P2P_INV_CMPCT;
}

bool p2p__cmpct_busy(const struct p2p *p, const uint8_t hash[32])
{
    return p->cmpct && pending_find(p, hash) != NULL;
}

bool p2p__cmpct_expects_block(const struct p2p *p, const struct peer *pe,
                              const uint8_t hash[32])
{
    const struct cmpct_pending *pd = p->cmpct ? pending_find(p, hash) : NULL;
    return pd && pd->full && pd->peer == pe->id;
}

void p2p__cmpct_done(struct p2p *p, const uint8_t hash[32])
{
    struct cmpct_pending *pd = p->cmpct ? pending_find(p, hash) : NULL;
    if (pd)
        pending_clear(pd);
}

/* ---- Reconstruction ---- */

/* The short-id map of one block being rebuilt: open addressing over a
 * power of two >= 2 x the short ids, each cell a block index + 1 (0:
 * empty). Built per block and freed at once. */
struct sid_map {
    uint8_t key[16];
    const struct p2p_cmpctblock *c;
    uint32_t *cell;
    size_t mask;
    uint32_t *pos;              /* short id i -> block index */
    struct cmpct_pending *pd;
    bool *twice;                /* a second candidate matched: ask for it */
};

static uint32_t *sid_slot(const struct sid_map *m, uint64_t sid)
{
    for (size_t i = (size_t)(sid ^ (sid >> 29)) & m->mask;; i = (i + 1) & m->mask) {
        uint32_t *c = &m->cell[i];
        if (*c == 0 || p2p_cmpct_sid_at(m->c, *c - 1) == sid)
            return c;
    }
}

static void sid_visit(void *ctx, const struct chain_tx *tx)
{
    struct sid_map *m = ctx;
    uint32_t *c = sid_slot(m, p2p_cmpct_shortid(m->key, tx->txid));
    if (*c == 0)
        return;
    uint32_t at = m->pos[*c - 1];
    struct cmpct_pending *pd = m->pd;
    if (m->twice[at])
        return;
    if (!pd->have[at]) {
        pd->b.txs[at] = *tx;
        pd->have[at] = true;
        pd->missing--;
    } else if (memcmp(pd->b.txs[at].txid, tx->txid, 32) != 0) {
        /* Two candidates: neither is trusted, the peer sends the tx. */
        m->twice[at] = true;
        pd->have[at] = false;
        pd->missing++;
    }
}

static void fallback_full(struct p2p *p, struct peer *pe, struct cmpct_pending *pd,
                          const char *why)
{
    (void)why;
    p->stats.cmpct_fallbacks++;
    failed_add(p, pd->hash);
    chain_block_free(&pd->b);
    free(pd->have);
    pd->have = NULL;
    pd->full = true;
    pd->deadline_ms = p->now + P2P_BLOCK_REQUEST_TIMEOUT_MS;
    uint8_t one[1][32];
    memcpy(one[0], pd->hash, 32);
    p2p__send_inv(p, pe, P2P_CMD_GETDATA, P2P_INV_BLOCK, (const uint8_t (*)[32])one, 1);
}

/* A rebuilt block's txs hash to its header's merkle root. */
static bool rebuilt_ok(const struct chain_block *b)
{
    uint8_t root[32];
    bool mutated = false;
    return chain_block_merkle(b, root, &mutated) == 0 && !mutated
           && memcmp(root, b->hdr.merkle_root, 32) == 0;
}

/* A rebuilt block whose merkle root was checked goes to the chain; the
 * pending slot is released. */
static int hand_on(struct p2p *p, struct peer *pe, struct cmpct_pending *pd)
{
    struct chain_block b = pd->b;
    size_t bytes = pd->wire_bytes;
    memset(&pd->b, 0, sizeof(pd->b));
    pending_clear(pd);
    p->stats.cmpct_blocks++;
    /* Only blocks on our tip are rebuilt: they cannot be a cheap side
     * branch, so the chain takes them as requested. From a peer we asked
     * to push, it may have come before validation (hb_push). */
    int r = p2p__block_from_peer(p, pe, &b, bytes, true, pe->cmpct_hb_from);
    chain_block_free(&b);
    return r;
}

/* A block with every tx in place: the full block on a bad merkle root
 * (the pending slot stays, for the fallback), else to the chain. */
static int finish(struct p2p *p, struct peer *pe, struct cmpct_pending *pd)
{
    if (!rebuilt_ok(&pd->b)) {
        fallback_full(p, pe, pd, "merkle");
        return 0;
    }
    return hand_on(p, pe, pd);
}

/* Asks the peer for the txs the block still lacks. */
static void request_missing(struct p2p *p, struct peer *pe, struct cmpct_pending *pd)
{
    uint32_t *idx = p2p__malloc(pd->missing * sizeof(*idx));
    if (!idx) {
        p2p__local_error(p, pe, P2P_ERR_NOMEM);
        fallback_full(p, pe, pd, "nomem");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < pd->b.n_tx; i++)
        if (!pd->have[i])
            idx[k++] = (uint32_t)i;
    struct wr w;
    FRAME_START(w);
    p2p_put_getblocktxn(&w, pd->hash, idx, k);
    free(idx);
    p2p__frame_send(p, pe, P2P_CMD_GETBLOCKTXN, &w);
    pd->deadline_ms = p->now + P2P_CMPCT_TXN_TIMEOUT_MS;
}

/* Fills pd from the prefilled txs, the mempool, the waiting area and
 * our last blocks. Returns 0, RECON_COLLISION (the cmpctblock repeats a
 * short id: no reconstruction can tell those txs apart) or
 * P2P_ERR_NOMEM. */
#define RECON_COLLISION 1
static int reconstruct(struct p2p *p, struct cmpct_pending *pd, const struct p2p_cmpctblock *c)
{
    struct sid_map m;
    int ret = P2P_ERR_NOMEM;
    memset(&m, 0, sizeof(m));
    size_t cells = 16;
    while (cells < 2 * c->n_sid)
        cells *= 2;
    m.c = c;
    m.pd = pd;
    m.mask = cells - 1;
    m.cell = p2p__calloc(cells, sizeof(*m.cell));
    m.pos = p2p__malloc((c->n_sid ? c->n_sid : 1) * sizeof(*m.pos));
    m.twice = p2p__calloc(c->n_tx, sizeof(*m.twice));
    if (!m.cell || !m.pos || !m.twice)
        goto out;
    p2p_cmpct_key(&c->hdr, c->nonce, m.key);
    /* Prefilled txs take their places; short ids fill the others in order. */
    struct p2p_prefilled_iter it;
    uint32_t index;
    struct chain_tx tx;
    p2p_prefilled_iter_init(&it, c);
    while (p2p_prefilled_next(&it, &index, &tx)) {
        pd->b.txs[index] = tx;
        pd->have[index] = true;
    }
    pd->missing = c->n_sid;
    size_t s = 0;
    for (size_t i = 0; i < c->n_tx; i++) {
        if (pd->have[i])
            continue;
        uint32_t *cl = sid_slot(&m, p2p_cmpct_sid_at(c, s));
        if (*cl != 0) {
            ret = RECON_COLLISION;   /* the same short id twice */
            goto out;
        }
        *cl = (uint32_t)s + 1;
        m.pos[s++] = (uint32_t)i;
    }
    if (c->n_sid) {
        chain_mempool_visit(p->chain, false, sid_visit, &m);
        chain_mempool_visit(p->chain, true, sid_visit, &m);
    }
    /* Txs our last blocks confirmed (a competing block may hold them). */
    uint8_t h[32];
    memcpy(h, p->last_tip, 32);
    for (unsigned k = 0; k < P2P_CMPCT_RECENT_BLOCKS && pd->missing; k++) {
        struct chain_block rb;
        if (chain_get_block(p->chain, h, &rb) != 0)
            break;
        for (size_t i = 1; i < rb.n_tx; i++)
            sid_visit(&m, &rb.txs[i]);
        memcpy(h, rb.hdr.prev, 32);
        chain_block_free(&rb);
    }
    ret = 0;
out:
    free(m.cell);
    free(m.pos);
    free(m.twice);
    return ret;
}

/* A free pending slot, or NULL (all busy: the block is fetched whole). */
static struct cmpct_pending *pending_new(struct p2p *p)
{
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++)
        if (!p->cmpct->pend[i].used)
            return &p->cmpct->pend[i];
    return NULL;
}

int p2p__handle_cmpctblock(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_cmpctblock c;
    uint8_t hash[32];
    int err = p2p_dec_cmpctblock(buf, len, &c);
    if (err)
        return err;
    if (!p->cmpct_on)
        return 0;   /* we never negotiated it: ignored as unknown */
    chain_header_hash(&c.hdr, hash);
    p2p__known_add(p, pe, hash);
    seen_add(p, pe, hash);
    bool have = chain_have_block(p->chain, hash) || chain_is_invalid(p->chain, hash);
    if (!have)
        p2p__cmpct_announced(p, pe, hash);
    if (have || pending_find(p, hash)) {
        /* Not a body: the redundancy of high-bandwidth mode (up to
         * P2P_CMPCT_HB_PEERS pushes of the same block, short ids only). */
        p->stats.cmpct_dups++;
        return 0;
    }
    /* Unasked, it is an announcement (as headers are): not scored. */
    /* A block on a chain we do not know: learn its chain first. */
    if (!chain_have_header(p->chain, c.hdr.prev)) {
        if (!pe->getheaders_ms)
            p2p__send_getheaders(p, pe, NULL);
        return 0;
    }
    /* Header first: PoW, bits, time and linkage. */
    struct chain_result res;
    memset(&res, 0, sizeof(res));
    int r = chain_accept_header(p->chain, &c.hdr, p->now, &res);
    if (r < 0)
        return p2p__block_reject_is_fault(r) || p2p__is_local_error(r) ? r : 0;
    if (res.height > pe->best_height)
        pe->best_height = res.height;
    struct cmpct_pending *pd = NULL;
    if (memcmp(c.hdr.prev, p->last_tip, 32) != 0 || c.n_tx > P2P_MAX_CMPCT_TXS
        || c.n_tx > chain_params(p->chain)->max_block_size / TX_SIZE_MIN
        || !(pd = pending_new(p))) {
        /* Not on our tip (a fork: its txs are not ours), more txs than a
         * block may hold, or no room: the normal download fetches it. */
        p2p_txreq_announce(p->req, pe->id, P2P_INV_BLOCK, hash, !pe->inbound, p->now);
        failed_add(p, hash);
        p->fetch_dirty = true;
        return 0;
    }
    pd->used = true;
    pd->peer = pe->id;
    memcpy(pd->hash, hash, 32);
    pd->wire_bytes = len;
    pd->b.hdr = c.hdr;
    pd->b.n_tx = c.n_tx;
    /* The count was checked against the caps and the bytes above. */
    pd->b.txs = p2p__calloc(c.n_tx, sizeof(*pd->b.txs));
    pd->have = p2p__calloc(c.n_tx, sizeof(*pd->have));
    r = pd->b.txs && pd->have ? reconstruct(p, pd, &c) : P2P_ERR_NOMEM;
    if (r != 0) {
        if (r == P2P_ERR_NOMEM)
            p2p__local_error(p, pe, r);
        fallback_full(p, pe, pd, r == RECON_COLLISION ? "collision" : "nomem");
        return 0;
    }
    /* Pushed on only once we hold every tx and they hash to the merkle
     * root: a peer we push to may ask us for the ones it lacks
     * (getblocktxn; answered from the chain or, while its signatures are
     * checked, the parked block), and the txs we prefill for it are ours.
     * With txs missing, the push waits for the blocktxn: the block's
     * announcement to our high-bandwidth peers (relay.c) is a cmpctblock. */
    if (pd->missing == 0) {
        if (!rebuilt_ok(&pd->b)) {
            fallback_full(p, pe, pd, "merkle");
            return 0;
        }
        hb_push(p, pe, &pd->b, hash, buf, len);
        return hand_on(p, pe, pd);
    }
    request_missing(p, pe, pd);
    return 0;
}

int p2p__handle_getblocktxn(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_getblocktxn g;
    int err = p2p_dec_getblocktxn(buf, len, &g);
    if (err)
        return err;
    /* From the chain, or from a block we hold whole and have not connected
     * yet: one parked while the workers check its signatures (verify.c).
     * hb_push sent its cmpctblock on before that, so the peers it reached
     * ask while it is parked; unanswered, they would wait
     * P2P_CMPCT_TXN_TIMEOUT_MS and fetch it whole. Its txs go unvalidated,
     * as the push did: that peer asked for pushes before validation. (A
     * pending reconstruction never holds a whole block between frames:
     * finish() hands it on at once, and we push nothing of it before.) */
    struct chain_block stored;
    bool in_chain = chain_get_block(p->chain, g.hash, &stored) == 0;
    const struct chain_block *b = in_chain ? &stored : p2p__verify_parked_block(p, g.hash);
    if (!b)
        return 0;   /* not (or no longer) ours: the asker falls back */
    int ret = 0;
    uint32_t *idx = NULL;
    const struct chain_tx **txs = NULL;
    if (g.last >= b->n_tx) {
        ret = P2P_ERR_MALFORMED;   /* an index outside the block */
        goto out;
    }
    idx = p2p__malloc(g.n * sizeof(*idx));
    txs = p2p__malloc(g.n * sizeof(*txs));
    if (!idx || !txs) {
        ret = P2P_ERR_NOMEM;
        goto out;
    }
    p2p_getblocktxn_indexes(&g, idx);
    for (size_t i = 0; i < g.n; i++)
        txs[i] = &b->txs[idx[i]];
    struct wr w;
    FRAME_START(w);
    p2p_put_blocktxn(&w, g.hash, txs, g.n);
    if (w.err == 0 && w.len - P2P_HEADER_BYTES <= P2P_MAX_BLOCKTXN_BYTES) {
        p2p__frame_send(p, pe, P2P_CMD_BLOCKTXN, &w);
    } else {
        wr_free(&w);
        FRAME_START(w);
        chain_block_encode(&w, b);
        p2p__frame_send(p, pe, P2P_CMD_BLOCK, &w);
    }
    p2p__known_add(p, pe, g.hash);
out:
    free(idx);
    free(txs);
    if (in_chain)
        chain_block_free(&stored);
    return ret;
}

int p2p__handle_blocktxn(struct p2p *p, struct peer *pe, const uint8_t *buf, size_t len)
{
    struct p2p_blocktxn bt;
    int err = p2p_dec_blocktxn(buf, len, &bt);
    if (err)
        return err;
    struct cmpct_pending *pd = p->cmpct_on ? pending_find(p, bt.hash) : NULL;
    if (!pd || pd->full || pd->peer != pe->id)
        return P2P_ERR_UNSOLICITED_BLOCK;   /* txs nobody asked for */
    if (bt.n != pd->missing) {
        pending_clear(pd);
        return P2P_ERR_MALFORMED;   /* not the txs we asked for */
    }
    struct p2p_blocktxn_iter it;
    struct chain_tx tx;
    size_t at = 0;
    p2p_blocktxn_iter_init(&it, &bt);
    while (p2p_blocktxn_next(&it, &tx)) {
        while (pd->have[at])
            at++;
        pd->b.txs[at] = tx;
        pd->have[at] = true;
    }
    pd->missing = 0;
    pd->wire_bytes += len;
    return finish(p, pe, pd);
}

void p2p__cmpct_tick(struct p2p *p)
{
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++) {
        struct cmpct_pending *pd = &p->cmpct->pend[i];
        if (!pd->used || p->now < pd->deadline_ms)
            continue;
        struct peer *pe = p2p__peer_find(p, pd->peer);
        if (pd->full || !pe || !p2p__live(pe)) {
            /* The fallback went unanswered: the normal download takes it. */
            failed_add(p, pd->hash);
            pending_clear(pd);
            p->fetch_dirty = true;
        } else {
            fallback_full(p, pe, pd, "timeout");
        }
    }
}

uint64_t p2p__cmpct_next_deadline(const struct p2p *p)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < P2P_CMPCT_PENDING_MAX; i++)
        if (p->cmpct->pend[i].used && p->cmpct->pend[i].deadline_ms < t)
            t = p->cmpct->pend[i].deadline_ms;
    return t;
}
