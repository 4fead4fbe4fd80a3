/* Headers presync: see presync.h. */
#include "p2p/presync.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/limits.h"
#include "p2p/util.h"

#define COMMIT_BYTES_MAX (P2P_PRESYNC_MAX_HEADERS / P2P_PRESYNC_COMMIT_PERIOD / 8 + 1)

struct p2p_presync {
    bool redownload;
    struct chain_u256 target;
    struct chain_hdr_cursor start;   /* the known header the chain forks from */
    struct chain_hdr_cursor cur;     /* presync: the last header checked */
    struct chain_hdr_cursor redl;    /* redownload: the last header checked again */
    uint64_t salt;
    uint32_t offset;                 /* commitment heights: height % PERIOD == offset */
    uint8_t *bits;                   /* commitments, in height order */
    size_t n_bits, cap_bytes;
    size_t next_bit;                 /* redownload: the next commitment to check */
    struct chain_header *buf;        /* redownload FIFO, BUFFER + 1 slots */
    size_t buf_head, buf_n;
};

int p2p_presync_start(struct p2p_presync **out, const struct chain *c, const uint8_t start[32],
                      const struct chain_u256 *target, uint64_t salt)
{
    struct p2p_presync *ps = p2p__calloc(1, sizeof *ps);
    if (!ps)
        return CHAIN_ERR_NOMEM;
    int err = chain_hdr_cursor_at(c, start, &ps->start);
    if (err) {
        free(ps);
        return err;
    }
    ps->cur = ps->start;
    ps->target = *target;
    ps->salt = salt;
    ps->offset = (uint32_t)(salt % P2P_PRESYNC_COMMIT_PERIOD);
    *out = ps;
    return 0;
}

void p2p_presync_free(struct p2p_presync *ps)
{
    if (!ps)
        return;
    free(ps->bits);
    free(ps->buf);
    free(ps);
}

const uint8_t *p2p_presync_tip(const struct p2p_presync *ps)
{
    return ps->redownload ? ps->redl.hash : ps->cur.hash;
}

const uint8_t *p2p_presync_start_hash(const struct p2p_presync *ps) { return ps->start.hash; }

bool p2p_presync_redownloading(const struct p2p_presync *ps) { return ps->redownload; }

bool p2p_presync_proven(const struct p2p_presync *ps)
{
    const struct chain_hdr_cursor *c = ps->redownload ? &ps->redl : &ps->cur;
    return chain_u256_cmp(&c->work, &ps->target) >= 0;
}

/* The salted bit a header at a commitment height stands for. */
static unsigned commitment(const struct p2p_presync *ps, const uint8_t hash[32])
{
    return (unsigned)(p2p_shortid(ps->salt, hash) & 1);
}

static bool committed_height(const struct p2p_presync *ps, uint32_t height)
{
    return height % P2P_PRESYNC_COMMIT_PERIOD == ps->offset;
}

int p2p_presync_add(struct p2p_presync *ps, const struct chain *c, const struct chain_header *h,
                    uint64_t now_ms)
{
    if (ps->redownload)
        return P2P_PRESYNC_NOT_LINKED;
    if (ps->cur.height - ps->start.height >= P2P_PRESYNC_MAX_HEADERS)
        return P2P_PRESYNC_TOO_LONG;
    int r = chain_hdr_cursor_next(c, &ps->cur, h, now_ms);
    if (r)
        return r == 1 ? P2P_PRESYNC_NOT_LINKED : r;
    if (!committed_height(ps, ps->cur.height))
        return 0;
    if (ps->n_bits / 8 == ps->cap_bytes) {
        size_t cap = ps->cap_bytes ? 2 * ps->cap_bytes : 16;
        if (cap > COMMIT_BYTES_MAX)
            cap = COMMIT_BYTES_MAX;
        uint8_t *nb = cap > ps->cap_bytes ? p2p__realloc(ps->bits, cap) : NULL;
        if (!nb)
            return CHAIN_ERR_NOMEM;
        memset(nb + ps->cap_bytes, 0, cap - ps->cap_bytes);
        ps->bits = nb;
        ps->cap_bytes = cap;
    }
    if (commitment(ps, ps->cur.hash))
        ps->bits[ps->n_bits / 8] |= (uint8_t)(1u << (ps->n_bits % 8));
    ps->n_bits++;
    return 0;
}

void p2p_presync_redownload(struct p2p_presync *ps)
{
    ps->redownload = true;
    ps->redl = ps->start;
    ps->next_bit = 0;
    ps->buf_head = ps->buf_n = 0;
}

int p2p_presync_redownload_add(struct p2p_presync *ps, const struct chain *c,
                               const struct chain_header *h, uint64_t now_ms)
{
    if (!ps->redownload)
        return P2P_PRESYNC_NOT_LINKED;
    /* The presynced chain reached the target by cur.height: a chain still
     * short of it there is another one. */
    if (ps->redl.height >= ps->cur.height)
        return P2P_PRESYNC_MISMATCH;
    if (!ps->buf && !(ps->buf = p2p__malloc((P2P_PRESYNC_BUFFER_HEADERS + 1) * sizeof *ps->buf)))
        return CHAIN_ERR_NOMEM;
    struct chain_hdr_cursor next = ps->redl;
    int r = chain_hdr_cursor_next(c, &next, h, now_ms);
    if (r)
        return r == 1 ? P2P_PRESYNC_NOT_LINKED : r;
    if (committed_height(ps, next.height)) {
        size_t i = ps->next_bit++;
        if (i >= ps->n_bits || ((ps->bits[i / 8] >> (i % 8)) & 1u) != commitment(ps, next.hash))
            return P2P_PRESYNC_MISMATCH;
    }
    ps->redl = next;
    ps->buf[(ps->buf_head + ps->buf_n++) % (P2P_PRESYNC_BUFFER_HEADERS + 1)] = *h;
    return 0;
}

bool p2p_presync_pop(struct p2p_presync *ps, struct chain_header *out)
{
    if (ps->buf_n == 0 || (ps->buf_n <= P2P_PRESYNC_BUFFER_HEADERS && !p2p_presync_proven(ps)))
        return false;
    *out = ps->buf[ps->buf_head];
    ps->buf_head = (ps->buf_head + 1) % (P2P_PRESYNC_BUFFER_HEADERS + 1);
    ps->buf_n--;
    return true;
}

size_t p2p_presync_bytes(const struct p2p_presync *ps)
{
    if (!ps)
        return 0;
    return sizeof *ps + ps->cap_bytes + (ps->buf ? (P2P_PRESYNC_BUFFER_HEADERS + 1) * sizeof *ps->buf : 0);
}
