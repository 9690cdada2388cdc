/* program_int.h: internals shared by program.c and dag.c (not for other modules): the canonical
 * hash of leaves and calls, so that a DAG node and the program it came from hash the same way. */
#ifndef BF_PROGRAM_INT_H
#define BF_PROGRAM_INT_H

#include "compat.h"
#include "program.h"

/* Hash of a leaf (anything but REF_NODE): from its kind and its NAME, never its table index. */
uint64_t program_leaf_hash(struct ref r);
/* Hash of the call callee(args...) from the hashes of its parts. */
uint64_t program_call_hash(uint64_t callee, unsigned nargs, const uint64_t *args);

/* Marks in live[0..n) the lines reachable from line n - 1 (arguments name earlier lines). */
void program_mark_live(const struct program *p, uint8_t *live, uint32_t n);

/* Repeated expressions. CPython builds a new object for every line it runs, so two identical
 * lines of one program give two equal but distinct values, and a few primitives can tell
 * (`intersection(x, x)` copies, `intersection(x, y)` rebuilds: the order may differ). The k-th
 * repeat (k >= 1) of an expression among a program's live lines therefore hashes differently
 * and gets its own DAG node: h = program_repeat_hash(h, k). Repeats across programs still share. */
struct program_repeats {
    uint64_t *key;   /* base hashes, open addressing; 0 = empty (hashes are stored | 1) */
    uint32_t *count;
    uint32_t mask;
};
void program_repeats_init(struct program_repeats *r, uint32_t n_lines);
/* How many earlier lines had this base hash (and counts this one). */
uint32_t program_repeats_next(struct program_repeats *r, uint64_t base_hash);
void program_repeats_release(struct program_repeats *r);
uint64_t program_repeat_hash(uint64_t base_hash, uint32_t k);

/* malloc/realloc that abort with a message when memory runs out. */
void *program_xrealloc(void *p, size_t size);

static inline bool program_ref_equal(struct ref a, struct ref b)
{
    return a.kind == b.kind && a.id == b.id;
}

#endif
