/* bench_farm.c: battfarm-bench-farm, the farm's benchmark (issue 4's targets).
 *
 *   battfarm-bench-farm --battfarm PATH [--jobs 1,2,...] [--batch B] [--reps R] [--kills K]
 *                       [--trivial N] PROGRAMS... --tasks TASKS...
 *
 * 1. Throughput: the same workload (every candidate on every sample, in batches of B candidates
 *    per sample, as the farm cuts it) through the evaluator in this process, then through
 *    `battfarm score -j N` for each N; prints wall time, results/s and the efficiency
 *    rate(N) / (N x in-process rate) (target: at least 0.90), and the cpu efficiency: in-process
 *    cpu / farm cpu (master and workers), which is what the wall figure tends to on dedicated
 *    cores; on a shared, oversubscribed machine only the cpu figures mean much.
 * 2. Dispatch overhead: N trivial candidates (O = astuple(C1, C2) over DSL constants: one
 *    primitive call each) on the same tasks; the farm's extra cpu per (candidate, sample) over
 *    the in-process evaluator, master and workers together (target: at most 10 us), and the
 *    master's own cpu per result.
 * 3. Kill to serving: K workers killed with SIGKILL during a sweep; the master logs, per
 *    respawn, the time from noticing the death to the new worker's HELLO (target: 50 ms).
 * Runs use --quiet and a temporary --out directory, removed afterwards. */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dsl/eval.h"
#include "log.h"
#include "pile.h"
#include "primtab.h"
#include "task.h"

struct bench {
    const char *battfarm;
    int jobs[16];
    int n_jobs;
    uint32_t batch;
    int reps;
    int kills;
    int trivial;
    char **programs;
    int n_programs;
    char **tasks;
    int n_tasks;
    char tmp[64];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- in process */

struct timing {
    double wall, cpu;
    uint64_t units;
};

static void inproc_once(const struct task_set *ts, const struct pile *p, uint32_t batch, struct timing *t)
{
    struct eval_state *st = eval_state_new();
    eval_state_set_dag_append_only(st, true); /* one DAG, built before */
    double w0 = now_s(), c0 = cpu_s(RUSAGE_SELF);
    uint64_t units = 0, matches = 0;
    for (size_t ti = 0; ti < ts->n; ti++) {
        const struct task *task = &ts->tasks[ti];
        uint32_t ns = (uint32_t)task->n_demo + task->n_test;
        struct eval_inputs in;
        eval_inputs_make(&in, task->samples, task->n_demo, ns);
        for (uint32_t s = 0; s < ns; s++) {
            for (uint32_t c0i = 0; c0i < p->n_valid; c0i += batch) {
                uint32_t end = c0i + batch < p->n_valid ? c0i + batch : p->n_valid;
                eval_sample_begin(st, p->dag.nodes, p->dag.n, &in, s, (size_t)1024 << 20);
                eval_sample_plan(st, p->roots + c0i, end - c0i);
                for (uint32_t c = c0i; c < end; c++) {
                    struct eval_result r;
                    eval_plan_candidate(st, c - c0i, 1000, &r);
                    bool m = false, sh = false;
                    uint32_t right = 0, total = 0;
                    if (r.outcome == DSL_OK && task->samples[s].has_output)
                        val_score(r.value, &task->samples[s].output, &m, &sh, &right, &total);
                    matches += m;
                    units++;
                }
                eval_sample_end(st);
            }
        }
        eval_inputs_release(&in);
    }
    t->wall = now_s() - w0;
    t->cpu = cpu_s(RUSAGE_SELF) - c0;
    t->units = units;
    eval_state_free(st);
    (void)matches;
}

static void inproc_best(const struct bench *b, char **progs, int n_progs, struct timing *best)
{
    struct task_set ts = TASK_SET_INIT;
    struct pile p = PILE_INIT;
    if (task_set_load(&ts, b->tasks, b->n_tasks, stderr) <= 0) die("no tasks loaded");
    if (pile_load(&p, progs, n_progs, NULL) < 0 || p.n_valid == 0) die("no valid programs");
    memset(best, 0, sizeof *best);
    for (int r = 0; r < b->reps; r++) {
        struct timing t;
        inproc_once(&ts, &p, b->batch, &t);
        if (r == 0 || t.wall < best->wall) *best = t;
    }
    pile_release(&p);
    task_set_release(&ts);
}

/* ---------------------------------------------------------------- the farm */

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

static pid_t farm_start(const struct bench *b, char **progs, int n_progs, int jobs, const char *out,
                        const char *log, bool info)
{
    char *argv[256];
    int n = 0;
    char jbuf[16], bbuf[16];
    snprintf(jbuf, sizeof jbuf, "%d", jobs);
    snprintf(bbuf, sizeof bbuf, "%u", b->batch);
    argv[n++] = (char *)(uintptr_t)b->battfarm;
    argv[n++] = (char *)(uintptr_t)"score";
    for (int i = 0; i < n_progs && n < 200; i++) argv[n++] = progs[i];
    char *fixed[] = { "-j", jbuf, "--batch", bbuf, "--quiet", "--out", (char *)(uintptr_t)out, "--tasks" };
    for (size_t i = 0; i < BF_ARRAY_LEN(fixed); i++) argv[n++] = fixed[i];
    for (int i = 0; i < b->n_tasks && n < 254; i++) argv[n++] = b->tasks[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (info) setenv("BF_LOG", "INFO", 1);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        execv(b->battfarm, argv);
        _exit(127);
    }
    return pid;
}

static int farm_wait(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static double grep_double(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    double v = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, key);
        if (p) v = atof(p + strlen(key));
    }
    fclose(f);
    return v;
}

