/* eval.c: evaluating candidates on samples: the SIGALRM soft timeout, the per-evaluation memory
 * cap, the protected boundary, the per-sample memo over the shared DAG (a node runs at most
 * once per sample; a failed node fails its dependents without running again), eval_program for
 * one parsed program, and the conversions between grids and values. */
#include "compat.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "arena.h"
#include "eval.h"

/* Between candidates, a sample's arena above this many bytes drops the memo and starts over. */
#define EVAL_RESET_BYTES_DEFAULT ((size_t)512 << 20)

/* ---------------------------------------------------------------- clocks and the timer */

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The soft time limit (perf: no syscalls per candidate in the common case). setitimer costs a
 * syscall, so the timer is not armed and disarmed around every evaluation: the evaluation's
 * deadline (CLOCK_MONOTONIC, us; 0 = no evaluation running) is published in `deadline_us`, and
 * ITIMER_REAL is (re)armed only when it is not already due to fire by then. When it fires, the
 * handler sets the interrupt flag if the deadline has passed, re-arms itself for the rest when
 * a later deadline is current, and does nothing when no evaluation runs (a stray SIGALRM then
 * arrives at most once per limit between evaluations; SA_RESTART restarts interrupted calls).
 * So a candidate still sees its interrupt at its own deadline, as with one timer per call. */
static _Atomic uint64_t deadline_us;    /* current evaluation's deadline, 0 = none */
static _Atomic uint64_t timer_fire_us;  /* when the armed ITIMER_REAL fires, 0 = not armed */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the SIGALRM handler needs lock-free 64-bit atomics");

static void timer_set_us(uint64_t us)
{
    struct itimerval it;
    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = (time_t)(us / 1000000u);
    it.it_value.tv_usec = (suseconds_t)(us % 1000000u);
    if (us == 0)
        it.it_value.tv_usec = 1; /* 0 would disarm */
    setitimer(ITIMER_REAL, &it, NULL);
}

static void on_sigalrm(int sig)
{
    (void)sig;
    int saved_errno = errno;
    atomic_store(&timer_fire_us, 0);
    uint64_t d = atomic_load(&deadline_us);
    if (d != 0) {
        uint64_t now = clock_us(CLOCK_MONOTONIC);
        if (now >= d) {
            dsl_rt.interrupt = 1;
        } else {
            atomic_store(&timer_fire_us, d);
            timer_set_us(d - now);
        }
    }
    errno = saved_errno;
}

static bool timer_installed;

void eval_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigalrm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGALRM, &sa, NULL) != 0) {
        perror("battfarm: sigaction(SIGALRM)");
        abort();
    }
    timer_installed = true;
}

/* Starts the soft limit of an evaluation that began at `now` (CLOCK_MONOTONIC, us). */
static void timer_arm(uint64_t now, uint32_t limit_ms)
{
    uint64_t d = now + (uint64_t)limit_ms * 1000u;
    atomic_store(&deadline_us, d); /* before looking at the timer: see on_sigalrm */
    uint64_t f = atomic_load(&timer_fire_us);
    if (f == 0 || f > d) {
        atomic_store(&timer_fire_us, d);
        timer_set_us(d - now);
    }
}

static void timer_disarm(void)
{
    atomic_store(&deadline_us, 0);
}

/* CPU time of the process (perf). CLOCK_PROCESS_CPUTIME_ID is a syscall (about 1 us here, as
 * much as a whole small evaluation), so it is read at most once per CPU_RESYNC_US of wall time:
 * in between, the CPU clock is taken to advance with the wall clock (CLOCK_MONOTONIC, vDSO).
 * An evaluation's cpu_us is then exact up to the time the process spent preempted within the
 * last CPU_RESYNC_US before its start and its end (a long evaluation resyncs at its end), and
 * never exceeds its wall_us. CPU_RESYNC_US 0 reads the real clock every time. */
#define CPU_RESYNC_US 2000u
static uint64_t cpu_base, wall_base; /* a real CPU reading and the wall time it was taken at */

static uint64_t cpu_now(uint64_t wall_now)
{
    if (wall_base == 0 || wall_now < wall_base || wall_now - wall_base >= CPU_RESYNC_US) {
        cpu_base = clock_us(CLOCK_PROCESS_CPUTIME_ID);
        wall_base = wall_now;
    }
    return cpu_base + (wall_now - wall_base);
}

/* ---------------------------------------------------------------- one protected evaluation */

struct timed_call {
    val (*fn)(void *ctx);
    void *ctx;
    val result;
};

static void timed_body(void *p)
{
    struct timed_call *t = p;
    t->result = t->fn(t->ctx);
}

