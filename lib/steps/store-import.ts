/**
 * `import:<store>`: load the store's export into its target service. The engine's import is resumable
 * and a finished import run again changes nothing, so a killed run just runs it again; an import the
 * journal forgot after it finished (`--restart-from import:<store>`) is redone from scratch. `undo` asks
 * the engine to remove what ferry loaded into the target (never the source).
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { artifactDirOf, bindingOf, describeTarget, engineOf, engineParams, hasPhase, storeStateDirOf, storeStepId, unavailable, type StoreStepParams } from './store-params.ts';
import { storeExportStep } from './store-export.ts';

/** Written once the engine's import returned: a run that finds it was asked to import again (`--restart-from`). */
const doneMarker = (p: StoreStepParams, id: string) => join(storeStateDirOf(p, id), 'import-step-done');

export function storeImportStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeImportStep.id(id),
    title: `Import ${b.store.engine} store ${id} into service ${b.store.target.service}`,
    // The export it loads: a new export (another manifest, or the same manifest file with another
    // content id: a files export that recorded its change beside the manifest) makes the import run again.
    fingerprint: (p: StoreStepParams) => {
      const e = p.outputs.get(storeExportStep.id(id));
      const sha = e?.artifacts?.[0]?.sha256;
      if (!sha) return 'no export recorded';
      const content = e?.data?.contentId;
      return typeof content === 'string' ? `${sha}+${content}` : sha;
    },
    async plan(p) {
      const bound = bindingOf(p, id);
      if (!hasPhase(bound, 'import')) return { reads: [], changes: [], details: unavailable('import', bound.store.engine), pending: true };
      return { reads: [artifactDirOf(p, id)], changes: [`${describeTarget(bound)}: load the export`] };
    },
    async run(p) {
      const engine = engineOf(p, id, 'import');
      // The engine's import of a finished export changes nothing: a redo (the journal forgot this step)
      // first removes what ferry loaded, so a damaged target is loaded again.
      if (engine.clearTarget && (await stat(doneMarker(p, id)).catch(() => null))) {
        p.log.warn(`${id}: importing again (the journal no longer records this import): removing what ferry loaded into ${describeTarget(bindingOf(p, id))} first`);
        await engine.clearTarget(engineParams(p, id));
      }
      await rm(doneMarker(p, id), { force: true });
      const s = await engine.import(engineParams(p, id));
      await writeFileAtomic(doneMarker(p, id), new Date().toISOString());
      return { data: { ...s.data, store: id } };
    },
    ...(b.engine?.clearTarget ? {
      async undo(p: StoreStepParams) {
        p.log.warn(`undo ${storeImportStep.id(id)}: removing what ferry loaded into ${describeTarget(bindingOf(p, id))}`);
        await engineOf(p, id, 'import').clearTarget!(engineParams(p, id));
        await rm(doneMarker(p, id), { force: true });
      },
    } : {}),
  });
}
storeImportStep.id = (storeId: string) => storeStepId('import', storeId);
