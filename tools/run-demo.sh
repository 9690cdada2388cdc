#!/bin/sh
# run-demo.sh: the main job on the data bundled in the repo. Installs what is missing, builds,
# makes a pile of mutants of our example programs, sweeps the pile over the bundled ARC-AGI-1
# training tasks with one worker per core (at least one per GPU), prints the summary and
# writes out/demo/{results.jsonl,scores.jsonl,report.html,store/}. About 630,000 results:
# about 15 s on 2 cores, 180 MB of journal.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

out=out/demo
rm -rf "$out"
mkdir -p "$out"
build/tools/battfarm-mutate --seed 1 --count 3 --out "$out/pile" data/programs/*.py
build/master/battfarm score data/programs "$out/pile" --tasks data/arc-agi-1/training --out "$out" --report
echo "report: $out/report.html"
