#include "p2p/wire.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/err.h"
#include "crypto/hash.h"
#include "p2p/util.h"

static const char *const cmd_names[P2P_CMD_COUNT] = {
    [P2P_CMD_VERSION] = "version",   [P2P_CMD_VERACK] = "verack",
    [P2P_CMD_PING] = "ping",         [P2P_CMD_PONG] = "pong",
    [P2P_CMD_ADDR] = "addr",         [P2P_CMD_GETADDR] = "getaddr",
    [P2P_CMD_INV] = "inv",           [P2P_CMD_GETDATA] = "getdata",
    [P2P_CMD_NOTFOUND] = "notfound", [P2P_CMD_TX] = "tx",
    [P2P_CMD_BLOCK] = "block",       [P2P_CMD_GETHEADERS] = "getheaders",
    [P2P_CMD_HEADERS] = "headers",   [P2P_CMD_SENDHEADERS] = "sendheaders",
    [P2P_CMD_MEMPOOL] = "mempool",   [P2P_CMD_RECON] = "recon",
    [P2P_CMD_SENDCMPCT] = "sendcmpct", [P2P_CMD_CMPCTBLOCK] = "cmpctblock",
    [P2P_CMD_GETBLOCKTXN] = "getblocktxn", [P2P_CMD_BLOCKTXN] = "blocktxn",
    [P2P_CMD_PUSHREQ] = "pushreq",
    [P2P_CMD_UNKNOWN] = "unknown",
};

const char *p2p_cmd_name(enum p2p_cmd c)
{
    if ((unsigned)c >= P2P_CMD_COUNT)
        return "unknown";
    return cmd_names[c];
}

size_t p2p_cmd_max_payload(enum p2p_cmd cmd)
{
    switch (cmd) {
    case P2P_CMD_VERSION:     return P2P_MAX_VERSION_BYTES;
    case P2P_CMD_VERACK:      return 0;
    case P2P_CMD_PING:        return P2P_MAX_PING_BYTES;
    case P2P_CMD_PONG:        return P2P_MAX_PING_BYTES;
    case P2P_CMD_ADDR:        return P2P_MAX_ADDR_BYTES;
    case P2P_CMD_GETADDR:     return 0;
    case P2P_CMD_INV:         return P2P_MAX_INV_BYTES;
    case P2P_CMD_GETDATA:     return P2P_MAX_INV_BYTES;
    case P2P_CMD_NOTFOUND:    return P2P_MAX_INV_BYTES;
    case P2P_CMD_TX:          return P2P_MAX_TX_BYTES;
    case P2P_CMD_BLOCK:       return P2P_MAX_BLOCK_BYTES;
    case P2P_CMD_GETHEADERS:  return P2P_MAX_GETHEADERS_BYTES;
    case P2P_CMD_HEADERS:     return P2P_MAX_HEADERS_BYTES;
    case P2P_CMD_SENDHEADERS: return 0;
    case P2P_CMD_MEMPOOL:     return 0;
    case P2P_CMD_RECON:       return P2P_MAX_RECON_BYTES;
    case P2P_CMD_SENDCMPCT:   return P2P_MAX_SENDCMPCT_BYTES;
    case P2P_CMD_CMPCTBLOCK:  return P2P_MAX_CMPCTBLOCK_BYTES;
    case P2P_CMD_GETBLOCKTXN: return P2P_MAX_GETBLOCKTXN_BYTES;
    case P2P_CMD_BLOCKTXN:    return P2P_MAX_BLOCKTXN_BYTES;
    case P2P_CMD_PUSHREQ:     return P2P_MAX_PUSHREQ_BYTES;
    case P2P_CMD_UNKNOWN:
    case P2P_CMD_COUNT:       break;
    }
    return P2P_MAX_UNKNOWN_PAYLOAD_BYTES;
}

int p2p_cmd_parse(const uint8_t raw[P2P_COMMAND_BYTES])
{
    size_t n = 0;
    while (n < P2P_COMMAND_BYTES && raw[n] != 0) {
        if (raw[n] < 0x21 || raw[n] > 0x7e)
            return P2P_ERR_BAD_COMMAND;
        n++;
    }
    if (n == 0)
        return P2P_ERR_BAD_COMMAND;
    for (size_t i = n; i < P2P_COMMAND_BYTES; i++)
        if (raw[i] != 0)
            return P2P_ERR_BAD_COMMAND;
    for (int c = 0; c < P2P_CMD_UNKNOWN; c++) {
        size_t l = strlen(cmd_names[c]);
        if (l == n && memcmp(raw, cmd_names[c], n) == 0)
            return c;
    }
    return P2P_CMD_UNKNOWN;
}

