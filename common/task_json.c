/* task_json.c: loading ARC tasks from JSON (task.h). The only file that includes cJSON.
 *
 * A task file is {"train": [PAIR, ...], "test": [PAIR, ...]} with PAIR = {"input": GRID,
 * "output": GRID} and GRID a rectangular list of 1 to 30 rows of 1 to 30 integer colours 0..9.
 * Decisions (the ARC files are the reference; Python's json module is the model reader):
 * - "train" needs at least one pair and every train pair needs "output". "test" must be present
 *   but may be empty (demo-only scoring), and a test pair without "output" is accepted
 *   (has_output = false: prediction mode). At most PROTO_MAX_SAMPLES pairs in all, the most a
 *   worker accepts. Keys other than these (ARC files sometimes carry "name") are ignored;
 *   a duplicate key anywhere in the document is an error.
 * - Colours are integer tokens only: 1.0, 1e0 and 1.5 are rejected, as are 10, -1, 1e400 and
 *   99999999999999999999 (out of range). "-0" is 0, as in Python.
 * - Files larger than TASK_MAX_FILE bytes are rejected before they are read.
 *
 * Positions: every failure is one line "path:line:col: reason", 1-based, the column counted in
 * bytes. cJSON (1.7.15) parses the document but keeps no positions and is lenient (it takes any
 * byte <= 32 as whitespace, NUL included, and leading zeros in numbers), so a strict scanner
 * (json_scan_*) walks the text too: it rejects what RFC 8259 rejects, with its own reasons, and
 * records the byte offset of every value (and of its key) in document order. Document order is
 * the preorder of cJSON's tree, so a node's preorder index finds its offset; the semantic walk
 * carries that index along (child = parent + 1, next sibling = child + size of child's subtree).
 * The scanner runs only after cJSON accepted the text, or to explain why cJSON refused it. */
#include "compat.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"
#include "task.h"

#define TASK_MAX_FILE (16u << 20)  /* bytes */
#define JSON_MAX_DEPTH 256         /* nesting the scanner accepts (cJSON's own limit is 1000) */
#define JSON_NO_KEY UINT32_MAX

/* ---- the strict scanner: grammar check + value offsets in document order ---- */

struct json_scan {
    const char *s;
    size_t len, pos;
    uint32_t *val_off;   /* byte offset of value i (document order) */
    uint32_t *key_off;   /* offset of value i's key when it is an object member, else JSON_NO_KEY */
    uint32_t *sub;       /* number of values in value i's subtree, itself included */
    size_t n, cap;
    size_t err_off;      /* where the first error is */
    char err[96];        /* its reason; empty while there is none */
};

static int json_scan_fail(struct json_scan *sc, size_t off, const char *fmt, ...) BF_PRINTF(3, 4);
static int json_scan_fail(struct json_scan *sc, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->err, sizeof sc->err, fmt, ap);
    va_end(ap);
    sc->err_off = off;
    return -1;
}

static bool json_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void json_scan_ws(struct json_scan *sc)
{
    while (sc->pos < sc->len && json_is_ws(sc->s[sc->pos])) sc->pos++;
}

/* Names a byte for an error message: "'x'" or "byte 0x01". */
static void json_byte_name(unsigned char c, char *buf, size_t cap)
{
    if (c < 0x20 || c >= 0x7f) snprintf(buf, cap, "byte 0x%02x", c);
    else snprintf(buf, cap, "'%c'", c);
}

/* Reports the byte at the scanner's position when it is not what the grammar wants. */
static int json_scan_unexpected(struct json_scan *sc, const char *expected)
{
    if (sc->pos >= sc->len) return json_scan_fail(sc, sc->pos, "unexpected end of file, expected %s", expected);
    unsigned char c = (unsigned char)sc->s[sc->pos];
    if (c == 0) return json_scan_fail(sc, sc->pos, "NUL byte in JSON text, expected %s", expected);
    char name[16];
    json_byte_name(c, name, sizeof name);
    return json_scan_fail(sc, sc->pos, "unexpected %s, expected %s", name, expected);
}

