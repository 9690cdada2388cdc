/* fuzz_program.c: libFuzzer target for the program syntax: program_parse on arbitrary bytes,
 * then program_check, program_hash, program_canonical and dag_add on whatever parsed. Checks
 * the invariants that hold for every parsed program: every reference is in range, the program
 * written back with other variable names parses, hashes and checks the same, the DAG root hashes
 * like the program (and adding it again adds nothing), and the canonical text's reported length
 * matches what was written.
 * Run: fuzz_program -max_total_time=300 -dict=tests/fuzz/fuzz_program.dict CORPUS tests/fuzz/seeds/fuzz_program */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primtab.h"
#include "program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_refs(const struct program *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        const struct pnode *nd = &p->nodes[i];
        if (nd->nargs < 1 || nd->nargs > PROG_MAX_ARGS)
            abort();
        for (int a = -1; a < nd->nargs; a++) {
            struct ref r = a < 0 ? nd->callee : nd->arg[a];
            if ((r.kind == REF_NODE && r.id >= i) || (r.kind == REF_PRIM && r.id >= PRIM_COUNT)
                || (r.kind == REF_CONST && r.id >= CONST_COUNT) || r.kind == REF_NONE || r.kind > REF_C
                || (!p->sig_sic && (r.kind == REF_S || r.kind == REF_C)))
                abort();
        }
    }
    if (p->out.kind == REF_NONE || (p->out.kind == REF_NODE && p->out.id >= p->n))
        abort();
}

static void fuzz_write_ref(FILE *f, struct ref r)
{
    switch (r.kind) {
    case REF_NODE:
        fprintf(f, "v%u", r.id);
        break;
    case REF_PRIM:
        fputs(prim_table[r.id].name, f);
        break;
    case REF_CONST:
        fputs(const_table[r.id].name, f);
        break;
    default:
        fputs(r.kind == REF_I ? "I" : r.kind == REF_S ? "S" : "C", f);
        break;
    }
}

/* The program written back in the plain layout, with other variable names, is another spelling
 * of the same program: it must parse to one program that hashes and checks the same. */
static void fuzz_round_trip(const struct program *p, uint64_t h)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    fprintf(f, "def again(%s):\n", p->sig_sic ? "S, I, C" : "I");
    for (uint32_t i = 0; i < p->n; i++) {
        const struct pnode *nd = &p->nodes[i];
        fprintf(f, "    v%u = ", i);
        fuzz_write_ref(f, nd->callee);
        for (int a = 0; a < nd->nargs; a++) {
            fputs(a ? ", " : "(", f);
            fuzz_write_ref(f, nd->arg[a]);
        }
        fputs(")\n", f);
    }
    fputs("    return ", f);
    fuzz_write_ref(f, p->out);
    fputs("\n", f);
    fclose(f);
    struct program_file again = PROGRAM_FILE_INIT;
    if (program_parse(&again, "again.py", text, len, NULL) != 1 || program_hash(&again.progs[0]) != h
        || program_check(&again.progs[0]) != !p->invalid)
        abort();
    program_file_release(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct program_file pf = PROGRAM_FILE_INIT;
    FILE *devnull = fopen("/dev/null", "w");
    program_parse(&pf, "fuzz.py", (const char *)data, size, devnull);
    if (devnull)
        fclose(devnull);
    struct dag d = DAG_INIT;
    char buf[256];
    for (size_t i = 0; i < pf.n; i++) {
        struct program *p = &pf.progs[i];
        fuzz_check_refs(p);
        program_check(p);
        if (p->invalid && strncmp(p->why, "fuzz.py:", 8) != 0)
            abort();
        uint64_t h = program_hash(p);
        fuzz_round_trip(p, h);
        size_t full = program_canonical(p, buf, sizeof buf);
        size_t written = strlen(buf);
        if (written != (full < sizeof buf ? full : sizeof buf - 1))
            abort();
        struct ref root = dag_add(&d, p);
        if (dag_ref_hash(&d, root) != h)
            abort();
        if (dag_ref_hash(&d, dag_add(&d, p)) != h || (root.kind == REF_NODE && dag_add(&d, p).id != root.id))
            abort();
    }
    dag_release(&d);
    program_file_release(&pf);
    return 0;
}
