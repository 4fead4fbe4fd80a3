/* p2p/wire.c: the 24-byte frame header, command names, per-command caps,
 * checksums, network addresses; p2p/addr.c: address parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hash.h"
#include "chain/err.h"
#include "p2p/msg.h"
#include "p2p/wire.h"

#define MAGIC 0x74727367u

static void test_frame_round_trip(void **state)
{
    (void)state;
    struct wr w;
    struct p2p_frame_hdr h;
    wr_init(&w, 1024);
    p2p_frame_begin(&w);
    wr_u64(&w, 0x1122334455667788ull);
    assert_int_equal(p2p_frame_end(&w, 0, MAGIC, P2P_CMD_PING), 0);
    assert_int_equal(w.len, P2P_HEADER_BYTES + 8);
    /* Bitcoin's layout: magic LE, "ping" NUL-padded, length, checksum. */
    assert_int_equal(le32_get(w.buf), MAGIC);
    assert_memory_equal(w.buf + 4, "ping\0\0\0\0\0\0\0\0", 12);
    assert_int_equal(le32_get(w.buf + 16), 8);
    uint8_t d[32];
    hash_sha256d(d, w.buf + 24, 8);
    assert_memory_equal(w.buf + 20, d, 4);
    assert_int_equal(p2p_frame_parse(w.buf, MAGIC, &h), 0);
    assert_int_equal(h.cmd, P2P_CMD_PING);
    assert_string_equal(h.name, "ping");
    assert_int_equal(h.len, 8);
    assert_true(p2p_frame_checksum_ok(&h, w.buf + 24, 8));
    /* One flipped payload bit breaks the checksum. */
    w.buf[30] ^= 1;
    assert_false(p2p_frame_checksum_ok(&h, w.buf + 24, 8));
    wr_free(&w);
}

static void test_empty_payload_checksum(void **state)
{
    (void)state;
    struct wr w;
    struct p2p_frame_hdr h;
    wr_init(&w, 64);
    assert_int_equal(p2p_build_empty(&w, MAGIC, P2P_CMD_VERACK), 0);
    assert_int_equal(w.len, 24);
    /* SHA256d("") starts 5df6e0e2, as in Bitcoin's verack. */
    static const uint8_t ck[4] = { 0x5d, 0xf6, 0xe0, 0xe2 };
    assert_memory_equal(w.buf + 20, ck, 4);
    assert_int_equal(p2p_frame_parse(w.buf, MAGIC, &h), 0);
    assert_int_equal(h.cmd, P2P_CMD_VERACK);
    wr_free(&w);
}

static void test_frame_rejects(void **state)
{
    (void)state;
    uint8_t b[24];
    struct p2p_frame_hdr h;
    memset(b, 0, sizeof(b));
    le32_put(b, MAGIC);
    memcpy(b + 4, "inv", 3);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), 0);
    /* Wrong network. */
    assert_int_equal(p2p_frame_parse(b, MAGIC + 1, &h), P2P_ERR_BAD_MAGIC);
    /* Length above the command's cap, caught on the header alone. */
    le32_put(b + 16, P2P_MAX_INV_BYTES + 1);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_OVERSIZE);
    le32_put(b + 16, P2P_MAX_INV_BYTES);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), 0);
    /* Empty-only commands carry nothing. */
    memset(b + 4, 0, 12);
    memcpy(b + 4, "verack", 6);
    le32_put(b + 16, 1);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_OVERSIZE);
    le32_put(b + 16, 0xffffffffu);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_OVERSIZE);
    /* Bytes after the NUL padding, empty name, control characters. */
    le32_put(b + 16, 0);
    b[4 + 8] = 'x';
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_BAD_COMMAND);
    memset(b + 4, 0, 12);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_BAD_COMMAND);
    memcpy(b + 4, "in\nv", 4);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_BAD_COMMAND);
    /* A well-formed unknown command: accepted with a small cap. */
    memset(b + 4, 0, 12);
    memcpy(b + 4, "feefilter", 9);
    le32_put(b + 16, 8);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), 0);
    assert_int_equal(h.cmd, P2P_CMD_UNKNOWN);
    le32_put(b + 16, P2P_MAX_UNKNOWN_PAYLOAD_BYTES + 1);
    assert_int_equal(p2p_frame_parse(b, MAGIC, &h), P2P_ERR_OVERSIZE);
}

