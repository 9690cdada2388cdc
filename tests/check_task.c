/* check_task.c: ARC task loading (common/task_json.c): real tasks, every kind of malformed file
 * with the exact line:col its one-line error must name, task sets from directories. */
#include "compat.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"
#include "task.h"

#define TRAINING BF_SOURCE_DIR "/data/arc-agi-1/training"
#define FIXTURES BF_SOURCE_DIR "/tests/fixtures/tasks"

/* ---- good files ---- */

START_TEST(test_real_007bbfb7)
{
    struct task t;
    char err[256];
    ck_assert_int_eq(task_load_file(TRAINING "/007bbfb7.json", &t, err, sizeof err), 0);
    ck_assert_str_eq(t.name, "007bbfb7");
    ck_assert_str_eq(t.path, TRAINING "/007bbfb7.json");
    ck_assert_int_eq(t.n_demo, 5);
    ck_assert_int_eq(t.n_test, 1);
    /* train[0].input is [[0,7,7],[7,7,7],[0,7,7]], its output 9x9 */
    const struct sample *s = &t.samples[0];
    ck_assert_int_eq(s->kind, SAMPLE_DEMO);
    ck_assert_int_eq(s->index, 0);
    ck_assert(s->has_output);
    ck_assert_int_eq(s->input.h, 3);
    ck_assert_int_eq(s->input.w, 3);
    static const uint8_t in0[9] = { 0, 7, 7, 7, 7, 7, 0, 7, 7 };
    ck_assert_mem_eq(s->input.cell, in0, 9);
    ck_assert_int_eq(s->output.h, 9);
    ck_assert_int_eq(s->output.w, 9);
    ck_assert_int_eq(grid_at(&s->output, 0, 0), 0);
    ck_assert_int_eq(grid_at(&s->output, 0, 1), 0);
    ck_assert_int_eq(grid_at(&s->output, 0, 3), 0);
    ck_assert_int_eq(grid_at(&s->output, 0, 4), 7);
    ck_assert_int_eq(grid_at(&s->output, 8, 8), 7);
    /* the test pair comes last: test/0, input [[7,0,7],[7,0,7],[7,7,0]] */
    const struct sample *ts = &t.samples[5];
    ck_assert_int_eq(ts->kind, SAMPLE_TEST);
    ck_assert_int_eq(ts->index, 0);
    ck_assert(ts->has_output);
    static const uint8_t tin[9] = { 7, 0, 7, 7, 0, 7, 7, 7, 0 };
    ck_assert_mem_eq(ts->input.cell, tin, 9);
    ck_assert_int_eq(t.samples[4].index, 4);
    ck_assert_str_eq(sample_kind_name(ts->kind), "test");
    ck_assert_str_eq(sample_kind_name(s->kind), "demo");
    task_release(&t);
}
END_TEST

START_TEST(test_real_30x30)
{
    struct task t;
    char err[256];
    ck_assert_int_eq(task_load_file(TRAINING "/1f85a75f.json", &t, err, sizeof err), 0);
    ck_assert_int_eq(t.samples[0].input.h, 30);
    ck_assert_int_eq(t.samples[0].input.w, 30);
    task_release(&t);
}
END_TEST

START_TEST(test_whole_training_set)
{
    struct task_set set = TASK_SET_INIT;
    char *paths[] = { TRAINING };
    ck_assert_int_eq(task_set_load(&set, paths, 1, stderr), 400);
    ck_assert_uint_eq(set.n, 400);
    ck_assert_uint_eq(set.n_rejected, 0);
    for (size_t i = 1; i < set.n; i++) ck_assert_int_lt(strcmp(set.tasks[i - 1].name, set.tasks[i].name), 0);
    const struct task *t = task_set_find(&set, "007bbfb7");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, "007bbfb7");
    ck_assert_ptr_null(task_set_find(&set, "nope"));
    ck_assert_ptr_nonnull(task_set_find(&set, set.tasks[399].name));
    task_set_release(&set);
    ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(test_prediction_mode)
{
    struct task t;
    char err[256];
    ck_assert_int_eq(task_load_file(FIXTURES "/predict.json", &t, err, sizeof err), 0);
    ck_assert_int_eq(t.n_demo, 1);
    ck_assert_int_eq(t.n_test, 1);
    ck_assert(t.samples[0].has_output);
    ck_assert(!t.samples[1].has_output);
    ck_assert_int_eq(t.samples[1].input.w, 2);
    task_release(&t);
}
END_TEST

