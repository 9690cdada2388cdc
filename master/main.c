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
#include "hosts.h"
#include "journal.h"
#include "log.h"
#include "pile.h"
#include "pipeline.h"
#include "primtab.h"
#include "resume.h"
#include "shard.h"
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
    struct shard shard;    /* --shard K/N; n == 0: the whole run */
    bool merge;            /* battfarm merge: the positional arguments are shard directories */
    char **shard_dirs;
    int n_shard_dirs;
    bool out_given;
    const char *hosts_path;   /* --hosts FILE */
    const char *ssh_cmd;      /* --ssh CMD, else $BF_SSH, else "ssh" */
    const char *remote_worker;
    struct hosts hosts;
    struct farm_slot_spec *specs;
    char **ssh_argv;
    char remote_worker_buf[PATH_MAX];
};

static void cli_release(struct cli *c)
{
    free(c->programs);
    free(c->tasks);
    free(c->shard_dirs);
    hosts_release(&c->hosts);
    free(c->specs);
    for (size_t i = 0; c->ssh_argv && c->ssh_argv[i]; i++) free(c->ssh_argv[i]);
    free(c->ssh_argv);
}

static void usage(FILE *f)
{
    fputs("usage: battfarm score [options] PROGRAM_FILE_OR_DIR... --tasks TASK_FILE_OR_DIR...\n"
          "       battfarm report [options] PROGRAM_FILE_OR_DIR... --tasks TASK_FILE_OR_DIR...\n"
          "       battfarm merge --out DIR [options] SHARD_DIR... [--programs PATH...] [--tasks PATH...]\n"
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
          "merge: the shards of one run (score --shard K/N, every K once) into DIR, as one\n"
          "unsharded run would have made it: results.jsonl (each record once), scores, store,\n"
          "summary, report and predictions. Programs and tasks are read again from the paths in\n"
          "the shards' shard.txt, or from --programs/--tasks; the options that change results\n"
          "come from shard.txt. Shards of different runs, a missing or repeated K are refused.\n"
          "\n",
          f);
    /* two strings: C11 compilers need only take 4095 characters in one */
    fputs("options:\n"
          "  -j N             worker processes (default: online CPU cores, at least one per GPU)\n"
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
          "  --shard K/N      score only shard K of N: the (task, candidate) pairs whose hash\n"
          "                   falls in K (the same on any machine, for any -j or file order);\n"
          "                   writes DIR/shard.txt, the journal, scores and summary; no store,\n"
          "                   report or predictions: battfarm merge makes those\n"
          "  --progress       progress line on stderr even when it is not a terminal\n"
          "  --quiet          no progress line\n"
          "  --worker PATH    the worker binary (default: battfarm-worker beside battfarm)\n"
          "  --hosts FILE     the slots, one line [N/]host each (N slots, default 1; # comments):\n"
          "                   a remote host's workers run through ssh, `local` is this machine;\n"
          "                   replaces -j. A lost connection is a crash of that slot (requeued)\n"
          "  --ssh CMD        the ssh command, split at blanks (default $BF_SSH, else ssh); it\n"
          "                   gets -o BatchMode=yes -T HOST\n"
          "                   'env BF_SLOT=.. WORKER --stdio --watchdog 2*GRACE': the remote\n"
          "                   worker kills itself past the hard deadline (ssh cannot reach it)\n"
          "  --remote-worker PATH  the worker on remote hosts (default: the local worker's\n"
          "                   absolute path)\n"
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

/* Options that decide results: a merge takes them from the shards' manifests, never from its
 * own command line (shard.h). */
static bool opt_is_shards_own(const char *a)
{
    static const char *const names[] = { "--own", "--timeout", "--grace", "--mem", "--worker-mem", "--attempts",
                                         "--keep-output", "--resume", "--shard", "--keep", "--top" };
    for (size_t i = 0; i < BF_ARRAY_LEN(names); i++)
        if (opt_is(a, names[i])) return true;
    return false;
}

/* --ssh CMD: split at blanks (no quoting); its first word is looked up in PATH here, so that the
 * child between fork and exec only calls execve. */
static void cli_setup_ssh(struct cli *c)
{
    const char *cmd = c->ssh_cmd ? c->ssh_cmd : getenv("BF_SSH");
    if (!cmd || !*cmd) cmd = "ssh";
    char *copy = strdup(cmd);
    c->ssh_argv = calloc(strlen(cmd) / 2 + 2, sizeof *c->ssh_argv);
    if (!copy || !c->ssh_argv) die("out of memory");
    size_t n = 0;
    for (char *w = strtok(copy, " \t"); w; w = strtok(NULL, " \t"))
        if (!(c->ssh_argv[n++] = strdup(w))) die("out of memory");
    free(copy);
    if (!n) usage_error("%s", "--ssh: an empty command");
    if (strchr(c->ssh_argv[0], '/')) {
        if (access(c->ssh_argv[0], X_OK) != 0) usage_error("--ssh: %s is not an executable file", c->ssh_argv[0]);
        return;
    }
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, c->ssh_argv[0]);
        if (len && access(buf, X_OK) == 0) {
            free(c->ssh_argv[0]);
            if (!(c->ssh_argv[0] = strdup(buf))) die("out of memory");
            return;
        }
        p += len + (p[len] == ':');
    }
    usage_error("--ssh: %s not found in PATH", c->ssh_argv[0]);
}

