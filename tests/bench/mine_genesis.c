/* Finds the genesis nonce of each network and prints it: run once when the
 * genesis block changes, then paste the nonces into chain/params.c. */
#include <inttypes.h>
#include <stdio.h>

#include "chain/params.h"
#include "chain/pow.h"
#include "crypto/sig.h"

int main(void)
{
    const struct chain_params *nets[] = { &chain_params_regtest, &chain_params_testnet };
    if (sig_init() != 0) return 1;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        struct chain_block b;
        uint8_t hash[32];
        if (chain_genesis_block(nets[i], &b) != 0) return 1;
        for (b.hdr.nonce = 0;; b.hdr.nonce++) {
            chain_header_hash(&b.hdr, hash);
            if (chain_pow_check(hash, b.hdr.bits, nets[i]->pow_limit_bits)) break;
        }
        printf("%s genesis nonce %" PRIu64 "\n", nets[i]->name, b.hdr.nonce);
        chain_block_free(&b);
    }
    return 0;
}
