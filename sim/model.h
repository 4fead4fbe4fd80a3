/* Model simulation: the classic epidemic schemes on an abstract network in
 * synchronous rounds, with no chain and no wire format. One update starts
 * at a random node; each round every node acts once, seeing the state the
 * round started with (an update received in round r is passed on from
 * round r + 1).
 *
 *   direct   the origin mails every other node in round 1 (baseline).
 *   push     anti-entropy, SI: every infected node sends the update to one
 *            random peer each round.
 *   pull     anti-entropy, SI: every node asks one random peer each round
 *            and gets the update if the peer had it.
 *   pushpull anti-entropy, SI: every node contacts one random peer and the
 *            exchange leaves both with the update if either had it.
 *   rumor    rumour mongering, SIR, push: every infective node sends the
 *            update to one random peer; if the peer already had it (the
 *            sender learns it: "feedback"), the sender loses interest
 *            (becomes removed) with probability 1/k ("coin", the default)
 *            or after k such useless contacts ("counter"). "blind" loses
 *            interest with probability 1/k after every contact.
 *
 * Peers are chosen uniformly among all other nodes (complete graph,
 * degree 0) or among the node's neighbours in a seeded random graph
 * (sim/graph.h). Each message is lost with probability loss_ppm / 10^6.
 *
 * Counted per run: rounds until every node has the update (anti-entropy,
 * direct) or until no infective node is left (rumor); residue (fraction
 * never reached); messages carrying the update (each one a copy of the
 * body: redundancy = messages / nodes reached); contacts (exchanges
 * started, with or without the update). */
#ifndef GOSSIPD_SIM_MODEL_H
#define GOSSIPD_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/graph.h"

/* A run that has not finished after this many rounds stops (residue > 0). */
#define SIM_MODEL_MAX_ROUNDS 10000u
#define SIM_MODEL_MAX_NODES SIM_GRAPH_MAX_NODES
#define SIM_MODEL_MAX_RUNS 100000u

enum sim_scheme {
    SIM_SCHEME_DIRECT = 0,
    SIM_SCHEME_PUSH,
    SIM_SCHEME_PULL,
    SIM_SCHEME_PUSHPULL,
    SIM_SCHEME_RUMOR,
    SIM_SCHEME_COUNT
};
enum sim_rumor_variant {
    SIM_RUMOR_COIN = 0,     /* feedback + coin: stop w.p. 1/k after a useless push */
    SIM_RUMOR_COUNTER,      /* feedback + counter: stop after k useless pushes */
    SIM_RUMOR_BLIND,        /* blind + coin: stop w.p. 1/k after any push */
    SIM_RUMOR_VARIANT_COUNT
};

const char *sim_scheme_name(enum sim_scheme s);     /* "push", ... */
/* Parses a scheme name; returns the scheme or -1. */
int sim_scheme_parse(const char *s);
const char *sim_rumor_variant_name(enum sim_rumor_variant v);
int sim_rumor_variant_parse(const char *s);

struct sim_model_config {
    enum sim_scheme scheme;
    size_t nodes;                  /* >= 2 */
    unsigned degree;               /* 0: complete graph; else average degree */
    unsigned k;                    /* rumor: 1/k coin or k-counter (>= 1) */
    enum sim_rumor_variant variant;
    uint32_t loss_ppm;
    uint64_t seed;
    unsigned runs;                 /* >= 1; each run its own origin (and graph) */
};

struct sim_model_run {
    unsigned rounds;               /* to full coverage, or until the rumour died */
    bool complete;                 /* every node reached */
    size_t reached;                /* nodes that have the update at the end */
    uint64_t messages;             /* update copies sent */
    uint64_t contacts;             /* exchanges started */
};

struct sim_model_summary {
    unsigned runs;
    unsigned complete_runs;
    double rounds_mean, rounds_sd;
    unsigned rounds_min, rounds_max;
    double residue_mean;           /* fraction of nodes never reached */
    double messages_per_node;      /* mean over runs of messages / nodes */
    double contacts_per_node;
};

/* One run on graph g (NULL: complete graph). rng drives every choice.
 * Returns 0, or -1 on bad arguments / out of memory. */
int sim_model_run_once(const struct sim_model_config *cfg, const struct sim_graph *g,
                       struct sim_rng *rng, struct sim_model_run *out);
/* cfg->runs runs from cfg->seed (a new random graph per run when degree
 * > 0); fills the summary and, if runs_out is not NULL, the first
 * cfg->runs entries of runs_out. Returns 0 or -1. */
int sim_model_run(const struct sim_model_config *cfg, struct sim_model_summary *sum,
                  struct sim_model_run *runs_out);

/* log2 N + ln N: Demers et al.'s rounds for push anti-entropy. */
double sim_model_push_rounds_theory(size_t n);
/* Residue s of feedback + coin rumour mongering for large N, the root in
 * (0, 1) of s = exp(-(k + 1)(1 - s)) (Demers et al. 1987). */
double sim_model_rumor_residue_theory(unsigned k);

#endif
