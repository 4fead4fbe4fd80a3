#include "p2p/msg.h"

#include <assert.h>
#include <string.h>

#include "chain/err.h"
#include "p2p/wire.h"

/* Ends a decode: reader error, or bytes left over. */
static int finish(struct rd *r)
{
    if (r->err)
        return p2p_err_from_chain(r->err);
    if (!rd_done(r))
        return P2P_ERR_TRAILING;
    return 0;
}

int p2p_dec_version(const uint8_t *buf, size_t len, struct p2p_version *v)
{
    struct rd r;
    uint32_t u32 = 0, height = 0;
    uint64_t ts = 0, ua_len = 0;
    uint8_t relay = 0;
    const uint8_t *ua = NULL;

    memset(v, 0, sizeof(*v));
    rd_init(&r, buf, len);
    rd_u32(&r, &u32);
    rd_u64(&r, &v->services);
    rd_u64(&r, &ts);
    p2p_get_netaddr(&r, &v->recv_services, &v->addr_recv);
    p2p_get_netaddr(&r, &v->from_services, &v->addr_from);
    rd_u64(&r, &v->nonce);
    if (rd_varint(&r, &ua_len, P2P_MAX_USER_AGENT_BYTES))
        rd_skip(&r, &ua, (size_t)ua_len);
    rd_u32(&r, &height);
    rd_u8(&r, &relay);
    int err = finish(&r);
    if (err)
        return err;
    if (relay > 1)
        return P2P_ERR_NONCANONICAL;
    /* A user agent is printable ASCII: it ends up in logs. */
    for (size_t i = 0; i < ua_len; i++)
        if (ua[i] < 0x20 || ua[i] > 0x7e)
            return P2P_ERR_MALFORMED;
    v->version = (int32_t)u32;
    v->timestamp = (int64_t)ts;
    memcpy(v->user_agent, ua, (size_t)ua_len);
    v->user_agent[ua_len] = '\0';
    v->start_height = (int32_t)height;
    v->relay = relay != 0;
    return 0;
}

int p2p_dec_nonce(const uint8_t *buf, size_t len, uint64_t *nonce)
{
    struct rd r;
    rd_init(&r, buf, len);
    rd_u64(&r, nonce);
    return finish(&r);
}

int p2p_dec_empty(const uint8_t *buf, size_t len)
{
    (void)buf;
    return len == 0 ? 0 : P2P_ERR_TRAILING;
}

/* varint count (<= max) then count entries of `size` bytes, borrowed. */
static int dec_list(const uint8_t *buf, size_t len, uint64_t max, size_t size,
                    struct rd *r, struct p2p_list *l)
{
    uint64_t n = 0;
    memset(l, 0, sizeof(*l));
    rd_init(r, buf, len);
    if (!rd_varint(r, &n, max))
        return p2p_err_from_chain(r->err);
    /* The count is capped above, and checked against what is really there
     * before anyone walks it. */
    if (rd_left(r) / size < n)
        return P2P_ERR_TRUNCATED;
    l->n = (size_t)n;
    rd_skip(r, &l->raw, (size_t)n * size);
    return 0;
}

int p2p_dec_addr(const uint8_t *buf, size_t len, struct p2p_list *l)
{
    struct rd r;
    int err = dec_list(buf, len, P2P_MAX_ADDR_ENTRIES, P2P_ADDR_ENTRY_BYTES, &r, l);
    return err ? err : finish(&r);
}

int p2p_dec_inv(const uint8_t *buf, size_t len, struct p2p_list *l)
{
    struct rd r;
    int err = dec_list(buf, len, P2P_MAX_INV_ENTRIES, P2P_INV_ENTRY_BYTES, &r, l);
    if (err || (err = finish(&r)))
        return err;
    for (size_t i = 0; i < l->n; i++) {
        uint32_t type = le32_get(l->raw + i * P2P_INV_ENTRY_BYTES);
        if (type != P2P_INV_TX && type != P2P_INV_BLOCK)
            return P2P_ERR_MALFORMED;
    }
    return 0;
}

int p2p_dec_tx(const uint8_t *buf, size_t len, struct chain_tx *tx)
{
    if (len > P2P_MAX_TX_BYTES)
        return P2P_ERR_OVERSIZE;
    int err = chain_tx_parse(tx, buf, len);
    return err ? p2p_err_from_chain(err) : 0;
}

int p2p_dec_block(const uint8_t *buf, size_t len, struct chain_block *b)
{
    if (len > P2P_MAX_BLOCK_BYTES)
        return P2P_ERR_OVERSIZE;
    int err = chain_block_parse(b, buf, len, P2P_MAX_BLOCK_BYTES);
    return err ? p2p_err_from_chain(err) : 0;
}

