/* check_pipeline.c: `battfarm score` and `battfarm report` end to end, with the real binaries and
 * real worker processes: dedup and invalid candidates, --own, scores.jsonl and rankings, the
 * store (written atomically, read back as a candidate pile), the HTML report, submission.json
 * for a task without test outputs, --resume scheduling nothing new, and --shard K/N + merge
 * making what one unsharded run makes. */
#include "compat.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../master/scores.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Runs `battfarm ARGS` in dir; stdout to out.txt, stderr to err.txt. Returns the exit status. */
static int battfarm_raw(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && %s/master/battfarm %s >out.txt 2>err.txt", dir, BF_BINARY_DIR, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The same for score and report, with two workers and no progress line. */
static int battfarm(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && %s/master/battfarm %s -j 2 --quiet >out.txt 2>err.txt", dir, BF_BINARY_DIR,
             args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_pipeline.%d", (int)getpid());
    mkdir(dir, 0755);
    mkdir("/tmp", 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/progs", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tasks", dir);
    mkdir(path, 0755);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s/data/arc-agi-1/training/007bbfb7.json %s/data/arc-agi-1/training/0d3d703e.json %s/tasks/",
             BF_SOURCE_DIR, BF_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cp %s/data/programs/007bbfb7.py %s/data/programs/0d3d703e.py %s/progs/", BF_SOURCE_DIR,
             BF_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* the same program as 0d3d703e's up to names: one candidate */
    char *orig = read_file("progs/0d3d703e.py");
    ck_assert_ptr_nonnull(orig);
    char *copy = strdup(orig);
    for (char *p = copy; (p = strstr(p, "x1")) != NULL; p += 2) p[0] = 'y';
    write_file("progs/renamed.py", copy);
    free(copy);
    write_file("progs/bad.py", "def solve_bad(I):\n    O = fill(I, ONE)\n    return O\n");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

START_TEST(test_score_everything)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out --report"), 0);
    const char *err = read_file("err.txt");
    ck_assert_msg(strstr(err, "4 read, 2 distinct valid, 1 invalid"), "%s", err);
    const char *out = read_file("out.txt");
    ck_assert_msg(strstr(out, "2 solved"), "%s", out);
    /* 3 candidates x (6 + 5 samples) records, one each */
    const char *journal = read_file("out/results.jsonl");
    ck_assert_int_eq(count_lines(journal, "\n"), 33);
    ck_assert_int_eq(count_lines(journal, "\"status\":\"invalid\""), 11);
    ck_assert_int_eq(count_lines(journal, "\"slot\":-1"), 11);
    /* scores: one line per candidate and task, rank 1 solves */
    const char *scores = read_file("out/scores.jsonl");
    ck_assert_int_eq(count_lines(scores, "\n"), 6);
    ck_assert_int_eq(count_lines(scores, "\"rank\":1,"), 2);
    ck_assert_int_eq(count_lines(scores, "\"solved\":true"), 2);
    ck_assert_ptr_nonnull(strstr(scores, "\"task\":\"007bbfb7\",\"cand\""));
    /* report: self-contained, with the tasks' data */
    const char *html = read_file("out/report.html");
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "\"name\":\"007bbfb7\""));
    ck_assert_ptr_null(strstr(html, "http"));
}
END_TEST

START_TEST(test_store_is_a_pile)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s/out/store/007bbfb7/*.py %s/out/store/0d3d703e/*.py >/dev/null 2>&1", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "ls %s/out/store/*/*.tmp.* >/dev/null 2>&1", dir);
    ck_assert_int_ne(system(cmd), 0); /* no temporary left behind */
    /* the store, read back with --own, solves both tasks again */
    ck_assert_int_eq(battfarm("score out/store --own --tasks tasks --out out2 --no-store"), 0);
    const char *out = read_file("out.txt");
    ck_assert_msg(strstr(out, "2 solved"), "%s", out);
    ck_assert_msg(strstr(out, "2 distinct valid"), "%s", out);
    /* --own: 6 + 5 records, not 2 x 11 */
    ck_assert_int_eq(count_lines(read_file("out2/results.jsonl"), "\n"), 11);
}
END_TEST

