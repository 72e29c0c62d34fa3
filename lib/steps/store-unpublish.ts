/**
 * `unpublish:<store>` (a following store, after its import, before follow starts): recreate the store's
 * service from the stack's own files — its migration port (and import-time settings) dropped from the
 * migration override — so that cutover has nothing left to recreate for it and the freeze does not wait
 * for the service to restart. From here on ferry reaches the target through a `docker exec` tunnel
 * (`ctx.tunnels`; nothing published). The follower is configured after the restart, so replication never
 * has to survive it. A service shared with a store copied inside the freeze keeps its port (the copy needs it).
 */
import { readFile } from 'node:fs/promises';
import { defineStep } from '../core/step.ts';
import { FerryError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext, StoreBinding } from './context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { migrationOverridePath, overrideServices, overrideWith, overrideWithout } from '../compose/migration-access.ts';
import { serviceHealth, waitHealthy } from '../compose/health.ts';
import { containerAccess } from '../compose/stack.ts';
import { stackClient } from './compose-cutover.ts';
import { cutoverOptionsOf, decideCutover } from './cutover-mode.ts';
import { storeStepId, type StoreStepParams } from './store-params.ts';

/** Stores on the same service that do not follow (their copy inside the freeze needs the published port). */
function copiedOnService(p: StoreStepParams, storeId: string, service: string): string[] {
  const o = cutoverOptionsOf(p.config);
  return [...(p.ctx.stores?.values() ?? [])]
    .filter((b) => b.store.id !== storeId && b.store.target.service === service && decideCutover(b, o).how !== 'follow')
    .map((b) => b.store.id);
}

const NO_PORT = 'the store has no migration port (ferry writes it through helper containers): nothing to hand over';

const readOverride = (p: StoreStepParams) => readFile(migrationOverridePath(p.ctx.composeDir), 'utf8').catch(() => '');

export function storeUnpublishStep(b: Pick<StoreBinding, 'store' | 'engine'>) {
  const id = b.store.id;
  const service = b.store.target.service;
  // A files store is written through helper containers: its service publishes nothing to hand over.
  const noPort = b.store.target.migrationPort === undefined;
  const tunnels = (p: StoreStepParams) => {
    if (!p.ctx.tunnels) {
      throw new FerryError('E_CONFIG', `store ${id}: this run cannot reach service ${service} without its published port`, {
        hint: 'run it through the migrate playbook (it reaches unpublished services through docker exec)',
      });
    }
    return p.ctx.tunnels;
  };
  return defineStep<Config, FerryContext>({
    id: storeUnpublishStep.id(id),
    title: `Recreate service ${service} of store ${id} without its migration port, before the freeze`,
    async plan(p) {
      if (noPort) return { reads: [], changes: [], details: NO_PORT };
      const shared = copiedOnService(p, id, service);
      if (shared.length) return { reads: [], changes: [], details: `service ${service} keeps its migration port until cutover: ${shared.join(', ')} is copied inside the freeze` };
      return {
        reads: [migrationOverridePath(p.ctx.composeDir)],
        changes: [`${migrationOverridePath(p.ctx.composeDir)}: service ${service} left out`, `compose up ${service} (recreated: no published port, its own settings)`],
        details: 'cutover then recreates nothing for it; ferry reaches it through docker exec from here on',
      };
    },
    async run(p) {
      if (noPort) return { data: { service, skipped: NO_PORT } };
      const shared = copiedOnService(p, id, service);
      if (shared.length) return { data: { service, kept: shared } };
      const text = await readOverride(p);
      let entry: unknown;
      if (overrideServices(text).includes(service)) {
        const out = overrideWithout(text, service);
        entry = out.entry;
        await writeFileAtomic(migrationOverridePath(p.ctx.composeDir), out.text);
      }
      const c = await stackClient(p, true);
      const t0 = performance.now();
      await c.up([service], { signal: p.signal });
      await waitHealthy(c, [service], { signal: p.signal });
      const ms = Math.round(performance.now() - t0);
      await tunnels(p).open(id);
      p.log.info(`service ${service} recreated without its migration port in ${ms} ms; reached through docker exec from now on`);
      return { data: { service, ms, ...(entry !== undefined ? { entry } : (p.previous?.data?.entry !== undefined ? { entry: p.previous.data.entry } : {})) } };
    },
    // Also what a resumed run meets first: the tunnel is (re)opened here when this process has none.
    async verify(p) {
      if (noPort || copiedOnService(p, id, service).length) return { ok: true, findings: [] };
      const findings: string[] = [];
      if (overrideServices(await readOverride(p)).includes(service)) findings.push(`service ${service} is still in the migration override`);
      const c = await stackClient(p, true);
      for (const a of await containerAccess(c, [service])) {
        if (a.migrationAccess) findings.push(`${service} still runs with the migration override`);
        if (a.published.length) findings.push(`${service} publishes ${a.published.join(', ')}`);
      }
      const h = await serviceHealth(c, service);
      if (h !== 'healthy' && h !== 'running') findings.push(`${service} is ${h}`);
      if (!findings.length) await tunnels(p).open(id);
      return { ok: findings.length === 0, findings };
    },
    // Back as compose-data-up left it: published again, reached on its migration port.
    async undo(p) {
      const entry = p.previous?.data?.entry;
      if (entry === undefined) return;
      await p.ctx.tunnels?.close(id);
      const text = await readOverride(p);
      if (!overrideServices(text).includes(service)) await writeFileAtomic(migrationOverridePath(p.ctx.composeDir), overrideWith(text, service, entry));
      const c = await stackClient(p, true);
      await c.up([service]);
      await waitHealthy(c, [service]);
    },
  });
}
storeUnpublishStep.id = (storeId: string) => storeStepId('unpublish', storeId);
