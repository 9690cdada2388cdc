/* pipeline.c: scores, rankings, store, summary, outputs pass, report, submission (pipeline.h). */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "pipeline.h"
#include "store.h"

/* The outputs pass: per task, the selected candidates (best first) and their output per sample. */
struct task_outputs {
    uint32_t n_sel;
    uint32_t *cand;                 /* valid candidate indices, best first */
    struct report_output *out;      /* n_sel x samples */
};

struct pipeline_outputs {
    uint32_t top;
    struct task_outputs *task;      /* per task */
};

void pipeline_init(struct pipeline *pl, const struct task_set *tasks, const struct pile *pile)
{
    memset(pl, 0, sizeof *pl);
    pl->tasks = tasks;
    pl->pile = pile;
}

static uint32_t task_samples(const struct task *t) { return (uint32_t)t->n_demo + t->n_test; }

static void outputs_free(struct pipeline *pl)
{
    if (!pl->outs) return;
    for (size_t t = 0; t < pl->tasks->n; t++) {
        struct task_outputs *to = &pl->outs->task[t];
        uint32_t ns = task_samples(&pl->tasks->tasks[t]);
        for (size_t k = 0; to->out && k < (size_t)to->n_sel * ns; k++) {
            free(to->out[k].cells);
            free(to->out[k].text);
        }
        free(to->out);
        free(to->cand);
    }
    free(pl->outs->task);
    free(pl->outs);
    pl->outs = NULL;
}

void pipeline_release(struct pipeline *pl)
{
    outputs_free(pl);
    ranking_release(&pl->rk);
    scoreboard_release(&pl->sb);
}

static bool own_allows(const struct pipeline *pl, uint32_t task, uint32_t cand)
{
    return !pl->own || pl->own[(size_t)task * pl->pile->n_valid + cand];
}

/* ---- scores from the journal, or from the results as they come ---- */

/* One record into the scores: its task, its candidate (kind 1: valid, -1: invalid, idx within
 * its kind). */
static int pipeline_add(struct pipeline *pl, uint32_t task, uint64_t hash, int kind, uint32_t idx,
                        const struct journal_entry *e)
{
    if (kind > 0 && !own_allows(pl, task, idx)) return 0;
    const char *slash = strchr(e->sample, '/');
    struct score_record r = {
        .task = task, .cand = hash, .is_test = strncmp(e->sample, "test/", 5) == 0,
        .sample = (uint32_t)strtoul(slash ? slash + 1 : "0", NULL, 10),
        .out_hash = e->out_hash, .status = (uint8_t)e->status,
        .match = e->match, .shape_match = e->shape, .cells_right = e->right, .cells_total = e->total,
        .cpu_us = e->cpu_us,
    };
    if (scoreboard_add(&pl->sb, &r) < 0) return BF_ENOMEM;
    pl->records++;
    if (e->status < ST_COUNT) pl->by_status[e->status]++;
    return 0;
}

static int score_record(void *ctx, const struct journal_entry *e, uint64_t line_no)
{
    (void)line_no;
    struct pipeline *pl = ctx;
    const struct task *t = task_set_find(pl->tasks, e->task);
    uint64_t hash;
    uint32_t idx;
    if (!t || !pile_parse_hex(e->cand, &hash)) return 0;
    int kind = pile_find(pl->pile, hash, &idx);
    if (kind == 0) return 0; /* a candidate of another run */
    return pipeline_add(pl, (uint32_t)(t - pl->tasks->tasks), hash, kind, idx, e);
}

int pipeline_add_result(struct pipeline *pl, uint32_t task, bool invalid, uint32_t cand, const struct journal_entry *e)
{
    const struct cand *c = invalid ? &pl->pile->invalid[cand] : &pl->pile->valid[cand];
    return pipeline_add(pl, task, c->hash, invalid ? -1 : 1, cand, e);
}

int pipeline_rank(struct pipeline *pl)
{
    ranking_release(&pl->rk);
    return scoreboard_rank_all(&pl->sb, (uint32_t)pl->tasks->n, &pl->rk);
}

