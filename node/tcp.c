#include "node/tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tcp_conn {
    struct tcp_conn *prev, *next;
    struct node_tcp *t;
    uint64_t id;
    uv_tcp_t h;
    uv_timer_t connect_timer;
    uv_connect_t creq;
    struct p2p_addr addr;
    bool inbound;
    bool connected;       /* TCP established */
    bool core_knows;      /* p2p_on_connected was called and the core did not drop it */
    bool closing;
    bool reading;
    int handles_open;
    char rbuf[65536];
};

struct tcp_write {
    uv_write_t req;
    struct tcp_conn *c;
    size_t len;
    uint8_t data[];
};

struct node_tcp {
    uv_loop_t *loop;
    const struct node_log *log;
    uint64_t (*now_ms)(void);
    struct p2p *p2p;
    struct p2p_io io;
    uv_tcp_t listener;
    bool listening;
    uv_timer_t tick;
    uv_prepare_t prepare;
    bool closing;
    uint64_t next_id;
    struct tcp_conn *conns;
};

static struct tcp_conn *find(struct node_tcp *t, uint64_t id)
{
    for (struct tcp_conn *c = t->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void conn_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct node_tcp *t = c->t;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

/* Close without telling the core (it asked, or it never knew). */
static void conn_close(struct tcp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->core_knows = false;
    uv_close((uv_handle_t *)&c->connect_timer, conn_closed);
    uv_close((uv_handle_t *)&c->h, conn_closed);
}

/* The connection died under the core: tell it, then close. */
static void conn_lost(struct tcp_conn *c, const char *reason)
{
    if (c->closing)
        return;
    struct node_tcp *t = c->t;
    bool tell = c->core_knows;
    conn_close(c);
    if (tell && t->p2p)
        p2p_on_disconnected(t->p2p, c->id, reason, t->now_ms());
}

static struct tcp_conn *conn_new(struct node_tcp *t, bool inbound)
{
    struct tcp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = t;
    c->id = ++t->next_id;
    c->inbound = inbound;
    uv_tcp_init(t->loop, &c->h);
    uv_timer_init(t->loop, &c->connect_timer);
    c->h.data = c;
    c->connect_timer.data = c;
    c->handles_open = 2;
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    return c;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_conn *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        conn_lost(c, nread == UV_EOF ? "closed-by-peer" : uv_err_name((int)nread));
        return;
    }
    if (c->core_knows && c->t->p2p)
        p2p_on_bytes(c->t->p2p, c->id, (const uint8_t *)buf->base, (size_t)nread,
                     c->t->now_ms());
}

static void start_reading(struct tcp_conn *c)
{
    if (!c->closing && !c->reading && uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb) == 0)
        c->reading = true;
}

static void write_cb(uv_write_t *req, int status)
{
    struct tcp_write *w = (struct tcp_write *)req;
    struct tcp_conn *c = w->c;
    size_t len = w->len;
    free(w);
    if (status < 0) {
        conn_lost(c, "write-error");
        return;
    }
    if (c->core_knows && c->t->p2p)
        p2p_on_sent(c->t->p2p, c->id, len, c->t->now_ms());
}

/* ---- p2p_io ---- */

static int io_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct node_tcp *t = ctx;
    struct tcp_conn *c = find(t, peer);
    if (!c || c->closing || !c->connected)
        return -1;
    if (c->h.write_queue_size > NODE_TCP_WRITE_QUEUE_MAX) {
        /* The socket is not draining and the core keeps sending: the peer
         * is stuck. Dropping it is the only bounded choice. */
        conn_lost(c, "send-queue-full");
        return -1;
    }
    struct tcp_write *w = malloc(sizeof *w + len);
    if (!w)
        return -1;
    w->c = c;
    w->len = len;
    memcpy(w->data, buf, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, write_cb) != 0) {
        free(w);
        return -1;
    }
    return 0;
}

static int to_sockaddr(const struct p2p_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (p2p_addr_is_ipv4(a)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        memcpy(&sin6->sin6_addr, a->ip, 16);
    }
    return 0;
}

static int from_sockaddr(struct p2p_addr *a, const struct sockaddr_storage *ss)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        uint8_t ip4[4];
        memcpy(ip4, &sin->sin_addr, 4);
        p2p_addr_from_ipv4(a, ip4, ntohs(sin->sin_port));
        return 0;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        memcpy(a->ip, &sin6->sin6_addr, 16);
        a->port = ntohs(sin6->sin6_port);
        return 0;
    }
    return -1;
}

static void connect_timeout_cb(uv_timer_t *tm)
{
    struct tcp_conn *c = tm->data;
    if (c->connected || c->closing)
        return;
    struct node_tcp *t = c->t;
    struct p2p_addr a = c->addr;
    conn_close(c);   /* cancels the connect request */
    if (t->p2p && !t->closing)
        p2p_on_connect_failed(t->p2p, &a, t->now_ms());
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct tcp_conn *c = req->data;
    struct node_tcp *t = c->t;
    if (c->closing)
        return;   /* timed out or shutting down: already reported */
    uv_timer_stop(&c->connect_timer);
    if (status < 0) {
        struct p2p_addr a = c->addr;
        conn_close(c);
        if (t->p2p)
            p2p_on_connect_failed(t->p2p, &a, t->now_ms());
        return;
    }
    c->connected = true;
    c->core_knows = true;
    uv_tcp_nodelay(&c->h, 1);
    start_reading(c);
    p2p_on_connected(t->p2p, c->id, &c->addr, false, t->now_ms());
}

