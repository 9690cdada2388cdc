/* value.c: the DSL's run-time values with CPython 3.8-3.13 semantics: hashes, equality,
 * ordering, repr, int arithmetic, and the set table of Objects/setobject.c (same probing,
 * resizing, dummies and construction algorithms, hence the same iteration order).
 *
 * Every set function names the CPython function it follows. Where CPython versions differ,
 * 3.11 is followed (none of the paths used here differ between 3.8 and 3.13). */
#include "compat.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "dsl.h"

#define LINEAR_PROBES 9
#define PERTURB_SHIFT 5

/* ---------------------------------------------------------------- type names and errors */

const char *val_type_name(val v)
{
    switch (v.kind) {
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_TUPLE: return "tuple";
    case V_SET: return v.u.s->frozen ? "frozenset" : "set";
    case V_FUNC: return "function";
    default: return "?";
    }
}

BF_NORETURN static void raise_not_iterable(val v)
{
    dsl_raise(EXC_TYPE, "'%s' object is not iterable", val_type_name(v));
}

/* ---------------------------------------------------------------- tuples */

static struct vtuple *empty_tuple;

struct vtuple *tuple_new(uint32_t len)
{
    struct vtuple *t = dsl_alloc(tuple_bytes(len));
    t->len = len;
    t->hashed = 0;
    t->hash = 0;
    return t;
}

struct vtuple *tuple_new_zeroed(uint32_t len)
{
    struct vtuple *t = dsl_alloc_zeroed(tuple_bytes(len));
    t->len = len;
    return t;
}

struct vtuple *tuple_of_copies(uint32_t len, val v)
{
    if (v_is_int_zero(v))
        return tuple_new_zeroed(len);
    struct vtuple *t = tuple_new(len);
    val_fill(t->item, v, len);
    return t;
}

/* Interned pairs (perf): (i, j) for ints i, j in [PAIR_LO, PAIR_LO + PAIR_SPAN) = [-64, 448) and
 * cells (c, (i, j)) for colours c in 0..9 and i, j in [CELL_LO, CELL_LO + CELL_SPAN) = [-64, 448)
 * are process-wide singletons with their hashes precomputed, so building coordinates and cells
 * allocates and hashes nothing, and a set that meets the same coordinate twice (merging shifted
 * copies, shoot's lines) finds it by address instead of comparing two tuples by value (val_eq
 * was 30% of solve_6aa20dc0 on 1190e5a7, whose cells reach row 80). Tuples are immutable and
 * nothing compares tuples by address except as a shortcut for equality (val_eq, set probes:
 * CPython's identity shortcut), so sharing is unobservable. Bools are never interned: (True, 1)
 * must keep its own repr.
 *
 * The two pools (12 MB and 126 MB of address space) are mapped once, untouched, and each tuple is
 * written the first time it is asked for (len 0 marks one not written yet: mapped memory starts
 * zeroed), so a process only holds the pages of the coordinates it used. Each row of a pool has
 * one slot of padding (dsl_pool_slot): with rows of exactly 512 pairs, 24 KiB apart, the rows of
 * a grid all fell on the same L1 sets, and solve_d22278a0, which makes pairs in its innermost
 * loop, took 1.7-2.6 s on 890034e9 instead of 1.2-1.9 s. (16 x 16 tiles did as well, at 1.3%
 * more instructions in all on a 3-task cross sample.) Cells went up to 192 until session 15; the
 * shifted copies of solve_6aa20dc0, 1f0c79e5, e21d9049 and caa06a1f reach further, and those four
 * took 2.89-2.92 s instead of 2.96-3.10 s with cells up to 448 (one CPU, `--repeat 2`), the
 * other solvers the same within the noise. */
#define PAIR_LO DSL_PAIR_LO
#define PAIR_SPAN DSL_PAIR_SPAN
#define CELL_LO (-64)
#define CELL_SPAN 512
#define CELL_COLOURS 10
#define PAIR_STRIDE DSL_PAIR_STRIDE
unsigned char *dsl_pair_pool;     /* PAIR_SPAN x PAIR_SPAN pairs, by dsl_pool_slot */
#define pair_pool dsl_pair_pool
static unsigned char *cell_pool;  /* CELL_COLOURS blocks of CELL_SPAN x CELL_SPAN cells, by dsl_pool_slot */

static void *static_alloc(size_t n);
static int64_t tuple_hash(struct vtuple *t);

static struct vtuple *pool_at(unsigned char *pool, size_t k)
{
    return (struct vtuple *)(void *)(pool + k * PAIR_STRIDE);
}

/* n bytes of zeroed memory for the process's life, whose pages are only taken when touched;
 * NULL when the address space is short. */
static unsigned char *pool_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Without the cell pool (a worker capped at a small address space, --worker-mem) cells are
 * made like any other tuple: the same values, only slower. */
__attribute__((noinline)) static void intern_init(void)
{
    pair_pool = pool_map(DSL_POOL_SLOTS(PAIR_SPAN) * PAIR_STRIDE);
    if (pair_pool == NULL) {
        fputs("battfarm: out of memory for DSL singletons\n", stderr);
        abort();
    }
    cell_pool = pool_map(CELL_COLOURS * DSL_POOL_SLOTS(CELL_SPAN) * PAIR_STRIDE);
}

/* Writes the interned tuple t = (a, b) the first time it is asked for. */
__attribute__((noinline)) static struct vtuple *intern_write(struct vtuple *t, val a, val b)
{
    t->item[0] = a;
    t->item[1] = b;
    t->len = 2;
    tuple_hash(t);
    return t;
}

static inline bool pair_interned(int64_t a, int64_t b)
{
    return (uint64_t)a - (uint64_t)PAIR_LO < PAIR_SPAN && (uint64_t)b - (uint64_t)PAIR_LO < PAIR_SPAN;
}

static inline struct vtuple *pair_get(int64_t a, int64_t b)
{
    if (BF_UNLIKELY(pair_pool == NULL))
        intern_init();
    struct vtuple *t = pool_at(pair_pool, dsl_pool_slot((uint64_t)(a - PAIR_LO), (uint64_t)(b - PAIR_LO), PAIR_SPAN));
    return BF_LIKELY(t->len != 0) ? t : intern_write(t, v_int(a), v_int(b));
}

/* The slot of cell (c, (i, j)) in the cell pool (colour c in 0..9), or NULL when i or j is
 * outside the pool's range; it may not be written yet (len 0). */
