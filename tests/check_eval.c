/* check_eval.c: the evaluator: memo sharing across candidates of a sample, failures recorded
 * on the failing node (dependents fail without running), per-candidate timeouts and memory
 * caps, the memo reset threshold, inputs, and eval_program on parsed programs. */
#include "compat.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "eval.h"

/* ---- a hand-built DAG (node i may only use nodes < i) ---- */

static struct ref R_node(uint32_t id) { struct ref r = { REF_NODE, id }; return r; }
static struct ref R_const(enum const_id id) { struct ref r = { REF_CONST, (uint32_t)id }; return r; }
static struct ref R_prim(enum prim_id id) { struct ref r = { REF_PRIM, (uint32_t)id }; return r; }
static struct ref R_I(void) { struct ref r = { REF_I, 0 }; return r; }

static struct pnode N(struct ref callee, int nargs, struct ref a0, struct ref a1, struct ref a2)
{
    struct pnode n;
    memset(&n, 0, sizeof(n));
    n.callee = callee;
    n.nargs = (uint8_t)nargs;
    n.arg[0] = a0;
    n.arg[1] = a1;
    n.arg[2] = a2;
    return n;
}

enum {
    N_THREE, N_SIX, N_NEG3, N_DIV0, N_AFTER_DIV0, N_ADD_TEN, N_SIXTEEN, N_100, N_1E4, N_1E6,
    N_RANGE, N_INC, N_INC100, N_SLOW, N_SLOW_SIZE, N_HEIGHT, N_1E5, N_RANGE5, N_PRE, N_PRE_SIZE,
    N_4E6, N_RANGE4M, N_SLOW4M, N_SLOW4M_SIZE, N_PRE_THEN_SLOW, N_COUNT
};

static struct pnode dag[N_COUNT];

static void dag_build(void)
{
    struct ref none = { REF_NONE, 0 };
    dag[N_THREE] = N(R_prim(PRIM_add), 2, R_const(CONST_ONE), R_const(CONST_TWO), none);
    dag[N_SIX] = N(R_prim(PRIM_double), 1, R_node(N_THREE), none, none);
    dag[N_NEG3] = N(R_prim(PRIM_invert), 1, R_node(N_THREE), none, none);
    dag[N_DIV0] = N(R_prim(PRIM_divide), 2, R_node(N_THREE), R_const(CONST_ZERO), none);
    dag[N_AFTER_DIV0] = N(R_prim(PRIM_add), 2, R_node(N_DIV0), R_const(CONST_ONE), none);
    dag[N_ADD_TEN] = N(R_prim(PRIM_rbind), 2, R_prim(PRIM_add), R_const(CONST_TEN), none);
    dag[N_SIXTEEN] = N(R_node(N_ADD_TEN), 1, R_node(N_SIX), none, none);
    dag[N_100] = N(R_prim(PRIM_multiply), 2, R_const(CONST_TEN), R_const(CONST_TEN), none);
    dag[N_1E4] = N(R_prim(PRIM_multiply), 2, R_node(N_100), R_node(N_100), none);
    dag[N_1E6] = N(R_prim(PRIM_multiply), 2, R_node(N_1E4), R_node(N_100), none);
    dag[N_RANGE] = N(R_prim(PRIM_interval), 3, R_const(CONST_ZERO), R_node(N_1E6), R_const(CONST_ONE));
    dag[N_INC] = N(R_prim(PRIM_rbind), 2, R_prim(PRIM_add), R_const(CONST_ONE), none);
    dag[N_INC100] = N(R_prim(PRIM_power), 2, R_node(N_INC), R_node(N_100), none);
    dag[N_SLOW] = N(R_prim(PRIM_apply), 2, R_node(N_INC100), R_node(N_RANGE), none);
    dag[N_SLOW_SIZE] = N(R_prim(PRIM_size), 1, R_node(N_SLOW), none, none);
    dag[N_HEIGHT] = N(R_prim(PRIM_size), 1, R_I(), none, none);
    dag[N_1E5] = N(R_prim(PRIM_multiply), 2, R_node(N_1E4), R_const(CONST_TEN), none);
    dag[N_RANGE5] = N(R_prim(PRIM_interval), 3, R_const(CONST_ZERO), R_node(N_1E5), R_const(CONST_ONE));
    dag[N_PRE] = N(R_prim(PRIM_apply), 2, R_node(N_INC100), R_node(N_RANGE5), none);
    dag[N_PRE_SIZE] = N(R_prim(PRIM_size), 1, R_node(N_PRE), none, none);
    dag[N_4E6] = N(R_prim(PRIM_multiply), 2, R_node(N_1E6), R_const(CONST_FOUR), none);
    dag[N_RANGE4M] = N(R_prim(PRIM_interval), 3, R_const(CONST_ZERO), R_node(N_4E6), R_const(CONST_ONE));
    dag[N_SLOW4M] = N(R_prim(PRIM_apply), 2, R_node(N_INC100), R_node(N_RANGE4M), none);
    dag[N_SLOW4M_SIZE] = N(R_prim(PRIM_size), 1, R_node(N_SLOW4M), none, none);
    dag[N_PRE_THEN_SLOW] = N(R_prim(PRIM_astuple), 2, R_node(N_PRE_SIZE), R_node(N_SLOW4M_SIZE), none);
}

static struct sample samples[2];
static struct eval_inputs inputs;

static void inputs_build(void)
{
    memset(samples, 0, sizeof(samples));
    for (int s = 0; s < 2; s++) {
        samples[s].kind = SAMPLE_DEMO;
        samples[s].index = (uint16_t)s;
        samples[s].has_output = true;
        samples[s].input.h = (uint8_t)(2 + s);
        samples[s].input.w = 3;
        samples[s].output.h = 1;
        samples[s].output.w = 1;
        for (int k = 0; k < 9; k++)
            samples[s].input.cell[k] = (uint8_t)(k % 10);
    }
    eval_inputs_make(&inputs, samples, 2, 2);
}

static struct eval_state *st;

static void setup(void)
{
    eval_init(); /* after Check's own SIGALRM handler: the evaluator owns SIGALRM */
    dag_build();
    inputs_build();
    st = eval_state_new();
}

static void teardown(void)
{
    eval_state_free(st);
    eval_inputs_release(&inputs);
}

/* Runs one candidate; returns how many nodes it computed. */
static uint64_t run(uint32_t root, uint32_t limit_ms, struct eval_result *r)
{
    uint64_t before = eval_nodes_run;
    eval_candidate(st, R_node(root), limit_ms, r);
    return eval_nodes_run - before;
}

static int64_t int_result(const struct eval_result *r)
{
    ck_assert_msg(r->outcome == DSL_OK, "outcome %d: %s", r->outcome, r->msg);
    ck_assert(v_is_int(r->value));
    return r->value.u.i;
}

static const char *repr_of(val v)
{
    static char buf[512];
    struct strbuf sb = { 0 };
    val_repr(v, &sb);
    snprintf(buf, sizeof(buf), "%s", sb.p);
    sb_release(&sb);
    return buf;
}

/* Parses text into pf: n programs, each passing the static check. */
static void parse_checked(struct program_file *pf, const char *file, const char *text, int n)
{
    ck_assert_int_eq(program_parse(pf, file, text, strlen(text), stderr), n);
    for (size_t i = 0; i < pf->n; i++)
        ck_assert_msg(program_check(&pf->progs[i]), "%s", pf->progs[i].why);
}

