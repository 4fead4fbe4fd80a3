/* libFuzzer target: every p2p payload decoder. The first input byte picks
 * the decoder (0xfc..0xff: the compact-block ones, 0xfb: pushreq, so older
 * corpus entries keep their decoder); what a decoder accepts is walked with
 * its accessors, which must then never read out of bounds.
 *
 * Built as the corpus replayer it also counts, per decoder, the inputs it
 * accepted and refused: fuzz_replay_check() fails the replay when a decoder
 * was not reached both ways, so the corpus keeps a valid seed and a refused
 * one for each. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "p2p/msg.h"
#include "p2p/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DECODERS 11
#define FUZZ_SLOTS (FUZZ_DECODERS + 5)   /* + 100..104 */

int fuzz_replay_check(void);

static const char *const fuzz_names[FUZZ_SLOTS] = {
    "version", "nonce", "addr", "inv", "tx", "block", "getheaders", "headers", "recon",
    "empty", "frame", "sendcmpct", "cmpctblock", "getblocktxn", "blocktxn", "pushreq",
};
static unsigned long fuzz_ok[FUZZ_SLOTS], fuzz_refused[FUZZ_SLOTS];

static void fuzz_count(unsigned which, int err)
{
    unsigned slot = which >= 100 ? FUZZ_DECODERS + (which - 100) : which;
    if (err == 0)
        fuzz_ok[slot]++;
    else
        fuzz_refused[slot]++;
}

int fuzz_replay_check(void)
{
    int bad = 0;
    for (unsigned i = 0; i < FUZZ_SLOTS; i++) {
        printf("%-12s accepted %6lu  refused %6lu\n", fuzz_names[i], fuzz_ok[i],
               fuzz_refused[i]);
        if (!fuzz_ok[i] || !fuzz_refused[i]) {
            printf("FAIL: the corpus does not reach %s both ways\n", fuzz_names[i]);
            bad = 1;
        }
    }
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    unsigned which = data[0] >= 0xfc ? 100u + (data[0] & 3u)
                   : data[0] == 0xfb ? 104u : data[0] % FUZZ_DECODERS;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct p2p_list l;
    uint32_t type;
    const uint8_t *hash;
    int err;

    switch (which) {
    case 0: {
        struct p2p_version v;
        fuzz_count(which, p2p_dec_version(p, n, &v));
        break;
    }
    case 1: {
        uint64_t nonce;
        fuzz_count(which, p2p_dec_nonce(p, n, &nonce));
        break;
    }
    case 2:
        err = p2p_dec_addr(p, n, &l);
        fuzz_count(which, err);
        if (err == 0)
            for (size_t i = 0; i < l.n; i++) {
                struct p2p_addr_entry e;
                p2p_addr_at(&l, i, &e);
            }
        break;
    case 3:
        err = p2p_dec_inv(p, n, &l);
        fuzz_count(which, err);
        if (err == 0)
            for (size_t i = 0; i < l.n; i++) p2p_inv_at(&l, i, &type, &hash);
        break;
    case 4: {
        struct chain_tx tx;
        fuzz_count(which, p2p_dec_tx(p, n, &tx));
        break;
    }
    case 5: {
        struct chain_block b;
        err = p2p_dec_block(p, n, &b);
        fuzz_count(which, err);
        if (err == 0) chain_block_free(&b);
        break;
    }
    case 6: {
        struct p2p_getheaders g;
        fuzz_count(which, p2p_dec_getheaders(p, n, &g));
        break;
    }
    case 7:
        err = p2p_dec_headers(p, n, &l);
        fuzz_count(which, err);
        if (err == 0)
            for (size_t i = 0; i < l.n; i++) {
                struct chain_header h;
                p2p_header_at(&l, i, &h);
            }
        break;
    case 8: {
        struct p2p_recon_msg m;
        err = p2p_dec_recon(p, n, &m);
        fuzz_count(which, err);
        if (err == 0) {
            struct p2p_recon_iter it;
            struct p2p_recon_node node;
            p2p_recon_iter_init(&it, &m);
            while (p2p_recon_next(&it, &node)) {
            }
        }
        break;
    }
    case 9:
        fuzz_count(which, p2p_dec_empty(p, n));
        break;
    case 100: {
        struct p2p_sendcmpct sc;
        fuzz_count(which, p2p_dec_sendcmpct(p, n, &sc));
        break;
    }
    case 101: {
        struct p2p_cmpctblock c;
        err = p2p_dec_cmpctblock(p, n, &c);
        fuzz_count(which, err);
        if (err == 0) {
            struct p2p_prefilled_iter it;
            struct chain_tx tx;
            uint32_t index;
            uint64_t x = 0;
            for (size_t i = 0; i < c.n_sid; i++)
                x ^= p2p_cmpct_sid_at(&c, i);
            p2p_prefilled_iter_init(&it, &c);
            while (p2p_prefilled_next(&it, &index, &tx))
                x ^= index;
            (void)x;
        }
        break;
    }
    case 102: {
        struct p2p_getblocktxn g;
        static uint32_t idx[P2P_MAX_CMPCT_TXS];
        err = p2p_dec_getblocktxn(p, n, &g);
        fuzz_count(which, err);
        if (err == 0)
            p2p_getblocktxn_indexes(&g, idx);
        break;
    }
    case 103: {
        struct p2p_blocktxn b;
        err = p2p_dec_blocktxn(p, n, &b);
        fuzz_count(which, err);
        if (err == 0) {
            struct p2p_blocktxn_iter it;
            struct chain_tx tx;
            p2p_blocktxn_iter_init(&it, &b);
            while (p2p_blocktxn_next(&it, &tx))
                ;
        }
        break;
    }
    case 104: {
        uint32_t graft, prune;
        fuzz_count(which, p2p_dec_pushreq(p, n, &graft, &prune));
        break;
    }
    default: {
        struct p2p_frame_hdr h;
        err = n >= P2P_HEADER_BYTES ? p2p_frame_parse(p, 0x74727367, &h) : -1;
        fuzz_count(FUZZ_DECODERS - 1, err);
        if (err == 0)
            (void)p2p_frame_checksum_ok(&h, p + P2P_HEADER_BYTES, n - P2P_HEADER_BYTES);
        break;
    }
    }
    return 0;
}
