#!/usr/bin/env python3
"""bench_table.py: one row of the CPython-versus-ours speed table of tools/bench_dsl.sh.

    bench_table.py --header
    bench_table.py NAME PY_TIMES OURS_TIMES [--exclude ID,ID]

PY_TIMES / OURS_TIMES: the --times files of tools/py_sweep.py and battfarm-dsl-sweep
(task TAB sample TAB program TAB microseconds). Only calls present in both files count; with
--exclude, calls of programs named solve_<id> for those ids are left out. Columns: calls, total
seconds of per-call time on each side, calls/s (calls / total per-call time) on each side, the
ratio of the two (CPython time / our time over the whole workload), then median, p90 and p99
per call in microseconds, CPython | ours (median: statistics.median; p90/p99: nearest rank).
"""
import math
import statistics
import sys


def load(path):
    d = {}
    with open(path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) == 4:
                d[(p[0], p[1], p[2])] = float(p[3])
    return d


def pct(s, p):
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


def fmt_us(x):
    return '%.1f' % x if x >= 100 else ('%.2f' % x if x >= 1 else '%.3f' % x)


HEADER = ('| workload | calls | CPython s | ours s | CPython calls/s | ours calls/s | ratio | '
          'median us (py / ours) | p90 us (py / ours) | p99 us (py / ours) |\n'
          '|---|---|---|---|---|---|---|---|---|---|')


def main(argv):
    if argv[1:] == ['--header']:
        print(HEADER)
        return 0
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    name, pyf, cf = argv[1:4]
    excl = set()
    if len(argv) >= 6 and argv[4] == '--exclude':
        excl = {e for e in argv[5].split(',') if e}
    py, c = load(pyf), load(cf)

    def keep(k):
        prog = k[2].split(':', 1)[-1]
        return not (prog.startswith('solve_') and prog[6:] in excl)
    keys = [k for k in py if k in c and keep(k)]
    if not keys:
        print('| %s | 0 | | | | | | | | |' % name)
        return 0
    a = sorted(py[k] for k in keys)
    b = sorted(c[k] for k in keys)
    sa, sb = sum(a), sum(b)
    n = len(keys)
    print('| %s | %d | %.3f | %.4f | %.0f | %.0f | %.1fx | %s / %s | %s / %s | %s / %s |' % (
        name, n, sa / 1e6, sb / 1e6, n / (sa / 1e6), n / (sb / 1e6), sa / sb if sb else float('inf'),
        fmt_us(statistics.median(a)), fmt_us(statistics.median(b)), fmt_us(pct(a, 90)), fmt_us(pct(b, 90)),
        fmt_us(pct(a, 99)), fmt_us(pct(b, 99))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
