/* Process life of gossipd (bitcoind's habits): the datadir lock, the pid
 * file and -daemon. Used by node/main.c before and after the node runs; the
 * node itself (node/node.c) knows nothing of them. */
#ifndef GOSSIPD_NODE_PROC_H
#define GOSSIPD_NODE_PROC_H

#include <stdbool.h>
#include <stddef.h>

#define NODE_LOCK_FILE ".lock"

/* mkdir -p with mode 0700. Returns 0 or -errno. */
int node_mkdir_p(const char *path);

/* Take the exclusive advisory lock (flock) on DATADIR/.lock, creating the
 * file (never truncating it: a refused second instance changes nothing).
 * Returns the lock's descriptor (keep it open while the node runs; a fork
 * child inherits the lock), -EWOULDBLOCK if another process holds it
 * (*holder gets the pid written in the file, or 0), or another -errno. */
int node_datadir_lock(const char *datadir, long *holder);
/* Record our pid in the held lock file (for the message a second instance
 * prints). Call after -daemon forked. */
void node_datadir_lock_note_pid(int fd);

/* Write the pid file (created or replaced). Returns 0 or -errno. */
int node_pidfile_write(const char *path);

/* -daemon: fork; the parent waits until the child calls
 * node_daemon_ready (exit 0) or exits first (exit 1, the child's stderr,
 * still the parent's, said why), and never returns. The child starts a new
 * session and returns 0 with *ready_fd set. Returns -errno if fork failed. */
int node_daemonize(int *ready_fd);
/* In the child once the node runs: stdin/stdout/stderr to /dev/null, then
 * release the parent. */
void node_daemon_ready(int ready_fd);

#endif
