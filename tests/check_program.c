/* check_program.c: unit tests of the program syntax (common/): primitive table lookups, the
 * parser and its error messages, the static check, the canonical hash and text, and the DAG.
 * With ARC_DSL_DIR set to a checkout of Hodel's arc-dsl, also parses and checks its 400 solvers
 * (read in place, never copied). */
#include "compat.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "primtab.h"
#include "program.h"

#define FIXTURES BF_SOURCE_DIR "/tests/fixtures/programs/"

/* ------------------------------------------------------------------ helpers */

struct parsed {
    struct program_file pf;
    char *errs; /* everything the parser printed */
    int n;
};

static void parse_text(struct parsed *r, const char *text)
{
    size_t size;
    FILE *f = open_memstream(&r->errs, &size);
    ck_assert_ptr_nonnull(f);
    r->pf = (struct program_file)PROGRAM_FILE_INIT;
    r->n = program_parse(&r->pf, "t.py", text, strlen(text), f);
    fclose(f);
}

static void parsed_release(struct parsed *r)
{
    program_file_release(&r->pf);
    free(r->errs);
}

/* Parses text that must hold exactly one valid definition. */
static struct program *parse_one(struct parsed *r, const char *text)
{
    parse_text(r, text);
    ck_assert_msg(r->n == 1 && r->pf.n_errors == 0, "expected one program, got %d; errors: %s", r->n, r->errs);
    return &r->pf.progs[0];
}

static uint64_t hash_of(const char *text)
{
    struct parsed r;
    uint64_t h = program_hash(parse_one(&r, text));
    parsed_release(&r);
    return h;
}

static void canonical_of(const char *text, char *buf, size_t len)
{
    struct parsed r;
    program_canonical(parse_one(&r, text), buf, len);
    parsed_release(&r);
}

/* The static check's verdict: "" when valid, else the reason. */
static void check_of(const char *text, char *why, size_t len)
{
    struct parsed r;
    struct program *p = parse_one(&r, text);
    bool ok = program_check(p);
    ck_assert(ok == !p->invalid);
    snprintf(why, len, "%s", ok ? "" : p->why);
    parsed_release(&r);
}

/* ------------------------------------------------------------------ primitive table */

START_TEST(test_lookup)
{
    ck_assert_int_eq(PRIM_COUNT, 160);
    ck_assert_int_eq(CONST_COUNT, 28);
    for (int i = 0; i < PRIM_COUNT; i++) {
        ck_assert_int_eq(prim_lookup(prim_table[i].name, strlen(prim_table[i].name)), i);
        ck_assert_int_eq(const_lookup(prim_table[i].name, strlen(prim_table[i].name)), -1);
    }
    for (int i = 0; i < CONST_COUNT; i++) {
        ck_assert_int_eq(const_lookup(const_table[i].name, strlen(const_table[i].name)), i);
        ck_assert_int_eq(prim_lookup(const_table[i].name, strlen(const_table[i].name)), -1);
    }
    ck_assert_int_eq(prim_lookup("fillx", 4), PRIM_fill); /* length counts, not NUL */
    ck_assert_int_eq(prim_lookup("fillx", 5), -1);
    ck_assert_int_eq(prim_lookup("fil", 3), -1);
    ck_assert_int_eq(prim_lookup("", 0), -1);
    ck_assert_int_eq(prim_lookup("Fill", 4), -1);
    ck_assert_int_eq(const_lookup("T", 1), CONST_T);
    ck_assert_int_eq(const_lookup("THREE_BY_THREE", 14), CONST_THREE_BY_THREE);
    ck_assert_int_eq(prim_table[PRIM_fill].arity, 3);
    ck_assert_str_eq(prim_table[PRIM_vperiod].name, "vperiod");
}
END_TEST

/* ------------------------------------------------------------------ parsing good programs */

START_TEST(test_parse_simple)
{
    const char *text = "def solve_x(I):\n    x1 = vmirror(I)\n    O = hconcat(I, x1)\n    return O\n";
    struct parsed r;
    struct program *p = parse_one(&r, text);
    ck_assert_str_eq(p->name, "solve_x");
    ck_assert_str_eq(p->file, "t.py");
    ck_assert_uint_eq(p->line, 1);
    ck_assert(!p->sig_sic);
    ck_assert_uint_eq(p->n, 2);
    ck_assert_uint_eq(p->nodes[0].callee.kind, REF_PRIM);
    ck_assert_uint_eq(p->nodes[0].callee.id, PRIM_vmirror);
    ck_assert_uint_eq(p->nodes[0].nargs, 1);
    ck_assert_uint_eq(p->nodes[0].arg[0].kind, REF_I);
    ck_assert_uint_eq(p->nodes[1].callee.id, PRIM_hconcat);
    ck_assert_uint_eq(p->nodes[1].nargs, 2);
    ck_assert_uint_eq(p->nodes[1].arg[0].kind, REF_I);
    ck_assert_uint_eq(p->nodes[1].arg[1].kind, REF_NODE);
    ck_assert_uint_eq(p->nodes[1].arg[1].id, 0);
    ck_assert_uint_eq(p->node_line[0], 2);
    ck_assert_uint_eq(p->node_line[1], 3);
    ck_assert_uint_eq(p->out.kind, REF_NODE);
    ck_assert_uint_eq(p->out.id, 1);
    ck_assert_str_eq(p->source, text);
    ck_assert(program_check(p));
    parsed_release(&r);
}
END_TEST

