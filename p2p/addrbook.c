/* The address manager, after Bitcoin Core's addrman: discovery candidates
 * in a "new" table (heard of) and a "tried" table (we reached them
 * outbound), each of buckets of P2P_ADDRMAN_BUCKET_SLOTS cells chosen by
 * keyed hashes, so one source of addresses can reach only a few new
 * buckets and a flood cannot push out the peers we reached before; plus
 * addr gossip (relay of new listening addresses) and getaddr answers.
 *
 * Storage grows with use (a simulator runs thousands of cores): entries
 * live in one array, the tried ones first ([0, n_tried)), then the new
 * ones, so a uniform pick in either table is one random index. The
 * tables themselves are not arrays: each entry records its cell, and a
 * second hash index (cell -> entry) beside the address index answers
 * "who holds this cell". Both indexes share one allocation of
 * 4 * cap_book u16 (2 * cap_book cells each, load <= 1/2). */
#include "p2p/core.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NEW_CELLS (P2P_ADDRMAN_NEW_BUCKETS * P2P_ADDRMAN_BUCKET_SLOTS)

_Static_assert(P2P_ADDRBOOK_MAX_ENTRIES < UINT16_MAX, "book slot + 1 fits a u16 index cell");

enum { IDX_ADDR, IDX_CELL };

static uint16_t *idx_of(const struct p2p *p, int kind)
{
    return p->book_idx + (kind == IDX_CELL ? p->book_idx_mask + 1 : 0);
}

/* ---- keyed placement ---- */

/* The group addresses are bucketed by: p2p_addr_netgroup, except that a
 * loopback or RFC 1918 IPv4 address is a group of its own. Those are
 * only reachable inside one machine or one private network, whose owner
 * decides who is there (tests, the simulator and private testnets put
 * every node in 10/8 or 127/8, which would otherwise be one group of
 * P2P_ADDRMAN_BUCKET_SLOTS addresses at most). */
static uint64_t book_group(const struct p2p_addr *a)
{
    if (p2p_addr_is_ipv4(a)) {
        const uint8_t *v4 = a->ip + 12;
        if (v4[0] == 127 || v4[0] == 10 || (v4[0] == 172 && (v4[1] & 0xf0) == 16)
            || (v4[0] == 192 && v4[1] == 168))
            return 5ull << 56 | (uint64_t)v4[0] << 24 | (uint64_t)v4[1] << 16
                   | (uint64_t)v4[2] << 8 | v4[3];
    }
    return p2p_addr_netgroup(a);
}

uint64_t p2p_addrbook_group(const struct p2p_addr *a)
{
    return book_group(a);
}

/* Keyed hashes (the key is p->salt, secret, drawn from the core's rng at
 * p2p_create); the tag byte separates their uses. */
static uint64_t hash_addr(const struct p2p *p, uint8_t tag, const struct p2p_addr *a)
{
    uint8_t key[32] = { 0 };
    memcpy(key, a->ip, 16);
    key[16] = (uint8_t)(a->port >> 8);
    key[17] = (uint8_t)a->port;
    key[18] = tag;
    return p2p_shortid(p->salt, key);
}

static uint64_t hash_mix(const struct p2p *p, uint8_t tag, uint64_t x, uint64_t y)
{
    uint8_t key[32] = { 0 };
    key[0] = tag;
    for (int i = 0; i < 8; i++) {
        key[8 + i] = (uint8_t)(x >> (8 * i));
        key[16 + i] = (uint8_t)(y >> (8 * i));
    }
    return p2p_shortid(p->salt, key);
}

/* The P2P_ADDRMAN_SLOT_CHOICES cells an address may take in its bucket
 * (first = bucket's first cell), by a keyed hash h of the address. Two
 * choices instead of one leave the bucket bound as it is and make two
 * addresses that want one slot rare (a birthday collision in a bucket of
 * 16 drops an honest address in a book of a handful). */
static void cell_choices(uint64_t first, uint64_t h, uint16_t out[P2P_ADDRMAN_SLOT_CHOICES])
{
    for (unsigned i = 0; i < P2P_ADDRMAN_SLOT_CHOICES; i++) {
        out[i] = (uint16_t)(first + h % P2P_ADDRMAN_BUCKET_SLOTS);
        h /= P2P_ADDRMAN_BUCKET_SLOTS;
    }
}

