/* p2p/txrequest.c: the pull scheduler, with a fake clock. Also the small
 * building blocks it uses (p2p/util.c) and the reconciliation logic
 * (p2p/recon.c), which are pure too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "p2p/p2p.h"
#include "p2p/recon.h"
#include "p2p/txrequest.h"
#include "p2p/util.h"

static void h(uint8_t out[32], unsigned i)
{
    memset(out, 0, 32);
    out[0] = (uint8_t)i;
    out[1] = (uint8_t)(i >> 8);
    out[31] = 0xaa;
}

static size_t poll_all(struct p2p_txreq *r, uint64_t now, struct p2p_txreq_req *out)
{
    size_t n = p2p_txreq_poll(r, now, out, 1024);
    p2p_txreq_check(r);
    return n;
}

static void test_one_in_flight_then_timeout(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    h(x, 1);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    assert_int_equal(p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, 0), 0);
    assert_int_equal(p2p_txreq_announce(r, 2, P2P_INV_TX, x, true, 0), 0);
    assert_int_equal(p2p_txreq_announce(r, 2, P2P_INV_TX, x, true, 0), 1);   /* again */
    /* Asked from one peer only (the first announcer at equal rank). */
    assert_int_equal(poll_all(r, 100, out), 1);
    assert_true(out[0].peer == 1);
    assert_int_equal(out[0].type, P2P_INV_TX);
    assert_memory_equal(out[0].hash, x, 32);
    assert_int_equal(p2p_txreq_in_flight(r, 1), 1);
    assert_int_equal(poll_all(r, 200, out), 0);
    assert_true(p2p_txreq_next_deadline(r, 200) == 100 + P2P_TX_REQUEST_TIMEOUT_MS);
    /* Timeout: the next announcer. */
    assert_int_equal(poll_all(r, 100 + P2P_TX_REQUEST_TIMEOUT_MS, out), 1);
    assert_true(out[0].peer == 2);
    assert_int_equal(p2p_txreq_in_flight(r, 1), 0);
    /* Everyone timed out: forgotten. */
    assert_int_equal(poll_all(r, 100 + 2 * P2P_TX_REQUEST_TIMEOUT_MS, out), 0);
    assert_int_equal(p2p_txreq_size(r), 0);
    assert_false(p2p_txreq_has(r, x));
    p2p_txreq_destroy(r);
}

static void test_notfound_moves_on_and_forget(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    h(x, 2);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (uint64_t p = 1; p <= 3; p++)
        p2p_txreq_announce(r, p, P2P_INV_TX, x, true, 0);
    assert_int_equal(poll_all(r, 0, out), 1);
    assert_true(out[0].peer == 1);
    p2p_txreq_notfound(r, 1, x);
    /* At once, no timeout needed. */
    assert_int_equal(poll_all(r, 1, out), 1);
    assert_true(out[0].peer == 2);
    assert_true(p2p_txreq_from_peer(r, 3, x));
    /* The body arrived: everything about it goes. */
    p2p_txreq_forget(r, x);
    assert_int_equal(p2p_txreq_size(r), 0);
    assert_int_equal(p2p_txreq_in_flight(r, 2), 0);
    assert_false(p2p_txreq_from_peer(r, 3, x));
    assert_int_equal(poll_all(r, 10, out), 0);
    p2p_txreq_destroy(r);
}

static void test_preferred_and_reqtime(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32], y[32];
    h(x, 3);
    h(y, 4);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    /* Inbound (non-preferred) first, with the delay; outbound just after. */
    p2p_txreq_announce(r, 1, P2P_INV_TX, x, false, 0 + P2P_NONPREFERRED_DELAY_MS);
    assert_int_equal(poll_all(r, 10, out), 0);   /* not yet */
    assert_true(p2p_txreq_next_deadline(r, 10) == P2P_NONPREFERRED_DELAY_MS);
    p2p_txreq_announce(r, 2, P2P_INV_TX, x, true, 20);
    assert_int_equal(poll_all(r, 20, out), 1);
    assert_true(out[0].peer == 2);   /* outbound wins although later */
    /* Both ready: preferred first. */
    p2p_txreq_announce(r, 1, P2P_INV_TX, y, false, 0);
    p2p_txreq_announce(r, 3, P2P_INV_TX, y, true, 0);
    assert_int_equal(poll_all(r, 30, out), 1);
    assert_true(out[0].peer == 3);
    p2p_txreq_destroy(r);
}

