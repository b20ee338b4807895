#!/usr/bin/env bash
# Cost ratios measured at the same time rather than one after the other. Two server processes
# share core 0 (`taskset`), two wrk share core 1, both pairs run at once: the scheduler gives
# each server half the core, so the ratio of their request counts is the ratio of their costs
# per request, and whatever else the machine is doing weighs on both alike. On the noisy 2-core
# machines these figures come from, this reads a cost ratio to about ±2 %, where
# back-to-back runs (scripts/load.sh) spread by ±30 % per round. Each mode first runs the two
# sides identical (A/A), which shows the method's own bias.
#
#   scripts/pairs.sh guard   # portal example twice: GET /health ÷ GET /health/signed-in
#   scripts/pairs.sh scale   # guichet serve on SQLite: 1 000 000 ÷ 1 000 accounts,
#                            # signed-in GET /auth/verify
#   scripts/pairs.sh redis   # portal example, signed-in GET /account: Redis with client-side
#                            # caching ÷ SQLite (Redis on core 1, beside wrk)
#   scripts/pairs.sh bare    # signed-in routes ÷ the peer's bare axum handler (`axum-peer
#                            # serve bare`, GET /protected: "ok"): the portal on SQLite and on
#                            # Redis with and without client-side caching, the peer on its
#                            # memory, SQLite and Redis stores
#   scripts/pairs.sh minimal # guichet's own cost, like for like: the minimal example (the
#                            # same "ok" and server loop as the peer's bare handler, with
#                            # guichet's session layer, and its guard on /protected) ÷ the bare
#                            # handler, on SQLite and Redis; and guarded ÷ unguarded there
#   scripts/pairs.sh postgres # the same on PostgreSQL (started here, on core 1): the minimal
#                            # example, the portal and the peer's PostgreSQL store ÷ bare
#
# ROUNDS (default 6) rounds of SECONDS_PER_ROUND (default 5) seconds; which side starts first
# alternates. Installs wrk, sqlite3, curl (and redis-server for `redis`, `bare` and `minimal`,
# postgresql for `postgres`) with apt-get when missing. Loopback only, temporary folders only.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
case "$mode" in
    guard | scale | redis | bare | minimal | postgres) ;;
    *)
        echo "usage: scripts/pairs.sh guard|scale|redis|bare|minimal|postgres" >&2
        exit 2
        ;;
esac
rounds="${ROUNDS:-6}"
seconds="${SECONDS_PER_ROUND:-5}"

# shellcheck source=scripts/apt.sh
. scripts/apt.sh
command -v wrk >/dev/null || install wrk
command -v taskset >/dev/null || install util-linux
command -v sqlite3 >/dev/null || install sqlite3
command -v curl >/dev/null || install curl
case "$mode" in
    redis | bare | minimal) command -v redis-server >/dev/null || install redis-server ;;
    postgres) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || install postgresql ;;
esac

cargo build --release --quiet --bin guichet --example portal --example minimal
if [ "$mode" = bare ] || [ "$mode" = minimal ] || [ "$mode" = postgres ]; then
    # shellcheck source=scripts/peer.sh
    . scripts/peer.sh
    build_peer
fi
guichet="$PWD/target/release/guichet"
portal="$PWD/target/release/examples/portal"
minimal="$PWD/target/release/examples/minimal"
scratch="$(mktemp -d)"
pids=()
pg=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$pg" ]; then
        runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$pg"
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

free_port() { # a port nothing answers on (connection refused)
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# ready PORT PATH LOG: waits for PATH to answer on PORT (any status); if it never does, shows
# LOG and stops.
ready() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1$2" && return
        sleep 0.1
    done
    echo "pairs.sh: the server on port $1 did not start:" >&2
    cat "$3" >&2
    exit 1
}

# start NAME DATABASE PROGRAM [ARGS...]: a server on core 0 in its own folder, its port in
# $port once /health answers.
start() {
    local dir="$scratch/$1" database="$2"
    shift 2
    port="$(free_port)"
    mkdir -p "$dir"
    (cd "$dir" && exec env GUICHET_ADDR="127.0.0.1:$port" GUICHET_DATABASE_URL="sqlite://$database" \
        GUICHET_INSECURE_COOKIES=1 GUICHET_OUTBOX="$dir/outbox" RUST_LOG=warn \
        taskset -c 0 "$@" >"$dir/log" 2>&1) &
    pids+=("$!")
    ready "$port" /health "$dir/log"
}

