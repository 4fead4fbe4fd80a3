/* p2p/p2p.c address book and its hash index: adds far beyond
 * P2P_ADDRBOOK_MAX_ENTRIES (random evictions), lookups that must find
 * every address held and none that was evicted, addresses that differ in
 * one byte only, and p2p_check (which walks the index) throughout; and
 * which addresses gossip forwards (not once the book is full). */
#include <stdio.h>

#include "p2p_fake.h"
#include "p2p/limits.h"

#define BOOK_MAX P2P_ADDRBOOK_MAX_ENTRIES

static struct p2p_addr book[BOOK_MAX + 1], again[BOOK_MAX + 1];

/* The i-th test address: spreads over IPv4 and a few ports. */
static void nth_addr(struct p2p_addr *a, uint32_t i)
{
    uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
    p2p_addr_from_ipv4(a, ip, (uint16_t)(19444 + i % 3));
}

static size_t book_get(struct fake *f, struct p2p_addr *out)
{
    size_t n = p2p_addrbook_get(f->p, out, BOOK_MAX + 1);
    assert_true(n <= BOOK_MAX);
    return n;
}

static bool book_has(const struct p2p_addr *b, size_t n, const struct p2p_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (p2p_addr_equal(&b[i], a))
            return true;
    return false;
}

static int addr_cmp(const void *x, const void *y)
{
    const struct p2p_addr *a = x, *b = y;
    int c = memcmp(a->ip, b->ip, 16);
    return c ? c : (a->port > b->port) - (a->port < b->port);
}

static void assert_distinct(const struct p2p_addr *b, size_t n)
{
    static struct p2p_addr s[BOOK_MAX + 1];
    memcpy(s, b, n * sizeof(*s));
    qsort(s, n, sizeof(*s), addr_cmp);
    for (size_t i = 1; i < n; i++)
        assert_true(addr_cmp(&s[i - 1], &s[i]) < 0);
}

static void test_fill_and_evict(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    const uint32_t total = 3 * BOOK_MAX + 17;
    uint64_t t = T0;
    for (uint32_t i = 0; i < total; i++) {
        struct p2p_addr a;
        nth_addr(&a, i);
        p2p_addrbook_add(f->p, &a, t++);
        size_t n = book_get(f, book);
        assert_int_equal(n, i < BOOK_MAX ? i + 1 : BOOK_MAX);
        assert_true(book_has(book, n, &a));   /* the newest is never the one evicted */
        if (i % 97 == 0)
            p2p_check(f->p);
    }
    p2p_check(f->p);
    size_t n = book_get(f, book);
    assert_int_equal(n, BOOK_MAX);
    assert_distinct(book, n);

    /* Every address held is found: adding it again changes nothing (a
     * miss would evict a random slot). */
    for (size_t i = 0; i < n; i++) {
        p2p_addrbook_add(f->p, &book[i], t++);
        assert_int_equal(book_get(f, again), n);
        assert_memory_equal(again, book, n * sizeof(*book));
    }
    p2p_check(f->p);

    /* Every address evicted is not found: adding it back replaces exactly
     * one slot. */
    size_t readded = 0;
    for (uint32_t i = 0; i < total && readded < 200; i++) {
        struct p2p_addr a;
        nth_addr(&a, i);
        if (book_has(book, n, &a))
            continue;
        p2p_addrbook_add(f->p, &a, t++);
        assert_int_equal(book_get(f, again), n);
        size_t changed = 0;
        for (size_t k = 0; k < n; k++) {
            if (p2p_addr_equal(&again[k], &book[k]))
                continue;
            changed++;
            assert_true(p2p_addr_equal(&again[k], &a));
        }
        assert_int_equal(changed, 1);
        memcpy(book, again, n * sizeof(*book));
        readded++;
        p2p_check(f->p);
    }
    assert_int_equal(readded, 200);
    assert_distinct(book, n);
    fake_free(f);
}

/* Addresses one byte apart (port only, last IP byte only, v4 vs v6) are
 * distinct keys; port 0 is never stored. */
static void test_near_keys(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint64_t t = T0;
    struct p2p_addr a;
    assert_int_equal(p2p_addr_parse(&a, "10.1.2.3:1", 0), 0);
    a.port = 0;
    p2p_addrbook_add(f->p, &a, t++);
    assert_int_equal(book_get(f, book), 0);
    p2p_check(f->p);

    for (uint16_t port = 1; port <= 600; port++) {
        p2p_addr_parse(&a, "10.1.2.3:1", 0);
        a.port = port;
        p2p_addrbook_add(f->p, &a, t++);
        p2p_addrbook_add(f->p, &a, t++);   /* a refresh, not a second entry */
    }
    for (unsigned last = 0; last < 256; last++) {
        uint8_t ip[4] = { 10, 1, 2, (uint8_t)last };
        p2p_addr_from_ipv4(&a, ip, 1);
        p2p_addrbook_add(f->p, &a, t++);
    }
    p2p_addr_parse(&a, "[2001:db8::1]:1", 0);
    p2p_addrbook_add(f->p, &a, t++);
    p2p_addr_parse(&a, "[2001:db8::1]:2", 0);
    p2p_addrbook_add(f->p, &a, t++);
    p2p_check(f->p);
    /* 600 ports of 10.1.2.3, 255 more hosts on port 1, two IPv6. */
    size_t n = book_get(f, book);
    assert_int_equal(n, 600 + 255 + 2);
    assert_distinct(book, n);
    fake_free(f);
}

