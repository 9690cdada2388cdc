#!/bin/sh
# parity.sh ARC_DSL_DIR [NTASKS]: our DSL runtime against CPython running Hodel's dsl.py, call by call.
#
# Builds battfarm-dsl-sweep and battfarm-mutate if needed, then runs both sides
# (tools/py_sweep.py under python3, battfarm-dsl-sweep in-process) on three workloads:
#   own      all 400 solvers of ARC_DSL_DIR/solvers.py, each on its own task (all train+test inputs)
#   cross    every solver on every input grid of NTASKS (default 50) training tasks, the sample
#            random.Random(SEED).sample(sorted(ids), NTASKS) of shared/tools/peer/cross_sweep.py
#   mutants  mutants of data/programs/*.py (MUT_PROGRAMS per file, default 10) and of solvers.py
#            (MUT_SOLVERS per solver, default 1; mutated from ARC_DSL_DIR/solvers.py into the work
#            folder, never into the repository), cross on the same NTASKS tasks
# and diffs the dumps line by line (tools/parity_diff.py): calls, identical, differing (first 20:
# key, CPython, ours), parity %. Time/memory-limit outcomes on either side are left out of parity
# and counted separately. Every differing call is then re-run in RECHECK_RUNS fresh CPython
# processes (tools/py_recheck.py): calls whose CPython outcome changes from process to process
# (frozensets of functions iterate in address order) are left out too, and counted separately.
# Errors are dumped with their messages (--messages); two raising calls are at parity whatever
# their exception classes (those differing are listed).
#
# Environment: BUILD (build folder, default build-parity), WORK (temporary folder, default a new
# /tmp/battfarm-parity.XXXXXX, kept), SEED (0), PY_TIMEOUT (seconds per call for CPython, 10),
# OUR_TIMEOUT_MS (ms per call for ours, 10000), WORKLOADS ("own cross mutants"), JOBS (2: the
# two sides run concurrently; 1 runs them one after the other), RECHECK_RUNS (6).
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: tools/parity.sh ARC_DSL_DIR [NTASKS]" >&2
    exit 2
fi
A=$(cd "$1" && pwd)
NTASKS=${2:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-parity}
SEED=${SEED:-0}
PY_TIMEOUT=${PY_TIMEOUT:-10}
OUR_TIMEOUT_MS=${OUR_TIMEOUT_MS:-10000}
MUT_PROGRAMS=${MUT_PROGRAMS:-10}
MUT_SOLVERS=${MUT_SOLVERS:-1}
WORKLOADS=${WORKLOADS:-own cross mutants}
JOBS=${JOBS:-2}
RECHECK_RUNS=${RECHECK_RUNS:-6}
DATA=$ROOT/data/arc-agi-1/training
if [ ! -f "$A/dsl.py" ] || [ ! -f "$A/solvers.py" ]; then
    echo "parity.sh: no dsl.py/solvers.py in $A" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "parity.sh: python3 is needed" >&2; exit 2; }

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DBF_CUDA=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target battfarm-dsl-sweep battfarm-mutate >/dev/null
SWEEP=$BUILD/tools/battfarm-dsl-sweep
MUTATE=$BUILD/tools/battfarm-mutate

WORK=${WORK:-$(mktemp -d /tmp/battfarm-parity.XXXXXX)}
mkdir -p "$WORK"
echo "parity.sh: arc-dsl $A, $NTASKS tasks (seed $SEED), work folder $WORK"
echo "parity.sh: $(python3 --version 2>&1), load: $(uptime | sed 's/.*load average/load average/')"

python3 "$ROOT/tools/py_sweep.py" "$A" "$DATA" --list-tasks --ntasks "$NTASKS" --seed "$SEED" >"$WORK/tasks.txt"
TASKFILES=$(sed "s|.*|$DATA/&.json|" "$WORK/tasks.txt")
echo "tasks: $(tr '\n' ' ' <"$WORK/tasks.txt")"

