/**
 * Step `rollback-restart-host`: thaw every store on the host with the record the migration's
 * `freeze:<id>` left (safe when nothing is frozen), then start the host's writers
 * (`freeze.startWriters`: `brew services start vedfolnir`…). Safe to repeat.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { runCommands } from '../freeze/commands.ts';
import { readJournalOutputs } from '../journal/index.ts';
import { engineParams, hasPhase, markThawed } from './store-params.ts';
import { markWritersStarted } from './stop-writers.ts';
import { freezeRecordOf } from './store-freeze.ts';

export default defineStep<Config, FerryContext>({
  id: 'rollback-restart-host',
  title: 'Lift the freeze and restart the host services',
  async plan({ config, ctx }) {
    const thawed = [...(ctx.stores?.values() ?? [])].filter((b) => hasPhase(b, 'thaw')).map((b) => `thaw ${b.store.id}`);
    return { reads: ['the migrate journal (freeze records)'], changes: [...thawed, ...config.freeze.startWriters.map((c) => `run \`${c}\``)] };
  },
  async run(p) {
    const migrate = await readJournalOutputs(p.config.stateDir, 'migrate').catch(() => new Map());
    const thawed: string[] = [];
    // Last frozen, first thawed (stores of one server each recorded the state the one before left).
    for (const b of [...(p.ctx.stores?.values() ?? [])].reverse()) {
      if (!hasPhase(b, 'thaw')) continue;
      await b.engine!.thaw!(engineParams(p, b.store.id), freezeRecordOf(p, b.store.id, migrate));
      await markThawed(p, b.store.id);
      thawed.push(b.store.id);
    }
    await runCommands(p.config.freeze.startWriters, 'startWriters', { signal: p.signal });
    await markWritersStarted(p.config.stateDir);
    for (const c of p.config.freeze.startWriters) p.log.info(`ran \`${c}\``);
    return { data: { thawed, started: p.config.freeze.startWriters } };
  },
});