/* The new-table cells of a heard from a source of group src_group: in
 * one of P2P_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP buckets of that source
 * (by the address's group, so one source's addresses of one group share
 * a bucket), slots by the address. */
static void new_cells(const struct p2p *p, const struct p2p_addr *a, uint64_t src_group,
                      uint16_t out[P2P_ADDRMAN_SLOT_CHOICES])
{
    uint64_t k = hash_mix(p, 'n', book_group(a), src_group)
                 % P2P_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP;
    uint64_t bucket = hash_mix(p, 'N', src_group, k) % P2P_ADDRMAN_NEW_BUCKETS;
    cell_choices(bucket * P2P_ADDRMAN_BUCKET_SLOTS, hash_mix(p, 'S', bucket, hash_addr(p, 's', a)),
                 out);
}

/* The tried-table cells of a: in one of P2P_ADDRMAN_TRIED_BUCKETS_PER_GROUP
 * buckets of its group, slots by the address. */
static void tried_cells(const struct p2p *p, const struct p2p_addr *a,
                        uint16_t out[P2P_ADDRMAN_SLOT_CHOICES])
{
    uint64_t k = hash_addr(p, 't', a) % P2P_ADDRMAN_TRIED_BUCKETS_PER_GROUP;
    uint64_t bucket = hash_mix(p, 'T', book_group(a), k) % P2P_ADDRMAN_TRIED_BUCKETS;
    cell_choices(NEW_CELLS + bucket * P2P_ADDRMAN_BUCKET_SLOTS,
                 hash_mix(p, 'U', bucket, hash_addr(p, 'u', a)), out);
}

static bool cell_is_tried(uint16_t cell)
{
    return cell >= NEW_CELLS;
}

/* ---- the two indexes ---- */

static size_t cell_home(const struct p2p *p, uint16_t cell)
{
    /* Cells are keyed-hash outputs already: a multiplicative spread does. */
    return (size_t)(((uint64_t)cell * 0x9e3779b97f4a7c15ull) >> 32) & p->book_idx_mask;
}

static size_t home_of(const struct p2p *p, int kind, size_t slot)
{
    const struct book_entry *b = &p->book[slot];
    if (kind == IDX_CELL)
        return cell_home(p, b->cell);
    return (size_t)hash_addr(p, 0, &b->addr) & p->book_idx_mask;
}

/* The book slot holding a, or SIZE_MAX. */
size_t p2p__book_find(const struct p2p *p, const struct p2p_addr *a)
{
    if (!p->book_idx)
        return SIZE_MAX;
    const uint16_t *idx = idx_of(p, IDX_ADDR);
    for (size_t i = (size_t)hash_addr(p, 0, a) & p->book_idx_mask;;
         i = (i + 1) & p->book_idx_mask) {
        if (idx[i] == 0)
            return SIZE_MAX;
        if (p2p_addr_equal(&p->book[idx[i] - 1].addr, a))
            return (size_t)idx[i] - 1;
    }
}

/* The slot of the entry in table cell `cell`, or SIZE_MAX. */
static size_t cell_find(const struct p2p *p, uint16_t cell)
{
    if (!p->book_idx)
        return SIZE_MAX;
    const uint16_t *idx = idx_of(p, IDX_CELL);
    for (size_t i = cell_home(p, cell);; i = (i + 1) & p->book_idx_mask) {
        if (idx[i] == 0)
            return SIZE_MAX;
        if (p->book[idx[i] - 1].cell == cell)
            return (size_t)idx[i] - 1;
    }
}

static void idx_insert(struct p2p *p, int kind, size_t slot)
{
    uint16_t *idx = idx_of(p, kind);
    size_t i = home_of(p, kind, slot);
    while (idx[i])
        i = (i + 1) & p->book_idx_mask;
    idx[i] = (uint16_t)(slot + 1);
}

/* Unindexes book slot `slot` (its entry still in place). The cell naming
 * the slot is found by value, so two entries may name one table cell for
 * a moment (a tried collision in p2p__book_good). Backward shift: later
 * cells of the run move into the hole unless their home lies cyclically
 * in (hole, cell], so no tombstones are needed. */
