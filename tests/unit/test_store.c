/* SQLite store: persistence across reopen, the node key, and crash
 * consistency under kill -9 at random moments. */
#define _GNU_SOURCE 1
#include "tests/unit/chain_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "chain/chainstate.h"
#include "chain/store.h"

static const struct chain_params *P = &chain_params_regtest;

/* Mine one block on the tip from the mempool, paying `to`. */
static void mine_tip(struct chain *c, const uint8_t to[32], uint64_t now, struct chain_result *r)
{
    struct chain_block b;
    assert_int_equal(chain_block_template(c, to, now, &b), 0);
    assert_true(chain_mine(&b.hdr, 0, 1000000));
    assert_int_equal(chain_accept_block(c, &b, now, r), 0);
    chain_block_free(&b);
}

#define N_KEYS 16

static void test_1000_blocks_persist(void **state)
{
    (void)state;
    struct tdir d;
    struct tkey dev, keys[N_KEYS];
    uint64_t bal[N_KEYS], nonce[N_KEYS];
    uint8_t tip[32], tip2[32];
    tdir_make(&d);
    tdev(&dev);
    for (unsigned i = 0; i < N_KEYS; i++)
        tkey(&keys[i], 100 + i);

    struct chain *c = topen(P, d.db);
    uint64_t now = T_NOW(P) - 2000000;
    uint64_t dev_nonce = 0;
    for (unsigned h = 1; h <= 1000; h++, now += 1000) {
        /* Two payments from the dev key, and once keys are funded one
         * payment between them. */
        for (int j = 0; j < 2; j++) {
            struct chain_tx tx = tmk_tx(&dev, keys[(h + j) % N_KEYS].pk, COIN + h, 1000 + h, dev_nonce++);
            assert_int_equal(chain_mempool_accept(c, &tx, 0, now), CHAIN_TX_ACCEPTED);
        }
        if (h > N_KEYS) {
            const struct tkey *k = &keys[h % N_KEYS];
            struct chain_tx tx = tmk_tx(k, keys[(h + 5) % N_KEYS].pk, 1000, 1000,
                                        chain_account_next_nonce(c, k->pk));
            assert_int_equal(chain_mempool_accept(c, &tx, 0, now), CHAIN_TX_ACCEPTED);
        }
        struct chain_result r;
        mine_tip(c, keys[0].pk, now, &r);
        assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
        assert_int_equal(chain_mempool_count(c), 0);
    }
    assert_int_equal(chain_height(c), 1000);
    chain_tip(c, tip);
    for (unsigned i = 0; i < N_KEYS; i++)
        chain_account(c, keys[i].pk, &bal[i], &nonce[i]);
    assert_int_equal(chain_check(c), 0);
    chain_close(c);

    c = topen(P, d.db);
    assert_int_equal(chain_height(c), 1000);
    chain_tip(c, tip2);
    assert_memory_equal(tip, tip2, 32);
    for (unsigned i = 0; i < N_KEYS; i++) {
        uint64_t b2, n2;
        chain_account(c, keys[i].pk, &b2, &n2);
        assert_true(b2 == bal[i]);
        assert_true(n2 == nonce[i]);
    }
    uint64_t db, dn;
    chain_account(c, dev.pk, &db, &dn);
    assert_true(dn == dev_nonce);
    assert_int_equal(chain_check(c), 0);
    /* The reopened chain keeps going. */
    struct chain_result r;
    mine_tip(c, keys[1].pk, now, &r);
    assert_int_equal(chain_height(c), 1001);
    chain_close(c);
    tdir_remove(&d);
}

