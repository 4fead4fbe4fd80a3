/* gossipd command-line flags. Every flag --x-y can also be set by the
 * environment variable GOSSIPD_X_Y (for containers); a flag on the command
 * line wins over the environment, which wins over the default. --connect
 * is repeatable; GOSSIPD_CONNECT is a comma-separated list, replaced as a
 * whole by any --connect on the command line. Booleans accept
 * --flag, --flag=1|0|true|false|yes|no, and the same words in the
 * environment. */
#ifndef GOSSIPD_NODE_CONFIG_H
#define GOSSIPD_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"

#define NODE_CONFIG_CONNECT_MAX 64     /* --connect entries */
#define NODE_CONFIG_PATH_MAX    1024   /* bytes, datadir and key paths */
#define NODE_CONFIG_STR_MAX     256    /* bytes, other string values */
#define NODE_CONFIG_ENV_PREFIX  "GOSSIPD_"

/* Defaults for the relay knobs (passed to the p2p core). */
#define NODE_DEFAULT_MAX_PEERS   32
#define NODE_DEFAULT_FANOUT      0     /* 0: announce to every peer */
#define NODE_DEFAULT_TX_BATCH_MS 50
#define NODE_MAX_PEERS_LIMIT     1024
#define NODE_TX_BATCH_MS_LIMIT   60000

struct node_config {
    const struct chain_params *params;     /* from --network */
    char network[16];
    char datadir[NODE_CONFIG_PATH_MAX];    /* default $HOME/.gossipd/NETWORK */
    char name[64];                         /* default "node-P2PPORT" */
    char bind[NODE_CONFIG_STR_MAX];        /* p2p listen address */
    uint16_t port;                         /* p2p; default from params */
    size_t n_connect;
    char connect[NODE_CONFIG_CONNECT_MAX][NODE_CONFIG_STR_MAX];
    bool no_auto_connect;                  /* --connect=0 */
    int max_peers;
    int fanout;
    int tx_batch_ms;
    char rpc_bind[NODE_CONFIG_STR_MAX];
    uint16_t rpc_port;                     /* default from params */
    char rpc_user[NODE_CONFIG_STR_MAX];
    char rpc_password[NODE_CONFIG_STR_MAX];
    bool mine;
    char mine_key[NODE_CONFIG_PATH_MAX];   /* address hex or key file; "" = node key */
    bool log_json;
    int log_level;                         /* enum node_log_level */
    unsigned debug_cats;                   /* enum node_log_cat bits */
    bool help;
    bool version;
    bool rpc_doc;                          /* hidden: print docs/RPC.md's generated part */
};

/* Looks up an environment variable; NULL if unset. Tests pass their own. */
typedef const char *(*node_getenv_fn)(void *ctx, const char *name);

/* Parse defaults, then the environment (getenv_fn may be NULL: none), then
 * argv[1..argc-1]. Returns 0, or -1 with a one-line message in err. */
int node_config_parse(struct node_config *cfg, int argc, const char *const argv[],
                      node_getenv_fn getenv_fn, void *env_ctx, char *err, size_t err_len);

/* The --help text. */
const char *node_config_usage(void);

/* Split "host:port" (or "[v6]:port"); host gets at most host_len-1 bytes.
 * Returns 0 or -1 if malformed. */
int node_config_split_hostport(const char *s, char *host, size_t host_len, uint16_t *port);

#endif