static void test_per_peer_cap_and_blocks(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (unsigned i = 0; i < P2P_MAX_TX_IN_FLIGHT + 10; i++) {
        h(x, i);
        p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, 0);
    }
    for (unsigned i = 0; i < P2P_MAX_BLOCKS_IN_FLIGHT + 4; i++) {
        h(x, 1000 + i);
        p2p_txreq_announce(r, 1, P2P_INV_BLOCK, x, true, 0);
    }
    /* The window per type. */
    size_t n = poll_all(r, 0, out);
    assert_int_equal(n, P2P_MAX_TX_IN_FLIGHT + P2P_MAX_BLOCKS_IN_FLIGHT);
    assert_int_equal(p2p_txreq_in_flight(r, 1), n);
    /* One completes: one more goes out. */
    p2p_txreq_forget(r, out[0].hash);
    assert_int_equal(poll_all(r, 1, out), 1);
    /* The block timeout is the longer one. */
    size_t k = poll_all(r, P2P_TX_REQUEST_TIMEOUT_MS + 1, out);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(out[i].type, P2P_INV_TX);
    /* Wrong type, zero peer. */
    assert_int_equal(p2p_txreq_announce(r, 1, 9, x, true, 0), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_txreq_announce(r, 0, P2P_INV_TX, x, true, 0), P2P_ERR_INVALID_ARG);
    p2p_txreq_destroy(r);
}

static void test_peer_gone(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32], y[32];
    h(x, 5);
    h(y, 6);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, 0);
    p2p_txreq_announce(r, 2, P2P_INV_TX, x, true, 0);
    p2p_txreq_announce(r, 1, P2P_INV_BLOCK, y, true, 0);
    assert_int_equal(poll_all(r, 0, out), 2);
    p2p_txreq_peer_gone(r, 1);
    p2p_txreq_check(r);
    assert_false(p2p_txreq_has(r, y));   /* only peer 1 had it */
    assert_true(p2p_txreq_has(r, x));
    assert_int_equal(poll_all(r, 1, out), 1);
    assert_true(out[0].peer == 2);
    p2p_txreq_peer_gone(r, 2);
    assert_int_equal(p2p_txreq_size(r), 0);
    p2p_txreq_destroy(r);
}

static void test_caps_on_announcements(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    uint8_t x[32];
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (unsigned i = 0; i < P2P_TXREQ_MAX_PER_PEER; i++) {
        h(x, i);
        x[2] = (uint8_t)(i >> 16);
        assert_int_equal(p2p_txreq_announce(r, 7, P2P_INV_TX, x, false, 0), 0);
    }
    h(x, 60000);
    x[5] = 1;
    assert_int_equal(p2p_txreq_announce(r, 7, P2P_INV_TX, x, false, 0), P2P_ERR_FULL);
    /* Announcers per hash are capped too. */
    for (uint64_t p = 100; p < 100 + P2P_TXREQ_MAX_ANNOUNCERS; p++)
        assert_int_equal(p2p_txreq_announce(r, p, P2P_INV_TX, x, false, 0), 0);
    assert_int_equal(p2p_txreq_announce(r, 999, P2P_INV_TX, x, false, 0), 1);
    p2p_txreq_check(r);
    p2p_txreq_destroy(r);
}

/* The table grows far past its first entries, then shrinks as hashes are
 * forgotten, and keeps every entry it still tracks with its announcers
 * and their flags: after the shrink, a hash peer 1 answered notfound for
 * is asked from peer 2, one it did not from peer 1 (preferred). */
