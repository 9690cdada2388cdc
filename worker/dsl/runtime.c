/* runtime.c: the DSL runtime state (dsl_rt): arenas and dsl_alloc, raising Python exceptions
 * by longjmp to the protected boundary, timeouts and memouts, calling function values
 * (primitives and the closures of compose/chain/fork/matcher/rbind/lbind/power) with Python's
 * arity and recursion checks, the primitive dispatch table and the DSL constants. */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../gpu/score_mix.h" /* score_mix64: the worker's 64-bit mixer */
#include "arena.h"
#include "dsl.h"

struct dsl_runtime dsl_rt;

const prim_fn prim_impl[PRIM_COUNT] = {
#define PRIM(name, arity, ret, args, doc) prim_##name,
#include "../../common/prims.def"
#undef PRIM
};

/* ---------------------------------------------------------------- arenas */

#define ARENA_BLOCK_SIZE ((size_t)1 << 20)     /* 1 MiB blocks, up to ARENA_SMALL in all */
#define ARENA_SMALL ((size_t)64 << 20)         /* 1 MiB blocks up to this much */
#define ARENA_RETAIN ((size_t)512 << 20)       /* blocks kept resident across resets */
#define ARENA_KEEP ((size_t)1 << 30)           /* blocks kept at all (past it: unmapped) */
/* Beyond ARENA_SMALL an evaluation is big: blocks of 32 MiB mapped with transparent huge pages
 * where the kernel allows them (madvise mode). Blocks stay in the arena's chain for the next
 * evaluation (as glibc's heap kept freed blocks before, with M_TRIM_THRESHOLD at 512 MiB), up
 * to ARENA_KEEP bytes: a bound on the address space held between evaluations, which RLIMIT_AS
 * counts. The pages of mapped blocks past ARENA_RETAIN are handed back lazily at the next reset
 * (MADV_FREE: the kernel takes them only when it runs short of memory; until then touching them
 * again costs nothing). Touching and returning 2 GiB in 4 KiB pages cost a runaway call a fifth
 * of its time in page faults and the next call up to 50 ms in unmapping (perf, solve_91413438
 * on 83302e8f). Unmapping the blocks past ARENA_RETAIN (sessions 8 to 11) cost the arc-dsl
 * sweep 56 fresh 34 MiB mappings, whose first touch took 2 to 5 ms per huge page in this VM
 * (the host backs a fresh page only when touched): 8% of its CPU time in clear_page. */
#define ARENA_BIG_BLOCK_SIZE ((size_t)32 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
#define ARENA_ALIGN ((size_t)16)

/* LeakSanitizer scans the heap, stacks and globals but not memory we map ourselves: a malloc'd
 * block (or any malloc'd memory) whose only pointer lies in a mapped block would be reported as
 * leaked. Under ASan every mapped block is registered as a root region while it is mapped. */
#if defined(__SANITIZE_ADDRESS__)
#define BF_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BF_LSAN 1
#endif
#endif
/* Under ASan, memory the arena takes back (a rollback, a rewind, a reset) is also poisoned until
 * it is handed out again, so that a value still pointing into it is reported where it is read,
 * not found by chance in an output (arena_poison_since, dsl_alloc). */
#ifdef BF_LSAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define lsan_mapped(p, n) __lsan_register_root_region((p), (n))
#define lsan_unmapping(p, n) __lsan_unregister_root_region((p), (n))
#define arena_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define arena_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define lsan_mapped(p, n) ((void)0)
#define lsan_unmapping(p, n) ((void)0)
#define arena_poison(p, n) ((void)0)
#define arena_unpoison(p, n) ((void)0)
#endif

struct arena_block {
    struct arena_block *next;
    size_t size;                 /* bytes of data */
    size_t mapped;               /* bytes mapped with mmap (whole block), 0 when malloc'd */
    _Alignas(16) unsigned char data[];
};

/* A mapping of its own for a big allocation of zeros (dsl_alloc_zeroed), this header first. */
struct zero_map {
    struct zero_map *next;       /* made before it */
    size_t len;                  /* bytes mapped */
};
#define ZERO_MAP_HEADER ((size_t)64) /* keeps the data 16-byte aligned */

struct dsl_arena {
    struct arena_block *first, *cur;
    size_t off;                  /* bytes used in cur */
    size_t size;                 /* cur's size, 0 when cur is NULL (perf: one compare) */
    size_t used;                 /* bytes handed out since the last reset */
    struct arena_block *moved;   /* blocks holding results moved out of a region (malloc'd, freed
                                    at the next reset: never reused, so never handed back before) */
    struct zero_map *zero_maps;  /* dsl_alloc_zeroed's mappings, newest first: unmapped when the
                                    arena is reset or rewound to before them */
};

static struct dsl_arena default_arena;
static struct dsl_arena *current_arena = &default_arena;
uint64_t dsl_arena_generation = 1;
static uint64_t fail_countdown;

/* Poisons (under ASan) what a handed out from block `from`, offset off, on: a is about to take
 * it back. */
static void arena_poison_since(const struct dsl_arena *a, const struct arena_block *from, size_t off)
{
#ifdef BF_LSAN
    if (a->cur == NULL)
        return;
    for (const struct arena_block *b = from != NULL ? from : a->first; b != NULL; b = b->next) {
        size_t lo = b == from ? off : 0, hi = b == a->cur ? a->off : b->size;
        if (hi > lo)
            arena_poison(b->data + lo, hi - lo);
        if (b == a->cur)
            break;
    }
#else
    (void)a;
    (void)from;
    (void)off;
#endif
}

struct dsl_arena *dsl_arena_new(void)
{
    struct dsl_arena *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        fputs("battfarm: out of memory (arena)\n", stderr);
        abort();
    }
    return a;
}

static void arena_free_blocks(struct arena_block *b)
{
    while (b != NULL) {
        struct arena_block *next = b->next;
        if (b->mapped != 0) {
            lsan_unmapping(b, b->mapped);
            arena_unpoison(b, b->mapped);
            munmap(b, b->mapped);
        } else {
            arena_unpoison(b, sizeof(*b) + b->size);
            free(b);
        }
        b = next;
    }
}

/* A block of at least n bytes of data; big (mapped, huge pages) once the arena already holds
 * ARENA_SMALL bytes of blocks, or when n is more than a small block: a table of megabytes probed
 * at random (the call memo's, a big set's) then sits on huge pages from the start (perf:
 * solve_d22278a0 on 890034e9, whose memo table reaches 23 MB early, 1.85-1.94 s to 1.71-1.88 s
 * over its 4 inputs). NULL when out of memory. */
static struct arena_block *block_new(size_t n, size_t arena_bytes)
{
    struct arena_block *b;
    if (arena_bytes + ARENA_BLOCK_SIZE <= ARENA_SMALL && n <= ARENA_BLOCK_SIZE) {
        size_t size = n > ARENA_BLOCK_SIZE ? n : ARENA_BLOCK_SIZE;
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->size = size;
        b->mapped = 0;
        return b;
    }
    size_t want = sizeof(*b) + (n > ARENA_BIG_BLOCK_SIZE ? n : ARENA_BIG_BLOCK_SIZE);
    if (want < n || want > SIZE_MAX / 2) /* overflow, or more than any machine maps */
        return NULL;
    size_t len = (want + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    /* map one huge page more and trim, so that the block starts on a huge-page boundary */
    unsigned char *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t head = start - (uintptr_t)raw, tail = HUGE_PAGE - head;
    if (head != 0)
        munmap(raw, head);
    if (tail != 0)
        munmap((unsigned char *)start + len, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)start, len, MADV_HUGEPAGE); /* advice only: fine when refused */
#endif
    lsan_mapped((void *)start, len);
    b = (struct arena_block *)start;
    b->size = len - sizeof(*b);
    b->mapped = len;
    return b;
}

static void extremes_forget(void);

/* Unmaps a's zero mappings made after `keep` (one of them, or NULL for all). */
static void zero_maps_unmap(struct dsl_arena *a, const struct zero_map *keep)
{
    while (a->zero_maps != keep && a->zero_maps != NULL) {
        struct zero_map *z = a->zero_maps;
        a->zero_maps = z->next;
        lsan_unmapping(z, z->len);
        munmap(z, z->len);
    }
}

void dsl_arena_free(struct dsl_arena *a)
{
    dsl_arena_generation++;
    extremes_forget();
    if (a == NULL)
        return;
    if (current_arena == a)
        dsl_arena_use(NULL);
    zero_maps_unmap(a, NULL);
    arena_free_blocks(a->first);
    arena_free_blocks(a->moved);
    if (a != &default_arena)
        free(a);
    else
        memset(a, 0, sizeof(*a));
}

