#!/bin/bash
# Bring up a small real OpenStack cloud from released packages on the
# namespace testbed (tools/testbed/up.sh must have run): MariaDB and
# RabbitMQ (private instances), Keystone, Placement, Glance, Neutron
# (ML2, no agents), Nova API/conductor/scheduler with the nova-livemig
# weigher, one nova-compute per testbed node inside the node's namespaces,
# and the nova-livemig conductor and agents configured by the devstack
# plugin's own functions (tools/cloud/devstack-shim.sh).
#
# Usage (root): bash tools/cloud/up.sh        idempotent; tear down with down.sh
# Logs: /var/log/nova-livemig-cloud (kept); credentials: root-only files in
# /etc/nova-livemig-cloud (admin-openrc for the openstack client).
set -euo pipefail
# Passwords pass through here: never traced, even under bash -x.
set +o xtrace
# shellcheck source=tools/cloud/common.sh
source "$(dirname "$0")/common.sh"
start_s=$SECONDS

[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$TESTBED_STATE" ] || die "the testbed is not up ($TESTBED_STATE missing): run tools/testbed/up.sh"
umask 077
install -d -m 0700 "$CLOUD_ETC" "$CLOUD_ETC/nova" "$CLOUD_ETC/keystone"
install -d -m 0755 "$CLOUD_VAR" "$CLOUD_LOG" "$CLOUD_RUN"
install -d "$CLOUD_VAR/glance/images" "$CLOUD_VAR/glance/staging" \
    "$CLOUD_VAR/glance/tasks" "$CLOUD_VAR/nova/lock" "$CLOUD_VAR/neutron/lock" \
    "$CLOUD_VAR/livemig"

# Debian packages: MariaDB; qemu-img for Nova's disks (RabbitMQ and
# libvirt/QEMU come with tools/install-rabbitmq.sh and the testbed).
missing=()
command -v mariadbd > /dev/null || missing+=(mariadb-server mariadb-client)
command -v qemu-img > /dev/null || missing+=(qemu-utils)
command -v curl > /dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
        --no-install-recommends "${missing[@]}" > "$CLOUD_LOG/apt.log" 2>&1 \
        || die "apt-get install ${missing[*]} failed (see $CLOUD_LOG/apt.log)"
fi

log "virtualenv"
bash "$CLOUD_TOP/tools/cloud/venv.sh" "$CLOUD_VENV" > "$CLOUD_LOG/venv.log" 2>&1 \
    || die "building $CLOUD_VENV failed (see $CLOUD_LOG/venv.log)"
export PATH=$CLOUD_VENV/bin:$PATH

# Passwords: generated here once, kept root-only, never printed.
if [ ! -s "$CLOUD_SECRETS" ]; then
    {
        for v in DB RABBIT ADMIN SERVICE; do
            printf 'CLOUD_%s_PASSWORD=%s\n' "$v" "$(openssl rand -hex 16)"
        done
    } > "$CLOUD_SECRETS.new"
    mv "$CLOUD_SECRETS.new" "$CLOUD_SECRETS"
fi
set -a
# shellcheck disable=SC1090
source "$CLOUD_SECRETS"
set +a
export CLOUD_TOP CLOUD_VENV CLOUD_VAR CLOUD_ETC CLOUD_LOG CLOUD_RUN CLOUD_HOST \
    CLOUD_DB_PORT CLOUD_RABBIT_PORT TESTBED_STATE CLOUD_KEYSTONE_PORT \
    CLOUD_PLACEMENT_PORT CLOUD_GLANCE_PORT CLOUD_NEUTRON_PORT CLOUD_NOVA_PORT
keystone_url=http://$CLOUD_HOST:$CLOUD_KEYSTONE_PORT
cat > "$CLOUD_ETC/admin-openrc" <<RC
export OS_AUTH_URL=$keystone_url/v3
export OS_USERNAME=admin
export OS_PASSWORD=$CLOUD_ADMIN_PASSWORD
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_IDENTITY_API_VERSION=3
RC

# -- MariaDB: our own instance (datadir, socket, port) ------------------
log "MariaDB"
if [ ! -d "$CLOUD_VAR/mysql/mysql" ]; then
    install -d -o mysql -g mysql "$CLOUD_VAR/mysql"
    mariadb-install-db --user=mysql --datadir="$CLOUD_VAR/mysql" \
        --auth-root-authentication-method=socket > "$CLOUD_LOG/mariadb-install.log" 2>&1 \
        || die "mariadb-install-db failed (see $CLOUD_LOG/mariadb-install.log)"
fi
chown mysql:mysql "$CLOUD_RUN"
start_daemon mariadb mariadbd --no-defaults --user=mysql \
    --datadir="$CLOUD_VAR/mysql" --socket="$CLOUD_DB_SOCKET" \
    --port="$CLOUD_DB_PORT" --bind-address=127.0.0.1 \
    --pid-file="$CLOUD_RUN/mariadbd.pid" --max-connections=500 \
    --innodb-buffer-pool-size=128M --log-error="$CLOUD_LOG/mariadb.err"
wait_for MariaDB 60 mariadb --no-defaults --socket="$CLOUD_DB_SOCKET" -e 'SELECT 1'
chown root:root "$CLOUD_RUN"
chmod 0755 "$CLOUD_RUN"
{
    for db in keystone placement glance neutron nova_api nova nova_cell0; do
        echo "CREATE DATABASE IF NOT EXISTS $db;"
    done
    echo "CREATE USER IF NOT EXISTS 'openstack'@'127.0.0.1' IDENTIFIED BY '$CLOUD_DB_PASSWORD';"
    echo "ALTER USER 'openstack'@'127.0.0.1' IDENTIFIED BY '$CLOUD_DB_PASSWORD';"
    echo "GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'127.0.0.1';"
} | mariadb --no-defaults --socket="$CLOUD_DB_SOCKET"

# -- RabbitMQ: our own node on the management address --------------------
log "RabbitMQ"
rabbit_env=(env HOME="$CLOUD_VAR/rabbitmq" RABBITMQ_NODENAME=nlmcloud@localhost \
        RABBITMQ_NODE_IP_ADDRESS="$CLOUD_HOST" \
        RABBITMQ_NODE_PORT="$CLOUD_RABBIT_PORT" \
        RABBITMQ_DIST_PORT="$CLOUD_RABBIT_DIST_PORT" \
        RABBITMQ_MNESIA_BASE="$CLOUD_VAR/rabbitmq/mnesia" \
        RABBITMQ_LOG_BASE="$CLOUD_LOG/rabbitmq" \
        RABBITMQ_PID_FILE="$CLOUD_RUN/rabbit-node.pid" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$CLOUD_VAR/rabbitmq/plugins" \
        RABBITMQ_CONFIG_FILE="$CLOUD_VAR/rabbitmq/rabbitmq" \
        RABBITMQ_CONF_ENV_FILE="$CLOUD_VAR/rabbitmq/rabbitmq-env.conf" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
        ERL_EPMD_PORT="$CLOUD_RABBIT_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1)
install -d "$CLOUD_VAR/rabbitmq" "$CLOUD_LOG/rabbitmq"
[ -f "$CLOUD_VAR/rabbitmq/plugins" ] || echo '[].' > "$CLOUD_VAR/rabbitmq/plugins"
touch "$CLOUD_VAR/rabbitmq/rabbitmq-env.conf"
# /usr/sbin/rabbitmq-* switch to the rabbitmq user; these run as root.
rbin=/usr/lib/rabbitmq/bin
start_daemon epmd "${rabbit_env[@]}" epmd -port "$CLOUD_RABBIT_EPMD_PORT" -address 127.0.0.1
start_daemon rabbitmq "${rabbit_env[@]}" "$rbin/rabbitmq-server"
wait_for RabbitMQ 120 "${rabbit_env[@]}" "$rbin/rabbitmq-diagnostics" -q -n nlmcloud@localhost ping
"${rabbit_env[@]}" "$rbin/rabbitmqctl" -q -n nlmcloud@localhost await_startup --timeout 120 \
    || die "RabbitMQ did not start (see $CLOUD_LOG/rabbitmq)"
if ! "${rabbit_env[@]}" "$rbin/rabbitmqctl" -q -n nlmcloud@localhost list_users | grep -q '^openstack'; then
    printf '%s' "$CLOUD_RABBIT_PASSWORD" \
        | "${rabbit_env[@]}" "$rbin/rabbitmqctl" -q -n nlmcloud@localhost add_user openstack > /dev/null
fi
printf '%s' "$CLOUD_RABBIT_PASSWORD" \
    | "${rabbit_env[@]}" "$rbin/rabbitmqctl" -q -n nlmcloud@localhost change_password openstack > /dev/null
"${rabbit_env[@]}" "$rbin/rabbitmqctl" -q -n nlmcloud@localhost set_permissions openstack '.*' '.*' '.*' > /dev/null

# -- configuration files from the templates -------------------------------
log "configuration"
tpl=$CLOUD_TOP/tools/cloud/templates
CLOUD_AUTHTOKEN="www_authenticate_uri = $keystone_url
auth_url = $keystone_url
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
password = $CLOUD_SERVICE_PASSWORD"
clients=""
for section in placement glance neutron service_user; do
    clients+="[$section]
auth_type = password
auth_url = $keystone_url
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $CLOUD_SERVICE_PASSWORD
region_name = RegionOne

"
done
CLOUD_NOVA_CLIENTS=$clients
export CLOUD_AUTHTOKEN CLOUD_NOVA_CLIENTS
render() { python3 "$CLOUD_TOP/tools/cloud/render.py" "$tpl/$1" "$2"; }
render keystone.conf "$CLOUD_ETC/keystone/keystone.conf"
install -d -m 0700 "$CLOUD_ETC/placement" "$CLOUD_ETC/glance" "$CLOUD_ETC/neutron/plugins/ml2"
render placement.conf "$CLOUD_ETC/placement/placement.conf"
render glance-api.conf "$CLOUD_ETC/glance/glance-api.conf"
cp "$CLOUD_VENV/etc/glance/glance-api-paste.ini" "$CLOUD_ETC/glance/"
render neutron.conf "$CLOUD_ETC/neutron/neutron.conf"
render ml2_conf.ini "$CLOUD_ETC/neutron/plugins/ml2/ml2_conf.ini"
cp "$CLOUD_VENV/etc/neutron/api-paste.ini" "$CLOUD_ETC/neutron/"
cp "$CLOUD_VENV/etc/nova/api-paste.ini" "$CLOUD_ETC/nova/"
render nova.conf "$CLOUD_ETC/nova/nova.conf"
n_nodes=$(node_count)
for i in $(seq 1 "$n_nodes"); do
    CLOUD_NODE=node$i CLOUD_NODE_ADDRESS=10.77.0.$((10 + i)) \
        render nova-compute.conf "$CLOUD_ETC/nova/nova-compute-node$i.conf"
    install -d "$CLOUD_VAR/nodes/node$i/instances" "$CLOUD_VAR/nodes/node$i/lock"
done
# The devstack plugin's own functions add the weigher to nova.conf and
# write nova-livemig.conf (see devstack-shim.sh).
bash "$CLOUD_TOP/tools/cloud/devstack-shim.sh" configure > "$CLOUD_LOG/devstack-plugin.log" 2>&1 \
    || die "the devstack plugin's configuration failed (see $CLOUD_LOG/devstack-plugin.log)"
chmod -R go-rwx "$CLOUD_ETC"

# -- databases ------------------------------------------------------------
log "database schemas"
kconf=(--config-file "$CLOUD_ETC/keystone/keystone.conf")
keystone-manage "${kconf[@]}" db_sync > "$CLOUD_LOG/keystone-manage.log" 2>&1
install -d -m 0700 "$CLOUD_ETC/keystone/fernet-keys" "$CLOUD_ETC/keystone/credential-keys"
[ -f "$CLOUD_ETC/keystone/fernet-keys/0" ] || keystone-manage "${kconf[@]}" fernet_setup \
    --keystone-user root --keystone-group root >> "$CLOUD_LOG/keystone-manage.log" 2>&1
[ -f "$CLOUD_ETC/keystone/credential-keys/0" ] || keystone-manage "${kconf[@]}" credential_setup \
    --keystone-user root --keystone-group root >> "$CLOUD_LOG/keystone-manage.log" 2>&1
OS_BOOTSTRAP_PASSWORD=$CLOUD_ADMIN_PASSWORD keystone-manage "${kconf[@]}" bootstrap \
    --bootstrap-admin-url "$keystone_url" --bootstrap-public-url "$keystone_url" \
    --bootstrap-internal-url "$keystone_url" --bootstrap-region-id RegionOne \
    >> "$CLOUD_LOG/keystone-manage.log" 2>&1
placement-manage --config-file "$CLOUD_ETC/placement/placement.conf" db sync \
    > "$CLOUD_LOG/placement-manage.log" 2>&1
glance-manage --config-file "$CLOUD_ETC/glance/glance-api.conf" db_sync \
    > "$CLOUD_LOG/glance-manage.log" 2>&1
neutron-db-manage --config-file "$CLOUD_ETC/neutron/neutron.conf" \
    --config-file "$CLOUD_ETC/neutron/plugins/ml2/ml2_conf.ini" upgrade heads \
    > "$CLOUD_LOG/neutron-db-manage.log" 2>&1
nconf=(--config-file "$CLOUD_ETC/nova/nova.conf")
{
    nova-manage "${nconf[@]}" api_db sync
    # cell0's database is [database] connection's with "_cell0" appended.
    nova-manage "${nconf[@]}" cell_v2 map_cell0
    if ! nova-manage "${nconf[@]}" cell_v2 list_cells | grep -q ' cell1 '; then
        nova-manage "${nconf[@]}" cell_v2 create_cell --name cell1
    fi
    nova-manage "${nconf[@]}" db sync
} > "$CLOUD_LOG/nova-manage.log" 2>&1 || die "nova-manage failed (see $CLOUD_LOG/nova-manage.log)"

# -- API services (WSGI applications under gunicorn) -----------------------
log "API services"
wsgi() {  # wsgi NAME PORT MODULE ENV...
    # The services parse sys.argv with oslo.config, so gunicorn gets no
    # arguments: its settings are in gunicorn.conf.py in its working dir.
    local name=$1 port=$2 module=$3 dir=$CLOUD_VAR/wsgi/$1
    shift 3
    install -d "$dir"
    cat > "$dir/gunicorn.conf.py" <<PY
wsgi_app = '$module'
bind = '$CLOUD_HOST:$port'
workers = 1
threads = 8
timeout = 300
graceful_timeout = 5
proc_name = '$name'
pythonpath = '$CLOUD_TOP/tools/cloud'
PY
    (cd "$dir" && start_daemon "$name" env "$@" gunicorn)
}
wsgi keystone "$CLOUD_KEYSTONE_PORT" keystone.wsgi.api:application \
    OS_KEYSTONE_CONFIG_FILES="$CLOUD_ETC/keystone/keystone.conf"
wait_for Keystone 90 curl -sf "$keystone_url/v3"
# shellcheck disable=SC1091
source "$CLOUD_ETC/admin-openrc"
python3 "$CLOUD_TOP/tools/cloud/register.py" catalog > "$CLOUD_LOG/register.log" 2>&1 \
    || die "registering the catalog failed (see $CLOUD_LOG/register.log)"
wsgi placement "$CLOUD_PLACEMENT_PORT" placement.wsgi.api:application \
    OS_PLACEMENT_CONFIG_DIR="$CLOUD_ETC/placement"
wsgi glance "$CLOUD_GLANCE_PORT" glance.wsgi.api:application \
    OS_GLANCE_CONFIG_DIR="$CLOUD_ETC/glance"
wsgi neutron "$CLOUD_NEUTRON_PORT" neutron_wsgi:application \
    OS_NEUTRON_CONFIG_DIR="$CLOUD_ETC/neutron"
wsgi nova-api "$CLOUD_NOVA_PORT" nova.wsgi.osapi_compute:application \
    OS_NOVA_CONFIG_DIR="$CLOUD_ETC/nova" OS_NOVA_CONFIG_FILES="api-paste.ini;nova.conf"
start_daemon nova-conductor nova-conductor "${nconf[@]}"
start_daemon nova-scheduler nova-scheduler "${nconf[@]}"
wait_for Placement 120 curl -sf "http://$CLOUD_HOST:$CLOUD_PLACEMENT_PORT/"
wait_for Glance 120 curl -sf "http://$CLOUD_HOST:$CLOUD_GLANCE_PORT/versions"
wait_for Neutron 120 curl -sf "http://$CLOUD_HOST:$CLOUD_NEUTRON_PORT/"
wait_for "Nova API" 120 curl -sf "http://$CLOUD_HOST:$CLOUD_NOVA_PORT/"

# -- one nova-compute per testbed node, inside the node -------------------
log "nova-compute on $n_nodes nodes"
args=()
for i in $(seq 1 "$n_nodes"); do
    args+=("node$i" "$CLOUD_VAR/nodes/node$i")
done
python3 "$CLOUD_TOP/tools/cloud/compute_services.py" "$CLOUD_ETC/nova/nova.conf" \
    "${args[@]}" > "$CLOUD_LOG/compute-services.log" 2>&1 \
    || die "recording the compute services failed (see $CLOUD_LOG/compute-services.log)"
# Each node's own instances directory, at the one path Nova expects on
# every node, inside the node's mount namespace (libvirtd's QEMUs see it).
install -d "$CLOUD_VAR/instances"
for i in $(seq 1 "$n_nodes"); do
    # shellcheck disable=SC2016  # expanded by the inner sh
    nsenter --mount="$TESTBED_VAR/ns/node$i.mnt" sh -c \
        'mountpoint -q "$2" || mount --bind "$1" "$2"' sh \
        "$CLOUD_VAR/nodes/node$i/instances" "$CLOUD_VAR/instances"
done
start_computes() {
    local i
    for i in $(seq 1 "$n_nodes"); do
        node_enter=(nsenter --net="/run/netns/nlm-node$i" \
            --mount="$TESTBED_VAR/ns/node$i.mnt" --uts="$TESTBED_VAR/ns/node$i.uts")
        start_daemon "nova-compute-node$i" "${node_enter[@]}" nova-compute \
            --config-file "$CLOUD_ETC/nova/nova-compute-node$i.conf"
    done
}
# Start again whichever exited (a node's link may be cut for a moment by
# other tests on the shared testbed).
hypervisors_up() {
    start_computes
    [ "$(openstack compute service list --service nova-compute -f value -c State \
        | grep -c '^up$')" -ge "$n_nodes" ]
}
wait_for "nova-compute on every node" 180 hypervisors_up
nova-manage "${nconf[@]}" cell_v2 discover_hosts > "$CLOUD_LOG/discover-hosts.log" 2>&1

log "images and flavors"
python3 "$CLOUD_TOP/tools/cloud/register.py" images >> "$CLOUD_LOG/register.log" 2>&1 \
    || die "registering images failed (see $CLOUD_LOG/register.log)"

log "up in $((SECONDS - start_s)) s; credentials: source $CLOUD_ETC/admin-openrc"
