/* value.h: the run-time values of Hodel's ARC DSL, with CPython's semantics.
 *
 * Kinds that occur at run time: None, bool, int, tuple (any length and element kinds; grids are
 * tuples of row tuples and may be degenerate), frozenset (any hashable elements, including
 * frozensets and functions) and function (a primitive, or a closure made by compose, chain, fork,
 * matcher, rbind, lbind or power).
 *
 * Ownership: every value lives in the current evaluation arena (dsl_alloc) and is immutable once
 * published; values share by pointer and are never freed one by one. The arena is reset after
 * each evaluation, so nothing may be kept across evaluations except by copying it out.
 *
 * Errors: a primitive that would raise in Python calls dsl_raise(), which longjmps to the
 * evaluation boundary (eval.c); the status becomes `error` with "ExceptionName: message".
 * Arena exhaustion becomes `memout`, the SIGALRM flag `timeout` (checked by DSL_TICK()).
 *
 * Sets reproduce CPython 3.8-3.13 exactly: the same hash functions (int, tuple, frozenset), the
 * same open-addressing table (8 slots to start, linear probes then perturbation, resize rule,
 * dummies left by discard) and the same construction algorithms (add, merge/copy, |, &, -), so
 * iteration order is CPython's whenever a primitive builds its sets in Python's sequence.
 * Functions hash by where they were made (Python hashes them by address: any consistent order
 * will do, but it must not depend on what else ran before; see dsl_rt.func_base). */
#ifndef BF_VALUE_H
#define BF_VALUE_H

#include "compat.h"

#include <string.h>

enum val_kind {
    V_INT,   /* u.i; Python ints are unbounded: overflow of int64 raises OverflowError. First, so
                that memory of zero bytes holds the int 0 (val_fill of zeros: value.c) */
    V_NONE,
    V_BOOL,  /* u.i is 0 or 1; equal to and hashing like the ints 0 and 1 */
    V_TUPLE, /* u.t */
    V_SET,   /* u.s: a frozenset (or, while a primitive builds it, a mutable set) */
    V_FUNC,  /* u.f */
};

struct vtuple;
struct vset;
struct vfunc;

typedef struct val {
    uint32_t kind; /* enum val_kind */
    uint32_t pad_;
    union {
        int64_t i;
        struct vtuple *t;
        struct vset *s;
        struct vfunc *f;
    } u;
} val;

struct vtuple {
    uint32_t len;
    uint32_t hashed;  /* TUPLE_HASHED, TUPLE_UNIFORM_TAIL or 0 */
    int64_t hash;     /* TUPLE_HASHED: hash(t); TUPLE_UNIFORM_TAIL: where the uniform tail starts */
    val item[];
};
#define TUPLE_HASHED 1u       /* hash holds hash(t), computed and cached */
/* Without TUPLE_HASHED: hash holds k < len, and items k .. len - 1 are all the very value item[k]
 * (the same kind and payload). Metadata only, set on long rows that canvas, concatenation and
 * slicing make (perf: solve_91413438 pads grids with canvas rows of millions of zeros, which
 * mostcolor would count and hconcat and hsplit would copy cell by cell); lost when the tuple is
 * hashed. */
#define TUPLE_UNIFORM_TAIL 2u
#define TUPLE_UNIFORM_MIN 4096 /* tails shorter than this are not marked */

/* One slot of a set table, exactly as CPython's setentry: key kind V_EMPTY_SLOT for unused,
 * V_DUMMY_SLOT for a deleted entry (hash -1); both above every enum val_kind. An empty slot's
 * kind is 0xfe in each byte, so that a table is cleared with memset (value.c). */
#define V_EMPTY_SLOT 0xfefefefeu
#define V_DUMMY_SLOT 0xffffffffu
struct set_entry {
    int64_t hash;
    val key;
};

/* What the primitives' fast paths need to know of a patch (a set of (i, j) or of (value, (i, j))):
 * see set_patch_info. */
