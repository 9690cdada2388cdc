/* journal.c: writing and reading results.jsonl (see journal.h). The reader is a small parser
 * for the flat objects we write (strings, integers, booleans, null, and the "out" grid); it
 * skips keys it does not know, so later fields do not break older readers. */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

#define JOURNAL_BUF (1u << 20)
#define JOURNAL_SYNC_EVERY_US 1000000
#define JOURNAL_MAX_SIDE PROTO_MAX_OUT_SIDE

static int64_t journal_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- writing */

struct out { char *p; size_t len, cap; };

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t k = o->cap - o->len < n ? o->cap - o->len : n;
        memcpy(o->p + o->len, s, k);
    }
    o->len += n;
}

static void out_printf(struct out *o, const char *fmt, ...) BF_PRINTF(2, 3);
static void out_printf(struct out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) out_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Decimal and hex without printf (perf: ten vsnprintf calls per line were 2% of the sweep's CPU,
 * in the master, which shares the cores with the workers). */
static void out_uint(struct out *o, unsigned long long v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    out_put(o, tmp + n, sizeof tmp - n);
}

static void out_int(struct out *o, long long v)
{
    if (v < 0) {
        out_put(o, "-", 1);
        out_uint(o, 0ull - (unsigned long long)v);
    } else {
        out_uint(o, (unsigned long long)v);
    }
}

static void out_hex16(struct out *o, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    for (int k = 15; k >= 0; k--, v >>= 4)
        tmp[k] = digits[v & 15];
    out_put(o, tmp, sizeof tmp);
}

/* A string literal, its length known at compile time (perf: strlen on every key of every line). */
#define OUT_LIT(o, lit) out_put((o), (lit), sizeof(lit) - 1)
/* ,"key": for a literal key */
#define OUT_KEY(o, key) OUT_LIT((o), ",\"" key "\":")

/* Bytes a JSON string holds as they are: not a control character, DEL, '"' or '\\'. */
static bool json_plain_byte(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
}

/* Per byte value, whether it is written as it is (json_plain_byte): one load per byte while a
 * string is scanned (perf: the master formats a line per result, seven strings each). */
static bool json_plain[256];

static void json_plain_init(void)
{
    if (json_plain['a']) return;
    for (int c = 0; c < 256; c++) json_plain[c] = json_plain_byte((unsigned char)c);
}

static void out_json_string(struct out *o, const char *s)
{
    json_plain_init();
    out_put(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        const unsigned char *run = p; /* characters written as they are, copied at once */
        while (json_plain[*p])
            p++;
        if (p != run) out_put(o, (const char *)run, (size_t)(p - run));
        if (!*p) break;
        if (*p == '"') out_put(o, "\\\"", 2);
        else if (*p == '\\') out_put(o, "\\\\", 2);
        else if (*p == '\n') out_put(o, "\\n", 2);
        else if (*p == '\t') out_put(o, "\\t", 2);
        else if (*p == '\r') out_put(o, "\\r", 2);
        else out_printf(o, "\\u%04x", *p); /* the other control characters */
    }
    out_put(o, "\"", 1);
}

