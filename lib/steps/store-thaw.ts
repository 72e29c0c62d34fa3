/**
 * `thaw:<store>`: lift exactly what `freeze:<store>` recorded (safe twice, and when nothing was
 * frozen). After a cutover the writers live in the stack: the host's writers are not started here.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, engineOf, engineParams, markThawed, storeStepId } from './store-params.ts';
import { freezeRecordOf } from './store-freeze.ts';

export function storeThawStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeThawStep.id(id),
    title: `Lift the write freeze on ${b.store.engine} store ${id}`,
    async plan(p) {
      return { reads: [], changes: [`${describeSource(p, bindingOf(p, id))}: lift what the freeze recorded`] };
    },
    async run(p) {
      // The freeze's work is over: the exec tunnels start their spares ahead again (held since the first catch-up).
      p.ctx.tunnels?.release();
      await engineOf(p, id, 'thaw').thaw!(engineParams(p, id), freezeRecordOf(p, id));
      await markThawed(p, id);
      return { data: { store: id } };
    },
  });
}
storeThawStep.id = (storeId: string) => storeStepId('thaw', storeId);
