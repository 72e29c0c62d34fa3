/**
 * --demo: a Vedfolnir-shaped source on throwaway servers, seeded from fixtures/, and a config that
 * migrates it into a throwaway copy of compose/ under a temp dir (own project name, own state dir):
 * the repo tree is never touched. The stack's images are the copied compose project's own `.env`.
 * With `dryRun` nothing starts and nothing is written: the config points at placeholders and at the
 * repo's compose/ and fixture .env, which dry runs only read. With `migrateFirst` (verify, rollback)
 * the demo is migrated before it is returned, or the last kept demo (FERRY_DEMO_KEEP=1) is reused.
 * Every real run first removes what demo runs killed before their cleanup left (servers, stack, temp dir).
 */
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { normalizeConfig, type Config, type ConfigInput } from '../lib/config/index.ts';
import { createComposeClient, removeMigrationNetwork } from '../lib/compose/index.ts';
import { seedVedfolnirMysql } from '../fixtures/mysql/seed.ts';
import { seedVedfolnirRedis } from '../fixtures/redis/seed.ts';
import { generateTree } from '../fixtures/files/tree.ts';
import { demoImages, type DemoImages } from './images.ts';
import { exec } from '../lib/util/exec.ts';
import { prepareVeogen, veogenConfigInput, VEOGEN_DATABASE, VEOGEN_VOLUMES } from './veogen.ts';
import { createDemoNetwork, removeDemoServers, startDemoMysql, startDemoRedis, sweepDeadDemoRuns } from './servers.ts';
import { freePort } from '../lib/util/free-port.ts';
import { DEMO_ENV_FIXTURE, REPO_COMPOSE_DIR, REPO_VEOGEN_DIR, VEOGEN_ENV_FIXTURE } from './paths.ts';
import { forgetKeptDemo, keptDemo, keptPointer, rememberKeptDemo } from './kept.ts';
import { keepLastRehearsal, logPrediction, seedLastRehearsal } from './rehearsal-carry.ts';
import { migrateDemo } from './migrate-first.ts';

export { demoImages } from './images.ts';
export { DEMO_HOST_LABEL, DEMO_LABEL, DEMO_RUN_LABEL, DEMO_TMPDIR_LABEL, removeDemoServers, sweepDeadDemoRuns } from './servers.ts';
export { DEMO_ENV_FIXTURE, REPO_COMPOSE_DIR } from './paths.ts';
export const DEMO_DATABASE = 'vedfolnir';

export interface DemoOptions {
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly dryRun: boolean;
  /** fixtures scale (default FERRY_DEMO_SCALE or 1). */
  readonly scale?: number;
  /** Keep servers, stack and files after the run (FERRY_DEMO_KEEP=1); a later --demo may reuse them. */
  readonly keep?: boolean;
  /** Migrate the demo before returning it (verify and rollback need a migrated stack), or reuse a kept, migrated one. */
  readonly migrateFirst?: boolean;
  /** Which app (`--demo=veogen`); default Vedfolnir. */
  readonly app?: DemoApp;
}

/** The apps `--demo` can run: Vedfolnir (MySQL, Redis, storage/) and the second app (PostgreSQL, Redis, two volumes). */
export type DemoApp = 'vedfolnir' | 'veogen';

/** Which app a kept demo's config is. */
const appOf = (input: ConfigInput): DemoApp => (input.stores ?? []).some((s) => s.engine === 'postgres') ? 'veogen' : 'vedfolnir';

export interface Demo {
  readonly config: Config;
  /** The demo's temp dir (undefined on dry runs). */
  readonly baseDir: string | undefined;
  cleanup(): Promise<void>;
}

/**
 * The demo's config: sources at `urls`, the stack in `composeDir`, state in `stateDir`. With `storage`
 * (the app's `storage/` on the host) a files store carries it into the `vedfolnir` service's bind mount
 * `./storage:/app/storage`; the data services stay mysql and redis, and no app service starts at cutover.
 */