static void test_table_grows_and_shrinks_keeping_entries(void **state)
{
    (void)state;
    enum { N = 1000, KEEP_EVERY = 50 };
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (unsigned i = 0; i < N; i++) {
        h(x, i);
        assert_int_equal(p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, 1000), 0);
        assert_int_equal(p2p_txreq_announce(r, 2, P2P_INV_TX, x, false, 1000), 0);
        if (i % 2)
            p2p_txreq_notfound(r, 1, x);
    }
    p2p_txreq_check(r);
    assert_int_equal(p2p_txreq_size(r), N);
    for (unsigned i = 0; i < N; i++) {
        h(x, i);
        if (i % KEEP_EVERY != 0 && i % KEEP_EVERY != 1)
            p2p_txreq_forget(r, x);
    }
    p2p_txreq_check(r);
    assert_int_equal(p2p_txreq_size(r), 2 * N / KEEP_EVERY);
    for (unsigned i = 0; i < N; i++) {
        h(x, i);
        bool kept = i % KEEP_EVERY == 0 || i % KEEP_EVERY == 1;
        assert_int_equal(p2p_txreq_has(r, x), kept);
        assert_int_equal(p2p_txreq_from_peer(r, 1, x), kept);
        assert_int_equal(p2p_txreq_from_peer(r, 2, x), kept);
    }
    assert_int_equal(poll_all(r, 999, out), 0);
    size_t n = poll_all(r, 1000, out);
    assert_int_equal(n, 2 * N / KEEP_EVERY);
    for (size_t k = 0; k < n; k++) {
        unsigned i = out[k].hash[0] | (unsigned)out[k].hash[1] << 8;
        assert_true(out[k].peer == (i % 2 ? 2u : 1u));
        /* In announcement order. */
        assert_true(k == 0 || i > (unsigned)(out[k - 1].hash[0] | out[k - 1].hash[1] << 8));
    }
    /* Forgotten, all of them: grows again from nothing. */
    for (size_t k = 0; k < n; k++)
        p2p_txreq_forget(r, out[k].hash);
    assert_int_equal(p2p_txreq_size(r), 0);
    h(x, 7);
    assert_int_equal(p2p_txreq_announce(r, 3, P2P_INV_TX, x, true, 0), 0);
    assert_int_equal(poll_all(r, 1000, out), 1);
    assert_true(out[0].peer == 3);
    p2p_txreq_destroy(r);
}

/* An announcer dropped from a full hash makes the last one take its place,
 * flags and all: peer 1 (tried: notfound) gives way to the preferred
 * newcomer 9, peer 8 moves into its slot and must stay untried and
 * preferred, so it is asked (preferred, earliest reqtime) and not peer 6. */
static void test_dropped_announcer_keeps_the_others_flags(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[16];
    uint8_t x[32];
    h(x, 1);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (uint64_t k = 1; k <= P2P_TXREQ_MAX_ANNOUNCERS; k++)
        assert_int_equal(p2p_txreq_announce(r, k, P2P_INV_TX, x, k % 2 == 0, 100 - k), 0);
    p2p_txreq_notfound(r, 1, x);
    assert_int_equal(p2p_txreq_announce(r, 9, P2P_INV_TX, x, true, 100), 0);
    assert_false(p2p_txreq_from_peer(r, 1, x));
    p2p_txreq_check(r);
    assert_int_equal(p2p_txreq_poll(r, 100, out, 16), 1);
    assert_true(out[0].peer == P2P_TXREQ_MAX_ANNOUNCERS);
    p2p_txreq_destroy(r);
}

/* Deterministic: the same calls give the same requests. */
static void test_deterministic(void **state)
{
    (void)state;
    struct p2p_txreq_req a[1024], b[1024];
    size_t na = 0, nb = 0;
    for (int run = 0; run < 2; run++) {
        struct p2p_txreq *r;
        struct p2p_rng rng;
        p2p_rng_seed(&rng, 42);
        assert_int_equal(p2p_txreq_create(&r, 77), 0);
        uint8_t x[32];
        for (int i = 0; i < 300; i++) {
            h(x, (unsigned)p2p_rng_below(&rng, 50));
            p2p_txreq_announce(r, 1 + p2p_rng_below(&rng, 6), P2P_INV_TX, x,
                               p2p_rng_below(&rng, 2), p2p_rng_below(&rng, 100));
        }
        size_t n = p2p_txreq_poll(r, 100, run ? b : a, 1024);
        if (run)
            nb = n;
        else
            na = n;
        p2p_txreq_destroy(r);
    }
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(a[0]));
}

/* Requests go out in announcement order even after removals reshuffle the
 * tracker, and across polls capped by max or by the in-flight limit: a
 * sender's nonces announced in order are fetched in order. */