void eval_call_protected(val (*fn)(void *ctx), void *ctx, uint32_t limit_ms, size_t mem_limit,
                         struct eval_result *out)
{
    if (!timer_installed)
        eval_init();
    struct timed_call t = { fn, ctx, v_none() };
    dsl_rt_clear();
    dsl_rt.mem_limit = mem_limit;
    dsl_rt.arena_cap = mem_limit != 0 ? dsl_rt.arena_used + mem_limit : 0;
    uint64_t wall0 = clock_us(CLOCK_MONOTONIC);
    uint64_t cpu0 = cpu_now(wall0);
    if (limit_ms != 0)
        timer_arm(wall0, limit_ms);
    enum dsl_outcome outcome = dsl_protect(timed_body, &t);
    if (limit_ms != 0)
        timer_disarm();
    uint64_t wall1 = clock_us(CLOCK_MONOTONIC), cpu1 = cpu_now(wall1);
    out->wall_us = wall1 - wall0;
    out->cpu_us = cpu1 > cpu0 ? cpu1 - cpu0 : 0;
    if (out->cpu_us > out->wall_us)
        out->cpu_us = out->wall_us;
    dsl_rt.interrupt = 0;
    dsl_rt.arena_cap = 0;
    dsl_rt.depth = 0;
    out->outcome = outcome;
    out->value = outcome == DSL_OK ? t.result : v_none();
    if (outcome == DSL_OK)
        out->msg[0] = '\0';
    else if (outcome == DSL_TIMEOUT)
        snprintf(out->msg, sizeof(out->msg), "timeout after %u ms", limit_ms);
    else
        snprintf(out->msg, sizeof(out->msg), "%s", dsl_rt.msg);
}

/* ---------------------------------------------------------------- task inputs */

struct inputs_private {
    struct dsl_arena *arena;
};

void eval_inputs_make(struct eval_inputs *in, const struct sample *samples, uint32_t n_demo, uint32_t n)
{
    memset(in, 0, sizeof(*in));
    struct dsl_arena *arena = dsl_arena_new();
    struct dsl_arena *prev = dsl_arena_use(arena);
    size_t cap = dsl_rt.arena_cap;
    dsl_rt.arena_cap = 0;
    in->n = n;
    in->input = calloc(n ? n : 1, sizeof(val));
    in->output = calloc(n ? n : 1, sizeof(val));
    if (in->input == NULL || in->output == NULL) {
        fputs("battfarm: out of memory (inputs)\n", stderr);
        abort();
    }
    for (uint32_t i = 0; i < n; i++) {
        in->input[i] = grid_to_val(&samples[i].input);
        in->output[i] = samples[i].has_output ? grid_to_val(&samples[i].output) : v_none();
    }
    uint32_t demos = n_demo < n ? n_demo : n;
    struct vtuple *S = tuple_new(demos);
    for (uint32_t i = 0; i < demos; i++)
        S->item[i] = tuple_pair(in->input[i], in->output[i]);
    in->S = v_tuple(S);
    in->arena_ = arena;
    dsl_rt.arena_cap = cap;
    dsl_arena_use(prev);
}

void eval_inputs_release(struct eval_inputs *in)
{
    dsl_arena_free(in->arena_);
    free(in->input);
    free(in->output);
    memset(in, 0, sizeof(*in));
}

/* ---------------------------------------------------------------- the per-sample DAG memo */

#define NO_NODE UINT32_MAX

uint64_t eval_nodes_run;

struct memo {
    uint32_t gen;     /* == st->gen: evaluated (or failed) in this sample */
    uint32_t visit;   /* == st->visit: children already pushed by this candidate */
    uint32_t plan;    /* == st->plan: needed by the plan's candidates, the last one being */
    uint32_t last;    /* this one (its index in the plan) */
    uint8_t failed;   /* outcome != DSL_OK */
    uint8_t outcome;
    uint8_t uses;     /* the plan's references to this node (2: two or more, or a root) */
    uint32_t uses_plan; /* == st->plan: uses counted for this plan */
    uint32_t msg;     /* failed: offset in st->msgs */
    val value;
};

/* What a candidate of the plan shares with later ones. */
enum plan_shares {
    SHARES_NONE,   /* no node: all its memory is handed back */
    SHARES_SOME,   /* some nodes: those run first, the rest is handed back */
    SHARES_ALL,    /* its root, so every node: nothing to hand back */
};

struct eval_state {
    const struct pnode *nodes;
    uint32_t n_nodes;
    const struct eval_inputs *in;
    uint32_t sample;
    size_t mem_limit;
    size_t reset_bytes;
    struct dsl_arena *arena;
    struct memo *memo;
    uint32_t memo_cap;
    uint32_t gen, visit;
    uint32_t *stack;
    size_t stack_cap;
    char *msgs;                     /* failure messages, NUL-separated */
    size_t msgs_len, msgs_cap;
    struct dag_hasher hasher;       /* canonical hash of each node: where its closures come from */
    /* the candidate being evaluated */
    struct ref root;
    uint32_t limit_ms;
    uint32_t current;               /* node running now, or NO_NODE */
    uint64_t cand_wall0, node_wall0;
    uint64_t node_early_until;      /* node_clock_start: coarse-clock bound of a certain "early" */
    size_t cand_bytes0, node_bytes0;
    /* The plan (eval_sample_plan): the candidates that will run on the sample, in order. */
    struct ref *plan_roots;
    uint8_t *plan_shares;           /* per candidate: enum plan_shares */
    uint32_t plan_n, plan_cap;
    uint32_t plan;                  /* stamp of the current plan in struct memo; 0 = none */
    /* The plan's stamps still hold for plan_roots (false once the memo's stamps were cleared):
     * with an append-only DAG (eval_state_set_dag_append_only) the next sample with the same
     * roots reuses them (eval_sample_plan). */
    bool dag_append_only, plan_cached;
    uint32_t plan_cached_n, plan_cached_nodes;
    uint32_t cand;                  /* index in the plan of the candidate running, or NO_NODE */
    /* The candidate's own region: memory allocated after the nodes a later candidate needs
     * were computed, handed back before the next candidate runs (region_release). */
    bool region_open, region_kept;
    struct dsl_arena_pos region_at;
    uint32_t *region_nodes;         /* nodes computed (or failed) in it */
    size_t region_n, region_cap;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fputs("battfarm: out of memory (evaluator)\n", stderr);
        abort();
    }
    return q;
}

