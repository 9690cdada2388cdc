/* msg.c: the messages of proto.h in msgpack. The only file that includes <msgpack.h>.
 *
 * Layout: every message is one map. Key "type" holds enum msg_type; the other keys are short
 * strings, one per field; keys may come in any order, unknown keys are ignored, a repeated key
 * is an error, and every field is required unless marked (opt).
 *
 *   HELLO   pid: int, proto: int, dev: str
 *   TASK    task: uint, name: str, nd: n_demo (uint <= PROTO_MAX_SAMPLES),
 *           s: [SAMPLE...] (n_demo + n_test <= PROTO_MAX_SAMPLES; demos first)
 *   NODES   base: uint, nodes: [NODE...] (<= PROTO_MAX_NODES; base + n <= 2^32)
 *   JOB     job, task: uint, smp: sample index (< PROTO_MAX_SAMPLES), lim: limit_ms, mem: mem_mb,
 *           out: bool, cands: [uint...] (<= PROTO_MAX_CANDS), roots: [REF...] (as many as cands)
 *   RESULT  job, cand: uint, st: status (< ST_COUNT), m, sm: bool, cr, ct: uint32, cpu, wall: uint64,
 *           oh: uint64 (opt: 0 when absent; always sent),
 *           txt: str (opt, sent when not empty), g: GRID (opt, sent when has_grid; sides <= 255)
 *   DONE    job: uint
 *   ERROR   txt: str
 *   BYE     (nothing)
 *
 *   SAMPLE  [input GRID, output GRID or nil]   (kind and index follow from the position; a demo
 *                                             needs an output)
 *   GRID    [h, w, bin of h*w bytes, row-major, each 0..9]   (sides 1..30 in samples)
 *   NODE    [callee REF, arg REF...]          (0..PROG_MAX_ARGS args)
 *   REF     one uint: id * 8 + kind            (kind REF_NODE..REF_C; REF_PRIM id < PRIM_COUNT,
 *                                             REF_CONST id < CONST_COUNT, REF_I/S/C id 0; in NODES a
 *                                             REF_NODE names an earlier node: id < base + index)
 *   Strings are shorter than the struct's buffer (the encoder truncates, the decoder refuses).
 *
 * Decoding survives any bytes: a scanner (msg_scan) first walks the msgpack encoding itself and
 * refuses bad markers, lengths past the end, trailing bytes, nesting deeper than PROTO_MAX_DEPTH,
 * containers with more elements than bytes left, and more than MSG_MAX_OBJECTS objects in all.
 * Only then msgpack_unpack() builds the object tree. msgpack-c allocates a container's elements
 * before reading them, so without the scan a 5-byte "array of 2^32 elements" asks for 96 GiB; with
 * it the tree of any payload stays below MSG_MAX_OBJECTS objects. The tree lives in one process-wide
 * msgpack_zone, cleared after each message (no thread ever shares it: battfarm has none), so a
 * RESULT costs no allocation at all unless it carries a grid. Strings and bins are read in place.
 * The fields are described by one table per type (msg_fields), used by the encoder and the decoder. */
#include "compat.h"

#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primtab.h"
#include "proto.h"

#define MSG_MAX_OBJECTS (1u << 19) /* a NODES message of PROTO_MAX_NODES full nodes needs ~400k */
#define MSG_REF_KIND_BITS 3

/* ---- names ---- */

static const char *const msg_type_names[MSG_TYPE_COUNT] = {
    [MSG_HELLO] = "hello", [MSG_TASK] = "task",   [MSG_NODES] = "nodes", [MSG_JOB] = "job",
    [MSG_RESULT] = "result", [MSG_DONE] = "done", [MSG_ERROR] = "error", [MSG_BYE] = "bye",
};

const char *msg_type_name(enum msg_type t)
{
    if ((int)t <= 0 || t >= MSG_TYPE_COUNT) return "unknown";
    return msg_type_names[t];
}

static const char *const bf_status_names[ST_COUNT] = {
    [ST_OK] = "ok",           [ST_ERROR] = "error",     [ST_TIMEOUT] = "timeout", [ST_MEMOUT] = "memout",
    [ST_CRASH] = "crash",     [ST_INVALID] = "invalid", [ST_INTERNAL] = "internal",
};

const char *bf_status_name(enum bf_status s)
{
    if ((int)s < 0 || s >= ST_COUNT) return "unknown";
    return bf_status_names[s];
}

int bf_status_parse(const char *name)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (strcmp(name, bf_status_names[i]) == 0) return i;
    return -1;
}

/* ---- the field tables ---- */

enum msg_kind {
    MF_U8, MF_U16, MF_U32, MF_U64, MF_I32, MF_BOOL, MF_STR, /* plain: stored at off */
    MF_SAMPLES, MF_NODES, MF_CANDS, MF_ROOTS, MF_GRID,      /* structured: own coder */
};

