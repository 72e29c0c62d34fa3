#!/usr/bin/env bash
# ferry's test bed: a Docker engine, a compose CLI and the server images the tests use.
# Idempotent: every stage is a no-op when what it provides is already there.
# Writes testbed/.images.json (role -> image reference) which test/support/images.ts reads.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
say() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n[testbed] what to do: %s\n' "$1" "$2" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }
apt_ready=""
apt_install() {
  command -v apt-get >/dev/null || die "need to install $* but apt-get is not available" "install $* with your package manager, then re-run"
  if [ -z "$apt_ready" ]; then as_root apt-get update -qq >/dev/null || die "apt-get update failed (not root?)" "run as root or with passwordless sudo, or install $* yourself"; apt_ready=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed" "install $* yourself, then re-run"
}

# --- 1. Docker engine ---------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "docker engine: running ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
else
  if ! command -v dockerd >/dev/null; then
    [ "$(id -u)" = 0 ] || command -v sudo >/dev/null || die "no Docker engine is running and this user is not root" "start Docker (Docker Desktop on a Mac, 'systemctl start docker' on Linux), or run as root so the test bed can install docker.io"
    say "installing docker.io"
    apt_install docker.io iptables
  fi
  grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null || say "kernel has no overlay filesystem: dockerd will fall back to the vfs driver (slower, uses more disk)"
  say "starting dockerd"
  mkdir -p /var/log
  # In a session of its own (setsid): a signal to the process group that ran this script (a CI runner
  # stopping a step, a terminal's ^C) never reaches the engine the rest of the run depends on. The log
  # is appended to, so what an engine that died printed last is still there for `npm test`'s report.
  as_root sh -c 'echo "--- dockerd started by the ferry test bed at $(date -u +%FT%TZ)" >>/var/log/ferry-dockerd.log; setsid nohup dockerd --log-level=warn >>/var/log/ferry-dockerd.log 2>&1 </dev/null &' || die "could not start dockerd" "start a Docker engine yourself and re-run"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  # The kernel's OOM killer takes any server container before the engine (dockerd's own default is -500).
  for pid in $(pgrep -x dockerd) $(pgrep -x containerd); do as_root sh -c "echo -999 > /proc/$pid/oom_score_adj" 2>/dev/null || true; done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s; last log lines: $(tail -n 5 /var/log/ferry-dockerd.log 2>/dev/null | tr '\n' ' ')" "read /var/log/ferry-dockerd.log; a kernel without overlay/iptables support needs a VM with Docker"
  say "docker engine: started ($(docker version -f '{{.Server.Version}}'))"
fi

# --- 2. Compose CLI -------------------------------------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  say "compose: v2 plugin ($(docker compose version --short 2>/dev/null))"
elif command -v docker-compose >/dev/null; then
  say "compose: docker-compose $(docker-compose version --short 2>/dev/null)"
else
  say "installing docker-compose (v1) from Debian"
  apt_install docker-compose
fi

# python-dotenv: the env tests compare ferry's reading with the real one (compose v1's and the app's reader).
if ! python3 -c 'import dotenv' >/dev/null 2>&1; then
  say "installing python3-dotenv"
  apt_install python3 python3-dotenv
fi

# pg_dump ≥ 15: the postgres engine dumps a PostgreSQL 15 (or 14) source's schema with the host's pg_dump
# when its major qualifies; here no postgres:<major> image can be pulled to stand in for it.
if ! { command -v pg_dump >/dev/null 2>&1 && [ "$(pg_dump --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')" -ge 15 ]; }; then
  say "installing postgresql-client-15 (pg_dump) from Debian"
  apt_install postgresql-client-15
fi

# --- 3. Images ------------------------------------------------------------------------------------
# Official images where they can be pulled; else stand-ins built from Debian packages.
mkdir -p testbed
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ferry-testbed"; mkdir -p "$cache_dir"
declare -A official=([mysql]=mysql:8.0 [redis]=redis:7-alpine [postgres]=postgres:15-alpine)
declare -A chosen=()
pullable=""
if [ "${FERRY_TESTBED_STANDINS:-}" != 1 ]; then
  for role in mysql redis postgres; do
    ref="${official[$role]}"
    if docker image inspect "$ref" >/dev/null 2>&1 || timeout 60 docker pull -q "$ref" >/dev/null 2>&1; then chosen[$role]="$ref"; pullable=1; fi
  done
fi
need_standins=""
for role in mysql redis postgres; do [ -n "${chosen[$role]:-}" ] || need_standins=1; done

if [ -n "$need_standins" ]; then
  say "official images cannot be pulled: building stand-ins from Debian packages"
  recipe_hash() { (cd testbed/images && cat $* | sha256sum | cut -c1-12); }
  base_hash="$(recipe_hash base.packages)"
  base_ref="ferry-testbed/bookworm:$base_hash"
  if ! docker image inspect "$base_ref" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    mirror="${FERRY_DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
      mirror="$(grep -hoE '^URIs:\s*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
      [ -n "$mirror" ] || mirror="$(grep -hoE '^deb\s+\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n1 || true)"
    fi
    [ -n "$mirror" ] || die "no Debian mirror found in the host's apt sources" "set FERRY_DEBIAN_MIRROR to a bookworm mirror URL"
    pkgs="$(grep -vE '^\s*(#|$)' testbed/images/base.packages | tr '\n' ',' | sed 's/,$//')"
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry-testbed"
    rootfs="$cache/rootfs-$base_hash"
    mkdir -p "$cache"
    if [ ! -f "$rootfs.tar" ]; then
      say "debootstrap bookworm from $mirror (a few minutes, once)"
      as_root rm -rf "$rootfs"
      as_root debootstrap --variant=minbase --include="$pkgs" bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || die "debootstrap failed; last lines: $(tail -n 5 "$cache/debootstrap.log" | tr '\n' ' ')" "check $cache/debootstrap.log and the mirror"
      as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
      as_root tar -C "$rootfs" -cf "$rootfs.tar.tmp" . && mv "$rootfs.tar.tmp" "$rootfs.tar"
      as_root rm -rf "$rootfs"
    fi
    say "docker import $base_ref"
    docker import "$rootfs.tar" "$base_ref" >/dev/null
  fi
  for role in mysql redis postgres; do
    [ -z "${chosen[$role]:-}" ] || continue
    h="$(recipe_hash base.packages "$role/*")"
    ref="ferry-testbed/$role:$h"
    if ! docker image inspect "$ref" >/dev/null 2>&1; then
      say "building $ref"
      DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_ref" -t "$ref" "testbed/images/$role" >/dev/null 2>"$cache_dir/build-$role.log" || die "docker build of $ref failed: $(tail -n 5 "$cache_dir/build-$role.log" | tr "\n" " ")" "read $cache_dir/build-$role.log"
    fi
    chosen[$role]="$ref"
  done
fi

cat > testbed/.images.json.tmp <<JSON
{"mysql": "${chosen[mysql]}", "redis": "${chosen[redis]}", "postgres": "${chosen[postgres]}", "standins": $([ -n "$need_standins" ] && echo true || echo false)}
JSON
mv testbed/.images.json.tmp testbed/.images.json
say "images: $(cat testbed/.images.json)"