struct eval_state *eval_state_new(void)
{
    struct eval_state *st = xrealloc(NULL, sizeof(*st));
    memset(st, 0, sizeof(*st));
    st->arena = dsl_arena_new();
    st->reset_bytes = EVAL_RESET_BYTES_DEFAULT;
    st->gen = 1;
    st->current = NO_NODE;
    return st;
}

void eval_state_free(struct eval_state *st)
{
    if (st == NULL)
        return;
    dsl_arena_free(st->arena);
    dag_hasher_release(&st->hasher);
    free(st->memo);
    free(st->stack);
    free(st->plan_roots);
    free(st->plan_shares);
    free(st->region_nodes);
    free(st->msgs);
    free(st);
}

void eval_state_set_reset_bytes(struct eval_state *st, size_t bytes)
{
    st->reset_bytes = bytes;
}

/* Forgets every memoised value: a new generation, an empty arena, fresh closure ids. */
static void eval_forget(struct eval_state *st)
{
    st->gen++;
    if (st->gen == 0) { /* wrapped: the stamps of old entries could match again */
        memset(st->memo, 0, (size_t)st->memo_cap * sizeof(*st->memo));
        st->gen = 1;
        st->plan_cached = false; /* the plan's stamps went with the rest */
    }
    dsl_arena_reset(st->arena);
    st->region_open = false;
    st->msgs_len = 0;
    dsl_rt.next_func_id = 0;
    dsl_rt.func_base = 0;
    dsl_rt.func_first_id = 0;
}

/* Closures made from here on hash by the expression being computed (dsl.h). */
static inline void func_origin(uint64_t node_hash)
{
    dsl_rt.func_base = node_hash & ~(uint64_t)UINT32_MAX;
    dsl_rt.func_first_id = dsl_rt.next_func_id > PRIM_COUNT ? dsl_rt.next_func_id : PRIM_COUNT + 1;
    dsl_memo_line_begin();
}

void eval_sample_begin(struct eval_state *st, const struct pnode *nodes, uint32_t n_nodes,
                       const struct eval_inputs *in, uint32_t sample, size_t mem_limit)
{
    if (n_nodes > st->memo_cap) {
        st->memo = xrealloc(st->memo, (size_t)n_nodes * sizeof(*st->memo));
        memset(st->memo + st->memo_cap, 0, (size_t)(n_nodes - st->memo_cap) * sizeof(*st->memo));
        st->memo_cap = n_nodes;
    }
    size_t need = (size_t)n_nodes * (PROG_MAX_ARGS + 1) + 1;
    if (need > st->stack_cap) {
        st->stack = xrealloc(st->stack, need * sizeof(*st->stack));
        st->stack_cap = need;
    }
    if (n_nodes < st->hasher.n) /* another DAG (the worker's only grows) */
        dag_hasher_release(&st->hasher);
    dag_hasher_extend(&st->hasher, nodes, n_nodes);
    st->nodes = nodes;
    st->n_nodes = n_nodes;
    st->in = in;
    st->sample = sample;
    st->mem_limit = mem_limit;
    st->plan_n = 0;
    st->cand = NO_NODE;
    eval_forget(st);
}

/* Counts a use of r (a node) by the plan: a root counts as two, so that it is never fused. */
static void plan_count_use(struct eval_state *st, struct ref r, uint8_t count)
{
    if (r.kind != REF_NODE)
        return;
    struct memo *m = &st->memo[r.id];
    if (m->uses_plan != st->plan) {
        m->uses_plan = st->plan;
        m->uses = 0;
    }
    m->uses = m->uses + count > 2 ? 2 : (uint8_t)(m->uses + count);
}

void eval_state_set_dag_append_only(struct eval_state *st, bool append_only)
{
    st->dag_append_only = append_only;
    st->plan_cached = false;
}

/* Whether the plan whose stamps the memo holds is for these roots over the same DAG. */
static bool same_plan(const struct eval_state *st, const struct ref *roots, uint32_t n)
{
    if (!st->plan_cached || n != st->plan_cached_n || st->n_nodes != st->plan_cached_nodes)
        return false;
    for (uint32_t k = 0; k < n; k++)
        if (roots[k].kind != st->plan_roots[k].kind || roots[k].id != st->plan_roots[k].id)
            return false;
    return true;
}