START_TEST(test_parse_fixture_file)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse_file(&pf, FIXTURES "basic.py", NULL), 3);
    ck_assert_uint_eq(pf.n_errors, 0);
    ck_assert_str_eq(pf.progs[0].name, "solve_mirror");
    ck_assert_str_eq(pf.progs[1].name, "solve_recolor");
    ck_assert_str_eq(pf.progs[2].name, "solve_closure");
    ck_assert_uint_eq(pf.progs[1].line, 12);
    ck_assert_uint_eq(pf.progs[1].n, 2); /* the docstring is no line */
    ck_assert_uint_eq(pf.progs[2].node_line[0], 21);
    ck_assert_str_eq(pf.progs[0].source,
                     "def solve_mirror(I):\n    x1 = vmirror(I)\n    O = hconcat(I, x1)\n    return O\n");
    ck_assert_str_eq(pf.progs[0].file, FIXTURES "basic.py");
    char buf[128];
    program_canonical(&pf.progs[1], buf, sizeof buf);
    ck_assert_str_eq(buf, "fill(I, ZERO, ofcolor(I, ONE))");
    program_canonical(&pf.progs[2], buf, sizeof buf);
    ck_assert_str_eq(buf, "subgrid(argmax(objects(I, T, F, T), rbind(colorcount, ONE)), I)");
    for (size_t i = 0; i < pf.n; i++)
        ck_assert_msg(program_check(&pf.progs[i]), "%s", pf.progs[i].why);
    program_file_release(&pf);
    ck_assert_ptr_null(pf.progs);
    ck_assert_uint_eq(pf.n, 0);
}
END_TEST

START_TEST(test_parse_resume_after_error)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    char *errs;
    size_t size;
    FILE *f = open_memstream(&errs, &size);
    ck_assert_int_eq(program_parse_file(&pf, FIXTURES "resume.py", f), 2);
    fclose(f);
    ck_assert_uint_eq(pf.n_errors, 1);
    ck_assert_str_eq(pf.progs[0].name, "solve_a");
    ck_assert_str_eq(pf.progs[1].name, "solve_c");
    ck_assert_str_eq(errs, FIXTURES "resume.py:8:20: unknown name 'x9'\n");
    program_file_release(&pf);
    free(errs);
}
END_TEST

START_TEST(test_parse_sic_signature)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse_file(&pf, FIXTURES "sic.py", NULL), 1);
    struct program *p = &pf.progs[0];
    ck_assert(p->sig_sic);
    ck_assert_str_eq(p->name, "solve");
    ck_assert_uint_eq(p->nodes[0].arg[0].kind, REF_S);
    ck_assert_uint_eq(p->nodes[2].arg[0].kind, REF_C);
    ck_assert(program_check(p));
    char buf[64];
    program_canonical(p, buf, sizeof buf);
    ck_assert_str_eq(buf, "branch(C, last(first(S)), I)");
    program_file_release(&pf);
}
END_TEST

START_TEST(test_parse_file_errors)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse_file(&pf, FIXTURES "no-such-file.py", NULL), -ENOENT);
    ck_assert_int_eq(program_parse_file(&pf, FIXTURES, NULL), -EINVAL); /* a directory */
    char path[] = "/tmp/bf-check-program-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, PROGRAM_MAX_FILE + 1), 0); /* sparse: costs no disk */
    close(fd);
    char *errs;
    size_t size;
    FILE *f = open_memstream(&errs, &size);
    ck_assert_int_eq(program_parse_file(&pf, path, f), BF_ETOOBIG);
    fclose(f);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(errs, "larger than the limit of 16 MiB"));
    ck_assert_uint_eq(pf.n, 0);
    free(errs);
    program_file_release(&pf);
}
END_TEST

/* Layouts Python accepts: all must give the same program as the plain one. */
static const char *const plain_layout =
    "def f(I):\n    x1 = vmirror(I)\n    x2 = hconcat(I, x1)\n    O = fill(x2, ZERO, x1)\n    return O\n";
static const char *const other_layouts[] = {
    /* CRLF */
    "def f(I):\r\n    x1 = vmirror(I)\r\n    x2 = hconcat(I, x1)\r\n    O = fill(x2, ZERO, x1)\r\n    return O\r\n",
    /* tabs, no final newline */
    "def f(I):\n\tx1 = vmirror(I)\n\tx2 = hconcat(I, x1)\n\tO = fill(x2, ZERO, x1)\n\treturn O",
    /* spacing, trailing commas, comments, blank lines, docstring, imports */
    "from dsl import *\nimport constants  # comment\n\n# leading comment\ndef f( I ) :  # trailing\n"
    "    '''doc'''\n\n    x1=vmirror(I,)\n  # odd comment indent\n    x2 = hconcat ( I ,x1 )\n"
    "\n    O = fill(x2,ZERO,  x1 , )  # comment\n    return O   \n\n",
    /* a call over several lines, a backslash continuation, a UTF-8 byte order mark */
    "\xef\xbb\xbf" "def f(I):\n    x1 = vmirror(\n        I)\n    x2 = hconcat(I,  # first\n"
    "                 x1)\n    O = \\\n fill(x2, ZERO, x1)\n    return O\n",
    /* the (S, I, C) signature, other names, reassignment, a dead line, independent lines swapped */
    "def g(S, I, C):\n    a = vmirror(I)\n    dead = vmirror(S)\n    b = hconcat(I, a)\n"
    "    b = fill(b, ZERO, a)\n    return b\n",
    /* a multi-line docstring and a top-level module docstring */
    "\"\"\"module\n   doc\"\"\"\ndef f(I):\n    \"\"\"one\n    two\n\"\"\"\n    x1 = vmirror(I)\n    x2 = hconcat(I, x1)\n"
    "    O = fill(x2, ZERO, x1)\n    return O\n",
};

START_TEST(test_parse_layouts)
{
    char want[256], got[256];
    uint64_t h = hash_of(plain_layout);
    canonical_of(plain_layout, want, sizeof want);
    ck_assert_str_eq(want, "fill(hconcat(I, vmirror(I)), ZERO, vmirror(I))");
    canonical_of(other_layouts[_i], got, sizeof got);
    ck_assert_str_eq(got, want);
    ck_assert(hash_of(other_layouts[_i]) == h);
}
END_TEST

