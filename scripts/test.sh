#!/usr/bin/env bash
# Everything CI runs (.ci/run calls this), in stages, each timed:
#   asan      build with AddressSanitizer and UndefinedBehaviorSanitizer, warnings as errors,
#             and run every test
#   tsan      build the stress suite with ThreadSanitizer and run it
#   fuzz      build the libFuzzer targets (clang-16) and run each for MAJORDOMO_FUZZ_SECONDS
#             (default 30) seconds: scripts/fuzz.sh
#   consumer  install the asan build into a temporary prefix and build and run
#             test/cmake_consumer against it (find_package), then build it again from the
#             source tree (add_subdirectory)
# A failed stage does not stop the later ones; the script fails at the end.
# MAJORDOMO_STAGES="asan consumer" runs some of them (consumer needs asan's build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ccache

build=${MAJORDOMO_BUILD_DIR:-build/test}
jobs=${MAJORDOMO_JOBS:-$(nproc)}

stage_asan() {
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAJORDOMO_SANITIZE=ON \
          -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
    cmake --build "$build" -j "$jobs"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

# ThreadSanitizer: the library, the simulator and the stress suite (many calls on a
# four-thread io_context) in a build of their own; any report fails the stage.
stage_tsan() {
    local dir=${MAJORDOMO_TSAN_BUILD_DIR:-build/tsan}
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAJORDOMO_SANITIZE_THREAD=ON \
          -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMAJORDOMO_BUILD_BENCH=OFF -DMAJORDOMO_BUILD_EXAMPLES=OFF
    cmake --build "$dir" -j "$jobs" -t majordomo_stress
    # The suppressions file says why each entry is a false positive (uninstrumented OpenSSL).
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/test/stress/tsan.supp ${TSAN_OPTIONS:-}" \
        "$dir/test/majordomo_stress" --log_level=test_suite --report_level=short
}

stage_fuzz() {
    bash scripts/fuzz.sh "${MAJORDOMO_FUZZ_SECONDS:-30}"
}

stage_consumer() {
    local dir
    dir=$(realpath -m "$build/consumer")
    rm -rf "$dir"
    cmake --install "$build" --prefix "$dir/prefix" > /dev/null
    # The installed library is the sanitized test build, so the program links the sanitizers too.
    cmake -S test/cmake_consumer -B "$dir/installed" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
          -DCMAKE_PREFIX_PATH="$dir/prefix" -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined"
    cmake --build "$dir/installed" -j "$jobs"
    "$dir/installed/consumer"
    # From the source tree: no build type (no optimisation, no debug info), the cheapest build of
    # the two libraries the program links.
    cmake -S test/cmake_consumer -B "$dir/subdir" -G Ninja -DMAJORDOMO_SOURCE_DIR="$PWD"
    cmake --build "$dir/subdir" -j "$jobs"
    "$dir/subdir/consumer"
}

# Each stage is a function stage_<name>; another stage (ThreadSanitizer, say) is one more
# function and one more name here.
read -r -a stages <<< "${MAJORDOMO_STAGES:-asan tsan fuzz consumer}"

declare -A took status
failed=0
for s in "${stages[@]}"; do
    declare -F "stage_$s" > /dev/null || { echo "unknown stage '$s'" >&2; exit 2; }
    echo "=== stage $s"
    start=$(date +%s)
    set +e
    ( set -e; "stage_$s" )
    rc=$?
    set -e
    took[$s]=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then status[$s]=ok; else status[$s]="FAILED (exit $rc)"; failed=$((failed + 1)); fi
    echo "=== stage $s: ${status[$s]} in ${took[$s]} s"
done

echo
echo "stage         wall time"
total=0
for s in "${stages[@]}"; do
    printf '%-12s %6d s  %s\n' "$s" "${took[$s]}" "${status[$s]}"
    total=$((total + took[$s]))
done
printf '%-12s %6d s\n' total "$total"
echo "stages: $(( ${#stages[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