export function demoConfigInput(o: {
  mysqlUrl: string; redisUrl: string; envFile: string; composeDir: string; stateDir: string; project: string; ports: { mysql: number; redis: number }; storage?: string;
  /** The stack follows the sources by these aliases on the run's network, which `overrideFile` (in composeDir) joins mysql and redis to. */
  follow?: DemoFollow;
}): ConfigInput {
  const storage = o.storage === undefined ? [] : [
    { id: 'storage', engine: 'files' as const, source: o.storage, target: { service: 'vedfolnir', hostPath: join(o.composeDir, 'storage'), containerPath: '/app/storage' }, options: { owner: '10001:10001', quietWindowMs: 1000 } },
  ];
  const common = {
    app: { envFile: o.envFile, ...(o.storage === undefined ? {} : { appServices: [] }) },
    freeze: { quietSeconds: 2 },
    stateDir: o.stateDir,
  };
  if (o.follow) {
    // The preset's keys cannot name followFrom: the same two stores spelled out, each following its source by name.
    return {
      stores: [
        { id: 'mysql', engine: 'mysql', source: o.mysqlUrl, target: { service: 'mysql', migrationPort: o.ports.mysql }, options: { followFrom: { host: o.follow.aliases.mysql, port: 3306 } } },
        // compose's redis runs with appendonly yes, which the physical (RDB file) path refuses: a copy inside the freeze goes by DUMP/RESTORE.
        { id: 'redis', engine: 'redis', source: o.redisUrl, target: { service: 'redis', migrationPort: o.ports.redis }, options: { path: 'dump', followFrom: { host: o.follow.aliases.redis, port: 6379 } } },
        ...storage,
      ],
      ...common,
      target: { composeDir: o.composeDir, project: o.project, files: ['docker-compose.test.yml', o.follow.overrideFile], migrationPorts: o.ports, dataServices: ['mysql', 'redis'] },
      cutover: { mode: 'auto', budgetSeconds: 60 },
    };
  }
  return {
    source: { mysql: { url: o.mysqlUrl }, redis: { url: o.redisUrl } },
    ...(storage.length ? { stores: storage } : {}),
    ...common,
    target: { composeDir: o.composeDir, project: o.project, files: ['docker-compose.test.yml'], migrationPorts: o.ports, dataServices: ['mysql', 'redis'] },
    // compose's redis runs with appendonly yes, which the physical (RDB file) path refuses: copy by DUMP/RESTORE.
    redis: { path: 'dump' },
  };
}

/** How a real demo's stack follows its sources: the override joining its data services to the run's network, and the sources' aliases there. */
export interface DemoFollow { readonly overrideFile: string; readonly aliases: Readonly<Record<string, string>> }