static void test_node_key(void **state)
{
    (void)state;
    struct tdir d;
    uint8_t sk[64], got[64];
    tdir_make(&d);
    struct chain *c = topen(P, d.db);
    assert_int_equal(chain_store_key_get(c, got), CHAIN_ERR_NOT_FOUND);
    for (int i = 0; i < 64; i++)
        sk[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(chain_store_key_put(c, sk), 0);
    chain_close(c);
    c = topen(P, d.db);
    assert_int_equal(chain_store_key_get(c, got), 0);
    assert_memory_equal(sk, got, 64);
    chain_close(c);
    tdir_remove(&d);
}

/* Copies the database file alone (not its WAL) to `to`, as a power loss
 * would leave it if only the file's synced pages survived. */
static void copy_db_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    char buf[4096];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

/* Without fsync of each commit (-dbfsync=0) a commit sits in the WAL until
 * a checkpoint; the node key must not: it is in the database file itself
 * as soon as chain_store_key_put returns, the chain still open. */
static void test_node_key_synced_without_fsync(void **state)
{
    (void)state;
    struct tdir d;
    uint8_t sk[64];
    tdir_make(&d);
    struct chain *c = NULL;
    struct chain_config cfg = { .params = P, .db_path = d.db, .db_no_fsync = true };
    assert_int_equal(chain_open(&c, &cfg, T_NOW(P)), 0);
    for (int i = 0; i < 64; i++)
        sk[i] = (uint8_t)(i * 5 + 3);
    assert_int_equal(chain_store_key_put(c, sk), 0);

    char copy[128];
    snprintf(copy, sizeof copy, "%s/copy.db", d.dir);
    copy_db_file(d.db, copy);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT val FROM meta WHERE key = 'node_key'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 64);
    assert_memory_equal(sqlite3_column_blob(st, 0), sk, 64);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(copy);
    chain_close(c);
    tdir_remove(&d);
}

/* A header batch left open is committed by what writes the store next (a
 * block: no transaction inside another) and by chain_close: the headers
 * survive a reopen. */
static void test_header_batch_committed_by_block_and_close(void **state)
{
    (void)state;
    struct tdir d;
    struct chain_result r;
    uint8_t to[32] = { 9 };
    tdir_make(&d);
    struct chain *c = topen(P, d.db);
    uint64_t now = T_NOW(P);
    /* Headers of a side branch off genesis, batched. */
    struct chain_header h[3];
    uint8_t prev[32];
    chain_genesis_hash(P, prev);
    for (int i = 0; i < 3; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].version = BLOCK_VERSION;
        memcpy(h[i].prev, prev, 32);
        h[i].merkle_root[0] = (uint8_t)(0xa0 + i);
        h[i].time_ms = P->genesis_time_ms + 1000 * (uint64_t)(i + 1);
        h[i].bits = P->pow_limit_bits;
        assert_true(chain_mine(&h[i], 0, 1000000));
        chain_header_hash(&h[i], prev);
    }
    assert_int_equal(chain_headers_begin(c), 0);
    assert_int_equal(chain_headers_begin(c), 0);   /* already open: no-op */
    assert_int_equal(chain_accept_header(c, &h[0], now, &r), 0);
    mine_tip(c, to, now, &r);                       /* commits the batch first */
    assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    assert_int_equal(chain_headers_begin(c), 0);
    assert_int_equal(chain_accept_header(c, &h[1], now, &r), 0);
    assert_int_equal(chain_accept_header(c, &h[2], now, &r), 0);
    chain_close(c);                                 /* end never called */
    c = topen(P, d.db);
    assert_true(chain_have_header(c, prev));        /* h[2], so h[0..1] too */
    assert_int_equal(chain_height(c), 1);
    chain_close(c);
    tdir_remove(&d);
}

static void test_wrong_network(void **state)
{
    (void)state;
    struct tdir d;
    struct chain *c = NULL;
    tdir_make(&d);
    c = topen(P, d.db);
    chain_close(c);
    struct chain_config cfg = { .params = &chain_params_testnet, .db_path = d.db };
    c = NULL;
    assert_int_equal(chain_open(&c, &cfg, T_NOW(P)), CHAIN_ERR_STORE);
    assert_null(c);
    tdir_remove(&d);
}

/* A reorg after a restart undoes blocks with undo data read from disk;
 * the result persists. */
static void test_reorg_across_reopen(void **state)
{
    (void)state;
    struct tdir d;
    struct tkey dev, k;
    uint8_t g[32], a_tip[32], b_tip[32], tip[32], id[32];
    struct chain_block b;
    struct chain_result r;
    tdir_make(&d);
    tdev(&dev);
    tkey(&k, 3);
    chain_genesis_hash(P, g);

    struct chain *c = topen(P, d.db);
    struct chain_tx pay = tmk_tx(&dev, k.pk, 4 * COIN, 1000, 0);
    chain_tx_txid(&pay, id);
    tmk_block(c, g, &pay, 1, 1, &b);
    assert_int_equal(chain_accept_block(c, &b, T_NOW(P), &r), 0);
    tblock_hash(&b, a_tip);
    chain_block_free(&b);
    textend(c, a_tip, 2, 1, a_tip);
    chain_close(c);

    c = topen(P, d.db);
    textend(c, g, 4, 2, b_tip);
    chain_tip(c, tip);
    assert_memory_equal(tip, b_tip, 32);
    uint64_t bal, nonce;
    chain_account(c, k.pk, &bal, &nonce);
    assert_true(bal == 0);
    /* The payment from the losing branch waits in the mempool again. */
    assert_true(chain_mempool_has(c, id));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);

    c = topen(P, d.db);
    chain_tip(c, tip);
    assert_memory_equal(tip, b_tip, 32);
    assert_int_equal(chain_height(c), 4);
    assert_true(chain_have_block(c, a_tip));
    assert_false(chain_in_best(c, a_tip));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
    tdir_remove(&d);
}

