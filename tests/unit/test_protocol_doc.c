/* docs/PROTOCOL.md's hex examples are real: decode each one and check what
 * the document says about it. Runs from the project root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/block.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sig.h"

#define DOC_PATH "docs/PROTOCOL.md"
#define DOC_MAX (256 * 1024)

static char *doc;

/* The hex of the ```hex NAME block, whitespace removed (static buffer). */
static const char *example(const char *name)
{
    static char out[8192];
    char tag[64];
    snprintf(tag, sizeof tag, "```hex %s\n", name);
    const char *p = strstr(doc, tag);
    assert_non_null(p);
    p += strlen(tag);
    const char *end = strstr(p, "```");
    assert_non_null(end);
    size_t n = 0;
    for (; p < end; p++)
        if (*p != '\n' && *p != ' ') {
            assert_true(n + 1 < sizeof out);
            out[n++] = *p;
        }
    out[n] = '\0';
    return out;
}

/* The 64-digit hash in backticks that follows `label` in the document. */
static void stated_hash(const char *label, uint8_t hash[32])
{
    const char *p = strstr(doc, label);
    assert_non_null(p);
    p = strchr(p, '`');
    assert_non_null(p);
    char hex[65];
    memcpy(hex, p + 1, 64);
    hex[64] = '\0';
    assert_int_equal(hex_decode_hash(hash, hex), 0);
}

static size_t decode(const char *name, uint8_t *buf, size_t cap)
{
    long n = hex_decode_var(buf, cap, example(name));
    assert_true(n > 0);
    return (size_t)n;
}

static void test_frame(void **state)
{
    (void)state;
    uint8_t f[64], ck[32];
    assert_int_equal(decode("frame", f, sizeof f), 24);
    assert_int_equal(le32_get(f), chain_params_regtest.magic);
    assert_string_equal((const char *)f + 4, "verack");
    assert_int_equal(le32_get(f + 16), 0);
    hash_sha256d(ck, "", 0);
    assert_memory_equal(f + 20, ck, 4);
}

static void test_tx(void **state)
{
    (void)state;
    uint8_t b[TX_SIZE_MAX], re[TX_SIZE_MAX], id[32], want[32], pk[32], sk[64];
    size_t n = decode("tx", b, sizeof b);
    struct chain_tx tx;
    assert_int_equal(chain_tx_parse(&tx, b, n), 0);
    assert_true(chain_tx_verify_sig(&tx));
    chain_dev_key(pk, sk);
    assert_memory_equal(tx.from, pk, 32);
    struct wr w;
    wr_init_fixed(&w, re, sizeof re);
    assert_true(chain_tx_encode(&w, &tx));
    assert_int_equal(w.len, n);
    assert_memory_equal(re, b, n);
    chain_tx_txid(&tx, id);
    stated_hash("txid (display order):", want);
    assert_memory_equal(id, want, 32);
}

static void test_header_and_block(void **state)
{
    (void)state;
    uint8_t h[HEADER_SIZE], hash[32], want[32], g[32];
    assert_int_equal(decode("header", h, sizeof h), HEADER_SIZE);
    hash_sha256d(hash, h, sizeof h);
    stated_hash("hash (display order):", want);
    assert_memory_equal(hash, want, 32);
    chain_genesis_hash(&chain_params_regtest, g);
    assert_memory_equal(hash, g, 32);

    uint8_t *b = malloc(4096);
    assert_non_null(b);
    size_t n = decode("block", b, 4096);
    struct chain_block blk;
    assert_int_equal(chain_block_parse(&blk, b, n, 1 << 20), 0);
    assert_memory_equal(b, h, HEADER_SIZE);
    uint8_t root[32];
    assert_int_equal(chain_block_merkle(&blk, root, NULL), 0);
    assert_memory_equal(root, blk.hdr.merkle_root, 32);
    chain_block_free(&blk);
    free(b);

    chain_genesis_hash(&chain_params_testnet, g);
    stated_hash("Testnet genesis hash:", want);
    assert_memory_equal(g, want, 32);
}

static void test_inv(void **state)
{
    (void)state;
    uint8_t b[64], txid[32], id[32];
    assert_int_equal(decode("inv", b, sizeof b), 1 + 36);
    assert_int_equal(b[0], 1);
    assert_int_equal(le32_get(b + 1), 1);
    stated_hash("txid (display order):", txid);
    memcpy(id, b + 5, 32);
    assert_memory_equal(id, txid, 32);
}

static int setup(void **state)
{
    (void)state;
    if (sig_init() != 0) return -1;
    FILE *f = fopen(DOC_PATH, "rb");
    if (!f) return -1;
    doc = calloc(1, DOC_MAX + 1);
    size_t n = doc ? fread(doc, 1, DOC_MAX, f) : 0;
    fclose(f);
    return n > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(doc);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_tx),
        cmocka_unit_test(test_header_and_block),
        cmocka_unit_test(test_inv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