/** The demo's compose override: each data service in `services` joins the run's network (external, made by the demo). */
export const DEMO_FOLLOW_OVERRIDE = 'docker-compose.demo-follow.yml';
export async function writeFollowOverride(composeDir: string, network: string, services: readonly string[]): Promise<void> {
  await writeFile(join(composeDir, DEMO_FOLLOW_OVERRIDE), [
    'services:', ...services.map((s) => `  ${s}: { networks: { ferrysrc: {} } }`),
    'networks:', `  ferrysrc: { external: true, name: ${network} }`, '',
  ].join('\n'));
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  const run = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const project = `ferry-demo-${run.split('-')[1]}`;
  const app = o.app ?? 'vedfolnir';
  if (o.dryRun && app === 'veogen') return dryRunVeogen(o, run, project);
  if (o.dryRun) {
    const base = join(tmpdir(), `ferry-demo-${run}`);
    const config = normalizeConfig(demoConfigInput({
      mysqlUrl: `mysql://root:demo-password@127.0.0.1:3306/${DEMO_DATABASE}`, redisUrl: 'redis://:demo-password@127.0.0.1:6379',
      envFile: DEMO_ENV_FIXTURE, composeDir: REPO_COMPOSE_DIR, stateDir: join(base, 'state'), project, ports: { mysql: 33306, redis: 36379 },
    }), { baseDir: base });
    o.log(`demo (dry run): nothing is started; the plan below is the embedded demo config (project ${project})`);
    return { config, baseDir: undefined, cleanup: async () => undefined };
  }
  const keep = o.keep ?? process.env.FERRY_DEMO_KEEP === '1';
  await sweepDeadRuns(o.log);
  if (o.migrateFirst) {
    const kept = await keptDemo();
    if (kept && appOf(kept.input) === app) {
      o.log(`demo: reusing the kept demo in ${kept.base} (project ${kept.project}, migrated at ${kept.migratedAt})`);
      return { config: normalizeConfig(kept.input, { baseDir: kept.base }), baseDir: kept.base, cleanup: async () => undefined };
    }
  }
  const images = await demoImages();
  // Named after the run, so a sweep finds the directory of a run killed before its cleanup.
  const base = await mkdtemp(join(tmpdir(), `ferry-demo-${run}-`));
  const composeDir = join(base, 'compose');
  const appDir = join(base, 'app');
  const scale = o.scale ?? Number(process.env.FERRY_DEMO_SCALE ?? 1);
  const cleanup = async () => {
    await logDowntime(join(base, 'state'), o.log);
    await logPrediction(join(base, 'state'), o.log);
    await keepLastRehearsal(join(base, 'state'), app, scale);
    if (keep) { o.log(`demo kept: ${base} (project ${project}, containers labelled ${run}); a later --demo of verify or rollback reuses it`); return; }
    await downDemoStack(composeDir, project, app);
    await removeDemoServers(run);
    await keepReports(join(base, 'state'), project, o.log);
    await rm(base, { recursive: true, force: true });
  };
  try {
    const input = app === 'veogen' ? await veogenInput({ base, run, project, images, scale, o }) : await vedfolnirInput({ base, run, project, images, scale, o });
    const config = normalizeConfig(input, { baseDir: base });
    await seedLastRehearsal(config.stateDir, app, scale, o.log);
    if (keep) await forgetKeptDemo();
    if (o.migrateFirst) await migrateDemo(config, o);
    if (keep) await rememberKeptDemo({ base, run, project, input });
    return { config, baseDir: base, cleanup };
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}

/** What demo runs killed before their cleanup left (their pid gone), the kept demo excepted; a failure only logged. */
async function sweepDeadRuns(log: (line: string) => void): Promise<void> {
  try {
    const swept = await sweepDeadDemoRuns({ keep: (await keptPointer())?.run, hostname: hostname(), tmpdir: tmpdir() });
    for (const s of swept) log(`demo: removed what the dead demo run ${s.run} left: ${s.containers} container(s), ${s.networks} network(s), ${s.volumes} volume(s), ${s.dirs} directory(ies)`);
  } catch (e) {
    log(`demo: could not remove what dead demo runs left (${(e as Error).message}); continuing`);
  }
}

interface Seeding { base: string; run: string; project: string; images: DemoImages; scale: number; o: DemoOptions }

/** Vedfolnir: MySQL and Redis sources seeded from fixtures/, an image tree under the app's storage/, the compose/ copy. */
async function vedfolnirInput({ base, run, project, images, scale, o }: Seeding): Promise<ConfigInput> {
  const composeDir = join(base, 'compose');
  const appDir = join(base, 'app');
  await cp(REPO_COMPOSE_DIR, composeDir, { recursive: true });
  // The stack's images are its own configuration: compose reads them from the project's .env.
  await writeFile(join(composeDir, '.env'), `MYSQL_IMAGE=${images.mysql}\nREDIS_IMAGE=${images.redis}\n`);
  await mkdir(appDir, { recursive: true });
  await cp(DEMO_ENV_FIXTURE, join(appDir, '.env'));
  const password = randomBytes(12).toString('hex');
  const network = await createDemoNetwork(run);
  const aliases = { mysql: 'ferry-demo-src-mysql', redis: 'ferry-demo-src-redis' };
  o.log(`demo: starting source MySQL (${images.mysql}) and Redis (${images.redis}) on 127.0.0.1 and on the network ${network} (the stack follows them there), labelled ferry.demo=1`);
  const [my, rd] = await Promise.all([
    startDemoMysql({ image: images.mysql, password, database: DEMO_DATABASE, run, signal: o.signal, net: { network, alias: aliases.mysql } }),
    startDemoRedis({ image: images.redis, password, run, signal: o.signal, net: { network, alias: aliases.redis } }),
  ]);
  await writeFollowOverride(composeDir, network, ['mysql', 'redis']);
  await seedSources({ mysql: { port: my.port, password }, redis: { port: rd.port, password }, scale });
  const tree = await generateTree(appDir, scale / 20, { specials: false, largeBytes: 1 << 20 });
  o.log(`demo: seeded from fixtures/ (scale ${scale}; ${tree.files} files under ${join(appDir, 'storage')}); target stack ${project} in ${composeDir}`);
  return demoConfigInput({
    mysqlUrl: `mysql://root:${password}@127.0.0.1:${my.port}/${DEMO_DATABASE}`, redisUrl: `redis://:${password}@127.0.0.1:${rd.port}`,
    envFile: join(appDir, '.env'), composeDir, stateDir: join(base, 'state'), project,
    ports: { mysql: await freePort(), redis: await freePort() }, storage: join(appDir, 'storage'),
    follow: { overrideFile: DEMO_FOLLOW_OVERRIDE, aliases },
  });
}

/** The second app: PostgreSQL and Redis sources, uploads/ and outputs/, the compose/examples/veogen copy. */
async function veogenInput({ base, run, project, images, scale, o }: Seeding): Promise<ConfigInput> {
  const password = randomBytes(12).toString('hex');
  const network = await createDemoNetwork(run);
  const v = await prepareVeogen({ base, run, password, images, scale, signal: o.signal, log: o.log, network });
  await writeFollowOverride(v.composeDir, network, ['postgres', 'redis']);
  o.log(`demo: target stack ${project} in ${v.composeDir}`);
  return veogenConfigInput({
    sources: v.sources, appDir: v.appDir, envFile: join(v.appDir, '.env'), composeDir: v.composeDir, stateDir: join(base, 'state'), project,
    ports: { postgres: await freePort(), redis: await freePort() }, helperImage: images.redis,
    follow: { overrideFile: DEMO_FOLLOW_OVERRIDE, aliases: v.aliases },
  });
}

/** The second app's dry run: placeholders only, the repo's compose/examples/veogen and fixture .env read. */
function dryRunVeogen(o: DemoOptions, run: string, project: string): Demo {
  const base = join(tmpdir(), `ferry-demo-${run}`);
  const config = normalizeConfig(veogenConfigInput({
    sources: { postgresUrl: `postgres://postgres:demo-password@127.0.0.1:5432/${VEOGEN_DATABASE}`, redisUrl: 'redis://:demo-password@127.0.0.1:6379', envPorts: { postgres: 5432, redis: 6379 } },
    appDir: join(base, 'app'), envFile: VEOGEN_ENV_FIXTURE, composeDir: REPO_VEOGEN_DIR, stateDir: join(base, 'state'), project,
    ports: { postgres: 35432, redis: 36379 }, helperImage: 'redis:7-alpine',
  }), { baseDir: base });
  o.log(`demo (dry run): nothing is started; the plan below is the second app's demo config (project ${project})`);
  return { config, baseDir: undefined, cleanup: async () => undefined };
}

/**
 * The demo's stack down with its volumes; the files stores' volumes too (a helper may have made them before
 * compose did), and the migration network a run stopped before its cutover left (defined only in the
 * migration override, which `down` without it does not know).
 */
async function downDemoStack(composeDir: string, project: string, app: DemoApp): Promise<void> {
  const files = app === 'veogen' ? ['docker-compose.yml'] : ['docker-compose.yml', 'docker-compose.test.yml'];
  const client = await createComposeClient({ composeDir, project, files }).catch(() => undefined);
  // A files store's helper container held for its final pass (it ends with the process) would keep its volume in use.
  await (await import('../lib/engines/files/helper.ts')).releaseHeldSessions();
  await client?.down({ removeVolumes: true }).catch(() => undefined);
  if (client) await removeMigrationNetwork(client).catch(() => undefined);
  if (app === 'veogen') await exec('docker', ['volume', 'rm', '-f', ...VEOGEN_VOLUMES.map((v) => `${project}_${v}`)]);
}

/** Remove the demo kept with FERRY_DEMO_KEEP=1: its stack (with volumes), its servers, its directory. */
export async function discardKeptDemo(log: (line: string) => void = () => undefined): Promise<void> {
  const p = await keptPointer();
  if (!p) return;
  const input = await readFile(join(p.base, 'demo.json'), 'utf8').then((t) => JSON.parse(t) as ConfigInput).catch(() => undefined);
  await downDemoStack(join(p.base, 'compose'), p.project, input ? appOf(input) : 'vedfolnir');
  await removeDemoServers(p.run);
  await rm(p.base, { recursive: true, force: true });
  await forgetKeptDemo();
  log(`demo discarded: ${p.base} (project ${p.project})`);
}

/** Seed a source pair on 127.0.0.1 from fixtures/ (the demo's servers, and the e2e tests' through test/support). */
export async function seedSources(o: {
  mysql: { port: number; password: string; database?: string };
  redis: { port: number; password?: string };
  scale: number;
  /** Redis also gets the 200k-field hash (default false). */
  bigHash?: boolean;
}): Promise<void> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: o.mysql.port, user: 'root', password: o.mysql.password, database: o.mysql.database ?? DEMO_DATABASE, charset: 'utf8mb4', multipleStatements: true });
  try { await seedVedfolnirMysql(conn, { scale: o.scale, tricky: true }); } finally { await conn.end(); }
  const r = new Redis({ host: '127.0.0.1', port: o.redis.port, ...(o.redis.password ? { password: o.redis.password } : {}), lazyConnect: true });
  r.on('error', () => undefined); // a failure surfaces through the commands below, never as an unhandled event
  await r.connect();
  try { await seedVedfolnirRedis(r, { scale: o.scale, big: o.bigHash ?? false }); } finally { r.disconnect(); }
}

