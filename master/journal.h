/* journal.h: results.jsonl, the append-only record of a sweep (design.md sections 5 and 7).
 *
 * One JSON object per line and per (task, candidate, sample):
 *   {"task":"007bbfb7","sample":"demo/0","cand":"<16 hex>","name":"solve_x","file":"path",
 *    "status":"ok","match":true,"shape":true,"right":81,"total":81,"cpu_us":12,"wall_us":15,
 *    "slot":0,"attempt":1,"host":"local","ohash":"<16 hex>"}
 * plus "signal":N for crashes, "msg":"..." when there is something to say (error, timeout,
 * crash, invalid; the repr of a non-grid output) and "out":[[...],...] when output grids are kept.
 * Invalid candidates (never dispatched) have "slot":-1,"attempt":0.
 *
 * Writing (the master alone): journal_open(); journal_append() per record into a large stdio
 * buffer; journal_flush() per batch (fflush, and fdatasync when the last sync is a second old);
 * journal_close() syncs. Any write error is reported once as "cannot write PATH: reason" and
 * returned as a negative code; the caller must stop scheduling.
 *
 * Reading (resume, scoring): journal_read() calls back once per well-formed line. A torn last
 * line (no newline: the writer was killed mid-line) is ignored silently; any other malformed line
 * is skipped with a warning naming its line number. info.valid_len is the length of the file up
 * to the end of its last complete line: journal_open() truncates a resumed journal there so the
 * next record does not land on a torn one. */
#ifndef BF_JOURNAL_H
#define BF_JOURNAL_H

#include <stdio.h>

#include "compat.h"
#include "proto.h"

/* One record. Strings are borrowed: from the caller when writing, from the reader's line buffer
 * (valid during the callback) when reading. */
struct journal_entry {
    const char *task, *sample, *cand, *name, *file, *host, *msg;
    enum bf_status status;
    bool match, shape;
    uint32_t right, total;
    uint64_t cpu_us, wall_us;
    uint64_t out_hash;     /* behaviour hash of the output ("ohash", 16 hex digits; 0: unknown) */
    int slot, attempt, signal;
    bool has_grid;
    uint16_t out_h, out_w;
    const uint8_t *out_cells;
};

struct journal {
    char *path;
    FILE *fp;
    char *buf;             /* stdio buffer */
    int64_t last_sync_us;
    bool unsynced;         /* written since the last fdatasync */
    bool failed;           /* a write failed: reported once, every later call fails */
    uint64_t records;
};

/* truncate_at: resume: the valid_len from journal_read (a torn tail is cut off); -1: start a
 * new journal (an existing file is an error: BF_EUSAGE, so nothing is overwritten by mistake). */
int journal_open(struct journal *j, const char *path, int64_t truncate_at);
int journal_append(struct journal *j, const struct journal_entry *e);
int journal_flush(struct journal *j);
int journal_close(struct journal *j);

/* Formats one record as a JSON line (with the newline) into buf; returns its length, which may
 * exceed len (then buf holds a truncated line). */
size_t journal_format(const struct journal_entry *e, char *buf, size_t len);
/* Parses one line (without its newline) into e, strings into scratch. 0, or BF_EJSON with a
 * reason in err. */
int journal_parse_line(const char *line, size_t n, struct journal_entry *e, char *scratch, size_t scratch_len,
                       char *err, size_t errlen);

struct journal_read_info {
    uint64_t lines;        /* complete lines */
    uint64_t records;      /* well-formed records passed to the callback */
    uint64_t malformed;    /* complete lines skipped with a warning */
    bool torn_tail;        /* the file ended inside a line */
    int64_t valid_len;     /* bytes up to the end of the last complete line */
};

/* Returns 0 (a missing file is an empty journal when missing_ok), or -errno. The callback may
 * return a negative code to stop early (returned as is). */
typedef int (*journal_fn)(void *ctx, const struct journal_entry *e, uint64_t line_no);
int journal_read(const char *path, bool missing_ok, journal_fn fn, void *ctx, struct journal_read_info *info);

#endif
