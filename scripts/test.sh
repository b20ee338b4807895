#!/usr/bin/env bash
# The test command (README): installs what the tests need when it is missing, then runs every
# test of the crate: unit, integration over real HTTP, store contract, doc tests, and benches
# compiled as tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Redis tests start their own redis-server processes (and a 3-master cluster with
# redis-cli): install them when missing. The SMTP tests bring their own server.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    # The packaged service is not needed: tests run their own servers on free ports.
    $sudo service redis-server stop >/dev/null 2>&1 || true
fi

# The browser test (tests/browser.rs) drives headless Chromium through chromedriver: install
# Debian's packages when either is missing.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

cargo test --all-features --all-targets
cargo test --all-features --doc