struct farm_timing {
    double wall, cpu, master_cpu;
};

static void farm_best(const struct bench *b, char **progs, int n_progs, int jobs, struct farm_timing *best)
{
    char out[128], log[128];
    snprintf(out, sizeof out, "%s/out", b->tmp);
    snprintf(log, sizeof log, "%s/log", b->tmp);
    for (int r = 0; r < b->reps; r++) {
        rm_rf(out);
        double c0 = cpu_s(RUSAGE_CHILDREN), w0 = now_s();
        int rc = farm_wait(farm_start(b, progs, n_progs, jobs, out, log, false));
        double wall = now_s() - w0, cpu = cpu_s(RUSAGE_CHILDREN) - c0;
        if (rc != 0) die("battfarm -j %d exited with %d (see %s)", jobs, rc, log);
        double mc = grep_double(log, "master cpu ");
        if (r == 0 || wall < best->wall) *best = (struct farm_timing){ wall, cpu, mc };
    }
    rm_rf(out);
}

/* ---------------------------------------------------------------- kill to serving */

static int children_of(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        char *rp = strrchr(buf, ')');
        int ppid = 0;
        char state;
        if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == parent && state != 'Z') out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

static void kill_bench(const struct bench *b, char **progs, int n_progs, int jobs)
{
    char out[128], log[128];
    snprintf(out, sizeof out, "%s/out-kill", b->tmp);
    snprintf(log, sizeof log, "%s/log-kill", b->tmp);
    rm_rf(out);
    pid_t master = farm_start(b, progs, n_progs, jobs, out, log, true);
    int kills = 0;
    struct timespec settle = { 0, 150 * 1000 * 1000 };
    nanosleep(&settle, NULL);
    for (int i = 0; i < b->kills * 4 && kills < b->kills; i++) {
        if (waitpid(master, NULL, WNOHANG) == master) {
            master = 0;
            break;
        }
        pid_t w[64];
        int n = children_of(master, w, 64);
        if (n > 0 && kill(w[i % n], SIGKILL) == 0) kills++;
        nanosleep(&settle, NULL);
    }
    if (master) farm_wait(master);
    FILE *f = fopen(log, "r");
    double worst = 0, sum = 0;
    int n = 0;
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "serving again ");
        if (!p) continue;
        double ms = atof(p + strlen("serving again "));
        sum += ms;
        if (ms > worst) worst = ms;
        n++;
    }
    if (f) fclose(f);
    printf("kill to serving (-j %d): %d SIGKILLs, %d respawns: mean %.1f ms, worst %.1f ms (target 50 ms)\n", jobs,
           kills, n, n ? sum / n : 0.0, worst);
    rm_rf(out);
}

/* ---------------------------------------------------------------- trivial candidates */

static char *write_trivial(const struct bench *b)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/trivial.py", b->tmp);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    int k = 0;
    for (int i = 0; i < CONST_COUNT && k < b->trivial; i++)
        for (int j = 0; j < CONST_COUNT && k < b->trivial; j++, k++)
            fprintf(f, "def solve_t%d(I):\n    O = astuple(%s, %s)\n    return O\n\n", k, const_table[i].name,
                    const_table[j].name);
    for (int i = 0; i < CONST_COUNT && k < b->trivial; i++)
        for (int j = 0; j < CONST_COUNT && k < b->trivial; j++)
            for (int l = 0; l < CONST_COUNT && k < b->trivial; l++, k++)
                fprintf(f, "def solve_t%d(I):\n    x1 = astuple(%s, %s)\n    O = astuple(x1, %s)\n    return O\n\n",
                        k, const_table[i].name, const_table[j].name, const_table[l].name);
    fclose(f);
    return path;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fputs("usage: battfarm-bench-farm --battfarm PATH [--jobs 1,2] [--batch B] [--reps R] [--kills K]\n"
          "                           [--trivial N] PROGRAMS... --tasks TASKS...\n",
          stderr);
    exit(2);
}

