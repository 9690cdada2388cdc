#!/usr/bin/env python3
"""check_programs_py.py ARC_DSL_DIR DATA_DIR PROGRAM_FILES...

Runs each solver program (arc-dsl solver format, one `def solve_<taskid>(I):` per file) under
CPython with Hodel's dsl.py and constants.py imported from ARC_DSL_DIR (kept outside this repo),
on every train and test pair of its task DATA_DIR/<taskid>.json. Prints one line per program,
"ok" or "FAIL (samples, exception)", and exits non-zero when any program fails.
"""
import json
import os
import re
import sys
import traceback


def to_grid(rows):
    return tuple(tuple(r) for r in rows)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    dsl_dir, data_dir, files = argv[1], argv[2], argv[3:]
    sys.path.insert(0, os.path.abspath(dsl_dir))
    import constants  # noqa: E402  (from ARC_DSL_DIR)
    import dsl  # noqa: E402

    env_base = {}
    env_base.update({k: v for k, v in vars(dsl).items() if not k.startswith('_')})
    env_base.update({k: v for k, v in vars(constants).items() if not k.startswith('_')})

    n_ok = n_fail = 0
    for path in files:
        base = os.path.basename(path)
        try:
            with open(path, encoding='utf-8') as fh:
                src = fh.read()
            m = re.search(r'^def (solve_([0-9a-f]{8}))\(I\):', src, re.M)
            if not m:
                raise ValueError('no "def solve_<taskid>(I):" found')
            fname, task = m.group(1), m.group(2)
            env = dict(env_base)
            exec(compile(src, path, 'exec'), env)
            fn = env[fname]
            with open(os.path.join(data_dir, task + '.json'), encoding='utf-8') as fh:
                spec = json.load(fh)
        except Exception as e:  # noqa: BLE001
            print('%s: FAIL (load: %s: %s)' % (base, type(e).__name__, e))
            n_fail += 1
            continue
        bad = []
        for part in ('train', 'test'):
            for k, pair in enumerate(spec.get(part, [])):
                if 'output' not in pair:
                    continue
                try:
                    got = fn(to_grid(pair['input']))
                    if got != to_grid(pair['output']):
                        bad.append('%s/%d: wrong output' % (part, k))
                except Exception as e:  # noqa: BLE001
                    tb = traceback.extract_tb(e.__traceback__)
                    where = tb[-1].lineno if tb else 0
                    bad.append('%s/%d: %s: %s (line %d)' % (part, k, type(e).__name__, e, where))
        if bad:
            print('%s: FAIL (%s)' % (base, '; '.join(bad)))
            n_fail += 1
        else:
            print('%s: ok' % base)
            n_ok += 1
    print('%d ok, %d failed, %d total' % (n_ok, n_fail, n_ok + n_fail))
    return 1 if n_fail else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
