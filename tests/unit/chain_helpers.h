/* Shared helpers for the chain-state suites: deterministic keys, signed
 * txs, and blocks mined on any parent (regtest PoW is trivial). Header
 * only, static functions: each suite includes it once. */
#ifndef GOSSIPD_TESTS_CHAIN_HELPERS_H
#define GOSSIPD_TESTS_CHAIN_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chain/chain.h"
#include "crypto/sig.h"

/* Fake clock: far enough after genesis that thousands of blocks spaced
 * one second apart stay in the past. */
#define T_NOW(p) ((p)->genesis_time_ms + 100000000ull)

struct tkey {
    uint8_t pk[32];
    uint8_t sk[64];
};

static inline void tkey(struct tkey *k, unsigned i)
{
    uint8_t seed[32];
    memset(seed, 0, sizeof seed);
    seed[0] = (uint8_t)i;
    seed[1] = (uint8_t)(i >> 8);
    seed[31] = 0x5a;
    sig_keypair_from_seed(k->pk, k->sk, seed);
}

static inline void tdev(struct tkey *k) { chain_dev_key(k->pk, k->sk); }

static inline struct chain_tx tmk_tx(const struct tkey *from, const uint8_t to[32],
                                     uint64_t amount, uint64_t fee, uint64_t nonce)
{
    struct chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.version = TX_VERSION;
    memcpy(tx.to, to, 32);
    tx.amount = amount;
    tx.fee = fee;
    tx.nonce = nonce;
    chain_tx_sign(&tx, from->sk);
    return tx;
}

static inline struct chain *topen(const struct chain_params *p, const char *path)
{
    struct chain *c = NULL;
    struct chain_config cfg = { .params = p, .db_path = path };
    assert_int_equal(chain_open(&c, &cfg, T_NOW(p)), 0);
    return c;
}

/* A temporary directory holding chain.db, for suites that reopen a store
 * (mkdtemp needs _GNU_SOURCE or _DEFAULT_SOURCE before the includes). */
struct tdir {
    char dir[64];
    char db[96];
};

static inline void tdir_make(struct tdir *t)
{
    strcpy(t->dir, "/tmp/gossipd-chain-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->db, sizeof t->db, "%s/chain.db", t->dir);
}

static inline void tdir_remove(struct tdir *t)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[128];
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        snprintf(p, sizeof p, "%s%s", t->db, suffix[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

/* Build and mine a block on parent (hash) with the given txs, coinbase
 * paying reward + fees to `to`; `salt` goes in the coinbase memo so
 * competing blocks differ. Caller frees. */
static inline void tmk_block(struct chain *c, const uint8_t parent[32], const struct chain_tx *txs,
                             size_t n, uint8_t salt, struct chain_block *b)
{
    const struct chain_params *p = chain_params(c);
    struct chain_header ph;
    uint32_t ph_height = 0;
    bool mutated = false;
    uint64_t fees = 0;
    assert_true(chain_get_header(c, parent, &ph, &ph_height));
    memset(b, 0, sizeof *b);
    b->n_tx = n + 1;
    b->txs = calloc(n + 1, sizeof *b->txs);
    assert_non_null(b->txs);
    for (size_t i = 0; i < n; i++) {
        b->txs[i + 1] = txs[i];
        fees += txs[i].fee;
    }
    struct chain_tx *cb = &b->txs[0];
    cb->version = TX_VERSION;
    memset(cb->to, 0x11, 32);
    cb->amount = p->reward + fees;
    cb->nonce = ph_height + 1;
    cb->memo_len = 1;
    cb->memo[0] = salt;
    chain_tx_seal(cb);
    b->hdr.version = BLOCK_VERSION;
    memcpy(b->hdr.prev, parent, 32);
    b->hdr.time_ms = ph.time_ms + 1000;
    b->hdr.bits = p->pow_limit_bits;
    assert_int_equal(chain_block_merkle(b, b->hdr.merkle_root, &mutated), 0);
    assert_true(chain_mine(&b->hdr, 0, 1000000));
}

/* Re-seal every tx, re-set the merkle root and re-mine after editing a
 * block. */
static inline void tremine(struct chain_block *b)
{
    bool mutated = false;
    for (size_t i = 0; i < b->n_tx; i++)
        chain_tx_seal(&b->txs[i]);
    assert_int_equal(chain_block_merkle(b, b->hdr.merkle_root, &mutated), 0);
    assert_true(chain_mine(&b->hdr, 0, 1000000));
}

static inline void tblock_hash(const struct chain_block *b, uint8_t h[32])
{
    chain_header_hash(&b->hdr, h);
}

/* Mine n empty blocks on parent; the last hash is written to tip. */
static inline void textend(struct chain *c, const uint8_t parent[32], unsigned n, uint8_t salt,
                           uint8_t tip[32])
{
    uint8_t cur[32];
    memcpy(cur, parent, 32);
    for (unsigned i = 0; i < n; i++) {
        struct chain_block b;
        struct chain_result r;
        tmk_block(c, cur, NULL, 0, salt, &b);
        assert_int_equal(chain_accept_block(c, &b, T_NOW(chain_params(c)), &r), 0);
        tblock_hash(&b, cur);
        chain_block_free(&b);
    }
    memcpy(tip, cur, 32);
}

#endif
