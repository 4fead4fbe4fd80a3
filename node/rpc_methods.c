/* The JSON-RPC methods of gossipd. Each method's help text here is the text
 * `help METHOD` prints and the section docs/RPC.md shows (generated with
 * `gossipd --rpc-doc`; a test checks the two agree).
 *
 * Amounts are integers in base units (1 coin = 100000000), never floats.
 * Hashes are hex in display order (reversed bytes, as bitcoind); addresses
 * are Ed25519 public keys as hex in byte order. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/pow.h"
#include "crypto/hex.h"
#include "node/node.h"

#define NODE(rq) ((struct node *)(rq)->ctx)

/* ------------------------------------------------------------ helpers */

static json_t *hash_json(const uint8_t h[32])
{
    char hex[65];
    hex_encode_hash(hex, h);
    return json_string(hex);
}

static json_t *hex32_json(const uint8_t b[32])
{
    char hex[65];
    hex_encode(hex, b, 32);
    return json_string(hex);
}

static json_t *bytes_hex_json(const uint8_t *b, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return NULL;
    hex_encode(hex, b, len);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static double difficulty(const struct chain_params *p, uint32_t bits)
{
    struct chain_u256 limit, target;
    if (!chain_bits_to_target(p->pow_limit_bits, &limit) || !chain_bits_to_target(bits, &target))
        return 0;
    double t = chain_u256_to_double(&target);
    return t > 0 ? chain_u256_to_double(&limit) / t : 0;
}

static json_t *work_json(const struct chain_u256 *w)
{
    uint8_t le[32];
    chain_u256_to_le(w, le);
    return hash_json(le);   /* reversed: most significant digit first */
}

static json_t *tx_json(const struct chain_tx *tx, size_t *size_out)
{
    uint8_t txid[32];
    chain_tx_txid(tx, txid);
    uint8_t buf[TX_SIZE_MAX];
    struct wr w;
    wr_init_fixed(&w, buf, sizeof buf);
    chain_tx_encode(&w, tx);
    if (size_out)
        *size_out = w.len;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "txid", hash_json(txid));
    json_object_set_new(o, "size", json_integer((json_int_t)w.len));
    json_object_set_new(o, "version", json_integer(tx->version));
    json_object_set_new(o, "coinbase", json_boolean(chain_tx_is_coinbase(tx)));
    json_object_set_new(o, "from", hex32_json(tx->from));
    json_object_set_new(o, "to", hex32_json(tx->to));
    json_object_set_new(o, "amount", json_integer((json_int_t)tx->amount));
    json_object_set_new(o, "fee", json_integer((json_int_t)tx->fee));
    json_object_set_new(o, "nonce", json_integer((json_int_t)tx->nonce));
    json_object_set_new(o, "memo", bytes_hex_json(tx->memo, tx->memo_len));
    json_object_set_new(o, "hex", bytes_hex_json(buf, w.len));
    return o;
}

/* Header fields shared by getblock and getblockheader. */
static json_t *header_json(struct node *n, const uint8_t hash[32], const struct chain_header *h,
                           uint32_t height)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool best = chain_in_best(n->chain, hash);
    uint32_t tip = chain_height(n->chain);
    char bits[9];
    snprintf(bits, sizeof bits, "%08" PRIx32, h->bits);
    json_object_set_new(o, "hash", hash_json(hash));
    json_object_set_new(o, "confirmations",
                        json_integer(best ? (json_int_t)tip - height + 1 : -1));
    json_object_set_new(o, "height", json_integer(height));
    json_object_set_new(o, "version", json_integer(h->version));
    json_object_set_new(o, "merkleroot", hash_json(h->merkle_root));
    json_object_set_new(o, "time", json_integer((json_int_t)(h->time_ms / 1000)));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)h->time_ms));
    json_object_set_new(o, "nonce", json_integer((json_int_t)h->nonce));
    json_object_set_new(o, "bits", json_string(bits));
    json_object_set_new(o, "difficulty", json_real(difficulty(chain_params(n->chain), h->bits)));
    struct chain_u256 work;
    if (chain_header_work(n->chain, hash, &work))
        json_object_set_new(o, "chainwork", work_json(&work));
    if (height > 0)
        json_object_set_new(o, "previousblockhash", hash_json(h->prev));
    uint8_t next[32];
    if (best && height < tip && chain_hash_at(n->chain, height + 1, next))
        json_object_set_new(o, "nextblockhash", hash_json(next));
    return o;
}

static bool find_header(struct node_rpc_req *rq, const uint8_t hash[32], struct chain_header *h,
                        uint32_t *height)
{
    if (!chain_get_header(NODE(rq)->chain, hash, h, height)) {
        node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY, "Block not found");
        return false;
    }
    return true;
}

static int rpc_err_of_chain(int err)
{
    switch (err) {
    case CHAIN_ERR_TX_BAD_NONCE:
    case CHAIN_ERR_TX_NONCE_TOO_OLD:
    case CHAIN_ERR_TX_INSUFFICIENT:
        return RPC_VERIFY_ERROR;
    case CHAIN_ERR_NOMEM:
    case CHAIN_ERR_STORE:
    case CHAIN_ERR_INTERNAL:
        return RPC_MISC_ERROR;
    default:
        return RPC_VERIFY_REJECTED;
    }
}

/* Submit a tx and answer its txid or the rejection. */
static json_t *submit_tx(struct node_rpc_req *rq, const struct chain_tx *tx)
{
    struct node *n = NODE(rq);
    uint8_t txid[32];
    chain_tx_txid(tx, txid);
    if (node_store_check(n))
        return node_rpc_fail(rq, RPC_DATABASE_ERROR, "%s", n->safe_reason);
    int rc = node_submit_own_tx(n, tx);
    if (rc == CHAIN_ERR_STORE && node_store_check(n))
        return node_rpc_fail(rq, RPC_DATABASE_ERROR, "%s", n->safe_reason);
    if (rc == CHAIN_ERR_TX_DUPLICATE)
        return hash_json(txid);   /* already in the mempool: as bitcoind, not an error */
    if (rc < 0)
        return node_rpc_fail(rq, rpc_err_of_chain(rc), "%s", chain_strerror(rc));
    return hash_json(txid);
}