static void idx_remove(struct p2p *p, int kind, size_t slot)
{
    uint16_t *idx = idx_of(p, kind);
    size_t i = home_of(p, kind, slot);
    while (idx[i] != slot + 1) {
        assert(idx[i] != 0);
        i = (i + 1) & p->book_idx_mask;
    }
    idx[i] = 0;
    for (size_t j = (i + 1) & p->book_idx_mask; idx[j]; j = (j + 1) & p->book_idx_mask) {
        size_t k = home_of(p, kind, (size_t)idx[j] - 1);
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        idx[i] = idx[j];
        idx[j] = 0;
        i = j;
    }
}

static void slot_index(struct p2p *p, size_t slot)
{
    idx_insert(p, IDX_ADDR, slot);
    idx_insert(p, IDX_CELL, slot);
}

static void slot_unindex(struct p2p *p, size_t slot)
{
    idx_remove(p, IDX_ADDR, slot);
    idx_remove(p, IDX_CELL, slot);
}

/* ---- slots: tried entries first, then new ones ---- */

static void slot_swap(struct p2p *p, size_t i, size_t j)
{
    if (i == j)
        return;
    slot_unindex(p, i);
    slot_unindex(p, j);
    struct book_entry t = p->book[i];
    p->book[i] = p->book[j];
    p->book[j] = t;
    slot_index(p, i);
    slot_index(p, j);
}

/* Forgets the entry in slot s (other slots may move). */
static void slot_delete(struct p2p *p, size_t s)
{
    if (s < p->n_tried) {
        slot_swap(p, s, p->n_tried - 1);
        s = --p->n_tried;
    }
    slot_swap(p, s, p->n_book - 1);
    slot_unindex(p, p->n_book - 1);
    p->n_book--;
}

/* Moves the entry in slot s to table cell `cell` (into the other table
 * if the cell is there); returns its slot then. */
static size_t slot_place(struct p2p *p, size_t s, uint16_t cell)
{
    idx_remove(p, IDX_CELL, s);
    p->book[s].cell = cell;
    idx_insert(p, IDX_CELL, s);
    bool was_tried = s < p->n_tried;
    if (cell_is_tried(cell) && !was_tried) {
        slot_swap(p, s, p->n_tried);
        return p->n_tried++;
    }
    if (!cell_is_tried(cell) && was_tried) {
        slot_swap(p, s, p->n_tried - 1);
        return --p->n_tried;
    }
    return s;
}

/* Grows the book to cap entries and rebuilds the indexes for it. On out
 * of memory nothing changes. */
static void book_grow(struct p2p *p, size_t cap)
{
    uint16_t *idx = p2p__calloc(4 * cap, sizeof(*idx));
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
        slot_index(p, i);
}

/* Room for one more entry (false: out of memory). Every entry holds its
 * own table cell, so the book never needs more than the cells. */
static bool book_reserve(struct p2p *p)
{
    if (p->n_book < p->cap_book)
        return true;
    if (p->cap_book < P2P_ADDRBOOK_MAX_ENTRIES) {
        size_t cap = p->cap_book ? 2 * p->cap_book : 16;
        book_grow(p, cap > P2P_ADDRBOOK_MAX_ENTRIES ? P2P_ADDRBOOK_MAX_ENTRIES : cap);
    }
    return p->n_book < p->cap_book;
}

/* Appends a new entry in table cell `cell`; returns its slot. */
static size_t slot_append(struct p2p *p, const struct p2p_addr *a, uint64_t src_group,
                          uint16_t cell)
{
    size_t s = p->n_book++;
    p->book[s] = (struct book_entry){ .addr = *a, .cell = cell, .seen_ms = p->now,
                                      .src_group = src_group };
    slot_index(p, s);
    if (cell_is_tried(cell)) {
        slot_swap(p, s, p->n_tried);
        s = p->n_tried++;
    }
    return s;
}

/* Not worth a cell: not heard of for P2P_ADDRMAN_HORIZON_MS, or failed
 * P2P_ADDRMAN_MAX_FAILURES dials in a row. */
static bool terrible(const struct p2p *p, const struct book_entry *b)
{
    return (b->seen_ms < p->now && p->now - b->seen_ms > P2P_ADDRMAN_HORIZON_MS)
           || b->fails >= P2P_ADDRMAN_MAX_FAILURES;
}

/* ---- the address manager's operations ---- */

/* The cell of choices c to take: a free one, else one whose holder is
 * terrible, else the first; *holder is the slot holding it or SIZE_MAX. */
