#include "node/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/log.h"

enum opt_id {
    OPT_NETWORK, OPT_DATADIR, OPT_NAME, OPT_BIND, OPT_PORT, OPT_CONNECT, OPT_MAX_PEERS,
    OPT_FANOUT, OPT_TX_BATCH_MS, OPT_RPC_BIND, OPT_RPC_PORT, OPT_RPC_USER,
    OPT_RPC_PASSWORD, OPT_MINE, OPT_MINE_KEY, OPT_LOG_JSON, OPT_LOG_LEVEL, OPT_DEBUG,
    OPT_HELP, OPT_VERSION, OPT_RPC_DOC,
};

struct opt {
    const char *name;
    enum opt_id id;
    bool is_bool;       /* takes no argument on the command line */
    bool env;           /* settable from the environment */
};

static const struct opt opts[] = {
    { "network", OPT_NETWORK, false, true },
    { "datadir", OPT_DATADIR, false, true },
    { "name", OPT_NAME, false, true },
    { "bind", OPT_BIND, false, true },
    { "port", OPT_PORT, false, true },
    { "connect", OPT_CONNECT, false, true },
    { "max-peers", OPT_MAX_PEERS, false, true },
    { "fanout", OPT_FANOUT, false, true },
    { "tx-batch-ms", OPT_TX_BATCH_MS, false, true },
    { "rpc-bind", OPT_RPC_BIND, false, true },
    { "rpc-port", OPT_RPC_PORT, false, true },
    { "rpc-user", OPT_RPC_USER, false, true },
    { "rpc-password", OPT_RPC_PASSWORD, false, true },
    { "mine", OPT_MINE, true, true },
    { "mine-key", OPT_MINE_KEY, false, true },
    { "log-json", OPT_LOG_JSON, true, true },
    { "log-level", OPT_LOG_LEVEL, false, true },
    { "debug", OPT_DEBUG, false, true },
    { "help", OPT_HELP, true, false },
    { "version", OPT_VERSION, true, false },
    { "rpc-doc", OPT_RPC_DOC, true, false },
};

const char *node_config_usage(void)
{
    return
        "Usage: gossipd [options]\n"
        "Every option --x-y can also be set with the environment variable GOSSIPD_X_Y.\n"
        "\n"
        "  --network=regtest|testnet  chain to run (default regtest)\n"
        "  --datadir=DIR              data directory (default $HOME/.gossipd/NETWORK)\n"
        "  --name=NAME                node name shown in logs and the user agent\n"
        "  --bind=ADDR                p2p listen address (default 0.0.0.0)\n"
        "  --port=N                   p2p port (default: the network's)\n"
        "  --connect=HOST:PORT        peer to keep connected (repeatable;\n"
        "                             GOSSIPD_CONNECT is comma-separated). With any\n"
        "                             --connect the node opens no other outbound\n"
        "                             connections; --connect=0 alone: none at all\n"
        "  --max-peers=N              peer connections, in and out (default 32)\n"
        "  --fanout=N                 peers each tx is announced to, 0 = all (default 0)\n"
        "  --tx-batch-ms=N            tx announcement batching period (default 50)\n"
        "  --rpc-bind=ADDR            JSON-RPC listen address (default 127.0.0.1)\n"
        "  --rpc-port=N               JSON-RPC port (default: the network's)\n"
        "  --rpc-user=USER            JSON-RPC Basic auth user; without user and\n"
        "  --rpc-password=PASS        password a cookie file DATADIR/.cookie is written\n"
        "  --mine                     mine continuously (testnet)\n"
        "  --mine-key=ADDR|FILE       pay mined coins to ADDR (64 hex) or a key file's\n"
        "                             address (default: the node's key)\n"
        "  --log-json                 write log events as JSON lines\n"
        "  --log-level=LEVEL          debug|info|warn|error (default info)\n"
        "  --debug[=CATS]             debug categories: net,mempool,chain,rpc,p2p,mine,all\n"
        "                             (bare --debug: all)\n"
        "  --help                     this text\n"
        "  --version                  print the version\n";
}

