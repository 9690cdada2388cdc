/* scores.c: per (candidate, task) scores and rankings (see scores.h). */
#include "compat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scores.h"

static uint64_t key_hash(uint32_t task, uint64_t cand)
{
    uint64_t x = cand ^ ((uint64_t)task * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

static struct cand_score *find_slot(struct cand_score *slot, size_t cap, uint32_t task, uint64_t cand)
{
    size_t i = key_hash(task, cand) & (cap - 1);
    while (slot[i].used && !(slot[i].task == task && slot[i].cand == cand)) i = (i + 1) & (cap - 1);
    return &slot[i];
}

static int grow(struct scoreboard *sb)
{
    size_t ncap = sb->cap ? sb->cap * 2 : 1024;
    struct cand_score *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; i < sb->cap; i++)
        if (sb->slot[i].used) *find_slot(ns, ncap, sb->slot[i].task, sb->slot[i].cand) = sb->slot[i];
    free(sb->slot);
    sb->slot = ns;
    sb->cap = ncap;
    return 0;
}

int scoreboard_add(struct scoreboard *sb, const struct score_record *r)
{
    if ((sb->n + 1) * 2 > sb->cap && grow(sb) < 0) return -ENOMEM;
    struct cand_score *s = find_slot(sb->slot, sb->cap, r->task, r->cand);
    if (!s->used) {
        memset(s, 0, sizeof *s);
        s->used = true;
        s->task = r->task;
        s->cand = r->cand;
        sb->n++;
    }
    bool matched = r->status == ST_OK && r->match;
    if (r->is_test) {
        s->test_total++;
        s->test_match += matched;
    } else {
        s->demo_total++;
        s->demo_match += matched;
        if (r->status == ST_OK && r->shape_match && r->cells_total) {
            uint32_t right = r->cells_right < r->cells_total ? r->cells_right : r->cells_total;
            s->partial_sum += ((uint64_t)right << PARTIAL_SHIFT) / r->cells_total;
        }
        /* sums, so the order in which records arrive does not matter */
        s->behaviour += key_hash(r->sample + 1, r->out_hash);
    }
    s->cpu_us += r->cpu_us;
    if (r->status < ST_COUNT) s->status_count[r->status]++;
    return 0;
}

const struct cand_score *scoreboard_get(const struct scoreboard *sb, uint32_t task, uint64_t cand)
{
    if (!sb->cap) return NULL;
    const struct cand_score *s = find_slot(sb->slot, sb->cap, task, cand);
    return s->used ? s : NULL;
}

double cand_score_partial(const struct cand_score *s)
{
    return s->demo_total ? (double)s->partial_sum / (double)((uint64_t)1 << PARTIAL_SHIFT) / s->demo_total : 0.0;
}

bool cand_score_solves(const struct cand_score *s)
{
    return s->demo_total > 0 && s->demo_match == s->demo_total && s->test_match == s->test_total;
}

bool cand_score_better(const struct cand_score *a, const struct cand_score *b)
{
    if (a->demo_match != b->demo_match) return a->demo_match > b->demo_match;
    if (a->test_match != b->test_match) return a->test_match > b->test_match;
    double pa = cand_score_partial(a), pb = cand_score_partial(b);
    if (pa != pb) return pa > pb;
    if (a->cpu_us != b->cpu_us) return a->cpu_us < b->cpu_us;
    return a->cand < b->cand;
}

static int compare_rank(const void *x, const void *y)
{
    const struct cand_score *a = *(const struct cand_score *const *)x, *b = *(const struct cand_score *const *)y;
    if (cand_score_better(a, b)) return -1;
    if (cand_score_better(b, a)) return 1;
    return 0;
}

int scoreboard_rank_all(const struct scoreboard *sb, uint32_t n_tasks, struct ranking *rk)
{
    rk->start = calloc((size_t)n_tasks + 1, sizeof *rk->start);
    rk->by_task = malloc((sb->n ? sb->n : 1) * sizeof *rk->by_task);
    if (!rk->start || !rk->by_task) {
        ranking_release(rk);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sb->cap; i++)
        if (sb->slot[i].used && sb->slot[i].task < n_tasks) rk->start[sb->slot[i].task + 1]++;
    for (uint32_t t = 0; t < n_tasks; t++) rk->start[t + 1] += rk->start[t];
    size_t *fill = calloc((size_t)n_tasks + 1, sizeof *fill);
    if (!fill) {
        ranking_release(rk);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sb->cap; i++) {
        const struct cand_score *c = &sb->slot[i];
        if (c->used && c->task < n_tasks) rk->by_task[rk->start[c->task] + fill[c->task]++] = c;
    }
    free(fill);
    for (uint32_t t = 0; t < n_tasks; t++)
        qsort(rk->by_task + rk->start[t], rk->start[t + 1] - rk->start[t], sizeof *rk->by_task, compare_rank);
    rk->n_tasks = n_tasks;
    return 0;
}

void ranking_release(struct ranking *rk)
{
    free(rk->start);
    free(rk->by_task);
    memset(rk, 0, sizeof *rk);
}

void scoreboard_release(struct scoreboard *sb)
{
    free(sb->slot);
    memset(sb, 0, sizeof *sb);
}
