/* run_cli.c: not written yet. */
#include "compat.h"
