#!/usr/bin/env bash
# Load test of the portal example, side by side with the peer (axum-login 0.18 +
# tower-sessions 0.14, shared/peer/axum-peer). Builds the portal example, the load generator
# (tools/load) and the peer in release, then runs the load generator, which starts the servers
# as child processes on free loopback ports, drives them with wrk (pinned: servers on core 0,
# wrk and Redis/PostgreSQL on core 1) and with its own HTTP/1.1 clients, and prints markdown
# tables of ratios measured side by side (see BENCHMARKS.md). Loopback only; the run is bounded
# (about 4 minutes per mode, cut at 5.5, killed at 6).
#
#   scripts/load.sh                   # the full run, memory stores
#   scripts/load.sh --redis           # Redis (a throw-away redis-server): guichet with and without
#                                     # client-side caching, the peer's session-redis
#   scripts/load.sh --redis --cache   # ... figures a-g with Redis client-side caching
#   scripts/load.sh --sqlite          # adds the peer's session-sqlite (and guichet on SQLite
#   scripts/load.sh --postgres        # / PostgreSQL when the portal reads GUICHET_DATABASE_URL)
#   scripts/load.sh --quick [...]     # short phases: checks that the tool works, figures are rough
#
# Installs wrk (and redis-server, postgresql when asked for) with apt-get when missing.
# The peer's manifest: see scripts/peer.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
. scripts/apt.sh

command -v wrk >/dev/null || install wrk
command -v taskset >/dev/null || install util-linux
for arg in "$@"; do
    case "$arg" in
        --redis) command -v redis-server >/dev/null || install redis-server ;;
        --postgres) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || install postgresql ;;
    esac
done

cargo build --release --example portal
cargo build --release -p guichet-load

# shellcheck source=scripts/peer.sh
. scripts/peer.sh
build_peer

timeout --kill-after=10 360 target/release/guichet-load --peer "$peer" "$@"