/* p on the first input, under a cap of mem bytes (0: none), returns a value whose repr is expect. */
static void expect_value(const struct program *p, size_t mem, const char *expect)
{
    struct eval_result r;
    eval_program(p, inputs.input[0], inputs.S, v_none(), 5000, mem, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s: %s", p->name, r.msg);
    ck_assert_str_eq(repr_of(r.value), expect);
}

START_TEST(test_memo_sharing)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    ck_assert_uint_eq(run(N_SIX, 1000, &r), 2);
    ck_assert_int_eq(int_result(&r), 6);
    ck_assert_uint_eq(run(N_NEG3, 1000, &r), 1); /* 3 is shared */
    ck_assert_int_eq(int_result(&r), -3);
    ck_assert_uint_eq(run(N_SIXTEEN, 1000, &r), 2); /* a closure held by a node, called */
    ck_assert_int_eq(int_result(&r), 16);
    ck_assert_uint_eq(run(N_SIX, 1000, &r), 0);
    ck_assert_int_eq(int_result(&r), 6);
    ck_assert_uint_eq(run(N_HEIGHT, 1000, &r), 1);
    ck_assert_int_eq(int_result(&r), 2);
    eval_sample_end(st);
    /* another sample: nothing is remembered, and I is that sample's input */
    eval_sample_begin(st, dag, N_COUNT, &inputs, 1, 0);
    ck_assert_uint_eq(run(N_SIX, 1000, &r), 2);
    ck_assert_uint_eq(run(N_HEIGHT, 1000, &r), 1);
    ck_assert_int_eq(int_result(&r), 3);
    eval_sample_end(st);
}
END_TEST

START_TEST(test_failure_shared)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    ck_assert_uint_eq(run(N_AFTER_DIV0, 1000, &r), 2); /* 3 and the division; the add never runs */
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_msg(strncmp(r.msg, "ZeroDivisionError: ", 19) == 0, "%s", r.msg);
    char first[256];
    snprintf(first, sizeof(first), "%s", r.msg);
    ck_assert_uint_eq(run(N_AFTER_DIV0, 1000, &r), 0);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_str_eq(r.msg, first);
    ck_assert_uint_eq(run(N_DIV0, 1000, &r), 0);
    ck_assert_str_eq(r.msg, first);
    ck_assert_uint_eq(run(N_SIX, 1000, &r), 1); /* unrelated candidates are unaffected */
    ck_assert_int_eq(int_result(&r), 6);
    eval_sample_end(st);
}
END_TEST

START_TEST(test_timeout_per_candidate)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    run(N_SLOW_SIZE, 100, &r);
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_str_eq(r.msg, "timeout after 100 ms");
    ck_assert_uint_ge(r.wall_us, 100000);
    ck_assert_uint_lt(r.wall_us, 150000);
    /* the next candidate has its own budget */
    ck_assert_uint_eq(run(N_SIX, 100, &r), 2);
    ck_assert_int_eq(int_result(&r), 6);
    /* the slow node now starts at once, uses its whole budget, and is remembered as a timeout */
    run(N_SLOW_SIZE, 100, &r);
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_uint_eq(run(N_SLOW_SIZE, 100, &r), 0);
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_uint_lt(r.wall_us, 20000);
    eval_sample_end(st);
}
END_TEST

/* At a 1 s limit the slack is 20 ms, more than two ticks of the coarse clock, so a node's start
 * is read from it when it is certainly early (node_clock_start). The slow node is not kept as a
 * timeout when a slower node than the slack ran before it in the candidate, and is kept when it
 * starts at once. (Fails when every node is taken as early, or none is.) N_SLOW4M takes about
 * 3 s without a limit, N_PRE about 80 ms (on the machine this was written on). */
START_TEST(test_timeout_kept_only_when_node_started_early)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 1, 0);
    int_result((run(N_PRE_SIZE, 5000, &r), &r));
    ck_assert_msg(r.wall_us > 40000, "N_PRE took %llu us: too fast for this test", (unsigned long long)r.wall_us);
    eval_sample_end(st);

    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    run(N_PRE_THEN_SLOW, 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_uint_eq(run(N_PRE_SIZE, 1000, &r), 0); /* N_PRE ran first, then N_SLOW, late */
    ck_assert_uint_ge(run(N_SLOW4M_SIZE, 1000, &r), 1); /* not kept: run again, from its start */
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_uint_ge(r.wall_us, 1000000);
    ck_assert_uint_eq(run(N_SLOW4M_SIZE, 1000, &r), 0); /* it started at once: kept */
    ck_assert_int_eq(r.outcome, DSL_TIMEOUT);
    ck_assert_uint_lt(r.wall_us, 20000);
    eval_sample_end(st);
}
END_TEST

START_TEST(test_memout_per_candidate)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, (size_t)4 << 20);
    run(N_RANGE, 2000, &r); /* a million-item tuple: 16 MB */
    ck_assert_int_eq(r.outcome, DSL_MEMOUT);
    ck_assert_uint_eq(run(N_RANGE, 2000, &r), 0);
    ck_assert_int_eq(r.outcome, DSL_MEMOUT);
    ck_assert_uint_eq(run(N_SIX, 2000, &r), 2);
    ck_assert_int_eq(int_result(&r), 6);
    eval_sample_end(st);
    /* without the cap it fits, and a sample arena past the reset threshold drops the memo */
    eval_state_set_reset_bytes(st, (size_t)1 << 20);
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    ck_assert_uint_eq(run(N_SIX, 2000, &r), 2);
    run(N_RANGE, 2000, &r);
    ck_assert_int_eq(r.outcome, DSL_OK);
    ck_assert_int_eq(val_len(r.value), 1000000);
    ck_assert_uint_eq(run(N_SIX, 2000, &r), 2); /* memo dropped: recomputed */
    ck_assert_int_eq(int_result(&r), 6);
    eval_sample_end(st);
}
END_TEST

/* With a plan, what a candidate alone needs is handed back before the next one runs, while
 * the nodes later candidates need stay: here the 16 MB tuple of candidate 1 would push the
 * sample's arena past the reset threshold (8 MB), which would drop 10**6, shared with
 * candidate 3, had that memory been kept. */
static uint64_t run_planned(uint32_t k, struct eval_result *r)
{
    uint64_t before = eval_nodes_run;
    eval_plan_candidate(st, k, 2000, r);
    return eval_nodes_run - before;
}

