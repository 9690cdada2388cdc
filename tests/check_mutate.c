/* check_mutate.c: the mutation tool (tools/mutate.h, battfarm-mutate). Mutants must re-parse
 * with our parser and pass the static check, differ from their parent and from each other by
 * canonical hash, keep the def name, and be the same for the same seed. */
#include "compat.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/mutate.h"
#include "primtab.h"
#include "program.h"

static const char *const inline_progs[] = {
    "def solve_tiny(I):\n"
    "    O = vmirror(I)\n"
    "    return O\n",
    "# a comment\n"
    "def solve_fork(I):\n"
    "    x1 = objects(I, T, F, T)\n"
    "    x2 = compose(hfrontier, center)\n"
    "    x3 = fork(recolor, color, x2)\n"
    "    x4 = mapply(x3, x1)\n"
    "    O = paint(I, x4)\n"
    "    return O\n",
    "def solve_callvar(I):\n"
    "    x1 = portrait(I)\n"
    "    x2 = branch(x1, vsplit, hsplit)\n"
    "    x3 = x2(I, THREE)\n"
    "    x4 = rbind(ofcolor, ZERO)\n"
    "    x5 = apply(x4, x3)\n"
    "    x6 = leastcommon(x5)\n"
    "    x7 = matcher(x4, x6)\n"
    "    O = extract(x3, x7)\n"
    "    return O\n",
};

static const char *const file_progs[] = {"007bbfb7", "1bfc4729", "a87f7484", "d037b0a7", "d4469b4b"};

/* Parses text; exactly one program expected. */
static void parse_one(struct program_file *pf, const char *name, const char *text)
{
    *pf = (struct program_file)PROGRAM_FILE_INIT;
    int n = program_parse(pf, name, text, strlen(text), stderr);
    ck_assert_msg(n == 1 && pf->n == 1 && pf->n_errors == 0, "%s: parse failed:\n%s", name, text);
}

/* The text of mutant k (malloc'd). */
static char *mutant_text(const struct program *p, const struct pnode *nodes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(mutate_write(f, p, nodes, "test mutant"), 0);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            ck_assert_ptr_nonnull(nb);
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Mutates p (count mutants, seed) and checks every mutant; returns the concatenated texts. */
static char *check_mutants(const struct program *p, uint64_t seed, double rate, int count, int min_made)
{
    struct pnode *m = NULL;
    int made = mutate_program(p, seed, rate, count, &m);
    ck_assert_msg(made >= min_made && made <= count, "%s: %d mutants of %d", p->name, made, count);
    uint64_t parent = program_hash(p);
    uint64_t *hs = calloc((size_t)made + 1, sizeof *hs);
    ck_assert_ptr_nonnull(hs);
    size_t all_len = 0;
    char *all = calloc(1, 1);
    for (int k = 0; k < made; k++) {
        const struct pnode *nodes = m + (size_t)k * p->n;
        /* arity of primitive callees kept */
        for (uint32_t j = 0; j < p->n; j++)
            if (nodes[j].callee.kind == REF_PRIM)
                ck_assert_uint_eq(nodes[j].nargs, prim_table[nodes[j].callee.id].arity);
        char *text = mutant_text(p, nodes);
        struct program_file pf;
        parse_one(&pf, "mutant", text);
        struct program *q = &pf.progs[0];
        ck_assert_str_eq(q->name, p->name);
        ck_assert_msg(program_check(q), "%s: mutant %d fails the static check: %s\n%s", p->name, k, q->why, text);
        struct program tmp = *p;
        tmp.nodes = (struct pnode *)(uintptr_t)nodes;
        uint64_t h = program_hash(q);
        ck_assert_uint_eq(h, program_hash(&tmp)); /* written text == mutant */
        ck_assert_msg(h != parent, "%s: mutant %d equals its parent\n%s", p->name, k, text);
        for (int i = 0; i < k; i++)
            ck_assert_msg(hs[i] != h, "%s: mutants %d and %d are equal", p->name, i, k);
        hs[k] = h;
        size_t tl = strlen(text);
        char *na = realloc(all, all_len + tl + 1);
        ck_assert_ptr_nonnull(na);
        all = na;
        memcpy(all + all_len, text, tl + 1);
        all_len += tl;
        free(text);
        program_file_release(&pf);
    }
    free(hs);
    free(m);
    return all;
}

START_TEST(test_types_and_rng)
{
    uint32_t any = mut_type_mask("Any", 3), patch = mut_type_mask("Patch", 5);
    ck_assert(patch & mut_type_mask("Object", 6));
    ck_assert(patch & mut_type_mask("Indices", 7));
    ck_assert(patch & mut_type_mask("Piece", 5));
    ck_assert(mut_type_mask("Piece", 5) & mut_type_mask("Grid", 4));
    ck_assert(!(mut_type_mask("Integer", 7) & mut_type_mask("Grid", 4)));
    ck_assert(!(mut_type_mask("Callable", 8) & mut_type_mask("Container", 9)));
    ck_assert(mut_type_mask("Numerical", 9) & mut_type_mask("IntegerTuple", 12));
    ck_assert_uint_eq(any & patch, patch);
    ck_assert_uint_eq(mut_prim_arg_mask(PRIM_fill, 0), mut_type_mask("Grid", 4));
    ck_assert_uint_eq(mut_prim_arg_mask(PRIM_fill, 2), patch);
    ck_assert_uint_eq(mut_prim_ret_mask(PRIM_objects), mut_type_mask("Objects", 7));
    struct mut_rng a, b;
    mut_seed(&a, 42);
    mut_seed(&b, 42);
    for (int i = 0; i < 100; i++) {
        uint64_t x = mut_next(&a);
        ck_assert_uint_eq(x, mut_next(&b));
        ck_assert_uint_lt(mut_below(&a, 7), 7);
        double u = mut_unit(&b);
        ck_assert(u >= 0.0 && u < 1.0);
        (void)mut_next(&b);
        (void)mut_next(&a);
    }
    ck_assert_uint_ne(mutate_seed_for(1, "solve_a"), mutate_seed_for(1, "solve_b"));
    ck_assert_uint_ne(mutate_seed_for(1, "solve_a"), mutate_seed_for(2, "solve_a"));
}
END_TEST

START_TEST(test_inline_programs)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(inline_progs); i++) {
        struct program_file pf;
        parse_one(&pf, "inline", inline_progs[i]);
        const struct program *p = &pf.progs[0];
        /* the one-line program still has 160-odd alternatives */
        char *t1 = check_mutants(p, 7, 0.3, 12, 12);
        char *t2 = check_mutants(p, 7, 0.3, 12, 12);
        ck_assert_str_eq(t1, t2); /* deterministic per seed */
        char *t3 = check_mutants(p, 8, 0.3, 12, 12);
        ck_assert_str_ne(t1, t3);
        free(t1);
        free(t2);
        free(t3);
        program_file_release(&pf);
    }
}
END_TEST

