/* proto.h: the only contract between master and worker. Every message is one frame (frame.h)
 * holding one msgpack map with a "type" field; msg.c (the only file that includes <msgpack.h>)
 * encodes and decodes these structs.
 *
 * Conversation (worker stdin <- master, worker stdout -> master):
 *   W: HELLO {pid, device}                      the slot is ready
 *   M: TASK {task id, samples}                  once per task the worker will need
 *   M: NODES {base, nodes}                      DAG nodes base.. (appended; once per node)
 *   M: JOB {job, task, sample, limits, cands}   evaluate these candidates on one sample
 *   W: RESULT {...}  one per candidate of the job, streamed as each finishes
 *   W: DONE {job}
 *   M: BYE / stdin EOF                          the worker exits 0
 * A worker that cannot continue sends ERROR {msg} and exits 1. */
#ifndef BF_PROTO_H
#define BF_PROTO_H

#include "compat.h"
#include "program.h"
#include "task.h"

#define PROTO_VERSION 1
#define PROTO_MAX_DEPTH 8         /* msgpack nesting accepted by the decoder */
#define PROTO_MAX_SAMPLES 64      /* per task */
#define PROTO_MAX_CANDS 4096      /* per job */
#define PROTO_MAX_NODES 65536     /* per NODES message */
#define PROTO_MAX_TEXT 256        /* error messages, output reprs */
#define PROTO_MAX_OUT_SIDE 255    /* largest output grid side sent back */

enum msg_type {
    MSG_HELLO = 1,
    MSG_TASK,
    MSG_NODES,
    MSG_JOB,
    MSG_RESULT,
    MSG_DONE,
    MSG_ERROR,
    MSG_BYE,
    MSG_TYPE_COUNT
};

/* One status per (candidate, sample), a closed set (design.md section 5). */
enum bf_status {
    ST_OK,       /* returned; match says whether it equals the expected output */
    ST_ERROR,    /* DSL runtime error (a Python exception in the reference) */
    ST_TIMEOUT,
    ST_MEMOUT,
    ST_CRASH,    /* the worker died; the signal is recorded */
    ST_INVALID,  /* failed the static check, never dispatched */
    ST_INTERNAL, /* our bug */
    ST_COUNT
};
const char *bf_status_name(enum bf_status s);   /* "ok", "error", ... */
int bf_status_parse(const char *name);          /* -1 when unknown */

struct msg_hello {
    int32_t pid;
    int32_t proto;       /* PROTO_VERSION */
    char device[64];     /* "cpu", "cuda:0 NVIDIA H200", ... */
};

struct msg_task {
    uint32_t task;       /* master's task index */
    char name[64];
    uint16_t n_demo, n_test;
    struct sample *samples; /* n_demo + n_test, demos first */
};

struct msg_nodes {
    uint32_t base;       /* id of nodes[0] in the worker's DAG */
    uint32_t n;
    struct pnode *nodes;
};

struct msg_job {
    uint32_t job;
    uint32_t task;
    uint16_t sample;     /* index into the task's samples (demos first) */
    uint32_t limit_ms;   /* soft limit per candidate (SIGALRM in the worker) */
    uint32_t mem_mb;     /* memory cap per evaluation */
    bool want_output;    /* send the output grid (or repr) back */
    uint32_t n;
    uint32_t *cand;      /* the master's candidate ids, echoed in results */
    struct ref *root;    /* each candidate's result ref in the DAG */
};

struct msg_result {
    uint32_t job;
    uint32_t cand;
    uint8_t status;      /* enum bf_status */
    bool match;
    bool shape_match;
    uint32_t cells_right, cells_total;
    uint64_t cpu_us, wall_us;
    char text[PROTO_MAX_TEXT]; /* error message, or the output's repr when it is not a grid */
    uint64_t out_hash;   /* behaviour: score_grid_hash of a grid output, else a hash of the outcome
                          * (equal outputs on every demo sample = behaviourally equal candidates) */
    bool has_grid;       /* want_output and the output is a rectangular grid of 0..9 */
    uint16_t out_h, out_w;
    uint8_t *out_cells;  /* out_h * out_w */
};

struct msg_done {
    uint32_t job;
};

struct msg_error {
    char text[PROTO_MAX_TEXT];
};

struct msg {
    enum msg_type type;
    union {
        struct msg_hello hello;
        struct msg_task task;
        struct msg_nodes nodes;
        struct msg_job job;
        struct msg_result result;
        struct msg_done done;
        struct msg_error error;
    } u;
};

/* Encoding: msg_encode() appends one frame payload (no length prefix) to *buf (realloc'd). */
struct msg_buf { uint8_t *data; size_t len, cap; };
int msg_encode(const struct msg *m, struct msg_buf *out);
void msg_buf_release(struct msg_buf *b);

/* Decoding: fills *m; pointers inside it (samples, nodes, cand, root, out_cells) are malloc'd
 * and freed by msg_release(). Returns 0 or BF_EDECODE with a reason in err. */
int msg_decode(const uint8_t *payload, size_t len, struct msg *m, char *err, size_t errlen);
void msg_release(struct msg *m);

const char *msg_type_name(enum msg_type t);

#endif
