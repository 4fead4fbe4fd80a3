/* libFuzzer target: a whole p2p core fed by a hostile peer. Each input is
 * one connection from a fresh address that completes the handshake, then
 * sends messages built from the input: a command byte, a 2-byte length and
 * that many payload bytes, framed with a valid checksum (so the fuzzer
 * reaches every handler), or, when the command byte is 0xff, the rest of the
 * input as raw bytes. The core (compact blocks on, push relay) must never
 * crash, whatever the peer says. */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "p2p/msg.h"
#include "p2p/p2p.h"
#include "p2p/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_T0 1800000000000ull
#define FUZZ_FRAME_MAX (64u * 1024)

static int io_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
    (void)ctx, (void)peer, (void)buf, (void)len;
    return 0;
}
static void io_connect(void *ctx, const struct p2p_addr *a) { (void)ctx, (void)a; }
static void io_disconnect(void *ctx, uint64_t peer, const char *reason)
{
    (void)peer, (void)reason;
    *(bool *)ctx = true;
}

static struct p2p *core;
static bool gone;

static void feed_frame(uint64_t peer, enum p2p_cmd cmd, const uint8_t *p, size_t n, uint64_t now)
{
    struct wr w;
    wr_init(&w, FUZZ_FRAME_MAX);
    p2p_frame_begin(&w);
    wr_bytes(&w, p, n);
    if (p2p_frame_end(&w, 0, chain_params_regtest.magic, cmd) == 0)
        p2p_on_bytes(core, peer, w.buf, w.len, now);
    wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct chain *chain;
    static struct p2p_io io = { .ctx = &gone, .send = io_send, .connect = io_connect,
                                .disconnect = io_disconnect };
    static uint64_t next_peer = 1, now = FUZZ_T0;
    if (!core) {
        struct chain_config cc = { .params = &chain_params_regtest };
        if (chain_open(&chain, &cc, FUZZ_T0) != 0) abort();
        struct p2p_config cfg;
        p2p_config_init(&cfg);
        cfg.chain = chain;
        cfg.io = &io;
        cfg.seed = 1;
        cfg.outbound_target = 0;
        /* Compact blocks and push relay on (both off in the library's
         * defaults), so their handlers are reached, not ignored. */
        cfg.cmpct = true;
        cfg.relay_mode = P2P_RELAY_PUSH;
        if (p2p_create(&core, &cfg, FUZZ_T0) != 0) abort();
    }
    uint64_t peer = next_peer++;
    struct p2p_addr a;
    uint8_t ip4[4] = { 10, (uint8_t)(peer >> 16), (uint8_t)(peer >> 8), (uint8_t)peer };
    p2p_addr_from_ipv4(&a, ip4, 5000);
    gone = false;
    p2p_on_connected(core, peer, &a, true, now);

    struct p2p_version v = { .version = 70016, .timestamp = (int64_t)(now / 1000),
                             .nonce = peer, .start_height = 0, .relay = true };
    strcpy(v.user_agent, "/fuzz:0(f)/");
    struct wr w;
    wr_init(&w, FUZZ_FRAME_MAX);
    p2p_put_version(&w, &v);
    feed_frame(peer, P2P_CMD_VERSION, w.buf, w.len, now);
    wr_free(&w);
    feed_frame(peer, P2P_CMD_VERACK, NULL, 0, now);

    size_t off = 0;
    while (!gone && off < size) {
        uint8_t c = data[off++];
        if (c == 0xff) {
            p2p_on_bytes(core, peer, data + off, size - off, now);
            break;
        }
        if (size - off < 2) break;
        size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (n > size - off) n = size - off;
        feed_frame(peer, (enum p2p_cmd)(c % P2P_CMD_UNKNOWN), data + off, n, now);
        off += n;
        now += 7;
        p2p_on_tick(core, now);
    }
    if (!gone) p2p_on_disconnected(core, peer, "fuzz-done", now);
    /* Forget bans and old state so one input cannot starve the next. */
    p2p_clear_bans(core);
    now += 1000;
    p2p_on_tick(core, now);
    return 0;
}
