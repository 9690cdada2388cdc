/* sched.c: jobs and results. Work is every (task, sample, candidate) of the plan not already
 * done, cut into jobs of one (task, sample) and a batch of candidates, in sample, candidate
 * order within a task, generated lazily (a sweep of 10^5 candidates x 10^3 tasks never exists as
 * a list). Each slot works through a task of its own (sched_take). A worker gets TASK once per
 * task and the DAG nodes once each (its DAG is always a prefix of ours: node ids agree), then
 * JOBs. Results must come back in the job's candidate order; so the in-flight candidate of a job
 * is always the first one without a result.
 *
 * The worker holds finished results back for a few milliseconds to score them in one batch
 * (worker.c), so the first candidate without a result is only the *likely* one in flight. When a
 * worker goes away, sched_charge_inflight() settles its jobs: the first unreported candidate is
 * retried alone with attempt + 1, and the other unreported candidates of that job go back as
 * jobs of one candidate each (attempt unchanged), so the next loss pins the culprit exactly. A
 * candidate that was alone in its job when its worker was killed at the hard deadline gets a
 * `timeout` record; one that keeps killing its worker gets a `crash` record once it reaches
 * max_attempts. The jobs queued behind go back to the front of the queue unchanged. */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farm_int.h"
#include "log.h"

static struct job *job_new(struct farm *f, uint32_t task, uint32_t sample, int attempt, uint32_t cap)
{
    struct job *j = malloc(sizeof *j + (size_t)cap * sizeof j->cand[0]);
    if (!j) {
        log_err("out of memory for a job of %u candidates", cap);
        abort(); /* the master cannot go on without its queue */
    }
    j->id = f->next_job_id++;
    j->task = task;
    j->sample = sample;
    j->attempt = attempt;
    j->n = j->n_done = 0;
    j->next = NULL;
    return j;
}

void job_free(struct job *j)
{
    free(j);
}

static uint32_t task_samples(const struct farm *f, uint32_t t)
{
    const struct task *task = &f->plan->tasks->tasks[t];
    return (uint32_t)task->n_demo + task->n_test;
}

/* Guided self-scheduling: jobs shrink as the work left shrinks (a quarter of each worker's
 * share, at least GUIDED_MIN), so the last jobs are short and no worker idles at the end while
 * another finishes a long batch. --batch fixes the size. */
#define GUIDED_MIN 8
static uint32_t sched_guided_size(const struct farm *f)
{
    if (f->cfg->batch) return f->batch;
    uint64_t left = f->st->total > f->generated ? f->st->total - f->generated : 0;
    uint64_t size = left / ((uint64_t)f->n_slots * 4);
    if (size < GUIDED_MIN) size = GUIDED_MIN;
    return size < f->batch ? (uint32_t)size : f->batch;
}

/* The generator: the next batch of not-done candidates at c's position, moving on to the next
 * task when c's is done only if roll (the fresh cursor; a slot's cursor keeps to its task). */
static struct job *sched_generate(struct farm *f, struct gen_cursor *c, bool roll)
{
    const struct farm_plan *p = f->plan;
    while (c->task < p->tasks->n) {
        if (c->sample >= task_samples(f, c->task)) {
            if (!roll) break;
            c->task++;
            c->sample = 0;
            c->cand = 0;
            continue;
        }
        if (c->cand >= p->n_cands) {
            c->sample++;
            c->cand = 0;
            continue;
        }
        uint32_t size = sched_guided_size(f);
        struct job *j = job_new(f, c->task, c->sample, 1, size);
        while (c->cand < p->n_cands && j->n < size) {
            uint32_t cand = c->cand++;
            if (p->is_done && p->is_done(p->done_ctx, c->task, c->sample, cand)) continue;
            j->cand[j->n++] = cand;
        }
        f->generated += j->n;
        if (j->n) return j;
        job_free(j);
    }
    return NULL;
}

/* Candidates per job: enough jobs that every worker gets many (the tail stays short), big
 * enough to amortise dispatch and to share sub-expressions within a sample. */
