/* check_prims.c: runs every tests/prims/NAME.test file: each line "EXPR<TAB>EXPECTED" (made by
 * tools/prim_expect.py from CPython running Hodel's dsl.py) is evaluated with a 2 s limit and
 * compared with CPython's repr, `<function>`, `<tuple with functions>` or `!ExceptionName`.
 * Every mismatching line is reported as file:line with expected and got; the test fails at the
 * end if any line did. */
#include "compat.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dsl.h"
#include "eval.h"
#include "literal.h"

#define LINE_LIMIT_MS 2000
#define LINE_MEM_LIMIT ((size_t)512 << 20)

static val lit_body(void *ctx)
{
    return lit_eval(ctx);
}

static bool tuple_has_function(val v)
{
    if (v.kind != V_TUPLE)
        return false;
    for (uint32_t i = 0; i < tup_len(v); i++)
        if (v_is_func(tup_get(v, i)))
            return true;
    return false;
}

/* What we got, in the expected column's vocabulary. */
static void describe(const struct eval_result *r, const char *expected, struct strbuf *got)
{
    if (r->outcome == DSL_ERROR) {
        const char *colon = strchr(r->msg, ':');
        sb_printf(got, "!%.*s", colon ? (int)(colon - r->msg) : (int)strlen(r->msg), r->msg);
    } else if (r->outcome != DSL_OK) {
        sb_printf(got, "<%s>", r->msg);
    } else if (strcmp(expected, "<function>") == 0 && v_is_func(r->value)) {
        sb_puts(got, "<function>");
    } else if (strcmp(expected, "<tuple with functions>") == 0 && tuple_has_function(r->value)) {
        sb_puts(got, "<tuple with functions>");
    } else {
        val_repr(r->value, got);
    }
}

/* Checks one "EXPR\tEXPECTED" line; returns true when it matches. */
static bool check_line(const char *path, int lineno, char *line)
{
    char *tab = strchr(line, '\t');
    if (tab == NULL) {
        fprintf(stderr, "%s:%d: no TAB between expression and expected value\n", path, lineno);
        return false;
    }
    *tab = '\0';
    const char *expected = tab + 1;
    char err[200];
    struct lit_node *n = lit_parse(line, err, sizeof(err));
    if (n == NULL) {
        fprintf(stderr, "%s:%d: %s: %s\n", path, lineno, line, err);
        return false;
    }
    struct eval_result r;
    eval_call_protected(lit_body, n, LINE_LIMIT_MS, LINE_MEM_LIMIT, &r);
    struct strbuf got = { 0 };
    describe(&r, expected, &got);
    bool ok = strcmp(got.p ? got.p : "", expected) == 0;
    if (!ok)
        fprintf(stderr, "%s:%d: %s\n  expected %.400s\n  got      %.400s%s%s\n", path, lineno, line, expected,
                got.p ? got.p : "", r.outcome == DSL_ERROR ? "  -- " : "", r.outcome == DSL_ERROR ? r.msg : "");
    sb_release(&got);
    lit_free(n);
    dsl_arena_reset(dsl_arena_default());
    return ok;
}

/* Returns the number of mismatching lines of one file whose expression starts with prefix
 * (NULL: every line); counts its checked lines in *lines. */
