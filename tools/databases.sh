#!/bin/bash
# MariaDB and PostgreSQL for the tests, from Debian's packages, without
# systemd (containers, CI machines). As root:
#
#   tools/databases.sh [start]   install if missing, start, create the test
#                                user and its databases; idempotent
#   tools/databases.sh stop      stop both servers (their data stays)
#   tools/databases.sh status    say which server answers
#
# The test user's password is generated here, kept in a root-only file and
# never printed. The SQLAlchemy URLs the tests read are written to
# $NOVA_LIVEMIG_DB_DIR/urls.env (mode 0600), as
#   NOVA_LIVEMIG_TEST_MYSQL_URL=mysql+pymysql://livemig_test:...@127.0.0.1:3306/livemig_test
#   NOVA_LIVEMIG_TEST_POSTGRESQL_URL=postgresql+psycopg2://livemig_test:...@127.0.0.1:5432/livemig_test
# The user may also create and drop databases named livemig_test*: the
# tests make a fresh one per test.
set -euo pipefail
umask 077
export DEBIAN_FRONTEND=noninteractive

DIR=${NOVA_LIVEMIG_DB_DIR:-/run/nova-livemig-db}
URLS=$DIR/urls.env
SECRET=$DIR/password
DB_USER=livemig_test
DB_NAME=livemig_test
WAIT_S=${NOVA_LIVEMIG_DB_WAIT_S:-60}

say() { printf 'databases: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs and starts servers)"

mariadb_up() { mariadb-admin --protocol=socket ping > /dev/null 2>&1; }

pg_cluster() {
    # "<version> <name>" of the first PostgreSQL cluster, or nothing
    pg_lsclusters -h 2> /dev/null | awk 'NR == 1 {print $1, $2}'
}

pg_up() {
    local cluster
    cluster=$(pg_cluster)
    [ -n "$cluster" ] || return 1
    # shellcheck disable=SC2086 # two words: version and name
    pg_ctlcluster $cluster status > /dev/null 2>&1
}

wait_for() {
    local what=$1 check=$2 i
    for ((i = 0; i < WAIT_S * 2; i++)); do
        if "$check"; then
            return 0
        fi
        sleep 0.5
    done
    die "$what did not answer within ${WAIT_S} s"
}

install_missing() {
    local wanted=()
    command -v mariadbd > /dev/null || wanted+=(mariadb-server)
    command -v pg_ctlcluster > /dev/null || wanted+=(postgresql)
    if [ ${#wanted[@]} -gt 0 ]; then
        say "installing ${wanted[*]}"
        apt-get update -qq
        # the packages' scripts try to start the servers through systemd,
        # which is absent here: allowed to fail, started below
        apt-get install -y -qq "${wanted[@]}" > /dev/null || true
        if ! command -v mariadbd > /dev/null \
                || ! command -v pg_ctlcluster > /dev/null; then
            die "cannot install ${wanted[*]}"
        fi
    fi
}

password() {
    # hex: safe in an SQL literal and in a URL without quoting
    if [ ! -s "$SECRET" ]; then
        head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRET"
    fi
    cat "$SECRET"
}

start_mariadb() {
    if ! mariadb_up; then
        if [ ! -d /var/lib/mysql/mysql ]; then
            mariadb-install-db --user=mysql > /dev/null
        fi
        install -d -o mysql -g root -m 0755 /run/mysqld
        say "starting MariaDB"
        setsid mysqld_safe --user=mysql > /dev/null 2>&1 < /dev/null &
        wait_for MariaDB mariadb_up
    fi
    # the SQL reaches the server on stdin: the password is in no command
    # line (ps) and no log
    mariadb --protocol=socket -u root <<EOF
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$1';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$1';
GRANT ALL PRIVILEGES ON \`${DB_NAME}%\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`${DB_NAME}%\`.* TO '$DB_USER'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4;
EOF
}

start_postgresql() {
    local cluster
    cluster=$(pg_cluster)
    if [ -z "$cluster" ]; then
        pg_createcluster 15 main > /dev/null
        cluster=$(pg_cluster)
    fi
    if ! pg_up; then
        say "starting PostgreSQL $cluster"
        # shellcheck disable=SC2086 # two words: version and name
        pg_ctlcluster $cluster start
        wait_for PostgreSQL pg_up
    fi
    (cd / && runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
        > /dev/null) <<EOF
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB;
  END IF;
END\$\$;
ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$1';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\\gexec
EOF
}

start() {
    local secret port
    install_missing
    install -d -m 0700 "$DIR"
    secret=$(password)
    start_mariadb "$secret"
    start_postgresql "$secret"
    port=$(pg_lsclusters -h | awk 'NR == 1 {print $3}')
    cat > "$URLS.new" <<EOF
NOVA_LIVEMIG_TEST_MYSQL_URL=mysql+pymysql://$DB_USER:$secret@127.0.0.1:3306/$DB_NAME
NOVA_LIVEMIG_TEST_POSTGRESQL_URL=postgresql+psycopg2://$DB_USER:$secret@127.0.0.1:$port/$DB_NAME
EOF
    mv "$URLS.new" "$URLS"
    say "MariaDB and PostgreSQL are up; URLs in $URLS (root only)"
}

stop() {
    local cluster
    if mariadb_up; then
        say "stopping MariaDB"
        mariadb-admin --protocol=socket shutdown
    fi
    if pg_up; then
        cluster=$(pg_cluster)
        say "stopping PostgreSQL $cluster"
        # shellcheck disable=SC2086 # two words: version and name
        pg_ctlcluster $cluster stop
    fi
}

status() {
    local rc=0
    if mariadb_up; then say "MariaDB: up"; else say "MariaDB: down"; rc=1; fi
    if pg_up; then say "PostgreSQL: up"; else say "PostgreSQL: down"; rc=1; fi
    return $rc
}

case ${1:-start} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "unknown command '${1}'; use start, stop or status" ;;
esac
