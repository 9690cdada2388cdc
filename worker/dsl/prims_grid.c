/* prims_grid.c: not written yet. */
#include "compat.h"
