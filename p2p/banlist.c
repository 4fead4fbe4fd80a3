/* Bans (operator, by IP or subnet) and discouragement (misbehaviour, a
 * rolling filter): the pure module first, then the core's use of it. See
 * banlist.h for the policy. */
#include "p2p/banlist.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/core.h"

int p2p_banlist_init(struct p2p_banlist *b, uint64_t salt)
{
    memset(b, 0, sizeof(*b));
    b->salt = salt;
    return p2p_filter_init(&b->discouraged, P2P_DISCOURAGE_GEN_ENTRIES);
}

void p2p_banlist_free(struct p2p_banlist *b)
{
    free(b->bans);
    p2p_filter_free(&b->discouraged);
    memset(b, 0, sizeof(*b));
}

static bool same_subnet(const struct p2p_ban_entry *e, const struct p2p_subnet *s)
{
    return e->bits == s->bits && memcmp(e->addr.ip, s->ip, 16) == 0;
}

static struct p2p_subnet entry_subnet(const struct p2p_ban_entry *e)
{
    struct p2p_subnet s = { .bits = e->bits };
    memcpy(s.ip, e->addr.ip, 16);
    return s;
}

int p2p_banlist_ban(struct p2p_banlist *b, const struct p2p_subnet *s, uint64_t now_ms,
                    uint64_t until_ms, const char *reason, struct p2p_ban_entry *out)
{
    if (s->bits > 128)
        return P2P_ERR_INVALID_ARG;
    struct p2p_ban_entry *e = NULL;
    for (size_t i = 0; i < b->n_bans && !e; i++)
        if (same_subnet(&b->bans[i], s))
            e = &b->bans[i];
    /* Reuse an expired slot next. */
    for (size_t i = 0; i < b->n_bans && !e; i++)
        if (b->bans[i].until_ms <= now_ms)
            e = &b->bans[i];
    if (!e) {
        if (b->n_bans >= P2P_MAX_BANS)
            return P2P_ERR_FULL;
        if (b->n_bans == b->cap_bans) {
            size_t cap = b->cap_bans ? 2 * b->cap_bans : 8;
            struct p2p_ban_entry *nb = p2p__realloc(b->bans, cap * sizeof(*nb));
            if (!nb)
                return P2P_ERR_NOMEM;
            b->bans = nb;
            b->cap_bans = cap;
        }
        e = &b->bans[b->n_bans++];
    }
    memset(e, 0, sizeof(*e));
    memcpy(e->addr.ip, s->ip, 16);
    e->bits = s->bits;
    e->created_ms = now_ms;
    e->until_ms = until_ms;
    snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "manual");
    if (out)
        *out = *e;
    return 0;
}

int p2p_banlist_unban(struct p2p_banlist *b, const struct p2p_subnet *s)
{
    for (size_t i = 0; i < b->n_bans; i++) {
        if (same_subnet(&b->bans[i], s)) {
            b->bans[i] = b->bans[--b->n_bans];
            return 0;
        }
    }
    return P2P_ERR_NOT_FOUND;
}

void p2p_banlist_clear(struct p2p_banlist *b)
{
    b->n_bans = 0;
}

const struct p2p_ban_entry *p2p_banlist_find(const struct p2p_banlist *b,
                                             const struct p2p_addr *a, uint64_t now_ms)
{
    for (size_t i = 0; i < b->n_bans; i++) {
        struct p2p_subnet s = entry_subnet(&b->bans[i]);
        if (b->bans[i].until_ms > now_ms && p2p_subnet_has(&s, a))
            return &b->bans[i];
    }
    return NULL;
}

size_t p2p_banlist_list(const struct p2p_banlist *b, struct p2p_ban_entry *out, size_t max,
                        uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_bans && n < max; i++)
        if (b->bans[i].until_ms > now_ms)
            out[n++] = b->bans[i];
    return n;
}

/* The filter key of an address: its IP (any port), salted. */
static uint64_t ip_id(const struct p2p_banlist *b, const struct p2p_addr *a)
{
    uint8_t key[32] = { 'd' };
    memcpy(key + 16, a->ip, 16);
    return p2p_shortid(b->salt, key);
}

void p2p_banlist_discourage(struct p2p_banlist *b, const struct p2p_addr *a)
{
    p2p_filter_add(&b->discouraged, ip_id(b, a));
}

bool p2p_banlist_is_discouraged(const struct p2p_banlist *b, const struct p2p_addr *a)
{
    return p2p_filter_has(&b->discouraged, ip_id(b, a));
}

void p2p_banlist_check(const struct p2p_banlist *b)
{
    assert(b->n_bans <= b->cap_bans || b->n_bans == 0);
    assert(b->n_bans <= P2P_MAX_BANS);
    for (size_t i = 0; i < b->n_bans; i++) {
        assert(b->bans[i].bits <= 128);
        struct p2p_subnet s = entry_subnet(&b->bans[i]);
        struct p2p_addr first = { .port = 0 };
        memcpy(first.ip, s.ip, 16);
        assert(p2p_subnet_has(&s, &first));   /* stored masked */
    }
    for (int g = 0; g < 2; g++)
        assert(b->discouraged.gen[g].count <= P2P_DISCOURAGE_GEN_ENTRIES);
}