/* Also: a new run scores its records as they are appended, a resumed one reads the journal;
 * both give the same scores and summary. */
START_TEST(test_resume_adds_nothing)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 0);
    char *first = strdup(read_file("out/scores.jsonl"));
    char *summary = strdup(read_file("out.txt"));
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 2); /* journal exists: usage error */
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out --resume"), 0);
    ck_assert_int_eq(count_lines(read_file("out/results.jsonl"), "\n"), 33);
    ck_assert_str_eq(read_file("out/scores.jsonl"), first);
    ck_assert_str_eq(read_file("out.txt"), summary);
    free(first);
    free(summary);
    ck_assert_int_eq(battfarm("report progs --tasks tasks --out out"), 0);
    ck_assert_ptr_nonnull(read_file("out/report.html"));
}
END_TEST

START_TEST(test_predict)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s/tests/fixtures/tasks/predict.json %s/tasks/", BF_SOURCE_DIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    write_file("progs/swap.py", "def solve_swap(I):\n    O = vmirror(I)\n    return O\n");
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 0);
    const char *sub = read_file("out/submission.json");
    ck_assert_ptr_nonnull(sub);
    /* vmirror solves the one demo pair, so it is attempt 1: [[1,1]] mirrored is [[1,1]] */
    ck_assert_msg(strstr(sub, "{\"predict\":[{\"attempt_1\":[[1,1]],\"attempt_2\":"), "%s", sub);
    ck_assert_ptr_null(strstr(sub, "007bbfb7")); /* tasks with known test outputs are not predicted */
}
END_TEST

START_TEST(test_check_command)
{
    ck_assert_int_eq(battfarm_raw("check progs"), 1);
    const char *out = read_file("out.txt");
    ck_assert_msg(strstr(out, "progs/bad.py:2:9: fill takes 3 arguments, 2 given"), "%s", out);
    ck_assert_msg(strstr(out, "4 programs read: 2 distinct valid, 1 invalid"), "%s", out);
    ck_assert_int_eq(battfarm_raw("check progs/0d3d703e.py"), 0);
}
END_TEST

START_TEST(test_prims_docs)
{
    ck_assert_int_eq(battfarm_raw("prims"), 0);
    const char *out = read_file("out.txt");
    ck_assert_int_eq(count_lines(out, "\n| `"), 160 + 28); /* every primitive and constant, one row */
    ck_assert_ptr_nonnull(strstr(out, "| `objects` | Grid,Boolean,Boolean,Boolean | Objects |"));
    ck_assert_int_eq(battfarm_raw("prims --json"), 0);
    ck_assert_ptr_nonnull(strstr(read_file("out.txt"), "{\"name\":\"UNITY\",\"value\":[1,1]}"));
}
END_TEST

/* Without -j: one worker per online CPU core, and at least one per GPU (GPUs named here by
 * CUDA_VISIBLE_DEVICES, which the master reads without CUDA; without a device the workers score
 * on the CPU). */
START_TEST(test_default_workers)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *gpu_lists[] = { "0", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16" };
    const long gpus[] = { 1, 17 };
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(setenv("CUDA_VISIBLE_DEVICES", gpu_lists[k], 1), 0);
        char args[128];
        snprintf(args, sizeof args, "score progs --tasks tasks --quiet --no-store --out out-default%d", k);
        int rc = battfarm_raw(args);
        unsetenv("CUDA_VISIBLE_DEVICES");
        ck_assert_int_eq(rc, 0);
        long want = cores > gpus[k] ? cores : gpus[k];
        char line[80];
        snprintf(line, sizeof line, "workers: %ld started, 0 lost", want);
        ck_assert_msg(strstr(read_file("err.txt"), line) != NULL, "no '%s' in: %s", line, read_file("err.txt"));
    }
}
END_TEST

