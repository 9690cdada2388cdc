/* prims_patch.c: primitives 114-160 of Hodel's dsl.py (hmirror ... vperiod): mirrors, fill and
 * paint, scaling, concatenation and splitting, cellwise colour maps, centres and positions,
 * lines and boxes, gravitate, occurrences, frontiers and periods.
 *
 * Each primitive follows dsl.py step by step: the same evaluation order (so the same exception
 * class on bad input), the same set-construction sequence (so CPython's iteration order, see
 * value.h) and Python's behaviour on degenerate values (ragged grids, None cells, rows that are
 * frozensets, tuples standing in for patches, bools standing in for ints).
 *
 * Fast paths: where a patch is "plain" (a non-empty frozenset whose items are all (i, j) or all
 * (v, (i, j)) with int coordinates below 2^60 in magnitude), nothing in the Python code can
 * raise, and the bounding box can be computed in one pass instead of building toindices sets
 * for ulcorner/lrcorner/uppermost...; the sets whose order is observable are still built in
 * Python's sequence. Everything else takes the generic path, which calls the other primitives
 * and Python-like operators exactly as dsl.py does. */
#include "compat.h"

#include <string.h>

#include "dsl.h"

/* ======================================================================================
 * Python operators on values
 * ====================================================================================== */

static BF_NORETURN void raise_not_iterable(val v)
{
    dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(v));
}

static BF_NORETURN void raise_operands(const char *op, val x, val y)
{
    dsl_raise(EXC_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op, val_type_name(x),
              val_type_name(y));
}

/* An argument of range(): an int (or bool), else TypeError. */
static int64_t range_arg(val v)
{
    if (!v_is_int(v))
        dsl_raise(EXC_TYPE, "'%s' object cannot be interpreted as an integer", val_type_name(v));
    return v.u.i;
}

/* Python's `0 <= x < n` for an int bound n: TypeError unless x is an int. */
static bool within(val x, int64_t n)
{
    if (!v_is_int(x))
        dsl_raise(EXC_TYPE, "'<=' not supported between instances of 'int' and '%s'", val_type_name(x));
    return x.u.i >= 0 && x.u.i < n;
}

/* A tuple of n items to be filled by the caller; sizes no memory can hold end in memout. */
static struct vtuple *tup_alloc(int64_t n)
{
    if (n < 0)
        n = 0;
    if (n > (int64_t)UINT32_MAX)
        dsl_memout();
    return tuple_new((uint32_t)n);
}

static val tuple_from(const val *items, int64_t n)
{
    if (n == 0)
        return tuple_empty();
    struct vtuple *t = tup_alloc(n);
    memcpy(t->item, items, (size_t)n * sizeof(val));
    return v_tuple(t);
}

/* x + y: ints add, tuples concatenate, anything else raises TypeError. */
static val py_add(val x, val y)
{
    if (v_is_int(x) && v_is_int(y))
        return v_int(int_add(x.u.i, y.u.i));
    if (x.kind == V_TUPLE && y.kind == V_TUPLE)
        return tuple_concat(x, y);
    raise_operands("+", x, y);
}

/* x - y: ints subtract, frozensets take the difference, anything else raises TypeError. */
static val py_sub(val x, val y)
{
    if (v_is_int(x) && v_is_int(y))
        return v_int(int_sub(x.u.i, y.u.i));
    if (x.kind == V_SET && y.kind == V_SET)
        return set_freeze(set_sub(x.u.s, y));
    raise_operands("-", x, y);
}

static val py_add_int(val x, int64_t k) { return py_add(x, v_int(k)); }
static val py_sub_int(val x, int64_t k) { return py_sub(x, v_int(k)); }

/* -x */
static val py_neg(val x)
{
    if (!v_is_int(x))
        dsl_raise(EXC_TYPE, "bad operand type for unary -: '%s'", val_type_name(x));
    return v_int(int_sub(0, x.u.i));
}

/* k * x for an int k: ints multiply, a tuple repeats, anything else raises TypeError. */
static val py_mul_int(int64_t k, val x)
{
    if (v_is_int(x))
        return v_int(int_mul(k, x.u.i));
    if (x.kind != V_TUPLE)
        raise_operands("*", v_int(k), x);
    int64_t n = tup_len(x);
    if (k <= 0 || n == 0)
        return tuple_empty();
    struct vtuple *t = tup_alloc(int_mul(k, n));
    for (int64_t r = 0; r < k; r++)
        memcpy(t->item + r * n, x.u.t->item, (size_t)n * sizeof(val));
    return v_tuple(t);
}

/* x // y where y is an int literal of dsl.py; x must be an int. */
static int64_t py_floordiv_int(val x, int64_t y)
{
    if (!v_is_int(x))
        raise_operands("//", x, v_int(y));
    return int_floordiv(x.u.i, y);
}

/* Python's two-argument min(x, y) and max(x, y) (the first of equal items wins). */
static val py_min2(val x, val y) { return val_lt(y, x) ? y : x; }
static val py_max2(val x, val y) { return val_lt(x, y) ? y : x; }

/* tuple(c) of a tuple or frozenset row (list(row) in dsl.py followed by tuple()). */
static val row_as_tuple(val row)
{
    if (row.kind == V_TUPLE)
        return row;
    int64_t n;
    const val *items = val_items(row, &n);
    return tuple_from(items, n);
}

/* seq[::-1] */
static val reversed_tuple(val t)
{
    if (t.kind != V_TUPLE)
        dsl_raise(EXC_TYPE, "'%s' object is not subscriptable", val_type_name(t));
    int64_t n = tup_len(t);
    if (n == 0)
        return t;
    struct vtuple *r = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        r->item[k] = t.u.t->item[n - 1 - k];
    return v_tuple(r);
}

/* grid[i][j] for i, j >= 0 with Python's errors. */
static val at2(val grid, int64_t i, int64_t j)
{
    if (grid.kind == V_TUPLE && i < tup_len(grid)) {
        val row = tup_get(grid, (uint32_t)i);
        if (row.kind == V_TUPLE && j < tup_len(row))
            return tup_get(row, (uint32_t)j);
        return val_index(row, j);
    }
    return val_index(val_index(grid, i), j);
}

/* len(grid[0]) */
static int64_t first_row_len(val grid)
{
    return val_len(val_index(grid, 0));
}

/* Two-argument calls of other primitives. */
static val call1(prim_fn f, val x) { return f(&x); }
static val call2(prim_fn f, val x, val y)
{
    val args[2] = { x, y };
    return f(args);
}
static val call3(prim_fn f, val x, val y, val z)
{
    val args[3] = { x, y, z };
    return f(args);
}

static bool int_like_eq(val x, val y)
{
    if (v_is_int(x) && v_is_int(y))
        return x.u.i == y.u.i;
    return val_eq(x, y);
}

/* ======================================================================================
 * Plain patches (the fast paths)
 * ====================================================================================== */

#define COORD_LIMIT PATCH_COORD_LIMIT

struct bounds {
    int64_t imin, imax, jmin, jmax;
};

/* (i, j) of an item of a plain patch of the given form. */
static void item_pos(val item, enum patch_form form, int64_t *i, int64_t *j)
{
    val ij = form == PF_OBJECT ? tup_get(item, 1) : item;
    *i = tup_get(ij, 0).u.i;
    *j = tup_get(ij, 1).u.i;
}

/* PF_OBJECT or PF_INDICES with the bounding box when p is a plain patch, else PF_OTHER
 * (set_patch_info: known after the first scan of a frozen set). */
static enum patch_form scan_patch(val p, struct bounds *b)
{
    if (p.kind != V_SET || set_len(p) == 0)
        return PF_OTHER;
    struct patch_info scratch;
    const struct patch_info *pi = set_patch_info(p.u.s, &scratch);
    b->imin = pi->imin;
    b->imax = pi->imax;
    b->jmin = pi->jmin;
    b->jmax = pi->jmax;
    return (enum patch_form)pi->form;
}

/* A plain patch's positions as a flat array i0, j0, i1, j1, ... (duplicates kept). */
static int64_t *plain_positions(val p, enum patch_form form, int64_t *n)
{
    *n = set_len(p);
    int64_t *xy = dsl_alloc((size_t)(*n) * 2 * sizeof(int64_t));
    int64_t pos = 0, k = 0;
    val item;
    while (set_next(p.u.s, &pos, &item)) {
        item_pos(item, form, &xy[2 * k], &xy[2 * k + 1]);
        k++;
    }
    return xy;
}

/* A hash set of int pairs in the arena (membership tests of the fast paths). */
struct pairset {
    uint64_t mask;
    int64_t *keys; /* 2 per slot */
    uint8_t *used;
};

static uint64_t pair_hash(int64_t i, int64_t j)
{
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15u ^ ((uint64_t)j + 0x632BE59BD9B4E019u) * 0xC2B2AE3D27D4EB4Fu;
    return h ^ (h >> 29);
}

static void pairset_init(struct pairset *ps, int64_t n)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2)
        cap <<= 1;
    ps->mask = cap - 1;
    ps->keys = dsl_alloc(cap * 2 * sizeof(int64_t));
    ps->used = dsl_alloc(cap);
    dsl_fill(ps->used, 0, cap);
}

static void pairset_add(struct pairset *ps, int64_t i, int64_t j)
{
    for (uint64_t s = pair_hash(i, j) & ps->mask;; s = (s + 1) & ps->mask) {
        if (!ps->used[s]) {
            ps->used[s] = 1;
            ps->keys[2 * s] = i;
            ps->keys[2 * s + 1] = j;
            return;
        }
        if (ps->keys[2 * s] == i && ps->keys[2 * s + 1] == j)
            return;
    }
}

static bool pairset_has(const struct pairset *ps, int64_t i, int64_t j)
{
    for (uint64_t s = pair_hash(i, j) & ps->mask;; s = (s + 1) & ps->mask) {
        if (!ps->used[s])
            return false;
        if (ps->keys[2 * s] == i && ps->keys[2 * s + 1] == j)
            return true;
    }
}

/* ======================================================================================
 * Mirrors
 * ====================================================================================== */

