/* libFuzzer target: an HTTP/JSON-RPC session fed arbitrary bytes in
 * arbitrary chunks must never crash, leak or write past its caps. The first
 * byte of the input picks the chunk size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "node/rpc_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *m_echo(struct node_rpc_req *rq) { return json_incref(rq->params); }

static json_t *m_u64(struct node_rpc_req *rq)
{
    uint64_t v = 0;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_u64(rq, 0, true, 1000, &v)) return NULL;
    return json_integer((json_int_t)v);
}

static const struct node_rpc_method METHODS[] = {
    { "echo", m_echo, "", "echo\n" },
    { "u64", m_u64, "v", "u64 v\n" },
};

static void discard(void *io, char *buf, size_t len)
{
    (void)io;
    (void)len;
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct node_rpc_server *server;
    if (!server) {
        struct node_rpc_config cfg = {
            .user = "user", .password = "pass",
            .methods = METHODS, .n_methods = sizeof METHODS / sizeof METHODS[0],
        };
        if (node_rpc_server_new(&server, &cfg) != 0) abort();
    }
    if (size == 0) return 0;
    size_t chunk = 1 + data[0] % 64;
    data++;
    size--;
    struct node_rpc_session *ss = node_rpc_session_new(server, discard, NULL);
    if (!ss) return 0;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (!node_rpc_session_feed(ss, (const char *)data + off, n)) break;
    }
    node_rpc_session_free(ss);
    return 0;
}
