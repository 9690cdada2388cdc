/* dsl.h: what every primitive implementation needs: the arena, raising Python exceptions,
 * the interrupt check, calling function values, and the primitive prototypes.
 *
 * A worker evaluates one thing at a time, so the evaluation state is one process-wide struct
 * (dsl_rt). eval.c owns the protected boundary (setjmp); primitives never return errors, they
 * raise: dsl_raise(EXC_VALUE, "max() arg is an empty sequence").
 *
 * Primitive calling convention: val prim_<name>(const val *args), with args[0..arity). All 160
 * are declared here from common/prims.def, so grep goes straight from a DSL name to its C. */
#ifndef BF_DSL_H
#define BF_DSL_H

#include <setjmp.h>
#include <signal.h>

#include "../../common/primtab.h"
#include "value.h"

/* Python exception classes that the reference can raise (the message says which). */
enum dsl_exc {
    EXC_TYPE,           /* TypeError */
    EXC_VALUE,          /* ValueError */
    EXC_INDEX,          /* IndexError */
    EXC_STOP_ITERATION, /* StopIteration */
    EXC_RUNTIME,        /* RuntimeError (StopIteration inside a generator, PEP 479) */
    EXC_ZERO_DIVISION,  /* ZeroDivisionError */
    EXC_RECURSION,      /* RecursionError */
    EXC_ATTRIBUTE,      /* AttributeError */
    EXC_OVERFLOW,       /* OverflowError: an int left int64 (Python would go on) */
    EXC_KEY,            /* KeyError */
    EXC_COUNT
};
const char *dsl_exc_name(enum dsl_exc e);

/* How an evaluation ended (mapped to enum bf_status by the worker). */
enum dsl_outcome { DSL_OK, DSL_ERROR, DSL_TIMEOUT, DSL_MEMOUT };

struct dsl_runtime {
    volatile sig_atomic_t interrupt; /* set by the SIGALRM handler: stop at the next tick */
    jmp_buf *boundary;               /* where dsl_raise/dsl_memout/dsl_timeout jump */
    enum dsl_outcome outcome;        /* why we jumped */
    char msg[256];                   /* "ValueError: ..." */
    /* arena */
    size_t arena_used, arena_cap;    /* bytes; hitting the cap ends the evaluation with memout */
    size_t mem_limit;                /* cap per evaluation, 0 = unlimited */
    uint32_t next_func_id;           /* identity of new closures */
    /* The hash of a new closure: func_base | (its id - func_first_id). The evaluator sets both
     * before each line or DAG node: func_base = the node's canonical hash with its low 32 bits
     * clear, func_first_id = next_func_id then. So a function's hash, and the order of a set of
     * functions, depend only on the expression that made it, never on which candidates ran
     * earlier on the same sample (score) or whether the DAG was used (run). */
    uint64_t func_base;
    uint32_t func_first_id;
    uint32_t depth;                  /* nested function calls (RecursionError past a limit) */
    uint64_t ticks;
    uint64_t calls;                  /* function calls made so far (the call memo's cost) */
    uint64_t memo_hits;              /* calls answered by the call memo so far */
    uint64_t extreme_hits;           /* valmin/valmax answered by dsl_extreme_known so far */
    uint64_t shift_merges;           /* mapply answered by dsl_mapply_shifts so far */
    uint64_t grid_sinks;             /* sinks of a patch written straight by dsl_sink_into_grid */
    uint64_t keys_direct;            /* min/max keys computed by dsl_keys_direct so far */
    uint64_t lines_skipped;          /* lines dsl_lines_add found added before, so far */
    uint64_t picks_direct;           /* sfilter conditions answered by comparing picked parts */
    uint64_t objects_any_order;      /* big-grid objects() calls answered without asindices' order */
    uint64_t objects_mid_big;        /* mid-sized grids' objects() calls taken by the big-grid path */
    uint64_t small_hits;             /* calls answered by the small-call cache so far */
    uint64_t arena_skipped;          /* arena bytes those calls made when they ran */
};
extern struct dsl_runtime dsl_rt;

void *dsl_alloc(size_t n);                 /* 16-byte aligned, from the evaluation arena */
BF_NORETURN void dsl_raise(enum dsl_exc e, const char *fmt, ...) BF_PRINTF(2, 3);
BF_NORETURN void dsl_timeout(void);
BF_NORETURN void dsl_memout(void);

/* Interrupt check: call at every primitive call and inside every loop that can run long. */
#define DSL_TICK() do { if (BF_UNLIKELY(dsl_rt.interrupt)) dsl_timeout(); } while (0)

/* memset in slices of 1 MiB with DSL_TICK between them: filling hundreds of MB of fresh memory
 * (page faults included) took up to 400 ms, far past the 10 ms a timeout may be late. Memory that
 * is to hold megabytes of zeros is best asked for zeroed (dsl_alloc_zeroed). */
