/* check_farm.c: process tests of the farm: the real battfarm and battfarm-worker(-faulty)
 * binaries, fork+exec'd on bundled ARC tasks and small programs written into a temp dir.
 *
 * Every farm test checks the same four things: exactly one journal record per (task, candidate,
 * sample) and no duplicates; the expected statuses; the same results (status, match, cells) as
 * an undisturbed run, except where a fault must change them; no process left behind (the master
 * gets a unique BF_TEST_MARK, which its workers inherit, and /proc/<pid>/environ is scanned for
 * it at the end). The misbehaving workers come from battfarm-worker-faulty (BF_FAULT=...,
 * worker/faults.h); battfarm-worker itself has no such code. */
#include "compat.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../master/journal.h"
#include "log.h"

#define MASTER BF_BINARY_DIR "/master/battfarm"
#define WORKER BF_BINARY_DIR "/worker/battfarm-worker"
#define FAULTY BF_BINARY_DIR "/worker/battfarm-worker-faulty"
#define TASKS BF_SOURCE_DIR "/data/arc-agi-1/training"
#define FAKE_SSH BF_SOURCE_DIR "/tests/fake-ssh.sh"

/* ------------------------------------------------------------------ the test bed */

static const char prog_a[] =
    "def solve_007bbfb7(I):\n"
    "    x1 = hupscale(I, THREE)\n"
    "    x2 = vupscale(x1, THREE)\n"
    "    x3 = hconcat(I, I)\n"
    "    x4 = hconcat(x3, I)\n"
    "    x5 = vconcat(x4, x4)\n"
    "    x6 = vconcat(x5, x4)\n"
    "    O = cellwise(x2, x6, ZERO)\n"
    "    return O\n"
    "\n"
    "def solve_vmirror(I):\n"
    "    O = vmirror(I)\n"
    "    return O\n"
    "\n"
    "def solve_hmirror(I):\n"
    "    O = hmirror(I)\n"
    "    return O\n"
    "\n"
    "def solve_rot(I):\n"
    "    O = rot90(I)\n"
    "    return O\n";

static const char prog_b[] =
    "def solve_twice(I):\n"
    "    O = hconcat(I, I)\n"
    "    return O\n"
    "\n"
    "def solve_vmirror_again(I):\n"
    "    O = vmirror(I)\n"
    "    return O\n"
    "\n"
    "def solve_div0(I):\n"
    "    O = divide(ONE, ZERO)\n"
    "    return O\n"
    "\n"
    "def solve_unknown(I):\n"
    "    O = no_such_primitive(I)\n"
    "    return O\n"
    "\n"
    "def solve_const_call(I):\n"
    "    O = ONE(I)\n"
    "    return O\n"
    "\n"
    "def solve_arity(I):\n"
    "    O = vmirror(I, I)\n"
    "    return O\n"
    "\n"
    "def solve_identity(I):\n"
    "    O = identity(I)\n"
    "    return O\n"
    "\n"
    "def solve_dmirror(I):\n"
    "    O = dmirror(I)\n"
    "    return O\n"
    "\n"
    "def solve_rot_rot(I):\n"
    "    x1 = rot90(I)\n"
    "    O = rot180(x1)\n"
    "    return O\n";

#define N_VALID 9   /* distinct valid candidates above */
#define N_INVALID 2 /* solve_const_call, solve_arity (solve_unknown: rejected by the parser) */

struct bed {
    char dir[128];       /* temp dir: programs/, tasks/, out/, log */
    char progs[160];
    char tasks[160];
    char out[160];
    char log[160];
    char mark[40];       /* BF_TEST_MARK value */
    int n_tasks;
    int n_samples;       /* over all tasks */
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "r");
    ck_assert_msg(in != NULL, "cannot read %s", from);
    FILE *out = fopen(to, "w");
    ck_assert(out != NULL);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* The first 4 MiB of a file as a string (one static buffer: valid until the next call); NULL when
 * it cannot be opened. */
