#include "sim/report.h"

#include <inttypes.h>

void sim_report_model_header(FILE *f, bool csv)
{
    if (csv) {
        fprintf(f, "scheme,variant,k,nodes,degree,loss_ppm,runs,complete,rounds_mean,"
                   "rounds_sd,rounds_min,rounds_max,theory_rounds,residue,theory_residue,"
                   "messages_per_node,contacts_per_node\n");
        return;
    }
    fprintf(f, "%-9s %-7s %2s %7s %4s %6s %5s %5s | %7s %5s %4s %4s %7s | %7s %7s | %7s %7s\n",
            "scheme", "variant", "k", "nodes", "deg", "loss", "runs", "full", "rounds", "sd",
            "min", "max", "lg+ln", "residue", "theory", "msg/nd", "cont/nd");
}

void sim_report_model_row(FILE *f, bool csv, const struct sim_model_config *cfg,
                          const struct sim_model_summary *s)
{
    bool rumor = cfg->scheme == SIM_SCHEME_RUMOR;
    const char *variant = rumor ? sim_rumor_variant_name(cfg->variant) : "-";
    double theory_r = sim_model_push_rounds_theory(cfg->nodes);
    double theory_s = rumor && cfg->variant == SIM_RUMOR_COIN
                          ? sim_model_rumor_residue_theory(cfg->k) : -1;
    if (csv) {
        fprintf(f, "%s,%s,%u,%zu,%u,%" PRIu32 ",%u,%u,%.3f,%.3f,%u,%u,%.3f,%.5f,%.5f,%.3f,%.3f\n",
                sim_scheme_name(cfg->scheme), variant, rumor ? cfg->k : 0, cfg->nodes,
                cfg->degree, cfg->loss_ppm, s->runs, s->complete_runs, s->rounds_mean,
                s->rounds_sd, s->rounds_min, s->rounds_max, theory_r, s->residue_mean,
                theory_s, s->messages_per_node, s->contacts_per_node);
        return;
    }
    char k[16] = "-", th[16] = "-", deg[16] = "all";
    if (rumor)
        snprintf(k, sizeof(k), "%u", cfg->k);
    if (theory_s >= 0)
        snprintf(th, sizeof(th), "%6.2f%%", 100 * theory_s);
    if (cfg->degree)
        snprintf(deg, sizeof(deg), "%u", cfg->degree);
    fprintf(f, "%-9s %-7s %2s %7zu %4s %6" PRIu32 " %5u %5u | %7.2f %5.2f %4u %4u %7.2f | "
               "%6.2f%% %7s | %7.2f %7.2f\n",
            sim_scheme_name(cfg->scheme), variant, k, cfg->nodes, deg, cfg->loss_ppm, s->runs,
            s->complete_runs, s->rounds_mean, s->rounds_sd, s->rounds_min, s->rounds_max,
            theory_r, 100 * s->residue_mean, th, s->messages_per_node, s->contacts_per_node);
}

const char *sim_item_kind_name(enum sim_item_kind kind)
{
    return kind == SIM_ITEM_TX ? "tx" : kind == SIM_ITEM_BLOCK ? "block" : "txw";
}

void sim_report_proto_header(FILE *f, bool csv)
{
    if (csv) {
        fprintf(f, "item,nodes,degree,fanout,batch_ms,recon_ms,loss_ppm,seed,items,complete,reached,"
                   "t50_ms,t90_ms,t99_ms,t100_ms,hops_mean,hops_max,bodies_per_node,"
                   "bodies_max,invs_per_node,ann_frames_per_node,bytes_per_node,"
                   "relay_bytes_per_node,violations,"
                   "residue,rumour_end_ms\n");
        return;
    }
    fprintf(f, "%-5s %5s %3s %3s %5s %5s %6s | %5s %6s | %6s %6s %6s %6s | %5s %3s | %6s %3s | "
               "%6s %6s %8s %8s | %4s %7s %7s\n",
            "item", "nodes", "deg", "k", "batch", "recon", "loss", "items", "reach", "t50", "t90", "t99",
            "t100", "hops", "max", "body/n", "max", "inv/n", "annF/n", "B/node", "relayB/n", "viol",
            "residue", "rum.end");
}