static inline struct vtuple *cell_slot(int64_t c, int64_t i, int64_t j)
{
    uint64_t ci = (uint64_t)i - (uint64_t)CELL_LO, cj = (uint64_t)j - (uint64_t)CELL_LO;
    if (ci >= CELL_SPAN || cj >= CELL_SPAN)
        return NULL;
    return pool_at(cell_pool, (size_t)c * DSL_POOL_SLOTS(CELL_SPAN) + dsl_pool_slot(ci, cj, CELL_SPAN));
}

/* The interned cell (c, p), for p an interned pair; NULL when its coordinates are outside the
 * cell pool's. */
static inline struct vtuple *cell_get(int64_t c, struct vtuple *p)
{
    if (BF_UNLIKELY(cell_pool == NULL))
        return NULL;
    struct vtuple *t = cell_slot(c, p->item[0].u.i, p->item[1].u.i);
    if (t == NULL)
        return NULL;
    return BF_LIKELY(t->len != 0) ? t : intern_write(t, v_int(c), v_tuple(p));
}

__attribute__((noinline)) static val tuple_pair_alloc(val a, val b)
{
    struct vtuple *t = tuple_new(2);
    t->item[0] = a;
    t->item[1] = b;
    return v_tuple(t);
}

val tuple_pair(val a, val b)
{
    if (a.kind == V_INT) {
        if (b.kind == V_INT) {
            if (pair_interned(a.u.i, b.u.i))
                return v_tuple(pair_get(a.u.i, b.u.i));
        } else if (b.kind == V_TUPLE && (uint64_t)a.u.i < CELL_COLOURS && pair_pool != NULL) {
            /* (c, p) with p an interned pair: an interned cell when p is in the cell pool's range */
            struct vtuple *p = b.u.t;
            if ((uintptr_t)p - (uintptr_t)pair_pool < DSL_POOL_SLOTS(PAIR_SPAN) * PAIR_STRIDE) {
                struct vtuple *cell = cell_get(a.u.i, p);
                if (cell != NULL)
                    return v_tuple(cell);
            }
        }
    }
    return tuple_pair_alloc(a, b);
}

void tuple_cell_prefetch(val c, int64_t i, int64_t j)
{
    if (c.kind == V_INT && (uint64_t)c.u.i < CELL_COLOURS && cell_pool != NULL) {
        struct vtuple *t = cell_slot(c.u.i, i, j);
        if (t != NULL)
            __builtin_prefetch(t);
    }
}

val tuple_cell(val c, int64_t i, int64_t j)
{
    if (c.kind == V_INT && (uint64_t)c.u.i < CELL_COLOURS && cell_pool != NULL) {
        struct vtuple *t = cell_slot(c.u.i, i, j);
        if (t != NULL && BF_LIKELY(t->len != 0))
            return v_tuple(t);
    }
    return tuple_pair(c, tuple_ints(i, j)); /* writes the cell when it is in the pool's range */
}

bool tuple_interned(const struct vtuple *t)
{
    uintptr_t p = (uintptr_t)t;
    return pair_pool != NULL &&
           (p - (uintptr_t)pair_pool < DSL_POOL_SLOTS(PAIR_SPAN) * PAIR_STRIDE ||
            (cell_pool != NULL && p - (uintptr_t)cell_pool < CELL_COLOURS * DSL_POOL_SLOTS(CELL_SPAN) * PAIR_STRIDE));
}

val tuple_ints_slow(int64_t a, int64_t b)
{
    if (pair_interned(a, b))
        return v_tuple(pair_get(a, b));
    return tuple_pair_alloc(v_int(a), v_int(b));
}

/* Process-wide singletons live in malloc'd memory: they outlive every arena. */
static void *static_alloc(size_t n)
{
    void *p = calloc(1, n);
    if (p == NULL) {
        fputs("battfarm: out of memory for DSL singletons\n", stderr);
        abort();
    }
    return p;
}

val tuple_empty(void)
{
    if (empty_tuple == NULL)
        empty_tuple = static_alloc(sizeof(struct vtuple));
    return v_tuple(empty_tuple);
}

/* ---------------------------------------------------------------- hashes */

int64_t int_hash_big(int64_t v)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t r = (int64_t)(mag % HASH_MODULUS);
    if (v < 0)
        r = -r;
    return r == -1 ? -2 : r;
}

static int64_t frozenset_hash(struct vset *s);

/* val_hash with the common cases inline (perf): ints and tuples whose hash is cached. */
static inline int64_t hash_of(val v)
{
    if (v.kind == V_INT || v.kind == V_BOOL)
        return int_hash(v.u.i);
    if (v.kind == V_TUPLE && v.u.t->hashed == TUPLE_HASHED)
        return v.u.t->hash;
    return val_hash(v);
}

/* tuplehash of CPython 3.8+ (the formulas in value.h). */
static int64_t tuple_hash(struct vtuple *t)
{
    if (t->hashed == TUPLE_HASHED)
        return t->hash;
    uint64_t acc = TUPLE_HASH_START;
    for (uint32_t i = 0; i < t->len; i++)
        acc = tuple_hash_lane(acc, hash_of(t->item[i]));
    int64_t h = tuple_hash_end(acc, t->len);
    t->hash = h;
    t->hashed = TUPLE_HASHED; /* (a uniform tail's mark is lost) */
    return h;
}

/* frozenset_hash: xor of the shuffled hashes of the active entries, then the finaliser. The
 * scan has no branch on whether a slot is active (perf: slots are active at random, about half
 * of them, and the branch was mispredicted every other slot). */
static int64_t frozenset_hash(struct vset *s)
{
    if (s->hashed)
        return s->hash;
    uint64_t h = 0;
    for (int64_t i = 0; i <= s->mask; i++) {
        const struct set_entry *e = &s->table[i];
        uint64_t active = (uint64_t)0 - (uint64_t)(e->key.kind < V_EMPTY_SLOT);
        h ^= frozenset_hash_item(e->hash) & active;
    }
    int64_t r = frozenset_hash_end(h, s->used);
    if (s->frozen) {
        s->hash = r;
        s->hashed = 1;
    }
    return r;
}

int64_t val_hash(val v)
{
    switch (v.kind) {
    case V_NONE: return 0x5f3759df; /* any constant: None is hashed by address in CPython */
    case V_BOOL:
    case V_INT: return int_hash(v.u.i);
    case V_TUPLE: return tuple_hash(v.u.t);
    case V_SET: return frozenset_hash(v.u.s);
    case V_FUNC: return v.u.f->hash;
    default: dsl_raise(EXC_TYPE, "unhashable value");
    }
}

/* ---------------------------------------------------------------- equality */

static struct set_entry *set_lookkey(const struct vset *s, val key, int64_t hash);

/* a <= b: every entry of a found in b, looked up with the hash a's entry stores (perf: the
 * keys are not dereferenced to hash them again; an entry's hash is hash(key)). */
