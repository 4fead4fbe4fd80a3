/* Headers and blocks: layout, round trip, merkle, and rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/block.h"
#include "chain/err.h"
#include "chain/params.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

static void make_block(struct chain_block *b, size_t n_tx)
{
    uint8_t pk[32], sk[64];
    chain_dev_key(pk, sk);
    memset(b, 0, sizeof *b);
    b->hdr.version = BLOCK_VERSION;
    memset(b->hdr.prev, 0xaa, 32);
    b->hdr.time_ms = 1795392000123ull;
    b->hdr.bits = 0x207fffff;
    b->hdr.nonce = 42;
    b->n_tx = n_tx;
    b->txs = calloc(n_tx, sizeof *b->txs);
    assert_non_null(b->txs);
    for (size_t i = 0; i < n_tx; i++) {
        struct chain_tx *tx = &b->txs[i];
        tx->version = TX_VERSION;
        memset(tx->to, (int)i, 32);
        tx->amount = 1000 + i;
        tx->fee = i ? 1000 : 0;
        tx->nonce = i;
        if (i) chain_tx_sign(tx, sk);   /* txs[0] stays a coinbase */
        else chain_tx_seal(tx);
    }
    assert_int_equal(chain_block_merkle(b, b->hdr.merkle_root, NULL), 0);
}

static void test_header_layout(void **state)
{
    (void)state;
    struct chain_block b;
    make_block(&b, 1);
    uint8_t ser[HEADER_SIZE], h1[32], h2[32];
    chain_header_serialize(&b.hdr, ser);
    assert_int_equal(le32_get(ser), BLOCK_VERSION);
    assert_memory_equal(ser + 4, b.hdr.prev, 32);
    assert_memory_equal(ser + 36, b.hdr.merkle_root, 32);
    assert_true(le64_get(ser + 68) == b.hdr.time_ms);
    assert_int_equal(le32_get(ser + 76), 0x207fffff);
    assert_true(le64_get(ser + 80) == 42);
    chain_header_hash(&b.hdr, h1);
    hash_sha256d(h2, ser, sizeof ser);
    assert_memory_equal(h1, h2, 32);
    chain_block_free(&b);
}

static uint8_t *encode(const struct chain_block *b, size_t *len)
{
    struct wr w;
    wr_init(&w, BLOCK_SIZE_LIMIT);
    assert_true(chain_block_encode(&w, b));
    assert_int_equal(w.len, chain_block_size(b));
    return wr_take(&w, len);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct chain_block b, back;
    make_block(&b, 5);
    size_t len;
    uint8_t *buf = encode(&b, &len);
    assert_int_equal(chain_block_parse(&back, buf, len, 1 << 20), 0);
    assert_int_equal(back.n_tx, 5);
    assert_memory_equal(&back.hdr, &b.hdr, sizeof b.hdr);
    for (size_t i = 0; i < 5; i++)
        assert_memory_equal(&back.txs[i], &b.txs[i], sizeof b.txs[i]);
    uint8_t root[32];
    bool mut;
    assert_int_equal(chain_block_merkle(&back, root, &mut), 0);
    assert_memory_equal(root, b.hdr.merkle_root, 32);
    assert_false(mut);
    struct chain_block copy;
    assert_int_equal(chain_block_copy(&copy, &back), 0);
    assert_memory_equal(copy.txs, back.txs, 5 * sizeof *back.txs);
    chain_block_free(&copy);
    chain_block_free(&back);
    chain_block_free(&b);
    free(buf);
}

static void test_rejections(void **state)
{
    (void)state;
    struct chain_block b, back;
    make_block(&b, 3);
    size_t len;
    uint8_t *buf = encode(&b, &len);
    /* Truncated anywhere. */
    for (size_t cut = 0; cut < len; cut += 7)
        assert_int_equal(chain_block_parse(&back, buf, cut, 1 << 20), CHAIN_ERR_TRUNCATED);
    /* Trailing bytes. */
    uint8_t *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0;
    assert_int_equal(chain_block_parse(&back, more, len + 1, 1 << 20), CHAIN_ERR_TRAILING);
    free(more);
    /* Larger than the size cap. */
    assert_int_equal(chain_block_parse(&back, buf, len, len - 1), CHAIN_ERR_TOO_LARGE);
    assert_null(back.txs);
    /* A tx count that max_size could not hold is refused before allocating:
     * 0xffffffff txs declared in a 100-byte message. */
    uint8_t huge[HEADER_SIZE + 5];
    memcpy(huge, buf, HEADER_SIZE);
    huge[HEADER_SIZE] = 0xfe;
    le32_put(huge + HEADER_SIZE + 1, 0xffffffffu);
    assert_int_equal(chain_block_parse(&back, huge, sizeof huge, 1 << 20), CHAIN_ERR_TOO_LARGE);
    /* A bad tx inside. */
    buf[HEADER_SIZE + 1] = 9;   /* first tx version */
    assert_int_equal(chain_block_parse(&back, buf, len, 1 << 20), CHAIN_ERR_TX_VERSION);
    chain_block_free(&b);
    free(buf);
}

static void test_mutated_block(void **state)
{
    (void)state;
    /* Duplicating the last tx of a 3-tx block keeps the merkle root but
     * must be detected. */
    struct chain_block b;
    make_block(&b, 3);
    uint8_t root[32];
    bool mut;
    struct chain_tx *txs = realloc(b.txs, 4 * sizeof *txs);
    assert_non_null(txs);
    b.txs = txs;
    b.txs[3] = b.txs[2];
    b.n_tx = 4;
    assert_int_equal(chain_block_merkle(&b, root, &mut), 0);
    assert_memory_equal(root, b.hdr.merkle_root, 32);
    assert_true(mut);
    chain_block_free(&b);
}

static int setup(void **state)
{
    (void)state;
    return sig_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_mutated_block),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
