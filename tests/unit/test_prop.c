/* node/prop.c: propagation records, lookup and bounded eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/prop.h"

static void hash_of(uint8_t h[32], uint32_t i)
{
    memset(h, 0, 32);
    /* Spread like a real hash in the bytes the index uses, plus the id. */
    uint32_t x = i * 2654435761u;
    memcpy(h, &x, 4);
    memcpy(h + 8, &i, 4);
}

static void test_add_find(void **state)
{
    struct node_prop p;
    assert_int_equal(node_prop_init(&p), 0);
    uint8_t h[32];
    hash_of(h, 1);
    assert_null(node_prop_find(&p, h));
    bool created = false;
    struct node_prop_rec *r = node_prop_get_or_add(&p, h, 1, &created);
    assert_non_null(r);
    assert_true(created);
    r->first_seen_ms = 42;
    struct node_prop_rec *r2 = node_prop_get_or_add(&p, h, 1, &created);
    assert_false(created);
    assert_ptr_equal(r, r2);
    assert_int_equal(node_prop_find(&p, h)->first_seen_ms, 42);
    node_prop_free(&p);
}

static void test_eviction(void **state)
{
    struct node_prop p;
    assert_int_equal(node_prop_init(&p), 0);
    uint8_t h[32];
    uint32_t total = 3 * NODE_PROP_MAX + 17;
    for (uint32_t i = 0; i < total; i++) {
        hash_of(h, i);
        struct node_prop_rec *r = node_prop_get_or_add(&p, h, 2, NULL);
        assert_non_null(r);
        r->height = i;
    }
    assert_int_equal(p.count, NODE_PROP_MAX);
    /* The newest NODE_PROP_MAX are there, older ones are gone. */
    for (uint32_t i = total - NODE_PROP_MAX; i < total; i++) {
        hash_of(h, i);
        struct node_prop_rec *r = node_prop_find(&p, h);
        assert_non_null(r);
        assert_int_equal(r->height, i);
    }
    for (uint32_t i = 0; i < total - NODE_PROP_MAX; i += 97) {
        hash_of(h, i);
        assert_null(node_prop_find(&p, h));
    }
    node_prop_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find),
        cmocka_unit_test(test_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