void eval_sample_plan(struct eval_state *st, const struct ref *roots, uint32_t n)
{
    if (n > st->plan_cap) {
        st->plan_roots = xrealloc(st->plan_roots, (size_t)n * sizeof(*st->plan_roots));
        st->plan_shares = xrealloc(st->plan_shares, n);
        st->plan_cap = n;
    }
    /* The same candidates on another sample of the task, over the same DAG: the plan is the same
     * (perf: walking it again per sample was most of worker_on_frame's 0.9% of the arc-dsl
     * sweep's profile; the paired single-core sweep gained 0.3%). */
    if (same_plan(st, roots, n)) {
        st->plan_n = n;
        return;
    }
    memcpy(st->plan_roots, roots, (size_t)n * sizeof(*roots));
    st->plan_n = n;
    st->plan_cached = st->dag_append_only;
    st->plan_cached_n = n;
    st->plan_cached_nodes = st->n_nodes;
    if (++st->plan == 0) { /* wrapped: old stamps could match again */
        for (uint32_t id = 0; id < st->memo_cap; id++)
            st->memo[id].plan = st->memo[id].uses_plan = 0;
        st->plan = 1;
    }
    /* Last candidates first: the first to reach a node is the last that needs it, and every
     * node below it was reached then too (a node's operands are needed wherever it is). */
    for (uint32_t k = n; k-- > 0;) {
        st->plan_shares[k] = SHARES_ALL;
        if (roots[k].kind == REF_NODE && roots[k].id < st->n_nodes)
            plan_count_use(st, roots[k], 2);
        if (roots[k].kind != REF_NODE || roots[k].id >= st->n_nodes || st->memo[roots[k].id].plan == st->plan)
            continue;
        st->plan_shares[k] = SHARES_NONE;
        size_t sp = 0;
        st->stack[sp++] = roots[k].id;
        while (sp != 0) {
            uint32_t id = st->stack[--sp];
            struct memo *m = &st->memo[id];
            if (m->plan == st->plan) {
                if (m->last != k)
                    st->plan_shares[k] = SHARES_SOME; /* a later candidate's */
                continue;
            }
            m->plan = st->plan;
            m->last = k;
            const struct pnode *nd = &st->nodes[id];
            if (nd->callee.kind == REF_NODE)
                st->stack[sp++] = nd->callee.id;
            plan_count_use(st, nd->callee, 1);
            for (int i = 0; i < nd->nargs; i++) {
                if (nd->arg[i].kind == REF_NODE)
                    st->stack[sp++] = nd->arg[i].id;
                plan_count_use(st, nd->arg[i], 1);
            }
        }
    }
}

/* Whether a candidate of the plan after the running one needs node id. */
static bool needed_later(const struct eval_state *st, uint32_t id)
{
    const struct memo *m = &st->memo[id];
    return m->plan != st->plan || m->last != st->cand;
}

/* Notes node id, just computed (failed: its failure stored), in the candidate's region. */
static void region_note(struct eval_state *st, uint32_t id, bool failed)
{
    if (!st->region_open)
        return;
    if (needed_later(st, id)) {
        /* a failure holds no arena memory (the root's, met in a node a later candidate needs);
         * a value would (cannot happen, see eval_root): then the region is kept, to be safe */
        if (!failed)
            st->region_kept = true;
        return;
    }
    if (st->region_n == st->region_cap) {
        st->region_cap = st->region_cap ? st->region_cap * 2 : 64;
        st->region_nodes = xrealloc(st->region_nodes, st->region_cap * sizeof(*st->region_nodes));
    }
    st->region_nodes[st->region_n++] = id;
}

/* Hands back the last candidate's own region: its nodes are computed again if ever needed (no
 * candidate of the plan does). */
static void region_release(struct eval_state *st)
{
    if (!st->region_open)
        return;
    st->region_open = false;
    if (st->region_kept)
        return;
    for (size_t i = 0; i < st->region_n; i++)
        st->memo[st->region_nodes[i]].gen = 0;
    dsl_arena_rewind(st->arena, st->region_at);
}

void eval_sample_end(struct eval_state *st)
{
    st->plan_n = 0;
    eval_forget(st);
}

static uint32_t msg_store(struct eval_state *st, const char *msg)
{
    size_t n = strlen(msg) + 1;
    if (st->msgs_len + n > st->msgs_cap) {
        st->msgs_cap = (st->msgs_len + n) * 2;
        st->msgs = xrealloc(st->msgs, st->msgs_cap);
    }
    memcpy(st->msgs + st->msgs_len, msg, n);
    uint32_t off = (uint32_t)st->msgs_len;
    st->msgs_len += n;
    return off;
}

static void memo_fail(struct eval_state *st, uint32_t id, enum dsl_outcome outcome, uint32_t msg)
{
    struct memo *m = &st->memo[id];
    region_note(st, id, true);
    m->gen = st->gen;
    m->failed = 1;
    m->outcome = (uint8_t)outcome;
    m->msg = msg;
    m->value = v_none();
}

/* Node id, which was running, computed r. */
static void memo_store(struct eval_state *st, uint32_t id, val r)
{
    st->current = NO_NODE;
    struct memo *m = &st->memo[id];
    region_note(st, id, false);
    m->gen = st->gen;
    m->failed = 0;
    m->value = r;
}

static val leaf_value(const struct eval_state *st, struct ref r)
{
    switch (r.kind) {
    case REF_CONST: return const_value((enum const_id)r.id);
    case REF_PRIM: return fn_prim((enum prim_id)r.id);
    case REF_I: return st->in->input[st->sample];
    case REF_S: return st->in->S;
    case REF_C: return v_none(); /* never known while scoring */
    default: dsl_raise(EXC_RUNTIME, "bad reference kind %d", r.kind);
    }
}

static val ref_value(const struct eval_state *st, struct ref r)
{
    return r.kind == REF_NODE ? st->memo[r.id].value : leaf_value(st, r);
}

