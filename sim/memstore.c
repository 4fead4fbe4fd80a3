/* The simulator's chain store: chain/store.h kept in memory, with every
 * block body and undo record interned once for the whole process.
 *
 * Thousands of chains in one process each kept their own in-memory SQLite
 * database (57 KiB at rest, ~180 KiB with a 100-tx block: its pages, its
 * b-trees and a copy of every body and undo). The bodies and undo records
 * are the same bytes in every node, so here a store row points at one
 * refcounted copy. Linked with -Wl,--wrap=store_* (sim/meson.build), so
 * chain/ calls these instead of chain/store.c; with
 * sim_memstore_use(false) they pass through to SQLite.
 *
 * What a running chain reads back behaves as chain/store.c does: meta
 * values, bodies, undo records and the node's own txs, transactions with
 * rollback, the same error for a transaction begun inside another. What
 * only a reopen from disk reads (the block index rows and the accounts;
 * the simulator never reopens a store: a restarted node keeps its chain)
 * is counted and dropped, and their loads fail with CHAIN_ERR_STORE once
 * rows were dropped, so a chain_check or a reopen on this store fails
 * loudly instead of reading a partial copy. */
#include "sim/memstore.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/err.h"
#include "chain/store.h"

#define WRAP(ret, name, ...)                 \
    ret __real_##name(__VA_ARGS__);          \
    ret __wrap_##name(__VA_ARGS__)

typedef int (*index_fn)(void *ctx, const uint8_t hash[32], uint64_t seq,
                        const struct chain_header *h, uint32_t status);
typedef int (*account_fn)(void *ctx, const uint8_t pk[32], uint64_t balance, uint64_t nonce);
typedef int (*own_fn)(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                      size_t len, uint32_t height);

WRAP(int, store_open, struct store **out, const char *path, bool fsync_commits);
WRAP(void, store_close, struct store *s);
WRAP(int, store_begin, struct store *s);
WRAP(int, store_commit, struct store *s);
WRAP(void, store_rollback, struct store *s);
WRAP(int, store_meta_get, struct store *s, const char *key, uint8_t *val, size_t cap,
     size_t *len);
WRAP(int, store_meta_put, struct store *s, const char *key, const uint8_t *val, size_t len);
WRAP(int, store_index_put, struct store *s, const uint8_t hash[32], uint64_t seq,
     const struct chain_header *h, uint32_t status);
WRAP(int, store_index_status, struct store *s, const uint8_t hash[32], uint32_t status);
WRAP(int, store_index_load, struct store *s, index_fn fn, void *ctx);
WRAP(int, store_body_put, struct store *s, const uint8_t hash[32], const uint8_t *data,
     size_t len);
WRAP(int, store_body_get, struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len);
WRAP(int, store_undo_put, struct store *s, const uint8_t hash[32], const uint8_t *data,
     size_t len);
WRAP(int, store_undo_get, struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len);
WRAP(int, store_undo_del, struct store *s, const uint8_t hash[32]);
WRAP(int, store_account_put, struct store *s, const uint8_t pk[32], uint64_t balance,
     uint64_t nonce);
WRAP(int, store_account_load, struct store *s, account_fn fn, void *ctx);
WRAP(int, store_own_put, struct store *s, const uint8_t txid[32], uint64_t seq,
     const uint8_t *data, size_t len);
WRAP(int, store_own_height, struct store *s, const uint8_t txid[32], uint32_t height);
WRAP(int, store_own_del, struct store *s, const uint8_t txid[32]);
WRAP(int, store_own_prune, struct store *s, uint32_t max_height);
WRAP(int, store_own_load, struct store *s, own_fn fn, void *ctx);
WRAP(const struct chain_store_error *, store_last_error, const struct store *s);
WRAP(int, store_probe, struct store *s, size_t bytes);
WRAP(int, store_sync, struct store *s);
WRAP(uint64_t, store_commits, const struct store *s);

/* First word of a memory store. A SQLite store begins with its sqlite3
 * pointer, and this value is no user-space address, so a store opened in
 * either mode is served by that mode until it is closed. */
#define MEM_MAGIC 0x4d454d53544f5245ull
/* Meta keys are short names ("genesis", "tip", "key"). */
#define MEM_META_KEY_MAX 31u

/* One interned byte string: the same bytes stored by any number of
 * stores share one copy. */
struct blob {
    uint64_t hash;
    size_t len;
    uint32_t refs;
    uint8_t data[];
};

enum tab { T_META, T_BODY, T_UNDO, T_OWN };

