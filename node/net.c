/* libuv TCP driver of the p2p core. See net.h. */
#include "node/net.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/verify.h"

struct conn {
    uv_tcp_t h;                 /* first: the handle's data points back here */
    struct node_net *n;
    struct conn *prev, *next;
    uint64_t id;
    struct p2p_addr addr;
    bool inbound;
    bool connected;             /* the core was told (p2p_on_connected) */
    bool closing;
    bool reading;               /* uv_read_start active */
    bool paused;                /* the core asked us to stop reading */
    bool throttled;             /* read budget of this iteration spent */
    size_t read_this_iter;
    uv_connect_t connect_req;
    /* Sends: one write in flight (fly), the rest appended to out. Exactly
     * the bytes the core counts as send_pending, whatever the number of
     * messages (a write request per message would cost ~200 bytes each). */
    struct obuf { uint8_t *buf; size_t len, cap; } out, fly;
    uv_write_t wreq;
    bool writing;
    uint8_t rbuf[P2P_READ_CHUNK_BYTES];
};

/* A send buffer emptied with more capacity than this is freed. */
#define NET_OBUF_KEEP_BYTES (64u * 1024)

struct listener {
    uv_tcp_t h;
    struct node_net *n;
    bool used;
    uint16_t port;
};

struct node_net {
    uv_loop_t *loop;
    struct p2p *p2p;
    struct p2p_io io;
    uv_timer_t timer;
    uv_idle_t idle;             /* resumes throttled reads next iteration */
    struct listener listeners[NODE_NET_MAX_LISTENERS];
    struct conn *conns;
    size_t n_conns;
    uint64_t next_id;
    bool closed;
    int open_handles;
    struct node_verify *verify; /* NULL: signatures checked inline */
};

uint64_t node_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- helpers ---- */

static void tick_cb(uv_timer_t *t);
static void idle_cb(uv_idle_t *i);

/* The core's next deadline may have moved after any call into it. */
static void rearm(struct node_net *n)
{
    if (n->closed || !n->p2p)
        return;
    uint64_t now = node_net_now_ms();
    uint64_t d = p2p_next_deadline(n->p2p);
    uv_timer_start(&n->timer, tick_cb, d > now ? d - now : 0, 0);
}

static void tick_cb(uv_timer_t *t)
{
    struct node_net *n = t->data;
    if (n->closed || !n->p2p)
        return;
    p2p_on_tick(n->p2p, node_net_now_ms());
    rearm(n);
}

static struct conn *conn_find(struct node_net *n, uint64_t id)
{
    for (struct conn *c = n->conns; c; c = c->next)
        if (c->id == id && !c->closing)
            return c;
    return NULL;
}

static void sockaddr_to_p2p(const struct sockaddr *sa, struct p2p_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        p2p_addr_from_ipv4(a, (const uint8_t *)&s4->sin_addr, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(a->ip, &s6->sin6_addr, 16);
        a->port = ntohs(s6->sin6_port);
    }
}

static void p2p_to_sockaddr(const struct p2p_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (p2p_addr_is_ipv4(a)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip + 12, 4);
        s4->sin_port = htons(a->port);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip, 16);
        s6->sin6_port = htons(a->port);
    }
}

static void conn_close_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct node_net *n = c->n;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n->n_conns--;
    n->open_handles--;
    free(c->out.buf);
    free(c->fly.buf);
    free(c);
}

/* Closes the socket. tell_core: the remote side or an error ended it, so
 * the core must hear of it (when the core itself asked, it already knows). */
static void conn_close(struct conn *c, bool tell_core, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    struct node_net *n = c->n;
    if (tell_core && c->connected && !n->closed && n->p2p)
        p2p_on_disconnected(n->p2p, c->id, reason, node_net_now_ms());
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->h);
    c->reading = false;
    uv_close((uv_handle_t *)&c->h, conn_close_cb);
}

static struct conn *conn_new(struct node_net *n)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (uv_tcp_init(n->loop, &c->h) != 0) {
        free(c);
        return NULL;
    }
    c->h.data = c;
    c->wreq.data = c;
    c->n = n;
    c->id = ++n->next_id;
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->n_conns++;
    n->open_handles++;
    uv_tcp_nodelay(&c->h, 1);
    return c;
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    buf->base = (char *)c->rbuf;
    buf->len = sizeof(c->rbuf);
}

