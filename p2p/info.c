/* Observability: peer info, stats, getters, and p2p_check. */
#include "p2p/core.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void p2p__fill_info(const struct p2p *p, const struct peer *pe, struct p2p_peer_info *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->id = pe->id;
    pi->addr = pe->addr;
    pi->inbound = pe->inbound;
    pi->established = pe->established;
    memcpy(pi->user_agent, pe->ua, sizeof(pi->user_agent));
    memcpy(pi->name, pe->name, sizeof(pi->name));
    pi->version = pe->version;
    pi->start_height = pe->start_height;
    pi->best_height = pe->best_height;
    pi->sendheaders = pe->sendheaders;
    pi->connected_ms = pe->connected_ms;
    pi->last_send_ms = pe->last_send_ms;
    pi->last_recv_ms = pe->last_recv_ms;
    pi->ping_ms = pe->ping_ms;
    pi->ban_score = pe->score;
    pi->in_flight = p2p_txreq_in_flight(p->req, pe->id);
    pi->send_queue_bytes = pe->send_pending;
    pi->bytes_sent = pe->bytes_sent;
    pi->bytes_recv = pe->bytes_recv;
    memcpy(pi->bytes_sent_per_cmd, pe->bytes_sent_cmd, sizeof(pi->bytes_sent_per_cmd));
    memcpy(pi->bytes_recv_per_cmd, pe->bytes_recv_cmd, sizeof(pi->bytes_recv_per_cmd));
    memcpy(pi->msgs_sent_per_cmd, pe->msgs_sent_cmd, sizeof(pi->msgs_sent_per_cmd));
    memcpy(pi->msgs_recv_per_cmd, pe->msgs_recv_cmd, sizeof(pi->msgs_recv_per_cmd));
    pi->v2 = pe->framer.transport == P2P_TRANSPORT_V2 && pe->framer.v2_ready;
    if (pi->v2)
        memcpy(pi->session_id, pe->framer.v2->session_id, sizeof(pi->session_id));
    pi->peer_key_known = pe->peer_key_known;
    memcpy(pi->peer_key, pe->peer_key, sizeof(pi->peer_key));
}

size_t p2p_peer_count(const struct p2p *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers; i++)
        n += !p->peers[i]->dead;
    return n;
}

static int cmp_info(const void *a, const void *b)
{
    const struct p2p_peer_info *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

size_t p2p_get_peers(const struct p2p *p, struct p2p_peer_info *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_peers && n < max; i++)
        if (!p->peers[i]->dead)
            p2p__fill_info(p, p->peers[i], &out[n++]);
    qsort(out, n, sizeof(*out), cmp_info);
    return n;
}

int p2p_get_peer(const struct p2p *p, uint64_t peer, struct p2p_peer_info *out)
{
    const struct peer *pe = p2p__peer_find(p, peer);
    if (!pe)
        return P2P_ERR_UNKNOWN_PEER;
    p2p__fill_info(p, pe, out);
    return 0;
}

const char *p2p_peer_name(const struct p2p *p, uint64_t peer)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->id == peer)
            return p->peers[i]->name;
    return "";
}

const struct p2p_addr *p2p_peer_addr(const struct p2p *p, uint64_t peer)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->id == peer)
            return &p->peers[i]->addr;
    return NULL;
}

const struct p2p_stats *p2p_counters(const struct p2p *p)
{
    return &p->stats;
}

void p2p_get_stats(const struct p2p *p, struct p2p_stats *out)
{
    *out = p->stats;
    out->peers = out->inbound = out->outbound = 0;
    out->send_queue_bytes = p->send_total;
    for (size_t i = 0; i < p->n_peers; i++) {
        if (p->peers[i]->dead)
            continue;
        out->peers++;
        out->recv_buffer_bytes += p2p_framer_allocated(&p->peers[i]->framer);
        if (p->peers[i]->inbound)
            out->inbound++;
        else
            out->outbound++;
    }
}

void p2p_check(const struct p2p *p)
{
    assert(p->n_peers <= p->cap_peers || p->n_peers == 0);
    size_t unsent = 0;
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct peer *pe = p->peers[i];
        unsent += pe->send_pending;
        assert(pe->gd_head <= pe->gd_n && pe->gd_n <= pe->gd_cap
               && pe->gd_cap <= P2P_GETDATA_QUEUE_MAX_ENTRIES);
        assert(pe->id != 0);
        assert(!pe->dead);   /* swept at the end of every entry point */
        for (size_t j = i + 1; j < p->n_peers; j++)
            assert(p->peers[j]->id != pe->id);
        assert(pe->txq_n <= pe->txq_cap);
        assert(pe->framer.len <= pe->framer.cap);
        assert(pe->send_pending <= P2P_SEND_QUEUE_MAX_BYTES);
        assert(p2p_txreq_in_flight(p->req, pe->id)
               <= P2P_MAX_TX_IN_FLIGHT + P2P_MAX_BLOCKS_IN_FLIGHT);
    }
    assert(unsent == p->send_total);
    assert(p->n_added <= P2P_MAX_ADDED_PEERS);
    p2p__addrbook_check(p);
    p2p_banlist_check(&p->bans);
    p2p_txreq_check(p->req);
}
