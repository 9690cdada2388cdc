/* program.c: candidate programs as syntax: the parser of arc-dsl solver files, the static check,
 * the canonical hash and the canonical text (the DAG is in dag.c).
 *
 * Parser. One pass over the text with a small tokenizer (identifiers, parens, commas, '=', ':',
 * strings, numbers, newlines; comments and whitespace skipped; newlines inside parentheses and
 * after a backslash join lines as in Python). Each top-level `def` becomes a struct program; the
 * first error of a definition is printed as "path:line:col: reason" (col 1-based, in bytes) and
 * parsing resumes at the next line that starts with `def`. Variables are resolved while parsing
 * through a hash table keyed by the name's bytes in the text (no copies), cleared per definition
 * by bumping a generation number, so a definition costs a few allocations, not one per token.
 *
 * Canonical hash. Leaves hash by kind and name (stable across table reorderings), calls by
 * their callee, argument count and arguments in order; each step absorbs one 64-bit word through
 * the splitmix64 finaliser (Steele, Lea, Flood 2014; the constants of Vigna's splitmix64.c), a
 * bijective mixer with full avalanche. Computed bottom-up over the lines, so sharing costs nothing
 * and the expression is never expanded. */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mix.h"
#include "primtab.h"
#include "program.h"
#include "program_int.h"

#define PROG_MAX_NODES (1u << 24)      /* lines per definition */
#define PROG_NAME_SHOWN 48             /* longest name quoted in a message */

/* ------------------------------------------------------------------ memory */

void *program_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (BF_UNLIKELY(!q)) {
        fprintf(stderr, "battfarm: out of memory (%zu bytes) in the program parser\n", size);
        abort();
    }
    return q;
}

static char *program_strndup(const char *s, size_t len)
{
    char *d = program_xrealloc(NULL, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* ------------------------------------------------------------------ tokens */

enum tok_kind {
    TOK_EOF,
    TOK_NEWLINE,
    TOK_IDENT,
    TOK_NUMBER,
    TOK_STRING,
    TOK_BADSTRING, /* unterminated string */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_COLON,
    TOK_EQ,
    TOK_OTHER,     /* any other character or operator */
};

struct token {
    enum tok_kind kind;
    size_t start, len;
    uint32_t line, col;
};

struct cursor {
    size_t pos;
    size_t line_start; /* offset of the first byte of the current line */
    uint32_t line;
    uint32_t depth;    /* open parentheses: newlines inside are whitespace */
    bool joined;       /* a newline was skipped inside parentheses */
};

struct sym {
    const char *name; /* points into the text */
    uint32_t len;
    uint32_t gen;     /* definition that set it; other generations count as empty */
    uint32_t node;
};

struct parser {
    const char *path;
    const char *text;
    size_t len;
    FILE *errs;
    struct program_file *pf;
    struct cursor cur;
    bool failed;       /* the current definition has an error */
    /* the definition being parsed */
    bool sig_sic;
    struct pnode *nodes;
    uint32_t *lines;
    uint32_t n, cap;
    struct sym *syms;
    uint32_t sym_mask, sym_count, gen;
};

static const char *const python_keywords[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield",
};

static bool ident_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

static bool inline_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool tok_is(const struct parser *P, const struct token *t, const char *word)
{
    size_t n = strlen(word);
    return t->kind == TOK_IDENT && t->len == n && memcmp(P->text + t->start, word, n) == 0;
}

static bool tok_is_keyword(const struct parser *P, const struct token *t)
{
    if (t->kind != TOK_IDENT || t->len < 2 || t->len > 8 || !strchr("FNTabcdefgilnorwy", P->text[t->start]))
        return false; /* quick answer for x1, O, fill... */
    for (size_t i = 0; i < BF_ARRAY_LEN(python_keywords); i++)
        if (tok_is(P, t, python_keywords[i]))
            return true;
    return false;
}

static int tok_shown_len(const struct token *t)
{
    return (int)(t->len < PROG_NAME_SHOWN ? t->len : PROG_NAME_SHOWN);
}

static void cursor_newline(struct parser *P)
{
    P->cur.line++;
    P->cur.line_start = P->cur.pos;
}

/* A string starting at pos (after any prefix letters): ', ", ''' or """, with backslash escapes. */
static enum tok_kind scan_string(struct parser *P)
{
    const char *s = P->text;
    char q = s[P->cur.pos];
    bool triple = P->cur.pos + 2 < P->len && s[P->cur.pos + 1] == q && s[P->cur.pos + 2] == q;
    P->cur.pos += triple ? 3 : 1;
    while (P->cur.pos < P->len) {
        char c = s[P->cur.pos];
        if (c == '\\') {
            P->cur.pos++;
            if (P->cur.pos < P->len) {
                P->cur.pos++;
                if (s[P->cur.pos - 1] == '\n')
                    cursor_newline(P);
            }
        } else if (c == '\n') {
            if (!triple)
                return TOK_BADSTRING;
            P->cur.pos++;
            cursor_newline(P);
        } else if (c != q) {
            P->cur.pos++;
        } else if (!triple) {
            P->cur.pos++;
            return TOK_STRING;
        } else if (P->cur.pos + 2 < P->len && s[P->cur.pos + 1] == q && s[P->cur.pos + 2] == q) {
            P->cur.pos += 3;
            return TOK_STRING;
        } else {
            P->cur.pos++;
        }
    }
    return TOK_BADSTRING;
}

static bool string_prefix(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr("rRbBuUfF", s[i]))
            return false;
    return len <= 2;
}

static enum tok_kind scan_word(struct parser *P)
{
    const char *s = P->text;
    size_t start = P->cur.pos;
    while (P->cur.pos < P->len && ident_char((unsigned char)s[P->cur.pos]))
        P->cur.pos++;
    if (P->cur.pos < P->len && (s[P->cur.pos] == '"' || s[P->cur.pos] == '\'')
        && string_prefix(s + start, P->cur.pos - start))
        return scan_string(P);
    return TOK_IDENT;
}

static enum tok_kind scan_punct(struct parser *P, unsigned char c)
{
    P->cur.pos++;
    switch (c) {
    case '(':
        P->cur.depth++;
        return TOK_LPAREN;
    case ')':
        if (P->cur.depth > 0)
            P->cur.depth--;
        return TOK_RPAREN;
    case ',':
        return TOK_COMMA;
    case ':':
        return TOK_COLON;
    case '=':
        if (P->cur.pos < P->len && P->text[P->cur.pos] == '=') {
            P->cur.pos++;
            return TOK_OTHER;
        }
        return TOK_EQ;
    default:
        return TOK_OTHER;
    }
}

/* Skips a backslash-newline at pos; false when the backslash is not followed by a line end. */
static bool skip_line_join(struct parser *P)
{
    size_t q = P->cur.pos + 1;
    if (q < P->len && P->text[q] == '\r')
        q++;
    if (q >= P->len || P->text[q] != '\n')
        return false;
    P->cur.pos = q + 1;
    cursor_newline(P);
    return true;
}

static void next_token(struct parser *P, struct token *t)
{
    const char *s = P->text;
    for (;;) {
        size_t p = P->cur.pos;
        t->start = p;
        t->line = P->cur.line;
        t->col = (uint32_t)(p - P->cur.line_start + 1);
        if (p >= P->len) {
            t->kind = TOK_EOF;
            t->len = 0;
            return;
        }
        unsigned char c = (unsigned char)s[p];
        if (inline_space(c)) {
            P->cur.pos++;
            continue;
        }
        if (c == '#') {
            while (P->cur.pos < P->len && s[P->cur.pos] != '\n')
                P->cur.pos++;
            continue;
        }
        if (c == '\\' && skip_line_join(P))
            continue;
        if (c == '\n') {
            P->cur.pos++;
            cursor_newline(P);
            if (P->cur.depth > 0) {
                P->cur.joined = true;
                continue;
            }
            t->kind = TOK_NEWLINE;
            t->len = 1;
            return;
        }
        if (ident_start(c))
            t->kind = scan_word(P);
        else if (c >= '0' && c <= '9') {
            while (P->cur.pos < P->len && (ident_char((unsigned char)s[P->cur.pos]) || s[P->cur.pos] == '.'))
                P->cur.pos++;
            t->kind = TOK_NUMBER;
        } else if (c == '"' || c == '\'')
            t->kind = scan_string(P);
        else
            t->kind = scan_punct(P, c);
        t->len = P->cur.pos - p;
        return;
    }
}

static void peek_token(struct parser *P, struct token *t)
{
    struct cursor saved = P->cur;
    next_token(P, t);
    P->cur = saved;
}

/* ------------------------------------------------------------------ errors */

static bool parse_fail(struct parser *P, uint32_t line, uint32_t col, const char *fmt, ...) BF_PRINTF(4, 5);

static bool parse_fail(struct parser *P, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (P->failed)
        return false;
    P->failed = true;
    if (P->errs) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        fprintf(P->errs, "%s:%u:%u: %s\n", P->path, line, col, msg);
    }
    return false;
}

