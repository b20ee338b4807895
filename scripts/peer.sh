# Sourced by the scripts that measure against the peer (axum-login + tower-sessions,
# shared/peer/axum-peer): `build_peer` builds it in release under target/peer and sets $peer
# to its binary. The manifest: $GUICHET_PEER_MANIFEST, else the first
# shared/peer/axum-peer/Cargo.toml in this repository's folder or a folder above it; without
# one, a binary built before is used.
build_peer() {
    peer="$PWD/target/peer/release/axum-peer"
    local manifest="${GUICHET_PEER_MANIFEST:-}" folder
    if [ -z "$manifest" ]; then
        folder="$(pwd -P)"
        while [ "$folder" != / ]; do
            if [ -f "$folder/shared/peer/axum-peer/Cargo.toml" ]; then
                manifest="$folder/shared/peer/axum-peer/Cargo.toml"
                break
            fi
            folder="$(dirname "$folder")"
        done
    fi
    if [ -n "$manifest" ]; then
        cargo build --release --quiet --manifest-path "$manifest" --target-dir target/peer
    elif [ ! -x "$peer" ]; then
        echo "$(basename "$0"): the peer's manifest (shared/peer/axum-peer/Cargo.toml) was not found; set GUICHET_PEER_MANIFEST" >&2
        exit 1
    fi
}
