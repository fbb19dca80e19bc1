#!/bin/bash
# Bring up N compute nodes (default 3) named node1..nodeN, each a network
# namespace + private mount namespace running its own libvirtd and virtlogd.
#
#   tools/testbed/up.sh [N]
#
# Environment:
#   TESTBED_LINK_MBIT  link rate of every node in Mbit/s (default 200), or a
#                      comma list with one rate per node ("200,1000,200")
#   TESTBED_NET        first three octets of the testbed subnet (10.77.0)
#
# Topology: switch namespace $TESTBED_SWITCH (nlmsw) holds bridge br0; node
# i has eth0 ($TESTBED_NET.(10+i)) on a veth into br0 (switch side: n<i>),
# shaped with tbf in both directions; the root namespace has nlm-mgmt
# ($TESTBED_NET.1) into br0, so root<->node traffic is shaped only by the
# node's own link.  Writes $TESTBED_STATE
# (default /run/nova-livemig-testbed/state.json).
set -Eeuo pipefail
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

N=${1:-3}
if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ] || [ "$N" -gt 50 ]; then
    die "node count must be an integer from 1 to 50, got '$N'"
fi
[ "$(id -u)" = 0 ] || die "run as root"
if [ ! -x "$QEMU_WRAPPER" ] || [ ! -f "$GUEST_INITRAMFS" ]; then
    die "not installed: run tools/testbed/install.sh first"
fi
[ ! -e "$TESTBED_STATE" ] ||
    die "already up ($TESTBED_STATE exists): run tools/testbed/down.sh first"
KERNEL=$(guest_kernel)
[ -n "$KERNEL" ] || die "no guest kernel in /boot"

IFS=, read -r -a RATES <<< "${TESTBED_LINK_MBIT:-200}"
rate_of() {  # rate_of <node index>
    local r=${RATES[$(( $1 - 1 ))]:-${RATES[-1]}}
    if ! [[ "$r" =~ ^[0-9]+$ ]] || [ "$r" -lt 1 ]; then
        die "TESTBED_LINK_MBIT entries must be positive integers (Mbit/s), got '$r'"
    fi
    echo "$r"
}

shape() {  # shape <netns> <dev> <mbit>
    # Token bucket: burst of 4 ms at line rate, at least 64 KiB (GSO).
    local burst=$(( $3 * 1000000 / 8 / 250 ))
    [ "$burst" -ge 65536 ] || burst=65536
    ip netns exec "$1" tc qdisc replace dev "$2" root tbf \
        rate "${3}mbit" burst "$burst" latency 50ms
}

for i in $(seq 1 "$N"); do
    rate_of "$i" >/dev/null
done

SW=$TESTBED_SWITCH
mkdir -p "$TESTBED_RUN" "$TESTBED_VAR/ns" "$TESTBED_VAR/guests"
chmod 755 "$TESTBED_VAR" "$TESTBED_VAR/guests"
trap 'log "bring-up failed; run tools/testbed/down.sh to clean up"' ERR

# iproute2 leaves /run/netns mounted; remember whether we caused it.
if ! mountpoint -q /run/netns 2>/dev/null; then
    touch "$TESTBED_VAR/netns-mount.created"
fi

# Post-copy needs userfaultfd; libvirt drops QEMU's capabilities.
[ -f "$TESTBED_VAR/userfaultfd.saved" ] ||
    sysctl -n vm.unprivileged_userfaultfd > "$TESTBED_VAR/userfaultfd.saved"
sysctl -q -w vm.unprivileged_userfaultfd=1

# Namespace files must live on a private mount to be bind-mountable.
if ! mountpoint -q "$TESTBED_VAR/ns"; then
    mount --bind "$TESTBED_VAR/ns" "$TESTBED_VAR/ns"
    mount --make-private "$TESTBED_VAR/ns"
fi

log "switch $SW"
ip netns add "$SW"
ip netns exec "$SW" ip link set lo up
ip netns exec "$SW" ip link add br0 type bridge
ip netns exec "$SW" ip link set br0 up
ip link add nlm-mgmt type veth peer name mgmt netns "$SW"
ip addr add "$TESTBED_NET.1/24" dev nlm-mgmt
ip link set nlm-mgmt up
ip netns exec "$SW" ip link set mgmt master br0 up