# start_peer NAME MODE [ARGS...]: the peer (`axum-peer serve MODE`) on core 0, its port in
# $port.
start_peer() {
    local name="$1" mode="$2"
    shift 2
    port="$(free_port)"
    (cd "$scratch" && exec env TMPDIR="$scratch" \
        taskset -c 0 "$peer" serve "$mode" --port "$port" "$@" >"$scratch/$name.log" 2>&1) &
    pids+=("$!")
    ready "$port" /protected "$scratch/$name.log"
}

# start_redis: a throw-away redis-server on core 1 (beside wrk), its port in $redis_port.
start_redis() {
    redis_port="$(free_port)"
    taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$scratch" >"$scratch/redis.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 50); do
        (echo >"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
        sleep 0.1
    done
}

# start_postgres DATABASE...: a throw-away PostgreSQL on core 1 (as the `postgres` user, in
# its own temporary folder), with these databases; its port in $pg_port.
start_postgres() {
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    pg="$(mktemp -d)"
    mkdir "$pg/socket"
    chown -R postgres:postgres "$pg"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg/data" --auth=trust -U postgres -E UTF8 \
        --no-sync >"$pg/initdb.log" 2>&1
    pg_port="$(free_port)"
    taskset -c 1 runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" \
        -o "-p $pg_port -k $pg/socket -c listen_addresses=127.0.0.1" -w -t 30 start >/dev/null
    for database in "$@"; do
        runuser -u postgres -- "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$database"
    done
}

# start_bare: the peer's bare handler twice ($bare, and $copy for the A/A row).
start_bare() {
    start_peer bare bare
    bare="$port"
    start_peer copy bare
    copy="$port"
}

# beside_bare PROGRAM: Redis, two bare peers ($bare, $copy), and PROGRAM (the portal or the
# minimal example) on SQLite ($sqlite), on Redis in one round trip ($redis) and on Redis with
# client-side caching ($cached), with their cookies ($cs, $cr, $cc).
beside_bare() {
    start_redis
    start_bare
    start sqlite "$scratch/a.db" "$1"
    sqlite="$port"
    start redis "$scratch/unused.db" env GUICHET_REDIS_URL="redis://127.0.0.1:$redis_port" "$1"
    redis="$port"
    start cached "$scratch/unused-too.db" env \
        GUICHET_REDIS_URL="redis://127.0.0.1:$redis_port" GUICHET_REDIS_CACHE=1 "$1"
    cached="$port"
    cs="$(cookie "$sqlite")"
    cr="$(cookie "$redis")"
    cc="$(cookie "$cached")"
}

# cookie PORT: signs the demo account ACME-001 in; prints the Cookie header's value.
cookie() {
    local jar="$scratch/jar-$1"
    curl -fs -c "$jar" -H 'Accept: application/json' -o /dev/null \
        -d 'user_code=ACME-001&password=Bonjour-Marie-2026' "http://127.0.0.1:$1/auth/login"
    echo "guichet=$(awk '$6 == "guichet" {print $7}' "$jar")"
}

# peer_cookie PORT: signs the peer's user in; prints the Cookie header's value.
peer_cookie() {
    local jar="$scratch/jar-$1"
    curl -fs -c "$jar" -o /dev/null -d 'username=alice&password=correct horse' \
        "http://127.0.0.1:$1/login"
    echo "id=$(awk '$6 == "id" {print $7}' "$jar")"
}

# load PORT COOKIE PATH OUT: wrk on core 1; writes the request count to OUT.
load() {
    taskset -c 1 wrk -t1 -c16 -d"${seconds}s" -H "Cookie: $2" -H 'Accept: application/json' \
        "http://127.0.0.1:$1$3" | awk '/requests in/ {print $1}' >"$4"
}

# answers PORT COOKIE PATH: stops the run unless PATH answers 2xx with COOKIE (a cookie that
# was refused would be measured as a fast 401).
answers() {
    local status
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $2" -H 'Accept: application/json' \
        "http://127.0.0.1:$1$3")"
    case "$status" in
        2??) ;;
        *)
            echo "pairs.sh: GET $3 on port $1 answered $status with its session cookie" >&2
            exit 1
            ;;
    esac
}