START_TEST(test_usage_errors)
{
    ck_assert_int_eq(battfarm("score --tasks tasks"), 2);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --gpus 1-x"), 2);
    ck_assert_int_eq(battfarm("report progs --tasks tasks --out nowhere"), 2);
    ck_assert_int_eq(battfarm_raw("frobnicate"), 2);
    ck_assert_int_eq(battfarm_raw("check"), 2);
}
END_TEST

/* ---- --shard and merge ---- */

/* A file's lines with the measured fields (cpu time, and the rank that cpu time breaks ties
 * with) taken out, sorted: what must not differ between two runs of the same work. */
static char *stable_lines(const char *name)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "sed -e 's/\"cpu_us\":[0-9]*,//' -e 's/\"rank\":[0-9]*,//' -e 's/ cpu_us=[0-9]*//' "
                              "%s/%s | LC_ALL=C sort", dir, name);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    ck_assert_int_eq(pclose(p), 0);
    return strdup(buf);
}

static void assert_same_file(const char *a, const char *b)
{
    char *x = stable_lines(a), *y = stable_lines(b);
    ck_assert_msg(strlen(x) > 0, "%s is empty", a);
    ck_assert_msg(!strcmp(x, y), "%s and %s differ:\n%s\n---\n%s", a, b, x, y);
    free(x);
    free(y);
}

/* Three shards of the sweep (different -j, files in another order), merged in another order:
 * the same journal units, scores, store files and summary as the unsharded run. */
START_TEST(test_shard_merge_equals_whole)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out whole"), 0);
    char *summary = strdup(read_file("out.txt"));
    ck_assert_int_eq(battfarm_raw("score progs --tasks tasks --out s1 --shard 1/3 -j 1 --quiet"), 0);
    ck_assert_int_eq(battfarm_raw("score progs/renamed.py progs/bad.py progs/0d3d703e.py progs/007bbfb7.py "
                                  "--tasks tasks/0d3d703e.json tasks/007bbfb7.json --out s2 --shard 2/3 -j 2 --quiet"), 0);
    ck_assert_ptr_nonnull(strstr(read_file("out.txt"), "shard       2/3"));
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s3 --shard=3/3"), 0);
    ck_assert_ptr_null(read_file("s3/store/007bbfb7")); /* shards keep no store */
    /* every unit in exactly one shard */
    int n1 = count_lines(read_file("s1/results.jsonl"), "\n"), n2 = count_lines(read_file("s2/results.jsonl"), "\n"),
        n3 = count_lines(read_file("s3/results.jsonl"), "\n");
    ck_assert_int_eq(n1 + n2 + n3, 33);
    ck_assert_int_eq(battfarm("merge --out merged s3 s1 s2"), 0);
    ck_assert_str_eq(read_file("out.txt"), summary);
    free(summary);
    ck_assert_msg(strstr(read_file("err.txt"), "33 records (0 duplicates dropped"), "%s", read_file("err.txt"));
    /* the journals hold the same units with the same outcomes (slot, host and times aside) */
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "cd %s && for d in whole merged; do sed -e 's/\"cpu_us.*\"attempt\"/\"attempt\"/' -e 's/\"name\":\"[^\"]*\",//' "
             "$d/results.jsonl | LC_ALL=C sort > $d.units; done && cmp whole.units merged.units", dir);
    ck_assert_int_eq(system(cmd), 0);
    assert_same_file("whole/scores.jsonl", "merged/scores.jsonl");
    snprintf(cmd, sizeof cmd, "cd %s/whole/store && ls */*.py > ../../whole.store && cd ../../merged/store && "
                              "ls */*.py > ../../merged.store && cmp ../../whole.store ../../merged.store", dir);
    ck_assert_int_eq(system(cmd), 0);
    char *files = strdup(read_file("whole.store"));
    ck_assert_int_ge(count_lines(files, ".py"), 2);
    for (char *f = strtok(files, "\n"); f; f = strtok(NULL, "\n")) {
        char a[300], b[300];
        snprintf(a, sizeof a, "whole/store/%s", f);
        snprintf(b, sizeof b, "merged/store/%s", f);
        assert_same_file(a, b);
    }
    free(files);
    /* a merged directory is an ordinary result directory */
    ck_assert_int_eq(battfarm("report progs --tasks tasks --out merged"), 0);
}
END_TEST

