/**
 * compose-cutover: end migration-time access. The override is removed and the stores' services are
 * recreated from the stack's own files (no published port, local_infile off, the stack's character
 * set), then the app services come up (`app.appServices`, else the compose file's services that hold
 * no store). Each MySQL store's restored settings are read back inside its container and recorded.
 * `undo` stops the app services; containers' data and volumes stay.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { defineStep, type StepParams } from '../core/step.ts';
import type { Config, ConfigStore } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { FerryError } from '../core/errors.ts';
import { exists } from '../compose/layout.ts';
import { readSecret } from '../compose/endpoints.ts';
import { waitHealthy } from '../compose/health.ts';
import { projectSnapshot, snapshotProbe } from '../compose/snapshot.ts';
import { createStackClient, migrationNetworks, removeMigrationNetwork } from '../compose/stack.ts';
import { migrationOverridePath, overrideServices } from '../compose/migration-access.ts';
import { ENV_OVERRIDE_FILE, containerEnvPath, envOverridePath } from './env-transform.ts';
import type { ComposeClient } from '../compose/client.ts';
import { composeServiceNames } from '../compose/services.ts';
import { targetSecretName } from '../compose/store-target.ts';

type P = StepParams<Config, FerryContext>;

// The app service loads the canonical env env-transform emitted, plus its override (environment:,
// extra_hosts, secrets); compose's env_file default, .env.docker, is only a template for stacks set up by hand.
/** The stack as it runs after cutover (`migrationAccess`: with what is left of the migration override, for unpublish:<store>). */
export const stackClient = (p: P, migrationAccess = false) => createStackClient({
  composeDir: p.ctx.composeDir, project: p.ctx.project, migrationAccess, redactor: p.ctx.redactor,
  files: [...p.config.target.files, ...(existsSync(envOverridePath(p.ctx.composeDir)) ? [ENV_OVERRIDE_FILE] : [])],
  // Only once env-transform has emitted it (a stack driven without it keeps compose's own default).
  ...(existsSync(containerEnvPath(p.ctx.composeDir)) ? { env: { VEDFOLNIR_ENV_FILE: containerEnvPath(p.ctx.composeDir) } } : {}),
});
const client = (p: P) => stackClient(p);

/** The MySQL stores' services (a config without stores: ferry's own `mysql`). */
function mysqlStores(config: Config): ConfigStore[] {
  if (!config.stores.length) {
    return config.target.dataServices.includes('mysql')
      ? [{ id: 'mysql', engine: 'mysql', source: '', target: { service: 'mysql', migrationPort: config.target.migrationPorts.mysql }, options: {} }] : [];
  }
  return config.stores.filter((s) => s.engine === 'mysql' && s.target.migrationPort !== undefined);
}

/** The target's root password: from `target.url`, else the stack's secret file. */
async function rootPassword(p: P, s: ConfigStore): Promise<string> {
  if (s.target.url) return decodeURIComponent(new URL(s.target.url).password);
  return readSecret(p.ctx.composeDir, targetSecretName(s)!);
}

/** Read a MySQL store's settings from inside its service's container (no port is published any more). */
async function mysqlSettingsInside(p: P, c: ComposeClient, s: ConfigStore): Promise<Record<string, string>> {
  const password = await rootPassword(p, s);
  p.ctx.redactor.add(password);
  const service = s.target.service;
  const r = await c.exec(service, ['mysql', '-uroot', '-N', '-B', '-e', 'SELECT @@local_infile, @@character_set_server, @@lower_case_table_names'], {
    env: { MYSQL_PWD: password },
  });
  const [localInfile = '', characterSet = '', lowerCase = ''] = r.stdout.trim().split('\t');
  if (r.exitCode !== 0 || !characterSet) {
    throw new FerryError('E_COMPOSE_MYSQL', `cannot read mysql settings of store ${s.id} inside service ${service} of project ${p.ctx.project}: exit ${r.exitCode}`, {
      hint: `is the ${service} service healthy? \`docker compose logs ${service}\``, detail: p.ctx.redactor.redact(r.stderr),
    });
  }
  return { local_infile: localInfile, character_set_server: characterSet, lower_case_table_names: lowerCase };
}

/**
 * The data services to recreate: those the migration override still publishes (unpublish:<store> handed a
 * following store's service over before the freeze: it already runs from the stack's own files). Without
 * the override (a resumed run that already removed it), every data service: `up` recreates only what differs.
 */
async function toRecreate(p: P): Promise<string[]> {
  const text = await readFile(migrationOverridePath(p.ctx.composeDir), 'utf8').catch(() => undefined);
  if (text === undefined) return [...p.config.target.dataServices];
  const published = new Set(overrideServices(text));
  return p.config.target.dataServices.filter((s) => published.has(s));
}

/** An app described by its stores (not the preset, not a bare library config) may leave its app services to the compose file. */
const fromComposeFile = (c: Config) => c.app.appServices === undefined && c.target.appServices.length === 0 && c.stores.some((s) => !s.preset);

