/* run_cli.c: the `run` command: one solver file on tasks, every demo and test sample, one line
 * per sample (status, match, cells right/total, time, message) and the input, expected and
 * produced grids side by side (ANSI colours on a terminal, digits otherwise). */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsl/eval.h"
#include "run_cli.h"

#define RUN_DEFAULT_TIMEOUT_MS 1000
#define RUN_DEFAULT_MEM_MB 1024
#define REPR_MAX 160

struct run_opts {
    uint32_t timeout_ms;
    size_t mem_bytes;
    bool color;
    bool quiet;
};

static const char run_usage[] =
    "usage: battfarm-worker run PROGRAM_FILE TASK_FILE_OR_DIR... [options]\n"
    "\n"
    "Runs solve_<task name> from PROGRAM_FILE (or its only definition) on every demo and test\n"
    "sample of each task, and prints per sample: status (ok/error/timeout/memout), whether the\n"
    "output matches, cells right/total, time in microseconds and the error message, then the\n"
    "input, expected and produced grids side by side.\n"
    "\n"
    "options:\n"
    "  --timeout MS                 time limit per sample (default 1000)\n"
    "  --mem MB                     memory cap per sample (default 1024)\n"
    "  --color auto|always|never    ANSI colours (auto: when stdout is a terminal)\n"
    "  --quiet                      only the per-sample lines, no grids\n"
    "  --help                       this text\n"
    "\n"
    "exit status: 0 every sample with a known output matched, 1 otherwise, 2 usage error or\n"
    "unreadable files.\n";

static const char *status_name(enum dsl_outcome o)
{
    switch (o) {
    case DSL_OK: return "ok";
    case DSL_ERROR: return "error";
    case DSL_TIMEOUT: return "timeout";
    default: return "memout";
    }
}

/* ---- pictures ---- */

/* 256-colour backgrounds close to the ARC palette. */
static const int arc_bg[10] = { 16, 27, 196, 46, 226, 244, 201, 208, 51, 88 };

struct picture {
    const char *title;
    uint16_t h, w;
    const uint8_t *cells;  /* NULL: text instead */
    const char *text;
};

static int picture_width(const struct picture *p)
{
    int w = p->cells ? 2 * p->w : (int)strlen(p->text);
    int t = (int)strlen(p->title);
    return w > t ? w : t;
}

static void picture_row(const struct picture *p, int row, bool color)
{
    int width = picture_width(p), used = 0;
    if (row == 0) {
        used = printf("%s", p->title);
    } else if (p->cells && row - 1 < p->h) {
        for (int j = 0; j < p->w; j++) {
            uint8_t c = p->cells[(row - 1) * p->w + j];
            if (color)
                printf("\x1b[48;5;%dm  \x1b[0m", arc_bg[c % 10]);
            else
                printf("%u ", c);
        }
        used = 2 * p->w;
    } else if (!p->cells && row == 1) {
        used = printf("%s", p->text);
    }
    printf("%*s", width - used, "");
}

static void pictures_print(const struct picture *pics, int n, bool color)
{
    int rows = 1;
    for (int i = 0; i < n; i++) {
        int r = 1 + (pics[i].cells ? pics[i].h : 1);
        rows = r > rows ? r : rows;
    }
    for (int r = 0; r < rows; r++) {
        printf("    ");
        for (int i = 0; i < n; i++) {
            picture_row(&pics[i], r, color);
            printf(i + 1 < n ? "   " : "\n");
        }
    }
}

static struct picture grid_picture(const char *title, const struct grid *g)
{
    struct picture p = { title, g->h, g->w, g->cell, NULL };
    return p;
}

/* ---- one task ---- */

static const struct program *pick_program(const struct program_file *pf, const char *task)
{
    char want[80];
    snprintf(want, sizeof(want), "solve_%s", task);
    for (size_t i = 0; i < pf->n; i++)
        if (strcmp(pf->progs[i].name, want) == 0)
            return &pf->progs[i];
    return pf->n == 1 ? &pf->progs[0] : NULL;
}