static int json_scan_record(struct json_scan *sc, size_t key)
{
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 256;
        uint32_t *v = realloc(sc->val_off, cap * sizeof *v);
        if (!v) return json_scan_fail(sc, sc->pos, "out of memory");
        sc->val_off = v;
        uint32_t *k = realloc(sc->key_off, cap * sizeof *k);
        if (!k) return json_scan_fail(sc, sc->pos, "out of memory");
        sc->key_off = k;
        uint32_t *u = realloc(sc->sub, cap * sizeof *u);
        if (!u) return json_scan_fail(sc, sc->pos, "out of memory");
        sc->sub = u;
        sc->cap = cap;
    }
    sc->val_off[sc->n] = (uint32_t)sc->pos;
    sc->key_off[sc->n] = (uint32_t)key;
    sc->sub[sc->n] = 1;
    sc->n++;
    return 0;
}

static bool json_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int json_scan_string(struct json_scan *sc)
{
    size_t start = sc->pos++;
    while (sc->pos < sc->len) {
        unsigned char c = (unsigned char)sc->s[sc->pos];
        if (c == '"') {
            sc->pos++;
            return 0;
        }
        if (c < 0x20) return json_scan_fail(sc, sc->pos, "control byte 0x%02x inside a string", c);
        if (c != '\\') {
            sc->pos++;
            continue;
        }
        if (sc->pos + 1 >= sc->len) break;
        char e = sc->s[sc->pos + 1];
        if (e == 'u') {
            for (size_t i = 2; i < 6; i++)
                if (sc->pos + i >= sc->len || !json_is_hex(sc->s[sc->pos + i]))
                    return json_scan_fail(sc, sc->pos, "bad \\u escape in a string");
            sc->pos += 6;
        } else if (strchr("\"\\/bfnrt", e) && e != 0) {
            sc->pos += 2;
        } else {
            return json_scan_fail(sc, sc->pos, "bad escape in a string");
        }
    }
    return json_scan_fail(sc, start, "unterminated string");
}

static bool json_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t json_scan_digits(struct json_scan *sc)
{
    size_t start = sc->pos;
    while (sc->pos < sc->len && json_is_digit(sc->s[sc->pos])) sc->pos++;
    return sc->pos - start;
}

static int json_scan_number(struct json_scan *sc)
{
    size_t start = sc->pos;
    if (sc->s[sc->pos] == '-') sc->pos++;
    size_t int_start = sc->pos;
    size_t nd = json_scan_digits(sc);
    if (nd == 0) return json_scan_fail(sc, start, "bad number: no digits");
    if (nd > 1 && sc->s[int_start] == '0') return json_scan_fail(sc, start, "bad number: leading zero");
    if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
        sc->pos++;
        if (json_scan_digits(sc) == 0) return json_scan_fail(sc, start, "bad number: no digits after '.'");
    }
    if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
        sc->pos++;
        if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-')) sc->pos++;
        if (json_scan_digits(sc) == 0) return json_scan_fail(sc, start, "bad number: no digits in the exponent");
    }
    return 0;
}

static int json_scan_literal(struct json_scan *sc, const char *word)
{
    size_t n = strlen(word);
    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
        return json_scan_unexpected(sc, "a JSON value");
    sc->pos += n;
    return 0;
}

static int json_scan_value(struct json_scan *sc, size_t key, int depth);

static int json_scan_array(struct json_scan *sc, int depth)
{
    sc->pos++; /* '[' */
    json_scan_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
        sc->pos++;
        return 0;
    }
    for (;;) {
        if (json_scan_value(sc, JSON_NO_KEY, depth + 1) < 0) return -1;
        json_scan_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
            sc->pos++;
            return 0;
        }
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',') return json_scan_unexpected(sc, "',' or ']'");
        size_t comma = sc->pos++;
        json_scan_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ']') return json_scan_fail(sc, comma, "trailing comma in a list");
    }
}

