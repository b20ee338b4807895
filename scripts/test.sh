#!/usr/bin/env bash
# The test command (README): installs what the tests need when it is missing, then runs every
# test of the crate (unit, integration over real HTTP, store contract, browser, doc tests, and
# benches compiled as tests), every suite to the end, and fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# The tests start their own servers on free ports: redis-server (and a 3-master cluster with
# redis-cli), PostgreSQL (initdb/pg_ctl in a temp folder), nginx and Caddy (their own
# configs, for the forward-auth recipes), and headless Chromium through chromedriver. Install
# the Debian packages that are missing; the services they would start are not needed.
missing=()
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || exit 1
    for service in redis-server postgresql nginx caddy; do
        $sudo service "$service" stop >/dev/null 2>&1 || true
    done
fi

status=0
cargo test --all-features --all-targets --no-fail-fast || status=1
cargo test --all-features --doc --no-fail-fast || status=1
exit $status
