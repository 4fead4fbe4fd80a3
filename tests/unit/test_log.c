/* node/log.c: line formats (text and JSON), levels, categories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/log.h"

/* 2026-11-23T18:12:22.123456Z */
#define TS_US 1795457542123456ull

static void test_ts(void **state)
{
    char ts[28];
    node_log_ts(ts, TS_US);
    assert_string_equal(ts, "2026-11-23T18:12:22.123456Z");
    node_log_ts(ts, 5);
    assert_string_equal(ts, "1970-01-01T00:00:00.000005Z");
}

static void test_text_line(void **state)
{
    struct node_log log;
    node_log_init(&log, "n1");
    uint8_t h[32] = { 0 };
    h[31] = 0xab;   /* display order reverses: "ab00..." */
    const struct node_log_field f[] = {
        LF_HASH("hash", h), LF_UINT("height", 5), LF_INT("peer", 3), LF_STR("peer_name", "n2"),
        LF_BOOL("first_seen", true), LF_STR("reason", "two words"), LF_STR("empty", ""),
    };
    char buf[1024];
    size_t n = node_log_format(&log, buf, sizeof buf, TS_US, NODE_LOG_INFO, "block_received", f,
                               sizeof f / sizeof f[0]);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf,
        "2026-11-23T18:12:22.123456Z n1 block_received hash=ab00000000000000000000000000000000"
        "000000000000000000000000000000 height=5 peer=3 peer_name=n2 first_seen=true "
        "reason=\"two words\" empty=\"\"\n");
    n = node_log_format(&log, buf, sizeof buf, TS_US, NODE_LOG_WARN, "ban", f + 1, 1);
    assert_string_equal(buf, "2026-11-23T18:12:22.123456Z n1 WARN ban height=5\n");
}

static void test_json_line(void **state)
{
    struct node_log log;
    node_log_init(&log, "n\"1");
    log.json = true;
    uint8_t h[32];
    memset(h, 0x11, sizeof h);
    const struct node_log_field f[] = {
        LF_HASH("txid", h), LF_STR("source", "peer"), LF_INT("peer", -1),
        LF_STR("msg", "a\nb\x01"), LF_BOOL("first_seen", false), LF_DOUBLE("x", 1.5),
    };
    char buf[1024];
    node_log_format(&log, buf, sizeof buf, TS_US, NODE_LOG_INFO, "tx_accepted", f,
                    sizeof f / sizeof f[0]);
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    json_error_t err;
    json_t *o = json_loads(buf, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "ts")),
                        "2026-11-23T18:12:22.123456Z");
    assert_string_equal(json_string_value(json_object_get(o, "node")), "n\"1");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "tx_accepted");
    assert_string_equal(json_string_value(json_object_get(o, "source")), "peer");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "a\nb\x01");
    assert_int_equal(json_integer_value(json_object_get(o, "peer")), -1);
    assert_true(json_is_false(json_object_get(o, "first_seen")));
    assert_string_equal(json_string_value(json_object_get(o, "txid")),
                        "1111111111111111111111111111111111111111111111111111111111111111");
    json_decref(o);
}

static void test_json_truncated_stays_valid(void **state)
{
    struct node_log log;
    node_log_init(&log, "n1");
    log.json = true;
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const struct node_log_field f[] = { LF_STR("msg", big) };
    char buf[256];
    size_t n = node_log_format(&log, buf, sizeof buf, TS_US, NODE_LOG_ERROR, "oops", f, 1);
    assert_true(n < sizeof buf);
    json_error_t err;
    json_t *o = json_loads(buf, 0, &err);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);
    /* Text lines are cut but still end with a newline. */
    log.json = false;
    n = node_log_format(&log, buf, sizeof buf, TS_US, NODE_LOG_ERROR, "oops", f, 1);
    assert_int_equal(n, sizeof buf - 1);
    assert_int_equal(buf[n - 1], '\n');
}

