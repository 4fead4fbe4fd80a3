/* libFuzzer target: the v2 transport's receive side. The first byte picks:
 *   0: a responder fed raw bytes (the peer's key, then whatever follows);
 *   1: a real session whose sealed stream (messages cut from the input) is
 *      altered at offsets the input names: nothing altered may be delivered,
 *      and what is delivered must be the sent messages in order. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sig.h"
#include "p2p/v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MSGS_MAX 16

static void raw_feed(const uint8_t *p, size_t n)
{
    uint8_t sk[32];
    memset(sk, 0x5a, sizeof sk);
    struct p2p_v2 v;
    if (p2p_v2_init(&v, false, 0x74727367u, sk) != 0)
        abort();
    size_t off = 0;
    while (off < n) {
        struct p2p_v2_out out;
        long rc = p2p_v2_feed(&v, p + off, n - off, &out);
        if (rc <= 0)
            break;
        off += (size_t)rc;
        if (out.ev == P2P_V2_MSG && out.len > P2P_MAX_PAYLOAD_BYTES)
            abort();
    }
    p2p_v2_free(&v);
}

static void feed_all(struct p2p_v2 *to, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        struct p2p_v2_out out;
        long rc = p2p_v2_feed(to, p + off, n - off, &out);
        if (rc <= 0)
            abort();
        off += (size_t)rc;
    }
}

static void tampered_session(const uint8_t *p, size_t n)
{
    if (n < 2)
        return;
    size_t nmsgs = 1 + p[0] % FUZZ_MSGS_MAX, nmut = p[1] % 8;
    p += 2, n -= 2;
    uint8_t ska[32], skb[32];
    memset(ska, 0x11, 32);
    memset(skb, 0x22, 32);
    struct p2p_v2 a, b;
    if (p2p_v2_init(&a, true, 0x74727367u, ska) || p2p_v2_init(&b, false, 0x74727367u, skb))
        abort();
    struct wr w;
    wr_init(&w, 1 << 20);
    feed_all(&b, p2p_v2_pubkey(&a), 32);
    feed_all(&a, p2p_v2_pubkey(&b), 32);
    if (p2p_v2_hello(&a, &w) || p2p_v2_hello(&b, &w))
        abort();
    /* w holds a's hello then b's: feed each to the other. */
    size_t hello = w.len / 2;
    feed_all(&b, w.buf, hello);
    feed_all(&a, w.buf + hello, w.len - hello);
    w.len = 0;
    /* Messages: consecutive slices of the input. */
    size_t msg_bytes = n > 3 * nmut ? n - 3 * nmut : 0;
    const uint8_t *mut = p + msg_bytes;
    size_t starts[FUZZ_MSGS_MAX + 1];
    for (size_t i = 0; i <= nmsgs; i++)
        starts[i] = msg_bytes * i / nmsgs;
    for (size_t i = 0; i < nmsgs; i++)
        if (p2p_v2_seal(&a, &w, i % 2 ? "tx" : "odd", p + starts[i], starts[i + 1] - starts[i],
                        i % 5 == 4))
            abort();
    uint8_t *orig = malloc(w.len ? w.len : 1);
    if (!orig)
        abort();
    memcpy(orig, w.buf, w.len);
    for (size_t i = 0; i < nmut && w.len; i++) {
        size_t at = ((size_t)mut[3 * i] << 8 | mut[3 * i + 1]) % w.len;
        w.buf[at] ^= mut[3 * i + 2] ? mut[3 * i + 2] : 1;
    }
    /* Two changes at one offset may cancel: compare with what was sent. */
    size_t changed_from = 0;
    while (changed_from < w.len && w.buf[changed_from] == orig[changed_from])
        changed_from++;
    free(orig);
    /* Receive: every delivered message must be the next one sent, and
     * none may come from a packet that starts after the first change... */
    size_t off = 0, next = 0;
    while (off < w.len) {
        struct p2p_v2_out out;
        long rc = p2p_v2_feed(&b, w.buf + off, w.len - off, &out);
        if (rc < 0)
            break;
        off += (size_t)rc;
        if (out.ev != P2P_V2_MSG)
            continue;
        while (next < nmsgs && next % 5 == 4)
            next++;                                /* decoys are dropped */
        if (next >= nmsgs || out.len != starts[next + 1] - starts[next] ||
            memcmp(out.payload, p + starts[next], out.len) != 0)
            abort();
        /* ...nor contain it: a message is delivered only once its packet,
         * which ends at off, was checked whole. */
        if (off > changed_from)
            abort();
        next++;
    }
    wr_free(&w);
    p2p_v2_free(&a);
    p2p_v2_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (sig_init() != 0)
            abort();
        ready = 1;
    }
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        raw_feed(data + 1, size - 1);
    else
        tampered_session(data + 1, size - 1);
    return 0;
}