int p2p_dec_getheaders(const uint8_t *buf, size_t len, struct p2p_getheaders *g)
{
    struct rd r;
    memset(g, 0, sizeof(*g));
    if (len < 4)
        return P2P_ERR_TRUNCATED;
    g->version = le32_get(buf);
    int err = dec_list(buf + 4, len - 4, P2P_MAX_LOCATOR_ENTRIES, 32, &r, &g->locator);
    if (err)
        return err;
    rd_bytes(&r, g->stop, 32);
    return finish(&r);
}

int p2p_dec_headers(const uint8_t *buf, size_t len, struct p2p_list *l)
{
    struct rd r;
    int err = dec_list(buf, len, P2P_MAX_HEADERS_ENTRIES, P2P_HEADERS_ENTRY_BYTES, &r, l);
    if (err || (err = finish(&r)))
        return err;
    /* Each header is followed by a tx count that must be a zero varint. */
    for (size_t i = 0; i < l->n; i++)
        if (l->raw[i * P2P_HEADERS_ENTRY_BYTES + HEADER_SIZE] != 0)
            return P2P_ERR_MALFORMED;
    return 0;
}

/* Reads one recon node; budget_ids counts listed txids left. */
static bool recon_read(struct rd *r, struct p2p_recon_node *nd, size_t *budget_ids)
{
    uint64_t count = 0;
    memset(nd, 0, sizeof(*nd));
    if (!rd_u8(r, &nd->kind) || !rd_u8(r, &nd->depth) || !rd_u32(r, &nd->prefix)
        || !rd_varint(r, &count, UINT32_MAX))
        return false;
    nd->count = (uint32_t)count;
    if (nd->kind > P2P_RECON_LISTING || nd->depth > P2P_RECON_MAX_DEPTH) {
        r->err = CHAIN_ERR_INTERNAL;   /* mapped to MALFORMED */
        return false;
    }
    /* The prefix has depth * FANOUT_BITS significant bits. */
    unsigned bits = nd->depth * P2P_RECON_FANOUT_BITS;
    if (bits < 32 && (nd->prefix >> bits) != 0) {
        r->err = CHAIN_ERR_INTERNAL;
        return false;
    }
    if (nd->kind == P2P_RECON_SUMMARY)
        return rd_u64(r, &nd->xor);
    if (count > *budget_ids) {
        r->err = CHAIN_ERR_TOO_LARGE;
        return false;
    }
    if (rd_left(r) / 32 < count) {
        r->err = CHAIN_ERR_TRUNCATED;
        return false;
    }
    *budget_ids -= (size_t)count;
    return rd_skip(r, &nd->ids, (size_t)count * 32);
}

int p2p_dec_recon(const uint8_t *buf, size_t len, struct p2p_recon_msg *m)
{
    struct rd r;
    uint64_t n = 0;
    size_t budget = P2P_MAX_RECON_IDS;
    struct p2p_recon_node nd;

    memset(m, 0, sizeof(*m));
    rd_init(&r, buf, len);
    if (!rd_varint(&r, &n, P2P_MAX_RECON_NODES))
        return p2p_err_from_chain(r.err);
    size_t start = r.pos;
    for (uint64_t i = 0; i < n; i++)
        if (!recon_read(&r, &nd, &budget))
            return p2p_err_from_chain(r.err);
    int err = finish(&r);
    if (err)
        return err;
    m->n = (size_t)n;
    m->raw = buf + start;
    m->raw_len = len - start;
    return 0;
}

void p2p_inv_at(const struct p2p_list *l, size_t i, uint32_t *type, const uint8_t **hash)
{
    assert(i < l->n);
    const uint8_t *e = l->raw + i * P2P_INV_ENTRY_BYTES;
    *type = le32_get(e);
    *hash = e + 4;
}

void p2p_addr_at(const struct p2p_list *l, size_t i, struct p2p_addr_entry *e)
{
    struct rd r;
    assert(i < l->n);
    rd_init(&r, l->raw + i * P2P_ADDR_ENTRY_BYTES, P2P_ADDR_ENTRY_BYTES);
    rd_u32(&r, &e->time);
    p2p_get_netaddr(&r, &e->services, &e->addr);
}

void p2p_header_at(const struct p2p_list *l, size_t i, struct chain_header *h)
{
    struct rd r;
    assert(i < l->n);
    rd_init(&r, l->raw + i * P2P_HEADERS_ENTRY_BYTES, HEADER_SIZE);
    int err = chain_header_decode(&r, h);
    assert(err == 0);
    (void)err;
}