static uint32_t sched_batch_size(const struct farm *f, uint64_t total)
{
    if (f->cfg->batch) return f->cfg->batch > PROTO_MAX_CANDS ? PROTO_MAX_CANDS : f->cfg->batch;
    uint64_t want_jobs = (uint64_t)f->n_slots * 16;
    uint64_t b = (total + want_jobs - 1) / want_jobs;
    if (b > 1024) b = 1024;
    if (b < 1) b = 1;
    if (b > f->plan->n_cands && f->plan->n_cands > 0) b = f->plan->n_cands;
    return (uint32_t)b;
}

int sched_init(struct farm *f)
{
    const struct farm_plan *p = f->plan;
    f->need_nodes = calloc(p->n_cands ? p->n_cands : 1, sizeof *f->need_nodes);
    if (!f->need_nodes) return BF_ENOMEM;
    for (uint32_t c = 0; c < p->n_cands; c++)
        f->need_nodes[c] = p->roots[c].kind == REF_NODE ? p->roots[c].id + 1 : 0;
    f->batch = sched_batch_size(f, f->st->total);
    f->roots_cap = f->batch;
    f->roots_scratch = calloc(f->roots_cap, sizeof *f->roots_scratch);
    if (!f->roots_scratch) return BF_ENOMEM;
    f->claimed = calloc((size_t)f->n_slots, sizeof *f->claimed);
    if (!f->claimed) return BF_ENOMEM;
    f->fresh.next = sched_generate(f, &f->fresh, true);
    log_info("farm: %llu units in jobs of up to %u candidates", (unsigned long long)f->st->total, f->batch);
    return 0;
}

void sched_release(struct farm *f)
{
    while (f->requeue_head) {
        struct job *j = f->requeue_head;
        f->requeue_head = j->next;
        job_free(j);
    }
    f->requeue_tail = NULL;
    job_free(f->fresh.next);
    f->fresh.next = NULL;
    for (int i = 0; f->claimed && i < f->n_slots; i++) job_free(f->claimed[i].next);
    free(f->claimed);
    f->claimed = NULL;
    free(f->need_nodes);
    free(f->roots_scratch);
    f->need_nodes = NULL;
    f->roots_scratch = NULL;
    msg_buf_release(&f->mb);
}

bool sched_has_work(const struct farm *f)
{
    if (f->requeue_head || f->fresh.next) return true;
    for (int i = 0; f->claimed && i < f->n_slots; i++)
        if (f->claimed[i].next) return true;
    return false;
}

/* The next job of cursor c, the one after it made ahead. */
static struct job *sched_take_from(struct farm *f, struct gen_cursor *c)
{
    struct job *j = c->next;
    c->next = sched_generate(f, c, false);
    return j;
}

/* Work goes to a slot in this order: requeued jobs; the rest of the task it claimed; the next
 * task nobody has claimed (now its own); then, at the end, the rest of the claimed task with
 * the most samples left. A task's samples thus stay on one worker, which alone pays for the
 * memory that task's evaluations need: in this VM the host backs a page only when it is first
 * touched (about 2 ms a megabyte, see runtime.c), and solve_91413438 takes about 250 MB on each
 * input of 1f85a75f (0.5 s for the first such call in a worker, 0.1 s for the next). Measured on
 * arc-dsl's sweep, -j 2, after 25 s idle (3 alternated pairs): 10% fewer page faults, system
 * time 1.33 s against 1.50 s; the wall time moved less than its noise. */
struct job *sched_take(struct farm *f, const struct slot *s)
{
    struct job *j = f->requeue_head;
    if (j) {
        f->requeue_head = j->next;
        if (!f->requeue_head) f->requeue_tail = NULL;
        j->next = NULL;
        return j;
    }
    struct gen_cursor *own = &f->claimed[s->index];
    if (!own->next && f->fresh.next) {
        *own = f->fresh;
        f->fresh = (struct gen_cursor){ .task = own->task + 1 };
        f->fresh.next = sched_generate(f, &f->fresh, true);
    }
    if (own->next) return sched_take_from(f, own);
    struct gen_cursor *most = NULL;
    for (int i = 0; i < f->n_slots; i++) {
        struct gen_cursor *c = &f->claimed[i];
        if (c->next && (!most || task_samples(f, c->task) - c->sample > task_samples(f, most->task) - most->sample))
            most = c;
    }
    return most ? sched_take_from(f, most) : NULL;
}

