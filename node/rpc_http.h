/* JSON-RPC 2.0 over HTTP/1.1 on libuv.
 *
 * Three layers, each usable alone:
 *   - node_rpc_process(): a request body (single or batch) -> response body,
 *     dispatching to a method table. No I/O.
 *   - struct node_rpc_session: one HTTP connection as a sans-I/O state
 *     machine (http-parser): bytes in, response bytes out through a
 *     callback; keep-alive, pipelining, Basic auth, size caps, /metrics.
 *   - node_rpc_listen(): the libuv TCP server that feeds sessions, with a
 *     connection cap and per-connection request/idle timeouts, so a client
 *     that never finishes its request cannot hold anything but its own slot.
 *
 * Lock-out resistance: a connection that has not authenticated gets a short
 * life and a small share of the slots (NODE_RPC_UNAUTH_*), and failed
 * logins are answered late, paced per source IP (NODE_RPC_AUTH_FAIL_*), and
 * logged with the address. Credentials are compared as SHA-256 digests with
 * sec_equal, so neither the content nor the length leaks through timing.
 *
 * Authentication: HTTP Basic with --rpc-user/--rpc-password, or, without
 * them, a cookie file (as bitcoind): "__cookie__:<64 hex>" written when the
 * server starts (mode 0600) and removed when it stops. GET /metrics is
 * served without authentication (Prometheus scrapers); it exposes counters
 * only, and the RPC port binds 127.0.0.1 unless told otherwise. */
#ifndef GOSSIPD_NODE_RPC_HTTP_H
#define GOSSIPD_NODE_RPC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "node/log.h"

/* ---- Limits (every one named; see the .c for the rationale) ---- */
#define NODE_RPC_BODY_MAX            (1u * 1024 * 1024)  /* bytes per request body */
#define NODE_RPC_HEADER_MAX          (16u * 1024)        /* bytes of request line + headers */
#define NODE_RPC_URL_MAX             256                 /* bytes of request target */
#define NODE_RPC_MAX_CONNECTIONS     64                  /* concurrent HTTP connections */
#define NODE_RPC_BATCH_MAX           1000                /* requests per batch */
#define NODE_RPC_REQUEST_TIMEOUT_MS  10000               /* first byte -> complete request */
#define NODE_RPC_IDLE_TIMEOUT_MS     60000               /* keep-alive idle */
#define NODE_RPC_WRITE_QUEUE_MAX     (16u * 1024 * 1024) /* bytes unsent before reads pause */
#define NODE_RPC_PARAMS_MAX          16                  /* named params per method */
/* Connections not yet authenticated (no request with valid credentials
 * yet): at most this many at once (one more evicts the oldest), and each
 * is closed this long after it was accepted. Authenticated clients thus
 * always keep MAX_CONNECTIONS - UNAUTH_MAX slots. */
#define NODE_RPC_UNAUTH_MAX          8
#define NODE_RPC_UNAUTH_TIMEOUT_MS   2000
/* A silent newcomer (connected, nothing sent yet) is not evicted this
 * early unless every slot is taken. */
#define NODE_RPC_UNAUTH_GRACE_MS     250
/* A failed authentication is answered (401, then close) this long after the
 * previous failure from the same IP was, so one address gets at most
 * 1000/DELAY guesses a second whatever its connections; answers further
 * out than BACKLOG_MAX are not given (closed at once). */
#define NODE_RPC_AUTH_FAIL_DELAY_MS  250
#define NODE_RPC_AUTH_BACKLOG_MAX_MS 5000
#define NODE_RPC_AUTH_TRACK_MAX      256                 /* addresses remembered */
/* Bytes a connection may send while its long poll waits (pipelined
 * requests, held and parsed after the answer): beyond this it is closed.
 * Reading goes on while it waits, so a client that leaves is noticed. */
#define NODE_RPC_WAIT_BUFFER_MAX     (64u * 1024)
_Static_assert(NODE_RPC_UNAUTH_MAX < NODE_RPC_MAX_CONNECTIONS,
               "authenticated clients keep some slots");
#define NODE_RPC_COOKIE_USER         "__cookie__"

