/* struct p2p_addr helpers. inet_pton/inet_ntop are pure conversions (no
 * sockets, no DNS), so they are allowed in the sans-I/O core. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/p2p.h"

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool p2p_addr_is_ipv4(const struct p2p_addr *a)
{
    return memcmp(a->ip, v4_prefix, 12) == 0;
}

void p2p_addr_from_ipv4(struct p2p_addr *a, const uint8_t ip4[4], uint16_t port)
{
    memcpy(a->ip, v4_prefix, 12);
    memcpy(a->ip + 12, ip4, 4);
    a->port = port;
}

bool p2p_addr_equal(const struct p2p_addr *a, const struct p2p_addr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

bool p2p_addr_same_ip(const struct p2p_addr *a, const struct p2p_addr *b)
{
    return memcmp(a->ip, b->ip, 16) == 0;
}

static bool parse_port(const char *s, uint16_t *port)
{
    if (*s == '\0' || strlen(s) > 5)
        return false;
    unsigned long v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (unsigned long)(*c - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static bool parse_ip(const char *s, struct p2p_addr *a)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        p2p_addr_from_ipv4(a, v4, a->port);
        return true;
    }
    return inet_pton(AF_INET6, s, a->ip) == 1;
}

int p2p_addr_parse(struct p2p_addr *a, const char *s, uint16_t default_port)
{
    char buf[P2P_ADDR_STRLEN];
    memset(a, 0, sizeof(*a));
    a->port = default_port;
    if (!s || strlen(s) >= sizeof(buf))
        return P2P_ERR_INVALID_ARG;
    strcpy(buf, s);
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (!end)
            return P2P_ERR_INVALID_ARG;
        *end = '\0';
        if (end[1] == ':') {
            if (!parse_port(end + 2, &a->port))
                return P2P_ERR_INVALID_ARG;
        } else if (end[1] != '\0') {
            return P2P_ERR_INVALID_ARG;
        }
        return parse_ip(buf + 1, a) ? 0 : P2P_ERR_INVALID_ARG;
    }
    char *colon = strchr(buf, ':');
    if (colon && strchr(colon + 1, ':') == NULL) {
        /* host:port with an IPv4 host */
        *colon = '\0';
        if (!parse_port(colon + 1, &a->port))
            return P2P_ERR_INVALID_ARG;
    }
    if (!parse_ip(buf, a))
        return P2P_ERR_INVALID_ARG;
    return a->port ? 0 : P2P_ERR_INVALID_ARG;
}

void p2p_addr_format_ip(const struct p2p_addr *a, char out[P2P_ADDR_STRLEN])
{
    if (p2p_addr_is_ipv4(a)) {
        if (!inet_ntop(AF_INET, a->ip + 12, out, P2P_ADDR_STRLEN))
            strcpy(out, "?");
    } else if (!inet_ntop(AF_INET6, a->ip, out, P2P_ADDR_STRLEN)) {
        strcpy(out, "?");
    }
}

void p2p_addr_format(const struct p2p_addr *a, char out[P2P_ADDR_STRLEN])
{
    char ip[INET6_ADDRSTRLEN];   /* 46: with "[]:65535" fits P2P_ADDR_STRLEN */
    bool v4 = p2p_addr_is_ipv4(a);
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a->ip + 12 : a->ip, ip, sizeof(ip)))
        strcpy(ip, "?");
    if (v4)
        snprintf(out, P2P_ADDR_STRLEN, "%s:%u", ip, (unsigned)a->port);
    else
        snprintf(out, P2P_ADDR_STRLEN, "[%s]:%u", ip, (unsigned)a->port);
}

bool p2p_addr_is_local(const struct p2p_addr *a)
{
    static const uint8_t v6_loopback[16] = { [15] = 1 };
    if (p2p_addr_is_ipv4(a))
        return a->ip[12] == 127;
    return memcmp(a->ip, v6_loopback, 16) == 0;
}

uint64_t p2p_addr_netgroup(const struct p2p_addr *a)
{
    /* IPv4 /16 or IPv6 /32, with the family in the top bits; local
     * addresses form one group. */
    if (p2p_addr_is_local(a))
        return 1ull << 63;
    if (p2p_addr_is_ipv4(a))
        return 4ull << 56 | (uint64_t)a->ip[12] << 8 | a->ip[13];
    return 6ull << 56 | (uint64_t)a->ip[0] << 24 | (uint64_t)a->ip[1] << 16
           | (uint64_t)a->ip[2] << 8 | a->ip[3];
}

/* Clears the bits of s->ip past its prefix. */
static void subnet_mask(struct p2p_subnet *s)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = s->bits > 8 * i ? s->bits - 8 * i : 0;
        if (keep < 8)
            s->ip[i] &= (uint8_t)(0xff00u >> keep);
    }
}

int p2p_subnet_parse(struct p2p_subnet *s, const char *str)
{
    char buf[P2P_ADDR_STRLEN];
    memset(s, 0, sizeof(*s));
    if (!str || strlen(str) >= sizeof(buf))
        return P2P_ERR_INVALID_ARG;
    strcpy(buf, str);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
            return P2P_ERR_INVALID_ARG;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > 128)
            return P2P_ERR_INVALID_ARG;
    }
    struct p2p_addr a;
    if (p2p_addr_parse(&a, buf, 1) != 0)
        return P2P_ERR_INVALID_ARG;
    bool v4 = p2p_addr_is_ipv4(&a);
    if (bits < 0)
        bits = 128;
    else if (v4 && bits > 32)
        return P2P_ERR_INVALID_ARG;
    else if (v4)
        bits += 96;
    memcpy(s->ip, a.ip, 16);
    s->bits = (uint8_t)bits;
    subnet_mask(s);
    return 0;
}

void p2p_subnet_format(const struct p2p_subnet *s, char out[P2P_ADDR_STRLEN])
{
    struct p2p_addr a = { .port = 0 };
    memcpy(a.ip, s->ip, 16);
    p2p_addr_format_ip(&a, out);
    if (s->bits == 128)
        return;
    size_t n = strlen(out);
    unsigned bits = p2p_addr_is_ipv4(&a) && s->bits >= 96 ? s->bits - 96u : s->bits;
    snprintf(out + n, P2P_ADDR_STRLEN - n, "/%u", bits);
}

bool p2p_subnet_has(const struct p2p_subnet *s, const struct p2p_addr *a)
{
    struct p2p_subnet t = { .bits = s->bits };
    memcpy(t.ip, a->ip, 16);
    subnet_mask(&t);
    return memcmp(t.ip, s->ip, 16) == 0;
}