enum patch_form { PF_OTHER, PF_INDICES, PF_OBJECT };
struct patch_info {
    int64_t imin, imax, jmin, jmax; /* bounding box, when form != PF_OTHER */
    uint8_t form;                   /* enum patch_form */
    uint8_t ints_only;              /* form != PF_OTHER: no item holds anything but ints and bools
                                       (a PF_OBJECT's colours may be any value) */
};

/* A set made by remove(removed, base): itself base without the item equal to removed (runtime.c,
 * dsl_extreme_known). */
struct set_minus {
    const struct vset *base;
    val removed;
};

#define SET_MINSIZE 8
struct vset {
    int64_t fill;     /* active + dummy slots */
    int64_t used;     /* active slots */
    int64_t mask;     /* table size - 1 */
    int64_t hash;     /* frozenset hash, valid when hashed */
    uint8_t hashed;
    uint8_t frozen;   /* 1 once published as a frozenset */
    uint8_t patch_known; /* patch valid (frozen sets only: their items never change) */
    struct patch_info patch;
    const struct set_minus *minus;     /* made by remove(), or NULL */
    struct set_entry *table;           /* == smalltable until the first resize */
    struct set_entry smalltable[SET_MINSIZE];
};

enum func_kind {
    F_PRIM,     /* a primitive used as a value; prim = enum prim_id */
    F_COMPOSE,  /* x -> a(b(x)) */
    F_CHAIN,    /* x -> a(b(c(x))) */
    F_FORK,     /* x -> a(b(x), c(x)) */
    F_MATCHER,  /* x -> a(x) == b */
    F_RBIND,    /* arity 1: x -> a(x, b); 2: (x, y) -> a(x, y, b); 3: (x, y, z) -> a(x, y, z, b) */
    F_LBIND,    /* arity 1: y -> a(b, y); 2: (y, z) -> a(b, y, z); 3: (x, y, z) -> a(b, x, y, z) */
    F_POWER,    /* x -> a applied n times (n >= 2), built like Python's nested composes */
};

struct vfunc {
    uint8_t kind;   /* enum func_kind */
    uint8_t arity;  /* number of arguments the function takes (co_argcount) */
    uint16_t prim;  /* F_PRIM */
    uint32_t id;    /* identity (equality): unique within an evaluation's arena */
    int64_t hash;   /* hash(f): see fn_new (dsl.h) */
    int64_t n;      /* F_POWER */
    val a, b, c;
    /* The call memo (runtime.c): a closure that is the value of a program line or DAG node has
     * its calls memoised once they prove costly; the counts are per line being computed. */
    uint8_t memo;        /* 1: a line's value, eligible */
    uint32_t memo_gen;   /* the line the counts below belong to */
    uint32_t memo_calls; /* calls measured (at most MEMO_LEARN_CALLS) */
    uint64_t memo_cost;  /* their cost: nested calls + arena bytes / MEMO_BYTES_PER_CALL */
    uint32_t memo_stores, memo_hits; /* entries stored and calls answered in the line */
    uint32_t memo_skip_gen; /* == the line being computed: judged not worth memoising in it */
    uint32_t small_gen;     /* the line small_unkept counts in */
    uint32_t small_unkept;  /* results the small-call cache could not keep, in that line */
};

/* ---- constructors ---- */
static inline val v_none(void) { val v = { V_NONE, 0, { 0 } }; return v; }
static inline val v_bool(bool b) { val v = { V_BOOL, 0, { .i = b ? 1 : 0 } }; return v; }
static inline val v_int(int64_t i) { val v = { V_INT, 0, { .i = i } }; return v; }
static inline val v_tuple(struct vtuple *t) { val v = { V_TUPLE, 0, { .t = t } }; return v; }
static inline val v_set(struct vset *s) { val v = { V_SET, 0, { .s = s } }; return v; }
static inline val v_func(struct vfunc *f) { val v = { V_FUNC, 0, { .f = f } }; return v; }

