/* p2p/msg.c: every message's payload codec. For each one: a round trip,
 * every truncation, a trailing byte, counts above the caps, and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/params.h"
#include "crypto/sig.h"
#include "p2p/msg.h"
#include "p2p/util.h"
#include "p2p/wire.h"

/* Decodes a payload of cmd with the right decoder; frees what it made. */
static int dec_any(enum p2p_cmd cmd, const uint8_t *buf, size_t len)
{
    struct p2p_version v;
    struct p2p_list l;
    struct p2p_getheaders g;
    struct p2p_recon_msg m;
    struct chain_tx tx;
    struct chain_block b;
    uint64_t nonce;
    int err;
    switch (cmd) {
    case P2P_CMD_VERSION: return p2p_dec_version(buf, len, &v);
    case P2P_CMD_PING:
    case P2P_CMD_PONG: return p2p_dec_nonce(buf, len, &nonce);
    case P2P_CMD_ADDR: return p2p_dec_addr(buf, len, &l);
    case P2P_CMD_INV:
    case P2P_CMD_GETDATA:
    case P2P_CMD_NOTFOUND: return p2p_dec_inv(buf, len, &l);
    case P2P_CMD_TX: return p2p_dec_tx(buf, len, &tx);
    case P2P_CMD_BLOCK:
        err = p2p_dec_block(buf, len, &b);
        if (!err)
            chain_block_free(&b);
        return err;
    case P2P_CMD_GETHEADERS: return p2p_dec_getheaders(buf, len, &g);
    case P2P_CMD_HEADERS: return p2p_dec_headers(buf, len, &l);
    case P2P_CMD_RECON: return p2p_dec_recon(buf, len, &m);
    default: return p2p_dec_empty(buf, len);
    }
}

/* Every strict prefix fails; one extra byte fails; random bytes never
 * crash (ASan watches). */
static void check_rejections(enum p2p_cmd cmd, const uint8_t *buf, size_t len)
{
    assert_int_equal(dec_any(cmd, buf, len), 0);
    uint8_t *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    for (size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes so ASan sees any over-read. */
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, buf, n);
        assert_int_not_equal(dec_any(cmd, t, n), 0);
        free(t);
    }
    copy[len] = 0;
    assert_int_equal(dec_any(cmd, copy, len + 1), P2P_ERR_TRAILING);
    struct p2p_rng rng;
    p2p_rng_seed(&rng, cmd + 1);
    for (int k = 0; k < 200; k++) {
        size_t n = (size_t)p2p_rng_below(&rng, len + 2);
        uint8_t *t = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            t[i] = (uint8_t)p2p_rng_next(&rng);
        (void)dec_any(cmd, t, n);
        /* Also a mutation of the valid payload: one byte flipped. */
        if (len) {
            size_t at = (size_t)p2p_rng_below(&rng, len);
            copy[at] ^= (uint8_t)(1 + p2p_rng_below(&rng, 255));
            (void)dec_any(cmd, copy, len);
            memcpy(copy, buf, len);
        }
        free(t);
    }
    free(copy);
}

