/* slot.c: worker processes: spawn (fork + exec), kill, reap, respawn with backoff, give up.
 *
 * Spawning follows git's start_command() and PostgreSQL's postmaster: all signals blocked around
 * fork(); in the child only async-signal-safe calls (own process group, parent-death signal,
 * default dispositions, the pipes dup2'd onto 0/1, mask cleared) then execve(); an exec failure
 * comes back over a close-on-exec pipe (EOF there means the exec worked). A worker is ready when
 * it says HELLO. A worker that goes away is killed as a group (kill(-pgid, SIGKILL)), reaped with
 * waitpid, and its slot is respawned after a backoff (10 ms doubling to 1 s, reset by a finished
 * job); a slot whose worker fails to start max_start_failures times in a row, or exits with status
 * 2 (fatal setup error), is given up with one clear message while the other slots go on. */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "farm_int.h"
#include "log.h"

extern char **environ;

static const char *const slot_state_names[] = {
    [SLOT_EMPTY] = "empty", [SLOT_STARTING] = "starting", [SLOT_IDLE] = "idle",
    [SLOT_BUSY] = "busy", [SLOT_STOPPING] = "stopping", [SLOT_GIVEN_UP] = "given-up",
};

const char *slot_state_name(enum slot_state s)
{
    return (unsigned)s < BF_ARRAY_LEN(slot_state_names) ? slot_state_names[s] : "?";
}

void slot_set_state(struct slot *s, enum slot_state to, const char *why)
{
    if (s->state == to) return;
    log_info("slot %d: from %s to %s (%s)", s->index, slot_state_name(s->state), slot_state_name(to), why);
    s->state = to;
}

bool slot_alive(const struct slot *s)
{
    return s->pid > 0;
}

struct slot *slot_by_pid(struct farm *f, pid_t pid)
{
    for (int i = 0; i < f->n_slots; i++)
        if (f->slots[i].pid == pid) return &f->slots[i];
    return NULL;
}

/* Variables the master sets per slot: inherited values of these are dropped. */
static bool slot_env_is_ours(const char *kv)
{
    return strncmp(kv, "BF_SLOT=", 8) == 0 || strncmp(kv, "BF_MEM_CAP_MB=", 14) == 0 ||
           strncmp(kv, "CUDA_VISIBLE_DEVICES=", 21) == 0;
}

/* The slot's GPU binding: its spec (--hosts), or round robin over cfg->gpu_ids. */
static int slot_gpu(const struct farm *f, int index)
{
    if (f->cfg->slot_specs) return f->cfg->slot_specs[index].gpu;
    if (f->cfg->n_gpus > 0) return f->cfg->gpu_ids[index % f->cfg->n_gpus];
    return f->cfg->n_gpus < 0 ? FARM_GPU_NONE : FARM_GPU_KEEP;
}

#define SLOT_VARS_MAX 4
/* The variables the master gives slot `index`'s worker, "K=V" in vars[]: the one list for
 * local workers (their environment) and remote ones (their command line). BF_LOG is inherited
 * by local workers; a remote one gets it here. With GPUs, CUDA_VISIBLE_DEVICES binds the slot to
 * one of them, set before exec: the master itself never touches CUDA. */
static int slot_vars(const struct farm *f, int index, bool remote, char vars[SLOT_VARS_MAX][64])
{
    int n = 0;
    snprintf(vars[n++], 64, "BF_SLOT=%d", index);
    if (f->cfg->worker_mem_mb) snprintf(vars[n++], 64, "BF_MEM_CAP_MB=%u", f->cfg->worker_mem_mb);
    int gpu = slot_gpu(f, index);
    if (gpu >= 0) snprintf(vars[n++], 64, "CUDA_VISIBLE_DEVICES=%d", gpu);
    else if (gpu == FARM_GPU_NONE) snprintf(vars[n++], 64, "CUDA_VISIBLE_DEVICES=");
    const char *log = getenv("BF_LOG");
    if (remote && log && strlen(log) < 40) snprintf(vars[n++], 64, "BF_LOG=%s", log);
    return n;
}

/* The process's environment: ours, less any stale BF_SLOT / BF_MEM_CAP_MB (and
 * CUDA_VISIBLE_DEVICES when the slot binds one), plus, for a local worker, the slot's variables.
 * (ssh, for a remote slot, gets none of them: they go on its command line.) The strings from
 * env[*owned_from] on are allocated here. */
