/* store.c: the store of the best programs per task (see store.h). */
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define HEADER_FMT "# battfarm store: task=%s cand=%016" PRIx64 " demo=%u/%u test=%u/%u partial=%.6f cpu_us=%" PRIu64 "\n"

struct held {                 /* an entry of the merged set */
    struct store_entry e;
    bool on_disk;             /* a file exists for this candidate */
    bool dirty;               /* new scores: (re)write the file if kept */
};

static bool entry_better(const struct store_entry *a, const struct store_entry *b)
{
    if (a->demo_match != b->demo_match) return a->demo_match > b->demo_match;
    if (a->test_match != b->test_match) return a->test_match > b->test_match;
    if (a->partial != b->partial) return a->partial > b->partial;
    if (a->cpu_us != b->cpu_us) return a->cpu_us < b->cpu_us;
    return a->cand < b->cand;
}

static int compare_held(const void *x, const void *y)
{
    const struct held *a = x, *b = y;
    if (entry_better(&a->e, &b->e)) return -1;
    if (entry_better(&b->e, &a->e)) return 1;
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    return log_fail(-errno, "cannot create %s: %s", path, strerror(errno));
}

/* Reads the header line of a store file; false if it is not one of ours. */
static bool read_header(const char *path, struct store_entry *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[512], task[128];
    bool ok = fgets(line, sizeof line, f) &&
              sscanf(line, "# battfarm store: task=%127s cand=%" SCNx64 " demo=%u/%u test=%u/%u partial=%lf cpu_us=%" SCNu64,
                     task, &e->cand, &e->demo_match, &e->demo_total, &e->test_match, &e->test_total, &e->partial,
                     &e->cpu_us) == 8;
    fclose(f);
    return ok;
}

/* The definition with its name replaced by solve_<task>. */
static void write_program(FILE *f, const char *task, const char *source)
{
    const char *def = strstr(source, "def ");
    const char *paren = def ? strchr(def, '(') : NULL;
    if (!def || !paren) {
        fputs(source, f);
        return;
    }
    fwrite(source, 1, (size_t)(def - source), f);
    fprintf(f, "def solve_%s", task);
    fputs(paren, f);
    if (source[0] && source[strlen(source) - 1] != '\n') fputc('\n', f);
}

static int write_entry(const char *taskdir, const char *task, const struct store_entry *e)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%016" PRIx64 ".py", taskdir, e->cand);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return log_fail(-errno, "cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, HEADER_FMT, task, e->cand, e->demo_match, e->demo_total, e->test_match, e->test_total, e->partial,
            e->cpu_us);
    fprintf(f, "# from: %s\n", e->origin ? e->origin : "?");
    write_program(f, task, e->source ? e->source : "");
    if (ferror(f) | (fclose(f) != 0)) {
        int err = errno;
        unlink(tmp);
        return log_fail(-err, "write error on %s: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return log_fail(-err, "cannot rename %s: %s", tmp, strerror(err));
    }
    return 0;
}

int store_update(const char *dir, const char *task, const struct store_entry *entries, size_t n, size_t keep)
{
    char taskdir[4096];
    int rc = make_dir(dir);
    if (rc < 0) return rc;
    snprintf(taskdir, sizeof taskdir, "%s/%s", dir, task);
    if ((rc = make_dir(taskdir)) < 0) return rc;

    size_t cap = n + 64, count = 0;
    struct held *all = malloc(cap * sizeof *all);
    if (!all) return -ENOMEM;
    DIR *d = opendir(taskdir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len != 19 || strcmp(de->d_name + 16, ".py") != 0) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", taskdir, de->d_name);
        struct store_entry e = { 0 };
        if (!read_header(path, &e)) continue;
        if (count == cap) {
            struct held *na = realloc(all, (cap *= 2) * sizeof *all);
            if (!na) {
                free(all);
                closedir(d);
                return -ENOMEM;
            }
            all = na;
        }
        all[count++] = (struct held){ e, true, false };
    }
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0; /* linear: entries are the task's best few (see store.h) */
        while (j < count && all[j].e.cand != entries[i].cand) j++;
        bool on_disk = j < count && all[j].on_disk;
        if (j == count) {
            if (count == cap) {
                struct held *na = realloc(all, (cap *= 2) * sizeof *all);
                if (!na) {
                    free(all);
                    return -ENOMEM;
                }
                all = na;
            }
            count++;
        }
        all[j] = (struct held){ entries[i], on_disk, true }; /* new scores replace old ones */
    }
    qsort(all, count, sizeof *all, compare_held);
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (i < keep) {
            kept++;
            if (all[i].dirty && (rc = write_entry(taskdir, task, &all[i].e)) < 0) break;
        } else if (all[i].on_disk) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%016" PRIx64 ".py", taskdir, all[i].e.cand);
            unlink(path);
        }
    }
    free(all);
    return rc < 0 ? rc : (int)kept;
}
