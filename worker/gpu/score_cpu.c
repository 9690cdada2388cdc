/* score_cpu.c: the scoring batch and its CPU implementation (the reference for the GPU path). */
#include "compat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "score.h"
#include "score_mix.h"

uint32_t score_gpu_threshold = 4096;

void score_batch_init(struct score_batch *b, const struct score_grid *expected)
{
    memset(b, 0, sizeof *b);
    b->exp_h = expected->h;
    b->exp_w = expected->w;
    BF_ASSERT((size_t)expected->h * expected->w <= sizeof b->exp_cells);
    memcpy(b->exp_cells, expected->cells, (size_t)expected->h * expected->w);
}

/* Makes room for `need` outputs in offset[] (need+1 entries) and dims[]. */
static int reserve_outputs(struct score_batch *b, uint32_t need)
{
    if (need + 1 <= b->cap) return 0;
    uint32_t ncap = b->cap ? b->cap * 2 : 64;
    while (ncap < need + 1) ncap *= 2;
    uint32_t *offset = realloc(b->offset, (size_t)ncap * sizeof *offset);
    if (!offset) return -ENOMEM;
    b->offset = offset;
    uint16_t *dims = realloc(b->dims, (size_t)ncap * 2 * sizeof *dims);
    if (!dims) return -ENOMEM;
    b->dims = dims;
    b->cap = ncap;
    return 0;
}

int score_batch_add(struct score_batch *b, const struct score_grid *out)
{
    if (out->h > SCORE_MAX_SIDE || out->w > SCORE_MAX_SIDE) return -EINVAL;
    if (reserve_outputs(b, b->n + 1) < 0) return -ENOMEM;
    size_t len = (size_t)out->h * out->w;
    if (b->cells_len + len > b->cells_cap) {
        size_t ncap = b->cells_cap ? b->cells_cap * 2 : 4096;
        while (ncap < b->cells_len + len) ncap *= 2;
        uint8_t *q = realloc(b->cells, ncap);
        if (!q) return -ENOMEM;
        b->cells = q;
        b->cells_cap = ncap;
    }
    if (b->n == 0) b->offset[0] = 0;
    if (len) memcpy(b->cells + b->cells_len, out->cells, len);
    b->cells_len += len;
    b->dims[2 * b->n] = out->h;
    b->dims[2 * b->n + 1] = out->w;
    b->n++;
    b->offset[b->n] = (uint32_t)b->cells_len;
    return 0;
}

void score_batch_clear(struct score_batch *b)
{
    b->n = 0;
    b->cells_len = 0;
}

void score_batch_reset(struct score_batch *b, const struct score_grid *expected)
{
    BF_ASSERT((size_t)expected->h * expected->w <= sizeof b->exp_cells);
    b->exp_h = expected->h;
    b->exp_w = expected->w;
    memcpy(b->exp_cells, expected->cells, (size_t)expected->h * expected->w);
    score_batch_clear(b);
}

void score_batch_release(struct score_batch *b)
{
    free(b->offset);
    free(b->dims);
    free(b->cells);
    memset(b, 0, sizeof *b);
}

static uint32_t palette_bits(const uint8_t *cells, size_t n)
{
    uint32_t bits = 0;
    for (size_t k = 0; k < n; k++) bits |= score_colour_bit(cells[k]);
    return bits;
}

uint64_t score_grid_hash(const struct score_grid *g)
{
    uint64_t sum = score_dims_term(g->h, g->w);
    size_t n = (size_t)g->h * g->w;
    for (size_t k = 0; k < n; k++) sum += score_cell_term((uint32_t)k, g->cells[k]);
    return score_mix64(sum);
}

void score_batch_cpu(const struct score_batch *b, struct score_result *out)
{
    size_t exp_n = (size_t)b->exp_h * b->exp_w;
    uint32_t exp_bits = palette_bits(b->exp_cells, exp_n);
    for (uint32_t i = 0; i < b->n; i++) {
        struct score_grid g = { b->dims[2 * i], b->dims[2 * i + 1], b->cells + b->offset[i] };
        size_t n = (size_t)g.h * g.w;
        struct score_result *r = &out[i];
        memset(r, 0, sizeof *r);
        r->shape_match = g.h == b->exp_h && g.w == b->exp_w;
        uint64_t sum = score_dims_term(g.h, g.w);
        uint32_t bits = 0, right = 0;
        for (size_t k = 0; k < n; k++) {
            uint8_t c = g.cells[k];
            sum += score_cell_term((uint32_t)k, c);
            bits |= score_colour_bit(c);
            if (r->shape_match) right += c == b->exp_cells[k];
        }
        r->cells_right = r->shape_match ? right : 0;
        r->match = r->shape_match && right == n;
        r->palette_diff = (uint8_t)__builtin_popcount(bits ^ exp_bits);
        r->hash = score_mix64(sum);
    }
}

int score_batch_run(const struct score_batch *b, struct score_result *out, enum score_device dev)
{
    if (dev == SCORE_GPU) return score_batch_gpu(b, out);
    if (dev == SCORE_AUTO && b->n >= score_gpu_threshold && score_gpu_available()) {
        if (score_batch_gpu(b, out) == 0) return 0;
        /* fall back to the CPU: the results are identical */
    }
    score_batch_cpu(b, out);
    return 0;
}
