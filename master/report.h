/* report.h: one self-contained HTML page of a sweep: per task, the best candidates with their
 * scores and source, and the input, expected and produced grids of every sample drawn in the ARC
 * colours (the grids travel as JSON inside the page and are drawn on canvases by a few lines of
 * inline script: no file or network access, the page works offline).
 *
 * The caller fills report_task entries (usually from the journal, the scores and the store) and
 * calls report_write_html(); the file is written to a temporary name and renamed into place. */
#ifndef BF_REPORT_H
#define BF_REPORT_H

#include "compat.h"
#include "proto.h"
#include "task.h"

struct report_output {          /* one candidate on one sample */
    uint8_t status;             /* enum bf_status */
    bool match;
    bool has_grid;
    uint16_t h, w;
    uint8_t *cells;             /* h*w when has_grid (owned by whoever filled the entry) */
    char *text;                 /* error message or repr of a non-grid output; may be NULL */
};

struct report_candidate {
    const char *name;
    const char *hash;           /* 16 hex digits */
    const char *source;         /* program text; may be NULL */
    uint32_t demo_match, demo_total, test_match, test_total;
    double partial;             /* near-miss score in [0, 1] */
    uint64_t cpu_us;
    const struct report_output *out; /* one per sample of the task (demos first), or NULL */
};

struct report_task {
    const struct task *task;
    uint32_t n_candidates_scored; /* how many candidates ran on this task */
    const struct report_candidate *best; /* ranked, best first */
    uint32_t n_best;
};

/* Writes the page to path (atomically). summary is a short preformatted text shown on top. */
int report_write_html(const char *path, const char *title, const char *summary,
                      const struct report_task *tasks, size_t n_tasks);

#endif
