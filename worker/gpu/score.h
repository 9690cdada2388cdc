/* score.h: batched scoring of candidate outputs against one expected grid, on the GPU when it
 * pays and on the CPU otherwise, with bit-identical results (design.md section 8).
 *
 * For every output of a batch: exact match, shape match, cells right (same shape only), the
 * palette difference (colours present in one grid and not the other), and a 64-bit hash of the
 * output used for behavioural dedup (candidates with equal outputs on every demo sample).
 *
 * The hash is defined so that a parallel reduction gives exactly the sequential value:
 *   hash = mix64(GRID_HASH_SEED ^ (h << 16 | w)) + sum over cells k of mix64((k << 8) | cell_k)
 * (sums modulo 2^64; k is the row-major index), then a final mix64.
 *
 *   struct score_batch b; score_batch_init(&b, &expected);
 *   score_batch_add(&b, h, w, cells) ...          outputs are copied into one packed buffer
 *   score_batch_run(&b, out, SCORE_AUTO);         picks GPU or CPU by batch size
 *   score_batch_release(&b);
 */
#ifndef BF_SCORE_H
#define BF_SCORE_H

#include "compat.h"

#define SCORE_MAX_SIDE 255

struct score_grid {
    uint16_t h, w;
    const uint8_t *cells; /* h*w, row-major */
};

struct score_result {
    uint8_t match;        /* same shape and every cell equal */
    uint8_t shape_match;
    uint8_t palette_diff; /* |palette(out) xor palette(expected)|, colours 0..9 (others count as 10) */
    uint8_t pad_;
    uint32_t cells_right; /* 0 unless shape_match */
    uint64_t hash;
};

struct score_batch {
    uint16_t exp_h, exp_w;
    uint8_t exp_cells[30 * 30]; /* expected grids are ARC grids: at most 30x30 */
    uint32_t n, cap;
    uint32_t *offset;     /* start of output i in cells; n+1 entries */
    uint16_t *dims;       /* h, w per output (2 entries each) */
    uint8_t *cells;
    size_t cells_len, cells_cap;
};

enum score_device { SCORE_AUTO, SCORE_CPU, SCORE_GPU };

void score_batch_init(struct score_batch *b, const struct score_grid *expected);
int score_batch_add(struct score_batch *b, const struct score_grid *out); /* 0 or -ENOMEM/-EINVAL */
void score_batch_clear(struct score_batch *b);                            /* keeps the expected grid */
/* Empties the batch and sets a new expected grid, keeping the buffers (one batch per job). */
void score_batch_reset(struct score_batch *b, const struct score_grid *expected);
void score_batch_release(struct score_batch *b);

/* Scores the batch into out[0..n). SCORE_GPU fails with -ENODEV without a usable device.
 * SCORE_AUTO uses the GPU when one is usable and n >= score_gpu_threshold. */
int score_batch_run(const struct score_batch *b, struct score_result *out, enum score_device dev);

/* The CPU reference implementation, also used by the tests to check the GPU. */
void score_batch_cpu(const struct score_batch *b, struct score_result *out);
uint64_t score_grid_hash(const struct score_grid *g);

/* GPU side (score.cu; without CUDA at build time these report no device). */
bool score_gpu_available(void);            /* a device is visible and initialises */
const char *score_gpu_name(void);          /* "NVIDIA H200" or "none" */
int score_gpu_count(void);                 /* devices visible to this process (0 without CUDA) */
int score_batch_gpu(const struct score_batch *b, struct score_result *out);
extern uint32_t score_gpu_threshold;       /* batch size from which AUTO picks the GPU */

#endif
