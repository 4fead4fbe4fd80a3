/* Printing the simulator's results: readable tables or CSV, to a FILE.
 * Everything printed depends only on the results (no wall-clock figures),
 * so one seed prints the same bytes. */
#ifndef GOSSIPD_SIM_REPORT_H
#define GOSSIPD_SIM_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "sim/latency.h"
#include "sim/model.h"
#include "sim/proto.h"

void sim_report_model_header(FILE *f, bool csv);
void sim_report_model_row(FILE *f, bool csv, const struct sim_model_config *cfg,
                          const struct sim_model_summary *s);

/* "tx", "block", "txw" (a warm-up tx). */
const char *sim_item_kind_name(enum sim_item_kind kind);
void sim_report_proto_header(FILE *f, bool csv);
/* One row per item kind present in res (tx, block). */
void sim_report_proto_rows(FILE *f, bool csv, const struct sim_proto_config *cfg,
                           const struct sim_proto_result *res);
/* Per-item rows. */
/* Figures of the realism options (churn, adversaries, eclipse, miners),
 * one comment-like line; prints nothing when none is on. */
void sim_report_proto_extra(FILE *f, bool csv, const struct sim_proto_config *cfg,
                            const struct sim_proto_result *res);
void sim_report_proto_items(FILE *f, bool csv, const struct sim_proto_result *res);

void sim_report_latency_header(FILE *f, bool csv);
void sim_report_latency_row(FILE *f, bool csv, const struct sim_latency_config *cfg,
                            const struct sim_latency_summary *s);

#endif