struct msg_field {
    const char *key;
    uint8_t klen;
    uint8_t kind;        /* enum msg_kind */
    bool optional;
    uint16_t off;        /* offset of the member in struct msg */
    uint16_t size;       /* its size (MF_STR: the buffer) */
    uint64_t max;        /* largest integer accepted */
};

#define MSG_FIELD(k, kind, opt, member, max) \
    { k, sizeof(k) - 1, kind, opt, (uint16_t)offsetof(struct msg, u.member), \
      (uint16_t)sizeof(((struct msg *)0)->u.member), max }
#define MSG_FIELDS_MAX 12

static const struct msg_field msg_hello_fields[] = {
    MSG_FIELD("pid", MF_I32, false, hello.pid, 0),
    MSG_FIELD("proto", MF_I32, false, hello.proto, 0),
    MSG_FIELD("dev", MF_STR, false, hello.device, 0),
};
/* decoded in table order: "nd" before "s", "base" before "nodes", "cands" before "roots" */
static const struct msg_field msg_task_fields[] = {
    MSG_FIELD("task", MF_U32, false, task.task, UINT32_MAX),
    MSG_FIELD("name", MF_STR, false, task.name, 0),
    MSG_FIELD("nd", MF_U16, false, task.n_demo, PROTO_MAX_SAMPLES),
    MSG_FIELD("s", MF_SAMPLES, false, task.samples, 0),
};
static const struct msg_field msg_nodes_fields[] = {
    MSG_FIELD("base", MF_U32, false, nodes.base, UINT32_MAX),
    MSG_FIELD("nodes", MF_NODES, false, nodes.nodes, 0),
};
static const struct msg_field msg_job_fields[] = {
    MSG_FIELD("job", MF_U32, false, job.job, UINT32_MAX),
    MSG_FIELD("task", MF_U32, false, job.task, UINT32_MAX),
    MSG_FIELD("smp", MF_U16, false, job.sample, PROTO_MAX_SAMPLES - 1),
    MSG_FIELD("lim", MF_U32, false, job.limit_ms, UINT32_MAX),
    MSG_FIELD("mem", MF_U32, false, job.mem_mb, UINT32_MAX),
    MSG_FIELD("out", MF_BOOL, false, job.want_output, 0),
    MSG_FIELD("cands", MF_CANDS, false, job.cand, 0),
    MSG_FIELD("roots", MF_ROOTS, false, job.root, 0),
};
static const struct msg_field msg_result_fields[] = {
    MSG_FIELD("job", MF_U32, false, result.job, UINT32_MAX),
    MSG_FIELD("cand", MF_U32, false, result.cand, UINT32_MAX),
    MSG_FIELD("st", MF_U8, false, result.status, ST_COUNT - 1),
    MSG_FIELD("m", MF_BOOL, false, result.match, 0),
    MSG_FIELD("sm", MF_BOOL, false, result.shape_match, 0),
    MSG_FIELD("cr", MF_U32, false, result.cells_right, UINT32_MAX),
    MSG_FIELD("ct", MF_U32, false, result.cells_total, UINT32_MAX),
    MSG_FIELD("cpu", MF_U64, false, result.cpu_us, UINT64_MAX),
    MSG_FIELD("wall", MF_U64, false, result.wall_us, UINT64_MAX),
    MSG_FIELD("oh", MF_U64, true, result.out_hash, UINT64_MAX),
    MSG_FIELD("txt", MF_STR, true, result.text, 0),
    MSG_FIELD("g", MF_GRID, true, result.out_cells, 0),
};
static const struct msg_field msg_done_fields[] = {
    MSG_FIELD("job", MF_U32, false, done.job, UINT32_MAX),
};
static const struct msg_field msg_error_fields[] = {
    MSG_FIELD("txt", MF_STR, false, error.text, 0),
};

struct msg_layout {
    const struct msg_field *fields;
    size_t n;
};

static const struct msg_layout msg_layouts[MSG_TYPE_COUNT] = {
    [MSG_HELLO] = { msg_hello_fields, BF_ARRAY_LEN(msg_hello_fields) },
    [MSG_TASK] = { msg_task_fields, BF_ARRAY_LEN(msg_task_fields) },
    [MSG_NODES] = { msg_nodes_fields, BF_ARRAY_LEN(msg_nodes_fields) },
    [MSG_JOB] = { msg_job_fields, BF_ARRAY_LEN(msg_job_fields) },
    [MSG_RESULT] = { msg_result_fields, BF_ARRAY_LEN(msg_result_fields) },
    [MSG_DONE] = { msg_done_fields, BF_ARRAY_LEN(msg_done_fields) },
    [MSG_ERROR] = { msg_error_fields, BF_ARRAY_LEN(msg_error_fields) },
    [MSG_BYE] = { NULL, 0 },
};

static void *msg_member(struct msg *m, const struct msg_field *f)
{
    return (char *)m + f->off;
}

static const void *msg_cmember(const struct msg *m, const struct msg_field *f)
{
    return (const char *)m + f->off;
}

/* ---- refs and grids, shared by both directions ---- */

