/* primtab.c: the primitive and constant tables, expanded from prims.def and consts.def, and the
 * name lookups the parser calls for every identifier.
 *
 * Lookup is one open-addressing hash table over all 188 names (primitives and constants share it:
 * primitive names are lower case, constant names upper case, so they never collide). It is built
 * from the tables on first use (battfarm starts no threads) and holds 512 slots, so a probe
 * sequence is short: a lookup costs one FNV-1a pass over the name and usually one memcmp. */
#include "compat.h"

#include <string.h>

#include "primtab.h"

const struct prim_info prim_table[PRIM_COUNT] = {
#define PRIM(name, arity, ret, args, doc) { #name, arity, ret, args, doc },
#include "prims.def"
#undef PRIM
};

const struct const_info const_table[CONST_COUNT] = {
#define CONST(name, kind, a, b) { #name, kind, a, b },
#include "consts.def"
#undef CONST
};

#define PRIMTAB_SLOTS 512u /* power of two, above 2 x (PRIM_COUNT + CONST_COUNT) */

enum name_kind { NAME_EMPTY, NAME_PRIM, NAME_CONST };

struct name_slot {
    const char *name;
    uint8_t len;
    uint8_t kind; /* enum name_kind */
    uint16_t id;
};

static struct name_slot primtab_slots[PRIMTAB_SLOTS];
static bool primtab_ready;

static uint32_t primtab_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a, 32 bits */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void primtab_insert(const char *name, enum name_kind kind, int id)
{
    size_t len = strlen(name);
    uint32_t i = primtab_hash(name, len) & (PRIMTAB_SLOTS - 1);
    while (primtab_slots[i].kind != NAME_EMPTY)
        i = (i + 1) & (PRIMTAB_SLOTS - 1);
    primtab_slots[i].name = name;
    primtab_slots[i].len = (uint8_t)len;
    primtab_slots[i].kind = (uint8_t)kind;
    primtab_slots[i].id = (uint16_t)id;
}

static void primtab_build(void)
{
    for (int i = 0; i < PRIM_COUNT; i++)
        primtab_insert(prim_table[i].name, NAME_PRIM, i);
    for (int i = 0; i < CONST_COUNT; i++)
        primtab_insert(const_table[i].name, NAME_CONST, i);
    primtab_ready = true;
}

static int primtab_find(const char *name, size_t len, enum name_kind kind)
{
    if (BF_UNLIKELY(!primtab_ready))
        primtab_build();
    if (len == 0 || len > 255)
        return -1;
    uint32_t i = primtab_hash(name, len) & (PRIMTAB_SLOTS - 1);
    for (; primtab_slots[i].kind != NAME_EMPTY; i = (i + 1) & (PRIMTAB_SLOTS - 1)) {
        const struct name_slot *s = &primtab_slots[i];
        if (s->len == len && memcmp(s->name, name, len) == 0)
            return s->kind == (uint8_t)kind ? (int)s->id : -1;
    }
    return -1;
}

int prim_lookup(const char *name, size_t len)
{
    return primtab_find(name, len, NAME_PRIM);
}

int const_lookup(const char *name, size_t len)
{
    return primtab_find(name, len, NAME_CONST);
}