/* ---- Error codes (bitcoind's) ---- */
#define RPC_PARSE_ERROR            (-32700)
#define RPC_INVALID_REQUEST        (-32600)
#define RPC_METHOD_NOT_FOUND       (-32601)
#define RPC_INVALID_PARAMS         (-32602)
#define RPC_INTERNAL_ERROR         (-32603)
#define RPC_MISC_ERROR             (-1)
#define RPC_TYPE_ERROR             (-3)
#define RPC_INVALID_ADDRESS_OR_KEY (-5)
#define RPC_OUT_OF_MEMORY          (-7)
#define RPC_INVALID_PARAMETER      (-8)
#define RPC_DATABASE_ERROR         (-20)   /* safe mode: the store takes no writes */
#define RPC_DESERIALIZATION_ERROR  (-22)
#define RPC_CLIENT_NODE_ALREADY_ADDED (-23)
#define RPC_CLIENT_NODE_NOT_ADDED  (-24)
#define RPC_VERIFY_ERROR           (-25)
#define RPC_VERIFY_REJECTED        (-26)
#define RPC_VERIFY_ALREADY_IN_CHAIN (-27)
#define RPC_IN_WARMUP              (-28)   /* still loading: the message names the step */
#define RPC_CLIENT_NODE_NOT_CONNECTED (-29)
#define RPC_CLIENT_INVALID_IP_OR_SUBNET (-30)
#define RPC_MISC_NOT_ALLOWED       (-32)   /* e.g. generate off regtest */

/* One call. Handlers read params with the node_rpc_param_* helpers and
 * return a new reference to the result, or NULL after node_rpc_fail(). */
struct node_rpc_req {
    void *ctx;                 /* the server's handler context */
    const char *method;
    json_t *params;            /* borrowed; always an array (named params are
                                  mapped to positions by the method's arg list) */
    int err_code;              /* set by node_rpc_fail */
    char err_msg[512];
    struct node_rpc_server *srv;   /* the server processing it */
    bool deferred;             /* node_rpc_defer took the answer */
};

typedef json_t *(*node_rpc_fn)(struct node_rpc_req *rq);

struct node_rpc_method {
    const char *name;
    node_rpc_fn fn;
    const char *args;          /* comma-separated parameter names, "" for none */
    const char *help;          /* the text `help NAME` prints and docs/RPC.md shows */
};

