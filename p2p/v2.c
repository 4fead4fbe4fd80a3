#include "p2p/v2.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/sec.h"
#include "p2p/err.h"
#include "p2p/util.h"

/* Wire type ids of frequent commands. Part of the format: append only. */
static const char *const type_names[] = {
    NULL,          /* 0: a 12-byte command name follows */
    "version", "verack", "ping", "pong", "addr", "getaddr", "inv", "getdata",
    "notfound", "tx", "block", "getheaders", "headers", "sendheaders", "mempool",
    "recon", "sendcmpct", "cmpctblock", "getblocktxn", "blocktxn",
};
#define TYPE_COUNT (sizeof type_names / sizeof type_names[0])

static const char KDF_SALT[] = "gossipd v2 transport";
static const char KDF_INFO[] = "keys";
static const char HELLO_CONTEXT[] = "gossipd v2 hello";
static const char REKEY_LABEL[] = "rekey";
#define HELLO_VERSION 1

uint8_t p2p_v2_type_of(const char *name)
{
    for (size_t t = 1; t < TYPE_COUNT; t++)
        if (strcmp(type_names[t], name) == 0)
            return (uint8_t)t;
    return 0;
}

const char *p2p_v2_name_of(uint8_t type)
{
    return type < TYPE_COUNT ? type_names[type] : NULL;
}

bool p2p_v2_is_v1_start(const uint8_t first[4], uint32_t magic)
{
    return le32_get(first) == magic;
}

int p2p_v2_init(struct p2p_v2 *v, bool initiator, uint32_t magic,
                const uint8_t sk[X25519_KEY_SIZE])
{
    memset(v, 0, sizeof *v);
    v->initiator = initiator;
    v->magic = magic;
    for (;;) {
        if (sk) {
            memcpy(v->sk, sk, sizeof v->sk);
            x25519_public(v->pk, v->sk);
        } else {
            x25519_keypair(v->pk, v->sk);
        }
        /* A responder tells the protocols apart by the first 4 bytes. */
        if (!initiator || !p2p_v2_is_v1_start(v->pk, magic))
            return 0;
        if (sk) {
            sec_wipe(v->sk, sizeof v->sk);
            return P2P_ERR_INVALID_ARG;
        }
    }
}

void p2p_v2_free(struct p2p_v2 *v)
{
    free(v->buf);
    sec_wipe(v, sizeof *v);
}

void p2p_v2_set_identity(struct p2p_v2 *v, const uint8_t sk[SIG_SECKEY_SIZE])
{
    memcpy(v->node_sk, sk, SIG_SECKEY_SIZE);
    memcpy(v->node_pk, sk + SIG_SEED_SIZE, SIG_PUBKEY_SIZE);  /* seed || pk */
    v->have_identity = true;
}

const uint8_t *p2p_v2_pubkey(const struct p2p_v2 *v) { return v->pk; }

/* Keys for both directions and the session id, from the shared secret and
 * both public keys; the network magic is in the salt, so peers of two
 * networks derive different keys and fail at the first packet. */
static int derive(struct p2p_v2 *v)
{
    uint8_t shared[X25519_KEY_SIZE];
    if (x25519_shared(shared, v->sk, v->peer_pk) != 0)
        return P2P_ERR_DECRYPT;
    uint8_t salt[sizeof KDF_SALT - 1 + 4];
    memcpy(salt, KDF_SALT, sizeof KDF_SALT - 1);
    le32_put(salt + sizeof KDF_SALT - 1, v->magic);
    uint8_t ikm[3 * X25519_KEY_SIZE];
    memcpy(ikm, shared, X25519_KEY_SIZE);
    memcpy(ikm + X25519_KEY_SIZE, v->initiator ? v->pk : v->peer_pk, X25519_KEY_SIZE);
    memcpy(ikm + 2 * X25519_KEY_SIZE, v->initiator ? v->peer_pk : v->pk, X25519_KEY_SIZE);
    uint8_t okm[4 * AEAD_KEY_SIZE + P2P_V2_SESSION_ID_BYTES];
    hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm, KDF_INFO,
                sizeof KDF_INFO - 1);
    struct p2p_v2_dir *i2r = v->initiator ? &v->send : &v->recv;
    struct p2p_v2_dir *r2i = v->initiator ? &v->recv : &v->send;
    memcpy(i2r->len_key, okm, AEAD_KEY_SIZE);
    memcpy(i2r->body_key, okm + AEAD_KEY_SIZE, AEAD_KEY_SIZE);
    memcpy(r2i->len_key, okm + 2 * AEAD_KEY_SIZE, AEAD_KEY_SIZE);
    memcpy(r2i->body_key, okm + 3 * AEAD_KEY_SIZE, AEAD_KEY_SIZE);
    memcpy(v->session_id, okm + 4 * AEAD_KEY_SIZE, P2P_V2_SESSION_ID_BYTES);
    sec_wipe(shared, sizeof shared);
    sec_wipe(ikm, sizeof ikm);
    sec_wipe(okm, sizeof okm);
    sec_wipe(v->sk, sizeof v->sk);   /* ephemeral: not needed any more */
    v->keys_ready = true;
    return 0;
}

