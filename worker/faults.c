/* faults.c: the misbehaving modes of battfarm-worker-faulty (see faults.h). Built only with
 * -DBF_FAULTS; in battfarm-worker this file compiles to nothing. */
#include "compat.h"

#ifdef BF_FAULTS

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "frame.h"
#include "log.h"
#include "primtab.h"

enum fault_mode {
    FM_NONE,
    FM_DIE_BEFORE_HELLO,
    FM_FATAL_SETUP,
    FM_DIE_DECODING_JOB,
    FM_SEGV_MID_EVAL,
    FM_HANG_ALARM_BLOCKED,
    FM_ALLOC_FOREVER,
    FM_ABORT_ENCODING_RESULT,
    FM_HALF_FRAME,
    FM_GARBAGE,
    FM_OVERSIZED_FRAME,
    FM_EXIT0,
};

static const char *const fault_names[] = {
    [FM_NONE] = "none",
    [FM_DIE_BEFORE_HELLO] = "die-before-hello",
    [FM_FATAL_SETUP] = "fatal-setup",
    [FM_DIE_DECODING_JOB] = "die-decoding-job",
    [FM_SEGV_MID_EVAL] = "segv-mid-eval",
    [FM_HANG_ALARM_BLOCKED] = "hang-alarm-blocked",
    [FM_ALLOC_FOREVER] = "alloc-forever",
    [FM_ABORT_ENCODING_RESULT] = "abort-encoding-result",
    [FM_HALF_FRAME] = "half-frame",
    [FM_GARBAGE] = "garbage",
    [FM_OVERSIZED_FRAME] = "oversized-frame",
    [FM_EXIT0] = "exit0",
};

static struct {
    enum fault_mode mode;
    long nth;          /* fire at this event (1-based) */
    int prim;          /* >= 0: fire on candidates whose root calls this primitive */
    long events;       /* events of the mode seen so far */
    bool spent;        /* fired (counted modes fire once per process) */
    const char *once;  /* BF_FAULT_ONCE */
    long slow_us;      /* BF_FAULT_SLOW_US: sleep before every evaluation */
} fault = { FM_NONE, 1, -1, 0, false, NULL, 0 };

void faults_init(int slot)
{
    const char *slow = getenv("BF_FAULT_SLOW_US");
    if (slow && *slow) fault.slow_us = atol(slow);
    const char *spec = getenv("BF_FAULT");
    if (!spec || !*spec) return;
    const char *only = getenv("BF_FAULT_SLOT");
    if (only && *only && atoi(only) != slot) return;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t m = 1; m < BF_ARRAY_LEN(fault_names); m++)
        if (strlen(fault_names[m]) == len && strncmp(spec, fault_names[m], len) == 0) fault.mode = (enum fault_mode)m;
    if (fault.mode == FM_NONE) {
        log_err("BF_FAULT: unknown mode '%s'", spec);
        exit(2);
    }
    if (colon && colon[1] == '@') {
        fault.prim = prim_lookup(colon + 2, strlen(colon + 2));
        if (fault.prim < 0) {
            log_err("BF_FAULT: unknown primitive '%s'", colon + 2);
            exit(2);
        }
    } else if (colon) {
        fault.nth = atol(colon + 1);
        if (fault.nth < 1) fault.nth = 1;
    }
    fault.once = getenv("BF_FAULT_ONCE");
    log_info("fault injection armed: %s", spec);
}

