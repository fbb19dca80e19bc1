#!/bin/bash
# Drive nova-livemig's devstack plugin (devstack/plugin.sh, settings,
# lib/livemig) for the small cloud: the few devstack functions the plugin
# calls, implemented for tools/cloud, so that the plugin's own functions
# write this cloud's nova-livemig configuration and nova.conf's weigher
# settings, exactly as in a devstack.
#
# Usage: devstack-shim.sh configure     the controller (conductor + weigher)
# Needs the environment up.sh exports (CLOUD_*, the secrets).  Never traces:
# the transport URL and the Nova password go through here.
set -euo pipefail
set +o xtrace
# shellcheck source=tools/cloud/common.sh
source "$(dirname "$0")/common.sh"

# -- the devstack functions the plugin uses ---------------------------------
function is_service_enabled {
    local svc
    for svc in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$svc,"* ]] && return 0
    done
    return 1
}
function enable_service {
    local svc
    for svc in "$@"; do
        is_service_enabled "$svc" || ENABLED_SERVICES="$ENABLED_SERVICES,$svc"
    done
}
function die { shift; echo "die: $*" >&2; exit 1; }
# iniset FILE SECTION OPTION VALUE / iniget FILE SECTION OPTION, keeping
# the file's comments and order (devstack's own are sed/awk).
function iniset { python3 "$CLOUD_TOP/tools/cloud/iniedit.py" set "$@"; }
function iniget { python3 "$CLOUD_TOP/tools/cloud/iniedit.py" get "$@"; }
function get_transport_url {
    echo "rabbit://openstack:$CLOUD_RABBIT_PASSWORD@$CLOUD_HOST:$CLOUD_RABBIT_PORT/"
}
function sudo { "$@"; }

# -- what devstack would have set -------------------------------------------
dest=$CLOUD_VAR/devstack-dest
install -d "$dest"
ln -sfn "$CLOUD_TOP" "$dest/nova-livemig"
export DEST=$dest DATA_DIR=$CLOUD_VAR STACK_USER=root ENABLE_DEBUG_LOG_LEVEL=True
export NOVA_CONF=$CLOUD_ETC/nova/nova.conf NOVA_BIN_DIR=$CLOUD_VENV/bin
export KEYSTONE_SERVICE_URI=http://$CLOUD_HOST:$CLOUD_KEYSTONE_PORT
export SERVICE_PASSWORD=$CLOUD_SERVICE_PASSWORD SERVICE_PROJECT_NAME=service
export SERVICE_DOMAIN_NAME=Default REGION_NAME=RegionOne
export LIVEMIG_STATE_DIR=$CLOUD_VAR/livemig
ENABLED_SERVICES=""

case "${1:-}" in
    configure)
        export LIVEMIG_MODE=controller LIVEMIG_CONF_DIR=$CLOUD_ETC/livemig ;;
    *) echo "usage: devstack-shim.sh configure" >&2; exit 2 ;;
esac
# shellcheck source=devstack/settings
source "$CLOUD_TOP/devstack/settings"
# shellcheck source=devstack/plugin.sh
source "$CLOUD_TOP/devstack/plugin.sh" stack post-config
chmod 0600 "$LIVEMIG_CONF"
