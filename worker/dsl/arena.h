/* arena.h: the evaluation arenas behind dsl_alloc (runtime.c), and the protected boundary.
 *
 * An arena is a chain of blocks (malloc'd, or mapped when big) handed out by bumping a pointer;
 * resetting it keeps the blocks for the next evaluation, up to a budget (runtime.c).
 * dsl_alloc always allocates from the *current* arena: a process-wide default one unless
 * dsl_arena_use() selected another (the evaluator keeps one per sample, one for a task's inputs,
 * one for eval_program). dsl_rt.arena_used mirrors the current arena's bytes in use;
 * dsl_rt.arena_cap (absolute, 0 = none) is where dsl_alloc gives up with dsl_memout(). */
#ifndef BF_ARENA_H
#define BF_ARENA_H

#include "dsl.h"

struct dsl_arena;

struct dsl_arena *dsl_arena_new(void);
void dsl_arena_free(struct dsl_arena *a);
void dsl_arena_reset(struct dsl_arena *a);          /* everything allocated from it is gone */
size_t dsl_arena_bytes(const struct dsl_arena *a);  /* bytes handed out since the last reset */
size_t dsl_arena_held(const struct dsl_arena *a);   /* bytes of blocks in its chain */
/* Bumped whenever memory handed out by dsl_alloc may become invalid or belong to another arena
 * than the current one (any reset, free or switch): caches of garbage arena memory (value.c
 * recycles the tables that set resizes leave behind) are valid only within one generation. */
extern uint64_t dsl_arena_generation;

/* A position in an arena, to hand back everything allocated after it (dsl_arena_rewind). */
struct arena_block;
struct zero_map;
struct dsl_arena_pos {
    struct arena_block *cur;    /* private */
    size_t off, used;
    struct arena_block *moved;
    struct zero_map *zero_maps;
};
struct dsl_arena_pos dsl_arena_tell(const struct dsl_arena *a);
/* Hands back the memory allocated from a since pos was told (nothing may point into it any
 * more), results moved out of regions since then included; blocks stay in the chain. */
void dsl_arena_rewind(struct dsl_arena *a, struct dsl_arena_pos pos);

/* Makes a the current arena (NULL = the default one) and returns the previous one. */
struct dsl_arena *dsl_arena_use(struct dsl_arena *a);
struct dsl_arena *dsl_arena_default(void);

/* Test hook: the nth dsl_alloc from now (1 = the next one) fails as if malloc had failed
 * (memout); 0 disarms. */
void dsl_debug_fail_alloc(uint64_t nth);

/* Runs fn(ctx) behind a protected boundary. Returns DSL_OK when fn returned, else the outcome
 * that dsl_raise/dsl_timeout/dsl_memout jumped with (message in dsl_rt.msg). Restores the
 * previous boundary and the call depth either way; nests. */
enum dsl_outcome dsl_protect(void (*fn)(void *ctx), void *ctx);

/* Resets the per-evaluation state: interrupt flag, depth, message, outcome. */
void dsl_rt_clear(void);

#endif
