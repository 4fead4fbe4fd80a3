/* Bounds-checked byte reader and writer: little-endian integers, Bitcoin's
 * CompactSize varint (canonical only, capped), and length-prefixed bytes.
 *
 * Readers consume on success and return true. On failure they return false,
 * consume nothing, and record the first error in r->err (a CHAIN_ERR_*), so a
 * decoder can run a sequence of reads and check once. */
#ifndef GOSSIPD_CHAIN_CODEC_H
#define GOSSIPD_CHAIN_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
    const uint8_t *p;   /* borrowed; must outlive the reader */
    size_t len;
    size_t pos;
    int err;            /* first error, 0 if none */
};

void rd_init(struct rd *r, const void *buf, size_t len);
static inline size_t rd_left(const struct rd *r) { return r->len - r->pos; }

bool rd_u8(struct rd *r, uint8_t *v);
bool rd_u16(struct rd *r, uint16_t *v);
bool rd_u32(struct rd *r, uint32_t *v);
bool rd_u64(struct rd *r, uint64_t *v);
/* Copy exactly n bytes. */
bool rd_bytes(struct rd *r, void *out, size_t n);
/* Borrow n bytes (pointer into the input). */
bool rd_skip(struct rd *r, const uint8_t **out, size_t n);
/* CompactSize: rejects non-minimal forms (CHAIN_ERR_VARINT_NONCANONICAL)
 * and values above max (CHAIN_ERR_TOO_LARGE). */
bool rd_varint(struct rd *r, uint64_t *v, uint64_t max);
/* varint length (<= max) then that many bytes into out (capacity >= max). */
bool rd_varbytes(struct rd *r, uint8_t *out, size_t *out_len, size_t max);
/* True iff every byte was consumed; otherwise sets CHAIN_ERR_TRAILING. */
bool rd_done(struct rd *r);

/* Writer into a growable heap buffer capped at max bytes, or into a fixed
 * caller buffer (wr_init_fixed). Writes after a failure are no-ops;
 * w->err holds the first error (CHAIN_ERR_TOO_LARGE or CHAIN_ERR_NOMEM). */
struct wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t max;
    bool fixed;         /* buf is borrowed and never reallocated or freed */
    int err;
};

void wr_init(struct wr *w, size_t max);
void wr_init_fixed(struct wr *w, void *buf, size_t cap);
/* Frees a heap buffer (no-op for fixed). */
void wr_free(struct wr *w);
/* Hands the heap buffer to the caller (who frees it), resets w. */
uint8_t *wr_take(struct wr *w, size_t *len);

bool wr_u8(struct wr *w, uint8_t v);
bool wr_u16(struct wr *w, uint16_t v);
bool wr_u32(struct wr *w, uint32_t v);
bool wr_u64(struct wr *w, uint64_t v);
bool wr_bytes(struct wr *w, const void *p, size_t n);
bool wr_varint(struct wr *w, uint64_t v);
bool wr_varbytes(struct wr *w, const void *p, size_t n);

/* Size of v as a CompactSize. */
size_t varint_size(uint64_t v);

/* Little-endian helpers for fixed buffers. */
static inline void le32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void le64_put(uint8_t *p, uint64_t v)
{
    le32_put(p, (uint32_t)v); le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t le64_get(const uint8_t *p)
{
    return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

#endif
