/* Error codes of the p2p layer. 0 is success; every error is negative and
 * distinct from chain/'s CHAIN_ERR_* range. p2p_strerror() gives a short
 * stable name, used as the `reason` in logs. */
#ifndef GOSSIPD_P2P_ERR_H
#define GOSSIPD_P2P_ERR_H

#define P2P_ERR_LIST(X) \
    X(TRUNCATED,      -200, "truncated") \
    X(TRAILING,       -201, "trailing-bytes") \
    X(NONCANONICAL,   -202, "non-canonical") \
    X(OVERSIZE,       -203, "oversize") \
    X(BAD_MAGIC,      -204, "bad-magic") \
    X(BAD_COMMAND,    -205, "bad-command") \
    X(BAD_CHECKSUM,   -206, "bad-checksum") \
    X(MALFORMED,      -207, "malformed") \
    X(UNKNOWN_CMD,    -208, "unknown-command") \
    X(NOMEM,          -209, "out-of-memory") \
    X(UNKNOWN_PEER,   -210, "unknown-peer") \
    X(FULL,           -211, "full") \
    X(INVALID_ARG,    -212, "invalid-argument") \
    X(EXISTS,         -213, "already-exists") \
    X(NOT_FOUND,      -214, "not-found") \
    X(HANDSHAKE,      -215, "message-before-handshake") \
    X(DUP_VERSION,    -216, "duplicate-version") \
    X(BAD_VERACK,     -217, "unexpected-verack") \
    X(UNSOLICITED_TX, -218, "unsolicited-tx") \
    X(UNSOLICITED_BLOCK, -219, "unsolicited-block") \
    X(RECON_FLOOD,    -220, "recon-flood") \
    X(DECRYPT,        -230, "v2-decrypt-failed") \
    X(V1_REFUSED,     -231, "v1-refused")

enum p2p_err {
    P2P_OK = 0,
#define X(name, val, str) P2P_ERR_##name = (val),
    P2P_ERR_LIST(X)
#undef X
};

/* Stable short name of a P2P_ERR_* or CHAIN_ERR_* code (never NULL). */
const char *p2p_strerror(int err);

#endif