START_TEST(test_plan_hands_back_own_nodes)
{
    struct eval_result r;
    const struct ref plan[] = { R_node(N_1E4), R_node(N_RANGE), R_node(N_SIX), R_node(N_1E6) };
    eval_state_set_reset_bytes(st, (size_t)8 << 20);
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    eval_sample_plan(st, plan, 4);
    ck_assert_uint_eq(run_planned(0, &r), 2); /* 100, 10**4 */
    ck_assert_int_eq(int_result(&r), 10000);
    ck_assert_uint_eq(run_planned(1, &r), 2); /* 10**6 (candidate 3's), then its own range */
    ck_assert_int_eq(r.outcome, DSL_OK);
    ck_assert_int_eq(val_len(r.value), 1000000); /* valid until the next candidate runs */
    ck_assert_int_eq(val_index(r.value, 999999).u.i, 999999);
    ck_assert_uint_eq(run_planned(2, &r), 2);
    ck_assert_int_eq(int_result(&r), 6);
    ck_assert_uint_eq(run_planned(3, &r), 0); /* kept: no reset, as the range was handed back */
    ck_assert_int_eq(int_result(&r), 1000000);
    ck_assert_uint_eq(run(N_RANGE, 2000, &r), 1); /* outside the plan: computed again */
    ck_assert_int_eq(val_len(r.value), 1000000);
    eval_sample_end(st);
    /* a candidate outside the plan is an error, not a crash */
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    eval_sample_plan(st, plan, 4);
    eval_plan_candidate(st, 4, 100, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    eval_sample_end(st);
}
END_TEST

/* With an append-only DAG a plan is reused on the next sample when the roots are the same, and
 * made again when they differ: here the same roots in another order must hand back candidate 0's
 * 16 MB range (it alone needs it), or the reset that follows would drop 10**4 and 10**6. */
START_TEST(test_plan_reused_only_for_same_roots)
{
    struct eval_result r;
    const struct ref first[] = { R_node(N_1E4), R_node(N_RANGE), R_node(N_SIX), R_node(N_1E6) };
    const struct ref other[] = { R_node(N_RANGE), R_node(N_1E4), R_node(N_SIX), R_node(N_1E6) };
    eval_state_set_reset_bytes(st, (size_t)8 << 20);
    eval_state_set_dag_append_only(st, true);
    for (uint32_t s = 0; s < 2; s++) { /* the second sample reuses the plan */
        eval_sample_begin(st, dag, N_COUNT, &inputs, s, 0);
        eval_sample_plan(st, first, 4);
        ck_assert_uint_eq(run_planned(0, &r), 2);
        ck_assert_uint_eq(run_planned(1, &r), 2);
        ck_assert_int_eq(val_len(r.value), 1000000);
        ck_assert_uint_eq(run_planned(2, &r), 2);
        ck_assert_uint_eq(run_planned(3, &r), 0);
        ck_assert_int_eq(int_result(&r), 1000000);
        eval_sample_end(st);
    }
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    eval_sample_plan(st, other, 4);
    ck_assert_uint_eq(run_planned(0, &r), 4); /* 100, 10**4, 10**6, the range */
    ck_assert_int_eq(val_len(r.value), 1000000);
    ck_assert_uint_eq(run_planned(1, &r), 0); /* kept */
    ck_assert_int_eq(int_result(&r), 10000);
    ck_assert_uint_eq(run_planned(2, &r), 2);
    ck_assert_uint_eq(run_planned(3, &r), 0);
    ck_assert_int_eq(int_result(&r), 1000000);
    eval_sample_end(st);
}
END_TEST

/* With a plan, a failed node shared with a later candidate fails it without running again,
 * and a candidate that fails in a node of its own gives back that node's memory too. */
START_TEST(test_plan_failures)
{
    struct eval_result r;
    const struct ref plan[] = { R_node(N_AFTER_DIV0), R_node(N_DIV0), R_node(N_SIX), R_node(N_AFTER_DIV0) };
    eval_sample_begin(st, dag, N_COUNT, &inputs, 0, 0);
    eval_sample_plan(st, plan, 4);
    ck_assert_uint_eq(run_planned(0, &r), 2); /* 3 and the division (needed later): the add never runs */
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    char first[256];
    snprintf(first, sizeof(first), "%s", r.msg);
    ck_assert_msg(strncmp(first, "ZeroDivisionError: ", 19) == 0, "%s", first);
    ck_assert_uint_eq(run_planned(1, &r), 0);
    ck_assert_str_eq(r.msg, first);
    ck_assert_uint_eq(run_planned(2, &r), 1); /* 3 is kept (candidate 3 needs it, through the division) */
    ck_assert_int_eq(int_result(&r), 6);
    ck_assert_uint_eq(run_planned(3, &r), 0);
    ck_assert_str_eq(r.msg, first);
    eval_sample_end(st);
}
END_TEST

/* With a plan, a candidate still fails with the error it alone would meet first: solve_first
 * fails in its own x2 (TypeError) before x1 (ZeroDivisionError), which solve_later shares and so
 * is run ahead of solve_first's own nodes. */
static const char plan_errors_text[] =
    "def solve_first(I):\n"
    "    x1 = divide(ONE, ZERO)\n"
    "    x2 = size(ONE)\n"
    "    O = astuple(x2, x1)\n"
    "    return O\n"
    "\n"
    "def solve_later(I):\n"
    "    x1 = divide(ONE, ZERO)\n"
    "    O = invert(x1)\n"
    "    return O\n";

START_TEST(test_plan_error_order)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "plan_errors.py", plan_errors_text, 2);
    struct dag d = DAG_INIT;
    const struct ref plan[] = { dag_add(&d, &pf.progs[0]), dag_add(&d, &pf.progs[1]) };
    struct eval_result r;
    char alone[256];
    eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
    eval_candidate(st, plan[0], 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    snprintf(alone, sizeof alone, "%s", r.msg);
    ck_assert_msg(strncmp(alone, "TypeError", 9) == 0, "%s", alone);
    eval_sample_end(st);
    eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
    eval_sample_plan(st, plan, 2);
    eval_plan_candidate(st, 0, 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_str_eq(r.msg, alone);
    uint64_t before = eval_nodes_run;
    eval_plan_candidate(st, 1, 1000, &r); /* the division failed once, for candidate 0 */
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_msg(strncmp(r.msg, "ZeroDivisionError", 17) == 0, "%s", r.msg);
    ck_assert_uint_eq(eval_nodes_run - before, 0);
    eval_sample_end(st);
    dag_release(&d);
    program_file_release(&pf);
}
END_TEST

START_TEST(test_leaf_root)
{
    struct eval_result r;
    eval_sample_begin(st, dag, N_COUNT, &inputs, 1, 0);
    eval_candidate(st, R_I(), 100, &r);
    ck_assert_int_eq(r.outcome, DSL_OK);
    bool match, shape;
    uint32_t right, total;
    val_score(r.value, &samples[1].input, &match, &shape, &right, &total);
    ck_assert(match && shape);
    ck_assert_uint_eq(right, 9);
    val_score(r.value, &samples[0].input, &match, &shape, &right, &total);
    ck_assert(!match && !shape);
    ck_assert_uint_eq(right, 0);
    uint8_t cells[GRID_MAX * GRID_MAX];
    uint16_t h, w;
    ck_assert(val_to_cells(r.value, cells, &h, &w, GRID_MAX));
    ck_assert_uint_eq(h, 3);
    ck_assert_uint_eq(w, 3);
    ck_assert_uint_eq(cells[5], 5);
    eval_sample_end(st);
}
END_TEST

/* Fast paths that must give what CPython gives: fixture programs run on the inputs of
 * tests/fixtures/removal/removal.json against a dump of CPython's values (every value in full),
 * each directly and through the DAG. *counter (one of dsl_rt's) must have grown by more than
 * min_hits over a program for which fast(its name) holds, and not at all over the others. */
#define FIXTURES BF_SOURCE_DIR "/tests/fixtures"

static char *fixture_expected(FILE *dump, const char *sample, const char *program)
{
    char *line = NULL;
    size_t cap = 0;
    rewind(dump);
    while (getline(&line, &cap, dump) > 0) {
        char *task = strtok(line, "\t"), *s = strtok(NULL, "\t"), *p = strtok(NULL, "\t"), *out = strtok(NULL, "\n");
        if (task && s && p && out && strcmp(s, sample) == 0 && strcmp(p, program) == 0) {
            memmove(line, out, strlen(out) + 1);
            return line;
        }
    }
    free(line);
    ck_abort_msg("dump: no line for %s %s", sample, program);
    return NULL;
}

static void check_fixture(const char *stem, int n_programs, const uint64_t *counter,
                          bool (*fast)(const char *name), uint64_t min_hits)
{
    char path[512], dump_path[512];
    struct task t;
    char err[256];
    ck_assert_msg(task_load_file(FIXTURES "/removal/removal.json", &t, err, sizeof err) == 0, "%s", err);
    struct eval_inputs in;
    eval_inputs_make(&in, t.samples, t.n_demo, t.n_demo + t.n_test);
    struct program_file pf = PROGRAM_FILE_INIT;
    snprintf(path, sizeof path, FIXTURES "/%s/%s.py", stem, stem);
    snprintf(dump_path, sizeof dump_path, FIXTURES "/%s/%s.dump", stem, stem);
    ck_assert_int_eq(program_parse_file(&pf, path, stderr), n_programs);
    FILE *dump = fopen(dump_path, "r");
    ck_assert_ptr_nonnull(dump);
    struct dag d = DAG_INIT;
    for (size_t i = 0; i < pf.n; i++) {
        const struct program *p = &pf.progs[i];
        ck_assert_msg(program_check(&pf.progs[i]), "%s", p->why);
        struct ref root = dag_add(&d, p);
        uint64_t hits0 = *counter;
        for (uint32_t k = 0; k < in.n; k++) {
            char sample[32], program[96];
            snprintf(sample, sizeof sample, "train/%u", k);
            snprintf(program, sizeof program, "%s:%s", stem, p->name);
            char *expect = fixture_expected(dump, sample, program);
            struct eval_result r;
            static const char *const way_name[] = { "", " (DAG)", " (DAG, planned)" };
            for (int way = 0; way < 3; way++) {
                bool via_dag = way > 0;
                if (way == 0) {
                    eval_program(p, in.input[k], in.S, v_none(), 5000, 0, &r);
                } else {
                    eval_sample_begin(st, d.nodes, d.n, &in, k, 0);
                    if (way == 1) {
                        eval_candidate(st, root, 5000, &r);
                    } else { /* as the worker runs candidates: sinks of a mapply fused */
                        eval_sample_plan(st, &root, 1);
                        eval_plan_candidate(st, 0, 5000, &r);
                    }
                }
                struct strbuf got = { 0 };
                if (r.outcome == DSL_ERROR)
                    sb_printf(&got, "!%.*s", (int)strcspn(r.msg, ":"), r.msg);
                else if (r.outcome == DSL_OK)
                    val_repr(r.value, &got);
                else
                    sb_printf(&got, "<%s>", r.msg);
                ck_assert_msg(strcmp(got.p, expect) == 0, "%s on %s%s:\n  expected %.300s\n  got      %.300s", p->name,
                              sample, way_name[way], expect, got.p);
                sb_release(&got);
                if (via_dag)
                    eval_sample_end(st);
            }
            free(expect);
        }
        if (fast(p->name))
            ck_assert_msg(*counter > hits0 + min_hits, "%s: %llu fast answers", p->name,
                          (unsigned long long)(*counter - hits0));
        else
            ck_assert_msg(*counter == hits0, "%s: took the fast path", p->name);
    }
    fclose(dump);
    dag_release(&d);
    program_file_release(&pf);
    eval_inputs_release(&in);
    task_release(&t);
}

/* valmin/valmax of S or of remove(x, S) (dsl.h, dsl_extreme_known): the programs with int keys
 * answered from the best two keys of S (more than 100 times), seen by two removals or by an
 * argmin/argmax over S first; those with bool and tuple keys never. */
static bool removal_int_keys(const char *name)
{
    return strstr(name, "bool") == NULL && strstr(name, "tuple") == NULL;
}

START_TEST(test_extreme_of_removal)
{
    check_fixture("removal", 9, &dsl_rt.extreme_hits, removal_int_keys, 100);
}
END_TEST

/* The fixture programs a fast path must take: those named *_fast. */
static bool named_fast(const char *name)
{
    return strstr(name, "_fast") != NULL;
}

/* mapply(lbind(shift, patch), offsets) and mapply(rbind(shoot, direction), starts) (dsl.h,
 * dsl_mapply_shifts): the *_fast programs answered by it on the three larger inputs, directly and
 * through the DAG (6 times at least); copies that overlap little, offsets that are not pairs, an
 * empty patch, a tuple of offsets, a patch of 1-tuples (whose error must come from the offsets,
 * as in Python), lines that are all empty and starts that are cells never. */
START_TEST(test_mapply_shifts)
{
    check_fixture("shifts", 14, &dsl_rt.shift_merges, named_fast, 5);
}
END_TEST

/* paint, fill or underfill of a mapply used nowhere else (eval.c fuses them; dsl.h,
 * dsl_sink_into_grid): the *_fast programs written straight into the grid on all 6 inputs,
 * planned; conflicting colours, True against 1, failures in the function, in merge and in the
 * sink, results that are not plain patches, a tuple container and a mapply used twice never. */
START_TEST(test_mapply_sinks)
{
    check_fixture("sinks", 35, &dsl_rt.grid_sinks, named_fast, 5);
}
END_TEST

/* min/max by compose(lbind(manhattan, patch), initset) (dsl.h, dsl_keys_direct): the *_fast
 * programs' keys computed directly on every input; an empty patch, colours and a patch of
 * objects never. */
START_TEST(test_keys_direct)
{
    check_fixture("keys", 5, &dsl_rt.keys_direct, named_fast, 5);
}
END_TEST

/* Many lines into one set (dsl.h, dsl_lines_add): the *_fast programs skip lines whose end
 * points came before in the other order; one-way pairs, cells and a tuple never. */
START_TEST(test_lines_skipped)
{
    check_fixture("lines", 7, &dsl_rt.lines_skipped, named_fast, 5);
}
END_TEST

/* sfilter by fork(equality, P, Q) or matcher(P, value), P and Q picks (prims_core.c,
 * pick_test_of): the *_fast programs answered without calls; sets and ints as items never. */
START_TEST(test_picks_direct)
{
    check_fixture("picks", 6, &dsl_rt.picks_direct, named_fast, 5);
}
END_TEST

/* ---- eval_program ---- */

static const char program_text[] =
    "def solve_ok(I):\n"
    "    x1 = size(I)\n"
    "    x2 = double(x1)\n"
    "    x3 = rbind(add, x2)\n"
    "    x4 = x3(ONE)\n"
    "    O = astuple(x4, x1)\n"
    "    return O\n"
    "\n"
    "def solve_unused_error(I):\n"
    "    x1 = divide(ONE, ZERO)\n"
    "    O = identity(I)\n"
    "    return O\n"
    "\n"
    "def solve_sic(S, I, C):\n"
    "    x1 = size(S)\n"
    "    x2 = astuple(x1, C)\n"
    "    return x2\n";

static const struct program *find_program(const struct program_file *pf, const char *name)
{
    for (size_t i = 0; i < pf->n; i++)
        if (strcmp(pf->progs[i].name, name) == 0)
            return &pf->progs[i];
    ck_abort_msg("no program %s", name);
    return NULL;
}

/* A shifted copy of a patch whose facts (form, bounding box) are known gets them shifted
 * (set_patch_shifted), and the primitives that read them must see the copy's, not the source's.
 * Expected values from arc-dsl on sample 0's input ((0, 1, 2), (3, 4, 5)). */
static const char shifted_text[] =
    "def solve_shifted(I):\n"
    "    x1 = asobject(I)\n"
    "    x2 = ulcorner(x1)\n"
    "    x3 = invert(SEVEN)\n"
    "    x4 = astuple(FIVE, x3)\n"
    "    x5 = shift(x1, x4)\n"
    "    x6 = ulcorner(x5)\n"
    "    x7 = lrcorner(x5)\n"
    "    x8 = astuple(x6, x7)\n"
    "    x9 = invert(THREE)\n"
    "    x10 = astuple(x9, TWO)\n"
    "    x11 = shift(x1, x10)\n"
    "    x12 = center(x11)\n"
    "    x13 = astuple(x8, x12)\n"
    "    O = astuple(x13, x2)\n"
    "    return O\n";

START_TEST(test_shifted_patch_facts)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "shifted.py", shifted_text, 1);
    expect_value(&pf.progs[0], 0, "((((5, -7), (6, -5)), (-2, 3)), (0, 0))");
    program_file_release(&pf);
}
END_TEST

