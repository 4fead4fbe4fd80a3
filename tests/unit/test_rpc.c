/* node/rpc_http.c: JSON-RPC dispatch and the sans-I/O HTTP session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/rpc_http.h"

static json_t *m_echo(struct node_rpc_req *rq)
{
    return json_incref(rq->params);
}

static json_t *m_add(struct node_rpc_req *rq)
{
    uint64_t a = 0, b = 0;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_u64(rq, 0, true, 1000, &a) ||
        !node_rpc_param_u64(rq, 1, false, 1000, &b))
        return NULL;
    return json_integer((json_int_t)(a + b));
}

static json_t *m_reject(struct node_rpc_req *rq)
{
    return node_rpc_fail(rq, RPC_VERIFY_REJECTED, "%s", "tx-bad-signature");
}

/* A long poll: defers; the test answers through `parked`. */
static struct node_rpc_pending *parked;
static int cancelled;

static void on_cancel(void *arg)
{
    (void)arg;
    cancelled++;
    parked = NULL;
}

static json_t *m_wait(struct node_rpc_req *rq)
{
    struct node_rpc_pending *p = node_rpc_defer(rq, on_cancel, NULL);
    if (!p)
        return json_string("now");   /* cannot wait: answered at once */
    parked = p;
    return NULL;
}

static const struct node_rpc_method methods[] = {
    { "wait", m_wait, "", "wait\n" },
    { "echo", m_echo, "", "echo\n" },
    { "add", m_add, "a,b", "add a ( b )\n" },
    { "reject", m_reject, "", "reject\n" },
};

static struct node_rpc_server *new_server(void)
{
    struct node_rpc_config cfg = {
        .port = 0, .user = "user", .password = "pa:ss",
        .methods = methods, .n_methods = sizeof methods / sizeof methods[0],
    };
    struct node_rpc_server *s = NULL;
    assert_int_equal(node_rpc_server_new(&s, &cfg), 0);
    return s;
}

static json_t *call(struct node_rpc_server *s, const char *body)
{
    size_t len;
    char *out = node_rpc_process(s, body, strlen(body), &len);
    if (!out) {
        assert_int_equal(len, 0);
        return NULL;
    }
    assert_int_equal(out[len - 1], '\n');
    json_error_t err;
    json_t *j = json_loadb(out, len, 0, &err);
    free(out);
    assert_non_null(j);
    return j;
}

static int err_code(json_t *resp)
{
    json_t *e = json_object_get(resp, "error");
    return json_is_object(e) ? (int)json_integer_value(json_object_get(e, "code")) : 0;
}

static void test_dispatch(void **state)
{
    struct node_rpc_server *s = new_server();
    json_t *r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"add\",\"params\":[2,3]}");
    assert_int_equal(json_integer_value(json_object_get(r, "result")), 5);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
    assert_null(json_object_get(r, "error"));
    json_decref(r);

    /* Legacy (bitcoin-cli 1.0 style): result and error both present. */
    r = call(s, "{\"id\":\"x\",\"method\":\"add\",\"params\":[1]}");
    assert_int_equal(json_integer_value(json_object_get(r, "result")), 1);
    assert_true(json_is_null(json_object_get(r, "error")));
    assert_string_equal(json_string_value(json_object_get(r, "id")), "x");
    json_decref(r);

    /* Named params map onto the method's argument list. */
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"b\":4,\"a\":1}}");
    assert_int_equal(json_integer_value(json_object_get(r, "result")), 5);
    json_decref(r);
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"c\":4}}");
    assert_int_equal(err_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
    node_rpc_server_free(s);
}

static void test_errors(void **state)
{
    struct node_rpc_server *s = new_server();
    json_t *r = call(s, "{\"method\":");
    assert_int_equal(err_code(r), RPC_PARSE_ERROR);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = call(s, "42");
    assert_int_equal(err_code(r), RPC_INVALID_REQUEST);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":5}");
    assert_int_equal(err_code(r), RPC_INVALID_REQUEST);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"add\",\"params\":3}");
    assert_int_equal(err_code(r), RPC_INVALID_REQUEST);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"nope\"}");
    assert_int_equal(err_code(r), RPC_METHOD_NOT_FOUND);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"add\",\"params\":[\"x\"]}");
    assert_int_equal(err_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"add\",\"params\":[]}");
    assert_int_equal(err_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"add\",\"params\":[1,2,3]}");
    assert_int_equal(err_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"add\",\"params\":[1001]}");
    assert_int_equal(err_code(r), RPC_INVALID_PARAMS);
    json_decref(r);
    r = call(s, "{\"id\":1,\"method\":\"reject\"}");
    assert_int_equal(err_code(r), RPC_VERIFY_REJECTED);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"),
                                                          "message")), "tx-bad-signature");
    json_decref(r);
    r = call(s, "[]");
    assert_int_equal(err_code(r), RPC_INVALID_REQUEST);
    json_decref(r);
    node_rpc_server_free(s);
}

