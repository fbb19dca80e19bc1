#!/bin/bash
# Tear the testbed down: kill every process in its namespaces, delete the
# namespaces, links and mounts, restore the sysctl and remove its runtime
# files.  Idempotent, and works after a crash or a failed up.sh.
# The install cache ($TESTBED_CACHE) is kept.
set -uo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "run as root"

namespaces() {
    ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E "^(nlm-node[0-9]+|$TESTBED_SWITCH)$" || true
}

# Every libvirtd, virtlogd and QEMU runs inside a node network namespace.
for sig in TERM KILL; do
    pids=$(for ns in $(namespaces); do ip netns pids "$ns"; done)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086  # one word per pid
    kill -"$sig" $pids 2>/dev/null
    for _ in $(seq 1 50); do
        alive=$(for p in $pids; do [ -d "/proc/$p" ] && echo "$p"; done)
        [ -z "$alive" ] && break
        sleep 0.1
    done
done

for ns in $(namespaces); do
    ip netns del "$ns"
done
ip link del nlm-mgmt 2>/dev/null || true

if [ -d "$TESTBED_VAR/ns" ]; then
    for f in "$TESTBED_VAR/ns/"*; do
        mountpoint -q "$f" 2>/dev/null && umount "$f"
    done
    mountpoint -q "$TESTBED_VAR/ns" && umount "$TESTBED_VAR/ns"
fi

if [ -f "$TESTBED_VAR/netns-mount.created" ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    while mountpoint -q /run/netns; do umount /run/netns || break; done
    rmdir /run/netns 2>/dev/null || true
fi

if [ -f "$TESTBED_VAR/userfaultfd.saved" ]; then
    sysctl -q -w vm.unprivileged_userfaultfd="$(cat "$TESTBED_VAR/userfaultfd.saved")"
fi
rm -rf "$TESTBED_VAR" "$TESTBED_RUN"
log "down"