static void parse(struct bench *b, int argc, char **argv)
{
    b->batch = 256;
    b->reps = 3;
    b->kills = 10;
    b->trivial = 2000;
    b->programs = calloc((size_t)argc, sizeof *b->programs);
    b->tasks = calloc((size_t)argc, sizeof *b->tasks);
    bool in_tasks = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--battfarm") && has) b->battfarm = argv[++i];
        else if (!strcmp(a, "--batch") && has) b->batch = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && has) b->reps = atoi(argv[++i]);
        else if (!strcmp(a, "--kills") && has) b->kills = atoi(argv[++i]);
        else if (!strcmp(a, "--trivial") && has) b->trivial = atoi(argv[++i]);
        else if (!strcmp(a, "--jobs") && has) {
            char *s = argv[++i];
            for (char *t = strtok(s, ","); t && b->n_jobs < 16; t = strtok(NULL, ",")) b->jobs[b->n_jobs++] = atoi(t);
        } else if (!strcmp(a, "--tasks")) in_tasks = true;
        else if (a[0] == '-') usage();
        else if (in_tasks) b->tasks[b->n_tasks++] = argv[i];
        else b->programs[b->n_programs++] = argv[i];
    }
    if (!b->battfarm || !b->n_programs || !b->n_tasks || b->batch < 1 || b->reps < 1) usage();
    if (!b->n_jobs) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        for (int j = 1; j <= cores && b->n_jobs < 16; j++) b->jobs[b->n_jobs++] = j;
    }
}

static void throughput_table(const struct bench *b, const char *title, char **progs, int n_progs)
{
    struct timing in;
    inproc_best(b, progs, n_progs, &in);
    double in_rate = (double)in.units / in.wall;
    printf("\n%s: %llu (candidate, sample) units, batch %u, best of %d\n", title, (unsigned long long)in.units,
           b->batch, b->reps);
    printf("  %-13s %9s %12s %10s %12s %9s %14s\n", "", "wall s", "results/s", "efficiency", "cpu us/unit",
           "cpu eff", "master us/unit");
    printf("  %-13s %9.3f %12.0f %10s %12.2f %9s %14s\n", "in-process", in.wall, in_rate, "1.00",
           in.cpu * 1e6 / (double)in.units, "1.00", "-");
    for (int i = 0; i < b->n_jobs; i++) {
        struct farm_timing ft;
        farm_best(b, progs, n_progs, b->jobs[i], &ft);
        double rate = (double)in.units / ft.wall;
        char name[24];
        snprintf(name, sizeof name, "battfarm -j %d", b->jobs[i]);
        printf("  %-13s %9.3f %12.0f %10.2f %12.2f %9.2f %14.2f\n", name, ft.wall, rate, rate / (b->jobs[i] * in_rate),
               ft.cpu * 1e6 / (double)in.units, in.cpu / ft.cpu, ft.master_cpu * 1e6 / (double)in.units);
        if (b->jobs[i] == 1)
            printf("  %-13s farm cpu - in-process cpu = %.2f us per unit (dispatch overhead, amortised)\n", "",
                   (ft.cpu - in.cpu) * 1e6 / (double)in.units);
    }
}

int main(int argc, char **argv)
{
    log_init("B");
    bf_log_max = BF_LOG_WARN;
    struct bench b;
    memset(&b, 0, sizeof b);
    parse(&b, argc, argv);
    snprintf(b.tmp, sizeof b.tmp, "/tmp/bf-bench-farm-XXXXXX");
    if (!mkdtemp(b.tmp)) die("mkdtemp: %s", strerror(errno));
    eval_init();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("battfarm-bench-farm: %ld online cores; targets: efficiency >= 0.90, overhead <= 10 us, respawn <= 50 ms\n",
           cores);
    throughput_table(&b, "workload", b.programs, b.n_programs);
    char *trivial = write_trivial(&b);
    throughput_table(&b, "trivial candidates (dispatch overhead)", &trivial, 1);
    if (b.kills > 0) kill_bench(&b, b.programs, b.n_programs, b.jobs[b.n_jobs - 1]);
    rm_rf(b.tmp);
    return 0;
}