START_TEST(test_eval_program)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "t.py", program_text, strlen(program_text), stderr), 3);
    for (size_t i = 0; i < pf.n; i++)
        ck_assert_msg(program_check(&pf.progs[i]), "%s", pf.progs[i].why);
    struct eval_result r;
    eval_program(find_program(&pf, "solve_ok"), inputs.input[0], inputs.S, v_none(), 1000, 0, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
    ck_assert_str_eq(repr_of(r.value), "(5, 2)");
    eval_program(find_program(&pf, "solve_unused_error"), inputs.input[0], inputs.S, v_none(), 1000, 0, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_msg(strncmp(r.msg, "ZeroDivisionError", 17) == 0, "%s", r.msg);
    eval_program(find_program(&pf, "solve_sic"), inputs.input[0], inputs.S, v_int(7), 1000, 0, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
    ck_assert_str_eq(repr_of(r.value), "(2, 7)");
    program_file_release(&pf);
}
END_TEST

/* A timeout arrives on time inside one primitive that fills hundreds of MB of fresh memory
 * (objects() of a 3 x 1,000,000 grid: its tables alone are 300 MB); it came 400 ms late when
 * big tables were cleared in one memset. */
static const char huge_text[] =
    "def solve_huge(I):\n"
    "    x1 = multiply(TEN, TEN)\n"
    "    x2 = multiply(x1, x1)\n"
    "    x3 = multiply(x2, x1)\n"
    "    x4 = astuple(THREE, x3)\n"
    "    x5 = canvas(ZERO, x4)\n"
    "    O = objects(x5, T, T, F)\n"
    "    return O\n";

START_TEST(test_timeout_in_huge_primitive)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "huge.py", huge_text, 1);
    const struct program *prog = &pf.progs[0];
    uint64_t worst = 0;
    for (uint32_t limit_ms = 40; limit_ms <= 400; limit_ms += 40) { /* the alarm in each phase */
        struct eval_result r;
        eval_program(prog, inputs.input[0], inputs.S, v_none(), limit_ms, (size_t)3 << 30, &r);
        ck_assert_msg(r.outcome == DSL_TIMEOUT, "outcome %d: %s", r.outcome, r.msg);
        ck_assert_uint_ge(r.wall_us, limit_ms * 1000u);
        uint64_t late = r.wall_us - limit_ms * 1000u;
        worst = late > worst ? late : worst;
        eval_program_release();
    }
    /* 10 ms asked; the rest is room for a loaded machine */
    ck_assert_msg(worst < 60000, "a timeout came %llu us late", (unsigned long long)worst);
    program_file_release(&pf);
}
END_TEST

