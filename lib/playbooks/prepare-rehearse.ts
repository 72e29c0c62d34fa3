/**
 * The rehearsal: the whole migration from the live source into a throwaway stack — a copy of the
 * compose dir without its data, its own project name and free migration ports, a scratch copy of the
 * .env, its own state dir — verified, then torn down by `cleanup`. The real target and the .env are
 * never touched. The report (timings, expected downtime) is copied to the real state dir.
 */
import { cp, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { deepFreeze } from '../config/index.ts';
import { createComposeClient, MIGRATION_OVERRIDE_FILE } from '../compose/index.ts';
import { rehearseSteps } from '../steps/order.ts';
import { planCutover } from '../steps/cutover-mode.ts';
import { engines } from '../engines/index.ts';
import { storeSpecs } from './stores.ts';
import { freePort } from '../util/free-port.ts';
import { resolveContext } from './resolve-context.ts';
import { withConfig } from './with-config.ts';
import { playbookOf, prepareConfig, type PrepareArgs, type Prepared } from './prepare.ts';

/** Host directories of a stack that hold its data and secrets: never copied into a rehearsal. */
const STACK_DATA = new Set(['data', 'secrets', 'backups', 'logs', 'storage', 'ssl']);

export { withConfig };

export async function prepareRehearse(a: PrepareArgs): Promise<Prepared> {
  // The plan says which store migrate would follow and which it would copy inside the freeze.
  const real = await planCutover(await prepareConfig(a, 'rehearse'), { engines, redactor: a.redactor });
  // Every published store gets a free port of its own: the rehearsal runs beside the real stack.
  const stores = await Promise.all(real.stores.map(async (s) => (a.dryRun || s.target.migrationPort === undefined ? s
    : { ...s, target: { ...s.target, migrationPort: await freePort() } })));
  const portOf = (id: string, fallback: number) => stores.find((s) => s.id === id)?.target.migrationPort ?? fallback;
  const project = `${real.target.project}-rehearsal-${randomBytes(3).toString('hex')}`.slice(0, 60);
  const base = a.dryRun ? join(tmpdir(), `ferry-rehearsal-${project}`) : await mkdtemp(join(tmpdir(), 'ferry-rehearsal-'));
  const composeDir = a.dryRun ? real.target.composeDir : join(base, 'compose');
  const appDir = a.dryRun ? undefined : join(base, 'app');
  const config = deepFreeze({
    ...real,
    app: { ...real.app, envFile: appDir ? join(appDir, basename(real.app.envFile)) : real.app.envFile },
    stores,
    target: {
      ...real.target, composeDir, project,
      migrationPorts: a.dryRun ? real.target.migrationPorts : { mysql: portOf('mysql', await freePort()), redis: portOf('redis', await freePort()) },
    },
    stateDir: join(base, 'state'),
  }) as Config;
  const cleanup = async () => {
    if (a.dryRun) return;
    if (process.env.FERRY_KEEP_REHEARSAL === '1') return; // for debugging a failed rehearsal
    for (const f of [`report.rehearse.json`, `report.rehearse.md`]) {
      await cp(join(config.stateDir, f), join(real.stateDir, f)).catch(() => undefined);
    }
    const files = ['docker-compose.yml', ...real.target.files];
    if (await stat(join(composeDir, MIGRATION_OVERRIDE_FILE)).then(() => true, () => false)) files.push(MIGRATION_OVERRIDE_FILE);
    const client = await createComposeClient({ composeDir, project, files, redactor: a.redactor }).catch(() => undefined);
    await client?.down({ removeVolumes: true });
    await rm(base, { recursive: true, force: true });
  };
  if (!a.dryRun) {
    try {
      await cp(real.target.composeDir, composeDir, { recursive: true, filter: (src) => !STACK_DATA.has(relative(real.target.composeDir, src).split(/[\\/]/)[0] ?? '') });
      await mkdir(appDir!, { recursive: true });
      await cp(real.app.envFile, config.app.envFile);
    } catch (e) {
      await cleanup().catch(() => undefined);
      throw e;
    }
  }
  const ctx = resolveContext({ config, mode: 'rehearse', redactor: a.redactor, dryRun: a.dryRun, engines, ...(appDir ? { appDir } : {}) });
  const steps = rehearseSteps(storeSpecs(config)).map((s) => withConfig(s, config));
  return { playbook: playbookOf('rehearse', `Rehearse the migration into throwaway project ${project}`, steps, a), ctx, stateDir: config.stateDir, cleanup };
}