/* The corner numbers a mirror needs: ulcorner(piece)[k] and lrcorner(piece)[k]. */
static void corner_coords(val piece, int k, val *lo, val *hi)
{
    struct bounds b;
    if (scan_patch(piece, &b) != PF_OTHER) {
        *lo = v_int(k == 0 ? b.imin : b.jmin);
        *hi = v_int(k == 0 ? b.imax : b.jmax);
        return;
    }
    *lo = val_index(call1(prim_ulcorner, piece), k);
    *hi = val_index(call1(prim_lrcorner, piece), k);
}

/* `isinstance(next(iter(piece))[1], tuple)`: piece is a non-empty frozenset here (its corners
 * were computed). */
static bool first_item_is_cell(val piece)
{
    struct val_iter it;
    val item;
    val_iter_init(&it, piece);
    if (!val_iter_next(&it, &item))
        dsl_raise(EXC_STOP_ITERATION, "empty patch");
    return val_index(item, 1).kind == V_TUPLE;
}

enum mirror { M_H, M_V, M_D };

/* The mirrored position of (i, j); d is the sum of the two corner numbers (M_H, M_V) or ul is
 * the upper-left corner (M_D). */
static val mirrored_pos(enum mirror m, val i, val j, val d, val ul_i, val ul_j)
{
    switch (m) {
    case M_H: return tuple_pair(py_sub(d, i), j);
    case M_V: return tuple_pair(i, py_sub(d, j));
    default: {
        val ni = py_add(py_sub(j, ul_j), ul_i);
        return tuple_pair(ni, py_add(py_sub(i, ul_i), ul_j));
    }
    }
}

static val mirror_patch(val piece, enum mirror m)
{
    val d = v_none(), ul_i = v_none(), ul_j = v_none();
    if (m == M_D) {
        struct bounds b;
        if (scan_patch(piece, &b) != PF_OTHER) {
            ul_i = v_int(b.imin);
            ul_j = v_int(b.jmin);
        } else {
            val_unpack2(call1(prim_ulcorner, piece), &ul_i, &ul_j);
        }
    } else {
        val lo, hi;
        corner_coords(piece, m == M_H ? 0 : 1, &lo, &hi);
        d = py_add(lo, hi);
    }
    bool cells = first_item_is_cell(piece);
    struct vset *s = set_new();
    struct val_iter it;
    val item, v, ij, i, j;
    val_iter_init(&it, piece);
    while (val_iter_next(&it, &item)) {
        if (cells) {
            val_unpack2(item, &v, &ij);
            val_unpack2(ij, &i, &j);
            set_add(s, tuple_pair(v, mirrored_pos(m, i, j, d, ul_i, ul_j)));
        } else {
            val_unpack2(item, &i, &j);
            set_add(s, mirrored_pos(m, i, j, d, ul_i, ul_j));
        }
    }
    return set_freeze(s);
}

/* tuple(zip(*rows)) */
static val zip_rows(const val *rows, int64_t n)
{
    if (n == 0)
        return tuple_empty();
    const val **cols = dsl_alloc((size_t)n * sizeof(val *));
    int64_t m = INT64_MAX;
    for (int64_t k = 0; k < n; k++) {
        int64_t len;
        cols[k] = val_items(rows[k], &len);
        if (len < m)
            m = len;
    }
    if (m == 0)
        return tuple_empty();
    struct vtuple *out = tup_alloc(m);
    for (int64_t j = 0; j < m; j++) {
        struct vtuple *t = tup_alloc(n);
        for (int64_t k = 0; k < n; k++)
            t->item[k] = cols[k][j];
        out->item[j] = v_tuple(t);
        DSL_TICK();
    }
    return v_tuple(out);
}

val prim_hmirror(const val *a)
{
    if (v_is_tuple(a[0]))
        return reversed_tuple(a[0]);
    return mirror_patch(a[0], M_H);
}

val prim_vmirror(const val *a)
{
    val piece = a[0];
    if (!v_is_tuple(piece))
        return mirror_patch(piece, M_V);
    int64_t n = tup_len(piece);
    if (n == 0)
        return piece;
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = reversed_tuple(piece.u.t->item[k]);
    return v_tuple(out);
}

val prim_dmirror(const val *a)
{
    val piece = a[0];
    if (!v_is_tuple(piece))
        return mirror_patch(piece, M_D);
    return zip_rows(piece.u.t->item, tup_len(piece));
}

val prim_cmirror(const val *a)
{
    val piece = a[0];
    if (!v_is_tuple(piece)) {
        val x = prim_vmirror(&piece);
        x = prim_dmirror(&x);
        return prim_vmirror(&x);
    }
    int64_t n = tup_len(piece);
    val *rows = dsl_alloc((size_t)(n ? n : 1) * sizeof(val));
    for (int64_t k = 0; k < n; k++)
        rows[k] = reversed_tuple(piece.u.t->item[n - 1 - k]);
    return zip_rows(rows, n);
}

/* ======================================================================================
 * fill, paint, underfill, underpaint, cover, move
 * ====================================================================================== */

/* `list(list(row) for row in grid)` written cell by cell: rows are copied only when first
 * written (an untouched row is returned as it was: equal to Python's copy). */
struct mgrid {
    int64_t h, w;  /* len(grid), len(grid[0]) */
    val *rows;     /* tuples */
    bool *fresh;   /* rows[k] is our own copy */
};

/* h, w = len(grid), len(grid[0]) */
static void mgrid_dims(struct mgrid *g, val grid)
{
    g->h = val_len(grid);
    g->w = first_row_len(grid);
}

/* The row copies (grid is a tuple: grid[0] worked); a row that is not iterable raises. */
static void mgrid_rows(struct mgrid *g, val grid)
{
    int64_t h = g->h;
    g->rows = dsl_alloc((size_t)h * sizeof(val));
    g->fresh = dsl_alloc((size_t)h);
    for (int64_t k = 0; k < h; k++) {
        val row = tup_get(grid, (uint32_t)k);
        g->rows[k] = row_as_tuple(row);
        g->fresh[k] = row.kind != V_TUPLE;
    }
}

/* The list cell g[i][j] for 0 <= i < h, j >= 0 (IndexError past a short row). */
static val mgrid_get(const struct mgrid *g, int64_t i, int64_t j)
{
    val row = g->rows[i];
    if (j >= tup_len(row))
        dsl_raise(EXC_INDEX, "list index out of range");
    return tup_get(row, (uint32_t)j);
}

static void mgrid_set(struct mgrid *g, int64_t i, int64_t j, val v)
{
    val row = g->rows[i];
    if (j >= tup_len(row))
        dsl_raise(EXC_INDEX, "list assignment index out of range");
    if (!g->fresh[i]) {
        row = tuple_from(row.u.t->item, tup_len(row));
        g->rows[i] = row;
        g->fresh[i] = true;
    }
    row.u.t->item[j] = v;
}

/* tuple(tuple(row) for row in g) */
static val mgrid_close(const struct mgrid *g)
{
    return tuple_from(g->rows, g->h);
}

/* One write of fill/paint at (i, j): plain writes always, `under` writes only on bg. */
static void mgrid_write(struct mgrid *g, val i, val j, val v, bool under, val bg)
{
    if (!(within(i, g->h) && within(j, g->w)))
        return;
    if (under && !val_eq(mgrid_get(g, i.u.i, j.u.i), bg))
        return;
    mgrid_set(g, i.u.i, j.u.i, v);
}

/* `for i, j in indices: ...` with the write of fill or underfill. */
static void fill_indices(struct mgrid *g, val indices, val value, bool under, val bg)
{
    struct val_iter it;
    val item, i, j;
    val_iter_init(&it, indices);
    while (val_iter_next(&it, &item)) {
        val_unpack2(item, &i, &j);
        mgrid_write(g, i, j, value, under, bg);
    }
}

/* The positions of a plain object, written directly: for fill and underfill the set of
 * positions is all that matters (one value, no failure possible), so toindices is skipped. */
static void fill_object_positions(struct mgrid *g, val obj, val value, bool under, val bg)
{
    int64_t pos = 0;
    val item;
    while (set_next(obj.u.s, &pos, &item))
        mgrid_write(g, tup_get(tup_get(item, 1), 0), tup_get(tup_get(item, 1), 1), value, under, bg);
}

/* fill and underfill: the patch is turned into indices after the grid was copied. */
static val fill_grid(val grid, val value, val patch, bool under)
{
    struct mgrid g;
    val bg = v_none();
    mgrid_dims(&g, grid);
    if (under)
        bg = prim_mostcolor(&grid);
    mgrid_rows(&g, grid);
    struct bounds b;
    if (scan_patch(patch, &b) == PF_OBJECT)
        fill_object_positions(&g, patch, value, under, bg);
    else
        fill_indices(&g, prim_toindices(&patch), value, under, bg);
    return mgrid_close(&g);
}

/* paint and underpaint: cells written in the object's iteration order. */
static val paint_grid(val grid, val obj, bool under)
{
    struct mgrid g;
    val bg = v_none();
    mgrid_dims(&g, grid);
    if (under)
        bg = prim_mostcolor(&grid);
    mgrid_rows(&g, grid);
    struct val_iter it;
    val item, v, ij, i, j;
    val_iter_init(&it, obj);
    while (val_iter_next(&it, &item)) {
        val_unpack2(item, &v, &ij);
        val_unpack2(ij, &i, &j);
        mgrid_write(&g, i, j, v, under, bg);
    }
    return mgrid_close(&g);
}

val prim_fill(const val *a) { return fill_grid(a[0], a[1], a[2], false); }
val prim_paint(const val *a) { return paint_grid(a[0], a[1], false); }
val prim_underfill(const val *a) { return fill_grid(a[0], a[1], a[2], true); }
val prim_underpaint(const val *a) { return paint_grid(a[0], a[1], true); }

/* ---- the sink of a mapply, mfilter or ofcolor, written straight into the grid (dsl.h, dsl_sink_into_grid) ---- */

/* paint marks the places it wrote with a bit per cell of the grid: bigger grids are painted
 * the plain way. */
#define INTO_GRID_MAX_CELLS ((int64_t)1 << 26)

struct into_grid {
    struct mgrid g;
    enum prim_id sink;   /* PRIM_paint, PRIM_fill or PRIM_underfill */
    val bg;              /* underfill: mostcolor(grid) */
    uint64_t *painted;   /* paint: the places written so far */
};