static int check_file(const char *path, const char *prefix, int *lines)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, bad = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '#' || (prefix != NULL && strncmp(p, prefix, strlen(prefix)) != 0))
            continue;
        (*lines)++;
        bad += !check_line(path, lineno, line);
    }
    free(line);
    fclose(f);
    return bad;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_prim_files)
{
    eval_init();
    const char *dir = BF_SOURCE_DIR "/tests/prims";
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".test") == 0) {
            names = realloc(names, (n + 1) * sizeof(*names));
            ck_assert(names != NULL);
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    int bad = 0, lines = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        bad += check_file(path, NULL, &lines);
        free(names[i]);
    }
    free(names);
    fprintf(stderr, "check_prims: %zu files, %d lines, %d mismatches\n", n, lines, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* objects() has a second path for grids of more than 65536 cells: when each object and the
 * result have every item in its home slot it keeps the objects grown in row-major order; otherwise
 * it visits the object starts by a pass over asindices' table or, when they are few, in the
 * order of the slots they were recorded at as its last table was filled. Here it takes every
 * rectangular grid, each way in turn, and must give CPython's value on every objects line of
 * grid.test; the first way must have answered some lines and passed others on. */
START_TEST(test_objects_big_path)
{
    eval_init();
    static const struct { int64_t find_ratio; bool any_order; const char *how; } ways[] = {
        { -1, true, "in any order where it can" },
        { INT64_MAX, false, "a pass over the table" },
        { 0, false, "the starts recorded in the last table" },
    };
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        dsl_debug_objects_big(1, ways[w].find_ratio, ways[w].any_order);
        int lines = 0;
        uint64_t any_order0 = dsl_rt.objects_any_order;
        int bad = check_file(BF_SOURCE_DIR "/tests/prims/grid.test", "objects(", &lines);
        uint64_t any_order = dsl_rt.objects_any_order - any_order0;
        dsl_debug_objects_big(0, -1, true);
        fprintf(stderr, "check_prims: objects() through its big-grid path, %s: %d lines, %d mismatches, %llu in any order\n",
                ways[w].how, lines, bad, (unsigned long long)any_order);
        ck_assert_int_ge(lines, 100);
        ck_assert_int_eq(bad, 0);
        if (ways[w].any_order) {
            ck_assert_uint_ge(any_order, 20);
            ck_assert_uint_le(any_order, (uint64_t)lines - 20);
        } else {
            ck_assert_uint_eq(any_order, 0);
        }
    }
}
END_TEST

/* The recorded starts against the pass over the table (the way grid.test checks against
 * CPython), and both against objects()' own path for these small grids, on random grids of 8 x 8
 * to 40 x 40 cells with a few objects of one to four cells or with cells in 3 colours on 20% to
 * 60% of the grid: asindices' table is filled up to 60%, so many starts sit past their home slot,
 * and with many starts the order they are visited in depends on the exact slot each was recorded
 * at. The big-grid path takes the cells that differ from mostcolor from mostcolor's own pass when
 * its guess (the last cell) is right; every fifth grid's last cell is coloured, so that guess is
 * wrong there. */
static void objects_big_repr(const char *expr, int64_t find_ratio, struct strbuf *out)
{
    if (find_ratio >= 0) /* else the defaults: these grids are small, objects() takes its own path */
        dsl_debug_objects_big(1, find_ratio, false);
    char err[200];
    struct lit_node *n = lit_parse(expr, err, sizeof(err));
    ck_assert_msg(n != NULL, "%s", err);
    struct eval_result r;
    eval_call_protected(lit_body, n, LINE_LIMIT_MS, LINE_MEM_LIMIT, &r);
    ck_assert_msg(r.outcome == DSL_OK, "%s", r.msg);
    val_repr(r.value, out);
    lit_free(n);
    dsl_arena_reset(dsl_arena_default());
    dsl_debug_objects_big(0, -1, true);
}

/* objects(grid, univalued, diagonal, True) for the h x w cells at cell (rows `stride` apart). */
static void objects_expr(struct strbuf *expr, const uint8_t *cell, int stride, int h, int w, bool univalued,
                         bool diagonal)
{
    sb_puts(expr, "objects((");
    for (int i = 0; i < h; i++) {
        sb_puts(expr, "(");
        for (int j = 0; j < w; j++)
            sb_printf(expr, "%d,", cell[i * stride + j]);
        sb_puts(expr, "),");
    }
    sb_printf(expr, "), %s, %s, True)", univalued ? "True" : "False", diagonal ? "True" : "False");
}

