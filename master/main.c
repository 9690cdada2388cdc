/* main.c: battfarm, the master: the command line around the farm engine (farm.h) and the
 * journal (journal.h).
 *
 *   battfarm score [options] PROGRAM_FILE_OR_DIR... --tasks TASK_FILE_OR_DIR...
 *
 * Exit statuses (also in --help):
 *   0  everything scored: every (task, candidate, sample) has its record
 *   1  some work not done: interrupted, every slot given up, or the journal cannot be written
 *   2  usage error (bad options, nothing to read, an existing journal without --resume)
 *   3  internal error */
#include "compat.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"
#include "farm.h"
#include "journal.h"
#include "log.h"
#include "pile.h"
#include "pipeline.h"
#include "primtab.h"
#include "resume.h"
#include "task.h"

enum { EXIT_ALL_DONE = 0, EXIT_NOT_DONE = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

struct cli {
    struct farm_config farm;
    char **programs;
    int n_programs;
    char **tasks;
    int n_tasks;
    const char *out_dir;
    const char *store_dir;
    uint32_t keep;
    uint32_t top;
    bool no_store;
    bool report;
    bool own;
    const char *gpus;
    int gpu_ids[DEVICES_MAX];
    bool resume;
    int progress;          /* -1 auto (stderr is a terminal), 0 quiet, 1 on */
    char worker_buf[PATH_MAX + 64];
};

static void usage(FILE *f)
{
    fputs("usage: battfarm score [options] PROGRAM_FILE_OR_DIR... --tasks TASK_FILE_OR_DIR...\n"
          "       battfarm report [options] PROGRAM_FILE_OR_DIR... --tasks TASK_FILE_OR_DIR...\n"
          "       battfarm check PROGRAM_FILE_OR_DIR...        parse and statically check programs\n"
          "       battfarm run PROGRAM_FILE TASK_FILE_OR_DIR... one program, grids side by side\n"
          "                                                    (battfarm run --help)\n"
          "       battfarm prims [--json]                      the DSL's primitives and constants\n"
          "\n"
          "score: every candidate program on every demo and test sample of every task (or, with\n"
          "--own, each solve_<task> on its own task only), one worker process per GPU (per CPU core\n"
          "without GPUs). Writes DIR/results.jsonl (one JSON line per task, candidate and sample),\n"
          "DIR/scores.jsonl (one line per candidate and task, ranked), the best programs per task\n"
          "in DIR/store/<task>/<hash>.py, a summary on stdout, and with --report DIR/report.html.\n"
          "Tasks with a test input of unknown output also get DIR/submission.json (ARC Prize\n"
          "format, two attempts per test input from the best candidates by demo score).\n"
          "report: the same from an existing DIR/results.jsonl, without scoring again (only the\n"
          "best candidates of each task run again, to draw their outputs).\n"
          "\n"
          "options:\n"
          "  -j N             worker processes (default: one per GPU, else online CPU cores)\n"
          "  --gpus LIST      GPUs to use: 0,1 or 0-3, all (default), none; workers are spread\n"
          "                   over them round robin (CUDA_VISIBLE_DEVICES set per worker)\n"
          "  --own            each solve_<task> only on its own task\n"
          "  --timeout MS     soft limit per candidate and sample, in the worker (default 1000)\n"
          "  --grace MS       hard deadline = timeout + grace, in the master (default 2000,\n"
          "                   at least 100: workers hold results back up to 20 ms to batch them)\n"
          "  --mem MB         memory cap per evaluation (default 1024)\n"
          "  --worker-mem MB  address-space cap per worker process (default: the worker's)\n"
          "  --batch N        candidates per job (default: chosen from the size of the sweep)\n"
          "  --attempts N     dispatches of a candidate that keeps killing its worker (default 2)\n"
          "  --keep-output    record the output grids in the journal (\"out\")\n"
          "  --out DIR        output directory (default ./out)\n"
          "  --store DIR      the store of best programs (default DIR/store); --keep K per task\n"
          "                   (default 32); --no-store to skip it\n"
          "  --report         also write DIR/report.html; --top K candidates per task (default 3)\n"
          "  --resume         continue DIR/results.jsonl: schedule only what it lacks\n"
          "  --progress       progress line on stderr even when it is not a terminal\n"
          "  --quiet          no progress line\n"
          "  --worker PATH    the worker binary (default: battfarm-worker beside battfarm)\n"
          "  -v, --verbose    log more (also BF_LOG=ERR|WARN|NOTICE|INFO|DEBUG)\n"
          "  -h, --help       this text\n"
          "\n"
          "Signals: the first SIGINT or SIGHUP drains (nothing new starts, work in flight\n"
          "finishes, the journal is flushed); a second SIGINT or a SIGTERM stops at once.\n"
          "\n"
          "exit status: 0 everything scored; 1 some work not done (interrupted, workers given up,\n"
          "journal not writable); 2 usage error; 3 internal error\n",
          f);
}

static BF_NORETURN void usage_error(const char *fmt, ...) BF_PRINTF(1, 2);
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "battfarm: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(battfarm --help for usage)\n");
    va_end(ap);
    exit(EXIT_USAGE);
}

