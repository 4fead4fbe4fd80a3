/* Chain tips, the best header, and the store checks a node runs at start:
 * SQLite's quick check, the tip's data present, -checkblocks (the last N
 * blocks re-verified against the ledger) and -reindex (index and ledger
 * rebuilt from the stored bodies into a fresh file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/chainstate.h"
#include "chain/validate.h"

/* Meta key of the node's secret key (chainstate.c's META_NODE_KEY). */
#define INTEGRITY_META_NODE_KEY "node_key"

uint32_t chain_header_height(const struct chain *c)
{
    const struct bnode *bh = c->best_header;
    uint32_t tip = chain__tip(c)->height;
    return bh && bh->height > tip ? bh->height : tip;
}

const char *chain_tip_status_name(enum chain_tip_status s)
{
    switch (s) {
    case CHAIN_TIP_ACTIVE: return "active";
    case CHAIN_TIP_VALID_FORK: return "valid-fork";
    case CHAIN_TIP_HEADERS_ONLY: return "headers-only";
    case CHAIN_TIP_INVALID: return "invalid";
    }
    return "unknown";
}

static bool on_best(const struct chain *c, const struct bnode *n)
{
    return n->height < c->best_len && c->best[n->height] == n;
}

size_t chain_get_tips(const struct chain *c, struct chain_tip_info *out, size_t max)
{
    size_t k = 0;
    const struct bnode *tip = chain__tip(c);
    if (max == 0)
        return 0;
    /* The active tip first, as bitcoind lists it, even with header-only
     * children above it. */
    memcpy(out[k].hash, tip->hash, 32);
    out[k].height = tip->height;
    out[k].branchlen = 0;
    out[k].status = CHAIN_TIP_ACTIVE;
    k++;
    for (size_t i = 0; i < c->index.cap && k < max; i++) {
        if (!hmap_live(&c->index, i))
            continue;
        const struct bnode *n = c->index.slots[i].val;
        if (n->child || n == tip)
            continue;
        const struct bnode *fork = n;
        while (fork && !on_best(c, fork))
            fork = fork->prev;
        out[k].height = n->height;
        memcpy(out[k].hash, n->hash, 32);
        out[k].branchlen = n->height - (fork ? fork->height : 0);
        if (n->status & (BN_FAILED | BN_FAILED_CHILD))
            out[k].status = CHAIN_TIP_INVALID;
        else if (n->status & BN_CHAIN_DATA)
            out[k].status = CHAIN_TIP_VALID_FORK;
        else
            out[k].status = CHAIN_TIP_HEADERS_ONLY;
        k++;
    }
    return k;
}

int chain_verify_db(const char *db_path, char *msg, size_t msg_len)
{
    return store_verify_file(db_path, msg, msg_len);
}

int chain_check_tip_data(struct chain *c, char *msg, size_t msg_len)
{
    const struct bnode *tip = chain__tip(c);
    uint8_t *raw = NULL;
    size_t len = 0;
    char hex[65];
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {   /* display order, as RPC shows hashes */
        hex[2 * i] = digits[tip->hash[31 - i] >> 4];
        hex[2 * i + 1] = digits[tip->hash[31 - i] & 15];
    }
    hex[64] = '\0';
    int err = store_body_get(c->st, tip->hash, &raw, &len);
    free(raw);
    if (err) {
        snprintf(msg, msg_len, "the tip's block %s (height %u) is %s", hex, tip->height,
                 err == CHAIN_ERR_BLK_UNKNOWN ? "missing" : "unreadable");
        return CHAIN_ERR_STORE;
    }
    if (tip->height == 0)
        return 0;   /* genesis has no undo data: it is never disconnected */
    raw = NULL;
    err = store_undo_get(c->st, tip->hash, &raw, &len);
    free(raw);
    if (err) {
        snprintf(msg, msg_len, "the undo data of the tip %s (height %u) is %s", hex,
                 tip->height, err == CHAIN_ERR_BLK_UNKNOWN ? "missing" : "unreadable");
        return CHAIN_ERR_STORE;
    }
    return 0;
}

/* One best-chain block's body, checked against its index entry and the
 * consensus rules that need no ledger. */
