/* Helpers for suites on the in-memory network (p2p/simnet.h). Header-only
 * (static), included once per suite after cmocka.h. */
#ifndef GOSSIPD_TESTS_SIMNET_HELPERS_H
#define GOSSIPD_TESTS_SIMNET_HELPERS_H

#include "chain/chain.h"
#include "p2p/simnet.h"

/* Mines a block on node's tip and submits it there (a new tip). */
static inline void sn_mine_at(struct simnet *sn, size_t node)
{
    struct chain_block b;
    uint8_t pk[32] = { 0x42 };
    struct chain *c = simnet_chain(sn, node);
    assert_int_equal(chain_block_template(c, pk, simnet_now(sn), &b), 0);
    for (uint64_t start = 0; !chain_mine(&b.hdr, start, 1000); start += 1000)
        ;
    assert_int_equal(p2p_submit_block(simnet_p2p(sn, node), &b, simnet_now(sn)),
                     CHAIN_ST_NEW_TIP);
    chain_block_free(&b);
}

#endif