START_TEST(test_parse_layout_lines)
{
    struct parsed r;
    struct program *p = parse_one(&r, other_layouts[3]);
    ck_assert_uint_eq(p->n, 3);
    ck_assert_uint_eq(p->node_line[0], 2);
    ck_assert_uint_eq(p->node_line[1], 4);
    ck_assert_uint_eq(p->node_line[2], 6);
    parsed_release(&r);
    p = parse_one(&r, other_layouts[4]);
    ck_assert_uint_eq(p->n, 4); /* dead lines are kept in the program, only the hash ignores them */
    ck_assert_uint_eq(p->out.id, 3);
    ck_assert_uint_eq(p->nodes[3].arg[0].id, 2); /* the earlier binding of b */
    parsed_release(&r);
}
END_TEST

START_TEST(test_parse_many_defs)
{
    /* one file, many definitions, and one long definition: all linear */
    size_t cap = 1 << 22, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(text + len, cap - len, "def s%d(I):\n    O = rot90(I)\n    return O\n\n", i);
    len += (size_t)snprintf(text + len, cap - len, "def long(I):\n    x0 = rot90(I)\n");
    for (int i = 1; i < 100000; i++)
        len += (size_t)snprintf(text + len, cap - len, "    x%d = hconcat(x%d, I)\n", i, i - 1);
    len += (size_t)snprintf(text + len, cap - len, "    return x99999\n");
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse(&pf, "big.py", text, len, NULL), 5001);
    ck_assert_uint_eq(pf.n_errors, 0);
    ck_assert_uint_eq(pf.progs[5000].n, 100000);
    ck_assert(program_check(&pf.progs[5000]));
    ck_assert(program_hash(&pf.progs[0]) == program_hash(&pf.progs[4999]));
    program_file_release(&pf);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ parse errors */

struct error_case {
    const char *text;
    const char *errs; /* exactly what the parser prints */
};

#define DEF "def f(I):\n"
static const struct error_case error_cases[] = {
    { DEF "    x1 = frob(I)\n    return x1\n", "t.py:2:10: unknown name 'frob'\n" },
    { DEF "    x1 = vmirror(x2)\n    x2 = hmirror(I)\n    return x1\n", "t.py:2:18: 'x2' used before assignment\n" },
    { DEF "    x1 = vmirror(x1)\n    return x1\n", "t.py:2:18: 'x1' used before assignment\n" },
    { DEF "    x1 = vmirror(S)\n    return x1\n", "t.py:2:18: unknown name 'S'\n" },
    { DEF "    fill = vmirror(I)\n    return fill\n", "t.py:2:5: cannot assign to primitive 'fill'\n" },
    { DEF "    ONE = vmirror(I)\n    return ONE\n", "t.py:2:5: cannot assign to constant 'ONE'\n" },
    { DEF "    I = vmirror(I)\n    return I\n", "t.py:2:5: cannot assign to 'I'\n" },
    { "def f(S, I, C):\n    C = vmirror(I)\n    return C\n", "t.py:2:5: cannot assign to 'C'\n" },
    { DEF "    x1 = hconcat(I, vmirror(I))\n    return x1\n", "t.py:2:21: nested calls are not supported\n" },
    { DEF "    x1 = vmirror(I)(I)\n    return x1\n", "t.py:2:20: nested calls are not supported\n" },
    { DEF "    x1 = upscale(I, 2)\n    return x1\n", "t.py:2:21: literals are not supported\n" },
    { DEF "    x1 = upscale(I, -2)\n    return x1\n", "t.py:2:21: literals are not supported\n" },
    { DEF "    x1 = color(\"x\")\n    return x1\n", "t.py:2:16: literals are not supported\n" },
    { DEF "    x1 = hconcat(I, (I, I))\n    return x1\n", "t.py:2:21: parenthesized expressions are not supported\n" },
    { DEF "    x1 = vmirror(I)\n", "t.py:1:1: missing return in 'f'\n" },
    { DEF "\n# nothing\n", "t.py:1:1: missing return in 'f'\n" },
    { DEF "    x1 = vmirror(I)\n    if x1:\n        return x1\n", "t.py:3:5: only assignments and return are supported\n" },
    { DEF "    print(I)\n    return I\n", "t.py:2:5: only assignments and return are supported\n" },
    { DEF "    x1, x2 = I\n    return I\n", "t.py:2:5: only assignments and return are supported\n" },
    { DEF "    x1 = fill(I, ONE, TWO, THREE, FOUR)\n    return x1\n", "t.py:2:35: more than 4 arguments\n" },
    { DEF "    x1 = vmirror(I\n    return x1\n", "t.py:2:17: unterminated paren\n" },
    { DEF "    x1 = vmirror(I,\n    x2 = hmirror(x1)\n    return x2\n", "t.py:2:17: unterminated paren\n" },
    { DEF "    x1 = vmirror(I,", "t.py:2:17: unterminated paren\n" },
    { DEF "    x1 = vmirror(I)\n      O = hmirror(x1)\n    return O\n", "t.py:3:7: bad indentation: unexpected indent\n" },
    { DEF "    x1 = vmirror(I)\n\tO = hmirror(x1)\n\treturn O\n",
      "t.py:3:2: bad indentation: does not match the first line of the body\n" },
    { DEF "    x1 = vmirror(I)\n  O = hmirror(x1)\n  return O\n",
      "t.py:3:3: bad indentation: does not match the first line of the body\n" },
    { DEF "    x1 = vmirror()\n    return x1\n", "t.py:2:10: call with no arguments\n" },
    { DEF "    x1 = vmirror(grid=I)\n    return x1\n", "t.py:2:18: keyword arguments are not supported\n" },
    { DEF "    x1 = I\n    return x1\n", "t.py:2:10: expected a call 'name(args)' after '='\n" },
    { DEF "    x1 =\n    return x1\n", "t.py:2:9: expected a call 'name(args)' after '='\n" },
    { DEF "    x1 = x2 = vmirror(I)\n    return x1\n", "t.py:2:13: chained assignment is not supported\n" },
    { DEF "    x1 = vmirror(I) + I\n    return x1\n", "t.py:2:21: unexpected '+' after the call\n" },
    { DEF "    x1 = vmirror(I)[0]\n    return x1\n", "t.py:2:20: unexpected '[' after the call\n" },
    { DEF "    x1 = vmirror(I); x2 = hmirror(I)\n    return x1\n", "t.py:2:20: unexpected ';' after the call\n" },
    { DEF "    x1 = vmirror(I I)\n    return x1\n", "t.py:2:20: unexpected 'I', expected ',' or ')'\n" },
    { DEF "    x1 = vmirror(I)\n    return x1\n    x2 = hmirror(I)\n", "t.py:4:5: code after return\n" },
    { DEF "    return\n", "t.py:2:5: return without a value\n" },
    { DEF "    return vmirror(I)\n", "t.py:2:12: nested calls are not supported (return a variable)\n" },
    { DEF "    return x7\n", "t.py:2:12: unknown name 'x7'\n" },
    { DEF "    x1 = lambda(I)\n    return x1\n", "t.py:2:10: 'lambda' is not supported\n" },
    { DEF "    x1 = vmirror(I)\n    return x1 x1\n", "t.py:3:15: unexpected 'x1' after the return value\n" },
    { DEF "    x1 = vmirror(\"I)\n    return x1\n", "t.py:2:18: unterminated string\n" },
    { DEF "    x1 = vmirror(I\x01)\n    return x1\n", "t.py:2:19: unexpected character '\\x01', expected ',' or ')'\n" },
    { "def f(X):\n    return X\n", "t.py:1:7: expected parameters (I) or (S, I, C)\n" },
    { "def f(I, S, C):\n    return I\n", "t.py:1:7: expected parameters (I) or (S, I, C)\n" },
    { "def f():\n    return I\n", "t.py:1:7: expected parameters (I) or (S, I, C)\n" },
    { "def f(I) -> Grid:\n    return I\n", "t.py:1:10: unexpected '-', expected ':'\n" },
    { "def f(I): return I\n", "t.py:1:11: unexpected 'return', expected a new line after ':'\n" },
    { "def (I):\n    return I\n", "t.py:1:5: expected a function name after 'def'\n" },
    { "print(1)\n", "t.py:1:1: expected 'def' or an import at top level\n" },
    { "    x = 1\n", "t.py:1:5: unexpected indent\n" },
};
#undef DEF