static int check_body(struct chain *c, const struct bnode *n, struct chain_block *b)
{
    uint8_t *raw = NULL, hash[32];
    size_t len = 0;
    int err = store_body_get(c->st, n->hash, &raw, &len);
    if (err)
        return CHAIN_ERR_STORE;
    err = chain_block_parse(b, raw, len, BLOCK_SIZE_LIMIT);
    free(raw);
    if (err)
        return CHAIN_ERR_STORE;
    chain_header_hash(&b->hdr, hash);
    uint8_t (*txids)[32] = malloc((b->n_tx ? b->n_tx : 1) * sizeof *txids);
    size_t bad = 0;
    int tx_err = 0;
    if (!txids)
        err = CHAIN_ERR_NOMEM;
    else if (memcmp(hash, n->hash, 32) != 0)
        err = CHAIN_ERR_STORE;
    else if ((err = chain_validate_block_shape(c->p, b, txids)) == 0)
        err = chain_validate_block_txs(c->p, b, (const uint8_t (*)[32])txids, n->height, NULL,
                                       &bad, &tx_err);
    free(txids);
    if (err)
        chain_block_free(b);
    return err;
}

int chain_check_blocks(struct chain *c, uint32_t nblocks, uint32_t *checked, char *msg,
                       size_t msg_len)
{
    uint32_t tip = chain__tip(c)->height;
    uint32_t n = nblocks < tip ? nblocks : tip;   /* genesis has no undo */
    uint8_t before[32], after[32];
    struct ledger_undo *undo = calloc(n ? n : 1, sizeof *undo);
    uint32_t undone = 0, redone = 0;
    int err = 0;
    *checked = 0;
    if (!undo)
        return CHAIN_ERR_NOMEM;
    ledger_digest(&c->ledger, before);
    /* Back from the tip with the stored undo data... */
    for (; undone < n; undone++) {
        const struct bnode *x = c->best[tip - undone];
        struct chain_block b;
        uint8_t *raw = NULL;
        size_t len = 0;
        ledger_undo_init(&undo[undone]);
        if ((err = check_body(c, x, &b)) != 0) {
            snprintf(msg, msg_len, "block at height %u: %s", x->height, chain_strerror(err));
            goto out;
        }
        chain_block_free(&b);
        if (store_undo_get(c->st, x->hash, &raw, &len) != 0 ||
            ledger_undo_decode(&undo[undone], raw, len) != 0) {
            free(raw);
            err = CHAIN_ERR_STORE;
            snprintf(msg, msg_len, "undo data at height %u missing or malformed", x->height);
            goto out;
        }
        free(raw);
        ledger_undo_block(&c->ledger, &undo[undone]);
    }
    /* ...then forward again: each block must apply to the ledger it left
     * and produce the undo data stored for it. */
    for (; redone < n; redone++) {
        const struct bnode *x = c->best[tip - n + 1 + redone];
        struct ledger_undo *stored = &undo[n - 1 - redone];
        struct ledger_undo u;
        struct chain_block b;
        size_t bad = 0;
        uint8_t *e1 = NULL, *e2 = NULL;
        size_t l1 = 0, l2 = 0;
        ledger_undo_init(&u);
        if ((err = check_body(c, x, &b)) == 0) {
            err = ledger_apply_block(&c->ledger, &b, &u, &bad);
            chain_block_free(&b);
        }
        if (!err && (ledger_undo_encode(&u, &e1, &l1) != 0 ||
                     ledger_undo_encode(stored, &e2, &l2) != 0 || l1 != l2 ||
                     memcmp(e1, e2, l1) != 0))
            err = CHAIN_ERR_STORE;
        free(e1);
        free(e2);
        ledger_undo_free(&u);
        if (err) {
            snprintf(msg, msg_len, "block at height %u does not replay onto the ledger: %s",
                     x->height, chain_strerror(err));
            goto out;
        }
    }
    ledger_digest(&c->ledger, after);
    if (memcmp(before, after, 32) != 0) {
        err = CHAIN_ERR_STORE;
        snprintf(msg, msg_len, "the ledger after replaying the last %u blocks differs", n);
        goto out;
    }
    *checked = n;
out:
    /* On failure the in-memory ledger is not the tip's: the caller closes
     * the chain (the store itself was not written). */
    for (uint32_t i = 0; i < n; i++)   /* calloc'd: unused ones are empty */
        ledger_undo_free(&undo[i]);
    free(undo);
    return err;
}

/* ---- -reindex ---- */

struct rx_ent {
    uint8_t hash[32];
    uint8_t prev[32];
    int64_t row;         /* where the body is (the hash index may be what broke) */
};

struct rx_scan {
    struct rx_ent *v;
    size_t n, cap;
    size_t bad;          /* rows that did not parse */
    int err;
};

