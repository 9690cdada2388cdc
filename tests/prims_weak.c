/* prims_weak.c: weak stand-ins for every primitive, so the runtime's tests link while the
 * primitive files are being written. A real prim_<name> (strong) always wins: the tests link
 * bf_dsl whole (see tests/CMakeLists.txt). A stand-in raises RuntimeError when called. */
#include "compat.h"

#include "dsl.h"

#define PRIM(name, arity, ret, args, doc)                                                        \
    __attribute__((weak)) val prim_##name(const val *a)                                         \
    {                                                                                            \
        (void)a;                                                                                 \
        dsl_raise(EXC_RUNTIME, "primitive %s is not implemented yet", #name);                  \
    }
#include "../common/prims.def"
#undef PRIM