/* *p read as two 8-byte halves. An argument array is mostly written by a caller that held each
 * value in two general registers (a by-value val), as two 8-byte stores; a 16-byte load of it
 * (what a struct copy compiles to: buf[i] = argv[i], a job's fields from a[]) cannot be forwarded
 * from them and waits until both reach the cache, about a dozen cycles, on every call of a
 * closure or primitive. Perf: solve_d22278a0 over the training tasks (2 passes) 7.9-8.1 s to
 * 7.6-7.7 s with closure_call's reads alone, 7.15 s with the primitives' below. Writing the
 * arrays in one 16-byte store instead made it 9.5 s (the values pass through vector registers). */
_Static_assert(sizeof(val) == 2 * sizeof(uint64_t), "val_load reads a value as two 8-byte halves");
static inline __attribute__((always_inline)) val val_load(const val *p)
{
    uint64_t lo, hi;
    memcpy(&lo, p, sizeof lo);
    memcpy(&hi, (const unsigned char *)p + sizeof lo, sizeof hi);
    __asm__("" : "+r"(lo), "+r"(hi)); /* keep them in general registers: no vector load */
    val v;
    memcpy(&v, &lo, sizeof lo);
    memcpy((unsigned char *)&v + sizeof lo, &hi, sizeof hi);
    return v;
}

/* A set table's fill and used, both one up (a key went into an unused slot), as two 8-byte
 * increments. Perf: the compiler otherwise makes them one 16-byte load, add and store, and the
 * load waits a dozen cycles whenever the last write of the pair was an 8-byte one (a new set, a
 * resize, a dummy reused): set_add's and objects()' commonest stall. */
static inline void fill_used_bump(int64_t *fill, int64_t *used)
{
    (*fill)++;
    __asm__("" : "+m"(*fill)); /* not merged with the next line */
    (*used)++;
}

static inline bool v_is_int(val v) { return v.kind == V_INT || v.kind == V_BOOL; } /* isinstance(v, int) */
static inline bool v_is_int_zero(val v) { return v.kind == V_INT && v.u.i == 0; } /* the int 0: zero bytes */
/* The same object (CPython's identity shortcut before ==): the same kind and payload, i.e. the
 * same int or the same tuple, set or function object. */
static inline bool val_same_object(val a, val b) { return a.kind == b.kind && a.u.i == b.u.i; }
static inline bool v_is_tuple(val v) { return v.kind == V_TUPLE; }
static inline bool v_is_set(val v) { return v.kind == V_SET; }
static inline bool v_is_func(val v) { return v.kind == V_FUNC; }

/* ---- tuples ---- */
/* The bytes of a tuple of len items (what tuple_new allocates). */
static inline size_t tuple_bytes(uint32_t len) { return sizeof(struct vtuple) + (size_t)len * sizeof(val); }
struct vtuple *tuple_new(uint32_t len);         /* items to be filled by the caller */
struct vtuple *tuple_new_zeroed(uint32_t len);  /* every item the int 0 (dsl_alloc_zeroed) */
struct vtuple *tuple_of_copies(uint32_t len, val v); /* len copies of v (of 0: tuple_new_zeroed) */
val tuple_pair(val a, val b);                  /* (a, b) */
/* (a, b) of ints; the interned pairs (value.c) inline (perf: one call per coordinate saved). */
#define DSL_PAIR_LO (-64)
#define DSL_PAIR_SPAN 512
#define DSL_PAIR_STRIDE (sizeof(struct vtuple) + 2 * sizeof(val))
extern unsigned char *dsl_pair_pool; /* NULL until the first pair is made */
/* The slot of (i, j), both in [0, span), in a pool of span rows of span + 1 tuples: row-major,
 * with one slot of padding per row so that rows do not fall on the same cache sets (value.c). */