static void test_requests_in_announcement_order(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    const unsigned n = 2 * P2P_MAX_TX_IN_FLIGHT + 10;
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    for (unsigned i = 0; i < n; i++) {
        h(x, i);
        assert_int_equal(p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, 0), 0);
    }
    /* Removals move the newest entries into the holes. */
    for (unsigned i = 0; i < 5; i++) {
        h(x, i * 2);
        p2p_txreq_forget(r, x);
    }
    unsigned want = 0, got = 0;
    size_t m = p2p_txreq_poll(r, 0, out, 3);
    p2p_txreq_check(r);
    assert_int_equal(m, 3);
    for (;;) {
        for (size_t k = 0; k < m; k++, got++) {
            while (want < 10 && want % 2 == 0)
                want++;
            h(x, want++);
            assert_memory_equal(out[k].hash, x, 32);
            assert_true(out[k].peer == 1);
        }
        /* Serve them, then the next batch goes out. */
        for (size_t k = 0; k < m; k++)
            p2p_txreq_forget(r, out[k].hash);
        m = poll_all(r, 1, out);
        if (m == 0)
            break;
        assert_true(m <= P2P_MAX_TX_IN_FLIGHT);
    }
    assert_int_equal(got, n - 5);
    p2p_txreq_destroy(r);
}

static void test_filter_and_hmap(void **state)
{
    (void)state;
    struct p2p_filter f;
    assert_int_equal(p2p_filter_init(&f, 100), 0);
    for (uint64_t i = 1; i <= 150; i++)
        p2p_filter_add(&f, i);
    /* The last 100 are always remembered. */
    for (uint64_t i = 51; i <= 150; i++)
        assert_true(p2p_filter_has(&f, i));
    for (uint64_t i = 151; i <= 400; i++)
        p2p_filter_add(&f, i);
    assert_false(p2p_filter_has(&f, 1));
    assert_true(p2p_filter_has(&f, 400));
    p2p_filter_free(&f);

    struct p2p_hmap m;
    p2p_hmap_init(&m, 3);
    uint8_t k[32];
    for (unsigned i = 0; i < 1000; i++) {
        h(k, i);
        assert_int_equal(p2p_hmap_put(&m, k, i), 0);
    }
    for (unsigned i = 0; i < 1000; i += 2) {
        h(k, i);
        assert_true(p2p_hmap_del(&m, k));
    }
    for (unsigned i = 0; i < 1000; i++) {
        uint32_t v;
        h(k, i);
        assert_int_equal(p2p_hmap_get(&m, k, &v), i % 2 == 1);
        if (i % 2)
            assert_int_equal(v, i);
    }
    assert_int_equal(m.count, 500);
    p2p_hmap_free(&m);

    struct p2p_rng r;
    p2p_rng_seed(&r, 1);
    for (int i = 0; i < 1000; i++)
        assert_true(p2p_rng_below(&r, 7) < 7);
}

/* ---- reconciliation, two sides in memory ---- */

static void rand_id(struct p2p_rng *rng, uint8_t id[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = p2p_rng_next(rng);
        memcpy(id + 8 * i, &v, 8);
    }
}

/* Runs rounds between sets a and b until quiet. Returns messages used and
 * adds the bytes; every difference must end up in want/give. */
static int reconcile(uint8_t (*a)[32], size_t na, uint8_t (*b)[32], size_t nb,
                     size_t *bytes, size_t *a_wants, size_t *b_wants)
{
    struct p2p_recon_set sa, sb;
    assert_int_equal(p2p_recon_set_build(&sa, (const uint8_t (*)[32])a, na), 0);
    assert_int_equal(p2p_recon_set_build(&sb, (const uint8_t (*)[32])b, nb), 0);
    struct p2p_recon_out o;
    p2p_recon_out_init(&o);
    assert_int_equal(p2p_recon_start(&sa, &o), 0);
    int msgs = 0;
    bool a_turn = false;   /* b answers a's opening */
    *a_wants = *b_wants = 0;
    while (o.n_nodes > 0 && msgs < 64) {
        struct wr w;
        wr_init(&w, P2P_MAX_RECON_BYTES);
        p2p_put_recon_count(&w, o.n_nodes);
        wr_bytes(&w, o.body.buf, o.body.len);
        *bytes += w.len;
        msgs++;
        struct p2p_recon_msg m;
        assert_int_equal(p2p_dec_recon(w.buf, w.len, &m), 0);
        struct p2p_recon_out next;
        p2p_recon_out_init(&next);
        assert_int_equal(p2p_recon_process(a_turn ? &sa : &sb, &m, SIZE_MAX, &next), 0);
        /* want: the receiver lacks it; give: the sender lacks it. */
        if (a_turn) {
            *a_wants += next.n_want;
            *b_wants += next.n_give;
        } else {
            *b_wants += next.n_want;
            *a_wants += next.n_give;
        }
        wr_free(&w);
        p2p_recon_out_free(&o);
        o = next;
        a_turn = !a_turn;
    }
    p2p_recon_out_free(&o);
    p2p_recon_set_free(&sa);
    p2p_recon_set_free(&sb);
    return msgs;
}

