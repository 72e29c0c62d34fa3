/**
 * `export:<store>`: the store's consistent export into `<artifactsDir>/<store>` — also the rollback
 * backup. Its `sourceState` is the engine's fingerprint of the source, so the runner refuses to resume
 * after the source changed; `check` asks the engine whether the artifact already holds the source as it
 * is now. The manifest's sha256 goes to the journal and `verify` proves it unchanged. The source is
 * never changed. One decision reads the source once: `check`, `plan` and a reuse's `verify` take the
 * `sourceState` the runner just read (files: one ctime scan, not one per hook), and `verify` does not
 * hash a manifest the runner just proved.
 */
import { defineStep, type Artifact } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { sha256File } from '../util/sha256.ts';
import { artifactDirOf, bindingOf, describeSource, engineOf, engineParams, hasPhase, storeStepId, unavailable, type StoreStepParams } from './store-params.ts';

export function storeExportStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  const engine = (p: StoreStepParams) => engineOf(p, id, 'export');
  return defineStep<Config, FerryContext>({
    id: storeExportStep.id(id),
    title: `Export ${b.store.engine} store ${id} (the rollback backup)`,
    async sourceState(p) { return engine(p).sourceState(engineParams(p, id)); },
    ...(b.engine?.exported ? {
      async check(p: StoreStepParams) {
        const done = await engine(p).exported!(engineParams(p, id), p.sourceState);
        return { done, reason: done ? `${artifactDirOf(p, id)} holds the source as it is now` : `no current export in ${artifactDirOf(p, id)}` };
      },
    } : {}),
    async plan(p) {
      const bound = bindingOf(p, id);
      if (!hasPhase(bound, 'export')) return { reads: [], changes: [], details: unavailable('export', bound.store.engine), pending: true };
      const done = bound.engine!.exported ? await bound.engine!.exported(engineParams(p, id), p.sourceState) : false;
      return { reads: [describeSource(p, bound)], changes: [artifactDirOf(p, id)], pending: !done };
    },
    async run(p) {
      const s = await engine(p).export(engineParams(p, id));
      const file = await sha256File(s.manifest, p.signal);
      return { artifacts: [{ path: s.manifest, ...file }], data: { ...s.data, manifest: s.manifest, store: id, ...(s.contentId ? { contentId: s.contentId } : {}) } };
    },
    async verify(p) {
      const manifest = p.previous?.artifacts?.[0] ?? undefined;
      const findings: string[] = [];
      const changed = manifest ? await manifestFinding(p, manifest) : undefined;
      if (changed) findings.push(changed);
      const e = engine(p);
      if (e.exported && !(await e.exported(engineParams(p, id), p.sourceState))) findings.push(`${artifactDirOf(p, id)} does not hold a complete export of the source as it is now`);
      return { ok: findings.length === 0, findings };
    },
  });
}
storeExportStep.id = (storeId: string) => storeStepId('export', storeId);

/**
 * Why the recorded manifest no longer holds (missing, or its sha256 changed), or undefined when it does —
 * without hashing it again when the runner just proved it (a reuse's check of the recorded artifacts).
 */
export async function manifestFinding(p: StoreStepParams, manifest: Artifact): Promise<string | undefined> {
  if (p.provenArtifacts?.has(manifest.path)) return undefined;
  const now = await sha256File(manifest.path, p.signal).catch(() => undefined);
  if (!now) return `${manifest.path} is missing`;
  return now.sha256 === manifest.sha256 ? undefined : `${manifest.path} changed since the export (sha256)`;
}