/* The sink's work on the grid before its patch is read, in its order (the same failures); false
 * when the grid is too big to paint this way. */
static bool into_grid_begin(struct into_grid *x, enum prim_id sink, val grid)
{
    x->sink = sink;
    x->bg = v_none();
    x->painted = NULL;
    mgrid_dims(&x->g, grid);
    if (sink == PRIM_underfill)
        x->bg = prim_mostcolor(&grid);
    if (sink == PRIM_paint) {
        if (x->g.h * x->g.w > INTO_GRID_MAX_CELLS)
            return false;
        size_t words = (size_t)((x->g.h * x->g.w + 63) / 64);
        x->painted = dsl_alloc(words * sizeof(uint64_t) + 1);
        memset(x->painted, 0, words * sizeof(uint64_t));
    }
    mgrid_rows(&x->g, grid);
    return true;
}

/* One write at (i, j) (v: fill's value, or the cell's colour for paint); false when paint comes
 * back to a place it wrote with another colour: then the merged patch's order would decide. */
static inline bool into_grid_write(struct into_grid *x, int64_t i, int64_t j, val v)
{
    if (i < 0 || i >= x->g.h || j < 0 || j >= x->g.w)
        return true;
    if (x->sink == PRIM_paint) {
        uint64_t b = (uint64_t)(i * x->g.w + j);
        if (x->painted[b >> 6] >> (b & 63) & 1)
            return val_same_object(mgrid_get(&x->g, i, j), v);
        x->painted[b >> 6] |= (uint64_t)1 << (b & 63);
    } else if (x->sink == PRIM_underfill && !val_eq(mgrid_get(&x->g, i, j), x->bg)) {
        return true;
    }
    mgrid_set(&x->g, i, j, v);
    return true;
}

/* Each copy of dsl_mapply_copies written (copies wholly outside the grid skipped). */
static bool copies_into_grid(struct into_grid *x, const struct dsl_copies *c, val value)
{
    bool paint = x->sink == PRIM_paint;
    for (int64_t k = 0; k < c->m && c->n > 0; k++) {
        int64_t di = c->offset[k].u.t->item[0].u.i, dj = c->offset[k].u.t->item[1].u.i;
        if (c->hi.i + di < 0 || c->lo.i + di >= x->g.h || c->hi.j + dj < 0 || c->lo.j + dj >= x->g.w)
            continue;
        for (int64_t q = 0; q < c->n; q++) {
            if (!into_grid_write(x, c->item[q].i + di, c->item[q].j + dj, paint ? v_int(c->item[q].c) : value))
                return false;
            if ((q & 65535) == 65535)
                DSL_TICK();
        }
        DSL_TICK();
    }
    return true;
}

/* One more result for results_fit_sink: false when it does not fit; *want is the form so far
 * (PF_OTHER: none yet, for fill and underfill). */
static bool result_fits(val r, enum patch_form *want)
{
    if (r.kind != V_SET)
        return false;
    if (set_len(r) == 0)
        return true;
    struct bounds b;
    enum patch_form form = scan_patch(r, &b);
    if (form == PF_OTHER || (*want != PF_OTHER && form != *want))
        return false;
    *want = form;
    return true;
}

/* Whether merge() of these results cannot fail and the sink would read the merged patch the same
 * way whatever its order: sets, all of cells for paint; for fill and underfill all of cells or
 * all of indices (toindices() looks at the first item only); empty ones aside. */
static bool results_fit_sink(enum prim_id sink, const val *r, int64_t n)
{
    enum patch_form want = sink == PRIM_paint ? PF_OBJECT : PF_OTHER;
    for (int64_t k = 0; k < n; k++)
        if (!result_fits(r[k], &want))
            return false;
    return true;
}

static bool results_into_grid(struct into_grid *x, const val *r, int64_t n, val value)
{
    bool paint = x->sink == PRIM_paint;
    for (int64_t k = 0; k < n; k++) {
        if (set_len(r[k]) == 0)
            continue;
        struct bounds b;
        bool object = scan_patch(r[k], &b) == PF_OBJECT;
        int64_t pos = 0;
        val item;
        while (set_next(r[k].u.s, &pos, &item)) {
            val ij = object ? tup_get(item, 1) : item;
            if (!into_grid_write(x, tup_get(ij, 0).u.i, tup_get(ij, 1).u.i, paint ? tup_get(item, 0) : value))
                return false;
        }
        DSL_TICK();
    }
    return true;
}

/* The sink, the plain way, once M is merged. */
static val sink_of(enum prim_id sink, val grid, val value, val merged)
{
    return sink == PRIM_paint ? paint_grid(grid, merged, false) : fill_grid(grid, value, merged, sink == PRIM_underfill);
}

/* mapply(fork(mapply, g, h), container), each result being mapply(g(t), h(t)) for an item t:
 * where that inner mapply is made of copies (dsl_mapply_copies) they are written straight too
 * (perf: solve_6aa20dc0 merges shifted copies of its patterns at their occurrences, then merges
 * those). */
struct nested_part {
    val function, container; /* g(t), h(t) */
    val result;              /* mapply(g(t), h(t)); V_NONE while only its copies are known */
    struct dsl_copies copies;
};

struct nested_job {
    val fork, container;
    bool paint;
    struct nested_part *part;
};

static bool is_fork_of_mapply(val f)
{
    return f.kind == V_FUNC && f.u.f->kind == F_FORK && f.u.f->arity == 1 && fn_is_prim(f.u.f->a, PRIM_mapply);
}

/* The inner mapply's result, at the depth fork's call of it has (its frame and mapply's). */
static val nested_result(struct nested_part *p)
{
    dsl_rt.depth += 2;
    val r = call2(prim_mapply, p->function, p->container);
    dsl_rt.depth -= 2;
    return r;
}

/* apply's loop: each item's g(t) and h(t) in order, then its mapply unless made of copies (those
 * cannot fail), so that failures come in Python's order. */
static void nested_body(void *ctx)
{
    struct nested_job *job = ctx;
    int64_t k = 0, pos = 0;
    val t;
    while (set_next(job->container.u.s, &pos, &t)) {
        struct nested_part *p = &job->part[k++];
        dsl_fork_operands(job->fork, t, &p->function, &p->container);
        p->result = v_none();
        if (!dsl_mapply_copies(p->function, p->container, &p->copies) ||
            (job->paint && !p->copies.object && p->copies.n != 0))
            p->result = nested_result(p);
    }
}

static val nested_into_grid(enum prim_id sink, val grid, val value, val fork, val container)
{
    int64_t n = set_len(container);
    struct nested_job job = { fork, container, sink == PRIM_paint,
                              dsl_alloc((size_t)(n + 1) * sizeof(struct nested_part)) };
    dsl_run_as_generator(nested_body, &job);
    enum patch_form want = sink == PRIM_paint ? PF_OBJECT : PF_OTHER;
    bool fit = true;
    for (int64_t k = 0; k < n && fit; k++) {
        const struct nested_part *p = &job.part[k];
        if (p->result.kind != V_NONE) {
            fit = result_fits(p->result, &want);
        } else if (p->copies.n != 0) {
            enum patch_form form = p->copies.object ? PF_OBJECT : PF_INDICES;
            fit = want == PF_OTHER || want == form;
            want = form;
        }
    }
    struct into_grid x;
    if (fit && into_grid_begin(&x, sink, grid)) {
        bool ok = true;
        for (int64_t k = 0; k < n && ok; k++) {
            const struct nested_part *p = &job.part[k];
            ok = p->result.kind != V_NONE ? results_into_grid(&x, &p->result, 1, value)
                                          : copies_into_grid(&x, &p->copies, value);
        }
        if (ok) {
            dsl_rt.grid_sinks++;
            return mgrid_close(&x.g);
        }
    }
    val *r = dsl_alloc((size_t)(n + 1) * sizeof(val));
    for (int64_t k = 0; k < n; k++)
        r[k] = job.part[k].result.kind != V_NONE ? job.part[k].result : nested_result(&job.part[k]);
    val mapped = dsl_apply_collected(container, r);
    return sink_of(sink, grid, value, prim_merge(&mapped));
}

/* a: the sink and the producer (ints), grid, value, the producer's two operands */
static val into_grid_body(const val *a)
{
    enum prim_id sink = (enum prim_id)a[0].u.i, producer = (enum prim_id)a[1].u.i;
    val grid = a[2], value = a[3];
    struct into_grid x;
    struct dsl_copies c;
    val merged;
    if (producer == PRIM_ofcolor) {
        /* ofcolor(p0, p1): the places of p1 in p0, written where they are found (the rows
         * must be tuples, so that ofcolor cannot fail before the sink's work) */
        int64_t h = 0;
        val of = a[4], colour = a[5];
        bool rows_ok = of.kind == V_TUPLE;
        const val *rows = rows_ok ? val_items(of, &h) : NULL;
        for (int64_t i = 0; i < h && rows_ok; i++)
            rows_ok = rows[i].kind == V_TUPLE;
        if (rows_ok && into_grid_begin(&x, sink, grid)) {
            for (int64_t i = 0; i < h; i++) {
                const struct vtuple *row = rows[i].u.t;
                for (uint32_t j = 0; j < row->len; j++) {
                    if (val_eq_fast(row->item[j], colour))
                        into_grid_write(&x, i, j, value);
                }
                DSL_TICK();
            }
            dsl_rt.grid_sinks++;
            return mgrid_close(&x.g);
        }
        merged = call2(prim_ofcolor, of, colour);
    } else if (producer == PRIM_mfilter) {
        /* the kept patches, then merge() (sfilter keeps its items' stored hashes: cheap) */
        val filtered = call2(prim_sfilter, a[4], a[5]);
        int64_t n = 0;
        const val *r = filtered.kind == V_SET ? val_items(filtered, &n) : NULL;
        if (r != NULL && results_fit_sink(sink, r, n) && into_grid_begin(&x, sink, grid) &&
            results_into_grid(&x, r, n, value)) {
            dsl_rt.grid_sinks++;
            return mgrid_close(&x.g);
        }
        merged = prim_merge(&filtered);
    } else if (dsl_mapply_copies(a[4], a[5], &c)) {
        /* nothing can fail before the sink: paint of indices fails the plain way */
        if ((sink != PRIM_paint || c.object || c.n == 0) && into_grid_begin(&x, sink, grid) &&
            copies_into_grid(&x, &c, value)) {
            dsl_rt.grid_sinks++;
            return mgrid_close(&x.g);
        }
        merged = call2(prim_mapply, a[4], a[5]);
    } else if (a[5].kind == V_SET && is_fork_of_mapply(a[4])) {
        return nested_into_grid(sink, grid, value, a[4], a[5]);
    } else if (a[5].kind == V_SET) {
        const val *r = dsl_apply_each(a[4], a[5]);
        int64_t n = set_len(a[5]);
        if (results_fit_sink(sink, r, n) && into_grid_begin(&x, sink, grid) && results_into_grid(&x, r, n, value)) {
            dsl_rt.grid_sinks++;
            return mgrid_close(&x.g);
        }
        val mapped = dsl_apply_collected(a[5], r);
        merged = prim_merge(&mapped);
    } else {
        merged = call2(prim_mapply, a[4], a[5]);
    }
    return sink_of(sink, grid, value, merged);
}

