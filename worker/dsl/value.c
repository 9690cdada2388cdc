/* value.c: not written yet. */
#include "compat.h"
