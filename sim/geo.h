/* Regions for geographic latency: SimBlock's six (Aoki et al., "SimBlock:
 * A Blockchain Network Simulator", IEEE INFOCOM workshops 2019, built from
 * measurements of the Bitcoin network): the share of nodes per region and
 * the inter-region latency table (ms), used here as the mean one-way
 * latency of a link. Order: North America, Europe, South America,
 * Asia-Pacific, Japan, Australia. */
#ifndef GOSSIPD_SIM_GEO_H
#define GOSSIPD_SIM_GEO_H

#include <stdint.h>

#include "sim/rng.h"

#define SIM_GEO_REGIONS 6u
#define SIM_GEO_JITTER_MS 10u   /* added uniformly to each link or frame */

static const uint32_t sim_geo_share_permille[SIM_GEO_REGIONS] = { 332, 500, 9, 118, 22, 19 };
static const uint32_t sim_geo_oneway_ms[SIM_GEO_REGIONS * SIM_GEO_REGIONS] = {
     32, 124, 184, 198, 151, 189,
    124,  11, 227, 237, 252, 294,
    184, 227,  88, 325, 301, 322,
    198, 237, 325,  85,  58, 198,
    151, 252, 301,  58,  12, 126,
    189, 294, 322, 198, 126,  16,
};

/* A region drawn by the share of nodes. */
static inline unsigned sim_geo_draw(struct sim_rng *rng)
{
    uint64_t x = sim_rng_below(rng, 1000);
    unsigned r = 0;
    while (r + 1 < SIM_GEO_REGIONS && x >= sim_geo_share_permille[r]) {
        x -= sim_geo_share_permille[r];
        r++;
    }
    return r;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(struct sim_rng *rng)
{
    return (double)(sim_rng_next(rng) >> 11) / 9007199254740992.0;
}

#endif
