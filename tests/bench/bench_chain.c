/* Chain-state figures: mempool accept vs raw Ed25519 verification,
 * connecting a block whose txs are in the mempool vs the same block cold
 * (the first skips signature checks), miner hashes vs raw SHA256d. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "chain/chain.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define BENCH_CHAIN_TXS 2000            /* txs per figure and in the block */
#define BENCH_CHAIN_HASHES 2000000ull   /* nonces searched for the miner figure */

static struct chain *bench_open(void)
{
    struct chain *c = NULL;
    struct chain_config cfg = { .params = &chain_params_regtest };
    if (chain_open(&c, &cfg, chain_params_regtest.genesis_time_ms + 1000000) != 0)
        return NULL;
    return c;
}

void bench_chain(void)
{
    const uint64_t now = chain_params_regtest.genesis_time_ms + 1000000;
    uint8_t pk[32], sk[64], to[32];
    struct chain_tx *txs = calloc(BENCH_CHAIN_TXS, sizeof *txs);
    struct chain *warm = bench_open(), *cold = bench_open();
    struct chain_block b;
    struct chain_result r;
    double t0;
    size_t ok = 0;

    if (!txs || !warm || !cold) {
        printf("bench_chain: setup failed\n");
        goto out;
    }
    chain_dev_key(pk, sk);
    for (size_t i = 0; i < BENCH_CHAIN_TXS; i++) {
        memset(&txs[i], 0, sizeof txs[i]);
        txs[i].version = TX_VERSION;
        memset(to, 0, sizeof to);
        to[0] = (uint8_t)i;
        to[1] = (uint8_t)(i >> 8);
        to[2] = 1;
        memcpy(txs[i].to, to, 32);
        txs[i].amount = 1000 + i;
        txs[i].fee = 1000;
        txs[i].nonce = i;
        chain_tx_sign(&txs[i], sk);
    }

    t0 = bench_now();
    for (size_t i = 0; i < BENCH_CHAIN_TXS; i++)
        ok += chain_tx_verify_sig(&txs[i]);
    bench_report("ed25519 verify (tx)", (double)ok, bench_now() - t0, "verify");

    ok = 0;
    t0 = bench_now();
    for (size_t i = 0; i < BENCH_CHAIN_TXS; i++)
        ok += chain_mempool_accept(warm, &txs[i], CHAIN_ORIGIN_NONE, now) == CHAIN_TX_ACCEPTED;
    bench_report("mempool accept", (double)ok, bench_now() - t0, "tx");

    if (chain_block_template(warm, pk, now, &b) != 0 || !chain_mine(&b.hdr, 0, 1000000)) {
        printf("bench_chain: template failed\n");
        goto out;
    }
    t0 = bench_now();
    int e1 = chain_accept_block(warm, &b, now, &r);
    double warm_s = bench_now() - t0;
    t0 = bench_now();
    int e2 = chain_accept_block(cold, &b, now, &r);
    double cold_s = bench_now() - t0;
    printf("%-44s %14.2f ms  (%zu txs, %s)\n", "connect block, txs in mempool", warm_s * 1e3,
           b.n_tx - 1, e1 ? chain_strerror(e1) : "ok");
    printf("%-44s %14.2f ms  (%zu txs, %s)\n", "connect same block cold", cold_s * 1e3,
           b.n_tx - 1, e2 ? chain_strerror(e2) : "ok");
    chain_block_free(&b);

    /* A target no nonce in range meets, so every nonce is hashed. */
    struct chain_header h;
    uint8_t ser[HEADER_SIZE], hash[32];
    memset(&h, 0, sizeof h);
    h.version = BLOCK_VERSION;
    h.bits = 0x1b00ffff;
    t0 = bench_now();
    bool found = chain_mine(&h, 0, BENCH_CHAIN_HASHES);
    bench_report(found ? "miner (found early!)" : "miner chain_mine (midstate)",
                 (double)BENCH_CHAIN_HASHES, bench_now() - t0, "hash");
    chain_header_serialize(&h, ser);
    t0 = bench_now();
    for (uint64_t i = 0; i < BENCH_CHAIN_HASHES; i++) {
        le64_put(ser + 80, i);
        hash_sha256d(hash, ser, sizeof ser);
    }
    bench_report("raw sha256d (88-byte header)", (double)BENCH_CHAIN_HASHES,
                 bench_now() - t0, "hash");
out:
    chain_close(warm);
    chain_close(cold);
    free(txs);
}
