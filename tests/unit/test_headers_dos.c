/* Headers anti-DoS (issue 15 item 1) and abandoning bodiless headers
 * (issue 9): scripted attacker peers against the core on an in-memory or
 * on-disk chain, with real regtest proof of work.
 *
 * Before: every low-work fork header was kept in the block index and the
 * store (no limit), and 2,000 headers of a fork with more work whose
 * bodies never came froze the block download, also after a restart. */

#include "chain_helpers.h"
#include "p2p_fake.h"

#include "p2p/limits.h"

/* A scripted peer's chain of headers (the attacker's, or an honest one). */
struct hchain {
    struct chain_header *h;
    uint8_t (*hash)[32];
    size_t n;
};

/* n headers on parent (hash, time), regtest PoW, distinct per salt. */
static void hchain_make(struct hchain *c, const uint8_t parent[32], uint64_t parent_time,
                        size_t n, uint32_t salt)
{
    c->h = calloc(n, sizeof *c->h);
    c->hash = calloc(n, 32);
    assert_non_null(c->h);
    assert_non_null(c->hash);
    c->n = n;
    const uint8_t *prev = parent;
    uint64_t t = parent_time;
    for (size_t i = 0; i < n; i++) {
        struct chain_header *h = &c->h[i];
        h->version = BLOCK_VERSION;
        memcpy(h->prev, prev, 32);
        memcpy(h->merkle_root, &salt, sizeof salt);
        memcpy(h->merkle_root + 4, &i, sizeof i);
        t += 1000;
        h->time_ms = t;
        h->bits = chain_params_regtest.pow_limit_bits;
        assert_true(chain_mine(h, 0, 1000000));
        chain_header_hash(h, c->hash[i]);
        prev = c->hash[i];
    }
}

static void hchain_free(struct hchain *c)
{
    free(c->h);
    free(c->hash);
}

static void genesis(uint8_t g[32]) { chain_genesis_hash(&chain_params_regtest, g); }

/* Sends headers [from, from + n) of c. */
static void send_headers(struct fake *f, uint64_t peer, const struct hchain *c, size_t from,
                         size_t n, uint64_t now)
{
    struct wr w;
    wr_init(&w, P2P_MAX_HEADERS_BYTES);
    p2p_put_headers(&w, c->h + from, n);
    frame(f, peer, P2P_CMD_HEADERS, w.buf, w.len, now);
    wr_free(&w);
}

/* Answers a getheaders payload from c, as a node would: after the first
 * locator hash in c (or after c's parent if none: its fork point), up to
 * a full message. */
static void serve_getheaders(struct fake *f, uint64_t peer, const struct hchain *c,
                             const uint8_t *pl, size_t len, uint64_t now)
{
    struct p2p_getheaders g;
    assert_int_equal(p2p_dec_getheaders(pl, len, &g), 0);
    size_t from = 0;
    bool found = false;
    for (size_t i = 0; i < g.locator.n && !found; i++)
        for (size_t k = 0; k < c->n && !found; k++)
            if (memcmp(p2p_hash_at(&g.locator, i), c->hash[k], 32) == 0) {
                from = k + 1;
                found = true;
            }
    size_t n = c->n - from;
    if (n > P2P_MAX_HEADERS_ENTRIES)
        n = P2P_MAX_HEADERS_ENTRIES;
    send_headers(f, peer, c, from, n, now);
}

/* Replays what the core sent to the scripted peers since the last call:
 * getheaders answered from heads[peer] (if any), pings answered, getdata
 * answered with the blocks of bodies[] (notfound for the rest) by the
 * peers that serve. Then forgets it all. */
struct script {
    uint64_t peer[4];
    const struct hchain *heads[4];
    bool serves[4];
    const struct chain_block *bodies;
    size_t n_bodies;
    size_t n;
};

