/* watchdog.h: a remote worker's own hard deadline (battfarm-worker --stdio --watchdog MS).
 *
 * A local worker that hangs with SIGALRM blocked is killed by the master (its hard deadline,
 * kill(-pgid, SIGKILL)). A remote one is out of the master's reach: killing the local ssh
 * leaves it running, whatever the transport. So a worker started with --watchdog forks a small
 * watchdog process at start-up, before anything else (no CUDA context, little memory to copy),
 * and shares one anonymous MAP_SHARED page with it. Around each evaluation the worker writes
 * that evaluation's deadline there (monotonic ns: its soft limit + MS) and clears it after; the
 * watchdog, polling every WATCHDOG_POLL_MS, SIGKILLs the worker when the deadline passes. No
 * signal mask or handler of the worker's can stop that.
 *
 * It also kills the worker when the master side is gone during an evaluation: stdin hung up or
 * stdout lost its reader (POLLHUP/POLLERR, seen without reading). While idle the worker reads
 * its stdin and exits 0 on EOF by itself, so a normal stop (the master closes the worker's
 * stdin) is never raced. A connection that stalls instead of closing (a peer gone without FIN
 * or RST: ssh keeps the pipes open) shows neither; the deadline still holds.
 *
 * The watchdog ends with the worker: PR_SET_PDEATHSIG(SIGKILL), plus a getppid() check that
 * also covers a worker that died before prctl() took effect. Nothing is left behind whether the
 * worker exits, is killed, or its master is killed. A watchdog that dies first is reaped and
 * replaced by the worker at its next arm (its SIGCHLD sets a flag: no system call per arm); if an
 * evaluation is running, that handler also arms a timer that SIGKILLs the worker at the same
 * deadline (disarmed when the evaluation ends). One that is stopped is continued at once, from
 * the SIGCHLD handler.
 *
 *   watchdog_start(ms, in_fd, out_fd) once; then watchdog_arm(limit_ms) ... watchdog_disarm()
 *   around each evaluation. Without watchdog_start(), arm and disarm do nothing. */
#ifndef BF_WATCHDOG_H
#define BF_WATCHDOG_H

#include "compat.h"

#include <sys/types.h>

#define WATCHDOG_POLL_MS 10

/* Forks the watchdog; 0, or -errno (mmap or fork failed). */
int watchdog_start(uint32_t ms, int in_fd, int out_fd);
/* An evaluation with soft limit limit_ms starts now. */
void watchdog_arm(uint32_t limit_ms);
/* It ended. */
void watchdog_disarm(void);
/* The current watchdog's pid; 0 without one. */
pid_t watchdog_pid(void);

#endif
