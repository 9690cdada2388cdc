/* loop.c: farm_run(): one poll() loop serves every worker pipe, the signals (through a
 * signalfd: SIGINT, SIGHUP, SIGTERM and SIGCHLD stay blocked and are read as data, so a signal
 * can never be lost between a check and the wait) and every deadline (the poll timeout is the
 * nearest one: a start, a hard limit, a respawn, a stop, the progress line, the journal sync).
 *
 * Each round: spawn due slots, hand out jobs, wind down idle workers when nothing is left,
 * poll, then signals (reaping with waitpid(-1, WNOHANG) until empty), worker output (always
 * drained: a worker blocked writing results is never left waiting), pending writes, deadlines,
 * the sink's flush and the progress line. Writes to workers never block (frame_writer). */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "farm_int.h"
#include "log.h"

#define FARM_FLUSH_EVERY_US 1000000
#define FARM_FLUSH_LATE_US 200000
#define FARM_FRAMES_PER_ROUND 512 /* per slot, so one chatty worker cannot starve the others */

int64_t farm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *farm_cand_name(const struct farm *f, uint32_t cand, char *buf, size_t len)
{
    if (f->plan->names && f->plan->names[cand])
        snprintf(buf, len, "%s", f->plan->names[cand]);
    else
        snprintf(buf, len, "candidate %u", cand);
    return buf;
}

void farm_sample_name(const struct farm *f, uint32_t task, uint32_t sample, char *buf, size_t len)
{
    const struct task *t = &f->plan->tasks->tasks[task];
    if (sample < t->n_demo)
        snprintf(buf, len, "%s demo/%u", t->name, sample);
    else
        snprintf(buf, len, "%s test/%u", t->name, sample - t->n_demo);
}

/* fds 0, 1 and 2 must be open, so that no pipe lands there and gets clobbered by dup2. */
static void farm_ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0) continue;
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0 && nul != fd) {
            dup2(nul, fd);
            close(nul);
        }
    }
}

static int farm_signals_open(struct farm *f)
{
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL); /* a dead worker is an EPIPE, not our death */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, &f->saved_mask) < 0) return log_fail(-errno, "sigprocmask() failed: %s", strerror(errno));
    f->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (f->sig_fd < 0) {
        int rc = -errno;
        sigprocmask(SIG_SETMASK, &f->saved_mask, NULL);
        return log_fail(rc, "signalfd() failed: %s", strerror(-rc));
    }
    return 0;
}

static void farm_signals_close(struct farm *f)
{
    if (f->sig_fd < 0) return;
    close(f->sig_fd);
    f->sig_fd = -1;
    sigprocmask(SIG_SETMASK, &f->saved_mask, NULL);
}

static void farm_start_draining(struct farm *f, const char *why)
{
    if (f->draining) return;
    f->draining = true;
    f->st->interrupted = true;
    int busy = 0;
    for (int i = 0; i < f->n_slots; i++) busy += f->slots[i].state == SLOT_BUSY;
    log_notice("%s: draining (no new jobs; %d worker%s finishing), interrupt again to stop now", why, busy,
               busy == 1 ? "" : "s");
}

static void farm_stop_now(struct farm *f, const char *why)
{
    if (!f->stopping) log_notice("%s: stopping now", why);
    f->stopping = true;
    f->draining = true;
    f->st->interrupted = true;
}

static void farm_reap(struct farm *f)
{
    int ws;
    pid_t pid;
    while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
        struct slot *s = slot_by_pid(f, pid);
        if (!s) {
            log_warn("reaped an untracked child process %d", (int)pid);
            continue;
        }
        slot_lost(f, s, s->state == SLOT_STOPPING ? LOSS_SHUTDOWN : LOSS_EXITED, ws, NULL);
    }
}

static void farm_handle_signals(struct farm *f)
{
    struct signalfd_siginfo si;
    bool reap = false;
    while (read(f->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD: reap = true; break;
        case SIGINT:
        case SIGHUP:
            if (f->draining) farm_stop_now(f, si.ssi_signo == SIGINT ? "second SIGINT" : "second SIGHUP");
            else farm_start_draining(f, si.ssi_signo == SIGINT ? "SIGINT" : "SIGHUP");
            break;
        case SIGTERM: farm_stop_now(f, "SIGTERM"); break;
        default: break;
        }
    }
    if (reap) farm_reap(f);
}

