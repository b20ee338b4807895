#!/usr/bin/env bash
# Load test of the portal example (the load generator is tools/load): builds the portal example
# and the load generator in release, then runs the load generator, which starts the portal as a child process on a free loopback port,
# drives it over HTTP/1.1 keep-alive connections and prints a markdown table of ratios measured
# side by side. Loopback only; the run is bounded (about 2 minutes, cut at 4, killed at 5).
#
#   scripts/load.sh                   # the full run, memory stores
#   scripts/load.sh --redis           # the same with every store in a throw-away redis-server
#   scripts/load.sh --redis --cache   # ... with Redis client-side caching (RESP3 tracking)
#   scripts/load.sh --quick [--redis] # short phases: checks that the tool works, figures are rough
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --example portal
cargo build --release -p guichet-load

args=()
redis_pid=""
for arg in "$@"; do
    if [ "$arg" = "--redis" ]; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
        redis_pid=$!
        until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
        args+=(--redis "redis://127.0.0.1:$port")
    else
        args+=("$arg")
    fi
done
trap '[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null' EXIT

timeout --kill-after=10 300 target/release/guichet-load "${args[@]}"