static int parse_str(const char *text, struct task *t, char *err, size_t errlen)
{
    return task_parse("dir/t.json", text, strlen(text), t, err, errlen);
}

START_TEST(test_accepted_variants)
{
    struct task t;
    char err[256];
    /* unknown keys ignored, empty test list, -0, whitespace of all four kinds, BOM */
    const char *ok = "\xef\xbb\xbf {\"name\":\"x\",\"train\":[{\"input\":[[-0,9]],\"output\":[[1]],\"extra\":{\"a\":[1.5]}}],"
                     "\r\n\t\"test\":[]}  \n";
    ck_assert_msg(parse_str(ok, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(t.name, "t");
    ck_assert_int_eq(t.n_test, 0);
    ck_assert_int_eq(t.samples[0].input.cell[0], 0);
    ck_assert_int_eq(t.samples[0].input.cell[1], 9);
    task_release(&t);
}
END_TEST

/* ---- malformed files: each names the exact place ---- */

struct bad_case {
    const char *text;   /* NULL: built by the test (see bad_text) */
    const char *at;     /* the error is at the first occurrence of this in text ("" = end of text) */
    int rc;
    const char *reason; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    /* syntax */
    { "", "", BF_EJSON, "empty file" },
    { "  \n  ", "", BF_EJSON, "empty file" },
    { "{\"train\": [", "", BF_EJSON, "unexpected end of file" },
    { "{\"train\": [{\"input\": [[1, 2], [3", "", BF_EJSON, "unexpected end of file" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]},],\"test\":[]}", ",]", BF_EJSON, "trailing comma" },
    { "{\"train\":[{\"input\":[[1,]],\"output\":[[1]]}],\"test\":[]}", ",]]", BF_EJSON, "trailing comma" },
    { "{\"train\":[],\"test\":[],}", ",}", BF_EJSON, "trailing comma" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[]} x", "x", BF_EJSON, "trailing characters" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[]}{}", "{}", BF_EJSON, "trailing characters" },
    { "{\"train\":[{\"input\":[[01]],\"output\":[[1]]}],\"test\":[]}", "01", BF_EJSON, "leading zero" },
    { "{\"train\":[{\"input\":[[+1]],\"output\":[[1]]}],\"test\":[]}", "+1", BF_EJSON, "unexpected '+'" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[\"abc]}", "\"abc", BF_EJSON, "unterminated string" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[\"a\\qb\"]}", "\\q", BF_EJSON, "bad escape" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[tru]}", "tru", BF_EJSON, "expected a JSON value" },
    { "{\"train\":[{\"input\":[[1]] \"output\":[[1]]}],\"test\":[]}", "\"output", BF_EJSON, "expected ',' or '}'" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[]}\x01", "\x01", BF_EJSON, "trailing characters after the JSON value: byte 0x01" },
    { "{\"train\":\x01[]}", "\x01", BF_EJSON, "unexpected byte 0x01, expected a JSON value" },
    { "{'train':[]}", "'", BF_EJSON, "expected a string key" },
    /* wrong types */
    { "[1, 2]", "[1", BF_ETASK, "must be a JSON object, found a list" },
    { "{\"train\":{\"a\":1},\"test\":[]}", "{\"a\"", BF_ETASK, "\"train\" must be a list of pairs, found an object" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":7}", "7", BF_ETASK, "\"test\" must be a list" },
    { "{\"train\":[[1]],\"test\":[]}", "[1]]", BF_ETASK, "train pair must be an object, found a list" },
    { "{\"train\":[{\"input\":\"abc\",\"output\":[[1]]}],\"test\":[]}", "\"abc\"", BF_ETASK,
      "grid must be a list of rows, found a string" },
    { "{\"train\":[{\"input\":[1,2],\"output\":[[1]]}],\"test\":[]}", "1,2", BF_ETASK,
      "row must be a list of colours, found a number" },
    { "{\"train\":[{\"input\":[[1,\"3\"]],\"output\":[[1]]}],\"test\":[]}", "\"3\"", BF_ETASK,
      "colour must be an integer 0..9, found a string" },
    { "{\"train\":[{\"input\":[[true]],\"output\":[[1]]}],\"test\":[]}", "true", BF_ETASK, "found true" },
    { "{\"train\":[{\"input\":[[null]],\"output\":[[1]]}],\"test\":[]}", "null", BF_ETASK, "found null" },
    { "{\"train\":[{\"input\":[[[1]]],\"output\":[[1]]}],\"test\":[]}", "[1]]]", BF_ETASK, "found a list" },
    { "{\"train\":[{\"input\":[[1.5]],\"output\":[[1]]}],\"test\":[]}", "1.5", BF_ETASK,
      "must be an integer 0..9, found 1.5" },
    { "{\"train\":[{\"input\":[[2, 1.0]],\"output\":[[1]]}],\"test\":[]}", "1.0", BF_ETASK, "found 1.0" },
    { "{\"train\":[{\"input\":[[1e0]],\"output\":[[1]]}],\"test\":[]}", "1e0", BF_ETASK, "found 1e0" },
    /* shapes */
    { "{\"train\":[{\"input\":[[1,2],[3]],\"output\":[[1]]}],\"test\":[]}", "[3]", BF_ETASK,
      "ragged grid: row 2 has 1 cells, row 1 has 2" },
    { "{\"train\":[{\"input\":[[1],[2],[3,4]],\"output\":[[1]]}],\"test\":[]}", "[3,4]", BF_ETASK, "ragged grid" },
    { "{\"train\":[{\"input\":[],\"output\":[[1]]}],\"test\":[]}", "[]", BF_ETASK, "empty grid" },
    { "{\"train\":[{\"input\":[[]],\"output\":[[1]]}],\"test\":[]}", "[]]", BF_ETASK, "empty grid row" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1],[]]}],\"test\":[]}", "[]]", BF_ETASK, "empty grid row" },
    /* colours */
    { "{\"train\":[{\"input\":[[-1]],\"output\":[[1]]}],\"test\":[]}", "-1", BF_ETASK, "colour -1 out of range 0..9" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[0,10]]}],\"test\":[]}", "10", BF_ETASK, "colour 10 out of range" },
    { "{\"train\":[{\"input\":[[12]],\"output\":[[1]]}],\"test\":[]}", "12", BF_ETASK, "colour 12 out of range" },
    { "{\"train\":[{\"input\":[[1e400]],\"output\":[[1]]}],\"test\":[]}", "1e400", BF_ETASK, "found 1e400" },
    { "{\"train\":[{\"input\":[[99999999999]],\"output\":[[1]]}],\"test\":[]}", "999", BF_ETASK,
      "colour 99999999999 out of range" },
    { "{\"train\":[{\"input\":[[99999999999999999999]],\"output\":[[1]]}],\"test\":[]}", "999", BF_ETASK,
      "colour 99999999999999999999 out of range" },
    { "{\"train\":[{\"input\":[[-99999999999999999999999999999999999]],\"output\":[[1]]}],\"test\":[]}", "-9",
      BF_ETASK, "colour -99999999999999999999999..." },
    /* keys */
    { "{\"test\":[]}", "{", BF_ETASK, "missing key \"train\"" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}]}", "{", BF_ETASK, "missing key \"test\"" },
    { "{\"train\":[],\"test\":[]}", "[]", BF_ETASK, "\"train\" has no pairs" },
    { "{\"train\":[{\"output\":[[1]]}],\"test\":[]}", "{\"output", BF_ETASK, "train pair 0 has no \"input\"" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]},{\"input\":[[1]]}],\"test\":[]}", "{\"input\":[[1]]}]", BF_ETASK,
      "train pair 1 has no \"output\"" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[{\"output\":[[1]]}]}", "{\"output", BF_ETASK,
      "test pair 0 has no \"input\"" },
    { "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"Train\":[],\"test\":[],\"train\":[]}", "\"train\":[]}",
      BF_ETASK, "duplicate key \"train\"" },
    { "{\"train\":[{\"input\":[[1]],\"input\":[[2]],\"output\":[[1]]}],\"test\":[]}", "\"input\":[[2]]", BF_ETASK,
      "duplicate key \"input\"" },
    { "{\"name\":{\"a\":1,\"b\":2,\"a\":3},\"train\":[],\"test\":[]}", "\"a\":3", BF_ETASK, "duplicate key \"a\"" },
    { "{\"x\\ny\":1,\"x\\ny\":2}", "\"x\\ny\":2", BF_ETASK, "duplicate key \"x?y\"" },
};

/* Expected "dir/t.json:L:C: " for byte offset off of text. */
static void expected_prefix(const char *text, size_t off, char *buf, size_t cap)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(buf, cap, "dir/t.json:%zu:%zu: ", line, col);
}

