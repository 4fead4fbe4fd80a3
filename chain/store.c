#include "chain/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/codec.h"
#include "chain/err.h"

/* How long a writer waits for a lock held by another connection (a second
 * process on the same datadir fails fast rather than hanging). */
#define STORE_BUSY_TIMEOUT_MS 2000

/* Account puts inside a transaction are queued and written in multi-row
 * INSERT OR REPLACE statements of 2, 4, ... STORE_ACC_BATCH_MAX_ROWS rows
 * (one prepared statement per size): most of a single-row statement's cost
 * is the statement itself (step, halt, reset), not the row. A full queue
 * is one statement of MAX rows; at commit (or before a delete, or an
 * account load) the rest takes one statement per power of two in it. The
 * rows and their rowids come out as with one statement a row, in the same
 * transaction; only a failed write is reported by the call that flushes
 * (a later put, or the commit), and the caller rolls back either way. */
#define STORE_ACC_BATCH_LEVELS 6
#define STORE_ACC_BATCH_MAX_ROWS (1u << STORE_ACC_BATCH_LEVELS)
/* Three parameters a row; SQLite's smallest default limit is 999. */
_Static_assert(3 * STORE_ACC_BATCH_MAX_ROWS <= 999, "account batch over SQLite's parameter limit");

enum {
    Q_META_GET, Q_META_PUT,
    Q_IDX_PUT, Q_IDX_STATUS, Q_IDX_LOAD,
    Q_BODY_PUT, Q_BODY_GET,
    Q_UNDO_PUT, Q_UNDO_GET, Q_UNDO_DEL,
    Q_ACC_PUT, Q_ACC_DEL, Q_ACC_LOAD,
    Q_OWN_PUT, Q_OWN_HEIGHT, Q_OWN_DEL, Q_OWN_PRUNE, Q_OWN_LOAD,
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
    Q_COUNT
};

static const char *const store_sql[Q_COUNT] = {
    [Q_META_GET]   = "SELECT val FROM meta WHERE key = ?1",
    [Q_META_PUT]   = "INSERT OR REPLACE INTO meta(key, val) VALUES (?1, ?2)",
    [Q_IDX_PUT]    = "INSERT OR REPLACE INTO block_index(hash, seq, header, status) VALUES (?1, ?2, ?3, ?4)",
    [Q_IDX_STATUS] = "UPDATE block_index SET status = ?2 WHERE hash = ?1",
    [Q_IDX_LOAD]   = "SELECT hash, seq, header, status FROM block_index ORDER BY seq",
    [Q_BODY_PUT]   = "INSERT OR REPLACE INTO block_body(hash, data) VALUES (?1, ?2)",
    [Q_BODY_GET]   = "SELECT data FROM block_body WHERE hash = ?1",
    [Q_UNDO_PUT]   = "INSERT OR REPLACE INTO block_undo(hash, data) VALUES (?1, ?2)",
    [Q_UNDO_GET]   = "SELECT data FROM block_undo WHERE hash = ?1",
    [Q_UNDO_DEL]   = "DELETE FROM block_undo WHERE hash = ?1",
    [Q_ACC_PUT]    = "INSERT OR REPLACE INTO account(pk, balance, nonce) VALUES (?1, ?2, ?3)",
    [Q_ACC_DEL]    = "DELETE FROM account WHERE pk = ?1",
    [Q_ACC_LOAD]   = "SELECT pk, balance, nonce FROM account",
    [Q_OWN_PUT]    = "INSERT OR IGNORE INTO own_tx(txid, seq, data, height) VALUES (?1, ?2, ?3, 0)",
    [Q_OWN_HEIGHT] = "UPDATE own_tx SET height = ?2 WHERE txid = ?1",
    [Q_OWN_DEL]    = "DELETE FROM own_tx WHERE txid = ?1",
    [Q_OWN_PRUNE]  = "DELETE FROM own_tx WHERE height > 0 AND height <= ?1",
    [Q_OWN_LOAD]   = "SELECT txid, seq, data, height FROM own_tx ORDER BY seq",
    [Q_BEGIN]      = "BEGIN IMMEDIATE",
    [Q_COMMIT]     = "COMMIT",
    [Q_ROLLBACK]   = "ROLLBACK",
};

