/* p2p/banlist.c: the ban table (IP and CIDR subnets) and the
 * discouragement filter as a pure module; then the core's policy against
 * attacker peers on the in-memory transport (p2p_fake.h): misbehaviour
 * discourages instead of banning, other connections from the same IP stay,
 * local and noban peers are never discouraged, discouraged peers are
 * evicted first, and the filter has no ceiling an attacker can fill. */
#include <stdio.h>

#include "p2p_fake.h"
#include "p2p/banlist.h"

static struct p2p_subnet subnet(const char *s)
{
    struct p2p_subnet sn;
    assert_int_equal(p2p_subnet_parse(&sn, s), 0);
    return sn;
}

static struct p2p_addr addr(const char *s)
{
    struct p2p_addr a;
    assert_int_equal(p2p_addr_parse(&a, s, 1), 0);
    return a;
}

static void test_subnet_parse_format(void **state)
{
    (void)state;
    char out[P2P_ADDR_STRLEN];
    struct p2p_subnet s = subnet("10.1.2.3/24");
    assert_int_equal(s.bits, 96 + 24);
    p2p_subnet_format(&s, out);
    assert_string_equal(out, "10.1.2.0/24");   /* host bits cleared */
    s = subnet("10.1.2.3");
    assert_int_equal(s.bits, 128);
    p2p_subnet_format(&s, out);
    assert_string_equal(out, "10.1.2.3");
    s = subnet("2001:db8:ffff::1/32");
    p2p_subnet_format(&s, out);
    assert_string_equal(out, "2001:db8::/32");
    s = subnet("10.0.0.0/0");
    assert_true(p2p_subnet_has(&s, &(struct p2p_addr){ .ip = { [10] = 0xff, 0xff, 10 } }));
    struct p2p_subnet bad;
    assert_int_equal(p2p_subnet_parse(&bad, "10.0.0.0/33"), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_subnet_parse(&bad, "10.0.0.0/"), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_subnet_parse(&bad, "10.0.0.0/8x"), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_subnet_parse(&bad, "::/129"), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_subnet_parse(&bad, "nonsense"), P2P_ERR_INVALID_ARG);
}

static void test_ban_ip_and_cidr(void **state)
{
    (void)state;
    struct p2p_banlist b;
    assert_int_equal(p2p_banlist_init(&b, 42), 0);
    struct p2p_subnet net = subnet("10.1.2.0/24");
    assert_int_equal(p2p_banlist_ban(&b, &net, 100, 1100, "op", NULL), 0);
    struct p2p_addr in = addr("10.1.2.200:9"), out = addr("10.1.3.1:9");
    assert_non_null(p2p_banlist_find(&b, &in, 200));
    assert_null(p2p_banlist_find(&b, &out, 200));
    assert_null(p2p_banlist_find(&b, &in, 1100));   /* expired */
    struct p2p_subnet v6 = subnet("2001:db8::/32");
    assert_int_equal(p2p_banlist_ban(&b, &v6, 100, 5000, NULL, NULL), 0);
    struct p2p_addr a6 = addr("[2001:db8:1::7]:9");
    assert_non_null(p2p_banlist_find(&b, &a6, 200));
    struct p2p_ban_entry list[4];
    assert_int_equal(p2p_banlist_list(&b, list, 4, 200), 2);
    assert_int_equal(p2p_banlist_list(&b, list, 4, 2000), 1);
    /* Unban needs the exact subnet. */
    struct p2p_subnet one = subnet("10.1.2.200");
    assert_int_equal(p2p_banlist_unban(&b, &one), P2P_ERR_NOT_FOUND);
    assert_int_equal(p2p_banlist_unban(&b, &net), 0);
    assert_null(p2p_banlist_find(&b, &in, 200));
    /* The table is bounded (only an operator fills it). */
    p2p_banlist_clear(&b);
    for (unsigned i = 0; i < P2P_MAX_BANS; i++) {
        struct p2p_subnet s = { .bits = 128, .ip = { [10] = 0xff, 0xff, 11, (uint8_t)(i >> 8),
                                                     (uint8_t)i, 1 } };
        assert_int_equal(p2p_banlist_ban(&b, &s, 0, 10, NULL, NULL), 0);
    }
    struct p2p_subnet more = subnet("12.0.0.1");
    assert_int_equal(p2p_banlist_ban(&b, &more, 0, 10, NULL, NULL), P2P_ERR_FULL);
    /* Expired slots are reused. */
    assert_int_equal(p2p_banlist_ban(&b, &more, 10, 20, NULL, NULL), 0);
    p2p_banlist_check(&b);
    p2p_banlist_free(&b);
}