static bool parse_addr_param(struct node_rpc_req *rq, const char *s, struct p2p_addr *a,
                             uint16_t default_port)
{
    if (p2p_addr_parse(a, s, default_port) != 0) {
        node_rpc_fail(rq, RPC_CLIENT_INVALID_IP_OR_SUBNET,
                      "Invalid address '%s' (numeric IP[:port] expected)", s);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ control */

static json_t *m_help(struct node_rpc_req *rq)
{
    const char *name = NULL;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_str(rq, 0, false, &name))
        return NULL;
    if (name) {
        const struct node_rpc_method *m =
            node_rpc_find(node_rpc_methods, node_rpc_methods_count, name);
        if (!m)
            return node_rpc_fail(rq, RPC_MISC_ERROR, "help: unknown command: %s", name);
        return json_string(m->help);
    }
    /* The first line of each method's help: its synopsis. */
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < node_rpc_methods_count; i++) {
        const char *h = node_rpc_methods[i].help;
        size_t l = strcspn(h, "\n");
        if (cap - len < l + 2) {
            char *nb = realloc(buf, cap * 2 + l);
            if (!nb) {
                free(buf);
                return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
            }
            buf = nb;
            cap = cap * 2 + l;
        }
        memcpy(buf + len, h, l);
        len += l;
        buf[len++] = '\n';
    }
    if (len)
        len--;   /* no trailing newline */
    json_t *r = json_stringn(buf, len);
    free(buf);
    return r;
}

static json_t *m_uptime(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    return json_integer((json_int_t)((node_now_ms() - NODE(rq)->start_ms) / 1000));
}

static json_t *m_stop(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    struct node *n = NODE(rq);
    const char *step = node_warmup_status(n);
    node_request_stop(n);
    if (step) {
        /* A load step cannot be interrupted: say what the stop waits for. */
        char msg[160];
        snprintf(msg, sizeof msg, "gossipd stopping (after the current load step: %s)", step);
        return json_string(msg);
    }
    return json_string("gossipd stopping");
}

const char *node_rpc_warmup(void *ctx, const char *method)
{
    const char *step = node_warmup_status(ctx);
    if (!step || strcmp(method, "stop") == 0 || strcmp(method, "help") == 0 ||
        strcmp(method, "uptime") == 0)
        return NULL;
    return step;
}

/* ------------------------------------------------------------ chain */

static json_t *m_getblockchaininfo(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    uint8_t tip[32];
    chain_tip(n->chain, tip);
    struct chain_header h;
    uint32_t height = 0;
    chain_get_header(n->chain, tip, &h, &height);
    struct chain_u256 work;
    chain_tip_work(n->chain, &work);
    uint8_t fetch[1][32];
    json_t *o = json_object();
    json_object_set_new(o, "chain", json_string(chain_params(n->chain)->name));
    json_object_set_new(o, "blocks", json_integer(chain_height(n->chain)));
    json_object_set_new(o, "headers", json_integer(chain_header_height(n->chain)));
    json_object_set_new(o, "bestblockhash", hash_json(tip));
    json_object_set_new(o, "difficulty", json_real(difficulty(chain_params(n->chain), h.bits)));
    json_object_set_new(o, "bits", json_integer(h.bits));
    json_object_set_new(o, "time", json_integer((json_int_t)(h.time_ms / 1000)));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)h.time_ms));
    json_object_set_new(o, "mediantime_ms", json_integer((json_int_t)chain_tip_mtp(n->chain)));
    json_object_set_new(o, "chainwork", work_json(&work));
    json_object_set_new(o, "initialblockdownload",
                        json_boolean(chain_blocks_to_fetch(n->chain, fetch, 1) > 0));
    json_object_set_new(o, "next_bits", json_integer(chain_next_bits(n->chain)));
    node_store_check(n);
    json_object_set_new(o, "warnings", json_string(n->safe_reason));
    return o;
}

static json_t *m_getblockcount(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    return json_integer(chain_height(NODE(rq)->chain));
}

static json_t *m_getbestblockhash(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    uint8_t tip[32];
    chain_tip(NODE(rq)->chain, tip);
    return hash_json(tip);
}

static json_t *m_getblockhash(struct node_rpc_req *rq)
{
    uint64_t height = 0;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_u64(rq, 0, true, UINT32_MAX, &height))
        return NULL;
    uint8_t h[32];
    if (!chain_hash_at(NODE(rq)->chain, (uint32_t)height, h))
        return node_rpc_fail(rq, RPC_INVALID_PARAMETER, "Block height out of range");
    return hash_json(h);
}

static json_t *m_getblock(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t hash[32];
    uint64_t verbosity = 1;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_hash(rq, 0, true, hash, NULL))
        return NULL;
    json_t *v = node_rpc_param(rq, 1);
    if (json_is_boolean(v))
        verbosity = json_is_true(v) ? 1 : 0;
    else if (!node_rpc_param_u64(rq, 1, false, 2, &verbosity))
        return NULL;
    struct chain_header h;
    uint32_t height;
    if (!find_header(rq, hash, &h, &height))
        return NULL;
    if (verbosity == 0) {
        uint8_t *raw = NULL;
        size_t len = 0;
        int rc = chain_get_block_raw(n->chain, hash, &raw, &len);
        if (rc != 0)
            return node_rpc_fail(rq, RPC_MISC_ERROR, "Block not available (%s)",
                                 chain_strerror(rc));
        json_t *r = bytes_hex_json(raw, len);
        free(raw);
        return r;
    }
    struct chain_block b;
    int rc = chain_get_block(n->chain, hash, &b);
    if (rc != 0)
        return node_rpc_fail(rq, RPC_MISC_ERROR, "Block not available (%s)", chain_strerror(rc));
    json_t *o = header_json(n, hash, &h, height);
    json_object_set_new(o, "size", json_integer((json_int_t)chain_block_size(&b)));
    json_object_set_new(o, "nTx", json_integer((json_int_t)b.n_tx));
    json_t *txs = json_array();
    for (size_t i = 0; i < b.n_tx; i++) {
        if (verbosity == 1) {
            uint8_t txid[32];
            chain_tx_txid(&b.txs[i], txid);
            json_array_append_new(txs, hash_json(txid));
        } else {
            json_array_append_new(txs, tx_json(&b.txs[i], NULL));
        }
    }
    json_object_set_new(o, "tx", txs);
    chain_block_free(&b);
    return o;
}

