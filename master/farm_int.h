/* farm_int.h: the farm's internals, shared by slot.c (processes), sched.c (jobs and results),
 * loop.c (the poll loop, signals, farm_run) and progress.c. Nothing outside master/farm*.c,
 * slot.c, sched.c, loop.c and progress.c includes this.
 *
 * A slot is one worker position (nginx's ngx_processes[] idea): the index survives respawns.
 * Every state change goes through slot_set_state(), which logs "from X to Y". */
#ifndef BF_FARM_INT_H
#define BF_FARM_INT_H

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include "farm.h"
#include "frame.h"
#include "proto.h"

#define SLOT_PIPELINE 2          /* jobs sent to a worker ahead of its results */
#define SLOT_BACKOFF_MIN_MS 10
#define SLOT_BACKOFF_MAX_MS 1000
#define SLOT_STOP_WAIT_MS 2000   /* after closing a worker's stdin, before SIGKILL */
#define SLOT_REMOTE_CMD_MAX 8192 /* the command line a remote slot gives ssh */

enum slot_state {
    SLOT_EMPTY,     /* no process; spawned again at start_at_us when work remains */
    SLOT_STARTING,  /* forked and exec'd; waiting for HELLO (deadline: start timeout) */
    SLOT_IDLE,      /* ready, nothing in flight */
    SLOT_BUSY,      /* jobs in flight (deadline: the in-flight candidate's hard limit) */
    SLOT_STOPPING,  /* stdin closed; waiting for it to exit (deadline: then SIGKILL) */
    SLOT_GIVEN_UP,  /* failed to start too often, or exited 2 (fatal): never started again */
};

/* Why a worker went away; decides what its in-flight candidate is charged with. */
enum slot_loss {
    LOSS_EXITED,        /* it died or exited on its own (crash record, after retries) */
    LOSS_PROTOCOL,      /* it sent something we cannot accept; we killed it (as a crash) */
    LOSS_HARD_TIMEOUT,  /* past the hard deadline; we killed it (timeout record, no retry) */
    LOSS_START_TIMEOUT, /* no HELLO in time; we killed it (a failed start) */
    LOSS_SHUTDOWN,      /* we stopped it: normal end, or stop now (no records) */
};

struct job {
    uint32_t id;
    uint32_t task, sample;
    int attempt;          /* 1 for fresh work; a crashed candidate is retried alone with +1 */
    uint32_t n, n_done;   /* results arrive in cand[] order */
    struct job *next;     /* in the requeue list */
    uint32_t cand[];
};

/* A position of the job generator over (task, sample, cand), with the job it made ahead from
 * there (NULL: nothing left to it). */
struct gen_cursor {
    uint32_t task, sample, cand;
    struct job *next;
};

struct slot {
    int index;
    enum slot_state state;
    pid_t pid;                /* 0 when no process */
    int to_fd, from_fd;       /* master's ends: worker stdin, worker stdout (-1 when closed) */
    struct frame_reader rd;
    struct frame_writer wr;
    struct job *jobs[SLOT_PIPELINE]; /* jobs[0] is being evaluated */
    uint32_t n_jobs;
    uint32_t nodes_sent;      /* the worker holds DAG nodes [0, nodes_sent) */
    uint8_t *task_sent;       /* per task: TASK already sent to this process */
    int64_t deadline_us;      /* see enum slot_state; 0: none */
    int64_t start_at_us;      /* SLOT_EMPTY: when to spawn */
    int64_t died_at_us;       /* when the last unexpected death was noticed (0: none pending) */
    uint32_t backoff_ms;
    int start_failures;       /* in a row, before a HELLO */
    char **envp;              /* the worker's environment (BF_SLOT etc.), built once */
    size_t env_owned_from;    /* envp[env_owned_from..] were allocated by slot_make_env */
    const char *host;         /* NULL: local; else the ssh host (cfg.slot_specs) */
    char **argv;              /* remote: ssh's argv (owned); NULL: the farm's local argv */
    char device[64];
};

struct farm {
    const struct farm_config *cfg;
    const struct farm_plan *plan;
    const struct farm_sink *sink;
    struct farm_stats *st;
    struct slot *slots;
    int n_slots;
    char *argv[3];            /* worker path, "--stdio", NULL */