setup_node() {  # setup_node <index>
    local i=$1 name=node$1 ns=nlm-node$1 addr=$TESTBED_NET.$((10 + $1))
    local dir=$TESTBED_VAR/nodes/$name rate
    rate=$(rate_of "$i")
    log "$name $addr ${rate} Mbit/s"

    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    ip link add "n$i" netns "$SW" type veth peer name eth0 netns "$ns"
    ip netns exec "$ns" ip addr add "$addr/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$SW" ip link set "n$i" master br0 up
    shape "$ns" eth0 "$rate"
    shape "$SW" "n$i" "$rate"

    # Private libvirt state and configuration.
    mkdir -p "$dir"/{lib,cache,log}
    rm -rf "${dir:?}/etc"
    cp -a /etc/libvirt "$dir/etc"
    rm -f "$dir/etc/qemu/networks/autostart/"*.xml
    {
        printf '127.0.0.1 localhost\n%s %s\n' "$TESTBED_NET.1" management
        for j in $(seq 1 "$N"); do
            printf '%s node%s\n' "$TESTBED_NET.$((10 + j))" "$j"
        done
    } > "$dir/hosts"
    cat >> "$dir/etc/libvirtd.conf" <<CONF

# nova-livemig testbed node $name (private namespace; no auth on purpose)
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
    cat >> "$dir/etc/qemu.conf" <<CONF

# nova-livemig testbed node $name
migration_address = "$addr"
migration_host = "$addr"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
CONF

    # Persistent mount and UTS namespaces for the node's daemons.
    touch "$TESTBED_VAR/ns/$name.mnt" "$TESTBED_VAR/ns/$name.uts"
    unshare --mount="$TESTBED_VAR/ns/$name.mnt" --uts="$TESTBED_VAR/ns/$name.uts" \
        --propagation private sh -ec "
        hostname $name
        mount -t tmpfs -o mode=755 tmpfs /run
        mount --bind $dir/hosts /etc/hosts
        mount --bind $dir/etc /etc/libvirt
        mount --bind $dir/lib /var/lib/libvirt
        mount --bind $dir/cache /var/cache/libvirt
        mount --bind $dir/log /var/log/libvirt
        mount --bind $QEMU72_TCG_ONLY /usr/lib/x86_64-linux-gnu/qemu"
    local enter=(nsenter --mount="$TESTBED_VAR/ns/$name.mnt"
                 --uts="$TESTBED_VAR/ns/$name.uts" --net="/run/netns/$ns")
    "${enter[@]}" virtlogd --daemon
    "${enter[@]}" libvirtd --daemon --listen
}

for i in $(seq 1 "$N"); do
    setup_node "$i"
done

# Wait for every libvirtd, then warm QEMU capability probing in parallel.
pids=()
for i in $(seq 1 "$N"); do
    uri=qemu+tcp://$TESTBED_NET.$((10 + i))/system
    (
        for _ in $(seq 1 100); do
            virsh -c "$uri" version >/dev/null 2>&1 && break
            sleep 0.2
        done
        virsh -c "$uri" domcapabilities --emulatorbin "$QEMU_WRAPPER" \
            --virttype qemu --arch x86_64 --machine q35 >/dev/null
    ) &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || die "a node's libvirtd did not come up (see $TESTBED_VAR/nodes/*/log)"
done

python3 - "$TESTBED_STATE" <<PY
import json, sys
rates = "${TESTBED_LINK_MBIT:-200}".split(",")
nodes = []
for i in range(1, $N + 1):
    mbit = int(rates[min(i, len(rates)) - 1])
    addr = "$TESTBED_NET.%d" % (10 + i)
    nodes.append({
        "name": "node%d" % i,
        "address": addr,
        "libvirt_uri": "qemu+tcp://%s/system" % addr,
        "netns": "nlm-node%d" % i,
        "link_mbit_s": mbit,
        "gbit_s": mbit / 1000.0,
        "log_dir": "$TESTBED_VAR/nodes/node%d/log" % i,
    })
state = {
    "version": 1,
    "switch": "$SW",
    "switch_netns": "$SW",
    "bridge": "br0",
    "management": {"interface": "nlm-mgmt", "address": "$TESTBED_NET.1"},
    "kernel": "$KERNEL",
    "initramfs": "$GUEST_INITRAMFS",
    "emulator": "$QEMU_WRAPPER",
    "guest_dir": "$TESTBED_VAR/guests",
    "nodes": nodes,
}
with open(sys.argv[1] + ".new", "w") as f:
    json.dump(state, f, indent=2)
    f.write("\n")
PY
mv "$TESTBED_STATE.new" "$TESTBED_STATE"
trap - ERR
log "up: $N nodes; state in $TESTBED_STATE"