static inline size_t dsl_pool_slot(uint64_t i, uint64_t j, uint64_t span)
{
    return (size_t)(i * (span + 1) + j);
}
#define DSL_POOL_SLOTS(span) ((size_t)(span) * ((size_t)(span) + 1))
val tuple_ints_slow(int64_t a, int64_t b);
bool tuple_interned(const struct vtuple *t); /* one of the interned pairs and cells (no arena's) */
static inline val tuple_ints(int64_t a, int64_t b)
{
    uint64_t i = (uint64_t)a - (uint64_t)DSL_PAIR_LO, j = (uint64_t)b - (uint64_t)DSL_PAIR_LO;
    if (dsl_pair_pool != NULL && i < DSL_PAIR_SPAN && j < DSL_PAIR_SPAN) {
        struct vtuple *t = (struct vtuple *)(void *)(dsl_pair_pool + dsl_pool_slot(i, j, DSL_PAIR_SPAN) * DSL_PAIR_STRIDE);
        if (BF_LIKELY(t->len != 0)) /* 0: not written yet (value.c) */
            return v_tuple(t);
    }
    return tuple_ints_slow(a, b);
}
/* (c, (i, j)), the same as tuple_pair(c, tuple_ints(i, j)); an interned cell is found from c, i
 * and j alone (perf: without reading the pair first, one cache miss less per cell of shift() and
 * the like: solve_6aa20dc0 shifts 12 million cells on 1190e5a7). */
val tuple_cell(val c, int64_t i, int64_t j);
void tuple_cell_prefetch(val c, int64_t i, int64_t j); /* of tuple_cell(c, i, j)'s memory */
val tuple_empty(void);                         /* () (a shared singleton) */
/* Where t's uniform tail starts (TUPLE_UNIFORM_TAIL), or its length when none is known. */
static inline uint32_t tuple_uniform_from(const struct vtuple *t)
{
    return t->hashed == TUPLE_UNIFORM_TAIL ? (uint32_t)t->hash : t->len;
}
/* Marks items k .. len - 1 of the new tuple t, all the very value item[k], as its uniform tail
 * (when long enough to be worth it). */
static inline void tuple_mark_uniform(struct vtuple *t, uint32_t k)
{
    if (t->hashed == 0 && k < t->len && t->len - k >= TUPLE_UNIFORM_MIN) {
        t->hashed = TUPLE_UNIFORM_TAIL;
        t->hash = k;
    }
}
val tuple_concat(val x, val y); /* x + y for two tuples */
void val_fill(val *dst, val v, int64_t n); /* n copies of v */
static inline uint32_t tup_len(val v) { return v.u.t->len; }
static inline val tup_get(val v, uint32_t i) { return v.u.t->item[i]; }

/* ---- sets (CPython algorithms; each names the CPython function it follows) ---- */
struct vset *set_new(void);                            /* set() */
void set_add(struct vset *s, val key);                 /* set_add_entry */
void set_add_hashed(struct vset *s, val key, int64_t hash);
bool set_contains(const struct vset *s, val key);      /* set_contains_entry */
void set_discard(struct vset *s, val key);             /* set_discard_entry: leaves a dummy */
/* set_update_internal: other is a set -> set_merge (slot order); a tuple -> add each item;
 * anything else raises TypeError. */
void set_update(struct vset *s, val other);
struct vset *set_copy(const struct vset *s);           /* make_new_set(type, s): a set_merge copy */
struct vset *set_or(const struct vset *a, val b);      /* a | b, a.union(b) */
struct vset *set_and(const struct vset *a, val b);     /* a & b, a.intersection(b) */
struct vset *set_sub(const struct vset *a, val b);     /* a - b, a.difference(b) */
/* frozenset(x): returns x itself when x is already a frozenset (as CPython does), a set_merge
 * copy when x is a mutable set, else builds from the iterable x (tuple items added in order). */
