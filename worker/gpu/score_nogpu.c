/* score_nogpu.c: the GPU entry points when battfarm is built without CUDA: no device. */
#include "compat.h"

#include <errno.h>

#include "score.h"

bool score_gpu_available(void) { return false; }
const char *score_gpu_name(void) { return "none"; }
int score_gpu_count(void) { return 0; }

int score_batch_gpu(const struct score_batch *b, struct score_result *out)
{
    (void)b;
    (void)out;
    return -ENODEV;
}
