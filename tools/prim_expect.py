#!/usr/bin/env python3
"""Computes expected values for the primitive tests by running CPython on Hodel's arc-dsl.

usage: tools/prim_expect.py ARC_DSL_DIR < tests/prims/NAME.cases > tests/prims/NAME.test

Input: one DSL expression per line (blank lines and lines starting with # are copied through).
An expression is a call of primitives on literals: ints, True/False/None, tuples `(1, 2)`,
`()`, `(1,)`, frozensets written fs(a, b, ...) (built by adding a, b, ... in that order to an
empty set, i.e. frozenset((a, b, ...)), which our C literal parser does the same way), the
constants of constants.py and primitive names as function values, e.g.
    argmax(fs((1, 2), (3,)), size)
    rbind(add, ONE)(TWO)
Output: the expression, a TAB, then repr(result) as CPython prints it (frozensets in CPython's
iteration order), `<function>` for a function result, or `!ExceptionName` when it raises.
Nothing of arc-dsl is copied: it is imported from ARC_DSL_DIR at run time.
"""
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.path.insert(0, os.path.abspath(sys.argv[1]))
    sys.setrecursionlimit(1000)
    import constants
    import dsl
    ns = {k: getattr(dsl, k) for k in dir(dsl) if not k.startswith('_')}
    ns.update({k: getattr(constants, k) for k in dir(constants) if k.isupper()})
    ns['fs'] = lambda *xs: frozenset(xs)

    def show(v):
        if callable(v):
            return '<function>'
        if isinstance(v, tuple) and any(callable(x) for x in v):
            return '<tuple with functions>'
        return repr(v)

    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line.strip() or line.lstrip().startswith('#'):
            print(line)
            continue
        expr = line.split('\t')[0]
        try:
            out = show(eval(expr, dict(ns)))
        except RecursionError:
            out = '!RecursionError'
        except Exception as e:  # the class is what the C side compares
            out = '!' + type(e).__name__
        print(f'{expr}\t{out}')


if __name__ == '__main__':
    main()