START_TEST(test_parse_errors)
{
    const struct error_case *c = &error_cases[_i];
    struct parsed r;
    parse_text(&r, c->text);
    ck_assert_msg(strcmp(r.errs, c->errs) == 0, "case %d: got \"%s\", want \"%s\"", _i, r.errs, c->errs);
    ck_assert_int_eq(r.n, 0);
    ck_assert_uint_eq(r.pf.n_errors, 1);
    parsed_release(&r);
}
END_TEST

/* Every error case, placed between two good definitions, still yields both of them. */
START_TEST(test_parse_errors_resume)
{
    const char *good_a = "def a(I):\n    O = rot90(I)\n    return O\n\nimport dsl\n";
    const char *good_b = "\ndef b(I):\n    O = rot180(I)\n    return O\n";
    size_t len = strlen(good_a) + strlen(error_cases[_i].text) + strlen(good_b) + 1;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    snprintf(text, len, "%s%s%s", good_a, error_cases[_i].text, good_b);
    struct parsed r;
    parse_text(&r, text);
    ck_assert_msg(r.n == 2, "case %d: %d programs; errors: %s", _i, r.n, r.errs);
    ck_assert_str_eq(r.pf.progs[0].name, "a");
    ck_assert_str_eq(r.pf.progs[1].name, "b");
    ck_assert_uint_eq(r.pf.n_errors, 1);
    parsed_release(&r);
    free(text);
}
END_TEST

START_TEST(test_parse_error_then_def_inside_paren)
{
    /* an unterminated call swallows lines up to the next def, which is still parsed */
    struct parsed r;
    parse_text(&r, "def a(I):\n    x1 = vmirror(I,\ndef b(I):\n    O = rot90(I)\n    return O\n");
    ck_assert_str_eq(r.errs, "t.py:2:17: unterminated paren\n");
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.pf.progs[0].name, "b");
    parsed_release(&r);
}
END_TEST

/* ------------------------------------------------------------------ static check */

struct check_case {
    const char *body; /* after "def f(I):\n" */
    const char *why;  /* "" when valid */
};

