#include "node/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hex.h"

void node_log_init(struct node_log *log, const char *name)
{
    memset(log, 0, sizeof *log);
    log->out = stderr;
    snprintf(log->name, sizeof log->name, "%s", name ? name : "");
    log->level = NODE_LOG_INFO;
}

static int open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    return fd < 0 ? -errno : fd;
}

int node_log_open(struct node_log *log, const char *path, bool console)
{
    node_log_close(log);
    log->tee = NULL;
    log->errors_to_stderr = !console;
    if (!path || !*path) {
        log->out = console ? stderr : NULL;
        return 0;
    }
    if (strlen(path) >= sizeof log->path)
        return -ENAMETOOLONG;
    int fd = open_append(path);
    if (fd < 0)
        return fd;
    FILE *f = fdopen(fd, "a");
    if (!f) {
        int e = errno;
        close(fd);
        return -e;
    }
    snprintf(log->path, sizeof log->path, "%s", path);
    log->out = f;
    log->owns_out = true;
    log->tee = console ? stderr : NULL;
    return 0;
}

int node_log_reopen(struct node_log *log)
{
    if (!log->owns_out)
        return 0;
    int fd = open_append(log->path);
    if (fd < 0)
        return fd;
    /* The FILE stays; its descriptor now names the new file. Under the
     * stream's lock no other thread is half-way through a line. */
    flockfile(log->out);
    fflush(log->out);
    int rc = dup2(fd, fileno(log->out)) < 0 ? -errno : 0;
    /* dup2 clears close-on-exec: keep the log out of child processes. */
    if (rc == 0 && fcntl(fileno(log->out), F_SETFD, FD_CLOEXEC) != 0)
        rc = -errno;
    funlockfile(log->out);
    close(fd);
    return rc;
}

void node_log_close(struct node_log *log)
{
    if (log->owns_out)
        fclose(log->out);
    log->owns_out = false;
    log->path[0] = '\0';
    log->out = stderr;
    log->tee = NULL;
    log->errors_to_stderr = false;
}

bool node_log_enabled(const struct node_log *log, enum node_log_level level,
                      enum node_log_cat cat)
{
    if (level == NODE_LOG_DEBUG && cat != NODE_LOG_CAT_NONE)
        return (log->cats & (unsigned)cat) != 0;
    return level >= log->level;
}

void node_log_ts(char out[28], uint64_t ts_us)
{
    time_t secs = (time_t)(ts_us / 1000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
        memcpy(date, "0000-00-00T00:00:00", 20);
    unsigned us = (unsigned)(ts_us % 1000000u);
    memcpy(out, date, 19);
    out[19] = '.';
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
}

const char *node_log_level_name(enum node_log_level level)
{
    switch (level) {
    case NODE_LOG_DEBUG: return "debug";
    case NODE_LOG_INFO:  return "info";
    case NODE_LOG_WARN:  return "warn";
    case NODE_LOG_ERROR: return "error";
    }
    return "info";
}

int node_log_level_parse(const char *s)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return NODE_LOG_WARN;
    return -1;
}

int node_log_cats_parse(const char *s, unsigned *cats)
{
    static const struct { const char *name; unsigned bit; } tab[] = {
        { "net", NODE_LOG_CAT_NET },     { "mempool", NODE_LOG_CAT_MEMPOOL },
        { "chain", NODE_LOG_CAT_CHAIN }, { "rpc", NODE_LOG_CAT_RPC },
        { "p2p", NODE_LOG_CAT_P2P },     { "mine", NODE_LOG_CAT_MINE },
        { "all", NODE_LOG_CAT_ALL },     { "1", NODE_LOG_CAT_ALL },
    };
    unsigned out = 0;
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            bool found = false;
            for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
                if (strlen(tab[i].name) == len && strncasecmp(p, tab[i].name, len) == 0) {
                    out |= tab[i].bit;
                    found = true;
                    break;
                }
            }
            if (!found)
                return -1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    *cats = out;
    return 0;
}

/* A bounded appender: once full, further output is dropped and the line
 * is cut, leaving room for the final newline. */
struct lbuf {
    char *p;
    size_t cap;   /* usable bytes, excluding the reserved "\n\0" */
    size_t len;
};

static void lb_putc(struct lbuf *b, char c)
{
    if (b->len < b->cap)
        b->p[b->len++] = c;
}

static void lb_puts(struct lbuf *b, const char *s)
{
    while (*s)
        lb_putc(b, *s++);
}

static void lb_printf(struct lbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_printf(struct lbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    lb_puts(b, tmp);
}

/* JSON string body (without quotes). */
static void lb_json_str(struct lbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  lb_puts(b, "\\\""); break;
        case '\\': lb_puts(b, "\\\\"); break;
        case '\n': lb_puts(b, "\\n"); break;
        case '\r': lb_puts(b, "\\r"); break;
        case '\t': lb_puts(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                lb_printf(b, "\\u%04x", *p);
            else
                lb_putc(b, (char)*p);
        }
    }
}

/* Text values are bare unless they are empty or hold a space, quote, '='
 * or control character; then they are quoted with JSON escapes, so a line
 * always splits unambiguously on spaces. */