/* The first failed node among id's operands (callee first), or NO_NODE. */
static uint32_t failed_operand(const struct eval_state *st, const struct pnode *nd)
{
    if (nd->callee.kind == REF_NODE && st->memo[nd->callee.id].failed)
        return nd->callee.id;
    for (int i = 0; i < nd->nargs; i++)
        if (nd->arg[i].kind == REF_NODE && st->memo[nd->arg[i].id].failed)
            return nd->arg[i].id;
    return NO_NODE;
}

/* Fusion of a sink and the patch it writes: paint(grid, M), fill(grid, value, M) or
 * underfill(grid, value, M), where M is mapply(function, container) or mfilter(container,
 * function) (or, for fill and underfill, ofcolor(grid, value)), used by nothing else in the plan
 * and not computed yet. Then M's operands take its place in the walk and the sink is computed
 * from them (dsl_sink_into_grid: the same value or failure, without the merged patch where its
 * order cannot matter; perf: solve_1f0c79e5 paints up to 150,000 shifted cells, most of them
 * outside the grid). The sink's operand number of M, or -1. */
static int fused_operand(const struct eval_state *st, const struct pnode *nd)
{
    if (st->cand == NO_NODE || nd->callee.kind != REF_PRIM)
        return -1;
    int at = nd->callee.id == PRIM_paint && nd->nargs == 2 ? 1
           : (nd->callee.id == PRIM_fill || nd->callee.id == PRIM_underfill) && nd->nargs == 3 ? 2
                                                                                               : -1;
    if (at < 0 || nd->arg[at].kind != REF_NODE)
        return -1;
    const struct pnode *m = &st->nodes[nd->arg[at].id];
    const struct memo *mm = &st->memo[nd->arg[at].id];
    if (m->callee.kind != REF_PRIM || m->nargs != 2)
        return -1;
    bool producer = m->callee.id == PRIM_mapply || m->callee.id == PRIM_mfilter ||
                    (m->callee.id == PRIM_ofcolor && at == 2); /* fill of indices; paint fails */
    if (!producer)
        return -1;
    return mm->uses_plan == st->plan && mm->uses == 1 && mm->gen != st->gen ? at : -1;
}

/* failed_operand for a fused sink: M's operands in M's place (both callees are primitives). */
static uint32_t failed_fused_operand(const struct eval_state *st, const struct pnode *nd, int at)
{
    const struct pnode *m = &st->nodes[nd->arg[at].id];
    for (int i = 0; i < nd->nargs; i++) {
        if (i == at) {
            uint32_t bad = failed_operand(st, m);
            if (bad != NO_NODE)
                return bad;
        } else if (nd->arg[i].kind == REF_NODE && st->memo[nd->arg[i].id].failed) {
            return nd->arg[i].id;
        }
    }
    return NO_NODE;
}

/* A timeout or memout is kept on the node that was running only when that node alone used
 * (nearly) the whole budget: it started at most timeout_slack_us after the candidate (or
 * within a fiftieth of the memory cap); otherwise a later candidate gets to run it with a fresh
 * one. */
static uint64_t timeout_slack_us(uint32_t limit_ms)
{
    uint64_t slack = (uint64_t)limit_ms * 1000u / 50u;
    return slack > 1000 ? slack : 1000;
}

static bool failure_belongs_to_node(const struct eval_state *st, enum dsl_outcome outcome)
{
    if (outcome == DSL_ERROR)
        return true;
    if (outcome == DSL_TIMEOUT)
        return st->node_wall0 - st->cand_wall0 <= timeout_slack_us(st->limit_ms);
    return st->node_bytes0 - st->cand_bytes0 <= st->mem_limit / 50u;
}

/* The coarse monotonic clock (the time at the last tick: never ahead of CLOCK_MONOTONIC, and
 * behind it by at most a tick while the CPU is busy) and its resolution; 0 = not available. */
#if defined(CLOCK_MONOTONIC_COARSE)
#define EVAL_COARSE_CLOCK CLOCK_MONOTONIC_COARSE
static uint64_t coarse_res_us(void)
{
    static uint64_t res = UINT64_MAX;
    if (res == UINT64_MAX) {
        struct timespec ts;
        res = 0;
        if (clock_getres(EVAL_COARSE_CLOCK, &ts) == 0)
            res = (uint64_t)ts.tv_sec * 1000000u + ((uint64_t)ts.tv_nsec + 999u) / 1000u;
    }
    return res;
}
#endif

/* Perf: a node's start time (node_wall0) matters only to failure_belongs_to_node, and a DAG
 * sweep starts millions of nodes (CLOCK_MONOTONIC through the vDSO: 22 ns here, the coarse
 * clock 3 ns; __vdso_clock_gettime was 0.63% of the samples of a DAG sweep of arc-dsl's
 * solvers over 100 tasks, 0.28% with this). A node started while the coarse clock reads less
 * than node_early_until started within the slack for certain (two ticks of margin against the
 * coarse clock's lag), so it is given the candidate's start time, which decides alike; a later
 * one reads the precise clock. A slack of two ticks or less always reads it. No time limit:
 * nothing to decide. (A coarse clock lagging by more than two ticks, its timekeeping CPU
 * stalled, would move the bound by the excess: a node that started that much past the slack
 * would keep its time-out.) */