static uint64_t msg_ref_code(struct ref r)
{
    return (uint64_t)r.id << MSG_REF_KIND_BITS | r.kind;
}

/* Whether a ref names something that exists; node_limit bounds REF_NODE ids (UINT64_MAX: none). */
static bool msg_ref_sane(struct ref r, uint64_t node_limit)
{
    switch (r.kind) {
    case REF_NODE: return r.id < node_limit;
    case REF_CONST: return r.id < CONST_COUNT;
    case REF_PRIM: return r.id < PRIM_COUNT;
    case REF_I: case REF_S: case REF_C: return r.id == 0;
    default: return false;
    }
}

static bool msg_cells_sane(const uint8_t *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cells[i] > 9) return false;
    return true;
}

/* ======================= encoding ======================= */

struct msg_enc {
    msgpack_packer pk;
    struct msg_buf *b;
    bool nomem;
};

static int msg_buf_reserve(struct msg_buf *b, size_t n)
{
    if (b->cap - b->len >= n) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    uint8_t *nd = realloc(b->data, cap);
    if (!nd) return -1;
    b->data = nd;
    b->cap = cap;
    return 0;
}

static int msg_buf_write(void *data, const char *p, size_t n)
{
    struct msg_enc *e = data;
    if (e->nomem || msg_buf_reserve(e->b, n) < 0) {
        e->nomem = true;
        return -1;
    }
    memcpy(e->b->data + e->b->len, p, n);
    e->b->len += n;
    return 0;
}

