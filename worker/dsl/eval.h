/* eval.h: evaluating candidates (roots in the DAG of program.h) on one sample.
 *
 * The worker keeps one DAG (nodes appended by NODES messages) and the inputs of its tasks. For a
 * job it evaluates candidates one after another on one sample; a node's value is memoised for the
 * rest of the sample, so a sub-expression shared by many candidates runs once, and a node that
 * failed (error, timeout, memout) fails every later candidate that depends on it without running
 * again. Each candidate gets its own soft time limit (SIGALRM) and memory cap.
 *
 *   eval_init();                                      once: SIGALRM handler
 *   struct eval_inputs in; eval_inputs_make(&in, task samples...)   long-lived values of a task
 *   eval_sample_begin(&st, nodes, n, &in, sample_index, mem_limit);
 *   for each candidate: eval_candidate(&st, root, limit_ms, &res);  res.value valid until _end
 *   (or eval_sample_plan(&st, roots, n), then eval_plan_candidate(&st, k, limit_ms, &res) for
 *   k = 0 .. n-1: res.value valid until the next candidate runs)
 *   eval_sample_end(&st);                             resets the evaluation arena
 */
#ifndef BF_EVAL_H
#define BF_EVAL_H

#include "../../common/program.h"
#include "../../common/task.h"
#include "dsl.h"

/* Installs the SIGALRM handler (the evaluator owns SIGALRM: call it again if other code, such
 * as a test framework, installed its own since). */
void eval_init(void);

extern uint64_t eval_nodes_run; /* DAG nodes computed so far (statistics and tests) */

/* The values of one task's samples: I per sample, S = the demo (input, output) pairs; kept in a
 * long-lived arena until eval_inputs_release. */
struct eval_inputs {
    uint32_t n;
    val *input;       /* per sample */
    val *output;      /* per sample (None when unknown) */
    val S;            /* tuple of (input, output) demo pairs */
    void *arena_;     /* private */
};
void eval_inputs_make(struct eval_inputs *in, const struct sample *samples, uint32_t n_demo, uint32_t n);
void eval_inputs_release(struct eval_inputs *in);

struct eval_result {
    enum dsl_outcome outcome;
    val value;              /* when DSL_OK */
    char msg[256];          /* "ValueError: ...", "timeout after 100 ms", ... */
    uint64_t cpu_us, wall_us;
};

struct eval_state; /* opaque */
struct eval_state *eval_state_new(void);
void eval_state_free(struct eval_state *st);

void eval_sample_begin(struct eval_state *st, const struct pnode *nodes, uint32_t n_nodes,
                       const struct eval_inputs *in, uint32_t sample, size_t mem_limit);
void eval_candidate(struct eval_state *st, struct ref root, uint32_t limit_ms, struct eval_result *out);
/* Optional, after eval_sample_begin: the candidates that will run on the sample (roots, in the
 * order they run; copied). eval_plan_candidate(st, k, ...) then runs roots[k]: the memory of
 * the nodes no later candidate of the plan needs is handed back before the next candidate runs
 * (its result's value stays valid until then). Candidates may be skipped, not run out of order
 * (an earlier one would find its own nodes gone: computed again, but slower). */
void eval_sample_plan(struct eval_state *st, const struct ref *roots, uint32_t n);
void eval_plan_candidate(struct eval_state *st, uint32_t k, uint32_t limit_ms, struct eval_result *out);
void eval_sample_end(struct eval_state *st);
/* When, between two candidates, the sample's arena holds more than this many bytes (default
 * 512 MiB), eval_candidate drops the memo and the arena before running the next one: the
 * values of earlier results of that sample are then gone, so copy results out (val_to_cells,
 * val_score) before the next eval_candidate call when that can happen. */
void eval_state_set_reset_bytes(struct eval_state *st, size_t bytes);
/* The caller only ever appends nodes to its DAG, so a node id keeps its meaning: then a sample
 * whose roots are those of the last plan, over as many nodes, reuses that plan. */
void eval_state_set_dag_append_only(struct eval_state *st, bool append_only);

/* One protected evaluation in the current arena: clears the runtime state, arms the timer
 * (limit_ms, 0 = none) and the memory cap (mem_limit bytes of arena growth, 0 = none), runs
 * fn(ctx), and fills out (value = what fn returned). Used by the evaluator and by tests. */
void eval_call_protected(val (*fn)(void *ctx), void *ctx, uint32_t limit_ms, size_t mem_limit,
                         struct eval_result *out);

/* Evaluates one parsed program on one input directly (no DAG): the `run` command and tests.
 * Every line runs in order, as in Python. out->value lives in a private arena until the next
 * eval_program call; I, S and C must live elsewhere (eval_inputs_make). */
void eval_program(const struct program *p, val I, val S, val C, uint32_t limit_ms, size_t mem_limit,
                  struct eval_result *out);
/* Ends the life of eval_program's last result now rather than at the next call: returns the
 * memory a runaway evaluation took beyond what the arena keeps (benchmarks charge it to the
 * call that took it). */
void eval_program_release(void);

/* Optional profile of eval_program by line (benchmarks): time and calls per primitive called
 * directly by a line (slot PRIM_COUNT: lines that call a function value). A line that raises
 * or times out is not counted in ns; `current` and `t0` let the caller charge it. NULL: off. */
struct eval_line_profile {
    uint64_t ns[PRIM_COUNT + 1], calls[PRIM_COUNT + 1];
    uint32_t current; /* slot of the line running, PRIM_COUNT + 1 between lines */
    uint64_t t0;      /* CLOCK_MONOTONIC ns when it started */
};
extern struct eval_line_profile *eval_line_profile;

/* Grid conversions. */
val grid_to_val(const struct grid *g);   /* in the current arena */
/* A value that is a rectangular grid (tuple of equal-length int tuples) of colours 0..9 with
 * sides 1..max_side: copies its cells and returns true. */
bool val_to_cells(val v, uint8_t *cells, uint16_t *h, uint16_t *w, uint16_t max_side);
/* Compares an output value with an expected grid: match, shape match, cells right/total. */
void val_score(val v, const struct grid *expected, bool *match, bool *shape_match,
               uint32_t *cells_right, uint32_t *cells_total);

#endif