/* --hosts FILE: one slot per host and count, in file order; `local` slots fork+exec as without
 * --hosts (GPUs round robin over --gpus among them). A remote slot leaves its host's GPUs
 * alone unless --gpus names devices (then the i-th slot of a line gets the i-th, round robin)
 * or says none. -j would say the same thing twice: refused. */
static void cli_setup_hosts(struct cli *c, bool jobs_given)
{
    if (jobs_given) usage_error("-j and --hosts exclude each other (this machine's slots: a line N/local in %s)",
                                c->hosts_path);
    char err[PATH_MAX + 300];
    if (hosts_load(c->hosts_path, &c->hosts, err, sizeof err) < 0) usage_error("--hosts: %s", err);
    c->specs = calloc(c->hosts.slots, sizeof *c->specs);
    if (!c->specs) die("out of memory");
    const struct farm_config *fc = &c->farm;
    bool remote_gpus = c->gpus && strcmp(c->gpus, "all") != 0;
    int local = 0;
    bool any_remote = false;
    size_t k = 0;
    for (size_t h = 0; h < c->hosts.n; h++) {
        const struct host_entry *e = &c->hosts.v[h];
        for (uint32_t j = 0; j < e->slots; j++) {
            struct farm_slot_spec *sp = &c->specs[k++];
            if (hosts_is_local(e->name)) {
                sp->host = NULL;
                sp->gpu = fc->n_gpus > 0 ? fc->gpu_ids[local % fc->n_gpus] : fc->n_gpus < 0 ? FARM_GPU_NONE : FARM_GPU_KEEP;
                local++;
            } else {
                sp->host = e->name;
                sp->gpu = !remote_gpus ? FARM_GPU_KEEP : fc->n_gpus > 0 ? fc->gpu_ids[j % fc->n_gpus] : FARM_GPU_NONE;
                any_remote = true;
            }
        }
    }
    c->farm.slot_specs = c->specs;
    c->farm.n_slots = (int)c->hosts.slots;
    if (!any_remote) return;
    cli_setup_ssh(c);
    c->farm.ssh_argv = c->ssh_argv;
    /* the same absolute path as here, unless told otherwise */
    if (c->remote_worker) c->farm.remote_worker = c->remote_worker;
    else if (realpath(c->farm.worker_path, c->remote_worker_buf)) c->farm.remote_worker = c->remote_worker_buf;
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
    c->shard_dirs = calloc((size_t)argc, sizeof *c->shard_dirs);
    if (!c->programs || !c->tasks || !c->shard_dirs) die("out of memory");
    enum { POS_DEFAULT, POS_TASKS, POS_PROGRAMS } pos = POS_DEFAULT;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (pos == POS_TASKS) c->tasks[c->n_tasks++] = argv[i];
            else if (pos == POS_PROGRAMS || !c->merge) c->programs[c->n_programs++] = argv[i];
            else c->shard_dirs[c->n_shard_dirs++] = argv[i];
            continue;
        }
        pos = POS_DEFAULT;
        if (c->merge && opt_is_shards_own(a))
            usage_error("merge: %s comes from the shards (their shard.txt), not from the merge", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        else if (!strcmp(a, "--tasks")) pos = POS_TASKS;
        else if (c->merge && !strcmp(a, "--programs")) pos = POS_PROGRAMS;
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
        else if (opt_is(a, "--out")) { c->out_dir = opt_value(argc, argv, &i, a, "--out"); c->out_given = true; }
        else if (opt_is(a, "--worker")) c->farm.worker_path = opt_value(argc, argv, &i, a, "--worker");
        else if (opt_is(a, "--hosts")) c->hosts_path = opt_value(argc, argv, &i, a, "--hosts");
        else if (opt_is(a, "--ssh")) c->ssh_cmd = opt_value(argc, argv, &i, a, "--ssh");
        else if (opt_is(a, "--remote-worker")) c->remote_worker = opt_value(argc, argv, &i, a, "--remote-worker");
        else if (!strcmp(a, "--resume")) c->resume = true;
        else if (opt_is(a, "--shard")) {
            const char *v = opt_value(argc, argv, &i, a, "--shard");
            if (shard_parse(v, &c->shard) < 0) usage_error("bad value for --shard: %s (expected K/N, 1 <= K <= N)", v);
        }
        else if (!strcmp(a, "--keep-output")) c->farm.want_output = true;
        else if (!strcmp(a, "--progress")) c->progress = 1;
        else if (!strcmp(a, "--quiet")) c->progress = 0;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) bf_log_max = BF_LOG_INFO;
        else usage_error("unknown option %s", a);
    }
    if (c->merge) {
        if (!c->n_shard_dirs) usage_error("%s", "merge: no shard directories given");
        if (!c->out_given) usage_error("%s", "merge: --out DIR is required (where the merged results go)");
    } else {
        if (!c->n_programs) usage_error("%s", "no program files given");
        if (!c->n_tasks) usage_error("%s", "no task files given (--tasks FILE_OR_DIR...)");
    }
    if (!c->farm.worker_path) find_default_worker(c);
    else if (access(c->farm.worker_path, X_OK) != 0)
        usage_error("the worker %s is not an executable file", c->farm.worker_path);
    c->farm.progress = c->progress == 1 || (c->progress == -1 && isatty(STDERR_FILENO));
    /* GPUs: found without CUDA (the master never touches it). By default one worker per online
     * CPU core, at least one per GPU, spread over the GPUs round robin: the DSL runs on the CPU
     * and the GPU only scores batches of outputs, so one worker per GPU (the first design) left
     * 15 of the 16 cores of a one-GPU machine idle (arc-dsl's sweep there: 50.2 s against 4.9 s
     * with 16 workers; session 33). */
    char err[160];
    int n_gpus = devices_parse_list(c->gpus ? c->gpus : "all", c->gpu_ids, DEVICES_MAX, err, sizeof err);
    if (n_gpus < 0) usage_error("--gpus: %s", err);
    c->farm.gpu_ids = c->gpu_ids;
    c->farm.n_gpus = n_gpus > 0 ? n_gpus : (c->gpus ? -1 : 0); /* --gpus none hides them all */
    if (n_gpus > 0 && !jobs_given && c->farm.n_slots < n_gpus) c->farm.n_slots = n_gpus;
    if (c->hosts_path) cli_setup_hosts(c, jobs_given);
    else if (c->ssh_cmd || c->remote_worker) usage_error("%s", "--ssh and --remote-worker need --hosts");
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
    struct shard shard;      /* --shard: the pairs this run scores (n == 0: all) */
    uint64_t *task_keys;     /* per task: shard_task_key(name) */
    /* A new journal's records, scored as they are appended (perf: reading 671,738 records back
     * took 0.7 s at the end of the arc-dsl sweep, when the workers have nothing left to do);
     * NULL with --resume, or once a record could not be added: then the journal is read. */
    struct pipeline *live;
};

