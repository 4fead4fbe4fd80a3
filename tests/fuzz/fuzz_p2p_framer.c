/* libFuzzer target: the v1 incremental framer (p2p_framer_feed). The
 * first byte picks the handshake state and the chunk size the input is fed
 * in; the rest is the byte stream. Checked on every call: consumed bytes
 * within the input, a frame's payload within its cap (and the small cap
 * before the handshake), and the buffer never above the largest frame nor
 * ahead of the bytes that arrived. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"
#include "p2p/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool established = data[0] & 1;
    size_t chunk = 1 + (data[0] >> 1);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct p2p_framer f;
    p2p_framer_init(&f, chain_params_regtest.magic);
    if (established)
        p2p_framer_set_established(&f);
    size_t since_frame = 0;   /* bytes fed since the last frame ended */
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        struct p2p_frame fr;
        ssize_t used = p2p_framer_feed(&f, p, k, &fr);
        if (used < 0)
            break;
        assert((size_t)used <= k);
        if (used == 0) {
            since_frame += k;
            size_t lim = 2 * since_frame > P2P_RECV_BUFFER_MIN_BYTES ? 2 * since_frame
                                                                      : P2P_RECV_BUFFER_MIN_BYTES;
            assert(p2p_framer_allocated(&f) <= lim);
            assert(p2p_framer_allocated(&f) <= P2P_RECV_BUFFER_MAX_BYTES);
            p += k;
            n -= k;
            continue;
        }
        assert(fr.hdr.len <= p2p_cmd_max_payload(fr.hdr.cmd));
        if (!established)
            assert(fr.hdr.len <= P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES
                   && (fr.hdr.cmd == P2P_CMD_VERSION || fr.hdr.cmd == P2P_CMD_VERACK));
        since_frame = 0;
        p += used;
        n -= (size_t)used;
    }
    p2p_framer_free(&f);
    return 0;
}