val frozenset_of(val x);
val set_freeze(struct vset *s);                        /* publish s itself as a frozenset value */
/* frozenset(s) of a mutable set s that is not used afterwards (a display, a set a primitive
 * built): s itself, frozen, when CPython's copy would have its very table (the same size, no
 * dummies: set_merge then copies it byte for byte), else the copy (perf: objects() froze each
 * object by copying it). */
val set_freeze_copy(struct vset *s);
val set_empty(void);                                   /* frozenset() (a shared singleton) */
static inline int64_t set_len(val v) { return v.u.s->used; }
/* A non-empty set as a patch: PF_INDICES when every item is an (i, j) pair of ints (not bools)
 * with |i|, |j| < PATCH_COORD_LIMIT, PF_OBJECT when every item is (value, (i, j)) with such a
 * pair, else PF_OTHER (dsl.py tells objects from indices by the first item; a plain patch has
 * all its items of that form); with the bounding box when plain. One scan per frozen set: the
 * answer is kept in it. */
#define PATCH_COORD_LIMIT ((int64_t)1 << 60)
const struct patch_info *set_patch_info(const struct vset *s, struct patch_info *scratch);
/* s, frozen and not empty, is known to hold only items of that form with this exact bounding box
 * and, with ints_only, no colour but ints and bools (what patch_scan would find): the producer's
 * facts, so that no scan is needed (perf). */
void set_patch_facts(struct vset *s, enum patch_form form, int64_t imin, int64_t imax, int64_t jmin, int64_t jmax,
                     bool ints_only);
/* s's facts when known, else NULL (never scans). */
const struct patch_info *set_patch_known(const struct vset *s);
/* s, frozen, is `from` shifted by (di, dj) item for item: it gets from's facts, shifted, when
 * those are known (perf: a shifted copy's bounding box without a scan). */
void set_patch_shifted(struct vset *s, const struct vset *from, int64_t di, int64_t dj);
/* Iteration in slot order: for (int64_t pos = 0; set_next(s, &pos, &item);) ... */
bool set_next(const struct vset *s, int64_t *pos, val *item);
/* The same a chunk of SET_CHUNK slots at a time, their active entries gathered into buf without a
 * branch per slot (perf: about half the slots of a table are active, at random, so a branch on it
 * is mispredicted every other slot). For a set that does not change while it is iterated:
 *   struct set_entry buf[SET_CHUNK];
 *   for (int64_t pos = 0, n; set_chunk(s, &pos, buf, &n);) for (int64_t i = 0; i < n; i++) ... */
#define SET_CHUNK 64
/* The active entries among table[*pos, size), at most SET_CHUNK slots, into buf in slot order;
 * moves *pos past those slots and returns how many were active. */
static inline int64_t set_gather(const struct set_entry *table, int64_t size, int64_t *pos, struct set_entry *buf)
{
    int64_t from = *pos, to = size - from > SET_CHUNK ? from + SET_CHUNK : size, k = 0;
    for (int64_t i = from; i < to; i++) {
        buf[k] = table[i];
        k += table[i].key.kind < V_EMPTY_SLOT;
    }
    *pos = to;
    return k;
}
static inline bool set_chunk(const struct vset *s, int64_t *pos, struct set_entry *buf, int64_t *n)
{
    if (*pos > s->mask)
        return false;
    *n = set_gather(s->table, s->mask + 1, pos, buf);
    return true;
}

/* ---- generic operations (Python semantics) ---- */
int64_t val_hash(val v);                   /* hash(v) */

/* CPython's hash formulas, for code that hashes without building the value. hash(int):
 * int_hash. hash(tuple) (3.8+, xxHash-based): TUPLE_HASH_START, one tuple_hash_lane per item's
 * hash, then tuple_hash_end with the length; hash_int_pair(a, b) is hash((a, b)) and
 * hash_cell(c, i, j) hash((c, (i, j))). hash(frozenset(S)): frozenset_hash_end(the xor of
 * frozenset_hash_item(hash(x)) over the items x, len(S)). */