static void candidate_clock_start(struct eval_state *st)
{
    st->node_early_until = 0;
#ifdef EVAL_COARSE_CLOCK
    uint64_t res = coarse_res_us(), slack = timeout_slack_us(st->limit_ms);
    if (st->limit_ms == 0)
        st->node_early_until = UINT64_MAX;
    else if (res != 0 && slack > 2 * res)
        st->node_early_until = clock_us(EVAL_COARSE_CLOCK) + slack - 2 * res; /* read before cand_wall0 */
#endif
    st->cand_wall0 = clock_us(CLOCK_MONOTONIC);
}

static void node_clock_start(struct eval_state *st)
{
#ifdef EVAL_COARSE_CLOCK
    if (st->node_early_until == UINT64_MAX || clock_us(EVAL_COARSE_CLOCK) < st->node_early_until) {
        st->node_wall0 = st->cand_wall0;
        return;
    }
#endif
    st->node_wall0 = clock_us(CLOCK_MONOTONIC);
}

/* The sink id computed from its operands and those of its producer M (fused_operand: at). */
static void node_compute_fused(struct eval_state *st, uint32_t id, int at)
{
    const struct pnode *nd = &st->nodes[id];
    uint32_t mid = nd->arg[at].id;
    const struct pnode *m = &st->nodes[mid];
    uint32_t bad = failed_fused_operand(st, nd, at);
    if (bad != NO_NODE) {
        memo_fail(st, id, (enum dsl_outcome)st->memo[bad].outcome, st->memo[bad].msg);
        return;
    }
    val grid = ref_value(st, nd->arg[0]);
    val value = nd->nargs == 3 ? ref_value(st, nd->arg[1]) : v_none();
    val p0 = ref_value(st, m->arg[0]), p1 = ref_value(st, m->arg[1]);
    st->current = id;
    node_clock_start(st);
    st->node_bytes0 = dsl_rt.arena_used;
    func_origin(st->hasher.hash[mid]); /* closures made by M's calls hash as they would */
    eval_nodes_run++;
    DSL_TICK();
    dsl_rt.depth++; /* the depth of fn_call(M's primitive): its calls nest as they would */
    dsl_rt.calls += 2;
    val r = dsl_sink_into_grid((enum prim_id)nd->callee.id, grid, value, (enum prim_id)m->callee.id, p0, p1);
    dsl_rt.depth--;
    memo_store(st, id, r);
}

/* Runs node id, whose operands are all evaluated. */
static void node_compute(struct eval_state *st, uint32_t id)
{
    const struct pnode *nd = &st->nodes[id];
    int fused = fused_operand(st, nd);
    if (fused >= 0) {
        node_compute_fused(st, id, fused);
        return;
    }
    uint32_t bad = failed_operand(st, nd);
    if (bad != NO_NODE) {
        memo_fail(st, id, (enum dsl_outcome)st->memo[bad].outcome, st->memo[bad].msg);
        return;
    }
    val f = ref_value(st, nd->callee);
    val args[PROG_MAX_ARGS];
    for (int i = 0; i < nd->nargs; i++)
        args[i] = ref_value(st, nd->arg[i]);
    st->current = id;
    node_clock_start(st);
    st->node_bytes0 = dsl_rt.arena_used;
    func_origin(st->hasher.hash[id]);
    eval_nodes_run++;
    val r = fn_call(f, nd->nargs, args);
    dsl_memo_mark_line_value(r);
    memo_store(st, id, r);
}

/* Operands still to compute, and failed ones (eval_root fails the candidate where it meets them). */
static void push_operand(struct eval_state *st, size_t *sp, struct ref r)
{
    if (r.kind == REF_NODE && (st->memo[r.id].gen != st->gen || st->memo[r.id].failed))
        st->stack[(*sp)++] = r.id;
}

/* Computes the root's missing nodes in dependency order with an explicit stack; with
 * later_only, only those a later candidate of the plan needs too (the others are visited, not
 * computed: every node above one of them is the candidate's own as well). Returns the first
 * failed node met (the root aside), or NO_NODE. */
static uint32_t walk(struct eval_state *st, bool later_only)
{
    st->visit++;
    size_t sp = 0;
    st->stack[sp++] = st->root.id;
    while (sp != 0) {
        uint32_t id = st->stack[sp - 1];
        struct memo *m = &st->memo[id];
        if (m->gen == st->gen) {
            if (m->failed && id != st->root.id)
                return id;
            sp--;
            continue;
        }
        if (m->visit != st->visit) {
            const struct pnode *nd = &st->nodes[id];
            m->visit = st->visit;
            int fused = fused_operand(st, nd);
            for (int i = nd->nargs - 1; i >= 0; i--) {
                if (i != fused) {
                    push_operand(st, &sp, nd->arg[i]);
                    continue;
                }
                const struct pnode *producer = &st->nodes[nd->arg[i].id];
                for (int k = producer->nargs - 1; k >= 0; k--)
                    push_operand(st, &sp, producer->arg[k]);
            }
            push_operand(st, &sp, nd->callee);
            continue;
        }
        sp--;
        if (!later_only || needed_later(st, id))
            node_compute(st, id);
    }
    return NO_NODE;
}

/* The walk over the nodes a later candidate needs (dsl_protect's signature). */
static void walk_later(void *ctx)
{
    walk(ctx, true);
}

