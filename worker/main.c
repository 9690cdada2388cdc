/* main.c: battfarm-worker.
 *
 *   battfarm-worker [--stdio [--watchdog MS]]
 *                                speak the protocol (proto.h) on stdin/stdout, log to stderr;
 *                                --watchdog: kill ourselves when an evaluation runs MS past its
 *                                soft limit, or loses its master (watchdog.h; remote slots)
 *   battfarm-worker run ...      run one program on one task (run_cli.c)
 *   battfarm-worker --version | --help
 *
 * Environment (set by the master): BF_SLOT (the slot index, for log lines "W<slot>"),
 * BF_MEM_CAP_MB (address-space cap of this process, RLIMIT_AS: the outer fence behind the
 * evaluator's own per-evaluation cap; default WORKER_DEFAULT_MEM_CAP_MB), BF_LOG (log level).
 *
 * Exit statuses: 0 end of input or BYE; 1 protocol or I/O error (the master respawns);
 * 2 fatal setup error (the master gives the slot up). */
#include "compat.h"

#include <errno.h>
#include <signal.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dsl/eval.h"
#include "faults.h"
#include "log.h"
#include "proto.h"
#include "run_cli.h"
#include "watchdog.h"
#include "worker.h"

#define WORKER_DEFAULT_MEM_CAP_MB 4096
#define WORKER_MAX_WATCHDOG_MS 172800000 /* a sanity bound: battfarm passes at most twice its largest --grace */

static void usage(FILE *f)
{
    fputs("usage: battfarm-worker [--stdio [--watchdog MS]]  serve the battfarm protocol on stdin/stdout\n"
          "       battfarm-worker run ...       run one program on one task (run --help)\n"
          "       battfarm-worker --version | --help\n"
          "Started by battfarm, one per slot. Logs go to stderr. Environment: BF_SLOT, BF_MEM_CAP_MB\n"
          "(address-space cap, default 4096), BF_LOG.\n"
          "--watchdog MS: a watchdog process SIGKILLs this worker when an evaluation runs MS ms past\n"
          "its soft limit (SIGALRM blocked or not), or when its master goes away during one; battfarm\n"
          "gives it to remote workers, which its own hard deadline cannot reach.\n"
          "exit status: 0 end of input; 1 protocol or I/O error; 2 fatal setup error\n",
          f);
}

static int worker_slot(void)
{
    const char *s = getenv("BF_SLOT");
    return s && *s ? atoi(s) : -1;
}

/* RLIMIT_AS: a runaway allocation fails (memout) instead of taking the machine. Sanitizer
 * builds reserve terabytes of shadow address space, so they run without it. */
static int worker_apply_mem_cap(void)
{
    const char *env = getenv("BF_MEM_CAP_MB");
    long mb = env && *env ? atol(env) : WORKER_DEFAULT_MEM_CAP_MB;
    if (mb < 16) {
        log_err("BF_MEM_CAP_MB=%s: need at least 16", env);
        return -1;
    }
#ifdef BF_SANITIZE
    log_info("sanitizer build: no address-space cap (would be %ld MiB)", mb);
    return 0;
#else
    struct rlimit rl = { (rlim_t)mb << 20, (rlim_t)mb << 20 };
    struct rlimit cur;
    if (getrlimit(RLIMIT_AS, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max = cur.rlim_max;
    if (setrlimit(RLIMIT_AS, &rl) < 0) {
        log_err("setrlimit(RLIMIT_AS, %ld MiB) failed: %s", mb, strerror(errno));
        return -1;
    }
    return 0;
#endif
}

int main(int argc, char **argv)
{
    /* Evaluation arenas come and go in 1 MiB blocks: keep glibc from handing them back to the
     * kernel (trim, munmap) only to fault the same pages in again a moment later. Measured on the
     * arc-dsl sweep: most of the system time was those page faults. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        log_init("W");
        return run_cli_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("battfarm-worker 0.1.0 (protocol %d)\n", PROTO_VERSION);
        return 0;
    }
    uint32_t watchdog_ms = 0;
    if (argc == 4 && !strcmp(argv[1], "--stdio") && !strcmp(argv[2], "--watchdog")) {
        char *end;
        unsigned long ms = strtoul(argv[3], &end, 10);
        if (*end || end == argv[3] || ms < 1 || ms > WORKER_MAX_WATCHDOG_MS) {
            fprintf(stderr, "battfarm-worker: --watchdog %s: expected milliseconds from 1 to %d\n", argv[3],
                    WORKER_MAX_WATCHDOG_MS);
            return 2;
        }
        watchdog_ms = (uint32_t)ms;
    } else if (argc > 2 || (argc == 2 && strcmp(argv[1], "--stdio") != 0)) {
        usage(stderr);
        return 2;
    }
    int slot = worker_slot();
    char role[16];
    if (slot >= 0) snprintf(role, sizeof role, "W%d", slot);
    else snprintf(role, sizeof role, "W");
    log_init(role);
    faults_init(slot);
    if (worker_apply_mem_cap() < 0) return 2;
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL); /* a vanished master is an EPIPE: exit 1 */
    /* before eval_init() and the GPU probe: the watchdog copies little and never holds CUDA */
    if (watchdog_ms && watchdog_start(watchdog_ms, STDIN_FILENO, STDOUT_FILENO) < 0) return 1;
    fault_after_watchdog(watchdog_pid());
    eval_init();
    return worker_serve(STDIN_FILENO, STDOUT_FILENO);
}