static void nonce_of(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t packets)
{
    le32_put(nonce, 0);
    le64_put(nonce + 4, packets);
}

/* After every P2P_V2_REKEY_INTERVAL packets a direction's keys are replaced
 * by a one-way function of themselves (forward secrecy within a session). */
static void advance(struct p2p_v2_dir *d)
{
    d->packets++;
    if (d->packets % P2P_V2_REKEY_INTERVAL != 0)
        return;
    uint8_t k[HMAC_SHA256_SIZE];
    hmac_sha256(k, d->len_key, AEAD_KEY_SIZE, REKEY_LABEL, sizeof REKEY_LABEL - 1);
    memcpy(d->len_key, k, AEAD_KEY_SIZE);
    hmac_sha256(k, d->body_key, AEAD_KEY_SIZE, REKEY_LABEL, sizeof REKEY_LABEL - 1);
    memcpy(d->body_key, k, AEAD_KEY_SIZE);
    sec_wipe(k, sizeof k);
}

static void length_mask(uint8_t out[P2P_V2_LENGTH_BYTES], const struct p2p_v2_dir *d)
{
    uint8_t nonce[AEAD_NONCE_SIZE];
    nonce_of(nonce, d->packets);
    memset(out, 0, P2P_V2_LENGTH_BYTES);
    chacha20_xor(out, P2P_V2_LENGTH_BYTES, d->len_key, nonce);
}

/* Appends one sealed packet: encrypted length, then contents (hdr then
 * body, sealed in place in w: no copy of the payload) and tag. */
static int seal_contents(struct p2p_v2 *v, struct wr *w, const uint8_t *hdr, size_t hdr_len,
                         const uint8_t *body, size_t body_len)
{
    size_t len = hdr_len + body_len;
    if (len > P2P_V2_MAX_CONTENTS_BYTES)
        return P2P_ERR_OVERSIZE;
    uint8_t lenb[P2P_V2_LENGTH_BYTES], mask[P2P_V2_LENGTH_BYTES];
    length_mask(mask, &v->send);
    for (int i = 0; i < P2P_V2_LENGTH_BYTES; i++)
        lenb[i] = (uint8_t)(len >> (8 * i)) ^ mask[i];
    static const uint8_t tag_room[AEAD_TAG_SIZE];
    size_t start = w->len;
    if (!wr_bytes(w, lenb, sizeof lenb) || !wr_bytes(w, hdr, hdr_len) ||
        (body_len && !wr_bytes(w, body, body_len)) || !wr_bytes(w, tag_room, sizeof tag_room))
        return w->err;
    uint8_t nonce[AEAD_NONCE_SIZE];
    nonce_of(nonce, v->send.packets);
    uint8_t *c = w->buf + start + P2P_V2_LENGTH_BYTES;
    aead_seal(c, c, len, lenb, sizeof lenb, nonce, v->send.body_key);
    advance(&v->send);
    return 0;
}

