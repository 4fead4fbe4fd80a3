/* p2p/connmgr.c, the connection manager, driven through the core with a
 * fake driver that records each dial: the outbound target is reached
 * from the address manager and kept, a configured (persistent) peer is
 * redialled with a backoff that doubles up to P2P_RECONNECT_MAX_MS and
 * resets once a handshake succeeds, a one-shot or discovered address is
 * dropped when its dial fails (and a discovered one not retried within
 * P2P_RECONNECT_MAX_MS), banned and discouraged addresses are never
 * dialled, and anchors go first. */
#include "p2p_fake.h"
#include "chain/codec.h"
#include "p2p/limits.h"

static struct {
    struct p2p_addr a[1024];
    uint64_t t[1024];
    size_t n;
} dials;
static uint64_t dial_now;

static void dial_rec(void *ctx, const struct p2p_addr *a)
{
    f_connect(ctx, a);
    if (dials.n < sizeof dials.a / sizeof dials.a[0]) {
        dials.a[dials.n] = *a;
        dials.t[dials.n] = dial_now;
        dials.n++;
    }
}

static void tick(struct fake *f, uint64_t t)
{
    dial_now = t;
    p2p_on_tick(f->p, t);
}

/* A core with discovery filling `target` outbound slots. */
static struct fake *dialler(uint32_t target)
{
    struct fake *f = fake_new(0);
    fake_restart(f, target, 1, dial_rec, T0);
    dials.n = 0;
    return f;
}

/* The i-th public test address, each in its own /16. */
static void pub_addr(struct p2p_addr *a, uint32_t i)
{
    uint8_t ip[4] = { (uint8_t)(30 + i / 256), (uint8_t)i, 1, 1 };
    p2p_addr_from_ipv4(a, ip, 19444);
}

/* Dials of a among dials[from..]. */
static size_t dialled(const struct p2p_addr *a, size_t from)
{
    size_t k = 0;
    for (size_t i = from; i < dials.n; i++)
        k += p2p_addr_equal(&dials.a[i], a);
    return k;
}

static size_t outbound_count(struct fake *f)
{
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    return st.outbound;
}

static void test_outbound_target_reached_and_kept(void **state)
{
    (void)state;
    struct fake *f = dialler(4);
    for (uint32_t i = 0; i < 20; i++) {
        struct p2p_addr a;
        pub_addr(&a, i);
        p2p_addrbook_add(f->p, &a, T0);
    }
    uint64_t t = T0 + 1;
    tick(f, t);
    assert_int_equal(dials.n, 4);
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < i; j++)
            assert_false(p2p_addr_equal(&dials.a[i], &dials.a[j]));   /* four distinct */
        fake_handshake_out(f, 1 + i, &dials.a[i], t);
    }
    assert_int_equal(outbound_count(f), 4);
    /* Kept: no more dials while the four stay. */
    for (int k = 0; k < 5; k++)
        tick(f, t += 1000);
    assert_int_equal(dials.n, 4);
    /* One goes: the next tick dials one replacement, not a connected one. */
    struct p2p_addr gone = dials.a[1];
    p2p_on_disconnected(f->p, 2, "eof", t);
    assert_int_equal(outbound_count(f), 3);
    tick(f, t += 1000);
    assert_int_equal(dials.n, 5);
    for (size_t i = 0; i < 4; i++)
        assert_false(p2p_addr_equal(&dials.a[4], &dials.a[i]));
    assert_int_equal(dialled(&gone, 4), 0);
    fake_handshake_out(f, 9, &dials.a[4], t);
    assert_int_equal(outbound_count(f), 4);
    tick(f, t += 1000);
    assert_int_equal(dials.n, 5);
    fake_free(f);
}

/* Ticks a millisecond before and at when: the dial of a comes at when,
 * not before. Returns the dial's index. */
static size_t expect_dial_at(struct fake *f, const struct p2p_addr *a, uint64_t when)
{
    size_t from = dials.n;
    tick(f, when - 1);
    assert_int_equal(dialled(a, from), 0);
    tick(f, when);
    assert_int_equal(dialled(a, from), 1);
    return dials.n - 1;
}