static int json_scan_object(struct json_scan *sc, int depth)
{
    sc->pos++; /* '{' */
    json_scan_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
        sc->pos++;
        return 0;
    }
    for (;;) {
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"') return json_scan_unexpected(sc, "a string key");
        size_t key = sc->pos;
        if (json_scan_string(sc) < 0) return -1;
        json_scan_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ':') return json_scan_unexpected(sc, "':'");
        sc->pos++;
        if (json_scan_value(sc, key, depth + 1) < 0) return -1;
        json_scan_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
            sc->pos++;
            return 0;
        }
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',') return json_scan_unexpected(sc, "',' or '}'");
        size_t comma = sc->pos++;
        json_scan_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == '}') return json_scan_fail(sc, comma, "trailing comma in an object");
    }
}

static int json_scan_value(struct json_scan *sc, size_t key, int depth)
{
    json_scan_ws(sc);
    if (sc->pos >= sc->len) return json_scan_unexpected(sc, "a JSON value");
    if (depth > JSON_MAX_DEPTH) return json_scan_fail(sc, sc->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
    if (json_scan_record(sc, key) < 0) return -1;
    size_t idx = sc->n - 1;
    char c = sc->s[sc->pos];
    int rc;
    switch (c) {
    case '{':
        rc = json_scan_object(sc, depth);
        sc->sub[idx] = (uint32_t)(sc->n - idx);
        return rc;
    case '[':
        rc = json_scan_array(sc, depth);
        sc->sub[idx] = (uint32_t)(sc->n - idx);
        return rc;
    case '"': return json_scan_string(sc);
    case 't': return json_scan_literal(sc, "true");
    case 'f': return json_scan_literal(sc, "false");
    case 'n': return json_scan_literal(sc, "null");
    default:
        if (c == '-' || json_is_digit(c)) return json_scan_number(sc);
        return json_scan_unexpected(sc, "a JSON value");
    }
}

/* Scans the whole text: one value, then only whitespace. */
static int json_scan_document(struct json_scan *sc)
{
    if (sc->len >= 3 && memcmp(sc->s, "\xef\xbb\xbf", 3) == 0) sc->pos = 3; /* UTF-8 BOM, as cJSON */
    json_scan_ws(sc);
    if (sc->pos >= sc->len) return json_scan_fail(sc, sc->pos, "empty file: expected a JSON value");
    if (json_scan_value(sc, JSON_NO_KEY, 0) < 0) return -1;
    json_scan_ws(sc);
    if (sc->pos < sc->len) {
        char name[16];
        json_byte_name((unsigned char)sc->s[sc->pos], name, sizeof name);
        return json_scan_fail(sc, sc->pos, "trailing characters after the JSON value: %s", name);
    }
    return 0;
}

static void json_scan_release(struct json_scan *sc)
{
    free(sc->val_off);
    free(sc->key_off);
    free(sc->sub);
    sc->val_off = sc->key_off = sc->sub = NULL;
    sc->n = sc->cap = 0;
}

/* ---- the parse context and its one-line errors ---- */

struct task_ctx {
    const char *path;
    const char *text;
    size_t len;
    struct json_scan sc;
    char *err;
    size_t errlen;
};

static void task_line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int task_fail_at(struct task_ctx *c, int rc, size_t off, const char *fmt, ...) BF_PRINTF(4, 5);
static int task_fail_at(struct task_ctx *c, int rc, size_t off, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0) return rc;
    size_t line, col;
    task_line_col(c->text, c->len, off, &line, &col);
    int n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->path, line, col);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Offset of the value with preorder index idx (the scanner's table matches cJSON's tree). */
static size_t task_off(const struct task_ctx *c, size_t idx)
{
    return idx < c->sc.n ? c->sc.val_off[idx] : 0;
}

static size_t task_key_off(const struct task_ctx *c, size_t idx)
{
    if (idx >= c->sc.n || c->sc.key_off[idx] == JSON_NO_KEY) return task_off(c, idx);
    return c->sc.key_off[idx];
}

static int task_fail_node(struct task_ctx *c, size_t idx, const char *fmt, ...) BF_PRINTF(3, 4);
static int task_fail_node(struct task_ctx *c, size_t idx, const char *fmt, ...)
{
    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return task_fail_at(c, BF_ETASK, task_off(c, idx), "%s", reason);
}

