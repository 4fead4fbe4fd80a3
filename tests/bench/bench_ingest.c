/* Tx ingest over P2P, v1 against v2: two real cores in one thread, wired
 * back to back by byte pipes on a fake clock (no sockets, no libuv). Node A
 * gets BENCH_INGEST_TXS signed txs from distinct senders by submission and
 * announces them; node B pulls and validates every one. The figure is txs
 * per CPU second of the pair (process CPU time, not wall time: the fake
 * clock's pacing and other load on the machine do not count), so the
 * cipher is paid on both ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "chain/chain.h"
#include "crypto/sig.h"
#include "p2p/p2p.h"

#define BENCH_INGEST_TXS 5000
#define BENCH_STEP_MS 10
#define BENCH_PIPE_MAX (64u << 20)

struct bnode;
struct bpipe { uint8_t *buf; size_t len; };
struct bnet {
    struct bnode *n[2];
    struct bpipe to[2];          /* to[i]: bytes toward node i */
    uint64_t id[2];              /* peer id at node i */
    bool up, announced;
    uint64_t now;
};
struct bnode { struct bnet *net; int i; struct p2p *p; struct chain *c; struct p2p_addr addr; };

static int b_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct bnode *nd = ctx;
    struct bpipe *q = &nd->net->to[1 - nd->i];
    (void)peer;
    if (!nd->net->up || q->len + len > BENCH_PIPE_MAX)
        return -1;
    memcpy(q->buf + q->len, buf, len);
    q->len += len;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void b_connect(void *ctx, const struct p2p_addr *a) { (void)a; ((struct bnode *)ctx)->net->up = true; }
static void b_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    (void)peer;
    fprintf(stderr, "bench ingest: disconnect (%s)\n", reason);
    ((struct bnode *)ctx)->net->up = false;
}

static void b_pump(struct bnet *net)
{
    static uint8_t tmp[BENCH_PIPE_MAX];
    if (net->up && !net->announced) {
        net->announced = true;
        p2p_on_connected(net->n[0]->p, net->id[0], &net->n[1]->addr, false, net->now);
        p2p_on_connected(net->n[1]->p, net->id[1], &net->n[0]->addr, true, net->now);
    }
    for (bool busy = true; busy && net->up;) {
        busy = false;
        for (int i = 0; i < 2; i++) {
            size_t n = net->to[i].len;
            if (!n)
                continue;
            memcpy(tmp, net->to[i].buf, n);
            net->to[i].len = 0;
            p2p_on_bytes(net->n[i]->p, net->id[i], tmp, n, net->now);
            p2p_on_sent(net->n[1 - i]->p, net->id[1 - i], n, net->now);
            busy = true;
        }
    }
}

static void b_step(struct bnet *net)
{
    net->now += BENCH_STEP_MS;
    for (int i = 0; i < 2; i++)
        p2p_on_tick(net->n[i]->p, net->now);
    b_pump(net);
}

/* A block paying 1 coin from the dev key to each of n fresh keys. */
static int fund(struct chain *c, const uint8_t (*pks)[32], size_t n, uint64_t now,
                struct chain_block *b)
{
    const struct chain_params *P = chain_params(c);
    uint8_t dpk[32], dsk[64], tip[32];
    chain_dev_key(dpk, dsk);
    chain_tip(c, tip);
    struct chain_header ph;
    uint32_t h = 0;
    if (!chain_get_header(c, tip, &ph, &h))
        return -1;
    memset(b, 0, sizeof *b);
    b->n_tx = n + 1;
    b->txs = calloc(n + 1, sizeof *b->txs);
    if (!b->txs)
        return -1;
    uint64_t fees = 0;
    for (size_t i = 0; i < n; i++) {
        struct chain_tx *t = &b->txs[i + 1];
        t->version = TX_VERSION;
        memcpy(t->to, pks[i], 32);
        t->amount = 100000000;
        t->fee = P->min_fee;
        t->nonce = i;
        chain_tx_sign(t, dsk);
        fees += t->fee;
    }
    struct chain_tx *cb = &b->txs[0];
    cb->version = TX_VERSION;
    memset(cb->to, 0x11, 32);
    cb->amount = P->reward + fees;
    cb->nonce = h + 1;
    b->hdr.version = BLOCK_VERSION;
    memcpy(b->hdr.prev, tip, 32);
    b->hdr.time_ms = now - 1000;
    b->hdr.bits = P->pow_limit_bits;
    bool mutated;
    if (chain_block_merkle(b, b->hdr.merkle_root, &mutated) != 0 || !chain_mine(&b->hdr, 0, 1u << 30))
        return -1;
    (void)dpk;
    return 0;
}

/* Fills *tx_rate (txs per CPU second of the pair) and *block_ms (CPU ms
 * of the pair to relay one block of those txs, A mining it, B connecting
 * it from the mempool it already holds); -1 on failure. */
