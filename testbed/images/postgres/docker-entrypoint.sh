#!/bin/bash
# Honours postgres:15's contract: POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER,
# POSTGRES_DB, PGDATA, *_FILE variants, /docker-entrypoint-initdb.d (*.sh, *.sql, *.sql.gz).
set -eo pipefail
file_env() { local var="$1" file="${1}_FILE" def="${2:-}"; local val="$def"
  if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!file:-}" ]; then val="$(<"${!file}")"; fi
  export "$var"="$val"; unset "$file"; }
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ]; then
  mkdir -p "$PGDATA"; chown -R postgres:postgres "$PGDATA" /var/run/postgresql; chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD; file_env POSTGRES_USER postgres; file_env POSTGRES_DB "$POSTGRES_USER"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
      echo >&2 'Error: Database is uninitialized and superuser password is not specified.'
      echo >&2 '  You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.'; exit 1
    fi
    pwfile="$(mktemp)"; printf '%s' "${POSTGRES_PASSWORD:-postgres}" > "$pwfile"; chown postgres "$pwfile"
    gosu postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null; rm -f "$pwfile"
    auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
    gosu postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
    export PGPASSWORD="$POSTGRES_PASSWORD"
    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc -h /var/run/postgresql)
    if [ "$POSTGRES_DB" != postgres ]; then "${psql[@]}" --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null; fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f"; . "$f" ;;
        *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
        *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
        *) [ -e "$f" ] && echo "ignoring $f" ;;
      esac
    done
    gosu postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    unset PGPASSWORD
    echo 'PostgreSQL init process complete; ready for start up.'
  fi
  exec gosu postgres postgres -c listen_addresses='*' "${@:2}"
fi
exec "$@"
