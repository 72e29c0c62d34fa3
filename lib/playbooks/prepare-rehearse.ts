/**
 * The rehearsal: the whole migration from the live source into a throwaway stack — a copy of the
 * compose dir without its data, its own project name and free migration ports, a scratch copy of the
 * .env, its own state dir — verified, then torn down by `cleanup`. The real target and the .env are
 * never touched. The report (timings, expected downtime) is copied to the real state dir.
 * Stores that migrate would follow, the rehearsal follows too (lib/steps/order.ts `rehearseSteps`), with
 * replication objects of its own on the source that it always removes (lib/playbooks/rehearsal-follow.ts).
 */
import { cp, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { deepFreeze } from '../config/index.ts';
import { createComposeClient, MIGRATION_OVERRIDE_FILE } from '../compose/index.ts';
import { rehearseSteps } from '../steps/order.ts';
import { planCutover } from '../steps/cutover-mode.ts';
import { withFollowOverride } from '../steps/compose-prepare.ts';
import { removeMigrationNetwork } from '../compose/stack.ts';
import type { Redactor } from '../util/redact.ts';
import { engines } from '../engines/index.ts';
import { storeSpecs } from './stores.ts';
import { freePort } from '../util/free-port.ts';
import { resolveContext } from './resolve-context.ts';
import { withConfig } from './with-config.ts';
import { migrateTunnels, playbookOf, prepareConfig, type PrepareArgs, type Prepared } from './prepare.ts';
import {
  abortRehearsalFollows, forgetRehearsalRecord, readRehearsalRecord, rehearsalAlive, writeRehearsalRecord, type RehearsalRecord,
} from './rehearsal-follow.ts';

/** Host directories of a stack that hold its data and secrets: never copied into a rehearsal. */
const STACK_DATA = new Set(['data', 'secrets', 'backups', 'logs', 'storage', 'ssl']);

export { withConfig };

type Where = Pick<RehearsalRecord, 'project' | 'base' | 'ports' | 'migrationPorts'>;

/** The rehearsal's config: the real one pointed at the throwaway project, dirs and ports of `w`. */
function rehearsalConfig(real: Config, w: Where, dryRun: boolean): Config {
  const composeDir = dryRun ? real.target.composeDir : join(w.base, 'compose');
  const appDir = join(w.base, 'app');
  return withFollowOverride(deepFreeze({
    ...real,
    app: { ...real.app, envFile: dryRun ? real.app.envFile : join(appDir, basename(real.app.envFile)) },
    stores: real.stores.map((s) => (w.ports[s.id] === undefined ? s : { ...s, target: { ...s.target, migrationPort: w.ports[s.id] } })),
    target: { ...real.target, composeDir, project: w.project, migrationPorts: dryRun ? real.target.migrationPorts : w.migrationPorts },
    stateDir: join(w.base, 'state'),
  }) as Config);
}

/** The throwaway stack down with its volumes (its compose files as they exist), its temp dir removed. */
async function removeStack(config: Config, base: string, redactor: Redactor): Promise<void> {
  const composeDir = config.target.composeDir;
  const wanted = [...new Set(['docker-compose.yml', ...config.target.files, MIGRATION_OVERRIDE_FILE])];
  const files = (await Promise.all(wanted.map(async (f) => ((await stat(join(composeDir, f)).then(() => true, () => false)) ? f : undefined)))).filter((f): f is string => f !== undefined);
  const client = await createComposeClient({ composeDir, project: config.target.project, files, redactor }).catch(() => undefined);
  // A files store's helper container held for a final pass that did not come (the rehearsal stopped before it) keeps its volume in use.
  await (await import('../engines/files/helper.ts')).releaseHeldSessions();
  await client?.down({ removeVolumes: true });
  // A rehearsal stopped before its cutover leaves the migration network, which the remaining compose files may no longer declare.
  if (client) await removeMigrationNetwork(client);
  await rm(base, { recursive: true, force: true });
}

/** What a killed rehearsal left (its follows on the source first, then its stack and temp dir). */
async function sweepKilledRehearsal(real: Config, redactor: Redactor): Promise<void> {
  const r = await readRehearsalRecord(real.stateDir);
  if (!r || rehearsalAlive(r)) return;
  const config = rehearsalConfig(real, r, false);
  const t = migrateTunnels(config);
  await t.reopen().catch(() => undefined);
  try {
    const ctx = resolveContext({ config, mode: 'rehearse', redactor, engines, appDir: join(r.base, 'app'), targetPorts: t.ports, tunnels: t.tunnels });
    await abortRehearsalFollows(config, ctx);
  } finally {
    await t.closeAll();
  }
  await removeStack(config, r.base, redactor);
  await forgetRehearsalRecord(real.stateDir);
}

export async function prepareRehearse(a: PrepareArgs): Promise<Prepared> {
  // The plan says which store migrate would follow and which it would copy inside the freeze.
  const real = await planCutover(await prepareConfig(a, 'rehearse'), { engines, redactor: a.redactor });
  if (!a.dryRun) await sweepKilledRehearsal(real, a.redactor);
  // Every published store gets a free port of its own: the rehearsal runs beside the real stack.
  const ports: Record<string, number> = {};
  if (!a.dryRun) for (const s of real.stores) if (s.target.migrationPort !== undefined) ports[s.id] = await freePort();
  const project = `${real.target.project}-rehearsal-${randomBytes(3).toString('hex')}`.slice(0, 60);
  const base = a.dryRun ? join(tmpdir(), `ferry-rehearsal-${project}`) : await mkdtemp(join(tmpdir(), 'ferry-rehearsal-'));
  const migrationPorts = { mysql: ports.mysql ?? await freePort(), redis: ports.redis ?? await freePort() };
  const config = rehearsalConfig(real, { project, base, ports, migrationPorts }, a.dryRun);
  const appDir = a.dryRun ? undefined : join(base, 'app');
  const t = migrateTunnels(config);
  const ctx = resolveContext({ config, mode: 'rehearse', redactor: a.redactor, dryRun: a.dryRun, engines, targetPorts: t.ports, tunnels: t.tunnels, ...(appDir ? { appDir } : {}) });
  const cleanup = async () => {
    if (a.dryRun) return;
    for (const f of [`report.rehearse.json`, `report.rehearse.md`]) {
      await cp(join(config.stateDir, f), join(real.stateDir, f)).catch(() => undefined);
    }
    // Nothing of the rehearsal stays on the source, whatever happened: a failure here keeps the stack and the record for the next rehearse.
    try { await abortRehearsalFollows(config, ctx); } finally { await t.closeAll(); }
    if (process.env.FERRY_KEEP_REHEARSAL === '1') return; // for debugging a failed rehearsal
    await removeStack(config, base, a.redactor);
    await forgetRehearsalRecord(real.stateDir);
  };
  if (!a.dryRun) {
    try {
      await mkdir(real.stateDir, { recursive: true });
      await writeRehearsalRecord(real.stateDir, { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), project, base, ports, migrationPorts });
      await cp(real.target.composeDir, config.target.composeDir, { recursive: true, filter: (src) => !STACK_DATA.has(relative(real.target.composeDir, src).split(/[\\/]/)[0] ?? '') });
      await mkdir(appDir!, { recursive: true });
      await cp(real.app.envFile, config.app.envFile);
    } catch (e) {
      await cleanup().catch(() => undefined);
      throw e;
    }
  }
  const steps = rehearseSteps(storeSpecs(config), config.cutover).map((s) => withConfig(s, config));
  return { playbook: playbookOf('rehearse', `Rehearse the migration into throwaway project ${project}`, steps, a), ctx, stateDir: config.stateDir, cleanup };
}