val dsl_sink_into_grid(enum prim_id sink, val grid, val value, enum prim_id producer, val p0, val p1)
{
    val a[6] = { v_int(sink), v_int(producer), grid, value, p0, p1 };
    return dsl_call_keeping_result(into_grid_body, a);
}

val prim_cover(const val *a)
{
    val grid = a[0], patch = a[1];
    val bg = prim_mostcolor(&grid);
    struct bounds b;
    /* toindices of a plain object cannot fail and fill only needs its positions */
    val indices = scan_patch(patch, &b) == PF_OBJECT ? patch : prim_toindices(&patch);
    return fill_grid(grid, bg, indices, false);
}

val prim_move(const val *a)
{
    val covered = prim_cover(a);
    val shifted = call2(prim_shift, a[1], a[2]);
    return call2(prim_paint, covered, shifted);
}

/* ======================================================================================
 * Scaling
 * ====================================================================================== */

/* len(items) * max(factor, 0) as a tuple length (memout when no memory could hold it). */
static int64_t scaled_len(int64_t n, int64_t factor)
{
    if (factor <= 0 || n == 0)
        return 0;
    if (factor > (int64_t)UINT32_MAX || n > (int64_t)UINT32_MAX / factor)
        dsl_memout();
    return n * factor;
}

/* Each item repeated factor times (dsl.py's `r + tuple(value for num in range(factor))`). */
static val stretch_row(const val *items, int64_t n, int64_t factor)
{
    int64_t len = scaled_len(n, factor);
    if (len == 0)
        return tuple_empty();
    struct vtuple *t = tup_alloc(len);
    int64_t k = 0;
    for (int64_t x = 0; x < n; x++) {
        for (int64_t r = 0; r < factor; r++)
            t->item[k++] = items[x];
        if ((x & 1023) == 1023 || factor > 4096)
            DSL_TICK();
    }
    return v_tuple(t);
}

/* hupscale and the rows of upscale: range(factor) is evaluated once per item, so a bad factor
 * only raises when the row is non-empty. */
static val stretch_row_checked(val row, val factor)
{
    int64_t n;
    const val *items = val_items(row, &n);
    if (n == 0)
        return tuple_empty();
    return stretch_row(items, n, range_arg(factor));
}

val prim_hupscale(const val *a)
{
    int64_t n;
    const val *rows = val_items(a[0], &n);
    if (n == 0)
        return tuple_empty();
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++) {
        out->item[k] = stretch_row_checked(rows[k], a[1]);
        DSL_TICK();
    }
    return v_tuple(out);
}

/* Rows each repeated factor times; range(factor) is evaluated once per row (so a bad factor
 * raises only when there is a row). */
static val repeat_rows(const val *rows, int64_t n, val factor)
{
    if (n == 0)
        return tuple_empty();
    int64_t f = range_arg(factor);
    int64_t total = scaled_len(n, f);
    if (total == 0)
        return tuple_empty();
    int64_t pos = 0;
    struct vtuple *out = tup_alloc(total);
    for (int64_t k = 0; k < n; k++) {
        for (int64_t r = 0; r < f; r++)
            out->item[pos++] = rows[k];
        DSL_TICK();
    }
    return v_tuple(out);
}

val prim_vupscale(const val *a)
{
    int64_t n;
    const val *rows = val_items(a[0], &n);
    return repeat_rows(rows, n, a[1]);
}

/* upscale of an object: scaled about its upper-left corner. */
static val upscale_object(val obj, val factor)
{
    if (val_len(obj) == 0)
        return set_empty();
    val di_inv, dj_inv;
    val_unpack2(call1(prim_ulcorner, obj), &di_inv, &dj_inv);
    val normed = call2(prim_shift, obj, tuple_pair(py_neg(di_inv), py_neg(dj_inv)));
    struct vset *o = set_new();
    struct val_iter it;
    val item, v, ij, i, j;
    val_iter_init(&it, normed);
    while (val_iter_next(&it, &item)) {
        val_unpack2(item, &v, &ij);
        val_unpack2(ij, &i, &j);
        int64_t f = range_arg(factor);
        if (f > 65536)
            dsl_memout(); /* f*f cells per item: no memory holds them */
        for (int64_t io = 0; io < f; io++) {
            int64_t ni = int_add(int_mul(range_arg(i), f), io);
            for (int64_t jo = 0; jo < f; jo++) {
                int64_t nj = int_add(int_mul(range_arg(j), f), jo);
                set_add(o, tuple_cell(v, ni, nj));
            }
            DSL_TICK();
        }
    }
    val scaled = frozenset_of(v_set(o));
    return call2(prim_shift, scaled, tuple_pair(di_inv, dj_inv));
}

val prim_upscale(const val *a)
{
    val element = a[0], factor = a[1];
    if (!v_is_tuple(element))
        return upscale_object(element, factor);
    int64_t n = tup_len(element);
    val *wide = dsl_alloc((size_t)(n ? n : 1) * sizeof(val));
    for (int64_t k = 0; k < n; k++) {
        wide[k] = stretch_row_checked(element.u.t->item[k], factor);
        DSL_TICK();
    }
    return repeat_rows(wide, n, factor);
}

val prim_downscale(const val *a)
{
    val grid = a[0], factor = a[1];
    int64_t h = val_len(grid), w = first_row_len(grid);
    /* h > 0 here (grid[0] worked): `j % factor` or `i % factor` runs before any cell is read */
    if (!v_is_int(factor))
        raise_operands("%", v_int(0), factor);
    int64_t f = factor.u.i;
    if (f == 0)
        dsl_raise(EXC_ZERO_DIVISION, "integer division or modulo by zero");
    uint64_t step = f < 0 ? (uint64_t)0 - (uint64_t)f : (uint64_t)f;
    int64_t kept_w = (int64_t)(((uint64_t)w + step - 1) / step);
    val *rows = dsl_alloc((size_t)h * sizeof(val));
    for (int64_t i = 0; i < h; i++) {
        if (kept_w == 0) {
            rows[i] = tuple_empty();
            continue;
        }
        struct vtuple *r = tup_alloc(kept_w);
        for (int64_t x = 0; x < kept_w; x++)
            r->item[x] = at2(grid, i, (int64_t)((uint64_t)x * step));
        rows[i] = v_tuple(r);
        DSL_TICK();
    }
    int64_t kept_h = (int64_t)(((uint64_t)h + step - 1) / step);
    struct vtuple *out = tup_alloc(kept_h);
    for (int64_t x = 0; x < kept_h; x++)
        out->item[x] = rows[(uint64_t)x * step];
    return v_tuple(out);
}

/* ======================================================================================
 * Concatenation, subgrids, splitting, halves, trim
 * ====================================================================================== */

val prim_hconcat(const val *a)
{
    int64_t na, nb;
    if (!v_is_tuple(a[0]) && !v_is_set(a[0]))
        raise_not_iterable(a[0]);
    if (!v_is_tuple(a[1]) && !v_is_set(a[1]))
        raise_not_iterable(a[1]);
    const val *ra = val_items(a[0], &na);
    const val *rb = val_items(a[1], &nb);
    int64_t n = na < nb ? na : nb;
    if (n == 0)
        return tuple_empty();
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = py_add(ra[k], rb[k]);
    return v_tuple(out);
}

val prim_vconcat(const val *a) { return py_add(a[0], a[1]); }

/* crop(grid, (si, sj), (h, w)) = tuple(r[sj:sj+w] for r in grid[si:si+h]); rows that lie in a
 * uniform tail are shared through share (NULL: within this crop only). */
static val crop_grid_shared(val grid, int64_t si, int64_t sj, int64_t h, int64_t w, struct slice_share *share)
{
    val rows = val_slice(grid, si, int_add(si, h));
    int64_t n = tup_len(rows);
    if (n == 0)
        return rows;
    int64_t sj_end = int_add(sj, w);
    struct slice_share own = { 0 };
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = val_slice_shared(rows.u.t->item[k], sj, sj_end, share != NULL ? share : &own);
    return v_tuple(out);
}

static val crop_grid(val grid, int64_t si, int64_t sj, int64_t h, int64_t w)
{
    return crop_grid_shared(grid, si, sj, h, w, NULL);
}

val prim_subgrid(const val *a)
{
    val patch = a[0], grid = a[1];
    struct bounds b;
    if (scan_patch(patch, &b) != PF_OTHER)
        return crop_grid(grid, b.imin, b.jmin, b.imax - b.imin + 1, b.jmax - b.jmin + 1);
    val start = call1(prim_ulcorner, patch);
    val dims = call1(prim_shape, patch);
    return call3(prim_crop, grid, start, dims);
}

/* hsplit/vsplit: n pieces of `size` rows or columns, one separator skipped between pieces
 * when the length is not a multiple of n. */
static val split_grid(val grid, int64_t n, int64_t size, bool offset, int64_t h, int64_t w,
                      bool horizontal)
{
    if (n <= 0)
        return tuple_empty();
    struct vtuple *out = tup_alloc(n);
    struct slice_share share = { 0 }; /* rows of zeros cut from a canvas' padding */
    for (int64_t i = 0; i < n; i++) {
        int64_t start = int_add(int_mul(size, i), offset ? i : 0);
        out->item[i] = horizontal ? crop_grid_shared(grid, 0, start, h, w, &share) : crop_grid(grid, start, 0, h, w);
        DSL_TICK();
    }
    return v_tuple(out);
}

