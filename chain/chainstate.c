/* The chain facade (chain.h): block tree with cumulative work, most-work
 * best chain with atomic reorgs, orphan blocks, and the glue to the ledger,
 * mempool and store. */
#include "chain/chainstate.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/validate.h"

static const char META_GENESIS[] = "genesis";
static const char META_TIP[] = "tip";
static const char META_NODE_KEY[] = "node_key";

static bool failed(const struct bnode *n) { return n->status & (BN_FAILED | BN_FAILED_CHILD); }

static bool in_best(const struct chain *c, const struct bnode *n)
{
    return n->height < c->best_len && c->best[n->height] == n;
}

static struct bnode *find(const struct chain *c, const uint8_t hash[32])
{
    return hmap_get(&c->index, hash);
}

static struct bnode *ancestor(const struct chain *c, struct bnode *n, uint32_t height)
{
    if (height > n->height)
        return NULL;
    if (in_best(c, n))
        return c->best[height];
    while (n && n->height > height)
        n = n->prev;
    return n;
}

uint64_t chain__mtp(const struct chain *c, const struct bnode *n)
{
    uint64_t t[CHAIN_MTP_WINDOW_MAX];
    size_t k = 0, w = c->p->mtp_window;
    if (w > CHAIN_MTP_WINDOW_MAX)
        w = CHAIN_MTP_WINDOW_MAX;
    if (w == 0)
        w = 1;
    for (; n && k < w; n = n->prev)
        t[k++] = n->hdr.time_ms;
    return chain_median_time(t, k);
}

/* Testnet: every block retargets over the last retarget_window blocks,
 * scaling the bits of the block that opened the window by how long the
 * window took. Basing on the window's first block (not the parent) keeps
 * the per-block steps from compounding. Until a full window of mined
 * blocks exists (genesis, with its own bits, never counts) the limit
 * applies. */
static bool retargets_after(const struct chain_params *p, uint32_t parent_height)
{
    return p->retarget && p->retarget_window != 0 && parent_height > p->retarget_window;
}

/* The bits after a parent at parent_time whose window opened with a block
 * of first_bits at first_time (retargets_after is true). */
static uint32_t retarget_from(const struct chain_params *p, uint64_t parent_time,
                              uint32_t first_bits, uint64_t first_time)
{
    uint64_t actual = parent_time > first_time ? parent_time - first_time : 0;
    return chain_retarget(first_bits, actual,
                          (uint64_t)p->retarget_window * p->target_interval_ms,
                          p->pow_limit_bits);
}

uint32_t chain__next_bits(const struct chain *c, const struct bnode *parent)
{
    const struct chain_params *p = c->p;
    if (!retargets_after(p, parent->height))
        return p->pow_limit_bits;
    const struct bnode *first = ancestor(c, (struct bnode *)(uintptr_t)parent,
                                         parent->height - p->retarget_window);
    return retarget_from(p, parent->hdr.time_ms, first->hdr.bits, first->hdr.time_ms);
}

/* ---- block tree ---- */

static int best_push(struct chain *c, struct bnode *n)
{
    if (c->best_len == c->best_cap) {
        size_t ncap = c->best_cap ? c->best_cap * 2 : 256;
        struct bnode **nb = realloc(c->best, ncap * sizeof *nb);
        if (!nb)
            return CHAIN_ERR_NOMEM;
        c->best = nb;
        c->best_cap = ncap;
    }
    c->best[c->best_len++] = n;
    return 0;
}

/* Add a node in memory only (the caller persists it). */
static int node_add(struct chain *c, const uint8_t hash[32], const struct chain_header *h,
                    struct bnode *parent, uint32_t status, uint64_t seq, struct bnode **out)
{
    struct chain_u256 w;
    struct bnode *n = calloc(1, sizeof *n);
    if (!n)
        return CHAIN_ERR_NOMEM;
    memcpy(n->hash, hash, 32);
    n->hdr = *h;
    n->prev = parent;
    n->status = status;
    n->seq = seq;
    if (!chain_work_from_bits(h->bits, &w))
        memset(&w, 0, sizeof w);
    if (parent) {
        n->height = parent->height + 1;
        n->work = parent->work;
    }
    chain_u256_add(&n->work, &w);
    if (hmap_put(&c->index, hash, n) != 0) {
        free(n);
        return CHAIN_ERR_NOMEM;
    }
    if (parent) {
        n->sibling = parent->child;
        parent->child = n;
    }
    if (seq >= c->seq)
        c->seq = seq + 1;
    *out = n;
    return 0;
}

static bool better(const struct chain *c, const struct bnode *a, const struct bnode *b)
{
    if (!b)
        return true;
    int r = chain_u256_cmp(&a->work, &b->work);
    if (r != 0)
        return r > 0;
    /* Equal work: the tip stays, otherwise the first seen. */
    if (b == chain__tip(c))
        return false;
    if (a == chain__tip(c))
        return true;
    return a->seq < b->seq;
}

/* Full rescan, after blocks turned invalid. */
static void recompute_best(struct chain *c)
{
    c->best_header = NULL;
    c->candidate = NULL;
    for (size_t i = 0; i < c->index.cap; i++) {
        if (!hmap_live(&c->index, i))
            continue;
        struct bnode *n = c->index.slots[i].val;
        if (failed(n))
            continue;
        if (!(n->status & BN_ABANDONED) && better(c, n, c->best_header))
            c->best_header = n;
        if ((n->status & BN_CHAIN_DATA) && better(c, n, c->candidate))
            c->candidate = n;
    }
}

/* Visit n and all its descendants (iteratively: chains can be long). */
static int for_subtree(struct bnode *n, bool (*fn)(struct chain *, struct bnode *),
                       struct chain *c)
{
    size_t cap = 64, k = 0;
    struct bnode **stack = malloc(cap * sizeof *stack);
    if (!stack)
        return CHAIN_ERR_NOMEM;
    stack[k++] = n;
    while (k > 0) {
        struct bnode *x = stack[--k];
        if (!fn(c, x))
            continue;
        for (struct bnode *ch = x->child; ch; ch = ch->sibling) {
            if (k == cap) {
                struct bnode **ns = realloc(stack, cap * 2 * sizeof *ns);
                if (!ns) {
                    free(stack);
                    return CHAIN_ERR_NOMEM;
                }
                stack = ns;
                cap *= 2;
            }
            stack[k++] = ch;
        }
    }
    free(stack);
    return 0;
}

static bool mark_failed_child(struct chain *c, struct bnode *n)
{
    if (!(n->status & BN_FAILED)) {
        n->status |= BN_FAILED_CHILD;
        store_index_status(c->st, n->hash, n->status & BN_PERSISTED_MASK);
    }
    return true;
}

/* Remember n as invalid (reason err) and every descendant as well. */
static void mark_failed(struct chain *c, struct bnode *n, int err)
{
    n->status |= BN_FAILED;
    n->fail_err = err;
    store_index_status(c->st, n->hash, n->status & BN_PERSISTED_MASK);
    for (struct bnode *ch = n->child; ch; ch = ch->sibling)
        for_subtree(ch, mark_failed_child, c);
    recompute_best(c);
}

/* A body whose ancestors all have bodies makes it (and any waiting
 * descendants with bodies) a candidate tip. */
