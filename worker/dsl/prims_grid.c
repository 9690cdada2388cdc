/* prims_grid.c: primitives 67-113 of Hodel's dsl.py (mostcolor .. rot270): colours, shapes,
 * corners, patches, neighbourhoods, objects/partition, palettes and rotations.
 *
 * Each primitive follows dsl.py statement by statement, on any value (the annotations are not
 * checked there either): the same exceptions (by class) where Python raises, and the same
 * frozenset iteration order, because every set is built through value.h's CPython set
 * algorithms in exactly the sequence in which Python builds it (generator order, set displays
 * followed by a frozenset() copy, |, -). Fast paths skip work only where the skipped work
 * cannot change the result: plain-int cells and coordinates, re-adding a small int that is
 * already in a set, reading coordinates without building toindices() when only min/max or
 * membership matter. objects() keeps its intermediate position sets in integer tables that
 * follow CPython's set algorithm (see the comment above prim_objects' helpers). */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "dsl.h"

/* ------------------------------------------------------------------------------------------
 * Python-level helpers
 * ------------------------------------------------------------------------------------------ */

static inline bool is_plain_int(val v) { return v.kind == V_INT; }

static val *alloc_vals(int64_t n)
{
    return dsl_alloc((size_t)(n > 0 ? n : 1) * sizeof(val));
}

/* next(iter(c)) for a non-empty container (callers check emptiness themselves). */
static val first_item(val c)
{
    if (c.kind == V_TUPLE)
        return c.u.t->item[0];
    val item = v_none();
    int64_t pos = 0;
    set_next(c.u.s, &pos, &item);
    return item;
}

/* Python's `x, y = item`. */
BF_NORETURN static void raise_operands(const char *op, val a, val b)
{
    dsl_raise(EXC_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op, val_type_name(a),
              val_type_name(b));
}

/* a + b: ints add (bools count as ints), tuples concatenate, anything else raises. */
static val py_add(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return v_int(int_add(a.u.i, b.u.i));
    if (a.kind != V_TUPLE || b.kind != V_TUPLE)
        raise_operands("+", a, b);
    uint32_t na = a.u.t->len, nb = b.u.t->len;
    if (na == 0)
        return b;
    if (nb == 0)
        return a;
    struct vtuple *t = tuple_new(na + nb);
    memcpy(t->item, a.u.t->item, na * sizeof(val));
    memcpy(t->item + na, b.u.t->item, nb * sizeof(val));
    return v_tuple(t);
}

/* a - b: ints only. */
static val py_sub(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return v_int(int_sub(a.u.i, b.u.i));
    raise_operands("-", a, b);
}

/* -a */
static val py_neg(val a)
{
    if (v_is_int(a))
        return v_int(int_sub(0, a.u.i));
    dsl_raise(EXC_TYPE, "bad operand type for unary -: '%s'", val_type_name(a));
}

/* a < b and a > b with Python's rules (val_lt raises TypeError for mixed kinds). */
static inline bool lt_fast(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return a.u.i < b.u.i;
    return val_lt(a, b);
}

/* Streaming min()/max(): CPython keeps the first extreme item; an item replaces it only when
 * strictly smaller (min: item < best) or strictly greater (max: item > best, i.e. best < item). */
struct extreme {
    bool want_max;
    bool have;
    val best;
};

static void extreme_feed(struct extreme *e, val x)
{
    if (!e->have) {
        e->best = x;
        e->have = true;
    } else if (e->want_max ? lt_fast(e->best, x) : lt_fast(x, e->best)) {
        e->best = x;
    }
}

static val extreme_result(const struct extreme *e)
{
    if (!e->have)
        dsl_raise(EXC_VALUE, "%s() arg is an empty sequence", e->want_max ? "max" : "min");
    return e->best;
}


/* Adds x to s unless it is a small non-negative int already added (re-adding an existing key
 * leaves a CPython table untouched, so skipping it is exact). seen has 64 flags. */
static void add_skipping_seen(struct vset *s, val x, bool seen[64])
{
    if (v_is_int(x) && x.u.i >= 0 && x.u.i < 64) {
        if (seen[x.u.i])
            return;
        seen[x.u.i] = true;
    }
    set_add(s, x);
}

/* ------------------------------------------------------------------------------------------
 * Patches: toindices and fast coordinate access
 * ------------------------------------------------------------------------------------------ */

/* How a patch looks when every item has the same well-formed shape with plain int coordinates
 * (set_patch_info, which also knows the bounding box); PS_GENERIC otherwise (then the caller
 * follows Python literally). */
enum patch_shape { PS_GENERIC, PS_EMPTY, PS_INDICES, PS_OBJECT };

static inline bool is_int_pair(val v)
{
    return v.kind == V_TUPLE && v.u.t->len == 2 && is_plain_int(v.u.t->item[0]) &&
           is_plain_int(v.u.t->item[1]);
}

static inline bool is_cell(val v)
{
    return v.kind == V_TUPLE && v.u.t->len == 2 && is_int_pair(v.u.t->item[1]);
}

/* The patch's shape, and its bounding box in *box when plain (box may be NULL). */
static enum patch_shape patch_shape_box(val patch, struct patch_info *box)
{
    if (patch.kind != V_SET)
        return PS_GENERIC;
    if (patch.u.s->used == 0)
        return PS_EMPTY;
    struct patch_info scratch;
    const struct patch_info *pi = set_patch_info(patch.u.s, &scratch);
    if (box != NULL)
        *box = *pi;
    return pi->form == PF_OBJECT ? PS_OBJECT : pi->form == PF_INDICES ? PS_INDICES : PS_GENERIC;
}

static enum patch_shape patch_shape(val patch)
{
    return patch_shape_box(patch, NULL);
}

/* (i, j) of an item of a PS_INDICES or PS_OBJECT patch. */
static inline val fast_index(val item, enum patch_shape shape)
{
    return shape == PS_OBJECT ? item.u.t->item[1] : item;
}

val prim_toindices(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return set_empty();
    val probe = val_index(first_item(patch), 1);
    if (!v_is_tuple(probe))
        return patch;
    int64_t n;
    const val *items = val_items(patch, &n);
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++) {
        val value, index;
        val_unpack2(items[k], &value, &index);
        set_add(s, index);
    }
    val r = set_freeze(s);
    const struct patch_info *pi = patch.kind == V_SET ? set_patch_known(patch.u.s) : NULL;
    if (pi != NULL && pi->form == PF_OBJECT) /* the (i, j) of each of its cells */
        set_patch_facts(s, PF_INDICES, pi->imin, pi->imax, pi->jmin, pi->jmax, true);
    return r;
}

/* min/max of coordinate `axis` (0: i, 1: j) over `for i, j in toindices(patch)`. */
static val patch_extreme(val patch, int axis, bool want_max)
{
    struct patch_info box;
    enum patch_shape shape = patch_shape_box(patch, &box);
    if (shape == PS_INDICES || shape == PS_OBJECT)
        return v_int(axis == 0 ? (want_max ? box.imax : box.imin) : (want_max ? box.jmax : box.jmin));
    val ind = prim_toindices(&patch);
    int64_t n;
    const val *items = val_items(ind, &n);
    struct extreme e = { want_max, false, v_none() };
    for (int64_t k = 0; k < n; k++) {
        val i, j;
        val_unpack2(items[k], &i, &j);
        extreme_feed(&e, axis == 0 ? i : j);
    }
    return extreme_result(&e);
}

val prim_uppermost(const val *a) { return patch_extreme(a[0], 0, false); }
val prim_lowermost(const val *a) { return patch_extreme(a[0], 0, true); }
val prim_leftmost(const val *a) { return patch_extreme(a[0], 1, false); }
val prim_rightmost(const val *a) { return patch_extreme(a[0], 1, true); }

/* zip(*iterable): the columns of the items of iterable (each item must be iterable), truncated
 * to the shortest item. rows[r][k] is column k of row r. */
struct zipped {
    int64_t nrows, ncols;
    const val **rows;
};

static void zip_items(const val *items, int64_t n, struct zipped *z)
{
    z->nrows = n;
    z->ncols = 0;
    z->rows = dsl_alloc((size_t)(n > 0 ? n : 1) * sizeof(*z->rows));
    for (int64_t r = 0; r < n; r++) {
        int64_t len;
        z->rows[r] = val_items(items[r], &len);
        if (r == 0 || len < z->ncols)
            z->ncols = len;
    }
}

static void zip_star(val iterable, struct zipped *z)
{
    int64_t n;
    const val *items = val_items(iterable, &n);
    zip_items(items, n, z);
}

/* The corner primitives: tuple(map(f_k, zip(*toindices(patch)))) where f_k is min or max for
 * column k; urcorner/llcorner look f_k up in {0: ..., 1: ...}, so a third column raises
 * KeyError (ulcorner/lrcorner map one function over every column). */
static val corner(val patch, bool max_i, bool max_j, bool two_columns_only)
{
    struct patch_info box;
    enum patch_shape shape = patch_shape_box(patch, &box);
    if (shape == PS_EMPTY)
        return tuple_empty();
    if (shape == PS_INDICES || shape == PS_OBJECT)
        return tuple_ints(max_i ? box.imax : box.imin, max_j ? box.jmax : box.jmin);
    struct zipped z;
    zip_star(prim_toindices(&patch), &z);
    if (z.nrows == 0 || z.ncols == 0)
        return tuple_empty();
    struct vtuple *out = tuple_new((uint32_t)z.ncols);
    for (int64_t k = 0; k < z.ncols; k++) {
        if (two_columns_only && k >= 2)
            dsl_raise(EXC_KEY, "%lld", (long long)k);
        struct extreme e = { k == 0 ? max_i : max_j, false, v_none() };
        for (int64_t r = 0; r < z.nrows; r++)
            extreme_feed(&e, z.rows[r][k]);
        out->item[k] = extreme_result(&e);
    }
    return v_tuple(out);
}

val prim_ulcorner(const val *a) { return corner(a[0], false, false, false); }
val prim_urcorner(const val *a) { return corner(a[0], false, true, true); }
val prim_llcorner(const val *a) { return corner(a[0], true, false, true); }
val prim_lrcorner(const val *a) { return corner(a[0], true, true, false); }

/* ------------------------------------------------------------------------------------------
 * Colours
 * ------------------------------------------------------------------------------------------ */

/* The list `values` of mostcolor/leastcolor, as runs of cells read in place: each row of a grid
 * (any tuple counts as one; perf: solve_91413438's objects() asks mostcolor of grids of 6.5
 * million cells, which were copied into one list first: 104 MB of fresh memory per call), else one
 * run, `[v for v, _ in element]`. */
struct color_runs {
    const val *rows; /* the grid's rows, all tuples, each a run; NULL: the one run below */
    int64_t nruns;
    const val *one;
    int64_t one_len;
    int64_t total; /* cells in all runs */
};

static const val *color_run(const struct color_runs *c, int64_t r, int64_t *len)
{
    if (c->rows == NULL) {
        *len = c->one_len;
        return c->one;
    }
    *len = c->rows[r].u.t->len;
    return c->rows[r].u.t->item;
}

static struct color_runs color_values(val element)
{
    struct color_runs c = { NULL, 1, NULL, 0, 0 };
    int64_t nrows;
    const val *rows = val_items(element, &nrows);
    if (element.kind != V_TUPLE) {
        val *out = alloc_vals(nrows);
        for (int64_t k = 0; k < nrows; k++) {
            val rest;
            val_unpack2(rows[k], &out[k], &rest);
        }
        c.one = out;
        c.one_len = c.total = nrows;
        return c;
    }
    bool set_rows = false;
    for (int64_t r = 0; r < nrows; r++) {
        if (rows[r].kind != V_TUPLE && rows[r].kind != V_SET)
            dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(rows[r]));
        set_rows |= rows[r].kind == V_SET;
        c.total += val_len(rows[r]);
    }
    if (!set_rows) {
        c.rows = rows;
        c.nruns = nrows;
        return c;
    }
    val *out = alloc_vals(c.total); /* a set's items are listed once, not per run read */
    int64_t k = 0;
    for (int64_t r = 0; r < nrows; r++) {
        int64_t len;
        const val *items = val_items(rows[r], &len);
        memcpy(out + k, items, (size_t)len * sizeof(val));
        k += len;
    }
    c.one = out;
    c.one_len = c.total;
    return c;
}

/* Sets bits lo .. hi - 1 of bits. */
static void bits_set_range(uint64_t *bits, int64_t lo, int64_t hi)
{
    while (lo < hi) {
        int64_t w = lo >> 6, end = (w + 1) << 6 < hi ? (w + 1) << 6 : hi;
        uint64_t span = (uint64_t)(end - lo);
        bits[w] |= (span == 64 ? ~(uint64_t)0 : (((uint64_t)1 << span) - 1)) << (lo & 63);
        lo = end;
    }
}

/* The counts of values that are all ints in 0 .. 63, in hist, and `distinct` built as
 * set(values) is (each value added when first met, so in the same order); false as soon as
 * another value comes (then hist and distinct are partial). One pass over the cells (perf: the
 * check of every value and the counting were two passes over solve_91413438's grids of 6.5
 * million cells, 104 MB each). With marks, the same pass also sets bit k of marks for each cell
 * k (counting the cells of all runs in order) whose value is not `guess` (see
 * big_grid_mostcolor). */
