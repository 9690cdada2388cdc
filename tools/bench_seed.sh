#!/bin/sh
# bench_seed.sh [BUILD_DIR]: the seed project's headline workload, end to end: task 007bbfb7
# (5 demo + 1 test samples) with 149 candidates made by battfarm-mutate from our example
# program (148 mutants + the original), through `battfarm score` (parse, dedup, static check,
# score on 2 workers, journal, scores.jsonl, store). The seed's run_batt.py took 16.8 s.
# Prints the wall time of each of 10 runs and the median.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/battfarm-mutate" --seed 7 --count 148 --rate 0.15 --out "$work/pile" data/programs/007bbfb7.py
cp data/programs/007bbfb7.py "$work/pile/"
n=$(ls "$work/pile" | wc -l)
echo "candidates: $n files; task 007bbfb7; -j 2"
times=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    rm -rf "$work/out"
    t0=$(date +%s%N)
    "$build/master/battfarm" score -j 2 --quiet "$work/pile" --tasks data/arc-agi-1/training/007bbfb7.json \
        --out "$work/out" >"$work/summary" 2>"$work/log"
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000 ))
    times="$times $ms"
    printf 'run %2d: %6.1f ms\n' "$i" "$(echo "$ms" | awk '{print $1/1000}')"
done
echo "$times" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "median: %.1f ms (min %.1f, max %.1f)\n", a[int((NR+1)/2)]/1000, a[1]/1000, a[NR]/1000}'
grep -E "programs:|results in" "$work/log" | sed 's/^/  /'
sed 's/^/  /' "$work/summary"
