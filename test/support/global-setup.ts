/**
 * e2e global setup: Testcontainers' Ryuk reaper needs an image that cannot be pulled here, so it is
 * disabled and the suite cleans up itself (see labels.ts): teardown removes this run's containers,
 * volumes and networks even when tests fail; setup removes leftovers of runs whose process is gone.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { testImages } from './images.ts';
import { RUN_LABEL, TEST_LABEL } from './labels.ts';
import { alive, scopeRunTmp } from './run-tmp.ts';

function docker(args: string[]): string {
  try { return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; }
}

/** Remove labelled things whose run matches `keep(run) === false`. */
function sweep(remove: (run: string) => boolean): void {
  for (const kind of ['container', 'network', 'volume'] as const) {
    const fmt = kind === 'container' ? '{{.ID}} {{.Label "' + RUN_LABEL + '"}}' : '{{.Name}} {{.Label "' + RUN_LABEL + '"}}';
    const listArgs = kind === 'container' ? ['ps', '-a'] : [kind, 'ls'];
    const rows = docker([...listArgs, '--filter', `label=${TEST_LABEL}=1`, '--format', fmt]).split('\n').filter(Boolean);
    const ids = rows.map((r) => r.split(' ')).filter(([, run]) => remove(run ?? '')).map(([id]) => id!);
    if (!ids.length) continue;
    if (kind === 'container') docker(['rm', '-f', '-v', ...ids]);
    else if (kind === 'network') docker(['network', 'rm', ...ids]);
    else docker(['volume', 'rm', '-f', ...ids]);
  }
}

export default function setup(): () => void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
  } catch {
    throw new Error('No Docker engine answers: run `npm run testbed` (root on Debian installs and starts one), or start Docker, then re-run. No e2e test is skipped.');
  }
  testImages(); // fails loudly when the test bed has not run
  const run = `${process.pid}-${randomBytes(3).toString('hex')}`;
  process.env.FERRY_TEST_RUN = run;
  sweep((r) => { const pid = Number(r.split('-')[0]); return !Number.isFinite(pid) || pid <= 0 || !alive(pid); });
  const removeTmp = scopeRunTmp('e2e');
  return () => {
    sweep((r) => r === run);
    removeTmp(); // after the containers that bind-mounted parts of it are gone
    // An engine that stopped answering during the run fails every later test with testcontainers'
    // "Could not find a working container runtime strategy": say what the engine and the machine show.
    try { execFileSync('docker', ['info'], { stdio: 'ignore' }); } catch {
      try { execFileSync('bash', [new URL('../../scripts/engine-report.sh', import.meta.url).pathname], { stdio: ['ignore', 'inherit', 'inherit'] }); } catch { /* the report is best effort */ }
    }
  };
}