void msg_buf_release(struct msg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void msg_enc_str(struct msg_enc *e, const char *s, size_t n)
{
    msgpack_pack_str(&e->pk, n);
    msgpack_pack_str_body(&e->pk, s, n);
}

static int msg_enc_grid(struct msg_enc *e, unsigned h, unsigned w, const uint8_t *cells, unsigned max_side)
{
    if (h < 1 || w < 1 || h > max_side || w > max_side || !cells) return -EINVAL;
    size_t n = (size_t)h * w;
    if (!msg_cells_sane(cells, n)) return -EINVAL;
    msgpack_pack_array(&e->pk, 3);
    msgpack_pack_uint32(&e->pk, h);
    msgpack_pack_uint32(&e->pk, w);
    msgpack_pack_bin(&e->pk, n);
    msgpack_pack_bin_body(&e->pk, cells, n);
    return 0;
}

static int msg_enc_samples(struct msg_enc *e, const struct msg_task *t)
{
    size_t n = (size_t)t->n_demo + t->n_test;
    if (n > PROTO_MAX_SAMPLES || (n && !t->samples)) return -EINVAL;
    msgpack_pack_array(&e->pk, n);
    for (size_t i = 0; i < n; i++) {
        const struct sample *s = &t->samples[i];
        if (i < t->n_demo && !s->has_output) return -EINVAL;
        msgpack_pack_array(&e->pk, 2);
        int rc = msg_enc_grid(e, s->input.h, s->input.w, s->input.cell, GRID_MAX);
        if (rc < 0) return rc;
        if (s->has_output) rc = msg_enc_grid(e, s->output.h, s->output.w, s->output.cell, GRID_MAX);
        else msgpack_pack_nil(&e->pk);
        if (rc < 0) return rc;
    }
    return 0;
}

static int msg_enc_ref(struct msg_enc *e, struct ref r, uint64_t node_limit)
{
    if (!msg_ref_sane(r, node_limit)) return -EINVAL;
    msgpack_pack_uint64(&e->pk, msg_ref_code(r));
    return 0;
}

static int msg_enc_nodes(struct msg_enc *e, const struct msg_nodes *nd)
{
    if (nd->n > PROTO_MAX_NODES || (nd->n && !nd->nodes) || (uint64_t)nd->base + nd->n > (uint64_t)UINT32_MAX + 1)
        return -EINVAL;
    msgpack_pack_array(&e->pk, nd->n);
    for (uint32_t i = 0; i < nd->n; i++) {
        const struct pnode *p = &nd->nodes[i];
        uint64_t limit = (uint64_t)nd->base + i;
        if (p->nargs > PROG_MAX_ARGS) return -EINVAL;
        msgpack_pack_array(&e->pk, 1u + p->nargs);
        int rc = msg_enc_ref(e, p->callee, limit);
        for (unsigned a = 0; rc == 0 && a < p->nargs; a++) rc = msg_enc_ref(e, p->arg[a], limit);
        if (rc < 0) return rc;
    }
    return 0;
}

static int msg_enc_cands(struct msg_enc *e, const struct msg_job *j)
{
    if (j->n > PROTO_MAX_CANDS || (j->n && !j->cand)) return -EINVAL;
    msgpack_pack_array(&e->pk, j->n);
    for (uint32_t i = 0; i < j->n; i++) msgpack_pack_uint32(&e->pk, j->cand[i]);
    return 0;
}

static int msg_enc_roots(struct msg_enc *e, const struct msg_job *j)
{
    if (j->n && !j->root) return -EINVAL;
    msgpack_pack_array(&e->pk, j->n);
    for (uint32_t i = 0; i < j->n; i++) {
        int rc = msg_enc_ref(e, j->root[i], UINT64_MAX);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Whether an optional field has something to send. */
static bool msg_field_present(const struct msg *m, const struct msg_field *f)
{
    if (!f->optional) return true;
    if (f->kind == MF_STR) return *(const char *)msg_cmember(m, f) != 0;
    if (f->kind == MF_GRID) return m->u.result.has_grid;
    return true;
}

static uint64_t msg_load_uint(const void *p, enum msg_kind kind)
{
    switch (kind) {
    case MF_U8: return *(const uint8_t *)p;
    case MF_U16: { uint16_t v; memcpy(&v, p, sizeof v); return v; }
    case MF_U32: { uint32_t v; memcpy(&v, p, sizeof v); return v; }
    default: { uint64_t v; memcpy(&v, p, sizeof v); return v; }
    }
}

static int msg_enc_field(struct msg_enc *e, const struct msg *m, const struct msg_field *f)
{
    const void *p = msg_cmember(m, f);
    switch ((enum msg_kind)f->kind) {
    case MF_U8: case MF_U16: case MF_U32: case MF_U64: {
        uint64_t v = msg_load_uint(p, (enum msg_kind)f->kind);
        if (v > f->max) return -EINVAL;
        msgpack_pack_uint64(&e->pk, v);
        return 0;
    }
    case MF_I32: { int32_t v; memcpy(&v, p, sizeof v); msgpack_pack_int32(&e->pk, v); return 0; }
    case MF_BOOL:
        if (*(const bool *)p) msgpack_pack_true(&e->pk);
        else msgpack_pack_false(&e->pk);
        return 0;
    case MF_STR: msg_enc_str(e, p, strnlen(p, f->size - 1u)); return 0;
    case MF_SAMPLES: return msg_enc_samples(e, &m->u.task);
    case MF_NODES: return msg_enc_nodes(e, &m->u.nodes);
    case MF_CANDS: return msg_enc_cands(e, &m->u.job);
    case MF_ROOTS: return msg_enc_roots(e, &m->u.job);
    case MF_GRID:
        return msg_enc_grid(e, m->u.result.out_h, m->u.result.out_w, m->u.result.out_cells, PROTO_MAX_OUT_SIDE);
    }
    return -EINVAL;
}

int msg_encode(const struct msg *m, struct msg_buf *out)
{
    if ((int)m->type <= 0 || m->type >= MSG_TYPE_COUNT) return -EINVAL;
    const struct msg_layout *l = &msg_layouts[m->type];
    struct msg_enc e = { .b = out, .nomem = false };
    size_t start = out->len;
    if (msg_buf_reserve(out, 128) < 0) return BF_ENOMEM;
    msgpack_packer_init(&e.pk, &e, msg_buf_write);
    size_t n = 1;
    for (size_t i = 0; i < l->n; i++) n += msg_field_present(m, &l->fields[i]);
    msgpack_pack_map(&e.pk, n);
    msg_enc_str(&e, "type", 4);
    msgpack_pack_uint32(&e.pk, (uint32_t)m->type);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const struct msg_field *f = &l->fields[i];
        if (!msg_field_present(m, f)) continue;
        msg_enc_str(&e, f->key, f->klen);
        rc = msg_enc_field(&e, m, f);
    }
    if (rc == 0 && e.nomem) rc = BF_ENOMEM;
    if (rc < 0) out->len = start;
    return rc;
}

/* ======================= scanning raw msgpack ======================= */

struct msg_dec {
    char *err;
    size_t errlen;
    const char *where;   /* "job" message, then key */
    const char *key;
};

static int msg_fail(struct msg_dec *d, const char *fmt, ...) BF_PRINTF(2, 3);
static int msg_fail(struct msg_dec *d, const char *fmt, ...)
{
    if (!d->err || d->errlen == 0) return BF_EDECODE;
    int n = d->key ? snprintf(d->err, d->errlen, "%s message, key \"%s\": ", d->where, d->key)
                   : snprintf(d->err, d->errlen, "%s: ", d->where);
    if (n >= 0 && (size_t)n < d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return BF_EDECODE;
}

static uint64_t msg_get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* One msgpack object's header at p: its header size, payload bytes and element count. */
struct msg_item {
    unsigned hdr;        /* marker + length bytes */
    uint64_t body;       /* bytes after the header (str, bin, ext, scalars) */
    uint64_t elems;      /* objects inside (arrays: n, maps: 2n) */
    bool container;
};

/* Fixed layout by marker 0xc0..0xdf: size of the length field (L) or of the value (V). */
static int msg_scan_marker(uint8_t c, const uint8_t *p, size_t left, struct msg_item *it)
{
    memset(it, 0, sizeof *it);
    it->hdr = 1;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return 0;
    if (c <= 0x8f) { it->elems = 2u * (c & 0x0f); it->container = true; return 0; }
    if (c <= 0x9f) { it->elems = c & 0x0f; it->container = true; return 0; }
    if (c <= 0xbf) { it->body = c & 0x1f; return 0; }
    unsigned lenbytes = 0, fixed = 0, extra = 0;
    switch (c) {
    case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
    case 0xc5: case 0xda: lenbytes = 2; break;          /* bin16, str16 */
    case 0xc6: case 0xdb: lenbytes = 4; break;          /* bin32, str32 */
    case 0xc7: lenbytes = 1; extra = 1; break;          /* ext8 + type byte */
    case 0xc8: lenbytes = 2; extra = 1; break;
    case 0xc9: lenbytes = 4; extra = 1; break;
    case 0xca: fixed = 4; break;                        /* float32 */
    case 0xcb: fixed = 8; break;                        /* float64 */
    case 0xcc: case 0xd0: fixed = 1; break;             /* uint8, int8 */
    case 0xcd: case 0xd1: fixed = 2; break;
    case 0xce: case 0xd2: fixed = 4; break;
    case 0xcf: case 0xd3: fixed = 8; break;
    case 0xd4: fixed = 2; break;                        /* fixext1: type + 1 */
    case 0xd5: fixed = 3; break;
    case 0xd6: fixed = 5; break;
    case 0xd7: fixed = 9; break;
    case 0xd8: fixed = 17; break;
    case 0xdc: case 0xdd: case 0xde: case 0xdf: lenbytes = (c & 1) ? 4 : 2; break; /* array/map 16/32 */
    default: return -1;                                 /* 0xc1: never used */
    }
    if (fixed) { it->body = fixed; return 0; }
    if (left < 1u + lenbytes) return -2;
    uint64_t n = msg_get_be(p + 1, lenbytes);
    it->hdr = 1 + lenbytes;
    if (c >= 0xdc) {
        it->container = true;
        it->elems = c >= 0xde ? 2 * n : n;
    } else {
        it->body = n + extra;
    }
    return 0;
}

/* Checks that p[0..len) is exactly one well-formed msgpack object within our bounds. */
static int msg_scan(struct msg_dec *d, const uint8_t *p, size_t len)
{
    uint64_t left[PROTO_MAX_DEPTH + 1];
    int depth = 0;
    size_t pos = 0;
    uint64_t objects = 1;
    left[0] = 1;
    if (len == 0) return msg_fail(d, "empty payload");
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        left[depth]--;
        if (pos >= len) return msg_fail(d, "truncated msgpack at byte %zu", pos);
        struct msg_item it;
        int k = msg_scan_marker(p[pos], p + pos, len - pos, &it);
        if (k == -1) return msg_fail(d, "invalid msgpack marker 0x%02x at byte %zu", p[pos], pos);
        if (k < 0 || it.hdr > len - pos || it.body > len - pos - it.hdr)
            return msg_fail(d, "truncated msgpack at byte %zu", pos);
        pos += it.hdr + (size_t)it.body;
        if (!it.container) continue;
        if (depth + 1 > PROTO_MAX_DEPTH) return msg_fail(d, "msgpack nested deeper than %d", PROTO_MAX_DEPTH);
        if (it.elems > len - pos) return msg_fail(d, "msgpack container of %llu objects in %zu bytes",
                                                  (unsigned long long)it.elems, len - pos);
        objects += it.elems;
        if (objects > MSG_MAX_OBJECTS) return msg_fail(d, "more than %u msgpack objects", MSG_MAX_OBJECTS);
        left[++depth] = it.elems;
    }
    if (pos != len) return msg_fail(d, "%zu bytes after the message", len - pos);
    return 0;
}

/* ======================= decoding the object tree ======================= */

static const char *msg_obj_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "a bin";
    case MSGPACK_OBJECT_EXT: return "an ext";
    }
    return "an unknown object";
}

