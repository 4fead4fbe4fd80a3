/* p2p/p2p.c peer handling, one core against a scripted remote: handshake
 * and its timeout, ping/idle timeouts, misbehaviour scores and bans,
 * oversize and garbage input, inbound cap, flow control, events. */
#include <stdio.h>

#include "p2p_fake.h"
#include "p2p/util.h"

static void test_handshake_inbound(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.9:5000", 0);
    p2p_on_connected(f->p, 1, &a, true, T0);
    /* Inbound: we wait for its version. */
    assert_int_equal(f->out_len, 0);
    send_version(f, 1, 99, "/gossipd:0.1.0(them)/", T0);
    assert_int_equal(sent_count(f, P2P_CMD_VERSION), 1);
    assert_int_equal(sent_count(f, P2P_CMD_VERACK), 1);
    assert_int_equal(f->connected_ev, 0);
    frame(f, 1, P2P_CMD_VERACK, NULL, 0, T0);
    assert_int_equal(f->connected_ev, 1);
    /* After the handshake: sendheaders, getheaders, a recon round. */
    assert_int_equal(sent_count(f, P2P_CMD_SENDHEADERS), 1);
    assert_int_equal(sent_count(f, P2P_CMD_GETHEADERS), 1);
    assert_int_equal(sent_count(f, P2P_CMD_RECON), 1);
    assert_int_equal(sent_count(f, P2P_CMD_GETADDR), 0);   /* only to outbound */
    struct p2p_peer_info pi;
    assert_int_equal(p2p_get_peer(f->p, 1, &pi), 0);
    assert_string_equal(pi.name, "them");
    assert_string_equal(p2p_peer_name(f->p, 1), "them");
    assert_true(pi.inbound && pi.established);
    assert_true(pi.msgs_recv_per_cmd[P2P_CMD_VERSION] == 1);
    assert_true(pi.bytes_recv_per_cmd[P2P_CMD_VERACK] == 24);
    /* Ping is answered with the same nonce. */
    reset_out(f);
    uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    frame(f, 1, P2P_CMD_PING, nonce, 8, T0 + 1);
    assert_int_equal(sent_count(f, P2P_CMD_PONG), 1);
    assert_memory_equal(f->out + 24, nonce, 8);
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.msgs_recv[P2P_CMD_PING] == 1 && st.msgs_sent[P2P_CMD_PONG] == 1);
    assert_int_equal(st.inbound, 1);
    fake_free(f);
}

static void test_outbound_connect_and_backoff(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.2:19444", 0);
    assert_int_equal(p2p_connect_addr(f->p, &a, T0), 0);
    assert_int_equal(p2p_connect_addr(f->p, &a, T0), P2P_ERR_EXISTS);
    p2p_on_tick(f->p, T0);
    assert_int_equal(f->n_connects, 1);
    /* Failure: retried after the backoff, which doubles. */
    p2p_on_connect_failed(f->p, &a, T0 + 10);
    p2p_on_tick(f->p, T0 + 10 + P2P_RECONNECT_MIN_MS - 1);
    assert_int_equal(f->n_connects, 1);
    p2p_on_tick(f->p, T0 + 10 + P2P_RECONNECT_MIN_MS);
    assert_int_equal(f->n_connects, 2);
    p2p_on_connect_failed(f->p, &a, T0 + 2000);
    p2p_on_tick(f->p, T0 + 2000 + P2P_RECONNECT_MIN_MS);
    assert_int_equal(f->n_connects, 2);
    p2p_on_tick(f->p, T0 + 2000 + 2 * P2P_RECONNECT_MIN_MS);
    assert_int_equal(f->n_connects, 3);
    /* Connected: outbound sends version first, and getaddr after. */
    p2p_on_connected(f->p, 5, &a, false, T0 + 5000);
    assert_int_equal(sent_count(f, P2P_CMD_VERSION), 1);
    send_version(f, 5, 77, "/x/", T0 + 5000);
    frame(f, 5, P2P_CMD_VERACK, NULL, 0, T0 + 5000);
    assert_int_equal(sent_count(f, P2P_CMD_GETADDR), 1);
    assert_string_equal(p2p_peer_name(f->p, 5), "");
    /* The remote closes; we reconnect (persistent). */
    p2p_on_disconnected(f->p, 5, "eof", T0 + 6000);
    assert_int_equal(f->disconnected_ev, 1);
    p2p_on_tick(f->p, T0 + 6000 + P2P_RECONNECT_MIN_MS);
    assert_int_equal(f->n_connects, 4);
    fake_free(f);
}

