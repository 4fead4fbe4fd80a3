/* Long polls: waitfornewblock, waitforblock, waitforblockheight. Each call
 * that cannot be answered at once becomes a waiter holding its connection's
 * deferred answer (node_rpc_defer). A tip change (chain event) or the
 * nearest timeout runs one loop callback that answers every waiter whose
 * condition holds: never from inside the chain event itself, since
 * answering lets the connection process its next request. */
#include <stdlib.h>
#include <string.h>

#include "crypto/hex.h"
#include "node/node.h"

enum wait_kind { WAIT_NEW_BLOCK, WAIT_BLOCK, WAIT_HEIGHT };

struct node_waiter {
    struct node_waiter *prev, *next;
    struct node *node;
    struct node_rpc_pending *pending;
    enum wait_kind kind;
    uint8_t hash[32];           /* WAIT_NEW_BLOCK: the tip at the call; WAIT_BLOCK: the target */
    uint32_t height;
    uint64_t deadline_ms;       /* loop time; 0: none */
};

static json_t *tip_json(struct node *n)
{
    uint8_t tip[32];
    char hex[65];
    chain_tip(n->chain, tip);
    hex_encode_hash(hex, tip);
    return json_pack("{s:s,s:i}", "hash", hex, "height", (json_int_t)chain_height(n->chain));
}

static bool satisfied(struct node *n, const struct node_waiter *w)
{
    uint8_t tip[32];
    chain_tip(n->chain, tip);
    switch (w->kind) {
    case WAIT_NEW_BLOCK: return memcmp(tip, w->hash, 32) != 0;
    case WAIT_BLOCK: return memcmp(tip, w->hash, 32) == 0;
    case WAIT_HEIGHT: return chain_height(n->chain) >= w->height;
    }
    return true;
}

static void unlink_waiter(struct node *n, struct node_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        n->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    n->n_waiters--;
}

static void waiter_cancelled(void *arg)
{
    struct node_waiter *w = arg;
    unlink_waiter(w->node, w);
    free(w);
}

static void on_wait_timer(uv_timer_t *t);

static void rearm(struct node *n)
{
    if (n->stopping || !n->waiters) {
        uv_timer_stop(&n->wait_timer);
        return;
    }
    uint64_t now = uv_now(n->loop), next = 0;
    for (struct node_waiter *w = n->waiters; w; w = w->next)
        if (w->deadline_ms && (!next || w->deadline_ms < next))
            next = w->deadline_ms;
    if (next)
        uv_timer_start(&n->wait_timer, on_wait_timer, next > now ? next - now : 0, 0);
    else
        uv_timer_stop(&n->wait_timer);
}

static void on_wait_timer(uv_timer_t *t)
{
    struct node *n = t->data;
    uint64_t now = uv_now(n->loop);
    /* Answering may run the connection's next request, which may add a
     * waiter (at the head): collect first, then answer. */
    struct node_waiter *done = NULL;
    for (struct node_waiter *w = n->waiters, *nx; w; w = nx) {
        nx = w->next;
        if (satisfied(n, w) || (w->deadline_ms && now >= w->deadline_ms)) {
            unlink_waiter(n, w);
            w->next = done;
            done = w;
        }
    }
    while (done) {
        struct node_waiter *w = done;
        done = w->next;
        node_rpc_pending_done(w->pending, tip_json(n));
        free(w);
    }
    rearm(n);
}

void node_waits_init(struct node *n)
{
    uv_timer_init(n->loop, &n->wait_timer);
    n->wait_timer.data = n;
}

void node_waits_tip_changed(struct node *n)
{
    if (n->waiters && !n->stopping)
        uv_timer_start(&n->wait_timer, on_wait_timer, 0, 0);
}

void node_waits_close(struct node *n)
{
    if (!uv_is_closing((uv_handle_t *)&n->wait_timer))
        uv_close((uv_handle_t *)&n->wait_timer, NULL);
}

static json_t *wait_for(struct node_rpc_req *rq, enum wait_kind kind, const uint8_t hash[32],
                        uint32_t height, uint64_t timeout_ms)
{
    struct node *n = NODE_OF(rq);
    struct node_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    w->node = n;
    w->kind = kind;
    w->height = height;
    if (kind == WAIT_NEW_BLOCK)
        chain_tip(n->chain, w->hash);
    else if (hash)
        memcpy(w->hash, hash, 32);
    if (satisfied(n, w) || n->stopping ||
        !(w->pending = node_rpc_defer(rq, waiter_cancelled, w))) {
        /* Already true, or this request cannot wait (in a batch). */
        free(w);
        return tip_json(n);
    }
    w->deadline_ms = timeout_ms ? uv_now(n->loop) + timeout_ms : 0;
    w->next = n->waiters;
    if (n->waiters)
        n->waiters->prev = w;
    n->waiters = w;
    n->n_waiters++;
    rearm(n);
    return NULL;
}

json_t *node_rpc_waitfornewblock(struct node_rpc_req *rq)
{
    uint64_t timeout = 0;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_u64(rq, 0, false, UINT32_MAX, &timeout))
        return NULL;
    return wait_for(rq, WAIT_NEW_BLOCK, NULL, 0, timeout);
}

json_t *node_rpc_waitforblock(struct node_rpc_req *rq)
{
    uint8_t hash[32];
    uint64_t timeout = 0;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_hash(rq, 0, true, hash, NULL) ||
        !node_rpc_param_u64(rq, 1, false, UINT32_MAX, &timeout))
        return NULL;
    return wait_for(rq, WAIT_BLOCK, hash, 0, timeout);
}

json_t *node_rpc_waitforblockheight(struct node_rpc_req *rq)
{
    uint64_t height = 0, timeout = 0;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_u64(rq, 0, true, UINT32_MAX, &height) ||
        !node_rpc_param_u64(rq, 1, false, UINT32_MAX, &timeout))
        return NULL;
    return wait_for(rq, WAIT_HEIGHT, NULL, (uint32_t)height, timeout);
}