static int64_t split_count(val n)
{
    if (!v_is_int(n))
        raise_operands("//", v_int(0), n);
    if (n.u.i == 0)
        dsl_raise(EXC_ZERO_DIVISION, "integer division or modulo by zero");
    return n.u.i;
}

val prim_hsplit(const val *a)
{
    val grid = a[0];
    int64_t h = val_len(grid);
    int64_t width = first_row_len(grid);
    int64_t n = split_count(a[1]);
    int64_t w = int_floordiv(width, n);
    bool offset = int_mod(width, n) != 0;
    return split_grid(grid, n, w, offset, h, w, true);
}

val prim_vsplit(const val *a)
{
    val grid = a[0];
    int64_t height = val_len(grid);
    int64_t n = split_count(a[1]);
    int64_t h = int_floordiv(height, n);
    int64_t w = first_row_len(grid);
    bool offset = int_mod(height, n) != 0;
    return split_grid(grid, n, h, offset, h, w, false);
}

val prim_tophalf(const val *a)
{
    int64_t n = val_len(a[0]);
    return val_slice(a[0], SLICE_NONE, n / 2);
}

val prim_bottomhalf(const val *a)
{
    int64_t n = val_len(a[0]);
    return val_slice(a[0], n / 2 + n % 2, SLICE_NONE);
}

/* Width of a grid whose rows are all tuples of one length (0 when it is not such a grid). */
static int64_t rect_width(val grid)
{
    if (grid.kind != V_TUPLE || tup_len(grid) == 0)
        return 0;
    val first = tup_get(grid, 0);
    if (first.kind != V_TUPLE)
        return 0;
    int64_t w = tup_len(first);
    for (uint32_t k = 1; k < tup_len(grid); k++) {
        val row = tup_get(grid, k);
        if (row.kind != V_TUPLE || tup_len(row) != w)
            return 0;
    }
    return w;
}

/* lefthalf/righthalf of a rectangular grid: the rotations of dsl.py amount to slicing every
 * row (and give () when the half is empty). */
static val column_half(val grid, bool right)
{
    int64_t w = rect_width(grid);
    if (w == 0) {
        val x = prim_rot90(&grid);
        x = right ? prim_bottomhalf(&x) : prim_tophalf(&x);
        return prim_rot270(&x);
    }
    int64_t half = w / 2;
    if (half == 0)
        return tuple_empty();
    int64_t n = tup_len(grid);
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = right ? val_slice(grid.u.t->item[k], w - half, SLICE_NONE)
                             : val_slice(grid.u.t->item[k], 0, half);
    return v_tuple(out);
}

val prim_lefthalf(const val *a) { return column_half(a[0], false); }
val prim_righthalf(const val *a) { return column_half(a[0], true); }

val prim_trim(const val *a)
{
    val rows = val_slice(a[0], 1, -1);
    int64_t n = tup_len(rows);
    if (n == 0)
        return rows;
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = val_slice(rows.u.t->item[k], 1, -1);
    return v_tuple(out);
}

/* ======================================================================================
 * Cell-wise colour maps
 * ====================================================================================== */

val prim_cellwise(const val *a)
{
    val ga = a[0], gb = a[1], fallback = a[2];
    int64_t h = val_len(ga), w = first_row_len(ga); /* h > 0: a[0] exists */
    struct vtuple *out = tup_alloc(h);
    for (int64_t i = 0; i < h; i++) {
        if (w == 0) {
            out->item[i] = tuple_empty();
            continue;
        }
        struct vtuple *row = tup_alloc(w);
        for (int64_t j = 0; j < w; j++) {
            val va = at2(ga, i, j);
            val vb = at2(gb, i, j);
            row->item[j] = int_like_eq(va, vb) ? va : fallback;
        }
        out->item[i] = v_tuple(row);
        DSL_TICK();
    }
    return v_tuple(out);
}

/* A row of replace (x -> y) or switch (x <-> y); the row itself when nothing changed. */
static val map_row(val row, val x, val y, bool swap)
{
    int64_t n;
    const val *items = val_items(row, &n);
    struct vtuple *out = NULL;
    for (int64_t k = 0; k < n; k++) {
        val v = items[k], nv = v;
        if (!swap) {
            if (int_like_eq(v, x))
                nv = y;
        } else {
            bool is_x = int_like_eq(v, x), is_y = int_like_eq(v, y);
            /* {a: b, b: a}[v]: with a == b the dict is {a: a} */
            if (is_y)
                nv = x;
            else if (is_x)
                nv = y;
        }
        if (out == NULL && (nv.kind != v.kind || nv.u.i != v.u.i || row.kind != V_TUPLE)) {
            out = tup_alloc(n);
            memcpy(out->item, items, (size_t)k * sizeof(val));
        }
        if (out != NULL)
            out->item[k] = nv;
    }
    if (out == NULL)
        return n == 0 ? tuple_empty() : row;
    return v_tuple(out);
}

static val map_grid(val grid, val x, val y, bool swap)
{
    int64_t n;
    const val *rows = val_items(grid, &n);
    if (n == 0)
        return tuple_empty();
    struct vtuple *out = tup_alloc(n);
    for (int64_t k = 0; k < n; k++)
        out->item[k] = map_row(rows[k], x, y, swap);
    return v_tuple(out);
}

val prim_replace(const val *a) { return map_grid(a[0], a[1], a[2], false); }
val prim_switch(const val *a) { return map_grid(a[0], a[1], a[2], true); }

/* ======================================================================================
 * Centres, positions, cells, canvases
 * ====================================================================================== */

static val center_of_bounds(const struct bounds *b)
{
    return tuple_ints(b->imin + (b->imax - b->imin + 1) / 2, b->jmin + (b->jmax - b->jmin + 1) / 2);
}

val prim_center(const val *a)
{
    val patch = val_load(&a[0]);
    struct bounds b;
    if (scan_patch(patch, &b) != PF_OTHER)
        return center_of_bounds(&b);
    val top = prim_uppermost(&patch);
    int64_t half_h = py_floordiv_int(prim_height(&patch), 2);
    val ci = py_add_int(top, half_h);
    val left = prim_leftmost(&patch);
    int64_t half_w = py_floordiv_int(prim_width(&patch), 2);
    return tuple_pair(ci, py_add_int(left, half_w));
}

/* center(toindices(p)) */
static val center_of_indices(val p)
{
    struct bounds b;
    if (scan_patch(p, &b) != PF_OTHER)
        return center_of_bounds(&b);
    val ind = prim_toindices(&p);
    return prim_center(&ind);
}

val prim_position(const val *a)
{
    val ia, ja, ib, jb;
    val_unpack2(center_of_indices(a[0]), &ia, &ja);
    val_unpack2(center_of_indices(a[1]), &ib, &jb);
    if (val_eq(ia, ib))
        return tuple_ints(0, val_lt(ja, jb) ? 1 : -1);
    if (val_eq(ja, jb))
        return tuple_ints(val_lt(ia, ib) ? 1 : -1, 0);
    if (val_lt(ia, ib))
        return tuple_ints(1, val_lt(ja, jb) ? 1 : -1);
    if (val_lt(ib, ia))
        return tuple_ints(-1, val_lt(ja, jb) ? 1 : -1);
    return v_none();
}

val prim_index(const val *a)
{
    val grid = a[0], loc = a[1], i, j;
    val_unpack2(loc, &i, &j);
    int64_t h = val_len(grid), w = first_row_len(grid);
    if (!(within(i, h) && within(j, w)))
        return v_none();
    return val_index(val_index(grid, val_as_int(val_index(loc, 0), "index")),
                     val_as_int(val_index(loc, 1), "index"));
}

val prim_canvas(const val *a)
{
    val value = a[0], dims = a[1];
    int64_t h = range_arg(val_index(dims, 0));
    if (h <= 0)
        return tuple_empty();
    int64_t w = range_arg(val_index(dims, 1));
    if (w < 0)
        w = 0;
    /* Python allocates every row; we share one, but charge the whole grid against the cap */
    if (h > (int64_t)UINT32_MAX || w > (int64_t)UINT32_MAX)
        dsl_memout();
    if (dsl_rt.arena_cap != 0 &&
        (uint64_t)h * (uint64_t)w > (dsl_rt.arena_cap - dsl_rt.arena_used) / sizeof(val))
        dsl_memout();
    val row = tuple_empty();
    if (w > 0) {
        struct vtuple *r = tuple_of_copies((uint32_t)w, value);
        tuple_mark_uniform(r, 0);
        row = v_tuple(r);
    }
    struct vtuple *out = tup_alloc(h);
    for (int64_t i = 0; i < h; i++)
        out->item[i] = row;
    return v_tuple(out);
}

val prim_corners(const val *a)
{
    val patch = a[0];
    struct bounds b;
    struct vset *s = set_new();
    if (scan_patch(patch, &b) != PF_OTHER) {
        set_add(s, tuple_ints(b.imin, b.jmin));
        set_add(s, tuple_ints(b.imin, b.jmax));
        set_add(s, tuple_ints(b.imax, b.jmin));
        set_add(s, tuple_ints(b.imax, b.jmax));
    } else {
        val ul = prim_ulcorner(&patch), ur = prim_urcorner(&patch);
        val ll = prim_llcorner(&patch), lr = prim_lrcorner(&patch);
        set_add(s, ul);
        set_add(s, ur);
        set_add(s, ll);
        set_add(s, lr);
    }
    return frozenset_of(v_set(s));
}

/* ======================================================================================
 * Lines, frontiers, boxes
 * ====================================================================================== */

/* The iterations of a long set-building loop tick every 1024 adds. */
static void tick_every(int64_t k)
{
    if ((k & 1023) == 1023)
        DSL_TICK();
}

