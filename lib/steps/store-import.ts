/**
 * `import:<store>`: load the store's export into its target service. The engine's import is resumable
 * and a finished import run again changes nothing, so a killed run just runs it again. `undo` asks the
 * engine to remove what ferry loaded into the target (never the source).
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { artifactDirOf, bindingOf, describeTarget, engineOf, engineParams, hasPhase, storeStepId, unavailable, type StoreStepParams } from './store-params.ts';
import { storeExportStep } from './store-export.ts';

export function storeImportStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeImportStep.id(id),
    title: `Import ${b.store.engine} store ${id} into service ${b.store.target.service}`,
    // The export it loads: a new export (another manifest) makes the import run again.
    fingerprint: (p: StoreStepParams) => p.outputs.get(storeExportStep.id(id))?.artifacts?.[0]?.sha256 ?? 'no export recorded',
    async plan(p) {
      const bound = bindingOf(p, id);
      if (!hasPhase(bound, 'import')) return { reads: [], changes: [], details: unavailable('import', bound.store.engine), pending: true };
      return { reads: [artifactDirOf(p, id)], changes: [`${describeTarget(bound)}: load the export`] };
    },
    async run(p) {
      const s = await engineOf(p, id, 'import').import(engineParams(p, id));
      return { data: { ...s.data, store: id } };
    },
    ...(b.engine?.clearTarget ? {
      async undo(p: StoreStepParams) {
        p.log.warn(`undo ${storeImportStep.id(id)}: removing what ferry loaded into ${describeTarget(bindingOf(p, id))}`);
        await engineOf(p, id, 'import').clearTarget!(engineParams(p, id));
      },
    } : {}),
  });
}
storeImportStep.id = (storeId: string) => storeStepId('import', storeId);
