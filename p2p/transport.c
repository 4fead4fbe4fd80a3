/* Which transport a connection speaks, and the v2 handshake's place in the
 * connection's life: outbound v2 first with fallback to v1 (remembered per
 * address), inbound detection by the first bytes, the node-key allowlist.
 * The framing itself is in wire.c (v1) and v2.c. */
#include "p2p/core.h"

#include <string.h>

#include "crypto/sec.h"

int p2p__transport_config(struct p2p *p, const struct p2p_config *cfg)
{
    struct p2p_v2_state *s = &p->v2;
    s->mode = cfg->v2_mode;
    if (cfg->node_sk) {
        memcpy(s->node_sk, cfg->node_sk, sizeof(s->node_sk));
        s->have_node_sk = true;
    }
    size_t n = cfg->n_allowed_keys < P2P_MAX_ALLOWED_KEYS ? cfg->n_allowed_keys
                                                         : P2P_MAX_ALLOWED_KEYS;
    if (n) {
        if (!(s->allowed = p2p__malloc(n * 32)))
            return P2P_ERR_NOMEM;
        memcpy(s->allowed, cfg->allowed_keys, n * 32);
    }
    s->n_allowed = n;
    if (n > 0)
        s->mode = P2P_V2_ONLY;     /* a v1 peer cannot prove a key */
    return 0;
}

static bool v1_only(const struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->v2.v1_only_n; i++)
        if (p2p_addr_equal(&p->v2.v1_only[i], a))
            return true;
    return false;
}

static const uint8_t *node_sk(const struct p2p *p)
{
    return p->v2.have_node_sk ? p->v2.node_sk : NULL;
}

void p2p__transport_flush(struct p2p *p, struct peer *pe)
{
    size_t len;
    const uint8_t *b = p2p_framer_tx(&pe->framer, &len);
    p2p__send_bytes(p, pe, P2P_CMD_COUNT, b, len);
    p2p_framer_tx_done(&pe->framer);
}

void p2p__transport_start(struct p2p *p, struct peer *pe)
{
    if (p->v2.mode == P2P_V2_OFF) {
        if (!pe->inbound)
            p2p__send_version(p, pe);
        return;
    }
    if (pe->inbound) {
        p2p_framer_detect(&pe->framer, p->v2.mode != P2P_V2_ONLY, node_sk(p));
        return;
    }
    if (p->v2.mode == P2P_V2_ON && v1_only(p, &pe->addr)) {
        p2p__send_version(p, pe);
        return;
    }
    if (p2p_framer_start_v2(&pe->framer, node_sk(p)) != 0) {
        p2p__drop(p, pe, "out-of-memory");
        return;
    }
    p2p__transport_flush(p, pe);
}

bool p2p__transport_ready(struct p2p *p, struct peer *pe, const struct p2p_frame *fr)
{
    pe->peer_key_known = fr->peer_authenticated;
    memcpy(pe->peer_key, fr->peer_node_key, sizeof(pe->peer_key));
    if (p->v2.n_allowed > 0) {
        bool ok = false;
        for (size_t i = 0; fr->peer_authenticated && i < p->v2.n_allowed && !ok; i++)
            ok = sec_equal(p->v2.allowed[i], fr->peer_node_key, 32);
        if (!ok) {
            p2p__drop(p, pe, "peer-key-not-allowed");
            return false;
        }
    }
    struct added *a = pe->inbound ? NULL : p2p__added_find(p, &pe->addr);
    if (a && a->expect_key &&
        (!fr->peer_authenticated || !sec_equal(a->key, fr->peer_node_key, 32))) {
        p2p__drop(p, pe, "peer-key-mismatch");
        return false;
    }
    if (!pe->inbound)
        p2p__send_version(p, pe);
    return !pe->dead;
}

bool p2p__transport_gone(struct p2p *p, struct peer *pe)
{
    /* A v1 peer reads our 32-byte key as a frame header with a bad magic
     * and hangs up without a byte: next time, v1. */
    if (pe->inbound || p->v2.mode != P2P_V2_ON || pe->framer.transport != P2P_TRANSPORT_V2 ||
        pe->framer.v2_ready || pe->bytes_recv != 0)
        return false;
    struct p2p_v2_state *s = &p->v2;
    if (!s->v1_only && !(s->v1_only = p2p__calloc(P2P_V1_ONLY_MAX_ENTRIES, sizeof(*s->v1_only))))
        p2p__local_error(p, pe, P2P_ERR_NOMEM);   /* next time v2 again */
    else if (!v1_only(p, &pe->addr)) {
        s->v1_only[s->v1_only_next] = pe->addr;
        s->v1_only_next = (s->v1_only_next + 1) % P2P_V1_ONLY_MAX_ENTRIES;
        if (s->v1_only_n < P2P_V1_ONLY_MAX_ENTRIES)
            s->v1_only_n++;
    }
    return true;
}
