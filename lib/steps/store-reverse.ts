/**
 * `reverse:<store>` (rollback --with-data): copy what the stack wrote after the cutover back to the
 * store's source on the host, with the engine's `reverse` (its own export of the stack, import into
 * the host, and proof). The stack's service must be reachable (compose-data-up runs first).
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineOf, engineParams, storeStepId } from './store-params.ts';

export function storeReverseStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeReverseStep.id(id),
    title: `Copy ${b.store.engine} store ${id} back from the stack to the host`,
    async plan(p) {
      const bound = bindingOf(p, id);
      return { reads: [describeTarget(bound)], changes: [`${describeSource(p, bound)}: replaced by the stack's data`] };
    },
    async run(p) {
      const s = await engineOf(p, id, 'reverse').reverse!(engineParams(p, id));
      return { data: { ...s.data, store: id } };
    },
  });
}
storeReverseStep.id = (storeId: string) => storeStepId('reverse', storeId);
