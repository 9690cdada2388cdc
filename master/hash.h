/* hash.h: the master's hashing, on common/mix.h (bf_mix64 for its hash tables, resume.c's done
 * set, and the shard partition; bf_fnv1a for task names and run fingerprints), plus hash_u64.
 * Changing either changes which shard scores what: shards made by one build must be merged by a
 * build with the same functions (shard.txt says "format 1"). */
#ifndef BF_HASH_H
#define BF_HASH_H

#include "compat.h"

#include "mix.h"

/* v as 8 little-endian bytes: the same on every machine a shard may run on. */
static inline uint64_t hash_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return bf_fnv1a(h, b, sizeof b);
}

#endif
