/**
 * `promote:<store>` (inside the freeze, after catch-up): the target stops following and stands alone;
 * replication is reset and the replication account / ACL user / slot / publication is removed from the
 * source. The engines refuse a target that is behind, record before they change, and finish a promote a
 * kill cut short, so a re-run just runs it again. There is no undo: the target now holds the source's
 * final state, and `rollback --with-data` copies back what the stack writes after the cutover.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineOf, engineParams, storeStepId } from './store-params.ts';

export function storePromoteStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storePromoteStep.id(id),
    title: `Promote service ${b.store.target.service} (stop following ${b.store.engine} store ${id})`,
    async plan(p) {
      const bound = bindingOf(p, id);
      if (b.store.engine === 'files') return { reads: [], changes: [], details: 'nothing to stop or remove: the final pass left the target complete' };
      return { reads: [], changes: [`${describeTarget(bound)}: replication stopped and reset`, `${describeSource(p, bound)}: the replication account / user removed`] };
    },
    async run(p) {
      const t0 = performance.now();
      await engineOf(p, id, 'promote').promote!(engineParams(p, id));
      return { data: { store: id, ms: Math.round(performance.now() - t0) } };
    },
  });
}
storePromoteStep.id = (storeId: string) => storeStepId('promote', storeId);
