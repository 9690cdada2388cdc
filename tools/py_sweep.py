#!/usr/bin/env python3
"""py_sweep.py: the CPython side of battfarm-dsl-sweep (same workload, same dump format).

    py_sweep.py ARC_DSL_DIR DATA_DIR [--own] [--tasks ID_OR_FILE ... | --ntasks N --seed S]
                [--programs FILE ...] [--exclude ID,ID] [--timeout S] [--mem-mb MB]
                [--dump FILE] [--times FILE] [--repeat R] [--full-repr] [--list-tasks]

Imports dsl.py and constants.py from ARC_DSL_DIR (an arc-dsl checkout, kept outside this
repository) and runs program files in arc-dsl's solver format (by default ARC_DSL_DIR/solvers.py;
with --programs, any files: data/programs/*.py, battfarm-mutate output...) on the input grids
(train and test inputs) of ARC tasks in DATA_DIR (the training folder, or a folder holding it):
every program on every input (cross mode), or with --own each solve_<id> only on task <id>.
One process; each call is timed with time.perf_counter() around it (SIGALRM armed per call, as
shared/tools/peer/peer_common.py does).

--dump writes one line per call:  <task> TAB <train/K|test/K> TAB <file stem>:<def name> TAB <outcome>
where outcome is repr(value) (functions written as <function NAME> for a primitive and
<function> for a closure, since CPython's repr holds an address), or !ExceptionName, !timeout,
!memout. A repr over 300 characters is written as its first 120, then
'...#len=N,crc=XXXXXXXX' (CRC-32 of the whole repr), unless --full-repr.
--times writes <task> TAB <sample> TAB <program> TAB <microseconds> per call (the best of
--repeat runs; calls that timed out are not repeated). --clock cpu times calls with
time.process_time() instead of time.perf_counter() (for a loaded machine).
--messages writes an error as '!ExceptionName: message' (cut at 100 characters).
--list-tasks prints the selected task ids, one per line, and exits.
--ntasks N --seed S picks random.Random(S).sample(sorted(all training ids), N), as
shared/tools/peer/cross_sweep.py does; the tasks always run in id order.
"""
import argparse
import json
import math
import os
import re
import resource
import signal
import statistics
import sys
import time
import zlib

REPR_FULL_MAX = 300
REPR_HEAD = 120


class CallTimeout(BaseException):
    """Raised by the SIGALRM handler (a BaseException, so no `except Exception` swallows it)."""


def _on_alarm(signum, frame):
    raise CallTimeout()


def resolve_data_dir(d):
    for cand in (os.path.join(d, 'data', 'training'), os.path.join(d, 'training'), d):
        if os.path.isdir(cand) and any(f.endswith('.json') for f in os.listdir(cand)):
            return cand
    sys.exit('py_sweep: no ARC task files under %s' % d)


def as_grid(rows):
    return tuple(tuple(r) for r in rows)


def load_task(path):
    with open(path) as f:
        t = json.load(f)
    samples = []
    for part in ('train', 'test'):
        for k, ex in enumerate(t.get(part, [])):
            out = as_grid(ex['output']) if 'output' in ex else None
            samples.append(('%s/%d' % (part, k), as_grid(ex['input']), out, part))
    return samples


_FUNC_RE = re.compile(r'<function (\S+) at 0x[0-9a-fA-F]+>')


def _func_sub(m):
    name = m.group(1)
    return '<function>' if ('<' in name or '.' in name) else '<function %s>' % name


def outcome_repr(value, full):
    r = repr(value)
    if '<function' in r:
        r = _FUNC_RE.sub(_func_sub, r)
    if not full and len(r) > REPR_FULL_MAX:
        b = r.encode('utf-8', 'backslashreplace')
        r = '%s...#len=%d,crc=%08x' % (r[:REPR_HEAD], len(b), zlib.crc32(b) & 0xffffffff)
    return r


def value_class(x):
    """As peer_common.grid_kind()."""
    if not isinstance(x, tuple):
        return type(x).__name__
    if len(x) == 0:
        return 'empty tuple'
    if not all(isinstance(r, tuple) for r in x):
        return 'tuple of non-tuples'
    if any(len(r) == 0 for r in x):
        return 'tuple of empty rows'
    if len({len(r) for r in x}) != 1:
        return 'ragged rows'
    if not all(type(v) is int for r in x for v in r):
        return 'non-int cells'
    return 'grid'


