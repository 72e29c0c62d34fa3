#!/bin/bash
# As the official image: flags alone mean redis-server; without a config file, listen on all
# interfaces with protected mode off; run as the redis user; data in /data.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  chown -R redis:redis /data 2>/dev/null || true
  shift
  conf=""; if [ "${1%.conf}" != "$1" ]; then conf="$1"; shift; fi
  if [ -z "$conf" ]; then set -- --bind '* -::*' --protected-mode no --dir /data --daemonize no "$@"; else set -- "$conf" "$@"; fi
  exec gosu redis redis-server "$@"
fi
exec "$@"