static bool set_is_subset(const struct vset *a, const struct vset *b)
{
    if (a->used > b->used)
        return false;
    struct set_entry buf[SET_CHUNK];
    for (int64_t pos = 0, n; set_chunk(a, &pos, buf, &n);)
        for (int64_t k = 0; k < n; k++)
            if (set_lookkey(b, buf[k].key, buf[k].hash) == NULL)
                return false;
    return true;
}

bool val_eq(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return a.u.i == b.u.i;
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case V_NONE: return true;
    case V_TUPLE: {
        const struct vtuple *x = a.u.t, *y = b.u.t;
        if (x == y)
            return true;
        if (x->len != y->len)
            return false;
        if (x->hashed == TUPLE_HASHED && y->hashed == TUPLE_HASHED && x->hash != y->hash)
            return false;
        for (uint32_t i = 0; i < x->len; i++)
            if (!val_eq(x->item[i], y->item[i]))
                return false;
        return true;
    }
    case V_SET: {
        const struct vset *x = a.u.s, *y = b.u.s;
        if (x == y)
            return true;
        if (x->used != y->used)
            return false;
        if (x->hashed == TUPLE_HASHED && y->hashed == TUPLE_HASHED && x->hash != y->hash)
            return false;
        /* the same keys in the same slots are the same items (perf: connect(a, b) and
         * connect(b, a) lay out their lines alike, and apply over product(S, S) meets each line
         * twice); tables that differ in any byte are compared item by item */
        if (x->mask == y->mask && x->fill == y->fill &&
            memcmp(x->table, y->table, (size_t)(x->mask + 1) * sizeof(struct set_entry)) == 0)
            return true;
        return set_is_subset(x, y);
    }
    case V_FUNC: return a.u.f->id == b.u.f->id;
    default: return false;
    }
}

bool val_truthy(val v)
{
    switch (v.kind) {
    case V_NONE: return false;
    case V_BOOL:
    case V_INT: return v.u.i != 0;
    case V_TUPLE: return v.u.t->len != 0;
    case V_SET: return v.u.s->used != 0;
    default: return true;
    }
}

/* ---------------------------------------------------------------- ordering */

BF_NORETURN static void raise_not_ordered(val a, val b)
{
    dsl_raise(EXC_TYPE, "'<' not supported between instances of '%s' and '%s'", val_type_name(a),
              val_type_name(b));
}

/* tuplerichcompare: the first index whose items differ (by ==) decides with `<`; else lengths. */
static bool tuple_lt(const struct vtuple *x, const struct vtuple *y)
{
    uint32_t n = x->len < y->len ? x->len : y->len;
    for (uint32_t i = 0; i < n; i++)
        if (!val_eq(x->item[i], y->item[i]))
            return val_lt(x->item[i], y->item[i]);
    return x->len < y->len;
}

bool val_lt(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return a.u.i < b.u.i;
    if (a.kind == V_TUPLE && b.kind == V_TUPLE)
        return tuple_lt(a.u.t, b.u.t);
    if (a.kind == V_SET && b.kind == V_SET) /* proper subset */
        return a.u.s->used < b.u.s->used && set_is_subset(a.u.s, b.u.s);
    raise_not_ordered(a, b);
}

/* ---------------------------------------------------------------- containers */

int64_t val_len(val v)
{
    if (v.kind == V_TUPLE)
        return v.u.t->len;
    if (v.kind == V_SET)
        return v.u.s->used;
    dsl_raise(EXC_TYPE, "object of type '%s' has no len()", val_type_name(v));
}

bool val_in(val x, val container)
{
    if (container.kind == V_TUPLE) {
        const struct vtuple *t = container.u.t;
        for (uint32_t i = 0; i < t->len; i++)
            if (val_eq(t->item[i], x))
                return true;
        return false;
    }
    if (container.kind == V_SET)
        return set_contains(container.u.s, x);
    dsl_raise(EXC_TYPE, "argument of type '%s' is not iterable", val_type_name(container));
}

void val_iter_init(struct val_iter *it, val container)
{
    if (container.kind != V_TUPLE && container.kind != V_SET)
        raise_not_iterable(container);
    it->c = container;
    it->pos = 0;
}

bool val_iter_next(struct val_iter *it, val *item)
{
    if (it->c.kind == V_SET)
        return set_next(it->c.u.s, &it->pos, item);
    if ((uint64_t)it->pos >= it->c.u.t->len)
        return false;
    *item = it->c.u.t->item[it->pos++];
    return true;
}

const val *val_items(val c, int64_t *n)
{
    if (c.kind == V_TUPLE) {
        *n = c.u.t->len;
        return c.u.t->item;
    }
    if (c.kind != V_SET)
        raise_not_iterable(c);
    /* One slot more than the set holds: each slot's key is written at out[k] and kept only when
     * active (perf: no branch per slot, as in set_gather, and no copy through a chunk buffer). */
    const struct vset *s = c.u.s;
    val *out = dsl_alloc((size_t)(s->used + 1) * sizeof(val));
    int64_t k = 0;
    for (int64_t i = 0; i <= s->mask; i++) {
        out[k] = s->table[i].key;
        k += s->table[i].key.kind < V_EMPTY_SLOT;
    }
    *n = k;
    return out;
}

void val_unpack2_slow(val v, val *a, val *b)
{
    int64_t n;
    if (v.kind == V_TUPLE) {
        n = v.u.t->len;
        if (n == 2) {
            *a = v.u.t->item[0];
            *b = v.u.t->item[1];
            return;
        }
    } else if (v.kind == V_SET) {
        n = v.u.s->used;
        if (n == 2) {
            int64_t pos = 0;
            set_next(v.u.s, &pos, a);
            set_next(v.u.s, &pos, b);
            return;
        }
    } else {
        dsl_raise(EXC_TYPE, "cannot unpack non-iterable %s object", val_type_name(v));
    }
    if (n < 2)
        dsl_raise(EXC_VALUE, "not enough values to unpack (expected 2, got %lld)", (long long)n);
    dsl_raise(EXC_VALUE, "too many values to unpack (expected 2)");
}

val val_index(val seq, int64_t i)
{
    if (seq.kind != V_TUPLE)
        dsl_raise(EXC_TYPE, "'%s' object is not subscriptable", val_type_name(seq));
    int64_t n = seq.u.t->len;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        dsl_raise(EXC_INDEX, "tuple index out of range");
    return seq.u.t->item[i];
}

/* PySlice_AdjustIndices for one bound with step 1. */
static int64_t slice_bound(int64_t b, int64_t n, int64_t dflt)
{
    if (b == SLICE_NONE)
        return dflt;
    if (b < 0) {
        b += n;
        return b < 0 ? 0 : b;
    }
    return b > n ? n : b;
}

