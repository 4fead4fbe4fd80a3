/* node_rpc_exposure: an RPC port off loopback without an explicit password
 * of at least NODE_RPC_PASSWORD_MIN_LEN characters is reported (gossipd
 * logs `rpc_exposed` at warn at start); loopback never is. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "node/node.h"

static const char STRONG[] = "correct-horse-battery-staple";

static void test_loopback_never(void **state)
{
    (void)state;
    static const char *const lo[] = { "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1",
                                      "localhost" };
    for (size_t i = 0; i < sizeof lo / sizeof *lo; i++) {
        assert_null(node_rpc_exposure(lo[i], "", ""));
        assert_null(node_rpc_exposure(lo[i], "u", "x"));
    }
}

static void test_exposed(void **state)
{
    (void)state;
    static const char *const out[] = { "0.0.0.0", "::", "192.0.2.7", "10.0.0.1",
                                       "::ffff:192.0.2.7", "2001:db8::1", "example.org" };
    for (size_t i = 0; i < sizeof out / sizeof *out; i++) {
        assert_non_null(node_rpc_exposure(out[i], "", ""));           /* cookie only */
        assert_non_null(node_rpc_exposure(out[i], "alice", "hunter2"));   /* short */
        assert_non_null(node_rpc_exposure(out[i], STRONG, STRONG));   /* user == password */
        assert_null(node_rpc_exposure(out[i], "alice", STRONG));
    }
    char just[NODE_RPC_PASSWORD_MIN_LEN + 1];
    memset(just, 'a', NODE_RPC_PASSWORD_MIN_LEN);
    just[NODE_RPC_PASSWORD_MIN_LEN] = '\0';
    assert_null(node_rpc_exposure("0.0.0.0", "alice", just));
    just[NODE_RPC_PASSWORD_MIN_LEN - 1] = '\0';
    assert_non_null(node_rpc_exposure("0.0.0.0", "alice", just));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_never),
        cmocka_unit_test(test_exposed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
