#include "chain/codec.h"

#include <stdlib.h>
#include <string.h>

#include "chain/err.h"

static bool rd_fail(struct rd *r, int err)
{
    if (r->err == 0) r->err = err;
    return false;
}

void rd_init(struct rd *r, const void *buf, size_t len)
{
    r->p = buf;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

bool rd_skip(struct rd *r, const uint8_t **out, size_t n)
{
    if (r->err) return false;
    if (rd_left(r) < n) return rd_fail(r, CHAIN_ERR_TRUNCATED);
    if (out) *out = r->p + r->pos;
    r->pos += n;
    return true;
}

bool rd_bytes(struct rd *r, void *out, size_t n)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, n)) return false;
    if (n) memcpy(out, p, n);
    return true;
}

bool rd_u8(struct rd *r, uint8_t *v)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, 1)) return false;
    *v = p[0];
    return true;
}

bool rd_u16(struct rd *r, uint16_t *v)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, 2)) return false;
    *v = (uint16_t)(p[0] | p[1] << 8);
    return true;
}

bool rd_u32(struct rd *r, uint32_t *v)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, 4)) return false;
    *v = le32_get(p);
    return true;
}

bool rd_u64(struct rd *r, uint64_t *v)
{
    const uint8_t *p;
    if (!rd_skip(r, &p, 8)) return false;
    *v = le64_get(p);
    return true;
}

bool rd_varint(struct rd *r, uint64_t *v, uint64_t max)
{
    size_t start = r->pos;
    uint8_t tag;
    uint64_t val, min;
    if (!rd_u8(r, &tag)) return false;
    if (tag < 0xfd) {
        val = tag;
        min = 0;
    } else if (tag == 0xfd) {
        uint16_t x;
        if (!rd_u16(r, &x)) goto undo;
        val = x;
        min = 0xfd;
    } else if (tag == 0xfe) {
        uint32_t x;
        if (!rd_u32(r, &x)) goto undo;
        val = x;
        min = 0x10000;
    } else {
        if (!rd_u64(r, &val)) goto undo;
        min = 0x100000000ull;
    }
    if (val < min) {
        r->pos = start;
        return rd_fail(r, CHAIN_ERR_VARINT_NONCANONICAL);
    }
    if (val > max) {
        r->pos = start;
        return rd_fail(r, CHAIN_ERR_TOO_LARGE);
    }
    *v = val;
    return true;
undo:
    r->pos = start;
    return false;
}

bool rd_varbytes(struct rd *r, uint8_t *out, size_t *out_len, size_t max)
{
    size_t start = r->pos;
    uint64_t n;
    if (!rd_varint(r, &n, max)) return false;
    if (!rd_bytes(r, out, (size_t)n)) {
        r->pos = start;
        return false;
    }
    *out_len = (size_t)n;
    return true;
}

bool rd_done(struct rd *r)
{
    if (r->err) return false;
    if (rd_left(r) != 0) return rd_fail(r, CHAIN_ERR_TRAILING);
    return true;
}

/* ---- writer ---- */

/* Smallest heap buffer a growing writer allocates. */
#define WR_INITIAL_CAP 256

void wr_init(struct wr *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void wr_init_fixed(struct wr *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->max = cap;
    w->fixed = true;
}

void wr_free(struct wr *w)
{
    if (!w->fixed) free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

uint8_t *wr_take(struct wr *w, size_t *len)
{
    uint8_t *b = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return b;
}

static bool wr_reserve(struct wr *w, size_t n)
{
    if (w->err) return false;
    if (w->max - w->len < n) {
        w->err = CHAIN_ERR_TOO_LARGE;
        return false;
    }
    if (w->cap - w->len >= n) return true;
    if (w->fixed) {
        w->err = CHAIN_ERR_TOO_LARGE;
        return false;
    }
    size_t want = w->cap ? w->cap : WR_INITIAL_CAP;
    while (want - w->len < n) want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
    if (want > w->max) want = w->max;
    uint8_t *nb = realloc(w->buf, want);
    if (!nb) {
        w->err = CHAIN_ERR_NOMEM;
        return false;
    }
    w->buf = nb;
    w->cap = want;
    return true;
}

bool wr_bytes(struct wr *w, const void *p, size_t n)
{
    if (!wr_reserve(w, n)) return false;
    if (n) memcpy(w->buf + w->len, p, n);
    w->len += n;
    return true;
}

bool wr_u8(struct wr *w, uint8_t v) { return wr_bytes(w, &v, 1); }

bool wr_u16(struct wr *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return wr_bytes(w, b, 2);
}

bool wr_u32(struct wr *w, uint32_t v)
{
    uint8_t b[4];
    le32_put(b, v);
    return wr_bytes(w, b, 4);
}

bool wr_u64(struct wr *w, uint64_t v)
{
    uint8_t b[8];
    le64_put(b, v);
    return wr_bytes(w, b, 8);
}

size_t varint_size(uint64_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

bool wr_varint(struct wr *w, uint64_t v)
{
    if (v < 0xfd) return wr_u8(w, (uint8_t)v);
    if (v <= 0xffff) return wr_u8(w, 0xfd) && wr_u16(w, (uint16_t)v);
    if (v <= 0xffffffffu) return wr_u8(w, 0xfe) && wr_u32(w, (uint32_t)v);
    return wr_u8(w, 0xff) && wr_u64(w, v);
}

bool wr_varbytes(struct wr *w, const void *p, size_t n)
{
    return wr_varint(w, n) && wr_bytes(w, p, n);
}
