/* Two (or three) processes relay a tx and a block over real TCP on the
 * loopback, each a p2p core with an in-memory chain driven by node/net.c.
 *
 *   miner:    listens on 127.0.0.1 and ::1 (ephemeral ports), reports them
 *             on a pipe, waits for its peers, submits a tx, then mines a
 *             block holding it; runs until killed.
 *   follower: connects (IPv4 or IPv6), exits 0 once it has seen the tx in
 *             its mempool and then the block at height 1 holding it.
 *   main:     forks the miner and the followers, waits for the followers
 *             with a bounded total time, stops the miner by PID.
 * Exit status 0 = pass, 77 = skipped (no loopback at all). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "chain/params.h"
#include "chain/pow.h"
#include "chain/chain.h"
#include "crypto/sig.h"
#include "node/net.h"
#include "p2p/p2p.h"

#define TOTAL_TIMEOUT_S 40
#define CHILD_TIMEOUT_S 30
#define POLL_MS 50

struct proc {
    uv_loop_t loop;
    uv_timer_t poll;
    struct chain *chain;
    struct node_net *net;
    struct p2p *p2p;
    int role;                /* 0 miner, 1 follower */
    size_t want_peers;
    int stage;
    uint64_t stage_ms;
    bool saw_tx;
    int result;
};

static size_t established(struct p2p *p)
{
    struct p2p_peer_info info[8];
    size_t n = p2p_get_peers(p, info, 8), k = 0;
    for (size_t i = 0; i < n; i++)
        k += info[i].established;
    return k;
}

static void finish(struct proc *pr, int result)
{
    pr->result = result;
    uv_timer_stop(&pr->poll);
    uv_close((uv_handle_t *)&pr->poll, NULL);
    node_net_close(pr->net);
}

static void miner_step(struct proc *pr, uint64_t now)
{
    if (pr->stage == 0 && established(pr->p2p) >= pr->want_peers) {
        uint8_t pk[32], sk[64];
        struct chain_tx tx;
        chain_dev_key(pk, sk);
        memset(&tx, 0, sizeof(tx));
        tx.version = TX_VERSION;
        memcpy(tx.from, pk, 32);
        memset(tx.to, 0x11, 32);
        tx.amount = 7 * COIN;
        tx.fee = chain_params_regtest.min_fee;
        tx.nonce = chain_account_next_nonce(pr->chain, pk);
        chain_tx_sign(&tx, sk);
        int r = p2p_submit_tx(pr->p2p, &tx, now);
        fprintf(stderr, "miner: submitted tx (%d) to %zu peers\n", r, established(pr->p2p));
        pr->stage = 1;
        pr->stage_ms = now;
    } else if (pr->stage == 1 && now - pr->stage_ms >= 1000) {
        struct chain_block b;
        uint8_t pk[32] = { 0x77 };
        if (chain_block_template(pr->chain, pk, now, &b) != 0)
            return;
        uint64_t start = 0;
        while (!chain_mine(&b.hdr, start, 10000))
            start += 10000;
        int r = p2p_submit_block(pr->p2p, &b, now);
        fprintf(stderr, "miner: mined block with %zu txs (%d)\n", b.n_tx, r);
        chain_block_free(&b);
        pr->stage = 2;
    }
}

static void follower_step(struct proc *pr)
{
    if (chain_mempool_count(pr->chain) > 0 && !pr->saw_tx) {
        pr->saw_tx = true;
        fprintf(stderr, "follower: got the tx\n");
    }
    if (pr->saw_tx && chain_height(pr->chain) >= 1) {
        uint8_t h[32];
        struct chain_block b;
        if (chain_hash_at(pr->chain, 1, h) && chain_get_block(pr->chain, h, &b) == 0) {
            size_t n = b.n_tx;
            chain_block_free(&b);
            fprintf(stderr, "follower: got block 1 with %zu txs\n", n);
            finish(pr, n == 2 && chain_mempool_count(pr->chain) == 0 ? 0 : 1);
        }
    }
}

static void poll_cb(uv_timer_t *t)
{
    struct proc *pr = t->data;
    uint64_t now = node_net_now_ms();
    if (pr->role == 0)
        miner_step(pr, now);
    else
        follower_step(pr);
    node_net_kick(pr->net);
}

static int proc_init(struct proc *pr, int role, const char *name, uint64_t seed)
{
    memset(pr, 0, sizeof(*pr));
    pr->role = role;
    pr->result = 1;
    uv_loop_init(&pr->loop);
    struct chain_config cc = { .params = &chain_params_regtest };
    if (chain_open(&pr->chain, &cc, node_net_now_ms()) != 0)
        return -1;
    if (node_net_create(&pr->net, &pr->loop) != 0)
        return -1;
    struct p2p_config pc;
    p2p_config_init(&pc);
    pc.chain = pr->chain;
    pc.io = node_net_io(pr->net);
    pc.name = name;
    pc.seed = seed;
    pc.outbound_target = 0;
    if (p2p_create(&pr->p2p, &pc, node_net_now_ms()) != 0)
        return -1;
    node_net_attach(pr->net, pr->p2p);
    uv_timer_init(&pr->loop, &pr->poll);
    pr->poll.data = pr;
    uv_timer_start(&pr->poll, poll_cb, POLL_MS, POLL_MS);
    return 0;
}

