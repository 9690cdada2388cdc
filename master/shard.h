/* shard.h: --shard K/N and `battfarm merge` (design.md section 9).
 *
 * The unit of sharding is the (task, candidate) pair: shard K of N scores every sample of the
 * pairs for which shard_has() is true, and nothing else. The choice is a hash of the task's name
 * and the candidate's canonical hash, so it depends on neither -j, nor the order of files on the
 * command line, nor which machine runs the shard, and every pair falls in exactly one shard.
 * Pairs rather than tasks: a sweep of 10^5 candidates over a few tasks still splits evenly, and
 * a task that is costly for every candidate (large grids) is spread over all shards. A pair
 * keeps all its samples in one shard, so each line of scores.jsonl comes from one shard whole.
 * Sharing in the per-task DAG pays within a job (one task and sample, up to 1024 candidates) in
 * each shard as in an unsharded run; what a shard loses is only that a sub-expression shared by
 * candidates of different shards is evaluated once per shard instead of once.
 *
 * A shard run writes DIR/shard.txt, its manifest: the shard, fingerprints of the candidate pile
 * and of the task set, the options that change results, the options of what is made after
 * scoring (store, report), its working directory and the paths of the programs and tasks. `battfarm merge`
 * reads the manifests, refuses shards of different runs, and rebuilds everything from the
 * journals.
 *
 *   struct shard sh; shard_parse("2/3", &sh);
 *   uint64_t tk = shard_task_key(task->name);  once per task
 *   if (shard_has(&sh, tk, cand->hash)) ...
 *   struct shard_manifest m = SHARD_MANIFEST_INIT; shard_manifest_read(path, &m, err, len);
 *   shard_manifest_release(&m); */
#ifndef BF_SHARD_H
#define BF_SHARD_H

#include "compat.h"

#include <string.h>

#include "hash.h"
#include "pile.h"
#include "task.h"

#define SHARD_MANIFEST "shard.txt"
#define SHARD_FORMAT 1
#define SHARD_MAX 100000

struct shard {
    uint32_t k, n;        /* shard k of n, 1 <= k <= n; n == 0: the whole run */
};

/* "K/N" with 1 <= K <= N <= SHARD_MAX. Returns 0 or BF_EUSAGE. */
int shard_parse(const char *text, struct shard *sh);

static inline uint64_t shard_task_key(const char *task_name)
{
    return bf_fnv1a(BF_FNV_INIT, task_name, strlen(task_name));
}

/* 1..n: the shard that scores the pair (task, candidate). */
static inline uint32_t shard_of(uint64_t task_key, uint64_t cand_hash, uint32_t n)
{
    return (uint32_t)(bf_mix64(task_key ^ bf_mix64(cand_hash)) % n) + 1;
}

static inline bool shard_has(const struct shard *sh, uint64_t task_key, uint64_t cand_hash)
{
    return sh->n == 0 || shard_of(task_key, cand_hash, sh->n) == sh->k;
}

/* The options that change results (compared by merge) and those of what comes after scoring
 * (taken from shard 1 by merge, to make what the run would have made). */
struct shard_options {
    bool own, keep_output;
    uint32_t timeout_ms, grace_ms, mem_mb, worker_mem_mb, attempts;
    bool report, store;
    uint32_t top, keep;
};

struct shard_manifest {
    struct shard shard;
    uint64_t pile_fp, tasks_fp;
    uint32_t n_valid, n_invalid, n_tasks;
    struct shard_options opt;
    char *cwd;            /* the shard's working directory */
    char **programs;      /* as given to the shard (after read: usable from here, see shard.c) */
    int n_programs;
    char **tasks;
    int n_task_paths;
};
#define SHARD_MANIFEST_INIT { { 0, 0 }, 0, 0, 0, 0, 0, { 0 }, NULL, NULL, 0, NULL, 0 }

/* Fingerprints of what a run scores, independent of file order: the sorted candidate hashes
 * (valid, then invalid); every task's name and grids, in name order. */
uint64_t shard_pile_fingerprint(const struct pile *p);
uint64_t shard_tasks_fingerprint(const struct task_set *ts);

/* Fills m from a run. */
int shard_manifest_make(struct shard_manifest *m, const struct shard *sh, const struct pile *p,
                        const struct task_set *ts, const struct shard_options *opt, char *const *programs,
                        int n_programs, char *const *tasks, int n_tasks);
/* Written to a temporary file and renamed. 0 or a negative code (logged). */
int shard_manifest_write(const char *path, const struct shard_manifest *m);
/* 0; BF_EUSAGE with "path:line: reason" (or "path: reason") in err; -ENOENT when missing. */
int shard_manifest_read(const char *path, struct shard_manifest *m, char *err, size_t errlen);
void shard_manifest_release(struct shard_manifest *m);

/* NULL when a and b are shards of one run (the shard numbers aside); else what differs. */
const char *shard_manifest_differs(const struct shard_manifest *a, const struct shard_manifest *b);

#endif
