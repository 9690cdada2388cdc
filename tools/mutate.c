#include "compat.h"

/* mutate.c: battfarm-mutate, candidate piles from solver programs (the seed's card.py).
 * The mutation logic is in mutate_lib.c (mutate.h) so that tests can call it. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mutate.h"
#include "program.h"

static void usage(FILE *f)
{
    fputs("usage: battfarm-mutate [--seed N] [--count N] [--rate P] [--out DIR] PROGRAM_FILE...\n"
          "\n"
          "Writes random, type-compatible mutants of arc-dsl solver programs, as the seed project's\n"
          "card.py did: an argument becomes an earlier variable, a constant, a primitive name or I of a\n"
          "compatible type, or a primitive callee becomes another primitive of the same arity and\n"
          "compatible types (types from prims.def). Only lines the output depends on are mutated; each\n"
          "site changes with probability P and every mutant has at least one change. Mutants differ\n"
          "from their parent and from each other by canonical hash. Many will fail at run time.\n"
          "\n"
          "  --seed N    random seed (default 0); the same seed gives the same mutants\n"
          "  --count N   mutants per input program (default 10)\n"
          "  --rate P    probability that each argument or callee mutates (default 0.1)\n"
          "  --out DIR   output folder, created if missing (default .)\n"
          "  -h, --help  this text\n"
          "\n"
          "Output: DIR/<parent>_m<k>.py, k = 1..N, one per mutant (every definition of a file gets\n"
          "its k-th mutant in that file), keeping the def's name (solve_<task>) so that --own scoring\n"
          "still works, with a comment naming the parent file and the seed.\n"
          "Exit status: 0, 1 when a file could not be read, parsed or written, 2 on bad usage.\n",
          f);
}

static int mkdir_p(const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return -ENOMEM;
    for (char *s = d + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(d, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                free(d);
                return -e;
            }
            if (c == '\0')
                break;
            *s = c;
        }
    }
    free(d);
    return 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *v = (uint64_t)x;
    return true;
}

/* "dir/007bbfb7.py" -> "007bbfb7" (malloc'd) */
static char *base_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strlen(b);
    if (len > 3 && strcmp(b + len - 3, ".py") == 0)
        len -= 3;
    return strndup(b, len);
}

static int mutate_file(const char *path, const char *outdir, uint64_t seed, int count, double rate)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    program_parse_file(&pf, path, stderr);
    if (pf.n == 0) {
        fprintf(stderr, "battfarm-mutate: %s: no program read\n", path);
        program_file_release(&pf);
        return -1;
    }
    int rc = 0;
    struct pnode **muts = calloc(pf.n, sizeof *muts);
    int *made = calloc(pf.n, sizeof *made);
    char *base = base_of(path);
    if (!muts || !made || !base) {
        fprintf(stderr, "battfarm-mutate: out of memory\n");
        rc = -1;
        goto done;
    }
    int most = 0;
    for (size_t i = 0; i < pf.n; i++) {
        made[i] = mutate_program(&pf.progs[i], seed, rate, count, &muts[i]);
        if (made[i] < 0) {
            fprintf(stderr, "battfarm-mutate: out of memory\n");
            rc = -1;
            goto done;
        }
        if (made[i] < count)
            fprintf(stderr, "battfarm-mutate: %s: %s: only %d distinct mutants\n", path, pf.progs[i].name,
                    made[i]);
        if (made[i] > most)
            most = made[i];
    }
    for (int k = 0; k < most; k++) {
        char *out = NULL;
        if (asprintf(&out, "%s/%s_m%d.py", outdir, base, k + 1) < 0) {
            rc = -1;
            goto done;
        }
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "battfarm-mutate: %s: %s\n", out, strerror(errno));
            free(out);
            rc = -1;
            goto done;
        }
        char comment[512];
        snprintf(comment, sizeof comment, "mutant %d of %s (battfarm-mutate --seed %" PRIu64 ")", k + 1, path,
                 seed);
        int wrc = 0;
        bool first = true;
        for (size_t i = 0; i < pf.n; i++) {
            if (k >= made[i])
                continue;
            if (!first)
                fputc('\n', f);
            wrc = mutate_write(f, &pf.progs[i], muts[i] + (size_t)k * pf.progs[i].n, first ? comment : NULL);
            first = false;
            if (wrc)
                break;
        }
        if (fclose(f) != 0 && !wrc)
            wrc = -errno;
        if (wrc) {
            fprintf(stderr, "battfarm-mutate: %s: %s\n", out, strerror(-wrc));
            rc = -1;
        }
        free(out);
        if (rc)
            goto done;
    }
done:
    if (muts)
        for (size_t i = 0; i < pf.n; i++)
            free(muts[i]);
    free(muts);
    free(made);
    free(base);
    program_file_release(&pf);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'}, {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    uint64_t seed = 0, count = 10;
    double rate = 0.1;
    const char *outdir = ".";
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!parse_u64(optarg, &seed)) {
                fprintf(stderr, "battfarm-mutate: bad --seed '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (!parse_u64(optarg, &count) || count > 1000000) {
                fprintf(stderr, "battfarm-mutate: bad --count '%s' (0..1000000)\n", optarg);
                return 2;
            }
            break;
        case 'r': {
            char *end;
            rate = strtod(optarg, &end);
            if (end == optarg || *end || !(rate >= 0.0 && rate <= 1.0)) {
                fprintf(stderr, "battfarm-mutate: bad --rate '%s' (0..1)\n", optarg);
                return 2;
            }
            break;
        }
        case 'o':
            outdir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    int mrc = mkdir_p(outdir);
    if (mrc) {
        fprintf(stderr, "battfarm-mutate: %s: %s\n", outdir, strerror(-mrc));
        return 1;
    }
    int status = 0;
    for (int i = optind; i < argc; i++)
        if (mutate_file(argv[i], outdir, seed, (int)count, rate) != 0)
            status = 1;
    return status;
}