void val_fill(val *dst, val v, int64_t n)
{
    if (v.kind == V_INT && v.u.i == 0 && (size_t)n * sizeof(val) >= ((size_t)1 << 20)) {
        dsl_fill(dst, 0, (size_t)n * sizeof(val)); /* the int 0 is all zero bytes (value.h) */
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        dst[k] = v;
        if ((k & 65535) == 65535)
            DSL_TICK();
    }
}

/* A slice of n items all equal to v, from share when it keeps one (value.h, val_slice_shared). */
static val slice_of_tail(struct slice_share *share, val v, int64_t n)
{
    for (unsigned k = 0; k < SLICE_SHARE_KEPT; k++) {
        struct vtuple *t = share->kept[k].tuple;
        if (t != NULL && t->len == n && val_same_object(share->kept[k].value, v)) {
            /* Python makes a new tuple: its memory still counts against the cap */
            if (dsl_rt.arena_cap != 0 && tuple_bytes((uint32_t)n) > dsl_rt.arena_cap - dsl_rt.arena_used)
                dsl_memout();
            return v_tuple(t);
        }
    }
    struct vtuple *t = tuple_of_copies((uint32_t)n, v);
    tuple_mark_uniform(t, 0);
    share->kept[share->next].value = v;
    share->kept[share->next].tuple = t;
    share->next = (share->next + 1) % SLICE_SHARE_KEPT;
    return v_tuple(t);
}

val val_slice(val seq, int64_t start, int64_t stop)
{
    return val_slice_shared(seq, start, stop, NULL);
}

val val_slice_shared(val seq, int64_t start, int64_t stop, struct slice_share *share)
{
    if (seq.kind != V_TUPLE)
        dsl_raise(EXC_TYPE, "'%s' object is not subscriptable", val_type_name(seq));
    int64_t n = seq.u.t->len;
    int64_t lo = slice_bound(start, n, 0), hi = slice_bound(stop, n, n);
    if (lo == 0 && hi == n)
        return seq;
    if (hi <= lo)
        return tuple_empty();
    const val *from = seq.u.t->item;
    int64_t tail = tuple_uniform_from(seq.u.t); /* from here on every item is from[tail] */
    if (share != NULL && lo >= tail && hi - lo >= SLICE_SHARE_MIN)
        return slice_of_tail(share, from[tail], hi - lo);
    if (tail >= hi) {
        struct vtuple *t = tuple_new((uint32_t)(hi - lo));
        memcpy(t->item, from + lo, (size_t)(hi - lo) * sizeof(val));
        return v_tuple(t);
    }
    bool zeros = v_is_int_zero(from[tail]); /* a tail of zeros comes zeroed */
    struct vtuple *t = zeros ? tuple_new_zeroed((uint32_t)(hi - lo)) : tuple_new((uint32_t)(hi - lo));
    int64_t copied = tail > lo ? tail - lo : 0;
    memcpy(t->item, from + lo, (size_t)copied * sizeof(val));
    if (!zeros)
        val_fill(t->item + copied, from[tail], hi - lo - copied);
    tuple_mark_uniform(t, (uint32_t)copied);
    return v_tuple(t);
}

/* x + y for two tuples; a uniform tail of y is filled in, not copied, and stays marked. */
val tuple_concat(val x, val y)
{
    uint32_t nx = tup_len(x), ny = tup_len(y);
    if (ny == 0)
        return x;
    if (nx == 0)
        return y;
    if ((uint64_t)nx + ny > UINT32_MAX)
        dsl_memout(); /* Python: MemoryError */
    uint32_t tail = tuple_uniform_from(y.u.t);
    bool zeros = tail < ny && v_is_int_zero(y.u.t->item[tail]); /* a tail of zeros comes zeroed */
    struct vtuple *t = zeros ? tuple_new_zeroed(nx + ny) : tuple_new(nx + ny);
    memcpy(t->item, x.u.t->item, nx * sizeof(val));
    memcpy(t->item + nx, y.u.t->item, tail * sizeof(val));
    if (tail < ny) {
        if (!zeros)
            val_fill(t->item + nx + tail, y.u.t->item[tail], ny - tail);
        tuple_mark_uniform(t, nx + tail);
    }
    return v_tuple(t);
}

val tuple_of(val iterable)
{
    if (iterable.kind == V_TUPLE)
        return iterable;
    if (iterable.kind != V_SET)
        raise_not_iterable(iterable);
    const struct vset *s = iterable.u.s;
    if (s->used == 0)
        return tuple_empty();
    struct vtuple *t = tuple_new((uint32_t)s->used);
    int64_t pos = 0;
    uint32_t k = 0;
    val item;
    while (set_next(s, &pos, &item))
        t->item[k++] = item;
    return v_tuple(t);
}

/* ---------------------------------------------------------------- sorted, max, min */

/* count_run of CPython 3.8-3.12 listobject.c: a non-descending run, or a strictly descending
 * one (then *descending is set). */
static int64_t sort_count_run(const val *keys, int64_t lo, int64_t hi, bool *descending)
{
    *descending = false;
    if (lo + 1 == hi)
        return 1;
    int64_t n = 2, k = lo + 2;
    if (val_lt(keys[lo + 1], keys[lo])) {
        *descending = true;
        for (; k < hi && val_lt(keys[k], keys[k - 1]); k++, n++)
            ;
    } else {
        for (; k < hi && !val_lt(keys[k], keys[k - 1]); k++, n++)
            ;
    }
    return n;
}

static void sort_reverse(val *keys, val *items, int64_t lo, int64_t hi)
{
    for (int64_t i = lo, j = hi - 1; i < j; i++, j--) {
        val t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
        t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

/* binarysort of CPython 3.8-3.12: [lo, start) is sorted; insert the rest one by one after any
 * equal elements. */
static void sort_binary_insertion(val *keys, val *items, int64_t lo, int64_t hi, int64_t start)
{
    if (start == lo)
        start++;
    for (; start < hi; start++) {
        DSL_TICK();
        int64_t l = lo, r = start;
        val pivot = keys[start], pivot_item = items[start];
        do {
            int64_t p = l + ((r - l) >> 1);
            if (val_lt(pivot, keys[p]))
                r = p;
            else
                l = p + 1;
        } while (l < r);
        for (int64_t p = start; p > l; p--) {
            keys[p] = keys[p - 1];
            items[p] = items[p - 1];
        }
        keys[l] = pivot;
        items[l] = pivot_item;
    }
}

/* Stable bottom-up merge sort for long inputs (takes from the right only when strictly less). */
static void sort_merge(val *keys, val *items, int64_t n)
{
    val *tk = dsl_alloc((size_t)n * sizeof(val)), *ti = dsl_alloc((size_t)n * sizeof(val));
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            DSL_TICK();
            while (i < mid && j < hi) {
                if (val_lt(keys[j], keys[i])) {
                    tk[k] = keys[j];
                    ti[k++] = items[j++];
                } else {
                    tk[k] = keys[i];
                    ti[k++] = items[i++];
                }
            }
            for (; i < mid; i++, k++) {
                tk[k] = keys[i];
                ti[k] = items[i];
            }
            for (; j < hi; j++, k++) {
                tk[k] = keys[j];
                ti[k] = items[j];
            }
        }
        memcpy(keys, tk, (size_t)n * sizeof(val));
        memcpy(items, ti, (size_t)n * sizeof(val));
    }
}