struct row {
    uint8_t tab;
    uint8_t key[32];        /* hash, txid, or a NUL-padded meta key */
    uint64_t seq;           /* own tx: seq */
    uint32_t height;        /* own tx: height */
    struct blob *val;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

struct memstore {
    uint64_t magic;
    struct rows live;
    struct rows saved;      /* the rows at store_begin (refs held) */
    bool in_txn;
    uint64_t dropped;       /* index and account rows not kept */
    struct chain_store_error err;
};

static bool use_mem = true;

/* The process-wide intern table: open addressing on the bytes' hash. */
static struct blob **itab;
static size_t icap, icount;
static struct sim_memstore_stats stats;

void sim_memstore_use(bool on) { use_mem = on; }

const struct sim_memstore_stats *sim_memstore_stats(void)
{
    stats.blobs = icount;
    return &stats;
}

static struct memstore *mem_of(const struct store *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return w == MEM_MAGIC ? (struct memstore *)(uintptr_t)s : NULL;
}

/* FNV-1a, 8 bytes a step: the keys are block bodies and undo records
 * the chains wrote themselves, and a collision only costs a memcmp. */
static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int itab_grow(void)
{
    size_t ncap = icap ? icap * 2 : 256;
    struct blob **nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < icap; i++) {
        if (!itab[i])
            continue;
        size_t j = itab[i]->hash & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = itab[i];
    }
    free(itab);
    itab = nt;
    icap = ncap;
    return 0;
}

static struct blob *blob_get(const uint8_t *data, size_t len)
{
    uint64_t h = bytes_hash(data, len);
    if ((icount + 1) * 2 > icap && itab_grow() != 0)
        return NULL;
    size_t i = h & (icap - 1);
    for (; itab[i]; i = (i + 1) & (icap - 1)) {
        struct blob *b = itab[i];
        if (b->hash == h && b->len == len && memcmp(b->data, data, len) == 0) {
            b->refs++;
            stats.shared_bytes += len;
            return b;
        }
    }
    struct blob *b = malloc(sizeof *b + len);
    if (!b)
        return NULL;
    b->hash = h;
    b->len = len;
    b->refs = 1;
    if (len)
        memcpy(b->data, data, len);
    itab[i] = b;
    icount++;
    stats.stored_bytes += len;
    return b;
}

static void blob_put(struct blob *b)
{
    if (!b || --b->refs > 0)
        return;
    /* Remove from the table and close the gap of the linear probe. */
    size_t i = b->hash & (icap - 1);
    while (itab[i] != b)
        i = (i + 1) & (icap - 1);
    itab[i] = NULL;
    for (size_t j = (i + 1) & (icap - 1); itab[j]; j = (j + 1) & (icap - 1)) {
        struct blob *m = itab[j];
        itab[j] = NULL;
        size_t k = m->hash & (icap - 1);
        while (itab[k])
            k = (k + 1) & (icap - 1);
        itab[k] = m;
    }
    icount--;
    stats.stored_bytes -= b->len;
    free(b);
    if (icount == 0) {
        free(itab);
        itab = NULL;
        icap = 0;
    }
}

static void rows_clear(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        blob_put(r->v[i].val);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int rows_copy(struct rows *dst, const struct rows *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->n == 0)
        return 0;
    dst->v = malloc(src->n * sizeof *dst->v);
    if (!dst->v)
        return CHAIN_ERR_NOMEM;
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = dst->cap = src->n;
    for (size_t i = 0; i < dst->n; i++)
        dst->v[i].val->refs++;
    return 0;
}

static struct row *row_find(struct memstore *m, enum tab t, const uint8_t key[32])
{
    for (size_t i = 0; i < m->live.n; i++)
        if (m->live.v[i].tab == t && memcmp(m->live.v[i].key, key, 32) == 0)
            return &m->live.v[i];
    return NULL;
}

static void row_del(struct memstore *m, struct row *r)
{
    blob_put(r->val);
    *r = m->live.v[--m->live.n];
}

/* INSERT OR REPLACE (or, with replace false, INSERT OR IGNORE). */
static int row_put(struct memstore *m, enum tab t, const uint8_t key[32], const uint8_t *data,
                   size_t len, bool replace, struct row **out)
{
    struct row *r = row_find(m, t, key);
    if (r && !replace) {
        *out = NULL;
        return 0;
    }
    struct blob *b = blob_get(data, len);
    if (!b)
        return CHAIN_ERR_NOMEM;
    if (!r) {
        if (m->live.n == m->live.cap) {
            size_t ncap = m->live.cap ? m->live.cap * 2 : 8;
            struct row *nv = realloc(m->live.v, ncap * sizeof *nv);
            if (!nv) {
                blob_put(b);
                return CHAIN_ERR_NOMEM;
            }
            m->live.v = nv;
            m->live.cap = ncap;
        }
        r = &m->live.v[m->live.n++];
        memset(r, 0, sizeof *r);
        r->tab = (uint8_t)t;
        memcpy(r->key, key, 32);
    } else {
        blob_put(r->val);
    }
    r->val = b;
    *out = r;
    return 0;
}