static uint16_t cell_pick(const struct p2p *p, const uint16_t c[P2P_ADDRMAN_SLOT_CHOICES],
                          size_t *holder)
{
    size_t h[P2P_ADDRMAN_SLOT_CHOICES];
    for (unsigned i = 0; i < P2P_ADDRMAN_SLOT_CHOICES; i++) {
        h[i] = cell_find(p, c[i]);
        if (h[i] == SIZE_MAX) {
            *holder = SIZE_MAX;
            return c[i];
        }
    }
    for (unsigned i = 0; i < P2P_ADDRMAN_SLOT_CHOICES; i++) {
        if (terrible(p, &p->book[h[i]])) {
            *holder = h[i];
            return c[i];
        }
    }
    *holder = h[0];
    return c[0];
}

static bool cell_is_choice(uint16_t cell, const uint16_t c[P2P_ADDRMAN_SLOT_CHOICES])
{
    for (unsigned i = 0; i < P2P_ADDRMAN_SLOT_CHOICES; i++)
        if (c[i] == cell)
            return true;
    return false;
}

/* Adds or refreshes an address heard from a source of group src_group.
 * A new address takes its new-table cell if that is free or holds a
 * terrible entry; otherwise the entry there stays (the older one wins:
 * addresses heard now are all equally fresh, so "fresher" would let any
 * source that shares a bucket push the others out) and a is dropped.
 * Only BOOK_ADDED means "new to us" for relay: a node that cannot store
 * an address cannot tell new from dropped, and forwarding those would
 * keep the flood alive for ever once the network has more nodes than
 * the tables have room (see p2p__relay_addr). */
enum book_result p2p__book_add_from(struct p2p *p, const struct p2p_addr *a, uint64_t src_group)
{
    if (a->port == 0)
        return BOOK_KNOWN;
    size_t at = p2p__book_find(p, a);
    if (at != SIZE_MAX) {
        p->book[at].seen_ms = p->now;
        return BOOK_KNOWN;
    }
    uint16_t c[P2P_ADDRMAN_SLOT_CHOICES];
    new_cells(p, a, src_group, c);
    size_t o;
    uint16_t cell = cell_pick(p, c, &o);
    enum book_result r = BOOK_ADDED;
    if (o != SIZE_MAX) {
        if (!terrible(p, &p->book[o]))
            return BOOK_COLLIDED;
        slot_delete(p, o);
        r = BOOK_REPLACED;
    }
    if (!book_reserve(p))
        return BOOK_KNOWN;
    slot_append(p, a, src_group, cell);
    return r;
}

enum book_result p2p__book_add(struct p2p *p, const struct p2p_addr *a)
{
    return p2p__book_add_from(p, a, book_group(a));
}

/* An outbound handshake with a finished: it moves to the tried table. If
 * its tried cell is held, the holder goes back to the new table (to its
 * new cell, which it takes over) rather than being tested first (Bitcoin
 * Core's test-before-evict): the tried table is filled only by our own
 * successful dials, which an attacker gets only by being where we dial,
 * and the one sent back stays a candidate in the new table. */
void p2p__book_good(struct p2p *p, const struct p2p_addr *a)
{
    if (a->port == 0)
        return;
    size_t s = p2p__book_find(p, a);
    if (s == SIZE_MAX || s >= p->n_tried) {
        uint16_t c[P2P_ADDRMAN_SLOT_CHOICES];
        tried_cells(p, a, c);
        size_t o;
        uint16_t t = cell_pick(p, c, &o);
        struct book_entry old = o != SIZE_MAX ? p->book[o] : (struct book_entry){ .cell = 0 };
        if (s == SIZE_MAX) {
            if (!book_reserve(p))
                return;
            slot_append(p, a, book_group(a), t);
        } else {
            slot_place(p, s, t);
        }
        if (o != SIZE_MAX) {
            new_cells(p, &old.addr, old.src_group, c);
            size_t x;
            uint16_t nc = cell_pick(p, c, &x);   /* a tried entry outranks any new one */
            if (x != SIZE_MAX)
                slot_delete(p, x);
            slot_place(p, p2p__book_find(p, &old.addr), nc);
        }
        s = p2p__book_find(p, a);
    }
    p->book[s].seen_ms = p->now;
    p->book[s].fails = 0;
}