static void read_start(struct conn *c);

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct node_net *n = c->n;
    (void)buf;
    if (c->closing || n->closed)
        return;
    if (nread < 0) {
        conn_close(c, true, nread == UV_EOF ? "closed-by-peer" : uv_err_name((int)nread));
        rearm(n);
        return;
    }
    if (nread == 0)
        return;
    c->read_this_iter += (size_t)nread;
    p2p_on_bytes(n->p2p, c->id, c->rbuf, (size_t)nread, node_net_now_ms());
    /* Bounded reads per wake-up: once a connection has had its chunk in
     * this loop iteration, it waits for the next one. */
    if (!c->closing && c->read_this_iter >= P2P_READ_CHUNK_BYTES && c->reading) {
        uv_read_stop((uv_stream_t *)&c->h);
        c->reading = false;
        c->throttled = true;
        uv_idle_start(&n->idle, idle_cb);
    }
    rearm(n);
}

static void idle_cb(uv_idle_t *i)
{
    struct node_net *n = i->data;
    uv_idle_stop(&n->idle);
    for (struct conn *c = n->conns; c; c = c->next) {
        c->read_this_iter = 0;
        if (c->throttled) {
            c->throttled = false;
            read_start(c);
        }
    }
}

static void read_start(struct conn *c)
{
    if (c->closing || c->reading || c->paused || c->throttled)
        return;
    if (uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb) == 0)
        c->reading = true;
}

/* ---- io callbacks (called by the core) ---- */

static void write_cb(uv_write_t *req, int status);

/* Hands what waits in out to libuv as one write. */
static int write_start(struct conn *c)
{
    struct obuf t = c->fly;
    c->fly = c->out;
    c->out = t;
    uv_buf_t b = uv_buf_init((char *)c->fly.buf, (unsigned)c->fly.len);
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, write_cb);
    c->writing = rc == 0;
    return rc;
}

static void obuf_release(struct obuf *o)
{
    o->len = 0;
    if (o->cap > NET_OBUF_KEEP_BYTES) {
        free(o->buf);
        o->buf = NULL;
        o->cap = 0;
    }
}

static void write_cb(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    struct node_net *n = c->n;
    size_t len = c->fly.len;
    c->writing = false;
    obuf_release(&c->fly);
    if (c->closing || n->closed)
        return;
    if (status < 0 || (c->out.len > 0 && write_start(c) != 0)) {
        conn_close(c, true, uv_err_name(status < 0 ? status : UV_EIO));
        rearm(n);
        return;
    }
    p2p_on_sent(n->p2p, c->id, len, node_net_now_ms());
}

static int io_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct node_net *n = ctx;
    struct conn *c = conn_find(n, peer);
    if (!c || len > UINT_MAX - c->out.len)
        return -1;
    if (c->out.len + len > c->out.cap) {
        size_t cap = c->out.cap ? c->out.cap : 4096;
        while (cap < c->out.len + len)
            cap *= 2;
        uint8_t *nb = realloc(c->out.buf, cap);
        if (!nb)
            return -1;
        c->out.buf = nb;
        c->out.cap = cap;
    }
    memcpy(c->out.buf + c->out.len, buf, len);
    c->out.len += len;
    if (!c->writing && write_start(c) != 0)
        return -1;
    return 0;
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct node_net *n = c->n;
    if (n->closed) {
        conn_close(c, false, "shutdown");
        return;
    }
    if (status < 0 || c->closing) {
        struct p2p_addr a = c->addr;
        conn_close(c, false, "connect-failed");
        p2p_on_connect_failed(n->p2p, &a, node_net_now_ms());
        rearm(n);
        return;
    }
    c->connected = true;
    p2p_on_connected(n->p2p, c->id, &c->addr, false, node_net_now_ms());
    read_start(c);
    rearm(n);
}

static void io_connect(void *ctx, const struct p2p_addr *addr)
{
    struct node_net *n = ctx;
    struct sockaddr_storage ss;
    struct conn *c = conn_new(n);
    if (!c) {
        /* No callback from inside the core's own call: its connect
         * timeout (P2P_CONNECT_TIMEOUT_MS) retries. */
        return;
    }
    c->addr = *addr;
    c->connect_req.data = c;
    p2p_to_sockaddr(addr, &ss);
    if (uv_tcp_connect(&c->connect_req, &c->h, (const struct sockaddr *)&ss, connect_cb) != 0)
        conn_close(c, false, "connect-failed");   /* the core's connect timeout retries */
}

static void io_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    struct node_net *n = ctx;
    struct conn *c = conn_find(n, peer);
    if (c)
        conn_close(c, false, reason);
}

static void io_pause_read(void *ctx, uint64_t peer, bool paused)
{
    struct node_net *n = ctx;
    struct conn *c = conn_find(n, peer);
    if (!c)
        return;
    c->paused = paused;
    if (paused && c->reading) {
        uv_read_stop((uv_stream_t *)&c->h);
        c->reading = false;
    } else if (!paused) {
        read_start(c);
    }
}

/* ---- accepting ---- */

