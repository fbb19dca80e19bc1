#!/bin/bash
# Shared by tools/cloud/up.sh and down.sh: where the small cloud lives,
# its ports, and how its daemons are started and stopped.  Sourced only.
# shellcheck shell=bash disable=SC2034

CLOUD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLOUD_VENV=${CLOUD_VENV:-$CLOUD_TOP/.venv-cloud}
CLOUD_VAR=${CLOUD_VAR:-/var/lib/nova-livemig-cloud}
CLOUD_ETC=${CLOUD_ETC:-/etc/nova-livemig-cloud}
CLOUD_LOG=${CLOUD_LOG:-/var/log/nova-livemig-cloud}
CLOUD_RUN=${CLOUD_RUN:-/run/nova-livemig-cloud}
CLOUD_SECRETS=$CLOUD_ETC/secrets.env
TESTBED_STATE=${TESTBED_STATE:-/run/nova-livemig-testbed/state.json}
TESTBED_VAR=${TESTBED_VAR:-/var/lib/nova-livemig-testbed}

# Every API listens on the testbed's management address, which the nodes'
# namespaces reach; the database only on a private socket and loopback.
CLOUD_HOST=${CLOUD_HOST:-10.77.0.1}
CLOUD_DB_PORT=13306
CLOUD_DB_SOCKET=$CLOUD_RUN/mysqld.sock
CLOUD_RABBIT_PORT=16672
CLOUD_RABBIT_DIST_PORT=16673
CLOUD_RABBIT_EPMD_PORT=16674
CLOUD_KEYSTONE_PORT=15000
CLOUD_PLACEMENT_PORT=15778
CLOUD_GLANCE_PORT=15292
CLOUD_NEUTRON_PORT=15696
CLOUD_NOVA_PORT=15774

log() { printf '[cloud %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf '[cloud] error: %s\n' "$*" >&2; exit 1; }

# is_running NAME: the daemon NAME (pid file in $CLOUD_RUN) is alive.
is_running() {
    local pid
    pid=$(cat "$CLOUD_RUN/$1.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_daemon NAME CMD...: start CMD in its own session unless NAME is
# already running; its output goes to $CLOUD_LOG/NAME.log (kept).
start_daemon() {
    local name=$1
    shift
    if is_running "$name"; then
        return 0
    fi
    setsid "$@" >> "$CLOUD_LOG/$name.log" 2>&1 < /dev/null &
    echo $! > "$CLOUD_RUN/$name.pid"
}

# stop_daemon NAME: TERM the daemon's process group, then KILL after 10 s.
stop_daemon() {
    local name=$1 pid
    pid=$(cat "$CLOUD_RUN/$name.pid" 2>/dev/null) || return 0
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$CLOUD_RUN/$name.pid"
}


# wait_for WHAT SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
    local what=$1 timeout_s=$2 deadline=$((SECONDS + $2))
    shift 2
    until "$@" > /dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] \
            || die "$what did not come up within $timeout_s s (logs: $CLOUD_LOG)"
        sleep 0.5
    done
}

# node_count: the testbed's number of nodes, from its state file.
node_count() {
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' \
        "$TESTBED_STATE"
}
