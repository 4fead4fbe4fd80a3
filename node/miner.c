/* Mining. Continuous mining (--mine) hashes on libuv's worker pool: a job
 * takes a copy of the block template and searches nonce slices, checking
 * between slices whether the loop asked it to stop (the tip moved) and
 * ending after NODE_MINE_JOB_MS so the next template carries fresh txs and
 * time. The job touches nothing but its own header; the loop thread builds
 * templates and submits blocks. generate (regtest) mines synchronously on
 * the loop: the regtest target takes about two hashes per block. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/sec.h"
#include "node/node.h"

struct node_miner {
    struct node *node;
    uv_work_t work;
    bool busy;                 /* a job is queued or running */
    bool running;              /* --mine active */
    atomic_bool abort;         /* set by the loop, read by the worker */
    struct chain_block blk;    /* owned by the job while busy */
    uint64_t start_nonce;
    bool found;
    uint64_t hashes;           /* by the current job */
    uint64_t job_ms;           /* how long the job ran */
    double rate;               /* hashes per second, smoothed */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A block this node made: log it, then submit it. Logged first so that
 * block_mined precedes the block_connected and announced lines its
 * submission produces (the template builds on the tip: height = tip + 1). */
static int submit_mined(struct node *n, const struct chain_block *b, uint8_t hash[32])
{
    chain_header_hash(&b->hdr, hash);
    uint32_t height = chain_height(n->chain) + 1;
    struct node_prop_rec *r = node_prop_get_or_add(&n->prop, hash, P2P_INV_BLOCK, NULL);
    uint64_t now = node_now_ms();
    if (r && !r->first_seen_ms) {
        r->first_seen_ms = now;
        snprintf(r->source, sizeof r->source, "mined");
        r->delay_ms = (int64_t)(now - b->hdr.time_ms);
        r->height = height;
        node_obs_block_seen(&n->obs, NODE_SEEN_MINED, r->delay_ms);
    }
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "block_mined", LF_HASH("hash", hash),
             LF_UINT("height", height), LF_UINT("txs", b->n_tx),
             LF_UINT("size", chain_block_size(b)));
    int rc = p2p_submit_block(n->p2p, b, now);
    node_store_check(n);   /* a store failure: safe mode, the miner stops */
    if (rc < 0) {
        NODE_LOG(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "block_rejected", LF_HASH("hash", hash),
                 LF_INT("peer", 0), LF_STR("peer_name", ""), LF_STR("reason", chain_strerror(rc)));
        return rc;
    }
    n->blocks_mined++;
    return 0;
}

int node_mine_one(struct node *n, const uint8_t pk[32], uint64_t max_tries, uint8_t hash[32])
{
    struct chain_block b;
    int rc = chain_block_template(n->chain, pk, node_now_ms(), &b);
    if (rc != 0)
        return rc;
    uint64_t nonce = 0;
    bool found = false;
    while (!found && nonce < max_tries) {
        uint64_t count = max_tries - nonce < NODE_MINE_SLICE_NONCES ? max_tries - nonce
                                                                     : NODE_MINE_SLICE_NONCES;
        found = chain_mine(&b.hdr, nonce, count);
        nonce += count;
    }
    rc = found ? submit_mined(n, &b, hash) : CHAIN_ERR_NOT_FOUND;
    chain_block_free(&b);
    return rc;
}

static void work_cb(uv_work_t *req)
{
    struct node_miner *m = req->data;
    uint64_t t0 = mono_ms();
    uint64_t nonce = m->start_nonce;
    m->found = false;
    m->hashes = 0;
    while (!atomic_load(&m->abort)) {
        if (chain_mine(&m->blk.hdr, nonce, NODE_MINE_SLICE_NONCES)) {
            m->found = true;
            m->hashes += m->blk.hdr.nonce - nonce + 1;
            break;
        }
        nonce += NODE_MINE_SLICE_NONCES;
        m->hashes += NODE_MINE_SLICE_NONCES;
        if (mono_ms() - t0 >= NODE_MINE_JOB_MS)
            break;
    }
    m->job_ms = mono_ms() - t0;
}

static void start_job(struct node_miner *m);

static void after_work_cb(uv_work_t *req, int status)
{
    struct node_miner *m = req->data;
    struct node *n = m->node;
    m->busy = false;
    if (m->job_ms > 0) {
        double r = (double)m->hashes * 1000.0 / (double)m->job_ms;
        m->rate = m->rate > 0 ? 0.7 * m->rate + 0.3 * r : r;
    }
    if (status == 0 && m->found && m->running && !n->stopping) {
        /* Only if the template still builds on the tip. */
        uint8_t tip[32];
        chain_tip(n->chain, tip);
        if (memcmp(tip, m->blk.hdr.prev, 32) == 0) {
            uint8_t hash[32];
            submit_mined(n, &m->blk, hash);
        }
    }
    chain_block_free(&m->blk);
    if (m->running && !n->stopping)
        start_job(m);
}

static void start_job(struct node_miner *m)
{
    struct node *n = m->node;
    int rc = chain_block_template(n->chain, n->mine_pk, node_now_ms(), &m->blk);
    if (rc != 0) {
        NODE_LOG(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "miner_error",
                 LF_STR("reason", chain_strerror(rc)));
        m->running = false;
        return;
    }
    atomic_store(&m->abort, false);
    m->start_nonce = sec_random_u64();
    m->work.data = m;
    if (uv_queue_work(n->loop, &m->work, work_cb, after_work_cb) != 0) {
        chain_block_free(&m->blk);
        m->running = false;
        return;
    }
    m->busy = true;
    NODE_LOG(&n->log, NODE_LOG_DEBUG, NODE_LOG_CAT_MINE, "miner_job",
             LF_UINT("height", chain_height(n->chain) + 1), LF_UINT("txs", m->blk.n_tx));
}

int node_miner_start(struct node *n)
{
    if (!n->miner) {
        n->miner = calloc(1, sizeof *n->miner);
        if (!n->miner)
            return -1;
        n->miner->node = n;
        atomic_init(&n->miner->abort, false);
    }
    if (n->miner->running)
        return 0;
    n->miner->running = true;
    if (!n->miner->busy)
        start_job(n->miner);
    return n->miner->running ? 0 : -1;
}

void node_miner_stop(struct node *n)
{
    if (!n->miner)
        return;
    n->miner->running = false;
    atomic_store(&n->miner->abort, true);
}

void node_miner_tip_changed(struct node *n)
{
    if (n->miner && n->miner->busy)
        atomic_store(&n->miner->abort, true);
}

bool node_miner_running(const struct node *n)
{
    return n->miner && n->miner->running;
}

double node_miner_hashrate(const struct node *n)
{
    return n->miner && n->miner->running ? n->miner->rate : 0.0;
}

void node_miner_free(struct node *n)
{
    if (!n->miner)
        return;
    if (!n->miner->busy)
        chain_block_free(&n->miner->blk);
    free(n->miner);
    n->miner = NULL;
}
