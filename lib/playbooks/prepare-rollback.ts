/**
 * The rollback playbook's steps. Without data: stop the stack (volumes kept), restore the .env, check
 * the source against its pre-migration snapshot while still frozen, lift the freeze and restart the
 * host's writers, report. `--with-data` first copies the stack's data back to the host with the engine
 * steps reversed and verifies the copy, instead of comparing with the snapshot.
 */
import type { Config } from '../config/schema.ts';
import type { FerryContext } from '../steps/context.ts';
import { defineStep } from '../core/step.ts';
import { composeDataUp, report, engineStep, type FerryStep } from '../steps/index.ts';
import { liftFreeze } from '../freeze/index.ts';
import { resolveContext } from './resolve-context.ts';
import { playbookOf, type PrepareArgs, type Prepared } from './prepare.ts';
import { reverseStep } from './reverse.ts';
import stopStack from '../steps/rollback-stop-stack.ts';
import restoreEnv from '../steps/rollback-restore-env.ts';
import restartHost from './rollback/restart-host.ts';
import sourceCheck from './rollback/source-check.ts';

/** The host must accept writes before data is copied back: lift read_only and the pause, writers stay down. */
const thaw: FerryStep = defineStep<Config, FerryContext>({
  id: 'rollback-thaw-source',
  title: 'Lift read_only and the Redis pause on the host (writers stay stopped)',
  async plan() { return { reads: ['freeze.json'], changes: ['lift read_only and the Redis pause'] }; },
  async run({ ctx, config, log }) {
    await liftFreeze({ ctx, stateDir: config.stateDir, restartWriters: false, startWriters: [], log });
  },
});

export function rollbackSteps(withData: boolean): FerryStep[] {
  if (!withData) return [stopStack, restoreEnv, sourceCheck, restartHost, report] as FerryStep[];
  const engine = (...ids: string[]) => ids.flatMap((id) => { const s = engineStep(id); return s ? [reverseStep(s)] : []; });
  return [
    composeDataUp as FerryStep,
    ...engine('mysql-export', 'redis-export'),
    thaw,
    ...engine('mysql-import', 'redis-import', 'mysql-verify', 'redis-verify'),
    stopStack, restoreEnv, restartHost, report,
  ] as FerryStep[];
}

export async function prepareRollback(a: PrepareArgs): Promise<Prepared> {
  const ctx = resolveContext({ config: a.config, mode: 'rollback', redactor: a.redactor, dryRun: a.dryRun });
  const withData = a.flags?.['with-data'] === true;
  return {
    playbook: playbookOf('rollback', withData ? 'Roll back, copying the stack\'s data back to the host' : 'Roll back to the host services', rollbackSteps(withData), a),
    ctx, stateDir: a.config.stateDir,
  };
}
