/* log.h: one line per message on stderr (never stdout: a worker's stdout is the protocol).
 *
 * Line format: "<seconds since start> <role>[<pid>] <LEVEL> message". Lines are written with one
 * write(2) and kept under PIPE_BUF, so workers sharing the master's stderr never interleave.
 * Lifecycle: log_init(role) once at start (role "M" for the master, "W3" for worker slot 3). */
#ifndef BF_LOG_H
#define BF_LOG_H

#include "compat.h"

enum bf_log_level { BF_LOG_ERR, BF_LOG_WARN, BF_LOG_NOTICE, BF_LOG_INFO, BF_LOG_DEBUG };

extern enum bf_log_level bf_log_max; /* messages above this level are dropped */

void log_init(const char *role);
void log_msg(enum bf_log_level level, const char *fmt, ...) BF_PRINTF(2, 3);

#define log_at(lvl, ...) do { if ((lvl) <= bf_log_max) log_msg((lvl), __VA_ARGS__); } while (0)
#define log_err(...) log_at(BF_LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_at(BF_LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_at(BF_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_at(BF_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(BF_LOG_DEBUG, __VA_ARGS__)

/* Logs at ERR and returns rc, git style: return log_fail(rc, "read frame from slot %d", i); */
int log_fail(int rc, const char *fmt, ...) BF_PRINTF(2, 3);

/* Startup failures only: logs and exits with status 2 (usage/config). */
BF_NORETURN void die(const char *fmt, ...) BF_PRINTF(1, 2);

/* Broken invariant: prints file:line and aborts. */
BF_NORETURN void bf_bug(const char *file, int line, const char *cond);
#define BF_ASSERT(c) do { if (BF_UNLIKELY(!(c))) bf_bug(__FILE__, __LINE__, #c); } while (0)

#endif
