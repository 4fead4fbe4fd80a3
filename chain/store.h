/* SQLite store (WAL): block index, block bodies, undo data, ledger
 * accounts, the best tip and small metadata (network, the node's key).
 *
 * Schema (docs/CHAIN.md has the details):
 *   meta(key TEXT PRIMARY KEY, val BLOB)
 *   block_index(hash BLOB PRIMARY KEY, seq INTEGER UNIQUE, header BLOB, status INTEGER)
 *   block_body(hash BLOB PRIMARY KEY, data BLOB)
 *   block_undo(hash BLOB PRIMARY KEY, data BLOB)
 *   account(pk BLOB PRIMARY KEY, balance INTEGER, nonce INTEGER)
 *   own_tx(txid BLOB PRIMARY KEY, seq INTEGER, data BLOB, height INTEGER)
 * u64 values are stored as SQLite's signed 64-bit integers, bit for bit.
 *
 * The caller groups writes with store_begin/store_commit so each block
 * connect (or a whole reorg) is one transaction. A NULL path opens a
 * private in-memory database. */
#ifndef GOSSIPD_CHAIN_STORE_H
#define GOSSIPD_CHAIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"

struct store;
struct chain_store_error;

/* Largest metadata value (the node key is 64 bytes). */
#define STORE_META_MAX_BYTES 256u

/* fsync_commits false: synchronous=NORMAL, a commit is durable across a
 * process crash but not a power loss (the WAL is synced at checkpoints);
 * the node's own txs are still synced on every write. */
int store_open(struct store **out, const char *path, bool fsync_commits);
void store_close(struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Returns 0, CHAIN_ERR_BLK_UNKNOWN if absent, or CHAIN_ERR_STORE. */
int store_meta_get(struct store *s, const char *key, uint8_t *val, size_t cap, size_t *len);
int store_meta_put(struct store *s, const char *key, const uint8_t *val, size_t len);

int store_index_put(struct store *s, const uint8_t hash[32], uint64_t seq,
                    const struct chain_header *h, uint32_t status);
int store_index_status(struct store *s, const uint8_t hash[32], uint32_t status);
/* Calls fn for each index row in seq order (parents before children). */
int store_index_load(struct store *s,
                     int (*fn)(void *ctx, const uint8_t hash[32], uint64_t seq,
                               const struct chain_header *h, uint32_t status),
                     void *ctx);

int store_body_put(struct store *s, const uint8_t hash[32], const uint8_t *data, size_t len);
/* Heap copy (caller frees); CHAIN_ERR_BLK_UNKNOWN if absent. */
int store_body_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len);
int store_undo_put(struct store *s, const uint8_t hash[32], const uint8_t *data, size_t len);
int store_undo_get(struct store *s, const uint8_t hash[32], uint8_t **data, size_t *len);
int store_undo_del(struct store *s, const uint8_t hash[32]);

/* balance == 0 && nonce == 0 deletes the row. Inside a transaction a put
 * may be queued (see store.c): it reaches SQLite with the next batch, at
 * the latest at store_commit, which then reports its failure; the rows
 * (and rowids) are those of one statement a put, in order. Outside a
 * transaction, and for a delete, the write is done before returning. */
int store_account_put(struct store *s, const uint8_t pk[32], uint64_t balance, uint64_t nonce);
int store_account_load(struct store *s,
                       int (*fn)(void *ctx, const uint8_t pk[32], uint64_t balance,
                                 uint64_t nonce),
                       void *ctx);

/* The node's own txs (chain/owntx.c): seq is the order they were added,
 * data the serialized tx, height the best-chain block that holds it (0:
 * unconfirmed). put ignores a txid already there. prune deletes the
 * confirmed rows at heights <= max_height. load calls fn in seq order. */
int store_own_put(struct store *s, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                  size_t len);
int store_own_height(struct store *s, const uint8_t txid[32], uint32_t height);
int store_own_del(struct store *s, const uint8_t txid[32]);
int store_own_prune(struct store *s, uint32_t max_height);
int store_own_load(struct store *s,
                   int (*fn)(void *ctx, const uint8_t txid[32], uint64_t seq, const uint8_t *data,
                             size_t len, uint32_t height),
                   void *ctx);

/* Why the last failed statement failed, and how many have failed since
 * open (chain_store_error in chain.h). Borrowed. */
const struct chain_store_error *store_last_error(const struct store *s);
/* Commit a row of `bytes` zero bytes, then delete it: 0 if the disk took
 * it (space is back), or CHAIN_ERR_STORE (recorded as above). */
int store_probe(struct store *s, size_t bytes);
/* Makes every commit so far durable, whatever fsync_commits: a full WAL
 * checkpoint, which syncs the WAL, copies it into the database file and
 * syncs that. 0, or CHAIN_ERR_STORE (recorded as above). Outside a
 * transaction; costs a sync of each file, so for rare writes only. */
int store_sync(struct store *s);
/* Commits since open: transactions and single-statement writes (each one
 * fsync with fsync_commits). */
uint64_t store_commits(const struct store *s);

/* ---- Integrity and salvage (own read-only connection; never writes) ---- */
/* SQLite's "PRAGMA quick_check" on the file at path. Returns 0 if it says
 * "ok", else CHAIN_ERR_STORE with SQLite's first findings in msg. */
int store_verify_file(const char *path, char *msg, size_t msg_len);
/* Calls fn(row, hash, body) for every block body readable in the file at
 * path (any order; the pointers are borrowed for the call; row is where a
 * store_reader finds it again without the hash index). A corrupt page ends
 * the scan: *unreadable counts what could not be read. Returns 0, fn's
 * error, or CHAIN_ERR_STORE if the file cannot be opened at all. */
int store_salvage_bodies(const char *path,
                         int (*fn)(void *ctx, int64_t row, const uint8_t hash[32],
                                   const uint8_t *data, size_t len),
                         void *ctx, size_t *unreadable);
/* One meta value of the file at path: 0, CHAIN_ERR_BLK_UNKNOWN, CHAIN_ERR_STORE. */
int store_salvage_meta(const char *path, const char *key, uint8_t *val, size_t cap,
                       size_t *len);
/* A read-only connection to fetch bodies by row from a file (-reindex). */
struct store_reader;
int store_reader_open(struct store_reader **out, const char *path);
/* Heap copy (caller frees); CHAIN_ERR_BLK_UNKNOWN if absent, else CHAIN_ERR_STORE. */
int store_reader_body(struct store_reader *r, int64_t row, uint8_t **data, size_t *len);
void store_reader_close(struct store_reader *r);

#endif
