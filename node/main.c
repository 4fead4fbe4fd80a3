/* gossipd: parse the options, lock the datadir, optionally go to the
 * background, run the node until SIGINT/SIGTERM or `stop`. SIGHUP reopens
 * the log file (logrotate). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "node/node.h"
#include "node/proc.h"

static const char *env_get(void *ctx, const char *name)
{
    return getenv(name);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    int rc = node_log_reopen(&n->log);
    if (rc != 0)
        node_log_msg(&n->log, NODE_LOG_WARN, NODE_LOG_CAT_NONE, "log_reopen_failed",
                     "%s: %s", n->log.path, strerror(-rc));
    else
        NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "log_reopened",
                 LF_STR("path", n->log.path), LF_STR("signal", "SIGHUP"));
}

static void on_ready(void *arg)
{
    int *ready_fd = arg;
    if (*ready_fd >= 0)
        node_daemon_ready(*ready_fd);
    *ready_fd = -1;
}

int main(int argc, char **argv)
{
    static struct node_config cfg;   /* large: keep it off the stack */
    static struct node node;
    char err[512];
    if (node_config_parse(&cfg, argc, (const char *const *)argv, env_get, NULL, err,
                          sizeof err) != 0) {
        fprintf(stderr, "gossipd: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        fputs(node_config_usage(), stdout);
        return 0;
    }
    if (cfg.version) {
        printf("gossipd %s\n", NODE_VERSION_STRING);
        return 0;
    }
    if (cfg.rpc_doc) {
        node_rpc_write_doc(stdout);
        return 0;
    }
    umask(077);
    int rc = node_mkdir_p(cfg.datadir);
    if (rc != 0) {
        fprintf(stderr, "gossipd: cannot create the data directory %s: %s\n", cfg.datadir,
                strerror(-rc));
        return 1;
    }
    /* Before anything touches the datadir: a second instance on it stops
     * here and changes nothing (cookie, mempool.dat, pid file, log). */
    long holder;
    int lock_fd = node_datadir_lock(cfg.datadir, &holder);
    if (lock_fd < 0) {
        if (lock_fd == -EWOULDBLOCK) {
            char pid[32] = "";
            if (holder > 0)
                snprintf(pid, sizeof pid, " (pid %ld)", holder);
            fprintf(stderr, "gossipd: cannot lock the data directory %s: another gossipd%s "
                    "is using it\n", cfg.datadir, pid);
        } else {
            fprintf(stderr, "gossipd: cannot lock the data directory %s: %s/%s: %s\n",
                    cfg.datadir, cfg.datadir, NODE_LOCK_FILE, strerror(-lock_fd));
        }
        return 1;
    }
    int ready_fd = -1;
    if (cfg.daemon && (rc = node_daemonize(&ready_fd)) != 0) {
        fprintf(stderr, "gossipd: -daemon: fork: %s\n", strerror(-rc));
        return 1;
    }
    node_datadir_lock_note_pid(lock_fd);
    if (cfg.pid_file[0] && (rc = node_pidfile_write(cfg.pid_file)) != 0) {
        fprintf(stderr, "gossipd: cannot write the pid file %s: %s\n", cfg.pid_file,
                strerror(-rc));
        return 1;
    }

    /* A peer closing its socket must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    /* Unreferenced: it must not keep the loop alive once the node stops. */
    uv_signal_t sighup;
    uv_signal_init(loop, &sighup);
    sighup.data = &node;
    uv_signal_start(&sighup, on_sighup, SIGHUP);
    uv_unref((uv_handle_t *)&sighup);
    rc = node_init(&node, loop, &cfg) == 0 ? 0 : 1;
    if (rc == 0) {
        /* -daemon: the parent returns once the chain is loaded and p2p is
         * up (as bitcoind's -daemonwait), so a corrupt store fails it. */
        node.on_ready = on_ready;
        node.ready_arg = &ready_fd;
        uv_run(loop, UV_RUN_DEFAULT);
        if (node.failed)
            rc = 1;
    }
    node_free(&node);
    uv_close((uv_handle_t *)&sighup, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    if (cfg.pid_file[0])
        unlink(cfg.pid_file);
    close(lock_fd);   /* the lock goes with it; .lock stays, as bitcoind's */
    return rc;
}
