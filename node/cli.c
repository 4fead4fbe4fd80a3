/* gossip-cli: JSON-RPC client with bitcoin-cli habits, plus offline key and
 * transaction tools.
 *
 *   gossip-cli [options] METHOD [ARG ...]     call gossipd
 *   gossip-cli keygen FILE                    new key file, prints its address
 *   gossip-cli devkey FILE                    the (public) development key
 *   gossip-cli address FILE                   address of a key file
 *   gossip-cli tx FILE TO AMOUNT FEE NONCE [MEMO]     signed tx hex
 *   gossip-cli send FILE TO AMOUNT [FEE] [MEMO]       sign with the sender's
 *                                              next nonce and submit
 *
 * Arguments of METHOD that parse as JSON (numbers, true/false, null, arrays,
 * objects) are sent as JSON, anything else as a string. Results that are
 * strings print bare; others print as indented JSON. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chain/params.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sec.h"
#include "crypto/sig.h"
#include "node/config.h"
#include "node/keyfile.h"
#include "node/node.h"
#include "node/rpc_http.h"

#define CLI_TIMEOUT_S       900                  /* -rpcclienttimeout default: generate on testnet can be slow */
#define CLI_RESPONSE_MAX    (64u * 1024 * 1024)  /* bytes */
#define CLI_DEFAULT_FEE     1000                 /* base units */
#define CLI_RPCWAIT_POLL_MS 250                  /* -rpcwait: between attempts */
#define CLI_STDIN_MAX       (64u * 1024 * 1024)  /* -stdin: bytes in all */
#define CLI_ARGS_MAX        4096                 /* method arguments */
#define CLI_VALUE_MAX       1024                 /* bytes of an option value */
#define RPC_IN_WARMUP       (-28)                /* bitcoind's "Loading..." error */
#define CLI_SECS_MAX        (10L * 365 * 86400)  /* largest -rpcwait / -rpcclienttimeout */

/* Options: a row each. Names match with '-' ignored, so the node's
 * rpc-port in gossipd.conf is rpcport here. */
enum cli_opt {
    C_RPCCONNECT, C_RPCPORT, C_DATADIR, C_RPCUSER, C_RPCPASSWORD, C_NETWORK, C_REGTEST,
    C_TESTNET, C_CONF, C_RPCWAIT, C_RPCWAITTIMEOUT, C_RPCCLIENTTIMEOUT, C_NAMED, C_STDIN,
    C_GETINFO, C_HELP, C_VERSION, C_COUNT
};

enum { F_BOOL = 1, F_NOFILE = 2, F_HIDDEN = 4 };

static const struct cli_optdef {
    const char *name;
    unsigned flags;
    const char *env;      /* also read from this variable; NULL: not */
    const char *arg;      /* in -help */
    const char *help;     /* lines after the first start with '\n' */
} cli_opts_tab[C_COUNT] = {
    [C_RPCCONNECT] = { "rpcconnect", 0, NULL, "=HOST", "node to call (default 127.0.0.1)" },
    [C_RPCPORT] = { "rpcport", 0, "GOSSIPD_RPC_PORT", "=N", "default: the network's RPC port" },
    [C_DATADIR] = { "datadir", 0, "GOSSIPD_DATADIR", "=DIR",
                    "where gossipd keeps .cookie (default $HOME/.gossipd/NETWORK)" },
    [C_RPCUSER] = { "rpcuser", 0, "GOSSIPD_RPC_USER", "=USER", "with -rpcpassword, instead of"
                    " the cookie" },
    [C_RPCPASSWORD] = { "rpcpassword", 0, "GOSSIPD_RPC_PASSWORD", "=PASS", "" },
    [C_NETWORK] = { "network", 0, "GOSSIPD_NETWORK", "=NAME", "regtest|testnet (default regtest)" },
    [C_REGTEST] = { "regtest", F_BOOL, NULL, "", "same as -network=regtest" },
    [C_TESTNET] = { "testnet", F_BOOL, NULL, "", "same as -network=testnet" },
    [C_CONF] = { "conf", F_NOFILE, "GOSSIPD_CONF", "=FILE",
                 "config file (default DATADIR/gossipd.conf, or\n$HOME/.gossipd/gossipd.conf "
                 "without -datadir): its rpc-port,\nrpc-user, rpc-password, datadir and network "
                 "apply" },
    [C_RPCWAIT] = { "rpcwait", F_BOOL, NULL, "[=SEC]",
                    "wait (bare: with no limit) while the node is not\nup or still loading "
                    "(error -28)" },
    [C_RPCWAITTIMEOUT] = { "rpcwaittimeout", 0, NULL, "=SEC", "bitcoin-cli's -rpcwait limit" },
    [C_RPCCLIENTTIMEOUT] = { "rpcclienttimeout", 0, NULL, "=SEC",
                             "give up on a call after SEC s (default 900, 0: never)" },
    [C_NAMED] = { "named", F_BOOL | F_NOFILE, NULL, "", "arguments are NAME=VALUE (named params)" },
    [C_STDIN] = { "stdin", F_BOOL | F_NOFILE, NULL, "",
                  "read more arguments from stdin, one per line" },
    [C_GETINFO] = { "getinfo", F_BOOL | F_NOFILE, NULL, "",
                    "summary: version, chain, blocks, peers, mempool" },
    [C_HELP] = { "help", F_BOOL | F_NOFILE, NULL, "", "this text (also -h, -?)" },
    [C_VERSION] = { "version", F_BOOL | F_NOFILE, NULL, "", "print the version" },
};