/* Parses text and checks the one-line error: its code, its place (byte offset off), its reason. */
static void check_bad_at(const char *text, size_t len, size_t off, int want_rc, const char *reason)
{
    struct task t;
    char err[512], prefix[128];
    int rc = task_parse("dir/t.json", text, len, &t, err, sizeof err);
    ck_assert_msg(rc == want_rc, "rc %d (%s), want %d for: %.80s", rc, err, want_rc, text);
    expected_prefix(text, off, prefix, sizeof prefix);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\", want prefix \"%s\"", err, prefix);
    ck_assert_msg(strstr(err, reason) != NULL, "error \"%s\" lacks \"%s\"", err, reason);
    ck_assert_msg(strchr(err, '\n') == NULL, "error \"%s\" is not one line", err);
    ck_assert_ptr_null(t.samples);
    ck_assert_ptr_null(t.path);
}

/* Same, the place being the first occurrence of at in text ("" = the end of the text). */
static void check_bad(const char *text, size_t len, const char *at, int want_rc, const char *reason)
{
    size_t off = len;
    if (*at) {
        const char *p = memmem(text, len, at, strlen(at));
        ck_assert_msg(p != NULL, "bad test: \"%s\" not in the text", at);
        off = (size_t)(p - text);
    }
    check_bad_at(text, len, off, want_rc, reason);
}

