#!/usr/bin/env bash
# Fuzz smoke test: builds every fuzz target (fuzz/, cargo fuzz on stable Rust, no sanitizer)
# and runs each for a few seconds from its committed corpus (fuzz/corpus/<target>/), which
# includes every crash found so far as a regression input. Fails if any target crashes,
# panics, times out or runs out of memory, or if a target has no corpus.
#
#   scripts/fuzz-smoke.sh                  # every target, 5 s each
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh form next
#
# Needs only stable Rust (cargo) and a C++ compiler (libfuzzer-sys compiles libFuzzer from its
# bundled sources): cargo-fuzz is installed when missing, and g++ with apt-get when there is no
# C++ compiler and we are root. Nothing but crates (and that Debian package) is downloaded.
#
# New inputs found during the run go to a temporary folder: the committed corpus is only read.
# A crashing input is kept in fuzz/artifacts/<target>/ (see fuzz/README.md to reproduce it).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-5}"
cargo_fuzz_version=0.13.2

if ! command -v c++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz-smoke: installing g++ (libFuzzer is C++)" >&2
        apt-get update -qq && apt-get install -y -qq g++ >/dev/null
    else
        echo "fuzz-smoke: a C++ compiler (g++ or clang++) is needed to build libFuzzer" >&2
        exit 2
    fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz $cargo_fuzz_version" >&2
    cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

# Plain stable Rust: no sanitizer (it would need -Z flags), no RUSTC_BOOTSTRAP.
build=(--sanitizer none)
cargo fuzz build "${build[@]}"
# The binaries are run directly: `cargo fuzz run` would ask cargo to build again per target.
target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path fuzz/Cargo.toml |
    grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
host="$(rustc -vV | sed -n 's/^host: //p')"
bins="$target_dir/$host/release"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz-smoke: no fuzz target found" >&2
    exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
    case "$target" in
        config | accounts_file) dict=fuzz/dicts/toml.dict ;;
        *) dict=fuzz/dicts/http.dict ;;
    esac
    if [ -z "$(ls -A "fuzz/corpus/$target" 2>/dev/null)" ]; then
        echo "fuzz-smoke: $target has no corpus in fuzz/corpus/$target" >&2
        failed+=("$target")
        continue
    fi
    if [ ! -x "$bins/$target" ]; then
        echo "fuzz-smoke: no binary $bins/$target" >&2
        failed+=("$target")
        continue
    fi
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    log="$scratch/$target.log"
    if "$bins/$target" "$scratch/$target" "fuzz/corpus/$target" \
        -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -dict="$dict" -print_final_stats=1 >"$log" 2>&1; then
        runs="$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
        speed="$(grep -Eo '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
        echo "fuzz-smoke: $target ok: $runs runs, $speed exec/s"
    else
        echo "fuzz-smoke: $target FAILED" >&2
        grep -E -A12 "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -40 >&2 || tail -40 "$log" >&2
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets passed (${seconds} s each)"
