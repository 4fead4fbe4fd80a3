/* Bitcoin's merkle tree: pairwise SHA256d, the last node of an odd level
 * paired with itself. */
#ifndef GOSSIPD_CHAIN_MERKLE_H
#define GOSSIPD_CHAIN_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Root of n leaves (n >= 1; for n = 0 the root is all zeros). *mutated (may
 * be NULL) is set when some level holds two equal adjacent nodes, the sign
 * of a tree mutated by duplicating a tail (CVE-2012-2459). Returns 0 or
 * CHAIN_ERR_NOMEM. */
int chain_merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32], bool *mutated);

#endif