static json_t *m_getblockheader(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t hash[32];
    bool verbose = true;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_hash(rq, 0, true, hash, NULL) ||
        !node_rpc_param_bool(rq, 1, false, &verbose))
        return NULL;
    struct chain_header h;
    uint32_t height;
    if (!find_header(rq, hash, &h, &height))
        return NULL;
    if (!verbose) {
        uint8_t raw[HEADER_SIZE];
        chain_header_serialize(&h, raw);
        return bytes_hex_json(raw, sizeof raw);
    }
    json_t *o = header_json(n, hash, &h, height);
    json_object_set_new(o, "have_block", json_boolean(chain_have_block(n->chain, hash)));
    return o;
}

/* ------------------------------------------------------------ mempool */

static json_t *mempool_entry_json(struct node *n, const uint8_t txid[32],
                                  const struct chain_tx *tx)
{
    size_t size = chain_tx_size(tx);
    uint64_t t = chain_mempool_time(n->chain, txid);
    json_t *o = json_object();
    json_object_set_new(o, "size", json_integer((json_int_t)size));
    json_object_set_new(o, "fee", json_integer((json_int_t)tx->fee));
    json_object_set_new(o, "feerate", json_integer((json_int_t)chain_tx_feerate(tx)));
    json_object_set_new(o, "time", json_integer((json_int_t)(t / 1000)));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)t));
    json_object_set_new(o, "from", hex32_json(tx->from));
    json_object_set_new(o, "to", hex32_json(tx->to));
    json_object_set_new(o, "amount", json_integer((json_int_t)tx->amount));
    json_object_set_new(o, "nonce", json_integer((json_int_t)tx->nonce));
    return o;
}

static json_t *m_getrawmempool(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    bool verbose = false;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_bool(rq, 0, false, &verbose))
        return NULL;
    size_t count = chain_mempool_count(n->chain);
    uint8_t (*ids)[32] = malloc((count ? count : 1) * sizeof *ids);
    if (!ids)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    count = chain_mempool_txids(n->chain, ids, count);
    json_t *r = verbose ? json_object() : json_array();
    for (size_t i = 0; i < count; i++) {
        if (!verbose) {
            json_array_append_new(r, hash_json(ids[i]));
            continue;
        }
        const struct chain_tx *tx = chain_mempool_get(n->chain, ids[i]);
        if (!tx)
            continue;
        char hex[65];
        hex_encode_hash(hex, ids[i]);
        json_object_set_new(r, hex, mempool_entry_json(n, ids[i], tx));
    }
    free(ids);
    return r;
}

static json_t *m_getmempoolinfo(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "loaded", json_true());
    json_object_set_new(o, "size", json_integer((json_int_t)chain_mempool_count(n->chain)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)chain_mempool_bytes(n->chain)));
    json_object_set_new(o, "maxmempool", json_integer(CHAIN_MEMPOOL_MAX_BYTES_DEFAULT));
    json_object_set_new(o, "orphans", json_integer((json_int_t)chain_mempool_orphans(n->chain)));
    json_object_set_new(o, "minrelaytxfee",
                        json_integer((json_int_t)chain_params(n->chain)->min_fee));
    return o;
}

static json_t *m_getmempoolentry(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t txid[32];
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_hash(rq, 0, true, txid, NULL))
        return NULL;
    const struct chain_tx *tx = chain_mempool_get(n->chain, txid);
    if (!tx)
        return node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY, "Transaction not in mempool");
    return mempool_entry_json(n, txid, tx);
}

/* Find txid in block hash; fills tx. */
static bool tx_in_block(struct node *n, const uint8_t hash[32], const uint8_t txid[32],
                        struct chain_tx *out)
{
    struct chain_block b;
    if (chain_get_block(n->chain, hash, &b) != 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < b.n_tx && !found; i++) {
        uint8_t id[32];
        chain_tx_txid(&b.txs[i], id);
        if (memcmp(id, txid, 32) == 0) {
            *out = b.txs[i];
            found = true;
        }
    }
    chain_block_free(&b);
    return found;
}

static json_t *m_getrawtransaction(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t txid[32], bhash[32];
    bool verbose = false, have_bhash = false;
    if (!node_rpc_param_max(rq, 3) || !node_rpc_param_hash(rq, 0, true, txid, NULL) ||
        !node_rpc_param_bool(rq, 1, false, &verbose) ||
        !node_rpc_param_hash(rq, 2, false, bhash, &have_bhash))
        return NULL;
    struct chain_tx tx;
    bool found = false, in_block = false;
    if (!have_bhash) {
        const struct chain_tx *m = chain_mempool_get(n->chain, txid);
        if (m) {
            tx = *m;
            found = true;
        }
    }
    if (!found && have_bhash) {
        if (!chain_have_block(n->chain, bhash))
            return node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY, "Block hash not found");
        found = in_block = tx_in_block(n, bhash, txid, &tx);
    }
    uint32_t tip = chain_height(n->chain);
    for (uint32_t k = 0; !found && !have_bhash && k < NODE_TX_LOOKBACK_BLOCKS && k <= tip; k++) {
        if (chain_hash_at(n->chain, tip - k, bhash))
            found = in_block = tx_in_block(n, bhash, txid, &tx);
    }
    if (!found)
        return node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY,
                             "No such mempool transaction, nor in the last %d blocks. "
                             "Give the blockhash to look in a given block",
                             NODE_TX_LOOKBACK_BLOCKS);
    if (!verbose) {
        uint8_t buf[TX_SIZE_MAX];
        struct wr w;
        wr_init_fixed(&w, buf, sizeof buf);
        chain_tx_encode(&w, &tx);
        return bytes_hex_json(buf, w.len);
    }
    json_t *o = tx_json(&tx, NULL);
    if (in_block) {
        struct chain_header h;
        uint32_t height = 0;
        chain_get_header(n->chain, bhash, &h, &height);
        json_object_set_new(o, "blockhash", hash_json(bhash));
        json_object_set_new(o, "confirmations",
                            json_integer(chain_in_best(n->chain, bhash)
                                         ? (json_int_t)tip - height + 1 : 0));
        json_object_set_new(o, "blocktime", json_integer((json_int_t)(h.time_ms / 1000)));
    } else {
        json_object_set_new(o, "confirmations", json_integer(0));
    }
    return o;
}

static json_t *m_sendrawtransaction(struct node_rpc_req *rq)
{
    const char *hex = NULL;
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_str(rq, 0, true, &hex))
        return NULL;
    uint8_t buf[TX_SIZE_MAX];
    long len = strlen(hex) <= 2 * sizeof buf ? hex_decode_var(buf, sizeof buf, hex) : -1;
    struct chain_tx tx;
    if (len < 0 || chain_tx_parse(&tx, buf, (size_t)len) != 0)
        return node_rpc_fail(rq, RPC_DESERIALIZATION_ERROR, "TX decode failed");
    return submit_tx(rq, &tx);
}

