#!/usr/bin/env python3
"""py_recheck.py: re-runs the calls where ours and CPython differ in fresh CPython processes, to
tell real differences from CPython's own non-determinism.

    py_recheck.py ARC_DSL_DIR DATA_DIR DIFFS_TSV --programs FILE... [--runs N] [--timeout S]
                  [--out FILE]

DIFFS_TSV: the --all file of tools/parity_diff.py (task, sample, program, class, CPython, ours).
Frozensets of functions (product/insert of primitives or closures) iterate in an order that
depends on memory addresses in CPython, so a few programs give different outputs from run to
run (ASLR). Each of N fresh processes (default 6) runs every listed call once; a call is
'nondeterministic' when CPython produced more than one outcome over the first run and the N
reruns, and 'ours seen' when our outcome is one of them. Writes one line per call to --out:
task TAB sample TAB program TAB distinct CPython outcomes TAB ours seen (0/1); prints a summary.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def child(dsl_dir, data_dir, programs, keys_file, timeout):
    import signal
    import py_sweep as ps
    sys.path.insert(0, os.path.abspath(dsl_dir))
    import constants  # noqa: E402
    import dsl  # noqa: E402
    env_base = {k: v for k, v in vars(dsl).items() if not k.startswith('_')}
    env_base.update({k: v for k, v in vars(constants).items() if not k.startswith('_')})
    progs = {p[0]: p for p in ps.load_programs(programs, env_base)}
    data = ps.resolve_data_dir(data_dir)
    tasks = {}
    signal.signal(signal.SIGALRM, ps._on_alarm)
    out = {}
    for line in open(keys_file):
        t, sid, key = line.rstrip('\n').split('\t')[:3]
        if key not in progs:
            continue
        if t not in tasks:
            tasks[t] = ps.load_task(os.path.join(data, t + '.json'))
        samples = tasks[t]
        S = tuple((i, o) for (_, i, o, part) in samples if part == 'train')
        I = next(i for (s, i, o, part) in samples if s == sid)
        _, _, fn, sic = progs[key]
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            v = fn(S, I, None) if sic else fn(I)
            o = ps.outcome_repr(v, False)
        except ps.CallTimeout:
            o = '!timeout'
        except MemoryError:
            o = '!memout'
        except BaseException as e:  # noqa: BLE001
            o = '!' + type(e).__name__
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out['\t'.join((t, sid, key))] = o
    json.dump(out, sys.stdout)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        dsl_dir, data_dir, keys_file, timeout = sys.argv[2:6]
        child(dsl_dir, data_dir, sys.argv[6:], keys_file, float(timeout))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dsl_dir')
    ap.add_argument('data_dir')
    ap.add_argument('diffs')
    ap.add_argument('--programs', nargs='+', required=True)
    ap.add_argument('--runs', type=int, default=6)
    ap.add_argument('--timeout', type=float, default=10.0)
    ap.add_argument('--out')
    args = ap.parse_args()

    rows = []
    for line in open(args.diffs, encoding='utf-8', errors='replace'):
        p = line.rstrip('\n').split('\t')
        if len(p) >= 6:
            rows.append(('\t'.join(p[:3]), p[4], p[5]))
    if not rows:
        print('py_recheck: no differences to recheck')
        if args.out:
            open(args.out, 'w').close()
        return 0
    keys_file = (args.out or '/tmp/py_recheck') + '.keys'
    with open(keys_file, 'w') as f:
        for k, _, _ in rows:
            f.write(k + '\n')
    seen = {k: {a} for k, a, _ in rows}
    for _ in range(args.runs):
        r = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', args.dsl_dir, args.data_dir,
                            keys_file, str(args.timeout)] + args.programs, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-2000:])
            return 1
        for k, o in json.loads(r.stdout).items():
            seen[k].add(o)
    os.unlink(keys_file)
    n_nondet = n_ours_seen = 0
    by_prog = {}
    lines = []
    for k, a, b in rows:
        outs = {o.split(':', 1)[0] if o.startswith('!') else o for o in seen[k]}
        bb = b.split(':', 1)[0] if b.startswith('!') else b
        nd = len(outs) > 1
        ours_seen = bb in outs or (bb.startswith('!') and any(o.startswith('!') for o in outs))
        n_nondet += nd
        n_ours_seen += ours_seen
        if nd:
            prog = k.split('\t')[2]
            by_prog[prog] = by_prog.get(prog, 0) + 1
        lines.append('%s\t%d\t%d\n' % (k, len(outs), int(ours_seen)))
    if args.out:
        with open(args.out, 'w') as f:
            f.writelines(lines)
    print('recheck: %d differing calls re-run in %d fresh CPython processes: %d nondeterministic in CPython '
          '(%s), ours equal to one of CPython\'s outcomes on %d, still different on %d'
          % (len(rows), args.runs, n_nondet, ', '.join('%s %d' % kv for kv in sorted(by_prog.items(), key=lambda kv: -kv[1])),
             n_ours_seen, len(rows) - n_ours_seen))
    return 0


if __name__ == '__main__':
    sys.exit(main())