static bool set_chain_data(struct chain *c, struct bnode *n)
{
    if (!(n->status & BN_HAVE_DATA) || failed(n))
        return false;
    n->status |= BN_CHAIN_DATA;
    if (better(c, n, c->candidate))
        c->candidate = n;
    return true;
}

static int node_error(const struct bnode *n)
{
    if (n->status & BN_FAILED)
        return n->fail_err ? n->fail_err : CHAIN_ERR_BLK_INVALID_PARENT;
    return CHAIN_ERR_BLK_INVALID_PARENT;
}

static bool set_abandoned(struct chain *c, struct bnode *n)
{
    (void)c;
    n->status |= BN_ABANDONED;
    return true;
}

static bool clear_abandoned(struct chain *c, struct bnode *n)
{
    (void)c;
    n->status &= ~BN_ABANDONED;
    return true;
}

/* n is on an abandoned branch that a peer brought news of (a new header
 * on it, a body): the whole branch may be the best header again. */
static void unabandon(struct chain *c, struct bnode *n)
{
    while (n->prev && (n->prev->status & BN_ABANDONED))
        n = n->prev;
    for_subtree(n, clear_abandoned, c);
    recompute_best(c);
}

/* ---- connecting and disconnecting ---- */

struct step {
    struct bnode *n;
    struct chain_block b;       /* decoded body (owned unless borrowed) */
    bool borrowed;
    struct ledger_undo undo;
};

static void step_free(struct step *s)
{
    if (!s->borrowed)
        chain_block_free(&s->b);
    ledger_undo_free(&s->undo);
}

static int load_block(struct chain *c, const struct bnode *n, struct chain_block *b, bool *borrowed)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    if (n == c->hint_node && c->hint_block) {
        *b = *c->hint_block;
        *borrowed = true;
        return 0;
    }
    *borrowed = false;
    int err = store_body_get(c->st, n->hash, &raw, &len);
    if (err)
        return err == CHAIN_ERR_BLK_UNKNOWN ? CHAIN_ERR_STORE : err;
    err = chain_block_parse(b, raw, len, BLOCK_SIZE_LIMIT);
    free(raw);
    return err ? CHAIN_ERR_STORE : 0;
}

/* Write the current ledger value of every account an undo record names. */
static int store_accounts(struct chain *c, const struct ledger_undo *u)
{
    for (size_t i = 0; i < u->n; i++) {
        const struct ledger_account *a = ledger_get(&c->ledger, u->e[i].pk);
        int err = store_account_put(c->st, u->e[i].pk, a ? a->balance : 0, a ? a->nonce : 0);
        if (err)
            return err;
    }
    return 0;
}

struct steps {
    struct step *s;
    size_t n, cap;
};

static struct step *steps_push(struct steps *v)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        struct step *ns = realloc(v->s, ncap * sizeof *ns);
        if (!ns)
            return NULL;
        v->s = ns;
        v->cap = ncap;
    }
    struct step *s = &v->s[v->n++];
    memset(s, 0, sizeof *s);
    ledger_undo_init(&s->undo);
    return s;
}

static void steps_clear(struct steps *v)
{
    for (size_t i = 0; i < v->n; i++)
        step_free(&v->s[i]);
    v->n = 0;
}

/* Undo in memory what the current (rolled back) transaction did: blocks
 * connected since the last commit, then re-apply the blocks it
 * disconnected. Both lists were valid states a moment ago. */
static int restore_memory(struct chain *c, struct steps *conn, struct steps *disc)
{
    for (size_t i = conn->n; i-- > 0;) {
        ledger_undo_block(&c->ledger, &conn->s[i].undo);
        c->best_len--;
    }
    for (size_t i = disc->n; i-- > 0;) {
        struct step *s = &disc->s[i];
        if (ledger_apply_block(&c->ledger, &s->b, &s->undo, NULL) != 0 || best_push(c, s->n) != 0)
            return CHAIN_ERR_INTERNAL;
    }
    return 0;
}

/* After a commit: tell the mempool and the listener. */
static void after_commit(struct chain *c, struct steps *conn, struct steps *disc, uint64_t now_ms)
{
    const struct chain_block **d = NULL, **k = NULL;
    if (disc->n)
        d = malloc(disc->n * sizeof *d);
    if (conn->n)
        k = malloc(conn->n * sizeof *k);
    for (size_t i = 0; i < disc->n; i++) {
        if (d)
            d[i] = &disc->s[i].b;
        chain__own_block(c, &disc->s[i].b, disc->s[i].n->height, false, false);
        CHAIN_EMIT(c, block_disconnected, disc->s[i].n->hash, disc->s[i].n->height);
    }
    for (size_t i = 0; i < conn->n; i++) {
        if (k)
            k[i] = &conn->s[i].b;
        chain__own_block(c, &conn->s[i].b, conn->s[i].n->height, true, false);
        CHAIN_EMIT(c, block_connected, conn->s[i].n->hash, conn->s[i].n->height,
                   &conn->s[i].b);
    }
    chain__own_prune(c, chain__tip(c)->height, false);
    /* Out of memory here only leaves the mempool less tidy; the next block
     * or tick revalidates it. */
    if ((d || !disc->n) && (k || !conn->n))
        mempool_update(&c->mp, &c->ledger, (const struct chain_block *const *)d, disc->n,
                       (const struct chain_block *const *)k, conn->n, now_ms);
    free(d);
    free(k);
    steps_clear(conn);
    steps_clear(disc);
}

/* The store transaction of a switch. A block on the tip (every mined
 * block) has its body written in the transaction that connects it
 * (process_block leaves it open: body_txn BODY_OPEN), so if connecting
 * fails the body goes with it (BODY_LOST) and nothing the caller was told
 * failed can connect after a restart. */
static int txn_begin(struct chain *c)
{
    if (c->body_txn == BODY_OPEN)
        return 0;
    int err = chain_headers_end(c);
    return err ? err : store_begin(c->st);
}

static int txn_commit(struct chain *c)
{
    int err = store_commit(c->st);
    if (!err)
        c->body_txn = BODY_NONE;
    return err;
}

static void txn_rollback(struct chain *c)
{
    store_rollback(c->st);
    if (c->body_txn == BODY_OPEN)
        c->body_txn = BODY_LOST;
}

/* Switch the best chain to target. The disconnects and the connects up to
 * the first block with more work than the old tip are one store
 * transaction; each block after that commits on its own (every commit
 * point is a state with more work than the one before). A block failing
 * its ledger checks is marked invalid and its transaction rolled back. */
