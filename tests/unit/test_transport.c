/* The v2 transport inside the core: negotiation, fallback to v1, refusal
 * of v1 (v2only), node-key allowlists, and a tampered stream. Several real
 * cores are wired back to back by a small byte-pipe driver on a fake clock
 * (not simnet, whose frame-at-a-time loss model does not fit a cipher
 * stream), so a test can read and alter every byte on the wire. */
#include "chain_helpers.h"

#include "chain/params.h"
#include "p2p/p2p.h"
#include "p2p/v2.h"

#define NODES_MAX 4
#define CONNS_MAX 16
#define PIPE_MAX (8u << 20)
#define STEP_MS 10

struct pipe { uint8_t *buf; size_t len; };

struct conn {
    bool up, closing;
    size_t a, b;               /* node indexes: a dialled b */
    uint64_t id_a, id_b;       /* the peer id at each end */
    struct pipe to_a, to_b;
    bool sent_connected;
    /* tamper: flip one byte of the b-bound stream at this offset (0: none) */
    size_t flip_at_b;
    size_t seen_b;             /* bytes that went toward b */
};

struct net;
struct node {
    struct net *net;
    size_t idx;
    struct p2p *p;
    struct chain *c;
    struct p2p_addr addr;
    char last_drop[64];        /* last reason this core gave for a disconnect */
    int drops_bad_magic, drops_v1_refused, drops_decrypt, drops_key;
    uint32_t blocks;
};

struct net {
    struct node n[NODES_MAX];
    size_t nn;
    struct conn c[CONNS_MAX];
    size_t nc;
    uint64_t now, next_id;
    /* every byte sent, per direction, for plaintext checks */
    struct pipe wire;
};

static void pipe_add(struct pipe *p, const uint8_t *b, size_t n)
{
    assert_true(p->len + n <= PIPE_MAX);
    if (!p->buf)
        p->buf = malloc(PIPE_MAX);
    assert_non_null(p->buf);
    memcpy(p->buf + p->len, b, n);
    p->len += n;
}

static struct conn *conn_of(struct node *nd, uint64_t peer, bool *is_a)
{
    struct net *net = nd->net;
    for (size_t i = 0; i < net->nc; i++) {
        struct conn *c = &net->c[i];
        if (c->a == nd->idx && c->id_a == peer) { *is_a = true; return c; }
        if (c->b == nd->idx && c->id_b == peer) { *is_a = false; return c; }
    }
    return NULL;
}

static int io_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    struct node *nd = ctx;
    bool is_a;
    struct conn *c = conn_of(nd, peer, &is_a);
    if (!c || !c->up)
        return -1;
    pipe_add(is_a ? &c->to_b : &c->to_a, buf, len);
    pipe_add(&nd->net->wire, buf, len);
    return 0;
}

static void io_connect(void *ctx, const struct p2p_addr *addr)
{
    struct node *nd = ctx;
    struct net *net = nd->net;
    for (size_t j = 0; j < net->nn; j++)
        if (p2p_addr_equal(&net->n[j].addr, addr)) {
            assert_true(net->nc < CONNS_MAX);
            struct conn *c = &net->c[net->nc++];
            memset(c, 0, sizeof *c);
            c->a = nd->idx;
            c->b = j;
            c->id_a = ++net->next_id;
            c->id_b = ++net->next_id;
            c->up = true;
            return;
        }
    fail_msg("connect to an unknown address");
}

static void io_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    struct node *nd = ctx;
    bool is_a;
    struct conn *c = conn_of(nd, peer, &is_a);
    snprintf(nd->last_drop, sizeof nd->last_drop, "%s", reason);
    nd->drops_bad_magic += strcmp(reason, "bad-magic") == 0;
    nd->drops_v1_refused += strcmp(reason, "v1-refused") == 0;
    nd->drops_decrypt += strcmp(reason, "v2-decrypt-failed") == 0;
    nd->drops_key += strstr(reason, "peer-key") != NULL;
    if (c && c->up) {
        c->up = false;
        c->closing = true;     /* tell the other end in the pump */
        /* which end closed: remember by zeroing that end's id */
        if (is_a) c->id_a = 0; else c->id_b = 0;
    }
}

static void ev_block(void *ctx, const uint8_t hash[32], uint32_t height, uint64_t peer,
                     size_t size, size_t txs, uint64_t time_ms, bool first_seen)
{
    (void)hash, (void)height, (void)peer, (void)size, (void)txs, (void)time_ms;
    struct node *nd = ctx;
    nd->blocks += first_seen;
}

