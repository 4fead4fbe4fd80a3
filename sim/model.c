#include "sim/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Node state: the round it received the update (NEVER: not yet). A node
 * "has it at the start of round r" iff got[u] < r. */
#define NEVER UINT32_MAX

static const char *const scheme_names[SIM_SCHEME_COUNT] = {
    "direct", "push", "pull", "pushpull", "rumor",
};
static const char *const variant_names[SIM_RUMOR_VARIANT_COUNT] = {
    "coin", "counter", "blind",
};

const char *sim_scheme_name(enum sim_scheme s)
{
    return (unsigned)s < SIM_SCHEME_COUNT ? scheme_names[s] : "?";
}

int sim_scheme_parse(const char *s)
{
    for (int i = 0; i < SIM_SCHEME_COUNT; i++)
        if (strcmp(s, scheme_names[i]) == 0)
            return i;
    return -1;
}

const char *sim_rumor_variant_name(enum sim_rumor_variant v)
{
    return (unsigned)v < SIM_RUMOR_VARIANT_COUNT ? variant_names[v] : "?";
}

int sim_rumor_variant_parse(const char *s)
{
    for (int i = 0; i < SIM_RUMOR_VARIANT_COUNT; i++)
        if (strcmp(s, variant_names[i]) == 0)
            return i;
    return -1;
}

/* A random peer of u: any other node (complete graph) or a neighbour. */
static uint32_t pick_peer(const struct sim_graph *g, size_t n, uint32_t u, struct sim_rng *rng)
{
    if (!g) {
        uint32_t v = (uint32_t)sim_rng_below(rng, n - 1);
        return v >= u ? v + 1 : v;
    }
    size_t d = sim_graph_degree(g, u);
    return g->adj[g->off[u] + (size_t)sim_rng_below(rng, d)];
}

static bool lost(const struct sim_model_config *cfg, struct sim_rng *rng)
{
    return cfg->loss_ppm && sim_rng_below(rng, 1000000) < cfg->loss_ppm;
}

int sim_model_run_once(const struct sim_model_config *cfg, const struct sim_graph *g,
                       struct sim_rng *rng, struct sim_model_run *out)
{
    size_t n = cfg->nodes;
    memset(out, 0, sizeof(*out));
    if (n < 2 || n > SIM_MODEL_MAX_NODES || (g && g->n != n)
        || (unsigned)cfg->scheme >= SIM_SCHEME_COUNT
        || (cfg->scheme == SIM_SCHEME_RUMOR
            && (cfg->k < 1 || (unsigned)cfg->variant >= SIM_RUMOR_VARIANT_COUNT)))
        return -1;
    uint32_t *got = malloc(n * sizeof(*got));
    /* rumor: infective (still spreading) and useless-contact counters. */
    bool *active = calloc(n, sizeof(*active));
    unsigned *useless = calloc(n, sizeof(*useless));
    if (!got || !active || !useless) {
        free(got);
        free(active);
        free(useless);
        return -1;
    }
    for (size_t u = 0; u < n; u++)
        got[u] = NEVER;
    uint32_t origin = (uint32_t)sim_rng_below(rng, n);
    got[origin] = 0;
    active[origin] = true;
    size_t reached = 1, spreading = 1;
    unsigned r = 0;

    if (cfg->scheme == SIM_SCHEME_DIRECT) {
        r = 1;
        for (uint32_t v = 0; v < n; v++) {
            if (v == origin)
                continue;
            out->messages++;
            out->contacts++;
            if (!lost(cfg, rng)) {
                got[v] = 1;
                reached++;
            }
        }
        goto done;
    }