static void test_command_names(void **state)
{
    (void)state;
    for (int c = 0; c < P2P_CMD_UNKNOWN; c++) {
        uint8_t raw[12] = { 0 };
        const char *n = p2p_cmd_name((enum p2p_cmd)c);
        assert_true(strlen(n) <= 12);
        memcpy(raw, n, strlen(n));
        assert_int_equal(p2p_cmd_parse(raw), c);
    }
    assert_string_equal(p2p_cmd_name(P2P_CMD_GETHEADERS), "getheaders");
    assert_string_equal(p2p_cmd_name(P2P_CMD_RECON), "recon");
    assert_string_equal(p2p_cmd_name((enum p2p_cmd)999), "unknown");
    /* Caps: a block frame holds the largest block; verack holds nothing. */
    assert_int_equal(p2p_cmd_max_payload(P2P_CMD_BLOCK), BLOCK_SIZE_LIMIT);
    assert_int_equal(p2p_cmd_max_payload(P2P_CMD_VERACK), 0);
    assert_int_equal(p2p_cmd_max_payload(P2P_CMD_TX), TX_SIZE_MAX);
}

static void test_frame_end_oversize(void **state)
{
    (void)state;
    struct wr w;
    wr_init(&w, 1024);
    p2p_frame_begin(&w);
    wr_u64(&w, 1);
    wr_u8(&w, 1);   /* 9 bytes: too much for ping */
    assert_int_equal(p2p_frame_end(&w, 0, MAGIC, P2P_CMD_PING), P2P_ERR_OVERSIZE);
    wr_free(&w);
}

static void test_netaddr(void **state)
{
    (void)state;
    struct p2p_addr a, b;
    uint64_t svc = 0;
    uint8_t buf[26];
    struct wr w;
    struct rd r;
    assert_int_equal(p2p_addr_parse(&a, "10.1.2.3:8333", 0), 0);
    wr_init_fixed(&w, buf, sizeof(buf));
    assert_true(p2p_put_netaddr(&w, 9, &a));
    assert_int_equal(w.len, 26);
    /* Port is big-endian, as Bitcoin has it; IPv4 is v4-mapped. */
    assert_int_equal(buf[24], 0x20);
    assert_int_equal(buf[25], 0x8d);
    assert_int_equal(buf[18], 0xff);
    rd_init(&r, buf, sizeof(buf));
    assert_true(p2p_get_netaddr(&r, &svc, &b));
    assert_true(p2p_addr_equal(&a, &b));
    assert_int_equal(svc, 9);
    rd_init(&r, buf, 25);
    assert_false(p2p_get_netaddr(&r, &svc, &b));
}

