/* Frame layer: Bitcoin's 24-byte message header.
 *
 *   magic u32 LE | command char[12] NUL-padded | length u32 LE |
 *   checksum = first 4 bytes of SHA256d(payload)
 *
 * The header is parsed and checked (magic, command spelling, length against
 * the command's cap) before the caller allocates room for the payload. */
#ifndef GOSSIPD_P2P_WIRE_H
#define GOSSIPD_P2P_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chain/codec.h"
#include "p2p/p2p.h"
#include "p2p/v2.h"

struct p2p_frame_hdr {
    uint32_t magic;
    enum p2p_cmd cmd;            /* P2P_CMD_UNKNOWN for a well-formed unknown name */
    char name[P2P_COMMAND_BYTES + 1];
    uint32_t len;                /* payload bytes */
    uint8_t checksum[4];
    bool sealed;                 /* came in a v2 packet: the AEAD tag already
                                    authenticated it, there is no checksum */
};

/* Largest payload accepted for cmd (P2P_MAX_UNKNOWN_PAYLOAD_BYTES for
 * P2P_CMD_UNKNOWN). */
size_t p2p_cmd_max_payload(enum p2p_cmd cmd);
/* Command from its 12 wire bytes. Returns P2P_CMD_UNKNOWN for a well-formed
 * unknown name, or P2P_ERR_BAD_COMMAND when the bytes are not printable
 * ASCII followed only by NULs (or the name is empty). */
int p2p_cmd_parse(const uint8_t raw[P2P_COMMAND_BYTES]);

/* Parses and checks a header: magic (P2P_ERR_BAD_MAGIC), command
 * (P2P_ERR_BAD_COMMAND), length <= cap (P2P_ERR_OVERSIZE). Returns 0. */
int p2p_frame_parse(const uint8_t buf[P2P_HEADER_BYTES], uint32_t magic,
                    struct p2p_frame_hdr *h);
/* True iff the payload matches the header's checksum. */
bool p2p_frame_checksum_ok(const struct p2p_frame_hdr *h, const uint8_t *payload, size_t len);

/* ---- Incremental framer: one per connection ----
 *
 * Bytes go in as they arrive; whole frames come out. The header is checked
 * the moment its 24 bytes are in (magic, command, length against the
 * command's cap), so nothing is allocated from a length that fails it.
 * Before the handshake (established false) only `version` and `verack`
 * pass, with payloads of at most P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES. The
 * payload buffer grows with the bytes that actually arrive (geometrically,
 * from P2P_RECV_BUFFER_MIN_BYTES), never to the declared length at once.
 * The checksum is left to the caller (p2p_frame_checksum_ok), which counts
 * the frame first. */
/* Which framing a connection speaks. A framer starts in V1; an outbound
 * connection switches to V2 with p2p_framer_start_v2, an inbound one that
 * accepts v2 goes to DETECT and settles on the first 4 bytes (the v1 magic,
 * or not). */
enum p2p_transport { P2P_TRANSPORT_V1 = 0, P2P_TRANSPORT_DETECT, P2P_TRANSPORT_V2 };

struct p2p_framer {
    uint32_t magic;
    bool established;               /* false: only version/verack pass */
    bool delivered;                 /* the last feed returned a frame */
    uint8_t hdr_raw[P2P_HEADER_BYTES];
    size_t hdr_len;                 /* header bytes so far */
    struct p2p_frame_hdr hdr;       /* valid once hdr_len == P2P_HEADER_BYTES */
    uint8_t *buf;                   /* payload so far (owned) */
    size_t len, cap;
    /* v2 */
    enum p2p_transport transport;
    bool v1_allowed;                /* DETECT: a v1 peer is accepted */
    const uint8_t *node_sk;         /* borrowed; signs our v2 hello, or NULL */
    struct p2p_v2 *v2;              /* owned, once V2 */
    bool v2_ready;                  /* both hellos done: messages flow */
    struct wr tx;                   /* handshake bytes the caller must send */
};

/* What a successful p2p_framer_feed produced. */
enum p2p_frame_kind {
    P2P_FRAME_MSG = 0,              /* a message: hdr and payload */
    P2P_FRAME_V2_READY,             /* the v2 handshake finished (see below) */
};

