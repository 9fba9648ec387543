# shellcheck shell=bash
# Jaeger all-in-one (github.com/jaegertracing/jaeger/cmd/jaeger, module v1.76.0,
# the Jaeger v2 line) built with Go from the pinned tools module in
# scripts/infra.d/jaeger; in-memory storage; config scripts/infra.d/jaeger/config.yaml.

JAEGER_VERSION=1.76.0
JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-4317}"
JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-4318}"
JAEGER_QUERY_PORT="${JAEGER_QUERY_PORT:-16686}"
JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}"
JAEGER_HEALTH_PORT="${JAEGER_HEALTH_PORT:-13133}"
export JAEGER_OTLP_GRPC_PORT JAEGER_OTLP_HTTP_PORT JAEGER_QUERY_PORT JAEGER_QUERY_GRPC_PORT JAEGER_HEALTH_PORT
JAEGER_BIN="$INFRA_CACHE/bin/jaeger-$JAEGER_VERSION"
JAEGER_DIR="$INFRA_STATE/jaeger"
JAEGER_PID="$JAEGER_DIR/jaeger.pid"
JAEGER_LOG="$JAEGER_DIR/jaeger.log"

jaeger_install() {
    go_build_cached jaeger "$INFRA_D/jaeger" "$JAEGER_BIN" github.com/jaegertracing/jaeger/cmd/jaeger \
        -ldflags "-s -w"
}

_jaeger_ready() {
    # The query API answers once storage and query are up.
    local reply
    exec 3<>"/dev/tcp/$INFRA_HOST/$JAEGER_QUERY_PORT" || return 1
    printf 'GET /api/services HTTP/1.0\r\nHost: %s\r\n\r\n' "$INFRA_HOST" >&3
    IFS= read -r -t 2 reply <&3 || { exec 3>&-; return 1; }
    exec 3>&-
    [[ $reply == *" 200"* ]] && port_open "$JAEGER_OTLP_GRPC_PORT" && port_open "$JAEGER_OTLP_HTTP_PORT"
}

jaeger_up() {
    if pid_alive "$JAEGER_PID" "jaeger-$JAEGER_VERSION" && ! wait_until "${JAEGER_START_TIMEOUT:-60}" jaeger _jaeger_ready; then
        record_failure jaeger "runs as pid $(pid_of "$JAEGER_PID") but does not answer within ${JAEGER_START_TIMEOUT:-60}s, see $JAEGER_LOG (scripts/infra down jaeger stops it)"
        return 1
    fi
    if pid_alive "$JAEGER_PID" "jaeger-$JAEGER_VERSION"; then
        say "jaeger: already running (pid $(pid_of "$JAEGER_PID"))"
        _jaeger_where
        return 0
    fi
    jaeger_install || { record_failure jaeger "could not build jaeger v$JAEGER_VERSION with go (see above)"; return 1; }
    local p
    for p in "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_QUERY_PORT"; do
        if port_open "$p"; then
            record_failure jaeger "port $INFRA_HOST:$p is already taken by another process"
            return 1
        fi
    done
    mkdir -p "$JAEGER_DIR"
    say "jaeger: starting $JAEGER_BIN"
    # No self-tracing: Jaeger would export its own query spans to its own OTLP
    # port and, at shutdown, wait 10 s for that export to time out.
    start_bg "$JAEGER_PID" "$JAEGER_LOG" env OTEL_TRACES_SAMPLER="${JAEGER_SELF_TRACES_SAMPLER:-always_off}" "$JAEGER_BIN" --config "$INFRA_D/jaeger/config.yaml"
    if ! wait_until "${JAEGER_START_TIMEOUT:-60}" jaeger _jaeger_ready; then
        record_failure jaeger "query API did not answer on $INFRA_HOST:$JAEGER_QUERY_PORT within ${JAEGER_START_TIMEOUT:-60}s, see $JAEGER_LOG"
        tail -n 10 "$JAEGER_LOG" >&2 || true
        return 1
    fi
    _jaeger_where
}

_jaeger_where() {
    say "jaeger: ready  OTLP gRPC $INFRA_HOST:$JAEGER_OTLP_GRPC_PORT  OTLP HTTP $INFRA_HOST:$JAEGER_OTLP_HTTP_PORT  query http://$INFRA_HOST:$JAEGER_QUERY_PORT  log $JAEGER_LOG"
}

jaeger_down() { stop_pid jaeger "$JAEGER_PID" "jaeger-$JAEGER_VERSION" 20; }

jaeger_status() {
    if pid_alive "$JAEGER_PID" "jaeger-$JAEGER_VERSION"; then
        if _jaeger_ready 2>/dev/null; then
            echo "jaeger    running  pid $(pid_of "$JAEGER_PID")  OTLP $INFRA_HOST:$JAEGER_OTLP_GRPC_PORT/$JAEGER_OTLP_HTTP_PORT  query $INFRA_HOST:$JAEGER_QUERY_PORT  log $JAEGER_LOG"
        else
            echo "jaeger    starting/unhealthy  pid $(pid_of "$JAEGER_PID")  log $JAEGER_LOG"; return 1
        fi
    else
        echo "jaeger    stopped"; return 1
    fi
}