#define CLI_USAGE_COL 26

struct cli_vals {
    bool set[C_COUNT];
    char v[C_COUNT][CLI_VALUE_MAX];
};

struct cli_opts {
    char host[CLI_VALUE_MAX];
    char datadir[CLI_VALUE_MAX];
    char network[16];
    char user[CLI_VALUE_MAX];
    char password[CLI_VALUE_MAX];
    int port;
    bool wait;
    int wait_s;            /* 0: no limit */
    int timeout_s;         /* 0: none */
    bool named, use_stdin, getinfo;
};

static void usage(FILE *out)
{
    fputs("Usage: gossip-cli [options] METHOD [ARG ...]\n"
          "       gossip-cli [options] -getinfo\n"
          "       gossip-cli keygen FILE | devkey FILE | address FILE\n"
          "       gossip-cli tx FILE TO AMOUNT FEE NONCE [MEMO]\n"
          "       gossip-cli send FILE TO AMOUNT [FEE] [MEMO]\n"
          "Options are -NAME or --NAME. Command line > environment (GOSSIPD_RPC_PORT,\n"
          "GOSSIPD_DATADIR, GOSSIPD_NETWORK, GOSSIPD_RPC_USER, GOSSIPD_RPC_PASSWORD,\n"
          "GOSSIPD_CONF) > gossipd.conf (other keys there are the node's and ignored):\n",
          out);
    for (int i = 0; i < C_COUNT; i++) {
        const struct cli_optdef *d = &cli_opts_tab[i];
        if (d->flags & F_HIDDEN)
            continue;
        char head[64];
        snprintf(head, sizeof head, "-%s%s", d->name, d->arg);
        fprintf(out, "  %-*s ", CLI_USAGE_COL - 3, head);
        for (const char *h = d->help; *h; h++)
            if (*h == '\n')
                fprintf(out, "\n%*s", CLI_USAGE_COL, "");
            else
                fputc(*h, out);
        fputc('\n', out);
    }
    fputs("Arguments that parse as JSON (numbers, true/false, null, arrays, objects) are\n"
          "sent as JSON, others as strings. Amounts and fees are integers in base units\n"
          "(1 coin = 100000000). `gossip-cli help` lists the node's methods;\n"
          "`gossip-cli help METHOD` explains one.\n", out);
}

/* Values are at most CLI_VALUE_MAX - 1 bytes (set_val checks); the
 * fields that hold them are that large but network, whose longer values
 * name no network and are refused. */
