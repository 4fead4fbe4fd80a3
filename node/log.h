/* Event log: one event per line, UTC timestamp with microseconds, the
 * node's name, an event name and typed fields. Text for people, or JSON
 * lines (--log-json) for tools; both forms carry the same fields in the
 * same order. The schema (event names and their fields) is in
 * docs/LOGGING.md: keep the two in step.
 *
 * Thread-safe: a line is formatted into a local buffer and written with a
 * single fwrite under the FILE's lock. */
#ifndef GOSSIPD_NODE_LOG_H
#define GOSSIPD_NODE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum node_log_level {
    NODE_LOG_DEBUG = 0,
    NODE_LOG_INFO,
    NODE_LOG_WARN,
    NODE_LOG_ERROR,
};

/* Debug categories (--debug=net,mempool,...): debug-level events of a
 * category are written only when it is enabled. Info and above always are. */
enum node_log_cat {
    NODE_LOG_CAT_NONE    = 0,
    NODE_LOG_CAT_NET     = 1u << 0,   /* a line per message sent/received */
    NODE_LOG_CAT_MEMPOOL = 1u << 1,
    NODE_LOG_CAT_CHAIN   = 1u << 2,
    NODE_LOG_CAT_RPC     = 1u << 3,
    NODE_LOG_CAT_P2P     = 1u << 4,   /* relay decisions, sync */
    NODE_LOG_CAT_MINE    = 1u << 5,
    NODE_LOG_CAT_ALL     = (1u << 6) - 1,
};

/* Longest formatted line; longer values are truncated, never split. */
#define NODE_LOG_LINE_MAX 4096
/* Longest node name kept. */
#define NODE_LOG_NAME_MAX 64
/* Longest log file path. */
#define NODE_LOG_PATH_MAX 1024

enum node_log_ftype {
    NODE_LF_STR,
    NODE_LF_INT,
    NODE_LF_UINT,
    NODE_LF_BOOL,
    NODE_LF_DOUBLE,
    NODE_LF_HASH,    /* 32-byte hash, shown in display (reversed) order */
    NODE_LF_HEX32,   /* 32 bytes shown in byte order (public keys) */
};

struct node_log_field {
    const char *key;
    enum node_log_ftype type;
    union {
        const char *s;         /* NULL is written as "" */
        int64_t i;
        uint64_t u;
        bool b;
        double d;
        const uint8_t *h;      /* 32 bytes */
    } v;
};

#define LF_STR(k, x)    ((struct node_log_field){ .key = (k), .type = NODE_LF_STR, .v.s = (x) })
#define LF_INT(k, x)    ((struct node_log_field){ .key = (k), .type = NODE_LF_INT, .v.i = (int64_t)(x) })
#define LF_UINT(k, x)   ((struct node_log_field){ .key = (k), .type = NODE_LF_UINT, .v.u = (uint64_t)(x) })
#define LF_BOOL(k, x)   ((struct node_log_field){ .key = (k), .type = NODE_LF_BOOL, .v.b = (x) })
#define LF_DOUBLE(k, x) ((struct node_log_field){ .key = (k), .type = NODE_LF_DOUBLE, .v.d = (x) })
#define LF_HASH(k, x)   ((struct node_log_field){ .key = (k), .type = NODE_LF_HASH, .v.h = (x) })
#define LF_HEX32(k, x)  ((struct node_log_field){ .key = (k), .type = NODE_LF_HEX32, .v.h = (x) })

struct node_log {
    FILE *out;                         /* stderr by default; NULL: nothing written */
    FILE *tee;                         /* a second copy (stderr beside a log file) */
    bool errors_to_stderr;             /* error events also to stderr (no console copy) */
    bool owns_out;                     /* out is the log file, opened by node_log_open */
    char path[NODE_LOG_PATH_MAX];      /* that file, for node_log_reopen */
    char name[NODE_LOG_NAME_MAX];
    bool json;
    enum node_log_level level;         /* lowest level written */
    unsigned cats;                     /* enabled debug categories */
    /* Clock: microseconds since the Unix epoch. NULL: the system clock. */
    uint64_t (*now_us)(void *ctx);
    void *clock_ctx;
};

/* Defaults: stderr, text, info, no debug categories, system clock. */
void node_log_init(struct node_log *log, const char *name);

/* Where lines go (bitcoind's -debuglogfile / -printtoconsole): to the file
 * path (appended, created 0600; NULL or "": no file) and, if console, to
 * stderr. Without console, error events still go to stderr so a startup
 * failure shows where the node was started. Returns 0 or -errno. */
int node_log_open(struct node_log *log, const char *path, bool console);
/* Reopen the log file at its path (after logrotate moved it: SIGHUP), safe
 * against writers on other threads. No file: does nothing. Returns 0 or
 * -errno (the old file stays in use). */
int node_log_reopen(struct node_log *log);
/* Close the log file; later events go to stderr. */
void node_log_close(struct node_log *log);

/* True iff an event at level in category cat would be written. */
bool node_log_enabled(const struct node_log *log, enum node_log_level level,
                      enum node_log_cat cat);

/* Format one event into buf (always NUL-terminated, ends with '\n').
 * Returns the line length. Exposed for tests. */
size_t node_log_format(const struct node_log *log, char *buf, size_t cap, uint64_t ts_us,
                       enum node_log_level level, const char *event,
                       const struct node_log_field *f, size_t n);

/* Write one event if enabled. */
void node_log_event(const struct node_log *log, enum node_log_level level,
                    enum node_log_cat cat, const char *event,
                    const struct node_log_field *f, size_t n);

/* A free-text event: event with a single "msg" field. */
void node_log_msg(const struct node_log *log, enum node_log_level level,
                  enum node_log_cat cat, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Convenience: NODE_LOG(log, NODE_LOG_INFO, NODE_LOG_CAT_NONE, "event",
 * LF_STR("k", v), ...). At least one field. */
#define NODE_LOG(log, level, cat, event, ...)                                        \
    do {                                                                              \
        if (node_log_enabled((log), (level), (cat))) {                               \
            const struct node_log_field node_log_f_[] = { __VA_ARGS__ };             \
            node_log_event((log), (level), (cat), (event), node_log_f_,               \
                           sizeof node_log_f_ / sizeof node_log_f_[0]);               \
        }                                                                             \
    } while (0)

/* Parse "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int node_log_level_parse(const char *s);
const char *node_log_level_name(enum node_log_level level);
/* Parse a comma-separated category list ("net,mempool", "all", "1", "").
 * Returns 0 and *cats, or -1 naming nothing (unknown category). */
int node_log_cats_parse(const char *s, unsigned *cats);

/* Format a UTC timestamp YYYY-MM-DDTHH:MM:SS.uuuuuuZ into out[28]. */
void node_log_ts(char out[28], uint64_t ts_us);

#endif
