/* libFuzzer target: the block decoder must never crash or over-allocate,
 * and whatever it accepts must re-encode to the same bytes. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chain_block b;
    if (chain_block_parse(&b, data, size, 1024 * 1024) != 0) return 0;
    struct wr w;
    wr_init(&w, BLOCK_SIZE_LIMIT);
    assert(chain_block_encode(&w, &b));
    assert(w.len == size && memcmp(w.buf, data, size) == 0);
    uint8_t root[32];
    bool mutated;
    (void)chain_block_merkle(&b, root, &mutated);
    wr_free(&w);
    chain_block_free(&b);
    return 0;
}