/* Requeued work goes first: it is what a lost worker left half done. */
void sched_requeue(struct farm *f, struct job *j)
{
    j->next = f->requeue_head;
    f->requeue_head = j;
    if (!f->requeue_tail) f->requeue_tail = j;
}

static int sched_push(struct farm *f, struct slot *s, const struct msg *m)
{
    f->mb.len = 0;
    int rc = msg_encode(m, &f->mb);
    if (rc < 0) return log_fail(rc, "slot %d: cannot encode %s: %s", s->index, msg_type_name(m->type), bf_strerror(rc));
    if (f->mb.len > FRAME_MAX) return log_fail(BF_ETOOBIG, "slot %d: %s message of %zu bytes is too big", s->index,
                                               msg_type_name(m->type), f->mb.len);
    return frame_writer_push(&s->wr, f->mb.data, (uint32_t)f->mb.len);
}

static int sched_send_task(struct farm *f, struct slot *s, uint32_t t)
{
    const struct task *task = &f->plan->tasks->tasks[t];
    struct msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_TASK;
    m.u.task.task = t;
    snprintf(m.u.task.name, sizeof m.u.task.name, "%s", task->name);
    m.u.task.n_demo = task->n_demo;
    m.u.task.n_test = task->n_test;
    m.u.task.samples = task->samples;
    int rc = sched_push(f, s, &m);
    if (rc == 0) s->task_sent[t] = 1;
    return rc;
}

static int sched_send_nodes(struct farm *f, struct slot *s, uint32_t need)
{
    while (s->nodes_sent < need) {
        uint32_t n = need - s->nodes_sent;
        if (n > PROTO_MAX_NODES) n = PROTO_MAX_NODES;
        struct msg m;
        memset(&m, 0, sizeof m);
        m.type = MSG_NODES;
        m.u.nodes.base = s->nodes_sent;
        m.u.nodes.n = n;
        m.u.nodes.nodes = f->plan->dag->nodes + s->nodes_sent;
        int rc = sched_push(f, s, &m);
        if (rc < 0) return rc;
        s->nodes_sent += n;
    }
    return 0;
}

static int64_t sched_hard_deadline(const struct farm *f)
{
    int64_t now = f->read_now_us != 0 ? f->read_now_us : farm_now_us();
    return now + ((int64_t)f->cfg->timeout_ms + f->cfg->grace_ms) * 1000;
}

int sched_send(struct farm *f, struct slot *s, struct job *j)
{
    BF_ASSERT(s->n_jobs < SLOT_PIPELINE);
    j->id = f->next_job_id++;
    int rc = 0;
    if (!s->task_sent[j->task]) rc = sched_send_task(f, s, j->task);
    uint32_t need = 0;
    for (uint32_t i = 0; i < j->n; i++)
        if (f->need_nodes[j->cand[i]] > need) need = f->need_nodes[j->cand[i]];
    if (rc == 0) rc = sched_send_nodes(f, s, need);
    if (rc == 0) {
        BF_ASSERT(j->n <= f->roots_cap);
        for (uint32_t i = 0; i < j->n; i++) f->roots_scratch[i] = f->plan->roots[j->cand[i]];
        struct msg m;
        memset(&m, 0, sizeof m);
        m.type = MSG_JOB;
        m.u.job.job = j->id;
        m.u.job.task = j->task;
        m.u.job.sample = (uint16_t)j->sample;
        m.u.job.limit_ms = f->cfg->timeout_ms;
        m.u.job.mem_mb = f->cfg->mem_mb;
        m.u.job.want_output = f->cfg->want_output;
        m.u.job.n = j->n;
        m.u.job.cand = j->cand;
        m.u.job.root = f->roots_scratch;
        rc = sched_push(f, s, &m);
    }
    /* Once handed over, the job is the slot's: if the worker is lost, charging settles it. */
    s->jobs[s->n_jobs++] = j;
    if (s->state != SLOT_BUSY) {
        s->deadline_us = sched_hard_deadline(f);
        slot_set_state(s, SLOT_BUSY, "job sent");
    }
    if (rc < 0) return rc;
    rc = frame_writer_flush(&s->wr, s->to_fd);
    return rc < 0 ? rc : 0;
}

