/**
 * The freeze is always lifted on failure: a step inside the write freeze that fails (or is cancelled)
 * thaws every store the freeze recorded and starts the host's writers again before the error goes on.
 * A re-run freezes again and resumes.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import type { FerryStep } from './types.ts';
import { engineParams, hasPhase, markThawed, type StoreStepParams } from './store-params.ts';
import { freezeRecordOf, storeFreezeStep } from './store-freeze.ts';
import { startWriters } from './stop-writers.ts';

/** Thaw every store frozen in this run (those `freeze:<id>` recorded, or whose freeze was cut short), then start the writers. */
export async function thawAll(p: StoreStepParams): Promise<string[]> {
  p.ctx.tunnels?.release();
  const done: string[] = [];
  // Last frozen, first thawed: stores of one server each recorded the state the one before left.
  for (const b of [...(p.ctx.stores?.values() ?? [])].reverse()) {
    if (!hasPhase(b, 'thaw')) continue;
    const id = b.store.id;
    // A freeze cut short left its record with the engine (in its state dir): thaw(undefined) reads it.
    await b.engine!.thaw!(engineParams(p, id), freezeRecordOf(p, id));
    if (p.outputs.has(storeFreezeStep.id(id))) { done.push(id); await markThawed(p, id); }
  }
  const started = await startWriters(p.config, p.stateDir);
  return [...done.map((id) => `${id} thawed`), ...started.map((c) => `ran \`${c}\``)];
}

export function thawOnFailure(step: FerryStep): FerryStep {
  return defineStep<Config, FerryContext>({
    ...step,
    async run(p) {
      try {
        return await step.run(p);
      } catch (e) {
        try {
          const lifted = await thawAll(p);
          if (lifted.length) p.log.warn(`the write freeze was lifted because the step failed (${lifted.join('; ')}); a re-run freezes again and resumes`);
        } catch (t) {
          p.log.error(`lifting the write freeze failed: ${(t as Error).message}; run the rollback playbook to lift it`);
        }
        throw e;
      }
    },
  });
}
