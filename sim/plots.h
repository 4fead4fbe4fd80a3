/* The figures of docs/SIMULATION.md: coverage vs time for several N,
 * delay vs redundancy per relay mode, stale rate vs block interval,
 * rounds vs log N. */
#ifndef GOSSIPD_SIM_PLOTS_H
#define GOSSIPD_SIM_PLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* which: coverage | redundancy | stale | rounds. Writes SVG (or CSV).
 * Returns 0, or -1 on an unknown name or a failed run. */
int sim_plots_run(FILE *f, const char *which, uint64_t seed, bool csv);

#endif
