/* SVG line charts written by the simulator itself (no plotting tool
 * needed): a few series of (x, y) points on linear or log-x axes, with
 * ticks, a legend and a title. */
#ifndef GOSSIPD_SIM_PLOT_H
#define GOSSIPD_SIM_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SIM_PLOT_MAX_SERIES 8u

struct sim_plot_series {
    const char *name;
    size_t n;
    const double *x, *y;
    bool dashed;            /* a model or a reference, not a measurement */
};

struct sim_plot {
    const char *title, *xlabel, *ylabel;
    bool log_x;
    bool y_from_zero;
};

/* Writes the chart; 0, or -1 on bad arguments (no series, too many,
 * non-positive x on a log axis). */
int sim_plot_svg(FILE *f, const struct sim_plot *p, const struct sim_plot_series *s, size_t ns);

#endif