START_TEST(test_objects_big_recorded_starts)
{
    eval_init();
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int g = 0; g < 300; g++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int h = 8 + (int)(seed >> 33) % 33, w = 8 + (int)(seed >> 45) % 33;
        static uint8_t cell[40][40];
        memset(cell, 0, sizeof cell);
        int blobs = g % 3 == 0 ? 2 + g % 12 : h * w / (g % 3 == 1 ? 8 : 3); /* a few, or 20-60% */
        for (int b = 0; b < blobs; b++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            int i = (int)(seed >> 33) % h, j = (int)(seed >> 45) % w, c = 1 + (int)(seed >> 60) % 3;
            for (int k = 0; k < 1 + (int)(seed >> 20) % 4; k++)
                if (i + k / 2 < h && j + k % 2 < w)
                    cell[i + k / 2][j + k % 2] = (uint8_t)c;
        }
        if (g % 5 == 4) /* mostcolor's pass guesses the last cell's colour: here a wrong guess */
            cell[h - 1][w - 1] = (uint8_t)(1 + g % 3);
        struct strbuf expr = { 0 };
        objects_expr(&expr, &cell[0][0], 40, h, w, g % 2, g % 4 < 2);
        struct strbuf by_pass = { 0 }, by_record = { 0 }, by_small = { 0 };
        objects_big_repr(expr.p, INT64_MAX, &by_pass);
        objects_big_repr(expr.p, 0, &by_record);
        ck_assert_msg(strcmp(by_pass.p, by_record.p) == 0, "%s\n  a pass over the table: %s\n  recorded starts:      %s",
                      expr.p, by_pass.p, by_record.p);
        /* the grid's own path (its cells compared with mostcolor one by one, no marks) */
        objects_big_repr(expr.p, -1, &by_small);
        ck_assert_msg(strcmp(by_pass.p, by_small.p) == 0, "%s\n  big-grid path: %s\n  its own path:  %s", expr.p,
                      by_pass.p, by_small.p);
        sb_release(&expr);
        sb_release(&by_pass);
        sb_release(&by_record);
        sb_release(&by_small);
    }
}
END_TEST

/* Grids of 2 or 3 rows of 2,100 to 5,000 cells (as solve_91413438 pads its input): with a few
 * object starts they take the big-grid path although they are under its size (a side too long
 * for the shape cache), with many they keep their own; either way the objects are those of the
 * grid's own path. Half of them have their starts in the first 30 columns, as 91413438's have. */
START_TEST(test_objects_mid_grids)
{
    eval_init();
    uint64_t seed = 0x2545f4914f6cdd1du;
    for (int g = 0; g < 24; g++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int h = 2 + g % 2, w = 2100 + (int)(seed >> 33) % 2901;
        bool many = g % 6 == 5;
        int cells = many ? h * w / 3 : 2 + g % 40, cols = g % 2 ? w : 30;
        static uint8_t cell[3][5000];
        memset(cell, 0, sizeof cell);
        for (int k = 0; k < cells; k++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            cell[(seed >> 33) % (uint64_t)h][(seed >> 40) % (uint64_t)cols] = (uint8_t)(1 + (seed >> 60) % 3);
        }
        struct strbuf expr = { 0 };
        objects_expr(&expr, &cell[0][0], 5000, h, w, g % 4 < 2, g % 3);
        struct strbuf by_default = { 0 }, by_own = { 0 };
        uint64_t mid0 = dsl_rt.objects_mid_big;
        objects_big_repr(expr.p, -1, &by_default);
        uint64_t mid = dsl_rt.objects_mid_big - mid0;
        dsl_debug_objects_mid(false);
        objects_big_repr(expr.p, -1, &by_own);
        dsl_debug_objects_mid(true);
        ck_assert_uint_eq(dsl_rt.objects_mid_big - mid0, mid); /* the own path, the second time */
        ck_assert_msg(mid == (many ? 0u : 1u), "grid %d (%d x %d, %d starts): big-grid path taken %llu times", g, h, w,
                      cells, (unsigned long long)mid);
        ck_assert_msg(strcmp(by_default.p, by_own.p) == 0, "grid %d (%d x %d)\n  big-grid path: %s\n  its own path:  %s",
                      g, h, w, by_default.p, by_own.p);
        sb_release(&expr);
        sb_release(&by_default);
        sb_release(&by_own);
    }
}
END_TEST

static Suite *prims_suite(void)
{
    Suite *s = suite_create("prims");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_prim_files);
    tcase_add_test(tc, test_objects_big_path);
    tcase_add_test(tc, test_objects_big_recorded_starts);
    tcase_add_test(tc, test_objects_mid_grids);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prims_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
