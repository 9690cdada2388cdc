#!/bin/sh
# run-fuzz.sh: builds the libFuzzer targets with clang (in build-fuzz/) and runs one, or all in turn.
#   tools/run-fuzz.sh TARGET SECONDS    e.g. tools/run-fuzz.sh fuzz_task 300
#   tools/run-fuzz.sh all SECONDS       every bf_fuzz_target of tools/CMakeLists.txt, SECONDS each
# The corpus grows in build-fuzz/corpus-TARGET (git-ignored), seeded from tests/fuzz/seeds/TARGET;
# crashes, leaks and timeouts land in build-fuzz/findings-TARGET/. Exits non-zero on any finding.
# Environment: FUZZ_JOBS (build parallelism, default 2), FUZZ_ARGS (extra libFuzzer flags).
set -eu
cd "$(dirname "$0")/.."

if [ $# -ne 2 ]; then
    echo "usage: $0 TARGET|all SECONDS" >&2
    exit 2
fi
target=$1
seconds=$2
build=build-fuzz
jobs=${FUZZ_JOBS:-2}

# the targets declared with bf_fuzz_target(<name> ...) in tools/CMakeLists.txt
list_targets() {
    sed -n 's/^[[:space:]]*bf_fuzz_target(\([A-Za-z0-9_]*\)[[:space:]].*/\1/p' tools/CMakeLists.txt
}

if [ "$target" = all ]; then
    targets=$(list_targets)
else
    targets=$target
fi
if [ -z "$targets" ]; then
    echo "$0: no fuzz targets declared in tools/CMakeLists.txt" >&2
    exit 2
fi

CC=clang cmake -S . -B "$build" -DBF_FUZZ=ON -DBF_CUDA=OFF -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

status=0
for t in $targets; do
    cmake --build "$build" -j "$jobs" --target "$t"
    corpus=$build/corpus-$t
    findings=$build/findings-$t
    mkdir -p "$corpus" "$findings"
    seeds=tests/fuzz/seeds/$t
    [ -d "$seeds" ] || seeds=
    dict=
    [ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
    echo "== $t: ${seconds}s, corpus $corpus${seeds:+, seeds $seeds}"
    # shellcheck disable=SC2086 # $dict, FUZZ_ARGS and $seeds may be empty or lists
    if ! "$build/tools/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$findings/" -print_final_stats=1 $dict ${FUZZ_ARGS:-} "$corpus" $seeds; then
        echo "== $t: FINDING (see $findings/)" >&2
        status=1
    fi
done
exit $status