static void test_addr_parse_format(void **state)
{
    (void)state;
    struct p2p_addr a;
    char s[P2P_ADDR_STRLEN];
    assert_int_equal(p2p_addr_parse(&a, "127.0.0.1:19444", 0), 0);
    assert_true(p2p_addr_is_ipv4(&a));
    p2p_addr_format(&a, s);
    assert_string_equal(s, "127.0.0.1:19444");
    p2p_addr_format_ip(&a, s);
    assert_string_equal(s, "127.0.0.1");
    assert_int_equal(p2p_addr_parse(&a, "[::1]:5", 0), 0);
    assert_false(p2p_addr_is_ipv4(&a));
    p2p_addr_format(&a, s);
    assert_string_equal(s, "[::1]:5");
    assert_int_equal(p2p_addr_parse(&a, "::1", 77), 0);
    assert_int_equal(a.port, 77);
    assert_int_equal(p2p_addr_parse(&a, "1.2.3.4", 9), 0);
    assert_int_equal(a.port, 9);
    assert_int_equal(p2p_addr_parse(&a, "[fe80::1:2]", 3), 0);
    assert_int_equal(p2p_addr_parse(&a, "1.2.3.4", 0), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "1.2.3.4:0", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "1.2.3.4:65536", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "1.2.3.4:8x", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "host.example:1", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "[::1", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "[::1]x", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, "", 1), P2P_ERR_INVALID_ARG);
    assert_int_equal(p2p_addr_parse(&a, NULL, 1), P2P_ERR_INVALID_ARG);
    struct p2p_addr b;
    p2p_addr_parse(&a, "1.2.3.4:5", 0);
    p2p_addr_parse(&b, "1.2.3.4:6", 0);
    assert_false(p2p_addr_equal(&a, &b));
    assert_true(p2p_addr_same_ip(&a, &b));
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(p2p_strerror(P2P_ERR_BAD_CHECKSUM), "bad-checksum");
    assert_string_equal(p2p_strerror(P2P_ERR_OVERSIZE), "oversize");
    assert_string_equal(p2p_strerror(0), "ok");
    /* chain's codes are named too. */
    assert_string_equal(p2p_strerror(CHAIN_ERR_TRUNCATED), "truncated");
}

/* A frame of cmd with payload pl into out; returns its length. */
static size_t make_frame(uint8_t *out, size_t max, enum p2p_cmd cmd, const uint8_t *pl,
                         size_t len)
{
    struct wr w;
    wr_init(&w, P2P_HEADER_BYTES + len);
    p2p_frame_begin(&w);
    wr_bytes(&w, pl, len);
    assert_int_equal(p2p_frame_end(&w, 0, MAGIC, cmd), 0);
    assert_true(w.len <= max);
    memcpy(out, w.buf, w.len);
    size_t n = w.len;
    wr_free(&w);
    return n;
}

static void test_framer_incremental(void **state)
{
    (void)state;
    uint8_t buf[4096];
    uint8_t ver[100];
    memset(ver, 7, sizeof(ver));
    size_t a = make_frame(buf, sizeof(buf), P2P_CMD_VERSION, ver, sizeof(ver));
    size_t b = make_frame(buf + a, sizeof(buf) - a, P2P_CMD_VERACK, NULL, 0);
    struct p2p_framer f;
    struct p2p_frame fr;
    p2p_framer_init(&f, MAGIC);
    /* Byte by byte: 0 ("need more") until the last byte of the frame. */
    for (size_t i = 0; i + 1 < a; i++)
        assert_int_equal(p2p_framer_feed(&f, buf + i, 1, &fr), 0);
    assert_int_equal(p2p_framer_feed(&f, buf + a - 1, 1, &fr), 1);
    assert_int_equal(fr.hdr.cmd, P2P_CMD_VERSION);
    assert_int_equal(fr.hdr.len, sizeof(ver));
    assert_memory_equal(fr.payload, ver, sizeof(ver));
    assert_true(p2p_frame_checksum_ok(&fr.hdr, fr.payload, fr.hdr.len));
    /* Two frames in one buffer: each call returns what its frame used. */
    assert_int_equal(p2p_framer_feed(&f, buf, a + b, &fr), (ssize_t)a);
    assert_int_equal(fr.hdr.cmd, P2P_CMD_VERSION);
    assert_int_equal(p2p_framer_feed(&f, buf + a, b, &fr), (ssize_t)b);
    assert_int_equal(fr.hdr.cmd, P2P_CMD_VERACK);
    assert_int_equal(fr.hdr.len, 0);
    assert_int_equal(p2p_framer_feed(&f, buf, 0, &fr), 0);
    p2p_framer_free(&f);
}

