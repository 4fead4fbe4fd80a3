/* Strict lowercase/uppercase hex encoding and decoding. */
#ifndef GOSSIPD_CRYPTO_HEX_H
#define GOSSIPD_CRYPTO_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out (size 2*len+1). */
void hex_encode(char *out, const uint8_t *in, size_t len);

/* Decodes exactly out_len bytes from str (strlen(str) must be 2*out_len,
 * every character a hex digit). Returns 0, or -1 on any bad input; out is
 * undefined after a failure. */
int hex_decode(uint8_t *out, size_t out_len, const char *str);

/* Like hex_decode for a string of unknown even length up to 2*cap digits.
 * Returns the number of bytes written, or -1. */
long hex_decode_var(uint8_t *out, size_t cap, const char *str);

/* A 32-byte hash shown the way Bitcoin shows it: bytes reversed (the hash
 * read as a little-endian number, most significant digit first).
 * out must hold 65 bytes. */
void hex_encode_hash(char out[65], const uint8_t hash[32]);
int hex_decode_hash(uint8_t hash[32], const char *str);

#endif