size_t journal_format(const struct journal_entry *e, char *buf, size_t len)
{
    struct out o = { buf, 0, len ? len - 1 : 0 };
    OUT_LIT(&o, "{\"task\":");
    out_json_string(&o, e->task);
    OUT_KEY(&o, "sample");
    out_json_string(&o, e->sample);
    OUT_KEY(&o, "cand");
    out_json_string(&o, e->cand);
    OUT_KEY(&o, "name");
    out_json_string(&o, e->name);
    OUT_KEY(&o, "file");
    out_json_string(&o, e->file);
    OUT_KEY(&o, "status");
    out_json_string(&o, bf_status_name(e->status));
    OUT_KEY(&o, "match");
    if (e->match) OUT_LIT(&o, "true"); else OUT_LIT(&o, "false");
    OUT_KEY(&o, "shape");
    if (e->shape) OUT_LIT(&o, "true"); else OUT_LIT(&o, "false");
    OUT_KEY(&o, "right");
    out_uint(&o, e->right);
    OUT_KEY(&o, "total");
    out_uint(&o, e->total);
    OUT_KEY(&o, "cpu_us");
    out_uint(&o, (unsigned long long)e->cpu_us);
    OUT_KEY(&o, "wall_us");
    out_uint(&o, (unsigned long long)e->wall_us);
    OUT_KEY(&o, "slot");
    out_int(&o, e->slot);
    OUT_KEY(&o, "attempt");
    out_int(&o, e->attempt);
    OUT_KEY(&o, "host");
    out_json_string(&o, e->host ? e->host : "local");
    if (e->out_hash) {
        OUT_KEY(&o, "ohash");
        out_put(&o, "\"", 1);
        out_hex16(&o, e->out_hash);
        out_put(&o, "\"", 1);
    }
    if (e->status == ST_CRASH) {
        OUT_KEY(&o, "signal");
        out_int(&o, e->signal);
    }
    if (e->msg && *e->msg) {
        OUT_KEY(&o, "msg");
        out_json_string(&o, e->msg);
    }
    if (e->has_grid && e->out_cells) {
        OUT_LIT(&o, ",\"out\":[");
        for (int i = 0; i < e->out_h; i++) {
            if (i) OUT_LIT(&o, ",[");
            else OUT_LIT(&o, "[");
            for (int k = 0; k < e->out_w; k++) {
                char d[2] = { ',', (char)('0' + e->out_cells[i * e->out_w + k] % 10) };
                out_put(&o, k ? d : d + 1, k ? 2 : 1);
            }
            OUT_LIT(&o, "]");
        }
        OUT_LIT(&o, "]");
    }
    OUT_LIT(&o, "}\n");
    if (len) buf[o.len < len ? o.len : len - 1] = 0;
    return o.len;
}

static int journal_fail(struct journal *j, int rc)
{
    if (!j->failed) log_err("cannot write %s: %s", j->path, bf_strerror(rc));
    j->failed = true;
    return rc;
}

static int journal_open_fd(const char *path, int64_t truncate_at)
{
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate_at < 0 ? O_EXCL : 0);
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        int rc = -errno;
        if (rc == -EEXIST) {
            log_err("%s already exists: pass --resume to continue it, or choose another --out", path);
            return BF_EUSAGE;
        }
        return log_fail(rc, "cannot open %s: %s", path, strerror(-rc));
    }
    struct stat sb;
    if (truncate_at >= 0 && fstat(fd, &sb) == 0 && sb.st_size > truncate_at) {
        log_notice("%s: cutting off a torn last line (%lld bytes)", path, (long long)(sb.st_size - truncate_at));
        if (ftruncate(fd, truncate_at) < 0) {
            int rc = -errno;
            close(fd);
            return log_fail(rc, "cannot truncate %s: %s", path, strerror(-rc));
        }
    }
    return fd;
}

int journal_open(struct journal *j, const char *path, int64_t truncate_at)
{
    memset(j, 0, sizeof *j);
    int fd = journal_open_fd(path, truncate_at);
    if (fd < 0) return fd;
    j->path = strdup(path);
    j->fp = fdopen(fd, "a");
    j->buf = malloc(JOURNAL_BUF);
    if (!j->path || !j->fp || !j->buf) {
        if (j->fp) fclose(j->fp); else close(fd);
        free(j->path);
        free(j->buf);
        memset(j, 0, sizeof *j);
        return BF_ENOMEM;
    }
    setvbuf(j->fp, j->buf, _IOFBF, JOURNAL_BUF);
    j->last_sync_us = journal_now_us();
    return 0;
}