static int fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off", "" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    return -1;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int node_config_split_hostport(const char *s, char *host, size_t host_len, uint16_t *port)
{
    const char *colon;
    const char *hs = s;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        hs = s + 1;
        hl = (size_t)(close - hs);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= host_len)
        return -1;
    long p;
    if (parse_long(colon + 1, 1, 65535, &p) != 0)
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static int add_connect(struct node_config *cfg, const char *v, size_t len, char *err,
                       size_t err_len)
{
    while (len && isspace((unsigned char)*v)) {
        v++;
        len--;
    }
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    if (len == 0)
        return 0;
    if (len == 1 && v[0] == '0') {   /* bitcoind's -connect=0: no automatic outbound */
        cfg->no_auto_connect = true;
        return 0;
    }
    if (cfg->n_connect >= NODE_CONFIG_CONNECT_MAX)
        return fail(err, err_len, "too many --connect (max %d)", NODE_CONFIG_CONNECT_MAX);
    if (len >= NODE_CONFIG_STR_MAX)
        return fail(err, err_len, "--connect value too long");
    char *dst = cfg->connect[cfg->n_connect];
    memcpy(dst, v, len);
    dst[len] = '\0';
    char host[NODE_CONFIG_STR_MAX];
    uint16_t port;
    if (node_config_split_hostport(dst, host, sizeof host, &port) != 0)
        return fail(err, err_len, "--connect: expected HOST:PORT, got '%s'", dst);
    cfg->n_connect++;
    return 0;
}