static int rx_collect(void *ctx, int64_t row, const uint8_t hash[32], const uint8_t *data,
                      size_t len)
{
    struct rx_scan *s = ctx;
    struct rd r;
    struct chain_header h;
    uint8_t hh[32];
    rd_init(&r, data, len < HEADER_SIZE ? len : HEADER_SIZE);
    if (len < HEADER_SIZE || chain_header_decode(&r, &h) != 0) {
        s->bad++;
        return 0;
    }
    chain_header_hash(&h, hh);
    if (memcmp(hh, hash, 32) != 0) {
        s->bad++;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        struct rx_ent *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return CHAIN_ERR_NOMEM;
        s->v = nv;
        s->cap = cap;
    }
    memcpy(s->v[s->n].hash, hash, 32);
    memcpy(s->v[s->n].prev, h.prev, 32);
    s->v[s->n].row = row;
    s->n++;
    return 0;
}

static int cmp_prev(const void *a, const void *b)
{
    return memcmp(((const struct rx_ent *)a)->prev, ((const struct rx_ent *)b)->prev, 32);
}

/* First entry whose prev is key, or n. */
static size_t first_child(const struct rx_ent *v, size_t n, const uint8_t key[32])
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(v[mid].prev, key, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int chain_reindex(const struct chain_config *cfg, const char *from_path, uint64_t now_ms,
                  struct chain_reindex_stats *st)
{
    struct rx_scan scan = { 0 };
    struct store_reader *rd = NULL;
    struct chain *c = NULL;
    uint8_t (*queue)[32] = NULL;
    char tmp[4096], side[4096 + 8];
    uint8_t key[STORE_META_MAX_BYTES];
    size_t key_len = 0;
    bool have_key;
    int err;

    memset(st, 0, sizeof *st);
    if (!cfg->db_path || snprintf(tmp, sizeof tmp, "%s.reindex", cfg->db_path) >= (int)sizeof tmp)
        return CHAIN_ERR_INTERNAL;
    have_key = store_salvage_meta(from_path, INTEGRITY_META_NODE_KEY, key, sizeof key,
                                  &key_len) == 0 && key_len == 64;
    if ((err = store_salvage_bodies(from_path, rx_collect, &scan, &st->unreadable)) != 0)
        goto out;
    st->unreadable += scan.bad;
    st->bodies = scan.n;
    qsort(scan.v, scan.n, sizeof *scan.v, cmp_prev);
    if ((err = store_reader_open(&rd, from_path)) != 0)
        goto out;

    unlink(tmp);
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
    struct chain_config nc = *cfg;
    nc.db_path = tmp;
    if ((err = chain_open(&c, &nc, now_ms)) != 0)
        goto out;
    if (have_key && (err = chain_store_key_put(c, key)) != 0)
        goto out;

    /* Breadth first from genesis: every block after its parent. */
    if (!(queue = malloc((scan.n + 1) * sizeof *queue))) {
        err = CHAIN_ERR_NOMEM;
        goto out;
    }
    size_t head = 0, tail = 0;
    chain_tip(c, queue[tail++]);   /* a fresh chain's tip is genesis */
    while (head < tail) {
        const uint8_t *parent = queue[head++];
        for (size_t i = first_child(scan.v, scan.n, parent);
             i < scan.n && memcmp(scan.v[i].prev, parent, 32) == 0; i++) {
            uint8_t *raw = NULL;
            size_t len = 0;
            struct chain_block b;
            if (store_reader_body(rd, scan.v[i].row, &raw, &len) != 0 ||
                chain_block_parse(&b, raw, len, BLOCK_SIZE_LIMIT) != 0) {
                free(raw);
                st->unreadable++;
                continue;
            }
            free(raw);
            struct chain_result res;
            int e = chain_accept_block(c, &b, now_ms, &res);
            chain_block_free(&b);
            if (e == CHAIN_ERR_STORE || e == CHAIN_ERR_NOMEM || e == CHAIN_ERR_INTERNAL) {
                err = e;
                goto out;
            }
            if (e) {
                st->invalid++;
                continue;
            }
            st->connected++;
            memcpy(queue[tail++], scan.v[i].hash, 32);
        }
    }
    st->height = chain_height(c);
    chain_close(c);
    c = NULL;
    store_reader_close(rd);
    rd = NULL;
    /* The old file (and its log) goes; the rebuilt one takes its name. */
    snprintf(side, sizeof side, "%s-wal", cfg->db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", cfg->db_path);
    unlink(side);
    if (strcmp(from_path, cfg->db_path) != 0)
        unlink(cfg->db_path);
    if (rename(tmp, cfg->db_path) != 0)
        err = CHAIN_ERR_STORE;
out:
    if (c) {
        chain_close(c);
        unlink(tmp);
    }
    store_reader_close(rd);
    free(queue);
    free(scan.v);
    return err;
}