static void copy_opt(char *dst, size_t cap, const char *v)
{
    size_t n = strnlen(v, cap - 1);
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Names match with '-' ignored (rpc-port is rpcport). */
static int find_cli_opt(const char *name, size_t len)
{
    for (int i = 0; i < C_COUNT; i++) {
        const char *t = cli_opts_tab[i].name;
        size_t k = 0;
        for (;;) {
            while (k < len && name[k] == '-')
                k++;
            if (!*t || k == len) {
                if (!*t && k == len)
                    return i;
                break;
            }
            if (*t != name[k])
                break;
            t++;
            k++;
        }
    }
    if (len == 1 && (name[0] == 'h' || name[0] == '?'))
        return C_HELP;
    return -1;
}

static int set_val(struct cli_vals *vals, int id, const char *v)
{
    if (strlen(v) >= CLI_VALUE_MAX) {
        fprintf(stderr, "error: -%s: value too long\n", cli_opts_tab[id].name);
        return -1;
    }
    copy_opt(vals->v[id], sizeof vals->v[id], v);
    vals->set[id] = true;
    return 0;
}

struct cli_file_ctx {
    struct cli_vals *top, *sect;
    const char *section;   /* pass 2: the network's section */
};

static int cli_file_line(void *ctx, const char *section, const char *key, const char *value,
                         char *err, size_t err_len)
{
    struct cli_file_ctx *fc = ctx;
    int id = find_cli_opt(key, strlen(key));
    if (id < 0 || (cli_opts_tab[id].flags & F_NOFILE))
        return 0;   /* the node's keys (and the node checks them) */
    if (!fc->section)
        return section[0] ? 0 : set_val(fc->top, id, value);
    return strcmp(section, fc->section) == 0 ? set_val(fc->sect, id, value) : 0;
}

/* A boolean option is on: given bare, or with a value other than 0/false/no/off. */
static bool flag_on(const struct cli_vals *v, int id)
{
    static const char *const off[] = { "0", "false", "no", "off" };
    if (!v->set[id])
        return false;
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (strcasecmp(v->v[id], off[i]) == 0)
            return false;
    return true;
}

/* The network a set of values names, or NULL. */
static const char *vals_network(const struct cli_vals *v)
{
    if (flag_on(v, C_REGTEST))
        return "regtest";
    if (flag_on(v, C_TESTNET))
        return "testnet";
    return v->set[C_NETWORK] ? v->v[C_NETWORK] : NULL;
}

static const char *pick(int id, const struct cli_vals *const layers[4])
{
    for (int i = 0; i < 4; i++)
        if (layers[i]->set[id])
            return layers[i]->v[id];
    return NULL;
}

static int parse_secs(const char *name, const char *v, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > CLI_SECS_MAX) {
        fprintf(stderr, "error: -%s: expected seconds, got '%s'\n", name, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* Parse options (command line, environment, config file) into o; *argi
 * gets the index of the first non-option argument. Returns 0, 1 when
 * -help/-version was handled, or -1 after printing an error. */
static int cli_parse(struct cli_opts *o, int argc, char **argv, int *argi)
{
    static struct cli_vals cmd, env, top, sect;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        int id = find_cli_opt(a, n);
        if (id < 0) {
            fprintf(stderr, "error: unknown option %s (see gossip-cli -help)\n", argv[i]);
            return -1;
        }
        if (!eq && !(cli_opts_tab[id].flags & F_BOOL)) {
            fprintf(stderr, "error: %s needs a value (-%s=...)\n", argv[i], cli_opts_tab[id].name);
            return -1;
        }
        if (set_val(&cmd, id, eq ? eq + 1 : "") != 0)   /* bare flag: "" */
            return -1;
    }
    *argi = i;
    if (flag_on(&cmd, C_HELP)) {
        usage(stdout);
        return 1;
    }
    if (flag_on(&cmd, C_VERSION)) {
        printf("gossip-cli %s\n", NODE_VERSION_STRING);
        return 1;
    }
    for (int k = 0; k < C_COUNT; k++) {
        const char *e = cli_opts_tab[k].env ? getenv(cli_opts_tab[k].env) : NULL;
        if (e && *e && set_val(&env, k, e) != 0)
            return -1;
    }
    const char *home = getenv("HOME");
    const char *conf = cmd.set[C_CONF] ? cmd.v[C_CONF] : env.set[C_CONF] ? env.v[C_CONF] : NULL;
    const char *dd = cmd.set[C_DATADIR] ? cmd.v[C_DATADIR]
                   : env.set[C_DATADIR] ? env.v[C_DATADIR] : NULL;
    char path[1100], err[512];
    char *text = NULL;
    if (node_config_file_path(path, sizeof path, conf, dd, home) != 0) {
        fprintf(stderr, "error: -conf: path too long\n");
        return -1;
    }
    int frc = node_config_read_file(path, &text, err, sizeof err);
    if (frc < 0 || (frc == 1 && conf)) {
        fprintf(stderr, "error: %s\n", frc < 0 ? err : "cannot read the -conf file");
        if (frc == 1)
            fprintf(stderr, "(%s: %s)\n", path, strerror(ENOENT));
        return -1;
    }
    const char *net = vals_network(&cmd);
    if (!net)
        net = vals_network(&env);
    if (text) {
        struct cli_file_ctx fc = { .top = &top, .sect = &sect };
        int rc = node_config_parse_text(path, text, cli_file_line, &fc, err, sizeof err);
        if (rc == 0) {
            if (!net)
                net = vals_network(&top);
            fc.section = net ? net : "regtest";
            rc = node_config_parse_text(path, text, cli_file_line, &fc, err, sizeof err);
        }
        free(text);
        if (rc != 0) {
            fprintf(stderr, "error: %s\n", err);
            return -1;
        }
    }
    copy_opt(o->network, sizeof o->network, net ? net : "regtest");
    const struct cli_vals *const layers[4] = { &cmd, &env, &sect, &top };
    const char *v;
    copy_opt(o->host, sizeof o->host, (v = pick(C_RPCCONNECT, layers)) ? v : "127.0.0.1");
    if ((v = pick(C_DATADIR, layers)))
        copy_opt(o->datadir, sizeof o->datadir, v);
    if ((v = pick(C_RPCUSER, layers)))
        copy_opt(o->user, sizeof o->user, v);
    if ((v = pick(C_RPCPASSWORD, layers)))
        copy_opt(o->password, sizeof o->password, v);
    if ((v = pick(C_RPCPORT, layers))) {
        char *end;
        long port = strtol(v, &end, 10);
        if (!*v || *end || port < 0 || port > 65535) {   /* 0: the default, as gossipd */
            fprintf(stderr, "error: -rpcport: expected 0..65535, got '%s'\n", v);
            return -1;
        }
        o->port = (int)port;
    }
    o->timeout_s = CLI_TIMEOUT_S;
    if ((v = pick(C_RPCCLIENTTIMEOUT, layers)) && parse_secs("rpcclienttimeout", v, &o->timeout_s))
        return -1;
    if ((v = pick(C_RPCWAIT, layers))) {
        /* -rpcwait alone (""): no limit; -rpcwait=SEC: SEC seconds. */
        o->wait = true;
        if (*v && parse_secs("rpcwait", v, &o->wait_s))
            return -1;
    }
    if ((v = pick(C_RPCWAITTIMEOUT, layers)) && parse_secs("rpcwaittimeout", v, &o->wait_s))
        return -1;
    o->named = flag_on(&cmd, C_NAMED);
    o->use_stdin = flag_on(&cmd, C_STDIN);
    o->getinfo = flag_on(&cmd, C_GETINFO);

    const struct chain_params *p = chain_params_by_name(o->network);
    if (!p) {
        fprintf(stderr, "error: unknown network %s\n", o->network);
        return -1;
    }
    if (o->port <= 0 || o->port > 65535)
        o->port = p->rpc_port;
    if (!o->datadir[0])
        snprintf(o->datadir, sizeof o->datadir, "%s/.gossipd/%s", home && *home ? home : ".",
                 o->network);
    return 0;
}

/* ---- HTTP ---- */

enum {
    CLI_E_CONNECT = -2,    /* no server there (yet): -rpcwait waits */
    CLI_E_COOKIE = -3,     /* no cookie (yet): -rpcwait waits */
    CLI_E_OTHER = -1,
};

static int http_post(const struct cli_opts *o, const char *auth_b64, const char *body,
                     int *status, char **resp, size_t *resp_len, char *err, size_t err_len)
{
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(o->host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, err_len, "error: cannot resolve %s: %s", o->host, gai_strerror(rc));
        return CLI_E_OTHER;
    }
    struct timeval tv = { .tv_sec = o->timeout_s };
    int fd = -1, cerr = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        /* Also bounds connect() (Linux applies SO_SNDTIMEO to it). */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        cerr = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        snprintf(err, err_len, "error: couldn't connect to server: %s:%s (%s)\n"
                 "Is gossipd running? Check -rpcport and -datadir.", o->host, port,
                 strerror(cerr));
        return CLI_E_CONNECT;
    }
    size_t blen = strlen(body);
    char head[4 * CLI_VALUE_MAX + 512];
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                      "Authorization: Basic %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", o->host, auth_b64, blen);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        close(fd);
        snprintf(err, err_len, "error: request header too long");
        return CLI_E_OTHER;
    }
    if (write(fd, head, (size_t)hl) != hl || write(fd, body, blen) != (ssize_t)blen) {
        snprintf(err, err_len, "error: write to server failed: %s", strerror(errno));
        close(fd);
        /* A node still binding may reset the first connection. */
        return errno == ECONNRESET || errno == EPIPE ? CLI_E_CONNECT : CLI_E_OTHER;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            snprintf(err, err_len, "error: out of memory");
            return CLI_E_OTHER;
        }
        if (cap - len < 4096) {
            if (cap >= CLI_RESPONSE_MAX) {
                snprintf(err, err_len, "error: response too large");
                free(buf);
                close(fd);
                return CLI_E_OTHER;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                snprintf(err, err_len, "error: out of memory");
                return CLI_E_OTHER;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bool timeout = errno == EAGAIN || errno == EWOULDBLOCK;
            if (timeout)
                snprintf(err, err_len, "error: no answer within -rpcclienttimeout=%d s",
                         o->timeout_s);
            else
                snprintf(err, err_len, "error: read from server failed: %s", strerror(errno));
            bool reset = errno == ECONNRESET;
            free(buf);
            close(fd);
            return reset && len == 0 ? CLI_E_CONNECT : CLI_E_OTHER;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    char *sp = strchr(buf, ' ');
    char *hend = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || !sp || !hend) {
        snprintf(err, err_len, "error: malformed HTTP response");
        free(buf);
        return len == 0 ? CLI_E_CONNECT : CLI_E_OTHER;
    }
    *status = atoi(sp + 1);
    size_t off = (size_t)(hend + 4 - buf);
    memmove(buf, buf + off, len - off + 1);
    *resp = buf;
    *resp_len = len - off;
    return 0;
}