static void test_batch(void **state)
{
    struct node_rpc_server *s = new_server();
    json_t *r = call(s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,1]},"
                        " 5,"
                        " {\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,1]},"
                        " {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]");
    assert_true(json_is_array(r));
    /* The notification (no id) gets no response. */
    assert_int_equal(json_array_size(r), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "result")), 2);
    assert_int_equal(err_code(json_array_get(r, 1)), RPC_INVALID_REQUEST);
    assert_int_equal(err_code(json_array_get(r, 2)), RPC_METHOD_NOT_FOUND);
    json_decref(r);
    /* Only notifications: nothing to send. */
    assert_null(call(s, "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]"));
    assert_null(call(s, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}"));
    node_rpc_server_free(s);
}

/* ---- HTTP session ---- */

struct capture {
    char buf[65536];
    size_t len;
    int writes;
};

static void cap_write(void *io, char *buf, size_t len)
{
    struct capture *c = io;
    assert_true(len <= sizeof c->buf - c->len - 1);
    memcpy(c->buf + c->len, buf, len);
    c->len += len;
    c->buf[c->len] = '\0';
    c->writes++;
    free(buf);
}

/* base64("user:pa:ss") */
#define AUTH "Authorization: Basic dXNlcjpwYTpzcw==\r\n"

static char *post(const char *body, const char *auth)
{
    static char req[4096];
    snprintf(req, sizeof req,
             "POST / HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s", auth, strlen(body), body);
    return req;
}

static char *metrics_cb(void *ctx, size_t *len)
{
    char *t = strdup("gossipd_height 3\n");
    *len = strlen(t);
    return t;
}

static void test_base64(void **state)
{
    char out[32];
    node_rpc_base64(out, (const uint8_t *)"user:pa:ss", 10);
    assert_string_equal(out, "dXNlcjpwYTpzcw==");
    node_rpc_base64(out, (const uint8_t *)"ab", 2);
    assert_string_equal(out, "YWI=");
    node_rpc_base64(out, (const uint8_t *)"abc", 3);
    assert_string_equal(out, "YWJj");
}

static void test_session_keepalive_and_split(void **state)
{
    struct node_rpc_server *s = new_server();
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    const char *req = post("{\"id\":1,\"method\":\"add\",\"params\":[20,22]}", AUTH);
    /* One byte at a time: the request completes only with the last byte. */
    size_t n = strlen(req);
    for (size_t i = 0; i < n; i++) {
        assert_true(node_rpc_session_feed(ss, req + i, 1));
        if (i + 1 < n) {
            assert_int_equal(cap.writes, 0);
            assert_true(node_rpc_session_in_request(ss));
        }
    }
    assert_int_equal(cap.writes, 1);
    assert_false(node_rpc_session_in_request(ss));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(cap.buf, "Connection: keep-alive"));
    assert_non_null(strstr(cap.buf, "\"result\":42"));
    /* Two pipelined requests in one write on the same connection. */
    char two[8192];
    snprintf(two, sizeof two, "%s", post("{\"id\":2,\"method\":\"add\",\"params\":[1]}", AUTH));
    strcat(two, post("{\"id\":3,\"method\":\"add\",\"params\":[2]}", AUTH));
    cap.len = 0;
    assert_true(node_rpc_session_feed(ss, two, strlen(two)));
    assert_int_equal(cap.writes, 3);
    char *first = strstr(cap.buf, "\"id\":2");
    char *second = strstr(cap.buf, "\"id\":3");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