int pipeline_load_scores(struct pipeline *pl, const char *journal_path)
{
    struct journal_read_info info;
    int rc = journal_read(journal_path, false, score_record, pl, &info);
    if (rc < 0) return log_fail(rc, "cannot read %s: %s", journal_path, bf_strerror(rc));
    return pipeline_rank(pl);
}

/* The candidate behind a score: its pile entry (valid or invalid). */
static const struct cand *score_cand(const struct pipeline *pl, const struct cand_score *s, bool *valid,
                                     uint32_t *idx)
{
    int kind = pile_find(pl->pile, s->cand, idx);
    *valid = kind > 0;
    if (kind > 0) return &pl->pile->valid[*idx];
    if (kind < 0) return &pl->pile->invalid[*idx];
    return NULL;
}

static FILE *open_tmp(const char *path, char *tmp, size_t len)
{
    snprintf(tmp, len, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) log_err("cannot write %s: %s", tmp, strerror(errno));
    return f;
}

static int close_tmp(FILE *f, const char *tmp, const char *path)
{
    if (ferror(f) | (fclose(f) != 0) || rename(tmp, path) != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return log_fail(-e, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int pipeline_write_scores(const struct pipeline *pl, const char *path)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return -errno;
    for (uint32_t t = 0; t < pl->rk.n_tasks; t++) {
        for (size_t k = pl->rk.start[t]; k < pl->rk.start[t + 1]; k++) {
            const struct cand_score *s = pl->rk.by_task[k];
            bool valid;
            uint32_t idx;
            const struct cand *c = score_cand(pl, s, &valid, &idx);
            fprintf(f, "{\"task\":\"%s\",\"cand\":\"%016" PRIx64 "\",\"name\":\"%s\",\"rank\":%zu,"
                       "\"demo\":[%u,%u],\"test\":[%u,%u],\"partial\":%.4f,\"cpu_us\":%" PRIu64 ",\"solved\":%s,"
                       "\"behaviour\":\"%016" PRIx64 "\","
                       "\"statuses\":{",
                    pl->tasks->tasks[t].name, s->cand, c ? c->name : "?", k - pl->rk.start[t] + 1, s->demo_match,
                    s->demo_total, s->test_match, s->test_total, cand_score_partial(s), s->cpu_us,
                    cand_score_solves(s) ? "true" : "false", s->behaviour);
            bool first = true;
            for (int st = 0; st < ST_COUNT; st++) {
                if (!s->status_count[st]) continue;
                fprintf(f, "%s\"%s\":%u", first ? "" : ",", bf_status_name((enum bf_status)st), s->status_count[st]);
                first = false;
            }
            fputs("}}\n", f);
        }
    }
    return close_tmp(f, tmp, path);
}

/* Worth storing: at least one sample matched exactly (near misses stay in scores.jsonl: a store
 * filled with same-shape guesses would crowd out what evolves toward a solution). */
static bool score_worth_storing(const struct cand_score *s)
{
    return s->demo_match > 0 || s->test_match > 0;
}

int pipeline_update_store(const struct pipeline *pl, const char *dir, uint32_t keep)
{
    int stored = 0;
    struct store_entry *entries = malloc((keep ? keep : 1) * sizeof *entries);
    char (*origin)[600] = malloc((keep ? keep : 1) * sizeof *origin);
    if (!entries || !origin) {
        free(entries);
        free(origin);
        return -ENOMEM;
    }
    for (uint32_t t = 0; t < pl->rk.n_tasks; t++) {
        uint32_t n = 0;
        for (size_t k = pl->rk.start[t]; k < pl->rk.start[t + 1] && n < keep; k++) {
            const struct cand_score *s = pl->rk.by_task[k];
            bool valid;
            uint32_t idx;
            const struct cand *c = score_cand(pl, s, &valid, &idx);
            if (!valid || !c || !c->prog || !score_worth_storing(s)) continue;
            snprintf(origin[n], sizeof origin[n], "%s (%s)", c->file, c->name);
            /* not entries[n++] = {... origin[n] ...}: n's increment and that read are unsequenced */
            entries[n] = (struct store_entry){
                .cand = s->cand, .demo_match = s->demo_match, .demo_total = s->demo_total,
                .test_match = s->test_match, .test_total = s->test_total, .partial = cand_score_partial(s),
                .cpu_us = s->cpu_us, .source = c->prog->source, .origin = origin[n],
            };
            n++;
        }
        if (n == 0) continue;
        int rc = store_update(dir, pl->tasks->tasks[t].name, entries, n, keep);
        if (rc < 0) {
            free(entries);
            free(origin);
            return rc;
        }
        stored += rc;
    }
    free(entries);
    free(origin);
    return stored;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

void pipeline_print_summary(const struct pipeline *pl, FILE *f, int stored)
{
    uint32_t solved = 0, demo_hit = 0;
    for (uint32_t t = 0; t < pl->rk.n_tasks; t++) {
        if (pl->rk.start[t] == pl->rk.start[t + 1]) continue;
        const struct cand_score *best = pl->rk.by_task[pl->rk.start[t]];
        solved += cand_score_solves(best);
        demo_hit += best->demo_match > 0;
    }
    /* candidates that solve at least one task */
    uint8_t *solver = calloc((size_t)pl->pile->n_valid + 1, 1);
    uint32_t n_solvers = 0;
    size_t ranked = pl->rk.n_tasks ? pl->rk.start[pl->rk.n_tasks] : 0;
    for (size_t i = 0; solver && i < ranked; i++) {
        const struct cand_score *s = pl->rk.by_task[i];
        uint32_t idx;
        if (!cand_score_solves(s) || pile_find(pl->pile, s->cand, &idx) <= 0) continue;
        if (!solver[idx]) n_solvers++;
        solver[idx] = 1;
    }
    free(solver);
    /* behavioural dedup: distinct demo-output signatures per task */
    uint64_t behaviours = 0, scored = 0;
    uint64_t *sig = malloc((pl->sb.n ? pl->sb.n : 1) * sizeof *sig);
    for (uint32_t t = 0; sig && t < pl->rk.n_tasks; t++) {
        size_t a = pl->rk.start[t], n = pl->rk.start[t + 1] - a;
        for (size_t k = 0; k < n; k++) sig[k] = pl->rk.by_task[a + k]->behaviour;
        qsort(sig, n, sizeof *sig, cmp_u64);
        for (size_t k = 0; k < n; k++) behaviours += k == 0 || sig[k] != sig[k - 1];
        scored += n;
    }
    free(sig);
    fprintf(f, "summary\n");
    fprintf(f, "  tasks       %zu: %u solved (every demo and test sample matched), %u with a demo match\n",
            pl->tasks->n, solved, demo_hit);
    fprintf(f, "  candidates  %zu read, %u distinct valid, %u invalid; %u solve at least one task\n",
            pl->pile->n_read, pl->pile->n_valid, pl->pile->n_invalid, n_solvers);
    fprintf(f, "  results     %" PRIu64 ":", pl->records);
    for (int st = 0; st < ST_COUNT; st++)
        fprintf(f, " %s %" PRIu64, bf_status_name((enum bf_status)st), pl->by_status[st]);
    fputc('\n', f);
    if (pl->rk.n_tasks)
        fprintf(f, "  behaviour   %.1f distinct demo outputs per task on average, of %.1f candidates scored\n",
                (double)behaviours / pl->rk.n_tasks, (double)scored / pl->rk.n_tasks);
    if (stored >= 0) fprintf(f, "  store       %d programs kept\n", stored);
}

/* ---- the outputs pass ---- */

struct outputs_run {
    struct pipeline *pl;
};

static int find_sel(const struct task_outputs *to, uint32_t cand)
{
    for (uint32_t k = 0; k < to->n_sel; k++)
        if (to->cand[k] == cand) return (int)k;
    return -1;
}

static bool outputs_is_done(void *ctx, uint32_t task, uint32_t sample, uint32_t cand)
{
    (void)sample;
    struct pipeline *pl = ctx;
    return find_sel(&pl->outs->task[task], cand) < 0;
}

static int outputs_on_result(void *ctx, const struct farm_result *r)
{
    struct pipeline *pl = ctx;
    struct task_outputs *to = &pl->outs->task[r->task];
    int k = find_sel(to, r->cand);
    if (k < 0) return 0;
    uint32_t ns = task_samples(&pl->tasks->tasks[r->task]);
    struct report_output *o = &to->out[(size_t)k * ns + r->sample];
    free(o->cells);
    free(o->text);
    memset(o, 0, sizeof *o);
    o->status = (uint8_t)r->status;
    o->match = r->match;
    if (r->has_grid && r->out_cells) {
        size_t n = (size_t)r->out_h * r->out_w;
        uint8_t *cells = malloc(n ? n : 1);
        if (!cells) return BF_ENOMEM;
        memcpy(cells, r->out_cells, n);
        o->cells = cells;
        o->has_grid = true;
        o->h = r->out_h;
        o->w = r->out_w;
    }
    if (r->msg && *r->msg) o->text = strdup(r->msg);
    return 0;
}

static int outputs_on_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

int pipeline_run_outputs(struct pipeline *pl, const struct farm_config *cfg, uint32_t top)
{
    outputs_free(pl);
    pl->outs = calloc(1, sizeof *pl->outs);
    if (!pl->outs) return FARM_FAILED;
    pl->outs->top = top;
    pl->outs->task = calloc(pl->tasks->n ? pl->tasks->n : 1, sizeof *pl->outs->task);
    if (!pl->outs->task) return FARM_FAILED;
    uint64_t selected_units = 0, all_units = 0;
    for (uint32_t t = 0; t < pl->rk.n_tasks; t++) {
        struct task_outputs *to = &pl->outs->task[t];
        uint32_t ns = task_samples(&pl->tasks->tasks[t]);
        to->cand = calloc(top ? top : 1, sizeof *to->cand);
        to->out = calloc((size_t)(top ? top : 1) * ns, sizeof *to->out);
        if (!to->cand || !to->out) return FARM_FAILED;
        for (size_t k = pl->rk.start[t]; k < pl->rk.start[t + 1] && to->n_sel < top; k++) {
            uint32_t idx;
            if (pile_find(pl->pile, pl->rk.by_task[k]->cand, &idx) > 0) to->cand[to->n_sel++] = idx;
        }
        selected_units += (uint64_t)to->n_sel * ns;
        all_units += (uint64_t)pl->pile->n_valid * ns;
    }
    if (selected_units == 0) return FARM_DONE;
    struct farm_config c = *cfg;
    c.want_output = true;
    c.progress = false;
    struct farm_plan plan = {
        .tasks = pl->tasks, .dag = &pl->pile->dag, .roots = pl->pile->roots, .n_cands = pl->pile->n_valid,
        .is_done = outputs_is_done, .done_ctx = pl, .n_done = all_units - selected_units, .names = pl->pile->names,
    };
    struct farm_sink sink = { pl, outputs_on_result, outputs_on_flush };
    struct farm_stats st;
    return farm_run(&c, &plan, &sink, &st);
}

int pipeline_write_report(const struct pipeline *pl, const char *path, uint32_t top)
{
    size_t n = pl->tasks->n;
    struct report_task *rt = calloc(n ? n : 1, sizeof *rt);
    struct report_candidate *rc = calloc((n ? n : 1) * (top ? top : 1), sizeof *rc);
    char (*hex)[17] = calloc((n ? n : 1) * (top ? top : 1), sizeof *hex);
    if (!rt || !rc || !hex) {
        free(rt);
        free(rc);
        free(hex);
        return -ENOMEM;
    }
    for (uint32_t t = 0; t < n; t++) {
        const struct task_outputs *to = pl->outs ? &pl->outs->task[t] : NULL;
        uint32_t ns = task_samples(&pl->tasks->tasks[t]);
        rt[t].task = &pl->tasks->tasks[t];
        rt[t].n_candidates_scored = (uint32_t)(pl->rk.start[t + 1] - pl->rk.start[t]);
        rt[t].best = &rc[(size_t)t * top];
        for (size_t k = pl->rk.start[t]; k < pl->rk.start[t + 1] && rt[t].n_best < top; k++) {
            const struct cand_score *s = pl->rk.by_task[k];
            bool valid;
            uint32_t idx;
            const struct cand *c = score_cand(pl, s, &valid, &idx);
            if (!c) continue;
            int sel = valid && to ? find_sel(to, idx) : -1;
            char *h = hex[(size_t)t * top + rt[t].n_best];
            snprintf(h, 17, "%016" PRIx64, s->cand);
            rc[(size_t)t * top + rt[t].n_best++] = (struct report_candidate){
                .name = c->name, .hash = h, .source = c->prog ? c->prog->source : NULL,
                .demo_match = s->demo_match, .demo_total = s->demo_total, .test_match = s->test_match,
                .test_total = s->test_total, .partial = cand_score_partial(s), .cpu_us = s->cpu_us,
                .out = sel >= 0 ? &to->out[(size_t)sel * ns] : NULL,
            };
        }
    }
    char summary[512];
    uint32_t solved = 0;
    for (uint32_t t = 0; t < n; t++)
        if (pl->rk.start[t] < pl->rk.start[t + 1] && cand_score_solves(pl->rk.by_task[pl->rk.start[t]])) solved++;
    snprintf(summary, sizeof summary, "%zu tasks, %u solved; %u distinct candidates (%u invalid); %" PRIu64
             " results\nbest %u candidates per task, ranked by demo matches, test matches, partial score, cpu time",
             n, solved, pl->pile->n_valid, pl->pile->n_invalid, pl->records, top);
    int r = report_write_html(path, "battfarm report", summary, rt, n);
    free(rt);
    free(rc);
    free(hex);
    return r;
}

static void json_grid(FILE *f, unsigned h, unsigned w, const uint8_t *cells)
{
    fputc('[', f);
    for (unsigned i = 0; i < h; i++) {
        fputs(i ? ",[" : "[", f);
        for (unsigned j = 0; j < w; j++) fprintf(f, j ? ",%u" : "%u", cells[i * w + j]);
        fputc(']', f);
    }
    fputc(']', f);
}

static bool same_output(const struct report_output *a, const struct report_output *b)
{
    return a->h == b->h && a->w == b->w && memcmp(a->cells, b->cells, (size_t)a->h * a->w) == 0;
}

int pipeline_write_submission(const struct pipeline *pl, const char *path)
{
    if (!pl->outs) return 0;
    int written = 0;
    FILE *f = NULL;
    char tmp[4200];
    for (uint32_t t = 0; t < pl->tasks->n; t++) {
        const struct task *tk = &pl->tasks->tasks[t];
        bool unknown = false;
        for (uint32_t s = tk->n_demo; s < task_samples(tk); s++) unknown |= !tk->samples[s].has_output;
        if (!unknown) continue;
        if (!f && !(f = open_tmp(path, tmp, sizeof tmp))) return -errno;
        fprintf(f, "%s\"%s\":[", written ? ",\n" : "{", tk->name);
        const struct task_outputs *to = &pl->outs->task[t];
        uint32_t ns = task_samples(tk);
        for (uint32_t s = tk->n_demo; s < ns; s++) {
            const struct report_output *pick[2] = { NULL, NULL };
            int n_pick = 0;
            /* candidates are best first: take the first two distinct grids */
            for (uint32_t k = 0; k < to->n_sel && n_pick < 2; k++) {
                const struct report_output *o = &to->out[(size_t)k * ns + s];
                if (o->status != ST_OK || !o->has_grid) continue;
                if (n_pick == 1 && same_output(pick[0], o)) continue;
                pick[n_pick++] = o;
            }
            fputs(s > tk->n_demo ? ",{" : "{", f);
            for (int a = 0; a < 2; a++) {
                fprintf(f, "%s\"attempt_%d\":", a ? "," : "", a + 1);
                const struct report_output *o = pick[a] ? pick[a] : pick[0];
                if (o) json_grid(f, o->h, o->w, o->cells);
                else fputs("[[0]]", f); /* no candidate produced a grid */
            }
            fputc('}', f);
        }
        fputc(']', f);
        written++;
    }
    if (!f) return 0;
    fputs("}\n", f);
    int rc = close_tmp(f, tmp, path);
    return rc < 0 ? rc : written;
}