static int msg_want(struct msg_dec *d, const msgpack_object *o, msgpack_object_type type, const char *what)
{
    if (o->type == type) return 0;
    return msg_fail(d, "expected %s, found %s", what, msg_obj_type_name(o));
}

static int msg_get_uint(struct msg_dec *d, const msgpack_object *o, uint64_t max, uint64_t *v)
{
    int rc = msg_want(d, o, MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer");
    if (rc < 0) return rc;
    if (o->via.u64 > max)
        return msg_fail(d, "%llu above the maximum %llu", (unsigned long long)o->via.u64, (unsigned long long)max);
    *v = o->via.u64;
    return 0;
}

static int msg_get_array(struct msg_dec *d, const msgpack_object *o, uint32_t min, uint32_t max, const char *what)
{
    int rc = msg_want(d, o, MSGPACK_OBJECT_ARRAY, what);
    if (rc < 0) return rc;
    if (o->via.array.size < min || o->via.array.size > max)
        return msg_fail(d, "%s of %u elements, expected %u to %u", what, o->via.array.size, min, max);
    return 0;
}

static int msg_dec_grid(struct msg_dec *d, const msgpack_object *o, unsigned max_side, unsigned *h, unsigned *w,
                        const uint8_t **cells)
{
    int rc = msg_get_array(d, o, 3, 3, "a grid [h, w, cells]");
    if (rc < 0) return rc;
    const msgpack_object *e = o->via.array.ptr;
    uint64_t hh = 0, ww = 0;
    if ((rc = msg_get_uint(d, &e[0], max_side, &hh)) < 0) return rc;
    if ((rc = msg_get_uint(d, &e[1], max_side, &ww)) < 0) return rc;
    if (hh == 0 || ww == 0) return msg_fail(d, "empty grid %llux%llu", (unsigned long long)hh, (unsigned long long)ww);
    if ((rc = msg_want(d, &e[2], MSGPACK_OBJECT_BIN, "grid cells as bin")) < 0) return rc;
    if (e[2].via.bin.size != hh * ww)
        return msg_fail(d, "grid %llux%llu with %u cells", (unsigned long long)hh, (unsigned long long)ww,
                        e[2].via.bin.size);
    const uint8_t *c = (const uint8_t *)e[2].via.bin.ptr;
    if (!msg_cells_sane(c, hh * ww)) return msg_fail(d, "grid colour above 9");
    *h = (unsigned)hh;
    *w = (unsigned)ww;
    *cells = c;
    return 0;
}

static int msg_dec_sample_grid(struct msg_dec *d, const msgpack_object *o, struct grid *g)
{
    unsigned h = 0, w = 0;
    const uint8_t *cells = NULL;
    int rc = msg_dec_grid(d, o, GRID_MAX, &h, &w, &cells);
    if (rc < 0) return rc;
    g->h = (uint8_t)h;
    g->w = (uint8_t)w;
    memcpy(g->cell, cells, (size_t)h * w);
    return 0;
}

static int msg_dec_samples(struct msg_dec *d, const msgpack_object *o, struct msg_task *t)
{
    int rc = msg_get_array(d, o, t->n_demo, PROTO_MAX_SAMPLES, "an array of samples (at least nd)");
    if (rc < 0) return rc;
    uint32_t n = o->via.array.size;
    if (n == 0) return 0;
    t->samples = calloc(n, sizeof *t->samples);
    if (!t->samples) return msg_fail(d, "out of memory");
    t->n_test = (uint16_t)(n - t->n_demo);
    for (uint32_t i = 0; i < n; i++) {
        struct sample *s = &t->samples[i];
        const msgpack_object *so = &o->via.array.ptr[i];
        s->kind = i < t->n_demo ? SAMPLE_DEMO : SAMPLE_TEST;
        s->index = (uint16_t)(i < t->n_demo ? i : i - t->n_demo);
        if ((rc = msg_get_array(d, so, 2, 2, "a sample [input, output]")) < 0) return rc;
        if ((rc = msg_dec_sample_grid(d, &so->via.array.ptr[0], &s->input)) < 0) return rc;
        const msgpack_object *out = &so->via.array.ptr[1];
        if (out->type == MSGPACK_OBJECT_NIL) {
            if (s->kind == SAMPLE_DEMO) return msg_fail(d, "demo %u has no output", s->index);
            continue;
        }
        if ((rc = msg_dec_sample_grid(d, out, &s->output)) < 0) return rc;
        s->has_output = true;
    }
    return 0;
}

static int msg_dec_ref(struct msg_dec *d, const msgpack_object *o, uint64_t node_limit, struct ref *r)
{
    uint64_t code = 0;
    int rc = msg_get_uint(d, o, (uint64_t)UINT32_MAX << MSG_REF_KIND_BITS | 7u, &code);
    if (rc < 0) return rc;
    r->kind = (uint8_t)(code & 7u);
    r->id = (uint32_t)(code >> MSG_REF_KIND_BITS);
    if (!msg_ref_sane(*r, node_limit)) return msg_fail(d, "bad ref: kind %u id %u", r->kind, r->id);
    return 0;
}

static int msg_dec_nodes(struct msg_dec *d, const msgpack_object *o, struct msg_nodes *nd)
{
    int rc = msg_get_array(d, o, 0, PROTO_MAX_NODES, "an array of nodes");
    if (rc < 0) return rc;
    uint32_t n = o->via.array.size;
    if ((uint64_t)nd->base + n > (uint64_t)UINT32_MAX + 1) return msg_fail(d, "node ids past 2^32");
    if (n == 0) return 0;
    nd->nodes = calloc(n, sizeof *nd->nodes);
    if (!nd->nodes) return msg_fail(d, "out of memory");
    nd->n = n;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *no = &o->via.array.ptr[i];
        struct pnode *p = &nd->nodes[i];
        uint64_t limit = (uint64_t)nd->base + i;
        if ((rc = msg_get_array(d, no, 1, 1 + PROG_MAX_ARGS, "a node [callee, args...]")) < 0) return rc;
        p->nargs = (uint8_t)(no->via.array.size - 1);
        if ((rc = msg_dec_ref(d, &no->via.array.ptr[0], limit, &p->callee)) < 0) return rc;
        for (unsigned a = 0; a < p->nargs; a++)
            if ((rc = msg_dec_ref(d, &no->via.array.ptr[1 + a], limit, &p->arg[a])) < 0) return rc;
    }
    return 0;
}