static int auth_header(const struct cli_opts *o, char *out, size_t cap, char *err,
                       size_t err_len)
{
    char userpass[2 * CLI_VALUE_MAX + 2];
    if (o->user[0]) {
        snprintf(userpass, sizeof userpass, "%s:%s", o->user, o->password);
    } else {
        char path[CLI_VALUE_MAX + 16];
        snprintf(path, sizeof path, "%s/.cookie", o->datadir);
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, err_len, "error: cannot read the cookie %s (%s); is gossipd running "
                     "with this -datadir, or pass -rpcuser/-rpcpassword", path, strerror(errno));
            return CLI_E_COOKIE;
        }
        size_t n = fread(userpass, 1, sizeof userpass - 1, f);
        fclose(f);
        userpass[n] = '\0';
        while (n && (userpass[n - 1] == '\n' || userpass[n - 1] == '\r'))
            userpass[--n] = '\0';
    }
    size_t ul = strlen(userpass);
    if (4 * ((ul + 2) / 3) + 1 > cap) {
        snprintf(err, err_len, "error: credentials too long");
        return CLI_E_OTHER;
    }
    node_rpc_base64(out, (const uint8_t *)userpass, ul);
    sec_wipe(userpass, sizeof userpass);
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The error code of a JSON-RPC response (or of any element of a batch);
 * 0 if none. */