/* Runs the nodes a later candidate needs ahead of the candidate's own. A node that raises there
 * fails as it would have anyway (an error always belongs to its node), and the walk after it
 * meets that failure where the candidate alone would have run the node: so a node of its own that
 * raises earlier in that order still names the error. A time-out or memout ends the candidate. */
static void run_nodes_needed_later(struct eval_state *st)
{
    enum dsl_outcome outcome = dsl_protect(walk_later, st);
    if (outcome == DSL_OK)
        return;
    if (outcome == DSL_TIMEOUT)
        dsl_timeout();
    if (outcome == DSL_MEMOUT)
        dsl_memout();
    if (st->current != NO_NODE) {
        memo_fail(st, st->current, outcome, msg_store(st, dsl_rt.msg));
        st->current = NO_NODE;
    }
}

/* Evaluates the root. With a plan, the nodes later candidates need run first, in the order the
 * candidate alone would run them (stopping at a failure, met again in that order below); what
 * the rest allocates is the candidate's own region, handed back before the next one runs (perf:
 * the next candidate reuses memory still in the cache; the arc-dsl sweep put 46 MB per sample
 * through the arena, 80 GB in all, most of it never read again). */
static val eval_root(void *ctx)
{
    struct eval_state *st = ctx;
    if (st->root.kind != REF_NODE)
        return leaf_value(st, st->root);
    if (st->cand != NO_NODE && st->plan_shares[st->cand] != SHARES_ALL) {
        /* Where this stops at a failed node, the walk below stops there too, before any node
         * a later candidate needs that is not computed yet. */
        if (st->plan_shares[st->cand] == SHARES_SOME)
            run_nodes_needed_later(st);
        st->region_at = dsl_arena_tell(st->arena);
        st->region_open = true;
        st->region_kept = false;
        st->region_n = 0;
    }
    uint32_t failed = walk(st, false);
    if (failed != NO_NODE) {
        /* Where this candidate alone would have run the failed node, it fails with that node's
         * error: so the message never depends on what ran before on the sample. */
        memo_fail(st, st->root.id, (enum dsl_outcome)st->memo[failed].outcome, st->memo[failed].msg);
        return v_none();
    }
    return st->memo[st->root.id].value;
}

static void run_candidate(struct eval_state *st, struct ref root, uint32_t limit_ms, struct eval_result *out)
{
    region_release(st);
    if (root.kind == REF_NODE && root.id >= st->n_nodes) {
        out->outcome = DSL_ERROR;
        out->value = v_none();
        out->cpu_us = out->wall_us = 0;
        snprintf(out->msg, sizeof(out->msg), "RuntimeError: node %u outside the DAG (%u nodes)", root.id,
                 st->n_nodes);
        return;
    }
    if (dsl_arena_bytes(st->arena) > st->reset_bytes)
        eval_forget(st);
    struct dsl_arena *prev = dsl_arena_use(st->arena);
    st->root = root;
    st->limit_ms = limit_ms;
    st->current = NO_NODE;
    candidate_clock_start(st);
    st->cand_bytes0 = dsl_rt.arena_used;
    eval_call_protected(eval_root, st, limit_ms, st->mem_limit, out);
    if (out->outcome != DSL_OK && st->current != NO_NODE) {
        if (failure_belongs_to_node(st, out->outcome))
            memo_fail(st, st->current, out->outcome, msg_store(st, out->msg));
        st->current = NO_NODE;
    } else if (out->outcome == DSL_OK && root.kind == REF_NODE && st->memo[root.id].failed) {
        const struct memo *m = &st->memo[root.id];
        out->outcome = (enum dsl_outcome)m->outcome;
        out->value = v_none();
        snprintf(out->msg, sizeof(out->msg), "%s", st->msgs + m->msg);
    }
    dsl_arena_use(prev);
}

void eval_candidate(struct eval_state *st, struct ref root, uint32_t limit_ms, struct eval_result *out)
{
    st->cand = NO_NODE;
    run_candidate(st, root, limit_ms, out);
}

void eval_plan_candidate(struct eval_state *st, uint32_t k, uint32_t limit_ms, struct eval_result *out)
{
    if (k >= st->plan_n) {
        out->outcome = DSL_ERROR;
        out->value = v_none();
        out->cpu_us = out->wall_us = 0;
        snprintf(out->msg, sizeof(out->msg), "RuntimeError: candidate %u outside the plan (%u)", k, st->plan_n);
        return;
    }
    st->cand = k;
    run_candidate(st, st->plan_roots[k], limit_ms, out);
}

/* ---------------------------------------------------------------- one program, directly */

struct program_run {
    const struct program *p;
    val I, S, C;
    val *vals;
    const uint64_t *line_hash; /* program_line_hashes */
};

static val program_ref(const struct program_run *r, struct ref ref)
{
    switch (ref.kind) {
    case REF_NODE: return r->vals[ref.id];
    case REF_CONST: return const_value((enum const_id)ref.id);
    case REF_PRIM: return fn_prim((enum prim_id)ref.id);
    case REF_I: return r->I;
    case REF_S: return r->S;
    case REF_C: return r->C;
    default: dsl_raise(EXC_RUNTIME, "bad reference kind %d", ref.kind);
    }
}

struct eval_line_profile *eval_line_profile;