/* The set grows from its first few slots past many resizes, and every id
 * added is found after each; absent ids are not; a full set refuses a new
 * id and still holds the old ones. Ids that share bits (sequential, equal
 * high halves, equal low halves) still spread: each add stays cheap. */
static void test_idset_grows_and_finds_every_id(void **state)
{
    (void)state;
    enum { N = 5000 };
    static const uint64_t shapes[3][2] = {
        { 1, 1 },                              /* 1, 2, 3, ... */
        { 0xabcdef0000000000ull, 1 },          /* same high half */
        { 0x5555, 1ull << 32 },                /* same low half */
    };
    for (int sh = 0; sh < 3; sh++) {
        struct p2p_idset s;
        assert_int_equal(p2p_idset_init(&s, N), 0);
        size_t resizes = 0, cap = 0;
        for (uint64_t i = 0; i < N; i++) {
            uint64_t id = shapes[sh][0] + i * shapes[sh][1];
            assert_true(p2p_idset_add(&s, id));
            assert_true(p2p_idset_add(&s, id));      /* again: no second entry */
            if (s.cap != cap) {
                resizes++;
                cap = s.cap;
                for (uint64_t j = 0; j <= i; j++)
                    assert_true(p2p_idset_has(&s, shapes[sh][0] + j * shapes[sh][1]));
            }
            assert_true(s.count * 4 <= s.cap * 3);   /* load <= 3/4 */
        }
        assert_true(resizes > 5);
        assert_int_equal(s.count, N);
        for (uint64_t i = 0; i < N; i++) {
            assert_true(p2p_idset_has(&s, shapes[sh][0] + i * shapes[sh][1]));
            assert_false(p2p_idset_has(&s, shapes[sh][0] + (N + i) * shapes[sh][1]));
        }
        assert_false(p2p_idset_add(&s, shapes[sh][0] + N * shapes[sh][1]));   /* full */
        assert_int_equal(s.count, N);
        p2p_idset_clear(&s);
        assert_int_equal(s.count, 0);
        assert_false(p2p_idset_has(&s, shapes[sh][0]));
        assert_true(p2p_idset_add(&s, shapes[sh][0]));
        assert_true(p2p_idset_has(&s, shapes[sh][0]));
        p2p_idset_free(&s);
    }
}

static void test_recon_finds_differences(void **state)
{
    (void)state;
    struct p2p_rng rng;
    p2p_rng_seed(&rng, 9);
    const size_t common = 2000;
    static uint8_t a[3000][32], b[3000][32];
    for (size_t i = 0; i < common; i++) {
        rand_id(&rng, a[i]);
        memcpy(b[i], a[i], 32);
    }
    size_t bytes = 0, aw, bw;
    /* Equal sets: one message of one summary. */
    assert_int_equal(reconcile(a, common, b, common, &bytes, &aw, &bw), 1);
    assert_true(bytes < 32);
    assert_int_equal(aw + bw, 0);
    /* 3 only in a, 2 only in b. */
    for (size_t i = 0; i < 3; i++)
        rand_id(&rng, a[common + i]);
    for (size_t i = 0; i < 2; i++)
        rand_id(&rng, b[common + i]);
    bytes = 0;
    int msgs = reconcile(a, common + 3, b, common + 2, &bytes, &aw, &bw);
    assert_int_equal(aw, 2);
    assert_int_equal(bw, 3);
    /* Compact: far below sending the pool's 2,000 txids (64 KB). */
    assert_true(bytes < 8000);
    assert_true(msgs <= 8);
    /* Empty on one side. */
    bytes = 0;
    reconcile(a, 0, b, 5, &bytes, &aw, &bw);
    assert_int_equal(aw, 5);
    assert_int_equal(bw, 0);
}

/* Issue 9: 8 inbound peers that announce a tx and never serve it filled
 * the hash's announcer slots; the honest outbound announcer was dropped
 * and the tx came only after > 60 s. Now it is asked at most one request
 * timeout after the first junk request, so the body comes within
 * 2 x P2P_TX_REQUEST_TIMEOUT_MS of the first announcement. */