static void test_session_expect_continue(void **state)
{
    struct node_rpc_server *s = new_server();
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    const char *body = "{\"id\":1,\"method\":\"add\",\"params\":[2]}";
    char head[512];
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\n" AUTH "Expect: 100-continue\r\n"
             "Content-Length: %zu\r\n\r\n", strlen(body));
    assert_true(node_rpc_session_feed(ss, head, strlen(head)));
    assert_string_equal(cap.buf, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_true(node_rpc_session_feed(ss, body, strlen(body)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(cap.buf, "\"result\":2"));
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

static void test_session_auth(void **state)
{
    struct node_rpc_server *s = new_server();
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    assert_true(node_rpc_session_feed(ss, post("{}", ""), strlen(post("{}", ""))));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 401 Unauthorized"));
    assert_non_null(strstr(cap.buf, "WWW-Authenticate: Basic"));
    cap.len = 0;
    const char *bad = post("{}", "Authorization: Basic dXNlcjp3cm9uZw==\r\n");
    assert_true(node_rpc_session_feed(ss, bad, strlen(bad)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 401"));
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

static void test_session_limits(void **state)
{
    struct node_rpc_server *s = new_server();
    struct capture cap = { .len = 0 };
    /* Oversize Content-Length: refused before any body byte is read. */
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    char req[512];
    snprintf(req, sizeof req, "POST / HTTP/1.1\r\n" AUTH "Content-Length: %u\r\n\r\n",
             NODE_RPC_BODY_MAX + 1);
    assert_false(node_rpc_session_feed(ss, req, strlen(req)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 413"));
    assert_non_null(strstr(cap.buf, "Connection: close"));
    /* Once closing, nothing more is processed. */
    assert_false(node_rpc_session_feed(ss, "GET", 3));
    node_rpc_session_free(ss);

    /* Oversize headers. */
    cap.len = 0;
    ss = node_rpc_session_new(s, cap_write, &cap);
    const char *h = "POST / HTTP/1.1\r\nX-Pad: ";
    assert_true(node_rpc_session_feed(ss, h, strlen(h)));
    char pad[1024];
    memset(pad, 'a', sizeof pad);
    bool ok = true;
    for (int i = 0; i < 32 && ok; i++)
        ok = node_rpc_session_feed(ss, pad, sizeof pad);
    assert_false(ok);
    assert_non_null(strstr(cap.buf, "HTTP/1.1 431"));
    node_rpc_session_free(ss);

    /* Garbage. */
    cap.len = 0;
    ss = node_rpc_session_new(s, cap_write, &cap);
    assert_false(node_rpc_session_feed(ss, "\x01\x02 nonsense\r\n\r\n", 15));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 400"));
    node_rpc_session_free(ss);

    /* Timeout abort. */
    cap.len = 0;
    ss = node_rpc_session_new(s, cap_write, &cap);
    assert_true(node_rpc_session_feed(ss, "POST / HT", 9));
    assert_true(node_rpc_session_in_request(ss));
    node_rpc_session_abort(ss, 408);
    assert_non_null(strstr(cap.buf, "HTTP/1.1 408"));
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

static void test_session_metrics_and_close(void **state)
{
    struct node_rpc_config cfg = {
        .user = "user", .password = "pa:ss", .methods = methods, .n_methods = 3,
        .metrics = metrics_cb,
    };
    struct node_rpc_server *s = NULL;
    assert_int_equal(node_rpc_server_new(&s, &cfg), 0);
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(node_rpc_session_feed(ss, get, strlen(get)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 200"));
    assert_non_null(strstr(cap.buf, "gossipd_height 3\n"));
    /* GET / is not JSON-RPC. */
    cap.len = 0;
    const char *get2 = "GET / HTTP/1.1\r\n\r\n";
    assert_false(node_rpc_session_feed(ss, get2, strlen(get2)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 405"));
    node_rpc_session_free(ss);

    /* HTTP/1.0 without keep-alive closes after the response. */
    cap.len = 0;
    ss = node_rpc_session_new(s, cap_write, &cap);
    char req[512];
    const char *body = "{\"id\":1,\"method\":\"add\",\"params\":[1]}";
    snprintf(req, sizeof req, "POST / HTTP/1.0\r\n" AUTH "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    assert_false(node_rpc_session_feed(ss, req, strlen(req)));
    assert_non_null(strstr(cap.buf, "Connection: close"));
    assert_non_null(strstr(cap.buf, "\"result\":1"));
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

/* Mutated requests fed in random chunks: every outcome is a response or a
 * close, never a crash or an out-of-bounds access (run under ASan). */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_session_mutations(void **state)
{
    struct node_rpc_server *s = new_server();
    const char *base = post("[{\"id\":1,\"method\":\"add\",\"params\":{\"a\":1,\"b\":2}},"
                            "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"echo\","
                            "\"params\":[null,[1,2],{}]}]", AUTH);
    size_t blen = strlen(base);
    static struct capture cap;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 3000; iter++) {
        char buf[4096];
        memcpy(buf, base, blen);
        size_t len = blen;
        int edits = (int)(rng_next(&seed) % 6);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(rng_next(&seed) % len);
            switch (rng_next(&seed) % 3) {
            case 0: buf[at] = (char)rng_next(&seed); break;               /* flip */
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;  /* drop */
            default:                                                       /* dup */
                if (len < sizeof buf - 1) {
                    memmove(buf + at + 1, buf + at, len - at);
                    len++;
                }
            }
        }
        cap.len = 0;
        cap.buf[0] = '\0';
        struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
        size_t off = 0;
        bool open = true;
        while (open && off < len) {
            size_t n = 1 + (size_t)(rng_next(&seed) % 64);
            if (n > len - off)
                n = len - off;
            open = node_rpc_session_feed(ss, buf + off, n);
            off += n;
        }
        if (cap.len)
            assert_memory_equal(cap.buf, "HTTP/1.1 ", 9);
        node_rpc_session_free(ss);
    }
    node_rpc_server_free(s);
}

/* Credentials are compared as digests: right ones pass; one wrong character
 * anywhere, a prefix, or one byte more fail alike. */
static void test_session_auth_variants(void **state)
{
    struct node_rpc_server *s = new_server();
    const char good[] = "dXNlcjpwYTpzcw==";
    char hdr[128], b64[64];
    size_t gl = strlen(good);
    for (size_t i = 0; i <= gl + 1; i++) {
        struct capture cap = { .len = 0 };
        struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
        snprintf(b64, sizeof b64, "%s", good);
        bool right = i == gl + 1;
        if (i < gl)
            b64[i] = b64[i] == 'A' ? 'B' : 'A';   /* flip one character */
        else if (i == gl)
            b64[gl - 1] = '\0';                    /* a prefix */
        snprintf(hdr, sizeof hdr, "Authorization: Basic %s\r\n", b64);
        const char *req = post("{\"id\":1,\"method\":\"add\",\"params\":[1]}", hdr);
        assert_true(node_rpc_session_feed(ss, req, strlen(req)));
        assert_non_null(strstr(cap.buf, right ? "HTTP/1.1 200" : "HTTP/1.1 401"));
        node_rpc_session_free(ss);
    }
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    const char *longer = post("{}", "Authorization: Basic dXNlcjpwYTpzcw==A\r\n");
    assert_true(node_rpc_session_feed(ss, longer, strlen(longer)));
    assert_non_null(strstr(cap.buf, "HTTP/1.1 401"));
    node_rpc_session_free(ss);
    node_rpc_server_free(s);
}

/* A deferred answer: nothing is sent until it is done, a pipelined request
 * waits behind it and is answered after, in order; a batch does not wait;
 * closing the session cancels a parked answer. */
static void test_session_deferred(void **state)
{
    struct node_rpc_server *s = new_server();
    struct capture cap = { .len = 0 };
    struct node_rpc_session *ss = node_rpc_session_new(s, cap_write, &cap);
    static char two[8192];
    snprintf(two, sizeof two, "%s", post("{\"id\":1,\"method\":\"wait\"}", AUTH));
    strcat(two, post("{\"id\":2,\"method\":\"add\",\"params\":[2,3]}", AUTH));
    assert_true(node_rpc_session_feed(ss, two, strlen(two)));
    assert_non_null(parked);
    assert_true(node_rpc_session_waiting(ss));
    assert_int_equal(cap.len, 0);
    node_rpc_pending_done(parked, json_string("later"));
    assert_false(node_rpc_session_waiting(ss));
    char *first = strstr(cap.buf, "\"later\"");
    char *second = strstr(cap.buf, "\"result\":5");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    /* In a batch nothing waits. */
    cap.len = 0;
    parked = NULL;
    const char *batch = post("[{\"id\":3,\"method\":\"wait\"}]", AUTH);
    assert_true(node_rpc_session_feed(ss, batch, strlen(batch)));
    assert_null(parked);
    assert_non_null(strstr(cap.buf, "\"now\""));
    /* The client goes away while waiting: cancelled, nothing leaks. */
    const char *w = post("{\"id\":4,\"method\":\"wait\"}", AUTH);
    assert_true(node_rpc_session_feed(ss, w, strlen(w)));
    assert_non_null(parked);
    cancelled = 0;
    node_rpc_session_free(ss);
    assert_int_equal(cancelled, 1);
    /* Without a session (node_rpc_process directly) it answers at once. */
    json_t *r = call(s, "{\"id\":5,\"method\":\"wait\"}");
    assert_string_equal(json_string_value(json_object_get(r, "result")), "now");
    json_decref(r);
    node_rpc_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_session_keepalive_and_split),
        cmocka_unit_test(test_session_auth),
        cmocka_unit_test(test_session_auth_variants),
        cmocka_unit_test(test_session_deferred),
        cmocka_unit_test(test_session_expect_continue),
        cmocka_unit_test(test_session_limits),
        cmocka_unit_test(test_session_metrics_and_close),
        cmocka_unit_test(test_session_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
