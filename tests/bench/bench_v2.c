/* What encryption costs per message: v2 seal + open against v1's framing
 * (SHA256d checksum on both ends), for a tx-sized and a block-sized
 * payload, one core. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/hash.h"
#include "p2p/v2.h"

static void pair(struct p2p_v2 *a, struct p2p_v2 *b)
{
    p2p_v2_init(a, true, 0x74727367u, NULL);
    p2p_v2_init(b, false, 0x74727367u, NULL);
    struct p2p_v2_out out;
    p2p_v2_feed(b, p2p_v2_pubkey(a), 32, &out);
    p2p_v2_feed(a, p2p_v2_pubkey(b), 32, &out);
    struct wr w;
    wr_init(&w, 1 << 16);
    p2p_v2_hello(a, &w);
    p2p_v2_feed(b, w.buf, w.len, &out);
    wr_free(&w);
}

static void one_size(const char *label_v1, const char *label_v2, size_t size, int n)
{
    uint8_t *payload = calloc(1, size);
    uint8_t h[32];
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        payload[0] = (uint8_t)i;
        hash_sha256d(h, payload, size);      /* sender's checksum */
        hash_sha256d(h, payload, size);      /* receiver's check */
    }
    bench_report(label_v1, n, bench_now() - t0, "msg");

    struct p2p_v2 a, b;
    pair(&a, &b);
    struct wr w;
    wr_init(&w, size + 1024);
    size_t got = 0;
    t0 = bench_now();
    for (int i = 0; i < n; i++) {
        w.len = 0;
        payload[0] = (uint8_t)i;
        p2p_v2_seal(&a, &w, "tx", payload, size, false);
        struct p2p_v2_out out;
        size_t off = 0;
        while (off < w.len) {
            long rc = p2p_v2_feed(&b, w.buf + off, w.len - off, &out);
            if (rc <= 0)
                abort();
            off += (size_t)rc;
            got += out.ev == P2P_V2_MSG;
        }
    }
    if (got != (size_t)n)
        abort();
    bench_report(label_v2, n, bench_now() - t0, "msg");
    wr_free(&w);
    p2p_v2_free(&a);
    p2p_v2_free(&b);
    free(payload);
}

void bench_v2(void)
{
    one_size("v1 frame check, 250-byte tx (both ends)", "v2 seal + open, 250-byte tx", 250, 400000);
    one_size("v1 frame check, 1 MiB block (both ends)", "v2 seal + open, 1 MiB block", 1 << 20, 200);
}
