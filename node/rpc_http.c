/* JSON-RPC over HTTP. Why the limits are what they are:
 *   - body 1 MiB: the largest legitimate request is a batch of raw
 *     transactions (each < 1 KiB as hex); nothing submits blocks over RPC.
 *   - headers 16 KiB: curl, bitcoin-style clients and Python send < 1 KiB.
 *   - 64 connections: a local tool or test opens a handful; the cap bounds
 *     memory (each holds at most one body) whatever a client does.
 *   - request timeout 10 s from the first byte, not reset by more bytes, so
 *     a client trickling one byte at a time (slowloris) is cut off too.
 *   - unauthenticated: 8 connections, 2 s each. A local client sends its
 *     credentials with its first request, within milliseconds; a slowloris
 *     or idle flood only ever holds 8 slots, and a newcomer evicts the
 *     oldest of them, so it is served even while the flood goes on.
 *   - failed logins: 250 ms apart per IP (bitcoind sleeps 250 ms per
 *     failure; here it cannot be multiplied by opening more connections).
 */
#include "node/rpc_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>

#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sec.h"

_Static_assert(NODE_RPC_BODY_MAX <= NODE_RPC_WRITE_QUEUE_MAX,
               "a paused connection must be able to hold one response");

struct rpc_conn;

/* Failed logins of one source IP. */
struct auth_track {
    char ip[64];
    uint64_t next_ms;             /* when its latest failure is answered */
    uint64_t last_ms;             /* last failure (LRU replacement) */
    uint64_t fails;
};

struct node_rpc_pending {
    struct node_rpc_session *ss;
    json_t *id;
    bool v2;
    bool keep_alive;
    void (*cancel)(void *arg);
    void *arg;
};

struct node_rpc_server {
    char *bind;
    uint16_t port;
    char *auth_b64;               /* expected base64 of "user:password" */
    uint8_t auth_digest[HASH_SIZE];   /* SHA-256 of auth_b64: compared in constant time */
    char *cookie_path;            /* non-NULL if cookie auth */
    char *cookie_content;         /* "__cookie__:HEX", wiped when freed */
    bool cookie_written;
    const struct node_rpc_method *methods;
    size_t n_methods;
    void *ctx;
    node_rpc_metrics_fn metrics;
    const char *(*warmup)(void *ctx, const char *method);
    const struct node_log *log;
    uint32_t request_timeout_ms;
    uint32_t idle_timeout_ms;

    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;
    bool closing;
    struct rpc_conn *conns;       /* doubly linked */
    size_t n_conns;
    size_t open_handles;          /* listener + per-conn handles not yet closed */
    void (*done)(void *arg);
    void *done_arg;

    /* Set while a session's request is processed, for node_rpc_defer. */
    struct node_rpc_session *cur_session;
    json_t *cur_id;
    bool cur_v2;
    bool in_batch;
    size_t n_unauth;              /* connections not authenticated yet */
    size_t n_closing;             /* closed, handles not yet released */
    uv_prepare_t tick;            /* counts loop iterations (epoch) */
    bool tick_up;
    uint64_t epoch;
    struct auth_track tracks[NODE_RPC_AUTH_TRACK_MAX];
};

/* ---------------------------------------------------------------- utils */