/* "unexpected 'x'" for a token that has no better message. */
static bool fail_unexpected(struct parser *P, const struct token *t, const char *where)
{
    unsigned char c = t->len ? (unsigned char)P->text[t->start] : 0;
    switch (t->kind) {
    case TOK_EOF:
        return parse_fail(P, t->line, t->col, "unexpected end of file%s", where);
    case TOK_NEWLINE:
        return parse_fail(P, t->line, t->col, "unexpected end of line%s", where);
    case TOK_NUMBER:
    case TOK_STRING:
        return parse_fail(P, t->line, t->col, "literals are not supported");
    case TOK_BADSTRING:
        return parse_fail(P, t->line, t->col, "unterminated string");
    default:
        break;
    }
    if (c == '-' && t->start + 1 < P->len && P->text[t->start + 1] >= '0' && P->text[t->start + 1] <= '9')
        return parse_fail(P, t->line, t->col, "literals are not supported");
    if (c < 0x20 || c >= 0x7f)
        return parse_fail(P, t->line, t->col, "unexpected character '\\x%02x'%s", c, where);
    return parse_fail(P, t->line, t->col, "unexpected '%.*s'%s", tok_shown_len(t), P->text + t->start, where);
}

/* ------------------------------------------------------------------ variables */

static uint32_t name_hash32(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static struct sym *sym_slot(struct parser *P, const char *name, size_t len)
{
    uint32_t i = name_hash32(name, len) & P->sym_mask;
    for (;; i = (i + 1) & P->sym_mask) {
        struct sym *e = &P->syms[i];
        if (e->gen != P->gen || (e->len == len && memcmp(e->name, name, len) == 0))
            return e;
    }
}

static void sym_grow(struct parser *P)
{
    struct sym *old = P->syms;
    uint32_t old_size = P->sym_mask + 1;
    uint32_t size = old ? old_size * 2 : 64;
    P->syms = program_xrealloc(NULL, (size_t)size * sizeof *P->syms);
    memset(P->syms, 0, (size_t)size * sizeof *P->syms);
    P->sym_mask = size - 1;
    if (!old)
        return;
    for (uint32_t i = 0; i < old_size; i++)
        if (old[i].gen == P->gen)
            *sym_slot(P, old[i].name, old[i].len) = old[i];
    free(old);
}

static void sym_set(struct parser *P, const char *name, size_t len, uint32_t node)
{
    if ((P->sym_count + 1) * 2 > P->sym_mask + 1)
        sym_grow(P);
    struct sym *e = sym_slot(P, name, len);
    if (e->gen != P->gen) {
        e->gen = P->gen;
        e->name = name;
        e->len = (uint32_t)len;
        P->sym_count++;
    }
    e->node = node;
}

static const struct sym *sym_get(struct parser *P, const char *name, size_t len)
{
    const struct sym *e = sym_slot(P, name, len);
    return e->gen == P->gen ? e : NULL;
}

static void sym_clear(struct parser *P)
{
    P->sym_count = 0;
    if (++P->gen == 0) { /* wrapped: really clear the table once */
        memset(P->syms, 0, (size_t)(P->sym_mask + 1) * sizeof *P->syms);
        P->gen = 1;
    }
}

/* ------------------------------------------------------------------ lines */

static size_t line_indent(const struct parser *P)
{
    size_t i = P->cur.pos;
    while (i < P->len && (P->text[i] == ' ' || P->text[i] == '\t' || P->text[i] == '\f'))
        i++;
    return i - P->cur.pos;
}

/* True when the line at the cursor holds only whitespace and perhaps a comment. */
static bool line_is_blank(const struct parser *P)
{
    size_t i = P->cur.pos;
    while (i < P->len && inline_space((unsigned char)P->text[i]))
        i++;
    return i >= P->len || P->text[i] == '\n' || P->text[i] == '#';
}

static void skip_line(struct parser *P)
{
    const char *nl = memchr(P->text + P->cur.pos, '\n', P->len - P->cur.pos);
    P->cur.pos = nl ? (size_t)(nl - P->text) + 1 : P->len;
    if (nl)
        cursor_newline(P);
}

static bool line_starts_def(const struct parser *P, size_t at)
{
    return at + 4 <= P->len && memcmp(P->text + at, "def", 3) == 0
        && (P->text[at + 3] == ' ' || P->text[at + 3] == '\t');
}

/* After an error: go to the next line that starts with `def` (from the cursor's line, which may
 * itself be one, unless it is the failed definition's own line at skip_at). */
static void recover(struct parser *P, size_t skip_at)
{
    P->cur.pos = P->cur.line_start;
    P->cur.depth = 0;
    while (P->cur.pos < P->len) {
        if (P->cur.pos != skip_at && line_starts_def(P, P->cur.pos))
            return;
        skip_line(P);
    }
}

/* Is `name = ...` assigned on this line or a later line of the current body? (error path only) */
static bool assigned_later(const struct parser *P, size_t from, const char *name, size_t len)
{
    size_t i = from;
    while (i < P->len) {
        size_t j = i;
        while (j < P->len && (P->text[j] == ' ' || P->text[j] == '\t' || P->text[j] == '\f'))
            j++;
        bool blank = j >= P->len || P->text[j] == '\n' || P->text[j] == '\r' || P->text[j] == '#';
        if (j == i && !blank && i != from)
            return false; /* end of the definition */
        if (j + len <= P->len && memcmp(P->text + j, name, len) == 0
            && (j + len == P->len || !ident_char((unsigned char)P->text[j + len]))) {
            size_t k = j + len;
            while (k < P->len && inline_space((unsigned char)P->text[k]))
                k++;
            if (k < P->len && P->text[k] == '=' && (k + 1 == P->len || P->text[k + 1] != '='))
                return true;
        }
        const char *nl = memchr(P->text + j, '\n', P->len - j);
        if (!nl)
            return false;
        i = (size_t)(nl - P->text) + 1;
    }
    return false;
}

/* ------------------------------------------------------------------ statements */

/* Resolves a name used as a value or a callee. stmt_start: the statement's line, for the
 * "used before assignment" diagnosis. */
static bool resolve_name(struct parser *P, const struct token *t, size_t stmt_start, struct ref *r)
{
    const char *name = P->text + t->start;
    int id;
    const struct sym *v = sym_get(P, name, t->len);
    if (v) {
        *r = (struct ref){ REF_NODE, v->node };
        return true;
    }
    if ((id = prim_lookup(name, t->len)) >= 0) {
        *r = (struct ref){ REF_PRIM, (uint32_t)id };
        return true;
    }
    if ((id = const_lookup(name, t->len)) >= 0) {
        *r = (struct ref){ REF_CONST, (uint32_t)id };
        return true;
    }
    if (t->len == 1 && (name[0] == 'I' || (P->sig_sic && (name[0] == 'S' || name[0] == 'C')))) {
        *r = (struct ref){ (uint8_t)(name[0] == 'I' ? REF_I : name[0] == 'S' ? REF_S : REF_C), 0 };
        return true;
    }
    if (tok_is_keyword(P, t))
        return parse_fail(P, t->line, t->col, "'%.*s' is not supported", tok_shown_len(t), name);
    if (assigned_later(P, stmt_start, name, t->len))
        return parse_fail(P, t->line, t->col, "'%.*s' used before assignment", tok_shown_len(t), name);
    return parse_fail(P, t->line, t->col, "unknown name '%.*s'", tok_shown_len(t), name);
}

/* A value where a name is expected (argument or return value). */
static bool parse_value(struct parser *P, const struct token *t, size_t stmt_start, struct ref *r)
{
    if (t->kind == TOK_LPAREN)
        return parse_fail(P, t->line, t->col, "parenthesized expressions are not supported");
    if (t->kind != TOK_IDENT)
        return fail_unexpected(P, t, "");
    return resolve_name(P, t, stmt_start, r);
}

static bool end_of_statement(struct parser *P, const char *after)
{
    struct token t;
    next_token(P, &t);
    if (t.kind == TOK_NEWLINE || t.kind == TOK_EOF)
        return true;
    return fail_unexpected(P, &t, after);
}

static bool parse_args(struct parser *P, const struct token *callee, const struct token *lparen,
                       size_t stmt_start, struct pnode *nd)
{
    struct token t;
    P->cur.joined = false;
    for (;;) {
        next_token(P, &t);
        if (t.kind == TOK_RPAREN) {
            if (nd->nargs == 0)
                return parse_fail(P, callee->line, callee->col, "call with no arguments");
            return true;
        }
        if (t.kind == TOK_EOF)
            return parse_fail(P, lparen->line, lparen->col, "unterminated paren");
        if (t.kind == TOK_IDENT) {
            struct token after;
            peek_token(P, &after);
            if (P->cur.joined && (tok_is_keyword(P, &t) || after.kind == TOK_EQ))
                return parse_fail(P, lparen->line, lparen->col, "unterminated paren");
            if (after.kind == TOK_LPAREN)
                return parse_fail(P, t.line, t.col, "nested calls are not supported");
            if (after.kind == TOK_EQ)
                return parse_fail(P, t.line, t.col, "keyword arguments are not supported");
            if (nd->nargs == PROG_MAX_ARGS)
                return parse_fail(P, t.line, t.col, "more than %d arguments", PROG_MAX_ARGS);
        }
        if (!parse_value(P, &t, stmt_start, &nd->arg[nd->nargs]))
            return false;
        nd->nargs++;
        next_token(P, &t);
        if (t.kind == TOK_RPAREN)
            return true;
        if (t.kind == TOK_COMMA)
            continue;
        if (t.kind == TOK_EOF || P->cur.joined)
            return parse_fail(P, lparen->line, lparen->col, "unterminated paren");
        return fail_unexpected(P, &t, ", expected ',' or ')'");
    }
}

static bool check_target(struct parser *P, const struct token *t)
{
    const char *name = P->text + t->start;
    int n = tok_shown_len(t);
    if (prim_lookup(name, t->len) >= 0)
        return parse_fail(P, t->line, t->col, "cannot assign to primitive '%.*s'", n, name);
    if (const_lookup(name, t->len) >= 0)
        return parse_fail(P, t->line, t->col, "cannot assign to constant '%.*s'", n, name);
    if (t->len == 1 && (name[0] == 'I' || name[0] == 'S' || name[0] == 'C'))
        return parse_fail(P, t->line, t->col, "cannot assign to '%c'", name[0]);
    return true;
}

static void push_node(struct parser *P, const struct pnode *nd, uint32_t line)
{
    if (P->n == P->cap) {
        P->cap = P->cap ? P->cap * 2 : 64;
        P->nodes = program_xrealloc(P->nodes, (size_t)P->cap * sizeof *P->nodes);
        P->lines = program_xrealloc(P->lines, (size_t)P->cap * sizeof *P->lines);
    }
    P->nodes[P->n] = *nd;
    P->lines[P->n] = line;
    P->n++;
}

/* target = callee(arg, ...) */
static bool parse_assign(struct parser *P, const struct token *target, size_t stmt_start)
{
    struct token t, callee, lparen;
    next_token(P, &t);
    if (target->kind != TOK_IDENT || tok_is_keyword(P, target) || t.kind != TOK_EQ)
        return parse_fail(P, target->line, target->col, "only assignments and return are supported");
    if (!check_target(P, target))
        return false;
    next_token(P, &callee);
    if (callee.kind == TOK_NEWLINE || callee.kind == TOK_EOF || callee.kind == TOK_LPAREN)
        return parse_fail(P, callee.line, callee.col, "expected a call 'name(args)' after '='");
    if (callee.kind != TOK_IDENT)
        return fail_unexpected(P, &callee, "");
    next_token(P, &lparen);
    if (lparen.kind == TOK_NEWLINE || lparen.kind == TOK_EOF)
        return parse_fail(P, callee.line, callee.col, "expected a call 'name(args)' after '='");
    if (lparen.kind == TOK_EQ)
        return parse_fail(P, lparen.line, lparen.col, "chained assignment is not supported");
    struct pnode nd;
    memset(&nd, 0, sizeof nd);
    if (!resolve_name(P, &callee, stmt_start, &nd.callee))
        return false;
    if (lparen.kind != TOK_LPAREN)
        return fail_unexpected(P, &lparen, ", expected '('");
    if (!parse_args(P, &callee, &lparen, stmt_start, &nd))
        return false;
    peek_token(P, &t);
    if (t.kind == TOK_LPAREN)
        return parse_fail(P, t.line, t.col, "nested calls are not supported");
    if (!end_of_statement(P, " after the call"))
        return false;
    if (P->n >= PROG_MAX_NODES)
        return parse_fail(P, target->line, target->col, "more than %u lines in one definition", PROG_MAX_NODES);
    push_node(P, &nd, target->line);
    sym_set(P, P->text + target->start, target->len, P->n - 1);
    return true;
}

static bool parse_return(struct parser *P, const struct token *ret, size_t stmt_start, struct ref *out)
{
    struct token t, after;
    next_token(P, &t);
    if (t.kind == TOK_NEWLINE || t.kind == TOK_EOF)
        return parse_fail(P, ret->line, ret->col, "return without a value");
    if (!parse_value(P, &t, stmt_start, out))
        return false;
    peek_token(P, &after);
    if (after.kind == TOK_LPAREN)
        return parse_fail(P, t.line, t.col, "nested calls are not supported (return a variable)");
    return end_of_statement(P, " after the return value");
}

/* ------------------------------------------------------------------ definitions */

struct def_header {
    struct token def, name;
    size_t start; /* offset of the `def` line */
};

static bool parse_params(struct parser *P, const struct token *lparen)
{
    struct token t, params[3];
    int n = 0;
    P->cur.joined = false;
    for (;;) {
        next_token(P, &t);
        if (t.kind == TOK_RPAREN)
            break;
        if (t.kind != TOK_IDENT || n == 3)
            return parse_fail(P, t.line, t.col, "expected parameters (I) or (S, I, C)");
        params[n++] = t;
        next_token(P, &t);
        if (t.kind == TOK_RPAREN)
            break;
        if (t.kind == TOK_EOF || (t.kind != TOK_COMMA && P->cur.joined))
            return parse_fail(P, lparen->line, lparen->col, "unterminated paren");
        if (t.kind != TOK_COMMA)
            return parse_fail(P, t.line, t.col, "expected parameters (I) or (S, I, C)");
    }
    if (n == 1 && tok_is(P, &params[0], "I")) {
        P->sig_sic = false;
        return true;
    }
    if (n == 3 && tok_is(P, &params[0], "S") && tok_is(P, &params[1], "I") && tok_is(P, &params[2], "C")) {
        P->sig_sic = true;
        return true;
    }
    const struct token *at = n ? &params[0] : &t;
    return parse_fail(P, at->line, at->col, "expected parameters (I) or (S, I, C)");
}

static bool parse_def_header(struct parser *P, struct def_header *h)
{
    struct token t;
    next_token(P, &h->name);
    if (h->name.kind != TOK_IDENT || tok_is_keyword(P, &h->name))
        return parse_fail(P, h->name.line, h->name.col, "expected a function name after 'def'");
    next_token(P, &t);
    if (t.kind != TOK_LPAREN)
        return fail_unexpected(P, &t, ", expected '('");
    if (!parse_params(P, &t))
        return false;
    next_token(P, &t);
    if (t.kind != TOK_COLON)
        return fail_unexpected(P, &t, ", expected ':'");
    next_token(P, &t);
    if (t.kind != TOK_NEWLINE && t.kind != TOK_EOF)
        return fail_unexpected(P, &t, ", expected a new line after ':'");
    return true;
}

static bool check_indent(struct parser *P, size_t ind, size_t body_off, size_t body_len)
{
    const char *here = P->text + P->cur.pos;
    const char *body = P->text + body_off;
    uint32_t col = (uint32_t)(ind + 1);
    if (ind == body_len && memcmp(here, body, ind) == 0)
        return true;
    if (ind > body_len && memcmp(here, body, body_len) == 0)
        return parse_fail(P, P->cur.line, col, "bad indentation: unexpected indent");
    return parse_fail(P, P->cur.line, col, "bad indentation: does not match the first line of the body");
}

static void emit_program(struct parser *P, const struct def_header *h, size_t end, struct ref out)
{
    struct program_file *pf = P->pf;
    if (pf->n == pf->cap) {
        pf->cap = pf->cap ? pf->cap * 2 : 8;
        pf->progs = program_xrealloc(pf->progs, pf->cap * sizeof *pf->progs);
    }
    struct program *p = &pf->progs[pf->n++];
    memset(p, 0, sizeof *p);
    p->name = program_strndup(P->text + h->name.start, h->name.len);
    p->file = program_strndup(P->path, strlen(P->path));
    p->line = h->def.line;
    p->sig_sic = P->sig_sic;
    p->n = P->n;
    if (P->n) {
        p->nodes = program_xrealloc(NULL, (size_t)P->n * sizeof *p->nodes);
        p->node_line = program_xrealloc(NULL, (size_t)P->n * sizeof *p->node_line);
        memcpy(p->nodes, P->nodes, (size_t)P->n * sizeof *p->nodes);
        memcpy(p->node_line, P->lines, (size_t)P->n * sizeof *p->node_line);
    }
    p->out = out;
    p->source = program_strndup(P->text + h->start, end - h->start);
    if (p->n) {
        p->line_hash = program_xrealloc(NULL, (size_t)p->n * sizeof *p->line_hash);
        program_line_hashes(p, p->line_hash);
    }
}

/* The body: indented lines up to the first non-blank line at column 1 (or the end). */
static bool parse_body(struct parser *P, const struct def_header *h)
{
    size_t body_off = 0, body_len = 0, end = P->cur.pos;
    bool have_indent = false, returned = false, first = true;
    struct ref out = { REF_NONE, 0 };
    P->n = 0;
    sym_clear(P);
    while (P->cur.pos < P->len) {
        if (line_is_blank(P)) {
            skip_line(P);
            continue;
        }
        size_t ind = line_indent(P);
        if (ind == 0)
            break;
        if (!have_indent) {
            body_off = P->cur.pos;
            body_len = ind;
            have_indent = true;
        } else if (!check_indent(P, ind, body_off, body_len)) {
            return false;
        }
        size_t stmt_start = P->cur.pos;
        P->cur.pos += ind;
        struct token t;
        next_token(P, &t);
        if (returned)
            return parse_fail(P, t.line, t.col, "code after return");
        if (first && t.kind == TOK_STRING) { /* docstring */
            first = false;
            if (!end_of_statement(P, " after the docstring"))
                return false;
            continue;
        }
        first = false;
        if (tok_is(P, &t, "return")) {
            if (!parse_return(P, &t, stmt_start, &out))
                return false;
            returned = true;
        } else if (t.kind == TOK_BADSTRING) {
            return parse_fail(P, t.line, t.col, "unterminated string");
        } else if (!parse_assign(P, &t, stmt_start)) {
            return false;
        }
        end = P->cur.pos;
    }
    if (!returned)
        return parse_fail(P, h->def.line, h->def.col, "missing return in '%.*s'", tok_shown_len(&h->name),
                          P->text + h->name.start);
    emit_program(P, h, end, out);
    return true;
}

static bool parse_def(struct parser *P, const struct token *def_tok)
{
    struct def_header h;
    h.def = *def_tok;
    h.start = def_tok->start;
    return parse_def_header(P, &h) && parse_body(P, &h);
}

/* from x import y / import x: skipped to the end of the statement (parenthesised lists included). */
static void skip_statement(struct parser *P)
{
    struct token t;
    do
        next_token(P, &t);
    while (t.kind != TOK_NEWLINE && t.kind != TOK_EOF);
}

static void parse_top_statement(struct parser *P)
{
    struct token t;
    size_t line_at = P->cur.pos;
    next_token(P, &t);
    if (tok_is(P, &t, "def")) {
        parse_def(P, &t);
    } else if (tok_is(P, &t, "from") || tok_is(P, &t, "import")) {
        skip_statement(P);
    } else if (t.kind == TOK_STRING) {
        end_of_statement(P, " after the string");
    } else if (t.kind == TOK_BADSTRING) {
        parse_fail(P, t.line, t.col, "unterminated string");
    } else {
        parse_fail(P, t.line, t.col, "expected 'def' or an import at top level");
    }
    if (P->failed) {
        P->pf->n_errors++;
        recover(P, line_at);
        P->failed = false;
    }
}

int program_parse(struct program_file *pf, const char *path, const char *text, size_t len, FILE *errs)
{
    struct parser P;
    memset(&P, 0, sizeof P);
    P.path = path ? path : "<input>";
    P.text = text ? text : "";
    P.len = text ? len : 0;
    P.errs = errs;
    P.pf = pf;
    P.cur.line = 1;
    size_t before = pf->n;
    sym_grow(&P);
    if (P.len >= 3 && memcmp(P.text, "\xef\xbb\xbf", 3) == 0) /* UTF-8 byte order mark */
        P.cur.pos = P.cur.line_start = 3;
    while (P.cur.pos < P.len) {
        if (line_is_blank(&P)) {
            skip_line(&P);
            continue;
        }
        size_t ind = line_indent(&P);
        if (ind > 0) {
            parse_fail(&P, P.cur.line, (uint32_t)(ind + 1), "unexpected indent");
            pf->n_errors++;
            recover(&P, SIZE_MAX);
            P.failed = false;
            continue;
        }
        parse_top_statement(&P);
    }
    free(P.syms);
    free(P.nodes);
    free(P.lines);
    return (int)(pf->n - before);
}

int program_parse_file(struct program_file *pf, const char *path, FILE *errs)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (errs)
            fprintf(errs, "%s: cannot open: %s\n", path, strerror(-rc));
        return rc;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EINVAL;
    else if (st.st_size > PROGRAM_MAX_FILE)
        rc = BF_ETOOBIG;
    if (rc < 0) {
        if (errs && rc == BF_ETOOBIG)
            fprintf(errs, "%s: file is larger than the limit of %d MiB\n", path, PROGRAM_MAX_FILE >> 20);
        else if (errs && rc == -EINVAL)
            fprintf(errs, "%s: not a regular file\n", path);
        else if (errs)
            fprintf(errs, "%s: cannot stat: %s\n", path, strerror(-rc));
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = program_xrealloc(NULL, size + 1);
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : BF_ETRUNCATED;
            if (errs)
                fprintf(errs, "%s: read failed: %s\n", path, r < 0 ? strerror(-rc) : "file shrank");
            free(buf);
            close(fd);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    int n = program_parse(pf, path, buf, size, errs);
    free(buf);
    return n;
}

void program_file_release(struct program_file *pf)
{
    for (size_t i = 0; i < pf->n; i++) {
        struct program *p = &pf->progs[i];
        free(p->name);
        free(p->file);
        free(p->nodes);
        free(p->node_line);
        free(p->line_hash);
        free(p->source);
    }
    free(pf->progs);
    *pf = (struct program_file)PROGRAM_FILE_INIT;
}

/* ------------------------------------------------------------------ references */

/* A reference that can be followed: known table ids, and node ids below `limit` (so that no
 * hand-built or corrupted program can make a cycle). */
static bool ref_ok(struct ref r, uint32_t limit)
{
    switch (r.kind) {
    case REF_NODE:
        return r.id < limit;
    case REF_PRIM:
        return r.id < PRIM_COUNT;
    case REF_CONST:
        return r.id < CONST_COUNT;
    case REF_I:
    case REF_S:
    case REF_C:
        return true;
    default:
        return false;
    }
}

static const char *leaf_name(struct ref r)
{
    if (!ref_ok(r, 0))
        return "?";
    switch (r.kind) {
    case REF_PRIM:
        return prim_table[r.id].name;
    case REF_CONST:
        return const_table[r.id].name;
    case REF_I:
        return "I";
    case REF_S:
        return "S";
    default:
        return "C";
    }
}

/* ------------------------------------------------------------------ static check */

/* Column and name of node i's callee, found again in the source (error path only): the line is
 * `target = callee(...)`. Falls back to the first token of the line. */
static uint32_t callee_col(const struct program *p, uint32_t i, const char **name, size_t *name_len)
{
    *name = NULL;
    *name_len = 0;
    if (!p->source || !p->node_line || p->node_line[i] < p->line)
        return 1;
    const char *s = p->source;
    for (uint32_t l = p->line; l < p->node_line[i]; l++) {
        s = strchr(s, '\n');
        if (!s)
            return 1;
        s++;
    }
    const char *line = s, *q = s;
    while (*q == ' ' || *q == '\t' || *q == '\f')
        q++;
    const char *first = q;
    while (ident_char((unsigned char)*q))
        q++;
    while (inline_space((unsigned char)*q))
        q++;
    if (*q != '=')
        return (uint32_t)(first - line + 1);
    q++;
    while (inline_space((unsigned char)*q))
        q++;
    const char *c = q;
    while (ident_char((unsigned char)*q))
        q++;
    if (q == c)
        return (uint32_t)(first - line + 1);
    *name = c;
    *name_len = (size_t)(q - c);
    return (uint32_t)(c - line + 1);
}

static bool check_fail(struct program *p, uint32_t i, const char *fmt, ...) BF_PRINTF(3, 4);

static bool check_fail(struct program *p, uint32_t i, const char *fmt, ...)
{
    const char *name;
    size_t name_len;
    uint32_t line = p->line, col = 1;
    if (i < p->n) {
        col = callee_col(p, i, &name, &name_len);
        line = p->node_line ? p->node_line[i] : p->line;
    }
    char msg[sizeof p->why];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* truncation is acceptable: the file name and position come first */
    if (snprintf(p->why, sizeof p->why, "%s:%u:%u: %s", p->file ? p->file : "<input>", line, col, msg) < 0)
        p->why[0] = '\0';
    p->invalid = true;
    return false;
}

/* Number of parameters of a function value when known statically, else 0. */
static int value_arity(struct ref r, const int8_t *node_arity)
{
    if (r.kind == REF_PRIM)
        return prim_table[r.id].arity;
    if (r.kind == REF_NODE)
        return node_arity[r.id];
    return 0;
}

static bool const_is_one(struct ref r)
{
    const struct const_info *c = &const_table[r.id];
    return (c->kind == CK_INT || c->kind == CK_BOOL) && c->a == 1;
}

/* Arity of the function a call of a primitive returns (arc-dsl's closures), else 0. */
static int result_arity(const struct pnode *nd, const int8_t *node_arity)
{
    if (nd->callee.kind != REF_PRIM || nd->nargs != prim_table[nd->callee.id].arity)
        return 0;
    int a0 = value_arity(nd->arg[0], node_arity);
    switch (nd->callee.id) {
    case PRIM_compose:
    case PRIM_chain:
    case PRIM_fork:
    case PRIM_matcher:
        return 1;
    case PRIM_rbind:
    case PRIM_lbind: /* dispatch on co_argcount: 2 -> 1, 3 -> 2, anything else -> 3 */
        return a0 == 0 ? 0 : a0 == 2 ? 1 : a0 == 3 ? 2 : 3;
    case PRIM_power: /* power(f, 1) is f; any other n composes f, a function of one argument */
        if (nd->arg[1].kind == REF_CONST)
            return const_is_one(nd->arg[1]) ? a0 : 1;
        return a0 == 1 ? 1 : 0;
    case PRIM_identity:
        return a0;
    case PRIM_branch: {
        int a1 = value_arity(nd->arg[1], node_arity), a2 = value_arity(nd->arg[2], node_arity);
        return a1 == a2 ? a1 : 0;
    }
    default:
        return 0;
    }
}

static bool check_refs(struct program *p, uint32_t i)
{
    const struct pnode *nd = &p->nodes[i];
    if (nd->nargs == 0 || nd->nargs > PROG_MAX_ARGS)
        return check_fail(p, i, "call with %u arguments", (unsigned)nd->nargs);
    for (int a = -1; a < (int)nd->nargs; a++) {
        struct ref r = a < 0 ? nd->callee : nd->arg[a];
        if (!ref_ok(r, i))
            return check_fail(p, i, "bad reference");
        if (!p->sig_sic && (r.kind == REF_S || r.kind == REF_C))
            return check_fail(p, i, "'%s' is only defined with the (S, I, C) signature", leaf_name(r));
    }
    return true;
}

static bool check_call(struct program *p, uint32_t i, const int8_t *node_arity)
{
    const struct pnode *nd = &p->nodes[i];
    struct ref c = nd->callee;
    if (c.kind == REF_PRIM) {
        unsigned want = prim_table[c.id].arity;
        if (nd->nargs != want)
            return check_fail(p, i, "%s takes %u argument%s, %u given", prim_table[c.id].name, want,
                              want == 1 ? "" : "s", (unsigned)nd->nargs);
        return true;
    }
    if (c.kind != REF_NODE)
        return check_fail(p, i, "'%s' is not callable", leaf_name(c));
    int want = node_arity[c.id];
    if (want > 0 && want != nd->nargs) {
        const char *name;
        size_t len;
        callee_col(p, i, &name, &len);
        if (!name) {
            name = "function";
            len = 8;
        }
        return check_fail(p, i, "%.*s takes %d argument%s, %u given", (int)(len < PROG_NAME_SHOWN ? len : PROG_NAME_SHOWN),
                          name, want, want == 1 ? "" : "s", (unsigned)nd->nargs);
    }
    return true;
}

bool program_check(struct program *p)
{
    p->invalid = false;
    p->why[0] = '\0';
    if (!ref_ok(p->out, p->n) || (!p->sig_sic && (p->out.kind == REF_S || p->out.kind == REF_C)))
        return check_fail(p, UINT32_MAX, "bad return value");
    if (p->n == 0)
        return true;
    uint8_t *live = program_xrealloc(NULL, p->n);
    int8_t *arity = program_xrealloc(NULL, p->n);
    memset(live, 0, p->n);
    if (p->out.kind == REF_NODE && p->out.id < p->n)
        program_mark_live(p, live, p->out.id + 1);
    bool ok = true;
    for (uint32_t i = 0; i < p->n && ok; i++) {
        arity[i] = 0;
        if (!live[i])
            continue; /* dead lines are never evaluated and do not change the hash */
        ok = check_refs(p, i) && check_call(p, i, arity);
        if (ok)
            arity[i] = (int8_t)result_arity(&p->nodes[i], arity);
    }
    free(live);
    free(arity);
    return ok;
}

/* ------------------------------------------------------------------ hash */

static uint64_t absorb(uint64_t h, uint64_t v)
{
    return bf_mix64(h ^ bf_mix64(v + 0x9e3779b97f4a7c15ull));
}

static uint64_t name_hash64(const char *s)
{
    return bf_mix64(bf_fnv1a(BF_FNV_INIT, s, strlen(s))); /* FNV-1a 64, then mixed */
}

#define HASH_SEED_LEAF 0x626174746661726dull /* "battfarm" */
#define HASH_SEED_CALL 0x63616c6c6e6f6465ull /* "callnode" */

uint64_t program_leaf_hash(struct ref r)
{
    static uint64_t prim_h[PRIM_COUNT], const_h[CONST_COUNT];
    static bool ready;
    if (BF_UNLIKELY(!ready)) {
        for (int i = 0; i < PRIM_COUNT; i++)
            prim_h[i] = absorb(absorb(HASH_SEED_LEAF, 'P'), name_hash64(prim_table[i].name));
        for (int i = 0; i < CONST_COUNT; i++)
            const_h[i] = absorb(absorb(HASH_SEED_LEAF, 'K'), name_hash64(const_table[i].name));
        ready = true;
    }
    if (!ref_ok(r, 0))
        return absorb(HASH_SEED_LEAF, '?');
    switch (r.kind) {
    case REF_PRIM:
        return prim_h[r.id];
    case REF_CONST:
        return const_h[r.id];
    case REF_I:
        return absorb(HASH_SEED_LEAF, 'I');
    case REF_S:
        return absorb(HASH_SEED_LEAF, 'S');
    default:
        return absorb(HASH_SEED_LEAF, 'C');
    }
}

uint64_t program_call_hash(uint64_t callee, unsigned nargs, const uint64_t *args)
{
    uint64_t h = absorb(HASH_SEED_CALL, nargs);
    h = absorb(h, callee);
    for (unsigned i = 0; i < nargs; i++)
        h = absorb(h, args[i]);
    return h;
}

static uint64_t ref_hash_in(struct ref r, uint32_t limit, const uint64_t *node_hash)
{
    if (r.kind == REF_NODE)
        return r.id < limit ? node_hash[r.id] : program_leaf_hash((struct ref){ REF_NONE, 0 });
    return program_leaf_hash(r);
}

static uint64_t node_hash_in(const struct pnode *nd, uint32_t i, const uint64_t *node_hash)
{
    uint64_t args[PROG_MAX_ARGS];
    unsigned n = nd->nargs <= PROG_MAX_ARGS ? nd->nargs : PROG_MAX_ARGS;
    for (unsigned a = 0; a < n; a++)
        args[a] = ref_hash_in(nd->arg[a], i, node_hash);
    return program_call_hash(ref_hash_in(nd->callee, i, node_hash), n, args);
}

void program_mark_live(const struct program *p, uint8_t *live, uint32_t n)
{
    memset(live, 0, n);
    live[n - 1] = 1;
    for (uint32_t i = n; i-- > 0;) {
        if (!live[i])
            continue;
        const struct pnode *nd = &p->nodes[i];
        if (nd->callee.kind == REF_NODE && nd->callee.id < i)
            live[nd->callee.id] = 1;
        for (unsigned a = 0; a < nd->nargs && a < PROG_MAX_ARGS; a++)
            if (nd->arg[a].kind == REF_NODE && nd->arg[a].id < i)
                live[nd->arg[a].id] = 1;
    }
}

void program_repeats_init(struct program_repeats *r, uint32_t n_lines)
{
    uint32_t size = 16;
    while (size < 2 * (uint64_t)n_lines) size *= 2;
    r->key = program_xrealloc(NULL, (size_t)size * (sizeof *r->key + sizeof *r->count));
    r->count = (uint32_t *)(r->key + size);
    memset(r->key, 0, (size_t)size * sizeof *r->key);
    r->mask = size - 1;
}

uint32_t program_repeats_next(struct program_repeats *r, uint64_t base_hash)
{
    uint64_t key = base_hash | 1;
    uint32_t i = (uint32_t)(base_hash >> 7) & r->mask;
    while (r->key[i] && r->key[i] != key) i = (i + 1) & r->mask;
    if (!r->key[i]) {
        r->key[i] = key;
        r->count[i] = 0;
    }
    return r->count[i]++;
}

void program_repeats_release(struct program_repeats *r)
{
    free(r->key);
    r->key = NULL;
}

uint64_t program_repeat_hash(uint64_t base_hash, uint32_t k)
{
    return k ? absorb(absorb(base_hash, 0x5e9ea7ULL), k) : base_hash;
}

uint64_t program_hash(const struct program *p)
{
    if (p->out.kind != REF_NODE)
        return program_leaf_hash(p->out);
    if (p->out.id >= p->n)
        return program_leaf_hash((struct ref){ REF_NONE, 0 });
    uint32_t n = p->out.id + 1;
    uint64_t *h = program_xrealloc(NULL, (size_t)n * (sizeof *h + 1));
    uint8_t *live = (uint8_t *)(h + n);
    program_mark_live(p, live, n);
    struct program_repeats rep;
    program_repeats_init(&rep, n);
    for (uint32_t i = 0; i < n; i++) {
        h[i] = node_hash_in(&p->nodes[i], i, h);
        if (live[i]) h[i] = program_repeat_hash(h[i], program_repeats_next(&rep, h[i]));
    }
    uint64_t root = h[n - 1];
    program_repeats_release(&rep);
    free(h);
    return root;
}

/* ------------------------------------------------------------------ canonical text */

static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t ref_text_len(struct ref r, uint32_t limit, const size_t *node_len)
{
    if (r.kind == REF_NODE && r.id < limit)
        return node_len[r.id];
    return strlen(r.kind == REF_NODE ? "?" : leaf_name(r));
}

struct canon_out {
    char *buf;
    size_t room; /* bytes that may still be written before the terminating NUL */
    size_t pos;
};

static void canon_put(struct canon_out *o, const char *s)
{
    size_t n = strlen(s);
    if (n > o->room)
        n = o->room;
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
    o->room -= n;
}

struct canon_frame {
    struct ref r;
    uint32_t limit; /* node refs must be below this (the parent's index) */
    uint32_t step;  /* 0: callee next; k >= 1: k-1 arguments written */
};

/* Writes the expression of p->out depth-first with an explicit stack, stopping when buf is full. */
static void canon_write(const struct program *p, struct canon_out *o)
{
    struct canon_frame *st = program_xrealloc(NULL, ((size_t)p->n + 1) * sizeof *st);
    uint32_t sp = 0;
    st[sp++] = (struct canon_frame){ p->out, p->n, 0 };
    while (sp > 0 && o->room > 0) {
        struct canon_frame *f = &st[sp - 1];
        if (f->r.kind != REF_NODE || f->r.id >= f->limit) {
            canon_put(o, f->r.kind == REF_NODE ? "?" : leaf_name(f->r));
            sp--;
            continue;
        }
        const struct pnode *nd = &p->nodes[f->r.id];
        uint32_t nargs = nd->nargs <= PROG_MAX_ARGS ? nd->nargs : PROG_MAX_ARGS;
        uint32_t id = f->r.id;
        if (f->step == 0) {
            f->step = 1;
            st[sp++] = (struct canon_frame){ nd->callee, id, 0 };
        } else if (f->step - 1 < nargs) {
            canon_put(o, f->step == 1 ? "(" : ", ");
            st[sp++] = (struct canon_frame){ nd->arg[f->step - 1], id, 0 };
            f->step++;
        } else {
            canon_put(o, nargs == 0 ? "()" : ")");
            sp--;
        }
    }
    free(st);
}

size_t program_canonical(const struct program *p, char *buf, size_t len)
{
    size_t total;
    if (p->out.kind == REF_NODE && p->out.id < p->n) {
        uint32_t n = p->out.id + 1;
        size_t *node_len = program_xrealloc(NULL, (size_t)n * sizeof *node_len);
        for (uint32_t i = 0; i < n; i++) {
            const struct pnode *nd = &p->nodes[i];
            uint32_t nargs = nd->nargs <= PROG_MAX_ARGS ? nd->nargs : PROG_MAX_ARGS;
            size_t l = add_sat(ref_text_len(nd->callee, i, node_len), nargs ? 2 * nargs : 2);
            for (uint32_t a = 0; a < nargs; a++)
                l = add_sat(l, ref_text_len(nd->arg[a], i, node_len));
            node_len[i] = l;
        }
        total = node_len[n - 1];
        free(node_len);
    } else {
        total = ref_text_len(p->out, p->n, NULL);
    }
    if (len == 0)
        return total;
    struct canon_out o = { buf, len - 1, 0 };
    canon_write(p, &o);
    buf[o.pos] = '\0';
    return total;
}
