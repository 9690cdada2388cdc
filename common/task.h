/* task.h: ARC tasks (JSON files) as the rest of battfarm sees them.
 *
 * Lifecycle: struct task_set set = TASK_SET_INIT; task_set_load(&set, paths, n, stderr); ...;
 * task_set_release(&set). A malformed file is reported with one line "file:line:col: reason",
 * counted in set.n_rejected, and the other files still load. Only task_json.c sees cJSON. */
#ifndef BF_TASK_H
#define BF_TASK_H

#include <stdio.h>

#include "compat.h"

#define GRID_MAX 30 /* ARC grids are 1x1 to 30x30, colours 0 to 9 */

struct grid {
    uint8_t h, w;
    uint8_t cell[GRID_MAX * GRID_MAX]; /* row-major, h*w used */
};

static inline uint8_t grid_at(const struct grid *g, int i, int j) { return g->cell[i * g->w + j]; }

enum sample_kind { SAMPLE_DEMO, SAMPLE_TEST }; /* JSON "train" pairs are demos, "test" pairs tests */

struct sample {
    enum sample_kind kind;
    uint16_t index;      /* position within its kind */
    bool has_output;     /* false for a test input without "output" (prediction mode) */
    struct grid input;
    struct grid output;
};

struct task {
    char name[64];       /* file name without .json */
    char *path;
    uint16_t n_demo, n_test;
    struct sample *samples; /* the demos first, then the tests */
};

struct task_set {
    struct task *tasks;  /* sorted by name */
    size_t n, cap;
    size_t n_rejected;   /* files that failed to load */
};
#define TASK_SET_INIT { NULL, 0, 0, 0 }

/* Parses one task from memory. path is used for messages and task->name. On failure returns
 * BF_EJSON or BF_ETASK and writes "path:line:col: reason" into err. */
int task_parse(const char *path, const char *text, size_t len, struct task *out, char *err, size_t errlen);
/* Reads and parses one file (BF_EJSON/BF_ETASK/-errno on failure, err as above). */
int task_load_file(const char *path, struct task *out, char *err, size_t errlen);
void task_release(struct task *t);

/* Adds every task named by paths: a .json file, or a directory whose *.json files are read in
 * name order. Each failure prints one line to errs (may be NULL) and increments n_rejected.
 * Returns the number of tasks added, or a negative code when a path cannot be read at all. */
int task_set_load(struct task_set *set, char *const *paths, int npaths, FILE *errs);
const struct task *task_set_find(const struct task_set *set, const char *name);
void task_set_release(struct task_set *set);

const char *sample_kind_name(enum sample_kind k); /* "demo" / "test" */

#endif