START_TEST(test_bad_cases)
{
    const struct bad_case *c = &bad_cases[_i];
    check_bad(c->text, strlen(c->text), c->at, c->rc, c->reason);
}
END_TEST

START_TEST(test_nul_bytes)
{
    /* cJSON skips NUL as whitespace; the scanner does not */
    static const char inside[] = "{\"train\":\0[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[]}";
    check_bad_at(inside, sizeof inside - 1, 9, BF_EJSON, "NUL byte in JSON text");
    static const char after[] = "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[]}\0";
    check_bad_at(after, sizeof after - 1, sizeof after - 2, BF_EJSON, "trailing characters");
    static const char in_string[] = "{\"train\":[{\"input\":[[1]],\"output\":[[1]]}],\"test\":[],\"n\":\"a\0b\"}";
    check_bad_at(in_string, sizeof in_string - 1, sizeof in_string - 5, BF_EJSON, "control byte 0x00 inside a string");
}
END_TEST

START_TEST(test_multiline_position)
{
    const char *text = "{\n  \"train\": [\n    {\"input\": [[1, 2],\n               [3, 4, 5]],\n"
                       "     \"output\": [[1]]}\n  ],\n  \"test\": []\n}\n";
    /* the ragged row starts on line 4, column 16 */
    struct task t;
    char err[256];
    ck_assert_int_eq(parse_str(text, &t, err, sizeof err), BF_ETASK);
    ck_assert_msg(strncmp(err, "dir/t.json:4:16: ragged grid", 28) == 0, "%s", err);
    check_bad(text, strlen(text), "[3, 4, 5]", BF_ETASK, "ragged");
}
END_TEST