static int switch_to(struct chain *c, struct bnode *target, uint64_t now_ms, uint32_t *depth)
{
    struct bnode *old_tip = chain__tip(c), *fork = target;
    struct chain_u256 old_work = old_tip->work;
    struct steps disc = { 0 }, conn = { 0 };
    struct bnode **path = NULL;
    size_t n_path = 0;
    uint32_t n_disc = 0;
    int err = 0;
    bool open_tx = false;

    while (!in_best(c, fork))
        fork = fork->prev;
    n_path = target->height - fork->height;
    path = malloc((n_path ? n_path : 1) * sizeof *path);
    if (!path)
        return CHAIN_ERR_NOMEM;
    for (struct bnode *x = target; x != fork; x = x->prev)
        path[x->height - fork->height - 1] = x;

    if ((err = txn_begin(c)) != 0)
        goto out;
    open_tx = true;
    while (chain__tip(c) != fork) {
        struct bnode *t = chain__tip(c);
        struct step *s = steps_push(&disc);
        uint8_t *raw = NULL;
        size_t len = 0;
        if (!s) {
            err = CHAIN_ERR_NOMEM;
            goto fail;
        }
        s->n = t;
        if ((err = load_block(c, t, &s->b, &s->borrowed)) != 0)
            goto fail_pop;
        if ((err = store_undo_get(c->st, t->hash, &raw, &len)) != 0) {
            err = CHAIN_ERR_STORE;
            goto fail_pop;
        }
        err = ledger_undo_decode(&s->undo, raw, len);
        free(raw);
        if (err) {
            err = CHAIN_ERR_STORE;
            goto fail_pop;
        }
        ledger_undo_block(&c->ledger, &s->undo);
        c->best_len--;
        n_disc++;
        if ((err = store_accounts(c, &s->undo)) != 0 || (err = store_undo_del(c->st, t->hash)) != 0 ||
            (err = chain__own_block(c, &s->b, t->height, false, true)) != 0)
            goto fail;
        continue;
fail_pop:
        step_free(s);
        disc.n--;
        goto fail;
    }
    for (size_t i = 0; i < n_path; i++) {
        struct bnode *n = path[i];
        struct step *s = steps_push(&conn);
        uint8_t *raw = NULL;
        size_t len = 0;
        if (!s) {
            err = CHAIN_ERR_NOMEM;
            goto fail;
        }
        s->n = n;
        if ((err = load_block(c, n, &s->b, &s->borrowed)) != 0) {
            step_free(s);
            conn.n--;
            goto fail;
        }
        size_t bad_tx = 0;
        err = ledger_apply_block(&c->ledger, &s->b, &s->undo, &bad_tx);
        if (err) {
            step_free(s);
            conn.n--;
            txn_rollback(c);
            open_tx = false;
            if (restore_memory(c, &conn, &disc) != 0) {
                err = CHAIN_ERR_INTERNAL;
                goto out;
            }
            n_disc -= (uint32_t)disc.n;
            steps_clear(&conn);
            steps_clear(&disc);
            n->fail_tx_err = err;
            n->fail_tx = (uint32_t)bad_tx;
            mark_failed(c, n, CHAIN_ERR_BLK_BAD_TX);
            err = 0;
            break;
        }
        if ((err = best_push(c, n)) != 0) {
            ledger_undo_block(&c->ledger, &s->undo);
            step_free(s);
            conn.n--;
            goto fail;
        }
        if ((err = store_accounts(c, &s->undo)) != 0 ||
            (err = ledger_undo_encode(&s->undo, &raw, &len)) != 0)
            goto fail;
        err = store_undo_put(c->st, n->hash, raw, len);
        free(raw);
        if (err || (err = chain__own_block(c, &s->b, n->height, true, true)) != 0)
            goto fail;
        if (chain_u256_cmp(&n->work, &old_work) > 0 || i + 1 == n_path) {
            if ((err = chain__own_prune(c, n->height, true)) != 0 ||
                (err = store_meta_put(c->st, META_TIP, n->hash, 32)) != 0 ||
                (err = txn_commit(c)) != 0)
                goto fail;
            open_tx = false;
            after_commit(c, &conn, &disc, now_ms);
            if (i + 1 < n_path) {
                if ((err = txn_begin(c)) != 0)
                    goto out;
                open_tx = true;
            }
        }
    }
    if (n_disc > 0 && chain__tip(c) != old_tip)
        CHAIN_EMIT(c, reorg, old_tip->hash, chain__tip(c)->hash, n_disc);
    if (depth)
        *depth += n_disc;
    goto out;
fail:
    /* A local failure (store, memory): put memory back to the last commit. */
    if (open_tx) {
        txn_rollback(c);
        open_tx = false;
    }
    if (restore_memory(c, &conn, &disc) != 0)
        err = CHAIN_ERR_INTERNAL;
    steps_clear(&conn);
    steps_clear(&disc);
out:
    if (open_tx)
        txn_rollback(c);
    steps_clear(&conn);
    steps_clear(&disc);
    free(conn.s);
    free(disc.s);
    free(path);
    return err;
}

/* Move the tip to the most-work candidate, retrying after invalid blocks. */
static int activate(struct chain *c, uint64_t now_ms, uint32_t *depth)
{
    for (;;) {
        struct bnode *cand = c->candidate, *tip = chain__tip(c);
        if (!cand || cand == tip || chain_u256_cmp(&cand->work, &tip->work) <= 0)
            return 0;
        int err = switch_to(c, cand, now_ms, depth);
        if (err)
            return err;
    }
}

/* ---- accepting headers and blocks ---- */

/* Validate h in context and add it. Returns 0 with *out (new or known),
 * 1 if the parent is unknown, or an error. */
static int add_header(struct chain *c, const struct chain_header *h, const uint8_t hash[32],
                      uint64_t now_ms, struct bnode **out)
{
    struct bnode *n = find(c, hash), *parent;
    int err;

    if (n) {
        *out = n;
        return failed(n) ? node_error(n) : 0;
    }
    if ((err = chain_validate_header_pow(c->p, h, hash)) != 0)
        return err;
    if (!(parent = find(c, h->prev)))
        return 1;
    uint32_t status = 0;
    if (failed(parent)) {
        err = CHAIN_ERR_BLK_INVALID_PARENT;
        status = BN_FAILED_CHILD;
    } else {
        err = chain_validate_header_ctx(c->p, h, chain__next_bits(c, parent),
                                        chain__mtp(c, parent), now_ms);
        /* Too far in the future may become valid later: not remembered. */
        if (err == CHAIN_ERR_BLK_TIME_FUTURE)
            return err;
        if (err)
            status = BN_FAILED;
    }
    if (parent->status & BN_ABANDONED)
        unabandon(c, parent);
    int e2 = node_add(c, hash, h, parent, status, c->seq, &n);
    if (e2)
        return e2;
    n->fail_err = err;
    if ((e2 = store_index_put(c->st, hash, n->seq, h, status)) != 0)
        return e2;
    if (err)
        return err;
    if (better(c, n, c->best_header))
        c->best_header = n;
    *out = n;
    return 0;
}

int chain_headers_begin(struct chain *c)
{
    if (c->hdr_txn)
        return 0;
    int err = store_begin(c->st);
    if (!err)
        c->hdr_txn = true;
    return err;
}

int chain_headers_end(struct chain *c)
{
    if (!c->hdr_txn)
        return 0;
    c->hdr_txn = false;
    int err = store_commit(c->st);
    if (err)
        store_rollback(c->st);
    return err;
}

int chain_accept_header(struct chain *c, const struct chain_header *h, uint64_t now_ms,
                        struct chain_result *res)
{
    uint8_t hash[32];
    struct bnode *n = NULL;
    struct chain_result tmp;
    if (!res)
        res = &tmp;
    memset(res, 0, sizeof *res);
    chain_header_hash(h, hash);
    bool known = find(c, hash) != NULL;
    int err = add_header(c, h, hash, now_ms, &n);
    if (err < 0)
        return err;
    if (err == 1) {
        res->status = CHAIN_ST_ORPHAN;
        memcpy(res->missing_parent, h->prev, 32);
        return 0;
    }
    res->height = n->height;
    res->status = known ? CHAIN_ST_DUPLICATE : CHAIN_ST_HEADER_ONLY;
    return 0;
}

