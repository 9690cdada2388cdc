/* literal.h: a reader for the small expression language of the tests/prims .test files and tools:
 *
 *   expr  := atom ( '(' [expr (',' expr)* [',']] ')' )*     a call of the value before it
 *   atom  := INT | '-' INT | True | False | None | CONSTANT | primitive name
 *          | '(' ')' | '(' expr ',' ')' | '(' expr (',' expr)+ [','] ')' | '(' expr ')'
 *          | fs '(' [expr (',' expr)*] ')'        frozenset((a, b, ...)): added in that order
 *
 * Parsing (lit_parse) allocates a malloc'd tree and never raises; evaluation (lit_eval) builds
 * values in the current arena and calls primitives, so it may raise: call it inside a protected
 * boundary (dsl_protect or eval_call_protected). */
#ifndef BF_LITERAL_H
#define BF_LITERAL_H

#include "dsl.h"

struct lit_node;

/* Parses one expression (the whole text, surrounding blanks allowed). NULL on a syntax error,
 * with "col N: reason" in err. */
struct lit_node *lit_parse(const char *text, char *err, size_t errlen);
void lit_free(struct lit_node *n);
val lit_eval(const struct lit_node *n);

#endif
