/* libuv thread-pool signature checks. See verify.h. */
#include "node/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vitem {
    uint64_t job;
    struct chain_tx tx;
    bool ok;
};

struct vbatch {
    uv_work_t req;
    struct node_verify *v;
    size_t n;
    struct vitem items[NODE_VERIFY_BATCH_JOBS];
};

struct node_verify {
    uv_loop_t *loop;
    uv_check_t check;
    node_verify_sink sink;
    void *ctx;
    unsigned max_out, out;      /* batches allowed / on the workers */
    struct vbatch *filling;
    bool closed;
    bool check_closed;
};

static void work_cb(uv_work_t *req)
{
    struct vbatch *b = req->data;
    for (size_t i = 0; i < b->n; i++)
        b->items[i].ok = chain_tx_verify_sig(&b->items[i].tx);
}

static void after_cb(uv_work_t *req, int status)
{
    struct vbatch *b = req->data;
    struct node_verify *v = b->v;
    v->out--;
    if (!v->closed && status == 0)
        for (size_t i = 0; i < b->n; i++)
            v->sink(v->ctx, b->items[i].job, b->items[i].ok);
    free(b);
}

static void flush(struct node_verify *v)
{
    struct vbatch *b = v->filling;
    if (!b || b->n == 0)
        return;
    v->filling = NULL;
    v->out++;
    if (uv_queue_work(v->loop, &b->req, work_cb, after_cb) != 0) {
        /* Cannot happen with a live loop; answer inline rather than lose it. */
        work_cb(&b->req);
        after_cb(&b->req, 0);
    }
}

static void check_cb(uv_check_t *h)
{
    flush(h->data);
}

int node_verify_create(struct node_verify **out, uv_loop_t *loop, unsigned threads,
                       node_verify_sink sink, void *ctx)
{
    struct node_verify *v = calloc(1, sizeof *v);
    if (!v)
        return -1;
    v->loop = loop;
    v->sink = sink;
    v->ctx = ctx;
    /* Two batches per thread: one being checked, one waiting, so a worker
     * never idles for a loop turn. */
    v->max_out = 2 * (threads ? threads : 1);
    uv_check_init(loop, &v->check);
    v->check.data = v;
    uv_check_start(&v->check, check_cb);
    uv_unref((uv_handle_t *)&v->check);
    *out = v;
    return 0;
}

int node_verify_submit(struct node_verify *v, uint64_t job, const struct chain_tx *tx)
{
    if (v->closed)
        return -1;
    if (!v->filling) {
        if (v->out >= v->max_out)
            return -1;
        v->filling = malloc(sizeof *v->filling);
        if (!v->filling)
            return -1;
        v->filling->req.data = v->filling;
        v->filling->v = v;
        v->filling->n = 0;
    }
    struct vitem *it = &v->filling->items[v->filling->n++];
    it->job = job;
    it->tx = *tx;
    if (v->filling->n == NODE_VERIFY_BATCH_JOBS)
        flush(v);
    return 0;
}

void node_verify_close(struct node_verify *v)
{
    if (!v || v->closed)
        return;
    v->closed = true;
    free(v->filling);   /* never handed out: its jobs are dropped with the core */
    v->filling = NULL;
    uv_close((uv_handle_t *)&v->check, NULL);
}

void node_verify_free(struct node_verify *v)
{
    free(v);
}

unsigned node_verify_pool_size(unsigned threads)
{
    if (threads == 0) {
        uv_cpu_info_t *ci;
        int n = 0;
        if (uv_cpu_info(&ci, &n) == 0)
            uv_free_cpu_info(ci, n);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (threads > NODE_VERIFY_MAX_THREADS)
        threads = NODE_VERIFY_MAX_THREADS;
    const char *env = getenv("UV_THREADPOOL_SIZE");
    if (env && *env) {
        unsigned e = (unsigned)strtoul(env, NULL, 10);
        return e > 0 && e < threads ? e : threads;
    }
    /* Name lookups and the like share the pool: one more thread for them. */
    char buf[16];
    snprintf(buf, sizeof buf, "%u", threads + 1);
    setenv("UV_THREADPOOL_SIZE", buf, 1);
    return threads;
}
