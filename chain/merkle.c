#include "chain/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "crypto/hash.h"

int chain_merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32], bool *mutated)
{
    bool mut = false;
    if (mutated) *mutated = false;
    if (n == 0) {
        memset(root, 0, 32);
        return 0;
    }
    uint8_t (*level)[32] = malloc(n * sizeof *level);
    if (!level) return CHAIN_ERR_NOMEM;
    memcpy(level, leaves, n * sizeof *level);

    while (n > 1) {
        size_t out = 0;
        for (size_t i = 0; i < n; i += 2) {
            size_t j = i + 1 < n ? i + 1 : i;   /* odd tail pairs with itself */
            /* Two equal real siblings mean the tree can be mutated without
             * changing the root: a valid block never has them. */
            if (j != i && memcmp(level[i], level[j], 32) == 0) mut = true;
            uint8_t pair[64];
            memcpy(pair, level[i], 32);
            memcpy(pair + 32, level[j], 32);
            hash_sha256d(level[out++], pair, sizeof pair);
        }
        n = out;
    }
    memcpy(root, level[0], 32);
    free(level);
    if (mutated) *mutated = mut;
    return 0;
}
