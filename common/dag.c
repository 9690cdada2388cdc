/* dag.c: the per-task DAG of all candidates' expressions, hash-consed so that a sub-expression
 * shared by many programs is one node (and is evaluated once per sample).
 *
 * Each program line reachable from its `return` becomes a node whose callee and arguments are
 * leaves or earlier DAG nodes. Nodes are found again through an open-addressing table (linear
 * probing, at most half full) keyed on the node's canonical hash, with a structural comparison
 * on hash equality, so two different expressions never merge even if their hashes collide.
 * Node hashes are the canonical hashes of program.c, so dag_ref_hash(root) == program_hash(p). */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "program_int.h"

static bool dag_node_equal(const struct pnode *a, const struct pnode *b)
{
    if (a->nargs != b->nargs || !program_ref_equal(a->callee, b->callee))
        return false;
    for (unsigned i = 0; i < a->nargs; i++)
        if (!program_ref_equal(a->arg[i], b->arg[i]))
            return false;
    return true;
}

static void dag_index_grow(struct dag *d)
{
    uint32_t size = d->index ? (d->index_mask + 1) * 2 : 1024;
    free(d->index);
    d->index = program_xrealloc(NULL, (size_t)size * sizeof *d->index);
    memset(d->index, 0, (size_t)size * sizeof *d->index);
    d->index_mask = size - 1;
    for (uint32_t id = 0; id < d->n; id++) {
        uint32_t i = (uint32_t)d->hash[id] & d->index_mask;
        while (d->index[i])
            i = (i + 1) & d->index_mask;
        d->index[i] = id + 1;
    }
}

/* The node equal to *nd, added when new. */
static uint32_t dag_intern(struct dag *d, const struct pnode *nd, uint64_t h)
{
    if (!d->index || (uint64_t)(d->n + 1) * 2 > (uint64_t)d->index_mask + 1)
        dag_index_grow(d);
    uint32_t i = (uint32_t)h & d->index_mask;
    for (; d->index[i]; i = (i + 1) & d->index_mask) {
        uint32_t id = d->index[i] - 1;
        if (d->hash[id] == h && dag_node_equal(&d->nodes[id], nd))
            return id;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->nodes = program_xrealloc(d->nodes, (size_t)d->cap * sizeof *d->nodes);
        d->hash = program_xrealloc(d->hash, (size_t)d->cap * sizeof *d->hash);
    }
    d->nodes[d->n] = *nd;
    d->hash[d->n] = h;
    d->index[i] = d->n + 1;
    return d->n++;
}

uint64_t dag_ref_hash(const struct dag *d, struct ref r)
{
    if (r.kind == REF_NODE)
        return r.id < d->n ? d->hash[r.id] : program_leaf_hash((struct ref){ REF_NONE, 0 });
    return program_leaf_hash(r);
}

/* A program reference translated into the DAG: nodes through map (below limit), leaves as they
 * are; anything unusable becomes REF_NONE, which hashes like program.c's unusable references. */
static struct ref dag_translate(struct ref r, uint32_t limit, const struct ref *map)
{
    if (r.kind == REF_NODE)
        return r.id < limit ? map[r.id] : (struct ref){ REF_NONE, 0 };
    if (r.kind > REF_C)
        return (struct ref){ REF_NONE, 0 };
    return r;
}

struct ref dag_add(struct dag *d, const struct program *p)
{
    if (p->out.kind != REF_NODE)
        return dag_translate(p->out, 0, NULL);
    if (p->out.id >= p->n)
        return (struct ref){ REF_NONE, 0 };
    uint32_t n = p->out.id + 1;
    struct ref *map = program_xrealloc(NULL, (size_t)n * (sizeof *map + 1));
    uint8_t *live = (uint8_t *)(map + n);
    program_mark_live(p, live, n);
    struct program_repeats rep;
    program_repeats_init(&rep, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!live[i])
            continue;
        const struct pnode *src = &p->nodes[i];
        struct pnode nd;
        uint64_t args[PROG_MAX_ARGS];
        memset(&nd, 0, sizeof nd);
        nd.nargs = src->nargs <= PROG_MAX_ARGS ? src->nargs : PROG_MAX_ARGS;
        nd.callee = dag_translate(src->callee, i, map);
        for (unsigned a = 0; a < nd.nargs; a++) {
            nd.arg[a] = dag_translate(src->arg[a], i, map);
            args[a] = dag_ref_hash(d, nd.arg[a]);
        }
        uint64_t h = program_call_hash(dag_ref_hash(d, nd.callee), nd.nargs, args);
        h = program_repeat_hash(h, program_repeats_next(&rep, h)); /* see program_int.h */
        map[i] = (struct ref){ REF_NODE, dag_intern(d, &nd, h) };
    }
    struct ref root = map[n - 1];
    program_repeats_release(&rep);
    free(map);
    return root;
}

