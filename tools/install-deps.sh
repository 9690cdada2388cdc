#!/bin/sh
# install-deps.sh: installs the Debian packages battfarm needs to build and test, if missing.
# As root it runs apt-get; otherwise it prints exactly what to install and exits 1.
#   tools/install-deps.sh           build + test dependencies
#   tools/install-deps.sh --fuzz    also clang and its libFuzzer runtime
#   tools/install-deps.sh --report  also chromium (headless screenshot of the HTML report)
# CUDA is optional and never installed here: with nvcc on PATH or in /usr/local/cuda/bin the
# build adds the GPU scoring path (cmake -DBF_CUDA=AUTO, the default).
set -eu

pkgs="build-essential cmake pkg-config libmsgpack-dev libcjson-dev check libsubunit-dev"
for arg in "$@"; do
    case "$arg" in
    --fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    --report) pkgs="$pkgs chromium" ;;
    *) echo "usage: tools/install-deps.sh [--fuzz] [--report]" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install the equivalents of:$missing" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages; run as root:  apt-get install -y$missing" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