    /* work: requeued jobs first, then the generator's cursors (sched_take) */
    struct job *requeue_head, *requeue_tail;
    struct gen_cursor fresh;  /* at the first task no slot has claimed */
    struct gen_cursor *claimed; /* per slot: the task it claimed */
    uint32_t batch;           /* largest job (candidates) */
    uint64_t generated;       /* units put into fresh jobs so far (guided job sizes) */
    uint32_t next_job_id;
    uint32_t *need_nodes;     /* per candidate: DAG prefix length its root needs */

    /* scratch for encoding */
    struct msg_buf mb;
    struct ref *roots_scratch;
    uint32_t roots_cap;

    /* loop */
    int sig_fd;
    struct pollfd *pfd;       /* 1 + 2 per slot */
    int *pfd_slot;            /* slot index of each pfd entry (-1: the signalfd) */
    sigset_t saved_mask;
    bool draining;            /* first SIGINT/SIGHUP, or the sink failed */
    bool stopping;            /* second SIGINT or SIGTERM */
    bool sink_failed;
    bool unflushed;           /* results given to the sink since its last flush */
    bool batch_ended;         /* a job ended (or a worker was lost) since the last flush */
    int64_t t0_us, last_flush_us;
    int64_t read_now_us;      /* while farm_read_slot handles a slot's frames: the time it began
                                 (perf: a clock read per result was 0.3% of a sweep's CPU) */

    /* progress line */
    bool progress_on;
    int64_t progress_drawn_us;
    bool progress_dirty;
};

int64_t farm_now_us(void);
const char *farm_cand_name(const struct farm *f, uint32_t cand, char *buf, size_t len);
void farm_sample_name(const struct farm *f, uint32_t task, uint32_t sample, char *buf, size_t len);

/* slot.c */
const char *slot_state_name(enum slot_state s);
void slot_set_state(struct slot *s, enum slot_state to, const char *why);
int slot_init(struct farm *f, struct slot *s, int index);
void slot_release(struct slot *s);
int slot_spawn(struct farm *f, struct slot *s);
/* slot_spawn() failed (pipe, fork or exec): counts as a failed start (backoff, maybe give up). */
void slot_start_failed(struct farm *f, struct slot *s, int rc);
/* Kills the worker's group, reaps it (blocking), then slot_lost(). */
void slot_fail(struct farm *f, struct slot *s, enum slot_loss why, const char *msg);
/* The worker is gone (reaped with status wstatus): charges in-flight work, closes its pipes and
 * decides between respawn with backoff, staying empty, and giving the slot up. */
void slot_lost(struct farm *f, struct slot *s, enum slot_loss why, int wstatus, const char *msg);
/* Closes the worker's stdin (it exits 0 on EOF); SIGKILL follows SLOT_STOP_WAIT_MS later. */
void slot_stop(struct farm *f, struct slot *s);
struct slot *slot_by_pid(struct farm *f, pid_t pid);
bool slot_alive(const struct slot *s);
void slot_describe_exit(int wstatus, char *buf, size_t len);

/* sched.c */
int sched_init(struct farm *f);
void sched_release(struct farm *f);
bool sched_has_work(const struct farm *f);
struct job *sched_take(struct farm *f, const struct slot *s);
void sched_requeue(struct farm *f, struct job *j);
void job_free(struct job *j);
/* Sends TASK/NODES as needed, then JOB; the slot becomes BUSY. */
int sched_send(struct farm *f, struct slot *s, struct job *j);
/* Handles one frame from a worker; returns 0 or a negative code with why in err (protocol). */
int sched_on_frame(struct farm *f, struct slot *s, const uint8_t *p, uint32_t n, char *err, size_t errlen);
/* The worker is gone: its in-flight candidate gets its record or a retry, the rest is requeued. */
void sched_charge_inflight(struct farm *f, struct slot *s, enum slot_loss why, int signal, const char *msg);
/* Delivers one record to the sink and the statistics. */
void sched_deliver(struct farm *f, const struct farm_result *r);

/* progress.c */
void progress_draw(struct farm *f, bool final);

#endif