static struct orphan_blk *orphan_find(const struct chain *c, const uint8_t hash[32], size_t *idx)
{
    for (size_t i = 0; i < c->n_orph; i++)
        if (memcmp(c->orph[i]->hash, hash, 32) == 0) {
            if (idx)
                *idx = i;
            return c->orph[i];
        }
    return NULL;
}

/* Unlinks orphan i; frees it too unless the caller takes it. */
static struct orphan_blk *orphan_remove(struct chain *c, size_t i, bool free_it)
{
    struct orphan_blk *o = c->orph[i];
    c->orph_bytes -= o->size;
    memmove(&c->orph[i], &c->orph[i + 1], (c->n_orph - i - 1) * sizeof *c->orph);
    c->n_orph--;
    if (!free_it)
        return o;
    free(o->raw);
    free(o);
    return NULL;
}

/* The first missing ancestor of an orphan chain. */
static void orphan_root(const struct chain *c, const uint8_t prev[32], uint8_t out[32])
{
    const uint8_t *p = prev;
    const struct orphan_blk *o;
    size_t guard = 0;
    while ((o = orphan_find(c, p, NULL)) != NULL && guard++ < CHAIN_ORPHAN_BLOCKS_MAX_COUNT)
        p = o->hdr.prev;
    memcpy(out, p, 32);
}

static int orphan_add(struct chain *c, const struct chain_block *b, const uint8_t hash[32],
                      size_t size, unsigned flags, uint64_t now_ms)
{
    if (size > CHAIN_ORPHAN_BLOCKS_MAX_BYTES)
        return CHAIN_ERR_BLK_ORPHAN_FULL;
    while (c->n_orph > 0 && (c->n_orph >= CHAIN_ORPHAN_BLOCKS_MAX_COUNT ||
                             CHAIN_ORPHAN_BLOCKS_MAX_BYTES - c->orph_bytes < size))
        orphan_remove(c, 0, true);
    if (!c->orph) {
        c->orph = calloc(CHAIN_ORPHAN_BLOCKS_MAX_COUNT, sizeof *c->orph);
        if (!c->orph)
            return CHAIN_ERR_NOMEM;
    }
    struct orphan_blk *o = calloc(1, sizeof *o);
    if (!o)
        return CHAIN_ERR_NOMEM;
    /* Exactly size bytes: what is counted is what is held. */
    struct wr w;
    if (!(o->raw = malloc(size))) {
        free(o);
        return CHAIN_ERR_NOMEM;
    }
    wr_init_fixed(&w, o->raw, size);
    if (!chain_block_encode(&w, b) || w.len != size) {
        free(o->raw);
        free(o);
        return CHAIN_ERR_INTERNAL;
    }
    o->size = size;
    memcpy(o->hash, hash, 32);
    o->hdr = b->hdr;
    o->time_ms = now_ms;
    o->flags = flags;
    c->orph[c->n_orph++] = o;
    c->orph_bytes += size;
    return 0;
}

/* An unrequested block is kept only if its chain has at least the tip's
 * work (as Bitcoin Core's AcceptBlock: "more or same work"); a header we
 * already hold does not make its body welcome. */
static bool unrequested_low_work(const struct chain *c, const struct bnode *parent,
                                 const struct chain_header *h)
{
    struct chain_u256 work, tip;
    chain_work_from_bits(h->bits, &work);
    chain_u256_add(&work, &parent->work);
    tip = chain__tip(c)->work;
    return chain_u256_cmp(&work, &tip) < 0;
}

/* A block fetched on an inv alone needs the work its header would have
 * needed (chain_headers_min_work): else a peer grows our store with
 * cheap side branches, one getdata per block. */
static bool unvetted_low_work(const struct chain *c, const struct bnode *parent,
                              const struct chain_header *h)
{
    struct chain_u256 work, min;
    chain_work_from_bits(h->bits, &work);
    chain_u256_add(&work, &parent->work);
    chain_headers_min_work(c, &min);
    return chain_u256_cmp(&work, &min) < 0;
}

