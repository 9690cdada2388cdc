/* score_mix.h: the arithmetic shared by the CPU and CUDA scoring paths, written once so both
 * give bit-identical results (compiled as C and as CUDA). */
#ifndef BF_SCORE_MIX_H
#define BF_SCORE_MIX_H

#include <stdint.h>

#ifdef __CUDACC__
#define SCORE_HD __host__ __device__ __forceinline__
#else
#define SCORE_HD static inline
#endif

#define GRID_HASH_SEED 0x9e3779b97f4a7c15ULL

/* splitmix64's finaliser: a bijective 64-bit mix. */
SCORE_HD uint64_t score_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

SCORE_HD uint64_t score_cell_term(uint32_t k, uint8_t cell) { return score_mix64(((uint64_t)k << 8) | cell); }
SCORE_HD uint64_t score_dims_term(uint32_t h, uint32_t w) { return score_mix64(GRID_HASH_SEED ^ ((uint64_t)h << 16 | w)); }
SCORE_HD uint32_t score_colour_bit(uint8_t cell) { return 1u << (cell < 10 ? cell : 10); }

#endif
