# shellcheck shell=bash
# legacy_peer: not a service, a test tool. `up` makes sure the binary exists: tools/legacy_peer
# (a stand-in for the legacy Go order service on the Kafka wire: go-micro v4.11.0, its Kafka
# plugin v1.2.0, sarama v1.30.1, all pinned by its go.mod/go.sum) built with Go into the
# cache, one binary per hash of its sources, so checkouts of different versions share the
# cache without rebuilding each other's. The legacy-format tests run it (tests/legacy_peer.py).

LEGACY_PEER_DIR="$REPO_ROOT/tools/legacy_peer"

_legacy_peer_built() {
    echo "$INFRA_CACHE/bin/legacy_peer-$(go_mod_hash "$LEGACY_PEER_DIR")"
}

# Prints the absolute path of the legacy peer to use ($LEGACY_PEER, else the cached build of
# these sources), or fails.
legacy_peer_path() {
    local p
    if [[ -n ${LEGACY_PEER:-} && -x ${LEGACY_PEER:-} ]]; then
        realpath "$LEGACY_PEER"; return 0
    fi
    p=$(_legacy_peer_built)
    if [[ -x $p && -f $p.stamp && "$(<"$p.stamp")" == "$(go_mod_hash "$LEGACY_PEER_DIR")" ]]; then
        echo "$p"; return 0
    fi
    return 1
}

legacy_peer_up() {
    local p
    if ! p=$(legacy_peer_path); then
        go_build_cached legacy_peer "$LEGACY_PEER_DIR" "$(_legacy_peer_built)" . -ldflags "-s -w" \
            || { record_failure legacy_peer "could not build tools/legacy_peer with go (see above)"; return 1; }
        p=$(legacy_peer_path) || { record_failure legacy_peer "built legacy peer not found at $(_legacy_peer_built)"; return 1; }
    fi
    if ! "$p" help >/dev/null 2>&1; then
        record_failure legacy_peer "$p does not run (help failed)"
        return 1
    fi
    say "legacy_peer: $p (a test tool, not a service; path: scripts/infra legacy-peer-path)"
}

legacy_peer_down() { return 0; }

legacy_peer_status() {
    local p
    if p=$(legacy_peer_path); then
        echo "legacy_peer binary $p"
    else
        echo "legacy_peer missing (scripts/infra up legacy_peer builds it into $(_legacy_peer_built))"; return 1
    fi
}
