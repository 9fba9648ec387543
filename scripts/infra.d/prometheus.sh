# shellcheck shell=bash
# Prometheus and promtool: not services here, test tools. `up` makes sure both binaries exist:
# github.com/prometheus/prometheus/cmd/{prometheus,promtool} (Go module v0.316.0, which is
# Prometheus 3.16.0) built with Go from the pinned tools module scripts/infra.d/prometheus into
# the cache. tests/alerts runs promtool on the alert rules; the end-to-end suite starts its own
# prometheus on a free port (docs/operations.md, docs/infrastructure.md).
#
# Built with -tags remove_all_sd (Prometheus's own build tag, documented upstream): only the
# static, file and HTTP service discoveries, which is all a test needs, and fewer modules to
# download and compile on a cold machine. Without the builtinassets tag the web UI is not
# embedded (its assets are made by npm in a release build, not part of the Go module): the UI
# pages answer 404/500, the HTTP API (/api/v1/...) works.

PROMETHEUS_VERSION=3.16.0
PROMETHEUS_MODULE_DIR="$INFRA_D/prometheus"
PROMETHEUS_BUILT="$INFRA_CACHE/bin/prometheus-$PROMETHEUS_VERSION"
PROMTOOL_BUILT="$INFRA_CACHE/bin/promtool-$PROMETHEUS_VERSION"
PROMETHEUS_TAGS=remove_all_sd
_PROMETHEUS_VERSION_PKG=github.com/prometheus/common/version
PROMETHEUS_LDFLAGS="-s -w -X $_PROMETHEUS_VERSION_PKG.Version=$PROMETHEUS_VERSION -X $_PROMETHEUS_VERSION_PKG.Revision=module-v0.316.0 -X $_PROMETHEUS_VERSION_PKG.Branch=module -X $_PROMETHEUS_VERSION_PKG.BuildUser=scripts/infra"

# The build's inputs: the tools module's files and the flags (a changed tag rebuilds).
_prometheus_stamp() {
    printf '%s %s %s\n' "$(go_mod_hash "$PROMETHEUS_MODULE_DIR")" "$PROMETHEUS_TAGS" "$PROMETHEUS_LDFLAGS" \
        | sha256sum | cut -c1-16
}

# _prometheus_tool_path VAR BUILT: $VAR if set and executable, else BUILT if its stamp is current.
_prometheus_tool_path() {
    local explicit=${!1:-} built=$2
    if [[ -n $explicit && -x $explicit ]]; then
        realpath "$explicit"; return 0
    fi
    if [[ -x $built && -f $built.stamp && "$(<"$built.stamp")" == "$(_prometheus_stamp)" ]]; then
        echo "$built"; return 0
    fi
    return 1
}

# Print the absolute path of the prometheus / promtool to use ($PROMETHEUS / $PROMTOOL, else the
# cached build), or fail.
prometheus_path() { _prometheus_tool_path PROMETHEUS "$PROMETHEUS_BUILT"; }
promtool_path() { _prometheus_tool_path PROMTOOL "$PROMTOOL_BUILT"; }

prometheus_install() {
    local stamp name out
    command -v go >/dev/null 2>&1 || {
        err "prometheus: no Go toolchain to build prometheus and promtool (install Go, or set PROMETHEUS and PROMTOOL)"
        return 1
    }
    stamp=$(_prometheus_stamp)
    for name in prometheus promtool; do
        out="$INFRA_CACHE/bin/$name-$PROMETHEUS_VERSION"
        GO_BUILD_STAMP=$stamp go_build_cached "$name" "$PROMETHEUS_MODULE_DIR" "$out" \
            "github.com/prometheus/prometheus/cmd/$name" \
            -tags "$PROMETHEUS_TAGS" -ldflags "$PROMETHEUS_LDFLAGS" || return 1
    done
}

prometheus_up() {
    local p t
    if ! prometheus_path >/dev/null || ! promtool_path >/dev/null; then
        prometheus_install || {
            record_failure prometheus "could not build prometheus and promtool v$PROMETHEUS_VERSION with go (see above)"
            return 1
        }
    fi
    if ! p=$(prometheus_path) || ! t=$(promtool_path); then
        record_failure prometheus "built binaries not found at $PROMETHEUS_BUILT, $PROMTOOL_BUILT"
        return 1
    fi
    if ! "$p" --version >/dev/null 2>&1 || ! "$t" --version >/dev/null 2>&1; then
        record_failure prometheus "$p or $t does not run (--version failed)"
        return 1
    fi
    say "prometheus: $p and $t (version $PROMETHEUS_VERSION; test tools, not services; paths: scripts/infra prometheus-path, promtool-path)"
}

prometheus_down() { return 0; }

prometheus_status() {
    local p t rc=0
    if p=$(prometheus_path); then
        echo "prometheus binary   $p  ($("$p" --version 2>/dev/null | head -n 1))"
    else
        echo "prometheus missing  (scripts/infra up prometheus builds it into $PROMETHEUS_BUILT)"; rc=1
    fi
    if t=$(promtool_path); then
        echo "promtool   binary   $t  ($("$t" --version 2>/dev/null | head -n 1))"
    else
        echo "promtool   missing  (scripts/infra up prometheus builds it into $PROMTOOL_BUILT)"; rc=1
    fi
    return $rc
}