/* Lets the kernel take back the pages of a mapped block's data when it needs memory (the first
 * huge page stays: it holds the block's header). */
static void block_lazy_free(struct arena_block *b)
{
#ifdef MADV_FREE
    if (b->mapped > HUGE_PAGE)
        madvise((unsigned char *)b + HUGE_PAGE, b->mapped - HUGE_PAGE, MADV_FREE); /* advice only */
#else
    (void)b;
#endif
}

void dsl_arena_reset(struct dsl_arena *a)
{
    arena_poison_since(a, NULL, 0);
    dsl_arena_generation++;
    extremes_forget();
    arena_free_blocks(a->moved);
    a->moved = NULL;
    zero_maps_unmap(a, NULL);
    /* blocks after cur were not touched since the last reset: already handed back if need be */
    size_t kept = 0;
    bool touched = true;
    for (struct arena_block *b = a->first; b != NULL; b = b->next) {
        kept += b->size;
        if (kept > ARENA_RETAIN && touched)
            block_lazy_free(b);
        if (kept >= ARENA_KEEP && b->next != NULL) {
            arena_free_blocks(b->next);
            b->next = NULL;
        }
        if (b == a->cur)
            touched = false;
    }
    a->cur = a->first;
    a->size = a->cur != NULL ? a->cur->size : 0;
    a->off = 0;
    a->used = 0;
    if (a == current_arena)
        dsl_rt.arena_used = 0;
}

size_t dsl_arena_bytes(const struct dsl_arena *a)
{
    return a->used;
}

size_t dsl_arena_held(const struct dsl_arena *a)
{
    size_t held = 0;
    for (const struct arena_block *b = a->first; b != NULL; b = b->next)
        held += b->size;
    return held;
}

struct dsl_arena *dsl_arena_use(struct dsl_arena *a)
{
    dsl_arena_generation++;
    struct dsl_arena *prev = current_arena;
    current_arena = a != NULL ? a : &default_arena;
    dsl_rt.arena_used = current_arena->used;
    return prev;
}

struct dsl_arena *dsl_arena_default(void)
{
    return &default_arena;
}

void dsl_debug_fail_alloc(uint64_t nth)
{
    fail_countdown = nth;
}

/* Links b into the chain after the current block (first when there is none), before next. */
static struct arena_block *arena_link_after_cur(struct dsl_arena *a, struct arena_block *b, struct arena_block *next)
{
    b->next = next;
    if (a->cur != NULL)
        a->cur->next = b;
    else
        a->first = b;
    return b;
}

/* Before a new block of n bytes is mapped (no kept block holds n): the mapped kept blocks after the
 * current one, all smaller than n and holding nothing live (untouched since the last reset, or
 * handed back by a scratch region), are unmapped first, up to n bytes, so that the new block's
 * pages are the ones just handed back. Perf: in this VM the host backs a guest page only on its
 * first touch, 5 ms per 2 MB huge page, while a page freed a moment ago costs 0.05 ms (256 MB
 * mapped and touched: 640 ms fresh, 13 ms right after a munmap of as much); solve_91413438's calls
 * of 190 to 375 MB had grown a worker's kept blocks to 583 MB, each bigger request mapping fresh
 * memory beside blocks too small for it. Returns the block after cur. */
static struct arena_block *arena_release_kept(struct dsl_arena *a, size_t n)
{
    struct arena_block **link = a->cur != NULL ? &a->cur->next : &a->first;
    size_t released = 0;
    while (*link != NULL && released < n) {
        struct arena_block *b = *link;
        if (b->mapped == 0) {
            link = &b->next;
            continue;
        }
        *link = b->next;
        released += b->size;
        b->next = NULL;
        arena_free_blocks(b);
    }
    return a->cur != NULL ? a->cur->next : a->first;
}

/* Moves to a block with room for n bytes: the next kept block if it is big enough, else the
 * first big enough one further on, moved up to follow the current block (a kept block is
 * touched again rather than a fresh one mapped), else a new one inserted there, once the kept
 * blocks too small for it are unmapped (arena_release_kept). NULL when malloc fails. */
static struct arena_block *arena_next_block(struct dsl_arena *a, size_t n)
{
    struct arena_block *next = a->cur != NULL ? a->cur->next : a->first;
    if (next != NULL && next->size < n) {
        struct arena_block *before = next;
        while (before->next != NULL && before->next->size < n)
            before = before->next;
        struct arena_block *fit = before->next;
        if (fit != NULL) {
            before->next = fit->next;
            next = arena_link_after_cur(a, fit, next);
        }
    }
    if (next == NULL || next->size < n) {
        next = arena_release_kept(a, n);
        struct arena_block *b = block_new(n, dsl_arena_held(a));
        if (b == NULL)
            return NULL;
        next = arena_link_after_cur(a, b, next);
    }
    a->cur = next;
    a->size = next->size;
    a->off = 0;
    return next;
}

