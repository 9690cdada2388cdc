/* worker.c: the protocol loop of battfarm-worker (see worker.h). */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "dsl/eval.h"
#include "faults.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "score.h"
#include "score_mix.h"
#include "watchdog.h"
#include "worker.h"

/* Results of a job wait in the worker until RESULT_BATCH of them are ready or the oldest has
 * waited RESULT_WAIT_US, or one took RESULT_WAIT_US itself; then their grids are scored in one
 * batch (score.h: on the GPU when the batch is large enough and a device is there) and they are
 * sent. So between two sends the worker runs at most RESULT_WAIT_US of fast evaluations plus one
 * slow one: the master's hard deadline (soft limit + grace, from the last result) is safe for any
 * grace above RESULT_WAIT_US, and a worker that dies loses at most that much finished work (the
 * master re-runs it, one candidate per job). */
#define RESULT_BATCH 256
#define RESULT_WAIT_US 20000

struct wtask {
    bool loaded;
    char name[64];
    uint16_t n_demo, n_test;
    struct sample *samples;    /* taken over from the decoded TASK */
    struct eval_inputs in;
};

struct worker {
    int in_fd, out_fd;
    struct frame_reader rd;
    struct msg_buf mb;
    struct frame_writer results; /* RESULT frames of a batch, written together (worker_flush) */
    struct wtask *tasks;       /* by the master's task index */
    uint32_t n_tasks;
    struct pnode *nodes;       /* the master's DAG, prefix [0, n_nodes) */
    uint32_t n_nodes, cap_nodes;
    struct eval_state *ev;
    uint8_t cells[PROTO_MAX_OUT_SIDE * PROTO_MAX_OUT_SIDE];
    char err[200];
    /* results waiting to be scored and sent */
    struct msg pending[RESULT_BATCH];
    int32_t batch_index[RESULT_BATCH];  /* index in `batch`, or -1 when scored already */
    uint32_t n_pending;
    int64_t first_pending_us;
    struct score_batch batch;
    struct score_result scored[RESULT_BATCH];
    char device[64];
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int worker_fail(struct worker *w, const char *fmt, ...) BF_PRINTF(2, 3);
static int worker_fail(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return BF_EDECODE;
}

/* Writes one message other than RESULT (those go through worker_queue_result). */
static int worker_send(struct worker *w, const struct msg *m)
{
    w->mb.len = 0;
    int rc = msg_encode(m, &w->mb);
    if (rc < 0) return log_fail(rc, "cannot encode %s: %s", msg_type_name(m->type), bf_strerror(rc));
    rc = frame_write(w->out_fd, w->mb.data, (uint32_t)w->mb.len);
    if (rc < 0) return log_fail(rc, "cannot write to the master: %s", bf_strerror(rc));
    return 0;
}

/* Queues a RESULT frame for worker_flush's single write (perf: one system call, and one wake-up
 * of the master, per batch instead of per result; in the arc-dsl sweep the 671,738 writes were 2%
 * of the workers' time and the master's poll loop a quarter of its own). With fault injection
 * compiled in, what is queued is written first, so that a fault's bytes land where this result's
 * frame would have. */
static int worker_queue_result(struct worker *w, const struct msg *m)
{
    w->mb.len = 0;
    fault_on_encode();
    int rc = msg_encode(m, &w->mb);
    if (rc < 0) return log_fail(rc, "cannot encode %s: %s", msg_type_name(m->type), bf_strerror(rc));
#ifdef BF_FAULTS
    rc = frame_writer_drain(&w->results, w->out_fd);
    if (rc < 0) return log_fail(rc, "cannot write to the master: %s", bf_strerror(rc));
    if (fault_on_write(w->out_fd, w->mb.data, (uint32_t)w->mb.len)) return 0;
#endif
    rc = frame_writer_push(&w->results, w->mb.data, (uint32_t)w->mb.len);
    if (rc < 0) return log_fail(rc, "cannot queue a result for the master: %s", bf_strerror(rc));
    return 0;
}

static int worker_hello(struct worker *w)
{
    struct msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_HELLO;
    m.u.hello.pid = (int32_t)getpid();
    m.u.hello.proto = PROTO_VERSION;
    snprintf(m.u.hello.device, sizeof m.u.hello.device, "%s", w->device);
    return worker_send(w, &m);
}

static void wtask_release(struct wtask *t)
{
    if (!t->loaded) return;
    eval_inputs_release(&t->in);
    free(t->samples);
    memset(t, 0, sizeof *t);
}

static int worker_on_task(struct worker *w, struct msg_task *m)
{
    if (m->task >= (1u << 24)) return worker_fail(w, "TASK index %u out of range", m->task);
    if (m->n_demo + m->n_test == 0 || m->n_demo + m->n_test > PROTO_MAX_SAMPLES || !m->samples)
        return worker_fail(w, "TASK %s with %u samples", m->name, m->n_demo + m->n_test);
    if (m->task >= w->n_tasks) {
        uint32_t n = m->task + 1;
        struct wtask *nt = realloc(w->tasks, n * sizeof *nt);
        if (!nt) return worker_fail(w, "out of memory for task %u", m->task);
        memset(nt + w->n_tasks, 0, (n - w->n_tasks) * sizeof *nt);
        w->tasks = nt;
        w->n_tasks = n;
    }
    struct wtask *t = &w->tasks[m->task];
    wtask_release(t);
    snprintf(t->name, sizeof t->name, "%s", m->name);
    t->n_demo = m->n_demo;
    t->n_test = m->n_test;
    t->samples = m->samples;
    m->samples = NULL; /* ours now */
    eval_inputs_make(&t->in, t->samples, t->n_demo, (uint32_t)t->n_demo + t->n_test);
    t->loaded = true;
    return 0;
}

static bool ref_ok(struct ref r, uint32_t n_nodes)
{
    switch (r.kind) {
    case REF_NODE: return r.id < n_nodes;
    case REF_CONST: return r.id < CONST_COUNT;
    case REF_PRIM: return r.id < PRIM_COUNT;
    case REF_I: case REF_S: case REF_C: return true;
    default: return false;
    }
}

static int worker_on_nodes(struct worker *w, const struct msg_nodes *m)
{
    if (m->base != w->n_nodes) return worker_fail(w, "NODES from %u, we have %u", m->base, w->n_nodes);
    if (m->n > PROTO_MAX_NODES || (m->n && !m->nodes)) return worker_fail(w, "NODES with %u nodes", m->n);
    if (w->n_nodes + m->n > w->cap_nodes) {
        uint32_t cap = w->cap_nodes ? w->cap_nodes : 1024;
        while (cap < w->n_nodes + m->n) cap *= 2;
        struct pnode *nn = realloc(w->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return worker_fail(w, "out of memory for %u nodes", cap);
        w->nodes = nn;
        w->cap_nodes = cap;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        const struct pnode *p = &m->nodes[i];
        uint32_t id = m->base + i; /* a node refers to earlier nodes only */
        bool ok = p->nargs <= PROG_MAX_ARGS && ref_ok(p->callee, id);
        for (int a = 0; ok && a < p->nargs; a++) ok = ref_ok(p->arg[a], id);
        if (!ok) return worker_fail(w, "NODES: node %u is malformed", id);
        w->nodes[id] = *p;
    }
    w->n_nodes += m->n;
    return 0;
}

/* A hash of an outcome that is not a grid (an error class, a non-grid value's repr). */
static uint64_t outcome_hash(uint8_t status, const char *text)
{
    uint64_t h = score_mix64(0xba77fa12ULL + status);
    for (const char *p = text; p && *p && *p != ':'; p++) h = score_mix64(h ^ (uint8_t)*p);
    return h;
}

/* Fills what the evaluation says; a grid output goes into the scoring batch (batch_index). */
static void worker_fill_result(struct worker *w, const struct msg_job *job, const struct sample *smp,
                               const struct eval_result *er, struct msg_result *r, int32_t *batch_index)
{
    *batch_index = -1;
    switch (er->outcome) {
    case DSL_OK: r->status = ST_OK; break;
    case DSL_ERROR: r->status = ST_ERROR; break;
    case DSL_TIMEOUT: r->status = ST_TIMEOUT; break;
    case DSL_MEMOUT: r->status = ST_MEMOUT; break;
    default: r->status = ST_INTERNAL; break;
    }
    r->cpu_us = er->cpu_us;
    r->wall_us = er->wall_us;
    if (smp->has_output) r->cells_total = (uint32_t)smp->output.h * smp->output.w;
    if (r->status != ST_OK) {
        snprintf(r->text, sizeof r->text, "%s", er->msg);
        r->out_hash = outcome_hash(r->status, er->msg);
        return;
    }
    uint16_t h, wd;
    if (val_to_cells(er->value, w->cells, &h, &wd, PROTO_MAX_OUT_SIDE) &&
        score_batch_add(&w->batch, &(struct score_grid){ h, wd, w->cells }) == 0) {
        *batch_index = (int32_t)w->batch.n - 1;
        return;
    }
    /* not a grid of 0..9 (or too large to send): scored here, never a match */
    if (smp->has_output)
        val_score(er->value, &smp->output, &r->match, &r->shape_match, &r->cells_right, &r->cells_total);
    struct strbuf sb = { NULL, 0, 0, sizeof r->text }; /* only what r->text can hold */
    val_repr(er->value, &sb);
    snprintf(r->text, sizeof r->text, "%.*s", (int)(sb.len < sizeof r->text ? sb.len : sizeof r->text - 1),
             sb.p ? sb.p : "");
    sb_release(&sb);
    r->out_hash = outcome_hash(ST_OK, r->text);
    if (!job->want_output) r->text[0] = 0;
}

/* Scores the batch and sends every pending result, in evaluation order. */
static int worker_flush(struct worker *w, const struct msg_job *job, const struct sample *smp)
{
    if (w->n_pending == 0) return 0;
    score_batch_run(&w->batch, w->scored, SCORE_AUTO);
    int rc = 0;
    for (uint32_t i = 0; i < w->n_pending && rc == 0; i++) {
        struct msg_result *r = &w->pending[i].u.result;
        int32_t k = w->batch_index[i];
        if (k >= 0) {
            const struct score_result *sr = &w->scored[k];
            if (smp->has_output) {
                r->match = sr->match;
                r->shape_match = sr->shape_match;
                r->cells_right = sr->cells_right;
            }
            r->out_hash = sr->hash;
            if (job->want_output) {
                r->has_grid = true;
                r->out_h = w->batch.dims[2 * k];
                r->out_w = w->batch.dims[2 * k + 1];
                r->out_cells = w->batch.cells + w->batch.offset[k];
            }
        }
        rc = worker_queue_result(w, &w->pending[i]);
    }
    int sent = frame_writer_drain(&w->results, w->out_fd); /* what was queued, even after a failure */
    if (sent < 0 && rc == 0) rc = log_fail(sent, "cannot write to the master: %s", bf_strerror(sent));
    w->n_pending = 0;
    score_batch_clear(&w->batch);
    return rc;
}

static int worker_on_job(struct worker *w, const struct msg_job *job)
{
    if (job->task >= w->n_tasks || !w->tasks[job->task].loaded)
        return worker_fail(w, "JOB %u for task %u, which was never sent", job->job, job->task);
    struct wtask *t = &w->tasks[job->task];
    if (job->sample >= t->n_demo + t->n_test)
        return worker_fail(w, "JOB %u for sample %u of %s, which has %u", job->job, job->sample, t->name,
                           t->n_demo + t->n_test);
    if (job->n > PROTO_MAX_CANDS || (job->n && (!job->cand || !job->root)))
        return worker_fail(w, "JOB %u with %u candidates", job->job, job->n);
    for (uint32_t i = 0; i < job->n; i++)
        if (!ref_ok(job->root[i], w->n_nodes))
            return worker_fail(w, "JOB %u: root of candidate %u is not in the DAG", job->job, job->cand[i]);
    const struct sample *smp = &t->samples[job->sample];
    const struct grid *expected = &smp->output;
    static const uint8_t no_cells[1];
    score_batch_reset(&w->batch, smp->has_output ? &(struct score_grid){ expected->h, expected->w, expected->cell }
                                                : &(struct score_grid){ 0, 0, no_cells });
    eval_sample_begin(w->ev, w->nodes, w->n_nodes, &t->in, job->sample, (size_t)job->mem_mb << 20);
    eval_sample_plan(w->ev, job->root, job->n);
    int rc = 0;
    for (uint32_t i = 0; i < job->n && rc == 0; i++) {
        struct msg *m = &w->pending[w->n_pending];
        memset(m, 0, sizeof *m);
        m->type = MSG_RESULT;
        struct msg_result *r = &m->u.result;
        r->job = job->job;
        r->cand = job->cand[i];
        w->batch_index[w->n_pending] = -1;
        bool slow = false;
        watchdog_arm(job->limit_ms);
        if (!fault_on_eval(w->nodes, w->n_nodes, job->root[i], r)) {
            struct eval_result er;
            memset(&er, 0, sizeof er);
            eval_plan_candidate(w->ev, i, job->limit_ms, &er);
            worker_fill_result(w, job, smp, &er, r, &w->batch_index[w->n_pending]);
            slow = er.wall_us >= RESULT_WAIT_US;
        }
        watchdog_disarm();
        if (w->n_pending++ == 0) w->first_pending_us = now_us();
        /* a slow candidate is sent at once: so at most one slow evaluation ever runs while
         * results wait, and the master's silence stays under soft limit + RESULT_WAIT_US */
        if (slow || w->n_pending == RESULT_BATCH || now_us() - w->first_pending_us >= RESULT_WAIT_US)
            rc = worker_flush(w, job, smp);
    }
    if (rc == 0) rc = worker_flush(w, job, smp);
    w->n_pending = 0;
    eval_sample_end(w->ev);
    if (rc < 0) return rc;
    struct msg d;
    memset(&d, 0, sizeof d);
    d.type = MSG_DONE;
    d.u.done.job = job->job;
    return worker_send(w, &d);
}

/* 1: BYE; 0: go on; <0: protocol error (w->err) or I/O error. */
static int worker_on_frame(struct worker *w, const uint8_t *p, uint32_t n)
{
    struct msg m;
    char derr[128] = "";
    if (msg_decode(p, n, &m, derr, sizeof derr) < 0) return worker_fail(w, "undecodable frame: %s", derr);
    int rc;
    switch (m.type) {
    case MSG_TASK: rc = worker_on_task(w, &m.u.task); break;
    case MSG_NODES: rc = worker_on_nodes(w, &m.u.nodes); break;
    case MSG_JOB:
        fault_on_job();
        rc = worker_on_job(w, &m.u.job);
        break;
    case MSG_BYE: rc = 1; break;
    default: rc = worker_fail(w, "unexpected %s message", msg_type_name(m.type)); break;
    }
    msg_release(&m);
    return rc;
}

static void worker_release(struct worker *w)
{
    for (uint32_t i = 0; i < w->n_tasks; i++) wtask_release(&w->tasks[i]);
    free(w->tasks);
    free(w->nodes);
    if (w->ev) eval_state_free(w->ev);
    score_batch_release(&w->batch);
    frame_reader_release(&w->rd);
    frame_writer_release(&w->results);
    msg_buf_release(&w->mb);
}

static void worker_send_error(struct worker *w)
{
    struct msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_ERROR;
    snprintf(m.u.error.text, sizeof m.u.error.text, "%s", w->err);
    worker_send(w, &m);
}

int worker_serve(int in_fd, int out_fd)
{
    static struct worker w; /* one per process; big (the output cell buffer) */
    memset(&w, 0, sizeof w);
    w.in_fd = in_fd;
    w.out_fd = out_fd;
    frame_reader_init(&w.rd, FRAME_MAX);
    frame_writer_init(&w.results);
    fault_at_start();
    const char *threshold = getenv("BF_GPU_THRESHOLD");
    if (threshold && *threshold) score_gpu_threshold = (uint32_t)strtoul(threshold, NULL, 10);
    if (score_gpu_available()) {
        const char *visible = getenv("CUDA_VISIBLE_DEVICES");
        snprintf(w.device, sizeof w.device, "cuda:%s %s", visible && *visible ? visible : "0", score_gpu_name());
    } else {
        snprintf(w.device, sizeof w.device, "cpu");
    }
    w.ev = eval_state_new();
    if (w.ev) eval_state_set_dag_append_only(w.ev, true); /* NODES only ever append */
    int status = 0;
    if (!w.ev || worker_hello(&w) < 0) status = 1;
    while (status == 0) {
        int rc = frame_read(&w.rd, w.in_fd);
        if (rc == 0 || rc == -EINTR || rc == -EAGAIN) continue;
        if (rc == BF_EEOF) break; /* the master closed our stdin: done */
        if (rc < 0) {
            log_err("reading from the master: %s", bf_strerror(rc));
            status = 1;
            break;
        }
        uint32_t n;
        const uint8_t *p = frame_payload(&w.rd, &n);
        rc = worker_on_frame(&w, p, n);
        if (rc == 1) break;
        if (rc == BF_EDECODE) {
            log_err("protocol error: %s", w.err);
            worker_send_error(&w);
            status = 1;
        } else if (rc < 0) {
            status = 1;
        }
    }
    worker_release(&w);
    return status;
}