struct store_acc_row {
    uint8_t pk[32];
    uint64_t balance;
    uint64_t nonce;
};

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, val BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS block_index(hash BLOB PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,"
    "  header BLOB NOT NULL, status INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS block_body(hash BLOB PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS block_undo(hash BLOB PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS account(pk BLOB PRIMARY KEY, balance INTEGER NOT NULL,"
    "  nonce INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS own_tx(txid BLOB PRIMARY KEY, seq INTEGER NOT NULL,"
    "  data BLOB NOT NULL, height INTEGER NOT NULL);";

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    /* acc_batch[k - 1]: INSERT OR REPLACE of 2^k account rows. */
    sqlite3_stmt *acc_batch[STORE_ACC_BATCH_LEVELS];
    /* Account puts of the open transaction not yet given to SQLite. */
    struct store_acc_row acc_q[STORE_ACC_BATCH_MAX_ROWS];
    size_t acc_n;
    struct chain_store_error err;
    bool fsync_commits;
    uint64_t commits;   /* since open (store_commits) */
};

/* SQLite's commit hook: every commit of the connection, transactions and
 * single statements alike. 0 lets the commit go on. */
static int count_commit(void *ctx)
{
    ((struct store *)ctx)->commits++;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    for (int i = 0; i < STORE_ACC_BATCH_LEVELS; i++)
        sqlite3_finalize(s->acc_batch[i]);
    sqlite3_close(s->db);
    free(s);
}

/* The multi-row account statements: the same statement as Q_ACC_PUT with
 * 2^k rows of VALUES. */
static int prepare_acc_batch(struct store *s)
{
    static const char head[] = "INSERT OR REPLACE INTO account(pk, balance, nonce) VALUES ";
    static const char row[] = "(?,?,?),";
    char sql[sizeof head + STORE_ACC_BATCH_MAX_ROWS * (sizeof row - 1)];
    for (int k = 1; k <= STORE_ACC_BATCH_LEVELS; k++) {
        size_t len = sizeof head - 1;
        memcpy(sql, head, len);
        for (size_t r = 0; r < (size_t)1 << k; r++) {
            memcpy(sql + len, row, sizeof row - 1);
            len += sizeof row - 1;
        }
        sql[len - 1] = '\0';   /* the last row's comma */
        if (sqlite3_prepare_v2(s->db, sql, (int)len - 1, &s->acc_batch[k - 1], NULL) != SQLITE_OK)
            return CHAIN_ERR_STORE;
    }
    return 0;
}