static void run_drop_live(struct run *run)
{
    if (run->live) pipeline_release(run->live);
    run->live = NULL;
}

/* Scores the record just appended to the journal; on failure the journal is read at the end. */
static void run_score_live(struct run *run, uint32_t task, bool invalid, uint32_t cand, const struct journal_entry *e)
{
    if (run->live && pipeline_add_result(run->live, task, invalid, cand, e) < 0) run_drop_live(run);
}

/* Whether this run scores the pair (task, candidate): --own and --shard decide. */
static bool run_wants(const struct run *run, uint32_t task, uint32_t cand, bool invalid)
{
    const struct pile *p = run->pile;
    if (invalid ? run->own_invalid && !run->own_invalid[(size_t)task * p->n_invalid + cand]
                : run->own_valid && !run->own_valid[(size_t)task * p->n_valid + cand])
        return false;
    if (!run->shard.n) return true;
    return shard_has(&run->shard, run->task_keys[task], invalid ? p->invalid[cand].hash : p->valid[cand].hash);
}

static int run_init_shard(struct run *run, const struct shard *sh)
{
    run->shard = *sh;
    run->task_keys = calloc(run->tasks->n + 1, sizeof *run->task_keys);
    if (!run->task_keys) return BF_ENOMEM;
    for (size_t t = 0; t < run->tasks->n; t++) run->task_keys[t] = shard_task_key(run->tasks->tasks[t].name);
    return 0;
}

