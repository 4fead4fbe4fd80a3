/* What the p2p core knows about other nodes, kept across restarts in three
 * text files of the datadir (the core does no I/O: it exports and imports
 * plain copies, p2p.h "Persistence"):
 *
 *   banlist.dat  "SUBNET CREATED_MS UNTIL_MS REASON" a line: the bans
 *                (setban), written at each change, every
 *                NODE_SAVE_INTERVAL_MS and at a clean stop
 *   peers.dat    "ADDR SEEN_MS TABLE SOURCE_GROUP" a line: the address
 *                manager (TABLE "tried" or "new", SOURCE_GROUP the
 *                p2p_addrbook_group of who told us, hex), every
 *                NODE_SAVE_INTERVAL_MS and at a clean stop. A v1 file
 *                ("ADDR SEEN_MS" lines) still loads: its addresses go to
 *                the new table as heard from themselves.
 *   anchors.dat  "ADDR" a line: the longest-held outbound peers, at a
 *                clean stop; read once at start (then removed) and dialled
 *                first, as Bitcoin Core's anchors.dat
 *
 * Each starts with a "# gossipd FILE v1" line and is written as a temporary
 * file, fsync, rename, fsync of the directory, so a crash leaves the old
 * file or the new one. Reading is bounded (a line is at most
 * NODE_PEERS_LINE_MAX bytes, entries at most the core's caps) and a line
 * that does not parse is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node.h"

#define NODE_BANLIST_FILE "banlist.dat"
#define NODE_PEERS_FILE "peers.dat"
#define NODE_ANCHORS_FILE "anchors.dat"
#define NODE_PEERS_LINE_MAX 160

int node_file_write_atomic(struct node *n, const char *name,
                           bool (*emit)(FILE *f, void *ctx), void *ctx)
{
    char path[NODE_CONFIG_PATH_MAX + 32], tmp[NODE_CONFIG_PATH_MAX + 40];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        goto fail;
    bool ok = emit(f, ctx);
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        goto fail;
    int dfd = open(n->cfg.datadir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
fail:;
    int err = errno;
    NODE_LOG(&n->log, NODE_LOG_ERROR, NODE_LOG_CAT_NONE, "file_save_failed",
             LF_STR("path", path), LF_STR("reason", strerror(err)));
    unlink(tmp);
    return -err;
}

/* ---- writing ---- */

static bool emit_bans(FILE *f, void *ctx)
{
    struct node *n = ctx;
    static struct p2p_ban_entry bans[P2P_MAX_BANS];   /* loop thread only */
    size_t k = p2p_list_bans(n->p2p, bans, P2P_MAX_BANS, node_now_ms());
    bool ok = fprintf(f, "# gossipd %s v1\n", NODE_BANLIST_FILE) > 0;
    for (size_t i = 0; i < k && ok; i++) {
        struct p2p_subnet s;
        char str[P2P_ADDR_STRLEN];
        memcpy(s.ip, bans[i].addr.ip, 16);
        s.bits = bans[i].bits;
        p2p_subnet_format(&s, str);
        ok = fprintf(f, "%s %" PRIu64 " %" PRIu64 " %s\n", str, bans[i].created_ms,
                     bans[i].until_ms, bans[i].reason) > 0;
    }
    return ok;
}

static bool emit_book(FILE *f, void *ctx)
{
    struct node *n = ctx;
    static struct p2p_addr_record book[P2P_ADDRBOOK_MAX_ENTRIES];   /* loop thread only */
    size_t k = p2p_addrbook_export(n->p2p, book, P2P_ADDRBOOK_MAX_ENTRIES);
    bool ok = fprintf(f, "# gossipd %s v2\n", NODE_PEERS_FILE) > 0;
    for (size_t i = 0; i < k && ok; i++) {
        char str[P2P_ADDR_STRLEN];
        p2p_addr_format(&book[i].addr, str);
        ok = fprintf(f, "%s %" PRIu64 " %s %" PRIx64 "\n", str, book[i].seen_ms,
                     book[i].tried ? "tried" : "new", book[i].source_group) > 0;
    }
    return ok;
}

static bool emit_anchors(FILE *f, void *ctx)
{
    struct node *n = ctx;
    struct p2p_addr a[P2P_MAX_ANCHORS];
    size_t k = p2p_anchors_get(n->p2p, a, P2P_MAX_ANCHORS);
    bool ok = fprintf(f, "# gossipd %s v1\n", NODE_ANCHORS_FILE) > 0;
    for (size_t i = 0; i < k && ok; i++) {
        char str[P2P_ADDR_STRLEN];
        p2p_addr_format(&a[i], str);
        ok = fprintf(f, "%s\n", str) > 0;
    }
    return ok;
}

void node_bans_save(struct node *n)
{
    node_file_write_atomic(n, NODE_BANLIST_FILE, emit_bans, n);
}