static void fmt_ms(char *buf, size_t cap, double ms, bool ok)
{
    if (ok)
        snprintf(buf, cap, "%.0f", ms);
    else
        snprintf(buf, cap, "-");
}

void sim_report_proto_rows(FILE *f, bool csv, const struct sim_proto_config *cfg,
                           const struct sim_proto_result *res)
{
    /* The warm-up's txs (if any) first, apart. */
    static const enum sim_item_kind order[] = { SIM_ITEM_TX_WARM, SIM_ITEM_TX, SIM_ITEM_BLOCK };
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        enum sim_item_kind kind = order[o];
        struct sim_proto_agg a;
        sim_proto_aggregate(res, kind, &a);
        if (a.items == 0)
            continue;
        const char *name = sim_item_kind_name(kind);
        bool ok = a.complete > 0;
        bool resid = cfg->residue && kind != SIM_ITEM_BLOCK;
        if (csv) {
            fprintf(f, "%s,%zu,%u,%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu64
                       ",%u,%u,%.5f,"
                       "%.1f,%.1f,%.1f,%.1f,%.3f,%u,%.4f,%u,%.3f,%.3f,%.1f,%.1f,%u,%.5f,%.1f\n",
                    name, res->nodes, cfg->degree, cfg->fanout, cfg->batch_ms, cfg->recon_ms,
                    cfg->loss_ppm, cfg->seed, a.items, a.complete, a.reached_frac, a.t50_ms, a.t90_ms, a.t99_ms,
                    a.t100_ms, a.hops_mean, a.hops_max, a.bodies_per_node, a.bodies_max,
                    a.invs_per_node, a.ann_frames_per_node, a.bytes_per_node,
                    a.relay_bytes_per_node, a.violations, resid ? a.residue : -1.0,
                    resid ? a.rumour_end_ms : -1.0);
            continue;
        }
        char k[16] = "all", batch[16] = "dflt", recon[16] = "dflt", t[4][16], reach[16], resb[16] = "-", rend[16] = "-";
        if (cfg->fanout)
            snprintf(k, sizeof(k), "%" PRIu32, cfg->fanout);
        if (cfg->batch_ms)
            snprintf(batch, sizeof(batch), "%" PRIu32, cfg->batch_ms);
        if (cfg->recon_ms)
            snprintf(recon, sizeof(recon), "%" PRIu32, cfg->recon_ms);
        fmt_ms(t[0], sizeof(t[0]), a.t50_ms, ok);
        fmt_ms(t[1], sizeof(t[1]), a.t90_ms, ok);
        fmt_ms(t[2], sizeof(t[2]), a.t99_ms, ok);
        fmt_ms(t[3], sizeof(t[3]), a.t100_ms, ok);
        snprintf(reach, sizeof(reach), "%5.1f%%", 100 * a.reached_frac);
        if (resid) {
            snprintf(resb, sizeof(resb), "%6.2f%%", 100 * a.residue);
            snprintf(rend, sizeof(rend), "%.0f", a.rumour_end_ms);
        }
        fprintf(f, "%-5s %5zu %3u %3s %5s %5s %6" PRIu32 " | %2u/%-2u %6s | %6s %6s %6s %6s | "
                   "%5.2f %3u | %6.3f %3u | %6.2f %6.2f %8.0f %8.0f | %4u %7s %7s\n",
                name, res->nodes, cfg->degree, k, batch, recon, cfg->loss_ppm, a.complete, a.items,
                reach, t[0], t[1], t[2], t[3], a.hops_mean, a.hops_max, a.bodies_per_node,
                a.bodies_max, a.invs_per_node, a.ann_frames_per_node, a.bytes_per_node,
                a.relay_bytes_per_node,
                a.violations, resb, rend);
    }
}

