#!/bin/sh
# ferry: deliver Docker secrets to the app, then run it (`exec "$@"`).
#   1. for every NAME_FILE=/run/secrets/<name> whose NAME is unset: export NAME="$(cat that file)"
#      (byte for byte, trailing newlines kept); an unreadable file stops the start with exit 64;
#   2. in every variable, replace each __FERRY_SECRET_<NAME>__ placeholder (a URL password moved out
#      of the .env by ferry's env-transform) by the secret /run/secrets/<name>, percent-encoded.
# The app's load_dotenv() (override=False) keeps these values. Secrets never reach argv or output.
# FERRY_SECRETS_DIR overrides /run/secrets (tests).
set -eu
dir=${FERRY_SECRETS_DIR:-/run/secrets}

# Percent-encode $1: every byte but RFC 3986 unreserved characters becomes %XX.
urlencode() {
  out=
  for h in $(printf '%s' "$1" | od -An -v -tx1); do
    case $h in
      3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a] | 2d | 2e | 5f | 7e)
        out="$out$(printf "\\$(printf '%03o' "0x$h")")" ;;
      *) out="$out%$(printf '%s' "$h" | tr 'a-f' 'A-F')" ;;
    esac
  done
  printf '%s' "$out"
}

names=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort -u)

for var in $names; do
  case $var in *_FILE) ;; *) continue ;; esac
  base=${var%_FILE}
  eval "path=\${$var-}"
  case $path in /run/secrets/*) path="$dir/${path#/run/secrets/}" ;; *) continue ;; esac
  eval "isset=\${$base+x}"
  [ -z "$isset" ] || continue
  if [ ! -r "$path" ]; then
    # Compose mounts each secret file with its host owner and mode: ferry chowns it to the app's user.
    echo "entrypoint-secrets: $var names $path, which uid $(id -u) cannot read (owner and mode: $(ls -ln "$path" 2>/dev/null | awk '{print $1, $3":"$4}'))" >&2
    exit 64
  fi
  value=$(cat "$path"; printf x)
  export "$base=${value%x}"
done

for var in $names; do
  eval "value=\${$var-}"
  case $value in *__FERRY_SECRET_*__*) ;; *) continue ;; esac
  result=
  while :; do
    case $value in *__FERRY_SECRET_*__*) ;; *) break ;; esac
    before=${value%%__FERRY_SECRET_*}
    rest=${value#"$before"__FERRY_SECRET_}
    name=${rest%%__*}
    after=${rest#"$name"__}
    file="$dir/$(printf '%s' "$name" | tr 'A-Z' 'a-z')"
    if [ ! -r "$file" ]; then
      echo "entrypoint-secrets: $var needs the secret file $file, which is missing" >&2
      exit 64
    fi
    secret=$(cat "$file"; printf x)
    result="$result$before$(urlencode "${secret%x}")"
    value=$after
  done
  export "$var=$result$value"
done

# 3. Names a POSIX shell cannot hold (python-dotenv accepts `a-b`, `x.y`) are dropped by the shell's own
#    exec: re-pass them, read NUL-safely from the environment block the kernel gave this process.
#    They travel as `env NAME=value` arguments; ferry never lets such a name carry a secret.
if [ -r "/proc/$$/environ" ]; then
  bytes=" $(od -An -v -tx1 "/proc/$$/environ" | tr '\n' ' ' | tr -s ' ') "
  count=$#
  while :; do
    entry=${bytes%% 00 *}
    [ "$entry" != "$bytes" ] || break
    bytes=" ${bytes#"$entry" 00 }"
    name=${entry%% 3d *}
    valid=1
    for h in $name; do case $h in 3[0-9] | 4[1-9a-f] | 5[0-9a] | 5f | 6[1-9a-f] | 7[0-9a]) ;; *) valid= ;; esac; done
    case $name in ' '3[0-9]*) valid= ;; esac
    [ -z "$valid" ] || continue
    esc=
    for h in $entry; do esc="$esc\\$(printf '%03o' "0x$h")"; done
    pair=$(printf "$esc"; printf x)
    set -- "${pair%x}" "$@"
  done
  if [ $# -gt "$count" ]; then exec env "$@"; fi
fi

exec "$@"