void sched_deliver(struct farm *f, const struct farm_result *r)
{
    f->st->done++;
    f->st->by_status[r->status]++;
    if (r->status == ST_OK && r->match) f->st->matches++;
    f->unflushed = true;
    f->progress_dirty = true;
    if (f->sink_failed) return;
    if (f->sink->result(f->sink->ctx, r) < 0) {
        f->sink_failed = true;
        f->stopping = true;
        log_err("results can no longer be recorded: stopping now");
    }
}

static int proto_error(char *err, size_t errlen, const char *fmt, ...) BF_PRINTF(3, 4);
static int proto_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return BF_EDECODE;
}

static void result_init(const struct farm *f, struct farm_result *r, const struct job *j, uint32_t cand,
                        const struct slot *s)
{
    memset(r, 0, sizeof *r);
    r->task = j->task;
    r->sample = j->sample;
    r->cand = cand;
    r->slot = s->index;
    r->host = s->host ? s->host : f->cfg->host;
    r->attempt = j->attempt;
    r->msg = "";
}

static int sched_on_result(struct farm *f, struct slot *s, const struct msg_result *m, char *err, size_t errlen)
{
    if (s->n_jobs == 0) return proto_error(err, errlen, "RESULT with no job in flight");
    struct job *j = s->jobs[0];
    if (m->job != j->id) return proto_error(err, errlen, "RESULT for job %u, expected job %u", m->job, j->id);
    if (j->n_done >= j->n || m->cand != j->cand[j->n_done])
        return proto_error(err, errlen, "RESULT for candidate %u out of order in job %u", m->cand, j->id);
    enum bf_status st = (enum bf_status)m->status;
    if (st != ST_OK && st != ST_ERROR && st != ST_TIMEOUT && st != ST_MEMOUT && st != ST_INTERNAL)
        return proto_error(err, errlen, "RESULT with status %u", m->status);
    struct farm_result r;
    result_init(f, &r, j, m->cand, s);
    r.status = st;
    r.match = m->match;
    r.shape_match = m->shape_match;
    r.cells_right = m->cells_right;
    r.cells_total = m->cells_total;
    r.cpu_us = m->cpu_us;
    r.wall_us = m->wall_us;
    r.out_hash = m->out_hash;
    r.msg = m->text;
    r.has_grid = m->has_grid && m->out_cells;
    r.out_h = m->out_h;
    r.out_w = m->out_w;
    r.out_cells = m->out_cells;
    if (st == ST_INTERNAL) {
        char name[96], sample[96];
        log_err("internal error evaluating %s on %s: %s", farm_cand_name(f, m->cand, name, sizeof name),
                (farm_sample_name(f, j->task, j->sample, sample, sizeof sample), sample), m->text);
    }
    sched_deliver(f, &r);
    j->n_done++;
    s->deadline_us = sched_hard_deadline(f);
    return 0;
}

static int sched_on_done(struct farm *f, struct slot *s, const struct msg_done *m, char *err, size_t errlen)
{
    if (s->n_jobs == 0) return proto_error(err, errlen, "DONE with no job in flight");
    struct job *j = s->jobs[0];
    if (m->job != j->id || j->n_done != j->n)
        return proto_error(err, errlen, "DONE for job %u after %u of %u results of job %u", m->job, j->n_done, j->n,
                           j->id);
    job_free(j);
    for (uint32_t i = 1; i < s->n_jobs; i++) s->jobs[i - 1] = s->jobs[i];
    s->n_jobs--;
    f->st->jobs++;
    f->batch_ended = true;
    s->backoff_ms = SLOT_BACKOFF_MIN_MS;
    if (s->n_jobs) {
        s->deadline_us = sched_hard_deadline(f);
    } else {
        s->deadline_us = 0;
        slot_set_state(s, SLOT_IDLE, "job done");
    }
    return 0;
}

static int sched_on_hello(struct farm *f, struct slot *s, const struct msg_hello *m, char *err, size_t errlen)
{
    if (s->state != SLOT_STARTING) return proto_error(err, errlen, "HELLO when %s", slot_state_name(s->state));
    if (m->proto != PROTO_VERSION)
        return proto_error(err, errlen, "worker speaks protocol %d, we speak %d", m->proto, PROTO_VERSION);
    snprintf(s->device, sizeof s->device, "%s", m->device);
    s->start_failures = 0;
    s->deadline_us = 0;
    if (s->died_at_us) {
        double ms = (double)(farm_now_us() - s->died_at_us) / 1000.0;
        if (ms > f->st->max_ready_ms) f->st->max_ready_ms = ms;
        f->st->respawns++;
        log_info("slot %d: serving again %.1f ms after its previous worker was lost", s->index, ms);
        s->died_at_us = 0;
    }
    char why[100];
    snprintf(why, sizeof why, "HELLO from pid %d on %s", (int)m->pid, m->device);
    slot_set_state(s, SLOT_IDLE, why);
    return 0;
}

