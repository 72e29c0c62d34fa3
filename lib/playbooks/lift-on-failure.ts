/**
 * The freeze is always lifted on failure: steps between `freeze` and `unfreeze` are wrapped so that a
 * failing (or cancelled) `run` lifts it and restarts the host's writers before the error goes on.
 * A re-run freezes again (the freeze step's `verify` no longer holds) and resumes.
 */
import { defineStep, type Step, type StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from '../steps/context.ts';
import { liftFreeze, readFreezeState } from '../freeze/index.ts';

async function lift(p: StepParams<Config, FerryContext>): Promise<void> {
  if (!(await readFreezeState(p.config.stateDir).catch(() => undefined))) return;
  try {
    await liftFreeze({ ctx: p.ctx, stateDir: p.config.stateDir, restartWriters: true, startWriters: p.config.freeze.startWriters, log: p.log });
    p.log.warn('the write freeze was lifted because the step failed; a re-run freezes again and resumes');
  } catch (e) {
    p.log.error(`lifting the write freeze failed: ${(e as Error).message}; run playbooks/rollback.ts to lift it`);
  }
}

export function liftFreezeOnFailure(step: Step<Config, FerryContext>): Step<Config, FerryContext> {
  return defineStep<Config, FerryContext>({
    ...step,
    async run(p) {
      try {
        return await step.run(p);
      } catch (e) {
        await lift(p);
        throw e;
      }
    },
  });
}