# pair LABEL PORT_A COOKIE_A PATH_A PORT_B COOKIE_B PATH_B: ROUNDS rounds at once; prints a
# table row: B ÷ A, the median and each round.
pair() {
    local label="$1" ratios="" background
    shift
    answers "$1" "$2" "$3"
    answers "$4" "$5" "$6"
    for round in $(seq "$rounds"); do
        if [ $((round % 2)) = 1 ]; then
            load "$1" "$2" "$3" "$scratch/count-a" &
            background=$!
            load "$4" "$5" "$6" "$scratch/count-b"
        else
            load "$4" "$5" "$6" "$scratch/count-b" &
            background=$!
            load "$1" "$2" "$3" "$scratch/count-a"
        fi
        wait "$background"
        ratios="$ratios $(awk -v a="$(cat "$scratch/count-a")" -v b="$(cat "$scratch/count-b")" \
            'BEGIN {printf "%.3f", b / a}')"
    done
    echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk -v label="$label" -v each="$ratios" '
        { r[NR] = $1 }
        END {
            median = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
            gsub(/^ /, "", each); gsub(/ /, ", ", each)
            printf "| %s | **%.3f** (%s) |\n", label, median, each
        }'
}

echo "command: \`scripts/pairs.sh $mode\`; $rounds rounds of ${seconds} s; servers on core 0, wrk -t1 -c16 on core 1, two of each at once"
echo
echo "| ratio (B ÷ A, requests served in the same seconds) | median (per round) |"
echo "| --- | --- |"
case "$mode" in
    guard)
        start a "$scratch/a.db" "$portal"
        a="$port"
        start b "$scratch/b.db" "$portal"
        b="$port"
        ca="$(cookie "$a")"
        cb="$(cookie "$b")"
        pair "A/A: \`GET /health\` ÷ \`GET /health\` (two portals)" \
            "$a" "$ca" /health "$b" "$cb" /health
        pair "guarded ÷ unguarded: \`GET /health/signed-in\` ÷ \`GET /health\`" \
            "$a" "$ca" /health "$b" "$cb" /health/signed-in
        ;;
    scale)
        # The demo accounts (to sign in with) plus generated ones, written by SQLite itself.
        for db in small copy large; do
            GUICHET_DATABASE_URL="sqlite://$scratch/$db.db" "$guichet" --json accounts import \
                src/store/memory/demo-accounts.toml >/dev/null 2>&1
        done
        for spec in small:1000 copy:1000 large:1000000; do
            sqlite3 "$scratch/${spec%%:*}.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${spec##*:})
INSERT INTO guichet_accounts
    (user_code, name, email, mailbox, client, services, password_hash, status, shared_inbox)
SELECT printf('GEN-%07d', i), 'Person ' || i, 'p' || i || '@gen.example',
       'p' || i || '@gen.example', 'acme', '["collection"]', NULL, 'active', 0 FROM n;