/* ------------------------------------------------------------ wallet-ish */

static json_t *m_sendtoaddress(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    struct chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.version = TX_VERSION;
    tx.fee = chain_params(n->chain)->min_fee;
    const char *memo = NULL;
    if (!node_rpc_param_max(rq, 4) || !node_rpc_param_pubkey(rq, 0, true, tx.to) ||
        !node_rpc_param_u64(rq, 1, true, INT64_MAX, &tx.amount) ||
        !node_rpc_param_u64(rq, 2, false, INT64_MAX, &tx.fee) ||
        !node_rpc_param_str(rq, 3, false, &memo))
        return NULL;
    if (memo) {
        size_t ml = strlen(memo);
        if (ml > TX_MEMO_MAX)
            return node_rpc_fail(rq, RPC_INVALID_PARAMETER, "memo longer than %d bytes",
                                 TX_MEMO_MAX);
        memcpy(tx.memo, memo, ml);
        tx.memo_len = (uint16_t)ml;
    }
    tx.nonce = node_own_next_nonce(n);
    chain_tx_sign(&tx, n->key_sk);
    return submit_tx(rq, &tx);
}

static json_t *m_getaccount(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t pk[32];
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_pubkey(rq, 0, true, pk))
        return NULL;
    uint64_t balance = 0, nonce = 0;
    chain_account(n->chain, pk, &balance, &nonce);
    json_t *o = json_object();
    json_object_set_new(o, "address", hex32_json(pk));
    json_object_set_new(o, "balance", json_integer((json_int_t)balance));
    json_object_set_new(o, "nonce", json_integer((json_int_t)nonce));
    json_object_set_new(o, "next_nonce",
                        json_integer((json_int_t)chain_account_next_nonce(n->chain, pk)));
    return o;
}

static json_t *m_getnewaddress(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 1))   /* bitcoind's optional label is ignored */
        return NULL;
    return hex32_json(NODE(rq)->key_pk);
}

static json_t *m_dumpaddress(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "address", hex32_json(n->key_pk));
    json_object_set_new(o, "seed", hex32_json(n->key_sk));   /* first half: the seed */
    return o;
}

/* ------------------------------------------------------------ mining */

static json_t *generate_to(struct node_rpc_req *rq, uint64_t count, const uint8_t pk[32],
                           uint64_t max_tries)
{
    struct node *n = NODE(rq);
    if (strcmp(chain_params(n->chain)->name, "regtest") != 0)
        return node_rpc_fail(rq, RPC_MISC_NOT_ALLOWED,
                             "generate is for regtest; on testnet run gossipd --mine");
    if (node_store_check(n))
        return node_rpc_fail(rq, RPC_DATABASE_ERROR, "%s", n->safe_reason);
    json_t *arr = json_array();
    for (uint64_t i = 0; i < count; i++) {
        uint8_t hash[32];
        int rc = node_mine_one(n, pk, max_tries, hash);
        if (rc == CHAIN_ERR_NOT_FOUND)
            break;   /* max_tries exhausted, as bitcoind: return what was made */
        if (rc < 0 && node_store_check(n)) {
            json_decref(arr);
            return node_rpc_fail(rq, RPC_DATABASE_ERROR, "mining failed: %s", n->safe_reason);
        }
        if (rc < 0) {
            json_decref(arr);
            return node_rpc_fail(rq, RPC_MISC_ERROR, "mining failed: %s", chain_strerror(rc));
        }
        json_array_append_new(arr, hash_json(hash));
    }
    return arr;
}

static json_t *m_generate(struct node_rpc_req *rq)
{
    uint64_t count = 0, max_tries = 1000000;
    if (!node_rpc_param_max(rq, 2) ||
        !node_rpc_param_u64(rq, 0, true, NODE_GENERATE_MAX, &count) ||
        !node_rpc_param_u64(rq, 1, false, UINT64_MAX, &max_tries))
        return NULL;
    return generate_to(rq, count, NODE(rq)->mine_pk, max_tries);
}

static json_t *m_generatetoaddress(struct node_rpc_req *rq)
{
    uint64_t count = 0, max_tries = 1000000;
    uint8_t pk[32];
    if (!node_rpc_param_max(rq, 3) ||
        !node_rpc_param_u64(rq, 0, true, NODE_GENERATE_MAX, &count) ||
        !node_rpc_param_pubkey(rq, 1, true, pk) ||
        !node_rpc_param_u64(rq, 2, false, UINT64_MAX, &max_tries))
        return NULL;
    return generate_to(rq, count, pk, max_tries);
}

static json_t *m_getmininginfo(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    uint32_t bits = chain_next_bits(n->chain);
    json_t *o = json_object();
    json_object_set_new(o, "blocks", json_integer(chain_height(n->chain)));
    json_object_set_new(o, "difficulty", json_real(difficulty(chain_params(n->chain), bits)));
    json_object_set_new(o, "bits", json_integer(bits));
    json_object_set_new(o, "pooledtx", json_integer((json_int_t)chain_mempool_count(n->chain)));
    json_object_set_new(o, "chain", json_string(chain_params(n->chain)->name));
    json_object_set_new(o, "mining", json_boolean(node_miner_running(n)));
    json_object_set_new(o, "hashespersec", json_real(node_miner_hashrate(n)));
    json_object_set_new(o, "blocks_mined", json_integer((json_int_t)n->blocks_mined));
    json_object_set_new(o, "mine_address", hex32_json(n->mine_pk));
    return o;
}

/* ------------------------------------------------------------ network */

/* Established connections that speak v2. */
static size_t count_v2(struct node *n)
{
    size_t cap = p2p_peer_count(n->p2p), v2 = 0;
    struct p2p_peer_info *pi = calloc(cap ? cap : 1, sizeof *pi);
    if (!pi)
        return 0;
    size_t cnt = p2p_get_peers(n->p2p, pi, cap);
    for (size_t i = 0; i < cnt; i++)
        v2 += pi[i].v2;
    free(pi);
    return v2;
}