static uint32_t parse_u32(const char *opt, const char *v, uint32_t min, uint32_t max)
{
    char *end;
    errno = 0;
    unsigned long x = v ? strtoul(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < min || x > max) usage_error("bad value for %s", opt);
    return (uint32_t)x;
}

/* --opt=value, --opt value, -jN, -j N */
static const char *opt_value(int argc, char **argv, int *i, const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (arg[n] == '=') return arg + n + 1;
    if (arg[n] && name[1] != '-') return arg + n; /* -j4 */
    if (*i + 1 >= argc) usage_error("%s needs a value", name);
    return argv[++*i];
}

static bool opt_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=' || (name[1] != '-' && name[2] == 0));
}

static void find_default_worker(struct cli *c)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) usage_error("cannot find the battfarm executable (%s): pass --worker", strerror(errno));
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) *slash = 0;
    /* installed side by side; in a build tree master/ and worker/ are siblings */
    snprintf(c->worker_buf, sizeof c->worker_buf, "%s/battfarm-worker", self);
    if (access(c->worker_buf, X_OK) != 0)
        snprintf(c->worker_buf, sizeof c->worker_buf, "%s/../worker/battfarm-worker", self);
    if (access(c->worker_buf, X_OK) != 0)
        usage_error("battfarm-worker not found beside %s: pass --worker PATH", self);
    c->farm.worker_path = c->worker_buf;
}