static void script_run(struct fake *f, const struct script *s, uint64_t now)
{
    /* Copy first: answering makes the core send more. */
    size_t n = f->n_sends;
    struct { uint64_t peer; size_t len; uint8_t *buf; } *m = calloc(n ? n : 1, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        m[i].peer = f->sends[i].peer;
        m[i].len = f->sends[i].len;
        m[i].buf = malloc(m[i].len);
        assert_non_null(m[i].buf);
        memcpy(m[i].buf, f->out + f->sends[i].off, m[i].len);
    }
    reset_out(f);
    for (size_t i = 0; i < n; i++) {
        struct p2p_frame_hdr h;
        assert_int_equal(p2p_frame_parse(m[i].buf, f->magic, &h), 0);
        const uint8_t *pl = m[i].buf + P2P_HEADER_BYTES;
        size_t k = 0;
        while (k < s->n && s->peer[k] != m[i].peer)
            k++;
        if (k == s->n)
            continue;
        if (h.cmd == P2P_CMD_PING) {
            frame(f, m[i].peer, P2P_CMD_PONG, pl, 8, now);
        } else if (h.cmd == P2P_CMD_GETHEADERS && s->heads[k]) {
            serve_getheaders(f, m[i].peer, s->heads[k], pl, h.len, now);
        } else if (h.cmd == P2P_CMD_GETDATA && s->serves[k]) {
            struct p2p_list l;
            assert_int_equal(p2p_dec_inv(pl, h.len, &l), 0);
            for (size_t e = 0; e < l.n; e++) {
                uint32_t type;
                const uint8_t *hash;
                bool sent = false;
                p2p_inv_at(&l, e, &type, &hash);
                for (size_t b = 0; b < s->n_bodies && !sent; b++) {
                    uint8_t bh[32];
                    chain_header_hash(&s->bodies[b].hdr, bh);
                    if (memcmp(bh, hash, 32) != 0)
                        continue;
                    struct wr w;
                    wr_init(&w, P2P_MAX_BLOCK_BYTES);
                    chain_block_encode(&w, &s->bodies[b]);
                    frame(f, m[i].peer, P2P_CMD_BLOCK, w.buf, w.len, now);
                    wr_free(&w);
                    sent = true;
                }
                if (!sent) {
                    struct wr w;
                    wr_init(&w, P2P_MAX_INV_BYTES);
                    uint8_t one[1][32];
                    memcpy(one[0], hash, 32);
                    p2p_put_inv_mixed(&w, &type, (const uint8_t (*)[32])one, 1);
                    frame(f, m[i].peer, P2P_CMD_NOTFOUND, w.buf, w.len, now);
                    wr_free(&w);
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(m[i].buf);
    free(m);
}

/* An outbound peer (the core dialled it) completes the handshake. */
static void handshake_out(struct fake *f, uint64_t peer, const char *ip, uint64_t now)
{
    struct p2p_addr a;
    p2p_addr_parse(&a, ip, 19444);
    p2p_on_connected(f->p, peer, &a, false, now);
    send_version(f, peer, 5000 + peer, "/gossipd:0.1.0(them)/", now);
    frame(f, peer, P2P_CMD_VERACK, NULL, 0, now);
}

static struct chain_u256 work_of_blocks(uint32_t n)
{
    struct chain_u256 w, one;
    memset(&w, 0, sizeof w);
    assert_true(chain_work_from_bits(chain_params_regtest.pow_limit_bits, &one));
    for (uint32_t i = 0; i < n; i++)
        chain_u256_add(&w, &one);
    return w;
}

/* (a) One peer sends 20,000 headers of a low-work fork off genesis in
 * 2,000-header messages (each answering our getheaders), then ten other
 * forks of 2,000 off genesis. The node needs more work than that
 * (min_chain_work: 100,000 blocks): nothing is stored, the presync only
 * keeps its bounded state. Before: 20,001 headers in the index after the
 * first 20,000. */
static void test_low_work_fork_headers_not_stored(void **state)
{
    (void)state;
    struct chain_config cc = { .params = &chain_params_regtest,
                               .min_chain_work = work_of_blocks(100000) };
    struct fake *f = fake_new_on(&cc, 0, 0);
    uint8_t g[32];
    genesis(g);
    struct hchain atk;
    hchain_make(&atk, g, chain_params_regtest.genesis_time_ms, 20000, 1);
    uint64_t t = T0 + 100;
    handshake_out(f, 1, "10.7.0.1", t);
    struct script s = { .peer = { 1 }, .heads = { &atk }, .n = 1 };
    send_headers(f, 1, &atk, 0, P2P_MAX_HEADERS_ENTRIES, t);
    int getheaders = 0;
    for (int round = 0; round < 20; round++) {
        getheaders += sent_to(f, 1, P2P_CMD_GETHEADERS, NULL, NULL);
        script_run(f, &s, ++t);
    }
    /* The presync asked for the whole chain (9 more messages and the end). */
    assert_true(getheaders >= 10);
    assert_int_equal(chain_header_count(f->chain), 1);
    /* Ten more forks, each a full message off genesis: each replaces the
     * last presync; still nothing stored. */
    for (uint32_t k = 0; k < 10; k++) {
        struct hchain fork;
        hchain_make(&fork, g, chain_params_regtest.genesis_time_ms, P2P_MAX_HEADERS_ENTRIES,
                    100 + k);
        send_headers(f, 1, &fork, 0, fork.n, ++t);
        reset_out(f);
        hchain_free(&fork);
    }
    assert_int_equal(chain_header_count(f->chain), 1);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.headers_not_stored >= 20000);
    assert_true(st.headers_presyncs >= 11);
    /* 40,000 headers in ~40 ms of fake time: far over the low-work rate,
     * so reading from the peer was paused (its CPU is bounded), and it
     * resumes once the bucket has refilled. */
    assert_true(st.headers_paused >= 1);
    assert_int_equal(f->paused, 1);
    p2p_on_tick(f->p, t + 5000);
    assert_int_equal(f->paused, 0);
    hchain_free(&atk);
    fake_free(f);
}

/* (a') The tip's work is the threshold: with 300 blocks on the tip, 40
 * forks of 250 headers off genesis store nothing, and a fork that reaches
 * the tip's work is stored as before. */
static void test_forks_below_the_tip_not_stored(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint8_t g[32], tip[32];
    genesis(g);
    struct chain_header gh;
    assert_true(chain_get_header(f->chain, g, &gh, NULL));
    /* The tip: 300 headers-and-bodies would be slow to mine with txs;
     * empty blocks through a scripted peer are not needed: mine here. */
    struct chain_block b;
    memcpy(tip, g, 32);
    for (int i = 0; i < 300; i++) {
        struct chain_result r;
        uint8_t pk[32] = { 0x42 };
        assert_int_equal(chain_block_template(f->chain, pk, T0 + (uint64_t)i, &b), 0);
        assert_true(chain_mine(&b.hdr, 0, 1000000));
        assert_int_equal(chain_accept_block(f->chain, &b, T0 + (uint64_t)i, &r), 0);
        chain_block_free(&b);
    }
    size_t before = chain_header_count(f->chain);
    assert_int_equal(before, 301);
    uint64_t t = T0 + 1000;
    handshake_out(f, 1, "10.7.0.1", t);
    for (uint32_t k = 0; k < 40; k++) {
        struct hchain fork;
        hchain_make(&fork, g, gh.time_ms, 250, 200 + k);
        send_headers(f, 1, &fork, 0, fork.n, ++t);
        hchain_free(&fork);
    }
    assert_int_equal(chain_header_count(f->chain), before);
    /* 300 headers off genesis: the tip's work (a tie), stored. */
    struct hchain eq;
    hchain_make(&eq, g, gh.time_ms, 300, 999);
    send_headers(f, 1, &eq, 0, eq.n, ++t);
    assert_int_equal(chain_header_count(f->chain), before + 300);
    hchain_free(&eq);
    fake_free(f);
}

/* A chain longer than one message that only reaches the work after
 * presync: redownloaded, checked against its commitments, stored. A peer
 * that redownloads another chain than it presynced is caught before any
 * of it is stored. */
static void test_presync_then_redownload_stores(void **state)
{
    (void)state;
    struct chain_config cc = { .params = &chain_params_regtest,
                               .min_chain_work = work_of_blocks(3000) };
    struct fake *f = fake_new_on(&cc, 0, 0);
    uint8_t g[32];
    genesis(g);
    struct hchain hon, other;
    hchain_make(&hon, g, chain_params_regtest.genesis_time_ms, 5000, 7);
    hchain_make(&other, g, chain_params_regtest.genesis_time_ms, 2500, 8);
    uint64_t t = T0 + 100;
    handshake_out(f, 1, "10.7.0.1", t);
    struct script s = { .peer = { 1 }, .heads = { &hon }, .n = 1 };
    send_headers(f, 1, &hon, 0, P2P_MAX_HEADERS_ENTRIES, t);
    for (int round = 0; round < 20; round++)
        script_run(f, &s, ++t);
    assert_int_equal(chain_header_count(f->chain), 5001);
    assert_true(chain_have_header(f->chain, hon.hash[4999]));
    assert_int_equal(chain_header_height(f->chain), 5000);
    fake_free(f);

    /* The swap: presync `hon`, then answer the redownload from `other`
     * (a chain short of the work). */
    f = fake_new_on(&cc, 0, 0);
    handshake_out(f, 1, "10.7.0.1", t);
    send_headers(f, 1, &hon, 0, P2P_MAX_HEADERS_ENTRIES, ++t);
    script_run(f, &s, ++t);   /* 2,000..4,000: proven, redownload asked */
    s.heads[0] = &other;
    for (int round = 0; round < 20; round++)
        script_run(f, &s, ++t);
    assert_int_equal(chain_header_count(f->chain), 1);
    hchain_free(&hon);
    hchain_free(&other);
    fake_free(f);
}

/* The honest chain: nb blocks mined on a chain of their own (times T0+i). */
static void honest_chain(struct chain_block *b, struct hchain *hs, size_t nb)
{
    struct chain *other;
    struct chain_config cc = { .params = &chain_params_regtest };
    assert_int_equal(chain_open(&other, &cc, T0), 0);
    hs->h = calloc(nb, sizeof *hs->h);
    hs->hash = calloc(nb, 32);
    hs->n = nb;
    for (size_t i = 0; i < nb; i++) {
        struct chain_result res;
        uint8_t pk[32] = { 0x99 };
        assert_int_equal(chain_block_template(other, pk, T0 + 10 + i, &b[i]), 0);
        assert_true(chain_mine(&b[i].hdr, 0, 1000000));
        assert_int_equal(chain_accept_block(other, &b[i], T0 + 10 + i, &res), 0);
        hs->h[i] = b[i].hdr;
        chain_header_hash(&b[i].hdr, hs->hash[i]);
    }
    chain_close(other);
}

enum { NB = 20 };

/* Runs the core for up to 30 s of fake time with the attacker (peer 1,
 * headers only, never a body) and the honest peer (100, serves the honest
 * chain) answering; returns the time the honest tip was reached (0: not). */
static uint64_t run_until_honest_tip(struct fake *f, const struct hchain *atk,
                                     const struct hchain *hon, const struct chain_block *b,
                                     uint64_t t)
{
    struct script s = { .peer = { 1, 100 }, .heads = { atk, hon }, .serves = { false, true },
                        .bodies = b, .n_bodies = NB, .n = 2 };
    for (uint64_t now = t; now <= t + 30000; now += 50) {
        script_run(f, &s, now);
        p2p_on_tick(f->p, now);
        if (chain_in_best(f->chain, hon->hash[NB - 1]))
            return now;
    }
    return 0;
}

/* (b) 2,000 headers of a fork with more work, whose bodies are never
 * served (peer 1), and an honest peer serving a 20-block chain: the node
 * reaches the honest tip within 30 s. Before: frozen on the fork. */
static void test_bodiless_fork_abandoned(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint8_t g[32];
    genesis(g);
    struct hchain atk, hon;
    static struct chain_block b[NB];
    hchain_make(&atk, g, chain_params_regtest.genesis_time_ms, P2P_MAX_HEADERS_ENTRIES, 3);
    honest_chain(b, &hon, NB);
    uint64_t t = T0 + 1000;
    handshake_out(f, 1, "10.7.0.1", t);
    send_headers(f, 1, &atk, 0, atk.n, t);
    assert_true(chain_have_header(f->chain, atk.hash[atk.n - 1]));
    handshake_in(f, 100, "10.8.0.1", t + 1);
    send_headers(f, 100, &hon, 0, hon.n, t + 1);
    uint64_t reached = run_until_honest_tip(f, &atk, &hon, b, t + 1);
    assert_true(reached != 0);
    assert_true(reached - t <= 30000);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.headers_abandoned >= 1);
    /* A new header on the abandoned fork brings it back as the best header. */
    assert_true(chain_headers_abandoned(f->chain, atk.hash[0]));
    struct hchain ext;
    hchain_make(&ext, atk.hash[atk.n - 1], atk.h[atk.n - 1].time_ms, 1, 33);
    send_headers(f, 100, &ext, 0, 1, reached + 1);   /* peer 1 may be gone (block-stall) */
    assert_false(chain_headers_abandoned(f->chain, atk.hash[0]));
    assert_int_equal(chain_header_height(f->chain), atk.n + 1);
    hchain_free(&ext);
    for (size_t i = 0; i < NB; i++)
        chain_block_free(&b[i]);
    hchain_free(&atk);
    hchain_free(&hon);
    fake_free(f);
}

/* A full headers message is stored in one commit, not one per header
 * (with -dbfsync=1 each commit is an fsync: 2,000 a message before). */
static void test_headers_message_is_one_commit(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    uint8_t g[32];
    genesis(g);
    struct hchain hc;
    hchain_make(&hc, g, chain_params_regtest.genesis_time_ms, P2P_MAX_HEADERS_ENTRIES, 7);
    uint64_t t = T0 + 1000;
    handshake_out(f, 1, "10.7.0.1", t);
    uint64_t before = chain_store_commits(f->chain);
    send_headers(f, 1, &hc, 0, hc.n, t);
    assert_int_equal(chain_header_height(f->chain), hc.n);
    assert_int_equal(chain_store_commits(f->chain) - before, 1);
    /* The same message again stores nothing new: still at most one commit. */
    before = chain_store_commits(f->chain);
    send_headers(f, 1, &hc, 0, hc.n, t + 1);
    assert_true(chain_store_commits(f->chain) - before <= 1);
    hchain_free(&hc);
    fake_free(f);
}

/* (c) The same after a restart: the fork's headers are in the store, the
 * node is re-created from it (chain and core), and still reaches the
 * honest tip within 30 s. Before: frozen again. */
static void test_bodiless_fork_abandoned_after_restart(void **state)
{
    (void)state;
    struct tdir d;
    tdir_make(&d);
    struct chain_config cc = { .params = &chain_params_regtest, .db_path = d.db };
    uint8_t g[32];
    genesis(g);
    struct hchain atk, hon;
    static struct chain_block b[NB];
    hchain_make(&atk, g, chain_params_regtest.genesis_time_ms, P2P_MAX_HEADERS_ENTRIES, 4);
    honest_chain(b, &hon, NB);
    uint64_t t = T0 + 1000;
    struct fake *f = fake_new_on(&cc, 0, 0);
    handshake_out(f, 1, "10.7.0.1", t);
    send_headers(f, 1, &atk, 0, atk.n, t);
    handshake_in(f, 100, "10.8.0.1", t + 1);
    send_headers(f, 100, &hon, 0, 5, t + 1);   /* a few honest headers, no bodies yet */
    fake_free(f);                              /* restart */

    f = fake_new_on(&cc, 0, 0);
    assert_true(chain_have_header(f->chain, atk.hash[atk.n - 1]));
    assert_int_equal(chain_height(f->chain), 0);
    t += 2000;
    handshake_out(f, 1, "10.7.0.1", t);
    handshake_in(f, 100, "10.8.0.1", t);
    send_headers(f, 100, &hon, 0, hon.n, t);
    uint64_t reached = run_until_honest_tip(f, &atk, &hon, b, t);
    assert_true(reached != 0);
    assert_true(reached - t <= 30000);
    fake_free(f);
    for (size_t i = 0; i < NB; i++)
        chain_block_free(&b[i]);
    hchain_free(&atk);
    hchain_free(&hon);
    tdir_remove(&d);
}

/* The cursor checks what chain_accept_header checks, with testnet's
 * retarget: 26 blocks 2.5 s apart (target 5 s) make the bits move after
 * the 20-block window; the cursor accepts every header of the chain and
 * refuses one with the old bits. */
static void test_cursor_agrees_with_the_chain_on_retarget(void **state)
{
    (void)state;
    const struct chain_params *P = &chain_params_testnet;
    struct chain *c;
    struct chain_config cc = { .params = P };
    uint64_t now = P->genesis_time_ms + 1000000;
    assert_int_equal(chain_open(&c, &cc, now), 0);
    struct chain_header hs[26];
    uint8_t g[32];
    chain_genesis_hash(P, g);
    for (int i = 0; i < 26; i++) {
        struct chain_block b;
        struct chain_result r;
        uint8_t pk[32] = { 0x17 };
        assert_int_equal(chain_block_template(c, pk, P->genesis_time_ms + 2500 * (uint64_t)(i + 1), &b), 0);
        uint64_t start = 0;
        while (!chain_mine(&b.hdr, start, 100000))
            start += 100000;
        assert_int_equal(chain_accept_block(c, &b, now, &r), 0);
        hs[i] = b.hdr;
        chain_block_free(&b);
    }
    assert_int_not_equal(hs[25].bits, P->pow_limit_bits);
    struct chain_hdr_cursor cur;
    assert_int_equal(chain_hdr_cursor_at(c, g, &cur), 0);
    for (int i = 0; i < 25; i++)
        assert_int_equal(chain_hdr_cursor_next(c, &cur, &hs[i], now), 0);
    struct chain_header bad = hs[25];
    bad.bits = P->pow_limit_bits;   /* easier than due: PoW holds, bits do not */
    for (uint64_t start = 0; !chain_mine(&bad, start, 100000);)
        start += 100000;
    assert_int_equal(chain_hdr_cursor_next(c, &cur, &bad, now), CHAIN_ERR_BLK_BAD_BITS);
    assert_int_equal(chain_hdr_cursor_next(c, &cur, &hs[25], now), 0);
    struct chain_u256 tip;
    chain_tip_work(c, &tip);
    assert_int_equal(chain_u256_cmp(&cur.work, &tip), 0);
    assert_int_equal(cur.height, 26);
    /* Not linked, and a cursor at an unknown block. */
    assert_int_equal(chain_hdr_cursor_next(c, &cur, &hs[3], now), 1);
    assert_int_equal(chain_hdr_cursor_at(c, hs[0].merkle_root, &cur), CHAIN_ERR_BLK_UNKNOWN);
    chain_close(c);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_work_fork_headers_not_stored),
        cmocka_unit_test(test_forks_below_the_tip_not_stored),
        cmocka_unit_test(test_presync_then_redownload_stores),
        cmocka_unit_test(test_bodiless_fork_abandoned),
        cmocka_unit_test(test_headers_message_is_one_commit),
        cmocka_unit_test(test_bodiless_fork_abandoned_after_restart),
        cmocka_unit_test(test_cursor_agrees_with_the_chain_on_retarget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