/* Shards that are not one run, or not every K once, are refused with the directory named. */
START_TEST(test_merge_refuses)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s1 --shard 1/2"), 0);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s2 --shard 2/2"), 0);
    ck_assert_int_eq(battfarm("score progs/007bbfb7.py --tasks tasks --out other --shard 2/2"), 0);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out slow --shard 2/2 --timeout 500"), 0);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out three --shard 2/3"), 0);
    ck_assert_int_eq(battfarm("merge --out m s1 other"), 2);
    ck_assert_msg(strstr(read_file("err.txt"), "other is a shard of another run than s1 (a different candidate pile)"),
                  "%s", read_file("err.txt"));
    ck_assert_int_eq(battfarm("merge --out m s1 slow"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "slow is a shard of another run than s1 (different options"));
    ck_assert_int_eq(battfarm("merge --out m s1 three"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "three is a shard of another run than s1 (a different shard count N)"));
    ck_assert_int_eq(battfarm("merge --out m s1 s1"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "s1 is shard 1/2 again"));
    ck_assert_int_eq(battfarm("merge --out m s2"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "shard 1/2 is missing"));
    ck_assert_int_eq(battfarm("merge --out m s1 tasks"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "tasks is not a shard directory"));
    ck_assert_int_eq(battfarm("merge --out m s1 s2 --timeout 10"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "--timeout comes from the shards"));
    ck_assert_int_eq(battfarm("merge --out s1 s1 s2"), 2);
    ck_assert_int_eq(battfarm("merge s1 s2"), 2);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out x --shard 3/2"), 2);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out x --shard 0/2"), 2);
    /* a resumed shard must be the same shard */
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s1 --shard 2/2 --resume"), 2);
    ck_assert_ptr_nonnull(strstr(read_file("err.txt"), "holds shard 1/2, not 2/2"));
    /* the programs moved away: merge says so, and takes --programs/--tasks */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mv %s/progs %s/moved", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(battfarm("merge --out m s1 s2"), 2);
    ck_assert_int_eq(battfarm("merge --out m s1 s2 --programs moved --tasks tasks"), 0);
    ck_assert_int_eq(count_lines(read_file("m/results.jsonl"), "\n"), 33);
}
END_TEST

/* The same record twice and a torn last line are tolerated; a shard with results missing makes
 * everything from what there is and exits 1, naming the shard; resumed, it merges cleanly. */
START_TEST(test_merge_dedupes_and_completes)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s1 --shard 1/2"), 0);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s2 --shard 2/2"), 0);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "cd %s && head -3 s1/results.jsonl >> s2/results.jsonl && head -2 s2/results.jsonl >> "
                              "s2/results.jsonl && printf '{\"task\":\"00' >> s2/results.jsonl", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(battfarm("merge --out m s1 s2"), 0);
    ck_assert_msg(strstr(read_file("err.txt"), "33 records (5 duplicates dropped, 0 of other runs, 1 torn last lines"),
                  "%s", read_file("err.txt"));
    ck_assert_int_eq(count_lines(read_file("m/results.jsonl"), "\n"), 33);
    /* shard 2 cut short, as if killed */
    snprintf(cmd, sizeof cmd, "cd %s && head -4 s2/results.jsonl > cut && mv cut s2/results.jsonl", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(battfarm("merge --out m2 s1 s2"), 1);
    ck_assert_msg(strstr(read_file("err.txt"), "shard 2/2 (s2) lacks"), "%s", read_file("err.txt"));
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out s2 --shard 2/2 --resume"), 0);
    ck_assert_int_eq(battfarm("merge --out m3 s1 s2"), 0);
    ck_assert_int_eq(count_lines(read_file("m3/results.jsonl"), "\n"), 33);
}
END_TEST