static void test_backoff_grows_and_resets(void **state)
{
    (void)state;
    struct fake *f = dialler(0);
    struct p2p_addr x;
    pub_addr(&x, 1);
    uint64_t t = T0 + 1;
    assert_int_equal(p2p_connect_addr(f->p, &x, t), 0);
    assert_int_equal(p2p_connect_addr(f->p, &x, t), P2P_ERR_EXISTS);
    tick(f, t);
    assert_int_equal(dialled(&x, 0), 1);
    /* Refused again and again: 1 s, 2 s, 4 s ... up to the cap. */
    uint64_t backoff = P2P_RECONNECT_MIN_MS;
    for (int k = 0; k < 10; k++) {
        p2p_on_connect_failed(f->p, &x, t);
        t += backoff;
        expect_dial_at(f, &x, t);
        backoff = 2 * backoff > P2P_RECONNECT_MAX_MS ? P2P_RECONNECT_MAX_MS : 2 * backoff;
    }
    assert_int_equal(backoff, P2P_RECONNECT_MAX_MS);
    /* A handshake resets it: after the connection ends, the first retry
     * is P2P_RECONNECT_MIN_MS away again. */
    fake_handshake_out(f, 1, &x, t);
    assert_int_equal(outbound_count(f), 1);
    p2p_on_disconnected(f->p, 1, "eof", t);
    expect_dial_at(f, &x, t + P2P_RECONNECT_MIN_MS);
    fake_free(f);
}

/* A configured peer is dialled again after every disconnect; one
 * removed with p2p_remove_addr is not. */
static void test_persistent_reconnects(void **state)
{
    (void)state;
    struct fake *f = dialler(0);
    struct p2p_addr x;
    pub_addr(&x, 2);
    uint64_t t = T0 + 1;
    assert_int_equal(p2p_connect_addr(f->p, &x, t), 0);
    tick(f, t);
    for (uint64_t id = 1; id <= 3; id++) {
        fake_handshake_out(f, id, &x, t);
        assert_int_equal(outbound_count(f), 1);
        p2p_on_disconnected(f->p, id, "eof", t += 5000);
        t += P2P_RECONNECT_MIN_MS;
        expect_dial_at(f, &x, t);
    }
    fake_handshake_out(f, 4, &x, t);
    assert_int_equal(p2p_remove_addr(f->p, &x), 0);
    p2p_on_disconnected(f->p, 4, "eof", t);
    size_t from = dials.n;
    for (int k = 0; k < 120; k++)
        tick(f, t += 1000);
    assert_int_equal(dialled(&x, from), 0);
    assert_int_equal(p2p_remove_addr(f->p, &x), P2P_ERR_NOT_FOUND);
    fake_free(f);
}

/* A one-shot connect that fails is forgotten; a discovered address that
 * fails waits P2P_RECONNECT_MAX_MS before discovery may pick it again. */
static void test_non_persistent_dropped_on_failure(void **state)
{
    (void)state;
    struct fake *f = dialler(0);
    struct p2p_addr y;
    pub_addr(&y, 3);
    uint64_t t = T0 + 1;
    p2p_connect_once(f->p, &y, t);
    tick(f, t);
    assert_int_equal(dialled(&y, 0), 1);
    p2p_on_connect_failed(f->p, &y, t);
    for (int k = 0; k < 300; k++)
        tick(f, t += 1000);
    assert_int_equal(dialled(&y, 0), 1);
    fake_free(f);

    f = dialler(1);
    struct p2p_addr z;
    pub_addr(&z, 4);
    t = T0 + 1;
    p2p_addrbook_add(f->p, &z, t);
    tick(f, t);
    assert_int_equal(dials.n, 1);
    p2p_on_connect_failed(f->p, &z, t);
    uint64_t failed = t;
    while (dialled(&z, 1) == 0 && t < failed + 3 * P2P_RECONNECT_MAX_MS)
        tick(f, t += 1000);
    assert_int_equal(dialled(&z, 1), 1);
    assert_true(dials.t[1] - failed >= P2P_RECONNECT_MAX_MS);
    assert_true(dials.t[1] - failed <= P2P_RECONNECT_MAX_MS + 1000);
    fake_free(f);
}

