#include "node/config.h"
#include "node/verify.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/hex.h"
#include "node/log.h"

const char *const node_zmq_topic_names[NODE_ZMQ_TOPICS] = {
    "hashblock", "hashtx", "rawblock", "rawtx", "sequence",
};

/* ------------------------------------------------------------ the table */

enum opt_type {
    T_BOOL,    /* bool field */
    T_INT,     /* int field, min..max */
    T_PORT,    /* uint16_t field, 0..65535 */
    T_STR,     /* char array field; min 1: must not be empty */
    T_FN,      /* parsed by fn */
    T_CLIENT,  /* gossip-cli's, allowed in the shared config file and ignored */
};

enum {
    O_NOENV = 1u << 0,    /* not read from the environment */
    O_NOFILE = 1u << 1,   /* not allowed in the config file */
    O_TOP = 1u << 2,      /* in the config file, only in the top section */
    O_NEG = 1u << 3,      /* -noNAME means NAME=0 (booleans always allow it) */
    O_HIDDEN = 1u << 4,   /* not in --help */
};

/* Applying one source (the file's top section, a file section, the
 * environment, the command line). */
struct layer {
    bool from_env;
    bool connect_reset;   /* this source's first --connect replaced the earlier list */
    bool network_set;     /* this source chose the network */
};

struct opt;
typedef int (*opt_fn)(struct node_config *cfg, const struct opt *o, const char *v,
                      struct layer *l, char *err, size_t err_len);

struct opt {
    const char *name;
    enum opt_type type;
    size_t off;           /* offsetof the field in struct node_config */
    size_t size;          /* sizeof the field */
    long min, max;
    opt_fn fn;            /* T_FN */
    unsigned flags;
    const char *arg;      /* value placeholder in --help; NULL: a boolean */
    const char *help;     /* lines after the first start with '\n' */
};

static int opt_network(struct node_config *, const struct opt *, const char *, struct layer *,
                       char *, size_t);
static int opt_chain_flag(struct node_config *, const struct opt *, const char *,
                          struct layer *, char *, size_t);
static int opt_name(struct node_config *, const struct opt *, const char *, struct layer *,
                    char *, size_t);
static int opt_connect(struct node_config *, const struct opt *, const char *, struct layer *,
                       char *, size_t);
static int opt_rpc_user(struct node_config *, const struct opt *, const char *, struct layer *,
                        char *, size_t);
static int opt_log_level(struct node_config *, const struct opt *, const char *,
                         struct layer *, char *, size_t);
static int opt_debug(struct node_config *, const struct opt *, const char *, struct layer *,
                     char *, size_t);
static int opt_relay(struct node_config *, const struct opt *, const char *, struct layer *,
                     char *, size_t);
static int opt_path_or_off(struct node_config *, const struct opt *, const char *,
                           struct layer *, char *, size_t);

#define FIELD(f) offsetof(struct node_config, f), sizeof(((struct node_config *)0)->f)
#define BOOL(name, f, flags, help) { name, T_BOOL, FIELD(f), 0, 1, NULL, flags, NULL, help }
#define INT(name, f, lo, hi, arg, help) { name, T_INT, FIELD(f), lo, hi, NULL, 0, arg, help }
#define PORT(name, f, help) { name, T_PORT, FIELD(f), 0, 65535, NULL, 0, "N", help }
#define STR(name, f, min, flags, arg, help) { name, T_STR, FIELD(f), min, 0, NULL, flags, arg, help }
#define FN(name, f, fn, flags, arg, help) { name, T_FN, FIELD(f), 0, 0, fn, flags, arg, help }
#define CLIENT(name) { name, T_CLIENT, 0, 0, 0, 0, NULL, O_NOENV | O_HIDDEN, NULL, "" }

/* Every option, in --help order. One row per option: a new one is a row
 * here and a field in struct node_config. */