static void farm_read_slot_frames(struct farm *f, struct slot *s)
{
    char err[200];
    for (int k = 0; k < FARM_FRAMES_PER_ROUND; k++) {
        int rc = frame_read(&s->rd, s->from_fd);
        if (rc == 0) return;
        if (rc == 1) {
            uint32_t n;
            const uint8_t *p = frame_payload(&s->rd, &n);
            if (sched_on_frame(f, s, p, n, err, sizeof err) < 0) {
                slot_fail(f, s, LOSS_PROTOCOL, err);
                return;
            }
            continue;
        }
        if (rc == -EAGAIN || rc == -EINTR) return;
        if (rc == BF_ETOOBIG) {
            slot_fail(f, s, LOSS_PROTOCOL, "frame length above the maximum");
        } else if (rc == BF_ETRUNCATED) {
            slot_fail(f, s, s->state == SLOT_STOPPING ? LOSS_SHUTDOWN : LOSS_EXITED, "output ended inside a frame");
        } else if (rc == BF_EEOF) {
            slot_fail(f, s, s->state == SLOT_STOPPING ? LOSS_SHUTDOWN : LOSS_EXITED, NULL);
        } else {
            snprintf(err, sizeof err, "reading its output: %s", bf_strerror(rc));
            slot_fail(f, s, LOSS_EXITED, err);
        }
        return;
    }
}

/* A slot's frames of this round, the deadlines they renew counted from the round's start (at
 * most FARM_FRAMES_PER_ROUND frames: well under a millisecond, against a grace of 100 ms or more). */
static void farm_read_slot(struct farm *f, struct slot *s)
{
    f->read_now_us = farm_now_us();
    farm_read_slot_frames(f, s);
    f->read_now_us = 0;
}

static void farm_write_slot(struct farm *f, struct slot *s)
{
    int rc = frame_writer_flush(&s->wr, s->to_fd);
    if (rc < 0) {
        char err[120];
        snprintf(err, sizeof err, "writing to it: %s", bf_strerror(rc));
        slot_fail(f, s, LOSS_EXITED, err);
    }
}

static void farm_spawn_due(struct farm *f, int64_t now)
{
    if (f->draining || !sched_has_work(f)) return;
    for (int i = 0; i < f->n_slots; i++) {
        struct slot *s = &f->slots[i];
        if (s->state != SLOT_EMPTY || s->start_at_us > now) continue;
        int rc = slot_spawn(f, s);
        if (rc < 0) slot_start_failed(f, s, rc);
    }
}

static void farm_dispatch(struct farm *f)
{
    if (f->draining) return;
    /* first one job per ready worker, then one more each to hide the round trip */
    for (uint32_t depth = 0; depth < SLOT_PIPELINE; depth++) {
        for (int i = 0; i < f->n_slots && sched_has_work(f); i++) {
            struct slot *s = &f->slots[i];
            if ((s->state != SLOT_IDLE && s->state != SLOT_BUSY) || s->n_jobs != depth) continue;
            int rc = sched_send(f, s, sched_take(f, s));
            if (rc < 0) {
                char err[120];
                snprintf(err, sizeof err, "sending a job: %s", bf_strerror(rc));
                slot_fail(f, s, LOSS_EXITED, err);
            }
        }
    }
}

/* Stops workers that have nothing left to do (or everything when stopping now). */
static void farm_wind_down(struct farm *f)
{
    bool no_work = !sched_has_work(f) || f->draining;
    for (int i = 0; i < f->n_slots; i++) {
        struct slot *s = &f->slots[i];
        if (!slot_alive(s)) continue;
        if (f->stopping)
            slot_fail(f, s, LOSS_SHUTDOWN, "stopping now");
        else if (no_work && s->state == SLOT_IDLE)
            slot_stop(f, s);
        else if (no_work && s->state == SLOT_STARTING)
            slot_fail(f, s, LOSS_SHUTDOWN, "not needed any more");
    }
}

static bool farm_finished(const struct farm *f)
{
    bool can_run = false;
    for (int i = 0; i < f->n_slots; i++) {
        if (slot_alive(&f->slots[i])) return false;
        if (f->slots[i].state != SLOT_GIVEN_UP) can_run = true;
    }
    if (!sched_has_work(f) || f->draining) return true;
    if (!can_run) log_err("every slot was given up: stopping with work left");
    return !can_run;
}

