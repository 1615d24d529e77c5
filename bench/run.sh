#!/usr/bin/env bash
# Runs every performance benchmark of issue 5 side by side in one go: installs what is
# missing (nginx, wrk, Node.js and the openai SDK), builds the release benches, starts
# nginx on loopback with canned chat responses, and prints each figure.
#
#   bash bench/run.sh [seconds per run, default 5]
#
# Output is also written to build/release/results/bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=(ccache)
command -v nginx >/dev/null || extra+=(nginx-light)
command -v wrk >/dev/null || extra+=(wrk)
command -v node >/dev/null || extra+=(nodejs npm)
bash scripts/setup.sh "${extra[@]}"

seconds=${1:-5}
build=${MAJORDOMO_BUILD_DIR:-build/release}
port=${MAJORDOMO_BENCH_PORT:-8089}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAJORDOMO_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target majordomo-chunk-bench majordomo-httpbench majordomo-streambench
(cd bench/node && npm ci --no-audit --no-fund --loglevel=error)

bin="$build/bench"
www=$(realpath -m "$build/bench-www")
results="$build/results"
mkdir -p "$www/html" "$results"
"$bin/majordomo-streambench" --write-fixtures "$www/html" --chunks 1000

# One worker, so nginx takes one core and the client the other. POSTs to a static file
# get 405; error_page turns that into the file (the method becomes GET internally).
cat > "$www/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $www/nginx.pid;
error_log $www/error.log;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    send_timeout 600s;
    client_body_temp_path $www/body;
    server {
        listen 127.0.0.1:$port backlog=16384;
        root $www/html;
        location /whole/ { default_type application/json; error_page 405 =200 \$uri; }
        location /stream/ { default_type text/event-stream; error_page 405 =200 \$uri; }
    }
}
CONF
nginx -t -q -c "$www/nginx.conf" -p "$www"
if [ -s "$www/nginx.pid" ]; then # left over from an interrupted run
    nginx -c "$www/nginx.conf" -p "$www" -s stop 2>/dev/null || true
    sleep 1
fi
nginx -c "$www/nginx.conf" -p "$www"
trap 'nginx -c "$www/nginx.conf" -p "$www" -s stop 2>/dev/null || true' EXIT
sleep 0.5

cat > "$www/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"stream":false}'
LUA

base="http://127.0.0.1:$port"
ulimit -n "$(ulimit -Hn)"
{
    echo "== $(date -u +%FT%TZ) $(nproc) cores; nginx $(nginx -v 2>&1 | cut -d/ -f2); node $(node --version)"
    echo "== (a) SSE + JSON decoding into typed chunks, no I/O"
    "$bin/majordomo-chunk-bench" 300000
    echo "== (b) whole responses, 64 concurrent on one thread"
    wrk -t1 -c64 -d"${seconds}s" -s "$www/post.lua" "$base/whole/v1/chat/completions" | grep -E "Requests/sec|Non-2xx|errors"
    "$bin/majordomo-httpbench" --url "$base/whole/v1" --seconds "$seconds"
    node bench/node/bench.mjs whole "$base/whole/v1" 64 "$seconds"
    echo "== (c) 1,000-chunk streams, 8 concurrent on one thread: the floor, majordomo, the Node SDK"
    "$bin/majordomo-streambench" --url "$base/stream/v1" --concurrency 8 --seconds "$seconds" | tee "$www/stream.txt"
    node bench/node/bench.mjs stream "$base/stream/v1" 8 "$seconds" 1000 | tee "$www/node.txt"
    # CPU per chunk is the number before "us CPU per chunk" on each line.
    per_chunk() { sed -n "s/^$1.* \([0-9.]*\) us CPU per chunk.*/\1/p" "$2" | head -1; }
    ours=$(per_chunk "majordomo stream" "$www/stream.txt")
    theirs=$(per_chunk "node openai stream" "$www/node.txt")
    [ -n "$ours" ] && [ -n "$theirs" ] &&
        awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio node / majordomo: %.1f x the CPU per chunk\n", b / a }'
    echo "== (d) 10,000 concurrent 1,000-chunk streams on one thread"
    "$bin/majordomo-streambench" --url "$base/stream/v1" --streams 10000
} 2>&1 | tee "$results/bench.txt"
exit "${PIPESTATUS[0]}"