static const struct opt opts[] = {
    FN("network", network, opt_network, O_TOP, "regtest|testnet", "chain to run (default regtest)"),
    FN("regtest", network, opt_chain_flag, O_TOP, NULL, "same as --network=regtest"),
    FN("testnet", network, opt_chain_flag, O_TOP, NULL, "same as --network=testnet"),
    STR("datadir", datadir, 1, 0, "DIR", "data directory (default $HOME/.gossipd/NETWORK)"),
    STR("conf", conf, 1, O_NOFILE, "FILE", "config file (default DATADIR/" NODE_CONFIG_FILE_NAME
        ",\nor $HOME/.gossipd/" NODE_CONFIG_FILE_NAME " without --datadir)"),
    FN("name", name, opt_name, 0, "NAME", "node name shown in logs and the user agent"),
    STR("bind", bind, 0, 0, "ADDR", "p2p listen address (default 0.0.0.0)"),
    PORT("port", port, "p2p port (default: the network's)"),
    FN("connect", connect, opt_connect, O_NEG, "HOST:PORT",
       "peer to keep connected (repeatable;\nPUBKEY@HOST:PORT: only if it proves that v2\nnode key;\nGOSSIPD_CONNECT is comma-separated). With any"
       "\n--connect the node opens no other outbound\nconnections; --connect=0 alone: none at all"),
    BOOL("v2transport", v2transport, 0,
         "encrypted v2 transport with peers that speak it,\nv1 with the others (default 1)"),
    BOOL("v2only", v2only, 0, "refuse peers that do not speak v2"),
    BOOL("dbfsync", dbfsync, 0,
         "fsync every chain.db commit: a block is durable\nacross power loss; 0: across a crash of\nthe process only (a power loss may take back\nthe last blocks, peers send them again), own\ntxs and the node key still synced (default 0)"),
    BOOL("cmpct", cmpct, 0,
         "compact blocks and high-bandwidth push with\npeers that speak them (default 1)"),
    STR("peerkeys", peerkeys, 0, 0, "KEY,...",
        "keep only v2 peers proving one of these node\nkeys (64 hex each; see getnetworkinfo's\np2p_node_key)"),
    INT("max-peers", max_peers, 1, NODE_MAX_PEERS_LIMIT, "N",
        "peer connections, in and out (default 32)"),
    INT("fanout", fanout, 0, NODE_MAX_PEERS_LIMIT, "N",
        "peers each tx is announced to, 0 = all (default 0)"),
    INT("tx-batch-ms", tx_batch_ms, 0, NODE_TX_BATCH_MS_LIMIT, "N",
        "tx announcement batching period (default 50)"),
    FN("relay", relay_push, opt_relay, 0, "pull|push",
       "tx relay: pull (inv, getdata) or push (bodies\npushed on learned links per sender bucket,\ninv on the others) (default push)"),
    STR("rpc-bind", rpc_bind, 0, 0, "ADDR", "JSON-RPC listen address (default 127.0.0.1)"),
    PORT("rpc-port", rpc_port, "JSON-RPC port (default: the network's)"),
    FN("rpc-user", rpc_user, opt_rpc_user, 0, "USER",
       "JSON-RPC Basic auth user; without user and"),
    STR("rpc-password", rpc_password, 0, 0, "PASS",
        "password a cookie file DATADIR/.cookie is written"),
    BOOL("mine", mine, 0, "mine continuously (testnet)"),
    STR("mine-key", mine_key, 0, 0, "ADDR|FILE",
        "pay mined coins to ADDR (64 hex) or a key file's\naddress (default: the node's key)"),
    BOOL("log-json", log_json, 0, "write log events as JSON lines"),
    FN("log-level", log_level, opt_log_level, 0, "LEVEL", "debug|info|warn|error (default info)"),
    FN("debug", debug_cats, opt_debug, 0, "CATS",
       "debug categories: net,mempool,chain,rpc,p2p,mine,all\n(bare --debug: all)"),
    BOOL("printtoconsole", printtoconsole, 0, "log to stderr (default: to the log file only)"),
    FN("debuglogfile", debuglogfile, opt_path_or_off, O_NEG, "FILE",
       "log file, reopened on SIGHUP (default DATADIR/" NODE_DEFAULT_LOG_FILE
       ";\nrelative: under DATADIR; --nodebuglogfile: none)"),
    BOOL("daemon", daemon, 0, "run in the background once started"),
    FN("pid", pid_file, opt_path_or_off, O_NEG, "FILE",
       "pid file (default DATADIR/" NODE_DEFAULT_PID_FILE "; --nopid: none)"),
    INT("par", par, 0, NODE_VERIFY_MAX_THREADS, "N",
        "threads checking tx signatures off the event\nloop: 0 = one per core (default), 1 = none\n(all on the loop thread)"),
    INT("checkblocks", checkblocks, 0, NODE_CHECKBLOCKS_MAX, "N",
        "re-verify the last N blocks at start (default 6)"),
    BOOL("reindex", reindex, 0, "rebuild the block index and ledger from the\nstored blocks, then start"),
    STR("blocknotify", blocknotify, 0, 0, "CMD",
        "run CMD (sh -c) when the tip changes; %s is\nreplaced by the block hash"),
    STR("zmqpubhashblock", zmqpub[NODE_ZMQ_HASHBLOCK], 0, 0, "ADDR",
        "publish block hashes on ZeroMQ (tcp://HOST:PORT)"),
    STR("zmqpubhashtx", zmqpub[NODE_ZMQ_HASHTX], 0, 0, "ADDR", "publish txids"),
    STR("zmqpubrawblock", zmqpub[NODE_ZMQ_RAWBLOCK], 0, 0, "ADDR", "publish serialized blocks"),
    STR("zmqpubrawtx", zmqpub[NODE_ZMQ_RAWTX], 0, 0, "ADDR", "publish serialized txs"),
    STR("zmqpubsequence", zmqpub[NODE_ZMQ_SEQUENCE], 0, 0, "ADDR",
        "publish connect/disconnect and mempool events"),
    BOOL("help", help, O_NOENV | O_NOFILE, "this text"),
    BOOL("h", help, O_NOENV | O_NOFILE | O_HIDDEN, ""),
    BOOL("?", help, O_NOENV | O_NOFILE | O_HIDDEN, ""),
    BOOL("version", version, O_NOENV | O_NOFILE, "print the version"),
    BOOL("rpc-doc", rpc_doc, O_NOENV | O_NOFILE | O_HIDDEN, ""),
    /* gossip-cli's keys: gossipd.conf serves both binaries. */
    CLIENT("rpcconnect"),
    CLIENT("rpcwait"),
    CLIENT("rpcwaittimeout"),
    CLIENT("rpcclienttimeout"),
};