bool dsl_line_shape(int64_t ai, int64_t aj, int64_t bi, int64_t bj, struct line_shape *l)
{
    int64_t si = ai < bi ? ai : bi, ei = (ai < bi ? bi : ai) + 1;
    int64_t sj = aj < bj ? aj : bj, ej = (aj < bj ? bj : aj) + 1;
    if (ai == bi) {
        *l = (struct line_shape){ ej - sj, ai, sj, 0, 1 };
    } else if (aj == bj) {
        *l = (struct line_shape){ ei - si, si, aj, 1, 0 };
    } else if (bi - ai == bj - aj) {
        *l = (struct line_shape){ ei - si, si, sj, 1, 1 };
    } else if (bi - ai == aj - bj) {
        *l = (struct line_shape){ ei - si, si, ej - 1, 1, -1 };
    } else {
        return false;
    }
    return true;
}

/* A point connect_plain takes: a pair of plain ints of moderate size. */
static bool is_coord_pair(val v)
{
    if (v.kind != V_TUPLE || v.u.t->len != 2)
        return false;
    for (int k = 0; k < 2; k++) {
        val c = v.u.t->item[k];
        if (c.kind != V_INT || c.u.i <= -DSL_LINE_COORD_LIMIT || c.u.i >= DSL_LINE_COORD_LIMIT)
            return false;
    }
    return true;
}

/* connect() of two plain-int points (coordinates of moderate size, so nothing overflows): the
 * same sets, added in the same order as below, without Python's generic arithmetic (perf:
 * solve_22168020 connects every pair of a colour's cells). */
static bool connect_plain(val a, val b, val *result)
{
    if (a.kind != V_TUPLE || b.kind != V_TUPLE || a.u.t->len != 2 || b.u.t->len != 2)
        return false;
    const val *p = a.u.t->item, *q = b.u.t->item;
    int64_t c[4];
    for (int k = 0; k < 4; k++) {
        val v = k < 2 ? p[k] : q[k - 2];
        if (v.kind != V_INT || v.u.i <= -DSL_LINE_COORD_LIMIT || v.u.i >= DSL_LINE_COORD_LIMIT)
            return false;
        c[k] = v.u.i;
    }
    struct line_shape l;
    if (!dsl_line_shape(c[0], c[1], c[2], c[3], &l)) {
        *result = set_empty(); /* most pairs of a product */
        return true;
    }
    struct vset *s = set_new();
    for (int64_t k = 0; k < l.n; k++) {
        set_add(s, tuple_ints(l.i0 + l.di * k, l.j0 + l.dj * k));
        tick_every(k);
    }
    *result = set_freeze(s);
    /* its bounding box, known from its ends (perf: vline and hline of each line recoloured from
     * a product's pairs, solve_06df4c85, scanned every line; recolor passes the box on) */
    int64_t j_end = l.j0 + l.dj * (l.n - 1);
    set_patch_facts(s, PF_INDICES, l.i0, l.i0 + l.di * (l.n - 1), l.j0 < j_end ? l.j0 : j_end,
                    l.j0 < j_end ? j_end : l.j0, true);
    return true;
}

/* The lines added to a set so far, by their unordered end points and colour (dsl.h,
 * dsl_lines_add). */
#define LINE_KEY 5 /* the smaller end point, the larger, the colour (0 for plain lines) */
struct dsl_lines {
    uint64_t mask, used;
    int64_t *key; /* LINE_KEY per slot; key[0] == INT64_MIN: free (no coordinate is) */
};

struct dsl_lines *dsl_lines_new(void)
{
    struct dsl_lines *ls = dsl_alloc(sizeof(*ls));
    ls->mask = 63;
    ls->used = 0;
    ls->key = dsl_alloc(64 * LINE_KEY * sizeof(int64_t));
    for (uint64_t k = 0; k < 64; k++)
        ls->key[LINE_KEY * k] = INT64_MIN;
    return ls;
}

static uint64_t lines_hash(const int64_t *e)
{
    uint64_t h = 0x9E3779B97F4A7C15u;
    for (int k = 0; k < LINE_KEY; k++)
        h = (h ^ (uint64_t)e[k]) * 0xC2B2AE3D27D4EB4Fu;
    return h ^ (h >> 31);
}

/* Whether key e was seen; notes it if not. */
static bool lines_seen(struct dsl_lines *ls, const int64_t *e)
{
    if ((ls->used + 1) * 2 > ls->mask + 1) {
        uint64_t old_slots = ls->mask + 1;
        int64_t *old = ls->key;
        ls->mask = old_slots * 2 - 1;
        ls->key = dsl_alloc((ls->mask + 1) * LINE_KEY * sizeof(int64_t));
        for (uint64_t k = 0; k <= ls->mask; k++)
            ls->key[LINE_KEY * k] = INT64_MIN;
        for (uint64_t k = 0; k < old_slots; k++) {
            if (old[LINE_KEY * k] == INT64_MIN)
                continue;
            uint64_t i = lines_hash(&old[LINE_KEY * k]) & ls->mask;
            while (ls->key[LINE_KEY * i] != INT64_MIN)
                i = (i + 1) & ls->mask;
            memcpy(&ls->key[LINE_KEY * i], &old[LINE_KEY * k], LINE_KEY * sizeof(int64_t));
        }
    }
    for (uint64_t i = lines_hash(e) & ls->mask;; i = (i + 1) & ls->mask) {
        int64_t *slot = &ls->key[LINE_KEY * i];
        if (slot[0] == INT64_MIN) {
            memcpy(slot, e, LINE_KEY * sizeof(int64_t));
            ls->used++;
            return false;
        }
        if (memcmp(slot, e, LINE_KEY * sizeof(int64_t)) == 0)
            return true;
    }
}

bool dsl_lines_add(struct dsl_lines *ls, struct vset *out, val a, val b, val colour)
{
    DSL_TICK(); /* as the call of connect it replaces */
    bool recolour = colour.kind != V_NONE;
    if (!is_coord_pair(a) || !is_coord_pair(b) || (recolour && colour.kind != V_INT))
        return false;
    int64_t ai = a.u.t->item[0].u.i, aj = a.u.t->item[1].u.i, bi = b.u.t->item[0].u.i, bj = b.u.t->item[1].u.i;
    struct line_shape l;
    if (!dsl_line_shape(ai, aj, bi, bj, &l)) {
        set_add(out, set_empty()); /* recolor() of the empty line is the empty set too */
        return true;
    }
    bool a_first = ai < bi || (ai == bi && aj <= bj);
    int64_t e[LINE_KEY] = { a_first ? ai : bi, a_first ? aj : bj, a_first ? bi : ai, a_first ? bj : aj,
                            recolour ? colour.u.i : 0 };
    if (lines_seen(ls, e)) {
        dsl_rt.lines_skipped++;
        return true; /* connect(b, a) == connect(a, b), already in out: adding it changes nothing */
    }
    val line;
    connect_plain(a, b, &line);
    set_add(out, recolour ? call2(prim_recolor, colour, line) : line);
    return true;
}

val prim_connect(const val *a)
{
    val plain;
    if (connect_plain(a[0], a[1], &plain))
        return plain;
    val ai, aj, bi, bj;
    val_unpack2(a[0], &ai, &aj);
    val_unpack2(a[1], &bi, &bj);
    val si = py_min2(ai, bi);
    val ei = py_add_int(py_max2(ai, bi), 1);
    val sj = py_min2(aj, bj);
    val ej = py_add_int(py_max2(aj, bj), 1);
    struct vset *s;
    if (val_eq(ai, bi)) {
        s = set_new();
        int64_t lo = range_arg(sj), hi = range_arg(ej);
        for (int64_t j = lo; j < hi; j++) {
            set_add(s, tuple_pair(ai, v_int(j)));
            tick_every(j - lo);
        }
        return set_freeze(s);
    }
    if (val_eq(aj, bj)) {
        s = set_new();
        int64_t lo = range_arg(si), hi = range_arg(ei);
        for (int64_t i = lo; i < hi; i++) {
            set_add(s, tuple_pair(v_int(i), aj));
            tick_every(i - lo);
        }
        return set_freeze(s);
    }
    bool diagonal = val_eq(py_sub(bi, ai), py_sub(bj, aj));
    if (!diagonal && !val_eq(py_sub(bi, ai), py_sub(aj, bj)))
        return set_empty(); /* most pairs of a product (perf: no set made for them) */
    s = set_new();
    /* zip(range(si, ei), range(sj, ej)) or zip(range(si, ei), range(ej - 1, sj - 1, -1)) */
    int64_t i0 = range_arg(si), i1 = range_arg(ei);
    int64_t j0, n;
    if (diagonal) {
        j0 = range_arg(sj);
        n = int_sub(range_arg(ej), j0);
    } else {
        j0 = range_arg(py_sub_int(ej, 1));
        n = int_sub(j0, range_arg(py_sub_int(sj, 1)));
    }
    if (int_sub(i1, i0) < n)
        n = i1 - i0;
    for (int64_t k = 0; k < n; k++) {
        set_add(s, tuple_ints(i0 + k, diagonal ? j0 + k : j0 - k));
        tick_every(k);
    }
    return set_freeze(s);
}

val prim_shoot(const val *a)
{
    val start = a[0], direction = a[1];
    /* Python evaluates start[0] before 42 * direction[0]: which error wins depends on it, so
     * every operand gets its own statement (C leaves argument order unspecified). */
    val s0 = val_index(start, 0);
    val ti = py_add(s0, py_mul_int(42, val_index(direction, 0)));
    val s1 = val_index(start, 1);
    val tj = py_add(s1, py_mul_int(42, val_index(direction, 1)));
    val args[2] = { start, tuple_pair(ti, tj) };
    return prim_connect(args);
}

/* frozenset((i, location[1]) for i in range(30)) or the row version. */
static val frontier(val location, bool vertical)
{
    struct vset *s = set_new();
    for (int64_t k = 0; k < 30; k++) {
        if (vertical)
            set_add(s, tuple_pair(v_int(k), val_index(location, 1)));
        else
            set_add(s, tuple_pair(val_index(location, 0), v_int(k)));
    }
    return set_freeze(s);
}

val prim_vfrontier(const val *a) { return frontier(a[0], true); }
val prim_hfrontier(const val *a) { return frontier(a[0], false); }