/* Compact blocks: what crossed the links for the blocks, and the warm
 * figures (blocks after the first, whose high-bandwidth peers the blocks
 * before chose). */
static void report_cmpct(FILE *f, bool csv, const struct sim_proto_result *res)
{
    struct sim_proto_agg a, w;
    sim_proto_aggregate(res, SIM_ITEM_BLOCK, &a);
    if (a.items == 0)
        return;
    const char *p = csv ? "# " : "";
    fprintf(f, "%sblocks (%u): full bodies/node %.3f, cmpctblocks/node %.3f, "
               "getblocktxn/node %.3f, block bytes/node %.0f, fallbacks %" PRIu64 "\n",
            p, a.items, a.bodies_per_node, a.cmpct_per_node, a.getblocktxn_per_node,
            a.block_bytes_per_node, a.cmpct_fallbacks);
    sim_proto_aggregate_from(res, SIM_ITEM_BLOCK, 1, &w);
    if (w.complete == 0)
        return;
    fprintf(f, "%swarm blocks (2..%u, %u complete): t50 %.0f t90 %.0f t99 %.0f t100 %.0f, "
               "hops %.2f (%u), full bodies/node %.3f, cmpctblocks/node %.3f, "
               "getblocktxn/node %.3f, block bytes/node %.0f, B/node %.0f, viol %u\n",
            p, a.items, w.complete, w.t50_ms, w.t90_ms, w.t99_ms, w.t100_ms, w.hops_mean,
            w.hops_max, w.bodies_per_node, w.cmpct_per_node, w.getblocktxn_per_node,
            w.block_bytes_per_node, w.bytes_per_node, w.violations);
}

void sim_report_proto_extra(FILE *f, bool csv, const struct sim_proto_config *cfg,
                            const struct sim_proto_result *res)
{
    if (cfg->cmpct || cfg->block_private)
        report_cmpct(f, csv, res);
    if (!cfg->churn_pct && !cfg->late_pct && !cfg->partition_ms && !cfg->silent_pct
        && !cfg->withhold_pct && !cfg->sybils && !cfg->mine_blocks)
        return;
    size_t lost = 0;
    double victim = 0;
    unsigned nv = 0;
    for (unsigned i = 0; i < res->n_items; i++) {
        if (res->items[i].lost > lost)
            lost = res->items[i].lost;
        if (res->items[i].victim_ms != SIM_NEVER) {
            victim += (double)res->items[i].victim_ms;
            nv++;
        }
    }
    fprintf(f, "%scounted %zu nodes; most lost by an item %zu", csv ? "# " : "", res->counted,
            lost);
    if (res->isolated)
        fprintf(f, "; %zu honest nodes cut off by adversaries (not counted)", res->isolated);
    if (cfg->sybils)
        fprintf(f, "; victim (node 0) got items after %.0f ms on average (%u/%u)",
                nv ? victim / nv : 0.0, nv, res->n_items);
    if (cfg->mine_blocks)
        fprintf(f, "; mined %u, stale %u (%.2f %%), tip heights %s", res->mined, res->stale,
                res->mined ? 100.0 * res->stale / res->mined : 0.0,
                res->tips_agree ? "agree" : "DISAGREE");
    fputc('\n', f);
}