#define N_OPTS (sizeof opts / sizeof opts[0])

/* Column where --help's descriptions start. */
#define USAGE_COL 29
#define USAGE_MAX 8192   /* bytes */

const char *node_config_usage(void)
{
    static char buf[USAGE_MAX];
    if (buf[0])
        return buf;
    size_t len = 0;
#define PUT(...) do { int k_ = snprintf(buf + len, sizeof buf - len, __VA_ARGS__); \
                      assert(k_ >= 0 && (size_t)k_ < sizeof buf - len); len += (size_t)k_; } while (0)
    PUT("Usage: gossipd [options]\n"
        "Options are -NAME or --NAME; NAME=value in the config file; GOSSIPD_NAME\n"
        "(upper case, '-' as '_') in the environment. Command line > environment >\n"
        "config file. -noNAME turns a boolean off.\n\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (o->flags & O_HIDDEN)
            continue;
        char head[64];
        snprintf(head, sizeof head, "--%s%s%s", o->name, o->arg ? "=" : "",
                 o->arg ? o->arg : "");
        PUT("  %-*s ", USAGE_COL - 3, head);
        for (const char *h = o->help; *h; h++) {
            if (*h == '\n')
                PUT("\n%*s", USAGE_COL, "");
            else
                PUT("%c", *h);
        }
        PUT("\n");
    }
#undef PUT
    return buf;
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
    uint8_t key[32];
    bool has_key;
    const char *hp = node_config_connect_split(dst, key, &has_key);
    if (!hp || node_config_split_hostport(hp, host, sizeof host, &port) != 0)
        return fail(err, err_len, "--connect: expected [PUBKEY@]HOST:PORT, got '%s'", dst);
    cfg->n_connect++;
    return 0;
}