/* "demo/K" or "test/K" (perf: once per result; snprintf was 0.15% of a sweep's CPU) */
static void sample_name(const struct task *t, uint32_t sample, char *buf, size_t len)
{
    bool demo = sample < t->n_demo;
    uint32_t k = demo ? sample : sample - t->n_demo;
    if (k < 10 && len >= 7) {
        memcpy(buf, demo ? "demo/" : "test/", 5);
        buf[5] = (char)('0' + k);
        buf[6] = '\0';
        return;
    }
    snprintf(buf, len, demo ? "demo/%u" : "test/%u", k);
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
        .task = t->name, .sample = sample, .cand = c->hex, .name = run->own_valid ? own_name : c->name, .file = c->file, .host = r->host,
        .msg = r->msg, .status = r->status, .match = r->match, .shape = r->shape_match, .right = r->cells_right,
        .total = r->cells_total, .cpu_us = r->cpu_us, .wall_us = r->wall_us, .out_hash = r->out_hash, .slot = r->slot,
        .attempt = r->attempt, .signal = r->signal, .has_grid = r->has_grid, .out_h = r->out_h,
        .out_w = r->out_w, .out_cells = r->out_cells,
    };
    int rc = journal_append(&run->journal, &e);
    if (rc >= 0) run_score_live(run, r->task, false, r->cand, &e);
    return rc;
}

static int run_on_flush(void *ctx)
{
    struct run *run = ctx;
    return journal_flush(&run->journal);
}