/* The configured connections' table grows with use (P2P_ADDED_INITIAL_ENTRIES
 * at create): every one of P2P_MAX_ADDED_PEERS is kept, the first ones are
 * still found after the table moved, one more is refused until one goes. */
static void test_added_table_grows_to_its_limit(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a[P2P_MAX_ADDED_PEERS + 1];
    for (unsigned i = 0; i <= P2P_MAX_ADDED_PEERS; i++) {
        char s[32];
        snprintf(s, sizeof(s), "10.1.%u.%u:19444", i / 200, i % 200 + 1);
        assert_int_equal(p2p_addr_parse(&a[i], s, 0), 0);
    }
    for (unsigned i = 0; i < P2P_MAX_ADDED_PEERS; i++)
        assert_int_equal(p2p_connect_addr(f->p, &a[i], T0), 0);
    assert_int_equal(p2p_connect_addr(f->p, &a[P2P_MAX_ADDED_PEERS], T0), P2P_ERR_FULL);
    for (unsigned i = 0; i < P2P_MAX_ADDED_PEERS; i++)
        assert_int_equal(p2p_connect_addr(f->p, &a[i], T0), P2P_ERR_EXISTS);
    assert_int_equal(p2p_remove_addr(f->p, &a[0]), 0);
    assert_int_equal(p2p_connect_addr(f->p, &a[P2P_MAX_ADDED_PEERS], T0), 0);
    assert_int_equal(p2p_connect_addr(f->p, &a[P2P_MAX_ADDED_PEERS - 1], T0), P2P_ERR_EXISTS);
    p2p_on_tick(f->p, T0);
    assert_true(f->n_connects > 0);
    fake_free(f);
}

static void test_timeouts(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.3:1", 0);
    /* Handshake never completes. */
    p2p_on_connected(f->p, 1, &a, true, T0);
    assert_true(p2p_next_deadline(f->p) <= T0 + P2P_HANDSHAKE_TIMEOUT_MS);
    p2p_on_tick(f->p, T0 + P2P_HANDSHAKE_TIMEOUT_MS);
    assert_int_equal(f->n_disc, 1);
    assert_string_equal(f->reasons[0], "handshake-timeout");
    /* Established, then never answers our ping. */
    uint64_t t1 = T0 + P2P_HANDSHAKE_TIMEOUT_MS;
    handshake_in(f, 2, "10.0.0.4", t1);
    uint64_t t = t1 + P2P_PING_INTERVAL_MS;
    p2p_on_tick(f->p, t);
    assert_int_equal(p2p_peer_count(f->p), 1);
    assert_true(sent_count(f, P2P_CMD_PING) >= 1);
    p2p_on_tick(f->p, t + P2P_PING_TIMEOUT_MS);
    assert_int_equal(f->n_disc, 2);
    assert_string_equal(f->reasons[1], "ping-timeout");
    assert_int_equal(p2p_peer_count(f->p), 0);
    fake_free(f);
}

static void test_self_connection_nonce(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.2:19444", 0);
    p2p_on_connected(f->p, 1, &a, false, T0);
    /* Read our own version back and replay it as the remote's. */
    struct p2p_frame_hdr h;
    assert_int_equal(p2p_frame_parse(f->out, f->magic, &h), 0);
    assert_int_equal(h.cmd, P2P_CMD_VERSION);
    struct p2p_version v;
    assert_int_equal(p2p_dec_version(f->out + 24, h.len, &v), 0);
    assert_string_equal(v.user_agent, "/gossipd:0.1.0(me)/");
    p2p_on_bytes(f->p, 1, f->out, 24 + h.len, T0);
    assert_int_equal(f->n_disc, 1);
    assert_string_equal(f->reasons[0], "self-connection");
    fake_free(f);
}