static int msg_dec_cands(struct msg_dec *d, const msgpack_object *o, struct msg_job *j)
{
    int rc = msg_get_array(d, o, 0, PROTO_MAX_CANDS, "an array of candidate ids");
    if (rc < 0) return rc;
    uint32_t n = o->via.array.size;
    if (n == 0) return 0;
    j->cand = malloc(n * sizeof *j->cand);
    if (!j->cand) return msg_fail(d, "out of memory");
    j->n = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = 0;
        if ((rc = msg_get_uint(d, &o->via.array.ptr[i], UINT32_MAX, &v)) < 0) return rc;
        j->cand[i] = (uint32_t)v;
    }
    return 0;
}

static int msg_dec_roots(struct msg_dec *d, const msgpack_object *o, struct msg_job *j)
{
    int rc = msg_get_array(d, o, j->n, j->n, "an array of refs, one per candidate");
    if (rc < 0) return rc;
    if (j->n == 0) return 0;
    j->root = calloc(j->n, sizeof *j->root);
    if (!j->root) return msg_fail(d, "out of memory");
    for (uint32_t i = 0; i < j->n; i++)
        if ((rc = msg_dec_ref(d, &o->via.array.ptr[i], UINT64_MAX, &j->root[i])) < 0) return rc;
    return 0;
}