/* Body checks, store, and connect if it makes the best chain. */
static int process_block(struct chain *c, const struct chain_block *b, unsigned flags,
                         uint64_t now_ms, struct chain_result *res)
{
    uint8_t hash[32];
    uint8_t (*txids)[32] = NULL;
    struct bnode *n, *tip_before = chain__tip(c);
    size_t size = chain_block_size(b);
    int err;

    memset(res, 0, sizeof *res);
    chain_header_hash(&b->hdr, hash);
    n = find(c, hash);
    if (n && failed(n)) {
        res->bad_tx = n->fail_tx;
        res->tx_err = n->fail_tx_err;
        return node_error(n);
    }
    if (n && (n->status & BN_HAVE_DATA)) {
        res->status = CHAIN_ST_DUPLICATE;
        res->height = n->height;
        return 0;
    }
    if (n && (n->status & BN_ABANDONED))
        unabandon(c, n);   /* somebody serves its bodies after all */
    struct bnode *parent = n ? n->prev : find(c, b->hdr.prev);
    if (!parent && (flags & CHAIN_BLOCK_UNREQUESTED) && !n) {
        /* Its work cannot be known: nobody asked, so nothing is held. */
        if (orphan_find(c, hash, NULL)) {
            res->status = CHAIN_ST_ORPHAN;
            orphan_root(c, b->hdr.prev, res->missing_parent);
        } else {
            res->status = CHAIN_ST_NOT_STORED;
        }
        return 0;
    }
    if (parent && (((flags & CHAIN_BLOCK_UNREQUESTED) && unrequested_low_work(c, parent, &b->hdr))
                   || ((flags & CHAIN_BLOCK_HEADER_UNKNOWN)
                       && unvetted_low_work(c, parent, &b->hdr)))) {
        res->status = CHAIN_ST_NOT_STORED;
        res->height = parent->height + 1;
        return 0;
    }
    if (!n && !parent) {
        if (orphan_find(c, hash, NULL)) {
            res->status = CHAIN_ST_ORPHAN;
            orphan_root(c, b->hdr.prev, res->missing_parent);
            return 0;
        }
        /* Cheap checks before holding a block we cannot place: it must
         * carry real work and be what its header commits to. */
        if ((err = chain_validate_header_pow(c->p, &b->hdr, hash)) != 0)
            return err;
        if (b->hdr.time_ms > now_ms && b->hdr.time_ms - now_ms > c->p->max_future_ms)
            return CHAIN_ERR_BLK_TIME_FUTURE;
        if (b->n_tx == 0)
            return CHAIN_ERR_BLK_EMPTY;
        if (b->n_tx > BLOCK_TX_MAX)
            return CHAIN_ERR_BLK_SIZE;
        if (!(txids = malloc(b->n_tx * sizeof *txids)))
            return CHAIN_ERR_NOMEM;
        err = chain_validate_block_shape(c->p, b, txids);
        free(txids);
        if (err)
            return err;
        if ((err = orphan_add(c, b, hash, size, flags, now_ms)) != 0)
            return err;
        res->status = CHAIN_ST_ORPHAN;
        orphan_root(c, b->hdr.prev, res->missing_parent);
        return 0;
    }
    if (!n) {
        err = add_header(c, &b->hdr, hash, now_ms, &n);
        if (err)
            return err < 0 ? err : CHAIN_ERR_INTERNAL;
    }
    res->height = n->height;

    /* Body. Failures before the merkle root matches say nothing about the
     * block the header commits to, so they are not remembered. */
    if (b->n_tx == 0)
        return CHAIN_ERR_BLK_EMPTY;
    if (b->n_tx > BLOCK_TX_MAX)
        return CHAIN_ERR_BLK_SIZE;
    if (!(txids = malloc(b->n_tx * sizeof *txids)))
        return CHAIN_ERR_NOMEM;
    err = chain_validate_block_shape(c->p, b, txids);
    if (err == CHAIN_ERR_BLK_SIZE) {
        mark_failed(c, n, err);
        goto out;
    }
    if (err)
        goto out;
    size_t bad_tx = 0;
    int tx_err = 0;
    err = chain_validate_block_txs(c->p, b, (const uint8_t (*)[32])txids, n->height,
                                   &c->mp.sigs, &bad_tx, &tx_err);
    if (err) {
        res->bad_tx = n->fail_tx = (uint32_t)bad_tx;
        res->tx_err = n->fail_tx_err = tx_err;
        mark_failed(c, n, err);
        goto out;
    }

    /* Store the body, then connect whatever now has the most work. */
    struct wr w;
    wr_init(&w, BLOCK_SIZE_LIMIT);
    chain_block_encode(&w, b);
    if (w.err) {
        err = w.err;
        wr_free(&w);
        goto out;
    }
    /* A block on the tip with no descendants connects alone, now: its body
     * commits with the connect (txn_begin). */
    bool on_tip = n->prev == chain__tip(c) && !n->child;
    if ((err = chain_headers_end(c)) == 0 && (err = store_begin(c->st)) == 0) {
        err = store_body_put(c->st, hash, w.buf, w.len);
        if (!err)
            err = store_index_status(c->st, hash, (n->status | BN_HAVE_DATA) & BN_PERSISTED_MASK);
        if (!err && !on_tip)
            err = store_commit(c->st);
        if (err)
            store_rollback(c->st);
    }
    wr_free(&w);
    if (err)
        goto out;
    n->status |= BN_HAVE_DATA;
    if (on_tip)
        c->body_txn = BODY_OPEN;
    if (n->prev == NULL || (n->prev->status & BN_CHAIN_DATA))
        for_subtree(n, set_chain_data, c);

    c->hint_node = n;
    c->hint_block = b;
    err = activate(c, now_ms, &res->reorg_depth);
    c->hint_node = NULL;
    c->hint_block = NULL;
    if (c->body_txn == BODY_OPEN) {   /* nothing connected: the body alone */
        int e2 = txn_commit(c);
        if (e2) {
            txn_rollback(c);
            err = err ? err : e2;
        }
    }
    if (c->body_txn == BODY_LOST) {
        /* Rolled back with a failed connect: the body is not stored. */
        c->body_txn = BODY_NONE;
        n->status &= ~(BN_HAVE_DATA | BN_CHAIN_DATA);
        if (failed(n))
            store_index_status(c->st, n->hash, n->status & BN_PERSISTED_MASK);
        recompute_best(c);
    }
    if (err)
        goto out;
    if (failed(n)) {
        err = node_error(n);
        res->bad_tx = n->fail_tx;
        res->tx_err = n->fail_tx_err;
        goto out;
    }
    res->status = in_best(c, n) && chain__tip(c) != tip_before ? CHAIN_ST_NEW_TIP : CHAIN_ST_SIDE;
out:
    free(txids);
    return err;
}

int chain_accept_block(struct chain *c, const struct chain_block *b, uint64_t now_ms,
                       struct chain_result *res)
{
    return chain_accept_block_ex(c, b, 0, now_ms, res);
}

int chain_accept_block_ex(struct chain *c, const struct chain_block *b, unsigned flags,
                          uint64_t now_ms, struct chain_result *res)
{
    struct chain_result tmp;
    if (!res)
        res = &tmp;
    int err = process_block(c, b, flags, now_ms, res);
    if (err || res->status == CHAIN_ST_ORPHAN || res->status == CHAIN_ST_DUPLICATE ||
        res->status == CHAIN_ST_NOT_STORED)
        return err;
    /* Orphans whose parent is now known get their turn, and so on down. */
    for (bool progress = true; progress;) {
        progress = false;
        for (size_t i = 0; i < c->n_orph; i++) {
            if (!find(c, c->orph[i]->hdr.prev))
                continue;
            struct orphan_blk *o = orphan_remove(c, i, false);
            struct chain_block ob;
            struct chain_result r2;
            /* Held orphans were all asked for (unrequested ones are not
             * held); one asked for on an inv alone keeps its rule. */
            int e2 = chain_block_parse(&ob, o->raw, o->size, BLOCK_SIZE_LIMIT);
            unsigned oflags = o->flags;
            free(o->raw);
            free(o);
            if (e2) {
                progress = true;   /* it was one of ours: cannot happen */
                break;
            }
            e2 = process_block(c, &ob, oflags, now_ms, &r2);
            chain_block_free(&ob);
            if (e2 == CHAIN_ERR_STORE || e2 == CHAIN_ERR_NOMEM || e2 == CHAIN_ERR_INTERNAL)
                return e2;
            if (e2 == 0 && r2.status == CHAIN_ST_NEW_TIP)
                res->reorg_depth += r2.reorg_depth;
            progress = true;
            break;
        }
    }
    return 0;
}

/* ---- open / close ---- */

struct load_ctx {
    struct chain *c;
    uint8_t genesis[32];
};

static int load_index_row(void *ctx, const uint8_t hash[32], uint64_t seq,
                          const struct chain_header *h, uint32_t status)
{
    struct load_ctx *lc = ctx;
    struct chain *c = lc->c;
    struct bnode *parent = NULL, *n;
    bool is_genesis = memcmp(hash, lc->genesis, 32) == 0;
    if (!is_genesis && !(parent = find(c, h->prev)))
        return CHAIN_ERR_STORE;   /* rows come parents first; else corrupt */
    int err = node_add(c, hash, h, parent, status & BN_PERSISTED_MASK, seq, &n);
    if (err)
        return err;
    if (is_genesis)
        c->genesis = n;
    if ((n->status & BN_HAVE_DATA) && !failed(n) && (!parent || (parent->status & BN_CHAIN_DATA)))
        n->status |= BN_CHAIN_DATA;
    return 0;
}

static int load_account_row(void *ctx, const uint8_t pk[32], uint64_t balance, uint64_t nonce)
{
    return ledger_set(ctx, pk, balance, nonce);
}