/* ---- kill -9 ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Blocks the child's deep reorgs disconnect: the switch then spans several
 * disconnects and connects in one SQLite transaction. */
#define KILL9_DEEP_REORG_DEPTH 3u
/* Per child step, out of 8: a one-block reorg in 2, a deep reorg in 1. */
#define KILL9_STEP_CHOICES 8u

/* Report on the pipe after each committed tip: hash, height, reorg depth. */
#define KILL9_REPORT_BYTES (32 + 4 + 4)

/* Mine `count` empty blocks on parent with times from time_ms up, all
 * accepted at now_ms; returns the last result in *r. */
static bool child_branch(struct chain *c, const uint8_t parent[32], unsigned count,
                         uint64_t time_ms, uint64_t now_ms, struct chain_result *r)
{
    uint8_t cur[32];
    memcpy(cur, parent, 32);
    for (unsigned i = 0; i < count; i++) {
        struct chain_block b;
        tmk_block(c, cur, NULL, 0, (uint8_t)rng(), &b);
        b.hdr.time_ms = time_ms + i;
        tremine(&b);
        int err = chain_accept_block(c, &b, now_ms, r);
        tblock_hash(&b, cur);
        chain_block_free(&b);
        if (err != 0)
            return false;
    }
    return true;
}

/* The child: extend the chain for ever (with txs, one-block reorgs and
 * reorgs of KILL9_DEEP_REORG_DEPTH now and then), reporting each committed
 * tip on the pipe. */
static void child_writer(const char *db, int fd, uint64_t seed)
{
    struct chain *c = NULL;
    struct chain_config cfg = { .params = P, .db_path = db };
    struct tkey dev, k;
    tdev(&dev);
    tkey(&k, 1);
    if (chain_open(&c, &cfg, T_NOW(P)) != 0)
        _exit(2);
    rng_state = seed;
    for (uint64_t i = 0;; i++) {
        struct chain_block b;
        struct chain_result r;
        uint8_t tip[32], rep[KILL9_REPORT_BYTES];
        struct chain_header th;
        chain_tip(c, tip);
        chain_get_header(c, tip, &th, NULL);
        /* Each restart continues after the stored tip's time. */
        uint64_t now = th.time_ms + 1000;
        (void)i;
        struct chain_tx tx = tmk_tx(&dev, k.pk, COIN, 1000 + (rng() % 100),
                                    chain_account_next_nonce(c, dev.pk));
        chain_mempool_accept(c, &tx, 0, now);
        unsigned choice = (unsigned)(rng() % KILL9_STEP_CHOICES);
        if (chain_height(c) > KILL9_DEEP_REORG_DEPTH + 1 && choice == 2) {
            /* Depth + 1 blocks on the ancestor depth blocks down: the last
             * one has more work than the tip. */
            uint8_t fork[32];
            chain_hash_at(c, chain_height(c) - KILL9_DEEP_REORG_DEPTH, fork);
            if (!child_branch(c, fork, KILL9_DEEP_REORG_DEPTH + 1, now,
                              now + KILL9_DEEP_REORG_DEPTH + 1, &r) ||
                r.status != CHAIN_ST_NEW_TIP || r.reorg_depth != KILL9_DEEP_REORG_DEPTH)
                _exit(8);
            goto report;
        }
        if (chain_height(c) > 2 && choice < 2) {
            /* Two blocks on the tip's parent: a reorg of depth 1. */
            uint8_t parent[32], cur[32];
            chain_hash_at(c, chain_height(c) - 1, parent);
            tmk_block(c, parent, NULL, 0, (uint8_t)rng(), &b);
            b.hdr.time_ms = now;
            tremine(&b);
            if (chain_accept_block(c, &b, now, &r) != 0)
                _exit(3);
            tblock_hash(&b, cur);
            chain_block_free(&b);
            tmk_block(c, cur, NULL, 0, (uint8_t)rng(), &b);
            b.hdr.time_ms = now + 1;
            tremine(&b);
        } else {
            if (chain_block_template(c, k.pk, now, &b) != 0 || !chain_mine(&b.hdr, 0, 1000000))
                _exit(4);
        }
        if (chain_accept_block(c, &b, now + 1, &r) != 0 || r.status != CHAIN_ST_NEW_TIP)
            _exit(5);
        chain_block_free(&b);
report:
        chain_tip(c, tip);
        memcpy(rep, tip, 32);
        le32_put(rep + 32, chain_height(c));
        le32_put(rep + 36, r.reorg_depth);
        if (write(fd, rep, sizeof rep) != (ssize_t)sizeof rep)
            _exit(6);
    }
}