static const struct p2p_io IO = { .send = io_send, .connect = io_connect,
                                  .disconnect = io_disconnect };

static size_t add_node(struct net *net, enum p2p_v2_mode mode, const uint8_t *node_sk,
                       const uint8_t (*allowed)[32], size_t n_allowed)
{
    struct node *nd = &net->n[net->nn];
    memset(nd, 0, sizeof *nd);
    nd->net = net;
    nd->idx = net->nn++;
    nd->c = topen(&chain_params_regtest, NULL);
    uint8_t ip[4] = {10, 0, 0, (uint8_t)(nd->idx + 1)};
    p2p_addr_from_ipv4(&nd->addr, ip, 8333);
    struct p2p_io io = IO;
    io.ctx = nd;
    struct p2p_events ev = { .ctx = nd, .block_received = ev_block };
    struct p2p_config cfg;
    p2p_config_init(&cfg);
    cfg.chain = nd->c;
    cfg.io = &io;
    cfg.events = &ev;
    cfg.seed = 1000 + nd->idx;
    cfg.listen_port = 8333;
    cfg.outbound_target = 0;
    cfg.v2_mode = mode;
    cfg.node_sk = node_sk;
    cfg.allowed_keys = allowed;
    cfg.n_allowed_keys = n_allowed;
    assert_int_equal(p2p_create(&nd->p, &cfg, net->now), 0);
    return nd->idx;
}

static void net_init(struct net *net)
{
    memset(net, 0, sizeof *net);
    net->now = T_NOW(&chain_params_regtest);
}

static void net_free(struct net *net)
{
    for (size_t i = 0; i < net->nn; i++) {
        p2p_destroy(net->n[i].p);
        chain_close(net->n[i].c);
    }
    for (size_t i = 0; i < net->nc; i++) {
        free(net->c[i].to_a.buf);
        free(net->c[i].to_b.buf);
    }
    free(net->wire.buf);
}

/* Delivers everything queued, connects and closes, until quiet. */
static void pump(struct net *net)
{
    for (int round = 0; round < 1000; round++) {
        bool busy = false;
        for (size_t i = 0; i < net->nc; i++) {
            struct conn *c = &net->c[i];
            struct node *A = &net->n[c->a], *B = &net->n[c->b];
            if (c->up && !c->sent_connected) {
                c->sent_connected = true;
                p2p_on_connected(A->p, c->id_a, &B->addr, false, net->now);
                if (c->up)
                    p2p_on_connected(B->p, c->id_b, &A->addr, true, net->now);
                busy = true;
            }
            if (c->closing) {
                c->closing = false;
                if (c->id_a) p2p_on_disconnected(A->p, c->id_a, "closed", net->now);
                if (c->id_b) p2p_on_disconnected(B->p, c->id_b, "closed", net->now);
                busy = true;
            }
            if (c->up && c->to_b.len) {
                size_t n = c->to_b.len;
                uint8_t *b = malloc(n);
                memcpy(b, c->to_b.buf, n);
                c->to_b.len = 0;
                if (c->flip_at_b && c->seen_b <= c->flip_at_b && c->flip_at_b < c->seen_b + n)
                    b[c->flip_at_b - c->seen_b] ^= 0x01;
                c->seen_b += n;
                p2p_on_bytes(B->p, c->id_b, b, n, net->now);
                if (c->up)
                    p2p_on_sent(A->p, c->id_a, n, net->now);
                free(b);
                busy = true;
            }
            if (c->up && c->to_a.len) {
                size_t n = c->to_a.len;
                uint8_t *b = malloc(n);
                memcpy(b, c->to_a.buf, n);
                c->to_a.len = 0;
                p2p_on_bytes(A->p, c->id_a, b, n, net->now);
                if (c->up)
                    p2p_on_sent(B->p, c->id_b, n, net->now);
                free(b);
                busy = true;
            }
        }
        if (!busy)
            return;
    }
    fail_msg("network never went quiet");
}

static void run_for(struct net *net, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += STEP_MS) {
        net->now += STEP_MS;
        for (size_t i = 0; i < net->nn; i++)
            p2p_on_tick(net->n[i].p, net->now);
        pump(net);
    }
}

