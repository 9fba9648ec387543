# shellcheck shell=bash
# MariaDB from Debian packages, run as a plain process with its own datadir.
# Defaults match the integration tests:
#   mysql+pymysql://product:product@127.0.0.1:3306/product_test

MARIADB_PORT="${MARIADB_PORT:-3306}"
MARIADB_USER="${MARIADB_USER:-product}"
MARIADB_PASSWORD="${MARIADB_PASSWORD:-product}"
MARIADB_DATABASES="${MARIADB_DATABASES:-product product_test product_bench product_e2e product_e2e_dlq product_e2e_legacy product_faults}"
MARIADB_DIR="$INFRA_STATE/mariadb"
MARIADB_DATA="$MARIADB_DIR/data"
MARIADB_PID="$MARIADB_DIR/mariadbd.pid"
MARIADB_LOG="$MARIADB_DIR/mariadbd.log"
MARIADB_SOCK="$(short_sock_path "$MARIADB_DIR/mariadbd.sock" mariadbd.sock)"

_mariadb_bin() {
    local b
    for b in mariadbd mysqld; do
        command -v "$b" 2>/dev/null && return 0
        [[ -x /usr/sbin/$b ]] && { echo "/usr/sbin/$b"; return 0; }
    done
    return 1
}

_mariadb_client() { command -v mariadb || command -v mysql; }

# Admin connection over our socket. mariadb-install-db gives the OS user that
# ran it (root in CI) an all-privileges account with unix_socket auth.
_mariadb_admin_sql() {
    "$(_mariadb_client)" --no-defaults --socket="$MARIADB_SOCK" -u "$(id -un)" "$@"
}

_mariadb_alive() {
    _mariadb_admin_sql -N -e 'SELECT 1' >/dev/null 2>&1
}

_mariadb_tcp_ok() {
    "$(_mariadb_client)" --no-defaults --protocol=TCP -h "$INFRA_HOST" -P "$MARIADB_PORT" \
        -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" -N -e 'SELECT 1' product_test >/dev/null 2>&1
}

mariadb_install() {
    if _mariadb_bin >/dev/null && _mariadb_client >/dev/null && command -v mariadb-install-db >/dev/null; then
        return 0
    fi
    say "mariadb: server or client missing, installing Debian packages mariadb-server mariadb-client"
    apt_install mariadb-server mariadb-client || return 1
    _mariadb_bin >/dev/null
}

mariadb_up() {
    if pid_alive "$MARIADB_PID" mariadbd && ! wait_until "${MARIADB_START_TIMEOUT:-60}" mariadb _mariadb_alive; then
        record_failure mariadb "runs as pid $(pid_of "$MARIADB_PID") but does not answer within ${MARIADB_START_TIMEOUT:-60}s, see $MARIADB_LOG (scripts/infra down mariadb stops it)"
        return 1
    fi
    if pid_alive "$MARIADB_PID" mariadbd; then
        say "mariadb: already running (pid $(pid_of "$MARIADB_PID"))"
        _mariadb_bootstrap || return 1
        _mariadb_where
        return 0
    fi
    mariadb_install || { record_failure mariadb "could not install mariadb-server/mariadb-client with apt-get"; return 1; }
    if port_open "$MARIADB_PORT"; then
        record_failure mariadb "port $INFRA_HOST:$MARIADB_PORT is already taken by another process (a system MariaDB/MySQL?); stop it or set MARIADB_PORT"
        return 1
    fi
    mkdir -p "$MARIADB_DIR"
    local user_args=()
    (( EUID == 0 )) && user_args=(--user=root)
    if [[ ! -d $MARIADB_DATA/mysql ]]; then
        say "mariadb: initialising datadir $MARIADB_DATA"
        rm -rf "$MARIADB_DATA"
        if ! mariadb-install-db --no-defaults --datadir="$MARIADB_DATA" "${user_args[@]}" \
                --auth-root-authentication-method=socket --skip-test-db >>"$MARIADB_LOG" 2>&1; then
            rm -rf "$MARIADB_DATA"
            record_failure mariadb "mariadb-install-db failed, see $MARIADB_LOG"
            return 1
        fi
    fi
    rm -f "$MARIADB_SOCK"
    say "mariadb: starting $(_mariadb_bin) on $INFRA_HOST:$MARIADB_PORT"
    start_bg "$MARIADB_PID" "$MARIADB_LOG.out" "$(_mariadb_bin)" --no-defaults \
        "${user_args[@]}" \
        --datadir="$MARIADB_DATA" \
        --socket="$MARIADB_SOCK" \
        --pid-file="$MARIADB_DIR/mariadbd.pid.server" \
        --log-error="$MARIADB_LOG" \
        --port="$MARIADB_PORT" \
        --bind-address="$INFRA_HOST" \
        --skip-name-resolve \
        --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci \
        --max-connections=500 \
        --innodb-buffer-pool-size=256M \
        --innodb-flush-log-at-trx-commit=2
    if ! wait_until "${MARIADB_START_TIMEOUT:-60}" mariadb _mariadb_alive; then
        record_failure mariadb "did not answer on $MARIADB_SOCK within ${MARIADB_START_TIMEOUT:-60}s, see $MARIADB_LOG"
        tail -n 15 "$MARIADB_LOG" >&2 2>/dev/null || true
        return 1
    fi
    _mariadb_bootstrap || return 1
    _mariadb_where
}

