# shellcheck shell=bash disable=SC2034
# Shared settings for the testbed scripts (sourced, not executed).
# Every path can be moved with an environment variable.
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTBED_CACHE=${TESTBED_CACHE:-/var/cache/nova-livemig-testbed}
TESTBED_VAR=${TESTBED_VAR:-/var/lib/nova-livemig-testbed}
TESTBED_RUN=${TESTBED_RUN:-/run/nova-livemig-testbed}
TESTBED_STATE=${TESTBED_STATE:-$TESTBED_RUN/state.json}
TESTBED_SWITCH=${TESTBED_SWITCH:-nlmsw}
TESTBED_NET=${TESTBED_NET:-10.77.0}

QEMU10_VERSION=${QEMU10_VERSION:-1:10.0.2+ds-2+deb13u1~bpo12+1}
SEABIOS_BPO_VERSION=${SEABIOS_BPO_VERSION:-1.16.3-2~bpo12+1}
QEMU10_ROOT=$TESTBED_CACHE/qemu10
QEMU_WRAPPER=$TESTBED_CACHE/bin/qemu-system-x86_64
QEMU72_TCG_ONLY=$TESTBED_CACHE/qemu72-tcg-modules
GUEST_INITRAMFS=$TESTBED_CACHE/guest/initramfs.cpio.gz

log() { echo "testbed: $*" >&2; }
die() { echo "testbed: ERROR: $*" >&2; exit 1; }

guest_kernel() {
    # The newest Debian kernel in /boot.
    find /boot -maxdepth 1 -name "vmlinuz-*-amd64" | sort -V | tail -n 1
}
