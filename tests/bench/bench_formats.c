/* Crypto and format limits: Ed25519 verify/s, tx decode+verify/s, header
 * hashes/s with and without the midstate. */
#include <string.h>

#include "bench.h"
#include "chain/block.h"
#include "chain/params.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define BENCH_SIG_N    20000
#define BENCH_HASH_N   2000000

void bench_formats(void)
{
    uint8_t pk[32], sk[64], to[32] = { 1 };
    chain_dev_key(pk, sk);

    struct chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.version = TX_VERSION;
    memcpy(tx.to, to, 32);
    tx.amount = 5;
    tx.fee = 1000;
    tx.memo_len = 16;
    chain_tx_sign(&tx, sk);
    uint8_t raw[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, raw, sizeof raw);
    chain_tx_encode(&w, &tx);

    /* Raw Ed25519 verify over the same message size as a tx. */
    uint8_t msg[TX_SIZE_MAX - 64], sig[64];
    memset(msg, 7, sizeof msg);
    sig_sign(sig, msg, w.len - 64, sk);
    volatile unsigned ok = 0;
    double t0 = bench_now();
    for (int i = 0; i < BENCH_SIG_N; i++) ok += sig_verify(sig, msg, w.len - 64, pk);
    bench_report("ed25519 verify", BENCH_SIG_N, bench_now() - t0, "verify");

    t0 = bench_now();
    for (int i = 0; i < BENCH_SIG_N; i++) {
        struct chain_tx d;
        if (chain_tx_parse(&d, raw, w.len) == 0) ok += chain_tx_verify_sig(&d);
    }
    bench_report("tx decode + verify", BENCH_SIG_N, bench_now() - t0, "tx");

    struct chain_header h;
    memset(&h, 0, sizeof h);
    h.bits = 0x207fffff;
    uint8_t hash[32], ser[HEADER_SIZE];
    t0 = bench_now();
    for (int i = 0; i < BENCH_HASH_N; i++) {
        h.nonce = (uint64_t)i;
        chain_header_serialize(&h, ser);
        hash_sha256d(hash, ser, sizeof ser);
    }
    bench_report("header sha256d (full)", BENCH_HASH_N, bench_now() - t0, "hash");

    struct hash_midstate ms;
    chain_header_serialize(&h, ser);
    hash_midstate_init(&ms, ser);
    t0 = bench_now();
    for (int i = 0; i < BENCH_HASH_N; i++) {
        le64_put(ser + 80, (uint64_t)i);
        hash_midstate_finish(&ms, ser + 64, hash);
    }
    bench_report("header sha256d (midstate)", BENCH_HASH_N, bench_now() - t0, "hash");
    (void)ok;
}