/* Number of values in the subtree of the value with preorder index idx (itself included). */
static size_t task_sub(const struct task_ctx *c, size_t idx)
{
    return idx < c->sc.n ? c->sc.sub[idx] : 1;
}

/* The same counted on cJSON's tree: once, to check that the scanner's table matches it. */
static size_t json_tree_size(const cJSON *node)
{
    size_t n = 1;
    for (const cJSON *ch = node->child; ch; ch = ch->next) n += json_tree_size(ch);
    return n;
}

static const char *json_type_name(const cJSON *node)
{
    if (cJSON_IsObject(node)) return "an object";
    if (cJSON_IsArray(node)) return "a list";
    if (cJSON_IsString(node)) return "a string";
    if (cJSON_IsNumber(node)) return "a number";
    if (cJSON_IsBool(node)) return cJSON_IsTrue(node) ? "true" : "false";
    if (cJSON_IsNull(node)) return "null";
    return "an unknown value";
}

/* ---- duplicate keys ---- */

struct json_member {
    const char *key;
    size_t idx;          /* preorder index of the member's value */
};

static int json_member_cmp(const void *a, const void *b)
{
    const struct json_member *x = a, *y = b;
    int k = strcmp(x->key, y->key);
    if (k) return k;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Copies a decoded key for a one-line message: control bytes (an escaped "\n") become '?'. */
static void task_printable(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++) buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    buf[n] = 0;
}

/* Reports the earliest second occurrence of a key in the object at idx. */
static int task_check_object_keys(struct task_ctx *c, const cJSON *obj, size_t idx)
{
    size_t n = 0;
    for (const cJSON *ch = obj->child; ch; ch = ch->next) n++;
    if (n < 2) return 0;
    struct json_member *m = malloc(n * sizeof *m);
    if (!m) return task_fail_at(c, BF_ENOMEM, task_off(c, idx), "out of memory");
    size_t i = 0, at = idx + 1;
    for (const cJSON *ch = obj->child; ch; ch = ch->next) {
        m[i].key = ch->string ? ch->string : "";
        m[i++].idx = at;
        at += task_sub(c, at);
    }
    qsort(m, n, sizeof *m, json_member_cmp);
    size_t dup = SIZE_MAX;
    for (i = 1; i < n; i++)
        if (strcmp(m[i - 1].key, m[i].key) == 0 && m[i].idx < dup) dup = m[i].idx;
    int rc = 0;
    if (dup != SIZE_MAX) {
        char key[41] = "";
        for (i = 0; i < n; i++)
            if (m[i].idx == dup) task_printable(m[i].key, key, sizeof key);
        rc = task_fail_at(c, BF_ETASK, task_key_off(c, dup), "duplicate key \"%s\"", key);
    }
    free(m);
    return rc;
}

/* Walks the whole tree in preorder, checking every object. */
static int task_check_keys(struct task_ctx *c, const cJSON *node, size_t idx)
{
    if (cJSON_IsObject(node)) {
        int rc = task_check_object_keys(c, node, idx);
        if (rc < 0) return rc;
    }
    size_t at = idx + 1;
    for (const cJSON *ch = node->child; ch; ch = ch->next) {
        if (ch->child) {
            int rc = task_check_keys(c, ch, at);
            if (rc < 0) return rc;
        }
        at += task_sub(c, at);
    }
    return 0;
}

/* ---- the task itself ---- */

/* Finds key in the object at idx: the member and its preorder index. */
static const cJSON *task_member(const struct task_ctx *c, const cJSON *obj, size_t idx, const char *key,
                                size_t *member_idx)
{
    size_t at = idx + 1;
    for (const cJSON *ch = obj->child; ch; ch = ch->next) {
        if (ch->string && strcmp(ch->string, key) == 0) {
            *member_idx = at;
            return ch;
        }
        at += task_sub(c, at);
    }
    return NULL;
}