static json_t *m_getnetworkinfo(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    struct p2p_stats st;
    p2p_get_stats(n->p2p, &st);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(NODE_VERSION_NUMBER));
    json_object_set_new(o, "subversion", json_string(p2p_user_agent(n->p2p)));
    json_object_set_new(o, "protocolversion", json_integer(P2P_PROTOCOL_VERSION));
    json_object_set_new(o, "localservices", json_string("0000000000000000"));
    json_object_set_new(o, "name", json_string(n->cfg.name));
    json_object_set_new(o, "network", json_string(chain_params(n->chain)->name));
    json_object_set_new(o, "port", json_integer(n->p2p_port));
    json_object_set_new(o, "connections", json_integer((json_int_t)st.peers));
    json_object_set_new(o, "connections_in", json_integer((json_int_t)st.inbound));
    json_object_set_new(o, "connections_out", json_integer((json_int_t)st.outbound));
    json_object_set_new(o, "networkactive", json_true());
    json_object_set_new(o, "fanout", json_integer(n->cfg.fanout));
    json_object_set_new(o, "tx_batch_ms", json_integer(n->cfg.tx_batch_ms));
    json_object_set_new(o, "relayfee", json_integer((json_int_t)chain_params(n->chain)->min_fee));
    json_object_set_new(o, "v2transport", json_boolean(n->cfg.v2transport));
    json_object_set_new(o, "v2only", json_boolean(n->cfg.v2transport && n->cfg.v2only));
    if (n->have_p2p_key) {
        char pk[65];
        hex_encode(pk, n->p2p_pk, 32);
        json_object_set_new(o, "p2p_node_key", json_string(pk));
    }
    json_object_set_new(o, "connections_v2", json_integer((json_int_t)count_v2(n)));
    return o;
}

static json_t *per_cmd_json(const uint64_t v[P2P_CMD_COUNT])
{
    json_t *o = json_object();
    for (int c = 0; c < P2P_CMD_COUNT; c++)
        if (v[c])
            json_object_set_new(o, p2p_cmd_name((enum p2p_cmd)c), json_integer((json_int_t)v[c]));
    return o;
}

static json_t *m_getpeerinfo(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    size_t cap = p2p_peer_count(n->p2p);
    struct p2p_peer_info *pi = calloc(cap ? cap : 1, sizeof *pi);
    if (!pi)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    size_t cnt = p2p_get_peers(n->p2p, pi, cap);
    json_t *arr = json_array();
    for (size_t i = 0; i < cnt; i++) {
        const struct p2p_peer_info *p = &pi[i];
        char addr[P2P_ADDR_STRLEN];
        p2p_addr_format(&p->addr, addr);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)p->id));
        json_object_set_new(o, "addr", json_string(addr));
        json_object_set_new(o, "name", json_string(p->name));
        json_object_set_new(o, "inbound", json_boolean(p->inbound));
        json_object_set_new(o, "established", json_boolean(p->established));
        json_object_set_new(o, "subver", json_string(p->user_agent));
        json_object_set_new(o, "version", json_integer(p->version));
        json_object_set_new(o, "startingheight", json_integer(p->start_height));
        json_object_set_new(o, "synced_blocks", json_integer(p->best_height));
        json_object_set_new(o, "conntime", json_integer((json_int_t)(p->connected_ms / 1000)));
        json_object_set_new(o, "lastsend", json_integer((json_int_t)(p->last_send_ms / 1000)));
        json_object_set_new(o, "lastrecv", json_integer((json_int_t)(p->last_recv_ms / 1000)));
        const struct node_ping *pg = node_ping_of(n, p->id);
        if (p->ping_ms >= 0) {
            /* Seconds with µs, as bitcoind's; the core's ms if not timed here. */
            double s = pg && pg->last_us >= 0 ? (double)pg->last_us / 1e6
                                               : (double)p->ping_ms / 1000.0;
            json_object_set_new(o, "pingtime", json_real(s));
            json_object_set_new(o, "ping_ms", json_integer(p->ping_ms));
        }
        if (pg && pg->min_us >= 0)
            json_object_set_new(o, "minping", json_real((double)pg->min_us / 1e6));
        if (pg && pg->sent_us)
            json_object_set_new(o, "pingwait",
                                json_real((double)(node_now_us() - pg->sent_us) / 1e6));
        json_object_set_new(o, "transport_protocol_type", json_string(p->v2 ? "v2" : "v1"));
        char hex[65] = "";
        if (p->v2)
            hex_encode(hex, p->session_id, 32);
        json_object_set_new(o, "session_id", json_string(hex));
        if (p->peer_key_known) {
            hex_encode(hex, p->peer_key, 32);
            json_object_set_new(o, "peer_node_key", json_string(hex));
        }
        json_object_set_new(o, "banscore", json_integer(p->ban_score));
        json_object_set_new(o, "inflight", json_integer((json_int_t)p->in_flight));
        json_object_set_new(o, "sendqueue_bytes", json_integer((json_int_t)p->send_queue_bytes));
        json_object_set_new(o, "bytessent", json_integer((json_int_t)p->bytes_sent));
        json_object_set_new(o, "bytesrecv", json_integer((json_int_t)p->bytes_recv));
        json_object_set_new(o, "bytessent_per_msg", per_cmd_json(p->bytes_sent_per_cmd));
        json_object_set_new(o, "bytesrecv_per_msg", per_cmd_json(p->bytes_recv_per_cmd));
        json_object_set_new(o, "msgssent_per_msg", per_cmd_json(p->msgs_sent_per_cmd));
        json_object_set_new(o, "msgsrecv_per_msg", per_cmd_json(p->msgs_recv_per_cmd));
        json_array_append_new(arr, o);
    }
    free(pi);
    return arr;
}

static json_t *m_getconnectioncount(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    return json_integer((json_int_t)p2p_peer_count(NODE(rq)->p2p));
}