int journal_append(struct journal *j, const struct journal_entry *e)
{
    if (j->failed) return BF_EINTERNAL;
    char line[4096];
    size_t n = journal_format(e, line, sizeof line);
    char *big = NULL;
    const char *p = line;
    if (n >= sizeof line) { /* a big output grid */
        big = malloc(n + 1);
        if (!big) return journal_fail(j, BF_ENOMEM);
        journal_format(e, big, n + 1);
        p = big;
    }
    size_t w = fwrite(p, 1, n, j->fp);
    int err = errno;
    free(big);
    if (w != n) return journal_fail(j, -(err ? err : EIO));
    j->records++;
    j->unsynced = true;
    return 0;
}

int journal_flush(struct journal *j)
{
    if (j->failed) return BF_EINTERNAL;
    if (fflush(j->fp) != 0) return journal_fail(j, -errno);
    int64_t now = journal_now_us();
    if (j->unsynced && now - j->last_sync_us >= JOURNAL_SYNC_EVERY_US) {
        if (fdatasync(fileno(j->fp)) < 0) return journal_fail(j, -errno);
        j->unsynced = false;
        j->last_sync_us = now;
    }
    return 0;
}

int journal_close(struct journal *j)
{
    int rc = 0;
    if (j->fp) {
        if (!j->failed && fflush(j->fp) != 0) rc = journal_fail(j, -errno);
        if (!j->failed && fdatasync(fileno(j->fp)) < 0) rc = journal_fail(j, -errno);
        if (fclose(j->fp) != 0 && rc == 0 && !j->failed) rc = journal_fail(j, -errno);
        j->fp = NULL;
    }
    if (j->failed && rc == 0) rc = BF_EINTERNAL;
    free(j->buf);
    free(j->path);
    j->buf = NULL;
    j->path = NULL;
    return rc;
}

/* ---------------------------------------------------------------- reading */

struct jparse {
    const char *p, *end;
    char *scratch, *scratch_end;
    char *err;
    size_t errlen;
    uint8_t *cells;          /* "out" grid */
};

static int jp_fail(struct jparse *jp, const char *what)
{
    snprintf(jp->err, jp->errlen, "%s", what);
    return BF_EJSON;
}

static void jp_ws(struct jparse *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\r')) jp->p++;
}

