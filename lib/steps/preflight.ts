/**
 * Step `preflight`: refuse before a byte moves. Gathers every store's facts through its engine and the
 * machine's (read-only), records every finding in `<stateDir>/preflight.json` and fails with the list of
 * blockers when there is one (a store whose engine is not available yet is one).
 */
import { join } from 'node:path';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { blockers, formatFindings, runPreflight, type PreflightStore } from '../preflight/index.ts';
import { engineParams, unavailable, type StoreStepParams } from './store-params.ts';
import { composeServiceImages } from '../compose/images.ts';
import { createComposeClient } from '../compose/client.ts';

/** Target images by compose service, as the project runs them (its files, its `.env`). */
export async function targetImages(config: Config): Promise<Record<string, string>> {
  const client = await createComposeClient({ composeDir: config.target.composeDir, project: config.target.project, files: config.target.files });
  return composeServiceImages(client);
}

/** Every store with its engine's params (no target yet: preflight judges targets by their image). */
function preflightStores(p: StoreStepParams): PreflightStore[] {
  return [...(p.ctx.stores?.values() ?? [])].map((b) => ({ store: b.store, engine: b.engine, params: { ...engineParams(p, b.store.id), targetUrl: undefined } }));
}

export default defineStep<Config, FerryContext>({
  id: 'preflight',
  title: 'Preflight: refuse before a byte moves',
  async plan({ ctx, config }) {
    const stores = [...(ctx.stores?.values() ?? [])];
    const ports = config.stores.map((s) => s.target.migrationPort).filter((x) => x !== undefined);
    return {
      reads: [
        ...stores.map((b) => (b.engine ? `store ${b.store.id}: ${b.store.engine} facts of the source` : `store ${b.store.id}: ${unavailable('facts', b.store.engine)}`)),
        `docker engine, compose, free disk${ports.length ? `, ports ${ports.join('/')}` : ''}`,
      ],
      changes: [],
      pending: false,
    };
  },
  async run(p) {
    const { ctx, config, log, signal, stateDir } = p;
    const result = await runPreflight({ config, stores: preflightStores(p), redactor: ctx.redactor, targetImages: await targetImages(config), signal });
    for (const f of result.findings) {
      const line = `${f.severity.toUpperCase()} ${f.check} (${f.subject}): ${f.message} → ${f.hint}`;
      if (f.severity === 'blocker') log.error(line);
      else if (f.severity === 'info') log.info(line);
      else log.warn(line);
    }
    await writeFileAtomic(join(stateDir, 'preflight.json'), JSON.stringify(result.findings, null, 2) + '\n');
    const b = blockers(result.findings);
    if (b.length) {
      throw new FerryError('E_PREFLIGHT_BLOCKED', `preflight found ${b.length} blocker(s); first: ${b[0]!.check} (${b[0]!.subject}): ${b[0]!.message}`, {
        hint: `fix each BLOCKER (MIGRATION.md, "Preflight findings"), then re-run; all findings: ${join(stateDir, 'preflight.json')}`,
        detail: formatFindings(b),
      });
    }
    return { data: { findings: result.findings, estimatedArtifactBytes: result.estimatedArtifactBytes } };
  },
});
