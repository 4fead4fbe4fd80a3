/* Key files: one line holding the 32-byte Ed25519 seed as 64 hex digits.
 * Written with mode 0600 and never overwritten. An address is the 32-byte
 * public key as 64 hex digits (byte order). */
#ifndef GOSSIPD_NODE_KEYFILE_H
#define GOSSIPD_NODE_KEYFILE_H

#include <stdint.h>

/* Read a seed. Returns 0, -ENOENT if absent, -EINVAL if malformed, or
 * another negative errno. */
int node_keyfile_read(const char *path, uint8_t seed[32]);
/* Create path (it must not exist) holding seed. Returns 0 or -errno
 * (-EEXIST if the file exists). */
int node_keyfile_write(const char *path, const uint8_t seed[32]);
/* Read path if it exists, else create it with a fresh random seed.
 * *created tells which. Returns 0 or -errno. */
int node_keyfile_load_or_create(const char *path, uint8_t seed[32], int *created);

#endif