static void test_framer_handshake_gate(void **state)
{
    (void)state;
    uint8_t buf[4096];
    struct p2p_framer f;
    struct p2p_frame fr;
    /* Before the handshake: ping is refused on its header alone. */
    size_t n = make_frame(buf, sizeof(buf), P2P_CMD_PING, (const uint8_t *)"12345678", 8);
    p2p_framer_init(&f, MAGIC);
    assert_int_equal(p2p_framer_feed(&f, buf, P2P_HEADER_BYTES, &fr), P2P_ERR_HANDSHAKE);
    assert_int_equal(p2p_framer_allocated(&f), 0);
    p2p_framer_free(&f);
    /* After it, the same frame passes. */
    p2p_framer_init(&f, MAGIC);
    p2p_framer_set_established(&f);
    assert_int_equal(p2p_framer_feed(&f, buf, n, &fr), (ssize_t)n);
    assert_int_equal(fr.hdr.cmd, P2P_CMD_PING);
    p2p_framer_free(&f);
    /* Unknown commands and a declared block are refused before it too. */
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, MAGIC);
    memcpy(hdr + 4, "block", 5);
    le32_put(hdr + 16, 4u << 20);
    p2p_framer_init(&f, MAGIC);
    assert_int_equal(p2p_framer_feed(&f, hdr, sizeof(hdr), &fr), P2P_ERR_HANDSHAKE);
    assert_int_equal(p2p_framer_allocated(&f), 0);
    p2p_framer_free(&f);
    memcpy(hdr + 4, "whatever\0\0\0\0", 12);
    le32_put(hdr + 16, 10);
    p2p_framer_init(&f, MAGIC);
    assert_int_equal(p2p_framer_feed(&f, hdr, sizeof(hdr), &fr), P2P_ERR_HANDSHAKE);
    p2p_framer_free(&f);
    /* A version above the pre-handshake cap: oversize. */
    memset(hdr + 4, 0, 12);
    memcpy(hdr + 4, "version", 7);
    le32_put(hdr + 16, P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES + 1);
    p2p_framer_init(&f, MAGIC);
    assert_int_equal(p2p_framer_feed(&f, hdr, sizeof(hdr), &fr), P2P_ERR_OVERSIZE);
    p2p_framer_free(&f);
    /* Bad magic. */
    le32_put(hdr, MAGIC + 1);
    p2p_framer_init(&f, MAGIC);
    assert_int_equal(p2p_framer_feed(&f, hdr, sizeof(hdr), &fr), P2P_ERR_BAD_MAGIC);
    p2p_framer_free(&f);
}

static void test_framer_grows_with_arrivals(void **state)
{
    (void)state;
    /* A header declaring a block at the size limit, then a trickle: the
     * buffer stays within twice what arrived (or the first chunk). */
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, MAGIC);
    memcpy(hdr + 4, "block", 5);
    le32_put(hdr + 16, (uint32_t)P2P_MAX_BLOCK_BYTES);
    struct p2p_framer f;
    struct p2p_frame fr;
    p2p_framer_init(&f, MAGIC);
    p2p_framer_set_established(&f);
    assert_int_equal(p2p_framer_feed(&f, hdr, sizeof(hdr), &fr), 0);
    assert_int_equal(p2p_framer_allocated(&f), 0);
    static uint8_t chunk[1000];
    size_t got = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(p2p_framer_feed(&f, chunk, sizeof(chunk), &fr), 0);
        got += sizeof(chunk);
        size_t lim = 2 * got > P2P_RECV_BUFFER_MIN_BYTES ? 2 * got : P2P_RECV_BUFFER_MIN_BYTES;
        assert_true(p2p_framer_allocated(&f) <= lim);
        assert_true(p2p_framer_allocated(&f) >= got);
    }
    assert_true(p2p_framer_allocated(&f) < P2P_MAX_BLOCK_BYTES / 8);
    p2p_framer_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_round_trip),
        cmocka_unit_test(test_empty_payload_checksum),
        cmocka_unit_test(test_frame_rejects),
        cmocka_unit_test(test_command_names),
        cmocka_unit_test(test_frame_end_oversize),
        cmocka_unit_test(test_netaddr),
        cmocka_unit_test(test_addr_parse_format),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_framer_incremental),
        cmocka_unit_test(test_framer_handshake_gate),
        cmocka_unit_test(test_framer_grows_with_arrivals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