/* The established peer of node i at node j's address, or false. */
static bool peer_at(struct net *net, size_t i, size_t j, struct p2p_peer_info *out)
{
    struct p2p_peer_info pi[8];
    size_t n = p2p_get_peers(net->n[i].p, pi, 8);
    for (size_t k = 0; k < n; k++)
        if (pi[k].established && p2p_addr_same_ip(&pi[k].addr, &net->n[j].addr)) {
            *out = pi[k];
            return true;
        }
    return false;
}

static void mine_at(struct net *net, size_t i, uint8_t salt, uint8_t hash[32])
{
    struct chain_block b;
    uint8_t tip[32];
    chain_tip(net->n[i].c, tip);
    tmk_block(net->n[i].c, tip, NULL, 0, salt, &b);
    tblock_hash(&b, hash);
    assert_true(p2p_submit_block(net->n[i].p, &b, net->now) > 0);
    chain_block_free(&b);
}

static bool contains(const struct pipe *p, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= p->len; i++)
        if (memcmp(p->buf + i, needle, n) == 0)
            return true;
    return false;
}

/* Two v2 nodes, a dialled b, handshake done. */
static void v2_pair(struct net *net, size_t *a, size_t *b)
{
    net_init(net);
    *a = add_node(net, P2P_V2_ON, NULL, NULL, 0);
    *b = add_node(net, P2P_V2_ON, NULL, NULL, 0);
    assert_int_equal(p2p_connect_addr(net->n[*a].p, &net->n[*b].addr, net->now), 0);
    run_for(net, 2000);
}

static void test_v2_pair_relays_and_hides_everything(void **state)
{
    (void)state;
    struct net net;
    size_t a, b;
    v2_pair(&net, &a, &b);
    struct p2p_peer_info pa, pb;
    assert_true(peer_at(&net, a, b, &pa));
    assert_true(peer_at(&net, b, a, &pb));
    assert_true(pa.v2 && pb.v2);
    assert_memory_equal(pa.session_id, pb.session_id, 32);
    uint8_t h[32];
    mine_at(&net, a, 1, h);
    run_for(&net, 1000);
    assert_true(chain_have_block(net.n[b].c, h));
    /* Nothing readable on the wire: no magic, no command names, no block hash. */
    uint8_t magic[4];
    le32_put(magic, chain_params_regtest.magic);
    assert_true(net.wire.len > 200);
    assert_false(contains(&net.wire, magic, 4));
    assert_false(contains(&net.wire, "version", 7));
    assert_false(contains(&net.wire, "headers", 7));
    assert_false(contains(&net.wire, h, 32));
    net_free(&net);
}

static void test_v1_peer_gets_v1_and_the_choice_is_remembered(void **state)
{
    (void)state;
    struct net net;
    net_init(&net);
    size_t a = add_node(&net, P2P_V2_ON, NULL, NULL, 0);
    size_t old = add_node(&net, P2P_V2_OFF, NULL, NULL, 0);
    assert_int_equal(p2p_connect_addr(net.n[a].p, &net.n[old].addr, net.now), 0);
    run_for(&net, 3000);
    struct p2p_peer_info pi = { 0 };
    assert_true(peer_at(&net, a, old, &pi));
    assert_false(pi.v2);
    assert_int_equal(net.n[old].drops_bad_magic, 1);   /* our first, v2, attempt */
    uint8_t h[32];
    mine_at(&net, a, 2, h);
    run_for(&net, 1000);
    assert_true(chain_have_block(net.n[old].c, h));
    mine_at(&net, old, 3, h);
    run_for(&net, 1000);
    assert_true(chain_have_block(net.n[a].c, h));
    /* Reconnecting goes straight to v1: no second failed attempt. */
    assert_int_equal(p2p_disconnect_peer(net.n[a].p, pi.id, net.now), 0);
    pump(&net);
    run_for(&net, 5000);
    assert_true(peer_at(&net, a, old, &pi));
    assert_int_equal(net.n[old].drops_bad_magic, 1);
    /* And a v1 node dialling a v2 node is detected and served as v1. */
    size_t old2 = add_node(&net, P2P_V2_OFF, NULL, NULL, 0);
    assert_int_equal(p2p_connect_addr(net.n[old2].p, &net.n[a].addr, net.now), 0);
    run_for(&net, 2000);
    assert_true(peer_at(&net, a, old2, &pi));
    assert_false(pi.v2);
    net_free(&net);
}