static int farm_poll_timeout_ms(const struct farm *f, int64_t now)
{
    int64_t next = f->last_flush_us + (f->unflushed ? FARM_FLUSH_LATE_US : FARM_FLUSH_EVERY_US);
    for (int i = 0; i < f->n_slots; i++) {
        const struct slot *s = &f->slots[i];
        if (s->deadline_us && s->deadline_us < next) next = s->deadline_us;
        if (s->state == SLOT_EMPTY && !f->draining && sched_has_work(f) && s->start_at_us < next)
            next = s->start_at_us;
    }
    if (f->progress_on && f->progress_dirty && f->progress_drawn_us + 100000 < next)
        next = f->progress_drawn_us + 100000;
    if (next <= now) return 0;
    return (int)((next - now + 999) / 1000);
}

static void farm_poll_once(struct farm *f)
{
    int64_t now = farm_now_us();
    int n = 0;
    f->pfd[n] = (struct pollfd){ .fd = f->sig_fd, .events = POLLIN };
    f->pfd_slot[n++] = -1;
    for (int i = 0; i < f->n_slots; i++) {
        struct slot *s = &f->slots[i];
        if (s->from_fd >= 0) {
            f->pfd[n] = (struct pollfd){ .fd = s->from_fd, .events = POLLIN };
            f->pfd_slot[n++] = i;
        }
        if (s->to_fd >= 0 && frame_writer_pending(&s->wr)) {
            f->pfd[n] = (struct pollfd){ .fd = s->to_fd, .events = POLLOUT };
            f->pfd_slot[n++] = i;
        }
    }
    int ready = poll(f->pfd, (nfds_t)n, farm_poll_timeout_ms(f, now));
    if (ready < 0) {
        if (errno != EINTR) log_warn("poll() failed: %s", strerror(errno));
        return;
    }
    if (f->pfd[0].revents) farm_handle_signals(f);
    for (int k = 1; k < n; k++) {
        if (!f->pfd[k].revents) continue;
        struct slot *s = &f->slots[f->pfd_slot[k]];
        if (f->pfd[k].fd == s->from_fd)
            farm_read_slot(f, s);
        else if (f->pfd[k].fd == s->to_fd)
            farm_write_slot(f, s);
        /* else: the slot lost that worker during this round */
    }
}

static void farm_check_deadlines(struct farm *f)
{
    int64_t now = farm_now_us();
    for (int i = 0; i < f->n_slots; i++) {
        struct slot *s = &f->slots[i];
        if (!s->deadline_us || now < s->deadline_us || !slot_alive(s)) continue;
        char msg[160];
        if (s->state == SLOT_STARTING) {
            snprintf(msg, sizeof msg, "no HELLO within %u ms", f->cfg->start_timeout_ms);
            slot_fail(f, s, LOSS_START_TIMEOUT, msg);
        } else if (s->state == SLOT_BUSY) {
            f->st->hard_kills++;
            snprintf(msg, sizeof msg, "hard deadline: worker killed after %u ms (soft limit %u ms + grace %u ms)",
                     f->cfg->timeout_ms + f->cfg->grace_ms, f->cfg->timeout_ms, f->cfg->grace_ms);
            slot_fail(f, s, LOSS_HARD_TIMEOUT, msg);
        } else if (s->state == SLOT_STOPPING) {
            snprintf(msg, sizeof msg, "did not exit within %d ms of the end of its input", SLOT_STOP_WAIT_MS);
            slot_fail(f, s, LOSS_SHUTDOWN, msg);
        }
    }
}

/* The journal is flushed per batch: when a job ends or a worker is lost, when results have
 * waited FARM_FLUSH_LATE_US, and at the end; the sink is also called about once a second so it
 * can sync. Flushing every poll round would cost a write(2) per result when results trickle in. */
static void farm_flush_sink(struct farm *f, bool force)
{
    int64_t now = farm_now_us();
    bool due = force || now - f->last_flush_us >= FARM_FLUSH_EVERY_US ||
               (f->unflushed && (f->batch_ended || now - f->last_flush_us >= FARM_FLUSH_LATE_US));
    if (!due) return;
    f->unflushed = false;
    f->batch_ended = false;
    f->last_flush_us = now;
    if (f->sink->flush && !f->sink_failed && f->sink->flush(f->sink->ctx) < 0) {
        f->sink_failed = true;
        farm_stop_now(f, "results can no longer be recorded");
    }
}