static void test_version(void **state)
{
    (void)state;
    struct p2p_version v, d;
    memset(&v, 0, sizeof(v));
    v.version = P2P_PROTOCOL_VERSION;
    v.services = 5;
    v.timestamp = 1790000000;
    p2p_addr_parse(&v.addr_recv, "10.0.0.2:19444", 0);
    p2p_addr_parse(&v.addr_from, "[::1]:19445", 0);
    v.nonce = 0xdeadbeefcafef00dull;
    strcpy(v.user_agent, "/gossipd:0.1.0(n1)/");
    v.start_height = 42;
    v.relay = true;
    struct wr w;
    wr_init(&w, P2P_MAX_VERSION_BYTES);
    assert_true(p2p_put_version(&w, &v));
    assert_int_equal(p2p_dec_version(w.buf, w.len, &d), 0);
    assert_int_equal(d.version, v.version);
    assert_int_equal(d.services, 5);
    assert_int_equal(d.timestamp, v.timestamp);
    assert_true(p2p_addr_equal(&d.addr_recv, &v.addr_recv));
    assert_true(p2p_addr_equal(&d.addr_from, &v.addr_from));
    assert_true(d.nonce == v.nonce);
    assert_string_equal(d.user_agent, v.user_agent);
    assert_int_equal(d.start_height, 42);
    assert_true(d.relay);
    check_rejections(P2P_CMD_VERSION, w.buf, w.len);
    /* relay must be 0 or 1. */
    w.buf[w.len - 1] = 2;
    assert_int_equal(p2p_dec_version(w.buf, w.len, &d), P2P_ERR_NONCANONICAL);
    wr_free(&w);
    /* A user agent longer than the cap, or with control bytes. */
    uint8_t big[P2P_MAX_VERSION_BYTES + 16];
    memset(big, 'a', sizeof(big));
    wr_init_fixed(&w, big, sizeof(big));
    wr_u32(&w, 1); wr_u64(&w, 0); wr_u64(&w, 0);
    p2p_put_netaddr(&w, 0, &v.addr_recv);
    p2p_put_netaddr(&w, 0, &v.addr_from);
    wr_u64(&w, 1);
    wr_varint(&w, P2P_MAX_USER_AGENT_BYTES + 1);
    size_t at = w.len;
    w.len += P2P_MAX_USER_AGENT_BYTES + 1;
    wr_u32(&w, 0);
    wr_u8(&w, 1);
    assert_int_equal(p2p_dec_version(big, w.len, &d), P2P_ERR_OVERSIZE);
    (void)at;
    v.user_agent[3] = '\n';
    wr_init(&w, P2P_MAX_VERSION_BYTES);
    p2p_put_version(&w, &v);
    assert_int_equal(p2p_dec_version(w.buf, w.len, &d), P2P_ERR_MALFORMED);
    wr_free(&w);
}

static void test_ping_pong_and_empty(void **state)
{
    (void)state;
    uint8_t buf[8];
    uint64_t n = 0;
    struct wr w;
    wr_init_fixed(&w, buf, sizeof(buf));
    assert_true(p2p_put_nonce(&w, 0x0102030405060708ull));
    assert_int_equal(p2p_dec_nonce(buf, 8, &n), 0);
    assert_true(n == 0x0102030405060708ull);
    check_rejections(P2P_CMD_PING, buf, 8);
    check_rejections(P2P_CMD_PONG, buf, 8);
    /* verack, getaddr, sendheaders, mempool: empty, nothing after. */
    assert_int_equal(p2p_dec_empty(buf, 0), 0);
    assert_int_equal(p2p_dec_empty(buf, 1), P2P_ERR_TRAILING);
    enum p2p_cmd empties[] = { P2P_CMD_VERACK, P2P_CMD_GETADDR, P2P_CMD_SENDHEADERS,
                               P2P_CMD_MEMPOOL };
    for (size_t i = 0; i < 4; i++) {
        struct wr f;
        struct p2p_frame_hdr h;
        wr_init(&f, 64);
        assert_int_equal(p2p_build_empty(&f, 7, empties[i]), 0);
        assert_int_equal(p2p_frame_parse(f.buf, 7, &h), 0);
        assert_int_equal(h.cmd, empties[i]);
        assert_int_equal(h.len, 0);
        assert_int_equal(dec_any(empties[i], f.buf + 24, 0), 0);
        assert_int_equal(dec_any(empties[i], f.buf, 1), P2P_ERR_TRAILING);
        wr_free(&f);
    }
}