/* A full disk while the journal is written (simulated by a file size limit, with SIGXFSZ
 * ignored so that the write fails with EFBIG as it would with ENOSPC): one error line naming the
 * journal, a non-zero exit, and every record written before it kept; --resume then completes the
 * run, and its scores equal those of a run that never failed (cpu time and rank left out). */
START_TEST(test_full_disk_then_resume)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out ref"), 0);
    /* 6,000 bytes: past the 11 invalid records (3.2 KB, written first), short of all 33 (9 KB) */
    struct rlimit old_limit;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    struct rlimit limit = { 6000, old_limit.rlim_max }; /* the soft limit only: it can be raised back */
    if (old_limit.rlim_max != RLIM_INFINITY && old_limit.rlim_max < limit.rlim_cur) limit.rlim_cur = old_limit.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    int rc = battfarm("score progs --tasks tasks --out full");
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    ck_assert_int_eq(rc, 1);
    const char *err = read_file("err.txt");
    ck_assert_msg(strstr(err, "cannot write full/results.jsonl: File too large"), "%s", err);
    ck_assert_msg(strstr(err, "interrupted"), "%s", err);
    int kept = count_lines(read_file("full/results.jsonl"), "\n");
    ck_assert_msg(kept > 0 && kept < 33, "%d records kept", kept);

    ck_assert_int_eq(battfarm("score progs --tasks tasks --out full --resume"), 0);
    err = read_file("err.txt");
    ck_assert_msg(strstr(err, "resuming full/results.jsonl"), "%s", err); /* a torn last line is cut off */
    ck_assert_int_eq(count_lines(read_file("full/results.jsonl"), "\n"), 33);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && for d in ref full; do sed -E 's/\"(rank|cpu_us)\":[0-9]+,//g' $d/scores.jsonl | sort >$d.s; done "
             "&& cmp -s ref.s full.s",
             dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The partial score does not depend on the order in which records arrive: fractions whose
 * floating-point sum changes with the order (1/3 + 2/7 + ...) give bit-identical scores in
 * every order (a job split, a resume, shards merged). */
