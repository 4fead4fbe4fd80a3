/* Bans and discouragement, a pure module (no core, no clock of its own).
 *
 * Two different things, as Bitcoin Core has since 0.20:
 * - A ban is an operator's decision (setban): an IP or a CIDR subnet is
 *   refused, inbound and outbound, until it expires. The table is bounded
 *   (P2P_MAX_BANS) but only the operator fills it.
 * - Discouragement is what misbehaviour earns: the address (IP) goes into
 *   a rolling filter of P2P_DISCOURAGE_GEN_ENTRIES per generation (two
 *   generations, salted ids). A discouraged address may still connect
 *   while inbound slots are free and is the first evicted; it is not
 *   dialled. The filter has no ceiling: adding always works, the oldest
 *   entries are forgotten first, so an attacker who discourages itself
 *   from many addresses only ages out old entries, it never stops new
 *   ones from being recorded. Other connections from the same IP are not
 *   touched (they may be honest peers behind the same NAT, or localhost). */
#ifndef GOSSIPD_P2P_BANLIST_H
#define GOSSIPD_P2P_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/p2p.h"
#include "p2p/util.h"

struct p2p_banlist {
    struct p2p_ban_entry *bans;
    size_t n_bans, cap_bans;
    struct p2p_filter discouraged;
    uint64_t salt;
};

/* 0 or P2P_ERR_NOMEM. salt: the node's secret (keys the filter). */
int p2p_banlist_init(struct p2p_banlist *b, uint64_t salt);
void p2p_banlist_free(struct p2p_banlist *b);

/* Bans subnet s until until_ms (replacing a ban of the same subnet).
 * Returns 0, P2P_ERR_FULL (P2P_MAX_BANS live bans), P2P_ERR_NOMEM or
 * P2P_ERR_INVALID_ARG (bits > 128). *out (may be NULL) gets the entry. */
int p2p_banlist_ban(struct p2p_banlist *b, const struct p2p_subnet *s, uint64_t now_ms,
                    uint64_t until_ms, const char *reason, struct p2p_ban_entry *out);
/* Removes the ban of exactly subnet s: 0 or P2P_ERR_NOT_FOUND. */
int p2p_banlist_unban(struct p2p_banlist *b, const struct p2p_subnet *s);
void p2p_banlist_clear(struct p2p_banlist *b);
/* The live ban covering a's IP, or NULL. Borrowed until the next change. */
const struct p2p_ban_entry *p2p_banlist_find(const struct p2p_banlist *b,
                                             const struct p2p_addr *a, uint64_t now_ms);
/* Copies up to max live bans; returns the count written. */
size_t p2p_banlist_list(const struct p2p_banlist *b, struct p2p_ban_entry *out, size_t max,
                        uint64_t now_ms);

/* Records a's IP as discouraged (never fails: memory is bounded and, out
 * of memory, the filter keeps what it has). */
void p2p_banlist_discourage(struct p2p_banlist *b, const struct p2p_addr *a);
bool p2p_banlist_is_discouraged(const struct p2p_banlist *b, const struct p2p_addr *a);

/* Asserts the invariants. */
void p2p_banlist_check(const struct p2p_banlist *b);

#endif
