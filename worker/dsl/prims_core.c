/* prims_core.c: not written yet. */
#include "compat.h"