/* dag_ref_hash of dag_translate(r, i, map) without the map: earlier lines' hashes are in out. */
static uint64_t line_ref_hash(struct ref r, uint32_t i, const uint64_t *out)
{
    if (r.kind == REF_NODE)
        return r.id < i ? out[r.id] : program_leaf_hash((struct ref){ REF_NONE, 0 });
    return program_leaf_hash(r.kind > REF_C ? (struct ref){ REF_NONE, 0 } : r);
}

void program_line_hashes(const struct program *p, uint64_t *out)
{
    if (p->n == 0)
        return;
    uint8_t *live = program_xrealloc(NULL, p->n);
    memset(live, 0, p->n);
    if (p->out.kind == REF_NODE && p->out.id < p->n)
        program_mark_live(p, live, p->out.id + 1);
    struct program_repeats rep;
    program_repeats_init(&rep, p->n);
    for (uint32_t i = 0; i < p->n; i++) {
        const struct pnode *src = &p->nodes[i];
        unsigned nargs = src->nargs <= PROG_MAX_ARGS ? src->nargs : PROG_MAX_ARGS;
        uint64_t args[PROG_MAX_ARGS];
        for (unsigned a = 0; a < nargs; a++)
            args[a] = line_ref_hash(src->arg[a], i, out);
        uint64_t h = program_call_hash(line_ref_hash(src->callee, i, out), nargs, args);
        out[i] = live[i] ? program_repeat_hash(h, program_repeats_next(&rep, h)) : h;
    }
    program_repeats_release(&rep);
    free(live);
}

static uint32_t hasher_repeat(struct dag_hasher *h, uint64_t expr)
{
    if ((uint64_t)(h->rep_used + 1) * 2 > (uint64_t)h->rep_mask + 1 || h->rep_key == NULL) {
        uint32_t size = h->rep_key ? (h->rep_mask + 1) * 2 : 1024;
        uint64_t *key = program_xrealloc(NULL, (size_t)size * sizeof *key);
        uint32_t *count = program_xrealloc(NULL, (size_t)size * sizeof *count);
        memset(key, 0, (size_t)size * sizeof *key);
        for (uint32_t i = 0; h->rep_key && i <= h->rep_mask; i++) {
            if (!h->rep_key[i])
                continue;
            uint32_t j = (uint32_t)(h->rep_key[i] >> 7) & (size - 1);
            while (key[j]) j = (j + 1) & (size - 1);
            key[j] = h->rep_key[i];
            count[j] = h->rep_count[i];
        }
        free(h->rep_key);
        free(h->rep_count);
        h->rep_key = key;
        h->rep_count = count;
        h->rep_mask = size - 1;
    }
    uint64_t k = expr | 1;
    uint32_t i = (uint32_t)(expr >> 7) & h->rep_mask;
    while (h->rep_key[i] && h->rep_key[i] != k) i = (i + 1) & h->rep_mask;
    if (!h->rep_key[i]) {
        h->rep_key[i] = k;
        h->rep_count[i] = 0;
        h->rep_used++;
    }
    return h->rep_count[i]++;
}

static uint64_t hasher_ref(const struct dag_hasher *h, struct ref r)
{
    if (r.kind == REF_NODE)
        return r.id < h->n ? h->hash[r.id] : program_leaf_hash((struct ref){ REF_NONE, 0 });
    return program_leaf_hash(r);
}

void dag_hasher_extend(struct dag_hasher *h, const struct pnode *nodes, uint32_t n)
{
    if (n > h->cap) {
        h->cap = n > 2 * h->cap ? n : 2 * h->cap;
        h->hash = program_xrealloc(h->hash, (size_t)h->cap * sizeof *h->hash);
    }
    for (; h->n < n; h->n++) {
        const struct pnode *nd = &nodes[h->n];
        unsigned nargs = nd->nargs <= PROG_MAX_ARGS ? nd->nargs : PROG_MAX_ARGS;
        uint64_t args[PROG_MAX_ARGS];
        for (unsigned a = 0; a < nargs; a++)
            args[a] = hasher_ref(h, nd->arg[a]);
        uint64_t expr = program_call_hash(hasher_ref(h, nd->callee), nargs, args);
        h->hash[h->n] = program_repeat_hash(expr, hasher_repeat(h, expr));
    }
}

void dag_hasher_release(struct dag_hasher *h)
{
    free(h->hash);
    free(h->rep_key);
    free(h->rep_count);
    *h = (struct dag_hasher)DAG_HASHER_INIT;
}

void dag_release(struct dag *d)
{
    free(d->nodes);
    free(d->hash);
    free(d->index);
    *d = (struct dag)DAG_INIT;
}
