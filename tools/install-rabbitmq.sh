#!/bin/bash
# Install Debian's rabbitmq-server for the functional tests and make sure no
# system instance owns the ports: the tests start a private node of their own
# (tests/functional/rabbitmq.py) on loopback. That node also listens for
# TLS (erlang-ssl, a dependency of the package) with a throwaway CA the
# fixture makes with openssl. Idempotent; needs root.
set -eu

if ! command -v rabbitmq-server >/dev/null 2>&1 \
        || ! command -v openssl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends rabbitmq-server openssl
fi

# The package's postinst starts a system node (rabbit@$(hostname)) and an
# epmd daemon. Stop and disable them; the tests never use them.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
else
    service rabbitmq-server stop >/dev/null 2>&1 || true
    update-rc.d rabbitmq-server disable >/dev/null 2>&1 || true
fi
# Kill the package's epmd on the default port only when no node uses it
# (epmd -kill refuses while nodes are registered).
epmd -kill >/dev/null 2>&1 || true

echo "rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server) installed; system instance stopped"
