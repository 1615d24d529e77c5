#!/usr/bin/env bash
# The main job: builds majordomo (release) and runs the swap-latency benchmark against
# the built-in llama-swap simulator. Extra arguments go to the benchmark (see --help);
# --url http://host:port runs it against a real llama-swap instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ccache

build=${MAJORDOMO_BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAJORDOMO_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target majordomo-swapbench
mkdir -p "$build/results"
"$build/bench/majordomo-swapbench" --json "$build/results/swapbench.json" --csv "$build/results/swapbench.csv" \
    --svg "$build/results/swapbench.svg" "$@"
echo "results: $build/results/swapbench.{json,csv,svg}"
