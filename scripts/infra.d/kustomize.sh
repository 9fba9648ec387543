# shellcheck shell=bash
# kustomize: not a service, a build tool. `up` makes sure the binary exists: the
# kustomize CLI (sigs.k8s.io/kustomize/kustomize/v5 v5.8.2) built with Go from the
# pinned tools module scripts/infra.d/kustomize into the cache. The deployment
# tests render k8s/ with it (docs/deployment.md).

KUSTOMIZE_VERSION=5.8.2
KUSTOMIZE_BUILT="$INFRA_CACHE/bin/kustomize-$KUSTOMIZE_VERSION"

# Prints the absolute path of the kustomize to use ($KUSTOMIZE, else the cached build), or fails.
kustomize_path() {
    if [[ -n ${KUSTOMIZE:-} && -x ${KUSTOMIZE:-} ]]; then
        realpath "$KUSTOMIZE"; return 0
    fi
    if [[ -x $KUSTOMIZE_BUILT && -f $KUSTOMIZE_BUILT.stamp && "$(<"$KUSTOMIZE_BUILT.stamp")" == "$(go_mod_hash "$INFRA_D/kustomize")" ]]; then
        echo "$KUSTOMIZE_BUILT"; return 0
    fi
    return 1
}

kustomize_up() {
    if ! kustomize_path >/dev/null; then
        go_build_cached kustomize "$INFRA_D/kustomize" "$KUSTOMIZE_BUILT" sigs.k8s.io/kustomize/kustomize/v5 \
            -ldflags "-s -w" || { record_failure kustomize "could not build kustomize v$KUSTOMIZE_VERSION with go (see above)"; return 1; }
    fi
    say "kustomize: $(kustomize_path) (a build tool, not a service; path: scripts/infra kustomize-path)"
}

kustomize_down() { return 0; }

kustomize_status() {
    local p
    if p=$(kustomize_path); then
        echo "kustomize binary   $p"
    else
        echo "kustomize missing  (scripts/infra up kustomize builds it into $KUSTOMIZE_BUILT)"; return 1
    fi
}