static void run(enum p2p_v2_mode mode, const struct chain_block *funding,
                const struct chain_tx *txs, size_t n, uint64_t start, double *tx_rate,
                double *block_ms)
{
    *tx_rate = *block_ms = -1;
    struct bnet net = { .now = start, .id = { 1, 2 } };
    struct bnode nodes[2];
    for (int i = 0; i < 2; i++) {
        struct bnode *nd = &nodes[i];
        memset(nd, 0, sizeof *nd);
        nd->net = &net;
        nd->i = i;
        net.n[i] = nd;
        net.to[i].buf = malloc(BENCH_PIPE_MAX);
        struct chain_config cc = { .params = &chain_params_regtest };
        struct chain_result r;
        if (!net.to[i].buf || chain_open(&nd->c, &cc, start) != 0 ||
            chain_accept_block(nd->c, funding, start, &r) != 0)
            return;
        uint8_t ip[4] = {10, 0, 0, (uint8_t)(i + 1)};
        p2p_addr_from_ipv4(&nd->addr, ip, 8333);
        struct p2p_io io = { .ctx = nd, .send = b_send, .connect = b_connect,
                             .disconnect = b_disconnect };
        struct p2p_config cfg;
        p2p_config_init(&cfg);
        cfg.chain = nd->c;
        cfg.io = &io;
        cfg.seed = 7 + (uint64_t)i;
        cfg.outbound_target = 0;
        cfg.v2_mode = mode;
        if (p2p_create(&nd->p, &cfg, start) != 0)
            return;
    }
    p2p_connect_addr(nodes[0].p, &nodes[1].addr, net.now);
    for (int k = 0; k < 300 && !p2p_peer_count(nodes[1].p); k++)
        b_step(&net);
    for (int k = 0; k < 200; k++)
        b_step(&net);                       /* handshake done, sync settled */
    double t0 = cpu_now();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += p2p_submit_tx(nodes[0].p, &txs[i], net.now) > 0;
    for (int k = 0; k < 100000 && chain_mempool_count(nodes[1].c) < n; k++)
        b_step(&net);
    double dt = cpu_now() - t0;
    if (ok == n && chain_mempool_count(nodes[1].c) == n)
        *tx_rate = (double)n / dt;
    struct chain_block b;
    uint8_t pk[32] = {0x22};
    uint32_t h0 = chain_height(nodes[1].c);
    if (*tx_rate > 0 && chain_block_template(nodes[0].c, pk, net.now, &b) == 0) {
        if (chain_mine(&b.hdr, 0, 1u << 30)) {
            t0 = cpu_now();
            p2p_submit_block(nodes[0].p, &b, net.now);
            for (int k = 0; k < 1000 && chain_height(nodes[1].c) == h0; k++)
                b_step(&net);
            if (chain_height(nodes[1].c) == h0 + 1)
                *block_ms = 1000.0 * (cpu_now() - t0);
        }
        chain_block_free(&b);
    }
    for (int i = 0; i < 2; i++) {
        p2p_destroy(nodes[i].p);
        chain_close(nodes[i].c);
        free(net.to[i].buf);
    }
}

int bench_ingest_prepare(size_t n, uint64_t start, struct chain_block *funding,
                         struct chain_tx **out)
{
    uint8_t (*pks)[32] = calloc(n, 32);
    uint8_t (*sks)[64] = calloc(n, 64);
    struct chain_tx *txs = calloc(n, sizeof *txs);
    struct chain *c = NULL;
    struct chain_config cc = { .params = &chain_params_regtest };
    int rc = -1;
    if (!pks || !sks || !txs || chain_open(&c, &cc, start) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        sig_keypair_random(pks[i], sks[i]);
    if (fund(c, (const uint8_t (*)[32])pks, n, start, funding) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct chain_tx *t = &txs[i];
        t->version = TX_VERSION;
        memcpy(t->to, pks[(i + 1) % n], 32);
        t->amount = 1000;
        t->fee = chain_params_regtest.min_fee;
        t->nonce = 0;
        chain_tx_sign(t, sks[i]);
    }
    *out = txs;
    txs = NULL;
    rc = 0;
out:
    chain_close(c);
    free(pks);
    free(sks);
    free(txs);
    return rc;
}

void bench_ingest(void)
{
    const uint64_t start = chain_params_regtest.genesis_time_ms + 100000000ull;
    struct chain_block funding;
    struct chain_tx *txs;
    if (bench_ingest_prepare(BENCH_INGEST_TXS, start, &funding, &txs) != 0) {
        printf("bench_ingest: setup failed\n");
        return;
    }
    /* Interleaved, best of three each: the machine is shared. */
    double best[2] = {0, 0}, blk[2] = {1e18, 1e18};
    for (int round = 0; round < 3; round++)
        for (int m = 0; m < 2; m++) {
            double r, bm;
            run(m ? P2P_V2_ON : P2P_V2_OFF, &funding, txs, BENCH_INGEST_TXS, start, &r, &bm);
            if (r > best[m])
                best[m] = r;
            if (bm > 0 && bm < blk[m])
                blk[m] = bm;
        }
    printf("%-44s %14.0f tx/cpu-s  (%d txs, both ends, one thread, best of 3)\n",
           "p2p ingest, v1 (plaintext)", best[0], BENCH_INGEST_TXS);
    printf("%-44s %14.0f tx/cpu-s  (cost of encryption: %.1f %%)\n", "p2p ingest, v2 (encrypted)",
           best[1], best[0] > 0 ? 100.0 * (1.0 - best[1] / best[0]) : 0.0);
    printf("%-44s %14.2f ms/block (%d txs, known to B; both ends)\n",
           "block relay CPU, v1", blk[0], BENCH_INGEST_TXS);
    printf("%-44s %14.2f ms/block (cost of encryption: %.1f %%)\n", "block relay CPU, v2",
           blk[1], blk[0] > 0 ? 100.0 * (blk[1] / blk[0] - 1.0) : 0.0);
    chain_block_free(&funding);
    free(txs);
}
