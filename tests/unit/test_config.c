/* node/config.c: flags, environment, precedence, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/config.h"
#include "node/log.h"

struct env {
    const char *kv[16][2];
};

static const char *env_get(void *ctx, const char *name)
{
    struct env *e = ctx;
    for (size_t i = 0; i < 16 && e->kv[i][0]; i++)
        if (strcmp(e->kv[i][0], name) == 0)
            return e->kv[i][1];
    return NULL;
}

#define ARGV(...) ((const char *const[]){ "gossipd", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((const char *const[]){ "gossipd", __VA_ARGS__ }) / sizeof(const char *)))

static void test_defaults(void **state)
{
    struct node_config c;
    char err[256];
    struct env e = { { { "HOME", "/home/u" } } };
    const char *const argv[] = { "gossipd" };
    assert_int_equal(node_config_parse(&c, 1, argv, env_get, &e, err, sizeof err), 0);
    assert_string_equal(c.network, "regtest");
    assert_ptr_equal(c.params, &chain_params_regtest);
    assert_int_equal(c.port, chain_params_regtest.p2p_port);
    assert_int_equal(c.rpc_port, chain_params_regtest.rpc_port);
    assert_string_equal(c.rpc_bind, "127.0.0.1");
    assert_string_equal(c.datadir, "/home/u/.gossipd/regtest");
    assert_int_equal(c.max_peers, NODE_DEFAULT_MAX_PEERS);
    assert_int_equal(c.fanout, NODE_DEFAULT_FANOUT);
    assert_int_equal(c.tx_batch_ms, NODE_DEFAULT_TX_BATCH_MS);
    assert_int_equal(c.log_level, NODE_LOG_INFO);
    assert_true(c.relay_push);
    assert_false(c.dbfsync);
    assert_false(c.mine);
    assert_false(c.log_json);
    assert_int_equal(c.n_connect, 0);
    assert_string_equal(c.rpc_user, "");
}

static void test_flags(void **state)
{
    struct node_config c;
    char err[256];
    int rc = node_config_parse(&c,
        ARGC("--network=testnet", "--datadir", "/tmp/d", "--name=n1", "--port=1234",
             "--rpc-port", "2345", "--connect=127.0.0.1:1", "--connect", "[::1]:2",
             "--max-peers=8", "--fanout=3", "--tx-batch-ms=0", "--rpc-user=u",
             "--rpc-password=p", "--mine", "--mine-key=k.key", "--log-json",
             "--log-level=warn", "--debug=net,mempool", "--rpc-bind=0.0.0.0", "--bind=::",
             "--relay=pull", "--dbfsync=1"),
        ARGV("--network=testnet", "--datadir", "/tmp/d", "--name=n1", "--port=1234",
             "--rpc-port", "2345", "--connect=127.0.0.1:1", "--connect", "[::1]:2",
             "--max-peers=8", "--fanout=3", "--tx-batch-ms=0", "--rpc-user=u",
             "--rpc-password=p", "--mine", "--mine-key=k.key", "--log-json",
             "--log-level=warn", "--debug=net,mempool", "--rpc-bind=0.0.0.0", "--bind=::",
             "--relay=pull", "--dbfsync=1"),
        NULL, NULL, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_ptr_equal(c.params, &chain_params_testnet);
    assert_string_equal(c.datadir, "/tmp/d");
    assert_string_equal(c.name, "n1");
    assert_int_equal(c.port, 1234);
    assert_int_equal(c.rpc_port, 2345);
    assert_int_equal(c.n_connect, 2);
    assert_string_equal(c.connect[0], "127.0.0.1:1");
    assert_string_equal(c.connect[1], "[::1]:2");
    assert_int_equal(c.max_peers, 8);
    assert_int_equal(c.fanout, 3);
    assert_int_equal(c.tx_batch_ms, 0);
    assert_string_equal(c.rpc_user, "u");
    assert_string_equal(c.rpc_password, "p");
    assert_true(c.mine);
    assert_string_equal(c.mine_key, "k.key");
    assert_true(c.log_json);
    assert_int_equal(c.log_level, NODE_LOG_WARN);
    assert_int_equal(c.debug_cats, NODE_LOG_CAT_NET | NODE_LOG_CAT_MEMPOOL);
    assert_string_equal(c.rpc_bind, "0.0.0.0");
    assert_string_equal(c.bind, "::");
    assert_false(c.relay_push);
    assert_true(c.dbfsync);
}

static void test_env_and_precedence(void **state)
{
    struct node_config c;
    char err[256];
    struct env e = { {
        { "GOSSIPD_NETWORK", "testnet" }, { "GOSSIPD_RPC_PORT", "7000" },
        { "GOSSIPD_CONNECT", "10.0.0.1:1, 10.0.0.2:2,," }, { "GOSSIPD_LOG_JSON", "true" },
        { "GOSSIPD_MINE", "0" }, { "GOSSIPD_TX_BATCH_MS", "25" }, { "GOSSIPD_NAME", "envname" },
        { "GOSSIPD_DATADIR", "/data" },
    } };
    assert_int_equal(node_config_parse(&c, ARGC("--rpc-port=7001"), ARGV("--rpc-port=7001"),
                                       env_get, &e, err, sizeof err), 0);
    assert_string_equal(c.network, "testnet");
    assert_int_equal(c.rpc_port, 7001);      /* flag wins */
    assert_int_equal(c.n_connect, 2);
    assert_string_equal(c.connect[0], "10.0.0.1:1");
    assert_string_equal(c.connect[1], "10.0.0.2:2");
    assert_true(c.log_json);
    assert_false(c.mine);
    assert_int_equal(c.tx_batch_ms, 25);
    assert_string_equal(c.name, "envname");
    /* A --connect on the command line replaces the environment's list. */
    assert_int_equal(node_config_parse(&c, ARGC("--connect=1.2.3.4:5", "--log-json=0"),
                                       ARGV("--connect=1.2.3.4:5", "--log-json=0"),
                                       env_get, &e, err, sizeof err), 0);
    assert_int_equal(c.n_connect, 1);
    assert_string_equal(c.connect[0], "1.2.3.4:5");
    assert_false(c.log_json);
    assert_false(c.no_auto_connect);
    /* --connect=0: no automatic outbound connections (bitcoind's -connect=0). */
    assert_int_equal(node_config_parse(&c, ARGC("--connect=0"), ARGV("--connect=0"), NULL, NULL,
                                       err, sizeof err), 0);
    assert_int_equal(c.n_connect, 0);
    assert_true(c.no_auto_connect);
}

