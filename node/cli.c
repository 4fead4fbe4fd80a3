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
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "chain/params.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/sec.h"
#include "crypto/sig.h"
#include "node/keyfile.h"
#include "node/rpc_http.h"

#define CLI_TIMEOUT_S       900                  /* generate on testnet can be slow */
#define CLI_RESPONSE_MAX    (64u * 1024 * 1024)  /* bytes */
#define CLI_DEFAULT_FEE     1000                 /* base units */

struct cli_opts {
    char host[256];
    char datadir[1024];
    char network[16];
    char user[256];
    char password[256];
    int port;      /* 0: the network's default */
};

static void usage(void)
{
    fputs("Usage: gossip-cli [options] METHOD [ARG ...]\n"
          "       gossip-cli keygen FILE | devkey FILE | address FILE\n"
          "       gossip-cli tx FILE TO AMOUNT FEE NONCE [MEMO]\n"
          "       gossip-cli send FILE TO AMOUNT [FEE] [MEMO]\n"
          "Options (also from GOSSIPD_RPC_PORT, GOSSIPD_DATADIR, GOSSIPD_NETWORK,\n"
          "GOSSIPD_RPC_USER, GOSSIPD_RPC_PASSWORD):\n"
          "  -rpcconnect=HOST   default 127.0.0.1\n"
          "  -rpcport=N         default: the network's RPC port\n"
          "  -datadir=DIR       where gossipd keeps .cookie (default $HOME/.gossipd/NETWORK)\n"
          "  -regtest | -testnet | -network=NAME   (default regtest)\n"
          "  -rpcuser=U -rpcpassword=P           instead of the cookie\n"
          "Amounts and fees are integers in base units (1 coin = 100000000).\n"
          "`gossip-cli help` lists the node's methods; `gossip-cli help METHOD` explains one.\n",
          stderr);
}

static void copy_opt(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v);
}

/* ---- HTTP ---- */

static int http_post(const struct cli_opts *o, const char *auth_b64, const char *body,
                     int *status, char **resp, size_t *resp_len)
{
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(o->host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "error: cannot resolve %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        fprintf(stderr, "error: couldn't connect to server: %s:%s (%s)\n"
                "Is gossipd running? Check -rpcport and -datadir.\n", o->host, port,
                strerror(errno));
        return -1;
    }
    struct timeval tv = { .tv_sec = CLI_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t blen = strlen(body);
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                      "Authorization: Basic %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", o->host, auth_b64, blen);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        close(fd);
        return -1;
    }
    if (write(fd, head, (size_t)hl) != hl || write(fd, body, blen) != (ssize_t)blen) {
        fprintf(stderr, "error: write to server failed: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return -1;
        }
        if (cap - len < 4096) {
            if (cap >= CLI_RESPONSE_MAX) {
                fprintf(stderr, "error: response too large\n");
                free(buf);
                close(fd);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "error: read from server failed: %s\n", strerror(errno));
            free(buf);
            close(fd);
            return -1;
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
        fprintf(stderr, "error: malformed HTTP response\n");
        free(buf);
        return -1;
    }
    *status = atoi(sp + 1);
    size_t off = (size_t)(hend + 4 - buf);
    memmove(buf, buf + off, len - off + 1);
    *resp = buf;
    *resp_len = len - off;
    return 0;
}

static int auth_header(const struct cli_opts *o, char *out, size_t cap)
{
    char userpass[600];
    if (o->user[0]) {
        snprintf(userpass, sizeof userpass, "%s:%s", o->user, o->password);
    } else {
        char path[1100];
        snprintf(path, sizeof path, "%s/.cookie", o->datadir);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "error: cannot read the cookie %s (%s); is gossipd running with "
                    "this -datadir, or pass -rpcuser/-rpcpassword\n", path, strerror(errno));
            return -1;
        }
        size_t n = fread(userpass, 1, sizeof userpass - 1, f);
        fclose(f);
        userpass[n] = '\0';
        while (n && (userpass[n - 1] == '\n' || userpass[n - 1] == '\r'))
            userpass[--n] = '\0';
    }
    size_t ul = strlen(userpass);
    if (4 * ((ul + 2) / 3) + 1 > cap)
        return -1;
    node_rpc_base64(out, (const uint8_t *)userpass, ul);
    sec_wipe(userpass, sizeof userpass);
    return 0;
}

/* Call method with params (stolen). Returns the result (new reference) or
 * NULL after printing the error; *code gets the RPC error code. */
