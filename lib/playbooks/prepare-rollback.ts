/**
 * The rollback playbook's steps (lib/steps/order.ts). Without data: stop the stack (volumes kept),
 * restore the .env, check every store's source against its fingerprint from the freeze, thaw the
 * stores and restart the host's writers, report. `--with-data` first thaws the host and copies each
 * store's data back from the stack with its engine's `reverse`, instead of comparing fingerprints.
 * Once it completed, the migrate journal is reset (`reverses`): migrate can simply be run again.
 */
import { rollbackSteps } from '../steps/order.ts';
import { planCutover } from '../steps/cutover-mode.ts';
import { engines } from '../engines/index.ts';
import { resolveContext } from './resolve-context.ts';
import { playbookOf, prepareConfig, type PrepareArgs, type Prepared } from './prepare.ts';
import { storeSpecs } from './stores.ts';

export { rollbackSteps };

export async function prepareRollback(a: PrepareArgs): Promise<Prepared> {
  // The stores the migration followed and copied, as its preflight recorded them (compose-data-up of --with-data asks).
  const config = await planCutover(await prepareConfig(a, 'rollback'), { engines, redactor: a.redactor, journal: 'migrate', recordedOnly: true });
  const ctx = resolveContext({ config, mode: 'rollback', redactor: a.redactor, dryRun: a.dryRun, engines });
  const withData = a.flags?.['with-data'] === true;
  const title = withData ? 'Roll back, copying the stack\'s data back to the host' : 'Roll back to the host services';
  // A finished rollback resets the migrate journal: the next migrate starts from preflight, re-exporting.
  const playbook = { ...playbookOf('rollback', title, rollbackSteps(storeSpecs(config), withData), a, config), reverses: 'migrate' };
  return { playbook, ctx, stateDir: config.stateDir };
}