int p2p_frame_parse(const uint8_t buf[P2P_HEADER_BYTES], uint32_t magic,
                    struct p2p_frame_hdr *h)
{
    memset(h, 0, sizeof(*h));
    h->magic = le32_get(buf);
    if (h->magic != magic)
        return P2P_ERR_BAD_MAGIC;
    int c = p2p_cmd_parse(buf + 4);
    if (c < 0)
        return c;
    h->cmd = (enum p2p_cmd)c;
    memcpy(h->name, buf + 4, P2P_COMMAND_BYTES);
    h->name[P2P_COMMAND_BYTES] = '\0';
    h->len = le32_get(buf + 16);
    memcpy(h->checksum, buf + 20, 4);
    /* The cap is checked here, before anyone allocates len bytes. */
    if (h->len > p2p_cmd_max_payload(h->cmd))
        return P2P_ERR_OVERSIZE;
    return 0;
}

bool p2p_frame_checksum_ok(const struct p2p_frame_hdr *h, const uint8_t *payload, size_t len)
{
    uint8_t d[HASH_SIZE];
    hash_sha256d(d, payload, len);
    return len == h->len && memcmp(d, h->checksum, 4) == 0;
}

void p2p_frame_begin(struct wr *w)
{
    static const uint8_t zero[P2P_HEADER_BYTES];
    wr_bytes(w, zero, sizeof(zero));
}

int p2p_frame_end(struct wr *w, size_t start, uint32_t magic, enum p2p_cmd cmd)
{
    assert(cmd < P2P_CMD_UNKNOWN);
    if (w->err)
        return p2p_err_from_chain(w->err);
    assert(w->len >= start + P2P_HEADER_BYTES);
    size_t plen = w->len - start - P2P_HEADER_BYTES;
    if (plen > p2p_cmd_max_payload(cmd))
        return P2P_ERR_OVERSIZE;
    uint8_t *h = w->buf + start;
    le32_put(h, magic);
    memset(h + 4, 0, P2P_COMMAND_BYTES);
    memcpy(h + 4, cmd_names[cmd], strlen(cmd_names[cmd]));
    le32_put(h + 16, (uint32_t)plen);
    uint8_t d[HASH_SIZE];
    hash_sha256d(d, h + P2P_HEADER_BYTES, plen);
    memcpy(h + 20, d, 4);
    return 0;
}

bool p2p_put_netaddr(struct wr *w, uint64_t services, const struct p2p_addr *a)
{
    uint8_t port[2] = { (uint8_t)(a->port >> 8), (uint8_t)a->port };
    return wr_u64(w, services) && wr_bytes(w, a->ip, 16) && wr_bytes(w, port, 2);
}

bool p2p_get_netaddr(struct rd *r, uint64_t *services, struct p2p_addr *a)
{
    uint8_t port[2];
    if (rd_left(r) < 26) {
        if (!r->err)
            r->err = CHAIN_ERR_TRUNCATED;
        return false;
    }
    rd_u64(r, services);
    rd_bytes(r, a->ip, 16);
    rd_bytes(r, port, 2);
    a->port = (uint16_t)(port[0] << 8 | port[1]);
    return true;
}

int p2p_err_from_chain(int err)
{
    switch (err) {
    case 0:                              return 0;
    case CHAIN_ERR_TRUNCATED:            return P2P_ERR_TRUNCATED;
    case CHAIN_ERR_TRAILING:             return P2P_ERR_TRAILING;
    case CHAIN_ERR_VARINT_NONCANONICAL:  return P2P_ERR_NONCANONICAL;
    case CHAIN_ERR_TOO_LARGE:            return P2P_ERR_OVERSIZE;
    case CHAIN_ERR_NOMEM:                return P2P_ERR_NOMEM;
    default:                             return P2P_ERR_MALFORMED;
    }
}

void p2p_framer_init(struct p2p_framer *f, uint32_t magic)
{
    memset(f, 0, sizeof(*f));
    f->magic = magic;
}

void p2p_framer_free(struct p2p_framer *f)
{
    if (f->v2) {
        p2p_v2_free(f->v2);
        free(f->v2);
        f->v2 = NULL;
    }
    wr_free(&f->tx);
    free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
}

void p2p_framer_set_established(struct p2p_framer *f)
{
    f->established = true;
}

size_t p2p_framer_allocated(const struct p2p_framer *f)
{
    return f->cap + (f->v2 ? f->v2->buf_cap : 0);
}

/* Header complete: check it before anything is allocated for it. */
/* The rules a message meets before its payload is buffered (v1: at its
 * header; v2: once its packet is open, the packet itself capped before). */