const uint8_t *p2p_hash_at(const struct p2p_list *l, size_t i)
{
    assert(i < l->n);
    return l->raw + i * 32;
}

void p2p_recon_iter_init(struct p2p_recon_iter *it, const struct p2p_recon_msg *m)
{
    rd_init(&it->r, m->raw, m->raw_len);
    it->left = m->n;
}

bool p2p_recon_next(struct p2p_recon_iter *it, struct p2p_recon_node *node)
{
    size_t budget = P2P_MAX_RECON_IDS;
    if (it->left == 0)
        return false;
    it->left--;
    bool ok = recon_read(&it->r, node, &budget);
    assert(ok);   /* validated by p2p_dec_recon */
    return ok;
}

/* ---- Writers ---- */

bool p2p_put_version(struct wr *w, const struct p2p_version *v)
{
    size_t ua_len = strlen(v->user_agent);
    assert(ua_len <= P2P_MAX_USER_AGENT_BYTES);
    wr_u32(w, (uint32_t)v->version);
    wr_u64(w, v->services);
    wr_u64(w, (uint64_t)v->timestamp);
    p2p_put_netaddr(w, v->recv_services, &v->addr_recv);
    p2p_put_netaddr(w, v->from_services, &v->addr_from);
    wr_u64(w, v->nonce);
    wr_varbytes(w, v->user_agent, ua_len);
    wr_u32(w, (uint32_t)v->start_height);
    return wr_u8(w, v->relay ? 1 : 0);
}

bool p2p_put_nonce(struct wr *w, uint64_t nonce)
{
    return wr_u64(w, nonce);
}

bool p2p_put_addr(struct wr *w, const struct p2p_addr_entry *e, size_t n)
{
    assert(n <= P2P_MAX_ADDR_ENTRIES);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        wr_u32(w, e[i].time);
        p2p_put_netaddr(w, e[i].services, &e[i].addr);
    }
    return w->err == 0;
}

bool p2p_put_inv(struct wr *w, uint32_t type, const uint8_t (*hashes)[32], size_t n)
{
    assert(n <= P2P_MAX_INV_ENTRIES);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        wr_u32(w, type);
        wr_bytes(w, hashes[i], 32);
    }
    return w->err == 0;
}

bool p2p_put_inv_mixed(struct wr *w, const uint32_t *types, const uint8_t (*hashes)[32],
                       size_t n)
{
    assert(n <= P2P_MAX_INV_ENTRIES);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        wr_u32(w, types[i]);
        wr_bytes(w, hashes[i], 32);
    }
    return w->err == 0;
}

bool p2p_put_getheaders(struct wr *w, const uint8_t (*locator)[32], size_t n,
                        const uint8_t stop[32])
{
    assert(n <= P2P_MAX_LOCATOR_ENTRIES);
    wr_u32(w, P2P_PROTOCOL_VERSION);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++)
        wr_bytes(w, locator[i], 32);
    return wr_bytes(w, stop, 32);
}

bool p2p_put_headers(struct wr *w, const struct chain_header *h, size_t n)
{
    assert(n <= P2P_MAX_HEADERS_ENTRIES);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        chain_header_encode(w, &h[i]);
        wr_u8(w, 0);
    }
    return w->err == 0;
}

bool p2p_put_recon_count(struct wr *w, size_t n)
{
    assert(n <= P2P_MAX_RECON_NODES);
    return wr_varint(w, n);
}

bool p2p_put_recon_summary(struct wr *w, uint8_t depth, uint32_t prefix, uint32_t count,
                           uint64_t xor)
{
    assert(depth <= P2P_RECON_MAX_DEPTH);
    wr_u8(w, P2P_RECON_SUMMARY);
    wr_u8(w, depth);
    wr_u32(w, prefix);
    wr_varint(w, count);
    return wr_u64(w, xor);
}

bool p2p_put_recon_listing(struct wr *w, uint8_t depth, uint32_t prefix,
                           const uint8_t (*ids)[32], uint32_t n)
{
    assert(depth <= P2P_RECON_MAX_DEPTH && n <= P2P_MAX_RECON_IDS);
    wr_u8(w, P2P_RECON_LISTING);
    wr_u8(w, depth);
    wr_u32(w, prefix);
    wr_varint(w, n);
    for (uint32_t i = 0; i < n; i++)
        wr_bytes(w, ids[i], 32);
    return w->err == 0;
}

int p2p_build_empty(struct wr *w, uint32_t magic, enum p2p_cmd cmd)
{
    p2p_frame_begin(w);
    return p2p_frame_end(w, 0, magic, cmd);
}
