/* Transactions: encode/decode round trip, txid, signing, and rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chain/err.h"
#include "chain/params.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

static void make_tx(struct chain_tx *tx, uint8_t sk[64])
{
    uint8_t pk[32];
    chain_dev_key(pk, sk);
    memset(tx, 0, sizeof *tx);
    tx->version = TX_VERSION;
    memset(tx->to, 0x22, 32);
    tx->amount = 123456789;
    tx->fee = 1000;
    tx->nonce = 7;
    tx->memo_len = 5;
    memcpy(tx->memo, "hello", 5);
    chain_tx_sign(tx, sk);
    assert_memory_equal(tx->from, pk, 32);
}

static size_t encode(const struct chain_tx *tx, uint8_t *buf, size_t cap)
{
    struct wr w;
    wr_init_fixed(&w, buf, cap);
    assert_true(chain_tx_encode(&w, tx));
    return w.len;
}

static void test_roundtrip_and_txid(void **state)
{
    (void)state;
    struct chain_tx tx, back;
    uint8_t sk[64], buf[TX_SIZE_MAX], id1[32], id2[32];
    make_tx(&tx, sk);
    size_t n = encode(&tx, buf, sizeof buf);
    assert_int_equal(n, chain_tx_size(&tx));
    assert_int_equal(n, TX_FIXED_SIZE + 1 + 5);
    assert_int_equal(chain_tx_parse(&back, buf, n), 0);
    assert_memory_equal(back.from, tx.from, 32);
    assert_true(back.amount == tx.amount && back.fee == tx.fee && back.nonce == tx.nonce);
    assert_int_equal(back.memo_len, 5);
    assert_true(chain_tx_verify_sig(&back));
    chain_tx_txid(&tx, id1);
    hash_sha256d(id2, buf, n);
    assert_memory_equal(id1, id2, 32);
    assert_false(chain_tx_is_coinbase(&tx));
}

/* The txid is computed once (parse, sign, seal) and then only read. */
static void test_txid_cached(void **state)
{
    (void)state;
    struct chain_tx tx, back;
    uint8_t sk[64], buf[TX_SIZE_MAX], id[32], want[32];
    make_tx(&tx, sk);
    size_t n = encode(&tx, buf, sizeof buf);
    hash_sha256d(want, buf, n);
    assert_memory_equal(tx.txid, want, 32);   /* sign sealed it */
    assert_true(chain_tx_id_ok(&tx));

    memset(&back, 0xee, sizeof back);
    assert_int_equal(chain_tx_parse(&back, buf, n), 0);
    assert_memory_equal(back.txid, want, 32);   /* parse hashed the bytes */
    assert_true(chain_tx_id_ok(&back));

    /* An edit is not seen until the tx is sealed again. */
    back.amount++;
    chain_tx_txid(&back, id);
    assert_memory_equal(id, want, 32);
    assert_false(chain_tx_id_ok(&back));
    chain_tx_seal(&back);
    chain_tx_txid(&back, id);
    assert_memory_not_equal(id, want, 32);
    assert_true(chain_tx_id_ok(&back));

    /* An over-long memo gets no id (and no read past memo[]). */
    back.memo_len = TX_MEMO_MAX + 1;
    chain_tx_seal(&back);
    assert_false(chain_tx_id_ok(&back));
}

static void test_signature_covers_every_field(void **state)
{
    (void)state;
    struct chain_tx tx;
    uint8_t sk[64];
    make_tx(&tx, sk);
    struct chain_tx t = tx;
    t.amount++;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.to[0] ^= 1;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.nonce++;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.fee--;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.memo[0] ^= 1;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.from[5] ^= 1;
    assert_false(chain_tx_verify_sig(&t));
    t = tx;
    t.sig[63] ^= 1;
    assert_false(chain_tx_verify_sig(&t));
}

static void test_rejections(void **state)
{
    (void)state;
    struct chain_tx tx, back;
    uint8_t sk[64], buf[TX_SIZE_MAX + 16];
    make_tx(&tx, sk);
    size_t n = encode(&tx, buf, sizeof buf);

    /* Truncated at every length. */
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(chain_tx_parse(&back, buf, cut), CHAIN_ERR_TRUNCATED);
    /* Trailing byte. */
    buf[n] = 0;
    assert_int_equal(chain_tx_parse(&back, buf, n + 1), CHAIN_ERR_TRAILING);
    /* Bad version. */
    buf[0] = 2;
    assert_int_equal(chain_tx_parse(&back, buf, n), CHAIN_ERR_TX_VERSION);
    buf[0] = TX_VERSION;
    /* Non-canonical memo length: 5 written as 0xfd 0x05 0x00. */
    uint8_t nc[TX_SIZE_MAX + 4];
    size_t off = 1 + 32 + 32 + 24;
    memcpy(nc, buf, off);
    nc[off] = 0xfd;
    nc[off + 1] = 5;
    nc[off + 2] = 0;
    memcpy(nc + off + 3, buf + off + 1, n - off - 1);
    assert_int_equal(chain_tx_parse(&back, nc, n + 2), CHAIN_ERR_VARINT_NONCANONICAL);
    /* Oversize memo: 257 bytes declared. */
    nc[off] = 0xfd;
    nc[off + 1] = 0x01;
    nc[off + 2] = 0x01;
    assert_int_equal(chain_tx_parse(&back, nc, n + 2), CHAIN_ERR_TX_MEMO_SIZE);
}

static void test_max_memo_and_feerate(void **state)
{
    (void)state;
    struct chain_tx tx, back;
    uint8_t sk[64], buf[TX_SIZE_MAX];
    make_tx(&tx, sk);
    tx.memo_len = TX_MEMO_MAX;
    memset(tx.memo, 'm', TX_MEMO_MAX);
    chain_tx_sign(&tx, sk);
    size_t n = encode(&tx, buf, sizeof buf);
    assert_int_equal(n, TX_SIZE_MAX);
    assert_int_equal(chain_tx_parse(&back, buf, n), 0);
    assert_true(chain_tx_verify_sig(&back));
    /* feerate = fee * 1000 / size, without overflow at the top. */
    tx.fee = 4120;
    assert_int_equal(chain_tx_feerate(&tx), 4120 * 1000 / TX_SIZE_MAX);
    tx.fee = UINT64_MAX;
    assert_true(chain_tx_feerate(&tx) > UINT64_MAX / TX_SIZE_MAX);
}

static int setup(void **state)
{
    (void)state;
    return sig_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_txid),
        cmocka_unit_test(test_txid_cached),
        cmocka_unit_test(test_signature_covers_every_field),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_max_memo_and_feerate),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