static int framer_gate(const struct p2p_framer *f, const struct p2p_frame_hdr *h)
{
    if (!f->established) {
        /* A peer that has not shaken hands gets no buffer worth having:
         * the command decides at header time, the cap is small. */
        if (h->cmd != P2P_CMD_VERSION && h->cmd != P2P_CMD_VERACK)
            return P2P_ERR_HANDSHAKE;
        if (h->len > P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES)
            return P2P_ERR_OVERSIZE;
    }
    return 0;
}

static int framer_header(struct p2p_framer *f)
{
    int err = p2p_frame_parse(f->hdr_raw, f->magic, &f->hdr);
    if (err)
        return err;
    return framer_gate(f, &f->hdr);
}

/* Room for `more` payload bytes beyond f->len, growing geometrically with
 * what arrived but never past the declared length. */
static int framer_reserve(struct p2p_framer *f, size_t more)
{
    size_t want = f->len + more;   /* <= hdr.len: the caller caps more */
    if (want <= f->cap)
        return 0;
    size_t cap = f->cap ? 2 * f->cap : P2P_RECV_BUFFER_MIN_BYTES;
    if (cap < want)
        cap = want;
    if (cap > f->hdr.len)
        cap = f->hdr.len;
    uint8_t *nb = p2p__realloc(f->buf, cap);
    if (!nb)
        return P2P_ERR_NOMEM;
    f->buf = nb;
    f->cap = cap;
    return 0;
}

static ssize_t v1_feed(struct p2p_framer *f, const uint8_t *in, size_t len,
                       struct p2p_frame *out)
{
    if (f->delivered) {
        /* The frame handed out last time is done with. */
        f->delivered = false;
        f->hdr_len = 0;
        f->len = 0;
        if (f->cap > P2P_RECV_BUFFER_KEEP_BYTES) {
            free(f->buf);
            f->buf = NULL;
            f->cap = 0;
        }
    }
    size_t used = 0;
    if (f->hdr_len < P2P_HEADER_BYTES) {
        size_t take = P2P_HEADER_BYTES - f->hdr_len;
        if (take > len)
            take = len;
        memcpy(f->hdr_raw + f->hdr_len, in, take);
        f->hdr_len += take;
        used += take;
        if (f->hdr_len < P2P_HEADER_BYTES)
            return 0;
        int err = framer_header(f);
        if (err)
            return err;
    }
    size_t take = f->hdr.len - f->len;
    if (take > len - used)
        take = len - used;
    if (take > 0) {
        int err = framer_reserve(f, take);
        if (err)
            return err;
        memcpy(f->buf + f->len, in + used, take);
        f->len += take;
        used += take;
    }
    if (f->len < f->hdr.len)
        return 0;
    f->delivered = true;
    out->hdr = f->hdr;
    out->payload = f->buf;
    return (ssize_t)used;
}

/* ---- v2 ---- */

static int v2_begin(struct p2p_framer *f, bool initiator, const uint8_t *node_sk)
{
    f->v2 = p2p__calloc(1, sizeof(*f->v2));
    if (!f->v2)
        return P2P_ERR_NOMEM;
    int err = p2p_v2_init(f->v2, initiator, f->magic, NULL);
    if (err)
        return err;
    if (node_sk)
        p2p_v2_set_identity(f->v2, node_sk);
    f->transport = P2P_TRANSPORT_V2;
    wr_init(&f->tx, P2P_V2_HANDSHAKE_TX_MAX_BYTES);
    if (!wr_bytes(&f->tx, p2p_v2_pubkey(f->v2), P2P_V2_PUBKEY_BYTES))
        return P2P_ERR_NOMEM;
    return 0;
}

int p2p_framer_start_v2(struct p2p_framer *f, const uint8_t *node_sk)
{
    return v2_begin(f, true, node_sk);
}

void p2p_framer_detect(struct p2p_framer *f, bool v1_allowed, const uint8_t *node_sk)
{
    f->transport = P2P_TRANSPORT_DETECT;
    f->v1_allowed = v1_allowed;
    f->node_sk = node_sk;
}

const uint8_t *p2p_framer_tx(const struct p2p_framer *f, size_t *len)
{
    *len = f->tx.len;
    return f->tx.buf;
}

void p2p_framer_tx_done(struct p2p_framer *f)
{
    f->tx.len = 0;
}

