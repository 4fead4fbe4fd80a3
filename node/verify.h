/* Signature checks for the p2p core on libuv's thread pool (the core's
 * p2p_io.verify_tx; issue 10, item 5). The core's calls during one loop
 * turn fill a batch; a batch goes to a worker thread when it is full or at
 * the end of the loop turn (a uv_check handle); the worker runs
 * chain_tx_verify_sig on each tx; back on the loop thread each answer goes
 * to the sink. At most max_batches batches are out at once: past that,
 * node_verify_submit refuses and the core checks inline. */
#ifndef GOSSIPD_NODE_VERIFY_H
#define GOSSIPD_NODE_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "chain/tx.h"

/* Txs per batch: a worker's share of one loop turn, large enough that the
 * thread hop (~10-50 us) is a small part of its ~64 x 40 us of checks. */
#define NODE_VERIFY_BATCH_JOBS 64u
/* -par: threads, 0 = one per core (and at most this many). */
#define NODE_VERIFY_MAX_THREADS 16u

typedef void (*node_verify_sink)(void *ctx, uint64_t job, bool ok);

struct node_verify;

/* threads: workers to keep busy (libuv's pool must have as many:
 * node_verify_pool_size before the first loop). Returns 0 or -1. */
int node_verify_create(struct node_verify **out, uv_loop_t *loop, unsigned threads,
                       node_verify_sink sink, void *ctx);
/* Copies *tx. Returns 0, or -1 when max batches are out (check inline). */
int node_verify_submit(struct node_verify *v, uint64_t job, const struct chain_tx *tx);
/* Stops taking jobs and drops the answers still to come (their batches
 * finish on the workers; the loop runs until they have). */
void node_verify_close(struct node_verify *v);
/* After the loop has run to its end. */
void node_verify_free(struct node_verify *v);
/* Sets UV_THREADPOOL_SIZE for -par=threads (0: the cores) unless the
 * environment set it; call before libuv starts its pool. Returns the
 * thread count to give node_verify_create. */
unsigned node_verify_pool_size(unsigned threads);

#endif
