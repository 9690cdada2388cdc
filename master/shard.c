/* shard.c: the shard partition's parsing, run fingerprints and the manifest DIR/shard.txt
 * (shard.h).
 *
 * shard.txt is line based (the master keeps cJSON out, design.md 2b), one fact per line:
 *   format 1
 *   shard 2/3
 *   pile <16 hex> <valid> <invalid>
 *   tasks <16 hex> <count>
 *   results own=0 timeout=1000 grace=2000 mem=1024 worker-mem=0 attempts=2 keep-output=0
 *   after report=0 top=3 keep=32 store=1
 *   cwd <absolute path>          (the shard's working directory)
 *   program <path>               (one line per PROGRAM_FILE_OR_DIR argument, as given)
 *   task <path>                  (one line per --tasks argument, as given)
 * Paths are kept as given so that a merge run from the same directory names the programs as the
 * unsharded run would (the store's "# from:" lines); shard_manifest_read() makes a relative path
 * absolute (against cwd) only where it would name another file from the merge's directory. */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shard.h"

int shard_parse(const char *text, struct shard *sh)
{
    char *end;
    errno = 0;
    unsigned long k = strtoul(text, &end, 10);
    if (end == text || *end != '/' || errno) return BF_EUSAGE;
    const char *np = end + 1;
    unsigned long n = strtoul(np, &end, 10);
    if (end == np || *end || errno || n < 1 || n > SHARD_MAX || k < 1 || k > n || text[0] == '-' || np[0] == '-')
        return BF_EUSAGE;
    sh->k = (uint32_t)k;
    sh->n = (uint32_t)n;
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static uint64_t fingerprint_cands(uint64_t h, const struct cand *c, uint32_t n)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) die("out of memory");
    for (uint32_t i = 0; i < n; i++) v[i] = c[i].hash;
    qsort(v, n, sizeof *v, cmp_u64);
    h = hash_u64(h, n);
    for (uint32_t i = 0; i < n; i++) h = hash_u64(h, v[i]);
    free(v);
    return h;
}

uint64_t shard_pile_fingerprint(const struct pile *p)
{
    uint64_t h = fingerprint_cands(BF_FNV_INIT, p->valid, p->n_valid);
    return bf_mix64(fingerprint_cands(h, p->invalid, p->n_invalid));
}

static uint64_t fingerprint_grid(uint64_t h, const struct grid *g)
{
    h = hash_u64(h, (uint64_t)g->h << 8 | g->w);
    return bf_fnv1a(h, g->cell, (size_t)g->h * g->w);
}

uint64_t shard_tasks_fingerprint(const struct task_set *ts)
{
    uint64_t h = hash_u64(BF_FNV_INIT, ts->n);
    for (size_t i = 0; i < ts->n; i++) { /* task_set keeps them sorted by name */
        const struct task *t = &ts->tasks[i];
        h = bf_fnv1a(h, t->name, strlen(t->name) + 1);
        h = hash_u64(h, (uint64_t)t->n_demo << 16 | t->n_test);
        for (uint32_t s = 0; s < (uint32_t)t->n_demo + t->n_test; s++) {
            h = fingerprint_grid(h, &t->samples[s].input);
            h = hash_u64(h, t->samples[s].has_output);
            if (t->samples[s].has_output) h = fingerprint_grid(h, &t->samples[s].output);
        }
    }
    return bf_mix64(h);
}

static char **copy_paths(char *const *paths, int n)
{
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = strdup(paths[i]);
        if (!out[i]) return out; /* the caller's release frees what was made */
    }
    return out;
}

int shard_manifest_make(struct shard_manifest *m, const struct shard *sh, const struct pile *p,
                        const struct task_set *ts, const struct shard_options *opt, char *const *programs,
                        int n_programs, char *const *tasks, int n_tasks)
{
    *m = (struct shard_manifest)SHARD_MANIFEST_INIT;
    m->shard = *sh;
    m->pile_fp = shard_pile_fingerprint(p);
    m->tasks_fp = shard_tasks_fingerprint(ts);
    m->n_valid = p->n_valid;
    m->n_invalid = p->n_invalid;
    m->n_tasks = (uint32_t)ts->n;
    m->opt = *opt;
    m->programs = copy_paths(programs, n_programs);
    m->n_programs = n_programs;
    m->tasks = copy_paths(tasks, n_tasks);
    m->n_task_paths = n_tasks;
    char cwd[PATH_MAX];
    m->cwd = strdup(getcwd(cwd, sizeof cwd) ? cwd : "/");
    if (!m->cwd) return BF_ENOMEM;
    for (int i = 0; m->programs && i < n_programs; i++)
        if (!m->programs[i]) return BF_ENOMEM;
    for (int i = 0; m->tasks && i < n_tasks; i++)
        if (!m->tasks[i]) return BF_ENOMEM;
    return m->programs && m->tasks ? 0 : BF_ENOMEM;
}