START_TEST(test_data_programs)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(file_progs); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/programs/%s.py", BF_SOURCE_DIR, file_progs[i]);
        struct program_file pf = PROGRAM_FILE_INIT;
        ck_assert_int_eq(program_parse_file(&pf, path, stderr), 1);
        ck_assert(program_check(&pf.progs[0]));
        for (int rate10 = 0; rate10 <= 10; rate10 += 5) {
            char *t1 = check_mutants(&pf.progs[0], 123, rate10 / 10.0, 25, 25);
            char *t2 = check_mutants(&pf.progs[0], 123, rate10 / 10.0, 25, 25);
            ck_assert_str_eq(t1, t2);
            free(t1);
            free(t2);
        }
        program_file_release(&pf);
    }
}
END_TEST

/* The whole committed corpus: every program parses, passes the static check, and mutates. */
START_TEST(test_all_data_programs_mutate)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls %s/data/programs/*.py", BF_SOURCE_DIR);
    FILE *ls = popen(cmd, "r");
    ck_assert_ptr_nonnull(ls);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, ls)) {
        line[strcspn(line, "\n")] = '\0';
        struct program_file pf = PROGRAM_FILE_INIT;
        ck_assert_msg(program_parse_file(&pf, line, stderr) == 1 && pf.n_errors == 0, "%s", line);
        ck_assert_msg(program_check(&pf.progs[0]), "%s: %s", line, pf.progs[0].why);
        free(check_mutants(&pf.progs[0], 5, 0.1, 5, 5));
        program_file_release(&pf);
        n++;
    }
    pclose(ls);
    ck_assert_int_ge(n, 40);
}
END_TEST

START_TEST(test_cli)
{
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/tools/battfarm-mutate", BF_BINARY_DIR);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "check_mutate: %s not built; CLI test skipped\n", bin);
        return;
    }
    char dir[] = "/tmp/check_mutate_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[4096];
    for (int run = 0; run < 2; run++) {
        snprintf(cmd, sizeof cmd, "%s --seed 9 --count 4 --rate 0.2 --out %s/r%d %s/data/programs/007bbfb7.py", bin,
                 dir, run, BF_SOURCE_DIR);
        ck_assert_int_eq(system(cmd), 0);
    }
    for (int k = 1; k <= 4; k++) {
        char p0[1100], p1[1100];
        snprintf(p0, sizeof p0, "%s/r0/007bbfb7_m%d.py", dir, k);
        snprintf(p1, sizeof p1, "%s/r1/007bbfb7_m%d.py", dir, k);
        char *a = slurp(p0), *b = slurp(p1);
        ck_assert_msg(a && b, "missing %s", p0);
        ck_assert_str_eq(a, b);
        ck_assert_ptr_nonnull(strstr(a, "007bbfb7.py"));
        ck_assert_ptr_nonnull(strstr(a, "--seed 9"));
        struct program_file pf;
        parse_one(&pf, p0, a);
        ck_assert_str_eq(pf.progs[0].name, "solve_007bbfb7");
        program_file_release(&pf);
        free(a);
        free(b);
        unlink(p0);
        unlink(p1);
    }
    char extra[1100];
    snprintf(extra, sizeof extra, "%s/r0/007bbfb7_m5.py", dir);
    ck_assert_int_ne(access(extra, F_OK), 0);
    snprintf(cmd, sizeof cmd, "%s --help > /dev/null", bin);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s --rate 2 x.py 2> /dev/null", bin);
    ck_assert_int_ne(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mutate");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_types_and_rng);
    tcase_add_test(tc, test_inline_programs);
    tcase_add_test(tc, test_data_programs);
    tcase_add_test(tc, test_all_data_programs_mutate);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