static int row_get(struct memstore *m, enum tab t, const uint8_t key[32], uint8_t **data,
                   size_t *len)
{
    struct row *r = row_find(m, t, key);
    if (!r)
        return CHAIN_ERR_BLK_UNKNOWN;
    *data = malloc(r->val->len ? r->val->len : 1);
    if (!*data)
        return CHAIN_ERR_NOMEM;
    memcpy(*data, r->val->data, r->val->len);
    *len = r->val->len;
    stats.reads++;
    return 0;
}

static bool meta_key(const char *key, uint8_t k[32])
{
    size_t n = strlen(key);
    if (n > MEM_META_KEY_MAX)
        return false;
    memset(k, 0, 32);
    memcpy(k, key, n);
    return true;
}

/* What SQLite says to a statement it cannot run here. */
static int mem_error(struct memstore *m, const char *msg)
{
    m->err.count++;
    m->err.code = 1;    /* SQLITE_ERROR */
    m->err.sys_errno = 0;
    strncpy(m->err.msg, msg, sizeof m->err.msg - 1);
    m->err.msg[sizeof m->err.msg - 1] = '\0';
    return CHAIN_ERR_STORE;
}

int __wrap_store_open(struct store **out, const char *path, bool fsync_commits)
{
    if (!use_mem || path)
        return __real_store_open(out, path, fsync_commits);
    struct memstore *m = calloc(1, sizeof *m);
    if (!m)
        return CHAIN_ERR_NOMEM;
    m->magic = MEM_MAGIC;
    stats.stores++;
    *out = (struct store *)(void *)m;
    return 0;
}

void __wrap_store_close(struct store *s)
{
    struct memstore *m = s ? mem_of(s) : NULL;
    if (!m) {
        __real_store_close(s);
        return;
    }
    rows_clear(&m->live);
    rows_clear(&m->saved);
    stats.stores--;
    free(m);
}

int __wrap_store_begin(struct store *s)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_begin(s);
    if (m->in_txn)
        return mem_error(m, "cannot start a transaction within a transaction");
    int err = rows_copy(&m->saved, &m->live);
    if (err)
        return err;
    m->in_txn = true;
    return 0;
}

int __wrap_store_commit(struct store *s)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_commit(s);
    if (!m->in_txn)
        return mem_error(m, "cannot commit - no transaction is active");
    rows_clear(&m->saved);
    m->in_txn = false;
    return 0;
}

void __wrap_store_rollback(struct store *s)
{
    struct memstore *m = mem_of(s);
    if (!m) {
        __real_store_rollback(s);
        return;
    }
    if (!m->in_txn)
        return;
    rows_clear(&m->live);
    m->live = m->saved;
    memset(&m->saved, 0, sizeof m->saved);
    m->in_txn = false;
}

int __wrap_store_meta_get(struct store *s, const char *key, uint8_t *val, size_t cap,
                          size_t *len)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_meta_get(s, key, val, cap, len);
    uint8_t k[32];
    struct row *r = meta_key(key, k) ? row_find(m, T_META, k) : NULL;
    if (!r)
        return CHAIN_ERR_BLK_UNKNOWN;
    if (r->val->len > cap)
        return CHAIN_ERR_STORE;
    memcpy(val, r->val->data, r->val->len);
    *len = r->val->len;
    return 0;
}

int __wrap_store_meta_put(struct store *s, const char *key, const uint8_t *val, size_t len)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_meta_put(s, key, val, len);
    uint8_t k[32];
    struct row *r;
    if (!meta_key(key, k))
        return mem_error(m, "meta key too long for the simulator's store");
    return row_put(m, T_META, k, val, len, true, &r);
}

int __wrap_store_index_put(struct store *s, const uint8_t hash[32], uint64_t seq,
                           const struct chain_header *h, uint32_t status)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_index_put(s, hash, seq, h, status);
    m->dropped++;
    return 0;
}

int __wrap_store_index_status(struct store *s, const uint8_t hash[32], uint32_t status)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_index_status(s, hash, status);
    m->dropped++;
    return 0;
}