void sim_report_proto_items(FILE *f, bool csv, const struct sim_proto_result *res)
{
    if (csv)
        fprintf(f, "index,item,origin,reached,t50_ms,t90_ms,t99_ms,t100_ms,hops_mean,"
                   "hops_max,bodies_per_node,bodies_max,invs_per_node,bytes_per_node,"
                   "violations,core_dup_bodies,residue,rumour_end_ms\n");
    else
        fprintf(f, "%5s %-5s %6s %6s | %6s %6s %6s %6s | %5s %3s | %6s %3s | %6s %8s | "
                   "%4s %7s %7s\n",
                "#", "item", "origin", "reach", "t50", "t90", "t99", "t100", "hops", "max",
                "body/n", "max", "inv/n", "B/node", "viol", "residue", "rum.end");
    for (unsigned i = 0; i < res->n_items; i++) {
        const struct sim_item_result *r = &res->items[i];
        const char *name = sim_item_kind_name(r->kind);
        char t[4][24];
        uint64_t v[4] = { r->t50_ms, r->t90_ms, r->t99_ms, r->t100_ms };
        for (int j = 0; j < 4; j++)
            fmt_ms(t[j], sizeof(t[j]), (double)v[j], v[j] != SIM_NEVER);
        if (csv) {
            fprintf(f, "%u,%s,%zu,%zu,%s,%s,%s,%s,%.3f,%u,%.4f,%u,%.3f,%.1f,%u,%" PRIu64
                       ",%.5f,%" PRIu64 "\n",
                    i, name, r->origin, r->reached, t[0], t[1], t[2], t[3], r->hops_mean,
                    r->hops_max, r->bodies_per_node, r->bodies_max, r->invs_per_node,
                    r->bytes_per_node, r->violations, r->core_dup_bodies, r->residue,
                    r->rumour_end_ms);
            continue;
        }
        char resb[16] = "-", rend[24] = "-";
        if (r->kind != SIM_ITEM_BLOCK && res->residue) {
            snprintf(resb, sizeof(resb), "%6.2f%%", 100 * r->residue);
            snprintf(rend, sizeof(rend), "%" PRIu64, r->rumour_end_ms);
        }
        fprintf(f, "%5u %-5s %6zu %6zu | %6s %6s %6s %6s | %5.2f %3u | %6.3f %3u | %6.2f %8.0f | "
                   "%4u %7s %7s\n",
                i, name, r->origin, r->reached, t[0], t[1], t[2], t[3], r->hops_mean,
                r->hops_max, r->bodies_per_node, r->bodies_max, r->invs_per_node,
                r->bytes_per_node, r->violations, resb, rend);
    }
}

void sim_report_latency_header(FILE *f, bool csv)
{
    if (csv) {
        fprintf(f, "relay,nodes,degree,latency_ms,jitter_ms,per_message,batch_ms,runs,t50_ms,"
                   "t90_ms,t99_ms,t100_ms,hops_mean,bodies_per_node,invs_per_node\n");
        return;
    }
    fprintf(f, "%-5s %6s %3s %8s %5s %5s %5s | %6s %6s %6s %6s | %5s | %6s %6s\n", "relay",
            "nodes", "deg", "link ms", "jit", "batch", "runs", "t50", "t90", "t99", "t100",
            "hops", "body/n", "inv/n");
}

void sim_report_latency_row(FILE *f, bool csv, const struct sim_latency_config *cfg,
                            const struct sim_latency_summary *s)
{
    if (csv) {
        fprintf(f, "%s,%zu,%u,%" PRIu64 ",%" PRIu64 ",%d,%" PRIu32 ",%u,%.1f,%.1f,%.1f,%.1f,"
                   "%.3f,%.3f,%.3f\n",
                sim_relay_name(cfg->relay), cfg->nodes, cfg->degree, cfg->latency_ms,
                cfg->jitter_ms, cfg->per_message, cfg->batch_ms, s->runs, s->t50_ms, s->t90_ms,
                s->t99_ms, s->t100_ms, s->hops_mean, s->bodies_per_node, s->invs_per_node);
        return;
    }
    char lat[32];
    snprintf(lat, sizeof(lat), "%" PRIu64 "-%" PRIu64, cfg->latency_ms,
             cfg->latency_ms + cfg->jitter_ms);
    fprintf(f, "%-5s %6zu %3u %8s %5s %5" PRIu32 " %5u | %6.0f %6.0f %6.0f %6.0f | %5.2f | "
               "%6.2f %6.2f\n",
            sim_relay_name(cfg->relay), cfg->nodes, cfg->degree, lat,
            cfg->per_message ? "msg" : "link", cfg->batch_ms, s->runs, s->t50_ms, s->t90_ms,
            s->t99_ms, s->t100_ms, s->hops_mean, s->bodies_per_node, s->invs_per_node);
}
