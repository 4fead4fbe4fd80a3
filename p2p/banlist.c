/* Misbehaviour scores and the ban list (by IP). */
#include "p2p/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct p2p_ban_entry *p2p__ban_find(const struct p2p *p, const struct p2p_addr *a,
                                    uint64_t now_ms)
{
    for (size_t i = 0; i < p->n_bans; i++)
        if (p2p_addr_same_ip(&p->bans[i].addr, a) && p->bans[i].until_ms > now_ms)
            return &p->bans[i];
    return NULL;
}

int p2p__ban_add(struct p2p *p, const struct p2p_addr *a, uint64_t duration_ms,
                 const char *reason)
{
    struct p2p_ban_entry *b = p2p__ban_find(p, a, p->now);
    if (!b) {
        /* Reuse an expired slot first. */
        for (size_t i = 0; i < p->n_bans && !b; i++)
            if (p->bans[i].until_ms <= p->now)
                b = &p->bans[i];
        if (!b) {
            if (p->n_bans >= P2P_MAX_BANS)
                return P2P_ERR_FULL;
            if (p->n_bans == p->cap_bans) {
                size_t cap = p->cap_bans ? 2 * p->cap_bans : 8;
                struct p2p_ban_entry *nb = realloc(p->bans, cap * sizeof(*nb));
                if (!nb)
                    return P2P_ERR_NOMEM;
                p->bans = nb;
                p->cap_bans = cap;
            }
            b = &p->bans[p->n_bans++];
        }
    }
    memset(b, 0, sizeof(*b));
    memcpy(b->addr.ip, a->ip, 16);
    b->created_ms = p->now;
    b->until_ms = p->now + (duration_ms ? duration_ms : p->ban_ms);
    snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "manual");
    p->stats.bans++;
    if (p->ev.ban)
        p->ev.ban(p->ev.ctx, &b->addr, b->until_ms - b->created_ms, b->reason);
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p2p_addr_same_ip(&p->peers[i]->addr, a))
            p2p__drop(p, p->peers[i], "banned");
    return 0;
}

/* Adds to the peer's score; at P2P_BAN_SCORE it is dropped and its IP
 * banned. Returns true if the peer is gone. */
bool p2p__misbehave(struct p2p *p, struct peer *pe, int score, const char *reason)
{
    if (pe->dead)
        return true;
    pe->score += score;
    p->stats.misbehaviours++;
    if (p->ev.misbehaviour)
        p->ev.misbehaviour(p->ev.ctx, pe->id, &pe->addr, pe->score, reason);
    if (pe->score >= P2P_BAN_SCORE) {
        struct p2p_addr a = pe->addr;
        p2p__drop(p, pe, reason);
        p2p__ban_add(p, &a, 0, reason);
        return true;
    }
    return false;
}

int p2p_ban(struct p2p *p, const struct p2p_addr *addr, uint64_t duration_ms,
            const char *reason, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    int r = p2p__ban_add(p, addr, duration_ms, reason);
    p2p__sweep(p);
    return r;
}

int p2p_unban(struct p2p *p, const struct p2p_addr *addr)
{
    for (size_t i = 0; i < p->n_bans; i++) {
        if (p2p_addr_same_ip(&p->bans[i].addr, addr)) {
            p->bans[i] = p->bans[--p->n_bans];
            return 0;
        }
    }
    return P2P_ERR_NOT_FOUND;
}

void p2p_clear_bans(struct p2p *p)
{
    p->n_bans = 0;
}

bool p2p_is_banned(const struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    return p2p__ban_find(p, addr, now_ms) != NULL;
}

size_t p2p_list_bans(const struct p2p *p, struct p2p_ban_entry *out, size_t max,
                     uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_bans && n < max; i++)
        if (p->bans[i].until_ms > now_ms)
            out[n++] = p->bans[i];
    return n;
}