static const char *file_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char text[4 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

/* Non-overlapping occurrences of needle in a file that must exist. */
static int count_in_file(const char *path, const char *needle)
{
    const char *text = file_text(path);
    ck_assert_msg(text != NULL, "cannot open %s", path);
    int k = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

/* The samples of an ARC task file (train and test pairs): its "input" keys. */
static int count_samples(const char *path)
{
    return count_in_file(path, "\"input\"");
}

static void bed_init(struct bed *b, const char *const *task_names, int n_tasks)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/bf-check-farm-XXXXXX");
    ck_assert(mkdtemp(b->dir) != NULL);
    snprintf(b->progs, sizeof b->progs, "%s/programs", b->dir);
    snprintf(b->tasks, sizeof b->tasks, "%s/tasks", b->dir);
    snprintf(b->out, sizeof b->out, "%s/out", b->dir);
    snprintf(b->log, sizeof b->log, "%s/log", b->dir);
    ck_assert_int_eq(mkdir(b->progs, 0755), 0);
    ck_assert_int_eq(mkdir(b->tasks, 0755), 0);
    char path[256], from[256];
    snprintf(path, sizeof path, "%s/a.py", b->progs);
    write_file(path, prog_a);
    snprintf(path, sizeof path, "%s/b.py", b->progs);
    write_file(path, prog_b);
    for (int i = 0; i < n_tasks; i++) {
        snprintf(from, sizeof from, "%s/%s.json", TASKS, task_names[i]);
        snprintf(path, sizeof path, "%s/%s.json", b->tasks, task_names[i]);
        copy_file(from, path);
        b->n_samples += count_samples(path);
    }
    b->n_tasks = n_tasks;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(b->mark, sizeof b->mark, "%d-%ld", (int)getpid(), (long)ts.tv_nsec);
}

static const char *const three_tasks[] = { "007bbfb7", "00d62c1b", "017c7c7b" };
static const char *const one_task[] = { "007bbfb7" };

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char path[512];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_rf(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------------------------ running the master */

#define MAX_ARGS 40

struct opts {
    const char *worker;           /* default: the real worker */
    const char *env[8];           /* extra NAME=value for the master (and so its workers) */
    const char *args[16];         /* extra options */
    bool resume;
    const char *out;              /* default: bed out */
    const char *tasks;            /* default: bed tasks */
};

static pid_t start_master(const struct bed *b, const struct opts *o)
{
    const char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = MASTER;
    argv[n++] = "score";
    argv[n++] = b->progs;
    argv[n++] = "--quiet";
    argv[n++] = "--worker";
    argv[n++] = o->worker ? o->worker : WORKER;
    argv[n++] = "--out";
    argv[n++] = o->out ? o->out : b->out;
    if (o->resume) argv[n++] = "--resume";
    for (int i = 0; o->args[i]; i++) argv[n++] = o->args[i];
    argv[n++] = "--tasks";
    argv[n++] = o->tasks ? o->tasks : b->tasks;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        setenv("BF_TEST_MARK", b->mark, 1);
        for (int i = 0; o->env[i]; i++) putenv((char *)(uintptr_t)o->env[i]);
        int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execv(MASTER, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    return pid;
}

/* The master's exit status; fails the test (after killing it) past timeout_s. */
static int wait_master(pid_t pid, int timeout_s)
{
    for (int ms = 0; ms < timeout_s * 1000; ms += 5) {
        int ws;
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(ws)) return WEXITSTATUS(ws);
            return 128 + WTERMSIG(ws);
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("the master did not finish within %d s", timeout_s);
    return -1;
}

static int run_master(const struct bed *b, const struct opts *o, int timeout_s)
{
    return wait_master(start_master(b, o), timeout_s);
}

static bool file_contains(const char *path, const char *needle)
{
    const char *text = file_text(path);
    return text != NULL && strstr(text, needle) != NULL;
}

/* Processes carrying our mark (the master and its workers inherit it), less `except`. */
static int marked_pids(const struct bed *b, pid_t except, pid_t *out, int max)
{
    char needle[80];
    int nlen = snprintf(needle, sizeof needle, "BF_TEST_MARK=%s", b->mark) + 1; /* with the NUL */
    DIR *d = opendir("/proc");
    ck_assert(d != NULL);
    struct dirent *de;
    int n = 0;
    static char env[1 << 16];
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == except) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t len = read(fd, env, sizeof env);
        close(fd);
        for (ssize_t i = 0; len > nlen && i + nlen <= len; i++) {
            if ((i == 0 || env[i - 1] == 0) && memcmp(env + i, needle, (size_t)nlen) == 0) {
                if (n < max) out[n] = (pid_t)pid;
                n++;
                break;
            }
        }
    }
    closedir(d);
    return n;
}

/* No orphan: every marked process is gone (waiting a little for dying ones). */
static void assert_no_orphans(const struct bed *b)
{
    pid_t pids[16];
    int n = 0;
    for (int i = 0; i < 300; i++) {
        n = marked_pids(b, 0, pids, 16);
        if (n == 0) return;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n && i < 16; i++) kill(pids[i], SIGKILL);
    ck_abort_msg("%d process(es) left behind, e.g. pid %d", n, (int)pids[0]);
}

/* ------------------------------------------------------------------ the journal */

struct rec {
    char key[120];       /* task|sample|cand */
    char name[64];
    enum bf_status status;
    bool match, shape;
    uint32_t right, total;
    int attempt, signal;
    int slot;
    char host[32];
};

struct recs {
    struct rec *r;
    size_t n, cap;
    struct journal_read_info info;
};

/* Record arrays of the running test, freed by the fixture's teardown. */
static struct rec *recs_live[32];

static void recs_teardown(void)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(recs_live); i++) {
        free(recs_live[i]);
        recs_live[i] = NULL;
    }
}

static void recs_track(struct rec *old, struct rec *now)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(recs_live); i++)
        if (recs_live[i] == old) {
            recs_live[i] = now;
            return;
        }
    ck_abort_msg("too many record arrays in one test");
}

static int recs_add(void *ctx, const struct journal_entry *e, uint64_t line)
{
    (void)line;
    struct recs *rs = ctx;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        struct rec *nr = realloc(rs->r, rs->cap * sizeof *rs->r);
        ck_assert(nr != NULL);
        recs_track(rs->r, nr);
        rs->r = nr;
    }
    struct rec *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%s|%s|%s", e->task, e->sample, e->cand);
    snprintf(r->name, sizeof r->name, "%s", e->name);
    r->status = e->status;
    r->match = e->match;
    r->shape = e->shape;
    r->right = e->right;
    r->total = e->total;
    r->attempt = e->attempt;
    r->signal = e->signal;
    r->slot = e->slot;
    snprintf(r->host, sizeof r->host, "%s", e->host);
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rec *)a)->key, ((const struct rec *)b)->key);
}

/* Reads the journal, sorted by key; asserts no duplicate and the expected count. */
static void read_journal(const struct bed *b, struct recs *rs, size_t expect_n)
{
    memset(rs, 0, sizeof *rs);
    char path[200];
    snprintf(path, sizeof path, "%s/results.jsonl", b->out);
    ck_assert_int_eq(journal_read(path, false, recs_add, rs, &rs->info), 0);
    ck_assert_uint_eq(rs->info.malformed, 0);
    if (rs->n) qsort(rs->r, rs->n, sizeof *rs->r, rec_cmp);
    for (size_t i = 1; i < rs->n; i++)
        ck_assert_msg(strcmp(rs->r[i - 1].key, rs->r[i].key) != 0, "duplicate record %s", rs->r[i].key);
    if (expect_n != (size_t)-1)
        ck_assert_msg(rs->n == expect_n, "%zu records, expected %zu", rs->n, expect_n);
}

static size_t all_units(const struct bed *b)
{
    return (size_t)b->n_samples * (N_VALID + N_INVALID);
}

static bool same_result(const struct rec *x, const struct rec *y)
{
    return x->status == y->status && x->match == y->match && x->shape == y->shape && x->right == y->right &&
           x->total == y->total;
}

/* Records equal the baseline's, except those of candidate `except` (may be NULL). */
static void assert_same_as(const struct recs *got, const struct recs *base, const char *except)
{
    ck_assert_uint_eq(got->n, base->n);
    for (size_t i = 0; i < got->n; i++) {
        ck_assert_str_eq(got->r[i].key, base->r[i].key);
        if (except && !strcmp(got->r[i].name, except)) continue;
        ck_assert_msg(same_result(&got->r[i], &base->r[i]), "%s (%s): %s, baseline %s", got->r[i].key,
                      got->r[i].name, bf_status_name(got->r[i].status), bf_status_name(base->r[i].status));
    }
}