/* The order of a set of functions depends only on the expressions that made them: not on the
 * candidates run before on the same sample (closure ids shift with them), nor on whether the
 * DAG or eval_program ran it. (With ids counted per sample, the first of these sets changed with
 * what ran before it: solve_36d67576 scored 850 cells with -j 1 and 838 with -j 2.) */
static const char order_text[] =
    "def solve_order(I):\n"
    "    x1 = rbind(add, ONE)\n"
    "    x2 = rbind(add, TWO)\n"
    "    x3 = rbind(add, THREE)\n"
    "    x4 = initset(x1)\n"
    "    x5 = insert(x2, x4)\n"
    "    x6 = insert(x3, x5)\n"
    "    x7 = lbind(multiply, TEN)\n"
    "    x8 = insert(x7, x6)\n"
    "    x9 = totuple(x8)\n"
    "    O = rapply(x9, TEN)\n"
    "    return O\n";

START_TEST(test_function_order_independent)
{
    static const char *const consts[] = { "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN" };
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "%s", order_text);
    for (int k = 1; k <= 7; k++) { /* solve_make<k>: k closures of its own */
        len += (size_t)snprintf(text + len, sizeof text - len, "\ndef solve_make%d(I):\n", k);
        for (int i = 1; i <= k; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, "    x%d = rbind(subtract, %s)\n", i,
                                    consts[i - 1]);
        len += (size_t)snprintf(text + len, sizeof text - len, "    return x%d\n", k);
    }
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "order.py", text, len, stderr), 8);
    struct dag d = DAG_INIT;
    struct ref roots[8];
    for (size_t i = 0; i < pf.n; i++) {
        ck_assert_msg(program_check(&pf.progs[i]), "%s", pf.progs[i].why);
        roots[i] = dag_add(&d, &pf.progs[i]);
    }
    struct eval_result r;
    eval_program(&pf.progs[0], inputs.input[0], inputs.S, v_none(), 1000, 0, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
    char direct[512];
    snprintf(direct, sizeof direct, "%s", repr_of(r.value));
    for (int k = 0; k <= 7; k++) {
        eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
        if (k > 0) {
            eval_candidate(st, roots[k], 1000, &r);
            ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
        }
        eval_candidate(st, roots[0], 1000, &r);
        ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
        ck_assert_msg(strcmp(repr_of(r.value), direct) == 0, "after %d closures: %s, alone: %s", k,
                      repr_of(r.value), direct);
        eval_sample_end(st);
    }
    dag_release(&d);
    program_file_release(&pf);
}
END_TEST

/* Which error a candidate reports does not depend on what ran before on the sample: a node that
 * failed for an earlier candidate fails this one where it alone would have run that node. */
static const char errors_text[] =
    "def solve_div(I):\n"
    "    x1 = divide(ONE, ZERO)\n"
    "    return x1\n"
    "\n"
    "def solve_both(I):\n"
    "    x1 = divide(ONE, ZERO)\n"
    "    x2 = astuple(ONE, TWO)\n"
    "    x3 = sfilter(x2, flip)\n"
    "    x4 = first(x3)\n"
    "    O = astuple(x1, x4)\n"
    "    return O\n";

START_TEST(test_error_independent_of_order)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "errors.py", errors_text, strlen(errors_text), stderr), 2);
    struct dag d = DAG_INIT;
    struct ref div = dag_add(&d, &pf.progs[0]), both = dag_add(&d, &pf.progs[1]);
    struct eval_result r;
    char alone[256];
    eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
    eval_candidate(st, both, 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    snprintf(alone, sizeof alone, "%s", r.msg);
    ck_assert_msg(strncmp(alone, "ZeroDivisionError", 17) == 0, "%s", alone); /* its first argument */
    eval_sample_end(st);
    eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
    eval_candidate(st, div, 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    eval_candidate(st, both, 1000, &r);
    ck_assert_int_eq(r.outcome, DSL_ERROR);
    ck_assert_str_eq(r.msg, alone);
    eval_sample_end(st);
    dag_release(&d);
    program_file_release(&pf);
}
END_TEST

/* The call memo (dsl.h): x4 makes 30 nested calls, so from its ninth call in a line on it is
 * looked up. It must tell True from 1 and a set from an equal set in another order, and never
 * hand out one new function twice, alone or inside a tuple inside a set or a set inside a tuple.
 * Each program below is also run through the DAG. */
#define MEMO_COSTLY_LINES \
    "    x1 = compose(identity, identity)\n" \
    "    x2 = compose(x1, x1)\n" \
    "    x3 = compose(x2, x2)\n" \
    "    x4 = compose(x3, x3)\n"
static const char memo_text[] =
    "def solve_bools(I):\n" MEMO_COSTLY_LINES
    "    x5 = repeat(ONE, TEN)\n"
    "    x6 = repeat(T, TEN)\n"
    "    x7 = combine(x5, x6)\n"
    "    O = apply(x4, x7)\n"
    "    return O\n"
    "\n"
    "def solve_orders(I):\n" MEMO_COSTLY_LINES
    "    x5 = compose(first, x4)\n"
    "    x6 = initset(ZERO)\n"
    "    x7 = insert(EIGHT, x6)\n" /* frozenset({0, 8}): 0 first */
    "    x8 = initset(EIGHT)\n"
    "    x9 = insert(ZERO, x8)\n"  /* the same set, 8 first */
    "    x10 = repeat(x7, FIVE)\n"
    "    x11 = repeat(x9, FIVE)\n"
    "    x12 = combine(x10, x11)\n"
    "    x13 = combine(x12, x12)\n"
    "    O = apply(x5, x13)\n"
    "    return O\n"
    "\n"
    "def solve_new_functions(I):\n" MEMO_COSTLY_LINES
    "    x5 = lbind(rbind, add)\n"
    "    x6 = compose(x5, x4)\n" /* x -> a new function rbind(add, x) */
    "    x7 = repeat(ONE, TEN)\n"
    "    x8 = apply(x6, x7)\n"
    "    x9 = dedupe(x8)\n"
    "    O = size(x9)\n"
    "    return O\n"
    "\n"
    "def solve_new_functions_in_tuples(I):\n" MEMO_COSTLY_LINES
    "    x5 = lbind(rbind, add)\n"
    "    x6 = fork(astuple, identity, x5)\n"
    "    x7 = compose(initset, x6)\n"
    "    x8 = compose(x7, x4)\n" /* x -> frozenset({(x, a new function rbind(add, x))}) */
    "    x9 = repeat(ONE, TEN)\n"
    "    x10 = apply(x8, x9)\n"
    "    x11 = apply(first, x10)\n"
    "    x12 = apply(last, x11)\n"
    "    x13 = dedupe(x12)\n"
    "    O = size(x13)\n"
    "    return O\n"
    "\n"
    "def solve_new_functions_in_sets(I):\n" MEMO_COSTLY_LINES
    "    x5 = lbind(rbind, add)\n"
    "    x6 = compose(initset, x5)\n"
    "    x7 = fork(astuple, identity, x6)\n"
    "    x8 = compose(x7, x4)\n" /* x -> (x, frozenset({a new function rbind(add, x)})) */
    "    x9 = repeat(ONE, TEN)\n"
    "    x10 = apply(x8, x9)\n"
    "    x11 = apply(last, x10)\n"
    "    x12 = apply(first, x11)\n"
    "    x13 = dedupe(x12)\n"
    "    O = size(x13)\n"
    "    return O\n"
    "\n"
    "def solve_new_functions_as_colours(I):\n" MEMO_COSTLY_LINES
    "    x5 = lbind(rbind, add)\n"
    "    x6 = compose(x5, x4)\n"
    "    x7 = rbind(canvas, UNITY)\n"
    "    x8 = chain(asobject, x7, x6)\n" /* x -> a plain object {(a new function, (0, 0))} */
    "    x9 = repeat(ONE, TEN)\n"
    "    x10 = apply(x8, x9)\n"
    "    x11 = dedupe(x10)\n"
    "    O = size(x11)\n"
    "    return O\n";

START_TEST(test_call_memo)
{
    static const struct { const char *name, *expect; } cases[] = {
        { "solve_bools", "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, True, True, True, True, True, True, True, "
                         "True, True, True)" },
        { "solve_orders", "(0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8)" },
        { "solve_new_functions", "10" },
        { "solve_new_functions_in_tuples", "10" },
        { "solve_new_functions_in_sets", "10" },
        { "solve_new_functions_as_colours", "10" },
    };
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "memo.py", memo_text, strlen(memo_text), stderr), 6);
    struct dag d = DAG_INIT;
    struct eval_result r;
    for (size_t i = 0; i < pf.n; i++) {
        struct program *p = &pf.progs[i];
        ck_assert_str_eq(p->name, cases[i].name);
        ck_assert_msg(program_check(p), "%s", p->why);
        uint64_t hits0 = dsl_rt.memo_hits;
        eval_program(p, inputs.input[0], inputs.S, v_none(), 1000, 0, &r);
        ck_assert_msg(r.outcome == DSL_OK, "%s: %s", cases[i].name, r.msg);
        ck_assert_str_eq(repr_of(r.value), cases[i].expect);
        ck_assert_msg(dsl_rt.memo_hits > hits0, "%s: the memo was not used", cases[i].name);
        struct ref root = dag_add(&d, p);
        eval_sample_begin(st, d.nodes, d.n, &inputs, 0, 0);
        eval_candidate(st, root, 1000, &r);
        ck_assert_msg(r.outcome == DSL_OK, "%s (DAG): %s", cases[i].name, r.msg);
        ck_assert_str_eq(repr_of(r.value), cases[i].expect);
        eval_sample_end(st);
    }
    dag_release(&d);
    program_file_release(&pf);
}
END_TEST

