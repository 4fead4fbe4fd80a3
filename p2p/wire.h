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

#include "chain/codec.h"
#include "p2p/p2p.h"

struct p2p_frame_hdr {
    uint32_t magic;
    enum p2p_cmd cmd;            /* P2P_CMD_UNKNOWN for a well-formed unknown name */
    char name[P2P_COMMAND_BYTES + 1];
    uint32_t len;                /* payload bytes */
    uint8_t checksum[4];
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
