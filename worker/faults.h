/* faults.h: fault injection for the farm's process tests. Compiled in only with -DBF_FAULTS,
 * which only the test binary battfarm-worker-faulty gets (worker/CMakeLists.txt, BUILD_TESTING):
 * in battfarm-worker every hook below is an empty inline function, so the production binary
 * cannot misbehave whatever its environment says.
 *
 * battfarm-worker-faulty reads:
 *   BF_FAULT=<mode>[:<n> | :@<primitive>]
 *       n: fire at the n-th event of that mode in this process (default 1);
 *       @prim: fire at every evaluation of a candidate whose root calls that primitive
 *       (a candidate that deterministically kills its worker).
 *   BF_FAULT_SLOT=<k>     only the worker of slot k misbehaves
 *   BF_FAULT_ONCE=<path>  fire at most once per run: only the process that creates path
 *   BF_FAULT_SLOW_US=<n>  sleep n microseconds before every evaluation (long enough runs to
 *                         kill workers or the master in the middle of)
 *   BF_FAULT_KILL_WATCHDOG=1  SIGKILL the worker's watchdog (--watchdog) right after starting it
 *                       =hang  ... as hang-alarm-blocked starts hanging instead
 *   BF_FAULT_STOP_WATCHDOG=1  SIGSTOP the worker's watchdog as hang-alarm-blocked starts hanging
 *   BF_FAULT_WATCHDOG_FORK=fail  every fork() of a watchdog after the first fails (EAGAIN)
 *
 * Modes (event in brackets):
 *   die-before-hello       exit 1 before HELLO [start]          (a slot that cannot start)
 *   fatal-setup            exit 2 before HELLO [start]          (fatal: never respawned)
 *   die-decoding-job       SIGKILL itself on a JOB frame [job]
 *   segv-mid-eval          SIGSEGV before evaluating [candidate]
 *   hang-alarm-blocked     block SIGALRM and hang [candidate]   (only the hard deadline helps)
 *   alloc-forever          allocate until malloc fails [candidate]; reports memout and goes on
 *   abort-encoding-result  abort() while encoding [result]
 *   half-frame             write half a RESULT frame, then SIGKILL itself [result]
 *   garbage                write a frame that is not msgpack, then go on [result]
 *   oversized-frame        write a frame header of 0xfffffff0 bytes, then go on [result]
 *   exit0                  _exit(0) instead of writing [result] */
#ifndef BF_FAULTS_H
#define BF_FAULTS_H

#include "compat.h"

#include <sys/types.h>
#include "program.h"
#include "proto.h"

#ifdef BF_FAULTS
void faults_init(int slot);
void fault_at_start(void);
void fault_after_watchdog(pid_t watchdog);
/* Before forking a watchdog; true when the fork is to fail. */
bool fault_watchdog_fork_fails(void);
void fault_on_job(void);
/* Before evaluating root; true when the fault produced the result itself (alloc-forever). */
bool fault_on_eval(const struct pnode *nodes, uint32_t n_nodes, struct ref root, struct msg_result *res);
void fault_on_encode(void);
/* Before writing a RESULT frame; true when the fault wrote something else instead. */
bool fault_on_write(int fd, const uint8_t *payload, uint32_t len);
#else
static inline void faults_init(int slot) { (void)slot; }
static inline void fault_at_start(void) {}
static inline void fault_after_watchdog(pid_t watchdog) { (void)watchdog; }
static inline bool fault_watchdog_fork_fails(void) { return false; }
static inline void fault_on_job(void) {}
static inline bool fault_on_eval(const struct pnode *nodes, uint32_t n_nodes, struct ref root, struct msg_result *res)
{
    (void)nodes; (void)n_nodes; (void)root; (void)res;
    return false;
}
static inline void fault_on_encode(void) {}
static inline bool fault_on_write(int fd, const uint8_t *payload, uint32_t len)
{
    (void)fd; (void)payload; (void)len;
    return false;
}
#endif

#endif