/* The memo's hit-rate rule (runtime.c, MEMO_JUDGE_STORES / MEMO_MIN_HIT_SHARE): x4 is costly,
 * so it is memoised. Called on 0..4999 and then on 0..4999 again, its first 4,096 stored results
 * answer nothing, so it is no longer looked up in that line and the second round gets no answer
 * from the memo either. Called on 0, 0, 1, 1, ..., 4999, 4999, every stored result answers once,
 * so it is still looked up when 0..4999 come again: about 10,000 answers. */
static const char memo_rule_text[] =
    "def solve_gives_up(I):\n" MEMO_COSTLY_LINES
    "    x5 = multiply(TEN, TEN)\n"
    "    x6 = multiply(TEN, FIVE)\n"
    "    x7 = multiply(x5, x6)\n"      /* 5,000 */
    "    x8 = interval(ZERO, x7, ONE)\n"
    "    x9 = combine(x8, x8)\n"
    "    x10 = apply(x4, x9)\n"
    "    O = equality(x10, x9)\n"
    "    return O\n"
    "\n"
    "def solve_keeps_on(I):\n" MEMO_COSTLY_LINES
    "    x5 = multiply(TEN, TEN)\n"
    "    x6 = multiply(TEN, FIVE)\n"
    "    x7 = multiply(x5, x6)\n"
    "    x8 = interval(ZERO, x7, ONE)\n"
    "    x9 = papply(astuple, x8, x8)\n"
    "    x10 = merge(x9)\n"              /* 0, 0, 1, 1, ..., 4999, 4999 */
    "    x11 = combine(x10, x8)\n"
    "    x12 = apply(x4, x11)\n"
    "    O = equality(x12, x11)\n"
    "    return O\n";

/* Keys that differ only in their last atom (a pair (i, s) for 300 sets s) must spread over the
 * memo's table: each of 6,000 such pairs is asked twice in a row, and the second ask of every pair
 * after the first 8 calls (the learning calls) is answered from the memo. Until session 10 such
 * keys were hashed into one window of 256 slots, and those that found no room were not stored. */
static const char memo_spread_text[] =
    "def solve_spread(I):\n" MEMO_COSTLY_LINES
    "    x5 = multiply(TEN, TWO)\n"
    "    x6 = interval(ZERO, x5, ONE)\n"
    "    x7 = multiply(TEN, TEN)\n"
    "    x8 = multiply(x7, THREE)\n"
    "    x9 = interval(ZERO, x8, ONE)\n"
    "    x10 = apply(initset, x9)\n"     /* 300 sets */
    "    x11 = product(x6, x10)\n"
    "    x12 = totuple(x11)\n"           /* 6,000 pairs (i, s) */
    "    x13 = papply(astuple, x12, x12)\n"
    "    x14 = merge(x13)\n"             /* each pair twice in a row */
    "    x15 = apply(x4, x14)\n"
    "    O = equality(x15, x14)\n"
    "    return O\n";

START_TEST(test_call_memo_spreads_keys)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "spread.py", memo_spread_text, 1);
    const struct program *prog = &pf.progs[0];
    struct eval_result r;
    uint64_t hits0 = dsl_rt.memo_hits;
    eval_program(prog, inputs.input[0], inputs.S, v_none(), 5000, 0, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
    ck_assert_str_eq(repr_of(r.value), "True");
    uint64_t hits = dsl_rt.memo_hits - hits0;
    ck_assert_msg(hits >= 5996, "only %llu of 5,996 second asks answered", (unsigned long long)hits);
    program_file_release(&pf);
}
END_TEST

START_TEST(test_call_memo_hit_rate_rule)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "rule.py", memo_rule_text, strlen(memo_rule_text), stderr), 2);
    struct eval_result r;
    for (size_t i = 0; i < pf.n; i++) {
        struct program *p = &pf.progs[i];
        ck_assert_msg(program_check(p), "%s", p->why);
        uint64_t hits0 = dsl_rt.memo_hits;
        eval_program(p, inputs.input[0], inputs.S, v_none(), 5000, 0, &r);
        ck_assert_msg(r.outcome == DSL_OK, "%s: %s", p->name, r.msg);
        ck_assert_str_eq(repr_of(r.value), "True");
        uint64_t hits = dsl_rt.memo_hits - hits0;
        if (strcmp(p->name, "solve_gives_up") == 0)
            ck_assert_msg(hits == 0, "%s: %llu answers from the memo", p->name, (unsigned long long)hits);
        else
            ck_assert_msg(hits > 9900, "%s: only %llu answers from the memo", p->name, (unsigned long long)hits);
    }
    program_file_release(&pf);
}
END_TEST

/* The small-call cache (runtime.c, small_call): cheap line closures called again with the same
 * int, bool or pair of ints. Every program runs with the cache off and on and must give the same
 * outcome, message and value; the cache must answer some calls of the first two and none of the
 * third, whose closure makes functions. solve_small_bools fails when True and 1 share an entry,
 * solve_small_pairs when an entry's key or result is wrong. The deep programs call compose(identity,
 * identity) ten times shallowly, in one line (its result then kept), then inside power(., n) near
 * the recursion limit: for some n the deep calls raise RecursionError, which a cached answer
 * would hide. */