# Idempotent: databases, the application user (TCP and socket), grants.
_mariadb_bootstrap() {
    local sql="" db host
    for db in $MARIADB_DATABASES; do
        sql+="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
    for host in '%' 'localhost'; do
        sql+="CREATE USER IF NOT EXISTS '$MARIADB_USER'@'$host' IDENTIFIED BY '$MARIADB_PASSWORD';"
        sql+="ALTER USER '$MARIADB_USER'@'$host' IDENTIFIED BY '$MARIADB_PASSWORD';"
        for db in $MARIADB_DATABASES; do
            sql+="GRANT ALL PRIVILEGES ON \`$db\`.* TO '$MARIADB_USER'@'$host';"
        done
    done
    sql+="FLUSH PRIVILEGES;"
    if ! _mariadb_admin_sql -e "$sql" >>"$MARIADB_LOG" 2>&1; then
        record_failure mariadb "could not create databases/user, see $MARIADB_LOG"
        return 1
    fi
    if ! _mariadb_tcp_ok; then
        record_failure mariadb "user $MARIADB_USER cannot connect over TCP $INFRA_HOST:$MARIADB_PORT"
        return 1
    fi
}

_mariadb_where() {
    say "mariadb: ready  mysql+pymysql://$MARIADB_USER:$MARIADB_PASSWORD@$INFRA_HOST:$MARIADB_PORT/product_test  socket $MARIADB_SOCK  log $MARIADB_LOG"
}

mariadb_down() {
    if pid_alive "$MARIADB_PID" mariadbd; then
        local pid; pid=$(pid_of "$MARIADB_PID")
        say "stopping mariadb (pid $pid)"
        # Clean shutdown through the server itself, then make sure.
        _mariadb_admin_sql -e 'SHUTDOWN' >/dev/null 2>&1 || true
        local start; start=$(now_s)
        while kill -0 "$pid" 2>/dev/null && (( $(now_s) - start < 30 )); do sleep 0.3; done
        stop_pid mariadb "$MARIADB_PID" mariadbd 10
    fi
    rm -f "$MARIADB_PID"
}

mariadb_status() {
    if pid_alive "$MARIADB_PID" mariadbd; then
        if _mariadb_alive; then
            echo "mariadb   running  pid $(pid_of "$MARIADB_PID")  $INFRA_HOST:$MARIADB_PORT  log $MARIADB_LOG"
        else
            echo "mariadb   starting/unhealthy  pid $(pid_of "$MARIADB_PID")  log $MARIADB_LOG"
            return 1
        fi
    else
        echo "mariadb   stopped"
        return 1
    fi
}