static json_t *m_addnode(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    const char *node = NULL, *cmd = NULL;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_str(rq, 0, true, &node) ||
        !node_rpc_param_str(rq, 1, true, &cmd))
        return NULL;
    struct p2p_addr a;
    if (strcmp(cmd, "add") == 0 && p2p_addr_parse(&a, node, 1) != 0) {
        /* A host name (containers): resolve it in the background. */
        int rc = node_add_seed(n, node);
        if (rc < 0)
            return node_rpc_fail(rq, RPC_CLIENT_INVALID_IP_OR_SUBNET,
                                 "Invalid node '%s' (HOST:PORT expected)", node);
        if (rc > 0)
            return node_rpc_fail(rq, RPC_CLIENT_NODE_ALREADY_ADDED, "Error: Node already added");
        return json_null();
    }
    if (!parse_addr_param(rq, node, &a, chain_params(n->chain)->p2p_port))
        return NULL;
    uint64_t now = node_now_ms();
    if (strcmp(cmd, "add") == 0) {
        int rc = p2p_connect_addr(n->p2p, &a, now);
        if (rc == P2P_ERR_EXISTS)
            return node_rpc_fail(rq, RPC_CLIENT_NODE_ALREADY_ADDED,
                                 "Error: Node already added");
        if (rc < 0)
            return node_rpc_fail(rq, RPC_MISC_ERROR, "%s", p2p_strerror(rc));
    } else if (strcmp(cmd, "remove") == 0) {
        if (p2p_remove_addr(n->p2p, &a) != 0)
            return node_rpc_fail(rq, RPC_CLIENT_NODE_NOT_ADDED,
                                 "Error: Node could not be removed. It has not been added "
                                 "previously.");
    } else if (strcmp(cmd, "onetry") == 0) {
        p2p_connect_once(n->p2p, &a, now);
    } else {
        return node_rpc_fail(rq, RPC_INVALID_PARAMS,
                             "command must be one of add, remove, onetry");
    }
    return json_null();
}

static json_t *m_disconnectnode(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    const char *addr = NULL;
    uint64_t id = 0;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_str(rq, 0, false, &addr) ||
        !node_rpc_param_u64(rq, 1, false, UINT64_MAX, &id))
        return NULL;
    uint64_t now = node_now_ms();
    if (addr && *addr && id)
        return node_rpc_fail(rq, RPC_INVALID_PARAMS, "Only one of address and nodeid");
    if (addr && *addr) {
        struct p2p_addr a;
        if (!parse_addr_param(rq, addr, &a, chain_params(n->chain)->p2p_port))
            return NULL;
        if (p2p_disconnect_addr(n->p2p, &a, now) <= 0)
            return node_rpc_fail(rq, RPC_CLIENT_NODE_NOT_CONNECTED,
                                 "Node not found in connected nodes");
        return json_null();
    }
    if (!id)
        return node_rpc_fail(rq, RPC_INVALID_PARAMS, "Give an address or a nodeid");
    if (p2p_disconnect_peer(n->p2p, id, now) != 0)
        return node_rpc_fail(rq, RPC_CLIENT_NODE_NOT_CONNECTED,
                             "Node not found in connected nodes");
    return json_null();
}