/* A task whose first input grid is h x w, all zeros. */
static char *grid_task(int h, int w)
{
    size_t cap = (size_t)h * (size_t)w * 2 + (size_t)h * 4 + 200;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    size_t n = (size_t)snprintf(s, cap, "{\"train\":[{\"input\":[");
    for (int i = 0; i < h; i++) {
        s[n++] = '[';
        for (int j = 0; j < w; j++) {
            s[n++] = (char)('0' + (i + j) % 10);
            if (j + 1 < w) s[n++] = ',';
        }
        s[n++] = ']';
        if (i + 1 < h) s[n++] = ',';
    }
    snprintf(s + n, cap - n, "],\"output\":[[1]]}],\"test\":[]}");
    return s;
}

START_TEST(test_grid_limits)
{
    struct task t;
    char err[256];
    char *s = grid_task(30, 30);
    ck_assert_msg(parse_str(s, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.samples[0].input.h, 30);
    ck_assert_int_eq(grid_at(&t.samples[0].input, 29, 28), (29 + 28) % 10);
    task_release(&t);
    free(s);

    /* 31 rows: the error is at row 31 */
    s = grid_task(31, 1);
    size_t off = strlen("{\"train\":[{\"input\":[") + 30 * 4;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "dir/t.json:1:%zu: ", off + 1);
    ck_assert_int_eq(parse_str(s, &t, err, sizeof err), BF_ETASK);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, "more than 30 rows"), "%s", err);
    free(s);

    /* 31 columns: the error is at cell 31 of row 1 */
    s = grid_task(31, 31);
    off = strlen("{\"train\":[{\"input\":[[") + 30 * 2;
    snprintf(prefix, sizeof prefix, "dir/t.json:1:%zu: ", off + 1);
    ck_assert_int_eq(parse_str(s, &t, err, sizeof err), BF_ETASK);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, "longer than 30"), "%s", err);
    free(s);
}
END_TEST

START_TEST(test_too_many_pairs)
{
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"train\":[");
    for (int i = 0; i < PROTO_MAX_SAMPLES; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s{\"input\":[[1]],\"output\":[[2]]}", i ? "," : "");
    n += (size_t)snprintf(buf + n, sizeof buf - n, "],\"test\":[]}");
    struct task t;
    char err[256];
    ck_assert_msg(parse_str(buf, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t.n_demo, PROTO_MAX_SAMPLES);
    ck_assert_int_eq(t.samples[PROTO_MAX_SAMPLES - 1].index, PROTO_MAX_SAMPLES - 1);
    task_release(&t);
    snprintf(buf + n - 3, sizeof buf - n + 3, "[{\"input\":[[1]]}]}");
    check_bad(buf, strlen(buf), "[{\"input\":[[1]]}]}", BF_ETASK, "too many pairs");
}
END_TEST

START_TEST(test_deep_nesting)
{
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"train\":[],\"x\":");
    for (int i = 0; i < 300; i++) buf[n++] = '[';
    for (int i = 0; i < 300; i++) buf[n++] = ']';
    snprintf(buf + n, sizeof buf - n, "}");
    struct task t;
    char err[256];
    ck_assert_int_eq(parse_str(buf, &t, err, sizeof err), BF_EJSON);
    ck_assert_msg(strstr(err, "nesting deeper than"), "%s", err);
}
END_TEST