/* frozenset((i, j) for i in range(si, ei + 1) for j in range(sj, ej + 1)) */
static val box_cells(val si, val sj, val ei, val ej)
{
    struct vset *s = set_new();
    int64_t i0 = range_arg(si), i1 = range_arg(py_add_int(ei, 1));
    for (int64_t i = i0; i < i1; i++) {
        int64_t j0 = range_arg(sj), j1 = range_arg(py_add_int(ej, 1));
        for (int64_t j = j0; j < j1; j++) {
            set_add(s, tuple_ints(i, j));
            tick_every(j - j0);
        }
        DSL_TICK();
    }
    return set_freeze(s);
}

val prim_backdrop(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return set_empty();
    struct bounds b;
    if (scan_patch(patch, &b) != PF_OTHER)
        return box_cells(v_int(b.imin), v_int(b.jmin), v_int(b.imax), v_int(b.jmax));
    val indices = prim_toindices(&patch);
    val si, sj, ei, ej;
    val_unpack2(prim_ulcorner(&indices), &si, &sj);
    val_unpack2(prim_lrcorner(&patch), &ei, &ej);
    return box_cells(si, sj, ei, ej);
}

val prim_delta(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return set_empty();
    val bd = prim_backdrop(&patch);
    val indices = prim_toindices(&patch);
    if (!v_is_set(indices))
        raise_operands("-", bd, indices);
    return set_freeze(set_sub(bd.u.s, indices));
}

/* A set comprehension {(i, fixed) for i in range(lo, hi)} (or (fixed, i) when !fixed_last). */
static struct vset *line_set(int64_t lo, int64_t hi, val fixed, bool fixed_last)
{
    struct vset *s = set_new();
    for (int64_t k = lo; k < hi; k++) {
        set_add(s, fixed_last ? tuple_pair(v_int(k), fixed) : tuple_pair(fixed, v_int(k)));
        tick_every(k - lo);
    }
    return s;
}

/* The outline of inbox/outbox/box from the four corner numbers:
 *   vlines = {(i, sj) ...} | {(i, ej) ...}; hlines = {(si, j) ...} | {(ei, j) ...};
 *   frozenset(vlines | hlines) */
static val outline(val ai, val aj, val bi, val bj)
{
    val si = py_min2(ai, bi), sj = py_min2(aj, bj);
    val ei = py_max2(ai, bi), ej = py_max2(aj, bj);
    int64_t i0 = range_arg(si), i1 = range_arg(py_add_int(ei, 1));
    struct vset *left = line_set(i0, i1, sj, true);
    i0 = range_arg(si);
    i1 = range_arg(py_add_int(ei, 1));
    struct vset *right = line_set(i0, i1, ej, true);
    struct vset *vlines = set_or(left, v_set(right));
    int64_t j0 = range_arg(sj), j1 = range_arg(py_add_int(ej, 1));
    struct vset *top = line_set(j0, j1, si, false);
    j0 = range_arg(sj);
    j1 = range_arg(py_add_int(ej, 1));
    struct vset *bottom = line_set(j0, j1, ei, false);
    struct vset *hlines = set_or(top, v_set(bottom));
    return frozenset_of(v_set(set_or(vlines, v_set(hlines))));
}

/* inbox (grow = -1) and outbox (grow = +1): the outline one cell inside or outside. */
static val shifted_outline(val patch, int64_t grow)
{
    struct bounds b;
    if (scan_patch(patch, &b) != PF_OTHER)
        return outline(v_int(b.imin - grow), v_int(b.jmin - grow), v_int(b.imax + grow),
                       v_int(b.jmax + grow));
    val ai = py_sub_int(prim_uppermost(&patch), grow);
    val aj = py_sub_int(prim_leftmost(&patch), grow);
    val bi = py_add_int(prim_lowermost(&patch), grow);
    val bj = py_add_int(prim_rightmost(&patch), grow);
    return outline(ai, aj, bi, bj);
}

val prim_inbox(const val *a) { return shifted_outline(a[0], -1); }
val prim_outbox(const val *a) { return shifted_outline(a[0], 1); }

val prim_box(const val *a)
{
    val patch = a[0];
    if (val_len(patch) == 0)
        return patch;
    struct bounds b;
    if (scan_patch(patch, &b) != PF_OTHER)
        return outline(v_int(b.imin), v_int(b.jmin), v_int(b.imax), v_int(b.jmax));
    val ai, aj, bi, bj;
    val_unpack2(prim_ulcorner(&patch), &ai, &aj);
    val_unpack2(prim_lrcorner(&patch), &bi, &bj);
    return outline(ai, aj, bi, bj);
}

/* ======================================================================================
 * gravitate
 * ====================================================================================== */

/* adjacent(shift(S, (di, dj)), D) for plain patches: the smallest distance is 1 when no
 * shifted cell lies on D and one of them has a 4-neighbour on D. */
static bool adjacent_shifted(const int64_t *src, int64_t n, const struct pairset *dst, int64_t di,
                             int64_t dj)
{
    bool touching = false;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = src[2 * k] + di, j = src[2 * k + 1] + dj;
        if (pairset_has(dst, i, j))
            return false;
        if (!touching)
            touching = pairset_has(dst, i - 1, j) || pairset_has(dst, i + 1, j) ||
                       pairset_has(dst, i, j - 1) || pairset_has(dst, i, j + 1);
    }
    return touching;
}

static val gravitate_plain(val source, enum patch_form fs, const struct bounds *bs, val dest,
                           enum patch_form fd, const struct bounds *bd)
{
    int64_t si = bs->imin + (bs->imax - bs->imin + 1) / 2, sj = bs->jmin + (bs->jmax - bs->jmin + 1) / 2;
    int64_t di = bd->imin + (bd->imax - bd->imin + 1) / 2, dj = bd->jmin + (bd->jmax - bd->jmin + 1) / 2;
    int64_t ns, nd;
    const int64_t *src = plain_positions(source, fs, &ns);
    const int64_t *dst = plain_positions(dest, fd, &nd);
    struct pairset cells, columns;
    pairset_init(&cells, nd);
    pairset_init(&columns, nd);
    for (int64_t k = 0; k < nd; k++) {
        pairset_add(&cells, dst[2 * k], dst[2 * k + 1]);
        pairset_add(&columns, dst[2 * k + 1], 0);
    }
    bool vmatch = false;
    for (int64_t k = 0; k < ns && !vmatch; k++)
        vmatch = pairset_has(&columns, src[2 * k + 1], 0);
    int64_t stepi = 0, stepj = 0;
    if (vmatch)
        stepi = si < di ? 1 : -1;
    else
        stepj = sj < dj ? 1 : -1;
    int64_t c = 0;
    while (!adjacent_shifted(src, ns, &cells, c * stepi, c * stepj) && c < 42)
        c++;
    return tuple_ints(c * stepi, c * stepj);
}

static val gravitate_generic(val source, val dest)
{
    val si, sj, di, dj;
    val_unpack2(prim_center(&source), &si, &sj);
    val_unpack2(prim_center(&dest), &di, &dj);
    int64_t stepi = 0, stepj = 0;
    if (val_truthy(call2(prim_vmatching, source, dest)))
        stepi = val_lt(si, di) ? 1 : -1;
    else
        stepj = val_lt(sj, dj) ? 1 : -1;
    val step = tuple_ints(stepi, stepj);
    int64_t c = 0;
    while (!val_truthy(call2(prim_adjacent, source, dest)) && c < 42) {
        c++;
        source = call2(prim_shift, source, step);
        DSL_TICK();
    }
    return tuple_ints(c * stepi, c * stepj);
}

val prim_gravitate(const val *a)
{
    struct bounds bs, bd;
    enum patch_form fs = scan_patch(a[0], &bs);
    enum patch_form fd = scan_patch(a[1], &bd);
    if (fs != PF_OTHER && fd != PF_OTHER)
        return gravitate_plain(a[0], fs, &bs, a[1], fd, &bd);
    return gravitate_generic(a[0], a[1]);
}

/* ======================================================================================
 * occurrences
 * ====================================================================================== */

/* A grid whose rows are all tuples at least w long: grid[a][b] cannot fail for b < w. */
static bool rows_at_least(val grid, int64_t w)
{
    for (uint32_t k = 0; k < tup_len(grid); k++) {
        val row = tup_get(grid, k);
        if (row.kind != V_TUPLE || tup_len(row) < w)
            return false;
    }
    return true;
}

/* The placements (i, j), in (i, j) order, of a bh x bw rectangle of cells all equal to c: where
 * the grid's window is all c. From the runs of c to the right of each cell and then, per column,
 * downwards: O(h w) instead of O(h w bh bw) (perf: solve_a64e4611 and 3eda0437 look for blank
 * rectangles of 64 to 81 sizes in every input). */
static void occurrences_of_rectangle(val grid, int64_t h, int64_t bh, int64_t bw, int64_t h2, int64_t w2, val c,
                                     struct vset *occs)
{
    uint8_t *fits = dsl_alloc((size_t)(h * w2)); /* row r holds bw cells equal to c from column j */
    for (int64_t r = 0; r < h; r++) {
        const struct vtuple *row = tup_get(grid, (uint32_t)r).u.t;
        int64_t run = 0;
        for (int64_t j = w2 - 1 + bw - 1; j >= 0; j--) {
            run = int_like_eq(row->item[j], c) ? run + 1 : 0;
            if (j < w2)
                fits[r * w2 + j] = run >= bw;
        }
        DSL_TICK();
    }
    uint8_t *occurs = dsl_alloc((size_t)(h2 * w2));
    for (int64_t j = 0; j < w2; j++) {
        int64_t down = 0;
        for (int64_t r = h - 1; r >= 0; r--) {
            down = fits[r * w2 + j] ? down + 1 : 0;
            if (r < h2)
                occurs[r * w2 + j] = down >= bh;
        }
    }
    for (int64_t i = 0; i < h2; i++)
        for (int64_t j = 0; j < w2; j++)
            if (occurs[i * w2 + j])
                set_add(occs, tuple_ints(i, j));
}

/* Plain object on a grid of full rows: no comparison can raise, so the order in which dsl.py
 * compares the cells does not matter; the matches are added in (i, j) order as in dsl.py. */