static json_t *m_setban(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    const char *ip = NULL, *cmd = NULL;
    uint64_t bantime = 0;
    bool absolute = false;
    if (!node_rpc_param_max(rq, 4) || !node_rpc_param_str(rq, 0, true, &ip) ||
        !node_rpc_param_str(rq, 1, true, &cmd) ||
        !node_rpc_param_u64(rq, 2, false, UINT32_MAX, &bantime) ||
        !node_rpc_param_bool(rq, 3, false, &absolute))
        return NULL;
    /* Bans are per IP or CIDR subnet; a port, if given, is ignored. */
    struct p2p_subnet sn;
    if (p2p_subnet_parse(&sn, ip) != 0)
        return node_rpc_fail(rq, RPC_CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet");
    struct p2p_addr a = { .port = 0 };
    memcpy(a.ip, sn.ip, 16);
    uint64_t now = node_now_ms();
    if (strcmp(cmd, "add") == 0) {
        uint64_t dur_ms = bantime * 1000;
        if (absolute && bantime) {
            if (bantime * 1000 <= now)
                return node_rpc_fail(rq, RPC_INVALID_PARAMETER,
                                     "Error: Absolute timestamp is in the past");
            dur_ms = bantime * 1000 - now;
        }
        if (p2p_is_banned(n->p2p, &a, now))
            return node_rpc_fail(rq, RPC_CLIENT_NODE_ALREADY_ADDED,
                                 "Error: IP/Subnet already banned");
        int rc = p2p_ban_subnet(n->p2p, &sn, dur_ms, "manually added", now);
        if (rc < 0)
            return node_rpc_fail(rq, RPC_MISC_ERROR, "%s", p2p_strerror(rc));
    } else if (strcmp(cmd, "remove") == 0) {
        if (p2p_unban_subnet(n->p2p, &sn) != 0)
            return node_rpc_fail(rq, RPC_CLIENT_INVALID_IP_OR_SUBNET,
                                 "Error: Unban failed. Requested address/subnet was not "
                                 "previously manually banned.");
    } else {
        return node_rpc_fail(rq, RPC_INVALID_PARAMS, "command must be add or remove");
    }
    node_bans_save(n);   /* a ban survives even a kill -9 right after */
    return json_null();
}

static json_t *m_listbanned(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    enum { MAX_LIST = 4096 };
    struct p2p_ban_entry *b = calloc(MAX_LIST, sizeof *b);
    if (!b)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    uint64_t now = node_now_ms();
    size_t cnt = p2p_list_bans(n->p2p, b, MAX_LIST, now);
    json_t *arr = json_array();
    for (size_t i = 0; i < cnt; i++) {
        char ip[P2P_ADDR_STRLEN];
        struct p2p_subnet sn = { .bits = b[i].bits };
        memcpy(sn.ip, b[i].addr.ip, 16);
        p2p_subnet_format(&sn, ip);
        json_t *o = json_object();
        json_object_set_new(o, "address", json_string(ip));
        json_object_set_new(o, "ban_created", json_integer((json_int_t)(b[i].created_ms / 1000)));
        json_object_set_new(o, "banned_until", json_integer((json_int_t)(b[i].until_ms / 1000)));
        json_object_set_new(o, "ban_duration",
                            json_integer((json_int_t)((b[i].until_ms - b[i].created_ms) / 1000)));
        json_object_set_new(o, "time_remaining",
                            json_integer((json_int_t)(b[i].until_ms > now
                                                      ? (b[i].until_ms - now) / 1000 : 0)));
        json_object_set_new(o, "reason", json_string(b[i].reason));
        json_array_append_new(arr, o);
    }
    free(b);
    return arr;
}

static json_t *m_clearbanned(struct node_rpc_req *rq)
{
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    p2p_clear_bans(NODE(rq)->p2p);
    node_bans_save(NODE(rq));
    return json_null();
}

static json_t *m_getnodeaddresses(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint64_t count = 1;
    if (!node_rpc_param_max(rq, 1) ||
        !node_rpc_param_u64(rq, 0, false, P2P_ADDRBOOK_MAX_ENTRIES, &count))
        return NULL;
    static struct p2p_addr_record book[P2P_ADDRBOOK_MAX_ENTRIES];   /* loop thread only */
    size_t k = p2p_addrbook_export(n->p2p, book, P2P_ADDRBOOK_MAX_ENTRIES);
    json_t *arr = json_array();
    for (size_t i = 0; i < k && (count == 0 || i < count); i++) {
        char ip[P2P_ADDR_STRLEN];
        p2p_addr_format_ip(&book[i].addr, ip);
        json_t *o = json_object();
        json_object_set_new(o, "time", json_integer((json_int_t)(book[i].seen_ms / 1000)));
        json_object_set_new(o, "address", json_string(ip));
        json_object_set_new(o, "port", json_integer(book[i].addr.port));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *m_getpropagation(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t hash[32];
    if (!node_rpc_param_max(rq, 1) || !node_rpc_param_hash(rq, 0, true, hash, NULL))
        return NULL;
    const struct node_prop_rec *r = node_prop_find(&n->prop, hash);
    if (!r)
        return node_rpc_fail(rq, RPC_INVALID_ADDRESS_OR_KEY,
                             "This node has no record of that hash");
    json_t *o = json_object();
    json_object_set_new(o, "hash", hash_json(r->hash));
    json_object_set_new(o, "type", json_string(r->type == P2P_INV_BLOCK ? "block" : "tx"));
    if (r->first_seen_ms) {
        char ts[28];
        node_log_ts(ts, r->first_seen_ms * 1000);
        json_object_set_new(o, "first_seen", json_string(ts));
        json_object_set_new(o, "first_seen_ms", json_integer((json_int_t)r->first_seen_ms));
        json_object_set_new(o, "source", json_string(r->source));
        if (r->peer) {
            json_object_set_new(o, "peer", json_integer((json_int_t)r->peer));
            json_object_set_new(o, "peer_name", json_string(r->peer_name));
            json_object_set_new(o, "peer_addr", json_string(r->peer_addr));
        }
    } else {
        json_object_set_new(o, "first_seen", json_null());
    }
    if (r->type == P2P_INV_BLOCK && r->first_seen_ms) {
        json_object_set_new(o, "height", json_integer(r->height));
        json_object_set_new(o, "delay_ms", json_integer(r->delay_ms));
    }
    if (r->first_inv_ms)
        json_object_set_new(o, "first_inv_ms", json_integer((json_int_t)r->first_inv_ms));
    json_object_set_new(o, "invs_received", json_integer(r->invs_received));
    json_object_set_new(o, "duplicates", json_integer(r->dup_bodies));
    json_object_set_new(o, "announced_peers", json_integer(r->announced_peers));
    if (r->announced_ms)
        json_object_set_new(o, "announced_ms", json_integer((json_int_t)r->announced_ms));
    return o;
}

/* ------------------------------------------------------------ tips and templates */

/* getchaintips lists at most this many (a tree with more tips is either
 * under attack, which header PoW makes expensive, or years of forks). */
#define NODE_CHAINTIPS_MAX 4096

static json_t *m_getchaintips(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    if (!node_rpc_param_max(rq, 0))
        return NULL;
    struct chain_tip_info *t = calloc(NODE_CHAINTIPS_MAX, sizeof *t);
    if (!t)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    size_t cnt = chain_get_tips(n->chain, t, NODE_CHAINTIPS_MAX);
    json_t *arr = json_array();
    for (size_t i = 0; i < cnt; i++)
        json_array_append_new(arr, json_pack("{s:i,s:o,s:i,s:s}", "height", (json_int_t)t[i].height,
                                             "hash", hash_json(t[i].hash), "branchlen",
                                             (json_int_t)t[i].branchlen, "status",
                                             chain_tip_status_name(t[i].status)));
    free(t);
    return arr;
}

static json_t *m_getblocktemplate(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    uint8_t pk[32];
    memcpy(pk, n->mine_pk, 32);
    if (!node_rpc_param_max(rq, 1))
        return NULL;
    json_t *p0 = node_rpc_param(rq, 0);
    if (p0 && !json_is_object(p0) && !node_rpc_param_pubkey(rq, 0, false, pk))
        return NULL;
    struct chain_block b;
    uint64_t now = node_now_ms();
    int rc = chain_block_template(n->chain, pk, now, &b);
    if (rc != 0)
        return node_rpc_fail(rq, RPC_MISC_ERROR, "template: %s", chain_strerror(rc));
    struct wr w;
    wr_init(&w, BLOCK_SIZE_LIMIT);
    chain_block_encode(&w, &b);
    uint8_t hdr[HEADER_SIZE];
    chain_header_serialize(&b.hdr, hdr);
    struct chain_u256 target;
    uint8_t tle[32] = { 0 };
    if (chain_bits_to_target(b.hdr.bits, &target))
        chain_u256_to_le(&target, tle);
    char bits[9];
    snprintf(bits, sizeof bits, "%08" PRIx32, b.hdr.bits);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(b.hdr.version));
    json_object_set_new(o, "previousblockhash", hash_json(b.hdr.prev));
    json_object_set_new(o, "height", json_integer(chain_height(n->chain) + 1));
    json_object_set_new(o, "bits", json_string(bits));
    json_object_set_new(o, "target", hash_json(tle));
    json_object_set_new(o, "curtime", json_integer((json_int_t)(b.hdr.time_ms / 1000)));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)b.hdr.time_ms));
    json_object_set_new(o, "mintime_ms", json_integer((json_int_t)chain_tip_mtp(n->chain) + 1));
    json_object_set_new(o, "coinbasevalue", json_integer((json_int_t)b.txs[0].amount));
    json_t *txs = json_array();
    for (size_t i = 1; i < b.n_tx; i++) {
        size_t size = 0;
        json_t *t = tx_json(&b.txs[i], &size);
        json_array_append_new(txs, json_pack("{s:O,s:I,s:O}", "txid", json_object_get(t, "txid"),
                                             "fee", (json_int_t)b.txs[i].fee, "hex",
                                             json_object_get(t, "hex")));
        json_decref(t);
    }
    json_object_set_new(o, "transactions", txs);
    json_object_set_new(o, "header", bytes_hex_json(hdr, sizeof hdr));
    json_object_set_new(o, "nonce_offset", json_integer(80));
    json_object_set_new(o, "block", w.err ? json_null() : bytes_hex_json(w.buf, w.len));
    wr_free(&w);
    chain_block_free(&b);
    return o;
}