/* Runs one sample; returns true when it matched (or has no known output). */
static bool run_sample(const struct program *p, const struct task *t, const struct eval_inputs *in,
                       uint32_t i, const struct run_opts *o)
{
    const struct sample *s = &t->samples[i];
    struct eval_result r;
    eval_program(p, in->input[i], in->S, v_none(), o->timeout_ms, o->mem_bytes, &r);
    bool match = false, shape = false;
    uint32_t right = 0, total = 0;
    if (r.outcome == DSL_OK && s->has_output)
        val_score(r.value, &s->output, &match, &shape, &right, &total);
    else if (s->has_output)
        total = (uint32_t)s->output.h * s->output.w;
    printf("  %s/%u  %-7s  match %-3s  cells %u/%u  %llu us%s%s\n", sample_kind_name(s->kind), s->index,
           status_name(r.outcome), !s->has_output ? "?" : match ? "yes" : "no", right, total,
           (unsigned long long)r.wall_us, r.msg[0] ? "  " : "", r.msg);
    if (!o->quiet) {
        static uint8_t cells[GRID_MAX * GRID_MAX * 4];
        char text[REPR_MAX + 4];
        struct picture pics[3];
        int n = 0;
        pics[n++] = grid_picture("input", &s->input);
        if (s->has_output)
            pics[n++] = grid_picture("expected", &s->output);
        uint16_t h, w;
        if (r.outcome == DSL_OK && val_to_cells(r.value, cells, &h, &w, 2 * GRID_MAX)) {
            struct picture got = { "produced", h, w, cells, NULL };
            pics[n++] = got;
        } else {
            struct strbuf sb = { 0 };
            if (r.outcome == DSL_OK)
                val_repr(r.value, &sb);
            else
                sb_puts(&sb, status_name(r.outcome));
            snprintf(text, sizeof(text), "%.*s%s", REPR_MAX, sb.p, sb.len > REPR_MAX ? "..." : "");
            sb_release(&sb);
            struct picture got = { "produced", 0, 0, NULL, text };
            pics[n++] = got;
        }
        pictures_print(pics, n, o->color);
    }
    return match || !s->has_output;
}

static bool run_task(const struct program_file *pf, const struct task *t, const struct run_opts *o)
{
    const struct program *p = pick_program(pf, t->name);
    if (p == NULL) {
        printf("%s: skipped: no solve_%s among the %zu definitions\n", t->name, t->name, pf->n);
        return false;
    }
    if (p->invalid) {
        printf("%s: %s is invalid: %s\n", t->name, p->name, p->why);
        return false;
    }
    printf("%s (%s)\n", t->name, p->name);
    uint32_t n = (uint32_t)t->n_demo + t->n_test;
    struct eval_inputs in;
    eval_inputs_make(&in, t->samples, t->n_demo, n);
    bool all = true;
    for (uint32_t i = 0; i < n; i++)
        all &= run_sample(p, t, &in, i, o);
    eval_inputs_release(&in);
    return all;
}

/* ---- command line ---- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *s == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 to go on, else an exit status. */
static int parse_options(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        { "timeout", required_argument, NULL, 't' }, { "mem", required_argument, NULL, 'm' },
        { "color", required_argument, NULL, 'c' },   { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    const char *color = "auto";
    unsigned long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (parse_uint(optarg, 3600000, &v) != 0) {
                fprintf(stderr, "run: bad --timeout '%s'\n", optarg);
                return 2;
            }
            o->timeout_ms = (uint32_t)v;
            break;
        case 'm':
            if (parse_uint(optarg, 1 << 20, &v) != 0) {
                fprintf(stderr, "run: bad --mem '%s'\n", optarg);
                return 2;
            }
            o->mem_bytes = (size_t)v << 20;
            break;
        case 'c': color = optarg; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(run_usage, stdout); return 0;
        default: fputs(run_usage, stderr); return 2;
        }
    }
    if (strcmp(color, "always") == 0)
        o->color = true;
    else if (strcmp(color, "never") == 0)
        o->color = false;
    else if (strcmp(color, "auto") == 0)
        o->color = isatty(STDOUT_FILENO);
    else {
        fprintf(stderr, "run: --color must be auto, always or never\n");
        return 2;
    }
    if (argc - optind < 2) {
        fputs(run_usage, stderr);
        return 2;
    }
    return -1;
}

int run_cli_main(int argc, char **argv)
{
    struct run_opts o = { RUN_DEFAULT_TIMEOUT_MS, (size_t)RUN_DEFAULT_MEM_MB << 20, false, false };
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct program_file pf = PROGRAM_FILE_INIT;
    if (program_parse_file(&pf, argv[optind], stderr) < 0) {
        program_file_release(&pf);
        return 2;
    }
    if (pf.n == 0) {
        fprintf(stderr, "%s: no definitions\n", argv[optind]);
        program_file_release(&pf);
        return 2;
    }
    for (size_t i = 0; i < pf.n; i++)
        program_check(&pf.progs[i]);
    struct task_set set = TASK_SET_INIT;
    int loaded = task_set_load(&set, argv + optind + 1, argc - optind - 1, stderr);
    if (loaded < 0 || set.n_rejected != 0 || set.n == 0) {
        if (loaded >= 0 && set.n == 0)
            fprintf(stderr, "run: no tasks found\n");
        task_set_release(&set);
        program_file_release(&pf);
        return 2;
    }
    eval_init();
    bool all = true;
    for (size_t i = 0; i < set.n; i++)
        all &= run_task(&pf, &set.tasks[i], &o);
    fflush(stdout);
    task_set_release(&set);
    program_file_release(&pf);
    return all ? 0 : 1;
}