static json_t *rpc_call(const struct cli_opts *o, const char *method, json_t *params, int *code)
{
    *code = 0;
    char auth[1024];
    if (auth_header(o, auth, sizeof auth) != 0) {
        json_decref(params);
        *code = -1;
        return NULL;
    }
    json_t *req = json_pack("{s:s,s:s,s:o,s:i}", "jsonrpc", "2.0", "method", method,
                            "params", params, "id", 1);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        *code = -1;
        return NULL;
    }
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    int rc = http_post(o, auth, body, &status, &resp, &resp_len);
    free(body);
    if (rc != 0) {
        *code = -1;
        return NULL;
    }
    if (status == 401) {
        fprintf(stderr, "error: incorrect rpcuser or rpcpassword (authorization failed)\n");
        free(resp);
        *code = -1;
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp, resp_len, 0, &jerr);
    if (!j) {
        fprintf(stderr, "error: server returned HTTP %d: %.200s\n", status, resp);
        free(resp);
        *code = -1;
        return NULL;
    }
    free(resp);
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
        usage();
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
        usage();
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

static void env_default(char *dst, size_t cap, const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        copy_opt(dst, cap, v);
}

int main(int argc, char **argv)
{
    if (sig_init() != 0) {
        fprintf(stderr, "error: libsodium init failed\n");
        return 1;
    }
    struct cli_opts o;
    memset(&o, 0, sizeof o);
    copy_opt(o.host, sizeof o.host, "127.0.0.1");
    copy_opt(o.network, sizeof o.network, "regtest");
    env_default(o.network, sizeof o.network, "GOSSIPD_NETWORK");
    env_default(o.datadir, sizeof o.datadir, "GOSSIPD_DATADIR");
    env_default(o.user, sizeof o.user, "GOSSIPD_RPC_USER");
    env_default(o.password, sizeof o.password, "GOSSIPD_RPC_PASSWORD");
    const char *envport = getenv("GOSSIPD_RPC_PORT");
    if (envport)
        o.port = atoi(envport);

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : "";
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
#define IS(name) (n == strlen(name) && strncmp(a, name, n) == 0)
        if (IS("rpcconnect"))
            copy_opt(o.host, sizeof o.host, v);
        else if (IS("rpcport"))
            o.port = atoi(v);
        else if (IS("datadir"))
            copy_opt(o.datadir, sizeof o.datadir, v);
        else if (IS("rpcuser"))
            copy_opt(o.user, sizeof o.user, v);
        else if (IS("rpcpassword"))
            copy_opt(o.password, sizeof o.password, v);
        else if (IS("regtest") || IS("testnet"))
            copy_opt(o.network, sizeof o.network, a);
        else if (IS("network"))
            copy_opt(o.network, sizeof o.network, v);
        else if (IS("h") || IS("help") || IS("?")) {
            usage();
            return 0;
        } else if (IS("version")) {
            printf("gossip-cli 0.1.0\n");
            return 0;
        } else {
            fprintf(stderr, "error: unknown option %s\n", argv[i]);
            usage();
            return 1;
        }
#undef IS
    }
    if (i >= argc) {
        usage();
        return 1;
    }
    const struct chain_params *p = chain_params_by_name(o.network);
    if (!p) {
        fprintf(stderr, "error: unknown network %s\n", o.network);
        return 1;
    }
    if (o.port <= 0 || o.port > 65535)
        o.port = p->rpc_port;
    if (!o.datadir[0]) {
        const char *home = getenv("HOME");
        snprintf(o.datadir, sizeof o.datadir, "%s/.gossipd/%s", home && *home ? home : ".",
                 o.network);
    }

    const char *cmd = argv[i];
    int nargs = argc - i;
    char **args = argv + i;
    if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "devkey") == 0) {
        if (nargs != 2) {
            usage();
            return 1;
        }
        return cmd_keygen(args[1], cmd[0] == 'd');
    }
    if (strcmp(cmd, "address") == 0) {
        if (nargs != 2) {
            usage();
            return 1;
        }
        return cmd_address(args[1]);
    }
    if (strcmp(cmd, "tx") == 0)
        return cmd_tx(nargs, args);
    if (strcmp(cmd, "send") == 0)
        return cmd_send(&o, nargs, args);

    json_t *params = json_array();
    for (int k = 1; k < nargs; k++)
        json_array_append_new(params, arg_value(args[k]));
    int code;
    json_t *r = rpc_call(&o, cmd, params, &code);
    if (!r)
        return code == 0 ? 1 : (code < 0 && code > -100 ? -code : 1);
    print_result(r);
    json_decref(r);
    return 0;
}
