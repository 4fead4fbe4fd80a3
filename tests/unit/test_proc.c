/* node/proc.c: the datadir lock, the pid file, mkdir -p. (-daemon is
 * exercised with real processes in tests/integration/test_node_ops.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/proc.h"

static char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_lock(void **state)
{
    char dir[] = "/tmp/gossipd-proc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lock[64], buf[64];
    snprintf(lock, sizeof lock, "%s/%s", dir, NODE_LOCK_FILE);
    long holder = -1;
    int fd = node_datadir_lock(dir, &holder);
    assert_true(fd >= 0);
    assert_int_equal(holder, 0);
    node_datadir_lock_note_pid(fd);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    assert_string_equal(slurp(lock, buf, sizeof buf), want);
    /* flock is per open file: a second open, even in this process, is
     * refused, names the holder and leaves the file as it was. */
    assert_int_equal(node_datadir_lock(dir, &holder), -EWOULDBLOCK);
    assert_int_equal(holder, (long)getpid());
    assert_string_equal(slurp(lock, buf, sizeof buf), want);
    /* Released with the descriptor (as at exit, however the process ends). */
    close(fd);
    fd = node_datadir_lock(dir, &holder);
    assert_true(fd >= 0);
    close(fd);
    /* A datadir that does not exist: an error, not a crash. */
    char missing[96];
    snprintf(missing, sizeof missing, "%s/none", dir);
    assert_int_equal(node_datadir_lock(missing, &holder), -ENOENT);
    unlink(lock);
    rmdir(dir);
}

static void test_pidfile_and_mkdir(void **state)
{
    char dir[] = "/tmp/gossipd-proc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char deep[128], pid[160], buf[64], want[32];
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    assert_int_equal(node_mkdir_p(deep), 0);
    assert_int_equal(node_mkdir_p(deep), 0);   /* exists: fine */
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(pid, sizeof pid, "%s/gossipd.pid", deep);
    FILE *f = fopen(pid, "w");   /* a stale one from a crash */
    fputs("99999999\n", f);
    fclose(f);
    assert_int_equal(node_pidfile_write(pid), 0);
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    assert_string_equal(slurp(pid, buf, sizeof buf), want);
    char bad[96];
    snprintf(bad, sizeof bad, "%s/none/x.pid", dir);
    assert_true(node_pidfile_write(bad) < 0);
    unlink(pid);
    for (int i = 0; i < 3; i++) {
        rmdir(deep);
        *strrchr(deep, '/') = '\0';
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_pidfile_and_mkdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
