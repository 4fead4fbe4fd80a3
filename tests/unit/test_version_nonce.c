/* The version nonce is fresh per connection (a peer cannot link two of
 * our connections by it), and a version carrying any nonce we sent still
 * gives a self-connection away. */
#include <stdio.h>
#include "p2p_fake.h"

/* The nonce of the version the core sent to peer. */
static uint64_t version_nonce_to(struct fake *f, uint64_t peer)
{
    const uint8_t *pl = NULL;
    size_t len = 0;
    assert_int_equal(sent_to(f, peer, P2P_CMD_VERSION, &pl, &len), 1);
    struct p2p_version v;
    assert_int_equal(p2p_dec_version(pl, len, &v), 0);
    return v.nonce;
}

static void test_fresh_per_connection(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    uint64_t nonces[4];
    for (uint64_t i = 0; i < 4; i++) {
        char s[32];
        snprintf(s, sizeof s, "10.0.1.%u:19444", (unsigned)(i + 1));
        p2p_addr_parse(&a, s, 0);
        p2p_on_connected(f->p, i + 1, &a, false, T0);
        nonces[i] = version_nonce_to(f, i + 1);
        for (uint64_t j = 0; j < i; j++)
            assert_true(nonces[j] != nonces[i]);
    }
    /* An inbound peer answering with the nonce we sent on connection 3 is
     * that connection coming back to us; another nonce is a stranger. */
    p2p_addr_parse(&a, "10.0.2.1:5000", 0);
    p2p_on_connected(f->p, 10, &a, true, T0);
    send_version(f, 10, nonces[2], "/gossipd:0.1.0(me)/", T0);
    assert_int_equal(f->n_disc, 1);
    assert_int_equal(f->disconnected[0], 10);
    assert_string_equal(f->reasons[0], "self-connection");
    p2p_addr_parse(&a, "10.0.2.2:5000", 0);
    p2p_on_connected(f->p, 11, &a, true, T0);
    send_version(f, 11, nonces[2] ^ 1, "/gossipd:0.1.0(them)/", T0);
    assert_int_equal(f->n_disc, 1);
    assert_int_equal(sent_to(f, 11, P2P_CMD_VERSION, NULL, NULL), 1);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_per_connection),
    };
    sig_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
