/* resume.c: the set of units a journal already holds (see resume.h). */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "resume.h"

bool doneset_has(const struct doneset *d, uint64_t key)
{
    if (!d->keys) return false;
    for (uint64_t h = bf_mix64(key) & d->mask;; h = (h + 1) & d->mask) {
        if (d->keys[h] == 0) return false;
        if (d->keys[h] == key + 1) return true;
    }
}

static int doneset_grow(struct doneset *d)
{
    uint64_t size = d->keys ? (d->mask + 1) * 2 : 4096;
    uint64_t *nk = calloc(size, sizeof *nk);
    if (!nk) return BF_ENOMEM;
    for (uint64_t i = 0; d->keys && i <= d->mask; i++) {
        if (!d->keys[i]) continue;
        uint64_t h = bf_mix64(d->keys[i] - 1) & (size - 1);
        while (nk[h]) h = (h + 1) & (size - 1);
        nk[h] = d->keys[i];
    }
    free(d->keys);
    d->keys = nk;
    d->mask = size - 1;
    return 0;
}

int doneset_add(struct doneset *d, uint64_t key)
{
    if (!d->keys || (d->n + 1) * 2 > d->mask + 1) {
        int rc = doneset_grow(d);
        if (rc < 0) return rc;
    }
    uint64_t h = bf_mix64(key) & d->mask;
    for (; d->keys[h]; h = (h + 1) & d->mask)
        if (d->keys[h] == key + 1) return 0;
    d->keys[h] = key + 1;
    d->n++;
    return 1;
}

void doneset_release(struct doneset *d)
{
    free(d->keys);
    memset(d, 0, sizeof *d);
}

int resume_sample_index(const struct task *t, const char *sample)
{
    bool demo = strncmp(sample, "demo/", 5) == 0;
    if (!demo && strncmp(sample, "test/", 5) != 0) return -1;
    const char *p = sample + 5;
    if (*p < '0' || *p > '9') return -1;
    char *end;
    long i = strtol(p, &end, 10);
    if (*end || i < 0) return -1;
    if (demo) return i < t->n_demo ? (int)i : -1;
    return i < t->n_test ? (int)(t->n_demo + i) : -1;
}

struct resume_ctx {
    const struct task_set *tasks;
    const struct pile *pile;
    struct doneset *d;
    struct resume_info *info;
};

bool resume_entry_key(const struct task_set *tasks, const struct pile *pile, const struct journal_entry *e,
                      uint64_t *key)
{
    const struct task *t = task_set_find(tasks, e->task);
    uint64_t hash;
    uint32_t cand;
    if (!t || !pile_parse_hex(e->cand, &hash)) return false;
    int kind = pile_find(pile, hash, &cand);
    if (!kind) return false;
    int sample = resume_sample_index(t, e->sample);
    if (sample < 0) return false;
    *key = unit_key((uint32_t)(t - tasks->tasks), (uint32_t)sample, cand, kind < 0);
    return true;
}

static int resume_record(void *ctx, const struct journal_entry *e, uint64_t line_no)
{
    (void)line_no;
    struct resume_ctx *rc = ctx;
    uint64_t key;
    if (!resume_entry_key(rc->tasks, rc->pile, e, &key)) {
        rc->info->foreign++;
        return 0;
    }
    int added = doneset_add(rc->d, key);
    if (added < 0) return added;
    rc->info->known += (uint64_t)added;
    return 0;
}

int resume_load(const char *path, const struct task_set *tasks, const struct pile *pile, struct doneset *d,
                struct resume_info *info)
{
    memset(info, 0, sizeof *info);
    struct resume_ctx ctx = { tasks, pile, d, info };
    return journal_read(path, true, resume_record, &ctx, &info->read);
}
