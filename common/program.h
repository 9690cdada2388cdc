/* program.h: candidate programs in arc-dsl's solver format, as syntax (no values: those are the
 * worker's). Parsing, the static check, the canonical form and the per-task DAG live here because
 * the master parses, checks and deduplicates programs before any worker sees them.
 *
 *   def solve_<name>(I):            or  def solve_<name>(S, I, C):
 *       x1 = <callee>(<arg>, ...)   callee: a primitive, or an earlier variable holding a function
 *       O = ...                     arg: an earlier variable, a constant, a primitive name, I (S, C)
 *       return O
 *
 * Lifecycle: struct program_file pf = PROGRAM_FILE_INIT; program_parse(&pf, path, text, len, errs);
 * use pf.progs[0..pf.n); program_file_release(&pf). */
#ifndef BF_PROGRAM_H
#define BF_PROGRAM_H

#include <stdio.h>

#include "compat.h"

#define PROG_MAX_ARGS 4

enum ref_kind {
    REF_NONE,  /* unused */
    REF_NODE,  /* result of an earlier line (program) or node (DAG); id = index */
    REF_CONST, /* id = enum const_id */
    REF_PRIM,  /* a primitive as a function value; id = enum prim_id */
    REF_I,     /* the input grid */
    REF_S,     /* the demo pairs: tuple of (input, output) */
    REF_C,     /* the target grid, or None (always None when scoring) */
};

struct ref {
    uint8_t kind; /* enum ref_kind */
    uint32_t id;
};

/* One call: callee(arg0, ..., arg[nargs-1]). */
struct pnode {
    struct ref callee;
    uint8_t nargs;
    struct ref arg[PROG_MAX_ARGS];
};

struct program {
    char *name;        /* "solve_007bbfb7" */
    char *file;        /* path it came from */
    uint32_t line;     /* line of the def */
    bool sig_sic;      /* (S, I, C) signature rather than (I) */
    uint32_t n;        /* lines */
    struct pnode *nodes;
    uint32_t *node_line; /* source line of each node */
    struct ref out;    /* what `return` returns */
    char *source;      /* the definition's text */
    uint64_t *line_hash; /* program_line_hashes, computed by the parser (the evaluator's
                            function hashes); NULL for a program built by hand */
    /* filled by program_check(): */
    bool invalid;
    char why[160];     /* reason when invalid: "file:line:col: ..." */
};

struct program_file {
    struct program *progs;
    size_t n, cap;
    size_t n_errors;   /* definitions rejected by the parser */
};
#define PROGRAM_FILE_INIT { NULL, 0, 0, 0 }

/* Parses every definition in text. Each error prints one line "path:line:col: reason" to errs
 * (may be NULL), counts in n_errors, and parsing resumes at the next "def". Returns the number
 * of programs parsed. */
int program_parse(struct program_file *pf, const char *path, const char *text, size_t len, FILE *errs);
/* Reads the file (at most PROGRAM_MAX_FILE bytes) and parses it; when it cannot be read, prints
 * "path: reason" to errs and returns a negative code (-errno, or BF_ETOOBIG). */
#define PROGRAM_MAX_FILE (16 << 20)
int program_parse_file(struct program_file *pf, const char *path, FILE *errs);
void program_file_release(struct program_file *pf);

/* Static check: known names, arity of direct primitive calls against the table, calls of
 * constants. Sets p->invalid / p->why. Returns true when valid.
 * Only lines reachable from the returned value are checked: dead lines are never evaluated and
 * do not change the hash, so validity is a property of the canonical form. Calls of variables
 * are checked too where the closure's arity is known (compose, chain, fork, matcher -> 1;
 * rbind/lbind of f: 2 -> 1, 3 -> 2, else 3; power(f, ONE) -> f's; other powers -> 1;
 * identity and branch pass it through). */
bool program_check(struct program *p);

/* Canonical form: the program inlined to one expression with variable names erased (computed
 * on the DAG, never expanded). Two programs that differ only in names or line order hash equal. */
uint64_t program_hash(const struct program *p);
/* Writes the canonical text (may be truncated) into buf; returns the full length. */
size_t program_canonical(const struct program *p, char *buf, size_t len);

/* ---- the per-task DAG: all candidates' expressions merged, shared sub-expressions once ---- */
struct dag {
    struct pnode *nodes; /* args/callee refer to earlier nodes (REF_NODE) or leaves */
    uint64_t *hash;      /* canonical hash of each node */
    uint32_t n, cap;
    uint32_t *index;     /* open-addressing table: hash -> node id + 1 */
    uint32_t index_mask;
};
#define DAG_INIT { NULL, NULL, 0, 0, NULL, 0 }

/* Adds p's expression; returns the ref of its result (a node, or a leaf when `return I`). */
struct ref dag_add(struct dag *d, const struct program *p);
uint64_t dag_ref_hash(const struct dag *d, struct ref r);
void dag_release(struct dag *d);

/* The canonical hash of every line of p: a live line gets the hash of its DAG node (dag_add),
 * a dead line its expression's hash with repeats not counted. out has p->n entries. */
void program_line_hashes(const struct program *p, uint64_t *out);

/* A worker receives the master's DAG as nodes only, in id order; dag_hasher gives them the
 * hashes dag.hash has (the k-th node of one expression, in id order, is its k-th repeat, as
 * dag_add creates them). dag_hasher_extend hashes nodes[h->n .. n). */
struct dag_hasher {
    uint64_t *hash;
    uint32_t n, cap;
    uint64_t *rep_key;   /* expression hash | 1, open addressing; 0 = empty */
    uint32_t *rep_count; /* nodes of that expression so far */
    uint32_t rep_mask, rep_used;
};
#define DAG_HASHER_INIT { NULL, 0, 0, NULL, NULL, 0, 0 }
void dag_hasher_extend(struct dag_hasher *h, const struct pnode *nodes, uint32_t n);
void dag_hasher_release(struct dag_hasher *h);

#endif