/* What a hello signature covers: context, session id, signer's role. */
static void hello_message(uint8_t msg[sizeof HELLO_CONTEXT - 1 + P2P_V2_SESSION_ID_BYTES + 1],
                          const struct p2p_v2 *v, bool signer_is_initiator)
{
    memcpy(msg, HELLO_CONTEXT, sizeof HELLO_CONTEXT - 1);
    memcpy(msg + sizeof HELLO_CONTEXT - 1, v->session_id, P2P_V2_SESSION_ID_BYTES);
    msg[sizeof HELLO_CONTEXT - 1 + P2P_V2_SESSION_ID_BYTES] = signer_is_initiator ? 0 : 1;
}
#define HELLO_MSG_BYTES (sizeof HELLO_CONTEXT - 1 + P2P_V2_SESSION_ID_BYTES + 1)

int p2p_v2_hello(struct p2p_v2 *v, struct wr *w)
{
    if (!v->keys_ready)
        return P2P_ERR_INVALID_ARG;
    uint8_t c[2 + P2P_V2_HELLO_AUTH_BYTES];
    size_t n = 2;
    c[0] = HELLO_VERSION;
    c[1] = v->have_identity ? P2P_V2_HELLO_AUTH : 0;
    if (v->have_identity) {
        uint8_t msg[HELLO_MSG_BYTES];
        hello_message(msg, v, v->initiator);
        memcpy(c + 2, v->node_pk, SIG_PUBKEY_SIZE);
        sig_sign(c + 2 + SIG_PUBKEY_SIZE, msg, sizeof msg, v->node_sk);
        n += P2P_V2_HELLO_AUTH_BYTES;
    }
    return seal_contents(v, w, c, n, NULL, 0);
}

int p2p_v2_seal(struct p2p_v2 *v, struct wr *w, const char *name, const uint8_t *payload,
                size_t len, bool decoy)
{
    size_t nlen = strlen(name);
    if (!v->keys_ready || nlen == 0 || nlen > P2P_COMMAND_BYTES)
        return P2P_ERR_INVALID_ARG;
    if (len > P2P_MAX_PAYLOAD_BYTES)
        return P2P_ERR_OVERSIZE;
    uint8_t type = p2p_v2_type_of(name);
    uint8_t hdr[P2P_V2_HEADER_BYTES + P2P_COMMAND_BYTES] = {0};
    hdr[0] = decoy ? P2P_V2_FLAG_DECOY : 0;
    hdr[1] = type;
    if (!type)
        memcpy(hdr + P2P_V2_HEADER_BYTES, name, nlen);
    return seal_contents(v, w, hdr, P2P_V2_HEADER_BYTES + (type ? 0 : P2P_COMMAND_BYTES),
                         payload, len);
}

static long fail(struct p2p_v2 *v, int err)
{
    v->failed = true;
    return err;
}

static int check_hello(struct p2p_v2 *v, const uint8_t *c, size_t len, struct p2p_v2_out *out)
{
    if (len < 2 || c[0] != HELLO_VERSION)
        return P2P_ERR_MALFORMED;
    bool auth = c[1] & P2P_V2_HELLO_AUTH;
    if (len != 2 + (auth ? P2P_V2_HELLO_AUTH_BYTES : 0))
        return P2P_ERR_MALFORMED;
    out->peer_authenticated = false;
    if (auth) {
        uint8_t msg[HELLO_MSG_BYTES];
        hello_message(msg, v, !v->initiator);
        if (!sig_verify(c + 2 + SIG_PUBKEY_SIZE, msg, sizeof msg, c + 2))
            return P2P_ERR_DECRYPT;
        memcpy(out->peer_node_key, c + 2, SIG_PUBKEY_SIZE);
        out->peer_authenticated = true;
    }
    return 0;
}

/* A message packet's contents: flags | type | [name] | payload. Returns 1
 * for a message, 0 for a decoy, or an error. */
static int parse_msg(const uint8_t *c, size_t len, struct p2p_v2_out *out)
{
    if (len < P2P_V2_HEADER_BYTES)
        return P2P_ERR_MALFORMED;
    if (c[0] & P2P_V2_FLAG_DECOY)
        return 0;                   /* other flag bits are reserved and ignored */
    size_t hdr = P2P_V2_HEADER_BYTES;
    memset(out->name, 0, sizeof out->name);
    if (c[1] == 0) {
        if (len < hdr + P2P_COMMAND_BYTES)
            return P2P_ERR_MALFORMED;
        memcpy(out->name, c + hdr, P2P_COMMAND_BYTES);
        hdr += P2P_COMMAND_BYTES;
    } else {
        const char *n = p2p_v2_name_of(c[1]);
        if (!n)
            return P2P_ERR_MALFORMED;
        memcpy(out->name, n, strlen(n));
    }
    out->payload = c + hdr;
    out->len = len - hdr;
    return 1;
}