static void parse_args(struct cli *c, int argc, char **argv)
{
    c->farm = (struct farm_config)FARM_CONFIG_INIT;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->farm.n_slots = cores > 0 ? (int)cores : 1;
    c->out_dir = "out";
    c->keep = 32;
    c->top = 3;
    bool jobs_given = false;
    c->progress = -1;
    c->programs = calloc((size_t)argc, sizeof *c->programs);
    c->tasks = calloc((size_t)argc, sizeof *c->tasks);
    if (!c->programs || !c->tasks) die("out of memory");
    bool in_tasks = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (in_tasks) c->tasks[c->n_tasks++] = argv[i];
            else c->programs[c->n_programs++] = argv[i];
            continue;
        }
        in_tasks = false;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        else if (!strcmp(a, "--tasks")) in_tasks = true;
        else if (opt_is(a, "-j")) {
            c->farm.n_slots = (int)parse_u32("-j", opt_value(argc, argv, &i, a, "-j"), 1, 4096);
            jobs_given = true;
        }
        else if (opt_is(a, "--gpus")) c->gpus = opt_value(argc, argv, &i, a, "--gpus");
        else if (!strcmp(a, "--own")) c->own = true;
        else if (opt_is(a, "--store")) c->store_dir = opt_value(argc, argv, &i, a, "--store");
        else if (opt_is(a, "--keep")) c->keep = parse_u32(a, opt_value(argc, argv, &i, a, "--keep"), 1, 100000);
        else if (!strcmp(a, "--no-store")) c->no_store = true;
        else if (!strcmp(a, "--report")) c->report = true;
        else if (opt_is(a, "--top")) c->top = parse_u32(a, opt_value(argc, argv, &i, a, "--top"), 1, 64);
        else if (opt_is(a, "--timeout")) c->farm.timeout_ms = parse_u32(a, opt_value(argc, argv, &i, a, "--timeout"), 1, 86400000);
        else if (opt_is(a, "--grace")) c->farm.grace_ms = parse_u32(a, opt_value(argc, argv, &i, a, "--grace"), 100, 86400000);
        else if (opt_is(a, "--mem")) c->farm.mem_mb = parse_u32(a, opt_value(argc, argv, &i, a, "--mem"), 1, 1u << 20);
        else if (opt_is(a, "--worker-mem")) c->farm.worker_mem_mb = parse_u32(a, opt_value(argc, argv, &i, a, "--worker-mem"), 16, 1u << 24);
        else if (opt_is(a, "--batch")) c->farm.batch = parse_u32(a, opt_value(argc, argv, &i, a, "--batch"), 1, PROTO_MAX_CANDS);
        else if (opt_is(a, "--attempts")) c->farm.max_attempts = (int)parse_u32(a, opt_value(argc, argv, &i, a, "--attempts"), 1, 100);
        else if (opt_is(a, "--out")) c->out_dir = opt_value(argc, argv, &i, a, "--out");
        else if (opt_is(a, "--worker")) c->farm.worker_path = opt_value(argc, argv, &i, a, "--worker");
        else if (!strcmp(a, "--resume")) c->resume = true;
        else if (!strcmp(a, "--keep-output")) c->farm.want_output = true;
        else if (!strcmp(a, "--progress")) c->progress = 1;
        else if (!strcmp(a, "--quiet")) c->progress = 0;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) bf_log_max = BF_LOG_INFO;
        else usage_error("unknown option %s", a);
    }
    if (!c->n_programs) usage_error("%s", "no program files given");
    if (!c->n_tasks) usage_error("%s", "no task files given (--tasks FILE_OR_DIR...)");
    if (!c->farm.worker_path) find_default_worker(c);
    else if (access(c->farm.worker_path, X_OK) != 0)
        usage_error("the worker %s is not an executable file", c->farm.worker_path);
    c->farm.progress = c->progress == 1 || (c->progress == -1 && isatty(STDERR_FILENO));
    /* GPUs: found without CUDA (the master never touches it); one worker per GPU by default */
    char err[160];
    int n_gpus = devices_parse_list(c->gpus ? c->gpus : "all", c->gpu_ids, DEVICES_MAX, err, sizeof err);
    if (n_gpus < 0) usage_error("--gpus: %s", err);
    c->farm.gpu_ids = c->gpu_ids;
    c->farm.n_gpus = n_gpus > 0 ? n_gpus : (c->gpus ? -1 : 0); /* --gpus none hides them all */
    if (n_gpus > 0 && !jobs_given) c->farm.n_slots = n_gpus;
}

/* ---- the run: journal as the farm's sink ---- */

struct run {
    const struct task_set *tasks;
    const struct pile *pile;
    uint8_t *own_valid;      /* --own: [task * n_valid + cand] may run; NULL: everything */
    uint8_t *own_invalid;    /* --own: [task * n_invalid + cand] */
    struct journal journal;
    struct doneset done;
    const char *host;
};

static void sample_name(const struct task *t, uint32_t sample, char *buf, size_t len)
{
    if (sample < t->n_demo) snprintf(buf, len, "demo/%u", sample);
    else snprintf(buf, len, "test/%u", sample - t->n_demo);
}