/* Counts an event of mode m; true when the fault fires now. */
static bool fault_fires(enum fault_mode m)
{
    if (fault.mode != m || fault.spent || fault.prim >= 0) return false;
    if (++fault.events != fault.nth) return false;
    fault.spent = true;
    if (fault.once && *fault.once) {
        int fd = open(fault.once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return false; /* another process of this run already misbehaved */
        close(fd);
    }
    log_notice("fault injection: %s now", fault_names[m]);
    return true;
}

static BF_NORETURN void fault_die(int sig)
{
    signal(sig, SIG_DFL); /* sanitizers install their own handlers: die for real */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

void fault_at_start(void)
{
    if (fault_fires(FM_DIE_BEFORE_HELLO)) exit(1);
    if (fault_fires(FM_FATAL_SETUP)) {
        log_err("fault injection: pretending a fatal setup error");
        exit(2);
    }
}

static pid_t fault_watchdog; /* the worker's watchdog, 0: none */

void fault_after_watchdog(pid_t watchdog)
{
    fault_watchdog = watchdog;
    const char *kill_it = getenv("BF_FAULT_KILL_WATCHDOG");
    if (!kill_it || !*kill_it || strcmp(kill_it, "hang") == 0 || watchdog <= 0) return;
    log_notice("fault injection: killing watchdog pid %d", (int)watchdog);
    kill(watchdog, SIGKILL);
    /* until it has ended (its SIGCHLD sent), without reaping it: the worker must find it dead at
     * its first evaluation, deterministically */
    siginfo_t info;
    while (waitid(P_PID, (id_t)watchdog, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
}

bool fault_watchdog_fork_fails(void)
{
    static unsigned forks;
    const char *fail = getenv("BF_FAULT_WATCHDOG_FORK");
    if (!fail || strcmp(fail, "fail") != 0 || forks++ == 0) return false;
    log_notice("fault injection: failing the fork of a watchdog");
    return true;
}

void fault_on_job(void)
{
    if (fault_fires(FM_DIE_DECODING_JOB)) fault_die(SIGKILL);
}

static BF_NORETURN void fault_hang(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    const char *kill_it = getenv("BF_FAULT_KILL_WATCHDOG");
    if (kill_it && strcmp(kill_it, "hang") == 0 && fault_watchdog > 0) {
        log_notice("fault injection: killing watchdog pid %d as the evaluation hangs", (int)fault_watchdog);
        kill(fault_watchdog, SIGKILL);
    }
    const char *stop_it = getenv("BF_FAULT_STOP_WATCHDOG");
    if (stop_it && *stop_it && fault_watchdog > 0) {
        log_notice("fault injection: stopping watchdog pid %d", (int)fault_watchdog);
        kill(fault_watchdog, SIGSTOP);
    }
    for (;;) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* Allocates and touches memory until malloc fails (RLIMIT_AS) or the cap is passed (builds
 * without RLIMIT_AS, such as the sanitizer build); then frees it all and reports memout. */
static void fault_alloc_forever(struct msg_result *res)
{
    const char *capenv = getenv("BF_MEM_CAP_MB");
    size_t cap_mb = capenv ? (size_t)atol(capenv) : 1024;
    const size_t chunk = 16u << 20;
    void **chunks = calloc(cap_mb / 16 + 2, sizeof *chunks);
    size_t n = 0;
    while (chunks && n < cap_mb / 16 + 1) {
        void *p = malloc(chunk);
        if (!p) break;
        memset(p, 0xa5, chunk);
        chunks[n++] = p;
    }
    for (size_t i = 0; i < n; i++) free(chunks[i]);
    free(chunks);
    res->status = ST_MEMOUT;
    snprintf(res->text, sizeof res->text, "allocation failed after %zu MiB (worker memory cap %zu MiB)", n * 16,
             cap_mb);
}

static bool fault_root_calls(const struct pnode *nodes, uint32_t n_nodes, struct ref root)
{
    if (fault.prim < 0 || root.kind != REF_NODE || root.id >= n_nodes) return false;
    const struct ref *callee = &nodes[root.id].callee;
    return callee->kind == REF_PRIM && callee->id == (uint32_t)fault.prim;
}

bool fault_on_eval(const struct pnode *nodes, uint32_t n_nodes, struct ref root, struct msg_result *res)
{
    if (fault.slow_us > 0) {
        struct timespec ts = { fault.slow_us / 1000000, fault.slow_us % 1000000 * 1000 };
        nanosleep(&ts, NULL);
    }
    enum fault_mode m = fault.mode;
    if (m != FM_SEGV_MID_EVAL && m != FM_HANG_ALARM_BLOCKED && m != FM_ALLOC_FOREVER) return false;
    bool fire = fault.prim >= 0 ? fault_root_calls(nodes, n_nodes, root) : fault_fires(m);
    if (!fire) return false;
    if (m == FM_SEGV_MID_EVAL) fault_die(SIGSEGV);
    if (m == FM_HANG_ALARM_BLOCKED) fault_hang();
    fault_alloc_forever(res);
    return true;
}

void fault_on_encode(void)
{
    if (fault_fires(FM_ABORT_ENCODING_RESULT)) fault_die(SIGABRT);
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        b += w;
        n -= (size_t)w;
    }
}

bool fault_on_write(int fd, const uint8_t *payload, uint32_t len)
{
    uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    if (fault_fires(FM_HALF_FRAME)) {
        write_all(fd, hdr, sizeof hdr);
        write_all(fd, payload, len / 2);
        fault_die(SIGKILL);
    }
    if (fault_fires(FM_EXIT0)) _exit(0);
    if (fault_fires(FM_GARBAGE)) {
        static const uint8_t junk[] = { 0, 0, 0, 8, 0xc1, 0xc1, 0xde, 0xad, 0xbe, 0xef, 0xc1, 0xc1 };
        write_all(fd, junk, sizeof junk); /* 0xc1 is never valid msgpack */
        return true;
    }
    if (fault_fires(FM_OVERSIZED_FRAME)) {
        static const uint8_t big[] = { 0xff, 0xff, 0xff, 0xf0 };
        write_all(fd, big, sizeof big);
        return true;
    }
    return false;
}

#endif
