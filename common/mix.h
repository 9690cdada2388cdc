/* mix.h: the 64-bit hashing steps shared by common/ and master/, in one place: the splitmix64
 * finaliser (Steele, Lea, Flood 2014; the constants of Vigna's splitmix64.c), a bijective mixer
 * with full avalanche, and FNV-1a over bytes. The canonical hash of programs (program.c), which
 * names stored files, is built from these: changing them renames every store. (worker/gpu/
 * score_mix.h keeps its own copy of the finaliser: it must compile as CUDA device code.) */
#ifndef BF_MIX_H
#define BF_MIX_H

#include <stddef.h>
#include <stdint.h>

#define BF_FNV_INIT 0xcbf29ce484222325ULL

static inline uint64_t bf_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* FNV-1a over n bytes, continuing from h (start with BF_FNV_INIT). */
static inline uint64_t bf_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#endif
