/**
 * compose-cutover: end migration-time access. The override is removed and the data services are
 * recreated from the stack's own files (no published port, local_infile off, the stack's character
 * set), then the app services come up. The restored settings are read back inside the container and
 * recorded. `undo` stops the app services; containers' data and volumes stay.
 */
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { defineStep, type StepParams } from '../core/step.ts';
import type { Config } from '../config/schema.ts';
import type { FerryContext } from './context.ts';
import { FerryError } from '../core/errors.ts';
import { exists } from '../compose/layout.ts';
import { readSecret } from '../compose/endpoints.ts';
import { serviceHealth, waitHealthy } from '../compose/health.ts';
import { containerAccess, createStackClient, migrationNetworks, removeMigrationNetwork } from '../compose/stack.ts';
import { migrationOverridePath } from '../compose/migration-access.ts';
import { ENV_OVERRIDE_FILE, containerEnvPath, envOverridePath } from './env-transform.ts';
import type { ComposeClient } from '../compose/client.ts';

type P = StepParams<Config, FerryContext>;

// The app service loads the canonical env env-transform emitted, plus its override (environment:,
// extra_hosts, secrets); compose's env_file default, .env.docker, is only a template for stacks set up by hand.
const client = (p: P) => createStackClient({
  composeDir: p.ctx.composeDir, project: p.ctx.project, migrationAccess: false, redactor: p.ctx.redactor,
  files: [...p.config.target.files, ...(existsSync(envOverridePath(p.ctx.composeDir)) ? [ENV_OVERRIDE_FILE] : [])],
  env: { VEDFOLNIR_ENV_FILE: containerEnvPath(p.ctx.composeDir) },
});

/** Read mysql's settings from inside its container (no port is published any more). */
async function mysqlSettingsInside(p: P, c: ComposeClient): Promise<Record<string, string>> {
  const password = await readSecret(p.ctx.composeDir, 'mysql_root_password');
  const r = await c.exec('mysql', ['mysql', '-uroot', '-N', '-B', '-e', 'SELECT @@local_infile, @@character_set_server, @@lower_case_table_names'], {
    env: { MYSQL_PWD: password },
  });
  const [localInfile = '', characterSet = '', lowerCase = ''] = r.stdout.trim().split('\t');
  if (r.exitCode !== 0 || !characterSet) {
    throw new FerryError('E_COMPOSE_MYSQL', `cannot read mysql settings inside project ${p.ctx.project}: exit ${r.exitCode}`, {
      hint: 'is the mysql service healthy? `docker-compose logs mysql`', detail: p.ctx.redactor.redact(r.stderr),
    });
  }
  return { local_infile: localInfile, character_set_server: characterSet, lower_case_table_names: lowerCase };
}

async function findings(p: P, c: ComposeClient): Promise<string[]> {
  const out: string[] = [];
  if (await exists(migrationOverridePath(p.ctx.composeDir))) out.push(`${migrationOverridePath(p.ctx.composeDir)} still exists`);
  if ((await migrationNetworks(c)).length) out.push(`the migration network of project ${p.ctx.project} still exists`);
  for (const a of await containerAccess(c, p.config.target.dataServices)) {
    if (a.migrationAccess) out.push(`${a.service} still runs with the migration override`);
    if (a.published.length) out.push(`${a.service} publishes ${a.published.join(', ')}`);
  }
  for (const s of [...p.config.target.dataServices, ...p.config.target.appServices]) {
    const h = await serviceHealth(c, s);
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
    return {
      reads: [p.ctx.composeDir],
      changes: [`remove ${migrationOverridePath(p.ctx.composeDir)}`, `recreate ${p.config.target.dataServices.join(' ')}`,
        ...(p.config.target.appServices.length ? [`up ${p.config.target.appServices.join(' ')}`] : [])],
    };
  },
  async run(p) {
    const c = await client(p);
    await rm(migrationOverridePath(p.ctx.composeDir), { force: true });
    // `up` sees the changed configuration (ports, command, labels) and recreates the containers.
    await c.up(p.config.target.dataServices, { signal: p.signal });
    await waitHealthy(c, p.config.target.dataServices, { signal: p.signal });
    await removeMigrationNetwork(c);
    const restored = p.config.target.dataServices.includes('mysql') ? await mysqlSettingsInside(p, c) : {};
    if (p.config.target.appServices.length) {
      await c.up(p.config.target.appServices, { signal: p.signal });
      await waitHealthy(c, p.config.target.appServices, { signal: p.signal });
    }
    p.log.info(`migration access removed; mysql now ${Object.entries(restored).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    return { data: { restored, appServices: p.config.target.appServices } };
  },
  async verify(p) {
    const c = await client(p);
    const f = await findings(p, c);
    if (p.config.target.dataServices.includes('mysql') && f.length === 0) {
      const s = await mysqlSettingsInside(p, c);
      if (s.local_infile !== '0') f.push(`mysql local_infile is ${s.local_infile} after cutover`);
    }
    return { ok: f.length === 0, findings: f };
  },
  async undo(p) {
    if (!p.config.target.appServices.length) return;
    await (await client(p)).stop(p.config.target.appServices);
  },
});