/* An oversize header: misbehaviour enough to discourage the sender. */
static void oversize(struct fake *f, uint64_t peer, uint64_t now)
{
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, f->magic);
    memcpy(hdr + 4, "inv", 3);
    le32_put(hdr + 16, 0xffffffffu);
    p2p_on_bytes(f->p, peer, hdr, sizeof(hdr), now);
}

static void test_banned_and_discouraged_never_dialled(void **state)
{
    (void)state;
    struct fake *f = dialler(8);
    uint64_t t = T0 + 1;
    struct p2p_addr banned, disc, good;
    assert_int_equal(p2p_addr_parse(&banned, "198.51.100.7:19444", 0), 0);
    assert_int_equal(p2p_addr_parse(&disc, "203.0.113.5:19444", 0), 0);
    assert_int_equal(p2p_addr_parse(&good, "192.0.2.77:19444", 0), 0);
    assert_int_equal(p2p_ban(f->p, &banned, 3600000, "operator", t), 0);
    /* disc's IP misbehaves on an inbound connection: discouraged. */
    handshake_in(f, 50, "203.0.113.5", t);
    oversize(f, 50, t);
    assert_true(p2p_is_discouraged(f->p, &disc));
    p2p_addrbook_add(f->p, &banned, t);
    p2p_addrbook_add(f->p, &disc, t);
    p2p_addrbook_add(f->p, &good, t);
    /* Also configured: a ban holds back a persistent peer too. */
    assert_int_equal(p2p_connect_addr(f->p, &banned, t), 0);
    size_t from = dials.n;
    for (int k = 0; k < 200; k++) {
        size_t before = dials.n;
        tick(f, t += 1000);
        for (size_t i = before; i < dials.n; i++)
            p2p_on_connect_failed(f->p, &dials.a[i], t);
    }
    assert_true(dialled(&good, from) >= 2);   /* discovery ran, and retried good */
    assert_int_equal(dialled(&banned, from), 0);
    assert_int_equal(dialled(&disc, from), 0);
    fake_free(f);
}

static void test_anchors_dialled_first(void **state)
{
    (void)state;
    struct fake *f = dialler(8);
    uint64_t t = T0 + 1;
    for (uint32_t i = 0; i < 50; i++) {
        struct p2p_addr a;
        pub_addr(&a, 100 + i);
        p2p_addrbook_add(f->p, &a, t);
    }
    struct p2p_addr anchors[P2P_MAX_ANCHORS + 1];
    for (uint32_t i = 0; i <= P2P_MAX_ANCHORS; i++)
        pub_addr(&anchors[i], 10 + i);
    /* At most P2P_MAX_ANCHORS are taken. */
    assert_int_equal(p2p_anchors_set(f->p, anchors, P2P_MAX_ANCHORS + 1, t), P2P_MAX_ANCHORS);
    tick(f, t);
    assert_int_equal(dials.n, 8);
    for (size_t i = 0; i < P2P_MAX_ANCHORS; i++)
        assert_true(p2p_addr_equal(&dials.a[i], &anchors[i]));
    assert_int_equal(dialled(&anchors[P2P_MAX_ANCHORS], 0), 0);
    /* Reached anchors are what p2p_anchors_get gives back, oldest first. */
    for (size_t i = 0; i < P2P_MAX_ANCHORS; i++)
        fake_handshake_out(f, 1 + i, &anchors[i], t + i);
    struct p2p_addr got[P2P_MAX_ANCHORS];
    assert_int_equal(p2p_anchors_get(f->p, got, P2P_MAX_ANCHORS), P2P_MAX_ANCHORS);
    for (size_t i = 0; i < P2P_MAX_ANCHORS; i++)
        assert_true(p2p_addr_equal(&got[i], &anchors[i]));
    fake_free(f);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbound_target_reached_and_kept),
        cmocka_unit_test(test_backoff_grows_and_resets),
        cmocka_unit_test(test_persistent_reconnects),
        cmocka_unit_test(test_non_persistent_dropped_on_failure),
        cmocka_unit_test(test_banned_and_discouraged_never_dialled),
        cmocka_unit_test(test_anchors_dialled_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
