/* The one error contract of the message handlers (docs/SECURITY.md, "One
 * error contract"): a handler returns 0 or a negative result, and this
 * table says what the result means. Either the peer is at fault (its
 * misbehaviour score grows by the row's score, with p2p_strerror(result)
 * as the reason; p2p__misbehave disconnects and discourages at
 * P2P_BAN_SCORE), or the connection is cut without a score (another
 * network, a v2 stream that does not verify), or the failure is ours
 * (out of memory, the chain or its store failing): then it is counted in
 * p2p_stats.local_errors, reported by the local_error event, and never
 * blamed on the peer. p2p__result is the only caller of p2p__misbehave. */
#include "p2p/core.h"

#include "chain/err.h"

enum result_kind {
    RES_PEER,   /* the peer's fault: score */
    RES_CUT,    /* disconnect, no score */
    RES_LOCAL,  /* ours: counted, not blamed */
};

struct result_rule {
    int code;
    enum result_kind kind;
    int score;
};

/* One chain/ score for invalid txs, blocks and headers: a handler returns
 * a chain rejection only when an honest peer never causes it
 * (tx_reject_is_fault, p2p__block_reject_is_fault). */
_Static_assert(P2P_SCORE_INVALID_TX == P2P_SCORE_INVALID_BLOCK
               && P2P_SCORE_INVALID_BLOCK == P2P_SCORE_INVALID_HEADER,
               "one score for chain rejections");

/* First match wins. A code in no row is local: what the table does not
 * name is never blamed on a peer. */
static const struct result_rule rules[] = {
    /* malformed: the bytes are not a valid message */
    { P2P_ERR_TRUNCATED,         RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_TRAILING,          RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_NONCANONICAL,      RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_OVERSIZE,          RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_BAD_COMMAND,       RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_BAD_CHECKSUM,      RES_PEER, P2P_SCORE_MALFORMED },
    { P2P_ERR_MALFORMED,         RES_PEER, P2P_SCORE_MALFORMED },
    /* protocol violations: a valid message at the wrong time */
    { P2P_ERR_HANDSHAKE,         RES_PEER, P2P_SCORE_PROTOCOL },
    { P2P_ERR_DUP_VERSION,       RES_PEER, P2P_SCORE_PROTOCOL },
    { P2P_ERR_BAD_VERACK,        RES_PEER, P2P_SCORE_PROTOCOL },
    /* unsolicited: more than it was asked for */
    { P2P_ERR_UNSOLICITED_TX,    RES_PEER, P2P_SCORE_UNSOLICITED },
    { P2P_ERR_UNSOLICITED_BLOCK, RES_PEER, P2P_SCORE_UNSOLICITED },
    { P2P_ERR_RECON_FLOOD,       RES_PEER, P2P_SCORE_UNSOLICITED },
    /* cut without a score: not provably the peer's address's doing */
    { P2P_ERR_BAD_MAGIC,         RES_CUT,  0 },   /* another network */
    { P2P_ERR_DECRYPT,           RES_CUT,  0 },   /* anyone on the path can cause it */
    { P2P_ERR_V1_REFUSED,        RES_CUT,  0 },
    /* ours */
    { P2P_ERR_NOMEM,             RES_LOCAL, 0 },
    { CHAIN_ERR_NOMEM,           RES_LOCAL, 0 },
    { CHAIN_ERR_STORE,           RES_LOCAL, 0 },
    { CHAIN_ERR_INTERNAL,        RES_LOCAL, 0 },
    { CHAIN_ERR_NOT_FOUND,       RES_LOCAL, 0 },
    /* invalid: every other chain/ rejection a handler returns */
#define X(name, val, str) { CHAIN_ERR_##name, RES_PEER, P2P_SCORE_INVALID_BLOCK },
    CHAIN_ERR_LIST(X)
#undef X
};

static const struct result_rule *rule_of(int r)
{
    static const struct result_rule local = { 0, RES_LOCAL, 0 };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].code == r)
            return &rules[i];
    return &local;
}

bool p2p__is_local_error(int r)
{
    return r < 0 && rule_of(r)->kind == RES_LOCAL;
}

void p2p__local_error(struct p2p *p, struct peer *pe, int r)
{
    p->stats.local_errors++;
    if (p->ev.local_error)
        p->ev.local_error(p->ev.ctx, pe ? pe->id : 0, r);
}

bool p2p__result(struct p2p *p, struct peer *pe, int r)
{
    if (r >= 0 || pe->dead)
        return pe->dead;
    const struct result_rule *ru = rule_of(r);
    switch (ru->kind) {
    case RES_PEER:
        return p2p__misbehave(p, pe, ru->score, p2p_strerror(r));
    case RES_CUT:
        p2p__drop(p, pe, p2p_strerror(r));
        return true;
    case RES_LOCAL:
        p2p__local_error(p, pe, r);
        break;
    }
    return pe->dead;
}
