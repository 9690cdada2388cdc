#include "compat.h"

/* mutate_lib.c: the mutation logic of battfarm-mutate (see mutate.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mutate.h"
#include "primtab.h"

/* ---- PRNG ---- */

void mut_seed(struct mut_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t mut_next(struct mut_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint64_t mut_below(struct mut_rng *r, uint64_t n)
{
    /* rejection sampling: no modulo bias */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = mut_next(r);
    } while (x >= lim);
    return x % n;
}

double mut_unit(struct mut_rng *r)
{
    return (double)(mut_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t mutate_seed_for(uint64_t seed, const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *c = name ? name : ""; *c; c++) {
        h ^= (unsigned char)*c;
        h *= UINT64_C(0x100000001b3);
    }
    struct mut_rng r;
    mut_seed(&r, seed ^ h);
    return mut_next(&r);
}

/* ---- types ----
 * Concrete kinds of Python values a DSL type may hold. Two types are compatible when they
 * share a kind: Patch (Object|Indices) meets Piece (Grid|Object|Indices), Any meets all. */
enum {
    K_INT = 1u << 0,  /* int */
    K_BOOL = 1u << 1, /* bool */
    K_ITUP = 1u << 2, /* (i, j) */
    K_GRID = 1u << 3, /* tuple of tuples of ints */
    K_OBJ = 1u << 4,  /* frozenset of (colour, (i, j)) */
    K_IDX = 1u << 5,  /* frozenset of (i, j) */
    K_OBJS = 1u << 6, /* frozenset of objects */
    K_ISET = 1u << 7, /* frozenset of ints */
    K_FSET = 1u << 8, /* other frozensets */
    K_TTUP = 1u << 9, /* tuple of pairs */
    K_TUP = 1u << 10, /* other tuples */
    K_CALL = 1u << 11,
    K_ALL = (1u << 12) - 1,
};

static const struct {
    const char *name;
    uint32_t mask;
} type_masks[] = {
    {"Any", K_ALL},
    {"Integer", K_INT},
    {"Boolean", K_BOOL},
    {"IntegerTuple", K_ITUP},
    {"Numerical", K_INT | K_ITUP},
    {"Grid", K_GRID},
    {"Object", K_OBJ},
    {"Indices", K_IDX},
    {"Patch", K_OBJ | K_IDX},
    {"Piece", K_GRID | K_OBJ | K_IDX},
    {"Element", K_GRID | K_OBJ},
    {"Objects", K_OBJS},
    {"IntegerSet", K_ISET},
    {"FrozenSet", K_OBJ | K_IDX | K_OBJS | K_ISET | K_FSET},
    {"TupleTuple", K_TTUP},
    {"Tuple", K_GRID | K_ITUP | K_TTUP | K_TUP},
    {"ContainerContainer", K_OBJS | K_GRID | K_TTUP},
    {"Container", K_ALL & ~(uint32_t)(K_INT | K_BOOL | K_CALL)},
    {"Callable", K_CALL},
};

uint32_t mut_type_mask(const char *type_name, size_t len)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(type_masks); i++)
        if (strlen(type_masks[i].name) == len && memcmp(type_masks[i].name, type_name, len) == 0)
            return type_masks[i].mask;
    return K_ALL;
}

uint32_t mut_prim_arg_mask(int prim, int i)
{
    if (prim < 0 || prim >= PRIM_COUNT || i < 0 || i >= prim_table[prim].arity)
        return K_ALL;
    const char *s = prim_table[prim].args;
    for (int k = 0; k < i && s; k++) {
        s = strchr(s, ',');
        if (s)
            s++;
    }
    if (!s)
        return K_ALL;
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    while (len && s[0] == ' ') {
        s++;
        len--;
    }
    return mut_type_mask(s, len);
}

uint32_t mut_prim_ret_mask(int prim)
{
    if (prim < 0 || prim >= PRIM_COUNT)
        return K_ALL;
    return mut_type_mask(prim_table[prim].ret, strlen(prim_table[prim].ret));
}

static uint32_t node_mask(const struct pnode *nodes, uint32_t j)
{
    const struct ref *c = &nodes[j].callee;
    return c->kind == REF_PRIM ? mut_prim_ret_mask((int)c->id) : K_ALL;
}

static uint32_t ref_mask(const struct pnode *nodes, uint32_t n, struct ref r)
{
    switch (r.kind) {
    case REF_NODE:
        return r.id < n ? node_mask(nodes, r.id) : K_ALL;
    case REF_CONST:
        if (r.id >= CONST_COUNT)
            return K_ALL;
        switch (const_table[r.id].kind) {
        case CK_BOOL:
            return K_BOOL;
        case CK_INT:
            return K_INT;
        case CK_PAIR:
            return K_ITUP;
        }
        return K_ALL;
    case REF_PRIM:
        return K_CALL;
    case REF_I:
    case REF_C:
        return K_GRID;
    case REF_S:
        return K_TTUP | K_TUP;
    default:
        return K_ALL;
    }
}