/** The app's services: as configured, else (a stores config) the compose file's services that hold no store. */
export async function appServices(p: P, c: ComposeClient): Promise<string[]> {
  if (!fromComposeFile(p.config)) return [...(p.config.app.appServices ?? p.config.target.appServices)];
  const data = new Set(p.config.target.dataServices);
  return (await servicesOf(c)).filter((s) => !data.has(s));
}

/**
 * The compose file's services, read once per version of its files: `compose config` is a CLI run (≈ 1 s
 * for docker-compose v1 here), and the step's check, run and verify each ask, inside the freeze.
 */
const seen = new Map<string, string[]>();
async function servicesOf(c: ComposeClient): Promise<string[]> {
  const ids = await Promise.all(c.files.map(async (f) => { const s = await stat(resolve(c.composeDir, f)).catch(() => undefined); return `${f}:${s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-'}`; }));
  const key = `${c.composeDir}|${c.project}|${ids.join('|')}`;
  const hit = seen.get(key);
  if (hit) return hit;
  const names = await composeServiceNames(c);
  seen.set(key, names);
  return names;
}

/** What is left to do (inside the freeze: one snapshot of the project's containers, not two docker calls per service and question). */
async function findings(p: P, c: ComposeClient): Promise<string[]> {
  const out: string[] = [];
  if (await exists(migrationOverridePath(p.ctx.composeDir))) out.push(`${migrationOverridePath(p.ctx.composeDir)} still exists`);
  const [networks, snap, apps] = await Promise.all([migrationNetworks(c), projectSnapshot(c.project), appServices(p, c)]);
  if (networks.length) out.push(`the migration network of project ${p.ctx.project} still exists`);
  for (const a of snap.access(p.config.target.dataServices)) {
    if (a.migrationAccess) out.push(`${a.service} still runs with the migration override`);
    if (a.published.length) out.push(`${a.service} publishes ${a.published.join(', ')}`);
  }
  for (const s of [...p.config.target.dataServices, ...apps]) {
    const h = snap.health(s);
    if (h !== 'healthy' && h !== 'running') out.push(`${s} is ${h}`);
  }
  return out;
}

export default defineStep<Config, FerryContext>({
  id: 'compose-cutover',
  title: 'Remove migration-time access and start the app services',
  async check(p) {
    const f = await findings(p, await client(p));
    return f.length ? { done: false, reason: f.join('; ') } : { done: true, reason: 'no migration access left; services healthy' };
  },
  async plan(p) {
    const apps = fromComposeFile(p.config) ? undefined : (p.config.app.appServices ?? p.config.target.appServices);
    return {
      reads: [p.ctx.composeDir],
      changes: [`remove ${migrationOverridePath(p.ctx.composeDir)}`, `recreate ${(await toRecreate(p)).join(' ') || 'nothing (every store\'s service was handed over before the freeze)'}`,
        ...(apps === undefined ? ['up the compose file\'s services that hold no store'] : apps.length ? [`up ${apps.join(' ')}`] : [])],
    };
  },
  async run(p) {
    const c = await client(p);
    const recreate = await toRecreate(p);
    await rm(migrationOverridePath(p.ctx.composeDir), { force: true });
    // `up` sees the changed configuration (ports, command, labels) and recreates the containers.
    if (recreate.length) await c.up(recreate, { signal: p.signal });
    await waitHealthy(c, p.config.target.dataServices, { signal: p.signal, probeAll: snapshotProbe(c.project) });
    // Side by side (each docker call is downtime): the migration network goes while the settings are read back.
    const [, settings] = await Promise.all([
      removeMigrationNetwork(c),
      Promise.all(mysqlStores(p.config).map(async (s) => [s.id, await mysqlSettingsInside(p, c, s)] as const)),
    ]);
    const restored: Record<string, Record<string, string>> = Object.fromEntries(settings);
    const apps = await appServices(p, c);
    if (apps.length) {
      await c.up(apps, { signal: p.signal });
      await waitHealthy(c, apps, { signal: p.signal, probeAll: snapshotProbe(c.project) });
    }
    for (const [id, r] of Object.entries(restored)) p.log.info(`migration access removed; ${id} now ${Object.entries(r).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    return { data: { restored, appServices: apps, recreated: recreate } };
  },
  async verify(p) {
    const c = await client(p);
    // The settings are read beside the findings (inside the freeze); they count only where nothing else is left to do.
    const [f, settings] = await Promise.all([findings(p, c), Promise.allSettled(mysqlStores(p.config).map(async (s) => ({ s, got: await mysqlSettingsInside(p, c, s) })))]);
    if (f.length === 0) {
      for (const r of settings) {
        if (r.status === 'rejected') throw r.reason;
        if (r.value.got.local_infile !== '0') f.push(`${r.value.s.id}: local_infile is ${r.value.got.local_infile} after cutover`);
      }
    }
    return { ok: f.length === 0, findings: f };
  },
  async undo(p) {
    const c = await client(p);
    const apps = (p.previous?.data?.appServices as string[] | undefined) ?? (await appServices(p, c));
    if (!apps.length) return;
    await c.stop(apps);
  },
});
