#!/usr/bin/env bash
# Builds majordomo with AddressSanitizer and UndefinedBehaviorSanitizer, warnings as
# errors, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ccache

build=${MAJORDOMO_BUILD_DIR:-build/test}
jobs=${MAJORDOMO_JOBS:-$(nproc)}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAJORDOMO_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
cmake --build "$build" -j "$jobs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$jobs"
