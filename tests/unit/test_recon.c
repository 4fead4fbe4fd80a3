/* p2p/recon.c as a module (bucket checksums from prefix XORs, listings,
 * the work count), and the core's recon budget against attackers: peers
 * that send full-size recon messages built to cost the most (listings of
 * the root bucket that claim to be empty) cannot make the node examine
 * more than its budget, nor announce it its whole mempool again and again. */
#include "p2p_fake.h"
#include "chain_helpers.h"

#include "p2p/recon.h"

#define POOL_TXS 2000u
#define ATTACKERS 8u

static void random_ids(uint8_t (*ids)[32], size_t n, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 32; b++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            ids[i][b] = (uint8_t)(x >> 56);
        }
}

static void test_bucket_checksums_match_a_walk(void **state)
{
    (void)state;
    static uint8_t ids[3000][32];
    random_ids(ids, 3000, 7);
    struct p2p_recon_set s;
    assert_int_equal(p2p_recon_set_build(&s, (const uint8_t (*)[32])ids, 3000), 0);
    for (unsigned depth = 0; depth <= 3; depth++)
        for (uint32_t prefix = 0; prefix < (1u << (4 * depth)) && prefix < 300; prefix += 7) {
            size_t lo, hi;
            uint64_t x;
            p2p_recon_bucket(&s, depth, prefix, &lo, &hi, &x);
            uint64_t walk = 0;
            for (size_t i = lo; i < hi; i++)
                walk ^= s.items[i].sid;
            assert_true(x == walk);
            for (size_t i = lo; i < hi; i++)   /* and the bucket is the prefix's */
                assert_true(depth == 0 ||
                            (s.items[i].sid >> (64 - 4 * depth)) == prefix);
        }
    p2p_recon_set_free(&s);
}

static void test_listing_gives_and_wants_and_counts_work(void **state)
{
    (void)state;
    static uint8_t mine[20][32], theirs[12][32];
    random_ids(mine, 20, 1);
    memcpy(theirs, mine, 10 * 32);              /* 10 shared */
    random_ids(theirs + 10, 2, 99);             /* 2 only theirs */
    struct p2p_recon_set s;
    assert_int_equal(p2p_recon_set_build(&s, (const uint8_t (*)[32])mine, 20), 0);
    struct wr w;
    wr_init(&w, P2P_MAX_RECON_BYTES);
    p2p_put_recon_count(&w, 1);
    p2p_put_recon_listing(&w, 0, 0, (const uint8_t (*)[32])theirs, 12);
    struct p2p_recon_msg m;
    assert_int_equal(p2p_dec_recon(w.buf, w.len, &m), 0);
    struct p2p_recon_out out;
    p2p_recon_out_init(&out);
    assert_int_equal(p2p_recon_process(&s, &m, SIZE_MAX, &out), 0);
    assert_int_equal(out.n_want, 2);
    assert_int_equal(out.n_give, 10);
    assert_int_equal(out.work, 1 + 12 + 20);
    assert_false(out.cut);
    p2p_recon_out_free(&out);
    /* With no budget left nothing is read. */
    p2p_recon_out_init(&out);
    out.work = 0;
    assert_int_equal(p2p_recon_process(&s, &m, 0, &out), 0);
    assert_true(out.cut);
    assert_int_equal(out.n_give + out.n_want, 0);
    p2p_recon_out_free(&out);
    wr_free(&w);
    p2p_recon_set_free(&s);
}

/* Fills the fake node's mempool with a chain of the dev key's txs. */
static void fill_pool(struct fake *f, size_t n)
{
    struct tkey dev, to;
    tdev(&dev);
    tkey(&to, 42);
    for (size_t i = 0; i < n; i++) {
        struct chain_tx tx = tmk_tx(&dev, to.pk, 1000, chain_params_regtest.min_fee, i);
        assert_int_equal(chain_mempool_accept(f->chain, &tx, CHAIN_ORIGIN_NONE, T0),
                         CHAIN_TX_ACCEPTED);
    }
    assert_int_equal(chain_mempool_count(f->chain), n);
}

/* A message built to cost the most within the caps: root listings full of
 * ids we lack (each a search, a request to track) and claiming none of ours
 * (we would give our pool), then root summaries that never match (children
 * to compute while there is room, a search each after). */
#define ATTACK_LISTINGS 8u
static void attack_msg(struct wr *w)
{
    static uint8_t ids[P2P_MAX_RECON_IDS][32];
    random_ids(ids, P2P_MAX_RECON_IDS, 5);
    wr_init(w, P2P_MAX_RECON_BYTES);
    p2p_put_recon_count(w, P2P_MAX_RECON_NODES);
    uint32_t per = P2P_MAX_RECON_IDS / ATTACK_LISTINGS;
    for (unsigned i = 0; i < ATTACK_LISTINGS; i++)
        p2p_put_recon_listing(w, 0, 0, (const uint8_t (*)[32])ids + i * per, per);
    for (unsigned i = ATTACK_LISTINGS; i < P2P_MAX_RECON_NODES; i++)
        p2p_put_recon_summary(w, 0, 0, 999999, i);
}

