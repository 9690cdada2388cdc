/* task_json.c: not written yet. */
#include "compat.h"
