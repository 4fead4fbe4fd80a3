/* v2 transport: an encrypted, authenticated byte stream between two nodes
 * (the idea of BIP324, built on X25519, HKDF-SHA256 and ChaCha20-Poly1305;
 * the byte layout is gossipd's own and is specified in docs/PROTOCOL.md).
 *
 * Sans-I/O like the rest of p2p/: bytes in through p2p_v2_feed, bytes out
 * through p2p_v2_hello / p2p_v2_seal into a caller's writer. No clock.
 *
 * Life of a connection, both roles:
 *   1. send p2p_v2_pubkey() (32 bytes). The initiator sends it at once; the
 *      responder once it has decided the stream is v2 (p2p_v2_is_v1_start).
 *   2. feed the peer's bytes. When the peer's key has arrived p2p_v2_feed
 *      reports P2P_V2_KEYS; the caller then seals its hello (p2p_v2_hello).
 *   3. the first packet from the peer is its hello: P2P_V2_HELLO, with the
 *      peer's node key when it authenticated itself (see p2p_v2_set_identity).
 *   4. every later packet is a message: P2P_V2_MSG with a 12-byte command
 *      name and a payload, the same pair a v1 frame carries.
 * Any decryption or authentication failure is final: p2p_v2_feed returns
 * P2P_ERR_DECRYPT and the caller must disconnect without looking at the
 * rest of the stream. */
#ifndef GOSSIPD_P2P_V2_H
#define GOSSIPD_P2P_V2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/codec.h"
#include "crypto/aead.h"
#include "crypto/sig.h"
#include "p2p/limits.h"

#define P2P_V2_PUBKEY_BYTES    X25519_KEY_SIZE
#define P2P_V2_LENGTH_BYTES    3      /* encrypted contents length, u24 LE */
#define P2P_V2_HEADER_BYTES    2      /* flags u8 | type u8 */
#define P2P_V2_SESSION_ID_BYTES 32
/* A packet's overhead on the wire beyond its payload with a short type id. */
#define P2P_V2_OVERHEAD_BYTES  (P2P_V2_LENGTH_BYTES + P2P_V2_HEADER_BYTES + AEAD_TAG_SIZE)
/* Largest contents accepted: a long command name and the largest payload.
 * Checked when the length is decrypted, before a byte is buffered for it. */
#define P2P_V2_MAX_CONTENTS_BYTES (P2P_V2_HEADER_BYTES + P2P_COMMAND_BYTES + P2P_MAX_PAYLOAD_BYTES)
/* Each direction derives fresh keys after this many packets, so a key
 * recovered later does not open what was sent before the last rekey. */
#define P2P_V2_REKEY_INTERVAL  224
/* Contents flag: the packet is a decoy; the receiver drops it unread. */
#define P2P_V2_FLAG_DECOY      0x01
/* Hello flag: an authentication block (node key, signature) follows. */
#define P2P_V2_HELLO_AUTH      0x01
#define P2P_V2_HELLO_AUTH_BYTES (SIG_PUBKEY_SIZE + SIG_SIZE)
/* What the framer queues for sending during the handshake: our key and our
 * hello (with its authentication block), with room to spare. */
#define P2P_V2_HANDSHAKE_TX_MAX_BYTES 512

_Static_assert(P2P_V2_MAX_CONTENTS_BYTES < (1u << 24), "contents length must fit u24");

enum p2p_v2_event {
    P2P_V2_NONE = 0,     /* bytes consumed, nothing complete yet */
    P2P_V2_KEYS,         /* peer's key arrived, keys derived: send the hello now */
    P2P_V2_HELLO,        /* peer's hello verified */
    P2P_V2_MSG,          /* a message: name and payload below */
};

struct p2p_v2_out {
    enum p2p_v2_event ev;
    uint8_t name[P2P_COMMAND_BYTES];   /* NUL-padded command, as in a v1 header */
    const uint8_t *payload;            /* borrowed until the next feed call */
    size_t len;
    bool peer_authenticated;           /* P2P_V2_HELLO: the peer signed the session */
    uint8_t peer_node_key[SIG_PUBKEY_SIZE];
};

