/* p2p/evict.c: which inbound peer gives way, as a pure function; then the
 * core against attackers (p2p_fake.h): peers that only answer pings
 * cannot keep honest newcomers out, and connections trickling `version`
 * cannot hold the inbound slots. */
#include <stdio.h>

#include "p2p_fake.h"
#include "p2p/evict.h"

static struct p2p_evict_cand cand(uint64_t id, uint64_t group, int64_t ping, uint64_t age)
{
    return (struct p2p_evict_cand){ .id = id, .netgroup = group, .ping_ms = ping,
                                    .connected_ms = age };
}

static void test_select_rules(void **state)
{
    (void)state;
    struct p2p_evict_cand c[64];
    /* Too few to evict anyone: all protected. */
    for (int i = 0; i < 4; i++)
        c[i] = cand((uint64_t)i + 1, 7, 50, 100 + (uint64_t)i);
    assert_int_equal(p2p_evict_select(c, 4, 1), SIZE_MAX);
    /* A discouraged peer goes first, whatever it offers. */
    for (int i = 0; i < 4; i++)
        c[i] = cand((uint64_t)i + 1, 7, 50, 100 + (uint64_t)i);
    c[2].discouraged = true;
    c[2].last_tx_ms = 999;
    assert_int_equal(c[p2p_evict_select(c, 4, 1)].id, 3);
    /* 30 attackers in one group with the lowest pings, 3 honest peers in
     * other groups, one of which relays txs and one blocks: the victim is
     * always an attacker, the youngest of the unprotected. */
    size_t n = 0;
    for (uint64_t i = 0; i < 30; i++)
        c[n++] = cand(100 + i, 0x66, 1, 1000 + i);
    c[n++] = cand(1, 0x01, 300, 5000);
    c[n] = cand(2, 0x02, 300, 5001);
    c[n++].last_tx_ms = 4000;
    c[n] = cand(3, 0x03, 300, 5002);
    c[n++].last_block_ms = 4000;
    for (uint64_t salt = 0; salt < 20; salt++) {
        struct p2p_evict_cand d[64];
        memcpy(d, c, n * sizeof(*c));
        size_t k = p2p_evict_select(d, n, salt);
        assert_int_not_equal(k, SIZE_MAX);
        assert_true(d[k].id >= 100);
        assert_int_equal(d[k].id, 129);   /* youngest attacker */
    }
    /* Useful peers are kept even in a crowded group. */
    n = 0;
    for (uint64_t i = 0; i < 40; i++)
        c[n++] = cand(200 + i, 0x77, 10 + (int64_t)i, 2000 + i);
    c[39].last_tx_ms = 9000;     /* the youngest relays txs */
    size_t k = p2p_evict_select(c, n, 5);
    assert_int_not_equal(c[k].id, 239);
}

/* Issue 9: 31 handshaken peers that only answer pings held every inbound
 * slot; new honest peers could not connect. */
static void test_ping_only_peers_are_evicted(void **state)
{
    (void)state;
    struct fake *f = fake_new(32);
    handshake_in(f, 1, "10.1.0.1", T0);               /* honest, there first */
    for (uint64_t i = 0; i < 31; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.66.%u.%u", (unsigned)(i / 100), (unsigned)(i % 100 + 1));
        handshake_in(f, 100 + i, ip, T0 + 10 + i);
    }
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.inbound, 32);
    /* Ten honest newcomers from other groups all get in. */
    for (uint64_t i = 0; i < 10; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.0.1", (unsigned)(2 + i));
        handshake_in(f, 1000 + i, ip, T0 + 100 + i);
        struct p2p_peer_info pi;
        assert_int_equal(p2p_get_peer(f->p, 1000 + i, &pi), 0);
        assert_true(pi.established);
    }
    struct p2p_peer_info pi;
    assert_int_equal(p2p_get_peer(f->p, 1, &pi), 0);   /* the first honest stays */
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.inbound, 32);
    fake_free(f);
}

/* Issue 9: 31 connections trickling `version` at 1 byte/s refused 85 % of
 * new honest connections. Handshakes no longer count against the inbound
 * slots, and have their own bounded slots. */
static void test_trickling_version_holds_nothing(void **state)
{
    (void)state;
    struct fake *f = fake_new(32);
    for (uint64_t i = 0; i < 31; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.77.0.%u", (unsigned)(i + 1));
        struct p2p_addr a;
        p2p_addr_parse(&a, ip, 5000);
        p2p_on_connected(f->p, 100 + i, &a, true, T0 + i);
        uint8_t one = 0;
        p2p_on_bytes(f->p, 100 + i, &one, 1, T0 + i);   /* a first byte, then silence */
    }
    assert_true(p2p_peer_count(f->p) <= P2P_MAX_HANDSHAKING_INBOUND);
    for (uint64_t i = 0; i < 20; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.1.1", (unsigned)(2 + i));
        handshake_in(f, 1000 + i, ip, T0 + 1000 + i);
        struct p2p_peer_info pi;
        assert_int_equal(p2p_get_peer(f->p, 1000 + i, &pi), 0);
        assert_true(pi.established);
    }
    struct p2p_peer_info all[64];
    size_t n = p2p_get_peers(f->p, all, 64), est = 0;
    for (size_t i = 0; i < n; i++)
        est += all[i].established;
    assert_int_equal(est, 20);
    assert_true(n - est <= P2P_MAX_HANDSHAKING_INBOUND);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_rules),
        cmocka_unit_test(test_ping_only_peers_are_evicted),
        cmocka_unit_test(test_trickling_version_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
