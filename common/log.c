#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum bf_log_level bf_log_max = BF_LOG_NOTICE;

static char log_role[16] = "?";
static struct timespec log_t0;

static const char *const level_name[] = { "ERR", "WARN", "NOTICE", "INFO", "DEBUG" };

void log_init(const char *role)
{
    snprintf(log_role, sizeof log_role, "%s", role);
    clock_gettime(CLOCK_MONOTONIC, &log_t0);
    const char *env = getenv("BF_LOG");
    if (env) {
        for (int i = 0; i < (int)BF_ARRAY_LEN(level_name); i++)
            if (strcasecmp(env, level_name[i]) == 0) bf_log_max = (enum bf_log_level)i;
    }
}

BF_PRINTF(2, 0) static void log_vwrite(enum bf_log_level level, const char *fmt, va_list ap)
{
    int saved = errno;
    char line[512]; /* < PIPE_BUF: one atomic write */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)(now.tv_sec - log_t0.tv_sec) + (double)(now.tv_nsec - log_t0.tv_nsec) / 1e9;
    int n = snprintf(line, sizeof line, "%9.3f %s[%d] %s ", t, log_role, (int)getpid(), level_name[level]);
    if (n < 0) n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w BF_UNUSED = write(STDERR_FILENO, line, len);
    errno = saved;
}

void log_msg(enum bf_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

int log_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(BF_LOG_ERR, fmt, ap);
    va_end(ap);
    return rc;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(BF_LOG_ERR, fmt, ap);
    va_end(ap);
    exit(2);
}

void bf_bug(const char *file, int line, const char *cond)
{
    log_msg(BF_LOG_ERR, "BUG at %s:%d: assertion failed: %s", file, line, cond);
    abort();
}

const char *bf_strerror(int rc)
{
    switch (rc) {
    case 0: return "success";
    case BF_EEOF: return "end of stream";
    case BF_ETRUNCATED: return "truncated frame (end of stream inside a frame)";
    case BF_ETOOBIG: return "frame larger than the maximum";
    case BF_EDECODE: return "malformed message";
    case BF_EJSON: return "malformed JSON";
    case BF_ETASK: return "not a valid ARC task";
    case BF_ESYNTAX: return "syntax error";
    case BF_ENOMEM: return "out of memory";
    case BF_EUSAGE: return "usage error";
    case BF_EINTERNAL: return "internal error";
    default: break;
    }
    if (rc < 0 && rc > -4096) return strerror(-rc);
    return "unknown error";
}
