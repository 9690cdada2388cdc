/* scores.h: per (candidate, task) scores from the records of a sweep, and the ranking per task.
 *
 * A candidate's score on a task: demo matches / demo total, test matches / test total, a partial
 * score for near misses (the mean over demo samples of the cell accuracy of same-shape outputs,
 * 0 for any other outcome), and the total cpu time. Ranking per task, best first: more demo
 * matches, then more test matches, then higher partial score, then less cpu time, then the
 * candidate hash (so the order is total; only cpu time differs from run to run). Every score but
 * cpu time is exact whatever order the records arrive in (job split, resume, shards): the
 * partial score is summed in fixed point, not in floating point.
 *
 *   struct scoreboard sb = SCOREBOARD_INIT;
 *   struct score_record r = { .task = task_index, .cand = cand_hash, .is_test = ..., ... };
 *   scoreboard_add(&sb, &r);                             once per result record
 *   struct ranking rk; scoreboard_rank_all(&sb, n_tasks, &rk);   every task's candidates, best first:
 *       rk.by_task[rk.start[t] .. rk.start[t + 1])
 *   ranking_release(&rk);
 *   scoreboard_release(&sb); */
#ifndef BF_SCORES_H
#define BF_SCORES_H

#include "compat.h"
#include "proto.h"

struct cand_score {
    uint64_t cand;                 /* candidate hash */
    uint32_t task;                 /* task index */
    uint32_t demo_match, demo_total, test_match, test_total;
    uint64_t partial_sum;          /* sum of per-demo-sample cell accuracy, each term
                                    * floor(right * 2^PARTIAL_SHIFT / total): integer addition
                                    * does not depend on the order of the records */
    uint64_t cpu_us;
    uint64_t behaviour;            /* combined output hashes of the demo samples: equal values =
                                    * the same output on every demo sample (behavioural dedup) */
    uint32_t status_count[ST_COUNT];
    bool used;
};

#define PARTIAL_SHIFT 32

/* One table per task (open addressing on the candidate hash): the records of a job are one
 * sample of one task, so a job's lookups stay within a table of some kilobytes (perf: one table
 * over (task, cand) of 50 MB for arc-dsl's sweep cost a cache miss per record, 16% of the
 * master's samples). */
struct task_scores {
    struct cand_score *slot;
    size_t n, cap;
};
struct scoreboard {
    struct task_scores *task;      /* indexed by task, n_tasks of them */
    uint32_t n_tasks;
    size_t n;                      /* (candidate, task) pairs in all */
};
#define SCOREBOARD_INIT { NULL, 0, 0 }

struct score_record {              /* what scoring needs of one journal record */
    uint32_t task;
    uint64_t cand;
    bool is_test;
    uint32_t sample;               /* index within its kind */
    uint64_t out_hash;             /* behaviour hash of the output (0: unknown) */
    uint8_t status;
    bool match, shape_match;
    uint32_t cells_right, cells_total;
    uint64_t cpu_us;
};

int scoreboard_add(struct scoreboard *sb, const struct score_record *r); /* 0 or -ENOMEM */
const struct cand_score *scoreboard_get(const struct scoreboard *sb, uint32_t task, uint64_t cand);
double cand_score_partial(const struct cand_score *s);  /* in [0, 1] */
bool cand_score_solves(const struct cand_score *s);     /* every demo and test sample matched */
struct ranking {
    uint32_t n_tasks;
    size_t *start;                       /* n_tasks + 1 offsets into by_task */
    const struct cand_score **by_task;   /* grouped by task, best first within a task */
};
int scoreboard_rank_all(const struct scoreboard *sb, uint32_t n_tasks, struct ranking *rk);
void ranking_release(struct ranking *rk);
/* Strict "a ranks before b" (the order above). */
bool cand_score_better(const struct cand_score *a, const struct cand_score *b);
void scoreboard_release(struct scoreboard *sb);

#endif
