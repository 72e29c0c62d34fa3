/**
 * `verify:<store>`: the target against the source (or the export), one report entry per table, key
 * prefix or directory. Read-only: `run` is the proof (no separate `verify` hook, which would compare
 * everything twice); it fails naming the first difference, and its outputs carry every entry for the
 * report. The verify playbook runs it every time.
 */
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { bindingOf, describeSource, describeTarget, engineOf, engineParams, hasPhase, storeStepId, unavailable, type StoreStepParams } from './store-params.ts';
import { storeImportStep } from './store-import.ts';

async function verifyStore(p: StoreStepParams, id: string) {
  const r = await engineOf(p, id, 'verify').verify(engineParams(p, id));
  const findings = r.entries.flatMap((e) => (e.ok ? [] : (e.findings?.length ? e.findings.map((f) => `${e.subject}: ${f}`) : [`${e.subject} differs`])));
  return { report: r, findings: findings.map((f) => p.ctx.redactor.redact(f)) };
}

export function storeVerifyStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  return defineStep<Config, FerryContext>({
    id: storeVerifyStep.id(id),
    title: `Verify ${b.store.engine} store ${id} (target against source)`,
    async plan(p) {
      const bound = bindingOf(p, id);
      if (!hasPhase(bound, 'verify')) return { reads: [], changes: [], details: unavailable('verify', bound.store.engine), pending: true };
      return { reads: [describeSource(p, bound), describeTarget(bound)], changes: [] };
    },
    async run(p) {
      const { report, findings } = await verifyStore(p, id);
      if (!report.ok) {
        throw new FerryError('E_VERIFY_FAILED', `store ${id}: the target differs from the source: ${findings[0] ?? 'no finding given'}`, {
          hint: `import again (\`--restart-from ${storeImportStep.id(id)}\`: the import resumes and repairs what differs), then verify`,
          detail: findings.join('\n'),
        });
      }
      return { data: { store: id, engine: b.store.engine, ok: report.ok, entries: report.entries, seconds: report.seconds } };
    },
  });
}
storeVerifyStep.id = (storeId: string) => storeStepId('verify', storeId);