static int run_on_result(void *ctx, const struct farm_result *r)
{
    struct run *run = ctx;
    const struct task *t = &run->tasks->tasks[r->task];
    const struct cand *c = &run->pile->valid[r->cand];
    char sample[32], own_name[80];
    sample_name(t, r->sample, sample, sizeof sample);
    /* --own: the candidate runs here because a program named solve_<task> has its hash */
    if (run->own_valid) snprintf(own_name, sizeof own_name, "solve_%s", t->name);
    struct journal_entry e = {
        .task = t->name, .sample = sample, .cand = c->hex, .name = run->own_valid ? own_name : c->name, .file = c->file, .host = run->host,
        .msg = r->msg, .status = r->status, .match = r->match, .shape = r->shape_match, .right = r->cells_right,
        .total = r->cells_total, .cpu_us = r->cpu_us, .wall_us = r->wall_us, .out_hash = r->out_hash, .slot = r->slot,
        .attempt = r->attempt, .signal = r->signal, .has_grid = r->has_grid, .out_h = r->out_h,
        .out_w = r->out_w, .out_cells = r->out_cells,
    };
    return journal_append(&run->journal, &e);
}

static int run_on_flush(void *ctx)
{
    struct run *run = ctx;
    return journal_flush(&run->journal);
}

static bool run_is_done(void *ctx, uint32_t task, uint32_t sample, uint32_t cand)
{
    struct run *run = ctx;
    if (run->own_valid && !run->own_valid[(size_t)task * run->pile->n_valid + cand]) return true;
    return doneset_has(&run->done, unit_key(task, sample, cand, false));
}

/* --own: which (task, candidate) pairs run: those where a program named solve_<task> has the
 * candidate's hash. */
static int run_build_own(struct run *run)
{
    size_t nt = run->tasks->n, nv = run->pile->n_valid, ni = run->pile->n_invalid;
    run->own_valid = calloc(nt * nv + 1, 1);
    run->own_invalid = calloc(nt * ni + 1, 1);
    if (!run->own_valid || !run->own_invalid) return BF_ENOMEM;
    for (size_t f = 0; f < run->pile->n_files; f++) {
        const struct program_file *pf = &run->pile->files[f];
        for (size_t i = 0; i < pf->n; i++) {
            const struct program *p = &pf->progs[i];
            if (strncmp(p->name, "solve_", 6) != 0) continue;
            const struct task *t = task_set_find(run->tasks, p->name + 6);
            uint32_t idx;
            if (!t) continue;
            size_t ti = (size_t)(t - run->tasks->tasks);
            int kind = pile_find(run->pile, program_hash(p), &idx);
            if (kind > 0) run->own_valid[ti * nv + idx] = 1;
            else if (kind < 0) run->own_invalid[ti * ni + idx] = 1;
        }
    }
    return 0;
}

/* Units already done or (--own) not part of this run, for the farm's totals. */
static uint64_t run_count_done(const struct run *run)
{
    uint64_t n = 0;
    if (!run->own_valid) {
        for (uint64_t i = 0; run->done.keys && i <= run->done.mask; i++)
            if (run->done.keys[i] && !((run->done.keys[i] - 1) >> 40 & 1)) n++;
        return n;
    }
    for (uint32_t t = 0; t < run->tasks->n; t++) {
        uint32_t ns = (uint32_t)run->tasks->tasks[t].n_demo + run->tasks->tasks[t].n_test;
        for (uint32_t c = 0; c < run->pile->n_valid; c++) {
            if (!run->own_valid[(size_t)t * run->pile->n_valid + c]) {
                n += ns;
                continue;
            }
            for (uint32_t s = 0; s < ns; s++) n += doneset_has(&run->done, unit_key(t, s, c, false));
        }
    }
    return n;
}

/* Invalid candidates are never dispatched: one `invalid` record per sample, written here. */
static int run_write_invalid(struct run *run, uint64_t *written)
{
    for (size_t ti = 0; ti < run->tasks->n; ti++) {
        const struct task *t = &run->tasks->tasks[ti];
        for (uint32_t s = 0; s < (uint32_t)(t->n_demo + t->n_test); s++) {
            char sample[32];
            sample_name(t, s, sample, sizeof sample);
            for (uint32_t i = 0; i < run->pile->n_invalid; i++) {
                if (run->own_invalid && !run->own_invalid[ti * run->pile->n_invalid + i]) continue;
                if (doneset_has(&run->done, unit_key((uint32_t)ti, s, i, true))) continue;
                const struct cand *c = &run->pile->invalid[i];
                struct journal_entry e = {
                    .task = t->name, .sample = sample, .cand = c->hex, .name = c->name, .file = c->file,
                    .host = run->host, .msg = c->why, .status = ST_INVALID, .slot = -1, .attempt = 0,
                };
                int rc = journal_append(&run->journal, &e);
                if (rc < 0) return rc;
                (*written)++;
            }
        }
    }
    return journal_flush(&run->journal);
}

