/* bench_score.c: the scoring step (worker/gpu/score.h), CPU against GPU, for batch sizes from 1 to
 * 100,000 outputs of random 1x1..30x30 grids (a third of them the expected shape), against a 30x30
 * expected grid. Prints a table (microseconds per batch, best of R runs) and the crossover: the
 * smallest batch size from which the GPU is faster. Without a device it prints the CPU column.
 *   battfarm-bench-score [--repeat R] [--max N] */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "score.h"

static uint64_t rng = 42;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33) % n;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double best_of(int repeat, const struct score_batch *b, struct score_result *out, enum score_device d)
{
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double t0 = now_us();
        if (score_batch_run(b, out, d) != 0) return -1;
        double t = now_us() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    int repeat = 5;
    uint32_t max = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) max = (uint32_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--repeat R] [--max N]\n", argv[0]);
            return 2;
        }
    }
    uint8_t exp[900], cells[900];
    for (int k = 0; k < 900; k++) exp[k] = (uint8_t)rnd(10);
    bool gpu = score_gpu_available();
    printf("scoring step: best of %d, expected grid 30x30, GPU: %s\n", repeat, score_gpu_name());
    printf("%10s %14s %14s %14s %10s\n", "outputs", "cpu us/batch", "gpu us/batch", "cpu ns/output", "gpu/cpu");
    uint32_t crossover = 0;
    struct score_result *out = malloc((size_t)max * sizeof *out);
    for (uint32_t n = 1; n <= max; n *= 10) {
        for (uint32_t step = 0; step < 2 && n * (step ? 3 : 1) <= max; step++) {
            uint32_t size = n * (step ? 3 : 1);
            struct score_batch b;
            score_batch_init(&b, &(struct score_grid){ 30, 30, exp });
            for (uint32_t i = 0; i < size; i++) {
                uint16_t h = (uint16_t)(rnd(3) == 0 ? 30 : 1 + rnd(30)), w = (uint16_t)(h == 30 ? 30 : 1 + rnd(30));
                for (int k = 0; k < h * w; k++) cells[k] = (uint8_t)rnd(10);
                score_batch_add(&b, &(struct score_grid){ h, w, cells });
            }
            double cpu = best_of(repeat, &b, out, SCORE_CPU);
            double g = gpu ? best_of(repeat, &b, out, SCORE_GPU) : -1;
            if (gpu && g >= 0 && g < cpu && !crossover) crossover = size;
            char gs[32] = "-", ratio[32] = "-";
            if (g >= 0) {
                snprintf(gs, sizeof gs, "%.1f", g);
                snprintf(ratio, sizeof ratio, "%.2f", g / cpu);
            }
            printf("%10u %14.1f %14s %14.1f %10s\n", size, cpu, gs, cpu * 1000.0 / size, ratio);
            score_batch_release(&b);
        }
    }
    if (gpu)
        printf("crossover: %s%u outputs (set BF_GPU_THRESHOLD or score_gpu_threshold to this)\n",
               crossover ? "" : "none up to ", crossover ? crossover : max);
    else
        printf("crossover: no CUDA device here; the GPU column needs one\n");
    free(out);
    return 0;
}
