/* pile.h: a pile of candidate programs: every definition of every file named on the command
 * line, parsed, checked, hashed (the candidate's identity: the hash of its canonical form) and
 * deduplicated; the valid distinct ones merged into one DAG for the workers.
 *
 * Lifecycle: struct pile p = PILE_INIT; pile_load(&p, paths, n, stderr); use p.valid / p.invalid,
 * p.dag, p.roots; pile_release(&p). A path is a program file, or a directory whose *.py files and
 * subdirectories (such as a store) are read in name order. Candidate order is deterministic:
 * first appearance in that order. */
#ifndef BF_PILE_H
#define BF_PILE_H

#include <stdio.h>

#include "compat.h"
#include "program.h"

struct cand {
    uint64_t hash;
    char hex[17];          /* the hash as 16 hex digits: the journal's "cand" */
    const char *name;      /* of the first program with this hash */
    const char *file;
    const char *why;       /* invalid: the static check's reason */
    const struct program *prog;
};

struct pile {
    struct program_file *files;
    size_t n_files, cap_files;
    struct cand *valid;    /* distinct candidates that passed the static check */
    uint32_t n_valid, cap_valid;
    struct cand *invalid;  /* distinct candidates that failed it (never dispatched) */
    uint32_t n_invalid, cap_invalid;
    size_t n_read;         /* definitions parsed */
    size_t n_parse_errors; /* definitions the parser rejected */
    size_t n_unreadable;   /* files that could not be read */
    struct dag dag;
    struct ref *roots;     /* per valid candidate */
    const char **names;    /* per valid candidate */
    int32_t *index;        /* hash table: hash -> valid index + 1, or -(invalid index + 1) */
    uint32_t index_mask;
};
#define PILE_INIT { 0 }

/* Returns 0, or a negative code when a path cannot be read at all (reported on errs). */
int pile_load(struct pile *p, char *const *paths, int npaths, FILE *errs);
void pile_release(struct pile *p);

/* Looks a candidate up by hash: 1 and *idx for a valid one, -1 and *idx for an invalid one,
 * 0 when unknown. */
int pile_find(const struct pile *p, uint64_t hash, uint32_t *idx);
/* Parses 16 hex digits. */
bool pile_parse_hex(const char *s, uint64_t *hash);

#endif
