/* hash.h: the master's 64-bit hashing helpers, in one place: the finaliser of its hash tables
 * (resume.c's done set) and of the shard partition (shard.c), and FNV-1a for byte strings
 * (task names, run fingerprints). Changing either changes which shard scores what: shards made
 * by one build must be merged by a build with the same functions (shard.txt says "format 1"). */
#ifndef BF_HASH_H
#define BF_HASH_H

#include "compat.h"

#define HASH_FNV_INIT 0xcbf29ce484222325ULL

/* MurmurHash3's fmix64: every input bit reaches every output bit. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* FNV-1a over n bytes, continuing from h (start with HASH_FNV_INIT). */
static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* v as 8 little-endian bytes: the same on every machine a shard may run on. */
static inline uint64_t hash_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return hash_bytes(h, b, sizeof b);
}

#endif