static int create_genesis(struct chain *c, const uint8_t ghash[32])
{
    struct chain_block g;
    struct ledger_undo u;
    struct wr w;
    struct bnode *n;
    int err = chain_genesis_block(c->p, &g);
    if (err)
        return err;
    ledger_undo_init(&u);
    wr_init(&w, BLOCK_SIZE_LIMIT);
    chain_block_encode(&w, &g);
    if ((err = w.err) != 0)
        goto out;
    if ((err = node_add(c, ghash, &g.hdr, NULL, BN_HAVE_DATA | BN_CHAIN_DATA, 0, &n)) != 0)
        goto out;
    c->genesis = n;
    if ((err = ledger_apply_block(&c->ledger, &g, &u, NULL)) != 0)
        goto out;
    if ((err = store_begin(c->st)) != 0)
        goto out;
    if ((err = store_index_put(c->st, ghash, 0, &g.hdr, BN_HAVE_DATA)) != 0 ||
        (err = store_body_put(c->st, ghash, w.buf, w.len)) != 0 ||
        (err = store_accounts(c, &u)) != 0 ||
        (err = store_meta_put(c->st, META_GENESIS, ghash, 32)) != 0 ||
        (err = store_meta_put(c->st, META_TIP, ghash, 32)) != 0 ||
        (err = store_commit(c->st)) != 0)
        store_rollback(c->st);
out:
    wr_free(&w);
    ledger_undo_free(&u);
    chain_block_free(&g);
    return err;
}

static void on_tx_added(void *ctx, const struct mp_entry *e)
{
    struct chain *c = ctx;
    CHAIN_EMIT(c, tx_added, e->txid, e->tx, e->origin);
}

static void on_tx_removed(void *ctx, const struct mp_entry *e, int reason)
{
    struct chain *c = ctx;
    CHAIN_EMIT(c, tx_removed, e->txid, e->tx, reason);
}

int chain_open(struct chain **out, const struct chain_config *cfg, uint64_t now_ms)
{
    struct chain *c;
    uint8_t ghash[32], buf[STORE_META_MAX_BYTES];
    size_t len = 0;
    int err;

    if (!cfg || !cfg->params)
        return CHAIN_ERR_INTERNAL;
    if (!(c = calloc(1, sizeof *c)))
        return CHAIN_ERR_NOMEM;
    c->p = cfg->params;
    c->salt = cfg->salt;
    c->min_chain_work = cfg->min_chain_work;
    hmap_init(&c->index, c->salt);
    hmap_init(&c->own, c->salt);
    ledger_init(&c->ledger, c->salt);
    err = mempool_init(&c->mp, c->p,
                       cfg->mempool_max_bytes ? cfg->mempool_max_bytes : CHAIN_MEMPOOL_MAX_BYTES_DEFAULT,
                       cfg->mempool_expiry_ms ? cfg->mempool_expiry_ms : CHAIN_MEMPOOL_EXPIRY_MS_DEFAULT,
                       c->salt);
    if (err)
        goto fail;
    c->mp.on_added = on_tx_added;
    c->mp.on_removed = on_tx_removed;
    c->mp.ctx = c;
    if ((err = store_open(&c->st, cfg->db_path, !cfg->db_no_fsync)) != 0)
        goto fail;

    chain_genesis_hash(c->p, ghash);
    err = store_meta_get(c->st, META_GENESIS, buf, sizeof buf, &len);
    if (err == CHAIN_ERR_BLK_UNKNOWN) {
        if ((err = create_genesis(c, ghash)) != 0)
            goto fail;
        if ((err = best_push(c, c->genesis)) != 0)
            goto fail;
    } else if (err) {
        goto fail;
    } else {
        struct load_ctx lc = { .c = c };
        memcpy(lc.genesis, ghash, 32);
        /* A datadir of another network. */
        if (len != 32 || memcmp(buf, ghash, 32) != 0) {
            err = CHAIN_ERR_STORE;
            goto fail;
        }
        if ((err = store_index_load(c->st, load_index_row, &lc)) != 0 ||
            (err = store_account_load(c->st, load_account_row, &c->ledger)) != 0 ||
            (err = store_meta_get(c->st, META_TIP, buf, sizeof buf, &len)) != 0)
            goto fail;
        struct bnode *tip = len == 32 ? find(c, buf) : NULL;
        if (!tip || !c->genesis) {
            err = CHAIN_ERR_STORE;
            goto fail;
        }
        for (uint32_t h = 0; h <= tip->height; h++)
            if ((err = best_push(c, c->genesis)) != 0)
                goto fail;
        for (struct bnode *x = tip; x; x = x->prev)
            c->best[x->height] = x;
    }
    if ((err = chain__own_load(c)) != 0)
        goto fail;
    recompute_best(c);
    /* Bodies stored but not connected before a crash connect now. */
    if ((err = activate(c, now_ms, NULL)) != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    chain_close(c);
    return err;
}

void chain_close(struct chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->index.cap; i++)
        if (hmap_live(&c->index, i))
            free(c->index.slots[i].val);
    hmap_free(&c->index);
    while (c->n_orph > 0)
        orphan_remove(c, c->n_orph - 1, true);
    free(c->orph);
    free(c->best);
    ledger_free(&c->ledger);
    mempool_free(&c->mp);
    chain__own_free(c);
    chain_headers_end(c);   /* an open header batch: committed, not lost */
    store_close(c->st);
    free(c);
}

void chain_set_events(struct chain *c, const struct chain_events *ev)
{
    if (ev)
        c->ev[0] = *ev;
    else
        memset(&c->ev[0], 0, sizeof c->ev[0]);
}

static bool listener_used(const struct chain_events *ev)
{
    return ev->block_connected || ev->block_disconnected || ev->reorg || ev->tx_added ||
           ev->tx_removed;
}

int chain_add_listener(struct chain *c, const struct chain_events *ev)
{
    /* A slot is free when it has no callback, so an empty listener could
     * never be told apart from a free slot: refuse it. */
    if (!ev || !listener_used(ev))
        return CHAIN_ERR_INTERNAL;
    for (int i = 1; i < (int)CHAIN_LISTENERS_MAX; i++)
        if (!listener_used(&c->ev[i])) {
            c->ev[i] = *ev;
            return i;
        }
    return CHAIN_ERR_INTERNAL;
}

void chain_remove_listener(struct chain *c, int handle)
{
    if (handle > 0 && handle < (int)CHAIN_LISTENERS_MAX)
        memset(&c->ev[handle], 0, sizeof c->ev[handle]);
}

const struct chain_params *chain_params(const struct chain *c) { return c->p; }

/* ---- lookups ---- */

uint32_t chain_height(const struct chain *c) { return chain__tip(c)->height; }

void chain_tip(const struct chain *c, uint8_t hash[32]) { memcpy(hash, chain__tip(c)->hash, 32); }

void chain_tip_work(const struct chain *c, struct chain_u256 *work) { *work = chain__tip(c)->work; }

bool chain_header_work(const struct chain *c, const uint8_t hash[32], struct chain_u256 *work)
{
    const struct bnode *n = find(c, hash);
    if (!n)
        return false;
    *work = n->work;
    return true;
}

uint64_t chain_tip_mtp(const struct chain *c) { return chain__mtp(c, chain__tip(c)); }

uint32_t chain_next_bits(const struct chain *c) { return chain__next_bits(c, chain__tip(c)); }

bool chain_have_header(const struct chain *c, const uint8_t hash[32]) { return find(c, hash) != NULL; }