static int proc_run(struct proc *pr)
{
    uv_run(&pr->loop, UV_RUN_DEFAULT);
    p2p_destroy(pr->p2p);
    node_net_free(pr->net);
    chain_close(pr->chain);
    uv_loop_close(&pr->loop);
    return pr->result;
}

static int run_miner(int fd, size_t want_peers)
{
    struct proc pr;
    if (proc_init(&pr, 0, "miner", 1) != 0)
        return 1;
    pr.want_peers = want_peers;
    uint16_t ports[2] = { 0, 0 };
    if (node_net_listen(pr.net, "127.0.0.1", 0) == 0)
        ports[0] = node_net_bound_port(pr.net, 0);
    int i6 = ports[0] ? 1 : 0;
    if (node_net_listen(pr.net, "::1", 0) == 0)
        ports[1] = node_net_bound_port(pr.net, i6);
    if (write(fd, ports, sizeof(ports)) != (ssize_t)sizeof(ports))
        return 1;
    close(fd);
    return proc_run(&pr);
}

static int run_follower(const char *addr, const char *name, uint64_t seed)
{
    struct proc pr;
    struct p2p_addr a;
    alarm(CHILD_TIMEOUT_S);
    if (proc_init(&pr, 1, name, seed) != 0 || p2p_addr_parse(&a, addr, 0) != 0)
        return 1;
    p2p_connect_addr(pr.p2p, &a, node_net_now_ms());
    node_net_kick(pr.net);
    int r = proc_run(&pr);
    fprintf(stderr, "%s: %s\n", name, r == 0 ? "pass" : "FAIL");
    return r;
}

static pid_t spawn_follower(const char *addr, const char *name, uint64_t seed)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(run_follower(addr, name, seed));
    return pid;
}

/* Waits for pid until deadline (seconds since the epoch); -1 on timeout. */
static int wait_until(pid_t pid, time_t deadline)
{
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (r < 0 && errno != EINTR)
            return -1;
        if (time(NULL) >= deadline)
            return -1;
        usleep(50000);
    }
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    time_t deadline = time(NULL) + TOTAL_TIMEOUT_S;
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    /* Probe IPv6 first, so the miner knows how many peers to wait for. */
    uv_loop_t probe_loop;
    uv_loop_init(&probe_loop);
    struct node_net *probe;
    node_net_create(&probe, &probe_loop);
    bool v6 = node_net_listen(probe, "::1", 0) == 0;
    node_net_close(probe);
    uv_run(&probe_loop, UV_RUN_DEFAULT);
    node_net_free(probe);
    uv_loop_close(&probe_loop);

    size_t want = v6 ? 2 : 1;
    pid_t miner = fork();
    if (miner == 0) {
        close(fds[0]);
        _exit(run_miner(fds[1], want));
    }
    close(fds[1]);
    uint16_t ports[2];
    if (read(fds[0], ports, sizeof(ports)) != (ssize_t)sizeof(ports) || ports[0] == 0) {
        kill(miner, SIGKILL);
        waitpid(miner, NULL, 0);
        fprintf(stderr, "no IPv4 loopback: skipped\n");
        return 77;
    }
    char a4[64], a6[64];
    snprintf(a4, sizeof(a4), "127.0.0.1:%u", (unsigned)ports[0]);
    snprintf(a6, sizeof(a6), "[::1]:%u", (unsigned)ports[1]);
    pid_t f4 = spawn_follower(a4, "follower4", 2);
    pid_t f6 = v6 && ports[1] ? spawn_follower(a6, "follower6", 3) : 0;
    int r4 = wait_until(f4, deadline);
    int r6 = f6 ? wait_until(f6, deadline) : 0;
    /* Stop everything we started, by PID. */
    if (r4 < 0)
        kill(f4, SIGKILL), waitpid(f4, NULL, 0);
    if (f6 && r6 < 0)
        kill(f6, SIGKILL), waitpid(f6, NULL, 0);
    kill(miner, SIGTERM);
    if (wait_until(miner, time(NULL) + 5) < 0)
        kill(miner, SIGKILL), waitpid(miner, NULL, 0);
    fprintf(stderr, "ipv4 follower: %d, ipv6 follower: %s\n", r4,
            f6 ? (r6 == 0 ? "0" : "failed") : "skipped");
    return r4 == 0 && r6 == 0 ? 0 : 1;
}