static int make_dir(const char *dir)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -errno;
    return 0;
}

static int load_inputs(struct cli *c, struct task_set *tasks, struct pile *pile)
{
    int n = task_set_load(tasks, c->tasks, c->n_tasks, stderr);
    if (n < 0 || tasks->n == 0) {
        log_err("no tasks loaded (%zu rejected)", tasks->n_rejected);
        return EXIT_USAGE;
    }
    if (pile_load(pile, c->programs, c->n_programs, stderr) < 0) return EXIT_USAGE;
    fprintf(stderr, "battfarm: %zu tasks; programs: %zu read, %u distinct valid, %u invalid, %zu rejected by the parser\n",
            tasks->n, pile->n_read, pile->n_valid, pile->n_invalid, pile->n_parse_errors);
    if (pile->n_valid + pile->n_invalid == 0) {
        log_err("no programs to score");
        return EXIT_USAGE;
    }
    return 0;
}

static int open_journal(struct cli *c, struct run *run, char *path, size_t pathlen)
{
    int rc = make_dir(c->out_dir);
    if (rc < 0) {
        log_err("cannot create %s: %s", c->out_dir, strerror(-rc));
        return EXIT_USAGE;
    }
    snprintf(path, pathlen, "%s/results.jsonl", c->out_dir);
    int64_t keep = -1;
    if (c->resume) {
        struct resume_info ri;
        rc = resume_load(path, run->tasks, run->pile, &run->done, &ri);
        if (rc < 0) return EXIT_INTERNAL;
        keep = ri.read.valid_len;
        fprintf(stderr, "battfarm: resuming %s: %llu records (%llu of this run, %llu malformed%s)\n", path,
                (unsigned long long)ri.read.records, (unsigned long long)ri.known,
                (unsigned long long)ri.read.malformed, ri.read.torn_tail ? ", torn last line ignored" : "");
    }
    rc = journal_open(&run->journal, path, keep);
    if (rc == BF_EUSAGE) return EXIT_USAGE;
    return rc < 0 ? EXIT_INTERNAL : 0;
}

/* After the farm (or for `report`): scores, store, summary, report, submission. */
static int run_pipeline(struct cli *c, struct run *run, const char *journal_path, bool scoring)
{
    struct pipeline pl;
    pipeline_init(&pl, run->tasks, run->pile);
    pl.own = run->own_valid;
    char path[PATH_MAX];
    int status = EXIT_ALL_DONE;
    if (pipeline_load_scores(&pl, journal_path) < 0) {
        status = EXIT_INTERNAL;
        goto out;
    }
    int stored = -1;
    if (scoring) {
        snprintf(path, sizeof path, "%s/scores.jsonl", c->out_dir);
        if (pipeline_write_scores(&pl, path) < 0) status = EXIT_NOT_DONE;
        if (!c->no_store) {
            char store[PATH_MAX];
            if (c->store_dir) snprintf(store, sizeof store, "%s", c->store_dir);
            else snprintf(store, sizeof store, "%s/store", c->out_dir);
            stored = pipeline_update_store(&pl, store, c->keep);
            if (stored < 0) status = EXIT_NOT_DONE;
        }
        pipeline_print_summary(&pl, stdout, stored);
    }
    bool predict = false;
    for (size_t t = 0; t < run->tasks->n; t++)
        for (uint32_t s = run->tasks->tasks[t].n_demo; s < (uint32_t)run->tasks->tasks[t].n_demo + run->tasks->tasks[t].n_test; s++)
            predict |= !run->tasks->tasks[t].samples[s].has_output;
    if (c->report || predict || !scoring) {
        uint32_t top = c->top > 8 ? c->top : 8; /* prediction looks further than the report */
        int outcome = pipeline_run_outputs(&pl, &c->farm, top);
        if (outcome != FARM_DONE) {
            log_err("the outputs pass did not finish: report and predictions are incomplete");
            status = EXIT_NOT_DONE;
        }
        if (c->report || !scoring) {
            snprintf(path, sizeof path, "%s/report.html", c->out_dir);
            if (pipeline_write_report(&pl, path, c->top) < 0) status = EXIT_NOT_DONE;
            else printf("  report      %s\n", path);
        }
        if (predict) {
            snprintf(path, sizeof path, "%s/submission.json", c->out_dir);
            int n = pipeline_write_submission(&pl, path);
            if (n < 0) status = EXIT_NOT_DONE;
            else printf("  predictions %s (%d tasks)\n", path, n);
        }
    }
out:
    pipeline_release(&pl);
    return status;
}

