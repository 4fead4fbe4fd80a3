#include "p2p/msg.h"

#include <assert.h>
#include <string.h>

#include "chain/err.h"
#include "crypto/hash.h"
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

int p2p_dec_pushreq(const uint8_t *buf, size_t len, uint32_t *graft, uint32_t *prune)
{
    struct rd r;
    *graft = *prune = 0;
    rd_init(&r, buf, len);
    rd_u32(&r, graft);
    rd_u32(&r, prune);
    int err = finish(&r);
    if (err)
        return err;
    uint32_t all = P2P_PUSH_BUCKETS == 32 ? UINT32_MAX : (1u << P2P_PUSH_BUCKETS) - 1;
    if ((*graft | *prune) & ~all || (*graft & *prune))
        return P2P_ERR_MALFORMED;
    return 0;
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

static int dec_inv_types(const uint8_t *buf, size_t len, struct p2p_list *l, bool cmpct)
{
    struct rd r;
    int err = dec_list(buf, len, P2P_MAX_INV_ENTRIES, P2P_INV_ENTRY_BYTES, &r, l);
    if (err || (err = finish(&r)))
        return err;
    for (size_t i = 0; i < l->n; i++) {
        uint32_t type = le32_get(l->raw + i * P2P_INV_ENTRY_BYTES);
        if (type != P2P_INV_TX && type != P2P_INV_BLOCK && !(cmpct && type == P2P_INV_CMPCT))
            return P2P_ERR_MALFORMED;
    }
    return 0;
}

int p2p_dec_inv(const uint8_t *buf, size_t len, struct p2p_list *l)
{
    return dec_inv_types(buf, len, l, false);
}

int p2p_dec_getdata(const uint8_t *buf, size_t len, struct p2p_list *l)
{
    return dec_inv_types(buf, len, l, true);
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

/* ---- Compact blocks ---- */

int p2p_dec_sendcmpct(const uint8_t *buf, size_t len, struct p2p_sendcmpct *s)
{
    struct rd r;
    uint8_t hb = 0;
    memset(s, 0, sizeof(*s));
    rd_init(&r, buf, len);
    rd_u8(&r, &hb);
    rd_u64(&r, &s->version);
    int err = finish(&r);
    if (err)
        return err;
    if (hb > 1)
        return P2P_ERR_NONCANONICAL;
    s->hb = hb != 0;
    return 0;
}

/* One index delta: the index is *next + delta, below P2P_MAX_CMPCT_TXS;
 * *next moves past it. */
static bool rd_index(struct rd *r, uint64_t *next, uint32_t *index)
{
    uint64_t d = 0;
    if (!rd_varint(r, &d, P2P_MAX_CMPCT_TXS))
        return false;
    if (*next + d >= P2P_MAX_CMPCT_TXS) {
        r->err = CHAIN_ERR_INTERNAL;   /* mapped to MALFORMED */
        return false;
    }
    *index = (uint32_t)(*next + d);
    *next = *index + 1;
    return true;
}

static bool prefilled_read(struct rd *r, uint64_t *next, uint32_t *index, struct chain_tx *tx)
{
    if (!rd_index(r, next, index))
        return false;
    int err = chain_tx_decode(r, tx);
    if (err && !r->err)
        r->err = err;
    return err == 0;
}

int p2p_dec_cmpctblock(const uint8_t *buf, size_t len, struct p2p_cmpctblock *c)
{
    struct rd r;
    uint64_t n = 0, m = 0;
    memset(c, 0, sizeof(*c));
    rd_init(&r, buf, len);
    if (chain_header_decode(&r, &c->hdr) || !rd_u64(&r, &c->nonce)
        || !rd_varint(&r, &n, P2P_MAX_CMPCT_TXS))
        return p2p_err_from_chain(r.err ? r.err : CHAIN_ERR_TRUNCATED);
    if (rd_left(&r) / P2P_CMPCT_SHORTID_BYTES < n)
        return P2P_ERR_TRUNCATED;
    rd_skip(&r, &c->sids, (size_t)n * P2P_CMPCT_SHORTID_BYTES);
    if (!rd_varint(&r, &m, P2P_MAX_CMPCT_TXS - n))
        return p2p_err_from_chain(r.err);
    /* Each prefilled entry takes at least a delta byte and a tx. */
    if (m == 0 || rd_left(&r) / (1 + TX_SIZE_MIN) < m)
        return m == 0 ? P2P_ERR_MALFORMED : P2P_ERR_TRUNCATED;
    size_t start = r.pos;
    uint64_t next = 0;
    for (uint64_t i = 0; i < m; i++) {
        uint32_t index;
        struct chain_tx tx;
        if (!prefilled_read(&r, &next, &index, &tx))
            return p2p_err_from_chain(r.err);
        if ((i == 0 && index != 0) || index >= n + m)
            return P2P_ERR_MALFORMED;   /* the coinbase first; inside the block */
    }
    int err = finish(&r);
    if (err)
        return err;
    c->n_sid = (size_t)n;
    c->n_pre = (size_t)m;
    c->n_tx = (size_t)(n + m);
    c->pre = buf + start;
    c->pre_len = len - start;
    return 0;
}

int p2p_dec_getblocktxn(const uint8_t *buf, size_t len, struct p2p_getblocktxn *g)
{
    struct rd r;
    uint64_t n = 0, next = 0;
    uint32_t index = 0;
    memset(g, 0, sizeof(*g));
    rd_init(&r, buf, len);
    if (!rd_bytes(&r, g->hash, 32) || !rd_varint(&r, &n, P2P_MAX_CMPCT_TXS))
        return p2p_err_from_chain(r.err);
    if (n == 0)
        return P2P_ERR_MALFORMED;
    if (rd_left(&r) < n)
        return P2P_ERR_TRUNCATED;
    size_t start = r.pos;
    for (uint64_t i = 0; i < n; i++)
        if (!rd_index(&r, &next, &index))
            return p2p_err_from_chain(r.err);
    int err = finish(&r);
    if (err)
        return err;
    g->n = (size_t)n;
    g->raw = buf + start;
    g->raw_len = len - start;
    g->last = index;
    return 0;
}

int p2p_dec_blocktxn(const uint8_t *buf, size_t len, struct p2p_blocktxn *b)
{
    struct rd r;
    uint64_t n = 0;
    memset(b, 0, sizeof(*b));
    rd_init(&r, buf, len);
    if (!rd_bytes(&r, b->hash, 32) || !rd_varint(&r, &n, P2P_MAX_CMPCT_TXS))
        return p2p_err_from_chain(r.err);
    if (rd_left(&r) / TX_SIZE_MIN < n)
        return P2P_ERR_TRUNCATED;
    size_t start = r.pos;
    for (uint64_t i = 0; i < n; i++) {
        struct chain_tx tx;
        int err = chain_tx_decode(&r, &tx);
        if (err)
            return p2p_err_from_chain(err);
    }
    int err = finish(&r);
    if (err)
        return err;
    b->n = (size_t)n;
    b->raw = buf + start;
    b->raw_len = len - start;
    return 0;
}

uint64_t p2p_cmpct_sid_at(const struct p2p_cmpctblock *c, size_t i)
{
    assert(i < c->n_sid);
    const uint8_t *e = c->sids + i * P2P_CMPCT_SHORTID_BYTES;
    uint64_t v = 0;
    for (int k = P2P_CMPCT_SHORTID_BYTES - 1; k >= 0; k--)
        v = (v << 8) | e[k];
    return v;
}

void p2p_prefilled_iter_init(struct p2p_prefilled_iter *it, const struct p2p_cmpctblock *c)
{
    rd_init(&it->r, c->pre, c->pre_len);
    it->left = c->n_pre;
    it->next = 0;
}

bool p2p_prefilled_next(struct p2p_prefilled_iter *it, uint32_t *index, struct chain_tx *tx)
{
    if (it->left == 0)
        return false;
    it->left--;
    bool ok = prefilled_read(&it->r, &it->next, index, tx);
    assert(ok);   /* validated by p2p_dec_cmpctblock */
    return ok;
}

void p2p_getblocktxn_indexes(const struct p2p_getblocktxn *g, uint32_t *out)
{
    struct rd r;
    uint64_t next = 0;
    rd_init(&r, g->raw, g->raw_len);
    for (size_t i = 0; i < g->n; i++) {
        bool ok = rd_index(&r, &next, &out[i]);
        assert(ok);   /* validated by p2p_dec_getblocktxn */
        (void)ok;
    }
}

void p2p_blocktxn_iter_init(struct p2p_blocktxn_iter *it, const struct p2p_blocktxn *b)
{
    rd_init(&it->r, b->raw, b->raw_len);
    it->left = b->n;
}

bool p2p_blocktxn_next(struct p2p_blocktxn_iter *it, struct chain_tx *tx)
{
    if (it->left == 0)
        return false;
    it->left--;
    int err = chain_tx_decode(&it->r, tx);
    assert(err == 0);   /* validated by p2p_dec_blocktxn */
    return err == 0;
}

void p2p_cmpct_key(const struct chain_header *h, uint64_t nonce, uint8_t key[16])
{
    uint8_t buf[HEADER_SIZE + 8], out[HASH_SIZE];
    chain_header_serialize(h, buf);
    for (int i = 0; i < 8; i++)
        buf[HEADER_SIZE + i] = (uint8_t)(nonce >> (8 * i));
    hash_sha256(out, buf, sizeof(buf));
    memcpy(key, out, 16);
}

uint64_t p2p_cmpct_shortid(const uint8_t key[16], const uint8_t txid[32])
{
    return hash_siphash24(key, txid, 32) & ((1ull << (8 * P2P_CMPCT_SHORTID_BYTES)) - 1);
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

bool p2p_put_pushreq(struct wr *w, uint32_t graft, uint32_t prune)
{
    assert(!(graft & prune));
    wr_u32(w, graft);
    return wr_u32(w, prune);
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

bool p2p_put_sendcmpct(struct wr *w, bool hb, uint64_t version)
{
    wr_u8(w, hb ? 1 : 0);
    return wr_u64(w, version);
}

static void put_index(struct wr *w, uint64_t *next, uint32_t index)
{
    assert(index >= *next && index < P2P_MAX_CMPCT_TXS);
    wr_varint(w, index - *next);
    *next = (uint64_t)index + 1;
}

bool p2p_put_cmpctblock(struct wr *w, const struct chain_block *b, uint64_t nonce,
                        const bool *prefill)
{
    uint8_t key[16];
    size_t n_pre = 0;
    assert(b->n_tx >= 1 && b->n_tx <= P2P_MAX_CMPCT_TXS && (!prefill || prefill[0]));
    for (size_t i = 0; i < b->n_tx; i++)
        n_pre += prefill ? prefill[i] : i == 0;
    p2p_cmpct_key(&b->hdr, nonce, key);
    chain_header_encode(w, &b->hdr);
    wr_u64(w, nonce);
    wr_varint(w, b->n_tx - n_pre);
    for (size_t i = 0; i < b->n_tx; i++) {
        if (prefill ? prefill[i] : i == 0)
            continue;
        uint64_t sid = p2p_cmpct_shortid(key, b->txs[i].txid);
        for (unsigned k = 0; k < P2P_CMPCT_SHORTID_BYTES; k++)
            wr_u8(w, (uint8_t)(sid >> (8 * k)));
    }
    wr_varint(w, n_pre);
    uint64_t next = 0;
    for (size_t i = 0; i < b->n_tx; i++) {
        if (!(prefill ? prefill[i] : i == 0))
            continue;
        put_index(w, &next, (uint32_t)i);
        chain_tx_encode(w, &b->txs[i]);
    }
    return w->err == 0;
}

bool p2p_put_getblocktxn(struct wr *w, const uint8_t hash[32], const uint32_t *idx, size_t n)
{
    uint64_t next = 0;
    assert(n >= 1 && n <= P2P_MAX_CMPCT_TXS);
    wr_bytes(w, hash, 32);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++)
        put_index(w, &next, idx[i]);
    return w->err == 0;
}

bool p2p_put_blocktxn(struct wr *w, const uint8_t hash[32], const struct chain_tx *const *txs,
                      size_t n)
{
    assert(n <= P2P_MAX_CMPCT_TXS);
    wr_bytes(w, hash, 32);
    wr_varint(w, n);
    for (size_t i = 0; i < n; i++)
        chain_tx_encode(w, txs[i]);
    return w->err == 0;
}

int p2p_build_empty(struct wr *w, uint32_t magic, enum p2p_cmd cmd)
{
    p2p_frame_begin(w);
    return p2p_frame_end(w, 0, magic, cmd);
}