static int response_code(const json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        const json_t *e;
        json_array_foreach(j, i, e) {
            int c = response_code(e);
            if (c)
                return c;
        }
        return 0;
    }
    const json_t *err = json_object_get(j, "error");
    return json_is_object(err) ? (int)json_integer_value(json_object_get(err, "code")) : 0;
}

/* POST body and parse the JSON answer into *out (new reference). With
 * -rpcwait, no server, no cookie yet and error -28 (loading) are retried
 * until the wait's limit. Returns 0, or -1 after printing the error. */
static int rpc_post(const struct cli_opts *o, const char *body, json_t **out)
{
    uint64_t deadline = o->wait_s ? mono_ms() + (uint64_t)o->wait_s * 1000u : 0;
    char err[1400];
    for (;;) {
        char auth[4 * CLI_VALUE_MAX];
        int status = 0;
        char *resp = NULL;
        size_t resp_len = 0;
        int rc = auth_header(o, auth, sizeof auth, err, sizeof err);
        if (rc == 0)
            rc = http_post(o, auth, body, &status, &resp, &resp_len, err, sizeof err);
        json_t *j = NULL;
        if (rc == 0 && status == 401) {
            snprintf(err, sizeof err,
                     "error: incorrect rpcuser or rpcpassword (authorization failed)");
            rc = CLI_E_OTHER;
            /* A cookie left by a node that died, read just before the new
             * node replaced it: with -rpcwait, try again with the new one. */
            char again[sizeof auth], e2[64];
            if (o->wait && !o->user[0] && auth_header(o, again, sizeof again, e2, sizeof e2) == 0 &&
                strcmp(again, auth) != 0)
                rc = CLI_E_COOKIE;
            sec_wipe(again, sizeof again);
        } else if (rc == 0) {
            json_error_t jerr;
            j = json_loadb(resp, resp_len, 0, &jerr);
            if (!j) {
                snprintf(err, sizeof err, "error: server returned HTTP %d: %.200s", status, resp);
                rc = CLI_E_OTHER;
            } else if (o->wait && response_code(j) == RPC_IN_WARMUP) {
                snprintf(err, sizeof err, "error: the node is still loading (error -28)");
                rc = CLI_E_CONNECT;
                json_decref(j);
                j = NULL;
            }
        }
        free(resp);
        sec_wipe(auth, sizeof auth);
        if (rc == 0) {
            *out = j;
            return 0;
        }
        bool retry = o->wait && (rc == CLI_E_CONNECT || rc == CLI_E_COOKIE) &&
                     (!deadline || mono_ms() < deadline);
        if (!retry) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        struct timespec ts = { .tv_sec = 0, .tv_nsec = CLI_RPCWAIT_POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* Call method with params (stolen). Returns the result (new reference) or
 * NULL after printing the error; *code gets the RPC error code. */
static json_t *rpc_call(const struct cli_opts *o, const char *method, json_t *params, int *code)
{
    *code = 0;
    json_t *req = json_pack("{s:s,s:s,s:o,s:i}", "jsonrpc", "2.0", "method", method,
                            "params", params, "id", 1);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        *code = -1;
        return NULL;
    }
    json_t *j = NULL;
    int rc = rpc_post(o, body, &j);
    free(body);
    if (rc != 0) {
        *code = -1;
        return NULL;
    }
    json_t *err = json_object_get(j, "error");
    if (json_is_object(err)) {
        *code = (int)json_integer_value(json_object_get(err, "code"));
        fprintf(stderr, "error code: %d\nerror message:\n%s\n", *code,
                json_string_value(json_object_get(err, "message")));
        json_decref(j);
        return NULL;
    }
    json_t *result = json_incref(json_object_get(j, "result"));
    json_decref(j);
    return result ? result : json_null();
}

static void print_result(json_t *r)
{
    if (json_is_string(r)) {
        printf("%s\n", json_string_value(r));
    } else if (!json_is_null(r)) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (s)
            printf("%s\n", s);
        free(s);
    }
}

/* ---- Offline tools ---- */

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int load_key(const char *path, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    int rc = node_keyfile_read(path, seed);
    if (rc != 0) {
        fprintf(stderr, "error: cannot read key file %s: %s\n", path,
                rc == -EINVAL ? "not 64 hex digits" : strerror(-rc));
        return -1;
    }
    sig_keypair_from_seed(pk, sk, seed);
    sec_wipe(seed, sizeof seed);
    return 0;
}

static int print_address_of_seed(const uint8_t seed[32])
{
    uint8_t pk[32], sk[64];
    sig_keypair_from_seed(pk, sk, seed);
    char hex[65];
    hex_encode(hex, pk, 32);
    printf("%s\n", hex);
    sec_wipe(sk, sizeof sk);
    return 0;
}

static int cmd_keygen(const char *path, bool dev)
{
    uint8_t seed[32];
    if (dev)
        hash_sha256(seed, CHAIN_DEV_SEED_PHRASE, strlen(CHAIN_DEV_SEED_PHRASE));
    else
        sec_random(seed, sizeof seed);
    int rc = node_keyfile_write(path, seed);
    if (rc != 0) {
        fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(-rc));
        return 1;
    }
    print_address_of_seed(seed);
    sec_wipe(seed, sizeof seed);
    return 0;
}

