/* worker.h: the worker's side of the protocol (common/proto.h).
 *
 * worker_serve() says HELLO, then reads frames from in_fd until end of input or BYE: TASK
 * (the samples of a task, kept with their DSL values), NODES (appended to the worker's copy of
 * the master's DAG), JOB (candidates on one sample: one RESULT frame written as soon as each is
 * evaluated, then DONE). Soft time limits (SIGALRM) and memory caps are the evaluator's
 * (eval.h); a remote worker's hard deadline is its watchdog's (watchdog.h), armed around each
 * evaluation; everything else that goes wrong is the master's business: a protocol error ends
 * the worker with ERROR and status 1.
 *
 * Returns the process exit status: 0 after BYE or end of input, 1 after a protocol or I/O error. */
#ifndef BF_WORKER_H
#define BF_WORKER_H

#include "compat.h"

int worker_serve(int in_fd, int out_fd);

#endif