static void accept_cb(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct node_net *n = l->n;
    if (status < 0 || n->closed)
        return;
    struct conn *c = conn_new(n);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
        conn_close(c, false, "accept-failed");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &len) != 0) {
        conn_close(c, false, "getpeername-failed");
        return;
    }
    sockaddr_to_p2p((const struct sockaddr *)&ss, &c->addr);
    c->inbound = true;
    c->connected = true;
    p2p_on_connected(n->p2p, c->id, &c->addr, true, node_net_now_ms());
    read_start(c);   /* no-op if the core refused it (closing) */
    rearm(n);
}

static int io_verify_tx(void *ctx, uint64_t job, const struct chain_tx *tx)
{
    struct node_net *n = ctx;
    return n->closed ? -1 : node_verify_submit(n->verify, job, tx);
}

static void verified(void *ctx, uint64_t job, bool ok)
{
    struct node_net *n = ctx;
    if (n->closed || !n->p2p)
        return;
    p2p_on_verified(n->p2p, job, ok, node_net_now_ms());
    rearm(n);
}

/* ---- public ---- */

int node_net_verify_threads(struct node_net *n, unsigned threads)
{
    if (n->verify)
        return 0;
    if (node_verify_create(&n->verify, n->loop, threads, verified, n) != 0)
        return -1;
    n->io.verify_tx = io_verify_tx;
    return 0;
}

int node_net_create(struct node_net **out, uv_loop_t *loop)
{
    struct node_net *n = calloc(1, sizeof(*n));
    if (!n)
        return UV_ENOMEM;
    n->loop = loop;
    n->io = (struct p2p_io){ .ctx = n, .send = io_send, .connect = io_connect,
                             .disconnect = io_disconnect, .pause_read = io_pause_read };
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_idle_init(loop, &n->idle);
    n->idle.data = n;
    n->open_handles = 2;
    *out = n;
    return 0;
}

const struct p2p_io *node_net_io(struct node_net *n)
{
    return &n->io;
}

void node_net_attach(struct node_net *n, struct p2p *p)
{
    n->p2p = p;
    rearm(n);
}

int node_net_listen(struct node_net *n, const char *ip, uint16_t port)
{
    struct listener *l = NULL;
    for (int i = 0; i < NODE_NET_MAX_LISTENERS && !l; i++)
        if (!n->listeners[i].used)
            l = &n->listeners[i];
    if (!l)
        return UV_ENOSPC;
    struct sockaddr_storage ss;
    bool v6 = strchr(ip, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);
    if (rc != 0)
        return rc;
    if ((rc = uv_tcp_init(n->loop, &l->h)) != 0)
        return rc;
    l->h.data = l;
    l->n = n;
    l->used = true;
    n->open_handles++;
    rc = uv_tcp_bind(&l->h, (const struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->h, NODE_NET_BACKLOG, accept_cb);
    if (rc != 0) {
        uv_close((uv_handle_t *)&l->h, NULL);
        l->used = false;
        n->open_handles--;
        return rc;
    }
    struct sockaddr_storage b;
    int blen = sizeof(b);
    if (uv_tcp_getsockname(&l->h, (struct sockaddr *)&b, &blen) == 0) {
        struct p2p_addr a;
        sockaddr_to_p2p((const struct sockaddr *)&b, &a);
        l->port = a.port;
    }
    return 0;
}

uint16_t node_net_bound_port(const struct node_net *n, int i)
{
    if (i < 0 || i >= NODE_NET_MAX_LISTENERS || !n->listeners[i].used)
        return 0;
    return n->listeners[i].port;
}

void node_net_kick(struct node_net *n)
{
    rearm(n);
}

size_t node_net_conn_count(const struct node_net *n)
{
    return n->n_conns;
}

static void counted_close_cb(uv_handle_t *h)
{
    struct node_net *n = h->data;
    if (h->type == UV_TCP)
        n = ((struct listener *)h->data)->n;
    n->open_handles--;
}

void node_net_close(struct node_net *n)
{
    if (n->closed)
        return;
    n->closed = true;
    node_verify_close(n->verify);
    uv_close((uv_handle_t *)&n->timer, counted_close_cb);
    uv_close((uv_handle_t *)&n->idle, counted_close_cb);
    for (int i = 0; i < NODE_NET_MAX_LISTENERS; i++)
        if (n->listeners[i].used)
            uv_close((uv_handle_t *)&n->listeners[i].h, counted_close_cb);
    for (struct conn *c = n->conns; c; c = c->next)
        conn_close(c, false, "shutdown");
}

void node_net_free(struct node_net *n)
{
    if (!n)
        return;
    assert(n->open_handles == 0);
    node_verify_free(n->verify);
    free(n);
}
