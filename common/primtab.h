/* primtab.h: the one table of DSL primitives and constants (prims.def, consts.def), shared by the
 * parser, the static check, the canonical form, the worker's dispatch and the generated docs.
 *
 * prims.def lines:  PRIM(name, arity, "ReturnType", "ArgType1,ArgType2", "one line of doc")
 *   types are arc_types.py's names (Any, Integer, Grid, Patch, Callable, ...).
 * consts.def lines: CONST(NAME, kind, a, b) with kind CK_BOOL (a), CK_INT (a) or CK_PAIR ((a, b)). */
#ifndef BF_PRIMTAB_H
#define BF_PRIMTAB_H

#include "compat.h"

enum prim_id {
#define PRIM(name, arity, ret, args, doc) PRIM_##name,
#include "prims.def"
#undef PRIM
    PRIM_COUNT
};

enum const_kind { CK_BOOL, CK_INT, CK_PAIR };

enum const_id {
#define CONST(name, kind, a, b) CONST_##name,
#include "consts.def"
#undef CONST
    CONST_COUNT
};

struct prim_info {
    const char *name;
    uint8_t arity;
    const char *ret;   /* return type name */
    const char *args;  /* comma-separated argument type names */
    const char *doc;
};

struct const_info {
    const char *name;
    enum const_kind kind;
    int a, b;
};

extern const struct prim_info prim_table[PRIM_COUNT];
extern const struct const_info const_table[CONST_COUNT];

int prim_lookup(const char *name, size_t len);  /* prim id or -1 */
int const_lookup(const char *name, size_t len); /* const id or -1 */

#endif