val py_sorted(val iterable, val key)
{
    val items = tuple_of(iterable);
    int64_t n = items.u.t->len;
    if (n == 0)
        return tuple_empty();
    struct vtuple *out = tuple_new((uint32_t)n);
    memcpy(out->item, items.u.t->item, (size_t)n * sizeof(val));
    val *keys = dsl_alloc((size_t)n * sizeof(val)); /* sorted alongside the items */
    for (int64_t i = 0; i < n; i++)
        keys[i] = key.kind == V_NONE ? out->item[i] : fn_call1(key, out->item[i]);
    if (n < 64) {
        bool descending;
        int64_t run = sort_count_run(keys, 0, n, &descending);
        if (descending)
            sort_reverse(keys, out->item, 0, run);
        sort_binary_insertion(keys, out->item, 0, n, run);
    } else {
        sort_merge(keys, out->item, n);
    }
    return v_tuple(out);
}

/* min_max of bltinmodule.c: a later item replaces the current one only when strictly better. */
val py_extreme_observed(val iterable, val key, bool want_max, void (*observe)(void *ctx, val item, val k),
                        void *ctx)
{
    struct val_iter it;
    val item, best = v_none(), best_key = v_none();
    bool have = false;
    const int64_t *keys = key.kind == V_FUNC && iterable.kind == V_SET ? dsl_keys_direct(key, iterable) : NULL;
    if (keys != NULL) {
        int64_t k = 0, best_int = 0;
        for (int64_t pos = 0; set_next(iterable.u.s, &pos, &item); k++) {
            if (observe != NULL)
                observe(ctx, item, v_int(keys[k]));
            if (k == 0 || (want_max ? best_int < keys[k] : keys[k] < best_int)) {
                best = item;
                best_int = keys[k];
            }
        }
        return best;
    }
    val_iter_init(&it, iterable);
    while (val_iter_next(&it, &item)) {
        val k = key.kind == V_NONE ? item : fn_call1(key, item);
        if (observe != NULL)
            observe(ctx, item, k);
        if (!have || (want_max ? val_lt(best_key, k) : val_lt(k, best_key))) {
            best = item;
            best_key = k;
            have = true;
        }
    }
    if (!have)
        dsl_raise(EXC_VALUE, "%s() arg is an empty sequence", want_max ? "max" : "min");
    return best;
}

val py_max(val iterable, val key)
{
    return py_extreme_observed(iterable, key, true, NULL, NULL);
}

val py_min(val iterable, val key)
{
    return py_extreme_observed(iterable, key, false, NULL, NULL);
}

/* ---------------------------------------------------------------- ints */

int64_t int_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        dsl_raise(EXC_OVERFLOW, "int too large (%" PRId64 " + %" PRId64 ")", a, b);
    return r;
}

int64_t int_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        dsl_raise(EXC_OVERFLOW, "int too large (%" PRId64 " - %" PRId64 ")", a, b);
    return r;
}

int64_t int_mul(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        dsl_raise(EXC_OVERFLOW, "int too large (%" PRId64 " * %" PRId64 ")", a, b);
    return r;
}