static bool ref_eq(struct ref a, struct ref b)
{
    return a.kind == b.kind && (a.kind == REF_I || a.kind == REF_S || a.kind == REF_C || a.id == b.id);
}

/* ---- one mutation at one site ---- */

/* Replaces argument i of node j with a random compatible value different from the current one:
 * first a category (earlier variable, constant, primitive name, input) among those that have a
 * candidate, then a candidate in it, so that the 160 primitive names do not crowd out the rest.
 * Returns true when it changed something. */
static bool mutate_arg(const struct program *p, struct mut_rng *r, struct pnode *nodes, uint32_t j, unsigned i)
{
    struct pnode *nd = &nodes[j];
    uint32_t want = nd->callee.kind == REF_PRIM ? mut_prim_arg_mask((int)nd->callee.id, (int)i) : K_ALL;
    struct ref cur = nd->arg[i];
    size_t cap = (size_t)j + CONST_COUNT + PRIM_COUNT + 3;
    struct ref *cand = malloc(cap * sizeof *cand);
    if (!cand)
        return false;
    size_t start[5], n = 0;
    /* category 0: earlier variables */
    start[0] = n;
    for (uint32_t k = 0; k < j; k++) {
        struct ref c = {REF_NODE, k};
        if ((node_mask(nodes, k) & want) && !ref_eq(c, cur))
            cand[n++] = c;
    }
    /* category 1: constants */
    start[1] = n;
    for (uint32_t k = 0; k < CONST_COUNT; k++) {
        struct ref c = {REF_CONST, k};
        if ((ref_mask(nodes, p->n, c) & want) && !ref_eq(c, cur))
            cand[n++] = c;
    }
    /* category 2: primitive names */
    start[2] = n;
    if (want & K_CALL)
        for (uint32_t k = 0; k < PRIM_COUNT; k++) {
            struct ref c = {REF_PRIM, k};
            if (!ref_eq(c, cur))
                cand[n++] = c;
        }
    /* category 3: the inputs */
    start[3] = n;
    {
        struct ref c = {REF_I, 0};
        if ((want & K_GRID) && !ref_eq(c, cur))
            cand[n++] = c;
        struct ref s = {REF_S, 0};
        if (p->sig_sic && (want & (K_TTUP | K_TUP)) && !ref_eq(s, cur))
            cand[n++] = s;
    }
    start[4] = n;
    bool changed = false;
    if (n > 0) {
        unsigned cats[4], ncat = 0;
        for (unsigned c = 0; c < 4; c++)
            if (start[c + 1] > start[c])
                cats[ncat++] = c;
        unsigned c = cats[mut_below(r, ncat)];
        size_t pick = start[c] + (size_t)mut_below(r, start[c + 1] - start[c]);
        nd->arg[i] = cand[pick];
        changed = true;
    }
    free(cand);
    return changed;
}

/* Replaces the (primitive) callee of node j by another primitive of the same arity whose return
 * type may be the old one's and whose argument types may take the current arguments. */
static bool mutate_callee(const struct program *p, struct mut_rng *r, struct pnode *nodes, uint32_t j)
{
    struct pnode *nd = &nodes[j];
    if (nd->callee.kind != REF_PRIM || nd->callee.id >= PRIM_COUNT)
        return false;
    int old = (int)nd->callee.id;
    uint32_t ret = mut_prim_ret_mask(old);
    int cand[PRIM_COUNT], n = 0;
    for (int q = 0; q < PRIM_COUNT; q++) {
        if (q == old || prim_table[q].arity != nd->nargs || !(mut_prim_ret_mask(q) & ret))
            continue;
        bool ok = true;
        for (unsigned i = 0; i < nd->nargs && ok; i++)
            ok = (mut_prim_arg_mask(q, (int)i) & ref_mask(nodes, p->n, nd->arg[i])) != 0;
        if (ok)
            cand[n++] = q;
    }
    if (n == 0)
        return false;
    nd->callee.id = (uint32_t)cand[mut_below(r, (uint64_t)n)];
    return true;
}

/* ---- mutants ---- */

struct site {
    uint32_t node;
    int slot; /* -1: callee, else argument index */
};

static bool mutate_site(const struct program *p, struct mut_rng *r, struct pnode *nodes, struct site s)
{
    return s.slot < 0 ? mutate_callee(p, r, nodes, s.node) : mutate_arg(p, r, nodes, s.node, (unsigned)s.slot);
}

