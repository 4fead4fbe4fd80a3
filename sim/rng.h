/* The simulator's PRNG: the p2p core's xoshiro256** (seeded by splitmix64),
 * so there is one generator in the project. Every random choice of a run
 * comes from one of these, seeded from the run's seed, so a seed replays
 * the run exactly. Not cryptographic. */
#ifndef GOSSIPD_SIM_RNG_H
#define GOSSIPD_SIM_RNG_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "p2p/util.h"

struct sim_rng {
    struct p2p_rng r;
};

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed) { p2p_rng_seed(&r->r, seed); }
static inline uint64_t sim_rng_next(struct sim_rng *r) { return p2p_rng_next(&r->r); }
/* Uniform in [0, n); n > 0 (no modulo bias). */
static inline uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    return p2p_rng_below(&r->r, n);
}
/* True with probability num / den (den > 0). */
static inline bool sim_rng_chance(struct sim_rng *r, uint64_t num, uint64_t den)
{
    assert(den > 0);
    return p2p_rng_below(&r->r, den) < num;
}

#endif