int64_t int_floordiv(int64_t a, int64_t b)
{
    if (b == 0)
        dsl_raise(EXC_ZERO_DIVISION, "integer division or modulo by zero");
    if (a == INT64_MIN && b == -1)
        dsl_raise(EXC_OVERFLOW, "int too large (%" PRId64 " // -1)", a);
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t int_mod(int64_t a, int64_t b)
{
    if (b == 0)
        dsl_raise(EXC_ZERO_DIVISION, "integer modulo by zero");
    if (b == -1)
        return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}

int64_t val_as_int(val v, const char *what)
{
    if (!v_is_int(v))
        dsl_raise(EXC_TYPE, "%s: expected an int, got '%s'", what ? what : "value", val_type_name(v));
    return v.u.i;
}

/* ---------------------------------------------------------------- the set table */

/* Only the kind of an empty slot is ever read; the table is filled with bytes 0xfe, which makes
 * every kind V_EMPTY_SLOT (perf: memset's whole-line stores, not a store every 24 bytes; the
 * table's cache lines are written either way). Only this file looks inside set tables. */
#define SET_TICK_SLOTS 65536 /* slots cleared or re-inserted between two interrupt checks */

static void set_table_clear(struct set_entry *table, int64_t size)
{
    for (int64_t start = 0; start < size; start += SET_TICK_SLOTS) {
        int64_t end = size - start > SET_TICK_SLOTS ? start + SET_TICK_SLOTS : size;
        memset(table + start, 0xfe, (size_t)(end - start) * sizeof(*table));
        if (end < size)
            DSL_TICK(); /* fresh memory of a big table: page faults */
    }
}

static void set_init(struct vset *s)
{
    s->fill = s->used = 0;
    s->mask = SET_MINSIZE - 1;
    s->hash = 0;
    s->hashed = 0;
    s->frozen = 0;
    s->patch_known = 0;
    s->minus = NULL;
    s->table = s->smalltable;
    set_table_clear(s->smalltable, SET_MINSIZE);
}

struct vset *set_new(void)
{
    struct vset *s = dsl_alloc(sizeof(struct vset));
    set_init(s);
    return s;
}

static bool slot_empty(const struct set_entry *e) { return e->key.kind == V_EMPTY_SLOT; }

static bool slot_dummy(const struct set_entry *e) { return e->key.kind == V_DUMMY_SLOT; }
/* Neither empty nor dummy: one compare, as V_EMPTY_SLOT and V_DUMMY_SLOT are above every kind. */
static inline bool slot_active(const struct set_entry *e) { return e->key.kind < V_EMPTY_SLOT; }

/* set_insert_clean: key is known absent and the table has no dummies. */
static inline void set_insert_clean(struct set_entry *table, uint64_t mask, val key, int64_t hash)
{
    uint64_t perturb = (uint64_t)hash;
    uint64_t i = (uint64_t)hash & mask;
    struct set_entry *e;
    for (;;) {
        e = &table[i];
        if (slot_empty(e))
            goto found;
        if (i + LINEAR_PROBES <= mask) {
            for (int j = 0; j < LINEAR_PROBES; j++) {
                e++;
                if (slot_empty(e))
                    goto found;
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found:
    e->key = key;
    e->hash = hash;
}

/* set_table_resize: a table of the smallest power of two above minused; active entries are
 * re-inserted in old slot order. */
/* Recycled tables (perf): the table a resize leaves behind belonged to that set alone and is
 * garbage; the next resize to the same size reuses it while it is still in cache, instead of
 * fresh arena memory (clearing a fresh table was half the cost of resizing). Per power-of-two
 * size, a list linked through the first entry; valid only within one arena generation. */
#define RECYCLE_CLASSES 48
static struct set_entry *recycled[RECYCLE_CLASSES];
static uint64_t recycled_generation;

static int size_class(int64_t size)
{
    return __builtin_ctzll((unsigned long long)size);
}

static void table_recycle(struct set_entry *table, int64_t size)
{
    if (recycled_generation != dsl_arena_generation) {
        memset(recycled, 0, sizeof(recycled));
        recycled_generation = dsl_arena_generation;
    }
    int c = size_class(size);
    if (c >= RECYCLE_CLASSES)
        return;
    table[0].key.u.s = (struct vset *)(void *)recycled[c]; /* the link */
    recycled[c] = table;
}

static struct set_entry *table_alloc(int64_t size)
{
    int c = size_class(size);
    if (recycled_generation == dsl_arena_generation && c < RECYCLE_CLASSES && recycled[c] != NULL) {
        struct set_entry *t = recycled[c];
        recycled[c] = (struct set_entry *)(void *)t[0].key.u.s;
        return t;
    }
    return dsl_alloc((size_t)size * sizeof(struct set_entry));
}

__attribute__((noinline)) static void set_table_resize(struct vset *s, int64_t minused)
{
    int64_t newsize = SET_MINSIZE;
    while (newsize <= minused)
        newsize <<= 1;
    if (newsize == SET_MINSIZE && s->table == s->smalltable && s->fill == s->used)
        return; /* CPython: cannot get any smaller and nothing to clean */
    struct set_entry *old = s->table;
    int64_t oldsize = s->mask + 1;
    struct set_entry buf[SET_CHUNK];
    int64_t pos = 0, n = 0;
    _Static_assert(SET_MINSIZE <= SET_CHUNK, "the small table is gathered in one chunk");
    bool was_small = old == s->smalltable;
    /* The small table's entries are kept in buf while the new table is filled (perf: a memcpy of
     * it to the side, just after the add that made it grow, wrote 16- and 32-byte pieces that
     * straddle the 24-byte entries, and each 16-byte key read back from them waited). */
    if (was_small)
        n = set_gather(old, oldsize, &pos, buf);
    struct set_entry *table = newsize == SET_MINSIZE ? s->smalltable : table_alloc(newsize);
    set_table_clear(table, newsize);
    s->table = table;
    s->mask = newsize - 1;
    s->fill = s->used;
    for (;;) {
        for (int64_t k = 0; k < n; k++)
            set_insert_clean(table, (uint64_t)s->mask, buf[k].key, buf[k].hash);
        if (pos >= oldsize)
            break;
        if (pos != 0 && (pos & (SET_TICK_SLOTS / 16 - 1)) == 0)
            DSL_TICK(); /* tables of millions take longer than the 10 ms a timeout allows */
        n = set_gather(old, oldsize, &pos, buf);
    }
    if (!was_small)
        table_recycle(old, oldsize);
    DSL_TICK();
}

/* set_add_entry: CPython's probe loop, in full. */
__attribute__((noinline)) static void set_add_entry_full(struct vset *s, val key, int64_t hash)
{
    uint64_t mask = (uint64_t)s->mask;
    uint64_t i = (uint64_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    struct set_entry *const table = s->table;
    struct set_entry *freeslot = NULL, *e;
    for (;;) {
        e = &table[i];
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            if (slot_empty(e))
                goto found_unused_or_dummy;
            if (e->hash == hash) {
                if (val_same_object(e->key, key) || val_eq(e->key, key))
                    return; /* found active: the first inserted key is kept */
            } else if (slot_dummy(e)) {
                freeslot = e; /* CPython 3.8-3.13 keep the last dummy seen */
            }
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found_unused_or_dummy:
    if (freeslot != NULL) {
        s->used++;
        freeslot->key = key;
        freeslot->hash = hash;
        return;
    }
    fill_used_bump(&s->fill, &s->used);
    e->key = key;
    e->hash = hash;
    if ((uint64_t)s->fill * 5 < mask * 3)
        return;
    set_table_resize(s, s->used > 50000 ? s->used * 2 : s->used * 4);
}

/* set_add_entry with its two commonest outcomes first, without a call (perf): the first slot
 * probed is empty (the key goes there, as the full loop would put it: no dummy can have been
 * seen before it), or holds this very key. Anything else runs the full loop from the start. */
static inline void set_add_entry(struct vset *s, val key, int64_t hash)
{
    uint64_t mask = (uint64_t)s->mask;
    struct set_entry *e = &s->table[(uint64_t)hash & mask];
    if (BF_LIKELY(slot_empty(e))) {
        fill_used_bump(&s->fill, &s->used);
        e->key = key;
        e->hash = hash;
        if (BF_UNLIKELY((uint64_t)s->fill * 5 >= mask * 3))
            set_table_resize(s, s->used > 50000 ? s->used * 2 : s->used * 4);
        return;
    }
    if (e->hash == hash && val_same_object(e->key, key))
        return;
    set_add_entry_full(s, key, hash);
}

void set_add_hashed(struct vset *s, val key, int64_t hash)
{
    set_add_entry(s, key, hash);
}

void set_add(struct vset *s, val key)
{
    set_add_entry(s, key, hash_of(key));
}

/* set_lookkey: the entry holding key, or NULL. */
static struct set_entry *set_lookkey(const struct vset *s, val key, int64_t hash)
{
    uint64_t mask = (uint64_t)s->mask;
    uint64_t i = (uint64_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    for (;;) {
        struct set_entry *e = &s->table[i];
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            if (slot_empty(e))
                return NULL;
            if (e->hash == hash && (val_same_object(e->key, key) || val_eq(e->key, key)))
                return e;
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

bool set_contains(const struct vset *s, val key)
{
    return set_lookkey(s, key, hash_of(key)) != NULL;
}

static void set_discard_hashed(struct vset *s, val key, int64_t hash)
{
    struct set_entry *e = set_lookkey(s, key, hash);
    if (e == NULL)
        return;
    e->key.kind = V_DUMMY_SLOT;
    e->key.u.i = 0;
    e->hash = -1;
    s->used--;
}

void set_discard(struct vset *s, val key)
{
    set_discard_hashed(s, key, hash_of(key));
}

bool set_next(const struct vset *s, int64_t *pos, val *item)
{
    const struct set_entry *const table = s->table;
    const int64_t mask = s->mask;
    for (int64_t i = *pos; i <= mask; i++) {
        if (slot_active(&table[i])) {
            *item = table[i].key;
            *pos = i + 1;
            return true;
        }
    }
    *pos = mask + 1;
    return false;
}

static inline bool coord_int(val v)
{
    return v.kind == V_INT && v.u.i > -PATCH_COORD_LIMIT && v.u.i < PATCH_COORD_LIMIT;
}

static inline bool plain_index(val v)
{
    return v.kind == V_TUPLE && v.u.t->len == 2 && coord_int(v.u.t->item[0]) && coord_int(v.u.t->item[1]);
}

static inline bool plain_cell(val v)
{
    return v.kind == V_TUPLE && v.u.t->len == 2 && plain_index(v.u.t->item[1]);
}

static void patch_scan(const struct vset *s, struct patch_info *pi)
{
    pi->form = PF_OTHER;
    int64_t pos = 0;
    val item;
    if (!set_next(s, &pos, &item))
        return;
    enum patch_form form = plain_cell(item) ? PF_OBJECT : plain_index(item) ? PF_INDICES : PF_OTHER;
    if (form == PF_OTHER)
        return;
    val ij = form == PF_OBJECT ? item.u.t->item[1] : item;
    int64_t imin = ij.u.t->item[0].u.i, jmin = ij.u.t->item[1].u.i, imax = imin, jmax = jmin;
    bool ints_only = form == PF_INDICES || v_is_int(item.u.t->item[0]);
    struct set_entry buf[SET_CHUNK];
    for (int64_t n; set_chunk(s, &pos, buf, &n);) {
        for (int64_t k = 0; k < n; k++) {
            item = buf[k].key;
            if (form == PF_OBJECT ? !plain_cell(item) : !plain_index(item))
                return;
            if (form == PF_OBJECT)
                ints_only = ints_only && v_is_int(item.u.t->item[0]);
            ij = form == PF_OBJECT ? item.u.t->item[1] : item;
            int64_t i = ij.u.t->item[0].u.i, j = ij.u.t->item[1].u.i;
            imin = i < imin ? i : imin;
            imax = i > imax ? i : imax;
            jmin = j < jmin ? j : jmin;
            jmax = j > jmax ? j : jmax;
        }
    }
    pi->imin = imin;
    pi->imax = imax;
    pi->jmin = jmin;
    pi->jmax = jmax;
    pi->form = (uint8_t)form;
    pi->ints_only = ints_only;
}

void set_patch_facts(struct vset *s, enum patch_form form, int64_t imin, int64_t imax, int64_t jmin, int64_t jmax,
                     bool ints_only)
{
    if (!s->frozen || s->used == 0 || imin <= -PATCH_COORD_LIMIT || imax >= PATCH_COORD_LIMIT ||
        jmin <= -PATCH_COORD_LIMIT || jmax >= PATCH_COORD_LIMIT)
        return;
    s->patch.form = (uint8_t)form;
    s->patch.imin = imin;
    s->patch.imax = imax;
    s->patch.jmin = jmin;
    s->patch.jmax = jmax;
    s->patch.ints_only = ints_only;
    s->patch_known = 1;
}

const struct patch_info *set_patch_known(const struct vset *s)
{
    return s->patch_known ? &s->patch : NULL;
}

void set_patch_shifted(struct vset *s, const struct vset *from, int64_t di, int64_t dj)
{
    if (!s->frozen || !from->patch_known || from->patch.form == PF_OTHER)
        return;
    struct patch_info pi = from->patch;
    if (__builtin_add_overflow(pi.imin, di, &pi.imin) || __builtin_add_overflow(pi.imax, di, &pi.imax) ||
        __builtin_add_overflow(pi.jmin, dj, &pi.jmin) || __builtin_add_overflow(pi.jmax, dj, &pi.jmax))
        return;
    set_patch_facts(s, (enum patch_form)pi.form, pi.imin, pi.imax, pi.jmin, pi.jmax, pi.ints_only);
}

const struct patch_info *set_patch_info(const struct vset *s, struct patch_info *scratch)
{
    if (s->patch_known)
        return &s->patch;
    if (!s->frozen) {
        patch_scan(s, scratch);
        return scratch;
    }
    struct vset *cache = (struct vset *)(uintptr_t)s; /* a cache in an immutable value */
    patch_scan(s, &cache->patch);
    cache->patch_known = 1;
    return &s->patch;
}

/* set_merge: adds the entries of other in its slot order, with CPython's fast paths. */
static void set_merge(struct vset *s, const struct vset *other)
{
    if (other == s || other->used == 0)
        return;
    if ((s->fill + other->used) * 5 >= s->mask * 3)
        set_table_resize(s, (s->used + other->used) * 2);
    if (s->fill == 0 && s->mask == other->mask && other->fill == other->used) {
        memcpy(s->table, other->table, (size_t)(other->mask + 1) * sizeof(struct set_entry));
        s->fill = other->fill;
        s->used = other->used;
        return;
    }
    struct set_entry buf[SET_CHUNK];
    if (s->fill == 0) {
        s->fill = s->used = other->used;
        for (int64_t pos = 0, n; set_chunk(other, &pos, buf, &n);)
            for (int64_t i = 0; i < n; i++)
                set_insert_clean(s->table, (uint64_t)s->mask, buf[i].key, buf[i].hash);
        return;
    }
    for (int64_t pos = 0, n; set_chunk(other, &pos, buf, &n);)
        for (int64_t i = 0; i < n; i++)
            set_add_entry(s, buf[i].key, buf[i].hash);
}

void set_update(struct vset *s, val other)
{
    if (other.kind == V_SET) {
        set_merge(s, other.u.s);
    } else if (other.kind == V_TUPLE) {
        for (uint32_t i = 0; i < other.u.t->len; i++)
            set_add(s, other.u.t->item[i]);
    } else {
        raise_not_iterable(other);
    }
}

struct vset *set_copy(const struct vset *s)
{
    struct vset *r = set_new();
    set_merge(r, s);
    return r;
}

/* set_union with one argument (also what set_or does for two sets). */
struct vset *set_or(const struct vset *a, val b)
{
    struct vset *r = set_copy(a);
    if (b.kind == V_SET && b.u.s == a)
        return r;
    set_update(r, b);
    return r;
}

/* set_intersection. */
struct vset *set_and(const struct vset *a, val b)
{
    if (b.kind == V_SET && b.u.s == a)
        return set_copy(a);
    struct vset *r = set_new();
    if (b.kind == V_SET) {
        const struct vset *so = a, *other = b.u.s;
        if (other->used > so->used) {
            const struct vset *t = so;
            so = other;
            other = t;
        }
        struct set_entry buf[SET_CHUNK];
        for (int64_t pos = 0, n; set_chunk(other, &pos, buf, &n);)
            for (int64_t i = 0; i < n; i++)
                if (set_lookkey(so, buf[i].key, buf[i].hash) != NULL)
                    set_add_hashed(r, buf[i].key, buf[i].hash);
        return r;
    }
    struct val_iter it;
    val item;
    val_iter_init(&it, b);
    while (val_iter_next(&it, &item)) {
        int64_t h = hash_of(item);
        if (set_lookkey(a, item, h) != NULL)
            set_add_hashed(r, item, h);
    }
    return r;
}

/* set_copy_and_difference + set_difference_update_internal (with its final dummy cleanup). */
static struct vset *set_copy_and_difference(const struct vset *a, val b)
{
    struct vset *r = set_copy(a);
    if (b.kind == V_SET) {
        struct set_entry buf[SET_CHUNK];
        for (int64_t pos = 0, n; set_chunk(b.u.s, &pos, buf, &n);)
            for (int64_t i = 0; i < n; i++)
                set_discard_hashed(r, buf[i].key, buf[i].hash);
    } else {
        struct val_iter it;
        val item;
        val_iter_init(&it, b);
        while (val_iter_next(&it, &item))
            set_discard(r, item);
    }
    if ((uint64_t)(r->fill - r->used) > (uint64_t)r->mask / 4)
        set_table_resize(r, r->used > 50000 ? r->used * 2 : r->used * 4);
    return r;
}

/* set_difference. */
struct vset *set_sub(const struct vset *a, val b)
{
    if (b.kind != V_SET || (a->used >> 2) > b.u.s->used)
        return set_copy_and_difference(a, b);
    struct vset *r = set_new();
    struct set_entry buf[SET_CHUNK];
    for (int64_t pos = 0, n; set_chunk(a, &pos, buf, &n);)
        for (int64_t i = 0; i < n; i++)
            if (set_lookkey(b.u.s, buf[i].key, buf[i].hash) == NULL)
                set_add_hashed(r, buf[i].key, buf[i].hash);
    return r;
}

val set_freeze(struct vset *s)
{
    s->frozen = 1;
    return v_set(s);
}

val set_freeze_copy(struct vset *s)
{
    /* set_merge into an empty set: resized to fit first when used * 5 >= 21 (set_table_resize
     * to used * 2), then a memcpy when the sizes match and s has no dummies */
    int64_t size = SET_MINSIZE;
    if (s->used * 5 >= (SET_MINSIZE - 1) * 3)
        while (size <= s->used * 2)
            size <<= 1;
    if (s->fill == s->used && s->mask == size - 1 && s->minus == NULL)
        return set_freeze(s);
    return set_freeze(set_copy(s));
}

val frozenset_of(val x)
{
    if (x.kind == V_SET) {
        if (x.u.s->frozen)
            return x;
        return set_freeze(set_copy(x.u.s));
    }
    struct vset *s = set_new();
    set_update(s, x);
    return set_freeze(s);
}

static struct vset *empty_set;

val set_empty(void)
{
    if (empty_set == NULL) {
        empty_set = static_alloc(sizeof(struct vset));
        set_init(empty_set);
        empty_set->frozen = 1;
    }
    return v_set(empty_set);
}

/* ---------------------------------------------------------------- text */

void sb_putc(struct strbuf *sb, char c)
{
    char s[2] = { c, 0 };
    sb_puts(sb, s);
}

static void sb_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->p, cap);
    if (p == NULL) {
        fputs("battfarm: out of memory in strbuf\n", stderr);
        abort();
    }
    sb->p = p;
    sb->cap = cap;
}

void sb_puts(struct strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(sb, n);
    memcpy(sb->p + sb->len, s, n + 1);
    sb->len += n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void sb_release(struct strbuf *sb)
{
    free(sb->p);
    sb->p = NULL;
    sb->len = sb->cap = 0;
}

static void repr_set(const struct vset *s, struct strbuf *sb)
{
    if (s->used == 0) {
        sb_puts(sb, s->frozen ? "frozenset()" : "set()");
        return;
    }
    sb_puts(sb, s->frozen ? "frozenset({" : "{");
    int64_t pos = 0;
    val item;
    bool first = true;
    while (set_next(s, &pos, &item)) {
        if (sb->limit != 0 && sb->len >= sb->limit)
            return;
        if (!first)
            sb_puts(sb, ", ");
        first = false;
        val_repr(item, sb);
    }
    sb_puts(sb, s->frozen ? "})" : "}");
}

/* str(i) without printf (perf: reprs of big outputs are mostly ints). */
static void repr_int(int64_t i, struct strbuf *sb)
{
    char buf[24], *q = buf + sizeof(buf);
    uint64_t m = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    *--q = 0;
    do {
        *--q = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (i < 0)
        *--q = '-';
    sb_puts(sb, q);
}

void val_repr(val v, struct strbuf *sb)
{
    if (sb->limit != 0 && sb->len >= sb->limit)
        return;
    switch (v.kind) {
    case V_NONE: sb_puts(sb, "None"); break;
    case V_BOOL: sb_puts(sb, v.u.i ? "True" : "False"); break;
    case V_INT: repr_int(v.u.i, sb); break;
    case V_TUPLE:
        sb_putc(sb, '(');
        for (uint32_t i = 0; i < v.u.t->len; i++) {
            if (sb->limit != 0 && sb->len >= sb->limit)
                return;
            if (i)
                sb_puts(sb, ", ");
            val_repr(v.u.t->item[i], sb);
        }
        sb_puts(sb, v.u.t->len == 1 ? ",)" : ")");
        break;
    case V_SET: repr_set(v.u.s, sb); break;
    case V_FUNC:
        if (v.u.f->kind == F_PRIM && v.u.f->prim < PRIM_COUNT)
            sb_printf(sb, "<function %s>", prim_table[v.u.f->prim].name);
        else
            sb_puts(sb, "<function>");
        break;
    default: sb_puts(sb, "<?>"); break;
    }
}