/** The demo's reports outlive its throwaway directory: copied to `<tmpdir>/<project>-report.*` and named. */
async function keepReports(stateDir: string, project: string, log: (line: string) => void): Promise<void> {
  const names = (await readdir(stateDir).catch(() => [] as string[])).filter((n) => /^report\..+\.(md|json)$/.test(n));
  for (const n of names) {
    const dest = join(tmpdir(), `${project}-${n}`);
    await copyFile(join(stateDir, n), dest).catch(() => undefined);
    log(`demo report kept: ${dest}`);
  }
}

/** The demo's summary line of a cutover: measured downtime with its parts and how each store crossed (from the migrate report, when there is one). */
async function logDowntime(stateDir: string, log: (line: string) => void): Promise<void> {
  interface Part { readonly part: string; readonly ms: number }
  interface Crossing { readonly store: string; readonly how: string }
  const r = await readFile(join(stateDir, 'report.migrate.json'), 'utf8').then((t) => JSON.parse(t) as {
    downtimeMs?: number; downtimeKind?: string; downtimeParts?: Part[]; cutover?: Crossing[];
  }, () => undefined);
  if (r?.downtimeMs === undefined) return;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const parts = (r.downtimeParts ?? []).map((p) => `${p.part} ${s(p.ms)}`).join(', ');
  const how = (r.cutover ?? []).map((c) => `${c.store} ${c.how}`).join(', ');
  log(`demo downtime (${r.downtimeKind ?? 'measured'}): ${s(r.downtimeMs)}${parts ? ` (parts: ${parts})` : ''}${how ? `; stores: ${how}` : ''}`);
}