const char *node_config_connect_split(const char *entry, uint8_t key[32], bool *has_key)
{
    const char *at = strchr(entry, '@');
    *has_key = at != NULL;
    if (!at)
        return entry;
    if (at - entry != 64)
        return NULL;
    char hex[65];
    memcpy(hex, entry, 64);
    hex[64] = '\0';
    if (hex_decode(key, 32, hex) != 0)
        return NULL;
    return at + 1;
}

static void *field(struct node_config *cfg, const struct opt *o)
{
    return (char *)cfg + o->off;
}

static int opt_network(struct node_config *cfg, const struct opt *o, const char *v,
                       struct layer *l, char *err, size_t err_len)
{
    if (!chain_params_by_name(v))
        return fail(err, err_len, "--network: unknown network '%s' (regtest|testnet)", v);
    l->network_set = true;
    return copy_str(cfg->network, sizeof cfg->network, v);
}

/* --regtest / --testnet: booleans naming the network; =0 changes nothing. */
static int opt_chain_flag(struct node_config *cfg, const struct opt *o, const char *v,
                          struct layer *l, char *err, size_t err_len)
{
    bool b;
    if (parse_bool(v, &b) != 0)
        return fail(err, err_len, "--%s: expected a boolean, got '%s'", o->name, v);
    if (!b)
        return 0;
    l->network_set = true;
    return copy_str(cfg->network, sizeof cfg->network, o->name);
}

static int opt_name(struct node_config *cfg, const struct opt *o, const char *v,
                    struct layer *l, char *err, size_t err_len)
{
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return fail(err, err_len, "--name: use letters, digits, '-', '_', '.'");
    if (copy_str(cfg->name, sizeof cfg->name, v) != 0)
        return fail(err, err_len, "--name: too long (max %zu)", sizeof cfg->name - 1);
    return 0;
}

static int opt_connect(struct node_config *cfg, const struct opt *o, const char *v,
                       struct layer *l, char *err, size_t err_len)
{
    if (!l->connect_reset) {
        cfg->n_connect = 0;
        cfg->no_auto_connect = false;
        l->connect_reset = true;
    }
    if (!l->from_env)
        return add_connect(cfg, v, strlen(v), err, err_len);
    for (const char *p = v;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (add_connect(cfg, p, len, err, err_len) != 0)
            return -1;
        if (!c)
            return 0;
        p = c + 1;
    }
}

static int opt_rpc_user(struct node_config *cfg, const struct opt *o, const char *v,
                        struct layer *l, char *err, size_t err_len)
{
    if (strchr(v, ':'))
        return fail(err, err_len, "--rpc-user: must not contain ':'");
    return copy_str(cfg->rpc_user, sizeof cfg->rpc_user, v)
        ? fail(err, err_len, "--rpc-user: too long") : 0;
}

static int opt_log_level(struct node_config *cfg, const struct opt *o, const char *v,
                         struct layer *l, char *err, size_t err_len)
{
    int lv = node_log_level_parse(v);
    if (lv < 0)
        return fail(err, err_len, "--log-level: expected debug|info|warn|error");
    cfg->log_level = lv;
    return 0;
}

static int opt_relay(struct node_config *cfg, const struct opt *o, const char *v,
                     struct layer *l, char *err, size_t err_len)
{
    if (strcmp(v, "pull") != 0 && strcmp(v, "push") != 0)
        return fail(err, err_len, "--relay: expected pull|push");
    cfg->relay_push = strcmp(v, "push") == 0;
    return 0;
}

static int opt_debug(struct node_config *cfg, const struct opt *o, const char *v,
                     struct layer *l, char *err, size_t err_len)
{
    unsigned cats;
    if (node_log_cats_parse(v, &cats) != 0)
        return fail(err, err_len, "--debug: unknown category in '%s' "
                    "(net,mempool,chain,rpc,p2p,mine,all)", v);
    /* Debug lines of an enabled category show whatever --log-level is. */
    cfg->debug_cats |= cats;
    return 0;
}