#define HASH_MODULUS ((((uint64_t)1) << 61) - 1) /* _PyHASH_MODULUS */
int64_t int_hash_big(int64_t v);
static inline int64_t int_hash(int64_t v)
{
    if (BF_LIKELY(v >= -(int64_t)HASH_MODULUS + 1 && v < (int64_t)HASH_MODULUS))
        return v == -1 ? -2 : v; /* |v| < 2^61 - 1: the value itself */
    return int_hash_big(v);
}
#define TUPLE_HASH_START 2870177450012600261ULL /* xxHash's prime 5 */
static inline uint64_t tuple_hash_lane(uint64_t acc, int64_t item_hash)
{
    acc += (uint64_t)item_hash * 14029467366897019727ULL;
    acc = (acc << 31) | (acc >> 33);
    return acc * 11400714785074694791ULL;
}
static inline int64_t tuple_hash_end(uint64_t acc, uint32_t len)
{
    acc += (uint64_t)len ^ (TUPLE_HASH_START ^ 3527539ULL);
    return acc == UINT64_MAX ? 1546275796 : (int64_t)acc;
}
/* hash((a, b)) for an int a in two steps, for loops over many b's of one a: pair_hash_lane(a)
 * once (the tuple hash's state after its first item), then pair_hash_end(lane, hash(b)) per b. */
static inline uint64_t pair_hash_lane(int64_t a)
{
    return tuple_hash_lane(TUPLE_HASH_START, int_hash(a));
}
static inline int64_t pair_hash_end(uint64_t lane, int64_t b_hash)
{
    return tuple_hash_end(tuple_hash_lane(lane, b_hash), 2);
}
static inline int64_t hash_int_pair(int64_t a, int64_t b)
{
    return pair_hash_end(pair_hash_lane(a), int_hash(b));
}
static inline int64_t hash_cell(int64_t c, int64_t i, int64_t j)
{
    return pair_hash_end(pair_hash_lane(c), hash_int_pair(i, j));
}
static inline uint64_t frozenset_hash_item(int64_t item_hash)
{
    uint64_t h = (uint64_t)item_hash;
    return ((h ^ 89869747ULL) ^ (h << 16)) * 3644798167ULL;
}
static inline int64_t frozenset_hash_end(uint64_t xor_of_items, int64_t len)
{
    uint64_t h = xor_of_items ^ ((uint64_t)len + 1) * 1927868237ULL;
    h ^= (h >> 11) ^ (h >> 25);
    h = h * 69069U + 907133923ULL;
    return h == UINT64_MAX ? 590923713 : (int64_t)h;
}

bool val_eq(val a, val b);                 /* a == b */
/* a == b, without a call for the common int/int case. */
static inline bool val_eq_fast(val a, val b)
{
    if (v_is_int(a) && v_is_int(b))
        return a.u.i == b.u.i;
    return val_eq(a, b);
}
bool val_truthy(val v);                    /* bool(v) */
const char *val_type_name(val v);          /* type(v).__name__: 'int', 'tuple', 'frozenset', ... */
bool val_lt(val a, val b);                 /* a < b; raises TypeError when not comparable */
int64_t val_len(val v);                    /* len(v): tuples and sets; TypeError otherwise */
bool val_in(val x, val container);         /* x in container (tuple scan or set lookup) */
/* Iterate a tuple or set uniformly (Python's `for x in container`); TypeError otherwise. */
struct val_iter { val c; int64_t pos; };
void val_iter_init(struct val_iter *it, val container);
bool val_iter_next(struct val_iter *it, val *item);

/* The items of an iterable in Python's iteration order: a tuple's own array, or a set's items
 * copied out in slot order (into the arena). TypeError for anything else, as `for x in v`. */
