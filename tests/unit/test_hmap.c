/* Hash map: slots keyed by a salt (keys ground to collide under one salt
 * spread under another), lookups, deletes and growth under any salt. */
#include "tests/unit/chain_helpers.h"

#include "chain/hmap.h"

/* Slots of a fresh map before it first grows. */
#define T_SLOTS 16u
/* Keys ground to share one slot: fewer than the 3/4 fill that grows. */
#define T_COLLIDERS 8u
_Static_assert(T_COLLIDERS * 4 < T_SLOTS * 3, "the colliders must fit before a grow");
/* Candidates tried when grinding (each hits slot 0 with chance 1/16). */
#define T_GRIND_MAX 100000u
/* Keys for the growth test: several doublings past T_SLOTS. */
#define T_MANY_KEYS 2000u

static const uint64_t SALT_A = 0x0123456789abcdefull;
static const uint64_t SALT_B = 0xfedcba9876543210ull;

static void mkkey(uint8_t key[32], uint32_t i)
{
    /* Like a ground Ed25519 key: mostly fixed bytes, a counter at the front. */
    memset(key, 0x5a, 32);
    key[0] = (uint8_t)i;
    key[1] = (uint8_t)(i >> 8);
    key[2] = (uint8_t)(i >> 16);
    key[3] = (uint8_t)(i >> 24);
}

/* The first n keys whose slot in a T_SLOTS table under salt is 0. */
static void grind(uint64_t salt, uint8_t (*keys)[32], size_t n)
{
    size_t k = 0;
    for (uint32_t i = 0; i < T_GRIND_MAX && k < n; i++) {
        mkkey(keys[k], i);
        if ((hmap_hash(salt, keys[k]) & (T_SLOTS - 1)) == 0)
            k++;
    }
    assert_int_equal(k, n);
}

static void test_default_salt_fixed(void **state)
{
    (void)state;
    uint8_t key[32];
    mkkey(key, 7);
    assert_true(hmap_hash(0, key) == hmap_hash(HMAP_SALT_DEFAULT, key));
    assert_true(hmap_hash(SALT_A, key) == hmap_hash(SALT_A, key));
    assert_true(hmap_hash(SALT_A, key) != hmap_hash(SALT_B, key));
    struct hmap m;
    hmap_init(&m, 0);
    assert_true(m.salt == HMAP_SALT_DEFAULT);
    hmap_free(&m);
}

static void test_colliders_spread_under_other_salt(void **state)
{
    (void)state;
    uint8_t keys[T_COLLIDERS][32];
    int vals[T_COLLIDERS];
    grind(SALT_A, keys, T_COLLIDERS);

    /* Under salt B they do not all share a slot. */
    size_t first = hmap_hash(SALT_B, keys[0]) & (T_SLOTS - 1);
    bool spread = false;
    for (size_t i = 1; i < T_COLLIDERS; i++)
        spread |= (hmap_hash(SALT_B, keys[i]) & (T_SLOTS - 1)) != first;
    assert_true(spread);

    /* In a salt-A map they pile up from slot 0 in insertion order; in a
     * salt-B map they do not; lookups are right in both. */
    struct hmap ma, mb;
    hmap_init(&ma, SALT_A);
    hmap_init(&mb, SALT_B);
    for (size_t i = 0; i < T_COLLIDERS; i++) {
        assert_int_equal(hmap_put(&ma, keys[i], &vals[i]), 0);
        assert_int_equal(hmap_put(&mb, keys[i], &vals[i]), 0);
    }
    assert_int_equal(ma.cap, T_SLOTS);
    assert_int_equal(mb.cap, T_SLOTS);
    bool same_layout = true;
    for (size_t i = 0; i < T_COLLIDERS; i++) {
        assert_memory_equal(ma.slots[i].key, keys[i], 32);
        same_layout &= hmap_live(&mb, i) && memcmp(mb.slots[i].key, keys[i], 32) == 0;
    }
    assert_false(same_layout);
    for (size_t i = 0; i < T_COLLIDERS; i++) {
        assert_ptr_equal(hmap_get(&ma, keys[i]), &vals[i]);
        assert_ptr_equal(hmap_get(&mb, keys[i]), &vals[i]);
    }
    /* Deleting one in the middle of the pile keeps the rest reachable. */
    assert_ptr_equal(hmap_del(&ma, keys[3]), &vals[3]);
    assert_ptr_equal(hmap_del(&mb, keys[3]), &vals[3]);
    for (size_t i = 0; i < T_COLLIDERS; i++) {
        void *want = i == 3 ? NULL : &vals[i];
        assert_ptr_equal(hmap_get(&ma, keys[i]), want);
        assert_ptr_equal(hmap_get(&mb, keys[i]), want);
    }
    uint8_t absent[32];
    mkkey(absent, T_GRIND_MAX);
    assert_null(hmap_get(&ma, absent));
    hmap_free(&ma);
    hmap_free(&mb);
}

