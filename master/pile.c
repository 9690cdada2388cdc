/* pile.c: loading candidate programs (see pile.h). */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "pile.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int pile_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return 0;
    uint32_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *na = realloc(*arr, (size_t)nc * elem);
    if (!na) return BF_ENOMEM;
    *arr = na;
    *cap = nc;
    return 0;
}

static int pile_index_rebuild(struct pile *p, uint32_t want)
{
    uint32_t size = 1024;
    while (size < want * 2) size *= 2;
    int32_t *idx = calloc(size, sizeof *idx);
    if (!idx) return BF_ENOMEM;
    free(p->index);
    p->index = idx;
    p->index_mask = size - 1;
    for (uint32_t i = 0; i < p->n_valid; i++) {
        uint32_t h = (uint32_t)p->valid[i].hash & p->index_mask;
        while (p->index[h]) h = (h + 1) & p->index_mask;
        p->index[h] = (int32_t)i + 1;
    }
    for (uint32_t i = 0; i < p->n_invalid; i++) {
        uint32_t h = (uint32_t)p->invalid[i].hash & p->index_mask;
        while (p->index[h]) h = (h + 1) & p->index_mask;
        p->index[h] = -(int32_t)i - 1;
    }
    return 0;
}

int pile_find(const struct pile *p, uint64_t hash, uint32_t *idx)
{
    if (!p->index) return 0;
    for (uint32_t h = (uint32_t)hash & p->index_mask;; h = (h + 1) & p->index_mask) {
        int32_t v = p->index[h];
        if (!v) return 0;
        if (v > 0 && p->valid[v - 1].hash == hash) {
            *idx = (uint32_t)v - 1;
            return 1;
        }
        if (v < 0 && p->invalid[-v - 1].hash == hash) {
            *idx = (uint32_t)(-v - 1);
            return -1;
        }
    }
}

bool pile_parse_hex(const char *s, uint64_t *hash)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | (uint64_t)d;
    }
    if (s[16]) return false;
    *hash = v;
    return true;
}

static int pile_add_program(struct pile *p, struct program *prog)
{
    p->n_read++;
    bool ok = program_check(prog);
    uint64_t hash = program_hash(prog);
    uint32_t idx;
    if (pile_find(p, hash, &idx) != 0) return 0; /* a duplicate */
    struct cand c;
    memset(&c, 0, sizeof c);
    c.hash = hash;
    snprintf(c.hex, sizeof c.hex, "%016" PRIx64, hash);
    c.name = prog->name;
    c.file = prog->file;
    c.prog = prog;
    int rc;
    if (ok) {
        if ((rc = pile_grow((void **)&p->valid, &p->cap_valid, p->n_valid + 1, sizeof *p->valid)) < 0) return rc;
        p->valid[p->n_valid++] = c;
    } else {
        c.why = prog->why;
        if ((rc = pile_grow((void **)&p->invalid, &p->cap_invalid, p->n_invalid + 1, sizeof *p->invalid)) < 0)
            return rc;
        p->invalid[p->n_invalid++] = c;
    }
    uint32_t n = p->n_valid + p->n_invalid;
    if (!p->index || n * 2 > p->index_mask) return pile_index_rebuild(p, n);
    uint32_t h = (uint32_t)hash & p->index_mask;
    while (p->index[h]) h = (h + 1) & p->index_mask;
    p->index[h] = ok ? (int32_t)p->n_valid : -(int32_t)p->n_invalid;
    return 0;
}

static int pile_load_file(struct pile *p, const char *path, FILE *errs)
{
    if (p->n_files == p->cap_files) {
        size_t nc = p->cap_files ? p->cap_files * 2 : 16;
        struct program_file *nf = realloc(p->files, nc * sizeof *nf);
        if (!nf) return BF_ENOMEM;
        /* program pointers into files[] stay valid: progs arrays are separate allocations */
        p->files = nf;
        p->cap_files = nc;
    }
    struct program_file *pf = &p->files[p->n_files++];
    *pf = (struct program_file)PROGRAM_FILE_INIT;
    int n = program_parse_file(pf, path, errs);
    if (n < 0) {
        p->n_unreadable++;
        if (errs) fprintf(errs, "%s: cannot read: %s\n", path, bf_strerror(n));
        return 0;
    }
    p->n_parse_errors += pf->n_errors;
    for (size_t i = 0; i < pf->n; i++) {
        int rc = pile_add_program(p, &pf->progs[i]);
        if (rc < 0) return rc;
    }
    return 0;
}

/* A directory: its *.py files and its subdirectories (the store's <task>/ folders), in name
 * order, to a bounded depth (symbolic link loops). */
static int pile_load_dir(struct pile *p, const char *dir, FILE *errs, int depth)
{
    if (depth > 8) return 0;
    DIR *d = opendir(dir);
    if (!d) return -errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        bool subdir = de->d_type == DT_DIR;
        if (de->d_name[0] == '.' || (!subdir && !has_suffix(de->d_name, ".py"))) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) { rc = BF_ENOMEM; break; }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) { rc = BF_ENOMEM; break; }
        snprintf(names[n++], len, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        bool is_dir = stat(names[i], &sb) == 0 && S_ISDIR(sb.st_mode);
        if (rc == 0) rc = is_dir ? pile_load_dir(p, names[i], errs, depth + 1) : pile_load_file(p, names[i], errs);
        /* the programs keep their own copy of the path (program.file) */
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

/* All valid candidates into one DAG, in candidate order. */
static int pile_build_dag(struct pile *p)
{
    p->roots = calloc(p->n_valid ? p->n_valid : 1, sizeof *p->roots);
    p->names = calloc(p->n_valid ? p->n_valid : 1, sizeof *p->names);
    if (!p->roots || !p->names) return BF_ENOMEM;
    for (uint32_t i = 0; i < p->n_valid; i++) {
        p->roots[i] = dag_add(&p->dag, p->valid[i].prog);
        p->names[i] = p->valid[i].name;
    }
    return 0;
}

int pile_load(struct pile *p, char *const *paths, int npaths, FILE *errs)
{
    for (int i = 0; i < npaths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) < 0) {
            int rc = -errno;
            if (errs) fprintf(errs, "%s: %s\n", paths[i], strerror(errno));
            return rc;
        }
        int rc = S_ISDIR(sb.st_mode) ? pile_load_dir(p, paths[i], errs, 0) : pile_load_file(p, paths[i], errs);
        if (rc < 0) {
            if (errs) fprintf(errs, "%s: %s\n", paths[i], bf_strerror(rc));
            return rc;
        }
    }
    return pile_build_dag(p);
}

void pile_release(struct pile *p)
{
    for (size_t i = 0; i < p->n_files; i++) program_file_release(&p->files[i]);
    free(p->files);
    free(p->valid);
    free(p->invalid);
    free(p->roots);
    free(p->names);
    free(p->index);
    dag_release(&p->dag);
    memset(p, 0, sizeof *p);
}