static char **slot_make_env(const struct farm *f, int index, bool remote, size_t *owned_from)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + SLOT_VARS_MAX + 1, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    bool bind_gpu = slot_gpu(f, index) != FARM_GPU_KEEP;
    for (size_t i = 0; i < n; i++) {
        if (slot_env_is_ours(environ[i]) && (bind_gpu || strncmp(environ[i], "CUDA_", 5) != 0)) continue;
        env[k++] = environ[i];
    }
    *owned_from = k;
    char vars[SLOT_VARS_MAX][64];
    int nv = remote ? 0 : slot_vars(f, index, false, vars);
    for (int i = 0; i < nv; i++)
        if (!(env[k++] = strdup(vars[i]))) return NULL; /* strdup failed: leak is irrelevant at startup */
    env[k] = NULL;
    return env;
}

/* Appends word to the shell command line in buf, single-quoted unless it is plain: the remote
 * sshd runs the line through the user's shell. */
static void shell_append(char *buf, size_t len, const char *word)
{
    size_t at = strlen(buf);
    bool plain = *word != 0;
    for (const char *p = word; *p; p++)
        plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("_-./=:,+@%", *p) != NULL;
    at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? " " : "", plain ? word : "'");
    if (plain) return;
    for (const char *p = word; *p && at < len; p++)
        at += (size_t)snprintf(buf + at, len - at, *p == '\'' ? "'\\''" : "%c", *p);
    if (at < len) snprintf(buf + at, len - at, "'");
}

/* A remote worker's --watchdog: how far past its soft limit an evaluation may run before the
 * worker's own watchdog kills it (watchdog.h). Our hard deadline (soft limit + grace) cannot
 * reach a remote process: killing ssh leaves it running. One grace more than ours, so that our
 * deadline comes first and the candidate gets its `timeout` record here, as on a local slot,
 * even when our deadline started a network delay after the worker's evaluation did; the worker
 * then dies when its connection closes, or at its own deadline when the connection stalls. */
static uint32_t slot_watchdog_ms(const struct farm *f)
{
    return 2 * f->cfg->grace_ms;
}

/* A remote slot's argv: ssh_argv..., -o BatchMode=yes -T host
 * 'env K=V ... worker --stdio --watchdog MS'. */
static char **slot_make_remote_argv(const struct farm *f, int index, const char *host)
{
    size_t nw = 0;
    while (f->cfg->ssh_argv[nw]) nw++;
    char **argv = calloc(nw + 6, sizeof *argv);
    char *cmd = malloc(SLOT_REMOTE_CMD_MAX);
    if (!argv || !cmd) {
        free(argv);
        free(cmd);
        return NULL;
    }
    cmd[0] = 0;
    shell_append(cmd, SLOT_REMOTE_CMD_MAX, "env");
    char vars[SLOT_VARS_MAX][64];
    int nv = slot_vars(f, index, true, vars);
    for (int i = 0; i < nv; i++) shell_append(cmd, SLOT_REMOTE_CMD_MAX, vars[i]);
    shell_append(cmd, SLOT_REMOTE_CMD_MAX, f->cfg->remote_worker ? f->cfg->remote_worker : f->cfg->worker_path);
    shell_append(cmd, SLOT_REMOTE_CMD_MAX, "--stdio");
    char ms[16];
    snprintf(ms, sizeof ms, "%u", slot_watchdog_ms(f));
    shell_append(cmd, SLOT_REMOTE_CMD_MAX, "--watchdog");
    shell_append(cmd, SLOT_REMOTE_CMD_MAX, ms);
    size_t k = 0;
    for (size_t i = 0; i < nw; i++) argv[k++] = strdup(f->cfg->ssh_argv[i]);
    argv[k++] = strdup("-o");
    argv[k++] = strdup("BatchMode=yes"); /* never a password prompt: a host that asks is a failed start */
    argv[k++] = strdup("-T");
    argv[k++] = strdup(host);
    argv[k++] = cmd;
    for (size_t i = 0; i < k; i++)
        if (!argv[i]) return NULL; /* leak irrelevant at startup */
    if (strlen(cmd) + 1 >= SLOT_REMOTE_CMD_MAX) return NULL;
    return argv;
}

int slot_init(struct farm *f, struct slot *s, int index)
{
    memset(s, 0, sizeof *s);
    s->index = index;
    s->state = SLOT_EMPTY;
    s->to_fd = s->from_fd = -1;
    s->backoff_ms = SLOT_BACKOFF_MIN_MS;
    s->host = f->cfg->slot_specs ? f->cfg->slot_specs[index].host : NULL;
    s->task_sent = calloc(f->plan->tasks->n ? f->plan->tasks->n : 1, 1);
    s->envp = slot_make_env(f, index, s->host != NULL, &s->env_owned_from);
    if (s->host) s->argv = slot_make_remote_argv(f, index, s->host);
    if (!s->task_sent || !s->envp || (s->host && !s->argv)) return BF_ENOMEM;
    return 0;
}