static uint64_t profile_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs every line in order, as Python does (an unused line that raises still raises). */
static val program_body(void *ctx)
{
    struct program_run *r = ctx;
    struct eval_line_profile *prof = eval_line_profile;
    for (uint32_t i = 0; i < r->p->n; i++) {
        const struct pnode *nd = &r->p->nodes[i];
        val f = program_ref(r, nd->callee);
        val args[PROG_MAX_ARGS];
        for (int k = 0; k < nd->nargs; k++)
            args[k] = program_ref(r, nd->arg[k]);
        func_origin(r->line_hash[i]);
        if (BF_LIKELY(prof == NULL)) {
            r->vals[i] = fn_call(f, nd->nargs, args);
            dsl_memo_mark_line_value(r->vals[i]);
            continue;
        }
        uint32_t slot = nd->callee.kind == REF_PRIM ? nd->callee.id : PRIM_COUNT;
        prof->calls[slot]++;
        uint64_t t0 = profile_now_ns();
        prof->current = slot;
        prof->t0 = t0;
        r->vals[i] = fn_call(f, nd->nargs, args);
        dsl_memo_mark_line_value(r->vals[i]);
        prof->ns[slot] += profile_now_ns() - t0;
        prof->current = PRIM_COUNT + 1;
    }
    return program_ref(r, r->p->out);
}

static struct dsl_arena *program_arena;
static val *program_vals;
static uint64_t *program_hashes;
static uint32_t program_vals_cap;

void eval_program_release(void)
{
    if (program_arena != NULL)
        dsl_arena_reset(program_arena);
}

void eval_program(const struct program *p, val I, val S, val C, uint32_t limit_ms, size_t mem_limit,
                  struct eval_result *out)
{
    if (p->invalid) {
        out->outcome = DSL_ERROR;
        out->value = v_none();
        out->cpu_us = out->wall_us = 0;
        snprintf(out->msg, sizeof(out->msg), "invalid program: %s", p->why);
        return;
    }
    if (program_arena == NULL)
        program_arena = dsl_arena_new();
    dsl_arena_reset(program_arena);
    struct dsl_arena *prev = dsl_arena_use(program_arena);
    dsl_rt.next_func_id = 0;
    if (p->n > program_vals_cap) { /* kept between calls (perf: no malloc per call) */
        program_vals = xrealloc(program_vals, (size_t)p->n * sizeof(val));
        program_hashes = xrealloc(program_hashes, (size_t)p->n * sizeof(uint64_t));
        program_vals_cap = p->n;
    }
    const uint64_t *line_hash = p->line_hash;
    if (line_hash == NULL) {
        program_line_hashes(p, program_hashes);
        line_hash = program_hashes;
    }
    struct program_run r = { p, I, S, C, program_vals, line_hash };
    eval_call_protected(program_body, &r, limit_ms, mem_limit, out);
    dsl_rt.func_base = 0;
    dsl_rt.func_first_id = 0;
    dsl_arena_use(prev);
}

/* ---------------------------------------------------------------- grids */

val grid_to_val(const struct grid *g)
{
    struct vtuple *rows = tuple_new(g->h);
    for (int i = 0; i < g->h; i++) {
        struct vtuple *row = tuple_new(g->w);
        for (int j = 0; j < g->w; j++)
            row->item[j] = v_int(grid_at(g, i, j));
        rows->item[i] = v_tuple(row);
    }
    return v_tuple(rows);
}

/* Colour of a cell value, or -1 when it is not an int (or bool) in 0..9. */
static int cell_colour(val v)
{
    if (!v_is_int(v) || v.u.i < 0 || v.u.i > 9)
        return -1;
    return (int)v.u.i;
}

bool val_to_cells(val v, uint8_t *cells, uint16_t *h, uint16_t *w, uint16_t max_side)
{
    if (v.kind != V_TUPLE || v.u.t->len == 0 || v.u.t->len > max_side)
        return false;
    const struct vtuple *rows = v.u.t;
    if (rows->item[0].kind != V_TUPLE)
        return false;
    uint32_t width = rows->item[0].u.t->len;
    if (width == 0 || width > max_side)
        return false;
    for (uint32_t i = 0; i < rows->len; i++) {
        val row = rows->item[i];
        if (row.kind != V_TUPLE || row.u.t->len != width)
            return false;
        for (uint32_t j = 0; j < width; j++) {
            int c = cell_colour(row.u.t->item[j]);
            if (c < 0)
                return false;
            cells[i * width + j] = (uint8_t)c;
        }
    }
    *h = (uint16_t)rows->len;
    *w = (uint16_t)width;
    return true;
}

void val_score(val v, const struct grid *expected, bool *match, bool *shape_match,
               uint32_t *cells_right, uint32_t *cells_total)
{
    uint32_t total = (uint32_t)expected->h * expected->w, right = 0;
    bool shape = v.kind == V_TUPLE && v.u.t->len == expected->h;
    for (uint32_t i = 0; shape && i < expected->h; i++) {
        val row = v.u.t->item[i];
        shape = row.kind == V_TUPLE && row.u.t->len == expected->w;
    }
    if (shape) {
        for (uint32_t i = 0; i < expected->h; i++)
            for (uint32_t j = 0; j < expected->w; j++)
                right += cell_colour(v.u.t->item[i].u.t->item[j]) == grid_at(expected, (int)i, (int)j);
    }
    *shape_match = shape;
    *match = shape && right == total; /* Python ==: True equals 1, so bools count as their ints */
    *cells_right = right;
    *cells_total = total;
}