int store_open(struct store **out, const char *path, bool fsync_commits)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return CHAIN_ERR_NOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* WAL: a commit is one append to the log, and a crash at any moment
     * leaves either the old or the new state. synchronous=FULL also makes
     * each commit durable across power loss, not only process death;
     * NORMAL (fsync_commits false) syncs the WAL only at checkpoints: the
     * fdatasync of a block commit, ~7 ms here, leaves the relay path. */
    s->fsync_commits = fsync_commits;
    if (path && sqlite3_exec(s->db, fsync_commits
                                 ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                             NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_exec(s->db, store_schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < Q_COUNT; i++)
        if (sqlite3_prepare_v2(s->db, store_sql[i], -1, &s->q[i], NULL) != SQLITE_OK)
            goto fail;
    if (prepare_acc_batch(s) != 0)
        goto fail;
    sqlite3_commit_hook(s->db, count_commit, s);
    *out = s;
    return 0;
fail:
    store_close(s);
    return CHAIN_ERR_STORE;
}

/* Run a statement that returns no rows. */
/* Remember why a statement failed (before any other call on the
 * connection replaces the error): the SQLite code and message and the
 * errno of the OS call behind it (ENOSPC, EIO, ...). */
static int note_error(struct store *s, int rc)
{
    s->err.count++;
    s->err.code = sqlite3_extended_errcode(s->db);
    if (s->err.code == SQLITE_OK)
        s->err.code = rc;
    s->err.sys_errno = sqlite3_system_errno(s->db);
    /* SQLite turns a write's ENOSPC into SQLITE_FULL and keeps no errno. */
    if ((s->err.code & 0xff) == SQLITE_FULL && s->err.sys_errno == 0)
        s->err.sys_errno = ENOSPC;
    snprintf(s->err.msg, sizeof s->err.msg, "%s", sqlite3_errmsg(s->db));
    return CHAIN_ERR_STORE;
}

/* Run a statement that returns no rows. */
static int run(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        note_error(s, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : CHAIN_ERR_STORE;
}

static int flush_accounts(struct store *s);

int store_begin(struct store *s)
{
    s->acc_n = 0;   /* nothing can be queued outside a transaction */
    return run(s, s->q[Q_BEGIN]);
}

int store_commit(struct store *s)
{
    int err = flush_accounts(s);
    return err ? err : run(s, s->q[Q_COMMIT]);
}

void store_rollback(struct store *s)
{
    s->acc_n = 0;
    if (!sqlite3_get_autocommit(s->db))
        run(s, s->q[Q_ROLLBACK]);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    return sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : CHAIN_ERR_STORE;
}

/* Fetch one blob column from a keyed select into a heap copy. */
static int get_blob(struct store *s, sqlite3_stmt *st, const uint8_t key[32], uint8_t **data,
                    size_t *len)
{
    int err = bind_blob(st, 1, key, 32);
    if (err)
        goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = CHAIN_ERR_BLK_UNKNOWN;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        err = note_error(s, rc);
        goto out;
    }
    const void *p = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    *data = malloc(n > 0 ? (size_t)n : 1);
    if (!*data) {
        err = CHAIN_ERR_NOMEM;
        goto out;
    }
    if (n > 0)
        memcpy(*data, p, (size_t)n);
    *len = (size_t)n;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

static int put_blob(struct store *s, sqlite3_stmt *st, const uint8_t key[32],
                    const uint8_t *data, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return CHAIN_ERR_TOO_LARGE;
    if (bind_blob(st, 1, key, 32) || bind_blob(st, 2, data, len)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    return run(s, st);
}

int store_meta_get(struct store *s, const char *key, uint8_t *val, size_t cap, size_t *len)
{
    sqlite3_stmt *st = s->q[Q_META_GET];
    int err = 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if (n < 0 || (size_t)n > cap) {
            err = CHAIN_ERR_STORE;
        } else {
            if (n > 0)
                memcpy(val, sqlite3_column_blob(st, 0), (size_t)n);
            *len = (size_t)n;
        }
    } else {
        err = rc == SQLITE_DONE ? CHAIN_ERR_BLK_UNKNOWN : CHAIN_ERR_STORE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int store_meta_put(struct store *s, const char *key, const uint8_t *val, size_t len)
{
    sqlite3_stmt *st = s->q[Q_META_PUT];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (bind_blob(st, 2, val, len)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    return run(s, st);
}

int store_index_put(struct store *s, const uint8_t hash[32], uint64_t seq,
                    const struct chain_header *h, uint32_t status)
{
    sqlite3_stmt *st = s->q[Q_IDX_PUT];
    uint8_t hdr[HEADER_SIZE];
    chain_header_serialize(h, hdr);
    if (bind_blob(st, 1, hash, 32) || bind_blob(st, 3, hdr, sizeof hdr)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 4, status);
    return run(s, st);
}

int store_index_status(struct store *s, const uint8_t hash[32], uint32_t status)
{
    sqlite3_stmt *st = s->q[Q_IDX_STATUS];
    if (bind_blob(st, 1, hash, 32)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    sqlite3_bind_int64(st, 2, status);
    return run(s, st);
}

int store_index_load(struct store *s,
                     int (*fn)(void *ctx, const uint8_t hash[32], uint64_t seq,
                               const struct chain_header *h, uint32_t status),
                     void *ctx)
{
    sqlite3_stmt *st = s->q[Q_IDX_LOAD];
    int rc = SQLITE_DONE, err = 0;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct chain_header h;
        struct rd r;
        if (sqlite3_column_bytes(st, 0) != 32 || sqlite3_column_bytes(st, 2) != HEADER_SIZE) {
            err = CHAIN_ERR_STORE;
            break;
        }
        rd_init(&r, sqlite3_column_blob(st, 2), HEADER_SIZE);
        if (chain_header_decode(&r, &h) != 0) {
            err = CHAIN_ERR_STORE;
            break;
        }
        err = fn(ctx, sqlite3_column_blob(st, 0), (uint64_t)sqlite3_column_int64(st, 1), &h,
                 (uint32_t)sqlite3_column_int64(st, 3));
    }
    if (!err && rc != SQLITE_DONE)
        err = CHAIN_ERR_STORE;
    sqlite3_reset(st);
    return err;
}

int store_body_put(struct store *s, const uint8_t hash[32], const uint8_t *data, size_t len)
{
    return put_blob(s, s->q[Q_BODY_PUT], hash, data, len);
}

int store_body_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len)
{
    return get_blob(s, s->q[Q_BODY_GET], hash, data, len);
}

int store_undo_put(struct store *s, const uint8_t hash[32], const uint8_t *data, size_t len)
{
    return put_blob(s, s->q[Q_UNDO_PUT], hash, data, len);
}

int store_undo_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len)
{
    return get_blob(s, s->q[Q_UNDO_GET], hash, data, len);
}

int store_undo_del(struct store *s, const uint8_t hash[32])
{
    sqlite3_stmt *st = s->q[Q_UNDO_DEL];
    if (bind_blob(st, 1, hash, 32)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    return run(s, st);
}

/* One row as the single-row statements write it (a delete for 0/0). */
static int account_row_now(struct store *s, const uint8_t pk[32], uint64_t balance,
                           uint64_t nonce)
{
    sqlite3_stmt *st = s->q[balance == 0 && nonce == 0 ? Q_ACC_DEL : Q_ACC_PUT];
    if (bind_blob(st, 1, pk, 32)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    if (balance != 0 || nonce != 0) {
        sqlite3_bind_int64(st, 2, (sqlite3_int64)balance);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)nonce);
    }
    return run(s, st);
}

/* Write the queued account puts, in order, with as few statements as the
 * batch sizes allow. The queue is empty afterwards, whatever happened:
 * on failure the caller's transaction is rolled back. */
static int flush_accounts(struct store *s)
{
    const struct store_acc_row *rows = s->acc_q;
    size_t n = s->acc_n;
    int err = 0;
    s->acc_n = 0;
    while (n > 0 && !err) {
        int k = STORE_ACC_BATCH_LEVELS;
        while (k > 0 && ((size_t)1 << k) > n)
            k--;
        size_t m = (size_t)1 << k;
        if (m == 1) {
            err = account_row_now(s, rows[0].pk, rows[0].balance, rows[0].nonce);
        } else {
            /* The queue outlives the step: keys bound without a copy. */
            sqlite3_stmt *st = s->acc_batch[k - 1];
            for (size_t i = 0; i < m && !err; i++) {
                int p = 3 * (int)i;
                if (sqlite3_bind_blob(st, p + 1, rows[i].pk, 32, SQLITE_STATIC) != SQLITE_OK ||
                    sqlite3_bind_int64(st, p + 2, (sqlite3_int64)rows[i].balance) != SQLITE_OK ||
                    sqlite3_bind_int64(st, p + 3, (sqlite3_int64)rows[i].nonce) != SQLITE_OK)
                    err = CHAIN_ERR_STORE;
            }
            if (err) {
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
            } else {
                err = run(s, st);
            }
        }
        rows += m;
        n -= m;
    }
    return err;
}

int store_account_put(struct store *s, const uint8_t pk[32], uint64_t balance, uint64_t nonce)
{
    /* Outside a transaction each write is its own commit, as the caller
     * expects; a delete goes at once after the puts queued before it. */
    if (sqlite3_get_autocommit(s->db) || (balance == 0 && nonce == 0)) {
        int err = flush_accounts(s);
        return err ? err : account_row_now(s, pk, balance, nonce);
    }
    struct store_acc_row *r = &s->acc_q[s->acc_n++];
    memcpy(r->pk, pk, 32);
    r->balance = balance;
    r->nonce = nonce;
    return s->acc_n == STORE_ACC_BATCH_MAX_ROWS ? flush_accounts(s) : 0;
}

int store_account_load(struct store *s,
                       int (*fn)(void *ctx, const uint8_t pk[32], uint64_t balance,
                                 uint64_t nonce),
                       void *ctx)
{
    sqlite3_stmt *st = s->q[Q_ACC_LOAD];
    int rc = SQLITE_DONE, err = flush_accounts(s);   /* read what was put */
    if (err)
        return err;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 32) {
            err = CHAIN_ERR_STORE;
            break;
        }
        err = fn(ctx, sqlite3_column_blob(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                 (uint64_t)sqlite3_column_int64(st, 2));
    }
    if (!err && rc != SQLITE_DONE)
        err = CHAIN_ERR_STORE;
    sqlite3_reset(st);
    return err;
}

/* ---- the node's own txs ---- */

int store_own_put(struct store *s, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                  size_t len)
{
    sqlite3_stmt *st = s->q[Q_OWN_PUT];
    if (bind_blob(st, 1, txid, 32) || bind_blob(st, 3, data, len)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    /* An own tx's nonce must survive a power loss whatever the block
     * commits do (it is never signed twice): this write is synced. */
    if (!s->fsync_commits && sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    int err = run(s, st);
    if (!s->fsync_commits && sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL)
        && !err)
        err = CHAIN_ERR_STORE;
    return err;
}

int store_own_height(struct store *s, const uint8_t txid[32], uint32_t height)
{
    sqlite3_stmt *st = s->q[Q_OWN_HEIGHT];
    if (bind_blob(st, 1, txid, 32)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    sqlite3_bind_int64(st, 2, height);
    return run(s, st);
}

int store_own_del(struct store *s, const uint8_t txid[32])
{
    sqlite3_stmt *st = s->q[Q_OWN_DEL];
    if (bind_blob(st, 1, txid, 32)) {
        sqlite3_reset(st);
        return CHAIN_ERR_STORE;
    }
    return run(s, st);
}

int store_own_prune(struct store *s, uint32_t max_height)
{
    sqlite3_stmt *st = s->q[Q_OWN_PRUNE];
    sqlite3_bind_int64(st, 1, max_height);
    return run(s, st);
}

int store_own_load(struct store *s,
                   int (*fn)(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                             size_t len, uint32_t height),
                   void *ctx)
{
    sqlite3_stmt *st = s->q[Q_OWN_LOAD];
    int rc = SQLITE_DONE, err = 0;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 2);
        if (sqlite3_column_bytes(st, 0) != 32 || n < 0) {
            err = CHAIN_ERR_STORE;
            break;
        }
        err = fn(ctx, sqlite3_column_blob(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                 sqlite3_column_blob(st, 2), (size_t)n, (uint32_t)sqlite3_column_int64(st, 3));
    }
    if (!err && rc != SQLITE_DONE)
        err = CHAIN_ERR_STORE;
    sqlite3_reset(st);
    return err;
}

/* ---- errors and the free-space probe ---- */

const struct chain_store_error *store_last_error(const struct store *s)
{
    return &s->err;
}

int store_probe(struct store *s, size_t bytes)
{
    static const char put[] = "INSERT OR REPLACE INTO meta(key, val) VALUES ('probe', zeroblob(?1))";
    static const char del[] = "DELETE FROM meta WHERE key = 'probe'";
    sqlite3_stmt *st = NULL;
    if (bytes > (size_t)INT32_MAX)
        return CHAIN_ERR_TOO_LARGE;
    if (sqlite3_prepare_v2(s->db, put, -1, &st, NULL) != SQLITE_OK)
        return note_error(s, SQLITE_ERROR);
    sqlite3_bind_int(st, 1, (int)bytes);
    int err = run(s, st);
    sqlite3_finalize(st);
    if (err)
        return err;
    if (sqlite3_prepare_v2(s->db, del, -1, &st, NULL) != SQLITE_OK)
        return note_error(s, SQLITE_ERROR);
    err = run(s, st);
    sqlite3_finalize(st);
    return err;
}

uint64_t store_commits(const struct store *s)
{
    return s->commits;
}

int store_sync(struct store *s)
{
    int wal = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_FULL, &wal, &copied);
    if (rc != SQLITE_OK)
        return note_error(s, rc);
    /* Another connection reading an old snapshot would hold frames back:
     * the store's own connection is the only one, so this is a bug. */
    if (wal != copied) {
        note_error(s, SQLITE_BUSY);
        snprintf(s->err.msg, sizeof s->err.msg, "checkpoint copied %d of %d WAL frames", copied,
                 wal);
        return CHAIN_ERR_STORE;
    }
    return 0;
}

/* ---- integrity and salvage (node startup: -checkblocks, -reindex) ----
 * These open the file on their own read-only connection, so they work on a
 * database the normal open refuses, and never write to it. */

/* Rows of "PRAGMA quick_check" quoted in the message at most. */
#define STORE_CHECK_ROWS_MAX 3

int store_verify_file(const char *path, char *msg, size_t msg_len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int err = CHAIN_ERR_STORE;
    size_t used = 0;
    if (msg_len)
        msg[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, msg_len, "%s", db ? sqlite3_errmsg(db) : "cannot open");
        goto out;
    }
    int rc, rows = 0;
    bool ok = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (rows == 0 && t && strcmp(t, "ok") == 0)
            ok = true;
        if (rows < STORE_CHECK_ROWS_MAX && !ok && t && used < msg_len) {
            int n = snprintf(msg + used, msg_len - used, "%s%s", rows ? "; " : "", t);
            used += n > 0 ? (size_t)n : 0;
        }
        rows++;
    }
    if (rc != SQLITE_DONE) {
        if (used < msg_len)
            snprintf(msg + used, msg_len - used, "%s%s", used ? "; " : "", sqlite3_errmsg(db));
        goto out;
    }
    err = ok ? 0 : CHAIN_ERR_STORE;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

int store_salvage_bodies(const char *path,
                         int (*fn)(void *ctx, int64_t row, const uint8_t hash[32],
                                   const uint8_t *data, size_t len),
                         void *ctx, size_t *unreadable)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int err = CHAIN_ERR_STORE;
    *unreadable = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT rowid, hash, data FROM block_body", -1, &st, NULL) != SQLITE_OK)
        goto out;
    int rc;
    err = 0;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != 32) {
            (*unreadable)++;
            continue;
        }
        err = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
                 sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
    }
    /* A corrupt page ends the scan: what was read is kept, the rest counts
     * as unreadable (at least one row). */
    if (!err && rc != SQLITE_DONE)
        (*unreadable)++;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