    while (r < SIM_MODEL_MAX_ROUNDS) {
        if (cfg->scheme == SIM_SCHEME_RUMOR ? spreading == 0 : reached == n)
            break;
        r++;
        for (uint32_t u = 0; u < n; u++) {
            bool had = got[u] < r;
            switch (cfg->scheme) {
            case SIM_SCHEME_PUSH: {
                if (!had)
                    break;
                uint32_t v = pick_peer(g, n, u, rng);
                out->contacts++;
                out->messages++;
                if (!lost(cfg, rng) && got[v] == NEVER) {
                    got[v] = r;
                    reached++;
                }
                break;
            }
            case SIM_SCHEME_PULL: {
                uint32_t v = pick_peer(g, n, u, rng);
                out->contacts++;
                /* The request, then the answer: either may be lost. */
                if (got[u] == NEVER && got[v] < r && !lost(cfg, rng)) {
                    out->messages++;
                    if (!lost(cfg, rng)) {
                        got[u] = r;
                        reached++;
                    }
                }
                break;
            }
            case SIM_SCHEME_PUSHPULL: {
                uint32_t v = pick_peer(g, n, u, rng);
                out->contacts++;
                if (lost(cfg, rng))
                    break;   /* the opening digest never arrived */
                if (had && got[v] == NEVER) {
                    out->messages++;
                    if (!lost(cfg, rng)) {
                        got[v] = r;
                        reached++;
                    }
                } else if (got[u] == NEVER && got[v] < r) {
                    out->messages++;
                    if (!lost(cfg, rng)) {
                        got[u] = r;
                        reached++;
                    }
                }
                break;
            }
            case SIM_SCHEME_RUMOR: {
                if (!active[u] || !had)
                    break;
                uint32_t v = pick_peer(g, n, u, rng);
                out->contacts++;
                out->messages++;
                bool useful = false;
                if (!lost(cfg, rng)) {
                    if (got[v] == NEVER) {
                        got[v] = r;
                        active[v] = true;
                        reached++;
                        spreading++;
                        useful = true;
                    }
                } else {
                    useful = true;   /* no feedback came back: keep going */
                }
                bool stop = false;
                switch (cfg->variant) {
                case SIM_RUMOR_COIN:
                    stop = !useful && sim_rng_below(rng, cfg->k) == 0;
                    break;
                case SIM_RUMOR_COUNTER:
                    stop = !useful && ++useless[u] >= cfg->k;
                    break;
                case SIM_RUMOR_BLIND:
                default:
                    stop = sim_rng_below(rng, cfg->k) == 0;
                    break;
                }
                if (stop) {
                    active[u] = false;
                    spreading--;
                }
                break;
            }
            case SIM_SCHEME_DIRECT:
            case SIM_SCHEME_COUNT:
            default:
                break;
            }
        }
    }
done:
    out->rounds = r;
    out->reached = reached;
    out->complete = reached == n;
    free(got);
    free(active);
    free(useless);
    return 0;
}

int sim_model_run(const struct sim_model_config *cfg, struct sim_model_summary *sum,
                  struct sim_model_run *runs_out)
{
    memset(sum, 0, sizeof(*sum));
    if (cfg->runs < 1 || cfg->runs > SIM_MODEL_MAX_RUNS)
        return -1;
    struct sim_rng rng;
    sim_rng_seed(&rng, cfg->seed);
    double sum_r = 0, sum_r2 = 0, sum_res = 0, sum_msg = 0, sum_con = 0;
    sum->rounds_min = UINT32_MAX;
    for (unsigned i = 0; i < cfg->runs; i++) {
        struct sim_graph g;
        struct sim_model_run run;
        bool graph = cfg->degree > 0;
        if (graph && sim_graph_random(&g, cfg->nodes, cfg->degree, &rng) != 0)
            return -1;
        int err = sim_model_run_once(cfg, graph ? &g : NULL, &rng, &run);
        if (graph)
            sim_graph_free(&g);
        if (err)
            return -1;
        if (runs_out)
            runs_out[i] = run;
        sum->complete_runs += run.complete;
        sum_r += run.rounds;
        sum_r2 += (double)run.rounds * run.rounds;
        if (run.rounds < sum->rounds_min)
            sum->rounds_min = run.rounds;
        if (run.rounds > sum->rounds_max)
            sum->rounds_max = run.rounds;
        sum_res += 1.0 - (double)run.reached / (double)cfg->nodes;
        sum_msg += (double)run.messages / (double)cfg->nodes;
        sum_con += (double)run.contacts / (double)cfg->nodes;
    }
    double k = cfg->runs;
    sum->runs = cfg->runs;
    sum->rounds_mean = sum_r / k;
    double var = sum_r2 / k - sum->rounds_mean * sum->rounds_mean;
    sum->rounds_sd = var > 0 ? sqrt(var) : 0;
    sum->residue_mean = sum_res / k;
    sum->messages_per_node = sum_msg / k;
    sum->contacts_per_node = sum_con / k;
    return 0;
}

double sim_model_push_rounds_theory(size_t n)
{
    return log2((double)n) + log((double)n);
}

double sim_model_rumor_residue_theory(unsigned k)
{
    /* s = exp(-(k+1)(1-s)) has the root s = 1 and one in (0, 1); iterate
     * from 0, which climbs monotonically to the smaller root. */
    double s = 0;
    for (int i = 0; i < 1000; i++)
        s = exp(-(double)(k + 1) * (1.0 - s));
    return s;
}