int p2p_framer_seal(struct p2p_framer *f, const uint8_t *frame, size_t len, struct wr *out)
{
    if (!f->v2 || !f->v2_ready || len < P2P_HEADER_BYTES)
        return P2P_ERR_INVALID_ARG;
    char name[P2P_COMMAND_BYTES + 1];
    memcpy(name, frame + 4, P2P_COMMAND_BYTES);
    name[P2P_COMMAND_BYTES] = '\0';
    uint32_t plen = le32_get(frame + 16);
    if (plen != len - P2P_HEADER_BYTES)
        return P2P_ERR_INVALID_ARG;
    return p2p_v2_seal(f->v2, out, name, frame + P2P_HEADER_BYTES, plen, false);
}

/* A decrypted message gets the same checks a v1 header does: a known
 * spelling, the command's cap, and before the handshake only
 * version/verack. */
static int v2_message(struct p2p_framer *f, const struct p2p_v2_out *o, struct p2p_frame *out)
{
    struct p2p_frame_hdr *h = &out->hdr;
    memset(h, 0, sizeof(*h));
    h->magic = f->magic;
    int c = p2p_cmd_parse(o->name);
    if (c < 0)
        return c;
    h->cmd = (enum p2p_cmd)c;
    memcpy(h->name, o->name, P2P_COMMAND_BYTES);
    h->len = (uint32_t)o->len;
    h->sealed = true;
    int err = framer_gate(f, h);
    if (err)
        return err;
    if (o->len > p2p_cmd_max_payload(h->cmd))
        return P2P_ERR_OVERSIZE;
    out->kind = P2P_FRAME_MSG;
    out->payload = o->payload;
    return 0;
}

static ssize_t v2_feed(struct p2p_framer *f, const uint8_t *in, size_t len,
                       struct p2p_frame *out)
{
    size_t used = 0;
    while (used < len) {
        /* Before the handshake a packet may hold version/verack at most:
         * the cap is set before the length is read. */
        f->v2->max_contents = f->established ? 0
            : P2P_V2_HEADER_BYTES + P2P_COMMAND_BYTES + P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES;
        struct p2p_v2_out o;
        long rc = p2p_v2_feed(f->v2, in + used, len - used, &o);
        if (rc < 0)
            return rc;
        used += (size_t)rc;
        switch (o.ev) {
        case P2P_V2_NONE:
            break;
        case P2P_V2_KEYS: {
            int err = p2p_v2_hello(f->v2, &f->tx);
            if (err)
                return err;
            break;
        }
        case P2P_V2_HELLO:
            f->v2_ready = true;
            out->kind = P2P_FRAME_V2_READY;
            out->peer_authenticated = o.peer_authenticated;
            memcpy(out->peer_node_key, o.peer_node_key, sizeof(out->peer_node_key));
            return (ssize_t)used;
        case P2P_V2_MSG: {
            int err = v2_message(f, &o, out);
            return err ? err : (ssize_t)used;
        }
        }
    }
    return 0;
}

/* DETECT: the first 4 bytes are the v1 magic (a v1 peer) or the start of
 * a v2 initiator's key. */
static ssize_t detect_feed(struct p2p_framer *f, const uint8_t *in, size_t len,
                           struct p2p_frame *out)
{
    size_t take = 4 - f->hdr_len;
    if (take > len)
        take = len;
    memcpy(f->hdr_raw + f->hdr_len, in, take);
    f->hdr_len += take;
    if (f->hdr_len < 4)
        return 0;
    ssize_t rc;
    if (p2p_v2_is_v1_start(f->hdr_raw, f->magic)) {
        if (!f->v1_allowed)
            return P2P_ERR_V1_REFUSED;
        f->transport = P2P_TRANSPORT_V1;      /* hdr_raw keeps the 4 bytes */
        rc = v1_feed(f, in + take, len - take, out);
    } else {
        int err = v2_begin(f, false, f->node_sk);
        if (err)
            return err;
        uint8_t first[4];
        memcpy(first, f->hdr_raw, 4);
        f->hdr_len = 0;
        struct p2p_v2_out o;
        long r = p2p_v2_feed(f->v2, first, 4, &o);
        if (r < 0)
            return r;
        rc = v2_feed(f, in + take, len - take, out);
    }
    return rc > 0 ? rc + (ssize_t)take : rc;
}

ssize_t p2p_framer_feed(struct p2p_framer *f, const uint8_t *in, size_t len,
                        struct p2p_frame *out)
{
    out->kind = P2P_FRAME_MSG;
    switch (f->transport) {
    case P2P_TRANSPORT_DETECT: return detect_feed(f, in, len, out);
    case P2P_TRANSPORT_V2:     return v2_feed(f, in, len, out);
    case P2P_TRANSPORT_V1:     break;
    }
    return v1_feed(f, in, len, out);
}