static void test_levels_and_cats(void **state)
{
    struct node_log log;
    node_log_init(&log, "n1");
    assert_true(node_log_enabled(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE));
    assert_false(node_log_enabled(&log, NODE_LOG_DEBUG, NODE_LOG_CAT_NONE));
    assert_false(node_log_enabled(&log, NODE_LOG_DEBUG, NODE_LOG_CAT_NET));
    unsigned cats = 0;
    assert_int_equal(node_log_cats_parse("net,mempool", &cats), 0);
    assert_int_equal(cats, NODE_LOG_CAT_NET | NODE_LOG_CAT_MEMPOOL);
    log.cats = cats;
    assert_true(node_log_enabled(&log, NODE_LOG_DEBUG, NODE_LOG_CAT_NET));
    assert_false(node_log_enabled(&log, NODE_LOG_DEBUG, NODE_LOG_CAT_RPC));
    assert_int_equal(node_log_cats_parse("all", &cats), 0);
    assert_int_equal(cats, NODE_LOG_CAT_ALL);
    assert_int_equal(node_log_cats_parse("", &cats), 0);
    assert_int_equal(cats, 0);
    assert_int_equal(node_log_cats_parse("net,bogus", &cats), -1);
    log.level = NODE_LOG_WARN;
    assert_false(node_log_enabled(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE));
    assert_true(node_log_enabled(&log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE));
    assert_int_equal(node_log_level_parse("debug"), NODE_LOG_DEBUG);
    assert_int_equal(node_log_level_parse("WARN"), NODE_LOG_WARN);
    assert_int_equal(node_log_level_parse("loud"), -1);
}

static uint64_t fixed_clock(void *ctx)
{
    return *(uint64_t *)ctx;
}

static void test_write_to_file(void **state)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    struct node_log log;
    node_log_init(&log, "n1");
    log.out = f;
    uint64_t now = TS_US;
    log.now_us = fixed_clock;
    log.clock_ctx = &now;
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "node_stop", LF_UINT("height", 7));
    NODE_LOG(&log, NODE_LOG_DEBUG, NODE_LOG_CAT_NET, "msg_sent", LF_STR("cmd", "inv"));
    node_log_msg(&log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "fatal", "code %d", 42);
    fclose(f);
    assert_string_equal(mem, "2026-11-23T18:12:22.123456Z n1 node_stop height=7\n"
                             "2026-11-23T18:12:22.123456Z n1 ERROR fatal msg=\"code 42\"\n");
    free(mem);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The log file (debug.log): appended, 0600, reopened at its path after a
 * rotation moved it, with a console copy when asked. */
static void test_log_file_reopen(void **state)
{
    char dir[] = "/tmp/gossipd-log-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], moved[64], tee_path[64];
    snprintf(path, sizeof path, "%s/debug.log", dir);
    snprintf(moved, sizeof moved, "%s/debug.log.1", dir);
    snprintf(tee_path, sizeof tee_path, "%s/console", dir);
    struct node_log log;
    node_log_init(&log, "n");
    assert_int_equal(node_log_open(&log, path, false), 0);
    assert_true(log.owns_out);
    assert_null(log.tee);
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "first", LF_INT("k", 1));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rename(path, moved), 0);
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "second", LF_INT("k", 2));
    assert_true(fcntl(fileno(log.out), F_GETFD) & FD_CLOEXEC);
    assert_int_equal(node_log_reopen(&log), 0);
    /* Not inherited by child processes (-blocknotify), after a reopen too. */
    assert_true(fcntl(fileno(log.out), F_GETFD) & FD_CLOEXEC);
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "third", LF_INT("k", 3));
    char *old = strdup(slurp(moved));
    char *cur = slurp(path);
    assert_non_null(strstr(old, " first k=1"));
    assert_non_null(strstr(old, " second k=2"));
    assert_null(strstr(old, "third"));
    assert_non_null(strstr(cur, " third k=3"));
    assert_null(strstr(cur, "first"));
    free(old);
    /* A path that cannot be opened leaves the file in use. */
    snprintf(log.path, sizeof log.path, "%s/no/such/dir/x.log", dir);
    assert_true(node_log_reopen(&log) < 0);
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "fourth", LF_INT("k", 4));
    assert_non_null(strstr(slurp(path), "fourth"));
    node_log_close(&log);
    assert_ptr_equal(log.out, stderr);
    assert_false(log.owns_out);
    /* No file and no console: nothing is written (error events go to stderr). */
    assert_int_equal(node_log_open(&log, NULL, false), 0);
    assert_null(log.out);
    assert_true(log.errors_to_stderr);
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "dropped", LF_INT("k", 5));
    /* File and console: both get every line. */
    assert_int_equal(node_log_open(&log, path, true), 0);
    FILE *tee = fopen(tee_path, "w");
    assert_non_null(tee);
    log.tee = tee;
    NODE_LOG(&log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "both", LF_INT("k", 6));
    fclose(tee);
    log.tee = NULL;
    assert_non_null(strstr(slurp(path), "both k=6"));
    assert_non_null(strstr(slurp(tee_path), "both k=6"));
    node_log_close(&log);
    assert_int_equal(node_log_reopen(&log), 0);   /* no file: nothing to do */
    unlink(path);
    unlink(moved);
    unlink(tee_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_json_truncated_stays_valid),
        cmocka_unit_test(test_levels_and_cats),
        cmocka_unit_test(test_write_to_file),
        cmocka_unit_test(test_log_file_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