/* The two option lines: written and read by these two functions only. */
#define RESULTS_FMT "results own=%d timeout=%" SCNu32 " grace=%" SCNu32 " mem=%" SCNu32 " worker-mem=%" SCNu32 \
                    " attempts=%" SCNu32 " keep-output=%d"
#define AFTER_FMT "after report=%d top=%" SCNu32 " keep=%" SCNu32 " store=%d"

int shard_manifest_write(const char *path, const struct shard_manifest *m)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return log_fail(-errno, "cannot write %s: %s", tmp, strerror(errno));
    const struct shard_options *o = &m->opt;
    fprintf(f, "format %d\nshard %" PRIu32 "/%" PRIu32 "\n", SHARD_FORMAT, m->shard.k, m->shard.n);
    fprintf(f, "pile %016" PRIx64 " %" PRIu32 " %" PRIu32 "\n", m->pile_fp, m->n_valid, m->n_invalid);
    fprintf(f, "tasks %016" PRIx64 " %" PRIu32 "\n", m->tasks_fp, m->n_tasks);
    fprintf(f, RESULTS_FMT "\n", o->own, o->timeout_ms, o->grace_ms, o->mem_mb, o->worker_mem_mb, o->attempts,
            o->keep_output);
    fprintf(f, AFTER_FMT "\n", o->report, o->top, o->keep, o->store);
    fprintf(f, "cwd %s\n", m->cwd);
    int bad = strchr(m->cwd, '\n') != NULL;
    for (int i = 0; i < m->n_programs; i++) {
        bad |= strchr(m->programs[i], '\n') != NULL;
        fprintf(f, "program %s\n", m->programs[i]);
    }
    for (int i = 0; i < m->n_task_paths; i++) {
        bad |= strchr(m->tasks[i], '\n') != NULL;
        fprintf(f, "task %s\n", m->tasks[i]);
    }
    if (bad) {
        fclose(f);
        unlink(tmp);
        log_err("cannot write %s: a program or task path holds a newline", path);
        return BF_EUSAGE;
    }
    if (ferror(f) | (fclose(f) != 0) || rename(tmp, path) != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return log_fail(-e, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

static int push_path(char ***list, int *n, const char *path)
{
    char **nl = realloc(*list, ((size_t)*n + 2) * sizeof *nl);
    if (!nl) return BF_ENOMEM;
    *list = nl;
    nl[*n] = strdup(path);
    if (!nl[*n]) return BF_ENOMEM;
    nl[++*n] = NULL;
    return 0;
}

static int manifest_fail(char *err, size_t errlen, const char *path, unsigned line, const char *why)
{
    if (line) snprintf(err, errlen, "%s:%u: %s", path, line, why);
    else snprintf(err, errlen, "%s: %s", path, why);
    return BF_EUSAGE;
}

/* One line (without its newline) into m; NULL, or why it is wrong. */
static const char *manifest_line(struct shard_manifest *m, const char *l, unsigned *seen)
{
    struct shard_options *o = &m->opt;
    int fmt, own, keep_output, report, store, end = -1;
    char kn[32];
    if (sscanf(l, "format %d%n", &fmt, &end) == 1 && !l[end]) {
        if (fmt != SHARD_FORMAT) return "written by another version of battfarm (format differs)";
        *seen |= 1;
    } else if (sscanf(l, "shard %31s%n", kn, &end) == 1 && !l[end]) {
        if (shard_parse(kn, &m->shard) < 0) return "bad shard (expected K/N)";
        *seen |= 2;
    } else if (sscanf(l, "pile %16" SCNx64 " %" SCNu32 " %" SCNu32 "%n", &m->pile_fp, &m->n_valid, &m->n_invalid,
                      &end) == 3 && !l[end]) {
        *seen |= 4;
    } else if (sscanf(l, "tasks %16" SCNx64 " %" SCNu32 "%n", &m->tasks_fp, &m->n_tasks, &end) == 2 && !l[end]) {
        *seen |= 8;
    } else if (sscanf(l, RESULTS_FMT "%n", &own, &o->timeout_ms, &o->grace_ms, &o->mem_mb, &o->worker_mem_mb,
                      &o->attempts, &keep_output, &end) == 7 && !l[end]) {
        o->own = own;
        o->keep_output = keep_output;
        *seen |= 16;
    } else if (sscanf(l, AFTER_FMT "%n", &report, &o->top, &o->keep, &store, &end) == 4 && !l[end]) {
        o->report = report;
        o->store = store;
        *seen |= 32;
    } else if (!strncmp(l, "cwd /", 5)) {
        free(m->cwd);
        if (!(m->cwd = strdup(l + 4))) return "out of memory";
        *seen |= 64;
    } else if (!strncmp(l, "program ", 8) && l[8]) {
        if (push_path(&m->programs, &m->n_programs, l + 8) < 0) return "out of memory";
    } else if (!strncmp(l, "task ", 5) && l[5]) {
        if (push_path(&m->tasks, &m->n_task_paths, l + 5) < 0) return "out of memory";
    } else {
        return "not a line of a shard manifest";
    }
    return NULL;
}

/* A relative path stays as given when it names the same file from here as from the shard's
 * directory; otherwise it becomes cwd/path. */
static int manifest_resolve(const struct shard_manifest *m, char **p)
{
    if ((*p)[0] == '/') return 0;
    char there[PATH_MAX * 2], a[PATH_MAX], b[PATH_MAX];
    snprintf(there, sizeof there, "%s/%s", m->cwd, *p);
    if (realpath(*p, a) && realpath(there, b) && !strcmp(a, b)) return 0;
    char *abs = strdup(there);
    if (!abs) return BF_ENOMEM;
    free(*p);
    *p = abs;
    return 0;
}

int shard_manifest_read(const char *path, struct shard_manifest *m, char *err, size_t errlen)
{
    *m = (struct shard_manifest)SHARD_MANIFEST_INIT;
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        manifest_fail(err, errlen, path, 0, strerror(e));
        return e == ENOENT ? -ENOENT : BF_EUSAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned no = 0, seen = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        no++;
        if (line[n - 1] == '\n') line[--n] = 0;
        const char *why = manifest_line(m, line, &seen);
        if (why) rc = manifest_fail(err, errlen, path, no, why);
    }
    free(line);
    fclose(f);
    if (rc == 0 && (seen != 127 || !m->n_programs || !m->n_task_paths))
        rc = manifest_fail(err, errlen, path, 0, "incomplete (a line is missing)");
    for (int i = 0; rc == 0 && i < m->n_programs; i++) rc = manifest_resolve(m, &m->programs[i]);
    for (int i = 0; rc == 0 && i < m->n_task_paths; i++) rc = manifest_resolve(m, &m->tasks[i]);
    return rc;
}

void shard_manifest_release(struct shard_manifest *m)
{
    for (int i = 0; m->programs && m->programs[i]; i++) free(m->programs[i]);
    for (int i = 0; m->tasks && m->tasks[i]; i++) free(m->tasks[i]);
    free(m->programs);
    free(m->tasks);
    free(m->cwd);
    *m = (struct shard_manifest)SHARD_MANIFEST_INIT;
}

const char *shard_manifest_differs(const struct shard_manifest *a, const struct shard_manifest *b)
{
    if (a->shard.n != b->shard.n) return "a different shard count N";
    if (a->pile_fp != b->pile_fp || a->n_valid != b->n_valid || a->n_invalid != b->n_invalid)
        return "a different candidate pile";
    if (a->tasks_fp != b->tasks_fp || a->n_tasks != b->n_tasks) return "a different task set";
    const struct shard_options *x = &a->opt, *y = &b->opt;
    if (x->own != y->own || x->keep_output != y->keep_output || x->timeout_ms != y->timeout_ms ||
        x->grace_ms != y->grace_ms || x->mem_mb != y->mem_mb || x->worker_mem_mb != y->worker_mem_mb ||
        x->attempts != y->attempts)
        return "different options (--own, --timeout, --grace, --mem, --worker-mem, --attempts or --keep-output)";
    return NULL;
}
