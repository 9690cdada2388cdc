/* fuzz_task.c: libFuzzer target for task_parse() (common/task_json.c). Any bytes must give either a
 * task whose every grid is 1x1..30x30 with colours 0..9, or one error line "fuzz.json:L:C: reason".
 * Run: tools/run-fuzz.sh fuzz_task SECONDS */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_grid(const struct grid *g)
{
    if (g->h < 1 || g->h > GRID_MAX || g->w < 1 || g->w > GRID_MAX) abort();
    for (int i = 0; i < g->h * g->w; i++)
        if (g->cell[i] > 9) abort();
}

static void fuzz_check_task(const struct task *t)
{
    if (t->n_demo < 1 || !t->samples || strcmp(t->name, "fuzz") != 0) abort();
    for (int i = 0; i < t->n_demo + t->n_test; i++) {
        const struct sample *s = &t->samples[i];
        if (s->kind != (i < t->n_demo ? SAMPLE_DEMO : SAMPLE_TEST)) abort();
        if (s->index != (i < t->n_demo ? i : i - t->n_demo)) abort();
        if (s->kind == SAMPLE_DEMO && !s->has_output) abort();
        fuzz_check_grid(&s->input);
        if (s->has_output) fuzz_check_grid(&s->output);
    }
}

static void fuzz_check_error(const char *err)
{
    /* "fuzz.json:<line>:<col>: <reason>", one line */
    const char *p = err;
    if (strncmp(p, "fuzz.json:", 10) != 0) abort();
    p += 10;
    for (int field = 0; field < 2; field++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || *end != ':') abort();
        p = end + 1;
    }
    if (*p != ' ' || p[1] == 0 || strchr(err, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    struct task t;
    char err[512];
    int rc = task_parse("fuzz.json", text, size, &t, err, sizeof err);
    if (rc == 0) {
        fuzz_check_task(&t);
        task_release(&t);
    } else {
        if (rc != BF_EJSON && rc != BF_ETASK) abort();
        if (t.samples || t.path) abort();
        fuzz_check_error(err);
    }
    free(text);
    return 0;
}