static bool count_small_colors(const struct color_runs *c, int64_t hist[64], struct vset *distinct,
                               uint64_t guess, uint64_t *marks)
{
    /* Equal neighbours are counted in a register and added to hist when the colour changes
     * (perf: hist[v]++ on every cell made each cell wait for the store of the one before, as
     * the cells of a big grid are mostly one colour); marks are set a run at a time. */
    uint64_t seen = 0, colour = 64; /* 64: no colour yet (hist has 64 slots, run is 0) */
    int64_t run = 0, at = 0;        /* the current run: its length and its first cell */
    for (int64_t r = 0; r < c->nruns; r++) {
        int64_t n;
        const val *vs = color_run(c, r, &n);
        /* a row's uniform tail (value.h) is read as its first cell, which stands for all */
        int64_t tail = c->rows != NULL ? tuple_uniform_from(c->rows[r].u.t) : n;
        int64_t read = tail < n ? tail + 1 : n;
        for (int64_t k = 0; k < read; k++) {
            if (!v_is_int(vs[k]) || (uint64_t)vs[k].u.i >= 64)
                return false;
            uint64_t v = (uint64_t)vs[k].u.i;
            int64_t cells = k == tail ? n - tail : 1;
            if (v == colour) {
                run += cells;
                continue;
            }
            if (run > 0) {
                hist[colour] += run;
                if (marks != NULL && colour != guess)
                    bits_set_range(marks, at, at + run);
            }
            at += run;
            colour = v;
            run = cells;
            if (!(seen >> v & 1)) {
                seen |= (uint64_t)1 << v;
                set_add(distinct, vs[k]);
            }
        }
        DSL_TICK();
    }
    if (run > 0) {
        hist[colour] += run;
        if (marks != NULL && colour != guess)
            bits_set_range(marks, at, at + run);
    }
    return true;
}

/* max(set(values), key=values.count) (most) or min(...) (least). With marks: count_small_colors'
 * marks for guess, and *marked says whether they were set (all values small ints). */
static val pick_color_marking(const struct color_runs *c, bool most, uint64_t guess, uint64_t *marks, bool *marked)
{
    if (c->total == 0)
        dsl_raise(EXC_VALUE, "%s() arg is an empty sequence", most ? "max" : "min");
    struct vset *distinct = set_new();
    int64_t hist[64] = { 0 };
    bool small = count_small_colors(c, hist, distinct, guess, marks);
    if (marked != NULL)
        *marked = small;
    if (!small) {
        distinct = set_new();
        for (int64_t r = 0; r < c->nruns; r++) {
            int64_t n;
            const val *vs = color_run(c, r, &n);
            for (int64_t k = 0; k < n; k++) {
                set_add(distinct, vs[k]);
                if ((k & 1023) == 1023)
                    DSL_TICK();
            }
            DSL_TICK();
        }
    }
    bool have = false;
    val best = v_none();
    int64_t best_count = 0;
    val key;
    for (int64_t pos = 0; set_next(distinct, &pos, &key);) {
        int64_t count = 0;
        if (small) {
            count = hist[key.u.i];
        } else {
            for (int64_t r = 0; r < c->nruns; r++) {
                int64_t n;
                const val *vs = color_run(c, r, &n);
                for (int64_t k = 0; k < n; k++)
                    count += val_eq_fast(vs[k], key);
            }
            DSL_TICK();
        }
        if (!have || (most ? count > best_count : count < best_count)) {
            best = key;
            best_count = count;
            have = true;
        }
    }
    return best;
}

static val pick_color(const struct color_runs *c, bool most)
{
    return pick_color_marking(c, most, 64, NULL, NULL);
}

val prim_mostcolor(const val *a)
{
    struct color_runs c = color_values(a[0]);
    return pick_color(&c, true);
}

val prim_leastcolor(const val *a)
{
    struct color_runs c = color_values(a[0]);
    return pick_color(&c, false);
}

val prim_colorcount(const val *a)
{
    val element = a[0], value = a[1];
    int64_t total = 0;
    if (element.kind == V_TUPLE) {
        for (uint32_t r = 0; r < element.u.t->len; r++) {
            val row = element.u.t->item[r];
            if (row.kind != V_TUPLE)
                dsl_raise(EXC_ATTRIBUTE, "'%s' object has no attribute 'count'", val_type_name(row));
            for (uint32_t k = 0; k < row.u.t->len; k++)
                total += val_eq_fast(row.u.t->item[k], value);
        }
        return v_int(total);
    }
    int64_t n;
    const val *items = val_items(element, &n);
    for (int64_t k = 0; k < n; k++) {
        val v, rest;
        val_unpack2(items[k], &v, &rest);
        total += val_eq_fast(v, value);
    }
    return v_int(total);
}

val prim_palette(const val *a)
{
    val element = a[0];
    int64_t nrows;
    const val *rows = val_items(element, &nrows);
    struct vset *s = set_new();
    bool seen[64] = { false };
    for (int64_t r = 0; r < nrows; r++) {
        if (element.kind == V_TUPLE) {
            int64_t len;
            const val *items = val_items(rows[r], &len);
            for (int64_t k = 0; k < len; k++)
                add_skipping_seen(s, items[k], seen);
        } else {
            val v, rest;
            val_unpack2(rows[r], &v, &rest);
            add_skipping_seen(s, v, seen);
        }
    }
    return set_freeze_copy(s);
}

val prim_numcolors(const val *a)
{
    val p = prim_palette(a);
    return v_int(set_len(p));
}

val prim_color(const val *a)
{
    val obj = a[0];
    if (obj.kind != V_TUPLE && obj.kind != V_SET)
        dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(obj));
    if (val_len(obj) == 0)
        dsl_raise(EXC_STOP_ITERATION, "%s", "");
    return val_index(first_item(obj), 0);
}

val prim_colorfilter(const val *a)
{
    val value = a[1];
    int64_t n;
    const val *objs = val_items(a[0], &n);
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++) {
        val obj = objs[k];
        if (obj.kind != V_TUPLE && obj.kind != V_SET)
            dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(obj));
        if (val_len(obj) == 0)  /* StopIteration inside a generator (PEP 479) */
            dsl_raise(EXC_RUNTIME, "generator raised StopIteration");
        if (val_eq_fast(val_index(first_item(obj), 0), value))
            set_add(s, obj);
    }
    return set_freeze(s);
}

val prim_sizefilter(const val *a)
{
    val want = a[1];
    int64_t n;
    const val *items = val_items(a[0], &n);
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++) {
        if (val_eq_fast(v_int(val_len(items[k])), want))
            set_add(s, items[k]);
    }
    return set_freeze(s);
}

/* ------------------------------------------------------------------------------------------
 * Sizes and shapes
 * ------------------------------------------------------------------------------------------ */

val prim_height(const val *a)
{
    val piece = a[0];
    int64_t n = val_len(piece);
    if (n == 0)
        return v_int(0);
    if (piece.kind == V_TUPLE)
        return v_int(n);
    val low = prim_lowermost(a);
    val up = prim_uppermost(a);
    return py_add(py_sub(low, up), v_int(1));
}

val prim_width(const val *a)
{
    val piece = a[0];
    if (val_len(piece) == 0)
        return v_int(0);
    if (piece.kind == V_TUPLE)
        return v_int(val_len(piece.u.t->item[0]));
    val right = prim_rightmost(a);
    val left = prim_leftmost(a);
    return py_add(py_sub(right, left), v_int(1));
}

val prim_shape(const val *a)
{
    val h = prim_height(a);
    val w = prim_width(a);
    return tuple_pair(h, w);
}

val prim_portrait(const val *a)
{
    val h = prim_height(a);
    val w = prim_width(a);
    return v_bool(h.u.i > w.u.i);
}

val prim_square(const val *a)
{
    val piece = a[0];
    if (piece.kind == V_TUPLE)
        return v_bool(val_len(piece) == val_len(val_index(piece, 0)));
    int64_t h = prim_height(a).u.i, w = prim_width(a).u.i;
    if (int_mul(h, w) != val_len(piece))
        return v_bool(false);
    return v_bool(h == w);
}

val prim_vline(const val *a)
{
    if (prim_height(a).u.i != val_len(a[0]))
        return v_bool(false);
    return v_bool(prim_width(a).u.i == 1);
}

val prim_hline(const val *a)
{
    if (prim_width(a).u.i != val_len(a[0]))
        return v_bool(false);
    return v_bool(prim_height(a).u.i == 1);
}

/* ------------------------------------------------------------------------------------------
 * Grids to index sets and objects
 * ------------------------------------------------------------------------------------------ */

val prim_asindices(const val *a)
{
    val grid = a[0];
    int64_t h = val_len(grid);
    if (h == 0)
        return set_empty();
    int64_t w = val_len(val_index(grid, 0));
    struct vset *s = set_new();
    for (int64_t i = 0; i < h; i++) {
        for (int64_t j = 0; j < w; j++)
            set_add(s, tuple_ints(i, j));
        DSL_TICK();
    }
    val r = set_freeze(s);
    set_patch_facts(s, PF_INDICES, 0, h - 1, 0, w - 1, true);
    return r;
}

/* The bounding box of the positions a producer adds (facts for set_patch_facts). */
struct box_track {
    int64_t imin, imax, jmin, jmax;
};

static void box_start(struct box_track *b)
{
    b->imin = b->jmin = INT64_MAX;
    b->imax = b->jmax = INT64_MIN;
}

static inline void box_add(struct box_track *b, int64_t i, int64_t j)
{
    b->imin = i < b->imin ? i : b->imin;
    b->imax = i > b->imax ? i : b->imax;
    b->jmin = j < b->jmin ? j : b->jmin;
    b->jmax = j > b->jmax ? j : b->jmax;
}

val prim_ofcolor(const val *a)
{
    val value = a[1];
    int64_t h;
    const val *rows = val_items(a[0], &h);
    struct vset *s = set_new();
    struct box_track box;
    box_start(&box);
    for (int64_t i = 0; i < h; i++) {
        int64_t w;
        const val *cells = val_items(rows[i], &w);
        for (int64_t j = 0; j < w; j++) {
            if (val_eq_fast(cells[j], value)) {
                set_add(s, tuple_ints(i, j));
                box_add(&box, i, j);
            }
        }
        DSL_TICK();
    }
    val r = set_freeze(s);
    set_patch_facts(s, PF_INDICES, box.imin, box.imax, box.jmin, box.jmax, true);
    return r;
}

val prim_asobject(const val *a)
{
    int64_t h;
    const val *rows = val_items(a[0], &h);
    struct vset *s = set_new();
    struct box_track box;
    box_start(&box);
    bool ints_only = true;
    for (int64_t i = 0; i < h; i++) {
        int64_t w;
        const val *cells = val_items(rows[i], &w);
        for (int64_t j = 0; j < w; j++) {
            set_add(s, tuple_cell(cells[j], i, j));
            ints_only = ints_only && v_is_int(cells[j]);
        }
        if (w > 0) {
            box_add(&box, i, 0);
            box_add(&box, i, w - 1);
        }
        DSL_TICK();
    }
    val r = set_freeze(s);
    set_patch_facts(s, PF_OBJECT, box.imin, box.imax, box.jmin, box.jmax, ints_only);
    return r;
}

val prim_toobject(const val *a)
{
    val patch = a[0], grid = a[1];
    int64_t h = val_len(grid);
    int64_t w = val_len(val_index(grid, 0));
    val ind = prim_toindices(&patch);
    int64_t n;
    const val *items = val_items(ind, &n);
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++) {
        val i, j;
        val_unpack2(items[k], &i, &j);
        /* 0 <= i < h and 0 <= j < w, short-circuiting like Python's chained comparisons */
        if (!v_is_int(i))
            dsl_raise(EXC_TYPE, "'<=' not supported between instances of 'int' and '%s'", val_type_name(i));
        if (i.u.i < 0 || i.u.i >= h)
            continue;
        if (!v_is_int(j))
            dsl_raise(EXC_TYPE, "'<=' not supported between instances of 'int' and '%s'", val_type_name(j));
        if (j.u.i < 0 || j.u.i >= w)
            continue;
        val cell = val_index(val_index(grid, i.u.i), j.u.i);
        set_add(s, tuple_pair(cell, tuple_pair(i, j)));
        if ((k & 1023) == 1023)
            DSL_TICK();
    }
    return set_freeze(s);
}

/* ------------------------------------------------------------------------------------------
 * Patch transforms
 * ------------------------------------------------------------------------------------------ */

val prim_recolor(const val *a)
{
    val value = a[0], patch = a[1];
    val ind = prim_toindices(&patch);
    int64_t n;
    const val *items = val_items(ind, &n);
    if (n == 0)
        return set_empty(); /* perf: solve_06df4c85 recolors the empty line between each two cells
                               of a product that share no row, column or diagonal */
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++)
        set_add(s, tuple_pair(value, items[k]));
    val r = set_freeze(s);
    const struct patch_info *pi = ind.kind == V_SET ? set_patch_known(ind.u.s) : NULL;
    if (pi != NULL && pi->form == PF_INDICES) /* (value, (i, j)) for each of its (i, j) */
        set_patch_facts(s, PF_OBJECT, pi->imin, pi->imax, pi->jmin, pi->jmax, v_is_int(value));
    return r;
}

/* One item of shift(): (value, (i + di, j + dj)) for an object, (i + di, j + dj) else. */
static val shifted_item(val item, bool object, val di, val dj)
{
    if (is_plain_int(di) && is_plain_int(dj) && (object ? is_cell(item) : is_int_pair(item))) {
        val ij = object ? item.u.t->item[1] : item;
        int64_t i = int_add(ij.u.t->item[0].u.i, di.u.i), j = int_add(ij.u.t->item[1].u.i, dj.u.i);
        return object ? tuple_cell(item.u.t->item[0], i, j) : tuple_ints(i, j);
    }
    val value = v_none(), ij = item, i, j;
    if (object)
        val_unpack2(item, &value, &ij);
    val_unpack2(ij, &i, &j);
    val ni = py_add(i, di);
    val nj = py_add(j, dj);
    val moved = tuple_pair(ni, nj);
    return object ? tuple_pair(value, moved) : moved;
}

