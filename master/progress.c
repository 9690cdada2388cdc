/* progress.c: the progress line on stderr (done/total, rate, ETA, counts of timeouts, crashes,
 * errors and memouts), rewritten in place at most ten times a second while the farm runs, and
 * the final summary block. The line is drawn only when farm_config.progress is set (the CLI sets
 * it when stderr is a terminal, or on --progress). */
#include "compat.h"

#include <stdio.h>
#include <unistd.h>

#include "farm_int.h"

#define PROGRESS_EVERY_US 100000

static void format_duration(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e7) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void progress_draw(struct farm *f, bool final)
{
    if (!f->progress_on) return;
    int64_t now = farm_now_us();
    if (!final && (!f->progress_dirty || now - f->progress_drawn_us < PROGRESS_EVERY_US)) return;
    f->progress_drawn_us = now;
    f->progress_dirty = false;
    const struct farm_stats *st = f->st;
    double elapsed = (double)(now - f->t0_us) / 1e6;
    double rate = elapsed > 0 ? (double)st->done / elapsed : 0;
    char eta[32];
    format_duration(rate > 0 ? (double)(st->total - st->done) / rate : -1, eta, sizeof eta);
    char line[256];
    int n = snprintf(line, sizeof line,
                     "\r%llu/%llu (%.1f%%)  %.0f/s  ETA %s  timeout %llu  crash %llu  error %llu  memout %llu\033[K%s",
                     (unsigned long long)st->done, (unsigned long long)st->total,
                     st->total ? 100.0 * (double)st->done / (double)st->total : 100.0, rate, eta,
                     (unsigned long long)st->by_status[ST_TIMEOUT], (unsigned long long)st->by_status[ST_CRASH],
                     (unsigned long long)st->by_status[ST_ERROR], (unsigned long long)st->by_status[ST_MEMOUT],
                     final ? "\n" : "");
    if (n > 0) {
        ssize_t w BF_UNUSED = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
}

void farm_stats_print(const struct farm_stats *st, FILE *f)
{
    double rate = st->elapsed_s > 0 ? (double)st->done / st->elapsed_s : 0;
    fprintf(f, "battfarm: %llu of %llu results in %.2f s (%.0f/s, master cpu %.3f s)%s\n",
            (unsigned long long)st->done, (unsigned long long)st->total, st->elapsed_s, rate, st->master_cpu_s,
            st->interrupted ? ", interrupted" : "");
    fprintf(f, "  ok %llu (%llu match), error %llu, timeout %llu, memout %llu, crash %llu, internal %llu\n",
            (unsigned long long)st->by_status[ST_OK], (unsigned long long)st->matches,
            (unsigned long long)st->by_status[ST_ERROR], (unsigned long long)st->by_status[ST_TIMEOUT],
            (unsigned long long)st->by_status[ST_MEMOUT], (unsigned long long)st->by_status[ST_CRASH],
            (unsigned long long)st->by_status[ST_INTERNAL]);
    fprintf(f, "  workers: %llu started, %llu lost, %llu killed at the hard deadline, %d slot%s given up",
            (unsigned long long)st->spawns, (unsigned long long)st->worker_deaths,
            (unsigned long long)st->hard_kills, st->slots_given_up, st->slots_given_up == 1 ? "" : "s");
    if (st->respawns) fprintf(f, "; slowest return to service %.1f ms", st->max_ready_ms);
    fputc('\n', f);
}
