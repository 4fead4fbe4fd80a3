/* Storing a headers message (2,000 headers, regtest PoW) in a file store,
 * with and without an fsync per commit: one commit per header (each a
 * chain_accept_header on its own) against one per message
 * (chain_headers_begin/end, what p2p/sync.c does). */
#define _DEFAULT_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "chain/chain.h"

#define BENCH_HEADERS 2000   /* one full headers message */

static void run(const struct chain_header *h, bool fsync_commits, bool batched)
{
    char dir[] = "/tmp/gossipd-bench-XXXXXX", db[64];
    if (!mkdtemp(dir)) {
        printf("bench_headers: mkdtemp failed\n");
        return;
    }
    snprintf(db, sizeof db, "%s/chain.db", dir);
    const uint64_t now = chain_params_regtest.genesis_time_ms + 10000000;
    struct chain_config cfg = { .params = &chain_params_regtest, .db_path = db,
                                .db_no_fsync = !fsync_commits };
    struct chain *c = NULL;
    if (chain_open(&c, &cfg, now) != 0) {
        printf("bench_headers: open failed\n");
        goto out;
    }
    uint64_t commits = chain_store_commits(c);
    double t0 = bench_now();
    size_t ok = 0;
    if (batched)
        chain_headers_begin(c);
    for (size_t i = 0; i < BENCH_HEADERS; i++)
        ok += chain_accept_header(c, &h[i], now, NULL) == 0;
    if (batched)
        chain_headers_end(c);
    double dt = bench_now() - t0;
    char name[96];
    snprintf(name, sizeof name, "store 2,000 headers, %s, %s (%llu commits)",
             fsync_commits ? "fsync" : "no fsync", batched ? "one commit" : "commit each",
             (unsigned long long)(chain_store_commits(c) - commits));
    bench_report(name, (double)ok, dt, "header");
    chain_close(c);
out:
    for (int k = 0; k < 3; k++) {
        static const char *const sfx[] = { "", "-wal", "-shm" };
        char p[80];
        snprintf(p, sizeof p, "%s%s", db, sfx[k]);
        unlink(p);
    }
    rmdir(dir);
}

void bench_headers(void)
{
    struct chain_header *h = calloc(BENCH_HEADERS, sizeof *h);
    if (!h)
        return;
    uint8_t prev[32];
    chain_genesis_hash(&chain_params_regtest, prev);
    for (size_t i = 0; i < BENCH_HEADERS; i++) {
        h[i].version = BLOCK_VERSION;
        memcpy(h[i].prev, prev, 32);
        memcpy(h[i].merkle_root, &i, sizeof i);
        h[i].time_ms = chain_params_regtest.genesis_time_ms + 1000 * (uint64_t)(i + 1);
        h[i].bits = chain_params_regtest.pow_limit_bits;
        if (!chain_mine(&h[i], 0, 10000000)) {
            printf("bench_headers: mining failed\n");
            free(h);
            return;
        }
        chain_header_hash(&h[i], prev);
    }
    for (int fs = 1; fs >= 0; fs--)
        for (int b = 0; b <= 1; b++)
            run(h, fs, b);
    free(h);
}