val prim_shift(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return patch;
    val di, dj;
    val_unpack2(a[1], &di, &dj);
    bool object = v_is_tuple(val_index(first_item(patch), 1));
    int64_t n;
    const val *items = val_items(patch, &n);
    struct vset *s = set_new();
    for (int64_t k = 0; k < n; k++)
        set_add(s, shifted_item(items[k], object, di, dj));
    val r = set_freeze(s);
    if (patch.kind == V_SET && is_plain_int(di) && is_plain_int(dj))
        set_patch_shifted(s, patch.u.s, di.u.i, dj.u.i);
    return r;
}

/* ------------------------------------------------------------------------------------------
 * Position sets: CPython's set table (value.c's probing, resizing, merge and difference paths)
 * over distinct integer keys with given hashes, for sets whose order matters but whose items
 * need not be built: objects()' sets of positions (below), and the layout of a shifted copy in
 * mapply(lbind(shift, patch), offsets).
 * ------------------------------------------------------------------------------------------ */

#define PS_LINEAR_PROBES 9
#define PS_PERTURB_SHIFT 5
#define PS_EMPTY_KEY (-1)
#define PS_DUMMY_KEY (-2)

struct pentry {
    int64_t hash;
    int64_t key;
};

struct pset {
    int64_t fill, used, mask;
    struct pentry *table;
    struct pentry small[8];
};

static void pset_init(struct pset *s)
{
    s->fill = s->used = 0;
    s->mask = 7;
    s->table = s->small;
    memset(s->small, 0xff, sizeof(s->small)); /* every key PS_EMPTY_KEY (-1) */
}

static struct pset *pset_new(void)
{
    struct pset *s = dsl_alloc(sizeof(*s));
    pset_init(s);
    return s;
}

static inline bool pslot_active(const struct pentry *e) { return e->key >= 0; }

/* set_gather and set_chunk (value.h) for these tables: the active entries among the next
 * SET_CHUNK slots, without a branch per slot. */
static inline int64_t pset_gather(const struct pentry *table, int64_t size, int64_t *pos, struct pentry *buf)
{
    int64_t from = *pos, to = size - from > SET_CHUNK ? from + SET_CHUNK : size, n = 0;
    for (int64_t k = from; k < to; k++) {
        buf[n] = table[k];
        n += pslot_active(&table[k]);
    }
    *pos = to;
    return n;
}

static inline bool pset_chunk(const struct pset *s, int64_t *pos, struct pentry *buf, int64_t *n)
{
    if (*pos > s->mask)
        return false;
    *n = pset_gather(s->table, s->mask + 1, pos, buf);
    return true;
}