long p2p_v2_feed(struct p2p_v2 *v, const uint8_t *in, size_t len, struct p2p_v2_out *out)
{
    out->ev = P2P_V2_NONE;
    if (v->failed)
        return P2P_ERR_DECRYPT;
    if (v->delivered) {
        /* The message handed out last time is done with; a big buffer
         * (a block) is not kept for the small messages that follow. */
        v->delivered = false;
        if (v->buf_cap > P2P_RECV_BUFFER_KEEP_BYTES) {
            free(v->buf);
            v->buf = NULL;
            v->buf_cap = 0;
        }
    }
    size_t used = 0;
    if (!v->keys_ready) {
        size_t n = X25519_KEY_SIZE - v->peer_pk_have;
        if (n > len)
            n = len;
        memcpy(v->peer_pk + v->peer_pk_have, in, n);
        v->peer_pk_have += n;
        if (v->peer_pk_have == X25519_KEY_SIZE) {
            int rc = derive(v);
            if (rc)
                return fail(v, rc);
            out->ev = P2P_V2_KEYS;
        }
        return (long)n;
    }
    while (used < len) {
        if (v->len_have < P2P_V2_LENGTH_BYTES) {
            v->len_buf[v->len_have++] = in[used++];
            if (v->len_have < P2P_V2_LENGTH_BYTES)
                continue;
            uint8_t mask[P2P_V2_LENGTH_BYTES];
            length_mask(mask, &v->recv);
            v->contents_len = 0;
            for (int i = 0; i < P2P_V2_LENGTH_BYTES; i++)
                v->contents_len |= (uint32_t)(v->len_buf[i] ^ mask[i]) << (8 * i);
            /* Checked before any byte is buffered for it. The hello is
             * short, so a peer on another network (other keys: a random
             * length) fails here at once rather than waiting for bytes. */
            if (!v->hello_seen && v->contents_len > 2 + P2P_V2_HELLO_AUTH_BYTES)
                return fail(v, P2P_ERR_DECRYPT);
            if (v->contents_len > (v->max_contents ? v->max_contents
                                                    : P2P_V2_MAX_CONTENTS_BYTES))
                return fail(v, P2P_ERR_OVERSIZE);
            v->buf_len = 0;
        }
        size_t need = (size_t)v->contents_len + AEAD_TAG_SIZE;
        size_t n = need - v->buf_len;
        if (n > len - used)
            n = len - used;
        if (n == 0)
            break;                  /* the length was the last byte we had */
        if (v->buf_len + n > v->buf_cap) {
            /* Grow with what has arrived, doubling, never past this packet. */
            size_t cap = v->buf_cap ? v->buf_cap : 256;
            while (cap < v->buf_len + n)
                cap *= 2;
            if (cap > need)
                cap = need;
            uint8_t *b = p2p__realloc(v->buf, cap);
            if (!b)
                return fail(v, P2P_ERR_NOMEM);
            v->buf = b;
            v->buf_cap = cap;
        }
        memcpy(v->buf + v->buf_len, in + used, n);
        v->buf_len += n;
        used += n;
        if (v->buf_len < need)
            break;
        uint8_t nonce[AEAD_NONCE_SIZE];
        nonce_of(nonce, v->recv.packets);
        if (aead_open(v->buf, v->buf, need, v->len_buf, sizeof v->len_buf, nonce,
                      v->recv.body_key) != 0)
            return fail(v, P2P_ERR_DECRYPT);
        advance(&v->recv);
        v->len_have = 0;
        if (!v->hello_seen) {
            int rc = check_hello(v, v->buf, v->contents_len, out);
            if (rc)
                return fail(v, rc);
            v->hello_seen = true;
            out->ev = P2P_V2_HELLO;
            return (long)used;
        }
        int rc = parse_msg(v->buf, v->contents_len, out);
        if (rc < 0)
            return fail(v, rc);
        if (rc == 1) {
            out->ev = P2P_V2_MSG;
            v->delivered = true;
            return (long)used;
        }
    }
    return (long)used;
}