static bool jp_eat(struct jparse *jp, char c)
{
    jp_ws(jp);
    if (jp->p < jp->end && *jp->p == c) {
        jp->p++;
        return true;
    }
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool jp_put(struct jparse *jp, char **o, unsigned c)
{
    if (*o >= jp->scratch_end) return false;
    *(*o)++ = (char)c;
    return true;
}

static bool jp_put_utf8(struct jparse *jp, char **o, unsigned cp)
{
    if (cp < 0x80) return jp_put(jp, o, cp);
    if (cp < 0x800) return jp_put(jp, o, 0xc0 | (cp >> 6)) && jp_put(jp, o, 0x80 | (cp & 0x3f));
    if (cp < 0x10000)
        return jp_put(jp, o, 0xe0 | (cp >> 12)) && jp_put(jp, o, 0x80 | ((cp >> 6) & 0x3f)) &&
               jp_put(jp, o, 0x80 | (cp & 0x3f));
    return jp_put(jp, o, 0xf0 | (cp >> 18)) && jp_put(jp, o, 0x80 | ((cp >> 12) & 0x3f)) &&
           jp_put(jp, o, 0x80 | ((cp >> 6) & 0x3f)) && jp_put(jp, o, 0x80 | (cp & 0x3f));
}

static int jp_u4(struct jparse *jp, unsigned *cp)
{
    if (jp->end - jp->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(jp->p[i]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    jp->p += 4;
    *cp = v;
    return 0;
}

/* A string into the scratch buffer (NUL-terminated); *out points at it. */
static int jp_string(struct jparse *jp, const char **out)
{
    if (!jp_eat(jp, '"')) return jp_fail(jp, "expected a string");
    char *o = jp->scratch, *start = o;
    while (jp->p < jp->end && *jp->p != '"') {
        unsigned char c = (unsigned char)*jp->p++;
        if (c < 0x20) return jp_fail(jp, "control character in a string");
        if (c != '\\') {
            if (!jp_put(jp, &o, c)) return jp_fail(jp, "line too long");
            continue;
        }
        if (jp->p >= jp->end) return jp_fail(jp, "unterminated escape");
        char e = *jp->p++;
        unsigned cp;
        switch (e) {
        case '"': case '\\': case '/': cp = (unsigned char)e; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (jp_u4(jp, &cp) < 0) return jp_fail(jp, "bad \\u escape");
            if (cp >= 0xd800 && cp < 0xdc00 && jp->end - jp->p >= 6 && jp->p[0] == '\\' && jp->p[1] == 'u') {
                unsigned lo;
                jp->p += 2;
                if (jp_u4(jp, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) return jp_fail(jp, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            break;
        default: return jp_fail(jp, "unknown escape");
        }
        if (!jp_put_utf8(jp, &o, cp)) return jp_fail(jp, "line too long");
    }
    if (jp->p >= jp->end) return jp_fail(jp, "unterminated string");
    jp->p++;
    if (!jp_put(jp, &o, 0)) return jp_fail(jp, "line too long");
    jp->scratch = o;
    *out = start;
    return 0;
}

static int jp_int(struct jparse *jp, int64_t *v)
{
    jp_ws(jp);
    bool neg = jp->p < jp->end && *jp->p == '-';
    if (neg) jp->p++;
    if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') return jp_fail(jp, "expected a number");
    uint64_t x = 0;
    while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
        if (x > (UINT64_MAX - 9) / 10) return jp_fail(jp, "number too big");
        x = x * 10 + (uint64_t)(*jp->p++ - '0');
    }
    if (jp->p < jp->end && (*jp->p == '.' || *jp->p == 'e' || *jp->p == 'E'))
        return jp_fail(jp, "expected an integer");
    if (x > (uint64_t)INT64_MAX) return jp_fail(jp, "number too big");
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

static bool jp_word(struct jparse *jp, const char *w)
{
    size_t n = strlen(w);
    jp_ws(jp);
    if ((size_t)(jp->end - jp->p) >= n && memcmp(jp->p, w, n) == 0) {
        jp->p += n;
        return true;
    }
    return false;
}

static int jp_bool(struct jparse *jp, bool *b)
{
    if (jp_word(jp, "true")) *b = true;
    else if (jp_word(jp, "false")) *b = false;
    else return jp_fail(jp, "expected true or false");
    return 0;
}

/* Skips any value (unknown keys). */
static int jp_skip(struct jparse *jp, int depth)
{
    if (depth > 16) return jp_fail(jp, "nested too deep");
    jp_ws(jp);
    if (jp->p >= jp->end) return jp_fail(jp, "expected a value");
    char c = *jp->p;
    if (c == '"') {
        const char *s;
        char *mark = jp->scratch;
        int rc = jp_string(jp, &s);
        jp->scratch = mark;
        return rc;
    }
    if (c == '[' || c == '{') {
        char close = c == '[' ? ']' : '}';
        jp->p++;
        if (jp_eat(jp, close)) return 0;
        do {
            if (c == '{') {
                const char *k;
                char *mark = jp->scratch;
                if (jp_string(jp, &k) < 0 || !jp_eat(jp, ':')) return jp_fail(jp, "bad object");
                jp->scratch = mark;
            }
            if (jp_skip(jp, depth + 1) < 0) return BF_EJSON;
        } while (jp_eat(jp, ','));
        return jp_eat(jp, close) ? 0 : jp_fail(jp, "unterminated array or object");
    }
    if (jp_word(jp, "true") || jp_word(jp, "false") || jp_word(jp, "null")) return 0;
    if (c == '-' || (c >= '0' && c <= '9')) {
        jp->p++;
        while (jp->p < jp->end && strchr("0123456789.eE+-", *jp->p)) jp->p++;
        return 0;
    }
    return jp_fail(jp, "unexpected character");
}

static int jp_grid(struct jparse *jp, struct journal_entry *e)
{
    if (!jp_eat(jp, '[')) return jp_fail(jp, "out: expected an array");
    int h = 0, w = -1;
    if (!jp_eat(jp, ']')) {
        do {
            if (!jp_eat(jp, '[')) return jp_fail(jp, "out: expected a row");
            int k = 0;
            if (!jp_eat(jp, ']')) {
                do {
                    int64_t v;
                    if (jp_int(jp, &v) < 0 || v < 0 || v > 9) return jp_fail(jp, "out: bad cell");
                    if (h >= JOURNAL_MAX_SIDE || k >= JOURNAL_MAX_SIDE) return jp_fail(jp, "out: grid too big");
                    jp->cells[h * JOURNAL_MAX_SIDE + k++] = (uint8_t)v;
                } while (jp_eat(jp, ','));
                if (!jp_eat(jp, ']')) return jp_fail(jp, "out: unterminated row");
            }
            if (w >= 0 && k != w) return jp_fail(jp, "out: ragged rows");
            w = k;
            h++;
        } while (jp_eat(jp, ','));
        if (!jp_eat(jp, ']')) return jp_fail(jp, "out: unterminated grid");
    }
    if (h == 0 || w <= 0) return 0; /* empty: no grid */
    /* compact the rows */
    for (int i = 1; i < h; i++) memmove(jp->cells + i * w, jp->cells + i * JOURNAL_MAX_SIDE, (size_t)w);
    e->has_grid = true;
    e->out_h = (uint16_t)h;
    e->out_w = (uint16_t)w;
    e->out_cells = jp->cells;
    return 0;
}

static int jp_field(struct jparse *jp, const char *key, struct journal_entry *e)
{
    const char **str = NULL;
    if (!strcmp(key, "task")) str = &e->task;
    else if (!strcmp(key, "sample")) str = &e->sample;
    else if (!strcmp(key, "cand")) str = &e->cand;
    else if (!strcmp(key, "name")) str = &e->name;
    else if (!strcmp(key, "file")) str = &e->file;
    else if (!strcmp(key, "host")) str = &e->host;
    else if (!strcmp(key, "msg")) str = &e->msg;
    if (str) return jp_string(jp, str);
    if (!strcmp(key, "status")) {
        const char *s;
        if (jp_string(jp, &s) < 0) return BF_EJSON;
        int st = bf_status_parse(s);
        if (st < 0) return jp_fail(jp, "unknown status");
        e->status = (enum bf_status)st;
        return 0;
    }
    if (!strcmp(key, "match")) return jp_bool(jp, &e->match);
    if (!strcmp(key, "shape")) return jp_bool(jp, &e->shape);
    if (!strcmp(key, "out")) return jp_grid(jp, e);
    if (!strcmp(key, "ohash")) {
        const char *hex;
        char *end;
        if (jp_string(jp, &hex) < 0) return BF_EJSON;
        e->out_hash = strtoull(hex, &end, 16);
        if (*end || end == hex) return jp_fail(jp, "bad ohash");
        return 0;
    }
    int64_t v;
    int64_t lo = 0, hi = UINT32_MAX;
    void *dst = NULL;
    int kind = 0; /* 1: u32, 2: u64, 3: int */
    if (!strcmp(key, "right")) { dst = &e->right; kind = 1; }
    else if (!strcmp(key, "total")) { dst = &e->total; kind = 1; }
    else if (!strcmp(key, "cpu_us")) { dst = &e->cpu_us; kind = 2; hi = INT64_MAX; }
    else if (!strcmp(key, "wall_us")) { dst = &e->wall_us; kind = 2; hi = INT64_MAX; }
    else if (!strcmp(key, "slot")) { dst = &e->slot; kind = 3; lo = -1; hi = 1 << 20; }
    else if (!strcmp(key, "attempt")) { dst = &e->attempt; kind = 3; hi = 1 << 20; }
    else if (!strcmp(key, "signal")) { dst = &e->signal; kind = 3; hi = 1 << 10; }
    if (!dst) return jp_skip(jp, 0);
    if (jp_int(jp, &v) < 0) return BF_EJSON;
    if (v < lo || v > hi) return jp_fail(jp, "number out of range");
    if (kind == 1) *(uint32_t *)dst = (uint32_t)v;
    else if (kind == 2) *(uint64_t *)dst = (uint64_t)v;
    else *(int *)dst = (int)v;
    return 0;
}

int journal_parse_line(const char *line, size_t n, struct journal_entry *e, char *scratch, size_t scratch_len,
                       char *err, size_t errlen)
{
    static uint8_t cells[JOURNAL_MAX_SIDE * JOURNAL_MAX_SIDE];
    struct jparse jp = { line, line + n, scratch, scratch + scratch_len, err, errlen, cells };
    memset(e, 0, sizeof *e);
    e->status = ST_COUNT;
    e->msg = "";
    e->host = "local";
    e->name = e->file = "";
    if (!jp_eat(&jp, '{')) return jp_fail(&jp, "not a JSON object");
    if (!jp_eat(&jp, '}')) {
        do {
            const char *key;
            char *mark = jp.scratch;
            char keybuf[32];
            if (jp_string(&jp, &key) < 0) return BF_EJSON;
            snprintf(keybuf, sizeof keybuf, "%s", key);
            jp.scratch = mark;
            if (!jp_eat(&jp, ':')) return jp_fail(&jp, "expected ':'");
            if (jp_field(&jp, keybuf, e) < 0) return BF_EJSON;
        } while (jp_eat(&jp, ','));
        if (!jp_eat(&jp, '}')) return jp_fail(&jp, "expected ',' or '}'");
    }
    jp_ws(&jp);
    if (jp.p != jp.end) return jp_fail(&jp, "text after the object");
    if (!e->task || !e->sample || !e->cand || e->status == ST_COUNT)
        return jp_fail(&jp, "missing task, sample, cand or status");
    return 0;
}

int journal_read(const char *path, bool missing_ok, journal_fn fn, void *ctx, struct journal_read_info *info)
{
    memset(info, 0, sizeof *info);
    FILE *fp = fopen(path, "re");
    if (!fp) {
        if (errno == ENOENT && missing_ok) return 0;
        return log_fail(-errno, "cannot read %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0, scratch_cap = 0;
    char *scratch = NULL;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] != '\n') { /* torn: the writer died mid-line */
            info->torn_tail = true;
            break;
        }
        info->lines++;
        info->valid_len += n;
        if ((size_t)n + 1 > scratch_cap) {
            free(scratch);
            scratch_cap = (size_t)n + 64;
            scratch = malloc(scratch_cap);
            if (!scratch) {
                rc = BF_ENOMEM;
                break;
            }
        }
        struct journal_entry e;
        char err[80];
        if (journal_parse_line(line, (size_t)n - 1, &e, scratch, scratch_cap, err, sizeof err) < 0) {
            info->malformed++;
            log_warn("%s:%llu: skipping a malformed record: %s", path, (unsigned long long)info->lines, err);
            continue;
        }
        info->records++;
        if (fn && (rc = fn(ctx, &e, info->lines)) < 0) break;
    }
    if (rc == 0 && ferror(fp)) rc = log_fail(-EIO, "cannot read %s: %s", path, strerror(EIO));
    free(line);
    free(scratch);
    fclose(fp);
    return rc;
}