int sched_on_frame(struct farm *f, struct slot *s, const uint8_t *p, uint32_t n, char *err, size_t errlen)
{
    struct msg m;
    char derr[128] = "";
    if (msg_decode(p, n, &m, derr, sizeof derr) < 0)
        return proto_error(err, errlen, "undecodable frame of %u bytes: %s", n, derr);
    int rc;
    switch (m.type) {
    case MSG_HELLO: rc = sched_on_hello(f, s, &m.u.hello, err, errlen); break;
    case MSG_RESULT: rc = sched_on_result(f, s, &m.u.result, err, errlen); break;
    case MSG_DONE: rc = sched_on_done(f, s, &m.u.done, err, errlen); break;
    case MSG_ERROR: rc = proto_error(err, errlen, "worker reported: %s", m.u.error.text); break;
    default: rc = proto_error(err, errlen, "unexpected %s message from a worker", msg_type_name(m.type)); break;
    }
    msg_release(&m);
    return rc;
}

/* The in-flight candidate of a lost worker: a record now, or a retry on its own. */
static void sched_charge_candidate(struct farm *f, struct slot *s, struct job *j, enum slot_loss why, int signal,
                                   const char *msg)
{
    uint32_t c = j->cand[j->n_done];
    char name[96], sample[96];
    farm_cand_name(f, c, name, sizeof name);
    farm_sample_name(f, j->task, j->sample, sample, sizeof sample);
    bool isolated = j->n == 1; /* alone in its job: certainly the one in flight */
    if ((why == LOSS_HARD_TIMEOUT && isolated) || (why != LOSS_HARD_TIMEOUT && isolated && j->attempt >= f->cfg->max_attempts)) {
        struct farm_result r;
        result_init(f, &r, j, c, s);
        r.status = why == LOSS_HARD_TIMEOUT ? ST_TIMEOUT : ST_CRASH;
        r.signal = why == LOSS_HARD_TIMEOUT ? 0 : signal;
        r.msg = msg;
        log_warn("slot %d: %s on %s recorded as %s (attempt %d): %s", s->index, name, sample,
                 bf_status_name(r.status), j->attempt, msg);
        sched_deliver(f, &r);
        return;
    }
    struct job *retry = job_new(f, j->task, j->sample, j->attempt + 1, 1);
    retry->cand[retry->n++] = c;
    log_notice("slot %d: %s on %s was in flight when its worker was lost (%s); retrying it alone (attempt %d of %d)",
               s->index, name, sample, msg, retry->attempt, f->cfg->max_attempts);
    sched_requeue(f, retry);
}

void sched_charge_inflight(struct farm *f, struct slot *s, enum slot_loss why, int signal, const char *msg)
{
    f->batch_ended = true;
    /* Requeue back to front so the queue keeps the jobs' order, then the retry goes first. */
    for (uint32_t k = s->n_jobs; k-- > 0;) {
        struct job *j = s->jobs[k];
        s->jobs[k] = NULL;
        if (why == LOSS_SHUTDOWN) { /* stopped at once: unfinished work gets no record */
            job_free(j);
            continue;
        }
        if (k > 0) { /* never started */
            j->n_done = 0;
            sched_requeue(f, j);
            continue;
        }
        if (j->n_done >= j->n) { /* every result arrived, only DONE is missing */
            job_free(j);
            continue;
        }
        /* the other unreported candidates, one job each (pushed back to front: they keep order) */
        for (uint32_t i = j->n; i-- > j->n_done + 1;) {
            struct job *r = job_new(f, j->task, j->sample, j->attempt, 1);
            r->cand[r->n++] = j->cand[i];
            sched_requeue(f, r);
        }
        sched_charge_candidate(f, s, j, why, signal, msg);
        job_free(j);
    }
    s->n_jobs = 0;
}