# run_both NAME OWN_FLAG TASKS_FOR_PY TASKFILES_FOR_C PROGRAM_FILES...
run_both() {
    name=$1 own=$2 pytasks=$3 ctasks=$4
    shift 4
    progs="$*"
    echo "-- $name: running both sides"
    if [ "$JOBS" -ge 2 ]; then
        # shellcheck disable=SC2086
        ( python3 "$ROOT/tools/py_sweep.py" "$A" "$DATA" $own --programs $progs ${pytasks:+--tasks $pytasks} \
            --timeout "$PY_TIMEOUT" --quiet --messages --dump "$WORK/$name.py.dump" >"$WORK/$name.py.log" 2>&1 ) &
        pypid=$!
    else
        # shellcheck disable=SC2086
        python3 "$ROOT/tools/py_sweep.py" "$A" "$DATA" $own --programs $progs ${pytasks:+--tasks $pytasks} \
            --timeout "$PY_TIMEOUT" --quiet --messages --dump "$WORK/$name.py.dump" >"$WORK/$name.py.log" 2>&1
        pypid=
    fi
    # shellcheck disable=SC2086
    "$SWEEP" $own --timeout "$OUR_TIMEOUT_MS" --quiet --messages --dump "$WORK/$name.c.dump" $progs --tasks $ctasks \
        >"$WORK/$name.c.log" 2>&1 || echo "   (battfarm-dsl-sweep exit status $?)"
    if [ -n "$pypid" ]; then wait "$pypid" || echo "   (py_sweep exit status $?)"; fi
    grep -E '^(calls:|own-correct|own-failed|calls equal)' "$WORK/$name.py.log" | sed 's/^/   CPython: /'
    grep -E '^(calls:|own-correct|own-failed|calls equal)' "$WORK/$name.c.log" | sed 's/^/   ours:    /'
    python3 "$ROOT/tools/parity_diff.py" --quiet --all "$WORK/$name.diffs.tsv" "$WORK/$name.py.dump" "$WORK/$name.c.dump"
    # shellcheck disable=SC2086
    python3 "$ROOT/tools/py_recheck.py" "$A" "$DATA" "$WORK/$name.diffs.tsv" --programs $progs \
        --runs "$RECHECK_RUNS" --timeout "$PY_TIMEOUT" --out "$WORK/$name.recheck.tsv"
    python3 "$ROOT/tools/parity_diff.py" --title "$name" --json "$WORK/$name.parity.json" \
        --recheck "$WORK/$name.recheck.tsv" --all "$WORK/$name.diffs.tsv" "$WORK/$name.py.dump" "$WORK/$name.c.dump"
}

for w in $WORKLOADS; do
    case $w in
    own)
        run_both own --own "" "$DATA" "$A/solvers.py" ;;
    cross)
        run_both cross "" "$(tr '\n' ' ' <"$WORK/tasks.txt")" "$TASKFILES" "$A/solvers.py" ;;
    mutants)
        rm -rf "$WORK/mut"
        "$MUTATE" --seed "$SEED" --count "$MUT_PROGRAMS" --out "$WORK/mut/programs" "$ROOT"/data/programs/*.py
        "$MUTATE" --seed "$SEED" --count "$MUT_SOLVERS" --out "$WORK/mut/solvers" "$A/solvers.py"
        echo "mutants: $(find "$WORK/mut/programs" -name '*.py' | wc -l) files of data/programs, $MUT_SOLVERS x 400 of solvers.py"
        run_both mutants "" "$(tr '\n' ' ' <"$WORK/tasks.txt")" "$TASKFILES" \
            "$WORK"/mut/programs/*.py "$WORK"/mut/solvers/*.py ;;
    *) echo "parity.sh: unknown workload $w" >&2; exit 2 ;;
    esac
done

echo "== summary"
# shellcheck disable=SC2086
python3 - "$WORK" $WORKLOADS <<'EOF'
import json, os, sys
work, names = sys.argv[1], sys.argv[2:]
tot = {'calls': 0, 'compared': 0, 'identical': 0, 'both_raise_other_class': 0, 'differing': 0, 'limits': 0,
       'cpython_nondeterministic': 0}
print('%-9s %9s %9s %9s %9s %9s %11s %9s' % ('workload', 'calls', 'limits', 'py-nondet', 'compared', 'identical', 'raise/raise', 'differing') + '  parity')
for n in names:
    p = os.path.join(work, n + '.parity.json')
    if not os.path.exists(p):
        continue
    j = json.load(open(p))
    lim = sum(j['limits'].values())
    print('%-9s %9d %9d %9d %9d %9d %11d %9d  %.4f%%' % (n, j['calls'], lim, j['cpython_nondeterministic'], j['compared'],
          j['identical'], j['both_raise_other_class'], j['differing'], j['parity_pct']))
    for k in ('calls', 'compared', 'identical', 'both_raise_other_class', 'differing', 'cpython_nondeterministic'):
        tot[k] += j[k]
    tot['limits'] += lim
c = tot['compared']
print('%-9s %9d %9d %9d %9d %9d %11d %9d  %.4f%%' % ('all', tot['calls'], tot['limits'], tot['cpython_nondeterministic'], c, tot['identical'],
      tot['both_raise_other_class'], tot['differing'], 100.0 * (c - tot['differing']) / c if c else 100.0))
EOF