static void io_connect(void *ctx, const struct p2p_addr *addr)
{
    struct node_tcp *t = ctx;
    if (t->closing)
        return;
    struct tcp_conn *c = conn_new(t, false);
    struct sockaddr_storage ss;
    if (!c) {
        p2p_on_connect_failed(t->p2p, addr, t->now_ms());
        return;
    }
    c->addr = *addr;
    to_sockaddr(addr, &ss);
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, &c->h, (const struct sockaddr *)&ss, connect_cb);
    if (rc != 0) {
        conn_close(c);
        p2p_on_connect_failed(t->p2p, addr, t->now_ms());
        return;
    }
    uv_timer_start(&c->connect_timer, connect_timeout_cb, NODE_TCP_CONNECT_TIMEOUT_MS, 0);
}

static void io_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    struct node_tcp *t = ctx;
    struct tcp_conn *c = find(t, peer);
    if (c)
        conn_close(c);
}

static void io_pause_read(void *ctx, uint64_t peer, bool paused)
{
    struct node_tcp *t = ctx;
    struct tcp_conn *c = find(t, peer);
    if (!c || c->closing)
        return;
    if (paused && c->reading) {
        uv_read_stop((uv_stream_t *)&c->h);
        c->reading = false;
    } else if (!paused) {
        start_reading(c);
    }
}

/* ---- accept, timers ---- */

static void on_connection(uv_stream_t *server, int status)
{
    struct node_tcp *t = server->data;
    if (status < 0 || t->closing)
        return;
    struct tcp_conn *c = conn_new(t, true);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &len) != 0 ||
        from_sockaddr(&c->addr, &ss) != 0) {
        conn_close(c);
        return;
    }
    c->connected = true;
    c->core_knows = true;
    uv_tcp_nodelay(&c->h, 1);
    start_reading(c);
    /* The core may refuse (ban, inbound cap) by calling io_disconnect here. */
    p2p_on_connected(t->p2p, c->id, &c->addr, true, t->now_ms());
}

static void tick_cb(uv_timer_t *tm)
{
    struct node_tcp *t = tm->data;
    if (t->p2p && !t->closing)
        p2p_on_tick(t->p2p, t->now_ms());
}

/* Before each poll: sleep no later than the core's next deadline (RPC
 * submissions and socket events move it). */
static void prepare_cb(uv_prepare_t *pr)
{
    struct node_tcp *t = pr->data;
    if (!t->p2p || t->closing)
        return;
    uint64_t now = t->now_ms();
    uint64_t d = p2p_next_deadline(t->p2p);
    uint64_t delay = d > now ? d - now : 0;
    if (delay > 1000)
        delay = 1000;
    uv_timer_start(&t->tick, tick_cb, delay, 0);
}

/* ---- life cycle ---- */

int node_tcp_create(struct node_tcp **out, uv_loop_t *loop, const struct node_log *log,
                    uint64_t (*now_ms)(void))
{
    struct node_tcp *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->loop = loop;
    t->log = log;
    t->now_ms = now_ms;
    t->io.ctx = t;
    t->io.send = io_send;
    t->io.connect = io_connect;
    t->io.disconnect = io_disconnect;
    t->io.pause_read = io_pause_read;
    uv_timer_init(loop, &t->tick);
    uv_prepare_init(loop, &t->prepare);
    uv_tcp_init(loop, &t->listener);
    t->tick.data = t->prepare.data = t->listener.data = t;
    *out = t;
    return 0;
}

const struct p2p_io *node_tcp_io(struct node_tcp *t)
{
    return &t->io;
}

void node_tcp_attach(struct node_tcp *t, struct p2p *p)
{
    t->p2p = p;
    uv_prepare_start(&t->prepare, prepare_cb);
}

int node_tcp_listen(struct node_tcp *t, const char *bind, uint16_t port)
{
    struct sockaddr_storage ss;
    int rc = strchr(bind, ':') ? uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&ss)
                               : uv_ip4_addr(bind, port, (struct sockaddr_in *)&ss);
    if (rc)
        return rc;
    if ((rc = uv_tcp_bind(&t->listener, (const struct sockaddr *)&ss, 0)) != 0)
        return rc;
    if ((rc = uv_listen((uv_stream_t *)&t->listener, NODE_TCP_BACKLOG, on_connection)) != 0)
        return rc;
    t->listening = true;
    return 0;
}

void node_tcp_close(struct node_tcp *t)
{
    if (t->closing)
        return;
    t->closing = true;
    for (struct tcp_conn *c = t->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&t->listener, NULL);
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_close((uv_handle_t *)&t->prepare, NULL);
}

void node_tcp_free(struct node_tcp *t)
{
    free(t);
}