static const struct check_case check_cases[] = {
    { "    x1 = fill(I, ONE)\n    return x1\n", "t.py:2:10: fill takes 3 arguments, 2 given" },
    { "    x1 = vmirror(I, I)\n    return x1\n", "t.py:2:10: vmirror takes 1 argument, 2 given" },
    { "    x1 = ONE(I)\n    return x1\n", "t.py:2:10: 'ONE' is not callable" },
    { "    x1 = I(I)\n    return x1\n", "t.py:2:10: 'I' is not callable" },
    { "    x1 = vmirror(I)\n    O = fill(x1, ONE)\n    return O\n", "t.py:3:9: fill takes 3 arguments, 2 given" },
    /* the first error in line order */
    { "    x1 = fill(I)\n    O = vmirror(x1, I)\n    return O\n", "t.py:2:10: fill takes 3 arguments, 1 given" },
    /* dead lines are not checked: they are never evaluated and do not change the hash */
    { "    x1 = fill(I, ONE)\n    O = vmirror(I)\n    return O\n", "" },
    /* closures: compose, chain, fork, matcher return functions of one argument */
    { "    x1 = compose(vmirror, hmirror)\n    O = x1(I)\n    return O\n", "" },
    { "    x1 = compose(vmirror, hmirror)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = chain(vmirror, hmirror, rot90)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = fork(hconcat, vmirror, hmirror)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = matcher(size, ONE)\n    O = x1(I, ONE)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    /* rbind/lbind: 2 -> 1, 3 -> 2, anything else -> 3 */
    { "    x1 = rbind(fill, ZERO)\n    x2 = ofcolor(I, ONE)\n    O = x1(I, x2)\n    return O\n", "" },
    { "    x1 = rbind(fill, ZERO)\n    O = x1(I)\n    return O\n", "t.py:3:9: x1 takes 2 arguments, 1 given" },
    { "    x1 = lbind(hconcat, I)\n    O = x1(I)\n    return O\n", "" },
    { "    x1 = lbind(hconcat, I)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = rbind(vmirror, I)\n    O = x1(I, I, I)\n    return O\n", "" },
    { "    x1 = rbind(vmirror, I)\n    O = x1(I)\n    return O\n", "t.py:3:9: x1 takes 3 arguments, 1 given" },
    { "    x1 = lbind(lbind, shift)\n    x2 = x1(ORIGIN)\n    O = x2(I)\n    return O\n", "" },
    { "    x1 = rbind(fill, ZERO)\n    x2 = rbind(x1, I)\n    O = x2(I)\n    return O\n", "" },
    /* power(f, ONE) is f; other powers compose */
    { "    x1 = power(hconcat, ONE)\n    O = x1(I, I)\n    return O\n", "" },
    { "    x1 = power(hconcat, TWO)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = size(I)\n    x2 = power(hconcat, x1)\n    O = x2(I, I)\n    return O\n", "" },
    { "    x1 = size(I)\n    x2 = power(rot90, x1)\n    O = x2(I, I)\n    return O\n", "t.py:4:9: x2 takes 1 argument, 2 given" },
    /* identity and branch pass a function through */
    { "    x1 = identity(fill)\n    O = x1(I, ONE)\n    return O\n", "t.py:3:9: x1 takes 3 arguments, 2 given" },
    { "    x1 = branch(T, vmirror, hmirror)\n    O = x1(I, I)\n    return O\n", "t.py:3:9: x1 takes 1 argument, 2 given" },
    { "    x1 = branch(T, vmirror, fill)\n    O = x1(I, I)\n    return O\n", "" },
    /* unknown arity: no verdict */
    { "    x1 = rapply(I, I)\n    x2 = first(x1)\n    O = x2(I, I, I, I)\n    return O\n", "" },
    { "    return I\n", "" },
    { "    return ONE\n", "" },
};

START_TEST(test_check)
{
    char text[512], why[200];
    snprintf(text, sizeof text, "def f(I):\n%s", check_cases[_i].body);
    check_of(text, why, sizeof why);
    ck_assert_msg(strcmp(why, check_cases[_i].why) == 0, "case %d: got \"%s\", want \"%s\"", _i, why,
                  check_cases[_i].why);
}
END_TEST

START_TEST(test_check_hand_built)
{
    /* programs built by other tools go through the same check */
    struct pnode nodes[2];
    memset(nodes, 0, sizeof nodes);
    nodes[0] = (struct pnode){ { REF_PRIM, PRIM_vmirror }, 1, { { REF_S, 0 } } };
    nodes[1] = (struct pnode){ { REF_PRIM, PRIM_hconcat }, 2, { { REF_NODE, 1 }, { REF_I, 0 } } };
    uint32_t lines[2] = { 2, 3 };
    struct program p;
    memset(&p, 0, sizeof p);
    p.file = (char *)"hand";
    p.line = 1;
    p.n = 1;
    p.nodes = nodes;
    p.node_line = lines;
    p.out = (struct ref){ REF_NODE, 0 };
    ck_assert(!program_check(&p));
    ck_assert_str_eq(p.why, "hand:2:1: 'S' is only defined with the (S, I, C) signature");
    p.sig_sic = true;
    ck_assert(program_check(&p));
    p.n = 2;
    p.out.id = 1;
    ck_assert(!program_check(&p)); /* node 1 refers to itself */
    ck_assert_str_eq(p.why, "hand:3:1: bad reference");
    char buf[64];
    ck_assert_uint_eq(program_canonical(&p, buf, sizeof buf), strlen("hconcat(?, I)"));
    ck_assert_str_eq(buf, "hconcat(?, I)");
    p.out.id = 7;
    ck_assert(!program_check(&p));
    ck_assert_str_eq(p.why, "hand:1:1: bad return value");
}
END_TEST

/* ------------------------------------------------------------------ canonical form and hash */

START_TEST(test_canonical_equal)
{
    const char *a = "def a(I):\n    x1 = ofcolor(I, ONE)\n    x2 = vmirror(I)\n    x3 = fill(x2, ZERO, x1)\n"
                    "    O = hconcat(x3, x2)\n    return O\n";
    /* other names, independent lines in another order, a dead line, a reassigned name */
    const char *b = "def b(S, I, C):\n    m = vmirror(I)\n    unused = rot90(m)\n    idx = ofcolor(I, ONE)\n"
                    "    t = fill(m, ZERO, idx)\n    t = hconcat(t, m)\n    return t\n";
    char ta[256], tb[256];
    canonical_of(a, ta, sizeof ta);
    canonical_of(b, tb, sizeof tb);
    ck_assert_str_eq(ta, "hconcat(fill(vmirror(I), ZERO, ofcolor(I, ONE)), vmirror(I))");
    ck_assert_str_eq(ta, tb);
    ck_assert(hash_of(a) == hash_of(b));
}
END_TEST

static const char *const hash_distinct[] = {
    "def f(I):\n    O = fill(I, ZERO, I)\n    return O\n",
    "def f(I):\n    O = fill(I, ONE, I)\n    return O\n",    /* another constant */
    "def f(I):\n    O = fill(I, I, ZERO)\n    return O\n",    /* argument order */
    "def f(I):\n    O = underfill(I, ZERO, I)\n    return O\n", /* another primitive */
    "def f(I):\n    x1 = identity(I)\n    O = fill(x1, ZERO, I)\n    return O\n", /* one more call */
    "def f(S, I, C):\n    O = fill(C, ZERO, I)\n    return O\n",  /* C, not I */
    "def f(S, I, C):\n    O = fill(S, ZERO, I)\n    return O\n",
    "def f(I):\n    x1 = rbind(fill, ZERO)\n    O = x1(I, I)\n    return O\n", /* same values, another shape */
    "def f(I):\n    O = rbind(fill, ZERO)\n    return O\n",
    "def f(I):\n    O = rbind(fill, ZERO)\n    return fill\n",
    "def f(I):\n    return I\n",
    "def f(I):\n    return ZERO\n",
    "def f(S, I, C):\n    return S\n",
    "def f(I):\n    O = vmirror(I)\n    return O\n",
    "def f(I):\n    O = hmirror(I)\n    return O\n",
    "def f(I):\n    x1 = vmirror(I)\n    O = vmirror(x1)\n    return O\n",
    "def f(I):\n    O = astuple(ONE, TWO)\n    return O\n",
    "def f(I):\n    O = astuple(TWO, ONE)\n    return O\n",
    "def f(I):\n    x1 = astuple(ONE, TWO)\n    O = astuple(x1, ONE)\n    return O\n",
    "def f(I):\n    x1 = astuple(TWO, ONE)\n    O = astuple(ONE, x1)\n    return O\n",
};

START_TEST(test_canonical_distinct)
{
    size_t n = BF_ARRAY_LEN(hash_distinct);
    uint64_t h[BF_ARRAY_LEN(hash_distinct)];
    char ti[128], tj[128];
    for (size_t i = 0; i < n; i++)
        h[i] = hash_of(hash_distinct[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            ck_assert_msg(h[i] != h[j], "cases %zu and %zu hash equal", i, j);
            canonical_of(hash_distinct[i], ti, sizeof ti);
            canonical_of(hash_distinct[j], tj, sizeof tj);
            ck_assert_msg(strcmp(ti, tj) != 0 || i == 0, "cases %zu and %zu: same text %s", i, j, ti);
        }
}
END_TEST

START_TEST(test_hash_stable)
{
    /* Journal keys and store names depend on these values: a change here is a format change. */
    ck_assert_uint_eq(hash_of("def f(I):\n    return I\n"), 0xd8eb5b2df99aa857ull);
    ck_assert_uint_eq(hash_of("def f(I):\n    x1 = ofcolor(I, ONE)\n    O = fill(I, ZERO, x1)\n    return O\n"),
                      0x3b7169999e76a389ull);
}
END_TEST

START_TEST(test_canonical_truncated)
{
    const char *text = "def f(I):\n    x1 = ofcolor(I, ONE)\n    O = fill(I, ZERO, x1)\n    return O\n";
    struct parsed r;
    struct program *p = parse_one(&r, text);
    const char *full = "fill(I, ZERO, ofcolor(I, ONE))";
    char buf[64];
    for (size_t len = 0; len <= strlen(full) + 1; len++) {
        memset(buf, 'z', sizeof buf);
        ck_assert_uint_eq(program_canonical(p, buf, len), strlen(full));
        if (len > 0) {
            ck_assert_uint_eq(strlen(buf), len - 1);
            ck_assert(strncmp(buf, full, len - 1) == 0);
        }
        ck_assert(buf[len] == 'z'); /* nothing written past len */
    }
    parsed_release(&r);
}
END_TEST

/* x{k} = hconcat(x{k-1}, x{k-1}): the expression doubles with each line. */
static char *doubling_program(int lines, const char *var)
{
    size_t cap = 64 + (size_t)lines * 64, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text + len, cap - len, "def f(I):\n    %s0 = vmirror(I)\n", var);
    for (int i = 1; i < lines; i++)
        len += (size_t)snprintf(text + len, cap - len, "    %s%d = hconcat(%s%d, %s%d)\n", var, i, var, i - 1, var, i - 1);
    snprintf(text + len, cap - len, "    return %s%d\n", var, lines - 1);
    return text;
}

START_TEST(test_canonical_exponential)
{
    char *a = doubling_program(100, "x"), *b = doubling_program(100, "long_name_");
    struct parsed ra, rb;
    struct program *pa = parse_one(&ra, a), *pb = parse_one(&rb, b);
    ck_assert(program_hash(pa) == program_hash(pb));
    char buf[64];
    ck_assert_uint_eq(program_canonical(pa, buf, sizeof buf), SIZE_MAX); /* saturated */
    ck_assert_str_eq(buf, "hconcat(hconcat(hconcat(hconcat(hconcat(hconcat(hconcat(hconcat");
    parsed_release(&ra);
    parsed_release(&rb);
    free(a);
    free(b);
    a = doubling_program(3, "x");
    char full[128];
    canonical_of(a, full, sizeof full);
    ck_assert_str_eq(full, "hconcat(hconcat(vmirror(I), vmirror(I)), hconcat(vmirror(I), vmirror(I)))");
    free(a);
}
END_TEST

START_TEST(test_canonical_callee_variable)
{
    char buf[128];
    canonical_of("def f(I):\n    x1 = rbind(fill, ZERO)\n    x2 = ofcolor(I, ONE)\n    O = x1(I, x2)\n    return O\n",
                 buf, sizeof buf);
    ck_assert_str_eq(buf, "rbind(fill, ZERO)(I, ofcolor(I, ONE))");
}
END_TEST

/* ------------------------------------------------------------------ DAG */

START_TEST(test_dag_sharing)
{
    const char *texts[] = {
        "def a(I):\n    x1 = vmirror(I)\n    x2 = ofcolor(x1, ONE)\n    O = fill(x1, ZERO, x2)\n    return O\n",
        "def b(I):\n    y = vmirror(I)\n    O = hconcat(y, I)\n    return O\n",
        /* a again, renamed, reordered, with a dead line */
        "def c(I):\n    m = vmirror(I)\n    d = rot90(I)\n    k = ofcolor(m, ONE)\n    O = fill(m, ZERO, k)\n    return O\n",
        "def d(I):\n    return I\n",
    };
    struct dag d = DAG_INIT;
    struct ref root[4];
    for (int i = 0; i < 4; i++) {
        struct parsed r;
        struct program *p = parse_one(&r, texts[i]);
        root[i] = dag_add(&d, p);
        ck_assert(dag_ref_hash(&d, root[i]) == program_hash(p));
        parsed_release(&r);
        if (i == 0)
            ck_assert_uint_eq(d.n, 3);
    }
    ck_assert_uint_eq(d.n, 4); /* vmirror(I), ofcolor(., ONE), fill(...), hconcat(...) */
    ck_assert_uint_eq(root[0].kind, REF_NODE);
    ck_assert_uint_eq(root[2].kind, REF_NODE);
    ck_assert_uint_eq(root[0].id, root[2].id);
    ck_assert_uint_eq(root[3].kind, REF_I);
    /* children come before parents */
    for (uint32_t i = 0; i < d.n; i++)
        for (unsigned a = 0; a < d.nodes[i].nargs; a++)
            if (d.nodes[i].arg[a].kind == REF_NODE)
                ck_assert_uint_lt(d.nodes[i].arg[a].id, i);
    dag_release(&d);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_null(d.nodes);
}
END_TEST

/* Two identical lines are two objects in CPython (intersection(x, x) and intersection(x, y)
 * take different paths): the repeat hashes differently and gets its own DAG node, while names
 * and line order still do not matter and repeats across programs still share. */
START_TEST(test_repeated_lines)
{
    const char *twice = "def solve_a(I):\n    x1 = objects(I, T, F, T)\n    x2 = objects(I, T, F, T)\n"
                        "    O = intersection(x1, x2)\n    return O\n";
    const char *renamed = "def solve_b(I):\n    y = objects(I, T, F, T)\n    z = objects(I, T, F, T)\n"
                          "    O = intersection(y, z)\n    return O\n";
    const char *swapped = "def solve_e(I):\n    y = objects(I, T, F, T)\n    z = objects(I, T, F, T)\n"
                          "    O = intersection(z, y)\n    return O\n";
    const char *once = "def solve_c(I):\n    x1 = objects(I, T, F, T)\n    O = intersection(x1, x1)\n"
                       "    return O\n";
    const char *dead = "def solve_d(I):\n    x1 = objects(I, T, F, T)\n    x9 = objects(I, T, F, T)\n"
                       "    O = intersection(x1, x1)\n    return O\n";
    ck_assert_uint_ne(hash_of(twice), hash_of(once));
    ck_assert_uint_eq(hash_of(twice), hash_of(renamed));
    ck_assert_uint_ne(hash_of(twice), hash_of(swapped)); /* which object comes first matters */
    ck_assert_uint_eq(hash_of(once), hash_of(dead));     /* a dead repeat does not count */
    struct parsed a, c;
    struct dag d = DAG_INIT;
    struct ref ra = dag_add(&d, parse_one(&a, twice));
    ck_assert_uint_eq(d.n, 3); /* two objects nodes, one intersection */
    struct ref rc = dag_add(&d, parse_one(&c, once));
    ck_assert_uint_eq(d.n, 4); /* shares the first objects node */
    ck_assert_uint_eq(dag_ref_hash(&d, ra), program_hash(&a.pf.progs[0]));
    ck_assert_uint_eq(dag_ref_hash(&d, rc), program_hash(&c.pf.progs[0]));
    dag_release(&d);
    parsed_release(&a);
    parsed_release(&c);
}
END_TEST

/* A worker rebuilds the master's node hashes from the nodes alone (dag_hasher), and a program's
 * live lines hash as their DAG nodes do (program_line_hashes): repeats included, in pieces. */
START_TEST(test_node_hashes_rebuilt)
{
    const char *texts[] = {
        "def solve_a(I):\n    x1 = objects(I, T, F, T)\n    x2 = objects(I, T, F, T)\n"
        "    O = intersection(x1, x2)\n    return O\n",
        "def solve_b(I):\n    x1 = objects(I, T, F, T)\n    x2 = objects(I, T, F, T)\n"
        "    x3 = objects(I, T, F, T)\n    x4 = combine(x1, x3)\n    O = combine(x4, x2)\n    return O\n",
        "def solve_c(I):\n    x1 = objects(I, T, F, T)\n    x9 = palette(I)\n    x2 = size(x1)\n"
        "    O = astuple(x2, x2)\n    return O\n",
    };
    struct parsed pr[3];
    struct dag d = DAG_INIT;
    struct dag_hasher h = DAG_HASHER_INIT;
    for (int k = 0; k < 3; k++) {
        struct program *p = parse_one(&pr[k], texts[k]);
        struct ref root = dag_add(&d, p);
        dag_hasher_extend(&h, d.nodes, d.n); /* as NODES messages arrive */
        uint64_t lines[8];
        program_line_hashes(p, lines);
        ck_assert_uint_eq(lines[p->n - 1], dag_ref_hash(&d, root));
        ck_assert_uint_eq(p->line_hash[p->n - 1], dag_ref_hash(&d, root));
    }
    ck_assert_uint_eq(h.n, d.n);
    for (uint32_t i = 0; i < d.n; i++)
        ck_assert_uint_eq(h.hash[i], d.hash[i]);
    dag_hasher_release(&h);
    dag_release(&d);
    for (int k = 0; k < 3; k++)
        parsed_release(&pr[k]);
}
END_TEST

START_TEST(test_dag_many)
{
    /* 784 programs sharing vmirror(I), each with its own crop and hconcat: the index grows
     * twice; adding them all again adds nothing and finds every root */
    enum { N = CONST_COUNT * CONST_COUNT };
    struct dag d = DAG_INIT;
    char text[256];
    static struct ref roots[N];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            snprintf(text, sizeof text,
                     "def f(I):\n    x1 = vmirror(I)\n    x2 = crop(x1, %s, %s)\n    O = hconcat(x2, x1)\n    return O\n",
                     const_table[i % CONST_COUNT].name, const_table[i / CONST_COUNT].name);
            struct parsed r;
            struct program *p = parse_one(&r, text);
            struct ref root = dag_add(&d, p);
            ck_assert_uint_eq(root.kind, REF_NODE);
            if (pass == 0)
                roots[i] = root;
            else
                ck_assert_uint_eq(root.id, roots[i].id);
            ck_assert(dag_ref_hash(&d, root) == program_hash(p));
            parsed_release(&r);
        }
        ck_assert_uint_eq(d.n, 1 + 2 * N);
    }
    dag_release(&d);
}
END_TEST

