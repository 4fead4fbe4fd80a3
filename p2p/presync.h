/* Headers presync (the idea of Bitcoin Core's headers presync since 24.0,
 * written anew): a peer's chain of headers that does not yet reach the
 * work headers must have to be stored (chain_headers_min_work) is checked
 * in a cheap form first, and stored only once its work is proven.
 *
 * Presync: every header is checked against its predecessor (linkage, PoW,
 * bits, time: chain_hdr_cursor_next) and forgotten; what is kept is the
 * cursor (last hash, height, cumulative work and the context of the next
 * check) and a salted 1-bit commitment to every P2P_PRESYNC_COMMIT_PERIOD-th
 * header, at heights with a secret offset. Redownload: once the work is
 * proven, the same chain is asked for again from its start; each header is
 * checked again and against the commitments, and held in a bounded buffer
 * that releases a header for storing only when P2P_PRESYNC_BUFFER_HEADERS
 * checked headers lie on top of it (or the work is reached), so a peer that
 * swaps in another chain is caught before much of it is stored.
 *
 * Per peer at most: three cursors (~2.6 KB), P2P_PRESYNC_MAX_HEADERS /
 * P2P_PRESYNC_COMMIT_PERIOD bits (4 KiB), and while redownloading the
 * buffer (P2P_PRESYNC_BUFFER_HEADERS + 1 headers of 96 bytes, ~192 KiB).
 * Sans-I/O: no peer, no clock; p2p/sync.c drives it. */
#ifndef GOSSIPD_P2P_PRESYNC_H
#define GOSSIPD_P2P_PRESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

struct p2p_presync;

/* Results of the add calls besides 0 and CHAIN_ERR_* (a header's fault). */
#define P2P_PRESYNC_NOT_LINKED  1   /* does not follow the last header */
#define P2P_PRESYNC_TOO_LONG    2   /* beyond P2P_PRESYNC_MAX_HEADERS */
#define P2P_PRESYNC_MISMATCH    3   /* redownload: not the chain presynced */

/* Starts a presync of the chain that forks from the known header start,
 * to reach target work. salt keys the commitments (secret). 0, or
 * CHAIN_ERR_NOMEM / the cursor's error. */
int p2p_presync_start(struct p2p_presync **out, const struct chain *c, const uint8_t start[32],
                      const struct chain_u256 *target, uint64_t salt);
void p2p_presync_free(struct p2p_presync *ps);
/* The hash the next header must follow (presync or redownload). */
const uint8_t *p2p_presync_tip(const struct p2p_presync *ps);
/* The known header the chain forks from (where redownload starts). */
const uint8_t *p2p_presync_start_hash(const struct p2p_presync *ps);
bool p2p_presync_redownloading(const struct p2p_presync *ps);
/* The phase's last header has at least the target work. */
bool p2p_presync_proven(const struct p2p_presync *ps);
/* Presync: check the next header, keep its commitment. */
int p2p_presync_add(struct p2p_presync *ps, const struct chain *c, const struct chain_header *h,
                    uint64_t now_ms);
/* After p2p_presync_proven in presync: start the redownload. */
void p2p_presync_redownload(struct p2p_presync *ps);
/* Redownload: check the next header again and against its commitment,
 * then buffer it. */
int p2p_presync_redownload_add(struct p2p_presync *ps, const struct chain *c,
                               const struct chain_header *h, uint64_t now_ms);
/* Redownload: the oldest buffered header, if it may be stored now (the
 * buffer is over P2P_PRESYNC_BUFFER_HEADERS, or the work is proven). */
bool p2p_presync_pop(struct p2p_presync *ps, struct chain_header *out);
/* Heap bytes held (tests, p2p_check). */
size_t p2p_presync_bytes(const struct p2p_presync *ps);

#endif
