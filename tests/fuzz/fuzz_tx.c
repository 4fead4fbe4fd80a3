/* libFuzzer target: the tx decoder must never crash, and whatever it
 * accepts must re-encode to the same bytes (canonical encoding). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chain/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chain_tx tx;
    if (chain_tx_parse(&tx, data, size) != 0) return 0;
    uint8_t out[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, out, sizeof out);
    assert(chain_tx_encode(&w, &tx));
    assert(w.len == size && memcmp(out, data, size) == 0);
    (void)chain_tx_verify_sig(&tx);
    return 0;
}
