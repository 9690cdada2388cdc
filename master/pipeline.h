/* pipeline.h: what happens after the farm has filled the journal (design.md sections 1 and 5):
 * scores per (candidate, task) from every record of the journal (this run's and resumed ones),
 * rankings, scores.jsonl, the store of the best programs per task, the summary, and the outputs
 * pass: the best candidates of each task run again with their output grids kept, for the HTML
 * report and for submission.json (tasks whose test outputs are unknown).
 *
 *   struct pipeline pl; pipeline_init(&pl, &tasks, &pile);
 *   pipeline_load_scores(&pl, "out/results.jsonl");
 *   pipeline_write_scores(&pl, "out/scores.jsonl"); pipeline_update_store(&pl, "out/store", 32);
 *   pipeline_print_summary(&pl, stdout, ...);
 *   pipeline_run_outputs(&pl, &farm_config, top);  then pipeline_write_report / _submission
 *   pipeline_release(&pl); */
#ifndef BF_PIPELINE_H
#define BF_PIPELINE_H

#include <stdio.h>

#include "farm.h"
#include "pile.h"
#include "report.h"
#include "scores.h"
#include "task.h"

struct journal_entry;

struct pipeline_outputs; /* private */

struct pipeline {
    const struct task_set *tasks;
    const struct pile *pile;
    const uint8_t *own;             /* --own: own[task * n_valid + cand] allowed; NULL: all */
    struct scoreboard sb;
    struct ranking rk;
    uint64_t records;               /* journal records of this run's tasks and candidates */
    uint64_t by_status[ST_COUNT];
    struct pipeline_outputs *outs;
};

void pipeline_init(struct pipeline *pl, const struct task_set *tasks, const struct pile *pile);
void pipeline_release(struct pipeline *pl);

/* Reads every record of the journal (torn last line ignored) into scores and rankings. */
int pipeline_load_scores(struct pipeline *pl, const char *journal_path);
/* The same one record at a time, as the journal gets it (task and candidate by index; invalid:
 * an index into the pile's invalid candidates), then pipeline_rank: what pipeline_load_scores
 * would make of the journal those records were appended to. 0, or BF_ENOMEM. */
int pipeline_add_result(struct pipeline *pl, uint32_t task, bool invalid, uint32_t cand, const struct journal_entry *e);
int pipeline_rank(struct pipeline *pl);
int pipeline_write_scores(const struct pipeline *pl, const char *path);
/* Keeps the best `keep` candidates of each task (those that match at least one sample)
 * in dir/<task>/. Returns the number of programs stored, or a negative code. */
int pipeline_update_store(const struct pipeline *pl, const char *dir, uint32_t keep);
void pipeline_print_summary(const struct pipeline *pl, FILE *f, int stored);

/* Runs the `top` best valid candidates of every task again on all its samples, keeping the
 * outputs (the rest of the work is marked done for the farm). Returns a farm outcome. */
int pipeline_run_outputs(struct pipeline *pl, const struct farm_config *cfg, uint32_t top);
int pipeline_write_report(const struct pipeline *pl, const char *path, uint32_t top);
/* submission.json in the ARC Prize format for tasks with a test sample of unknown output: two
 * attempts per test input, from the best candidates by demo score (distinct outputs first).
 * Returns the number of tasks written (0: no such task, no file written). */
int pipeline_write_submission(const struct pipeline *pl, const char *path);

#endif