static void test_oversize_and_garbage_ban(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.0.0.5", T0);
    /* A header announcing a 4 GiB inv: dropped and discouraged on the
     * header alone, nothing allocated for it. Not banned. */
    uint8_t hdr[24] = { 0 };
    le32_put(hdr, f->magic);
    memcpy(hdr + 4, "inv", 3);
    le32_put(hdr + 16, 0xffffffffu);
    p2p_on_bytes(f->p, 1, hdr, sizeof(hdr), T0 + 1);
    assert_int_equal(f->n_disc, 1);
    assert_int_equal(f->ban_ev, 0);
    assert_int_equal(f->discouraged_ev, 1);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.5", 1);
    assert_false(p2p_is_banned(f->p, &a, T0 + 2));
    assert_true(p2p_is_discouraged(f->p, &a));
    /* A discouraged IP may connect again while slots are free. */
    p2p_on_connected(f->p, 2, &a, true, T0 + 3);
    assert_int_equal(f->n_disc, 1);
    assert_int_equal(p2p_peer_count(f->p), 1);
    assert_int_equal(p2p_disconnect_peer(f->p, 2, T0 + 3), 0);
    /* A manual ban refuses it at once, on any port; then expiry. */
    assert_int_equal(p2p_ban(f->p, &a, 0, "operator", T0 + 3), 0);
    p2p_on_connected(f->p, 5, &a, true, T0 + 3);
    assert_string_equal(f->reasons[f->n_disc - 1], "banned");
    assert_int_equal(p2p_peer_count(f->p), 0);
    struct p2p_ban_entry bans[4];
    assert_int_equal(p2p_list_bans(f->p, bans, 4, T0 + 3), 1);
    assert_true(bans[0].until_ms == T0 + 3 + 60000);
    assert_int_equal(p2p_list_bans(f->p, bans, 4, T0 + 3 + 60000), 0);
    assert_false(p2p_is_banned(f->p, &a, T0 + 3 + 60000));
    /* Garbage bytes (bad magic) from another peer: disconnect, no ban. */
    handshake_in(f, 3, "10.0.0.6", T0 + 100000);
    uint8_t junk[64];
    memset(junk, 0x5a, sizeof(junk));
    size_t before = f->n_disc;
    p2p_on_bytes(f->p, 3, junk, sizeof(junk), T0 + 100001);
    assert_int_equal(f->n_disc, before + 1);
    assert_string_equal(f->reasons[before], "bad-magic");
    assert_int_equal(f->discouraged_ev, 1);
    /* A bad checksum is malformed: score 100, discouraged. */
    handshake_in(f, 4, "10.0.0.7", T0 + 100002);
    struct wr w;
    wr_init(&w, 64);
    p2p_frame_begin(&w);
    wr_u64(&w, 5);
    p2p_frame_end(&w, 0, f->magic, P2P_CMD_PING);
    w.buf[20] ^= 1;
    p2p_on_bytes(f->p, 4, w.buf, w.len, T0 + 100003);
    wr_free(&w);
    assert_int_equal(f->discouraged_ev, 2);
    assert_int_equal(f->ban_ev, 1);   /* only the operator's */
    assert_true(f->last_score >= P2P_BAN_SCORE);
    fake_free(f);
}

static void test_protocol_scores_and_manual_bans(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.0.8:1", 0);
    p2p_on_connected(f->p, 1, &a, true, T0);
    /* A message other than version/verack before the handshake is refused
     * on its header: P2P_SCORE_PROTOCOL and the connection is closed. */
    frame(f, 1, P2P_CMD_GETADDR, NULL, 0, T0);
    assert_int_equal(f->last_score, P2P_SCORE_PROTOCOL);
    assert_int_equal(f->n_disc, 1);
    assert_string_equal(f->reasons[0], "message-before-handshake");
    assert_int_equal(f->ban_ev, 0);
    assert_int_equal(p2p_peer_count(f->p), 0);
    /* Manual ban / unban / clear. */
    struct p2p_addr b;
    p2p_addr_parse(&b, "[2001:db8::1]:9", 0);
    handshake_in(f, 2, "[2001:db8::1]", T0 + 10);
    assert_int_equal(p2p_ban(f->p, &b, 5000, "operator", T0 + 11), 0);
    assert_int_equal(p2p_peer_count(f->p), 0);   /* banning disconnects */
    assert_true(p2p_is_banned(f->p, &b, T0 + 12));
    assert_int_equal(p2p_unban(f->p, &b), 0);
    assert_int_equal(p2p_unban(f->p, &b), P2P_ERR_NOT_FOUND);
    assert_int_equal(p2p_ban(f->p, &b, 0, NULL, T0 + 13), 0);
    p2p_clear_bans(f->p);
    assert_false(p2p_is_banned(f->p, &a, T0 + 14));
    /* disconnectnode */
    handshake_in(f, 3, "10.0.0.10", T0 + 20);
    assert_int_equal(p2p_disconnect_peer(f->p, 3, T0 + 21), 0);
    assert_int_equal(p2p_disconnect_peer(f->p, 3, T0 + 21), P2P_ERR_UNKNOWN_PEER);
    fake_free(f);
}

