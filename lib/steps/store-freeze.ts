/**
 * `freeze:<store>`: stop writes to one store on the source (MySQL read_only, Redis CLIENT PAUSE WRITE…,
 * whatever "quiet" means for its engine). The engine records what it changes before changing it, so a
 * kill still leaves something to thaw; the record also goes to the journal. `undo` thaws exactly that.
 */
import { defineStep } from '../core/step.ts';
import type { FreezeRecord } from '../core/engine.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, engineOf, engineParams, markThawed, storeStepId, thawedAt, type StoreStepParams } from './store-params.ts';

/** The record `freeze:<store>` left, from this run's outputs or another playbook's (rollback reads migrate's). */
export function freezeRecordOf(p: Pick<StoreStepParams, 'outputs'>, storeId: string, more?: ReadonlyMap<string, { data?: Readonly<Record<string, unknown>> }>): FreezeRecord | undefined {
  const id = storeFreezeStep.id(storeId);
  return (p.outputs.get(id)?.data?.record ?? more?.get(id)?.data?.record) as FreezeRecord | undefined;
}

export function storeFreezeStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeFreezeStep.id(id),
    title: `Freeze writes to ${b.store.engine} store ${id} on the source`,
    // Thawed since it ran (a failure lifted the freeze): a resume freezes again.
    fingerprint: (p: StoreStepParams) => thawedAt(p, id),
    async plan(p) {
      return { reads: [], changes: [`${describeSource(p, bindingOf(p, id))}: stop writes (${b.store.engine} freeze)`] };
    },
    async run(p) {
      const record = await engineOf(p, id, 'freeze').freeze!(engineParams(p, id));
      return { data: { store: id, record } };
    },
    async undo(p: StoreStepParams) {
      await engineOf(p, id, 'thaw').thaw!(engineParams(p, id), freezeRecordOf(p, id) ?? (p.previous?.data?.record as FreezeRecord | undefined));
      await markThawed(p, id);
    },
  });
}
storeFreezeStep.id = (storeId: string) => storeStepId('freeze', storeId);