/* Record an error; returns NULL so a handler can `return node_rpc_fail(...)`. */
json_t *node_rpc_fail(struct node_rpc_req *rq, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Param i, or NULL if absent or JSON null. */
json_t *node_rpc_param(const struct node_rpc_req *rq, size_t i);
/* Typed getters: false (with -32602/-8 recorded) when the param is
 * missing and required, or has the wrong type or range. When absent and
 * optional, *out is left as set by the caller (the default). */
bool node_rpc_param_u64(struct node_rpc_req *rq, size_t i, bool required, uint64_t max,
                        uint64_t *out);
bool node_rpc_param_i64(struct node_rpc_req *rq, size_t i, bool required, int64_t *out);
bool node_rpc_param_str(struct node_rpc_req *rq, size_t i, bool required, const char **out);
bool node_rpc_param_bool(struct node_rpc_req *rq, size_t i, bool required, bool *out);
/* 64 hex digits in display (reversed) order, as RPC shows hashes. */
bool node_rpc_param_hash(struct node_rpc_req *rq, size_t i, bool required, uint8_t out[32],
                         bool *present);
/* 64 hex digits in byte order: an address (Ed25519 public key). */
bool node_rpc_param_pubkey(struct node_rpc_req *rq, size_t i, bool required, uint8_t out[32]);
/* At most n params; records -32602 otherwise. */
bool node_rpc_param_max(struct node_rpc_req *rq, size_t n);

/* ---- Deferred answers (long polls: waitfornewblock, ...) ---- */
struct node_rpc_pending;
/* Inside a handler: keep the connection waiting and answer later with
 * node_rpc_pending_done. Returns NULL when this request cannot wait (part
 * of a batch, or processed without a connection): the handler then answers
 * at once. On success the handler returns NULL without an error. cancel(arg)
 * runs if the connection or server closes first; the handle is then gone. */
struct node_rpc_pending *node_rpc_defer(struct node_rpc_req *rq, void (*cancel)(void *arg),
                                        void *arg);
/* Send the answer (takes the reference to result) and free the handle. Call
 * from a loop callback, not from inside a chain or p2p event: the
 * connection may go on to process its next pipelined request. */
void node_rpc_pending_done(struct node_rpc_pending *p, json_t *result);

const struct node_rpc_method *node_rpc_find(const struct node_rpc_method *m, size_t n,
                                            const char *name);

/* Metrics callback: Prometheus text (heap, caller frees), or NULL. */
typedef char *(*node_rpc_metrics_fn)(void *ctx, size_t *len);

struct node_rpc_config {
    const char *bind;                /* "127.0.0.1" if NULL */
    uint16_t port;
    const char *user;                /* user and password, or both NULL: cookie */
    const char *password;
    const char *cookie_path;         /* written when user is NULL */
    const struct node_rpc_method *methods;   /* borrowed for the server's life */
    size_t n_methods;
    void *ctx;                       /* passed to handlers and metrics */
    node_rpc_metrics_fn metrics;     /* may be NULL: /metrics -> 404 */
    /* May be NULL. Before each call: NULL to run it, or the message it is
     * answered with as RPC_IN_WARMUP (-28) instead (bitcoind's warm-up). */
    const char *(*warmup)(void *ctx, const char *method);
    const struct node_log *log;      /* may be NULL */
    uint32_t request_timeout_ms;     /* 0: NODE_RPC_REQUEST_TIMEOUT_MS */
    uint32_t idle_timeout_ms;        /* 0: NODE_RPC_IDLE_TIMEOUT_MS */
};

struct node_rpc_server;

/* Create a server (no I/O yet; does not write the cookie). Copies the
 * strings in cfg. Returns 0 or a negative errno. */
int node_rpc_server_new(struct node_rpc_server **out, const struct node_rpc_config *cfg);
/* Bind and listen on loop, write the cookie if cookie auth. Returns 0 or a
 * negative libuv/errno error; *err_what names the failing step. */
int node_rpc_listen(struct node_rpc_server *s, uv_loop_t *loop, const char **err_what);
/* The port actually bound (useful with port 0). */
uint16_t node_rpc_port(const struct node_rpc_server *s);
/* Close the listener and every connection, remove the cookie; calls done
 * (may be NULL) once every handle is closed. Then node_rpc_server_free. */
void node_rpc_close(struct node_rpc_server *s, void (*done)(void *arg), void *arg);
void node_rpc_server_free(struct node_rpc_server *s);
/* Connections open now. */
size_t node_rpc_connections(const struct node_rpc_server *s);

/* Process one JSON-RPC body (object or batch). Returns the response body
 * (heap, caller frees) and its length, or NULL when nothing is to be sent
 * (only notifications). Never fails for bad input: that is an error
 * response. NULL with *out_len = SIZE_MAX means out of memory. */
char *node_rpc_process(struct node_rpc_server *s, const char *body, size_t len,
                       size_t *out_len);

/* ---- Sans-I/O HTTP session ---- */
/* Output: takes ownership of buf (malloc'd). */
typedef void (*node_rpc_write_fn)(void *io, char *buf, size_t len);

struct node_rpc_session;

struct node_rpc_session *node_rpc_session_new(struct node_rpc_server *s,
                                              node_rpc_write_fn write, void *io);
void node_rpc_session_free(struct node_rpc_session *ss);
/* Feed received bytes. Returns true to keep reading, false when the
 * connection should be closed once its output is written. */
bool node_rpc_session_feed(struct node_rpc_session *ss, const char *buf, size_t len);
/* True while a request has begun but is not complete. */
bool node_rpc_session_in_request(const struct node_rpc_session *ss);
/* Send a final error response (e.g. 408 on timeout) and mark for close. */
void node_rpc_session_abort(struct node_rpc_session *ss, int status);
/* A request carried valid credentials on this connection. */
bool node_rpc_session_authenticated(const struct node_rpc_session *ss);
/* A long poll holds the connection's answer (node_rpc_defer). */
bool node_rpc_session_waiting(const struct node_rpc_session *ss);

/* What the transport does for a session beyond writing (all may be NULL:
 * then a failed authentication is answered at once, as in unit tests). */
struct node_rpc_session_hooks {
    /* Credentials were wrong: the transport answers 401 (abort) when it
     * sees fit and closes; the session processes nothing more. */
    void (*auth_failed)(void *io);
    /* A deferred answer was sent: bytes held while waiting were fed again;
     * the transport reads and times the connection as usual. */
    void (*resumed)(void *io);
};
void node_rpc_session_set_hooks(struct node_rpc_session *ss,
                                const struct node_rpc_session_hooks *h);

/* Base64 (standard alphabet, padded) of in into out (size 4*((len+2)/3)+1). */
void node_rpc_base64(char *out, const uint8_t *in, size_t len);

#endif
