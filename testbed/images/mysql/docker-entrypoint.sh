#!/bin/bash
# Honours mysql:8.0's contract: MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD,
# MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, MYSQL_ROOT_HOST, *_FILE variants, /docker-entrypoint-initdb.d.
set -eo pipefail
file_env() { local var="$1" file="${1}_FILE" def="${2:-}"; local val="$def"
  if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!file:-}" ]; then val="$(<"${!file}")"; fi
  export "$var"="$val"; unset "$file"; }
if [ "${1:0:1}" = '-' ]; then set -- mysqld "$@"; fi
if [ "$1" = mysqld ] || [ "$1" = mariadbd ]; then
  shift; set -- mariadbd --user=mysql "$@"
  DATADIR=/var/lib/mysql
  mkdir -p "$DATADIR" /var/run/mysqld; chown -R mysql:mysql "$DATADIR" /var/run/mysqld
  if [ ! -d "$DATADIR/mysql" ]; then
    file_env MYSQL_ROOT_PASSWORD; file_env MYSQL_DATABASE; file_env MYSQL_USER; file_env MYSQL_PASSWORD
    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
      echo >&2 'error: database is uninitialized and password option is not specified'
      echo >&2 '  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD'
      exit 1
    fi
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then MYSQL_ROOT_PASSWORD="$(head -c 18 /dev/urandom | base64)"; echo "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"; fi
    echo 'Initializing database'
    mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal --skip-test-db "${@:2}" >/dev/null
    "$@" --skip-networking --socket=/var/run/mysqld/mysqld.sock &
    pid=$!
    for i in $(seq 60); do mariadb --protocol=socket -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
    sql() { mariadb --protocol=socket -uroot "$@"; }
    esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g"; }
    rootpw="$(esc "$MYSQL_ROOT_PASSWORD")"; roothost="${MYSQL_ROOT_HOST:-%}"
    sql <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
DELETE FROM mysql.global_priv WHERE user NOT IN ('mysql.sys','mariadb.sys','mysql','root') OR host NOT IN ('localhost');
ALTER USER 'root'@'localhost' IDENTIFIED BY '${rootpw}';
CREATE USER IF NOT EXISTS 'root'@'${roothost}' IDENTIFIED BY '${rootpw}';
GRANT ALL ON *.* TO 'root'@'${roothost}' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"
    if [ -n "$MYSQL_DATABASE" ]; then sql -e "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`"; fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
      sql -e "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$(esc "$MYSQL_PASSWORD")'"
      if [ -n "$MYSQL_DATABASE" ]; then sql -e "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%'"; fi
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f"; . "$f" ;;
        *.sql) echo "running $f"; sql ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} < "$f" ;;
        *.sql.gz) echo "running $f"; gunzip -c "$f" | sql ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
        *) [ -e "$f" ] && echo "ignoring $f" ;;
      esac
    done
    unset MYSQL_PWD
    kill "$pid"; wait "$pid" || true
    echo 'MySQL init process done. Ready for start up.'
  fi
fi
exec "$@"