/* Copies the number token at off (at most 24 bytes) for messages. */
static void task_token(const struct task_ctx *c, size_t off, char *buf, size_t cap)
{
    size_t n = 0;
    while (off + n < c->len && n + 4 < cap && strchr("-+.eE0123456789", c->text[off + n]) && c->text[off + n])
        n++;
    memcpy(buf, c->text + off, n);
    bool more = off + n < c->len && c->text[off + n] && strchr("-+.eE0123456789", c->text[off + n]);
    strcpy(buf + n, more ? "..." : "");
}

static int task_read_colour(struct task_ctx *c, const cJSON *cell, size_t idx, uint8_t *out)
{
    if (!cJSON_IsNumber(cell))
        return task_fail_node(c, idx, "a colour must be an integer 0..9, found %s", json_type_name(cell));
    size_t off = task_off(c, idx);
    char tok[28];
    task_token(c, off, tok, sizeof tok);
    size_t p = off;
    bool neg = c->text[p] == '-';
    if (neg) p++;
    unsigned value = 0, digits = 0;
    while (p < c->len && json_is_digit(c->text[p])) {
        if (value < 100) value = value * 10 + (unsigned)(c->text[p] - '0');
        p++;
        digits++;
    }
    if (p < c->len && strchr(".eE", c->text[p]) && c->text[p])
        return task_fail_node(c, idx, "a colour must be an integer 0..9, found %s", tok);
    if (digits == 0 || value > 9 || (neg && value != 0))
        return task_fail_node(c, idx, "colour %s out of range 0..9", tok);
    *out = (uint8_t)value;
    return 0;
}

static int task_read_row(struct task_ctx *c, const cJSON *row, size_t idx, uint8_t *cells, int *width)
{
    if (!cJSON_IsArray(row))
        return task_fail_node(c, idx, "a grid row must be a list of colours, found %s", json_type_name(row));
    int w = 0;
    size_t at = idx + 1;
    for (const cJSON *cell = row->child; cell; cell = cell->next) {
        if (w == GRID_MAX) return task_fail_node(c, at, "grid row longer than %d cells", GRID_MAX);
        int rc = task_read_colour(c, cell, at, &cells[w]);
        if (rc < 0) return rc;
        w++;
        at++; /* cells are numbers: one value each */
    }
    if (w == 0) return task_fail_node(c, idx, "empty grid row");
    *width = w;
    return 0;
}

static int task_read_grid(struct task_ctx *c, const cJSON *node, size_t idx, struct grid *g)
{
    if (!cJSON_IsArray(node))
        return task_fail_node(c, idx, "a grid must be a list of rows, found %s", json_type_name(node));
    if (!node->child) return task_fail_node(c, idx, "empty grid");
    int h = 0, w0 = 0;
    size_t at = idx + 1;
    for (const cJSON *row = node->child; row; row = row->next) {
        if (h == GRID_MAX) return task_fail_node(c, at, "grid has more than %d rows", GRID_MAX);
        uint8_t cells[GRID_MAX];
        int w = 0;
        int rc = task_read_row(c, row, at, cells, &w);
        if (rc < 0) return rc;
        if (h == 0) w0 = w;
        if (w != w0)
            return task_fail_node(c, at, "ragged grid: row %d has %d cells, row 1 has %d", h + 1, w, w0);
        memcpy(g->cell + h * w0, cells, (size_t)w);
        h++;
        at += 1 + (size_t)w;
    }
    g->h = (uint8_t)h;
    g->w = (uint8_t)w0;
    return 0;
}

static int task_read_pair(struct task_ctx *c, const cJSON *pair, size_t idx, struct sample *s)
{
    const char *what = s->kind == SAMPLE_DEMO ? "train" : "test";
    if (!cJSON_IsObject(pair))
        return task_fail_node(c, idx, "a %s pair must be an object, found %s", what, json_type_name(pair));
    size_t in_idx = 0, out_idx = 0;
    const cJSON *in = task_member(c, pair, idx, "input", &in_idx);
    const cJSON *out = task_member(c, pair, idx, "output", &out_idx);
    if (!in) return task_fail_node(c, idx, "%s pair %u has no \"input\"", what, s->index);
    if (!out && s->kind == SAMPLE_DEMO) return task_fail_node(c, idx, "train pair %u has no \"output\"", s->index);
    int rc = task_read_grid(c, in, in_idx, &s->input);
    if (rc < 0) return rc;
    s->has_output = out != NULL;
    if (out) rc = task_read_grid(c, out, out_idx, &s->output);
    return rc;
}