/* What dsl_alloc(n) takes from the arena. */
static inline size_t arena_round(size_t n)
{
    return n == 0 ? ARENA_ALIGN : (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

/* A position in the current arena, to take back memory known to be dead (compose_call's
 * temporary, scratch regions: below). */
struct arena_mark {
    struct dsl_arena *arena;
    struct arena_block *cur;
    size_t off, used;
    struct zero_map *zero_maps;
};

static inline struct arena_mark arena_mark(void)
{
    struct dsl_arena *a = current_arena;
    struct arena_mark m = { a, a->cur, a->off, a->used, a->zero_maps };
    return m;
}

/* Whether the only memory handed out since m is the n bytes at p (asked with dsl_alloc(n)). */
static inline bool arena_only_since(struct arena_mark m, const void *p, size_t n)
{
    const struct dsl_arena *a = current_arena;
    n = arena_round(n);
    return a == m.arena && m.cur != NULL && a->cur == m.cur && (const unsigned char *)p == m.cur->data + m.off &&
           a->off == m.off + n;
}

/* Hands the memory handed out since m back (the caller knows nothing points into it, and that
 * m is in the current arena). Blocks added since stay in the chain, for the next allocations. */
static inline void arena_rollback(struct arena_mark m)
{
    struct dsl_arena *a = m.arena;
    arena_poison_since(a, m.cur, m.off);
    zero_maps_unmap(a, m.zero_maps);
    a->cur = m.cur;
    a->size = m.cur->size;
    a->off = m.off;
    a->used = m.used;
    dsl_rt.arena_used = m.used;
}

struct dsl_arena_pos dsl_arena_tell(const struct dsl_arena *a)
{
    struct dsl_arena_pos pos = { a->cur, a->off, a->used, a->moved, a->zero_maps };
    return pos;
}

void dsl_arena_rewind(struct dsl_arena *a, struct dsl_arena_pos pos)
{
    arena_poison_since(a, pos.cur, pos.off);
    zero_maps_unmap(a, pos.zero_maps);
    while (a->moved != pos.moved && a->moved != NULL) { /* moved since: newest first */
        struct arena_block *b = a->moved;
        a->moved = b->next;
        free(b);
    }
    a->cur = pos.cur != NULL ? pos.cur : a->first;
    a->size = a->cur != NULL ? a->cur->size : 0;
    a->off = pos.cur != NULL ? pos.off : 0;
    a->used = pos.used;
    if (a == current_arena)
        dsl_rt.arena_used = a->used;
    dsl_arena_generation++; /* value.c's recycled set tables may lie in what was handed back */
}

/* Scratch regions: a call whose result is dropped (a condition) runs between scratch_begin and
 * scratch_end, which hands the memory it took back unless the call memo grew its table or stored
 * an entry pointing into that memory (memo_entry_fresh). Regions nest; a call that raises never
 * reaches scratch_end, and dsl_protect closes the regions it leaves open. Here: how many are
 * open, where the outermost began, and how many memo entries pointing into memory handed out
 * since then were stored (one keeps every open region's memory). */
static struct {
    uint32_t open;
    struct arena_mark floor;
    uint64_t pins;
} scratch;

/* Whether p lies in memory handed out since m (yes when that cannot be told: the current arena
 * is not m's). */
static bool arena_since(const struct arena_mark *m, const void *p)
{
    const struct dsl_arena *a = current_arena;
    const unsigned char *q = p;
    if (a != m->arena)
        return true;
    for (const struct zero_map *z = a->zero_maps; z != m->zero_maps && z != NULL; z = z->next)
        if (q >= (const unsigned char *)z && q < (const unsigned char *)z + z->len)
            return true;
    for (const struct arena_block *b = m->cur; b != NULL; b = b->next) {
        const unsigned char *lo = b == m->cur ? b->data + m->off : b->data;
        const unsigned char *hi = b == a->cur ? b->data + a->off : b->data + b->size;
        if (q >= lo && q < hi)
            return true;
        if (b == a->cur)
            return false;
    }
    return true;
}

/* Whether p lies in memory handed out since the outermost open scratch region began. */
static bool scratch_fresh(const void *p)
{
    return arena_since(&scratch.floor, p);
}

/* The rare cases of dsl_alloc: the failure hook, the cap, a new block. */
__attribute__((noinline)) static void *dsl_alloc_slow(size_t n)
{
    if (BF_UNLIKELY(fail_countdown != 0) && --fail_countdown == 0)
        dsl_memout();
    if (dsl_rt.arena_cap != 0 && dsl_rt.arena_used + n > dsl_rt.arena_cap)
        dsl_memout();
    struct dsl_arena *a = current_arena;
    if (a->off + n > a->size) {
        if (arena_next_block(a, n) == NULL)
            dsl_memout();
    }
    void *p = a->cur->data + a->off;
    a->off += n;
    a->used += n;
    dsl_rt.arena_used = a->used;
    arena_unpoison(p, n);
    return p;
}

void *dsl_alloc(size_t n)
{
    DSL_TICK();
    n = arena_round(n);
    struct dsl_arena *a = current_arena;
    size_t off = a->off + n, used = a->used + n;
    if (BF_UNLIKELY(off > a->size || fail_countdown != 0 ||
                    (dsl_rt.arena_cap != 0 && used > dsl_rt.arena_cap)))
        return dsl_alloc_slow(n);
    void *p = a->cur->data + a->off;
    a->off = off;
    a->used = used;
    dsl_rt.arena_used = used;
    arena_unpoison(p, n);
    return p;
}

void dsl_fill(void *p, int byte, size_t n)
{
    const size_t slice = (size_t)1 << 20;
    unsigned char *q = p;
    while (n > slice) {
        memset(q, byte, slice);
        q += slice;
        n -= slice;
        DSL_TICK();
    }
    memset(q, byte, n);
}

/* Big allocations of zeros get a mapping of their own (fresh anonymous memory reads as zeros):
 * nothing is written but what the caller writes, and no page of the arena's blocks is handed back
 * to be faulted in again by whatever is allocated there next. Perf: solve_91413438 pads its grids
 * with rows of up to 2 million zeros (the int 0 is all zero bytes: value.h), of which it writes
 * and reads back only the first cells. Until session 33 such zero fills in the arena's mapped
 * blocks handed their huge pages back (MADV_DONTNEED) instead of writing them, and the next
 * allocations there faulted them in again: about 1,000 huge pages a sweep of arc-dsl's solvers,
 * and half a second of system time (1.19-1.83 s against 0.70-1.04 s, 3 alternated farm runs). The mappings are small pages (no MADV_HUGEPAGE): writing a row's
 * first cells faults in 4 KiB, not 2 MiB. */
#define ZERO_MAP_MIN ((size_t)4 << 20)

void *dsl_alloc_zeroed(size_t n)
{
    if (n < ZERO_MAP_MIN) {
        void *p = dsl_alloc(n);
        memset(p, 0, n);
        return p;
    }
    DSL_TICK();
    if (BF_UNLIKELY(fail_countdown != 0) && --fail_countdown == 0)
        dsl_memout();
    n = arena_round(n);
    struct dsl_arena *a = current_arena;
    if ((dsl_rt.arena_cap != 0 && a->used + n > dsl_rt.arena_cap) || n > SIZE_MAX / 2)
        dsl_memout();
    size_t len = ZERO_MAP_HEADER + n;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        dsl_memout();
    lsan_mapped(m, len);
    struct zero_map *z = m;
    z->next = a->zero_maps;
    z->len = len;
    a->zero_maps = z;
    a->used += n;
    dsl_rt.arena_used = a->used;
    return (unsigned char *)m + ZERO_MAP_HEADER;
}

/* ---------------------------------------------------------------- exceptions */

static const char *const exc_names[EXC_COUNT] = {
    [EXC_TYPE] = "TypeError",
    [EXC_VALUE] = "ValueError",
    [EXC_INDEX] = "IndexError",
    [EXC_STOP_ITERATION] = "StopIteration",
    [EXC_RUNTIME] = "RuntimeError",
    [EXC_ZERO_DIVISION] = "ZeroDivisionError",
    [EXC_RECURSION] = "RecursionError",
    [EXC_ATTRIBUTE] = "AttributeError",
    [EXC_OVERFLOW] = "OverflowError",
    [EXC_KEY] = "KeyError",
};

const char *dsl_exc_name(enum dsl_exc e)
{
    return (unsigned)e < EXC_COUNT ? exc_names[e] : "Exception";
}

BF_NORETURN static void dsl_jump(enum dsl_outcome outcome)
{
    dsl_rt.outcome = outcome;
    if (dsl_rt.boundary == NULL) {
        fprintf(stderr, "battfarm: DSL failure outside an evaluation: %s\n", dsl_rt.msg);
        abort();
    }
    longjmp(*dsl_rt.boundary, 1);
}

void dsl_raise(enum dsl_exc e, const char *fmt, ...)
{
    int n = snprintf(dsl_rt.msg, sizeof(dsl_rt.msg), "%s: ", dsl_exc_name(e));
    if (n < 0 || (size_t)n >= sizeof(dsl_rt.msg))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dsl_rt.msg + n, sizeof(dsl_rt.msg) - (size_t)n, fmt, ap);
    va_end(ap);
    dsl_jump(DSL_ERROR);
}

void dsl_timeout(void)
{
    snprintf(dsl_rt.msg, sizeof(dsl_rt.msg), "timeout");
    dsl_jump(DSL_TIMEOUT);
}

void dsl_memout(void)
{
    if (dsl_rt.mem_limit != 0)
        snprintf(dsl_rt.msg, sizeof(dsl_rt.msg), "memout: evaluation needed more than %zu MB",
                 dsl_rt.mem_limit >> 20);
    else
        snprintf(dsl_rt.msg, sizeof(dsl_rt.msg), "memout: out of memory");
    dsl_jump(DSL_MEMOUT);
}

enum dsl_outcome dsl_protect(void (*fn)(void *ctx), void *ctx)
{
    jmp_buf jb;
    jmp_buf *const saved = dsl_rt.boundary;
    const uint32_t depth = dsl_rt.depth, scratch_open = scratch.open;
    dsl_rt.boundary = &jb;
    if (setjmp(jb) == 0) {
        fn(ctx);
        dsl_rt.boundary = saved;
        return DSL_OK;
    }
    dsl_rt.boundary = saved;
    dsl_rt.depth = depth;
    scratch.open = scratch_open;
    return dsl_rt.outcome;
}

void dsl_rt_clear(void)
{
    dsl_rt.interrupt = 0;
    dsl_rt.depth = 0;
    scratch.open = 0;
    dsl_rt.outcome = DSL_OK;
    dsl_rt.msg[0] = '\0';
}

/* ---------------------------------------------------------------- function values */

static struct vfunc prim_funcs[PRIM_COUNT];
static bool prim_funcs_ready;

val fn_prim(enum prim_id id)
{
    if (!prim_funcs_ready) {
        for (int i = 0; i < PRIM_COUNT; i++) {
            prim_funcs[i].kind = F_PRIM;
            prim_funcs[i].arity = prim_table[i].arity;
            prim_funcs[i].prim = (uint16_t)i;
            prim_funcs[i].id = (uint32_t)i + 1;
            prim_funcs[i].hash = (int64_t)i + 1;
        }
        prim_funcs_ready = true;
    }
    return v_func(&prim_funcs[id]);
}

struct vfunc *fn_new(enum func_kind kind, uint8_t arity)
{
    struct vfunc *f = dsl_alloc(sizeof(*f));
    memset(f, 0, sizeof(*f));
    if (dsl_rt.next_func_id <= PRIM_COUNT)
        dsl_rt.next_func_id = PRIM_COUNT + 1;
    f->kind = (uint8_t)kind;
    f->arity = arity;
    f->id = dsl_rt.next_func_id++;
    uint64_t h = dsl_rt.func_base | (uint32_t)(f->id - dsl_rt.func_first_id);
    f->hash = h == UINT64_MAX ? -2 : (int64_t)h; /* -1 is no hash in CPython */
    return f;
}

int fn_arity(val f)
{
    if (f.kind != V_FUNC)
        dsl_raise(EXC_ATTRIBUTE, "'%s' object has no attribute '__code__'",
                  val_type_name(f));
    return f.u.f->arity;
}

BF_NORETURN static void raise_arity(const struct vfunc *f, int argc)
{
    const char *name = f->kind == F_PRIM ? prim_table[f->prim].name : "<lambda>";
    dsl_raise(EXC_TYPE, "%s() takes %d positional argument%s but %d %s given", name, f->arity,
              f->arity == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
}

static void depth_enter(uint32_t frames)
{
    dsl_rt.depth += frames;
    if (dsl_rt.depth > DSL_MAX_DEPTH)
        dsl_raise(EXC_RECURSION, "maximum recursion depth exceeded");
}

/* The call memo's table (the memo itself is below). */
struct memo_entry;
static struct {
    struct memo_entry *table; /* in the arena; NULL until a line memoises its first call */
    uint64_t mask, used;
    uint32_t gen;             /* the line being computed (from 1: a new closure's memo_skip_gen
                                 is 0) */
} memo = { .gen = 1 };

static val closure_call(const struct vfunc *f, const val *argv);
static val memo_call(struct vfunc *f, int argc, const val *argv);
static val small_call(struct vfunc *f, uint64_t key, const val *argv);

/* The small-call cache. A closure that is a line's value but too cheap for the call memo (which
 * hashes its arguments into a table of megabytes) may still be called again and again with the
 * same small argument: fork(multiply, sign, identity) on each coordinate of a difference,
 * chain(even, maximum, ...) on each (di, dj) (solve_d22278a0, 49 and 8 million calls). Calls of
 * such a closure with one argument that is an int, a bool or a pair of ints, each within 2^20,
 * whose result holds no arena memory (an int, a bool, None, an interned pair or cell) and which
 * made no function, are kept in a small direct-mapped table for the line: a later call with
 * the same key at no greater depth returns the result. The DSL is pure, so the result is the
 * one the call would compute; the calls and arena bytes it made are counted again
 * (dsl_rt.calls, dsl_rt.arena_skipped), so that every memo decision comes out as without the
 * cache. A closure whose results the cache could not keep SMALL_MAX_UNKEPT times in a line
 * (apply(f, x) makes a new tuple each call) skips the cache for the rest of the line. */
#define SMALL_CALLS 4096                /* entries (224 KiB): d22278a0 meets about 4,700 keys */
#define SMALL_RANGE ((int64_t)1 << 20)
#define SMALL_MAX_UNKEPT 64             /* results of a closure it could not keep before it gives
                                           up on that closure for the line (apply's new tuples) */

struct small_entry {
    const struct vfunc *f;
    uint32_t id, gen, depth, calls;
    uint64_t key, bytes;
    val result;
};
static struct small_entry small_calls[SMALL_CALLS];
static bool small_calls_on = true;

void dsl_debug_small_calls(bool on)
{
    small_calls_on = on;
}

static inline bool small_int(val v)
{
    return v.kind == V_INT && v.u.i >= -SMALL_RANGE && v.u.i < SMALL_RANGE;
}

/* The key of a small argument: its kind and its ints in 21 bits each; false for any other. */
static inline bool small_key(val x, uint64_t *key)
{
    if (small_int(x)) {
        *key = (uint64_t)1 << 62 | ((uint64_t)x.u.i & 0x1fffff);
        return true;
    }
    if (x.kind == V_BOOL) {
        *key = (uint64_t)2 << 62 | (uint64_t)x.u.i;
        return true;
    }
    if (x.kind == V_TUPLE && x.u.t->len == 2 && small_int(x.u.t->item[0]) && small_int(x.u.t->item[1])) {
        *key = (uint64_t)3 << 62 | ((uint64_t)x.u.t->item[0].u.i & 0x1fffff) << 21 |
               ((uint64_t)x.u.t->item[1].u.i & 0x1fffff);
        return true;
    }
    return false;
}

/* fn_call's body, inlined where closures call their parts (perf: most of those calls are of
 * primitives, solve_d22278a0 makes 700 million calls). */
static inline __attribute__((always_inline)) val call_inline(val f, int argc, const val *argv)
{
    DSL_TICK();
    if (f.kind != V_FUNC)
        dsl_raise(EXC_TYPE, "'%s' object is not callable",
                  val_type_name(f));
    struct vfunc *fn = f.u.f;
    if (argc != fn->arity)
        raise_arity(fn, argc);
    depth_enter(1);
    dsl_rt.calls++;
    val r;
    uint64_t key;
    if (fn->kind == F_PRIM)
        r = prim_impl[fn->prim](argv);
    else if (!fn->memo)
        r = closure_call(fn, argv);
    else if (fn->memo_skip_gen != memo.gen)
        r = memo_call(fn, argc, argv);
    else if (argc == 1 && small_calls_on && (fn->small_gen != memo.gen || fn->small_unkept < SMALL_MAX_UNKEPT) &&
             small_key(argv[0], &key))
        r = small_call(fn, key, argv);
    else
        r = closure_call(fn, argv);
    dsl_rt.depth--;
    return r;
}

static inline __attribute__((always_inline)) val call1(val f, val a)
{
    return call_inline(f, 1, &a);
}

static inline __attribute__((always_inline)) val call2(val f, val a, val b)
{
    val args[2] = { a, b };
    return call_inline(f, 2, args);
}

/* compose(a, b)(x) = a(b(x)). When b(x) made one new tuple and nothing else (lbind(astuple, k)
 * and the like), and a's memo answered a(y) at once, y is dead: only the call held it (the memo
 * compares keys by value and stored nothing; the stored result predates y). Its memory is taken
 * back, so a loop that looks up (cell, object) pairs in the memo allocates nothing (perf:
 * solve_d22278a0's valmin over objects per cell, where these pairs were 78% of the page faults on
 * 890034e9). */
static val compose_call(const struct vfunc *f, val x)
{
    struct arena_mark m = arena_mark();
    uint64_t stores0 = memo.used;
    val y = call1(f->b, x);
    if (y.kind != V_TUPLE || memo.used != stores0 ||
        !arena_only_since(m, y.u.t, tuple_bytes(y.u.t->len)))
        return call1(f->a, y);
    struct arena_mark after_y = arena_mark();
    uint64_t calls0 = dsl_rt.calls, hits0 = dsl_rt.memo_hits;
    val r = call1(f->a, y);
    if (dsl_rt.calls == calls0 + 1 && dsl_rt.memo_hits == hits0 + 1 &&
        current_arena->cur == after_y.cur && current_arena->off == after_y.off)
        arena_rollback(m);
    return r;
}

struct scratch_mark {
    struct arena_mark at;
    const struct memo_entry *memo_table;
    uint64_t pins;
};

static inline struct scratch_mark scratch_begin(void)
{
    struct scratch_mark s = { arena_mark(), memo.table, scratch.pins };
    if (scratch.open++ == 0)
        scratch.floor = s.at;
    return s;
}

/* Closes the region s and tells whether nothing outside the call can point into its memory
 * (the same arena, the memo grew no table and stored no entry pointing into it). */
static inline bool scratch_close(const struct scratch_mark *s)
{
    scratch.open--;
    return current_arena == s->at.arena && s->at.cur != NULL && memo.table == s->memo_table &&
           scratch.pins == s->pins;
}

/* Hands the memory of a closed region back. */
static inline void scratch_hand_back(const struct scratch_mark *s)
{
    arena_rollback(s->at);
    dsl_arena_generation++; /* value.c's recycled set tables may lie in what was taken back */
}

static inline void scratch_end(const struct scratch_mark *s)
{
    if (scratch_close(s) && current_arena->used != s->at.used)
        scratch_hand_back(s);
}

/* Results moved out of a region (dsl.h, dsl_call_keeping_result): the parts of a result made
 * since a mark are copied to a block of their own (the arena's `moved` list, freed at the next
 * reset: an enclosing scratch region never counts it as its own, and need not, as it is never
 * handed back before), then everything made since the mark is handed back. Sets are copied slot
 * for slot (the same order, the same stored hashes); tuples item by item; anything made before
 * the mark (or interned) is shared, not copied. */
#define EVACUATE_MIN_BYTES ((size_t)1 << 20) /* a region smaller than this is kept as it is */
#define EVACUATE_MAX_SHARE 4                 /* the copy is at most 1/4 of the region */
#define EVACUATE_MAX_DEPTH 32

/* Whether v is a value made since m: a tuple, set or function in the arena's memory handed out
 * since then (perf: an interned pair or cell, most of a merged patch's items, is told at once
 * instead of walking the region's blocks). */
static bool evacuee_fresh(const struct arena_mark *m, val v)
{
    return v.kind >= V_TUPLE && !(v.kind == V_TUPLE && tuple_interned(v.u.t)) && arena_since(m, v.u.t);
}

/* Bytes the copy of v's parts made since m takes, or SIZE_MAX when v cannot be moved (it holds a
 * function made since m, or nests too deep). */
static size_t evacuee_bytes(const struct arena_mark *m, val v, int depth)
{
    if (!evacuee_fresh(m, v))
        return 0;
    if (v.kind == V_FUNC || depth > EVACUATE_MAX_DEPTH)
        return SIZE_MAX;
    size_t n, part;
    if (v.kind == V_TUPLE) {
        const struct vtuple *t = v.u.t;
        n = arena_round(tuple_bytes(t->len));
        for (uint32_t i = 0; i < t->len; i++) {
            if ((part = evacuee_bytes(m, t->item[i], depth + 1)) == SIZE_MAX)
                return SIZE_MAX;
            n += part;
        }
        return n;
    }
    const struct vset *s = v.u.s;
    n = arena_round(sizeof(struct vset));
    if (s->table != s->smalltable && arena_since(m, s->table))
        n += arena_round((size_t)(s->mask + 1) * sizeof(struct set_entry));
    for (int64_t k = 0; k <= s->mask; k++) {
        val key = s->table[k].key;
        if (key.kind >= V_EMPTY_SLOT)
            continue;
        if ((part = evacuee_bytes(m, key, depth + 1)) == SIZE_MAX)
            return SIZE_MAX;
        n += part;
    }
    return n;
}

static void *bump_take(unsigned char **bump, size_t n)
{
    void *p = *bump;
    *bump += arena_round(n);
    return p;
}

/* v with its parts made since m copied at *bump (evacuee_bytes said how much room). A set whose
 * table was made before m (a recycled table: garbage until this set took it) keeps it. */
static val evacuee_copy(const struct arena_mark *m, val v, unsigned char **bump)
{
    if (!evacuee_fresh(m, v))
        return v;
    if (v.kind == V_TUPLE) {
        const struct vtuple *t = v.u.t;
        struct vtuple *c = bump_take(bump, tuple_bytes(t->len));
        memcpy(c, t, tuple_bytes(0));
        for (uint32_t i = 0; i < t->len; i++)
            c->item[i] = evacuee_copy(m, t->item[i], bump);
        return v_tuple(c);
    }
    const struct vset *s = v.u.s;
    struct vset *c = bump_take(bump, sizeof(struct vset));
    memcpy(c, s, sizeof(struct vset));
    c->minus = NULL; /* its base may be in what is handed back */
    if (s->table == s->smalltable) {
        c->table = c->smalltable;
    } else if (arena_since(m, s->table)) {
        size_t bytes = (size_t)(s->mask + 1) * sizeof(struct set_entry);
        c->table = bump_take(bump, bytes);
        memcpy(c->table, s->table, bytes);
    }
    for (int64_t k = 0; k <= c->mask; k++)
        if (c->table[k].key.kind < V_EMPTY_SLOT)
            c->table[k].key = evacuee_copy(m, c->table[k].key, bump);
    return v_set(c);
}

val dsl_call_keeping_result(val (*fn)(const val *argv), const val *argv)
{
    struct scratch_mark s = scratch_begin();
    val r = fn(argv);
    struct dsl_arena *a = current_arena;
    if (!scratch_close(&s) || a->used - s.at.used < EVACUATE_MIN_BYTES)
        return r;
    size_t need = evacuee_bytes(&s.at, r, 0);
    if (need == SIZE_MAX || need > (a->used - s.at.used) / EVACUATE_MAX_SHARE)
        return r;
    struct arena_block *b = NULL;
    if (need != 0) {
        b = malloc(sizeof(*b) + need);
        if (b == NULL)
            return r; /* keep it all: nothing is lost */
        b->size = need;
        b->mapped = 0;
        unsigned char *bump = b->data;
        r = evacuee_copy(&s.at, r, &bump);
        b->next = a->moved;
        a->moved = b;
    }
    scratch_hand_back(&s);
    a->used += need;
    dsl_rt.arena_used = a->used;
    return r;
}

bool fn_test1(val f, val x)
{
    struct scratch_mark s = scratch_begin();
    bool t = val_truthy(fn_call1(f, x));
    scratch_end(&s);
    return t;
}

/* The body of a closure (f->arity arguments already checked). */
__attribute__((noinline)) static val closure_call(const struct vfunc *f, const val *argv)
{
    val buf[4];
    switch (f->kind) {
    case F_COMPOSE: return compose_call(f, val_load(&argv[0]));
    case F_CHAIN: return call1(f->a, call1(f->b, call1(f->c, val_load(&argv[0]))));
    case F_FORK: {
        /* Python evaluates outer(a(x), b(x)) left to right: which of two errors is raised
         * depends on it, so never put both calls in one C argument list. */
        val x = val_load(&argv[0]);
        val left = call1(f->b, x);
        val right = call1(f->c, x);
        return call2(f->a, left, right);
    }
    case F_MATCHER: {
        struct scratch_mark s = scratch_begin();
        bool eq = val_eq(fn_call1(f->a, argv[0]), f->b);
        scratch_end(&s);
        return v_bool(eq);
    }
    /* (perf: a loop, not memcpy: 1 to 3 values, where memcpy became `rep movsq` and its
     * start-up cost, 8% of fn_call in the worker's profile) */
    case F_RBIND:
        for (unsigned i = 0; i < f->arity && i < 3; i++)
            buf[i] = val_load(&argv[i]);
        buf[f->arity] = f->b;
        return call_inline(f->a, f->arity + 1, buf);
    case F_LBIND:
        buf[0] = f->b;
        for (unsigned i = 0; i < f->arity && i < 3; i++)
            buf[i + 1] = val_load(&argv[i]);
        return call_inline(f->a, f->arity + 1, buf);
    case F_POWER: {
        /* Python nests n-1 lambdas (compose(f, power(f, n-1))) around the innermost call. */
        uint32_t extra = f->n > 1 ? (uint32_t)(f->n - 1 < DSL_MAX_DEPTH ? f->n - 1 : DSL_MAX_DEPTH) : 0;
        depth_enter(extra);
        val x = argv[0];
        for (int64_t i = 0; i < f->n; i++)
            x = fn_call1(f->a, x);
        dsl_rt.depth -= extra;
        return x;
    }
    default: dsl_raise(EXC_TYPE, "unknown function kind %d", f->kind);
    }
}

void dsl_fork_operands(val fork, val x, val *left, val *right)
{
    DSL_TICK();
    const struct vfunc *f = fork.u.f;
    depth_enter(1);
    dsl_rt.calls++;
    *left = fn_call1(f->b, x);
    *right = fn_call1(f->c, x);
    dsl_rt.depth--;
}

/* ---------------------------------------------------------------- the call memo (dsl.h) */

/* A closure's first MEMO_LEARN_CALLS calls in a line are measured; it is memoised when they
 * cost MEMO_MIN_COST on average, in nested calls plus arena bytes / MEMO_BYTES_PER_CALL (a
 * lookup costs about one call: a cheaper closure is not worth it). Deterministic counts, never
 * clocks: whether a call is memoised must not vary from run to run (it shifts the numbering of
 * the closures made after it, so the order of a set of functions). */
#define MEMO_LEARN_CALLS 8
#define MEMO_MIN_COST 16
#define MEMO_BYTES_PER_CALL 256
/* A closure whose first MEMO_JUDGE_STORES stored results in a line answered fewer than one call
 * in MEMO_MIN_HIT_SHARE is not looked up again in that line: its entries only crowd out those of
 * the closures whose calls repeat (solve_d22278a0 on 484b58aa, 586 objects: entries for each
 * (cell, object) pair, most never asked again, filled the table until the nearest object of a
 * cell could no longer be stored, and it was computed again for every pair. Its 4 inputs: 12.7 s;
 * 4.4 s with this rule, 2.8 s with the plain hash below, 1.6 s with both). */
#define MEMO_JUDGE_STORES 4096
#define MEMO_MIN_HIT_SHARE 16
#define MEMO_MIN_SLOTS 256
#define MEMO_MAX_SLOTS ((uint64_t)1 << 20) /* 96 MiB, at most 1/8 of the memory cap; a full
                                              table stops memoising */
#define MEMO_SCAN_BUDGET 16384             /* values looked at for functions in a result */
#define MEMO_MAX_ARGS 3                    /* closures take 1 to 3 arguments */
#define MEMO_MAX_PROBES 64                 /* slots looked at from a key's home slot */
#define MEMO_ATOMS 6                       /* a flat key: at most this many atoms */
#define MEMO_BOXED 0xff                    /* natoms of an entry keyed by its arguments */

/* A call's arguments as a flat key: each leaf (int, bool, None, set, function) is one atom (its
 * kind and its payload: the int, or the set's or function's address), each tuple an atom (kind
 * V_TUPLE, its length) followed by its items' atoms, tuples nested two deep at most. Two
 * argument lists give the same atoms exactly when memo_same holds for each argument (the arity
 * is the closure's, fixed). It is stored in the entry and compared there, without following the
 * pointers of an (i, j) or a (cell, object) made for the call. Atom i's kind is byte i of kinds
 * (perf: one compare, not memcmp). */
struct memo_key {
    uint32_t natoms;
    uint64_t kinds;
    uint64_t atom[MEMO_ATOMS];
};

static inline unsigned memo_kind(uint64_t kinds, uint32_t i)
{
    return (unsigned)(kinds >> (8 * i)) & 0xff;
}

struct memo_entry {
    const struct vfunc *f; /* NULL: empty */
    int64_t hash;
    uint32_t depth;        /* dsl_rt.depth when computed: reused at that depth or less only */
    uint8_t natoms;        /* MEMO_BOXED: args holds the arguments (too big for a flat key) */
    uint64_t kinds;
    union {
        uint64_t atom[MEMO_ATOMS];
        val args[MEMO_MAX_ARGS];
    } key;
    val result;
};

void dsl_memo_line_begin(void)
{
    extremes_forget();
    memo.table = NULL;
    memo.mask = memo.used = 0;
    memo.gen++;
}

void dsl_memo_mark_line_value(val v)
{
    if (v.kind == V_FUNC && v.u.f->kind != F_PRIM)
        v.u.f->memo = 1;
}

static inline void memo_push(struct memo_key *k, unsigned kind, uint64_t atom)
{
    k->kinds |= (uint64_t)kind << (8 * k->natoms);
    k->atom[k->natoms++] = atom;
}

static inline void memo_push_leaf(struct memo_key *k, val v)
{
    memo_push(k, v.kind, v.kind == V_NONE ? 0 : (uint64_t)v.u.i);
}

/* Appends v's atoms to k; false when they do not fit (perf: two levels unrolled, no recursion). */
static bool memo_flatten(val v, struct memo_key *k)
{
    if (v.kind != V_TUPLE) {
        if (k->natoms == MEMO_ATOMS)
            return false;
        memo_push_leaf(k, v);
        return true;
    }
    const struct vtuple *t = v.u.t;
    if (k->natoms + 1 + t->len > MEMO_ATOMS)
        return false;
    memo_push(k, V_TUPLE, t->len);
    for (uint32_t i = 0; i < t->len; i++) {
        val x = t->item[i];
        if (x.kind != V_TUPLE) {
            memo_push_leaf(k, x);
            continue;
        }
        const struct vtuple *u = x.u.t;
        if (k->natoms + 1 + u->len + (t->len - 1 - i) > MEMO_ATOMS)
            return false;
        memo_push(k, V_TUPLE, u->len);
        for (uint32_t j = 0; j < u->len; j++) {
            if (u->item[j].kind == V_TUPLE)
                return false;
            memo_push_leaf(k, u->item[j]);
        }
    }
    return true;
}

/* The hash of a flat key. (Until session 10, keys that differed only in a last set atom were
 * placed within 256 slots of each other, for the cache's sake in a valmin over objects per cell
 * and object; dsl_extreme_known now answers that loop, and with hundreds of objects those
 * windows overflowed into runs of taken slots where nothing else could be stored: solve_d22278a0
 * on 484b58aa then computed the nearest object of a cell again for every pair.) */
static inline uint64_t atom_hash_step(uint64_t h, uint64_t atom, unsigned kind)
{
    return (h ^ atom ^ ((uint64_t)kind << 56)) * 0x100000001b3u;
}

static uint64_t memo_hash_atoms(const struct vfunc *f, const struct memo_key *k)
{
    uint64_t h = f->id;
    for (uint32_t i = 0; i < k->natoms; i++)
        h = atom_hash_step(h, k->atom[i], memo_kind(k->kinds, i));
    return score_mix64(h);
}

static bool memo_same_atoms(const struct memo_entry *e, const struct memo_key *k)
{
    if (e->natoms != k->natoms || e->kinds != k->kinds)
        return false;
    for (uint32_t i = 0; i < k->natoms; i++)
        if (e->key.atom[i] != k->atom[i])
            return false;
    return true;
}

/* Arguments too big for a flat key: compared as values. Same value, same kinds, same set and
 * function objects: a call given either behaves alike. */
static bool memo_same_tuple(const struct vtuple *x, const struct vtuple *y);

static inline bool memo_same(val a, val b)
{
    if (a.kind != b.kind)
        return false;
    if (a.kind != V_TUPLE || a.u.t == b.u.t)
        return a.kind == V_NONE || a.u.i == b.u.i;
    return memo_same_tuple(a.u.t, b.u.t);
}

static bool memo_same_tuple(const struct vtuple *x, const struct vtuple *y)
{
    if (x->len != y->len || (x->hashed == TUPLE_HASHED && y->hashed == TUPLE_HASHED && x->hash != y->hash))
        return false;
    for (uint32_t i = 0; i < x->len; i++)
        if (!memo_same(x->item[i], y->item[i]))
            return false;
    return true;
}

/* A hash consistent with memo_same: leaves by payload, sets and functions by address, tuples
 * by their cached CPython hash (only big arguments come here). */
static uint64_t memo_hash_boxed(const struct vfunc *f, int argc, const val *argv)
{
    uint64_t h = f->id;
    for (int k = 0; k < argc; k++) {
        val v = argv[k];
        uint64_t hv = v.kind == V_TUPLE ? (uint64_t)val_hash(v)
                    : v.kind >= V_SET   ? (uint64_t)(uintptr_t)v.u.s >> 4
                                        : (uint64_t)(v.kind == V_NONE ? 0 : v.u.i) * 0x9e3779b97f4a7c15u + v.kind;
        h = (h ^ hv) * 0x100000001b3u;
    }
    return score_mix64(h) ^ 1; /* apart from flat keys of the same atoms */
}

/* Whether v may hold a function made since the id first_new (or is too big to tell within
 * *budget values). */
/* Whether v may hold a function or a container, other than an interned pair or cell (those hold
 * ints only): perf, a set of cells is scanned without visiting each cell. */
static inline bool memo_scan_into(val v)
{
    return v.kind == V_FUNC || v.kind == V_SET || (v.kind == V_TUPLE && !tuple_interned(v.u.t));
}

static bool memo_may_hold_new_function(val v, uint32_t first_new, int64_t *budget)
{
    if (--*budget < 0)
        return true;
    switch (v.kind) {
    case V_FUNC: return v.u.f->id >= first_new;
    case V_TUPLE:
        for (uint32_t i = 0; i < v.u.t->len; i++)
            if (memo_scan_into(v.u.t->item[i]) && memo_may_hold_new_function(v.u.t->item[i], first_new, budget))
                return true;
        return false;
    case V_SET:
        if (v.u.s->patch_known && v.u.s->patch.form != PF_OTHER && v.u.s->patch.ints_only)
            return false; /* a plain patch of int colours: ints and tuples of them only */
        for (int64_t pos = 0; pos <= v.u.s->mask; pos++) {
            val k = v.u.s->table[pos].key;
            if (memo_scan_into(k) && memo_may_hold_new_function(k, first_new, budget))
                return true;
        }
        return false;
    default: return false;
    }
}

/* The first empty slot within MEMO_MAX_PROBES of h's home, or NULL. */
static struct memo_entry *memo_free_slot(uint64_t h)
{
    for (uint64_t i = h & memo.mask, n = 0; n < MEMO_MAX_PROBES; i = (i + 1) & memo.mask, n++)
        if (memo.table[i].f == NULL)
            return &memo.table[i];
    return NULL;
}

static void memo_grow(void)
{
    uint64_t slots = memo.table == NULL ? MEMO_MIN_SLOTS : (memo.mask + 1) * 2;
    struct memo_entry *old = memo.table;
    uint64_t old_slots = old == NULL ? 0 : memo.mask + 1;
    memo.table = dsl_alloc(slots * sizeof(struct memo_entry));
    for (uint64_t k = 0; k < slots; k++)
        memo.table[k].f = NULL;
    memo.mask = slots - 1;
    memo.used = 0;
    for (uint64_t k = 0; k < old_slots; k++) {
        if (old[k].f == NULL)
            continue;
        struct memo_entry *e = memo_free_slot((uint64_t)old[k].hash);
        if (e != NULL) {
            *e = old[k];
            memo.used++;
        }
    }
}

/* Whether entry e (argc arguments) points into an open scratch region's memory. */
static bool memo_entry_fresh(const struct memo_entry *e, int argc)
{
    if (e->result.kind >= V_TUPLE && scratch_fresh(e->result.u.t))
        return true;
    if (e->natoms == MEMO_BOXED) {
        for (int k = 0; k < argc; k++)
            if (e->key.args[k].kind >= V_TUPLE && scratch_fresh(e->key.args[k].u.t))
                return true;
        return false;
    }
    for (uint32_t i = 0; i < e->natoms; i++) {
        unsigned kind = memo_kind(e->kinds, i);
        if ((kind == V_SET || kind == V_FUNC) && scratch_fresh((const void *)(uintptr_t)e->key.atom[i]))
            return true;
    }
    return false;
}

__attribute__((noinline)) static val memo_call(struct vfunc *f, int argc, const val *argv)
{
    if (f->memo_gen != memo.gen) {
        f->memo_gen = memo.gen;
        f->memo_calls = 0;
        f->memo_cost = 0;
        f->memo_stores = f->memo_hits = 0;
    }
    if (f->memo_calls < MEMO_LEARN_CALLS) {
        uint64_t calls0 = dsl_rt.calls;
        uint64_t bytes0 = dsl_rt.arena_used + dsl_rt.arena_skipped;
        val r = closure_call(f, argv);
        f->memo_calls++;
        f->memo_cost += (dsl_rt.calls - calls0) + (dsl_rt.arena_used + dsl_rt.arena_skipped - bytes0) / MEMO_BYTES_PER_CALL;
        return r;
    }
    if (f->memo_cost < (uint64_t)MEMO_MIN_COST * MEMO_LEARN_CALLS ||
        (f->memo_stores >= MEMO_JUDGE_STORES && f->memo_hits < f->memo_stores / MEMO_MIN_HIT_SHARE)) {
        f->memo_skip_gen = memo.gen; /* call_inline skips memo_call for the rest of the line */
        return closure_call(f, argv);
    }
    struct memo_key key;
    key.natoms = 0;
    key.kinds = 0;
    bool flat = true;
    for (int k = 0; k < argc && flat; k++)
        flat = memo_flatten(argv[k], &key);
    uint64_t h = flat ? memo_hash_atoms(f, &key) : memo_hash_boxed(f, argc, argv);
    if (memo.table != NULL) {
        for (uint64_t i = h & memo.mask, n = 0; n < MEMO_MAX_PROBES; i = (i + 1) & memo.mask, n++) {
            const struct memo_entry *e = &memo.table[i];
            if (e->f == NULL)
                break;
            if (e->f != f || e->hash != (int64_t)h || dsl_rt.depth > e->depth)
                continue;
            bool same;
            if (flat) {
                same = memo_same_atoms(e, &key);
            } else {
                same = e->natoms == MEMO_BOXED;
                for (int k = 0; k < argc && same; k++)
                    same = memo_same(e->key.args[k], argv[k]);
            }
            if (same) {
                dsl_rt.memo_hits++;
                f->memo_hits++;
                return e->result;
            }
        }
    }
    uint32_t first_new_id = dsl_rt.next_func_id;
    val r = closure_call(f, argv);
    /* A function made before the call is the same object whatever the call: only new ones
     * forbid memoising (perf: no scan when the call made none, the common case). */
    int64_t budget = MEMO_SCAN_BUDGET;
    if (dsl_rt.next_func_id != first_new_id && r.kind >= V_TUPLE &&
        memo_may_hold_new_function(r, first_new_id, &budget))
        return r;
    if (memo.table == NULL || (memo.used + 1) * 2 > memo.mask + 1) {
        uint64_t max_slots = MEMO_MAX_SLOTS;
        if (dsl_rt.mem_limit != 0 && max_slots > dsl_rt.mem_limit / 8 / sizeof(struct memo_entry))
            max_slots = dsl_rt.mem_limit / 8 / sizeof(struct memo_entry);
        if (memo.table != NULL && (memo.mask + 1) * 2 > max_slots)
            return r;
        memo_grow();
    }
    struct memo_entry *e = memo_free_slot(h);
    if (e == NULL)
        return r;
    e->f = f;
    e->hash = (int64_t)h;
    e->depth = dsl_rt.depth;
    if (flat) {
        e->natoms = (uint8_t)key.natoms;
        e->kinds = key.kinds;
        memcpy(e->key.atom, key.atom, key.natoms * sizeof(key.atom[0]));
    } else {
        e->natoms = MEMO_BOXED;
        for (int k = 0; k < argc; k++)
            e->key.args[k] = argv[k];
    }
    e->result = r;
    memo.used++;
    f->memo_stores++;
    if (scratch.open != 0 && memo_entry_fresh(e, argc))
        scratch.pins++;
    return r;
}

/* ---------------------------------------------------------------- valmin/valmax of remove(x, S) (dsl.h) */

/* The shape of a function: a primitive or a line's value by its id (unique in an evaluation), any
 * other closure by its kind, arity and parts, bound values by value (ints, None, tuples of them;
 * a set makes the shape unknown). Two functions of the same shape compute the same function: the
 * DSL is pure. */
#define SHAPE_ATOMS 10
#define SHAPE_FUNC 0x10    /* atom: a function's id */
#define SHAPE_CLOSURE 0x20 /* + enum func_kind; atom: arity */
struct fn_shape {
    uint32_t n;
    uint8_t kind[SHAPE_ATOMS];
    uint64_t atom[SHAPE_ATOMS];
};

static bool shape_push(struct fn_shape *k, unsigned kind, uint64_t atom)
{
    if (k->n == SHAPE_ATOMS)
        return false;
    k->kind[k->n] = (uint8_t)kind;
    k->atom[k->n++] = atom;
    return true;
}

static bool shape_of(val v, struct fn_shape *k)
{
    switch (v.kind) {
    case V_NONE: return shape_push(k, V_NONE, 0);
    case V_BOOL:
    case V_INT: return shape_push(k, v.kind, (uint64_t)v.u.i);
    case V_TUPLE:
        if (!shape_push(k, V_TUPLE, v.u.t->len))
            return false;
        for (uint32_t i = 0; i < v.u.t->len; i++)
            if (!shape_of(v.u.t->item[i], k))
                return false;
        return true;
    case V_FUNC: {
        const struct vfunc *f = v.u.f;
        if (f->kind == F_PRIM || f->memo)
            return shape_push(k, SHAPE_FUNC, f->id);
        if (!shape_push(k, SHAPE_CLOSURE + f->kind, f->arity) || !shape_of(f->a, k))
            return false;
        switch (f->kind) {
        case F_POWER: return shape_push(k, V_INT, (uint64_t)f->n);
        case F_CHAIN:
        case F_FORK: return shape_of(f->b, k) && shape_of(f->c, k);
        default: return shape_of(f->b, k);
        }
    }
    default: return false;
    }
}

/* The best two keys of a set and items having them (count: how many are known, at most 2). */
struct best_two {
    int64_t key[2];
    val item[2];
    uint32_t count;
};

/* Adds an item with an int key (an item already there is not added again). */
static void best_two_add(struct best_two *b, int64_t key, val item, bool want_max)
{
    for (uint32_t i = 0; i < b->count; i++)
        if (val_same_object(b->item[i], item))
            return;
    uint32_t at = b->count;
    while (at > 0 && (want_max ? key > b->key[at - 1] : key < b->key[at - 1]))
        at--;
    if (at >= 2)
        return;
    if (at == 0 && b->count > 0) {
        b->key[1] = b->key[0];
        b->item[1] = b->item[0];
    }
    b->key[at] = key;
    b->item[at] = item;
    if (b->count < 2)
        b->count++;
}

/* What the calls for one base set and function shape have seen: the best two keys of the set
 * without `removed` (partial), or of the whole set (whole). */
enum { EXTREME_EMPTY, EXTREME_PARTIAL, EXTREME_WHOLE };
struct extreme_entry {
    uint64_t epoch;  /* extremes.epoch when stored, else an empty slot */
    uint64_t hash;
    const struct vset *base;
    uint8_t state, want_max;
    uint32_t depth;  /* reused at this call depth or less (RecursionError) */
    struct fn_shape shape;
    val removed;     /* EXTREME_PARTIAL */
    struct best_two best;
};

#define EXTREME_SLOTS 4096 /* a power of two */
#define EXTREME_PROBES 16
static struct {
    struct extreme_entry *table; /* malloc'd once: no arena memory, no scratch region's business */
    uint64_t epoch;              /* bumped at each line and arena reset: forgets every entry */
} extremes = { NULL, 1 };

static void extremes_forget(void)
{
    extremes.epoch++;
}

/* Whether v points into memory a scratch region may hand back within this line. */
static bool extreme_fresh(val v)
{
    return scratch.open != 0 && evacuee_fresh(&scratch.floor, v);
}

static struct extreme_entry *extreme_slot(const struct vset *base, bool want_max, const struct fn_shape *k,
                                          uint64_t h, bool *found)
{
    struct extreme_entry *free_slot = NULL;
    *found = false;
    for (uint64_t i = h, n = 0; n < EXTREME_PROBES; i++, n++) {
        struct extreme_entry *e = &extremes.table[i & (EXTREME_SLOTS - 1)];
        if (e->epoch != extremes.epoch) {
            if (free_slot == NULL)
                free_slot = e;
            continue;
        }
        if (e->hash == h && e->base == base && e->want_max == want_max && e->shape.n == k->n &&
            memcmp(e->shape.kind, k->kind, k->n) == 0 &&
            memcmp(e->shape.atom, k->atom, k->n * sizeof(k->atom[0])) == 0) {
            *found = true;
            return e;
        }
    }
    return free_slot;
}

/* The keys py_extreme_observed hands over: the best two while every key is an int. */
struct keys_seen {
    struct best_two best;
    bool all_int, want_max;
};

static void keys_seen_add(void *ctx, val item, val k)
{
    struct keys_seen *seen = ctx;
    if (k.kind != V_INT)
        seen->all_int = false;
    else if (seen->all_int)
        best_two_add(&seen->best, k.u.i, item, seen->want_max);
}

/* The entry for base, want_max and f's shape (*found: it holds them; else a free slot, or NULL
 * when the probes found none); false when f's shape is unknown or there is no table. */
static bool extreme_find(const struct vset *base, val f, bool want_max, struct fn_shape *shape, uint64_t *h,
                         struct extreme_entry **e, bool *found)
{
    shape->n = 0;
    if (f.kind != V_FUNC || !shape_of(f, shape))
        return false;
    if (extremes.table == NULL) {
        extremes.table = calloc(EXTREME_SLOTS, sizeof(struct extreme_entry));
        if (extremes.table == NULL)
            return false;
    }
    *h = (uint64_t)(uintptr_t)base ^ ((uint64_t)want_max << 63);
    for (uint32_t i = 0; i < shape->n; i++)
        *h = atom_hash_step(*h, shape->atom[i], shape->kind[i]);
    *h = score_mix64(*h);
    *e = extreme_slot(base, want_max, shape, *h, found);
    return true;
}

static void extreme_store(struct extreme_entry *e, uint64_t h, const struct vset *base, bool want_max,
                          const struct fn_shape *shape, uint8_t state, uint32_t depth, val removed,
                          const struct best_two *best)
{
    e->epoch = extremes.epoch;
    e->hash = h;
    e->base = base;
    e->want_max = want_max;
    e->shape = *shape;
    e->state = state;
    e->depth = depth;
    e->removed = removed;
    e->best = *best;
}

bool dsl_extreme_known(val container, val f, bool want_max, val *result)
{
    if (container.kind != V_SET || container.u.s->used == 0)
        return false;
    const struct set_minus *minus = container.u.s->minus;
    const struct vset *base = minus != NULL ? minus->base : container.u.s;
    struct fn_shape shape;
    uint64_t h;
    struct extreme_entry *e;
    bool found;
    if (!extreme_find(base, f, want_max, &shape, &h, &e, &found))
        return false;
    if (found && dsl_rt.depth <= e->depth) {
        if (e->state == EXTREME_WHOLE) {
            /* S itself, or S without x: x is the best item (then the second best wins) or not. */
            bool best_removed = minus != NULL && val_eq(e->best.item[0], minus->removed);
            *result = v_int(e->best.key[best_removed ? 1 : 0]);
            dsl_rt.extreme_hits++;
            return true;
        }
        if (minus != NULL && val_eq(e->removed, minus->removed)) { /* the same set as last time */
            *result = v_int(e->best.key[0]);
            dsl_rt.extreme_hits++;
            return true;
        }
    }
    if (minus == NULL)
        return false; /* the caller scans S (dsl_extreme_item), which notes its keys */
    struct keys_seen seen = { .all_int = true, .want_max = want_max };
    uint32_t depth = dsl_rt.depth;
    /* Python's compfunc(min(container, key=compfunc)) (or max); the container is not empty */
    *result = fn_call1(f, py_extreme_observed(container, f, want_max, keys_seen_add, &seen));
    /* Entries hold the base, its items and x: none of them may lie in memory a scratch region
     * hands back (the base is older than its items, x may be anything). */
    if (!seen.all_int || e == NULL || (scratch.open != 0 && scratch_fresh(base)) || extreme_fresh(minus->removed))
        return true;
    if (found && e->state == EXTREME_PARTIAL && depth <= e->depth) {
        /* Two different items left out: between them the calls saw every item of S. */
        for (uint32_t i = 0; i < seen.best.count; i++)
            best_two_add(&e->best, seen.best.key[i], seen.best.item[i], want_max);
        e->state = EXTREME_WHOLE;
        e->depth = depth;
        return true;
    }
    if (found && e->state == EXTREME_WHOLE)
        return true; /* known, at a smaller depth */
    extreme_store(e, h, base, want_max, &shape, EXTREME_PARTIAL, depth, minus->removed, &seen.best);
    return true;
}

val dsl_extreme_item(val container, val f, bool want_max)
{
    struct fn_shape shape;
    uint64_t h;
    struct extreme_entry *e;
    bool found;
    if (container.kind != V_SET || container.u.s->minus != NULL || container.u.s->used < 2 ||
        !extreme_find(container.u.s, f, want_max, &shape, &h, &e, &found))
        return py_extreme_observed(container, f, want_max, NULL, NULL);
    struct keys_seen seen = { .all_int = true, .want_max = want_max };
    uint32_t depth = dsl_rt.depth;
    val best = py_extreme_observed(container, f, want_max, keys_seen_add, &seen);
    if (!seen.all_int || e == NULL || (scratch.open != 0 && scratch_fresh(container.u.s)))
        return best;
    if (found && e->state == EXTREME_WHOLE && e->depth >= depth)
        return best; /* known, for this depth or more */
    extreme_store(e, h, container.u.s, want_max, &shape, EXTREME_WHOLE, depth, v_none(), &seen.best);
    return best;
}

static bool small_result(val r)
{
    return r.kind == V_INT || r.kind == V_BOOL || r.kind == V_NONE || (r.kind == V_TUPLE && tuple_interned(r.u.t));
}

__attribute__((noinline)) static val small_call(struct vfunc *f, uint64_t key, const val *argv)
{
    struct small_entry *e = &small_calls[score_mix64(key ^ (uint64_t)f->id << 21) & (SMALL_CALLS - 1)];
    if (e->f == f && e->id == f->id && e->gen == memo.gen && e->key == key && dsl_rt.depth <= e->depth) {
        dsl_rt.calls += e->calls;
        dsl_rt.arena_skipped += e->bytes;
        dsl_rt.small_hits++;
        return e->result;
    }
    uint64_t calls0 = dsl_rt.calls, bytes0 = dsl_rt.arena_used + dsl_rt.arena_skipped;
    uint32_t first_new_id = dsl_rt.next_func_id;
    val r = closure_call(f, argv);
    if (dsl_rt.next_func_id != first_new_id || !small_result(r)) {
        if (f->small_gen != memo.gen) {
            f->small_gen = memo.gen;
            f->small_unkept = 0;
        }
        f->small_unkept++;
    } else {
        e->f = f;
        e->id = f->id;
        e->gen = memo.gen;
        e->depth = dsl_rt.depth;
        e->calls = (uint32_t)(dsl_rt.calls - calls0);
        e->key = key;
        e->bytes = dsl_rt.arena_used + dsl_rt.arena_skipped - bytes0;
        e->result = r;
    }
    return r;
}

val fn_call(val f, int argc, const val *argv)
{
    return call_inline(f, argc, argv);
}

val fn_call1(val f, val a)
{
    return fn_call(f, 1, &a);
}

val fn_call2(val f, val a, val b)
{
    val args[2] = { a, b };
    return fn_call(f, 2, args);
}

/* ---------------------------------------------------------------- constants */

static struct vtuple *const_pairs[CONST_COUNT];

val const_value(enum const_id id)
{
    const struct const_info *c = &const_table[id];
    switch (c->kind) {
    case CK_BOOL: return v_bool(c->a != 0);
    case CK_INT: return v_int(c->a);
    case CK_PAIR:
        if (const_pairs[id] == NULL) {
            struct vtuple *t = calloc(1, sizeof(struct vtuple) + 2 * sizeof(val));
            if (t == NULL) {
                fputs("battfarm: out of memory (constants)\n", stderr);
                abort();
            }
            t->len = 2;
            t->item[0] = v_int(c->a);
            t->item[1] = v_int(c->b);
            const_pairs[id] = t;
        }
        return v_tuple(const_pairs[id]);
    }
    return v_none();
}
