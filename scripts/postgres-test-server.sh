#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the store tests and prints its URL.
#   eval "$(scripts/postgres-test-server.sh start DIR)"   # sets PARALLAX_TEST_POSTGRES_URL
#   scripts/postgres-test-server.sh stop DIR
# Installs Debian's postgresql when no server binaries are present (needs root or sudo).
set -euo pipefail

action="${1:?usage: $0 start|stop DIR}"
dir="${2:?usage: $0 start|stop DIR}"
port="${PARALLAX_TEST_POSTGRES_PORT:-55432}"

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [[ -z "$found" ]]; then
        local sudo=""
        [[ $(id -u) -ne 0 ]] && sudo="sudo"
        echo "installing postgresql from Debian" >&2
        $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    fi
    echo "$found"
}

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

case "$action" in
start)
    bin=$(bindir)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    if [[ ! -f "$dir/PG_VERSION" ]]; then
        as_owner "$bin/initdb" -D "$dir" -U parallax --auth=trust -E UTF8 >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off" start >/dev/null
    echo "export PARALLAX_TEST_POSTGRES_URL=postgres://parallax@127.0.0.1:$port/postgres"
    ;;
stop)
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null || true
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