void node_rpc_base64(char *out, const uint8_t *in, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

json_t *node_rpc_fail(struct node_rpc_req *rq, int code, const char *fmt, ...)
{
    rq->err_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->err_msg, sizeof rq->err_msg, fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *node_rpc_param(const struct node_rpc_req *rq, size_t i)
{
    json_t *v = json_array_get(rq->params, i);
    return v && !json_is_null(v) ? v : NULL;
}

bool node_rpc_param_max(struct node_rpc_req *rq, size_t n)
{
    if (json_array_size(rq->params) > n) {
        node_rpc_fail(rq, RPC_INVALID_PARAMS, "too many parameters (at most %zu)", n);
        return false;
    }
    return true;
}

static bool missing(struct node_rpc_req *rq, size_t i)
{
    node_rpc_fail(rq, RPC_INVALID_PARAMS, "missing required parameter %zu", i + 1);
    return false;
}

bool node_rpc_param_u64(struct node_rpc_req *rq, size_t i, bool required, uint64_t max,
                        uint64_t *out)
{
    json_t *v = node_rpc_param(rq, i);
    if (!v)
        return required ? missing(rq, i) : true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max) {
        node_rpc_fail(rq, RPC_INVALID_PARAMS,
                      "parameter %zu: expected an integer in 0..%llu", i + 1,
                      (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

bool node_rpc_param_i64(struct node_rpc_req *rq, size_t i, bool required, int64_t *out)
{
    json_t *v = node_rpc_param(rq, i);
    if (!v)
        return required ? missing(rq, i) : true;
    if (!json_is_integer(v)) {
        node_rpc_fail(rq, RPC_INVALID_PARAMS, "parameter %zu: expected an integer", i + 1);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

bool node_rpc_param_str(struct node_rpc_req *rq, size_t i, bool required, const char **out)
{
    json_t *v = node_rpc_param(rq, i);
    if (!v)
        return required ? missing(rq, i) : true;
    if (!json_is_string(v)) {
        node_rpc_fail(rq, RPC_INVALID_PARAMS, "parameter %zu: expected a string", i + 1);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool node_rpc_param_bool(struct node_rpc_req *rq, size_t i, bool required, bool *out)
{
    json_t *v = node_rpc_param(rq, i);
    if (!v)
        return required ? missing(rq, i) : true;
    /* bitcoind accepts 0/1 for verbose flags; so do we. */
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        *out = json_integer_value(v) == 1;
    else {
        node_rpc_fail(rq, RPC_INVALID_PARAMS, "parameter %zu: expected a boolean", i + 1);
        return false;
    }
    return true;
}

bool node_rpc_param_hash(struct node_rpc_req *rq, size_t i, bool required, uint8_t out[32],
                         bool *present)
{
    const char *s = NULL;
    if (present)
        *present = false;
    if (!node_rpc_param_str(rq, i, required, &s))
        return false;
    if (!s)
        return true;
    if (strlen(s) != 64 || hex_decode_hash(out, s) != 0) {
        node_rpc_fail(rq, RPC_INVALID_PARAMETER,
                      "parameter %zu: expected a 64-digit hex hash", i + 1);
        return false;
    }
    if (present)
        *present = true;
    return true;
}

bool node_rpc_param_pubkey(struct node_rpc_req *rq, size_t i, bool required, uint8_t out[32])
{
    const char *s = NULL;
    if (!node_rpc_param_str(rq, i, required, &s))
        return false;
    if (!s)
        return true;
    if (strlen(s) != 64 || hex_decode(out, 32, s) != 0) {
        node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY,
                      "Invalid address: expected 64 hex digits (an Ed25519 public key)");
        return false;
    }
    return true;
}

const struct node_rpc_method *node_rpc_find(const struct node_rpc_method *m, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

/* ------------------------------------------------------- JSON-RPC layer */

static json_t *error_obj(int code, const char *msg)
{
    return json_pack("{s:i,s:s}", "code", code, "message", msg);
}

static json_t *make_response(json_t *id, bool v2, json_t *result, json_t *error)
{
    json_t *r = json_object();
    if (!r) {
        json_decref(result);
        json_decref(error);
        return NULL;
    }
    if (v2)
        json_object_set_new(r, "jsonrpc", json_string("2.0"));
    if (error) {
        if (!v2)
            json_object_set_new(r, "result", json_null());
        json_object_set_new(r, "error", error);
    } else {
        json_object_set_new(r, "result", result ? result : json_null());
        if (!v2)
            json_object_set_new(r, "error", json_null());
    }
    json_object_set(r, "id", id ? id : json_null());
    return r;
}

/* Map named params onto the method's positional list. Returns a new array
 * or NULL with rq's error set. */
static json_t *named_to_positional(struct node_rpc_req *rq, const struct node_rpc_method *m,
                                   json_t *obj)
{
    const char *names[NODE_RPC_PARAMS_MAX];
    size_t n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", m->args ? m->args : "");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < NODE_RPC_PARAMS_MAX;
         tok = strtok_r(NULL, ",", &save))
        names[n++] = m->args + (tok - buf);
    json_t *arr = json_array();
    if (!arr)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        size_t k;
        for (k = 0; k < n; k++) {
            size_t len = strcspn(names[k], ",");
            if (strlen(key) == len && strncmp(names[k], key, len) == 0)
                break;
        }
        if (k == n) {
            json_decref(arr);
            return node_rpc_fail(rq, RPC_INVALID_PARAMS, "Unknown named parameter %s", key);
        }
        while (json_array_size(arr) <= k)
            json_array_append_new(arr, json_null());
        json_array_set(arr, k, val);
    }
    return arr;
}

/* One request object -> response object (new reference), or NULL for a
 * notification. */
static json_t *process_one(struct node_rpc_server *s, json_t *req)
{
    if (!json_is_object(req))
        return make_response(NULL, true, NULL,
                             error_obj(RPC_INVALID_REQUEST, "Invalid Request object"));
    json_t *jv = json_object_get(req, "jsonrpc");
    bool v2 = json_is_string(jv) && strcmp(json_string_value(jv), "2.0") == 0;
    json_t *id = json_object_get(req, "id");
    bool notification = v2 && !id;
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_real(id) &&
        !json_is_null(id))
        return make_response(NULL, v2, NULL,
                             error_obj(RPC_INVALID_REQUEST, "id must be a string, number or null"));
    json_t *jm = json_object_get(req, "method");
    if (!json_is_string(jm))
        return make_response(id, v2, NULL,
                             error_obj(RPC_INVALID_REQUEST, "Method must be a string"));
    json_t *params = json_object_get(req, "params");
    if (params && !json_is_array(params) && !json_is_object(params) && !json_is_null(params))
        return make_response(id, v2, NULL,
                             error_obj(RPC_INVALID_REQUEST, "Params must be an array or object"));

    const char *name = json_string_value(jm);
    const struct node_rpc_method *m = node_rpc_find(s->methods, s->n_methods, name);
    if (!m) {
        if (notification)
            return NULL;
        return make_response(id, v2, NULL, error_obj(RPC_METHOD_NOT_FOUND, "Method not found"));
    }

    const char *warm = s->warmup ? s->warmup(s->ctx, m->name) : NULL;
    if (warm) {
        if (notification)
            return NULL;
        return make_response(id, v2, NULL, error_obj(RPC_IN_WARMUP, warm));
    }
    struct node_rpc_req rq = { .ctx = s->ctx, .method = m->name, .srv = s };
    s->cur_id = id;
    s->cur_v2 = v2;
    json_t *args;
    if (json_is_object(params))
        args = named_to_positional(&rq, m, params);
    else if (json_is_array(params))
        args = json_incref(params);
    else
        args = json_array();
    json_t *result = NULL;
    if (args) {
        rq.params = args;
        result = m->fn(&rq);
        json_decref(args);
    } else if (!rq.err_code) {
        node_rpc_fail(&rq, RPC_OUT_OF_MEMORY, "out of memory");
    }
    if (s->log)
        NODE_LOG(s->log, NODE_LOG_DEBUG, NODE_LOG_CAT_RPC, "rpc_call", LF_STR("method", name),
                 LF_INT("error", result || !rq.err_code ? 0 : rq.err_code));
    if (rq.deferred) {
        json_decref(result);
        return NULL;   /* answered later by node_rpc_pending_done */
    }
    if (notification) {
        json_decref(result);
        return NULL;
    }
    if (!result && rq.err_code)
        return make_response(id, v2, NULL, error_obj(rq.err_code, rq.err_msg));
    return make_response(id, v2, result, NULL);
}

char *node_rpc_process(struct node_rpc_server *s, const char *body, size_t len,
                       size_t *out_len)
{
    json_error_t jerr;
    json_t *req = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    json_t *resp = NULL;
    if (!req) {
        char msg[256];
        snprintf(msg, sizeof msg, "Parse error: %s", jerr.text);
        resp = make_response(NULL, true, NULL, error_obj(RPC_PARSE_ERROR, msg));
    } else if (json_is_array(req)) {
        size_t n = json_array_size(req);
        if (n == 0) {
            resp = make_response(NULL, true, NULL,
                                 error_obj(RPC_INVALID_REQUEST, "Empty batch"));
        } else if (n > NODE_RPC_BATCH_MAX) {
            char msg[96];
            snprintf(msg, sizeof msg, "Batch too large (at most %d requests)",
                     NODE_RPC_BATCH_MAX);
            resp = make_response(NULL, true, NULL, error_obj(RPC_INVALID_REQUEST, msg));
        } else {
            resp = json_array();
            s->in_batch = true;   /* a batch answers as a whole: nothing in it waits */
            for (size_t i = 0; resp && i < n; i++) {
                json_t *r = process_one(s, json_array_get(req, i));
                if (r)
                    json_array_append_new(resp, r);
            }
            s->in_batch = false;
            if (resp && json_array_size(resp) == 0) {
                json_decref(resp);
                json_decref(req);
                *out_len = 0;
                return NULL;
            }
        }
    } else {
        resp = process_one(s, req);
        if (!resp && json_is_object(req)) {
            json_decref(req);
            *out_len = 0;
            return NULL;
        }
    }
    json_decref(req);
    if (!resp) {
        *out_len = SIZE_MAX;
        return NULL;
    }
    char *text = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(resp);
    if (!text) {
        *out_len = SIZE_MAX;
        return NULL;
    }
    size_t n = strlen(text);
    /* A trailing newline, as bitcoind sends, makes shell output tidy. */
    char *out = realloc(text, n + 2);
    if (!out) {
        free(text);
        *out_len = SIZE_MAX;
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *out_len = n + 1;
    return out;
}

/* ----------------------------------------------------------- HTTP layer */

struct node_rpc_session {
    struct node_rpc_server *srv;
    node_rpc_write_fn write;
    void *io;
    http_parser parser;
    http_parser_settings settings;
    bool in_request;
    bool closing;             /* no more requests on this connection */
    int fail_status;          /* set by a callback that aborts the parse */
    size_t header_bytes;
    char url[NODE_RPC_URL_MAX];
    size_t url_len;
    bool url_too_long;
    /* Header being read: its name (lower-cased, capped) and whether it is
     * the Authorization header, whose value we keep. */
    char field[32];
    size_t field_len;
    bool last_was_value;
    bool field_is_auth;
    bool field_is_expect;
    bool expect_continue;     /* "Expect: 100-continue" (curl, for bodies > 1 KiB) */
    char auth[512];
    size_t auth_len;
    bool auth_too_long;
    char *body;
    size_t body_len;
    size_t body_cap;
    bool authed;              /* a request carried valid credentials */
    bool auth_failed;         /* wrong credentials: nothing more is processed */
    struct node_rpc_session_hooks hooks;
    struct node_rpc_pending *pending;   /* a long poll holds the answer */
    char *held;               /* bytes received while pending, fed after */
    size_t held_len;
};

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Error";
    }
}

static void send_response(struct node_rpc_session *ss, int status, const char *ctype,
                          const char *body, size_t body_len, bool keep_alive)
{
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "%s"
                      "Connection: %s\r\n\r\n",
                      status, status_text(status), ctype, body_len,
                      status == 401 ? "WWW-Authenticate: Basic realm=\"jsonrpc\"\r\n" : "",
                      keep_alive ? "keep-alive" : "close");
    if (hl < 0 || (size_t)hl >= sizeof head)
        return;
    char *buf = malloc((size_t)hl + body_len);
    if (!buf)
        return;
    memcpy(buf, head, (size_t)hl);
    if (body_len)
        memcpy(buf + hl, body, body_len);
    ss->write(ss->io, buf, (size_t)hl + body_len);
}

static void send_error(struct node_rpc_session *ss, int status)
{
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", status, status_text(status));
    send_response(ss, status, "text/plain", body, (size_t)n, false);
    ss->closing = true;
}

static void reset_request(struct node_rpc_session *ss)
{
    ss->header_bytes = 0;
    ss->url_len = 0;
    ss->url[0] = '\0';
    ss->url_too_long = false;
    ss->field_len = 0;
    ss->last_was_value = false;
    ss->field_is_auth = false;
    ss->auth_len = 0;
    ss->auth[0] = '\0';
    ss->auth_too_long = false;
    ss->field_is_expect = false;
    ss->expect_continue = false;
    ss->body_len = 0;
}

static struct node_rpc_session *sess_of(http_parser *p)
{
    return p->data;
}

static int count_header(struct node_rpc_session *ss, size_t len)
{
    if (NODE_RPC_HEADER_MAX - ss->header_bytes < len) {
        ss->fail_status = 431;
        return 1;
    }
    ss->header_bytes += len;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct node_rpc_session *ss = sess_of(p);
    reset_request(ss);
    ss->in_request = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct node_rpc_session *ss = sess_of(p);
    if (count_header(ss, len))
        return 1;
    if (sizeof ss->url - 1 - ss->url_len < len) {
        ss->url_too_long = true;
        return 0;
    }
    memcpy(ss->url + ss->url_len, at, len);
    ss->url_len += len;
    ss->url[ss->url_len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct node_rpc_session *ss = sess_of(p);
    if (count_header(ss, len))
        return 1;
    if (ss->last_was_value) {
        ss->field_len = 0;
        ss->last_was_value = false;
    }
    for (size_t i = 0; i < len; i++) {
        if (ss->field_len < sizeof ss->field - 1) {
            char c = at[i];
            ss->field[ss->field_len++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        } else {
            ss->field_len = sizeof ss->field; /* too long to be one we read */
            break;
        }
    }
    if (ss->field_len < sizeof ss->field)
        ss->field[ss->field_len] = '\0';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct node_rpc_session *ss = sess_of(p);
    if (count_header(ss, len))
        return 1;
    if (!ss->last_was_value) {
        ss->last_was_value = true;
        ss->field_is_auth = ss->field_len < sizeof ss->field &&
                            strcmp(ss->field, "authorization") == 0;
        if (ss->field_is_auth) {
            ss->auth_len = 0;   /* a repeated header: the last one counts */
            ss->auth_too_long = false;
        }
        ss->field_is_expect = ss->field_len < sizeof ss->field &&
                              strcmp(ss->field, "expect") == 0;
    }
    if (ss->field_is_expect && len >= 12 && strncasecmp(at, "100-continue", 12) == 0)
        ss->expect_continue = true;
    if (ss->field_is_auth) {
        if (sizeof ss->auth - 1 - ss->auth_len < len) {
            ss->auth_too_long = true;
        } else {
            memcpy(ss->auth + ss->auth_len, at, len);
            ss->auth_len += len;
            ss->auth[ss->auth_len] = '\0';
        }
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct node_rpc_session *ss = sess_of(p);
    /* Reject an oversize body before reading (or allocating for) it. */
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > NODE_RPC_BODY_MAX) {
        ss->fail_status = 413;
        return -1;   /* 1 would mean "no body" to http-parser, not an error */
    }
    /* The client waits for this before sending the body (curl waits 1 s). */
    if (ss->expect_continue && p->http_major == 1 && p->http_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        char *buf = malloc(sizeof cont - 1);
        if (buf) {
            memcpy(buf, cont, sizeof cont - 1);
            ss->write(ss->io, buf, sizeof cont - 1);
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct node_rpc_session *ss = sess_of(p);
    if (NODE_RPC_BODY_MAX - ss->body_len < len) {   /* chunked bodies land here */
        ss->fail_status = 413;
        return 1;
    }
    if (ss->body_cap - ss->body_len < len) {
        size_t cap = ss->body_cap ? ss->body_cap : 4096;
        while (cap - ss->body_len < len)
            cap *= 2;
        if (cap > NODE_RPC_BODY_MAX)
            cap = NODE_RPC_BODY_MAX;
        char *nb = realloc(ss->body, cap);
        if (!nb) {
            ss->fail_status = 500;
            return 1;
        }
        ss->body = nb;
        ss->body_cap = cap;
    }
    memcpy(ss->body + ss->body_len, at, len);
    ss->body_len += len;
    return 0;
}

static bool auth_ok(struct node_rpc_session *ss)
{
    const char *a = ss->auth;
    if (ss->auth_too_long || strncasecmp(a, "Basic ", 6) != 0)
        return false;
    a += 6;
    while (*a == ' ')
        a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
        n--;
    /* Digests of equal length: the comparison time depends neither on where
     * the first wrong byte is nor on the length of what was sent. */
    uint8_t got[HASH_SIZE];
    hash_sha256(got, a, n);
    return sec_equal(got, ss->srv->auth_digest, HASH_SIZE);
}

static void handle_request(struct node_rpc_session *ss, bool keep_alive)
{
    struct node_rpc_server *s = ss->srv;
    enum http_method method = (enum http_method)ss->parser.method;
    const char *path = ss->url;
    size_t plen = strcspn(path, "?");
    if (ss->url_too_long) {
        send_error(ss, 404);
        return;
    }
    if (plen == 8 && strncmp(path, "/metrics", 8) == 0) {
        if (method != HTTP_GET) {
            send_error(ss, 405);
            return;
        }
        size_t len = 0;
        char *text = s->metrics ? s->metrics(s->ctx, &len) : NULL;
        if (!text) {
            send_error(ss, s->metrics ? 500 : 404);
            return;
        }
        send_response(ss, 200, "text/plain; version=0.0.4", text, len, keep_alive);
        free(text);
        return;
    }
    if (method != HTTP_POST) {
        send_error(ss, 405);
        return;
    }
    if (!auth_ok(ss)) {
        if (ss->hooks.auth_failed) {
            /* The transport logs it with the address, answers late, closes. */
            ss->auth_failed = true;
            ss->closing = true;
            ss->hooks.auth_failed(ss->io);
            return;
        }
        if (s->log)
            NODE_LOG(s->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "rpc_auth_failed",
                     LF_STR("path", path));
        /* The connection stays usable: a client may retry with credentials. */
        const char *msg = "401 Unauthorized\n";
        send_response(ss, 401, "text/plain", msg, strlen(msg), keep_alive);
        if (!keep_alive)
            ss->closing = true;
        return;
    }
    ss->authed = true;
    size_t out_len = 0;
    s->cur_session = ss;
    char *out = node_rpc_process(s, ss->body ? ss->body : "", ss->body_len, &out_len);
    s->cur_session = NULL;
    if (ss->pending) {
        ss->pending->keep_alive = keep_alive;
        free(out);
        return;
    }
    if (!out) {
        if (out_len == SIZE_MAX)
            send_error(ss, 500);
        else
            send_response(ss, 204, "application/json", "", 0, keep_alive);
        return;
    }
    send_response(ss, 200, "application/json", out, out_len, keep_alive);
    free(out);
}

static int on_message_complete(http_parser *p)
{
    struct node_rpc_session *ss = sess_of(p);
    ss->in_request = false;
    bool keep_alive = http_should_keep_alive(p) != 0;
    handle_request(ss, keep_alive);
    if (!keep_alive)
        ss->closing = true;
    /* Drop a large body buffer rather than keep it for the connection's life. */
    if (ss->body_cap > 65536) {
        free(ss->body);
        ss->body = NULL;
        ss->body_cap = 0;
    }
    ss->body_len = 0;
    /* Stop parsing further pipelined bytes once the connection is closing
     * or waits for a deferred answer (the rest is held, then fed). */
    if (ss->closing || ss->pending)
        http_parser_pause(p, 1);
    return 0;
}

struct node_rpc_session *node_rpc_session_new(struct node_rpc_server *s,
                                              node_rpc_write_fn write, void *io)
{
    struct node_rpc_session *ss = calloc(1, sizeof *ss);
    if (!ss)
        return NULL;
    ss->srv = s;
    ss->write = write;
    ss->io = io;
    http_parser_init(&ss->parser, HTTP_REQUEST);
    ss->parser.data = ss;
    http_parser_settings_init(&ss->settings);
    ss->settings.on_message_begin = on_message_begin;
    ss->settings.on_url = on_url;
    ss->settings.on_header_field = on_header_field;
    ss->settings.on_header_value = on_header_value;
    ss->settings.on_headers_complete = on_headers_complete;
    ss->settings.on_body = on_body;
    ss->settings.on_message_complete = on_message_complete;
    return ss;
}

void node_rpc_session_free(struct node_rpc_session *ss)
{
    if (!ss)
        return;
    struct node_rpc_pending *p = ss->pending;
    if (p) {
        ss->pending = NULL;
        if (p->cancel)
            p->cancel(p->arg);
        json_decref(p->id);
        free(p);
    }
    free(ss->held);
    free(ss->body);
    free(ss);
}

void node_rpc_session_set_hooks(struct node_rpc_session *ss,
                                const struct node_rpc_session_hooks *h)
{
    ss->hooks = *h;
}

bool node_rpc_session_authenticated(const struct node_rpc_session *ss)
{
    return ss->authed;
}

bool node_rpc_session_waiting(const struct node_rpc_session *ss)
{
    return ss->pending != NULL;
}

struct node_rpc_pending *node_rpc_defer(struct node_rpc_req *rq, void (*cancel)(void *arg),
                                        void *arg)
{
    struct node_rpc_server *s = rq->srv;
    if (!s || !s->cur_session || s->in_batch || s->cur_session->pending || s->closing)
        return NULL;
    struct node_rpc_pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ss = s->cur_session;
    p->id = s->cur_id ? json_incref(s->cur_id) : NULL;
    p->v2 = s->cur_v2;
    p->keep_alive = true;
    p->cancel = cancel;
    p->arg = arg;
    s->cur_session->pending = p;
    rq->deferred = true;
    return p;
}

static bool session_feed(struct node_rpc_session *ss, const char *buf, size_t len);

void node_rpc_pending_done(struct node_rpc_pending *p, json_t *result)
{
    struct node_rpc_session *ss = p->ss;
    json_t *resp = make_response(p->id, p->v2, result, NULL);
    char *text = resp ? json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(resp);
    bool keep_alive = p->keep_alive;
    ss->pending = NULL;
    json_decref(p->id);
    free(p);
    if (!text) {
        send_error(ss, 500);
    } else {
        size_t n = strlen(text);
        char *out = realloc(text, n + 2);
        if (out) {
            out[n] = '\n';
            send_response(ss, 200, "application/json", out, n + 1, keep_alive);
            free(out);
        } else {
            free(text);
            send_error(ss, 500);
        }
        if (!keep_alive)
            ss->closing = true;
    }
    if (!ss->closing) {
        http_parser_pause(&ss->parser, 0);
        char *held = ss->held;
        size_t held_len = ss->held_len;
        ss->held = NULL;
        ss->held_len = 0;
        if (held_len && !session_feed(ss, held, held_len))
            ss->closing = true;
        free(held);
    }
    if (ss->hooks.resumed)
        ss->hooks.resumed(ss->io);
}

bool node_rpc_session_in_request(const struct node_rpc_session *ss)
{
    return ss->in_request;
}

void node_rpc_session_abort(struct node_rpc_session *ss, int status)
{
    if (ss->closing && !ss->auth_failed)
        return;
    ss->auth_failed = false;   /* the late 401 is sent once */
    send_error(ss, status);
}

bool node_rpc_session_feed(struct node_rpc_session *ss, const char *buf, size_t len)
{
    if (ss->pending) {
        /* Waiting: hold what comes (the transport stops reading at the cap). */
        if (NODE_RPC_WAIT_BUFFER_MAX - ss->held_len < len)
            return false;
        char *nb = realloc(ss->held, ss->held_len + len);
        if (!nb)
            return false;
        memcpy(nb + ss->held_len, buf, len);
        ss->held = nb;
        ss->held_len += len;
        return true;
    }
    return session_feed(ss, buf, len);
}

static bool session_feed(struct node_rpc_session *ss, const char *buf, size_t len)
{
    if (ss->closing)
        return false;
    size_t used = http_parser_execute(&ss->parser, &ss->settings, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&ss->parser);
    if (ss->closing)
        return false;
    if (ss->pending) {
        /* Paused after the deferred request: keep the rest for later. */
        if (used < len) {
            ss->held = malloc(len - used);
            if (!ss->held)
                return false;
            memcpy(ss->held, buf + used, len - used);
            ss->held_len = len - used;
        }
        return true;
    }
    if (ss->fail_status) {
        send_error(ss, ss->fail_status);
        return false;
    }
    if (e != HPE_OK || used != len) {
        /* http-parser enforces its own header limit too (HPE_HEADER_OVERFLOW). */
        send_error(ss, e == HPE_HEADER_OVERFLOW ? 431 : 400);
        return false;
    }
    return true;
}

/* --------------------------------------------------------- libuv server */

struct rpc_conn {
    struct rpc_conn *prev, *next;
    struct node_rpc_server *srv;
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct node_rpc_session *ss;
    bool timer_for_request;   /* which timeout is armed */
    bool closing;
    bool reading_paused;
    bool counted_unauth;      /* in srv->n_unauth */
    bool auth_delay;          /* a 401 is due when the timer fires */
    bool eof;                 /* the client sent EOF while its long poll waited */
    uint64_t accepted_ms;     /* uv_now at accept */
    uint64_t epoch;           /* loop iteration of the accept */
    uint64_t bytes_in;        /* received so far */
    char ip[64];              /* source address, for logs and pacing */
    char addr[80];            /* ip:port */
    int handles_open;
    char rbuf[65536];
};

struct rpc_write {
    uv_write_t req;
    struct rpc_conn *conn;
    char *buf;
};

static void server_handle_closed(struct node_rpc_server *s)
{
    if (--s->open_handles == 0 && s->closing && s->done) {
        void (*done)(void *) = s->done;
        s->done = NULL;
        done(s->done_arg);
    }
}

static void conn_authed(struct rpc_conn *c)
{
    if (c->counted_unauth) {
        c->counted_unauth = false;
        c->srv->n_unauth--;
    }
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct rpc_conn *c = h->data;
    struct node_rpc_server *s = c->srv;
    if (--c->handles_open > 0)
        return;
    conn_authed(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    s->n_closing--;
    node_rpc_session_free(c->ss);
    free(c);
    server_handle_closed(s);
}

static void conn_close(struct rpc_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->srv->n_closing++;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct rpc_conn *c = req->data;
    free(req);
    conn_close(c);
}

/* Close after pending writes are flushed. */
static void conn_finish(struct rpc_conn *c)
{
    if (c->closing)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req) {
        req->data = c;
        if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) == 0)
            return;
        free(req);
    }
    conn_close(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void on_write(uv_write_t *req, int status)
{
    struct rpc_write *w = (struct rpc_write *)req;
    struct rpc_conn *c = w->conn;
    free(w->buf);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->reading_paused && !c->closing &&
        c->tcp.write_queue_size < NODE_RPC_WRITE_QUEUE_MAX / 2) {
        c->reading_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, NULL, on_read);
    }
}

static void conn_write(void *io, char *buf, size_t len)
{
    struct rpc_conn *c = io;
    if (c->closing) {
        free(buf);
        return;
    }
    struct rpc_write *w = malloc(sizeof *w);
    if (!w) {
        free(buf);
        conn_close(c);
        return;
    }
    w->conn = c;
    w->buf = buf;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(buf);
        free(w);
        conn_close(c);
    }
}

static void on_timeout(uv_timer_t *t)
{
    struct rpc_conn *c = t->data;
    if (c->auth_delay) {
        node_rpc_session_abort(c->ss, 401);
        conn_finish(c);
        return;
    }
    if (c->counted_unauth && c->srv->log)
        NODE_LOG(c->srv->log, NODE_LOG_DEBUG, NODE_LOG_CAT_RPC, "rpc_timeout",
                 LF_STR("what", "unauthenticated"), LF_STR("addr", c->addr));
    if (c->timer_for_request) {
        if (c->srv->log)
            NODE_LOG(c->srv->log, NODE_LOG_DEBUG, NODE_LOG_CAT_RPC, "rpc_timeout",
                     LF_STR("what", "request"));
        node_rpc_session_abort(c->ss, 408);
    }
    conn_finish(c);
}

static void arm_timer(struct rpc_conn *c)
{
    if (c->auth_delay || c->closing)
        return;
    if (node_rpc_session_waiting(c->ss)) {
        uv_timer_stop(&c->timer);   /* the long poll has its own timeout */
        return;
    }
    if (c->counted_unauth && node_rpc_session_authenticated(c->ss))
        conn_authed(c);
    bool in_req = node_rpc_session_in_request(c->ss);
    if (in_req && c->timer_for_request && uv_is_active((uv_handle_t *)&c->timer))
        return;   /* the request deadline does not move while bytes trickle in */
    c->timer_for_request = in_req;
    uint64_t ms = in_req ? c->srv->request_timeout_ms : c->srv->idle_timeout_ms;
    if (c->counted_unauth) {
        /* Not authenticated yet: the whole connection ends at its deadline. */
        uint64_t now = uv_now(c->srv->loop), end = c->accepted_ms + NODE_RPC_UNAUTH_TIMEOUT_MS;
        uint64_t left = end > now ? end - now : 1;
        if (left < ms) {
            ms = left;
            c->timer_for_request = in_req;
        }
    }
    uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* Failed logins of c's IP: when this one may be answered. */
static struct auth_track *track_of(struct node_rpc_server *s, const char *ip, uint64_t now)
{
    struct auth_track *lru = &s->tracks[0];
    for (size_t i = 0; i < NODE_RPC_AUTH_TRACK_MAX; i++) {
        struct auth_track *t = &s->tracks[i];
        if (t->fails && strcmp(t->ip, ip) == 0)
            return t;
        if (!t->fails || t->last_ms < lru->last_ms)
            lru = t;
        if (!t->fails)
            break;
    }
    memset(lru, 0, sizeof *lru);
    snprintf(lru->ip, sizeof lru->ip, "%s", ip);
    lru->next_ms = now;
    return lru;
}

static void conn_auth_failed(void *io)
{
    struct rpc_conn *c = io;
    struct node_rpc_server *s = c->srv;
    uint64_t now = uv_now(s->loop);
    struct auth_track *t = track_of(s, c->ip, now);
    uint64_t at = (t->next_ms > now ? t->next_ms : now) + NODE_RPC_AUTH_FAIL_DELAY_MS;
    t->fails++;
    t->last_ms = now;
    bool answer = at - now <= NODE_RPC_AUTH_BACKLOG_MAX_MS;
    if (answer)
        t->next_ms = at;
    if (s->log)
        NODE_LOG(s->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "rpc_auth_failed",
                 LF_STR("addr", c->addr), LF_UINT("fails", t->fails),
                 LF_UINT("delay_ms", answer ? at - now : 0), LF_BOOL("answered", answer));
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (!answer) {
        conn_close(c);
        return;
    }
    c->auth_delay = true;
    uv_timer_start(&c->timer, on_timeout, at - now, 0);
}

static void conn_resumed(void *io)
{
    struct rpc_conn *c = io;
    if (c->closing)
        return;
    if (c->eof) {
        conn_finish(c);
        return;
    }
    if (c->reading_paused && c->tcp.write_queue_size < NODE_RPC_WRITE_QUEUE_MAX / 2) {
        c->reading_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
    }
    arm_timer(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct rpc_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct rpc_conn *c = stream->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* A client that half-closes after its request still gets the
         * answer: on EOF, flush what is queued, then close. */
        if (nread == UV_EOF && node_rpc_session_waiting(c->ss)) {
            c->eof = true;   /* answered when the wait ends */
            uv_read_stop(stream);
        } else if (nread == UV_EOF) {
            conn_finish(c);
        } else {
            conn_close(c);
        }
        return;
    }
    c->bytes_in += (uint64_t)nread;
    bool more = node_rpc_session_feed(c->ss, buf->base, (size_t)nread);
    if (c->closing || c->auth_delay)
        return;
    if (!more) {
        conn_finish(c);
        return;
    }
    if (c->tcp.write_queue_size >= NODE_RPC_WRITE_QUEUE_MAX) {
        /* The client does not read its responses: stop reading requests. */
        c->reading_paused = true;
        uv_read_stop(stream);
    }
    arm_timer(c);
}

/* Which connection without credentials makes room for a newcomer: first
 * the oldest that sent bytes and, given another loop turn, still has no
 * complete request (a slowloris); then the oldest silent one past its grace
 * period; a silent one younger than that (a client that has connected but
 * not yet written, say on a loaded machine) only when every slot is taken. */
static struct rpc_conn *pick_victim(struct node_rpc_server *s, const struct rpc_conn *c)
{
    uint64_t now = uv_now(s->loop);
    struct rpc_conn *best = NULL;
    int best_tier = 3;
    for (struct rpc_conn *x = s->conns; x; x = x->next) {
        if (x == c || !x->counted_unauth || x->closing || x->auth_delay)
            continue;
        int tier = x->bytes_in && x->epoch + 1 < s->epoch ? 0
                 : now - x->accepted_ms >= NODE_RPC_UNAUTH_GRACE_MS ? 1 : 2;
        if (tier < best_tier || (tier == best_tier && x->accepted_ms < best->accepted_ms)) {
            best = x;
            best_tier = tier;
        }
    }
    if (best_tier == 2 && s->n_conns - s->n_closing < NODE_RPC_MAX_CONNECTIONS)
        return NULL;
    return best;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct node_rpc_server *s = server->data;
    if (status < 0 || s->closing)
        return;
    struct rpc_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    c->ss = node_rpc_session_new(s, conn_write, c);
    static const struct node_rpc_session_hooks hooks = {
        .auth_failed = conn_auth_failed,
        .resumed = conn_resumed,
    };
    if (c->ss)
        node_rpc_session_set_hooks(c->ss, &hooks);
    if (!c->ss || uv_tcp_init(s->loop, &c->tcp) != 0) {
        node_rpc_session_free(c->ss);
        free(c);
        return;
    }
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    s->open_handles++;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    c->accepted_ms = uv_now(s->loop);
    c->epoch = s->epoch;
    struct sockaddr_storage peer;
    int plen = sizeof peer;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) == 0) {
        int port = 0;
        if (peer.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&peer, c->ip, sizeof c->ip);
            port = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&peer, c->ip, sizeof c->ip);
            port = ntohs(((struct sockaddr_in *)&peer)->sin_port);
        }
        snprintf(c->addr, sizeof c->addr, peer.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
                 c->ip, port);
    }
    c->counted_unauth = true;
    s->n_unauth++;
    while (s->n_unauth > NODE_RPC_UNAUTH_MAX) {
        struct rpc_conn *old = pick_victim(s, c);
        if (!old)
            break;   /* all young and room left: the total cap still bounds them */
        if (s->log)
            NODE_LOG(s->log, NODE_LOG_DEBUG, NODE_LOG_CAT_RPC, "rpc_evicted",
                     LF_STR("addr", old->addr), LF_UINT("unauthenticated", s->n_unauth));
        conn_authed(old);   /* no longer counted: it is going */
        conn_close(old);
    }
    /* Connections already closing (evicted just above, say) free their
     * slot even though their handles are not released yet. */
    if (s->n_conns - s->n_closing > NODE_RPC_MAX_CONNECTIONS) {
        if (s->log)
            NODE_LOG(s->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "rpc_busy",
                     LF_UINT("connections", s->n_conns - 1));
        node_rpc_session_abort(c->ss, 503);
        conn_finish(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
    arm_timer(c);
}

int node_rpc_server_new(struct node_rpc_server **out, const struct node_rpc_config *cfg)
{
    struct node_rpc_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->bind = xstrdup(cfg->bind ? cfg->bind : "127.0.0.1");
    s->port = cfg->port;
    s->methods = cfg->methods;
    s->n_methods = cfg->n_methods;
    s->ctx = cfg->ctx;
    s->metrics = cfg->metrics;
    s->warmup = cfg->warmup;
    s->log = cfg->log;
    s->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms
                                                    : NODE_RPC_REQUEST_TIMEOUT_MS;
    s->idle_timeout_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : NODE_RPC_IDLE_TIMEOUT_MS;

    char userpass[2 * 256 + 2];
    uint8_t cookie[32];
    char cookie_hex[65];
    if (cfg->user && cfg->password) {
        snprintf(userpass, sizeof userpass, "%s:%s", cfg->user, cfg->password);
    } else {
        sec_random(cookie, sizeof cookie);
        hex_encode(cookie_hex, cookie, sizeof cookie);
        snprintf(userpass, sizeof userpass, "%s:%s", NODE_RPC_COOKIE_USER, cookie_hex);
        s->cookie_path = cfg->cookie_path ? xstrdup(cfg->cookie_path) : NULL;
        if (!s->cookie_path) {
            node_rpc_server_free(s);
            return -EINVAL;
        }
    }
    size_t ul = strlen(userpass);
    s->auth_b64 = malloc(4 * ((ul + 2) / 3) + 1);
    if (!s->bind || !s->auth_b64) {
        sec_wipe(userpass, sizeof userpass);
        node_rpc_server_free(s);
        return -ENOMEM;
    }
    node_rpc_base64(s->auth_b64, (const uint8_t *)userpass, ul);
    hash_sha256(s->auth_digest, s->auth_b64, strlen(s->auth_b64));
    sec_wipe(cookie, sizeof cookie);
    if (s->cookie_path && !(s->cookie_content = xstrdup(userpass))) {
        sec_wipe(userpass, sizeof userpass);
        node_rpc_server_free(s);
        return -ENOMEM;
    }
    sec_wipe(userpass, sizeof userpass);
    *out = s;
    return 0;
}

static int write_cookie(struct node_rpc_server *s)
{
    const char *content = s->cookie_content;
    char tmp[NODE_RPC_URL_MAX * 8];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", s->cookie_path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(content);
    ssize_t w = write(fd, content, len);
    int err = (w == (ssize_t)len) ? 0 : -EIO;
    if (close(fd) != 0 && !err)
        err = -errno;
    if (!err && rename(tmp, s->cookie_path) != 0)
        err = -errno;
    if (err)
        unlink(tmp);
    else
        s->cookie_written = true;
    return err;
}

static void on_tick(uv_prepare_t *h);

int node_rpc_listen(struct node_rpc_server *s, uv_loop_t *loop, const char **err_what)
{
    struct sockaddr_storage addr;
    int rc;
    s->loop = loop;
    *err_what = "rpc address";
    if (strchr(s->bind, ':'))
        rc = uv_ip6_addr(s->bind, s->port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(s->bind, s->port, (struct sockaddr_in *)&addr);
    if (rc)
        return rc;
    *err_what = "rpc init";
    if ((rc = uv_tcp_init(loop, &s->listener)) != 0)
        return rc;
    s->listener.data = s;
    s->open_handles = 1;
    if ((rc = uv_prepare_init(loop, &s->tick)) != 0)
        return rc;
    s->tick.data = s;
    s->tick_up = true;
    s->open_handles++;
    uv_prepare_start(&s->tick, on_tick);
    s->listening = true;
    *err_what = "rpc bind";
    if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0)
        return rc;
    *err_what = "rpc listen";
    if ((rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) != 0)
        return rc;
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET)
            s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        else if (bound.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    }
    if (s->cookie_path) {
        *err_what = "rpc cookie file";
        if ((rc = write_cookie(s)) != 0)
            return rc;
    }
    return 0;
}

uint16_t node_rpc_port(const struct node_rpc_server *s)
{
    return s->port;
}

size_t node_rpc_connections(const struct node_rpc_server *s)
{
    return s->n_conns;
}

static void on_tick(uv_prepare_t *h)
{
    struct node_rpc_server *s = h->data;
    s->epoch++;
}

static void listener_closed(uv_handle_t *h)
{
    server_handle_closed(h->data);
}

void node_rpc_close(struct node_rpc_server *s, void (*done)(void *arg), void *arg)
{
    if (s->cookie_written) {
        unlink(s->cookie_path);
        s->cookie_written = false;
    }
    s->closing = true;
    s->done = done;
    s->done_arg = arg;
    if (!s->listening) {
        if (done)
            done(arg);
        s->done = NULL;
        return;
    }
    for (struct rpc_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->listener, listener_closed);
    if (s->tick_up)
        uv_close((uv_handle_t *)&s->tick, listener_closed);
}

void node_rpc_server_free(struct node_rpc_server *s)
{
    if (!s)
        return;
    if (s->cookie_written)
        unlink(s->cookie_path);
    if (s->cookie_content) {
        sec_wipe(s->cookie_content, strlen(s->cookie_content));
        free(s->cookie_content);
    }
    free(s->bind);
    if (s->auth_b64) {
        sec_wipe(s->auth_b64, strlen(s->auth_b64));
        free(s->auth_b64);
    }
    free(s->cookie_path);
    free(s);
}
