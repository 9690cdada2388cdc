#!/bin/sh
# bench_dsl.sh ARC_DSL_DIR [NTASKS]: our DSL evaluator against CPython running Hodel's dsl.py, on
# one core (taskset -c $CPU where available), the same calls on both sides:
#   seed   all 400 solvers on the 6 inputs of 007bbfb7 (REPEAT_SEED runs, best per call)
#   own    all 400 solvers, each on all inputs of its own task
#   cross  every solver on every input grid of NTASKS (default 25) training tasks, the sample of
#          shared/tools/peer/cross_sweep.py (random.Random(SEED).sample(sorted(ids), NTASKS)),
#          with a 1 s per-call time limit on both sides; reported with and without the 4
#          pathological solvers d22278a0, a64e4611, 91413438, 6aa20dc0 (arc-dsl-semantics.md 5.2)
# then prints a table (tools/bench_table.py): calls, per-call time summed on each side, calls/s,
# the ratio, and median/p90/p99 per call side by side. Each call is timed on its own (time.perf_counter
# around the call in CPython, CLOCK_MONOTONIC around eval_program in ours; CLOCK=cpu times both
# with the process's CPU clock instead, for a loaded machine).
#
# Environment: BUILD (build folder, default build-parity), WORK (default a new
# /tmp/battfarm-bench.XXXXXX), CPU (0), CLOCK (wall), SEED (0), REPEAT_SEED (10),
# REPEAT_OWN (1), REPEAT_CROSS (1), TIMEOUT (per-call limit in seconds, 1), WORKLOADS
# ("seed own cross").
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: tools/bench_dsl.sh ARC_DSL_DIR [NTASKS]" >&2
    exit 2
fi
A=$(cd "$1" && pwd)
NTASKS=${2:-25}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-parity}
CPU=${CPU:-0}
CLOCK=${CLOCK:-wall}
SEED=${SEED:-0}
REPEAT_SEED=${REPEAT_SEED:-10}
REPEAT_OWN=${REPEAT_OWN:-1}
REPEAT_CROSS=${REPEAT_CROSS:-1}
TIMEOUT=${TIMEOUT:-1}
WORKLOADS=${WORKLOADS:-seed own cross}
PATHOLOGICAL=d22278a0,a64e4611,91413438,6aa20dc0
DATA=$ROOT/data/arc-agi-1/training
if [ ! -f "$A/dsl.py" ] || [ ! -f "$A/solvers.py" ]; then
    echo "bench_dsl.sh: no dsl.py/solvers.py in $A" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "bench_dsl.sh: python3 is needed" >&2; exit 2; }

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DBF_CUDA=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target battfarm-dsl-sweep >/dev/null
SWEEP=$BUILD/tools/battfarm-dsl-sweep
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")

PIN=""
if command -v taskset >/dev/null 2>&1; then
    PIN="taskset -c $CPU"
fi
WORK=${WORK:-$(mktemp -d /tmp/battfarm-bench.XXXXXX)}
mkdir -p "$WORK"
TMS=$(awk "BEGIN { printf \"%d\", $TIMEOUT * 1000 }")

echo "bench_dsl.sh: arc-dsl $A, $(python3 --version 2>&1), ours: $BUILD ($BUILD_TYPE)"
echo "bench_dsl.sh: ${PIN:-no taskset}, clock $CLOCK, per-call limit $TIMEOUT s, work folder $WORK"
echo "bench_dsl.sh: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/') (before)"

# bench NAME REPEAT PY_TASK_ARGS C_TASK_FILES [EXTRA]: both sides, one after the other, pinned.
bench() {
    name=$1 rep=$2 pytasks=$3 ctasks=$4 extra=${5:-}
    echo "-- $name: CPython"
    # shellcheck disable=SC2086
    $PIN python3 "$ROOT/tools/py_sweep.py" "$A" "$DATA" $extra $pytasks --timeout "$TIMEOUT" \
        --repeat "$rep" --clock "$CLOCK" --times "$WORK/$name.py.times" >"$WORK/$name.py.log" 2>&1
    grep -E '^(calls:|per call, all|wall per)' "$WORK/$name.py.log" | sed 's/^/   /'
    echo "-- $name: ours"
    # shellcheck disable=SC2086
    $PIN "$SWEEP" $extra --timeout "$TMS" --repeat "$rep" --clock "$CLOCK" --times "$WORK/$name.c.times" \
        "$A/solvers.py" --tasks $ctasks >"$WORK/$name.c.log" 2>&1
    grep -E '^(calls:|per call, all|wall per)' "$WORK/$name.c.log" | sed 's/^/   /'
}

ROWS=""
for w in $WORKLOADS; do
    case $w in
    seed)
        bench seed "$REPEAT_SEED" "--tasks 007bbfb7" "$DATA/007bbfb7.json"
        ROWS="$ROWS seed" ;;
    own)
        bench own "$REPEAT_OWN" "" "$DATA" --own
        ROWS="$ROWS own" ;;
    cross)
        python3 "$ROOT/tools/py_sweep.py" "$A" "$DATA" --list-tasks --ntasks "$NTASKS" --seed "$SEED" >"$WORK/tasks.txt"
        bench cross "$REPEAT_CROSS" "--tasks $(tr '\n' ' ' <"$WORK/tasks.txt")" \
            "$(sed "s|.*|$DATA/&.json|" "$WORK/tasks.txt" | tr '\n' ' ')"
        ROWS="$ROWS cross" ;;
    *) echo "bench_dsl.sh: unknown workload $w" >&2; exit 2 ;;
    esac
done

echo "bench_dsl.sh: $(uptime | sed 's/.*load average/load average/') (after)"
echo
python3 "$ROOT/tools/bench_table.py" --header
for r in $ROWS; do
    case $r in
    seed) python3 "$ROOT/tools/bench_table.py" "seed 007bbfb7 (best of $REPEAT_SEED)" "$WORK/seed.py.times" "$WORK/seed.c.times" ;;
    own) python3 "$ROOT/tools/bench_table.py" "own (400 solvers)" "$WORK/own.py.times" "$WORK/own.c.times"
         python3 "$ROOT/tools/bench_table.py" "own without a64e4611" "$WORK/own.py.times" "$WORK/own.c.times" --exclude a64e4611 ;;
    cross) python3 "$ROOT/tools/bench_table.py" "cross $NTASKS tasks" "$WORK/cross.py.times" "$WORK/cross.c.times"
           python3 "$ROOT/tools/bench_table.py" "cross $NTASKS tasks without the 4" "$WORK/cross.py.times" "$WORK/cross.c.times" --exclude "$PATHOLOGICAL" ;;
    esac
done
