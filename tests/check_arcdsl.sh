#!/bin/sh
# check_arcdsl.sh SWEEP DATA_DIR PY_SWEEP: the optional arc-dsl test (CTest label arcdsl).
# With ARC_DSL_DIR pointing to a checkout of michaelhodel/arc-dsl (dsl.py, constants.py,
# solvers.py): runs all 400 solvers of its solvers.py on their own tasks of DATA_DIR with
# battfarm-dsl-sweep and checks that 399 are correct on all their train and test pairs, the one
# failure being e40b9e2f (wrong under CPython 3.8+ too). Where python3 exists, also runs the same
# workload under CPython (tools/py_sweep.py) and checks that both dumps are identical call by
# call (same output values, frozenset order included), e40b9e2f's wrong outputs among them.
# Without ARC_DSL_DIR it skips (exit 77).
set -u
SWEEP=$1 DATA=$2 PY_SWEEP=$3
if [ -z "${ARC_DSL_DIR:-}" ]; then
    echo "SKIP: ARC_DSL_DIR is not set (point it to a checkout of michaelhodel/arc-dsl)"
    exit 77
fi
if [ ! -f "$ARC_DSL_DIR/solvers.py" ] || [ ! -f "$ARC_DSL_DIR/dsl.py" ]; then
    echo "SKIP: no dsl.py/solvers.py in ARC_DSL_DIR=$ARC_DSL_DIR"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_arcdsl.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
fail=0

# Generous limits: the slowest solver (a64e4611) takes about 1 s per call in CPython, and
# sanitizer builds are several times slower than ours normally is.
"$SWEEP" --own --timeout 120000 --dump "$TMP/ours.dump" "$ARC_DSL_DIR/solvers.py" --tasks "$DATA" >"$TMP/ours.log" 2>&1
rc=$?
cat "$TMP/ours.log"
if [ $rc -ne 0 ]; then
    echo "FAIL: battfarm-dsl-sweep exit status $rc"
    exit 1
fi
if ! grep -qx 'own-correct: 399/400' "$TMP/ours.log"; then
    echo "FAIL: expected 'own-correct: 399/400'"
    fail=1
fi
failed=$(sed -n 's/^own-failed://p' "$TMP/ours.log" | tr ' ' '\n' | sed '/^$/d;s/(.*//')
if [ "$failed" != "solvers:solve_e40b9e2f" ]; then
    echo "FAIL: expected e40b9e2f to be the only failing solver, got: $failed"
    fail=1
fi

if command -v python3 >/dev/null 2>&1; then
    python3 "$PY_SWEEP" "$ARC_DSL_DIR" "$DATA" --own --timeout 120 --dump "$TMP/py.dump" >"$TMP/py.log" 2>&1
    rc=$?
    sed 's/^/CPython: /' "$TMP/py.log"
    if [ $rc -ne 0 ]; then
        echo "FAIL: py_sweep.py exit status $rc"
        exit 1
    fi
    sort "$TMP/py.dump" >"$TMP/py.sorted"
    sort "$TMP/ours.dump" >"$TMP/ours.sorted"
    grep 'solve_e40b9e2f' "$TMP/py.sorted" >"$TMP/py.e40"
    grep 'solve_e40b9e2f' "$TMP/ours.sorted" >"$TMP/ours.e40"
    if [ ! -s "$TMP/py.e40" ] || ! cmp -s "$TMP/py.e40" "$TMP/ours.e40"; then
        echo "FAIL: e40b9e2f's outputs differ from CPython's"
        diff "$TMP/py.e40" "$TMP/ours.e40" | cut -c1-300
        fail=1
    fi
    n=$(wc -l <"$TMP/py.sorted")
    if cmp -s "$TMP/py.sorted" "$TMP/ours.sorted"; then
        echo "own dumps identical: $n calls"
    else
        echo "FAIL: the --own dumps differ (CPython <, ours >; first 20 lines):"
        diff "$TMP/py.sorted" "$TMP/ours.sorted" | cut -c1-300 | head -20
        fail=1
    fi
else
    echo "python3 not found: CPython comparison skipped"
fi
[ $fail -eq 0 ] && echo "PASS"
exit $fail
