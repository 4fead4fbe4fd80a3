#include "sim/plot.h"

#include <math.h>
#include <string.h>

#define W 720.0
#define H 440.0
#define ML 70.0     /* margins: left, right, top, bottom */
#define MR 20.0
#define MT 40.0
#define MB 55.0

static const char *const colours[SIM_PLOT_MAX_SERIES] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
};

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `want` ticks. */
static double nice_step(double span, int want)
{
    double raw = span / want;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void text_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

int sim_plot_svg(FILE *f, const struct sim_plot *p, const struct sim_plot_series *s, size_t ns)
{
    if (ns == 0 || ns > SIM_PLOT_MAX_SERIES)
        return -1;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < s[i].n; j++) {
            double x = s[i].x[j], y = s[i].y[j];
            if (p->log_x) {
                if (x <= 0)
                    return -1;
                x = log10(x);
            }
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    }
    if (!isfinite(x0) || !isfinite(y0))
        return -1;
    if (p->y_from_zero && y0 > 0)
        y0 = 0;
    if (x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= y0)
        y1 = y0 + 1;
    double ys = nice_step(y1 - y0, 6);
    y0 = floor(y0 / ys) * ys;
    y1 = ceil(y1 / ys) * ys;
    double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (MT + ph - ((y) - y0) / (y1 - y0) * ph)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    text_escaped(f, p->title);
    fprintf(f, "</text>\n");
    /* y grid and ticks */
    for (double y = y0; y <= y1 + ys / 2; y += ys) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                ML, PY(y), ML + pw, PY(y));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ML - 6,
                PY(y) + 4, fabs(y) < ys / 1e6 ? 0.0 : y);
    }
    /* x ticks: decades on a log axis, nice steps otherwise */
    if (p->log_x) {
        for (double e = ceil(x0); e <= floor(x1) + 1e-9; e += 1) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                    PX(e), MT, PX(e), MT + ph);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", PX(e),
                    MT + ph + 18, pow(10, e));
        }
    } else {
        double xs = nice_step(x1 - x0, 8);
        for (double x = ceil(x0 / xs) * xs; x <= x1 + xs / 1e6; x += xs) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                    PX(x), MT, PX(x), MT + ph);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", PX(x),
                    MT + ph + 18, fabs(x) < xs / 1e6 ? 0.0 : x);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"black\"/>\n", ML, MT, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", ML + pw / 2, H - 12);
    text_escaped(f, p->xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(16 %.1f) rotate(-90)\" "
               "text-anchor=\"middle\">", MT + ph / 2);
    text_escaped(f, p->ylabel);
    fprintf(f, "</text>\n");
    for (size_t i = 0; i < ns; i++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                colours[i], s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        for (size_t j = 0; j < s[i].n; j++) {
            double x = p->log_x ? log10(s[i].x[j]) : s[i].x[j];
            fprintf(f, "%s%.1f,%.1f", j ? " " : "", PX(x), PY(s[i].y[j]));
        }
        fprintf(f, "\"/>\n");
        for (size_t j = 0; j < s[i].n && s[i].n <= 12; j++) {
            double x = p->log_x ? log10(s[i].x[j]) : s[i].x[j];
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(x),
                    PY(s[i].y[j]), colours[i]);
        }
        double ly = MT + 14 + 16.0 * (double)i;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", ML + 10, ly, ML + 34, ly, colours[i],
                s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", ML + 40, ly + 4);
        text_escaped(f, s[i].name);
        fprintf(f, "</text>\n");
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    return 0;
}