static void send_addr(struct fake *f, uint64_t peer, const struct p2p_addr *a, uint64_t now)
{
    struct p2p_addr_entry e = { .time = (uint32_t)(now / 1000), .services = 1, .addr = *a };
    struct wr w;
    wr_init(&w, P2P_MAX_ADDR_BYTES);
    p2p_put_addr(&w, &e, 1);
    frame(f, peer, P2P_CMD_ADDR, w.buf, w.len, now);
    wr_free(&w);
}

/* Gossip forwards an address only when it is stored without evicting
 * another: a full book cannot tell new from forgotten, and forwarding
 * those never dies out in a network larger than the book. */
static void test_full_book_does_not_forward(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint64_t t = T0;
    /* noban: exempt from the addr token bucket (tested below), so the
     * gossip rules are seen alone. */
    struct p2p_subnet wl;
    assert_int_equal(p2p_subnet_parse(&wl, "10.200.0.0/16"), 0);
    assert_int_equal(p2p_noban_add(f->p, &wl), 0);
    handshake_in(f, 1, "10.200.0.1", t);
    handshake_in(f, 2, "10.200.0.2", t);
    handshake_in(f, 3, "10.200.0.3", t);
    reset_out(f);
    struct p2p_addr a;
    for (uint32_t i = 0; i < 20; i++) {
        nth_addr(&a, i);
        send_addr(f, 1, &a, t++);
    }
    assert_true(sent_count(f, P2P_CMD_ADDR) > 0);
    assert_int_equal(sent_to(f, 1, P2P_CMD_ADDR, NULL, NULL), 0);   /* never to the source */
    /* Known addresses are not forwarded again. */
    reset_out(f);
    for (uint32_t i = 0; i < 20; i++) {
        nth_addr(&a, i);
        send_addr(f, 2, &a, t++);
    }
    assert_int_equal(sent_count(f, P2P_CMD_ADDR), 0);
    /* Fill the book; new addresses are then stored but not forwarded. */
    for (uint32_t i = 20; book_get(f, book) < BOOK_MAX; i++) {
        nth_addr(&a, i);
        p2p_addrbook_add(f->p, &a, t++);
    }
    reset_out(f);
    for (uint32_t i = 0; i < 50; i++) {
        nth_addr(&a, 100000 + i);
        send_addr(f, 1, &a, t++);
        assert_true(book_has(book, book_get(f, book), &a));
    }
    assert_int_equal(sent_count(f, P2P_CMD_ADDR), 0);
    p2p_check(f->p);
    fake_free(f);
}

/* An outbound connection to addr (as peer id), handshake done by the
 * remote's version + verack. */
static void outbound(struct fake *f, uint64_t id, const struct p2p_addr *a, uint64_t now)
{
    p2p_on_connected(f->p, id, a, false, now);
    send_version(f, id, 5000 + id, "/gossipd:0.1.0(out)/", now);
    frame(f, id, P2P_CMD_VERACK, NULL, 0, now);
}

/* What node/ saves (book, bans, anchors) restores in a new core: the
 * outbound peers of before are dialled first after the restart, even
 * when an addr flood filled the book in between. */