void dsl_fill(void *p, int byte, size_t n);
/* n bytes of zeros from the current arena (memout as dsl_alloc), 16-byte aligned. From 4 MiB on
 * in a mapping of their own, written by no one but the caller and unmapped when the arena is
 * reset or rewound to before it (runtime.c). */
void *dsl_alloc_zeroed(size_t n);

/* Nested function calls allowed before RecursionError (CPython's limit is 1000 frames, a few
 * of which the reference harness itself uses). power(f, n) counts n - 1 nested frames. */
#define DSL_MAX_DEPTH 990

/* Call a function value with argc arguments (TypeError when f is not callable or the arity
 * differs, as in Python). */
val fn_call(val f, int argc, const val *argv);
val fn_call1(val f, val a);
val fn_call2(val f, val a, val b);
/* bool(f(x)), the memory the call took handed back after it where nothing can point into it
 * (runtime.c, scratch regions): sfilter's and extract's conditions. */
bool fn_test1(val f, val x);
/* fn(argv), a primitive whose temporaries may dwarf its result (mapply): when they took a
 * megabyte or more, the call memo neither grew nor kept anything of them, and the result can be
 * moved (no function made during the call) into a quarter of that or less, the result's new
 * parts are copied to a block of their own and the rest is handed back (runtime.c). */
val dsl_call_keeping_result(val (*fn)(const val *argv), const val *argv);
int fn_arity(val f);                       /* co_argcount */
val fn_prim(enum prim_id id);              /* the (unique) function value of a primitive */
/* Whether f is the primitive prim as a function value (fast paths that recognise closures). */
static inline bool fn_is_prim(val f, enum prim_id prim)
{
    return f.kind == V_FUNC && f.u.f->kind == F_PRIM && f.u.f->prim == prim;
}
struct vfunc *fn_new(enum func_kind kind, uint8_t arity); /* a new closure with a fresh id */

/* The call memo. The DSL is pure and no DSL code catches an exception, so a closure called
 * again with the same arguments returns the same value: within the computation of one program
 * line (or DAG node), the calls of closures that are the values of earlier lines are looked up
 * in a table once they prove costly (a solver that filters cells by the nearest of all objects,
 * for each object, computes that nearest object once per cell instead of once per pair).
 * Arguments match when they are the same values of the same kinds (True is not 1 here) and the
 * same set and function objects (a set's order is observable), and a value containing a
 * function is never memoised (a new closure is a new identity). Whether a call is memoised
 * depends only on the line and its operands, so results never depend on what ran before. */
void dsl_memo_line_begin(void);            /* before each line or node: forget the table */
void dsl_memo_mark_line_value(val v);      /* after it: a closure it returned is eligible */

/* valmin/valmax (want_max) of a set S, or of a set made by remove(x, S), with compfunc f: the
 * same value as compfunc(min(S', key=f)), answered from the keys that earlier calls for S and
 * the shape of f saw (closures made alike from the same parts: f is often made anew for each
 * call). A scan of all of S (dsl_extreme_item: argmin, argmax, valmin, valmax), or two calls
 * with different x, see every item: then the two best keys of S answer every x at once (perf:
 * solve_d22278a0, per object and cell the distance to the nearest other object, turns from
 * O(cells x objects^2) calls into O(cells x objects)). A removal not answered is computed as
 * Python does (*result set, true); false when the caller must compute it itself. Only for int
 * keys; the keys are forgotten at each line or node. */
bool dsl_extreme_known(val container, val f, bool want_max, val *result);
/* min(container, key=f) (max when want_max), noting the best two keys for dsl_extreme_known
 * when container is a set of at least 2 items. */
val dsl_extreme_item(val container, val f, bool want_max);

/* mapply(function, container) when function is lbind(shift, patch) or rbind(shoot, direction)
 * and nothing can raise: the patch (or the line from (0, 0), for shoot: each line is that one
 * moved to its start) is copied to each offset, a set of plain-int pairs. The pattern's items
 * are plain ints, in the order shift() or connect() adds them; every coordinate, colour and
 * offset lies within DSL_COPY_COORD_LIMIT. False for anything else (then the caller follows
 * Python). */
#define DSL_COPY_COORD_LIMIT ((int64_t)1 << 40)
struct copy_item { int64_t c, i, j; };  /* c: the colour of a cell, 0 for an index */
struct dsl_copies {
    const struct copy_item *item; /* the pattern: n items (none: every shoot() is empty) */
    int64_t n;
    bool object;                  /* cells (c, (i, j)), else indices (i, j) */
    struct copy_item lo, hi;      /* the items' least and greatest c, i and j (when n > 0) */
    const val *offset;            /* the container's m items, in its order */
    int64_t m;
};
bool dsl_mapply_copies(val function, val container, struct dsl_copies *c);
/* Those copies merged: the same value as merge(apply(function, container)), without building
 * the copies, only the items the merge does not hold yet (perf: solve_6aa20dc0 shifts a pattern
 * of up to 2,007 cells to each of 784 offsets, and only about one copy in five adds an item).
 * False also when the copies cannot overlap much (then building each is the cheaper way). */
