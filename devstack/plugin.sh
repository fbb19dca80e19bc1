#!/bin/bash
# devstack/plugin.sh: nova-livemig's devstack plugin, a phase dispatcher.
# The work is in devstack/lib/livemig; settings picks the role.

# shellcheck source=devstack/lib/livemig
source "$DEST/nova-livemig/devstack/lib/livemig"

if is_service_enabled nova-livemig; then
    case "$1 ${2:-}" in
        "stack install")
            install_livemig ;;
        "stack post-config")
            configure_livemig
            configure_nova_for_livemig ;;
        "stack extra")
            init_livemig
            start_livemig ;;
        "unstack "*)
            stop_livemig ;;
        "clean "*)
            cleanup_livemig ;;
    esac
fi