static void test_addr(void **state)
{
    (void)state;
    struct p2p_addr_entry e[3], d;
    struct p2p_list l;
    for (int i = 0; i < 3; i++) {
        e[i].time = 1000u + (uint32_t)i;
        e[i].services = (uint64_t)i;
        p2p_addr_parse(&e[i].addr, i == 2 ? "[2001:db8::7]:9" : "192.168.1.1:8333", 0);
    }
    struct wr w;
    wr_init(&w, P2P_MAX_ADDR_BYTES);
    assert_true(p2p_put_addr(&w, e, 3));
    assert_int_equal(p2p_dec_addr(w.buf, w.len, &l), 0);
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < 3; i++) {
        p2p_addr_at(&l, i, &d);
        assert_int_equal(d.time, e[i].time);
        assert_true(d.services == e[i].services);
        assert_true(p2p_addr_equal(&d.addr, &e[i].addr));
    }
    check_rejections(P2P_CMD_ADDR, w.buf, w.len);
    wr_free(&w);
    /* A count above the cap is refused before anything is read. */
    uint8_t over[3];
    wr_init_fixed(&w, over, 3);
    wr_varint(&w, P2P_MAX_ADDR_ENTRIES + 1);
    assert_int_equal(p2p_dec_addr(over, w.len, &l), P2P_ERR_OVERSIZE);
    /* A huge declared count with little behind it. */
    uint8_t lie[9] = { 0xfd, 0xe8, 0x03, 1, 2, 3 };   /* 1000 entries, 3 bytes */
    assert_int_equal(p2p_dec_addr(lie, 6, &l), P2P_ERR_TRUNCATED);
    /* Non-canonical count. */
    uint8_t nc[3] = { 0xfd, 0x01, 0x00 };
    assert_int_equal(p2p_dec_addr(nc, 3, &l), P2P_ERR_NONCANONICAL);
}

static void test_inv_family(void **state)
{
    (void)state;
    uint8_t hashes[3][32];
    uint32_t types[3] = { P2P_INV_TX, P2P_INV_BLOCK, P2P_INV_TX };
    for (int i = 0; i < 3; i++)
        memset(hashes[i], 0x10 + i, 32);
    struct wr w;
    struct p2p_list l;
    wr_init(&w, P2P_MAX_INV_BYTES);
    assert_true(p2p_put_inv_mixed(&w, types, (const uint8_t (*)[32])hashes, 3));
    assert_int_equal(w.len, 1 + 3 * 36);
    assert_int_equal(p2p_dec_inv(w.buf, w.len, &l), 0);
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < 3; i++) {
        uint32_t t;
        const uint8_t *h;
        p2p_inv_at(&l, i, &t, &h);
        assert_int_equal(t, types[i]);
        assert_memory_equal(h, hashes[i], 32);
    }
    check_rejections(P2P_CMD_INV, w.buf, w.len);
    check_rejections(P2P_CMD_GETDATA, w.buf, w.len);
    check_rejections(P2P_CMD_NOTFOUND, w.buf, w.len);
    /* Unknown inventory type. */
    w.buf[1] = 7;
    assert_int_equal(p2p_dec_inv(w.buf, w.len, &l), P2P_ERR_MALFORMED);
    wr_free(&w);
    /* Same-type writer. */
    wr_init(&w, P2P_MAX_INV_BYTES);
    p2p_put_inv(&w, P2P_INV_BLOCK, (const uint8_t (*)[32])hashes, 2);
    assert_int_equal(p2p_dec_inv(w.buf, w.len, &l), 0);
    assert_int_equal(l.n, 2);
    wr_free(&w);
    /* Above 50,000 entries: refused on the count. */
    uint8_t over[5];
    wr_init_fixed(&w, over, 5);
    wr_varint(&w, P2P_MAX_INV_ENTRIES + 1);
    assert_int_equal(p2p_dec_inv(over, w.len, &l), P2P_ERR_OVERSIZE);
    /* Exactly 50,000 entries is fine. */
    size_t len = 5 + (size_t)P2P_MAX_INV_ENTRIES * 36;
    uint8_t *big = calloc(1, len);
    wr_init_fixed(&w, big, len);
    wr_varint(&w, P2P_MAX_INV_ENTRIES);
    for (size_t i = 0; i < P2P_MAX_INV_ENTRIES; i++) {
        wr_u32(&w, P2P_INV_TX);
        w.len += 32;
    }
    assert_int_equal(w.len, P2P_MAX_INV_BYTES);
    assert_int_equal(p2p_dec_inv(big, w.len, &l), 0);
    assert_int_equal(l.n, P2P_MAX_INV_ENTRIES);
    free(big);
}