void p2p__book_failed(struct p2p *p, const struct p2p_addr *a)
{
    size_t s = p2p__book_find(p, a);
    if (s != SIZE_MAX && p->book[s].fails < UINT8_MAX)
        p->book[s].fails++;
}

/* A candidate to dial: the tried or the new table with even odds (the
 * other if one is empty), then a uniform entry of it; SIZE_MAX if the
 * book is empty. Uniform over entries is uniform over held cells, so a
 * source confined to a few buckets gets at most its share of cells. */
size_t p2p__book_pick(struct p2p *p)
{
    size_t n_new = p->n_book - p->n_tried;
    if (p->n_book == 0)
        return SIZE_MAX;
    bool tried = p->n_tried && (n_new == 0 || p2p_rng_below(&p->rng, 2));
    return tried ? (size_t)p2p_rng_below(&p->rng, p->n_tried)
                 : p->n_tried + (size_t)p2p_rng_below(&p->rng, n_new);
}

/* Forwards an address new to us to a few random peers (not its source),
 * so a node that joins is learnt beyond the peers it connected to. Only
 * addresses stored in a free cell (BOOK_ADDED) are forwarded, so a node
 * forwards each address at most once and none once its cells for that
 * source are taken: the flood dies out at any network size. */
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
    uint64_t src = book_group(&pe->addr);   /* the new buckets it may reach */
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
        if (p2p__book_add_from(p, &e.addr, src) == BOOK_ADDED && relay)
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
    assert(p->n_tried <= p->n_book && p->n_book <= p->cap_book
           && p->cap_book <= P2P_ADDRBOOK_MAX_ENTRIES);
    assert(p->cap_book == 0 || (p->book_idx && p->book_idx_mask + 1 == 2 * p->cap_book));
    /* Each index holds each book slot exactly once, where a lookup finds
     * it: so addresses are distinct, and so are the cells they hold. */
    for (int kind = IDX_ADDR; kind <= IDX_CELL && p->book_idx; kind++) {
        const uint16_t *idx = idx_of(p, kind);
        size_t indexed = 0;
        for (size_t i = 0; i <= p->book_idx_mask; i++) {
            assert(idx[i] <= p->n_book);
            indexed += idx[i] != 0;
        }
        assert(indexed == p->n_book);
    }
    for (size_t i = 0; i < p->n_book; i++) {
        const struct book_entry *b = &p->book[i];
        assert(p2p__book_find(p, &b->addr) == i);
        assert(cell_find(p, b->cell) == i);
        /* Tried entries first, each in a cell its hashes name. */
        assert(cell_is_tried(b->cell) == (i < p->n_tried));
        uint16_t c[P2P_ADDRMAN_SLOT_CHOICES];
        if (cell_is_tried(b->cell))
            tried_cells(p, &b->addr, c);
        else
            new_cells(p, &b->addr, b->src_group, c);
        assert(cell_is_choice(b->cell, c));
    }
}

size_t p2p_addrbook_export(const struct p2p *p, struct p2p_addr_record *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_book && n < max; i++) {
        out[n] = (struct p2p_addr_record){ .addr = p->book[i].addr,
                                           .seen_ms = p->book[i].seen_ms,
                                           .tried = i < p->n_tried,
                                           .source_group = p->book[i].src_group };
        n++;
    }
    return n;
}

/* Saved entries are placed again with this core's key rather than the
 * key saved with them: the key never leaves the core (a copy of the book
 * says nothing about where an address would go), and the bounds per
 * source group hold for any key. A few entries may collide on the way
 * in and be dropped (new) or go back to new (tried). */
size_t p2p_addrbook_import(struct p2p *p, const struct p2p_addr_record *in, size_t n,
                           uint64_t now_ms)
{
    p2p__set_now(p, now_ms);
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        const struct p2p_addr_record *r = &in[i];
        if (r->addr.port == 0)
            continue;
        if (r->tried)
            p2p__book_good(p, &r->addr);
        else
            p2p__book_add_from(p, &r->addr,
                               r->source_group ? r->source_group : book_group(&r->addr));
        size_t at = p2p__book_find(p, &r->addr);
        if (at == SIZE_MAX)
            continue;
        if (r->seen_ms <= p->now)
            p->book[at].seen_ms = r->seen_ms;
        stored++;
    }
    return stored;
}