/* --pid / --debuglogfile: a path, or "0" (or -noNAME) for none. */
static int opt_path_or_off(struct node_config *cfg, const struct opt *o, const char *v,
                           struct layer *l, char *err, size_t err_len)
{
    bool *off = o->off == offsetof(struct node_config, pid_file) ? &cfg->pid_off
                                                                : &cfg->debuglogfile_off;
    char *dst = field(cfg, o);
    *off = strcmp(v, "0") == 0;
    if (*off) {
        dst[0] = '\0';
        return 0;
    }
    if (!*v || copy_str(dst, o->size, v) != 0)
        return fail(err, err_len, "--%s: empty or too long", o->name);
    return 0;
}

/* Apply one option value from source l. */
static int apply(struct node_config *cfg, const struct opt *o, const char *v, struct layer *l,
                 char *err, size_t err_len)
{
    long n;
    bool b;
    switch (o->type) {
    case T_BOOL:
        assert(o->size == sizeof(bool));
        if (parse_bool(v, &b) != 0)
            return fail(err, err_len, "--%s: expected a boolean, got '%s'", o->name, v);
        *(bool *)field(cfg, o) = b;
        return 0;
    case T_INT:
        assert(o->size == sizeof(int));
        if (parse_long(v, o->min, o->max, &n) != 0)
            return fail(err, err_len, "--%s: expected %ld..%ld, got '%s'", o->name, o->min,
                        o->max, v);
        *(int *)field(cfg, o) = (int)n;
        return 0;
    case T_PORT:
        assert(o->size == sizeof(uint16_t));
        if (parse_long(v, 0, 65535, &n) != 0)
            return fail(err, err_len, "--%s: expected a port number, got '%s'", o->name, v);
        *(uint16_t *)field(cfg, o) = (uint16_t)n;
        return 0;
    case T_STR:
        if ((o->min > 0 && !*v) || copy_str(field(cfg, o), o->size, v) != 0)
            return fail(err, err_len, "--%s: %s", o->name, *v ? "too long" : "empty");
        return 0;
    case T_FN:
        return o->fn(cfg, o, v, l, err, err_len);
    case T_CLIENT:
        return 0;
    }
    return fail(err, err_len, "internal: unhandled option");
}

/* Names match with '-' ignored: rpc-port, rpcport. */
static bool name_eq(const char *table_name, const char *s, size_t len)
{
    const char *t = table_name;
    size_t i = 0;
    for (;;) {
        while (*t == '-')
            t++;
        while (i < len && s[i] == '-')
            i++;
        if (!*t || i == len)
            return !*t && i == len;
        if (tolower((unsigned char)*t) != tolower((unsigned char)s[i]))
            return false;
        t++;
        i++;
    }
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (name_eq(opts[i].name, name, len))
            return &opts[i];
    return NULL;
}

/* The option NAME or noNAME names; *neg tells which. NULL if neither. */
static const struct opt *find_opt_neg(const char *name, size_t len, bool *neg)
{
    *neg = false;
    const struct opt *o = find_opt(name, len);
    if (o || len < 3 || strncasecmp(name, "no", 2) != 0)
        return o;
    o = find_opt(name + 2, len - 2);
    if (o && (o->type == T_BOOL || o->fn == opt_chain_flag || (o->flags & O_NEG))) {
        *neg = true;
        return o;
    }
    return NULL;
}

/* The value -noNAME=raw stands for; NULL if it cannot be negated that way. */
static const char *negated(const struct opt *o, const char *raw)
{
    bool b;
    if (parse_bool(raw, &b) != 0)
        return NULL;
    if (o->type == T_BOOL || o->fn == opt_chain_flag)
        return b ? "0" : "1";
    return b ? "0" : NULL;
}