int __wrap_store_index_load(struct store *s, index_fn fn, void *ctx)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_index_load(s, fn, ctx);
    return m->dropped ? mem_error(m, "the simulator's store keeps no block index") : 0;
}

int __wrap_store_body_put(struct store *s, const uint8_t hash[32], const uint8_t *data,
                          size_t len)
{
    struct memstore *m = mem_of(s);
    struct row *r;
    if (!m)
        return __real_store_body_put(s, hash, data, len);
    return row_put(m, T_BODY, hash, data, len, true, &r);
}

int __wrap_store_body_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_body_get(s, hash, data, len);
    return row_get(m, T_BODY, hash, data, len);
}

int __wrap_store_undo_put(struct store *s, const uint8_t hash[32], const uint8_t *data,
                          size_t len)
{
    struct memstore *m = mem_of(s);
    struct row *r;
    if (!m)
        return __real_store_undo_put(s, hash, data, len);
    return row_put(m, T_UNDO, hash, data, len, true, &r);
}

int __wrap_store_undo_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_undo_get(s, hash, data, len);
    return row_get(m, T_UNDO, hash, data, len);
}

int __wrap_store_undo_del(struct store *s, const uint8_t hash[32])
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_undo_del(s, hash);
    struct row *r = row_find(m, T_UNDO, hash);
    if (r)
        row_del(m, r);
    return 0;
}

int __wrap_store_account_put(struct store *s, const uint8_t pk[32], uint64_t balance,
                             uint64_t nonce)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_account_put(s, pk, balance, nonce);
    m->dropped++;
    return 0;
}

int __wrap_store_account_load(struct store *s, account_fn fn, void *ctx)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_account_load(s, fn, ctx);
    return m->dropped ? mem_error(m, "the simulator's store keeps no accounts") : 0;
}

int __wrap_store_own_put(struct store *s, const uint8_t txid[32], uint64_t seq,
                         const uint8_t *data, size_t len)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_own_put(s, txid, seq, data, len);
    struct row *r;
    int err = row_put(m, T_OWN, txid, data, len, false, &r);
    if (!err && r) {
        r->seq = seq;
        r->height = 0;
    }
    return err;
}

int __wrap_store_own_height(struct store *s, const uint8_t txid[32], uint32_t height)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_own_height(s, txid, height);
    struct row *r = row_find(m, T_OWN, txid);
    if (r)
        r->height = height;
    return 0;
}

int __wrap_store_own_del(struct store *s, const uint8_t txid[32])
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_own_del(s, txid);
    struct row *r = row_find(m, T_OWN, txid);
    if (r)
        row_del(m, r);
    return 0;
}

int __wrap_store_own_prune(struct store *s, uint32_t max_height)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_own_prune(s, max_height);
    for (size_t i = m->live.n; i-- > 0;) {
        struct row *r = &m->live.v[i];
        if (r->tab == T_OWN && r->height > 0 && r->height <= max_height)
            row_del(m, r);
    }
    return 0;
}

int __wrap_store_own_load(struct store *s, own_fn fn, void *ctx)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_own_load(s, fn, ctx);
    /* In seq order, as ORDER BY seq: the next larger seq each pass (a
     * node's own txs are few). */
    uint64_t last = 0;
    bool first = true;
    for (;;) {
        struct row *next = NULL;
        for (size_t i = 0; i < m->live.n; i++) {
            struct row *r = &m->live.v[i];
            if (r->tab == T_OWN && (first || r->seq > last) && (!next || r->seq < next->seq))
                next = r;
        }
        if (!next)
            return 0;
        int err = fn(ctx, next->key, next->seq, next->val->data, next->val->len, next->height);
        if (err)
            return err;
        last = next->seq;
        first = false;
    }
}

const struct chain_store_error *__wrap_store_last_error(const struct store *s)
{
    struct memstore *m = mem_of(s);
    return m ? &m->err : __real_store_last_error(s);
}

uint64_t __wrap_store_commits(const struct store *s)
{
    /* Memory commits cost nothing: not counted. */
    return mem_of(s) ? 0 : __real_store_commits(s);
}

int __wrap_store_sync(struct store *s)
{
    /* Memory has nothing to sync. */
    return mem_of(s) ? 0 : __real_store_sync(s);
}

int __wrap_store_probe(struct store *s, size_t bytes)
{
    struct memstore *m = mem_of(s);
    if (!m)
        return __real_store_probe(s, bytes);
    return bytes > (size_t)INT32_MAX ? CHAIN_ERR_TOO_LARGE : 0;
}
