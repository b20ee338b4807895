#!/usr/bin/env bash
# The test command (README): installs what the tests need when it is missing, then runs every
# test of the crate: unit, integration over real HTTP, store contract, doc tests, and benches
# compiled as tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Nothing outside cargo is needed yet. Later backends (Redis, SMTP) install their servers here,
# e.g. `command -v redis-server || (apt-get update && apt-get install -y redis-server)`.

cargo test --all-features --all-targets
cargo test --all-features --doc