/* ------------------------------------------------------------------ */
/* The core's use                                                      */

bool p2p__is_noban(const struct p2p *p, const struct p2p_addr *a)
{
    for (size_t i = 0; i < p->n_noban; i++)
        if (p2p_subnet_has(&p->noban[i], a))
            return true;
    return false;
}

static int ban_subnet(struct p2p *p, const struct p2p_subnet *s, uint64_t duration_ms,
                      const char *reason)
{
    struct p2p_ban_entry e;
    int err = p2p_banlist_ban(&p->bans, s, p->now,
                              p->now + (duration_ms ? duration_ms : p->ban_ms), reason, &e);
    if (err)
        return err;
    p->stats.bans++;
    if (p->ev.ban)
        p->ev.ban(p->ev.ctx, &e.addr, e.until_ms - e.created_ms, e.reason);
    for (size_t i = 0; i < p->n_peers; i++)
        if (!p->peers[i]->dead && p2p_subnet_has(s, &p->peers[i]->addr))
            p2p__drop(p, p->peers[i], "banned");
    return 0;
}

bool p2p__misbehave(struct p2p *p, struct peer *pe, int score, const char *reason)
{
    if (pe->dead)
        return true;
    pe->score += score;
    p->stats.misbehaviours++;
    if (p->ev.misbehaviour)
        p->ev.misbehaviour(p->ev.ctx, pe->id, &pe->addr, pe->score, reason);
    if (pe->score < P2P_BAN_SCORE || pe->noban)
        return false;   /* noban: the operator vouches for it (as Bitcoin's whitelist) */
    struct p2p_addr a = pe->addr;
    uint64_t id = pe->id;
    p2p__drop(p, pe, reason);
    /* Only this connection pays: others from the same IP stay. A local
     * address is never discouraged (it is every local process). */
    if (!p2p_addr_is_local(&a)) {
        p2p_banlist_discourage(&p->bans, &a);
        p->stats.discouraged++;
        if (p->ev.discouraged)
            p->ev.discouraged(p->ev.ctx, id, &a, reason);
    }
    return true;
}

static struct p2p_subnet one_ip(const struct p2p_addr *a)
{
    struct p2p_subnet s = { .bits = 128 };
    memcpy(s.ip, a->ip, 16);
    return s;
}

int p2p_ban(struct p2p *p, const struct p2p_addr *addr, uint64_t duration_ms,
            const char *reason, uint64_t now_ms)
{
    struct p2p_subnet s = one_ip(addr);
    return p2p_ban_subnet(p, &s, duration_ms, reason, now_ms);
}

int p2p_ban_subnet(struct p2p *p, const struct p2p_subnet *s, uint64_t duration_ms,
                   const char *reason, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    int r = ban_subnet(p, s, duration_ms, reason);
    p2p__sweep(p);
    return r;
}

int p2p_unban(struct p2p *p, const struct p2p_addr *addr)
{
    struct p2p_subnet s = one_ip(addr);
    return p2p_banlist_unban(&p->bans, &s);
}

int p2p_unban_subnet(struct p2p *p, const struct p2p_subnet *s)
{
    return p2p_banlist_unban(&p->bans, s);
}

void p2p_clear_bans(struct p2p *p)
{
    p2p_banlist_clear(&p->bans);
}

bool p2p_is_banned(const struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    return p2p_banlist_find(&p->bans, addr, now_ms) != NULL;
}

bool p2p_is_discouraged(const struct p2p *p, const struct p2p_addr *addr)
{
    return p2p_banlist_is_discouraged(&p->bans, addr);
}

int p2p_noban_add(struct p2p *p, const struct p2p_subnet *s)
{
    if (s->bits > 128)
        return P2P_ERR_INVALID_ARG;
    if (p->n_noban >= P2P_MAX_NOBAN_SUBNETS)
        return P2P_ERR_FULL;
    p->noban[p->n_noban++] = *s;
    for (size_t i = 0; i < p->n_peers; i++)
        if (p2p_subnet_has(s, &p->peers[i]->addr))
            p->peers[i]->noban = true;
    return 0;
}

size_t p2p_list_bans(const struct p2p *p, struct p2p_ban_entry *out, size_t max,
                     uint64_t now_ms)
{
    return p2p_banlist_list(&p->bans, out, max, now_ms);
}

size_t p2p_bans_import(struct p2p *p, const struct p2p_ban_entry *in, size_t n,
                       uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].until_ms <= p->now || in[i].bits > 128)
            continue;
        struct p2p_subnet s = { .bits = in[i].bits };
        memcpy(s.ip, in[i].addr.ip, 16);
        char reason[sizeof(in[i].reason)];
        memcpy(reason, in[i].reason, sizeof(reason));
        reason[sizeof(reason) - 1] = '\0';   /* not trusted to be terminated */
        struct p2p_ban_entry e;
        if (p2p_banlist_ban(&p->bans, &s, in[i].created_ms, in[i].until_ms, reason, &e) != 0)
            break;
        done++;
    }
    return done;
}
