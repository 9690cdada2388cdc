/* watchdog.c: the remote worker's own hard deadline (see watchdog.h). */
#include "compat.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "log.h"
#include "watchdog.h"

/* The page the worker and its watchdog share: the running evaluation's deadline, 0 = none. */
struct watchdog_page {
    _Atomic int64_t deadline_ns;
};

static struct watchdog_page *wd_page; /* NULL: no watchdog */
static uint32_t wd_ms;
static volatile pid_t wd_pid;         /* the watchdog process, the worker's child */
static int wd_in_fd, wd_out_fd;
static volatile sig_atomic_t wd_exited; /* SIGCHLD: the watchdog, the worker's only child, ended */
static volatile sig_atomic_t wd_stops;  /* times it was stopped and continued at once */
static volatile sig_atomic_t wd_stop_signal;
/* The fallback for an evaluation whose watchdog dies while it runs: a timer that SIGKILLs the
 * worker at that evaluation's deadline, armed from the SIGCHLD handler (timer_settime() is
 * async-signal-safe) and disarmed at the end of the evaluation. */
static timer_t wd_timer;
static bool wd_timer_ok;
static volatile sig_atomic_t wd_timer_armed;

/* Arms the fallback timer for the running evaluation's deadline, if one runs. */
static void fallback_arm(void)
{
    if (!wd_timer_ok || !wd_page) return;
    int64_t d = atomic_load_explicit(&wd_page->deadline_ns, memory_order_acquire);
    if (!d) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(d / 1000000000);
    its.it_value.tv_nsec = (long)(d % 1000000000);
    if (timer_settime(wd_timer, TIMER_ABSTIME, &its, NULL) == 0) wd_timer_armed = 1;
}

/* A stopped watchdog (SIGSTOP, SIGTSTP, ...) would guard nothing: it is continued from the
 * handler itself, during an evaluation too (kill() is async-signal-safe). */
static void on_sigchld(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (info->si_code == CLD_STOPPED) {
        if (info->si_pid == wd_pid) {
            kill(info->si_pid, SIGCONT);
            wd_stop_signal = info->si_status;
            wd_stops++;
        }
        return;
    }
    if (info->si_code == CLD_CONTINUED) return;
    wd_exited = 1;
    fallback_arm();
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int watchdog_fork(void);

/* A watchdog that died (killed by hand, by the OOM killer) would leave its worker unguarded:
 * its SIGCHLD sets a flag, and the next arm reaps it and starts another (no system call while it
 * lives). An evaluation already running when it dies is guarded by the fallback timer. */
static void watchdog_check(void)
{
    if (wd_stops) {
        log_warn("watchdog pid %d was stopped by signal %d: continued it (%d time%s)", (int)wd_pid,
                 (int)wd_stop_signal, (int)wd_stops, wd_stops == 1 ? "" : "s");
        wd_stops = 0;
    }
    if (!wd_exited) return;
    wd_exited = 0;
    int status;
    pid_t r = waitpid(wd_pid, &status, WNOHANG);
    if (r == 0) return; /* not it */
    if (r == wd_pid && WIFSIGNALED(status))
        log_warn("watchdog pid %d was killed by signal %d: starting a new one", (int)wd_pid, WTERMSIG(status));
    else
        log_warn("watchdog pid %d is gone: starting a new one", (int)wd_pid);
    if (watchdog_fork() < 0) wd_exited = 1; /* try again at the next arm */
}

void watchdog_arm(uint32_t limit_ms)
{
    if (!wd_page) return;
    watchdog_check();
    int64_t d = now_ns() + ((int64_t)limit_ms + wd_ms) * 1000000;
    atomic_store_explicit(&wd_page->deadline_ns, d, memory_order_release);
    if (wd_exited) fallback_arm(); /* it died since watchdog_check(), or no new one started */
}

pid_t watchdog_pid(void)
{
    return wd_page ? wd_pid : 0;
}

void watchdog_disarm(void)
{
    if (!wd_page) return;
    atomic_store_explicit(&wd_page->deadline_ns, 0, memory_order_release);
    if (wd_timer_armed) { /* the handler arms it only while a deadline is set: not from here on */
        struct itimerspec off;
        memset(&off, 0, sizeof off);
        timer_settime(wd_timer, 0, &off, NULL);
        wd_timer_armed = 0;
    }
}

/* True once the master side is gone: stdin hung up or stdout lost its reader. Those fds are
 * polled for no event (POLLHUP and POLLERR are always reported) and dropped once they report,
 * so that a hung-up fd does not turn the poll into a busy loop. */
static bool watchdog_wait(struct pollfd pfd[2])
{
    int n = poll(pfd, 2, WATCHDOG_POLL_MS);
    bool gone = false;
    for (int i = 0; n > 0 && i < 2; i++) {
        if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL))) {
            gone = true;
            pfd[i].fd = -1;
        }
    }
    return gone;
}

static BF_NORETURN void watchdog_run(pid_t worker, int in_fd, int out_fd)
{
    prctl(PR_SET_NAME, "bf-watchdog");
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the worker ends: so do we */
    if (getppid() != worker) _exit(0); /* it ended before prctl() took effect */
    struct pollfd pfd[2] = { { in_fd, 0, 0 }, { out_fd, 0, 0 } };
    bool master_gone = false;
    for (;;) {
        master_gone |= watchdog_wait(pfd);
        if (getppid() != worker) _exit(0);
        int64_t d = atomic_load_explicit(&wd_page->deadline_ns, memory_order_acquire);
        if (!d) continue; /* idle: the worker reads its stdin and sees the EOF itself */
        int64_t late_ms = (now_ns() - d) / 1000000;
        if (late_ms < 0 && !master_gone) continue;
        if (master_gone)
            log_warn("watchdog: the master's side of the connection is gone during an evaluation: killing worker "
                     "pid %d", (int)worker);
        else
            log_warn("watchdog: an evaluation of worker pid %d is %lld ms past its hard deadline (soft limit + %u ms):"
                     " killing it", (int)worker, (long long)late_ms, wd_ms);
        kill(worker, SIGKILL);
        _exit(0);
    }
}

static int watchdog_fork(void)
{
    pid_t worker = getpid();
    pid_t pid = fault_watchdog_fork_fails() ? (errno = EAGAIN, -1) : fork();
    if (pid < 0) return log_fail(-errno, "watchdog: fork() failed: %s", strerror(errno));
    if (pid == 0) watchdog_run(worker, wd_in_fd, wd_out_fd);
    wd_pid = pid;
    log_info("watchdog pid %d: evaluations end at their soft limit + %u ms", (int)pid, wd_ms);
    return 0;
}

int watchdog_start(uint32_t ms, int in_fd, int out_fd)
{
    void *p = mmap(NULL, sizeof *wd_page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return log_fail(-errno, "watchdog: mmap() failed: %s", strerror(errno));
    wd_ms = ms;
    wd_in_fd = in_fd;
    wd_out_fd = out_fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_SIGINFO; /* stops too: see on_sigchld */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGKILL;
    wd_timer_ok = timer_create(CLOCK_MONOTONIC, &sev, &wd_timer) == 0;
    if (!wd_timer_ok)
        log_warn("watchdog: timer_create() failed: %s (an evaluation whose watchdog dies is unguarded)",
                 strerror(errno));
    wd_page = p; /* before the fork: the watchdog reads it */
    atomic_store(&wd_page->deadline_ns, 0);
    int rc = watchdog_fork();
    if (rc < 0) {
        munmap(p, sizeof *wd_page);
        wd_page = NULL;
    }
    return rc;
}