static int cmd_address(const char *path)
{
    uint8_t pk[32], sk[64];
    if (load_key(path, pk, sk) != 0)
        return 1;
    char hex[65];
    hex_encode(hex, pk, 32);
    printf("%s\n", hex);
    sec_wipe(sk, sizeof sk);
    return 0;
}

/* Build and sign; prints errors. */
static int build_tx(struct chain_tx *tx, const uint8_t sk[64], const char *to,
                    const char *amount, const char *fee, uint64_t nonce, const char *memo)
{
    memset(tx, 0, sizeof *tx);
    tx->version = TX_VERSION;
    if (strlen(to) != 64 || hex_decode(tx->to, 32, to) != 0) {
        fprintf(stderr, "error: TO must be an address (64 hex digits)\n");
        return -1;
    }
    if (parse_u64(amount, &tx->amount) != 0 || parse_u64(fee, &tx->fee) != 0) {
        fprintf(stderr, "error: AMOUNT and FEE are integers in base units\n");
        return -1;
    }
    tx->nonce = nonce;
    if (memo) {
        size_t ml = strlen(memo);
        if (ml > TX_MEMO_MAX) {
            fprintf(stderr, "error: memo longer than %d bytes\n", TX_MEMO_MAX);
            return -1;
        }
        memcpy(tx->memo, memo, ml);
        tx->memo_len = (uint16_t)ml;
    }
    chain_tx_sign(tx, sk);
    return 0;
}

static char *tx_hex(const struct chain_tx *tx)
{
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, buf, sizeof buf);
    if (!chain_tx_encode(&w, tx))
        return NULL;
    char *hex = malloc(2 * w.len + 1);
    if (hex)
        hex_encode(hex, buf, w.len);
    return hex;
}