static bool run_is_done(void *ctx, uint32_t task, uint32_t sample, uint32_t cand)
{
    struct run *run = ctx;
    if (!run_wants(run, task, cand, false)) return true;
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

/* Units already done or (--own, --shard) not part of this run, for the farm's totals. */
static uint64_t run_count_done(const struct run *run)
{
    uint64_t n = 0;
    if (!run->own_valid && !run->shard.n) {
        for (uint64_t i = 0; run->done.keys && i <= run->done.mask; i++)
            if (run->done.keys[i] && !((run->done.keys[i] - 1) >> 40 & 1)) n++;
        return n;
    }
    for (uint32_t t = 0; t < run->tasks->n; t++) {
        uint32_t ns = (uint32_t)run->tasks->tasks[t].n_demo + run->tasks->tasks[t].n_test;
        for (uint32_t c = 0; c < run->pile->n_valid; c++) {
            if (!run_wants(run, t, c, false)) {
                n += ns;
                continue;
            }
            for (uint32_t s = 0; run->done.n && s < ns; s++) n += doneset_has(&run->done, unit_key(t, s, c, false));
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
                if (!run_wants(run, (uint32_t)ti, i, true)) continue;
                if (doneset_has(&run->done, unit_key((uint32_t)ti, s, i, true))) continue;
                const struct cand *c = &run->pile->invalid[i];
                struct journal_entry e = {
                    .task = t->name, .sample = sample, .cand = c->hex, .name = c->name, .file = c->file,
                    .host = run->host, .msg = c->why, .status = ST_INVALID, .slot = -1, .attempt = 0,
                };
                int rc = journal_append(&run->journal, &e);
                if (rc < 0) return rc;
                run_score_live(run, (uint32_t)ti, true, i, &e);
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

/* A run over c's tasks and candidate pile, both loaded here; returns load_inputs' status. */
static int run_setup(struct cli *c, struct run *run, struct task_set *tasks, struct pile *pile)
{
    memset(run, 0, sizeof *run);
    run->tasks = tasks;
    run->pile = pile;
    run->host = c->farm.host;
    return load_inputs(c, tasks, pile);
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

/* The options a shard records in its manifest, and a merge takes back (shard.h). */
static void cli_shard_options(const struct cli *c, struct shard_options *o)
{
    *o = (struct shard_options){
        .own = c->own, .keep_output = c->farm.want_output, .timeout_ms = c->farm.timeout_ms,
        .grace_ms = c->farm.grace_ms, .mem_mb = c->farm.mem_mb, .worker_mem_mb = c->farm.worker_mem_mb,
        .attempts = (uint32_t)c->farm.max_attempts, .report = c->report, .store = !c->no_store, .top = c->top,
        .keep = c->keep,
    };
}

static void cli_take_shard_options(struct cli *c, const struct shard_options *o)
{
    c->own = o->own;
    c->farm.want_output = o->keep_output;
    c->farm.timeout_ms = o->timeout_ms;
    c->farm.grace_ms = o->grace_ms;
    c->farm.mem_mb = o->mem_mb;
    c->farm.worker_mem_mb = o->worker_mem_mb;
    c->farm.max_attempts = (int)o->attempts;
    c->report |= o->report;       /* merge --report adds one */
    c->no_store |= !o->store;     /* merge --no-store skips it */
    c->top = o->top;
    c->keep = o->keep;
}

/* --shard: DIR/shard.txt says which run this shard is part of; a resumed shard must be the same
 * shard of the same run. */
static int shard_write_manifest(const struct cli *c, const struct run *run)
{
    struct shard_options o;
    cli_shard_options(c, &o);
    struct shard_manifest m, old = SHARD_MANIFEST_INIT;
    char path[PATH_MAX], err[PATH_MAX + 100];
    snprintf(path, sizeof path, "%s/%s", c->out_dir, SHARD_MANIFEST);
    int rc = shard_manifest_make(&m, &c->shard, run->pile, run->tasks, &o, c->programs, c->n_programs, c->tasks,
                                 c->n_tasks);
    if (rc == 0 && c->resume) {
        int r = shard_manifest_read(path, &old, err, sizeof err);
        const char *why = r == 0 ? shard_manifest_differs(&old, &m) : NULL;
        if (why) {
            log_err("%s: this directory holds a shard of a run with %s: not resumed", path, why);
            rc = BF_EUSAGE;
        } else if (r == 0 && old.shard.k != m.shard.k) {
            log_err("%s: this directory holds shard %u/%u, not %u/%u: not resumed", path, old.shard.k, old.shard.n,
                    m.shard.k, m.shard.n);
            rc = BF_EUSAGE;
        } else if (r < 0 && r != -ENOENT) {
            log_err("%s", err);
            rc = BF_EUSAGE;
        }
    }
    if (rc == 0) rc = shard_manifest_write(path, &m);
    shard_manifest_release(&old);
    shard_manifest_release(&m);
    return rc;
}

/* After the farm (or for `report`): scores, store, summary, report, submission. A shard makes
 * only its scores and summary: the store, the report and the predictions need every shard's
 * results, and come from `battfarm merge`. */
static int run_pipeline(struct cli *c, struct run *run, const char *journal_path, bool scoring)
{
    struct pipeline read, *pl = run->live ? run->live : &read;
    char path[PATH_MAX];
    int status = EXIT_ALL_DONE;
    if (run->live) {
        run->live = NULL; /* pl is released here */
        if (pipeline_rank(pl) < 0) {
            status = EXIT_INTERNAL;
            goto out;
        }
    } else {
        pipeline_init(pl, run->tasks, run->pile);
        pl->own = run->own_valid;
        if (pipeline_load_scores(pl, journal_path) < 0) {
            status = EXIT_INTERNAL;
            goto out;
        }
    }
    int stored = -1;
    if (scoring) {
        snprintf(path, sizeof path, "%s/scores.jsonl", c->out_dir);
        if (pipeline_write_scores(pl, path) < 0) status = EXIT_NOT_DONE;
        if (!c->no_store && !c->shard.n) {
            char store[PATH_MAX];
            if (c->store_dir) snprintf(store, sizeof store, "%s", c->store_dir);
            else snprintf(store, sizeof store, "%s/store", c->out_dir);
            stored = pipeline_update_store(pl, store, c->keep);
            if (stored < 0) status = EXIT_NOT_DONE;
        }
        pipeline_print_summary(pl, stdout, stored);
        if (c->shard.n) {
            printf("  shard       %u/%u: the store, report and predictions come from battfarm merge\n", c->shard.k,
                   c->shard.n);
            goto out;
        }
    }
    bool predict = false;
    for (size_t t = 0; t < run->tasks->n; t++)
        for (uint32_t s = run->tasks->tasks[t].n_demo; s < (uint32_t)run->tasks->tasks[t].n_demo + run->tasks->tasks[t].n_test; s++)
            predict |= !run->tasks->tasks[t].samples[s].has_output;
    if (c->report || predict || !scoring) {
        uint32_t top = c->top > 8 ? c->top : 8; /* prediction looks further than the report */
        int outcome = pipeline_run_outputs(pl, &c->farm, top);
        if (outcome != FARM_DONE) {
            log_err("the outputs pass did not finish: report and predictions are incomplete");
            status = EXIT_NOT_DONE;
        }
        if (c->report || !scoring) {
            snprintf(path, sizeof path, "%s/report.html", c->out_dir);
            if (pipeline_write_report(pl, path, c->top) < 0) status = EXIT_NOT_DONE;
            else printf("  report      %s\n", path);
        }
        if (predict) {
            snprintf(path, sizeof path, "%s/submission.json", c->out_dir);
            int n = pipeline_write_submission(pl, path);
            if (n < 0) status = EXIT_NOT_DONE;
            else printf("  predictions %s (%d tasks)\n", path, n);
        }
    }
out:
    pipeline_release(pl);
    return status;
}

static int cmd_score(int argc, char **argv, bool scoring)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    parse_args(&c, argc, argv);
    if (!scoring && c.shard.n) usage_error("%s", "report: --shard does not apply (merge the shards first)");
    struct task_set tasks = TASK_SET_INIT;
    struct pile pile = PILE_INIT;
    struct run run;
    char path[PATH_MAX];
    int status = run_setup(&c, &run, &tasks, &pile);
    if (status == 0 && c.own && run_build_own(&run) < 0) status = EXIT_INTERNAL;
    if (status == 0 && run_init_shard(&run, &c.shard) < 0) status = EXIT_INTERNAL;
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
    struct pipeline live;
    if (!c.resume) { /* a new journal: every record it will hold passes through run_on_result */
        pipeline_init(&live, run.tasks, run.pile);
        live.own = run.own_valid;
        run.live = &live;
    }
    if (c.shard.n) {
        int rc = shard_write_manifest(&c, &run);
        if (rc < 0) {
            status = rc == BF_EUSAGE ? EXIT_USAGE : EXIT_INTERNAL;
            journal_close(&run.journal);
            goto out;
        }
    }
    uint64_t invalid_written = 0;
    if (run_write_invalid(&run, &invalid_written) < 0) {
        status = EXIT_NOT_DONE;
        journal_close(&run.journal);
        goto out;
    }
    struct farm_plan plan = {
        .tasks = &tasks, .dag = &pile.dag, .roots = pile.roots, .n_cands = pile.n_valid,
        .is_done = run.done.n || run.own_valid || run.shard.n ? run_is_done : NULL, .done_ctx = &run,
        .n_done = run_count_done(&run), .names = pile.names,
    };
    struct farm_sink sink = { &run, run_on_result, run_on_flush };
    struct farm_stats st;
    int outcome = farm_run(&c.farm, &plan, &sink, &st);
    int jrc = journal_close(&run.journal);
    if (jrc < 0) run_drop_live(&run); /* scores from what the journal holds */
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
    run_drop_live(&run);
    free(run.own_valid);
    free(run.own_invalid);
    free(run.task_keys);
    doneset_release(&run.done);
    pile_release(&pile);
    task_set_release(&tasks);
    cli_release(&c);
    return status;
}

/* ---- battfarm merge: the shards' journals into one run (shard.h) ---- */

/* Reads every shard's manifest; returns them indexed by K (1..N), or exits with a usage error
 * naming the directory that does not fit. */
static struct shard_manifest *merge_read_manifests(const struct cli *c, int **dir_of_k)
{
    int n = c->n_shard_dirs;
    struct shard_manifest *m = calloc((size_t)n, sizeof *m);
    if (!m) die("out of memory");
    char path[PATH_MAX], err[PATH_MAX + 100];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", c->shard_dirs[i], SHARD_MANIFEST);
        int rc = shard_manifest_read(path, &m[i], err, sizeof err);
        if (rc == -ENOENT)
            usage_error("merge: %s is not a shard directory (no %s: made by battfarm score --shard K/N)",
                        c->shard_dirs[i], SHARD_MANIFEST);
        if (rc < 0) usage_error("merge: %s", err);
        const char *why = shard_manifest_differs(&m[0], &m[i]);
        if (why)
            usage_error("merge: %s is a shard of another run than %s (%s)", c->shard_dirs[i], c->shard_dirs[0], why);
    }
    uint32_t total = m[0].shard.n;
    int *by_k = calloc((size_t)total + 1, sizeof *by_k);
    if (!by_k) die("out of memory");
    for (int i = 0; i < n; i++) {
        uint32_t k = m[i].shard.k;
        if (by_k[k])
            usage_error("merge: %s is shard %u/%u again (so is %s)", c->shard_dirs[i], k, total,
                        c->shard_dirs[by_k[k] - 1]);
        by_k[k] = i + 1;
    }
    for (uint32_t k = 1; k <= total; k++)
        if (!by_k[k]) usage_error("merge: shard %u/%u is missing (%d of %u shard directories given)", k, total, n, total);
    *dir_of_k = by_k;
    return m;
}

struct merge_ctx {
    struct run *run;
    uint64_t copied, duplicates, foreign;
};

/* One record of a shard's journal: kept once per unit (the first copy), in the merged journal. */
static int merge_record(void *ctx, const struct journal_entry *e, uint64_t line_no)
{
    (void)line_no;
    struct merge_ctx *mc = ctx;
    uint64_t key;
    if (!resume_entry_key(mc->run->tasks, mc->run->pile, e, &key)) {
        mc->foreign++;
        return 0;
    }
    int added = doneset_add(&mc->run->done, key);
    if (added <= 0) {
        mc->duplicates += added == 0;
        return added;
    }
    mc->copied++;
    return journal_append(&mc->run->journal, e);
}

/* Units of the run without a record, counted per shard (missing[k], k = 1..N). */
static uint64_t merge_count_missing(const struct run *run, uint32_t n_shards, uint64_t *missing)
{
    uint64_t all = 0;
    for (uint32_t t = 0; t < run->tasks->n; t++) {
        const struct task *task = &run->tasks->tasks[t];
        uint32_t ns = (uint32_t)task->n_demo + task->n_test;
        for (int inv = 0; inv < 2; inv++) {
            const struct cand *cands = inv ? run->pile->invalid : run->pile->valid;
            uint32_t nc = inv ? run->pile->n_invalid : run->pile->n_valid;
            for (uint32_t c = 0; c < nc; c++) {
                if (!run_wants(run, t, c, inv)) continue;
                for (uint32_t s = 0; s < ns; s++) {
                    if (doneset_has(&run->done, unit_key(t, s, c, inv))) continue;
                    missing[shard_of(run->task_keys[t], cands[c].hash, n_shards)]++;
                    all++;
                }
            }
        }
    }
    return all;
}

static bool same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

static int cmd_merge(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    c.merge = true;
    parse_args(&c, argc, argv);
    int *dir_of_k;
    struct shard_manifest *m = merge_read_manifests(&c, &dir_of_k);
    const struct shard_manifest *first = &m[dir_of_k[1] - 1];
    uint32_t n_shards = first->shard.n;
    cli_take_shard_options(&c, &first->opt);
    /* the programs and tasks: as the shards named them, unless given here */
    if (!c.n_programs) {
        free(c.programs);
        c.programs = calloc((size_t)first->n_programs + 1, sizeof *c.programs);
        if (!c.programs) die("out of memory");
        c.n_programs = first->n_programs;
        for (int i = 0; i < first->n_programs; i++) c.programs[i] = first->programs[i];
    }
    if (!c.n_tasks) {
        free(c.tasks);
        c.tasks = calloc((size_t)first->n_task_paths + 1, sizeof *c.tasks);
        if (!c.tasks) die("out of memory");
        c.n_tasks = first->n_task_paths;
        for (int i = 0; i < first->n_task_paths; i++) c.tasks[i] = first->tasks[i];
    }
    for (int i = 0; i < c.n_shard_dirs; i++)
        if (same_dir(c.out_dir, c.shard_dirs[i])) usage_error("merge: --out %s is one of the shards", c.out_dir);
    struct task_set tasks = TASK_SET_INIT;
    struct pile pile = PILE_INIT;
    struct run run;
    int status = run_setup(&c, &run, &tasks, &pile);
    if (status != 0) goto out;
    if (shard_pile_fingerprint(&pile) != first->pile_fp || shard_tasks_fingerprint(&tasks) != first->tasks_fp) {
        log_err("merge: the programs and tasks named in %s/%s are not those the shards scored (changed or moved since?): "
                "pass them with --programs PATH... --tasks PATH...", c.shard_dirs[dir_of_k[1] - 1], SHARD_MANIFEST);
        status = EXIT_USAGE;
        goto out;
    }
    struct shard whole = { 0, 0 };
    if ((c.own && run_build_own(&run) < 0) || run_init_shard(&run, &whole) < 0) {
        status = EXIT_INTERNAL;
        goto out;
    }
    char path[PATH_MAX];
    status = open_journal(&c, &run, path, sizeof path); /* never --resume: an existing journal is refused */
    if (status != 0) goto out;
    struct merge_ctx mc = { &run, 0, 0, 0 };
    uint64_t torn = 0;
    for (uint32_t k = 1; k <= n_shards && status == 0; k++) {
        char jpath[PATH_MAX];
        snprintf(jpath, sizeof jpath, "%s/results.jsonl", c.shard_dirs[dir_of_k[k] - 1]);
        struct journal_read_info info;
        int rc = journal_read(jpath, true, merge_record, &mc, &info);
        if (rc < 0) status = EXIT_INTERNAL; /* logged by journal_read or journal_append */
        torn += info.torn_tail;
    }
    if (journal_close(&run.journal) < 0 && status == 0) status = EXIT_INTERNAL;
    if (status != 0) goto out;
    fprintf(stderr, "battfarm: merged %u shards into %s: %llu records (%llu duplicates dropped, %llu of other runs, "
                    "%llu torn last lines ignored)\n", n_shards, path, (unsigned long long)mc.copied,
            (unsigned long long)mc.duplicates, (unsigned long long)mc.foreign, (unsigned long long)torn);
    uint64_t *missing = calloc((size_t)n_shards + 1, sizeof *missing);
    if (!missing) die("out of memory");
    if (merge_count_missing(&run, n_shards, missing)) {
        for (uint32_t k = 1; k <= n_shards; k++)
            if (missing[k])
                log_err("merge: shard %u/%u (%s) lacks %llu results: finish it with battfarm score ... --shard %u/%u "
                        "--resume, then merge again", k, n_shards, c.shard_dirs[dir_of_k[k] - 1],
                        (unsigned long long)missing[k], k, n_shards);
        status = EXIT_NOT_DONE;
    }
    free(missing);
    int prc = run_pipeline(&c, &run, path, true);
    if (prc > status) status = prc;
out:
    free(run.own_valid);
    free(run.own_invalid);
    free(run.task_keys);
    doneset_release(&run.done);
    pile_release(&pile);
    task_set_release(&tasks);
    for (int i = 0; i < c.n_shard_dirs; i++) shard_manifest_release(&m[i]);
    free(m);
    free(dir_of_k);
    cli_release(&c);
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
    if (!strcmp(argv[1], "merge")) return cmd_merge(argc, argv);
    if (!strcmp(argv[1], "check")) return cmd_check(argc, argv);
    if (!strcmp(argv[1], "run")) return cmd_run(argc, argv);
    if (!strcmp(argv[1], "prims")) return cmd_prims(argc, argv);
    fprintf(stderr, "battfarm: unknown command '%s' (battfarm --help for usage)\n", argv[1]);
    return EXIT_USAGE;
}
