#include "node/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hex.h"
#include "crypto/sec.h"

int node_keyfile_read(const char *path, uint8_t seed[32])
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    char buf[130];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    size_t len = (size_t)n;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    int rc = (len == 64 && hex_decode(seed, 32, buf) == 0) ? 0 : -EINVAL;
    sec_wipe(buf, sizeof buf);
    return rc;
}

int node_keyfile_write(const char *path, const uint8_t seed[32])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -errno;
    char buf[66];
    hex_encode(buf, seed, 32);
    buf[64] = '\n';
    ssize_t n = write(fd, buf, 65);
    int err = n == 65 ? 0 : (n < 0 ? -errno : -EIO);
    if (!err && fsync(fd) != 0)
        err = -errno;
    if (close(fd) != 0 && !err)
        err = -errno;
    sec_wipe(buf, sizeof buf);
    if (err)
        unlink(path);
    return err;
}

int node_keyfile_load_or_create(const char *path, uint8_t seed[32], int *created)
{
    *created = 0;
    int rc = node_keyfile_read(path, seed);
    if (rc != -ENOENT)
        return rc;
    sec_random(seed, 32);
    rc = node_keyfile_write(path, seed);
    if (rc == 0)
        *created = 1;
    return rc;
}
