/* Error codes for chain/: decoding failures and every validation rejection
 * reason, each distinct so tests, logs and RPC can name it. 0 is success;
 * every error is negative. chain_strerror() gives a short stable name
 * (used in logs and in JSON-RPC -26 "rejected" messages). */
#ifndef GOSSIPD_CHAIN_ERR_H
#define GOSSIPD_CHAIN_ERR_H

#define CHAIN_ERR_LIST(X) \
    /* codec */ \
    X(TRUNCATED,          -1,  "truncated") \
    X(TRAILING,           -2,  "trailing-bytes") \
    X(VARINT_NONCANONICAL,-3,  "non-canonical-varint") \
    X(TOO_LARGE,          -4,  "too-large") \
    X(NOMEM,              -5,  "out-of-memory") \
    /* tx form */ \
    X(TX_VERSION,         -10, "tx-bad-version") \
    X(TX_MEMO_SIZE,       -11, "tx-memo-too-large") \
    X(TX_BAD_SIG,         -12, "tx-bad-signature") \
    X(TX_BAD_NONCE,       -13, "tx-bad-nonce") \
    X(TX_INSUFFICIENT,    -14, "tx-insufficient-funds") \
    X(TX_FEE_TOO_LOW,     -15, "tx-fee-too-low") \
    X(TX_OVERFLOW,        -16, "tx-amount-overflow") \
    X(TX_COINBASE,        -17, "tx-unexpected-coinbase") \
    X(TX_SELF_SEND,       -18, "tx-self-send") \
    X(TX_ZERO_AMOUNT,     -19, "tx-zero-amount") \
    /* mempool policy */ \
    X(TX_DUPLICATE,       -30, "txn-already-known") \
    X(TX_NONCE_TOO_OLD,   -31, "tx-nonce-already-used") \
    X(TX_REPLACE_FEE,     -32, "tx-replacement-fee-too-low") \
    X(MEMPOOL_FULL,       -33, "mempool-full") \
    X(TX_ORPHAN_FULL,     -34, "tx-orphan-pool-full") \
    X(OWN_FULL,           -35, "own-txs-full") \
    /* block */ \
    X(BLK_POW,            -50, "high-hash") \
    X(BLK_BAD_BITS,       -51, "bad-diffbits") \
    X(BLK_TIME_OLD,       -52, "time-too-old") \
    X(BLK_TIME_FUTURE,    -53, "time-too-new") \
    X(BLK_MERKLE,         -54, "bad-merkle-root") \
    X(BLK_MUTATED,        -55, "bad-merkle-mutated") \
    X(BLK_SIZE,           -56, "bad-block-size") \
    X(BLK_NO_COINBASE,    -57, "bad-cb-missing") \
    X(BLK_MULTI_COINBASE, -58, "bad-cb-multiple") \
    X(BLK_CB_AMOUNT,      -59, "bad-cb-amount") \
    X(BLK_CB_HEIGHT,      -60, "bad-cb-height") \
    X(BLK_BAD_TX,         -61, "bad-txns") \
    X(BLK_VERSION,        -62, "bad-version") \
    X(BLK_EMPTY,          -63, "bad-blk-length") \
    X(BLK_INVALID_PARENT, -64, "bad-prevblk") \
    X(BLK_DUPLICATE,      -65, "duplicate") \
    X(BLK_ORPHAN_FULL,    -66, "orphan-pool-full") \
    X(BLK_UNKNOWN,        -67, "unknown-block") \
    X(BLK_CB_FORM,        -68, "bad-cb-form") \
    /* local failures, not the peer's fault */ \
    X(STORE,              -90, "store-error") \
    X(INTERNAL,           -91, "internal-error") \
    X(NOT_FOUND,          -92, "not-found")

enum chain_err {
    CHAIN_OK = 0,
#define X(name, val, str) CHAIN_ERR_##name = (val),
    CHAIN_ERR_LIST(X)
#undef X
};

/* Stable short name of an error (never NULL). */
const char *chain_strerror(int err);

#endif
