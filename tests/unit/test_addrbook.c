/* p2p/addrbook.c, the address manager: new and tried tables bucketed by
 * keyed hashes of the source's and the address's group, its two hash
 * indexes (p2p_check walks them), gossip (only addresses that take a
 * free cell are forwarded), persistence, the addr token bucket, and the
 * issue-9 attack: addr floods from many groups do not take the outbound
 * slots from a peer we reached before, also after a restart. */
#include <inttypes.h>
#include <stdio.h>

#include "p2p_fake.h"
#include "p2p/limits.h"

#define BOOK_MAX P2P_ADDRBOOK_MAX_ENTRIES
#define NEW_CELLS (P2P_ADDRMAN_NEW_BUCKETS * P2P_ADDRMAN_BUCKET_SLOTS)
/* The most new-table entries one source group can hold. */
#define SOURCE_SHARE (P2P_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP * P2P_ADDRMAN_BUCKET_SLOTS)

static struct p2p_addr book[BOOK_MAX + 1], again[BOOK_MAX + 1];
static struct p2p_addr_record recs[BOOK_MAX];

/* The i-th test address: spreads over IPv4 and a few ports. 10/8 is
 * private: each address is a group of its own (p2p_addrbook_group). */
static void nth_addr(struct p2p_addr *a, uint32_t i)
{
    uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
    p2p_addr_from_ipv4(a, ip, (uint16_t)(19444 + i % 3));
}

/* The i-th address of a flood from many groups: each in its own /16. */
static void flood_addr(struct p2p_addr *a, uint32_t i)
{
    uint8_t ip[4] = { (uint8_t)(20 + i / 256), (uint8_t)i, 7, 7 };
    p2p_addr_from_ipv4(a, ip, 19444);
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

/* Every address held is found: adding it again changes nothing (a miss
 * would store it a second time or drop another). */
static void assert_all_found(struct fake *f, uint64_t *t)
{
    size_t n = book_get(f, book);
    for (size_t i = 0; i < n; i++) {
        p2p_addrbook_add(f->p, &book[i], (*t)++);
        assert_int_equal(book_get(f, again), n);
        assert_memory_equal(again, book, n * sizeof(*book));
    }
}

/* Entries of the export in the tried table (tried) or in the new table
 * heard from a source of group src (any source if src is 0). */
static size_t count_recs(struct fake *f, bool tried, uint64_t src)
{
    size_t n = p2p_addrbook_export(f->p, recs, BOOK_MAX), k = 0;
    for (size_t i = 0; i < n; i++)
        k += recs[i].tried == tried && (tried || !src || recs[i].source_group == src);
    return k;
}

static bool is_tried(struct fake *f, const struct p2p_addr *a)
{
    size_t n = p2p_addrbook_export(f->p, recs, BOOK_MAX);
    for (size_t i = 0; i < n; i++)
        if (p2p_addr_equal(&recs[i].addr, a))
            return recs[i].tried;
    return false;
}

/* Many more addresses than cells: the new table never holds more than
 * its cells, the indexes stay exact, and an address held is never
 * dropped for a newcomer unless it is terrible (not heard of for the
 * horizon): then newcomers take its cell. */
static void test_tables_bounded(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    const uint32_t total = 2 * NEW_CELLS + 17;
    uint64_t t = T0;
    size_t held = 0;
    for (uint32_t i = 0; i < total; i++) {
        struct p2p_addr a;
        nth_addr(&a, i);
        p2p_addrbook_add(f->p, &a, t++);
        size_t n = book_get(f, book);
        assert_true(n == held || n == held + 1);   /* stored, or dropped: none pushed out */
        held = n;
        if (i % 509 == 0)
            p2p_check(f->p);
    }
    p2p_check(f->p);
    size_t n = book_get(f, book);
    assert_true(n <= NEW_CELLS);
    assert_true(n > NEW_CELLS / 2);   /* 2 x the cells offered: most cells are taken */
    assert_distinct(book, n);
    assert_int_equal(count_recs(f, true, 0), 0);
    assert_all_found(f, &t);
    p2p_check(f->p);

    /* Past the horizon every entry is terrible: newcomers replace them. */
    t += P2P_ADDRMAN_HORIZON_MS + 1;
    size_t stored = 0;
    for (uint32_t i = 0; i < 200; i++) {
        struct p2p_addr a;
        nth_addr(&a, 1000000 + i);
        p2p_addrbook_add(f->p, &a, t++);
        stored += book_has(again, book_get(f, again), &a);
        assert_true(book_get(f, again) <= n + 200);
    }
    assert_true(stored >= 190);
    p2p_check(f->p);
    fake_free(f);
}

/* Addresses one byte apart (port only, last IP byte only, v4 vs v6) are
 * distinct keys; port 0 is never stored; the ports of one public IP
 * (one group, heard from itself) share one new bucket. */
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
        p2p_addr_parse(&a, "198.51.100.3:1", 0);
        a.port = port;
        p2p_addrbook_add(f->p, &a, t++);
        p2p_addrbook_add(f->p, &a, t++);   /* a refresh, not a second entry */
    }
    size_t one_ip = book_get(f, book);
    assert_true(one_ip >= P2P_ADDRMAN_BUCKET_SLOTS / 2 && one_ip <= P2P_ADDRMAN_BUCKET_SLOTS);
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
    size_t n = book_get(f, book);
    assert_true(n >= one_ip + 240 && n <= one_ip + 256 + 2);
    assert_distinct(book, n);
    assert_all_found(f, &t);
    p2p_check(f->p);
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