static size_t count_where(const struct recs *rs, const char *name, int status, int attempt)
{
    size_t k = 0;
    for (size_t i = 0; i < rs->n; i++)
        if ((!name || !strcmp(rs->r[i].name, name)) && (status < 0 || rs->r[i].status == (enum bf_status)status) &&
            (attempt < 0 || rs->r[i].attempt == attempt))
            k++;
    return k;
}

/* The undisturbed run every other test compares with. */
static void baseline(struct recs *base, const char *const *tasks, int n_tasks)
{
    struct bed b;
    bed_init(&b, tasks, n_tasks);
    struct opts o = { .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    read_journal(&b, base, all_units(&b));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_undisturbed)
{
    struct bed b;
    bed_init(&b, three_tasks, 3);
    struct opts o = { .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    ck_assert(file_contains(b.log, "9 distinct valid, 2 invalid, 1 rejected by the parser"));
    /* the reference solver of 007bbfb7 solves all its 6 samples */
    size_t solved = 0;
    for (size_t i = 0; i < rs.n; i++)
        if (!strcmp(rs.r[i].name, "solve_007bbfb7") && !strncmp(rs.r[i].key, "007bbfb7|", 9) && rs.r[i].match)
            solved++;
    ck_assert_uint_eq(solved, 6);
    ck_assert_uint_eq(count_where(&rs, "solve_div0", ST_ERROR, 1), (size_t)b.n_samples);
    ck_assert_uint_eq(count_where(&rs, NULL, ST_INVALID, 0), (size_t)b.n_samples * N_INVALID);
    ck_assert_uint_eq(count_where(&rs, NULL, ST_CRASH, -1), 0);
    ck_assert_uint_eq(count_where(&rs, NULL, -1, 2), 0);
    /* a second run over the same journal without --resume refuses to overwrite it */
    ck_assert_int_eq(run_master(&b, &o, 60), 2);
    /* one worker gives the same results */
    struct bed b1;
    bed_init(&b1, three_tasks, 3);
    struct opts o1 = { .args = { "-j", "1", "--batch", "3" } };
    ck_assert_int_eq(run_master(&b1, &o1, 60), 0);
    struct recs rs1;
    read_journal(&b1, &rs1, all_units(&b1));
    assert_same_as(&rs1, &rs, NULL);
    assert_no_orphans(&b);
    assert_no_orphans(&b1);
    rm_rf(b.dir);
    rm_rf(b1.dir);
}
END_TEST

/* One fault, once per run, at each stage of the protocol: the in-flight candidate is retried
 * (its record says attempt 2), nothing else changes. */
static const char *const once_faults[] = {
    "die-decoding-job:2", "segv-mid-eval:5", "abort-encoding-result:4", "half-frame:3",
    "garbage:6",          "oversized-frame:2", "exit0:5",
};

START_TEST(test_fault_once)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    char fault[80], once[200];
    snprintf(fault, sizeof fault, "BF_FAULT=%s", once_faults[_i]);
    snprintf(once, sizeof once, "BF_FAULT_ONCE=%s/fired", b.dir);
    struct opts o = { .worker = FAULTY, .env = { fault, once }, .args = { "-j", "2", "--batch", "4" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    char fired[200];
    snprintf(fired, sizeof fired, "%s/fired", b.dir);
    ck_assert_msg(access(fired, F_OK) == 0, "the fault %s never fired", once_faults[_i]);
    ck_assert_msg(count_where(&rs, NULL, -1, 2) == 1, "%s: %zu retried records", once_faults[_i],
                  count_where(&rs, NULL, -1, 2));
    ck_assert(file_contains(b.log, "retrying it alone"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* A candidate that kills its worker every time: crash records (with the signal) after the
 * retry, never an endless loop; everything else as usual. */
START_TEST(test_deterministic_crash)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT=segv-mid-eval:@rot90" }, .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &o, 90), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, "solve_rot");
    ck_assert_uint_eq(count_where(&rs, "solve_rot", ST_CRASH, 2), (size_t)b.n_samples);
    for (size_t i = 0; i < rs.n; i++)
        if (!strcmp(rs.r[i].name, "solve_rot")) ck_assert_int_eq(rs.r[i].signal, SIGSEGV);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* A candidate that hangs with SIGALRM blocked: the hard deadline kills the worker, the
 * candidate gets `timeout` (not retried), the farm goes on. */
START_TEST(test_hang_alarm_blocked)
{
    struct recs base;
    baseline(&base, one_task, 1);
    struct bed b;
    bed_init(&b, one_task, 1);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT=hang-alarm-blocked:@rot90" },
                      .args = { "-j", "2", "--timeout", "100", "--grace", "150" } };
    ck_assert_int_eq(run_master(&b, &o, 90), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, "solve_rot");
    ck_assert_uint_eq(count_where(&rs, "solve_rot", ST_TIMEOUT, -1), (size_t)b.n_samples);
    ck_assert(file_contains(b.log, "hard deadline"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* A candidate that allocates without bound under the worker's memory cap: memout, and the
 * worker survives (no worker is lost). */
START_TEST(test_alloc_forever)
{
    struct recs base;
    baseline(&base, one_task, 1);
    struct bed b;
    bed_init(&b, one_task, 1);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT=alloc-forever:@rot90" },
                      .args = { "-j", "2", "--worker-mem", "64" } };
    ck_assert_int_eq(run_master(&b, &o, 90), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, "solve_rot");
    ck_assert_uint_eq(count_where(&rs, "solve_rot", ST_MEMOUT, 1), (size_t)b.n_samples);
    ck_assert(file_contains(b.log, "0 lost"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* The real thing, no fault injection: a program whose values outgrow the evaluator's cap
 * (--mem) or the worker's address space (--worker-mem, RLIMIT_AS; not in sanitizer builds,
 * which run without it) ends as `memout` and the worker goes on. */
START_TEST(test_real_memout)
{
#ifdef BF_SANITIZE
    if (_i == 1) return;
#endif
    struct bed b;
    bed_init(&b, one_task, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/c.py", b.progs);
    write_file(path, "def solve_big(I):\n"
                     "    x1 = upscale(I, TEN)\n"
                     "    x2 = upscale(x1, TEN)\n"
                     "    x3 = upscale(x2, TEN)\n"
                     "    O = upscale(x3, TEN)\n"
                     "    return O\n");
    struct opts evalcap = { .args = { "-j", "2", "--mem", "32" } };
    struct opts rlimit = { .args = { "-j", "2", "--worker-mem", "96" } };
    ck_assert_int_eq(run_master(&b, _i == 0 ? &evalcap : &rlimit, 90), 0);
    struct recs rs;
    read_journal(&b, &rs, (size_t)b.n_samples * (N_VALID + 1 + N_INVALID));
    ck_assert_uint_eq(count_where(&rs, "solve_big", ST_MEMOUT, 1), (size_t)b.n_samples);
    ck_assert_uint_eq(count_where(&rs, NULL, ST_CRASH, -1), 0);
    ck_assert(file_contains(b.log, "0 lost"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* Slot 1 can never start: it is given up with a clear message, slot 0 does everything. */
START_TEST(test_slot_given_up)
{
    struct recs base;
    baseline(&base, one_task, 1);
    struct bed b;
    bed_init(&b, one_task, 1);
    /* slow enough that slot 1 fails its five starts before slot 0 is done */
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT=die-before-hello", "BF_FAULT_SLOT=1", "BF_FAULT_SLOW_US=10000" },
                      .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    ck_assert(file_contains(b.log, "slot 1: giving up on this slot: worker failed to start 5 times in a row"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* No slot can start (or every worker reports a fatal setup error): the run ends with
 * "some work not done" instead of hanging. */
START_TEST(test_all_slots_given_up)
{
    static const char *const modes[] = { "BF_FAULT=die-before-hello", "BF_FAULT=fatal-setup" };
    struct bed b;
    bed_init(&b, one_task, 1);
    struct opts o = { .worker = FAULTY, .env = { modes[_i] }, .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 1);
    struct recs rs;
    read_journal(&b, &rs, (size_t)b.n_samples * N_INVALID); /* only the invalid ones */
    ck_assert(file_contains(b.log, "every slot was given up"));
    if (_i == 1) ck_assert(file_contains(b.log, "fatal setup error"));
    ck_assert(file_contains(b.log, "2 slots given up"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static size_t journal_lines(const struct bed *b)
{
    char path[200];
    snprintf(path, sizeof path, "%s/results.jsonl", b->out);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* kill -9 of random workers during a sweep: same results as an undisturbed run. */
START_TEST(test_random_worker_kills)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT_SLOW_US=10000" },
                      .args = { "-j", "2", "--batch", "8", "--attempts", "4" } };
    pid_t master = start_master(&b, &o);
    unsigned seed = (unsigned)getpid();
    int kills = 0, status = -1;
    for (int round = 0; round < 100 && kills < 8; round++) {
        int ws;
        if (waitpid(master, &ws, WNOHANG) == master) {
            status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            break;
        }
        sleep_ms(30 + (int)(rand_r(&seed) % 50));
        pid_t w[8];
        int n = marked_pids(&b, master, w, 8);
        if (n > 0 && kill(w[rand_r(&seed) % (unsigned)(n < 8 ? n : 8)], SIGKILL) == 0) kills++;
    }
    if (status < 0) status = wait_master(master, 120);
    ck_assert_int_eq(status, 0);
    ck_assert_msg(kills >= 3, "only %d kills landed during the run", kills);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    ck_assert(count_where(&rs, NULL, -1, 2) >= 1);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* kill -9 of the master mid-run (its workers die with it), a torn line, then --resume: exactly
 * one record per unit and the same results. */
START_TEST(test_master_killed_then_resume)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT_SLOW_US=3000" }, .args = { "-j", "2", "--batch", "4" } };
    pid_t master = start_master(&b, &o);
    for (int i = 0; i < 2000 && journal_lines(&b) < 80; i++) sleep_ms(5);
    size_t before = journal_lines(&b);
    ck_assert_msg(before >= 80 && before < all_units(&b), "%zu lines when killing", before);
    kill(master, SIGKILL);
    waitpid(master, NULL, 0);
    assert_no_orphans(&b); /* the workers follow their master (PR_SET_PDEATHSIG) */
    /* as if the kill had landed in the middle of a write */
    char path[200];
    snprintf(path, sizeof path, "%s/results.jsonl", b.out);
    FILE *f = fopen(path, "a");
    ck_assert(f != NULL);
    fputs("{\"task\":\"007bbfb7\",\"sample\":\"demo/0\",\"cand\":\"00", f);
    fclose(f);
    struct opts r = { .resume = true, .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &r, 60), 0);
    ck_assert(file_contains(b.log, "torn last line ignored"));
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    ck_assert(!rs.info.torn_tail);
    assert_same_as(&rs, &base, NULL);
    /* resuming a complete journal schedules nothing */
    ck_assert_int_eq(run_master(&b, &r, 60), 0);
    read_journal(&b, &rs, all_units(&b));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* First SIGINT drains (exit 1, journal complete for what ran), SIGTERM stops at once; either way
 * --resume finishes the job with the same results. */
START_TEST(test_signals_then_resume)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT_SLOW_US=3000" }, .args = { "-j", "2", "--batch", "4" } };
    pid_t master = start_master(&b, &o);
    for (int i = 0; i < 2000 && journal_lines(&b) < 60; i++) sleep_ms(5);
    kill(master, sigs[_i]);
    ck_assert_int_eq(wait_master(master, 30), 1);
    ck_assert(file_contains(b.log, sigs[_i] == SIGTERM ? "SIGTERM: stopping now" : "draining"));
    struct recs part;
    read_journal(&b, &part, (size_t)-1);
    ck_assert(part.n < all_units(&b));
    ck_assert(!part.info.torn_tail);
    assert_no_orphans(&b);
    struct opts r = { .resume = true, .args = { "-j", "2" } };
    ck_assert_int_eq(run_master(&b, &r, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

START_TEST(test_usage_errors)
{
    struct bed b;
    bed_init(&b, one_task, 1);
    struct opts bad = { .args = { "--no-such-option" } };
    ck_assert_int_eq(run_master(&b, &bad, 30), 2);
    struct opts badj = { .args = { "-j", "0" } };
    ck_assert_int_eq(run_master(&b, &badj, 30), 2);
    struct opts nowork = { .worker = "/nonexistent/battfarm-worker" };
    ck_assert_int_eq(run_master(&b, &nowork, 30), 2);
    char missing[200];
    snprintf(missing, sizeof missing, "%s/nothing-here", b.dir);
    struct opts notasks = { .tasks = missing };
    ck_assert_int_eq(run_master(&b, &notasks, 30), 2);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* ------------------------------------------------------------------ the journal as a file */

START_TEST(test_journal_roundtrip)
{
    uint8_t cells[6] = { 1, 2, 3, 4, 5, 6 };
    struct journal_entry e = {
        .task = "007bbfb7", .sample = "test/0", .cand = "0123456789abcdef", .name = "solve_\"q\"",
        .file = "dir/a\\b.py", .host = "local", .msg = "ValueError: bad\nline\x01", .status = ST_CRASH,
        .match = false, .shape = true, .right = 7, .total = 9, .cpu_us = 12, .wall_us = 15, .slot = 3,
        .attempt = 2, .signal = 9, .has_grid = true, .out_h = 2, .out_w = 3, .out_cells = cells,
    };
    char line[1024];
    size_t n = journal_format(&e, line, sizeof line);
    ck_assert_uint_lt(n, sizeof line);
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_str_eq(line, "{\"task\":\"007bbfb7\",\"sample\":\"test/0\",\"cand\":\"0123456789abcdef\","
                           "\"name\":\"solve_\\\"q\\\"\",\"file\":\"dir/a\\\\b.py\",\"status\":\"crash\","
                           "\"match\":false,\"shape\":true,\"right\":7,\"total\":9,\"cpu_us\":12,\"wall_us\":15,"
                           "\"slot\":3,\"attempt\":2,\"host\":\"local\",\"signal\":9,"
                           "\"msg\":\"ValueError: bad\\nline\\u0001\",\"out\":[[1,2,3],[4,5,6]]}\n");
    /* numbers at their extremes, and the output hash in 16 hex digits */
    struct journal_entry big = { .task = "t", .sample = "demo/0", .cand = "c", .name = "n", .file = "f",
                                 .status = ST_OK, .match = true, .right = UINT32_MAX, .total = 0,
                                 .cpu_us = UINT64_MAX, .wall_us = 1000000, .slot = -1, .attempt = 0,
                                 .out_hash = 0x00ab0000000000f1ull };
    char bigline[512];
    journal_format(&big, bigline, sizeof bigline);
    ck_assert_str_eq(bigline, "{\"task\":\"t\",\"sample\":\"demo/0\",\"cand\":\"c\",\"name\":\"n\",\"file\":\"f\","
                              "\"status\":\"ok\",\"match\":true,\"shape\":false,\"right\":4294967295,\"total\":0,"
                              "\"cpu_us\":18446744073709551615,\"wall_us\":1000000,\"slot\":-1,\"attempt\":0,"
                              "\"host\":\"local\",\"ohash\":\"00ab0000000000f1\"}\n");
    struct journal_entry d;
    char scratch[1024], err[80];
    ck_assert_int_eq(journal_parse_line(line, n - 1, &d, scratch, sizeof scratch, err, sizeof err), 0);
    ck_assert_str_eq(d.task, e.task);
    ck_assert_str_eq(d.sample, e.sample);
    ck_assert_str_eq(d.cand, e.cand);
    ck_assert_str_eq(d.name, e.name);
    ck_assert_str_eq(d.file, e.file);
    ck_assert_str_eq(d.msg, e.msg);
    ck_assert_int_eq(d.status, ST_CRASH);
    ck_assert(!d.match && d.shape);
    ck_assert_uint_eq(d.right, 7);
    ck_assert_uint_eq(d.total, 9);
    ck_assert_uint_eq(d.cpu_us, 12);
    ck_assert_int_eq(d.slot, 3);
    ck_assert_int_eq(d.attempt, 2);
    ck_assert_int_eq(d.signal, 9);
    ck_assert(d.has_grid && d.out_h == 2 && d.out_w == 3);
    ck_assert_mem_eq(d.out_cells, cells, 6);
    /* unknown keys are skipped; missing keys and bad values are errors */
    const char *extra = "{\"task\":\"t\",\"future\":[1,{\"a\":null}],\"sample\":\"demo/1\",\"cand\":\"x\",\"status\":\"ok\"}";
    ck_assert_int_eq(journal_parse_line(extra, strlen(extra), &d, scratch, sizeof scratch, err, sizeof err), 0);
    const char *bad[] = { "{\"task\":\"t\"}", "{\"task\":\"t\",\"sample\":\"demo/1\",\"cand\":\"x\",\"status\":\"nope\"}",
                          "[]", "{\"task\":\"t\",\"sample\":\"demo/1\",\"cand\":\"x\",\"status\":\"ok\"} x",
                          "{\"task\":\"t\",\"right\":-1,\"sample\":\"demo/1\",\"cand\":\"x\",\"status\":\"ok\"}" };
    for (size_t i = 0; i < BF_ARRAY_LEN(bad); i++)
        ck_assert_int_eq(journal_parse_line(bad[i], strlen(bad[i]), &d, scratch, sizeof scratch, err, sizeof err),
                         BF_EJSON);
}
END_TEST

START_TEST(test_journal_torn_and_malformed)
{
    char dir[] = "/tmp/bf-check-journal-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    struct journal j;
    ck_assert_int_eq(journal_open(&j, path, -1), 0);
    struct journal_entry e = { .task = "t", .sample = "demo/0", .cand = "0000000000000001", .name = "a",
                               .file = "f", .status = ST_OK, .match = true };
    ck_assert_int_eq(journal_append(&j, &e), 0);
    ck_assert_int_eq(journal_flush(&j), 0);
    ck_assert_int_eq(journal_close(&j), 0);
    /* opening it again as new is refused */
    ck_assert_int_eq(journal_open(&j, path, -1), BF_EUSAGE);
    journal_close(&j);
    FILE *f = fopen(path, "a");
    fputs("this is not json\n", f);
    fputs("{\"task\":\"t\",\"sample\":\"demo/1\",\"cand\":\"0000000000000001\",\"status\":\"error\"}\n", f);
    fputs("{\"task\":\"t\",\"sam", f);
    fclose(f);
    struct recs rs;
    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(journal_read(path, false, recs_add, &rs, &rs.info), 0);
    ck_assert_uint_eq(rs.n, 2);
    ck_assert_uint_eq(rs.info.malformed, 1);
    ck_assert(rs.info.torn_tail);
    ck_assert_uint_eq(rs.info.lines, 3);
    /* resuming cuts the torn tail, so the next record starts on a line of its own */
    ck_assert_int_eq(journal_open(&j, path, rs.info.valid_len), 0);
    ck_assert_int_eq(journal_append(&j, &e), 0);
    ck_assert_int_eq(journal_close(&j), 0);
    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(journal_read(path, false, recs_add, &rs, &rs.info), 0);
    ck_assert_uint_eq(rs.n, 3);
    ck_assert(!rs.info.torn_tail);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ --hosts, through a fake ssh */

static void write_hosts(const struct bed *b, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/hosts", b->dir);
    write_file(path, text);
}

/* Remote slots (through tests/fake-ssh.sh) and a local one together: the results of a local
 * run, each record naming where it ran, and the slot's variables on the remote command line
 * (the fake ssh drops them from the environment, as a remote login would not have them). */
START_TEST(test_hosts_fake_ssh)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    char hosts[200], log_env[220], log[200], expect[400];
    write_hosts(&b, "# two nodes and this machine\n2/nodeA\n\n  nodeB   # one slot\n1/local\n", hosts, sizeof hosts);
    snprintf(log, sizeof log, "%s/ssh.log", b.dir);
    snprintf(log_env, sizeof log_env, "FAKE_SSH_LOG=%s", log);
    struct opts o = { .env = { log_env }, .args = { "--hosts", hosts, "--ssh", FAKE_SSH, "--worker-mem", "2048", "--batch", "4" } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    /* slots in file order: 0 and 1 on nodeA, 2 on nodeB, 3 here (and invalid records: -1) */
    static const char *const host_of_slot[] = { "nodeA", "nodeA", "nodeB", "local" };
    for (size_t i = 0; i < rs.n; i++)
        ck_assert_str_eq(rs.r[i].host, rs.r[i].slot < 0 ? "local" : host_of_slot[rs.r[i].slot]);
    /* A remote slot's connection is logged once its fake ssh runs: certainly when the slot
     * served work (on a loaded machine the other slots can finish everything before its shell
     * starts: seen for nodeB, and for nodeA's second slot) */
    bool served[3] = { false, false, false };
    for (size_t i = 0; i < rs.n; i++)
        if (rs.r[i].slot >= 0 && rs.r[i].slot < 3) served[rs.r[i].slot] = true;
    for (int slot = 0; slot < 3; slot++) {
        if (!served[slot]) continue;
        snprintf(expect, sizeof expect, "%s env BF_SLOT=%d BF_MEM_CAP_MB=2048 %s --stdio --watchdog 4000\n",
                 host_of_slot[slot], slot, WORKER);
        ck_assert_msg(file_contains(log, expect), "no '%s' in %s", expect, log);
    }
    /* (not asserted: that some remote slot served work; with both cores busy the local slot
     * did all of it in 1 run of 6) */
    ck_assert(!file_contains(log, "BF_SLOT=3")); /* the local slot forks the worker itself */
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* The connection of one remote slot drops mid-run (the fake ssh kills its "remote" worker and
 * exits 255): the candidate in flight is retried elsewhere, nothing is lost or doubled. */
START_TEST(test_hosts_connection_lost)
{
    struct recs base;
    baseline(&base, three_tasks, 3);
    struct bed b;
    bed_init(&b, three_tasks, 3);
    char hosts[200], drop[200], drop_env[220];
    write_hosts(&b, "2/nodeA\n", hosts, sizeof hosts);
    snprintf(drop, sizeof drop, "%s/dropped", b.dir);
    snprintf(drop_env, sizeof drop_env, "FAKE_SSH_DROP=%s", drop);
    struct opts o = { .worker = FAULTY, .env = { drop_env, "FAKE_SSH_DROP_AFTER=0.25", "BF_FAULT_SLOW_US=10000" },
                      .args = { "--hosts", hosts, "--ssh", FAKE_SSH, "--batch", "4" } };
    ck_assert_int_eq(run_master(&b, &o, 120), 0);
    ck_assert_msg(access(drop, F_OK) == 0, "no connection was dropped");
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, NULL);
    ck_assert_uint_eq(count_where(&rs, NULL, -1, 2), 1);
    ck_assert(file_contains(b.log, "exited with status 255 (while busy)"));
    ck_assert(file_contains(b.log, "retrying it alone"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pids the fake ssh wrote to FAKE_SSH_PIDS: its "remote" workers. */
static int read_pids(const char *path, pid_t *out, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, pid;
    while (n < max && fscanf(f, "%d", &pid) == 1) out[n++] = (pid_t)pid;
    fclose(f);
    return n;
}

/* Dead: no such process, or a zombie (an orphan waits for whoever reaps it). */
static bool pid_gone(pid_t pid)
{
    if (kill(pid, 0) < 0) return errno == ESRCH;
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    const char *paren = strrchr(line, ')'); /* "pid (comm) S ..." */
    return !paren || paren[1] == 0 || paren[2] == 'Z' || paren[2] == 'X';
}

/* Every remote worker is gone by until_ms (CLOCK_MONOTONIC); fails naming the first that is not. */
static void assert_remote_gone(const char *pids_path, int64_t until_ms)
{
    pid_t pids[64];
    int n = read_pids(pids_path, pids, 64);
    for (int i = 0; i < n; i++) {
        while (!pid_gone(pids[i]) && now_ms() < until_ms) sleep_ms(5);
        if (pid_gone(pids[i])) continue;
        for (int k = i; k < n; k++) kill(pids[k], SIGKILL);
        ck_abort_msg("remote worker pid %d still runs past its deadline", (int)pids[i]);
    }
}

/* The largest N of the watchdogs' "is N ms past its hard deadline" lines in the log; -1: none. */
static long max_watchdog_late_ms(const char *log)
{
    const char *text = file_text(log);
    ck_assert_msg(text != NULL, "cannot open %s", log);
    long max = -1;
    static const char tail[] = " ms past its hard deadline";
    for (const char *p = text; (p = strstr(p, tail)); p += sizeof tail - 1) {
        const char *q = p;
        while (q > text && (q[-1] == '-' || (q[-1] >= '0' && q[-1] <= '9'))) q--;
        long late = atol(q);
        if (late > max) max = late;
    }
    return max;
}

/* A remote worker hanging with SIGALRM blocked. Killing ssh at the hard deadline cannot reach it,
 * its watchdog (worker/watchdog.h) must: one watchdog kill per hard deadline of the master.
 * _i = 0: the connection closes when the master kills ssh, and the watchdog sees the master's
 * side gone at once; _i = 1: the connection stalls (the pipes stay open STALL_S seconds), and
 * only the worker's own deadline, soft limit + 2 x grace, can end it: the log says how late each
 * kill came; _i = 2: stalled too, and every worker's first watchdog is SIGKILLed as soon as it
 * starts (BF_FAULT_KILL_WATCHDOG): the worker must notice and start another before it evaluates;
 * _i = 3: stalled, and each hung worker SIGSTOPs its watchdog as it starts hanging
 * (BF_FAULT_STOP_WATCHDOG): the worker must continue it at once, or nothing would ever kill it;
 * _i = 4: stalled, and each hung worker SIGKILLs its watchdog as it starts hanging
 * (BF_FAULT_KILL_WATCHDOG=hang): the worker's fallback timer must kill it at the same deadline;
 * _i = 5: stalled, every worker's first watchdog is SIGKILLed as it starts and every later fork
 * of one fails (BF_FAULT_WATCHDOG_FORK=fail): the worker evaluates with no watchdog, and the
 * fallback timer armed with the deadline must kill it.
 * Either way the candidate gets `timeout` as on a local slot and the other results are the
 * undisturbed run's. (An idle worker whose connection stalls waits for its EOF: the remote
 * workers are all gone only when the stall ends.) */
START_TEST(test_hosts_hang_alarm_blocked)
{
    enum { TIMEOUT_MS = 100, GRACE_MS = 150, MARGIN_MS = 1000, LATE_MS = 250, STALL_S = 2 };
    struct recs base;
    baseline(&base, one_task, 1);
    struct bed b;
    bed_init(&b, one_task, 1);
    char hosts[200], pids[200], pids_env[220], tmp_env[160], stall_env[40];
    write_hosts(&b, "2/nodeA\n", hosts, sizeof hosts);
    snprintf(pids, sizeof pids, "%s/pids", b.dir);
    snprintf(pids_env, sizeof pids_env, "FAKE_SSH_PIDS=%s", pids);
    snprintf(tmp_env, sizeof tmp_env, "TMPDIR=%s", b.dir); /* the stalled connections' FIFOs */
    snprintf(stall_env, sizeof stall_env, "FAKE_SSH_STALL=%d", STALL_S);
    struct opts o = { .worker = FAULTY,
                      .env = { "BF_FAULT=hang-alarm-blocked:@rot90", pids_env, tmp_env, _i ? stall_env : NULL,
                               _i == 2 || _i == 5 ? "BF_FAULT_KILL_WATCHDOG=1"
                               : _i == 3          ? "BF_FAULT_STOP_WATCHDOG=1"
                               : _i == 4          ? "BF_FAULT_KILL_WATCHDOG=hang"
                                                  : NULL,
                               _i == 5 ? "BF_FAULT_WATCHDOG_FORK=fail" : NULL },
                      .args = { "--hosts", hosts, "--ssh", FAKE_SSH, "--timeout", "100", "--grace", "150" } };
    ck_assert_int_eq(run_master(&b, &o, 90), 0);
    /* each hung worker started hanging before the master ended */
    assert_remote_gone(pids, now_ms() + TIMEOUT_MS + 2 * GRACE_MS + MARGIN_MS + (_i ? STALL_S * 1000 : 0));
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    assert_same_as(&rs, &base, "solve_rot");
    ck_assert_uint_eq(count_where(&rs, "solve_rot", ST_TIMEOUT, -1), (size_t)b.n_samples);
    int hard = count_in_file(b.log, "hard deadline: worker killed after 250 ms (soft limit 100 ms + grace 150 ms) (while busy)");
    ck_assert_int_ge(hard, b.n_samples);
    pid_t w[64];
    ck_assert_int_ge(read_pids(pids, w, 64), hard); /* a worker per hang at least */
    const char *kill_line = _i ? "ms past its hard deadline (soft limit + 300 ms): killing it"
                               : "watchdog: the master's side of the connection is gone during an evaluation";
    if (_i == 4 || _i == 5) { /* no watchdog left to say anything: the timer killed each hung worker */
        ck_assert_int_eq(count_in_file(b.log, kill_line), 0);
        ck_assert_int_ge(count_in_file(b.log, "fault injection: killing watchdog pid"), hard);
    } else {
        ck_assert_int_eq(count_in_file(b.log, kill_line), hard);
    }
    if (_i && _i != 4 && _i != 5) {
        long late = max_watchdog_late_ms(b.log);
        ck_assert_msg(late >= 0 && late <= LATE_MS, "a watchdog killed its worker %ld ms late", late);
    }
    int replaced = count_in_file(b.log, "was killed by signal 9: starting a new one");
    if (_i == 2 || _i == 5) ck_assert_int_ge(replaced, hard); /* every hung worker found its first one dead */
    else ck_assert_int_eq(replaced, 0);
    if (_i == 5) ck_assert_int_ge(count_in_file(b.log, "watchdog: fork() failed: Resource temporarily unavailable"), hard);
    if (_i == 3) ck_assert_int_ge(count_in_file(b.log, "fault injection: stopping watchdog pid"), hard);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* kill -9 of the master with remote slots busy: its ssh processes die with it (PR_SET_PDEATHSIG),
 * and the remote workers, out of its reach, follow: an idle one on the EOF of its stdin, a busy
 * one at its next write or by its watchdog. No process is left behind, here or "remote". */
START_TEST(test_hosts_master_killed)
{
    struct bed b;
    bed_init(&b, three_tasks, 3);
    char hosts[200], pids[200], pids_env[220];
    write_hosts(&b, "2/nodeA\n1/local\n", hosts, sizeof hosts);
    snprintf(pids, sizeof pids, "%s/pids", b.dir);
    snprintf(pids_env, sizeof pids_env, "FAKE_SSH_PIDS=%s", pids);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT_SLOW_US=3000", pids_env },
                      .args = { "--hosts", hosts, "--ssh", FAKE_SSH, "--batch", "4" } };
    pid_t master = start_master(&b, &o);
    for (int i = 0; i < 2000 && journal_lines(&b) < 60; i++) sleep_ms(5);
    ck_assert_msg(journal_lines(&b) < all_units(&b), "the run ended before the kill");
    kill(master, SIGKILL);
    waitpid(master, NULL, 0);
    pid_t w[64];
    ck_assert_int_ge(read_pids(pids, w, 64), 2);
    assert_remote_gone(pids, now_ms() + 3000);
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* A host that refuses every connection is given up like a slot that cannot start; the others
 * score everything. */
START_TEST(test_hosts_unreachable)
{
    struct bed b;
    bed_init(&b, one_task, 1);
    char hosts[200];
    write_hosts(&b, "1/local\n1/unreachable-node\n", hosts, sizeof hosts);
    struct opts o = { .worker = FAULTY, .env = { "BF_FAULT_SLOW_US=20000" }, .args = { "--hosts", hosts, "--ssh", FAKE_SSH } };
    ck_assert_int_eq(run_master(&b, &o, 60), 0);
    struct recs rs;
    read_journal(&b, &rs, all_units(&b));
    ck_assert(file_contains(b.log, "slot 1: giving up on this slot: worker failed to start 5 times in a row (last: "
                                   "exited with status 255)"));
    ck_assert(file_contains(b.log, "Connection refused"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

/* Bad hosts files and option mixes: exit 2 and one line naming FILE:LINE. */
static const struct {
    const char *text;       /* the hosts file; NULL: none written */
    const char *args[4];    /* more options */
    const char *says;       /* in the log, after the file's path */
} bad_hosts[] = {
    { "nodeA\n0/nodeB\n", { NULL }, ":2: '0/nodeB': expected [N/]host with N from 1 to 4096" },
    { "x/nodeA\n", { NULL }, ":1: 'x/nodeA': expected [N/]host" },
    { "# c\n-oProxyCommand=evil\n", { NULL }, ":2: '-oProxyCommand=evil': a host name cannot start with '-'" },
    { "2/\n", { NULL }, ":1: a slot count without a host" },
    { "node A\n", { NULL }, ":1: 'node A': one host per line, without blanks inside" },
    { "5000/nodeA\n", { NULL }, ":1: '5000/nodeA': expected [N/]host with N from 1 to 4096" },
    { "# nothing\n\n", { NULL }, ": no hosts in it" },
    { NULL, { NULL }, ": No such file or directory" },
    { "nodeA\n", { "-j", "2" }, "-j and --hosts exclude each other" },
    { "nodeA\n", { "--ssh", "/nonexistent/ssh" }, "--ssh: /nonexistent/ssh is not an executable file" },
    { "nodeA\n", { "--ssh", "no-such-ssh-here" }, "--ssh: no-such-ssh-here not found in PATH" },
};

START_TEST(test_hosts_file_errors)
{
    struct bed b;
    bed_init(&b, one_task, 1);
    char hosts[200], says[300];
    if (bad_hosts[_i].text) write_hosts(&b, bad_hosts[_i].text, hosts, sizeof hosts);
    else snprintf(hosts, sizeof hosts, "%s/no-hosts-file", b.dir);
    struct opts o = { .args = { "--hosts", hosts, "--ssh", FAKE_SSH } };
    for (int i = 0; bad_hosts[_i].args[i]; i++) o.args[4 + i] = bad_hosts[_i].args[i];
    ck_assert_int_eq(run_master(&b, &o, 30), 2);
    if (bad_hosts[_i].says[0] == ':') snprintf(says, sizeof says, "%s%s", hosts, bad_hosts[_i].says);
    else snprintf(says, sizeof says, "%s", bad_hosts[_i].says);
    ck_assert_msg(file_contains(b.log, says), "case %d: no '%s' in the log", _i, says);
    /* --ssh without --hosts */
    struct opts o2 = { .args = { "--ssh", FAKE_SSH } };
    ck_assert_int_eq(run_master(&b, &o2, 30), 2);
    ck_assert(file_contains(b.log, "--ssh and --remote-worker need --hosts"));
    assert_no_orphans(&b);
    rm_rf(b.dir);
}
END_TEST

static Suite *farm_suite(void)
{
    Suite *s = suite_create("farm");
    TCase *tj = tcase_create("journal");
    tcase_add_checked_fixture(tj, NULL, recs_teardown);
    tcase_add_test(tj, test_journal_roundtrip);
    tcase_add_test(tj, test_journal_torn_and_malformed);
    suite_add_tcase(s, tj);
    TCase *tp = tcase_create("processes");
    tcase_set_timeout(tp, 240);
    tcase_add_checked_fixture(tp, NULL, recs_teardown);
    tcase_add_test(tp, test_usage_errors);
    tcase_add_test(tp, test_undisturbed);
    tcase_add_loop_test(tp, test_fault_once, 0, (int)BF_ARRAY_LEN(once_faults));
    tcase_add_test(tp, test_deterministic_crash);
    tcase_add_test(tp, test_hang_alarm_blocked);
    tcase_add_test(tp, test_alloc_forever);
    tcase_add_loop_test(tp, test_real_memout, 0, 2);
    tcase_add_test(tp, test_slot_given_up);
    tcase_add_loop_test(tp, test_all_slots_given_up, 0, 2);
    tcase_add_test(tp, test_random_worker_kills);
    tcase_add_test(tp, test_master_killed_then_resume);
    tcase_add_loop_test(tp, test_signals_then_resume, 0, 3);
    suite_add_tcase(s, tp);
    TCase *th = tcase_create("hosts"); /* --hosts, through tests/fake-ssh.sh (CK_RUN_CASE=hosts) */
    tcase_set_timeout(th, 240);
    tcase_add_checked_fixture(th, NULL, recs_teardown);
    tcase_add_test(th, test_hosts_fake_ssh);
    tcase_add_test(th, test_hosts_connection_lost);
    tcase_add_loop_test(th, test_hosts_hang_alarm_blocked, 0, 6);
    tcase_add_test(th, test_hosts_master_killed);
    tcase_add_test(th, test_hosts_unreachable);
    tcase_add_loop_test(th, test_hosts_file_errors, 0, (int)BF_ARRAY_LEN(bad_hosts));
    suite_add_tcase(s, th);
    return s;
}

int main(void)
{
    log_init("T");
    bf_log_max = BF_LOG_ERR;
    SRunner *sr = srunner_create(farm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