static void make_tx(struct chain_tx *tx)
{
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    memset(tx, 0, sizeof(*tx));
    tx->version = TX_VERSION;
    tx->to[0] = 1;
    tx->amount = 10;
    tx->fee = 1000;
    tx->nonce = 3;
    tx->memo_len = 5;
    memcpy(tx->memo, "hello", 5);
    chain_tx_sign(tx, sk);
}

static void test_tx(void **state)
{
    (void)state;
    struct chain_tx tx, d;
    make_tx(&tx);
    struct wr w;
    wr_init(&w, P2P_MAX_TX_BYTES);
    assert_true(chain_tx_encode(&w, &tx));
    assert_int_equal(p2p_dec_tx(w.buf, w.len, &d), 0);
    assert_memory_equal(&d.sig, &tx.sig, 64);
    assert_int_equal(d.memo_len, 5);
    check_rejections(P2P_CMD_TX, w.buf, w.len);
    wr_free(&w);
    uint8_t big[P2P_MAX_TX_BYTES + 1] = { 0 };
    assert_int_equal(p2p_dec_tx(big, sizeof(big), &d), P2P_ERR_OVERSIZE);
}

static void test_block(void **state)
{
    (void)state;
    struct chain_block g, d;
    assert_int_equal(chain_genesis_block(&chain_params_regtest, &g), 0);
    struct wr w;
    wr_init(&w, P2P_MAX_BLOCK_BYTES);
    assert_true(chain_block_encode(&w, &g));
    assert_int_equal(p2p_dec_block(w.buf, w.len, &d), 0);
    assert_int_equal(d.n_tx, 1);
    assert_memory_equal(&d.hdr.merkle_root, &g.hdr.merkle_root, 32);
    chain_block_free(&d);
    check_rejections(P2P_CMD_BLOCK, w.buf, w.len);
    /* A tx count far beyond what the bytes can hold. */
    uint8_t lie[HEADER_SIZE + 5];
    memcpy(lie, w.buf, HEADER_SIZE);
    lie[HEADER_SIZE] = 0xfe;
    le32_put(lie + HEADER_SIZE + 1, 0x7fffffff);
    assert_int_not_equal(p2p_dec_block(lie, sizeof(lie), &d), 0);
    wr_free(&w);
    chain_block_free(&g);
}

static void test_getheaders(void **state)
{
    (void)state;
    uint8_t loc[3][32], stop[32];
    for (int i = 0; i < 3; i++)
        memset(loc[i], 0xa0 + i, 32);
    memset(stop, 0x55, 32);
    struct wr w;
    struct p2p_getheaders g;
    wr_init(&w, P2P_MAX_GETHEADERS_BYTES);
    assert_true(p2p_put_getheaders(&w, (const uint8_t (*)[32])loc, 3, stop));
    assert_int_equal(p2p_dec_getheaders(w.buf, w.len, &g), 0);
    assert_int_equal(g.version, P2P_PROTOCOL_VERSION);
    assert_int_equal(g.locator.n, 3);
    assert_memory_equal(p2p_hash_at(&g.locator, 2), loc[2], 32);
    assert_memory_equal(g.stop, stop, 32);
    check_rejections(P2P_CMD_GETHEADERS, w.buf, w.len);
    wr_free(&w);
    uint8_t over[8] = { 1, 0, 0, 0, P2P_MAX_LOCATOR_ENTRIES + 1 };
    assert_int_equal(p2p_dec_getheaders(over, 5, &g), P2P_ERR_OVERSIZE);
}