/* Reads the pairs of "train" or "test" into samples[first...]. */
static int task_read_pairs(struct task_ctx *c, const cJSON *list, size_t idx, enum sample_kind kind,
                           struct sample *samples)
{
    size_t at = idx + 1;
    uint16_t i = 0;
    for (const cJSON *pair = list->child; pair; pair = pair->next) {
        struct sample *s = &samples[i];
        s->kind = kind;
        s->index = i++;
        int rc = task_read_pair(c, pair, at, s);
        if (rc < 0) return rc;
        at += task_sub(c, at);
    }
    return 0;
}

static int task_list_len(const cJSON *list)
{
    int n = 0;
    for (const cJSON *ch = list->child; ch; ch = ch->next) n++;
    return n;
}

/* Finds "train" or "test" in the root object and checks it is a list. */
static int task_find_list(struct task_ctx *c, const cJSON *root, const char *key, const cJSON **list, size_t *idx)
{
    *list = task_member(c, root, 0, key, idx);
    if (!*list) return task_fail_node(c, 0, "missing key \"%s\"", key);
    if (!cJSON_IsArray(*list))
        return task_fail_node(c, *idx, "\"%s\" must be a list of pairs, found %s", key, json_type_name(*list));
    return 0;
}

static int task_read(struct task_ctx *c, const cJSON *root, struct task *t)
{
    if (!cJSON_IsObject(root))
        return task_fail_node(c, 0, "an ARC task must be a JSON object, found %s", json_type_name(root));
    const cJSON *train, *test;
    size_t train_idx = 0, test_idx = 0;
    int rc = task_find_list(c, root, "train", &train, &train_idx);
    if (rc < 0) return rc;
    rc = task_find_list(c, root, "test", &test, &test_idx);
    if (rc < 0) return rc;
    int n_demo = task_list_len(train), n_test = task_list_len(test);
    if (n_demo == 0) return task_fail_node(c, train_idx, "\"train\" has no pairs");
    if (n_demo + n_test > PROTO_MAX_SAMPLES)
        return task_fail_node(c, n_demo > PROTO_MAX_SAMPLES ? train_idx : test_idx,
                              "too many pairs: %d train + %d test, at most %d in all", n_demo, n_test,
                              PROTO_MAX_SAMPLES);
    t->samples = calloc((size_t)(n_demo + n_test), sizeof *t->samples);
    if (!t->samples) return task_fail_node(c, 0, "out of memory");
    t->n_demo = (uint16_t)n_demo;
    t->n_test = (uint16_t)n_test;
    rc = task_read_pairs(c, train, train_idx, SAMPLE_DEMO, t->samples);
    if (rc < 0) return rc;
    return task_read_pairs(c, test, test_idx, SAMPLE_TEST, t->samples + n_demo);
}

/* The task name: the file name without directories and ".json". */
static int task_set_name(struct task_ctx *c, struct task *t)
{
    const char *base = strrchr(c->path, '/');
    base = base ? base + 1 : c->path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0) n -= 5;
    if (n == 0) return task_fail_at(c, BF_ETASK, 0, "no task name in the file name");
    if (n >= sizeof t->name)
        return task_fail_at(c, BF_ETASK, 0, "task name longer than %zu bytes", sizeof t->name - 1);
    memcpy(t->name, base, n);
    t->name[n] = 0;
    return 0;
}