static void test_inbound_cap(void **state)
{
    (void)state;
    struct fake *f = fake_new(2);
    handshake_in(f, 1, "10.0.1.1", T0);
    handshake_in(f, 2, "10.0.1.2", T0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.0.1.3:1", 0);
    p2p_on_connected(f->p, 3, &a, true, T0);
    assert_int_equal(f->n_disc, 1);
    assert_string_equal(f->reasons[0], "inbound-full");
    assert_int_equal(p2p_peer_count(f->p), 2);
    fake_free(f);
}

static void test_flow_control(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.0.2.1", T0);
    /* Our sends pile up unwritten: above PAUSE we stop reading the peer,
     * below RESUME we read again. Pings are small; use getheaders
     * answers (empty headers) to generate sends. */
    struct p2p_peer_info pi;
    p2p_get_peer(f->p, 1, &pi);
    size_t pending = pi.send_queue_bytes;
    assert_true(pending > 0);
    p2p_on_sent(f->p, 1, pending, T0);
    p2p_get_peer(f->p, 1, &pi);
    assert_int_equal(pi.send_queue_bytes, 0);
    assert_int_equal(f->paused, 0);
    fake_free(f);
}

static void test_split_bytes_and_unknown_command(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    handshake_in(f, 1, "10.0.3.1", T0);
    /* A frame split into single bytes is reassembled. */
    struct wr w;
    wr_init(&w, 64);
    p2p_frame_begin(&w);
    wr_u64(&w, 42);
    p2p_frame_end(&w, 0, f->magic, P2P_CMD_PING);
    reset_out(f);
    for (size_t i = 0; i < w.len; i++)
        p2p_on_bytes(f->p, 1, w.buf + i, 1, T0 + 1);
    assert_int_equal(sent_count(f, P2P_CMD_PONG), 1);
    /* Two frames in one read. */
    uint8_t two[128];
    memcpy(two, w.buf, w.len);
    memcpy(two + w.len, w.buf, w.len);
    reset_out(f);
    p2p_on_bytes(f->p, 1, two, 2 * w.len, T0 + 2);
    assert_int_equal(sent_count(f, P2P_CMD_PONG), 2);
    wr_free(&w);
    /* Unknown commands are ignored, not punished. */
    uint8_t unk[24 + 4] = { 0 };
    le32_put(unk, f->magic);
    memcpy(unk + 4, "feefilter", 9);
    le32_put(unk + 16, 4);
    uint8_t d[32];
    hash_sha256d(d, unk + 24, 4);
    memcpy(unk + 20, d, 4);
    p2p_on_bytes(f->p, 1, unk, sizeof(unk), T0 + 3);
    assert_int_equal(f->misbehaviour_ev, 0);
    assert_int_equal(p2p_peer_count(f->p), 1);
    fake_free(f);
}

/* Nothing pending may leave the deadline in the past: a driver would spin. */
static void test_deadline_never_in_the_past(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_addr a;
    p2p_addr_parse(&a, "10.9.0.1:19444", 0);
    assert_int_equal(p2p_ban(f->p, &a, 0, "test", T0), 0);
    assert_int_equal(p2p_connect_addr(f->p, &a, T0), 0);
    p2p_on_tick(f->p, T0 + 1);
    assert_int_equal(f->n_connects, 0);
    assert_true(p2p_next_deadline(f->p) > T0 + 1);
    /* A full request window: due announcements wait for a completion,
     * not for the clock. */
    handshake_in(f, 1, "10.9.0.2", T0 + 2);
    struct wr w;
    wr_init(&w, P2P_MAX_INV_BYTES);
    uint8_t (*hs)[32] = calloc(P2P_MAX_BLOCKS_IN_FLIGHT + 5, 32);
    for (size_t i = 0; i < P2P_MAX_BLOCKS_IN_FLIGHT + 5; i++)
        hs[i][0] = (uint8_t)(i + 1), hs[i][5] = 0x77;
    p2p_put_inv(&w, P2P_INV_BLOCK, (const uint8_t (*)[32])hs, P2P_MAX_BLOCKS_IN_FLIGHT + 5);
    frame(f, 1, P2P_CMD_INV, w.buf, w.len, T0 + 3);
    wr_free(&w);
    free(hs);
    struct p2p_peer_info pi;
    p2p_get_peer(f->p, 1, &pi);
    assert_int_equal(pi.in_flight, P2P_MAX_BLOCKS_IN_FLIGHT);
    p2p_on_tick(f->p, T0 + 4);
    assert_true(p2p_next_deadline(f->p) > T0 + 4);
    fake_free(f);
}

/* Well-framed messages with random payloads for every command, and raw
 * random bytes: the core never crashes (ASan watches), stays consistent,
 * and drops or bans the sender instead. */
static void test_random_input(void **state)
{
    (void)state;
    struct fake *f = fake_new(0);
    struct p2p_rng rng;
    p2p_rng_seed(&rng, 1234);
    uint64_t peer = 0, t = T0;
    uint8_t buf[600];
    for (int i = 0; i < 3000; i++) {
        if (peer == 0 || p2p_peer_count(f->p) == 0) {
            char ip[32];
            peer++;
            snprintf(ip, sizeof(ip), "10.%u.%u.%u", (unsigned)(peer >> 16) & 255,
                     (unsigned)(peer >> 8) & 255, (unsigned)peer & 255);
            handshake_in(f, peer, ip, t);
        }
        size_t len = (size_t)p2p_rng_below(&rng, sizeof(buf));
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)p2p_rng_next(&rng);
        if (p2p_rng_below(&rng, 8) == 0) {
            p2p_on_bytes(f->p, peer, buf, len, t);   /* raw garbage */
        } else {
            enum p2p_cmd cmd = (enum p2p_cmd)p2p_rng_below(&rng, P2P_CMD_UNKNOWN);
            if (len > p2p_cmd_max_payload(cmd))
                len = p2p_cmd_max_payload(cmd);
            frame(f, peer, cmd, buf, len, t);
        }
        t += p2p_rng_below(&rng, 300);
        if (i % 50 == 0)
            p2p_on_tick(f->p, t);
        reset_out(f);
        p2p_check(f->p);
    }
    fake_free(f);
}

