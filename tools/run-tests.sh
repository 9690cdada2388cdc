#!/bin/sh
# run-tests.sh: installs what is missing, builds, and runs every test through CTest, twice:
# the normal build (build/, CUDA if nvcc is present) and the ASan+UBSan build (build-asan/).
#   tools/run-tests.sh           both builds
#   tools/run-tests.sh --quick   the normal build only
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

tools/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${1:-}" != "--quick" ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBF_SANITIZE=ON -DBF_CUDA=OFF >/dev/null
    cmake --build build-asan -j "$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi
