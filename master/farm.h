/* farm.h: the farm engine: worker processes, jobs, deadlines, crash isolation (design.md 5-7).
 *
 * The master fork+execs one battfarm-worker per slot with a pipe pair on its stdin/stdout (a
 * remote slot fork+execs `ssh host worker --stdio` instead: the same frames over ssh's pipes) and
 * serves every pipe, signal and deadline from one poll() loop (no threads). Work is every
 * (task, sample, candidate) of a plan that is not already done; it is cut into jobs (task,
 * sample, a batch of candidates); each result comes back through a sink callback as soon as the
 * worker streams it.
 *
 * Lifecycle:
 *   struct farm_config cfg = FARM_CONFIG_INIT;  cfg.n_slots = ...; cfg.worker_path = ...;
 *   struct farm_plan plan = { tasks, dag, roots, n_cands, is_done, done_ctx, n_done, names };
 *   struct farm_sink sink = { ctx, on_result, on_flush };
 *   struct farm_stats st;
 *   int rc = farm_run(&cfg, &plan, &sink, &st);   FARM_DONE / FARM_INCOMPLETE / FARM_FAILED
 *
 * Guarantees: every unit of the plan gets at most one result through the sink; when farm_run
 * returns FARM_DONE, exactly one. A candidate whose worker dies while evaluating it is retried
 * alone (cfg.max_attempts in all) and then recorded as `crash` with the signal; one that passes
 * the hard deadline (soft limit + grace, counted from the start of that candidate) is recorded
 * as `timeout` at once. The rest of such a job is requeued. farm_run returns only after every
 * worker it started has been reaped.
 *
 * Signals while farm_run runs: the first SIGINT or SIGHUP drains (no new jobs; jobs already
 * sent finish), a second SIGINT or a SIGTERM stops at once (workers are killed; their unfinished
 * work gets no record). SIGPIPE is ignored for the whole process. */
#ifndef BF_FARM_H
#define BF_FARM_H

#include <stdio.h>

#include "compat.h"
#include "program.h"
#include "proto.h"
#include "task.h"

/* Where a slot runs (cfg.slot_specs). */
#define FARM_GPU_KEEP (-1)  /* leave CUDA_VISIBLE_DEVICES as it is */
#define FARM_GPU_NONE (-2)  /* CUDA_VISIBLE_DEVICES= (no GPU) */
struct farm_slot_spec {
    const char *host;           /* NULL: this machine (fork+exec); else the ssh destination */
    int gpu;                    /* CUDA_VISIBLE_DEVICES: a device >= 0, FARM_GPU_KEEP or FARM_GPU_NONE */
};

struct farm_config {
    int n_slots;                /* worker processes */
    const char *worker_path;    /* battfarm-worker (or a test build of it) */
    uint32_t timeout_ms;        /* soft limit per (candidate, sample), enforced by the worker */
    uint32_t grace_ms;          /* hard deadline = soft limit + grace, enforced by the master */
    uint32_t mem_mb;            /* evaluator memory cap per evaluation (msg_job.mem_mb) */
    uint32_t worker_mem_mb;     /* RLIMIT_AS of each worker (BF_MEM_CAP_MB); 0: the worker's default */
    uint32_t batch;             /* candidates per job; 0: chosen from the plan's size */
    uint32_t start_timeout_ms;  /* from fork to HELLO */
    int max_attempts;           /* dispatches of a candidate that keeps killing its worker */
    int max_start_failures;     /* failed starts in a row before a slot is given up */
    bool want_output;           /* ask workers for output grids (farm_result.grid) */
    bool progress;              /* progress line on stderr */
    const char *host;           /* "local" */
    const int *gpu_ids;         /* n_gpus > 0: slot i gets CUDA_VISIBLE_DEVICES=gpu_ids[i % n_gpus] */
    int n_gpus;                 /* 0: leave CUDA_VISIBLE_DEVICES alone; < 0: hide every GPU */
    /* Remote slots (--hosts). slot_specs: n_slots entries, which replace gpu_ids/n_gpus; NULL:
     * every slot local. A remote slot runs ssh_argv + "-o BatchMode=yes -T host 'env K=V...
     * remote_worker --stdio'": BF_SLOT, BF_MEM_CAP_MB and CUDA_VISIBLE_DEVICES travel on the
     * command line, as ssh passes no environment. Its worker's death and a lost connection are
     * alike: ssh exits, its pipes close, the slot is lost (a crash, requeued) and respawned. */
    const struct farm_slot_spec *slot_specs;
    char *const *ssh_argv;      /* the ssh command's words; [0] is a path (not looked up in PATH) */
    const char *remote_worker;  /* the worker's path on remote hosts (NULL: worker_path) */
};
#define FARM_CONFIG_INIT { 1, NULL, 1000, 2000, 1024, 0, 0, 10000, 2, 5, false, false, "local", NULL, 0, NULL, NULL, NULL }

/* What to evaluate: every candidate on every sample of every task, less what is_done says. */
struct farm_plan {
    const struct task_set *tasks;
    const struct dag *dag;      /* all candidates' expressions; roots index into it */
    const struct ref *roots;    /* candidate i's result in the DAG */
    uint32_t n_cands;
    /* NULL: nothing is done yet. Otherwise true for units already in the journal (resume). */
    bool (*is_done)(void *ctx, uint32_t task, uint32_t sample, uint32_t cand);
    void *done_ctx;
    uint64_t n_done;            /* how many units is_done accepts (for totals and the ETA) */
    const char *const *names;   /* candidate names for log messages (may be NULL) */
};

/* One record, as the journal needs it. Pointers are valid during the callback only. */
struct farm_result {
    uint32_t task, sample, cand;  /* indices into the plan */
    enum bf_status status;
    bool match, shape_match;
    uint32_t cells_right, cells_total;
    uint64_t cpu_us, wall_us;
    uint64_t out_hash;            /* behaviour hash of the output (msg_result.out_hash) */
    int slot;
    const char *host;             /* where it ran: cfg.host, or the slot's ssh host */
    int attempt;                  /* 1 + crashes of this unit's worker before */
    int signal;                   /* crash: the signal that killed the worker (0: it exited) */
    const char *msg;              /* "" or why (error text, timeout, crash cause) */
    bool has_grid;
    uint16_t out_h, out_w;
    const uint8_t *out_cells;
};

/* The callbacks return 0, or a negative code to stop scheduling (farm_run then drains and
 * returns FARM_FAILED): a journal that cannot be written must not lose results silently. */
struct farm_sink {
    void *ctx;
    int (*result)(void *ctx, const struct farm_result *r);
    int (*flush)(void *ctx);      /* end of a batch of results; also about once a second */
};

struct farm_stats {
    uint64_t total;               /* units planned (not counting plan->n_done) */
    uint64_t done;                /* results delivered */
    uint64_t by_status[ST_COUNT];
    uint64_t matches;             /* ok records whose output equals the expected grid */
    uint64_t jobs;                /* jobs completed */
    uint64_t spawns, respawns;    /* worker starts; of which after a death */
    uint64_t worker_deaths;       /* unexpected exits and kills */
    uint64_t hard_kills;          /* hard deadlines */
    int slots_given_up;
    double elapsed_s;
    double master_cpu_s;          /* the master's own cpu time during farm_run (dispatch cost) */
    double max_ready_ms;          /* longest time from noticing a death to the new HELLO */
    bool interrupted;             /* drained or stopped by a signal */
};

enum farm_outcome {
    FARM_DONE = 0,        /* every unit has its record */
    FARM_INCOMPLETE = 1,  /* interrupted, or every slot given up: some units have none */
    FARM_FAILED = 3,      /* the sink failed, or an internal error */
};

int farm_run(const struct farm_config *cfg, const struct farm_plan *plan, const struct farm_sink *sink,
             struct farm_stats *stats);

/* Prints the final summary block (counts, rate, respawns) on f. */
void farm_stats_print(const struct farm_stats *st, FILE *f);

#endif