static uint64_t farm_plan_units(const struct farm_plan *p)
{
    uint64_t units = 0;
    for (size_t t = 0; t < p->tasks->n; t++)
        units += (uint64_t)(p->tasks->tasks[t].n_demo + p->tasks->tasks[t].n_test) * p->n_cands;
    return units;
}

static int farm_open(struct farm *f, const struct farm_config *cfg, const struct farm_plan *plan,
                     const struct farm_sink *sink, struct farm_stats *st)
{
    memset(f, 0, sizeof *f);
    memset(st, 0, sizeof *st);
    f->cfg = cfg;
    f->plan = plan;
    f->sink = sink;
    f->st = st;
    f->sig_fd = -1;
    f->n_slots = cfg->n_slots > 0 ? cfg->n_slots : 1;
    f->t0_us = f->last_flush_us = farm_now_us();
    f->progress_on = cfg->progress;
    uint64_t units = farm_plan_units(plan);
    st->total = units > plan->n_done ? units - plan->n_done : 0;
    if (st->total < (uint64_t)f->n_slots) f->n_slots = st->total ? (int)st->total : 1; /* no idle workers */
    f->argv[0] = strdup(cfg->worker_path);
    f->argv[1] = strdup("--stdio");
    f->slots = calloc((size_t)f->n_slots, sizeof *f->slots);
    f->pfd = calloc((size_t)f->n_slots * 2 + 1, sizeof *f->pfd);
    f->pfd_slot = calloc((size_t)f->n_slots * 2 + 1, sizeof *f->pfd_slot);
    if (!f->argv[0] || !f->argv[1] || !f->slots || !f->pfd || !f->pfd_slot) return BF_ENOMEM;
    int rc = sched_init(f);
    for (int i = 0; rc == 0 && i < f->n_slots; i++) rc = slot_init(f, &f->slots[i], i);
    if (rc == 0) rc = farm_signals_open(f);
    return rc;
}

static void farm_close(struct farm *f)
{
    if (f->sig_fd >= 0) farm_handle_signals(f); /* consume late ones: unblocking must not kill us */
    farm_signals_close(f);
    for (int i = 0; f->slots && i < f->n_slots; i++) slot_release(&f->slots[i]);
    sched_release(f);
    free(f->slots);
    free(f->pfd);
    free(f->pfd_slot);
    free(f->argv[0]);
    free(f->argv[1]);
}

static double farm_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

int farm_run(const struct farm_config *cfg, const struct farm_plan *plan, const struct farm_sink *sink,
             struct farm_stats *st)
{
    struct farm f;
    double cpu0 = farm_cpu_s();
    farm_ensure_std_fds();
    int rc = farm_open(&f, cfg, plan, sink, st);
    if (rc < 0) {
        log_err("cannot set up the farm: %s", bf_strerror(rc));
        farm_close(&f);
        return FARM_FAILED;
    }
    log_info("farm: %d slot%s running %s", f.n_slots, f.n_slots == 1 ? "" : "s", cfg->worker_path);
    for (;;) {
        int64_t now = farm_now_us();
        farm_spawn_due(&f, now);
        farm_dispatch(&f);
        farm_wind_down(&f);
        if (farm_finished(&f)) break;
        farm_poll_once(&f);
        farm_check_deadlines(&f);
        farm_flush_sink(&f, false);
        progress_draw(&f, false);
    }
    for (int i = 0; i < f.n_slots; i++)
        if (slot_alive(&f.slots[i])) slot_fail(&f, &f.slots[i], LOSS_SHUTDOWN, "farm ending");
    farm_flush_sink(&f, true);
    progress_draw(&f, true);
    st->elapsed_s = (double)(farm_now_us() - f.t0_us) / 1e6;
    st->master_cpu_s = farm_cpu_s() - cpu0;
    bool sink_failed = f.sink_failed;
    farm_close(&f);
    if (st->done < st->total || sink_failed) return FARM_INCOMPLETE;
    return FARM_DONE;
}