static void test_v2only_refuses_v1_both_ways(void **state)
{
    (void)state;
    struct net net;
    net_init(&net);
    size_t strict = add_node(&net, P2P_V2_ONLY, NULL, NULL, 0);
    size_t old = add_node(&net, P2P_V2_OFF, NULL, NULL, 0);
    assert_int_equal(p2p_connect_addr(net.n[old].p, &net.n[strict].addr, net.now), 0);
    assert_int_equal(p2p_connect_addr(net.n[strict].p, &net.n[old].addr, net.now), 0);
    run_for(&net, 10000);
    struct p2p_peer_info pi = { 0 };
    assert_false(peer_at(&net, strict, old, &pi));
    assert_false(peer_at(&net, old, strict, &pi));
    assert_true(net.n[strict].drops_v1_refused > 0);
    net_free(&net);
}

static void test_allowlist_and_expected_keys(void **state)
{
    (void)state;
    struct tkey ka, kb, kx;
    tkey(&ka, 1);
    tkey(&kb, 2);
    tkey(&kx, 3);
    static uint8_t allow[1][32];
    memcpy(allow[0], ka.pk, 32);
    const uint8_t (*allowed)[32] = (const uint8_t (*)[32])allow;
    struct net net;
    net_init(&net);
    size_t guard = add_node(&net, P2P_V2_ON, kb.sk, allowed, 1);
    size_t friend = add_node(&net, P2P_V2_ON, ka.sk, NULL, 0);
    size_t stranger = add_node(&net, P2P_V2_ON, kx.sk, NULL, 0);
    size_t anon = add_node(&net, P2P_V2_ON, NULL, NULL, 0);
    assert_int_equal(p2p_connect_addr(net.n[friend].p, &net.n[guard].addr, net.now), 0);
    assert_int_equal(p2p_connect_addr(net.n[stranger].p, &net.n[guard].addr, net.now), 0);
    assert_int_equal(p2p_connect_addr(net.n[anon].p, &net.n[guard].addr, net.now), 0);
    run_for(&net, 3000);
    struct p2p_peer_info pi = { 0 };
    assert_true(peer_at(&net, guard, friend, &pi));
    assert_true(pi.peer_key_known);
    assert_memory_equal(pi.peer_key, ka.pk, 32);
    assert_false(peer_at(&net, guard, stranger, &pi));
    assert_false(peer_at(&net, guard, anon, &pi));
    assert_true(net.n[guard].drops_key >= 2);
    net_free(&net);

    /* --connect=PUBKEY@host: only the node with that key is kept. */
    net_init(&net);
    size_t dialer = add_node(&net, P2P_V2_ON, NULL, NULL, 0);
    size_t target = add_node(&net, P2P_V2_ON, kb.sk, NULL, 0);
    size_t other = add_node(&net, P2P_V2_ON, kx.sk, NULL, 0);
    assert_int_equal(p2p_connect_addr_key(net.n[dialer].p, &net.n[target].addr, kb.pk, net.now), 0);
    assert_int_equal(p2p_connect_addr_key(net.n[dialer].p, &net.n[other].addr, kb.pk, net.now), 0);
    run_for(&net, 3000);
    assert_true(peer_at(&net, dialer, target, &pi));
    assert_memory_equal(pi.peer_key, kb.pk, 32);
    assert_false(peer_at(&net, dialer, other, &pi));
    assert_true(net.n[dialer].drops_key >= 1);
    net_free(&net);
}

static void test_flipped_byte_disconnects_and_delivers_nothing(void **state)
{
    (void)state;
    struct net net;
    size_t a, b;
    v2_pair(&net, &a, &b);
    struct p2p_peer_info pi = { 0 };
    assert_true(peer_at(&net, b, a, &pi));
    /* Flip a byte inside the next thing a sends b: the block. */
    struct conn *c = &net.c[0];
    c->flip_at_b = c->seen_b + 100;
    uint8_t h[32];
    mine_at(&net, a, 4, h);
    pump(&net);
    assert_int_equal(net.n[b].drops_decrypt, 1);
    assert_false(chain_have_block(net.n[b].c, h));
    assert_int_equal(net.n[b].blocks, 0);
    net_free(&net);
}

int main(void)
{
    assert_int_equal(sig_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_pair_relays_and_hides_everything),
        cmocka_unit_test(test_v1_peer_gets_v1_and_the_choice_is_remembered),
        cmocka_unit_test(test_v2only_refuses_v1_both_ways),
        cmocka_unit_test(test_allowlist_and_expected_keys),
        cmocka_unit_test(test_flipped_byte_disconnects_and_delivers_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
