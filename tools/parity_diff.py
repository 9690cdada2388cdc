#!/usr/bin/env python3
"""parity_diff.py: compares a CPython dump (tools/py_sweep.py --dump) with ours
(battfarm-dsl-sweep --dump), call by call.

    parity_diff.py [--title T] [--show N] [--json FILE] [--all FILE] PY_DUMP OURS_DUMP

Each dump line: task TAB sample TAB program TAB outcome. Lines are matched by the first three
fields (sorted by key). A call is at parity when both outcomes are the same text (the same repr,
so the same value including the order of every frozenset), or when both raise (the exception
class may differ: scoring only sees that the call failed; such calls are counted as
'both raise, different class'). Calls where either side hit its time or memory limit
(!timeout, !memout) are left out of the parity percentage and counted separately.

Differences are classified:
  value        both returned, different repr;
               'order only' when the two reprs evaluate to equal Python values (the same
               frozensets, iterated in another order) and not abbreviated;
               'holds a function' when a visible part of either repr shows a function value
  py-raises    CPython raised, ours returned
  ours-raises  ours raised, CPython returned
  invalid      ours rejected the program statically (!invalid)
Prints calls, identical, differing (the first N differences: key, CPython, ours), the parity
percentage, and the differences per class and per program.
"""
import argparse
import json
import os
import sys

LIMITS = ('!timeout', '!memout', '!memout(repr)')


def load(path):
    d = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t', 3)
            if len(parts) != 4:
                continue
            d[(parts[0], parts[1], parts[2])] = parts[3]
    return d


def py_value(text):
    if '...#len=' in text or '<function' in text:
        return None
    try:
        return eval(text, {'__builtins__': {}, 'frozenset': frozenset, 'True': True,
                           'False': False, 'None': None})
    except Exception:  # noqa: BLE001
        return None


