/* The address book: discovery candidates with a salted hash index, addr
 * gossip (relay of new listening addresses) and getaddr answers. */
#include "p2p/core.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(P2P_ADDRBOOK_MAX_ENTRIES < UINT16_MAX, "book slot + 1 fits a u16 index cell");

static size_t book_home(const struct p2p *p, const struct p2p_addr *a)
{
    uint8_t key[32] = { 0 };
    memcpy(key, a->ip, 16);
    key[16] = (uint8_t)(a->port >> 8);
    key[17] = (uint8_t)a->port;
    return (size_t)p2p_shortid(p->salt, key) & p->book_idx_mask;
}

/* Looks a up in the index: true with *cell the cell naming its slot, or
 * false with *cell the empty cell that ends its probe run. */
static bool book_idx_find(const struct p2p *p, const struct p2p_addr *a, size_t *cell)
{
    for (size_t i = book_home(p, a);; i = (i + 1) & p->book_idx_mask) {
        uint16_t v = p->book_idx[i];
        *cell = i;
        if (v == 0)
            return false;
        if (p2p_addr_equal(&p->book[v - 1].addr, a))
            return true;
    }
}

/* The book slot holding a, or SIZE_MAX. */
size_t p2p__book_find(const struct p2p *p, const struct p2p_addr *a)
{
    size_t cell;
    if (!p->book_idx || !book_idx_find(p, a, &cell))
        return SIZE_MAX;
    return (size_t)p->book_idx[cell] - 1;
}

/* Indexes book slot `slot`, whose address is not indexed yet. */
static void book_idx_insert(struct p2p *p, size_t slot)
{
    size_t cell;
    bool found = book_idx_find(p, &p->book[slot].addr, &cell);
    assert(!found);
    (void)found;
    p->book_idx[cell] = (uint16_t)(slot + 1);
}

/* Unindexes book slot `slot` (its address still in place). Backward shift:
 * later cells of the run move into the hole unless their home lies
 * cyclically in (hole, cell], so no tombstones are needed. */
static void book_idx_remove(struct p2p *p, size_t slot)
{
    size_t i;
    bool found = book_idx_find(p, &p->book[slot].addr, &i);
    assert(found && p->book_idx[i] == slot + 1);
    (void)found;
    p->book_idx[i] = 0;
    for (size_t j = (i + 1) & p->book_idx_mask; p->book_idx[j]; j = (j + 1) & p->book_idx_mask) {
        size_t k = book_home(p, &p->book[p->book_idx[j] - 1].addr);
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        p->book_idx[i] = p->book_idx[j];
        p->book_idx[j] = 0;
        i = j;
    }
}

/* Grows the book to cap entries and rebuilds the index for it. On out
 * of memory nothing changes (the book keeps its capacity and evicts). */
static void book_grow(struct p2p *p, size_t cap)
{
    uint16_t *idx = p2p__calloc(2 * cap, sizeof(*idx));
    struct book_entry *nb = idx ? p2p__realloc(p->book, cap * sizeof(*nb)) : NULL;
    if (!nb) {
        free(idx);
        p2p__local_error(p, NULL, P2P_ERR_NOMEM);
        return;
    }
    p->book = nb;
    p->cap_book = cap;
    free(p->book_idx);
    p->book_idx = idx;
    p->book_idx_mask = 2 * cap - 1;
    for (size_t i = 0; i < p->n_book; i++)
        book_idx_insert(p, i);
}

/* Adds or refreshes an address. Only BOOK_ADDED means "new to us" for
 * relay: a full book cannot tell a new address from one it evicted, and
 * forwarding those would keep the flood alive for ever once the network
 * has more nodes than the book has room (each forward evicts another
 * address, which is then "new" again when it comes back). */
enum book_result p2p__book_add(struct p2p *p, const struct p2p_addr *a)
{
    if (a->port == 0)
        return BOOK_KNOWN;
    size_t at = p2p__book_find(p, a);
    if (at != SIZE_MAX) {
        p->book[at].seen_ms = p->now;
        return BOOK_KNOWN;
    }
    if (p->n_book == p->cap_book && p->cap_book < P2P_ADDRBOOK_MAX_ENTRIES) {
        /* Grows with use: a simulator runs thousands of cores. */
        size_t cap = p->cap_book ? 2 * p->cap_book : 16;
        if (cap > P2P_ADDRBOOK_MAX_ENTRIES)
            cap = P2P_ADDRBOOK_MAX_ENTRIES;
        book_grow(p, cap);
    }
    enum book_result r;
    if (p->n_book < p->cap_book) {
        at = p->n_book++;
        r = BOOK_ADDED;
    } else if (p->n_book == 0) {
        return BOOK_KNOWN;
    } else {
        at = (size_t)p2p_rng_below(&p->rng, p->n_book);   /* evict a random one */
        book_idx_remove(p, at);
        r = BOOK_REPLACED;
    }
    p->book[at].addr = *a;
    p->book[at].seen_ms = p->now;
    p->book[at].next_try_ms = 0;
    book_idx_insert(p, at);
    return r;
}

/* Forwards an address new to us to a few random peers (not its source),
 * so a node that joins is learnt beyond the peers it connected to. Only
 * addresses stored without an eviction (BOOK_ADDED) are forwarded, so a
 * node forwards each address at most once and none once its book is
 * full: the flood dies out at any network size. */