/* Gossip forwards an address only when it takes a free cell: a node that
 * cannot store an address cannot tell new from dropped, and forwarding
 * those would never die out in a network larger than the tables. */
static void test_collided_not_forwarded(void **state)
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
    /* Addresses of one public group from one source share one bucket:
     * once it is full, the others are dropped and not forwarded. */
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(p2p_addr_parse(&a, "198.51.100.9:1", 0), 0);
        a.ip[15] = (uint8_t)i;
        send_addr(f, 1, &a, t++);
    }
    size_t n = book_get(f, book);
    reset_out(f);
    for (uint32_t i = 100; i < 150; i++) {
        assert_int_equal(p2p_addr_parse(&a, "198.51.100.9:1", 0), 0);
        a.ip[15] = (uint8_t)i;
        send_addr(f, 1, &a, t++);
    }
    assert_int_equal(sent_count(f, P2P_CMD_ADDR), 0);
    assert_int_equal(book_get(f, book), n);
    assert_true(n <= 20 + 3 + P2P_ADDRMAN_BUCKET_SLOTS);   /* + the peers' own addresses */
    p2p_check(f->p);
    fake_free(f);
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
        fake_handshake_out(f, 10 + (uint64_t)i, &honest[i], T0 + 1000 + (uint64_t)i);
    }
    struct p2p_subnet sn;
    assert_int_equal(p2p_subnet_parse(&sn, "198.51.100.0/24"), 0);
    assert_int_equal(p2p_ban_subnet(f->p, &sn, 3600000, "operator", T0 + 2000), 0);
    assert_int_equal(count_recs(f, true, 0), 3);   /* reached: tried */
    static struct p2p_addr_record saved[BOOK_MAX];
    size_t n_recs = p2p_addrbook_export(f->p, saved, BOOK_MAX);
    assert_true(n_recs >= 100);
    for (size_t i = 0; i < n_recs; i++)
        assert_true(saved[i].tried == (i < 3));   /* tried ones first */
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
    /* Placed again with the new core's key: the 100 private addresses are
     * groups of their own, so a few may collide on the way in. */
    size_t kept = p2p_addrbook_import(g->p, saved, n_recs, T0 + 5000);
    assert_true(kept <= n_recs && kept >= n_recs - 3);
    assert_int_equal(count_recs(g, true, 0), 3);
    p2p_check(g->p);
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
    p2p_get_stats(f->p, &st);
    uint64_t limited = st.addr_rate_limited;
    frame(f, 2, P2P_CMD_ADDR, w.buf, w.len, t);
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.addr_rate_limited, limited);
    /* Stored up to its source group's share of the new table. */
    size_t after = book_get(f, book);
    assert_true(after > before + SOURCE_SHARE / 2 && after <= before + SOURCE_SHARE);
    assert_true(count_recs(f, false, p2p_addrbook_group(&out)) <= SOURCE_SHARE);
    wr_free(&w);
    fake_free(f);
}

