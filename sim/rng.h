/* The simulator's own PRNG (xoshiro256**, seeded by splitmix64). Every
 * random choice of a run comes from one of these, seeded from the run's
 * seed, so a seed replays the run exactly. Not cryptographic. */
#ifndef GOSSIPD_SIM_RNG_H
#define GOSSIPD_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct sim_rng {
    uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n); n > 0 (no modulo bias). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* True with probability num / den (den > 0). */
bool sim_rng_chance(struct sim_rng *r, uint64_t num, uint64_t den);

#endif
