/* prims_core.c: primitives 1-66 of Hodel's dsl.py, from identity to prapply: arithmetic on ints
 * and 2-vectors, the generic container primitives, and the higher-order ones that build closures.
 *
 * Each primitive follows its Python expression step by step, because the details are observable:
 *  - the order in which Python evaluates sub-expressions decides which exception is raised;
 *  - `type(c)(generator)` keeps the container type: a tuple keeps order and duplicates, a
 *    frozenset is built by adding the generated items one by one (its CPython iteration order
 *    depends on that insertion sequence, so we add in exactly the generator's order);
 *  - Python's operators are generic: `+` concatenates tuples, `*` repeats them, `-` of two
 *    frozensets is a set difference, `&` of two ints is a bitwise and;
 *  - a StopIteration raised by a function called inside a generator expression becomes a
 *    RuntimeError (PEP 479), while one raised by a key function of max/min/sorted does not.
 * The comment above each primitive quotes the shape of the Python code it transliterates. */
#include "compat.h"

#include <string.h>

#include "arena.h"
#include "dsl.h"

/* Loops proportional to a product of sizes check the interrupt flag every this many steps. */
#define TICK_EVERY 1024u

/* power(f, n) recurses n deep while it builds the closure. With CPython's default recursion
 * limit of 1000, the last n that builds at top level (the context of tools/prim_expect.py:
 * main, eval and the module frame below power) is 997; n >= 998 raises RecursionError. Inside a
 * solver a few more frames are in use, so the real limit is lower there by a few; we take the
 * top-level value. */
#define POWER_MAX_N 997

static inline void tick_every(uint64_t i)
{
    if ((i % TICK_EVERY) == 0)
        DSL_TICK();
}

static bool is_container(val v)
{
    return v.kind == V_TUPLE || v.kind == V_SET;
}

/* iter(x): only tuples and frozensets are iterable among the DSL's values. */
static void require_iterable(val v)
{
    if (!is_container(v))
        dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(v));
}

static uint32_t tuple_len_checked(uint64_t n)
{
    if (n > UINT32_MAX)
        dsl_memout();  /* Python: MemoryError */
    return (uint32_t)n;
}

/* ---- building type(container)(items...) ---- */

/* Collects generated items into a tuple (in order) or a frozenset (added one by one). */
struct collector {
    bool to_set;
    struct vtuple *t;
    uint32_t n;
    struct vset *s;
};

static void collector_init(struct collector *c, bool to_set, uint64_t max_items)
{
    c->to_set = to_set;
    c->n = 0;
    c->t = NULL;
    c->s = NULL;
    if (to_set)
        c->s = set_new();
    else
        c->t = tuple_new(tuple_len_checked(max_items));
}

static void collector_init_like(struct collector *c, val container, uint64_t max_items)
{
    collector_init(c, container.kind == V_SET, max_items);
}

static void collector_push(struct collector *c, val item)
{
    if (c->to_set)
        set_add(c->s, item);
    else
        c->t->item[c->n++] = item;
}

static val collector_finish(struct collector *c)
{
    if (c->to_set)
        return set_freeze(c->s);
    if (c->n == 0)
        return tuple_empty();
    c->t->len = c->n;  /* not yet published: shrinking is safe */
    return v_tuple(c->t);
}

/* ---- generator bodies (PEP 479) ---- */

/* Finds the Python exception class named at the start of "Name: message". */
static bool exception_of_message(const char *msg, enum dsl_exc *exc, const char **text)
{
    for (int e = 0; e < EXC_COUNT; e++) {
        const char *name = dsl_exc_name((enum dsl_exc)e);
        size_t len = strlen(name);
        if (strncmp(msg, name, len) == 0 && (msg[len] == ':' || msg[len] == '\0')) {
            *exc = (enum dsl_exc)e;
            *text = msg[len] == ':' ? msg + len + 1 : msg + len;
            while (**text == ' ')
                (*text)++;
            return true;
        }
    }
    return false;
}

