#include "chain/params.h"

#include <string.h>

#include "chain/err.h"
#include "crypto/hash.h"
#include "crypto/sec.h"
#include "crypto/sig.h"

/* Both networks share the block format and fee rules; they differ in magic,
 * ports and proof of work. The genesis nonces were found once with
 * the mine_genesis program (tests/bench/mine_genesis.c) and are checked by test_params. */
#define GENESIS_TIME_MS 1795392000000ull   /* 2026-11-23T00:00:00Z */
#define GENESIS_MEMO "gossipd genesis 2026-11-23"
#define REGTEST_GENESIS_NONCE 1
#define TESTNET_GENESIS_NONCE 550459

const struct chain_params chain_params_regtest = {
    .name = "regtest",
    .magic = 0x74727367,             /* "gsrt" on the wire */
    .p2p_port = 19444,
    .rpc_port = 19443,
    .pow_limit_bits = 0x207fffff,    /* about one hash in two succeeds */
    .retarget = false,
    .target_interval_ms = 1000,
    .retarget_window = 20,
    .reward = 50 * COIN,
    .max_block_size = 1024 * 1024,
    .min_fee = 1000,
    .max_future_ms = 2ull * 3600 * 1000,
    .mtp_window = 11,
    .genesis_time_ms = GENESIS_TIME_MS,
    .genesis_bits = 0x207fffff,
    .genesis_nonce = REGTEST_GENESIS_NONCE,
};

const struct chain_params chain_params_testnet = {
    .name = "testnet",
    .magic = 0x6e747367,             /* "gstn" on the wire */
    .p2p_port = 29444,
    .rpc_port = 29443,
    .pow_limit_bits = 0x1f00ffff,    /* ~2^16 hashes per block at the easiest */
    .retarget = true,
    .target_interval_ms = 5000,
    .retarget_window = 20,
    .reward = 50 * COIN,
    .max_block_size = 1024 * 1024,
    .min_fee = 1000,
    .max_future_ms = 2ull * 3600 * 1000,
    .mtp_window = 11,
    .genesis_time_ms = GENESIS_TIME_MS,
    .genesis_bits = 0x1e0fffff,      /* ~2^20 hashes: well under a second */
    .genesis_nonce = TESTNET_GENESIS_NONCE,
};

const struct chain_params *chain_params_by_name(const char *name)
{
    if (!name) return NULL;
    if (strcmp(name, "regtest") == 0) return &chain_params_regtest;
    if (strcmp(name, "testnet") == 0) return &chain_params_testnet;
    return NULL;
}

void chain_dev_key(uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    hash_sha256(seed, CHAIN_DEV_SEED_PHRASE, strlen(CHAIN_DEV_SEED_PHRASE));
    sig_keypair_from_seed(pk, sk, seed);
}

int chain_genesis_block(const struct chain_params *p, struct chain_block *out)
{
    uint8_t sk[64];
    struct chain_block b = { .n_tx = 1 };
    struct chain_tx cb;
    memset(&cb, 0, sizeof cb);
    cb.version = TX_VERSION;
    chain_dev_key(cb.to, sk);
    sec_wipe(sk, sizeof sk);
    cb.amount = CHAIN_GENESIS_ALLOC;
    cb.nonce = 0;                    /* coinbase nonce = height */
    cb.memo_len = sizeof GENESIS_MEMO - 1;
    memcpy(cb.memo, GENESIS_MEMO, cb.memo_len);
    chain_tx_seal(&cb);

    b.txs = &cb;
    b.hdr.version = BLOCK_VERSION;
    b.hdr.time_ms = p->genesis_time_ms;
    b.hdr.bits = p->genesis_bits;
    b.hdr.nonce = p->genesis_nonce;
    int err = chain_block_merkle(&b, b.hdr.merkle_root, NULL);
    if (err) return err;
    return chain_block_copy(out, &b);
}

void chain_genesis_hash(const struct chain_params *p, uint8_t hash[32])
{
    struct chain_block b;
    if (chain_genesis_block(p, &b) != 0) {
        memset(hash, 0, 32);
        return;
    }
    chain_header_hash(&b.hdr, hash);
    chain_block_free(&b);
}
