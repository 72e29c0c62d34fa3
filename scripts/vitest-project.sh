#!/usr/bin/env bash
# Runs one vitest project (unit or e2e) as `vitest run --project <name>` does, with one exception: a
# test file whose worker process died of a signal (SIGSEGV, SIGBUS, SIGILL, SIGABRT) while no test
# failed is run once more, alone, and the run passes only if that file then passes. The crash is
# reported (scripts/engine-report.sh: the core's backtrace where one was written) and the run says
# which file it ran again; a failed assertion, a failed hook or any other error is never run again.
# Why: two full runs lost the fork running test/e2e/redis.test.ts to SIGSEGV (Node 24.21, vitest 5.1,
# machine under load); the file passes alone and in other full runs, nothing in it loads native code
# but Node's own, and vitest reports the crash as an unhandled error with no test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
project="${1:?usage: scripts/vitest-project.sh <project> [vitest args]}"; shift
log="$(mktemp "${TMPDIR:-/tmp}/ferry-vitest-$project-XXXXXX.log")"
trap 'rm -f "$log"' EXIT
npx vitest run --project "$project" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
plain="$(sed 's/\x1b\[[0-9;]*m//g' "$log")"
crashed="$(printf '%s\n' "$plain" | sed -n -E 's/.*Worker exited unexpectedly with signal (SIGSEGV|SIGBUS|SIGILL|SIGABRT) .*while running test file ([^ ]+).*/\2/p' | sort -u)"
# Only a crash, nothing else: no failed file or test in the summary, and one unhandled error per crash.
summary_failed="$(printf '%s\n' "$plain" | grep -E '^ *(Test Files|Tests) ' | grep -c 'failed')"
errors="$(printf '%s\n' "$plain" | sed -n -E 's/^ *Errors +([0-9]+) errors?.*/\1/p' | tail -n 1)"
if [ -z "$crashed" ] || [ "$summary_failed" -ne 0 ] || [ "${errors:-0}" -ne "$(printf '%s\n' "$crashed" | wc -l)" ]; then exit "$rc"; fi
echo "[vitest-project] a worker died of a signal while running: $(echo $crashed); no test failed." >&2
bash scripts/engine-report.sh
echo "[vitest-project] running that file once more, alone:" >&2
# shellcheck disable=SC2086
npx vitest run --project "$project" $crashed
rc=$?
echo "[vitest-project] the crashed file's second run: exit $rc" >&2
exit "$rc"