/* ---- Issue 9: "one addr message of 4,096 addresses" ----
 * Before the tables, a flat book of 2,048 replaced a random entry per new
 * address: a flood from one peer pushed out the peers we had reached and
 * every outbound slot went to attacker addresses, also after a restart. */

#define ATTACKERS 5u
#define FLOOD 4096u

static struct {
    struct p2p_addr a[8192];
    size_t n;
} dials;

static void dial_rec(void *ctx, const struct p2p_addr *a)
{
    f_connect(ctx, a);
    if (dials.n < sizeof dials.a / sizeof dials.a[0])
        dials.a[dials.n++] = *a;
}

/* Fails every dial of dials[from..] but one to want; true if want was
 * among them. Counts them in *attempts. */
static bool dials_answer(struct fake *f, size_t from, const struct p2p_addr *want, uint64_t t,
                         size_t *attempts)
{
    for (size_t i = from; i < dials.n; i++) {
        (*attempts)++;
        if (p2p_addr_equal(&dials.a[i], want))
            return true;
        p2p_on_connect_failed(f->p, &dials.a[i], t);
    }
    return false;
}

/* Runs the core a tick a second from *t for at most ms, every dial but
 * one to want failing at once. True (with *t the time) when want is
 * dialled. */
static bool dial_until(struct fake *f, const struct p2p_addr *want, uint64_t *t, uint64_t ms,
                       size_t *attempts)
{
    for (uint64_t end = *t + ms; *t < end; *t += 1000) {
        size_t from = dials.n;
        p2p_on_tick(f->p, *t);
        if (dials_answer(f, from, want, *t, attempts))
            return true;
    }
    return false;
}

struct attack {
    struct p2p_addr honest, attacker[ATTACKERS];
    uint64_t t;
};

/* A node with the default outbound target reaches an honest peer, then
 * dials ATTACKERS nodes of the attacker (one /16), which answer our
 * getaddr (so they have the tokens) with FLOOD addresses in all, each of
 * its own /16. Then the honest peer goes away; the attackers stay. */
static void attack_setup(struct fake *f, struct attack *at)
{
    fake_restart(f, P2P_OUTBOUND_TARGET_DEFAULT, 1, dial_rec, T0);
    dials.n = 0;
    uint64_t t = T0 + 1;
    assert_int_equal(p2p_addr_parse(&at->honest, "192.0.2.1:19444", 0), 0);
    p2p_addrbook_add(f->p, &at->honest, t);
    p2p_on_tick(f->p, t);
    assert_int_equal(dials.n, 1);
    assert_true(p2p_addr_equal(&dials.a[0], &at->honest));
    fake_handshake_out(f, 1, &at->honest, t);
    t++;
    for (uint32_t i = 0; i < ATTACKERS; i++) {
        uint8_t ip[4] = { 198, 51, 100, (uint8_t)(10 + i) };
        p2p_addr_from_ipv4(&at->attacker[i], ip, 19444);
        p2p_connect_once(f->p, &at->attacker[i], t);
    }
    p2p_on_tick(f->p, t);
    for (uint32_t i = 0; i < ATTACKERS; i++)
        fake_handshake_out(f, 10 + i, &at->attacker[i], t);
    static struct p2p_addr_entry e[P2P_MAX_ADDR_ENTRIES];
    const uint32_t per = (FLOOD + ATTACKERS - 1) / ATTACKERS;
    _Static_assert((FLOOD + ATTACKERS - 1) / ATTACKERS <= P2P_ADDR_GETADDR_TOKENS,
                   "each attacker has the tokens for its part");
    for (uint32_t i = 0; i < ATTACKERS; i++) {
        uint32_t first = i * per, n = FLOOD - first < per ? FLOOD - first : per;
        for (uint32_t k = 0; k < n; k++) {
            e[k] = (struct p2p_addr_entry){ .time = (uint32_t)(t / 1000), .services = 1 };
            flood_addr(&e[k].addr, first + k);
        }
        struct wr w;
        wr_init(&w, P2P_MAX_ADDR_BYTES);
        p2p_put_addr(&w, e, n);
        frame(f, 10 + i, P2P_CMD_ADDR, w.buf, w.len, t);
        wr_free(&w);
    }
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.addr_rate_limited, 0);   /* all 4,096 were looked at */
    assert_int_equal(st.outbound, 1 + ATTACKERS);
    p2p_on_disconnected(f->p, 1, "eof", t);
    at->t = t;
}