static void expect_fail(const char *arg, const char *needle)
{
    struct node_config c;
    char err[256] = "";
    const char *const argv[] = { "gossipd", arg };
    assert_int_equal(node_config_parse(&c, 2, argv, NULL, NULL, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("'%s': error '%s' lacks '%s'", arg, err, needle);
}

static void test_errors(void **state)
{
    expect_fail("--network=mainnet", "network");
    expect_fail("--port=70000", "port");
    expect_fail("--port=12x", "port");
    expect_fail("--max-peers=0", "max-peers");
    expect_fail("--connect=nohost", "HOST:PORT");
    expect_fail("--connect=h:0", "HOST:PORT");
    expect_fail("--bogus", "unknown option");
    expect_fail("positional", "unexpected");
    expect_fail("--log-level=loud", "log-level");
    expect_fail("--relay=flood", "relay");
    expect_fail("--debug=net,nope", "debug");
    expect_fail("--mine=maybe", "boolean");
    expect_fail("--rpc-user=onlyuser", "together");
    expect_fail("--name=bad name", "name");
    expect_fail("--datadir", "needs a value");

    struct node_config c;
    char err[256];
    struct env e = { { { "GOSSIPD_PORT", "x" } } };
    const char *const argv[] = { "gossipd" };
    assert_int_equal(node_config_parse(&c, 1, argv, env_get, &e, err, sizeof err), -1);
    assert_non_null(strstr(err, "GOSSIPD_PORT"));
}

static void test_bare_debug(void **state)
{
    struct node_config c;
    char err[256];
    assert_int_equal(node_config_parse(&c, ARGC("--debug", "--log-json"),
                                       ARGV("--debug", "--log-json"), NULL, NULL, err,
                                       sizeof err), 0);
    assert_int_equal(c.debug_cats, NODE_LOG_CAT_ALL);
    assert_true(c.log_json);
    /* A value-taking flag does not swallow the next flag. */
    assert_int_equal(node_config_parse(&c, ARGC("--datadir", "--log-json"),
                                       ARGV("--datadir", "--log-json"), NULL, NULL, err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "needs a value"));
}

static void test_hostport(void **state)
{
    char host[64];
    uint16_t port;
    assert_int_equal(node_config_split_hostport("127.0.0.1:8333", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8333);
    assert_int_equal(node_config_split_hostport("[::1]:9", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9);
    assert_int_equal(node_config_split_hostport(":9", host, sizeof host, &port), -1);
    assert_int_equal(node_config_split_hostport("[::1]9", host, sizeof host, &port), -1);
    assert_int_equal(node_config_split_hostport("h:99999", host, sizeof host, &port), -1);
}

static void test_help_flags(void **state)
{
    struct node_config c;
    char err[256];
    assert_int_equal(node_config_parse(&c, ARGC("--help"), ARGV("--help"), NULL, NULL, err,
                                       sizeof err), 0);
    assert_true(c.help);
    assert_int_equal(node_config_parse(&c, ARGC("--version"), ARGV("--version"), NULL, NULL,
                                       err, sizeof err), 0);
    assert_true(c.version);
    /* bitcoind's -h and -?; help does not read (or need) a config file. */
    assert_int_equal(node_config_parse(&c, ARGC("-?", "-conf=/nonexistent"),
                                       ARGV("-?", "-conf=/nonexistent"), NULL, NULL, err,
                                       sizeof err), 0);
    assert_true(c.help);
    assert_int_equal(node_config_parse(&c, ARGC("-h"), ARGV("-h"), NULL, NULL, err, sizeof err), 0);
    assert_true(c.help);
    /* Every flag the usage names is one the parser knows. */
    const char *u = node_config_usage();
    assert_non_null(strstr(u, "--tx-batch-ms"));
    assert_non_null(strstr(u, "GOSSIPD_"));
}

/* ---- dash styles, aliases, negation ---- */

static void test_dash_styles(void **state)
{
    struct node_config c;
    char err[256];
    assert_int_equal(node_config_parse(&c, ARGC("-testnet", "-rpcport=7", "--maxpeers=9",
                                                "-datadir", "/d", "-nopid", "-logjson"),
                                       ARGV("-testnet", "-rpcport=7", "--maxpeers=9",
                                            "-datadir", "/d", "-nopid", "-logjson"),
                                       NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.network, "testnet");
    assert_int_equal(c.rpc_port, 7);
    assert_int_equal(c.max_peers, 9);
    assert_string_equal(c.datadir, "/d");
    assert_string_equal(c.pid_file, "");
    assert_true(c.log_json);
    assert_string_equal(c.debuglogfile, "/d/" NODE_DEFAULT_LOG_FILE);
    assert_false(c.printtoconsole);
    assert_int_equal(node_config_parse(&c, ARGC("-regtest", "-nodebuglogfile", "-printtoconsole",
                                                "-pid=p.pid", "-nologjson", "-noconnect"),
                                       ARGV("-regtest", "-nodebuglogfile", "-printtoconsole",
                                            "-pid=p.pid", "-nologjson", "-noconnect"),
                                       NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.network, "regtest");
    assert_string_equal(c.debuglogfile, "");
    assert_true(c.printtoconsole);
    assert_string_equal(c.pid_file, "./.gossipd/regtest/p.pid");
    assert_false(c.log_json);
    assert_true(c.no_auto_connect);
    expect_fail("-noname", "unknown option");
    expect_fail("-nopid=0", "expected no value or a boolean");
    expect_fail("-", "unexpected");
}

/* ---- config file ---- */

struct tmpdir {
    char path[64];
};

static void tmp_make(struct tmpdir *t)
{
    snprintf(t->path, sizeof t->path, "/tmp/gossipd-cfg-XXXXXX");
    assert_non_null(mkdtemp(t->path));
}

static void tmp_write(const struct tmpdir *t, const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", t->path, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void tmp_remove(const struct tmpdir *t, const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", t->path, name);
    unlink(p);
}

static void test_file_precedence(void **state)
{
    struct tmpdir t;
    tmp_make(&t);
    tmp_write(&t, NODE_CONFIG_FILE_NAME,
              "# comment line\n"
              "  testnet = 1   # trailing comment\n"
              "rpcport=1001\n"
              "port=1002\n"
              "name=fromfile\n"
              "max-peers=5\n"
              "rpcconnect=127.0.0.1   # gossip-cli's, ignored here\n"
              "connect=10.0.0.1:1\n"
              "connect=10.0.0.2:2\n"
              "\n"
              "[regtest]\n"
              "port=2002\n"
              "[testnet]\n"
              "port=3002\n"
              "fanout=4\n");
    char dd[96];
    snprintf(dd, sizeof dd, "--datadir=%s", t.path);
    struct node_config c;
    char err[256];
    struct env e = { { { "GOSSIPD_NAME", "fromenv" }, { "GOSSIPD_MAX_PEERS", "6" } } };
    /* File alone: top section plus the [testnet] section it chose. */
    assert_int_equal(node_config_parse(&c, ARGC(dd), ARGV(dd), NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.network, "testnet");
    assert_int_equal(c.rpc_port, 1001);
    assert_int_equal(c.port, 3002);       /* section over top */
    assert_int_equal(c.fanout, 4);
    assert_string_equal(c.name, "fromfile");
    assert_int_equal(c.n_connect, 2);
    assert_non_null(strstr(c.conf, NODE_CONFIG_FILE_NAME));
    /* Environment over file, command line over both; -regtest picks the
     * [regtest] section; a --connect replaces the file's list. */
    assert_int_equal(node_config_parse(&c, ARGC(dd, "-regtest", "--max-peers=7", "-connect=1.1.1.1:1"),
                                       ARGV(dd, "-regtest", "--max-peers=7", "-connect=1.1.1.1:1"),
                                       env_get, &e, err, sizeof err), 0);
    assert_string_equal(c.network, "regtest");
    assert_int_equal(c.port, 2002);
    assert_int_equal(c.fanout, NODE_DEFAULT_FANOUT);
    assert_string_equal(c.name, "fromenv");
    assert_int_equal(c.max_peers, 7);
    assert_int_equal(c.n_connect, 1);
    assert_string_equal(c.connect[0], "1.1.1.1:1");
    assert_int_equal(node_config_parse(&c, ARGC(dd), ARGV(dd), env_get, &e, err, sizeof err), 0);
    assert_int_equal(c.max_peers, 6);
    /* -conf: relative to the datadir; a named file must exist. */
    tmp_write(&t, "other.conf", "rpc-port=4444\n");
    assert_int_equal(node_config_parse(&c, ARGC(dd, "-conf=other.conf"),
                                       ARGV(dd, "-conf=other.conf"), NULL, NULL, err,
                                       sizeof err), 0);
    assert_int_equal(c.rpc_port, 4444);
    assert_string_equal(c.network, "regtest");
    assert_int_equal(node_config_parse(&c, ARGC(dd, "-conf=missing.conf"),
                                       ARGV(dd, "-conf=missing.conf"), NULL, NULL, err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "missing.conf"));
    tmp_remove(&t, "other.conf");
    tmp_remove(&t, NODE_CONFIG_FILE_NAME);
    /* No file at the default place: fine. */
    assert_int_equal(node_config_parse(&c, ARGC(dd), ARGV(dd), NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.conf, "");
    rmdir(t.path);
}

static void expect_file_fail(const char *text, const char *needle)
{
    struct tmpdir t;
    tmp_make(&t);
    tmp_write(&t, NODE_CONFIG_FILE_NAME, text);
    char dd[96];
    snprintf(dd, sizeof dd, "--datadir=%s", t.path);
    struct node_config c;
    char err[256] = "";
    int rc = node_config_parse(&c, ARGC(dd), ARGV(dd), NULL, NULL, err, sizeof err);
    tmp_remove(&t, NODE_CONFIG_FILE_NAME);
    rmdir(t.path);
    assert_int_equal(rc, -1);
    if (!strstr(err, needle) || !strstr(err, NODE_CONFIG_FILE_NAME ":"))
        fail_msg("config '%s': error '%s' lacks '%s' or the file name", text, err, needle);
}

static void test_file_errors(void **state)
{
    expect_file_fail("port=1\nrpcprot=2\n", NODE_CONFIG_FILE_NAME ":2: unknown key 'rpcprot'");
    expect_file_fail("\n\n[testnet]\nbogus=1\n", ":4: unknown key 'bogus'");  /* any section */
    expect_file_fail("[testnet]\nport=x\n", ":2: --port");   /* other network's values too */
    expect_file_fail("[mainnet]\n", ":1: unknown section");
    expect_file_fail("[regtest]\ntestnet=1\n", ":2: 'testnet' belongs in the top section");
    expect_file_fail("conf=x\n", ":1: 'conf' is not allowed");
    expect_file_fail("-port=1\n", ":1: write the key without a leading '-'");
    expect_file_fail("port\n", ":1: expected key=value");
    expect_file_fail("max-peers=0\n", ":1: --max-peers");
    /* gossip-cli's keys are fine in the shared file, not on gossipd's command line. */
    expect_fail("--rpcwait", "unknown option");
    expect_fail("-rpcconnect=h", "unknown option");
}

struct seen {
    char kv[8][3][32];
    int n;
};

static int record(void *ctx, const char *section, const char *key, const char *value,
                  char *err, size_t err_len)
{
    struct seen *s = ctx;
    if (strcmp(key, "stop") == 0) {
        snprintf(err, err_len, "stopped here");
        return -1;
    }
    snprintf(s->kv[s->n][0], 32, "%s", section);
    snprintf(s->kv[s->n][1], 32, "%s", key);
    snprintf(s->kv[s->n][2], 32, "%s", value);
    s->n++;
    return 0;
}

static void test_parse_text(void **state)
{
    /* The reader alone (gossip-cli uses it with its own keys). */
    struct seen s = { .n = 0 };
    char err[128];
    assert_int_equal(node_config_parse_text("x", "a=1\r\n[testnet]\nb = two words # c\nc=", record,
                                            &s, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.kv[0][0], "");
    assert_string_equal(s.kv[0][2], "1");
    assert_string_equal(s.kv[1][0], "testnet");
    assert_string_equal(s.kv[1][1], "b");
    assert_string_equal(s.kv[1][2], "two words");
    assert_string_equal(s.kv[2][1], "c");
    assert_string_equal(s.kv[2][2], "");
    assert_int_equal(node_config_parse_text("f.conf", "a=1\n\nstop=1\n", record, &s, err,
                                            sizeof err), -1);
    assert_string_equal(err, "f.conf:3: stopped here");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_env_and_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bare_debug),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_help_flags),
        cmocka_unit_test(test_dash_styles),
        cmocka_unit_test(test_file_precedence),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_parse_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