static void test_grow_and_reuse(void **state)
{
    (void)state;
    static int vals[T_MANY_KEYS];
    struct hmap m;
    uint8_t key[32];
    hmap_init(&m, SALT_B);
    for (uint32_t i = 0; i < T_MANY_KEYS; i++) {
        mkkey(key, i);
        assert_int_equal(hmap_put(&m, key, &vals[i]), 0);
    }
    assert_int_equal(m.count, T_MANY_KEYS);
    for (uint32_t i = 0; i < T_MANY_KEYS; i += 2) {
        mkkey(key, i);
        assert_ptr_equal(hmap_del(&m, key), &vals[i]);
    }
    for (uint32_t i = 0; i < T_MANY_KEYS; i++) {
        mkkey(key, i);
        assert_ptr_equal(hmap_get(&m, key), i % 2 ? &vals[i] : NULL);
    }
    /* Freed, the map keeps its salt and works again. */
    hmap_free(&m);
    assert_true(m.salt == SALT_B);
    mkkey(key, 1);
    assert_null(hmap_get(&m, key));
    assert_int_equal(hmap_put(&m, key, &vals[1]), 0);
    assert_ptr_equal(hmap_get(&m, key), &vals[1]);
    hmap_free(&m);
}

/* hmap_add inserts only an absent key and reports what a present one
 * holds; hmap_reserve sizes the table so the puts after it never grow it,
 * and keeps what the map held (tombstones included in the count). */
static void test_add_and_reserve(void **state)
{
    (void)state;
    static int vals[T_MANY_KEYS];
    struct hmap m;
    uint8_t key[32];
    void *found = &vals[0];
    hmap_init(&m, SALT_A);
    mkkey(key, 7);
    assert_int_equal(hmap_add(&m, key, &vals[7], &found), 0);
    assert_null(found);
    assert_int_equal(hmap_add(&m, key, &vals[8], &found), 0);
    assert_ptr_equal(found, &vals[7]);
    assert_ptr_equal(hmap_get(&m, key), &vals[7]);
    assert_int_equal(m.count, 1);
    assert_ptr_equal(hmap_del(&m, key), &vals[7]);

    assert_int_equal(hmap_reserve(&m, T_MANY_KEYS), 0);
    const struct hmap_slot *slots = m.slots;
    size_t cap = m.cap;
    assert_true(cap * 3 >= (size_t)(T_MANY_KEYS + 1) * 4);
    for (uint32_t i = 0; i < T_MANY_KEYS; i++) {
        mkkey(key, i);
        assert_int_equal(hmap_add(&m, key, &vals[i], &found), 0);
        assert_null(found);
    }
    assert_ptr_equal(m.slots, slots);
    assert_int_equal(m.cap, cap);
    /* A reserve that grows keeps every entry. */
    assert_int_equal(hmap_reserve(&m, 4 * T_MANY_KEYS), 0);
    assert_true(m.cap > cap);
    for (uint32_t i = 0; i < T_MANY_KEYS; i++) {
        mkkey(key, i);
        assert_ptr_equal(hmap_get(&m, key), &vals[i]);
    }
    assert_int_equal(m.count, T_MANY_KEYS);
    hmap_free(&m);
}

/* A chain opened with its own salt behaves the same. */
static void test_chain_with_salt(void **state)
{
    (void)state;
    const struct chain_params *p = &chain_params_regtest;
    struct chain *c = NULL;
    struct chain_config cfg = { .params = p, .salt = SALT_A };
    uint8_t g[32], tip[32];
    assert_int_equal(chain_open(&c, &cfg, T_NOW(p)), 0);
    chain_genesis_hash(p, g);
    textend(c, g, 5, 1, tip);
    assert_int_equal(chain_height(c), 5);
    assert_true(chain_in_best(c, tip));
    assert_int_equal(chain_check(c), 0);
    chain_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_salt_fixed),
        cmocka_unit_test(test_colliders_spread_under_other_salt),
        cmocka_unit_test(test_grow_and_reuse),
        cmocka_unit_test(test_add_and_reserve),
        cmocka_unit_test(test_chain_with_salt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