static void test_junk_announcers_cannot_crowd_out(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t x[32];
    h(x, 7);
    assert_int_equal(p2p_txreq_create(&r, 9), 0);
    uint64_t t0 = 1000;
    for (uint64_t j = 1; j <= 8; j++)   /* junk, inbound */
        assert_int_equal(p2p_txreq_announce(r, 100 + j, P2P_INV_TX, x, false,
                                            t0 + P2P_NONPREFERRED_DELAY_MS), 0);
    assert_int_equal(poll_all(r, t0 + P2P_NONPREFERRED_DELAY_MS, out), 1);
    assert_true(out[0].peer > 100);                /* a junk peer is asked first */
    /* The honest outbound peer announces later and gets a slot. */
    assert_int_equal(p2p_txreq_announce(r, 1, P2P_INV_TX, x, true, t0 + 500), 0);
    assert_true(p2p_txreq_from_peer(r, 1, x));
    uint64_t asked = 0;
    for (uint64_t t = t0 + 500; t <= t0 + 2 * P2P_TX_REQUEST_TIMEOUT_MS && !asked; t += 10) {
        size_t n = poll_all(r, t, out);
        for (size_t i = 0; i < n; i++)
            if (out[i].peer == 1)
                asked = t;
    }
    assert_true(asked != 0);
    assert_true(asked <= t0 + P2P_NONPREFERRED_DELAY_MS + P2P_TX_REQUEST_TIMEOUT_MS);
    /* The spent junk announcer gives way to any newcomer. */
    assert_int_equal(p2p_txreq_announce(r, 200, P2P_INV_TX, x, false, t0), 0);
    p2p_txreq_destroy(r);
}

/* Issue 9: 30 peers x 5,000 unknown txids filled the 100,000-entry
 * tracker and honest announcements were refused. The reserve keeps room
 * for every peer's fair share. */
static void test_junk_cannot_fill_the_tracker(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    assert_int_equal(p2p_txreq_create(&r, 11), 0);
    unsigned k = 0;
    for (uint64_t j = 0; j < 30; j++) {
        for (unsigned i = 0; i < P2P_TXREQ_MAX_PER_PEER; i++, k++) {
            uint8_t x[32];
            h(x, k);
            x[2] = (uint8_t)(k >> 16);
            x[3] = 0x55;
            p2p_txreq_announce(r, 100 + j, P2P_INV_TX, x, false, 0);
        }
    }
    assert_true(p2p_txreq_size(r) <= P2P_TXREQ_MAX_ENTRIES - P2P_TXREQ_RESERVED_ENTRIES
                                         + 30 * P2P_TXREQ_FAIR_PER_PEER);
    /* Honest peers, outbound and inbound, each get their fair share in. */
    for (uint64_t peer = 1; peer <= 3; peer++) {
        for (unsigned i = 0; i < P2P_TXREQ_FAIR_PER_PEER; i++) {
            uint8_t x[32];
            h(x, i);
            x[2] = (uint8_t)peer;
            x[3] = 0x77;
            assert_int_equal(p2p_txreq_announce(r, peer, P2P_INV_TX, x, peer == 1, 0), 0);
        }
    }
    p2p_txreq_check(r);
    p2p_txreq_destroy(r);
}

/* Withholding outbound peers that reconnect (a fresh announcer each time)
 * must not starve an inbound peer that announced the block long before:
 * once a block's request has stalled, the earliest announcer goes next. */
static void test_stalled_block_goes_to_the_earliest_announcer(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    struct p2p_txreq_req out[1024];
    uint8_t b[32];
    h(b, 9);
    assert_int_equal(p2p_txreq_create(&r, 5), 0);
    uint64_t t = 1000;
    assert_int_equal(p2p_txreq_announce(r, 50, P2P_INV_BLOCK, b, false, t), 0);   /* honest, inbound */
    assert_int_equal(p2p_txreq_announce(r, 1, P2P_INV_BLOCK, b, true, t + 1), 0); /* withholder */
    assert_int_equal(poll_all(r, t + 2, out), 1);
    assert_true(out[0].peer == 1);                 /* outbound preferred at first */
    for (uint64_t w = 2; w < 6; w++) {
        /* The withholder stalls and is dropped; the next one connects and
         * announces before we ask again. */
        t += P2P_BLOCK_REQUEST_TIMEOUT_MS;
        p2p_txreq_peer_gone(r, w - 1);
        assert_int_equal(p2p_txreq_announce(r, w, P2P_INV_BLOCK, b, true, t), 0);
        size_t n = poll_all(r, t + 1, out);
        assert_int_equal(n, 1);
        if (out[0].peer == 50)
            break;
        assert_true(w < 3);   /* at the latest the first retry asks the honest peer */
    }
    assert_true(out[0].peer == 50);
    p2p_txreq_destroy(r);
}

