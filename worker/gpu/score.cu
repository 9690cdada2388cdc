/* score.cu: the CUDA scoring path. One thread block per candidate output: the threads stride over
 * the cells, then reduce cells right (sum), the palette (or) and the hash terms (sum modulo 2^64,
 * so the order of the reduction cannot change the result: bit-identical to score_batch_cpu).
 * Device buffers are kept between calls and grown as needed; CUDA is touched only in this file,
 * and only inside the worker process (never before fork in the master). */
#include <cuda_runtime.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "score.h"
}
#include "score_mix.h"

#define SCORE_THREADS 128

static int gpu_state = -1; /* -1 unknown, 0 none, 1 ready */
static char gpu_name[128] = "none";

struct device_buffers {
    uint32_t *offset;
    uint16_t *dims;
    uint8_t *cells;
    uint8_t *expected;
    struct score_result *out;
    size_t cap_outputs, cap_cells;
};
static struct device_buffers dbuf;

extern "C" int score_gpu_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" bool score_gpu_available(void)
{
    if (gpu_state >= 0) return gpu_state == 1;
    gpu_state = 0;
    int n = score_gpu_count();
    if (n <= 0) return false;
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || cudaFree(0) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    snprintf(gpu_name, sizeof gpu_name, "%.127s", prop.name);
    gpu_state = 1;
    return true;
}

extern "C" const char *score_gpu_name(void)
{
    score_gpu_available();
    return gpu_name;
}

__global__ void score_kernel(const uint32_t *offset, const uint16_t *dims, const uint8_t *cells,
                             const uint8_t *expected, uint32_t exp_h, uint32_t exp_w, uint32_t exp_bits,
                             uint32_t n, struct score_result *out)
{
    __shared__ unsigned long long s_sum[SCORE_THREADS];
    __shared__ uint32_t s_right[SCORE_THREADS];
    __shared__ uint32_t s_bits[SCORE_THREADS];
    uint32_t i = blockIdx.x;
    if (i >= n) return;
    uint32_t h = dims[2 * i], w = dims[2 * i + 1];
    const uint8_t *g = cells + offset[i];
    uint32_t len = h * w;
    bool shape = h == exp_h && w == exp_w;
    uint64_t sum = 0;
    uint32_t right = 0, bits = 0;
    for (uint32_t k = threadIdx.x; k < len; k += blockDim.x) {
        uint8_t c = g[k];
        sum += score_cell_term(k, c);
        bits |= score_colour_bit(c);
        if (shape) right += c == expected[k];
    }
    s_sum[threadIdx.x] = sum;
    s_right[threadIdx.x] = right;
    s_bits[threadIdx.x] = bits;
    __syncthreads();
    for (uint32_t s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            s_sum[threadIdx.x] += s_sum[threadIdx.x + s];
            s_right[threadIdx.x] += s_right[threadIdx.x + s];
            s_bits[threadIdx.x] |= s_bits[threadIdx.x + s];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        struct score_result r;
        r.shape_match = shape;
        r.cells_right = shape ? s_right[0] : 0;
        r.match = shape && s_right[0] == len;
        r.palette_diff = (uint8_t)__popc(s_bits[0] ^ exp_bits);
        r.pad_ = 0;
        r.hash = score_mix64(score_dims_term(h, w) + (uint64_t)s_sum[0]);
        out[i] = r;
    }
}

static int ensure(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need) ncap *= 2;
    if (*p) cudaFree(*p);
    *p = NULL;
    *cap = 0;
    if (cudaMalloc(p, ncap * elem) != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return -ENOMEM;
    }
    *cap = ncap;
    return 0;
}

extern "C" int score_batch_gpu(const struct score_batch *b, struct score_result *out)
{
    if (!score_gpu_available()) return -ENODEV;
    if (b->n == 0) return 0;
    size_t outputs_cap = dbuf.cap_outputs;
    if (ensure((void **)&dbuf.offset, &outputs_cap, b->n + 1, sizeof(uint32_t)) < 0) return -ENOMEM;
    outputs_cap = dbuf.cap_outputs;
    if (ensure((void **)&dbuf.dims, &outputs_cap, b->n + 1, 2 * sizeof(uint16_t)) < 0) return -ENOMEM;
    outputs_cap = dbuf.cap_outputs;
    if (ensure((void **)&dbuf.out, &outputs_cap, b->n + 1, sizeof(struct score_result)) < 0) return -ENOMEM;
    dbuf.cap_outputs = outputs_cap;
    if (ensure((void **)&dbuf.cells, &dbuf.cap_cells, b->cells_len + 1, 1) < 0) return -ENOMEM;
    if (!dbuf.expected && cudaMalloc((void **)&dbuf.expected, 30 * 30) != cudaSuccess) return -ENOMEM;

    uint32_t exp_len = (uint32_t)b->exp_h * b->exp_w, exp_bits = 0;
    for (uint32_t k = 0; k < exp_len; k++) exp_bits |= score_colour_bit(b->exp_cells[k]);
    cudaMemcpy(dbuf.offset, b->offset, (b->n + 1) * sizeof(uint32_t), cudaMemcpyHostToDevice);
    cudaMemcpy(dbuf.dims, b->dims, b->n * 2 * sizeof(uint16_t), cudaMemcpyHostToDevice);
    if (b->cells_len) cudaMemcpy(dbuf.cells, b->cells, b->cells_len, cudaMemcpyHostToDevice);
    cudaMemcpy(dbuf.expected, b->exp_cells, exp_len ? exp_len : 1, cudaMemcpyHostToDevice);
    score_kernel<<<b->n, SCORE_THREADS>>>(dbuf.offset, dbuf.dims, dbuf.cells, dbuf.expected, b->exp_h,
                                          b->exp_w, exp_bits, b->n, dbuf.out);
    if (cudaMemcpy(out, dbuf.out, b->n * sizeof(struct score_result), cudaMemcpyDeviceToHost) != cudaSuccess) {
        cudaGetLastError();
        return -EIO;
    }
    return 0;
}
