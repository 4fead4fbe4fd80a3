/* gossipd settings: command line, environment and config file.
 *
 * Every option is one row of the table in node/config.c (name, type, field,
 * bounds, help): adding an option is adding a field here and a row there.
 * An option NAME is given as --NAME or -NAME on the command line (value after
 * '=' or as the next argument), as GOSSIPD_NAME (upper case, '-' -> '_') in
 * the environment, or as NAME=value in the config file; names match with
 * their '-' ignored, so --rpc-port, -rpcport and rpcport= are one option.
 * -noNAME negates a boolean (and turns off --connect, --pid, --debuglogfile).
 *
 * Precedence: command line > environment > config file section
 * ([regtest]/[testnet], the chosen network's) > the file's top section >
 * default. --connect is repeatable; each source that names it replaces the
 * list of the sources below it (GOSSIPD_CONNECT is comma-separated).
 * Booleans accept --flag, --flag=1|0|true|false|yes|no|on|off.
 *
 * The config file is --conf (relative: under --datadir, or $HOME/.gossipd without), else
 * DATADIR/gossipd.conf with an explicit --datadir, else
 * $HOME/.gossipd/gossipd.conf (beside the per-network datadirs, so its
 * sections serve both networks). Syntax as bitcoind's: key=value lines, '#'
 * starts a comment, [regtest] / [testnet] start a section. An unknown key is
 * an error naming the file and the line. */
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
#define NODE_CONFIG_FILE_NAME   "gossipd.conf"
#define NODE_CONFIG_FILE_MAX    (1024 * 1024)   /* bytes: a bigger config file is refused */
#define NODE_DEFAULT_LOG_FILE   "debug.log"
#define NODE_DEFAULT_PID_FILE   "gossipd.pid"
#define NODE_P2P_KEY_FILE       "p2p.key"      /* v2 node key, in the datadir */
#define NODE_CONFIG_PEERKEYS_MAX (64 * 65)     /* bytes: 64 comma-separated hex keys */

/* Defaults for the relay knobs (passed to the p2p core). */
#define NODE_DEFAULT_MAX_PEERS   32
#define NODE_DEFAULT_FANOUT      0     /* 0: announce to every peer */
#define NODE_DEFAULT_TX_BATCH_MS 50
#define NODE_MAX_PEERS_LIMIT     1024
#define NODE_TX_BATCH_MS_LIMIT   60000
/* --checkblocks: blocks re-verified at start (bitcoind's default 6). */
#define NODE_DEFAULT_CHECKBLOCKS 6
#define NODE_CHECKBLOCKS_MAX     100000

/* ZeroMQ topics, in the order of node_config.zmqpub (bitcoind's names). */
enum node_zmq_topic {
    NODE_ZMQ_HASHBLOCK, NODE_ZMQ_HASHTX, NODE_ZMQ_RAWBLOCK, NODE_ZMQ_RAWTX,
    NODE_ZMQ_SEQUENCE, NODE_ZMQ_TOPICS
};
extern const char *const node_zmq_topic_names[NODE_ZMQ_TOPICS];

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
    bool v2transport;                      /* encrypted transport (default on) */
    bool v2only;                           /* refuse v1 peers */
    bool cmpct;                            /* compact blocks (default on) */
    bool dbfsync;                          /* fsync every chain.db commit (default off) */
    char peerkeys[NODE_CONFIG_PEERKEYS_MAX];   /* allowlist: hex node keys, comma-separated */
    int max_peers;
    int fanout;
    int tx_batch_ms;
    bool relay_push;                       /* --relay=push: learned eager push of txs */
    char rpc_bind[NODE_CONFIG_STR_MAX];
    uint16_t rpc_port;                     /* default from params */
    char rpc_user[NODE_CONFIG_STR_MAX];
    char rpc_password[NODE_CONFIG_STR_MAX];
    bool mine;
    char mine_key[NODE_CONFIG_PATH_MAX];   /* address hex or key file; "" = node key */
    bool log_json;
    int log_level;                         /* enum node_log_level */
    unsigned debug_cats;                   /* enum node_log_cat bits */
    bool printtoconsole;                   /* log to stderr */
    char debuglogfile[NODE_CONFIG_PATH_MAX];   /* resolved; "" = no log file */
    bool daemon;                           /* fork to the background once started */
    char pid_file[NODE_CONFIG_PATH_MAX];   /* resolved; "" = none (--nopid) */
    char conf[NODE_CONFIG_PATH_MAX];       /* the config file read; "" = none */
    bool help;
    bool version;
    bool rpc_doc;                          /* hidden: print docs/RPC.md's generated part */
    int checkblocks;                       /* --checkblocks */
    int par;                               /* --par: signature-check threads */
    bool reindex;                          /* --reindex */
    char blocknotify[NODE_CONFIG_PATH_MAX];   /* --blocknotify command, "" = none */
    char zmqpub[NODE_ZMQ_TOPICS][NODE_CONFIG_STR_MAX];   /* endpoint per topic, "" = off */
    /* Parse state (not options). */
    bool debuglogfile_off;
    bool pid_off;
};

/* Looks up an environment variable; NULL if unset. Tests pass their own. */
typedef const char *(*node_getenv_fn)(void *ctx, const char *name);

/* Parse defaults, the config file, the environment (getenv_fn may be NULL:
 * none; it also gives HOME) and argv[1..argc-1]. Reads the config file (the
 * only I/O). Returns 0, or -1 with a one-line message in err. */
int node_config_parse(struct node_config *cfg, int argc, const char *const argv[],
                      node_getenv_fn getenv_fn, void *env_ctx, char *err, size_t err_len);

/* One key=value line of a config file: section is "" before any [section]
 * (the top section). Return 0, or -1 with a message in err (the reader
 * prefixes "FILE:LINE: "). */
typedef int (*node_config_line_fn)(void *ctx, const char *section, const char *key,
                                   const char *value, char *err, size_t err_len);

/* Parse config text (bitcoind's syntax; label names it in errors) and call fn
 * for each key=value line. Sections must name a network. Returns 0, or -1
 * with "LABEL:LINE: message" in err. */
int node_config_parse_text(const char *label, const char *text, node_config_line_fn fn,
                           void *ctx, char *err, size_t err_len);

/* Read a config file (at most NODE_CONFIG_FILE_MAX bytes) into *text (heap,
 * caller frees). Returns 0, 1 if it does not exist (*text NULL), or -1 with
 * a message in err. */
int node_config_read_file(const char *path, char **text, char *err, size_t err_len);

/* The config file path for an explicit --conf (may be "" or NULL) and
 * --datadir (may be "" or NULL), as the header comment says. Returns 0, or
 * -1 if it does not fit in cap. */
int node_config_file_path(char *out, size_t cap, const char *conf, const char *datadir,
                          const char *home);

/* A --connect entry is "HOST:PORT" or "PUBKEY@HOST:PORT" (64 hex digits):
 * returns the HOST:PORT part and sets *has_key (key filled in), or NULL if
 * the key part is malformed. */
const char *node_config_connect_split(const char *entry, uint8_t key[32], bool *has_key);

/* The --help text. */
const char *node_config_usage(void);

/* Split "host:port" (or "[v6]:port"); host gets at most host_len-1 bytes.
 * Returns 0 or -1 if malformed. */
int node_config_split_hostport(const char *s, char *host, size_t host_len, uint16_t *port);

#endif
