/* resume.h: --resume: the units a journal already has, keyed by (task, candidate hash, sample),
 * never by sequence number, so a journal from a killed run (any order, any torn tail) and a
 * changed pile or task set both work: records for tasks or candidates not in this run are
 * ignored, and only what is missing is scheduled.
 *
 * Lifecycle: struct doneset d = DONESET_INIT; resume_load(path, tasks, pile, &d, &info);
 * doneset_has(&d, unit_key(...)); doneset_release(&d). */
#ifndef BF_RESUME_H
#define BF_RESUME_H

#include "compat.h"
#include "journal.h"
#include "pile.h"
#include "task.h"

struct doneset {
    uint64_t *keys;          /* open addressing; 0 = empty (keys are stored + 1) */
    uint64_t n, mask;
};
#define DONESET_INIT { NULL, 0, 0 }

/* task < 2^23, sample < 2^8, cand < 2^32; bit 31 of the high word marks invalid candidates. */
static inline uint64_t unit_key(uint32_t task, uint32_t sample, uint32_t cand, bool invalid)
{
    return (uint64_t)task << 41 | (uint64_t)invalid << 40 | (uint64_t)(sample & 0xff) << 32 | cand;
}

bool doneset_has(const struct doneset *d, uint64_t key);
int doneset_add(struct doneset *d, uint64_t key); /* 1 added, 0 already there, <0 error */
void doneset_release(struct doneset *d);

/* Parses "demo/3" / "test/0" against task t; -1 when malformed or out of range. */
int resume_sample_index(const struct task *t, const char *sample);

/* The unit of a journal record: false for a record of a task, candidate or sample that is not
 * in this run (tasks and pile). The one mapping from records to units (resume, merge). */
bool resume_entry_key(const struct task_set *tasks, const struct pile *pile, const struct journal_entry *e,
                      uint64_t *key);

/* The parts of a unit key (task index, sample index, candidate index, invalid). */
static inline uint32_t unit_key_task(uint64_t key) { return (uint32_t)(key >> 41); }
static inline uint32_t unit_key_sample(uint64_t key) { return (uint32_t)(key >> 32) & 0xff; }
static inline uint32_t unit_key_cand(uint64_t key) { return (uint32_t)key; }
static inline bool unit_key_invalid(uint64_t key) { return (key >> 40) & 1; }

struct resume_info {
    struct journal_read_info read;
    uint64_t known;          /* records of this run's tasks and candidates (counted once) */
    uint64_t foreign;        /* records of other tasks or candidates (kept, ignored) */
};

/* Reads the journal at path (missing: nothing done) into d. */
int resume_load(const char *path, const struct task_set *tasks, const struct pile *pile, struct doneset *d,
                struct resume_info *info);

#endif