static int cmd_score(int argc, char **argv, bool scoring)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    parse_args(&c, argc, argv);
    struct task_set tasks = TASK_SET_INIT;
    struct pile pile = PILE_INIT;
    struct run run;
    memset(&run, 0, sizeof run);
    run.tasks = &tasks;
    run.pile = &pile;
    run.host = c.farm.host;
    char path[PATH_MAX];
    int status = load_inputs(&c, &tasks, &pile);
    if (status == 0 && c.own && run_build_own(&run) < 0) status = EXIT_INTERNAL;
    if (status != 0) goto out;
    if (!scoring) {
        snprintf(path, sizeof path, "%s/results.jsonl", c.out_dir);
        if (access(path, R_OK) != 0) {
            log_err("cannot read %s: %s (run battfarm score first)", path, strerror(errno));
            status = EXIT_USAGE;
            goto out;
        }
        status = run_pipeline(&c, &run, path, false);
        goto out;
    }
    status = open_journal(&c, &run, path, sizeof path);
    if (status != 0) goto out;
    uint64_t invalid_written = 0;
    if (run_write_invalid(&run, &invalid_written) < 0) {
        status = EXIT_NOT_DONE;
        journal_close(&run.journal);
        goto out;
    }
    struct farm_plan plan = {
        .tasks = &tasks, .dag = &pile.dag, .roots = pile.roots, .n_cands = pile.n_valid,
        .is_done = run.done.n || run.own_valid ? run_is_done : NULL, .done_ctx = &run,
        .n_done = run_count_done(&run), .names = pile.names,
    };
    struct farm_sink sink = { &run, run_on_result, run_on_flush };
    struct farm_stats st;
    int outcome = farm_run(&c.farm, &plan, &sink, &st);
    int jrc = journal_close(&run.journal);
    farm_stats_print(&st, stderr);
    if (invalid_written) fprintf(stderr, "  invalid: %llu records written without dispatch\n", (unsigned long long)invalid_written);
    fprintf(stderr, "  journal: %s\n", path);
    if (outcome == FARM_FAILED) status = EXIT_INTERNAL;
    else if (outcome == FARM_INCOMPLETE || jrc < 0) status = EXIT_NOT_DONE;
    else status = EXIT_ALL_DONE;
    /* scores and the store from what the journal holds, also after an interruption */
    if (status != EXIT_INTERNAL && !st.interrupted) {
        int prc = run_pipeline(&c, &run, path, true);
        if (prc > status) status = prc;
    }
out:
    free(run.own_valid);
    free(run.own_invalid);
    doneset_release(&run.done);
    pile_release(&pile);
    task_set_release(&tasks);
    free(c.programs);
    free(c.tasks);
    return status;
}

/* battfarm check: every definition parsed and statically checked, errors as file:line:col. */
static int cmd_check(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: battfarm check PROGRAM_FILE_OR_DIR...\n");
        return EXIT_USAGE;
    }
    struct pile pile = PILE_INIT;
    if (pile_load(&pile, argv + 2, argc - 2, stdout) < 0) {
        pile_release(&pile);
        return EXIT_USAGE;
    }
    for (uint32_t i = 0; i < pile.n_invalid; i++) printf("%s\n", pile.invalid[i].why);
    printf("%zu programs read: %u distinct valid, %u invalid, %zu rejected by the parser, %zu files unreadable\n",
           pile.n_read, pile.n_valid, pile.n_invalid, pile.n_parse_errors, pile.n_unreadable);
    int status = pile.n_invalid || pile.n_parse_errors || pile.n_unreadable ? EXIT_NOT_DONE : EXIT_ALL_DONE;
    pile_release(&pile);
    return status;
}