static const char small_text[] =
    "def solve_small_bools(I):\n"
    "    x1 = compose(identity, identity)\n"
    "    x2 = repeat(ONE, TEN)\n"
    "    x3 = repeat(T, TEN)\n"
    "    x4 = combine(x2, x3)\n"
    "    x5 = combine(x4, x4)\n"
    "    O = apply(x1, x5)\n"
    "    return O\n"
    "\n"
    "def solve_small_pairs(I):\n"
    "    x1 = rbind(add, UNITY)\n"
    "    x2 = fork(add, first, last)\n"
    "    x3 = interval(ZERO, FOUR, ONE)\n"
    "    x4 = papply(astuple, x3, x3)\n"
    "    x5 = combine(x4, x4)\n"
    "    x6 = combine(x5, x5)\n"
    "    x7 = combine(x6, x6)\n"
    "    x8 = apply(x1, x7)\n"
    "    x9 = apply(x2, x7)\n"
    "    O = astuple(x8, x9)\n"
    "    return O\n"
    "\n"
    "def solve_small_new_functions(I):\n"
    "    x1 = lbind(rbind, add)\n"
    "    x2 = fork(equality, x1, x1)\n"
    "    x3 = repeat(ONE, TEN)\n"
    "    x4 = combine(x3, x3)\n"
    "    O = apply(x2, x4)\n"
    "    return O\n";

static void run_small(const struct program *p, bool on, struct eval_result *r, char *repr, size_t n,
                      uint64_t *hits)
{
    dsl_debug_small_calls(on);
    uint64_t hits0 = dsl_rt.small_hits;
    eval_program(p, inputs.input[0], inputs.S, v_none(), 5000, 0, r);
    *hits = dsl_rt.small_hits - hits0;
    snprintf(repr, n, "%s", r->outcome == DSL_OK ? repr_of(r->value) : r->msg);
    dsl_debug_small_calls(true);
}

static void check_small_same(const struct program *p, uint64_t *hits_on)
{
    struct eval_result off, on;
    char off_repr[512], on_repr[512];
    uint64_t hits_off;
    run_small(p, false, &off, off_repr, sizeof off_repr, &hits_off);
    run_small(p, true, &on, on_repr, sizeof on_repr, hits_on);
    ck_assert_uint_eq(hits_off, 0);
    ck_assert_msg(off.outcome == on.outcome && strcmp(off_repr, on_repr) == 0, "%s: %s without the cache, %s with it",
                  p->name, off_repr, on_repr);
}

START_TEST(test_small_calls)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "small.py", small_text, 3);
    uint64_t hits;
    check_small_same(&pf.progs[0], &hits);
    ck_assert_uint_gt(hits, 20);
    check_small_same(&pf.progs[1], &hits);
    ck_assert_uint_gt(hits, 20);
    check_small_same(&pf.progs[2], &hits);
    ck_assert_uint_eq(hits, 0);
    program_file_release(&pf);
    int raised = 0, returned = 0;
    static const char *const digit[] = { "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE" };
    for (int d = 5; d <= 30; d++) { /* power(x1, 1000 - d) */
        char text[768];
        snprintf(text, sizeof text,
                 "def solve_small_deep(I):\n"
                 "    x1 = compose(identity, identity)\n"
                 "    x5 = multiply(TEN, TEN)\n"
                 "    x6 = multiply(x5, TEN)\n"
                 "    x7 = multiply(TEN, %s)\n"
                 "    x8 = add(x7, %s)\n"
                 "    x9 = subtract(x6, x8)\n"
                 "    x2 = power(x1, x9)\n"
                 "    x3 = lbind(apply, x1)\n"
                 "    x4 = lbind(apply, x2)\n"
                 "    x10 = fork(astuple, x3, x4)\n"
                 "    x11 = repeat(ONE, TEN)\n"
                 "    O = x10(x11)\n"
                 "    return O\n", digit[d / 10], digit[d % 10]);
        struct program_file deep = PROGRAM_FILE_INIT;
        parse_checked(&deep, "deep.py", text, 1);
        struct eval_result r;
        char repr[512];
        uint64_t deep_hits;
        run_small(&deep.progs[0], true, &r, repr, sizeof repr, &deep_hits);
        raised += r.outcome != DSL_OK;
        returned += r.outcome == DSL_OK;
        check_small_same(&deep.progs[0], &deep_hits);
        program_file_release(&deep);
    }
    ck_assert_int_gt(raised, 0);
    ck_assert_int_gt(returned, 0);
}
END_TEST

/* Dead temporaries (runtime.c, compose_call): compose(a, b)(x) takes back the tuple b(x) made
 * when a's memo answered at once. solve_dead_pairs looks up one (set, 1) key 200,000 times
 * through compose: 9.6 MB of pairs without that, under the 6 MB cap with it. In solve_kept_pairs
 * the pair made for i is stored by two memos (x7's, and x4's inside it) before x4's memo answers
 * the outer call: it must be kept, or the memory of i's pair is reused for i + 1's and the second
 * round reads wrong values. */
static const char dead_text[] =
    "def solve_dead_pairs(I):\n" MEMO_COSTLY_LINES
    "    x5 = initset(ONE)\n"
    "    x6 = lbind(astuple, x5)\n"
    "    x7 = compose(x6, sign)\n"      /* x -> (frozenset({1}), 1) for x > 0: a new pair */
    "    x8 = compose(x4, x7)\n"        /* x4 answers from its memo after its first calls */
    "    x9 = multiply(TEN, TEN)\n"
    "    x10 = multiply(x9, x9)\n"
    "    x11 = double(x10)\n"
    "    x12 = multiply(x11, TEN)\n"    /* 200,000 */
    "    x13 = interval(ONE, x12, ONE)\n"
    "    O = argmin(x13, x8)\n"
    "    return O\n"
    "\n"
    "def solve_kept_pairs(I):\n" MEMO_COSTLY_LINES
    "    x5 = initset(ONE)\n"
    "    x6 = lbind(astuple, x5)\n"
    "    x7 = compose(x4, x6)\n"        /* i -> x4((frozenset({1}), i)), memoised */
    "    x8 = compose(x4, x7)\n"
    "    x9 = interval(ZERO, TEN, ONE)\n"
    "    x10 = double(TEN)\n"
    "    x11 = interval(TEN, x10, ONE)\n"
    "    x12 = combine(x9, x11)\n"
    "    x13 = combine(x12, x12)\n"     /* 0..19 twice */
    "    x14 = apply(x8, x13)\n"
    "    O = apply(last, x14)\n"
    "    return O\n";

/* Scratch regions (dsl.h): the memory a condition of sfilter took is handed back after the
 * call. solve_scratch_plain's condition makes a 1.6 KB tuple per item (20,000 items: 32 MB, the
 * cap is 4 MB); solve_scratch_memo's (3.2 KB) is memoised, as is x4 inside it, with int keys and
 * results that point nowhere: their entries must not keep the memory (the 2,048 the table takes
 * under this cap would keep 6.5 MB). In solve_scratch_fresh, x7's memo
 * keys hold a set made inside the condition: those entries keep it, or the next item's set would
 * be made at the same address and x7 would answer for it what it answered for the last one. */
static const char scratch_text[] =
    "def solve_scratch_plain(I):\n"
    "    x1 = multiply(TEN, TEN)\n"
    "    x2 = rbind(repeat, x1)\n"        /* i -> 100 copies of i */
    "    x3 = chain(positive, size, x2)\n"
    "    x4 = multiply(x1, x1)\n"
    "    x5 = double(x4)\n"               /* 20,000 */
    "    x6 = interval(ONE, x5, ONE)\n"
    "    x7 = sfilter(x6, x3)\n"
    "    O = size(x7)\n"
    "    return O\n"
    "\n"
    "def solve_scratch_memo(I):\n" MEMO_COSTLY_LINES
    "    x5 = multiply(TEN, TEN)\n"
    "    x6 = double(x5)\n"
    "    x7 = rbind(repeat, x6)\n"        /* i -> 200 copies of i, 3.2 KB */
    "    x8 = compose(positive, size)\n"
    "    x9 = chain(x8, x7, x4)\n"        /* memoised: i -> True */
    "    x10 = multiply(x5, x5)\n"
    "    x11 = double(x10)\n"
    "    x12 = interval(ONE, x11, ONE)\n"
    "    x13 = sfilter(x12, x9)\n"
    "    O = size(x13)\n"
    "    return O\n"
    "\n"
    "def solve_scratch_fresh(I):\n" MEMO_COSTLY_LINES
    "    x5 = initset(ZERO)\n"
    "    x6 = rbind(insert, x5)\n"        /* i -> frozenset({0, i}), a new set */
    "    x7 = compose(maximum, x4)\n"     /* memoised, keyed by the set's address */
    "    x8 = chain(even, x7, x6)\n"
    "    x9 = multiply(TEN, THREE)\n"
    "    x10 = interval(ONE, x9, ONE)\n"
    "    O = sfilter(x10, x8)\n"
    "    return O\n";

