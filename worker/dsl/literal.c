/* literal.c: parses and evaluates the test expressions of literal.h (ints, True/False/None,
 * tuples, fs(...) frozensets, constants, primitive names and calls). */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "literal.h"

enum lit_kind { LIT_INT, LIT_BOOL, LIT_NONE, LIT_CONST, LIT_PRIM, LIT_TUPLE, LIT_FS, LIT_CALL };

struct lit_node {
    enum lit_kind kind;
    int64_t i;                /* LIT_INT/LIT_BOOL value, LIT_CONST/LIT_PRIM id */
    struct lit_node *callee;  /* LIT_CALL */
    uint32_t n;               /* items or arguments */
    struct lit_node **sub;
};

struct lit_parser {
    const char *text, *p;
    char *err;
    size_t errlen;
    bool failed;
};

static void lit_fail(struct lit_parser *ps, const char *fmt, ...) BF_PRINTF(2, 3);
static void lit_fail(struct lit_parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    int n = snprintf(ps->err, ps->errlen, "col %d: ", (int)(ps->p - ps->text) + 1);
    if (n < 0 || (size_t)n >= ps->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static struct lit_node *lit_new(enum lit_kind kind)
{
    struct lit_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        abort();
    n->kind = kind;
    return n;
}

static void lit_push(struct lit_node *n, struct lit_node *child)
{
    struct lit_node **sub = realloc(n->sub, (n->n + 1) * sizeof(*sub));
    if (sub == NULL)
        abort();
    n->sub = sub;
    n->sub[n->n++] = child;
}

void lit_free(struct lit_node *n)
{
    if (n == NULL)
        return;
    for (uint32_t i = 0; i < n->n; i++)
        lit_free(n->sub[i]);
    lit_free(n->callee);
    free(n->sub);
    free(n);
}

static void lit_skip_blanks(struct lit_parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static bool lit_accept(struct lit_parser *ps, char c)
{
    lit_skip_blanks(ps);
    if (*ps->p != c)
        return false;
    ps->p++;
    return true;
}

static struct lit_node *lit_expr(struct lit_parser *ps);

/* Items up to the closing parenthesis (the '(' was consumed); sets *trailing_comma. */
static void lit_items(struct lit_parser *ps, struct lit_node *into, bool *comma_seen)
{
    *comma_seen = false;
    if (lit_accept(ps, ')'))
        return;
    for (;;) {
        struct lit_node *item = lit_expr(ps);
        if (item == NULL)
            return;
        lit_push(into, item);
        if (lit_accept(ps, ')'))
            return;
        if (!lit_accept(ps, ',')) {
            lit_fail(ps, "expected ',' or ')'");
            return;
        }
        *comma_seen = true;
        if (lit_accept(ps, ')'))
            return;
    }
}

static struct lit_node *lit_int(struct lit_parser *ps)
{
    errno = 0;
    char *end;
    long long v = strtoll(ps->p, &end, 10);
    if (errno != 0) {
        lit_fail(ps, "integer out of range");
        return NULL;
    }
    ps->p = end;
    struct lit_node *n = lit_new(LIT_INT);
    n->i = v;
    return n;
}

static struct lit_node *lit_name(struct lit_parser *ps)
{
    const char *start = ps->p;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
        ps->p++;
    size_t len = (size_t)(ps->p - start);
    struct lit_node *n;
    int id;
    if (len == 4 && memcmp(start, "True", 4) == 0) {
        n = lit_new(LIT_BOOL);
        n->i = 1;
    } else if (len == 5 && memcmp(start, "False", 5) == 0) {
        n = lit_new(LIT_BOOL);
    } else if (len == 4 && memcmp(start, "None", 4) == 0) {
        n = lit_new(LIT_NONE);
    } else if (len == 2 && memcmp(start, "fs", 2) == 0) {
        if (!lit_accept(ps, '(')) {
            lit_fail(ps, "fs must be called: fs(a, b, ...)");
            return NULL;
        }
        bool comma;
        n = lit_new(LIT_FS);
        lit_items(ps, n, &comma);
    } else if ((id = const_lookup(start, len)) >= 0) {
        n = lit_new(LIT_CONST);
        n->i = id;
    } else if ((id = prim_lookup(start, len)) >= 0) {
        n = lit_new(LIT_PRIM);
        n->i = id;
    } else {
        ps->p = start;
        lit_fail(ps, "unknown name '%.*s'", (int)len, start);
        return NULL;
    }
    return n;
}

static struct lit_node *lit_atom(struct lit_parser *ps)
{
    lit_skip_blanks(ps);
    char c = *ps->p;
    if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)ps->p[1])))
        return lit_int(ps);
    if (isalpha((unsigned char)c) || c == '_')
        return lit_name(ps);
    if (c == '(') {
        ps->p++;
        bool comma;
        struct lit_node *t = lit_new(LIT_TUPLE);
        lit_items(ps, t, &comma);
        if (!ps->failed && t->n == 1 && !comma) { /* (x) is x */
            struct lit_node *inner = t->sub[0];
            t->n = 0;
            lit_free(t);
            return inner;
        }
        return t;
    }
    lit_fail(ps, c ? "unexpected '%c'" : "unexpected end%c", c ? c : ' ');
    return NULL;
}

static struct lit_node *lit_expr(struct lit_parser *ps)
{
    struct lit_node *n = lit_atom(ps);
    while (n != NULL && !ps->failed && lit_accept(ps, '(')) {
        struct lit_node *call = lit_new(LIT_CALL);
        call->callee = n;
        bool comma;
        lit_items(ps, call, &comma);
        n = call;
    }
    if (ps->failed) {
        lit_free(n);
        return NULL;
    }
    return n;
}

struct lit_node *lit_parse(const char *text, char *err, size_t errlen)
{
    struct lit_parser ps = { text, text, err, errlen, false };
    struct lit_node *n = lit_expr(&ps);
    lit_skip_blanks(&ps);
    if (n != NULL && *ps.p != '\0')
        lit_fail(&ps, "unexpected text after the expression");
    if (ps.failed) {
        lit_free(n);
        return NULL;
    }
    return n;
}

val lit_eval(const struct lit_node *n)
{
    switch (n->kind) {
    case LIT_INT: return v_int(n->i);
    case LIT_BOOL: return v_bool(n->i != 0);
    case LIT_NONE: return v_none();
    case LIT_CONST: return const_value((enum const_id)n->i);
    case LIT_PRIM: return fn_prim((enum prim_id)n->i);
    case LIT_TUPLE: {
        if (n->n == 0)
            return tuple_empty();
        struct vtuple *t = tuple_new(n->n);
        for (uint32_t i = 0; i < n->n; i++)
            t->item[i] = lit_eval(n->sub[i]);
        return v_tuple(t);
    }
    case LIT_FS: {
        struct vset *s = set_new();
        for (uint32_t i = 0; i < n->n; i++)
            set_add(s, lit_eval(n->sub[i]));
        return set_freeze(s);
    }
    case LIT_CALL: {
        val f = lit_eval(n->callee);
        val args[8];
        if (n->n > BF_ARRAY_LEN(args))
            dsl_raise(EXC_TYPE, "too many arguments (%u)", n->n);
        for (uint32_t i = 0; i < n->n; i++)
            args[i] = lit_eval(n->sub[i]);
        return fn_call(f, (int)n->n, args);
    }
    }
    return v_none();
}