/* The flood holds at most its source group's share of the new table
 * (1/16); the peers we reached hold the tried table; and with outbound
 * slots to fill (all dials of flood addresses fail), the honest peer is
 * dialled again as soon as its retry delay is over. */
static void test_addr_flood_keeps_honest_dialled(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct attack at;
    attack_setup(f, &at);
    size_t flood_held = count_recs(f, false, p2p_addrbook_group(&at.attacker[0]));
    assert_true(flood_held <= SOURCE_SHARE);
    assert_true(flood_held * 16 <= NEW_CELLS);
    /* What we reached is tried: the honest peer, the attacker's nodes
     * (one group: at most P2P_ADDRMAN_TRIED_BUCKETS_PER_GROUP buckets, so
     * one may have gone back to new on a collision). */
    assert_true(is_tried(f, &at.honest));
    assert_true(count_recs(f, true, 0) <= 1 + ATTACKERS);
    p2p_check(f->p);
    uint64_t t = at.t;
    size_t attempts = 0;
    assert_true(dial_until(f, &at.honest, &t, P2P_RECONNECT_MAX_MS + 30000, &attempts));
    printf("flood: %zu of %u held in new, honest redialled after %" PRIu64 " ms, %zu dials\n",
           flood_held, FLOOD, t - at.t, attempts);
    p2p_check(f->p);
    fake_free(f);
}

/* The same after a restart: the book and the anchors are saved while the
 * honest peer is away (so both anchors are the attacker's), a new core
 * (new key) imports them, dials the anchors first, and then the honest
 * peer within 30 s. */
static void test_addr_flood_honest_dialled_after_restart(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct attack at;
    attack_setup(f, &at);
    uint64_t t = at.t;
    static struct p2p_addr_record saved[BOOK_MAX];
    size_t n = p2p_addrbook_export(f->p, saved, BOOK_MAX);
    struct p2p_addr anchors[P2P_MAX_ANCHORS];
    size_t na = p2p_anchors_get(f->p, anchors, P2P_MAX_ANCHORS);
    assert_int_equal(na, P2P_MAX_ANCHORS);
    for (size_t i = 0; i < na; i++)
        assert_false(p2p_addr_equal(&anchors[i], &at.honest));
    t += 1000;
    fake_restart(f, P2P_OUTBOUND_TARGET_DEFAULT, 2, NULL, t);
    assert_true(p2p_addrbook_import(f->p, saved, n, t) > 0);
    assert_true(is_tried(f, &at.honest));
    assert_true(count_recs(f, false, p2p_addrbook_group(&at.attacker[0])) <= SOURCE_SHARE);
    assert_int_equal(p2p_anchors_set(f->p, anchors, na, t), na);
    p2p_check(f->p);
    dials.n = 0;
    p2p_on_tick(f->p, t);
    assert_true(dials.n >= na);
    for (size_t i = 0; i < na; i++) {
        assert_true(p2p_addr_equal(&dials.a[i], &anchors[i]));   /* anchors first */
        fake_handshake_out(f, 20 + i, &anchors[i], t);
    }
    size_t attempts = 0;
    uint64_t t0 = t;
    bool got = dials_answer(f, na, &at.honest, t, &attempts);
    if (!got) {
        t += 1000;
        got = dial_until(f, &at.honest, &t, 30000, &attempts);
    }
    assert_true(got);
    printf("restart: honest dialled after %" PRIu64 " ms, %zu dials\n", t - t0, attempts);
    p2p_check(f->p);
    fake_free(f);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_bounded),
        cmocka_unit_test(test_near_keys),
        cmocka_unit_test(test_collided_not_forwarded),
        cmocka_unit_test(test_export_import_and_anchors),
        cmocka_unit_test(test_addr_token_bucket),
        cmocka_unit_test(test_addr_flood_keeps_honest_dialled),
        cmocka_unit_test(test_addr_flood_honest_dialled_after_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