static void lb_text_str(struct lbuf *b, const char *s)
{
    bool quote = *s == '\0';
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        if (*p <= 0x20 || *p == '"' || *p == '=' || *p == 0x7f || *p == '\\')
            quote = true;
    if (!quote) {
        lb_puts(b, s);
        return;
    }
    lb_putc(b, '"');
    lb_json_str(b, s);
    lb_putc(b, '"');
}

static void lb_value(struct lbuf *b, const struct node_log_field *f, bool json)
{
    char hex[65];
    switch (f->type) {
    case NODE_LF_STR: {
        const char *s = f->v.s ? f->v.s : "";
        if (json) {
            lb_putc(b, '"');
            lb_json_str(b, s);
            lb_putc(b, '"');
        } else {
            lb_text_str(b, s);
        }
        return;
    }
    case NODE_LF_INT:
        lb_printf(b, "%" PRId64, f->v.i);
        return;
    case NODE_LF_UINT:
        lb_printf(b, "%" PRIu64, f->v.u);
        return;
    case NODE_LF_BOOL:
        lb_puts(b, f->v.b ? "true" : "false");
        return;
    case NODE_LF_DOUBLE:
        lb_printf(b, "%.6g", f->v.d);
        return;
    case NODE_LF_HASH:
    case NODE_LF_HEX32:
        if (!f->v.h)
            hex[0] = '\0';
        else if (f->type == NODE_LF_HASH)
            hex_encode_hash(hex, f->v.h);
        else
            hex_encode(hex, f->v.h, 32);
        if (json)
            lb_putc(b, '"');
        lb_puts(b, hex);
        if (json)
            lb_putc(b, '"');
        return;
    }
}

/* The fields every JSON line starts with, without the closing brace. */
static void json_head(struct lbuf *b, const char *ts, const char *name,
                      enum node_log_level level, const char *event)
{
    lb_puts(b, "{\"ts\":\"");
    lb_puts(b, ts);
    lb_puts(b, "\",\"node\":\"");
    lb_json_str(b, name);
    lb_puts(b, "\",\"level\":\"");
    lb_puts(b, node_log_level_name(level));
    lb_puts(b, "\",\"event\":\"");
    lb_json_str(b, event);
    lb_putc(b, '"');
}

size_t node_log_format(const struct node_log *log, char *buf, size_t cap, uint64_t ts_us,
                       enum node_log_level level, const char *event,
                       const struct node_log_field *f, size_t n)
{
    if (cap < 2) {
        if (cap)
            buf[0] = '\0';
        return 0;
    }
    struct lbuf b = { .p = buf, .cap = cap - 2, .len = 0 };
    char ts[28];
    node_log_ts(ts, ts_us);
    if (log->json) {
        json_head(&b, ts, log->name, level, event);
        for (size_t i = 0; i < n; i++) {
            lb_puts(&b, ",\"");
            lb_json_str(&b, f[i].key);
            lb_puts(&b, "\":");
            lb_value(&b, &f[i], true);
        }
        /* A truncated JSON line would be unparseable: keep only the
         * common fields and say the event's own were dropped. */
        if (b.len >= b.cap) {
            b.len = 0;
            json_head(&b, ts, log->name, level, event);
            lb_puts(&b, ",\"truncated\":true");
        }
        lb_putc(&b, '}');
    } else {
        lb_puts(&b, ts);
        lb_putc(&b, ' ');
        lb_text_str(&b, log->name[0] ? log->name : "-");
        lb_putc(&b, ' ');
        if (level != NODE_LOG_INFO) {
            const char *ln = node_log_level_name(level);
            for (; *ln; ln++)
                lb_putc(&b, (char)(*ln - 'a' + 'A'));
            lb_putc(&b, ' ');
        }
        lb_puts(&b, event);
        for (size_t i = 0; i < n; i++) {
            lb_putc(&b, ' ');
            lb_puts(&b, f[i].key);
            lb_putc(&b, '=');
            lb_value(&b, &f[i], false);
        }
    }
    buf[b.len++] = '\n';
    buf[b.len] = '\0';
    return b.len;
}

static uint64_t sys_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void node_log_event(const struct node_log *log, enum node_log_level level,
                    enum node_log_cat cat, const char *event,
                    const struct node_log_field *f, size_t n)
{
    bool err_copy = log->errors_to_stderr && level >= NODE_LOG_ERROR && log->out != stderr;
    if (!node_log_enabled(log, level, cat) || (!log->out && !log->tee && !err_copy))
        return;
    char line[NODE_LOG_LINE_MAX];
    uint64_t ts = log->now_us ? log->now_us(log->clock_ctx) : sys_now_us();
    size_t len = node_log_format(log, line, sizeof line, ts, level, event, f, n);
    /* One fwrite per line: stdio locks the stream for the call, so lines
     * from different threads never interleave. */
    FILE *outs[3] = { log->out, log->tee, err_copy ? stderr : NULL };
    for (size_t i = 0; i < 3; i++) {
        if (!outs[i])
            continue;
        fwrite(line, 1, len, outs[i]);
        fflush(outs[i]);
    }
}

void node_log_msg(const struct node_log *log, enum node_log_level level,
                  enum node_log_cat cat, const char *event, const char *fmt, ...)
{
    if (!node_log_enabled(log, level, cat))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct node_log_field f = LF_STR("msg", msg);
    node_log_event(log, level, cat, event, &f, 1);
}