SQL
        done
        start small "$scratch/small.db" "$guichet" serve
        small="$port"
        start copy "$scratch/copy.db" "$guichet" serve
        copy="$port"
        start large "$scratch/large.db" "$guichet" serve
        large="$port"
        cs="$(cookie "$small")"
        cc="$(cookie "$copy")"
        cl="$(cookie "$large")"
        pair "A/A: 1 000 ÷ 1 000 accounts, signed-in \`GET /auth/verify\`" \
            "$small" "$cs" /auth/verify "$copy" "$cc" /auth/verify
        pair "1 000 000 ÷ 1 000 accounts, signed-in \`GET /auth/verify\`" \
            "$small" "$cs" /auth/verify "$large" "$cl" /auth/verify
        ;;
    redis)
        start_redis
        start sqlite "$scratch/a.db" "$portal"
        sqlite="$port"
        start copy "$scratch/b.db" "$portal"
        copy="$port"
        start redis "$scratch/unused.db" env GUICHET_REDIS_URL="redis://127.0.0.1:$redis_port" \
            GUICHET_REDIS_CACHE=1 "$portal"
        redis="$port"
        cs="$(cookie "$sqlite")"
        cc="$(cookie "$copy")"
        cr="$(cookie "$redis")"
        pair "A/A: SQLite ÷ SQLite, signed-in \`GET /account\`" \
            "$sqlite" "$cs" /account "$copy" "$cc" /account
        pair "Redis with client-side caching ÷ SQLite, signed-in \`GET /account\`" \
            "$sqlite" "$cs" /account "$redis" "$cr" /account
        ;;
    bare)
        # The same Cookie header goes to the bare handler as to the portal, so both read
        # requests of one size.
        beside_bare "$portal"
        start_peer peer-mem session-mem
        peer_mem="$port"
        start_peer peer-sqlite session-sqlite
        peer_sqlite="$port"
        start_peer peer-redis session-redis --redis "redis://127.0.0.1:$redis_port"
        peer_redis="$port"
        pm="$(peer_cookie "$peer_mem")"
        ps="$(peer_cookie "$peer_sqlite")"
        pr="$(peer_cookie "$peer_redis")"
        pair "A/A: bare ÷ bare (two peers), \`GET /protected\`" \
            "$bare" "$cs" /protected "$copy" "$cs" /protected
        pair "guichet, SQLite, signed-in \`GET /health/signed-in\` (\"ok\" behind \`RequireAuth\`) ÷ bare" \
            "$bare" "$cs" /protected "$sqlite" "$cs" /health/signed-in
        pair "guichet, SQLite, signed-in \`GET /account\` (JSON) ÷ bare" \
            "$bare" "$cs" /protected "$sqlite" "$cs" /account
        pair "guichet, Redis with client-side caching, signed-in \`GET /account\` ÷ bare" \
            "$bare" "$cc" /protected "$cached" "$cc" /account
        pair "guichet, Redis in one round trip, signed-in \`GET /account\` ÷ bare" \
            "$bare" "$cr" /protected "$redis" "$cr" /account
        pair "peer, memory store, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$pm" /protected "$peer_mem" "$pm" /protected
        pair "peer, SQLite store, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$ps" /protected "$peer_sqlite" "$ps" /protected
        pair "peer, Redis store, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$pr" /protected "$peer_redis" "$pr" /protected
        ;;
    minimal)
        beside_bare "$minimal"
        start twin "$scratch/b.db" "$minimal"
        twin="$port"
        ct="$(cookie "$twin")"
        pair "A/A: bare ÷ bare (two peers), \`GET /protected\`" \
            "$bare" "$cs" /protected "$copy" "$cs" /protected
        pair "minimal, SQLite, public \`GET /health\` with the cookie (session layer, no guard) ÷ bare" \
            "$bare" "$cs" /protected "$sqlite" "$cs" /health
        pair "minimal, SQLite, signed-in \`GET /protected\` (\`RequireAuth\`) ÷ bare" \
            "$bare" "$cs" /protected "$sqlite" "$cs" /protected
        pair "minimal, SQLite, signed-in \`GET /identity\` (the \`Identity\` extractor) ÷ bare" \
            "$bare" "$cs" /protected "$sqlite" "$cs" /identity
        pair "minimal, SQLite: guarded ÷ unguarded, \`GET /protected\` ÷ \`GET /health\` (two processes)" \
            "$twin" "$ct" /health "$sqlite" "$cs" /protected
        pair "minimal, Redis with client-side caching, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$cc" /protected "$cached" "$cc" /protected
        pair "minimal, Redis in one round trip, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$cr" /protected "$redis" "$cr" /protected
        ;;
    postgres)
        start_postgres minimal portal peer
        pg_url="postgres://postgres@127.0.0.1:$pg_port"
        start_bare
        start minimal "$scratch/unused.db" env GUICHET_DATABASE_URL="$pg_url/minimal" "$minimal"
        minimal_port="$port"
        start portal "$scratch/unused-too.db" env GUICHET_DATABASE_URL="$pg_url/portal" "$portal"
        portal_port="$port"
        export PEER_DATABASE_URL="$pg_url/peer"
        start_peer peer-postgres session-postgres
        peer_pg="$port"
        cm="$(cookie "$minimal_port")"
        cp="$(cookie "$portal_port")"
        pp="$(peer_cookie "$peer_pg")"
        pair "A/A: bare ÷ bare (two peers), \`GET /protected\`" \
            "$bare" "$cm" /protected "$copy" "$cm" /protected
        pair "minimal, PostgreSQL, signed-in \`GET /protected\` (\`RequireAuth\`) ÷ bare" \
            "$bare" "$cm" /protected "$minimal_port" "$cm" /protected
        pair "portal, PostgreSQL, signed-in \`GET /account\` (JSON) ÷ bare" \
            "$bare" "$cp" /protected "$portal_port" "$cp" /account
        pair "peer, PostgreSQL store, signed-in \`GET /protected\` ÷ bare" \
            "$bare" "$pp" /protected "$peer_pg" "$pp" /protected
        ;;
esac