/* Syntax: cJSON parses; the scanner checks strictly and records positions. */
static int task_parse_json(struct task_ctx *c, cJSON **root)
{
    const char *end = NULL;
    *root = c->len ? cJSON_ParseWithLengthOpts(c->text, c->len, &end, false) : NULL;
    bool scanned = json_scan_document(&c->sc) == 0;
    if (!*root) {
        if (!scanned) return task_fail_at(c, BF_EJSON, c->sc.err_off, "%s", c->sc.err);
        size_t off = end && end >= c->text ? (size_t)(end - c->text) : 0;
        return task_fail_at(c, BF_EJSON, off, "invalid JSON (rejected by cJSON)");
    }
    size_t off = (size_t)(end - c->text);
    while (off < c->len && json_is_ws(c->text[off])) off++;
    if (off < c->len) {
        char name[16];
        json_byte_name((unsigned char)c->text[off], name, sizeof name);
        return task_fail_at(c, BF_EJSON, off, "trailing characters after the JSON value: %s", name);
    }
    if (!scanned) return task_fail_at(c, BF_EJSON, c->sc.err_off, "%s", c->sc.err);
    size_t size = json_tree_size(*root);
    if (size != c->sc.n)
        return task_fail_at(c, BF_EINTERNAL, 0, "internal: %zu values scanned, cJSON has %zu", c->sc.n, size);
    return 0;
}

int task_parse(const char *path, const char *text, size_t len, struct task *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = 0;
    struct task_ctx c = { .path = path, .text = text ? text : "", .len = text ? len : 0, .err = err, .errlen = errlen };
    c.sc.s = c.text;
    c.sc.len = c.len;
    cJSON *root = NULL;
    int rc = task_set_name(&c, out);
    if (rc == 0) rc = task_parse_json(&c, &root);
    if (rc == 0) rc = task_check_keys(&c, root, 0);
    if (rc == 0) rc = task_read(&c, root, out);
    if (rc == 0) {
        out->path = strdup(path);
        if (!out->path) rc = task_fail_at(&c, BF_ENOMEM, 0, "out of memory");
    }
    cJSON_Delete(root);
    json_scan_release(&c.sc);
    if (rc < 0) task_release(out);
    return rc;
}

void task_release(struct task *t)
{
    free(t->samples);
    free(t->path);
    memset(t, 0, sizeof *t);
}

/* ---- files ---- */

static int task_io_fail(const char *path, int rc, const char *what, char *err, size_t errlen)
{
    if (err && errlen) snprintf(err, errlen, "%s:1:1: %s: %s", path, what, bf_strerror(rc));
    return rc;
}

/* Reads a whole regular file of at most TASK_MAX_FILE bytes into a malloc'd buffer. */
static int task_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return task_io_fail(path, -errno, "cannot open", err, errlen);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) rc = task_io_fail(path, -errno, "cannot stat", err, errlen);
    else if (!S_ISREG(st.st_mode)) {
        if (err && errlen) snprintf(err, errlen, "%s:1:1: not a regular file", path);
        rc = BF_ETASK;
    }
    else if (st.st_size > (off_t)TASK_MAX_FILE) {
        if (err && errlen)
            snprintf(err, errlen, "%s:1:1: file is %lld bytes, above the %u MiB limit for a task", path,
                     (long long)st.st_size, TASK_MAX_FILE >> 20);
        rc = BF_ETASK;
    }
    char *buf = NULL;
    size_t got = 0;
    if (rc == 0) {
        size_t want = (size_t)st.st_size;
        buf = malloc(want + 1);
        if (!buf) rc = task_io_fail(path, BF_ENOMEM, "cannot read", err, errlen);
        while (rc == 0 && got < want) {
            ssize_t k = read(fd, buf + got, want - got);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) rc = task_io_fail(path, -errno, "cannot read", err, errlen);
            if (k <= 0) break; /* shrank while reading: parse what is there */
            got += (size_t)k;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[got] = 0;
    *text = buf;
    *len = got;
    return 0;
}

int task_load_file(const char *path, struct task *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    int rc = task_read_file(path, &text, &len, err, errlen);
    if (rc < 0) return rc;
    rc = task_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

/* ---- task sets ---- */

static int task_set_push(struct task_set *set, struct task *t)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct task *nt = realloc(set->tasks, cap * sizeof *nt);
        if (!nt) return BF_ENOMEM;
        set->tasks = nt;
        set->cap = cap;
    }
    set->tasks[set->n++] = *t;
    return 0;
}

