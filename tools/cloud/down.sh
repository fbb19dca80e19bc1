#!/bin/bash
# Tear down the small cloud tools/cloud/up.sh brought up: delete its
# servers' domains (nova-compute is stopped before Nova could), stop every
# daemon it started (by pid file), and keep logs.  Idempotent.
#
# Usage (root): bash tools/cloud/down.sh [--purge]
#   --purge also removes the databases, images, configuration and
#   passwords (/var/lib/nova-livemig-cloud, /etc/nova-livemig-cloud);
#   without it the next up.sh reuses them and is faster.
set -euo pipefail
# shellcheck source=tools/cloud/common.sh
source "$(dirname "$0")/common.sh"

purge=false
case "${1:-}" in
    --purge) purge=true ;;
    "") ;;
    *) die "unknown argument '$1' (allowed: --purge)" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root"

# The cloud's guests on the testbed nodes: Nova names them instance-*.
if [ -f "$TESTBED_STATE" ] && $purge; then
    for uri in $(python3 -c 'import json,sys
for n in json.load(open(sys.argv[1]))["nodes"]: print(n["libvirt_uri"])' "$TESTBED_STATE"); do
        for dom in $(virsh -c "$uri" list --all --name 2>/dev/null | grep '^instance-' || true); do
            virsh -c "$uri" destroy "$dom" > /dev/null 2>&1 || true
            virsh -c "$uri" undefine --nvram "$dom" > /dev/null 2>&1 \
                || virsh -c "$uri" undefine "$dom" > /dev/null 2>&1 || true
        done
    done
fi

if [ -d "$CLOUD_RUN" ]; then
    for pidfile in "$CLOUD_RUN"/nl-*.pid "$CLOUD_RUN"/nova-compute-*.pid; do
        [ -e "$pidfile" ] && stop_daemon "$(basename "$pidfile" .pid)"
    done
    for name in nova-scheduler nova-conductor nova-api neutron glance placement \
            keystone rabbitmq epmd mariadb; do
        stop_daemon "$name"
    done
fi
rm -rf "$CLOUD_RUN"
# The nodes' instances directories, bind-mounted by up.sh in their mount
# namespaces.
for mnt in "$TESTBED_VAR"/ns/node*.mnt; do
    [ -e "$mnt" ] || continue
    # shellcheck disable=SC2016  # expanded by the inner sh
    nsenter --mount="$mnt" sh -c 'if mountpoint -q "$1"; then umount "$1"; fi' sh \
        "$CLOUD_VAR/instances" 2>/dev/null || true
done
if $purge; then
    rm -rf "$CLOUD_VAR" "$CLOUD_ETC"
    log "purged $CLOUD_VAR and $CLOUD_ETC (logs kept in $CLOUD_LOG)"
fi
log "down"