const val *val_items(val c, int64_t *n);
/* `a, b = v`: a pair's items, a 2-item set's in iteration order; TypeError or ValueError as
 * Python raises otherwise. */
void val_unpack2_slow(val v, val *a, val *b);
static inline void val_unpack2(val v, val *a, val *b)
{
    if (BF_LIKELY(v.kind == V_TUPLE && v.u.t->len == 2)) {
        *a = v.u.t->item[0];
        *b = v.u.t->item[1];
        return;
    }
    val_unpack2_slow(v, a, b);
}

/* Python subscription seq[i]: negative i counts from the end; IndexError out of range;
 * TypeError when seq is not a tuple ('frozenset' object is not subscriptable, ...). */
val val_index(val seq, int64_t i);
/* seq[start:stop] (step 1) with Python's clamping; pass SLICE_NONE for an omitted bound. */
#define SLICE_NONE INT64_MIN
val val_slice(val seq, int64_t start, int64_t stop);
/* A set of slices made together (the rows of hsplit's pieces): a slice of at least
 * SLICE_SHARE_MIN items that lies in its row's uniform tail is the very tuple of an earlier such
 * slice of the same value and length, one of the last SLICE_SHARE_KEPT (perf: solve_91413438 cuts
 * 3 rows of up to 2 million zeros into hundreds of pieces; sharing their rows takes its peak
 * memory from 266 to 246 MB). Start zeroed; valid while those slices are. */
#define SLICE_SHARE_MIN 256
#define SLICE_SHARE_KEPT 4
struct slice_share {
    unsigned next; /* the entry replaced next */
    struct {
        val value;
        struct vtuple *tuple; /* NULL: none yet */
    } kept[SLICE_SHARE_KEPT];
};
val val_slice_shared(val seq, int64_t start, int64_t stop, struct slice_share *share);
val tuple_of(val iterable);                 /* tuple(iterable): a tuple is returned as is */
/* sorted(iterable, key=key) (key may be v_none() for no key) with CPython's list.sort: keys are
 * computed first in iteration order; only `<` is used (val_lt); stable; for n < 64 exactly
 * CPython's count_run + binary insertion (so partial orders such as set-valued keys give
 * CPython's result), above that a stable merge sort (identical for total orders). Returns a tuple. */
val py_sorted(val iterable, val key);
/* max(iterable, key=key) / min(...): the first item whose key is strictly greater (smaller)
 * replaces the current one, as CPython does; ValueError on an empty iterable. key may be none. */
val py_max(val iterable, val key);
val py_min(val iterable, val key);
/* The same (want_max: max), also handing each item and its key to observe(ctx, item, key) as it
 * is computed, in iteration order (key must be a function). */
val py_extreme_observed(val iterable, val key, bool want_max, void (*observe)(void *ctx, val item, val k),
                        void *ctx);

/* Python int arithmetic with overflow detection (OverflowError) and floor semantics. */
int64_t int_add(int64_t a, int64_t b);
int64_t int_sub(int64_t a, int64_t b);
int64_t int_mul(int64_t a, int64_t b);
int64_t int_floordiv(int64_t a, int64_t b);  /* ZeroDivisionError */
int64_t int_mod(int64_t a, int64_t b);       /* sign follows the divisor */
int64_t val_as_int(val v, const char *what); /* TypeError unless an int or bool */

/* ---- text ---- */
/* limit: val_repr stops adding once len reaches it (0: no limit); the text it leaves is the
 * first `limit` or more characters of the whole repr. */
struct strbuf { char *p; size_t len, cap, limit; };
void sb_putc(struct strbuf *sb, char c);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) BF_PRINTF(2, 3);
void sb_release(struct strbuf *sb);     /* malloc memory, not arena */
/* Python repr: 5, True, None, (1, 2), (1,), (), frozenset({1, 2}), frozenset(), <function name>. */
void val_repr(val v, struct strbuf *sb);

#endif