static void test_attackers_cannot_buy_more_than_the_budget(void **state)
{
    (void)state;
    struct fake *f = fake_new(64);
    fill_pool(f, POOL_TXS);
    char ip[32];
    for (unsigned a = 0; a < ATTACKERS; a++) {
        snprintf(ip, sizeof ip, "10.%u.0.1", 20 + a);
        handshake_in(f, 100 + a, ip, T0);
    }
    struct wr w;
    attack_msg(&w);
    struct p2p_stats st0, st;
    p2p_get_stats(f->p, &st0);
    /* 3 budget periods; each attacker sends its whole message allowance
     * in every one (64 per period; more would be scored as a flood). */
    uint64_t t = T0;
    const unsigned periods = 3;
    for (unsigned per = 0; per < periods; per++) {
        for (unsigned k = 0; k < P2P_RECON_BUDGET_MSGS; k++)
            for (unsigned a = 0; a < ATTACKERS; a++) {
                frame(f, 100 + a, P2P_CMD_RECON, w.buf, w.len, t);
                reset_out(f);
            }
        t += P2P_RECON_BUDGET_MS;
        p2p_on_tick(f->p, t);
        reset_out(f);
    }
    p2p_get_stats(f->p, &st);
    uint64_t work = st.recon_work - st0.recon_work;
    /* The last node read may overrun by its own cost (a listing: its ids
     * and the pool). */
    uint64_t per_period_max = P2P_RECON_WORK_NODE_MAX + P2P_MAX_RECON_IDS + POOL_TXS;
    print_message("recon attack: %u peers x %u msgs x %u periods: %llu entries examined "
                  "(budget %llu), %llu messages throttled\n", ATTACKERS,
                  P2P_RECON_BUDGET_MSGS, periods, (unsigned long long)work,
                  (unsigned long long)(periods * per_period_max),
                  (unsigned long long)(st.recon_throttled - st0.recon_throttled));
    assert_true(work > 0);
    assert_true(work <= periods * per_period_max);
    /* Without a budget the same messages would cost this much: */
    assert_true(work * 100 < (uint64_t)periods * P2P_RECON_BUDGET_MSGS * ATTACKERS *
                                 P2P_MAX_RECON_NODES * POOL_TXS);
    /* The mempool is announced to each attacker a bounded number of times:
     * what it gives per message is capped, and so is the work behind it. */
    uint64_t inv_entries = (st.bytes_sent[P2P_CMD_INV] - st0.bytes_sent[P2P_CMD_INV]) /
                           P2P_INV_ENTRY_BYTES;
    assert_true(inv_entries <= (uint64_t)periods * ATTACKERS * POOL_TXS);
    /* And none of them was scored for it: the budget, not a penalty. */
    assert_true(st.recon_throttled - st0.recon_throttled > 0);
    /* An honest peer connected meanwhile still gets its rounds answered. */
    handshake_in(f, 200, "10.99.0.1", t);
    t += P2P_RECON_BUDGET_MS;
    p2p_on_tick(f->p, t);
    reset_out(f);
    struct wr h;
    wr_init(&h, P2P_MAX_RECON_BYTES);
    p2p_put_recon_count(&h, 1);
    p2p_put_recon_summary(&h, 0, 0, 0, 0);          /* its pool is empty */
    frame(f, 200, P2P_CMD_RECON, h.buf, h.len, t);
    assert_true(sent_to(f, 200, P2P_CMD_RECON, NULL, NULL) == 1);
    wr_free(&h);
    wr_free(&w);
    fake_free(f);
}

static void test_snapshot_is_reused_until_the_pool_changes(void **state)
{
    (void)state;
    struct fake *f = fake_new(8);
    fill_pool(f, 50);
    handshake_in(f, 1, "10.1.0.1", T0);
    struct wr h;
    wr_init(&h, P2P_MAX_RECON_BYTES);
    p2p_put_recon_count(&h, 1);
    p2p_put_recon_summary(&h, 0, 0, 0, 0);
    struct p2p_stats a, b;
    p2p_get_stats(f->p, &a);
    for (int i = 0; i < 10; i++)
        frame(f, 1, P2P_CMD_RECON, h.buf, h.len, T0 + 1000 + (uint64_t)i);
    p2p_get_stats(f->p, &b);
    assert_true(b.recon_snapshots - a.recon_snapshots <= 1);   /* one pool, one snapshot */
    /* A changed pool is seen at once, and the rebuild is paid from the
     * budget (the work counts the entries sorted). */
    struct tkey dev, to;
    tdev(&dev);
    tkey(&to, 43);
    struct chain_tx tx = tmk_tx(&dev, to.pk, 1000, chain_params_regtest.min_fee, 50);
    assert_int_equal(p2p_submit_tx(f->p, &tx, T0 + 2000), CHAIN_TX_ACCEPTED);
    frame(f, 1, P2P_CMD_RECON, h.buf, h.len, T0 + 2001);
    p2p_get_stats(f->p, &a);
    assert_int_equal(a.recon_snapshots - b.recon_snapshots, 1);
    assert_true(a.recon_work - b.recon_work >= 51);
    wr_free(&h);
    fake_free(f);
}

int main(void)
{
    assert_int_equal(sig_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_checksums_match_a_walk),
        cmocka_unit_test(test_listing_gives_and_wants_and_counts_work),
        cmocka_unit_test(test_attackers_cannot_buy_more_than_the_budget),
        cmocka_unit_test(test_snapshot_is_reused_until_the_pool_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