/* Issue 15: peers that announce thousands of txs and never serve them (a
 * recon listing of random txids does it in one message) must not make
 * every later event of the node scan the tracker: after a poll that
 * changed nothing, polls, stallers and deadlines examine no entry until an
 * announcement, an answer, a departure, a timeout or a reqtime. */
static void test_quiet_polls_scan_nothing(void **state)
{
    (void)state;
    struct p2p_txreq *r;
    static struct p2p_txreq_req out[1024];
    uint64_t stall[8];
    assert_int_equal(p2p_txreq_create(&r, 13), 0);
    const uint64_t t0 = 1000;
    unsigned k = 0;
    for (uint64_t peer = 1; peer <= 8; peer++)
        for (unsigned i = 0; i < P2P_TXREQ_MAX_PER_PEER; i++, k++) {
            uint8_t x[32];
            h(x, k);
            x[2] = (uint8_t)(k >> 16);
            x[3] = 0x66;
            assert_int_equal(p2p_txreq_announce(r, peer, P2P_INV_TX, x, false, t0), 0);
        }
    const size_t n = p2p_txreq_size(r);
    assert_int_equal(n, 8 * P2P_TXREQ_MAX_PER_PEER);
    size_t asked = 0, got;
    while ((got = p2p_txreq_poll(r, t0, out, 1024)) > 0)
        asked += got;
    assert_int_equal(asked, 8 * P2P_MAX_TX_IN_FLIGHT);   /* every window full */
    uint64_t scanned = p2p_txreq_scanned(r);
    /* A thousand events before the requests time out: nothing to do. */
    for (uint64_t t = t0; t < t0 + 1000; t++) {
        assert_int_equal(p2p_txreq_block_stallers(r, t, stall, 8), 0);
        assert_int_equal(p2p_txreq_poll(r, t, out, 1024), 0);
        assert_true(p2p_txreq_next_deadline(r, t) == t0 + P2P_TX_REQUEST_TIMEOUT_MS);
    }
    assert_true(p2p_txreq_scanned(r) == scanned);
    /* A change is seen at once: peer 1 answers notfound, its next tx goes. */
    uint8_t x[32];
    h(x, 0);            /* peer 1's first: asked first */
    x[2] = 0;
    x[3] = 0x66;
    assert_true(p2p_txreq_from_peer(r, 1, x));
    p2p_txreq_notfound(r, 1, x);
    assert_int_equal(p2p_txreq_poll(r, t0 + 1000, out, 1024), 1);
    assert_true(out[0].peer == 1);
    assert_true(p2p_txreq_scanned(r) == scanned + n);
    /* And so is a timeout: every request expires and the next ones go. */
    asked = 0;
    while ((got = p2p_txreq_poll(r, t0 + P2P_TX_REQUEST_TIMEOUT_MS, out, 1024)) > 0)
        asked += got;
    assert_int_equal(asked, 8 * P2P_MAX_TX_IN_FLIGHT - 1);
    p2p_txreq_check(r);
    p2p_txreq_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_in_flight_then_timeout),
        cmocka_unit_test(test_notfound_moves_on_and_forget),
        cmocka_unit_test(test_preferred_and_reqtime),
        cmocka_unit_test(test_per_peer_cap_and_blocks),
        cmocka_unit_test(test_peer_gone),
        cmocka_unit_test(test_caps_on_announcements),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_table_grows_and_shrinks_keeping_entries),
        cmocka_unit_test(test_dropped_announcer_keeps_the_others_flags),
        cmocka_unit_test(test_junk_announcers_cannot_crowd_out),
        cmocka_unit_test(test_junk_cannot_fill_the_tracker),
        cmocka_unit_test(test_requests_in_announcement_order),
        cmocka_unit_test(test_stalled_block_goes_to_the_earliest_announcer),
        cmocka_unit_test(test_quiet_polls_scan_nothing),
        cmocka_unit_test(test_filter_and_hmap),
        cmocka_unit_test(test_idset_grows_and_finds_every_id),
        cmocka_unit_test(test_recon_finds_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
