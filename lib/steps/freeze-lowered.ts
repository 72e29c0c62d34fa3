/**
 * A store whose engine reads its own frozen source in a way the freeze blocks (the Redis engine's
 * rewrite path reads with EVAL, which CLIENT PAUSE WRITE holds back) has the freeze lowered around its
 * import and put back afterwards; the host's writers stay stopped meanwhile.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import type { FerryStep } from './types.ts';
import { engineParams, hasPhase, bindingOf } from './store-params.ts';
import { freezeRecordOf, storeFreezeStep } from './store-freeze.ts';

export function freezeLoweredDuring(step: FerryStep, storeId: string): FerryStep {
  return defineStep<Config, FerryContext>({
    ...step,
    async run(p) {
      const b = bindingOf(p, storeId);
      const frozen = p.outputs.has(storeFreezeStep.id(storeId)) && hasPhase(b, 'thaw') && hasPhase(b, 'freeze');
      if (frozen) {
        await b.engine!.thaw!(engineParams(p, storeId), freezeRecordOf(p, storeId));
        p.log.warn(`${storeId}: write freeze lowered for the copy (the engine reads the source in a way the freeze blocks); the writers stay stopped`);
      }
      try {
        return await step.run(p);
      } finally {
        if (frozen) {
          await b.engine!.freeze!(engineParams(p, storeId)).catch((e: unknown) => p.log.error(`${storeId}: could not freeze writes again: ${(e as Error).message}`));
        }
      }
    },
  });
}
