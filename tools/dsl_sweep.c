#include "compat.h"

/* dsl_sweep.c: battfarm-dsl-sweep, the in-process benchmark and parity probe of the DSL runtime.
 *
 * Runs parsed programs (arc-dsl solver format) on the input grids of ARC tasks with eval_program(),
 * one call at a time in this one process, times every call, and optionally writes one line per
 * call in the same format as tools/py_sweep.py writes for CPython, so the two can be diffed
 * (tools/parity.sh) and timed side by side (tools/bench_dsl.sh). */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"
#include "program.h"
#include "task.h"
#include "value.h"

/* A repr longer than this is written abbreviated (head + length + CRC-32), as py_sweep.py does. */
#define REPR_FULL_MAX 300
#define REPR_HEAD 120

static void usage(FILE *f)
{
    fputs("usage: battfarm-dsl-sweep [--own] [--dag] [--profile] [--timeout MS] [--mem MB] [--repeat R] [--dump FILE]\n"
          "                          [--times FILE] [--clock wall|cpu] [--exclude ID,ID...] [--full-repr]\n"
          "                          [--messages] [--quiet]\n"
          "                          PROGRAM_FILES... --tasks TASK_FILES_OR_DIRS...\n"
          "\n"
          "Runs every program on every input grid (train and test inputs) of every task (cross mode),\n"
          "or with --own each solve_<id> only on task <id>, with eval_program() in this one process,\n"
          "timing each call (CLOCK_MONOTONIC around eval_program and the release of its memory;\n"
          "--clock cpu: the process's CPU time).\n"
          "\n"
          "  --own          each program only on its own task (name solve_<task id>)\n"
          "  --dag          evaluate as `battfarm score` does: all programs in one DAG, a sub-expression\n"
          "                 shared by several programs computed once per input (its time goes to the\n"
          "                 first program that needs it); only the lines the result depends on run\n"
          "  --profile      time per primitive called by a line (not with --dag): the table at the end\n"
          "  --timeout MS   per-call time limit (default 1000; 0 = none)\n"
          "  --mem MB       per-call memory cap (default 2048; 0 = none)\n"
          "  --repeat R     run the workload R times; per-call time = the best of the R runs\n"
          "                 (calls that timed out are not repeated)\n"
          "  --dump FILE    one line per call: task, sample (train/0, test/0), program (file stem:name),\n"
          "                 outcome (repr of the value, !ExceptionClass, !timeout, !memout, !invalid)\n"
          "  --times FILE   one line per call: task, sample, program, microseconds\n"
          "  --exclude IDS  skip programs named solve_<id> for these comma-separated ids\n"
          "  --full-repr    never abbreviate a repr (default: over 300 characters, the first 120, then\n"
          "                 '...#len=N,crc=XXXXXXXX' with the CRC-32 of the whole repr)\n"
          "  --messages     write errors as '!Class: message' (message cut at 100 characters)\n"
          "  --quiet        list at most 20 programs that fail on their own task\n"
          "\n"
          "Exit status: 0, 1 when a file could not be read or parsed, 2 on bad usage.\n",
          f);
}

