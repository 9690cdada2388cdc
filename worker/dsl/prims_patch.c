/* prims_patch.c: not written yet. */
#include "compat.h"
