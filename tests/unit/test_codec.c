/* The byte codec: every accept and every rejection path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/codec.h"
#include "chain/err.h"

static void test_integers_le(void **state)
{
    (void)state;
    const uint8_t b[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                          0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
    struct rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    rd_init(&r, b, sizeof b);
    assert_true(rd_u8(&r, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(rd_u16(&r, &u16));
    assert_int_equal(u16, 0x0302);
    assert_true(rd_u32(&r, &u32));
    assert_int_equal(u32, 0x07060504);
    assert_true(rd_u64(&r, &u64));
    assert_true(u64 == 0x0f0e0d0c0b0a0908ull);
    assert_true(rd_done(&r));
}

static void test_truncated(void **state)
{
    (void)state;
    const uint8_t b[3] = { 1, 2, 3 };
    struct rd r;
    uint32_t v;
    rd_init(&r, b, sizeof b);
    assert_false(rd_u32(&r, &v));
    assert_int_equal(r.err, CHAIN_ERR_TRUNCATED);
    assert_int_equal(r.pos, 0);           /* nothing consumed */
    /* Errors are sticky: later reads fail too. */
    uint8_t u8;
    assert_false(rd_u8(&r, &u8));
    assert_false(rd_done(&r));
    assert_int_equal(r.err, CHAIN_ERR_TRUNCATED);

    uint64_t u64;
    rd_init(&r, b, sizeof b);
    assert_false(rd_u64(&r, &u64));
    uint8_t out[4];
    rd_init(&r, b, sizeof b);
    assert_false(rd_bytes(&r, out, 4));
    assert_int_equal(r.err, CHAIN_ERR_TRUNCATED);
}

static void test_varint_canonical(void **state)
{
    (void)state;
    struct { uint8_t b[9]; size_t n; uint64_t v; } ok[] = {
        { { 0x00 }, 1, 0 },
        { { 0xfc }, 1, 0xfc },
        { { 0xfd, 0xfd, 0x00 }, 3, 0xfd },
        { { 0xfd, 0xff, 0xff }, 3, 0xffff },
        { { 0xfe, 0x00, 0x00, 0x01, 0x00 }, 5, 0x10000 },
        { { 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0, 0, 0 }, 9, 0x100000000ull },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct rd r;
        uint64_t v;
        rd_init(&r, ok[i].b, ok[i].n);
        assert_true(rd_varint(&r, &v, UINT64_MAX));
        assert_true(v == ok[i].v);
        assert_true(rd_done(&r));
        /* The writer produces the same bytes. */
        uint8_t out[9];
        struct wr w;
        wr_init_fixed(&w, out, sizeof out);
        assert_true(wr_varint(&w, ok[i].v));
        assert_int_equal(w.len, ok[i].n);
        assert_int_equal(varint_size(ok[i].v), ok[i].n);
        assert_memory_equal(out, ok[i].b, ok[i].n);
    }
}

static void test_varint_rejects(void **state)
{
    (void)state;
    struct { uint8_t b[9]; size_t n; int err; } bad[] = {
        { { 0xfd, 0xfc, 0x00 }, 3, CHAIN_ERR_VARINT_NONCANONICAL },
        { { 0xfe, 0xff, 0xff, 0x00, 0x00 }, 5, CHAIN_ERR_VARINT_NONCANONICAL },
        { { 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 }, 9, CHAIN_ERR_VARINT_NONCANONICAL },
        { { 0xfd, 0x01 }, 2, CHAIN_ERR_TRUNCATED },
        { { 0xfe, 0x01, 0x02, 0x03 }, 4, CHAIN_ERR_TRUNCATED },
        { { 0xff, 0x01 }, 2, CHAIN_ERR_TRUNCATED },
        { { 0 }, 0, CHAIN_ERR_TRUNCATED },
        { { 0xfd, 0x00, 0x10 }, 3, CHAIN_ERR_TOO_LARGE },   /* 4096 > cap 1000 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rd r;
        uint64_t v;
        rd_init(&r, bad[i].b, bad[i].n);
        assert_false(rd_varint(&r, &v, 1000));
        assert_int_equal(r.err, bad[i].err);
        assert_int_equal(r.pos, 0);
    }
}

static void test_varbytes(void **state)
{
    (void)state;
    const uint8_t good[] = { 3, 'a', 'b', 'c' };
    uint8_t out[8];
    size_t n;
    struct rd r;
    rd_init(&r, good, sizeof good);
    assert_true(rd_varbytes(&r, out, &n, 8));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);

    rd_init(&r, good, sizeof good);
    assert_false(rd_varbytes(&r, out, &n, 2));         /* declared 3 > cap 2 */
    assert_int_equal(r.err, CHAIN_ERR_TOO_LARGE);

    const uint8_t shortb[] = { 5, 'a', 'b' };
    rd_init(&r, shortb, sizeof shortb);
    assert_false(rd_varbytes(&r, out, &n, 8));
    assert_int_equal(r.err, CHAIN_ERR_TRUNCATED);
    assert_int_equal(r.pos, 0);
}

static void test_trailing(void **state)
{
    (void)state;
    const uint8_t b[] = { 1, 2 };
    struct rd r;
    uint8_t v;
    rd_init(&r, b, sizeof b);
    assert_true(rd_u8(&r, &v));
    assert_false(rd_done(&r));
    assert_int_equal(r.err, CHAIN_ERR_TRAILING);
}

static void test_writer_caps(void **state)
{
    (void)state;
    struct wr w;
    wr_init(&w, 10);
    assert_true(wr_u64(&w, 1));
    assert_false(wr_u32(&w, 2));                        /* 12 > 10 */
    assert_int_equal(w.err, CHAIN_ERR_TOO_LARGE);
    assert_false(wr_u8(&w, 3));                         /* sticky */
    assert_int_equal(w.len, 8);
    wr_free(&w);

    uint8_t buf[4];
    wr_init_fixed(&w, buf, sizeof buf);
    assert_true(wr_u16(&w, 0xbeef));
    assert_false(wr_bytes(&w, "xyz", 3));
    assert_int_equal(w.err, CHAIN_ERR_TOO_LARGE);
    assert_int_equal(buf[0], 0xef);

    /* A growing writer keeps its bytes across reallocations. */
    wr_init(&w, 1 << 20);
    for (uint32_t i = 0; i < 10000; i++) assert_true(wr_u32(&w, i));
    size_t len;
    uint8_t *p = wr_take(&w, &len);
    assert_int_equal(len, 40000);
    assert_int_equal(le32_get(p + 4 * 9999), 9999);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_le),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_varint_canonical),
        cmocka_unit_test(test_varint_rejects),
        cmocka_unit_test(test_varbytes),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_writer_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