bool dsl_mapply_shifts(val function, val container, val *result);
/* fork(outer, a, b)(x) up to outer's call: a(x) then b(x), called as the fork's own call
 * calls them (its frame counted, the same failures). fork is a closure of kind F_FORK, arity 1. */
void dsl_fork_operands(val fork, val x, val *left, val *right);
/* Runs body(ctx) as the body of a Python generator expression (apply's, sfilter's): failures
 * propagate, StopIteration turned into RuntimeError (PEP 479). */
void dsl_run_as_generator(void (*body)(void *ctx), void *ctx);
/* apply(function, container) for a set container in two steps: the calls, in the set's order
 * and with apply's failures (a generator's: StopIteration becomes RuntimeError), returning the
 * set_len(container) results; then, from those, the value apply() returns. */
val *dsl_apply_each(val function, val container);
val dsl_apply_collected(val container, const val *result);
/* paint(grid, M), fill(grid, value, M) or underfill(grid, value, M), sink being PRIM_paint
 * (value unused), PRIM_fill or PRIM_underfill, where M is the producer PRIM_mapply,
 * PRIM_mfilter or (fill, underfill) PRIM_ofcolor of the operands p0, p1 (mapply(function,
 * container), mfilter(container, function), ofcolor(grid, value)): the same value, or the same
 * failure, as those two calls. Where the merged patch's order cannot matter (fill and underfill
 * write one value; paint where no two of its cells share a place in the grid) the copies, the
 * function's results, the kept patches or ofcolor's places are written straight into the grid,
 * without the merged patch (the evaluator's fusion of a producer whose only use is such a
 * sink). */
val dsl_sink_into_grid(enum prim_id sink, val grid, val value, enum prim_id producer, val p0, val p1);
/* The keys min(container, key=f) or max would compute, without calling f, where f has a shape
 * known to be total on the container's items and cheap to compute directly: f =
 * compose(lbind(manhattan, patch), initset) (the distance from a fixed patch to each item, as
 * solve_49d1d64f asks for each border cell), patch and container plain patches (cells or
 * indices, plain-int positions): keys[k] for the container's k-th item, or NULL for any other f
 * or container (then the caller calls f; nothing is allocated then). */
const int64_t *dsl_keys_direct(val key, val container);
/* set_add(out, connect(a, b)) (colour None), or set_add(out, recolor(colour, connect(a, b))),
 * for a loop that adds many lines to one set (apply of fork(connect, P, Q) or of
 * fork(recolor, color, fork(connect, P, Q)) over pairs, P and Q picking parts of a pair with
 * first and last; prapply(connect, a, b)): an empty line is not built (the shared empty set is
 * added), nor a line whose end points, in either order, and colour were added before (connect(b,
 * a) equals connect(a, b), so adding it changes nothing; perf: a product of a patch with itself
 * has every pair both ways). False when a or b is not a pair of plain ints below
 * DSL_LINE_COORD_LIMIT, or the colour not a plain int (nothing added: call the function).
 * ls: from dsl_lines_new, per set and function. */
struct dsl_lines;
struct dsl_lines *dsl_lines_new(void);
bool dsl_lines_add(struct dsl_lines *ls, struct vset *out, val a, val b, val colour);
/* connect(a, b) of plain int points, |coordinates| < DSL_LINE_COORD_LIMIT: its n items, in the
 * order connect adds them, are (i0 + di * k, j0 + dj * k) for k = 0 .. n - 1; false when a and b
 * share no row, column or diagonal (the empty set). */
#define DSL_LINE_COORD_LIMIT ((int64_t)1 << 40)
struct line_shape { int64_t n, i0, j0, di, dj; };
bool dsl_line_shape(int64_t ai, int64_t aj, int64_t bi, int64_t bj, struct line_shape *l);

typedef val (*prim_fn)(const val *args);
#define PRIM(name, arity, ret, args, doc) val prim_##name(const val *a);
#include "../../common/prims.def"
#undef PRIM
extern const prim_fn prim_impl[PRIM_COUNT];

val const_value(enum const_id id);          /* ZERO, T, DOWN, ... */

/* Test hook: objects() takes its big-grid path for rectangular grids of more than `cells` cells
 * (default 65536; 0 restores it), there first tries the objects in any order when `any_order`
 * (default true), and records the object starts as asindices' last table is filled when they are
 * at most one per `find_ratio` slots (default 64; -1 restores it; 0: always), so that tests can
 * compare every path on small grids. */
void dsl_debug_objects_big(int64_t cells, int64_t find_ratio, bool any_order);
/* Tests: mid-sized grids (objects_big_shape) go by the big-grid path when they have few object
 * starts (the default, true) or never (false). */
void dsl_debug_objects_mid(bool big_when_few_starts);

/* Test hook: the small-call cache (runtime.c) on (the default) or off. */
void dsl_debug_small_calls(bool on);

#endif
