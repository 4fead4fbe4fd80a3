/* The libuv TCP driver of the p2p core: listens, connects, moves bytes
 * between sockets and the core, and calls p2p_on_tick at the core's next
 * deadline. Peer ids are assigned here (1, 2, 3, ... never reused).
 *
 * Usage: node_tcp_create -> p2p_create(io = node_tcp_io()) ->
 * node_tcp_attach(p2p) -> node_tcp_listen -> uv_run ... node_tcp_close
 * (closes every handle; uv_run then returns) -> node_tcp_free. */
#ifndef GOSSIPD_NODE_TCP_H
#define GOSSIPD_NODE_TCP_H

#include <stdint.h>

#include <uv.h>

#include "node/log.h"
#include "p2p/p2p.h"

/* Bytes queued to a peer's socket before we stop feeding it (the core
 * keeps its own send queue and flow control on top of this). */
#define NODE_TCP_WRITE_QUEUE_MAX (8u * 1024 * 1024)
/* An outbound connect that has not completed by then fails. */
#define NODE_TCP_CONNECT_TIMEOUT_MS 5000
/* Accept backlog. */
#define NODE_TCP_BACKLOG 128

struct node_tcp;

/* Returns 0 or -ENOMEM. log is borrowed. now_ms: the node's clock. */
int node_tcp_create(struct node_tcp **out, uv_loop_t *loop, const struct node_log *log,
                    uint64_t (*now_ms)(void));
/* The callbacks to give p2p_create; valid for the transport's life. */
const struct p2p_io *node_tcp_io(struct node_tcp *t);
void node_tcp_attach(struct node_tcp *t, struct p2p *p);
/* Listen on bind:port. Returns 0 or a libuv error. */
int node_tcp_listen(struct node_tcp *t, const char *bind, uint16_t port);
/* Close the listener, every connection and the timer (no more calls into
 * the core). */
void node_tcp_close(struct node_tcp *t);
/* After uv_run returned. */
void node_tcp_free(struct node_tcp *t);

#endif