static void test_kill9(void **state)
{
    (void)state;
    /* Bounded in total time, not in iterations: the point is many kills
     * at random moments, and the test must stay quick. On a loaded machine
     * a child may get little done before its kill: then rounds go on (up to
     * extra_ms more) until the kills have also caught the aftermath of a
     * deep reorg. */
    const uint64_t budget_ms = 3000, extra_ms = 60000;
    const unsigned max_rounds = 60;
    struct tdir d;
    uint8_t last[32];
    uint32_t last_h = 0;
    /* Every tip ever reported, to check at the end that all are stored. */
    size_t cap_seen = 4096, n_seen = 0;
    uint8_t (*seen)[32] = malloc(cap_seen * sizeof *seen);
    assert_non_null(seen);
    unsigned rounds = 0, reports = 0, deep = 0, idle_rounds = 0;
    tdir_make(&d);
    chain_genesis_hash(P, last);
    uint64_t start = mono_ms();
    while ((rounds < max_rounds && mono_ms() - start < budget_ms) ||
           ((deep == 0 || rounds < 5) && mono_ms() - start < budget_ms + extra_ms)) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_writer(d.db, fds[1], 0x1234567ull + rounds * 7919);
            _exit(7);
        }
        close(fds[1]);
        /* 2-40 ms after the fork; on a loaded machine a window that doubles
         * with each round whose child was killed before committing, and
         * every 4 rounds until a kill has followed a deep reorg (the
         * children then live long enough to make one), still at a random
         * point in it. */
        unsigned grow = idle_rounds + (deep ? 0 : rounds / 4);
        uint64_t window_ms = 40u << (grow < 6 ? grow : 6);
        uint64_t delay_ms = 2 + rng() % window_ms;
        struct timespec ts = { (time_t)(delay_ms / 1000), (long)(delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        /* Died by our signal, not by an error of its own. */
        if (!WIFSIGNALED(st))
            print_error("child exited with %d\n", WEXITSTATUS(st));
        assert_true(WIFSIGNALED(st));
        uint8_t rep[KILL9_REPORT_BYTES];
        ssize_t n;
        unsigned reports_before = reports;
        while ((n = read(fds[0], rep, sizeof rep)) == (ssize_t)sizeof rep) {
            memcpy(last, rep, 32);
            last_h = le32_get(rep + 32);
            deep += le32_get(rep + 36) >= KILL9_DEEP_REORG_DEPTH;
            reports++;
            if (n_seen < cap_seen)
                memcpy(seen[n_seen++], rep, 32);
        }
        close(fds[0]);
        idle_rounds = reports == reports_before ? idle_rounds + 1 : 0;

        struct chain *c = topen(P, d.db);
        /* Every reported tip was committed, so it is there. */
        assert_true(chain_have_block(c, last));
        assert_true(chain_height(c) >= last_h);
        assert_int_equal(chain_check(c), 0);
        chain_close(c);
        rounds++;
    }
    assert_true(rounds >= 5);
    assert_true(reports > 0);
    assert_true(deep > 0);
    struct chain *c = topen(P, d.db);
    for (size_t i = 0; i < n_seen; i++)
        assert_true(chain_have_block(c, seen[i]));
    chain_close(c);
    free(seen);
    print_message("kill -9: %u rounds, %u committed tips reported (%u after a reorg of depth "
                  ">= %u), final height %u\n", rounds, reports, deep, KILL9_DEEP_REORG_DEPTH,
                  last_h);
    tdir_remove(&d);
}

