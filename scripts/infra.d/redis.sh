# shellcheck shell=bash
# Redis from Debian packages: 127.0.0.1 only, no persistence, own directory.

REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DIR="$INFRA_STATE/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

_redis_ping() {
    # Raw RESP over bash's /dev/tcp: no redis-cli needed.
    local reply
    exec 3<>"/dev/tcp/$INFRA_HOST/$REDIS_PORT" || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || { exec 3>&-; return 1; }
    exec 3>&-
    [[ $reply == "+PONG"* ]]
}

redis_install() {
    command -v redis-server >/dev/null && return 0
    say "redis: redis-server missing, installing Debian package redis-server"
    apt_install redis-server || return 1
    command -v redis-server >/dev/null
}

redis_up() {
    if pid_alive "$REDIS_PID" redis-server && ! wait_until "${REDIS_START_TIMEOUT:-30}" redis _redis_ping; then
        record_failure redis "runs as pid $(pid_of "$REDIS_PID") but does not answer within ${REDIS_START_TIMEOUT:-30}s, see $REDIS_LOG (scripts/infra down redis stops it)"
        return 1
    fi
    if pid_alive "$REDIS_PID" redis-server; then
        say "redis: already running (pid $(pid_of "$REDIS_PID"))"
        _redis_where
        return 0
    fi
    redis_install || { record_failure redis "could not install redis-server with apt-get"; return 1; }
    if port_open "$REDIS_PORT"; then
        record_failure redis "port $INFRA_HOST:$REDIS_PORT is already taken by another process (a system redis-server?); stop it or set REDIS_PORT"
        return 1
    fi
    mkdir -p "$REDIS_DIR"
    say "redis: starting redis-server on $INFRA_HOST:$REDIS_PORT"
    start_bg "$REDIS_PID" "$REDIS_LOG" redis-server \
        --bind "$INFRA_HOST" --port "$REDIS_PORT" --protected-mode yes \
        --dir "$REDIS_DIR" --save "" --appendonly no \
        --daemonize no --logfile "" --databases 16
    if ! wait_until "${REDIS_START_TIMEOUT:-30}" redis _redis_ping; then
        record_failure redis "did not answer PING on $INFRA_HOST:$REDIS_PORT within ${REDIS_START_TIMEOUT:-30}s, see $REDIS_LOG"
        tail -n 10 "$REDIS_LOG" >&2 2>/dev/null || true
        return 1
    fi
    _redis_where
}

_redis_where() { say "redis: ready  $INFRA_HOST:$REDIS_PORT  log $REDIS_LOG"; }

redis_down() { stop_pid redis "$REDIS_PID" redis-server 15; }

redis_status() {
    if pid_alive "$REDIS_PID" redis-server; then
        if _redis_ping 2>/dev/null; then
            echo "redis     running  pid $(pid_of "$REDIS_PID")  $INFRA_HOST:$REDIS_PORT  log $REDIS_LOG"
        else
            echo "redis     unhealthy  pid $(pid_of "$REDIS_PID")  log $REDIS_LOG"; return 1
        fi
    else
        echo "redis     stopped"; return 1
    fi
}
