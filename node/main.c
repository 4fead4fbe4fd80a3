/* gossipd: parse flags, run the node until SIGINT/SIGTERM or `stop`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "node/node.h"

static const char *env_get(void *ctx, const char *name)
{
    return getenv(name);
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
    /* A peer closing its socket must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    int rc = node_init(&node, loop, &cfg) == 0 ? 0 : 1;
    if (rc == 0)
        uv_run(loop, UV_RUN_DEFAULT);
    node_free(&node);
    uv_loop_close(loop);
    return rc;
}