void node_peers_save(struct node *n, bool at_stop)
{
    node_bans_save(n);
    node_file_write_atomic(n, NODE_PEERS_FILE, emit_book, n);
    if (at_stop)
        node_file_write_atomic(n, NODE_ANCHORS_FILE, emit_anchors, n);
}

/* ---- reading ---- */

/* Calls fn for each line of DATADIR/name but comments, up to max lines
 * taken (fn returns true when it took one). Returns lines taken, skipped
 * in *bad. */
static size_t read_lines(struct node *n, const char *name, size_t max,
                         bool (*fn)(char *line, void *ctx, size_t i), void *ctx, size_t *bad)
{
    char path[NODE_CONFIG_PATH_MAX + 32], line[NODE_PEERS_LINE_MAX];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, name);
    *bad = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t taken = 0;
    while (taken < max && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        if (line[len] == '\0' && !feof(f)) {   /* over-long: skip the rest of it */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            (*bad)++;
            continue;
        }
        line[len] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (fn(line, ctx, taken))
            taken++;
        else
            (*bad)++;
    }
    fclose(f);
    return taken;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || (*end && *end != ' '))
        return false;
    *v = x;
    return true;
}

static bool take_ban(char *line, void *ctx, size_t i)
{
    struct p2p_ban_entry *e = &((struct p2p_ban_entry *)ctx)[i];
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;
    struct p2p_subnet s;
    if (!sp3)
        return false;
    *sp1 = '\0';
    if (p2p_subnet_parse(&s, line) != 0 || !parse_u64(sp1 + 1, &e->created_ms) ||
        !parse_u64(sp2 + 1, &e->until_ms))
        return false;
    memset(&e->addr, 0, sizeof e->addr);
    memcpy(e->addr.ip, s.ip, 16);
    e->bits = s.bits;
    snprintf(e->reason, sizeof e->reason, "%s", sp3 + 1);
    return true;
}

/* "ADDR SEEN_MS TABLE SOURCE_GROUP" (v2) or "ADDR SEEN_MS" (v1). */
static bool take_book(char *line, void *ctx, size_t i)
{
    struct p2p_addr_record *r = &((struct p2p_addr_record *)ctx)[i];
    memset(r, 0, sizeof(*r));
    char *sp = strchr(line, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    if (p2p_addr_parse(&r->addr, line, 0) != 0 || r->addr.port == 0 ||
        !parse_u64(sp + 1, &r->seen_ms))
        return false;
    char *table = strchr(sp + 1, ' ');
    if (!table)
        return true;   /* v1 */
    table++;
    char *grp = strchr(table, ' ');
    if (!grp)
        return false;
    *grp++ = '\0';
    if (strcmp(table, "tried") != 0 && strcmp(table, "new") != 0)
        return false;
    r->tried = table[0] == 't';
    char *end;
    errno = 0;
    unsigned long long g = strtoull(grp, &end, 16);
    if (errno || end == grp || *end)
        return false;
    r->source_group = g;
    return true;
}

static bool take_anchor(char *line, void *ctx, size_t i)
{
    struct p2p_addr *a = &((struct p2p_addr *)ctx)[i];
    return p2p_addr_parse(a, line, 0) == 0 && a->port != 0;
}

void node_peers_load(struct node *n)
{
    static struct p2p_ban_entry bans[P2P_MAX_BANS];
    static struct p2p_addr_record book[P2P_ADDRBOOK_MAX_ENTRIES];
    struct p2p_addr anchors[P2P_MAX_ANCHORS];
    size_t bad_bans, bad_book, bad_anchors;
    uint64_t now = node_now_ms();
    size_t nb = read_lines(n, NODE_BANLIST_FILE, P2P_MAX_BANS, take_ban, bans, &bad_bans);
    size_t bans_kept = p2p_bans_import(n->p2p, bans, nb, now);
    size_t na = read_lines(n, NODE_PEERS_FILE, P2P_ADDRBOOK_MAX_ENTRIES, take_book, book,
                           &bad_book);
    size_t book_kept = p2p_addrbook_import(n->p2p, book, na, now);
    size_t nk = read_lines(n, NODE_ANCHORS_FILE, P2P_MAX_ANCHORS, take_anchor, anchors,
                           &bad_anchors);
    size_t anchors_kept = p2p_anchors_set(n->p2p, anchors, nk, now);
    /* Anchors are for the start right after the stop that wrote them. */
    char path[NODE_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, NODE_ANCHORS_FILE);
    unlink(path);
    NODE_LOG(&n->log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "peers_loaded",
             LF_UINT("bans", bans_kept), LF_UINT("addresses", book_kept),
             LF_UINT("anchors", anchors_kept),
             LF_UINT("skipped", bad_bans + bad_book + bad_anchors + (nb - bans_kept)));
}
