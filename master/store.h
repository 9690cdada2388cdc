/* store.h: the best K programs per task, kept across runs (the seed's solver_dir, done safely).
 *
 * DIR/<task>/<16 hex hash>.py, one file per candidate: a header line with its scores, a line
 * naming where it came from, then the program with its def renamed solve_<task> (so the store
 * is itself a candidate pile, usable with --own). Only the master writes it; every file is
 * written to a temporary name and renamed into place, so a crash never leaves a torn program.
 * store_update() merges new entries with what the directory already holds, keeps the best K by
 * (demo matches, test matches, partial score, cpu time, hash) and deletes the others. */
#ifndef BF_STORE_H
#define BF_STORE_H

#include "compat.h"

#define STORE_DEFAULT_KEEP 32

struct store_entry {
    uint64_t cand;
    uint32_t demo_match, demo_total, test_match, test_total;
    double partial;
    uint64_t cpu_us;
    const char *source;  /* the definition's text */
    const char *origin;  /* "file.py (solve_x)" */
};

/* entries: the task's best candidates of this run (pass at most a few times keep: merging is
 * linear per entry). Returns the number of entries kept, or a negative code (the message is logged). */
int store_update(const char *dir, const char *task, const struct store_entry *entries, size_t n, size_t keep);

#endif
