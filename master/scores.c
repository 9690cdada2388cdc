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

static struct cand_score *find_slot(struct cand_score *slot, size_t cap, uint64_t cand)
{
    size_t i = key_hash(0, cand) & (cap - 1);
    while (slot[i].used && slot[i].cand != cand) i = (i + 1) & (cap - 1);
    return &slot[i];
}

static int grow(struct task_scores *ts)
{
    size_t ncap = ts->cap ? ts->cap * 2 : 64;
    struct cand_score *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; i < ts->cap; i++)
        if (ts->slot[i].used) *find_slot(ns, ncap, ts->slot[i].cand) = ts->slot[i];
    free(ts->slot);
    ts->slot = ns;
    ts->cap = ncap;
    return 0;
}

/* The table of task t, the task array grown to hold it. NULL when out of memory. */
static struct task_scores *task_table(struct scoreboard *sb, uint32_t t)
{
    if (t >= sb->n_tasks) {
        uint32_t n = sb->n_tasks ? sb->n_tasks : 64;
        while (n <= t) {
            if (n > UINT32_MAX / 2) return NULL;
            n *= 2;
        }
        struct task_scores *nt = realloc(sb->task, (size_t)n * sizeof *nt);
        if (!nt) return NULL;
        memset(nt + sb->n_tasks, 0, (size_t)(n - sb->n_tasks) * sizeof *nt);
        sb->task = nt;
        sb->n_tasks = n;
    }
    return &sb->task[t];
}

int scoreboard_add(struct scoreboard *sb, const struct score_record *r)
{
    struct task_scores *ts = task_table(sb, r->task);
    if (!ts || ((ts->n + 1) * 2 > ts->cap && grow(ts) < 0)) return -ENOMEM;
    struct cand_score *s = find_slot(ts->slot, ts->cap, r->cand);
    if (!s->used) {
        memset(s, 0, sizeof *s);
        s->used = true;
        s->task = r->task;
        s->cand = r->cand;
        ts->n++;
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
    if (task >= sb->n_tasks || !sb->task[task].cap) return NULL;
    const struct cand_score *s = find_slot(sb->task[task].slot, sb->task[task].cap, cand);
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
    size_t k = 0;
    for (uint32_t t = 0; t < n_tasks; t++) {
        rk->start[t] = k;
        const struct task_scores *ts = t < sb->n_tasks ? &sb->task[t] : NULL;
        for (size_t i = 0; ts && i < ts->cap; i++)
            if (ts->slot[i].used) rk->by_task[k++] = &ts->slot[i];
        qsort(rk->by_task + rk->start[t], k - rk->start[t], sizeof *rk->by_task, compare_rank);
    }
    rk->start[n_tasks] = k;
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
    for (uint32_t t = 0; t < sb->n_tasks; t++) free(sb->task[t].slot);
    free(sb->task);
    memset(sb, 0, sizeof *sb);
}