/* The attack of issue 9: 117 connections that never shake hands, each
 * declaring a 4 MiB payload, and 117 handshaken peers each declaring a
 * 4 MiB block and sending 1 KB of it. Neither may pin memory for the
 * declared lengths: the first are refused on the header, the second hold
 * buffers in proportion to what they really sent. */
static void test_declared_lengths_allocate_nothing(void **state)
{
    (void)state;
    struct fake *f = fake_new(P2P_MAX_PEERS - 1);
    enum { N = 117 };
    uint8_t hdr[P2P_HEADER_BYTES] = { 0 };
    le32_put(hdr, f->magic);
    le32_put(hdr + 16, 4u << 20);
    static uint8_t body[1000];
    for (uint64_t id = 1; id <= N; id++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.9.%u.%u", (unsigned)(id / 200), (unsigned)(id % 200 + 1));
        struct p2p_addr a;
        p2p_addr_parse(&a, ip, 5000);
        p2p_on_connected(f->p, id, &a, true, T0);
        memset(hdr + 4, 0, 12);
        memcpy(hdr + 4, id % 2 ? "block" : "version", id % 2 ? 5 : 7);
        p2p_on_bytes(f->p, id, hdr, sizeof(hdr), T0 + 1);
        p2p_on_bytes(f->p, id, body, sizeof(body), T0 + 1);
    }
    struct p2p_stats st;
    p2p_get_stats(f->p, &st);
    assert_true(st.recv_buffer_bytes <= N * P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES);
    assert_int_equal(st.peers, 0);   /* refused on the header */
    /* Handshaken peers declaring a 4 MiB block. */
    memset(hdr + 4, 0, 12);
    memcpy(hdr + 4, "block", 5);
    for (uint64_t id = 1001; id < 1001 + N; id++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.8.%u.%u", (unsigned)(id / 200), (unsigned)(id % 200 + 1));
        handshake_in(f, id, ip, T0 + 2);
        p2p_on_bytes(f->p, id, hdr, sizeof(hdr), T0 + 3);
        p2p_on_bytes(f->p, id, body, sizeof(body), T0 + 3);
    }
    p2p_get_stats(f->p, &st);
    assert_int_equal(st.peers, N);
    assert_true(st.recv_buffer_bytes <= (size_t)N * P2P_RECV_BUFFER_MIN_BYTES);
    fake_free(f);
}

int main(void)
{
    if (sig_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_inbound),
        cmocka_unit_test(test_outbound_connect_and_backoff),
        cmocka_unit_test(test_added_table_grows_to_its_limit),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_self_connection_nonce),
        cmocka_unit_test(test_oversize_and_garbage_ban),
        cmocka_unit_test(test_protocol_scores_and_manual_bans),
        cmocka_unit_test(test_inbound_cap),
        cmocka_unit_test(test_flow_control),
        cmocka_unit_test(test_split_bytes_and_unknown_command),
        cmocka_unit_test(test_deadline_never_in_the_past),
        cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_declared_lengths_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
