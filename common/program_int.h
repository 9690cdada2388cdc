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

/* malloc/realloc that abort with a message when memory runs out. */
void *program_xrealloc(void *p, size_t size);

static inline bool program_ref_equal(struct ref a, struct ref b)
{
    return a.kind == b.kind && a.id == b.id;
}

#endif
