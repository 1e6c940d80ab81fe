#!/usr/bin/env bash
# One database per example service, each with the outbox table and a user that can reach only its
# own database. The mysql image runs this once, on first start, from /docker-entrypoint-initdb.d
# (docker-compose.yml); test/integration/compose-mysql-init.test.ts runs it against the local MariaDB.
#
# Environment:
#   SERVICE_DATABASES       space-separated database names   (compose: ride driver payment notification)
#   SERVICE_DB_PASSWORD     password of each service's user (the user is named like its database)
#   OUTBOX_MIGRATION        the outbox DDL to apply in each  @default /wavegate/migrations/0001_create_outbox.sql
#   MYSQL_ROOT_PASSWORD     root's password, if it has one (the mysql image sets it before init scripts run)
#   MYSQL_HOST, MYSQL_TCP_PORT  read by the mysql client itself (default: the local socket)
set -euo pipefail

: "${SERVICE_DATABASES:?SERVICE_DATABASES must list the service databases}"
: "${SERVICE_DB_PASSWORD:?SERVICE_DB_PASSWORD must be set}"
migration=${OUTBOX_MIGRATION:-/wavegate/migrations/0001_create_outbox.sql}
[ -r "$migration" ] || { echo "mysql-init: cannot read $migration" >&2; exit 1; }
case "$SERVICE_DB_PASSWORD" in *"'"*|*'\'*) echo "mysql-init: SERVICE_DB_PASSWORD must not contain ' or \\" >&2; exit 1 ;; esac

export MYSQL_PWD=${MYSQL_ROOT_PASSWORD:-}
sql() { mysql --user=root --batch "$@"; }

for db in $SERVICE_DATABASES; do
  # Names become identifiers and RisingWave table names (outbox_<db>): keep them plain.
  [[ "$db" =~ ^[a-z0-9_]{1,56}$ ]] || { echo "mysql-init: database name '$db' must match [a-z0-9_]{1,56}" >&2; exit 1; }
  sql -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
          CREATE USER IF NOT EXISTS '$db'@'%' IDENTIFIED BY '$SERVICE_DB_PASSWORD';
          GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'%';"
  sql --database="$db" <"$migration"
  echo "mysql-init: database $db with its outbox and user '$db'"
done
