/* devices.h: which GPUs this machine has, found without CUDA (the master must never initialise
 * CUDA before it forks: CUDA does not survive fork). Each worker is then bound to its GPU by
 * CUDA_VISIBLE_DEVICES set before exec, and reports the device it got in its HELLO. */
#ifndef BF_DEVICES_H
#define BF_DEVICES_H

#include "compat.h"

#define DEVICES_MAX 64

/* GPU ids visible here: the entries of CUDA_VISIBLE_DEVICES when it is set (numeric ids only),
 * else one per directory in /proc/driver/nvidia/gpus (the NVIDIA driver's list). Returns the
 * count (0 without GPUs) and fills ids[0..count). */
int devices_discover(int *ids, int max);

/* Parses a --gpus list: "0,2,3", "0-3", "all" (= the discovered ones) or "none". Returns the
 * count, or -1 with a reason in err for a malformed list. */
int devices_parse_list(const char *list, int *ids, int max, char *err, size_t errlen);

#endif