static void test_export_import_and_anchors(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    for (uint32_t i = 0; i < 100; i++) {
        struct p2p_addr a;
        nth_addr(&a, i);
        p2p_addrbook_add(f->p, &a, T0 + i);
    }
    struct p2p_addr honest[3];
    for (int i = 0; i < 3; i++) {
        uint8_t ip[4] = { 192, 0, 2, (uint8_t)(1 + i) };
        p2p_addr_from_ipv4(&honest[i], ip, 19444);
        outbound(f, 10 + (uint64_t)i, &honest[i], T0 + 1000 + (uint64_t)i);
    }
    struct p2p_subnet sn;
    assert_int_equal(p2p_subnet_parse(&sn, "198.51.100.0/24"), 0);
    assert_int_equal(p2p_ban_subnet(f->p, &sn, 3600000, "operator", T0 + 2000), 0);
    static struct p2p_addr_record recs[BOOK_MAX];
    size_t n_recs = p2p_addrbook_export(f->p, recs, BOOK_MAX);
    assert_true(n_recs >= 100);
    struct p2p_ban_entry bans[8];
    size_t n_bans = p2p_list_bans(f->p, bans, 8, T0 + 2000);
    assert_int_equal(n_bans, 1);
    struct p2p_addr anchors[8];
    size_t n_anch = p2p_anchors_get(f->p, anchors, 8);
    assert_int_equal(n_anch, P2P_MAX_ANCHORS);
    assert_true(p2p_addr_equal(&anchors[0], &honest[0]));   /* oldest first */
    assert_true(p2p_addr_equal(&anchors[1], &honest[1]));
    fake_free(f);

    /* The restart: a new core gets it all back. */
    struct fake *g = fake_new(0);
    assert_int_equal(p2p_addrbook_import(g->p, recs, n_recs, T0 + 5000), n_recs);
    assert_int_equal(p2p_bans_import(g->p, bans, n_bans, T0 + 5000), 1);
    struct p2p_addr in_ban;
    assert_int_equal(p2p_addr_parse(&in_ban, "198.51.100.77:1", 0), 0);
    assert_true(p2p_is_banned(g->p, &in_ban, T0 + 5001));
    struct p2p_ban_entry gb[2];
    assert_int_equal(p2p_list_bans(g->p, gb, 2, T0 + 5001), 1);
    assert_true(gb[0].until_ms == bans[0].until_ms && gb[0].bits == bans[0].bits);
    assert_int_equal(p2p_anchors_set(g->p, anchors, n_anch, T0 + 5000), n_anch);
    /* An addr flood arrives before the first tick. */
    for (uint32_t i = 0; i < 4096; i++) {
        struct p2p_addr a;
        uint8_t ip[4] = { 203, 0, (uint8_t)(i >> 8), (uint8_t)i };
        p2p_addr_from_ipv4(&a, ip, 19444);
        p2p_addrbook_add(g->p, &a, T0 + 5001);
    }
    p2p_on_tick(g->p, T0 + 5002);
    assert_true(g->n_connects >= n_anch);
    assert_true(p2p_addr_equal(&g->connects[0], &anchors[0]));
    assert_true(p2p_addr_equal(&g->connects[1], &anchors[1]));
    /* Expired bans are not restored. */
    assert_int_equal(p2p_bans_import(g->p, bans, n_bans, bans[0].until_ms), 0);
    fake_free(g);
}

/* Issue 9: one flood of addresses filled the book with attacker
 * addresses. Each address costs its sender a token: an inbound peer gets
 * one to start and one per P2P_ADDR_TOKEN_INTERVAL_MS; an outbound peer
 * we asked (getaddr) gets a full answer's worth. */
static void test_addr_token_bucket(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint64_t t = T0;
    handshake_in(f, 1, "10.201.0.1", t);
    static struct p2p_addr_entry e[P2P_MAX_ADDR_ENTRIES];
    for (uint32_t i = 0; i < P2P_MAX_ADDR_ENTRIES; i++) {
        e[i].time = (uint32_t)(t / 1000);
        nth_addr(&e[i].addr, 50000 + i);
    }
    struct wr w;
    wr_init(&w, P2P_MAX_ADDR_BYTES);
    p2p_put_addr(&w, e, P2P_MAX_ADDR_ENTRIES);
    for (int k = 0; k < 4; k++)   /* 4,000 addresses at once */
        frame(f, 1, P2P_CMD_ADDR, w.buf, w.len, t);
    size_t n = book_get(f, book);
    assert_true(n <= P2P_ADDR_TOKENS_START + 1);   /* + its own listening address */
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.addr_rate_limited >= 4 * P2P_MAX_ADDR_ENTRIES - 1);
    /* Tokens come back slowly. */
    t += 10 * (uint64_t)P2P_ADDR_TOKEN_INTERVAL_MS;
    frame(f, 1, P2P_CMD_PING, (const uint8_t *)"12345678", 8, t - 1);
    frame(f, 1, P2P_CMD_ADDR, w.buf, w.len, t);
    assert_true(book_get(f, book) <= n + 10);
    /* An outbound peer answering our getaddr is heard in full. */
    struct p2p_addr out;
    uint8_t ip[4] = { 192, 0, 2, 9 };
    p2p_addr_from_ipv4(&out, ip, 19444);
    p2p_on_connected(f->p, 2, &out, false, t);
    send_version(f, 2, 4242, "/gossipd:0.1.0(out)/", t);
    frame(f, 2, P2P_CMD_VERACK, NULL, 0, t);
    for (uint32_t i = 0; i < P2P_MAX_ADDR_ENTRIES; i++)
        nth_addr(&e[i].addr, 90000 + i);
    wr_free(&w);
    wr_init(&w, P2P_MAX_ADDR_BYTES);
    p2p_put_addr(&w, e, P2P_MAX_ADDR_ENTRIES);
    size_t before = book_get(f, book);
    frame(f, 2, P2P_CMD_ADDR, w.buf, w.len, t);
    assert_int_equal(book_get(f, book), before + P2P_MAX_ADDR_ENTRIES);
    wr_free(&w);
    fake_free(f);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_and_evict),
        cmocka_unit_test(test_near_keys),
        cmocka_unit_test(test_full_book_does_not_forward),
        cmocka_unit_test(test_export_import_and_anchors),
        cmocka_unit_test(test_addr_token_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
