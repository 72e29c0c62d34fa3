#!/usr/bin/env bash
# What the test bed's Docker engine and the machine looked like, for a run whose e2e tests lost the
# engine: whether dockerd answers, the end of its log (scripts/testbed.sh appends to it), the kernel's
# OOM-killer and segfault lines, memory and disk. Read-only; prints to stderr; always exits 0.
{
  echo "[engine-report] $(date -u +%FT%TZ)"
  if docker info >/dev/null 2>&1; then echo "[engine-report] dockerd answers"; else echo "[engine-report] dockerd does NOT answer; processes: $(pgrep -a -x dockerd || echo none) / $(pgrep -a -x containerd || echo none)"; fi
  if [ -r /var/log/ferry-dockerd.log ]; then
    echo "[engine-report] /var/log/ferry-dockerd.log, starts, panics, fatal errors and signals:"
    grep -n -E -- '^--- dockerd started|panic|fatal|level=fatal|[Ss]ignal|[Ss]hutting down|terminated' /var/log/ferry-dockerd.log | grep -v 'starting signal loop' | tail -n 15 | cut -c1-300
    echo "[engine-report] its last lines:"; tail -n 12 /var/log/ferry-dockerd.log | cut -c1-300
  fi
  echo "[engine-report] kernel (oom / killed / segfault):"; (dmesg 2>/dev/null || true) | grep -i -E 'oom|killed process|segfault|out of memory' | tail -n 10
  # A process that died of a signal and dumped core (.ci/run raises the core limit): where it died. The
  # kernel's core_pattern decides the place; "core" (the default) writes into the process's directory.
  for c in $(ls -1t core core.* /tmp/cores/core* 2>/dev/null | head -n 3); do
    exe=$(file -b "$c" 2>/dev/null | sed -n "s/.*execfn: '\([^']*\)'.*/\1/p")
    echo "[engine-report] core dump $c ($(du -h "$c" | cut -f1), ${exe:-executable unknown}):"
    if command -v gdb >/dev/null 2>&1 && [ -n "$exe" ] && [ -x "$exe" ]; then
      gdb -q -batch -ex 'info threads' -ex 'bt 15' "$exe" "$c" 2>/dev/null | grep -v '^\[New LWP\|^warning' | tail -n 35 | cut -c1-240
    else echo "[engine-report] (no gdb or executable: the core is kept for a look by hand)"; fi
  done
  echo "[engine-report] memory:"; free -m 2>/dev/null | head -3
  echo "[engine-report] disk:"; df -h / /tmp /var/lib/docker 2>/dev/null
} >&2
exit 0
