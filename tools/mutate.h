/* mutate.h: random, type-compatible mutations of arc-dsl solver programs (the seed project's
 * card.py idea), as functions so that tests can call them; tools/mutate.c is the CLI around them.
 *
 * A mutation changes, in a line that the output depends on, either
 *   - an argument: to an earlier variable, a constant, a primitive name or I whose type may be
 *     the argument's type, or
 *   - the callee (when it is a primitive): to another primitive of the same arity whose return
 *     type may be the old one's and whose argument types may take the current arguments.
 * Types come from prims.def; "may be" means the two types share a possible Python value (see
 * mut_type_mask). A variable's type is its callee's return type (Any when the callee is a
 * variable). Every site mutates with probability rate, and a mutant has at least one change.
 * Mutants are deterministic per (seed, parent name), and differ from the parent and from each
 * other by canonical hash (program_hash); mutants that fail program_check are dropped. */
#ifndef BF_MUTATE_H
#define BF_MUTATE_H

#include <stdio.h>

#include "compat.h"
#include "program.h"

/* splitmix64: our own small PRNG (never rand()). */
struct mut_rng {
    uint64_t s;
};
void mut_seed(struct mut_rng *r, uint64_t seed);
uint64_t mut_next(struct mut_rng *r);
uint64_t mut_below(struct mut_rng *r, uint64_t n); /* uniform in [0, n), n > 0 */
double mut_unit(struct mut_rng *r);                 /* uniform in [0, 1) */

/* Set of concrete Python value kinds a type name may hold; two types are compatible when their
 * masks intersect. Unknown names get every bit (like Any). */
uint32_t mut_type_mask(const char *type_name, size_t len);
/* Mask of the i-th argument type of a primitive; Any for i >= arity. */
uint32_t mut_prim_arg_mask(int prim, int i);
uint32_t mut_prim_ret_mask(int prim);

/* One mutant of p: nodes written to out[0 .. p->n) (caller-allocated). Returns the number of
 * changes made (>= 1), or 0 when the program has no mutable site. */
unsigned mutate_once(const struct program *p, struct mut_rng *r, double rate, struct pnode *out);

/* Up to count mutants of p, each passing program_check and distinct by program_hash from p and
 * from each other; trials
 * are bounded (count * 50), so fewer may come back for tiny programs. *out receives a malloc'd
 * array of (returned count) * p->n nodes, mutant k at (*out)[k * p->n]. Deterministic for
 * (seed, p->name). Returns the number made, or -1 on allocation failure. */
int mutate_program(const struct program *p, uint64_t seed, double rate, int count, struct pnode **out);

/* A program p with its nodes replaced by nodes (same n). Variables are written x1, x2, ...,
 * and the returned line O; header_comment (may be NULL) is written as a "# ..." line before the
 * def. Returns 0, or -errno on a write error. */
int mutate_write(FILE *f, const struct program *p, const struct pnode *nodes, const char *header_comment);

/* Seed of parent name under the global seed: mixes a FNV-1a hash of name into seed. */
uint64_t mutate_seed_for(uint64_t seed, const char *name);

#endif
