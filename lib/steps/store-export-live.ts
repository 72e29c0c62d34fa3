/**
 * `export:<store>` of a store that will follow: the same consistent export, taken while the app keeps
 * writing on the host (no freeze). The source moves on after it by design — the follower starts at the
 * export's coordinates and carries every later change — so this step neither refuses a resume because
 * the source changed since (`sourceState`) nor asks the export to match the source as it is now; its
 * `verify` proves the manifest unchanged.
 */
import { defineStep } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { manifestFinding, storeExportStep } from './store-export.ts';

export function storeLiveExportStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const { sourceState: _s, check: _c, ...step } = storeExportStep(b);
  return defineStep<Config, FerryContext>({
    ...step,
    title: `Export ${b.store.engine} store ${b.store.id} while the app keeps writing (the follower carries what comes after)`,
    async verify(p) {
      const manifest = p.previous?.artifacts?.[0];
      if (!manifest) return { ok: false, findings: ['no export recorded'] };
      const changed = await manifestFinding(p, manifest);
      return changed ? { ok: false, findings: [changed] } : { ok: true, findings: [] };
    },
  });
}