static void env_name(char *out, size_t cap, const char *name)
{
    size_t k = strlen(NODE_CONFIG_ENV_PREFIX);
    assert(cap > k);
    memcpy(out, NODE_CONFIG_ENV_PREFIX, k);
    for (const char *p = name; *p && k < cap - 1; p++)
        out[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[k] = '\0';
}

static int apply_env(struct node_config *cfg, node_getenv_fn getenv_fn, void *env_ctx,
                     struct layer *l, char *err, size_t err_len)
{
    if (!getenv_fn)
        return 0;
    l->from_env = true;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].flags & O_NOENV)
            continue;
        char envname[64];
        env_name(envname, sizeof envname, opts[i].name);
        const char *v = getenv_fn(env_ctx, envname);
        if (!v)
            continue;
        if (apply(cfg, &opts[i], v, l, err, err_len) != 0) {
            size_t used = err ? strlen(err) : 0;
            if (err && used + 1 < err_len)
                snprintf(err + used, err_len - used, " (from %s)", envname);
            return -1;
        }
    }
    l->from_env = false;
    return 0;
}

static bool is_flag(const char *a)
{
    return a[0] == '-' && a[1] != '\0';
}

static int apply_args(struct node_config *cfg, int argc, const char *const argv[],
                      struct layer *l, char *err, size_t err_len)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!is_flag(a))
            return fail(err, err_len, "unexpected argument '%s' (see --help)", a);
        a += a[1] == '-' ? 2 : 1;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        bool neg;
        const struct opt *o = find_opt_neg(a, nlen, &neg);
        if (!o || o->type == T_CLIENT)
            return fail(err, err_len, "unknown option '%s' (see --help)", argv[i]);
        const char *v;
        if (neg) {
            v = negated(o, eq ? eq + 1 : "1");
            if (!v)
                return fail(err, err_len, "%s: expected no value or a boolean", argv[i]);
        } else if (eq) {
            v = eq + 1;
        } else if (o->type == T_BOOL || o->fn == opt_chain_flag) {
            v = "1";
        } else if (o->fn == opt_debug && (i + 1 >= argc || is_flag(argv[i + 1]))) {
            v = "all";   /* bare --debug, as bitcoind's -debug */
        } else if (i + 1 < argc && !is_flag(argv[i + 1])) {
            v = argv[++i];
        } else {
            return fail(err, err_len, "--%s needs a value", o->name);
        }
        if (apply(cfg, o, v, l, err, err_len) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ config file */

int node_config_parse_text(const char *label, const char *text, node_config_line_fn fn,
                           void *ctx, char *err, size_t err_len)
{
    char section[16] = "";
    char msg[384];
    int line = 0;
    for (const char *p = text; *p;) {
        line++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *next = nl ? nl + 1 : p + len;
        const char *hash = memchr(p, '#', len);
        if (hash)
            len = (size_t)(hash - p);
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        msg[0] = '\0';
        if (len == 0) {
            p = next;
            continue;
        }
        char buf[NODE_CONFIG_PATH_MAX + 64];
        if (len >= sizeof buf) {
            snprintf(msg, sizeof msg, "line too long (max %zu bytes)", sizeof buf - 1);
            goto bad;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (buf[0] == '[') {
            if (buf[len - 1] != ']' || len - 2 >= sizeof section) {
                snprintf(msg, sizeof msg, "expected [regtest] or [testnet], got '%.64s'", buf);
                goto bad;
            }
            buf[len - 1] = '\0';
            if (!chain_params_by_name(buf + 1)) {
                snprintf(msg, sizeof msg, "unknown section [%.64s] (regtest|testnet)", buf + 1);
                goto bad;
            }
            memcpy(section, buf + 1, len - 1);
            p = next;
            continue;
        }
        char *eq = strchr(buf, '=');
        if (!eq) {
            snprintf(msg, sizeof msg, "expected key=value, got '%.64s'", buf);
            goto bad;
        }
        if (buf[0] == '-') {
            snprintf(msg, sizeof msg, "write the key without a leading '-'");
            goto bad;
        }
        char *kend = eq;
        while (kend > buf && isspace((unsigned char)kend[-1]))
            kend--;
        *kend = '\0';
        char *val = eq + 1;
        while (isspace((unsigned char)*val))
            val++;
        if (fn(ctx, section, buf, val, msg, sizeof msg) != 0)
            goto bad;
        p = next;
        continue;
bad:
        return fail(err, err_len, "%s:%d: %s", label, line, msg);
    }
    return 0;
}

int node_config_read_file(const char *path, char **text, char *err, size_t err_len)
{
    *text = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return fail(err, err_len, "cannot read config file %s: %s", path, strerror(errno));
    }
    char *buf = malloc(NODE_CONFIG_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, NODE_CONFIG_FILE_MAX + 1, f) : 0;
    int rc = 0;
    if (!buf)
        rc = fail(err, err_len, "out of memory");
    else if (ferror(f))
        rc = fail(err, err_len, "cannot read config file %s: %s", path, strerror(errno));
    else if (n > NODE_CONFIG_FILE_MAX)
        rc = fail(err, err_len, "config file %s: larger than %d bytes", path,
                  NODE_CONFIG_FILE_MAX);
    else if (memchr(buf, '\0', n))
        rc = fail(err, err_len, "config file %s: not a text file", path);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    return 0;
}

int node_config_file_path(char *out, size_t cap, const char *conf, const char *datadir,
                          const char *home)
{
    int n;
    bool has_dir = datadir && *datadir;
    if (conf && *conf && conf[0] == '/')
        n = snprintf(out, cap, "%s", conf);
    else if (has_dir)
        n = snprintf(out, cap, "%s/%s", datadir, conf && *conf ? conf : NODE_CONFIG_FILE_NAME);
    else
        n = snprintf(out, cap, "%s/.gossipd/%s", home && *home ? home : ".",
                     conf && *conf ? conf : NODE_CONFIG_FILE_NAME);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Applying the file: pass 1 checks every line (values of other networks'
 * sections go to a scratch copy) and applies the top section; pass 2
 * applies the chosen network's section. */
struct file_ctx {
    struct node_config *cfg;
    struct node_config *scratch;
    const char *section;      /* pass 2: the section applied; NULL in pass 1 */
    struct layer top, sect, other;
};

static int file_line(void *ctx, const char *section, const char *key, const char *value,
                     char *err, size_t err_len)
{
    struct file_ctx *fc = ctx;
    bool neg;
    const struct opt *o = find_opt_neg(key, strlen(key), &neg);
    if (!o)
        return fail(err, err_len, "unknown key '%s'", key);
    if (o->flags & O_NOFILE)
        return fail(err, err_len, "'%s' is not allowed in the config file", key);
    if (section[0] && (o->flags & O_TOP))
        return fail(err, err_len, "'%s' belongs in the top section (before any [section])",
                    key);
    const char *v = value;
    if (neg && !(v = negated(o, value)))
        return fail(err, err_len, "%s: expected a boolean", key);
    if (fc->section)   /* pass 2 */
        return strcmp(section, fc->section) == 0
            ? apply(fc->cfg, o, v, &fc->sect, err, err_len) : 0;
    if (!section[0])
        return apply(fc->cfg, o, v, &fc->top, err, err_len);
    return apply(fc->scratch, o, v, &fc->other, err, err_len);
}

/* ------------------------------------------------------------ parse */

static void set_defaults(struct node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->network, "regtest");
    strcpy(cfg->bind, "0.0.0.0");
    strcpy(cfg->rpc_bind, "127.0.0.1");
    cfg->max_peers = NODE_DEFAULT_MAX_PEERS;
    cfg->fanout = NODE_DEFAULT_FANOUT;
    cfg->tx_batch_ms = NODE_DEFAULT_TX_BATCH_MS;
    cfg->log_level = NODE_LOG_INFO;
    cfg->v2transport = true;
    cfg->cmpct = true;
    cfg->relay_push = true;   /* PROTOCOL.md "Learned eager push" */
    cfg->dbfsync = false;   /* see NODE.md "Recovery" */
    cfg->checkblocks = NODE_DEFAULT_CHECKBLOCKS;
}

/* A path under the datadir unless absolute; def when empty. */
static int datadir_path(char *dst, size_t cap, const char *datadir, const char *def)
{
    char tmp[NODE_CONFIG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dst[0] ? dst : def);
    int n = tmp[0] == '/' ? snprintf(dst, cap, "%s", tmp)
                          : snprintf(dst, cap, "%s/%s", datadir, tmp);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int finish(struct node_config *cfg, const char *home, char *err, size_t err_len)
{
    cfg->params = chain_params_by_name(cfg->network);
    if (!cfg->params)
        return fail(err, err_len, "unknown network '%s'", cfg->network);
    if (cfg->port == 0)
        cfg->port = cfg->params->p2p_port;
    if (cfg->rpc_port == 0)
        cfg->rpc_port = cfg->params->rpc_port;
    if (!cfg->datadir[0]) {
        int n = snprintf(cfg->datadir, sizeof cfg->datadir, "%s/.gossipd/%s",
                         home && *home ? home : ".", cfg->network);
        if (n < 0 || (size_t)n >= sizeof cfg->datadir)
            return fail(err, err_len, "default datadir too long; use --datadir");
    }
    if (!cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "node-%u", (unsigned)cfg->port);
    if ((cfg->rpc_user[0] != '\0') != (cfg->rpc_password[0] != '\0'))
        return fail(err, err_len, "--rpc-user and --rpc-password go together");
    if (!cfg->debuglogfile_off &&
        datadir_path(cfg->debuglogfile, sizeof cfg->debuglogfile, cfg->datadir,
                     NODE_DEFAULT_LOG_FILE) != 0)
        return fail(err, err_len, "--debuglogfile: path too long");
    if (!cfg->pid_off &&
        datadir_path(cfg->pid_file, sizeof cfg->pid_file, cfg->datadir,
                     NODE_DEFAULT_PID_FILE) != 0)
        return fail(err, err_len, "--pid: path too long");
    return 0;
}

int node_config_parse(struct node_config *cfg, int argc, const char *const argv[],
                      node_getenv_fn getenv_fn, void *env_ctx, char *err, size_t err_len)
{
    const char *home = getenv_fn ? getenv_fn(env_ctx, "HOME") : NULL;
    /* First the environment and the command line alone: they say where the
     * config file is and may choose the network. */
    struct node_config *pre = malloc(sizeof *pre);
    struct node_config *scratch = malloc(sizeof *scratch);
    char *text = NULL;
    int rc = -1;
    if (!pre || !scratch) {
        fail(err, err_len, "out of memory");
        goto out;
    }
    set_defaults(pre);
    struct layer pre_l = { 0 };
    if (apply_env(pre, getenv_fn, env_ctx, &pre_l, err, err_len) != 0 ||
        apply_args(pre, argc, argv, &pre_l, err, err_len) != 0)
        goto out;
    if (pre->help || pre->version || pre->rpc_doc) {
        *cfg = *pre;
        cfg->params = chain_params_by_name(cfg->network);
        rc = 0;
        goto out;
    }
    char path[NODE_CONFIG_PATH_MAX];
    if (node_config_file_path(path, sizeof path, pre->conf, pre->datadir, home) != 0) {
        fail(err, err_len, "--conf: path too long");
        goto out;
    }
    int frc = node_config_read_file(path, &text, err, err_len);
    if (frc < 0)
        goto out;
    if (frc == 1 && pre->conf[0]) {
        fail(err, err_len, "cannot read config file %s: %s", path, strerror(ENOENT));
        goto out;
    }

    set_defaults(cfg);
    if (text) {
        struct file_ctx fc = { .cfg = cfg, .scratch = scratch };
        set_defaults(scratch);
        if (node_config_parse_text(path, text, file_line, &fc, err, err_len) != 0)
            goto out;
        fc.section = pre_l.network_set ? pre->network : cfg->network;
        if (node_config_parse_text(path, text, file_line, &fc, err, err_len) != 0)
            goto out;
        snprintf(cfg->conf, sizeof cfg->conf, "%s", path);
    }
    struct layer env_l = { 0 }, arg_l = { 0 };
    if (apply_env(cfg, getenv_fn, env_ctx, &env_l, err, err_len) != 0 ||
        apply_args(cfg, argc, argv, &arg_l, err, err_len) != 0)
        goto out;
    if (text)
        snprintf(cfg->conf, sizeof cfg->conf, "%s", path);
    else
        cfg->conf[0] = '\0';
    rc = finish(cfg, home, err, err_len);
out:
    free(text);
    free(pre);
    free(scratch);
    return rc;
}