struct p2p_frame {
    enum p2p_frame_kind kind;
    struct p2p_frame_hdr hdr;
    const uint8_t *payload;         /* hdr.len bytes, borrowed: valid until the
                                       next p2p_framer_feed or p2p_framer_free */
    /* P2P_FRAME_V2_READY: the peer's node key, if its hello was signed. */
    bool peer_authenticated;
    uint8_t peer_node_key[32];
};

void p2p_framer_init(struct p2p_framer *f, uint32_t magic);
void p2p_framer_free(struct p2p_framer *f);
/* The handshake is done: every command passes, with its own cap. */
void p2p_framer_set_established(struct p2p_framer *f);
/* Feeds len bytes (borrowed). Returns the bytes consumed (> 0) when they
 * complete a frame, which is then in *out (feed the rest again); 0 when
 * all len bytes were taken and the frame is not complete yet; or a
 * negative error, after which the stream is lost and the framer only good
 * for p2p_framer_free: P2P_ERR_BAD_MAGIC, P2P_ERR_BAD_COMMAND,
 * P2P_ERR_OVERSIZE (length above the command's cap), P2P_ERR_HANDSHAKE
 * (a command other than version/verack before the handshake), or
 * P2P_ERR_NOMEM. */
ssize_t p2p_framer_feed(struct p2p_framer *f, const uint8_t *in, size_t len,
                        struct p2p_frame *out);
/* Bytes the framer holds allocated (for stats and tests). */
size_t p2p_framer_allocated(const struct p2p_framer *f);

/* ---- v2 (docs/PROTOCOL.md "v2 transport") ----
 * node_sk (borrowed, may be NULL) signs our hello. The framer queues the
 * handshake bytes it must send (our key, our hello) in f->tx; after every
 * call below and every feed the caller sends f->tx's bytes raw and empties
 * it (p2p_framer_take_tx). Feed reports P2P_FRAME_V2_READY once the peer's
 * hello is verified; only then may the caller seal messages. Feed errors
 * added by v2: P2P_ERR_DECRYPT (a tag, key or hello that does not verify:
 * the stream is lost), P2P_ERR_V1_REFUSED (DETECT without v1: the peer
 * sent the v1 magic). */
/* Outbound: we start the v2 handshake (our key goes to tx at once). */
int p2p_framer_start_v2(struct p2p_framer *f, const uint8_t *node_sk);
/* Inbound: settle on v1 or v2 from the first 4 bytes. */
void p2p_framer_detect(struct p2p_framer *f, bool v1_allowed, const uint8_t *node_sk);
/* Bytes queued for sending (handshake); *len 0 if none. The pointer is
 * valid until the next framer call; call p2p_framer_tx_done once sent. */
const uint8_t *p2p_framer_tx(const struct p2p_framer *f, size_t *len);
void p2p_framer_tx_done(struct p2p_framer *f);
/* Turns one v1 frame (header + payload, as p2p_frame_end built it) into a
 * v2 packet appended to out. Requires v2_ready. 0 or a P2P_ERR_*. */
int p2p_framer_seal(struct p2p_framer *f, const uint8_t *frame, size_t len, struct wr *out);

/* Building a frame: p2p_frame_begin reserves the header in w; write the
 * payload with wr_* or the p2p_put_* helpers; p2p_frame_end fills in the
 * header. Returns 0, or the writer's error (w->err) /
 * P2P_ERR_OVERSIZE if the payload exceeds the command's cap. */
void p2p_frame_begin(struct wr *w);
int p2p_frame_end(struct wr *w, size_t start, uint32_t magic, enum p2p_cmd cmd);

/* Network address in Bitcoin's form: services u64 | ip[16] | port u16 BE
 * (26 bytes), used by version (no time) and addr (preceded by time u32). */
bool p2p_put_netaddr(struct wr *w, uint64_t services, const struct p2p_addr *a);
bool p2p_get_netaddr(struct rd *r, uint64_t *services, struct p2p_addr *a);

/* Maps a chain codec error (CHAIN_ERR_TRUNCATED, ...) to a P2P_ERR_*. */
int p2p_err_from_chain(int err);

#endif