struct p2p_v2_dir {                    /* one direction's cipher state */
    uint8_t len_key[AEAD_KEY_SIZE];
    uint8_t body_key[AEAD_KEY_SIZE];
    uint64_t packets;                  /* packets sealed/opened so far: the nonce */
};

struct p2p_v2 {
    bool initiator;
    uint32_t magic;
    uint8_t sk[X25519_KEY_SIZE], pk[X25519_KEY_SIZE];
    uint8_t peer_pk[X25519_KEY_SIZE];
    size_t peer_pk_have;
    bool keys_ready, hello_seen, failed;
    uint8_t session_id[P2P_V2_SESSION_ID_BYTES];
    struct p2p_v2_dir send, recv;
    /* Optional node identity signed into the hello. */
    bool have_identity;
    uint8_t node_sk[SIG_SECKEY_SIZE], node_pk[SIG_PUBKEY_SIZE];
    /* Receive state: the current packet's length (once decrypted) and its
     * bytes so far; the buffer grows with what arrives. */
    uint8_t len_buf[P2P_V2_LENGTH_BYTES];
    size_t len_have;
    uint32_t contents_len;
    uint8_t *buf;
    size_t buf_len, buf_cap;
    bool delivered;                    /* buf holds the last message handed out */
    /* Largest contents accepted now (0: P2P_V2_MAX_CONTENTS_BYTES); the
     * framer lowers it before the handshake. */
    size_t max_contents;
};

/* Sets up v for one connection. sk NULL draws a fresh ephemeral key (the
 * normal case; tests pass one for vectors). An initiator's key is redrawn
 * until its first 4 bytes differ from the network magic, so a responder can
 * tell v2 from v1 by them; a given sk that collides returns P2P_ERR_INVALID_ARG. */
int p2p_v2_init(struct p2p_v2 *v, bool initiator, uint32_t magic,
                const uint8_t sk[X25519_KEY_SIZE]);
/* Wipes the keys and frees the receive buffer. */
void p2p_v2_free(struct p2p_v2 *v);
/* Optional: sign the session with this node key in the hello. */
void p2p_v2_set_identity(struct p2p_v2 *v, const uint8_t sk[SIG_SECKEY_SIZE]);
/* The 32 bytes to send first. */
const uint8_t *p2p_v2_pubkey(const struct p2p_v2 *v);
/* Inbound detection: true iff the first 4 bytes of a stream are the v1
 * magic (a v1 peer), false if they are a v2 initiator's key. */
bool p2p_v2_is_v1_start(const uint8_t first[4], uint32_t magic);

/* Consumes bytes of the peer's stream; stops after each event so the caller
 * can act. Returns the bytes consumed (0 only when len is 0) with out->ev
 * set, or a negative error: P2P_ERR_DECRYPT (tag mismatch, bad hello
 * signature, a key of small order), P2P_ERR_OVERSIZE (length over the cap),
 * P2P_ERR_MALFORMED (bad header or command), P2P_ERR_NOMEM. After an error
 * every call fails. */
long p2p_v2_feed(struct p2p_v2 *v, const uint8_t *in, size_t len, struct p2p_v2_out *out);

/* Appends this side's hello packet to w (after P2P_V2_KEYS). */
int p2p_v2_hello(struct p2p_v2 *v, struct wr *w);
/* Appends one packet carrying a message to w. name is the command (at most
 * 12 characters); frequent commands travel as a 1-byte type. decoy makes a
 * packet the peer discards (payload as padding). Returns 0, P2P_ERR_OVERSIZE
 * or the writer's error. */
int p2p_v2_seal(struct p2p_v2 *v, struct wr *w, const char *name, const uint8_t *payload,
                size_t len, bool decoy);

/* Short type id of a command name (0 if it has none) and back (NULL). The
 * table is part of the wire format and never reordered. */
uint8_t p2p_v2_type_of(const char *name);
const char *p2p_v2_name_of(uint8_t type);

#endif
