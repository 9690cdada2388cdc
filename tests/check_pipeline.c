/* check_pipeline.c: `battfarm score` and `battfarm report` end to end, with the real binaries and
 * real worker processes: dedup and invalid candidates, --own, scores.jsonl and rankings, the
 * store (written atomically, read back as a candidate pile), the HTML report, submission.json
 * for a task without test outputs, and --resume scheduling nothing new. */
#include "compat.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

START_TEST(test_resume_adds_nothing)
{
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 0);
    char *first = strdup(read_file("out/scores.jsonl"));
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out"), 2); /* journal exists: usage error */
    ck_assert_int_eq(battfarm("score progs --tasks tasks --out out --resume"), 0);
    ck_assert_int_eq(count_lines(read_file("out/results.jsonl"), "\n"), 33);
    ck_assert_str_eq(read_file("out/scores.jsonl"), first);
    free(first);
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

START_TEST(test_usage_errors)
{
    ck_assert_int_eq(battfarm("score --tasks tasks"), 2);
    ck_assert_int_eq(battfarm("score progs --tasks tasks --gpus 1-x"), 2);
    ck_assert_int_eq(battfarm("report progs --tasks tasks --out nowhere"), 2);
    ck_assert_int_eq(battfarm_raw("frobnicate"), 2);
    ck_assert_int_eq(battfarm_raw("check"), 2);
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