def clip(s, n=160):
    return s if len(s) <= n else s[:n] + '...'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('py_dump')
    ap.add_argument('ours_dump')
    ap.add_argument('--title', default='workload')
    ap.add_argument('--show', type=int, default=20)
    ap.add_argument('--json')
    ap.add_argument('--all', help='write every difference to this file')
    ap.add_argument('--recheck', help='tools/py_recheck.py --out file: calls CPython gives different outcomes for')
    ap.add_argument('--quiet', action='store_true', help='no output (with --all/--json)')
    args = ap.parse_args()

    py, ours = load(args.py_dump), load(args.ours_dump)
    nondet = set()
    if args.recheck:
        for line in open(args.recheck):
            p = line.rstrip('\n').split('\t')
            if len(p) >= 5 and int(p[3]) > 1:
                nondet.add((p[0], p[1], p[2]))
    n_nondet = 0
    keys = sorted(set(py) | set(ours))
    only_py = [k for k in keys if k not in ours]
    only_ours = [k for k in keys if k not in py]
    n = identical = both_raise_other = 0
    limit_py = limit_ours = limit_both = 0
    diffs = []
    exc_pairs = {}
    for k in keys:
        if k not in py or k not in ours:
            continue
        a, b = py[k], ours[k]
        n += 1
        la, lb = a in LIMITS, b in LIMITS
        if la or lb:
            if la and lb:
                limit_both += 1
            elif la:
                limit_py += 1
            else:
                limit_ours += 1
            continue
        ra, rb = a.startswith('!'), b.startswith('!')
        if ra and rb:  # compare the class only (dumps made with --messages carry a message)
            a, b = a.split(':', 1)[0], b.split(':', 1)[0]
        if a == b:
            identical += 1
            continue
        if k in nondet:
            n_nondet += 1
            continue
        if b == '!invalid':
            cls = 'invalid'
        elif ra and rb:
            both_raise_other += 1
            pair = '%s -> %s' % (a, b)
            if pair not in exc_pairs:
                exc_pairs[pair] = [0, k, py[k], ours[k]]
            exc_pairs[pair][0] += 1
            continue
        elif ra:
            cls = 'py-raises'
        elif rb:
            cls = 'ours-raises'
        else:
            va, vb = py_value(a), py_value(b)
            if va is not None and vb is not None and va == vb:
                cls = 'value (order only)'
            elif '<function' in a or '<function' in b:
                cls = 'value (holds a function: CPython orders functions by address)'
            else:
                cls = 'value'
        diffs.append((k, a, b, cls))

    compared = n - limit_py - limit_ours - limit_both - n_nondet
    at_parity = identical + both_raise_other
    pct = 100.0 * at_parity / compared if compared else 100.0
    strict = 100.0 * at_parity / (compared + n_nondet) if compared + n_nondet else 100.0
    if args.quiet:
        sys.stdout = open(os.devnull, 'w')
    print('== %s' % args.title)
    print('calls: %d (CPython dump %d lines, ours %d; only in CPython %d, only in ours %d)'
          % (n, len(py), len(ours), len(only_py), len(only_ours)))
    print('left out for time/memory limits: %d (CPython only %d, ours only %d, both %d)'
          % (limit_py + limit_ours + limit_both, limit_py, limit_ours, limit_both))
    print('compared: %d  identical: %d  both raise, different class: %d  differing: %d'
          % (compared, identical, both_raise_other, len(diffs)))
    if args.recheck:
        print('left out as CPython-nondeterministic (different outcomes in fresh CPython processes): %d' % n_nondet)
    print('parity: %.4f%%' % pct + ('  (counting the nondeterministic calls as differences: %.4f%%)' % strict
                                    if n_nondet else ''))
    if exc_pairs:
        print('both raise, different class (CPython -> ours: calls, first example):')
        for pair, (cnt, k, ea, eb) in sorted(exc_pairs.items(), key=lambda kv: -kv[1][0]):
            print('  %s: %d, e.g. %s %s %s (%s | %s)' % (pair, cnt, k[0], k[1], k[2], clip(ea, 80), clip(eb, 80)))
    by_cls, by_prog, by_exc = {}, {}, {}
    for k, a, b, cls in diffs:
        by_cls[cls] = by_cls.get(cls, 0) + 1
        prog = k[2]
        by_prog[prog] = by_prog.get(prog, 0) + 1
        if cls in ('py-raises', 'ours-raises'):
            e = (a if cls == 'py-raises' else b)
            by_exc[cls + ' ' + e] = by_exc.get(cls + ' ' + e, 0) + 1
    if diffs:
        print('differences by class: ' + ', '.join('%s %d' % kv for kv in sorted(by_cls.items(), key=lambda kv: -kv[1])))
        if by_exc:
            print('raising side and exception: ' + ', '.join('%s %d' % kv for kv in sorted(by_exc.items(), key=lambda kv: -kv[1])))
        top = sorted(by_prog.items(), key=lambda kv: -kv[1])
        print('programs with differences: %d; most: %s' % (len(top), ', '.join('%s %d' % kv for kv in top[:15])))
        print('first %d differences (key | CPython | ours):' % min(args.show, len(diffs)))
        for k, a, b, cls in diffs[:args.show]:
            print('  %s %s %s [%s]\n      py:   %s\n      ours: %s' % (k[0], k[1], k[2], cls, clip(a), clip(b)))
    if only_py or only_ours:
        print('keys missing on one side (first 5): py-only %s ours-only %s' % (only_py[:5], only_ours[:5]))
    if args.all:
        with open(args.all, 'w') as f:
            for k, a, b, cls in diffs:
                f.write('%s\t%s\t%s\t%s\t%s\t%s\n' % (k[0], k[1], k[2], cls, a, b))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'title': args.title, 'calls': n, 'compared': compared, 'identical': identical,
                       'both_raise_other_class': both_raise_other, 'differing': len(diffs),
                       'limits': {'py': limit_py, 'ours': limit_ours, 'both': limit_both},
                       'cpython_nondeterministic': n_nondet, 'parity_pct': pct, 'parity_strict_pct': strict, 'by_class': by_cls,
                       'only_py': len(only_py), 'only_ours': len(only_ours)}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