void slot_release(struct slot *s)
{
    free(s->task_sent);
    if (s->envp) {
        for (size_t i = s->env_owned_from; s->envp[i]; i++) free(s->envp[i]);
        free(s->envp);
    }
    for (size_t i = 0; s->argv && s->argv[i]; i++) free(s->argv[i]);
    free(s->argv);
    s->task_sent = NULL;
    s->envp = NULL;
    s->argv = NULL;
}

static int fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

/* Puts fd on target without close-on-exec (dup2 clears it; an fd already in place keeps it). */
static int child_move_fd(int fd, int target)
{
    if (fd == target) return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static BF_NORETURN void slot_child_exec(int in_fd, int out_fd, int err_fd, char *const argv[],
                                        char *const envp[], pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* the master dies: so do its workers */
    if (getppid() != parent) _exit(127); /* it died before prctl took effect */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    int e = 0;
    if (child_move_fd(in_fd, STDIN_FILENO) < 0 || child_move_fd(out_fd, STDOUT_FILENO) < 0) {
        e = errno;
    } else {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(argv[0], argv, envp);
        e = errno;
    }
    ssize_t w BF_UNUSED = write(err_fd, &e, sizeof e);
    _exit(127);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static pid_t wait_pid_blocking(pid_t pid, int *wstatus)
{
    pid_t r;
    do r = waitpid(pid, wstatus, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

int slot_spawn(struct farm *f, struct slot *s)
{
    int to[2] = { -1, -1 }, from[2] = { -1, -1 }, errp[2] = { -1, -1 };
    if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int rc = -errno;
        close_fd(&to[0]); close_fd(&to[1]); close_fd(&from[0]); close_fd(&from[1]);
        return log_fail(rc, "pipe2() failed for slot %d: %s", s->index, bf_strerror(rc));
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    char *const *argv = s->argv ? s->argv : f->argv;
    if (pid == 0) slot_child_exec(to[0], from[1], errp[1], argv, s->envp, parent);
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close_fd(&to[0]); close_fd(&from[1]); close_fd(&errp[1]);
    if (pid < 0) {
        close_fd(&to[1]); close_fd(&from[0]); close_fd(&errp[0]);
        return log_fail(-fork_errno, "fork() failed for slot %d: %s", s->index, strerror(fork_errno));
    }
    if (setpgid(pid, pid) < 0 && errno != EACCES && errno != ESRCH)
        log_warn("setpgid(%d) failed for slot %d: %s", (int)pid, s->index, strerror(errno));
    int child_errno = 0;
    ssize_t got;
    do got = read(errp[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close_fd(&errp[0]);
    f->st->spawns++;
    if (got == (ssize_t)sizeof child_errno) {
        int ws;
        wait_pid_blocking(pid, &ws);
        close_fd(&to[1]); close_fd(&from[0]);
        return log_fail(-child_errno, "slot %d: cannot start %s: %s", s->index, argv[0], strerror(child_errno));
    }
    s->pid = pid;
    s->to_fd = to[1];
    s->from_fd = from[0];
    fd_set_nonblock(s->to_fd);
    fd_set_nonblock(s->from_fd);
    frame_reader_init(&s->rd, FRAME_MAX);
    frame_writer_init(&s->wr);
    s->nodes_sent = 0;
    memset(s->task_sent, 0, f->plan->tasks->n);
    s->n_jobs = 0;
    s->deadline_us = farm_now_us() + (int64_t)f->cfg->start_timeout_ms * 1000;
    char why[160];
    snprintf(why, sizeof why, "spawned pid %d%s%s", (int)pid, s->host ? ": ssh to " : "", s->host ? s->host : "");
    slot_set_state(s, SLOT_STARTING, why);
    return 0;
}

void slot_describe_exit(int wstatus, char *buf, size_t len)
{
    if (WIFSIGNALED(wstatus))
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
                 WCOREDUMP(wstatus) ? " (core dumped)" : "");
    else if (WIFEXITED(wstatus))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
    else
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned)wstatus);
}

void slot_fail(struct farm *f, struct slot *s, enum slot_loss why, const char *msg)
{
    int ws = 0;
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        if (wait_pid_blocking(s->pid, &ws) < 0) {
            log_warn("slot %d: waitpid(%d) failed: %s", s->index, (int)s->pid, strerror(errno));
            ws = SIGKILL; /* as if killed: it is gone either way */
        }
    }
    slot_lost(f, s, why, ws, msg);
}

/* Reads what the worker wrote before it went away, so finished results are never lost. */
static void slot_drain_output(struct farm *f, struct slot *s)
{
    if (s->from_fd < 0) return;
    char err[160];
    int rc;
    while ((rc = frame_read(&s->rd, s->from_fd)) == 1) {
        uint32_t n;
        const uint8_t *p = frame_payload(&s->rd, &n);
        if (sched_on_frame(f, s, p, n, err, sizeof err) < 0) {
            log_warn("slot %d: dropping the rest of a dead worker's output: %s", s->index, err);
            return;
        }
    }
}

static void slot_close_pipes(struct slot *s)
{
    close_fd(&s->to_fd);
    close_fd(&s->from_fd);
    frame_reader_release(&s->rd);
    frame_writer_release(&s->wr);
}

static void slot_give_up(struct farm *f, struct slot *s, const char *why)
{
    log_err("slot %d: giving up on this slot: %s; the other slots go on", s->index, why);
    f->st->slots_given_up++;
    slot_set_state(s, SLOT_GIVEN_UP, why);
}

/* After a death: respawn later, stay empty, or give up. */
static void slot_plan_restart(struct farm *f, struct slot *s, enum slot_state was, int wstatus,
                              enum slot_loss why, const char *exit_text)
{
    bool failed_start = was == SLOT_STARTING || why == LOSS_START_TIMEOUT;
    if (why != LOSS_SHUTDOWN && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2) {
        char msg[320];
        snprintf(msg, sizeof msg, "worker %s (exit status 2: fatal setup error, see its log above)", exit_text);
        slot_give_up(f, s, msg);
        return;
    }
    if (failed_start && why != LOSS_SHUTDOWN) {
        s->start_failures++;
        if (s->start_failures >= f->cfg->max_start_failures) {
            char msg[320];
            snprintf(msg, sizeof msg, "worker failed to start %d times in a row (last: %s)", s->start_failures,
                     exit_text);
            slot_give_up(f, s, msg);
            return;
        }
    }
    int64_t now = farm_now_us();
    if (why == LOSS_SHUTDOWN) {
        s->start_at_us = now;
    } else {
        s->start_at_us = now + (int64_t)s->backoff_ms * 1000;
        s->died_at_us = now;
        s->backoff_ms = s->backoff_ms * 2 > SLOT_BACKOFF_MAX_MS ? SLOT_BACKOFF_MAX_MS : s->backoff_ms * 2;
    }
    s->deadline_us = 0;
    slot_set_state(s, SLOT_EMPTY, why == LOSS_SHUTDOWN ? "stopped" : "worker lost");
}

void slot_start_failed(struct farm *f, struct slot *s, int rc)
{
    char text[160];
    snprintf(text, sizeof text, "could not start: %s", bf_strerror(rc));
    slot_plan_restart(f, s, SLOT_STARTING, 127 << 8 /* as exit status 127 */, LOSS_EXITED, text);
}

void slot_lost(struct farm *f, struct slot *s, enum slot_loss why, int wstatus, const char *msg)
{
    enum slot_state was = s->state;
    if (why != LOSS_PROTOCOL) slot_drain_output(f, s);
    char exit_text[128];
    slot_describe_exit(wstatus, exit_text, sizeof exit_text);
    bool expected = why == LOSS_SHUTDOWN || (was == SLOT_STOPPING && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    if (expected) {
        log_info("slot %d: worker pid %d %s", s->index, (int)s->pid, exit_text);
    } else {
        f->st->worker_deaths++;
        log_warn("slot %d: worker pid %d %s%s%s (while %s)", s->index, (int)s->pid, exit_text, msg ? ": " : "",
                 msg ? msg : "", slot_state_name(was));
    }
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    char why_text[PROTO_MAX_TEXT];
    if (why == LOSS_HARD_TIMEOUT)
        snprintf(why_text, sizeof why_text, "%s", msg ? msg : "hard deadline");
    else if (why == LOSS_PROTOCOL)
        snprintf(why_text, sizeof why_text, "worker protocol error: %s", msg ? msg : "?");
    else
        snprintf(why_text, sizeof why_text, "worker %s", exit_text);
    sched_charge_inflight(f, s, why, why == LOSS_PROTOCOL ? 0 : sig, why_text);
    slot_close_pipes(s);
    s->pid = 0;
    if (was == SLOT_STOPPING || f->stopping) {
        s->deadline_us = 0;
        slot_set_state(s, SLOT_EMPTY, "stopped");
        return;
    }
    slot_plan_restart(f, s, was, wstatus, why, exit_text);
}

void slot_stop(struct farm *f, struct slot *s)
{
    (void)f;
    if (!slot_alive(s)) return;
    close_fd(&s->to_fd);  /* EOF on its stdin: the worker exits 0 */
    s->deadline_us = farm_now_us() + (int64_t)SLOT_STOP_WAIT_MS * 1000;
    slot_set_state(s, SLOT_STOPPING, "no more work");
}