static const struct task *task_set_find_linear(const struct task_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->tasks[i].name, name) == 0) return &set->tasks[i];
    return NULL;
}

/* Loads one file into the set. 1: added, 0: rejected (reported), <0: out of memory. */
static int task_set_add_file(struct task_set *set, const char *path, FILE *errs)
{
    char err[512];
    struct task t;
    int rc = task_load_file(path, &t, err, sizeof err);
    if (rc == 0) {
        const struct task *first = task_set_find_linear(set, t.name);
        if (first) {
            snprintf(err, sizeof err, "%s:1:1: duplicate task name \"%s\", already loaded from %s", path, t.name,
                     first->path);
            task_release(&t);
            rc = BF_ETASK;
        }
    }
    if (rc == 0) {
        rc = task_set_push(set, &t);
        if (rc < 0) task_release(&t);
        return rc < 0 ? rc : 1;
    }
    if (rc == BF_ENOMEM) return rc;
    if (errs) fprintf(errs, "%s\n", err);
    set->n_rejected++;
    return 0;
}

static bool task_is_json_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] != '.' && strcmp(name + n - 5, ".json") == 0;
}

static int task_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists dir's *.json entries, sorted by name. */
static int task_list_dir(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) return -errno;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!task_is_json_name(e->d_name)) continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = BF_ENOMEM;
                break;
            }
            v = nv;
        }
        v[len] = strdup(e->d_name);
        if (!v[len]) rc = BF_ENOMEM;
        else len++;
    }
    closedir(d);
    if (len) qsort(v, len, sizeof *v, task_str_cmp);
    *names = v;
    *n = len;
    return rc;
}

static int task_set_add_dir(struct task_set *set, const char *dir, FILE *errs)
{
    char **names = NULL;
    size_t n = 0;
    int rc = task_list_dir(dir, &names, &n);
    int added = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t dl = strlen(dir);
        char *path = malloc(dl + strlen(names[i]) + 2);
        if (!path) {
            rc = BF_ENOMEM;
            break;
        }
        snprintf(path, dl + strlen(names[i]) + 2, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        int k = task_set_add_file(set, path, errs);
        free(path);
        if (k < 0) rc = k;
        else added += k;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc < 0 && errs) fprintf(errs, "%s: cannot list tasks: %s\n", dir, bf_strerror(rc));
    return rc < 0 ? rc : added;
}

static int task_name_cmp(const void *a, const void *b)
{
    const struct task *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int task_set_load(struct task_set *set, char *const *paths, int npaths, FILE *errs)
{
    int added = 0, rc = 0;
    for (int i = 0; i < npaths && rc >= 0; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            rc = -errno;
            if (errs) fprintf(errs, "%s: %s\n", paths[i], bf_strerror(rc));
        } else if (S_ISDIR(st.st_mode)) {
            rc = task_set_add_dir(set, paths[i], errs);
        } else {
            rc = task_set_add_file(set, paths[i], errs);
        }
        if (rc > 0) added += rc;
    }
    if (set->n > 1) qsort(set->tasks, set->n, sizeof *set->tasks, task_name_cmp);
    return rc < 0 ? rc : added;
}

const struct task *task_set_find(const struct task_set *set, const char *name)
{
    struct task key;
    size_t n = strlen(name);
    if (n >= sizeof key.name || set->n == 0) return NULL;
    memcpy(key.name, name, n + 1);
    return bsearch(&key, set->tasks, set->n, sizeof *set->tasks, task_name_cmp);
}

void task_set_release(struct task_set *set)
{
    for (size_t i = 0; i < set->n; i++) task_release(&set->tasks[i]);
    free(set->tasks);
    set->tasks = NULL;
    set->n = set->cap = set->n_rejected = 0;
}

const char *sample_kind_name(enum sample_kind k)
{
    return k == SAMPLE_DEMO ? "demo" : "test";
}