static val occurrences_plain(val grid, int64_t h, int64_t w, val obj, const struct bounds *b)
{
    int64_t n = set_len(obj), pos = 0, k = 0;
    int64_t *xy = dsl_alloc((size_t)n * 2 * sizeof(int64_t));
    val *colour = dsl_alloc((size_t)n * sizeof(val));
    val item;
    bool one_int_colour = true;
    while (set_next(obj.u.s, &pos, &item)) {
        item_pos(item, PF_OBJECT, &xy[2 * k], &xy[2 * k + 1]);
        xy[2 * k] -= b->imin;
        xy[2 * k + 1] -= b->jmin;
        colour[k] = tup_get(item, 0);
        one_int_colour = one_int_colour && v_is_int(colour[k]) && colour[k].u.i == colour[0].u.i;
        k++;
    }
    int64_t bh = b->imax - b->imin + 1, bw = b->jmax - b->jmin + 1;
    int64_t h2 = h - bh + 1, w2 = w - bw + 1;
    struct vset *occs = set_new();
    /* n distinct positions in a bh x bw box (items of one colour differ by position): all of it
     * (h2, w2 > 0 first: then bh * bw cannot overflow) */
    if (one_int_colour && h2 > 0 && w2 > 0 && n == bh * bw) {
        occurrences_of_rectangle(grid, h, bh, bw, h2, w2, colour[0], occs);
        return frozenset_of(v_set(occs));
    }
    for (int64_t i = 0; i < h2; i++) {
        for (int64_t j = 0; j < w2; j++) {
            bool occurs = true;
            for (k = 0; k < n && occurs; k++) {
                val row = tup_get(grid, (uint32_t)(xy[2 * k] + i));
                occurs = int_like_eq(tup_get(row, (uint32_t)(xy[2 * k + 1] + j)), colour[k]);
            }
            if (occurs)
                set_add(occs, tuple_ints(i, j));
        }
        DSL_TICK();
    }
    return frozenset_of(v_set(occs));
}

val prim_occurrences(const val *a)
{
    val grid = a[0], obj = a[1];
    struct bounds b;
    bool plain = scan_patch(obj, &b) == PF_OBJECT;
    /* normalize(obj) and shape(obj) cannot fail on a plain object: computed only when needed */
    val normed = plain ? v_none() : prim_normalize(&obj);
    int64_t h = val_len(grid), w = first_row_len(grid);
    if (plain && rows_at_least(grid, w))
        return occurrences_plain(grid, h, w, obj, &b);
    if (plain)
        normed = prim_normalize(&obj);
    val oh, ow;
    val_unpack2(prim_shape(&obj), &oh, &ow);
    int64_t h2 = range_arg(py_add_int(py_sub(v_int(h), oh), 1));
    int64_t w2 = range_arg(py_add_int(py_sub(v_int(w), ow), 1));
    struct vset *occs = set_new();
    for (int64_t i = 0; i < h2; i++) {
        for (int64_t j = 0; j < w2; j++) {
            bool occurs = true;
            struct val_iter it;
            val item, v, ab, ca, cb;
            val_iter_init(&it, call2(prim_shift, normed, tuple_ints(i, j)));
            while (occurs && val_iter_next(&it, &item)) {
                val_unpack2(item, &v, &ab);
                val_unpack2(ab, &ca, &cb);
                occurs = within(ca, h) && within(cb, w) && val_eq(at2(grid, ca.u.i, cb.u.i), v);
            }
            if (occurs)
                set_add(occs, tuple_ints(i, j));
            DSL_TICK();
        }
    }
    return frozenset_of(v_set(occs));
}

/* ======================================================================================
 * frontiers, compress
 * ====================================================================================== */

/* len(set(items)) == 1 */
static bool uniform(val c)
{
    int64_t n;
    const val *items = val_items(c, &n);
    if (n == 0)
        return false;
    for (int64_t k = 1; k < n; k++)
        if (!int_like_eq(items[k], items[0]))
            return false;
    return true;
}

/* Flags of the uniform items of an iterable of rows (or columns), in enumeration order. */
static bool *uniform_flags(val rows, int64_t *n)
{
    const val *items = val_items(rows, n);
    bool *flags = dsl_alloc((size_t)(*n ? *n : 1));
    for (int64_t k = 0; k < *n; k++)
        flags[k] = uniform(items[k]);
    return flags;
}

/* frozenset({frozenset({(grid[i][j], (i, j)) for j in range(w)}) for i in rows}) or, for
 * columns, the same with i and j exchanged (i in range(h)). */
static val frontier_objects(val grid, const bool *flags, int64_t nflags, int64_t len, bool rows)
{
    struct vset *outer = set_new();
    for (int64_t x = 0; x < nflags; x++) {
        if (!flags[x])
            continue;
        struct vset *inner = set_new();
        for (int64_t y = 0; y < len; y++) {
            int64_t i = rows ? x : y, j = rows ? y : x;
            set_add(inner, tuple_cell(at2(grid, i, j), i, j));
        }
        set_add(outer, frozenset_of(v_set(inner)));
        DSL_TICK();
    }
    return frozenset_of(v_set(outer));
}

val prim_frontiers(const val *a)
{
    val grid = a[0];
    int64_t h = val_len(grid), w = first_row_len(grid);
    int64_t nr, nc;
    bool *row_flags = uniform_flags(grid, &nr);
    val columns = prim_dmirror(&grid);
    bool *col_flags = uniform_flags(columns, &nc);
    val hf = frontier_objects(grid, row_flags, nr, w, true);
    val vf = frontier_objects(grid, col_flags, nc, h, false);
    return set_freeze(set_or(hf.u.s, vf));
}

val prim_compress(const val *a)
{
    val grid = a[0];
    int64_t nr, nc;
    bool *row_flags = uniform_flags(grid, &nr);
    val columns = prim_dmirror(&grid);
    bool *col_flags = uniform_flags(columns, &nc);
    const val *rows = val_items(grid, &nr);
    val *out = dsl_alloc((size_t)(nr ? nr : 1) * sizeof(val));
    int64_t kept = 0;
    for (int64_t i = 0; i < nr; i++) {
        if (row_flags[i])
            continue;
        int64_t n;
        const val *items = val_items(rows[i], &n);
        val *cells = dsl_alloc((size_t)(n ? n : 1) * sizeof(val));
        int64_t m = 0;
        for (int64_t j = 0; j < n; j++)
            if (j >= nc || !col_flags[j])
                cells[m++] = items[j];
        out[kept++] = tuple_from(cells, m);
        DSL_TICK();
    }
    return tuple_from(out, kept);
}

/* ======================================================================================
 * hperiod, vperiod
 * ====================================================================================== */

#define DENSE_CELLS_MAX ((int64_t)1 << 20)

/* Plain object with colours 0..63 and a small box: the period by a bitmap of the colours at
 * each normalized position. Returns -1 when the object does not qualify. */
static int64_t period_dense(val obj, bool horizontal)
{
    struct bounds b;
    if (scan_patch(obj, &b) != PF_OBJECT)
        return -1;
    int64_t h = b.imax - b.imin + 1, w = b.jmax - b.jmin + 1;
    if (h > DENSE_CELLS_MAX || w > DENSE_CELLS_MAX || h * w > DENSE_CELLS_MAX)
        return -1;
    int64_t n = set_len(obj), pos = 0, k = 0;
    int64_t *cell = dsl_alloc((size_t)n * 3 * sizeof(int64_t));
    uint64_t *mask = dsl_alloc((size_t)(h * w) * sizeof(uint64_t));
    dsl_fill(mask, 0, (size_t)(h * w) * sizeof(uint64_t));
    val item;
    while (set_next(obj.u.s, &pos, &item)) {
        val colour = tup_get(item, 0);
        if (!v_is_int(colour) || colour.u.i < 0 || colour.u.i > 63)
            return -1;
        int64_t i, j;
        item_pos(item, PF_OBJECT, &i, &j);
        i -= b.imin;
        j -= b.jmin;
        mask[i * w + j] |= (uint64_t)1 << colour.u.i;
        cell[3 * k] = colour.u.i;
        cell[3 * k + 1] = i;
        cell[3 * k + 2] = j;
        k++;
    }
    int64_t extent = horizontal ? w : h;
    for (int64_t p = 1; p < extent; p++) {
        bool subset = true;
        for (k = 0; k < n && subset; k++) {
            int64_t i = cell[3 * k + 1] - (horizontal ? 0 : p), j = cell[3 * k + 2] - (horizontal ? p : 0);
            if (i >= 0 && j >= 0)
                subset = (mask[i * w + j] >> cell[3 * k]) & 1;
        }
        if (subset)
            return p;
        DSL_TICK();
    }
    return extent;
}

/* dsl.py's loop: shift the normalized object back by p, keep the cells still at >= 0 and test
 * whether they are a subset of the normalized object. */
static val period_generic(val obj, bool horizontal)
{
    val normalized = prim_normalize(&obj);
    val extent = horizontal ? prim_width(&normalized) : prim_height(&normalized);
    int64_t stop = range_arg(extent);
    for (int64_t p = 1; p < stop; p++) {
        val offsetted = call2(prim_shift, normalized, horizontal ? tuple_ints(0, -p) : tuple_ints(-p, 0));
        struct vset *kept = set_new();
        struct val_iter it;
        val item, c, ij, i, j;
        val_iter_init(&it, offsetted);
        while (val_iter_next(&it, &item)) {
            val_unpack2(item, &c, &ij);
            val_unpack2(ij, &i, &j);
            val coord = horizontal ? j : i;
            if (!v_is_int(coord))
                dsl_raise(EXC_TYPE, "'>=' not supported between instances of '%s' and 'int'",
                          val_type_name(coord));
            if (coord.u.i >= 0)
                set_add(kept, tuple_pair(c, tuple_pair(i, j)));
        }
        val pruned = frozenset_of(v_set(kept));
        /* normalized is a frozenset here: normalize of a non-empty patch is a shift */
        int64_t pos = 0;
        bool subset = set_len(pruned) <= set_len(normalized);
        while (subset && set_next(pruned.u.s, &pos, &item))
            subset = set_contains(normalized.u.s, item);
        if (subset)
            return v_int(p);
        DSL_TICK();
    }
    return extent;
}

static val period(val obj, bool horizontal)
{
    int64_t p = period_dense(obj, horizontal);
    if (p >= 0)
        return v_int(p);
    return period_generic(obj, horizontal);
}

val prim_hperiod(const val *a) { return period(a[0], true); }
val prim_vperiod(const val *a) { return period(a[0], false); }