bool chain_have_block(const struct chain *c, const uint8_t hash[32])
{
    const struct bnode *n = find(c, hash);
    return n && (n->status & BN_HAVE_DATA);
}

bool chain_is_invalid(const struct chain *c, const uint8_t hash[32])
{
    const struct bnode *n = find(c, hash);
    return n && failed(n);
}

bool chain_in_best(const struct chain *c, const uint8_t hash[32])
{
    const struct bnode *n = find(c, hash);
    return n && in_best(c, n);
}

bool chain_get_header(const struct chain *c, const uint8_t hash[32], struct chain_header *h,
                      uint32_t *height)
{
    const struct bnode *n = find(c, hash);
    if (!n)
        return false;
    if (h)
        *h = n->hdr;
    if (height)
        *height = n->height;
    return true;
}

bool chain_hash_at(const struct chain *c, uint32_t height, uint8_t hash[32])
{
    if (height >= c->best_len)
        return false;
    memcpy(hash, c->best[height]->hash, 32);
    return true;
}

int chain_get_block_raw(struct chain *c, const uint8_t hash[32], uint8_t **buf, size_t *len)
{
    if (!chain_have_block(c, hash))
        return CHAIN_ERR_BLK_UNKNOWN;
    return store_body_get(c->st, hash, buf, len);
}

int chain_get_block(struct chain *c, const uint8_t hash[32], struct chain_block *b)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int err = chain_get_block_raw(c, hash, &raw, &len);
    if (err)
        return err;
    err = chain_block_parse(b, raw, len, BLOCK_SIZE_LIMIT);
    free(raw);
    return err ? CHAIN_ERR_STORE : 0;
}

/* ---- sync helpers ---- */

size_t chain_locator(const struct chain *c, uint8_t (*out)[32], size_t max)
{
    size_t k = 0;
    uint64_t h = chain__tip(c)->height, step = 1;
    while (k < max) {
        memcpy(out[k++], c->best[h]->hash, 32);
        if (h == 0)
            break;
        if (k >= 10)
            step *= 2;
        h = h > step ? h - step : 0;
    }
    /* Always end at genesis when there is room for it. */
    if (k > 1 && k == max && memcmp(out[k - 1], c->genesis->hash, 32) != 0)
        memcpy(out[k - 1], c->genesis->hash, 32);
    return k;
}

size_t chain_headers_after(const struct chain *c, const uint8_t (*locator)[32], size_t n,
                           const uint8_t stop[32], struct chain_header *out, size_t max)
{
    static const uint8_t zero[32];
    size_t start = 1, k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bnode *b = find(c, locator[i]);
        if (!b)
            continue;
        /* A hash off our best chain (a side branch, or headers past our
         * tip): the peer has its ancestors, so start after the point where
         * it meets the best chain; the later, sparser locator entries may
         * lie far below that. Genesis is in every chain, so this ends. */
        while (!in_best(c, b))
            b = b->prev;
        start = (size_t)b->height + 1;
        break;
    }
    for (size_t h = start; h < c->best_len && k < max; h++) {
        out[k++] = c->best[h]->hdr;
        if (stop && memcmp(stop, zero, 32) != 0 && memcmp(stop, c->best[h]->hash, 32) == 0)
            break;
    }
    return k;
}

size_t chain_blocks_to_fetch(const struct chain *c, uint8_t (*out)[32], size_t max)
{
    const struct bnode *bh = c->best_header;
    size_t n = 0, k = 0;
    if (!bh || max == 0)
        return 0;
    for (const struct bnode *x = bh; x && !in_best(c, x); x = x->prev)
        n++;
    if (n == 0)
        return 0;
    const struct bnode **path = malloc(n * sizeof *path);
    if (!path)
        return 0;
    size_t i = n;
    for (const struct bnode *x = bh; x && !in_best(c, x); x = x->prev)
        path[--i] = x;
    for (i = 0; i < n && k < max; i++)
        if (!(path[i]->status & BN_HAVE_DATA))
            memcpy(out[k++], path[i]->hash, 32);
    free(path);
    return k;
}

/* ---- headers anti-DoS ---- */

int chain_hdr_cursor_at(const struct chain *c, const uint8_t hash[32],
                        struct chain_hdr_cursor *cur)
{
    const struct bnode *n = find(c, hash);
    if (!n)
        return CHAIN_ERR_BLK_UNKNOWN;
    if (failed(n))
        return node_error(n);
    if (c->p->mtp_window > CHAIN_HDR_CURSOR_DEPTH ||
        (c->p->retarget && c->p->retarget_window >= CHAIN_HDR_CURSOR_DEPTH))
        return CHAIN_ERR_INTERNAL;
    memset(cur, 0, sizeof *cur);
    memcpy(cur->hash, n->hash, 32);
    cur->height = n->height;
    cur->work = n->work;
    for (const struct bnode *x = n; x && n->height - x->height < CHAIN_HDR_CURSOR_DEPTH;
         x = x->prev) {
        cur->time_ms[x->height % CHAIN_HDR_CURSOR_DEPTH] = x->hdr.time_ms;
        cur->bits[x->height % CHAIN_HDR_CURSOR_DEPTH] = x->hdr.bits;
    }
    return 0;
}

int chain_hdr_cursor_next(const struct chain *c, struct chain_hdr_cursor *cur,
                          const struct chain_header *h, uint64_t now_ms)
{
    const struct chain_params *p = c->p;
    const uint32_t d = CHAIN_HDR_CURSOR_DEPTH;
    uint8_t hash[32];
    uint64_t t[CHAIN_HDR_CURSOR_DEPTH];
    struct chain_u256 w;
    if (memcmp(h->prev, cur->hash, 32) != 0)
        return 1;
    chain_header_hash(h, hash);
    int err = chain_validate_header_pow(p, h, hash);
    if (err)
        return err;
    /* The same context chain__mtp and chain__next_bits read from the tree. */
    size_t k = 0, win = p->mtp_window ? p->mtp_window : 1;
    for (; k < win && k <= cur->height; k++)
        t[k] = cur->time_ms[(cur->height - k) % d];
    uint32_t bits = p->pow_limit_bits;
    if (retargets_after(p, cur->height)) {
        uint32_t first = (cur->height - p->retarget_window) % d;
        bits = retarget_from(p, cur->time_ms[cur->height % d], cur->bits[first],
                             cur->time_ms[first]);
    }
    err = chain_validate_header_ctx(p, h, bits, chain_median_time(t, k), now_ms);
    if (err)
        return err;
    if (!chain_work_from_bits(h->bits, &w))
        return CHAIN_ERR_BLK_POW;
    memcpy(cur->hash, hash, 32);
    cur->height++;
    chain_u256_add(&cur->work, &w);
    cur->time_ms[cur->height % d] = h->time_ms;
    cur->bits[cur->height % d] = h->bits;
    return 0;
}

void chain_headers_min_work(const struct chain *c, struct chain_u256 *work)
{
    *work = chain__tip(c)->work;
    if (chain_u256_cmp(&c->min_chain_work, work) > 0)
        *work = c->min_chain_work;
}

size_t chain_header_count(const struct chain *c) { return c->index.count; }