static json_t *m_submitblock(struct node_rpc_req *rq)
{
    struct node *n = NODE(rq);
    const char *hex = NULL;
    if (!node_rpc_param_max(rq, 2) || !node_rpc_param_str(rq, 0, true, &hex))
        return NULL;   /* a second, bitcoind's dummy "workid", is ignored */
    size_t hl = strlen(hex);
    if (hl % 2 || hl / 2 > BLOCK_SIZE_LIMIT)
        return node_rpc_fail(rq, RPC_DESERIALIZATION_ERROR, "Block decode failed");
    uint8_t *raw = malloc(hl / 2 + 1);
    if (!raw)
        return node_rpc_fail(rq, RPC_OUT_OF_MEMORY, "out of memory");
    long len = hex_decode_var(raw, hl / 2 + 1, hex);
    struct chain_block b;
    int rc = len < 0 ? -1 : chain_block_parse(&b, raw, (size_t)len, BLOCK_SIZE_LIMIT);
    free(raw);
    if (rc != 0)
        return node_rpc_fail(rq, RPC_DESERIALIZATION_ERROR, "Block decode failed");
    uint8_t hash[32];
    chain_header_hash(&b.hdr, hash);
    bool known = chain_have_block(n->chain, hash);
    uint64_t now = node_now_ms();
    struct node_prop_rec *r = known ? NULL : node_prop_get_or_add(&n->prop, hash, P2P_INV_BLOCK,
                                                                  NULL);
    if (r && !r->first_seen_ms) {
        r->first_seen_ms = now;
        snprintf(r->source, sizeof r->source, "rpc");
        r->delay_ms = (int64_t)(now - b.hdr.time_ms);
        node_obs_block_seen(&n->obs, NODE_SEEN_RPC, r->delay_ms);
    }
    rc = p2p_submit_block(n->p2p, &b, now);
    NODE_LOG(&n->log, rc < 0 ? NODE_LOG_WARN : NODE_LOG_INFO, NODE_LOG_CAT_NONE,
             "block_submitted", LF_HASH("hash", hash), LF_UINT("txs", b.n_tx),
             LF_STR("result", rc < 0 ? chain_strerror(rc) : "ok"));
    chain_block_free(&b);
    if (rc < 0) {
        node_obs_reject(&n->obs, true, rc);
        return json_string(chain_strerror(rc));
    }
    if (known || rc == CHAIN_ST_DUPLICATE)
        return json_string("duplicate");
    if (rc != CHAIN_ST_NEW_TIP)
        return json_string("inconclusive");
    return json_null();
}

/* ------------------------------------------------------------ table */

#include "node/rpc_help.inc"

const struct node_rpc_method node_rpc_methods[] = {
    /* control */
    { "help", m_help, "command", HELP_help },
    { "uptime", m_uptime, "", HELP_uptime },
    { "stop", m_stop, "", HELP_stop },
    /* chain */
    { "getblockchaininfo", m_getblockchaininfo, "", HELP_getblockchaininfo },
    { "getblockcount", m_getblockcount, "", HELP_getblockcount },
    { "getbestblockhash", m_getbestblockhash, "", HELP_getbestblockhash },
    { "getblockhash", m_getblockhash, "height", HELP_getblockhash },
    { "getblock", m_getblock, "blockhash,verbosity", HELP_getblock },
    { "getblockheader", m_getblockheader, "blockhash,verbose", HELP_getblockheader },
    { "getchaintips", m_getchaintips, "", HELP_getchaintips },
    { "waitfornewblock", node_rpc_waitfornewblock, "timeout", HELP_waitfornewblock },
    { "waitforblock", node_rpc_waitforblock, "blockhash,timeout", HELP_waitforblock },
    { "waitforblockheight", node_rpc_waitforblockheight, "height,timeout",
      HELP_waitforblockheight },
    /* mempool and transactions */
    { "getrawmempool", m_getrawmempool, "verbose", HELP_getrawmempool },
    { "getmempoolinfo", m_getmempoolinfo, "", HELP_getmempoolinfo },
    { "getmempoolentry", m_getmempoolentry, "txid", HELP_getmempoolentry },
    { "getrawtransaction", m_getrawtransaction, "txid,verbose,blockhash",
      HELP_getrawtransaction },
    { "sendrawtransaction", m_sendrawtransaction, "hexstring", HELP_sendrawtransaction },
    /* accounts and the node key */
    { "sendtoaddress", m_sendtoaddress, "address,amount,fee,memo", HELP_sendtoaddress },
    { "getaccount", m_getaccount, "address", HELP_getaccount },
    { "getnewaddress", m_getnewaddress, "label", HELP_getnewaddress },
    { "dumpaddress", m_dumpaddress, "", HELP_dumpaddress },
    /* mining */
    { "generate", m_generate, "nblocks,maxtries", HELP_generate },
    { "generatetoaddress", m_generatetoaddress, "nblocks,address,maxtries",
      HELP_generatetoaddress },
    { "getmininginfo", m_getmininginfo, "", HELP_getmininginfo },
    { "getblocktemplate", m_getblocktemplate, "address", HELP_getblocktemplate },
    { "submitblock", m_submitblock, "hexdata,dummy", HELP_submitblock },
    /* network */
    { "getnetworkinfo", m_getnetworkinfo, "", HELP_getnetworkinfo },
    { "getpeerinfo", m_getpeerinfo, "", HELP_getpeerinfo },
    { "getconnectioncount", m_getconnectioncount, "", HELP_getconnectioncount },
    { "addnode", m_addnode, "node,command", HELP_addnode },
    { "disconnectnode", m_disconnectnode, "address,nodeid", HELP_disconnectnode },
    { "setban", m_setban, "subnet,command,bantime,absolute", HELP_setban },
    { "listbanned", m_listbanned, "", HELP_listbanned },
    { "clearbanned", m_clearbanned, "", HELP_clearbanned },
    { "getpropagation", m_getpropagation, "hash", HELP_getpropagation },
    { "getnodeaddresses", m_getnodeaddresses, "count", HELP_getnodeaddresses },
};
const size_t node_rpc_methods_count = sizeof node_rpc_methods / sizeof node_rpc_methods[0];

void node_rpc_write_doc(FILE *out)
{
    for (size_t i = 0; i < node_rpc_methods_count; i++)
        fprintf(out, "### %s\n\n```text\n%s```\n\n", node_rpc_methods[i].name,
                node_rpc_methods[i].help);
}