START_TEST(test_partial_score_order_independent)
{
    static const uint32_t frac[][2] = { { 1, 3 }, { 2, 7 }, { 5, 11 }, { 7, 13 }, { 1, 9 }, { 4, 17 }, { 877, 900 }, { 13, 30 } };
    enum { N = sizeof frac / sizeof frac[0] };
    double first = -1;
    uint64_t lcg = 12345;
    for (int round = 0; round < 200; round++) {
        int order[N];
        for (int i = 0; i < N; i++) order[i] = i;
        for (int i = N - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
            lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((lcg >> 33) % (uint64_t)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        struct scoreboard sb = SCOREBOARD_INIT;
        for (int i = 0; i < N; i++) {
            struct score_record r = { .task = 0, .cand = 42, .sample = (uint32_t)order[i], .status = ST_OK,
                                      .shape_match = true, .cells_right = frac[order[i]][0],
                                      .cells_total = frac[order[i]][1] };
            ck_assert_int_eq(scoreboard_add(&sb, &r), 0);
        }
        double p = cand_score_partial(scoreboard_get(&sb, 0, 42));
        if (round == 0) first = p;
        ck_assert_msg(memcmp(&p, &first, sizeof p) == 0, "round %d: %.17g != %.17g", round, p, first);
        scoreboard_release(&sb);
    }
    double exact = 0;
    for (int i = 0; i < N; i++) exact += (double)frac[i][0] / frac[i][1];
    ck_assert_double_eq_tol(first, exact / N, 1e-9);
}
END_TEST

/* Per-task tables: sparse task indexes (the task array grows past its first 64), tables grown
 * past their first size, records interleaved across tasks; every count lands on its own (task,
 * candidate), and the ranking holds each task's candidates once, best first. */
START_TEST(test_scoreboard_many_tasks)
{
    static const uint32_t tasks[] = { 0, 1, 63, 64, 300, 5000 };
    enum { NT = sizeof tasks / sizeof tasks[0], NC = 700 };
    struct scoreboard sb = SCOREBOARD_INIT;
    for (uint32_t sample = 0; sample < 3; sample++)
        for (uint32_t c = 0; c < NC; c++)
            for (int t = 0; t < NT; t++) {
                /* candidate c matches sample s of task t when (c + t) % (s + 2) == 0 */
                bool match = (c + tasks[t]) % (sample + 2) == 0;
                struct score_record r = { .task = tasks[t], .cand = 0x9e3779b97f4a7c15ULL * (c + 1), .sample = sample,
                                          .status = ST_OK, .match = match, .cpu_us = c };
                ck_assert_int_eq(scoreboard_add(&sb, &r), 0);
            }
    ck_assert_uint_eq(sb.n, (size_t)NT * NC);
    for (int t = 0; t < NT; t++)
        for (uint32_t c = 0; c < NC; c++) {
            const struct cand_score *s = scoreboard_get(&sb, tasks[t], 0x9e3779b97f4a7c15ULL * (c + 1));
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_eq(s->task, tasks[t]);
            ck_assert_uint_eq(s->demo_total, 3);
            uint32_t want = 0;
            for (uint32_t sample = 0; sample < 3; sample++) want += (c + tasks[t]) % (sample + 2) == 0;
            ck_assert_uint_eq(s->demo_match, want);
            ck_assert_uint_eq(s->cpu_us, 3 * c);
        }
    ck_assert_ptr_null(scoreboard_get(&sb, 2, 0x9e3779b97f4a7c15ULL));      /* a task without records */
    ck_assert_ptr_null(scoreboard_get(&sb, 1u << 20, 0x9e3779b97f4a7c15ULL)); /* past the task array */
    ck_assert_ptr_null(scoreboard_get(&sb, 0, 12345));                      /* a candidate never seen */
    struct ranking rk;
    ck_assert_int_eq(scoreboard_rank_all(&sb, 5001, &rk), 0);
    for (uint32_t t = 0; t < 5001; t++) {
        size_t n = rk.start[t + 1] - rk.start[t];
        bool has = false;
        for (int k = 0; k < NT; k++) has |= tasks[k] == t;
        ck_assert_uint_eq(n, has ? NC : 0);
        for (size_t k = rk.start[t]; k < rk.start[t + 1]; k++) {
            ck_assert_uint_eq(rk.by_task[k]->task, t);
            if (k > rk.start[t]) ck_assert(cand_score_better(rk.by_task[k - 1], rk.by_task[k]));
        }
    }
    ranking_release(&rk);
    scoreboard_release(&sb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("score");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_score_everything);
    tcase_add_test(tc, test_store_is_a_pile);
    tcase_add_test(tc, test_resume_adds_nothing);
    tcase_add_test(tc, test_predict);
    tcase_add_test(tc, test_check_command);
    tcase_add_test(tc, test_prims_docs);
    tcase_add_test(tc, test_usage_errors);
    tcase_add_test(tc, test_default_workers);
    tcase_add_test(tc, test_shard_merge_equals_whole);
    tcase_add_test(tc, test_merge_refuses);
    tcase_add_test(tc, test_merge_dedupes_and_completes);
    tcase_add_test(tc, test_full_disk_then_resume);
    tcase_add_test(tc, test_partial_score_order_independent);
    tcase_add_test(tc, test_scoreboard_many_tasks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