int chain_headers_abandon(struct chain *c, const uint8_t hash[32])
{
    struct bnode *n = find(c, hash);
    if (!n)
        return CHAIN_ERR_BLK_UNKNOWN;
    if (n->status & BN_HAVE_DATA)
        return CHAIN_ERR_INTERNAL;
    int err = for_subtree(n, set_abandoned, c);
    recompute_best(c);
    return err;
}

bool chain_headers_abandoned(const struct chain *c, const uint8_t hash[32])
{
    const struct bnode *n = find(c, hash);
    return n && (n->status & BN_ABANDONED);
}

/* ---- mempool and ledger ---- */

int chain_mempool_accept(struct chain *c, const struct chain_tx *tx, uint64_t origin_tag,
                         uint64_t now_ms)
{
    return mempool_accept(&c->mp, &c->ledger, tx, origin_tag, now_ms);
}

bool chain_mempool_has(const struct chain *c, const uint8_t txid[32])
{
    return mempool_find(&c->mp, txid) != NULL;
}

bool chain_sig_cached(const struct chain *c, const uint8_t txid[32])
{
    return sigcache_has(&c->mp.sigs, txid);
}

void chain_sig_verified(struct chain *c, const uint8_t txid[32])
{
    sigcache_add(&c->mp.sigs, txid);
}

const struct chain_tx *chain_mempool_get(const struct chain *c, const uint8_t txid[32])
{
    const struct mp_entry *e = mempool_find(&c->mp, txid);
    return e ? e->tx : NULL;
}

size_t chain_mempool_count(const struct chain *c) { return c->mp.txs.count; }
uint64_t chain_mempool_changes(const struct chain *c) { return c->mp.changes; }
size_t chain_mempool_bytes(const struct chain *c) { return c->mp.bytes; }
size_t chain_mempool_orphans(const struct chain *c) { return c->mp.orphans.count; }
size_t chain_orphan_blocks(const struct chain *c) { return c->n_orph; }
size_t chain_orphan_block_bytes(const struct chain *c) { return c->orph_bytes; }

size_t chain_mempool_txids(const struct chain *c, uint8_t (*out)[32], size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < c->mp.txs.cap && k < max; i++)
        if (hmap_live(&c->mp.txs, i))
            memcpy(out[k++], c->mp.txs.slots[i].key, 32);
    return k;
}

static size_t visit_map(const struct hmap *m, chain_tx_visit_fn fn, void *ctx)
{
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (hmap_live(m, i)) {
            const struct mp_entry *e = m->slots[i].val;
            fn(ctx, e->tx);
            k++;
        }
    return k;
}

size_t chain_mempool_visit(const struct chain *c, bool waiting, chain_tx_visit_fn fn, void *ctx)
{
    return visit_map(waiting ? &c->mp.orphans : &c->mp.txs, fn, ctx);
}

uint64_t chain_mempool_time(const struct chain *c, const uint8_t txid[32])
{
    const struct mp_entry *e = mempool_find(&c->mp, txid);
    return e ? e->time_ms : 0;
}

void chain_account(const struct chain *c, const uint8_t pk[32], uint64_t *balance, uint64_t *nonce)
{
    const struct ledger_account *a = ledger_get(&c->ledger, pk);
    if (balance)
        *balance = a ? a->balance : 0;
    if (nonce)
        *nonce = a ? a->nonce : 0;
}

uint64_t chain_account_next_nonce(const struct chain *c, const uint8_t pk[32])
{
    uint64_t nonce = 0;
    chain_account(c, pk, NULL, &nonce);
    return nonce + mempool_pending_of(&c->mp, pk);
}

void chain_tick(struct chain *c, uint64_t now_ms)
{
    mempool_expire(&c->mp, now_ms);
    for (size_t i = 0; i < c->n_orph;) {
        if (now_ms >= c->orph[i]->time_ms &&
            now_ms - c->orph[i]->time_ms >= CHAIN_ORPHAN_BLOCK_EXPIRY_MS)
            orphan_remove(c, i, true);
        else
            i++;
    }
}

/* ---- node key ---- */

int chain_store_key_get(struct chain *c, uint8_t sk[64])
{
    size_t len = 0;
    uint8_t buf[STORE_META_MAX_BYTES];
    int err = store_meta_get(c->st, META_NODE_KEY, buf, sizeof buf, &len);
    if (err == CHAIN_ERR_BLK_UNKNOWN)
        return CHAIN_ERR_NOT_FOUND;
    if (err)
        return err;
    if (len != 64)
        return CHAIN_ERR_STORE;
    memcpy(sk, buf, 64);
    memset(buf, 0, sizeof buf);
    return 0;
}

int chain_store_key_put(struct chain *c, const uint8_t sk[64])
{
    /* Synced whatever -dbfsync says: the key is paid by the blocks we
     * mine, and one of them may leave the node right after this. */
    int err = chain_headers_end(c);
    if (!err)
        err = store_meta_put(c->st, META_NODE_KEY, sk, 64);
    return err ? err : store_sync(c->st);
}

uint64_t chain_store_commits(const struct chain *c)
{
    return store_commits(c->st);
}

const struct chain_store_error *chain_store_error(const struct chain *c)
{
    return store_last_error(c->st);
}

int chain_store_probe(struct chain *c)
{
    return store_probe(c->st, CHAIN_STORE_PROBE_BYTES);
}

/* ---- consistency ---- */

int chain_check(struct chain *c)
{
    struct ledger replay, disk;
    uint8_t d1[32], d2[32], d3[32], buf[STORE_META_MAX_BYTES];
    size_t len = 0;
    int err = CHAIN_ERR_INTERNAL;

    ledger_init(&replay, c->salt);
    ledger_init(&disk, c->salt);
    if (c->best_len == 0 || c->best[0] != c->genesis)
        goto out;
    for (size_t h = 0; h < c->best_len; h++) {
        const struct bnode *n = c->best[h];
        if (n->height != h || (h > 0 && n->prev != c->best[h - 1]) || failed(n) ||
            !(n->status & BN_HAVE_DATA) || find(c, n->hash) != n)
            goto out;
    }
    if (store_meta_get(c->st, META_TIP, buf, sizeof buf, &len) != 0 || len != 32 ||
        memcmp(buf, chain__tip(c)->hash, 32) != 0)
        goto out;
    for (size_t h = 0; h < c->best_len; h++) {
        struct chain_block b;
        struct ledger_undo u;
        bool borrowed;
        if (load_block(c, c->best[h], &b, &borrowed) != 0)
            goto out;
        ledger_undo_init(&u);
        int e = ledger_apply_block(&replay, &b, &u, NULL);
        ledger_undo_free(&u);
        chain_block_free(&b);
        if (e)
            goto out;
    }
    if (store_account_load(c->st, load_account_row, &disk) != 0)
        goto out;
    ledger_digest(&replay, d1);
    ledger_digest(&c->ledger, d2);
    ledger_digest(&disk, d3);
    if (memcmp(d1, d2, 32) != 0 || memcmp(d1, d3, 32) != 0)
        goto out;
    if (chain__own_check(c) != 0 || !mempool_check(&c->mp, &c->ledger))
        goto out;
    err = 0;
out:
    ledger_free(&replay);
    ledger_free(&disk);
    return err;
}