/* The store alone: a rolled back transaction leaves nothing. */
static void test_store_rollback(void **state)
{
    (void)state;
    struct store *s = NULL;
    uint8_t pk[32] = { 9 }, data[3] = { 1, 2, 3 }, *got = NULL;
    size_t len = 0;
    assert_int_equal(store_open(&s, NULL, true), 0);
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_body_put(s, pk, data, sizeof data), 0);
    store_rollback(s);
    assert_int_equal(store_body_get(s, pk, &got, &len), CHAIN_ERR_BLK_UNKNOWN);
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_body_put(s, pk, data, sizeof data), 0);
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_body_get(s, pk, &got, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(got, data, 3);
    free(got);
    store_close(s);
}

/* Rows for the batch test: more than two full batches and a tail that
 * takes every smaller size, with deletes between runs. */
#define T_ACC_ROWS 150u
#define T_ACC_SEEDED 100u

static void acc_key(uint8_t pk[32], uint32_t i)
{
    memset(pk, 0xa5, 32);
    pk[0] = (uint8_t)i;
    pk[1] = (uint8_t)(i >> 8);
}

/* Every account row of a database file, rowid included, as one string. */
static char *acc_dump(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT rowid, hex(pk), balance, nonce FROM account "
                                           "ORDER BY rowid", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int n = snprintf(out + len, cap - len, "%lld %s %lld %lld\n", sqlite3_column_int64(st, 0),
                         (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2),
                         sqlite3_column_int64(st, 3));
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

/* Account puts inside a transaction (queued, written in batches) leave
 * the same rows, with the same rowids, as one autocommit statement a put
 * in the same order (deletes between them included); a batch that fails
 * makes the commit fail, and the rollback leaves nothing. */
static void test_accounts_batch_same_rows(void **state)
{
    (void)state;
    struct tdir da, db;
    struct store *a = NULL, *b = NULL;
    uint8_t pk[32];
    tdir_make(&da);
    tdir_make(&db);
    assert_int_equal(store_open(&a, da.db, false), 0);
    assert_int_equal(store_open(&b, db.db, false), 0);
    for (uint32_t i = 0; i < T_ACC_SEEDED; i++) {
        acc_key(pk, i);
        assert_int_equal(store_account_put(a, pk, 1000 + i, i), 0);
        assert_int_equal(store_account_put(b, pk, 1000 + i, i), 0);
    }
    /* Half of them rewritten, some deleted (the first and the last), 100
     * new: more than two full batches, deletes between runs of puts. */
    assert_int_equal(store_begin(a), 0);
    for (uint32_t i = 0; i < T_ACC_ROWS; i++) {
        bool del = i == 0 || i % 37 == 5 || i + 1 == T_ACC_ROWS;
        acc_key(pk, T_ACC_SEEDED / 2 + i);
        assert_int_equal(store_account_put(a, pk, del ? 0 : 7 * i + 1, del ? 0 : i), 0);
        assert_int_equal(store_account_put(b, pk, del ? 0 : 7 * i + 1, del ? 0 : i), 0);
    }
    assert_int_equal(store_commit(a), 0);
    char *ra = acc_dump(da.db), *rb = acc_dump(db.db);
    assert_string_equal(ra, rb);
    assert_true(strlen(ra) > 0);
    free(rb);

    /* A queued put SQLite refuses: the commit reports it. */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(da.db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TRIGGER full BEFORE INSERT ON account "
                                     "BEGIN SELECT RAISE(ABORT, 'test: disk full'); END;",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(store_begin(a), 0);
    for (uint32_t i = 0; i < 3; i++) {
        acc_key(pk, 1000 + i);
        assert_int_equal(store_account_put(a, pk, 5, 0), 0);
    }
    assert_int_equal(store_commit(a), CHAIN_ERR_STORE);
    store_rollback(a);
    char *ra2 = acc_dump(da.db);
    assert_string_equal(ra, ra2);
    free(ra);
    free(ra2);
    store_close(a);
    store_close(b);
    tdir_remove(&da);
    tdir_remove(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_rollback),
        cmocka_unit_test(test_accounts_batch_same_rows),
        cmocka_unit_test(test_node_key),
        cmocka_unit_test(test_node_key_synced_without_fsync),
        cmocka_unit_test(test_header_batch_committed_by_block_and_close),
        cmocka_unit_test(test_wrong_network),
        cmocka_unit_test(test_reorg_across_reopen),
        cmocka_unit_test(test_1000_blocks_persist),
        cmocka_unit_test(test_kill9),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
