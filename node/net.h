/* libuv TCP transport for the p2p core (IPv4 and IPv6).
 *
 * It owns the sockets, the timer and the clock; the core owns the protocol.
 * Bytes read are handed to p2p_on_bytes, at most P2P_READ_CHUNK_BYTES per
 * connection per loop iteration (then the connection waits for the next
 * iteration, so one busy peer cannot starve the others). Sends are appended
 * to one buffer per connection, handed to libuv as one write at a time;
 * p2p_on_sent reports each write done, so the driver holds exactly the
 * bytes the core counts as unsent (no per-message request). The
 * single timer is re-armed from p2p_next_deadline after every call into
 * the core.
 *
 * Life cycle:
 *   node_net_create -> p2p_create(cfg.io = node_net_io(n)) ->
 *   node_net_attach(n, p2p) -> node_net_listen (0..4 times) -> uv_run ...
 *   node_net_close(n) (no more calls into the core; closes every handle)
 *   -> uv_run until it returns -> p2p_destroy -> node_net_free.
 * Peer ids are 1, 2, 3, ... never reused. */
#ifndef GOSSIPD_NODE_NET_H
#define GOSSIPD_NODE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "p2p/p2p.h"

#define NODE_NET_MAX_LISTENERS 4
#define NODE_NET_BACKLOG       128

struct node_net;

/* Wall-clock milliseconds (CLOCK_REALTIME): block times are compared with
 * it, so it must be the real time, not a monotonic counter. */
uint64_t node_net_now_ms(void);

/* Returns 0 or UV_ENOMEM. The loop is borrowed. */
int node_net_create(struct node_net **out, uv_loop_t *loop);
/* The callbacks to give p2p_create; valid for the transport's life. */
const struct p2p_io *node_net_io(struct node_net *n);
/* Check the core's tx signatures on `threads` workers of libuv's pool
 * (node/verify.h): sets the verify_tx callback of node_net_io, so call it
 * before p2p_create. Without it every check runs on the loop thread.
 * Returns 0 or -1. */
int node_net_verify_threads(struct node_net *n, unsigned threads);
/* The core to drive (set once, after p2p_create). Arms the timer. */
void node_net_attach(struct node_net *n, struct p2p *p);
/* Listens on ip ("0.0.0.0", "127.0.0.1", "::", "::1") and port. Returns
 * 0 or a libuv error (UV_EADDRINUSE ...). IPv6 sockets are v6-only, so
 * "0.0.0.0" and "::" can both be used. */
int node_net_listen(struct node_net *n, const char *ip, uint16_t port);
/* Port actually bound by the i-th listener (after listening on port 0). */
uint16_t node_net_bound_port(const struct node_net *n, int i);
/* Re-arm the timer: call after calling into the core from outside the
 * transport (p2p_submit_tx, p2p_connect_addr, ...). */
void node_net_kick(struct node_net *n);
/* Number of open connections. */
size_t node_net_conn_count(const struct node_net *n);
/* Stop: no more calls into the core; every handle is closed (uv_run then
 * returns once their callbacks have run). */
void node_net_close(struct node_net *n);
/* After uv_run returned. */
void node_net_free(struct node_net *n);

#endif