/* battfarm prims: the documentation generated from the one table (common/prims.def). */
static void json_text(const char *t)
{
    putchar('"');
    for (; *t; t++) {
        if (*t == '"' || *t == '\\') putchar('\\');
        putchar(*t);
    }
    putchar('"');
}

static void md_cell(const char *t)
{
    for (; *t; t++) {
        if (*t == '|') putchar('\\');
        putchar(*t);
    }
}

static int cmd_prims(int argc, char **argv)
{
    bool json = argc > 2 && !strcmp(argv[2], "--json");
    if (argc > 2 && !json) {
        fprintf(stderr, "usage: battfarm prims [--json]\n");
        return EXIT_USAGE;
    }
    if (json) {
        printf("{\"primitives\":[");
        for (int i = 0; i < PRIM_COUNT; i++) {
            const struct prim_info *p = &prim_table[i];
            printf("%s{\"name\":", i ? ",\n" : "\n");
            json_text(p->name);
            printf(",\"arity\":%u,\"returns\":", p->arity);
            json_text(p->ret);
            printf(",\"args\":");
            json_text(p->args);
            printf(",\"doc\":");
            json_text(p->doc);
            putchar('}');
        }
        printf("],\n\"constants\":[");
        for (int i = 0; i < CONST_COUNT; i++) {
            const struct const_info *c = &const_table[i];
            printf("%s{\"name\":\"%s\",\"value\":", i ? "," : "", c->name);
            if (c->kind == CK_BOOL) printf("%s", c->a ? "true" : "false");
            else if (c->kind == CK_INT) printf("%d", c->a);
            else printf("[%d,%d]", c->a, c->b);
            putchar('}');
        }
        printf("]}\n");
        return 0;
    }
    printf("| primitive | arguments | returns | what it does |\n| --- | --- | --- | --- |\n");
    for (int i = 0; i < PRIM_COUNT; i++) {
        const struct prim_info *p = &prim_table[i];
        printf("| `%s` | %s | %s | ", p->name, p->args, p->ret);
        md_cell(p->doc);
        printf(" |\n");
    }
    printf("\n| constant | value |\n| --- | --- |\n");
    for (int i = 0; i < CONST_COUNT; i++) {
        const struct const_info *c = &const_table[i];
        if (c->kind == CK_BOOL) printf("| `%s` | %s |\n", c->name, c->a ? "True" : "False");
        else if (c->kind == CK_INT) printf("| `%s` | %d |\n", c->name, c->a);
        else printf("| `%s` | (%d, %d) |\n", c->name, c->a, c->b);
    }
    return 0;
}

/* battfarm run: the worker's `run` command (the DSL lives in the worker, never in the master). */
static int cmd_run(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    find_default_worker(&c);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) die("out of memory");
    args[0] = c.worker_buf; /* find_default_worker filled it */
    for (int i = 1; i < argc; i++) args[i] = argv[i]; /* "run" and its arguments */
    execv(c.farm.worker_path, args);
    log_err("cannot run %s: %s", c.farm.worker_path, strerror(errno));
    return EXIT_INTERNAL;
}

int main(int argc, char **argv)
{
    log_init("M");
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("battfarm 0.1.0 (protocol %d)\n", PROTO_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "score")) return cmd_score(argc, argv, true);
    if (!strcmp(argv[1], "report")) return cmd_score(argc, argv, false);
    if (!strcmp(argv[1], "check")) return cmd_check(argc, argv);
    if (!strcmp(argv[1], "run")) return cmd_run(argc, argv);
    if (!strcmp(argv[1], "prims")) return cmd_prims(argc, argv);
    fprintf(stderr, "battfarm: unknown command '%s' (battfarm --help for usage)\n", argv[1]);
    return EXIT_USAGE;
}
