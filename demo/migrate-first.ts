/**
 * `verify --demo` and `rollback --demo` need something migrated: the fresh demo is first migrated by
 * the migrate playbook, in process, one log line per step; a failure stops the demo with its reason.
 */
import { FerryError } from '../lib/core/errors.ts';
import { configSecrets, type Config } from '../lib/config/index.ts';
import { prepareMigrate } from '../lib/playbooks/index.ts';
import { runPlaybook } from '../lib/runner/index.ts';
import { Redactor } from '../lib/util/redact.ts';

export async function migrateDemo(config: Config, o: { readonly signal: AbortSignal; readonly log: (line: string) => void }): Promise<void> {
  const redactor = new Redactor().add(...configSecrets(config));
  o.log('demo: migrating the demo first (the migrate playbook), then the playbook asked for');
  const prep = await prepareMigrate({ config, redactor, dryRun: false });
  const titles = new Map(prep.playbook.steps.map((s) => [s.id, s.title]));
  try {
    const r = await runPlaybook({
      playbook: prep.playbook, config, ctx: prep.ctx, stateDir: prep.stateDir, redactor, signal: o.signal,
      onEvent: (e) => {
        if (e.type === 'step-done') o.log(`demo migrate: ✔ ${titles.get(e.step) ?? e.step}`);
        if (e.type === 'step-fail') o.log(`demo migrate: ✖ ${titles.get(e.step) ?? e.step}: ${String(e.error.message)}`);
      },
    });
    if (r.status !== 'ok') {
      const failed = r.steps.find((s) => s.status === 'failed');
      const why = String(failed?.error?.message ?? r.error?.message ?? r.status);
      throw new FerryError(r.status === 'cancelled' ? 'E_CANCELLED' : 'E_DEMO_MIGRATE', `the demo's migrate ${r.status}${failed ? ` at ${failed.id}` : ''}: ${why}`, {
        hint: 'run `npx ts-node playbooks/migrate.ts --demo` to see the whole run; FERRY_DEMO_KEEP=1 keeps its files and servers',
      });
    }
  } finally {
    await prep.cleanup?.();
  }
}
