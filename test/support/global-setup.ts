/**
 * e2e global setup: Testcontainers' Ryuk reaper needs an image that cannot be pulled here, so it is
 * disabled and the suite cleans up itself: every container it starts carries the label
 * `ferry.test=1`, and teardown removes those containers, their volumes and networks even when tests fail.
 */
import { execFileSync } from 'node:child_process';
import { testImages } from './images.ts';

import { TEST_LABEL } from './labels.ts';
export { TEST_LABEL };

function sweep(): void {
  const run = (args: string[]) => {
    try { return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; }
  };
  const ids = run(['ps', '-aq', '--filter', `label=${TEST_LABEL}=1`]).split('\n').filter(Boolean);
  if (ids.length) run(['rm', '-f', '-v', ...ids]);
  const nets = run(['network', 'ls', '-q', '--filter', `label=${TEST_LABEL}=1`]).split('\n').filter(Boolean);
  if (nets.length) run(['network', 'rm', ...nets]);
  const vols = run(['volume', 'ls', '-q', '--filter', `label=${TEST_LABEL}=1`]).split('\n').filter(Boolean);
  if (vols.length) run(['volume', 'rm', '-f', ...vols]);
}

export default function setup(): () => void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
  } catch {
    throw new Error('No Docker engine answers: run `npm run testbed` (root on Debian installs and starts one), or start Docker, then re-run. No e2e test is skipped.');
  }
  testImages(); // fails loudly when the test bed has not run
  sweep();
  return sweep;
}