START_TEST(test_scratch_regions)
{
    static const struct { const char *name, *expect; size_t mem; } cases[] = {
        { "solve_scratch_plain", "19999", (size_t)4 << 20 },
        { "solve_scratch_memo", "19999", (size_t)4 << 20 },
        { "solve_scratch_fresh", "(2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28)", 0 },
    };
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "scratch.py", scratch_text, 3);
    for (size_t i = 0; i < pf.n; i++) {
        ck_assert_str_eq(pf.progs[i].name, cases[i].name);
        expect_value(&pf.progs[i], cases[i].mem, cases[i].expect);
    }
    program_file_release(&pf);
}
END_TEST

START_TEST(test_dead_temporaries)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "dead.py", dead_text, 2);
    expect_value(&pf.progs[0], (size_t)6 << 20, "1");
    uint64_t hits0 = dsl_rt.memo_hits;
    expect_value(&pf.progs[1], 0, "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
                                  "19, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)");
    ck_assert_msg(dsl_rt.memo_hits > hits0 + 20, "solve_kept_pairs: %llu memo hits",
                  (unsigned long long)(dsl_rt.memo_hits - hits0));
    program_file_release(&pf);
}
END_TEST

/* Results moved out of mapply (dsl.h, dsl_call_keeping_result). x6(S) = mapply(lambda i:
 * insert(i, S), S) over a set S of 200 ints makes 200 copies of S (about 5 MB) to merge them into
 * one: solve_mapply_moved does it 8 times, 40 MB in all, under a 12 MB cap, which fits only when
 * each mapply's copies are handed back once merged (the mapped closure is made by the call, so
 * the memo stores nothing). In solve_mapply_kept the merged set also holds 200 closures made
 * during the call: it cannot be moved and must be kept whole, whatever is made after it. */
static const char mapply_text[] =
    "def solve_mapply_moved(I):\n"
    "    x1 = multiply(TEN, TEN)\n"
    "    x2 = double(x1)\n"
    "    x3 = interval(ZERO, x2, ONE)\n"
    "    x4 = initset(ZERO)\n"
    "    x5 = combine(x4, x3)\n"          /* S = frozenset(range(200)) */
    "    x6 = lbind(rbind, insert)\n"     /* S -> (i -> insert(i, S)) */
    "    x7 = fork(mapply, x6, identity)\n"
    "    x8 = x7(x5)\n"
    "    x9 = x7(x8)\n"
    "    x10 = x7(x9)\n"
    "    x11 = x7(x10)\n"
    "    x12 = x7(x11)\n"
    "    x13 = x7(x12)\n"
    "    x14 = x7(x13)\n"
    "    x15 = x7(x14)\n"
    "    x16 = equality(x15, x5)\n"
    "    x17 = size(x15)\n"
    "    O = astuple(x16, x17)\n"
    "    return O\n"
    "\n"
    "def solve_mapply_kept(I):\n"
    "    x1 = multiply(TEN, TEN)\n"
    "    x2 = double(x1)\n"
    "    x3 = interval(ZERO, x2, ONE)\n"
    "    x4 = initset(ZERO)\n"
    "    x5 = combine(x4, x3)\n"
    "    x6 = lbind(rbind, add)\n"        /* i -> (x -> x + i), a new closure */
    "    x7 = lbind(rbind, insert)\n"
    "    x8 = rbind(compose, x6)\n"
    "    x9 = compose(x8, x7)\n"          /* S -> (i -> insert(x -> x + i, S)) */
    "    x10 = fork(mapply, x9, identity)\n"
    "    x11 = x10(x5)\n"                 /* S and 200 closures */
    "    x12 = fork(mapply, x7, identity)\n"
    "    x13 = x12(x5)\n"                 /* 5 MB more, made after x11 */
    "    x14 = x12(x13)\n"
    "    x15 = size(x14)\n"
    "    x16 = size(x11)\n"
    "    O = astuple(x15, x16)\n"
    "    return O\n";

START_TEST(test_mapply_moved)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "mapply.py", mapply_text, 2);
    expect_value(&pf.progs[0], (size_t)12 << 20, "(True, 200)");
    expect_value(&pf.progs[1], 0, "(200, 400)");
    program_file_release(&pf);
}
END_TEST

/* objects() of a big grid hands its tables back as it returns (dsl_call_keeping_result): four
 * calls on a 3 x 100,000 grid with one cell set, each of whose tables take several megabytes,
 * fit under a 16 MB cap only when each call's tables are handed back before the next call. */
static const char objects_text[] =
    "def solve_objects_moved(I):\n"
    "    x1 = multiply(TEN, TEN)\n"
    "    x2 = multiply(x1, x1)\n"
    "    x3 = multiply(x2, TEN)\n"        /* 100,000 */
    "    x4 = astuple(THREE, x3)\n"
    "    x5 = canvas(ZERO, x4)\n"
    "    x6 = initset(UNITY)\n"
    "    x7 = fill(x5, TWO, x6)\n"         /* one 2 at (1, 1) */
    "    x8 = objects(x7, T, F, T)\n"
    "    x9 = objects(x7, T, T, T)\n"
    "    x10 = objects(x7, F, F, T)\n"
    "    x11 = objects(x7, F, T, T)\n"
    "    x12 = combine(x8, x9)\n"
    "    x13 = combine(x10, x11)\n"
    "    x14 = combine(x12, x13)\n"
    "    O = first(x14)\n"
    "    return O\n";

START_TEST(test_objects_moved)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    parse_checked(&pf, "objects.py", objects_text, 1);
    expect_value(&pf.progs[0], (size_t)16 << 20, "frozenset({(2, (1, 1))})");
    program_file_release(&pf);
}
END_TEST

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("dag");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_memo_sharing);
    tcase_add_test(tc, test_failure_shared);
    tcase_add_test(tc, test_timeout_per_candidate);
    tcase_add_test(tc, test_timeout_kept_only_when_node_started_early);
    tcase_add_test(tc, test_memout_per_candidate);
    tcase_add_test(tc, test_plan_hands_back_own_nodes);
    tcase_add_test(tc, test_plan_failures);
    tcase_add_test(tc, test_plan_reused_only_for_same_roots);
    tcase_add_test(tc, test_plan_error_order);
    tcase_add_test(tc, test_leaf_root);
    tcase_add_test(tc, test_eval_program);
    tcase_add_test(tc, test_timeout_in_huge_primitive);
    tcase_add_test(tc, test_function_order_independent);
    tcase_add_test(tc, test_error_independent_of_order);
    tcase_add_test(tc, test_call_memo);
    tcase_add_test(tc, test_call_memo_hit_rate_rule);
    tcase_add_test(tc, test_call_memo_spreads_keys);
    tcase_add_test(tc, test_small_calls);
    tcase_add_test(tc, test_dead_temporaries);
    tcase_add_test(tc, test_scratch_regions);
    tcase_add_test(tc, test_mapply_moved);
    tcase_add_test(tc, test_objects_moved);
    tcase_add_test(tc, test_extreme_of_removal);
    tcase_add_test(tc, test_mapply_shifts);
    tcase_add_test(tc, test_mapply_sinks);
    tcase_add_test(tc, test_keys_direct);
    tcase_add_test(tc, test_lines_skipped);
    tcase_add_test(tc, test_picks_direct);
    tcase_add_test(tc, test_shifted_patch_facts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(eval_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