/* ---------------------------------------------------------------- small helpers */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("battfarm-dsl-sweep: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("battfarm-dsl-sweep: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static bool with_messages; /* --messages: "!Class: message" */

static clockid_t call_clock = CLOCK_MONOTONIC; /* --clock cpu: CLOCK_PROCESS_CPUTIME_ID */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(call_clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static uint32_t crc32_of(const char *p, size_t n)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ (uint8_t)p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---------------------------------------------------------------- outcome classes */

/* Class of a returned value, as peer_common.grid_kind() names it. */
static const char *value_class(val v)
{
    if (v.kind != V_TUPLE)
        return val_type_name(v);
    uint32_t n = v.u.t->len;
    if (n == 0)
        return "empty tuple";
    for (uint32_t i = 0; i < n; i++)
        if (v.u.t->item[i].kind != V_TUPLE)
            return "tuple of non-tuples";
    for (uint32_t i = 0; i < n; i++)
        if (v.u.t->item[i].u.t->len == 0)
            return "tuple of empty rows";
    uint32_t w = v.u.t->item[0].u.t->len;
    for (uint32_t i = 1; i < n; i++)
        if (v.u.t->item[i].u.t->len != w)
            return "ragged rows";
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < w; j++)
            if (v.u.t->item[i].u.t->item[j].kind != V_INT) /* type(v) is int: bools are not */
                return "non-int cells";
    return "grid";
}

struct counter {
    char **name;
    uint64_t *n;
    size_t len, cap;
};

static void counter_add(struct counter *c, const char *name)
{
    for (size_t i = 0; i < c->len; i++)
        if (strcmp(c->name[i], name) == 0) {
            c->n[i]++;
            return;
        }
    if (c->len == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->name = xrealloc(c->name, c->cap * sizeof(*c->name));
        c->n = xrealloc(c->n, c->cap * sizeof(*c->n));
    }
    c->name[c->len] = xstrdup(name);
    c->n[c->len++] = 1;
}

static void counter_print(const struct counter *c, uint64_t total)
{
    /* by count, descending (insertion sort: a few dozen entries) */
    size_t *ix = xmalloc(c->len * sizeof(size_t));
    for (size_t i = 0; i < c->len; i++) {
        size_t k = i;
        while (k > 0 && c->n[ix[k - 1]] < c->n[i]) {
            ix[k] = ix[k - 1];
            k--;
        }
        ix[k] = i;
    }
    for (size_t k = 0; k < c->len; k++)
        printf("  %-24s %10" PRIu64 "  %6.2f%%\n", c->name[ix[k]], c->n[ix[k]],
               total ? 100.0 * (double)c->n[ix[k]] / (double)total : 0.0);
    free(ix);
}

static void counter_release(struct counter *c)
{
    for (size_t i = 0; i < c->len; i++)
        free(c->name[i]);
    free(c->name);
    free(c->n);
}

/* ---------------------------------------------------------------- statistics */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank, as peer_common.pct(). s sorted, n > 0. */
static double pct(const double *s, size_t n, double p)
{
    double r = ceil(p / 100.0 * (double)n) - 1;
    size_t k = r < 0 ? 0 : (size_t)r;
    if (k >= n)
        k = n - 1;
    return s[k];
}

/* statistics.median: mean of the two middle values for an even count. */
static double median(const double *s, size_t n)
{
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static void print_dist(const char *title, double *us, size_t n)
{
    if (n == 0) {
        printf("%s: (none)\n", title);
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += us[i];
    qsort(us, n, sizeof(double), cmp_double);
    printf("%s: n=%zu sum=%.3f s mean=%.2f us median=%.2f us p90=%.2f us p99=%.2f us max=%.1f us"
           " calls/s=%.0f\n",
           title, n, sum / 1e6, sum / (double)n, median(us, n), pct(us, n, 90), pct(us, n, 99),
           us[n - 1], sum > 0 ? (double)n / (sum / 1e6) : 0.0);
}

/* ---------------------------------------------------------------- the run */

struct prog_ref {
    const struct program *p;
    char *key;          /* "<file stem>:<name>" */
    const char *task;   /* the <id> of solve_<id>, or NULL */
};

struct call {
    uint32_t task, sample, prog;
    uint8_t kind;       /* 0 ok, 1 error, 2 timeout, 3 memout, 4 invalid */
    double us;          /* best over the repetitions */
};

static char *file_stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = xstrdup(b);
    size_t n = strlen(s);
    if (n > 3 && strcmp(s + n - 3, ".py") == 0)
        s[n - 3] = '\0';
    return s;
}

static bool in_list(const char *id, char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(id, list[i]) == 0)
            return true;
    return false;
}

/* Writes the outcome text of one call into sb (cleared first). */
/* How calls run: eval_program (every line, as Python does), or with --dag as `battfarm score`
 * evaluates them: every valid program merged into one DAG, a sample's nodes memoised across
 * the programs run on it (eval_sample_begin, eval_sample_plan .. eval_plan_candidate ..
 * eval_sample_end). */
struct sweep_ctx {
    bool use_dag;
    struct eval_state *st;
    const struct ref *roots; /* per program, in the DAG */
    uint32_t *plan_index;    /* per program, its index in the sample's plan */
    uint32_t timeout_ms;
    size_t mem_limit;
};

static void run_call(const struct sweep_ctx *x, const struct program *p, size_t k,
                     const struct eval_inputs *in, uint32_t s, struct eval_result *res)
{
    if (x->use_dag && !p->invalid)
        eval_plan_candidate(x->st, x->plan_index[k], x->timeout_ms, res);
    else
        eval_program(p, in->input[s], in->S, v_none(), x->timeout_ms, x->mem_limit, res);
}

static void outcome_text(const struct eval_result *res, bool full, struct strbuf *sb, struct strbuf *tmp)
{
    sb->len = 0;
    if (sb->p)
        sb->p[0] = '\0';
    switch (res->outcome) {
    case DSL_OK:
        tmp->len = 0;
        val_repr(res->value, tmp);
        if (full || tmp->len <= REPR_FULL_MAX) {
            sb_puts(sb, tmp->p ? tmp->p : "");
        } else {
            sb_printf(sb, "%.*s...#len=%zu,crc=%08" PRIx32, REPR_HEAD, tmp->p, tmp->len,
                      crc32_of(tmp->p, tmp->len));
        }
        break;
    case DSL_TIMEOUT: sb_puts(sb, "!timeout"); break;
    case DSL_MEMOUT: sb_puts(sb, "!memout"); break;
    case DSL_ERROR: {
        if (strncmp(res->msg, "invalid program", 15) == 0) {
            sb_puts(sb, "!invalid");
            break;
        }
        const char *colon = strchr(res->msg, ':');
        size_t n = colon ? (size_t)(colon - res->msg) : strlen(res->msg);
        sb_printf(sb, "!%.*s", (int)n, res->msg);
        if (with_messages && colon) {
            sb_puts(sb, ":");
            for (const char *m = colon + 1; *m && m < colon + 1 + 100; m++)
                sb_putc(sb, *m == '\t' || *m == '\n' ? ' ' : *m);
        }
        break;
    }
    }
}

int main(int argc, char **argv)
{
    bool own = false, full = false, quiet = false, use_dag = false, profile = false;
    uint64_t timeout_ms = 1000, mem_mb = 2048, repeat = 1;
    const char *dump_path = NULL, *times_path = NULL;
    char **prog_paths = xmalloc((size_t)argc * sizeof(char *));
    char **task_paths = xmalloc((size_t)argc * sizeof(char *));
    char **excl = NULL, **excl_bufs = xmalloc((size_t)argc * sizeof(char *));
    int n_prog_paths = 0, n_task_paths = 0, n_excl_bufs = 0;
    size_t n_excl = 0, cap_excl = 0;
    bool in_tasks = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--own") == 0) {
            own = true;
        } else if (strcmp(a, "--dag") == 0) {
            use_dag = true;
        } else if (strcmp(a, "--profile") == 0) {
            profile = true;
        } else if (strcmp(a, "--full-repr") == 0) {
            full = true;
        } else if (strcmp(a, "--messages") == 0) {
            with_messages = true;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--tasks") == 0) {
            in_tasks = true;
        } else if (strcmp(a, "--timeout") == 0 && has_next) {
            if (!parse_uint(argv[++i], UINT32_MAX, &timeout_ms))
                goto bad;
        } else if (strcmp(a, "--mem") == 0 && has_next) {
            if (!parse_uint(argv[++i], (uint64_t)1 << 30, &mem_mb))
                goto bad;
        } else if (strcmp(a, "--repeat") == 0 && has_next) {
            if (!parse_uint(argv[++i], 1000000, &repeat) || repeat == 0)
                goto bad;
        } else if (strcmp(a, "--clock") == 0 && has_next) {
            const char *c = argv[++i];
            if (strcmp(c, "wall") == 0)
                call_clock = CLOCK_MONOTONIC;
            else if (strcmp(c, "cpu") == 0)
                call_clock = CLOCK_PROCESS_CPUTIME_ID;
            else
                goto bad;
        } else if (strcmp(a, "--dump") == 0 && has_next) {
            dump_path = argv[++i];
        } else if (strcmp(a, "--times") == 0 && has_next) {
            times_path = argv[++i];
        } else if (strcmp(a, "--exclude") == 0 && has_next) {
            char *list = xstrdup(argv[++i]);
            excl_bufs[n_excl_bufs++] = list;
            for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (n_excl == cap_excl) {
                    cap_excl = cap_excl ? 2 * cap_excl : 16;
                    excl = xrealloc(excl, cap_excl * sizeof(char *));
                }
                excl[n_excl++] = tok;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            goto bad;
        } else if (in_tasks) {
            task_paths[n_task_paths++] = argv[i];
        } else {
            prog_paths[n_prog_paths++] = argv[i];
        }
    }
    if (n_prog_paths == 0 || n_task_paths == 0)
        goto bad;

    int rc = 0;
    FILE *dump = NULL, *times = NULL;
    if ((dump_path && !(dump = fopen(dump_path, "w"))) || (times_path && !(times = fopen(times_path, "w")))) {
        fprintf(stderr, "battfarm-dsl-sweep: %s: %s\n", dump && times_path ? times_path : dump_path,
                strerror(errno));
        if (dump)
            fclose(dump);
        free(prog_paths);
        free(task_paths);
        free(excl);
        for (int i = 0; i < n_excl_bufs; i++)
            free(excl_bufs[i]);
        free(excl_bufs);
        return 1;
    }

    /* ---- programs */
    struct program_file *pfs = xmalloc((size_t)n_prog_paths * sizeof(*pfs));
    struct prog_ref *progs = NULL;
    size_t n_progs = 0, cap_progs = 0, n_invalid = 0, n_excluded = 0, n_parse_errors = 0;
    for (int f = 0; f < n_prog_paths; f++) {
        struct program_file init = PROGRAM_FILE_INIT;
        pfs[f] = init;
        if (program_parse_file(&pfs[f], prog_paths[f], stderr) < 0) {
            rc = 1;
            continue;
        }
        n_parse_errors += pfs[f].n_errors;
        char *stem = file_stem(prog_paths[f]);
        for (size_t k = 0; k < pfs[f].n; k++) {
            struct program *p = &pfs[f].progs[k];
            const char *task = strncmp(p->name, "solve_", 6) == 0 ? p->name + 6 : NULL;
            if (task && in_list(task, excl, n_excl)) {
                n_excluded++;
                continue;
            }
            if (!program_check(p))
                n_invalid++;
            if (n_progs == cap_progs) {
                cap_progs = cap_progs ? 2 * cap_progs : 512;
                progs = xrealloc(progs, cap_progs * sizeof(*progs));
            }
            size_t kl = strlen(stem) + strlen(p->name) + 2;
            char *key = xmalloc(kl);
            snprintf(key, kl, "%s:%s", stem, p->name);
            progs[n_progs].p = p;
            progs[n_progs].key = key;
            progs[n_progs].task = task;
            n_progs++;
        }
        free(stem);
    }
    if (n_parse_errors)
        rc = 1;

    /* ---- tasks */
    struct task_set set = TASK_SET_INIT;
    if (task_set_load(&set, task_paths, n_task_paths, stderr) < 0 || set.n_rejected)
        rc = 1;


    eval_init();
    struct eval_inputs *inputs = xmalloc((set.n ? set.n : 1) * sizeof(*inputs));
    for (size_t t = 0; t < set.n; t++)
        eval_inputs_make(&inputs[t], set.tasks[t].samples, set.tasks[t].n_demo,
                         (uint32_t)set.tasks[t].n_demo + set.tasks[t].n_test);

    /* own mode: the programs of each task (index lists) */
    size_t *own_first = NULL, *own_next = NULL;
    size_t n_no_task = 0;
    if (own) {
        own_first = xmalloc((set.n ? set.n : 1) * sizeof(size_t));
        own_next = xmalloc((n_progs ? n_progs : 1) * sizeof(size_t));
        for (size_t t = 0; t < set.n; t++)
            own_first[t] = SIZE_MAX;
        size_t *own_last = xmalloc((set.n ? set.n : 1) * sizeof(size_t));
        for (size_t k = 0; k < n_progs; k++) {
            own_next[k] = SIZE_MAX;
            const struct task *tk = progs[k].task ? task_set_find(&set, progs[k].task) : NULL;
            if (!tk) {
                n_no_task++;
                continue;
            }
            size_t t = (size_t)(tk - set.tasks);
            if (own_first[t] == SIZE_MAX)
                own_first[t] = k;
            else
                own_next[own_last[t]] = k;
            own_last[t] = k;
        }
        free(own_last);
    }

    struct call *calls = NULL;
    size_t n_calls = 0, cap_calls = 0;
    struct counter classes = { 0 };
    /* per program: own pairs and own pairs correct */
    uint32_t *own_pairs = calloc(n_progs ? n_progs : 1, sizeof(uint32_t));
    uint32_t *own_right = calloc(n_progs ? n_progs : 1, sizeof(uint32_t));
    uint64_t n_equal_expected = 0;
    struct strbuf text = { 0 }, tmp = { 0 };
    size_t mem_limit = (size_t)mem_mb << 20;
    double *rep_wall = xmalloc(repeat * sizeof(double));

    struct dag dag = DAG_INIT;
    struct ref *roots = xmalloc((n_progs ? n_progs : 1) * sizeof(*roots));
    for (size_t k = 0; k < n_progs; k++)
        if (use_dag && !progs[k].p->invalid)
            roots[k] = dag_add(&dag, progs[k].p);
    uint32_t *plan_index = xmalloc((n_progs ? n_progs : 1) * sizeof(*plan_index));
    struct ref *plan = xmalloc((n_progs ? n_progs : 1) * sizeof(*plan));
    struct sweep_ctx x = { use_dag, use_dag ? eval_state_new() : NULL, roots, plan_index, (uint32_t)timeout_ms,
                           mem_limit };
    if (x.st != NULL)
        eval_state_set_dag_append_only(x.st, true); /* one DAG, built before */
    struct eval_line_profile *prof = NULL;
    if (profile && !use_dag)
        eval_line_profile = prof = calloc(1, sizeof(*prof));
    /* --dag: the time of eval_sample_begin/_end (the arena reset) goes to the next call timed */
    double carry_us = 0;

    for (uint64_t r = 0; r < repeat; r++) {
        if (r == 1)
            eval_line_profile = NULL; /* the profile covers the first run */
        struct timespec w0, w1;
        clock_gettime(CLOCK_MONOTONIC, &w0);
        size_t ci = 0;
        for (size_t t = 0; t < set.n; t++) {
            const struct task *tk = &set.tasks[t];
            uint32_t ns = (uint32_t)tk->n_demo + tk->n_test;
            for (uint32_t s = 0; s < ns; s++) {
                const struct sample *sm = &tk->samples[s];
                if (use_dag) {
                    uint64_t t0 = now_ns();
                    eval_sample_begin(x.st, dag.nodes, dag.n, &inputs[t], s, mem_limit);
                    uint32_t n_plan = 0; /* the programs below, in the order they run */
                    for (size_t k = own ? own_first[t] : 0; own ? k != SIZE_MAX : k < n_progs;
                         k = own ? own_next[k] : k + 1) {
                        if (!progs[k].p->invalid) {
                            plan_index[k] = n_plan;
                            plan[n_plan++] = roots[k];
                        }
                    }
                    eval_sample_plan(x.st, plan, n_plan);
                    carry_us += (double)(now_ns() - t0) / 1e3;
                }
                size_t k = own ? own_first[t] : 0;
                for (; own ? k != SIZE_MAX : k < n_progs; k = own ? own_next[k] : k + 1) {
                    if (r > 0) {
                        struct call *c = &calls[ci++];
                        if (c->kind == 2) /* timed out: not repeated */
                            continue;
                        struct eval_result res;
                        uint64_t t0 = now_ns();
                        run_call(&x, progs[k].p, k, &inputs[t], s, &res);
                        if (!use_dag)
                            eval_program_release();
                        double us = (double)(now_ns() - t0) / 1e3 + carry_us;
                        carry_us = 0;
                        if (us < c->us)
                            c->us = us;
                        continue;
                    }
                    struct eval_result res;
                    uint64_t t0 = now_ns();
                    run_call(&x, progs[k].p, k, &inputs[t], s, &res);
                    double us = (double)(now_ns() - t0) / 1e3 + carry_us;
                    carry_us = 0;
                    if (prof && prof->current <= PRIM_COUNT) { /* the line that raised */
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        prof->ns[prof->current] += (uint64_t)ts.tv_sec * 1000000000u +
                                                   (uint64_t)ts.tv_nsec - prof->t0;
                        prof->current = PRIM_COUNT + 1;
                    }
                    if (n_calls == cap_calls) {
                        cap_calls = cap_calls ? 2 * cap_calls : 4096;
                        calls = xrealloc(calls, cap_calls * sizeof(*calls));
                    }
                    struct call *c = &calls[n_calls++];
                    c->task = (uint32_t)t;
                    c->sample = s;
                    c->prog = (uint32_t)k;
                    c->us = us;
                    switch (res.outcome) {
                    case DSL_OK: c->kind = 0; break;
                    case DSL_ERROR: c->kind = strncmp(res.msg, "invalid program", 15) == 0 ? 4 : 1; break;
                    case DSL_TIMEOUT: c->kind = 2; break;
                    default: c->kind = 3; break;
                    }
                    bool match = false;
                    if (res.outcome == DSL_OK) {
                        counter_add(&classes, value_class(res.value));
                        if (sm->has_output) {
                            bool shape;
                            uint32_t right, total;
                            val_score(res.value, &sm->output, &match, &shape, &right, &total);
                        }
                    } else {
                        outcome_text(&res, full, &text, &tmp);
                        counter_add(&classes, text.p);
                    }
                    n_equal_expected += match;
                    if (progs[k].task && strcmp(progs[k].task, tk->name) == 0 && sm->has_output) {
                        own_pairs[k]++;
                        own_right[k] += match;
                    }
                    if (dump) {
                        outcome_text(&res, full, &text, &tmp);
                        fprintf(dump, "%s\t%s/%u\t%s\t%s\n", tk->name,
                                sm->kind == SAMPLE_DEMO ? "train" : "test", sm->index, progs[k].key,
                                text.p ? text.p : "");
                    }
                    if (!use_dag) { /* the memory it took beyond what is kept: its cost */
                        uint64_t t1 = now_ns();
                        eval_program_release();
                        c->us += (double)(now_ns() - t1) / 1e3;
                    }
                }
                if (use_dag) {
                    uint64_t t0 = now_ns();
                    eval_sample_end(x.st);
                    carry_us += (double)(now_ns() - t0) / 1e3;
                }
            }
        }
        if (n_calls != 0 && r == 0)
            calls[n_calls - 1].us += carry_us;
        carry_us = 0;
        clock_gettime(CLOCK_MONOTONIC, &w1);
        rep_wall[r] = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    }

    if (times) {
        for (size_t i = 0; i < n_calls; i++) {
            const struct call *c = &calls[i];
            const struct sample *sm = &set.tasks[c->task].samples[c->sample];
            fprintf(times, "%s\t%s/%u\t%s\t%.3f\n", set.tasks[c->task].name,
                    sm->kind == SAMPLE_DEMO ? "train" : "test", sm->index, progs[c->prog].key, c->us);
        }
    }

    /* ---- summary */
    printf("battfarm-dsl-sweep: %s%s mode, %zu programs (%zu statically invalid, %zu excluded), "
           "%zu tasks, timeout %" PRIu64 " ms, mem %" PRIu64 " MB, repeat %" PRIu64 ", %s clock\n",
           own ? "own" : "cross", use_dag ? " dag" : "", n_progs, n_invalid, n_excluded, set.n, timeout_ms, mem_mb, repeat,
           call_clock == CLOCK_MONOTONIC ? "wall" : "cpu");
    if (own && n_no_task)
        printf("programs without their task in the set: %zu\n", n_no_task);
    printf("calls: %zu\n", n_calls);
    printf("outcomes:\n");
    counter_print(&classes, n_calls);
    printf("calls equal to the expected output: %" PRIu64 "\n", n_equal_expected);

    size_t n_own = 0, n_own_ok = 0;
    for (size_t k = 0; k < n_progs; k++) {
        if (own_pairs[k] == 0)
            continue;
        n_own++;
        n_own_ok += own_right[k] == own_pairs[k];
    }
    if (n_own) {
        printf("own-correct: %zu/%zu\n", n_own_ok, n_own);
        printf("own-failed:");
        size_t shown = 0, n_bad = n_own - n_own_ok;
        for (size_t k = 0; k < n_progs && (!quiet || shown < 20); k++) {
            if (own_pairs[k] == 0 || own_right[k] == own_pairs[k])
                continue;
            printf(" %s(%u/%u)", progs[k].key, own_right[k], own_pairs[k]);
            shown++;
        }
        if (shown < n_bad)
            printf(" ... (%zu more)", n_bad - shown);
        printf("\n");
    }

    double *us = xmalloc((n_calls ? n_calls : 1) * sizeof(double));
    double *us2 = xmalloc((n_calls ? n_calls : 1) * sizeof(double));
    size_t n_ok = 0, n_err = 0;
    for (size_t i = 0; i < n_calls; i++) {
        us[i] = calls[i].us;
        if (calls[i].kind == 0)
            us2[n_ok++] = calls[i].us;
    }
    print_dist("per call, all", us, n_calls);
    print_dist("per call, returned", us2, n_ok);
    for (size_t i = 0; i < n_calls; i++)
        if (calls[i].kind != 0)
            us2[n_err++] = calls[i].us;
    print_dist("per call, raised/timeout/memout", us2, n_err);
    printf("wall per repetition:");
    for (uint64_t r = 0; r < repeat; r++)
        printf(" %.3f s", rep_wall[r]);
    printf("\n");

    if (prof) {
        uint64_t total = 0;
        for (uint32_t i = 0; i <= PRIM_COUNT; i++)
            total += prof->ns[i];
        printf("profile: time in lines by the primitive they call (first run only), total %.3f s\n",
               (double)total / 1e9);
        for (;;) { /* largest first, down to 0.5% */
            uint32_t best = 0;
            for (uint32_t i = 1; i <= PRIM_COUNT; i++)
                if (prof->ns[i] > prof->ns[best])
                    best = i;
            if (prof->ns[best] == 0 || prof->ns[best] * 200 < total)
                break;
            printf("  %-16s %8.3f s %5.1f%% %10" PRIu64 " lines %9.2f us/line\n",
                   best < PRIM_COUNT ? prim_table[best].name : "(function value)",
                   (double)prof->ns[best] / 1e9, 100.0 * (double)prof->ns[best] / (double)total,
                   prof->calls[best], (double)prof->ns[best] / 1e3 / (double)prof->calls[best]);
            prof->ns[best] = 0;
        }
        free(prof);
    }

    if (dump && fclose(dump) != 0) {
        fprintf(stderr, "battfarm-dsl-sweep: %s: %s\n", dump_path, strerror(errno));
        rc = 1;
    }
    if (times && fclose(times) != 0) {
        fprintf(stderr, "battfarm-dsl-sweep: %s: %s\n", times_path, strerror(errno));
        rc = 1;
    }

    if (x.st)
        eval_state_free(x.st);
    dag_release(&dag);
    free(roots);
    free(plan);
    free(plan_index);
    free(us);
    free(us2);
    free(rep_wall);
    sb_release(&text);
    sb_release(&tmp);
    counter_release(&classes);
    free(own_pairs);
    free(own_right);
    free(calls);
    free(own_first);
    free(own_next);
    for (size_t t = 0; t < set.n; t++)
        eval_inputs_release(&inputs[t]);
    free(inputs);
    task_set_release(&set);
    for (size_t k = 0; k < n_progs; k++)
        free(progs[k].key);
    free(progs);
    for (int f = 0; f < n_prog_paths; f++)
        program_file_release(&pfs[f]);
    free(pfs);
    free(prog_paths);
    free(task_paths);
    free(excl);
    for (int i = 0; i < n_excl_bufs; i++)
        free(excl_bufs[i]);
    free(excl_bufs);
    return rc;

bad:
    usage(stderr);
    free(prog_paths);
    free(task_paths);
    free(excl);
    for (int i = 0; i < n_excl_bufs; i++)
        free(excl_bufs[i]);
    free(excl_bufs);
    return 2;
}