/* ------------------------------------------------------------------ arc-dsl's 400 solvers */

static const char *const duplicate_groups[][3] = {
    { "74dd1130", "9dfd6313", NULL }, { "3c9b0459", "6150a2bd", NULL }, { "6d0aefbc", "c9e6f938", NULL },
    { "6fa7a44f", "8be77c9e", NULL }, { "3af2c5a8", "62c24649", "67e8384a" }, { "46442a0e", "7fe24cdd", NULL },
    { "0dfd9992", "29ec7d0e", NULL },
};

static const struct program *find_solver(const struct program_file *pf, const char *id)
{
    char name[32];
    snprintf(name, sizeof name, "solve_%s", id);
    for (size_t i = 0; i < pf->n; i++)
        if (strcmp(pf->progs[i].name, name) == 0)
            return &pf->progs[i];
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_arc_dsl_solvers)
{
    const char *dir = getenv("ARC_DSL_DIR");
    if (!dir || !*dir) {
        fprintf(stderr, "check_program: ARC_DSL_DIR unset, skipping the 400 arc-dsl solvers\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/solvers.py", dir);
    struct program_file pf = PROGRAM_FILE_INIT;
    ck_assert_int_eq(program_parse_file(&pf, path, stderr), 400);
    ck_assert_uint_eq(pf.n_errors, 0);
    uint64_t h[400];
    struct dag d = DAG_INIT;
    uint32_t lines = 0;
    for (size_t i = 0; i < pf.n; i++) {
        ck_assert_msg(program_check(&pf.progs[i]), "%s: %s", pf.progs[i].name, pf.progs[i].why);
        h[i] = program_hash(&pf.progs[i]);
        struct ref root = dag_add(&d, &pf.progs[i]);
        ck_assert(dag_ref_hash(&d, root) == h[i]);
        lines += pf.progs[i].n;
    }
    for (size_t g = 0; g < BF_ARRAY_LEN(duplicate_groups); g++) {
        const struct program *a = find_solver(&pf, duplicate_groups[g][0]);
        for (int k = 1; k < 3 && duplicate_groups[g][k]; k++) {
            const struct program *b = find_solver(&pf, duplicate_groups[g][k]);
            ck_assert(a && b);
            ck_assert(program_hash(a) == program_hash(b));
        }
    }
    qsort(h, 400, sizeof h[0], cmp_u64);
    unsigned distinct = 1;
    for (int i = 1; i < 400; i++)
        distinct += h[i] != h[i - 1];
    fprintf(stderr, "check_program: arc-dsl: 400 solvers, %u distinct, %u lines, %u DAG nodes\n", distinct, lines, d.n);
    ck_assert_uint_le(distinct, 392);
    ck_assert_uint_ge(distinct, 380);
    ck_assert_uint_lt(d.n, lines);
    dag_release(&d);
    program_file_release(&pf);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *program_suite(void)
{
    Suite *s = suite_create("program");
    TCase *tc = tcase_create("primtab");
    tcase_add_test(tc, test_lookup);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, test_parse_simple);
    tcase_add_test(tc, test_parse_fixture_file);
    tcase_add_test(tc, test_parse_resume_after_error);
    tcase_add_test(tc, test_parse_sic_signature);
    tcase_add_test(tc, test_parse_file_errors);
    tcase_add_loop_test(tc, test_parse_layouts, 0, (int)BF_ARRAY_LEN(other_layouts));
    tcase_add_test(tc, test_parse_layout_lines);
    tcase_add_test(tc, test_parse_many_defs);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_parse_errors, 0, (int)BF_ARRAY_LEN(error_cases));
    tcase_add_loop_test(tc, test_parse_errors_resume, 0, (int)BF_ARRAY_LEN(error_cases));
    tcase_add_test(tc, test_parse_error_then_def_inside_paren);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_loop_test(tc, test_check, 0, (int)BF_ARRAY_LEN(check_cases));
    tcase_add_test(tc, test_check_hand_built);
    suite_add_tcase(s, tc);

    tc = tcase_create("canonical");
    tcase_add_test(tc, test_canonical_equal);
    tcase_add_test(tc, test_canonical_distinct);
    tcase_add_test(tc, test_hash_stable);
    tcase_add_test(tc, test_canonical_truncated);
    tcase_add_test(tc, test_canonical_exponential);
    tcase_add_test(tc, test_canonical_callee_variable);
    suite_add_tcase(s, tc);

    tc = tcase_create("dag");
    tcase_add_test(tc, test_dag_sharing);
    tcase_add_test(tc, test_dag_many);
    tcase_add_test(tc, test_repeated_lines);
    tcase_add_test(tc, test_node_hashes_rebuilt);
    suite_add_tcase(s, tc);

    tc = tcase_create("arc_dsl");
    tcase_add_test(tc, test_arc_dsl_solvers);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(program_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