static int msg_dec_result_grid(struct msg_dec *d, const msgpack_object *o, struct msg_result *r)
{
    unsigned h = 0, w = 0;
    const uint8_t *cells = NULL;
    int rc = msg_dec_grid(d, o, PROTO_MAX_OUT_SIDE, &h, &w, &cells);
    if (rc < 0) return rc;
    r->out_cells = malloc((size_t)h * w);
    if (!r->out_cells) return msg_fail(d, "out of memory");
    memcpy(r->out_cells, cells, (size_t)h * w);
    r->out_h = (uint16_t)h;
    r->out_w = (uint16_t)w;
    r->has_grid = true;
    return 0;
}

static void msg_store_uint(void *p, enum msg_kind kind, uint64_t v)
{
    switch (kind) {
    case MF_U8: *(uint8_t *)p = (uint8_t)v; break;
    case MF_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, sizeof x); break; }
    case MF_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, sizeof x); break; }
    default: memcpy(p, &v, sizeof v); break;
    }
}

static int msg_dec_field(struct msg_dec *d, const msgpack_object *o, struct msg *m, const struct msg_field *f)
{
    void *p = msg_member(m, f);
    int rc;
    switch ((enum msg_kind)f->kind) {
    case MF_U8: case MF_U16: case MF_U32: case MF_U64: {
        uint64_t v = 0;
        if ((rc = msg_get_uint(d, o, f->max, &v)) < 0) return rc;
        msg_store_uint(p, (enum msg_kind)f->kind, v);
        return 0;
    }
    case MF_I32: {
        int64_t v;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX) v = (int64_t)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN) v = o->via.i64;
        else return msg_fail(d, "expected a 32-bit integer, found %s", msg_obj_type_name(o));
        int32_t x = (int32_t)v;
        memcpy(p, &x, sizeof x);
        return 0;
    }
    case MF_BOOL:
        if ((rc = msg_want(d, o, MSGPACK_OBJECT_BOOLEAN, "a boolean")) < 0) return rc;
        *(bool *)p = o->via.boolean;
        return 0;
    case MF_STR:
        if ((rc = msg_want(d, o, MSGPACK_OBJECT_STR, "a string")) < 0) return rc;
        if (o->via.str.size >= f->size) return msg_fail(d, "string of %u bytes, at most %u", o->via.str.size, f->size - 1u);
        if (memchr(o->via.str.ptr, 0, o->via.str.size)) return msg_fail(d, "NUL byte in a string");
        memcpy(p, o->via.str.ptr, o->via.str.size);
        ((char *)p)[o->via.str.size] = 0;
        return 0;
    case MF_SAMPLES: return msg_dec_samples(d, o, &m->u.task);
    case MF_NODES: return msg_dec_nodes(d, o, &m->u.nodes);
    case MF_CANDS: return msg_dec_cands(d, o, &m->u.job);
    case MF_ROOTS: return msg_dec_roots(d, o, &m->u.job);
    case MF_GRID: return msg_dec_result_grid(d, o, &m->u.result);
    }
    return msg_fail(d, "internal: field kind %u", f->kind);
}

static bool msg_key_is(const msgpack_object *k, const char *key, size_t klen)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen && memcmp(k->via.str.ptr, key, klen) == 0;
}

