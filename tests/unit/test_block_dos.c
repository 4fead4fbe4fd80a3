/* Low-work full blocks fetched by inv (issue 15, "orphan blocks"): a
 * scripted attacker peer against the core on an in-memory chain, with
 * real regtest proof of work.
 *
 * An inv for a block whose header we do not know is answered with a
 * getdata at once (a block on our tip must not wait for headers). Before:
 * the block then counted as requested and was stored whatever its work,
 * so a peer grew our block index and store with a cheap fork off genesis,
 * one round trip per block. Now such a block needs the work its header
 * would have needed (chain_headers_min_work). */

#include "chain_helpers.h"
#include "p2p_fake.h"

#define TIP 60          /* our chain's height */
#define FORK 50         /* the attacker's fork off genesis: less work */

static void mine_on(struct chain *c, uint64_t now, uint8_t salt, struct chain_block *b)
{
    uint8_t pk[32] = { 0x99, salt };
    assert_int_equal(chain_block_template(c, pk, now, b), 0);
    for (uint64_t start = 0; !chain_mine(&b->hdr, start, 1000);)
        start += 1000;
}

/* n blocks mined on a fresh chain of their own, one second apart. */
static void mine_chain(struct chain_block *b, size_t n, uint8_t salt)
{
    struct chain *c;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&c, &cc, T0), 0);
    for (size_t i = 0; i < n; i++) {
        struct chain_result r;
        mine_on(c, T0 + 1000 * (uint64_t)(i + 1) + salt, salt, &b[i]);
        assert_int_equal(chain_accept_block(c, &b[i], T0 + 1000 * (uint64_t)(i + 1), &r), 0);
        assert_int_equal(r.status, CHAIN_ST_NEW_TIP);
    }
    chain_close(c);
}

/* Answers peer's getdata frames (sent since the last reset) with the
 * blocks of bs it names, until it asks for nothing more. Returns the
 * number of blocks served. */
static size_t serve(struct fake *f, uint64_t peer, const struct chain_block *bs, size_t n,
                    uint64_t now)
{
    size_t served = 0;
    for (int round = 0; round < 8; round++) {
        /* Copy first: answering makes the core send more. */
        uint8_t want[16][32];
        size_t nw = 0;
        for (size_t i = 0; i < f->n_sends; i++) {
            struct p2p_frame_hdr h;
            struct p2p_list l;
            const uint8_t *pl = f->out + f->sends[i].off;
            assert_int_equal(p2p_frame_parse(pl, f->magic, &h), 0);
            if (f->sends[i].peer != peer || h.cmd != P2P_CMD_GETDATA)
                continue;
            assert_int_equal(p2p_dec_inv(pl + P2P_HEADER_BYTES, h.len, &l), 0);
            for (size_t e = 0; e < l.n && nw < 16; e++) {
                uint32_t type;
                const uint8_t *hash;
                p2p_inv_at(&l, e, &type, &hash);
                memcpy(want[nw++], hash, 32);
            }
        }
        reset_out(f);
        if (nw == 0)
            break;
        for (size_t w = 0; w < nw; w++)
            for (size_t k = 0; k < n; k++) {
                uint8_t bh[32];
                chain_header_hash(&bs[k].hdr, bh);
                if (memcmp(bh, want[w], 32) == 0) {
                    fake_send_block(f, peer, &bs[k], now);
                    served++;
                }
            }
    }
    return served;
}

/* Peer 1 announces by inv, one at a time, the 50 blocks of a fork off
 * genesis while our tip is at 60, and serves each as we ask (and the
 * parents we ask for when a block is an orphan). None is stored: not in
 * the block index, no body. Then an honest peer's block on our tip,
 * announced by inv, is fetched and connected at once. Before: all 50 in
 * the index and the store (110 headers). */
