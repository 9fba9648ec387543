# shellcheck shell=bash
# daprd: not a long-running service here (the tests start the app sidecars).
# `up` makes sure a binary exists: daprd on PATH, ~/.dapr/bin/daprd (what
# `dapr init` installs), else a slim daprd built from tools/daprd (Dapr Go
# module v1.18.3, only the components this project uses) into the cache.

DAPR_VERSION=1.18.3
DAPRD_MODULE_DIR="$REPO_ROOT/tools/daprd"
DAPRD_BUILT="$INFRA_CACHE/bin/daprd-$DAPR_VERSION"

# Prints the absolute path of the daprd to use, or fails.
daprd_path() {
    local p
    if [[ -n ${DAPRD:-} && -x ${DAPRD:-} ]]; then
        realpath "$DAPRD"; return 0
    fi
    if p=$(command -v daprd 2>/dev/null); then
        realpath "$p"; return 0
    fi
    if [[ -x $HOME/.dapr/bin/daprd ]]; then
        echo "$HOME/.dapr/bin/daprd"; return 0
    fi
    if [[ -x $DAPRD_BUILT && -f $DAPRD_BUILT.stamp && "$(<"$DAPRD_BUILT.stamp")" == "$(go_mod_hash "$DAPRD_MODULE_DIR")" ]]; then
        echo "$DAPRD_BUILT"; return 0
    fi
    return 1
}

# The upstream daprd app package imports cmd/daprd/components, whose file
# zz_notag.go panics at start-up unless the build sets the "allcomponents" or
# "stablecomponents" tag (either would compile in every component). Go refuses
# overlays of files in GOMODCACHE, so the build uses a copy of the Dapr module
# in the cache, with that one file swapped for tools/daprd/overlay/zz_notag.go
# (an empty package file), through a generated -modfile that points
# github.com/dapr/dapr at the copy. The committed go.mod/go.sum stay as they are.
_daprd_prepare_build() {
    local src build="$INFRA_CACHE/build/daprd-$DAPR_VERSION"
    src=$(cd "$DAPRD_MODULE_DIR" && go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
    [[ -n $src && -d $src/cmd/daprd/components ]] || { err "daprd: could not download github.com/dapr/dapr@v$DAPR_VERSION"; return 1; }
    local patched="$build/dapr"
    local h; h=$(sha256sum "$DAPRD_MODULE_DIR/overlay/zz_notag.go" | cut -c1-16)
    if [[ ! -f $patched/.slim-$h ]]; then
        rm -rf "$patched"; mkdir -p "$build"
        cp -r "$src" "$patched.tmp.$$" && chmod -R u+w "$patched.tmp.$$" || return 1
        cp "$DAPRD_MODULE_DIR/overlay/zz_notag.go" "$patched.tmp.$$/cmd/daprd/components/zz_notag.go"
        touch "$patched.tmp.$$/.slim-$h"
        mv "$patched.tmp.$$" "$patched"
    fi
    { cat "$DAPRD_MODULE_DIR/go.mod"; printf '\nreplace github.com/dapr/dapr => %s\n' "$patched"; } >"$build/go.mod"
    cp "$DAPRD_MODULE_DIR/go.sum" "$build/go.sum"
    echo "$build/go.mod"
}

daprd_install() {
    local modfile
    command -v go >/dev/null 2>&1 || {
        err "daprd: no daprd on PATH or in ~/.dapr/bin, and no Go toolchain to build one (install Go or Dapr)"
        return 1
    }
    modfile=$(_daprd_prepare_build) || return 1
    go_build_cached daprd "$DAPRD_MODULE_DIR" "$DAPRD_BUILT" . -modfile="$modfile" \
        -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"
    local rc=$?
    (( rc == 0 )) && ln -sfn "daprd-$DAPR_VERSION" "$INFRA_CACHE/bin/daprd"
    return $rc
}

daprd_up() {
    local p
    if ! p=$(daprd_path); then
        daprd_install || { record_failure daprd "could not build the slim daprd from tools/daprd (see above)"; return 1; }
        p=$(daprd_path) || { record_failure daprd "built daprd not found at $DAPRD_BUILT"; return 1; }
    fi
    if ! "$p" --version >/dev/null 2>&1; then
        record_failure daprd "$p does not run (--version failed)"
        return 1
    fi
    say "daprd: $p (version $("$p" --version 2>/dev/null | head -n 1)); not a service, sidecars are started by the tests/apps; path: scripts/infra daprd-path"
}

daprd_down() { return 0; }

daprd_status() {
    local p
    if p=$(daprd_path); then
        echo "daprd     binary   $p  (version $("$p" --version 2>/dev/null | head -n 1))"
    else
        echo "daprd     missing  (scripts/infra up daprd builds it into $DAPRD_BUILT)"; return 1
    fi
}