static int msg_dec_type(struct msg_dec *d, const msgpack_object_map *map, enum msg_type *type)
{
    const msgpack_object *found = NULL;
    for (uint32_t i = 0; i < map->size; i++) {
        if (!msg_key_is(&map->ptr[i].key, "type", 4)) continue;
        if (found) return msg_fail(d, "key \"type\" twice");
        found = &map->ptr[i].val;
    }
    if (!found) return msg_fail(d, "no \"type\" key");
    if (found->type != MSGPACK_OBJECT_POSITIVE_INTEGER || found->via.u64 < 1 || found->via.u64 >= MSG_TYPE_COUNT)
        return msg_fail(d, "\"type\" is not a message type");
    *type = (enum msg_type)found->via.u64;
    return 0;
}

/* The field named by key k, l->n when none. The encoder writes the keys in table order, so the
 * field after the previous one (hint) is tried first. */
static size_t msg_find_field(const struct msg_layout *l, const msgpack_object *k, size_t hint)
{
    if (hint < l->n && msg_key_is(k, l->fields[hint].key, l->fields[hint].klen)) return hint;
    for (size_t f = 0; f < l->n; f++)
        if (msg_key_is(k, l->fields[f].key, l->fields[f].klen)) return f;
    return l->n;
}

/* Matches the map's keys to the layout's fields, then decodes the fields in table order. */
static int msg_dec_fields(struct msg_dec *d, const msgpack_object_map *map, const struct msg_layout *l, struct msg *m)
{
    const msgpack_object *val[MSG_FIELDS_MAX] = { 0 };
    size_t hint = 0;
    for (uint32_t i = 0; i < map->size; i++) {
        size_t f = msg_find_field(l, &map->ptr[i].key, hint);
        if (f == l->n) continue; /* "type", or a key we do not know */
        d->key = l->fields[f].key;
        if (val[f]) return msg_fail(d, "key given twice");
        val[f] = &map->ptr[i].val;
        hint = f + 1;
    }
    for (size_t f = 0; f < l->n; f++) {
        d->key = l->fields[f].key;
        if (!val[f]) {
            if (l->fields[f].optional) continue;
            return msg_fail(d, "missing");
        }
        int rc = msg_dec_field(d, val[f], m, &l->fields[f]);
        if (rc < 0) return rc;
    }
    d->key = NULL;
    return 0;
}

static int msg_dec_root(struct msg_dec *d, const msgpack_object *root, struct msg *m)
{
    if (root->type != MSGPACK_OBJECT_MAP) return msg_fail(d, "a message is a map, found %s", msg_obj_type_name(root));
    enum msg_type type = MSG_BYE;
    int rc = msg_dec_type(d, &root->via.map, &type);
    if (rc < 0) return rc;
    m->type = type;
    d->where = msg_type_name(type);
    return msg_dec_fields(d, &root->via.map, &msg_layouts[type], m);
}

/* The zone holding decoded object trees, reused from message to message. */
static msgpack_zone msg_zone;
static bool msg_zone_ready;

static msgpack_zone *msg_zone_get(void)
{
    if (!msg_zone_ready) {
        if (!msgpack_zone_init(&msg_zone, MSGPACK_ZONE_CHUNK_SIZE)) return NULL;
        msg_zone_ready = true;
    }
    return &msg_zone;
}

int msg_decode(const uint8_t *payload, size_t len, struct msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (err && errlen) err[0] = 0;
    struct msg_dec d = { .err = err, .errlen = errlen, .where = "message", .key = NULL };
    int rc = msg_scan(&d, payload, len);
    if (rc < 0) return rc;
    msgpack_zone *z = msg_zone_get();
    if (!z) return msg_fail(&d, "out of memory");
    msgpack_object root;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack((const char *)payload, len, &off, z, &root);
    if (ur != MSGPACK_UNPACK_SUCCESS) rc = msg_fail(&d, "msgpack-c refused the payload (%d)", (int)ur);
    else rc = msg_dec_root(&d, &root, m);
    msgpack_zone_clear(z);
    if (rc < 0) {
        msg_release(m);
        memset(m, 0, sizeof *m);
    }
    return rc;
}

void msg_release(struct msg *m)
{
    switch (m->type) {
    case MSG_TASK:
        free(m->u.task.samples);
        m->u.task.samples = NULL;
        m->u.task.n_demo = m->u.task.n_test = 0;
        break;
    case MSG_NODES:
        free(m->u.nodes.nodes);
        m->u.nodes.nodes = NULL;
        m->u.nodes.n = 0;
        break;
    case MSG_JOB:
        free(m->u.job.cand);
        free(m->u.job.root);
        m->u.job.cand = NULL;
        m->u.job.root = NULL;
        m->u.job.n = 0;
        break;
    case MSG_RESULT:
        free(m->u.result.out_cells);
        m->u.result.out_cells = NULL;
        m->u.result.has_grid = false;
        break;
    default:
        break;
    }
}