def pct(s, p):
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def print_dist(title, us):
    if not us:
        print('%s: (none)' % title)
        return
    s = sorted(us)
    tot = sum(s)
    print('%s: n=%d sum=%.3f s mean=%.2f us median=%.2f us p90=%.2f us p99=%.2f us max=%.1f us '
          'calls/s=%.0f' % (title, len(s), tot / 1e6, tot / len(s), statistics.median(s), pct(s, 90),
                            pct(s, 99), s[-1], len(s) / (tot / 1e6) if tot > 0 else 0.0))


def load_programs(paths, env_base):
    """-> list of (key, name, fn, sic) in file order."""
    progs = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            src = f.read()
        env = dict(env_base)
        exec(compile(src, path, 'exec'), env)
        stem = os.path.basename(path)
        if stem.endswith('.py'):
            stem = stem[:-3]
        for m in re.finditer(r'^def\s+(\w+)\s*\(([^)]*)\)\s*:', src, re.M):
            name, params = m.group(1), [p.strip() for p in m.group(2).split(',') if p.strip()]
            progs.append(('%s:%s' % (stem, name), name, env[name], params == ['S', 'I', 'C']))
    return progs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dsl_dir')
    ap.add_argument('data_dir')
    ap.add_argument('--own', action='store_true')
    ap.add_argument('--tasks', nargs='+')
    ap.add_argument('--ntasks', type=int)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--programs', nargs='+')
    ap.add_argument('--exclude', default='')
    ap.add_argument('--timeout', type=float, default=1.0)
    ap.add_argument('--mem-mb', type=int, default=4096)
    ap.add_argument('--dump')
    ap.add_argument('--times')
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--full-repr', action='store_true')
    ap.add_argument('--list-tasks', action='store_true')
    ap.add_argument('--clock', choices=('wall', 'cpu'), default='wall')
    ap.add_argument('--quiet', action='store_true')
    ap.add_argument('--messages', action='store_true')
    args = ap.parse_args()

    data = resolve_data_dir(args.data_dir)
    all_ids = sorted(f[:-5] for f in os.listdir(data) if f.endswith('.json'))
    if args.tasks:
        ids = []
        for t in args.tasks:
            if os.path.isdir(t):
                ids += [os.path.join(t, f) for f in sorted(os.listdir(t)) if f.endswith('.json')]
            else:
                ids.append(t)
        paths = {}
        for t in ids:
            p = t if t.endswith('.json') else os.path.join(data, t + '.json')
            paths[os.path.basename(p)[:-5]] = p
    elif args.ntasks:
        import random
        paths = {t: os.path.join(data, t + '.json') for t in random.Random(args.seed).sample(all_ids, args.ntasks)}
    else:
        paths = {t: os.path.join(data, t + '.json') for t in all_ids}
    task_ids = sorted(paths)
    if args.list_tasks:
        print('\n'.join(task_ids))
        return 0

    dsl_dir = os.path.abspath(args.dsl_dir)
    if not os.path.isfile(os.path.join(dsl_dir, 'dsl.py')):
        sys.exit('py_sweep: no dsl.py in %s' % dsl_dir)
    sys.path.insert(0, dsl_dir)
    import constants  # noqa: E402  (from ARC_DSL_DIR)
    import dsl  # noqa: E402
    env_base = {k: v for k, v in vars(dsl).items() if not k.startswith('_')}
    env_base.update({k: v for k, v in vars(constants).items() if not k.startswith('_')})

    prog_paths = args.programs or [os.path.join(dsl_dir, 'solvers.py')]
    excl = {e for e in args.exclude.split(',') if e}
    all_progs = load_programs(prog_paths, env_base)
    progs = [p for p in all_progs if not (p[1].startswith('solve_') and p[1][6:] in excl)]
    n_excluded = len(all_progs) - len(progs)
    tasks = {t: load_task(paths[t]) for t in task_ids}

    if args.mem_mb and args.mem_mb > 0:
        lim = args.mem_mb << 20
        try:
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = args.timeout

    def run_one(fn, sic, I, S):
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return fn(S, I, None) if sic else fn(I)
        finally:
            if timeout > 0:
                signal.setitimer(signal.ITIMER_REAL, 0)

    own_of = {}
    if args.own:
        for k, p in enumerate(progs):
            if p[1].startswith('solve_'):
                own_of.setdefault(p[1][6:], []).append(k)
    n_no_task = sum(1 for p in progs if p[1][6:] not in tasks) if args.own else 0

    dump = open(args.dump, 'w') if args.dump else None
    calls = []          # [task, sample, prog index, kind, us]
    classes = {}
    own_pairs = [0] * len(progs)
    own_right = [0] * len(progs)
    n_equal = 0
    perf = time.perf_counter if args.clock == 'wall' else time.process_time
    rep_wall = []
    for rep in range(args.repeat):
        r0 = time.perf_counter()
        ci = 0
        for t in task_ids:
            samples = tasks[t]
            S = tuple((i, o) for (_, i, o, part) in samples if part == 'train')
            plist = own_of.get(t, []) if args.own else range(len(progs))
            for (sid, I, expected, _) in samples:
                for k in plist:
                    key, name, fn, sic = progs[k]
                    if rep > 0:
                        c = calls[ci]
                        ci += 1
                        if c[3] == 'timeout':
                            continue
                        t0 = perf()
                        try:
                            run_one(fn, sic, I, S)
                        except CallTimeout:
                            pass
                        except BaseException:  # noqa: BLE001
                            pass
                        us = (perf() - t0) * 1e6
                        if us < c[4]:
                            c[4] = us
                        continue
                    value = None
                    t0 = perf()
                    try:
                        value = run_one(fn, sic, I, S)
                        kind = 'ok'
                    except CallTimeout:
                        kind, out = 'timeout', '!timeout'
                    except MemoryError:
                        kind, out = 'memout', '!memout'
                    except KeyboardInterrupt:
                        raise
                    except BaseException as e:  # noqa: BLE001  (SystemExit included: it is an outcome too)
                        kind, out = 'error', '!' + type(e).__name__
                        if args.messages:
                            msg = str(e)
                            if msg:
                                out += ': ' + msg[:100].replace('\t', ' ').replace('\n', ' ')
                    us = (perf() - t0) * 1e6
                    calls.append([t, sid, k, kind, us])
                    match = False
                    if kind == 'ok':
                        cls = value_class(value)
                        if expected is not None:
                            try:
                                match = bool(value == expected)
                            except Exception:  # noqa: BLE001
                                match = False
                        if dump:
                            try:
                                out = outcome_repr(value, args.full_repr)
                            except MemoryError:
                                out = '!memout(repr)'
                    else:
                        cls = out.split(':', 1)[0]
                    classes[cls] = classes.get(cls, 0) + 1
                    n_equal += match
                    if name == 'solve_' + t and expected is not None:
                        own_pairs[k] += 1
                        own_right[k] += match
                    if dump:
                        dump.write('%s\t%s\t%s\t%s\n' % (t, sid, key, out))
        rep_wall.append(time.perf_counter() - r0)
    if dump:
        dump.close()
    if args.times:
        with open(args.times, 'w') as f:
            for t, sid, k, kind, us in calls:
                f.write('%s\t%s\t%s\t%.3f\n' % (t, sid, progs[k][0], us))

    print('py_sweep: %s mode, %d programs (%d excluded), %d tasks, timeout %g s, mem %d MB, repeat %d, '
          '%s clock, CPython %s' % ('own' if args.own else 'cross', len(progs), n_excluded, len(task_ids), timeout,
                                    args.mem_mb, args.repeat, args.clock, sys.version.split()[0]))
    if args.own and n_no_task:
        print('programs without their task in the set: %d' % n_no_task)
    print('calls: %d' % len(calls))
    print('outcomes:')
    for cls, n in sorted(classes.items(), key=lambda kv: -kv[1]):
        print('  %-24s %10d  %6.2f%%' % (cls, n, 100.0 * n / len(calls) if calls else 0.0))
    print('calls equal to the expected output: %d' % n_equal)
    owned = [k for k in range(len(progs)) if own_pairs[k]]
    if owned:
        ok = [k for k in owned if own_right[k] == own_pairs[k]]
        print('own-correct: %d/%d' % (len(ok), len(owned)))
        bad = ['%s(%d/%d)' % (progs[k][0], own_right[k], own_pairs[k]) for k in owned if own_right[k] != own_pairs[k]]
        if args.quiet and len(bad) > 20:
            bad = bad[:20] + ['... (%d more)' % (len(bad) - 20)]
        print('own-failed:' + ''.join(' ' + b for b in bad))
    print_dist('per call, all', [c[4] for c in calls])
    print_dist('per call, returned', [c[4] for c in calls if c[3] == 'ok'])
    print_dist('per call, raised/timeout/memout', [c[4] for c in calls if c[3] != 'ok'])
    print('wall per repetition:' + ''.join(' %.3f s' % w for w in rep_wall))
    return 0


if __name__ == '__main__':
    sys.exit(main())
