/* The simulator's in-memory chain store (sim/memstore.c): chain/store.h
 * without SQLite, each distinct block body and undo record held once for
 * the whole process. Process-wide and single-threaded, like the
 * simulator. */
#ifndef GOSSIPD_SIM_MEMSTORE_H
#define GOSSIPD_SIM_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stores opened from now on (with a NULL path) are memory stores (true,
 * the default) or SQLite's in-memory databases (false). A store stays in
 * the mode it was opened in. */
void sim_memstore_use(bool on);

struct sim_memstore_stats {
    size_t stores;          /* memory stores open */
    size_t blobs;           /* distinct byte strings held */
    uint64_t stored_bytes;  /* their bytes */
    uint64_t shared_bytes;  /* bytes written that an existing copy served */
    uint64_t reads;         /* body and undo reads */
};
/* Borrowed; valid until the next call. */
const struct sim_memstore_stats *sim_memstore_stats(void);

#endif