static int cmd_tx(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        usage(stderr);
        return 1;
    }
    uint8_t pk[32], sk[64];
    uint64_t nonce;
    if (parse_u64(argv[5], &nonce) != 0) {
        fprintf(stderr, "error: NONCE must be an integer\n");
        return 1;
    }
    if (load_key(argv[1], pk, sk) != 0)
        return 1;
    struct chain_tx tx;
    int rc = build_tx(&tx, sk, argv[2], argv[3], argv[4], nonce, argc == 7 ? argv[6] : NULL);
    sec_wipe(sk, sizeof sk);
    if (rc != 0)
        return 1;
    char *hex = tx_hex(&tx);
    if (!hex)
        return 1;
    printf("%s\n", hex);
    free(hex);
    return 0;
}

static int cmd_send(const struct cli_opts *o, int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        usage(stderr);
        return 1;
    }
    uint8_t pk[32], sk[64];
    if (load_key(argv[1], pk, sk) != 0)
        return 1;
    char from[65];
    hex_encode(from, pk, 32);
    int code;
    json_t *acct = rpc_call(o, "getaccount", json_pack("[s]", from), &code);
    if (!acct) {
        sec_wipe(sk, sizeof sk);
        return 1;
    }
    /* next_nonce counts the sender's txs still in the mempool. */
    json_t *jn = json_object_get(acct, "next_nonce");
    if (!json_is_integer(jn))
        jn = json_object_get(acct, "nonce");
    if (!json_is_integer(jn)) {
        fprintf(stderr, "error: getaccount returned no nonce\n");
        json_decref(acct);
        sec_wipe(sk, sizeof sk);
        return 1;
    }
    uint64_t nonce = (uint64_t)json_integer_value(jn);
    json_decref(acct);
    char fee_def[32];
    snprintf(fee_def, sizeof fee_def, "%d", CLI_DEFAULT_FEE);
    struct chain_tx tx;
    int rc = build_tx(&tx, sk, argv[2], argv[3], argc >= 5 ? argv[4] : fee_def, nonce,
                      argc == 6 ? argv[5] : NULL);
    sec_wipe(sk, sizeof sk);
    if (rc != 0)
        return 1;
    char *hex = tx_hex(&tx);
    if (!hex)
        return 1;
    json_t *r = rpc_call(o, "sendrawtransaction", json_pack("[s]", hex), &code);
    free(hex);
    if (!r)
        return 1;
    print_result(r);
    json_decref(r);
    return 0;
}

/* ---- main ---- */

static json_t *arg_value(const char *a)
{
    json_error_t e;
    json_t *v = json_loads(a, JSON_DECODE_ANY, &e);
    return v ? v : json_string(a);
}

/* -stdin: append one argument per line (without its newline) to args.
 * Returns the new count, or -1 after printing an error. */