int store_salvage_meta(const char *path, const char *key, uint8_t *val, size_t cap,
                       size_t *len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int err = CHAIN_ERR_STORE;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT val FROM meta WHERE key = ?1", -1, &st, NULL) !=
            SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if (n >= 0 && (size_t)n <= cap) {
            if (n > 0)
                memcpy(val, sqlite3_column_blob(st, 0), (size_t)n);
            *len = (size_t)n;
            err = 0;
        }
    } else {
        err = CHAIN_ERR_BLK_UNKNOWN;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

struct store_reader {
    sqlite3 *db;
    sqlite3_stmt *body;
};

int store_reader_open(struct store_reader **out, const char *path)
{
    struct store_reader *r = calloc(1, sizeof *r);
    if (!r)
        return CHAIN_ERR_NOMEM;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "SELECT data FROM block_body WHERE rowid = ?1", -1, &r->body,
                           NULL) != SQLITE_OK) {
        store_reader_close(r);
        return CHAIN_ERR_STORE;
    }
    *out = r;
    return 0;
}

int store_reader_body(struct store_reader *r, int64_t row, uint8_t **data, size_t *len)
{
    sqlite3_stmt *st = r->body;
    int err = CHAIN_ERR_STORE;
    sqlite3_bind_int64(st, 1, row);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if ((*data = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
            err = CHAIN_ERR_NOMEM;
        } else {
            if (n > 0)
                memcpy(*data, sqlite3_column_blob(st, 0), (size_t)n);
            *len = (size_t)n;
            err = 0;
        }
    } else if (rc == SQLITE_DONE) {
        err = CHAIN_ERR_BLK_UNKNOWN;
    }
    sqlite3_reset(st);
    return err;
}

void store_reader_close(struct store_reader *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->body);
    sqlite3_close(r->db);
    free(r);
}