void p2p__relay_addr(struct p2p *p, const struct peer *from, const struct p2p_addr *a)
{
    struct p2p_addr_entry e = { .time = (uint32_t)(p->now / 1000), .services = P2P_SERVICES,
                                .addr = *a };
    for (unsigned k = 0; k < P2P_ADDR_RELAY_FANOUT; k++) {
        struct peer *pe = p2p__random_live_peer(p, false);
        if (!pe || pe == from || p2p_addr_equal(&pe->addr, a))
            continue;
        struct wr w;
        FRAME_START(w);
        p2p_put_addr(&w, &e, 1);
        p2p__frame_send(p, pe, P2P_CMD_ADDR, &w);
    }
}

/* The peer's addr token bucket (Bitcoin Core's m_addr_token_bucket):
 * one token per P2P_ADDR_TOKEN_INTERVAL_MS up to P2P_ADDR_TOKENS_MAX, and
 * P2P_ADDR_GETADDR_TOKENS more when we ask it for addresses. */
static void addr_refill(const struct p2p *p, struct peer *pe)
{
    uint64_t k = (p->now - pe->addr_refill_ms) / P2P_ADDR_TOKEN_INTERVAL_MS;
    if (k == 0)
        return;
    pe->addr_refill_ms += k * P2P_ADDR_TOKEN_INTERVAL_MS;
    if (pe->addr_tokens < P2P_ADDR_TOKENS_MAX)
        pe->addr_tokens = pe->addr_tokens + k > P2P_ADDR_TOKENS_MAX ? P2P_ADDR_TOKENS_MAX
                                                                    : pe->addr_tokens + k;
}

void p2p__addr_tokens_grant(struct p2p *p, struct peer *pe, uint64_t n)
{
    addr_refill(p, pe);
    pe->addr_tokens += n;
}

int p2p__handle_addr(struct p2p *p, struct peer *pe, const struct p2p_list *l)
{
    /* Small messages are gossip (a node announcing itself); large ones
     * answer our getaddr and are only stored. */
    bool relay = l->n <= P2P_ADDR_RELAY_MAX_ENTRIES;
    addr_refill(p, pe);
    for (size_t i = 0; i < l->n; i++) {
        struct p2p_addr_entry e;
        if (!pe->noban) {
            if (pe->addr_tokens == 0) {
                /* Out of tokens: the rest of the message is not looked at,
                 * so one flood cannot fill the book. */
                p->stats.addr_rate_limited += l->n - i;
                break;
            }
            pe->addr_tokens--;
        }
        p2p_addr_at(l, i, &e);
        if (p2p__book_add(p, &e.addr) == BOOK_ADDED && relay)
            p2p__relay_addr(p, pe, &e.addr);
    }
    return 0;
}

int p2p__handle_getaddr(struct p2p *p, struct peer *pe)
{
    if (pe->answered_getaddr)
        return 0;   /* once per connection, so it cannot map our book */
    pe->answered_getaddr = true;
    struct p2p_addr_entry *e = p2p__malloc(P2P_ADDR_RESPONSE_ENTRIES * sizeof(*e));
    if (!e)
        return P2P_ERR_NOMEM;
    size_t n = 0;
    size_t start = p->n_book ? (size_t)p2p_rng_below(&p->rng, p->n_book) : 0;
    for (size_t k = 0; k < p->n_book && n < P2P_ADDR_RESPONSE_ENTRIES; k++) {
        const struct book_entry *b = &p->book[(start + k) % p->n_book];
        if (p2p_addr_equal(&b->addr, &pe->addr))
            continue;
        e[n].time = (uint32_t)(b->seen_ms / 1000);
        e[n].services = P2P_SERVICES;
        e[n].addr = b->addr;
        n++;
    }
    struct wr w;
    FRAME_START(w);
    p2p_put_addr(&w, e, n);
    p2p__frame_send(p, pe, P2P_CMD_ADDR, &w);
    free(e);
    return 0;
}

void p2p_addrbook_add(struct p2p *p, const struct p2p_addr *addr, uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    p2p__book_add(p, addr);
}

size_t p2p_addrbook_get(const struct p2p *p, struct p2p_addr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_book && n < max; i++)
        out[n++] = p->book[i].addr;
    return n;
}

void p2p__addrbook_check(const struct p2p *p)
{
    assert(p->n_book <= p->cap_book && p->cap_book <= P2P_ADDRBOOK_MAX_ENTRIES);
    /* The index holds each book slot exactly once, where a lookup of its
     * address finds it; so book addresses are distinct too. */
    assert(p->cap_book == 0 || (p->book_idx && p->book_idx_mask + 1 == 2 * p->cap_book));
    size_t indexed = 0;
    for (size_t i = 0; p->book_idx && i <= p->book_idx_mask; i++) {
        if (p->book_idx[i] == 0)
            continue;
        assert(p->book_idx[i] <= p->n_book);
        indexed++;
    }
    assert(indexed == p->n_book);
    for (size_t i = 0; i < p->n_book; i++)
        assert(p2p__book_find(p, &p->book[i].addr) == i);
}

size_t p2p_addrbook_export(const struct p2p *p, struct p2p_addr_record *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_book && n < max; i++) {
        out[n].addr = p->book[i].addr;
        out[n].seen_ms = p->book[i].seen_ms;
        n++;
    }
    return n;
}

size_t p2p_addrbook_import(struct p2p *p, const struct p2p_addr_record *in, size_t n,
                           uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        p2p__book_add(p, &in[i].addr);
        size_t at = p2p__book_find(p, &in[i].addr);
        if (at == SIZE_MAX)
            continue;
        if (in[i].seen_ms <= p->now)
            p->book[at].seen_ms = in[i].seen_ms;
        stored++;
    }
    return stored;
}