static int read_stdin_args(char **args, int n, char **buf_out)
{
    size_t cap = 0, len = 0;
    char *buf = NULL;
    for (;;) {
        if (cap - len < 4096) {
            if (cap >= CLI_STDIN_MAX) {
                fprintf(stderr, "error: -stdin: more than %u bytes\n", CLI_STDIN_MAX);
                free(buf);
                return -1;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, cap - len, stdin);
        len += r;
        if (r == 0)
            break;
    }
    buf[len] = '\0';
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[l - 1] = '\0';
        if (n >= CLI_ARGS_MAX) {
            fprintf(stderr, "error: more than %d arguments\n", CLI_ARGS_MAX);
            free(buf);
            return -1;
        }
        args[n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    *buf_out = buf;
    return n;
}

/* -getinfo: one batch of calls, summarised as bitcoin-cli -getinfo does. */
static int cmd_getinfo(const struct cli_opts *o)
{
    static const char *const calls[] = { "getnetworkinfo", "getblockchaininfo",
                                         "getmempoolinfo" };
    json_t *batch = json_array();
    for (size_t i = 0; i < 3; i++)
        json_array_append_new(batch, json_pack("{s:s,s:s,s:[],s:I}", "jsonrpc", "2.0",
                                               "method", calls[i], "params", "id",
                                               (json_int_t)i));
    char *body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    json_t *resp = NULL;
    if (!body || rpc_post(o, body, &resp) != 0) {
        free(body);
        return 1;
    }
    free(body);
    json_t *r[3] = { NULL, NULL, NULL };
    size_t i;
    json_t *e;
    json_array_foreach(resp, i, e) {
        json_int_t id = json_integer_value(json_object_get(e, "id"));
        json_t *err = json_object_get(e, "error");
        if (json_is_object(err)) {
            fprintf(stderr, "error code: %d\nerror message:\n%s\n",
                    (int)json_integer_value(json_object_get(err, "code")),
                    json_string_value(json_object_get(err, "message")));
            json_decref(resp);
            return 1;
        }
        if (id >= 0 && id < 3)
            r[id] = json_object_get(e, "result");
    }
    if (!json_is_object(r[0]) || !json_is_object(r[1]) || !json_is_object(r[2])) {
        fprintf(stderr, "error: incomplete -getinfo answer\n");
        json_decref(resp);
        return 1;
    }
    json_t *out = json_object();
    json_object_set(out, "version", json_object_get(r[0], "version"));
    json_object_set(out, "subversion", json_object_get(r[0], "subversion"));
    static const char *const chain_keys[] = { "chain", "blocks", "headers", "bestblockhash",
                                              "difficulty", "time", "verificationprogress" };
    for (size_t k = 0; k < sizeof chain_keys / sizeof chain_keys[0]; k++) {
        json_t *v = json_object_get(r[1], chain_keys[k]);
        if (v)
            json_object_set(out, chain_keys[k], v);
    }
    json_object_set_new(out, "connections",
                        json_pack("{s:O,s:O,s:O}", "in", json_object_get(r[0], "connections_in"),
                                  "out", json_object_get(r[0], "connections_out"), "total",
                                  json_object_get(r[0], "connections")));
    json_object_set_new(out, "mempool",
                        json_pack("{s:O,s:O}", "size", json_object_get(r[2], "size"), "bytes",
                                  json_object_get(r[2], "bytes")));
    json_object_set(out, "relayfee", json_object_get(r[0], "relayfee"));
    json_t *w = json_object_get(r[0], "warnings");
    json_object_set_new(out, "warnings", w ? json_incref(w) : json_string(""));
    print_result(out);
    json_decref(out);
    json_decref(resp);
    return 0;
}



int main(int argc, char **argv)
{
    if (sig_init() != 0) {
        fprintf(stderr, "error: libsodium init failed\n");
        return 1;
    }
    static struct cli_opts o;
    int i;
    int prc = cli_parse(&o, argc, argv, &i);
    if (prc != 0)
        return prc > 0 ? 0 : 1;
    if (o.getinfo) {
        if (i < argc) {
            fprintf(stderr, "error: -getinfo takes no arguments\n");
            return 1;
        }
        return cmd_getinfo(&o);
    }

    static char *args[CLI_ARGS_MAX];
    int nargs = 0;
    for (int k = i; k < argc; k++) {
        if (nargs >= CLI_ARGS_MAX) {
            fprintf(stderr, "error: more than %d arguments\n", CLI_ARGS_MAX);
            return 1;
        }
        args[nargs++] = argv[k];
    }
    char *stdin_buf = NULL;
    if (o.use_stdin && (nargs = read_stdin_args(args, nargs, &stdin_buf)) < 0)
        return 1;
    int rc = 1;
    if (nargs == 0) {
        fprintf(stderr, "error: no method given\n");
        usage(stderr);
        goto out;
    }
    const char *cmd = args[0];
    if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "devkey") == 0) {
        if (nargs != 2)
            usage(stderr);
        else
            rc = cmd_keygen(args[1], cmd[0] == 'd');
        goto out;
    }
    if (strcmp(cmd, "address") == 0) {
        if (nargs != 2)
            usage(stderr);
        else
            rc = cmd_address(args[1]);
        goto out;
    }
    if (strcmp(cmd, "tx") == 0) {
        rc = cmd_tx(nargs, args);
        goto out;
    }
    if (strcmp(cmd, "send") == 0) {
        rc = cmd_send(&o, nargs, args);
        goto out;
    }

    json_t *params = o.named ? json_object() : json_array();
    for (int k = 1; k < nargs; k++) {
        if (!o.named) {
            json_array_append_new(params, arg_value(args[k]));
            continue;
        }
        char *eq = strchr(args[k], '=');
        if (!eq || eq == args[k]) {
            fprintf(stderr, "error: -named: expected NAME=VALUE, got '%s'\n", args[k]);
            json_decref(params);
            goto out;
        }
        *eq = '\0';
        json_object_set_new(params, args[k], arg_value(eq + 1));
        *eq = '=';
    }
    int code;
    json_t *r = rpc_call(&o, cmd, params, &code);
    if (!r) {
        rc = code == 0 ? 1 : (code < 0 && code > -100 ? -code : 1);
        goto out;
    }
    print_result(r);
    json_decref(r);
    rc = 0;
out:
    free(stdin_buf);
    return rc;
}