static void test_headers(void **state)
{
    (void)state;
    struct chain_header h[2], d;
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 2; i++) {
        h[i].version = 1;
        memset(h[i].prev, i, 32);
        h[i].time_ms = 1000u * (uint64_t)(i + 1);
        h[i].bits = 0x207fffff;
        h[i].nonce = (uint64_t)i + 9;
    }
    struct wr w;
    struct p2p_list l;
    wr_init(&w, P2P_MAX_HEADERS_BYTES);
    assert_true(p2p_put_headers(&w, h, 2));
    assert_int_equal(w.len, 1 + 2 * 89);
    assert_int_equal(p2p_dec_headers(w.buf, w.len, &l), 0);
    assert_int_equal(l.n, 2);
    p2p_header_at(&l, 1, &d);
    assert_true(d.nonce == 10 && d.time_ms == 2000 && d.bits == 0x207fffff);
    check_rejections(P2P_CMD_HEADERS, w.buf, w.len);
    /* The tx count after each header must be 0. */
    w.buf[1 + 88] = 1;
    assert_int_equal(p2p_dec_headers(w.buf, w.len, &l), P2P_ERR_MALFORMED);
    wr_free(&w);
    uint8_t over[3];
    wr_init_fixed(&w, over, 3);
    wr_varint(&w, P2P_MAX_HEADERS_ENTRIES + 1);
    assert_int_equal(p2p_dec_headers(over, w.len, &l), P2P_ERR_OVERSIZE);
}

static void test_recon(void **state)
{
    (void)state;
    uint8_t ids[2][32];
    memset(ids[0], 1, 32);
    memset(ids[1], 2, 32);
    struct wr w;
    wr_init(&w, P2P_MAX_RECON_BYTES);
    assert_true(p2p_put_recon_count(&w, 3));
    p2p_put_recon_summary(&w, 0, 0, 12, 0x1234);
    p2p_put_recon_summary(&w, 2, 0xab, 3, 99);
    p2p_put_recon_listing(&w, 1, 0xf, (const uint8_t (*)[32])ids, 2);
    struct p2p_recon_msg m;
    assert_int_equal(p2p_dec_recon(w.buf, w.len, &m), 0);
    assert_int_equal(m.n, 3);
    struct p2p_recon_iter it;
    struct p2p_recon_node nd;
    p2p_recon_iter_init(&it, &m);
    assert_true(p2p_recon_next(&it, &nd));
    assert_true(nd.kind == P2P_RECON_SUMMARY && nd.depth == 0 && nd.count == 12
                && nd.xor == 0x1234);
    assert_true(p2p_recon_next(&it, &nd));
    assert_true(nd.depth == 2 && nd.prefix == 0xab && nd.count == 3);
    assert_true(p2p_recon_next(&it, &nd));
    assert_true(nd.kind == P2P_RECON_LISTING && nd.count == 2);
    assert_memory_equal(nd.ids + 32, ids[1], 32);
    assert_false(p2p_recon_next(&it, &nd));
    check_rejections(P2P_CMD_RECON, w.buf, w.len);
    wr_free(&w);
    /* A prefix wider than its depth allows; an unknown kind; a depth too deep. */
    uint8_t bad[32];
    wr_init_fixed(&w, bad, sizeof(bad));
    p2p_put_recon_count(&w, 1);
    p2p_put_recon_summary(&w, 1, 0x10, 1, 1);
    assert_int_equal(p2p_dec_recon(bad, w.len, &m), P2P_ERR_MALFORMED);
    bad[2] = 0;
    bad[1] = 5;   /* kind */
    assert_int_equal(p2p_dec_recon(bad, w.len, &m), P2P_ERR_MALFORMED);
    bad[1] = 0;
    bad[2] = P2P_RECON_MAX_DEPTH + 1;
    assert_int_equal(p2p_dec_recon(bad, w.len, &m), P2P_ERR_MALFORMED);
    /* Too many nodes declared. */
    wr_init_fixed(&w, bad, sizeof(bad));
    wr_varint(&w, P2P_MAX_RECON_NODES + 1);
    assert_int_equal(p2p_dec_recon(bad, w.len, &m), P2P_ERR_OVERSIZE);
    /* A listing claiming more ids than the per-message budget. */
    wr_init_fixed(&w, bad, sizeof(bad));
    p2p_put_recon_count(&w, 1);
    wr_u8(&w, P2P_RECON_LISTING); wr_u8(&w, 1); wr_u32(&w, 0);
    wr_varint(&w, P2P_MAX_RECON_IDS + 1);
    assert_int_equal(p2p_dec_recon(bad, w.len, &m), P2P_ERR_OVERSIZE);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_ping_pong_and_empty),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_inv_family),
        cmocka_unit_test(test_tx),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_getheaders),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_recon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