/* Apply one option value. from_env: the value came from GOSSIPD_*. */
static int apply(struct node_config *cfg, const struct opt *o, const char *v, bool from_env,
                 bool *connect_reset, char *err, size_t err_len)
{
    long n;
    bool b;
    switch (o->id) {
    case OPT_NETWORK:
        if (!chain_params_by_name(v))
            return fail(err, err_len, "--network: unknown network '%s' (regtest|testnet)", v);
        return copy_str(cfg->network, sizeof cfg->network, v);
    case OPT_DATADIR:
        if (copy_str(cfg->datadir, sizeof cfg->datadir, v) != 0 || !*v)
            return fail(err, err_len, "--datadir: empty or too long");
        return 0;
    case OPT_NAME:
        for (const char *p = v; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
                return fail(err, err_len, "--name: use letters, digits, '-', '_', '.'");
        if (copy_str(cfg->name, sizeof cfg->name, v) != 0)
            return fail(err, err_len, "--name: too long (max %zu)", sizeof cfg->name - 1);
        return 0;
    case OPT_BIND:
        return copy_str(cfg->bind, sizeof cfg->bind, v) ? fail(err, err_len, "--bind: too long") : 0;
    case OPT_RPC_BIND:
        return copy_str(cfg->rpc_bind, sizeof cfg->rpc_bind, v)
            ? fail(err, err_len, "--rpc-bind: too long") : 0;
    case OPT_PORT:
    case OPT_RPC_PORT:
        if (parse_long(v, 0, 65535, &n) != 0)
            return fail(err, err_len, "--%s: expected a port number, got '%s'", o->name, v);
        if (o->id == OPT_PORT)
            cfg->port = (uint16_t)n;
        else
            cfg->rpc_port = (uint16_t)n;
        return 0;
    case OPT_CONNECT:
        if (from_env) {
            cfg->n_connect = 0;
            const char *p = v;
            for (;;) {
                const char *c = strchr(p, ',');
                size_t len = c ? (size_t)(c - p) : strlen(p);
                if (add_connect(cfg, p, len, err, err_len) != 0)
                    return -1;
                if (!c)
                    break;
                p = c + 1;
            }
            return 0;
        }
        if (!*connect_reset) {
            cfg->n_connect = 0;
            *connect_reset = true;
        }
        return add_connect(cfg, v, strlen(v), err, err_len);
    case OPT_MAX_PEERS:
        if (parse_long(v, 1, NODE_MAX_PEERS_LIMIT, &n) != 0)
            return fail(err, err_len, "--max-peers: expected 1..%d", NODE_MAX_PEERS_LIMIT);
        cfg->max_peers = (int)n;
        return 0;
    case OPT_FANOUT:
        if (parse_long(v, 0, NODE_MAX_PEERS_LIMIT, &n) != 0)
            return fail(err, err_len, "--fanout: expected 0..%d", NODE_MAX_PEERS_LIMIT);
        cfg->fanout = (int)n;
        return 0;
    case OPT_TX_BATCH_MS:
        if (parse_long(v, 0, NODE_TX_BATCH_MS_LIMIT, &n) != 0)
            return fail(err, err_len, "--tx-batch-ms: expected 0..%d", NODE_TX_BATCH_MS_LIMIT);
        cfg->tx_batch_ms = (int)n;
        return 0;
    case OPT_RPC_USER:
        if (strchr(v, ':'))
            return fail(err, err_len, "--rpc-user: must not contain ':'");
        return copy_str(cfg->rpc_user, sizeof cfg->rpc_user, v)
            ? fail(err, err_len, "--rpc-user: too long") : 0;
    case OPT_RPC_PASSWORD:
        return copy_str(cfg->rpc_password, sizeof cfg->rpc_password, v)
            ? fail(err, err_len, "--rpc-password: too long") : 0;
    case OPT_MINE_KEY:
        return copy_str(cfg->mine_key, sizeof cfg->mine_key, v)
            ? fail(err, err_len, "--mine-key: too long") : 0;
    case OPT_LOG_LEVEL: {
        int lv = node_log_level_parse(v);
        if (lv < 0)
            return fail(err, err_len, "--log-level: expected debug|info|warn|error");
        cfg->log_level = lv;
        return 0;
    }
    case OPT_DEBUG: {
        unsigned cats;
        if (node_log_cats_parse(v, &cats) != 0)
            return fail(err, err_len, "--debug: unknown category in '%s' "
                        "(net,mempool,chain,rpc,p2p,mine,all)", v);
        /* Debug lines of an enabled category show whatever --log-level is. */
        cfg->debug_cats |= cats;
        return 0;
    }
    case OPT_MINE:
    case OPT_LOG_JSON:
    case OPT_HELP:
    case OPT_VERSION:
    case OPT_RPC_DOC:
        if (parse_bool(v, &b) != 0)
            return fail(err, err_len, "--%s: expected a boolean, got '%s'", o->name, v);
        if (o->id == OPT_MINE)
            cfg->mine = b;
        else if (o->id == OPT_LOG_JSON)
            cfg->log_json = b;
        else if (o->id == OPT_HELP)
            cfg->help = b;
        else if (o->id == OPT_VERSION)
            cfg->version = b;
        else
            cfg->rpc_doc = b;
        return 0;
    }
    return fail(err, err_len, "internal: unhandled option");
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

int node_config_parse(struct node_config *cfg, int argc, const char *const argv[],
                      node_getenv_fn getenv_fn, void *env_ctx, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->network, "regtest");
    strcpy(cfg->bind, "0.0.0.0");
    strcpy(cfg->rpc_bind, "127.0.0.1");
    cfg->max_peers = NODE_DEFAULT_MAX_PEERS;
    cfg->fanout = NODE_DEFAULT_FANOUT;
    cfg->tx_batch_ms = NODE_DEFAULT_TX_BATCH_MS;
    cfg->log_level = NODE_LOG_INFO;
    bool connect_reset = false;

    if (getenv_fn) {
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
            if (!opts[i].env)
                continue;
            char envname[64];
            size_t k = strlen(NODE_CONFIG_ENV_PREFIX);
            memcpy(envname, NODE_CONFIG_ENV_PREFIX, k);
            for (const char *p = opts[i].name; *p && k < sizeof envname - 1; p++)
                envname[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
            envname[k] = '\0';
            const char *v = getenv_fn(env_ctx, envname);
            if (!v)
                continue;
            if (apply(cfg, &opts[i], v, true, &connect_reset, err, err_len) != 0) {
                size_t used = err ? strlen(err) : 0;
                if (err && used + 1 < err_len)
                    snprintf(err + used, err_len - used, " (from %s)", envname);
                return -1;
            }
        }
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return fail(err, err_len, "unexpected argument '%s' (see --help)", a);
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const struct opt *o = find_opt(a, nlen);
        if (!o)
            return fail(err, err_len, "unknown option '%s' (see --help)", argv[i]);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (o->is_bool)
            v = "1";
        else if (o->id == OPT_DEBUG && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0))
            v = "all";   /* bare --debug, as bitcoind's -debug */
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            v = argv[++i];
        else
            return fail(err, err_len, "--%s needs a value", o->name);
        if (apply(cfg, o, v, false, &connect_reset, err, err_len) != 0)
            return -1;
    }

    cfg->params = chain_params_by_name(cfg->network);
    if (!cfg->params)
        return fail(err, err_len, "unknown network '%s'", cfg->network);
    if (cfg->port == 0)
        cfg->port = cfg->params->p2p_port;
    if (cfg->rpc_port == 0)
        cfg->rpc_port = cfg->params->rpc_port;
    if (!cfg->datadir[0]) {
        const char *home = getenv_fn ? getenv_fn(env_ctx, "HOME") : NULL;
        int n = snprintf(cfg->datadir, sizeof cfg->datadir, "%s/.gossipd/%s",
                         home && *home ? home : ".", cfg->network);
        if (n < 0 || (size_t)n >= sizeof cfg->datadir)
            return fail(err, err_len, "default datadir too long; use --datadir");
    }
    if (!cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "node-%u", (unsigned)cfg->port);
    if ((cfg->rpc_user[0] != '\0') != (cfg->rpc_password[0] != '\0'))
        return fail(err, err_len, "--rpc-user and --rpc-password go together");
    return 0;
}
