#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz with clang-16 (ASan + UBSan) and runs each one for
# the given number of seconds (default 60), as many at once as there are cores. Each run starts
# from the seeds in test/fuzz/corpus/<target>/ (so a seed that crashes fails at once) and from
# what earlier runs found in <build>/work/<target>/corpus. A crash input lands in
# <build>/work/<target>/crashes/; reproduce it with <build>/test/fuzz/fuzz_<target> <file>.
#
#   bash scripts/fuzz.sh [seconds] [target...]
#
# MAJORDOMO_FUZZ_SEED (default 1; 0 = random) makes a run repeatable apart from its length.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ccache clang-16 libclang-rt-16-dev llvm-16

seconds=${1:-60}
if [ $# -gt 0 ]; then shift; fi
all_targets=(sse_parser chat_chunk chat_response embeddings error_body dsn url http_response model_calls)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
build=${MAJORDOMO_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${MAJORDOMO_JOBS:-$(nproc)}
seed=${MAJORDOMO_FUZZ_SEED:-1}

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMAJORDOMO_FUZZ=ON \
      -DMAJORDOMO_BUILD_TESTS=OFF -DMAJORDOMO_BUILD_BENCH=OFF -DMAJORDOMO_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" -j "$jobs" --target majordomo_fuzzers

# Use-after-return detection (on by default in clang 16, off in the g++ test build) makes every
# throw scan the fake stacks: decoders that throw on most inputs would run at half speed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
    export ASAN_SYMBOLIZER_PATH
fi

# One target: the seeds, then `seconds` of fuzzing. Writes its output to <work>/log and its
# exit status to <work>/rc.
run_target() {
    local t=$1 work="$build/work/$1" dict rc=0
    mkdir -p "$work/corpus" "$work/crashes"
    rm -f "$work/rc"
    case $t in
        sse_parser | dsn) dict="test/fuzz/$t.dict" ;;
        url) dict=test/fuzz/dsn.dict ;;
        http_response) dict=test/fuzz/http.dict ;;
        *) dict=test/fuzz/json.dict ;;
    esac
    "$build/test/fuzz/fuzz_$t" -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/" -dict="$dict" \
        "$work/corpus" "test/fuzz/corpus/$t" > "$work/log" 2>&1 || rc=$?
    echo "$rc" > "$work/rc"
}

report() {
    local t=$1 work="$build/work/$1" runs rc
    rc=$(cat "$work/rc" 2>/dev/null || echo "?")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    if [ "$rc" = 0 ]; then
        printf 'fuzz %-14s ok     %9s runs in %ss, corpus %s files\n' "$t" "${runs:-?}" "$seconds" \
            "$(find "$work/corpus" -type f | wc -l)"
    else
        printf 'fuzz %-14s FAILED (exit %s); crash inputs in %s\n' "$t" "$rc" "$work/crashes"
        # The invariant or sanitizer report up to its summary, then where the input went.
        grep -vE '^(#[0-9]+|INFO:|MS:|	NEW_FUNC|Dictionary:)' "$work/log" | sed -n '1,/^SUMMARY/p' |
            grep -vE '^ +#([2-9][0-9]|1[2-9]) ' | head -40 | sed 's/^/    /'
        grep -E '^(Test unit written|Base64:)' "$work/log" | sed 's/^/    /'
        return 1
    fi
}

for t in "${targets[@]}"; do
    [ -x "$build/test/fuzz/fuzz_$t" ] || { echo "no fuzz target '$t' (have: ${all_targets[*]})" >&2; exit 2; }
done
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    run_target "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
    report "$t" || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}" >&2
    exit 1
fi