unsigned mutate_once(const struct program *p, struct mut_rng *r, double rate, struct pnode *out)
{
    uint32_t n = p->n;
    if (n == 0)
        return 0;
    memcpy(out, p->nodes, (size_t)n * sizeof *out);
    /* live lines: those the output depends on */
    bool *live = calloc(n, sizeof *live);
    struct site *sites = malloc((size_t)n * (PROG_MAX_ARGS + 1) * sizeof *sites);
    if (!live || !sites) {
        free(live);
        free(sites);
        return 0;
    }
    if (p->out.kind == REF_NODE && p->out.id < n)
        live[p->out.id] = true;
    for (uint32_t j = n; j-- > 0;) {
        if (!live[j])
            continue;
        const struct pnode *nd = &p->nodes[j];
        if (nd->callee.kind == REF_NODE && nd->callee.id < j)
            live[nd->callee.id] = true;
        for (unsigned i = 0; i < nd->nargs && i < PROG_MAX_ARGS; i++)
            if (nd->arg[i].kind == REF_NODE && nd->arg[i].id < j)
                live[nd->arg[i].id] = true;
    }
    size_t ns = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (!live[j])
            continue;
        if (p->nodes[j].callee.kind == REF_PRIM)
            sites[ns++] = (struct site){j, -1};
        for (unsigned i = 0; i < p->nodes[j].nargs && i < PROG_MAX_ARGS; i++)
            sites[ns++] = (struct site){j, (int)i};
    }
    unsigned changes = 0;
    for (size_t s = 0; s < ns; s++)
        if (mut_unit(r) < rate && mutate_site(p, r, out, sites[s]))
            changes++;
    /* at least one change: try the sites in a random order until one takes */
    for (size_t left = ns; changes == 0 && left > 0; left--) {
        size_t k = (size_t)mut_below(r, left);
        if (mutate_site(p, r, out, sites[k]))
            changes++;
        sites[k] = sites[left - 1];
    }
    free(live);
    free(sites);
    return changes;
}

int mutate_program(const struct program *p, uint64_t seed, double rate, int count, struct pnode **out)
{
    *out = NULL;
    if (count <= 0 || p->n == 0)
        return 0;
    size_t n = p->n;
    struct pnode *all = malloc((size_t)count * n * sizeof *all);
    uint64_t *seen = malloc(((size_t)count + 1) * sizeof *seen);
    if (!all || !seen) {
        free(all);
        free(seen);
        return -1;
    }
    struct mut_rng r;
    mut_seed(&r, mutate_seed_for(seed, p->name));
    struct program tmp = *p;
    tmp.line_hash = NULL; /* p's, not the mutants' (only checked and hashed here) */
    size_t nseen = 0;
    seen[nseen++] = program_hash(p);
    int made = 0;
    for (long trial = 0; made < count && trial < (long)count * 50; trial++) {
        struct pnode *m = all + (size_t)made * n;
        if (mutate_once(p, &r, rate, m) == 0)
            break; /* nothing mutable */
        tmp.nodes = m;
        /* the static check also knows the arity of function values (x2 = fork(...) takes one
         * argument): a mutant it rejects would never be dispatched, so it is not kept */
        if (!program_check(&tmp))
            continue;
        uint64_t h = program_hash(&tmp);
        bool dup = false;
        for (size_t k = 0; k < nseen && !dup; k++)
            dup = seen[k] == h;
        if (dup)
            continue;
        seen[nseen++] = h;
        made++;
    }
    free(seen);
    if (made == 0) {
        free(all);
        return 0;
    }
    *out = all;
    return made;
}

/* ---- writing ---- */

static void write_ref(FILE *f, const struct program *p, struct ref r)
{
    switch (r.kind) {
    case REF_NODE:
        if (p->out.kind == REF_NODE && p->out.id == r.id)
            fputs("O", f);
        else
            fprintf(f, "x%" PRIu32, r.id + 1);
        break;
    case REF_CONST:
        fputs(r.id < CONST_COUNT ? const_table[r.id].name : "ZERO", f);
        break;
    case REF_PRIM:
        fputs(r.id < PRIM_COUNT ? prim_table[r.id].name : "identity", f);
        break;
    case REF_I:
        fputs("I", f);
        break;
    case REF_S:
        fputs("S", f);
        break;
    case REF_C:
        fputs("C", f);
        break;
    default:
        fputs("I", f);
        break;
    }
}

int mutate_write(FILE *f, const struct program *p, const struct pnode *nodes, const char *header_comment)
{
    if (header_comment)
        fprintf(f, "# %s\n", header_comment);
    fprintf(f, "def %s(%s):\n", p->name ? p->name : "solve", p->sig_sic ? "S, I, C" : "I");
    for (uint32_t j = 0; j < p->n; j++) {
        const struct pnode *nd = &nodes[j];
        fputs("    ", f);
        write_ref(f, p, (struct ref){REF_NODE, j});
        fputs(" = ", f);
        write_ref(f, p, nd->callee);
        fputc('(', f);
        for (unsigned i = 0; i < nd->nargs && i < PROG_MAX_ARGS; i++) {
            if (i)
                fputs(", ", f);
            write_ref(f, p, nd->arg[i]);
        }
        fputs(")\n", f);
    }
    if (p->out.kind != REF_NODE || p->out.id >= p->n) {
        fputs("    O = identity(", f);
        write_ref(f, p, p->out);
        fputs(")\n", f);
    }
    fputs("    return O\n", f);
    if (ferror(f))
        return errno ? -errno : -EIO;
    return 0;
}
