#!/bin/sh
# bench_sweep.sh [ARC_DSL_DIR]: the full-sweep benchmark of issue 5. `battfarm score` runs every
# candidate on every demo and test sample of all 400 ARC-AGI-1 training tasks (data/arc-agi-1/
# training), RUNS times per pile, -j JOBS:
#   programs  our example programs (data/programs)
#   arc-dsl   arc-dsl's 400 solvers (ARC_DSL_DIR/solvers.py), when ARC_DSL_DIR is given
# and, for arc-dsl's solvers, CPython with a JOBS-process multiprocessing pool on the same work
# (CROSS_SWEEP, default ../shared/tools/peer/cross_sweep.py beside this repository: SIGALRM per
# call at the same limit; it runs all 400 solvers, we run the distinct ones). Then a table: per
# run, results, wall time of the scoring (`results in`), of the whole command (parse, dedup,
# score, journal, scores, summary), results per second, time-outs, and the ratio of CPython's
# wall time to ours; then, per solver, CPython's per-call times against our evaluation time
# (tools/sweep_compare.py); then the programs that took the most evaluation time in each pile's
# last run. The CPython pool takes about 10 minutes on 2 cores: CPYTHON=0 skips it.
#
# Environment: BUILD (build folder, default build-lto, configured RelWithDebInfo with LTO and
# without CUDA when new), RUNS (3), JOBS (2), TIMEOUT (per-call limit in seconds, 1), CPYTHON
# (1), CROSS_SWEEP, WORK (default a new /tmp/battfarm-sweep.XXXXXX; each run's journal is kept
# there).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=${1:-}
BUILD=${BUILD:-$ROOT/build-lto}
RUNS=${RUNS:-3}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-1}
CPYTHON=${CPYTHON:-1}
CROSS_SWEEP=${CROSS_SWEEP:-$ROOT/../shared/tools/peer/cross_sweep.py}
DATA=$ROOT/data/arc-agi-1/training
if [ -n "$A" ] && [ ! -f "$A/dsl.py" ]; then
    echo "bench_sweep.sh: $A/dsl.py not found (ARC_DSL_DIR: an arc-dsl checkout)" >&2
    exit 2
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBF_LTO=ON -DBF_CUDA=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target battfarm battfarm-worker >/dev/null
BF=$BUILD/master/battfarm
WORK=${WORK:-$(mktemp -d /tmp/battfarm-sweep.XXXXXX)}
mkdir -p "$WORK"
TMS=$(awk "BEGIN { printf \"%d\", $TIMEOUT * 1000 }")

echo "bench_sweep.sh: $BF, -j $JOBS, limit $TIMEOUT s, $RUNS runs per pile, work folder $WORK"
echo "bench_sweep.sh: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/') (before)"

ROWS=$WORK/rows.txt
: >"$ROWS"
# sweep NAME PROGRAMS: RUNS runs, one row each (name, results, scoring s, total s, time-outs).
sweep() {
    name=$1 programs=$2
    r=1
    while [ "$r" -le "$RUNS" ]; do
        out=$WORK/$name.$r
        rm -rf "$out"
        t0=$(date +%s%N)
        "$BF" score "$programs" --tasks "$DATA" --quiet -j "$JOBS" --timeout "$TMS" --no-store \
            --out "$out" >"$out.summary" 2>"$out.log"
        t1=$(date +%s%N)
        line=$(grep 'results in' "$out.log")
        results=$(echo "$line" | sed -n 's/.*: \([0-9]*\) of [0-9]* results in.*/\1/p')
        scoring=$(echo "$line" | sed -n 's/.* results in \([0-9.]*\) s.*/\1/p')
        timeouts=$(sed -n 's/.* timeout \([0-9]*\), memout.*/\1/p' "$out.log" | head -n 1)
        total=$(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / 1e9 }")
        echo "$name $r $results $scoring $total $timeouts" >>"$ROWS"
        echo "-- $name run $r: $results results, scoring $scoring s, total $total s, $timeouts time-outs"
        r=$((r + 1))
    done
}

sweep programs "$ROOT/data/programs"
PY_WALL="" PY_TO=""
if [ -n "$A" ]; then
    sweep arc-dsl "$A/solvers.py"
    if [ "$CPYTHON" = 1 ] && [ -f "$CROSS_SWEEP" ]; then
        echo "-- arc-dsl: CPython, $JOBS-process pool ($CROSS_SWEEP)"
        (cd "$WORK" && python3 "$CROSS_SWEEP" "$A" "$DATA" --ntasks 400 --workers "$JOBS" \
            --timeout "$TIMEOUT" --json "$WORK/cpython.json") >"$WORK/cpython.log" 2>&1
        PY_WALL=$(sed -n 's/^wall time \([0-9.]*\) s.*/\1/p' "$WORK/cpython.log")
        PY_TO=$(sed -n 's/^elapsed of timed-out calls.*: n=\([0-9]*\) .*/\1/p' "$WORK/cpython.log")
        PY_TO=${PY_TO:-0}
        grep -E '^(wall time|[0-9]+ solvers x)' "$WORK/cpython.log" | sed 's/^/   /'
    elif [ "$CPYTHON" = 1 ]; then
        echo "-- arc-dsl: no CPython pool ($CROSS_SWEEP not found; set CROSS_SWEEP)"
    fi
fi

echo "bench_sweep.sh: $(uptime | sed 's/.*load average/load average/') (after)"
echo
echo "| pile | run | results | scoring s | total s | results/s | time-outs | CPython pool s (time-outs) | ratio (scoring / total) |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -v py="$PY_WALL" -v pyto="$PY_TO" '{
    rate = $4 > 0 ? $3 / $4 : 0
    cpy = ""; ratio = ""
    if ($1 == "arc-dsl" && py != "") {
        cpy = sprintf("%.1f (%d)", py, pyto)
        ratio = sprintf("%.1fx / %.1fx", py / $4, py / $5)
    }
    printf "| %s | %d | %d | %.2f | %.2f | %.0f | %d | %s | %s |\n", $1, $2, $3, $4, $5, rate, $6, cpy, ratio
}' "$ROWS"

# Per solver, CPython's per-call times against our evaluation time in all runs (sweep_compare.py).
if [ -f "$WORK/cpython.json" ]; then
    echo
    python3 "$ROOT/tools/sweep_compare.py" "$WORK/cpython.json" "$WORK"/arc-dsl.*/results.jsonl
fi

# Where the last run of each pile spent its evaluation time (the journal's cpu_us), top 10.
for name in programs arc-dsl; do
    journal=$WORK/$name.$RUNS/results.jsonl
    [ -f "$journal" ] || continue
    echo
    python3 - "$name" "$journal" <<'PY'
import collections, json, sys
name, path = sys.argv[1], sys.argv[2]
per = collections.Counter()
for line in open(path):
    r = json.loads(line)
    per[r["name"]] += r.get("cpu_us", 0)
total = sum(per.values())
print(f"{name}: {total / 1e6:.1f} s of evaluation in the journal; the 10 programs that took most:")
for prog, us in per.most_common(10):
    print(f"  {prog:24s} {us / 1e6:6.2f} s  {100 * us / total:5.1f}%")
PY
done
