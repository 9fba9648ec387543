# shellcheck shell=bash
# Shared helpers for scripts/infra. Sourced, not executed.

INFRA_STATE="${INFRA_STATE:-$REPO_ROOT/.local/infra}"
INFRA_CACHE="${PRODUCT_INFRA_CACHE:-$HOME/.cache/product-service}"
INFRA_HOST=127.0.0.1
export INFRA_STATE INFRA_CACHE

# Failures collected by the current command; see record_failure / finish.
INFRA_FAILURES=()

is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

_ts() { date +%H:%M:%S; }
say()  { printf '[infra %s] %s\n' "$(_ts)" "$*"; }
warn() { printf '[infra %s] WARNING: %s\n' "$(_ts)" "$*" >&2; }
err()  { printf '[infra %s] ERROR: %s\n' "$(_ts)" "$*" >&2; }

# record_failure COMPONENT REASON: remember that a piece could not be installed
# or started. `finish` turns the list into the exit status.
record_failure() {
    INFRA_FAILURES+=("$1: $2")
    err "$1: $2"
}

now_s() { date +%s; }

# port_open PORT [HOST]: true when something accepts TCP connections there.
port_open() {
    local port=$1 host=${2:-$INFRA_HOST}
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# wait_until TIMEOUT_S WHAT CMD...: run CMD every half second until it succeeds.
# Prints a dot line every 10 s so long waits show progress.
wait_until() {
    local timeout=$1 what=$2; shift 2
    local start; start=$(now_s)
    local last=$start
    while ! "$@" >/dev/null 2>&1; do
        local t; t=$(now_s)
        if (( t - start >= timeout )); then
            return 1
        fi
        if (( t - last >= 10 )); then
            say "  still waiting for $what ($(( t - start ))s)"
            last=$t
        fi
        sleep 0.5
    done
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE is running and its command line
# contains PATTERN (guards against a recycled pid).
pid_alive() {
    local pidfile=$1 pattern=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

pid_of() { cat "$1" 2>/dev/null; }

# start_bg PIDFILE LOGFILE CMD...: start CMD detached in its own session
# (survives the caller's Ctrl-C / make exiting), output appended to LOGFILE.
start_bg() {
    local pidfile=$1 logfile=$2; shift 2
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    printf '\n==== %s start: %s\n' "$(date -Is)" "$*" >>"$logfile"
    # 9>&-: do not hand the scripts/infra lock to the service.
    setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    echo $! >"$pidfile"
}

# stop_pid NAME PIDFILE PATTERN [TIMEOUT_S]: TERM the process (and its process
# group), KILL after the timeout, remove the pid file.
stop_pid() {
    local name=$1 pidfile=$2 pattern=$3 timeout=${4:-30} pid
    if ! pid_alive "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    say "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local start; start=$(now_s)
    while kill -0 "$pid" 2>/dev/null; do
        if (( $(now_s) - start >= timeout )); then
            warn "$name did not stop within ${timeout}s, killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.3
    done
    rm -f "$pidfile"
}

# Socket paths are limited to 107 bytes; fall back to a short per-checkout
# directory under /tmp when the checkout lives deep in the file system.
short_sock_path() {
    local want=$1 name=$2
    if (( ${#want} < 100 )); then
        echo "$want"
    else
        local h; h=$(printf '%s' "$REPO_ROOT" | md5sum | cut -c1-10)
        mkdir -p "/tmp/product-infra-$h"
        echo "/tmp/product-infra-$h/$name"
    fi
}

# ---- Debian packages -------------------------------------------------------

_APT_UPDATED=0
as_root() {
    if (( EUID == 0 )); then "$@";
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@";
    else return 1; fi
}

# apt_install PKG...: install Debian packages without letting their maintainer
# scripts start system services (we run our own instances).
apt_install() {
    command -v apt-get >/dev/null 2>&1 || { err "apt-get not found"; return 1; }
    local policy=/usr/sbin/policy-rc.d added=0 rc=0
    if [[ ! -e $policy ]]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy" && added=1
    fi
    if (( _APT_UPDATED == 0 )); then
        say "apt-get update (once)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$INFRA_STATE/apt.log" 2>&1 || rc=$?
        _APT_UPDATED=1
    fi
    if (( rc == 0 )); then
        say "apt-get install $* (log: $INFRA_STATE/apt.log)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
            >>"$INFRA_STATE/apt.log" 2>&1 || rc=$?
    fi
    if (( added )); then as_root rm -f "$policy"; fi
    if (( rc != 0 )); then
        err "apt-get failed for: $* (see $INFRA_STATE/apt.log)"
        tail -n 5 "$INFRA_STATE/apt.log" >&2 || true
    fi
    return $rc
}

# ---- Go tools built into the cache ------------------------------------------

# go_mod_hash DIR: identifies the inputs of a build from a pinned module dir.
go_mod_hash() {
    cat "$1/go.mod" "$1/go.sum" "$1"/*.go "$1"/*/*.go 2>/dev/null | sha256sum | cut -c1-16
}

# go_build_cached NAME MODDIR OUT PKG [go build args...]
# Builds PKG inside module MODDIR into OUT unless OUT exists and was built from
# the same go.mod/go.sum/*.go (stamp OUT.stamp; GO_BUILD_STAMP, when set, is the
# stamp instead, for builds whose flags are inputs too). Prints progress while building.
go_build_cached() {
    local name=$1 moddir=$2 out=$3 pkg=$4; shift 4
    local stamp="$out.stamp" want; want=${GO_BUILD_STAMP:-$(go_mod_hash "$moddir")}
    if [[ -x $out && -f $stamp && "$(<"$stamp")" == "$want" ]]; then
        return 0
    fi
    if ! command -v go >/dev/null; then
        err "$name: go not found on PATH (needed to build $out)"; return 1
    fi
    mkdir -p "$(dirname "$out")" "$INFRA_STATE/build"
    local log="$INFRA_STATE/build/$name.log" t0; t0=$(now_s)
    say "$name: building $pkg from $moddir into $out (cold: several minutes on 2 cores; log: $log)"
    : >"$log"
    ( cd "$moddir" && go build -v -trimpath -buildvcs=false "$@" -o "$out.tmp.$$" "$pkg" ) >>"$log" 2>&1 &
    local bpid=$! last=$t0
    # Polls each second (a build from warm Go caches takes about one), reports every 15 s.
    while kill -0 "$bpid" 2>/dev/null; do
        sleep 1
        if kill -0 "$bpid" 2>/dev/null && (( $(now_s) - last >= 15 )); then
            last=$(now_s)
            say "  still building $name ($(( last - t0 ))s, $(grep -vc '^go: downloading' "$log") packages compiled, $(grep -c '^go: downloading' "$log") modules downloaded)"
        fi
    done
    if ! wait "$bpid"; then
        rm -f "$out.tmp.$$"
        err "$name: go build failed, see $log"
        grep -v '^go: downloading' "$log" | tail -n 8 >&2 || true
        return 1
    fi
    mv -f "$out.tmp.$$" "$out"
    echo "$want" >"$stamp"
    local secs=$(( $(now_s) - t0 )) size; size=$(du -m "$out" | cut -f1)
    echo "$(date -Is) $name built in ${secs}s, ${size} MiB" >>"$INFRA_CACHE/build-times.log"
    say "$name: built in ${secs}s ($size MiB)"
}