/* Propagates the failure that stopped a generator body, turning StopIteration into RuntimeError. */
static BF_NORETURN void reraise_from_generator(void)
{
    if (dsl_rt.outcome == DSL_TIMEOUT)
        dsl_timeout();
    if (dsl_rt.outcome == DSL_MEMOUT)
        dsl_memout();
    char msg[sizeof dsl_rt.msg];
    memcpy(msg, dsl_rt.msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    enum dsl_exc exc;
    const char *text;
    if (!exception_of_message(msg, &exc, &text))
        dsl_raise(EXC_RUNTIME, "%s", msg);
    if (exc == EXC_STOP_ITERATION)
        dsl_raise(EXC_RUNTIME, "generator raised StopIteration");
    dsl_raise(exc, "%s", text);
}

/* Runs body(ctx) as the body of a Python generator expression: failures propagate unchanged
 * except StopIteration, which Python 3.7+ turns into RuntimeError at the generator boundary. */
static void run_as_generator(void (*body)(void *ctx), void *ctx)
{
    if (dsl_protect(body, ctx) != DSL_OK)
        reraise_from_generator();
}

void dsl_run_as_generator(void (*body)(void *ctx), void *ctx)
{
    run_as_generator(body, ctx);
}

/* ---- Python's binary operators on arbitrary values ---- */

enum py_op { OP_ADD, OP_SUB, OP_MUL, OP_FLOORDIV };

static const char *const op_symbol[] = { "+", "-", "*", "//" };

static BF_NORETURN void raise_operand_types(enum py_op op, val x, val y)
{
    dsl_raise(EXC_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op_symbol[op],
              val_type_name(x), val_type_name(y));
}

/* seq * n: n copies of the items of seq in a row; n <= 0 gives (). */
static val tuple_repeat(val seq, int64_t n)
{
    uint32_t len = tup_len(seq);
    if (n <= 0 || len == 0)
        return tuple_empty();
    if (n == 1)
        return seq;
    if ((uint64_t)n > UINT32_MAX / len)
        dsl_memout();
    struct vtuple *t = tuple_new((uint32_t)n * len);
    for (int64_t k = 0; k < n; k++) {
        tick_every((uint64_t)k);
        memcpy(t->item + (uint64_t)k * len, seq.u.t->item, len * sizeof(val));
    }
    return v_tuple(t);
}

static val int_op(enum py_op op, int64_t x, int64_t y)
{
    switch (op) {
    case OP_ADD: return v_int(int_add(x, y));
    case OP_SUB: return v_int(int_sub(x, y));
    case OP_MUL: return v_int(int_mul(x, y));
    case OP_FLOORDIV: return v_int(int_floordiv(x, y));
    }
    return v_none();
}

/* x <op> y as Python evaluates it for the DSL's value kinds. */
static val py_binary(enum py_op op, val x, val y)
{
    if (v_is_int(x) && v_is_int(y))
        return int_op(op, x.u.i, y.u.i);
    switch (op) {
    case OP_ADD:
        if (v_is_tuple(x) && v_is_tuple(y))
            return tuple_concat(x, y);
        break;
    case OP_SUB:
        if (v_is_set(x) && v_is_set(y))
            return set_freeze(set_sub(x.u.s, y));
        break;
    case OP_MUL:
        if (v_is_tuple(x) && v_is_int(y))
            return tuple_repeat(x, y.u.i);
        if (v_is_int(x) && v_is_tuple(y))
            return tuple_repeat(y, x.u.i);
        break;
    case OP_FLOORDIV:
        break;
    }
    raise_operand_types(op, x, y);
}

/* add/subtract/multiply/divide:
 *   int, int -> a op b;  tuple, tuple -> (a[0] op b[0], a[1] op b[1]);
 *   int, tuple -> (a op b[0], a op b[1]);  otherwise (a[0] op b, a[1] op b). */
static val numerical_binary(enum py_op op, val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return py_binary(op, a, b);
    val first_part, second_part;
    if (v_is_tuple(a) && v_is_tuple(b)) {
        val a0 = val_index(a, 0);
        val b0 = val_index(b, 0);
        first_part = py_binary(op, a0, b0);
        val a1 = val_index(a, 1);
        val b1 = val_index(b, 1);
        second_part = py_binary(op, a1, b1);
    } else if (v_is_int(a) && v_is_tuple(b)) {
        first_part = py_binary(op, a, val_index(b, 0));
        second_part = py_binary(op, a, val_index(b, 1));
    } else {
        first_part = py_binary(op, val_index(a, 0), b);
        second_part = py_binary(op, val_index(a, 1), b);
    }
    return tuple_pair(first_part, second_part);
}

/* `f(n) if isinstance(n, int) else (f(n[0]), f(n[1]))` */
static val numerical_unary(val n, val (*f)(val))
{
    if (v_is_int(n))
        return f(n);
    val first_part = f(val_index(n, 0));
    val second_part = f(val_index(n, 1));
    return tuple_pair(first_part, second_part);
}

static val negate(val x)
{
    if (!v_is_int(x))
        dsl_raise(EXC_TYPE, "bad operand type for unary -: '%s'", val_type_name(x));
    return v_int(int_sub(0, x.u.i));
}

static val times_two(val x) { return py_binary(OP_MUL, x, v_int(2)); }
static val floor_half(val x) { return py_binary(OP_FLOORDIV, x, v_int(2)); }
static val plus_one(val x) { return py_binary(OP_ADD, x, v_int(1)); }
static val minus_one(val x) { return py_binary(OP_SUB, x, v_int(1)); }

/* `x > 0` for a value already known to differ from 0: only ints compare with ints. */
static bool greater_than_zero(val x)
{
    if (!v_is_int(x))
        dsl_raise(EXC_TYPE, "'>' not supported between instances of '%s' and 'int'", val_type_name(x));
    return x.u.i > 0;
}

/* `0 if x == 0 else (x + 1 if x > 0 else x - 1)` */
static val away_from_zero(val x)
{
    if (v_is_int(x) && x.u.i == 0)
        return v_int(0);
    return greater_than_zero(x) ? plus_one(x) : minus_one(x);
}

/* `0 if x == 0 else (1 if x > 0 else -1)` */
static val sign_of(val x)
{
    if (v_is_int(x) && x.u.i == 0)
        return v_int(0);
    return v_int(greater_than_zero(x) ? 1 : -1);
}

/* ---- 1-12: identity, arithmetic, predicates ---- */

val prim_identity(const val *a)
{
    return a[0];
}

val prim_add(const val *a) { return numerical_binary(OP_ADD, a[0], a[1]); }
val prim_subtract(const val *a) { return numerical_binary(OP_SUB, a[0], a[1]); }
val prim_multiply(const val *a) { return numerical_binary(OP_MUL, a[0], a[1]); }
val prim_divide(const val *a) { return numerical_binary(OP_FLOORDIV, a[0], a[1]); }

val prim_invert(const val *a) { return numerical_unary(a[0], negate); }

/* n % 2 == 0 */
val prim_even(const val *a)
{
    if (!v_is_int(a[0]))
        dsl_raise(EXC_TYPE, "unsupported operand type(s) for %%: '%s' and 'int'", val_type_name(a[0]));
    return v_bool(int_mod(a[0].u.i, 2) == 0);
}

val prim_double(const val *a) { return numerical_unary(a[0], times_two); }
val prim_halve(const val *a) { return numerical_unary(a[0], floor_half); }

/* not b */
val prim_flip(const val *a) { return v_bool(!val_truthy(a[0])); }

val prim_equality(const val *a) { return v_bool(val_eq(a[0], a[1])); }

/* value in container */
val prim_contained(const val *a) { return v_bool(val_in(a[0], a[1])); }

/* ---- 13-21: containers ---- */

/* The bounding box of a merge (or combine) of patches, from the boxes its parts already know
 * (perf: a merge of lines or objects handed to fill or paint was scanned again for its box).
 * known: every part so far is a set whose box is known (or empty), all of one form. */
struct merged_box {
    uint8_t form;
    bool known, ints_only;
    int64_t imin, imax, jmin, jmax;
};

static void merged_box_add(struct merged_box *b, val c)
{
    if (!b->known)
        return;
    if (c.kind != V_SET) {
        b->known = false;
        return;
    }
    if (c.u.s->used == 0)
        return; /* adds nothing */
    const struct patch_info *pi = set_patch_known(c.u.s);
    if (pi == NULL || pi->form == PF_OTHER || (b->form != PF_OTHER && pi->form != b->form)) {
        b->known = false;
        return;
    }
    if (b->form == PF_OTHER) {
        b->form = pi->form;
        b->imin = pi->imin;
        b->imax = pi->imax;
        b->jmin = pi->jmin;
        b->jmax = pi->jmax;
    } else {
        b->imin = pi->imin < b->imin ? pi->imin : b->imin;
        b->imax = pi->imax > b->imax ? pi->imax : b->imax;
        b->jmin = pi->jmin < b->jmin ? pi->jmin : b->jmin;
        b->jmax = pi->jmax > b->jmax ? pi->jmax : b->jmax;
    }
    b->ints_only = b->ints_only && pi->ints_only;
}

/* Hands the box on to a merged set r (collector_finish's value) when every part knew its own. */
static val merged_box_finish(const struct merged_box *b, const struct collector *out, val r)
{
    if (out->to_set && b->known && b->form != PF_OTHER)
        set_patch_facts(out->s, (enum patch_form)b->form, b->imin, b->imax, b->jmin, b->jmax, b->ints_only);
    return r;
}

/* type(a)((*a, *b)) */
val prim_combine(const val *a)
{
    val first_c = a[0], second_c = a[1];
    require_iterable(first_c);
    require_iterable(second_c);
    if (v_is_tuple(first_c) && v_is_tuple(second_c))
        return tuple_concat(first_c, second_c);
    struct collector out;
    collector_init_like(&out, first_c, (uint64_t)val_len(first_c) + (uint64_t)val_len(second_c));
    struct val_iter it;
    val item;
    val_iter_init(&it, first_c);
    while (val_iter_next(&it, &item))
        collector_push(&out, item);
    val_iter_init(&it, second_c);
    while (val_iter_next(&it, &item))
        collector_push(&out, item);
    struct merged_box box = { PF_OTHER, true, true, 0, 0, 0, 0 };
    merged_box_add(&box, first_c);
    merged_box_add(&box, second_c);
    return merged_box_finish(&box, &out, collector_finish(&out));
}

/* a & b: frozensets intersect; ints (and bools) are and-ed bitwise. */
val prim_intersection(const val *a)
{
    val x = a[0], y = a[1];
    if (v_is_set(x) && v_is_set(y))
        return set_freeze(set_and(x.u.s, y));
    if (v_is_int(x) && v_is_int(y)) {
        int64_t bits = x.u.i & y.u.i;
        return x.kind == V_BOOL && y.kind == V_BOOL ? v_bool(bits != 0) : v_int(bits);
    }
    dsl_raise(EXC_TYPE, "unsupported operand type(s) for &: '%s' and '%s'", val_type_name(x),
              val_type_name(y));
}

/* type(a)(e for e in a if e not in b) */
val prim_difference(const val *a)
{
    val from = a[0], minus = a[1];
    require_iterable(from);
    struct collector out;
    collector_init_like(&out, from, (uint64_t)val_len(from));
    struct val_iter it;
    val item;
    val_iter_init(&it, from);
    for (uint64_t i = 1; val_iter_next(&it, &item); i++) {
        tick_every(i);
        if (!val_in(item, minus))
            collector_push(&out, item);
    }
    return collector_finish(&out);
}

/* The distinct items of a tuple, in order of first occurrence, with their counts: a small
 * open-addressing table keyed by value. tuple.index and tuple.count compare with ==, and equal
 * values hash alike, so this answers both in O(1) per item instead of Python's O(n). Ints (and
 * bools, equal to 0 and 1) skip the generic hash and comparison. */
struct tally_slot {
    val key;
    int64_t count;
    bool used;
};
struct tally {
    struct tally_slot *slot;
    uint64_t mask;
    val *distinct;      /* keys in order of first occurrence */
    uint32_t n_distinct;
};

static void tally_init(struct tally *t, uint32_t n)
{
    uint64_t cap = 8;
    while (cap < 2 * (uint64_t)n)
        cap <<= 1;
    t->slot = dsl_alloc(cap * sizeof *t->slot);
    dsl_fill(t->slot, 0, cap * sizeof *t->slot);
    t->mask = cap - 1;
    t->distinct = dsl_alloc((n ? n : 1) * sizeof(val));
    t->n_distinct = 0;
}

static bool same_value(val x, val y)
{
    if (v_is_int(x) && v_is_int(y))
        return x.u.i == y.u.i;
    if (v_is_int(x) || v_is_int(y))
        return false;
    return val_eq(x, y);
}

static struct tally_slot *tally_find(const struct tally *t, val key)
{
    uint64_t h = v_is_int(key) ? (uint64_t)key.u.i * 0x9E3779B97F4A7C15u : (uint64_t)val_hash(key);
    uint64_t i = (h ^ (h >> 29)) & t->mask;
    while (t->slot[i].used && !same_value(t->slot[i].key, key))
        i = (i + 1) & t->mask;
    return &t->slot[i];
}

/* Counts one more occurrence of key; true when it is the first. */
static bool tally_add(struct tally *t, val key)
{
    struct tally_slot *s = tally_find(t, key);
    s->count++;
    if (s->used)
        return false;
    s->used = true;
    s->key = key;
    t->distinct[t->n_distinct++] = key;
    return true;
}

/* The tally of a tuple's items. */
static void tally_tuple(struct tally *t, val tup)
{
    uint32_t n = tup_len(tup);
    tally_init(t, n);
    for (uint32_t i = 0; i < n; i++) {
        tick_every(i);
        tally_add(t, tup_get(tup, i));
    }
}

/* tuple(e for i, e in enumerate(tup) if tup.index(e) == i): the first occurrences, in order. */
val prim_dedupe(const val *a)
{
    val tup = a[0];
    require_iterable(tup);
    if (v_is_set(tup)) {
        if (set_len(tup) == 0)
            return tuple_empty();
        dsl_raise(EXC_ATTRIBUTE, "'frozenset' object has no attribute 'index'");
    }
    struct tally t;
    tally_tuple(&t, tup);
    if (t.n_distinct == tup_len(tup))
        return tup;
    struct vtuple *out = tuple_new(t.n_distinct);
    memcpy(out->item, t.distinct, t.n_distinct * sizeof(val));
    return v_tuple(out);
}

/* tuple(sorted(container, key=compfunc)); key=None sorts by the items themselves, which is
 * what key=identity does too (passing identity keeps py_sorted's keys and items apart). */
val prim_order(const val *a)
{
    val key = a[1].kind == V_NONE ? fn_prim(PRIM_identity) : a[1];
    return py_sorted(a[0], key);
}

/* Python's range(n) argument: an int, else TypeError. */
static int64_t range_arg(val v)
{
    if (!v_is_int(v))
        dsl_raise(EXC_TYPE, "'%s' object cannot be interpreted as an integer", val_type_name(v));
    return v.u.i;
}

/* tuple(item for i in range(num)) */
val prim_repeat(const val *a)
{
    int64_t num = range_arg(a[1]);
    if (num <= 0)
        return tuple_empty();
    struct vtuple *t = tuple_new(tuple_len_checked((uint64_t)num));
    for (uint32_t i = 0; i < t->len; i++) {
        tick_every(i);
        t->item[i] = a[0];
    }
    return v_tuple(t);
}

/* a > b */
val prim_greater(const val *a) { return v_bool(val_lt(a[1], a[0])); }

/* len(container) */
val prim_size(const val *a) { return v_int(val_len(a[0])); }

/* type(containers)(e for c in containers for e in c) */
val prim_merge(const val *a)
{
    val containers = a[0];
    require_iterable(containers);
    struct val_iter outer;
    val c;
    uint64_t total = 0;
    struct merged_box box = { PF_OTHER, true, true, 0, 0, 0, 0 };
    val_iter_init(&outer, containers);
    while (val_iter_next(&outer, &c)) {
        require_iterable(c);
        total += (uint64_t)val_len(c);
        merged_box_add(&box, c);
    }
    struct collector out;
    collector_init_like(&out, containers, total);
    uint64_t steps = 0;
    val_iter_init(&outer, containers);
    while (val_iter_next(&outer, &c)) {
        if (out.to_set && c.kind == V_SET) {
            /* perf: the same adds in the same (slot) order, with the hashes the inner set
             * already stores (an entry's hash is hash(key)), so keys are not dereferenced */
            struct set_entry buf[SET_CHUNK];
            for (int64_t pos = 0, n; set_chunk(c.u.s, &pos, buf, &n);) {
                for (int64_t k = 0; k < n; k++)
                    set_add_hashed(out.s, buf[k].key, buf[k].hash);
                if ((steps += (uint64_t)n) >= TICK_EVERY) {
                    steps = 0;
                    DSL_TICK();
                }
            }
            continue;
        }
        struct val_iter inner;
        val item;
        val_iter_init(&inner, c);
        while (val_iter_next(&inner, &item)) {
            tick_every(++steps);
            collector_push(&out, item);
        }
    }
    return merged_box_finish(&box, &out, collector_finish(&out));
}

/* ---- 22-29: extremes and counts ---- */

static bool is_empty_container(val v)
{
    return is_container(v) && val_len(v) == 0;
}

/* max(container, default=0) */
val prim_maximum(const val *a)
{
    return is_empty_container(a[0]) ? v_int(0) : py_max(a[0], v_none());
}

/* min(container, default=0) */
val prim_minimum(const val *a)
{
    return is_empty_container(a[0]) ? v_int(0) : py_min(a[0], v_none());
}

/* compfunc(max(container, key=compfunc, default=0)) */
val prim_valmax(const val *a)
{
    val extreme;
    if (dsl_extreme_known(a[0], a[1], true, &extreme))
        return extreme;
    val best = is_empty_container(a[0]) ? v_int(0) : dsl_extreme_item(a[0], a[1], true);
    return fn_call1(a[1], best);
}

/* compfunc(min(container, key=compfunc, default=0)) */
val prim_valmin(const val *a)
{
    val extreme;
    if (dsl_extreme_known(a[0], a[1], false, &extreme))
        return extreme;
    val best = is_empty_container(a[0]) ? v_int(0) : dsl_extreme_item(a[0], a[1], false);
    return fn_call1(a[1], best);
}

/* max(container, key=compfunc) */
val prim_argmax(const val *a) { return dsl_extreme_item(a[0], a[1], true); }

/* min(container, key=compfunc) */
val prim_argmin(const val *a) { return dsl_extreme_item(a[0], a[1], false); }

/* max(set(container), key=container.count) (most = true) or min(...) (most = false).
 * set(container) adds the items in order; adding one already present changes nothing, so
 * adding only the first occurrences gives the same table. */
static val most_or_least_common(val container, bool most)
{
    require_iterable(container);
    if (v_is_set(container))
        dsl_raise(EXC_ATTRIBUTE, "'frozenset' object has no attribute 'count'");
    if (tup_len(container) == 0)
        dsl_raise(EXC_VALUE, "%s() arg is an empty sequence", most ? "max" : "min");
    struct tally t;
    tally_tuple(&t, container);
    struct vset *distinct = set_new();
    for (uint32_t i = 0; i < t.n_distinct; i++)
        set_add(distinct, t.distinct[i]);
    val best = v_none(), item;
    int64_t best_count = 0;
    bool have = false;
    for (int64_t pos = 0; set_next(distinct, &pos, &item);) {
        int64_t count = tally_find(&t, item)->count;
        if (!have || (most ? count > best_count : count < best_count)) {
            best = item;
            best_count = count;
            have = true;
        }
    }
    return best;
}

val prim_mostcommon(const val *a) { return most_or_least_common(a[0], true); }
val prim_leastcommon(const val *a) { return most_or_least_common(a[0], false); }

/* ---- 30-39: small helpers ---- */

/* frozenset({value}): a set display, then copied into a frozenset. */
val prim_initset(const val *a)
{
    /* (perf: one set made, not two; solve_49d1d64f makes one per pair of cells) */
    struct vset *display = set_new();
    set_add(display, a[0]);
    return set_freeze_copy(display);
}

/* a and b */
val prim_both(const val *a) { return val_truthy(a[0]) ? a[1] : a[0]; }

/* a or b */
val prim_either(const val *a) { return val_truthy(a[0]) ? a[0] : a[1]; }

val prim_increment(const val *a) { return numerical_unary(a[0], plus_one); }
val prim_decrement(const val *a) { return numerical_unary(a[0], minus_one); }
val prim_crement(const val *a) { return numerical_unary(a[0], away_from_zero); }
val prim_sign(const val *a) { return numerical_unary(a[0], sign_of); }

/* x > 0 */
val prim_positive(const val *a)
{
    if (!v_is_int(a[0]))
        dsl_raise(EXC_TYPE, "'>' not supported between instances of '%s' and 'int'",
                  val_type_name(a[0]));
    return v_bool(a[0].u.i > 0);
}

/* (i, 0) */
val prim_toivec(const val *a) { return tuple_pair(a[0], v_int(0)); }

/* (0, j) */
val prim_tojvec(const val *a) { return tuple_pair(v_int(0), a[0]); }

/* ---- 40-48: filtering and picking ---- */

/* The operands of a generator that calls a function on the items of one container. */
struct map_job {
    val function;
    val container;
    val result;    /* what the generator produced (extract: the match) */
    bool matched;  /* extract: whether there was one */
};

/* A function that only picks parts of 2-tuples with first and last (first, last, and their
 * compose, chain and power): its steps, innermost first (0: first, 1: last); false otherwise. */
#define PICK_STEPS 8
struct pick {
    uint8_t step[PICK_STEPS];
    int n;
};

static bool pick_of(val f, struct pick *p)
{
    if (f.kind != V_FUNC)
        return false;
    const struct vfunc *fn = f.u.f;
    switch (fn->kind) {
    case F_PRIM:
        if ((fn->prim != PRIM_first && fn->prim != PRIM_last) || p->n == PICK_STEPS)
            return false;
        p->step[p->n++] = fn->prim == PRIM_last;
        return true;
    case F_COMPOSE: return pick_of(fn->b, p) && pick_of(fn->a, p);
    case F_CHAIN: return pick_of(fn->c, p) && pick_of(fn->b, p) && pick_of(fn->a, p);
    case F_POWER:
        for (int64_t k = 0; k < fn->n; k++)
            if (k >= PICK_STEPS || !pick_of(fn->a, p))
                return false;
        return true;
    default: return false;
    }
}

/* The pick's value on x, where every step meets a 2-tuple (first and last are then its items);
 * false otherwise (then the function is called). */
static bool pick_apply(const struct pick *p, val x, val *out)
{
    for (int k = 0; k < p->n; k++) {
        if (x.kind != V_TUPLE || x.u.t->len != 2)
            return false;
        x = x.u.t->item[p->step[k]];
    }
    *out = x;
    return true;
}

/* A condition answered without calls: fork(equality, P, Q) or matcher(P, value), P and Q picks
 * (sfilter over the pairs of a product, or over cells by colour). */
struct pick_test {
    bool matcher;
    struct pick left, right;
    val value; /* matcher */
};

static bool pick_test_of(val f, struct pick_test *t)
{
    if (f.kind != V_FUNC)
        return false;
    const struct vfunc *fn = f.u.f;
    t->left.n = t->right.n = 0;
    if (fn->kind == F_MATCHER) {
        t->matcher = true;
        t->value = fn->b;
        return pick_of(fn->a, &t->left);
    }
    t->matcher = false;
    return fn->kind == F_FORK && fn_is_prim(fn->a, PRIM_equality) && pick_of(fn->b, &t->left) &&
           pick_of(fn->c, &t->right);
}

/* The condition's truth on x (*truth), or false when a pick does not apply (call it). */
static bool pick_test_apply(const struct pick_test *t, val x, bool *truth)
{
    val a, b;
    if (!pick_apply(&t->left, x, &a))
        return false;
    if (t->matcher) {
        b = t->value;
    } else if (!pick_apply(&t->right, x, &b)) {
        return false;
    }
    *truth = val_same_object(a, b) || val_eq(a, b);
    dsl_rt.picks_direct++;
    return true;
}

static void sfilter_body(void *ctx)
{
    struct map_job *job = ctx;
    struct collector out;
    collector_init_like(&out, job->container, (uint64_t)val_len(job->container));
    if (out.to_set) {
        /* perf: slot order as set iteration, adding with the hash the entry stores; a condition
         * that only compares picked parts answered without calls (solve_06df4c85 keeps the pairs
         * of a product whose two cells have one colour) */
        struct pick_test t;
        bool picks = pick_test_of(job->function, &t);
        struct set_entry buf[SET_CHUNK];
        for (int64_t pos = 0, n; set_chunk(job->container.u.s, &pos, buf, &n);) {
            for (int64_t k = 0; k < n; k++) {
                bool keep;
                if (!picks || !pick_test_apply(&t, buf[k].key, &keep))
                    keep = fn_test1(job->function, buf[k].key);
                if (keep)
                    set_add_hashed(out.s, buf[k].key, buf[k].hash);
            }
            DSL_TICK();
        }
        job->result = collector_finish(&out);
        return;
    }
    struct val_iter it;
    val item;
    val_iter_init(&it, job->container);
    while (val_iter_next(&it, &item))
        if (fn_test1(job->function, item))
            collector_push(&out, item);
    job->result = collector_finish(&out);
}

/* type(container)(e for e in container if condition(e)) */
val prim_sfilter(const val *a)
{
    struct map_job job = { .function = val_load(&a[1]), .container = val_load(&a[0]) };
    require_iterable(job.container);
    run_as_generator(sfilter_body, &job);
    return job.result;
}

/* merge(sfilter(container, function)) */
val prim_mfilter(const val *a)
{
    val filtered = prim_sfilter(a);
    return prim_merge(&filtered);
}

static void extract_body(void *ctx)
{
    struct map_job *job = ctx;
    struct val_iter it;
    val item;
    val_iter_init(&it, job->container);
    while (val_iter_next(&it, &item)) {
        if (fn_test1(job->function, item)) {
            job->result = item;
            job->matched = true;
            break;
        }
    }
}

/* next(e for e in container if condition(e)) */
val prim_extract(const val *a)
{
    struct map_job job = { .function = val_load(&a[1]), .container = val_load(&a[0]) };
    require_iterable(job.container);
    run_as_generator(extract_body, &job);
    if (!job.matched)
        dsl_raise(EXC_STOP_ITERATION, "no item satisfies the condition");
    return job.result;
}

/* tuple(container) */
val prim_totuple(const val *a) { return tuple_of(a[0]); }

/* next(iter(container)) */
val prim_first(const val *a)
{
    val c = a[0], item;
    require_iterable(c);
    struct val_iter it;
    val_iter_init(&it, c);
    if (!val_iter_next(&it, &item))
        dsl_raise(EXC_STOP_ITERATION, "empty container");
    return item;
}

/* max(enumerate(container))[1]: the indices differ, so this is the last item. */
val prim_last(const val *a)
{
    val c = a[0];
    require_iterable(c);
    if (val_len(c) == 0)
        dsl_raise(EXC_VALUE, "max() arg is an empty sequence");
    if (v_is_tuple(c))
        return tup_get(c, tup_len(c) - 1);
    val item = v_none(), last = v_none();
    for (int64_t pos = 0; set_next(c.u.s, &pos, &item);)
        last = item;
    return last;
}

/* container.union(frozenset({value})) */
val prim_insert(const val *a)
{
    val value = a[0], container = a[1];
    if (!v_is_set(container))
        dsl_raise(EXC_ATTRIBUTE, "'%s' object has no attribute 'union'", val_type_name(container));
    val single = prim_initset(&value);
    return set_freeze(set_or(container.u.s, single));
}

/* type(container)(e for e in container if e != value) */
val prim_remove(const val *a)
{
    val value = a[0], container = a[1];
    require_iterable(container);
    struct collector out;
    collector_init_like(&out, container, (uint64_t)val_len(container));
    struct val_iter it;
    val item;
    val_iter_init(&it, container);
    for (uint64_t i = 1; val_iter_next(&it, &item); i++) {
        tick_every(i);
        if (!val_eq(item, value))
            collector_push(&out, item);
    }
    if (out.to_set) {
        struct set_minus *minus = dsl_alloc(sizeof(*minus));
        minus->base = container.u.s;
        minus->removed = value;
        out.s->minus = minus;
    }
    return collector_finish(&out);
}

/* first(remove(value, container)) */
val prim_other(const val *a)
{
    val args[2] = { a[1], a[0] };
    val rest = prim_remove(args);
    return prim_first(&rest);
}

/* ---- 49-53: building tuples and sets ---- */

/* Number of items of range(start, stop, step), step != 0, without overflow. */
static uint64_t range_length(int64_t start, int64_t stop, int64_t step)
{
    if (step > 0) {
        if (start >= stop)
            return 0;
        uint64_t span = (uint64_t)stop - (uint64_t)start;
        return (span - 1) / (uint64_t)step + 1;
    }
    if (start <= stop)
        return 0;
    uint64_t span = (uint64_t)start - (uint64_t)stop;
    uint64_t down = (uint64_t)0 - (uint64_t)step;
    return (span - 1) / down + 1;
}

/* tuple(range(start, stop, step)) */
val prim_interval(const val *a)
{
    int64_t start = range_arg(a[0]);
    int64_t stop = range_arg(a[1]);
    int64_t step = range_arg(a[2]);
    if (step == 0)
        dsl_raise(EXC_VALUE, "range() arg 3 must not be zero");
    uint64_t n = range_length(start, stop, step);
    if (n == 0)
        return tuple_empty();
    struct vtuple *t = tuple_new(tuple_len_checked(n));
    for (uint32_t i = 0; i < t->len; i++) {
        tick_every(i);
        /* start + i*step lies between start and stop: the unsigned wrap-around is exact */
        uint64_t x = (uint64_t)start + (uint64_t)i * (uint64_t)step;
        t->item[i] = v_int((int64_t)x);
    }
    return v_tuple(t);
}

/* (a, b) */
val prim_astuple(const val *a) { return tuple_pair(a[0], a[1]); }

/* product() of two non-empty sets, with the pairs laid out in memory in the result's slot order
 * (perf: the table is built first from the pairs' hashes, keyed by the pairs' numbers, then each
 * pair is made as its slot is reached, so iterating the result reads the pairs one after the
 * other; made in insertion order they were a cache miss each: first() on the 90,000 pairs of
 * solve_06df4c85). The items of a set are distinct, so the pairs are, and two pairs with the same
 * hash are unequal exactly as two different numbers are: the table comes out as CPython's. */
static bool product_of_sets(val left, val right, val *result)
{
    if (left.kind != V_SET || right.kind != V_SET || left.u.s->used == 0 || right.u.s->used == 0)
        return false;
    int64_t nl, nr;
    const val *li = val_items(left, &nl), *ri = val_items(right, &nr);
    if (nl > INT64_MAX / nr)
        return false;
    int64_t *lh = dsl_alloc((size_t)nl * sizeof(int64_t));
    for (int64_t k = 0; k < nl; k++)
        lh[k] = val_hash(li[k]);
    struct vset *out = set_new();
    uint64_t steps = 0;
    for (int64_t j = 0; j < nr; j++) {
        int64_t rh = val_hash(ri[j]);
        for (int64_t i = 0; i < nl; i++) {
            tick_every(++steps);
            uint64_t acc = tuple_hash_lane(tuple_hash_lane(TUPLE_HASH_START, lh[i]), rh);
            set_add_hashed(out, v_int(j * nl + i), tuple_hash_end(acc, 2));
        }
    }
    struct set_entry *table = out->table;
    for (int64_t slot = 0; slot <= out->mask; slot++) {
        if (table[slot].key.kind != V_INT) /* empty: no dummies in a set only added to */
            continue;
        int64_t k = table[slot].key.u.i;
        table[slot].key = tuple_pair(li[k % nl], ri[k / nl]);
        if ((slot & 65535) == 65535)
            DSL_TICK();
    }
    *result = set_freeze(out);
    return true;
}

/* frozenset((i, j) for j in b for i in a) */
val prim_product(const val *a)
{
    val left = a[0], right = a[1];
    require_iterable(right);
    val pairs;
    if (product_of_sets(left, right, &pairs))
        return pairs;
    struct vset *out = set_new();
    struct val_iter outer;
    val j;
    uint64_t steps = 0;
    val_iter_init(&outer, right);
    while (val_iter_next(&outer, &j)) {
        require_iterable(left);
        struct val_iter inner;
        val i;
        val_iter_init(&inner, left);
        while (val_iter_next(&inner, &i)) {
            tick_every(++steps);
            set_add(out, tuple_pair(i, j));
        }
    }
    return set_freeze(out);
}

/* Iteration count of zip(a, b): both must be iterable. */
static uint32_t zip_length(val x, val y)
{
    require_iterable(x);
    require_iterable(y);
    int64_t nx = val_len(x), ny = val_len(y);
    return (uint32_t)(nx < ny ? nx : ny);
}

/* tuple(zip(a, b)) */
val prim_pair(const val *a)
{
    uint32_t n = zip_length(a[0], a[1]);
    if (n == 0)
        return tuple_empty();
    struct vtuple *t = tuple_new(n);
    struct val_iter ia, ib;
    val x, y;
    val_iter_init(&ia, a[0]);
    val_iter_init(&ib, a[1]);
    for (uint32_t k = 0; k < n && val_iter_next(&ia, &x) && val_iter_next(&ib, &y); k++) {
        tick_every(k);
        t->item[k] = tuple_pair(x, y);
    }
    return v_tuple(t);
}

/* a if condition else b */
val prim_branch(const val *a) { return val_truthy(a[0]) ? a[1] : a[2]; }

/* ---- 54-60: closures ---- */

static val closure(enum func_kind kind, uint8_t arity, val x, val y, val z)
{
    struct vfunc *f = fn_new(kind, arity);
    f->a = x;
    f->b = y;
    f->c = z;
    return v_func(f);
}

/* lambda x: outer(inner(x)) */
val prim_compose(const val *a) { return closure(F_COMPOSE, 1, val_load(&a[0]), val_load(&a[1]), v_none()); }

/* lambda x: h(g(f(x))) */
val prim_chain(const val *a) { return closure(F_CHAIN, 1, val_load(&a[0]), val_load(&a[1]), val_load(&a[2])); }

/* lambda x: function(x) == target */
val prim_matcher(const val *a) { return closure(F_MATCHER, 1, val_load(&a[0]), val_load(&a[1]), v_none()); }

/* function.__code__.co_argcount: 2 -> 1-argument result, 3 -> 2, anything else -> 3. */
static uint8_t bound_arity(val function)
{
    if (!v_is_func(function))
        dsl_raise(EXC_ATTRIBUTE, "'%s' object has no attribute '__code__'", val_type_name(function));
    int n = fn_arity(function);
    return n == 2 ? 1 : n == 3 ? 2 : 3;
}

val prim_rbind(const val *a) { return closure(F_RBIND, bound_arity(a[0]), val_load(&a[0]), val_load(&a[1]), v_none()); }
val prim_lbind(const val *a) { return closure(F_LBIND, bound_arity(a[0]), val_load(&a[0]), val_load(&a[1]), v_none()); }

/* `function if n == 1 else compose(function, power(function, n - 1))`: n <= 0 recurses until
 * RecursionError, as does an n too deep for CPython's recursion limit (POWER_MAX_N). */
val prim_power(const val *a)
{
    val function = a[0], n = a[1];
    if (v_is_int(n) && n.u.i == 1)
        return function;
    if (!v_is_int(n))
        dsl_raise(EXC_TYPE, "unsupported operand type(s) for -: '%s' and 'int'", val_type_name(n));
    if (n.u.i <= 0 || n.u.i > POWER_MAX_N)
        dsl_raise(EXC_RECURSION, "maximum recursion depth exceeded");
    struct vfunc *f = fn_new(F_POWER, 1);
    f->a = function;
    f->b = v_none();
    f->c = v_none();
    f->n = n.u.i;
    return v_func(f);
}

/* lambda x: outer(a(x), b(x)) */
val prim_fork(const val *a) { return closure(F_FORK, 1, val_load(&a[0]), val_load(&a[1]), val_load(&a[2])); }

/* ---- 61-66: mapping functions over containers ---- */

/* apply's function as lines of pairs (dsl_lines_add): fork(connect, P, Q), or fork(recolor,
 * color, fork(connect, P, Q)), P and Q picks. */
struct pair_lines {
    struct pick from, to;
    bool recolour;
};

static bool pair_lines_of(val f, struct pair_lines *pl)
{
    if (f.kind != V_FUNC || f.u.f->kind != F_FORK)
        return false;
    pl->recolour = fn_is_prim(f.u.f->a, PRIM_recolor) && fn_is_prim(f.u.f->b, PRIM_color);
    val line = pl->recolour ? f.u.f->c : f;
    if (line.kind != V_FUNC || line.u.f->kind != F_FORK || !fn_is_prim(line.u.f->a, PRIM_connect))
        return false;
    pl->from.n = pl->to.n = 0;
    return pick_of(line.u.f->b, &pl->from) && pick_of(line.u.f->c, &pl->to);
}

/* Adds function(item) to out as dsl_lines_add does; false when it cannot (call the function). */
static bool pair_line_add(const struct pair_lines *pl, struct dsl_lines *lines, struct vset *out, val item)
{
    val a, b, colour = v_none();
    if (!pick_apply(&pl->from, item, &a) || !pick_apply(&pl->to, item, &b))
        return false;
    if (pl->recolour) { /* color(item) = next(iter(item))[0]: item[0][0] of a 2-tuple of cells */
        val first = item.u.t->item[0];
        if (first.kind != V_TUPLE || first.u.t->len == 0)
            return false;
        colour = first.u.t->item[0];
    }
    return dsl_lines_add(lines, out, a, b, colour);
}

static void apply_body(void *ctx)
{
    struct map_job *job = ctx;
    struct collector out;
    collector_init_like(&out, job->container, (uint64_t)val_len(job->container));
    struct val_iter it;
    val item;
    val_iter_init(&it, job->container);
    struct pair_lines pl;
    struct dsl_lines *lines = out.to_set && pair_lines_of(job->function, &pl) ? dsl_lines_new() : NULL;
    while (val_iter_next(&it, &item)) {
        if (lines != NULL && pair_line_add(&pl, lines, out.s, item))
            continue;
        collector_push(&out, fn_call1(job->function, item));
    }
    job->result = collector_finish(&out);
}

/* type(container)(function(e) for e in container) */
val prim_apply(const val *a)
{
    struct map_job job = { .function = val_load(&a[0]), .container = val_load(&a[1]) };
    require_iterable(job.container);
    run_as_generator(apply_body, &job);
    return job.result;
}

/* The calls of apply(function, container) on a set, without the set of their results. */
struct each_job {
    val function, container;
    val *result;
};

static void apply_each_body(void *ctx)
{
    struct each_job *job = ctx;
    int64_t k = 0, pos = 0;
    val item;
    while (set_next(job->container.u.s, &pos, &item))
        job->result[k++] = fn_call1(job->function, item);
}

val *dsl_apply_each(val function, val container)
{
    struct each_job job = { function, container, dsl_alloc((size_t)(set_len(container) + 1) * sizeof(val)) };
    run_as_generator(apply_each_body, &job);
    return job.result;
}

val dsl_apply_collected(val container, const val *result)
{
    struct collector out;
    int64_t n = set_len(container);
    collector_init_like(&out, container, (uint64_t)n);
    for (int64_t k = 0; k < n; k++)
        collector_push(&out, result[k]);
    return collector_finish(&out);
}

static void rapply_body(void *ctx)
{
    struct map_job *job = ctx;  /* container: the functions; function: the value */
    struct collector out;
    collector_init_like(&out, job->container, (uint64_t)val_len(job->container));
    struct val_iter it;
    val function;
    val_iter_init(&it, job->container);
    while (val_iter_next(&it, &function))
        collector_push(&out, fn_call1(function, job->function));
    job->result = collector_finish(&out);
}

/* type(functions)(function(value) for function in functions) */
val prim_rapply(const val *a)
{
    struct map_job job = { .function = val_load(&a[1]), .container = val_load(&a[0]) };
    require_iterable(job.container);
    run_as_generator(rapply_body, &job);
    return job.result;
}

static val mapply_body(const val *a)
{
    val merged;
    if (dsl_mapply_shifts(a[0], a[1], &merged))
        return merged;
    val mapped = prim_apply(a);
    return prim_merge(&mapped);
}

/* merge(apply(function, container)): the mapped containers are garbage once merged (perf:
 * solve_6aa20dc0 on 1190e5a7 merges 784 shifted copies of a 2,007-cell pattern at a time) */
val prim_mapply(const val *a)
{
    return dsl_call_keeping_result(mapply_body, a);
}

/* The operands of a generator over two containers. */
struct pair_job {
    val function;
    val left, right;
    val result;
};

static void papply_body(void *ctx)
{
    struct pair_job *job = ctx;
    uint32_t n = zip_length(job->left, job->right);
    struct collector out;
    collector_init(&out, false, n);
    struct val_iter ia, ib;
    val x, y;
    val_iter_init(&ia, job->left);
    val_iter_init(&ib, job->right);
    for (uint32_t k = 0; k < n && val_iter_next(&ia, &x) && val_iter_next(&ib, &y); k++)
        collector_push(&out, fn_call2(job->function, x, y));
    job->result = collector_finish(&out);
}

/* tuple(function(i, j) for i, j in zip(a, b)) */
val prim_papply(const val *a)
{
    struct pair_job job = { .function = val_load(&a[0]), .left = val_load(&a[1]), .right = val_load(&a[2]) };
    zip_length(job.left, job.right);
    run_as_generator(papply_body, &job);
    return job.result;
}

/* merge(papply(function, a, b)) */
val prim_mpapply(const val *a)
{
    val mapped = prim_papply(a);
    return prim_merge(&mapped);
}

static void prapply_body(void *ctx)
{
    struct pair_job *job = ctx;
    struct vset *out = set_new();
    struct val_iter outer;
    val j;
    val_iter_init(&outer, job->right);
    struct dsl_lines *lines = fn_is_prim(job->function, PRIM_connect) ? dsl_lines_new() : NULL;
    while (val_iter_next(&outer, &j)) {
        require_iterable(job->left);
        struct val_iter inner;
        val i;
        val_iter_init(&inner, job->left);
        while (val_iter_next(&inner, &i))
            if (lines == NULL || !dsl_lines_add(lines, out, i, j, v_none()))
                set_add(out, fn_call2(job->function, i, j));
    }
    job->result = set_freeze(out);
}

/* frozenset(function(i, j) for j in b for i in a) */
val prim_prapply(const val *a)
{
    struct pair_job job = { .function = val_load(&a[0]), .left = val_load(&a[1]), .right = val_load(&a[2]) };
    require_iterable(job.right);
    run_as_generator(prapply_body, &job);
    return job.result;
}