static void test_discourage_filter_rolls(void **state)
{
    (void)state;
    struct p2p_banlist b;
    assert_int_equal(p2p_banlist_init(&b, 7), 0);
    struct p2p_addr a = addr("10.0.0.1:5"), same_ip = addr("10.0.0.1:6");
    p2p_banlist_discourage(&b, &a);
    assert_true(p2p_banlist_is_discouraged(&b, &same_ip));   /* by IP */
    /* Far past the old 1,024-ban ceiling: every new entry is recorded and
     * the last P2P_DISCOURAGE_GEN_ENTRIES are all remembered. */
    const unsigned n = 3 * P2P_DISCOURAGE_GEN_ENTRIES;
    for (unsigned i = 0; i < n; i++) {
        struct p2p_addr x = { .ip = { [0] = 0x20, 0x01, 0x0d, 0xb8, [12] = (uint8_t)(i >> 24),
                                      (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
        p2p_banlist_discourage(&b, &x);
        assert_true(p2p_banlist_is_discouraged(&b, &x));
    }
    for (unsigned i = n - P2P_DISCOURAGE_GEN_ENTRIES; i < n; i++) {
        struct p2p_addr x = { .ip = { [0] = 0x20, 0x01, 0x0d, 0xb8, [12] = (uint8_t)(i >> 24),
                                      (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
        assert_true(p2p_banlist_is_discouraged(&b, &x));
    }
    struct p2p_addr never = addr("10.9.9.9:1");
    assert_false(p2p_banlist_is_discouraged(&b, &never));
    p2p_banlist_check(&b);
    p2p_banlist_free(&b);
}

/* ---- The core against attacker peers ---- */

/* The peer sends a frame header declaring a 4 GiB inv: malformed, score
 * 100, framing lost. */
static void oversize(struct fake *f, uint64_t peer, uint64_t now)
{
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, f->magic);
    memcpy(hdr + 4, "inv", 3);
    le32_put(hdr + 16, 0xffffffffu);
    p2p_on_bytes(f->p, peer, hdr, sizeof(hdr), now);
}

static bool connected(struct fake *f, uint64_t peer)
{
    struct p2p_peer_info pi;
    return p2p_get_peer(f->p, peer, &pi) == 0;
}

/* Issue 9's first attack: one oversize frame from the honest peer's IP
 * used to ban 127.0.0.1 for 24 h, disconnecting the honest peer. */
static void test_same_ip_honest_peer_untouched(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "127.0.0.1:6001", T0);       /* honest, local */
    handshake_in(f, 2, "127.0.0.1:6002", T0);       /* attacker, same IP */
    oversize(f, 2, T0 + 1);
    assert_false(connected(f, 2));
    assert_true(connected(f, 1));
    struct p2p_addr lo = addr("127.0.0.1:1");
    assert_false(p2p_is_discouraged(f->p, &lo));    /* local: never */
    assert_false(p2p_is_banned(f->p, &lo, T0 + 2));
    handshake_in(f, 3, "127.0.0.1:6003", T0 + 2);   /* a new honest one gets in */
    assert_true(connected(f, 3));
    /* A routable IP: discouraged, but its other connection stays. */
    handshake_in(f, 4, "10.7.0.1:6001", T0 + 3);
    handshake_in(f, 5, "10.7.0.1:6002", T0 + 3);
    oversize(f, 5, T0 + 4);
    assert_false(connected(f, 5));
    assert_true(connected(f, 4));
    struct p2p_addr ip = addr("10.7.0.1:1");
    assert_true(p2p_is_discouraged(f->p, &ip));
    assert_false(p2p_is_banned(f->p, &ip, T0 + 5));
    assert_int_equal(f->ban_ev, 0);
    assert_int_equal(f->discouraged_ev, 1);
    fake_free(f);
}

static void test_noban_never_discouraged(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_subnet wl = subnet("10.3.0.0/16");
    assert_int_equal(p2p_noban_add(f->p, &wl), 0);
    handshake_in(f, 1, "10.3.4.5", T0);
    /* Unsolicited bodies score 1 each: far past the threshold. */
    for (int i = 0; i < 2 * P2P_BAN_SCORE; i++) {
        uint8_t junk[40] = { 0 };
        junk[0] = (uint8_t)i;
        frame(f, 1, P2P_CMD_GETHEADERS, junk, 3, T0 + 1);   /* malformed: 100 */
    }
    assert_true(connected(f, 1));
    struct p2p_addr a = addr("10.3.4.5:1");
    assert_false(p2p_is_discouraged(f->p, &a));
    assert_int_equal(f->discouraged_ev, 0);
    /* The same offence outside the whitelist is discouraged. */
    handshake_in(f, 2, "10.4.4.5", T0 + 2);
    frame(f, 2, P2P_CMD_GETHEADERS, (const uint8_t *)"\0\0\0", 3, T0 + 3);
    assert_false(connected(f, 2));
    assert_int_equal(f->discouraged_ev, 1);
    struct p2p_subnet many = subnet("1.0.0.0/8");
    for (unsigned i = 1; i < P2P_MAX_NOBAN_SUBNETS; i++)
        assert_int_equal(p2p_noban_add(f->p, &many), 0);
    assert_int_equal(p2p_noban_add(f->p, &many), P2P_ERR_FULL);
    fake_free(f);
}

static void test_discouraged_evicted_first(void **state)
{
    (void)state;
    struct fake *f = fake_new(4);
    /* 10.6.0.9 misbehaves once; it may come back while slots are free. */
    handshake_in(f, 1, "10.6.0.9", T0);
    oversize(f, 1, T0);
    handshake_in(f, 2, "10.6.0.9", T0 + 1);
    assert_true(connected(f, 2));
    handshake_in(f, 3, "10.6.1.1", T0 + 2);
    handshake_in(f, 4, "10.6.1.2", T0 + 2);
    handshake_in(f, 5, "10.6.1.3", T0 + 2);   /* 4 inbound: full */
    /* An honest newcomer takes the discouraged peer's slot. */
    handshake_in(f, 6, "10.6.1.4", T0 + 3);
    assert_true(connected(f, 6));
    assert_false(connected(f, 2));
    assert_string_equal(f->reasons[f->n_disc - 1], "evicted-discouraged");
    /* Full of honest peers: the discouraged address is refused, and so is
     * an honest one (no discouraged peer left to evict). */
    handshake_in(f, 7, "10.6.0.9", T0 + 4);
    assert_false(connected(f, 7));
    assert_string_equal(f->reasons[f->n_disc - 1], "discouraged");
    handshake_in(f, 8, "10.6.1.5", T0 + 4);
    assert_false(connected(f, 8));
    assert_string_equal(f->reasons[f->n_disc - 1], "inbound-full");
    fake_free(f);
}

/* The old ban table stopped banning at P2P_MAX_BANS (1,024): attacker
 * 1,025 and later came back at once. Discouragement has no ceiling. */
static void test_discouragement_has_no_ceiling(void **state)
{
    (void)state;
    struct fake *f = fake_new(P2P_MAX_PEERS - 1);
    const unsigned n = 2 * P2P_MAX_BANS + 100;
    for (unsigned i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.%u.1", 100 + i / 250, i % 250);
        uint64_t id = 100 + i;
        handshake_in(f, id, ip, T0 + i);
        oversize(f, id, T0 + i);
        assert_false(connected(f, id));
    }
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.discouraged, n);
    for (unsigned i = 0; i < n; i += 97) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.%u.1", 100 + i / 250, i % 250);
        struct p2p_addr a = addr(ip);
        assert_true(p2p_is_discouraged(f->p, &a));
    }
    char last[32];
    snprintf(last, sizeof(last), "10.%u.%u.1", 100 + (n - 1) / 250, (n - 1) % 250);
    struct p2p_addr a = addr(last);
    assert_true(p2p_is_discouraged(f->p, &a));
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subnet_parse_format),
        cmocka_unit_test(test_ban_ip_and_cidr),
        cmocka_unit_test(test_discourage_filter_rolls),
        cmocka_unit_test(test_same_ip_honest_peer_untouched),
        cmocka_unit_test(test_noban_never_discouraged),
        cmocka_unit_test(test_discouraged_evicted_first),
        cmocka_unit_test(test_discouragement_has_no_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
