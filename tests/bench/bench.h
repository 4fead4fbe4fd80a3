/* Benchmark sections and the tiny timing helpers they share. Figures are
 * printed, never asserted. */
#ifndef GOSSIPD_BENCH_H
#define GOSSIPD_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chain/block.h"
#include "chain/tx.h"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Print one figure: name, count per second. */
void bench_report(const char *name, double count, double seconds, const char *unit);

void bench_formats(void);
void bench_chain(void);
void bench_v2(void);
void bench_ingest(void);
void bench_ingest_tcp(void);
void bench_headers(void);
/* n signed txs from n distinct senders, and the block (mined on regtest's
 * genesis at start) that funds them. Returns 0 or -1. */
int bench_ingest_prepare(size_t n, uint64_t start, struct chain_block *funding,
                         struct chain_tx **txs);

#endif
