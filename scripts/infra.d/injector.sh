# shellcheck shell=bash
# injector: not a service, a build tool. `up` makes sure the binary exists: tools/injector,
# which runs the Dapr sidecar injector's own patch code (pkg/injector/patcher of the Dapr Go
# module v1.18.3, the version tools/daprd pins) on the pod template of a rendered Deployment and
# prints the pod the injector would admit. Built with Go into the cache; tests/deploy uses it
# (test_injected_pod.py, docs/deployment.md).

INJECTOR_MODULE_DIR="$REPO_ROOT/tools/injector"
INJECTOR_BUILT="$INFRA_CACHE/bin/injector-${DAPR_VERSION:-1.18.3}"

# Prints the absolute path of the injector to use ($INJECTOR, else the cached build), or fails.
injector_path() {
    if [[ -n ${INJECTOR:-} && -x ${INJECTOR:-} ]]; then
        realpath "$INJECTOR"; return 0
    fi
    if [[ -x $INJECTOR_BUILT && -f $INJECTOR_BUILT.stamp && "$(<"$INJECTOR_BUILT.stamp")" == "$(go_mod_hash "$INJECTOR_MODULE_DIR")" ]]; then
        echo "$INJECTOR_BUILT"; return 0
    fi
    return 1
}

injector_up() {
    if ! injector_path >/dev/null; then
        go_build_cached injector "$INJECTOR_MODULE_DIR" "$INJECTOR_BUILT" . -ldflags "-s -w" \
            || { record_failure injector "could not build tools/injector with go (see above)"; return 1; }
    fi
    local p; p=$(injector_path) || { record_failure injector "built injector not found at $INJECTOR_BUILT"; return 1; }
    if ! "$p" -show-config >/dev/null 2>&1; then
        record_failure injector "$p does not run (-show-config failed)"
        return 1
    fi
    say "injector: $p (Dapr $DAPR_VERSION's injector patch code; a build tool, not a service; path: scripts/infra injector-path)"
}

injector_down() { return 0; }

injector_status() {
    local p
    if p=$(injector_path); then
        echo "injector  binary   $p"
    else
        echo "injector  missing  (scripts/infra up injector builds it into $INJECTOR_BUILT)"; return 1
    fi
}