START_TEST(test_file_errors)
{
    struct task t;
    char err[512];
    int rc = task_load_file(FIXTURES "/no-such-file.json", &t, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_msg(strstr(err, FIXTURES "/no-such-file.json:1:1: cannot open") == err, "%s", err);

    ck_assert_int_eq(task_load_file(FIXTURES "/mixed", &t, err, sizeof err), BF_ETASK);
    ck_assert_msg(strstr(err, "not a regular file"), "%s", err);

    /* a sparse file above the size limit is refused before it is read */
    char path[] = "/tmp/bf-check-task-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)17 << 20), 0);
    close(fd);
    rc = task_load_file(path, &t, err, sizeof err);
    unlink(path);
    ck_assert_int_eq(rc, BF_ETASK);
    ck_assert_msg(strstr(err, ":1:1: file is 17825792 bytes, above the 16 MiB limit"), "%s", err);

    /* the name comes from the file name; one too long for struct task is refused */
    char longname[128];
    memset(longname, 'n', 70);
    strcpy(longname + 70, ".json");
    ck_assert_int_eq(task_parse(longname, "{}", 2, &t, err, sizeof err), BF_ETASK);
    ck_assert_msg(strstr(err, "task name longer than 63"), "%s", err);
    /* a tiny err buffer still gets a terminated prefix */
    char tiny[8];
    ck_assert_int_eq(task_parse("dir/t.json", "[", 1, &t, tiny, sizeof tiny), BF_EJSON);
    ck_assert_str_eq(tiny, "dir/t.j");
    ck_assert_int_eq(task_parse("dir/t.json", "[", 1, &t, NULL, 0), BF_EJSON);
}
END_TEST

/* Reads everything written to a tmpfile. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    return s;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(test_directory)
{
    struct task_set set = TASK_SET_INIT;
    FILE *errs = tmpfile();
    ck_assert_ptr_nonnull(errs);
    char *paths[] = { FIXTURES "/mixed", FIXTURES "/predict.json" };
    ck_assert_int_eq(task_set_load(&set, paths, 2, errs), 3);
    ck_assert_uint_eq(set.n, 3);
    ck_assert_uint_eq(set.n_rejected, 2);
    ck_assert_str_eq(set.tasks[0].name, "a_good");
    ck_assert_str_eq(set.tasks[1].name, "b_good");
    ck_assert_str_eq(set.tasks[2].name, "predict");
    ck_assert_int_eq(set.tasks[0].n_demo, 2);
    ck_assert(!set.tasks[0].samples[2].has_output);
    char *log = slurp(errs);
    ck_assert_int_eq(count_lines(log), 2);
    /* in name order: c_ragged (its second row, line 1) before d_truncated (end of file, line 3) */
    const char *c = strstr(log, FIXTURES "/mixed/c_ragged.json:1:31: ragged grid");
    const char *d = strstr(log, FIXTURES "/mixed/d_truncated.json:3:1: unexpected end of file");
    ck_assert_msg(c && d && c < d, "%s", log);
    free(log);

    /* loading the directory again: its two good tasks are duplicates, kept once */
    rewind(errs);
    ck_assert_int_eq(ftruncate(fileno(errs), 0), 0);
    char *again[] = { FIXTURES "/mixed" };
    ck_assert_int_eq(task_set_load(&set, again, 1, errs), 0);
    ck_assert_uint_eq(set.n, 3);
    ck_assert_uint_eq(set.n_rejected, 6);
    log = slurp(errs);
    ck_assert_int_eq(count_lines(log), 4);
    ck_assert_msg(strstr(log, FIXTURES "/mixed/a_good.json:1:1: duplicate task name \"a_good\""), "%s", log);
    free(log);

    /* a path that does not exist cannot be read at all */
    rewind(errs);
    char *missing[] = { FIXTURES "/nothing-here" };
    ck_assert_int_eq(task_set_load(&set, missing, 1, errs), -ENOENT);
    ck_assert_uint_eq(set.n, 3);
    fclose(errs);
    task_set_release(&set);
}
END_TEST

static Suite *task_suite(void)
{
    Suite *s = suite_create("task");
    TCase *good = tcase_create("good");
    tcase_set_timeout(good, 30);
    tcase_add_test(good, test_real_007bbfb7);
    tcase_add_test(good, test_real_30x30);
    tcase_add_test(good, test_whole_training_set);
    tcase_add_test(good, test_prediction_mode);
    tcase_add_test(good, test_accepted_variants);
    suite_add_tcase(s, good);
    TCase *bad = tcase_create("bad");
    tcase_add_loop_test(bad, test_bad_cases, 0, (int)BF_ARRAY_LEN(bad_cases));
    tcase_add_test(bad, test_nul_bytes);
    tcase_add_test(bad, test_multiline_position);
    tcase_add_test(bad, test_grid_limits);
    tcase_add_test(bad, test_too_many_pairs);
    tcase_add_test(bad, test_deep_nesting);
    tcase_add_test(bad, test_file_errors);
    suite_add_tcase(s, bad);
    TCase *sets = tcase_create("sets");
    tcase_add_test(sets, test_directory);
    suite_add_tcase(s, sets);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(task_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
