/* Network parameters: regtest and testnet. */
#ifndef GOSSIPD_CHAIN_PARAMS_H
#define GOSSIPD_CHAIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"

/* The development key: its seed is SHA256 of this ASCII string (no NUL).
 * Every network's genesis block pays CHAIN_GENESIS_ALLOC to its public key,
 * so a fresh testnet can send transactions at once. Never use it for
 * anything of value: the seed is public. */
#define CHAIN_DEV_SEED_PHRASE "gossipd development key"

#define COIN 100000000ull                   /* base units per coin */
#define CHAIN_GENESIS_ALLOC (1000000ull * COIN)

struct chain_params {
    const char *name;             /* "regtest" or "testnet" */
    uint32_t magic;               /* frame magic, as a LE u32 on the wire */
    uint16_t p2p_port;            /* default ports */
    uint16_t rpc_port;
    uint32_t pow_limit_bits;      /* easiest allowed target */
    bool     retarget;            /* false: bits stay pow_limit_bits */
    uint64_t target_interval_ms;  /* desired time between blocks */
    uint32_t retarget_window;     /* blocks looked back over per retarget */
    uint64_t reward;              /* coinbase subsidy per block */
    size_t   max_block_size;      /* bytes, <= BLOCK_SIZE_LIMIT */
    uint64_t min_fee;             /* absolute minimum fee per tx */
    uint64_t max_future_ms;       /* how far ahead of now a header's time may be */
    uint32_t mtp_window;          /* blocks in the median-time-past */
    /* Genesis header; its coinbase pays CHAIN_GENESIS_ALLOC to the dev key. */
    uint64_t genesis_time_ms;
    uint32_t genesis_bits;
    uint64_t genesis_nonce;
};

/* "regtest" or "testnet"; NULL for an unknown name. */
const struct chain_params *chain_params_by_name(const char *name);
extern const struct chain_params chain_params_regtest;
extern const struct chain_params chain_params_testnet;

/* The development keypair (derived from CHAIN_DEV_SEED_PHRASE). */
void chain_dev_key(uint8_t pk[32], uint8_t sk[64]);

/* Build the genesis block (one coinbase). Returns 0 or CHAIN_ERR_NOMEM;
 * the caller frees with chain_block_free. */
int chain_genesis_block(const struct chain_params *p, struct chain_block *out);
/* Genesis block hash. */
void chain_genesis_hash(const struct chain_params *p, uint8_t hash[32]);

#endif