static void test_low_work_blocks_by_inv_not_stored(void **state)
{
    (void)state;
    static struct chain_block ours[TIP + 1], atk[FORK];
    mine_chain(ours, TIP + 1, 1);
    mine_chain(atk, FORK, 2);
    struct fake *f = fake_new(0);
    for (size_t i = 0; i < TIP; i++) {
        struct chain_result r;
        assert_int_equal(chain_accept_block(f->chain, &ours[i], T0 + 100000, &r), 0);
    }
    assert_int_equal(chain_height(f->chain), TIP);
    size_t count0 = chain_header_count(f->chain);
    handshake_in(f, 1, "10.9.0.1", T0 + 100000);
    handshake_in(f, 2, "10.9.0.2", T0 + 100000);
    uint64_t t = T0 + 100100;
    size_t served = 0;
    for (size_t i = 0; i < FORK; i++, t += 10) {
        uint8_t h[32];
        chain_header_hash(&atk[i].hdr, h);
        reset_out(f);
        fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, h, t);
        served += serve(f, 1, atk, FORK, t + 1);
    }
    /* The attack ran: we asked for every block at least once. */
    assert_true(served >= FORK);
    for (size_t i = 0; i < FORK; i++) {
        uint8_t h[32];
        chain_header_hash(&atk[i].hdr, h);
        assert_false(chain_get_header(f->chain, h, NULL, NULL));
        assert_false(chain_have_block(f->chain, h));
    }
    assert_int_equal(chain_header_count(f->chain), count0);
    assert_int_equal(chain_height(f->chain), TIP);

    /* The honest block on our tip: one inv, one getdata, connected. */
    uint8_t hh[32];
    chain_header_hash(&ours[TIP].hdr, hh);
    reset_out(f);
    fake_send_inv1(f, 2, P2P_CMD_INV, P2P_INV_BLOCK, hh, t);
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, 2, P2P_CMD_GETDATA, &pl, &len), 1);
    fake_send_block(f, 2, &ours[TIP], t + 1);
    assert_int_equal(chain_height(f->chain), TIP + 1);
    assert_true(chain_have_block(f->chain, hh));
    for (size_t i = 0; i <= TIP; i++)
        chain_block_free(&ours[i]);
    for (size_t i = 0; i < FORK; i++)
        chain_block_free(&atk[i]);
    fake_free(f);
}

/* A competing miner's block with the tip's work (a sibling of the tip),
 * announced by inv, is stored as a side block as before: equal work is
 * enough, so stale blocks are still counted and a tie can still flip. */
static void test_equal_work_block_by_inv_stored(void **state)
{
    (void)state;
    static struct chain_block ours[8], alt;
    mine_chain(ours, 8, 3);
    struct fake *f = fake_new(0);
    struct chain *c;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&c, &cc, T0), 0);
    for (size_t i = 0; i < 8; i++) {
        struct chain_result r;
        assert_int_equal(chain_accept_block(f->chain, &ours[i], T0 + 100000, &r), 0);
        if (i < 7)
            assert_int_equal(chain_accept_block(c, &ours[i], T0 + 100000, &r), 0);
    }
    mine_on(c, T0 + 7777, 4, &alt);   /* height 8, next to our tip */
    chain_close(c);
    handshake_in(f, 1, "10.9.1.1", T0 + 100000);
    uint8_t h[32];
    chain_header_hash(&alt.hdr, h);
    reset_out(f);
    fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, h, T0 + 100100);
    assert_int_equal(serve(f, 1, &alt, 1, T0 + 100101), 1);
    assert_true(chain_have_block(f->chain, h));
    assert_int_equal(chain_height(f->chain), 8);
    for (size_t i = 0; i < 8; i++)
        chain_block_free(&ours[i]);
    chain_block_free(&alt);
    fake_free(f);
}

#define REANNOUNCES 5

/* Peer 1 announces a low-work block (off genesis, below our tip at 60)
 * by inv, serves it when asked, and announces it again and again: it is
 * downloaded once, refused once, and not asked for again. Before: every
 * inv made us download it again (1 + REANNOUNCES downloads). A header
 * chain with the work would still plan it (refused_unvetted needs its
 * header unknown). */
static void test_refused_block_not_fetched_again(void **state)
{
    (void)state;
    static struct chain_block ours[TIP], atk[1];
    mine_chain(ours, TIP, 1);
    mine_chain(atk, 1, 2);
    struct fake *f = fake_new(0);
    for (size_t i = 0; i < TIP; i++) {
        struct chain_result r;
        assert_int_equal(chain_accept_block(f->chain, &ours[i], T0 + 100000, &r), 0);
    }
    handshake_in(f, 1, "10.9.2.1", T0 + 100000);
    uint8_t h[32];
    chain_header_hash(&atk[0].hdr, h);
    uint64_t t = T0 + 100100;
    size_t downloads = 0;
    for (int i = 0; i <= REANNOUNCES; i++, t += 1000) {
        reset_out(f);
        fake_send_inv1(f, 1, P2P_CMD_INV, P2P_INV_BLOCK, h, t);
        p2p_on_tick(f->p, t + 1);
        downloads += serve(f, 1, atk, 1, t + 2);
        assert_false(chain_have_block(f->chain, h));
    }
    print_message("a refused block announced %d times: downloaded %zu times\n",
                  1 + REANNOUNCES, downloads);
    assert_int_equal(downloads, 1);
    assert_int_equal(chain_height(f->chain), TIP);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.misbehaviours, 0);
    for (size_t i = 0; i < TIP; i++)
        chain_block_free(&ours[i]);
    chain_block_free(&atk[0]);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_work_blocks_by_inv_not_stored),
        cmocka_unit_test(test_equal_work_block_by_inv_stored),
        cmocka_unit_test(test_refused_block_not_fetched_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