/* set_insert_clean */
static void pset_insert_clean(struct pentry *table, uint64_t mask, int64_t key, int64_t hash)
{
    uint64_t perturb = (uint64_t)hash;
    uint64_t i = (uint64_t)hash & mask;
    for (;;) {
        struct pentry *e = &table[i];
        int probes = (i + PS_LINEAR_PROBES <= mask) ? PS_LINEAR_PROBES : 0;
        do {
            if (e->key == PS_EMPTY_KEY) {
                e->key = key;
                e->hash = hash;
                return;
            }
            e++;
        } while (probes--);
        perturb >>= PS_PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

/* set_table_resize */
static void pset_resize(struct pset *s, int64_t minused)
{
    int64_t newsize = 8;
    while (newsize <= minused)
        newsize <<= 1;
    if (newsize == 8 && s->mask == 7 && s->fill == s->used)
        return;
    struct pentry *old = s->table;
    int64_t oldsize = s->mask + 1;
    struct pentry small_copy[8];
    if (old == s->small) {
        memcpy(small_copy, s->small, sizeof(small_copy));
        old = small_copy;
    }
    struct pentry *table = newsize == 8 ? s->small : dsl_alloc((size_t)newsize * sizeof(*table));
    dsl_fill(table, 0xff, (size_t)newsize * sizeof(*table)); /* every key PS_EMPTY_KEY (-1) */
    s->table = table;
    s->mask = newsize - 1;
    s->fill = s->used;
    struct pentry buf[SET_CHUNK];
    for (int64_t pos = 0; pos < oldsize;) {
        int64_t n = pset_gather(old, oldsize, &pos, buf);
        for (int64_t k = 0; k < n; k++)
            pset_insert_clean(table, (uint64_t)s->mask, buf[k].key, buf[k].hash);
        if ((pos & 4095) == 0)
            DSL_TICK(); /* a table of millions: resizing it takes longer than the 10 ms allowed */
    }
}

/* set_add_entry for a table without dummies (the sets added to here never have any). */
static void pset_add(struct pset *s, int64_t key, int64_t hash)
{
    uint64_t mask = (uint64_t)s->mask;
    uint64_t i = (uint64_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    struct pentry *e;
    for (;;) {
        e = &s->table[i];
        int probes = (i + PS_LINEAR_PROBES <= mask) ? PS_LINEAR_PROBES : 0;
        do {
            if (e->key == PS_EMPTY_KEY)
                goto found_unused;
            if (e->key == key)
                return;
            e++;
        } while (probes--);
        perturb >>= PS_PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found_unused:
    fill_used_bump(&s->fill, &s->used);
    e->key = key;
    e->hash = hash;
    if ((uint64_t)s->fill * 5 < mask * 3)
        return;
    pset_resize(s, s->used > 50000 ? s->used * 2 : s->used * 4);
}

/* set_merge */
static void pset_merge(struct pset *s, const struct pset *other)
{
    if (other == s || other->used == 0)
        return;
    if ((s->fill + other->used) * 5 >= s->mask * 3)
        pset_resize(s, (s->used + other->used) * 2);
    if (s->fill == 0 && s->mask == other->mask && other->fill == other->used) {
        memcpy(s->table, other->table, (size_t)(other->mask + 1) * sizeof(struct pentry));
        s->fill = other->fill;
        s->used = other->used;
        return;
    }
    if (s->fill == 0) {
        s->fill = s->used = other->used;
        for (int64_t k = 0; k <= other->mask; k++)
            if (pslot_active(&other->table[k]))
                pset_insert_clean(s->table, (uint64_t)s->mask, other->table[k].key, other->table[k].hash);
        return;
    }
    for (int64_t k = 0; k <= other->mask; k++)
        if (pslot_active(&other->table[k]))
            pset_add(s, other->table[k].key, other->table[k].hash);
}

static struct pset *pset_copy(const struct pset *s)
{
    struct pset *r = pset_new();
    pset_merge(r, s);
    return r;
}

/* mapply(lbind(shift, patch), offsets) and mapply(rbind(shoot, direction), starts): see dsl.h
 * (dsl_mapply_copies says when nothing can raise), within a bounding box small enough for a
 * bitmap of the merged items. */
#define SHIFTS_BITMAP_MAX_BITS ((int64_t)1 << 27)

/* Coordinates, colours and offsets of copies are kept far from int64's ends (sums cannot leave it). */
static inline bool copy_coord_ok(int64_t v)
{
    return v > -DSL_COPY_COORD_LIMIT && v < DSL_COPY_COORD_LIMIT;
}
/* Items in all copies, per place in their bounding box (colours included), below which the copies
 * cannot overlap much and the plain way is cheaper. */
#define SHIFTS_MIN_OVERLAP 2
/* Places in the copies' box up to which their (i, j) hashes are tabled (8 MB). */
#define SHIFTS_HASH_TABLE_MAX ((int64_t)1 << 20)

/* What hashing the items of a shifted copy needs (dsl_mapply_shifts). */
struct shift_hashes {
    bool object;
    const struct copy_item *it;
    const int64_t *pair_hash;     /* hash((i, j)) per place of the copies' box, or NULL */
    const int64_t *place;         /* item q's place in that box at the smallest offsets */
    const uint64_t *colour_lane;  /* item q's colour, hashed as a tuple's first item */
    int64_t span_j;
    int64_t dlo[2];               /* the smallest offsets */
};

/* hash(shift(patch, (di, dj))'s item q) */
static inline int64_t shifted_hash(const struct shift_hashes *sh, int64_t q, int64_t di, int64_t dj)
{
    int64_t h = sh->pair_hash != NULL ? sh->pair_hash[sh->place[q] + (di - sh->dlo[0]) * sh->span_j + (dj - sh->dlo[1])]
                                      : hash_int_pair(sh->it[q].i + di, sh->it[q].j + dj);
    return sh->object ? pair_hash_end(sh->colour_lane[q], h) : h;
}

/* merge(apply(lambda d: copy of c's items moved by d, offsets)), each copy's items added in the
 * pattern's order (the order shift() adds a patch's items, or connect() a line's): see
 * dsl_mapply_shifts. */
static bool shifted_copies_merged(const struct dsl_copies *c, val *result)
{
    const struct copy_item *it = c->item;
    int64_t n = c->n, m = c->m;
    bool object = c->object;
    const val *offsets = c->offset;
    const int64_t lo[3] = { c->lo.c, c->lo.i, c->lo.j }, hi[3] = { c->hi.c, c->hi.i, c->hi.j };
    int64_t dlo[2] = { INT64_MAX, INT64_MAX }, dhi[2] = { INT64_MIN, INT64_MIN };
    for (int64_t k = 0; k < m; k++) {
        for (int d = 0; d < 2; d++) {
            int64_t v = offsets[k].u.t->item[d].u.i;
            dlo[d] = v < dlo[d] ? v : dlo[d];
            dhi[d] = v > dhi[d] ? v : dhi[d];
        }
    }
    int64_t span_c = hi[0] - lo[0] + 1;
    int64_t span_i = hi[1] + dhi[0] - (lo[1] + dlo[0]) + 1;
    int64_t span_j = hi[2] + dhi[1] - (lo[2] + dlo[1]) + 1;
    if (span_c > SHIFTS_BITMAP_MAX_BITS || span_i > SHIFTS_BITMAP_MAX_BITS || span_j > SHIFTS_BITMAP_MAX_BITS ||
        span_c * span_i > SHIFTS_BITMAP_MAX_BITS / span_j)
        return false;
    int64_t bits = span_c * span_i * span_j;
    if ((double)m * (double)n < SHIFTS_MIN_OVERLAP * (double)bits)
        return false; /* the copies may be mostly disjoint: then each is built anyway, and
                         hashing its items first only adds work (solve_e21d9049: 6% slower) */

    /* apply(): frozenset(shift(patch, d) for d in offsets). A shifted copy is the set of its
     * items; two copies are equal exactly when their offsets are, so the offset stands for its
     * copy in a table that stores the copy's hash, computed from the items' hashes alone. The
     * hash of each position (i, j) of the copies' box is computed once, in a table (there are
     * at least SHIFTS_MIN_OVERLAP items per place), and an object's cell hash only adds its
     * colour's lane (perf: these hashes were a quarter of solve_6aa20dc0). */
    int64_t places = span_i * span_j;
    int64_t *pair_hash = NULL;
    if (places <= SHIFTS_HASH_TABLE_MAX) {
        pair_hash = dsl_alloc((size_t)places * sizeof(int64_t));
        for (int64_t pi = 0; pi < span_i; pi++) {
            for (int64_t pj = 0; pj < span_j; pj++)
                pair_hash[pi * span_j + pj] = hash_int_pair(lo[1] + dlo[0] + pi, lo[2] + dlo[1] + pj);
            DSL_TICK();
        }
    }
    int64_t *place = dsl_alloc((size_t)n * sizeof(int64_t));
    uint64_t *colour_lane = dsl_alloc((size_t)n * sizeof(uint64_t));
    for (int64_t q = 0; q < n; q++) {
        place[q] = (it[q].i - lo[1]) * span_j + (it[q].j - lo[2]);
        colour_lane[q] = pair_hash_lane(it[q].c);
    }
    const struct shift_hashes sh = { object, it, pair_hash, place, colour_lane, span_j, { dlo[0], dlo[1] } };
    struct vset *copies = set_new();
    for (int64_t k = 0; k < m; k++) {
        int64_t di = offsets[k].u.t->item[0].u.i, dj = offsets[k].u.t->item[1].u.i;
        uint64_t x = 0;
        for (int64_t q = 0; q < n; q++) {
            x ^= frozenset_hash_item(shifted_hash(&sh, q, di, dj));
            if ((q & 65535) == 65535)
                DSL_TICK();
        }
        set_add_hashed(copies, offsets[k], frozenset_hash_end(x, n));
        DSL_TICK();
    }

    /* merge(): the copies' items added in the copies' order, each copy's in its own slot order.
     * Adding an item already present changes nothing, so a copy whose items are all present (a
     * bitmap says) is skipped, and of the others only the items not yet present are made: the
     * copy itself is never built, only its layout, the slot order that shift() would give its
     * items, as a position set of item numbers (perf: building every copy and then its cells
     * was most of solve_1f0c79e5). */
    uint64_t *seen = dsl_alloc((size_t)((bits + 63) / 64) * sizeof(uint64_t));
    memset(seen, 0, (size_t)((bits + 63) / 64) * sizeof(uint64_t));
    int64_t base_i = lo[1] + dlo[0], base_j = lo[2] + dlo[1];
#define SHIFT_BIT(q, di, dj) \
    (((it[q].c - lo[0]) * span_i + (it[q].i + (di) - base_i)) * span_j + (it[q].j + (dj) - base_j))
    struct vset *merged = set_new();
    struct set_entry buf[SET_CHUNK];
    for (int64_t pos = 0, got; set_chunk(copies, &pos, buf, &got);) {
        for (int64_t k = 0; k < got; k++) {
            val d = buf[k].key;
            int64_t di = d.u.t->item[0].u.i, dj = d.u.t->item[1].u.i;
            int64_t q = 0;
            while (q < n) {
                int64_t b = SHIFT_BIT(q, di, dj);
                if (!(seen[b >> 6] >> (b & 63) & 1))
                    break;
                q++;
            }
            DSL_TICK();
            if (q == n)
                continue;
            struct pset layout; /* the copy: its items added in it[]'s order, as shift() or connect() does */
            pset_init(&layout);
            for (q = 0; q < n; q++)
                pset_add(&layout, q, shifted_hash(&sh, q, di, dj));
            struct pentry lbuf[SET_CHUNK];
            for (int64_t lpos = 0, got_l; pset_chunk(&layout, &lpos, lbuf, &got_l);) {
                for (int64_t e = 0; e < got_l; e++) {
                    int64_t p = lbuf[e].key, b = SHIFT_BIT(p, di, dj);
                    if (seen[b >> 6] >> (b & 63) & 1)
                        continue;
                    seen[b >> 6] |= (uint64_t)1 << (b & 63);
                    val item = object ? tuple_cell(v_int(it[p].c), it[p].i + di, it[p].j + dj)
                                      : tuple_ints(it[p].i + di, it[p].j + dj);
                    set_add_hashed(merged, item, lbuf[e].hash);
                }
            }
            DSL_TICK();
        }
    }
#undef SHIFT_BIT
    dsl_rt.shift_merges++;
    *result = set_freeze(merged);
    return true;
}

/* The copies of mapply(lbind(shift, patch), offsets): the patch's items in its order. */
static bool shift_copies(val patch, struct dsl_copies *c)
{
    if (patch.kind != V_SET || patch.u.s->used == 0)
        return false;
    val first = first_item(patch);
    if (first.kind != V_TUPLE || first.u.t->len != 2)
        return false; /* prim_shift raises, and which error comes first depends on the offsets */
    bool object = v_is_tuple(first.u.t->item[1]); /* as prim_shift decides */
    int64_t n;
    const val *items = val_items(patch, &n);
    struct copy_item *it = dsl_alloc((size_t)n * sizeof(*it));
    for (int64_t k = 0; k < n; k++) {
        if (object ? !is_cell(items[k]) || !is_plain_int(items[k].u.t->item[0]) : !is_int_pair(items[k]))
            return false;
        val ij = object ? items[k].u.t->item[1] : items[k];
        it[k].c = object ? items[k].u.t->item[0].u.i : 0;
        it[k].i = ij.u.t->item[0].u.i;
        it[k].j = ij.u.t->item[1].u.i;
        if (!copy_coord_ok(it[k].c) || !copy_coord_ok(it[k].i) || !copy_coord_ok(it[k].j))
            return false;
    }
    c->item = it;
    c->n = n;
    c->object = object;
    return true;
}

/* The lines of mapply(rbind(shoot, direction), starts): shoot(start, d) is connect(start,
 * start + 42 d), that is the line connect((0, 0), 42 d) moved by start, its items added in the
 * same order (connect's shape depends only on the difference of its points). No line when the
 * direction is neither straight nor diagonal: every shoot() is then empty. */
static bool shoot_copies(val direction, struct dsl_copies *c)
{
    if (!is_int_pair(direction))
        return false;
    int64_t di = direction.u.t->item[0].u.i, dj = direction.u.t->item[1].u.i;
    if (!copy_coord_ok(di) || !copy_coord_ok(dj) || !copy_coord_ok(64 * di) || !copy_coord_ok(64 * dj))
        return false;
    struct line_shape l;
    c->object = false;
    c->n = 0;
    c->item = NULL;
    if (!dsl_line_shape(0, 0, 42 * di, 42 * dj, &l))
        return true;
    struct copy_item *it = dsl_alloc((size_t)l.n * sizeof(*it));
    for (int64_t k = 0; k < l.n; k++)
        it[k] = (struct copy_item){ 0, l.i0 + l.di * k, l.j0 + l.dj * k };
    c->item = it;
    c->n = l.n;
    return true;
}

bool dsl_mapply_copies(val function, val container, struct dsl_copies *c)
{
    if (function.kind != V_FUNC || container.kind != V_SET || container.u.s->used == 0)
        return false;
    const struct vfunc *f = function.u.f;
    if (f->arity != 1 || f->a.kind != V_FUNC || f->a.u.f->kind != F_PRIM)
        return false;
    bool shift = f->kind == F_LBIND && f->a.u.f->prim == PRIM_shift;
    bool shoot = f->kind == F_RBIND && f->a.u.f->prim == PRIM_shoot;
    if (!(shift ? shift_copies(f->b, c) : shoot && shoot_copies(f->b, c)))
        return false;
    c->lo = (struct copy_item){ INT64_MAX, INT64_MAX, INT64_MAX };
    c->hi = (struct copy_item){ INT64_MIN, INT64_MIN, INT64_MIN };
    for (int64_t k = 0; k < c->n; k++) {
        const struct copy_item *q = &c->item[k];
        c->lo = (struct copy_item){ q->c < c->lo.c ? q->c : c->lo.c, q->i < c->lo.i ? q->i : c->lo.i,
                                    q->j < c->lo.j ? q->j : c->lo.j };
        c->hi = (struct copy_item){ q->c > c->hi.c ? q->c : c->hi.c, q->i > c->hi.i ? q->i : c->hi.i,
                                    q->j > c->hi.j ? q->j : c->hi.j };
    }
    c->offset = val_items(container, &c->m);
    for (int64_t k = 0; k < c->m; k++) {
        if (!is_int_pair(c->offset[k]) || !copy_coord_ok(c->offset[k].u.t->item[0].u.i) ||
            !copy_coord_ok(c->offset[k].u.t->item[1].u.i))
            return false; /* shift or shoot raises, or may leave int64 */
    }
    return true;
}

bool dsl_mapply_shifts(val function, val container, val *result)
{
    struct dsl_copies c;
    if (!dsl_mapply_copies(function, container, &c))
        return false;
    if (c.n == 0) {
        *result = set_empty(); /* every line is empty */
        return true;
    }
    return shifted_copies_merged(&c, result);
}

val prim_normalize(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return patch;
    val up = py_neg(prim_uppermost(a));
    val left = py_neg(prim_leftmost(a));
    val args[2] = { patch, tuple_pair(up, left) };
    return prim_shift(args);
}

/* ------------------------------------------------------------------------------------------
 * Neighbourhoods
 * ------------------------------------------------------------------------------------------ */

/* loc[0] and loc[1] of a location, with Python's evaluation order for the displays below:
 * loc[0] is read and used in arithmetic before loc[1] is read. */
static void loc_parts(val loc, val *i, val *j)
{
    *i = val_index(loc, 0);
    if (!v_is_int(*i))
        raise_operands("-", *i, v_int(1));
    *j = val_index(loc, 1);
    if (!v_is_int(*j))
        raise_operands("-", *j, v_int(1));
}

/* loc[k] + off: the item itself when off is 0 (Python reuses loc[k], a bool stays a bool). */
static val offset_part(val x, int off)
{
    return off == 0 ? x : v_int(int_add(x.u.i, off));
}

/* frozenset({p0, p1, p2, p3}) of four offsets around (i, j): a set display, then a copy. */
static val four_around(val i, val j, const int8_t off[4][2])
{
    struct vset *s = set_new();
    for (int k = 0; k < 4; k++) {
        val pi = offset_part(i, off[k][0]);
        val pj = offset_part(j, off[k][1]);
        set_add(s, tuple_pair(pi, pj));
    }
    return set_freeze_copy(s);
}

static const int8_t DIRECT_OFFSETS[4][2] = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } };
static const int8_t DIAGONAL_OFFSETS[4][2] = { { -1, -1 }, { -1, 1 }, { 1, -1 }, { 1, 1 } };

val prim_dneighbors(const val *a)
{
    val i, j;
    loc_parts(a[0], &i, &j);
    return four_around(i, j, DIRECT_OFFSETS);
}

val prim_ineighbors(const val *a)
{
    val i, j;
    loc_parts(a[0], &i, &j);
    return four_around(i, j, DIAGONAL_OFFSETS);
}

val prim_neighbors(const val *a)
{
    val i, j;
    loc_parts(a[0], &i, &j);
    val d = four_around(i, j, DIRECT_OFFSETS);
    val n = four_around(i, j, DIAGONAL_OFFSETS);
    return set_freeze(set_or(d.u.s, n));
}

/* ------------------------------------------------------------------------------------------
 * objects
 *
 * dsl.py's objects() runs a breadth-first search with Python sets of positions: unvisited
 * (asindices), occupied, cands, neighborhood and one set comprehension per candidate over
 * diagfun(cand). Their iteration orders decide the order in which cells enter each object
 * (hence the cell order of every object) and the order in which objects are found (hence the
 * order of the result). Only the published sets (each object and the result) must be real
 * values; the position sets are reproduced as "position sets" (above) over integer keys, with
 * the hash of the tuple (i, j). `occupied` is only ever asked for membership and its size
 * (x in occupied, neighborhood - occupied), so it is a bitmap and a count.
 * ------------------------------------------------------------------------------------------ */

/* Position keys: (i + 1) * (w + 2) + (j + 1), so that the ring of neighbours just outside the
 * grid (which diagfun() produces) has keys too. */
struct near_list;
struct objects_run {
    val grid;
    int64_t h, w, stride;
    bool univalued, diagonal;
    val bg;
    int64_t *hash;           /* per key: hash((i, j)) */
    uint8_t *inside;         /* per key: 0 <= i < h and 0 <= j < w */
    uint8_t *occupied;       /* per key */
    int64_t occupied_count;
    val *pos;                /* per key: the shared tuple (i, j), made on first use */
    struct near_list *near;  /* per key: neighbourhood_of's set (n NEAR_UNKNOWN until asked
                                for), or NULL (computed each time then) */
};

static inline int64_t key_of(const struct objects_run *r, int64_t i, int64_t j)
{
    return (i + 1) * r->stride + (j + 1);
}

static inline int64_t key_row(const struct objects_run *r, int64_t key) { return key / r->stride - 1; }
static inline int64_t key_col(const struct objects_run *r, int64_t key) { return key % r->stride - 1; }

/* Per-key facts: looked up in the per-key tables, or computed where a big grid has none. */
static inline int64_t key_hash(const struct objects_run *r, int64_t key)
{
    return r->hash != NULL ? r->hash[key] : hash_int_pair(key_row(r, key), key_col(r, key));
}

static inline bool key_inside(const struct objects_run *r, int64_t key)
{
    if (r->inside != NULL)
        return r->inside[key];
    int64_t i = key_row(r, key), j = key_col(r, key);
    return i >= 0 && i < r->h && j >= 0 && j < r->w;
}

static void pset_add_pos(struct pset *s, const struct objects_run *r, int64_t i, int64_t j)
{
    int64_t key = key_of(r, i, j);
    pset_add(s, key, r->hash[key]);
}

static val pos_tuple(struct objects_run *r, int64_t key)
{
    if (r->pos == NULL)
        return tuple_ints(key_row(r, key), key_col(r, key));
    if (r->pos[key].kind == V_NONE)
        r->pos[key] = tuple_ints(key_row(r, key), key_col(r, key));
    return r->pos[key];
}

/* The object cell (v, (i, j)) of the position key: straight from the cell pool when it holds
 * it (perf: the pair (i, j) is not loaded to find it). */
static inline val cell_of(struct objects_run *r, val v, int64_t key)
{
    if (v.kind == V_INT)
        return tuple_cell(v, key_row(r, key), key_col(r, key));
    return tuple_pair(v, pos_tuple(r, key));
}

/* grid[i][j] for 0 <= i < h, 0 <= j < w (rows may be ragged or not tuples at all). */
static inline val grid_cell(const struct objects_run *r, int64_t key)
{
    int64_t i = key_row(r, key), j = key_col(r, key);
    val row = r->grid.u.t->item[i];
    if (row.kind == V_TUPLE && j < row.u.t->len)
        return row.u.t->item[j];
    return val_index(row, j);
}

/* The small sets of one candidate (diagfun's displays, their union, the comprehension): at most
 * 8 distinct keys in a table of 8 or 32 slots, with a bitmap of the used slots. With distinct
 * keys and no dummies, CPython's add probes exactly like set_insert_clean, so adding is placing
 * plus the resize check. */
struct tiny {
    uint64_t mask;
    uint32_t bits;
    int n;
    int64_t key[32], hash[32];
};

static void tiny_init(struct tiny *t)
{
    t->mask = 7;
    t->bits = 0;
    t->n = 0;
}

static void tiny_place(struct tiny *t, int64_t key, int64_t hash)
{
    uint64_t perturb = (uint64_t)hash, mask = t->mask;
    uint64_t i = (uint64_t)hash & mask;
    for (;;) {
        if (!(t->bits >> i & 1))
            goto put;
        if (i + PS_LINEAR_PROBES <= mask) {
            for (int j = 1; j <= PS_LINEAR_PROBES; j++) {
                if (!(t->bits >> (i + j) & 1)) {
                    i += (uint64_t)j;
                    goto put;
                }
            }
        }
        perturb >>= PS_PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
put:
    t->bits |= (uint32_t)1 << i;
    t->key[i] = key;
    t->hash[i] = hash;
}

/* set_table_resize to the smallest power of two above minused (at most 32 here). */
static void tiny_resize(struct tiny *t, int64_t minused)
{
    uint64_t newsize = 8;
    while ((int64_t)newsize <= minused)
        newsize <<= 1;
    int64_t keys[32], hashes[32];
    int n = 0;
    for (uint32_t b = t->bits; b; b &= b - 1) {
        int i = __builtin_ctz(b);
        keys[n] = t->key[i];
        hashes[n++] = t->hash[i];
    }
    t->mask = newsize - 1;
    t->bits = 0;
    for (int k = 0; k < n; k++)
        tiny_place(t, keys[k], hashes[k]);
}

/* set_add_entry of a key known to be absent. */
static void tiny_add_new(struct tiny *t, int64_t key, int64_t hash)
{
    uint64_t mask = t->mask;
    tiny_place(t, key, hash);
    t->n++;
    if ((uint64_t)t->n * 5 >= mask * 3)
        tiny_resize(t, (int64_t)t->n * 4);
}

static void tiny_add_pos(struct tiny *t, const struct objects_run *r, int64_t i, int64_t j)
{
    int64_t key = key_of(r, i, j);
    tiny_add_new(t, key, key_hash(r, key));
}

/* {(i, j) for i, j in diagfun(cand) if 0 <= i < h and 0 <= j < w}, built into near: diagfun
 * is dneighbors (a 4-item display copied into a frozenset: the copy keeps the 8-slot table
 * as it is) or neighbors (dneighbors(loc) | ineighbors(loc): the copy of the first grows to 32
 * slots for the merge, re-placing its keys in slot order, then the second's keys are added). */
static void neighbourhood_of(const struct objects_run *r, int64_t key, struct tiny *near)
{
    int64_t i = key_row(r, key), j = key_col(r, key);
    struct tiny around, diag;
    tiny_init(&around);
    tiny_add_pos(&around, r, i - 1, j);
    tiny_add_pos(&around, r, i + 1, j);
    tiny_add_pos(&around, r, i, j - 1);
    tiny_add_pos(&around, r, i, j + 1);
    if (r->diagonal) {
        tiny_init(&diag);
        tiny_add_pos(&diag, r, i - 1, j - 1);
        tiny_add_pos(&diag, r, i - 1, j + 1);
        tiny_add_pos(&diag, r, i + 1, j - 1);
        tiny_add_pos(&diag, r, i + 1, j + 1);
        tiny_resize(&around, (4 + 4) * 2);
        for (uint32_t b = diag.bits; b; b &= b - 1) {
            int k = __builtin_ctz(b);
            tiny_add_new(&around, diag.key[k], diag.hash[k]);
        }
    }
    tiny_init(near);
    for (uint32_t b = around.bits; b; b &= b - 1) {
        int k = __builtin_ctz(b);
        if (key_inside(r, around.key[k]))
            tiny_add_new(near, around.key[k], around.hash[k]);
    }
}

/* neighbourhood_of's set for a position: its keys in slot order with their slots, and the size
 * of its table. It depends on the grid's shape and the diagonal flag alone, so cached shapes
 * keep it per key (perf: building the small sets of every cell anew was a quarter of objects()
 * on the training inputs). */
#define NEAR_UNKNOWN 0xff
struct near_list {
    uint8_t n;
    uint8_t mask;
    uint8_t slot[8];
    int64_t key[8]; /* keys as wide as objects_run's: a big grid's pass the 32-bit range */
};

static void near_list_of(const struct objects_run *r, int64_t key, struct near_list *out)
{
    struct tiny near;
    neighbourhood_of(r, key, &near);
    out->n = 0;
    out->mask = (uint8_t)near.mask;
    for (uint32_t b = near.bits; b; b &= b - 1) {
        int k = __builtin_ctz(b);
        out->slot[out->n] = (uint8_t)k;
        out->key[out->n++] = near.key[k];
    }
}

/* set_merge(s, t) with t a tiny set without dummies, given as its near_list. */
static void pset_merge_near(struct pset *s, const struct objects_run *r, const struct near_list *t)
{
    if (t->n == 0)
        return;
    if ((s->fill + t->n) * 5 >= s->mask * 3)
        pset_resize(s, (s->used + t->n) * 2);
    if (s->fill == 0) {
        bool same_size = (uint64_t)s->mask == t->mask;
        s->fill = s->used = t->n;
        for (int k = 0; k < t->n; k++) {
            int64_t key = t->key[k];
            if (same_size) {
                s->table[t->slot[k]].key = key;
                s->table[t->slot[k]].hash = key_hash(r, key);
            } else {
                pset_insert_clean(s->table, (uint64_t)s->mask, key, key_hash(r, key));
            }
        }
        return;
    }
    for (int k = 0; k < t->n; k++)
        pset_add(s, t->key[k], key_hash(r, t->key[k]));
}

/* cands = neighborhood - occupied (set_difference: copy-and-discard when the left side is
 * more than four times larger, else a fresh set of the survivors). */
static struct pset *minus_occupied(const struct objects_run *r, const struct pset *a)
{
    if ((a->used >> 2) > r->occupied_count) {
        struct pset *c = pset_copy(a);
        for (int64_t k = 0; k <= c->mask; k++) {
            struct pentry *e = &c->table[k];
            if (pslot_active(e) && r->occupied[e->key]) {
                e->key = PS_DUMMY_KEY;
                e->hash = -1;
                c->used--;
            }
        }
        if ((uint64_t)(c->fill - c->used) > (uint64_t)c->mask / 4)
            pset_resize(c, c->used > 50000 ? c->used * 2 : c->used * 4);
        return c;
    }
    struct pset *c = pset_new();
    struct pentry buf[SET_CHUNK];
    for (int64_t pos = 0, n; pset_chunk(a, &pos, buf, &n);)
        for (int64_t k = 0; k < n; k++)
            if (!r->occupied[buf[k].key])
                pset_add(c, buf[k].key, buf[k].hash);
    return c;
}

/* One object grown from the position `start` by dsl.py's breadth-first loop. */
static val grow_object(struct objects_run *r, int64_t start, val colour)
{
    struct vset *obj = set_new();
    set_add(obj, cell_of(r, colour, start));
    struct pset *cands = pset_new();
    pset_add(cands, start, key_hash(r, start));
    struct near_list near; /* when r keeps none */
    while (cands->used > 0) {
        struct pset *neighbourhood = pset_new();
        struct pentry buf[SET_CHUNK];
        for (int64_t pos = 0, n; pset_chunk(cands, &pos, buf, &n);) {
            /* perf: the chunk's cells fetched from the cell pool at once, not one miss after
             * another (those misses were 20% of solve_469497ad, whose objects() run on upscaled
             * grids; it is 13% faster) */
            for (int64_t k = 0; k < n; k++) {
                int64_t i = key_row(r, buf[k].key), j = key_col(r, buf[k].key);
                val row = r->grid.u.t->item[i];
                if (row.kind == V_TUPLE && j < row.u.t->len) /* (what grid_cell raises, it raises below) */
                    tuple_cell_prefetch(row.u.t->item[j], i, j);
            }
            for (int64_t k = 0; k < n; k++) {
                int64_t key = buf[k].key;
                val v = grid_cell(r, key);
                bool joins = r->univalued ? val_eq_fast(colour, v) : !val_eq_fast(v, r->bg);
                if (!joins)
                    continue;
                set_add(obj, cell_of(r, v, key));
                if (!r->occupied[key]) {
                    r->occupied[key] = 1;
                    r->occupied_count++;
                }
                struct near_list *nl = r->near != NULL ? &r->near[key] : &near;
                if (r->near == NULL || nl->n == NEAR_UNKNOWN)
                    near_list_of(r, key, nl);
                pset_merge_near(neighbourhood, r, nl);
                DSL_TICK();
            }
        }
        cands = minus_occupied(r, neighbourhood);
    }
    return set_freeze_copy(obj);
}

/* Whether grid is h rows of w cells (a rectangle: no cell lookup can raise) all equal to bg:
 * then objects() visits every cell and skips each one. */
static bool no_object_cell(val grid, int64_t h, int64_t w, val bg)
{
    for (int64_t i = 0; i < h; i++) {
        val row = grid.u.t->item[i];
        if (row.kind != V_TUPLE || row.u.t->len != w)
            return false;
        for (int64_t j = 0; j < w; j++)
            if (!val_eq_fast(row.u.t->item[j], bg))
                return false;
        DSL_TICK();
    }
    return true;
}

/* ---- objects() of a big grid
 * solve_91413438 pads a 3 x 3 input to 3 x 3z^2 cells (z its count of zeros: on the inputs of
 * other tasks up to 6.5 million cells). For 5.7 million cells, the per-key tables above (26 bytes
 * a key) and 16-byte slots for asindices' tables (every resize's included) were 780 MB of arena,
 * most of the call's time going to page faults and cache misses. For a rectangular grid of more
 * than OBJECTS_BIG_CELLS cells, asindices(grid) is simulated in tables of 4-byte slots holding
 * the packed position (i << jbits | j) with a bitmap of the taken slots (probing reads only that),
 * the hashes recomputed when a table grows; the object starts are looked up in a bitmap of the
 * cells that differ from bg; per-key hashes, "inside" flags and tuples are computed when asked
 * for; only `occupied` stays a per-key byte table: 150 MB in all (computed from the table sizes).
 * Measured (session 5, peak RSS of solve_91413438 over all inputs of a task, this path against
 * OBJECTS_BIG_CELLS raised past every grid): 1f85a75f (6.5 million cells) 668 MB against
 * 1,352 MB, 83302e8f (3.7 million) 321 MB against 699 MB, 6b9890af (2.9 million) 212 MB
 * against 486 MB; the grids themselves are in both. */
#define OBJECTS_BIG_CELLS ((int64_t)1 << 16)
/* The object starts (cells != bg) are visited in asindices' order either by a pass over its whole
 * final table, or, when they are at most one per OBJECTS_FIND_RATIO slots, by recording each
 * with its slot as the final table is filled and sorting them by slot (solve_91413438: at most
 * 90 starts among up to 6.5 million cells, in a table of 16 million slots). */
#define OBJECTS_FIND_RATIO 64

static int64_t objects_big_cells = OBJECTS_BIG_CELLS;
static int64_t objects_find_ratio = OBJECTS_FIND_RATIO;
static bool objects_try_any_order = true;
static bool objects_mid_allowed = true;

void dsl_debug_objects_big(int64_t cells, int64_t find_ratio, bool any_order)
{
    objects_big_cells = cells > 0 ? cells : OBJECTS_BIG_CELLS;
    objects_find_ratio = find_ratio >= 0 ? find_ratio : OBJECTS_FIND_RATIO;
    objects_try_any_order = any_order;
}

void dsl_debug_objects_mid(bool big_when_few_starts)
{
    objects_mid_allowed = big_when_few_starts;
}

struct big_start {
    uint64_t slot;
    uint32_t p;
};

struct big_unvisited {
    uint32_t *slot;          /* packed position where `taken` has the bit; NULL in the last
                                table when the starts are recorded instead (below) */
    uint64_t *taken;         /* a bit per slot: probing reads these 2 MB, not the slots' 64 */
    uint64_t mask;
    int64_t fill;            /* == used: only adds, no dummies */
    int jbits;
    const uint64_t *row_lane; /* per row i: pair_hash_lane(i), shared by the row's keys */
    /* Recording the starts: the table of final_size slots (the last) keeps no positions; each
     * object start (a bit of starts, cell index i * w + j) placed in it is listed in found with
     * its slot. starts NULL: every table keeps its positions. */
    const uint64_t *starts;
    uint64_t final_size;
    int64_t w;
    struct big_start *found;
    int64_t nfound, found_cap;
};

/* hash((i, j)) from the row's lane (j >= 0 and below 2^31: its own hash; perf, int_hash's tests
 * cost solve_91413438 2%) */
static inline int64_t row_hash(const uint64_t *row_lane, int64_t i, int64_t j)
{
    return pair_hash_end(row_lane[i], j);
}

static inline int64_t packed_hash(const struct big_unvisited *u, uint32_t p)
{
    return row_hash(u->row_lane, (int64_t)(p >> u->jbits), (int64_t)(p & (((uint32_t)1 << u->jbits) - 1)));
}

static inline bool big_taken(const uint64_t *taken, uint64_t i)
{
    return taken[i >> 6] >> (i & 63) & 1;
}

/* CPython's probe sequence from hash's home slot (linear probes, then perturbation): the first
 * slot not taken. */
static inline uint64_t big_probe(const struct big_unvisited *u, int64_t hash)
{
    uint64_t mask = u->mask, perturb = (uint64_t)hash;
    uint64_t i = (uint64_t)hash & mask;
    for (;;) {
        if (!big_taken(u->taken, i)) /* the common case first (perf: 6% of solve_91413438) */
            return i;
        if (i + PS_LINEAR_PROBES <= mask) {
            for (uint64_t s = i + 1; s <= i + PS_LINEAR_PROBES; s++)
                if (!big_taken(u->taken, s))
                    return s;
        }
        perturb >>= PS_PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

/* set_insert_clean; also set_add_entry of a key known absent, as keys here are distinct and
 * there are no dummies: both take the first empty slot of the probe sequence. */
static inline void big_place(struct big_unvisited *u, uint32_t p, int64_t hash)
{
    uint64_t i = big_probe(u, hash);
    u->taken[i >> 6] |= (uint64_t)1 << (i & 63);
    u->slot[i] = p;
}

/* big_place in the last table when the starts are recorded: cell index c (i * w + j) of p. */
static inline void big_place_recording(struct big_unvisited *u, uint32_t p, int64_t hash, int64_t c)
{
    uint64_t i = big_probe(u, hash);
    u->taken[i >> 6] |= (uint64_t)1 << (i & 63);
    if ((u->starts[c >> 6] >> (c & 63) & 1) && u->nfound < u->found_cap) {
        u->found[u->nfound].slot = i;
        u->found[u->nfound++].p = p;
    }
}

/* The size of asindices' table once n distinct positions are in it: CPython's resizes, from 8
 * slots, each when an add makes fill * 5 >= mask * 3. */
static uint64_t big_final_size(int64_t n)
{
    uint64_t size = 8;
    for (;;) {
        int64_t fill = (int64_t)(((size - 1) * 3 + 4) / 5); /* the first fill that resizes */
        if (fill > n)
            return size;
        int64_t minused = fill > 50000 ? fill * 2 : fill * 4;
        size = 8;
        while ((int64_t)size <= minused)
            size <<= 1;
    }
}

/* An empty table of size slots (a power of two, at least 8). */
static void big_table(struct big_unvisited *u, uint64_t size)
{
    uint64_t words = (size + 63) / 64;
    bool recording = u->starts != NULL && size == u->final_size;
    u->slot = recording ? NULL : dsl_alloc((size_t)size * sizeof(uint32_t));
    u->taken = dsl_alloc((size_t)words * sizeof(uint64_t));
    dsl_fill(u->taken, 0, (size_t)words * sizeof(uint64_t));
    u->mask = size - 1;
}

/* Whether the last table (recording) holds every object start: a key never moves once placed
 * until the next resize, and the last table has none, so the keys still to come (re-placed or
 * added later) cannot change any start's slot: the rest of the simulation is skipped (perf:
 * solve_91413438's starts lie in the first 30 columns of its 3 rows, so its last row's
 * 2 million padding positions, at least, were placed at random for nothing). */
static inline bool big_all_starts_placed(const struct big_unvisited *u)
{
    return u->slot == NULL && u->nfound == u->found_cap;
}

/* set_table_resize: re-placed in old slot order. */
static void big_resize(struct big_unvisited *u, int64_t minused)
{
    uint64_t newsize = 8;
    while ((int64_t)newsize <= minused)
        newsize <<= 1;
    struct big_unvisited old = *u;
    big_table(u, newsize);
    uint32_t jmask = ((uint32_t)1 << u->jbits) - 1;
    for (uint64_t w = 0; w <= old.mask >> 6; w++) {
        for (uint64_t bits = old.taken[w]; bits != 0; bits &= bits - 1) {
            uint32_t p = old.slot[w * 64 + (uint64_t)__builtin_ctzll(bits)];
            if (u->slot != NULL)
                big_place(u, p, packed_hash(u, p));
            else
                big_place_recording(u, p, packed_hash(u, p), (int64_t)(p >> u->jbits) * u->w + (p & jmask));
        }
        if (big_all_starts_placed(u))
            return;
        if ((w & 255) == 255)
            DSL_TICK();
    }
}

/* unvisited = asindices(grid): frozenset((i, j) for i in range(h) for j in range(w)), added in
 * that order to a set that starts with 8 slots and grows as CPython's does. The hash of the
 * position BIG_AHEAD places on is computed early and its first slot fetched (perf: that bitmap
 * word and slot are a cache miss each in a table of megabytes). With starts (a bit per cell that
 * starts an object), the last table (final_size slots: big_final_size) records them with their
 * slots in u->found (n_starts of them) instead of keeping every position (perf: its 64 MB of
 * slots for solve_91413438's 6.5 million cells were written at random and never read but for
 * those few starts). */
#define BIG_AHEAD 16 /* a power of two */
static void big_asindices(struct big_unvisited *u, int64_t h, int64_t w, const uint64_t *starts, int64_t n_starts,
                          uint64_t final_size)
{
    u->starts = starts;
    u->w = w;
    u->nfound = 0;
    u->found_cap = n_starts;
    u->found = NULL;
    u->final_size = final_size;
    if (starts != NULL)
        u->found = dsl_alloc((size_t)(n_starts > 0 ? n_starts : 1) * sizeof(*u->found));
    uint64_t *row_lane = dsl_alloc((size_t)h * sizeof(uint64_t));
    for (int64_t r = 0; r < h; r++)
        row_lane[r] = pair_hash_lane(r);
    u->row_lane = row_lane;
    big_table(u, 8);
    u->fill = 0;
    int64_t n = h * w, ahead_i = 0, ahead_j = 0, i = 0, j = 0;
    int64_t hashes[BIG_AHEAD]; /* of positions k .. k + BIG_AHEAD - 1 */
    for (int64_t k = 0; k < BIG_AHEAD && k < n; k++) {
        hashes[k] = row_hash(row_lane, ahead_i, ahead_j);
        if (++ahead_j == w) {
            ahead_j = 0;
            ahead_i++;
        }
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t hash = hashes[k & (BIG_AHEAD - 1)];
        if (k + BIG_AHEAD < n) {
            int64_t next = row_hash(row_lane, ahead_i, ahead_j);
            uint64_t at = (uint64_t)next & u->mask;
            hashes[k & (BIG_AHEAD - 1)] = next;
            __builtin_prefetch(&u->taken[at >> 6], 1);
            if (u->slot != NULL)
                __builtin_prefetch(&u->slot[at], 1);
            if (++ahead_j == w) {
                ahead_j = 0;
                ahead_i++;
            }
        }
        if (u->slot != NULL)
            big_place(u, (uint32_t)i << u->jbits | (uint32_t)j, hash);
        else
            big_place_recording(u, (uint32_t)i << u->jbits | (uint32_t)j, hash, k);
        u->fill++;
        if ((uint64_t)u->fill * 5 >= u->mask * 3)
            big_resize(u, u->fill > 50000 ? u->fill * 2 : u->fill * 4);
        if (big_all_starts_placed(u))
            break;
        if (++j == w) {
            j = 0;
            i++;
        }
        if ((k & 4095) == 4095)
            DSL_TICK();
    }
}

static int bits_for(int64_t n) /* bits to write 0 .. n - 1 (n >= 1) */
{
    int b = 0;
    while (b < 62 && ((int64_t)1 << b) < n)
        b++;
    return b;
}

/* Whether every row is a tuple of w cells (then no cell lookup can raise). */
static bool grid_is_rectangle(val grid, int64_t h, int64_t w)
{
    for (int64_t i = 0; i < h; i++) {
        val row = grid.u.t->item[i];
        if (row.kind != V_TUPLE || row.u.t->len != w)
            return false;
    }
    return true;
}

static int big_start_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct big_start *)a)->slot, y = ((const struct big_start *)b)->slot;
    return x < y ? -1 : x > y;
}

/* The loop of objects() over unvisited when the object starts are few (OBJECTS_FIND_RATIO) and
 * were recorded with their slots in asindices' last table: visited in slot order, which is
 * unvisited's order. */
static void objects_big_by_slot(struct objects_run *r, struct big_unvisited *u, struct vset *objs)
{
    qsort(u->found, (size_t)u->nfound, sizeof(*u->found), big_start_cmp);
    uint32_t jmask = ((uint32_t)1 << u->jbits) - 1;
    for (int64_t k = 0; k < u->nfound; k++) {
        int64_t i = u->found[k].p >> u->jbits, j = u->found[k].p & jmask;
        int64_t key = key_of(r, i, j);
        if (r->occupied[key])
            continue;
        set_add(objs, grow_object(r, key, r->grid.u.t->item[i].u.t->item[j]));
        DSL_TICK();
    }
}

/* ---- objects() of a big grid, in any order
 * unvisited's order decides two things only: which cell of each object is found first (hence the
 * order in which its cells enter the object's set, through the search and through
 * len(occupied), which picks set_difference's way), and the order in which the objects enter
 * the result. A set whose every item sits in its home slot (hash & mask) has that table whatever
 * order its items came in: no item ever probed past a slot another one took, and the table's
 * size depends on the count alone. So the objects are grown from their starts in row-major order;
 * when every object and the result (as returned: the frozen copies) have every item at home, that
 * is the answer, and asindices' table is never built. Otherwise it is thrown away (occupied
 * cleared) and the table simulated. On solve_91413438's 520 big-grid calls (the whole sweep) that
 * holds for 238 calls, 39% of their cells. */
#define OBJECTS_ANY_ORDER_MAX 16    /* objects: with more, the result rarely has all at home */
#define OBJECTS_ANY_ORDER_CELLS 256 /* cells != bg: with more, some object rarely has all at home,
                                       and growing it is work thrown away */

static bool set_all_at_home(const struct vset *s)
{
    for (int64_t i = 0; i <= s->mask; i++)
        if (s->table[i].key.kind < V_EMPTY_SLOT && (s->table[i].hash & s->mask) != i)
            return false;
    return true;
}

static bool objects_any_order(struct objects_run *r, const uint64_t *starts, int64_t nstarts, struct vset *objs)
{
    if (!objects_try_any_order || nstarts == 0 || nstarts > OBJECTS_ANY_ORDER_CELLS)
        return false;
    val found[OBJECTS_ANY_ORDER_MAX];
    int nfound = 0;
    struct vset *order_free = set_new();
    bool any_order = true;
    for (int64_t w = 0; w < (r->h * r->w + 63) / 64 && any_order; w++) {
        for (uint64_t bits = starts[w]; bits != 0 && any_order; bits &= bits - 1) {
            int64_t c = w * 64 + __builtin_ctzll(bits), i = c / r->w, j = c % r->w;
            int64_t key = key_of(r, i, j);
            if (r->occupied[key])
                continue;
            val obj = grow_object(r, key, r->grid.u.t->item[i].u.t->item[j]);
            DSL_TICK();
            if (nfound == OBJECTS_ANY_ORDER_MAX || !set_all_at_home(obj.u.s)) {
                any_order = false;
                break;
            }
            found[nfound++] = obj;
            set_add(order_free, obj);
        }
    }
    if (any_order && set_all_at_home(set_freeze_copy(order_free).u.s)) {
        for (int k = 0; k < nfound; k++)
            set_add(objs, found[k]);
        dsl_rt.objects_any_order++;
        return true;
    }
    r->occupied = dsl_alloc_zeroed((size_t)((r->h + 2) * r->stride)); /* a fresh one: cleared */
    r->occupied_count = 0;
    return false;
}

/* The loop of objects() over unvisited for a big rectangular grid; false (nothing done) when
 * positions do not fit the packed 31 bits. differs: the cells != bg (a bit per cell, row-major)
 * when big_grid_mostcolor found them, else NULL. */
static bool objects_big(struct objects_run *r, struct vset *objs, uint64_t *differs)
{
    struct big_unvisited u;
    u.jbits = bits_for(r->w);
    if (u.jbits == 0)
        u.jbits = 1;
    if (bits_for(r->h) + u.jbits > 31)
        return false;
    int64_t cells = r->h * r->w;
    uint64_t *starts = differs; /* cells != bg */
    if (starts == NULL) {
        starts = dsl_alloc((size_t)((cells + 63) / 64) * sizeof(uint64_t));
        dsl_fill(starts, 0, (size_t)((cells + 63) / 64) * sizeof(uint64_t));
        for (int64_t i = 0; i < r->h; i++) {
            const val *row = r->grid.u.t->item[i].u.t->item;
            for (int64_t j = 0; j < r->w; j++)
                if (!val_eq_fast(row[j], r->bg))
                    starts[(i * r->w + j) >> 6] |= (uint64_t)1 << ((i * r->w + j) & 63);
            DSL_TICK();
        }
    }
    int64_t keys = (r->h + 2) * r->stride;
    r->occupied = dsl_alloc_zeroed((size_t)keys);
    int64_t nstarts = 0;
    for (int64_t w = 0; w < (cells + 63) / 64; w++)
        nstarts += __builtin_popcountll(starts[w]);
    if (objects_any_order(r, starts, nstarts, objs))
        return true;
    uint64_t final_size = big_final_size(cells);
    bool few_starts = nstarts > 0 && (uint64_t)nstarts * (uint64_t)objects_find_ratio <= final_size;
    big_asindices(&u, r->h, r->w, few_starts ? starts : NULL, nstarts, final_size);
    if (few_starts) {
        if (u.nfound != nstarts || u.mask + 1 != u.final_size)
            dsl_raise(EXC_RUNTIME, "objects: %lld of %lld object starts placed in a table of %llu slots"
                      " (internal error)", (long long)u.nfound, (long long)nstarts,
                      (unsigned long long)(u.mask + 1));
        objects_big_by_slot(r, &u, objs);
        return true;
    }
    uint32_t jmask = ((uint32_t)1 << u.jbits) - 1;
    for (uint64_t k = 0; k <= u.mask; k++) {
        if ((k & 16383) == 16383)
            DSL_TICK();
        if (!big_taken(u.taken, k))
            continue;
        uint32_t p = u.slot[k];
        int64_t i = p >> u.jbits, j = p & jmask, c = i * r->w + j;
        if (!(starts[c >> 6] >> (c & 63) & 1))
            continue; /* == bg (the occupied test first in dsl.py: neither raises) */
        int64_t key = key_of(r, i, j);
        if (r->occupied[key])
            continue;
        set_add(objs, grow_object(r, key, r->grid.u.t->item[i].u.t->item[j]));
    }
    return true;
}

/* ---- facts that depend only on the grid's shape (h, w): per-key hashes, "inside" flags and
 * (i, j) tuples, and the iteration order of asindices(grid). Computed per call they cost half of
 * an objects() call on a 30 x 30 grid (1,024 hashes, a 900-key table built through 4 resizes);
 * the last SHAPE_CACHE shapes up to SHAPE_CACHE_SIDE square keep them for the process's life,
 * outside the arena (they are pure functions of (h, w), so reusing them changes no result). */
#define SHAPE_CACHE 16
#define SHAPE_CACHE_SIDE 64 /* keys -1 .. 64 in both coordinates: their tuples are interned */

struct objects_order {
    const int32_t *key; /* the keys of asindices(grid), in CPython's iteration order */
    int64_t n;
};

struct shape_facts {
    int64_t h, w;       /* 0 x 0: unused */
    int64_t *hash;
    uint8_t *inside;
    val *pos;
    int32_t *order;
    struct near_list *near[2]; /* per key, for diagonal false and true: made on first use */
};

/* The near_lists of the cached shape f, for r->diagonal, each made when first asked for (NULL:
 * out of memory). */
static struct near_list *shape_near(struct shape_facts *f, const struct objects_run *r)
{
    struct near_list **near = &f->near[r->diagonal ? 1 : 0];
    if (*near == NULL) {
        size_t bytes = (size_t)((r->h + 2) * r->stride) * sizeof(struct near_list);
        *near = malloc(bytes);
        if (*near != NULL)
            memset(*near, NEAR_UNKNOWN, bytes);
    }
    return *near;
}

static struct shape_facts shape_cache[SHAPE_CACHE];
static unsigned shape_cache_next;

/* Per-key tables of r (in the arena) and the asindices order computed for this call. */
static void shape_facts_compute(struct objects_run *r, int64_t keys, int64_t **hash, uint8_t **inside,
                                int32_t **order, void *(*alloc)(size_t))
{
    *hash = alloc((size_t)keys * sizeof(int64_t));
    *inside = alloc((size_t)keys);
    *order = alloc((size_t)(r->h * r->w) * sizeof(int32_t));
    if (*hash == NULL || *inside == NULL || *order == NULL)
        return;
    for (int64_t key = 0; key < keys; key += r->stride) { /* a row of keys at a time */
        int64_t i = key_row(r, key);
        uint64_t row_lane = pair_hash_lane(i);
        bool row_inside = i >= 0 && i < r->h;
        for (int64_t c = 0; c < r->stride; c++) {
            int64_t j = c - 1;
            (*hash)[key + c] = pair_hash_end(row_lane, int_hash(j));
            (*inside)[key + c] = row_inside && j >= 0 && j < r->w;
        }
        DSL_TICK();
    }
    r->hash = *hash;
    struct pset *unvisited = pset_new(); /* (in the arena: garbage after this call) */
    for (int64_t i = 0; i < r->h; i++) {
        for (int64_t j = 0; j < r->w; j++)
            pset_add_pos(unvisited, r, i, j);
        DSL_TICK();
    }
    int64_t n = 0;
    for (int64_t k = 0; k <= unvisited->mask; k++)
        if (unvisited->table[k].key >= 0)
            (*order)[n++] = (int32_t)unvisited->table[k].key;
}

/* Fills r's per-key tables and the asindices order, from the cache where the shape is there or
 * fits in it. */
static void objects_shape_facts(struct objects_run *r, struct objects_order *order)
{
    int64_t keys = (r->h + 2) * r->stride;
    order->n = r->h * r->w;
    if (r->h <= SHAPE_CACHE_SIDE && r->w <= SHAPE_CACHE_SIDE && dsl_pair_pool != NULL &&
        SHAPE_CACHE_SIDE + 1 < DSL_PAIR_LO + DSL_PAIR_SPAN && DSL_PAIR_LO <= -1) {
        for (unsigned c = 0; c < SHAPE_CACHE; c++) {
            struct shape_facts *f = &shape_cache[c];
            if (f->h == r->h && f->w == r->w) {
                r->hash = f->hash;
                r->inside = f->inside;
                r->pos = f->pos;
                r->near = shape_near(f, r);
                order->key = f->order;
                return;
            }
        }
        struct shape_facts *f = &shape_cache[shape_cache_next];
        free(f->hash);
        free(f->inside);
        free(f->pos);
        free(f->order);
        free(f->near[0]);
        free(f->near[1]);
        memset(f, 0, sizeof(*f));
        f->pos = malloc((size_t)keys * sizeof(val));
        shape_facts_compute(r, keys, &f->hash, &f->inside, &f->order, malloc);
        if (f->pos != NULL && f->hash != NULL && f->inside != NULL && f->order != NULL) {
            for (int64_t key = 0; key < keys; key++)
                f->pos[key] = tuple_ints(key_row(r, key), key_col(r, key)); /* interned */
            f->h = r->h;
            f->w = r->w;
            shape_cache_next = (shape_cache_next + 1) % SHAPE_CACHE;
            r->hash = f->hash;
            r->inside = f->inside;
            r->pos = f->pos;
            r->near = shape_near(f, r);
            order->key = f->order;
            return;
        }
        /* out of memory outside the arena: computed in it, as for big shapes */
    }
    int32_t *keys_in_order;
    shape_facts_compute(r, keys, &r->hash, &r->inside, &keys_in_order, dsl_alloc);
    r->pos = alloc_vals(keys);
    val_fill(r->pos, v_none(), keys); /* not made yet */
    order->key = keys_in_order;
}

/* A grid of more than OBJECTS_MID_CELLS cells with a side the shape cache does not keep
 * (SHAPE_CACHE_SIDE) also takes the big-grid path when its object starts are few (as few as the
 * big path records them: OBJECTS_FIND_RATIO). Its own path would hash every position and build
 * asindices' table of 16-byte entries for each call; the big path simulates that table in bits
 * and stops once the starts are placed (perf: solve_91413438's grids of 3 x 1,000 to 3 x 21,000
 * cells with at most 90 starts; solve_469497ad's upscaled grids, whose objects cover most cells,
 * were a tenth slower on the big path, and keep their own). */
#define OBJECTS_MID_CELLS ((int64_t)1 << 12)

/* Whether objects() may take a rectangle of h x w cells by its big-grid path: mostcolor's pass
 * then marks the cells that differ from the background. */
static bool objects_big_shape(int64_t h, int64_t w)
{
    return h * w > objects_big_cells ||
           (h * w > OBJECTS_MID_CELLS && (h > SHAPE_CACHE_SIDE || w > SHAPE_CACHE_SIDE));
}

/* Whether a grid of h x w cells, cells of which differ from the background, goes by the big-grid
 * path: every big grid, and a mid-sized one (objects_big_shape) with few starts. */
static bool objects_take_big_path(int64_t h, int64_t w, const uint64_t *differs)
{
    if (h * w > objects_big_cells)
        return true;
    if (differs == NULL || !objects_mid_allowed || !objects_big_shape(h, w))
        return false;
    int64_t starts = 0;
    for (int64_t k = 0; k < (h * w + 63) / 64; k++)
        starts += __builtin_popcountll(differs[k]);
    if ((uint64_t)starts * OBJECTS_FIND_RATIO > big_final_size(h * w))
        return false;
    dsl_rt.objects_mid_big++;
    return true;
}

/* mostcolor(grid), and for a grid that objects() may take by its big-grid path
 * (objects_big_shape) also the cells that differ from it, found in the same pass
 * over the cells (*differs; NULL when not found). The pass marks the cells that differ from a
 * guess, the grid's last cell; when mostcolor is another colour, or some value is not an int in
 * 0 .. 63, the marks are not used. Perf: the cells of solve_91413438's grids of up to 6.5 million
 * cells were read twice at 16 bytes each, once for mostcolor and once for the object starts. */
static val big_grid_mostcolor(const val *a, uint64_t **differs)
{
    *differs = NULL;
    val grid = a[0];
    if (grid.kind != V_TUPLE || grid.u.t->len == 0 || grid.u.t->item[0].kind != V_TUPLE)
        return prim_mostcolor(a);
    int64_t h = grid.u.t->len, w = grid.u.t->item[0].u.t->len;
    if (!objects_big_shape(h, w) || !grid_is_rectangle(grid, h, w))
        return prim_mostcolor(a);
    val last = grid.u.t->item[h - 1].u.t->item[w - 1];
    uint64_t guess = v_is_int(last) && (uint64_t)last.u.i < 64 ? (uint64_t)last.u.i : 64;
    size_t bytes = (size_t)((h * w + 63) / 64) * sizeof(uint64_t);
    uint64_t *marks = dsl_alloc(bytes);
    dsl_fill(marks, 0, bytes);
    struct color_runs c = color_values(grid);
    bool marked = false;
    val bg = pick_color_marking(&c, true, guess, marks, &marked);
    if (marked && (uint64_t)bg.u.i == guess) /* marked: bg is an int in 0 .. 63 */
        *differs = marks;
    return bg;
}

/* Whether no bit of the first n is set. */
static bool bits_none(const uint64_t *bits, int64_t n)
{
    for (int64_t w = 0; w < (n + 63) / 64; w++)
        if (bits[w] != 0)
            return false;
    return true;
}

static val objects_body(const val *a)
{
    struct objects_run r;
    r.grid = a[0];
    r.univalued = val_truthy(a[1]);
    r.diagonal = val_truthy(a[2]);
    uint64_t *differs = NULL; /* the cells != bg, when mostcolor's pass found them */
    r.bg = val_truthy(a[3]) ? big_grid_mostcolor(a, &differs) : v_none();
    r.h = val_len(r.grid);
    r.w = val_len(val_index(r.grid, 0));
    /* from here on grid is a non-empty tuple */
    if (differs != NULL ? bits_none(differs, r.h * r.w) : no_object_cell(r.grid, r.h, r.w, r.bg))
        return set_empty(); /* perf: not one cell starts an object, so no asindices(grid) */
    r.stride = int_add(r.w, 2);
    int64_t keys = int_mul(int_add(r.h, 2), r.stride);
    if (keys <= 0 || keys > ((int64_t)1 << 40))
        dsl_memout();  /* asindices() alone would exhaust any memory cap */
    r.occupied_count = 0;
    r.near = NULL; /* objects_shape_facts sets it for a cached shape */
    struct vset *objs = set_new();
    if (objects_take_big_path(r.h, r.w, differs) && grid_is_rectangle(r.grid, r.h, r.w)) {
        r.hash = NULL;
        r.inside = NULL;
        r.pos = NULL;
        if (objects_big(&r, objs, differs))
            return set_freeze_copy(objs);
    }
    struct objects_order order;
    objects_shape_facts(&r, &order);
    r.occupied = dsl_alloc_zeroed((size_t)keys);
    for (int64_t k = 0; k < order.n; k++) {
        if ((k & 4095) == 4095)
            DSL_TICK();
        int64_t key = order.key[k];
        if (r.occupied[key])
            continue;
        val colour = grid_cell(&r, key);
        if (val_eq_fast(colour, r.bg))
            continue;
        set_add(objs, grow_object(&r, key, colour));
    }
    return set_freeze_copy(objs);
}

/* A big grid's call runs in a region of its own (dsl_call_keeping_result): its tables (about
 * 140 MB for solve_91413438's 6.5 million cells) are handed back as it returns, and the grids
 * made next reuse their pages (peak RSS of that solver on 1f85a75f: 396 MB before, 318 MB).
 * Perf: in this VM a page is backed by the host on its first touch, up to 2 ms per MB, so a
 * worker's peak is a cost it pays once, when it gets there. */
val prim_objects(const val *a)
{
    val grid = a[0];
    if (grid.kind == V_TUPLE && grid.u.t->len > 0 && grid.u.t->item[0].kind == V_TUPLE &&
        (int64_t)grid.u.t->len * grid.u.t->item[0].u.t->len > objects_big_cells)
        return dsl_call_keeping_result(objects_body, a);
    return objects_body(a);
}

/* One object per colour value: frozenset((v, (i, j)) for i, r in enumerate(grid) for j, v in
 * enumerate(r) if v == value). */
static val cells_of_value(val grid, val value)
{
    int64_t h;
    const val *rows = val_items(grid, &h);
    struct vset *s = set_new();
    for (int64_t i = 0; i < h; i++) {
        int64_t w;
        const val *cells = val_items(rows[i], &w);
        for (int64_t j = 0; j < w; j++) {
            if (val_eq_fast(cells[j], value))
                set_add(s, tuple_cell(cells[j], i, j));
        }
        DSL_TICK();
    }
    return set_freeze(s);
}

static val partition_by(val grid, val values)
{
    struct vset *s = set_new();
    val value;
    for (int64_t p = 0; set_next(values.u.s, &p, &value);)
        set_add(s, cells_of_value(grid, value));
    return set_freeze(s);
}

val prim_partition(const val *a)
{
    return partition_by(a[0], prim_palette(a));
}

val prim_fgpartition(const val *a)
{
    val colours = prim_palette(a);
    struct vset *bg = set_new();
    set_add(bg, prim_mostcolor(a));
    return partition_by(a[0], set_freeze(set_sub(colours.u.s, v_set(bg))));
}

/* ------------------------------------------------------------------------------------------
 * Relations between patches
 * ------------------------------------------------------------------------------------------ */

/* set(c for i, j in toindices(patch)) with c the row (axis 0) or column (axis 1). */
static struct vset *coordinate_set(val patch, int axis)
{
    val ind = prim_toindices(&patch);
    int64_t n;
    const val *items = val_items(ind, &n);
    struct vset *s = set_new();
    bool seen[64] = { false };
    for (int64_t k = 0; k < n; k++) {
        val i, j;
        val_unpack2(items[k], &i, &j);
        add_skipping_seen(s, axis == 0 ? i : j, seen);
    }
    return s;
}

/* Marks (set) or finds (test) the coordinates `axis` of a plain patch's items that lie in [lo, lo +
 * 64 * words); test: whether one was marked. */
#define SHARE_BITMAP_WORDS 64
static bool coordinates_in_bitmap(val patch, enum patch_shape shape, int axis, int64_t lo, uint64_t *bits,
                                  bool test)
{
    val item;
    for (int64_t pos = 0; set_next(patch.u.s, &pos, &item);) {
        uint64_t c = (uint64_t)fast_index(item, shape).u.t->item[axis].u.i - (uint64_t)lo;
        if (c >= (uint64_t)SHARE_BITMAP_WORDS * 64)
            continue;
        if (!test)
            bits[c >> 6] |= (uint64_t)1 << (c & 63);
        else if (bits[c >> 6] >> (c & 63) & 1)
            return true;
    }
    return false;
}

/* Two plain patches (every item well formed, so nothing can raise): no common coordinate when
 * their ranges do not meet; else the coordinates of a within the common range marked in a bitmap
 * (perf: solve_cbded52d compares every pair of one-cell objects, each comparison building four
 * sets). Returns false, having decided nothing, when the common range is too wide. */
static bool share_coordinate_plain(const val *a, int axis, bool *share)
{
    struct patch_info box[2];
    enum patch_shape shape[2];
    for (int k = 0; k < 2; k++) {
        shape[k] = patch_shape_box(a[k], &box[k]);
        if (shape[k] != PS_INDICES && shape[k] != PS_OBJECT)
            return false;
    }
    int64_t lo[2], hi[2];
    for (int k = 0; k < 2; k++) {
        lo[k] = axis == 0 ? box[k].imin : box[k].jmin;
        hi[k] = axis == 0 ? box[k].imax : box[k].jmax;
    }
    int64_t from = lo[0] > lo[1] ? lo[0] : lo[1], to = hi[0] < hi[1] ? hi[0] : hi[1];
    if (from > to) {
        *share = false;
        return true;
    }
    if (lo[0] == hi[0] && lo[1] == hi[1]) { /* each on one row (column), and the ranges meet */
        *share = true;
        return true;
    }
    if ((uint64_t)to - (uint64_t)from >= (uint64_t)SHARE_BITMAP_WORDS * 64)
        return false;
    uint64_t bits[SHARE_BITMAP_WORDS] = { 0 };
    coordinates_in_bitmap(a[0], shape[0], axis, from, bits, false);
    *share = coordinates_in_bitmap(a[1], shape[1], axis, from, bits, true);
    return true;
}

static val share_coordinate(const val *a, int axis)
{
    bool share;
    if (share_coordinate_plain(a, axis, &share))
        return v_bool(share);
    struct vset *sa = coordinate_set(a[0], axis);
    struct vset *sb = coordinate_set(a[1], axis);
    return v_bool(set_and(sa, v_set(sb))->used > 0);
}

val prim_hmatching(const val *a) { return share_coordinate(a, 0); }
val prim_vmatching(const val *a) { return share_coordinate(a, 1); }

static int64_t abs_checked(int64_t x)
{
    return x < 0 ? int_sub(0, x) : x;
}

/* The positions of a PS_INDICES/PS_OBJECT patch in its order, as i0, j0, i1, j1, ... */
static int64_t *plain_patch_positions(val patch, enum patch_shape shape)
{
    int64_t *xy = dsl_alloc((size_t)patch.u.s->used * 2 * sizeof(int64_t)), k = 0;
    val item;
    for (int64_t p = 0; set_next(patch.u.s, &p, &item); k++) {
        val ij = fast_index(item, shape);
        xy[2 * k] = ij.u.t->item[0].u.i;
        xy[2 * k + 1] = ij.u.t->item[1].u.i;
    }
    return xy;
}

/* min over all pairs when both patches are PS_INDICES/PS_OBJECT: plain int arithmetic. */
static int64_t manhattan_fast(val pa, enum patch_shape sa, val pb, enum patch_shape sb)
{
    int64_t nb = pb.u.s->used, k;
    const int64_t *bi = plain_patch_positions(pb, sb);
    val item;
    bool have = false;
    int64_t best = 0;
    for (int64_t p = 0; set_next(pa.u.s, &p, &item);) {
        val ij = fast_index(item, sa);
        int64_t ai = ij.u.t->item[0].u.i, aj = ij.u.t->item[1].u.i;
        for (k = 0; k < nb; k++) {
            int64_t d = int_add(abs_checked(int_sub(ai, bi[2 * k])),
                                abs_checked(int_sub(aj, bi[2 * k + 1])));
            if (!have || d < best)
                best = d;
            have = true;
        }
        DSL_TICK();
    }
    return best;
}

const int64_t *dsl_keys_direct(val key, val container)
{
    if (key.kind != V_FUNC || key.u.f->kind != F_COMPOSE || !fn_is_prim(key.u.f->b, PRIM_initset))
        return NULL;
    val outer = key.u.f->a;
    if (outer.kind != V_FUNC || outer.u.f->kind != F_LBIND || outer.u.f->arity != 1 ||
        !fn_is_prim(outer.u.f->a, PRIM_manhattan))
        return NULL;
    val patch = outer.u.f->b;
    enum patch_shape sa = patch_shape(patch), sx = patch_shape(container);
    if ((sa != PS_INDICES && sa != PS_OBJECT) || (sx != PS_INDICES && sx != PS_OBJECT))
        return NULL;
    /* manhattan(patch, initset(x)): x's position against each of the patch's */
    int64_t na = patch.u.s->used, k = 0;
    const int64_t *a = plain_patch_positions(patch, sa);
    int64_t *keys = dsl_alloc((size_t)container.u.s->used * sizeof(int64_t));
    val item;
    for (int64_t p = 0; set_next(container.u.s, &p, &item); k++) {
        val ij = fast_index(item, sx);
        int64_t i = ij.u.t->item[0].u.i, j = ij.u.t->item[1].u.i, best = INT64_MAX;
        for (int64_t q = 0; q < na; q++) {
            int64_t d = llabs(a[2 * q] - i) + llabs(a[2 * q + 1] - j);
            best = d < best ? d : best;
        }
        keys[k] = best;
        if ((k & 1023) == 1023)
            DSL_TICK();
    }
    dsl_rt.keys_direct++;
    return keys;
}

static val py_abs(val x)
{
    if (v_is_int(x))
        return v_int(abs_checked(x.u.i));
    dsl_raise(EXC_TYPE, "bad operand type for abs(): '%s'", val_type_name(x));
}

/* The (i, j) of a patch of one plain item, (i, j) or (c, (i, j)); false for anything else. */
static bool single_position(val patch, val *ij)
{
    if (patch.kind != V_SET || patch.u.s->used != 1)
        return false;
    val item;
    int64_t pos = 0;
    set_next(patch.u.s, &pos, &item);
    if (is_int_pair(item))
        *ij = item;
    else if (is_cell(item))
        *ij = item.u.t->item[1];
    else
        return false;
    return true;
}

val prim_manhattan(const val *a)
{
    val ia, ib; /* perf: one cell against one cell (solve_49d1d64f's nearest cell), no patch scans */
    if (single_position(a[0], &ia) && single_position(a[1], &ib))
        return v_int(int_add(abs_checked(int_sub(ia.u.t->item[0].u.i, ib.u.t->item[0].u.i)),
                             abs_checked(int_sub(ia.u.t->item[1].u.i, ib.u.t->item[1].u.i))));
    enum patch_shape sa = patch_shape(a[0]), sb = patch_shape(a[1]);
    bool fast_a = sa == PS_INDICES || sa == PS_OBJECT, fast_b = sb == PS_INDICES || sb == PS_OBJECT;
    if (fast_a && fast_b)
        return v_int(manhattan_fast(a[0], sa, a[1], sb));
    if (sa == PS_EMPTY)
        dsl_raise(EXC_VALUE, "min() arg is an empty sequence");
    /* min(abs(ai - bi) + abs(aj - bj) for ai, aj in toindices(a) for bi, bj in toindices(b)):
     * toindices(b) is evaluated for each item of a (the same result every time). */
    val ind_a = prim_toindices(&a[0]);
    int64_t na, nb = 0;
    const val *items_a = val_items(ind_a, &na);
    const val *items_b = NULL;
    struct extreme e = { false, false, v_none() };
    for (int64_t x = 0; x < na; x++) {
        val ai, aj;
        val_unpack2(items_a[x], &ai, &aj);
        if (!items_b) {
            val ind_b = prim_toindices(&a[1]);
            items_b = val_items(ind_b, &nb);
        }
        for (int64_t y = 0; y < nb; y++) {
            val bi, bj;
            val_unpack2(items_b[y], &bi, &bj);
            val di = py_abs(py_sub(ai, bi));
            val dj = py_abs(py_sub(aj, bj));
            extreme_feed(&e, py_add(di, dj));
        }
        DSL_TICK();
    }
    return extreme_result(&e);
}

val prim_adjacent(const val *a)
{
    val d = prim_manhattan(a);
    return v_bool(val_eq_fast(d, v_int(1)));
}

val prim_bordering(const val *a)
{
    val patch = a[0], grid = a[1];
    if (val_eq_fast(prim_uppermost(&patch), v_int(0)))
        return v_bool(true);
    if (val_eq_fast(prim_leftmost(&patch), v_int(0)))
        return v_bool(true);
    val low = prim_lowermost(&patch);
    if (val_eq_fast(low, v_int(int_sub(val_len(grid), 1))))
        return v_bool(true);
    val right = prim_rightmost(&patch);
    return v_bool(val_eq_fast(right, v_int(int_sub(val_len(val_index(grid, 0)), 1))));
}

val prim_centerofmass(const val *a)
{
    val patch = a[0];
    struct zipped z;
    zip_star(prim_toindices(&patch), &z);
    if (z.nrows == 0 || z.ncols == 0)
        return tuple_empty();
    struct vtuple *out = tuple_new((uint32_t)z.ncols);
    for (int64_t k = 0; k < z.ncols; k++) {
        val sum = v_int(0);
        for (int64_t r = 0; r < z.nrows; r++)
            sum = py_add(sum, z.rows[r][k]);
        if (!v_is_int(sum))
            raise_operands("//", sum, v_int(0));
        out->item[k] = v_int(int_floordiv(sum.u.i, val_len(patch)));
    }
    return v_tuple(out);
}

/* ------------------------------------------------------------------------------------------
 * Crop and rotations
 * ------------------------------------------------------------------------------------------ */

/* start + length as a slice bound: Python ints cannot overflow and slices clamp, so a sum
 * beyond int64 saturates (staying clear of SLICE_NONE). */
static int64_t slice_end(val start, val length)
{
    if (!v_is_int(start) || !v_is_int(length))
        dsl_raise(EXC_TYPE, "slice indices must be integers or None or have an __index__ method");
    int64_t s;
    if (__builtin_add_overflow(start.u.i, length.u.i, &s))
        s = start.u.i > 0 ? INT64_MAX : INT64_MIN + 1;
    return s == INT64_MIN ? INT64_MIN + 1 : s;
}

val prim_crop(const val *a)
{
    val grid = a[0], start = a[1], dims = a[2];
    val s0 = val_index(start, 0);
    val d0 = val_index(dims, 0);
    int64_t end0 = slice_end(s0, d0);
    val rows = val_slice(grid, s0.u.i == INT64_MIN ? INT64_MIN + 1 : s0.u.i, end0);
    uint32_t h = tup_len(rows);
    if (h == 0)
        return tuple_empty();
    val s1 = val_index(start, 1);
    val d1 = val_index(dims, 1);
    int64_t end1 = slice_end(s1, d1);
    int64_t begin1 = s1.u.i == INT64_MIN ? INT64_MIN + 1 : s1.u.i;
    struct vtuple *out = tuple_new(h);
    for (uint32_t r = 0; r < h; r++)
        out->item[r] = val_slice(tup_get(rows, r), begin1, end1);
    return v_tuple(out);
}

/* grid[::-1]: a tuple reversed (TypeError when not subscriptable). */
static const val *reversed_rows(val grid, int64_t *n)
{
    if (grid.kind != V_TUPLE)
        dsl_raise(EXC_TYPE, "'%s' object is not subscriptable", val_type_name(grid));
    uint32_t len = grid.u.t->len;
    val *out = alloc_vals(len);
    for (uint32_t k = 0; k < len; k++)
        out[k] = grid.u.t->item[len - 1 - k];
    *n = len;
    return out;
}

/* tuple(row[::-1]) for a row (TypeError unless a tuple). */
static val reversed_tuple(val row)
{
    if (row.kind != V_TUPLE)
        dsl_raise(EXC_TYPE, "'%s' object is not subscriptable", val_type_name(row));
    uint32_t len = row.u.t->len;
    if (len == 0)
        return tuple_empty();
    struct vtuple *t = tuple_new(len);
    for (uint32_t k = 0; k < len; k++)
        t->item[k] = row.u.t->item[len - 1 - k];
    return v_tuple(t);
}

/* The rows of zip(*grid[::-1]), i.e. rot90(grid). */
static void turn_quarter(val grid, val **rows_out, int64_t *nrows_out)
{
    int64_t h;
    const val *rev = reversed_rows(grid, &h);
    struct zipped z;
    zip_items(rev, h, &z);
    int64_t n = h == 0 ? 0 : z.ncols;
    val *rows = alloc_vals(n);
    for (int64_t k = 0; k < n; k++) {
        struct vtuple *t = tuple_new((uint32_t)h);
        for (int64_t r = 0; r < h; r++)
            t->item[r] = z.rows[r][k];
        rows[k] = v_tuple(t);
    }
    *rows_out = rows;
    *nrows_out = n;
}

static val tuple_from(const val *items, int64_t n)
{
    if (n == 0)
        return tuple_empty();
    struct vtuple *t = tuple_new((uint32_t)n);
    memcpy(t->item, items, (size_t)n * sizeof(val));
    return v_tuple(t);
}

val prim_rot90(const val *a)
{
    val *rows;
    int64_t n;
    turn_quarter(a[0], &rows, &n);
    return tuple_from(rows, n);
}

val prim_rot180(const val *a)
{
    int64_t h;
    const val *rev = reversed_rows(a[0], &h);
    val *rows = alloc_vals(h);
    for (int64_t r = 0; r < h; r++)
        rows[r] = reversed_tuple(rev[r]);
    return tuple_from(rows, h);
}

val prim_rot270(const val *a)
{
    val *rows;
    int64_t n;
    turn_quarter(a[0], &rows, &n);
    val *out = alloc_vals(n);
    for (int64_t k = 0; k < n; k++)
        out[n - 1 - k] = reversed_tuple(rows[k]);
    return tuple_from(out, n);
}
